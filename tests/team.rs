//! The team store against a real `PostgreSQL` server (tests/support/pg.rs starts one per test;
//! never a mock): two skydeck processes on one database, one offline and then back, a kill -9
//! in the middle of replication, LISTEN delivering a teammate's tick, and catch-up of 10^4
//! entries (measured).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use skydeck::app::Msg;
use skydeck::store::Store;
use skydeck::team::{Team, TeamConfig, TeamMsg};
use support::pg::Pg;

/// One teammate's machine: its own data dir and config, the real binary.
struct Laptop {
    dir: tempfile::TempDir,
    user: &'static str,
}

impl Laptop {
    fn new(user: &'static str, url: &str) -> Laptop {
        let dir = tempfile::tempdir().unwrap();
        let l = Laptop { dir, user };
        l.set_url(url);
        l
    }

    fn set_url(&self, url: &str) {
        let config = format!("[team]\npostgres_url = \"{url}\"\nhost = \"{}-laptop\"\n", self.user);
        std::fs::write(self.dir.path().join("config.toml"), config).unwrap();
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = Command::new(env!("CARGO_BIN_EXE_skydeck"));
        c.args(args)
            .env("XDG_DATA_HOME", self.data())
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("xdg-config"))
            .env("SKYDECK_CONFIG", d.join("config.toml"))
            .env("USER", self.user)
            .env("SKYDECK_DEMO_SEED", "7")
            .env_remove("PGPASSWORD")
            .env_remove("SKYDECK_TEAM_TEST_PAUSE");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Approves the demo's production deployment: "started" and "finished" in the audit.
    fn approve(&self) -> Output {
        let out = self.run(&["--demo", "act", "approve", &approval_id(), "--yes", "--confirm", "production"]);
        assert!(out.status.success(), "act failed: {}", text(&out.stderr));
        out
    }

    fn team_audit(&self) -> Vec<Value> {
        let out = self.run(&["audit", "--team", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }

    fn store(&self) -> Store {
        Store::open_in(&self.data().join("skydeck")).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The demo's waiting production approval (the same in every process with one seed).
fn approval_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_skydeck"))
            .args(["--demo", "status", "--json"])
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env_remove("SKYDECK_CONFIG")
            .env("SKYDECK_DEMO_SEED", "7")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let approvals = doc["approvals"].as_array().unwrap();
        approvals.iter().find(|a| a["environment"] == "production").unwrap_or(&approvals[0])["id"]
            .as_str()
            .unwrap()
            .to_string()
    })
    .clone()
}

/// (rows, distinct keys) in `events`.
fn counts(pg: &Pg) -> (i64, i64) {
    let out = pg.sql("skydeck", "SELECT count(*), count(DISTINCT (origin, seq)) FROM events");
    let (a, b) = out.split_once('|').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

fn whos(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["who"].as_str().unwrap().to_string()).collect()
}

fn keys(entries: &[Value]) -> Vec<(String, i64)> {
    entries.iter().map(|e| (e["origin"].as_str().unwrap().to_string(), e["seq"].as_i64().unwrap())).collect()
}

fn assert_ordered_and_unique(entries: &[Value]) {
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let parsed: Vec<chrono::DateTime<chrono::Utc>> = times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "ordered by time: {times:?}");
    let mut k = keys(entries);
    let n = k.len();
    k.sort();
    k.dedup();
    assert_eq!(k.len(), n, "no entry twice");
}

