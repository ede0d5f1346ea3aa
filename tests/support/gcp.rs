//! A loopback Google for the GCP tests: the recordings in `../shared/fixtures/gcp` (their
//! normalisation placeholders filled in), the hand-written list pages in `tests/fixtures/gcp`,
//! and a token endpoint that a service-account key file names as its `token_uri`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PROJECT: &str = "demo-proj";
pub const PROJECT_NUMBER: &str = "123456789012";
pub const UNIQUE: &str = "abc123";
pub const TOKEN: &str = "ya29.test-token-never-shown";
pub const SERVICE: &str = "projects/demo-proj/locations/us-central1/services/runservice-abc123";
pub const INSTANCE: &str = "sqlinstance-postgres-minimal-direct-abc123";
pub const SECRET: &str = "projects/123456789012/secrets/secretmanagersecret-abc123";

fn fill(text: &str) -> String {
    text.replace("${projectId}", PROJECT)
        .replace("${projectNumber}", PROJECT_NUMBER)
        .replace("${uniqueId}", UNIQUE)
        .replace("${creatorID}", "creator@example.com")
        .replace("${operationID}", "op-0001")
}

fn read(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&fill(&text)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A recording from `../shared/fixtures/gcp/<name>`.
pub fn recorded(name: &str) -> Value {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/gcp").join(name))
}

/// A hand-written page from `tests/fixtures/gcp/<name>`.
pub fn local(name: &str) -> Value {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gcp").join(name))
}

pub fn json_body(v: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(v.to_string(), "application/json")
}

/// The token endpoint: answers the JWT-bearer grant `gcp_auth` sends.
pub async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"))
        .respond_with(json_body(&json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})))
        .mount(server)
        .await;
}

/// A service-account key file whose `token_uri` is the loopback server.
pub fn key_file(dir: &Path, server: &MockServer) -> PathBuf {
    let pem = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gcp/THROWAWAY-test-only-rsa-key.pem"),
    )
    .unwrap();
    let key = json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0000000000000000000000000000000000000000",
        "private_key": pem,
        "client_email": "skydeck-test@demo-proj.iam.gserviceaccount.com",
        "client_id": "100000000000000000000",
        "auth_uri": format!("{}/auth", server.uri()),
        "token_uri": format!("{}/token", server.uri()),
    });
    let p = dir.join("service-account.json");
    std::fs::write(&p, key.to_string()).unwrap();
    p
}

/// The recorded Cloud Run service as a one-item list page.
pub fn services_page(service: Value) -> Value {
    json!({ "services": [service] })
}

/// The recorded service after `gcloud run deploy --no-traffic`: revision 00002 is the latest
/// ready one, 00001 still serves everything.
pub fn service_after_deploy(server: &MockServer) -> Value {
    let mut s = recorded("run/v2/services.get.json");
    let rev2 = format!("{SERVICE}/revisions/runservice-abc123-00002-def");
    s["latestReadyRevision"] = json!(rev2);
    s["latestCreatedRevision"] = json!(rev2);
    let serving = json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "runservice-abc123-00001-rvm", "percent": 100}]);
    s["traffic"] = serving.clone();
    s["trafficStatuses"] = serving;
    s["uri"] = json!(format!("{}/svc", server.uri()));
    s
}

/// The same service once all traffic is on `revision`.
pub fn service_serving(server: &MockServer, revision: &str) -> Value {
    let mut s = service_after_deploy(server);
    let serving = json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": revision, "percent": 100}]);
    s["traffic"] = serving.clone();
    s["trafficStatuses"] = serving;
    s
}

pub async fn get(server: &MockServer, at: &str, body: Value) {
    Mock::given(method("GET")).and(path(at)).respond_with(json_body(&body)).mount(server).await;
}

/// Cloud Run: one region, the recorded service, its revisions.
pub async fn mount_run(server: &MockServer, service: Value, revisions: &[Value]) {
    get(server, "/v2/projects/demo-proj/locations/us-central1/services", services_page(service)).await;
    let at = format!("/v2/{SERVICE}/revisions");
    for (i, page) in revisions.iter().enumerate() {
        let m = Mock::given(method("GET")).and(path(at.as_str()));
        let m = if i == 0 {
            m.and(query_param_is_missing("pageToken"))
        } else {
            m.and(query_param("pageToken", "revisions-page-2"))
        };
        m.respond_with(json_body(page)).mount(server).await;
    }
}

pub async fn mount_sql(server: &MockServer, instance: Value) {
    get(server, "/v1/projects/demo-proj/instances", json!({"kind": "sql#instancesList", "items": [instance]})).await;
    get(server, &format!("/v1/projects/demo-proj/instances/{INSTANCE}/backupRuns"), local("sql-backupRuns.json")).await;
}

pub async fn mount_secrets(server: &MockServer) {
    let mut page1 =
        json!({"secrets": [recorded("secretmanager/v1/secrets.get.json")], "nextPageToken": "secrets-page-2"});
    page1["totalSize"] = json!(2);
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/secrets"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(json_body(&page1))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/secrets"))
        .and(query_param("pageToken", "secrets-page-2"))
        .respond_with(json_body(&local("secrets.page2.json")))
        .mount(server)
        .await;
    get(server, &format!("/v1/{SECRET}/versions"), local("secret-versions.enum-int.json")).await;
    get(
        server,
        "/v1/projects/123456789012/secrets/db-password-prod/versions",
        local("secret-versions.db-password-prod.json"),
    )
    .await;
}

