//! `update` driven headless: what a person's keys and mouse do, and what the loop is told.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use skydeck::actions::Verb;
use skydeck::app::{AppState, Effect, Msg, Popup, Screen, update};
use skydeck::clock::ManualClock;
use skydeck::model::Timestamp;
use skydeck::providers::Provider;
use skydeck::providers::sandbox::Sandbox;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn setup() -> (AppState, Sandbox) {
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    let state = AppState::with_snapshot("demo", sandbox.snapshot(), Vec::new(), now(), (120, 40))
        .with_catalog(skydeck::providers::CATALOG);
    (state, sandbox)
}

fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(state: &mut AppState, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

/// Draws a frame and hands its geometry back, as the event loop does after every draw.
fn drawn(state: &mut AppState) {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(state.size.0, state.size.1)).unwrap();
    let mut geometry = None;
    terminal.draw(|f| geometry = Some(skydeck::views::draw(state, &skydeck::theme::Theme::dark(), f))).unwrap();
    update(state, Msg::Drawn(geometry.unwrap()));
}

#[test]
fn number_keys_tab_and_esc_move_between_screens() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('4'));
    assert_eq!(s.screen, Screen::Health);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.screen, Screen::Resources);
    press(&mut s, KeyCode::BackTab);
    press(&mut s, KeyCode::BackTab);
    assert_eq!(s.screen, Screen::Deployments);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.screen, Screen::Overview);
    assert_eq!(press(&mut s, KeyCode::Char('q')), [Effect::Quit]);
}

#[test]
fn overview_enter_opens_the_cell_filtered_to_its_environment() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Down); // staging
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Right); // Backups column
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.screen, Screen::Backups);
    assert_eq!(s.list().filter, "staging");
    let rows = skydeck::app::rows(&s, Screen::Backups);
    assert_eq!(rows.len(), 3);
    // The failing backup sorts first.
    assert!(s.selected_target().unwrap().contains("inference-db-stg"));
}

#[test]
fn filter_narrows_and_esc_clears() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('2'));
    let all = skydeck::app::rows(&s, Screen::Runs).len();
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "deploy");
    press(&mut s, KeyCode::Enter);
    let some = skydeck::app::rows(&s, Screen::Runs).len();
    assert!(some > 0 && some < all, "{some} of {all}");
    // Keys act on the list again after Enter.
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(s.list().selected, 1);
    press(&mut s, KeyCode::Esc);
    assert_eq!(skydeck::app::rows(&s, Screen::Runs).len(), all);
}

#[test]
fn read_only_refuses_in_the_tui_without_planning() {
    let (mut s, _) = setup();
    s.read_only = true;
    press(&mut s, KeyCode::Char('3'));
    let effects = press(&mut s, KeyCode::Char('a'));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(&s.popup, Some(Popup::Message { text, .. }) if text.contains("read-only")));
}

#[test]
fn production_needs_the_typed_name_and_esc_sends_nothing() {
    let (mut s, sandbox) = setup();
    press(&mut s, KeyCode::Char('3'));
    assert!(press(&mut s, KeyCode::Char('a')).is_empty());
    assert!(matches!(&s.popup, Some(Popup::Input { param, .. }) if param == "reason"));
    typed(&mut s, "ship it");
    let effects = press(&mut s, KeyCode::Enter);
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(request.verb, Verb::Approve);
    assert_eq!(request.reason.as_deref(), Some("ship it"));
    let plan = sandbox.plan(request, &s.estate).unwrap();
    update(&mut s, Msg::Planned(Ok(plan.clone())));
    // y does not confirm production; a wrong name is refused.
    assert!(press(&mut s, KeyCode::Char('y')).is_empty());
    for _ in 0..5 {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "prod");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(matches!(&s.popup, Some(Popup::Confirm { error: Some(e), .. }) if e.contains("nothing was sent")));
    assert!(press(&mut s, KeyCode::Esc).is_empty());
    assert!(s.popup.is_none());

    update(&mut s, Msg::Planned(Ok(plan)));
    typed(&mut s, "production");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Execute(p)] if p.request.verb == Verb::Approve));
    assert_eq!(s.actions_in_flight, 1);
}

#[test]
fn ack_on_the_alerts_screen_asks_for_a_comment_where_the_alert_can_be_acknowledged() {
    let (mut s, sandbox) = setup();
    press(&mut s, KeyCode::Char('@'));
    assert_eq!(s.screen, Screen::Alerts);
    // Worst first: the CloudWatch alarm (critical), Dependabot (error), Azure Monitor (warning).
    let first = s.selected_target().unwrap();
    assert!(first.contains(":alarm:inference-api-prod-5xx"), "{first}");
    // CloudWatch has no acknowledgement: no comment asked, the planner says why.
    let effects = press(&mut s, KeyCode::Char('K'));
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    let err = sandbox.plan(request, &s.estate).unwrap_err();
    assert!(err.to_string().contains("CloudWatch alarms have no acknowledgement"), "{err}");

    press(&mut s, KeyCode::Down);
    press(&mut s, KeyCode::Down);
    assert!(s.selected_target().unwrap().contains("Microsoft.AlertsManagement/alerts/"));
    assert!(press(&mut s, KeyCode::Char('K')).is_empty());
    assert!(
        matches!(&s.popup, Some(Popup::Input { prompt, param, .. }) if param == "reason" && prompt.contains("acknowledgement"))
    );
    typed(&mut s, "on it");
    let effects = press(&mut s, KeyCode::Enter);
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((request.verb, request.reason.as_deref()), (Verb::Ack, Some("on it")));
    // Staging: yes/no confirms it; the comment is in the call shown.
    let plan = sandbox.plan(request, &s.estate).unwrap();
    assert!(plan.calls[0].call.ends_with(r#"newState=Acknowledged {"comments":"on it"}"#), "{}", plan.calls[0].call);
    update(&mut s, Msg::Planned(Ok(plan)));
    let effects = press(&mut s, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::Execute(p)] if p.request.verb == Verb::Ack), "{effects:?}");
}

#[test]
fn silence_on_the_alerts_screen_asks_how_long_then_plans_through_the_pipeline() {
    let (mut s, sandbox) = setup();
    press(&mut s, KeyCode::Char('@'));
    // CloudWatch cannot be silenced for a time: nothing asked, the planner says why.
    let effects = press(&mut s, KeyCode::Char('Z'));
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    let err = sandbox.plan(request, &s.estate).unwrap_err();
    assert!(err.to_string().contains("CloudWatch has no timed silence"), "{err}");

    press(&mut s, KeyCode::Down);
    press(&mut s, KeyCode::Down);
    assert!(press(&mut s, KeyCode::Char('Z')).is_empty());
    assert!(
        matches!(&s.popup, Some(Popup::Input { prompt, param, .. }) if param == "for" && prompt.contains("how long"))
    );
    typed(&mut s, "45m");
    let effects = press(&mut s, KeyCode::Enter);
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((request.verb, request.params.get("for").map(String::as_str)), (Verb::Silence, Some("45m")));
    let plan = sandbox.plan(request, &s.estate).unwrap();
    assert!(plan.summary.contains("for 45m"), "{}", plan.summary);
    update(&mut s, Msg::Planned(Ok(plan)));
    let effects = press(&mut s, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::Execute(p)] if p.request.verb == Verb::Silence), "{effects:?}");

    // A duration that is not one is refused by the planner, with what to type.
    let mut bad = request.clone();
    bad.params.insert("for".into(), "soon".into());
    let err = sandbox.plan(&bad, &s.estate).unwrap_err();
    assert!(err.to_string().contains("write 30m, 2h or 1d"), "{err}");
}

