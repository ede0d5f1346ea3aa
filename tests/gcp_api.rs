//! The GCP adapter against a loopback Google: recorded GCP responses from
//! `../shared/fixtures/gcp` and hand-written list pages in the discovery documents' shapes
//! (`tests/fixtures/gcp`). Tokens come from a service-account key file whose `token_uri` is
//! the same loopback server; nothing leaves 127.0.0.1 and no metadata server is asked.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use skydeck::actions::{ActionError, ActionRequest, Pipeline, Verb};
use skydeck::config::{Config, EnvironmentConfig};
use skydeck::model::{self, Level, MetricKind, Role, Severity, Tier};
use skydeck::providers::gcp::config::{GcpConfig, GcpCredentials, GcpEndpoints};
use skydeck::providers::gcp::{self, GcpProvider};
use skydeck::providers::{BuildContext, Provider, ProviderError};
use skydeck::store::{AuditPhase, Store};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/gcp.rs"]
mod gcp_fixtures;
use gcp_fixtures::*;
#[path = "support/discovery.rs"]
mod discovery;
use discovery::Discovery;

fn discovery_doc(dir: &str, name: &str) -> Discovery {
    Discovery::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(name))
}

/// Cloud Monitoring v3, from google-api-python-client (tests/fixtures/gcp/discovery/SOURCES.md).
fn monitoring_discovery() -> Discovery {
    discovery_doc("tests/fixtures/gcp/discovery", "monitoring.v3.json")
}

