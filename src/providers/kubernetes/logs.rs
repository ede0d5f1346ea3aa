//! Pod logs read with `timestamps=true` ("2026-12-03T12:00:00.123456789Z message"), merged
//! by time across a workload's pods, each line prefixed with its pod.

use chrono::{DateTime, Utc};

use crate::model::{LogLine, Severity};

/// One pod's (or one container's) log text as lines; a line without a timestamp (a wrapped
/// one) takes the time of the line before it.
pub fn parse(text: &str, source: &str, prefix: &str) -> Vec<LogLine> {
    let mut out = Vec::new();
    let mut last: Option<DateTime<Utc>> = None;
    for raw in text.lines() {
        if raw.trim().is_empty() {
            continue;
        }
        let (at, message) = match raw.split_once(' ') {
            Some((stamp, rest)) => match DateTime::parse_from_rfc3339(stamp) {
                Ok(t) => (Some(t.with_timezone(&Utc)), rest),
                Err(_) => (None, raw),
            },
            None => match DateTime::parse_from_rfc3339(raw) {
                Ok(t) => (Some(t.with_timezone(&Utc)), ""),
                Err(_) => (None, raw),
            },
        };
        let Some(at) = at.or(last) else { continue };
        last = Some(at);
        out.push(LogLine {
            at,
            source: source.to_string(),
            severity: severity(message),
            text: format!("[{prefix}] {message}"),
        });
    }
    out
}

/// A level word in brackets as nginx and many servers write it (`[error]`, `[warn]`), else the
/// rules every log source here uses (JSON `level`, `level=`, an upper-case level word).
fn severity(message: &str) -> Severity {
    let lower = message.to_ascii_lowercase();
    for (word, sev) in [
        ("[emerg]", Severity::Error),
        ("[alert]", Severity::Error),
        ("[crit]", Severity::Error),
        ("[error]", Severity::Error),
        ("[warn]", Severity::Warn),
        ("[warning]", Severity::Warn),
    ] {
        if lower.contains(word) {
            return sev;
        }
    }
    crate::logbuf::parse_severity(message)
}

/// Several pods' lines as one, oldest first; lines of the same instant keep their pod's order.
pub fn merge(per_pod: Vec<Vec<LogLine>>) -> Vec<LogLine> {
    let mut all: Vec<LogLine> = per_pod.into_iter().flatten().collect();
    all.sort_by_key(|l| l.at);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_two_pods_interleave_by_time_with_their_pod_in_front() {
        let a = parse("2026-12-03T10:00:00.000000001Z start\n2026-12-03T10:00:02Z ERROR boom\n", "web", "web-a");
        let b = parse("2026-12-03T10:00:01Z hello\ncontinued\n", "web", "web-b");
        let merged = merge(vec![a, b]);
        let texts: Vec<&str> = merged.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["[web-a] start", "[web-b] hello", "[web-b] continued", "[web-a] ERROR boom"]);
        assert_eq!(merged[3].severity, Severity::Error);
        assert_eq!(severity("2026/12/01 14:21:09 [error] 29#29: open() failed"), Severity::Error);
        assert_eq!(severity("a [warn] b"), Severity::Warn);
        assert_eq!(severity("GET / 200"), Severity::Info);
    }
}