#[test]
fn actions_not_offered_on_a_screen_are_explained() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('7'));
    assert!(press(&mut s, KeyCode::Char('a')).is_empty());
    let (msg, _) = s.last_message.clone().unwrap();
    assert!(msg.contains("not offered") && msg.contains("rotate"), "{msg}");
}

#[test]
fn scale_asks_for_the_count_first() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('5'));
    assert!(press(&mut s, KeyCode::Char('S')).is_empty());
    assert!(matches!(s.popup, Some(Popup::Action(_))));
    typed(&mut s, "3");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Plan(r)] if r.params["count"] == "3"));
}

#[test]
fn palette_completes_and_runs() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char(':'));
    typed(&mut s, "sec");
    press(&mut s, KeyCode::Tab);
    assert!(matches!(&s.popup, Some(Popup::Palette { input, .. }) if input == "secrets"));
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.screen, Screen::Secrets);
    press(&mut s, KeyCode::Char(':'));
    typed(&mut s, "theme light");
    assert_eq!(press(&mut s, KeyCode::Enter), [Effect::SetTheme("light".into())]);
}

#[test]
fn mouse_clicks_tabs_and_rows_and_wheel_scrolls() {
    let (mut s, _) = setup();
    let click = |column, row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // Clicks hit what the last frame drew.
    drawn(&mut s);
    // " skydeck │ 1 Overview  2 Runs ..." — "2 Runs" starts after the first tab.
    update(&mut s, click(25, 0));
    assert_eq!(s.screen, Screen::Runs);
    drawn(&mut s);
    // Body starts at y=1; the workflow panel takes 6 rows, then border and header: rows from y=9.
    update(&mut s, click(10, 13));
    assert_eq!(s.list().selected, 4);
    update(
        &mut s,
        Msg::Mouse(MouseEvent { kind: MouseEventKind::ScrollDown, column: 10, row: 10, modifiers: KeyModifiers::NONE }),
    );
    assert_eq!(s.list().selected, 7);
}

#[test]
fn an_unchanged_snapshot_does_not_redraw() {
    let (mut s, sandbox) = setup();
    s.dirty = false;
    update(&mut s, Msg::Source { index: 0, result: Ok(sandbox.snapshot()), at: now() });
    assert!(!s.dirty, "same data, same clock: nothing to draw");
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(1)));
    assert!(!s.dirty, "a tick that changes no state draws nothing");
    update(&mut s, Msg::Tick(now() + chrono::Duration::minutes(5)));
    assert!(s.dirty, "the source went stale: that must show");
}

#[test]
fn selection_survives_refresh_and_stays_in_range() {
    let (mut s, sandbox) = setup();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('G'));
    let last = s.list().selected;
    assert_eq!(last, s.estate.runs.len() - 1);
    let mut smaller = sandbox.snapshot();
    smaller.runs.truncate(3);
    update(&mut s, Msg::Source { index: 0, result: Ok(smaller), at: now() });
    assert_eq!(s.list().selected, 2);
    assert!(s.list().offset <= s.list().selected);
}

#[test]
fn help_is_any_key_to_close() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('?'));
    assert_eq!(s.popup, Some(Popup::Help));
    assert!(press(&mut s, KeyCode::Char('q')).is_empty(), "q closes help, it does not quit");
    assert!(s.popup.is_none());
}

#[test]
fn a_dispatched_run_is_followed_once_it_appears() {
    use skydeck::actions::{ActionRequest, Done, Outcome};
    let (mut s, sandbox) = setup();
    let run = s.estate.runs.iter().find(|r| r.status == skydeck::model::RunStatus::Completed).unwrap().clone();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Dispatch, &run.id), &s.estate).unwrap();
    let effects = update(&mut s, Msg::ActionDone(Outcome { plan, result: Ok(Done::new("dispatched")) }));
    assert!(effects.contains(&Effect::RefreshAll));
    assert!(s.run_detail.is_none(), "nothing to follow until a poll lists the new run");
    let mut later = sandbox.snapshot();
    let mut new_run = run.clone();
    new_run.id = format!("{}/actions/runs/1", run.repo);
    new_run.created_at = now() + chrono::Duration::seconds(5);
    later.runs.insert(0, new_run.clone());
    update(&mut s, Msg::Source { index: 0, result: Ok(later), at: now() + chrono::Duration::seconds(6) });
    assert_eq!(s.screen, Screen::Runs);
    assert_eq!(s.run_detail.as_deref(), Some(new_run.id.as_str()));
}

#[test]
fn run_filters_match_fields_and_failing_first_reorders() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "repo:inference status:failure");
    press(&mut s, KeyCode::Enter);
    let rows = skydeck::app::rows(&s, Screen::Runs);
    assert!(!rows.is_empty());
    for row in &rows {
        let skydeck::app::Row::Run(i) = row else { panic!() };
        let r = &s.estate.runs[*i];
        assert!(r.repo.contains("inference") && r.conclusion == Some(skydeck::model::Conclusion::Failure), "{r:?}");
    }
    press(&mut s, KeyCode::Esc);
    press(&mut s, KeyCode::Char('F'));
    let rows = skydeck::app::rows(&s, Screen::Runs);
    let levels: Vec<_> = rows
        .iter()
        .map(|r| match r {
            skydeck::app::Row::Run(i) => s.estate.runs[*i].level(),
            _ => panic!(),
        })
        .collect();
    let first_ok = levels.iter().position(|l| *l != skydeck::model::Level::Crit).unwrap();
    assert!(first_ok > 0 && levels[first_ok..].iter().all(|l| *l != skydeck::model::Level::Crit));
}

#[test]
fn dispatch_shows_a_form_of_the_workflow_inputs() {
    use skydeck::actions::InputSpec;
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('2'));
    let effects = press(&mut s, KeyCode::Char('D'));
    let Some(Effect::PrepareInputs(request)) = effects.first().cloned() else { panic!("{effects:?}") };
    let spec = |name: &str, required, options: &[&str]| InputSpec {
        name: name.into(),
        description: String::new(),
        required,
        default: None,
        options: options.iter().map(std::string::ToString::to_string).collect(),
        kind: if options.is_empty() { "string".into() } else { "choice".into() },
    };
    let specs = vec![spec("environment", true, &["staging", "production"]), spec("version", true, &[])];
    update(&mut s, Msg::InputsReady { request, result: Ok(specs) });
    assert!(matches!(s.popup, Some(Popup::Form { .. })));
    press(&mut s, KeyCode::Right); // staging -> production
    // A required empty field blocks the plan.
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(matches!(&s.popup, Some(Popup::Form { error: Some(e), .. }) if e.contains("version")));
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "1.4.0");
    let effects = press(&mut s, KeyCode::Enter);
    let Some(Effect::Plan(req)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(req.params["input.environment"], "production");
    assert_eq!(req.params["input.version"], "1.4.0");
}