pub async fn mount_monitoring(server: &MockServer) {
    for (metric, file) in [
        ("run.googleapis.com/request_latencies", "monitoring-latency.json"),
        ("run.googleapis.com/request_count", "monitoring-requests.json"),
        ("run.googleapis.com/container/cpu/utilizations", "monitoring-cpu.json"),
        ("run.googleapis.com/container/memory/utilizations", "monitoring-memory.json"),
    ] {
        let filter = format!("metric.type=\"{metric}\" AND resource.type=\"cloud_run_revision\"");
        Mock::given(method("GET"))
            .and(path("/v3/projects/demo-proj/timeSeries"))
            .and(query_param("filter", filter.as_str()))
            .and(query_param_is_missing("pageToken"))
            .respond_with(json_body(&local(file)))
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/alerts"))
        .and(query_param("filter", "state=\"OPEN\""))
        .respond_with(json_body(&local("monitoring-alerts.json")))
        .mount(server)
        .await;
    // The project's alerting policies (hand-written: Google publishes no example; held to the
    // v3 discovery document by gcp_api's shapes test): the two that have open alerts, one of
    // them telling nobody, and a disabled one.
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/alertPolicies"))
        .respond_with(json_body(&local("monitoring-alert-policies.json")))
        .mount(server)
        .await;
    // No snooze in force (Google publishes no example list; this is the v3 reference's shape).
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/snoozes"))
        .respond_with(json_body(&json!({"snoozes": []})))
        .mount(server)
        .await;
    // The CPU answer has a second (empty) page.
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/timeSeries"))
        .and(query_param("pageToken", "cpu-page-2"))
        .respond_with(json_body(&json!({})))
        .mount(server)
        .await;
}

/// Everything one poll of the project reads.
pub async fn mount_estate(server: &MockServer, service: Value, revisions: &[Value]) {
    mount_token(server).await;
    mount_run(server, service, revisions).await;
    mount_sql(server, recorded("sqladmin/v1beta4/instances.get.postgres.json")).await;
    mount_secrets(server).await;
    mount_monitoring(server).await;
    mount_storage(server).await;
}

/// Cloud Storage: one list page of two buckets. The first is the recorded bucket unchanged
/// (versioning, soft delete 7 days, multi-region); the second is the same recording changed
/// here: another name, an `environment: production` label, region `US-EAST1`, versioning and
/// soft delete off, and a locked 30-day retention policy.
pub async fn mount_storage(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/storage/v1/b"))
        .and(query_param("project", PROJECT))
        .respond_with(json_body(&storage_page()))
        .mount(server)
        .await;
}

/// The page `mount_storage` serves.
pub fn storage_page() -> Value {
    let first = local("storage/v1/buckets.get.softdelete.json");
    let mut second = first.clone();
    second["name"] = json!("orders-backups");
    second["labels"] = json!({"environment": "production"});
    second["location"] = json!("US-EAST1");
    second["locationType"] = json!("region");
    second["versioning"] = json!({"enabled": false});
    second["softDeletePolicy"] = json!({"retentionDurationSeconds": "0"});
    second["retentionPolicy"] =
        json!({"retentionPeriod": "2592000", "isLocked": true, "effectiveTime": "2024-04-01T12:34:56.123456Z"});
    json!({"kind": "storage#buckets", "items": [first, second]})
}

/// The `[gcp]` section of a config pointing every API at the loopback server.
pub fn config_section(server: &MockServer, key: &Path) -> String {
    let u = server.uri();
    format!(
        "[gcp]\nproject = \"{PROJECT}\"\nregions = [\"us-central1\"]\ncredentials = \"service_account\"\ncredentials_file = \"{}\"\n[gcp.endpoints]\nrun = \"{u}\"\nsqladmin = \"{u}\"\nsecretmanager = \"{u}\"\nlogging = \"{u}\"\nmonitoring = \"{u}\"\nstorage = \"{u}\"\n",
        key.display()
    )
}

/// A provider for one project pointed at the loopback server, with short waits.
pub async fn provider(
    server: &MockServer,
    dir: &Path,
    config: &skydeck::config::Config,
    regions: &[&str],
) -> (skydeck::providers::gcp::GcpProvider, std::sync::Arc<skydeck::store::Store>) {
    use skydeck::providers::gcp::{Auth, Credentials, Endpoints, GcpProvider, ProjectSettings, Timing};
    use std::time::Duration;
    let store = std::sync::Arc::new(skydeck::store::Store::open_in(&dir.join("data")).unwrap());
    let key = key_file(dir, server);
    let ctx = skydeck::providers::BuildContext { config, store: store.clone() };
    let u = server.uri();
    let endpoints = Endpoints {
        run: u.clone(),
        sqladmin: u.clone(),
        secretmanager: u.clone(),
        logging: u.clone(),
        monitoring: u.clone(),
        storage: u,
    };
    let settings = ProjectSettings {
        project: PROJECT.into(),
        regions: regions.iter().map(std::string::ToString::to_string).collect(),
        log_filter: None,
        health_path: "/api/v1/health".into(),
        timing: Timing {
            poll_interval: Duration::from_millis(10),
            run_timeout: Duration::from_secs(5),
            sql_timeout: Duration::from_secs(5),
            health_tries: 2,
            health_interval: Duration::from_millis(10),
            log_interval: Duration::from_mins(10),
        },
    };
    let auth = std::sync::Arc::new(Auth::new(Credentials::key_file(&key).unwrap()));
    let p = GcpProvider::connect("gcp".into(), settings, endpoints, auth, &ctx).unwrap();
    (p, store)
}
