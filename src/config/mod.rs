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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AzureConfig {
    pub subscription_id: Option<String>,
    pub tenant_id: Option<String>,
    pub arm_endpoint: Option<String>,
    pub authority_host: Option<String>,
    pub credential: Option<String>,
    pub keyvault_suffix: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GcpConfig {
    pub project: Option<String>,
    pub regions: Vec<String>,
    pub credentials_file: Option<String>,
    pub endpoints: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitOverride {
    pub warn: f64,
    pub crit: f64,
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
    if let Err(e) = crate::keymap::Keymap::with_overrides(&config.keys) {
        return Err((line_in_table(text, "keys", &e.command), e.message));
    }
    if config.refresh.seconds == 0 || config.refresh.health_seconds == 0 {
        return Err((line_of_key(text, "seconds"), "refresh intervals must be at least 1 second".into()));
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
        assert_eq!(l.config.gcp.as_ref().unwrap().endpoints["run"], "http://127.0.0.1:2");
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
