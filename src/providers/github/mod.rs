//! GitHub Actions through octocrab: runs, jobs and steps, job logs, environments and their
//! protection rules, deployments and their statuses, pending deployments (approvals), and the
//! rate limit. One provider per host (github.com and Enterprise servers side by side), each
//! with its own token.

mod identity;
pub use identity::{GITHUB_NO_ACK, GITHUB_NO_SILENCE, PROVIDER};
pub mod auth;
pub mod client;
pub mod config;
mod payload;
mod security;

use crate::actions::not_applicable;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use serde_json::json;

use self::client::GithubClient;
use self::payload::{
    DeploymentPayload, DeploymentStatusPayload, EnvironmentsPage, JobPayload, PendingDeployment, RateLimitPayload,
    Reviewer, RunPayload,
};
use super::{BoxFuture, BuildContext, BuildError, Capabilities, Provider, ProviderError, Source};
use crate::actions::{ActionError, ActionRequest, Plan, PlannedCall, Risk, TargetKind, Verb};
use crate::model::{
    Approval, Conclusion, Deployment, DeploymentState, Environment, Job, LogLine, Run, RunStatus, Severity, Snapshot,
    Step, Tier,
};
use config::GithubConfig;

/// How many of the newest runs per repository get their jobs fetched on every poll.
const JOBS_FOR_NEWEST: usize = 10;

/// One GitHub host as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSettings {
    pub api_url: String,
    pub repos: Vec<String>,
    pub token_env: Option<String>,
    pub max_runs: usize,
    pub deploy_workflow: Option<String>,
    pub deploy_ref_input: Option<String>,
}

/// `[github]` and each `[[github.hosts]]` as a list of hosts.
pub fn hosts(section: &GithubConfig) -> Vec<HostSettings> {
    let mut out = Vec::new();
    if !section.repos.is_empty() || section.hosts.is_empty() {
        out.push(HostSettings {
            api_url: section.api_url.clone().unwrap_or_else(|| "https://api.github.com".into()),
            repos: section.repos.clone(),
            token_env: section.token_env.clone(),
            max_runs: section.max_runs,
            deploy_workflow: section.deploy_workflow.clone(),
            deploy_ref_input: section.deploy_ref_input.clone(),
        });
    }
    for h in &section.hosts {
        out.push(HostSettings {
            api_url: h.api_url.clone().unwrap_or_else(|| "https://api.github.com".into()),
            repos: h.repos.clone(),
            token_env: h.token_env.clone(),
            max_runs: h.max_runs.unwrap_or(section.max_runs),
            deploy_workflow: h.deploy_workflow.clone().or(section.deploy_workflow.clone()),
            deploy_ref_input: h.deploy_ref_input.clone().or(section.deploy_ref_input.clone()),
        });
    }
    out
}

/// The registry's entry: builds from the `[github]` section, `None` without one.
pub async fn from_config(ctx: &BuildContext<'_>) -> Option<Result<Vec<Arc<dyn Provider>>, BuildError>> {
    let section = match super::section_of::<config::GithubConfig>(ctx)? {
        Ok(section) => section,
        Err(why) => return Some(Err(why)),
    };
    Some(build(&section, ctx).await)
}

pub async fn build(section: &GithubConfig, ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let mut out: Vec<Arc<dyn Provider>> = Vec::new();
    let mut errors = Vec::new();
    let all = hosts(section);
    let many = all.len() > 1;
    for h in all {
        let host = client::host_of(&h.api_url);
        if h.repos.is_empty() {
            errors.push(BuildError::Config(format!("{host}: no repositories listed (repos = [\"owner/name\"])")));
            continue;
        }
        match auth::resolve(&host, h.token_env.as_deref()) {
            Ok(token) => {
                let client = GithubClient::new(&h.api_url, &token.value, ctx.store.clone())?
                    .with_request_timeout(super::net::request_timeout(ctx.config));
                let name = if many || host != "github.com" { format!("github:{host}") } else { "github".to_string() };
                out.push(Arc::new(GithubProvider::new(name, client, h, token.source, ctx)));
            }
            Err(e) => errors.push(e.into()),
        }
    }
    if out.is_empty() && !errors.is_empty() {
        return Err(BuildError::Each(errors));
    }
    for e in errors {
        tracing::warn!("github: {e}");
    }
    Ok(out)
}

#[derive(Debug, Clone)]
struct RunMeta {
    repo: String,
    run_id: u64,
    workflow_id: u64,
    workflow_path: String,
    branch: String,
}

#[derive(Debug, Clone)]
struct ApprovalMeta {
    repo: String,
    run_id: u64,
    environment_id: u64,
    environment: String,
}

#[derive(Default)]
struct Meta {
    runs: HashMap<String, RunMeta>,
    approvals: HashMap<String, ApprovalMeta>,
    /// The `environment:` of each job of a run's workflow file, as written (expressions
    /// included), read with its dispatch inputs.
    job_environments: HashMap<String, Vec<String>>,
}

