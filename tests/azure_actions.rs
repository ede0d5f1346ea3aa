//! Azure actions through the real pipeline (audit, execute, verify) against a loopback server:
//! slot swaps as long-running operations polled to success and to failure, the health check
//! after a swap, the exact body of a point-in-time restore, and a new Key Vault secret version
//! whose value appears nowhere but in the one request that stores it.

mod azure_support;

use std::sync::Arc;

use azure_support::*;
use serde_json::{Value, json};
use skydeck::actions::{ActionError, ActionRequest, Pipeline, Risk, Verb};
use skydeck::model::Snapshot;
use skydeck::providers::Provider;
use skydeck::store::{AuditPhase, Store};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Setup {
    server: MockServer,
    _dir: tempfile::TempDir,
    provider: Arc<dyn Provider>,
    snapshot: Snapshot,
    store: Arc<Store>,
}

impl Setup {
    async fn new(extra: &str) -> Setup {
        Setup::on(MockServer::start().await, extra).await
    }

    /// With mocks the test mounted first (they win over the estate's).
    async fn on(server: MockServer, extra: &str) -> Setup {
        mount_estate(&server).await;
        let dir = tempdir();
        stand_in_az(dir.path(), true);
        let built = build(&config_text(&server.uri(), extra, ""), dir.path());
        let snapshot = built.provider.fetch().await.unwrap();
        Setup {
            server,
            _dir: dir,
            provider: built.provider,
            snapshot,
            store: Arc::new(Store::open_in_memory().unwrap()),
        }
    }

    fn plan(&self, request: &ActionRequest) -> Result<skydeck::actions::Plan, ActionError> {
        self.provider.plan(request, &self.snapshot)
    }

    async fn run(&self, request: &ActionRequest) -> Result<String, String> {
        let plan = self.plan(request).unwrap();
        let result = Pipeline::new(self.store.clone(), false, "tester").act(self.provider.as_ref(), plan).await.result;
        result.map(|done| done.to_string()).map_err(|e| e.to_string())
    }

    async fn requests(&self, verb: &str, p: &str) -> Vec<wiremock::Request> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == p)
            .collect()
    }
}

fn swap_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("{SITE}/slots/staging/slotsswap")))
        .and(query_param("api-version", "2024-11-01"))
        .and(header("authorization", "Bearer arm-token"))
        .and(body_json(json!({"targetSlot": "production", "preserveVnet": true})))
}

async fn mount_site_and_health(server: &MockServer, health: u16) {
    Mock::given(method("GET"))
        .and(path(SITE))
        .and(query_param("api-version", "2024-11-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body(&shared("web/2025-05-01/GetWebApp.json"), "200")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/health/sitef6141.azurewebsites.net"))
        .respond_with(ResponseTemplate::new(health).set_body_string("{\"status\":\"ok\"}"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn promote_swaps_staging_into_production_polls_to_success_and_checks_health() {
    let s = Setup::new("").await;
    let uri = s.server.uri();
    swap_call()
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("azure-asyncoperation", format!("{uri}/ops/swap-1?api-version=2024-11-01"))
                .insert_header("retry-after", "0"),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/swap-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "InProgress"})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/swap-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})))
        .mount(&s.server)
        .await;
    mount_site_and_health(&s.server, 200).await;

    let request = ActionRequest::new(Verb::Promote, SITE);
    let plan = s.plan(&request).unwrap();
    assert_eq!(plan.target_name, "sitef6141");
    assert_eq!(plan.environment, "unassigned");
    assert_eq!(plan.risk, Risk::Low);
    assert_eq!(
        plan.calls[0].call,
        format!(
            "POST {uri}{SITE}/slots/staging/slotsswap?api-version=2024-11-01 {{\"preserveVnet\":true,\"targetSlot\":\"production\"}}"
        )
    );
    assert!(plan.summary.starts_with("promote slot staging (PHP 5.6, .NET v4.0) into production of sitef6141"));
    assert!(plan.verification.contains(&format!("GET {uri}/health/sitef6141.azurewebsites.net: 2xx")));

    let detail = s.run(&request).await.unwrap();
    assert!(detail.starts_with("swapped slot staging into production of sitef6141 ("), "{detail}");
    assert!(
        detail.contains(&format!(
            "verified: production of sitef6141 is Running and serves PHP 5.6, .NET v4.0; {uri}/health/sitef6141.azurewebsites.net answered 200 in"
        )),
        "{detail}"
    );
    assert_eq!(s.requests("GET", "/ops/swap-1").await.len(), 3, "polled until Succeeded");
    let audit = s.store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Finished]);
    assert_eq!(audit[1].action_id, Some(audit[0].seq));
    assert_eq!(audit[0].target, SITE);
    assert_eq!(audit[0].verb, "promote");
}

