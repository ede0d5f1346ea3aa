//! Every screen rendered headless at fixed sizes on the deterministic demo estate, compared
//! with the reviewed snapshots in `snapshots/`.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use skydeck::app::{AppState, Msg, Screen, update};
use skydeck::clock::ManualClock;
use skydeck::model::Timestamp;
use skydeck::providers::sandbox::Sandbox;
use skydeck::store::{AuditEntry, AuditPhase};
use skydeck::theme::Theme;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn demo_state(size: (u16, u16)) -> AppState {
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let logs = sandbox.logs_between(None, 200);
    let mut state = AppState::with_snapshot("demo", sandbox.snapshot(), logs, now(), size);
    state.runbooks = skydeck::runbook::SHIPPED.iter().map(|(n, t)| skydeck::runbook::parse(t, n).unwrap()).collect();
    state.user = "maria".into();
    state.audit = vec![
        audit(1, AuditPhase::Started, "started: approve the deployment"),
        audit(2, AuditPhase::Finished, "approved; verified: no longer waiting"),
    ];
    state
}

fn audit(seq: i64, phase: AuditPhase, detail: &str) -> AuditEntry {
    AuditEntry {
        seq,
        action_id: (seq > 1).then_some(1),
        at: now() - chrono::Duration::minutes(3),
        user: "maria".into(),
        verb: "approve".into(),
        target: "acme/shop-web/actions/runs/1/pending/production".into(),
        target_name: "production".into(),
        environment: "production".into(),
        source: "demo".into(),
        phase,
        reason: Some("release 2026.11.23".into()),
        detail: detail.into(),
    }
}

fn key(state: &mut AppState, code: KeyCode) {
    let _ = update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(state: &mut AppState, text: &str) {
    for c in text.chars() {
        key(state, KeyCode::Char(c));
    }
}

fn draw(state: &AppState) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(state.size.0, state.size.1)).unwrap();
    terminal.draw(|f| skydeck::views::render(state, &Theme::dark(), f)).unwrap();
    terminal
}

macro_rules! snap {
    ($name:expr, $state:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, draw(&$state).backend());
        });
    };
}

#[test]
fn overview_120x40() {
    snap!("overview_120x40", demo_state((120, 40)));
}

#[test]
fn overview_80x24() {
    snap!("overview_80x24", demo_state((80, 24)));
}

#[test]
fn every_screen_120x40() {
    for screen in Screen::ALL.into_iter().skip(1) {
        let mut state = demo_state((120, 40));
        key(&mut state, KeyCode::Char(screen.key()));
        assert_eq!(state.screen, screen);
        snap!(format!("{}_120x40", screen.title().to_lowercase()), state);
    }
}

#[test]
fn run_detail_shows_jobs_and_steps() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('2'));
    // The waiting production deploy: its last job is held at the gate.
    let waiting = state.estate.runs.iter().position(|r| r.status == skydeck::model::RunStatus::Waiting).unwrap();
    for _ in 0..waiting {
        key(&mut state, KeyCode::Down);
    }
    key(&mut state, KeyCode::Enter);
    assert!(state.run_detail.is_some());
    snap!("run_detail_120x40", state);
}

#[test]
fn a_failed_run_shows_one_red_step_and_grey_skips() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('2'));
    let failed = state
        .estate
        .runs
        .iter()
        .position(|r| r.conclusion == Some(skydeck::model::Conclusion::Failure) && r.workflow == "CI")
        .unwrap();
    for _ in 0..failed {
        key(&mut state, KeyCode::Down);
    }
    key(&mut state, KeyCode::Enter);
    snap!("run_detail_failed_120x40", state);
}

#[test]
fn help_lists_the_keys_of_the_screen() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('3'));
    key(&mut state, KeyCode::Char('?'));
    snap!("help_deployments_120x40", state);
}

#[test]
fn palette_completes() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char(':'));
    key(&mut state, KeyCode::Char('b'));
    snap!("palette_120x40", state);
}

#[test]
fn production_confirmation_asks_for_the_name() {
    use skydeck::providers::Provider;
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('3'));
    let effects = update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE)));
    assert!(effects.is_empty(), "approve asks for a review comment first");
    typed(&mut state, "release 2026.11.23");
    let effects = update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let Some(skydeck::app::Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    let plan = sandbox.plan(request, &state.estate).unwrap();
    let _ = update(&mut state, Msg::Planned(Ok(plan)));
    for c in "prod".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    snap!("confirm_production_120x40", state);
}