struct Setup {
    server: MockServer,
    provider: GcpProvider,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

fn config() -> Config {
    Config {
        environments: vec![EnvironmentConfig {
            name: "production".into(),
            tier: Some(Tier::Prod),
            thresholds: Default::default(),
            health: Vec::new(),
        }],
        ..Config::default()
    }
}

async fn setup_regions(regions: &[&str]) -> Setup {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (provider, store) = gcp_fixtures::provider(&server, dir.path(), &config(), regions).await;
    Setup { server, provider, store, _dir: dir }
}

async fn setup() -> Setup {
    setup_regions(&["us-central1"]).await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn requests(s: &Setup, verb: &str, suffix: &str) -> Vec<wiremock::Request> {
    s.server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().ends_with(suffix))
        .collect()
}

fn body(r: &wiremock::Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn every_shown_field_comes_from_the_recordings() {
    let s = setup().await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();

    // Cloud Run: the recorded service, with its full resource name as id.
    let run = snap.resources.iter().find(|r| r.role == Role::Compute).unwrap();
    assert_eq!(
        run,
        &model::Resource {
            id: SERVICE.into(),
            name: "runservice-abc123".into(),
            kind: "Cloud Run service".into(),
            role: Role::Compute,
            provider: skydeck::providers::gcp::PROVIDER,
            environment: "unassigned".into(),
            region: "us-central1".into(),
            status: "ready".into(),
            level: Level::Ok,
            current_version: Some("runservice-abc123-00001-rvm".into()),
            versions: vec!["runservice-abc123-00001-rvm".into()],
            details: pairs(&[
                ("traffic", "runservice-abc123-00001-rvm=100% (latest)"),
                ("image", "gcr.io/cloudrun/hello"),
                ("instances", "min 0, max 2 per revision; service max 100"),
                ("limits", "cpu 1000m, memory 512Mi"),
                ("ready", "Ready: succeeded since 2025-01-01 00:00 UTC"),
                ("latest ready", "runservice-abc123-00001-rvm"),
                ("latest created", "runservice-abc123-00001-rvm"),
                ("url", "https://runservice-abc123-iqnfoshjhq-uc.a.run.app"),
                ("updated", "2024-04-01 12:34 UTC by operator@example.com"),
            ]),
        }
    );

    // Cloud SQL: the recorded PostgreSQL instance (int64 dataDiskSizeGb arrives as "10").
    let id = format!("projects/{PROJECT}/instances/{INSTANCE}");
    let db = snap.resources.iter().find(|r| r.role == Role::Database).unwrap();
    assert_eq!(
        db,
        &model::Resource {
            id: id.clone(),
            name: INSTANCE.into(),
            kind: "Cloud SQL instance".into(),
            role: Role::Database,
            provider: skydeck::providers::gcp::PROVIDER,
            environment: "unassigned".into(),
            region: "us-central1".into(),
            status: "runnable".into(),
            level: Level::Ok,
            current_version: Some("POSTGRES_16".into()),
            versions: Vec::new(),
            details: pairs(&[
                ("version", "POSTGRES_16 (POSTGRES_16_9)"),
                ("tier", "db-custom-1-3840, enterprise"),
                ("high availability", "off (zonal, us-central1-a)"),
                ("replicas", "none"),
                ("backups", "automatic backups off, keep 7"),
                ("point-in-time recovery", "off"),
                ("disk", "10 GB PD_SSD"),
                ("connection", "demo-proj:us-central1:sqlinstance-postgres-minimal-direct-abc123",),
            ]),
        }
    );
    let b = &snap.backups[0];
    assert_eq!(
        b,
        &model::Backup {
            id: id.clone(),
            resource: id.clone(),
            database: INSTANCE.into(),
            provider: skydeck::providers::gcp::PROVIDER,
            environment: "unassigned".into(),
            last_backup_at: Some(at("2024-04-01T13:04:30.500Z")),
            last_status: "automatic backups off".into(),
            retention_days: 7,
            required_retention_days: 7,
            pitr_enabled: false,
            earliest_restore: None,
            latest_restore: None,
            geo_redundant: false,
        }
    );
    // The daily check's findings: old, automatic backups off, PITR off.
    let f = b.findings(at("2026-11-22T10:00:00Z"));
    assert!(f[0].starts_with("last backup ") && f[0].ends_with(" old (> 24h)"), "{f:?}");
    assert_eq!(f[1..], ["last backup automatic backups off", "point-in-time recovery off"]);

    // Secret Manager, across two pages: the recorded secret (its versions' states are ints)
    // and a second page's secret labelled env=prod. Metadata only.
    assert_eq!(snap.secrets.len(), 2);
    assert_eq!(
        snap.secrets[0],
        model::Secret {
            id: SECRET.into(),
            name: "secretmanagersecret-abc123".into(),
            store: "Secret Manager".into(),
            provider: skydeck::providers::gcp::PROVIDER,
            environment: "unassigned".into(),
            enabled: true,
            updated_at: Some(at("2024-04-02T08:00:00Z")),
            last_rotated: Some(at("2024-04-02T08:00:00Z")),
            rotation_days: Some(1),
            expires_at: Some(at("2024-04-01T12:34:56.123456Z")),
            versions: 2,
        }
    );
    assert_eq!(
        snap.secrets[1],
        model::Secret {
            id: "projects/123456789012/secrets/db-password-prod".into(),
            name: "db-password-prod".into(),
            store: "Secret Manager".into(),
            provider: skydeck::providers::gcp::PROVIDER,
            environment: "production".into(),
            enabled: true,
            updated_at: Some(at("2026-11-01T08:00:00Z")),
            last_rotated: Some(at("2026-11-01T08:00:00Z")),
            rotation_days: Some(30),
            expires_at: None,
            versions: 2,
        }
    );

    // Cloud Monitoring against the default thresholds: p95 latency 3.5 s (warn), 5xx 2 % of the
    // last minutes (warn; int64 counts as strings), CPU 45.5 % (ok), memory 95 % (crit).
    let metric = |k: MetricKind| snap.metrics.iter().find(|m| m.kind == k).unwrap();
    let m = metric(MetricKind::ResponseTime);
    assert_eq!((m.resource.as_str(), m.environment.as_str()), ("runservice-abc123", "unassigned"));
    assert!(close(m.value, 3.5) && m.level == Level::Warn, "{m:?}");
    assert!(close(m.history[0], 1.2005) && close(m.history[1], 3.5), "{m:?}");
    let m = metric(MetricKind::ErrorRate);
    assert!(close(m.value, 2.0) && m.level == Level::Warn, "{m:?}");
    assert!(close(m.history[0], 1.0) && close(m.history[1], 3.0), "{m:?}");
    let m = metric(MetricKind::Cpu);
    assert!(close(m.value, 45.5) && m.level == Level::Ok, "{m:?}");
    let m = metric(MetricKind::Memory);
    assert!(close(m.value, 95.0) && m.level == Level::Crit, "{m:?}");
    assert_eq!(m.history.len(), 2);
    assert_eq!(snap.metrics.len(), 4);

    let envs: Vec<(&str, Tier)> = snap.environments.iter().map(|e| (e.name.as_str(), e.tier)).collect();
    assert_eq!(envs, [("production", Tier::Prod), ("unassigned", Tier::Dev)]);
    assert_eq!(snap.source_note.as_deref(), Some("project demo-proj"));

    // One token for the whole poll, and every API call carried it.
    let all = s.server.received_requests().await.unwrap();
    assert_eq!(all.iter().filter(|r| r.url.path() == "/token").count(), 1);
    for r in all.iter().filter(|r| r.url.path() != "/token") {
        assert_eq!(r.headers.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {TOKEN}"), "{}", r.url);
    }
    // Pages were followed with the token Google gave.
    assert_eq!(
        requests(&s, "GET", "/v1/projects/demo-proj/secrets")
            .await
            .iter()
            .map(|r| r.url.query_pairs().find(|(k, _)| k == "pageToken").map(|(_, v)| v.to_string()))
            .collect::<Vec<_>>(),
        [None, Some("secrets-page-2".to_string())]
    );
    // No payload is ever read.
    assert!(all.iter().all(|r| !r.url.path().ends_with(":access")));
}

/// The recorded service after a `--no-traffic` deploy: revision 00002 is ready, 00001 serves.
async fn after_deploy(s: &Setup) -> model::Snapshot {
    mount_estate(
        &s.server,
        service_after_deploy(&s.server),
        &[local("run-revisions-after-deploy.page1.json"), local("run-revisions-after-deploy.page2.json")],
    )
    .await;
    s.provider.fetch().await.unwrap()
}

async fn mount_rollout(s: &Setup, done: Value) {
    let op = "/v2/projects/demo-proj/locations/us-central1/operations/op-0001";
    Mock::given(method("PATCH"))
        .and(path(format!("/v2/{SERVICE}")))
        .and(query_param("updateMask", "traffic"))
        .respond_with(json_body(&json!({
            "name": "projects/demo-proj/locations/us-central1/operations/op-0001",
            "metadata": {"@type": "type.googleapis.com/google.cloud.run.v2.Service"},
            "done": false
        })))
        .expect(1)
        .mount(&s.server)
        .await;
    // Still running once, then the recorded answer.
    Mock::given(method("GET"))
        .and(path(op))
        .respond_with(json_body(&json!({
            "name": "projects/demo-proj/locations/us-central1/operations/op-0001",
            "done": false
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET")).and(path(op)).respond_with(json_body(&done)).mount(&s.server).await;
}

#[tokio::test]
async fn promote_sends_the_exact_traffic_patch_polls_the_operation_then_checks_health() {
    let s = setup().await;
    let snap = after_deploy(&s).await;

    // Revisions came in two pages, newest first; the current one serves everything.
    let r = snap.resources.iter().find(|r| r.id == SERVICE).unwrap();
    assert_eq!(r.versions, ["runservice-abc123-00002-def", "runservice-abc123-00001-rvm"]);
    assert_eq!(r.current_version.as_deref(), Some("runservice-abc123-00001-rvm"));
    let pages = requests(&s, "GET", "/revisions").await;
    assert_eq!(pages.len(), 2);
    assert!(pages[1].url.query().unwrap().contains("pageToken=revisions-page-2"));

    mount_rollout(&s, recorded("run/v2/operations.get.create-service-done.json")).await;
    get(&s.server, &format!("/v2/{SERVICE}"), service_serving(&s.server, "runservice-abc123-00002-def")).await;
    Mock::given(method("GET"))
        .and(path("/svc/api/v1/health"))
        .respond_with(json_body(&json!({"status": "ok"})))
        .expect(1)
        .mount(&s.server)
        .await;

    // Promote without arguments = 100 % to the latest ready revision.
    let plan = s.provider.plan(&ActionRequest::new(Verb::Promote, SERVICE), &snap).unwrap();
    let expected = json!({"traffic": [{
        "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
        "revision": "runservice-abc123-00002-def",
        "percent": 100
    }]});
    assert_eq!(plan.target_name, "runservice-abc123");
    assert_eq!(plan.calls.len(), 2);
    assert_eq!(plan.calls[0].call, format!("PATCH {}/v2/{SERVICE}?updateMask=traffic {expected}", s.server.uri()));
    assert_eq!(
        plan.summary,
        "promote runservice-abc123 (us-central1, demo-proj): traffic runservice-abc123-00001-rvm=100% -> runservice-abc123-00002-def=100%. runservice-abc123-00002-def was created 2024-04-02 09:00 UTC from gcr.io/cloudrun/hello:v2."
    );
    assert!(plan.calls[1].call.contains("/operations/"), "{}", plan.calls[1].call);
    assert!(
        plan.verification.ends_with(&format!(
            "traffic is runservice-abc123-00002-def=100%; then GET {}/svc/api/v1/health answers 2xx (up to 2 tries, 0s apart)",
            s.server.uri()
        )),
        "{}",
        plan.verification
    );

    let pipeline = Pipeline::new(s.store.clone(), false, "maria");
    let outcome = pipeline.act(&s.provider, plan).await;
    let detail = outcome.result.unwrap().to_string();
    assert!(
        detail.starts_with("traffic of runservice-abc123 moved to runservice-abc123-00002-def=100%; verified: traffic is runservice-abc123-00002-def=100%; GET "),
        "{detail}"
    );
    assert!(detail.contains("/svc/api/v1/health answered 200"), "{detail}");

    // Exactly the body the plan showed, once; the operation was polled until done.
    let patches = requests(&s, "PATCH", SERVICE).await;
    assert_eq!(patches.len(), 1);
    assert_eq!(body(&patches[0]), expected);
    assert_eq!(patches[0].url.query(), Some("updateMask=traffic"));
    assert_eq!(requests(&s, "GET", "/operations/op-0001").await.len(), 2);

    let audit = s.store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Finished]);
    assert_eq!(audit[1].source, "gcp");
    assert_eq!(audit[1].target, SERVICE);
}

#[tokio::test]
async fn a_canary_and_a_rollback_plan_their_exact_bodies() {
    let s = setup().await;
    let snap = after_deploy(&s).await;
    let mut canary = ActionRequest::new(Verb::Promote, SERVICE);
    canary.params.insert("to".into(), "runservice-abc123-00002-def".into());
    canary.params.insert("percent".into(), "10".into());
    let plan = s.provider.plan(&canary, &snap).unwrap();
    let body: Value = serde_json::from_str(&plan.request.params["body"]).unwrap();
    assert_eq!(
        body,
        json!({"traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "runservice-abc123-00002-def", "percent": 10},
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "runservice-abc123-00001-rvm", "percent": 90}
        ]})
    );
    // Rolling back from 00001 has nowhere older to go.
    let err = s.provider.plan(&ActionRequest::new(Verb::Rollback, SERVICE), &snap).unwrap_err();
    assert!(matches!(err, ActionError::NotApplicable { .. }), "{err}");
    // Scale is not a Cloud Run action here.
    assert!(matches!(
        s.provider.plan(&ActionRequest::new(Verb::Scale, SERVICE), &snap),
        Err(ActionError::NotApplicable { .. })
    ));

    // Once 00002 serves, roll back = 100 % to 00001.
    let s = setup().await;
    mount_estate(
        &s.server,
        service_serving(&s.server, "runservice-abc123-00002-def"),
        &[local("run-revisions-after-deploy.page1.json"), local("run-revisions-after-deploy.page2.json")],
    )
    .await;
    let snap = s.provider.fetch().await.unwrap();
    let plan = s.provider.plan(&ActionRequest::new(Verb::Rollback, SERVICE), &snap).unwrap();
    let body: Value = serde_json::from_str(&plan.request.params["body"]).unwrap();
    assert_eq!(
        body,
        json!({"traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "runservice-abc123-00001-rvm", "percent": 100}]})
    );
}

#[tokio::test]
async fn a_failed_rollout_fails_the_action_and_the_audit_says_why() {
    let s = setup().await;
    let snap = after_deploy(&s).await;
    mount_rollout(
        &s,
        json!({
            "name": "projects/demo-proj/locations/us-central1/operations/op-0001",
            "done": true,
            "error": {"code": 9, "message": "Revision 'runservice-abc123-00002-def' is not ready and cannot serve traffic."}
        }),
    )
    .await;
    let plan = s.provider.plan(&ActionRequest::new(Verb::Promote, SERVICE), &snap).unwrap();
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(&s.provider, plan).await;
    assert_eq!(
        outcome.result.unwrap_err().to_string(),
        "the traffic change of runservice-abc123 failed: Revision 'runservice-abc123-00002-def' is not ready and cannot serve traffic. (FAILED_PRECONDITION)"
    );
    let audit = s.store.audit_entries().unwrap();
    assert_eq!(audit[1].phase, AuditPhase::Failed);
    assert!(audit[1].detail.contains("FAILED_PRECONDITION"), "{}", audit[1].detail);
    // Verification never ran: no GET of the service after the failure.
    assert!(requests(&s, "GET", SERVICE).await.is_empty());
}

#[tokio::test]
async fn google_error_bodies_and_failing_health_are_shown_clearly() {
    let s = setup().await;
    let snap = after_deploy(&s).await;
    // The service was deleted between the poll and the action: Google's recorded 404.
    Mock::given(method("PATCH"))
        .and(path(format!("/v2/{SERVICE}")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_raw(recorded("run/v2/services.get.404-not-found.json").to_string(), "application/json"),
        )
        .mount(&s.server)
        .await;
    let plan = s.provider.plan(&ActionRequest::new(Verb::Promote, SERVICE), &snap).unwrap();
    let err = s.provider.execute(&plan).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cloud Run: Resource 'runservice-abc123' of kind 'SERVICE' in region 'us-central1' in project 'demo-proj' does not exist. (NOT_FOUND, HTTP 404) [PATCH /v2/{SERVICE}]"
        )
    );

    // Traffic moved but the health path keeps failing: verification fails and says so.
    let s = setup().await;
    let snap = after_deploy(&s).await;
    mount_rollout(&s, recorded("run/v2/operations.get.create-service-done.json")).await;
    get(&s.server, &format!("/v2/{SERVICE}"), service_serving(&s.server, "runservice-abc123-00002-def")).await;
    Mock::given(method("GET"))
        .and(path("/svc/api/v1/health"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&s.server)
        .await;
    let plan = s.provider.plan(&ActionRequest::new(Verb::Promote, SERVICE), &snap).unwrap();
    s.provider.execute(&plan).await.unwrap();
    let err = s.provider.verify(&plan).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the action ran but verification failed: traffic is runservice-abc123-00002-def=100%, but GET {}/svc/api/v1/health failed 2 times (last: HTTP 503)",
            s.server.uri()
        )
    );
}

fn pitr_instance() -> Value {
    let mut i = recorded("sqladmin/v1beta4/instances.get.postgres.json");
    let b = &mut i["settings"]["backupConfiguration"];
    b["enabled"] = json!(true);
    b["pointInTimeRecoveryEnabled"] = json!(true);
    i["settings"]["userLabels"]["env"] = json!("prod");
    i["replicaNames"] = json!([format!("{INSTANCE}-replica")]);
    i
}

/// A read replica of the recorded instance in another region.
fn replica() -> Value {
    let mut r = recorded("sqladmin/v1beta4/instances.get.postgres.json");
    r["name"] = json!(format!("{INSTANCE}-replica"));
    r["region"] = json!("europe-west1");
    r["gceZone"] = json!("europe-west1-b");
    r["masterInstanceName"] = json!(format!("{PROJECT}:{INSTANCE}"));
    r["instanceType"] = json!("READ_REPLICA_INSTANCE");
    r["settings"]["userLabels"]["env"] = json!("prod");
    r
}

async fn setup_pitr() -> (Setup, model::Snapshot) {
    let s = setup().await;
    mount_token(&s.server).await;
    mount_run(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    mount_sql(&s.server, pitr_instance()).await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/instances"))
        .respond_with(json_body(&json!({"kind": "sql#instancesList", "items": [pitr_instance(), replica()]})))
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_secrets(&s.server).await;
    mount_monitoring(&s.server).await;
    get(
        &s.server,
        &format!("/v1/projects/demo-proj/instances/{INSTANCE}/getLatestRecoveryTime"),
        json!({"kind": "sql#getLatestRecoveryTime", "latestRecoveryTime": "2026-11-22T10:00:00Z", "earliestRecoveryTime": "2026-11-15T10:00:00.500Z"}),
    )
    .await;
    let snap = s.provider.fetch().await.unwrap();
    (s, snap)
}

#[tokio::test]
async fn restore_clones_into_a_new_instance_at_a_time_inside_the_window() {
    let (s, snap) = setup_pitr().await;
    let id = format!("projects/{PROJECT}/instances/{INSTANCE}");
    // The replica is a resource of its own, but has no backups; it makes the primary geo-redundant.
    assert_eq!(snap.backups.len(), 1);
    let b = &snap.backups[0];
    assert_eq!(b.id, id);
    assert!(b.pitr_enabled && b.geo_redundant);
    let primary = snap.resources.iter().find(|r| r.id == id).unwrap();
    let detail = |r: &model::Resource, k: &str| r.details.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        detail(primary, "replicas").as_deref(),
        Some("sqlinstance-postgres-minimal-direct-abc123-replica (europe-west1)")
    );
    assert_eq!(detail(primary, "point-in-time recovery").as_deref(), Some("on, logs kept 7 days"));
    let replica_id = format!("projects/{PROJECT}/instances/{INSTANCE}-replica");
    let r = snap.resources.iter().find(|r| r.id == replica_id).unwrap();
    assert_eq!(detail(r, "replica of").as_deref(), Some("demo-proj:sqlinstance-postgres-minimal-direct-abc123"));
    assert!(detail(r, "backups").is_none());
    assert!(matches!(
        s.provider.plan(&ActionRequest::new(Verb::Snapshot, &replica_id), &snap),
        Err(ActionError::NotApplicable { .. })
    ));
    assert_eq!(b.environment, "production");
    assert_eq!(b.required_retention_days, 35);
    assert_eq!(b.last_status, "succeeded");
    assert_eq!(b.earliest_restore, Some(at("2026-11-15T10:00:00.500Z")));
    assert_eq!(b.latest_restore, Some(at("2026-11-22T10:00:00Z")));
    assert_eq!(b.findings(at("2024-04-01T20:00:00Z")), ["retention 7d below policy 35d"]);

    // Outside the window, or onto an existing name: refused before anything is sent.
    let mut req = ActionRequest::new(Verb::Restore, &id);
    req.params.insert("time".into(), "2026-11-01T00:00:00Z".into());
    let err = s.provider.plan(&req, &snap).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: restore time 2026-11-01T00:00:00Z is outside the recovery window 2026-11-15T10:00:00.500Z .. 2026-11-22T10:00:00Z"
    );
    req.params.insert("time".into(), "2026-11-20T08:30:00Z".into());
    req.params.insert("name".into(), INSTANCE.into());
    assert!(matches!(s.provider.plan(&req, &snap), Err(ActionError::InvalidInput(_))));
    req.params.insert("name".into(), "Bad_Name".into());
    assert!(matches!(s.provider.plan(&req, &snap), Err(ActionError::InvalidInput(_))));

    req.params.insert("name".into(), "orders-restored".into());
    let plan = s.provider.plan(&req, &snap).unwrap();
    let expected =
        json!({"cloneContext": {"destinationInstanceName": "orders-restored", "pointInTime": "2026-11-20T08:30:00Z"}});
    assert_eq!(plan.tier, Tier::Prod);
    assert_eq!(plan.target_name, INSTANCE);
    assert_eq!(
        plan.calls[0].call,
        format!("POST {}/v1/projects/demo-proj/instances/{INSTANCE}/clone {expected}", s.server.uri())
    );
    assert!(plan.summary.contains("into a NEW instance orders-restored"), "{}", plan.summary);
    assert!(plan.summary.contains("is not touched"), "{}", plan.summary);
    // Without --time: the latest restorable moment, and a default name.
    let plan_default = s.provider.plan(&ActionRequest::new(Verb::Restore, &id), &snap).unwrap();
    assert_eq!(plan_default.request.params["time"], "2026-11-22T10:00:00Z");
    assert_eq!(plan_default.request.params["name"], "sqlinstance-postgres-minimal-direct-abc123-restored-202611221000");

    let sql_op = |status: &str| {
        json!({"kind": "sql#operation", "name": "op-clone-1", "status": status, "operationType": "CLONE",
               "targetId": INSTANCE, "targetProject": PROJECT,
               "selfLink": format!("https://sqladmin.googleapis.com/v1/projects/{PROJECT}/operations/op-clone-1")})
    };
    Mock::given(method("POST"))
        .and(path(format!("/v1/projects/demo-proj/instances/{INSTANCE}/clone")))
        .respond_with(json_body(&sql_op("PENDING")))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/operations/op-clone-1"))
        .respond_with(json_body(&sql_op("RUNNING")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/operations/op-clone-1"))
        .respond_with(json_body(&sql_op("DONE")))
        .mount(&s.server)
        .await;
    let mut clone = recorded("sqladmin/v1beta4/instances.get.postgres.json");
    clone["name"] = json!("orders-restored");
    get(&s.server, "/v1/projects/demo-proj/instances/orders-restored", clone).await;

    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(&s.provider, plan).await;
    assert_eq!(
        outcome.result.unwrap().to_string(),
        format!(
            "cloned {INSTANCE} as of 2026-11-20T08:30:00Z into orders-restored; verified: orders-restored is RUNNABLE (POSTGRES_16, us-central1)"
        )
    );
    let posts = requests(&s, "POST", "/clone").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(body(&posts[0]), expected);
    assert_eq!(requests(&s, "GET", "/operations/op-clone-1").await.len(), 2);
}

#[tokio::test]
async fn a_clone_that_fails_says_why_and_a_backup_runs_on_demand() {
    let (s, snap) = setup_pitr().await;
    let id = format!("projects/{PROJECT}/instances/{INSTANCE}");
    Mock::given(method("POST"))
        .and(path(format!("/v1/projects/demo-proj/instances/{INSTANCE}/clone")))
        .respond_with(json_body(&json!({"kind": "sql#operation", "name": "op-clone-2", "status": "PENDING"})))
        .mount(&s.server)
        .await;
    get(
        &s.server,
        "/v1/projects/demo-proj/operations/op-clone-2",
        json!({"kind": "sql#operation", "name": "op-clone-2", "status": "DONE",
               "error": {"kind": "sql#operationErrors", "errors": [{"kind": "sql#operationError", "code": "INSUFFICIENT_QUOTA", "message": "Not enough CPU quota in us-central1."}]}}),
    )
    .await;
    let plan = s.provider.plan(&ActionRequest::new(Verb::Restore, &id), &snap).unwrap();
    let err = s.provider.execute(&plan).await.unwrap_err();
    assert!(err.to_string().ends_with("failed: Not enough CPU quota in us-central1. (INSUFFICIENT_QUOTA)"), "{err}");

    // On-demand backup: POST backupRuns {}, the operation to DONE, then the new run listed.
    Mock::given(method("POST"))
        .and(path(format!("/v1/projects/demo-proj/instances/{INSTANCE}/backupRuns")))
        .respond_with(json_body(&json!({"kind": "sql#operation", "name": "op-backup-1", "status": "DONE", "operationType": "BACKUP_VOLUME"})))
        .expect(1)
        .mount(&s.server)
        .await;
    let plan = s.provider.plan(&ActionRequest::new(Verb::Snapshot, &id), &snap).unwrap();
    assert_eq!(
        plan.calls[0].call,
        format!("POST {}/v1/projects/demo-proj/instances/{INSTANCE}/backupRuns {{}}", s.server.uri())
    );
    let now = Utc::now().to_rfc3339();
    Mock::given(method("GET"))
        .and(path(format!("/v1/projects/demo-proj/instances/{INSTANCE}/backupRuns")))
        .respond_with(json_body(&json!({"kind": "sql#backupRunsList", "items": [
            {"kind": "sql#backupRun", "id": "1763805600001", "status": "SUCCESSFUL", "type": "ON_DEMAND",
             "enqueuedTime": now, "startTime": now, "endTime": now}
        ]})))
        .with_priority(1)
        .mount(&s.server)
        .await;
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(&s.provider, plan).await;
    assert_eq!(
        outcome.result.unwrap().to_string(),
        format!("on-demand backup of {INSTANCE} done; verified: backup 1763805600001 of {INSTANCE} is SUCCESSFUL")
    );
    let posts = requests(&s, "POST", "/backupRuns").await;
    assert_eq!(body(&posts[0]), json!({}));
}

/// CRC-32C computed independently of the adapter.
fn crc32c(data: &[u8]) -> u32 {
    let table: Vec<u32> =
        (0..256u32).map(|n| (0..8).fold(n, |c, _| if c & 1 == 1 { 0x82F6_3B78 ^ (c >> 1) } else { c >> 1 })).collect();
    !data.iter().fold(!0u32, |c, b| table[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8))
}

#[tokio::test]
async fn rotate_adds_the_exact_version_then_disables_the_previous_one() {
    let s = setup().await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    // The recorded addVersion request carries the value; decode it to send it ourselves.
    let recorded_request = recorded("secretmanager/v1/secrets.addVersion.request.json");
    let data = recorded_request["payload"]["data"].as_str().unwrap().to_string();
    let value = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&data).unwrap()).unwrap();

    // Without a value nothing can be planned.
    let err = s.provider.plan(&ActionRequest::new(Verb::Rotate, SECRET), &snap).unwrap_err();
    assert!(matches!(err, ActionError::MissingInput(_)), "{err}");
    assert!(err.to_string().contains("--value-stdin"), "{err}");

    let mut req = ActionRequest::new(Verb::Rotate, SECRET);
    req.secret_input = Some(value.clone());
    let plan = s.provider.plan(&req, &snap).unwrap();
    let text = format!("{} {:?} {}", plan.render_text(), plan, serde_json::to_string(&plan).unwrap());
    assert!(!text.contains(&value) && !text.contains(&data), "the value never shows: {text}");
    assert_eq!(plan.calls.len(), 2);
    assert_eq!(plan.calls[1].call, format!("POST {}/v1/{SECRET}/versions/2:disable {{}}", s.server.uri()));

    // addVersion answers as recorded (enum as int: state 1 = ENABLED), for version 3 here.
    let mut added = recorded("secretmanager/v1/secrets.addVersion.enum-int.json");
    added["name"] = json!(format!("{SECRET}/versions/3"));
    Mock::given(method("POST"))
        .and(path(format!("/v1/{SECRET}:addVersion")))
        .respond_with(json_body(&added))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/{SECRET}/versions/2:disable")))
        .respond_with(json_body(&json!({"name": format!("{SECRET}/versions/2"), "state": 2})))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/{SECRET}/versions")))
        .respond_with(json_body(&json!({"versions": [
            {"name": format!("{SECRET}/versions/3"), "createTime": Utc::now().to_rfc3339(), "state": 1},
            {"name": format!("{SECRET}/versions/2"), "createTime": "2024-04-02T08:00:00Z", "state": 2},
            {"name": format!("{SECRET}/versions/1"), "createTime": "2024-04-01T12:34:56Z", "state": 2}
        ]})))
        .with_priority(1)
        .mount(&s.server)
        .await;
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(&s.provider, plan).await;
    assert_eq!(
        outcome.result.unwrap().to_string(),
        "added version 3 (ENABLED), disabled version 2; verified: version 3 is ENABLED, version 2 DISABLED"
    );

    // The exact body: the recording's payload.data, plus its CRC32C as an int64 string; the
    // recording's `parent` is the URL path in REST (AddSecretVersionRequest has only `payload`).
    let posts: Vec<wiremock::Request> = s
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().starts_with("/v1/"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(posts[0].url.path().ends_with(":addVersion"), "addVersion first");
    assert!(posts[1].url.path().ends_with("/versions/2:disable"), "then disable");
    assert_eq!(body(&posts[0]), json!({"payload": {"data": data, "dataCrc32c": crc32c(value.as_bytes()).to_string()}}));
    assert_eq!(posts[1].url.path(), format!("/v1/{SECRET}/versions/2:disable"));
    assert_eq!(
        recorded_request["parent"],
        format!("projects/{PROJECT}/secrets/secretmanagersecretversion-dep-{UNIQUE}")
    );
    for e in s.store.audit_entries().unwrap() {
        assert!(!e.detail.contains(&value) && !e.detail.contains(&data), "{}", e.detail);
    }
}

#[tokio::test]
async fn a_failed_add_never_disables_the_previous_version() {
    let s = setup().await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    Mock::given(method("POST"))
        .and(path(format!("/v1/{SECRET}:addVersion")))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            json!({"error": {"code": 400, "message": "Secret Payload cannot be larger than 64KiB.", "status": "INVALID_ARGUMENT"}}).to_string(),
            "application/json",
        ))
        .mount(&s.server)
        .await;
    let mut req = ActionRequest::new(Verb::Rotate, SECRET);
    req.secret_input = Some("s3cr3t-value".into());
    let plan = s.provider.plan(&req, &snap).unwrap();
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(&s.provider, plan).await;
    let err = outcome.result.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "Secret Manager: Secret Payload cannot be larger than 64KiB. (INVALID_ARGUMENT, HTTP 400) [POST /v1/{SECRET}:addVersion]"
        )
    );
    assert!(requests(&s, "POST", ":disable").await.is_empty());
    assert!(!err.contains("s3cr3t"));
}

