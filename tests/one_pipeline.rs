//! Verb actions and plugin runs take the same audited path (`Pipeline::run`), stamped with
//! the pipeline's clock, and both are closed when skydeck quits. Time outside the clock and
//! the providers is never read directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use skydeck::actions::Pipeline;
use skydeck::clock::ManualClock;
use skydeck::plugins::{Exit, Output, PluginOp, PluginRun};
use skydeck::store::{AuditPhase, Store};

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

fn run(name: &str, script: &str, dangerous: bool) -> PluginRun {
    PluginRun {
        plugin: name.into(),
        file: format!("user/{name}.toml"),
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: Vec::new(),
        output: Output::Capture,
        target: "arn:aws:ecs:us-east-1:1:service/c/api-stg".into(),
        target_name: "api-stg".into(),
        environment: "staging".into(),
        dangerous,
        timeout: Some(Duration::from_secs(30)),
        pause: false,
    }
}

fn pipeline(read_only: bool) -> (Pipeline, Arc<Store>, ManualClock) {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = ManualClock::new(at(0));
    let pipeline = Pipeline::new(store.clone(), read_only, "maria").with_clock(Arc::new(clock.clone()));
    (pipeline, store, clock)
}

#[test]
fn a_plugin_run_is_audited_and_timelined_with_the_pipelines_clock() {
    let (pipeline, store, clock) = pipeline(false);
    store.open_incident("api slow", "sev2", Some("staging"), "maria", at(0)).unwrap();
    clock.set(at(120));
    let outcome = futures::executor::block_on(pipeline.run(PluginOp::new(run("check", "echo hi; exit 3", false))));
    assert_eq!(outcome.exit, Exit::Code(3));
    assert_eq!(outcome.output, ["hi"]);
    let audit = store.audit_entries().unwrap();
    assert_eq!(
        audit.iter().map(|e| (e.phase, e.at)).collect::<Vec<_>>(),
        [(AuditPhase::Started, at(120)), (AuditPhase::Failed, at(120))]
    );
    assert_eq!(audit[1].action_id, Some(audit[0].seq));
    assert_eq!(audit[0].source, "plugin:check");
    assert!(audit[1].detail.starts_with("check: exit 3 in "), "{}", audit[1].detail);
    let timeline = store.open_incident_now().unwrap().unwrap().timeline;
    let last = timeline.last().unwrap();
    assert_eq!(last.at, at(120));
    assert!(last.text.starts_with("plugin check on api-stg (staging) — exit 3 in "), "{}", last.text);
}

#[test]
fn read_only_refuses_a_dangerous_plugin_before_it_runs_and_audits_the_refusal() {
    let (pipeline, store, _) = pipeline(true);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    let outcome = futures::executor::block_on(pipeline.run(PluginOp::new(run("wipe", &script, true))));
    assert!(matches!(&outcome.exit, Exit::Refused(why) if why.contains("--read-only")), "{:?}", outcome.exit);
    assert!(!marker.exists(), "the command ran");
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Refused]);
    // Not dangerous: runs, read-only or not.
    let outcome = futures::executor::block_on(pipeline.run(PluginOp::new(run("look", "true", false))));
    assert!(outcome.ok(), "{:?}", outcome.exit);
}

/// The TUI's quit path: the pipeline's own `shutdown` closes a plugin run still going, with
/// the pipeline's clock.
#[test]
fn quitting_closes_a_plugin_run_through_the_pipeline() {
    let (pipeline, store, clock) = pipeline(false);
    let p = pipeline.clone();
    let handle =
        std::thread::spawn(move || futures::executor::block_on(p.run(PluginOp::new(run("slow", "sleep 30", false)))));
    let deadline = Instant::now() + Duration::from_secs(10);
    while pipeline.running().names().is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(pipeline.running().names(), ["slow"]);
    clock.set(at(30));
    assert_eq!(pipeline.shutdown(Duration::from_millis(100)), 1);
    assert_eq!(handle.join().unwrap().exit, Exit::Interrupted);
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Interrupted]);
    assert_eq!((audit[1].action_id, audit[1].at), (Some(audit[0].seq), at(30)));
}

/// Every `Utc::now()` outside the clock goes through a `Clock`, so tests can drive time.
/// (src/providers/ is not yet converted; see CHANGELOG.)
#[test]
fn no_direct_wall_clock_reads_outside_the_clock_and_the_providers() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    assert!(files.len() > 20, "src/ not found: {}", src.display());
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if rel == "clock.rs" || rel.starts_with("providers/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if ["Utc::now", "Local::now"].iter().any(|n| line.contains(n)) {
                found.push(format!("src/{rel}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "read the time through a Clock:\n{}", found.join("\n"));
}
