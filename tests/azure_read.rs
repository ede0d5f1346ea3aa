//! The Azure provider reading Microsoft's own REST API examples from a loopback server: every
//! field skydeck shows, `nextLink` paging, tokens per audience from the Azure CLI credential
//! (a stand-in `az`), throttling and sign-in errors.

mod azure_support;

use std::time::Duration;

use azure_support::*;
use serde_json::json;
use skydeck::model::{Level, MetricKind, Role, Severity};
use skydeck::providers::ProviderError;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ts(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc)
}

fn detail<'a>(details: &'a [(String, String)], key: &str) -> &'a str {
    details
        .iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| panic!("no detail '{key}' in {details:?}"), |(_, v)| v.as_str())
}

#[tokio::test]
async fn web_apps_slots_plans_databases_backups_secrets_metrics_and_logs() {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "", "[[environments]]\nname = \"production\"\n");
    let built = build(&text, dir.path());
    assert_eq!(built.provider.name(), "azure");
    let snap = built.provider.fetch().await.unwrap();
    let now = chrono::Utc::now();

    // Web apps (ListWebApps.json) with slots (ListWebAppSlots.json) and deployments.
    let site = snap.resources.iter().find(|r| r.id == SITE).expect("sitef6141");
    assert_eq!(site.name, "sitef6141");
    assert_eq!(site.kind, "App Service");
    assert_eq!(site.role, Role::Compute);
    assert_eq!(site.provider, skydeck::providers::azure::PROVIDER);
    assert_eq!(site.environment, "unassigned");
    assert_eq!(site.region, "East US");
    assert_eq!(site.status, "Running");
    assert_eq!(site.level, Level::Ok);
    assert_eq!(site.current_version.as_deref(), Some("PHP 5.6, .NET v4.0"));
    assert_eq!(site.versions, ["staging=PHP 5.6, .NET v4.0", "qa=PHP 5.6, .NET v4.0", "production=PHP 5.6, .NET v4.0"]);
    assert_eq!(detail(&site.details, "hosts"), "sitef6141.azurewebsites.net");
    assert_eq!(detail(&site.details, "slots"), "staging: Running, PHP 5.6, .NET v4.0; qa: Running, PHP 5.6, .NET v4.0");
    // The site's plan (DefaultAsp) is not among ListAppServicePlans.json's plans.
    assert_eq!(detail(&site.details, "plan"), "DefaultAsp");
    assert_eq!(detail(&site.details, "last deployment"), "none recorded");
    assert_eq!(detail(&site.details, "last modified"), "2020-03-04T17:33:11.641Z");
    assert_eq!(detail(&site.details, "resource group"), "testrg123");
    let other = snap.resources.iter().find(|r| r.id == SITE2).expect("sitef7252");
    assert_eq!(detail(&other.details, "slots"), "none");
    assert!(other.versions.is_empty(), "no slot, nothing to swap with");

    // App Service plans and their instance count (ListAppServicePlans.json).
    let plans: Vec<_> = snap.resources.iter().filter(|r| r.kind == "App Service Plan").collect();
    assert_eq!(plans.len(), 2);
    let plan = plans.iter().find(|p| p.name == "testsf6141").unwrap();
    assert_eq!(
        plan.id,
        "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/testrg123/providers/Microsoft.Web/serverfarms/testsf6141"
    );
    assert_eq!(plan.status, "Ready");
    assert_eq!(plan.level, Level::Ok);
    assert_eq!(detail(&plan.details, "instances"), "1 instance of max 20");
    assert_eq!(detail(&plan.details, "sku"), "P1 (Premium)");
    assert_eq!(detail(&plan.details, "apps"), "4");

    // PostgreSQL: two pages (ServerList.json, then ServerGet.json through nextLink).
    let dbs: Vec<_> = snap.resources.iter().filter(|r| r.role == Role::Database).collect();
    assert_eq!(dbs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["pgtestsvc4", "pgtestsvc1", "exampleserver"]);
    let pg = dbs[0];
    assert_eq!(pg.id, PG4);
    assert_eq!(pg.kind, "PostgreSQL Flexible Server");
    assert_eq!(pg.status, "Ready");
    assert_eq!(pg.region, "westus");
    assert_eq!(pg.level, Level::Ok);
    assert_eq!(pg.current_version.as_deref(), Some("12.6"));
    assert_eq!(detail(&pg.details, "HA"), "ZoneRedundant, Healthy");
    assert_eq!(detail(&pg.details, "sku"), "Standard_D4s_v3 (GeneralPurpose)");
    assert_eq!(detail(&pg.details, "storage"), "512 GB");
    assert_eq!(detail(&pg.details, "backup retention"), "7 days");
    assert_eq!(detail(&pg.details, "geo-redundant"), "Disabled");
    assert_eq!(detail(&pg.details, "PITR window"), "2021-05-26T01:16:58Z .. now");
    assert_eq!(detail(&pg.details, "backups"), "11");
    assert_eq!(detail(&pg.details, "host"), "c7d7483a8ceb.test-private-dns-zone.postgres.database.azure.com");
    let listed: Vec<&str> = pg.details.iter().filter(|(k, _)| k == "backup").map(|(_, v)| v.as_str()).collect();
    assert_eq!(listed.len(), 5, "the newest five backups, each with its age");
    assert!(listed[0].starts_with("daily_20210624T061328 Full/Automatic 2021-06-24T06:13:31Z ("), "{listed:?}");
    assert!(listed[0].ends_with("d old)"), "{listed:?}");
    assert!(listed[1].starts_with("daily_20210623T212413 "), "{listed:?}");
    let example = dbs[2];
    assert_eq!(example.environment, "production");
    assert_eq!(example.current_version.as_deref(), Some("16.8"));
    assert_eq!(detail(&example.details, "HA"), "Disabled");
    assert_eq!(detail(&example.details, "geo-redundant"), "Enabled");

    // Backups and the findings domain.md asks for.
    let b = snap.backups.iter().find(|b| b.id == PG4).unwrap();
    assert_eq!(b.resource, PG4);
    assert_eq!(b.database, "pgtestsvc4");
    assert_eq!(b.environment, "unassigned");
    assert_eq!(b.last_backup_at, Some(ts("2021-06-24T06:13:31.4962137+00:00")));
    assert_eq!(b.last_status, "succeeded");
    assert_eq!((b.retention_days, b.required_retention_days), (7, 7));
    assert!(b.pitr_enabled);
    assert_eq!(b.earliest_restore, Some(ts("2021-05-26T01:16:58.3723361+00:00")));
    let latest = b.latest_restore.unwrap();
    assert!(latest <= now - chrono::Duration::minutes(4) && latest > now - chrono::Duration::minutes(6));
    assert!(!b.geo_redundant);
    assert_eq!(b.findings(now).len(), 1, "{:?}", b.findings(now));
    assert!(b.findings(now)[0].starts_with("last backup "), "{:?}", b.findings(now));
    let prod = snap.backups.iter().find(|b| b.id == PG_EXAMPLE).unwrap();
    assert_eq!(prod.required_retention_days, 35);
    assert!(prod.geo_redundant);
    assert_eq!(prod.earliest_restore, Some(ts("2024-08-01T18:35:22.123456Z")));
    assert!(prod.findings(now).contains(&"retention 7d below policy 35d".to_string()), "{:?}", prod.findings(now));

    // Key Vault: metadata only, two pages, versions from GetSecretVersions.
    assert_eq!(snap.secrets.len(), 1);
    let s = &snap.secrets[0];
    assert_eq!(s.id, KV_SECRET);
    assert_eq!(s.name, "listsecrettest0");
    assert_eq!(s.store, "myvault");
    assert_eq!(s.provider, skydeck::providers::azure::PROVIDER);
    assert_eq!(s.environment, "unassigned");
    assert!(s.enabled);
    assert_eq!(s.updated_at, Some(ts("2016-12-19T23:10:47Z")));
    assert_eq!(s.last_rotated, Some(ts("2016-12-16T01:28:19Z")));
    assert_eq!(s.expires_at, None);
    assert_eq!(s.versions, 1);
    assert_eq!(s.rotation_days, None);

    // Metrics judged against the thresholds of each environment.
    let m = |resource: &str, kind: MetricKind| {
        snap.metrics
            .iter()
            .find(|m| m.resource == resource && m.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} for {resource} in {:?}", snap.metrics))
    };
    let rate = m("sitef6141", MetricKind::ErrorRate);
    assert_eq!(rate.value, 10.0);
    assert_eq!(rate.history, [0.0, 0.0, 1.0, 2.0, 10.0]);
    assert_eq!(rate.level, Level::Crit);
    assert_eq!(rate.environment, "unassigned");
    let latency = m("sitef6141", MetricKind::ResponseTime);
    assert_eq!((latency.value, latency.level), (3.5, Level::Warn));
    let cpu = m("testsf6141", MetricKind::Cpu);
    assert_eq!((cpu.value, cpu.level), (75.0, Level::Warn));
    let memory = m("testsf6141", MetricKind::Memory);
    assert_eq!((memory.value, memory.level), (55.0, Level::Ok));
    let pg_cpu = m("pgtestsvc4", MetricKind::Cpu);
    assert_eq!((pg_cpu.value, pg_cpu.level), (95.0, Level::Crit));
    let connections = m("pgtestsvc4", MetricKind::DbConnections);
    assert_eq!((connections.value, connections.level), (90.0, Level::Warn));
    assert_eq!(m("exampleserver", MetricKind::Cpu).environment, "production");

    // Tokens: one `az` run per audience, cached for the rest.
    let calls = az_calls(dir.path());
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.starts_with("account get-access-token -o json --scope ")));
    assert!(calls.iter().any(|c| c.ends_with("https://vault.azure.net/.default")));
    assert!(calls.iter().any(|c| c.ends_with(&format!("{}/.default", server.uri()))));

    // A second fetch asks `az` nothing more.
    built.provider.fetch().await.unwrap();
    assert_eq!(az_calls(dir.path()).len(), 2);

    // Logs: oms-post-example.json's rows into the log viewer.
    let lines = built.provider.fetch_logs(None).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].at, ts("2017-08-24T06:59:59Z"));
    assert_eq!(lines[0].source, "ContosoSQLSrv1");
    assert_eq!(lines[1].source, "Store010Web3");
    assert_eq!(lines[0].severity, Severity::Info);
    assert!(lines[0].text.contains("DataType=Perf"), "{}", lines[0].text);
    assert!(lines[0].text.contains("Quantity=0.076408"), "{}", lines[0].text);
    assert!(!lines[0].text.contains("TenantId"), "{}", lines[0].text);
    let query =
        server.received_requests().await.unwrap().into_iter().find(|r| r.url.path().ends_with("/query")).unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&query.body).unwrap();
    assert_eq!(sent["query"], skydeck::providers::azure::DEFAULT_LOG_QUERY);
    assert!(sent["timespan"].as_str().unwrap().contains('/'));
    // The viewer polls every second; Log Analytics is asked again only after 15 s.
    assert!(built.provider.fetch_logs(lines.last().map(|l| l.at)).await.unwrap().is_empty());
    let queries = server.received_requests().await.unwrap().iter().filter(|r| r.url.path().ends_with("/query")).count();
    assert_eq!(queries, 1);

    // Both nextLink pages were read.
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().any(|r| r.url.query().unwrap_or("").contains("$skiptoken=skiptoken")));
    assert!(reqs.iter().any(|r| r.url.path() == "/kv/secrets" && r.url.query().unwrap_or("").contains("$skiptoken=")));
    // Nothing ever asked for a secret's value.
    assert!(
        reqs.iter().all(|r| !r.url.path().starts_with("/kv/secrets/") || r.url.path().ends_with("/versions")),
        "a secret value was requested"
    );
}