#[tokio::test]
async fn a_failed_swap_says_so_and_is_audited_as_failed() {
    let s = Setup::new("").await;
    let uri = s.server.uri();
    swap_call()
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("azure-asyncoperation", format!("{uri}/ops/swap-2?api-version=2024-11-01")),
        )
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/swap-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "Failed",
            "error": {"code": "SwapSlotsFailed", "message": "Cannot swap: the staging slot failed to warm up."}
        })))
        .mount(&s.server)
        .await;
    mount_site_and_health(&s.server, 200).await;
    let err = s.run(&ActionRequest::new(Verb::Rollback, SITE)).await.unwrap_err();
    assert!(
        err.contains("Azure reports the swap of staging into production of sitef6141 failed (the operation ended Failed: SwapSlotsFailed: Cannot swap: the staging slot failed to warm up.)"),
        "{err}"
    );
    let audit = s.store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Failed]);
    assert_eq!(audit[1].detail, err);
    // Nothing was verified after a failed swap.
    assert!(s.requests("GET", "/health/sitef6141.azurewebsites.net").await.is_empty());
}

#[tokio::test]
async fn location_polling_and_a_failing_health_check_after_the_swap() {
    let s = Setup::new("").await;
    let uri = s.server.uri();
    swap_call()
        .respond_with(ResponseTemplate::new(202).insert_header("location", format!("{uri}/ops/swap-3")))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/swap-3"))
        .respond_with(ResponseTemplate::new(202))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET")).and(path("/ops/swap-3")).respond_with(ResponseTemplate::new(200)).mount(&s.server).await;
    mount_site_and_health(&s.server, 503).await;
    let request = ActionRequest::new(Verb::Promote, SITE);
    let plan = s.plan(&request).unwrap();
    let outcome = Pipeline::new(s.store.clone(), false, "tester").act(s.provider.as_ref(), plan).await;
    let err = outcome.result.unwrap_err();
    assert_eq!(err.kind(), "failed");
    let err = err.to_string();
    assert!(err.starts_with("the action ran but verification failed: production of sitef6141 is Running and serves PHP 5.6, .NET v4.0, but "), "{err}");
    assert!(
        err.ends_with(&format!(
            "/health/sitef6141.azurewebsites.net failed 2 times (last: HTTP 503); roll back with `skydeck act rollback {SITE}`"
        )),
        "{err}"
    );
    assert_eq!(s.requests("GET", "/ops/swap-3").await.len(), 2);
    assert_eq!(s.requests("GET", "/health/sitef6141.azurewebsites.net").await.len(), 2);
}

