//! The trait every source implements (GitHub, AWS, Azure, GCP, HTTP health, the demo sandbox).
//! A provider turns vendor payloads into an owned [`Snapshot`]; it never touches `AppState`.

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod github;
pub mod http_health;
pub mod logfile;
pub mod net;
pub mod sandbox;
pub mod sanitized;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::store::Store;

use crate::actions::{ActionError, ActionRequest, Plan};
use crate::model::{LogLine, Snapshot, Timestamp};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ProviderError {
    /// Credentials missing, expired or rejected; `fix` says how to log in.
    #[error("{message} ({fix})")]
    Auth { message: String, fix: String },
    /// Throttled; `retry_after` is what the server asked for, if it said.
    #[error("rate limited{}", retry_after.map(|d| format!(", retry in {}s", d.as_secs().max(1))).unwrap_or_else(|| ", retried at the next refresh".into()))]
    RateLimited { retry_after: Option<Duration> },
    #[error("{0}")]
    Unavailable(String),
    #[error("unexpected response: {0}")]
    Payload(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Every provider is used through `sanitized::Sanitized`, which forwards each method: a method
/// added here must be forwarded there too, or the wrapper's default silently replaces it.
pub trait Provider: Send + Sync {
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

    /// Inputs an action needs before planning (the dispatch form). Most actions need none.
    fn action_inputs<'a>(
        &'a self,
        _request: &'a ActionRequest,
    ) -> BoxFuture<'a, Result<Vec<crate::actions::InputSpec>, ProviderError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The `--param` keys this provider reads for `verb` (those the `act` flags set included:
    /// `count`, `time`, `to`, `name`, `ref`, `failed`); `skydeck act` refuses any other.
    /// [`crate::actions::WORKFLOW_INPUTS`] means it takes the workflow inputs `action_inputs` lists.
    fn accepted_params(&self, _verb: crate::actions::Verb) -> &'static [&'static str] {
        &[]
    }

    /// The log of one item (a CI job), for the log viewer.
    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { Err(ProviderError::Unavailable(format!("{} keeps no log for {target}", self.name()))) })
    }

    /// Resolves a request against this provider's own last snapshot into the exact calls.
    /// Returns `NotFound` when the target is not this provider's.
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError>;

    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;

    /// Re-reads the target and says whether the action took effect.
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
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
/// (HTTP cache, ETags).
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
    fn add(&mut self, name: &str, built: Result<Vec<Arc<dyn Provider>>, String>) {
        match built {
            // Everything a provider reads passes the sanitizer before it reaches a screen.
            Ok(list) => self.providers.extend(list.into_iter().map(sanitized::sanitized)),
            Err(why) => self.unavailable.push((name.to_string(), why)),
        }
    }
}

/// One line per cloud: each provider folder exposes `build(section, ctx)`.
pub async fn from_config(ctx: &BuildContext<'_>) -> Registry {
    let mut registry = Registry::default();
    let c = ctx.config;
    if let Some(section) = &c.github {
        registry.add("github", github::build(section, ctx).await);
    }
    if let Some(section) = &c.aws {
        registry.add("aws", aws::build(section, ctx).await);
    }
    if let Some(section) = &c.azure {
        registry.add("azure", azure::build(section, ctx).await);
    }
    if let Some(section) = &c.gcp {
        registry.add("gcp", gcp::build(section, ctx).await);
    }
    registry.add("health", http_health::build(ctx));
    registry.add("logs", logfile::build(ctx));
    registry
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
