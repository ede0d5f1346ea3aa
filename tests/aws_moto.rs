//! The AWS provider against moto's server on 127.0.0.1 (one server per test), and against
//! wiremock where moto cannot help (throttling, expired credentials, `CloudWatch` metrics over
//! the SDK's CBOR protocol). Each test builds its own resources through the SDK, then asserts
//! what skydeck reads and what each action changed in moto. Nothing leaves loopback: the SDK
//! gets explicit dummy credentials and region, and the binary runs with
//! `AWS_EC2_METADATA_DISABLED=true`.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ecs::types::{ContainerDefinition, LogConfiguration, LogDriver};
use serde_json::Value;
use skydeck::actions::{ActionError, ActionRequest, Confirmation, Pipeline, Risk, Verb};
use skydeck::config::Config;
use skydeck::model::{AlertSeverity, AlertState, Level, MetricKind, Severity, Snapshot, Tier};
use skydeck::providers::aws::{AccountSettings, AwsProvider, MetricTarget};
use skydeck::providers::{Provider, ProviderError};
use skydeck::store::{AuditPhase, Store};
use support::moto::{ACCOUNT, Moto, REGION, sdk};

// ---------------------------------------------------------------------------------------------
// Building an estate in moto through the SDK.

fn image(tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:{tag}")
}

