//! What the notifiers (`crate::notify`) need from the store: reading the journal after a
//! position, each sink's position, claims (so two skydecks on one store post an entry once)
//! and the Slack message of each incident. The tables are made by [`Store::notify_position`]
//! (a notifier's first call), so a store without any notifier configured never has them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{AuditEntry, AuditPhase, Store, StoreError};

/// Which part of the journal a position or a claim is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Audit,
    Timeline,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Audit => "audit",
            Stream::Timeline => "timeline",
        }
    }
}

/// One incident timeline entry with its place in the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub seq: i64,
    pub incident: i64,
    pub entry: crate::incident::Entry,
}

/// The message that stands for an incident in a channel (`ts` is Slack's message id).
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    pub channel: String,
    /// `None` while the skydeck that claimed it is still posting it.
    pub ts: Option<String>,
    /// The text last posted or updated, so an unchanged incident is not updated again.
    pub text: String,
}

fn time(s: String) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

impl Store {
    fn notify_tables(&self) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS notify_cursor (
                    sink TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (sink, stream)
                );
                CREATE TABLE IF NOT EXISTS notify_claims (
                    sink TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (sink, stream, seq)
                );
                CREATE TABLE IF NOT EXISTS notify_threads (
                    sink TEXT NOT NULL,
                    incident INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    ts TEXT,
                    text TEXT NOT NULL,
                    PRIMARY KEY (sink, incident)
                );",
            )
        })
    }

    /// Where `sink` has read up to. The first time, that is the end of the journal as it is
    /// now: a newly configured notifier posts what happens from now on, not the history.
    pub fn notify_position(&self, sink: &str) -> Result<(i64, i64), StoreError> {
        self.notify_tables()?;
        let ends = {
            let conn = self.conn();
            let audit: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?;
            let timeline: i64 =
                conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM incident_timeline", [], |r| r.get(0))?;
            [(Stream::Audit, audit), (Stream::Timeline, timeline)]
        };
        self.write(|conn| {
            for (stream, end) in ends {
                conn.execute(
                    "INSERT OR IGNORE INTO notify_cursor (sink, stream, seq) VALUES (?1, ?2, ?3)",
                    params![sink, stream.as_str(), end],
                )?;
            }
            Ok(())
        })?;
        let conn = self.conn();
        let get = |stream: Stream| -> rusqlite::Result<i64> {
            conn.query_row(
                "SELECT seq FROM notify_cursor WHERE sink = ?1 AND stream = ?2",
                params![sink, stream.as_str()],
                |r| r.get(0),
            )
        };
        Ok((get(Stream::Audit)?, get(Stream::Timeline)?))
    }

    /// Where `sink` has read up to, read only (a notifier's every pass: no write while idle).
    /// Falls back to [`Store::notify_position`] when the sink has none yet.
    pub fn notify_read_position(&self, sink: &str) -> Result<(i64, i64), StoreError> {
        let found = {
            let conn = self.conn();
            let get = |stream: Stream| -> rusqlite::Result<i64> {
                conn.query_row(
                    "SELECT seq FROM notify_cursor WHERE sink = ?1 AND stream = ?2",
                    params![sink, stream.as_str()],
                    |r| r.get(0),
                )
            };
            get(Stream::Audit).and_then(|a| Ok((a, get(Stream::Timeline)?)))
        };
        match found {
            Ok(position) => Ok(position),
            Err(_) => self.notify_position(sink),
        }
    }

    /// Moves `sink`'s position forward (never back).
    pub fn notify_advance(&self, sink: &str, stream: Stream, seq: i64) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.execute(
                "UPDATE notify_cursor SET seq = MAX(seq, ?3) WHERE sink = ?1 AND stream = ?2",
                params![sink, stream.as_str(), seq],
            )
        })?;
        Ok(())
    }

    /// True for exactly one caller per entry, across processes.
    pub fn notify_claim(&self, sink: &str, stream: Stream, seq: i64) -> Result<bool, StoreError> {
        let n = self.write(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO notify_claims (sink, stream, seq) VALUES (?1, ?2, ?3)",
                params![sink, stream.as_str(), seq],
            )
        })?;
        Ok(n == 1)
    }

    /// Audit entries after `seq`, oldest first, at most `limit`.
    pub fn audit_after(&self, seq: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, action_id, at, user, verb, target, target_name, environment, source, phase, reason, detail
             FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![seq, limit as i64], |row| {
            Ok(AuditEntry {
                seq: row.get(0)?,
                action_id: row.get(1)?,
                at: time(row.get(2)?),
                user: row.get(3)?,
                verb: row.get(4)?,
                target: row.get(5)?,
                target_name: row.get(6)?,
                environment: row.get(7)?,
                source: row.get(8)?,
                phase: AuditPhase::parse(&row.get::<_, String>(9)?),
                reason: row.get(10)?,
                detail: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Incident timeline entries (every incident) after `seq`, oldest first, at most `limit`.
    pub fn timeline_after(&self, seq: i64, limit: usize) -> Result<Vec<TimelineRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, incident, at, kind, who, text FROM incident_timeline WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![seq, limit as i64], |row| {
            Ok(TimelineRow {
                seq: row.get(0)?,
                incident: row.get(1)?,
                entry: crate::incident::Entry {
                    at: time(row.get(2)?),
                    kind: crate::incident::EntryKind::parse(&row.get::<_, String>(3)?),
                    who: row.get(4)?,
                    text: row.get(5)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One incident with its timeline.
    pub fn incident(&self, id: i64) -> Result<Option<crate::incident::Incident>, StoreError> {
        // `incidents()` reads every timeline; one incident is what a notifier needs.
        let found = {
            let conn = self.conn();
            conn.query_row(
                &format!("SELECT {} FROM incidents WHERE id = ?1", super::INCIDENT_COLUMNS),
                [id],
                super::incident_from_row,
            )
            .optional()?
        };
        let Some(mut incident) = found else { return Ok(None) };
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT at, kind, who, text FROM incident_timeline WHERE incident = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([id], |row| {
            Ok(crate::incident::Entry {
                at: time(row.get(0)?),
                kind: crate::incident::EntryKind::parse(&row.get::<_, String>(1)?),
                who: row.get(2)?,
                text: row.get(3)?,
            })
        })?;
        incident.timeline = rows.collect::<Result<Vec<_>, _>>()?;
        Ok(Some(incident))
    }

    /// The incident's message in `sink`, if one was posted (or is being posted).
    pub fn notify_thread(&self, sink: &str, incident: i64) -> Result<Option<Thread>, StoreError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT channel, ts, text FROM notify_threads WHERE sink = ?1 AND incident = ?2",
                params![sink, incident],
                |r| Ok(Thread { channel: r.get(0)?, ts: r.get(1)?, text: r.get(2)? }),
            )
            .optional()?)
    }

    /// Claims posting the incident's message: true for exactly one caller.
    pub fn notify_thread_claim(&self, sink: &str, incident: i64) -> Result<bool, StoreError> {
        let n = self.write(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO notify_threads (sink, incident, channel, ts, text) VALUES (?1, ?2, '', NULL, '')",
                params![sink, incident],
            )
        })?;
        Ok(n == 1)
    }

    /// Records the posted (or updated) message of an incident.
    pub fn notify_thread_set(&self, sink: &str, incident: i64, thread: &Thread) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO notify_threads (sink, incident, channel, ts, text) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(sink, incident) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, text = excluded.text",
                params![sink, incident, thread.channel, thread.ts, thread.text],
            )
        })?;
        Ok(())
    }

    /// Gives up a claim whose message could not be posted, so a later entry can try again.
    pub fn notify_thread_release(&self, sink: &str, incident: i64) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.execute(
                "DELETE FROM notify_threads WHERE sink = ?1 AND incident = ?2 AND ts IS NULL",
                params![sink, incident],
            )
        })?;
        Ok(())
    }

    /// The newest failure `source` recorded in the audit log (for `status` and the status bar).
    pub fn last_failure_of(&self, source: &str) -> Result<Option<AuditEntry>, StoreError> {
        let seq: Option<i64> = {
            let conn = self.conn();
            conn.query_row(
                "SELECT seq FROM audit WHERE source = ?1 AND phase = 'failed' ORDER BY seq DESC LIMIT 1",
                [source],
                |r| r.get(0),
            )
            .optional()?
        };
        Ok(match seq {
            Some(seq) => self.audit_after(seq - 1, 1)?.into_iter().next(),
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Entry, EntryKind};

    /// A fixed instant: these tests are about order, not time.
    fn at() -> chrono::DateTime<Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-12-02T03:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn entry(phase: AuditPhase) -> AuditEntry {
        AuditEntry {
            seq: 0,
            action_id: None,
            at: at(),
            user: "ana".into(),
            verb: "scale".into(),
            target: "t".into(),
            target_name: "web".into(),
            environment: "staging".into(),
            source: "demo".into(),
            phase,
            reason: None,
            detail: "d".into(),
        }
    }

    #[test]
    fn a_new_sink_starts_at_the_end_and_reads_what_comes_after() {
        let store = Store::open_in_memory().unwrap();
        store.append_audit(&entry(AuditPhase::Started)).unwrap();
        let id = store.open_incident("x", "sev2", None, "ana", at()).unwrap();
        let (a, t) = store.notify_position("slack").unwrap();
        assert!(store.audit_after(a, 10).unwrap().is_empty());
        assert!(store.timeline_after(t, 10).unwrap().is_empty());
        let seq = store.append_audit(&entry(AuditPhase::Finished)).unwrap();
        store
            .add_timeline(id, &Entry { at: at(), kind: EntryKind::Note, who: "ana".into(), text: "n".into() })
            .unwrap();
        let after = store.audit_after(a, 10).unwrap();
        assert_eq!(after.iter().map(|e| (e.seq, e.phase)).collect::<Vec<_>>(), [(seq, AuditPhase::Finished)]);
        let rows = store.timeline_after(t, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].incident, rows[0].entry.text.as_str()), (id, "n"));
        store.notify_advance("slack", Stream::Audit, seq).unwrap();
        store.notify_advance("slack", Stream::Audit, seq - 1).unwrap();
        assert_eq!(store.notify_position("slack").unwrap(), (seq, t));
        assert_eq!(store.notify_read_position("slack").unwrap(), (seq, t));
        // Read before any position exists: made then, at the end.
        assert_eq!(Store::open_in_memory().unwrap().notify_read_position("x").unwrap(), (0, 0));
        // Another sink has its own position.
        assert_eq!(store.notify_position("other").unwrap().0, seq);
    }

    #[test]
    fn claims_and_threads_are_had_once() {
        let store = Store::open_in_memory().unwrap();
        store.notify_position("slack").unwrap();
        assert!(store.notify_claim("slack", Stream::Audit, 4).unwrap());
        assert!(!store.notify_claim("slack", Stream::Audit, 4).unwrap());
        assert!(store.notify_claim("slack", Stream::Timeline, 4).unwrap());
        assert!(store.notify_thread_claim("slack", 1).unwrap());
        assert!(!store.notify_thread_claim("slack", 1).unwrap());
        assert_eq!(store.notify_thread("slack", 1).unwrap().unwrap().ts, None);
        store.notify_thread_release("slack", 1).unwrap();
        assert_eq!(store.notify_thread("slack", 1).unwrap(), None);
        let t = Thread { channel: "C1".into(), ts: Some("1.2".into()), text: "t".into() };
        store.notify_thread_set("slack", 1, &t).unwrap();
        store.notify_thread_release("slack", 1).unwrap();
        assert_eq!(store.notify_thread("slack", 1).unwrap(), Some(t), "a posted message is kept");
    }

    #[test]
    fn the_last_failure_of_a_source_is_found() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.last_failure_of("slack").unwrap(), None);
        let mut e = entry(AuditPhase::Failed);
        e.source = "slack".into();
        e.detail = "HTTP 500".into();
        let seq = store.append_audit(&e).unwrap();
        store.append_audit(&entry(AuditPhase::Failed)).unwrap();
        let found = store.last_failure_of("slack").unwrap().unwrap();
        assert_eq!((found.seq, found.detail.as_str()), (seq, "HTTP 500"));
    }
}
