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
    let mut state = AppState::with_snapshot("demo", sandbox.snapshot(), logs, now(), size)
        .with_catalog(skydeck::providers::CATALOG);
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
    let mut state =
        AppState::new(&[], now(), skydeck::keymap::Keymap::default()).with_catalog(skydeck::providers::CATALOG);
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
    let mut state = AppState::with_snapshot("demo", sandbox.snapshot(), logs, now(), (120, 12))
        .with_catalog(skydeck::providers::CATALOG);
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

/// The plan of an action on the demo estate, as the sandbox makes it.
fn demo_plan(state: &AppState, verb: skydeck::actions::Verb, target: &str) -> skydeck::actions::Plan {
    use skydeck::providers::Provider;
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    sandbox.plan(&skydeck::actions::ActionRequest::new(verb, target.to_string()), &state.estate).unwrap()
}

/// A production approval at `size`, planned after an empty review comment (the README's keys).
fn approve_confirmation(size: (u16, u16)) -> AppState {
    use skydeck::providers::Provider;
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let mut state = demo_state(size);
    key(&mut state, KeyCode::Char('3'));
    key(&mut state, KeyCode::Char('a'));
    let effects = update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let Some(skydeck::app::Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    let plan = sandbox.plan(request, &state.estate).unwrap();
    let _ = update(&mut state, Msg::Planned(Ok(plan)));
    state
}

/// A point-in-time restore of the production `PostgreSQL` server, with the calls the Azure
/// adapter plans (a long PUT body, the operation to follow).
fn restore_confirmation(size: (u16, u16)) -> AppState {
    let mut state = demo_state(size);
    key(&mut state, KeyCode::Char('6'));
    let backup = state.estate.backups.iter().find(|b| b.database == "shop-pg-prod").expect("demo has shop-pg-prod");
    let mut plan = demo_plan(&state, skydeck::actions::Verb::Restore, &backup.id.clone());
    let server = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shop-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers";
    plan.summary = "restore shop-pg-prod as it was at 2026-11-23T07:55:00Z into a NEW server shop-pg-prod-restored-202611230755 (resource group rg-shop-prod, westeurope); shop-pg-prod itself is not touched. Re-point the app at shop-pg-prod-restored-202611230755 afterwards.".into();
    plan.calls = vec![
        skydeck::actions::PlannedCall {
            description: "create shop-pg-prod-restored-202611230755 by point-in-time restore of shop-pg-prod".into(),
            call: format!(
                "PUT https://management.azure.com{server}/shop-pg-prod-restored-202611230755?api-version=2024-08-01 {{\"location\":\"westeurope\",\"properties\":{{\"createMode\":\"PointInTimeRestore\",\"sourceServerResourceId\":\"{server}/shop-pg-prod\",\"pointInTimeUTC\":\"2026-11-23T07:55:00Z\"}}}}"
            ),
        },
        skydeck::actions::PlannedCall {
            description: "follow the long-running operation".into(),
            call: "GET the Azure-AsyncOperation (or Location) URL until Succeeded or Failed, at most 900s".into(),
        },
        skydeck::actions::PlannedCall {
            description: "wait until the new server is available".into(),
            call: "poll until state = Ready".into(),
        },
    ];
    plan.verification = "GET shop-pg-prod-restored-202611230755: it exists and reports its state".into();
    let _ = update(&mut state, Msg::Planned(Ok(plan)));
    state
}

/// Rotating the production deploy credential: the six calls the Azure adapter plans.
fn rotate_confirmation(size: (u16, u16)) -> AppState {
    let mut state = demo_state(size);
    key(&mut state, KeyCode::Char('7'));
    let secret =
        state.estate.secrets.iter().find(|s| s.name == "AZURE_CLIENT_SECRET_PRODUCTION").expect("demo has the secret");
    let mut plan = demo_plan(&state, skydeck::actions::Verb::Rotate, &secret.id.clone());
    let graph = "https://graph.microsoft.com/v1.0";
    let github = "https://api.github.com/repos/acme/shop-web/environments/production/secrets";
    let call = |d: &str, c: String| skydeck::actions::PlannedCall { description: d.into(), call: c };
    plan.summary = "rotate the production deploy credential: add a new password to the Entra app sp-shop-web-deploy-production, store it sealed as GitHub secret AZURE_CLIENT_SECRET_PRODUCTION in acme/shop-web and in Key Vault kv-shop-prod as deploy-client-secret-production, then remove the old password(s) (3f2a9c1e-0000-4000-8000-000000000001). The value is never shown.".into();
    plan.calls = vec![
        call("read the public key first (nothing changes if GitHub cannot take the secret)", format!("GET {github}/public-key")),
        call("find the service principal sp-shop-web-deploy-production and its app registration", format!("GET {graph}/servicePrincipals?$filter=displayName eq 'sp-shop-web-deploy-production' ; GET {graph}/applications?$filter=appId eq '11111111-2222-3333-4444-555555555555'")),
        call("add a new password, valid 90 days", format!("POST {graph}/applications/66666666-7777-8888-9999-000000000000/addPassword {{\"passwordCredential\":{{\"displayName\":\"skydeck rotation <date>\",\"endDateTime\":\"<now + 90d>\"}}}}")),
        call("seal it with that key (libsodium sealed box) and store it", format!("PUT {github}/AZURE_CLIENT_SECRET_PRODUCTION {{\"encrypted_value\":\"<sealed, not shown>\",\"key_id\":\"<key id>\"}}")),
        call("keep a copy in Key Vault", "PUT https://kv-shop-prod.vault.azure.net/secrets/deploy-client-secret-production?api-version=7.4 {\"value\":\"<not shown>\"}".into()),
        call("only after the new one is stored: remove each old password", format!("POST {graph}/applications/66666666-7777-8888-9999-000000000000/removePassword {{\"keyId\":\"<old key id>\"}} for 3f2a9c1e-0000-4000-8000-000000000001")),
    ];
    plan.verification = format!(
        "GET the app registration: the new password is there and the old ones are gone; GET {github}/AZURE_CLIENT_SECRET_PRODUCTION: updated just now"
    );
    let _ = update(&mut state, Msg::Planned(Ok(plan)));
    state
}

/// The rendered screen as lines of text.
fn screen_text(state: &AppState) -> Vec<String> {
    let terminal = draw(state);
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect::<String>())
        .collect()
}

