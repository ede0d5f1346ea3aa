//! Slack notifications as a consumer of the journal, against wiremock on loopback: the exact
//! bodies (webhook; chat.postMessage / chat.update with `thread_ts`), 429 + Retry-After, a 500
//! audited while the action succeeds, no secret in any body, nothing for refused actions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use skydeck::actions::{ActionRequest, Pipeline, Verb};
use skydeck::clock::{Clock, ManualClock};
use skydeck::incident::{Entry, EntryKind};
use skydeck::notify::slack::{Mode, Retry, Secret, Slack, SlackConfig};
use skydeck::notify::{Notifier, SINK};
use skydeck::providers::Provider;
use skydeck::providers::sandbox::Sandbox;
use skydeck::store::{AuditEntry, AuditPhase, Store};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-1111-2222-test-token";
const WEBHOOK_PATH: &str = "/services/T0000/B0000/wEbHoOkSeCrEt";

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn clock() -> ManualClock {
    ManualClock::new(t0() + chrono::Duration::minutes(5))
}

fn fast(mut slack: Slack) -> Slack {
    slack.retry = Retry { tries: 3, max_wait: Duration::from_secs(5), backoff: Duration::from_millis(20) };
    slack
}

fn bot(server: &MockServer, actions: &[&str]) -> (SlackConfig, Slack) {
    let cfg = SlackConfig {
        channel: Some("#oncall".into()),
        api_url: server.uri(),
        actions: actions.iter().map(std::string::ToString::to_string).collect(),
        ..SlackConfig::default()
    };
    let mode = Mode::Bot { token: Secret::new(TOKEN), channel: "#oncall".into() };
    let slack = fast(Slack::new(&cfg, mode));
    (cfg, slack)
}

fn webhook(url: String, actions: &[&str]) -> (SlackConfig, Slack) {
    let cfg = SlackConfig {
        actions: actions.iter().map(std::string::ToString::to_string).collect(),
        ..SlackConfig::default()
    };
    let slack = fast(Slack::new(&cfg, Mode::Webhook { url: Secret::new(url) }));
    (cfg, slack)
}

fn notifier(store: &Arc<Store>, (cfg, slack): (SlackConfig, Slack), clock: &ManualClock) -> Notifier {
    Notifier::new(&cfg, slack, store.clone(), Arc::new(clock.clone()), "maria").unwrap()
}

async fn bodies(server: &MockServer) -> Vec<(String, Value)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| (r.url.path().to_string(), serde_json::from_slice(&r.body).unwrap()))
        .collect()
}

fn action(phase: AuditPhase, environment: &str, at: chrono::DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        seq: 0,
        action_id: Some(1),
        at,
        user: "maria".into(),
        verb: "rollback".into(),
        target: "demo/ecs/web-prod".into(),
        target_name: "web-prod".into(),
        environment: environment.into(),
        source: "demo".into(),
        phase,
        reason: Some("5xx after 1.4.2".into()),
        detail: "rolled back to 1.4.1; verified: 1.4.1 serving".into(),
    }
}

fn note(at: chrono::DateTime<Utc>, kind: EntryKind, text: &str) -> Entry {
    Entry { at, kind, who: "maria".into(), text: text.into() }
}

fn slack_failures(store: &Store) -> Vec<AuditEntry> {
    store.audit_entries().unwrap().into_iter().filter(|e| e.source == SINK).collect()
}

#[tokio::test]
async fn webhook_bodies_are_exact_and_each_incident_entry_is_its_own_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WEBHOOK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    // Written before the notifier existed: history is not posted.
    store.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
    let clock = clock();
    let n = notifier(&store, webhook(format!("{}{WEBHOOK_PATH}", server.uri()), &["production"]), &clock);

    store.append_audit(&action(AuditPhase::Started, "production", t0())).unwrap();
    store.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
    store.append_audit(&action(AuditPhase::Finished, "staging", t0())).unwrap();
    let id = store.open_incident("checkout 5xx", "sev2", Some("production"), "maria", t0()).unwrap();
    store.add_timeline(id, &note(t0() + chrono::Duration::seconds(70), EntryKind::Note, "LB <ok>")).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 3);

    assert_eq!(
        bodies(&server).await,
        [
            (
                WEBHOOK_PATH.to_string(),
                json!({"text": ":white_check_mark: *maria* rollback `web-prod` in *production*: done — rolled back to 1.4.1; verified: 1.4.1 serving · reason: 5xx after 1.4.2"})
            ),
            (
                WEBHOOK_PATH.to_string(),
                json!({"text": ":red_circle: *INC 1 · sev2 · OPEN* checkout 5xx (production)\nopened 2026-11-23 03:00 UTC by maria · first response: 0/3 steps"})
            ),
            (WEBHOOK_PATH.to_string(), json!({"text": "*INC 1* checkout 5xx · 03:01:10 *note* LB &lt;ok&gt; — maria"})),
        ]
    );
    // Nothing new: nothing sent again.
    assert_eq!(n.pass(None).await.unwrap(), 0);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(slack_failures(&store).is_empty());
}

