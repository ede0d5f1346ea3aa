//! The demo estate: a simulator behind the same [`Provider`] trait as the real adapters. It
//! keeps its own in-memory state, moves it forward with its clock (runs progress, probes tick,
//! logs stream) and performs actions on it. Deterministic given a seed and a clock.
//!
//! It never stands in for a real adapter in that adapter's tests.

pub mod estate;
pub mod teammate;

use crate::actions::not_applicable;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;

use chrono::Duration;

use self::estate::{Rng, hash};
use super::{BoxFuture, Capabilities, ProviderError, Source};
use crate::actions::{ActionError, ActionRequest, Plan, PlannedCall, Risk, TargetKind, Verb};
use crate::clock::Clock;
use crate::model::{
    Alert, AlertState, Approval, Backup, Conclusion, Deployment, DeploymentState, HealthCheck, Job, Level, LogLine,
    Metric, MetricKind, Resource, Role, Run, RunStatus, Secret, Severity, Snapshot, Step, Thresholds, Tier, Timestamp,
};

/// How often the sandbox spawns a new workflow run, and how long a probe interval is.
const RUN_CADENCE: i64 = 45;
const PROBE_INTERVAL: i64 = 10;
const LOG_EVERY_MS: i64 = 250;

/// A run with its own schedule; status is derived from the clock.
#[derive(Debug, Clone)]
struct SimRun {
    run: Run,
    start_at: Timestamp,
    end_at: Timestamp,
    outcome: Conclusion,
    /// Environment whose approval holds this run after its pre-production jobs.
    gate: Option<String>,
    /// The review rejected the deployment: the gated job failed without running.
    rejected: bool,
    jobs: Vec<(String, i64)>,
}

impl SimRun {
    fn at(&self, now: Timestamp) -> Run {
        let mut run = self.run.clone();
        if run.status == RunStatus::Completed || run.status == RunStatus::Waiting {
            run.jobs = self.jobs_at(now, run.status == RunStatus::Waiting);
            return run;
        }
        if now < self.start_at {
            run.status = RunStatus::Queued;
            run.updated_at = self.run.created_at;
        } else if now < self.end_at {
            run.status = RunStatus::InProgress;
            run.started_at = Some(self.start_at);
            run.updated_at = now;
        } else {
            run.status = RunStatus::Completed;
            run.conclusion = Some(self.outcome);
            run.started_at = Some(self.start_at);
            run.updated_at = self.end_at;
        }
        run.jobs = self.jobs_at(now, false);
        run
    }

    /// The job that fails a failing run: `test` in CI, else the last one.
    fn failing_job(&self) -> Option<usize> {
        (self.outcome == Conclusion::Failure)
            .then(|| self.jobs.iter().position(|(name, _)| name == "test").unwrap_or(self.jobs.len().saturating_sub(1)))
    }

    /// Jobs and steps as they stand at `now`. Nothing has a start time after `now`; once a job
    /// fails, only its failing step is red and what would have come after it is skipped.
    fn jobs_at(&self, now: Timestamp, waiting: bool) -> Vec<Job> {
        // A run stopped by hand (cancelled, rejected) stopped its jobs at that moment.
        let stopped = (self.run.status == RunStatus::Completed).then_some(self.run.updated_at);
        let clock = stopped.map_or(now, |at| at.min(now));
        let stopped_as = if self.run.conclusion == Some(Conclusion::Cancelled) {
            Conclusion::Cancelled
        } else {
            Conclusion::Skipped
        };
        let failing = self.failing_job();
        let mut t = self.start_at;
        let mut failed = false;
        let last = self.jobs.len().saturating_sub(1);
        self.jobs
            .iter()
            .enumerate()
            .map(|(i, (name, secs))| {
                let start = t;
                let end = t + Duration::seconds(*secs);
                t = end;
                let (status, conclusion, started_at, completed_at) = if failed {
                    (RunStatus::Completed, Some(Conclusion::Skipped), None, None)
                } else if waiting && i == last {
                    (RunStatus::Waiting, None, None, None)
                } else if self.rejected && i == last {
                    (RunStatus::Completed, Some(Conclusion::Failure), None, None)
                } else if clock < start {
                    match stopped {
                        Some(_) => (RunStatus::Completed, Some(stopped_as), None, None),
                        None => (RunStatus::Queued, None, None, None),
                    }
                } else if clock < end {
                    match stopped {
                        Some(at) => (RunStatus::Completed, self.run.conclusion, Some(start), Some(at)),
                        None => (RunStatus::InProgress, None, Some(start), None),
                    }
                } else if failing == Some(i) {
                    failed = true;
                    (RunStatus::Completed, Some(Conclusion::Failure), Some(start), Some(end))
                } else {
                    (RunStatus::Completed, Some(Conclusion::Success), Some(start), Some(end))
                };
                let mut job = Job {
                    id: format!("{}/jobs/{}", self.run.id, i + 1),
                    name: name.clone(),
                    status,
                    conclusion,
                    started_at,
                    completed_at,
                    steps: Vec::new(),
                };
                job.steps = steps_at(&job, *secs, clock, failing == Some(i));
                job
            })
            .collect()
    }
}

/// The five steps of a demo job. The failing step of a failing job runs to the job's end and
/// the steps after it never run.
fn steps_at(job: &Job, secs: i64, clock: Timestamp, fails: bool) -> Vec<Step> {
    let run_step = format!("Run {}", job.name);
    let names = ["Set up job", "Checkout", run_step.as_str(), "Post Checkout", "Complete job"];
    let done = job.status == RunStatus::Completed;
    names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let (status, conclusion, started_at, completed_at) = match job.started_at {
                // A job that never started ran none of its steps.
                None if job.status == RunStatus::Completed => {
                    (RunStatus::Completed, Some(Conclusion::Skipped), None, None)
                }
                None => (job.status, None, None, None),
                Some(start) => {
                    let from = start + Duration::seconds(secs * n as i64 / 5);
                    let to = if fails && n == 2 {
                        start + Duration::seconds(secs)
                    } else {
                        start + Duration::seconds(secs * (n as i64 + 1) / 5)
                    };
                    let step_clock = job.completed_at.map_or(clock, |at| at.min(clock));
                    let never_ran = (fails && n > 2) || step_clock < from;
                    if never_ran && done {
                        (RunStatus::Completed, Some(Conclusion::Skipped), None, None)
                    } else if never_ran {
                        (RunStatus::Queued, None, None, None)
                    } else if step_clock < to && done {
                        (RunStatus::Completed, job.conclusion, Some(from), job.completed_at)
                    } else if step_clock < to {
                        (RunStatus::InProgress, None, Some(from), None)
                    } else if fails && n == 2 {
                        (RunStatus::Completed, Some(Conclusion::Failure), Some(from), Some(to))
                    } else {
                        (RunStatus::Completed, Some(Conclusion::Success), Some(from), Some(to))
                    }
                }
            };
            Step { number: n as u32 + 1, name: name.to_string(), status, conclusion, started_at, completed_at }
        })
        .collect()
}