#[tokio::test]
async fn swaps_need_a_slot_and_other_verbs_are_refused() {
    let s = Setup::new("").await;
    let err = s.plan(&ActionRequest::new(Verb::Promote, SITE2)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "'promote' does not apply to sitef7252: it has no deployment slot to swap with production"
    );
    let mut to_qa = ActionRequest::new(Verb::Promote, SITE);
    to_qa.params.insert("to".into(), "qa=PHP 5.6, .NET v4.0".into());
    let plan = s.plan(&to_qa).unwrap();
    assert!(plan.calls[0].call.contains("/slots/qa/slotsswap"), "{}", plan.calls[0].call);
    let mut nowhere = ActionRequest::new(Verb::Promote, SITE);
    nowhere.params.insert("to".into(), "canary".into());
    assert_eq!(
        s.plan(&nowhere).unwrap_err().to_string(),
        "invalid input: sitef6141 has no slot 'canary' (slots: staging, qa)"
    );
    let rollback = s.plan(&ActionRequest::new(Verb::Rollback, SITE)).unwrap();
    assert!(
        rollback
            .summary
            .contains("swap production (PHP 5.6, .NET v4.0) with slot staging (PHP 5.6, .NET v4.0) again (no earlier swap is recorded"),
        "{}",
        rollback.summary
    );
    let err = s.plan(&ActionRequest::new(Verb::Scale, SITE)).unwrap_err();
    assert!(matches!(err, ActionError::NotApplicable { .. }), "{err}");
    let err = s.plan(&ActionRequest::new(Verb::Snapshot, PG4)).unwrap_err();
    assert!(err.to_string().contains("backups automatically"), "{err}");
    assert!(matches!(
        s.plan(&ActionRequest::new(Verb::Promote, "/subscriptions/x/nothing")),
        Err(ActionError::NotFound(_))
    ));
}

fn keys(v: &Value) -> Vec<String> {
    match v {
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(keys(v).into_iter().map(move |c| format!("{k}.{c}"))))
            .collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn restore_puts_exactly_the_point_in_time_body_into_a_new_server() {
    let s = Setup::new("").await;
    let uri = s.server.uri();
    let new_server = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/testrg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc4-restored";
    let example = local("postgresql/2024-08-01/ServerCreatePointInTimeRestore.json");
    Mock::given(method("PUT"))
        .and(path(new_server))
        .and(query_param("api-version", "2024-08-01"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("azure-asyncoperation", format!("{uri}/ops/restore-1"))
                .set_body_json(body(&example, "201")),
        )
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/restore-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(new_server))
        .respond_with(ResponseTemplate::new(200).set_body_json(body(&example, "200")))
        .mount(&s.server)
        .await;

    // Outside the PITR window (earliest 2021-05-26T01:16:58Z): refused, nothing sent.
    let mut early = ActionRequest::new(Verb::Restore, PG4);
    early.params.insert("time".into(), "2021-05-01T00:00:00Z".into());
    assert_eq!(
        s.plan(&early).unwrap_err().to_string().split(" .. ").next().unwrap(),
        "invalid input: restore time 2021-05-01T00:00:00Z is outside the point-in-time window 2021-05-26T01:16:58Z"
    );
    let mut late = ActionRequest::new(Verb::Restore, PG4);
    late.params.insert("time".into(), "2999-01-01T00:00:00Z".into());
    assert!(matches!(s.plan(&late), Err(ActionError::InvalidInput(_))));
    let mut taken = ActionRequest::new(Verb::Restore, PG4);
    taken.params.insert("time".into(), "2021-06-20T10:00:00Z".into());
    taken.params.insert("name".into(), "pgtestsvc1".into());
    assert!(s.plan(&taken).unwrap_err().to_string().contains("already exists"));

    let mut request = ActionRequest::new(Verb::Restore, PG4);
    request.params.insert("time".into(), "2021-06-20T10:00:00Z".into());
    request.params.insert("name".into(), "pgtestsvc4-restored".into());
    let plan = s.plan(&request).unwrap();
    assert_eq!(plan.risk, Risk::High);
    assert!(plan.summary.starts_with(
        "restore pgtestsvc4 as it was at 2021-06-20T10:00:00Z into a NEW server pgtestsvc4-restored (resource group testrg, westus); pgtestsvc4 itself is not touched."
    ));
    let detail = s.run(&request).await.unwrap();
    assert!(detail.starts_with("restored pgtestsvc4 at 2021-06-20T10:00:00Z into pgtestsvc4-restored ("), "{detail}");
    assert!(detail.ends_with("verified: pgtestsvc4-restored exists (Ready)"), "{detail}");

    let puts = s.requests("PUT", new_server).await;
    assert_eq!(puts.len(), 1);
    let sent: Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(
        sent,
        json!({
            "location": "westus",
            "properties": {
                "createMode": "PointInTimeRestore",
                "sourceServerResourceId": PG4,
                "pointInTimeUTC": "2021-06-20T10:00:00Z"
            }
        })
    );
    // The same fields as Microsoft's own example request, no more, no fewer.
    let mut ours = keys(&sent);
    let mut theirs = keys(&example["parameters"]["parameters"]);
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn a_new_key_vault_version_from_stdin_is_stored_and_never_shown() {
    let s = Setup::new("").await;
    let value = "correct-horse-battery-staple-42";
    let example = shared("keyvault/2025-06-01/SetSecret-example.json");
    Mock::given(method("PUT"))
        .and(path("/kv/secrets/listsecrettest0"))
        .and(query_param("api-version", "7.4"))
        .and(header("authorization", "Bearer kv-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body(&example, "200")))
        .mount(&s.server)
        .await;
    // After the PUT the version list holds the new version (SetSecret's id and attributes).
    let set = body(&example, "200");
    Mock::given(method("GET"))
        .and(path("/kv/secrets/listsecrettest0/versions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": set["id"], "attributes": set["attributes"]}
        ]})))
        .with_priority(1)
        .mount(&s.server)
        .await;

    let without = ActionRequest::new(Verb::Rotate, KV_SECRET);
    let err = s.plan(&without).unwrap_err();
    assert!(err.to_string().contains("--value-stdin"), "{err}");

    let mut request = ActionRequest::new(Verb::Rotate, KV_SECRET);
    request.secret_input = Some(value.into());
    let plan = s.plan(&request).unwrap();
    assert_eq!(
        plan.calls[0].call,
        format!(
            "PUT {}/kv/secrets/listsecrettest0?api-version=7.4 {{\"contentType\":\"plainText\",\"value\":\"<from stdin, not shown>\"}}",
            s.server.uri()
        )
    );
    let shown = [plan.render_text(), format!("{plan:?}"), serde_json::to_string(&plan).unwrap()];
    for text in &shown {
        assert!(!text.contains(value), "the value leaked into {text}");
    }
    let detail = s.run(&request).await.unwrap();
    assert_eq!(
        detail,
        "stored version 03bcccc7c8cf4546a0e3e21e52560441 of listsecrettest0 in myvault; verified: version 03bcccc7c8cf4546a0e3e21e52560441 of listsecrettest0 is listed and enabled (1 versions)"
    );
    let puts = s.requests("PUT", "/kv/secrets/listsecrettest0").await;
    let sent: Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(sent, json!({"value": value, "contentType": "plainText"}));
    for e in s.store.audit_entries().unwrap() {
        assert!(!format!("{e:?}").contains(value), "audit: {e:?}");
    }
}