#[test]
fn filter_narrows_the_list() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('5'));
    key(&mut state, KeyCode::Char('/'));
    for c in "database".chars() {
        key(&mut state, KeyCode::Char(c));
    }
    key(&mut state, KeyCode::Enter);
    snap!("resources_filtered_120x40", state);
}

#[test]
fn first_run_explains_config_and_demo() {
    let mut state = AppState::new(&[], now(), skydeck::keymap::Keymap::default());
    state.size = (100, 30);
    state.first_run = true;
    state.config_hint = "/home/you/.config/skydeck/config.toml".into();
    snap!("first_run_100x30", state);
}

#[test]
fn a_failed_source_keeps_its_data_and_says_so() {
    let mut state = demo_state((120, 40));
    let _ = update(
        &mut state,
        Msg::Source {
            index: 0,
            result: Err(skydeck::providers::ProviderError::Auth {
                message: "token expired".into(),
                fix: "run `gh auth login`".into(),
            }),
            at: now() + chrono::Duration::minutes(1),
        },
    );
    assert!(!state.estate.runs.is_empty(), "last good data is kept");
    snap!("overview_source_failed_120x40", state);
}

#[test]
fn runbook_walkthrough_with_a_ticked_item_and_a_note() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('0'));
    // The fifth item is manual: tick it and note it.
    for _ in 0..4 {
        key(&mut state, KeyCode::Down);
    }
    let effects = update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE)));
    assert!(matches!(effects.first(), Some(skydeck::app::Effect::SaveRunbookItem { .. })), "{effects:?}");
    key(&mut state, KeyCode::Char('n'));
    typed(&mut state, "grafana quiet");
    key(&mut state, KeyCode::Enter);
    // Then look at the failing backups item's evidence.
    for _ in 0..4 {
        key(&mut state, KeyCode::Down);
    }
    snap!("runbook_walkthrough_120x40", state);
}

#[test]
fn incident_with_first_response_and_timeline() {
    use skydeck::incident::{Entry, EntryKind, Incident};
    let mut state = demo_state((120, 40));
    let at = |m: i64| now() - chrono::Duration::minutes(m);
    let e = |m, kind, text: &str| Entry { at: at(m), kind, who: "maria".into(), text: text.into() };
    state.incident = Some(Incident {
        id: 3,
        title: "checkout returns 503".into(),
        severity: "sev2".into(),
        environment: Some("staging".into()),
        opened_at: at(6),
        opened_by: "maria".into(),
        closed_at: None,
        resolution: None,
        timeline: vec![
            e(6, EntryKind::Opened, "sev2 opened: checkout returns 503 (staging)"),
            e(5, EntryKind::Alert, "✖ staging health inference-api: HTTP 503"),
            e(4, EntryKind::Step, "impact: checkout in staging down, no customers"),
            e(2, EntryKind::Action, "rollback inference-api-stg (staging) — done"),
        ],
    });
    key(&mut state, KeyCode::Char('!'));
    assert_eq!(state.screen, Screen::Incident);
    snap!("incident_open_120x40", state);
}

#[test]
fn logs_filtered_by_regex_and_severity() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('8'));
    key(&mut state, KeyCode::Char('/'));
    typed(&mut state, "50[0-9]");
    key(&mut state, KeyCode::Enter);
    key(&mut state, KeyCode::Char('v'));
    key(&mut state, KeyCode::Char('v'));
    key(&mut state, KeyCode::Char('v')); // error and above
    while state.log_filter.pending(&state.logs) {
        let _ = update(&mut state, Msg::FilterStep);
    }
    snap!("logs_filtered_120x40", state);
}

