//! `SQLite` store in the XDG data dir (WAL): the audit log now; runbook progress, incidents and
//! the HTTP cache later. Writes of "started" entries are synchronous so an action is never
//! sent without a durable record of it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

mod notify;
pub use notify::{Stream, Thread, TimelineRow};
pub mod team;
pub use team::{OutboxEntry, RunbookTick, TeamEvent, TimelineEntry, merge_ticks, merge_timeline};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the store at {path}: {cause}. Actions are refused until it opens: check that {path} is a SQLite file skydeck can write (or move it aside)"
    )]
    Open { path: PathBuf, cause: rusqlite::Error },
    #[error(
        "cannot create the data dir {path}: {cause}. Actions are refused until it exists: make {path} a writable directory (or set XDG_DATA_HOME to one)"
    )]
    CreateDir { path: PathBuf, cause: std::io::Error },
    /// The store is there but unusable; the message says which file and what to do.
    /// (`cause`, not `source`: the message already says it, a chain would repeat it.)
    #[error("{}", fault_message(path, *fault, cause))]
    Fault { path: PathBuf, fault: Fault, cause: rusqlite::Error },
    #[error("store error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Why the store cannot be written, from `SQLite`'s error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ReadOnly,
    Full,
    Corrupt,
    /// Another skydeck held the lock past every retry.
    Busy,
    Other,
}

impl Fault {
    pub fn of(e: &rusqlite::Error) -> Fault {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::ReadOnly) => Fault::ReadOnly,
            Some(C::DiskFull) => Fault::Full,
            Some(C::NotADatabase | C::DatabaseCorrupt) => Fault::Corrupt,
            Some(C::DatabaseBusy | C::DatabaseLocked) => Fault::Busy,
            _ => Fault::Other,
        }
    }
}

fn fault_message(path: &Path, fault: Fault, source: &rusqlite::Error) -> String {
    let dir = path.parent().unwrap_or(path).display();
    let path = path.display();
    match fault {
        Fault::ReadOnly => format!(
            "the store {path} is read-only ({source}): skydeck cannot audit, so actions are refused. Make {path} and {dir} writable by this user"
        ),
        Fault::Full => format!(
            "the store {path} cannot grow: the disk is full ({source}): skydeck cannot audit, so actions are refused. Free space on the disk holding {dir}"
        ),
        Fault::Corrupt => format!(
            "the store {path} is not a readable SQLite database ({source}): skydeck cannot audit, so actions are refused. Move it aside (mv {path} {path}.broken) and skydeck starts a new one; keep the old file for the audit history"
        ),
        Fault::Busy => format!(
            "the store {path} stayed locked by another process ({source}): nothing was written. Try again; if it persists, look for a stuck skydeck"
        ),
        Fault::Other => format!("the store {path} failed: {source}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditPhase {
    Started,
    Finished,
    Failed,
    Refused,
    /// A plugin run skydeck stopped (or left running) when it quit.
    Interrupted,
}

impl AuditPhase {
    fn as_str(self) -> &'static str {
        match self {
            AuditPhase::Started => "started",
            AuditPhase::Finished => "finished",
            AuditPhase::Failed => "failed",
            AuditPhase::Refused => "refused",
            AuditPhase::Interrupted => "interrupted",
        }
    }
    fn parse(s: &str) -> AuditPhase {
        match s {
            "started" => AuditPhase::Started,
            "finished" => AuditPhase::Finished,
            "refused" => AuditPhase::Refused,
            "interrupted" => AuditPhase::Interrupted,
            _ => AuditPhase::Failed,
        }
    }
}

/// One line of the audit log. Never holds a secret value: providers put only ids and
/// outcomes in `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// The `seq` of the "started" entry this one closes.
    pub action_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub user: String,
    pub verb: String,
    pub target: String,
    pub target_name: String,
    pub environment: String,
    pub source: String,
    pub phase: AuditPhase,
    pub reason: Option<String>,
    pub detail: String,
}

/// A response kept for `If-None-Match`; never holds credentials (only public API bodies).
#[derive(Debug, Clone, PartialEq)]
pub struct CachedResponse {
    pub etag: String,
    pub link: Option<String>,
    pub body: Vec<u8>,
}

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Fault injection (tests, `SKYDECK_STORE_FAULT=full`): every write fails as on a full disk.
    full: std::sync::atomic::AtomicBool,
    /// Stamps what the store dates itself (the HTTP cache); callers pass the time of entries.
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// Woken after every journalled write (the team store's replicator waits on it).
    appended: std::sync::Arc<tokio::sync::Notify>,
}