#[tokio::test]
async fn expired_logins_and_throttling() {
    // Every API says the credentials are no good: the source fails with the login fix.
    let s = setup().await;
    mount_token(&s.server).await;
    Mock::given(wiremock::matchers::any())
        .and(wiremock::matchers::path_regex("^/v[0-9]"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            json!({"error": {"code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "status": "UNAUTHENTICATED"}}).to_string(),
            "application/json",
        ))
        .mount(&s.server)
        .await;
    match s.provider.fetch().await.unwrap_err() {
        ProviderError::Auth { message, fix } => {
            assert_eq!(fix, "run `gcloud auth application-default login`");
            assert!(message.contains("(UNAUTHENTICATED, HTTP 401)"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // The token exchange itself is refused (a deleted key): Auth, with the fix.
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            "application/json",
        ))
        .mount(&s.server)
        .await;
    match s.provider.fetch().await.unwrap_err() {
        ProviderError::Auth { message, fix } => {
            assert!(message.starts_with("could not get a GCP access token (service-account key "), "{message}");
            assert!(fix.contains("gcloud auth application-default login"), "{fix}");
        }
        other => panic!("{other:?}"),
    }
    assert!(requests(&s, "GET", "/instances").await.is_empty(), "no API call without a token");

    // 429 with Retry-After: 0 is retried at once; a long Retry-After goes back to the loop.
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/instances"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_raw(
            json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}).to_string(),
            "application/json",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.backups.len(), 1);
    assert_eq!(requests(&s, "GET", "/v1/projects/demo-proj/instances").await.len(), 2);

    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/secrets"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    assert_eq!(
        s.provider.fetch().await.unwrap_err(),
        ProviderError::RateLimited { retry_after: Some(Duration::from_mins(2)) }
    );
}

#[tokio::test]
async fn open_cloud_monitoring_alerts_are_listed_with_severity_environment_and_link() {
    let s = setup().await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.alerts.len(), 2, "{:?}", snap.alerts);
    let run = &snap.alerts[0];
    assert_eq!(run.id, "projects/demo-proj/alerts/0.nk3ql1lbq0yt");
    assert_eq!(run.provider, skydeck::providers::gcp::PROVIDER);
    assert_eq!(run.source, "Cloud Monitoring");
    assert_eq!(run.kind, model::AlertKind::Monitoring);
    assert_eq!(run.name, "Cloud Run 5xx rate above 2%");
    assert_eq!(run.severity, model::AlertSeverity::Critical);
    assert_eq!(run.state, model::AlertState::Firing);
    assert_eq!(run.resource, "runservice-abc123");
    assert_eq!(run.environment, "production", "the resource's user label");
    assert_eq!(run.since, Some(at("2024-05-14T09:12:41.318Z")));
    assert_eq!(
        run.link.as_deref(),
        Some("https://console.cloud.google.com/monitoring/alerting/alerts/0.nk3ql1lbq0yt?project=demo-proj")
    );
    assert!(!run.can_ack, "the Alerts API is read-only");
    let sql = &snap.alerts[1];
    assert_eq!(sql.resource, "sqlinstance-postgres-minimal-direct-abc123");
    assert_eq!(sql.severity, model::AlertSeverity::Warning, "no severity on the policy");
    assert_eq!(sql.environment, "production", "the policy's user label");
    assert!(!sql.name.contains('\u{1b}'), "escape sequences never reach the screen: {:?}", sql.name);
    assert!(sql.name.starts_with("Cloud SQL disk") && sql.name.ends_with("above 80%"), "{}", sql.name);
    let asked = requests(&s, "GET", "/v3/projects/demo-proj/alerts").await;
    assert_eq!(asked.len(), 1);
    assert!(asked[0].url.query_pairs().any(|(k, v)| k == "filter" && v == "state=\"OPEN\""));

    // The alerting policies: which would stay quiet, and where to find them.
    let rules: Vec<(&str, &str, Option<&str>)> =
        snap.alert_rules.iter().map(|r| (r.name.as_str(), r.environment.as_str(), r.problem())).collect();
    assert_eq!(
        rules,
        [
            ("Cloud Run 5xx rate above 2%", "production", None),
            ("Cloud SQL disk above 80%", "production", Some("notifies nobody when it fires")),
            ("dev queue age", "dev", Some("is disabled: it will not fire")),
        ]
    );
    assert_eq!(
        snap.alert_rules[0].link.as_deref(),
        Some("https://console.cloud.google.com/monitoring/alerting/policies/4871229613501735127?project=demo-proj")
    );
}