pub struct GithubProvider {
    name: String,
    client: GithubClient,
    settings: HostSettings,
    pub token_source: String,
    /// Configured environment names, so GitHub's names map onto the user's spelling.
    environments: Vec<(String, Tier)>,
    meta: Mutex<Meta>,
}

fn run_status(s: Option<&str>) -> RunStatus {
    match s {
        Some("completed") => RunStatus::Completed,
        Some("in_progress") => RunStatus::InProgress,
        Some("waiting") => RunStatus::Waiting,
        _ => RunStatus::Queued,
    }
}

fn conclusion(s: Option<&str>) -> Option<Conclusion> {
    Some(match s? {
        "success" => Conclusion::Success,
        "failure" | "startup_failure" => Conclusion::Failure,
        "cancelled" => Conclusion::Cancelled,
        "skipped" | "stale" => Conclusion::Skipped,
        "timed_out" => Conclusion::TimedOut,
        "action_required" => Conclusion::ActionRequired,
        _ => Conclusion::Neutral,
    })
}

fn deployment_state(s: &str) -> DeploymentState {
    match s {
        "success" => DeploymentState::Success,
        "failure" => DeploymentState::Failure,
        "error" => DeploymentState::Error,
        "inactive" => DeploymentState::Inactive,
        "queued" => DeploymentState::Queued,
        "in_progress" => DeploymentState::InProgress,
        _ => DeploymentState::Pending,
    }
}

/// `https://github.com/o/r/actions/runs/123/job/456` -> 123.
fn run_number_in(url: &str) -> Option<u64> {
    let after = url.split("/actions/runs/").nth(1)?;
    after.split(['/', '?']).next()?.parse().ok()
}

/// Parses GitHub job log lines: `2024-01-01T00:00:00.1234567Z text`.
pub fn parse_job_log(text: &str, source: &str) -> Vec<LogLine> {
    let mut last = Utc::now();
    text.lines()
        .map(|line| {
            let line = line.trim_start_matches('\u{feff}');
            let (at, rest) = match line.split_once(' ') {
                Some((ts, rest)) => match chrono::DateTime::parse_from_rfc3339(ts) {
                    Ok(t) => (t.with_timezone(&Utc), rest),
                    Err(_) => (last, line),
                },
                None => (last, line),
            };
            last = at;
            let severity = if rest.starts_with("##[error]") {
                Severity::Error
            } else if rest.starts_with("##[warning]") {
                Severity::Warn
            } else if rest.starts_with("##[debug]") {
                Severity::Debug
            } else {
                Severity::Info
            };
            LogLine { at, source: source.to_string(), severity, text: rest.to_string() }
        })
        .collect()
}

impl GithubProvider {
    /// A provider for one host with a token already in hand (tests, `auth status`).
    pub fn connect(
        settings: HostSettings,
        token: &str,
        token_source: &str,
        ctx: &BuildContext<'_>,
    ) -> Result<Self, BuildError> {
        let host = client::host_of(&settings.api_url);
        let client = GithubClient::new(&settings.api_url, token, ctx.store.clone())?
            .with_request_timeout(super::net::request_timeout(ctx.config));
        let name = if host == "github.com" { "github".to_string() } else { format!("github:{host}") };
        Ok(GithubProvider::new(name, client, settings, token_source.to_string(), ctx))
    }

    fn new(
        name: String,
        client: GithubClient,
        settings: HostSettings,
        token_source: String,
        ctx: &BuildContext<'_>,
    ) -> Self {
        let environments =
            ctx.config.environments.iter().map(|e| (e.name.clone(), ctx.config.tier_of(&e.name))).collect();
        GithubProvider { name, client, settings, token_source, environments, meta: Mutex::new(Meta::default()) }
    }

    pub fn client(&self) -> &GithubClient {
        &self.client
    }

    fn prefix(&self) -> String {
        if self.client.host == "github.com" { String::new() } else { format!("{}/", self.client.host) }
    }

    fn run_id(&self, repo: &str, id: u64) -> String {
        format!("{}{repo}/actions/runs/{id}", self.prefix())
    }

    /// GitHub's environment name in the user's spelling (`prod` if the config says `prod`).
    fn env_name(&self, github_name: &str) -> String {
        let canonical = super::canonical_environment(github_name);
        self.environments
            .iter()
            .find(|(n, _)| super::canonical_environment(n) == canonical || n == github_name)
            .map_or_else(|| github_name.to_string(), |(n, _)| n.clone())
    }

    fn tier(&self, env: &str) -> Tier {
        self.environments.iter().find(|(n, _)| n == env).map_or_else(|| Tier::from_name(env), |(_, t)| *t)
    }