struct Sim {
    seed: u64,
    start: Timestamp,
    rng: Rng,
    runs: Vec<SimRun>,
    next_run_id: u64,
    next_spawn: Timestamp,
    approvals: Vec<Approval>,
    deployments: Vec<Deployment>,
    resources: Vec<Resource>,
    backups: Vec<Backup>,
    secrets: Vec<Secret>,
    /// Health check ids (env, app) whose probes currently fail.
    failing: Vec<(String, String)>,
    /// (resource id, ready at) for restores in progress.
    creating: Vec<(String, Timestamp)>,
    /// Alerts the operator acknowledged (`ack`), with when.
    acked: Vec<(String, Timestamp)>,
    /// Alerts the operator silenced (`silence`), with the window (from, until).
    silenced: Vec<(String, Timestamp, Timestamp)>,
}

pub struct Sandbox {
    sim: Mutex<Sim>,
    clock: Arc<dyn Clock>,
    name: String,
}

impl Sandbox {
    pub fn new(seed: u64, clock: Arc<dyn Clock>) -> Sandbox {
        let start = clock.now();
        Sandbox { sim: Mutex::new(Sim::new(seed, start)), clock, name: "demo".to_string() }
    }

    fn sim(&self) -> MutexGuard<'_, Sim> {
        self.sim.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The estate at the clock's current time.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.clock.now();
        let mut sim = self.sim();
        sim.advance(now);
        sim.snapshot(now)
    }

    /// The alert the teammate acknowledged and when, once they have: the operator may have
    /// been first, and then the teammate finds it taken and does nothing.
    pub fn teammate_ack(&self) -> Option<(Alert, Timestamp)> {
        let now = self.clock.now();
        let sim = self.sim();
        let at = sim.start + estate::TEAMMATE_ACKS_AFTER;
        (now >= at)
            .then(|| sim.alerts(now).into_iter().find(|a| a.acked_by.as_deref() == Some(estate::TEAMMATE)))?
            .map(|a| (a, at))
    }

    /// Log lines in `(after, now]`, at most `limit`, newest kept.
    pub fn logs_between(&self, after: Option<Timestamp>, limit: usize) -> Vec<LogLine> {
        let now = self.clock.now();
        let sim = self.sim();
        sim.logs(after, now, limit)
    }
}

impl Sim {
    fn new(seed: u64, start: Timestamp) -> Sim {
        let mut rng = Rng::new(seed);
        let mut resources = Vec::new();
        let mut backups = Vec::new();
        let mut secrets = Vec::new();
        for (env, _) in estate::ENVIRONMENTS {
            let rs = estate::resources(env, &mut rng);
            backups.extend(estate::backups(env, &rs, start));
            secrets.extend(estate::secrets(env, start, &mut rng));
            resources.extend(rs);
        }
        let mut sim = Sim {
            seed,
            start,
            runs: Vec::new(),
            next_run_id: 9_120_000_000 + rng.below(1_000_000) * 100,
            next_spawn: start + Duration::seconds(8),
            rng,
            approvals: Vec::new(),
            deployments: Vec::new(),
            resources,
            backups,
            secrets,
            failing: vec![("staging".into(), "inference-api".into())],
            creating: Vec::new(),
            acked: Vec::new(),
            silenced: Vec::new(),
        };
        sim.seed_history();
        sim.sync_app_services();
        sim
    }

    /// Each App Service serves what GitHub last deployed to its environment (shop-web is built
    /// from acme/shop-web); production's staging slot holds the build waiting for approval, or
    /// after a deploy the one it replaced.
    fn sync_app_services(&mut self) {
        let tag = |sha: &str| format!("shop-web:{}", &sha[..sha.len().min(7)]);
        for (env, _) in estate::ENVIRONMENTS {
            let deployed = self
                .deployments
                .iter()
                .rev()
                .find(|d| d.environment == env && d.repo == "acme/shop-web" && d.state == DeploymentState::Success);
            let Some(live) = deployed.map(|d| tag(&d.sha)) else { continue };
            let staged =
                self.approvals.iter().find(|a| a.environment == env && a.repo == "acme/shop-web").map(|a| tag(&a.sha));
            let name = format!("shop-web-{}", estate::short(env));
            let Some(app) = self.resources.iter_mut().find(|r| r.name == name && r.kind == "App Service") else {
                continue;
            };
            let previous = app.current_version.replace(live.clone());
            if env != "production" {
                app.versions = vec![live];
                continue;
            }
            // Newest first: a staged build is newer than production, a replaced one older.
            let (other, versions) = match (staged, previous) {
                (Some(staged), _) => (staged.clone(), vec![staged, live.clone()]),
                (None, Some(previous)) if previous != live => (previous.clone(), vec![live.clone(), previous]),
                _ => continue,
            };
            app.versions = versions;
            for (k, v) in &mut app.details {
                if k == "slots" {
                    *v = format!("production={live}, staging={other}");
                }
            }
        }
    }