#[tokio::test]
async fn a_swap_that_leaves_production_on_the_old_build_fails_verification() {
    let server = MockServer::start().await;
    // ListWebAppSlots.json with the staging slot running a container image instead.
    let mut slots = body(&shared("web/2025-05-01/ListWebAppSlots.json"), "200");
    slots["value"][0]["properties"]["siteConfig"]["linuxFxVersion"] = json!("DOCKER|myacr.azurecr.io/shop:1.5.0");
    Mock::given(method("GET"))
        .and(path(format!("{SITE}/slots")))
        .respond_with(ResponseTemplate::new(200).set_body_json(slots))
        .with_priority(1)
        .mount(&server)
        .await;
    let s = Setup::on(server, "").await;
    let site = s.snapshot.resources.iter().find(|r| r.id == SITE).unwrap();
    assert_eq!(site.versions[0], "staging=myacr.azurecr.io/shop:1.5.0");
    swap_call().respond_with(ResponseTemplate::new(200)).mount(&s.server).await;
    // GetWebApp.json: production still runs PHP 5.6.
    mount_site_and_health(&s.server, 200).await;
    let request = ActionRequest::new(Verb::Promote, SITE);
    let plan = s.plan(&request).unwrap();
    assert!(plan.summary.starts_with(
        "promote slot staging (myacr.azurecr.io/shop:1.5.0) into production of sitef6141 (now PHP 5.6, .NET v4.0)"
    ));
    let err = s.run(&request).await.unwrap_err();
    assert_eq!(
        err,
        "the action ran but verification failed: production of sitef6141 serves PHP 5.6, .NET v4.0, expected myacr.azurecr.io/shop:1.5.0"
    );
    // A swap answered 200 has nothing to poll.
    assert!(s.requests("GET", "/ops/swap-1").await.is_empty());
}

