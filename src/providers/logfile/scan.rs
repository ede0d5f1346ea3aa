//! Headless scans of a local log file (`skydeck logs FILE-SOURCE --filter RE --since 1h`).
//!
//! The file is read in fixed-size chunks and the regex runs over a whole chunk at once, as grep
//! does, so memory stays constant whatever the file's size and only the lines that match are
//! parsed (time, severity) and printed. `--since` bisects the file by the lines' own timestamps
//! instead of reading it from the top.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::Utc;
use regex::bytes::Regex;

use super::{line_timestamp, parse_line};
use crate::model::Timestamp;

/// Bytes read per step; a longer line grows the buffer to fit it.
const CHUNK: usize = 4 << 20;
/// Bisection stops once the window is this small; the rest is scanned (and filtered per line).
const BISECT_WINDOW: u64 = 64 << 10;
/// How far past a bisection point to look for a line that carries a timestamp.
const TIMESTAMP_PROBE: usize = 64 << 10;

/// What to print: lines matching `regex` (built with [`line_regex`]) and not older than `since`.
pub struct Query<'a> {
    pub regex: Option<&'a Regex>,
    pub since: Option<Timestamp>,
}

/// A user's `--filter` as the scan needs it: case-insensitive like the log viewer, with `^`/`$`
/// at line boundaries (the scan searches many lines at once).
pub fn line_regex(filter: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(filter).case_insensitive(true).multi_line(true).crlf(true).build()
}

/// Where a scan stopped: the offset after the last line it consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEnd {
    pub offset: u64,
    /// The reader of `out` went away (`| head`): stop quietly.
    pub closed: bool,
}

/// Prints the matching lines of `path` from `start` to its current end, one per line as
/// `TIME SEVERITY SOURCE TEXT`. With `hold_partial` an unfinished last line is left for the
/// next call (following a file that is being written); without it, it is printed as a line.
pub fn scan(
    path: &Path,
    source: &str,
    query: &Query<'_>,
    start: u64,
    hold_partial: bool,
    out: &mut dyn Write,
) -> io::Result<ScanEnd> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = match query.since {
        Some(cutoff) if start == 0 => seek_since(&mut file, len, cutoff)?,
        _ => start,
    };
    file.seek(SeekFrom::Start(start))?;
    let mut reader = file.take(len.saturating_sub(start));
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut offset = start;
    let now = Utc::now();
    loop {
        let kept = buffer.len();
        if buffer.capacity() - kept < CHUNK / 2 {
            buffer.reserve(CHUNK);
        }
        let spare = buffer.capacity() - kept;
        buffer.resize(kept + spare, 0);
        let read = read_full(&mut reader, &mut buffer[kept..])?;
        buffer.truncate(kept + read);
        let at_end = read == 0;
        let complete =
            if at_end && !hold_partial { buffer.len() } else { memchr::memrchr(b'\n', &buffer).map_or(0, |i| i + 1) };
        if !print_matches(&buffer[..complete], source, query, now, out)? {
            return Ok(ScanEnd { offset: offset + complete as u64, closed: true });
        }
        offset += complete as u64;
        buffer.drain(..complete);
        if at_end {
            out.flush().or_else(closed_reader)?;
            return Ok(ScanEnd { offset, closed: false });
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A broken pipe ends the scan without an error; other write errors are errors.
fn closed_reader(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) }
}

