//! Fixture helpers for the GitHub tests: GitHub's own examples from `../shared/fixtures/github`
//! and the hand-written payloads in `tests/fixtures/github`.
#![allow(dead_code)]

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const REPO: &str = "octo-org/octo-repo";

pub fn shared(name: &str) -> Value {
    let p = format!("{}/../shared/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))).unwrap()
}

pub fn local(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub fn json_body(v: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(v.to_string(), "application/json")
}

/// Everything a poll of one repository reads, from the fixtures.
pub async fn mount_repo(server: &MockServer, base: &str, runs: Value) {
    let p = |rest: &str| format!("{base}/repos/{REPO}{rest}");
    Mock::given(method("GET")).and(path(p("/actions/runs"))).respond_with(json_body(&runs)).mount(server).await;
    Mock::given(method("GET"))
        .and(path(p("/environments")))
        .respond_with(json_body(&shared("get-all-environments.200.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(p("/deployments")))
        .respond_with(json_body(&shared("list-deployments.200.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(p("/deployments/1/statuses")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(local("deployment-statuses.json"), "application/json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(p("/actions/runs/30433642/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(local("jobs.json"), "application/json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(p("/actions/runs/30433642/pending_deployments")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(local("pending-deployments.json"), "application/json"))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/rate_limit")))
        .respond_with(json_body(&shared("rate-limit-get.200.json")))
        .mount(server)
        .await;
}

pub fn waiting_runs() -> Value {
    let mut runs = shared("list-workflow-runs-for-repo.200.json");
    runs["workflow_runs"][0]["status"] = json!("waiting");
    runs
}
