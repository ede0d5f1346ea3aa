//! The GitHub adapter against a loopback server replaying GitHub's own examples
//! (`../shared/fixtures/github`), plus hand-written payloads for endpoints without one
//! (`tests/fixtures/github`, see its README).

use std::sync::Arc;

use serde_json::json;
use skydeck::actions::{ActionRequest, Pipeline, Verb};
use skydeck::config::Config;
use skydeck::model::{Conclusion, DeploymentState, RunStatus, Severity, Tier};
use skydeck::providers::github::{GithubProvider, HostSettings};
use skydeck::providers::{BuildContext, Provider, ProviderError};
use skydeck::store::{AuditPhase, Store};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "support/github.rs"]
mod github_fixtures;

use github_fixtures::*;

struct Setup {
    server: MockServer,
    provider: GithubProvider,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

async fn setup_at(base: &str, config: Config, deploy_workflow: Option<&str>) -> Setup {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_in(dir.path()).unwrap());
    let settings = HostSettings {
        api_url: format!("{}{base}", server.uri()),
        repos: vec![REPO.to_string()],
        token_env: None,
        max_runs: 100,
        deploy_workflow: deploy_workflow.map(str::to_string),
        deploy_ref_input: None,
    };
    let ctx = BuildContext { config: &config, store: store.clone() };
    let provider = GithubProvider::connect(settings, "ghp_test_token_never_shown", "test", &ctx).unwrap();
    Setup { server, provider, store, _dir: dir }
}

impl Setup {
    /// ids carry the host when it is not github.com (here: the loopback server).
    fn id(&self, rest: &str) -> String {
        format!("{}/{rest}", self.server.uri().trim_start_matches("http://"))
    }
}

async fn setup() -> Setup {
    setup_at("", Config::default(), None).await
}

#[tokio::test]
async fn every_shown_field_comes_from_the_payloads() {
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let snap = s.provider.fetch().await.unwrap();

    let run = &snap.runs[0];
    assert_eq!(run.id, s.id("octo-org/octo-repo/actions/runs/30433642"));
    assert_eq!(run.run_id, 30433642);
    assert_eq!(run.workflow, "Build");
    assert_eq!(run.title, "Update README.md");
    assert_eq!(run.branch, "master");
    assert_eq!(run.sha, "acb5820ced9479c074f688cc328bf03f341a511d");
    assert_eq!(run.event, "push");
    assert_eq!(run.actor, "octocat");
    assert_eq!(run.attempt, 1);
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.conclusion, None);
    assert_eq!(run.url, "https://github.com/octo-org/octo-repo/actions/runs/30433642");
    assert_eq!(run.created_at.to_rfc3339(), "2020-01-22T19:33:08+00:00");
    assert_eq!(run.started_at.unwrap().to_rfc3339(), "2020-01-22T19:33:08+00:00");

    // Jobs and steps with their timings (offsets normalised to UTC).
    assert_eq!(run.jobs.len(), 2);
    let build = &run.jobs[0];
    assert_eq!(build.id, s.id("octo-org/octo-repo/actions/jobs/399444496"));
    assert_eq!(
        (build.name.as_str(), build.status, build.conclusion),
        ("build", RunStatus::Completed, Some(Conclusion::Success))
    );
    assert_eq!(build.steps[1].name, "Run tests");
    assert_eq!(build.steps[1].conclusion, Some(Conclusion::Failure));
    assert_eq!(build.steps[1].started_at.unwrap().to_rfc3339(), "2020-01-20T17:42:41+00:00");
    assert_eq!(run.jobs[1].status, RunStatus::Queued);

    // Environments with their protection rules.
    let staging = snap.environments.iter().find(|e| e.name == "staging").unwrap();
    assert_eq!(staging.tier, Tier::Staging);
    assert!(staging.protection_rules.contains(&"wait timer 30m".to_string()), "{:?}", staging.protection_rules);
    assert!(
        staging.protection_rules.iter().any(|r| r == "required reviewers: octocat, team justice-league"),
        "{:?}",
        staging.protection_rules
    );
    assert!(staging.protection_rules.contains(&"deployment branch policy".to_string()));

    // What runs in production, since when, by whom, from which run.
    let d = &snap.deployments[0];
    assert_eq!(d.id, s.id("octo-org/octo-repo/deployments/1"));
    assert_eq!(d.environment, "production");
    assert_eq!(d.sha, "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d");
    assert_eq!(d.git_ref, "topic-branch");
    assert_eq!(d.creator, "octocat");
    assert_eq!(d.description, "Deploy request from hubot");
    assert_eq!(d.state, DeploymentState::Success);
    assert_eq!(d.created_at.to_rfc3339(), "2012-07-20T01:19:13+00:00");
    assert_eq!(d.run_id, Some(s.id("octo-org/octo-repo/actions/runs/30433641")));

    // The rate limit shows in the status bar.
    assert!(snap.source_note.as_deref().unwrap_or("").starts_with("rate 4999/5000"), "{:?}", snap.source_note);
}