#[tokio::test]
async fn production_thresholds_come_from_the_environment() {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(
        &server.uri(),
        "",
        "[[environments]]\nname = \"prod\"\n[environments.thresholds]\ncpu = { warn = 96, crit = 99 }\n",
    );
    let snap = build(&text, dir.path()).provider.fetch().await.unwrap();
    // exampleserver is tagged `production`; the config spells it `prod`.
    let cpu = snap.metrics.iter().find(|m| m.resource == "exampleserver" && m.kind == MetricKind::Cpu).unwrap();
    assert_eq!(cpu.environment, "prod");
    assert_eq!((cpu.value, cpu.level), (95.0, Level::Ok));
    let other = snap.metrics.iter().find(|m| m.resource == "pgtestsvc4" && m.kind == MetricKind::Cpu).unwrap();
    assert_eq!(other.level, Level::Crit);
    assert!(snap.backups.iter().any(|b| b.environment == "prod" && b.required_retention_days == 35));
}

#[tokio::test]
async fn throttling_waits_for_retry_after_then_gives_up_clearly() {
    let server = MockServer::start().await;
    // The first answer is 429 with Retry-After: 1; the retry gets the page.
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.Web/sites")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"code": "TooManyRequests", "message": "slow down"}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    let started = std::time::Instant::now();
    let snap = built.provider.fetch().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    assert!(snap.resources.iter().any(|r| r.id == SITE));

    // Asked to wait two minutes: no sleeping through that, the source says when to come back.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "120")
                .set_body_json(json!({"error": {"code": "TooManyRequests", "message": "slow down"}})),
        )
        .mount(&server)
        .await;
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    let err = built.provider.fetch().await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_mins(2)) });
}

