//! `skydeck.toml`: lookup, defaults, and validation that points at `file:line`.
//!
//! Lookup order: `--config`, then `$SKYDECK_CONFIG`, then `$XDG_CONFIG_HOME/skydeck/config.toml`.
//! A minimal file works; every key has a default. Unknown keys are warnings (with their line),
//! not errors, so a config written for a newer skydeck still starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{MetricKind, Thresholds, Tier};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{path}:{line}: {message}")]
    Invalid { path: String, line: usize, message: String },
    #[error("{path}: {message}")]
    Unreadable { path: String, message: String },
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Theme name (shipped: dark, light, high-contrast, colorblind) or a path to a theme file.
    pub theme: Option<String>,
    pub refresh: RefreshConfig,
    /// Key overrides: command name -> key or keys, e.g. `approve = "A"`, `up = ["k", "up"]`.
    pub keys: BTreeMap<String, crate::keymap::KeySpec>,
    pub github: Option<GithubConfig>,
    pub aws: Option<AwsConfig>,
    pub azure: Option<AzureConfig>,
    pub gcp: Option<GcpConfig>,
    /// Thresholds for every environment; an environment may override single metrics.
    pub thresholds: BTreeMap<MetricKind, LimitOverride>,
    pub environments: Vec<EnvironmentConfig>,
    /// Local log files tailed into the log viewer: `[[logs]] file = "/var/log/app.log"`.
    pub logs: Vec<LogFileConfig>,
    /// Lines the log viewer keeps (oldest dropped first).
    pub log_buffer_lines: Option<usize>,
    /// The team store: `[team] postgres_url = "postgres://user@host/db"`.
    pub team: Option<crate::team::TeamConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct RefreshConfig {
    /// Seconds between polls of each cloud and GitHub.
    pub seconds: u64,
    /// Seconds between health probes.
    pub health_seconds: u64,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig { seconds: 30, health_seconds: 10 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct GithubConfig {
    pub api_url: Option<String>,
    pub repos: Vec<String>,
    pub hosts: Vec<GithubHostConfig>,
    /// An environment variable holding this host's token (for several hosts, each its own).
    pub token_env: Option<String>,
    /// Newest runs listed per repository (pages of 100 are followed).
    pub max_runs: usize,
    /// The workflow that deploys (file name or id): roll back re-runs it at an earlier sha.
    pub deploy_workflow: Option<String>,
    /// If the deploy workflow takes the sha as a `workflow_dispatch` input, its name.
    pub deploy_ref_input: Option<String>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            api_url: None,
            repos: Vec::new(),
            hosts: Vec::new(),
            token_env: None,
            max_runs: 100,
            deploy_workflow: None,
            deploy_ref_input: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GithubHostConfig {
    pub api_url: Option<String>,
    pub repos: Vec<String>,
    pub token_env: Option<String>,
    pub max_runs: Option<usize>,
    pub deploy_workflow: Option<String>,
    pub deploy_ref_input: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// LocalStack, moto or a VPC endpoint instead of AWS's own endpoints.
    pub endpoint_url: Option<String>,
    /// Several accounts or regions side by side, one entry each. When present, the keys above
    /// are the defaults of every entry and `[aws]` itself is not read as an account.
    pub accounts: Vec<AwsAccountConfig>,
    /// Narrowing: ECS clusters (names or ARNs). Empty: every cluster in the region.
    pub clusters: Vec<String>,
    /// Narrowing: RDS instance identifiers. Empty: every instance.
    pub db_instances: Vec<String>,
    /// Narrowing: Secrets Manager name prefixes. Empty: every secret.
    pub secrets: Vec<String>,
    /// CloudWatch Logs groups to tail besides those the services' task definitions name.
    pub log_groups: Vec<String>,
    /// ECS service name -> its ALB (`app/NAME/ID`), for the 5xx rate and latency metrics.
    pub load_balancers: BTreeMap<String, AwsLoadBalancerConfig>,
    /// Backup retention policy in days for every tier (default: 35 in prod, 7 elsewhere).
    pub required_retention_days: Option<u32>,
    /// How long an ECS action watches the rollout before calling it failed.
    pub rollout_timeout_seconds: u64,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            region: None,
            profile: None,
            endpoint_url: None,
            accounts: Vec::new(),
            clusters: Vec::new(),
            db_instances: Vec::new(),
            secrets: Vec::new(),
            log_groups: Vec::new(),
            load_balancers: BTreeMap::new(),
            required_retention_days: None,
            rollout_timeout_seconds: 600,
        }
    }
}

/// One `[[aws.accounts]]` entry; unset keys fall back to `[aws]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsAccountConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub clusters: Vec<String>,
    pub db_instances: Vec<String>,
    pub secrets: Vec<String>,
    pub log_groups: Vec<String>,
    pub load_balancers: BTreeMap<String, AwsLoadBalancerConfig>,
    pub required_retention_days: Option<u32>,
}