#[tokio::test]
async fn a_waiting_run_becomes_an_approval_with_reviewers() {
    let s = setup().await;
    mount_repo(&s.server, "", waiting_runs()).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.runs[0].status, RunStatus::Waiting);
    let a = &snap.approvals[0];
    assert_eq!(a.id, s.id("octo-org/octo-repo/actions/runs/30433642/pending/production"));
    assert_eq!(a.run, s.id("octo-org/octo-repo/actions/runs/30433642"));
    assert_eq!(a.environment, "production");
    assert_eq!(a.reviewers, ["octocat", "team justice-league"]);
    assert_eq!(a.wait_timer_minutes, 30);
    assert!(a.can_approve);
    assert_eq!(a.requested_at.to_rfc3339(), "2020-11-23T22:00:40+00:00");
}

#[tokio::test]
async fn approving_sends_githubs_exact_body_and_is_audited() {
    let s = setup().await;
    mount_repo(&s.server, "", waiting_runs()).await;
    let expected = shared("review-pending-deployments-for-run.request.json");
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .and(body_json(&expected))
        .respond_with(json_body(&shared("review-pending-deployments-for-run.200.json")))
        .expect(1)
        .mount(&s.server)
        .await;
    // After the review GitHub no longer lists the environment as pending.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/pending_deployments")))
        .respond_with(json_body(&json!([])))
        .mount(&s.server)
        .await;
    let snap = s.provider.fetch().await.unwrap();
    let mut req = ActionRequest::new(Verb::Approve, "30433642");
    req.reason = Some(expected["comment"].as_str().unwrap().to_string());
    let plan = s.provider.plan(&req, &snap).unwrap();
    assert_eq!(plan.tier, Tier::Prod);
    assert_eq!(plan.target_name, "production");
    assert!(plan.calls[0].call.contains("/pending_deployments"), "{}", plan.calls[0].call);
    let pipeline = Pipeline::new(s.store.clone(), false, "maria");
    let outcome = pipeline.act(&s.provider, plan).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let audit = s.store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Finished]);
    assert_eq!(audit[0].reason.as_deref(), Some("Ship it!"));
    assert_eq!(audit[0].user, "maria");
    for e in &audit {
        assert!(!e.detail.contains("ghp_"), "no token in the audit log");
    }
}

