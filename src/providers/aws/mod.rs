//! AWS through aws-config and the aws-sdk crates: ECS services and their rollouts, RDS instances
//! with their backups and point-in-time window, Secrets Manager metadata, `CloudWatch` metrics,
//! alarms and `CloudWatch` Logs. One provider per account/region entry. Credentials come from aws-config's
//! standard chain (environment, shared config and credentials files, SSO, assume-role,
//! `credential_process`), so whatever works for the `aws` CLI works here.

mod identity;
pub use identity::{CLOUDWATCH_NO_ACK, CLOUDWATCH_NO_SILENCE, PROVIDER, kind};
mod alarms;
pub mod config;
mod ecs;
pub mod errors;
mod limit;
pub(crate) mod logs;
mod metrics;
mod rds;
mod s3;
mod secrets;

pub(crate) use crate::actions::not_applicable;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::primitives::DateTime as SdkDateTime;
use chrono::Utc;

use super::{
    BoxFuture, BuildContext, BuildError, Capabilities, PointInTimeRestore, Provider, ProviderError, RotateSecret,
    RunControl, Scale, Source, TakeSnapshot, TrafficShift, canonical_environment, environment_of,
};
use crate::actions::{ActionError, ActionRequest, Plan, PlannedCall, Risk, TargetKind, Verb};
use crate::config::Config;
use crate::model::{Environment, LogLine, Snapshot, Tier, Timestamp};
use config::{AwsConfig, AwsLoadBalancerConfig};

pub use logs::severity_of;
pub use metrics::{MetricTarget, Part, QueryMeaning, metrics_from_results, queries_for};
pub use s3::S3_CACHE;

/// Attempts per call, throttling included (the SDK backs off between them).
pub const MAX_ATTEMPTS: u32 = 4;
/// One call, all attempts included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_mins(1);
/// The poll interval while a service rolls out, so its progress shows as it happens.
pub const ROLLOUT_REFRESH: Duration = Duration::from_secs(5);

/// One account/region as configured: an `[aws]` section or one `[[aws.accounts]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSettings {
    /// The provider's name: "aws", or "aws:<profile|region>" when there are several.
    pub label: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub clusters: Vec<String>,
    pub db_instances: Vec<String>,
    pub secrets: Vec<String>,
    pub log_groups: Vec<String>,
    pub load_balancers: BTreeMap<String, AwsLoadBalancerConfig>,
    pub required_retention_days: Option<u32>,
    /// How long an ECS action watches the rollout, and how often it looks.
    pub rollout_timeout: Duration,
    pub rollout_poll: Duration,
    /// The least time between two `CloudWatch` Logs polls (the loop asks every second).
    pub log_poll: Duration,
}

impl AccountSettings {
    /// Settings for one account with defaults, as tests and `[aws]` without accounts build them.
    pub fn new(label: impl Into<String>) -> Self {
        AccountSettings {
            label: label.into(),
            region: None,
            profile: None,
            endpoint_url: None,
            clusters: Vec::new(),
            db_instances: Vec::new(),
            secrets: Vec::new(),
            log_groups: Vec::new(),
            load_balancers: BTreeMap::new(),
            required_retention_days: None,
            rollout_timeout: Duration::from_mins(10),
            rollout_poll: Duration::from_secs(2),
            log_poll: Duration::from_secs(5),
        }
    }
}

