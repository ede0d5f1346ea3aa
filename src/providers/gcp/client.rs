//! Google REST through reqwest with tokens from `gcp_auth`: error bodies
//! (`{"error":{code,message,status}}`) turned into errors that say what to do, retries of
//! throttling and unavailability (honouring `Retry-After`), `nextPageToken` paging, and polling
//! of long-running operations until they are done.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gcp_auth::TokenProvider;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::config::{GcpConfig, GcpCredentials};
use crate::providers::{BuildError, ProviderError};

pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// What every missing or expired login tells the user.
pub const LOGIN_FIX: &str = "run `gcloud auth application-default login`";

/// Never more than this many requests in flight per project.
const MAX_IN_FLIGHT: usize = 8;
/// Attempts of one request when Google answers 429/5xx or the connection fails.
const ATTEMPTS: u32 = 3;
/// A `Retry-After` longer than this is handed to the caller (the poll loop waits it out).
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// At most this many pages of one list.
const MAX_PAGES: usize = 50;

/// The Google APIs skydeck calls, each with its own base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Run,
    Sql,
    Secrets,
    Logging,
    Monitoring,
    Storage,
}

impl Api {
    pub fn label(self) -> &'static str {
        match self {
            Api::Run => "Cloud Run",
            Api::Sql => "Cloud SQL Admin",
            Api::Secrets => "Secret Manager",
            Api::Logging => "Cloud Logging",
            Api::Monitoring => "Cloud Monitoring",
            Api::Storage => "Cloud Storage",
        }
    }
}

/// Base URLs, without a trailing slash.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    pub run: String,
    pub sqladmin: String,
    pub secretmanager: String,
    pub logging: String,
    pub monitoring: String,
    pub storage: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            run: "https://run.googleapis.com".into(),
            sqladmin: "https://sqladmin.googleapis.com".into(),
            secretmanager: "https://secretmanager.googleapis.com".into(),
            logging: "https://logging.googleapis.com".into(),
            monitoring: "https://monitoring.googleapis.com".into(),
            storage: "https://storage.googleapis.com".into(),
        }
    }
}

impl Endpoints {
    pub fn from_config(section: &GcpConfig) -> Endpoints {
        let d = Endpoints::default();
        let pick =
            |v: &Option<String>, default: String| v.as_deref().map_or(default, |s| s.trim_end_matches('/').to_string());
        let e = &section.endpoints;
        Endpoints {
            run: pick(&e.run, d.run),
            sqladmin: pick(&e.sqladmin, d.sqladmin),
            secretmanager: pick(&e.secretmanager, d.secretmanager),
            logging: pick(&e.logging, d.logging),
            monitoring: pick(&e.monitoring, d.monitoring),
            storage: pick(&e.storage, d.storage),
        }
    }

    pub fn base(&self, api: Api) -> &str {
        match api {
            Api::Run => &self.run,
            Api::Sql => &self.sqladmin,
            Api::Secrets => &self.secretmanager,
            Api::Logging => &self.logging,
            Api::Monitoring => &self.monitoring,
            Api::Storage => &self.storage,
        }
    }
}

/// Where tokens come from. Built once; the `gcp_auth` provider itself is made on first use so
/// that a missing login shows up as the source's error (with the fix), not as a start-up failure.
pub enum Credentials {
    /// A service-account key file; `gcp_auth` exchanges a signed JWT at the file's `token_uri`.
    KeyFile(PathBuf, Arc<dyn TokenProvider>),
    /// `GOOGLE_APPLICATION_CREDENTIALS` names a service-account key file.
    KeyFileFromEnv,
    /// The application-default credentials file of `gcloud auth application-default login`.
    Adc,
    /// `gcloud auth print-access-token`.
    Gcloud,
    /// `gcp_auth`'s own search: `GOOGLE_APPLICATION_CREDENTIALS`, ADC, metadata server, gcloud.
    Auto,
}