#[tokio::test]
async fn rerun_cancel_and_dispatch_send_the_documented_requests() {
    let s = setup_at("", Config::default(), None).await;
    let mut runs = shared("list-workflow-runs-for-repo.200.json");
    runs["workflow_runs"][0]["status"] = json!("completed");
    runs["workflow_runs"][0]["conclusion"] = json!("failure");
    mount_repo(&s.server, "", runs.clone()).await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642/rerun-failed-jobs")))
        .respond_with(ResponseTemplate::new(201).set_body_raw("{}", "application/json"))
        .expect(1)
        .mount(&s.server)
        .await;
    let mut again = runs["workflow_runs"][0].clone();
    again["status"] = json!("queued");
    again["run_attempt"] = json!(2);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/30433642")))
        .respond_with(json_body(&again))
        .mount(&s.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/workflows/build.yml/dispatches")))
        .and(body_json(json!({"ref": "release", "inputs": {"version": "1.2.3"}})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s.server)
        .await;

    let snap = s.provider.fetch().await.unwrap();
    let id = snap.runs[0].id.clone();
    let mut rerun = ActionRequest::new(Verb::Rerun, &id);
    rerun.params.insert("failed".into(), "true".into());
    let plan = s.provider.plan(&rerun, &snap).unwrap();
    s.provider.execute(&plan).await.unwrap();
    assert!(s.provider.verify(&plan).await.unwrap().contains("attempt 2"));
    let requests = s.server.received_requests().await.unwrap();
    let posted = requests.iter().find(|r| r.url.path().ends_with("/rerun-failed-jobs")).unwrap();
    assert!(posted.body.is_empty(), "re-run sends no body (GitHub's example is null)");

    // A finished run cannot be cancelled: refused before anything is sent.
    assert!(s.provider.plan(&ActionRequest::new(Verb::Cancel, &id), &snap).is_err());

    let mut dispatch = ActionRequest::new(Verb::Dispatch, &id);
    dispatch.params.insert("ref".into(), "release".into());
    dispatch.params.insert("input.version".into(), "1.2.3".into());
    let plan = s.provider.plan(&dispatch, &snap).unwrap();
    assert!(plan.calls[0].call.contains("/actions/workflows/build.yml/dispatches"));
    s.provider.execute(&plan).await.unwrap();
}

#[tokio::test]
async fn rollback_redeploys_the_previous_good_sha() {
    let s = setup_at("", Config::default(), Some("deploy.yml")).await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let mut snap = s.provider.fetch().await.unwrap();
    // A second, newer deployment to production makes the fixture's the previous good one.
    let mut newer = snap.deployments[0].clone();
    newer.id = s.id("octo-org/octo-repo/deployments/2");
    newer.sha = "ffffffffffffffffffffffffffffffffffffffff".into();
    newer.created_at += chrono::Duration::days(1);
    snap.deployments.push(newer);
    snap.deployments[0].state = DeploymentState::Inactive;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/workflows/deploy.yml/dispatches")))
        .and(body_json(json!({"ref": "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d", "inputs": {}})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s.server)
        .await;
    let plan =
        s.provider.plan(&ActionRequest::new(Verb::Rollback, s.id("octo-org/octo-repo/deployments/2")), &snap).unwrap();
    assert!(plan.summary.contains("back from fffffff to a84d88e"), "{}", plan.summary);
    s.provider.execute(&plan).await.unwrap();
}

#[tokio::test]
async fn pagination_follows_link_headers() {
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let mut page2 = shared("list-workflow-runs-for-repo.200.json");
    page2["workflow_runs"][0]["id"] = json!(30433643);
    page2["workflow_runs"][0]["status"] = json!("completed");
    let next = format!("<{}/repositories/1/actions/runs?per_page=100&page=2>; rel=\"next\"", s.server.uri());
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .and(query_param("per_page", "100"))
        .respond_with(json_body(&shared("list-workflow-runs-for-repo.200.json")).insert_header("link", next.as_str()))
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repositories/1/actions/runs"))
        .and(query_param("page", "2"))
        .respond_with(json_body(&page2))
        .mount(&s.server)
        .await;
    let snap = s.provider.fetch().await.unwrap();
    let ids: Vec<u64> = snap.runs.iter().map(|r| r.run_id).collect();
    assert!(ids.contains(&30433642) && ids.contains(&30433643), "{ids:?}");
}

#[tokio::test]
async fn unchanged_polls_are_answered_304_from_the_etag_cache() {
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .and(header("if-none-match", "\"runs-v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .respond_with(json_body(&shared("list-workflow-runs-for-repo.200.json")).insert_header("etag", "\"runs-v1\""))
        .with_priority(2)
        .mount(&s.server)
        .await;
    let first = s.provider.fetch().await.unwrap();
    let before = s.provider.client().counters();
    let second = s.provider.fetch().await.unwrap();
    let after = s.provider.client().counters();
    assert_eq!(first.runs, second.runs, "304 serves the cached body");
    assert!(after.not_modified > before.not_modified, "{before:?} -> {after:?}");
    // The cache lives in the store, so it survives a restart.
    let key = format!("github:{}/repos/{REPO}/actions/runs?per_page=100", s.server.uri());
    assert_eq!(s.store.http_cache_get(&key).unwrap().unwrap().etag, "\"runs-v1\"");
}

#[tokio::test]
async fn a_rejected_token_says_how_to_log_in() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
            "application/json",
        ))
        .mount(&s.server)
        .await;
    match s.provider.fetch().await.unwrap_err() {
        ProviderError::Auth { message, fix } => {
            assert!(message.contains("Bad credentials"), "{message}");
            assert!(fix.contains("skydeck auth login github"), "{fix}");
            assert!(!message.contains("ghp_") && !fix.contains("ghp_"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rate_limited_answers_give_the_reset_time() {
    let s = setup().await;
    let reset = chrono::Utc::now().timestamp() + 120;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_raw(r#"{"message":"API rate limit exceeded for user ID 1."}"#, "application/json"),
        )
        .mount(&s.server)
        .await;
    match s.provider.fetch().await.unwrap_err() {
        ProviderError::RateLimited { retry_after: Some(d) } => assert!((100..=121).contains(&d.as_secs()), "{d:?}"),
        other => panic!("{other:?}"),
    }
    // Polling waits for the reset instead of hammering.
    assert!(s.provider.refresh_interval().as_secs() >= 100);
}

#[tokio::test]
async fn secondary_limits_honour_retry_after() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "42")
                .set_body_raw(r#"{"message":"You have exceeded a secondary rate limit."}"#, "application/json"),
        )
        .mount(&s.server)
        .await;
    assert_eq!(
        s.provider.fetch().await.unwrap_err(),
        ProviderError::RateLimited { retry_after: Some(std::time::Duration::from_secs(42)) }
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.runs.len(), 1);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_not_a_panic() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"workflow_runs\": [", "application/json"))
        .mount(&s.server)
        .await;
    match s.provider.fetch().await.unwrap_err() {
        ProviderError::Payload(m) => assert!(m.contains("/actions/runs") && m.contains("malformed JSON"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn enterprise_server_base_path_and_host_prefixed_ids() {
    let s = setup_at("/api/v3", Config::default(), None).await;
    mount_repo(&s.server, "/api/v3", shared("list-workflow-runs-for-repo.200.json")).await;
    let snap = s.provider.fetch().await.unwrap();
    let host = s.server.uri().trim_start_matches("http://").to_string();
    assert_eq!(snap.runs[0].id, format!("{host}/octo-org/octo-repo/actions/runs/30433642"));
    assert_eq!(s.provider.name(), format!("github:{host}"));
    let requests = s.server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path().starts_with("/api/v3/")), "every request under /api/v3");
    assert!(
        requests.iter().all(|r| {
            r.headers.get("authorization").is_some_and(|v| v.to_str().unwrap().contains("ghp_test_token"))
        })
    );
}

#[tokio::test]
async fn job_logs_load_into_the_viewer_with_severity() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/jobs/399444496/logs")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(local("job.log"), "text/plain"))
        .mount(&s.server)
        .await;
    let lines = s.provider.fetch_log(&s.id("octo-org/octo-repo/actions/jobs/399444496")).await.unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0].at.to_rfc3339(), "2020-01-20T17:42:40.123456700+00:00");
    assert_eq!(lines[4].severity, Severity::Error);
    assert!(lines[3].text.contains("FAILED"));
}