#[tokio::test]
async fn a_bot_posts_one_message_per_incident_threads_the_timeline_and_keeps_it_current() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": "C024BE91L", "ts": "1401383885.000061", "message": {"text": "x"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.update"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": "C024BE91L", "ts": "1401383885.000061", "text": "x"
        })))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, bot(&server, &[]), &clock);

    let id = store.open_incident("checkout 5xx", "sev1", Some("production"), "maria", t0()).unwrap();
    store.add_timeline(id, &note(t0() + chrono::Duration::seconds(30), EntryKind::Note, "paged payments")).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 2);
    let m = chrono::Duration::minutes;
    store.add_timeline(id, &note(t0() + m(4), EntryKind::Step, "mitigation: rolling back web")).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 1);
    clock.advance(m(40));
    store.close_incident(id, "rolled back web to 1.4.1", "maria", t0() + m(42)).unwrap();
    // An action in an environment not listed in `actions` is not posted on its own.
    store.append_audit(&action(AuditPhase::Finished, "production", t0() + m(41))).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 1);
    // A note after the close changes nothing in the message: no update.
    store.add_timeline(id, &note(t0() + m(43), EntryKind::Note, "postmortem Friday")).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 1);

    let parent = ":red_circle: *INC 1 · sev1 · OPEN* checkout 5xx (production)\nopened 2026-11-23 03:00 UTC by maria · first response: 0/3 steps";
    let mitigating = ":large_orange_circle: *INC 1 · sev1 · MITIGATING* checkout 5xx (production)\nopened 2026-11-23 03:00 UTC by maria · first response: 1/3 steps";
    let closed = ":large_green_circle: *INC 1 · sev1 · CLOSED* checkout 5xx (production)\nopened 2026-11-23 03:00 UTC by maria\nclosed after 42m: rolled back web to 1.4.1";
    let ts = "1401383885.000061";
    assert_eq!(
        bodies(&server).await,
        [
            ("/chat.postMessage".to_string(), json!({"channel": "#oncall", "text": parent})),
            (
                "/chat.postMessage".to_string(),
                json!({"channel": "#oncall", "text": "03:00:30 *note* paged payments — maria", "thread_ts": ts})
            ),
            (
                "/chat.postMessage".to_string(),
                json!({"channel": "#oncall", "text": "03:04:00 *step* mitigation: rolling back web — maria", "thread_ts": ts})
            ),
            // chat.update takes the channel's id from the first answer, not the name.
            ("/chat.update".to_string(), json!({"channel": "C024BE91L", "ts": ts, "text": mitigating})),
            (
                "/chat.postMessage".to_string(),
                json!({"channel": "#oncall", "text": "03:42:00 *closed* closed: rolled back web to 1.4.1 — maria", "thread_ts": ts})
            ),
            ("/chat.update".to_string(), json!({"channel": "C024BE91L", "ts": ts, "text": closed})),
            (
                "/chat.postMessage".to_string(),
                json!({"channel": "#oncall", "text": "03:43:00 *note* postmortem Friday — maria", "thread_ts": ts})
            ),
        ]
    );
    assert!(slack_failures(&store).is_empty());
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_posts_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, bot(&server, &["production"]), &clock);
    store.append_audit(&action(AuditPhase::Failed, "production", t0())).unwrap();
    let started = Instant::now();
    assert_eq!(n.pass(None).await.unwrap(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2, "the same message, tried again once");
    assert_eq!(sent[0], sent[1]);
    assert!(sent[1].1["text"].as_str().unwrap().starts_with(":x: *maria* rollback `web-prod` in *production*: FAILED"));
    assert!(slack_failures(&store).is_empty());
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_is_not_waited_for_and_is_audited() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "600"))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, bot(&server, &["*"]), &clock);
    store.append_audit(&action(AuditPhase::Finished, "staging", t0())).unwrap();
    let started = Instant::now();
    n.pass(None).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let failures = slack_failures(&store);
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].detail,
        "not posted to Slack: chat.postMessage: rate limited by Slack, Retry-After 600s (1 try)"
    );
}