impl Credentials {
    /// From `[gcp] credentials` and `credentials_file`. A key file is read now, so a wrong path
    /// or a broken file is reported at once.
    pub fn from_config(section: &GcpConfig) -> Result<Credentials, BuildError> {
        match (section.credentials, &section.credentials_file) {
            (GcpCredentials::ServiceAccount | GcpCredentials::Auto, Some(file)) => Credentials::key_file(file),
            (GcpCredentials::ServiceAccount, None) => Ok(Credentials::KeyFileFromEnv),
            (GcpCredentials::Adc, _) => Ok(Credentials::Adc),
            (GcpCredentials::Gcloud, _) => Ok(Credentials::Gcloud),
            (GcpCredentials::Auto, None) => Ok(Credentials::Auto),
        }
    }

    pub fn key_file(path: impl AsRef<Path>) -> Result<Credentials, BuildError> {
        let path = expand_home(path.as_ref());
        let account = gcp_auth::CustomServiceAccount::from_file(&path).map_err(|e| {
            BuildError::Credentials(format!(
                "[gcp] credentials_file {}: {} (download a service-account key, or {LOGIN_FIX} and set credentials = \"adc\")",
                path.display(),
                crate::providers::error_chain(&e)
            ))
        })?;
        Ok(Credentials::KeyFile(path, Arc::new(account)))
    }

    /// Where the tokens come from, for messages (never the secret itself).
    pub fn describe(&self) -> String {
        match self {
            Credentials::KeyFile(path, _) => format!("service-account key {}", path.display()),
            Credentials::KeyFileFromEnv => "the service-account key named by GOOGLE_APPLICATION_CREDENTIALS".into(),
            Credentials::Adc => "application-default credentials".into(),
            Credentials::Gcloud => "gcloud".into(),
            Credentials::Auto => "the first of GOOGLE_APPLICATION_CREDENTIALS, application-default credentials, the metadata server and gcloud".into(),
        }
    }
}

fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// The token source shared by every project of one `[gcp]` section.
pub struct Auth {
    credentials: Credentials,
    /// Made on first use; dropped again when a login stops working (ADC, gcloud, auto), so
    /// the next poll picks up a fresh `gcloud auth application-default login`.
    provider: std::sync::Mutex<Option<Arc<dyn TokenProvider>>>,
    /// A token exchange that just failed answers every caller for a few seconds, so one poll
    /// (a dozen calls) does not retry a dead login a dozen times.
    failed: std::sync::Mutex<Option<(std::time::Instant, ProviderError)>>,
    /// One token request at a time: the others wait and reuse its token or its failure.
    exchange: tokio::sync::Mutex<()>,
}

/// How long a failed token exchange is remembered.
const AUTH_FAILURE_MEMORY: Duration = Duration::from_secs(10);

impl Auth {
    pub fn new(credentials: Credentials) -> Auth {
        let provider = match &credentials {
            Credentials::KeyFile(_, p) => Some(p.clone()),
            _ => None,
        };
        Auth {
            credentials,
            provider: std::sync::Mutex::new(provider),
            failed: std::sync::Mutex::new(None),
            exchange: tokio::sync::Mutex::new(()),
        }
    }

    pub fn describe(&self) -> String {
        self.credentials.describe()
    }

    fn auth_error(&self, what: &str, e: &gcp_auth::Error) -> ProviderError {
        let fix = match &self.credentials {
            Credentials::KeyFile(..) | Credentials::KeyFileFromEnv => format!(
                "check the service-account key (it may be deleted or disabled), or {LOGIN_FIX} and set credentials = \"adc\""
            ),
            Credentials::Gcloud => format!("run `gcloud auth login`, or {LOGIN_FIX} and set credentials = \"adc\""),
            _ => LOGIN_FIX.to_string(),
        };
        ProviderError::Auth {
            message: format!("{what} ({}): {}", self.describe(), crate::providers::error_chain(e)),
            fix,
        }
    }