#[tokio::test]
async fn a_missing_login_says_run_az_login() {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), false);
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    match built.provider.fetch().await.unwrap_err() {
        ProviderError::Auth { message, fix } => {
            assert_eq!(
                fix,
                "run `az login` (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal)"
            );
            assert!(message.contains("Please run 'az login'"), "{message}");
        }
        other => panic!("expected an Auth error, got {other:?}"),
    }
    // Nothing was sent without a token.
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn expired_tokens_are_refreshed_once_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"code": "ExpiredAuthenticationToken", "message": "The access token expiry UTC time is earlier than current UTC time."}
        })))
        .mount(&server)
        .await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "credential = \"cli\"", "")
        .replace(&format!("vaults = [\"{}/kv\"]", server.uri()), "");
    let built = build(&text, dir.path());
    match built.provider.fetch().await.unwrap_err() {
        ProviderError::Auth { message, fix } => {
            assert_eq!(fix, "run `az login`");
            assert!(message.contains("ExpiredAuthenticationToken: The access token expiry"), "{message}");
        }
        other => panic!("expected an Auth error, got {other:?}"),
    }
    // The cached token was dropped and asked for again (once per failed request at most).
    let arm = az_calls(dir.path()).iter().filter(|c| c.ends_with(&format!("{}/.default", server.uri()))).count();
    assert!(arm >= 2, "{arm}");
    let requests = server.received_requests().await.unwrap().len();
    assert!(arm <= requests, "{arm} token runs for {requests} requests");
}

