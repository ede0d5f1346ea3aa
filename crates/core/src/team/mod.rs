//! The team store: the local `SQLite` journal (`store::team`) replicated to a `PostgreSQL` the
//! team already runs, and teammates' entries pushed back into every open TUI.
//!
//! - **Append-only, idempotent.** Every journalled entry goes to `events`, keyed by (origin,
//!   local sequence), with `ON CONFLICT DO NOTHING`: sending a batch twice adds nothing.
//! - **Local first.** The local cursor (`replicated_to`) moves only after `PostgreSQL` has
//!   committed, so a crash between the two replays the batch, never loses it. Nothing here
//!   runs inside an action: replication failing only marks the team store offline.
//! - **Pushed.** Each append notifies [`pg::CHANNEL`]; a task LISTENs, reads what other
//!   origins added and sends it to the loop as [`TeamMsg::Events`].

pub mod pg;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::store::{Store, StoreError, TeamEvent};

/// `[team]` in the config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TeamConfig {
    /// `postgres://user@host:port/db` (a Unix socket: `postgres:///db?host=/run/postgresql`).
    pub postgres_url: String,
    /// `disable`, `prefer` (default), `require` or `verify-full`. With TLS the server's
    /// certificate and name are always verified (rustls), so `require` = `verify-full`.
    pub sslmode: Option<String>,
    /// PEM file with the CA that signed the server's certificate (default: the system roots).
    pub ca_file: Option<String>,
    /// How this machine is named to the team (default: its host name).
    pub host: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Setting(#[from] TeamConfigError),
    #[error("team store {database} is offline: {cause}")]
    Offline { database: String, cause: String },
    #[error("team store {database}: {cause}")]
    Query { database: String, cause: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A `[team]` value that cannot work, found without connecting. The URL is shown with its
/// password removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamConfigError {
    #[error("[team] postgres_url '{url}' must start with postgres://")]
    Scheme { url: String },
    #[error("[team] postgres_url '{url}' is not a PostgreSQL URL: {cause}")]
    NotUrl { url: String, cause: String },
    #[error("[team] postgres_url '{url}' names no database (postgres://user@host/DB)")]
    NoDatabase { url: String },
    #[error("[team] sslmode '{value}' is not one of disable, prefer, require, verify-full")]
    SslMode { value: String },
}

impl TeamConfigError {
    /// The `[team]` key the error is about (for the `file:line`).
    pub fn key(&self) -> &'static str {
        match self {
            TeamConfigError::SslMode { .. } => "sslmode",
            _ => "postgres_url",
        }
    }
}

/// What the status bar and `status` say about the team store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamStatus {
    pub database: String,
    pub online: bool,
    /// Why it is offline (or what failed), never a password.
    pub error: Option<String>,
    /// Local entries not in the team store yet.
    pub pending: i64,
}

impl TeamStatus {
    /// One line for the status bar / `status`.
    pub fn line(&self) -> String {
        let pending = match self.pending {
            0 => String::new(),
            n => format!(", {n} entr{} to send", if n == 1 { "y" } else { "ies" }),
        };
        match (&self.error, self.online) {
            (None, true) => format!("team store online{pending}"),
            (Some(e), _) => format!("team store offline{pending}: {e}"),
            (None, false) => format!("team store connecting{pending}"),
        }
    }
}

/// Messages of the team tasks to the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamMsg {
    Status(TeamStatus),
    /// Teammates' entries new to this process, in team order.
    Events(Vec<TeamEvent>),
}

/// A teammate simulated in this process (the demo's), whose entries arrive as the team
/// store's do: the loop asks once a second and sends each entry (by `seq`) once.
pub trait SimulatedTeammate: Send + Sync {
    /// Everything the teammate has done by `now`, with the incident open since
    /// `incident_opened` (if one is); the same arguments give the same events.
    fn events(&self, now: crate::model::Timestamp, incident_opened: Option<crate::model::Timestamp>) -> Vec<TeamEvent>;
}

/// This machine's name: `[team] host`, else the kernel's host name.
pub fn host_name(cfg: &TeamConfig) -> String {
    if let Some(h) = cfg.host.as_ref().filter(|h| !h.trim().is_empty()) {
        return h.trim().to_string();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}

const BATCH: usize = 2000;
const READ_BATCH: i64 = 5000;

/// One process's link to the team store.
pub struct Team {
    target: pg::Target,
    store: Arc<Store>,
    origin: String,
    host: String,
    /// The connection that appends (reconnected after an error).
    writer: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    /// Last push result and last listener state: the status is online only when both are.
    health: std::sync::Mutex<Health>,
}

#[derive(Debug, Clone, Default)]
struct Health {
    push_error: Option<String>,
    listen_error: Option<String>,
    pushed_once: bool,
    listening: bool,
}

/// What one push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// Entries sent (a replayed batch counts, though `PostgreSQL` kept none of it twice).
    pub sent: usize,
    /// Rows `PostgreSQL` did not have before.
    pub added: u64,
}

