//! `PostgreSQL`: connecting (rustls, password lookup, URLs redacted in every message), the
//! versioned migrations, and the two statements the team store runs (append, read after).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{AsyncMessage, Client, Config};

use super::{TeamConfig, TeamConfigError, TeamError};
use crate::store::{OutboxEntry, TeamEvent};

/// The channel every append notifies (payload: the origin that wrote).
pub const CHANNEL: &str = "skydeck_events";
/// Advisory locks: one serialises appends so ids become visible in commit order (a reader
/// that has seen id N will never later find a smaller one), one serialises migrations.
const APPEND_LOCK: i64 = 0x736b_7964_6563_6b01;
const MIGRATE_LOCK: i64 = 0x736b_7964_6563_6b02;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The keyring service holding team store passwords (account: `user@host:port/db`).
pub const KEYRING_SERVICE: &str = "skydeck-postgres";

/// The schema, in order; each is applied once and recorded in `schema_version`.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(1, "0001_events", include_str!("migrations/0001_events.sql"))];

/// Where to connect, with the password resolved (never shown: see [`Target::display`]).
#[derive(Clone)]
pub struct Target {
    pub config: Config,
    /// `postgres://user@host:port/db`, without any password: the only form ever printed.
    pub display: String,
    /// Where the password came from (for `status`), never the value.
    pub password_source: Option<String>,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.display)
    }
}

/// `postgres://user:secret@host/db?password=x` with the secrets replaced by `***`, for
/// messages about a URL that did not even parse.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..].find(['/', '?']).map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    let re = regex::Regex::new(r"(?i)(password=)[^&\s]*").expect("static regex");
    re.replace_all(&out, "${1}***").into_owned()
}

fn describe(config: &Config) -> String {
    let user = config.get_user().unwrap_or("");
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).map(|p| format!(":{p}")).unwrap_or_default();
            match h {
                Host::Tcp(name) => format!("{name}{port}"),
                Host::Unix(path) => format!("{}{port}", path.display()),
            }
        })
        .collect();
    let user = if user.is_empty() { String::new() } else { format!("{user}@") };
    format!("postgres://{user}{}/{}", hosts.join(","), config.get_dbname().unwrap_or(""))
}

/// Checks the config without connecting (for `config::validate`).
pub fn check(cfg: &TeamConfig) -> Result<(), TeamConfigError> {
    parse(cfg).map(|_| ())
}

fn parse(cfg: &TeamConfig) -> Result<Config, TeamConfigError> {
    let url = cfg.postgres_url.trim();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(TeamConfigError::Scheme { url: redact_url(url) });
    }
    let mut config: Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| TeamConfigError::NotUrl { url: redact_url(url), cause: e.to_string() })?;
    if config.get_dbname().is_none_or(str::is_empty) {
        return Err(TeamConfigError::NoDatabase { url: redact_url(url) });
    }
    match cfg.sslmode.as_deref() {
        None => {}
        Some("disable") => {
            config.ssl_mode(SslMode::Disable);
        }
        Some("prefer") => {
            config.ssl_mode(SslMode::Prefer);
        }
        Some("require" | "verify-full") => {
            config.ssl_mode(SslMode::Require);
        }
        Some(other) => {
            return Err(TeamConfigError::SslMode { value: other.to_string() });
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_user().is_none() {
        config.user(crate::actions::current_user());
    }
    config.application_name("skydeck");
    Ok(config)
}

fn tls(cfg: &TeamConfig) -> Result<tokio_postgres_rustls::MakeRustlsConnect, TeamError> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(file) = &cfg.ca_file {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(file)
            .map_err(|e| TeamError::Config(format!("[team] ca_file {file}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| TeamError::Config(format!("[team] ca_file {file}: {e}")))?;
            roots.add(cert).map_err(|e| TeamError::Config(format!("[team] ca_file {file}: {e}")))?;
        }
    } else {
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TeamError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The target of `[team]`, with the password from the URL, `$PGPASSWORD`, the OS keyring
/// (service `skydeck-postgres`, account `user@host:port/db`) or `~/.pgpass`, in that order.
pub fn target(cfg: &TeamConfig) -> Result<Target, TeamError> {
    let mut config = parse(cfg)?;
    let display = describe(&config);
    let mut password_source = config.get_password().map(|_| "the URL".to_string());
    if password_source.is_none() {
        if let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
            config.password(p);
            password_source = Some("$PGPASSWORD".into());
        } else if let Some(p) = keyring_password(&display) {
            config.password(p);
            password_source = Some(format!("the OS keyring ({KEYRING_SERVICE})"));
        } else if let Some((p, file)) = pgpass_password(&config) {
            config.password(p);
            password_source = Some(file.display().to_string());
        }
    }
    Ok(Target { config, display, password_source, tls: tls(cfg)? })
}

/// The keyring account of a target: its redacted URL without the scheme.
pub fn keyring_account(display: &str) -> String {
    display.trim_start_matches("postgres://").to_string()
}

fn keyring_password(display: &str) -> Option<String> {
    if keyring_core::get_default_store().is_none() && keyring::Entry::store_status().is_err() {
        return None;
    }
    let entry = keyring_core::Entry::new(KEYRING_SERVICE, &keyring_account(display)).ok()?;
    entry.get_password().ok().filter(|p| !p.is_empty())
}

fn pgpass_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass"))
}

/// One `~/.pgpass` line's fields (`\:` and `\\` unescaped).
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("one field").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// The password `~/.pgpass` (or `$PGPASSFILE`) gives the first host of `config`, as libpq
/// reads it: `host:port:db:user:password`, `*` matches anything, a Unix socket matches
/// `localhost`; a file others may read is ignored.
fn pgpass_password(config: &Config) -> Option<(String, PathBuf)> {
    let file = pgpass_file()?;
    pgpass_lookup(&file, config).map(|p| (p, file))
}

fn pgpass_lookup(file: &Path, config: &Config) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!("{} is readable by others (chmod 0600 it): not used", file.display());
            return None;
        }
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(_)) | None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let db = config.get_dbname().unwrap_or("");
    let user = config.get_user().unwrap_or("");
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f = pgpass_fields(line);
        if f.len() != 5 {
            continue;
        }
        let fits = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if fits(&f[0], &host) && fits(&f[1], &port) && fits(&f[2], db) && fits(&f[3], user) {
            return Some(f[4].clone());
        }
    }
    None
}