/// The prompt, what was typed and the error of a production confirmation are on screen.
fn assert_prompt_visible(state: &AppState, typed_text: &str) {
    let text = screen_text(state).join("\n");
    assert!(text.contains("Type '"), "no prompt:\n{text}");
    assert!(text.contains(&format!("> {typed_text}▏")), "no input box:\n{text}");
}

#[test]
fn long_confirmations_keep_the_prompt_input_and_error_visible_at_every_size() {
    for size in [(80, 24), (120, 40), (200, 80)] {
        let (w, h) = size;
        for (name, mut state) in [
            ("approve", approve_confirmation(size)),
            ("restore", restore_confirmation(size)),
            ("rotate", rotate_confirmation(size)),
        ] {
            assert!(matches!(state.popup, Some(skydeck::app::Popup::Confirm { .. })), "{name}");
            typed(&mut state, "prod");
            assert_prompt_visible(&state, "prod");
            snap!(format!("confirm_{name}_{w}x{h}"), state);
            // A wrong name: the error shows too, with the prompt and the box.
            key(&mut state, KeyCode::Enter);
            assert_prompt_visible(&state, "prod");
            let text = screen_text(&state).join("\n");
            assert!(text.contains("nothing was sent"), "{name} {w}x{h}: no error:\n{text}");
        }
    }
}

#[test]
fn a_long_plan_scrolls_while_the_name_is_typed() {
    let mut state = rotate_confirmation((80, 24));
    let first = screen_text(&state).join("\n");
    assert!(first.contains("▼ more below"), "{first}");
    assert!(!first.contains("then verify"), "the end of the plan should not fit at 80x24:\n{first}");
    key(&mut state, KeyCode::End);
    typed(&mut state, "AZURE");
    let end = screen_text(&state).join("\n");
    assert!(end.contains("then verify") && end.contains("end of the plan"), "{end}");
    assert_prompt_visible(&state, "AZURE");
    snap!("confirm_rotate_scrolled_80x24", state);
    key(&mut state, KeyCode::PageUp);
    key(&mut state, KeyCode::Home);
    let top = screen_text(&state).join("\n");
    assert!(top.contains("rotate AZURE_CLIENT_SECRET_PRODUCTION"), "{top}");
}

