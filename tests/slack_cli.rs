//! The binary posting to a loopback Slack: `incident` start/note/close as one threaded
//! message, `act` on a loopback GitHub posted before the process exits, `--read-only`
//! posting nothing, `runbook --slack`, `auth status`, and no secret in any output.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/github.rs"]
mod github_fixtures;
use github_fixtures::*;

const GITHUB_TOKEN: &str = "ghp_slack_e2e_github_token";
const SLACK_TOKEN: &str = "xoxb-e2e-slack-bot-token-value";
const HOOK: &str = "/services/T1/B1/e2eWebhookSecretPart";

fn run(dir: &Path, config: &Path, args: &[&str], slack_env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("USER", "maria")
        .env("PATH", "/nonexistent")
        .env("SKYDECK_GITHUB_TOKEN", GITHUB_TOKEN)
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("SKYDECK_SLACK_TOKEN")
        .env_remove("SKYDECK_SLACK_WEBHOOK_URL")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for (k, v) in slack_env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

async fn slack_bodies(server: &MockServer, prefix: &str) -> Vec<(String, Value)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .map(|r| (r.url.path().to_string(), serde_json::from_slice(&r.body).unwrap()))
        .collect()
}

async fn mount_bot(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/slack/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C0NCALL", "ts": "1700000000.000100"})),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/slack/chat.update"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C0NCALL", "ts": "1700000000.000100"})),
        )
        .mount(server)
        .await;
}

fn no_secret(o: &Output) {
    let (stdout, stderr) = text(o);
    for s in [SLACK_TOKEN, "e2eWebhookSecretPart"] {
        assert!(!stdout.contains(s) && !stderr.contains(s), "a secret was printed:\n{stdout}\n{stderr}");
    }
}

