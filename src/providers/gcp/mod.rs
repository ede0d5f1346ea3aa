//! Google Cloud: Cloud Run services, revisions and traffic; Cloud SQL instances, backups and
//! the point-in-time window; Secret Manager secrets and versions (never payloads); Cloud
//! Logging for the log viewer; Cloud Monitoring against the thresholds; Cloud Storage buckets'
//! protection (versioning, soft delete, retention, location type). Tokens come from
//! `gcp_auth`, the REST calls go through reqwest (rustls). One provider per project.
//!
//! Actions: promote/roll back = move Cloud Run traffic (a long-running operation polled to the
//! end, then the traffic is re-read and the service's health path probed); restore = clone a
//! Cloud SQL instance at a point in time into a new instance; snapshot = an on-demand backup;
//! rotate = add a Secret Manager version (value from stdin) and disable the previous one.

mod identity;
pub use identity::{CLOUD_MONITORING_NO_ACK, PROVIDER, kind};
mod alerts;
pub mod client;
pub mod config;
mod logging;
mod monitoring;
mod run;
mod secrets;
mod sql;
pub mod storage;

use crate::actions::not_applicable;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

pub use self::client::{Api, Auth, Credentials, Endpoints, GcpClient, OperationEnd};
use super::{
    AlertControl, BoxFuture, BuildContext, BuildError, Capabilities, PointInTimeRestore, Provider, ProviderError,
    RotateSecret, Source, TakeSnapshot, TrafficShift, environment_of,
};
use crate::actions::{ActionError, ActionRequest, Plan, PlannedCall, Risk, TargetKind, Verb};
use crate::config::Config;
use crate::model::{
    Alert, AlertKind, AlertRule, AlertState, Backup, Environment, LogLine, Metric, Resource, Role, Secret, Snapshot,
    Tier, Timestamp,
};
use config::GcpConfig;

// Enum names in the order of the discovery documents, which is their proto numbering: the
// integer Google sends with `$alt=json;enum-encoding=int` is the index.
pub const CONDITION_STATE: &[&str] =
    &["STATE_UNSPECIFIED", "CONDITION_PENDING", "CONDITION_RECONCILING", "CONDITION_FAILED", "CONDITION_SUCCEEDED"];
pub const TRAFFIC_TYPE: &[&str] = &[
    "TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED",
    "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
    "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
];
pub const SECRET_VERSION_STATE: &[&str] = &["STATE_UNSPECIFIED", "ENABLED", "DISABLED", "DESTROYED"];
pub const SQL_INSTANCE_STATE: &[&str] = &[
    "SQL_INSTANCE_STATE_UNSPECIFIED",
    "RUNNABLE",
    "SUSPENDED",
    "PENDING_DELETE",
    "PENDING_CREATE",
    "MAINTENANCE",
    "FAILED",
    "ONLINE_MAINTENANCE",
    "REPAIRING",
];
pub const SQL_AVAILABILITY: &[&str] = &["SQL_AVAILABILITY_TYPE_UNSPECIFIED", "ZONAL", "REGIONAL"];
pub const SQL_ACTIVATION_POLICY: &[&str] = &["SQL_ACTIVATION_POLICY_UNSPECIFIED", "ALWAYS", "NEVER", "ON_DEMAND"];
pub const SQL_INSTANCE_TYPE: &[&str] = &[
    "SQL_INSTANCE_TYPE_UNSPECIFIED",
    "CLOUD_SQL_INSTANCE",
    "ON_PREMISES_INSTANCE",
    "READ_REPLICA_INSTANCE",
    "READ_POOL_INSTANCE",
    "GREEN_INSTANCE",
];
pub const SQL_BACKUP_RUN_STATUS: &[&str] = &[
    "SQL_BACKUP_RUN_STATUS_UNSPECIFIED",
    "ENQUEUED",
    "OVERDUE",
    "RUNNING",
    "FAILED",
    "SUCCESSFUL",
    "SKIPPED",
    "DELETION_PENDING",
    "DELETION_FAILED",
    "DELETED",
];
pub const SQL_BACKUP_RUN_TYPE: &[&str] = &["SQL_BACKUP_RUN_TYPE_UNSPECIFIED", "AUTOMATED", "ON_DEMAND"];
pub const SQL_OPERATION_STATUS: &[&str] = &["SQL_OPERATION_STATUS_UNSPECIFIED", "PENDING", "RUNNING", "DONE"];

/// An enum as Google sends it: its name, or its number.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Enum {
    Name(String),
    Number(i64),
    #[default]
    Unset,
}

impl Enum {
    pub fn name(&self, table: &[&str]) -> String {
        match self {
            Enum::Name(n) => n.clone(),
            Enum::Number(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| table.get(i))
                .map_or_else(|| i.to_string(), std::string::ToString::to_string),
            Enum::Unset => table.first().map(std::string::ToString::to_string).unwrap_or_default(),
        }
    }
}

/// [`Enum::name`] of a raw JSON value.
pub fn enum_name(v: &Value, table: &[&str]) -> String {
    serde_json::from_value::<Enum>(v.clone()).unwrap_or_default().name(table)
}

/// An int64, which Google's JSON writes as a string (numbers are accepted too).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum I64 {
    Number(i64),
    Text(String),
}

impl I64 {
    pub fn get(&self) -> Option<i64> {
        match self {
            I64::Number(n) => Some(*n),
            I64::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// `projects/p/locations/l/services/web` -> `web`.
pub fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A google.protobuf.Duration in JSON ("7200s", "1.5s") as seconds.
pub fn duration_secs(d: &str) -> Option<f64> {
    d.trim().strip_suffix('s')?.parse().ok()
}

/// How long actions wait. Tests shorten these.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Between polls of a long-running operation.
    pub poll_interval: Duration,
    /// A Cloud Run traffic change gives up after this long.
    pub run_timeout: Duration,
    /// A Cloud SQL clone or backup gives up after this long.
    pub sql_timeout: Duration,
    /// Health probes after promote/rollback (domain: 10 tries, 10 s apart).
    pub health_tries: u32,
    pub health_interval: Duration,
    /// The log tail asks Cloud Logging at most this often (its read quota is 60 a minute).
    pub log_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll_interval: Duration::from_secs(2),
            run_timeout: Duration::from_mins(15),
            sql_timeout: Duration::from_hours(1),
            health_tries: 10,
            health_interval: Duration::from_secs(10),
            log_interval: Duration::from_secs(15),
        }
    }
}

/// One project as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSettings {
    pub project: String,
    /// Cloud Run regions; empty = discover them.
    pub regions: Vec<String>,
    pub log_filter: Option<String>,
    /// Probed on the service URL after a traffic change; empty = no probe.
    pub health_path: String,
    pub timing: Timing,
}

impl ProjectSettings {
    pub fn from_config(section: &GcpConfig, project: &str) -> ProjectSettings {
        ProjectSettings {
            project: project.to_string(),
            regions: section.regions.clone(),
            log_filter: section.log_filter.clone().filter(|f| !f.trim().is_empty()),
            health_path: section.health_path.clone().unwrap_or_else(|| "/api/v1/health".into()),
            timing: Timing::default(),
        }
    }
}

