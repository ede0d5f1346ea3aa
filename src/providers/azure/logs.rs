//! Log Analytics: the configured KQL query over each workspace, newest rows into the log
//! viewer. Rows arrive in Log Analytics minutes after they were written, so the viewer runs a
//! little behind the app.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::client::Api;
use super::postgres::parse_time;
use crate::model::{LogLine, Severity, Timestamp};
use crate::providers::ProviderError;

/// The log viewer asks every second; Log Analytics is queried at most this often.
pub const QUERY_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize)]
struct QueryResult {
    #[serde(default)]
    tables: Vec<Table>,
}

#[derive(Debug, Deserialize)]
struct Table {
    #[serde(default)]
    columns: Vec<Column>,
    #[serde(default)]
    rows: Vec<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Column {
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
}

const TIME_COLUMNS: [&str; 2] = ["TimeGenerated", "timestamp"];
const LEVEL_COLUMNS: [&str; 5] = ["Level", "SeverityLevel", "Severity", "severityLevel", "level"];
const TEXT_COLUMNS: [&str; 6] = ["Message", "ResultDescription", "RenderedDescription", "message", "Log_s", "msg_s"];
const SOURCE_COLUMNS: [&str; 4] = ["_ResourceId", "Computer", "ResourceUri", "cloud_RoleName"];
/// Columns that say nothing about the event itself.
const NOISE: [&str; 4] = ["TenantId", "SourceSystem", "Type", "_ResourceId"];

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Log Analytics levels (App Service `Level`, Application Insights `severityLevel` 0-4).
pub fn severity(v: &str) -> Severity {
    match v.to_ascii_lowercase().as_str() {
        "error" | "critical" | "fatal" | "3" | "4" => Severity::Error,
        "warning" | "warn" | "2" => Severity::Warn,
        "verbose" | "debug" | "0" => Severity::Debug,
        "trace" => Severity::Trace,
        _ => Severity::Info,
    }
}

/// The rows of a query answer as log lines, in time order, newer than `after`.
pub fn parse(body: &[u8], workspace: &str, after: Option<Timestamp>) -> Result<Vec<LogLine>, ProviderError> {
    let r: QueryResult =
        serde_json::from_slice(body).map_err(|e| ProviderError::Payload(format!("Log Analytics answer: {e}")))?;
    let mut out = Vec::new();
    let Some(table) = r.tables.first() else {
        return Ok(out);
    };
    let find = |names: &[&str]| table.columns.iter().position(|c| names.contains(&c.name.as_str()));
    let time = find(&TIME_COLUMNS).or_else(|| table.columns.iter().position(|c| c.kind == "datetime"));
    let Some(time) = time else {
        return Err(ProviderError::Payload("the log query returns no TimeGenerated (or other datetime) column".into()));
    };
    let level = find(&LEVEL_COLUMNS);
    let message = find(&TEXT_COLUMNS);
    let source = find(&SOURCE_COLUMNS);
    for row in &table.rows {
        let Some(at) = row.get(time).and_then(|v| v.as_str()).and_then(parse_time) else {
            continue;
        };
        if after.is_some_and(|a| at <= a) {
            continue;
        }
        let text = match message.and_then(|i| row.get(i)).and_then(text_of) {
            Some(t) => t,
            None => table
                .columns
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    Some(*i) != Some(time)
                        && Some(*i) != level
                        && Some(*i) != source
                        && !NOISE.contains(&c.name.as_str())
                })
                .filter_map(|(i, c)| row.get(i).and_then(text_of).map(|v| format!("{}={v}", c.name)))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let source = source.and_then(|i| row.get(i)).and_then(text_of).map_or_else(
            || format!("workspace {}", workspace.chars().take(8).collect::<String>()),
            |s| s.trim_end_matches('/').rsplit('/').next().unwrap_or(&s).to_string(),
        );
        out.push(LogLine {
            at,
            source,
            severity: level.and_then(|i| row.get(i)).and_then(text_of).map_or(Severity::Info, |l| severity(&l)),
            text,
        });
    }
    out.sort_by_key(|l| l.at);
    Ok(out)
}

/// Rows newer than `after` (the last 15 minutes on the first call) from every workspace.
pub async fn fetch(s: &Shared, after: Option<Timestamp>) -> Result<Vec<LogLine>, ProviderError> {
    let now = Utc::now();
    let from = after.unwrap_or(now - chrono::Duration::minutes(15));
    let timespan = format!(
        "{}/{}",
        from.to_rfc3339_opts(SecondsFormat::Secs, true),
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for ws in &s.settings.workspaces {
        let url = format!("{}/v1/workspaces/{ws}/query", s.settings.log_analytics);
        let body = json!({ "query": s.settings.log_query, "timespan": timespan });
        match s.client.call(Api::LogAnalytics, Method::POST, &url, Some(&body)).await {
            Ok(r) => out.extend(parse(&r.body, ws, after)?),
            Err(e) => errors.push(e),
        }
    }
    if out.is_empty()
        && let Some(e) = errors.into_iter().next()
    {
        return Err(e);
    }
    out.sort_by_key(|l| l.at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert_eq!(severity("Error"), Severity::Error);
        assert_eq!(severity("4"), Severity::Error);
        assert_eq!(severity("Warning"), Severity::Warn);
        assert_eq!(severity("Informational"), Severity::Info);
        assert_eq!(severity("Verbose"), Severity::Debug);
    }

    #[test]
    fn app_service_console_rows() {
        let body = br#"{"tables":[{"name":"PrimaryResult","columns":[
            {"name":"TimeGenerated","type":"datetime"},{"name":"Level","type":"string"},
            {"name":"ResultDescription","type":"string"},{"name":"_ResourceId","type":"string"}],
            "rows":[["2026-11-22T10:00:01Z","Error","boom","/subscriptions/s/resourcegroups/g/providers/microsoft.web/sites/shop-web-prod"],
                    ["2026-11-22T10:00:00Z","Informational","started",null]]}]}"#;
        let lines = parse(body, "63613592-b6f7", None).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "started");
        assert_eq!(lines[0].source, "workspace 63613592");
        assert_eq!(lines[1].severity, Severity::Error);
        assert_eq!(lines[1].source, "shop-web-prod");
        let after = parse_time("2026-11-22T10:00:00Z");
        assert_eq!(parse(body, "w", after).unwrap().len(), 1);
    }
}