#[tokio::test]
async fn incident_commands_post_one_message_and_reply_in_its_thread() {
    let server = MockServer::start().await;
    mount_bot(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(&config, format!("[notify.slack]\nchannel = \"#oncall\"\napi_url = \"{}/slack\"\n", server.uri()))
        .unwrap();
    let env = [("SKYDECK_SLACK_TOKEN", SLACK_TOKEN.to_string())];
    for args in [
        &["incident", "start", "checkout 5xx", "--severity", "sev1", "--environment", "production"][..],
        &["incident", "note", "1", "rolled back web <@U123>"][..],
        &["incident", "close", "1", "--resolution", "rolled back"][..],
        &["incident", "list"][..],
    ] {
        let out = run(dir.path(), &config, args, &env);
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        no_secret(&out);
    }
    let sent = slack_bodies(&server, "/slack/").await;
    let ts = "1700000000.000100";
    assert_eq!(sent.len(), 4, "{sent:#?}");
    assert_eq!(sent[0].0, "/slack/chat.postMessage");
    assert_eq!(sent[0].1["channel"], "#oncall");
    let parent = sent[0].1["text"].as_str().unwrap();
    assert!(parent.starts_with(":red_circle: *INC 1 · sev1 · OPEN* checkout 5xx (production)\nopened "), "{parent}");
    assert!(sent[0].1.get("thread_ts").is_none());
    assert_eq!(sent[1].0, "/slack/chat.postMessage");
    assert_eq!(sent[1].1["thread_ts"], ts);
    assert!(sent[1].1["text"].as_str().unwrap().contains("*note* rolled back web &lt;@U123&gt; — maria"));
    assert_eq!(sent[2].1["thread_ts"], ts);
    assert!(sent[2].1["text"].as_str().unwrap().contains("*closed* closed: rolled back — maria"));
    assert_eq!(sent[3].0, "/slack/chat.update");
    assert_eq!((sent[3].1["channel"].as_str(), sent[3].1["ts"].as_str()), (Some("C0NCALL"), Some(ts)));
    let closed = sent[3].1["text"].as_str().unwrap();
    assert!(closed.starts_with(":large_green_circle: *INC 1 · sev1 · CLOSED*") && closed.ends_with(": rolled back"));
    // Every request carried the token in the header, none in a body.
    for r in server.received_requests().await.unwrap() {
        assert_eq!(r.headers.get("authorization").unwrap(), &format!("Bearer {SLACK_TOKEN}"));
        assert!(!String::from_utf8_lossy(&r.body).contains(SLACK_TOKEN));
    }
}

/// An approval through the real pipeline against a loopback GitHub: posted before `act`
/// exits; `--read-only` posts nothing; a Slack answering 500 leaves the action's exit code
/// alone and is in the audit log.
#[tokio::test]
async fn act_posts_the_outcome_before_exiting_and_read_only_posts_nothing() {
    let server = MockServer::start().await;
    mount_repo(&server, "", waiting_runs()).await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .and(body_json(shared("review-pending-deployments-for-run.request.json")))
        .respond_with(json_body(&shared("review-pending-deployments-for-run.200.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .respond_with(json_body(&json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOOK))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOOK))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(
        &config,
        format!(
            "[github]\napi_url = \"{}\"\nrepos = [\"{REPO}\"]\n\n[[environments]]\nname = \"production\"\ntier = \"prod\"\n\n[notify.slack]\nactions = [\"production\"]\n",
            server.uri()
        ),
    )
    .unwrap();
    let env = [("SKYDECK_SLACK_WEBHOOK_URL", format!("{}{HOOK}", server.uri()))];
    let host = server.uri().trim_start_matches("http://").to_string();
    let approval = format!("{host}/{REPO}/actions/runs/30433642/pending/production");

    let out = run(dir.path(), &config, &["--read-only", "act", "approve", &approval, "--confirm", "production"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(slack_bodies(&server, "/services/").await.is_empty(), "read-only posts nothing");

    let args = ["act", "approve", &approval, "--yes", "--confirm", "production", "--reason", "Ship it!"];
    let out = run(dir.path(), &config, &args, &env);
    assert!(out.status.success(), "{:?}", text(&out));
    no_secret(&out);
    let sent = slack_bodies(&server, "/services/").await;
    assert_eq!(sent.len(), 1, "posted before the process exited: {sent:#?}");
    let posted = sent[0].1["text"].as_str().unwrap();
    assert!(posted.starts_with(":white_check_mark: *maria* approve `"), "{posted}");
    assert!(posted.contains("` in *production*: done — "), "{posted}");
    assert!(posted.ends_with(" · reason: Ship it!"), "{posted}");
    assert_eq!(sent[0].1.as_object().unwrap().len(), 1, "a webhook body is only the text");

    // The same approval again (pending once more on this fake): Slack now fails; the action does not.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(local("pending-deployments.json"), "application/json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let out = run(dir.path(), &config, &args, &env);
    assert!(out.status.success(), "{:?}", text(&out));
    no_secret(&out);
    let out = run(dir.path(), &config, &["audit", "--json"], &[]);
    let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["phase"].as_str().unwrap(), e["source"].as_str().unwrap()))
        .collect();
    let github = format!("github:{host}");
    assert_eq!(
        rows,
        [
            ("started", github.as_str()),
            ("finished", github.as_str()),
            ("started", github.as_str()),
            ("finished", github.as_str()),
            ("failed", "slack")
        ]
    );
    let failure = &audit[4];
    assert_eq!(failure["action_id"], audit[2]["seq"], "linked to the action");
    assert_eq!(failure["detail"], "not posted to Slack: the incoming webhook: HTTP 500: oops (3 tries)");
    assert!(!audit.to_string().contains("e2eWebhookSecretPart"));

    // `status` says so (text and JSON), without the URL.
    let out = run(dir.path(), &config, &["status"], &env);
    let (_, stderr) = text(&out);
    assert!(stderr.contains("warning: slack: the last post failed at "), "{stderr}");
    no_secret(&out);
    let out = run(dir.path(), &config, &["status", "--json"], &env);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["notifications"]["slack"]["last_failure"]["detail"], failure["detail"]);
}

#[tokio::test]
async fn runbook_slack_posts_the_handover_report() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOOK))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(&config, "[[environments]]\nname = \"production\"\n\n[notify.slack]\n").unwrap();
    let env = [("SKYDECK_SLACK_WEBHOOK_URL", format!("{}{HOOK}", server.uri()))];
    let out = run(dir.path(), &config, &["runbook", "daily", "--slack"], &env);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "nothing configured: unknown/open items\n{stdout}\n{stderr}");
    assert!(stderr.contains("handover report posted to Slack"), "{stderr}");
    no_secret(&out);
    let sent = slack_bodies(&server, "/services/").await;
    assert_eq!(sent.len(), 1);
    let report = sent[0].1["text"].as_str().unwrap();
    assert!(report.starts_with(":clipboard: *Handover: "), "{report}");
    assert!(report.contains(" passed, ") && report.contains("Handover notes written for the next shift"), "{report}");

    // The webhook is gone: the command says so and fails; the audit log has it.
    let out = run(dir.path(), &config, &["runbook", "daily", "--slack"], &env);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains(
            "the handover report was NOT posted to Slack: the incoming webhook: HTTP 404: no_service (1 try)"
        ),
        "{stderr}"
    );
    no_secret(&out);
    let audit: Value = serde_json::from_slice(&run(dir.path(), &config, &["audit", "--json"], &[]).stdout).unwrap();
    assert_eq!(audit[0]["source"], "slack");
    assert_eq!(audit[0]["target"], "handover/daily");
    assert_eq!(audit[0]["phase"], "failed");

    // Not configured: a clear error, nothing posted.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "[[environments]]\nname = \"production\"\n").unwrap();
    let out = run(dir.path(), &bare, &["runbook", "daily", "--slack"], &env);
    assert_eq!(out.status.code(), Some(2), "a usage problem");
    assert!(text(&out).1.contains("[notify.slack] is not configured"), "{:?}", text(&out));
    assert_eq!(slack_bodies(&server, "/services/").await.len(), 2, "nothing more was sent");
}