/// CI logs colour their output with SGR sequences: the viewer draws them as styles (and a
/// filter match on top), and drops every other sequence. The second snapshot lists each run of
/// equally styled cells on the log rows, so the colours themselves are reviewed.
#[test]
fn log_viewer_draws_ci_colours_as_styles() {
    use skydeck::model::{LogLine, Severity};
    let line = |s: i64, severity, text: &str| LogLine {
        at: now() + chrono::Duration::seconds(s),
        source: "acme/shop-web job test".into(),
        severity,
        text: text.into(),
    };
    let logs = vec![
        line(0, Severity::Error, "\u{1b}[1;31merror\u{1b}[0m: build failed"),
        line(1, Severity::Info, "\u{1b}[32m12 passed\u{1b}[0m, \u{1b}[33m1 warning\u{1b}[39m, plain"),
        line(
            2,
            Severity::Info,
            "\u{1b}[38;5;208morange\u{1b}[0m \u{1b}[4munder\u{1b}[24m \u{1b}[2J\u{1b}]0;PWNED\u{7}gone",
        ),
    ];
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let mut state = AppState::with_snapshot("demo", sandbox.snapshot(), logs, now(), (120, 12));
    key(&mut state, KeyCode::Char('8'));
    key(&mut state, KeyCode::Char('/'));
    typed(&mut state, "pass|failed|gone");
    key(&mut state, KeyCode::Enter);
    while state.log_filter.pending(&state.logs) {
        let _ = update(&mut state, Msg::FilterStep);
    }
    snap!("logs_sgr_120x12", state);
    let terminal = draw(&state);
    let buffer = terminal.backend().buffer();
    let mut runs = String::new();
    for y in 0..buffer.area.height {
        let row: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
        if !row.contains("acme/shop-web job") {
            continue;
        }
        let mut last = None;
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            let style = (cell.fg, cell.modifier);
            if last != Some(style) {
                runs.push_str(&format!("\n  [{:?} {:?}] ", style.0, style.1));
                last = Some(style);
            }
            runs.push_str(cell.symbol());
        }
        runs.push('\n');
    }
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("logs_sgr_styles", runs);
    });
}

/// The shipped plugins, embedded only: never the files of whoever runs the tests.
fn with_shipped_plugins(state: &mut AppState) {
    let loaded = skydeck::plugins::load(skydeck::plugins::shipped_files(), &state.keymap);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    state.plugins = loaded.plugins;
}

fn select_resource(state: &mut AppState, kind: &str, environment: &str) {
    let rows = skydeck::app::rows(state, Screen::Resources);
    let at = rows
        .iter()
        .position(|r| {
            matches!(r, skydeck::app::Row::Resource(i)
                if state.estate.resources[*i].kind == kind && state.estate.resources[*i].environment == environment)
        })
        .unwrap();
    state.lists[Screen::Resources.index()].selected = at;
}

#[test]
fn help_lists_the_plugins_of_the_screen() {
    let mut state = demo_state((120, 40));
    with_shipped_plugins(&mut state);
    key(&mut state, KeyCode::Char('5'));
    key(&mut state, KeyCode::Char('?'));
    snap!("help_resources_plugins_120x40", state);
}

#[test]
fn a_plugin_shows_its_inputs_then_the_exact_command_line() {
    let mut state = demo_state((120, 40));
    with_shipped_plugins(&mut state);
    key(&mut state, KeyCode::Char('5'));
    select_resource(&mut state, "RDS instance", "staging");
    key(&mut state, KeyCode::Char('P'));
    typed(&mut state, "app_reader");
    snap!("plugin_inputs_120x40", state);
    key(&mut state, KeyCode::Enter);
    snap!("plugin_confirm_120x40", state);
}

#[test]
fn a_captured_plugin_run_shows_its_output() {
    let mut state = demo_state((120, 40));
    with_shipped_plugins(&mut state);
    key(&mut state, KeyCode::Char('5'));
    select_resource(&mut state, "App Service", "staging");
    let ctx = skydeck::app::plugin_context(&state);
    let mut run = state.plugins.iter().find(|p| p.name == "az-webapp-log-tail").unwrap().prepare(&ctx).unwrap();
    run.output = skydeck::plugins::Output::Capture;
    let outcome = skydeck::plugins::PluginOutcome {
        run,
        exit: skydeck::plugins::Exit::Code(1),
        output: vec![
            "2026-11-23T07:59:58  Welcome, you are now connected to log-streaming service.".into(),
            "2026-11-23T07:59:59  [INFO] GET /api/v1/health 200 12ms".into(),
            "ERROR: (AuthorizationFailed) The client does not have authorization to perform action.".into(),
        ],
        duration: std::time::Duration::from_millis(2300),
        audit_error: None,
    };
    let _ = update(&mut state, Msg::PluginDone(Box::new(outcome)));
    snap!("plugin_output_120x40", state);
}

/// The forms of issue 12 at 120x40 and 80x24: every line of them visible at both.
fn snap_both(name: &str, setup: impl Fn(&mut AppState)) {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut state = demo_state((w, h));
        setup(&mut state);
        let shown = format!("{:?}", draw(&state).backend());
        assert!(shown.contains("esc cancel") || shown.contains("h/esc back"), "{name} {w}x{h}: keys cut\n{shown}");
        snap!(format!("{name}_{w}x{h}"), state);
    }
}

