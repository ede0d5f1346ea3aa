//! Levels and the monitoring thresholds of domain.md §3 (defaults, overridable per environment).

use serde::{Deserialize, Serialize};

/// Ordered so that `max()` of several levels is the worst one. `Unknown` sorts between ok and
/// warn: not knowing is worse than healthy, but never reported as a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    #[default]
    Unknown,
    Warn,
    Crit,
}

impl Level {
    /// A symbol beside every colour, so nothing is told by colour alone.
    pub fn symbol(self) -> &'static str {
        match self {
            Level::Ok => "✔",
            Level::Unknown => "?",
            Level::Warn => "▲",
            Level::Crit => "✖",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Unknown => "unknown",
            Level::Warn => "warn",
            Level::Crit => "crit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Availability,
    ResponseTime,
    ErrorRate,
    Cpu,
    Memory,
    DbConnections,
    QueryLatency,
}

impl MetricKind {
    pub const ALL: [MetricKind; 7] = [
        MetricKind::Availability,
        MetricKind::ResponseTime,
        MetricKind::ErrorRate,
        MetricKind::Cpu,
        MetricKind::Memory,
        MetricKind::DbConnections,
        MetricKind::QueryLatency,
    ];
    /// The key in config and runbook checks (`error_rate`, `cpu`...).
    pub fn key(self) -> &'static str {
        match self {
            MetricKind::Availability => "availability",
            MetricKind::ResponseTime => "response_time",
            MetricKind::ErrorRate => "error_rate",
            MetricKind::Cpu => "cpu",
            MetricKind::Memory => "memory",
            MetricKind::DbConnections => "db_connections",
            MetricKind::QueryLatency => "query_latency",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            MetricKind::Availability => "availability",
            MetricKind::ResponseTime => "response time",
            MetricKind::ErrorRate => "error rate (5xx)",
            MetricKind::Cpu => "CPU",
            MetricKind::Memory => "memory",
            MetricKind::DbConnections => "DB connections",
            MetricKind::QueryLatency => "query latency",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            MetricKind::ResponseTime | MetricKind::QueryLatency => "s",
            _ => "%",
        }
    }
    pub fn format(self, value: f64) -> String {
        match self.unit() {
            "s" => format!("{value:.2}s"),
            _ => format!("{value:.1}%"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Bad when the value is above the limit (latency, error rate, CPU).
    Above,
    /// Bad when the value is at or below the limit (availability).
    AtOrBelow,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub warn: f64,
    pub crit: f64,
    pub comparison: Comparison,
}

impl Threshold {
    pub fn level(&self, value: f64) -> Level {
        if !value.is_finite() {
            return Level::Unknown;
        }
        let breaches = |limit: f64| match self.comparison {
            Comparison::Above => value > limit,
            Comparison::AtOrBelow => value <= limit,
        };
        if breaches(self.crit) {
            Level::Crit
        } else if breaches(self.warn) {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// Warning and critical limits per metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub availability: Threshold,
    pub response_time: Threshold,
    pub error_rate: Threshold,
    pub cpu: Threshold,
    pub memory: Threshold,
    pub db_connections: Threshold,
    pub query_latency: Threshold,
}

impl Default for Thresholds {
    fn default() -> Self {
        use Comparison::{Above, AtOrBelow};
        let t = |warn, crit, comparison| Threshold { warn, crit, comparison };
        Thresholds {
            availability: t(95.0, 90.0, AtOrBelow),
            response_time: t(3.0, 5.0, Above),
            error_rate: t(1.0, 5.0, Above),
            cpu: t(70.0, 90.0, Above),
            memory: t(70.0, 90.0, Above),
            db_connections: t(80.0, 95.0, Above),
            query_latency: t(1.0, 5.0, Above),
        }
    }
}

impl Thresholds {
    pub fn get(&self, kind: MetricKind) -> &Threshold {
        match kind {
            MetricKind::Availability => &self.availability,
            MetricKind::ResponseTime => &self.response_time,
            MetricKind::ErrorRate => &self.error_rate,
            MetricKind::Cpu => &self.cpu,
            MetricKind::Memory => &self.memory,
            MetricKind::DbConnections => &self.db_connections,
            MetricKind::QueryLatency => &self.query_latency,
        }
    }
    pub fn get_mut(&mut self, kind: MetricKind) -> &mut Threshold {
        match kind {
            MetricKind::Availability => &mut self.availability,
            MetricKind::ResponseTime => &mut self.response_time,
            MetricKind::ErrorRate => &mut self.error_rate,
            MetricKind::Cpu => &mut self.cpu,
            MetricKind::Memory => &mut self.memory,
            MetricKind::DbConnections => &mut self.db_connections,
            MetricKind::QueryLatency => &mut self.query_latency,
        }
    }
    pub fn level(&self, kind: MetricKind, value: f64) -> Level {
        self.get(kind).level(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_the_thresholds_table() {
        let t = Thresholds::default();
        assert_eq!(t.level(MetricKind::Availability, 95.1), Level::Ok);
        assert_eq!(t.level(MetricKind::Availability, 95.0), Level::Warn);
        assert_eq!(t.level(MetricKind::Availability, 90.0), Level::Crit);
        assert_eq!(t.level(MetricKind::ResponseTime, 3.0), Level::Ok);
        assert_eq!(t.level(MetricKind::ResponseTime, 3.01), Level::Warn);
        assert_eq!(t.level(MetricKind::ResponseTime, 5.01), Level::Crit);
        assert_eq!(t.level(MetricKind::ErrorRate, 1.0), Level::Ok);
        assert_eq!(t.level(MetricKind::ErrorRate, 1.5), Level::Warn);
        assert_eq!(t.level(MetricKind::ErrorRate, 5.5), Level::Crit);
        assert_eq!(t.level(MetricKind::Cpu, 70.0), Level::Ok);
        assert_eq!(t.level(MetricKind::Cpu, 91.0), Level::Crit);
        assert_eq!(t.level(MetricKind::DbConnections, 80.5), Level::Warn);
        assert_eq!(t.level(MetricKind::DbConnections, 95.5), Level::Crit);
        assert_eq!(t.level(MetricKind::QueryLatency, f64::NAN), Level::Unknown);
    }

    #[test]
    fn worst_level_wins() {
        assert_eq!([Level::Ok, Level::Warn, Level::Unknown].into_iter().max(), Some(Level::Warn));
        assert_eq!([Level::Ok, Level::Unknown].into_iter().max(), Some(Level::Unknown));
    }
}