#[tokio::test]
async fn configured_environment_names_are_kept() {
    let config =
        skydeck::config::parse("[[environments]]\nname = \"prod\"\ntier = \"prod\"\n", "t.toml").unwrap().config;
    let s = setup_at("", config, None).await;
    mount_repo(&s.server, "", waiting_runs()).await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.approvals[0].environment, "prod", "GitHub's 'production' is the config's 'prod'");
    assert_eq!(snap.deployments[0].environment, "prod");
}

const WORKFLOW_YAML: &str = r"
name: Deploy
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      environment:
        description: Where to deploy
        required: true
        type: choice
        options: [staging, production]
      version:
        description: Image tag
        required: true
      dry_run:
        description: Only print
        type: boolean
        default: false
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps: [{run: echo}]
";

#[test]
fn dispatch_inputs_come_from_the_workflow_file() {
    let specs = skydeck::providers::github::dispatch_inputs(WORKFLOW_YAML).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["environment", "version", "dry_run"]);
    assert_eq!(specs[0].options, ["staging", "production"]);
    assert!(specs[0].required && specs[1].required && !specs[2].required);
    assert_eq!(specs[2].default.as_deref(), Some("false"));
    assert_eq!(specs[2].kind, "boolean");
    assert!(skydeck::providers::github::dispatch_inputs("on: push\n").unwrap().is_empty());
}

