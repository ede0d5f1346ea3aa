//! GitHub REST through octocrab, with what polling needs: conditional requests (`ETag`, cached in
//! the store so they survive restarts), `Link` pagination, a cap on requests in flight per
//! host, rate-limit tracking, retries of server errors, and errors that say how to fix them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::providers::{ProviderError, net};
use crate::store::{CachedResponse, Store};

/// Never more than this many requests in flight to one host.
const MAX_IN_FLIGHT: usize = 4;
/// Server errors and transport failures are retried this many times (GET only).
const RETRIES: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub remaining: u64,
    pub limit: u64,
    pub reset: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Counters {
    pub requests: u64,
    pub not_modified: u64,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct GithubClient {
    octo: Octocrab,
    pub host: String,
    pub api_url: String,
    store: Arc<Store>,
    in_flight: Semaphore,
    rate: Mutex<Option<RateLimit>>,
    counters: Mutex<Counters>,
    /// One request, body included (`[refresh] request_timeout_seconds`).
    request_timeout: Duration,
}

impl GithubClient {
    pub fn new(api_url: &str, token: &str, store: Arc<Store>) -> Result<GithubClient, crate::providers::BuildError> {
        let api_url = api_url.trim_end_matches('/').to_string();
        let host = host_of(&api_url);
        let octo = Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|e| crate::providers::BuildError::Config(format!("[github] api_url '{api_url}': {e}")))?
            .personal_token(token.to_string())
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| {
                crate::providers::BuildError::Client(format!("cannot build the GitHub client for {host}: {e}"))
            })?;
        Ok(GithubClient {
            octo,
            host,
            api_url,
            store,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
            rate: Mutex::new(None),
            counters: Mutex::new(Counters::default()),
            request_timeout: crate::providers::net::DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// How long one request (connect, headers, body) may take before it counts as failed.
    pub fn with_request_timeout(mut self, timeout: Duration) -> GithubClient {
        self.request_timeout = timeout;
        self
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self.rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// From `GET /rate_limit` when responses carry no rate headers.
    pub fn set_rate_limit(&self, rate: RateLimit) {
        *self.rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rate);
    }

    pub fn counters(&self) -> Counters {
        *self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn login_fix(&self) -> String {
        if self.host == "github.com" {
            "run `skydeck auth login github` or `gh auth login`, or set GH_TOKEN".to_string()
        } else {
            format!("run `skydeck auth login github --host {}` or `gh auth login --hostname {}`", self.host, self.host)
        }
    }

    fn record(&self, headers: &HeaderMap, status: StatusCode) {
        let num = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
        if let (Some(remaining), Some(limit), Some(reset)) =
            (num("x-ratelimit-remaining"), num("x-ratelimit-limit"), num("x-ratelimit-reset"))
        {
            let rate = RateLimit {
                remaining: remaining.max(0) as u64,
                limit: limit.max(0) as u64,
                reset: DateTime::from_timestamp(reset, 0).unwrap_or_else(Utc::now),
            };
            *self.rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rate);
        }
        let mut c = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        c.requests += 1;
        if status == StatusCode::NOT_MODIFIED {
            c.not_modified += 1;
        }
    }

    /// Turns an error status into the error the user should see.
    fn error_for(&self, path: &str, r: &Response) -> ProviderError {
        let message = serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_default();
        let header = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
        let exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
        match r.status {
            StatusCode::UNAUTHORIZED => ProviderError::Auth {
                message: format!(
                    "GitHub ({}) rejected the token: {}",
                    self.host,
                    if message.is_empty() { "Bad credentials" } else { &message }
                ),
                fix: self.login_fix(),
            },
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
                if retry_after.is_some() || exhausted || message.contains("rate limit") =>
            {
                let wait = retry_after.or_else(|| {
                    header("x-ratelimit-reset")
                        .and_then(|v| v.parse::<i64>().ok())
                        .map(|reset| Duration::from_secs((reset - Utc::now().timestamp()).max(1) as u64))
                });
                ProviderError::RateLimited { retry_after: wait }
            }
            StatusCode::FORBIDDEN => ProviderError::Auth {
                message: format!("GitHub ({}) refused {path}: {message}", self.host),
                fix: "check that the token has the `repo` and `workflow` scopes (or Actions: read/write)".to_string(),
            },
            StatusCode::NOT_FOUND => ProviderError::Unavailable(format!(
                "GitHub ({}) has no {path} (check the repository name and that the token can see it)",
                self.host
            )),
            s => ProviderError::Unavailable(format!(
                "GitHub ({}) answered {} for {path}{}",
                self.host,
                s.as_u16(),
                if message.is_empty() { String::new() } else { format!(": {message}") }
            )),
        }
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        etag: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, ProviderError> {
        let _permit = self.in_flight.acquire().await.map_err(|_| ProviderError::Unavailable("client closed".into()))?;
        let retries = if method == http::Method::GET { RETRIES } else { 0 };
        let mut attempt = 0;
        loop {
            let result = self.send_once(method.clone(), path, etag, body).await;
            match result {
                Ok(r) if r.status.is_server_error() && attempt < retries => {}
                Err(ProviderError::Unavailable(_)) if attempt < retries => {}
                other => return other,
            }
            attempt += 1;
            tokio::time::sleep(crate::providers::net::backoff(attempt, Duration::from_millis(200))).await;
        }
    }

    async fn send_once(
        &self,
        method: http::Method,
        path: &str,
        etag: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, ProviderError> {
        let uri: http::Uri = path.parse().map_err(|e| ProviderError::Payload(format!("bad path {path}: {e}")))?;
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(tag) = etag
            && let Ok(v) = HeaderValue::from_str(tag)
        {
            builder = builder.header("if-none-match", v);
        }
        let request = self.octo.build_request(builder, body).map_err(|e| ProviderError::Payload(e.to_string()))?;
        // Job logs are larger than any API page; both are capped so a wrong endpoint serving a
        // file cannot fill memory.
        let limit = if path.contains("/logs") { net::MAX_LOG_BODY } else { net::MAX_BODY };
        let exchange = async {
            let response = self.octo.execute(request).await.map_err(|e| {
                ProviderError::Unavailable(format!(
                    "GitHub ({}) unreachable: {}",
                    self.host,
                    crate::providers::error_chain(&e)
                ))
            })?;
            let (parts, body) = response.into_parts();
            let bytes = http_body_util::Limited::new(body, limit).collect().await.map_err(|e| {
                let why =
                    if e.is::<http_body_util::LengthLimitError>() { net::too_large(limit) } else { e.to_string() };
                ProviderError::Unavailable(format!("GitHub ({}): reading {path}: {why}", self.host))
            })?;
            Ok::<_, ProviderError>((parts, bytes.to_bytes()))
        };
        let (parts, bytes) = tokio::time::timeout(self.request_timeout, exchange).await.map_err(|_| {
            ProviderError::Unavailable(format!(
                "GitHub ({}) did not answer {path} within {}s",
                self.host,
                self.request_timeout.as_secs()
            ))
        })??;
        self.record(&parts.headers, parts.status);
        Ok(Response { status: parts.status, headers: parts.headers, body: bytes })
    }

    /// GET with `If-None-Match`; an unchanged answer (304) is served from the store.
    pub async fn get_cached(&self, path: &str) -> Result<(Bytes, Option<String>), ProviderError> {
        let key = format!("github:{}{}", self.api_url, path);
        let cached = self.store.http_cache_get(&key).ok().flatten();
        let r = self.send(http::Method::GET, path, cached.as_ref().map(|c| c.etag.as_str()), None).await?;
        if r.status == StatusCode::NOT_MODIFIED
            && let Some(c) = cached
        {
            return Ok((Bytes::from(c.body), c.link));
        }
        if !r.status.is_success() {
            return Err(self.error_for(path, &r));
        }
        let link = r.headers.get("link").and_then(|v| v.to_str().ok()).map(str::to_string);
        if let Some(etag) = r.headers.get("etag").and_then(|v| v.to_str().ok()) {
            let entry = CachedResponse { etag: etag.to_string(), link: link.clone(), body: r.body.to_vec() };
            if let Err(e) = self.store.http_cache_put(&key, &entry) {
                tracing::warn!("http cache: {e}");
            }
        }
        Ok((r.body, link))
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        let (body, _) = self.get_cached(path).await?;
        parse(path, &body)
    }

    /// Follows `Link: <...>; rel="next"` until `max_items` items. `key` picks the array out of
    /// an object page (`workflow_runs`, `jobs`), `None` for pages that are arrays.
    pub async fn get_paginated<T: DeserializeOwned>(
        &self,
        first: &str,
        key: Option<&str>,
        max_items: usize,
    ) -> Result<Vec<T>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            let (body, link) = self.get_cached(&path).await?;
            let value: serde_json::Value = parse(&path, &body)?;
            let items = match key {
                Some(k) => value
                    .get(k)
                    .cloned()
                    .ok_or_else(|| ProviderError::Payload(format!("{path}: no '{k}' in the answer")))?,
                None => value,
            };
            let page: Vec<T> =
                serde_json::from_value(items).map_err(|e| ProviderError::Payload(format!("{path}: {e}")))?;
            out.extend(page);
            pages += 1;
            if out.len() >= max_items || pages >= 50 {
                out.truncate(max_items);
                break;
            }
            next = link.as_deref().and_then(next_link).map(|url| self.relative(&url));
        }
        Ok(out)
    }

    /// A `Link` URL is absolute; requests go through the base URI, so keep path and query.
    fn relative(&self, url: &str) -> String {
        match url.parse::<http::Uri>() {
            Ok(u) => u.path_and_query().map_or_else(|| url.to_string(), |p| p.as_str().to_string()),
            Err(_) => url.to_string(),
        }
    }

    /// POST (never retried: not every POST is idempotent). Returns the status on success.
    pub async fn post(&self, path: &str, body: Option<&serde_json::Value>) -> Result<Response, ProviderError> {
        let r = self.send(http::Method::POST, path, None, body).await?;
        if r.status.is_success() { Ok(r) } else { Err(self.error_for(path, &r)) }
    }

    /// An uncached GET (verification must see the server's current state).
    pub async fn get_fresh<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        let r = self.send(http::Method::GET, path, None, None).await?;
        if !r.status.is_success() {
            return Err(self.error_for(path, &r));
        }
        parse(path, &r.body)
    }

    /// Raw text of a GET (job logs).
    pub async fn get_text(&self, path: &str) -> Result<String, ProviderError> {
        let r = self.send(http::Method::GET, path, None, None).await?;
        if !r.status.is_success() {
            return Err(self.error_for(path, &r));
        }
        Ok(String::from_utf8_lossy(&r.body).into_owned())
    }
}

fn parse<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| {
        if body.trim_ascii_start().starts_with(b"<") {
            ProviderError::Payload(format!(
                "{path}: GitHub answered an HTML page, not JSON (api_url must be the API: https://api.github.com, or https://HOST/api/v3 for Enterprise)"
            ))
        } else {
            ProviderError::Payload(format!("{path}: malformed JSON from GitHub ({e})"))
        }
    })
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// `https://api.github.com` -> `github.com`; `https://ghe.example.com/api/v3` -> `ghe.example.com`.
pub fn host_of(api_url: &str) -> String {
    let without_scheme = api_url.split("://").nth(1).unwrap_or(api_url);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    if host == "api.github.com" { "github.com".to_string() } else { host.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let h = r#"<https://api.github.com/repositories/1/actions/runs?page=2>; rel="next", <https://api.github.com/repositories/1/actions/runs?page=5>; rel="last""#;
        assert_eq!(next_link(h).as_deref(), Some("https://api.github.com/repositories/1/actions/runs?page=2"));
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://api.github.com"), "github.com");
        assert_eq!(host_of("https://ghe.example.com/api/v3"), "ghe.example.com");
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