    async fn make(&self) -> Result<Arc<dyn TokenProvider>, ProviderError> {
        let made: Result<Arc<dyn TokenProvider>, gcp_auth::Error> = match &self.credentials {
            Credentials::KeyFile(_, p) => Ok(p.clone()),
            Credentials::KeyFileFromEnv => match gcp_auth::CustomServiceAccount::from_env() {
                Ok(Some(p)) => Ok(Arc::new(p) as Arc<dyn TokenProvider>),
                Ok(None) => {
                    return Err(ProviderError::Auth {
                        message: "credentials = \"service_account\" but neither credentials_file nor GOOGLE_APPLICATION_CREDENTIALS names a key file".into(),
                        fix: format!("set [gcp] credentials_file, or {LOGIN_FIX} and set credentials = \"adc\""),
                    });
                }
                Err(e) => Err(e),
            },
            Credentials::Adc => {
                gcp_auth::ConfigDefaultCredentials::new().await.map(|p| Arc::new(p) as Arc<dyn TokenProvider>)
            }
            Credentials::Gcloud => {
                gcp_auth::GCloudAuthorizedUser::new().await.map(|p| Arc::new(p) as Arc<dyn TokenProvider>)
            }
            Credentials::Auto => gcp_auth::provider().await,
        };
        made.map_err(|e| self.auth_error("no usable GCP credentials", &e))
    }

    pub async fn token(&self) -> Result<String, ProviderError> {
        let _turn = self.exchange.lock().await;
        if let Some((at, e)) = self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
            && at.elapsed() < AUTH_FAILURE_MEMORY
        {
            return Err(e.clone());
        }
        let result = self.token_now().await;
        if let Err(e) = &result {
            *self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some((std::time::Instant::now(), e.clone()));
        }
        result
    }

    async fn token_now(&self) -> Result<String, ProviderError> {
        let known = self.provider.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let provider = if let Some(p) = known {
            p
        } else {
            let p = self.make().await?;
            *self.provider.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(p.clone());
            p
        };
        match provider.token(&[SCOPE]).await {
            Ok(t) => Ok(t.as_str().to_string()),
            Err(e) => {
                if !matches!(self.credentials, Credentials::KeyFile(..)) {
                    *self.provider.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                }
                Err(self.auth_error("could not get a GCP access token", &e))
            }
        }
    }
}

/// What a long-running operation ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum OperationEnd {
    Done(Value),
    Failed(String),
}

pub struct GcpClient {
    http: reqwest::Client,
    auth: Arc<Auth>,
    pub endpoints: Endpoints,
    in_flight: Semaphore,
    /// One request, body included (`[refresh] request_timeout_seconds`).
    request_timeout: Duration,
}

