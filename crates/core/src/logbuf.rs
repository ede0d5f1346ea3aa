//! The log buffer shared by every log source: a ring of up to `cap` lines (default 1 000 000)
//! kept within ~1.2× the bytes of the text it holds.
//!
//! Text lives in append-only chunks; each line is a 24-byte index entry (time, source, severity,
//! where its text is). Evicting the oldest lines frees whole chunks. Index entries can be
//! reordered without moving text, which is how late lines from another source are merged into
//! time order. Every line has a sequence number that never changes, so filter results stay
//! valid while lines arrive and old ones are evicted.

use std::collections::{HashMap, VecDeque};

use chrono::DateTime;

use crate::model::{LogLine, Severity, Timestamp};

const CHUNK: usize = 1 << 20;
/// Lines held when `log_buffer_lines` is not set.
pub const DEFAULT_LINES: usize = 1_000_000;
/// How far back a late batch is merged into time order (entries, not bytes).
const MERGE_WINDOW: usize = 20_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    at_ms: i64,
    chunk: u32,
    offset: u32,
    len: u32,
    source: u16,
    severity: Severity,
}

#[derive(Debug)]
struct Chunk {
    id: u32,
    text: String,
    /// Lines in the buffer still pointing into this chunk.
    live: usize,
}

/// A line as stored, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineRef<'a> {
    pub seq: u64,
    pub at: Timestamp,
    pub source: &'a str,
    pub severity: Severity,
    pub text: &'a str,
}

impl LineRef<'_> {
    /// `TIME SEVERITY SOURCE TEXT` without the CI log's colour sequences (copy, save).
    pub fn plain_text(&self) -> String {
        let text = crate::text::for_terminal(self.text);
        format!("{} {} {} {text}", self.at.to_rfc3339(), self.severity.label(), self.source)
    }

    pub fn to_owned_line(&self) -> LogLine {
        LogLine { at: self.at, source: self.source.to_string(), severity: self.severity, text: self.text.to_string() }
    }
}