/// The CloudWatch dimensions of an Application Load Balancer in front of a service.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AwsLoadBalancerConfig {
    /// `app/NAME/ID`, the `LoadBalancer` dimension (the tail of the ALB's ARN).
    pub load_balancer: String,
    /// `targetgroup/NAME/ID`, to narrow the metrics to the service's target group.
    pub target_group: Option<String>,
}

/// `[azure]`. Only what differs from the defaults needs to be written; with no subscription
/// given, every enabled subscription the login can see is read.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AzureConfig {
    pub subscription_id: Option<String>,
    /// Several subscriptions side by side (one source each).
    pub subscriptions: Vec<String>,
    pub tenant_id: Option<String>,
    /// One of [`AZURE_CREDENTIALS`]. Default: the Azure CLI login (then azd), then a client
    /// secret from `AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`/`AZURE_TENANT_ID`. Never probes
    /// managed identity unless asked to.
    pub credential: Option<String>,
    /// Client id of a user-assigned managed identity or of the workload identity.
    pub client_id: Option<String>,
    /// `public` (default), `china` or `usgov`: the defaults for every endpoint below.
    pub cloud: Option<String>,
    pub arm_endpoint: Option<String>,
    pub authority_host: Option<String>,
    pub graph_endpoint: Option<String>,
    /// DNS suffix of Key Vault (`vault.azure.net`), used for the token audience.
    pub keyvault_suffix: Option<String>,
    /// Vault URLs to read; when empty, the vaults of each subscription are discovered.
    pub vaults: Vec<String>,
    pub log_analytics_endpoint: Option<String>,
    /// Log Analytics workspace ids (GUIDs) whose logs stream into the log viewer.
    pub log_analytics_workspaces: Vec<String>,
    /// KQL for the log viewer (default: App Service console and application logs).
    pub log_query: Option<String>,
    /// Health URL checked after a swap; `{host}` is the app's default host name.
    /// Default `https://{host}/api/v1/health`; empty turns the check off.
    pub health_url: Option<String>,
    pub health_tries: Option<u32>,
    pub health_interval_seconds: Option<u64>,
    /// Deploy credential rotation: service principals are named `<deploy_app>-<env>-app`.
    pub deploy_app: Option<String>,
    /// The repository holding `AZURE_CLIENT_SECRET_<ENV>`.
    pub github_repo: Option<String>,
    /// `repository` (default) or `environment`: where that secret lives.
    pub github_secret_scope: Option<String>,
    /// Also store the new deploy secret in this vault (URL), as `azure-client-secret-<env>`.
    pub deploy_secret_vault: Option<String>,
    /// Longest wait for a long-running operation (swap, restore) before reporting it as running.
    pub operation_timeout_seconds: Option<u64>,
    /// Poll interval of long-running operations when Azure does not say (`Retry-After`).
    pub poll_seconds: Option<u64>,
}

/// Values `[azure] credential` accepts.
pub const AZURE_CREDENTIALS: [&str; 5] =
    ["cli", "developer_tools", "client_secret", "managed_identity", "workload_identity"];

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GcpConfig {
    pub project: Option<String>,
    /// Several projects side by side (one provider each); `project` is added to them.
    pub projects: Vec<String>,
    /// Cloud Run regions to list; empty means every region the project can use.
    pub regions: Vec<String>,
    /// Where tokens come from (default `auto`).
    pub credentials: GcpCredentials,
    /// A service-account key file (JSON). Its `token_uri` is where tokens are exchanged.
    pub credentials_file: Option<String>,
    /// API base URLs (private endpoints, tests).
    pub endpoints: GcpEndpoints,
    /// A Cloud Logging filter ANDed to every log query (e.g. `severity>=WARNING`).
    pub log_filter: Option<String>,
    /// Path probed on a Cloud Run service's URL after promote/rollback; "" turns the probe off.
    pub health_path: Option<String>,
}