    /// The tier of an environment the config or GitHub knows by that name (any spelling).
    fn known_tier(&self, env: &str, snapshot: &Snapshot) -> Option<Tier> {
        let ours = self.env_name(env);
        self.environments
            .iter()
            .find(|(n, _)| *n == ours)
            .map(|(_, t)| *t)
            .or_else(|| crate::actions::tier_of_known(snapshot, &ours))
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn map_run(&self, repo: &str, r: &RunPayload, jobs: Vec<Job>) -> Run {
        let id = self.run_id(repo, r.id);
        self.meta().runs.insert(
            id.clone(),
            RunMeta {
                repo: repo.to_string(),
                run_id: r.id,
                workflow_id: r.workflow_id,
                workflow_path: r.path.clone().unwrap_or_default().split('@').next().unwrap_or_default().to_string(),
                branch: r.head_branch.clone().unwrap_or_default(),
            },
        );
        Run {
            id,
            run_id: r.id,
            repo: repo.to_string(),
            workflow: r.name.clone().unwrap_or_else(|| r.path.clone().unwrap_or_default()),
            title: r.display_title.clone().unwrap_or_default(),
            branch: r.head_branch.clone().unwrap_or_default(),
            sha: r.head_sha.clone(),
            event: r.event.clone(),
            actor: r.actor.as_ref().or(r.triggering_actor.as_ref()).map(|u| u.login.clone()).unwrap_or_default(),
            attempt: r.run_attempt.unwrap_or(1),
            status: run_status(r.status.as_deref()),
            conclusion: conclusion(r.conclusion.as_deref()),
            created_at: r.created_at,
            started_at: r.run_started_at,
            updated_at: r.updated_at,
            url: r.html_url.clone(),
            jobs,
        }
    }

    fn map_job(&self, repo: &str, j: &JobPayload) -> Job {
        Job {
            id: format!("{}{repo}/actions/jobs/{}", self.prefix(), j.id),
            name: j.name.clone(),
            status: run_status(Some(&j.status)),
            conclusion: conclusion(j.conclusion.as_deref()),
            started_at: j.started_at,
            completed_at: j.completed_at,
            steps: j
                .steps
                .iter()
                .map(|s| Step {
                    number: s.number,
                    name: s.name.clone(),
                    status: run_status(Some(&s.status)),
                    conclusion: conclusion(s.conclusion.as_deref()),
                    started_at: s.started_at,
                    completed_at: s.completed_at,
                })
                .collect(),
        }
    }

    async fn fetch_repo(&self, repo: &str) -> Result<Snapshot, ProviderError> {
        let c = &self.client;
        let per_page = self.settings.max_runs.clamp(1, 100);
        let runs_path = format!("/repos/{repo}/actions/runs?per_page={per_page}");
        let envs_path = format!("/repos/{repo}/environments");
        let deployments_path = format!("/repos/{repo}/deployments?per_page=50");
        let (runs, envs, deployments) = tokio::join!(
            c.get_paginated::<RunPayload>(&runs_path, Some("workflow_runs"), self.settings.max_runs),
            c.get_json::<EnvironmentsPage>(&envs_path),
            c.get_paginated::<DeploymentPayload>(&deployments_path, None, 100),
        );
        let runs = runs?;
        let mut snap = Snapshot::default();
        // Environments are optional (older GHES, no admin read): runs still show.
        match envs {
            Ok(page) => {
                for e in page.environments {
                    let mut rules = Vec::new();
                    for rule in &e.protection_rules {
                        match rule.kind.as_str() {
                            "required_reviewers" => {
                                let who: Vec<String> = rule.reviewers.iter().filter_map(Reviewer::label).collect();
                                let self_review =
                                    if rule.prevent_self_review == Some(true) { ", no self-review" } else { "" };
                                rules.push(format!("required reviewers: {}{self_review}", who.join(", ")));
                            }
                            "wait_timer" => rules.push(format!("wait timer {}m", rule.wait_timer.unwrap_or(0))),
                            "branch_policy" => rules.push("deployment branch policy".to_string()),
                            other => rules.push(other.replace('_', " ")),
                        }
                    }
                    let name = self.env_name(&e.name);
                    snap.environments.push(Environment { tier: self.tier(&name), name, protection_rules: rules });
                }
            }
            Err(e) => tracing::warn!("{repo} environments: {e}"),
        }

        // Jobs for live runs and the newest few; pending deployments for waiting runs.
        let wanted: Vec<&RunPayload> = runs
            .iter()
            .enumerate()
            .filter(|(i, r)| *i < JOBS_FOR_NEWEST || r.status.as_deref() != Some("completed"))
            .map(|(_, r)| r)
            .collect();
        let jobs = join_all(wanted.iter().map(|r| async move {
            let path = format!("/repos/{repo}/actions/runs/{}/jobs?per_page=100", r.id);
            (r.id, c.get_paginated::<JobPayload>(&path, Some("jobs"), 300).await)
        }))
        .await;
        let mut jobs_by_run: HashMap<u64, Vec<Job>> = HashMap::new();
        for (id, result) in jobs {
            match result {
                Ok(list) => {
                    jobs_by_run.insert(id, list.iter().map(|j| self.map_job(repo, j)).collect());
                }
                Err(e) => tracing::warn!("{repo} run {id} jobs: {e}"),
            }
        }
        let waiting: Vec<&RunPayload> = runs.iter().filter(|r| r.status.as_deref() == Some("waiting")).collect();
        let pending = join_all(waiting.iter().map(|r| async move {
            let path = format!("/repos/{repo}/actions/runs/{}/pending_deployments", r.id);
            (*r, c.get_json::<Vec<PendingDeployment>>(&path).await)
        }))
        .await;
        for (run, result) in pending {
            let list = match result {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!("{repo} run {} pending deployments: {e}", run.id);
                    continue;
                }
            };
            let run_id = self.run_id(repo, run.id);
            for p in list {
                let env = self.env_name(&p.environment.name);
                let id = format!("{run_id}/pending/{}", p.environment.name);
                self.meta().approvals.insert(
                    id.clone(),
                    ApprovalMeta {
                        repo: repo.to_string(),
                        run_id: run.id,
                        environment_id: p.environment.id,
                        environment: p.environment.name.clone(),
                    },
                );
                snap.approvals.push(Approval {
                    id,
                    run: run_id.clone(),
                    repo: repo.to_string(),
                    workflow: run.name.clone().unwrap_or_default(),
                    environment: env,
                    sha: run.head_sha.clone(),
                    reviewers: p.reviewers.iter().filter_map(Reviewer::label).collect(),
                    wait_timer_minutes: p.wait_timer,
                    requested_at: p.wait_timer_started_at.unwrap_or(run.updated_at),
                    can_approve: p.current_user_can_approve,
                });
            }
        }
        snap.runs = runs.iter().map(|r| self.map_run(repo, r, jobs_by_run.remove(&r.id).unwrap_or_default())).collect();

        // Deployments: the latest status of the newest few per environment says what is live.
        let deployments = deployments.unwrap_or_else(|e| {
            tracing::warn!("{repo} deployments: {e}");
            Vec::new()
        });
        let mut per_env: HashMap<&str, usize> = HashMap::new();
        let recent: Vec<&DeploymentPayload> = deployments
            .iter()
            .filter(|d| {
                let n = per_env.entry(d.environment.as_str()).or_default();
                *n += 1;
                *n <= 5
            })
            .collect();
        let statuses = join_all(recent.iter().map(|d| async move {
            let path = format!("/repos/{repo}/deployments/{}/statuses?per_page=1", d.id);
            (*d, c.get_paginated::<DeploymentStatusPayload>(&path, None, 1).await)
        }))
        .await;
        for (d, status) in statuses {
            let latest = status.ok().and_then(|s| s.into_iter().next());
            let run = latest
                .as_ref()
                .and_then(|s| s.log_url.as_deref().or(s.target_url.as_deref()))
                .and_then(run_number_in)
                .map(|n| self.run_id(repo, n));
            snap.deployments.push(Deployment {
                id: format!("{}{repo}/deployments/{}", self.prefix(), d.id),
                environment: self.env_name(&d.environment),
                repo: repo.to_string(),
                sha: d.sha.clone(),
                git_ref: d.git_ref.clone(),
                state: latest.as_ref().map_or(DeploymentState::Pending, |s| deployment_state(&s.state)),
                creator: d.creator.as_ref().map(|u| u.login.clone()).unwrap_or_default(),
                created_at: latest.as_ref().map_or(d.created_at, |s| s.created_at),
                run_id: run,
                description: d.description.clone().unwrap_or_default(),
            });
        }
        Ok(snap)
    }

