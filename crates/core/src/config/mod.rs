//! `skydeck.toml`: lookup, defaults, and validation that points at `file:line`.
//!
//! Lookup order: `--config`, then `$SKYDECK_CONFIG`, then `$XDG_CONFIG_HOME/skydeck/config.toml`.
//! A minimal file works; every key has a default. Unknown keys are warnings (with their line),
//! not errors, so a config written for a newer skydeck still starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{MetricKind, Thresholds, Tier};

mod section;
pub use section::{ConfigSection, Section};

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
    /// The providers' own sections (`[aws]`, `[kubernetes]`, ...), as written: each provider
    /// registers its section (`providers::REGISTRY`) and reads it typed with [`Config::section`].
    /// Only registered sections are kept; parse has checked each against its type.
    #[serde(skip)]
    pub sections: BTreeMap<String, toml::Value>,
    /// Thresholds for every environment; an environment may override single metrics.
    pub thresholds: BTreeMap<MetricKind, LimitOverride>,
    pub environments: Vec<EnvironmentConfig>,
    /// Local log files tailed into the log viewer: `[[logs]] file = "/var/log/app.log"`.
    pub logs: Vec<LogFileConfig>,
    /// Lines the log viewer keeps (oldest dropped first).
    pub log_buffer_lines: Option<usize>,
    /// `[notify.slack]`: see `crate::notify`.
    pub notify: crate::notify::NotifyConfig,
    /// The team store: `[team] postgres_url = "postgres://user@host/db"`.
    pub team: Option<crate::team::TeamConfig>,
    /// `[backups.object_storage]`: the protection every bucket / storage account must have.
    pub backups: BackupsConfig,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct BackupsConfig {
    pub object_storage: crate::model::ObjectStoragePolicy,
}

/// Longest soft delete a cloud offers (Azure: 365 days); a larger policy could never be met.
pub const MAX_SOFT_DELETE_DAYS: u32 = 365;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct RefreshConfig {
    /// Seconds between polls of each cloud and GitHub.
    pub seconds: u64,
    /// Seconds between health probes.
    pub health_seconds: u64,
    /// Longest one HTTP request to a cloud or GitHub may take (default 10).
    pub request_timeout_seconds: Option<u64>,
    /// Longest one source's whole fetch may take, retries included (default 20).
    pub fetch_timeout_seconds: Option<u64>,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig { seconds: 30, health_seconds: 10, request_timeout_seconds: None, fetch_timeout_seconds: None }
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

/// Reads and checks the file at `path`; `registered` are the providers' sections it accepts
/// (the `skydeck` crate's `config::load_file` passes its registry's).
pub fn load_file_with(path: &Path, registered: &[Section]) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { path: path.display().to_string(), message: e.to_string() })?;
    let mut loaded = parse_with(&text, &path.display().to_string(), registered)?;
    loaded.path = Some(path.to_path_buf());
    Ok(loaded)
}