impl GcpConfig {
    /// `project` and `projects` together, in order, without repeats.
    pub fn all_projects(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.project.iter().chain(&self.projects) {
            let p = p.trim();
            if !p.is_empty() && !out.iter().any(|known| known == p) {
                out.push(p.to_string());
            }
        }
        out
    }
}

/// `auto`: a `credentials_file` if given, else gcp_auth's search (GOOGLE_APPLICATION_CREDENTIALS,
/// the application-default credentials file, the metadata server, gcloud).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GcpCredentials {
    #[default]
    Auto,
    /// `credentials_file`, else the file named by GOOGLE_APPLICATION_CREDENTIALS.
    ServiceAccount,
    /// `gcloud auth application-default login`.
    Adc,
    /// `gcloud auth print-access-token`.
    Gcloud,
}

/// Base URLs of the Google APIs skydeck calls; unset ones use Google's public endpoints.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GcpEndpoints {
    pub run: Option<String>,
    pub sqladmin: Option<String>,
    pub secretmanager: Option<String>,
    pub logging: Option<String>,
    pub monitoring: Option<String>,
}

impl GcpEndpoints {
    fn all(&self) -> [(&'static str, Option<&String>); 5] {
        [
            ("run", self.run.as_ref()),
            ("sqladmin", self.sqladmin.as_ref()),
            ("secretmanager", self.secretmanager.as_ref()),
            ("logging", self.logging.as_ref()),
            ("monitoring", self.monitoring.as_ref()),
        ]
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitOverride {
    pub warn: f64,
    pub crit: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogFileConfig {
    pub file: String,
    /// Source name in the viewer (default `file:<file name>`).
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EnvironmentConfig {
    pub name: String,
    pub tier: Option<Tier>,
    #[serde(default)]
    pub thresholds: BTreeMap<MetricKind, LimitOverride>,
    #[serde(default)]
    pub health: Vec<HealthCheckConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HealthCheckConfig {
    pub name: String,
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_status")]
    pub expect_status: u16,
    pub expect_body: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Extra request headers. A value `env:NAME` is read from the environment at request time
    /// (for tokens): it never enters the config, logs or screens.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_method() -> String {
    "GET".into()
}
fn default_status() -> u16 {
    200
}
fn default_timeout() -> u64 {
    5
}

/// A parsed config plus the warnings (unknown keys) to show in the UI and on stderr.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// Where the config comes from, in lookup order. `None`: no file anywhere (first run).
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("SKYDECK_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = crate::paths::config_dir().join("config.toml");
    default.exists().then_some(default)
}

pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { path: path.display().to_string(), message: e.to_string() })?;
    let mut loaded = parse(&text, &path.display().to_string())?;
    loaded.path = Some(path.to_path_buf());
    Ok(loaded)
}

pub fn parse(text: &str, path: &str) -> Result<Loaded, ConfigError> {
    let invalid = |line: usize, message: String| ConfigError::Invalid { path: path.to_string(), line, message };
    let de = toml::de::Deserializer::parse(text)
        .map_err(|e| invalid(line_of(text, e.span().map_or(0, |s| s.start)), e.message().to_string()))?;
    let mut unknown = Vec::new();
    let config: Config = serde_ignored::deserialize(de, |p| unknown.push(p.to_string().replace("?.", ""))).map_err(
        |e: toml::de::Error| invalid(line_of(text, e.span().map_or(0, |s| s.start)), e.message().to_string()),
    )?;
    let warnings =
        unknown.iter().map(|key| format!("{path}:{}: unknown key '{key}' ignored", line_of_key(text, key))).collect();
    validate(&config, text).map_err(|(line, message)| invalid(line, message))?;
    Ok(Loaded { config, path: None, warnings })
}

fn validate(config: &Config, text: &str) -> Result<(), (usize, String)> {
    let mut seen = Vec::new();
    for env in &config.environments {
        let line = text.find(&format!("\"{}\"", env.name)).map_or(1, |at| line_of(text, at));
        if env.name.trim().is_empty() {
            return Err((line, "environment name is empty".into()));
        }
        if seen.contains(&env.name) {
            return Err((line, format!("environment '{}' is defined twice", env.name)));
        }
        seen.push(env.name.clone());
        for (kind, limit) in config.thresholds.iter().chain(&env.thresholds) {
            check_limit(*kind, limit).map_err(|m| (line_of_key(text, kind.key()), m))?;
        }
        for check in &env.health {
            if !(check.url.starts_with("http://") || check.url.starts_with("https://")) {
                let line = text.find(&check.url).map_or(line, |at| line_of(text, at));
                return Err((line, format!("health check '{}': url must start with http:// or https://", check.name)));
            }
        }
    }
    if let Some(gh) = &config.github {
        for repo in gh.repos.iter().chain(gh.hosts.iter().flat_map(|h| &h.repos)) {
            if repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/') {
                let line = text.find(repo.as_str()).map_or(1, |at| line_of(text, at));
                return Err((line, format!("repository '{repo}' must be written owner/name")));
            }
        }
    }
    if let Some(az) = &config.azure {
        validate_azure(az, text)?;
    }
    if let Some(gcp) = &config.gcp {
        for (name, url) in gcp.endpoints.all() {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err((
                    line_of_key(text, name),
                    format!("[gcp.endpoints] {name}: '{url}' must start with http:// or https://"),
                ));
            }
        }
        if gcp.credentials_file.is_some() && matches!(gcp.credentials, GcpCredentials::Adc | GcpCredentials::Gcloud) {
            return Err((
                line_of_key(text, "credentials_file"),
                "[gcp] credentials_file is a service-account key: use it with credentials = \"service_account\" or \"auto\""
                    .into(),
            ));
        }
    }
    if let Some(aws) = &config.aws {
        let endpoints = aws.endpoint_url.iter().chain(aws.accounts.iter().filter_map(|a| a.endpoint_url.as_ref()));
        for url in endpoints {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                let line = text.find(url.as_str()).map_or(1, |at| line_of(text, at));
                return Err((line, format!("endpoint_url '{url}' must start with http:// or https://")));
            }
        }
        if aws.rollout_timeout_seconds == 0 {
            return Err((
                line_of_key(text, "rollout_timeout_seconds"),
                "rollout_timeout_seconds must be at least 1".into(),
            ));
        }
    }
    if let Some(team) = &config.team {
        crate::team::validate(team).map_err(|m| {
            let key = if m.starts_with("[team] sslmode") { "sslmode" } else { "postgres_url" };
            (line_in_table(text, "team", key), m)
        })?;
    }
    if let Err(e) = crate::keymap::Keymap::with_overrides(&config.keys) {
        return Err((line_in_table(text, "keys", &e.command), e.message));
    }
    if config.refresh.seconds == 0 || config.refresh.health_seconds == 0 {
        return Err((line_of_key(text, "seconds"), "refresh intervals must be at least 1 second".into()));
    }
    Ok(())
}

fn validate_azure(az: &AzureConfig, text: &str) -> Result<(), (usize, String)> {
    let line = |key: &str| line_of_key(text, key);
    if let Some(c) = &az.credential
        && !AZURE_CREDENTIALS.contains(&c.as_str())
    {
        return Err((
            line("credential"),
            format!("[azure] credential '{c}' is not one of {}", AZURE_CREDENTIALS.join(", ")),
        ));
    }
    if let Some(c) = &az.cloud
        && !["public", "china", "usgov"].contains(&c.as_str())
    {
        return Err((line("cloud"), format!("[azure] cloud '{c}' is not one of public, china, usgov")));
    }
    let urls = [
        ("arm_endpoint", az.arm_endpoint.as_deref()),
        ("authority_host", az.authority_host.as_deref()),
        ("graph_endpoint", az.graph_endpoint.as_deref()),
        ("log_analytics_endpoint", az.log_analytics_endpoint.as_deref()),
        ("deploy_secret_vault", az.deploy_secret_vault.as_deref()),
    ];
    for (key, value) in urls.into_iter().chain(az.vaults.iter().map(|v| ("vaults", Some(v.as_str())))) {
        if let Some(v) = value
            && !(v.starts_with("https://") || v.starts_with("http://"))
        {
            return Err((line(key), format!("[azure] {key} '{v}' must start with https:// or http://")));
        }
    }
    if let Some(repo) = &az.github_repo
        && (repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/'))
    {
        return Err((line("github_repo"), format!("[azure] github_repo '{repo}' must be written owner/name")));
    }
    if let Some(scope) = &az.github_secret_scope
        && scope != "repository"
        && scope != "environment"
    {
        return Err((
            line("github_secret_scope"),
            format!("[azure] github_secret_scope '{scope}' is not one of repository, environment"),
        ));
    }
    if az.deploy_app.is_some() != az.github_repo.is_some() {
        return Err((
            line(if az.deploy_app.is_some() { "deploy_app" } else { "github_repo" }),
            "[azure] deploy_app and github_repo go together (rotation writes the app's secret into the repository)"
                .into(),
        ));
    }
    Ok(())
}

fn check_limit(kind: MetricKind, limit: &LimitOverride) -> Result<(), String> {
    let ordered = if kind == MetricKind::Availability { limit.crit <= limit.warn } else { limit.crit >= limit.warn };
    if ordered {
        Ok(())
    } else {
        Err(format!("threshold {kind:?}: critical {} is milder than warning {}", limit.crit, limit.warn))
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// Line of `key = ...` inside the `[table]` section (else anywhere, else 1).
fn line_in_table(text: &str, table: &str, key: &str) -> usize {
    let header = format!("[{table}]");
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            inside = l == header;
            continue;
        }
        let name = l.split('=').next().unwrap_or("").trim().trim_matches('"');
        if inside && l.contains('=') && name == key {
            return i + 1;
        }
    }
    line_of_key(text, key)
}

/// Best-effort line of a dotted key path such as `github.tokn` or `environments.0.colour`.
fn line_of_key(text: &str, path: &str) -> usize {
    let key = path.rsplit('.').find(|p| p.parse::<usize>().is_err()).unwrap_or(path);
    let snake = key.to_string();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        let is_key = l.strip_prefix(&snake).is_some_and(|rest| rest.trim_start().starts_with('='));
        let is_table =
            l.starts_with('[') && l.trim_matches(|c| c == '[' || c == ']').rsplit('.').next() == Some(snake.as_str());
        if is_key || is_table {
            return i + 1;
        }
    }
    1
}

impl Config {
    /// Thresholds for one environment: defaults, then global overrides, then the environment's.
    pub fn thresholds_for(&self, environment: &str) -> Thresholds {
        let mut t = Thresholds::default();
        let env = self.environments.iter().find(|e| e.name == environment);
        for (kind, limit) in self.thresholds.iter().chain(env.into_iter().flat_map(|e| &e.thresholds)) {
            let slot = t.get_mut(*kind);
            slot.warn = limit.warn;
            slot.crit = limit.crit;
        }
        t
    }

