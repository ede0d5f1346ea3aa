//! The normalized domain every provider maps into and every view reads from.
//!
//! Vendor payloads never leave their provider module: GitHub runs, ECS services, App Service
//! slots and Cloud Run revisions all become the types below, so screens and the runbook are
//! written once.

mod thresholds;

pub use thresholds::{Comparison, Level, MetricKind, Threshold, Thresholds};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub type Timestamp = DateTime<Utc>;

/// The tier decides how careful an action must be (production asks for the target's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Dev,
    Staging,
    Prod,
}

impl Tier {
    /// Infer a tier from an environment name as teams spell it (`prod`, `production`, `stg`...).
    pub fn from_name(name: &str) -> Tier {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("prod") || lower == "prd" || lower == "live" {
            Tier::Prod
        } else if lower.starts_with("stag") || lower == "stg" || lower == "preprod" {
            Tier::Staging
        } else {
            Tier::Dev
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    pub tier: Tier,
    /// Protection rules as the CI system states them ("required reviewers: a, b", "wait 5m").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protection_rules: Vec<String>,
}

/// Where a piece of data came from: a provider's identity. Each provider declares its own in
/// its folder (`providers/aws/identity.rs`: `pub const PROVIDER: Provider = Provider::new(&ProviderInfo { .. })`),
/// so this module names none of them. Compared, ordered and serialized by its key.
#[derive(Clone, Copy)]
pub struct Provider(&'static ProviderInfo);

/// What the rest of skydeck asks of a provider's identity.
pub struct ProviderInfo {
    /// The key plugin files scope by (`provider:aws`), `{provider}` expands to and JSON carries.
    pub key: &'static str,
    pub label: &'static str,
    /// Its column heading in the Resources screen's role × cloud matrix; `None`: no column.
    pub column: Option<&'static str>,
    /// Its column shows even when it has no resources (a dot says none is read there).
    pub column_always: bool,
    /// The resource kinds it emits (`Resource::kind`, plugin `kind:` scopes): a stable list,
    /// add to it, never rename.
    pub kinds: &'static [&'static str],
    /// Plugin variables one of its ids gives (`account`, `region`, `cluster` of an ARN;
    /// `subscription`, `resource_group` of an ARM id; `project`, `region` of a GCP name).
    pub id_vars: fn(&str) -> Vec<(&'static str, String)>,
    /// A resource's page in the provider's console, where one is known (`{url}`).
    pub console_url: fn(&Resource) -> Option<String>,
    /// Whether rotating a secret it stores needs the new value typed (it stores what it is
    /// given) and the line that says so; `None`: the generic line.
    pub new_secret_value: Option<(bool, &'static str)>,
}

fn no_vars(_: &str) -> Vec<(&'static str, String)> {
    Vec::new()
}

fn no_console(_: &Resource) -> Option<String> {
    None
}

impl ProviderInfo {
    /// An identity with nothing but its names; the rest defaults to "none".
    pub const fn named(key: &'static str, label: &'static str) -> ProviderInfo {
        ProviderInfo {
            key,
            label,
            column: None,
            column_always: false,
            kinds: &[],
            id_vars: no_vars,
            console_url: no_console,
            new_secret_value: None,
        }
    }
}

/// A cloud for this crate's tests, keyed like AWS (the providers are the `skydeck` crate's).
#[cfg(test)]
pub(crate) const TEST_CLOUD: Provider =
    Provider::new(&ProviderInfo { column_always: true, column: Some("AWS"), ..ProviderInfo::named("aws", "AWS") });

impl Provider {
    pub const fn new(info: &'static ProviderInfo) -> Provider {
        Provider(info)
    }

    pub fn key(self) -> &'static str {
        self.0.key
    }

    pub fn label(self) -> &'static str {
        self.0.label
    }

    pub fn info(self) -> &'static ProviderInfo {
        self.0
    }
}

impl PartialEq for Provider {
    fn eq(&self, other: &Self) -> bool {
        // The same const is one address; a deserialized copy compares by key.
        std::ptr::eq(self.0, other.0) || self.0.key == other.0.key
    }
}
impl Eq for Provider {}
impl PartialOrd for Provider {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Provider {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.key.cmp(other.0.key)
    }
}
impl std::hash::Hash for Provider {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.key.hash(state);
    }
}
impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.key)
    }
}

impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.key)
    }
}

