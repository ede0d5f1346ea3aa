//! The binary against a loopback GitHub: config, token chain, `status --json`, `act approve`,
//! `auth status`, and `ETags` that survive a restart.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/github.rs"]
mod github_fixtures;
use github_fixtures::*;

const TOKEN: &str = "ghp_e2e_secret_token_value";

fn run(dir: &Path, config: &Path, args: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("USER", "maria")
        // `gh` must not answer for the test; an empty PATH entry keeps real tools out.
        .env("PATH", "/nonexistent")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_ENTERPRISE_TOKEN")
        .env_remove("GITHUB_ENTERPRISE_TOKEN")
        .env_remove("SKYDECK_GITHUB_TOKEN")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    if let Some(t) = token {
        cmd.env("SKYDECK_GITHUB_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

async fn setup(server: &MockServer) -> (tempfile::TempDir, std::path::PathBuf) {
    mount_repo(server, "", waiting_runs()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(
        &config,
        format!("[github]\napi_url = \"{}\"\nrepos = [\"{REPO}\"]\n\n[[environments]]\nname = \"production\"\ntier = \"prod\"\n", server.uri()),
    )
    .unwrap();
    (dir, config)
}

#[tokio::test]
async fn status_and_approve_through_the_binary() {
    let server = MockServer::start().await;
    let (dir, config) = setup(&server).await;

    let out = run(dir.path(), &config, &["status", "--json"], Some(TOKEN));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token never appears");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["errors"], json!([]), "{}", doc["errors"]);
    let host = server.uri().trim_start_matches("http://").to_string();
    assert_eq!(doc["runs"][0]["id"], format!("{host}/{REPO}/actions/runs/30433642"));
    assert_eq!(doc["runs"][0]["run_id"], 30433642);
    let approval = doc["approvals"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(doc["approvals"][0]["environment"], "production");
    assert_eq!(doc["deployments"][0]["sha"], "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d");

    // Review: GitHub's own example request body, sent once.
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .and(body_json(shared("review-pending-deployments-for-run.request.json")))
        .respond_with(json_body(&shared("review-pending-deployments-for-run.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .respond_with(json_body(&json!([])))
        .mount(&server)
        .await;
    // A fresh process polls again: the approval must still be pending there.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(local("pending-deployments.json"), "application/json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let out = run(
        dir.path(),
        &config,
        &["act", "approve", &approval, "--yes", "--confirm", "production", "--reason", "Ship it!"],
        Some(TOKEN),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("pending_deployments"), "the plan names the call: {stderr}");

    let out = run(dir.path(), &config, &["audit", "--json"], None);
    let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    let phases: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["started", "finished"]);
    assert_eq!(audit[0]["user"], "maria");
    assert_eq!(audit[0]["reason"], "Ship it!");
    assert_eq!(audit[0]["source"], format!("github:{host}"));
    assert!(!audit.to_string().contains(TOKEN));
}

#[tokio::test]
async fn etags_survive_a_restart() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .respond_with(json_body(&shared("list-workflow-runs-for-repo.200.json")).insert_header("etag", "\"v1\""))
        .with_priority(2)
        .mount(&server)
        .await;
    let (dir, config) = setup(&server).await;
    let first = run(dir.path(), &config, &["status", "--json"], Some(TOKEN));
    assert!(first.status.success(), "{}", text(&first).1);
    let second = run(dir.path(), &config, &["status", "--json"], Some(TOKEN));
    assert!(second.status.success());
    let a: Value = serde_json::from_slice(&first.stdout).unwrap();
    let b: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(a["runs"], b["runs"], "the 304 is served from the cache in the store");
    let conditional = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/actions/runs") && r.headers.get("if-none-match").is_some())
        .count();
    assert_eq!(conditional, 1, "the second process asked with If-None-Match");
}

#[tokio::test]
async fn auth_status_names_the_source_never_the_token() {
    let server = MockServer::start().await;
    let (dir, config) = setup(&server).await;
    let out = run(dir.path(), &config, &["auth", "status"], Some(TOKEN));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("token from $SKYDECK_GITHUB_TOKEN"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));

    // No token anywhere: a clear message with the fix, as a source error in status too.
    let out = run(dir.path(), &config, &["auth", "status"], None);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("skydeck auth login github --host"), "{stdout}");
    let out = run(dir.path(), &config, &["status", "--json"], None);
    assert!(out.status.success(), "status still exits 0: the error is data");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["errors"][0]["source"], "github");
    assert!(doc["errors"][0]["error"].as_str().unwrap().contains("no GitHub token"), "{}", doc["errors"]);
}

#[tokio::test]
async fn auth_login_without_a_keyring_says_the_token_was_not_stored() {
    let server = MockServer::start().await;
    let (dir, config) = setup(&server).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(["--config", config.to_str().unwrap(), "auth", "login", "github", "--host", "ghe.example.com"])
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{TOKEN}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    // Headless here: no Secret Service. Either it was stored (and says where) or it says it was not.
    if out.status.success() {
        assert!(stdout.contains("stored in"), "{stdout}");
    } else {
        assert!(stderr.contains("NOT stored") && stderr.contains("SKYDECK_GITHUB_TOKEN"), "{stderr}");
    }
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
}

/// A deploy workflow whose job runs in the GitHub environment its input names.
const DEPLOY_WORKFLOW: &str = r"
name: Deploy
on:
  workflow_dispatch:
    inputs:
      environment:
        description: Where to deploy
        type: choice
        options: [staging, production]
        default: staging
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment:
      name: ${{ inputs.environment }}
      url: https://example.com
    steps: [{run: echo}]
";

#[tokio::test]
async fn dispatching_to_production_needs_the_environment_typed() {
    use base64::Engine;
    let server = MockServer::start().await;
    // The run dispatched from is queued, not waiting for any review: its own tier says nothing.
    mount_repo(&server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let content = base64::engine::general_purpose::STANDARD.encode(DEPLOY_WORKFLOW);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/contents/.github/workflows/build.yml")))
        .respond_with(json_body(&json!({"type": "file", "encoding": "base64", "content": content})))
        .mount(&server)
        .await;
    let dispatches = format!("/repos/{REPO}/actions/workflows/build.yml/dispatches");
    for environment in ["staging", "production"] {
        Mock::given(method("POST"))
            .and(path(dispatches.clone()))
            .and(body_json(json!({"ref": "master", "inputs": {"environment": environment}})))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(&config, format!("[github]\napi_url = \"{}\"\nrepos = [\"{REPO}\"]\n", server.uri())).unwrap();
    let host = server.uri().trim_start_matches("http://").to_string();
    let run_id = format!("{host}/{REPO}/actions/runs/30433642");

    // The input's default (staging) deploys to staging: yes/no.
    let out = run(dir.path(), &config, &["act", "dispatch", &run_id, "--yes"], Some(TOKEN));
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");

    // production, in either spelling, is a production action whatever the run's own tier.
    for param in ["environment=production", "input.environment=production"] {
        let out = run(dir.path(), &config, &["act", "dispatch", &run_id, "--param", param, "--yes"], Some(TOKEN));
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("pass --confirm production"), "{stderr}");
    }
    let out = run(
        dir.path(),
        &config,
        &["act", "dispatch", &run_id, "--param", "environment=production", "--confirm", "production"],
        Some(TOKEN),
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("touches production"), "{stderr}");

    // A run named by its bare number reads the same workflow.
    let out = run(
        dir.path(),
        &config,
        &["act", "dispatch", "30433642", "--param", "environment=production", "--yes"],
        Some(TOKEN),
    );
    let (_, stderr) = text(&out);
    assert!(stderr.contains("pass --confirm production"), "{stderr}");

    // An input the workflow does not declare is refused with the ones it does.
    let out = run(dir.path(), &config, &["act", "dispatch", &run_id, "--param", "stage=prod", "--yes"], Some(TOKEN));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not take 'stage'") && stderr.contains("--param environment=…"), "{stderr}");
}