fn select_backup_with_window(state: &mut AppState) {
    let rows = skydeck::app::rows(state, Screen::Backups);
    let at = rows
        .iter()
        .position(|r| {
            matches!(r, skydeck::app::Row::Backup(i)
                if state.estate.backups[*i].earliest_restore.is_some() && state.estate.backups[*i].environment == "production")
        })
        .unwrap();
    state.lists[Screen::Backups.index()].selected = at;
}

#[test]
fn restore_form_shows_the_window_and_an_out_of_window_error() {
    snap_both("restore_form", |state| {
        key(state, KeyCode::Char('6'));
        select_backup_with_window(state);
        key(state, KeyCode::Char('o'));
        for _ in 0..40 {
            key(state, KeyCode::Backspace);
        }
        typed(state, "2020-01-01T00:00:00Z");
        key(state, KeyCode::Enter);
        assert!(matches!(&state.popup, Some(skydeck::app::Popup::Action(f)) if f.error.is_some()));
    });
}

#[test]
fn rotate_form_never_shows_the_value() {
    snap_both("rotate_form", |state| {
        key(state, KeyCode::Char('7'));
        key(state, KeyCode::Char('t'));
        typed(state, "hunter2-Sup3r");
        let shown = format!("{:?}", draw(state).backend());
        assert!(!shown.contains("hunter2") && shown.contains("•••••••••••••"), "{shown}");
    });
}

#[test]
fn the_confirmation_of_a_typed_secret_value_never_shows_it() {
    use skydeck::providers::Provider;
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('7'));
    key(&mut state, KeyCode::Char('t'));
    typed(&mut state, "hunter2-Sup3r");
    let effects = update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let [skydeck::app::Effect::Plan(request)] = effects.as_slice() else { panic!("{effects:?}") };
    let plan = sandbox.plan(request, &sandbox.snapshot()).unwrap();
    assert!(plan.summary.contains("the value typed (13 bytes)"), "{}", plan.summary);
    let _ = update(&mut state, Msg::Planned(Ok(plan)));
    assert!(matches!(state.popup, Some(skydeck::app::Popup::Confirm { .. })));
    let shown = format!("{:?}", draw(&state).backend());
    assert!(shown.contains("13 bytes") && !shown.contains("hunter2"), "{shown}");
}

#[test]
fn scale_form_shows_the_count_and_the_limit() {
    snap_both("scale_form", |state| {
        key(state, KeyCode::Char('5'));
        select_resource(state, "ECS service", "production");
        key(state, KeyCode::Char('S'));
        typed(state, "5000");
        key(state, KeyCode::Enter);
    });
}

#[test]
fn incident_start_form_offers_severity_and_environment() {
    snap_both("incident_start_form", |state| {
        key(state, KeyCode::Char('!'));
        key(state, KeyCode::Char('s'));
        typed(state, "checkout returns 503");
        key(state, KeyCode::Tab);
        key(state, KeyCode::Left);
    });
}

#[test]
fn closed_incidents_list_with_the_selected_timeline() {
    use skydeck::incident::{Entry, EntryKind, Incident};
    snap_both("incident_closed", |state| {
        key(state, KeyCode::Char('!'));
        key(state, KeyCode::Char('h'));
        let at = |h: i64| now() - chrono::Duration::hours(h);
        let closed = |id, title: &str, hours| Incident {
            id,
            title: title.into(),
            severity: "sev2".into(),
            environment: Some("production".into()),
            opened_at: at(hours),
            opened_by: "maria".into(),
            closed_at: Some(at(hours) + chrono::Duration::minutes(47)),
            resolution: Some("rolled back inference-api-prod to :41".into()),
            timeline: vec![
                Entry {
                    at: at(hours),
                    kind: EntryKind::Opened,
                    who: "maria".into(),
                    text: format!("sev2 opened: {title}"),
                },
                Entry {
                    at: at(hours) + chrono::Duration::minutes(47),
                    kind: EntryKind::Closed,
                    who: "maria".into(),
                    text: "closed: rolled back inference-api-prod to :41".into(),
                },
            ],
        };
        let _ = update(
            state,
            Msg::IncidentHistory(vec![closed(4, "checkout returns 503", 30), closed(2, "login slow", 200)]),
        );
    });
}