/// The registry's entry: builds from the `[gcp]` section, `None` without one.
pub async fn from_config(ctx: &BuildContext<'_>) -> Option<Result<Vec<Arc<dyn Provider>>, BuildError>> {
    let section = match super::section_of::<config::GcpConfig>(ctx)? {
        Ok(section) => section,
        Err(why) => return Some(Err(why)),
    };
    Some(build(&section, ctx).await)
}

pub async fn build(section: &GcpConfig, ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let projects = section.all_projects();
    if projects.is_empty() {
        return Err(BuildError::Config(
            "[gcp] names no project: set project = \"my-project\" (or projects = [\"a\", \"b\"])".into(),
        ));
    }
    let auth = Arc::new(Auth::new(Credentials::from_config(section)?));
    let endpoints = Endpoints::from_config(section);
    let many = projects.len() > 1;
    let mut out: Vec<Arc<dyn Provider>> = Vec::new();
    for project in projects {
        let name = if many { format!("gcp:{project}") } else { "gcp".to_string() };
        let settings = ProjectSettings::from_config(section, &project);
        out.push(Arc::new(GcpProvider::connect(name, settings, endpoints.clone(), auth.clone(), ctx)?));
    }
    Ok(out)
}

#[derive(Debug, Clone)]
struct InstanceMeta {
    project: String,
    name: String,
    database_version: String,
    pitr: bool,
    replica: bool,
    window: Option<(Timestamp, Timestamp)>,
}

#[derive(Debug, Clone)]
struct SecretMeta {
    versions: Vec<secrets::Version>,
}

#[derive(Default)]
struct Meta {
    services: HashMap<String, run::ServiceMeta>,
    instances: HashMap<String, InstanceMeta>,
    secrets: HashMap<String, SecretMeta>,
    /// Discovered Cloud Run regions (when none are configured).
    regions: Option<Vec<String>>,
    /// What `execute` learnt that `verify` checks (the new secret version), by target.
    executed: HashMap<String, String>,
    /// The last read of the buckets (see [`storage::STORAGE_CACHE`]).
    storage: Option<(Instant, Vec<crate::model::ObjectStore>)>,
    /// Per open alert, its alerting policy (what a snooze names).
    alert_policies: HashMap<String, String>,
}

pub struct GcpProvider {
    name: String,
    settings: ProjectSettings,
    client: GcpClient,
    config: Arc<Config>,
    store: Arc<crate::store::Store>,
    meta: Mutex<Meta>,
    last_tail: Mutex<Option<Instant>>,
}

fn failed(e: ProviderError) -> ActionError {
    ActionError::Failed(e.to_string())
}