/// `[aws]` and its `[[aws.accounts]]` as a list of accounts. With entries, `[aws]` only gives
/// their defaults; without, it is the one account.
pub fn accounts(section: &AwsConfig) -> Vec<AccountSettings> {
    let base = |a: &mut AccountSettings| {
        a.region = section.region.clone();
        a.profile = section.profile.clone();
        a.endpoint_url = section.endpoint_url.clone();
        a.clusters = section.clusters.clone();
        a.db_instances = section.db_instances.clone();
        a.secrets = section.secrets.clone();
        a.log_groups = section.log_groups.clone();
        a.load_balancers = section.load_balancers.clone();
        a.required_retention_days = section.required_retention_days;
        a.rollout_timeout = Duration::from_secs(section.rollout_timeout_seconds.max(1));
    };
    let mut out = Vec::new();
    if section.accounts.is_empty() {
        let mut a = AccountSettings::new("aws");
        base(&mut a);
        out.push(a);
        return out;
    }
    for entry in &section.accounts {
        let mut a = AccountSettings::new("aws");
        base(&mut a);
        let or = |own: &Vec<String>, dflt: &Vec<String>| if own.is_empty() { dflt.clone() } else { own.clone() };
        a.region = entry.region.clone().or(a.region);
        a.profile = entry.profile.clone().or(a.profile);
        a.endpoint_url = entry.endpoint_url.clone().or(a.endpoint_url);
        a.clusters = or(&entry.clusters, &section.clusters);
        a.db_instances = or(&entry.db_instances, &section.db_instances);
        a.secrets = or(&entry.secrets, &section.secrets);
        a.log_groups = or(&entry.log_groups, &section.log_groups);
        if !entry.load_balancers.is_empty() {
            a.load_balancers = entry.load_balancers.clone();
        }
        a.required_retention_days = entry.required_retention_days.or(a.required_retention_days);
        out.push(a);
    }
    if out.len() > 1 {
        let short = |a: &AccountSettings| a.profile.clone().or(a.region.clone()).unwrap_or_else(|| "default".into());
        let shorts: Vec<String> = out.iter().map(short).collect();
        for (i, a) in out.iter_mut().enumerate() {
            let unique = shorts.iter().filter(|s| **s == shorts[i]).count() == 1;
            a.label = if unique {
                format!("aws:{}", shorts[i])
            } else {
                format!(
                    "aws:{}/{}",
                    a.profile.as_deref().unwrap_or("default"),
                    a.region.as_deref().unwrap_or("default")
                )
            };
        }
    }
    out
}

/// The SDK configuration of one account through aws-config's standard chain.
pub async fn sdk_config(account: &AccountSettings) -> SdkConfig {
    sdk_config_within(account, super::net::DEFAULT_REQUEST_TIMEOUT).await
}

/// [`sdk_config`] with each attempt of a call limited to `attempt_timeout`
/// (`[refresh] request_timeout_seconds`); the SDK's standard retries back off with jitter.
pub async fn sdk_config_within(account: &AccountSettings, attempt_timeout: Duration) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5).min(attempt_timeout))
                .operation_attempt_timeout(attempt_timeout)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(region) = &account.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &account.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &account.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The registry's entry: builds from the `[aws]` section, `None` without one.
pub async fn from_config(ctx: &BuildContext<'_>) -> Option<Result<Vec<Arc<dyn Provider>>, BuildError>> {
    let section = match super::section_of::<config::AwsConfig>(ctx)? {
        Ok(section) => section,
        Err(why) => return Some(Err(why)),
    };
    Some(build(&section, ctx).await)
}

pub async fn build(section: &AwsConfig, ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let mut out: Vec<Arc<dyn Provider>> = Vec::new();
    let mut errors = Vec::new();
    for account in accounts(section) {
        let sdk = sdk_config_within(&account, super::net::request_timeout(ctx.config)).await;
        if sdk.region().is_none() {
            errors.push(BuildError::Config(format!(
                "{}: no AWS region: set `region` in [aws] (or AWS_REGION, or `region` in the profile)",
                account.label
            )));
            continue;
        }
        out.push(Arc::new(AwsProvider::new(account, &sdk, ctx.config)));
    }
    if out.is_empty() && !errors.is_empty() {
        return Err(BuildError::Each(errors));
    }
    for e in errors {
        tracing::warn!("aws: {e}");
    }
    Ok(out)
}

/// What the last fetch learned beyond the model, for planning and executing actions.
#[derive(Default)]
struct Meta {
    services: HashMap<String, ecs::ServiceMeta>,
    databases: HashMap<String, rds::DbMeta>,
    secrets: HashMap<String, secrets::SecretMeta>,
    /// Log group -> the label its lines carry (the service's name).
    log_groups: BTreeMap<String, String>,
}

/// A part of the estate that failed to load: a config mistake fails the whole fetch, anything
/// else only that part (unless every part fails).
enum Fail {
    Config(ProviderError),
    Part(ProviderError),
}

type EcsPart = Vec<(crate::model::Resource, ecs::ServiceMeta)>;
type RdsPart = Vec<(crate::model::Resource, Option<crate::model::Backup>, rds::DbMeta)>;
type SecretsPart = Vec<(crate::model::Secret, secrets::SecretMeta)>;

/// The last good read of each part, shown (as of when) while that part fails.
#[derive(Default)]
struct LastGood {
    ecs: Option<(Timestamp, EcsPart)>,
    rds: Option<(Timestamp, RdsPart)>,
    secrets: Option<(Timestamp, SecretsPart)>,
}

