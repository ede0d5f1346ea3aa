//! The local half of the team store: every audit entry, runbook tick and incident timeline
//! entry is also written, in the same `SQLite` transaction, to `team_outbox` with one local
//! sequence. `crate::team` copies the outbox to `PostgreSQL` and advances `replicated_to` only
//! after the remote commit. Teammates' events land in `team_inbox` (keyed like the remote
//! table, so a replay adds nothing) and are merged into the runbook and incident reads.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS team_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS team_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS team_inbox (
        origin TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id INTEGER NOT NULL,
        host TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (origin, seq)
    );
    CREATE INDEX IF NOT EXISTS team_inbox_kind_at ON team_inbox (kind, at);";

/// Entries written before the outbox existed are journalled once, oldest first, so a store
/// that joins a team brings its history along.
const BACKFILL: &str = "
    INSERT INTO team_outbox (kind, at, who, payload)
    SELECT kind, at, who, payload FROM (
        SELECT 'audit' AS kind, at, user AS who, json_object('seq', seq, 'action_id', action_id, 'at', at,
            'user', user, 'verb', verb, 'target', target, 'target_name', target_name, 'environment', environment,
            'source', source, 'phase', phase, 'reason', reason, 'detail', detail) AS payload, 0 AS o, seq AS s FROM audit
        UNION ALL
        SELECT 'runbook', at, who, json_object('runbook', runbook, 'day', day, 'item', item, 'done', json(CASE done WHEN 0 THEN 'false' ELSE 'true' END),
            'note', note, 'who', who, 'at', at), 1, rowid FROM runbook_progress
        UNION ALL
        SELECT 'timeline', t.at, t.who, json_object('incident', t.incident, 'title', i.title, 'severity', i.severity,
            'kind', t.kind, 'who', t.who, 'text', t.text, 'at', t.at), 2, t.seq
        FROM incident_timeline t JOIN incidents i ON i.id = t.incident
    ) ORDER BY at, o, s";

/// Kinds of journalled entries.
pub const AUDIT: &str = "audit";
pub const RUNBOOK: &str = "runbook";
pub const TIMELINE: &str = "timeline";

/// One journalled local entry, as it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The local user name (the team store adds `@host`).
    pub who: String,
    /// JSON: an `AuditEntry`, a [`RunbookTick`] or a [`TimelineEntry`].
    pub payload: String,
}

/// A runbook tick as journalled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunbookTick {
    pub runbook: String,
    pub day: String,
    pub item: String,
    pub done: bool,
    pub note: Option<String>,
    pub who: String,
    pub at: DateTime<Utc>,
}

/// An incident timeline entry as journalled, with the incident it belongs to on its origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub incident: i64,
    pub title: String,
    pub severity: String,
    pub kind: String,
    pub who: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A teammate's entry, as read from the team store (`id` is its place in the team's order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamEvent {
    pub id: i64,
    /// The store it came from (one per laptop and data dir).
    pub origin: String,
    pub seq: i64,
    pub host: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    /// `user@host`.
    pub who: String,
    pub payload: serde_json::Value,
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

/// Writes the outbox row of an entry; called inside the entry's own transaction.
pub(super) fn journal(
    conn: &Connection,
    kind: &str,
    at: DateTime<Utc>,
    who: &str,
    payload: &impl Serialize,
) -> rusqlite::Result<()> {
    let payload = serde_json::to_string(payload).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "INSERT INTO team_outbox (kind, at, who, payload) VALUES (?1, ?2, ?3, ?4)",
        params![kind, at.to_rfc3339(), who, payload],
    )?;
    Ok(())
}

/// Creates the tables and journals the entries older than the outbox (once).
pub(super) fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let tx = conn.unchecked_transaction()?;
    let done: Option<String> =
        tx.query_row("SELECT value FROM team_meta WHERE key = 'backfilled'", [], |r| r.get(0)).optional()?;
    if done.is_none() {
        tx.execute_batch(BACKFILL)?;
        tx.execute("INSERT INTO team_meta (key, value) VALUES ('backfilled', '1')", [])?;
    }
    tx.commit()
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM team_meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO team_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
}

/// A random id for this store, so two stores on one host never share a key.
fn new_origin(host: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    let clean: String =
        host.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect();
    format!("{clean}/{:016x}", h.finish())
}

impl Store {
    /// This store's origin id in the team store, created on first use (`host/random`).
    pub fn team_origin(&self, host: &str) -> Result<String, StoreError> {
        if let Some(o) = meta(&self.conn(), "origin")? {
            return Ok(o);
        }
        let fresh = new_origin(host);
        self.write(|conn| {
            // Two processes may race here: the first one's id stays.
            conn.execute("INSERT OR IGNORE INTO team_meta (key, value) VALUES ('origin', ?1)", [&fresh])?;
            conn.query_row("SELECT value FROM team_meta WHERE key = 'origin'", [], |r| r.get(0))
        })
    }