fn verify_failed(e: ProviderError) -> ActionError {
    ActionError::VerifyFailed(e.to_string())
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An error for the status bar: Google's message and status, without the API name, the call
/// and the fix (those are in the log and in the action's own errors).
fn brief(api: Api, e: &ProviderError) -> String {
    let text = match e {
        ProviderError::Auth { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let text = text.strip_prefix(&format!("{}: ", api.label())).unwrap_or(&text);
    match text.rfind(" [") {
        Some(at) if text.ends_with(']') => text[..at].to_string(),
        _ => text.to_string(),
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

impl GcpProvider {
    /// One project with credentials in hand (tests build it directly).
    pub fn connect(
        name: String,
        settings: ProjectSettings,
        endpoints: Endpoints,
        auth: Arc<Auth>,
        ctx: &BuildContext<'_>,
    ) -> Result<GcpProvider, BuildError> {
        Ok(GcpProvider {
            name,
            settings,
            client: GcpClient::new(endpoints, auth)?.with_request_timeout(super::net::request_timeout(ctx.config)),
            config: Arc::new(ctx.config.clone()),
            store: ctx.store.clone(),
            meta: Mutex::new(Meta::default()),
            last_tail: Mutex::new(None),
        })
    }

    pub fn client(&self) -> &GcpClient {
        &self.client
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn project(&self) -> &str {
        &self.settings.project
    }

    /// The environment of a resource: its `environment`/`env` label, else a name suffix, else
    /// "unassigned"; in the configured spelling.
    fn env_of(&self, name: &str, labels: &BTreeMap<String, String>) -> String {
        let found = environment_of(name, labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        BuildContext { config: &self.config, store: self.store.clone() }.environment_name(&found)
    }

    async fn regions(&self) -> Result<Vec<String>, ProviderError> {
        if !self.settings.regions.is_empty() {
            return Ok(self.settings.regions.clone());
        }
        if let Some(r) = self.meta().regions.clone() {
            return Ok(r);
        }
        let found = run::regions(&self.client, self.project()).await?;
        self.meta().regions = Some(found.clone());
        Ok(found)
    }

    /// The project's buckets with their protection; reused for [`storage::STORAGE_CACHE`].
    async fn buckets(&self) -> Result<Vec<crate::model::ObjectStore>, ProviderError> {
        if let Some((at, stores)) = &self.meta().storage
            && at.elapsed() < storage::STORAGE_CACHE
        {
            return Ok(stores.clone());
        }
        let project = self.project();
        let policy = self.config.backups.object_storage;
        let stores: Vec<_> = storage::fetch(&self.client, project)
            .await?
            .iter()
            .map(|b| storage::map_bucket(b, project, self.env_of(&b.name, &b.labels), policy))
            .collect();
        self.meta().storage = Some((Instant::now(), stores.clone()));
        Ok(stores)
    }

    async fn read(&self) -> Result<Snapshot, ProviderError> {
        let project = self.project().to_string();
        let c = &self.client;
        let now = Utc::now();
        let (services, instances, secrets, metrics, (firing, policies), buckets) = tokio::join!(
            async {
                let regions = self.regions().await?;
                run::fetch(c, &project, &regions).await
            },
            sql::fetch(c, &project),
            secrets::fetch(c, &project),
            monitoring::fetch(c, &project, now),
            async { tokio::join!(alerts::fetch(c, &project), alerts::policies(c, &project)) },
            self.buckets(),
        );
        let mut snap = Snapshot::default();
        let mut notes = Vec::new();
        let mut errors: Vec<(Api, ProviderError)> = Vec::new();
        let mut keep = |api: Api, e: ProviderError, notes: &mut Vec<String>| {
            if client::is_service_disabled(&e) {
                notes.push(format!("{} API off", api.label()));
            } else {
                tracing::warn!("{}: {e}", api.label());
                errors.push((api, e));
            }
        };

        // Cloud Run.
        let mut by_service: HashMap<(String, String), (String, String)> = HashMap::new();
        match services {
            Ok(list) => {
                let mut metas = HashMap::new();
                for (svc, revisions) in &list {
                    let m = run::map_service(svc, revisions);
                    let env = self.env_of(&m.meta.short, &svc.labels);
                    by_service
                        .insert((m.meta.short.clone(), m.meta.location.clone()), (m.meta.short.clone(), env.clone()));
                    snap.resources.push(Resource {
                        id: svc.name.clone(),
                        name: m.meta.short.clone(),
                        kind: crate::providers::gcp::kind::CLOUD_RUN_SERVICE.into(),
                        role: Role::Compute,
                        provider: crate::providers::gcp::PROVIDER,
                        environment: env,
                        region: m.meta.location.clone(),
                        status: m.status,
                        level: m.level,
                        current_version: m.current,
                        versions: m.versions,
                        details: m.details,
                    });
                    metas.insert(svc.name.clone(), m.meta);
                }
                self.meta().services = metas;
            }
            Err(e) => keep(Api::Run, e, &mut notes),
        }

        // Cloud SQL.
        match instances {
            Ok(list) => {
                let mut metas = HashMap::new();
                for d in &list {
                    let i = &d.instance;
                    let id = format!("projects/{}/instances/{}", i.project_or(&project), i.name);
                    let env = self.env_of(&i.name, &i.settings.user_labels);
                    let m = sql::map_instance(i, &list);
                    snap.resources.push(Resource {
                        id: id.clone(),
                        name: i.name.clone(),
                        kind: crate::providers::gcp::kind::CLOUD_SQL_INSTANCE.into(),
                        role: Role::Database,
                        provider: crate::providers::gcp::PROVIDER,
                        environment: env.clone(),
                        region: i.region.clone(),
                        status: m.status,
                        level: m.level,
                        current_version: Some(i.database_version.clone()).filter(|v| !v.is_empty()),
                        versions: Vec::new(),
                        details: m.details,
                    });
                    let window =
                        d.window.as_ref().and_then(|w| Some((w.earliest_recovery_time?, w.latest_recovery_time?)));
                    metas.insert(
                        id.clone(),
                        InstanceMeta {
                            project: i.project_or(&project).to_string(),
                            name: i.name.clone(),
                            database_version: i.database_version.clone(),
                            pitr: i.pitr(),
                            replica: i.is_replica(),
                            window,
                        },
                    );
                    if i.is_replica() {
                        continue;
                    }
                    let f = sql::backup_facts(d, &list);
                    let required = if self.config.tier_of(&env) == Tier::Prod { 35 } else { 7 };
                    snap.backups.push(Backup {
                        id: id.clone(),
                        resource: id,
                        database: i.name.clone(),
                        provider: crate::providers::gcp::PROVIDER,
                        environment: env,
                        last_backup_at: f.last_backup_at,
                        last_status: f.last_status,
                        retention_days: f.retention_days,
                        required_retention_days: required,
                        pitr_enabled: i.pitr(),
                        earliest_restore: window.map(|w| w.0),
                        latest_restore: window.map(|w| w.1),
                        geo_redundant: f.geo_redundant,
                    });
                }
                self.meta().instances = metas;
            }
            Err(e) => keep(Api::Sql, e, &mut notes),
        }

        // Secret Manager.
        match secrets {
            Ok(list) => {
                let mut metas = HashMap::new();
                for (s, versions) in list {
                    let short = short_name(&s.name).to_string();
                    let f = secrets::facts(&s, &versions);
                    snap.secrets.push(Secret {
                        id: s.name.clone(),
                        name: short.clone(),
                        store: "Secret Manager".into(),
                        provider: crate::providers::gcp::PROVIDER,
                        environment: self.env_of(&short, &s.labels),
                        enabled: f.enabled,
                        updated_at: f.last_version_at.or(s.create_time),
                        last_rotated: f.last_version_at,
                        rotation_days: f.rotation_days,
                        expires_at: s.expire_time,
                        versions: f.live_versions,
                    });
                    metas.insert(s.name.clone(), SecretMeta { versions });
                }
                self.meta().secrets = metas;
            }
            Err(e) => keep(Api::Secrets, e, &mut notes),
        }

        // Cloud Monitoring: optional; a failure is a note, never a failed source.
        match metrics {
            Ok(series) => {
                for s in series {
                    let Some((name, env)) = by_service.get(&(s.service.clone(), s.location.clone())) else {
                        continue;
                    };
                    let level = self.config.thresholds_for(env).level(s.kind, s.value);
                    snap.metrics.push(Metric {
                        environment: env.clone(),
                        resource: name.clone(),
                        kind: s.kind,
                        value: s.value,
                        level,
                        history: s.history,
                    });
                }
            }
            Err(e) if client::is_service_disabled(&e) => notes.push("Cloud Monitoring API off".into()),
            Err(e) => {
                tracing::warn!("Cloud Monitoring: {e}");
                notes.push(format!("metrics unavailable: {}", shorten(&brief(Api::Monitoring, &e), 80)));
            }
        }

        // Cloud Monitoring alerts: optional like the metrics.
        match firing {
            Ok(list) => {
                // Which are snoozed: asked only when something is open; a failure is a note.
                let mut snoozed = BTreeMap::new();
                if !list.is_empty() {
                    match alerts::snoozed_policies(c, &project, now).await {
                        Ok(found) => snoozed = found,
                        Err(e) => notes.push(format!(
                            "snoozes unavailable, silences not shown: {}",
                            shorten(&brief(Api::Monitoring, &e), 80)
                        )),
                    }
                }
                let policies: HashMap<String, String> =
                    list.iter().map(|a| (a.name.clone(), a.policy.name.clone())).collect();
                self.meta().alert_policies = policies;
                for a in list {
                    let resource = a.resource_name();
                    snap.alerts.push(Alert {
                        id: a.name.clone(),
                        provider: crate::providers::gcp::PROVIDER,
                        source: "Cloud Monitoring".into(),
                        kind: AlertKind::Monitoring,
                        name: if a.policy.display_name.is_empty() {
                            a.name.clone()
                        } else {
                            a.policy.display_name.clone()
                        },
                        severity: a.severity(),
                        state: AlertState::Firing,
                        environment: self.env_of(&resource, &a.labels()),
                        resource,
                        since: a.open_time,
                        link: Some(a.link(&project)),
                        can_ack: false,
                        can_silence: !a.policy.name.is_empty(),
                        silenced_until: snoozed.get(&a.policy.name).copied(),
                        acked_by: None,
                    });
                }
            }
            Err(e) if client::is_service_disabled(&e) => {}
            Err(e) => {
                tracing::warn!("Cloud Monitoring alerts: {e}");
                notes.push(format!("alerts unavailable: {}", shorten(&brief(Api::Monitoring, &e), 80)));
            }
        }

        // Alerting policies: which would stay quiet. Optional like the alerts.
        match policies {
            Ok(list) => snap.alert_rules.extend(list.iter().map(|p| AlertRule {
                id: p.name.clone(),
                provider: crate::providers::gcp::PROVIDER,
                source: "Cloud Monitoring".into(),
                name: if p.display_name.is_empty() { p.name.clone() } else { p.display_name.clone() },
                environment: self.env_of(&p.display_name, &p.user_labels),
                enabled: p.enabled.unwrap_or(true),
                notifies: !p.notification_channels.is_empty(),
                link: Some(p.link(&project)),
            })),
            Err(e) if client::is_service_disabled(&e) => {}
            Err(e) => {
                tracing::warn!("Cloud Monitoring alerting policies: {e}");
                notes.push(format!("alerting policies unavailable: {}", shorten(&brief(Api::Monitoring, &e), 80)));
            }
        }

        // Cloud Storage: read besides the rest; a failure is a note, never a failed source.
        match buckets {
            Ok(stores) => snap.storage = stores,
            Err(e) if client::is_service_disabled(&e) => notes.push("Cloud Storage API off".into()),
            Err(e) => {
                tracing::warn!("Cloud Storage: {e}");
                notes.push(format!("buckets unavailable: {}", shorten(&brief(Api::Storage, &e), 120)));
            }
        }

        // All three failed, or Google asks us to slow down: the whole source fails (the loop
        // backs off on RateLimited). One API failing leaves the others on screen, with a note.
        if let Some((_, e)) = errors.iter().find(|(_, e)| matches!(e, ProviderError::RateLimited { .. })) {
            return Err(e.clone());
        }
        if errors.len() == 3 {
            let (_, e) = errors.iter().find(|(_, e)| matches!(e, ProviderError::Auth { .. })).unwrap_or(&errors[0]);
            return Err(e.clone());
        }
        for (api, e) in &errors {
            notes.push(format!("{} failed: {}", api.label(), shorten(&brief(*api, e), 120)));
        }

        let mut envs: Vec<String> = snap
            .resources
            .iter()
            .map(|r| r.environment.clone())
            .chain(snap.secrets.iter().map(|s| s.environment.clone()))
            .chain(snap.storage.iter().map(|s| s.environment.clone()))
            .collect();
        envs.sort();
        envs.dedup();
        snap.environments = envs
            .into_iter()
            .map(|name| Environment { tier: self.config.tier_of(&name), name, protection_rules: Vec::new() })
            .collect();
        snap.source_note = Some(if notes.is_empty() {
            format!("project {project}")
        } else {
            format!("project {project} · {}", notes.join(" · "))
        });
        Ok(snap)
    }

    // ---- actions -------------------------------------------------------------------------

    fn plan_traffic(&self, request: &ActionRequest, mut plan: Plan) -> Result<Plan, ActionError> {
        let verb = request.verb;
        let meta = self
            .meta()
            .services
            .get(&request.target)
            .cloned()
            .ok_or_else(|| not_applicable(verb, &plan.target_name, "it is not a Cloud Run service"))?;
        let change = run::plan_traffic(
            &meta,
            verb,
            request.params.get("to").map(String::as_str),
            request.params.get("percent").map(String::as_str),
        )?;
        let run_api = &self.client.endpoints.run;
        let (_, created, _, image) = meta.revision(&change.to).cloned().unwrap_or_default();
        plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
        let new_text = run::split_text(&change.new_split);
        plan.summary = format!(
            "{verb} {} ({}, {}): traffic {} -> {new_text}. {} was created {}{}.",
            meta.short,
            meta.location,
            self.project(),
            run::split_text(&meta.serving),
            change.to,
            created.map_or_else(|| "at an unknown time".into(), |c| c.format("%Y-%m-%d %H:%M UTC").to_string()),
            if image.is_empty() { String::new() } else { format!(" from {image}") }
        );
        plan.calls.push(PlannedCall {
            description: format!("move the traffic: {new_text}"),
            call: format!("PATCH {run_api}/v2/{}?updateMask=traffic {}", meta.name, change.body),
        });
        plan.calls.push(PlannedCall {
            description: "wait for the rollout (the long-running operation the PATCH returns)".into(),
            call: format!(
                "GET {run_api}/v2/projects/{}/locations/{}/operations/… every {}s until done (at most {} min)",
                self.project(),
                meta.location,
                self.settings.timing.poll_interval.as_secs(),
                self.settings.timing.run_timeout.as_secs() / 60
            ),
        });
        let health = match (&meta.uri, self.settings.health_path.as_str()) {
            (_, "") => "no health probe (health_path is empty)".to_string(),
            (None, _) => "no health probe (the service has no URL)".to_string(),
            (Some(uri), path) => format!(
                "GET {}{path} answers 2xx (up to {} tries, {}s apart)",
                uri.trim_end_matches('/'),
                self.settings.timing.health_tries,
                self.settings.timing.health_interval.as_secs()
            ),
        };
        plan.verification = format!("GET {run_api}/v2/{}: traffic is {new_text}; then {health}", meta.name);
        plan.set_payload(GcpCall::Traffic { body: change.body.clone() });
        plan.request.params.insert("to".into(), change.to.clone());
        plan.request.params.insert("percent".into(), change.percent.to_string());
        plan.request.params.insert("body".into(), change.body.to_string());
        Ok(plan)
    }

    fn plan_sql(&self, request: &ActionRequest, mut plan: Plan) -> Result<Plan, ActionError> {
        let verb = request.verb;
        let m = self
            .meta()
            .instances
            .get(&request.target)
            .cloned()
            .ok_or_else(|| not_applicable(verb, &plan.target_name, "it is not a Cloud SQL instance"))?;
        let sql_api = &self.client.endpoints.sqladmin;
        let base = format!("{sql_api}/v1/projects/{}/instances/{}", m.project, m.name);
        let wait = PlannedCall {
            description: "wait for the operation to finish".into(),
            call: format!(
                "GET {sql_api}/v1/projects/{}/operations/… every {}s until status DONE (at most {} min)",
                m.project,
                self.settings.timing.poll_interval.as_secs(),
                self.settings.timing.sql_timeout.as_secs() / 60
            ),
        };
        plan.target_name = m.name.clone();
        if m.replica {
            return Err(not_applicable(
                verb,
                &m.name,
                "it is a read replica: backups and point-in-time clones are taken of its primary",
            ));
        }
        if verb == Verb::Snapshot {
            plan.summary = format!("take an on-demand backup of {} ({}); it is kept until deleted", m.name, m.project);
            plan.calls.push(PlannedCall {
                description: "start an on-demand backup".into(),
                call: format!("POST {base}/backupRuns {{}}"),
            });
            plan.calls.push(wait);
            plan.verification = format!("GET {base}/backupRuns: a new ON_DEMAND backup, SUCCESSFUL");
            let planned_at = Utc::now();
            plan.set_payload(GcpCall::Backup { planned_at });
            plan.request.params.insert("planned_at".into(), rfc3339(planned_at));
            return Ok(plan);
        }
        if !m.pitr {
            return Err(not_applicable(verb, &m.name, "point-in-time recovery is off"));
        }
        let Some((earliest, latest)) = m.window else {
            return Err(not_applicable(
                verb,
                &m.name,
                "the recovery window could not be read (getLatestRecoveryTime); try again after a refresh",
            ));
        };
        let at = match request.params.get("time") {
            None => latest,
            Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    ActionError::InvalidInput(format!("--time '{t}': {e} (use RFC 3339, e.g. 2026-02-08T10:00:00Z)"))
                })?
                .with_timezone(&Utc),
        };
        if at < earliest || at > latest {
            return Err(ActionError::InvalidInput(format!(
                "restore time {} is outside the recovery window {} .. {}",
                rfc3339(at),
                rfc3339(earliest),
                rfc3339(latest)
            )));
        }
        let new_name = if let Some(n) = request.params.get("name") {
            n.clone()
        } else {
            let stamp = at.format("%Y%m%d%H%M").to_string();
            let room = 80 - "-restored-".len() - stamp.len();
            let stem: String = m.name.chars().take(room).collect();
            format!("{}-restored-{stamp}", stem.trim_end_matches('-'))
        };
        if !sql::valid_instance_name(&new_name) {
            return Err(ActionError::InvalidInput(format!(
                "'{new_name}' is not a Cloud SQL instance name (lower-case letters, digits and hyphens, starting with a letter, at most 80)"
            )));
        }
        if self.meta().instances.values().any(|i| i.name == new_name && i.project == m.project) {
            return Err(ActionError::InvalidInput(format!(
                "an instance named {new_name} already exists; pass --name for the new instance"
            )));
        }
        let time = rfc3339(at);
        let body = json!({"cloneContext": {"destinationInstanceName": new_name, "pointInTime": time}});
        plan.risk = Risk::High;
        plan.summary = format!(
            "restore {} as it was at {time} by cloning it into a NEW instance {new_name} (same region, tier and settings); {} itself is not touched. The new instance is billed from now on; re-point the application to it yourself",
            m.name, m.name
        );
        plan.calls.push(PlannedCall {
            description: format!("clone {} at {time} into {new_name}", m.name),
            call: format!("POST {base}/clone {body}"),
        });
        plan.calls.push(wait);
        plan.verification = format!(
            "GET {sql_api}/v1/projects/{}/instances/{new_name}: exists, RUNNABLE, {}",
            m.project, m.database_version
        );
        plan.set_payload(GcpCall::Clone { body: body.clone(), name: new_name.clone(), time: time.clone() });
        plan.request.params.insert("time".into(), time);
        plan.request.params.insert("name".into(), new_name);
        plan.request.params.insert("body".into(), body.to_string());
        Ok(plan)
    }

    fn plan_rotate(&self, request: &ActionRequest, mut plan: Plan) -> Result<Plan, ActionError> {
        let verb = request.verb;
        let m = self
            .meta()
            .secrets
            .get(&request.target)
            .cloned()
            .ok_or_else(|| not_applicable(verb, &plan.target_name, "it is not a Secret Manager secret"))?;
        let Some(value) = request.secret_input.as_deref() else {
            return Err(ActionError::MissingInput(format!(
                "the new value of {}: pipe it to `skydeck act rotate {} --value-stdin` (it is never shown)",
                plan.target_name, request.target
            )));
        };
        if value.is_empty() || value.len() > 64 * 1024 {
            return Err(ActionError::InvalidInput(format!(
                "a secret value must be 1 byte to 64 KiB (this one is {} bytes)",
                value.len()
            )));
        }
        let disable = request.params.get("disable_previous").is_none_or(|v| v != "false");
        let previous = secrets::current_enabled(&m.versions).cloned();
        let sm = &self.client.endpoints.secretmanager;
        let id = &request.target;
        plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
        plan.summary = format!(
            "rotate {}: store a new version ({} bytes from stdin; the value is never shown){}",
            plan.target_name,
            value.len(),
            match (&previous, disable) {
                (Some(p), true) => format!(", then disable version {} (enabled now)", p.number()),
                (Some(p), false) => format!("; version {} stays enabled", p.number()),
                (None, _) => "; no version is enabled now".into(),
            }
        );
        plan.calls.push(PlannedCall {
            description: format!("add a version with the new value ({} bytes)", value.len()),
            call: format!(
                "POST {sm}/v1/{id}:addVersion {{\"payload\":{{\"data\":\"<{} bytes, base64, not shown>\",\"dataCrc32c\":\"<CRC32C of the value>\"}}}}",
                value.len()
            ),
        });
        let mut verification = format!("GET {sm}/v1/{id}/versions: the new version is ENABLED");
        if let (Some(p), true) = (&previous, disable) {
            plan.calls.push(PlannedCall {
                description: format!("only once the new version is stored: disable version {}", p.number()),
                call: format!("POST {sm}/v1/{}:disable {{}}", p.name),
            });
            verification.push_str(&format!(", version {} DISABLED", p.number()));
            plan.request.params.insert("previous".into(), p.name.clone());
        }
        plan.set_payload(GcpCall::AddVersion { previous: previous.filter(|_| disable).map(|p| p.name) });
        plan.verification = verification;
        Ok(plan)
    }

    async fn execute_traffic(&self, plan: &Plan) -> Result<String, ActionError> {
        let GcpCall::Traffic { body } = plan.payload::<GcpCall>()? else {
            return Err(ActionError::Failed("the plan carries no traffic body".into()));
        };
        let name = &plan.request.target;
        let url =
            self.client.url_with(Api::Run, &format!("/v2/{name}"), &[("updateMask", "traffic")]).map_err(failed)?;
        let op = self.client.call(Api::Run, Method::PATCH, &url, Some(body)).await.map_err(failed)?;
        let op_name = op.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let t = &self.settings.timing;
        match self.client.wait_operation(Api::Run, "v2", op, t.poll_interval, t.run_timeout).await {
            Ok(OperationEnd::Done(_)) => Ok(format!("traffic of {} moved to {}", short_name(name), traffic_text(body))),
            Ok(OperationEnd::Failed(why)) => {
                Err(ActionError::Failed(format!("the traffic change of {} failed: {why}", short_name(name))))
            }
            Err(ProviderError::Timeout(d)) => Err(ActionError::Failed(format!(
                "the rollout still runs after {}s (operation {op_name}); check it with `gcloud run services describe {}`",
                d.as_secs(),
                short_name(name)
            ))),
            Err(e) => Err(failed(e)),
        }
    }

    async fn verify_traffic(&self, plan: &Plan) -> Result<String, ActionError> {
        let no_body = Value::Null;
        let body = match plan.payload::<GcpCall>()? {
            GcpCall::Traffic { body } => body,
            _ => &no_body,
        };
        let want: BTreeMap<String, i64> = expected_allocation(body);
        let name = &plan.request.target;
        let url = self.client.url(Api::Run, &format!("/v2/{name}"));
        let svc: run::Service = self.client.get(Api::Run, &url).await.map_err(verify_failed)?;
        let now_serving = run::serving(&svc);
        if run::allocation(&now_serving) != want {
            return Err(ActionError::VerifyFailed(format!(
                "{} serves {}, not {}",
                short_name(name),
                run::split_text(&now_serving),
                traffic_text(body)
            )));
        }
        let traffic = format!("traffic is {}", run::split_text(&now_serving));
        let uri = svc.uri.clone().filter(|u| !u.is_empty());
        let path = self.settings.health_path.as_str();
        let Some(uri) = uri.filter(|_| !path.is_empty()) else {
            return Ok(format!(
                "{traffic}; health not probed ({})",
                if path.is_empty() { "health_path is empty" } else { "the service has no URL" }
            ));
        };
        let health_url = format!("{}{path}", uri.trim_end_matches('/'));
        let t = &self.settings.timing;
        let mut last = String::new();
        for attempt in 1..=t.health_tries.max(1) {
            let started = Instant::now();
            match self.client.http().get(&health_url).timeout(Duration::from_secs(5)).send().await {
                Ok(r) if r.status().is_success() => {
                    return Ok(format!(
                        "{traffic}; GET {health_url} answered {} in {} ms (try {attempt})",
                        r.status().as_u16(),
                        started.elapsed().as_millis()
                    ));
                }
                Ok(r) if matches!(r.status().as_u16(), 401 | 403) => {
                    return Ok(format!(
                        "{traffic}; GET {health_url} needs authentication (HTTP {}): health not checked",
                        r.status().as_u16()
                    ));
                }
                Ok(r) => last = format!("HTTP {}", r.status().as_u16()),
                Err(e) => last = e.to_string(),
            }
            if attempt < t.health_tries {
                tokio::time::sleep(t.health_interval).await;
            }
        }
        Err(ActionError::VerifyFailed(format!(
            "{traffic}, but GET {health_url} failed {} times (last: {last})",
            t.health_tries.max(1)
        )))
    }

    fn instance_of(&self, plan: &Plan) -> Result<InstanceMeta, ActionError> {
        self.meta()
            .instances
            .get(&plan.request.target)
            .cloned()
            .ok_or_else(|| ActionError::NotFound(plan.request.target.clone()))
    }

    async fn wait_sql(&self, project: &str, op: Value, what: &str) -> Result<Value, ActionError> {
        let op_name = op.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let t = &self.settings.timing;
        match self.client.wait_sql_operation(project, op, t.poll_interval, t.sql_timeout).await {
            Ok(OperationEnd::Done(v)) => Ok(v),
            Ok(OperationEnd::Failed(why)) => Err(ActionError::Failed(format!("{what} failed: {why}"))),
            Err(ProviderError::Timeout(d)) => Err(ActionError::Failed(format!(
                "{what} still runs after {}s (operation {op_name}); check it with `gcloud sql operations describe {op_name}`",
                d.as_secs()
            ))),
            Err(e) => Err(failed(e)),
        }
    }

    async fn execute_sql(&self, plan: &Plan) -> Result<String, ActionError> {
        let m = self.instance_of(plan)?;
        let base = format!("/v1/projects/{}/instances/{}", m.project, m.name);
        let call = plan.payload::<GcpCall>()?;
        if let GcpCall::Backup { .. } = call {
            let url = self.client.url(Api::Sql, &format!("{base}/backupRuns"));
            let op = self.client.call(Api::Sql, Method::POST, &url, Some(&json!({}))).await.map_err(failed)?;
            self.wait_sql(&m.project, op, "the backup").await?;
            return Ok(format!("on-demand backup of {} done", m.name));
        }
        let GcpCall::Clone { body, name: new_name, time } = call else {
            return Err(ActionError::Failed("the plan carries no clone body".into()));
        };
        let url = self.client.url(Api::Sql, &format!("{base}/clone"));
        let op = self.client.call(Api::Sql, Method::POST, &url, Some(body)).await.map_err(failed)?;
        self.wait_sql(&m.project, op, &format!("the clone into {new_name}")).await?;
        Ok(format!("cloned {} as of {time} into {new_name}", m.name))
    }

    async fn verify_sql(&self, plan: &Plan) -> Result<String, ActionError> {
        let m = self.instance_of(plan)?;
        let call = plan.payload::<GcpCall>()?;
        if let GcpCall::Backup { planned_at } = call {
            let since = Some(*planned_at - chrono::Duration::minutes(1));
            let url = self.client.url_with(
                Api::Sql,
                &format!("/v1/projects/{}/instances/{}/backupRuns", m.project, m.name),
                &[("maxResults", "10")],
            );
            let page: Value = self.client.get(Api::Sql, &url.map_err(verify_failed)?).await.map_err(verify_failed)?;
            let runs: Vec<sql::BackupRun> =
                serde_json::from_value(page.get("items").cloned().unwrap_or(json!([]))).unwrap_or_default();
            let found = runs
                .iter()
                .find(|r| sql::run_kind(r) == "ON_DEMAND" && since.is_none_or(|s| r.at().is_some_and(|at| at >= s)));
            return match found {
                Some(r) if r.status() == "SUCCESSFUL" => Ok(format!(
                    "backup {} of {} is SUCCESSFUL",
                    r.id.as_ref().and_then(I64::get).map(|i| i.to_string()).unwrap_or_default(),
                    m.name
                )),
                Some(r) => Err(ActionError::VerifyFailed(format!("the new backup of {} is {}", m.name, r.status()))),
                None => Err(ActionError::VerifyFailed(format!("no new on-demand backup of {} is listed", m.name))),
            };
        }
        let new_name = match call {
            GcpCall::Clone { name, .. } => name.as_str(),
            _ => "",
        };
        let url = self.client.url(Api::Sql, &format!("/v1/projects/{}/instances/{new_name}", m.project));
        let inst: sql::Instance = self.client.get(Api::Sql, &url).await.map_err(verify_failed)?;
        let state = inst.state.name(SQL_INSTANCE_STATE);
        if state != "RUNNABLE" {
            return Err(ActionError::VerifyFailed(format!("{new_name} exists but is {state}")));
        }
        if !m.database_version.is_empty() && inst.database_version != m.database_version {
            return Err(ActionError::VerifyFailed(format!(
                "{new_name} runs {}, not {}",
                inst.database_version, m.database_version
            )));
        }
        Ok(format!("{new_name} is RUNNABLE ({}, {})", inst.database_version, inst.region))
    }

    async fn execute_rotate(&self, plan: &Plan) -> Result<String, ActionError> {
        let value = plan
            .request
            .secret_input
            .as_deref()
            .ok_or_else(|| ActionError::MissingInput("the new value (--value-stdin)".into()))?;
        let id = &plan.request.target;
        let url = self.client.url(Api::Secrets, &format!("/v1/{id}:addVersion"));
        let body = secrets::add_version_body(value.as_bytes());
        let added: secrets::Version = {
            let v = self.client.call(Api::Secrets, Method::POST, &url, Some(&body)).await.map_err(failed)?;
            serde_json::from_value(v).map_err(|e| ActionError::Failed(format!("addVersion answer: {e}")))?
        };
        self.meta().executed.insert(id.clone(), added.name.clone());
        let mut done = format!("added version {} ({})", added.number(), added.state());
        if let GcpCall::AddVersion { previous: Some(previous) } = plan.payload::<GcpCall>()? {
            let url = self.client.url(Api::Secrets, &format!("/v1/{previous}:disable"));
            if let Err(e) = self.client.call(Api::Secrets, Method::POST, &url, Some(&json!({}))).await {
                return Err(ActionError::Failed(format!(
                    "{done}, but disabling version {} failed: {e}; disable it yourself once nothing uses it",
                    short_name(previous)
                )));
            }
            done.push_str(&format!(", disabled version {}", short_name(previous)));
        }
        Ok(done)
    }

    async fn verify_rotate(&self, plan: &Plan) -> Result<String, ActionError> {
        let id = &plan.request.target;
        let added = self.meta().executed.get(id).cloned().unwrap_or_default();
        let versions: Vec<secrets::Version> = self
            .client
            .list(Api::Secrets, &format!("/v1/{id}/versions"), &[("pageSize", "100")], "versions", 1000)
            .await
            .map_err(verify_failed)?;
        let state_of = |name: &str| versions.iter().find(|v| v.name == name).map(secrets::Version::state);
        match state_of(&added).as_deref() {
            Some("ENABLED") => {}
            other => {
                return Err(ActionError::VerifyFailed(format!(
                    "the new version {} is {}",
                    short_name(&added),
                    other.unwrap_or("not listed")
                )));
            }
        }
        let mut out = format!("version {} is ENABLED", short_name(&added));
        if let GcpCall::AddVersion { previous: Some(previous) } = plan.payload::<GcpCall>()? {
            match state_of(previous).as_deref() {
                Some("DISABLED") => out.push_str(&format!(", version {} DISABLED", short_name(previous))),
                other => {
                    return Err(ActionError::VerifyFailed(format!(
                        "version {} is {}, not DISABLED",
                        short_name(previous),
                        other.unwrap_or("not listed")
                    )));
                }
            }
        }
        Ok(out)
    }

    async fn tail(&self, after: Option<Timestamp>) -> Result<Vec<LogLine>, ProviderError> {
        {
            let mut last = self.last_tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < self.settings.timing.log_interval) {
                return Ok(Vec::new());
            }
            if self.meta().services.is_empty() {
                return Ok(Vec::new());
            }
            *last = Some(Instant::now());
        }
        let since = after.unwrap_or_else(|| Utc::now() - chrono::Duration::minutes(5));
        let mut filter = format!("resource.type=\"cloud_run_revision\" AND timestamp>\"{}\"", rfc3339(since));
        if let Some(x) = &self.settings.log_filter {
            filter.push_str(&format!(" AND ({x})"));
        }
        let entries = logging::list(&self.client, self.project(), &filter, "asc", logging::TAIL_ENTRIES).await?;
        Ok(entries
            .iter()
            .filter_map(|e| {
                let service = e.resource.labels.get("service_name").map_or("cloud run", String::as_str);
                logging::to_line(e, service)
            })
            .filter(|l| after.is_none_or(|a| l.at > a))
            .collect())
    }
}

/// What a GCP plan sends; `execute` and `verify` read only this (and the target), never the
/// request's params.
#[derive(Debug, serde::Serialize)]
enum GcpCall {
    /// Cloud Run: `PATCH /v2/{service}?updateMask=traffic` with `body`.
    Traffic { body: Value },
    /// Cloud SQL: `POST .../backupRuns`; verify looks for an on-demand run since `planned_at`.
    Backup { planned_at: Timestamp },
    /// Cloud SQL: `POST .../clone` with `body`, into the new instance `name` as of `time`.
    Clone { body: Value, name: String, time: String },
    /// Secret Manager: `addVersion`, then disable `previous` (when there is one to disable).
    AddVersion { previous: Option<String> },
    /// Cloud Monitoring: a snooze of `policy` for `minutes` from when it is executed.
    Snooze { project: String, policy: String, minutes: i64, display_name: String },
}

/// "web-00002-abc=100%" from a traffic body.
fn traffic_text(body: &Value) -> String {
    expected_allocation(body).iter().map(|(r, p)| format!("{r}={p}%")).collect::<Vec<_>>().join(", ")
}

fn expected_allocation(body: &Value) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in body.get("traffic").and_then(Value::as_array).into_iter().flatten() {
        let percent = t.get("percent").and_then(Value::as_i64).unwrap_or(0);
        if let (Some(r), true) = (t.get("revision").and_then(Value::as_str), percent > 0) {
            *out.entry(r.to_string()).or_insert(0) += percent;
        }
    }
    out
}

impl sql::Instance {
    fn project_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.project.is_empty() { fallback } else { &self.project }
    }
}

impl Source for GcpProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.config.refresh.seconds.max(1))
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(self.read())
    }

    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(self.tail(after))
    }

    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move {
            let meta = self.meta().services.get(target).cloned().ok_or_else(|| {
                ProviderError::Unavailable(format!("{target} is not a Cloud Run service of {}", self.name))
            })?;
            let filter = logging::service_filter(&meta.short, &meta.location, self.settings.log_filter.as_deref());
            let mut entries =
                logging::list(&self.client, self.project(), &filter, "desc", logging::SERVICE_LOG_ENTRIES).await?;
            entries.reverse();
            Ok(entries.iter().filter_map(|e| logging::to_line(e, &meta.short)).collect())
        })
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            traffic_shift: Some(self),
            point_in_time_restore: Some(self),
            take_snapshot: Some(self),
            rotate_secret: Some(self),
            alert_control: Some(self),
            refusals: &[(
                Verb::Scale,
                "Cloud Run scales by itself between its min and max instances; skydeck does not change them",
            )],
            ..Capabilities::NONE
        }
    }
}