/// `silence --for 90m` on an open alert: one `projects.snoozes.create` naming the alert's policy
/// for exactly that window from when it runs, the snooze read back, audited; the next read marks
/// the alert silenced until the snooze ends. `ack` is refused with the reason, before anything is
/// sent. (Snooze payloads follow the v3 reference: Google publishes no examples.)
#[tokio::test]
async fn silence_snoozes_the_alerts_policy_for_the_window_and_reads_it_back() {
    let s = setup().await;
    let created: Arc<std::sync::Mutex<Option<Value>>> = Arc::default();
    let (on_post, on_get, on_list) = (created.clone(), created.clone(), created.clone());
    Mock::given(method("POST"))
        .and(path("/v3/projects/demo-proj/snoozes"))
        .respond_with(move |r: &wiremock::Request| {
            let mut snooze: Value = serde_json::from_slice(&r.body).unwrap();
            snooze["name"] = json!("projects/demo-proj/snoozes/7711");
            *on_post.lock().unwrap() = Some(snooze.clone());
            ResponseTemplate::new(200).set_body_json(snooze)
        })
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/snoozes/7711"))
        .respond_with(move |_: &wiremock::Request| match on_get.lock().unwrap().clone() {
            Some(snooze) => ResponseTemplate::new(200).set_body_json(snooze),
            None => ResponseTemplate::new(404),
        })
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/snoozes"))
        .respond_with(move |_: &wiremock::Request| {
            let listed: Vec<Value> = on_list.lock().unwrap().clone().into_iter().collect();
            ResponseTemplate::new(200).set_body_json(json!({ "snoozes": listed }))
        })
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    let id = "projects/demo-proj/alerts/0.nk3ql1lbq0yt";
    let alert = snap.alerts.iter().find(|a| a.id == id).unwrap();
    assert!(alert.can_silence && alert.silenced_until.is_none(), "{alert:?}");

    let ack = s.provider.plan(&ActionRequest::new(Verb::Ack, id), &snap).unwrap_err();
    assert!(ack.to_string().contains("acknowledge it in the console"), "{ack}");
    let mut request = ActionRequest::new(Verb::Silence, id);
    request.params.insert("for".into(), "90m".into());
    request.reason = Some("rollback running".into());
    let plan = s.provider.plan(&request, &snap).unwrap();
    assert!(
        plan.summary
            .contains("silence the critical alert 'Cloud Run 5xx rate above 2%' on runservice-abc123 for 1h30m"),
        "{}",
        plan.summary
    );
    assert!(
        plan.calls[0].call.starts_with(&format!("POST {}/v3/projects/demo-proj/snoozes ", s.server.uri())),
        "{}",
        plan.calls[0].call
    );

    let before = Utc::now();
    let done = Pipeline::new(s.store.clone(), false, "tester").act(&s.provider, plan).await.result.unwrap().to_string();
    let sent = requests(&s, "POST", "/v3/projects/demo-proj/snoozes").await;
    let sent = body(&sent[0]);
    monitoring_discovery().assert_conforms("Snooze", &sent, "the snooze skydeck sends");
    assert_eq!(sent["criteria"], json!({"policies": ["projects/demo-proj/alertPolicies/4871229613501735127"]}));
    assert_eq!(sent["displayName"], json!("skydeck: silence for 1h30m: rollback running"));
    let (from, until) =
        (at(sent["interval"]["startTime"].as_str().unwrap()), at(sent["interval"]["endTime"].as_str().unwrap()));
    assert!(from >= before - chrono::Duration::seconds(1) && from <= Utc::now(), "{from}");
    assert_eq!(until - from, chrono::Duration::minutes(90));
    assert!(
        done.contains("Cloud Monitoring took the snooze 7711")
            && done.contains("verified: snooze 7711 covers 4871229613501735127"),
        "{done}"
    );
    let phases: Vec<AuditPhase> = s.store.audit_entries().unwrap().iter().map(|e| e.phase).collect();
    assert_eq!(phases, [AuditPhase::Started, AuditPhase::Finished]);

    let again = s.provider.fetch().await.unwrap();
    assert_eq!(again.alerts.iter().find(|a| a.id == id).unwrap().silenced_until, Some(until));
    let other = again.alerts.iter().find(|a| a.id != id).unwrap();
    assert_eq!(other.silenced_until, None, "another policy's alert is not silenced");
    let listed = requests(&s, "GET", "/v3/projects/demo-proj/snoozes").await;
    assert!(
        listed[0].url.query_pairs().any(|(k, v)| k == "filter" && v.starts_with("interval.end_time > \"")),
        "{:?}",
        listed[0].url
    );
}