/// How the parts of one fetch went.
#[derive(Default)]
struct Parts {
    failed: usize,
    fatal: Option<ProviderError>,
    /// (part, why) for the status bar.
    failures: Vec<(String, ProviderError)>,
}

impl Parts {
    /// A part's fresh data; or, when it failed, its last good data (noted with its age); or
    /// nothing.
    fn settle<T: Clone>(
        &mut self,
        part: &str,
        result: Result<T, Fail>,
        last: &mut Option<(Timestamp, T)>,
        now: Timestamp,
    ) -> Option<T> {
        match result {
            Ok(v) => {
                *last = Some((now, v.clone()));
                Some(v)
            }
            Err(Fail::Config(e)) => {
                self.failed += 1;
                self.fatal.get_or_insert(e);
                None
            }
            Err(Fail::Part(e)) => {
                self.failed += 1;
                if let Some((at, v)) = last {
                    self.failures.push((format!("{part} (showing {} UTC)", at.format("%H:%M:%S")), e));
                    Some(v.clone())
                } else {
                    self.failures.push((part.to_string(), e));
                    None
                }
            }
        }
    }
}

impl From<ProviderError> for Fail {
    fn from(e: ProviderError) -> Self {
        Fail::Part(e)
    }
}

pub struct AwsProvider {
    name: String,
    settings: AccountSettings,
    region: String,
    errors: errors::ErrorContext,
    ecs: aws_sdk_ecs::Client,
    rds: aws_sdk_rds::Client,
    secrets: aws_sdk_secretsmanager::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    s3: s3::S3,
    config: Config,
    meta: Mutex<Meta>,
    task_definitions: Mutex<HashMap<String, Arc<aws_sdk_ecs::types::TaskDefinition>>>,
    tail: Mutex<logs::TailState>,
    /// A service was rolling out at the last fetch.
    rolling: AtomicBool,
    last_good: Mutex<LastGood>,
}