#[tokio::test]
async fn error_bodies_are_shown_and_one_failing_part_does_not_hide_the_rest() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/subscriptions/{SUB}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
        )))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": {"code": "MissingSubscriptionRegistration", "message": "The subscription is not registered to use namespace 'Microsoft.DBforPostgreSQL'."}
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let snap = build(&config_text(&server.uri(), "", ""), dir.path()).provider.fetch().await.unwrap();
    assert!(snap.resources.iter().any(|r| r.id == SITE));
    assert!(snap.backups.is_empty());
    let note = snap.source_note.unwrap();
    assert!(
        note.contains("Azure Resource Manager answered 409 to GET /subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/providers/Microsoft.DBforPostgreSQL/flexibleServers: MissingSubscriptionRegistration: The subscription is not registered"),
        "{note}"
    );
}

#[tokio::test]
async fn next_links_to_other_hosts_are_not_followed_with_the_token() {
    let server = MockServer::start().await;
    // ServerList.json as Microsoft wrote it: its nextLink names management.azure.com.
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.DBforPostgreSQL/flexibleServers")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(body(&shared("postgresql/2024-08-01/ServerList.json"), "200")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let snap = build(&config_text(&server.uri(), "", ""), dir.path()).provider.fetch().await.unwrap();
    assert!(snap.backups.is_empty());
    assert!(snap.source_note.unwrap().contains("at https://management.azure.com, another host than http://127.0.0.1"));
}