#[tokio::test]
async fn alerts_that_cannot_be_read_are_a_note_and_everything_else_stays() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/v3/projects/demo-proj/alerts"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            json!({"error": {"code": 403, "message": "Permission 'monitoring.alerts.list' denied", "status": "PERMISSION_DENIED"}}).to_string(),
            "application/json",
        ))
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    assert!(snap.alerts.is_empty());
    assert_eq!(snap.resources.len(), 2);
    assert!(!snap.metrics.is_empty());
    let note = snap.source_note.unwrap();
    assert!(note.contains("alerts unavailable: Permission 'monitoring.alerts.list' denied"), "{note}");
}

#[tokio::test]
async fn one_api_failing_leaves_the_others_on_screen_with_a_note() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/instances"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            json!({"error": {"code": 403, "message": "Cloud SQL Admin API has not been used in project demo-proj before or it is disabled.", "status": "PERMISSION_DENIED",
                   "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}]}})
            .to_string(),
            "application/json",
        ))
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/projects/demo-proj/secrets"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            json!({"error": {"code": 403, "message": "Permission 'secretmanager.secrets.list' denied", "status": "PERMISSION_DENIED"}}).to_string(),
            "application/json",
        ))
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.resources.len(), 1);
    assert!(snap.secrets.is_empty() && snap.backups.is_empty());
    assert_eq!(
        snap.source_note.as_deref(),
        Some(
            "project demo-proj · Cloud SQL Admin API off · Secret Manager failed: Permission 'secretmanager.secrets.list' denied (PERMISSION_DENIED, HTTP 403)"
        )
    );
}