    fn note(&self) -> Option<String> {
        self.client
            .rate_limit()
            .map(|r| format!("rate {}/{} · resets {}", r.remaining, r.limit, r.reset.format("%H:%M")))
    }

    fn api(&self) -> &str {
        &self.client.api_url
    }

    fn run_meta(&self, id: &str) -> Result<RunMeta, ActionError> {
        self.meta().runs.get(id).cloned().ok_or_else(|| ActionError::NotFound(id.to_string()))
    }

    /// The workflow a dispatch or rollback runs: its file name or id, as GitHub accepts both.
    fn dispatch_plan(
        &self,
        plan: &mut Plan,
        repo: &str,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Map<String, serde_json::Value>,
    ) {
        let body = json!({ "ref": git_ref, "inputs": inputs });
        plan.calls.push(PlannedCall {
            description: format!("dispatch {workflow} on {git_ref}"),
            call: format!("POST {}/repos/{repo}/actions/workflows/{workflow}/dispatches {body}", self.api()),
        });
        plan.set_payload(GithubCall::Dispatch {
            repo: repo.to_string(),
            workflow: workflow.to_string(),
            git_ref: git_ref.to_string(),
            body,
        });
    }
}

/// The exact GitHub call a plan makes (the plan's payload), read back by execute and verify.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
enum GithubCall {
    /// Approve or reject a pending deployment: `POST .../runs/{run_id}/pending_deployments`.
    Review { repo: String, run_id: u64, environment_id: u64, environment: String, body: serde_json::Value },
    /// `POST .../runs/{run_id}/{endpoint}` (`rerun`, `rerun-failed-jobs`, `cancel`); `attempt` is
    /// the run's attempt before, which verify expects to grow.
    Run { repo: String, run_id: u64, endpoint: String, attempt: u32 },
    /// `POST .../workflows/{workflow}/dispatches` (a dispatch, or a rollback by re-deploying).
    Dispatch { repo: String, workflow: String, git_ref: String, body: serde_json::Value },
}

