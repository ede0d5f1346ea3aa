//! `CloudWatch` Logs into the log viewer: a streaming tail (`FilterLogEvents` from a cursor) of the
//! services' log groups (from their task definitions' `awslogs` configuration) and of the
//! configured ones, and the recent log of one service. Severity from JSON (`level`/`severity`)
//! or from the text (`ERROR`, `WARN`, `level=debug`).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use chrono::Utc;
use futures::future::join_all;

use super::AwsProvider;
use crate::model::{LogLine, Severity, Timestamp};
use crate::providers::ProviderError;

/// How far back a tail starts, and how far back the log of one service goes.
const TAIL_START_MINUTES: i64 = 10;
const SERVICE_LOG_MINUTES: i64 = 30;
/// Events per group and poll; a chattier group catches up on the next poll.
const TAIL_MAX_EVENTS: usize = 5_000;

#[derive(Default)]
pub(super) struct TailState {
    last_poll: Option<Instant>,
    groups: HashMap<String, Cursor>,
}

/// Where the tail of one group stands: the newest timestamp seen and the events seen at it
/// (`CloudWatch`'s `startTime` is inclusive, and several events share a millisecond).
#[derive(Default)]
struct Cursor {
    last_ms: i64,
    ids: HashSet<String>,
}

fn severity_word(word: &str) -> Option<Severity> {
    Some(match word.to_ascii_lowercase().as_str() {
        "error" | "err" | "fatal" | "critical" | "crit" | "panic" | "severe" | "alert" | "emerg" | "emergency" => {
            Severity::Error
        }
        "warn" | "warning" => Severity::Warn,
        "info" | "notice" | "information" => Severity::Info,
        "debug" => Severity::Debug,
        "trace" | "verbose" => Severity::Trace,
        _ => return None,
    })
}

/// pino/bunyan numeric levels.
fn severity_number(n: f64) -> Severity {
    match n as i64 {
        i64::MIN..=10 => Severity::Trace,
        11..=20 => Severity::Debug,
        21..=30 => Severity::Info,
        31..=40 => Severity::Warn,
        _ => Severity::Error,
    }
}

/// The severity of one log message: a JSON `level`/`severity` field, a `level=` pair, or the
/// first upper-case level word (`ERROR`, `WARN`, ...); Info otherwise.
pub fn severity_of(message: &str) -> Severity {
    let trimmed = message.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        for key in ["level", "severity", "log.level", "lvl", "levelname", "loglevel", "Level", "Severity"] {
            match map.get(key) {
                Some(serde_json::Value::String(s)) => {
                    if let Some(sev) = severity_word(s) {
                        return sev;
                    }
                }
                Some(serde_json::Value::Number(n)) => return severity_number(n.as_f64().unwrap_or(30.0)),
                _ => {}
            }
        }
        return Severity::Info;
    }
    let lower = trimmed.to_ascii_lowercase();
    for key in ["level=", "severity=", "lvl="] {
        if let Some(at) = lower.find(key) {
            let rest = &trimmed[at + key.len()..];
            let word: String = rest.trim_start_matches('"').chars().take_while(char::is_ascii_alphabetic).collect();
            if let Some(sev) = severity_word(&word) {
                return sev;
            }
        }
    }
    for word in trimmed.split(|c: char| !c.is_ascii_alphabetic()) {
        if word.len() >= 3
            && word.chars().all(|c| c.is_ascii_uppercase())
            && let Some(sev) = severity_word(word)
        {
            return sev;
        }
    }
    Severity::Info
}

fn line(e: &FilteredLogEvent, source: &str) -> LogLine {
    let text = e.message().unwrap_or_default().trim_end_matches(['\n', '\r']).to_string();
    LogLine {
        at: e.timestamp().and_then(chrono::DateTime::from_timestamp_millis).unwrap_or_else(Utc::now),
        source: source.to_string(),
        severity: severity_of(&text),
        text,
    }
}

impl AwsProvider {
    fn logs_err<E>(
        &self,
        what: &str,
        e: aws_sdk_cloudwatchlogs::error::SdkError<E, aws_sdk_cloudwatchlogs::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.errors.map(what, &e)
    }

