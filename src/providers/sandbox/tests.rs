use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::clock::ManualClock;
use crate::model::{AlertKind, AlertSeverity, AlertState};
use crate::providers::Provider as _;

fn sandbox() -> (Sandbox, ManualClock) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap());
    (Sandbox::new(7, Arc::new(clock.clone())), clock)
}

#[test]
fn same_seed_and_clock_give_the_same_estate() {
    let (a, _) = sandbox();
    let (b, _) = sandbox();
    assert_eq!(a.snapshot(), b.snapshot());
}

#[test]
fn the_demo_has_the_trouble_a_newcomer_should_find() {
    let (sb, clock) = sandbox();
    let s = sb.snapshot();
    let now = clock.now();
    let names: Vec<_> = s.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "staging", "production"]);
    assert_eq!(s.approvals.len(), 1);
    assert_eq!(s.approvals[0].environment, "production");
    let waiting: Vec<_> = s.runs.iter().filter(|r| r.status == RunStatus::Waiting).collect();
    assert_eq!(waiting.len(), 1);
    let failing: Vec<_> = s.health.iter().filter(|h| h.level == Level::Crit).collect();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!((failing[0].environment.as_str(), failing[0].name.as_str()), ("staging", "inference-api"));
    let old: Vec<_> = s.backups.iter().filter(|b| !b.findings(now).is_empty()).collect();
    assert_eq!(old.len(), 1);
    assert!(old[0].findings(now)[0].contains("> 24h"));
    let overdue: Vec<_> = s.secrets.iter().filter(|x| x.level(now) == Level::Crit).collect();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].name, "payment-api-key");
    // Object storage on every cloud; only the production media account breaks the policy.
    for p in [crate::providers::azure::PROVIDER, crate::providers::aws::PROVIDER, crate::providers::gcp::PROVIDER] {
        assert!(s.storage.iter().any(|o| o.provider == p), "{p:?}");
    }
    let weak: Vec<_> =
        s.storage.iter().filter(|o| !o.findings(crate::actions::tier_of(&s, &o.environment)).is_empty()).collect();
    assert_eq!(weak.len(), 1, "{weak:?}");
    assert_eq!(weak[0].name, "acme-shop-prod-media");
    assert_eq!(weak[0].findings(Tier::Prod), ["soft delete 7d below policy 30d"]);
    let f = crate::analysis::findings(&s, now);
    assert!(f.iter().any(|f| f.subject == "acme-shop-prod-media" && f.environment == "production"), "{f:?}");
    // Only kinds some real adapter reads: no cache or storage stand-ins among the resources.
    assert!(s.resources.iter().all(|r| matches!(r.role, Role::Compute | Role::Database)), "{:?}", s.resources);
    // Every cloud and role the domain names is present.
    for kind in [
        "App Service",
        "ECS service",
        "Cloud Run service",
        "PostgreSQL Flexible Server",
        "RDS instance",
        "Cloud SQL instance",
    ] {
        assert!(s.resources.iter().any(|r| r.kind == kind), "{kind}");
    }
    for p in [crate::providers::azure::PROVIDER, crate::providers::aws::PROVIDER, crate::providers::gcp::PROVIDER] {
        assert!(s.secrets.iter().any(|x| x.provider == p));
    }
    let ids: std::collections::HashSet<_> = s.resources.iter().map(|r| &r.id).collect();
    assert_eq!(ids.len(), s.resources.len(), "resource ids are unique");
}

#[test]
fn runs_progress_while_you_watch() {
    let (sb, clock) = sandbox();
    let first = sb.snapshot();
    let queued = first.runs.iter().find(|r| r.status == RunStatus::Queued).expect("a queued run").id.clone();
    clock.advance(Duration::seconds(20));
    let s = sb.snapshot();
    assert_eq!(s.runs.iter().find(|r| r.id == queued).unwrap().status, RunStatus::InProgress);
    clock.advance(Duration::minutes(10));
    let s = sb.snapshot();
    let r = s.runs.iter().find(|r| r.id == queued).unwrap();
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(r.conclusion, Some(Conclusion::Failure));
    assert!(r.jobs.iter().any(|j| j.conclusion == Some(Conclusion::Failure) && j.name == "test"));
    assert!(s.runs.len() > first.runs.len(), "new runs are spawned");
}