    /// The highest local sequence the team store has committed.
    pub fn team_replicated_to(&self) -> Result<i64, StoreError> {
        Ok(meta(&self.conn(), "replicated_to")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Moves the cursor forward (never back: two replicating processes may finish out of order).
    pub fn set_team_replicated_to(&self, seq: i64) -> Result<(), StoreError> {
        self.write(|conn| {
            let tx = conn.unchecked_transaction()?;
            let now: i64 = meta(&tx, "replicated_to")?.and_then(|v| v.parse().ok()).unwrap_or(0);
            if seq > now {
                set_meta(&tx, "replicated_to", &seq.to_string())?;
            }
            tx.commit()
        })
    }

    /// Journalled entries after `after`, oldest first, at most `limit`.
    pub fn team_outbox(&self, after: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, kind, at, who, payload FROM team_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok(OutboxEntry {
                seq: r.get(0)?,
                kind: r.get(1)?,
                at: parse_time(&r.get::<_, String>(2)?),
                who: r.get(3)?,
                payload: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Entries not yet in the team store.
    pub fn team_pending(&self) -> Result<i64, StoreError> {
        let after = self.team_replicated_to()?;
        Ok(self.conn().query_row("SELECT count(*) FROM team_outbox WHERE seq > ?1", [after], |r| r.get(0))?)
    }

    /// The highest team-store id pulled from the database named `db` (a redacted URL).
    pub fn team_pulled_to(&self, db: &str) -> Result<i64, StoreError> {
        Ok(meta(&self.conn(), &format!("pulled_to {db}"))?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Keeps teammates' events (a replay adds nothing) and moves the pull cursor of `db`.
    /// Returns the events that were new here.
    pub fn team_receive(&self, db: &str, events: &[TeamEvent]) -> Result<Vec<TeamEvent>, StoreError> {
        self.write(|conn| {
            let tx = conn.unchecked_transaction()?;
            let mut fresh = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR IGNORE INTO team_inbox (origin, seq, id, host, kind, at, who, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for e in events {
                    let added = stmt.execute(params![
                        e.origin,
                        e.seq,
                        e.id,
                        e.host,
                        e.kind,
                        e.at.to_rfc3339(),
                        e.who,
                        e.payload.to_string()
                    ])?;
                    if added > 0 {
                        fresh.push(e.clone());
                    }
                }
            }
            if let Some(max) = events.iter().map(|e| e.id).max() {
                let key = format!("pulled_to {db}");
                let now: i64 = meta(&tx, &key)?.and_then(|v| v.parse().ok()).unwrap_or(0);
                if max > now {
                    set_meta(&tx, &key, &max.to_string())?;
                }
            }
            tx.commit()?;
            Ok(fresh)
        })
    }

    /// Teammates' events of one kind kept here, oldest first.
    pub fn team_inbox(&self, kind: &str) -> Result<Vec<TeamEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, origin, seq, host, kind, at, who, payload FROM team_inbox WHERE kind = ?1 ORDER BY at, id",
        )?;
        let rows = stmt.query_map([kind], |r| {
            let payload: String = r.get(7)?;
            Ok(TeamEvent {
                id: r.get(0)?,
                origin: r.get(1)?,
                seq: r.get(2)?,
                host: r.get(3)?,
                kind: r.get(4)?,
                at: parse_time(&r.get::<_, String>(5)?),
                who: r.get(6)?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Teammates' ticks of `runbook` on `day` merged into the local ones: per item, the latest
/// tick wins, shown as `user@host`.
pub fn merge_ticks(progress: &mut Vec<crate::runbook::Progress>, runbook: &str, day: &str, events: &[TeamEvent]) {
    for e in events.iter().filter(|e| e.kind == RUNBOOK) {
        let Ok(t) = serde_json::from_value::<RunbookTick>(e.payload.clone()) else { continue };
        if t.runbook != runbook || t.day != day {
            continue;
        }
        let tick = crate::runbook::Progress { item: t.item, done: t.done, note: t.note, who: e.who.clone(), at: t.at };
        match progress.iter_mut().find(|p| p.item == tick.item) {
            Some(p) if p.at <= tick.at => *p = tick,
            Some(_) => {}
            None => progress.push(tick),
        }
    }
}

/// Teammates' timeline entries recorded while `incident` is open join its timeline, in time
/// order, marked `user@host`: the team shares one timeline.
pub fn merge_timeline(incident: &mut crate::incident::Incident, events: &[TeamEvent]) {
    let end = incident.closed_at.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut added = false;
    for e in events.iter().filter(|e| e.kind == TIMELINE) {
        let Ok(t) = serde_json::from_value::<TimelineEntry>(e.payload.clone()) else { continue };
        if t.at < incident.opened_at || t.at > end {
            continue;
        }
        let entry = crate::incident::Entry {
            at: t.at,
            kind: crate::incident::EntryKind::parse(&t.kind),
            who: e.who.clone(),
            text: t.text,
        };
        if !incident.timeline.contains(&entry) {
            incident.timeline.push(entry);
            added = true;
        }
    }
    if added {
        incident.timeline.sort_by_key(|e| e.at);
    }
}

#[cfg(test)]
mod tests {
    /// A fixed instant: these tests are about order and merging, not time.
    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-12-02T03:00:00Z").unwrap().with_timezone(&chrono::Utc)
    }

    use super::*;
    use crate::store::{AuditEntry, AuditPhase};

    fn audit(user: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            action_id: None,
            at: at(),
            user: user.into(),
            verb: "approve".into(),
            target: "t".into(),
            target_name: "web".into(),
            environment: "production".into(),
            source: "demo".into(),
            phase: AuditPhase::Started,
            reason: None,
            detail: "d".into(),
        }
    }

    #[test]
    fn every_kind_of_entry_is_journalled_with_one_sequence_and_a_failed_write_journals_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let seq = store.append_audit(&audit("ana")).unwrap();
        let tick = crate::runbook::Progress { item: "a".into(), done: true, note: None, who: "ana".into(), at: at() };
        store.set_runbook_item("daily", "2026-12-02", &tick).unwrap();
        let id = store.open_incident("db down", "sev2", None, "ana", at()).unwrap();
        let out = store.team_outbox(0, 100).unwrap();
        assert_eq!(out.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), [AUDIT, RUNBOOK, TIMELINE]);
        assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        let a: AuditEntry = serde_json::from_str(&out[0].payload).unwrap();
        assert_eq!(a.seq, seq);
        let t: TimelineEntry = serde_json::from_str(&out[2].payload).unwrap();
        assert_eq!((t.incident, t.title.as_str(), t.kind.as_str()), (id, "db down", "opened"));
        store.inject_fault(crate::store::Fault::Full).unwrap();
        assert!(store.append_audit(&audit("ana")).is_err());
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.team_outbox(0, 100).unwrap().len(), 3);
        assert_eq!(store.team_pending().unwrap(), 3);
        store.set_team_replicated_to(2).unwrap();
        store.set_team_replicated_to(1).unwrap();
        assert_eq!(store.team_replicated_to().unwrap(), 2, "the cursor never moves back");
        assert_eq!(store.team_outbox(2, 100).unwrap().len(), 1);
    }

    #[test]
    fn entries_older_than_the_outbox_are_journalled_once() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open_in(dir.path()).unwrap();
            store.append_audit(&audit("ana")).unwrap();
            store.append_audit(&audit("ana")).unwrap();
            // As if written by a skydeck without the outbox.
            let conn = store.conn();
            conn.execute_batch("DELETE FROM team_outbox; DELETE FROM team_meta;").unwrap();
        }
        let store = Store::open_in(dir.path()).unwrap();
        let out = store.team_outbox(0, 100).unwrap();
        assert_eq!(out.len(), 2);
        let a: AuditEntry = serde_json::from_str(&out[1].payload).unwrap();
        assert_eq!((a.seq, a.user.as_str(), a.phase), (2, "ana", AuditPhase::Started));
        drop(store);
        assert_eq!(Store::open_in(dir.path()).unwrap().team_outbox(0, 100).unwrap().len(), 2);
    }

    fn event(id: i64, kind: &str, payload: serde_json::Value) -> TeamEvent {
        TeamEvent {
            id,
            origin: "bob-laptop/1".into(),
            seq: id,
            host: "bob-laptop".into(),
            kind: kind.into(),
            at: at(),
            who: "bob@bob-laptop".into(),
            payload,
        }
    }

    #[test]
    fn teammates_ticks_and_timeline_entries_merge_and_replays_add_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let opened = at() - chrono::Duration::minutes(5);
        let id = store.open_incident("db down", "sev2", None, "ana", opened).unwrap();
        let mine = crate::runbook::Progress {
            item: "a".into(),
            done: false,
            note: None,
            who: "ana".into(),
            at: at() - chrono::Duration::minutes(1),
        };
        store.set_runbook_item("daily", "d1", &mine).unwrap();
        let tick = RunbookTick {
            runbook: "daily".into(),
            day: "d1".into(),
            item: "a".into(),
            done: true,
            note: None,
            who: "bob".into(),
            at: at(),
        };
        let entry = TimelineEntry {
            incident: 9,
            title: "db".into(),
            severity: "sev2".into(),
            kind: "note".into(),
            who: "bob".into(),
            text: "failover started".into(),
            at: at(),
        };
        let events = [
            event(1, RUNBOOK, serde_json::to_value(&tick).unwrap()),
            event(2, TIMELINE, serde_json::to_value(&entry).unwrap()),
        ];
        assert_eq!(store.team_receive("db", &events).unwrap().len(), 2);
        assert!(store.team_receive("db", &events).unwrap().is_empty(), "a replay adds nothing");
        assert_eq!(store.team_pulled_to("db").unwrap(), 2);
        let progress = store.runbook_progress("daily", "d1").unwrap();
        assert_eq!(progress.len(), 1);
        assert!(progress[0].done && progress[0].who == "bob@bob-laptop", "{progress:?}");
        let incident = store.incidents().unwrap().into_iter().find(|i| i.id == id).unwrap();
        let texts: Vec<(&str, &str)> = incident.timeline.iter().map(|e| (e.who.as_str(), e.text.as_str())).collect();
        assert_eq!(texts[1], ("bob@bob-laptop", "failover started"), "{texts:?}");
        assert_eq!(store.team_pending().unwrap(), 2, "teammates' entries are not sent back");
    }
}