    fn jobs_for(workflow: &str) -> Vec<(String, i64)> {
        let jobs: &[(&str, i64)] = if workflow == "Deploy" {
            &[("build-image", 95), ("deploy-staging", 70), ("smoke-test", 25), ("deploy-production", 80)]
        } else {
            &[("lint", 30), ("test", 110), ("security-scan", 45), ("build-image", 90)]
        };
        jobs.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    fn new_run(&mut self, repo: &str, workflow: &str, created: Timestamp, outcome: Conclusion, branch: &str) -> SimRun {
        self.next_run_id += 1 + self.rng.below(40);
        let id_num = self.next_run_id;
        // Real durations wander: ±30 % per job, seeded.
        let jobs: Vec<(String, i64)> = Self::jobs_for(workflow)
            .into_iter()
            .map(|(name, secs)| (name, secs * (70 + self.rng.below(61) as i64) / 100))
            .collect();
        // A failing run ends with its failing job (`test`, else the last); the rest is skipped.
        let ran = match outcome {
            Conclusion::Failure => jobs.iter().position(|(name, _)| name == "test").map_or(jobs.len(), |i| i + 1),
            _ => jobs.len(),
        };
        let total: i64 = jobs.iter().take(ran).map(|(_, s)| s).sum();
        let start_at = created + Duration::seconds(4 + self.rng.below(10) as i64);
        let end_at = start_at + Duration::seconds(total);
        let actor = self.rng.pick(&estate::ACTORS).to_string();
        let sha = self.rng.sha();
        let event = if workflow == "Deploy" {
            "workflow_run"
        } else if branch == "main" {
            "push"
        } else {
            "pull_request"
        };
        let title = match workflow {
            "Deploy" => format!("Deploy {}", &sha[..7]),
            _ => format!("{} {}", if branch == "main" { "Merge" } else { "Update" }, branch),
        };
        SimRun {
            run: Run {
                id: format!("{repo}/actions/runs/{id_num}"),
                run_id: id_num,
                repo: repo.to_string(),
                workflow: workflow.to_string(),
                title,
                branch: branch.to_string(),
                sha,
                event: event.to_string(),
                actor,
                attempt: 1,
                status: RunStatus::Queued,
                conclusion: None,
                created_at: created,
                started_at: None,
                updated_at: created,
                url: format!("https://github.com/{repo}/actions/runs/{id_num}"),
                jobs: Vec::new(),
            },
            start_at,
            end_at,
            outcome,
            gate: None,
            rejected: false,
            jobs,
        }
    }

    /// Two days of history, then the waiting production deploy and a couple of live runs.
    fn seed_history(&mut self) {
        let start = self.start;
        for i in 0..28 {
            let repo = estate::REPOS[i % 2];
            let created = start - Duration::minutes(60 * 48 - i as i64 * 100);
            let workflow = if i % 3 == 0 { "Deploy" } else { "CI" };
            let branch = if workflow == "Deploy" { "main" } else { *self.rng.pick(&estate::BRANCHES) };
            let outcome = if i == 17 || i == 23 { Conclusion::Failure } else { Conclusion::Success };
            let run = self.new_run(repo, workflow, created, outcome, branch);
            if workflow == "Deploy" && outcome == Conclusion::Success {
                for (env, _) in estate::ENVIRONMENTS {
                    self.record_deployment(&run.run, env, run.end_at);
                }
            }
            self.runs.push(run);
        }
        // The production deploy waiting for approval.
        let created = start - Duration::minutes(14);
        let mut run = self.new_run("acme/shop-web", "Deploy", created, Conclusion::Success, "main");
        run.run.status = RunStatus::Waiting;
        run.run.started_at = Some(run.start_at);
        run.run.updated_at = created + Duration::minutes(4);
        run.gate = Some("production".into());
        for env in ["dev", "staging"] {
            self.record_deployment(&run.run, env, created + Duration::minutes(3));
        }
        self.approvals.push(Approval {
            id: format!("{}/pending/production", run.run.id),
            run: run.run.id.clone(),
            repo: run.run.repo.clone(),
            workflow: "Deploy".into(),
            environment: "production".into(),
            sha: run.run.sha.clone(),
            reviewers: vec!["acme/release-managers".into(), "maria".into()],
            wait_timer_minutes: 0,
            requested_at: created + Duration::minutes(4),
            can_approve: true,
        });
        self.runs.push(run);
        // Live runs: one in progress, one queued.
        let r = self.new_run(
            "acme/inference-api",
            "CI",
            start - Duration::seconds(95),
            Conclusion::Success,
            "fix/token-refresh",
        );
        self.runs.push(r);
        let r =
            self.new_run("acme/shop-web", "CI", start - Duration::seconds(2), Conclusion::Failure, "feat/checkout-v2");
        self.runs.push(r);
    }

    fn record_deployment(&mut self, run: &Run, env: &str, at: Timestamp) {
        for d in self.deployments.iter_mut().filter(|d| d.environment == env && d.repo == run.repo) {
            if d.state == DeploymentState::Success {
                d.state = DeploymentState::Inactive;
            }
        }
        let n = self.deployments.len() as u64 + 1;
        self.deployments.push(Deployment {
            id: format!("{}/deployments/{}", run.repo, 3_400_000_000 + n),
            environment: env.to_string(),
            repo: run.repo.clone(),
            sha: run.sha.clone(),
            git_ref: run.branch.clone(),
            state: DeploymentState::Success,
            creator: run.actor.clone(),
            created_at: at,
            run_id: Some(run.id.clone()),
            description: format!("{} via {}", &run.sha[..7], run.workflow),
        });
    }

    fn advance(&mut self, now: Timestamp) {
        while self.next_spawn <= now {
            let at = self.next_spawn;
            let repo = estate::REPOS[self.rng.below(2) as usize];
            let branch = *self.rng.pick(&estate::BRANCHES);
            let outcome = if self.rng.below(5) == 0 { Conclusion::Failure } else { Conclusion::Success };
            let run = self.new_run(repo, "CI", at, outcome, branch);
            self.runs.push(run);
            self.next_spawn = at + Duration::seconds(RUN_CADENCE);
        }
        // Approved deploys that finished become production deployments.
        let finished: Vec<Run> = self
            .runs
            .iter()
            .filter(|r| {
                r.gate.is_some()
                    && r.run.status != RunStatus::Waiting
                    && now >= r.end_at
                    && r.outcome == Conclusion::Success
                    && r.run.conclusion.is_none()
            })
            .map(|r| r.at(now))
            .collect();
        let deployed = !finished.is_empty();
        for run in finished {
            self.record_deployment(&run, "production", run.updated_at);
            if let Some(sim) = self.runs.iter_mut().find(|r| r.run.id == run.id) {
                sim.gate = None;
                sim.run = run;
            }
        }
        if deployed {
            self.sync_app_services();
        }
        let ready: Vec<String> = self.creating.iter().filter(|(_, at)| *at <= now).map(|(id, _)| id.clone()).collect();
        for id in ready {
            if let Some(r) = self.resources.iter_mut().find(|r| r.id == id) {
                r.status = "available".into();
                r.level = Level::Ok;
            }
            self.creating.retain(|(i, _)| *i != id);
        }
        // Keep memory bounded in a demo left open for days.
        if self.runs.len() > 500 {
            let excess = self.runs.len() - 500;
            self.runs.drain(..excess);
        }
    }

    fn probe(&self, env: &str, app: &str, slot: i64) -> Option<u32> {
        let failing = self.failing.iter().any(|(e, a)| e == env && a == app);
        let h = hash(self.seed, (slot as u64).wrapping_mul(7919) ^ hash(env.len() as u64, app.len() as u64));
        // A failing service answers 503 on most probes; a healthy one on none.
        if failing && h % 10 < 8 {
            return None;
        }
        let base = match app {
            "shop-web" => 140,
            "inference-api" => 420,
            _ => 90,
        };
        Some(base + (h % 90) as u32 + if failing { 2400 } else { 0 })
    }

    fn health(&self, now: Timestamp) -> Vec<HealthCheck> {
        let slot_now = now.timestamp().div_euclid(PROBE_INTERVAL);
        let mut out = Vec::new();
        for (env, _) in estate::ENVIRONMENTS {
            for (app, _) in estate::APPS {
                let history: Vec<Option<u32>> = (slot_now - 29..=slot_now).map(|s| self.probe(env, app, s)).collect();
                let latest = *history.last().unwrap_or(&None);
                let thresholds = Thresholds::default();
                let ok = history.iter().filter(|h| h.is_some()).count() as f64 * 100.0 / history.len() as f64;
                let level = [
                    thresholds.level(MetricKind::Availability, ok),
                    latest.map_or(Level::Crit, |ms| thresholds.level(MetricKind::ResponseTime, f64::from(ms) / 1000.0)),
                ]
                .into_iter()
                .max()
                .unwrap_or(Level::Unknown);
                let s = estate::short(env);
                out.push(HealthCheck {
                    id: format!("health/{env}/{app}"),
                    environment: env.to_string(),
                    name: app.to_string(),
                    url: format!("https://{app}-{s}.acme.example/api/v1/health"),
                    level,
                    status_code: Some(if latest.is_some() { 200 } else { 503 }),
                    latency_ms: latest,
                    error: latest.is_none().then(|| "HTTP 503 Service Unavailable: upstream connect error".to_string()),
                    checked_at: chrono::DateTime::from_timestamp(slot_now * PROBE_INTERVAL, 0).unwrap_or(now),
                    history,
                });
            }
        }
        out
    }

    fn metrics(&self, now: Timestamp) -> Vec<Metric> {
        let thresholds = Thresholds::default();
        let slot = now.timestamp().div_euclid(PROBE_INTERVAL);
        let mut out = Vec::new();
        for r in self.resources.iter().filter(|r| matches!(r.role, Role::Compute | Role::Database)) {
            let failing = self.failing.iter().any(|(e, a)| *e == r.environment && r.name.starts_with(a.as_str()));
            let kinds: &[MetricKind] = if r.role == Role::Compute {
                &[MetricKind::Cpu, MetricKind::Memory, MetricKind::ErrorRate, MetricKind::ResponseTime]
            } else {
                &[MetricKind::Cpu, MetricKind::DbConnections, MetricKind::QueryLatency]
            };
            for (k, kind) in kinds.iter().enumerate() {
                let key = hash(self.seed, r.id.len() as u64 * 131 + k as u64);
                let base = match kind {
                    MetricKind::Cpu
                        if r.environment == "production" && r.provider == crate::providers::aws::PROVIDER =>
                    {
                        76.0
                    }
                    MetricKind::Cpu => 20.0 + (key % 30) as f64,
                    MetricKind::Memory => 35.0 + (key % 25) as f64,
                    MetricKind::ErrorRate if failing => 12.0,
                    MetricKind::ErrorRate => 0.1 + (key % 5) as f64 / 10.0,
                    MetricKind::ResponseTime if failing => 2.6,
                    MetricKind::ResponseTime => 0.12 + (key % 20) as f64 / 100.0,
                    MetricKind::DbConnections => 25.0 + (key % 40) as f64,
                    MetricKind::QueryLatency => 0.02 + (key % 10) as f64 / 100.0,
                    MetricKind::Availability => 100.0,
                };
                let history: Vec<f64> = (0..30)
                    .map(|i| {
                        let wobble = (hash(key, (slot - 29 + i) as u64) % 100) as f64 / 100.0 - 0.5;
                        (base * (1.0 + wobble * 0.1)).max(0.0)
                    })
                    .collect();
                let value = *history.last().unwrap_or(&base);
                out.push(Metric {
                    environment: r.environment.clone(),
                    resource: r.name.clone(),
                    kind: *kind,
                    value,
                    level: thresholds.level(*kind, value),
                    history,
                });
            }
        }
        out
    }

    /// The demo's alerts, with what the operator acknowledged first: only Azure Monitor's can be
    /// acknowledged, as with the real adapters (`CloudWatch` alarms and Dependabot alerts have no
    /// acknowledgement).
    fn alerts(&self, now: Timestamp) -> Vec<Alert> {
        let mut alerts = estate::alerts(self.start, now);
        for a in &mut alerts {
            if self.acked.iter().any(|(id, at)| *id == a.id && *at <= now) {
                a.state = AlertState::Acknowledged;
                a.acked_by = Some(OPERATOR.into());
            }
            a.can_ack = a.provider == crate::providers::azure::PROVIDER && a.state == AlertState::Firing;
            // Azure Monitor (processing rules) and Cloud Monitoring (snoozes) silence for a time.
            a.can_silence = [crate::providers::azure::PROVIDER, crate::providers::gcp::PROVIDER].contains(&a.provider);
            a.silenced_until = self
                .silenced
                .iter()
                .filter(|(id, from, until)| *id == a.id && *from <= now && now < *until)
                .map(|(_, _, until)| *until)
                .max();
        }
        alerts
    }

    fn snapshot(&self, now: Timestamp) -> Snapshot {
        let mut runs: Vec<Run> = self.runs.iter().map(|r| r.at(now)).collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Snapshot {
            environments: estate::environments(),
            runs,
            approvals: self.approvals.clone(),
            deployments: self.deployments.iter().rev().cloned().collect(),
            resources: self.resources.clone(),
            backups: self.backups.clone(),
            health: self.health(now),
            metrics: self.metrics(now),
            secrets: self.secrets.clone(),
            storage: estate::ENVIRONMENTS.iter().flat_map(|(env, _)| estate::object_stores(env)).collect(),
            alerts: self.alerts(now),
            alert_rules: estate::alert_rules(),
            source_note: None,
        }
    }

    fn log_line(&self, index: i64) -> LogLine {
        let at = chrono::DateTime::from_timestamp_millis(index * LOG_EVERY_MS).unwrap_or(self.start);
        let h = hash(self.seed, index as u64);
        let (env, _) = estate::ENVIRONMENTS[(h % 3) as usize];
        let (app, _) = estate::APPS[((h >> 8) % 3) as usize];
        let failing = self.failing.iter().any(|(e, a)| e == env && a == app);
        let paths = ["/api/v1/items", "/api/v1/cart", "/api/v1/health", "/api/v1/checkout", "/api/v1/predict"];
        let path = paths[((h >> 16) % paths.len() as u64) as usize];
        let ms = 5 + (h >> 24) % 300;
        let (severity, text) = match (h >> 40) % 40 {
            _ if failing && !(h >> 32).is_multiple_of(3) => (
                Severity::Error,
                format!("GET {path} 503 upstream connect error or disconnect/reset before headers ({ms}ms)"),
            ),
            0 => (Severity::Warn, format!("slow query on orders: {}ms (limit 1000ms)", 1000 + ms * 3)),
            1 => (
                Severity::Error,
                format!("POST {path} 500 panicked at 'index out of bounds' request_id={:08x}", h as u32),
            ),
            2 => (Severity::Debug, format!("cache hit ratio 0.{:02}", h % 100)),
            3 => (Severity::Warn, "retrying token refresh (attempt 2/5)".to_string()),
            _ => (Severity::Info, format!("GET {path} 200 {ms}ms")),
        };
        LogLine { at, source: format!("{app}-{}", estate::short(env)), severity, text }
    }

    fn logs(&self, after: Option<Timestamp>, now: Timestamp, limit: usize) -> Vec<LogLine> {
        let last = now.timestamp_millis().div_euclid(LOG_EVERY_MS);
        let first = match after {
            Some(a) => a.timestamp_millis().div_euclid(LOG_EVERY_MS) + 1,
            None => last - 600,
        };
        let first = first.max(last - limit as i64 + 1);
        (first..=last).map(|i| self.log_line(i)).collect()
    }

    // ---- actions ---------------------------------------------------------------------------

    fn approve(&mut self, approval_id: &str, approved: bool, now: Timestamp) -> Result<String, ActionError> {
        let pos = self.approvals.iter().position(|a| a.id == approval_id).ok_or_else(|| {
            ActionError::Failed(format!("no pending deployment {approval_id}: it was already reviewed"))
        })?;
        let approval = self.approvals.remove(pos);
        let sim = self
            .runs
            .iter_mut()
            .find(|r| r.run.id == approval.run)
            .ok_or_else(|| ActionError::Failed(format!("run {} vanished", approval.run)))?;
        if approved {
            // The gated job starts now and runs to its end.
            let gated = sim.jobs.last().map_or(60, |(_, s)| *s);
            let before: i64 = sim.jobs.iter().rev().skip(1).map(|(_, s)| s).sum();
            sim.start_at = now - Duration::seconds(before);
            sim.end_at = now + Duration::seconds(gated);
            sim.run.status = RunStatus::InProgress;
            Ok(format!("approved {} for {}", approval.run, approval.environment))
        } else {
            sim.run.status = RunStatus::Completed;
            sim.run.conclusion = Some(Conclusion::Failure);
            sim.rejected = true;
            sim.run.updated_at = now;
            sim.gate = None;
            Ok(format!("rejected {} for {}", approval.run, approval.environment))
        }
    }
}

/// A job's log as GitHub writes it: grouped per step, timestamps on every line.
fn job_log(run: &Run, job: &Job) -> Vec<LogLine> {
    let source = format!("{} job {}", run.repo, job.name);
    let mut out = Vec::new();
    for step in &job.steps {
        let Some(start) = step.started_at else { continue };
        let end = step.completed_at.unwrap_or(start + Duration::seconds(5));
        let mut line = |k: i32, severity, text: String| {
            let at = start + (end - start) * k / 8;
            out.push(LogLine { at, source: source.clone(), severity, text });
        };
        line(0, Severity::Info, format!("##[group]{}", step.name));
        if step.conclusion == Some(Conclusion::Failure) && step.name.contains("test") {
            line(1, Severity::Info, "running 214 tests".into());
            line(3, Severity::Info, "test checkout::applies_discount ... ok".into());
            line(4, Severity::Error, "test checkout::rounds_totals ... FAILED".into());
            line(5, Severity::Error, "thread 'checkout::rounds_totals' panicked: left: 1999, right: 2000".into());
            line(6, Severity::Info, "test result: FAILED. 213 passed; 1 failed".into());
            line(7, Severity::Error, "##[error]Process completed with exit code 101.".into());
        } else {
            line(2, Severity::Info, format!("{}: working", step.name));
            line(6, Severity::Info, format!("{}: done", step.name));
        }
        line(8, Severity::Info, "##[endgroup]".into());
    }
    out
}

fn call(description: impl Into<String>, call: impl Into<String>) -> PlannedCall {
    PlannedCall { description: description.into(), call: call.into() }
}

/// Parses an RFC 3339 restore time and checks it against the PITR window.
fn restore_time(request: &ActionRequest, backup: &Backup) -> Result<Timestamp, ActionError> {
    let (Some(earliest), Some(latest)) = (backup.earliest_restore, backup.latest_restore) else {
        return Err(not_applicable(Verb::Restore, &backup.database, "point-in-time recovery is off"));
    };
    let at = match request.params.get("time") {
        None => latest,
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| {
                ActionError::InvalidInput(format!("--time '{t}': {e} (use RFC 3339, e.g. 2026-02-08T10:00:00Z)"))
            })?
            .with_timezone(&chrono::Utc),
    };
    if at < earliest || at > latest {
        return Err(ActionError::InvalidInput(format!(
            "restore time {} is outside the PITR window {} .. {}",
            at.to_rfc3339(),
            earliest.to_rfc3339(),
            latest.to_rfc3339()
        )));
    }
    Ok(at)
}

