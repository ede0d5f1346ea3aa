//! Azure REST over reqwest (rustls): Azure Resource Manager, Key Vault, Microsoft Graph and
//! Log Analytics with a bearer token from [`TokenSource`]. What every caller needs lives here:
//! error bodies (`{"error":{"code","message"}}`) turned into errors that say what to do,
//! `Retry-After` on 429, one token refresh on 401, `nextLink` paging, and long-running
//! operations polled through `Azure-AsyncOperation` or `Location`.
//!
//! A bearer token is only ever sent to the origin of the endpoint it was issued for: a
//! `nextLink` or an operation URL that points elsewhere is refused, not followed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::auth::TokenSource;
use crate::providers::{ProviderError, net};

/// Never more than this many requests in flight.
const MAX_IN_FLIGHT: usize = 8;
/// How often a throttled (429) request is retried after the wait the server asked for.
const RATE_RETRIES: u32 = 2;
/// Longer waits than this are not slept through: the caller gets `RateLimited` instead (and
/// the poll loop waits it out), so one fetch stays within `[refresh] fetch_timeout_seconds`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Server errors and transport failures of reads are retried this many times.
const READ_RETRIES: u32 = 2;
/// `nextLink` pages followed at most (a safety stop, not a limit anyone should reach).
const MAX_PAGES: usize = 200;

/// Which service a call goes to: decides the token audience and the words of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Arm,
    KeyVault,
    Graph,
    LogAnalytics,
}

impl Api {
    pub fn label(self) -> &'static str {
        match self {
            Api::Arm => "Azure Resource Manager",
            Api::KeyVault => "Key Vault",
            Api::Graph => "Microsoft Graph",
            Api::LogAnalytics => "Log Analytics",
        }
    }
}

/// The token scopes of each API, from the configured cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Scopes {
    pub arm: String,
    pub keyvault: String,
    pub graph: String,
    pub log_analytics: String,
}

impl Scopes {
    fn of(&self, api: Api) -> &str {
        match api {
            Api::Arm => &self.arm,
            Api::KeyVault => &self.keyvault,
            Api::Graph => &self.graph,
            Api::LogAnalytics => &self.log_analytics,
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|e| ProviderError::Payload(format!("{what}: {e}")))
    }
}

/// How a long-running operation ended (or did not, within the wait).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Succeeded { waited: Duration },
    StillRunning { url: String, waited: Duration },
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    message: Option<String>,
}

/// `code: message` of an Azure error body, if it has one.
pub fn error_text(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let (code, message) = match parsed.error {
        Some(d) => (d.code, d.message),
        None => (parsed.code, parsed.message),
    };
    match (code, message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (Some(c), None) => Some(c),
        (None, Some(m)) => Some(m),
        (None, None) => None,
    }
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default())
}

pub struct AzureClient {
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    scopes: Scopes,
    in_flight: Semaphore,
    /// Poll interval of long-running operations when the server does not say.
    pub poll_interval: Duration,
    /// Longest wait for a long-running operation.
    pub operation_timeout: Duration,
    /// One request, body included (`[refresh] request_timeout_seconds`).
    request_timeout: Duration,
}

