//! The trait every source implements (GitHub, AWS, Azure, GCP, HTTP health, the demo sandbox).
//! A provider turns vendor payloads into an owned [`Snapshot`]; it never touches `AppState`.

pub mod sandbox;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::actions::{ActionError, ActionRequest, Plan};
use crate::model::{LogLine, Snapshot, Timestamp};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ProviderError {
    /// Credentials missing, expired or rejected; `fix` says how to log in.
    #[error("{message} ({fix})")]
    Auth { message: String, fix: String },
    /// Throttled; `retry_after` is what the server asked for, if it said.
    #[error("rate limited{}", retry_after.map(|d| format!(", retry in {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("{0}")]
    Unavailable(String),
    #[error("unexpected response: {0}")]
    Payload(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

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

    /// Resolves a request against this provider's own last snapshot into the exact calls.
    /// Returns `NotFound` when the target is not this provider's.
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError>;

    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;

    /// Re-reads the target and says whether the action took effect.
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
}