/// A connection error with the server named by its redacted URL (tokio-postgres's messages
/// carry no password; the URL we print has none either).
fn connect_error(target: &Target, e: &tokio_postgres::Error) -> TeamError {
    TeamError::Offline { database: target.display.clone(), cause: error_text(e) }
}

/// The server's own message when there is one (permission denied, ...), else the client's.
pub fn error_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        format!("{}: {}", db.severity(), db.message())
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    }
}

/// Connects; the connection is driven by a task of its own. Notifications, if `notify` is
/// given, are sent to it; the sender is dropped when the connection ends.
pub async fn connect(
    target: &Target,
    notify: Option<tokio::sync::mpsc::UnboundedSender<tokio_postgres::Notification>>,
) -> Result<Client, TeamError> {
    let attempt = target.config.connect(target.tls.clone());
    let (client, mut connection) = match tokio::time::timeout(CONNECT_TIMEOUT * 2, attempt).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(connect_error(target, &e)),
        Err(_) => {
            return Err(TeamError::Offline {
                database: target.display.clone(),
                cause: format!("no answer in {}s", (CONNECT_TIMEOUT * 2).as_secs()),
            });
        }
    };
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        use futures::StreamExt;
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if let Some(tx) = &notify {
                        let _ = tx.send(n);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("team store connection ended: {}", error_text(&e));
                    break;
                }
            }
        }
    });
    Ok(client)
}

fn query_error(target: &Target, e: tokio_postgres::Error) -> TeamError {
    if e.as_db_error().is_some() {
        TeamError::Query { database: target.display.clone(), cause: error_text(&e) }
    } else {
        connect_error(target, &e)
    }
}

async fn schema_version(client: &Client) -> Result<i32, tokio_postgres::Error> {
    let row = client.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await?;
    Ok(row.get(0))
}

/// Applies the migrations not yet recorded. A role without CREATE works against a schema an
/// administrator created: nothing is created when `schema_version` is already current.
pub async fn migrate(target: &Target, client: &mut Client) -> Result<i32, TeamError> {
    let q = |e| query_error(target, e);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    let now = schema_version(client).await.map_err(q)?;
    if now >= latest {
        return Ok(now);
    }
    let tx = client.transaction().await.map_err(q)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK]).await.map_err(q)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(q)?;
    // Another skydeck may have migrated while we waited for the lock.
    let now: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await.map_err(q)?.get(0);
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > now) {
        tx.batch_execute(sql).await.map_err(|e| TeamError::Query {
            database: target.display.clone(),
            cause: format!("migration {name}: {}", error_text(&e)),
        })?;
        tx.execute("INSERT INTO schema_version (version, name) VALUES ($1, $2)", &[version, name]).await.map_err(q)?;
    }
    tx.commit().await.map_err(q)?;
    Ok(latest)
}

/// Test hook (`SKYDECK_TEAM_TEST_PAUSE=before-commit|after-commit`): stop in the middle of an
/// append so a test can kill the process there.
async fn test_pause(at: &str) {
    if std::env::var("SKYDECK_TEAM_TEST_PAUSE").as_deref() == Ok(at) {
        eprintln!("skydeck-test: paused {at}");
        tokio::time::sleep(Duration::from_hours(1)).await;
    }
}