#[tokio::test]
async fn a_services_log_goes_to_the_viewer_and_the_tail_follows_every_service() {
    let s = setup().await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    Mock::given(method("POST"))
        .and(path("/v2/entries:list"))
        .respond_with(json_body(&local("logging-entries.json")))
        .mount(&s.server)
        .await;
    s.provider.fetch().await.unwrap();

    let lines = s.provider.fetch_log(SERVICE).await.unwrap();
    let shown: Vec<(Severity, &str)> = lines.iter().map(|l| (l.severity, l.text.as_str())).collect();
    assert_eq!(
        shown,
        [
            (Severity::Info, "GET https://runservice-abc123-iqnfoshjhq-uc.a.run.app/api/v1/health 200 0.004123s"),
            (Severity::Warn, "slow query: 2.3s"),
            (Severity::Error, "panic: database unreachable"),
        ]
    );
    assert!(lines.iter().all(|l| l.source == "runservice-abc123"));
    assert_eq!(lines[2].at, at("2026-11-22T10:00:03.25Z"));
    let posts = requests(&s, "POST", "/v2/entries:list").await;
    assert_eq!(
        body(&posts[0]),
        json!({
            "resourceNames": ["projects/demo-proj"],
            "filter": "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"runservice-abc123\" AND resource.labels.location=\"us-central1\"",
            "orderBy": "timestamp desc",
            "pageSize": 500
        })
    );
    assert!(s.provider.fetch_log("projects/demo-proj/secrets/x").await.is_err());

    // The tail: oldest first after the cursor, then quiet until the interval has passed.
    let cursor = at("2026-11-22T10:00:01.5Z");
    let tail = s.provider.fetch_logs(Some(cursor)).await.unwrap();
    assert_eq!(tail.len(), 2, "entries at or before the cursor are dropped");
    let posts = requests(&s, "POST", "/v2/entries:list").await;
    let b = body(&posts[1]);
    assert_eq!(b["orderBy"], "timestamp asc");
    assert_eq!(b["filter"], "resource.type=\"cloud_run_revision\" AND timestamp>\"2026-11-22T10:00:01.500Z\"");
    assert!(s.provider.fetch_logs(Some(cursor)).await.unwrap().is_empty());
    assert_eq!(requests(&s, "POST", "/v2/entries:list").await.len(), 2);
}