#[tokio::test]
async fn the_dispatch_form_reads_the_workflow_at_the_runs_branch() {
    use base64::Engine;
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(WORKFLOW_YAML);
    // GitHub wraps base64 content at 60 columns.
    let wrapped: String =
        encoded.as_bytes().chunks(60).map(|c| format!("{}\n", std::str::from_utf8(c).unwrap())).collect();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/contents/.github/workflows/build.yml")))
        .and(query_param("ref", "master"))
        .respond_with(json_body(&json!({"type": "file", "encoding": "base64", "content": wrapped})))
        .mount(&s.server)
        .await;
    let snap = s.provider.fetch().await.unwrap();
    let mut req = ActionRequest::new(Verb::Dispatch, &snap.runs[0].id);
    let specs = s.provider.action_inputs(&req).await.unwrap();
    assert_eq!(specs.len(), 3);
    let err = skydeck::actions::apply_input_defaults(&mut req, &specs).unwrap_err().to_string();
    assert!(err.contains("input.environment") && err.contains("input.version"), "{err}");
    req.params.insert("input.environment".into(), "production".into());
    req.params.insert("input.version".into(), "1.4.0".into());
    skydeck::actions::apply_input_defaults(&mut req, &specs).unwrap();
    assert_eq!(req.params["input.dry_run"], "false");
    let plan = s.provider.plan(&req, &snap).unwrap();
    assert!(
        plan.calls[0].call.contains(r#""inputs":{"dry_run":"false","environment":"production","version":"1.4.0"}"#),
        "{}",
        plan.calls[0].call
    );
}

#[test]
fn job_environments_are_read_and_filled_from_the_inputs() {
    use skydeck::providers::github::{job_environments, resolve_job_environment};
    let yaml = "on: workflow_dispatch\njobs:\n  a: {environment: production}\n  b:\n    environment:\n      name: ${{ github.event.inputs.target || 'staging' }}\n  c: {runs-on: x}\n";
    assert_eq!(job_environments(yaml), ["production", "${{ github.event.inputs.target || 'staging' }}"]);
    let mut req = ActionRequest::new(Verb::Dispatch, "r");
    assert_eq!(resolve_job_environment("${{ inputs.environment }}", &req), None, "unknown, not guessed");
    assert_eq!(resolve_job_environment(&job_environments(yaml)[1], &req).as_deref(), Some("staging"));
    req.params.insert("input.target".into(), "prod-eu".into());
    assert_eq!(resolve_job_environment(&job_environments(yaml)[1], &req).as_deref(), Some("prod-eu"));
    req.params.insert("input.region".into(), "eu".into());
    assert_eq!(resolve_job_environment("prod-${{ inputs.region }}", &req).as_deref(), Some("prod-eu"));
}

#[tokio::test]
async fn a_workflow_whose_job_deploys_to_production_is_a_production_dispatch() {
    use base64::Engine;
    use skydeck::actions::Confirmation;
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    // No input names the environment; the job's GitHub environment does.
    let yaml = "on:\n  workflow_dispatch:\njobs:\n  release:\n    environment: production\n    runs-on: x\n";
    let content = base64::engine::general_purpose::STANDARD.encode(yaml);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/contents/.github/workflows/build.yml")))
        .respond_with(json_body(&json!({"type": "file", "encoding": "base64", "content": content})))
        .mount(&s.server)
        .await;
    let snap = s.provider.fetch().await.unwrap();
    let req = ActionRequest::new(Verb::Dispatch, &snap.runs[0].id);
    assert_eq!(s.provider.plan(&req, &snap).unwrap().confirmation(), Confirmation::YesNo, "not known yet");
    assert!(s.provider.action_inputs(&req).await.unwrap().is_empty());
    let plan = s.provider.plan(&req, &snap).unwrap();
    assert_eq!((plan.tier, plan.environment.as_str()), (Tier::Prod, "production"));
    assert_eq!(plan.confirmation(), Confirmation::TypeName("production".into()));
}

/// Security alerts from GitHub's documented examples (`tests/fixtures/github/security`): each
/// kind mapped, only open alerts kept (the Dependabot example also holds a dismissed one), the
/// leaked secret itself never kept; a kind that answers 403 is a note.
#[tokio::test]
async fn open_security_alerts_are_read_and_the_secret_is_never_kept() {
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    let fixture =
        |name: &str| ResponseTemplate::new(200).set_body_raw(local(&format!("security/{name}")), "application/json");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/dependabot/alerts")))
        .and(query_param("state", "open"))
        .respond_with(fixture("dependabot-alerts.json"))
        .mount(&s.server)
        .await;
    // The secret scanning example's one alert is resolved: served as open, so that it is read.
    let mut leaks: serde_json::Value = serde_json::from_str(&local("security/secret-scanning-alerts.json")).unwrap();
    leaks[0]["state"] = serde_json::json!("open");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/secret-scanning/alerts")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(leaks))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/code-scanning/alerts")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(r#"{"message":"Resource not accessible by integration"}"#, "application/json"),
        )
        .mount(&s.server)
        .await;
    let snap = s.provider.fetch().await.unwrap();
    assert_eq!(snap.alerts.len(), 2, "{:?}", snap.alerts);
    let dep = snap.alerts.iter().find(|a| a.source == "Dependabot").unwrap();
    assert_eq!(dep.kind, skydeck::model::AlertKind::Security);
    assert_eq!(dep.severity, skydeck::model::AlertSeverity::Warning, "medium");
    assert_eq!(dep.name, "ansible: Insertion of Sensitive Information into Log File in ansible (warning)");
    assert_eq!(dep.resource, format!("{REPO} · path/to/requirements.txt"));
    assert_eq!(dep.link.as_deref(), Some("https://github.com/octocat/hello-world/security/dependabot/1"));
    assert_eq!(dep.since.map(|t| t.to_rfc3339()).as_deref(), Some("2022-06-14T15:21:52+00:00"));
    assert!(!snap.alerts.iter().any(|a| a.name.starts_with("django")), "the dismissed alert is not open");
    let leak = snap.alerts.iter().find(|a| a.source == "secret scanning").unwrap();
    assert_eq!(leak.name, "leaked Adafruit IO Key");
    assert_eq!(leak.severity, skydeck::model::AlertSeverity::Critical);
    assert_eq!(leak.resource, format!("{REPO} · /example/secrets.txt:1"));
    let json = serde_json::to_string(&snap).unwrap();
    assert!(!json.contains("aio_XXXX"), "the leaked secret reached the snapshot");
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("code scanning alerts: not readable with this token (403)"), "{note}");
    assert!(s.provider.fetch().await.is_ok(), "a refused kind does not fail the source");
}

/// Code scanning as GitHub documents it, on its own.
#[tokio::test]
async fn code_scanning_alerts_map_rule_tool_and_location() {
    let s = setup().await;
    mount_repo(&s.server, "", shared("list-workflow-runs-for-repo.200.json")).await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/code-scanning/alerts")))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(local("security/code-scanning-alerts.json"), "application/json"),
        )
        .mount(&s.server)
        .await;
    let snap = s.provider.fetch().await.unwrap();
    let a = snap.alerts.iter().find(|a| a.source == "code scanning").unwrap();
    assert_eq!(a.name, "Arbitrary file write during zip extraction (CodeQL)");
    assert_eq!(a.severity, skydeck::model::AlertSeverity::Error);
    assert_eq!(a.resource, format!("{REPO} · spec-main/api-session-spec.ts:917"));
    assert!(a.id.ends_with(&format!("{REPO}:code-scanning:4")), "{}", a.id);
    // Dependabot and secret scanning answer 404 here: notes, not failures.
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("Dependabot alerts: off or not visible (404)"), "{note}");
}