/// Cluster `cluster` tagged `environment=env`, task definitions web:1 (v1) and web:2 (v2) that
/// log to `/ecs/web`, and service `web` on web:2 wanting 2 tasks. Returns the service's ARN.
async fn web_service(sdk: &SdkConfig, cluster: &str, env: &str) -> String {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    ecs.create_cluster()
        .cluster_name(cluster)
        .tags(aws_sdk_ecs::types::Tag::builder().key("environment").value(env).build())
        .send()
        .await
        .unwrap();
    for tag in ["v1", "v2"] {
        ecs.register_task_definition()
            .family("web")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(image(tag))
                    .memory(512)
                    .log_configuration(
                        LogConfiguration::builder()
                            .log_driver(LogDriver::Awslogs)
                            .options("awslogs-group", "/ecs/web")
                            .options("awslogs-region", REGION)
                            .options("awslogs-stream-prefix", "web")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let out = ecs
        .create_service()
        .cluster(cluster)
        .service_name("web")
        .task_definition("web:2")
        .desired_count(2)
        .send()
        .await
        .unwrap();
    out.service().unwrap().service_arn().unwrap().to_string()
}

/// What moto says the service runs, as `family:rev`.
async fn running_task_definition(sdk: &SdkConfig, cluster: &str) -> String {
    let out = aws_sdk_ecs::Client::new(sdk).describe_services().cluster(cluster).services("web").send().await.unwrap();
    let td = out.services()[0].task_definition().unwrap().to_string();
    td.rsplit('/').next().unwrap().to_string()
}

async fn database(sdk: &SdkConfig, id: &str, retention: i32, env: Option<&str>) -> String {
    let rds = aws_sdk_rds::Client::new(sdk);
    let out = rds
        .create_db_instance()
        .db_instance_identifier(id)
        .engine("postgres")
        .engine_version("16.4")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("moto-does-not-care-1")
        .backup_retention_period(retention)
        .set_tags(env.map(|e| vec![aws_sdk_rds::types::Tag::builder().key("env").value(e).build()]))
        .send()
        .await
        .unwrap();
    out.db_instance().unwrap().db_instance_arn().unwrap().to_string()
}

async fn secret(sdk: &SdkConfig, name: &str, value: &str) -> String {
    let out =
        aws_sdk_secretsmanager::Client::new(sdk).create_secret().name(name).secret_string(value).send().await.unwrap();
    out.arn().unwrap().to_string()
}

async fn secret_versions(sdk: &SdkConfig, arn: &str) -> (usize, String) {
    let out = aws_sdk_secretsmanager::Client::new(sdk).describe_secret().secret_id(arn).send().await.unwrap();
    let stages = out.version_ids_to_stages().unwrap();
    let current = stages.iter().find(|(_, l)| l.iter().any(|s| s == "AWSCURRENT")).map(|(id, _)| id.clone()).unwrap();
    (stages.len(), current)
}

async fn secret_value(sdk: &SdkConfig, arn: &str) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The provider under test.

fn settings(endpoint: &str) -> AccountSettings {
    let mut s = AccountSettings::new("aws");
    s.region = Some(REGION.into());
    s.endpoint_url = Some(endpoint.to_string());
    s.rollout_timeout = Duration::from_secs(10);
    s.rollout_poll = Duration::from_millis(100);
    s.log_poll = Duration::ZERO;
    s
}

async fn provider_with(endpoint: &str, tweak: impl FnOnce(&mut AccountSettings)) -> AwsProvider {
    let mut s = settings(endpoint);
    tweak(&mut s);
    AwsProvider::new(s, &sdk(endpoint).await, &Config::default())
}

async fn provider(moto: &Moto) -> AwsProvider {
    provider_with(&moto.endpoint, |_| {}).await
}

fn request(verb: Verb, target: &str, params: &[(&str, &str)]) -> ActionRequest {
    let mut r = ActionRequest::new(verb, target);
    for (k, v) in params {
        r.params.insert(k.to_string(), v.to_string());
    }
    r
}

async fn act(p: &AwsProvider, snap: &Snapshot, req: ActionRequest) -> Result<String, ActionError> {
    let plan = p.plan(&req, snap)?;
    p.execute(&plan).await?;
    p.verify(&plan).await
}

fn detail<'a>(r: &'a skydeck::model::Resource, key: &str) -> &'a str {
    r.details
        .iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| panic!("no detail {key} in {:?}", r.details), |(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------------
// Read.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_services_databases_backups_and_secrets() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-prod", "production").await;
    let db_prod = database(&sdk, "orders-prod", 7, None).await;
    let db_dev = database(&sdk, "reports", 0, Some("dev")).await;
    aws_sdk_rds::Client::new(&sdk)
        .create_db_snapshot()
        .db_instance_identifier("orders-prod")
        .db_snapshot_identifier("before-migration")
        .send()
        .await
        .unwrap();
    let openai = secret(&sdk, "inference/prod/openai-key", "sk-live-do-not-print").await;
    let p = provider(&moto).await;
    let snap = p.fetch().await.unwrap();

    let web = snap.resources.iter().find(|r| r.id == service).expect("the service by its ARN");
    assert!(service.starts_with(&format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/")), "{service}");
    assert_eq!((web.kind.as_str(), web.name.as_str()), ("ECS service", "web"));
    assert_eq!(web.environment, "production");
    assert_eq!(web.current_version.as_deref(), Some("web:2"));
    assert_eq!(web.versions, ["web:2", "web:1"]);
    assert_eq!((detail(web, "desired"), detail(web, "running")), ("2", "2"));
    assert_eq!(detail(web, "cluster"), "shop-prod");
    assert_eq!(detail(web, "rollout"), "COMPLETED");
    assert_eq!(detail(web, "image app"), image("v2"));
    assert!(detail(web, "deploy PRIMARY").starts_with("web:2 COMPLETED 2/2"));
    assert_eq!(web.level, Level::Ok);
    assert_eq!(p.refresh_interval(), Duration::from_secs(30));

    let orders = snap.resources.iter().find(|r| r.id == db_prod).expect("the instance by its ARN");
    assert_eq!((orders.kind.as_str(), orders.status.as_str()), ("RDS instance", "available"));
    assert_eq!(orders.environment, "production", "from the -prod suffix");
    assert_eq!(detail(orders, "engine"), "postgres 16.4");
    assert!(detail(orders, "manual").starts_with("1, newest"), "{:?}", orders.details);
    let backup = snap.backups.iter().find(|b| b.id == db_prod).unwrap();
    assert_eq!((backup.retention_days, backup.required_retention_days), (7, 35));
    assert!(backup.pitr_enabled);
    let (earliest, latest) = (backup.earliest_restore.unwrap(), backup.latest_restore.unwrap());
    assert!(earliest <= latest);
    assert!(backup.last_backup_at.is_some());
    assert_eq!(backup.findings(chrono::Utc::now()), ["retention 7d below policy 35d"]);
    let reports = snap.backups.iter().find(|b| b.id == db_dev).unwrap();
    assert_eq!(reports.environment, "dev", "from the env tag");
    assert!(!reports.pitr_enabled);
    assert!(reports.findings(chrono::Utc::now()).contains(&"point-in-time recovery off".to_string()));

    let s = snap.secrets.iter().find(|s| s.id == openai).expect("the secret by its ARN");
    assert_eq!((s.name.as_str(), s.store.as_str()), ("inference/prod/openai-key", "Secrets Manager"));
    assert_eq!(s.environment, "production", "from the path");
    assert_eq!(s.versions, 1);
    assert!(s.updated_at.is_some());
    let json = serde_json::to_string(&snap).unwrap();
    assert!(!json.contains("sk-live-do-not-print"), "a secret value leaked into the snapshot");

    let envs: Vec<(&str, Tier)> = snap.environments.iter().map(|e| (e.name.as_str(), e.tier)).collect();
    assert!(envs.contains(&("production", Tier::Prod)) && envs.contains(&("dev", Tier::Dev)), "{envs:?}");
    // moto answers 404 to CloudWatch's CBOR protocol: the metrics are missing, the rest is not.
    let note = snap.source_note.clone().unwrap_or_default();
    assert!(note.contains("CloudWatch metrics: cloudwatch:GetMetricData"), "{note}");
    assert!(note.contains("HTTP 404"), "{note}");
    // The alarms too (see `cloudwatch_alarms_over_cbor` for them read): a note, not a failure.
    assert!(note.contains("CloudWatch alarms: cloudwatch:DescribeAlarms"), "{note}");
    assert!(snap.alerts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrowing_lists_and_an_unknown_cluster() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    web_service(&sdk, "shop-prod", "production").await;
    database(&sdk, "orders-prod", 7, None).await;
    database(&sdk, "reports-dev", 1, None).await;
    secret(&sdk, "inference/prod/openai-key", "x").await;
    secret(&sdk, "billing/stripe-key", "y").await;

    let p = provider_with(&moto.endpoint, |s| {
        s.db_instances = vec!["reports-dev".into()];
        s.secrets = vec!["billing/".into()];
    })
    .await;
    let snap = p.fetch().await.unwrap();
    let dbs: Vec<&str> = snap.backups.iter().map(|b| b.database.as_str()).collect();
    assert_eq!(dbs, ["reports-dev"]);
    let secrets: Vec<&str> = snap.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(secrets, ["billing/stripe-key"]);

    let p = provider_with(&moto.endpoint, |s| s.clusters = vec!["shop-prod".into(), "nope".into()]).await;
    match p.fetch().await {
        Err(ProviderError::Unavailable(m)) => {
            assert!(m.contains("ECS cluster 'nope' not found in us-east-1"), "{m}");
            assert!(m.contains("[aws] clusters"), "{m}");
        }
        other => panic!("expected a clear error, got {other:?}"),
    }
    let p = provider_with(&moto.endpoint, |s| s.db_instances = vec!["gone-db".into()]).await;
    let err = p.fetch().await.unwrap_err().to_string();
    assert!(err.contains("RDS instance 'gone-db' not found") && err.contains("[aws] db_instances"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// ECS actions.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_points_the_service_at_the_previous_revision_through_the_pipeline() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-prod", "production").await;
    let p = provider(&moto).await;
    let snap = p.fetch().await.unwrap();

    let plan = p.plan(&request(Verb::Rollback, &service, &[]), &snap).unwrap();
    assert_eq!(plan.calls[0].call, "ecs:UpdateService cluster=shop-prod service=web taskDefinition=web:1");
    assert!(plan.calls[1].call.starts_with("ecs:DescribeServices cluster=shop-prod services=web"));
    assert_eq!(plan.tier, Tier::Prod);
    assert_eq!(plan.risk, Risk::High);
    assert_eq!(plan.confirmation(), Confirmation::TypeName("web".into()));
    assert!(plan.render_text().contains("from web:2 to web:1"), "{}", plan.render_text());

    let store = Arc::new(Store::open_in_memory().unwrap());
    let outcome = Pipeline::new(store.clone(), false, "tester").act(&p, plan).await;
    let detail = outcome.result.expect("rolled back and verified").to_string();
    assert!(detail.contains("web runs web:1") && detail.contains("rollout COMPLETED"), "{detail}");
    assert_eq!(running_task_definition(&sdk, "shop-prod").await, "web:1");
    let audit = store.audit_entries().unwrap();
    let phases: Vec<AuditPhase> = audit.iter().map(|e| e.phase).collect();
    assert_eq!(phases, [AuditPhase::Started, AuditPhase::Finished]);
    assert_eq!(audit[0].target, service);

    // Re-read: web:1 is current now, and rolling back further has nowhere to go.
    let snap = p.fetch().await.unwrap();
    let web = snap.resources.iter().find(|r| r.id == service).unwrap();
    assert_eq!(web.current_version.as_deref(), Some("web:1"));
    match p.plan(&request(Verb::Rollback, &service, &[]), &snap) {
        Err(ActionError::NotApplicable { why, .. }) => assert!(why.contains("no earlier active revision"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Promote without --to goes to the newer revision again.
    let plan = p.plan(&request(Verb::Promote, &service, &[]), &snap).unwrap();
    assert!(plan.calls[0].call.ends_with("taskDefinition=web:2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_an_image_tag_registers_a_revision_and_force_redeploys() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-stg", "staging").await;
    let p = provider(&moto).await;
    let snap = p.fetch().await.unwrap();

    let plan = p.plan(&request(Verb::Promote, &service, &[("to", "v3")]), &snap).unwrap();
    assert_eq!(plan.tier, Tier::Staging);
    assert_eq!(plan.confirmation(), Confirmation::YesNo);
    assert_eq!(
        plan.calls[0].call,
        format!(
            "ecs:RegisterTaskDefinition family=web (copy of web:2) containerDefinitions[app].image={}",
            image("v3")
        )
    );
    assert!(plan.calls[1].call.ends_with("taskDefinition=web:<new revision>"));
    p.execute(&plan).await.unwrap();
    let verified = p.verify(&plan).await.unwrap();
    assert!(verified.contains("web runs web:3"), "{verified}");
    assert_eq!(running_task_definition(&sdk, "shop-stg").await, "web:3");
    let td = aws_sdk_ecs::Client::new(&sdk)
        .describe_task_definition()
        .task_definition("web:3")
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    let app = &td.container_definitions()[0];
    assert_eq!(app.image(), Some(image("v3").as_str()));
    assert_eq!(app.memory(), Some(512), "the rest of the revision is copied");
    let logs = app.log_configuration().unwrap().options().unwrap();
    assert_eq!(logs.get("awslogs-group").map(String::as_str), Some("/ecs/web"));

    // The same image again is refused; force=true redeploys instead.
    let snap = p.fetch().await.unwrap();
    match p.plan(&request(Verb::Promote, &service, &[("to", "v3")]), &snap) {
        Err(ActionError::NotApplicable { why, .. }) => assert!(why.contains("force=true"), "{why}"),
        other => panic!("{other:?}"),
    }
    let plan = p.plan(&request(Verb::Promote, &service, &[("force", "true")]), &snap).unwrap();
    assert_eq!(plan.calls[0].call, "ecs:UpdateService cluster=shop-stg service=web forceNewDeployment=true");
    assert_eq!(plan.action(), "promote");
    p.execute(&plan).await.unwrap();
    let verified = p.verify(&plan).await.unwrap();
    assert!(verified.contains("has a new deployment"), "{verified}");
    // `rerun` (R on the Resources screen) is the same restart.
    let snap = p.fetch().await.unwrap();
    let plan = p.plan(&request(Verb::Rerun, &service, &[]), &snap).unwrap();
    assert_eq!(plan.calls[0].call, "ecs:UpdateService cluster=shop-stg service=web forceNewDeployment=true");
    assert!(plan.summary.starts_with("restart: start a new deployment of web"), "{}", plan.summary);
    assert_eq!(plan.action(), "restart", "the confirmation says restart, not rerun");
    p.execute(&plan).await.unwrap();
    let verified = p.verify(&plan).await.unwrap();
    assert!(verified.contains("has a new deployment"), "{verified}");
    assert!(matches!(p.plan(&request(Verb::Cancel, &service, &[]), &snap), Err(ActionError::NotApplicable { .. })));
    // A rollback --to an image is refused: images are promoted.
    assert!(matches!(
        p.plan(&request(Verb::Rollback, &service, &[("to", "v1")]), &snap),
        Err(ActionError::InvalidInput(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_sets_the_desired_count_and_refuses_what_does_not_fit() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-prod", "production").await;
    let p = provider(&moto).await;
    let snap = p.fetch().await.unwrap();

    assert!(matches!(p.plan(&request(Verb::Scale, &service, &[]), &snap), Err(ActionError::MissingInput(_))));
    assert!(matches!(
        p.plan(&request(Verb::Scale, &service, &[("count", "many")]), &snap),
        Err(ActionError::InvalidInput(_))
    ));
    let stop = p.plan(&request(Verb::Scale, &service, &[("count", "0")]), &snap).unwrap();
    assert_eq!(stop.risk, Risk::Critical, "stopping a production service");
    assert!(matches!(p.plan(&request(Verb::Restore, &service, &[]), &snap), Err(ActionError::NotApplicable { .. })));

    let plan = p.plan(&request(Verb::Scale, &service, &[("count", "3")]), &snap).unwrap();
    assert_eq!(plan.calls[0].call, "ecs:UpdateService cluster=shop-prod service=web desiredCount=3");
    let verified = act(&p, &snap, request(Verb::Scale, &service, &[("count", "3")])).await.unwrap();
    assert!(verified.contains("wants 3 tasks"), "{verified}");
    let out =
        aws_sdk_ecs::Client::new(&sdk).describe_services().cluster("shop-prod").services("web").send().await.unwrap();
    assert_eq!(out.services()[0].desired_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_never_settles_fails_verification_after_the_limit() {
    // No task ever runs: the deployment stays IN_PROGRESS.
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "0")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-dev", "dev").await;
    let p = provider_with(&moto.endpoint, |s| {
        s.rollout_timeout = Duration::from_secs(1);
        s.rollout_poll = Duration::from_millis(200);
    })
    .await;
    let snap = p.fetch().await.unwrap();
    let web = snap.resources.iter().find(|r| r.id == service).unwrap();
    assert_eq!(web.status, "IN_PROGRESS");
    assert_eq!(web.level, Level::Crit, "nothing runs");
    assert_eq!(p.refresh_interval(), Duration::from_secs(5), "polls faster while rolling out");

    let plan = p.plan(&request(Verb::Rollback, &service, &[]), &snap).unwrap();
    p.execute(&plan).await.unwrap();
    let started = Instant::now();
    match p.verify(&plan).await {
        Err(ActionError::VerifyFailed(m)) => {
            assert!(m.contains("web runs web:1"), "{m}");
            assert!(m.contains("still in progress after 1s"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(running_task_definition(&sdk, "shop-dev").await, "web:1");
}

// ---------------------------------------------------------------------------------------------
// RDS actions.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_checks_the_window_then_creates_a_new_instance_and_snapshot_takes_one() {
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let arn = database(&sdk, "orders-stg", 7, None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = provider(&moto).await;
    let snap = p.fetch().await.unwrap();
    let b = snap.backups.iter().find(|b| b.id == arn).unwrap().clone();
    let (earliest, latest) = (b.earliest_restore.unwrap(), b.latest_restore.unwrap());
    assert!(latest > earliest, "{earliest} .. {latest}");

    // Outside the window: refused before anything is sent.
    let before = (earliest - chrono::Duration::days(1)).to_rfc3339();
    match p.plan(&request(Verb::Restore, &arn, &[("time", &before)]), &snap) {
        Err(ActionError::InvalidInput(m)) => assert!(m.contains("outside the point-in-time window"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p.plan(&request(Verb::Restore, &arn, &[("time", "yesterday")]), &snap),
        Err(ActionError::InvalidInput(_))
    ));
    assert!(matches!(
        p.plan(&request(Verb::Restore, &arn, &[("name", "bad--name")]), &snap),
        Err(ActionError::InvalidInput(_))
    ));
    assert!(matches!(
        p.plan(&request(Verb::Restore, &arn, &[("name", "orders-stg")]), &snap),
        Err(ActionError::InvalidInput(_))
    ));

    let at = earliest + (latest - earliest) / 2;
    let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let plan =
        p.plan(&request(Verb::Restore, &arn, &[("time", &at_text), ("name", "orders-stg-restored")]), &snap).unwrap();
    assert_eq!(plan.risk, Risk::High);
    let call = &plan.calls[0].call;
    assert!(
        call.starts_with(
            "rds:RestoreDBInstanceToPointInTime SourceDBInstanceIdentifier=orders-stg TargetDBInstanceIdentifier=orders-stg-restored RestoreTime="
        ),
        "{call}"
    );
    assert!(call.contains("DBInstanceClass=db.t3.micro"), "{call}");
    assert!(plan.summary.contains("into a NEW instance orders-stg-restored"), "{}", plan.summary);
    p.execute(&plan).await.unwrap();
    let verified = p.verify(&plan).await.unwrap();
    assert!(verified.contains("restored from orders-stg"), "{verified}");

    let out = aws_sdk_rds::Client::new(&sdk)
        .describe_db_instances()
        .db_instance_identifier("orders-stg-restored")
        .send()
        .await
        .unwrap();
    let new = &out.db_instances()[0];
    let tag = |k: &str| new.tag_list().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
    assert_eq!(tag("skydeck:restored-from").as_deref(), Some(arn.as_str()));
    assert_eq!(tag("skydeck:restore-time").as_deref(), Some(at_text.as_str()));
    assert_eq!(new.db_instance_class(), Some("db.t3.micro"));
    // The source is untouched.
    let src = aws_sdk_rds::Client::new(&sdk)
        .describe_db_instances()
        .db_instance_identifier("orders-stg")
        .send()
        .await
        .unwrap();
    assert_eq!(src.db_instances()[0].db_instance_status(), Some("available"));

    // A manual snapshot.
    let verified = act(&p, &snap, request(Verb::Snapshot, &arn, &[("name", "orders-stg-manual-1")])).await.unwrap();
    assert!(verified.contains("orders-stg-manual-1"), "{verified}");
    let snaps = aws_sdk_rds::Client::new(&sdk)
        .describe_db_snapshots()
        .db_instance_identifier("orders-stg")
        .snapshot_type("manual")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = snaps.db_snapshots().iter().filter_map(|s| s.db_snapshot_identifier()).collect();
    assert_eq!(ids, ["orders-stg-manual-1"]);

    // PITR off: restore is refused with the reason.
    let off = database(&sdk, "scratch-dev", 0, None).await;
    let snap = p.fetch().await.unwrap();
    match p.plan(&request(Verb::Restore, &off, &[]), &snap) {
        Err(ActionError::NotApplicable { why, .. }) => assert!(why.contains("point-in-time recovery is off"), "{why}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager actions.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_rotate_and_take_a_new_value_without_ever_showing_it() {
    let moto = Moto::start();
    let sdk = sdk(&moto.endpoint).await;
    let plain = secret(&sdk, "shop/stg/db-password", "first-value-1").await;
    let rotating = secret(&sdk, "shop/stg/api-key", "key-1").await;
    // Rotation set up as an engineer would (moto needs no Lambda for it).
    aws_sdk_secretsmanager::Client::new(&sdk)
        .rotate_secret()
        .secret_id(&rotating)
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder().automatically_after_days(30).build(),
        )
        .send()
        .await
        .unwrap();
    let p = provider(&moto).await;
    let snap = p.fetch().await.unwrap();
    let s = snap.secrets.iter().find(|s| s.id == rotating).unwrap();
    assert_eq!(s.rotation_days, Some(30));
    assert!(s.last_rotated.is_some());
    assert_eq!(s.environment, "staging");

    // Without a rotation function, rotate says how to put a value instead.
    match p.plan(&request(Verb::Rotate, &plain, &[]), &snap) {
        Err(ActionError::NotApplicable { why, .. }) => assert!(why.contains("--value-stdin"), "{why}"),
        other => panic!("{other:?}"),
    }
    let (versions_before, current_before) = secret_versions(&sdk, &rotating).await;
    let plan = p.plan(&request(Verb::Rotate, &rotating, &[]), &snap).unwrap();
    assert!(plan.calls[0].call.starts_with(&format!("secretsmanager:RotateSecret SecretId={rotating}")));
    p.execute(&plan).await.unwrap();
    let verified = p.verify(&plan).await.unwrap();
    let (versions_after, current_after) = secret_versions(&sdk, &rotating).await;
    assert_eq!(versions_after, versions_before + 1);
    assert_ne!(current_after, current_before);
    assert!(verified.contains(&current_after), "{verified}");

    // A new value from stdin: sent once, visible nowhere.
    let new_value = "n3w-s3cret-value-never-shown";
    let mut req = request(Verb::Rotate, &plain, &[("value_from_stdin", "true")]);
    let plan = p.plan(&req, &snap).unwrap();
    assert_eq!(
        plan.calls[0].call,
        format!("secretsmanager:PutSecretValue SecretId={plain} SecretString=<from stdin, not shown>")
    );
    assert!(matches!(p.execute(&plan).await, Err(ActionError::MissingInput(_))));
    req.secret_input = Some(new_value.to_string());
    let plan = p.plan(&req, &snap).unwrap();
    for shown in [plan.render_text(), format!("{plan:?}"), serde_json::to_string(&plan).unwrap()] {
        assert!(!shown.contains(new_value), "the value leaked: {shown}");
    }
    let (_, current_before) = secret_versions(&sdk, &plain).await;
    let done = p.execute(&plan).await.unwrap();
    let verified = p.verify(&plan).await.unwrap();
    assert!(!done.contains(new_value) && !verified.contains(new_value));
    assert_eq!(secret_value(&sdk, &plain).await, new_value);
    let (versions, current_after) = secret_versions(&sdk, &plain).await;
    assert_eq!(versions, 2);
    assert_ne!(current_after, current_before);
}

// ---------------------------------------------------------------------------------------------
// CloudWatch Logs.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_tail_new_lines_of_the_services_log_groups_with_their_severity() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-prod", "production").await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    logs.create_log_group().log_group_name("/ecs/web").send().await.unwrap();
    logs.create_log_stream().log_group_name("/ecs/web").log_stream_name("web/app/1").send().await.unwrap();
    let put = |lines: &'static [&'static str], offset_ms: i64| {
        let logs = logs.clone();
        async move {
            let now = chrono::Utc::now().timestamp_millis();
            let events = lines.iter().enumerate().map(|(i, m)| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now - offset_ms + i as i64)
                    .message(*m)
                    .build()
                    .unwrap()
            });
            logs.put_log_events()
                .log_group_name("/ecs/web")
                .log_stream_name("web/app/1")
                .set_log_events(Some(events.collect()))
                .send()
                .await
                .unwrap();
        }
    };
    put(
        &[
            r#"{"level":"error","msg":"payment failed"}"#,
            "2026-11-22 10:00:01 WARN pool nearly exhausted",
            "GET /api/v1/health 200",
        ],
        3_000,
    )
    .await;
    let p = provider(&moto).await;
    assert!(p.fetch_logs(None).await.unwrap().is_empty(), "no log group known before a fetch");
    p.fetch().await.unwrap();
    let lines = p.fetch_logs(None).await.unwrap();
    let seen: Vec<(Severity, &str)> = lines.iter().map(|l| (l.severity, l.source.as_str())).collect();
    assert_eq!(seen, [(Severity::Error, "web"), (Severity::Warn, "web"), (Severity::Info, "web")]);
    assert_eq!(lines[2].text, "GET /api/v1/health 200");

    // The next poll brings only what is new.
    put(&["level=debug msg=\"cache miss\""], 0).await;
    let more = p.fetch_logs(lines.last().map(|l| l.at)).await.unwrap();
    let texts: Vec<&str> = more.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["level=debug msg=\"cache miss\""]);
    assert_eq!(more[0].severity, Severity::Debug);
    assert!(p.fetch_logs(more.last().map(|l| l.at)).await.unwrap().is_empty());

    // The whole recent log of the service, for the viewer.
    let all = p.fetch_log(&service).await.unwrap();
    assert_eq!(all.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// Errors, against wiremock (moto neither throttles nor checks credentials).

mod wire {
    use super::*;
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// Every JSON-protocol call (ECS, Secrets Manager, Logs) gets `code`; every query-protocol
    /// call (RDS) gets the same as XML.
    async fn failing(code: &str, message: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header_exists("x-amz-target"))
            .respond_with(
                ResponseTemplate::new(400)
                    .insert_header("content-type", "application/x-amz-json-1.1")
                    .set_body_string(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
            )
            .mount(&server)
            .await;
        let xml_code = code.trim_end_matches("Exception");
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400)
                    .insert_header("content-type", "text/xml")
                    .set_body_string(format!(
                        "<ErrorResponse><Error><Type>Sender</Type><Code>{xml_code}</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
                    )),
            )
            .mount(&server)
            .await;
        server
    }

    fn targets(requests: &[wiremock::Request], op: &str) -> usize {
        requests
            .iter()
            .filter(|r| r.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).is_some_and(|t| t.ends_with(op)))
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn throttling_is_retried_with_back_off_then_reported_as_rate_limited() {
        let server = failing("ThrottlingException", "Rate exceeded").await;
        let p = provider_with(&server.uri(), |_| {}).await;
        let err = p.fetch().await.unwrap_err();
        assert_eq!(err, ProviderError::RateLimited { retry_after: None });
        let requests = server.received_requests().await.unwrap();
        assert_eq!(targets(&requests, ".ListClusters"), 4, "every attempt of the retry policy");
        assert_eq!(targets(&requests, ".ListSecrets"), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_credentials_say_how_to_get_new_ones() {
        let server = failing("ExpiredTokenException", "The security token included in the request is expired").await;
        let p = provider_with(&server.uri(), |s| s.profile = Some("dev".into())).await;
        match p.fetch().await {
            Err(ProviderError::Auth { message, fix }) => {
                assert!(message.contains("expired"), "{message}");
                assert!(fix.contains("aws configure --profile dev"), "{fix}");
                assert!(fix.contains("aws sso login --profile dev"), "{fix}");
            }
            other => panic!("{other:?}"),
        }
        // Credentials are not retried: one request per call.
        let requests = server.received_requests().await.unwrap();
        assert_eq!(targets(&requests, ".ListClusters"), 1);
    }

    /// `CloudWatch` speaks CBOR (rpcv2Cbor) since aws-sdk-cloudwatch 1.100; moto does not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cloudwatch_metrics_round_trip_over_cbor() {
        use aws_sdk_cloudwatch::primitives::DateTime;
        let now = chrono::Utc::now();
        let t0 = now.timestamp() - 120;
        let mut enc = aws_smithy_cbor::Encoder::new(Vec::new());
        enc.map(1).str("MetricDataResults").array(2);
        for (id, values) in [("q0", [35.0, 93.0]), ("q1", [50.0, 75.5])] {
            enc.map(4).str("Id").str(id).str("Timestamps").array(2);
            enc.timestamp(&DateTime::from_secs(t0)).timestamp(&DateTime::from_secs(t0 + 60));
            enc.str("Values").array(2).double(values[0]).double(values[1]);
            enc.str("StatusCode").str("Complete");
        }
        let body = enc.into_writer();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/service/GraniteServiceVersion20100801/operation/GetMetricData"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/cbor")
                    .insert_header("smithy-protocol", "rpc-v2-cbor")
                    .set_body_bytes(body),
            )
            .expect(1)
            .mount(&server)
            .await;
        let p = provider_with(&server.uri(), |_| {}).await;
        let metrics = p
            .fetch_metrics(
                &[MetricTarget::EcsService {
                    cluster: "shop-prod".into(),
                    service: "web".into(),
                    environment: "production".into(),
                    load_balancer: None,
                }],
                now,
            )
            .await
            .unwrap();
        let cpu = metrics.iter().find(|m| m.kind == MetricKind::Cpu).unwrap();
        assert_eq!((cpu.resource.as_str(), cpu.value, cpu.level), ("web", 93.0, Level::Crit));
        assert_eq!(cpu.history, [35.0, 93.0]);
        let memory = metrics.iter().find(|m| m.kind == MetricKind::Memory).unwrap();
        assert_eq!((memory.value, memory.level), (75.5, Level::Warn));
        let requests = server.received_requests().await.unwrap();
        let sent = &requests[0].body;
        let has = |s: &str| sent.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(has("AWS/ECS") && has("CPUUtilization") && has("MemoryUtilization") && has("shop-prod"));
        assert_eq!(requests[0].headers.get("smithy-protocol").and_then(|v| v.to_str().ok()), Some("rpc-v2-cbor"));
    }

    /// `DescribeAlarms` over CBOR (moto cannot answer it, see above): one listing of every metric
    /// and composite alarm, the second page followed; those in ALARM or `INSUFFICIENT_DATA` are
    /// alerts, every alarm is a rule, and one with its actions disabled notifies nobody.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cloudwatch_alarms_over_cbor() {
        use aws_sdk_cloudwatch::primitives::DateTime;
        fn cbor(f: impl FnOnce(&mut aws_smithy_cbor::Encoder)) -> ResponseTemplate {
            let mut enc = aws_smithy_cbor::Encoder::new(Vec::new());
            f(&mut enc);
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/cbor")
                .insert_header("smithy-protocol", "rpc-v2-cbor")
                .set_body_bytes(enc.into_writer())
        }
        let since = DateTime::from_secs(1_800_000_000);
        let has = |r: &wiremock::Request, s: &str| r.body.windows(s.len()).any(|w| w == s.as_bytes());
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/service/GraniteServiceVersion20100801/operation/DescribeAlarms"))
            .respond_with(move |r: &wiremock::Request| {
                if has(r, "page-2") {
                    cbor(|e| {
                        e.map(1).str("CompositeAlarms").array(1).map(4);
                        e.str("AlarmName").str("shop-down").str("StateValue").str("ALARM");
                        e.str("StateUpdatedTimestamp").timestamp(&since);
                        e.str("AlarmActions").array(1).str("arn:aws:sns:eu-west-1:123456789012:pager");
                    })
                } else {
                    cbor(|e| {
                        e.map(2).str("MetricAlarms").array(3);
                        e.map(8).str("AlarmName").str("web-prod-5xx");
                        e.str("AlarmArn").str("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-prod-5xx");
                        e.str("StateValue").str("ALARM").str("StateUpdatedTimestamp").timestamp(&since);
                        e.str("Namespace").str("AWS/ApplicationELB");
                        e.str("Dimensions").array(1).map(2).str("Name").str("LoadBalancer");
                        e.str("Value").str("app/web/1");
                        e.str("ActionsEnabled").boolean(true);
                        e.str("AlarmActions").array(1).str("arn:aws:sns:eu-west-1:123456789012:pager");
                        e.map(5).str("AlarmName").str("queue-age-dev").str("StateValue").str("INSUFFICIENT_DATA");
                        e.str("Namespace").str("AWS/SQS").str("MetricName").str("ApproximateAgeOfOldestMessage");
                        e.str("Dimensions").array(1).map(2).str("Name").str("QueueName").str("Value").str("jobs-dev");
                        e.map(4).str("AlarmName").str("orders-db-prod-disk").str("StateValue").str("OK");
                        e.str("ActionsEnabled").boolean(false);
                        e.str("AlarmActions").array(1).str("arn:aws:sns:eu-west-1:123456789012:pager");
                        e.str("NextToken").str("page-2");
                    })
                }
            })
            .expect(2)
            .mount(&server)
            .await;
        let p = provider_with(&server.uri(), |_| {}).await;
        let (alerts, rules) = p.fetch_alarms().await.unwrap();
        let names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["web-prod-5xx", "shop-down", "queue-age-dev"], "ALARM first, then INSUFFICIENT_DATA");
        let web = &alerts[0];
        assert_eq!(web.id, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-prod-5xx");
        assert_eq!((web.source.as_str(), web.resource.as_str()), ("CloudWatch", "app/web/1"));
        assert_eq!((web.environment.as_str(), web.severity), ("production", AlertSeverity::Critical));
        assert_eq!(web.state, AlertState::Firing);
        assert_eq!(web.since.map(|t| t.timestamp()), Some(1_800_000_000));
        assert!(web.link.as_deref().unwrap().ends_with("#alarmsV2:alarm/web-prod-5xx"), "{:?}", web.link);
        assert_eq!((alerts[1].resource.as_str(), alerts[1].severity), ("composite alarm", AlertSeverity::Error));
        let queue = &alerts[2];
        assert_eq!((queue.state, queue.severity), (AlertState::InsufficientData, AlertSeverity::Warning));
        assert_eq!((queue.resource.as_str(), queue.environment.as_str()), ("jobs-dev", "dev"));
        // Every alarm is a rule; the OK one with its actions disabled tells nobody, and so does
        // the one without an alarm action.
        let quiet: Vec<(&str, Option<&str>)> = rules.iter().map(|r| (r.name.as_str(), r.problem())).collect();
        assert_eq!(quiet.len(), 4);
        assert!(quiet.contains(&("orders-db-prod-disk", Some("notifies nobody when it fires"))), "{quiet:?}");
        assert!(quiet.contains(&("queue-age-dev", Some("notifies nobody when it fires"))), "{quiet:?}");
        assert!(quiet.contains(&("web-prod-5xx", None)) && quiet.contains(&("shop-down", None)), "{quiet:?}");
        let requests = server.received_requests().await.unwrap();
        for r in &requests {
            assert!(has(r, "MetricAlarm") && has(r, "CompositeAlarm"), "both alarm types asked for");
            assert!(!has(r, "StateValue"), "every state: one listing serves alerts and rules");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The binary end to end.

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new(config: &str) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Cli { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = Command::new(env!("CARGO_BIN_EXE_skydeck"));
        c.arg("--config")
            .arg(d.join("config.toml"))
            .args(args)
            .env("HOME", d.join("home"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("AWS_CONFIG_FILE", d.join("home/.aws/config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", d.join("home/.aws/credentials"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("USER", "tester")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("SKYDECK_CONFIG");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn run_with_stdin_env(&self, env: &[(&str, &str)], args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(o: &Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_status_lists_arns_and_act_rolls_back_and_puts_a_secret_value() {
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let sdk = sdk(&moto.endpoint).await;
    let service = web_service(&sdk, "shop-prod", "production").await;
    let db = database(&sdk, "orders-prod", 35, None).await;
    let secret_arn = secret(&sdk, "shop/prod/db-password", "old-value-1").await;
    let cli = Cli::new(&format!(
        "[aws]\nregion = \"{REGION}\"\nendpoint_url = \"{}\"\nrollout_timeout_seconds = 30\n",
        moto.endpoint
    ));

    let out = cli.run(&["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["errors"], Value::Array(Vec::new()), "{}", text(&out));
    let ids = |key: &str| -> Vec<String> {
        doc[key].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
    };
    assert!(ids("resources").contains(&service), "{:?}", ids("resources"));
    assert!(ids("resources").contains(&db));
    assert_eq!(ids("backups"), [db.as_str()]);
    assert_eq!(ids("secrets"), [secret_arn.as_str()]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("old-value-1"));

    // A production target needs its name typed.
    let out = cli.run(&["act", "rollback", &service, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(running_task_definition(&sdk, "shop-prod").await, "web:2", "nothing was sent");
    let out = cli.run(&["act", "rollback", &service, "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("ecs:UpdateService cluster=shop-prod service=web taskDefinition=web:1"),
        "{}",
        text(&out)
    );
    assert_eq!(running_task_definition(&sdk, "shop-prod").await, "web:2", "dry run sent nothing");

    let out = cli.run(&["act", "rollback", &service, "--yes", "--confirm", "web", "--reason", "bad release"]);
    assert!(out.status.success(), "{}", text(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["ok"], true);
    assert_eq!(running_task_definition(&sdk, "shop-prod").await, "web:1");

    // At the most verbose log level (the SDK logs whole requests at trace).
    let new_value = "fresh-p4ssword-from-stdin";
    let out = cli.run_with_stdin_env(
        &[("SKYDECK_LOG", "trace")],
        &["act", "rotate", &secret_arn, "--value-stdin", "--yes", "--confirm", "shop/prod/db-password"],
        &format!("{new_value}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(new_value), "the value was echoed: {}", text(&out));
    assert_eq!(secret_value(&sdk, &secret_arn).await, new_value, "the trailing newline is not part of it");

    let out = cli.run(&["audit", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(new_value));
    let audit: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let phases = |target: &str| -> Vec<String> {
        audit.iter().filter(|e| e["target"] == target).map(|e| e["phase"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(phases(&service), ["started", "finished"]);
    assert_eq!(phases(&secret_arn), ["started", "finished"]);
    let rollback = audit.iter().find(|e| e["target"] == service.as_str()).unwrap();
    assert_eq!(rollback["reason"], "bad release");
    let log = std::fs::read_to_string(cli.path().join("state/skydeck/skydeck.log")).unwrap();
    assert!(log.contains("PutSecretValue"), "the trace log has the call");
    assert!(!log.contains(new_value), "the value reached the log file");
}

#[test]
fn cli_an_expired_sso_session_says_run_aws_sso_login() {
    let port = support::moto::free_port();
    let cli = Cli::new(&format!("[aws]\nprofile = \"dev-sso\"\nendpoint_url = \"http://127.0.0.1:{port}\"\n"));
    let aws = cli.path().join("home/.aws");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile dev-sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    // The token cache of session "corp" (its file is named by the SHA-1 of the session name).
    std::fs::write(
        aws.join("sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
        r#"{"accessToken":"expired-token","expiresAt":"2020-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://example.awsapps.com/start"}"#,
    )
    .unwrap();
    let out = cli
        .command(&["status", "--json"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0]["error"].as_str().unwrap();
    assert!(e.contains("run `aws sso login --profile dev-sso`"), "{e}");
    assert!(e.contains("SSO"), "{e}");
    assert!(!e.contains("expired-token"), "{e}");
}

#[test]
fn the_benchmark_scripts_are_shellcheck_clean() {
    for name in ["scripts/bench-aws.sh", "scripts/bench-logs.sh"] {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let out = Command::new("shellcheck").arg(&script).output().unwrap_or_else(|e| {
            panic!("shellcheck cannot run ({e}); scripts/test.sh installs it (apt-get install -y shellcheck)")
        });
        assert!(out.status.success(), "shellcheck {}:\n{}", script.display(), text(&out));
    }
}
