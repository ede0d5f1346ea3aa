//! The binary against a loopback Google: a config with `[gcp]` pointing at it and a
//! service-account key whose `token_uri` is the same server; `status --json` carries full
//! resource names as ids, `act` takes them (promote with the typed confirmation, rotate with
//! the value on stdin), and the audit log has both entries.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[path = "support/gcp.rs"]
mod gcp_fixtures;
use gcp_fixtures::*;

fn command(dir: &Path, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .env("USER", "maria")
        // No gcloud, no ambient Google credentials: only the key file in the config.
        .env("PATH", "/nonexistent")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("CLOUDSDK_CONFIG");
    cmd
}

fn run(dir: &Path, config: &Path, args: &[&str]) -> Output {
    command(dir, config, args).stdin(Stdio::null()).output().unwrap()
}

fn run_with_stdin(dir: &Path, config: &Path, args: &[&str], input: &str) -> Output {
    let mut child =
        command(dir, config, args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

async fn setup(server: &MockServer) -> (tempfile::TempDir, PathBuf) {
    let mut service = service_after_deploy(server);
    service["labels"]["env"] = json!("prod");
    mount_estate(
        server,
        service,
        &[local("run-revisions-after-deploy.page1.json"), local("run-revisions-after-deploy.page2.json")],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), server);
    let config = dir.path().join("skydeck.toml");
    std::fs::write(
        &config,
        format!("{}\n[[environments]]\nname = \"production\"\ntier = \"prod\"\n", config_section(server, &key)),
    )
    .unwrap();
    (dir, config)
}

#[tokio::test]
async fn status_lists_full_resource_names_and_act_promote_sends_the_patch() {
    let server = MockServer::start().await;
    let (dir, config) = setup(&server).await;

    let out = run(dir.path(), &config, &["status", "--json"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token never appears");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["errors"], json!([]), "{}", doc["errors"]);
    let ids = |key: &str| -> Vec<String> {
        doc[key].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
    };
    let instance = format!("projects/{PROJECT}/instances/{INSTANCE}");
    assert_eq!(ids("resources"), [SERVICE.to_string(), instance.clone()]);
    assert_eq!(ids("backups"), [instance]);
    assert_eq!(ids("secrets"), [SECRET.to_string(), "projects/123456789012/secrets/db-password-prod".to_string()]);
    assert_eq!(doc["resources"][0]["environment"], "production");
    assert_eq!(doc["resources"][0]["current_version"], "runservice-abc123-00001-rvm");
    assert_eq!(doc["metrics"].as_array().unwrap().len(), 4);
    assert!(doc["findings"].as_array().unwrap().iter().any(|f| f["category"] == "backup"), "{}", doc["findings"]);

    // A dry run prints the plan and sends nothing.
    let out = run(dir.path(), &config, &["act", "promote", SERVICE, "--dry-run"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("?updateMask=traffic"), "{stderr}");
    assert!(stderr.contains("dry run: nothing was sent"), "{stderr}");
    let patched = |reqs: &[wiremock::Request]| reqs.iter().filter(|r| r.method.as_str() == "PATCH").count();
    assert_eq!(patched(&server.received_requests().await.unwrap()), 0);

    // Production: --yes alone is not enough.
    let out = run(dir.path(), &config, &["act", "promote", SERVICE, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("--confirm runservice-abc123"), "{}", text(&out).1);

    Mock::given(method("PATCH"))
        .and(path(format!("/v2/{SERVICE}")))
        .respond_with(json_body(&json!({
            "name": "projects/demo-proj/locations/us-central1/operations/op-0001", "done": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    get(
        &server,
        "/v2/projects/demo-proj/locations/us-central1/operations/op-0001",
        recorded("run/v2/operations.get.create-service-done.json"),
    )
    .await;
    get(&server, &format!("/v2/{SERVICE}"), service_serving(&server, "runservice-abc123-00002-def")).await;
    get(&server, "/svc/api/v1/health", json!({"status": "ok"})).await;

    let out = run(
        dir.path(),
        &config,
        &["act", "promote", SERVICE, "--yes", "--confirm", "runservice-abc123", "--reason", "release 42"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["ok"], true);
    assert_eq!(result["target"], SERVICE);
    let reqs = server.received_requests().await.unwrap();
    let patch = reqs.iter().find(|r| r.method.as_str() == "PATCH").unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&patch.body).unwrap(),
        json!({"traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "runservice-abc123-00002-def", "percent": 100}]})
    );

    let out = run(dir.path(), &config, &["audit", "--json"]);
    let audit: Value = serde_json::from_str(&text(&out).0).unwrap();
    let phases: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["started", "finished"]);
    assert_eq!(audit[0]["target"], SERVICE);
    assert_eq!(audit[0]["environment"], "production");
    assert_eq!(audit[0]["reason"], "release 42");
    assert_eq!(audit[1]["source"], "gcp");
}

#[tokio::test]
async fn rotate_reads_the_value_from_stdin_and_never_shows_it() {
    let server = MockServer::start().await;
    let (dir, config) = setup(&server).await;
    let value = "correct horse battery staple\nsecond line";
    let mut added = recorded("secretmanager/v1/secrets.addVersion.enum-int.json");
    added["name"] = json!(format!("{SECRET}/versions/3"));
    Mock::given(method("POST"))
        .and(path(format!("/v1/{SECRET}:addVersion")))
        .respond_with(json_body(&added))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/{SECRET}/versions/2:disable")))
        .respond_with(json_body(&json!({"name": format!("{SECRET}/versions/2"), "state": "DISABLED"})))
        .expect(1)
        .mount(&server)
        .await;

    // Without a value: refused, nothing sent.
    let out = run(dir.path(), &config, &["act", "rotate", SECRET, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("--value-stdin"), "{}", text(&out).1);

    // The poll sees version 2 enabled; the verification reads the versions after the rotation.
    Mock::given(method("GET"))
        .and(path(format!("/v1/{SECRET}/versions")))
        .respond_with(json_body(&local("secret-versions.enum-int.json")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/{SECRET}/versions")))
        .respond_with(json_body(&json!({"versions": [
            {"name": format!("{SECRET}/versions/3"), "createTime": "2026-11-22T10:00:00Z", "state": 1},
            {"name": format!("{SECRET}/versions/2"), "createTime": "2024-04-02T08:00:00Z", "state": 2}
        ]})))
        .with_priority(2)
        .mount(&server)
        .await;
    let out = run_with_stdin(
        dir.path(),
        &config,
        &["act", "rotate", SECRET, "--value-stdin", "--yes"],
        &format!("{value}\n"),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(value);
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains("correct horse") && !shown.contains(&encoded), "{shown}");
    }
    let reqs = server.received_requests().await.unwrap();
    let add = reqs.iter().find(|r| r.url.path().ends_with(":addVersion")).unwrap();
    let body: Value = serde_json::from_slice(&add.body).unwrap();
    assert_eq!(body["payload"]["data"], encoded, "the whole stdin, less one newline");
    let audit = run(dir.path(), &config, &["audit", "--json"]);
    let audit = text(&audit).0;
    assert!(audit.contains("\"finished\""), "{audit}");
    assert!(!audit.contains("correct horse") && !audit.contains(&encoded));
}
