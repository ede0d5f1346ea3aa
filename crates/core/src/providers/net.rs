//! What every HTTP adapter shares against a faulty server: how long one request may take, how
//! long one source's whole fetch may take, how large an answer may be, and jittered backoff
//! between retries (so many skydecks retrying one failing API do not retry in step).
//!
//! The limits come from `[refresh]` (`request_timeout_seconds`, `fetch_timeout_seconds`); the
//! fault-matrix tests shorten them there.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::Config;

/// One HTTP request (connect, headers and body) unless `[refresh] request_timeout_seconds` says.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// One source's whole fetch, retries included, unless `[refresh] fetch_timeout_seconds` says.
/// `status` prints within about this long plus start-up (under 30 s), whatever the servers do.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest API answer read (JSON pages are far smaller); a larger one is an error.
pub const MAX_BODY: usize = 32 << 20;
/// The largest log read in one answer (a CI job's whole log).
pub const MAX_LOG_BODY: usize = 128 << 20;

pub fn request_timeout(config: &Config) -> Duration {
    config.refresh.request_timeout_seconds.map_or(DEFAULT_REQUEST_TIMEOUT, |s| Duration::from_secs(s.max(1)))
}

pub fn fetch_timeout(config: &Config) -> Duration {
    config.refresh.fetch_timeout_seconds.map_or(DEFAULT_FETCH_TIMEOUT, |s| Duration::from_secs(s.max(1)))
}

/// The wait before retry `attempt` (1, 2, ...): `base`·4^(attempt-1), of which the upper half
/// is random ("equal jitter"): never less than half the step, never more than the step.
pub fn backoff(attempt: u32, base: Duration) -> Duration {
    let step = base.saturating_mul(4u32.saturating_pow(attempt.saturating_sub(1).min(6)));
    let half = step / 2;
    let span = half.as_nanos().min(u128::from(u64::MAX)) as u64;
    half + Duration::from_nanos(if span == 0 { 0 } else { random() % (span + 1) })
}

/// A random number from the standard library's per-process random hasher keys and a counter.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// Reads an answer's body, refusing one larger than `limit` bytes (a misconfigured endpoint
/// serving a file, a proxy's endless page) instead of holding it all in memory.
pub async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<bytes::Bytes, BodyError> {
    if let Some(len) = response.content_length()
        && len > limit as u64
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| BodyError::Read(super::error_chain(&e)))? {
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// Redirects within the same origin (scheme, host, port) are followed, up to 5; one to another
/// origin is not: the 3xx comes back as the answer, so a token meant for one API never goes
/// elsewhere (reqwest would drop the header, but the data would come from the other host).
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().first().is_none_or(|first| first.origin() == attempt.url().origin());
        if !same || attempt.previous().len() > 5 { attempt.stop() } else { attempt.follow() }
    })
}

/// Why an answer's body was not read.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum BodyError {
    #[error("the answer is larger than {} MiB; not read", limit >> 20)]
    TooLarge { limit: usize },
    /// The connection failed while reading (the error chain).
    #[error("{0}")]
    Read(String),
}

pub fn too_large(limit: usize) -> String {
    BodyError::TooLarge { limit }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_jittered_within_its_step() {
        let base = Duration::from_millis(200);
        for attempt in 1..=4 {
            let step = base * 4u32.pow(attempt - 1);
            let waits: Vec<Duration> = (0..50).map(|_| backoff(attempt, base)).collect();
            assert!(waits.iter().all(|w| *w >= step / 2 && *w <= step), "{attempt}: {waits:?}");
            let distinct: std::collections::HashSet<_> = waits.iter().collect();
            assert!(distinct.len() > 10, "jittered: {waits:?}");
        }
        assert_eq!(backoff(1, Duration::ZERO), Duration::ZERO);
        // Large attempts saturate instead of overflowing.
        assert!(backoff(u32::MAX, Duration::from_secs(1)) <= Duration::from_secs(4096));
    }

    #[test]
    fn limits_from_config_with_defaults() {
        let mut c = Config::default();
        assert_eq!(request_timeout(&c), DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(fetch_timeout(&c), DEFAULT_FETCH_TIMEOUT);
        c.refresh.request_timeout_seconds = Some(2);
        c.refresh.fetch_timeout_seconds = Some(0);
        assert_eq!(request_timeout(&c), Duration::from_secs(2));
        assert_eq!(fetch_timeout(&c), Duration::from_secs(1));
    }
}