/// Nothing skydeck reads back holds a provider (snapshots are rebuilt, never loaded); this is
/// for round trips in tests. A key comes back as an identity with only its names (equal to the
/// real one, which compares by key), kept once per key.
impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use std::sync::Mutex;
        static SEEN: Mutex<Vec<&'static ProviderInfo>> = Mutex::new(Vec::new());
        let key = String::deserialize(deserializer)?;
        let mut seen = SEEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(info) = seen.iter().find(|i| i.key == key) {
            return Ok(Provider(info));
        }
        let key: &'static str = Box::leak(key.into_boxed_str());
        let info: &'static ProviderInfo = Box::leak(Box::new(ProviderInfo::named(key, key)));
        seen.push(info);
        Ok(Provider(info))
    }
}

/// The role a resource plays; the same role maps to a different service on each cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Compute,
    Database,
    Cache,
    Secrets,
    Storage,
    Monitoring,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Compute, Role::Database, Role::Cache, Role::Secrets, Role::Storage, Role::Monitoring];
    pub fn label(self) -> &'static str {
        match self {
            Role::Compute => "compute",
            Role::Database => "database",
            Role::Cache => "cache",
            Role::Secrets => "secrets",
            Role::Storage => "storage",
            Role::Monitoring => "monitoring",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Waiting,
    InProgress,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
    TimedOut,
    ActionRequired,
    Neutral,
}

/// Status and conclusion folded into one level for colouring and sorting.
pub fn run_level(status: RunStatus, conclusion: Option<Conclusion>) -> Level {
    match (status, conclusion) {
        (RunStatus::Completed, Some(Conclusion::Success | Conclusion::Neutral)) => Level::Ok,
        // Skipped never ran: grey, never a pass.
        (RunStatus::Completed, Some(Conclusion::Cancelled | Conclusion::Skipped)) => Level::Unknown,
        (RunStatus::Completed, _) => Level::Crit,
        (RunStatus::Waiting, _) => Level::Warn,
        _ => Level::Unknown,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub number: u32,
    pub name: String,
    pub status: RunStatus,
    pub conclusion: Option<Conclusion>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub status: RunStatus,
    pub conclusion: Option<Conclusion>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub steps: Vec<Step>,
}

/// A workflow run. `id` is the action target; `run_id` is GitHub's own number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub run_id: u64,
    pub repo: String,
    pub workflow: String,
    pub title: String,
    pub branch: String,
    pub sha: String,
    pub event: String,
    pub actor: String,
    pub attempt: u32,
    pub status: RunStatus,
    pub conclusion: Option<Conclusion>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub url: String,
    pub jobs: Vec<Job>,
}

impl Run {
    pub fn level(&self) -> Level {
        run_level(self.status, self.conclusion)
    }
    /// Wall time so far (in progress) or in total (completed).
    pub fn duration(&self, now: Timestamp) -> Option<Duration> {
        let start = self.started_at?;
        let end = if self.status == RunStatus::Completed { self.updated_at } else { now };
        Some(end - start)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    Pending,
    Queued,
    InProgress,
    Success,
    Failure,
    Error,
    Inactive,
}

impl DeploymentState {
    pub fn level(self) -> Level {
        match self {
            DeploymentState::Success | DeploymentState::Inactive => Level::Ok,
            DeploymentState::Failure | DeploymentState::Error => Level::Crit,
            DeploymentState::Pending | DeploymentState::Queued | DeploymentState::InProgress => Level::Unknown,
        }
    }
}

/// What runs where: answers "which sha is in production, since when, by whom, from which run".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub environment: String,
    pub repo: String,
    pub sha: String,
    pub git_ref: String,
    pub state: DeploymentState,
    pub creator: String,
    pub created_at: Timestamp,
    pub run_id: Option<String>,
    pub description: String,
}

/// A run held at an environment's protection rule until someone reviews it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub run: String,
    pub repo: String,
    pub workflow: String,
    pub environment: String,
    pub sha: String,
    pub reviewers: Vec<String>,
    pub wait_timer_minutes: u32,
    pub requested_at: Timestamp,
    pub can_approve: bool,
}

/// One HTTP health check with its recent history (latency in ms, None = failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub id: String,
    pub environment: String,
    pub name: String,
    pub url: String,
    pub level: Level,
    pub status_code: Option<u16>,
    pub latency_ms: Option<u32>,
    pub error: Option<String>,
    pub checked_at: Timestamp,
    pub history: Vec<Option<u32>>,
}

