//! HTTP health checks from config: every environment's `[[environments.health]]`, probed
//! concurrently each interval. Each check keeps a window of probes for availability and latency
//! percentiles; levels come from the environment's thresholds (availability, response time),
//! and a check whose latest probe failed is critical at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;

use super::{BoxFuture, BuildContext, BuildError, Provider, ProviderError, Source};

/// Health checks' identity (`provider: http` on their rows and in JSON).
pub const PROVIDER: crate::model::Provider =
    crate::model::Provider::new(&crate::model::ProviderInfo::named("http", "HTTP"));
use crate::config::HealthCheckConfig;
use crate::model::{HealthCheck, Level, Metric, MetricKind, Snapshot, Thresholds};

/// Probes kept per check (at the default 10 s interval: the last 10 minutes).
const WINDOW: usize = 60;
/// The most of a body `expect_body` searches.
const HEALTH_BODY_LIMIT: usize = 1 << 20;

struct Check {
    id: String,
    environment: String,
    config: HealthCheckConfig,
    thresholds: Thresholds,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub error: Option<String>,
}

pub struct HttpHealth {
    checks: Vec<Check>,
    client: reqwest::Client,
    interval: Duration,
    history: Mutex<HashMap<String, VecDeque<Probe>>>,
}

pub fn build(ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let checks: Vec<Check> = ctx
        .config
        .environments
        .iter()
        .flat_map(|env| {
            env.health.iter().map(move |c| Check {
                id: format!("health/{}/{}", env.name, c.name),
                environment: env.name.clone(),
                config: c.clone(),
                thresholds: ctx.config.thresholds_for(&env.name),
            })
        })
        .collect();
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let client = reqwest::Client::builder()
        .user_agent(concat!("skydeck/", env!("CARGO_PKG_VERSION"), " health-check"))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| BuildError::Client(format!("cannot build the HTTP client for health checks: {e}")))?;
    let interval = Duration::from_secs(ctx.config.refresh.health_seconds.max(1));
    Ok(vec![Arc::new(HttpHealth { checks, client, interval, history: Mutex::new(HashMap::new()) })])
}

/// Names the failure the way an engineer would look for it: DNS, TLS, refused, reset, timeout.
pub fn classify(chain: &str, timed_out: bool, timeout: Duration) -> String {
    let lower = chain.to_ascii_lowercase();
    if timed_out || lower.contains("timed out") {
        format!("timeout: no answer within {}s", timeout.as_secs())
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
    {
        format!("DNS: {chain}")
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
    {
        format!("TLS: {chain}")
    } else if lower.contains("connection refused") {
        "connection refused".to_string()
    } else if lower.contains("reset") || lower.contains("connection closed") || lower.contains("incomplete message") {
        format!("connection reset: {chain}")
    } else {
        format!("connection failed: {chain}")
    }
}

impl HttpHealth {
    async fn probe(&self, check: &Check) -> Probe {
        let c = &check.config;
        let timeout = Duration::from_secs(c.timeout_seconds.max(1));
        let method = reqwest::Method::from_bytes(c.method.to_uppercase().as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self.client.request(method, &c.url).timeout(timeout);
        for (name, value) in &c.headers {
            let value = match value.strip_prefix("env:") {
                Some(var) => {
                    if let Ok(v) = std::env::var(var) {
                        v
                    } else {
                        let error = Some(format!("header {name}: environment variable {var} is not set"));
                        return Probe { status: None, latency_ms: None, error };
                    }
                }
                None => value.clone(),
            };
            request = request.header(name.as_str(), value);
        }
        let started = Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let error = Some(classify(&super::error_chain(&e), e.is_timeout(), timeout));
                return Probe { status: None, latency_ms: None, error };
            }
        };
        let status = response.status().as_u16();
        let body = if c.expect_body.is_some() {
            // A health page is small; a huge one is read no further than the limit.
            match super::net::read_limited(response, HEALTH_BODY_LIMIT).await {
                Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                Err(e) => {
                    let timed_out = started.elapsed() >= timeout;
                    let error = Some(match &e {
                        super::net::BodyError::TooLarge { .. } => format!("body: {e}"),
                        super::net::BodyError::Read(chain) => classify(chain, timed_out, timeout),
                    });
                    return Probe { status: Some(status), latency_ms: None, error };
                }
            }
        } else {
            None
        };
        let latency = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        let error = if status != c.expect_status {
            Some(format!("HTTP {status} (expected {})", c.expect_status))
        } else if let (Some(expected), Some(body)) = (&c.expect_body, &body)
            && !body.contains(expected.as_str())
        {
            Some(format!("body does not contain '{expected}'"))
        } else {
            None
        };
        let ok = error.is_none();
        Probe { status: Some(status), latency_ms: ok.then_some(latency), error }
    }

    fn record(&self, check: &Check, probe: Probe) -> (HealthCheck, Vec<Metric>) {
        let mut history = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = history.entry(check.id.clone()).or_default();
        window.push_back(probe.clone());
        while window.len() > WINDOW {
            window.pop_front();
        }
        let latencies: Vec<Option<u32>> = window.iter().map(|p| p.latency_ms).collect();
        let mut hc = HealthCheck {
            id: check.id.clone(),
            environment: check.environment.clone(),
            name: check.config.name.clone(),
            url: check.config.url.clone(),
            level: Level::Unknown,
            status_code: probe.status,
            latency_ms: probe.latency_ms,
            error: probe.error.clone(),
            checked_at: Utc::now(),
            history: latencies,
        };
        let availability = hc.availability().unwrap_or(0.0);
        let t = &check.thresholds;
        hc.level = if probe.error.is_some() {
            Level::Crit
        } else {
            let latency = f64::from(probe.latency_ms.unwrap_or(0)) / 1000.0;
            t.level(MetricKind::Availability, availability).max(t.level(MetricKind::ResponseTime, latency))
        };
        let metric = |kind, value: f64, values: Vec<f64>| Metric {
            environment: check.environment.clone(),
            resource: check.config.name.clone(),
            kind,
            value,
            level: t.level(kind, value),
            history: values,
        };
        let mut metrics = vec![metric(
            MetricKind::Availability,
            availability,
            window.iter().map(|p| if p.error.is_none() { 100.0 } else { 0.0 }).collect(),
        )];
        if let Some(p95) = hc.percentile(95) {
            let values = window.iter().filter_map(|p| p.latency_ms).map(|ms| f64::from(ms) / 1000.0).collect();
            metrics.push(metric(MetricKind::ResponseTime, f64::from(p95) / 1000.0, values));
        }
        (hc, metrics)
    }
}

impl Source for HttpHealth {
    fn name(&self) -> &'static str {
        "health"
    }

    fn refresh_interval(&self) -> Duration {
        self.interval
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async move {
            let probes = join_all(self.checks.iter().map(|c| self.probe(c))).await;
            let mut snapshot = Snapshot::default();
            for (check, probe) in self.checks.iter().zip(probes) {
                let (hc, metrics) = self.record(check, probe);
                snapshot.health.push(hc);
                snapshot.metrics.extend(metrics);
            }
            Ok(snapshot)
        })
    }
}
