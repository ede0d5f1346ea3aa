//! metrics-server's pod metrics (`metrics.k8s.io/v1beta1`, what `kubectl top pods` reads) ->
//! a workload's CPU and memory as a percentage of its pods' limits (else requests), the unit
//! the thresholds use. k8s-openapi has no types for this API group: these are its fields.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodMetricsList {
    pub items: Vec<PodMetrics>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodMetrics {
    pub metadata: Name,
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Name {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContainerMetrics {
    pub name: String,
    /// `cpu` (`250m`, `123456789n`) and `memory` (`96Mi`, `123456Ki`).
    pub usage: BTreeMap<String, String>,
}

/// A Kubernetes quantity as a number of base units (cores, bytes): decimal SI suffixes
/// (`n u m k M G T P E`), binary ones (`Ki Mi Gi Ti Pi Ei`) and exponents (`1e3`).
pub fn quantity(q: &str) -> Option<f64> {
    const BINARY: [(&str, i32); 6] = [("Ki", 1), ("Mi", 2), ("Gi", 3), ("Ti", 4), ("Pi", 5), ("Ei", 6)];
    let q = q.trim();
    let (number, factor) = if let Some((n, power)) = BINARY.iter().find_map(|(s, p)| Some((q.strip_suffix(s)?, *p))) {
        (n, 1024.0_f64.powi(power))
    } else if let Some(last) = q.chars().last().filter(char::is_ascii_alphabetic) {
        let factor = match last {
            'n' => 1e-9,
            'u' => 1e-6,
            'm' => 1e-3,
            'k' => 1e3,
            'M' => 1e6,
            'G' => 1e9,
            'T' => 1e12,
            'P' => 1e15,
            'E' => 1e18,
            _ => return None,
        };
        (&q[..q.len() - 1], factor)
    } else {
        (q, 1.0)
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value * factor)
}

/// A workload's use of one resource (`cpu`, `memory`) against its pods' bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub percent: f64,
    pub used: f64,
    pub bound: f64,
    /// `limit` or `request`: which bound the percentage is of.
    pub of: &'static str,
}

/// Summed over the pods that have metrics (by namespace and name) and the containers with a limit (else a request) for
/// `resource`; `None` when no container has either (a percentage of nothing is no signal).
pub fn usage(
    pods: &[&Pod],
    metrics: &std::collections::HashMap<(&str, &str), &PodMetrics>,
    resource: &str,
) -> Option<Usage> {
    let (mut used, mut bound) = (0.0, 0.0);
    let mut of_limit = true;
    for pod in pods {
        let key =
            (pod.metadata.namespace.as_deref().unwrap_or_default(), pod.metadata.name.as_deref().unwrap_or_default());
        let Some(m) = metrics.get(&key) else { continue };
        let Some(spec) = pod.spec.as_ref() else { continue };
        for c in &spec.containers {
            let Some(u) = m.containers.iter().find(|x| x.name == c.name).and_then(|x| quantity(x.usage.get(resource)?))
            else {
                continue;
            };
            let resources = c.resources.as_ref();
            let limit = resources.and_then(|r| r.limits.as_ref()?.get(resource)).and_then(|q| quantity(&q.0));
            let request = resources.and_then(|r| r.requests.as_ref()?.get(resource)).and_then(|q| quantity(&q.0));
            let Some(b) = limit.or(request).filter(|b| *b > 0.0) else { continue };
            of_limit &= limit.is_some();
            used += u;
            bound += b;
        }
    }
    (bound > 0.0).then(|| Usage {
        percent: used / bound * 100.0,
        used,
        bound,
        of: if of_limit { "limit" } else { "request" },
    })
}

/// `82% of limit (410m of 500m)` / `37% of limit (96Mi of 256Mi)`.
pub fn usage_text(u: &Usage, resource: &str) -> String {
    let show = |v: f64| {
        if resource == "cpu" { format!("{:.0}m", v * 1000.0) } else { format!("{:.0}Mi", v / 1024.0 / 1024.0) }
    };
    format!("{:.0}% of {} ({} of {})", u.percent, u.of, show(u.used), show(u.bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_kubernetes_writes_them() {
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("2"), Some(2.0));
        assert!((quantity("123456789n").unwrap() - 0.123_456_789).abs() < 1e-12);
        assert_eq!(quantity("96Mi"), Some(96.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("2Ei"), Some(2.0 * 1024.0_f64.powi(6)));
        assert_eq!(quantity("1E"), Some(1e18));
        assert_eq!(quantity("12Zi"), None);
        assert_eq!(quantity("-1"), None);
        assert_eq!(quantity(""), None);
    }
}