impl HealthCheck {
    /// Latency percentile (0-100) of the successful probes in the history window, in ms.
    pub fn percentile(&self, p: u32) -> Option<u32> {
        let mut ok: Vec<u32> = self.history.iter().flatten().copied().collect();
        if ok.is_empty() {
            return None;
        }
        ok.sort_unstable();
        let rank = ((f64::from(p.min(100)) / 100.0) * (ok.len() - 1) as f64).round() as usize;
        ok.get(rank).copied()
    }

    /// Share of successful probes in the history window, in percent.
    pub fn availability(&self) -> Option<f64> {
        if self.history.is_empty() {
            return None;
        }
        let ok = self.history.iter().filter(|h| h.is_some()).count();
        Some(ok as f64 * 100.0 / self.history.len() as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub environment: String,
    pub resource: String,
    pub kind: MetricKind,
    pub value: f64,
    pub level: Level,
    pub history: Vec<f64>,
}

/// A cloud resource in its role. `versions` lists what it can be promoted to or rolled back to
/// (slots, revisions, task definition revisions), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub role: Role,
    pub provider: Provider,
    pub environment: String,
    pub region: String,
    pub status: String,
    pub level: Level,
    pub current_version: Option<String>,
    pub versions: Vec<String>,
    pub details: Vec<(String, String)>,
}

/// Backup state of one database, with the policy it is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    pub id: String,
    pub resource: String,
    pub database: String,
    pub provider: Provider,
    pub environment: String,
    pub last_backup_at: Option<Timestamp>,
    pub last_status: String,
    pub retention_days: u32,
    pub required_retention_days: u32,
    pub pitr_enabled: bool,
    pub earliest_restore: Option<Timestamp>,
    pub latest_restore: Option<Timestamp>,
    pub geo_redundant: bool,
}

impl Backup {
    /// Findings per the daily check: older than 24 h, retention below policy, PITR off.
    pub fn findings(&self, now: Timestamp) -> Vec<String> {
        let mut out = Vec::new();
        match self.last_backup_at {
            None => out.push("no backup found".to_string()),
            Some(at) if now - at > Duration::hours(24) => {
                out.push(format!("last backup {} old (> 24h)", crate::model::human_duration(now - at)));
            }
            _ => {}
        }
        // "none": there is no backup whose status could be told ("no backup found" says it).
        if !matches!(self.last_status.as_str(), "succeeded" | "available" | "none") {
            out.push(format!("last backup {}", self.last_status));
        }
        if self.retention_days < self.required_retention_days {
            out.push(format!("retention {}d below policy {}d", self.retention_days, self.required_retention_days));
        }
        if !self.pitr_enabled {
            out.push("point-in-time recovery off".to_string());
        }
        out
    }
    pub fn level(&self, now: Timestamp) -> Level {
        if self.findings(now).is_empty() { Level::Ok } else { Level::Crit }
    }
}

/// How long deleted data can still be brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SoftDelete {
    /// Deleted data is gone at once.
    Off,
    /// Kept this many days (Azure delete retention, GCS soft delete policy, S3 noncurrent
    /// version expiration).
    Days(u32),
    /// Kept until someone removes it (S3 versioning with no noncurrent-version expiration).
    Unlimited,
}

/// `[backups.object_storage]`: what every bucket / storage account must have. Defaults from
/// the domain: versioning on, soft delete at least 30 days, geo-redundant in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectStoragePolicy {
    pub versioning: bool,
    pub soft_delete_days: u32,
    pub geo_redundant_in_production: bool,
}

impl Default for ObjectStoragePolicy {
    fn default() -> Self {
        ObjectStoragePolicy { versioning: true, soft_delete_days: 30, geo_redundant_in_production: true }
    }
}

/// One bucket (S3, GCS) or blob storage account (Azure) and the protection facts its cloud
/// states, with the policy it is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectStore {
    /// ARN, ARM id or `projects/_/buckets/NAME`.
    pub id: String,
    pub name: String,
    pub provider: Provider,
    pub environment: String,
    pub region: String,
    pub versioning: bool,
    pub soft_delete: SoftDelete,
    pub geo_redundant: bool,
    /// Object lock / retention policy as the cloud states it ("COMPLIANCE 30d", "retention 7d, locked").
    pub object_lock: Option<String>,
    /// Lifecycle rules in force (enabled ones).
    pub lifecycle_rules: u32,
    /// Replication destinations, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replication: Vec<String>,
    /// Console link for the bucket / account.
    pub link: Option<String>,
    pub policy: ObjectStoragePolicy,
}