impl Team {
    pub fn new(cfg: &TeamConfig, store: Arc<Store>) -> Result<Team, TeamError> {
        let target = pg::target(cfg)?;
        let host = host_name(cfg);
        let origin = store.team_origin(&host)?;
        Ok(Team { target, store, origin, host, writer: Default::default(), health: Default::default() })
    }

    /// The database, as it may be shown (no password).
    pub fn database(&self) -> &str {
        &self.target.display
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn password_source(&self) -> Option<&str> {
        self.target.password_source.as_deref()
    }

    pub fn status(&self) -> TeamStatus {
        let h = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let error = h.push_error.or(h.listen_error);
        TeamStatus {
            database: self.target.display.clone(),
            online: error.is_none() && (h.pushed_once || h.listening),
            error,
            pending: self.store.team_pending().unwrap_or(0),
        }
    }

    fn note_push(&self, result: &Result<Pushed, TeamError>) {
        let mut h = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(_) => {
                h.push_error = None;
                h.pushed_once = true;
            }
            Err(e) => h.push_error = Some(short(e)),
        }
    }

    /// Sends every journalled entry the team store does not have, batch by batch, moving the
    /// local cursor after each commit. Safe to run in several processes at once.
    pub async fn push(&self) -> Result<Pushed, TeamError> {
        let result = self.push_inner().await;
        self.note_push(&result);
        result
    }

    async fn push_inner(&self) -> Result<Pushed, TeamError> {
        let mut writer = self.writer.lock().await;
        let mut total = Pushed { sent: 0, added: 0 };
        loop {
            let after = self.store.team_replicated_to()?;
            let batch = self.store.team_outbox(after, BATCH)?;
            let Some(last) = batch.last().map(|e| e.seq) else { return Ok(total) };
            if writer.as_ref().is_none_or(tokio_postgres::Client::is_closed) {
                let mut client = pg::connect(&self.target, None).await?;
                pg::migrate(&self.target, &mut client).await?;
                *writer = Some(client);
            }
            let client = writer.as_mut().expect("connected above");
            match pg::append(&self.target, client, &self.origin, &self.host, &batch).await {
                Ok(added) => {
                    total.sent += batch.len();
                    total.added += added;
                }
                Err(e) => {
                    *writer = None;
                    return Err(e);
                }
            }
            self.store.set_team_replicated_to(last)?;
        }
    }

    /// Reads what other origins added since the last pull, keeps it locally, and returns
    /// what was new here.
    pub async fn pull_with(&self, client: &tokio_postgres::Client) -> Result<Vec<TeamEvent>, TeamError> {
        let mut fresh = Vec::new();
        loop {
            let after = self.store.team_pulled_to(&self.target.display)?;
            let events = pg::read_after(&self.target, client, &self.origin, after, READ_BATCH).await?;
            let full = events.len() as i64 == READ_BATCH;
            fresh.extend(self.store.team_receive(&self.target.display, &events)?);
            if !full {
                return Ok(fresh);
            }
        }
    }

    /// Push, then pull, on a connection of its own (the CLI: `audit --team`, `status`).
    pub async fn sync(&self) -> Result<(Pushed, Vec<TeamEvent>), TeamError> {
        let pushed = self.push().await?;
        let mut client = pg::connect(&self.target, None).await?;
        pg::migrate(&self.target, &mut client).await?;
        let events = self.pull_with(&client).await?;
        Ok((pushed, events))
    }