/// How many times a write is tried again after `SQLite` gave up waiting (`busy_timeout`) for
/// another process's lock. Bounded: past this the caller gets [`Fault::Busy`].
const BUSY_RETRIES: u32 = 5;
/// How long `SQLite` itself waits for a lock (every write, the WAL switch at open, checkpoints).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `f` again while `SQLite` answers `SQLITE_BUSY/SQLITE_LOCKED`, with growing, jittered
/// pauses so two waiting processes do not retry in step. A busy statement changed nothing,
/// so trying it again cannot write an entry twice.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if attempt < BUSY_RETRIES && Fault::of(&e) == Fault::Busy => {
                attempt += 1;
                tracing::warn!(attempt, "store busy, trying again: {e}");
                std::thread::sleep(backoff(attempt));
            }
            result => return result,
        }
    }
}

/// 50 ms, 100 ms, 200 ms... plus up to as much again of jitter.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 25u64 << attempt.min(8);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let seed = u64::from(nanos) ^ u64::from(std::process::id()).rotate_left(17);
    std::time::Duration::from_millis(base + seed % (base + 1))
}

impl Store {
    /// Opens (creating if needed) `skydeck.db` in `dir`.
    pub fn open_in(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|cause| StoreError::CreateDir { path: dir.to_path_buf(), cause })?;
        let path = dir.join("skydeck.db");
        let conn = Connection::open(&path).map_err(|cause| StoreError::Open { path: path.clone(), cause })?;
        Self::init(conn, path)
    }

    /// The default store under the XDG data dir.
    pub fn open_default() -> Result<Store, StoreError> {
        Self::open_in(&crate::paths::data_dir())
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Store, StoreError> {
        let fault = |source: rusqlite::Error| StoreError::Fault {
            path: path.clone(),
            fault: Fault::of(&source),
            cause: source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fault)?;
        // Several skydecks may open a new store at once: the WAL switch and the schema take
        // the write lock, so they wait and retry like any write.
        retry_busy(|| Self::prepare(&conn)).map_err(fault)?;
        // SQLite quietly opens a file it may not write read-only; say so now, not at the
        // first action.
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(fault)? {
            let source = rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                Some("opened read-only".into()),
            );
            return Err(StoreError::Fault { path, fault: Fault::ReadOnly, cause: source });
        }
        let store = Store {
            conn: Mutex::new(conn),
            path,
            full: Default::default(),
            clock: std::sync::Arc::new(crate::clock::SystemClock),
            appended: Default::default(),
        };
        match std::env::var("SKYDECK_STORE_FAULT").as_deref() {
            Ok("full") => store.inject_fault(Fault::Full)?,
            Ok("read-only") => store.inject_fault(Fault::ReadOnly)?,
            _ => {}
        }
        Ok(store)
    }

    /// The clock the store dates its own rows with (the system clock unless told).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// Fault injection for tests: `Full` makes every write fail with SQLITE_FULL (as on a full
    /// disk; a real one cannot be filled safely in a test), `ReadOnly` turns on SQLite's
    /// `query_only` so writes fail with its real SQLITE_READONLY. Reads keep working.
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: Fault) -> Result<(), StoreError> {
        match fault {
            Fault::Full => self.full.store(true, std::sync::atomic::Ordering::SeqCst),
            Fault::ReadOnly => self.conn().pragma_update(None, "query_only", true)?,
            Fault::Corrupt | Fault::Busy | Fault::Other => {}
        }
        Ok(())
    }

    fn prepare(conn: &Connection) -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                action_id INTEGER,
                at TEXT NOT NULL,
                user TEXT NOT NULL,
                verb TEXT NOT NULL,
                target TEXT NOT NULL,
                target_name TEXT NOT NULL,
                environment TEXT NOT NULL,
                source TEXT NOT NULL,
                phase TEXT NOT NULL,
                reason TEXT,
                detail TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS runbook_progress (
                runbook TEXT NOT NULL,
                day TEXT NOT NULL,
                item TEXT NOT NULL,
                done INTEGER NOT NULL,
                note TEXT,
                who TEXT NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (runbook, day, item)
            );
            CREATE TABLE IF NOT EXISTS incidents (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                title TEXT NOT NULL,
                severity TEXT NOT NULL,
                environment TEXT,
                opened_at TEXT NOT NULL,
                opened_by TEXT NOT NULL,
                closed_at TEXT,
                resolution TEXT
            );
            CREATE TABLE IF NOT EXISTS incident_timeline (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                incident INTEGER NOT NULL REFERENCES incidents(id),
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                who TEXT NOT NULL,
                text TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS http_cache (
                key TEXT PRIMARY KEY,
                etag TEXT NOT NULL,
                link TEXT,
                body BLOB NOT NULL,
                stored_at TEXT NOT NULL
            );",
        )?;
        team::prepare(conn)
    }

    /// Notified after each audit entry, runbook tick or timeline entry this process writes.
    pub fn appended(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.appended.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable; keep going.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every write goes through here: retried while another process holds the lock, and a
    /// failure says which file and what to do (read-only, full, corrupt).
    fn write<T>(&self, mut f: impl FnMut(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn();
        let result = if self.full.load(std::sync::atomic::Ordering::SeqCst) {
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                Some("database or disk is full (injected)".into()),
            ))
        } else {
            retry_busy(|| f(&conn))
        };
        result.map_err(|source| StoreError::Fault { path: self.path.clone(), fault: Fault::of(&source), cause: source })
    }

    /// Appends an entry and returns its sequence number.
    pub fn append_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        let seq = self.write(|conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
            "INSERT INTO audit (action_id, at, user, verb, target, target_name, environment, source, phase, reason, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                e.action_id,
                e.at.to_rfc3339(),
                e.user,
                e.verb,
                e.target,
                e.target_name,
                e.environment,
                e.source,
                e.phase.as_str(),
                e.reason,
                e.detail
            ],
            )?;
            let seq = tx.last_insert_rowid();
            team::journal(&tx, team::AUDIT, e.at, &e.user, &AuditEntry { seq, ..e.clone() })?;
            tx.commit()?;
            Ok(seq)
        })?;
        self.appended.notify_one();
        Ok(seq)
    }

    /// A cached response for a conditional request: (etag, Link header, body).
    pub fn http_cache_get(&self, key: &str) -> Result<Option<CachedResponse>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT etag, link, body FROM http_cache WHERE key = ?1")?;
        let mut rows = stmt.query([key])?;
        match rows.next()? {
            Some(row) => Ok(Some(CachedResponse { etag: row.get(0)?, link: row.get(1)?, body: row.get(2)? })),
            None => Ok(None),
        }
    }

    pub fn http_cache_put(&self, key: &str, response: &CachedResponse) -> Result<(), StoreError> {
        // The cache is an optimisation: NORMAL durability is enough and keeps polls cheap.
        self.write(|conn| {
            conn.execute(
            "INSERT INTO http_cache (key, etag, link, body, stored_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(key) DO UPDATE SET etag = excluded.etag, link = excluded.link, body = excluded.body, stored_at = excluded.stored_at",
            params![key, response.etag, response.link, response.body, self.clock.now().to_rfc3339()],
        )
        })?;
        Ok(())
    }

    /// Ticks and notes of one runbook on one day.
    pub fn runbook_progress(&self, runbook: &str, day: &str) -> Result<Vec<crate::runbook::Progress>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT item, done, note, who, at FROM runbook_progress WHERE runbook = ?1 AND day = ?2")?;
        let rows = stmt.query_map(params![runbook, day], |row| {
            let at: String = row.get(4)?;
            Ok(crate::runbook::Progress {
                item: row.get(0)?,
                done: row.get::<_, i64>(1)? != 0,
                note: row.get(2)?,
                who: row.get(3)?,
                at: DateTime::parse_from_rfc3339(&at).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
            })
        })?;
        let mut progress = rows.collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        drop(conn);
        merge_ticks(&mut progress, runbook, day, &self.team_inbox(team::RUNBOOK)?);
        Ok(progress)
    }

    /// Ticks, unticks or annotates one item (durable: progress must survive a crash).
    pub fn set_runbook_item(&self, runbook: &str, day: &str, p: &crate::runbook::Progress) -> Result<(), StoreError> {
        let tick = RunbookTick {
            runbook: runbook.to_string(),
            day: day.to_string(),
            item: p.item.clone(),
            done: p.done,
            note: p.note.clone(),
            who: p.who.clone(),
            at: p.at,
        };
        self.write(|conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
            "INSERT INTO runbook_progress (runbook, day, item, done, note, who, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(runbook, day, item) DO UPDATE SET done = excluded.done, note = excluded.note, who = excluded.who, at = excluded.at",
            params![runbook, day, p.item, i64::from(p.done), p.note, p.who, p.at.to_rfc3339()],
            )?;
            team::journal(&tx, team::RUNBOOK, p.at, &p.who, &tick)?;
            tx.commit()
        })?;
        self.appended.notify_one();
        Ok(())
    }

    /// Every stored tick and note of a runbook, each with its day (for the last completed walkthrough).
    pub fn runbook_progress_all(&self, runbook: &str) -> Result<Vec<(String, crate::runbook::Progress)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT day, item, done, note, who, at FROM runbook_progress WHERE runbook = ?1")?;
        let rows = stmt.query_map(params![runbook], |row| {
            let at: String = row.get(5)?;
            Ok((
                row.get(0)?,
                crate::runbook::Progress {
                    item: row.get(1)?,
                    done: row.get::<_, i64>(2)? != 0,
                    note: row.get(3)?,
                    who: row.get(4)?,
                    at: DateTime::parse_from_rfc3339(&at).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
                },
            ))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Opens an incident and records "opened" on its timeline. Returns its id.
    pub fn open_incident(
        &self,
        title: &str,
        severity: &str,
        environment: Option<&str>,
        who: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let id = self.write(|conn| {
            conn.execute(
                "INSERT INTO incidents (title, severity, environment, opened_at, opened_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![title, severity, environment, at.to_rfc3339(), who],
            )?;
            Ok(conn.last_insert_rowid())
        })?;
        let text = format!("{severity} opened: {title}{}", environment.map(|e| format!(" ({e})")).unwrap_or_default());
        self.add_timeline(
            id,
            &crate::incident::Entry { at, kind: crate::incident::EntryKind::Opened, who: who.to_string(), text },
        )?;
        Ok(id)
    }

    pub fn add_timeline(&self, incident: i64, e: &crate::incident::Entry) -> Result<(), StoreError> {
        self.write(|conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO incident_timeline (incident, at, kind, who, text) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![incident, e.at.to_rfc3339(), e.kind.as_str(), e.who, e.text],
            )?;
            let (title, severity): (String, String) =
                tx.query_row("SELECT title, severity FROM incidents WHERE id = ?1", [incident], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            let entry = TimelineEntry {
                incident,
                title,
                severity,
                kind: e.kind.as_str().to_string(),
                who: e.who.clone(),
                text: e.text.clone(),
                at: e.at,
            };
            team::journal(&tx, team::TIMELINE, e.at, &e.who, &entry)?;
            tx.commit()
        })?;
        self.appended.notify_one();
        Ok(())
    }

    pub fn close_incident(&self, id: i64, resolution: &str, who: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let changed = self.write(|conn| {
            conn.execute(
                "UPDATE incidents SET closed_at = ?2, resolution = ?3 WHERE id = ?1 AND closed_at IS NULL",
                params![id, at.to_rfc3339(), resolution],
            )
        })?;
        if changed == 0 {
            return Err(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows));
        }
        self.add_timeline(
            id,
            &crate::incident::Entry {
                at,
                kind: crate::incident::EntryKind::Closed,
                who: who.to_string(),
                text: format!("closed: {resolution}"),
            },
        )
    }

    /// Every incident, newest first, with its timeline.
    pub fn incidents(&self) -> Result<Vec<crate::incident::Incident>, StoreError> {
        let parse = |s: String| DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)).unwrap_or_default();
        let mut list = {
            let conn = self.conn();
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents ORDER BY id DESC"))?;
            let rows = stmt.query_map([], incident_from_row)?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT at, kind, who, text FROM incident_timeline WHERE incident = ?1 ORDER BY seq")?;
        for i in &mut list {
            let rows = stmt.query_map([i.id], |row| {
                Ok(crate::incident::Entry {
                    at: parse(row.get(0)?),
                    kind: crate::incident::EntryKind::parse(&row.get::<_, String>(1)?),
                    who: row.get(2)?,
                    text: row.get(3)?,
                })
            })?;
            i.timeline = rows.collect::<Result<Vec<_>, _>>()?;
        }
        drop(stmt);
        drop(conn);
        let shared = self.team_inbox(team::TIMELINE)?;
        if !shared.is_empty() {
            for incident in &mut list {
                merge_timeline(incident, &shared);
            }
        }
        Ok(list)
    }

    /// The incident still open, if any (the newest one).
    pub fn open_incident_now(&self) -> Result<Option<crate::incident::Incident>, StoreError> {
        Ok(self.incidents()?.into_iter().find(|i| i.closed_at.is_none()))
    }

    /// The whole audit log, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, action_id, at, user, verb, target, target_name, environment, source, phase, reason, detail
             FROM audit ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |row| {
            let at: String = row.get(2)?;
            let phase: String = row.get(9)?;
            Ok(AuditEntry {
                seq: row.get(0)?,
                action_id: row.get(1)?,
                at: DateTime::parse_from_rfc3339(&at).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
                user: row.get(3)?,
                verb: row.get(4)?,
                target: row.get(5)?,
                target_name: row.get(6)?,
                environment: row.get(7)?,
                source: row.get(8)?,
                phase: AuditPhase::parse(&phase),
                reason: row.get(10)?,
                detail: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// The columns [`incident_from_row`] reads, in its order.
pub(crate) const INCIDENT_COLUMNS: &str =
    "id, title, severity, environment, opened_at, opened_by, closed_at, resolution";

/// An incident without its timeline, from a row of [`INCIDENT_COLUMNS`].
pub(crate) fn incident_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<crate::incident::Incident> {
    let parse = |s: String| DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)).unwrap_or_default();
    Ok(crate::incident::Incident {
        id: row.get(0)?,
        title: row.get(1)?,
        severity: row.get(2)?,
        environment: row.get(3)?,
        opened_at: parse(row.get(4)?),
        opened_by: row.get(5)?,
        closed_at: row.get::<_, Option<String>>(6)?.map(parse),
        resolution: row.get(7)?,
        timeline: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(phase: AuditPhase) -> AuditEntry {
        AuditEntry {
            seq: 0,
            action_id: None,
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            user: "ana".into(),
            verb: "approve".into(),
            target: "acme/web/actions/runs/1".into(),
            target_name: "production".into(),
            environment: "production".into(),
            source: "demo".into(),
            phase,
            reason: Some("release 1.2".into()),
            detail: "approved".into(),
        }
    }

    #[test]
    fn http_cache_round_trips_and_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.http_cache_get("k").unwrap(), None);
        let a = CachedResponse { etag: "\"a\"".into(), link: None, body: b"[1]".to_vec() };
        store.http_cache_put("k", &a).unwrap();
        let b = CachedResponse { etag: "\"b\"".into(), link: Some("<x>; rel=\"next\"".into()), body: b"[2]".to_vec() };
        store.http_cache_put("k", &b).unwrap();
        drop(store);
        assert_eq!(Store::open_in(dir.path()).unwrap().http_cache_get("k").unwrap(), Some(b));
    }

    /// Another process holds the write lock longer than `SQLite` waits: the write is retried
    /// (with backoff) instead of failing with "database is locked", and lands exactly once.
    #[test]
    fn a_write_outlasting_the_busy_timeout_is_retried_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        // Short here so the test is quick; the retries are what it checks.
        store.conn().busy_timeout(std::time::Duration::from_millis(50)).unwrap();
        let other = Connection::open(dir.path().join("skydeck.db")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let seq = store.append_audit(&entry(AuditPhase::Started)).expect("retried past the lock");
        holder.join().unwrap();
        let all = store.audit_entries().unwrap();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [seq]);
    }

    #[test]
    fn store_faults_name_the_file_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        store.inject_fault(Fault::ReadOnly).unwrap();
        let err = store.append_audit(&entry(AuditPhase::Started)).unwrap_err();
        assert!(matches!(err, StoreError::Fault { fault: Fault::ReadOnly, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&store.path().display().to_string()) && text.contains("writable"), "{text}");
        assert!(store.audit_entries().unwrap().is_empty(), "reads still work");
        let store = Store::open_in(dir.path()).unwrap();
        store.inject_fault(Fault::Full).unwrap();
        let err = store.append_audit(&entry(AuditPhase::Started)).unwrap_err();
        assert!(err.to_string().contains("the disk is full"), "{err}");
    }

    #[test]
    fn audit_survives_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open_in(dir.path()).unwrap();
            let id = store.append_audit(&entry(AuditPhase::Started)).unwrap();
            let mut done = entry(AuditPhase::Finished);
            done.action_id = Some(id);
            store.append_audit(&done).unwrap();
        }
        let store = Store::open_in(dir.path()).unwrap();
        let all = store.audit_entries().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].phase, AuditPhase::Started);
        assert_eq!(all[1].phase, AuditPhase::Finished);
        assert_eq!(all[1].action_id, Some(all[0].seq));
        assert_eq!(all[0].reason.as_deref(), Some("release 1.2"));
    }
}