impl ObjectStore {
    /// What is wrong against the policy; geo-redundancy is asked of production tiers only.
    pub fn findings(&self, tier: Tier) -> Vec<String> {
        let mut out = Vec::new();
        if self.policy.versioning && !self.versioning {
            out.push("versioning off".to_string());
        }
        let need = self.policy.soft_delete_days;
        match self.soft_delete {
            SoftDelete::Off if need > 0 => out.push(format!("soft delete off (policy {need}d)")),
            SoftDelete::Days(d) if d < need => out.push(format!("soft delete {d}d below policy {need}d")),
            _ => {}
        }
        if self.policy.geo_redundant_in_production && tier == Tier::Prod && !self.geo_redundant {
            out.push("not geo-redundant in production".to_string());
        }
        out
    }
}

/// Secret metadata only: the value never enters the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub id: String,
    pub name: String,
    pub store: String,
    pub provider: Provider,
    pub environment: String,
    pub enabled: bool,
    pub updated_at: Option<Timestamp>,
    pub last_rotated: Option<Timestamp>,
    pub rotation_days: Option<u32>,
    pub expires_at: Option<Timestamp>,
    pub versions: u32,
}

impl Secret {
    pub fn next_rotation(&self) -> Option<Timestamp> {
        let base = self.last_rotated.or(self.updated_at)?;
        Some(base + Duration::days(i64::from(self.rotation_days?)))
    }
    pub fn level(&self, now: Timestamp) -> Level {
        if self.expires_at.is_some_and(|e| e <= now) || self.next_rotation().is_some_and(|n| n <= now) {
            Level::Crit
        } else if self.expires_at.is_some_and(|e| e - now < Duration::days(7))
            || self.next_rotation().is_some_and(|n| n - now < Duration::days(7))
        {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// How bad a firing alert is, as its source grades it (mapped onto one scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Info,
    Warning,
    Error,
    Critical,
}

impl AlertSeverity {
    pub fn label(self) -> &'static str {
        match self {
            AlertSeverity::Info => "info",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Error => "error",
            AlertSeverity::Critical => "critical",
        }
    }
    pub fn level(self) -> Level {
        match self {
            AlertSeverity::Info => Level::Ok,
            AlertSeverity::Warning => Level::Warn,
            AlertSeverity::Error | AlertSeverity::Critical => Level::Crit,
        }
    }
}

/// Where an alert stands. Resolved alerts are not listed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    InsufficientData,
    Acknowledged,
}

impl AlertState {
    pub fn label(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::InsufficientData => "insufficient data",
            AlertState::Acknowledged => "acknowledged",
        }
    }
}

/// Monitoring alerts (alarms, fired alerts, incidents) or security alerts (Dependabot, code
/// scanning, secret scanning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    Monitoring,
    Security,
}

/// One alert that a cloud's own alerting (or GitHub's security features) says is open now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique across providers (the vendor's id or ARN, prefixed where needed).
    pub id: String,
    pub provider: Provider,
    /// The service that raised it: `"CloudWatch"`, "Azure Monitor", "Cloud Monitoring",
    /// "Dependabot", "code scanning", "secret scanning", "demo".
    pub source: String,
    pub kind: AlertKind,
    pub name: String,
    pub severity: AlertSeverity,
    pub state: AlertState,
    /// What it is about (a service, a database, a repository and package...).
    pub resource: String,
    pub environment: String,
    pub since: Option<Timestamp>,
    /// The vendor's console page for it.
    pub link: Option<String>,
    /// Whether the source has an API to acknowledge it (through the action pipeline).
    pub can_ack: bool,
    /// Who acknowledged it, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    /// Whether the source can silence its notifications for a set time (through the pipeline).
    #[serde(default)]
    pub can_silence: bool,
    /// Until when its notifications are silenced, when a silence is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced_until: Option<Timestamp>,
}