#[test]
fn configured_environments_stay_listed_after_sources_report() {
    use skydeck::model::{Environment, Snapshot, Tier};
    let mut s = AppState::new(&[("github".into(), 30)], now(), skydeck::keymap::Keymap::default())
        .with_catalog(skydeck::providers::CATALOG);
    s.configured_environments = ["production", "staging"]
        .map(|n| Environment { name: n.into(), tier: Tier::from_name(n), protection_rules: Vec::new() })
        .to_vec();
    s.merge();
    let only_staging = Snapshot {
        environments: vec![Environment {
            name: "staging".into(),
            tier: Tier::Staging,
            protection_rules: vec!["wait timer 30m".into()],
        }],
        ..Snapshot::default()
    };
    update(&mut s, Msg::Source { index: 0, result: Ok(only_staging), at: now() });
    let names: Vec<_> = s.estate.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["production", "staging"]);
    assert_eq!(s.estate.environments[1].protection_rules, ["wait timer 30m"]);
}

#[test]
fn while_an_incident_is_open_alert_changes_and_deploys_are_recorded() {
    use skydeck::incident::EntryKind;
    let (mut s, sandbox) = setup();
    s.incident = Some(open_incident("t", None));
    let mut next = sandbox.snapshot();
    next.health.retain(|h| h.level != skydeck::model::Level::Crit);
    let mut deploy = next.deployments[0].clone();
    deploy.id = "acme/shop-web/deployments/42".into();
    next.deployments.insert(0, deploy);
    let effects = update(&mut s, Msg::Source { index: 0, result: Ok(next), at: now() });
    let entries: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::IncidentEntry(x) => Some(x),
            _ => None,
        })
        .collect();
    assert!(entries.iter().any(|e| e.kind == EntryKind::Cleared && e.text.contains("inference-api")), "{entries:?}");
    assert!(entries.iter().any(|e| e.kind == EntryKind::Deploy), "{entries:?}");
}

#[test]
fn incident_keys_record_steps_notes_and_close() {
    use skydeck::incident::EntryKind;
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('!'));
    press(&mut s, KeyCode::Char('s'));
    typed(&mut s, "checkout 503");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::StartIncident { title, .. }] if title == "checkout 503"), "{effects:?}");
    s.incident = Some(open_incident("checkout 503", Some("staging")));
    press(&mut s, KeyCode::Char('t'));
    typed(&mut s, "#ops and support");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::IncidentEntry(e)] if e.kind == EntryKind::Step && e.text == "told: #ops and support")
    );
    // Rows are the affected environment's compute: rollback is one key away.
    assert!(s.selected_target().unwrap().contains("stg"));
    press(&mut s, KeyCode::Char('w'));
    assert!(matches!(s.popup, Some(Popup::Changes { .. })));
    press(&mut s, KeyCode::Esc);
    press(&mut s, KeyCode::Char('C'));
    typed(&mut s, "rolled back");
    assert_eq!(press(&mut s, KeyCode::Enter), [Effect::CloseIncident("rolled back".into())]);
}

fn log(ms: i64, source: &str, severity: skydeck::model::Severity, text: &str) -> skydeck::model::LogLine {
    skydeck::model::LogLine {
        at: now() + chrono::Duration::milliseconds(ms),
        source: source.into(),
        severity,
        text: text.into(),
    }
}

#[test]
fn log_filter_scans_between_inputs_and_follows_new_lines() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('8'));
    let lines: Vec<_> =
        (0..50_000).map(|i| log(i, "web", if i % 1000 == 0 { Error } else { Info }, &format!("GET /x {i}"))).collect();
    update(&mut s, Msg::Logs { index: 0, lines });
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "get /x 1\\d{3}$");
    press(&mut s, KeyCode::Enter);
    // Typing returned at once; the scan runs in slices.
    let mut steps = 0;
    while s.log_filter.pending(&s.logs) {
        update(&mut s, Msg::FilterStep);
        steps += 1;
    }
    assert!(steps >= 1);
    assert_eq!(s.log_filter.live(&s.logs).len(), 1000, "GET /x 1000..1999");
    // New lines are scanned as they arrive: follow mode works filtered.
    press(&mut s, KeyCode::Char('f'));
    update(
        &mut s,
        Msg::Logs {
            index: 0,
            lines: vec![log(60_000, "web", Info, "GET /x 1234"), log(60_001, "web", Info, "GET /y")],
        },
    );
    while s.log_filter.pending(&s.logs) {
        update(&mut s, Msg::FilterStep);
    }
    assert_eq!(s.log_filter.live(&s.logs).len(), 1001);
    assert!(s.follow_logs);
    assert_eq!(s.list().selected, 1000, "following: the newest match is selected");
}

#[test]
fn job_logs_open_at_the_first_error_and_jump_to_time_works() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    let lines = vec![
        log(0, "repo job 1", Info, "##[group]Run tests"),
        log(10, "repo job 1", Info, "test a ... ok"),
        log(20, "repo job 1", Error, "test b ... FAILED"),
        log(30, "repo job 1", Info, "done"),
    ];
    update(&mut s, Msg::LogLoaded { target: "job".into(), result: Ok(lines) });
    while s.log_filter.pending(&s.logs) {
        update(&mut s, Msg::FilterStep);
    }
    assert_eq!(s.screen, Screen::Logs);
    assert_eq!(skydeck::app::update::selected_log_line(&s).map(|l| l.contains("FAILED")), Some(true));
    press(&mut s, KeyCode::Esc); // clear the filter
    press(&mut s, KeyCode::Char('T'));
    typed(&mut s, &(now() + chrono::Duration::milliseconds(30)).to_rfc3339());
    press(&mut s, KeyCode::Enter);
    assert_eq!(skydeck::app::update::selected_log_line(&s).map(|l| l.ends_with("done")), Some(true));
    let effects = press(&mut s, KeyCode::Char('y'));
    assert!(matches!(&effects[..], [Effect::Copy(t)] if t.ends_with("done")));
}

fn with_plugins(s: &mut AppState, texts: &[&str]) {
    let files = texts
        .iter()
        .enumerate()
        .map(|(i, t)| skydeck::plugins::PluginFile {
            stem: format!("p{i}"),
            path: format!("p{i}.toml"),
            text: t.to_string(),
            shipped: false,
        })
        .collect();
    let loaded = skydeck::plugins::load(files, &s.keymap);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    s.plugins = loaded.plugins;
}

fn ctrl(state: &mut AppState, c: char) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

const ECHO: &str = r#"name = "echo-name"
key = "ctrl-e"
description = "say the name"
scopes = ["resources"]
command = "echo"
args = ["{resource.name}"]
output = "capture"
"#;