/// Appends a batch in one transaction; rows already there (a replay) are skipped. Returns
/// how many were new.
pub async fn append(
    target: &Target,
    client: &mut Client,
    origin: &str,
    host: &str,
    batch: &[OutboxEntry],
) -> Result<u64, TeamError> {
    let q = |e| query_error(target, e);
    let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
    let kinds: Vec<&str> = batch.iter().map(|e| e.kind.as_str()).collect();
    let ats: Vec<chrono::DateTime<chrono::Utc>> = batch.iter().map(|e| e.at).collect();
    let whos: Vec<String> = batch.iter().map(|e| format!("{}@{host}", e.who)).collect();
    let payloads: Vec<&str> = batch.iter().map(|e| e.payload.as_str()).collect();
    let tx = client.transaction().await.map_err(q)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK]).await.map_err(q)?;
    let added = tx
        .execute(
            "INSERT INTO events (origin, seq, host, kind, at, who, payload)
             SELECT $1, s, $2, k, a, w, p::jsonb
             FROM unnest($3::int8[], $4::text[], $5::timestamptz[], $6::text[], $7::text[]) AS t(s, k, a, w, p)
             ORDER BY s
             ON CONFLICT (origin, seq) DO NOTHING",
            &[&origin, &host, &seqs, &kinds, &ats, &whos, &payloads],
        )
        .await
        .map_err(q)?;
    if added > 0 {
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &origin]).await.map_err(q)?;
    }
    test_pause("before-commit").await;
    tx.commit().await.map_err(q)?;
    test_pause("after-commit").await;
    Ok(added)
}

/// Events of other origins after `after` (team order), at most `limit`.
pub async fn read_after(
    target: &Target,
    client: &Client,
    origin: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<TeamEvent>, TeamError> {
    let rows = client
        .query(
            "SELECT id, origin, seq, host, kind, at, who, payload FROM events
             WHERE id > $1 AND origin <> $2 ORDER BY id LIMIT $3",
            &[&after, &origin, &limit],
        )
        .await
        .map_err(|e| query_error(target, e))?;
    Ok(rows
        .iter()
        .map(|r| TeamEvent {
            id: r.get(0),
            origin: r.get(1),
            seq: r.get(2),
            host: r.get(3),
            kind: r.get(4),
            at: r.get(5),
            who: r.get(6),
            payload: r.get(7),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(redact_url("postgres://ana:s3cret@db:5432/x"), "postgres://ana:***@db:5432/x");
        assert_eq!(redact_url("postgres://db/x?user=a&password=s3cret"), "postgres://db/x?user=a&password=***");
        let cfg =
            TeamConfig { postgres_url: "postgres://ana:s3cret@db.internal:6432/team".into(), ..Default::default() };
        let t = target(&cfg).unwrap();
        assert_eq!(t.display, "postgres://ana@db.internal:6432/team");
        assert_eq!(t.password_source.as_deref(), Some("the URL"));
        assert!(!format!("{t:?}").contains("s3cret"));
        let bad = TeamConfig { postgres_url: "postgres://ana:s3cret@db:notaport/x".into(), ..Default::default() };
        let e = check(&bad).unwrap_err();
        assert!(matches!(e, TeamConfigError::NotUrl { .. }), "{e:?}");
        let e = e.to_string();
        assert!(!e.contains("s3cret") && e.contains("[team] postgres_url"), "{e}");
        let no_db = TeamConfig { postgres_url: "postgres://ana@db".into(), ..Default::default() };
        assert_eq!(check(&no_db).unwrap_err(), TeamConfigError::NoDatabase { url: "postgres://ana@db".into() });
        let mode = TeamConfig {
            postgres_url: "postgres://ana@db/x".into(),
            sslmode: Some("allow".into()),
            ..Default::default()
        };
        let e = check(&mode).unwrap_err();
        assert_eq!(e.key(), "sslmode");
        assert!(e.to_string().contains("sslmode 'allow'"));
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        assert_eq!(pgpass_fields(r"db:5432:*:ana:pa\:ss\\w"), ["db", "5432", "*", "ana", r"pa:ss\w"]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:no\ndb.internal:6432:team:ana:right\n*:*:*:*:fallback\n")
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config: Config = "postgres://ana@db.internal:6432/team".parse().unwrap();
        assert_eq!(pgpass_lookup(&file, &config).as_deref(), Some("right"));
        let config: Config = "postgres://bob@elsewhere/x".parse().unwrap();
        assert_eq!(pgpass_lookup(&file, &config).as_deref(), Some("fallback"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(pgpass_lookup(&file, &config), None, "a file others can read is ignored");
    }
}