/// A workflow file that is not YAML.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("workflow file: {0}")]
pub struct WorkflowFileError(String);

/// The `on.workflow_dispatch.inputs` of a workflow file.
pub fn dispatch_inputs(yaml: &str) -> Result<Vec<crate::actions::InputSpec>, WorkflowFileError> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(yaml).map_err(|e| WorkflowFileError(e.to_string()))?;
    let Some(doc) = docs.first() else { return Ok(Vec::new()) };
    let text = |y: &Yaml| match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let inputs = &doc["on"]["workflow_dispatch"]["inputs"];
    let Yaml::Hash(map) = inputs else { return Ok(Vec::new()) };
    Ok(map
        .iter()
        .filter_map(|(k, v)| {
            Some(crate::actions::InputSpec {
                name: text(k)?,
                description: text(&v["description"]).unwrap_or_default(),
                required: matches!(v["required"], Yaml::Boolean(true)),
                default: text(&v["default"]),
                options: v["options"].as_vec().map(|o| o.iter().filter_map(text).collect()).unwrap_or_default(),
                kind: text(&v["type"]).unwrap_or_else(|| "string".into()),
            })
        })
        .collect())
}

/// The `environment:` of every job of a workflow file (`environment: production` or
/// `environment: {name: ..., url: ...}`), as written, expressions included.
pub fn job_environments(yaml: &str) -> Vec<String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let Ok(docs) = YamlLoader::load_from_str(yaml) else { return Vec::new() };
    let Some(Yaml::Hash(jobs)) = docs.first().map(|d| d["jobs"].clone()) else { return Vec::new() };
    jobs.iter()
        .filter_map(|(_, job)| match &job["environment"] {
            Yaml::String(s) => Some(s.clone()),
            env => env["name"].as_str().map(str::to_string),
        })
        .collect()
}

/// A job's environment with `${{ inputs.NAME }}` (or `github.event.inputs.NAME`, with a
/// `|| 'fallback'`) filled from the dispatch's inputs; `None` when it cannot be told.
pub fn resolve_job_environment(raw: &str, request: &ActionRequest) -> Option<String> {
    let Some(start) = raw.find("${{") else { return Some(raw.trim().to_string()) };
    let end = start + raw[start..].find("}}")?;
    let expression = &raw[start + 3..end];
    let value = expression.split("||").map(str::trim).find_map(|alternative| {
        if let Some(quoted) = alternative.strip_prefix('\'').and_then(|a| a.strip_suffix('\'')) {
            return Some(quoted.to_string());
        }
        let name = alternative.strip_prefix("github.event.").unwrap_or(alternative).strip_prefix("inputs.")?;
        request.params.get(&format!("input.{name}")).filter(|v| !v.is_empty()).cloned()
    })?;
    let resolved = format!("{}{value}{}", &raw[..start], &raw[end + 2..]);
    (!resolved.contains("${{")).then(|| resolved.trim().to_string())
}

#[derive(serde::Deserialize)]
struct ContentPayload {
    content: String,
}

/// `input.NAME=value` params become `workflow_dispatch` inputs.
fn inputs_of(request: &ActionRequest) -> serde_json::Map<String, serde_json::Value> {
    request
        .params
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("input.").map(|name| (name.to_string(), serde_json::Value::String(v.clone())))
        })
        .collect()
}

fn failed(e: ProviderError) -> ActionError {
    ActionError::Failed(e.to_string())
}

impl Source for GithubProvider {
    fn name(&self) -> &str {
        &self.name
    }