#[test]
fn a_plugin_key_runs_on_its_screens_only() {
    let (mut s, _) = setup();
    with_plugins(&mut s, &[ECHO]);
    // Not offered on the Overview: the key does nothing.
    assert!(ctrl(&mut s, 'e').is_empty());
    assert!(s.popup.is_none() && s.actions_in_flight == 0);
    press(&mut s, KeyCode::Char('5'));
    let selected = s.selected_target().unwrap();
    let effects = ctrl(&mut s, 'e');
    let Some(Effect::RunPlugin(run)) = effects.first() else { panic!("{effects:?}") };
    let r = s.estate.resources.iter().find(|r| r.id == selected).unwrap();
    assert_eq!(run.argv, ["echo", r.name.as_str()]);
    assert_eq!(run.target, r.id);
    assert_eq!(run.output, skydeck::plugins::Output::Capture);
    assert_eq!(s.actions_in_flight, 1);
    // The palette offers it here, and runs it.
    assert!(skydeck::app::palette_candidates(&s, "plug").contains(&"plugin echo-name".to_string()));
    press(&mut s, KeyCode::Char(':'));
    typed(&mut s, "plugin echo");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.first(), Some(Effect::RunPlugin(_))), "{effects:?}");
    press(&mut s, KeyCode::Char('2'));
    assert!(!skydeck::app::palette_candidates(&s, "plug").iter().any(|c| c.contains("echo-name")));
}

#[test]
fn the_result_of_a_captured_run_shows_in_a_popup_and_in_logs() {
    let (mut s, _) = setup();
    with_plugins(&mut s, &[ECHO]);
    press(&mut s, KeyCode::Char('5'));
    let effects = ctrl(&mut s, 'e');
    let Some(Effect::RunPlugin(run)) = effects.first().cloned() else { panic!("{effects:?}") };
    let outcome = skydeck::plugins::PluginOutcome {
        run: *run,
        exit: skydeck::plugins::Exit::Code(0),
        output: vec!["inference-api-prod".into()],
        duration: std::time::Duration::from_millis(40),
        audit_error: None,
    };
    let effects = update(&mut s, Msg::PluginDone(Box::new(outcome)));
    assert_eq!(effects, [Effect::LoadAudit]);
    assert_eq!(s.actions_in_flight, 0);
    let Some(Popup::Output { title, lines, .. }) = &s.popup else { panic!("{:?}", s.popup) };
    assert!(title.starts_with("echo-name on ") && title.contains("exit 0"), "{title}");
    assert_eq!(lines, &["inference-api-prod"]);
    assert!(s.logs.iter().any(|l| l.source == "plugin:echo-name" && l.text == "inference-api-prod"));
    press(&mut s, KeyCode::Esc);
    assert!(s.popup.is_none());
}

#[test]
fn a_plugin_asks_its_inputs_then_confirms_before_it_runs() {
    let (mut s, _) = setup();
    with_plugins(
        &mut s,
        &[r#"name = "exec"
key = "E"
scopes = ["ECS service"]
command = "aws"
args = ["ecs", "execute-command", "--cluster", "{cluster}", "--command", "{input.shell}", "--note={input.note?}"]
output = "terminal"
confirm = true
[[inputs]]
name = "shell"
kind = "choice"
options = ["/bin/sh", "/bin/bash"]
[[inputs]]
name = "note"
required = false
"#],
    );
    press(&mut s, KeyCode::Char('5'));
    let row_of = |s: &AppState, kind: &str| {
        skydeck::app::rows(s, Screen::Resources)
            .iter()
            .position(|r| {
                let skydeck::app::Row::Resource(i) = r else { return false };
                let r = &s.estate.resources[*i];
                r.kind == kind && r.environment == "staging"
            })
            .unwrap()
    };
    // The staging ECS service (staging: a y/n confirmation).
    s.lists[Screen::Resources.index()].selected = row_of(&s, "ECS service");
    assert!(press(&mut s, KeyCode::Char('E')).is_empty());
    assert!(matches!(s.popup, Some(Popup::PluginForm { .. })), "{:?}", s.popup);
    press(&mut s, KeyCode::Right); // /bin/sh -> /bin/bash
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let Some(Popup::PluginConfirm { run, .. }) = &s.popup else { panic!("{:?}", s.popup) };
    assert_eq!(
        run.argv,
        ["aws", "ecs", "execute-command", "--cluster", "inference-stg", "--command", "/bin/bash"],
        "the empty optional input leaves its argument out"
    );
    assert!(press(&mut s, KeyCode::Char('n')).is_empty());
    assert!(s.popup.is_none());
    assert!(s.last_message.as_ref().unwrap().0.contains("cancelled"));
    // Again, confirmed.
    press(&mut s, KeyCode::Char('E'));
    press(&mut s, KeyCode::Enter);
    let effects = press(&mut s, KeyCode::Char('y'));
    let Some(Effect::RunPlugin(run)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(run.argv[6], "/bin/sh");
    // On another kind the key explains itself.
    s.lists[Screen::Resources.index()].selected = row_of(&s, "App Service");
    assert!(press(&mut s, KeyCode::Char('E')).is_empty());
    assert!(s.popup.is_none());
    let message = &s.last_message.as_ref().unwrap().0;
    assert_eq!(message, "plugin 'exec' works on ECS service, not on the selected App Service");
}

#[test]
fn a_dangerous_plugin_on_production_asks_for_the_name_even_without_confirm() {
    let (mut s, _) = setup();
    with_plugins(
        &mut s,
        &["name = \"danger\"\nkey = \"E\"\nscopes = [\"resources\"]\ncommand = \"true\"\ndangerous = true\n"],
    );
    press(&mut s, KeyCode::Char('5'));
    let prod = skydeck::app::rows(&s, Screen::Resources)
        .iter()
        .position(|r| matches!(r, skydeck::app::Row::Resource(i) if s.estate.resources[*i].environment == "production"))
        .unwrap();
    s.lists[Screen::Resources.index()].selected = prod;
    press(&mut s, KeyCode::Char('E'));
    let Some(Popup::PluginConfirm { run, .. }) = s.popup.clone() else { panic!("{:?}", s.popup) };
    assert!(press(&mut s, KeyCode::Char('y')).is_empty(), "y is typed, not a confirmation");
    press(&mut s, KeyCode::Backspace);
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(matches!(&s.popup, Some(Popup::PluginConfirm { error: Some(_), .. })));
    typed(&mut s, &run.target_name);
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.first(), Some(Effect::RunPlugin(_))), "{effects:?}");
}