#[tokio::test]
async fn regions_are_discovered_once_when_none_are_configured() {
    let s = setup_regions(&[]).await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    get(
        &s.server,
        "/v1/projects/demo-proj/locations",
        json!({"locations": [
            {"name": "projects/demo-proj/locations/europe-west1", "locationId": "europe-west1", "displayName": "Belgium"},
            {"name": "projects/demo-proj/locations/us-central1", "locationId": "us-central1", "displayName": "Iowa"}
        ]}),
    )
    .await;
    get(&s.server, "/v2/projects/demo-proj/locations/europe-west1/services", json!({})).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.resources.iter().filter(|r| r.role == Role::Compute).count(), 1);
    s.provider.fetch().await.unwrap();
    assert_eq!(requests(&s, "GET", "/locations").await.len(), 1);
    assert_eq!(requests(&s, "GET", "/europe-west1/services").await.len(), 2);
}

#[tokio::test]
async fn build_makes_one_provider_per_project_and_says_what_is_missing() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &server);
    let store = Arc::new(Store::open_in(&dir.path().join("data")).unwrap());
    let config = Config::default();
    let ctx = BuildContext { config: &config, store };
    let mut section = GcpConfig {
        project: Some("a".into()),
        credentials: GcpCredentials::ServiceAccount,
        credentials_file: Some(key.display().to_string()),
        endpoints: GcpEndpoints { run: Some(server.uri()), ..Default::default() },
        ..Default::default()
    };
    let one = gcp::build(&section, &ctx).await.unwrap();
    assert_eq!(one.iter().map(|p| p.name()).collect::<Vec<_>>(), ["gcp"]);
    section.projects = vec!["b".into(), "a".into()];
    let two = gcp::build(&section, &ctx).await.unwrap();
    assert_eq!(two.iter().map(|p| p.name()).collect::<Vec<_>>(), ["gcp:a", "gcp:b"]);

    let none = GcpConfig::default();
    let err = gcp::build(&none, &ctx).await.err().unwrap().to_string();
    assert!(err.contains("project = "), "{err}");
    section.credentials_file = Some(dir.path().join("missing.json").display().to_string());
    let err = gcp::build(&section, &ctx).await.err().unwrap().to_string();
    assert!(err.contains("missing.json") && err.contains("gcloud auth application-default login"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty(), "building sends nothing");
}