impl GcpClient {
    pub fn new(endpoints: Endpoints, auth: Arc<Auth>) -> Result<GcpClient, BuildError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_mins(1))
            .redirect(crate::providers::net::same_origin_redirects())
            .user_agent(concat!("skydeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError::Client(format!("cannot build the HTTP client: {e}")))?;
        Ok(GcpClient {
            http,
            auth,
            endpoints,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
            request_timeout: crate::providers::net::DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// How long one request (connect, headers, body) may take before it counts as failed.
    pub fn with_request_timeout(mut self, timeout: Duration) -> GcpClient {
        self.request_timeout = timeout;
        self
    }

    /// The plain HTTP client (health probes, which carry no Google token).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn url(&self, api: Api, path: &str) -> String {
        format!("{}{path}", self.endpoints.base(api))
    }

    /// `path` with query parameters, percent-encoded.
    pub fn url_with(&self, api: Api, path: &str, params: &[(&str, &str)]) -> Result<String, ProviderError> {
        let url = Url::parse_with_params(&self.url(api, path), params)
            .map_err(|e| ProviderError::Payload(format!("bad URL for {path}: {e}")))?;
        Ok(url.to_string())
    }

    /// One call with retries: 429 for any method (Google rejected it before doing anything);
    /// for GET and PATCH (idempotent) also 500/502/503/504 and connection failures. A POST
    /// (clone, addVersion, backup) is never sent twice otherwise.
    pub async fn call(
        &self,
        api: Api,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let _permit = self.in_flight.acquire().await.map_err(|_| ProviderError::Unavailable("client closed".into()))?;
        let idempotent = method == Method::GET || method == Method::PATCH;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= ATTEMPTS;
            let token = self.auth.token().await?;
            let mut request = self.http.request(method.clone(), url).timeout(self.request_timeout).bearer_auth(token);
            if let Some(b) = body {
                request = request.json(b);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) if idempotent && !last => {
                    tracing::debug!("{} {url}: {e}; retrying", api.label());
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ProviderError::Unavailable(format!(
                        "{} unreachable ({method} {url}): {}",
                        api.label(),
                        crate::providers::error_chain(&e)
                    )));
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let bytes =
                crate::providers::net::read_limited(response, crate::providers::net::MAX_BODY).await.map_err(|e| {
                    ProviderError::Unavailable(format!("{} ({method} {url}): reading the answer: {e}", api.label()))
                })?;
            if status.is_success() {
                if bytes.is_empty() {
                    return Ok(Value::Object(Default::default()));
                }
                return serde_json::from_slice(&bytes).map_err(|e| {
                    ProviderError::Payload(format!("{} ({method} {url}): malformed JSON ({e})", api.label()))
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || (idempotent
                    && matches!(
                        status,
                        StatusCode::INTERNAL_SERVER_ERROR
                            | StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    ));
            let wait = retry_after.unwrap_or_else(|| backoff(attempt));
            if retryable && !last && wait <= MAX_INLINE_WAIT {
                tracing::debug!("{} {url}: {status}; retrying in {wait:?}", api.label());
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(error_for(api, &method, url, status, &bytes, retry_after));
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, api: Api, url: &str) -> Result<T, ProviderError> {
        let v = self.call(api, Method::GET, url, None).await?;
        from_value(api, url, v)
    }

    /// Every item of a list, following `nextPageToken` (at most `max` items). `key` is the
    /// array in each page (`services`, `revisions`, `items`, `secrets`, `versions`, ...).
    pub async fn list<T: DeserializeOwned>(
        &self,
        api: Api,
        path: &str,
        params: &[(&str, &str)],
        key: &str,
        max: usize,
    ) -> Result<Vec<T>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(&str, &str)> = params.to_vec();
            if let Some(t) = &token {
                query.push(("pageToken", t));
            }
            let url = self.url_with(api, path, &query)?;
            let mut page = self.call(api, Method::GET, &url, None).await?;
            if let Some(items) = page.get_mut(key).map(Value::take) {
                let items: Vec<T> = serde_json::from_value(items)
                    .map_err(|e| ProviderError::Payload(format!("{} ({url}): '{key}': {e}", api.label())))?;
                out.extend(items);
            }
            token = page.get("nextPageToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() || out.len() >= max {
                break;
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Polls a `google.longrunning.Operation` (Cloud Run) until `done`: its `response`, or its
    /// `error` as a failure. `first` is the operation the call returned.
    pub async fn wait_operation(
        &self,
        api: Api,
        version: &str,
        first: Value,
        interval: Duration,
        timeout: Duration,
    ) -> Result<OperationEnd, ProviderError> {
        let name = first.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let started = tokio::time::Instant::now();
        let mut op = first;
        loop {
            if op.get("done").and_then(Value::as_bool) == Some(true) {
                return Ok(match op.get("error") {
                    Some(e) => OperationEnd::Failed(rpc_status_text(e)),
                    None => OperationEnd::Done(op.get("response").cloned().unwrap_or(Value::Null)),
                });
            }
            if name.is_empty() {
                return Err(ProviderError::Payload(format!("{}: the operation has no name to poll", api.label())));
            }
            if started.elapsed() >= timeout {
                return Err(ProviderError::Timeout(timeout));
            }
            tokio::time::sleep(interval).await;
            let url = self.url(api, &format!("/{version}/{name}"));
            op = self.call(api, Method::GET, &url, None).await?;
        }
    }

    /// Polls a Cloud SQL Admin operation (`status` PENDING/RUNNING/DONE, `error.errors[]`).
    pub async fn wait_sql_operation(
        &self,
        project: &str,
        first: Value,
        interval: Duration,
        timeout: Duration,
    ) -> Result<OperationEnd, ProviderError> {
        let name = first.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let started = tokio::time::Instant::now();
        let mut op = first;
        loop {
            let status = op.get("status").map(|s| super::enum_name(s, super::SQL_OPERATION_STATUS));
            if status.as_deref() == Some("DONE") {
                let errors: Vec<String> = op
                    .pointer("/error/errors")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .map(|e| {
                                let code = e.get("code").and_then(Value::as_str).unwrap_or("");
                                let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                                format!("{message} ({code})")
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(if errors.is_empty() {
                    OperationEnd::Done(op)
                } else {
                    OperationEnd::Failed(errors.join("; "))
                });
            }
            if name.is_empty() {
                return Err(ProviderError::Payload("Cloud SQL Admin: the operation has no name to poll".into()));
            }
            if started.elapsed() >= timeout {
                return Err(ProviderError::Timeout(timeout));
            }
            tokio::time::sleep(interval).await;
            let url = self.url(Api::Sql, &format!("/v1/projects/{project}/operations/{name}"));
            op = self.call(Api::Sql, Method::GET, &url, None).await?;
        }
    }
}

/// 250 ms, 1 s, 4 s..., jittered.
fn backoff(attempt: u32) -> Duration {
    crate::providers::net::backoff(attempt.min(5), Duration::from_millis(250))
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let secs = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds().max(0);
    Some(Duration::from_secs(secs as u64))
}

fn from_value<T: DeserializeOwned>(api: Api, url: &str, v: Value) -> Result<T, ProviderError> {
    serde_json::from_value(v).map_err(|e| ProviderError::Payload(format!("{} ({url}): {e}", api.label())))
}

/// `google.rpc.Status` (an operation's `error`): "message (`FAILED_PRECONDITION`)".
pub fn rpc_status_text(e: &Value) -> String {
    let message = e.get("message").and_then(Value::as_str).unwrap_or("no message");
    let code = match e.get("code") {
        Some(Value::Number(n)) => n.as_u64().map_or("UNKNOWN", grpc_code_name).to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "UNKNOWN".to_string(),
    };
    format!("{message} ({code})")
}

/// The canonical names of google.rpc.Code.
pub fn grpc_code_name(code: u64) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("UNKNOWN")
}

/// Turns an error answer into what the user should see: Google's own `error.message` and
/// `error.status`, the call, and for credentials how to fix them.
pub fn error_for(
    api: Api,
    method: &Method,
    url: &str,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ProviderError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    // Google's JSON error, or OAuth's `{"error":"invalid_grant","error_description":...}`.
    let (message, google_status) = match error {
        Some(Value::Object(e)) => (
            e.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
            e.get("status").and_then(Value::as_str).unwrap_or("").to_string(),
        ),
        Some(Value::String(code)) => (
            parsed
                .as_ref()
                .and_then(|v| v.get("error_description"))
                .and_then(Value::as_str)
                .unwrap_or(code)
                .to_string(),
            code.clone(),
        ),
        _ => (String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string(), String::new()),
    };
    let reasons: Vec<String> = error
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(|x| x.get("reason").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let message =
        if message.is_empty() { status.canonical_reason().unwrap_or("no message").to_string() } else { message };
    let path = Url::parse(url).map_or_else(|_| url.to_string(), |u| u.path().to_string());
    let mut what = format!("HTTP {}", status.as_u16());
    if !google_status.is_empty() {
        what = format!("{google_status}, {what}");
    }
    for r in &reasons {
        what.push_str(", ");
        what.push_str(r);
    }
    let text = format!("{}: {message} ({what}) [{method} {path}]", api.label());
    let expired = google_status == "UNAUTHENTICATED"
        || google_status == "invalid_grant"
        || message.contains("invalid_grant")
        || message.to_ascii_lowercase().contains("expired");
    match status {
        StatusCode::UNAUTHORIZED => ProviderError::Auth { message: text, fix: LOGIN_FIX.to_string() },
        StatusCode::FORBIDDEN if expired => ProviderError::Auth { message: text, fix: LOGIN_FIX.to_string() },
        StatusCode::FORBIDDEN if reasons.iter().any(|r| r == "SERVICE_DISABLED") => ProviderError::Unavailable(text),
        StatusCode::FORBIDDEN => ProviderError::Auth {
            message: text,
            fix: format!(
                "grant the account a role that allows this (e.g. roles/{}), or {LOGIN_FIX} as someone who has it",
                match api {
                    Api::Run => "run.developer",
                    Api::Sql => "cloudsql.editor",
                    Api::Secrets => "secretmanager.admin",
                    Api::Logging => "logging.viewer",
                    Api::Monitoring => "monitoring.viewer",
                    Api::Storage => "storage.bucketViewer",
                }
            ),
        },
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after },
        _ if google_status == "RESOURCE_EXHAUSTED" => ProviderError::RateLimited { retry_after },
        _ => ProviderError::Unavailable(text),
    }
}

/// True when an API is simply not enabled in the project (nothing of that kind to show).
pub fn is_service_disabled(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Unavailable(m) if m.contains("SERVICE_DISABLED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_error_bodies_read_clearly() {
        let body = br#"{"error":{"code":404,"message":"Resource 'web' of kind 'SERVICE' in region 'us-central1' in project 'p' does not exist.","status":"NOT_FOUND"}}"#;
        let e = error_for(
            Api::Run,
            &Method::GET,
            "http://127.0.0.1:1/v2/projects/p/locations/us-central1/services/web?alt=json",
            StatusCode::NOT_FOUND,
            body,
            None,
        );
        assert_eq!(
            e.to_string(),
            "Cloud Run: Resource 'web' of kind 'SERVICE' in region 'us-central1' in project 'p' does not exist. (NOT_FOUND, HTTP 404) [GET /v2/projects/p/locations/us-central1/services/web]"
        );
    }

    #[test]
    fn credentials_and_throttling_errors() {
        let e = error_for(
            Api::Sql,
            &Method::GET,
            "http://x/v1/projects/p/instances",
            StatusCode::UNAUTHORIZED,
            br#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
            None,
        );
        assert!(matches!(&e, ProviderError::Auth { fix, .. } if fix == LOGIN_FIX), "{e:?}");
        let e = error_for(
            Api::Secrets,
            &Method::GET,
            "http://x/v1/projects/p/secrets",
            StatusCode::FORBIDDEN,
            br#"{"error":{"code":403,"message":"Secret Manager API has not been used in project p before or it is disabled.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED"}]}}"#,
            None,
        );
        assert!(is_service_disabled(&e), "{e:?}");
        let e = error_for(
            Api::Monitoring,
            &Method::GET,
            "http://x/v3/projects/p/timeSeries",
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#,
            Some(Duration::from_secs(7)),
        );
        assert_eq!(e, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(7)) });
        assert_eq!(parse_retry_after("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
    }

    #[test]
    fn operation_errors_name_their_code() {
        let e = serde_json::json!({"code": 9, "message": "Revision 'web-00002-xyz' is not ready"});
        assert_eq!(rpc_status_text(&e), "Revision 'web-00002-xyz' is not ready (FAILED_PRECONDITION)");
    }
}