#[test]
fn dispatching_a_deploy_to_production_asks_for_the_environment_name() {
    use skydeck::actions::{ActionRequest, Confirmation};
    let (mut s, sandbox) = setup();
    let estate = sandbox.snapshot();
    let run =
        estate.runs.iter().find(|r| r.workflow == "Deploy" && !estate.approvals.iter().any(|a| a.run == r.id)).unwrap();
    let confirm_for = |s: &mut AppState, environment: &str| {
        let mut request = ActionRequest::new(Verb::Dispatch, &run.id);
        request.params.insert("input.environment".into(), environment.into());
        let plan = sandbox.plan(&request, &estate);
        update(s, Msg::Planned(plan));
        match &s.popup {
            Some(Popup::Confirm { plan, .. }) => plan.confirmation(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(confirm_for(&mut s, "staging"), Confirmation::YesNo);
    s.popup = None;
    assert_eq!(confirm_for(&mut s, "production"), Confirmation::TypeName("production".into()));
    // `y` does not pass a typed confirmation; the name does.
    assert!(press(&mut s, KeyCode::Char('y')).iter().all(|e| !matches!(e, Effect::Execute(_))));
    while matches!(&s.popup, Some(Popup::Confirm { input, .. }) if !input.is_empty()) {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "production");
    let effects = press(&mut s, KeyCode::Enter);
    let Some(Effect::Execute(plan)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((plan.environment.as_str(), plan.tier), ("production", skydeck::model::Tier::Prod));
}

fn select_row(s: &mut AppState, screen: Screen, pick: impl Fn(&AppState, &skydeck::app::Row) -> bool) {
    let rows = skydeck::app::rows(s, screen);
    let at = rows.iter().position(|r| pick(s, r)).expect("a matching row");
    s.lists[screen.index()].selected = at;
}

fn clear_field(s: &mut AppState) {
    for _ in 0..64 {
        press(s, KeyCode::Backspace);
    }
}

fn form(s: &AppState) -> &skydeck::app::forms::ActionForm {
    match &s.popup {
        Some(Popup::Action(f)) => f,
        other => panic!("no form: {other:?}"),
    }
}

#[test]
fn restore_form_shows_the_window_checks_the_time_and_sets_it_like_the_cli() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('6'));
    select_row(
        &mut s,
        Screen::Backups,
        |s, r| matches!(r, skydeck::app::Row::Backup(i) if s.estate.backups[*i].earliest_restore.is_some()),
    );
    let backup = s.estate.backups.iter().find(|b| Some(b.id.clone()) == s.selected_target()).unwrap().clone();
    let (earliest, latest) = (backup.earliest_restore.unwrap(), backup.latest_restore.unwrap());
    let secs = |t: Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(press(&mut s, KeyCode::Char('o')).is_empty());
    let header = form(&s).header(s.now).join("\n");
    assert!(header.contains(&format!("{} .. {}", secs(earliest), secs(latest))), "{header}");
    // Out of the window: a clear error in the form, no plan.
    clear_field(&mut s);
    typed(&mut s, &secs(earliest - chrono::Duration::hours(1)));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let error = form(&s).error.clone().unwrap();
    assert!(error.contains("before the earliest restorable point"), "{error}");
    clear_field(&mut s);
    typed(&mut s, "yesterday-ish");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(form(&s).error.as_deref().unwrap().contains("is not a time"));
    // In the window: exactly where `act restore --time` puts it.
    let at = latest - chrono::Duration::minutes(90);
    let at = if at < earliest { earliest } else { at };
    clear_field(&mut s);
    typed(&mut s, &secs(at));
    let effects = press(&mut s, KeyCode::Enter);
    let [Effect::Plan(r)] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!((r.verb, r.target.as_str()), (Verb::Restore, backup.id.as_str()));
    assert_eq!(r.params.get("time"), Some(&secs(at)));
    assert!(s.popup.is_none());
    // Default: the latest restorable point.
    press(&mut s, KeyCode::Char('o'));
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Plan(r)] if r.params["time"] == secs(latest)), "{effects:?}");
    // `now-15m` relative to the clock, checked against the window like any other time.
    let parsed = skydeck::app::forms::parse_restore_time("now-15m", now(), None, None).unwrap();
    assert_eq!(parsed, Some(now() - chrono::Duration::minutes(15)));
}

#[test]
fn rotate_form_takes_a_hidden_value_into_secret_input_like_value_stdin() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('7'));
    let target = s.selected_target().unwrap();
    assert!(press(&mut s, KeyCode::Char('t')).is_empty());
    typed(&mut s, "hunter2-Sup3r");
    // Held only in the form; never printed, even by Debug.
    assert!(!format!("{:?}", s.popup).contains("hunter2"), "{:?}", s.popup);
    let effects = press(&mut s, KeyCode::Enter);
    let [Effect::Plan(r)] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!((r.verb, r.target.clone()), (Verb::Rotate, target));
    assert_eq!(r.secret_input.as_deref(), Some("hunter2-Sup3r"));
    assert_eq!(r.params.get("value_from_stdin").map(String::as_str), Some("true"));
    assert!(!format!("{effects:?}").contains("hunter2"));
    // Key Vault stores what it is given: nothing typed is an error in the form.
    press(&mut s, KeyCode::Char('t'));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(form(&s).error.as_deref().unwrap().contains("required: new value"), "{:?}", form(&s).error);
    press(&mut s, KeyCode::Esc);
    // A Secrets Manager secret with nothing typed: its rotation function makes the value.
    select_row(
        &mut s,
        Screen::Secrets,
        |s, r| matches!(r, skydeck::app::Row::Secret(i) if s.estate.secrets[*i].provider == skydeck::providers::aws::PROVIDER),
    );
    press(&mut s, KeyCode::Char('t'));
    assert!(form(&s).header(s.now).join(" ").contains("rotation function"));
    let effects = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Plan(r)] if r.secret_input.is_none() && !r.params.contains_key("value_from_stdin")),
        "{effects:?}"
    );
    // Esc drops the value.
    press(&mut s, KeyCode::Char('t'));
    typed(&mut s, "dropped");
    assert!(press(&mut s, KeyCode::Esc).is_empty());
    assert!(s.popup.is_none());
}

#[test]
fn a_value_typed_in_the_rotate_form_is_planned_without_being_shown() {
    let (mut s, sandbox) = setup();
    press(&mut s, KeyCode::Char('7'));
    press(&mut s, KeyCode::Char('t'));
    typed(&mut s, "hunter2-Sup3r");
    let effects = press(&mut s, KeyCode::Enter);
    let [Effect::Plan(r)] = effects.as_slice() else { panic!("{effects:?}") };
    let plan = sandbox.plan(r, &sandbox.snapshot()).unwrap();
    assert!(plan.summary.contains("the value typed (13 bytes)"), "{}", plan.summary);
    assert!(!format!("{plan:?} {}", serde_json::to_string(&plan).unwrap()).contains("hunter2"));
}