impl AzureClient {
    pub fn new(
        tokens: Arc<TokenSource>,
        scopes: Scopes,
        poll_interval: Duration,
        operation_timeout: Duration,
    ) -> Result<AzureClient, crate::providers::BuildError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_mins(1))
            .redirect(crate::providers::net::same_origin_redirects())
            .user_agent(concat!("skydeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::providers::BuildError::Client(format!("cannot build the HTTP client: {e}")))?;
        Ok(AzureClient {
            http,
            tokens,
            scopes,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
            poll_interval,
            operation_timeout,
            request_timeout: crate::providers::net::DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// How long one request (connect, headers, body) may take before it counts as failed.
    pub fn with_request_timeout(mut self, timeout: Duration) -> AzureClient {
        self.request_timeout = timeout;
        self
    }

    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The error the user sees for an unsuccessful answer.
    pub fn error_for(&self, api: Api, method: &Method, url: &str, r: &Response) -> ProviderError {
        let what = format!("{method} {}", path_of(url));
        let detail = error_text(&r.body).unwrap_or_default();
        let detail_suffix = if detail.is_empty() { String::new() } else { format!(": {detail}") };
        match r.status {
            StatusCode::UNAUTHORIZED => ProviderError::Auth {
                message: format!("{} rejected the sign-in for {what}{detail_suffix}", api.label()),
                fix: self.tokens.fix(),
            },
            StatusCode::FORBIDDEN => ProviderError::Auth {
                message: format!("{} refused {what}{detail_suffix}", api.label()),
                fix: match api {
                    Api::Arm => "ask for a role on the resource: Reader to see it, Contributor (or Website/PostgreSQL Contributor) to act on it".into(),
                    Api::KeyVault => "ask for the Key Vault Secrets User role (Secrets Officer to set values) or a vault access policy".into(),
                    Api::Graph => "ask for Application.ReadWrite.OwnedBy (or ownership of the app registration) in Microsoft Entra ID".into(),
                    Api::LogAnalytics => "ask for the Log Analytics Reader role on the workspace".into(),
                },
            },
            StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited {
                retry_after: retry_after(&r.headers),
            },
            StatusCode::NOT_FOUND => {
                ProviderError::Unavailable(format!("{}: {what} not found{detail_suffix}", api.label()))
            }
            s if s.is_redirection() => ProviderError::Unavailable(format!(
                "{} answered {} to {what}: a redirect to {}, not followed (check the endpoint in [azure])",
                api.label(),
                s.as_u16(),
                r.header("location").map_or_else(|| "nowhere".into(), origin_of)
            )),
            s => ProviderError::Unavailable(format!(
                "{} answered {} to {what}{detail_suffix}",
                api.label(),
                s.as_u16()
            )),
        }
    }

    /// One request with the bearer token, the 429/401 handling and, for reads, retries of
    /// server errors. Any status comes back; callers decide what is an error.
    pub async fn send(
        &self,
        api: Api,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, ProviderError> {
        let _permit = self.in_flight.acquire().await.map_err(|_| ProviderError::Unavailable("client closed".into()))?;
        let scope = self.scopes.of(api).to_string();
        let read = method == Method::GET;
        let (mut throttled, mut failed, mut reauth) = (0, 0, false);
        loop {
            let token = self.tokens.token(&scope).await?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .timeout(self.request_timeout)
                .bearer_auth(&token)
                .header("accept", "application/json");
            if let Some(b) = body {
                req = req.json(b);
            } else if method == Method::POST || method == Method::PUT {
                req = req.header("content-length", "0");
            }
            let sent = req.send().await;
            let r = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = net::read_limited(resp, net::MAX_BODY).await.map_err(|e| {
                        ProviderError::Unavailable(format!("{}: reading {}: {e}", api.label(), path_of(url)))
                    })?;
                    Response { status, headers, body }
                }
                Err(e) if read && failed < READ_RETRIES => {
                    failed += 1;
                    tracing::debug!("{} {}: {e}; retrying", api.label(), path_of(url));
                    tokio::time::sleep(net::backoff(failed, Duration::from_millis(200))).await;
                    continue;
                }
                Err(e) => {
                    return Err(ProviderError::Unavailable(format!(
                        "{} unreachable ({}): {}",
                        api.label(),
                        origin_of(url),
                        crate::providers::error_chain(&e)
                    )));
                }
            };
            match r.status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    if throttled < RATE_RETRIES
                        && (r.status == StatusCode::TOO_MANY_REQUESTS || r.headers.contains_key("retry-after")) =>
                {
                    let wait = retry_after(&r.headers).unwrap_or(Duration::from_secs(1));
                    if wait > MAX_RETRY_AFTER {
                        return Err(ProviderError::RateLimited { retry_after: Some(wait) });
                    }
                    throttled += 1;
                    tracing::info!("{} throttled {}; retrying in {wait:?}", api.label(), path_of(url));
                    tokio::time::sleep(wait).await;
                }
                StatusCode::UNAUTHORIZED if !reauth => {
                    // The cached token may have been revoked or rotated: ask once more.
                    reauth = true;
                    self.tokens.invalidate(&scope).await;
                }
                s if read && s.is_server_error() && failed < READ_RETRIES => {
                    failed += 1;
                    tokio::time::sleep(net::backoff(failed, Duration::from_millis(200))).await;
                }
                _ => return Ok(r),
            }
        }
    }

    /// A request that must succeed (2xx).
    pub async fn call(
        &self,
        api: Api,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, ProviderError> {
        let r = self.send(api, method.clone(), url, body).await?;
        if r.status.is_success() { Ok(r) } else { Err(self.error_for(api, &method, url, &r)) }
    }

    pub async fn get<T: DeserializeOwned>(&self, api: Api, url: &str) -> Result<T, ProviderError> {
        let r = self.call(api, Method::GET, url, None).await?;
        r.json(&format!("{} GET {}", api.label(), path_of(url)))
    }

    /// Every item of a paged list: `value` of each page, following `nextLink`.
    pub async fn list<T: DeserializeOwned>(&self, api: Api, url: &str) -> Result<Vec<T>, ProviderError> {
        #[derive(Deserialize)]
        struct Page<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
            #[serde(rename = "nextLink", alias = "@odata.nextLink", default)]
            next_link: Option<String>,
        }
        let mut out = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0;
        while let Some(page_url) = next.take() {
            let page: Page<T> = self.get(api, &page_url).await?;
            out.extend(page.value);
            pages += 1;
            if pages >= MAX_PAGES {
                tracing::warn!("{}: stopped after {pages} pages of {}", api.label(), path_of(url));
                break;
            }
            if let Some(link) = page.next_link.filter(|l| !l.is_empty()) {
                same_origin(url, &link)?;
                next = Some(link);
            }
        }
        Ok(out)
    }

    /// Follows a long-running operation started by `first` to its end, within
    /// `operation_timeout`. `Azure-AsyncOperation` is preferred over `Location`, as ARM says.
    pub async fn wait(&self, api: Api, request_url: &str, first: &Response) -> Result<Operation, ProviderError> {
        let started = Instant::now();
        let async_op = first.header("azure-asyncoperation").map(str::to_string);
        let location = first.header("location").map(str::to_string);
        let (url, by_status) = match (async_op, location) {
            (Some(u), _) => (u, true),
            (None, Some(u)) if first.status == StatusCode::ACCEPTED || first.status == StatusCode::CREATED => {
                (u, false)
            }
            // Finished synchronously (200/201/204 without anything to poll).
            _ => {
                return Ok(Operation::Succeeded { waited: started.elapsed() });
            }
        };
        same_origin(request_url, &url)?;
        let mut wait = retry_after(&first.headers).unwrap_or(self.poll_interval);
        loop {
            if started.elapsed() + wait > self.operation_timeout {
                return Ok(Operation::StillRunning { url, waited: started.elapsed() });
            }
            tokio::time::sleep(wait.min(Duration::from_mins(1))).await;
            let r = self.send(api, Method::GET, &url, None).await?;
            if by_status {
                if !r.status.is_success() {
                    return Err(self.error_for(api, &Method::GET, &url, &r));
                }
                #[derive(Deserialize)]
                struct Status {
                    status: String,
                }
                let s: Status = r.json("operation status")?;
                match s.status.as_str() {
                    "Succeeded" => {
                        return Ok(Operation::Succeeded { waited: started.elapsed() });
                    }
                    "Failed" | "Canceled" | "Cancelled" => {
                        let why = error_text(&r.body).unwrap_or_else(|| "no reason given".into());
                        return Err(ProviderError::Unavailable(format!("the operation ended {}: {why}", s.status)));
                    }
                    _ => {}
                }
            } else if r.status != StatusCode::ACCEPTED {
                if r.status.is_success() {
                    return Ok(Operation::Succeeded { waited: started.elapsed() });
                }
                return Err(self.error_for(api, &Method::GET, &url, &r));
            }
            wait = retry_after(&r.headers).unwrap_or(self.poll_interval);
        }
    }
}

/// Refuses to send a token to another origin than the one the first request went to.
pub fn same_origin(base: &str, next: &str) -> Result<(), ProviderError> {
    let (Ok(a), Ok(b)) = (Url::parse(base), Url::parse(next)) else {
        return Err(ProviderError::Payload(format!("not a URL: {next}")));
    };
    if a.origin() == b.origin() {
        Ok(())
    } else {
        Err(ProviderError::Payload(format!(
            "Azure pointed {} at {}, another host than {}; not following it with the token",
            path_of(base),
            origin_of(next),
            origin_of(base)
        )))
    }
}

/// The path of a URL without its query (for messages).
pub fn path_of(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.split('?').next().unwrap_or(url).to_string(), |u| u.path().to_string())
}

pub fn origin_of(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_string(), |u| u.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_api_shape() {
        assert_eq!(
            error_text(br#"{"error":{"code":"ResourceNotFound","message":"The Resource was not found."}}"#).as_deref(),
            Some("ResourceNotFound: The Resource was not found.")
        );
        assert_eq!(error_text(br#"{"code":"Conflict","message":"busy"}"#).as_deref(), Some("Conflict: busy"));
        assert_eq!(error_text(b"<html>"), None);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn tokens_stay_on_their_origin() {
        assert!(
            same_origin(
                "https://myvault.vault.azure.net/secrets?api-version=7.4",
                "https://myvault.vault.azure.net:443/secrets?api-version=7.2&$skiptoken=x"
            )
            .is_ok()
        );
        let err = same_origin(
            "http://127.0.0.1:9/subscriptions/s/providers/x?api-version=1",
            "https://management.azure.com/subscriptions/s/providers/x?$skiptoken=y",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not following it"), "{err}");
    }
}