    /// Polls slow down as the rate limit runs low, and wait for the reset when it is spent.
    fn refresh_interval(&self) -> Duration {
        let base = Duration::from_secs(30);
        match self.client.rate_limit() {
            Some(r) if r.remaining == 0 => (r.reset - Utc::now()).to_std().unwrap_or(base).max(base),
            Some(r) if r.limit > 0 && r.remaining * 50 < r.limit => base * 8,
            Some(r) if r.limit > 0 && r.remaining * 10 < r.limit => base * 3,
            _ => base,
        }
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async move {
            let (results, security) = tokio::join!(
                join_all(self.settings.repos.iter().map(|r| self.fetch_repo(r))),
                join_all(self.settings.repos.iter().map(|r| self.fetch_security(r))),
            );
            let mut snap = Snapshot::default();
            let mut errors = Vec::new();
            for (repo, r) in self.settings.repos.iter().zip(results) {
                match r {
                    Ok(s) => snap.extend(&s),
                    Err(e) => errors.push((repo.clone(), e)),
                }
            }
            if errors.len() == self.settings.repos.len()
                && let Some((_, e)) = errors.first()
            {
                return Err(e.clone());
            }
            // `/rate_limit` is free; ask it only when responses carried no rate headers.
            if self.client.rate_limit().is_none()
                && let Ok(r) = self.client.get_fresh::<RateLimitPayload>("/rate_limit").await
                && self.client.rate_limit().is_none()
            {
                let core = r.resources.core;
                self.client.set_rate_limit(client::RateLimit {
                    remaining: core.remaining,
                    limit: core.limit,
                    reset: chrono::DateTime::from_timestamp(core.reset, 0).unwrap_or_else(Utc::now),
                });
            }
            snap.runs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
            let mut note = self.note().unwrap_or_default();
            for (repo, e) in &errors {
                note.push_str(&format!(" · {repo}: {e}"));
            }
            for (alerts, notes) in security {
                snap.alerts.extend(alerts);
                for n in notes {
                    note.push_str(&format!(" · {n}"));
                }
            }
            snap.source_note = (!note.is_empty()).then_some(note);
            Ok(snap)
        })
    }

    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move {
            let path = target.strip_prefix(&self.prefix()).unwrap_or(target);
            let (repo, job) = path
                .split_once("/actions/jobs/")
                .ok_or_else(|| ProviderError::Unavailable(format!("{target} is not a job")))?;
            let text = self.client.get_text(&format!("/repos/{repo}/actions/jobs/{job}/logs")).await?;
            Ok(parse_job_log(&text, &format!("{repo} job {job}")))
        })
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            run_control: Some(self),
            traffic_shift: Some(self),
            refusals: &[(Verb::Ack, identity::GITHUB_NO_ACK), (Verb::Silence, identity::GITHUB_NO_SILENCE)],
            ..Capabilities::NONE
        }
    }
}

