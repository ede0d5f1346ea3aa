//! Runbooks end to end: the handover report, progress that survives a restart, the headless
//! command's exit codes, and the incident timeline recording actions.

use std::process::Command;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use skydeck::clock::ManualClock;
use skydeck::model::Timestamp;
use skydeck::providers::Provider;
use skydeck::providers::sandbox::Sandbox;
use skydeck::runbook::{Context, Item, Progress, Report, SHIPPED, Verdict, error_lines, evaluate, expr, parse};
use skydeck::store::Store;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

/// The context a checklist item is evaluated in, over the demo estate and its logs.
fn ctx<'a>(estate: &'a skydeck::model::Snapshot, logs: &'a [skydeck::model::LogLine]) -> Context<'a> {
    Context { estate, now: now(), log_errors: error_lines(logs), since: None, failed_sources: Vec::new() }
}

fn item(check: &str) -> Item {
    Item {
        key: "s/t".into(),
        section: "s".into(),
        title: "t".into(),
        check: Some(expr::parse(check).unwrap()),
        check_text: Some(check.into()),
        environment: None,
        per_environment: false,
        link: None,
    }
}

#[test]
fn levels_counts_and_logs_since_the_last_run() {
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let estate = sandbox.snapshot();
    let logs = sandbox.logs_between(None, 2000);
    let c = ctx(&estate, &logs);
    assert_eq!(
        evaluate(&item("health.level <= warn"), &c).unwrap().verdict,
        Verdict::Fail,
        "the demo has a failing check"
    );
    assert_eq!(evaluate(&item("health.level <= crit"), &c).unwrap().verdict, Verdict::Pass);
    assert_eq!(evaluate(&item("secrets.overdue == 0"), &c).unwrap().verdict, Verdict::Fail);
    assert_eq!(evaluate(&item("approvals.waiting == 1"), &c).unwrap().verdict, Verdict::Pass);
    assert_eq!(
        evaluate(&item("metrics.error_rate.max < 5%"), &c).unwrap().verdict,
        Verdict::Fail,
        "staging 5xx at 12 %"
    );
    let errors = evaluate(&item("logs.errors == 0"), &c).unwrap();
    assert_eq!(errors.verdict, Verdict::Fail);
    assert!(errors.evidence.iter().any(|e| e.contains("inference-api-stg")), "{:?}", errors.evidence);
    let mut later = ctx(&estate, &logs);
    later.since = Some(now());
    assert_eq!(
        evaluate(&item("logs.errors == 0"), &later).unwrap().verdict,
        Verdict::Pass,
        "nothing since the last run"
    );
    assert_eq!(evaluate(&item("secrets.overdue == 0 or approvals.waiting == 1"), &c).unwrap().verdict, Verdict::Pass);
}

#[test]
fn the_demo_daily_report_shows_the_demo_trouble() {
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let estate = sandbox.snapshot();
    let book = parse(SHIPPED[0].1, "daily.toml").unwrap();
    let progress = vec![Progress {
        item: "Monitoring/Dashboards looked at for anything the checks do not see".into(),
        done: true,
        note: Some("quiet night".into()),
        who: "maria".into(),
        at: now(),
    }];
    let report = Report::build(&book, &ctx(&estate, &[]), &progress, "maria");
    let failed: Vec<&str> =
        report.items.iter().filter(|i| i.verdict == Verdict::Fail).map(|i| i.title.as_str()).collect();
    assert!(failed.contains(&"Health checks pass"), "{failed:?}");
    assert!(failed.contains(&"Every database's latest backup succeeded and is younger than 24 h"), "{failed:?}");
    assert!(failed.contains(&"No secret overdue for rotation"), "{failed:?}");
    assert!(failed.contains(&"No deployment waiting for approval"), "{failed:?}");
    let storage = report
        .items
        .iter()
        .find(|i| i.title.starts_with("Object storage protected") && i.verdict == Verdict::Fail)
        .expect("the production media account fails the object storage item");
    assert!(
        storage.evidence.iter().any(|e| e.contains("acme-shop-prod-media (production): soft delete 7d")),
        "{storage:?}"
    );
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.open, 1, "handover notes still open");
    let md = report.to_markdown();
    assert!(md.contains("- [x] ✔ Dashboards looked at for anything the checks do not see — ticked by maria at 08:00"));
    assert!(md.contains("  - note: quiet night"));
}

#[test]
fn the_handover_report_as_markdown() {
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let estate = sandbox.snapshot();
    let logs = sandbox.logs_between(None, 200);
    let book = parse(SHIPPED[0].1, "daily.toml").unwrap();
    let progress = vec![Progress {
        item: "Monitoring/Dashboards looked at for anything the checks do not see".into(),
        done: true,
        note: Some("grafana quiet".into()),
        who: "maria".into(),
        at: now() - chrono::Duration::minutes(5),
    }];
    let ctx = Context {
        estate: &estate,
        now: now(),
        log_errors: skydeck::runbook::error_lines(&logs),
        since: None,
        failed_sources: Vec::new(),
    };
    let report = Report::build(&book, &ctx, &progress, "maria");
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("runbook_daily_handover_md", report.to_markdown());
    });
}