#[tokio::test]
async fn a_restore_that_outlasts_the_wait_is_reported_running_not_failed() {
    let s = Setup::new("operation_timeout_seconds = 1").await;
    let uri = s.server.uri();
    let new_server = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/testrg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc4-slow";
    let example = local("postgresql/2024-08-01/ServerCreatePointInTimeRestore.json");
    Mock::given(method("PUT"))
        .and(path(new_server))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("azure-asyncoperation", format!("{uri}/ops/restore-slow"))
                .insert_header("retry-after", "5"),
        )
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(new_server))
        .respond_with(ResponseTemplate::new(200).set_body_json(body(&example, "200")))
        .mount(&s.server)
        .await;
    let mut request = ActionRequest::new(Verb::Restore, PG4);
    request.params.insert("name".into(), "pgtestsvc4-slow".into());
    // No --time: the latest restorable point (now - 5 min).
    let plan = s.plan(&request).unwrap();
    let at = skydeck::providers::azure::postgres::parse_time(&plan.request.params["time"]).unwrap();
    let lag = chrono::Utc::now() - at;
    assert!(lag >= chrono::Duration::minutes(4) && lag <= chrono::Duration::minutes(6), "{lag}");
    let detail = s.run(&request).await.unwrap();
    assert!(
        detail.starts_with(
            "Azure is still creating pgtestsvc4-slow from pgtestsvc4 after 0s; it shows up on the next refresh"
        ),
        "{detail}"
    );
    assert!(detail.ends_with("verified: pgtestsvc4-slow exists (Ready)"), "{detail}");
}