#[test]
fn typing_production_and_enter_at_80x24_approves_as_the_readme_says() {
    let mut state = approve_confirmation((80, 24));
    typed(&mut state, "production");
    assert_prompt_visible(&state, "production");
    let effects = update(&mut state, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(
        matches!(effects.as_slice(), [skydeck::app::Effect::Execute(p)] if p.request.verb == skydeck::actions::Verb::Approve),
        "{effects:?}"
    );
    assert!(state.popup.is_none());
}

#[test]
fn lists_at_80x24_keep_what_names_the_target() {
    for screen in [
        Screen::Runs,
        Screen::Deployments,
        Screen::Health,
        Screen::Resources,
        Screen::Backups,
        Screen::Secrets,
        Screen::Audit,
        Screen::Runbook,
    ] {
        let mut state = demo_state((80, 24));
        key(&mut state, KeyCode::Char(screen.key()));
        let text = screen_text(&state).join("\n");
        match screen {
            Screen::Backups => {
                for b in &state.estate.backups {
                    assert!(
                        text.contains(&format!("{:<17} {:<10} {:<5}", b.database, b.environment, b.provider.label())),
                        "{}:\n{text}",
                        b.database
                    );
                }
            }
            Screen::Resources => {
                assert!(text.contains("production AWS   inference-api-prod"), "{text}");
                assert!(text.contains("Status"), "{text}");
            }
            Screen::Audit => {
                assert!(
                    text.contains("2026-11-23 07:57:00  approve") || text.contains("2026-11-23 07:57:00"),
                    "{text}"
                );
            }
            Screen::Runbook => assert!(text.contains("Status") && text.contains("✖ FAIL"), "{text}"),
            Screen::Secrets => assert!(
                text.lines().any(|l| l.contains("AZURE_CLIENT_SECRET_PRODUCTION ") && l.contains(" production ")),
                "{text}"
            ),
            Screen::Health => assert!(text.contains("production shop-web"), "{text}"),
            Screen::Deployments => assert!(text.contains("production  ▲ waiting approval"), "{text}"),
            _ => {}
        }
        snap!(format!("{}_80x24", screen.title().to_lowercase()), state);
    }
}

#[test]
fn tabs_tell_runs_from_runbook_at_every_width() {
    for width in [80, 100, 120, 140, 200] {
        for active in [Screen::Overview, Screen::Runs, Screen::Runbook] {
            let mut state = demo_state((width, 24));
            key(&mut state, KeyCode::Char(active.key()));
            let top = screen_text(&state)[0].clone();
            let runs = if active == Screen::Runs || width >= 140 {
                "2 Runs"
            } else if width < 100 {
                "2Run"
            } else {
                "2 Run"
            };
            let book = if active == Screen::Runbook || width >= 140 {
                "0 Runbook"
            } else if width < 100 {
                "0Rbk"
            } else {
                "0 Rbk"
            };
            assert!(top.contains(runs) && top.contains(book), "{width} {active:?}: {top}");
        }
    }
}

#[test]
fn help_lists_every_screen() {
    for (size, on) in [((80, 24), Screen::Overview), ((80, 24), Screen::Runs), ((120, 40), Screen::Runs)] {
        let mut state = demo_state(size);
        key(&mut state, KeyCode::Char(on.key()));
        key(&mut state, KeyCode::Char('?'));
        let text = screen_text(&state).join("\n");
        for screen in Screen::ALL {
            assert!(text.contains(&format!("{} {}", screen.key(), screen.title())), "{size:?} {screen:?}:\n{text}");
        }
        assert!(text.contains("any key closes this help"), "{size:?} {on:?}:\n{text}");
    }
    let mut state = demo_state((80, 24));
    key(&mut state, KeyCode::Char('2'));
    key(&mut state, KeyCode::Char('?'));
    snap!("help_runs_80x24", state);
}

#[test]
fn enter_on_a_backup_shows_the_whole_record() {
    let mut state = demo_state((80, 24));
    key(&mut state, KeyCode::Char('6'));
    key(&mut state, KeyCode::Enter);
    let text = screen_text(&state).join("\n");
    assert!(text.contains("inference-db-stg") && text.contains("last backup 31h old (> 24h)"), "{text}");
    snap!("backup_detail_80x24", state);
}

#[test]
fn the_run_detail_title_has_no_runs_filter() {
    let mut state = demo_state((120, 40));
    key(&mut state, KeyCode::Char('2'));
    key(&mut state, KeyCode::Char('/'));
    typed(&mut state, "deploy");
    key(&mut state, KeyCode::Enter);
    assert!(screen_text(&state).join("\n").contains("/deploy"));
    key(&mut state, KeyCode::Enter);
    assert!(state.run_detail.is_some());
    let text = screen_text(&state).join("\n");
    assert!(!text.contains("/deploy"), "{text}");
}

/// A dispatch from a run that is not production, with `environment=production`: the popup
/// says why it asks for the environment's name (issue 12, point 2).
#[test]
fn a_production_by_destination_confirmation_says_why() {
    use skydeck::providers::Provider;
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let state = demo_state((80, 24));
    let run = state
        .estate
        .runs
        .iter()
        .find(|r| r.workflow == "Deploy" && !state.estate.approvals.iter().any(|a| a.run == r.id))
        .unwrap();
    let mut request = skydeck::actions::ActionRequest::new(skydeck::actions::Verb::Dispatch, &run.id);
    request.params.insert("input.environment".into(), "production".into());
    let plan = sandbox.plan(&request, &state.estate).unwrap();
    assert!(plan.touches.is_some(), "{plan:?}");
    let mut state = state;
    update(&mut state, Msg::Planned(Ok(plan)));
    let text = screen_text(&state).join("\n");
    assert!(text.contains("touches production (Prod): input.environment=production"), "{text}");
    assert!(text.contains("Type 'production'"), "{text}");
}

/// After `[keys] follow = "ctrl-f"` the Logs screen names ctrl-f, not the default `f`.
#[test]
fn the_logs_hint_names_the_remapped_follow_key() {
    use skydeck::keymap::{KeySpec, Keymap};
    let mut state = demo_state((120, 40));
    let overrides = std::collections::BTreeMap::from([("follow".to_string(), KeySpec::from("ctrl-f"))]);
    state.keymap = Keymap::with_overrides(&overrides).unwrap();
    key(&mut state, KeyCode::Char('8'));
    let text = screen_text(&state).join("\n");
    assert!(text.contains("(ctrl-f to pause)") || text.contains("(ctrl-f to follow)"), "{text}");
    assert!(!text.contains("(f to "), "{text}");
}

/// Draws, then hands the frame's geometry back to `update` as the event loop does.
fn draw_and_record(state: &mut AppState) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(state.size.0, state.size.1)).unwrap();
    let mut geometry = None;
    terminal.draw(|f| geometry = Some(skydeck::views::draw(state, &Theme::dark(), f))).unwrap();
    update(state, Msg::Drawn(geometry.unwrap()));
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect::<String>())
        .collect()
}