impl AwsProvider {
    /// A provider for one account on an SDK configuration (the standard chain in `build`,
    /// explicit endpoint and credentials in tests).
    pub fn new(settings: AccountSettings, sdk: &SdkConfig, config: &Config) -> Self {
        let region = sdk.region().map(std::string::ToString::to_string).unwrap_or_default();
        let errors = errors::ErrorContext {
            profile: settings.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty())),
            region: region.clone(),
            endpoint: settings.endpoint_url.clone(),
        };
        AwsProvider {
            name: settings.label.clone(),
            region,
            errors,
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(sdk).interceptor(limit::BodyLimit).build(),
            ),
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(sdk).interceptor(limit::BodyLimit).build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(limit::BodyLimit).build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(sdk).interceptor(limit::BodyLimit).build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(sdk).interceptor(limit::BodyLimit).build(),
            ),
            s3: s3::S3::new(sdk, settings.endpoint_url.is_some()),
            config: config.clone(),
            settings,
            meta: Mutex::new(Meta::default()),
            task_definitions: Mutex::new(HashMap::new()),
            tail: Mutex::new(logs::TailState::default()),
            rolling: AtomicBool::new(false),
            last_good: Mutex::new(LastGood::default()),
        }
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The environment of a resource: its `environment`/`env` tag, else a name suffix, else
    /// "unassigned", in the config's spelling.
    fn environment(&self, names: &[&str], tags: &[(&str, &str)]) -> String {
        let mut env = environment_of(names.first().copied().unwrap_or_default(), tags.iter().copied());
        for name in names.iter().skip(1) {
            if env != "unassigned" {
                break;
            }
            env = environment_of(name, []);
        }
        super::configured_environment(&self.config, &env)
    }

    fn required_retention(&self, environment: &str) -> u32 {
        self.settings.required_retention_days.unwrap_or(if self.config.tier_of(environment) == Tier::Prod {
            35
        } else {
            7
        })
    }

    async fn fetch_all(&self) -> Result<Snapshot, ProviderError> {
        let now = Utc::now();
        let (ecs, rds, secrets) = tokio::join!(self.fetch_ecs(), self.fetch_rds(now), self.fetch_secrets());
        let mut snap = Snapshot::default();
        let mut parts = Parts::default();
        let (ecs, rds, secrets) = {
            let mut last = self.last_good.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (
                parts.settle("ECS", ecs, &mut last.ecs, now),
                parts.settle("RDS", rds, &mut last.rds, now),
                parts.settle("Secrets Manager", secrets, &mut last.secrets, now),
            )
        };
        let mut failures = std::mem::take(&mut parts.failures);
        let mut meta = Meta::default();
        let mut metric_targets = Vec::new();
        for (resource, m) in ecs.into_iter().flatten() {
            for group in &m.log_groups {
                meta.log_groups.insert(group.clone(), m.service.clone());
            }
            metric_targets.push(MetricTarget::EcsService {
                cluster: m.cluster.clone(),
                service: m.service.clone(),
                environment: resource.environment.clone(),
                load_balancer: self.settings.load_balancers.get(&m.service).cloned(),
            });
            meta.services.insert(resource.id.clone(), m);
            snap.resources.push(resource);
        }
        for (resource, backup, m) in rds.into_iter().flatten() {
            metric_targets.push(MetricTarget::RdsInstance {
                identifier: m.identifier.clone(),
                environment: resource.environment.clone(),
            });
            meta.databases.insert(resource.id.clone(), m);
            snap.resources.push(resource);
            snap.backups.extend(backup);
        }
        for (secret, m) in secrets.into_iter().flatten() {
            meta.secrets.insert(secret.id.clone(), m);
            snap.secrets.push(secret);
        }
        if let Some(e) = parts.fatal {
            return Err(e);
        }
        if parts.failed == 3 {
            // Nothing could be read: say the most useful reason (credentials first).
            let pick = failures
                .iter()
                .position(|(_, e)| matches!(e, ProviderError::Auth { .. }))
                .or_else(|| failures.iter().position(|(_, e)| matches!(e, ProviderError::RateLimited { .. })))
                .unwrap_or(0);
            return Err(failures.swap_remove(pick).1);
        }
        for group in &self.settings.log_groups {
            meta.log_groups.entry(group.clone()).or_insert_with(|| group.clone());
        }
        if !metric_targets.is_empty() {
            match self.fetch_metrics(&metric_targets, now).await {
                Ok(m) => snap.metrics = m,
                Err(e) => failures.push(("CloudWatch metrics".to_string(), e)),
            }
        }
        // Buckets and alarms are read besides the rest and never fail the fetch on their own.
        let (storage, alarms) = tokio::join!(self.fetch_storage(), self.fetch_alarms());
        match storage {
            Ok(stores) => snap.storage = stores,
            Err(e) => failures.push(("S3".to_string(), e)),
        }
        match alarms {
            Ok((alerts, rules)) => {
                snap.alerts = alerts;
                snap.alert_rules = rules;
            }
            Err(e) => failures.push(("CloudWatch alarms".to_string(), e)),
        }
        *self.meta() = meta;
        let rolling = snap.resources.iter().any(|r| r.kind == "ECS service" && r.status == "IN_PROGRESS");
        self.rolling.store(rolling, Ordering::Relaxed);
        let envs: BTreeSet<String> = snap
            .resources
            .iter()
            .map(|r| r.environment.clone())
            .chain(snap.secrets.iter().map(|s| s.environment.clone()))
            .chain(snap.storage.iter().map(|s| s.environment.clone()))
            .collect();
        snap.environments = envs
            .into_iter()
            .map(|name| Environment { tier: self.config.tier_of(&name), name, protection_rules: Vec::new() })
            .collect();
        let mut note = vec![self.region.clone()];
        for (part, e) in &failures {
            tracing::warn!("{}: {part}: {e}", self.name);
            note.push(format!("{part}: {e}"));
        }
        snap.source_note = Some(note.join(" · "));
        Ok(snap)
    }

    /// The skeleton of a plan for a target of this provider.
    fn plan_for(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<(Plan, TargetKind), ActionError> {
        let (plan, target) = Plan::for_target(request, &self.name, snapshot)?;
        Ok((plan, target.kind))
    }
}

pub(crate) fn call(description: impl Into<String>, call: impl Into<String>) -> PlannedCall {
    PlannedCall { description: description.into(), call: call.into() }
}

/// An SDK timestamp as a chrono one.
pub(crate) fn ts(t: &SdkDateTime) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// A chrono timestamp as an SDK one.
pub(crate) fn sdk_time(t: Timestamp) -> SdkDateTime {
    SdkDateTime::from_millis(t.timestamp_millis())
}

/// `canonical_environment` of path segments such as `inference/prod/openai-key`.
pub(crate) fn environment_in_path(name: &str) -> Option<String> {
    name.split(['/', '_', '.'])
        .map(canonical_environment)
        .find(|e| matches!(e.as_str(), "production" | "staging" | "dev"))
}