/// `ack` on a New alert of `Alerts_List.json`: exactly one `Alerts_ChangeState` POST with the reason
/// as its comment (answered with Microsoft's `Alerts_ChangeState` example), verified by `Alerts_GetById`
/// (its example says Acknowledged), audited started/finished. An alert already acknowledged, or
/// any other verb on an alert, is refused before anything is sent.
#[tokio::test]
async fn ack_acknowledges_a_new_alert_through_changestate_and_reads_it_back() {
    let server = MockServer::start().await;
    let alert_id = "/subscriptions/9e261de7-c804-4b9d-9ebf-6f50fe350a9a/providers/Microsoft.AlertsManagement/alerts/66114d64-d9d9-478b-95c9-b789d6502100";
    // The list example holds the same alert twice (Acknowledged, then New): the test keeps one
    // copy and makes it New, so there is something to acknowledge.
    let mut list = body(&local("alertsmanagement/2019-05-05-preview/Alerts_List.json"), "200");
    let mut alert = list["value"][0].clone();
    alert["properties"]["essentials"]["alertState"] = json!("New");
    list = json!({"value": [alert]});
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts")))
        .and(query_param("monitorCondition", "Fired"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{alert_id}/changestate")))
        .and(query_param("api-version", "2019-05-05-preview"))
        .and(query_param("newState", "Acknowledged"))
        .and(header("authorization", "Bearer arm-token"))
        .and(body_json(json!({"comments": "looking at it, dana"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(&local("alertsmanagement/2019-05-05-preview/Alerts_ChangeState.json"), "200")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(alert_id))
        .and(query_param("api-version", "2019-05-05-preview"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(&local("alertsmanagement/2019-05-05-preview/Alerts_GetById.json"), "200")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = Setup::on(server, "").await;
    let alert = s.snapshot.alerts.iter().find(|a| a.id == alert_id).expect("the alert is listed");
    assert!(alert.can_ack, "a New alert can be acknowledged");

    let refused = s.plan(&ActionRequest::new(Verb::Scale, alert_id)).unwrap_err();
    assert!(refused.to_string().contains("'scale' does not apply to cpu alert"), "{refused}");

    let mut request = ActionRequest::new(Verb::Ack, alert_id);
    request.reason = Some("looking at it, dana".into());
    let plan = s.plan(&request).unwrap();
    assert_eq!(plan.calls.len(), 1);
    assert_eq!(
        plan.calls[0].call,
        format!(
            "POST {}{alert_id}/changestate?api-version=2019-05-05-preview&newState=Acknowledged {{\"comments\":\"looking at it, dana\"}}",
            s.server.uri()
        )
    );
    assert!(
        plan.summary.contains("acknowledge the info alert 'cpu alert' on servicedeskappinsight"),
        "{}",
        plan.summary
    );
    let detail = s.run(&request).await.unwrap();
    assert_eq!(
        detail,
        "Azure Monitor took the acknowledgement of 'cpu alert'; verified: 'cpu alert' is Acknowledged (last changed by System)"
    );
    let phases: Vec<AuditPhase> = s.store.audit_entries().unwrap().iter().map(|e| e.phase).collect();
    assert_eq!(phases, [AuditPhase::Started, AuditPhase::Finished]);

    // Once the list says Acknowledged, there is nothing to send.
    let mut acked = s.snapshot.clone();
    acked.alerts[0].state = skydeck::model::AlertState::Acknowledged;
    let err = s.provider.plan(&request, &acked).unwrap_err();
    assert!(err.to_string().contains("it is acknowledged already"), "{err}");
}

/// `silence --for 2h` on the New alert of `Alerts_List.json`: one alert processing rule PUT in the
/// target's resource group (shaped as Microsoft's one-off maintenance window example, answered
/// with that example), read back until its window ends where it was set, audited. The
/// subscription's rules (Microsoft's list example: none of them skydeck's) mark nothing; once
/// the rule is listed, the alert reads as silenced until the window's end. `CloudWatch`'s and
/// GitHub's refusals are tested with their providers; here, no `for` means nothing is sent.
#[tokio::test]
async fn silence_puts_a_one_off_processing_rule_on_the_alerts_target_and_reads_it_back() {
    let server = MockServer::start().await;
    let alert_id = "/subscriptions/9e261de7-c804-4b9d-9ebf-6f50fe350a9a/providers/Microsoft.AlertsManagement/alerts/66114d64-d9d9-478b-95c9-b789d6502100";
    let target = "/subscriptions/3b540246-808d-4331-99aa-917b808a9166/resourcegroups/servicedeskresourcegroup/providers/microsoft.insights/components/servicedeskappinsight";
    let mut list = body(&local("alertsmanagement/2019-05-05-preview/Alerts_List.json"), "200");
    let mut alert = list["value"][0].clone();
    alert["properties"]["essentials"]["alertState"] = json!("New");
    list = json!({"value": [alert.clone()]});
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(&server)
        .await;
    // Microsoft's list, its nextLink (to management.azure.com) taken out: a loopback test
    // follows no link off the machine.
    let mut rules = body(&local("alertsmanagement/2021-08-08/AlertProcessingRules_List_Subscription.json"), "200");
    rules.as_object_mut().unwrap().remove("nextLink");
    let listed = Arc::new(std::sync::Mutex::new(rules));
    let served = listed.clone();
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/actionRules")))
        .and(query_param("api-version", "2021-08-08"))
        .respond_with(move |_: &wiremock::Request| {
            ResponseTemplate::new(200).set_body_json(served.lock().unwrap().clone())
        })
        .mount(&server)
        .await;
    let rule_path = format!(
        "/subscriptions/3b540246-808d-4331-99aa-917b808a9166/resourceGroups/servicedeskresourcegroup/providers/Microsoft.AlertsManagement/actionRules/{}",
        skydeck::providers::azure::alerts::silence_rule_name(
            alert["properties"]["essentials"]["alertRule"].as_str().unwrap(),
            target
        )
    );
    let example = local(
        "alertsmanagement/2021-08-08/AlertProcessingRules_Create_or_update_remove_all_action_groups_specific_VM_one-off_maintenance_window.json",
    );
    // Azure keeps what was put: the example's answer, with the name, id and properties of the PUT.
    let stored: Arc<std::sync::Mutex<Option<Value>>> = Arc::default();
    let (put_store, answer) = (stored.clone(), body(&example, "200"));
    Mock::given(method("PUT"))
        .and(path(rule_path.clone()))
        .and(query_param("api-version", "2021-08-08"))
        .and(header("authorization", "Bearer arm-token"))
        .respond_with(move |r: &wiremock::Request| {
            let put: Value = serde_json::from_slice(&r.body).unwrap();
            let mut kept = answer.clone();
            kept["properties"] = put["properties"].clone();
            kept["id"] = json!(r.url.path());
            kept["name"] = json!(r.url.path().rsplit('/').next().unwrap());
            *put_store.lock().unwrap() = Some(kept.clone());
            ResponseTemplate::new(200).set_body_json(kept)
        })
        .expect(1)
        .mount(&server)
        .await;
    let get_store = stored.clone();
    Mock::given(method("GET"))
        .and(path(rule_path.clone()))
        .respond_with(move |_: &wiremock::Request| match get_store.lock().unwrap().clone() {
            Some(kept) => ResponseTemplate::new(200).set_body_json(kept),
            None => ResponseTemplate::new(404),
        })
        .expect(1)
        .mount(&server)
        .await;
    let s = Setup::on(server, "").await;
    let listed_alert = s.snapshot.alerts.iter().find(|a| a.id == alert_id).expect("the alert is listed");
    assert!(listed_alert.can_silence, "its target names a resource group");
    assert_eq!(listed_alert.silenced_until, None, "Microsoft's example rules are not skydeck's silences");

    let missing = s.plan(&ActionRequest::new(Verb::Silence, alert_id)).unwrap_err();
    assert!(matches!(&missing, ActionError::MissingInput(m) if m.contains("--for")), "{missing}");

    let mut request = ActionRequest::new(Verb::Silence, alert_id);
    request.params.insert("for".into(), "2h".into());
    request.reason = Some("deploy in progress".into());
    let plan = s.plan(&request).unwrap();
    assert_eq!(plan.calls.len(), 1);
    assert!(
        plan.calls[0].call.starts_with(&format!("PUT {}{rule_path}?api-version=2021-08-08 ", s.server.uri())),
        "{}",
        plan.calls[0].call
    );
    assert!(
        plan.summary
            .contains("silence the notifications of the info alert 'cpu alert' on servicedeskappinsight for 2h"),
        "{}",
        plan.summary
    );

    let before = chrono::Utc::now();
    let detail = s.run(&request).await.unwrap();
    let put = stored.lock().unwrap().clone().expect("one rule was put");
    let props = &put["properties"];
    assert_eq!(props["scopes"], json!([target]));
    assert_eq!(props["conditions"], json!([{"field": "AlertRuleName", "operator": "Equals", "values": ["cpu alert"]}]));
    assert_eq!(props["actions"], json!([{"actionType": "RemoveAllActionGroups"}]));
    assert_eq!(props["enabled"], json!(true));
    assert_eq!(props["description"], json!("skydeck: silence for 2h: deploy in progress"));
    assert_eq!(props["schedule"]["timeZone"], json!("UTC"));
    let parse =
        |v: &Value| chrono::NaiveDateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").unwrap().and_utc();
    let (from, until) = (parse(&props["schedule"]["effectiveFrom"]), parse(&props["schedule"]["effectiveUntil"]));
    assert!(from >= before - chrono::Duration::seconds(1) && from <= chrono::Utc::now(), "{from}");
    assert_eq!(until - from, chrono::Duration::hours(2));
    assert!(detail.contains("'cpu alert' is silent until"), "{detail}");
    assert!(detail.contains("verified: skydeck-silence-"), "{detail}");
    let phases: Vec<AuditPhase> = s.store.audit_entries().unwrap().iter().map(|e| e.phase).collect();
    assert_eq!(phases, [AuditPhase::Started, AuditPhase::Finished]);

    // The subscription now lists the rule: the next read marks the alert silenced until then.
    listed.lock().unwrap()["value"].as_array_mut().unwrap().push(put.clone());
    let again = s.provider.fetch().await.unwrap();
    let marked = again.alerts.iter().find(|a| a.id == alert_id).unwrap();
    assert_eq!(marked.silenced_until, Some(until));
}