#[test]
fn two_processes_on_one_database_both_see_the_merged_audit() {
    let pg = Pg::start();
    let ana = Laptop::new("ana", &pg.url("skydeck"));
    let bob = Laptop::new("bob", &pg.url("skydeck"));
    ana.approve();
    bob.approve();
    ana.approve();
    assert_eq!(counts(&pg), (6, 6), "every entry replicated once");
    let version = pg.sql("skydeck", "SELECT max(version) FROM schema_version");
    assert_eq!(version, "1", "migrations recorded");

    for laptop in [&ana, &bob] {
        let merged = laptop.team_audit();
        assert_eq!(merged.len(), 6, "{merged:#?}");
        assert_ordered_and_unique(&merged);
        let who = whos(&merged);
        assert_eq!(who.iter().filter(|w| *w == "ana@ana-laptop").count(), 4, "{who:?}");
        assert_eq!(who.iter().filter(|w| *w == "bob@bob-laptop").count(), 2, "{who:?}");
        assert!(merged.iter().all(|e| e["verb"] == "approve"));
    }
    // Reading again pulls nothing twice.
    assert_eq!(bob.team_audit().len(), 6);
    // The table only grows.
    let refused = Command::new(support::pg::bin_dir().join("psql"))
        .arg("-h")
        .arg(pg.socket_dir())
        .args(["-p", "5432", "-U", "skydeck", "-d", "skydeck", "-v", "ON_ERROR_STOP=1", "-c", "DELETE FROM events"])
        .output()
        .unwrap();
    assert!(!refused.status.success() && text(&refused.stderr).contains("append-only"), "{}", text(&refused.stderr));
}

#[test]
fn a_laptop_offline_works_locally_and_catches_up_when_the_server_is_back() {
    let mut pg = Pg::start();
    let ana = Laptop::new("ana", &pg.url("skydeck"));
    let bob = Laptop::new("bob", &pg.url("skydeck"));
    ana.approve();
    pg.stop();

    // Offline: the action works, says the team store is offline, keeps the entries.
    let out = ana.approve();
    let err = text(&out.stderr);
    assert!(err.contains("offline") && err.contains("2 entries kept locally"), "{err}");
    assert!(!err.contains("password"), "{err}");
    let status = ana.run(&["--demo", "status"]);
    assert!(status.status.success());
    let status = text(&status.stdout);
    assert!(status.contains("team store offline, 2 entries to send"), "{status}");
    let local = ana.run(&["audit", "--json"]);
    assert_eq!(serde_json::from_slice::<Value>(&local.stdout).unwrap().as_array().unwrap().len(), 4);

    // A wrong port is offline too, and no less local.
    ana.set_url(&pg.url("skydeck").replace("port=5432", "port=5999"));
    pg.run();
    ana.approve();
    assert_eq!(counts(&pg), (2, 2), "nothing reached the server yet");

    // Back: the next command sends the 4 waiting entries, once.
    ana.set_url(&pg.url("skydeck"));
    let status = ana.run(&["--demo", "status", "--json"]);
    let doc: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(doc["team"]["online"], true, "{}", doc["team"]);
    assert_eq!(doc["team"]["pending"], 0);
    assert_eq!(counts(&pg), (6, 6));
    let merged = bob.team_audit();
    assert_eq!(merged.len(), 6);
    assert_ordered_and_unique(&merged);
}