impl GcpProvider {
    /// The start of every plan: the target in this provider's snapshot, of a kind the handler takes.
    fn plan_start(
        &self,
        request: &ActionRequest,
        snapshot: &Snapshot,
        kinds: &[TargetKind],
    ) -> Result<Plan, ActionError> {
        let (plan, target) = Plan::for_target(request, &self.name, snapshot)?;
        if !kinds.contains(&target.kind) {
            let (verb, kind) = (request.verb, target.kind);
            return Err(not_applicable(
                verb,
                &target.name,
                format!("GCP offers no '{verb}' for a {kind:?}").to_lowercase(),
            ));
        }
        Ok(plan)
    }
}

/// Cloud Run: traffic to a revision (all of it, or a canary share).
impl TrafficShift for GcpProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["to", "percent"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_traffic(request, self.plan_start(request, snapshot, &[TargetKind::Resource])?)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_traffic(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_traffic(plan))
    }
}

/// Cloud SQL: a point-in-time clone into a new instance.
impl PointInTimeRestore for GcpProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["time", "name"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_sql(request, self.plan_start(request, snapshot, &[TargetKind::Resource, TargetKind::Backup])?)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_sql(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_sql(plan))
    }
}

/// Cloud SQL: an on-demand backup run.
impl TakeSnapshot for GcpProvider {
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_sql(request, self.plan_start(request, snapshot, &[TargetKind::Resource, TargetKind::Backup])?)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_sql(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_sql(plan))
    }
}

