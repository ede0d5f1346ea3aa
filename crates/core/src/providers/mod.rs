//! The provider API: the trait every source implements (GitHub, AWS, Azure, GCP, Kubernetes,
//! HTTP health, the demo sandbox), the capabilities it may offer and the registry entry type.
//! A provider turns vendor payloads into an owned [`Snapshot`]; it never touches `AppState`.
//! The providers themselves live in the `skydeck` crate (`src/providers/<name>/`), which lists
//! them in its `REGISTRY`; this crate knows none of them.

pub mod net;
pub mod sanitized;

mod capability;
pub use capability::{
    AlertControl, Capabilities, Handler, OneHandler, PointInTimeRestore, RotateSecret, RunControl, Scale, TakeSnapshot,
    TrafficShift,
};
pub use sanitized::Provider;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::store::Store;

use crate::actions::{Target, find_target};
use crate::model::{LogLine, Snapshot, Timestamp};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ProviderError {
    /// Credentials missing, expired or rejected; `fix` says how to log in.
    #[error("{message} ({fix})")]
    Auth { message: String, fix: String },
    /// Throttled; `retry_after` is what the server asked for, if it said.
    #[error("rate limited{}", retry_after.map_or_else(|| ", retried at the next refresh".into(), |d| format!(", retry in {}s", d.as_secs().max(1))))]
    RateLimited { retry_after: Option<Duration> },
    #[error("{0}")]
    Unavailable(String),
    #[error("unexpected response: {0}")]
    Payload(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// What every provider implements: where it reads from. Actions are optional capability
/// handlers it lists in [`Source::capabilities`]. Nothing outside a provider calls these methods:
/// the loop and the CLI hold an `Arc<dyn Provider>`, implemented once for every `Source` in
/// `sanitized.rs`, where everything read is cleaned on its way out.
pub trait Source: Send + Sync {
    /// Short name shown in the status bar and recorded in the audit log.
    fn name(&self) -> &str;

    fn refresh_interval(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// Reads everything the provider knows, once.
    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>>;

    /// Log lines newer than `after` (a cursor the provider gave earlier), if it streams logs.
    fn fetch_logs(&self, _after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Up to `limit` lines older than the oldest this source has sent, oldest first (the Logs
    /// screen scrolled to its top). Sources that cannot go back return none.
    fn fetch_older_logs(&self, _limit: usize) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// More log lines are ready now (a file read in batches): fetch again without waiting.
    fn logs_pending(&self) -> bool {
        false
    }

    /// The log of one item (a CI job), for the log viewer.
    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { Err(ProviderError::Unavailable(format!("{} keeps no log for {target}", self.name()))) })
    }

    /// Resolves when the source learns that what it read has changed (a Kubernetes watch
    /// event), so it is read again now instead of at the next interval; the source decides how
    /// soon it resolves (the Kubernetes one at most every 5 s). Asked anew after every fetch.
    /// The default never resolves: the interval alone decides.
    fn changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::pending())
    }

    /// The actions this provider takes (none: it only reads).
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities::NONE
    }
}

/// Why a configured source could not be built. The text says how to fix it ("run `az login`");
/// it ends up in the status bar and in `status --json` -> `errors`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum BuildError {
    /// A setting is missing or does not fit.
    #[error("{0}")]
    Config(String),
    /// Credentials could not be found or read.
    #[error("{0}")]
    Credentials(String),
    /// The HTTP client could not be set up.
    #[error("{0}")]
    Client(String),
    /// Several accounts, none of them built: each one's reason.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Each(Vec<BuildError>),
}

/// An error with its cause chain ("error sending request: tcp connect error: Connection refused"),
/// each cause once: transport errors hide what happened in their sources.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// What a provider's `build` gets: the whole config (environments, thresholds) and the store
/// (HTTP cache, `ETags`).
pub struct BuildContext<'a> {
    pub config: &'a Config,
    pub store: Arc<Store>,
}

impl BuildContext<'_> {
    /// Maps a discovered environment onto the configured spelling (`production` -> `prod` when
    /// the config calls it `prod`), so one environment never shows up twice.
    pub fn environment_name(&self, discovered: &str) -> String {
        configured_environment(self.config, discovered)
    }
}

/// [`BuildContext::environment_name`] for providers that keep the config rather than the context.
pub fn configured_environment(config: &Config, discovered: &str) -> String {
    let canonical = canonical_environment(discovered);
    config
        .environments
        .iter()
        .find(|e| canonical_environment(&e.name) == canonical)
        .map(|e| e.name.clone())
        .unwrap_or(canonical)
}

/// Providers built from config, and configured sources that could not be built, with why.
/// A source that cannot be built is reported, never silently dropped.
#[derive(Default)]
pub struct Registry {
    pub providers: Vec<Arc<dyn Provider>>,
    pub unavailable: Vec<(String, String)>,
}