impl Alert {
    /// Firing and not acknowledged: what `alerts.firing` counts.
    pub fn is_firing(&self) -> bool {
        self.state == AlertState::Firing
    }
    /// The level it is shown with: an acknowledged alert is only a warning.
    pub fn level(&self) -> Level {
        match self.state {
            AlertState::Firing => self.severity.level(),
            AlertState::InsufficientData => Level::Unknown,
            AlertState::Acknowledged => self.severity.level().min(Level::Warn),
        }
    }
}

/// One configured alert rule, firing or not: a `CloudWatch` alarm, an Azure Monitor metric alert
/// rule, a Cloud Monitoring alerting policy. Read to tell the rules that would stay quiet in an
/// outage (disabled, or telling nobody) from those that page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// The vendor's id or ARN.
    pub id: String,
    pub provider: Provider,
    /// `"CloudWatch"`, "Azure Monitor" or "Cloud Monitoring".
    pub source: String,
    pub name: String,
    pub environment: String,
    pub enabled: bool,
    /// Whether anyone is told when it fires: actions on and at least one set (alarm actions,
    /// action groups, notification channels).
    pub notifies: bool,
    /// The vendor's console page for it.
    pub link: Option<String>,
}

impl AlertRule {
    /// What is wrong with it, if anything, in words that follow its name.
    pub fn problem(&self) -> Option<&'static str> {
        if !self.enabled {
            Some("is disabled: it will not fire")
        } else if !self.notifies {
            Some("notifies nobody when it fires")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: Timestamp,
    pub source: String,
    pub severity: Severity,
    pub text: String,
}

/// Everything one provider knows at one moment. Each provider fills the parts it owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub environments: Vec<Environment>,
    pub runs: Vec<Run>,
    pub approvals: Vec<Approval>,
    pub deployments: Vec<Deployment>,
    pub resources: Vec<Resource>,
    pub backups: Vec<Backup>,
    pub health: Vec<HealthCheck>,
    pub metrics: Vec<Metric>,
    pub secrets: Vec<Secret>,
    /// Buckets and blob storage accounts with their protection facts.
    #[serde(default)]
    pub storage: Vec<ObjectStore>,
    /// Alerts firing now, from the clouds' own alerting and GitHub's security alerts.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// The alert rules configured in the clouds, firing or not.
    #[serde(default)]
    pub alert_rules: Vec<AlertRule>,
    /// A short note about the source itself for the status bar (e.g. "rate 4 980/5 000").
    #[serde(skip)]
    pub source_note: Option<String>,
}

impl Snapshot {
    pub fn extend(&mut self, other: &Snapshot) {
        for env in &other.environments {
            match self.environments.iter_mut().find(|e| e.name == env.name) {
                Some(known) => {
                    for rule in &env.protection_rules {
                        if !known.protection_rules.contains(rule) {
                            known.protection_rules.push(rule.clone());
                        }
                    }
                }
                None => self.environments.push(env.clone()),
            }
        }
        self.runs.extend(other.runs.iter().cloned());
        self.approvals.extend(other.approvals.iter().cloned());
        self.deployments.extend(other.deployments.iter().cloned());
        self.resources.extend(other.resources.iter().cloned());
        self.backups.extend(other.backups.iter().cloned());
        self.health.extend(other.health.iter().cloned());
        self.metrics.extend(other.metrics.iter().cloned());
        self.secrets.extend(other.secrets.iter().cloned());
        self.storage.extend(other.storage.iter().cloned());
        self.alerts.extend(other.alerts.iter().cloned());
        self.alert_rules.extend(other.alert_rules.iter().cloned());
    }
}

/// Freshness of one source, shown in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    Loading,
    Fresh,
    Stale,
    Failed,
}

/// A source's data with when it was fetched and why the last fetch failed, if it did. A failed
/// refresh keeps the last good data (shown as stale) instead of emptying panels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source<T> {
    pub name: String,
    pub state: SourceState,
    pub data: T,
    pub fetched_at: Option<Timestamp>,
    pub error: Option<String>,
}

impl<T: Default> Source<T> {
    pub fn new(name: impl Into<String>) -> Self {
        Source { name: name.into(), state: SourceState::Loading, data: T::default(), fetched_at: None, error: None }
    }
}

/// "3m", "2h", "4d": short ages for tables.
pub fn human_duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86_400 * 2 {
        let h = secs / 3600;
        let m = (secs % 3600) / 60;
        if m == 0 || h >= 10 { format!("{h}h") } else { format!("{h}h{m:02}m") }
    } else {
        format!("{}d", secs / 86_400)
    }
}
