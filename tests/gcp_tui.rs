//! From the keyboard, on GCP data read from a loopback Google: Enter on a Cloud Run service
//! opens its Cloud Logging entries in the log viewer; `p` plans the traffic move and the typed
//! name confirms it.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use skydeck::actions::Verb;
use skydeck::app::{AppState, Effect, Msg, Popup, Row, Screen, rows, update};
use skydeck::config::{Config, EnvironmentConfig};
use skydeck::model::Tier;
use skydeck::providers::Provider;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[path = "support/gcp.rs"]
mod gcp_fixtures;
use gcp_fixtures::*;

fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn select(state: &mut AppState, id: &str) {
    let at = rows(state, Screen::Resources)
        .iter()
        .position(|r| matches!(r, Row::Resource(i) if state.estate.resources[*i].id == id))
        .unwrap();
    state.list_mut().selected = at;
}

#[tokio::test]
async fn a_service_log_and_a_promotion_from_the_keyboard() {
    let server = MockServer::start().await;
    let mut service = service_after_deploy(&server);
    service["labels"]["env"] = json!("prod");
    mount_estate(
        &server,
        service,
        &[local("run-revisions-after-deploy.page1.json"), local("run-revisions-after-deploy.page2.json")],
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v2/entries:list"))
        .respond_with(json_body(&local("logging-entries.json")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        environments: vec![EnvironmentConfig {
            name: "production".into(),
            tier: Some(Tier::Prod),
            thresholds: Default::default(),
            health: Vec::new(),
        }],
        ..Config::default()
    };
    let (provider, _store) = provider(&server, dir.path(), &config, &["us-central1"]).await;
    let snap = provider.fetch().await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 5, 0).unwrap();
    let mut s =
        AppState::with_snapshot("gcp", snap, Vec::new(), now, (120, 40)).with_catalog(skydeck::providers::CATALOG);

    // Enter on the service: its log, in the viewer, at the first error.
    press(&mut s, KeyCode::Char('5'));
    select(&mut s, SERVICE);
    let effects = press(&mut s, KeyCode::Enter);
    assert_eq!(effects, [Effect::OpenLog(SERVICE.to_string())]);
    let result = provider.fetch_log(SERVICE).await;
    update(&mut s, Msg::LogLoaded { target: SERVICE.into(), result });
    assert_eq!(s.screen, Screen::Logs);
    assert_eq!(s.list().filter, "runservice-abc123");
    while s.log_filter.pending(&s.logs) {
        update(&mut s, Msg::FilterStep);
    }
    assert_eq!(s.logs.len(), 3);
    let selected = skydeck::app::update::selected_log_line(&s).unwrap();
    assert!(selected.contains(" ERROR "), "{selected}");

    // `p` on the service: the plan moves 100 % to the latest ready revision; production asks
    // for the service's name.
    press(&mut s, KeyCode::Char('5'));
    select(&mut s, SERVICE);
    let effects = press(&mut s, KeyCode::Char('p'));
    // The loop asks the provider what promote needs; Cloud Run needs nothing, so on to the plan.
    let Some(Effect::PrepareInputs(request)) = effects.first() else { panic!("{effects:?}") };
    let inputs = provider.action_inputs(request).await;
    assert!(inputs.as_ref().is_ok_and(Vec::is_empty), "{inputs:?}");
    let effects = update(&mut s, Msg::InputsReady { request: request.clone(), result: inputs });
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(request.verb, Verb::Promote);
    let plan = provider.plan(request, &s.estate).unwrap();
    assert_eq!(plan.tier, Tier::Prod);
    assert!(plan.calls[0].call.contains("\"revision\":\"runservice-abc123-00002-def\""));
    update(&mut s, Msg::Planned(Ok(plan)));
    assert!(matches!(s.popup, Some(Popup::Confirm { .. })));
    assert!(press(&mut s, KeyCode::Char('y')).is_empty());
    press(&mut s, KeyCode::Backspace);
    for c in "runservice-abc123".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    let effects = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Execute(p)] if p.request.params["to"] == "runservice-abc123-00002-def"),
        "{effects:?}"
    );

    // `b` on the same service: nothing older than what serves, so it is explained, not sent.
    s.popup = None;
    select(&mut s, SERVICE);
    let effects = press(&mut s, KeyCode::Char('b'));
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    let err = provider.plan(request, &s.estate).unwrap_err();
    assert!(err.to_string().contains("no older ready revision"), "{err}");
}