#[test]
fn logs_stream_and_resume_from_a_cursor() {
    let (sb, clock) = sandbox();
    let first = sb.logs_between(None, 10_000);
    assert!(first.len() > 100);
    let cursor = first.last().unwrap().at;
    clock.advance(Duration::seconds(2));
    let next = sb.logs_between(Some(cursor), 10_000);
    assert_eq!(next.len(), 8, "four lines a second");
    assert!(next.iter().all(|l| l.at > cursor));
}

async fn act(sb: &Sandbox, verb: Verb, target: &str, params: &[(&str, &str)]) -> Result<Plan, ActionError> {
    let mut req = ActionRequest::new(verb, target);
    for (k, v) in params {
        req.params.insert(k.to_string(), v.to_string());
    }
    let plan = sb.plan(&req, &sb.snapshot())?;
    sb.execute(&plan).await?;
    sb.verify(&plan).await?;
    Ok(plan)
}

#[tokio::test]
async fn approving_deploys_to_production() {
    let (sb, clock) = sandbox();
    let s = sb.snapshot();
    let approval = s.approvals[0].clone();
    let plan = act(&sb, Verb::Approve, &approval.id, &[]).await.unwrap();
    assert_eq!(plan.tier, Tier::Prod);
    assert!(plan.calls[0].call.contains("pending_deployments"));
    let s = sb.snapshot();
    assert!(s.approvals.is_empty());
    assert_eq!(s.runs.iter().find(|r| r.id == approval.run).unwrap().status, RunStatus::InProgress);
    clock.advance(Duration::minutes(3));
    let s = sb.snapshot();
    let run = s.runs.iter().find(|r| r.id == approval.run).unwrap();
    assert_eq!(run.conclusion, Some(Conclusion::Success));
    let prod =
        s.deployments.iter().find(|d| d.environment == "production" && d.state == DeploymentState::Success).unwrap();
    assert_eq!(prod.sha, approval.sha);
}

#[tokio::test]
async fn promote_rollback_restore_rotate_change_state() {
    let (sb, clock) = sandbox();
    let s = sb.snapshot();
    let app = s.resources.iter().find(|r| r.kind == "App Service" && r.environment == "production").unwrap().clone();
    let plan = act(&sb, Verb::Promote, &app.id, &[]).await.unwrap();
    assert_eq!(plan.request.params["to"], app.versions[0]);
    let after = sb.snapshot();
    assert_eq!(
        after.resources.iter().find(|r| r.id == app.id).unwrap().current_version.as_ref(),
        Some(&app.versions[0])
    );
    act(&sb, Verb::Rollback, &app.id, &[]).await.unwrap();
    assert_eq!(sb.snapshot().resources.iter().find(|r| r.id == app.id).unwrap().current_version, app.current_version);

    let db = s
        .backups
        .iter()
        .find(|b| b.environment == "staging" && b.provider == crate::providers::aws::PROVIDER)
        .unwrap()
        .clone();
    let bad = act(&sb, Verb::Restore, &db.id, &[("time", "2020-01-01T00:00:00Z")]).await.unwrap_err();
    assert!(bad.to_string().contains("outside the PITR window"), "{bad}");
    let plan = act(&sb, Verb::Restore, &db.id, &[("name", "inference-db-stg-restored")]).await.unwrap();
    assert!(plan.summary.contains("NEW server"));
    clock.advance(Duration::seconds(30));
    let restored = sb.snapshot().resources.into_iter().find(|r| r.name == "inference-db-stg-restored").unwrap();
    assert_eq!(restored.status, "available");
    assert!(restored.id.starts_with("arn:aws:rds:"));

    act(&sb, Verb::Snapshot, &db.id, &[]).await.unwrap();
    assert!(sb.snapshot().backups.iter().find(|b| b.id == db.id).unwrap().findings(clock.now()).is_empty());

    let secret = s.secrets.iter().find(|x| x.name == "payment-api-key" && x.environment == "production").unwrap();
    act(&sb, Verb::Rotate, &secret.id, &[]).await.unwrap();
    let rotated = sb.snapshot().secrets.into_iter().find(|x| x.id == secret.id).unwrap();
    assert_eq!(rotated.versions, secret.versions + 1);
    assert_eq!(rotated.level(clock.now()), Level::Ok);
}

