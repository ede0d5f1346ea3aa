//! Local log files (`[[logs]] file = "..."`) tailed into the log viewer: new lines since the last
//! read, severity parsed from JSON or text, rotation and truncation noticed.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;

pub mod scan;

use super::{BoxFuture, BuildContext, BuildError, Provider, ProviderError, Source};
use crate::model::{LogLine, Snapshot, Timestamp};

/// On the first read, at most the last this-many bytes of an existing file are considered.
const BACKLOG: u64 = 256 << 20;
/// A first read takes at most this many lines (fewer when the buffer keeps fewer); older ones
/// load when the Logs screen is scrolled to its top (`fetch_older_logs`).
const INITIAL_LINES: usize = 100_000;
/// One read hands the log buffer at most this much text, so the lines in flight (one `LogLine`
/// each, about 2.5× the text) stay a few MiB however long the file is; the rest follows at
/// once (`logs_pending`).
const BATCH: u64 = 2 << 20;

pub struct LogFile {
    name: String,
    path: PathBuf,
    /// Lines the log buffer keeps: a first read starts that many lines before the end.
    keep_lines: usize,
    state: Mutex<TailState>,
}

#[derive(Default)]
struct TailState {
    /// Offset read up to (None before the first read).
    offset: Option<u64>,
    /// File length at the last read.
    len: u64,
    /// Bytes of an unfinished last line.
    partial: Vec<u8>,
    /// Where the oldest line read so far starts: older lines load from here backwards.
    head: u64,
}