#[tokio::test]
async fn without_a_subscription_every_enabled_one_is_read() {
    let server = MockServer::start().await;
    // The shape of `GET /subscriptions` (Subscriptions_List).
    Mock::given(method("GET"))
        .and(path("/subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": format!("/subscriptions/{SUB}"), "subscriptionId": SUB, "displayName": "Example", "state": "Enabled"},
            {"id": "/subscriptions/00000000-0000-0000-0000-000000000000", "subscriptionId": "00000000-0000-0000-0000-000000000000", "displayName": "Old", "state": "Disabled"}
        ]})))
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "", "").replace(&format!("subscription_id = \"{SUB}\""), "");
    let built = build(&text, dir.path());
    assert_eq!(built.all.len(), 1);
    let snap = built.provider.fetch().await.unwrap();
    assert!(snap.resources.iter().any(|r| r.id == SITE));
    let reqs = server.received_requests().await.unwrap();
    assert!(!reqs.iter().any(|r| r.url.path().contains("00000000-0000")));
}

#[tokio::test]
async fn vaults_are_discovered_when_none_are_listed() {
    let server = MockServer::start().await;
    // The shape of listVaultBySubscription.json (Vaults_ListBySubscription), its vaultUri here.
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-group/providers/Microsoft.KeyVault/vaults/sample-vault",
            "name": "sample-vault",
            "type": "Microsoft.KeyVault/vaults",
            "location": "westus",
            "tags": {"environment": "staging"},
            "properties": {"vaultUri": format!("{}/kv/", server.uri())}
        }]})))
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "", "").replace(&format!("vaults = [\"{}/kv\"]", server.uri()), "");
    let snap = build(&text, dir.path()).provider.fetch().await.unwrap();
    assert_eq!(snap.secrets.len(), 1);
    // No tag or suffix on the secret: the vault's `environment` tag decides.
    assert_eq!(snap.secrets[0].environment, "staging");
}

#[test]
fn get_metric_example_parses_and_merges_dimensions() {
    let example = shared("monitor/2024-02-01/GetMetric.json");
    let raw = serde_json::to_vec(&body(&example, "200")).unwrap();
    let series = skydeck::providers::azure::monitor::parse(&raw).unwrap();
    let count = &series["BlobCount"];
    assert_eq!(count.len(), 5);
    assert_eq!(count[0].at, "2021-04-20T09:00:00Z");
    // Five tiers (7, 2, 0, 0, 0) averaged into one series; maxima take the largest.
    assert_eq!(count[0].average, Some(1.8));
    assert_eq!(count[0].maximum, Some(7.0));
    let capacity = &series["BlobCapacity"];
    assert_eq!(capacity[4].average, Some((621492.0 + 4733.0) / 5.0));
}