impl Registry {
    pub fn add(&mut self, name: &str, built: Result<Vec<Arc<dyn Provider>>, BuildError>) {
        match built {
            // Nothing reaches a screen but through `Provider`, which cleans what it reads.
            Ok(list) => self.providers.extend(list),
            Err(why) => self.unavailable.push((name.to_string(), why.to_string())),
        }
    }
}

/// What `build` gives back: `None` when the config has no section for the provider.
pub type Built<'a> = BoxFuture<'a, Option<Result<Vec<Arc<dyn Provider>>, BuildError>>>;

/// One provider folder in the registry.
pub struct Registered {
    /// The folder under `src/providers/`.
    pub folder: &'static str,
    /// The name a source that cannot be built is reported under (`status --json` -> `errors`).
    pub label: &'static str,
    /// The `[section]` it reads, with its type and checks (`None`: it reads core config only).
    pub section: Option<crate::config::Section>,
    /// Builds one provider per account, subscription, project or host from the config.
    pub build: for<'a> fn(&'a BuildContext<'a>) -> Built<'a>,
}

/// A provider's typed section for its `from_config`: `None` without one, an error if it does
/// not read (parse checked it, so only a hand-made `Config` gets here).
pub fn section_of<T: crate::config::ConfigSection>(ctx: &BuildContext<'_>) -> Option<Result<T, BuildError>> {
    ctx.config.section::<T>().map_err(|e| BuildError::Config(e.to_string())).transpose()
}

/// The provider identities a build knows, in the order the role × cloud matrix shows them.
/// The binary hands its registry's list to the plugin loader and the TUI, which know no
/// provider by name.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    known: &'static [crate::model::Provider],
}

impl Catalog {
    /// Knows no provider: scopes name screens and roles only, the matrix shows what it holds.
    pub const EMPTY: Catalog = Catalog { known: &[] };

    pub const fn new(known: &'static [crate::model::Provider]) -> Catalog {
        Catalog { known }
    }

    pub fn providers(self) -> impl Iterator<Item = crate::model::Provider> {
        self.known.iter().copied()
    }

    /// The provider a key names, in any case.
    pub fn provider_of(self, key: &str) -> Option<crate::model::Provider> {
        self.providers().find(|p| p.key().eq_ignore_ascii_case(key))
    }

    /// Every resource kind the providers emit; plugins scope by these names.
    pub fn kinds(self) -> impl Iterator<Item = &'static str> {
        self.known.iter().flat_map(|p| p.info().kinds.iter().copied())
    }

    /// The kind as the providers spell it, whatever the case it is written in.
    pub fn canonical_kind(self, name: &str) -> Option<&'static str> {
        self.kinds().find(|k| k.eq_ignore_ascii_case(name.trim()))
    }
}

/// Which provider owns `target`: the first whose snapshot holds it (a run may be named by its
/// bare number; the [`Target`] has its canonical id). The TUI and `skydeck act` both ask here.
pub fn owner_of<'s, P>(
    sources: impl IntoIterator<Item = (P, &'s Snapshot)>,
    target: &str,
) -> Option<(P, &'s Snapshot, Target)> {
    sources.into_iter().find_map(|(p, snapshot)| find_target(snapshot, target).map(|t| (p, snapshot, t)))
}

/// The environment a resource belongs to when no config says otherwise: its `environment` /
/// `env` tag or label, else a name suffix, else "unassigned".
pub fn environment_of<'a>(name: &str, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    for (k, v) in tags {
        if k.eq_ignore_ascii_case("environment") || k.eq_ignore_ascii_case("env") {
            return canonical_environment(v);
        }
    }
    let lower = name.to_ascii_lowercase();
    for (suffix, env) in [
        ("-production", "production"),
        ("-prod", "production"),
        ("-staging", "staging"),
        ("-stg", "staging"),
        ("-dev", "dev"),
    ] {
        if lower.ends_with(suffix) {
            return env.to_string();
        }
    }
    "unassigned".to_string()
}

/// `prod` and `production` are one environment, as are `stg` and `staging`.
pub fn canonical_environment(value: &str) -> String {
    match value.to_ascii_lowercase().as_str() {
        "prod" | "production" | "prd" => "production".into(),
        "stg" | "staging" | "stage" => "staging".into(),
        "dev" | "development" => "dev".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_from_tag_then_suffix_then_unassigned() {
        assert_eq!(environment_of("web", [("Environment", "prod")]), "production");
        assert_eq!(environment_of("web-stg", [("team", "x")]), "staging");
        assert_eq!(environment_of("web-production", []), "production");
        assert_eq!(environment_of("web-dev", [("env", "qa")]), "qa");
        assert_eq!(environment_of("web", []), "unassigned");
    }
}
