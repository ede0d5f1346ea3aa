//! `CloudWatch` metrics of the services and databases, judged against the thresholds table:
//! ECS CPU and memory, RDS CPU and query latency (the worse of read and write latency), and,
//! where `[aws.load_balancers]` names a service's ALB, its 5xx rate and response time. One
//! `GetMetricData` call (per 500 queries) for the last 30 minutes at one-minute resolution.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric as CwMetric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy};

use super::config::AwsLoadBalancerConfig;
use super::{AwsProvider, sdk_time};
use crate::model::{Metric, MetricKind, Thresholds, Timestamp};
use crate::providers::ProviderError;

const WINDOW_MINUTES: i64 = 30;
const PERIOD_SECONDS: i32 = 60;

/// Something metrics are read for.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricTarget {
    EcsService { cluster: String, service: String, environment: String, load_balancer: Option<AwsLoadBalancerConfig> },
    RdsInstance { identifier: String, environment: String },
}

/// How one query's series contributes to a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Part {
    /// The value itself; several of them for one metric: the worst (largest) wins.
    Value,
    /// A count divided by the `Denominator` of the same metric, in percent.
    Numerator,
    Denominator,
}

/// What the query with this `id` means.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryMeaning {
    pub id: String,
    pub resource: String,
    pub environment: String,
    pub kind: MetricKind,
    pub part: Part,
}

fn query(id: &str, namespace: &str, name: &str, dims: &[(&str, &str)], stat: &str) -> MetricDataQuery {
    let mut metric = CwMetric::builder().namespace(namespace).metric_name(name);
    for (k, v) in dims {
        metric = metric.dimensions(Dimension::builder().name(*k).value(*v).build());
    }
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(MetricStat::builder().metric(metric.build()).period(PERIOD_SECONDS).stat(stat).build())
        .return_data(true)
        .build()
}

/// The queries for some targets, with what each one means.
pub fn queries_for(targets: &[MetricTarget]) -> Vec<(MetricDataQuery, QueryMeaning)> {
    let mut out = Vec::new();
    let mut add = |resource: &str, env: &str, kind, part, ns: &str, name: &str, dims: &[(&str, &str)], stat: &str| {
        let id = format!("q{}", out.len());
        out.push((
            query(&id, ns, name, dims, stat),
            QueryMeaning { id, resource: resource.to_string(), environment: env.to_string(), kind, part },
        ));
    };
    for t in targets {
        match t {
            MetricTarget::EcsService { cluster, service, environment: env, load_balancer } => {
                let dims = [("ClusterName", cluster.as_str()), ("ServiceName", service.as_str())];
                add(service, env, MetricKind::Cpu, Part::Value, "AWS/ECS", "CPUUtilization", &dims, "Average");
                add(service, env, MetricKind::Memory, Part::Value, "AWS/ECS", "MemoryUtilization", &dims, "Average");
                if let Some(lb) = load_balancer {
                    let mut dims = vec![("LoadBalancer", lb.load_balancer.as_str())];
                    if let Some(tg) = &lb.target_group {
                        dims.push(("TargetGroup", tg.as_str()));
                    }
                    let ns = "AWS/ApplicationELB";
                    add(
                        service,
                        env,
                        MetricKind::ErrorRate,
                        Part::Numerator,
                        ns,
                        "HTTPCode_Target_5XX_Count",
                        &dims,
                        "Sum",
                    );
                    add(service, env, MetricKind::ErrorRate, Part::Denominator, ns, "RequestCount", &dims, "Sum");
                    add(
                        service,
                        env,
                        MetricKind::ResponseTime,
                        Part::Value,
                        ns,
                        "TargetResponseTime",
                        &dims,
                        "Average",
                    );
                }
            }
            MetricTarget::RdsInstance { identifier, environment: env } => {
                let dims = [("DBInstanceIdentifier", identifier.as_str())];
                add(identifier, env, MetricKind::Cpu, Part::Value, "AWS/RDS", "CPUUtilization", &dims, "Average");
                add(identifier, env, MetricKind::QueryLatency, Part::Value, "AWS/RDS", "ReadLatency", &dims, "Average");
                add(
                    identifier,
                    env,
                    MetricKind::QueryLatency,
                    Part::Value,
                    "AWS/RDS",
                    "WriteLatency",
                    &dims,
                    "Average",
                );
            }
        }
    }
    out
}

type Series = BTreeMap<i64, f64>;
/// (resource, kind) -> (environment, the parts in query order).
type Grouped<'a> = BTreeMap<(String, MetricKind), (String, Vec<(Part, &'a Series)>)>;