/// Azure Monitor's fired alerts from Microsoft's `Alerts_List.json` (`Alerts_GetAll`), its
/// `nextLink` pointed at the loopback server: New is firing, Acknowledged acknowledged by
/// nobody known, Sev3 is info.
#[tokio::test]
async fn fired_alerts_from_alerts_management() {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    let alerts_path = format!("/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts");
    let page = relink(
        body(&local("alertsmanagement/2019-05-05-preview/Alerts_List.json"), "200"),
        "https://management.azure.com:443",
        &server.uri(),
    );
    // The example's nextLink names the example's own subscription.
    Mock::given(method("GET"))
        .and(path("/subscriptions/1e3ff1c0-771a-4119-a03b-be82a51e232d/providers/Microsoft.AlertsManagement/alerts"))
        .and(wiremock::matchers::query_param(
            "ctoken",
            "+RID:PlwOAPHEGwB9UwEAAAAgCw==#RT:2#TRC:500#RTD:qtQyMDE4LTA2LTEyVDE1OjEyOjE1",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&alerts_path))
        .and(wiremock::matchers::query_param("api-version", "2019-05-05-preview"))
        .and(wiremock::matchers::query_param("monitorCondition", "Fired"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    let snap = built.provider.fetch().await.unwrap();
    assert_eq!(snap.alerts.len(), 2, "{:?}", snap.source_note);
    let acked = &snap.alerts[0];
    assert_eq!(acked.source, "Azure Monitor");
    assert_eq!(acked.name, "cpu alert");
    assert_eq!(acked.state, skydeck::model::AlertState::Acknowledged);
    assert_eq!(acked.acked_by, None, "the list does not say who acknowledged it");
    assert_eq!(acked.severity, skydeck::model::AlertSeverity::Info);
    assert_eq!(acked.resource, "servicedeskappinsight");
    assert_eq!(acked.since, Some(ts("2018-09-13T15:51:02Z")));
    assert!(acked.id.ends_with("/alerts/66114d64-d9d9-478b-95c9-b789d6502100"));
    assert!(
        acked.link.as_deref().unwrap().starts_with("https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/")
    );
    let new = &snap.alerts[1];
    assert_eq!((new.state, new.resource.as_str()), (skydeck::model::AlertState::Firing, "servicedeskwcus"));
}

/// The subscription's metric alert rules from Microsoft's `listMetricAlert.json`
/// (`MetricAlerts_ListBySubscription`), one of them changed to the two ways a rule stays quiet:
/// disabled, and without an action group. Only the production one is a finding. A refused
/// list is a note and takes nothing else away.
#[tokio::test]
async fn metric_alert_rules_say_which_would_stay_quiet() {
    let server = MockServer::start().await;
    let mut page = body(&local("monitor/2018-03-01/listMetricAlert.json"), "200");
    let rules_path = format!("/subscriptions/{SUB}/providers/Microsoft.Insights/metricAlerts");
    // Changed: highcpu is tagged for production and has no action group; mediumcpu is disabled.
    page["value"][0]["tags"]["environment"] = json!("production");
    page["value"][0]["properties"]["actions"] = json!([]);
    page["value"][1]["properties"]["enabled"] = json!(false);
    Mock::given(method("GET"))
        .and(path(&rules_path))
        .and(wiremock::matchers::query_param("api-version", "2018-03-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .expect(1)
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "", "[[environments]]\nname = \"production\"\n");
    let built = build(&text, dir.path());
    let snap = built.provider.fetch().await.unwrap();
    let rules = &snap.alert_rules;
    assert_eq!(rules.len(), 2, "{:?}", snap.source_note);
    let high = &rules[0];
    assert_eq!(
        (high.name.as_str(), high.source.as_str()),
        ("highcpu", "Azure Monitor"),
        "the name is the id's last segment"
    );
    assert_eq!((high.environment.as_str(), high.enabled, high.notifies), ("production", true, false));
    assert_eq!(high.problem(), Some("notifies nobody when it fires"));
    assert!(high.link.as_deref().unwrap().ends_with("/metricalerts/highcpu/overview"));
    assert_eq!(rules[1].problem(), Some("is disabled: it will not fire"));
    let findings = skydeck::analysis::findings(&snap, chrono::Utc::now());
    let quiet: Vec<&str> =
        findings.iter().filter(|f| f.text.contains("alert rule")).map(|f| f.subject.as_str()).collect();
    assert_eq!(quiet, ["highcpu"], "only production's quiet rule is a finding");

    // Refused: a note, and the rest stays.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(&rules_path))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": {"code": "AuthorizationFailed", "message": "no read on metricAlerts"}})),
        )
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    let snap = built.provider.fetch().await.unwrap();
    assert!(snap.alert_rules.is_empty() && !snap.resources.is_empty());
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("metric alert rules ("), "{note}");
}

/// Without the alerts endpoint (no Monitoring Reader) the rest still shows, with a note.
#[tokio::test]
async fn alerts_refused_are_a_note() {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    let snap = built.provider.fetch().await.unwrap();
    assert!(snap.alerts.is_empty());
    assert!(!snap.resources.is_empty());
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("Azure Monitor alerts ("), "{note}");
}