impl Source for AwsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    /// The configured interval, shorter while a service rolls out.
    fn refresh_interval(&self) -> Duration {
        let configured = Duration::from_secs(self.config.refresh.seconds.max(1));
        if self.rolling.load(Ordering::Relaxed) { configured.min(ROLLOUT_REFRESH) } else { configured }
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(self.fetch_all())
    }

    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(self.tail_logs(after))
    }

    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(self.service_log(target))
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            run_control: Some(self),
            traffic_shift: Some(self),
            scale: Some(self),
            point_in_time_restore: Some(self),
            take_snapshot: Some(self),
            rotate_secret: Some(self),
            refusals: &[(Verb::Ack, identity::CLOUDWATCH_NO_ACK), (Verb::Silence, identity::CLOUDWATCH_NO_SILENCE)],
            ..Capabilities::NONE
        }
    }
}

/// The actions. What a plan does is chosen by the target (an ECS service, an RDS instance, a
/// Secrets Manager secret), whichever handler the verb came to, so a verb that does not fit the
/// target gets that service's own refusal; `execute` and `verify` follow the plan's payload.
impl AwsProvider {
    fn plan_target(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, kind) = self.plan_for(request, snapshot)?;
        let id = plan.request.target.clone();
        let verb = request.verb;
        if let Some(service) = self.meta().services.get(&id).cloned() {
            let resource =
                snapshot.resources.iter().find(|r| r.id == id).ok_or_else(|| ActionError::NotFound(id.clone()))?;
            self.plan_ecs(&mut plan, resource, &service)?;
            return Ok(plan);
        }
        if let Some(db) = self.meta().databases.get(&id).cloned() {
            let backup = snapshot.backups.iter().find(|b| b.id == id).cloned();
            self.plan_rds(&mut plan, &db, backup.as_ref(), snapshot)?;
            return Ok(plan);
        }
        if let Some(secret) = self.meta().secrets.get(&id).cloned() {
            self.plan_secret(&mut plan, &secret)?;
            return Ok(plan);
        }
        Err(not_applicable(
            verb,
            &plan.target_name,
            format!("AWS offers no '{verb}' for this {kind:?} (refresh, then try again)").to_lowercase(),
        ))
    }

    fn execute_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            match plan.payload::<AwsCall>().map_err(|_| not_made_here(plan))? {
                AwsCall::Ecs { cluster, service, change } => self.execute_ecs(cluster, service, change).await,
                AwsCall::Rds(call) => self.execute_rds(plan, call).await,
                AwsCall::Secret { rotate, .. } => self.execute_secret(plan, *rotate).await,
            }
        })
    }

    fn verify_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            match plan.payload::<AwsCall>().map_err(|_| not_made_here(plan))? {
                AwsCall::Ecs { cluster, service, change } => self.verify_ecs(cluster, service, change).await,
                AwsCall::Rds(call) => self.verify_rds(plan, call).await,
                AwsCall::Secret { rotate, version_before } => self.verify_secret(plan, *rotate, version_before).await,
            }
        })
    }
}

/// ECS: `rerun` restarts a service (a new deployment of the same task definition, as
/// `promote --param force=true`); the other run verbs are CI's.
impl RunControl for AwsProvider {
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        if request.verb == Verb::Rerun && self.meta().services.contains_key(&request.target) {
            return self.plan_target(request, snapshot);
        }
        let (plan, _) = self.plan_for(request, snapshot)?;
        Err(not_applicable(
            request.verb,
            &plan.target_name,
            format!("'{}' is for CI runs; on an ECS service 'rerun' is a restart", request.verb),
        ))
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.execute_call(plan)
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.verify_call(plan)
    }
}

