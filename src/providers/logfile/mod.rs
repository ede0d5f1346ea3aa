//! Local log files (`[[logs]] file = "..."`) tailed into the log viewer: new lines since the last
//! read, severity parsed from JSON or text, rotation and truncation noticed.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;

pub mod scan;

use super::{BoxFuture, BuildContext, Provider, ProviderError};
use crate::actions::{ActionError, ActionRequest, Plan};
use crate::model::{LogLine, Snapshot, Timestamp};

/// On the first read, at most the last this-many bytes of an existing file are loaded (a million
/// lines of about 100 bytes, the log buffer's default size, fit).
const BACKLOG: u64 = 256 << 20;

pub struct LogFile {
    name: String,
    path: PathBuf,
    /// (file length seen, bytes of an unfinished last line).
    state: Mutex<(Option<u64>, Vec<u8>)>,
}

pub fn build(ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, String> {
    Ok(ctx
        .config
        .logs
        .iter()
        .map(|l| {
            Arc::new(LogFile {
                name: source_name(l),
                path: PathBuf::from(&l.file),
                state: Mutex::new((None, Vec::new())),
            }) as Arc<dyn Provider>
        })
        .collect())
}

/// The source name of a `[[logs]]` entry: its `name`, else `file:<file name>`.
pub fn source_name(config: &crate::config::LogFileConfig) -> String {
    config.name.clone().unwrap_or_else(|| {
        let path = std::path::Path::new(&config.file);
        format!("file:{}", path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
    })
}

impl LogFile {
    fn read_new(&self) -> Result<Vec<LogLine>, ProviderError> {
        let mut file = std::fs::File::open(&self.path)
            .map_err(|e| ProviderError::Unavailable(format!("{}: {e}", self.path.display())))?;
        let len = file.metadata().map_err(|e| ProviderError::Unavailable(e.to_string()))?.len();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let start = match state.0 {
            None => len.saturating_sub(BACKLOG),
            // Shorter than before: rotated or truncated, start from the top.
            Some(seen) if len < seen => {
                state.1.clear();
                0
            }
            Some(seen) => seen,
        };
        if start == len {
            state.0 = Some(len);
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(start)).map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let mut bytes = std::mem::take(&mut state.1);
        file.take(len - start).read_to_end(&mut bytes).map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        state.0 = Some(len);
        // Keep an unfinished last line for the next read.
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        state.1 = bytes.split_off(complete);
        let now = Utc::now();
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<&str> = text.lines().collect();
        if state.0 == Some(len) && start > 0 && start == len.saturating_sub(BACKLOG) && !lines.is_empty() {
            lines.remove(0); // the first line of a backlog window is usually cut
        }
        Ok(lines.into_iter().filter(|l| !l.trim().is_empty()).map(|l| parse_line(l, &self.name, now)).collect())
    }
}

/// A line's own timestamp when it starts with one (RFC 3339, or "YYYY-MM-DD HH:MM:SS"), else now.
pub fn parse_line(line: &str, source: &str, now: Timestamp) -> LogLine {
    let at = line_timestamp(line).unwrap_or(now);
    LogLine { at, source: source.to_string(), severity: crate::logbuf::parse_severity(line), text: line.to_string() }
}

/// The timestamp a line starts with (RFC 3339, or "YYYY-MM-DD HH:MM:SS"), if any.
pub fn line_timestamp(line: &str) -> Option<Timestamp> {
    line.split_whitespace()
        .next()
        .and_then(|first| chrono::DateTime::parse_from_rfc3339(first.trim_matches(['[', ']'])).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            let head: String = line.chars().take(19).collect();
            chrono::NaiveDateTime::parse_from_str(&head, "%Y-%m-%d %H:%M:%S").ok().map(|t| t.and_utc())
        })
}

impl Provider for LogFile {
    fn name(&self) -> &str {
        &self.name
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async move {
            // Only existence is reported here; the lines stream through fetch_logs.
            std::fs::metadata(&self.path)
                .map_err(|e| ProviderError::Unavailable(format!("{}: {e}", self.path.display())))?;
            Ok(Snapshot::default())
        })
    }

    fn fetch_logs(&self, _after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { self.read_new() })
    }

    fn plan(&self, request: &ActionRequest, _snapshot: &Snapshot) -> Result<Plan, ActionError> {
        Err(ActionError::NotFound(request.target.clone()))
    }

    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move { Err(ActionError::NotFound(plan.request.target.clone())) })
    }

    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move { Err(ActionError::NotFound(plan.request.target.clone())) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;

    #[test]
    fn tails_new_lines_keeps_partial_ones_and_notices_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "2026-11-23T08:00:00Z INFO start\n2026-11-23T08:00:01Z ERROR boom\npart").unwrap();
        let f = LogFile { name: "app".into(), path: path.clone(), state: Mutex::new((None, Vec::new())) };
        let first = f.read_new().unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[1].severity, Severity::Error);
        assert_eq!(first[1].at.to_rfc3339(), "2026-11-23T08:00:01+00:00");
        assert!(f.read_new().unwrap().is_empty());
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"ial line\n{\"level\":\"warn\",\"msg\":\"x\"}\n")
            .unwrap();
        let next = f.read_new().unwrap();
        assert_eq!(
            next.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["partial line", "{\"level\":\"warn\",\"msg\":\"x\"}"]
        );
        assert_eq!(next[1].severity, Severity::Warn);
        std::fs::write(&path, "after rotation\n").unwrap();
        assert_eq!(f.read_new().unwrap()[0].text, "after rotation");
    }
}
