//! The audit store under faults and concurrency (issue 17, point 2): several real skydeck
//! processes and in-process writers share one store and lose nothing; a store that is
//! corrupted, cannot be written or is full makes actions refuse to start, with the file and
//! what to do. Each test runs the real binary with its own XDG dirs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Barrier};

use serde_json::Value;
use skydeck::store::{AuditEntry, AuditPhase, Store};

/// A non-production demo resource that takes `scale` (low risk: `--yes` is enough).
const ECS_DEV: &str = "arn:aws:ecs:us-east-1:123456789012:service/inference-dev/inference-api-dev";

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap() }
    }
    fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
        cmd.args(args)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env_remove("SKYDECK_CONFIG")
            .env_remove("SKYDECK_STORE_FAULT")
            .env("USER", "tester")
            .env("SKYDECK_DEMO_SEED", "7");
        cmd
    }
    fn cmd(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
    /// The directory skydeck keeps `skydeck.db` in.
    fn store_dir(&self) -> PathBuf {
        self.dir.path().join("data").join("skydeck")
    }
    fn db(&self) -> PathBuf {
        self.store_dir().join("skydeck.db")
    }
    fn audit(&self) -> Vec<Value> {
        let out = self.cmd(&["audit", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scale(env: &Env, count: usize) -> Output {
    env.cmd(&["--demo", "act", "scale", ECS_DEV, "--count", &count.to_string(), "--yes"])
}

/// An action refused because of the store: not 0, says the file, and no result was printed.
fn assert_refused(out: &Output, file: &Path, what: &[&str]) {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(0), "the action must not run: {err}");
    assert!(err.contains(&file.display().to_string()), "names {}: {err}", file.display());
    for w in what {
        assert!(err.contains(w), "says {w:?}: {err}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"ok\":true"), "no success was reported");
    assert!(!err.contains("panicked"), "{err}");
}

fn entry(phase: AuditPhase, action_id: Option<i64>, detail: String) -> AuditEntry {
    AuditEntry {
        seq: 0,
        action_id,
        at: chrono::Utc::now(),
        user: "writer".into(),
        verb: "note".into(),
        target: "t".into(),
        target_name: "t".into(),
        environment: "dev".into(),
        source: "in-process".into(),
        phase,
        reason: None,
        detail,
    }
}

/// Three CLI processes acting at once (each several times, all starting together on a store
/// that does not exist yet, so they also race to create it) plus two threads of this process
/// hammering the same store: every process succeeds, no "database is locked", and the log
/// holds exactly every started/finished pair, each finished linked to its own started.
#[test]
fn parallel_processes_and_writers_lose_no_audit_entry() {
    const PROCESSES: usize = 3;
    const ACTIONS: usize = 5;
    const WRITERS: usize = 2;
    const PAIRS: usize = 60;
    let env = Arc::new(Env::new());
    let barrier = Arc::new(Barrier::new(PROCESSES + WRITERS));
    let mut handles = Vec::new();
    for p in 0..PROCESSES {
        let (env, barrier) = (env.clone(), barrier.clone());
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            (0..ACTIONS)
                .map(|a| {
                    let out = scale(&env, 1 + p * ACTIONS + a);
                    (out.status.code(), stderr(&out))
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (env, barrier) = (env.clone(), barrier.clone());
        writers.push(std::thread::spawn(move || {
            barrier.wait();
            // Opened while the processes create the same store.
            let store = Store::open_in(&env.store_dir()).expect("open the shared store");
            for i in 0..PAIRS {
                let started = store.append_audit(&entry(AuditPhase::Started, None, format!("w{w} #{i}"))).unwrap();
                store.append_audit(&entry(AuditPhase::Finished, Some(started), format!("w{w} #{i}"))).unwrap();
            }
        }));
    }
    for h in handles {
        for (code, err) in h.join().unwrap() {
            assert_eq!(code, Some(0), "a process failed: {err}");
            assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
        }
    }
    for w in writers {
        w.join().unwrap();
    }

    let entries = env.audit();
    assert_eq!(entries.len(), 2 * (PROCESSES * ACTIONS + WRITERS * PAIRS), "{entries:#?}");
    let mut seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), entries.len(), "no duplicated entry");
    let by_seq = |seq: &Value| entries.iter().find(|e| &e["seq"] == seq).unwrap();
    for (source, n) in [("demo", PROCESSES * ACTIONS), ("in-process", WRITERS * PAIRS)] {
        let started: Vec<&Value> =
            entries.iter().filter(|e| e["source"] == source && e["phase"] == "started").collect();
        let finished: Vec<&Value> =
            entries.iter().filter(|e| e["source"] == source && e["phase"] == "finished").collect();
        assert_eq!((started.len(), finished.len()), (n, n), "{source}");
        let mut linked: Vec<i64> = finished.iter().map(|f| f["action_id"].as_i64().unwrap()).collect();
        linked.sort_unstable();
        linked.dedup();
        assert_eq!(linked.len(), n, "each started entry is closed exactly once ({source})");
        for f in &finished {
            let s = by_seq(&f["action_id"]);
            assert_eq!(s["phase"], "started");
            assert_eq!(s["source"], source);
        }
    }
    // Every count the processes set was recorded: none was lost.
    let mut counts: Vec<String> = entries
        .iter()
        .filter(|e| e["source"] == "demo" && e["phase"] == "finished")
        .map(|e| e["detail"].as_str().unwrap().split("set to ").nth(1).unwrap().split(';').next().unwrap().to_string())
        .collect();
    counts.sort_by_key(|c| c.parse::<usize>().unwrap());
    let expected: Vec<String> = (1..=PROCESSES * ACTIONS).map(|c| c.to_string()).collect();
    assert_eq!(counts, expected);
}

/// Garbage bytes where the database should be: refused before anything is sent, with the
/// file and how to recover; the broken file is left as it was.
#[test]
fn a_corrupted_store_refuses_actions_and_says_how_to_recover() {
    let env = Env::new();
    std::fs::create_dir_all(env.store_dir()).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(env.db(), &garbage).unwrap();
    let out = scale(&env, 4);
    assert_refused(&out, &env.db(), &["not a readable SQLite database", "actions are refused", "mv "]);
    assert_eq!(std::fs::read(env.db()).unwrap(), garbage, "the broken file is kept for inspection");
}

/// The data dir cannot be created (its path runs through a regular file), or the database
/// path is not a file: refused, naming the path. This works as root too, where chmod 0555
/// would not stop anything.
#[test]
fn a_data_dir_that_cannot_be_written_refuses_actions() {
    let env = Env::new();
    std::fs::create_dir_all(env.dir.path().join("data")).unwrap();
    std::fs::write(env.store_dir(), "not a directory").unwrap();
    let out = scale(&env, 4);
    assert_refused(&out, &env.store_dir(), &["cannot create the data dir", "writable directory"]);

    let env = Env::new();
    std::fs::create_dir_all(env.db()).unwrap();
    let out = scale(&env, 4);
    assert_refused(&out, &env.db(), &["cannot open the store", "Actions are refused"]);
}

/// A store that opens but cannot be written (`SQLite`'s real `SQLITE_READONLY`, forced with
/// `query_only` because chmod does not stop root) or whose disk is full (injected `SQLITE_FULL`
/// at the store's write path): the "started" entry cannot be written, so the action is not
/// sent and nothing is in the log.
#[test]
fn a_read_only_or_full_store_refuses_actions_before_anything_is_sent() {
    for (fault, says) in [("read-only", "is read-only"), ("full", "the disk is full")] {
        let env = Env::new();
        let out = env
            .command(&["--demo", "act", "scale", ECS_DEV, "--count", "4", "--yes"])
            .env("SKYDECK_STORE_FAULT", fault)
            .output()
            .unwrap();
        assert_refused(&out, &env.db(), &["action not started", says, "actions are refused"]);
        assert!(env.audit().is_empty(), "{fault}: nothing was audited");
    }
}