#[test]
fn scale_form_shows_the_count_and_limit_and_refuses_out_of_range() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('5'));
    select_row(&mut s, Screen::Resources, |s, r| {
        matches!(r, skydeck::app::Row::Resource(i)
            if s.estate.resources[*i].kind == "ECS service" && s.estate.resources[*i].environment == "production")
    });
    assert!(press(&mut s, KeyCode::Char('S')).is_empty());
    let header = form(&s).header(s.now).join("\n");
    assert!(header.contains("current count: 4") && header.contains("ECS desired count, 0 to 1000"), "{header}");
    typed(&mut s, "5000");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(form(&s).error.as_deref().unwrap().contains("above the limit of 1000"), "{:?}", form(&s).error);
    clear_field(&mut s);
    typed(&mut s, "4");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(form(&s).error.as_deref().unwrap().contains("already runs 4"));
    clear_field(&mut s);
    typed(&mut s, "3");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Plan(r)] if r.verb == Verb::Scale && r.params["count"] == "3"));
    // Cloud Run: its max instances.
    select_row(&mut s, Screen::Resources, |s, r| {
        matches!(r, skydeck::app::Row::Resource(i)
            if s.estate.resources[*i].kind == "Cloud Run service" && s.estate.resources[*i].environment == "staging")
    });
    press(&mut s, KeyCode::Char('S'));
    typed(&mut s, "4");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(form(&s).error.as_deref().unwrap().contains("Cloud Run max instances 3"), "{:?}", form(&s).error);
}

#[test]
fn starting_an_incident_chooses_severity_and_environment() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Down); // staging on the Overview: the default environment
    press(&mut s, KeyCode::Char('!'));
    press(&mut s, KeyCode::Char('s'));
    let options = &form(&s).fields[2].0.options;
    let names: Vec<String> = s.estate.environments.iter().map(|e| e.name.clone()).collect();
    assert_eq!(&options[..names.len()], &names[..]);
    assert_eq!(form(&s).fields[2].1, "staging");
    // Enter without a title says what is missing.
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert!(form(&s).error.as_deref().unwrap().contains("title"));
    typed(&mut s, "checkout 503");
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Left); // sev2 -> sev1
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Left); // staging -> the one before it
    let before = names[names.iter().position(|n| n == "staging").unwrap() - 1].clone();
    let effects = press(&mut s, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::StartIncident { title: "checkout 503".into(), severity: "sev1".into(), environment: Some(before) }]
    );
    // "none" records no environment.
    press(&mut s, KeyCode::Char('s'));
    typed(&mut s, "pager storm");
    press(&mut s, KeyCode::Up); // to the environment field
    // From staging (the default again) left past the first environment wraps to "none".
    for _ in 0..=names.iter().position(|n| n == "staging").unwrap() {
        press(&mut s, KeyCode::Left);
    }
    assert_eq!(form(&s).fields[2].1, "none");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::StartIncident { environment: None, severity, .. }] if severity == "sev2"));
}

fn closed_incident(id: i64) -> skydeck::incident::Incident {
    use skydeck::incident::{Entry, EntryKind};
    skydeck::incident::Incident {
        id,
        title: format!("incident {id}"),
        severity: "sev3".into(),
        environment: Some("staging".into()),
        opened_at: now() - chrono::Duration::hours(30),
        opened_by: "maria".into(),
        closed_at: Some(now() - chrono::Duration::hours(29)),
        resolution: Some("rolled back".into()),
        timeline: vec![Entry {
            at: now() - chrono::Duration::hours(30),
            kind: EntryKind::Opened,
            who: "maria".into(),
            text: "sev3 opened".into(),
        }],
    }
}

#[test]
fn closed_incidents_are_listed_and_a_postmortem_is_exported() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('!'));
    assert_eq!(press(&mut s, KeyCode::Char('h')), [Effect::LoadIncidents]);
    let mut open = closed_incident(9);
    open.closed_at = None;
    update(&mut s, Msg::IncidentHistory(vec![open, closed_incident(8), closed_incident(5)]));
    let history = s.incident_history.clone().unwrap();
    assert_eq!(history.incidents.iter().map(|i| i.id).collect::<Vec<_>>(), [8, 5], "only the closed ones");
    press(&mut s, KeyCode::Down);
    assert!(press(&mut s, KeyCode::Char('e')).is_empty());
    assert!(matches!(&s.popup, Some(Popup::Note { value, .. }) if value == "skydeck-incident-5-postmortem.md"));
    let effects = press(&mut s, KeyCode::Enter);
    // The Markdown `skydeck incident export 5` prints.
    assert_eq!(
        effects,
        [Effect::ExportIncident {
            id: 5,
            path: "skydeck-incident-5-postmortem.md".into(),
            markdown: closed_incident(5).to_markdown()
        }]
    );
    press(&mut s, KeyCode::Char('h'));
    assert!(s.incident_history.is_none());
}

#[test]
fn restore_and_scale_on_a_target_they_do_not_fit_go_straight_to_the_planner() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('5'));
    select_row(
        &mut s,
        Screen::Resources,
        |s, r| matches!(r, skydeck::app::Row::Resource(i) if s.estate.resources[*i].kind == "ECS service"),
    );
    // A service has no backups: the planner explains, no empty window is shown.
    assert!(matches!(press(&mut s, KeyCode::Char('o')).as_slice(), [Effect::Plan(r)] if r.verb == Verb::Restore));
    select_row(
        &mut s,
        Screen::Resources,
        |s, r| matches!(r, skydeck::app::Row::Resource(i) if s.estate.resources[*i].kind == "RDS instance"),
    );
    assert!(matches!(press(&mut s, KeyCode::Char('S')).as_slice(), [Effect::Plan(r)] if r.verb == Verb::Scale));
    // A database on the Resources screen gets the restore form of its backups.
    assert!(press(&mut s, KeyCode::Char('o')).is_empty());
    assert!(matches!(&s.popup, Some(Popup::Action(_))));
}

#[test]
fn the_closed_incident_keys_are_the_incident_screens_own() {
    use skydeck::plugins::{PluginFile, load};
    let file = |key: &str| PluginFile {
        stem: "a".into(),
        path: "user/a.toml".into(),
        text: format!("key = \"{key}\"\ncommand = \"true\"\nscopes = [\"incident\"]\n"),
        shipped: false,
    };
    let keymap = skydeck::keymap::Keymap::default();
    for (key, what) in [("h", "closed incidents"), ("e", "export a postmortem")] {
        let errors: Vec<String> =
            load(vec![file(key)], &keymap).errors.iter().map(std::string::ToString::to_string).collect();
        assert!(
            errors.first().is_some_and(|e| e.contains(&format!("Incident screen's key for '{what}'"))),
            "{errors:?}"
        );
    }
}

#[test]
fn a_logs_plugin_on_a_logs_key_is_a_load_error() {
    use skydeck::plugins::{PluginFile, load};
    let keymap = skydeck::keymap::Keymap::default();
    for key in ["v", "w", "t", "T", "y", "s"] {
        let file = PluginFile {
            stem: "a".into(),
            path: "user/a.toml".into(),
            text: format!("key = \"{key}\"\ncommand = \"true\"\nscopes = [\"logs\"]\n"),
            shipped: false,
        };
        let errors: Vec<String> =
            load(vec![file], &keymap).errors.iter().map(std::string::ToString::to_string).collect();
        // Refused, either as the Logs screen's own key or as a keymap key ('t' is rotate's).
        assert!(
            errors.first().is_some_and(|e| e.contains("Logs screen's key for") || e.contains("skydeck's")),
            "{key}: {errors:?}"
        );
    }
}