#[test]
fn progress_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let p = Progress {
        item: "Deployments/Handover notes written for the next shift".into(),
        done: true,
        note: Some("all quiet".into()),
        who: "kenji".into(),
        at: now(),
    };
    {
        let store = Store::open_in(dir.path()).unwrap();
        store.set_runbook_item("daily", "2026-11-23", &p).unwrap();
    }
    let store = Store::open_in(dir.path()).unwrap();
    assert_eq!(store.runbook_progress("daily", "2026-11-23").unwrap(), vec![p.clone()]);
    assert!(store.runbook_progress("daily", "2026-11-24").unwrap().is_empty(), "progress is per day");
    assert_eq!(store.runbook_progress_all("daily").unwrap(), vec![("2026-11-23".to_string(), p.clone())]);
    // Unticking keeps the note and records who unticked.
    let undone = Progress { done: false, who: "lea".into(), ..p };
    store.set_runbook_item("daily", "2026-11-23", &undone).unwrap();
    assert_eq!(store.runbook_progress("daily", "2026-11-23").unwrap(), vec![undone]);
}

fn skydeck(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("USER", "maria")
        .output()
        .unwrap()
}

#[test]
fn the_headless_runbook_says_by_its_exit_code_whether_anything_failed() {
    let dir = tempfile::tempdir().unwrap();
    let out = skydeck(dir.path(), &["--demo", "runbook", "daily", "--json"]);
    assert_eq!(out.status.code(), Some(1), "the demo has failures: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["verdict"] == "fail")
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"Health checks pass"), "{failed:?}");
    assert!(failed.contains(&"Every database's latest backup succeeded and is younger than 24 h"), "{failed:?}");
    let out = skydeck(dir.path(), &["--demo", "runbook", "--markdown"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("# Daily checklist — "), "{md}");
    assert!(md.contains("inference-db-stg (staging): last backup 31h old (> 24h)"), "{md}");
    // A user runbook with a broken check: file and line, and the shipped ones still run.
    std::fs::create_dir_all(dir.path().join("config/skydeck/runbooks")).unwrap();
    let mine = dir.path().join("config/skydeck/runbooks/night.toml");
    std::fs::write(&mine, "name = \"night\"\n[[sections]]\nname = \"A\"\n[[sections.items]]\ntitle = \"t\"\ncheck = \"backups.age < 1d\"\n").unwrap();
    let out = skydeck(dir.path(), &["--demo", "runbook", "daily"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:6: unknown subject 'backups.age'", mine.display())), "{err}");
    assert_eq!(out.status.code(), Some(1));
    let out = skydeck(dir.path(), &["--demo", "runbook", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runbook 'nope'"));
}

#[tokio::test]
async fn an_action_taken_during_an_incident_lands_on_its_timeline() {
    use skydeck::actions::{ActionRequest, Pipeline, Verb};
    use skydeck::incident::EntryKind;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_in(dir.path()).unwrap());
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let id = store.open_incident("checkout 503", "sev2", Some("staging"), "maria", now()).unwrap();
    let snap = sandbox.snapshot();
    let service = snap.resources.iter().find(|r| r.kind == "ECS service" && r.environment == "staging").unwrap();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Rollback, &service.id), &snap).unwrap();
    let outcome = Pipeline::new(store.clone(), false, "maria").act(&sandbox, plan).await;
    assert!(outcome.result.is_ok());
    let incident = store.open_incident_now().unwrap().unwrap();
    assert_eq!(incident.id, id);
    let action =
        incident.timeline.iter().find(|e| e.kind == EntryKind::Action).expect("the rollback is on the timeline");
    assert!(action.text.starts_with("rollback inference-api-stg (staging) — done"), "{}", action.text);
    store.close_incident(id, "rolled back", "maria", now()).unwrap();
    let md = store.incidents().unwrap()[0].to_markdown();
    assert!(md.contains("**action** rollback inference-api-stg"), "{md}");
    assert!(md.contains("**closed** closed: rolled back"), "{md}");
    assert!(store.open_incident_now().unwrap().is_none());
}

/// The logs.errors line of a plain `skydeck runbook` report and of its Markdown handover report.
fn logs_errors_verdicts(dir: &std::path::Path) -> (String, String) {
    let out = skydeck(dir, &["--demo", "runbook", "daily"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let plain = text.lines().find(|l| l.contains("logs.errors")).unwrap_or_else(|| panic!("{text}")).to_string();
    let out = skydeck(dir, &["--demo", "runbook", "daily", "--markdown"]);
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = md.lines().find(|l| l.contains("`logs.errors")).unwrap_or_else(|| panic!("{md}")).to_string();
    (plain, line)
}

#[test]
fn running_the_runbook_again_does_not_turn_errors_into_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (first, first_md) = logs_errors_verdicts(dir.path());
    assert!(first.starts_with("✖") && first.contains("logs.errors = "), "the demo has error lines: {first}");
    assert!(first_md.contains("**FAIL**"), "the handover report says what the screen says: {first_md}");
    for _ in 0..2 {
        let (again, again_md) = logs_errors_verdicts(dir.path());
        assert!(again.starts_with("✖"), "still failing after another run: {again}");
        assert!(again_md.contains("**FAIL**"), "{again_md}");
    }
}

fn progress(item: &str, at: Timestamp) -> Progress {
    Progress { item: item.into(), done: true, note: None, who: "kenji".into(), at }
}

#[test]
fn logs_errors_count_since_the_last_completed_walkthrough_before_today() {
    let book = parse(SHIPPED[0].1, "daily.toml").unwrap();
    let manual: Vec<String> = book.items.iter().filter(|i| i.check.is_none()).map(|i| i.key.clone()).collect();
    assert_eq!(manual.len(), 2, "the shipped daily has two items a person ticks");
    let hours = |h: i64| now() - chrono::Duration::hours(h);
    let day = |d: &str, p: Progress| (d.to_string(), p);
    // Nothing completed: the last 24 h.
    assert_eq!(book.logs_errors_since(now(), "2026-11-23", &[]), hours(24));
    // Two days ago completed; yesterday only half done: two days ago counts.
    let rows = vec![
        day("2026-11-21", progress(&manual[0], hours(50))),
        day("2026-11-21", progress(&manual[1], hours(49))),
        day("2026-11-22", progress(&manual[0], hours(26))),
    ];
    assert_eq!(book.logs_errors_since(now(), "2026-11-23", &rows), hours(49));
    // An unticked item is not done.
    let mut unticked = rows.clone();
    unticked[1].1.done = false;
    assert_eq!(book.logs_errors_since(now(), "2026-11-23", &unticked), hours(24));
    // Today's own completion does not move today's count.
    let mut today = rows.clone();
    today.push(day("2026-11-23", progress(&manual[0], hours(1))));
    today.push(day("2026-11-23", progress(&manual[1], hours(0))));
    assert_eq!(book.logs_errors_since(now(), "2026-11-23", &today), hours(49));
    assert_eq!(book.logs_errors_since(now() + chrono::Duration::days(1), "2026-11-24", &today), hours(0));
    // A configured window replaces the walkthrough.
    let text = SHIPPED[0].1.replacen("[[sections]]", "logs_errors_window = \"12h\"\n\n[[sections]]", 1);
    let windowed = parse(&text, "daily.toml").unwrap();
    assert_eq!(windowed.logs_errors_since(now(), "2026-11-23", &rows), hours(12));
    let broken = SHIPPED[0].1.replacen("[[sections]]", "logs_errors_window = \"soon\"\n\n[[sections]]", 1);
    let err = parse(&broken, "daily.toml").unwrap_err().to_string();
    assert!(err.starts_with("daily.toml:") && err.contains("logs_errors_window: 'soon' is not a duration"), "{err}");
}

#[test]
fn the_screen_and_the_handover_report_agree_on_logs_errors() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let logs = sandbox.logs_between(None, 200);
    let book = parse(SHIPPED[0].1, "daily.toml").unwrap();
    let mut state = skydeck::app::AppState::with_snapshot("demo", sandbox.snapshot(), logs.clone(), now(), (160, 40))
        .with_catalog(skydeck::providers::CATALOG);
    state.runbooks = vec![book.clone()];
    state.screen = skydeck::app::Screen::Runbook;
    let estate = sandbox.snapshot();
    let mut verdicts = Vec::new();
    for since in [now() - chrono::Duration::hours(24), now()] {
        state.runbook_since = Some(since);
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).unwrap();
        terminal.draw(|f| skydeck::views::render(&state, &skydeck::theme::Theme::dark(), f)).unwrap();
        let screen = format!("{}", terminal.backend());
        let row =
            screen.lines().find(|l| l.contains("No error logs")).unwrap_or_else(|| panic!("{screen}")).to_string();
        let on_screen = if row.contains("✖") {
            "fail"
        } else if row.contains("✔") {
            "pass"
        } else {
            "other"
        };
        let ctx = Context {
            estate: &estate,
            now: now(),
            log_errors: skydeck::runbook::error_lines(&logs),
            since: Some(since),
            failed_sources: Vec::new(),
        };
        let report = Report::build(&book, &ctx, &[], "maria");
        let item = report.items.iter().find(|i| i.title.starts_with("No error logs")).unwrap();
        assert_eq!(on_screen, format!("{:?}", item.verdict).to_lowercase(), "{row}");
        verdicts.push(on_screen);
    }
    assert_eq!(verdicts, ["fail", "pass"], "errors in the last 24 h, none after now");
}
