//! Cloud Monitoring (v3 `timeSeries.list`): request latency, 5xx rate, CPU and memory of Cloud
//! Run services over the last 30 minutes, one point a minute, judged against the thresholds.

use std::collections::BTreeMap;

use chrono::{Duration, SecondsFormat};
use serde::Deserialize;
use serde_json::Value;

use super::client::{Api, GcpClient};
use crate::model::{MetricKind, Timestamp};
use crate::providers::ProviderError;

/// Minutes of history read per poll.
const WINDOW_MINUTES: i64 = 30;
/// The error rate is taken over this many newest minutes (one minute is too few requests).
const ERROR_RATE_MINUTES: usize = 5;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Labelled {
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Interval {
    end_time: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Point {
    interval: Interval,
    value: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct TimeSeries {
    metric: Labelled,
    resource: Labelled,
    points: Vec<Point>,
}

/// A `TypedValue`: `doubleValue`, `int64Value` (a string in JSON), or `boolValue`.
fn number(v: &Value) -> Option<f64> {
    if let Some(d) = v.get("doubleValue") {
        return match d {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
    }
    if let Some(i) = v.get("int64Value") {
        return match i {
            Value::String(s) => s.parse::<i64>().ok().map(|n| n as f64),
            Value::Number(n) => n.as_f64(),
            _ => None,
        };
    }
    v.get("boolValue").and_then(Value::as_bool).map(|b| f64::from(u8::from(b)))
}

/// One service's points of one metric, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSeries {
    pub service: String,
    pub location: String,
    pub kind: MetricKind,
    pub value: f64,
    pub history: Vec<f64>,
}

struct Query {
    metric: &'static str,
    aligner: &'static str,
    reducer: &'static str,
    by_class: bool,
}

const LATENCY: Query = Query {
    metric: "run.googleapis.com/request_latencies",
    aligner: "ALIGN_DELTA",
    reducer: "REDUCE_PERCENTILE_95",
    by_class: false,
};
const REQUESTS: Query =
    Query { metric: "run.googleapis.com/request_count", aligner: "ALIGN_DELTA", reducer: "REDUCE_SUM", by_class: true };
const CPU: Query = Query {
    metric: "run.googleapis.com/container/cpu/utilizations",
    aligner: "ALIGN_DELTA",
    reducer: "REDUCE_PERCENTILE_95",
    by_class: false,
};
const MEMORY: Query = Query {
    metric: "run.googleapis.com/container/memory/utilizations",
    aligner: "ALIGN_DELTA",
    reducer: "REDUCE_PERCENTILE_95",
    by_class: false,
};

async fn query(client: &GcpClient, project: &str, q: &Query, now: Timestamp) -> Result<Vec<TimeSeries>, ProviderError> {
    let filter = format!("metric.type=\"{}\" AND resource.type=\"cloud_run_revision\"", q.metric);
    let start = (now - Duration::minutes(WINDOW_MINUTES)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let end = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut params = vec![
        ("filter", filter.as_str()),
        ("interval.startTime", start.as_str()),
        ("interval.endTime", end.as_str()),
        ("aggregation.alignmentPeriod", "60s"),
        ("aggregation.perSeriesAligner", q.aligner),
        ("aggregation.crossSeriesReducer", q.reducer),
        ("aggregation.groupByFields", "resource.labels.service_name"),
        ("aggregation.groupByFields", "resource.labels.location"),
    ];
    if q.by_class {
        params.push(("aggregation.groupByFields", "metric.labels.response_code_class"));
    }
    client.list(Api::Monitoring, &format!("/v3/projects/{project}/timeSeries"), &params, "timeSeries", 10_000).await
}

/// Points oldest first.
fn points(ts: &TimeSeries) -> Vec<(Timestamp, f64)> {
    let mut out: Vec<(Timestamp, f64)> =
        ts.points.iter().filter_map(|p| Some((p.interval.end_time?, number(&p.value)?))).collect();
    out.sort_by_key(|(at, _)| *at);
    out
}

fn key(ts: &TimeSeries) -> (String, String) {
    let l = &ts.resource.labels;
    (l.get("service_name").cloned().unwrap_or_default(), l.get("location").cloned().unwrap_or_default())
}

fn scaled(series: &[TimeSeries], kind: MetricKind, factor: f64) -> Vec<ServiceSeries> {
    series
        .iter()
        .filter_map(|ts| {
            let pts = points(ts);
            let (_, last) = *pts.last()?;
            let (service, location) = key(ts);
            Some(ServiceSeries {
                service,
                location,
                kind,
                value: last * factor,
                history: pts.iter().map(|(_, v)| v * factor).collect(),
            })
        })
        .collect()
}

/// 5xx share of requests per minute, and over the newest minutes as the value.
fn error_rates(series: &[TimeSeries]) -> Vec<ServiceSeries> {
    // (service, location) -> minute -> (5xx, all)
    let mut per: BTreeMap<(String, String), BTreeMap<Timestamp, (f64, f64)>> = BTreeMap::new();
    for ts in series {
        let is_5xx = ts.metric.labels.get("response_code_class").map(String::as_str) == Some("5xx");
        let minutes = per.entry(key(ts)).or_default();
        for (at, v) in points(ts) {
            let slot = minutes.entry(at).or_default();
            slot.1 += v;
            if is_5xx {
                slot.0 += v;
            }
        }
    }
    per.into_iter()
        .filter_map(|((service, location), minutes)| {
            let rows: Vec<(f64, f64)> = minutes.into_values().collect();
            let recent = &rows[rows.len().saturating_sub(ERROR_RATE_MINUTES)..];
            let (bad, all) = recent.iter().fold((0.0, 0.0), |(b, a), (x, y)| (b + x, a + y));
            if all <= 0.0 {
                return None;
            }
            Some(ServiceSeries {
                service,
                location,
                kind: MetricKind::ErrorRate,
                value: bad * 100.0 / all,
                history: rows.iter().map(|(b, a)| if *a > 0.0 { b * 100.0 / a } else { 0.0 }).collect(),
            })
        })
        .collect()
}

/// Every Cloud Run metric the thresholds table covers, per service.
pub async fn fetch(client: &GcpClient, project: &str, now: Timestamp) -> Result<Vec<ServiceSeries>, ProviderError> {
    let (latency, requests, cpu, memory) = tokio::join!(
        query(client, project, &LATENCY, now),
        query(client, project, &REQUESTS, now),
        query(client, project, &CPU, now),
        query(client, project, &MEMORY, now),
    );
    let mut out = Vec::new();
    // Latencies are in milliseconds; the thresholds are in seconds.
    out.extend(scaled(&latency?, MetricKind::ResponseTime, 0.001));
    out.extend(error_rates(&requests?));
    // Utilizations are ratios (0..1); the thresholds are percentages.
    out.extend(scaled(&cpu?, MetricKind::Cpu, 100.0));
    out.extend(scaled(&memory?, MetricKind::Memory, 100.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_values_and_int64_as_strings() {
        assert_eq!(number(&json!({"doubleValue": 0.25})), Some(0.25));
        assert_eq!(number(&json!({"int64Value": "9007199254740993"})), Some(9007199254740993.0));
        assert_eq!(number(&json!({"int64Value": 12})), Some(12.0));
        assert_eq!(number(&json!({"boolValue": true})), Some(1.0));
        assert_eq!(number(&json!({"distributionValue": {}})), None);
    }

    #[test]
    fn error_rate_over_the_newest_minutes() {
        let series: Vec<TimeSeries> = serde_json::from_value(json!([
            {"metric": {"labels": {"response_code_class": "2xx"}},
             "resource": {"labels": {"service_name": "web", "location": "l"}},
             "points": [
                {"interval": {"endTime": "2026-01-01T00:02:00Z"}, "value": {"int64Value": "90"}},
                {"interval": {"endTime": "2026-01-01T00:01:00Z"}, "value": {"int64Value": "100"}}
             ]},
            {"metric": {"labels": {"response_code_class": "5xx"}},
             "resource": {"labels": {"service_name": "web", "location": "l"}},
             "points": [
                {"interval": {"endTime": "2026-01-01T00:02:00Z"}, "value": {"int64Value": "10"}}
             ]}
        ]))
        .unwrap();
        let rates = error_rates(&series);
        assert_eq!(rates.len(), 1);
        assert_eq!(rates[0].history, vec![0.0, 10.0]);
        assert!((rates[0].value - 10.0 * 100.0 / 200.0).abs() < 1e-9);
    }
}