#[test]
fn a_missing_token_is_a_warning_and_auth_status_names_sources_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(&config, "[notify.slack]\nchannel = \"#oncall\"\napi_url = \"http://127.0.0.1:9/api\"\n").unwrap();
    let out = run(dir.path(), &config, &["incident", "start", "db down"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "the incident opens anyway: {stderr}");
    assert!(stdout.contains("incident 1 opened"), "{stdout}");
    assert!(stderr.contains("warning: Slack: nothing will be posted: no Slack bot token"), "{stderr}");
    assert!(stderr.contains("skydeck auth login slack"), "{stderr}");

    let out = run(dir.path(), &config, &["auth", "status"], &[("SKYDECK_SLACK_TOKEN", SLACK_TOKEN.to_string())]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("slack: bot token from $SKYDECK_SLACK_TOKEN"), "{stdout}");
    no_secret(&out);
    let webhook = dir.path().join("hook.toml");
    std::fs::write(&webhook, "[notify.slack]\nwebhook_url_env = \"TEAM_HOOK\"\n").unwrap();
    let out =
        run(dir.path(), &webhook, &["auth", "status"], &[("TEAM_HOOK", format!("https://hooks.slack.com{HOOK}"))]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("slack: webhook URL from $TEAM_HOOK"), "{stdout}");
    no_secret(&out);
    let out = run(dir.path(), &webhook, &["auth", "status"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).0.contains("slack: no Slack webhook URL: set TEAM_HOOK"), "{:?}", text(&out));
}

/// The demo's estate is made up: with Slack configured, its actions and incidents post nothing.
#[tokio::test]
async fn the_demo_never_posts() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("ok")).mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(&config, "[notify.slack]\nactions = [\"*\"]\n").unwrap();
    let env = [("SKYDECK_SLACK_WEBHOOK_URL", format!("{}{HOOK}", server.uri()))];
    let out = run(dir.path(), &config, &["--demo", "status", "--json"], &env);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = doc["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["environment"] != "production")
        .expect("the demo has a non-production secret")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(dir.path(), &config, &["--demo", "act", "rotate", &secret, "--yes"], &env);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = run(dir.path(), &config, &["--demo", "incident", "start", "demo fire"], &env);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(server.received_requests().await.unwrap().is_empty());
}