#[tokio::test]
async fn storage_accounts_soft_delete_versioning_and_geo_redundancy() {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "", "[[environments]]\nname = \"production\"\n");
    let built = build(&text, dir.path());
    let snap = built.provider.fetch().await.unwrap();
    // StorageAccountList.json: six accounts, each with BlobServicesGet.json (sto834 changed).
    let names: Vec<&str> = snap.storage.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["sto1125", "sto3699", "sto8596", "sto6637", "sto834", "sto9174"]);
    let good = &snap.storage[0];
    assert_eq!(
        good.id,
        "/subscriptions/{subscription-id}/resourceGroups/res2627/providers/Microsoft.Storage/storageAccounts/sto1125"
    );
    assert_eq!(good.provider, skydeck::providers::azure::PROVIDER);
    assert_eq!(good.environment, "production");
    assert_eq!(good.region, "eastus");
    assert!(good.versioning);
    assert_eq!(good.soft_delete, skydeck::model::SoftDelete::Days(300));
    assert!(good.geo_redundant, "Standard_GRS");
    assert_eq!(good.replication, ["centraluseuap"], "the secondary location");
    assert_eq!(good.object_lock, None);
    assert_eq!(good.link.as_deref(), Some(&*format!("https://portal.azure.com/#resource{}/overview", good.id)));
    assert!(good.findings(skydeck::model::Tier::Prod).is_empty(), "{:?}", good.findings(skydeck::model::Tier::Prod));
    let other = &snap.storage[1];
    assert_eq!(other.environment, "unassigned");
    let bad = snap.storage.iter().find(|s| s.id == STO834).unwrap();
    assert!(!bad.versioning);
    assert_eq!(bad.soft_delete, skydeck::model::SoftDelete::Off);
    assert!(!bad.geo_redundant, "Standard_LRS");
    assert!(bad.replication.is_empty());
    assert_eq!(
        bad.findings(skydeck::model::Tier::Prod),
        ["versioning off", "soft delete off (policy 30d)", "not geo-redundant in production"]
    );
    assert!(!snap.source_note.as_deref().unwrap_or("").contains("storage"), "{:?}", snap.source_note);

    // Read once per five minutes: a second fetch asks ARM for no storage account.
    let asked = |reqs: &[wiremock::Request]| reqs.iter().filter(|r| r.url.path().contains("Microsoft.Storage")).count();
    let before = asked(&server.received_requests().await.unwrap());
    assert_eq!(before, 7, "one list and six blob services");
    built.provider.fetch().await.unwrap();
    assert_eq!(asked(&server.received_requests().await.unwrap()), before);
}

#[tokio::test]
async fn a_storage_failure_is_a_note_not_a_failed_source() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "AuthorizationFailed",
            "message": "The client does not have authorization to perform action 'Microsoft.Storage/storageAccounts/read'."
        }})))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_estate(&server).await;
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let built = build(&config_text(&server.uri(), "", ""), dir.path());
    let snap = built.provider.fetch().await.unwrap();
    assert!(snap.storage.is_empty());
    assert!(!snap.resources.is_empty(), "the rest is still read");
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("storage accounts (34adfa4f-cedf-4dc0-ba29-b6d1a69ab345): "), "{note}");
    assert!(note.contains("Microsoft.Storage/storageAccounts/read"), "{note}");
}