/// At 80x24 with many plugins on a screen, the help is taller than the terminal: it scrolls
/// (arrows, pages, home/end), says where it is, and any other key still closes it.
#[test]
fn a_help_taller_than_the_terminal_scrolls() {
    let mut state = demo_state((80, 24));
    let mut files = skydeck::plugins::shipped_files();
    for i in 0..12 {
        let key = char::from(b'a' + i as u8).to_ascii_uppercase();
        let text = format!(
            "key = \"alt-{key}\"\ndescription = \"extra tool number {i}\"\nscopes = [\"resources\"]\ncommand = \"true\"\n"
        );
        files.push(skydeck::plugins::PluginFile {
            stem: format!("extra-{i}"),
            path: format!("user/extra-{i}.toml"),
            text,
            shipped: false,
        });
    }
    let loaded = skydeck::plugins::load(files, &state.keymap);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    state.plugins = loaded.plugins;
    key(&mut state, KeyCode::Char('5'));
    key(&mut state, KeyCode::Char('?'));
    let top = draw_and_record(&mut state).join("\n");
    assert!(top.contains("Resources screen"), "{top}");
    assert!(top.contains("↓ more") && top.contains("scroll"), "says it scrolls:\n{top}");
    assert!(!top.contains("! Incident"), "the screens list is below the fold at 80x24:\n{top}");
    let max = state.drawn.help.expect("the help was drawn").max;
    assert!(max > 0);
    key(&mut state, KeyCode::Down);
    assert_eq!(state.help_scroll, 1);
    key(&mut state, KeyCode::End);
    assert_eq!(state.help_scroll, max);
    let end = draw_and_record(&mut state).join("\n");
    assert!(end.contains("! Incident") && end.contains("extra tool number 11"), "{end}");
    assert!(!end.contains("Resources screen"), "{end}");
    assert!(end.contains(" end "), "{end}");
    snap!("help_scrolled_80x24", state);
    key(&mut state, KeyCode::PageDown);
    assert_eq!(state.help_scroll, max, "not past the end");
    key(&mut state, KeyCode::Home);
    assert_eq!(state.help_scroll, 0);
    assert!(state.popup.is_some(), "scrolling keeps the help open");
    key(&mut state, KeyCode::Char('x'));
    assert!(state.popup.is_none(), "any other key closes it");
    // Opened again, it starts at the top.
    key(&mut state, KeyCode::Char('?'));
    assert_eq!(state.help_scroll, 0);
}