/// Appends two time-ordered runs to `out` in time order; on a tie `first`'s entry goes first.
fn merge_by_time(
    first: impl IntoIterator<Item = Entry>,
    second: impl IntoIterator<Item = Entry>,
    out: &mut VecDeque<Entry>,
) {
    let (mut a, mut b) = (first.into_iter().peekable(), second.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.at_ms <= y.at_ms => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
}

#[derive(Debug)]
pub struct LogBuffer {
    cap: usize,
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    chunks: VecDeque<Chunk>,
    next_chunk: u32,
    sources: Vec<String>,
    source_ids: HashMap<String, u16>,
}

impl LogBuffer {
    pub fn new(cap: usize) -> Self {
        LogBuffer {
            cap: cap.max(1),
            entries: VecDeque::new(),
            first_seq: 0,
            chunks: VecDeque::new(),
            next_chunk: 0,
            sources: Vec::new(),
            source_ids: HashMap::new(),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sequence number of the oldest line held and one past the newest.
    pub fn seq_range(&self) -> (u64, u64) {
        (self.first_seq, self.first_seq + self.entries.len() as u64)
    }

    /// Bytes of line text held (the budget's reference) and bytes the buffer uses for it.
    pub fn memory(&self) -> (usize, usize) {
        let text: usize = self.entries.iter().map(|e| e.len as usize).sum();
        let used = self.chunks.iter().map(|c| c.text.capacity()).sum::<usize>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.sources.iter().map(|s| s.capacity() + 48).sum::<usize>();
        (text, used)
    }

    fn source_id(&mut self, source: &str) -> u16 {
        if let Some(id) = self.source_ids.get(source) {
            return *id;
        }
        // Past 65 535 distinct sources, the last one absorbs the rest.
        let id = self.sources.len().min(u16::MAX as usize) as u16;
        if (id as usize) == self.sources.len() {
            self.sources.push(source.to_string());
            self.source_ids.insert(source.to_string(), id);
        }
        id
    }

    fn store_text(&mut self, text: &str) -> (u32, u32, u32) {
        let text = &text[..text.len().min(u32::MAX as usize / 2)];
        let need_new = self.chunks.back().is_none_or(|c| c.text.len() + text.len() > c.text.capacity());
        if need_new {
            let id = self.next_chunk;
            self.next_chunk = self.next_chunk.wrapping_add(1);
            self.chunks.push_back(Chunk { id, text: String::with_capacity(CHUNK.max(text.len())), live: 0 });
        }
        let chunk = self.chunks.back_mut().expect("a chunk was just ensured");
        let offset = chunk.text.len() as u32;
        chunk.text.push_str(text);
        chunk.live += 1;
        (chunk.id, offset, text.len() as u32)
    }

    fn chunk_index(&self, id: u32) -> usize {
        // Chunk ids are consecutive (modulo wrap) from the front chunk.
        let front = self.chunks.front().map_or(0, |c| c.id);
        id.wrapping_sub(front) as usize
    }

    fn evict_front(&mut self) {
        if let Some(e) = self.entries.pop_front() {
            self.first_seq += 1;
            let i = self.chunk_index(e.chunk);
            if let Some(c) = self.chunks.get_mut(i) {
                c.live -= 1;
            }
            // Free leading chunks nobody points into any more (never the one being written).
            while self.chunks.len() > 1 && self.chunks.front().is_some_and(|c| c.live == 0) {
                self.chunks.pop_front();
            }
        }
    }

    /// Appends a batch: sorted by time, merged into the recent tail if it is late, oldest
    /// lines evicted beyond the cap. Returns how many entries at the tail were rewritten
    /// (0 when the batch was simply appended): filter results past that point are stale.
    pub fn push_batch(&mut self, lines: impl IntoIterator<Item = LogLine>) -> usize {
        let mut batch: Vec<Entry> = lines
            .into_iter()
            .map(|l| {
                let source = self.source_id(&l.source);
                let (chunk, offset, len) = self.store_text(&l.text);
                Entry { at_ms: l.at.timestamp_millis(), chunk, offset, len, source, severity: l.severity }
            })
            .collect();
        if batch.is_empty() {
            return 0;
        }
        batch.sort_by_key(|e| e.at_ms);
        let min = batch[0].at_ms;
        // Take back the tail entries newer than the batch (bounded), then merge both runs.
        let mut tail = Vec::new();
        while tail.len() < MERGE_WINDOW && self.entries.back().is_some_and(|e| e.at_ms > min) {
            tail.push(self.entries.pop_back().expect("checked"));
        }
        let rewritten = tail.len();
        tail.reverse();
        merge_by_time(tail, batch, &mut self.entries);
        while self.entries.len() > self.cap {
            self.evict_front();
        }
        rewritten
    }

    /// Inserts lines a source read further back, merged into time order, as many as there is
    /// room for below the cap (the newest of them). Returns how many went in and how many of
    /// those sort before a held line stamped `anchor_ms` (so a selection can stay on its line).
    /// Positions, and so sequence numbers, of held lines move: filter results must be redone.
    pub fn insert_older(&mut self, lines: Vec<LogLine>, anchor_ms: Option<i64>) -> (usize, usize) {
        let room = self.cap.saturating_sub(self.entries.len());
        if room == 0 || lines.is_empty() {
            return (0, 0);
        }
        let mut lines = lines;
        lines.sort_by_key(|l| l.at);
        let skip = lines.len().saturating_sub(room);
        let batch: Vec<Entry> = lines
            .into_iter()
            .skip(skip)
            .map(|l| {
                let source = self.source_id(&l.source);
                let (chunk, offset, len) = self.store_text(&l.text);
                Entry { at_ms: l.at.timestamp_millis(), chunk, offset, len, source, severity: l.severity }
            })
            .collect();
        let before_anchor = anchor_ms.map_or(0, |a| batch.iter().filter(|e| e.at_ms <= a).count());
        let inserted = batch.len();
        // The usual case, one source read further back: everything goes in front, in place
        // (a merged copy of a million entries would double the index for a moment).
        if self.entries.front().is_none_or(|front| batch.last().is_some_and(|newest| newest.at_ms <= front.at_ms)) {
            // Going back in history fills the buffer towards its cap: take the whole index once
            // (24 bytes a line) instead of growing it a batch at a time, which leaves the
            // allocator holding every outgrown copy.
            self.entries.reserve_exact(room);
            for e in batch.into_iter().rev() {
                self.entries.push_front(e);
            }
            return (inserted, before_anchor);
        }
        // Older lines go before held lines of the same millisecond.
        let held = std::mem::take(&mut self.entries);
        let mut merged = VecDeque::with_capacity(held.len() + inserted);
        merge_by_time(batch, held, &mut merged);
        self.entries = merged;
        (inserted, before_anchor)
    }

    fn line(&self, seq: u64, e: &Entry) -> LineRef<'_> {
        let chunk = &self.chunks[self.chunk_index(e.chunk)];
        let text = &chunk.text[e.offset as usize..(e.offset + e.len) as usize];
        LineRef {
            seq,
            at: DateTime::from_timestamp_millis(e.at_ms).unwrap_or_default(),
            source: &self.sources[e.source as usize],
            severity: e.severity,
            text,
        }
    }

    /// The line at a position (0 = oldest held).
    pub fn get(&self, index: usize) -> Option<LineRef<'_>> {
        let e = self.entries.get(index)?;
        Some(self.line(self.first_seq + index as u64, e))
    }

    /// The line with a sequence number, if still held.
    pub fn by_seq(&self, seq: u64) -> Option<LineRef<'_>> {
        let index = seq.checked_sub(self.first_seq)? as usize;
        self.get(index)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LineRef<'_>> + '_ {
        self.entries.iter().enumerate().map(|(i, e)| self.line(self.first_seq + i as u64, e))
    }

    /// Lines from position `start`, oldest first.
    pub fn range(&self, start: usize, count: usize) -> impl Iterator<Item = LineRef<'_>> + '_ {
        self.entries
            .range(start.min(self.entries.len())..(start + count).min(self.entries.len()))
            .enumerate()
            .map(move |(i, e)| self.line(self.first_seq + (start + i) as u64, e))
    }

    /// Position of the first line at or after `at` (lines are in time order).
    pub fn position_at(&self, at: Timestamp) -> usize {
        let ms = at.timestamp_millis();
        self.entries.partition_point(|e| e.at_ms < ms)
    }
}

/// Severity of a line as written: JSON `level`/`severity`/`lvl` fields (names or syslog and
/// bunyan/pino numbers), else the common text markers (`ERROR`, `[warn]`, `level=info`, `E1123`).
pub fn parse_severity(text: &str) -> Severity {
    let t = text.trim_start();
    if t.starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
    {
        for key in ["level", "severity", "lvl", "log.level", "levelname"] {
            match v.get(key) {
                Some(serde_json::Value::String(s)) => return severity_word(s).unwrap_or(Severity::Info),
                Some(serde_json::Value::Number(n)) => {
                    let n = n.as_i64().unwrap_or(30);
                    // pino/bunyan: 10 trace … 50 error; syslog: 0 emerg … 7 debug.
                    return if n >= 10 {
                        match n {
                            ..20 => Severity::Trace,
                            20..30 => Severity::Debug,
                            30..40 => Severity::Info,
                            40..50 => Severity::Warn,
                            _ => Severity::Error,
                        }
                    } else {
                        match n {
                            ..=3 => Severity::Error,
                            4 => Severity::Warn,
                            5 | 6 => Severity::Info,
                            _ => Severity::Debug,
                        }
                    };
                }
                _ => {}
            }
        }
        return Severity::Info;
    }
    // klog/glog: E1123 12:00:00.000 ...
    if let Some(first) = t.chars().next()
        && t.len() > 5
        // `get`: a line may start with a multi-byte character (found by tests/fuzz.rs).
        && t.get(1..5).is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
    {
        match first {
            'E' | 'F' => return Severity::Error,
            'W' => return Severity::Warn,
            'I' => return Severity::Info,
            _ => {}
        }
    }
    for word in t.split(|c: char| !c.is_ascii_alphanumeric() && c != '=').take(12) {
        let w = word.strip_prefix("level=").unwrap_or(word);
        if let Some(s) = severity_word(w)
            && (word.len() > 3 || word.chars().all(|c| c.is_ascii_uppercase()))
        {
            return s;
        }
    }
    if t.contains("##[error]") {
        return Severity::Error;
    }
    if t.contains("##[warning]") {
        return Severity::Warn;
    }
    Severity::Info
}

fn severity_word(w: &str) -> Option<Severity> {
    Some(match w.to_ascii_lowercase().as_str() {
        "error" | "err" | "fatal" | "crit" | "critical" | "alert" | "emerg" | "emergency" | "panic" => Severity::Error,
        "warn" | "warning" => Severity::Warn,
        "info" | "notice" | "default" => Severity::Info,
        "debug" => Severity::Debug,
        "trace" => Severity::Trace,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_lines_merge_in_time_order_within_the_cap() {
        let at = |s: i64| chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap();
        let line = |s: i64, src: &str| LogLine {
            at: at(s),
            source: src.into(),
            severity: Severity::Info,
            text: format!("{src}@{s}"),
        };
        let mut b = LogBuffer::new(6);
        b.push_batch(vec![line(10, "file"), line(20, "file"), line(5, "api")]);
        // Lines of the file before its first: one interleaves with the api line.
        let (inserted, before) = b.insert_older(
            vec![line(1, "file"), line(7, "file"), line(10, "file"), line(9, "file")],
            Some(at(10).timestamp_millis()),
        );
        assert_eq!(inserted, 3, "room for three below the cap: the newest three");
        assert_eq!(before, 3, "all three sort at or before the line stamped 10");
        let texts: Vec<&str> = b.iter().map(|l| l.text).collect();
        assert_eq!(texts, ["api@5", "file@7", "file@9", "file@10", "file@10", "file@20"]);
        assert_eq!(b.insert_older(vec![line(0, "file")], None), (0, 0), "full");
        // All older than what is held: in front, in order.
        let mut b = LogBuffer::new(10);
        b.push_batch(vec![line(10, "file"), line(20, "file")]);
        assert_eq!(
            b.insert_older(vec![line(3, "file"), line(1, "file"), line(10, "file")], Some(at(20).timestamp_millis())),
            (3, 3)
        );
        let texts: Vec<&str> = b.iter().map(|l| l.text).collect();
        assert_eq!(texts, ["file@1", "file@3", "file@10", "file@10", "file@20"]);
    }
    use chrono::{TimeZone, Utc};

    fn line(ms: i64, source: &str, text: &str) -> LogLine {
        LogLine {
            at: Utc.timestamp_millis_opt(1_700_000_000_000 + ms).unwrap(),
            source: source.into(),
            severity: parse_severity(text),
            text: text.into(),
        }
    }

    #[test]
    fn the_ring_evicts_the_oldest_and_keeps_sequence_numbers() {
        let mut b = LogBuffer::new(3);
        b.push_batch((0..5).map(|i| line(i, "a", &format!("line {i}"))));
        assert_eq!(b.len(), 3);
        assert_eq!(b.seq_range(), (2, 5));
        assert_eq!(b.get(0).unwrap().text, "line 2");
        assert_eq!(b.by_seq(4).unwrap().text, "line 4");
        assert!(b.by_seq(1).is_none(), "evicted");
    }

    #[test]
    fn chunks_are_freed_as_lines_are_evicted() {
        let mut b = LogBuffer::new(10_000);
        let text = "x".repeat(1000);
        for i in 0..30_000 {
            b.push_batch([line(i, "a", &text)]);
        }
        assert_eq!(b.len(), 10_000);
        let (held, used) = b.memory();
        assert_eq!(held, 10_000 * 1000);
        assert!((used as f64) < held as f64 * 1.2, "{used} bytes for {held}");
        assert_eq!(b.get(0).unwrap().seq, 20_000);
    }

    #[test]
    fn late_batches_are_merged_into_time_order() {
        let mut b = LogBuffer::new(100);
        b.push_batch([line(10, "a", "a10"), line(30, "a", "a30")]);
        let rewritten = b.push_batch([line(20, "b", "b20"), line(5, "b", "b5"), line(40, "b", "b40")]);
        let texts: Vec<&str> = b.iter().map(|l| l.text).collect();
        assert_eq!(texts, ["b5", "a10", "b20", "a30", "b40"]);
        assert_eq!(rewritten, 2, "a10 and a30 were newer than the batch's oldest line");
        assert_eq!(b.position_at(b.get(2).unwrap().at), 2);
    }

    #[test]
    fn severity_from_json_and_text() {
        assert_eq!(parse_severity(r#"{"level":"error","msg":"boom"}"#), Severity::Error);
        assert_eq!(parse_severity(r#"{"severity":"WARNING"}"#), Severity::Warn);
        assert_eq!(parse_severity(r#"{"level":50,"msg":"pino"}"#), Severity::Error);
        assert_eq!(parse_severity(r#"{"level":30}"#), Severity::Info);
        assert_eq!(parse_severity(r#"{"severity":3}"#), Severity::Error, "syslog err");
        assert_eq!(parse_severity("2026-11-23 08:00:00 ERROR payment failed"), Severity::Error);
        assert_eq!(parse_severity("[warn] slow query"), Severity::Warn);
        assert_eq!(parse_severity("ts=1 level=debug msg=x"), Severity::Debug);
        assert_eq!(parse_severity("E1123 08:00:00.000000 1 controller.go:1] failed"), Severity::Error);
        assert_eq!(parse_severity("GET /errors 200"), Severity::Info, "a path is not a level");
        assert_eq!(parse_severity("##[error]Process completed with exit code 1."), Severity::Error);
    }
}
