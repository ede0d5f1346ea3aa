//! The Logs screen's filter: a case-insensitive regex (a plain substring when the pattern is not
//! a valid regex) plus a minimum severity. It scans the buffer in time-boxed slices between
//! input events, so typing never waits for a million lines; each keystroke restarts the scan,
//! and lines that arrive later are scanned as they come (follow mode keeps working filtered).

use std::time::{Duration, Instant};

use regex::Regex;

use crate::logbuf::{LineRef, LogBuffer};
use crate::model::Severity;

#[derive(Debug, Clone)]
pub struct LogFilter {
    pub pattern: String,
    regex: Option<Regex>,
    /// Why the pattern is matched literally (an invalid regex), shown to the user.
    pub error: Option<String>,
    pub min: Severity,
    /// Sequence numbers of matching lines, ascending.
    pub matches: Vec<u64>,
    /// Lines before this sequence number have been scanned.
    pub next_seq: u64,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            pattern: String::new(),
            regex: None,
            error: None,
            min: Severity::Trace,
            matches: Vec::new(),
            next_seq: 0,
        }
    }
}

impl LogFilter {
    pub fn active(&self) -> bool {
        !self.pattern.is_empty() || self.min > Severity::Trace
    }

    /// A new pattern or severity: results start over.
    pub fn set(&mut self, pattern: &str, min: Severity) {
        if pattern == self.pattern && min == self.min {
            return;
        }
        self.pattern = pattern.to_string();
        self.min = min;
        self.matches.clear();
        self.next_seq = 0;
        self.error = None;
        self.regex = if pattern.is_empty() {
            None
        } else {
            match Regex::new(&format!("(?i){pattern}")) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.error = Some(format!(
                        "not a regex ({}); matching it literally",
                        e.to_string().lines().last().unwrap_or("")
                    ));
                    Regex::new(&format!("(?i){}", regex::escape(pattern))).ok()
                }
            }
        };
    }

    pub fn is_match(&self, l: &LineRef<'_>) -> bool {
        // A coloured CI line is matched as it is shown, without its SGR sequences.
        let text = if l.text.contains('\u{1b}') { crate::text::for_terminal(l.text) } else { l.text.into() };
        l.severity >= self.min && self.regex.as_ref().is_none_or(|r| r.is_match(&text) || r.is_match(l.source))
    }

    /// Byte ranges of the pattern in a line, for highlighting.
    pub fn highlights(&self, text: &str) -> Vec<(usize, usize)> {
        match &self.regex {
            Some(r) => r.find_iter(text).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())).take(32).collect(),
            None => Vec::new(),
        }
    }

    pub fn pending(&self, buf: &LogBuffer) -> bool {
        self.active() && self.next_seq.max(buf.seq_range().0) < buf.seq_range().1
    }

    /// Share of the buffer scanned, for "filtering… 40 %".
    pub fn progress(&self, buf: &LogBuffer) -> f64 {
        let (first, end) = buf.seq_range();
        if end == first { 1.0 } else { (self.next_seq.max(first) - first) as f64 / (end - first) as f64 }
    }

    /// Scans for at most `budget`. Returns whether anything new matched.
    pub fn step(&mut self, buf: &LogBuffer, budget: Duration) -> bool {
        let started = Instant::now();
        let (first, end) = buf.seq_range();
        let mut seq = self.next_seq.max(first);
        let before = self.matches.len();
        let mut index = (seq - first) as usize;
        while seq < end {
            let chunk = 2048.min((end - seq) as usize);
            for l in buf.range(index, chunk) {
                if self.is_match(&l) {
                    self.matches.push(l.seq);
                }
            }
            seq += chunk as u64;
            index += chunk;
            if started.elapsed() >= budget {
                break;
            }
        }
        self.next_seq = seq;
        self.matches.len() != before
    }

    /// After an append: lines from `end_before - rewritten` on were rewritten (a late batch
    /// merged into time order) and must be scanned again; evicted matches are dropped.
    pub fn on_append(&mut self, buf: &LogBuffer, end_before: u64, rewritten: usize) {
        let from = end_before.saturating_sub(rewritten as u64);
        if self.next_seq > from {
            self.next_seq = from;
            let keep = self.matches.partition_point(|s| *s < from);
            self.matches.truncate(keep);
        }
        let first = buf.seq_range().0;
        let stale = self.matches.partition_point(|s| *s < first);
        if stale > 4096 || (stale > 0 && stale * 4 > self.matches.len()) {
            self.matches.drain(..stale);
        }
    }

    /// Matches still held (evicted ones are skipped).
    pub fn live(&self, buf: &LogBuffer) -> &[u64] {
        let first = buf.seq_range().0;
        &self.matches[self.matches.partition_point(|s| *s < first)..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogLine;
    use chrono::{TimeZone, Utc};

    fn lines(n: usize) -> Vec<LogLine> {
        (0..n)
            .map(|i| LogLine {
                at: Utc.timestamp_millis_opt(1_700_000_000_000 + i as i64).unwrap(),
                source: if i % 2 == 0 { "web".into() } else { "api".into() },
                severity: if i % 10 == 0 { Severity::Error } else { Severity::Info },
                text: format!("request {i} took {}ms", i % 97),
            })
            .collect()
    }

    fn run(f: &mut LogFilter, b: &LogBuffer) {
        while f.pending(b) {
            f.step(b, Duration::from_millis(1));
        }
    }

    #[test]
    fn regex_severity_and_literal_fallback() {
        let mut b = LogBuffer::new(1000);
        b.push_batch(lines(100));
        let mut f = LogFilter::default();
        f.set(r"took 9\dms", Severity::Trace);
        run(&mut f, &b);
        let expected = (0..100).filter(|i| (90..97).contains(&(i % 97))).count();
        assert_eq!(f.matches.len(), expected);
        f.set("", Severity::Error);
        run(&mut f, &b);
        assert_eq!(f.matches.len(), 10);
        f.set("took (", Severity::Trace);
        assert!(f.error.as_deref().unwrap_or("").contains("literally"));
        run(&mut f, &b);
        assert_eq!(f.matches.len(), 0);
        f.set("API", Severity::Trace);
        run(&mut f, &b);
        assert_eq!(f.matches.len(), 50, "the source matches too, case-insensitively");
        assert_eq!(f.highlights("GET /api/v1 api"), vec![(5, 8), (12, 15)]);
    }

    #[test]
    fn follow_mode_appends_while_filtered_and_evicted_matches_go() {
        let mut b = LogBuffer::new(150);
        let all = lines(300);
        let mut f = LogFilter::default();
        f.set("", Severity::Error);
        let end = b.seq_range().1;
        let rewritten = b.push_batch(all[..100].to_vec());
        f.on_append(&b, end, rewritten);
        run(&mut f, &b);
        assert_eq!(f.matches.len(), 10);
        let end = b.seq_range().1;
        let rewritten = b.push_batch(all[100..300].to_vec());
        f.on_append(&b, end, rewritten);
        run(&mut f, &b);
        // 150 lines held (150..300): 15 errors among them.
        assert_eq!(f.live(&b).len(), 15);
        assert!(f.live(&b).iter().all(|s| b.by_seq(*s).is_some_and(|l| l.severity == Severity::Error)));
    }

    #[test]
    fn a_step_stops_at_its_budget() {
        let mut b = LogBuffer::new(300_000);
        b.push_batch(lines(300_000));
        let mut f = LogFilter::default();
        f.set("took 1\\dms", Severity::Trace);
        f.step(&b, Duration::from_micros(1));
        assert!(f.pending(&b), "one slice of 2048 lines, then it yields");
        assert!(f.progress(&b) < 0.1);
    }
}