/// A real action through the pipeline (the demo provider), Slack answering 500: the action
/// succeeded before the notifier looked, and the failure is in the audit log, linked to it.
#[tokio::test]
async fn a_500_is_audited_against_the_action_which_still_succeeded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream_error"))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = ManualClock::new(Utc::now());
    let n = notifier(&store, bot(&server, &["*"]), &clock);
    let sandbox = Sandbox::new(7, Arc::new(clock.clone()));
    let snapshot = sandbox.fetch().await.unwrap();
    let secret = snapshot.secrets.iter().find(|s| s.environment == "staging").unwrap().id.clone();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Rotate, secret.clone()), &snapshot).unwrap();
    let outcome = Pipeline::new(store.clone(), false, "maria").act(&sandbox, plan).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);

    n.pass(None).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "three tries, then given up");
    let all = store.audit_entries().unwrap();
    let started = all.iter().find(|e| e.phase == AuditPhase::Started).unwrap();
    assert_eq!(all.iter().filter(|e| e.phase == AuditPhase::Finished).count(), 1, "the action finished");
    let failures = slack_failures(&store);
    assert_eq!(failures.len(), 1);
    let f = &failures[0];
    assert_eq!((f.action_id, f.verb.as_str(), f.target.as_str()), (Some(started.seq), "notify", secret.as_str()));
    assert_eq!(f.detail, "not posted to Slack: chat.postMessage: HTTP 500: upstream_error (3 tries)");
    // The failure record is not itself posted.
    n.pass(None).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// `secret_input` is never serialized, so the value typed for a rotation cannot reach Slack:
/// the posted body names the rotation and nothing of the value.
#[tokio::test]
async fn a_rotation_is_posted_without_its_value() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = ManualClock::new(Utc::now());
    let n = notifier(&store, bot(&server, &["*"]), &clock);
    let id = store.open_incident("db creds leaked", "sev1", Some("production"), "maria", clock.now()).unwrap();
    let sandbox = Sandbox::new(7, Arc::new(clock.clone()));
    let snapshot = sandbox.fetch().await.unwrap();
    let secret = snapshot.secrets.iter().find(|s| s.environment == "production").unwrap().id.clone();
    let value = "hunter2-Sup3r-s3cret-VALUE";
    let mut request = ActionRequest::new(Verb::Rotate, secret);
    request.params.insert("value_from_stdin".into(), "true".into());
    request.secret_input = Some(value.into());
    let plan = sandbox.plan(&request, &snapshot).unwrap();
    let outcome = Pipeline::new(store.clone(), false, "maria").act(&sandbox, plan).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);

    n.pass(None).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let texts: Vec<String> = requests.iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect();
    assert!(texts.iter().any(|t| t.contains("rotate") && t.contains("*production*: done")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("*action* rotate")), "the incident thread has it too: {texts:#?}");
    for t in &texts {
        assert!(!t.contains(value) && !t.contains("hunter2"), "a secret was posted: {t}");
    }
    assert!(id > 0);
}

/// `--read-only` refuses before the audit log (pipeline) or writes a refusal (a dangerous
/// plugin): neither is posted.
#[tokio::test]
async fn refused_actions_post_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("ok")).mount(&server).await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = ManualClock::new(Utc::now());
    let n = notifier(&store, webhook(format!("{}{WEBHOOK_PATH}", server.uri()), &["*"]), &clock);
    let sandbox = Sandbox::new(7, Arc::new(clock.clone()));
    let snapshot = sandbox.fetch().await.unwrap();
    let secret = snapshot.secrets[0].id.clone();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Rotate, secret.clone()), &snapshot).unwrap();
    let outcome = Pipeline::new(store.clone(), true, "maria").act(&sandbox, plan).await;
    assert!(outcome.result.unwrap_err().to_string().contains("read-only"));
    let run = skydeck::plugins::PluginRun {
        plugin: "kill-it".into(),
        file: "kill-it.toml".into(),
        argv: vec!["true".into()],
        env: Vec::new(),
        output: skydeck::plugins::Output::Capture,
        target: secret,
        target_name: "x".into(),
        environment: "production".into(),
        dangerous: true,
        timeout: None,
        pause: false,
    };
    let done = skydeck::plugins::execute_tracked(&run, &store, "maria", true, &Default::default());
    assert!(!done.ok());
    assert_eq!(store.audit_entries().unwrap().iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Refused]);
    assert_eq!(n.pass(None).await.unwrap(), 0);
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A webhook that cannot be reached: the failure is audited, and neither the URL nor its
/// secret path is in it.
#[tokio::test]
async fn an_unreachable_webhook_is_audited_without_its_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens there now
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let url = format!("http://127.0.0.1:{port}{WEBHOOK_PATH}");
    let n = notifier(&store, webhook(url, &["production"]), &clock);
    store.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
    n.pass(None).await.unwrap();
    let failures = slack_failures(&store);
    assert_eq!(failures.len(), 1);
    let detail = &failures[0].detail;
    assert!(detail.starts_with("not posted to Slack: the incoming webhook: error sending request"), "{detail}");
    assert!(detail.ends_with("(3 tries)"), "{detail}");
    assert!(!detail.contains("wEbHoOkSeCrEt") && !detail.contains("/services/"), "{detail}");
    assert!(!format!("{:?}", n.slack().mode()).contains("wEbHoOkSeCrEt"));
}