/// Runs `act` with the test hook that stops in the middle of an append, kills it there
/// (SIGKILL), and returns once it is dead.
fn kill_while_replicating(laptop: &Laptop, at: &str) {
    let mut child = laptop
        .command(&["--demo", "act", "approve", &approval_id(), "--yes", "--confirm", "production"])
        .env("SKYDECK_TEAM_TEST_PAUSE", at)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let marker = format!("skydeck-test: paused {at}");
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let line = lines.next().expect("the process paused").unwrap();
        if line.contains(&marker) {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn kill_9_mid_replication_loses_nothing_and_duplicates_nothing() {
    let pg = Pg::start();
    let ana = Laptop::new("ana", &pg.url("skydeck"));
    let bob = Laptop::new("bob", &pg.url("skydeck"));

    // Killed after PostgreSQL committed, before the local cursor moved: replayed later.
    kill_while_replicating(&ana, "after-commit");
    assert_eq!(counts(&pg), (2, 2));
    assert_eq!(ana.store().team_replicated_to().unwrap(), 0, "the cursor did not move");
    // Killed inside the transaction: PostgreSQL rolled it back.
    kill_while_replicating(&ana, "before-commit");
    assert_eq!(counts(&pg), (2, 2));

    // Restarted: everything is sent, nothing twice.
    ana.approve();
    assert_eq!(counts(&pg), (6, 6));
    assert_eq!(ana.store().team_pending().unwrap(), 0);
    let dupes =
        pg.sql("skydeck", "SELECT count(*) FROM (SELECT origin, seq FROM events GROUP BY 1, 2 HAVING count(*) > 1) d");
    assert_eq!(dupes, "0");
    let local = ana.store().audit_entries().unwrap();
    assert_eq!(local.len(), 6);
    let merged = bob.team_audit();
    assert_eq!(merged.len(), 6);
    assert_ordered_and_unique(&merged);
    let seqs: Vec<i64> = merged.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, local.iter().map(|e| e.seq).collect::<Vec<_>>(), "every local entry, in order");
}

fn team(pg: &Pg, dir: &Path, host: &str) -> (Arc<Store>, Arc<Team>) {
    let store = Arc::new(Store::open_in(dir).unwrap());
    let cfg = TeamConfig { postgres_url: pg.url("skydeck"), host: Some(host.into()), ..TeamConfig::default() };
    let team = Arc::new(Team::new(&cfg, store.clone()).unwrap());
    (store, team)
}

fn tick(item: &str, who: &str) -> skydeck::runbook::Progress {
    skydeck::runbook::Progress { item: item.into(), done: true, note: None, who: who.into(), at: chrono::Utc::now() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_delivers_a_teammates_tick_to_a_running_process_within_a_second() {
    let pg = Pg::start();
    let dir = tempfile::tempdir().unwrap();
    let (_ana_store, ana) = team(&pg, &dir.path().join("ana"), "ana-laptop");
    let (bob_store, bob) = team(&pg, &dir.path().join("bob"), "bob-laptop");
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    ana.clone().spawn(tx);
    // Online first.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.unwrap().unwrap();
        if let Msg::Team(TeamMsg::Status(s)) = msg
            && s.online
        {
            break;
        }
        assert!(Instant::now() < deadline, "never online");
    }
    let mut latencies = Vec::new();
    for i in 0..20 {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        bob_store.set_runbook_item("daily", &day, &tick(&format!("item-{i}"), "bob")).unwrap();
        let sent = Instant::now();
        bob.push().await.unwrap();
        let committed = Instant::now();
        let got = loop {
            let msg = tokio::time::timeout(Duration::from_secs(1), rx.recv())
                .await
                .expect("a teammate's tick within a second")
                .unwrap();
            if let Msg::Team(TeamMsg::Events(events)) = msg {
                break events;
            }
        };
        let latency = committed.elapsed();
        assert!(sent.elapsed() < Duration::from_secs(1));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, "runbook");
        assert_eq!(got[0].who, "bob@bob-laptop");
        assert_eq!(got[0].payload["item"], format!("item-{i}"));
        latencies.push(latency);
    }
    latencies.sort();
    eprintln!(
        "LISTEN -> Msg latency over 20 ticks: median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    // The tick is kept, so the runbook read shows it with who ticked it.
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let progress = _ana_store.runbook_progress("daily", &day).unwrap();
    assert_eq!(progress.len(), 20);
    assert!(progress.iter().all(|p| p.who == "bob@bob-laptop" && p.done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_of_ten_thousand_entries() {
    let pg = Pg::start();
    // /dev/shm: the measure is of replication, not of 10^4 fsyncs of the local journal.
    let dir = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let (ana_store, ana) = team(&pg, &dir.path().join("ana"), "ana-laptop");
    let (bob_store, bob) = team(&pg, &dir.path().join("bob"), "bob-laptop");
    const N: usize = 10_000;
    for i in 0..N {
        let e = skydeck::store::AuditEntry {
            seq: 0,
            action_id: None,
            at: chrono::Utc::now(),
            user: "ana".into(),
            verb: "scale".into(),
            target: format!("svc-{i}"),
            target_name: format!("svc-{i}"),
            environment: "staging".into(),
            source: "demo".into(),
            phase: skydeck::store::AuditPhase::Finished,
            reason: None,
            detail: "scaled".into(),
        };
        ana_store.append_audit(&e).unwrap();
    }
    let started = Instant::now();
    let pushed = ana.push().await.unwrap();
    let push_time = started.elapsed();
    assert_eq!(pushed.sent, N);
    assert_eq!(pushed.added, N as u64);
    assert_eq!(counts(&pg), (N as i64, N as i64));

    let started = Instant::now();
    let (_, pulled) = bob.sync().await.unwrap();
    let pull_time = started.elapsed();
    assert_eq!(pulled.len(), N);
    assert_eq!(bob_store.team_inbox("audit").unwrap().len(), N);
    eprintln!(
        "catch-up of {N} entries: push {push_time:?} ({:.0}/s), pull {pull_time:?} ({:.0}/s)",
        N as f64 / push_time.as_secs_f64(),
        N as f64 / pull_time.as_secs_f64()
    );
    // A replay of everything (the cursor lost) adds nothing.
    let db = rusqlite::Connection::open(dir.path().join("ana").join("skydeck.db")).unwrap();
    db.execute("UPDATE team_meta SET value = '0' WHERE key = 'replicated_to'", []).unwrap();
    let again = ana.push().await.unwrap();
    assert_eq!((again.sent, again.added), (N, 0));
    assert_eq!(counts(&pg), (N as i64, N as i64));
}

/// What the loop does with the listener's messages: the status bar, teammates' ticks on the
/// runbook shown (latest wins, `user@host`), their entries on the open incident's timeline.
#[test]
fn team_messages_update_the_runbook_the_incident_and_the_status_bar() {
    use skydeck::app::{AppState, update};
    let now = chrono::Utc::now();
    let mut state =
        AppState::new(&[], now, skydeck::keymap::Keymap::default()).with_catalog(skydeck::providers::CATALOG);
    state.runbooks = skydeck::runbook::load_all().0;
    let book = state.runbooks[0].name.clone();
    let item = state.runbooks[0].items[0].key.clone();
    state.incident = Some(skydeck::incident::Incident {
        id: 1,
        title: "db down".into(),
        severity: "sev2".into(),
        environment: None,
        opened_at: now - chrono::Duration::minutes(10),
        opened_by: "ana".into(),
        closed_at: None,
        resolution: None,
        timeline: Vec::new(),
    });
    let status = skydeck::team::TeamStatus {
        database: "postgres://ana@db/team".into(),
        online: false,
        error: Some("connection refused".into()),
        pending: 3,
    };
    update(&mut state, Msg::Team(TeamMsg::Status(status.clone())));
    assert_eq!(state.team.as_ref(), Some(&status));
    let event = |id: i64, kind: &str, payload: Value| skydeck::store::TeamEvent {
        id,
        origin: "bob-laptop/1".into(),
        seq: id,
        host: "bob-laptop".into(),
        kind: kind.into(),
        at: now,
        who: "bob@bob-laptop".into(),
        payload,
    };
    let day = now.format("%Y-%m-%d").to_string();
    let tick = serde_json::json!({"runbook": book, "day": day, "item": item, "done": true, "note": null, "who": "bob", "at": now});
    let note = serde_json::json!({"incident": 7, "title": "db", "severity": "sev2", "kind": "note", "who": "bob", "text": "failover started", "at": now});
    update(&mut state, Msg::Team(TeamMsg::Events(vec![event(1, "runbook", tick), event(2, "timeline", note)])));
    let p = state.runbook_progress.iter().find(|p| p.item == item).expect("the teammate's tick");
    assert!(p.done && p.who == "bob@bob-laptop");
    let timeline = &state.incident.as_ref().unwrap().timeline;
    assert_eq!(timeline.len(), 1);
    assert_eq!((timeline[0].who.as_str(), timeline[0].text.as_str()), ("bob@bob-laptop", "failover started"));
}