#[tokio::test]
async fn verbs_that_do_not_fit_are_refused_clearly() {
    let (sb, _) = sandbox();
    let s = sb.snapshot();
    let secret = &s.secrets[0];
    let err = act(&sb, Verb::Scale, &secret.id, &[]).await.unwrap_err();
    assert!(matches!(err, ActionError::NotApplicable { .. }), "{err}");
    let err = act(&sb, Verb::Approve, "no-such-id", &[]).await.unwrap_err();
    assert_eq!(err, ActionError::NotFound("no-such-id".into()));
    let ecs = s.resources.iter().find(|r| r.kind == "ECS service").unwrap();
    // The sandbox enforces the ceiling the scale form shows: ECS's desired count limit.
    let err = act(&sb, Verb::Scale, &ecs.id, &[("count", "5000")]).await.unwrap_err();
    assert!(err.to_string().contains("at most 1000"), "{err}");
    let done = s.runs.iter().find(|r| r.status == RunStatus::Completed).unwrap();
    assert!(act(&sb, Verb::Cancel, &done.id, &[]).await.is_err());
    assert_eq!(act(&sb, Verb::Rerun, &done.id, &[]).await.unwrap().action(), "rerun", "a run is re-run");
    let rerun = sb.snapshot().runs.into_iter().find(|r| r.id == done.id).unwrap();
    assert_eq!(rerun.attempt, done.attempt + 1);
}

#[test]
fn the_demo_fires_alerts_and_dana_acknowledges_one_later() {
    let (sb, clock) = sandbox();
    let s = sb.snapshot();
    let firing: Vec<_> = s.alerts.iter().filter(|a| a.is_firing()).map(|a| a.name.as_str()).collect();
    assert_eq!(s.alerts.len(), 3);
    assert_eq!(firing.len(), 3, "{firing:?}");
    assert!(s.alerts.iter().any(|a| a.severity == AlertSeverity::Critical && a.environment == "production"));
    assert!(s.alerts.iter().any(|a| a.severity == AlertSeverity::Warning && a.environment == "staging"));
    assert!(s.alerts.iter().any(|a| a.kind == AlertKind::Security && a.source == "Dependabot"));
    clock.advance(estate::TEAMMATE_ACKS_AFTER);
    let later = sb.snapshot();
    let acked: Vec<_> = later.alerts.iter().filter(|a| a.state == AlertState::Acknowledged).collect();
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0].environment, "staging");
    assert_eq!(acked[0].acked_by.as_deref(), Some(estate::TEAMMATE));
    assert_eq!(sb.snapshot(), later, "the same clock gives the same alerts");
}

#[tokio::test]
async fn ack_takes_the_azure_alert_before_dana_and_refuses_alerts_without_an_acknowledgement() {
    let (sb, clock) = sandbox();
    let s = sb.snapshot();
    let azure = s.alerts.iter().find(|a| a.source == "Azure Monitor").unwrap().clone();
    let cloudwatch = s.alerts.iter().find(|a| a.source == "CloudWatch").unwrap().clone();
    let dependabot = s.alerts.iter().find(|a| a.source == "Dependabot").unwrap().clone();
    assert!(azure.can_ack && !cloudwatch.can_ack && !dependabot.can_ack);

    let err = act(&sb, Verb::Ack, &cloudwatch.id, &[]).await.unwrap_err();
    assert!(err.to_string().contains("CloudWatch alarms have no acknowledgement"), "{err}");
    let err = act(&sb, Verb::Ack, &dependabot.id, &[]).await.unwrap_err();
    assert!(matches!(err, ActionError::NotApplicable { .. }), "{err}");

    let plan = act(&sb, Verb::Ack, &azure.id, &[]).await.unwrap();
    assert_eq!(plan.tier, Tier::Staging);
    assert!(plan.calls[0].call.contains("/changestate?api-version=2019-05-05-preview&newState=Acknowledged"));
    let acked = sb.snapshot().alerts.into_iter().find(|a| a.id == azure.id).unwrap();
    assert_eq!((acked.state, acked.acked_by.as_deref(), acked.can_ack), (AlertState::Acknowledged, Some("you"), false));

    // Dana comes later and finds it taken; acknowledging twice is refused.
    clock.advance(estate::TEAMMATE_ACKS_AFTER);
    let later = sb.snapshot().alerts.into_iter().find(|a| a.id == azure.id).unwrap();
    assert_eq!(later.acked_by.as_deref(), Some("you"));
    let err = act(&sb, Verb::Ack, &azure.id, &[]).await.unwrap_err();
    assert!(err.to_string().contains("you acknowledged it already"), "{err}");
}