    pub fn tier_of(&self, environment: &str) -> Tier {
        self.environments
            .iter()
            .find(|e| e.name == environment)
            .and_then(|e| e.tier)
            .unwrap_or_else(|| Tier::from_name(environment))
    }

    /// True when no provider or environment is configured: nothing to show but the first-run screen.
    pub fn is_empty(&self) -> bool {
        self.github.is_none()
            && self.aws.is_none()
            && self.azure.is_none()
            && self.gcp.is_none()
            && self.environments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_file_works_and_defaults_apply() {
        let l = parse("[[environments]]\nname = \"production\"\n", "c.toml").unwrap();
        assert!(l.warnings.is_empty());
        assert_eq!(l.config.refresh.seconds, 30);
        assert_eq!(l.config.tier_of("production"), Tier::Prod);
        assert_eq!(l.config.thresholds_for("production"), Thresholds::default());
        assert!(parse("", "c.toml").unwrap().config.is_empty());
    }

    #[test]
    fn design_contract_keys_parse() {
        let text = r#"
[github]
api_url = "https://api.github.com"
repos = ["owner/name"]
[[github.hosts]]
api_url = "https://ghe.example.com/api/v3"
repos = ["team/app"]
[aws]
region = "us-east-1"
endpoint_url = "http://127.0.0.1:5000"
[azure]
subscription_id = "abc"
arm_endpoint = "http://127.0.0.1:1"
[gcp]
project = "p"
[gcp.endpoints]
run = "http://127.0.0.1:2"
[[environments]]
name = "prod"
tier = "prod"
[environments.thresholds]
cpu = { warn = 60, crit = 80 }
[[environments.health]]
name = "web"
url = "https://example.com/api/v1/health"
"#;
        let l = parse(text, "c.toml").unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(l.config.github.as_ref().unwrap().hosts[0].repos, ["team/app"]);
        assert_eq!(l.config.gcp.as_ref().unwrap().endpoints.run.as_deref(), Some("http://127.0.0.1:2"));
        let t = l.config.thresholds_for("prod");
        assert_eq!((t.cpu.warn, t.cpu.crit), (60.0, 80.0));
        assert_eq!(t.memory, Thresholds::default().memory);
        assert_eq!(l.config.environments[0].health[0].expect_status, 200);
    }

    #[test]
    fn errors_name_file_and_line() {
        let err =
            parse("theme = \"dark\"\n\n[[environments]]\nname = \"prod\"\ntier = \"moon\"\n", "x.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.toml:5: "), "{text}");
        assert!(text.contains("moon"), "{text}");
        let err = parse("[github]\nrepos = [\"noslash\"]\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:2: repository 'noslash' must be written owner/name");
        let err = parse("[aws\nregion = 1", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:1: "), "{err}");
        let err = parse("[[environments]]\nname = \"a\"\n[[environments]]\nname = \"a\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
    }

    #[test]
    fn unknown_keys_warn_with_their_line() {
        let l = parse("theme = \"dark\"\n[github]\ntokn = \"x\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:3: unknown key 'github.tokn' ignored"]);
    }

    #[test]
    fn azure_section_parses_with_every_key() {
        let text = r#"
[azure]
subscriptions = ["s1", "s2"]
tenant_id = "t"
credential = "client_secret"
cloud = "china"
arm_endpoint = "http://127.0.0.1:1"
authority_host = "https://login.example"
graph_endpoint = "http://127.0.0.1:2"
keyvault_suffix = "vault.azure.cn"
vaults = ["http://127.0.0.1:3/"]
log_analytics_endpoint = "http://127.0.0.1:4"
log_analytics_workspaces = ["w"]
log_query = "AppServiceConsoleLogs"
health_url = "http://127.0.0.1:5/{host}/health"
health_tries = 2
health_interval_seconds = 0
deploy_app = "shop"
github_repo = "owner/shop"
github_secret_scope = "environment"
deploy_secret_vault = "http://127.0.0.1:3/"
operation_timeout_seconds = 5
poll_seconds = 1
"#;
        let l = parse(text, "c.toml").unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let az = l.config.azure.unwrap();
        assert_eq!(az.subscriptions, ["s1", "s2"]);
        assert_eq!(az.credential.as_deref(), Some("client_secret"));
        assert_eq!(az.vaults, ["http://127.0.0.1:3/"]);
        assert_eq!(az.health_tries, Some(2));
        assert_eq!(az.github_secret_scope.as_deref(), Some("environment"));
    }

    #[test]
    fn azure_mistakes_name_their_line() {
        let err = parse("[azure]\nsubscription_id = \"s\"\ncredential = \"magic\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: [azure] credential 'magic'"), "{err}");
        let err = parse("[azure]\narm_endpoint = \"management.azure.com\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: "), "{err}");
        let err = parse("[azure]\ndeploy_app = \"shop\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
        let err = parse("[azure]\ncloud = \"mars\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: "), "{err}");
        let l = parse("[azure]\nsubscription_id = \"s\"\nsubscription = \"typo\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:3: unknown key 'azure.subscription' ignored"]);
    }

    #[test]
    fn gcp_section_parses_with_defaults_and_several_projects() {
        let l = parse("[gcp]\nproject = \"a\"\n", "c.toml").unwrap();
        let gcp = l.config.gcp.unwrap();
        assert_eq!(gcp.credentials, GcpCredentials::Auto);
        assert_eq!(gcp.all_projects(), ["a"]);
        assert_eq!(gcp.endpoints, GcpEndpoints::default());

        let text = r#"
[gcp]
project = "shop-prod"
projects = ["shop-dev", "shop-prod"]
regions = ["europe-west1"]
credentials = "service_account"
credentials_file = "/keys/sa.json"
log_filter = "severity>=WARNING"
health_path = ""
[gcp.endpoints]
run = "http://127.0.0.1:1"
sqladmin = "http://127.0.0.1:2"
secretmanager = "http://127.0.0.1:3"
logging = "http://127.0.0.1:4"
monitoring = "http://127.0.0.1:5"
"#;
        let l = parse(text, "c.toml").unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let gcp = l.config.gcp.unwrap();
        assert_eq!(gcp.all_projects(), ["shop-prod", "shop-dev"]);
        assert_eq!(gcp.credentials, GcpCredentials::ServiceAccount);
        assert_eq!(gcp.credentials_file.as_deref(), Some("/keys/sa.json"));
        assert_eq!(gcp.endpoints.monitoring.as_deref(), Some("http://127.0.0.1:5"));
        assert_eq!(gcp.health_path.as_deref(), Some(""));
        for (value, expected) in [("adc", GcpCredentials::Adc), ("gcloud", GcpCredentials::Gcloud)] {
            let l = parse(&format!("[gcp]\nproject = \"p\"\ncredentials = \"{value}\"\n"), "c.toml").unwrap();
            assert_eq!(l.config.gcp.unwrap().credentials, expected);
        }
    }

    #[test]
    fn gcp_mistakes_are_reported_with_their_line() {
        let l = parse("[gcp]\nproject = \"p\"\n[gcp.endpoints]\nsqladmn = \"http://x\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:4: unknown key 'gcp.endpoints.sqladmn' ignored"]);
        let err = parse("[gcp]\nproject = \"p\"\ncredentials = \"magic\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: "), "{err}");
        let err = parse("[gcp]\nproject = \"p\"\n[gcp.endpoints]\nrun = \"127.0.0.1:9\"\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:4: [gcp.endpoints] run: '127.0.0.1:9' must start with http:// or https://");
        let err = parse("[gcp]\nproject = \"p\"\ncredentials = \"adc\"\ncredentials_file = \"k.json\"\n", "x.toml")
            .unwrap_err();
        assert!(err.to_string().starts_with("x.toml:4: "), "{err}");
    }

    #[test]
    fn aws_accounts_narrowing_and_load_balancers_parse() {
        let text = r#"
[aws]
region = "eu-west-1"
clusters = ["shop-prod"]
secrets = ["inference/"]
required_retention_days = 30
rollout_timeout_seconds = 120
[aws.load_balancers]
web = { load_balancer = "app/web-alb/50dc6c495c0c9188", target_group = "targetgroup/web/73e2d6bc24d8a067" }
[[aws.accounts]]
profile = "prod"
[[aws.accounts]]
profile = "staging"
region = "us-east-1"
db_instances = ["orders-stg"]
colour = "blue"
"#;
        let l = parse(text, "c.toml").unwrap();
        assert_eq!(l.warnings, ["c.toml:16: unknown key 'aws.accounts.1.colour' ignored"]);
        let aws = l.config.aws.unwrap();
        assert_eq!(aws.accounts.len(), 2);
        assert_eq!(aws.accounts[1].region.as_deref(), Some("us-east-1"));
        assert_eq!(aws.accounts[1].db_instances, ["orders-stg"]);
        assert_eq!(aws.clusters, ["shop-prod"]);
        assert_eq!(aws.required_retention_days, Some(30));
        assert_eq!(aws.rollout_timeout_seconds, 120);
        assert_eq!(aws.load_balancers["web"].load_balancer, "app/web-alb/50dc6c495c0c9188");
        // A minimal section keeps the defaults.
        let aws = parse("[aws]\nregion = \"us-east-1\"\n", "c.toml").unwrap().config.aws.unwrap();
        assert_eq!(aws.rollout_timeout_seconds, 600);
        assert!(aws.accounts.is_empty() && aws.clusters.is_empty());
        let err = parse("[aws]\nendpoint_url = \"127.0.0.1:5000\"\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:2: endpoint_url '127.0.0.1:5000' must start with http:// or https://");
    }

    #[test]
    fn key_overrides_are_checked_with_their_line() {
        let l = parse("[keys]\napprove = \"A\"\nup = [\"K\", \"up\"]\n", "x.toml").unwrap();
        assert_eq!(l.config.keys["up"], crate::keymap::KeySpec::Many(vec!["K".into(), "up".into()]));
        let text = "theme = \"dark\"\n[keys]\napprove = \"A\"\nreject = \"q\"\n";
        let err = parse(text, "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:4: [keys] reject = \"q\": 'q' is already bound to 'quit'");
        let err = parse("[keys]\n\nlaunch = \"l\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: [keys] unknown command 'launch'"), "{err}");
        let err = parse("[keys]\nquit = \"hyper-q\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: [keys] quit: 'hyper-q' is not a key"), "{err}");
    }

    #[test]
    fn inverted_thresholds_are_rejected() {
        let err = parse("[thresholds]\ncpu = { warn = 90, crit = 70 }\n[[environments]]\nname = \"p\"\n", "x.toml")
            .unwrap_err();
        assert!(err.to_string().contains("milder"), "{err}");
    }
}