#[test]
fn copied_log_lines_carry_no_escape_sequences() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('8'));
    let text = "\u{1b}[31mred\u{1b}[0m \u{1b}]52;c;UFdORUQ=\u{7}done";
    update(&mut s, Msg::Logs { index: 0, lines: vec![log(0, "ci", Error, text)] });
    let effects = press(&mut s, KeyCode::Char('y'));
    let [Effect::Copy(copied)] = effects.as_slice() else { panic!("{effects:?}") };
    assert!(copied.ends_with("ERROR ci red done"), "{copied:?}");
}

#[test]
fn the_log_filter_matches_coloured_lines_as_they_are_shown() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('8'));
    let lines = vec![log(0, "ci", Error, "\u{1b}[1;31merror\u{1b}[0m: build failed"), log(1, "ci", Info, "no error")];
    update(&mut s, Msg::Logs { index: 0, lines });
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "^error: build");
    press(&mut s, KeyCode::Enter);
    while s.log_filter.pending(&s.logs) {
        update(&mut s, Msg::FilterStep);
    }
    assert_eq!(s.log_filter.live(&s.logs).len(), 1);
}

/// The Runs screen with the first run that has jobs open in its detail, the cursor on its
/// first job.
fn open_a_run(s: &mut AppState) -> String {
    press(s, KeyCode::Char('2'));
    let index = s.estate.runs.iter().position(|r| !r.jobs.is_empty()).expect("a demo run with jobs");
    for _ in 0..index {
        press(s, KeyCode::Down);
    }
    press(s, KeyCode::Enter);
    s.run_detail.clone().expect("the run detail is open")
}

#[test]
fn esc_from_a_job_log_returns_to_the_run_it_came_from() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    let run = open_a_run(&mut s);
    let effects = press(&mut s, KeyCode::Enter);
    let [Effect::OpenLog(job)] = effects.as_slice() else { panic!("{effects:?}") };
    let lines = vec![log(0, "repo job 1", Info, "step one"), log(10, "repo job 1", Error, "step two FAILED")];
    update(&mut s, Msg::LogLoaded { target: job.clone(), result: Ok(lines) });
    assert_eq!(s.screen, Screen::Logs);
    assert!(s.last_message.as_ref().is_some_and(|(m, _)| m.contains("esc returns to the run")), "{:?}", s.last_message);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.screen, Screen::Runs);
    assert_eq!(s.run_detail.as_deref(), Some(run.as_str()));
    assert!(s.lists[Screen::Logs.index()].filter.is_empty(), "the job's filter is not left on the Logs screen");
    // A second esc leaves the detail for the list, as always.
    press(&mut s, KeyCode::Esc);
    assert_eq!((s.screen, s.run_detail.as_deref()), (Screen::Runs, None));
}

#[test]
fn a_job_log_reached_another_way_keeps_esc_as_clear_the_filter() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    open_a_run(&mut s);
    press(&mut s, KeyCode::Enter); // asks for the log...
    press(&mut s, KeyCode::Char('3')); // ...then goes elsewhere before it arrives
    update(&mut s, Msg::LogLoaded { target: "job".into(), result: Ok(vec![log(0, "repo job 1", Info, "x")]) });
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.screen, Screen::Logs, "esc clears the filter first");
    assert!(s.list().filter.is_empty());
}

#[test]
fn status_messages_expire_so_the_key_hints_come_back() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('F'));
    assert!(s.last_message.is_some());
    s.dirty = false;
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(2)));
    assert!(s.last_message.is_some(), "a message stays a few seconds");
    assert!(!s.dirty, "an idle tick draws nothing");
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(6)));
    assert!(s.last_message.is_none(), "gone after a few seconds");
    assert!(s.dirty, "one redraw brings the hints back");
    s.dirty = false;
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(7)));
    assert!(!s.dirty, "and nothing more while idle");

    // A key after the message's time is up clears it (and may set its own).
    press(&mut s, KeyCode::Char('F'));
    let (first, _) = s.last_message.clone().unwrap();
    update(&mut s, Msg::Tick(now() + chrono::Duration::seconds(13)));
    assert!(s.last_message.is_none());
    press(&mut s, KeyCode::Char('F'));
    let (second, _) = s.last_message.clone().unwrap();
    assert_ne!(first, second, "a new message shows at once");
}

#[test]
fn the_run_detail_does_not_take_the_runs_filter() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "deploy");
    press(&mut s, KeyCode::Enter);
    let filtered = skydeck::app::rows(&s, Screen::Runs).len();
    press(&mut s, KeyCode::Enter);
    let run = s.run_detail.clone().expect("detail open");
    let jobs: usize =
        s.estate.runs.iter().find(|r| r.id == run).map(|r| r.jobs.iter().map(|j| 1 + j.steps.len()).sum()).unwrap();
    assert_eq!(skydeck::app::rows(&s, Screen::Runs).len(), jobs, "every job and step of the run");
    // `/` in the detail does not edit the list's filter behind it.
    press(&mut s, KeyCode::Char('/'));
    assert!(!s.editing_filter);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.run_detail, None);
    assert_eq!(s.list().filter, "deploy", "back in the list, its filter is still there");
    assert_eq!(skydeck::app::rows(&s, Screen::Runs).len(), filtered);
}

#[test]
fn enter_opens_the_full_record_on_deployments_health_backups_secrets_and_audit() {
    let (mut s, _) = setup();
    s.audit = vec![skydeck::store::AuditEntry {
        seq: 7,
        action_id: None,
        at: now(),
        user: "maria".into(),
        verb: "restore".into(),
        target: "/subscriptions/0/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/shop-pg-prod"
            .into(),
        target_name: "shop-pg-prod-with-a-very-long-name-that-a-table-would-cut".into(),
        environment: "production".into(),
        source: "azure".into(),
        phase: skydeck::store::AuditPhase::Started,
        reason: Some("restore drill".into()),
        detail: "started: restore shop-pg-prod as it was at 2026-11-23T07:55:00Z into a NEW server".into(),
    }];
    for (key, expect) in [
        ('3', "reviewers"),
        ('4', "url"),
        ('6', "earliest restore"),
        ('7', "next rotation"),
        ('9', "shop-pg-prod-with-a-very-long-name-that-a-table-would-cut"),
    ] {
        press(&mut s, KeyCode::Char(key));
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        let Some(Popup::Output { lines, .. }) = &s.popup else { panic!("{key}: no detail: {:?}", s.popup) };
        let text = lines.join("\n");
        assert!(text.contains(expect), "{key}: {text}");
        assert!(text.contains("production") || text.contains("staging") || text.contains("dev"), "{key}: {text}");
        press(&mut s, KeyCode::Esc);
        assert!(s.popup.is_none(), "{key}: esc closes the detail");
    }
}