pub fn build(ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let keep_lines = ctx.config.log_buffer_lines.unwrap_or(crate::logbuf::DEFAULT_LINES);
    Ok(ctx
        .config
        .logs
        .iter()
        .map(|l| Arc::new(LogFile::new(source_name(l), PathBuf::from(&l.file), keep_lines)) as Arc<dyn Provider>)
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
    pub fn new(name: String, path: PathBuf, keep_lines: usize) -> LogFile {
        LogFile { name, path, keep_lines, state: Mutex::new(TailState::default()) }
    }

    fn read_new(&self) -> Result<Vec<LogLine>, ProviderError> {
        let unavailable = |e: std::io::Error| ProviderError::Unavailable(format!("{}: {e}", self.path.display()));
        let mut file = std::fs::File::open(&self.path).map_err(unavailable)?;
        let len = file.metadata().map_err(unavailable)?.len();
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = match state.offset {
            None => {
                let start = lines_back(&mut file, len, self.keep_lines.min(INITIAL_LINES)).map_err(unavailable)?;
                state.head = start;
                start
            }
            // Shorter than before: rotated or truncated, start from the top.
            Some(_) if len < state.len => {
                state.partial.clear();
                state.head = 0;
                0
            }
            Some(offset) => offset,
        };
        state.len = len;
        if start >= len {
            state.offset = Some(len);
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(start)).map_err(unavailable)?;
        let mut bytes = std::mem::take(&mut state.partial);
        let read = file.take((len - start).min(BATCH)).read_to_end(&mut bytes).map_err(unavailable)?;
        let read_to = start + read as u64;
        // Keep an unfinished last line for the next read.
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        state.partial = bytes.split_off(complete);
        state.offset = Some(read_to);
        Ok(parse_lines(&bytes, &self.name))
    }

    /// Up to `limit` lines just before the oldest one read so far, oldest first; empty once the
    /// top of the file (or of the backlog window) is reached.
    fn read_older(&self, limit: usize) -> Result<Vec<LogLine>, ProviderError> {
        let unavailable = |e: std::io::Error| ProviderError::Unavailable(format!("{}: {e}", self.path.display()));
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.offset.is_none() || state.head == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let mut file = std::fs::File::open(&self.path).map_err(unavailable)?;
        let head = state.head;
        let start = lines_back(&mut file, head, limit).map_err(unavailable)?;
        if start >= head {
            state.head = 0; // nothing whole before it within the backlog window
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(start)).map_err(unavailable)?;
        let mut bytes = Vec::with_capacity((head - start) as usize);
        file.take(head - start).read_to_end(&mut bytes).map_err(unavailable)?;
        state.head = start;
        Ok(parse_lines(&bytes, &self.name))
    }
}

/// Where the last `keep` lines before `end` begin (at most `BACKLOG` bytes back), found by
/// counting newlines backwards: lines the buffer would not show are never read.
fn lines_back(file: &mut std::fs::File, end: u64, keep: usize) -> std::io::Result<u64> {
    let len = end;
    let floor = len.saturating_sub(BACKLOG);
    let mut block = vec![0u8; 1 << 20];
    let mut end = len;
    // The newline just before `len` ends the last line; `keep` more before it start the window.
    let mut newlines = 0usize;
    while end > floor {
        let begin = end.saturating_sub(block.len() as u64).max(floor);
        let part = &mut block[..(end - begin) as usize];
        file.seek(SeekFrom::Start(begin))?;
        file.read_exact(part)?;
        for (i, byte) in part.iter().enumerate().rev() {
            if *byte == b'\n' && begin + (i as u64) + 1 < len {
                newlines += 1;
                if newlines == keep {
                    return Ok(begin + i as u64 + 1);
                }
            }
        }
        end = begin;
    }
    if floor == 0 {
        return Ok(0);
    }
    // The backlog window starts mid-line: skip to the next whole one.
    file.seek(SeekFrom::Start(floor))?;
    let mut first = Vec::new();
    (&mut *file).take(1 << 20).read_to_end(&mut first)?;
    Ok(first.iter().position(|b| *b == b'\n').map_or(len, |i| floor + i as u64 + 1))
}

/// A line's own timestamp when it starts with one (RFC 3339, or "YYYY-MM-DD HH:MM:SS"), else now.
pub fn parse_line(line: &str, source: &str, now: Timestamp) -> LogLine {
    let at = line_timestamp(line).unwrap_or(now);
    LogLine { at, source: source.to_string(), severity: crate::logbuf::parse_severity(line), text: line.to_string() }
}

/// One line as `skydeck logs` prints it (`TIME SEVERITY SOURCE TEXT`), cleaned for a terminal.
pub fn write_line(out: &mut dyn std::io::Write, line: &LogLine) -> std::io::Result<()> {
    let (source, text) = (crate::text::for_terminal(&line.source), crate::text::for_terminal(&line.text));
    writeln!(out, "{} {:<5} {source} {text}", line.at.to_rfc3339(), line.severity.label())
}

/// The non-blank lines of `bytes`, parsed.
fn parse_lines(bytes: &[u8], source: &str) -> Vec<LogLine> {
    let now = Utc::now();
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_line(l, source, now))
        .collect()
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

impl Source for LogFile {
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

    fn fetch_older_logs(&self, limit: usize) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { self.read_older(limit) })
    }

    fn logs_pending(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.offset.is_some_and(|offset| offset < state.len)
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
        let f = LogFile::new("app".into(), path.clone(), 1000);
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

    #[test]
    fn a_first_read_takes_only_the_lines_the_buffer_keeps_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let line = |i: usize| format!("2026-11-23T08:00:00Z INFO line {i:07} {}\n", "x".repeat(200));
        let text: String = (0..60_000).map(line).collect();
        std::fs::write(&path, &text).unwrap();
        let f = LogFile::new("app".into(), path.clone(), 50_000);
        let mut got = Vec::new();
        loop {
            let batch = f.read_new().unwrap();
            let bytes: usize = batch.iter().map(|l| l.text.len() + 1).sum();
            // A batch is BATCH bytes plus the end of the line the previous one cut.
            assert!(bytes as u64 <= BATCH + 256, "a batch of {bytes} bytes");
            got.extend(batch);
            if !Source::logs_pending(&f) {
                break;
            }
        }
        assert_eq!(got.len(), 50_000, "the last 50 000 lines, nothing the buffer would evict");
        assert!(got[0].text.contains("line 0010000 "), "{}", got[0].text);
        assert!(got.last().unwrap().text.contains("line 0059999 "));
        assert!(f.read_new().unwrap().is_empty());

        // A file ending in an unfinished line, and one shorter than the window.
        std::fs::write(&path, "a\nb\nc").unwrap();
        let f = LogFile::new("app".into(), path.clone(), 2);
        assert_eq!(f.read_new().unwrap().iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["b"]);
        let f = LogFile::new("app".into(), path, 10);
        assert_eq!(f.read_new().unwrap().iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn older_lines_load_backwards_from_the_first_read_to_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let text: String = (0..150_000).map(|i| format!("2026-11-23T08:00:00Z INFO line {i:07}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let f = LogFile::new("app".into(), path, 1_000_000);
        assert!(f.read_older(10).unwrap().is_empty(), "nothing to go back from before the first read");
        let mut first = Vec::new();
        loop {
            first.extend(f.read_new().unwrap());
            if !Source::logs_pending(&f) {
                break;
            }
        }
        assert_eq!(first.len(), INITIAL_LINES, "a first read is a window, not the whole file");
        assert!(first[0].text.ends_with("line 0050000"), "{}", first[0].text);
        let older = f.read_older(30_000).unwrap();
        assert_eq!(older.len(), 30_000);
        assert!(older[0].text.ends_with("line 0020000") && older[29_999].text.ends_with("line 0049999"));
        let rest = f.read_older(30_000).unwrap();
        assert_eq!(rest.len(), 20_000);
        assert!(rest[0].text.ends_with("line 0000000"));
        assert!(f.read_older(30_000).unwrap().is_empty(), "the top of the file");
    }
}