#[tokio::test]
async fn buckets_versioning_soft_delete_retention_and_location_type() {
    let s = setup().await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.storage.len(), 2, "{:?}", snap.source_note);
    let sample = &snap.storage[0];
    assert_eq!(sample.name, format!("storagebucket-sample-{UNIQUE}"));
    assert_eq!(sample.id, format!("projects/_/buckets/storagebucket-sample-{UNIQUE}"));
    assert_eq!(sample.provider, skydeck::providers::gcp::PROVIDER);
    assert_eq!(sample.region, "us");
    assert!(sample.versioning);
    assert_eq!(sample.soft_delete, model::SoftDelete::Days(7));
    assert!(sample.geo_redundant, "multi-region");
    assert_eq!(sample.lifecycle_rules, 1);
    assert_eq!(sample.object_lock, None);
    assert_eq!(
        sample.link.as_deref(),
        Some(&*format!(
            "https://console.cloud.google.com/storage/browser/storagebucket-sample-{UNIQUE}?project={PROJECT}"
        ))
    );
    assert_eq!(sample.findings(Tier::Dev), ["soft delete 7d below policy 30d"]);
    let prod = &snap.storage[1];
    assert_eq!(prod.environment, "production");
    assert_eq!(prod.region, "us-east1");
    assert_eq!(prod.soft_delete, model::SoftDelete::Off);
    assert_eq!(prod.object_lock.as_deref(), Some("retention 30d, locked"));
    assert_eq!(
        prod.findings(Tier::Prod),
        ["versioning off", "soft delete off (policy 30d)", "not geo-redundant in production"]
    );
    assert!(snap.environments.iter().any(|e| e.name == "production"));

    // Reused for five minutes: the next poll lists no bucket.
    s.provider.fetch().await.unwrap();
    assert_eq!(requests(&s, "GET", "/storage/v1/b").await.len(), 1);
}

#[tokio::test]
async fn a_bucket_list_failure_is_a_note() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/storage/v1/b"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": 403,
            "message": "sa@demo-proj.iam.gserviceaccount.com does not have storage.buckets.list access to the Google Cloud project.",
            "status": "PERMISSION_DENIED"
        }})))
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_estate(&s.server, recorded("run/v2/services.get.json"), &[local("run-revisions.json")]).await;
    let snap = s.provider.fetch().await.unwrap();
    assert!(snap.storage.is_empty());
    assert!(!snap.resources.is_empty());
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("buckets unavailable: ") && note.contains("storage.buckets.list"), "{note}");
}

/// Every payload the loopback Google serves is held to Google's discovery document of its API:
/// the hand-written list pages (Google publishes no examples of them) and, as a check of the
/// checker, the recordings of real GCP. A field Google does not have, a wrong type or an enum
/// value Google does not list fails here, instead of passing through the adapter's lenient
/// parsing.
#[test]
fn every_served_payload_has_the_shape_googles_discovery_documents_give_it() {
    let shared = |name| discovery_doc("../shared/fixtures/gcp/discovery", name);
    let (run, sql, secrets, logging) =
        (shared("run.v2.json"), shared("sqladmin.v1.json"), shared("secretmanager.v1.json"), shared("logging.v2.json"));
    let (monitoring, storage) =
        (monitoring_discovery(), discovery_doc("tests/fixtures/gcp/discovery", "storage.v1.json"));
    let cases: Vec<(&Discovery, &str, &str, Value)> = vec![
        (&run, "GoogleCloudRunV2Service", "recorded run/v2/services.get.json", recorded("run/v2/services.get.json")),
        (
            &sql,
            "DatabaseInstance",
            "recorded sqladmin instances.get",
            recorded("sqladmin/v1beta4/instances.get.postgres.json"),
        ),
        (&secrets, "Secret", "recorded secretmanager secrets.get", recorded("secretmanager/v1/secrets.get.json")),
        (
            &run,
            "GoogleCloudRunV2ListServicesResponse",
            "the services page",
            services_page(recorded("run/v2/services.get.json")),
        ),
        (&run, "GoogleCloudRunV2ListRevisionsResponse", "run-revisions.json", local("run-revisions.json")),
        (
            &run,
            "GoogleCloudRunV2ListRevisionsResponse",
            "run-revisions-after-deploy.page1.json",
            local("run-revisions-after-deploy.page1.json"),
        ),
        (
            &run,
            "GoogleCloudRunV2ListRevisionsResponse",
            "run-revisions-after-deploy.page2.json",
            local("run-revisions-after-deploy.page2.json"),
        ),
        (&sql, "BackupRunsListResponse", "sql-backupRuns.json", local("sql-backupRuns.json")),
        (&secrets, "ListSecretsResponse", "secrets.page2.json", local("secrets.page2.json")),
        (
            &secrets,
            "ListSecretVersionsResponse",
            "secret-versions.enum-int.json",
            local("secret-versions.enum-int.json"),
        ),
        (
            &secrets,
            "ListSecretVersionsResponse",
            "secret-versions.db-password-prod.json",
            local("secret-versions.db-password-prod.json"),
        ),
        (&logging, "ListLogEntriesResponse", "logging-entries.json", local("logging-entries.json")),
        (&monitoring, "ListAlertsResponse", "monitoring-alerts.json", local("monitoring-alerts.json")),
        (
            &monitoring,
            "ListAlertPoliciesResponse",
            "monitoring-alert-policies.json",
            local("monitoring-alert-policies.json"),
        ),
        (&monitoring, "ListTimeSeriesResponse", "monitoring-cpu.json", local("monitoring-cpu.json")),
        (&monitoring, "ListTimeSeriesResponse", "monitoring-memory.json", local("monitoring-memory.json")),
        (&monitoring, "ListTimeSeriesResponse", "monitoring-latency.json", local("monitoring-latency.json")),
        (&monitoring, "ListTimeSeriesResponse", "monitoring-requests.json", local("monitoring-requests.json")),
        (
            &storage,
            "Bucket",
            "recorded storage/v1/buckets.get.softdelete.json",
            local("storage/v1/buckets.get.softdelete.json"),
        ),
        (&storage, "Buckets", "the buckets page", storage_page()),
    ];
    for (doc, schema, what, value) in &cases {
        doc.assert_conforms(schema, value, what);
    }
    // The checker sees what it is for: an invented field, a wrong type, an unknown enum value.
    let mut wrong = local("monitoring-alerts.json");
    wrong["alerts"][0]["severity"] = json!("CRITICAL");
    wrong["alerts"][0]["state"] = json!("FIRING");
    wrong["alerts"][0]["openTime"] = json!(17);
    let found = monitoring.violations("ListAlertsResponse", &wrong);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.iter().any(|v| v.contains(".alerts[0].severity: no such field")), "{found:?}");
    assert!(found.iter().any(|v| v.contains("'FIRING' is not one of")), "{found:?}");
}