impl Source for Sandbox {
    fn name(&self) -> &str {
        &self.name
    }

    fn refresh_interval(&self) -> StdDuration {
        StdDuration::from_secs(2)
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async move { Ok(self.snapshot()) })
    }

    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { Ok(self.logs_between(after, 5_000)) })
    }

    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            let job =
                snapshot.runs.iter().flat_map(|r| r.jobs.iter().map(move |j| (r, j))).find(|(_, j)| j.id == target);
            let Some((run, job)) = job else {
                return Err(ProviderError::Unavailable(format!("no job {target} in the demo")));
            };
            Ok(job_log(run, job))
        })
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            run_control: Some(self),
            traffic_shift: Some(self),
            point_in_time_restore: Some(self),
            take_snapshot: Some(self),
            rotate_secret: Some(self),
            scale: Some(self),
            alert_control: Some(self),
            ..Capabilities::NONE
        }
    }
}

/// The actions, by verb; the capability handlers below hand every request here.
impl Sandbox {
    /// The demo's Deploy workflow takes inputs like a real one, so the dispatch form can be tried.
    fn inputs_for<'a>(
        &'a self,
        request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<Vec<crate::actions::InputSpec>, ProviderError>> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            let deploy = snapshot.runs.iter().any(|r| r.id == request.target && r.workflow == "Deploy");
            if request.verb != Verb::Dispatch || !deploy {
                return Ok(Vec::new());
            }
            Ok(vec![
                crate::actions::InputSpec {
                    name: "environment".into(),
                    description: "where to deploy".into(),
                    required: true,
                    default: Some("staging".into()),
                    options: vec!["staging".into(), "production".into()],
                    kind: "choice".into(),
                },
                crate::actions::InputSpec {
                    name: "version".into(),
                    description: "image tag (empty: the branch head)".into(),
                    required: false,
                    default: None,
                    options: Vec::new(),
                    kind: "string".into(),
                },
            ])
        })
    }

    fn params_for(&self, verb: Verb) -> &'static [&'static str] {
        match verb {
            Verb::Rerun => &["failed"],
            Verb::Dispatch => &["ref", crate::actions::WORKFLOW_INPUTS],
            Verb::Promote | Verb::Rollback => &["to"],
            Verb::Scale => &["count"],
            Verb::Restore => &["time", "name"],
            Verb::Silence => &["for"],
            _ => &[],
        }
    }

    fn plan_target(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, target) = Plan::for_target(request, &self.name, snapshot)?;
        let verb = request.verb;
        let note = "demo sandbox: the equivalent real call is shown; nothing outside skydeck is touched";
        let api = "https://api.github.com";
        let resource = || {
            snapshot
                .resources
                .iter()
                .find(|r| r.id == target.id)
                .ok_or_else(|| ActionError::NotFound(target.id.clone()))
        };
        match (target.kind, verb) {
            (TargetKind::Run, Verb::Approve | Verb::Reject) => {
                let approval = snapshot
                    .approvals
                    .iter()
                    .find(|a| a.run == target.id)
                    .ok_or_else(|| not_applicable(verb, &target.name, "the run is not waiting for a review"))?;
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
                let state = if verb == Verb::Approve { "approved" } else { "rejected" };
                plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
                plan.summary = format!(
                    "{verb} the deployment of {} ({}) to {}. Reviewers: {}. {note}",
                    a.repo,
                    &a.sha[..7],
                    a.environment,
                    a.reviewers.join(", ")
                );
                let run_num = a.run.rsplit('/').next().unwrap_or_default();
                plan.calls.push(call(
                    format!("review the pending deployment of run {run_num}"),
                    format!(
                        "POST {api}/repos/{}/actions/runs/{run_num}/pending_deployments {{\"environment_ids\":[…{}],\"state\":\"{state}\",\"comment\":{:?}}}",
                        a.repo,
                        a.environment,
                        request.reason.clone().unwrap_or_default()
                    ),
                ));
                plan.verification = format!("re-read run {run_num}: no longer waiting for {}", a.environment);
                plan.set_payload(DemoCall::Review { approve: verb == Verb::Approve });
            }
            (TargetKind::Run, Verb::Rerun | Verb::Cancel | Verb::Dispatch) => {
                let run = snapshot
                    .runs
                    .iter()
                    .find(|r| r.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                match verb {
                    Verb::Rerun if run.status != RunStatus::Completed => {
                        return Err(not_applicable(verb, &target.name, "the run has not finished; cancel it first"));
                    }
                    Verb::Cancel if run.status == RunStatus::Completed => {
                        return Err(not_applicable(verb, &target.name, "the run has already finished"));
                    }
                    _ => {}
                }
                let failed_only = request.params.get("failed").is_some_and(|v| v == "true");
                plan.set_payload(match verb {
                    Verb::Cancel => DemoCall::Cancel,
                    _ => DemoCall::NewRun { rerun: verb == Verb::Rerun, git_ref: request.params.get("ref").cloned() },
                });
                let endpoint = match verb {
                    Verb::Rerun if failed_only => {
                        format!("POST {api}/repos/{}/actions/runs/{}/rerun-failed-jobs", run.repo, run.run_id)
                    }
                    Verb::Rerun => format!("POST {api}/repos/{}/actions/runs/{}/rerun", run.repo, run.run_id),
                    Verb::Cancel => format!("POST {api}/repos/{}/actions/runs/{}/cancel", run.repo, run.run_id),
                    _ => {
                        let inputs: serde_json::Map<String, serde_json::Value> = request
                            .params
                            .iter()
                            .filter_map(|(k, v)| k.strip_prefix("input.").map(|n| (n.to_string(), v.clone().into())))
                            .collect();
                        let body = serde_json::json!({
                            "ref": request.params.get("ref").cloned().unwrap_or_else(|| run.branch.clone()),
                            "inputs": inputs,
                        });
                        format!(
                            "POST {api}/repos/{}/actions/workflows/{}.yml/dispatches {body}",
                            run.repo,
                            run.workflow.to_lowercase()
                        )
                    }
                };
                plan.summary = format!("{verb} {} of {} on {}. {note}", run.workflow, run.repo, run.branch);
                plan.calls.push(call(format!("{verb} workflow run {}", run.run_id), endpoint));
                plan.verification = "re-read the run list and find the run in its new state".into();
            }
            (TargetKind::Resource, Verb::Promote | Verb::Rollback) => {
                let r = resource()?;
                if r.role != Role::Compute || r.versions.len() < 2 {
                    return Err(not_applicable(
                        verb,
                        &r.name,
                        "it has no other slot, revision or task definition to move to",
                    ));
                }
                let current = r.current_version.clone().unwrap_or_default();
                let pos = r.versions.iter().position(|v| *v == current).unwrap_or(0);
                let to = match (request.params.get("to"), verb) {
                    (Some(to), _) if r.versions.contains(to) => to.clone(),
                    (Some(to), _) => {
                        return Err(ActionError::InvalidInput(format!(
                            "'{to}' is not one of {}",
                            r.versions.join(", ")
                        )));
                    }
                    (None, Verb::Promote) if pos == 0 => {
                        return Err(not_applicable(verb, &r.name, "it already runs the newest version"));
                    }
                    (None, Verb::Promote) => r.versions[pos - 1].clone(),
                    (None, _) if pos + 1 >= r.versions.len() => {
                        return Err(not_applicable(verb, &r.name, "there is no earlier version"));
                    }
                    (None, _) => r.versions[pos + 1].clone(),
                };
                plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
                plan.summary = format!("{verb} {}: {current} -> {to}. {note}", r.name);
                let (desc, endpoint) = match r.provider {
                    p if p == crate::providers::azure::PROVIDER => (
                        "swap the staging slot with production".to_string(),
                        format!(
                            "POST https://management.azure.com{}/slots/staging/slotsswap?api-version=2024-11-01 {{\"targetSlot\":\"production\"}}",
                            r.id
                        ),
                    ),
                    p if p == crate::providers::aws::PROVIDER => (
                        format!("point the service at task definition {to}"),
                        format!(
                            "ecs:UpdateService cluster={} service={} taskDefinition={to}",
                            r.id.split('/').nth(1).unwrap_or_default(),
                            r.name
                        ),
                    ),
                    _ => (
                        format!("send 100% of traffic to revision {to}"),
                        format!(
                            "PATCH https://run.googleapis.com/v2/{}?updateMask=traffic {{\"traffic\":[{{\"revision\":\"{to}\",\"percent\":100,\"type\":\"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\"}}]}}",
                            r.id
                        ),
                    ),
                };
                plan.calls.push(call(desc, endpoint));
                plan.calls.push(call("wait for the rollout to finish", "poll the operation until done"));
                plan.verification = format!("re-read {}: serving {to}; then its health check", r.name);
                plan.set_payload(DemoCall::Shift { to: to.clone() });
                plan.request.params.insert("to".into(), to);
            }
            (TargetKind::Resource, Verb::Scale) => {
                let r = resource()?;
                if r.role != Role::Compute {
                    return Err(not_applicable(verb, &r.name, "only compute resources scale"));
                }
                let count: u32 = request
                    .params
                    .get("count")
                    .ok_or_else(|| ActionError::MissingInput("--count N (instances)".into()))?
                    .parse()
                    .map_err(|_| ActionError::InvalidInput("--count must be a whole number".into()))?;
                // The same ceiling the real adapter's data gives (and the scale form shows);
                // 10 where that provider has no known one.
                let limits = crate::actions::limits::scale_limits(r);
                let max = limits.max.unwrap_or(10);
                if count > max {
                    return Err(ActionError::InvalidInput(format!(
                        "--count {count}: at most {max} instances ({})",
                        limits.limit_text
                    )));
                }
                plan.risk = if count == 0 && plan.tier == Tier::Prod { Risk::Critical } else { Risk::Low };
                plan.summary = format!("scale {} to {count} instances. {note}", r.name);
                plan.calls.push(call(
                    format!("set the desired count to {count}"),
                    format!("scale {} desiredCount={count}", r.id),
                ));
                plan.verification = format!("re-read {}: desired = {count}", r.name);
                plan.set_payload(DemoCall::Scale { count });
            }
            (TargetKind::Resource, Verb::Rerun) => {
                let r = resource()?;
                // As the real adapters: an ECS service restarts (a forced new deployment); the
                // demo's App Service and Cloud Run service do not.
                if r.role != Role::Compute || r.provider != crate::providers::aws::PROVIDER {
                    return Err(not_applicable(
                        verb,
                        &r.name,
                        "only ECS services and Kubernetes workloads restart here",
                    ));
                }
                plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
                plan.summary = format!(
                    "restart: start a new deployment of {} with the same task definition (fresh tasks). {note}",
                    r.name
                );
                plan.calls.push(call("force a new deployment", format!("update {} forceNewDeployment=true", r.id)));
                plan.verification = format!("re-read {}: a new deployment started", r.name);
                plan.set_payload(DemoCall::Restart);
            }
            (TargetKind::Resource | TargetKind::Backup, Verb::Restore | Verb::Snapshot) => {
                let b = snapshot
                    .backups
                    .iter()
                    .find(|b| b.id == target.id || b.resource == target.id)
                    .ok_or_else(|| not_applicable(verb, &target.name, "it is not a database with backups"))?;
                if verb == Verb::Snapshot {
                    plan.summary = format!("take an on-demand backup of {}. {note}", b.database);
                    plan.calls.push(call("create a manual snapshot", format!("snapshot {}", b.resource)));
                    plan.verification = format!("re-read {}: latest backup younger than a minute", b.database);
                    plan.set_payload(DemoCall::Snapshot);
                } else {
                    let at = restore_time(request, b)?;
                    let new_name = request
                        .params
                        .get("name")
                        .cloned()
                        .unwrap_or_else(|| format!("{}-restored-{}", b.database, at.format("%Y%m%d%H%M")));
                    plan.risk = Risk::High;
                    plan.summary = format!(
                        "restore {} as it was at {} into a NEW server {new_name}; the original is not touched. {note}",
                        b.database,
                        at.to_rfc3339()
                    );
                    plan.calls.push(call(
                        format!("point-in-time restore into {new_name}"),
                        format!("restore --source {} --name {new_name} --restore-time {}", b.resource, at.to_rfc3339()),
                    ));
                    plan.calls.push(call("wait until the new server is available", "poll until state = available"));
                    plan.verification =
                        format!("{new_name} exists, is available, and names {} as its source", b.database);
                    plan.set_payload(DemoCall::Restore { time: at.to_rfc3339(), name: new_name.clone() });
                    plan.request.params.insert("time".into(), at.to_rfc3339());
                    plan.request.params.insert("name".into(), new_name);
                }
            }
            (TargetKind::Secret, Verb::Rotate) => {
                let s = snapshot
                    .secrets
                    .iter()
                    .find(|s| s.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
                // A value typed in (TUI hidden input, `--value-stdin`) is stored as is; without
                // one the sandbox generates it. Only its length is ever shown.
                let typed = request.secret_input.as_ref().map(std::string::String::len);
                plan.summary = match typed {
                    Some(n) => format!(
                        "rotate {} in {}: the value typed ({n} bytes) is stored as a new version; it is never shown. {note}",
                        s.name, s.store
                    ),
                    None => format!(
                        "rotate {} in {}: a new version is generated and stored; the value is never shown. {note}",
                        s.name, s.store
                    ),
                };
                plan.calls.push(call(
                    if typed.is_some() {
                        "store the typed value as a new version"
                    } else {
                        "generate a new value and store it as a new version"
                    },
                    format!("add version to {}", s.id),
                ));
                plan.calls.push(call(
                    "disable the previous version after the new one is stored",
                    format!("disable previous version of {}", s.name),
                ));
                plan.verification = format!("{} has one more version, rotated just now", s.name);
                plan.set_payload(DemoCall::Rotate);
            }
            (TargetKind::Alert, Verb::Ack) => {
                let a = snapshot
                    .alerts
                    .iter()
                    .find(|a| a.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                if a.state != AlertState::Firing {
                    let why = match &a.acked_by {
                        Some(who) => format!("{who} acknowledged it already"),
                        None => format!("it is {} already", a.state.label()),
                    };
                    return Err(not_applicable(verb, &a.name, why));
                }
                if !a.can_ack {
                    return Err(not_applicable(verb, &a.name, no_ack_reason(&a.source)));
                }
                plan.summary = format!(
                    "acknowledge the {} alert '{}' on {} in {}. {note}",
                    a.severity.label(),
                    a.name,
                    a.resource,
                    a.source
                );
                let comment = request
                    .reason
                    .as_deref()
                    .filter(|r| !r.trim().is_empty())
                    .map(|r| format!(" {}", serde_json::json!({ "comments": r })))
                    .unwrap_or_default();
                plan.calls.push(call(
                    "set the alert's state to Acknowledged",
                    format!(
                        "POST https://management.azure.com{}/changestate?api-version=2019-05-05-preview&newState=Acknowledged{comment}",
                        a.id
                    ),
                ));
                plan.verification = format!("re-read '{}': Acknowledged", a.name);
                plan.set_payload(DemoCall::Ack);
            }
            (TargetKind::Alert, Verb::Silence) => {
                let a = snapshot
                    .alerts
                    .iter()
                    .find(|a| a.id == target.id)
                    .ok_or_else(|| ActionError::NotFound(target.id.clone()))?;
                if !a.can_silence {
                    return Err(not_applicable(verb, &a.name, no_silence_reason(&a.source)));
                }
                let duration = crate::actions::limits::silence_for(request)?;
                let length = crate::model::human_duration(duration);
                plan.summary = format!(
                    "silence the notifications of the {} alert '{}' on {} for {length} ({}); the alert still shows. {note}",
                    a.severity.label(),
                    a.name,
                    a.resource,
                    if a.provider == crate::providers::azure::PROVIDER {
                        "an alert processing rule"
                    } else {
                        "a snooze of its policy"
                    },
                );
                plan.calls.push(call(
                    "remove the alert rule's action groups for the window",
                    format!(
                        "PUT https://management.azure.com/subscriptions/{}/resourceGroups/shop-stg/providers/Microsoft.AlertsManagement/actionRules/skydeck-silence-demo?api-version=2021-08-08 (RemoveAllActionGroups for {length}, timeZone UTC)",
                        estate::SUBSCRIPTION
                    ),
                ));
                plan.verification = format!("re-read '{}': silenced until the end of the window", a.name);
                plan.set_payload(DemoCall::Silence { minutes: duration.num_minutes() });
            }
            (kind, verb) => {
                return Err(not_applicable(verb, &target.name, format!("not an action for a {kind:?}").to_lowercase()));
            }
        }
        Ok(plan)
    }

    fn execute_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let now = self.clock.now();
            let mut sim = self.sim();
            sim.advance(now);
            let id = plan.request.target.as_str();
            match plan.payload::<DemoCall>()? {
                DemoCall::Review { approve } => sim.approve(id, *approve, now),
                DemoCall::NewRun { rerun, git_ref } => {
                    let old = sim
                        .runs
                        .iter()
                        .find(|r| r.run.id == id)
                        .map(|r| r.at(now))
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    let branch = git_ref.clone().unwrap_or(old.branch.clone());
                    let mut run = sim.new_run(&old.repo, &old.workflow, now, Conclusion::Success, &branch);
                    if *rerun {
                        // A re-run keeps its id and counts attempts.
                        run.run.id = old.id.clone();
                        run.run.run_id = old.run_id;
                        run.run.url = old.url.clone();
                        run.run.sha = old.sha.clone();
                        run.run.attempt = old.attempt + 1;
                        sim.runs.retain(|r| r.run.id != old.id);
                    }
                    let new_id = run.run.id.clone();
                    sim.runs.push(run);
                    Ok(format!("queued {new_id}"))
                }
                DemoCall::Cancel => {
                    let r = sim
                        .runs
                        .iter_mut()
                        .find(|r| r.run.id == id)
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    r.run.status = RunStatus::Completed;
                    r.run.conclusion = Some(Conclusion::Cancelled);
                    r.run.started_at = Some(r.start_at.min(now));
                    r.run.updated_at = now;
                    sim.approvals.retain(|a| a.run != id);
                    Ok(format!("cancelled {id}"))
                }
                DemoCall::Shift { to } => {
                    let r = sim
                        .resources
                        .iter_mut()
                        .find(|r| r.id == id)
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    let from = r.current_version.replace(to.clone()).unwrap_or_default();
                    Ok(format!("{} now serves {to} (was {from})", r.name))
                }
                DemoCall::Restart => {
                    let at = self.clock.now().format("%H:%M:%S UTC").to_string();
                    let r = sim
                        .resources
                        .iter_mut()
                        .find(|r| r.id == id)
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    r.details.retain(|(k, _)| k != "restarted");
                    r.details.push(("restarted".into(), at.clone()));
                    Ok(format!("{} restarted at {at}", r.name))
                }
                DemoCall::Scale { count } => {
                    let count = count.to_string();
                    let r = sim
                        .resources
                        .iter_mut()
                        .find(|r| r.id == id)
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    for (k, v) in &mut r.details {
                        if k == "desired" || k == "plan instances" {
                            *v = count.clone();
                        }
                    }
                    if !r.details.iter().any(|(k, _)| k == "desired" || k == "plan instances") {
                        r.details.push(("desired".into(), count.clone()));
                    }
                    Ok(format!("{} desired count set to {count}", r.name))
                }
                DemoCall::Snapshot => {
                    let b = sim
                        .backups
                        .iter_mut()
                        .find(|b| b.id == id || b.resource == id)
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    b.last_backup_at = Some(now);
                    b.last_status = "succeeded".into();
                    Ok(format!("backup of {} taken at {}", b.database, now.to_rfc3339()))
                }
                DemoCall::Restore { time, name } => {
                    let source = sim
                        .resources
                        .iter()
                        .find(|r| r.id == id)
                        .cloned()
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    let mut restored = source.clone();
                    // Every provider's id ends in the resource's name: swap in the new one.
                    restored.id = source.id.replace(&source.name, name);
                    restored.name = name.clone();
                    restored.status = "creating".into();
                    restored.level = Level::Unknown;
                    restored.details.push(("restored from".into(), format!("{} at {time}", source.name)));
                    let ready = now + Duration::seconds(20);
                    sim.creating.push((restored.id.clone(), ready));
                    sim.resources.push(restored);
                    Ok(format!("restore of {} into {name} started", source.name))
                }
                DemoCall::Ack => {
                    sim.acked.push((id.to_string(), now));
                    Ok(format!("{} is acknowledged", plan.target_name))
                }
                DemoCall::Silence { minutes } => {
                    let until = now + Duration::minutes(*minutes);
                    sim.silenced.push((id.to_string(), now, until));
                    Ok(format!("'{}' is silent until {} UTC", plan.target_name, until.format("%H:%M")))
                }
                DemoCall::Rotate => {
                    let s = sim
                        .secrets
                        .iter_mut()
                        .find(|s| s.id == id)
                        .ok_or_else(|| ActionError::NotFound(id.to_string()))?;
                    s.versions += 1;
                    s.last_rotated = Some(now);
                    s.updated_at = Some(now);
                    Ok(format!("{} rotated: version {} is current", s.name, s.versions))
                }
            }
        })
    }

    fn verify_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            let id = plan.request.target.as_str();
            let fail = |why: String| Err(ActionError::VerifyFailed(why));
            match plan.payload::<DemoCall>()? {
                DemoCall::Review { .. } => {
                    if snapshot.approvals.iter().any(|a| a.id == id) {
                        return fail(format!("{id} is still pending"));
                    }
                    Ok("no longer waiting".into())
                }
                DemoCall::Cancel => match snapshot.runs.iter().find(|r| r.id == id) {
                    Some(r) if r.conclusion == Some(Conclusion::Cancelled) => Ok("run is cancelled".into()),
                    _ => fail("run is not cancelled".into()),
                },
                DemoCall::NewRun { .. } => Ok(format!("{} runs listed", snapshot.runs.len())),
                DemoCall::Shift { to } => match snapshot.resources.iter().find(|r| r.id == id) {
                    Some(r) if r.current_version.as_deref() == Some(to.as_str()) => {
                        Ok(format!("{} serves {to}", r.name))
                    }
                    _ => fail(format!("not serving {to}")),
                },
                DemoCall::Scale { .. } => Ok("desired count updated".into()),
                DemoCall::Restart => match snapshot.resources.iter().find(|r| r.id == id) {
                    Some(r) if r.details.iter().any(|(k, _)| k == "restarted") => Ok("a new deployment started".into()),
                    _ => fail("no new deployment".into()),
                },
                DemoCall::Snapshot => match snapshot.backups.iter().find(|b| b.id == id || b.resource == id) {
                    Some(b) if b.last_backup_at.is_some_and(|at| self.clock.now() - at < Duration::minutes(1)) => {
                        Ok("fresh backup present".into())
                    }
                    _ => fail("no fresh backup".into()),
                },
                DemoCall::Restore { name, .. } => {
                    if snapshot.resources.iter().any(|r| r.name == *name) {
                        Ok(format!("{name} is being created"))
                    } else {
                        fail(format!("{name} not found"))
                    }
                }
                DemoCall::Ack => match snapshot.alerts.iter().find(|a| a.id == id) {
                    Some(a) if a.state == AlertState::Acknowledged => {
                        Ok(format!("'{}' is Acknowledged ({})", a.name, a.acked_by.as_deref().unwrap_or("—")))
                    }
                    _ => fail(format!("'{}' is still firing", plan.target_name)),
                },
                DemoCall::Silence { .. } => match snapshot.alerts.iter().find(|a| a.id == id) {
                    Some(Alert { silenced_until: Some(until), name, .. }) => {
                        Ok(format!("'{name}' is silenced until {} UTC", until.format("%H:%M")))
                    }
                    _ => fail(format!("'{}' is not silenced", plan.target_name)),
                },
                DemoCall::Rotate => match snapshot.secrets.iter().find(|s| s.id == id) {
                    Some(s) if s.level(self.clock.now()) == Level::Ok => Ok("rotation is current".into()),
                    _ => fail("secret still overdue".into()),
                },
            }
        })
    }
}