    /// Events of one group from `start_ms` on (inclusive), oldest first, at most `max`.
    async fn filter_group(
        &self,
        group: &str,
        start_ms: i64,
        max: usize,
    ) -> Result<Vec<FilteredLogEvent>, ProviderError> {
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let resp = self
                .logs
                .filter_log_events()
                .log_group_name(group)
                .start_time(start_ms)
                .limit(1_000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.logs_err("logs:FilterLogEvents", e))?;
            out.extend(resp.events().iter().cloned());
            token = resp.next_token;
            if token.is_none() || out.len() >= max {
                break;
            }
        }
        out.sort_by_key(aws_sdk_cloudwatchlogs::types::FilteredLogEvent::timestamp);
        out.truncate(max);
        Ok(out)
    }

    /// New lines of every known log group since the last poll (at most one poll per
    /// `log_poll`; the loop asks every second).
    pub(super) async fn tail_logs(&self, after: Option<Timestamp>) -> Result<Vec<LogLine>, ProviderError> {
        let groups: Vec<(String, String)> =
            self.meta().log_groups.iter().map(|(g, l)| (g.clone(), l.clone())).collect();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let floor = (Utc::now() - chrono::Duration::minutes(TAIL_START_MINUTES)).timestamp_millis();
        let starts: Vec<i64> = {
            let mut t = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if t.last_poll.is_some_and(|p| p.elapsed() < self.settings.log_poll) {
                return Ok(Vec::new());
            }
            t.last_poll = Some(Instant::now());
            groups
                .iter()
                .map(|(g, _)| match t.groups.get(g) {
                    Some(c) => c.last_ms,
                    None => after.map_or(floor, |a| (a.timestamp_millis() + 1).max(floor)),
                })
                .collect()
        };
        let results =
            join_all(groups.iter().zip(&starts).map(|((g, _), start)| self.filter_group(g, *start, TAIL_MAX_EVENTS)))
                .await;
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        let mut t = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (((group, label), start), result) in groups.iter().zip(&starts).zip(results) {
            let events = match result {
                Ok(e) => e,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let cursor =
                t.groups.entry(group.clone()).or_insert_with(|| Cursor { last_ms: *start, ids: HashSet::new() });
            for e in &events {
                let ts = e.timestamp().unwrap_or_default();
                let id = e.event_id().unwrap_or_default().to_string();
                if ts < cursor.last_ms || (ts == cursor.last_ms && cursor.ids.contains(&id)) {
                    continue;
                }
                if ts > cursor.last_ms {
                    cursor.last_ms = ts;
                    cursor.ids.clear();
                }
                cursor.ids.insert(id);
                lines.push(line(e, label));
            }
        }
        if lines.is_empty() && errors.len() == groups.len() {
            return Err(errors.swap_remove(0));
        }
        for e in errors {
            tracing::debug!("{}: log tail: {e}", self.name);
        }
        lines.sort_by_key(|l| l.at);
        Ok(lines)
    }

    /// The recent log of one service (by its ARN) or of one log group (by its name).
    pub(super) async fn service_log(&self, target: &str) -> Result<Vec<LogLine>, ProviderError> {
        let (groups, label) = {
            let meta = self.meta();
            match meta.services.get(target) {
                Some(s) => (s.log_groups.clone(), s.service.clone()),
                None if meta.log_groups.contains_key(target) => {
                    (vec![target.to_string()], meta.log_groups[target].clone())
                }
                None => {
                    return Err(ProviderError::Unavailable(format!("{} keeps no log for {target}", self.name)));
                }
            }
        };
        if groups.is_empty() {
            return Err(ProviderError::Unavailable(format!(
                "{label} logs to no CloudWatch Logs group (no awslogs driver in its task definition)"
            )));
        }
        let start = (Utc::now() - chrono::Duration::minutes(SERVICE_LOG_MINUTES)).timestamp_millis();
        let mut lines = Vec::new();
        for g in &groups {
            lines.extend(self.filter_group(g, start, 10_000).await?.iter().map(|e| line(e, &label)));
        }
        lines.sort_by_key(|l| l.at);
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_from_json_and_text() {
        assert_eq!(severity_of(r#"{"level":"error","msg":"boom"}"#), Severity::Error);
        assert_eq!(severity_of(r#"{"severity":"WARNING","message":"slow"}"#), Severity::Warn);
        assert_eq!(severity_of(r#"{"level":50,"msg":"pino error"}"#), Severity::Error);
        assert_eq!(severity_of(r#"{"level":20}"#), Severity::Debug);
        assert_eq!(severity_of(r#"{"msg":"no level"}"#), Severity::Info);
        assert_eq!(severity_of("2026-11-22 10:00:01 ERROR payment failed"), Severity::Error);
        assert_eq!(severity_of("[main] WARN pool nearly exhausted"), Severity::Warn);
        assert_eq!(severity_of("ts=1 level=debug msg=\"cache miss\""), Severity::Debug);
        assert_eq!(severity_of("GET /api/v1/health 200 in 3ms"), Severity::Info);
        assert_eq!(severity_of("an error in lower case is not a level"), Severity::Info);
        assert_eq!(severity_of("INFO retried after ERROR"), Severity::Info);
    }
}