#[test]
fn the_mouse_wheel_scrolls_a_long_confirmation() {
    let (mut s, sandbox) = setup();
    s.size = (80, 24);
    press(&mut s, KeyCode::Char('7'));
    let id = s.estate.secrets.iter().find(|x| x.name == "AZURE_CLIENT_SECRET_PRODUCTION").unwrap().id.clone();
    let mut plan = sandbox.plan(&skydeck::actions::ActionRequest::new(Verb::Rotate, id), &s.estate).unwrap();
    for i in 0..20 {
        plan.calls
            .push(skydeck::actions::PlannedCall { description: format!("step {i}"), call: format!("POST /step/{i}") });
    }
    update(&mut s, Msg::Planned(Ok(plan)));
    let wheel = |kind| Msg::Mouse(MouseEvent { kind, column: 10, row: 10, modifiers: KeyModifiers::NONE });
    update(&mut s, wheel(MouseEventKind::ScrollDown));
    update(&mut s, wheel(MouseEventKind::ScrollDown));
    assert!(matches!(s.popup, Some(Popup::Confirm { scroll: 2, .. })), "{:?}", s.popup);
    update(&mut s, wheel(MouseEventKind::ScrollUp));
    assert!(matches!(s.popup, Some(Popup::Confirm { scroll: 1, .. })));
    // A click does nothing to the confirmation: it is still open, nothing sent.
    assert!(update(&mut s, wheel(MouseEventKind::Down(MouseButton::Left))).is_empty());
    assert!(matches!(s.popup, Some(Popup::Confirm { scroll: 1, .. })));
    // The typed name still goes to the input.
    typed(&mut s, "AZURE_CLIENT_SECRET_PRODUCTION");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Execute(_)]), "{effects:?}");
}

#[test]
fn scrolling_to_the_top_of_the_logs_loads_older_lines_and_keeps_the_line_selected() {
    use skydeck::model::Severity::*;
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('8'));
    let held: Vec<_> = (100..200).map(|i| log(i * 1000, "app", Info, &format!("line {i}"))).collect();
    update(&mut s, Msg::Logs { index: 0, lines: held });
    // `g` (first line) reaches the top: older lines are asked for.
    let effects = press(&mut s, KeyCode::Char('g'));
    assert!(matches!(effects.as_slice(), [Effect::LoadOlderLogs(n)] if *n > 0), "{effects:?}");
    assert!(press(&mut s, KeyCode::Up).is_empty(), "one request at a time");
    let older: Vec<_> = (0..100).map(|i| log(i * 1000, "app", Info, &format!("line {i}"))).collect();
    update(&mut s, Msg::OlderLogs { index: 0, lines: older });
    assert_eq!(s.logs.len(), 200);
    let selected = s.logs.get(s.list().selected).unwrap();
    assert_eq!(selected.text, "line 100", "the line that was selected stays selected");
    // At the top again; this time the source has nothing older.
    assert!(matches!(press(&mut s, KeyCode::Char('g')).as_slice(), [Effect::LoadOlderLogs(_)]));
    update(&mut s, Msg::OlderLogs { index: 0, lines: Vec::new() });
    assert!(s.last_message.as_ref().is_some_and(|(m, _)| m.contains("no older lines")), "{:?}", s.last_message);
    assert!(press(&mut s, KeyCode::Up).is_empty(), "not asked again once every source had none");
}

/// The frame's geometry comes back as a message that never asks for another frame, and clicks
/// and pages use what was drawn (issue 13: update does not call the views).
#[test]
fn the_drawn_geometry_does_not_redraw_and_drives_clicks_and_pages() {
    let click = |row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 10,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let (mut s, _) = setup();
    // Before any frame nothing was on screen to click.
    update(&mut s, click(0));
    assert_eq!(s.screen, Screen::Overview);
    press(&mut s, KeyCode::Char('2'));
    update(&mut s, Msg::Resize(120, 24));
    s.dirty = false;
    drawn(&mut s);
    assert!(!s.dirty, "Msg::Drawn must not ask for a redraw (an idle TUI draws nothing)");
    let rows = s.drawn.list.expect("the Runs list was drawn").rows as usize;
    assert_eq!(rows, 24 - 3 - 6 - 3, "the body less the workflow panel, borders and header");
    let n = skydeck::app::rows::row_count(&s, Screen::Runs);
    assert!(n > 2 * rows, "enough runs to scroll: {n}");
    // A page is what the frame showed.
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.list().selected, rows);
    drawn(&mut s);
    let offset = s.list().offset;
    assert!(offset > 0, "scrolled: the first row drawn is not row 0");
    let first = s.drawn.list.unwrap().first_row;
    update(&mut s, click(first + 2));
    assert_eq!(s.list().selected, offset + 2, "the click lands on the row drawn there");
    // A click below the last row drawn selects nothing new.
    let before = s.list().selected;
    update(&mut s, click(first + rows as u16 + 1));
    assert_eq!(s.list().selected, before);
}

#[test]
fn with_no_incident_open_the_incident_screen_offers_no_mitigation_and_b_acts_on_nothing() {
    let (mut s, _) = setup();
    press(&mut s, KeyCode::Char('!'));
    assert_eq!(s.screen, Screen::Incident);
    // The mitigation list is not drawn without an incident: its keys must not reach a hidden row.
    for key in ['b', 'S', 'p'] {
        let effects = press(&mut s, KeyCode::Char(key));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Plan(_))), "{key}: {effects:?}");
        assert!(s.popup.is_none(), "{key}: {:?}", s.popup);
    }
    assert!(!screen_text(&s).contains("b rollback"), "the hint offers no verb without a row");

    s.incident = Some(open_incident("t", Some("staging")));
    s.last_message = None;
    assert!(screen_text(&s).contains("b rollback"));
    let effects = press(&mut s, KeyCode::Char('b'));
    assert!(effects.iter().any(|e| matches!(e, Effect::Plan(_))) || s.popup.is_some(), "{effects:?}");
}

fn screen_text(state: &AppState) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(state.size.0, state.size.1)).unwrap();
    terminal.draw(|f| skydeck::views::render(state, &skydeck::theme::Theme::dark(), f)).unwrap();
    let buffer = terminal.backend().buffer();
    buffer.content.iter().map(ratatui::buffer::Cell::symbol).collect()
}

#[test]
fn a_quick_incident_takes_the_environment_its_title_names_else_none() {
    let (mut s, _) = setup();
    let start = |s: &mut AppState, title: &str| {
        s.incident = None;
        press(s, KeyCode::Char(':'));
        typed(s, &format!("incident {title}"));
        press(s, KeyCode::Enter)
    };
    // The cursor on the Overview's first row (dev) is no reason to scope the incident to dev.
    let effects = start(&mut s, "checkout 503");
    assert!(matches!(&effects[..], [Effect::StartIncident { environment: None, .. }]), "{effects:?}");
    let effects = start(&mut s, "checkout 503 in production");
    assert!(
        matches!(&effects[..], [Effect::StartIncident { environment: Some(e), title, .. }] if e == "production" && title == "checkout 503 in production"),
        "{effects:?}"
    );
}

/// A sev2 opened now by maria, with an empty timeline.
fn open_incident(title: &str, environment: Option<&str>) -> skydeck::incident::Incident {
    skydeck::incident::Incident {
        id: 1,
        title: title.into(),
        severity: "sev2".into(),
        environment: environment.map(str::to_string),
        opened_at: now(),
        opened_by: "maria".into(),
        closed_at: None,
        resolution: None,
        timeline: Vec::new(),
    }
}