/// Prints the matching lines of `text` (whole lines). Returns false when the reader went away.
fn print_matches(
    text: &[u8],
    source: &str,
    query: &Query<'_>,
    now: Timestamp,
    out: &mut dyn Write,
) -> io::Result<bool> {
    let mut emit = |line: &[u8]| -> io::Result<bool> {
        let line = trim_line_end(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(true);
        }
        let text = String::from_utf8_lossy(line);
        let parsed = parse_line(&text, source, now);
        if query.since.is_some_and(|cutoff| parsed.at < cutoff) {
            return Ok(true);
        }
        // The filter matched the raw line; what is printed is cleaned for a terminal.
        match super::write_line(out, &crate::model::LogLine { source: source.to_string(), ..parsed }) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e),
        }
    };
    // A filter that matches the source name passes every line of it, as in the viewer.
    let regex = query.regex.filter(|r| !r.is_match(source.as_bytes()));
    let Some(regex) = regex else {
        for line in text.split_inclusive(|b| *b == b'\n') {
            if !emit(line)? {
                return Ok(false);
            }
        }
        return Ok(true);
    };
    let mut from = 0;
    while let Some(found) = regex.find_at(text, from) {
        let line_start = memchr::memrchr(b'\n', &text[..found.start()]).map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &text[found.start()..]).map_or(text.len(), |i| found.start() + i + 1);
        let line = &text[line_start..line_end];
        // A match can run across a newline (`\s`, `[^x]`): the line must match on its own.
        if (found.end() <= line_end || regex.is_match(trim_line_end(line))) && !emit(line)? {
            return Ok(false);
        }
        if line_end >= text.len() {
            break;
        }
        from = line_end;
    }
    Ok(true)
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The offset of a line at or before the first line stamped `cutoff` or later, assuming the file
/// is in time order (log files are). Lines before it are older; lines after it are still
/// filtered one by one, so a file out of order only costs a longer scan. A file whose lines
/// carry no timestamp is scanned from the top.
fn seek_since(file: &mut File, len: u64, cutoff: Timestamp) -> io::Result<u64> {
    let (mut low, mut high) = (0u64, len);
    let mut probe = vec![0u8; TIMESTAMP_PROBE];
    while high - low > BISECT_WINDOW {
        let middle = low + (high - low) / 2;
        file.seek(SeekFrom::Start(middle))?;
        let read = read_full(file, &mut probe)?;
        let window = &probe[..read];
        // The line holding `middle` started earlier; take the next whole ones.
        let Some(first) = memchr::memchr(b'\n', window).map(|i| i + 1) else {
            return Ok(low);
        };
        let mut line_start = first;
        let mut stamped = None;
        for line in window[first..].split_inclusive(|b| *b == b'\n') {
            if !line.ends_with(b"\n") {
                break; // cut by the probe window
            }
            if let Some(at) = line_timestamp(&String::from_utf8_lossy(line)) {
                stamped = Some(at);
                break;
            }
            line_start += line.len();
        }
        match stamped {
            Some(at) if at < cutoff => low = middle + line_start as u64,
            Some(_) => high = middle,
            // No timestamp near here (a long stack trace, or none at all): stop narrowing.
            None => return Ok(low),
        }
    }
    Ok(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(content: &str, filter: Option<&str>, since: Option<&str>, hold: bool) -> (String, ScanEnd) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, content).unwrap();
        let regex = filter.map(|f| line_regex(f).unwrap());
        let since = since.map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
        let mut out = Vec::new();
        let end = scan(&path, "app", &Query { regex: regex.as_ref(), since }, 0, hold, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), end)
    }

    fn texts(output: &str) -> Vec<&str> {
        output.lines().map(|l| l.split_once(" app ").unwrap().1).collect()
    }

    #[test]
    fn prints_matching_lines_with_time_severity_and_source() {
        let log = "2026-11-23T08:00:00Z INFO start\n2026-11-23T08:00:01Z ERROR took=812ms\n\nnot stamped error\n";
        let (out, end) = run(log, Some("error"), None, false);
        assert_eq!(
            out.lines().next().unwrap(),
            "2026-11-23T08:00:01+00:00 ERROR app 2026-11-23T08:00:01Z ERROR took=812ms"
        );
        assert_eq!(texts(&out), ["2026-11-23T08:00:01Z ERROR took=812ms", "not stamped error"]);
        assert_eq!(end, ScanEnd { offset: log.len() as u64, closed: false });
    }

    #[test]
    fn anchors_are_line_anchors_and_a_match_never_spans_lines() {
        let log = "a ERROR\nERROR b\r\nx\ny took=1\n";
        let (out, _) = run(log, Some("^error"), None, false);
        assert_eq!(texts(&out), ["ERROR b"]);
        let (out, _) = run(log, Some("b$"), None, false);
        assert_eq!(texts(&out), ["ERROR b"]);
        // `x\s+y` only matches across the newline between "x" and "y took=1".
        let (out, _) = run(log, Some(r"x\s+y"), None, false);
        assert!(out.is_empty(), "{out}");
    }

    #[test]
    fn a_filter_naming_the_source_passes_every_line() {
        let (out, _) = run("one\ntwo\n", Some("^app$"), None, false);
        assert_eq!(texts(&out), ["one", "two"]);
    }

    #[test]
    fn an_unfinished_last_line_is_held_when_following() {
        let (out, end) = run("done\npart", None, None, true);
        assert_eq!(texts(&out), ["done"]);
        assert_eq!(end.offset, 5);
        let (out, _) = run("done\npart", None, None, false);
        assert_eq!(texts(&out), ["done", "part"]);
    }

    #[test]
    fn since_bisects_a_large_file_and_keeps_exactly_the_newer_lines() {
        let base = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut log = String::new();
        for i in 0..50_000 {
            let at = base + chrono::Duration::seconds(i);
            log.push_str(&format!("{} INFO line {i} padding padding padding\n", at.to_rfc3339()));
        }
        let cutoff = base + chrono::Duration::seconds(49_990);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, &log).unwrap();
        let mut file = File::open(&path).unwrap();
        let start = seek_since(&mut file, log.len() as u64, cutoff).unwrap();
        assert!(log.len() as u64 - start <= 2 * BISECT_WINDOW, "bisection left {} bytes", log.len() as u64 - start);
        assert!(start == 0 || log.as_bytes()[start as usize - 1] == b'\n', "starts at a line");
        let (out, _) = run(&log, None, Some("2026-11-23T13:53:10Z"), false);
        let lines = texts(&out);
        assert_eq!(lines.len(), 10);
        assert!(lines[0].contains("line 49990 "), "{}", lines[0]);
    }

    #[test]
    fn since_on_lines_without_timestamps_scans_from_the_top() {
        let log = "no time here\n".repeat(20_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, &log).unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(seek_since(&mut file, log.len() as u64, Utc::now()).unwrap(), 0);
    }

    #[test]
    fn a_line_longer_than_a_chunk_is_read_whole() {
        let long = "x".repeat(CHUNK + 10);
        let (out, _) = run(&format!("{long} ERROR\nshort\n"), Some("error"), None, false);
        assert_eq!(texts(&out), [format!("{long} ERROR").as_str()]);
    }

    #[test]
    fn printed_lines_carry_no_escape_sequences() {
        let (out, _) = run(
            "2026-11-23T08:00:00Z ERROR \u{1b}]0;pwned\u{7}\u{1b}[2Jboom \u{1b}[31mred\u{1b}[0m\n",
            Some("boom"),
            None,
            false,
        );
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(out.ends_with("ERROR boom red\n"), "{out:?}");
    }
}