    /// The TUI's two tasks: the replicator (after every local write, and every few seconds
    /// while entries wait) and the listener (LISTEN; on each notification, read and send).
    pub fn spawn<M: From<TeamMsg> + Send + 'static>(self: Arc<Self>, tx: mpsc::Sender<M>) {
        let team = self.clone();
        let txr = tx.clone();
        tokio::spawn(async move {
            let appended = team.store.appended();
            let mut last = None;
            let mut wait = Duration::from_secs(1);
            loop {
                let ok = team.push().await.is_ok();
                if !send_status(&team, &txr, &mut last).await {
                    return;
                }
                wait = if ok { Duration::from_secs(5) } else { (wait * 2).clamp(Duration::from_secs(1), MAX_BACKOFF) };
                // Woken by a local write; otherwise the timer (entries another process wrote
                // to this store, or the server back).
                tokio::select! {
                    () = appended.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        });
        tokio::spawn(async move { self.listen(tx).await });
    }

    async fn listen<M: From<TeamMsg> + Send>(self: Arc<Self>, tx: mpsc::Sender<M>) {
        let mut last = None;
        let mut wait = Duration::from_secs(1);
        loop {
            let (ntx, mut nrx) = mpsc::unbounded_channel();
            let connected = async {
                let mut client = pg::connect(&self.target, Some(ntx)).await?;
                pg::migrate(&self.target, &mut client).await?;
                client.batch_execute(&format!("LISTEN {}", pg::CHANNEL)).await.map_err(|e| TeamError::Offline {
                    database: self.target.display.clone(),
                    cause: pg::error_text(&e),
                })?;
                Ok::<_, TeamError>(client)
            }
            .await;
            let client = match connected {
                Ok(c) => c,
                Err(e) => {
                    self.set_listening(Err(&e));
                    if !send_status(&self, &tx, &mut last).await {
                        return;
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            wait = Duration::from_secs(1);
            loop {
                match self.pull_with(&client).await {
                    Ok(events) => {
                        self.set_listening(Ok(()));
                        if !events.is_empty() && tx.send(TeamMsg::Events(events).into()).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        self.set_listening(Err(&e));
                        let _ = send_status(&self, &tx, &mut last).await;
                        break;
                    }
                }
                if !send_status(&self, &tx, &mut last).await {
                    return;
                }
                // A notification, or every 30 s in case one was missed; a closed connection
                // ends the wait (the sender is dropped) and we reconnect.
                tokio::select! {
                    n = nrx.recv() => {
                        if n.is_none() {
                            self.set_listening(Err(&TeamError::Offline {
                                database: self.target.display.clone(),
                                cause: "connection closed".into(),
                            }));
                            let _ = send_status(&self, &tx, &mut last).await;
                            break;
                        }
                        while nrx.try_recv().is_ok() {}
                    }
                    () = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
            }
        }
    }

    fn set_listening(&self, result: Result<(), &TeamError>) {
        let mut h = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(()) => {
                h.listening = true;
                h.listen_error = None;
            }
            Err(e) => {
                h.listening = false;
                h.listen_error = Some(short(e));
            }
        }
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The cause only: the status line already says "team store … offline".
fn short(e: &TeamError) -> String {
    match e {
        TeamError::Offline { cause, .. } | TeamError::Query { cause, .. } => cause.clone(),
        other => other.to_string(),
    }
}

/// Sends the status when it changed; false once the loop is gone.
async fn send_status<M: From<TeamMsg>>(team: &Team, tx: &mpsc::Sender<M>, last: &mut Option<TeamStatus>) -> bool {
    let now = team.status();
    if last.as_ref() == Some(&now) {
        return !tx.is_closed();
    }
    *last = Some(now.clone());
    tx.send(TeamMsg::Status(now).into()).await.is_ok()
}

/// The merged log of `skydeck audit --team`: local entries and teammates', by time, each once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamAuditEntry {
    /// `user@host` (local entries: this machine's name).
    pub who: String,
    pub origin: String,
    #[serde(flatten)]
    pub entry: crate::store::AuditEntry,
}

/// Local audit entries plus the teammates' kept in the store, ordered by time.
pub fn merged_audit(store: &Store, origin: &str, host: &str) -> Result<Vec<TeamAuditEntry>, StoreError> {
    let mut all: Vec<TeamAuditEntry> = store
        .audit_entries()?
        .into_iter()
        .map(|entry| TeamAuditEntry { who: format!("{}@{host}", entry.user), origin: origin.to_string(), entry })
        .collect();
    for e in store.team_inbox("audit")? {
        if let Ok(entry) = serde_json::from_value::<crate::store::AuditEntry>(e.payload) {
            all.push(TeamAuditEntry { who: e.who, origin: e.origin, entry });
        }
    }
    all.sort_by(|a, b| {
        a.entry.at.cmp(&b.entry.at).then_with(|| a.origin.cmp(&b.origin)).then(a.entry.seq.cmp(&b.entry.seq))
    });
    Ok(all)
}

/// Validation for `config::validate` (no connection).
pub fn validate(cfg: &TeamConfig) -> Result<(), TeamConfigError> {
    pg::check(cfg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn team_section_parses_and_errors_point_at_the_line() {
        let ok = crate::config::parse(
            "[team]\npostgres_url = \"postgres://ana@db/team\"\nsslmode = \"require\"\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(ok.config.team.unwrap().sslmode.as_deref(), Some("require"));
        let e = crate::config::parse("theme = \"dark\"\n[team]\npostgres_url = \"mysql://ana:pw@db/team\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:3: [team] postgres_url") && !e.contains(":pw@"), "{e}");
        let e = crate::config::parse("[team]\npostgres_url = \"postgres://db/t\"\nsslmode = \"allow\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:3:"), "{e}");
        let w =
            crate::config::parse("[team]\npostgres_url = \"postgres://db/t\"\npasword = \"x\"\n", "c.toml").unwrap();
        assert_eq!(w.warnings, ["c.toml:3: unknown key 'team.pasword' ignored"]);
    }
}