/// A CLI exiting gives its posts a deadline: a Retry-After past it is not waited for.
#[tokio::test]
async fn a_flush_ends_within_its_time() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3"))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, webhook(format!("{}{WEBHOOK_PATH}", server.uri()), &["production"]), &clock);
    store.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
    let started = Instant::now();
    n.flush(Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    let failures = slack_failures(&store);
    assert_eq!(failures.len(), 1);
    assert!(failures[0].detail.contains("no time left"), "{}", failures[0].detail);
}

/// Two skydecks on one store (a TUI and an `act`): every entry is posted once, one message per
/// incident.
#[tokio::test]
async fn two_notifiers_on_one_store_post_each_entry_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C1", "ts": "9.9"}))
                .set_delay(Duration::from_millis(50)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat.update"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(Store::open_in(dir.path()).unwrap());
    let b = Arc::new(Store::open_in(dir.path()).unwrap());
    let clock = clock();
    let na = notifier(&a, bot(&server, &["production"]), &clock);
    let nb = notifier(&b, bot(&server, &["production"]), &clock);
    let id = a.open_incident("checkout 5xx", "sev2", None, "maria", t0()).unwrap();
    for i in 0..5 {
        a.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
        b.add_timeline(id, &note(t0() + chrono::Duration::seconds(i), EntryKind::Note, &format!("n{i}"))).unwrap();
    }
    let (x, y) = tokio::join!(na.pass(None), nb.pass(None));
    assert_eq!(x.unwrap() + y.unwrap(), 11);
    let sent = bodies(&server).await;
    let posts: Vec<&Value> = sent.iter().filter(|(p, _)| p == "/chat.postMessage").map(|(_, b)| b).collect();
    assert_eq!(posts.len(), 11, "5 actions, 1 incident message, 5 notes: {posts:#?}");
    let parents = posts.iter().filter(|b| b["text"].as_str().unwrap().contains("*INC 1 · sev2 · OPEN*")).count();
    assert_eq!(parents, 1);
    let mut notes: Vec<&str> =
        posts.iter().filter_map(|b| b["text"].as_str()).filter(|t| t.contains("*note*")).collect();
    notes.sort_unstable();
    notes.dedup();
    assert_eq!(notes.len(), 5);
}

/// Entries much older than now (a notifier switched on again after a long pause) are skipped.
#[tokio::test]
async fn old_entries_are_not_posted() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("ok")).mount(&server).await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, webhook(format!("{}{WEBHOOK_PATH}", server.uri()), &["production"]), &clock);
    store.append_audit(&action(AuditPhase::Finished, "production", t0() - chrono::Duration::hours(3))).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 0);
    store.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 1);
}

#[tokio::test]
async fn the_web_api_saying_not_ok_is_audited_with_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "not_in_channel"})))
        .mount(&server)
        .await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, bot(&server, &["production"]), &clock);
    store.append_audit(&action(AuditPhase::Finished, "production", t0())).unwrap();
    n.pass(None).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "not retried");
    assert_eq!(
        slack_failures(&store)[0].detail,
        "not posted to Slack: chat.postMessage: Slack answered 'not_in_channel': invite the bot to the channel, or give it the chat:write.public scope"
    );
}

/// The TUI looks every second: a pass with nothing new reads only (it works on a store that
/// refuses every write).
#[tokio::test]
async fn an_idle_pass_writes_nothing() {
    let server = MockServer::start().await;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let clock = clock();
    let n = notifier(&store, webhook(format!("{}{WEBHOOK_PATH}", server.uri()), &["*"]), &clock);
    store.inject_fault(skydeck::store::Fault::Full).unwrap();
    assert_eq!(n.pass(None).await.unwrap(), 0);
    assert_eq!(n.pass(None).await.unwrap(), 0);
    assert!(server.received_requests().await.unwrap().is_empty());
}