/// What a demo plan does to the simulated estate; `execute` and `verify` read only this (and
/// the target), never the request's params.
#[derive(Debug, serde::Serialize)]
enum DemoCall {
    /// Approve or reject the pending deployment (the target is the approval).
    Review {
        approve: bool,
    },
    /// Re-run (same id, one more attempt) or dispatch (a new run), on `git_ref` or the run's branch.
    NewRun {
        rerun: bool,
        git_ref: Option<String>,
    },
    Cancel,
    /// Promote or roll back: serve version `to`.
    Shift {
        to: String,
    },
    Scale {
        count: u32,
    },
    /// Restart a service: a new deployment of what it runs.
    Restart,
    Snapshot,
    /// Silence the alert's notifications for `minutes` from when it runs.
    Silence {
        minutes: i64,
    },
    /// Restore into a new server `name`, as the source was at `time` (RFC 3339).
    Restore {
        time: String,
        name: String,
    },
    Rotate,
    /// Acknowledge the alert (the target).
    Ack,
}

/// Who the demo says acknowledged an alert from this TUI.
const OPERATOR: &str = "you";

/// Why an alert from `source` cannot be acknowledged from skydeck: its API has no such state.
fn no_ack_reason(source: &str) -> String {
    match source {
        "CloudWatch" => super::aws::CLOUDWATCH_NO_ACK.into(),
        "Cloud Monitoring" => super::gcp::CLOUD_MONITORING_NO_ACK.into(),
        "Dependabot" | "code scanning" | "secret scanning" => super::github::GITHUB_NO_ACK.into(),
        _ => format!("{source} alerts have no acknowledgement in skydeck"),
    }
}

/// Why the demo cannot silence an alert of `source`, in the words of the real adapters.
fn no_silence_reason(source: &str) -> String {
    match source {
        "CloudWatch" => super::aws::CLOUDWATCH_NO_SILENCE.into(),
        "Dependabot" | "code scanning" | "secret scanning" => super::github::GITHUB_NO_SILENCE.into(),
        _ => format!("{source} alerts cannot be silenced in skydeck"),
    }
}

/// Every capability: the sandbox plans, runs and verifies all verbs through one router.
impl super::OneHandler for Sandbox {
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

#[cfg(test)]
mod tests;