/// Turns `GetMetricData` results into metrics with levels from `thresholds(environment)`.
/// Results for one id may come in several pages; metrics without data points are left out.
pub fn metrics_from_results(
    results: &[MetricDataResult],
    meanings: &[QueryMeaning],
    thresholds: impl Fn(&str) -> Thresholds,
) -> Vec<Metric> {
    let mut series: BTreeMap<&str, Series> = BTreeMap::new();
    for r in results {
        let Some(id) = r.id() else { continue };
        let s = series.entry(id).or_default();
        for (t, v) in r.timestamps().iter().zip(r.values()) {
            s.insert(t.secs(), *v);
        }
    }
    let mut grouped: Grouped = BTreeMap::new();
    let empty = Series::new();
    for m in meanings {
        let s = series.get(m.id.as_str()).unwrap_or(&empty);
        grouped
            .entry((m.resource.clone(), m.kind))
            .or_insert_with(|| (m.environment.clone(), Vec::new()))
            .1
            .push((m.part, s));
    }
    let mut out = Vec::new();
    for ((resource, kind), (environment, parts)) in grouped {
        let mut combined = Series::new();
        let numerator = parts.iter().find(|(p, _)| *p == Part::Numerator).map(|(_, s)| *s);
        let denominator = parts.iter().find(|(p, _)| *p == Part::Denominator).map(|(_, s)| *s);
        if let Some(den) = denominator {
            for (t, total) in den {
                // The 5xx count has no data point in a minute without errors.
                let errors = numerator.and_then(|n| n.get(t)).copied().unwrap_or(0.0);
                combined.insert(*t, if *total > 0.0 { errors * 100.0 / total } else { 0.0 });
            }
        }
        for (_, s) in parts.iter().filter(|(p, _)| *p == Part::Value) {
            for (t, v) in *s {
                let slot = combined.entry(*t).or_insert(*v);
                *slot = slot.max(*v);
            }
        }
        let history: Vec<f64> = combined.values().copied().collect();
        let Some(value) = history.last().copied() else { continue };
        out.push(Metric {
            level: thresholds(&environment).level(kind, value),
            environment,
            resource,
            kind,
            value,
            history,
        });
    }
    out
}

impl AwsProvider {
    /// `CloudWatch` metrics of some targets over the last 30 minutes.
    pub async fn fetch_metrics(&self, targets: &[MetricTarget], now: Timestamp) -> Result<Vec<Metric>, ProviderError> {
        let (queries, meanings): (Vec<MetricDataQuery>, Vec<QueryMeaning>) = queries_for(targets).into_iter().unzip();
        let start = sdk_time(now - chrono::Duration::minutes(WINDOW_MINUTES));
        let end = sdk_time(now);
        let mut results = Vec::new();
        for chunk in queries.chunks(500) {
            let mut token = None;
            for _ in 0..10 {
                let resp = self
                    .cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(chunk.to_vec()))
                    .start_time(start)
                    .end_time(end)
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| self.errors.map("cloudwatch:GetMetricData", &e))?;
                results.extend(resp.metric_data_results().iter().cloned());
                token = resp.next_token;
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(metrics_from_results(&results, &meanings, |env| self.config.thresholds_for(env)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use aws_sdk_cloudwatch::primitives::DateTime;

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .set_timestamps(Some(points.iter().map(|(t, _)| DateTime::from_secs(*t)).collect()))
            .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
            .build()
    }

    #[test]
    fn ecs_rds_and_alb_metrics_map_with_levels() {
        let targets = [
            MetricTarget::EcsService {
                cluster: "shop-prod".into(),
                service: "web".into(),
                environment: "production".into(),
                load_balancer: Some(AwsLoadBalancerConfig { load_balancer: "app/web/1".into(), target_group: None }),
            },
            MetricTarget::RdsInstance { identifier: "orders-prod".into(), environment: "production".into() },
        ];
        let qs = queries_for(&targets);
        let ids: Vec<&str> = qs.iter().map(|(_, m)| m.id.as_str()).collect();
        assert_eq!(ids, ["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"]);
        let stat = qs[0].0.metric_stat().unwrap();
        assert_eq!(stat.metric().unwrap().namespace(), Some("AWS/ECS"));
        assert_eq!(stat.metric().unwrap().dimensions().len(), 2);
        let meanings: Vec<QueryMeaning> = qs.into_iter().map(|(_, m)| m).collect();
        let results = [
            result("q0", &[(60, 40.0), (120, 92.5)]),   // web CPU: crit
            result("q1", &[(60, 71.0)]),                // web memory: warn
            result("q2", &[(60, 3.0)]),                 // 5xx: only in the first minute
            result("q3", &[(60, 100.0), (120, 200.0)]), // requests
            result("q4", &[(120, 0.4)]),                // response time
            result("q5", &[(60, 10.0)]),                // db CPU
            result("q6", &[(60, 0.002), (120, 0.004)]), // read latency
            result("q7", &[(60, 1.5), (120, 0.001)]),   // write latency
        ];
        let m = metrics_from_results(&results, &meanings, |_| Thresholds::default());
        let get = |res: &str, kind| m.iter().find(|x| x.resource == res && x.kind == kind).unwrap();
        assert_eq!((get("web", MetricKind::Cpu).value, get("web", MetricKind::Cpu).level), (92.5, Level::Crit));
        assert_eq!(get("web", MetricKind::Cpu).history, [40.0, 92.5]);
        assert_eq!(get("web", MetricKind::Memory).level, Level::Warn);
        let errors = get("web", MetricKind::ErrorRate);
        assert_eq!(errors.history, [3.0, 0.0]);
        assert_eq!(errors.level, Level::Ok);
        assert_eq!(get("web", MetricKind::ResponseTime).value, 0.4);
        let latency = get("orders-prod", MetricKind::QueryLatency);
        assert_eq!(latency.history, [1.5, 0.004]);
        assert_eq!(get("orders-prod", MetricKind::Cpu).level, Level::Ok);
        // The 5xx rate of the first minute was 3 %: a warning with the default thresholds.
        assert_eq!(Thresholds::default().level(MetricKind::ErrorRate, errors.history[0]), Level::Warn);
    }

    #[test]
    fn no_data_points_no_metric() {
        let targets = [MetricTarget::RdsInstance { identifier: "idle".into(), environment: "dev".into() }];
        let meanings: Vec<QueryMeaning> = queries_for(&targets).into_iter().map(|(_, m)| m).collect();
        assert!(metrics_from_results(&[], &meanings, |_| Thresholds::default()).is_empty());
    }
}