/// Secret Manager: a new version from stdin, the previous one disabled on request.
impl RotateSecret for GcpProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["disable_previous"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_rotate(request, self.plan_start(request, snapshot, &[TargetKind::Secret])?)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_rotate(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_rotate(plan))
    }
}

/// Cloud Monitoring: silence an open alert's policy with a snooze (`for`); `ack` has no API.
impl AlertControl for GcpProvider {
    fn accepted_params(&self, verb: Verb) -> &'static [&'static str] {
        if verb == Verb::Silence { &["for"] } else { &[] }
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let plan = self.plan_start(request, snapshot, &[TargetKind::Alert])?;
        if request.verb == Verb::Ack {
            return Err(not_applicable(request.verb, &plan.target_name, identity::CLOUD_MONITORING_NO_ACK));
        }
        self.plan_snooze(request, plan, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_snooze(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_snooze(plan))
    }
}

impl GcpProvider {
    fn plan_snooze(&self, request: &ActionRequest, mut plan: Plan, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let duration = crate::actions::limits::silence_for(request)?;
        let alert = snapshot
            .alerts
            .iter()
            .find(|a| a.id == plan.request.target)
            .ok_or_else(|| ActionError::NotFound(request.target.clone()))?;
        let policy = self.meta().alert_policies.get(&alert.id).cloned().unwrap_or_default();
        if policy.is_empty() {
            return Err(not_applicable(request.verb, &alert.name, "Cloud Monitoring names no alerting policy for it"));
        }
        let project = policy.split('/').nth(1).unwrap_or(self.project()).to_string();
        let length = crate::model::human_duration(duration);
        let display_name = match request.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => format!("skydeck: silence for {length}: {r}"),
            None => format!("skydeck: silence for {length}"),
        };
        plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
        plan.summary = format!(
            "silence the {} alert '{}' on {} for {length}: a snooze of its policy, so no notifications and no new incidents until then; the open incident stays open",
            alert.severity.label(),
            alert.name,
            if alert.resource.is_empty() { "its resource" } else { &alert.resource },
        );
        let url = self.client.url(Api::Monitoring, &format!("/v3/projects/{project}/snoozes"));
        let now = Utc::now();
        plan.calls.push(PlannedCall {
            description: format!("snooze the policy {} for {length}", short_name(&policy)),
            call: format!("POST {url} {}", alerts::snooze_body(&policy, &display_name, now, now + duration)),
        });
        plan.verification = "GET the new snooze: it covers the policy until the end of the window".into();
        plan.set_payload(GcpCall::Snooze { project, policy, minutes: duration.num_minutes(), display_name });
        Ok(plan)
    }

    async fn execute_snooze(&self, plan: &Plan) -> Result<String, ActionError> {
        let GcpCall::Snooze { project, policy, minutes, display_name } = plan.payload::<GcpCall>()? else {
            return Err(ActionError::Failed("the plan lost its snooze; plan again".into()));
        };
        // The window starts now: Cloud Monitoring refuses a start in the past.
        let from = Utc::now();
        let until = from + chrono::Duration::minutes(*minutes);
        let url = self.client.url(Api::Monitoring, &format!("/v3/projects/{project}/snoozes"));
        let body = alerts::snooze_body(policy, display_name, from, until);
        let created = self.client.call(Api::Monitoring, Method::POST, &url, Some(&body)).await.map_err(failed)?;
        let snooze: alerts::Snooze = serde_json::from_value(created)
            .map_err(|e| ActionError::Failed(format!("the snooze was sent but its answer is unreadable: {e}")))?;
        self.meta().executed.insert(plan.request.target.clone(), format!("{}|{}", snooze.name, rfc3339(until)));
        Ok(format!(
            "Cloud Monitoring took the snooze {}: '{}' is silent until {} UTC",
            short_name(&snooze.name),
            plan.target_name,
            until.format("%Y-%m-%d %H:%M")
        ))
    }

    async fn verify_snooze(&self, plan: &Plan) -> Result<String, ActionError> {
        let GcpCall::Snooze { policy, .. } = plan.payload::<GcpCall>()? else {
            return Err(ActionError::VerifyFailed("the plan lost its snooze".into()));
        };
        let executed = self.meta().executed.get(&plan.request.target).cloned().unwrap_or_default();
        let (name, until) = executed.split_once('|').unwrap_or_default();
        if name.is_empty() {
            return Err(ActionError::VerifyFailed("Cloud Monitoring named no snooze".into()));
        }
        let url = self.client.url(Api::Monitoring, &format!("/v3/{name}"));
        let got: alerts::Snooze = self.client.get(Api::Monitoring, &url).await.map_err(verify_failed)?;
        if !got.criteria.policies.iter().any(|p| p == policy) {
            return Err(ActionError::VerifyFailed(format!(
                "{} does not cover {}",
                short_name(name),
                short_name(policy)
            )));
        }
        let wanted = chrono::DateTime::parse_from_rfc3339(until).ok().map(|t| t.with_timezone(&Utc));
        match (got.interval.end_time, wanted) {
            (Some(end), Some(w)) if (end - w).num_seconds().abs() <= 1 => Ok(format!(
                "snooze {} covers {} until {} UTC",
                short_name(name),
                short_name(policy),
                end.format("%Y-%m-%d %H:%M")
            )),
            (end, _) => Err(ActionError::VerifyFailed(format!(
                "snooze {} ends at {}, not {until}",
                short_name(name),
                end.map_or_else(|| "no time".into(), rfc3339)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_as_names_or_numbers() {
        assert_eq!(Enum::Number(1).name(SECRET_VERSION_STATE), "ENABLED");
        assert_eq!(Enum::Number(3).name(SECRET_VERSION_STATE), "DESTROYED");
        assert_eq!(Enum::Name("DISABLED".into()).name(SECRET_VERSION_STATE), "DISABLED");
        assert_eq!(Enum::Number(42).name(SECRET_VERSION_STATE), "42");
        assert_eq!(Enum::Unset.name(SQL_INSTANCE_STATE), "SQL_INSTANCE_STATE_UNSPECIFIED");
        assert_eq!(enum_name(&json!(3), SQL_OPERATION_STATUS), "DONE");
        assert_eq!(enum_name(&json!("RUNNING"), SQL_OPERATION_STATUS), "RUNNING");
        let s: BTreeMap<String, Enum> = serde_json::from_value(json!({"a": 5, "b": "SUCCESSFUL"})).unwrap();
        assert_eq!(s["a"].name(SQL_BACKUP_RUN_STATUS), s["b"].name(SQL_BACKUP_RUN_STATUS));
    }

    #[test]
    fn int64_and_durations() {
        let v: Vec<I64> = serde_json::from_value(json!(["9223372036854775807", 10, "x"])).unwrap();
        assert_eq!(v[0].get(), Some(i64::MAX));
        assert_eq!(v[1].get(), Some(10));
        assert_eq!(v[2].get(), None);
        assert_eq!(duration_secs("7200s"), Some(7200.0));
        assert_eq!(duration_secs("1.5s"), Some(1.5));
        assert_eq!(duration_secs("7200"), None);
        assert_eq!(short_name("projects/p/locations/l/services/web"), "web");
    }
}