/// The actions, by verb; the capability handlers below hand every request here.
impl GithubProvider {
    fn inputs_for<'a>(
        &'a self,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<Vec<crate::actions::InputSpec>, ProviderError>> {
        Box::pin(async move {
            if request.verb != Verb::Dispatch {
                return Ok(Vec::new());
            }
            let Some(m) = self.meta().runs.get(&request.target).cloned() else {
                return Ok(Vec::new());
            };
            if m.workflow_path.is_empty() {
                return Ok(Vec::new());
            }
            let git_ref = request.params.get("ref").cloned().unwrap_or(m.branch.clone());
            let path = format!("/repos/{}/contents/{}?ref={git_ref}", m.repo, m.workflow_path);
            let file: ContentPayload = self.client.get_json(&path).await?;
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(file.content.replace(['\n', '\r'], ""))
                .map_err(|e| ProviderError::Payload(format!("{path}: {e}")))?;
            let yaml = String::from_utf8_lossy(&bytes);
            let specs = dispatch_inputs(&yaml).map_err(|e| ProviderError::Payload(e.to_string()))?;
            self.meta().job_environments.insert(request.target.clone(), job_environments(&yaml));
            Ok(specs)
        })
    }

    fn params_for(&self, verb: Verb) -> &'static [&'static str] {
        match verb {
            // Which of several pending environments a run's review is for.
            Verb::Approve | Verb::Reject => &["environment"],
            Verb::Rerun => &["failed"],
            Verb::Dispatch | Verb::Rollback => &["ref", crate::actions::WORKFLOW_INPUTS],
            _ => &[],
        }
    }

    fn plan_target(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, target) = Plan::for_target(request, &self.name, snapshot)?;
        plan.touch_destinations(snapshot, &target, &|env| self.known_tier(env, snapshot));
        let api = self.api().to_string();
        let verb = request.verb;
        match (target.kind, verb) {
            (TargetKind::Run, Verb::Approve | Verb::Reject) => {
                let approvals: Vec<_> = snapshot.approvals.iter().filter(|a| a.run == target.id).collect();
                let approval = match (approvals.len(), request.params.get("environment")) {
                    (0, _) => {
                        return Err(not_applicable(verb, &target.name, "the run is not waiting for a review"));
                    }
                    (_, Some(env)) => approvals.into_iter().find(|a| &a.environment == env).ok_or_else(|| {
                        ActionError::InvalidInput(format!("the run is not waiting for environment '{env}'"))
                    })?,
                    (1, None) => approvals[0],
                    (_, None) => {
                        let envs: Vec<_> = approvals.iter().map(|a| a.environment.as_str()).collect();
                        return Err(ActionError::MissingInput(format!(
                            "--param environment=NAME (waiting for: {})",
                            envs.join(", ")
                        )));
                    }
                };
                let mut req = request.clone();
                req.target = approval.id.clone();
                return self.plan_target(&req, snapshot);
            }
            (TargetKind::Approval, Verb::Approve | Verb::Reject) => {
                let a = snapshot
                    .approvals
                    .iter()
                    .find(|a| a.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                let m = self.meta().approvals.get(&a.id).cloned().ok_or_else(|| ActionError::NotFound(a.id.clone()))?;
                if !a.can_approve {
                    tracing::warn!("GitHub says the current user may not review {}", a.id);
                }
                let state = if verb == Verb::Approve { "approved" } else { "rejected" };
                let comment = request.reason.clone().unwrap_or_default();
                let body = json!({ "environment_ids": [m.environment_id], "state": state, "comment": comment });
                plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
                let rules = snapshot
                    .environments
                    .iter()
                    .find(|e| e.name == a.environment)
                    .map(|e| e.protection_rules.join("; "))
                    .unwrap_or_default();
                plan.summary = format!(
                    "{verb} the deployment of {} ({}) to {} requested by run {}. Reviewers: {}.{}{}",
                    a.repo,
                    &a.sha[..a.sha.len().min(7)],
                    a.environment,
                    m.run_id,
                    if a.reviewers.is_empty() {
                        "anyone with write access".to_string()
                    } else {
                        a.reviewers.join(", ")
                    },
                    if rules.is_empty() { String::new() } else { format!(" Protection: {rules}.") },
                    if a.can_approve {
                        String::new()
                    } else {
                        " (GitHub says you may not be a required reviewer)".into()
                    }
                );
                plan.calls.push(PlannedCall {
                    description: format!("review the pending deployment of run {} for {}", m.run_id, m.environment),
                    call: format!("POST {api}/repos/{}/actions/runs/{}/pending_deployments {body}", m.repo, m.run_id),
                });
                plan.verification =
                    format!("GET pending_deployments of run {}: {} no longer listed", m.run_id, m.environment);
                plan.set_payload(GithubCall::Review {
                    repo: m.repo.clone(),
                    run_id: m.run_id,
                    environment_id: m.environment_id,
                    environment: m.environment.clone(),
                    body,
                });
            }
            (TargetKind::Run, Verb::Rerun | Verb::Cancel | Verb::Dispatch) => {
                let run = snapshot
                    .runs
                    .iter()
                    .find(|r| r.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                let m = self.run_meta(&run.id)?;
                match verb {
                    Verb::Rerun if run.status != RunStatus::Completed => {
                        return Err(not_applicable(verb, &target.name, "the run has not finished; cancel it first"));
                    }
                    Verb::Cancel if run.status == RunStatus::Completed => {
                        return Err(not_applicable(verb, &target.name, "the run has already finished"));
                    }
                    _ => {}
                }
                if verb == Verb::Dispatch {
                    let git_ref = request.params.get("ref").cloned().unwrap_or_else(|| m.branch.clone());
                    let workflow = m
                        .workflow_path
                        .rsplit('/')
                        .next()
                        .map(str::to_string)
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| m.workflow_id.to_string());
                    plan.summary = format!("run workflow {} of {} on {git_ref} again", run.workflow, run.repo);
                    // The GitHub environment of the workflow's jobs is where the run deploys.
                    let jobs = self.meta().job_environments.get(&run.id).cloned().unwrap_or_default();
                    for raw in jobs {
                        if let Some(env) = resolve_job_environment(&raw, request) {
                            let name = self.env_name(&env);
                            if let Some(tier) =
                                crate::actions::environment_tier(&name, &|e| self.known_tier(e, snapshot))
                            {
                                plan.touch(
                                    &name,
                                    tier,
                                    format!("a job of the workflow deploys to environment '{raw}'"),
                                );
                            }
                        }
                    }
                    self.dispatch_plan(&mut plan, &m.repo, &workflow, &git_ref, &inputs_of(request));
                    plan.verification = "a new workflow_dispatch run of that workflow appears".into();
                } else {
                    let failed_only = request.params.get("failed").is_some_and(|v| v == "true");
                    let endpoint = match verb {
                        Verb::Rerun if failed_only => "rerun-failed-jobs",
                        Verb::Rerun => "rerun",
                        _ => "cancel",
                    };
                    plan.summary =
                        format!("{endpoint} {} #{} of {} ({})", run.workflow, m.run_id, run.repo, run.branch);
                    plan.calls.push(PlannedCall {
                        description: format!("{endpoint} workflow run {}", m.run_id),
                        call: format!("POST {api}/repos/{}/actions/runs/{}/{endpoint}", m.repo, m.run_id),
                    });
                    plan.verification = match verb {
                        Verb::Cancel => "GET the run: cancelled (or cancelling)".into(),
                        _ => format!("GET the run: attempt {} queued or running", run.attempt + 1),
                    };
                    plan.set_payload(GithubCall::Run {
                        repo: m.repo.clone(),
                        run_id: m.run_id,
                        endpoint: endpoint.to_string(),
                        attempt: run.attempt,
                    });
                }
            }
            (TargetKind::Deployment, Verb::Rollback) => {
                let d = snapshot
                    .deployments
                    .iter()
                    .find(|d| d.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                let Some(workflow) = self.settings.deploy_workflow.clone() else {
                    return Err(not_applicable(
                        verb,
                        &d.environment,
                        "set [github] deploy_workflow = \"deploy.yml\" to roll back by re-deploying",
                    ));
                };
                // The last successful deployment to this environment before the one rolled back.
                let previous = snapshot
                    .deployments
                    .iter()
                    .filter(|p| {
                        p.repo == d.repo
                            && p.environment == d.environment
                            && p.created_at < d.created_at
                            && p.sha != d.sha
                    })
                    .filter(|p| matches!(p.state, DeploymentState::Success | DeploymentState::Inactive))
                    .max_by_key(|p| p.created_at)
                    .ok_or_else(|| not_applicable(verb, &d.environment, "no earlier successful deployment is known"))?;
                let sha = previous.sha.clone();
                let (git_ref, inputs) = match &self.settings.deploy_ref_input {
                    Some(input) => {
                        let mut m = inputs_of(request);
                        m.insert(input.clone(), serde_json::Value::String(sha.clone()));
                        (request.params.get("ref").cloned().unwrap_or_else(|| previous.git_ref.clone()), m)
                    }
                    None => (sha.clone(), inputs_of(request)),
                };
                plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
                plan.target_name = d.environment.clone();
                plan.summary = format!(
                    "roll {} in {} back from {} to {} (deployed {} by {}) by re-running {workflow}",
                    d.repo,
                    d.environment,
                    &d.sha[..d.sha.len().min(7)],
                    &sha[..sha.len().min(7)],
                    previous.created_at.format("%Y-%m-%d %H:%M"),
                    previous.creator
                );
                self.dispatch_plan(&mut plan, &d.repo, &workflow, &git_ref, &inputs);
                plan.verification = "a new deploy run appears; follow it, then the environment's health".into();
            }
            (kind, verb) => {
                return Err(not_applicable(
                    verb,
                    &target.name,
                    format!("GitHub offers no '{verb}' for a {kind:?}").to_lowercase(),
                ));
            }
        }
        Ok(plan)
    }

    fn execute_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            match plan.payload::<GithubCall>()? {
                GithubCall::Review { repo, run_id, environment, body, .. } => {
                    let path = format!("/repos/{repo}/actions/runs/{run_id}/pending_deployments");
                    self.client.post(&path, Some(body)).await.map_err(failed)?;
                    Ok(format!(
                        "{} run {run_id} for {environment}",
                        if plan.request.verb == Verb::Approve { "approved" } else { "rejected" },
                    ))
                }
                GithubCall::Run { repo, run_id, endpoint, .. } => {
                    self.client
                        .post(&format!("/repos/{repo}/actions/runs/{run_id}/{endpoint}"), None)
                        .await
                        .map_err(failed)?;
                    Ok(format!("{endpoint} requested for run {run_id}"))
                }
                GithubCall::Dispatch { repo, workflow, git_ref, body } => {
                    self.client
                        .post(&format!("/repos/{repo}/actions/workflows/{workflow}/dispatches"), Some(body))
                        .await
                        .map_err(failed)?;
                    Ok(format!("dispatched {workflow} on {git_ref}"))
                }
            }
        })
    }

    fn verify_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            match plan.payload::<GithubCall>()? {
                GithubCall::Review { repo, run_id, environment_id, environment, .. } => {
                    let path = format!("/repos/{repo}/actions/runs/{run_id}/pending_deployments");
                    let pending: Vec<PendingDeployment> =
                        self.client.get_fresh(&path).await.map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
                    if pending.iter().any(|d| d.environment.id == *environment_id) {
                        return Err(ActionError::VerifyFailed(format!("run {run_id} still waits for {environment}")));
                    }
                    Ok(format!("run {run_id} no longer waits for {environment}"))
                }
                GithubCall::Run { repo, run_id, attempt, .. } => {
                    let path = format!("/repos/{repo}/actions/runs/{run_id}");
                    let run: RunPayload =
                        self.client.get_fresh(&path).await.map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
                    let status = run.status.as_deref().unwrap_or("unknown");
                    if plan.request.verb == Verb::Cancel {
                        return match (status, run.conclusion.as_deref()) {
                            ("completed", Some("cancelled")) => Ok("run is cancelled".into()),
                            ("completed", c) => Err(ActionError::VerifyFailed(format!(
                                "run finished as {} before the cancel",
                                c.unwrap_or("unknown")
                            ))),
                            _ => Ok(format!("cancel accepted; the run is {status} while its jobs stop")),
                        };
                    }
                    match run.run_attempt {
                        Some(a) if a > *attempt => Ok(format!("attempt {a} is {status}")),
                        _ if status != "completed" => Ok(format!("run is {status}")),
                        _ => Err(ActionError::VerifyFailed("the run has not started again yet".into())),
                    }
                }
                GithubCall::Dispatch { .. } => {
                    Ok("dispatch accepted (204); the new run shows on the next refresh".into())
                }
            }
        })
    }
}

/// Runs and reviews (approve, reject, re-run, cancel, dispatch) and promote/roll back through
/// deployment workflows: one router for both; `capabilities` offers only those two.
impl super::OneHandler for GithubProvider {
    fn accepted_params(&self, verb: Verb) -> &'static [&'static str] {
        self.params_for(verb)
    }
    fn action_inputs<'a>(
        &'a self,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<Vec<crate::actions::InputSpec>, ProviderError>> {
        self.inputs_for(request)
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_target(request, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.execute_call(plan)
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.verify_call(plan)
    }
}