/// Checks `text`, read from `path`; a table in `registered` is read by its provider's type, any
/// other unknown table or key is a warning with its line.
pub fn parse_with(text: &str, path: &str, registered: &[Section]) -> Result<Loaded, ConfigError> {
    let invalid = |line: usize, message: String| ConfigError::Invalid { path: path.to_string(), line, message };
    let de = toml::de::Deserializer::parse(text)
        .map_err(|e| invalid(line_of(text, e.span().map_or(0, |s| s.start)), e.message().to_string()))?;
    let mut unknown = Vec::new();
    let mut config: Config = serde_ignored::deserialize(de, |p| unknown.push(p.to_string().replace("?.", "")))
        .map_err(|e: toml::de::Error| {
            invalid(line_of(text, e.span().map_or(0, |s| s.start)), e.message().to_string())
        })?;
    // The core struct does not know the providers' sections; each registered one is read here.
    let is_section = |key: &str| registered.iter().any(|s| s.key == key.split('.').next().unwrap_or(key));
    unknown.retain(|key| !is_section(key));
    let document: toml::Table = toml::from_str(text)
        .map_err(|e| invalid(line_of(text, e.span().map_or(0, |s| s.start)), e.message().to_string()))?;
    for spec in registered {
        let Some(value) = document.get(spec.key) else { continue };
        unknown.extend((spec.check)(text).map_err(|(line, message)| invalid(line, message))?);
        config.sections.insert(spec.key.to_string(), value.clone());
    }
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
            check_limit(*kind, limit).map_err(|m| (line_of_key(text, kind.key()), m.to_string()))?;
        }
        for check in &env.health {
            if !(check.url.starts_with("http://") || check.url.starts_with("https://")) {
                let line = text.find(&check.url).map_or(line, |at| line_of(text, at));
                return Err((line, format!("health check '{}': url must start with http:// or https://", check.name)));
            }
        }
    }
    crate::notify::validate(&config.notify, &|key| line_in_table(text, "notify.slack", key))?;
    if let Some(team) = &config.team {
        crate::team::validate(team).map_err(|e| (line_in_table(text, "team", e.key()), e.to_string()))?;
    }
    if let Err(e) = crate::keymap::Keymap::with_overrides(&config.keys) {
        return Err((line_in_table(text, "keys", &e.command), e.message));
    }
    let days = config.backups.object_storage.soft_delete_days;
    if days > MAX_SOFT_DELETE_DAYS {
        return Err((
            line_in_table(text, "backups.object_storage", "soft_delete_days"),
            format!(
                "soft_delete_days = {days}: no cloud keeps deleted objects longer than {MAX_SOFT_DELETE_DAYS} days"
            ),
        ));
    }
    if config.refresh.seconds == 0 || config.refresh.health_seconds == 0 {
        return Err((line_of_key(text, "seconds"), "refresh intervals must be at least 1 second".into()));
    }
    Ok(())
}

/// A threshold whose critical limit is milder than its warning one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("threshold {kind:?}: critical {crit} is milder than warning {warn}")]
struct LimitOrder {
    kind: MetricKind,
    crit: f64,
    warn: f64,
}

fn check_limit(kind: MetricKind, limit: &LimitOverride) -> Result<(), LimitOrder> {
    let ordered = if kind == MetricKind::Availability { limit.crit <= limit.warn } else { limit.crit >= limit.warn };
    if ordered { Ok(()) } else { Err(LimitOrder { kind, crit: limit.crit, warn: limit.warn }) }
}

pub fn line_of(text: &str, byte: usize) -> usize {
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
pub fn line_of_key(text: &str, path: &str) -> usize {
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
        self.sections.is_empty() && self.environments.is_empty()
    }

    /// A provider's section, typed (`None` when the file has none). `parse` has checked it, so
    /// an error here means the section was put in by hand; it names the section.
    pub fn section<T: ConfigSection>(&self) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.sections.get(T::KEY) else { return Ok(None) };
        T::deserialize(value.clone())
            .map(Some)
            .map_err(|e| ConfigError::Unreadable { path: format!("[{}]", T::KEY), message: e.message().to_string() })
    }
}

/// The loader with no provider registered (this crate's tests; the `skydeck` crate's
/// `config::parse` passes its registry).
#[cfg(test)]
pub(crate) fn parse(text: &str, path: &str) -> Result<Loaded, ConfigError> {
    parse_with(text, path, &[])
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
    fn object_storage_policy_defaults_parse_and_mistakes_name_their_line() {
        let l = parse("theme = \"dark\"\n", "x.toml").unwrap();
        let p = l.config.backups.object_storage;
        assert!(p.versioning && p.geo_redundant_in_production);
        assert_eq!(p.soft_delete_days, 30);
        let l = parse("[backups.object_storage]\nversioning = false\nsoft_delete_days = 14\n", "x.toml").unwrap();
        let p = l.config.backups.object_storage;
        assert!(!p.versioning && p.geo_redundant_in_production);
        assert_eq!(p.soft_delete_days, 14);
        let err = parse("theme = \"dark\"\n[backups.object_storage]\nsoft_delete_days = 400\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: soft_delete_days = 400"), "{err}");
        let err = parse("[backups.object_storage]\n\nversioning = \"yes\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: "), "{err}");
        let l = parse("[backups.object_storage]\nsoft_delete = 3\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:2: unknown key 'backups.object_storage.soft_delete' ignored"]);
    }

    #[test]
    fn key_overrides_are_checked_with_their_line() {
        let l = parse("[keys]\napprove = \"A\"\nup = [\"J\", \"up\"]\n", "x.toml").unwrap();
        assert_eq!(l.config.keys["up"], crate::keymap::KeySpec::Many(vec!["J".into(), "up".into()]));
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