#[tokio::test]
async fn silence_quiets_the_azure_alert_for_its_window_and_refuses_untimed_sources() {
    let (sb, clock) = sandbox();
    let s = sb.snapshot();
    let azure = s.alerts.iter().find(|a| a.source == "Azure Monitor").unwrap().clone();
    let cloudwatch = s.alerts.iter().find(|a| a.source == "CloudWatch").unwrap().clone();
    let dependabot = s.alerts.iter().find(|a| a.source == "Dependabot").unwrap().clone();
    assert!(azure.can_silence && !cloudwatch.can_silence && !dependabot.can_silence);

    let err = act(&sb, Verb::Silence, &cloudwatch.id, &[("for", "1h")]).await.unwrap_err();
    assert!(err.to_string().contains("CloudWatch has no timed silence"), "{err}");
    let err = act(&sb, Verb::Silence, &dependabot.id, &[("for", "1h")]).await.unwrap_err();
    assert!(err.to_string().contains("nothing to silence"), "{err}");
    let err = act(&sb, Verb::Silence, &azure.id, &[]).await.unwrap_err();
    assert!(matches!(err, ActionError::MissingInput(_)), "{err}");

    let start = clock.now();
    let plan = act(&sb, Verb::Silence, &azure.id, &[("for", "30m")]).await.unwrap();
    assert!(plan.summary.contains("for 30m"), "{}", plan.summary);
    let quiet = sb.snapshot().alerts.into_iter().find(|a| a.id == azure.id).unwrap();
    assert_eq!(quiet.silenced_until, Some(start + chrono::Duration::minutes(30)));
    assert_eq!(quiet.state, AlertState::Firing, "a silence is not an acknowledgement");

    // The window ends by itself.
    clock.advance(chrono::Duration::minutes(31));
    let after = sb.snapshot().alerts.into_iter().find(|a| a.id == azure.id).unwrap();
    assert_eq!(after.silenced_until, None);
}

#[tokio::test]
async fn the_teammate_does_not_acknowledge_what_the_operator_took_first() {
    let (sb, clock) = sandbox();
    let start = clock.now();
    let sb = Arc::new(sb);
    let dana = super::teammate::Teammate::new(sb.clone(), start, None);
    use crate::team::SimulatedTeammate;
    let azure = sb.snapshot().alerts.into_iter().find(|a| a.source == "Azure Monitor").unwrap();
    act(&sb, Verb::Ack, &azure.id, &[]).await.unwrap();
    clock.advance(estate::TEAMMATE_ACKS_AFTER);
    assert!(dana.events(clock.now(), None).is_empty(), "no tick without a runbook, no ack, no incident");
}

#[tokio::test]
async fn rerun_restarts_an_ecs_service_and_refuses_what_the_real_adapters_cannot_restart() {
    let (sb, _) = sandbox();
    let s = sb.snapshot();
    let ecs = s
        .resources
        .iter()
        .find(|r| r.provider == crate::providers::aws::PROVIDER && r.role == Role::Compute)
        .unwrap()
        .clone();
    let web = s
        .resources
        .iter()
        .find(|r| r.provider == crate::providers::azure::PROVIDER && r.role == Role::Compute)
        .unwrap()
        .clone();
    let plan = act(&sb, Verb::Rerun, &ecs.id, &[]).await.unwrap();
    assert!(plan.summary.starts_with("restart: start a new deployment of"), "{}", plan.summary);
    assert_eq!(plan.action(), "restart");
    let after = sb.snapshot().resources.into_iter().find(|r| r.id == ecs.id).unwrap();
    assert!(after.details.iter().any(|(k, _)| k == "restarted"), "{:?}", after.details);
    let err = act(&sb, Verb::Rerun, &web.id, &[]).await.unwrap_err();
    assert!(err.to_string().contains("only ECS services and Kubernetes workloads restart here"), "{err}");
}