/// ECS: a task definition revision or an image tag (for which container), or the same revision
/// again (`force=true`).
impl TrafficShift for AwsProvider {
    fn accepted_params(&self, verb: Verb) -> &'static [&'static str] {
        if verb == Verb::Promote { &["to", "force", "container"] } else { &["to"] }
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

/// ECS: the desired task count.
impl Scale for AwsProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["count"]
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

/// RDS: a point-in-time restore into a new instance.
impl PointInTimeRestore for AwsProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["time", "name"]
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

/// RDS: a manual snapshot.
impl TakeSnapshot for AwsProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["name"]
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

/// Secrets Manager: a rotation through its function, or a new value from stdin.
impl RotateSecret for AwsProvider {
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

fn not_made_here(plan: &Plan) -> ActionError {
    not_applicable(plan.request.verb, &plan.target_name, "this plan was not made by the AWS provider")
}

/// What an AWS plan calls; `execute` and `verify` read only this (and the target), never the
/// request's params.
#[derive(Debug, serde::Serialize)]
enum AwsCall {
    /// `ecs:UpdateService cluster service ...`.
    Ecs {
        cluster: String,
        service: String,
        change: EcsChange,
    },
    Rds(RdsCall),
    /// Secrets Manager: `RotateSecret` (`rotate`) or `PutSecretValue` from the typed value;
    /// verify wants a current version other than `version_before`.
    Secret {
        rotate: bool,
        version_before: String,
    },
}

#[derive(Debug, serde::Serialize)]
enum EcsChange {
    /// Point the service at an existing task definition.
    Update {
        task_definition: String,
    },
    /// A new deployment of the same task definition; `deployment_before` was the primary one.
    Force {
        deployment_before: Option<String>,
    },
    Scale {
        count: i32,
    },
    /// Register a copy of `base` whose `container` runs `image`, then point the service at it.
    Register {
        container: String,
        image: String,
        base: String,
    },
}

#[derive(Debug, serde::Serialize)]
enum RdsCall {
    /// `rds:CreateDBSnapshot` named `name`.
    Snapshot { name: String },
    /// `rds:RestoreDBInstanceToPointInTime` into the new instance `name`, at `restore_time`
    /// (to the millisecond) or the latest restorable time.
    Restore { name: String, restore_time: Option<Timestamp> },
}

/// Risk of changing what a service runs: production is high.
pub(crate) fn change_risk(tier: Tier) -> Risk {
    if tier == Tier::Prod { Risk::High } else { Risk::Low }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_section_is_one_account_named_aws() {
        let section =
            AwsConfig { region: Some("eu-west-1".into()), rollout_timeout_seconds: 30, ..AwsConfig::default() };
        let a = accounts(&section);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].label, "aws");
        assert_eq!(a[0].region.as_deref(), Some("eu-west-1"));
        assert_eq!(a[0].rollout_timeout, Duration::from_secs(30));
    }

    #[test]
    fn several_accounts_get_distinct_names_and_inherit_defaults() {
        let entry = |profile: Option<&str>, region: Option<&str>| config::AwsAccountConfig {
            profile: profile.map(str::to_string),
            region: region.map(str::to_string),
            ..Default::default()
        };
        let section = AwsConfig {
            region: Some("eu-west-1".into()),
            clusters: vec!["shop-prod".into()],
            accounts: vec![
                entry(Some("prod"), None),
                entry(Some("staging"), Some("us-east-1")),
                entry(Some("staging"), Some("eu-west-1")),
            ],
            ..AwsConfig::default()
        };
        let a = accounts(&section);
        let names: Vec<_> = a.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(names, ["aws:prod", "aws:staging/us-east-1", "aws:staging/eu-west-1"]);
        assert_eq!(a[0].region.as_deref(), Some("eu-west-1"));
        assert_eq!(a[1].region.as_deref(), Some("us-east-1"));
        assert_eq!(a[2].clusters, ["shop-prod"]);
    }

    #[test]
    fn a_failing_part_shows_its_last_good_data() {
        let now = Utc::now();
        let mut last: Option<(Timestamp, Vec<u32>)> = None;
        let mut parts = Parts::default();
        let unavailable = || Fail::Part(ProviderError::Unavailable("down".into()));
        assert_eq!(parts.settle("ECS", Err(unavailable()), &mut last, now), None);
        assert_eq!(parts.settle("ECS", Ok(vec![1, 2]), &mut last, now), Some(vec![1, 2]));
        assert_eq!(parts.settle("ECS", Err(unavailable()), &mut last, now), Some(vec![1, 2]));
        assert_eq!(parts.failed, 2);
        assert!(parts.failures[1].0.starts_with("ECS (showing "), "{:?}", parts.failures);
        let config = Fail::Config(ProviderError::Unavailable("no such cluster".into()));
        assert_eq!(parts.settle("ECS", Err(config), &mut last, now), None);
        assert!(parts.fatal.is_some());
    }

    #[test]
    fn environments_in_secret_paths() {
        assert_eq!(environment_in_path("inference/prod/openai-key").as_deref(), Some("production"));
        assert_eq!(environment_in_path("shop/stg/db").as_deref(), Some("staging"));
        assert_eq!(environment_in_path("shop/db-password"), None);
    }
}
