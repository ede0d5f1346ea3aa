//! A plugin still running when skydeck quits gets its closing audit entry (issue 17, point 4):
//! "finished" if it ends within the grace period, else it is stopped and "interrupted",
//! linked to its "started" entry, exactly once. The TUI calls `Running::shutdown` however
//! its loop ends (q, ctrl-c, SIGTERM); `tests/e2e_pty.rs` checks that end to end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use skydeck::plugins::{self, Exit, Output, PluginRun, Running};
use skydeck::store::{AuditPhase, Store};

fn run(name: &str, script: &str, output: Output) -> PluginRun {
    PluginRun {
        plugin: name.into(),
        file: format!("user/{name}.toml"),
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: Vec::new(),
        output,
        target: "arn:aws:ecs:us-east-1:1:service/c/api-stg".into(),
        target_name: "api-stg".into(),
        environment: "staging".into(),
        dangerous: false,
        timeout: None,
        pause: false,
    }
}

/// Starts the run on its own thread, as the TUI does, and waits for it to be in flight.
fn start(run: PluginRun, store: &Arc<Store>, running: &Running) -> std::thread::JoinHandle<plugins::PluginOutcome> {
    let (store, running2) = (store.clone(), running.clone());
    let handle = std::thread::spawn(move || plugins::execute_tracked(&run, &store, "maria", false, &running2));
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.names().is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    handle
}

#[test]
fn quitting_stops_a_long_plugin_run_and_audits_it_interrupted() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let running = Running::default();
    let handle = start(run("slow", "sleep 30", Output::Background), &store, &running);
    assert_eq!(running.names(), ["slow"]);

    let quit = Instant::now();
    assert_eq!(running.shutdown(&store, Duration::from_millis(200)), 1);
    assert!(quit.elapsed() < Duration::from_secs(5), "stopped, not waited for: {:?}", quit.elapsed());
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.exit, Exit::Interrupted);

    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Interrupted]);
    assert_eq!(audit[1].action_id, Some(audit[0].seq));
    assert_eq!(audit[1].source, "plugin:slow");
    assert_eq!(audit[1].user, "maria");
    assert!(audit[1].detail.starts_with("slow: interrupted: skydeck quit while it ran"), "{}", audit[1].detail);
    assert!(running.names().is_empty());
}

#[test]
fn a_plugin_ending_within_the_grace_period_is_finished_not_interrupted() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let running = Running::default();
    let handle = start(run("quick", "sleep 0.3", Output::Capture), &store, &running);
    assert_eq!(running.shutdown(&store, Duration::from_secs(10)), 0);
    assert!(handle.join().unwrap().ok());
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Finished]);
    assert_eq!(audit[1].action_id, Some(audit[0].seq));
}

/// A run that cannot be stopped (a `terminal` run owns its command; here one that outlives
/// the stop wait) is closed by the shutdown itself, and its own late end adds nothing.
#[test]
fn a_run_that_outlives_the_stop_wait_is_closed_once_by_the_shutdown() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let running = Running::default();
    let handle = start(run("stubborn", "sleep 3", Output::Terminal), &store, &running);
    assert_eq!(running.shutdown(&store, Duration::from_millis(100)), 1);
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Interrupted]);
    assert_eq!(audit[1].action_id, Some(audit[0].seq));
    assert!(audit[1].detail.contains("still running when skydeck exited"), "{}", audit[1].detail);
    // The command ends later on its own: no second closing entry.
    assert!(handle.join().unwrap().ok());
    assert_eq!(store.audit_entries().unwrap().len(), 2);
}
