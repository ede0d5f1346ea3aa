//! Azure Monitor metrics (`Microsoft.Insights/metrics`), judged against the thresholds table.
//!
//! Web apps: `Http5xx` / `Requests` (error rate) and `HttpResponseTime`. App Service plans:
//! `CpuPercentage` and `MemoryPercentage` (App Service reports them per plan, not per app).
//! `PostgreSQL` Flexible Server: `cpu_percent`, and `active_connections` as a share of the
//! server's `max_connections`. Metrics are best effort: a resource without data shows none.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use reqwest::Url;
use serde::Deserialize;

use super::Shared;
use super::client::Api;
use crate::model::{Metric, MetricKind};
use crate::providers::ProviderError;

pub const MONITOR_API: &str = "2024-02-01";

#[derive(Debug, Deserialize)]
struct MetricsResponse {
    #[serde(default)]
    value: Vec<MetricPayload>,
}

#[derive(Debug, Deserialize)]
struct MetricPayload {
    name: Name,
    #[serde(default)]
    timeseries: Vec<Timeseries>,
}

#[derive(Debug, Deserialize)]
struct Name {
    value: String,
}

#[derive(Debug, Deserialize)]
struct Timeseries {
    #[serde(default)]
    data: Vec<Point>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Point {
    time_stamp: String,
    average: Option<f64>,
    total: Option<f64>,
    maximum: Option<f64>,
}

/// One time bucket of a metric, merged across its time series (dimensions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    pub at: String,
    pub average: Option<f64>,
    pub total: Option<f64>,
    pub maximum: Option<f64>,
}

/// Metric name -> buckets in time order. Several time series (dimension values) are merged:
/// totals add up, averages are averaged, maxima take the larger.
pub fn parse(body: &[u8]) -> Result<BTreeMap<String, Vec<Bucket>>, ProviderError> {
    let r: MetricsResponse =
        serde_json::from_slice(body).map_err(|e| ProviderError::Payload(format!("Azure Monitor metrics: {e}")))?;
    let mut out = BTreeMap::new();
    for m in r.value {
        let mut by_time: BTreeMap<String, (Bucket, u32)> = BTreeMap::new();
        for ts in &m.timeseries {
            for p in &ts.data {
                let (b, n) = by_time
                    .entry(p.time_stamp.clone())
                    .or_insert_with(|| (Bucket { at: p.time_stamp.clone(), ..Default::default() }, 0));
                if let Some(t) = p.total {
                    b.total = Some(b.total.unwrap_or(0.0) + t);
                }
                if let Some(mx) = p.maximum {
                    b.maximum = Some(b.maximum.map_or(mx, |old: f64| old.max(mx)));
                }
                if let Some(a) = p.average {
                    *n += 1;
                    let prev = b.average.unwrap_or(0.0);
                    b.average = Some(prev + (a - prev) / f64::from(*n));
                }
            }
        }
        out.insert(m.name.value, by_time.into_values().map(|(b, _)| b).collect());
    }
    Ok(out)
}

async fn query(
    s: &Shared,
    resource_id: &str,
    names: &[&str],
    aggregation: &str,
) -> Result<BTreeMap<String, Vec<Bucket>>, ProviderError> {
    let end = Utc::now();
    let start = end - Duration::hours(1);
    let fmt = "%Y-%m-%dT%H:%M:%SZ";
    let base = s.arm_url(&format!("{resource_id}/providers/Microsoft.Insights/metrics"), MONITOR_API);
    let mut url = Url::parse(&base).map_err(|e| ProviderError::Payload(format!("{base}: {e}")))?;
    url.query_pairs_mut()
        .append_pair("metricnames", &names.join(","))
        .append_pair("aggregation", aggregation)
        .append_pair("interval", "PT5M")
        .append_pair("timespan", &format!("{}/{}", start.format(fmt), end.format(fmt)));
    let r = s.client.call(Api::Arm, reqwest::Method::GET, url.as_str(), None).await?;
    parse(&r.body)
}

fn metric(s: &Shared, env: &str, resource: &str, kind: MetricKind, history: Vec<f64>) -> Option<Metric> {
    let value = *history.last()?;
    Some(Metric {
        environment: env.to_string(),
        resource: resource.to_string(),
        kind,
        level: s.config.thresholds_for(env).level(kind, value),
        value,
        history,
    })
}

fn averages(buckets: Option<&Vec<Bucket>>) -> Vec<f64> {
    buckets.map(|b| b.iter().filter_map(|x| x.average).collect()).unwrap_or_default()
}

/// Error rate (5xx of all requests, %) and response time (s) of a web app.
pub fn site_series(series: &BTreeMap<String, Vec<Bucket>>) -> (Vec<f64>, Vec<f64>) {
    let requests = series.get("Requests");
    let errors = series.get("Http5xx");
    let mut rate = Vec::new();
    if let Some(req) = requests {
        for b in req {
            let total = b.total.unwrap_or(0.0);
            let five = errors.and_then(|e| e.iter().find(|x| x.at == b.at)).and_then(|x| x.total).unwrap_or(0.0);
            if b.total.is_some() {
                rate.push(if total > 0.0 { five * 100.0 / total } else { 0.0 });
            }
        }
    }
    (rate, averages(series.get("HttpResponseTime")))
}

pub async fn site_metrics(s: &Shared, id: &str, name: &str, env: &str) -> Vec<Metric> {
    match query(s, id, &["Http5xx", "Requests", "HttpResponseTime"], "Total,Average").await {
        Ok(series) => {
            let (rate, latency) = site_series(&series);
            [metric(s, env, name, MetricKind::ErrorRate, rate), metric(s, env, name, MetricKind::ResponseTime, latency)]
                .into_iter()
                .flatten()
                .collect()
        }
        Err(e) => {
            tracing::debug!("metrics of {name}: {e}");
            Vec::new()
        }
    }
}

pub async fn plan_metrics(s: &Shared, id: &str, name: &str, env: &str) -> Vec<Metric> {
    match query(s, id, &["CpuPercentage", "MemoryPercentage"], "Average").await {
        Ok(series) => [
            metric(s, env, name, MetricKind::Cpu, averages(series.get("CpuPercentage"))),
            metric(s, env, name, MetricKind::Memory, averages(series.get("MemoryPercentage"))),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Err(e) => {
            tracing::debug!("metrics of {name}: {e}");
            Vec::new()
        }
    }
}

/// CPU and connections (% of `max_connections`, when known) of a `PostgreSQL` server.
pub async fn postgres_metrics(
    s: &Shared,
    id: &str,
    name: &str,
    env: &str,
    max_connections: Option<f64>,
) -> Vec<Metric> {
    match query(s, id, &["cpu_percent", "active_connections"], "Average,Maximum").await {
        Ok(series) => {
            let connections: Vec<f64> = match max_connections.filter(|m| *m > 0.0) {
                Some(max) => series
                    .get("active_connections")
                    .map(|b| b.iter().filter_map(|x| x.maximum.or(x.average)).map(|c| c * 100.0 / max).collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            [
                metric(s, env, name, MetricKind::Cpu, averages(series.get("cpu_percent"))),
                metric(s, env, name, MetricKind::DbConnections, connections),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
        Err(e) => {
            tracing::debug!("metrics of {name}: {e}");
            Vec::new()
        }
    }
}
