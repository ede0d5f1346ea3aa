//! The check language of runbook items: `SUBJECT OP VALUE`, joined by `and` / `or`.
//!
//! ```text
//! backups.max_age < 24h
//! health.level <= warn and metrics.error_rate.level <= ok
//! secrets.overdue == 0
//! ```
//!
//! Subjects (all scoped to the item's environment when it has one):
//!
//! | subject | kind | meaning |
//! |---|---|---|
//! | `backups.max_age` | duration | age of the oldest latest-backup among the databases |
//! | `backups.findings` | count | databases with a finding (older than 24 h, retention below policy, PITR off, failed) |
//! | `backups.pitr_off` | count | databases without point-in-time recovery |
//! | `storage.findings` | count | buckets / storage accounts with a finding against `[backups.object_storage]` (versioning off, soft delete short, not geo-redundant in production) |
//! | `health.level` | level | worst health-check level |
//! | `health.failing` | count | health checks at crit |
//! | `metrics.level` | level | worst metric level |
//! | `metrics.<kind>.level` / `metrics.<kind>.max` | level / number | one metric kind: `error_rate`, `response_time`, `cpu`, `memory`, `db_connections`, `query_latency` |
//! | `secrets.overdue` | count | secrets past their rotation date or expired |
//! | `approvals.waiting` | count | deployments waiting for a review |
//! | `deploys.recent` | count | deployments in the last 24 h |
//! | `deploys.failed` | count | failed deployments in the last 24 h |
//! | `runs.failed_security` | count | failed security-scan jobs (name has security, scan, codeql, secret, audit) in the last 24 h |
//! | `logs.errors` | count | ERROR log lines since the last completed walkthrough before today (else the last 24 h; or the runbook's `logs_errors_window`) |
//! | `sources.failed` | count | sources whose last fetch failed |
//! | `alerts.firing` | count | monitoring alerts firing and not acknowledged (`CloudWatch`, Azure Monitor, Cloud Monitoring) |
//! | `security.open` | count | open security alerts (Dependabot, code scanning, secret scanning) |
//! | `alerts.quiet_rules` | count | alert rules that would stay quiet: disabled, or notifying nobody (alarm actions off, no action group or channel) |
//!
//! Values: numbers (`0`, `1.5`), durations (`90s`, `30m`, `24h`, `7d`), levels
//! (`ok`, `unknown`, `warn`, `crit`), percentages (`5%`).

use std::fmt;

use crate::model::{Level, MetricKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" | "=" => Op::Eq,
            "!=" => Op::Ne,
            _ => return None,
        })
    }
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
            Op::Eq => (left - right).abs() < 1e-9,
            Op::Ne => (left - right).abs() >= 1e-9,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Duration,
    Count,
    Level,
    Number,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    BackupsMaxAge,
    BackupsFindings,
    BackupsPitrOff,
    StorageFindings,
    HealthLevel,
    HealthFailing,
    MetricsLevel,
    MetricLevel(MetricKind),
    MetricMax(MetricKind),
    SecretsOverdue,
    ApprovalsWaiting,
    DeploysRecent,
    DeploysFailed,
    RunsFailedSecurity,
    LogsErrors,
    SourcesFailed,
    AlertsFiring,
    SecurityOpen,
    AlertsQuietRules,
}

pub const SUBJECTS: &str = "backups.max_age, backups.findings, backups.pitr_off, storage.findings, health.level, health.failing, metrics.level, metrics.<kind>.level, metrics.<kind>.max, secrets.overdue, approvals.waiting, deploys.recent, deploys.failed, runs.failed_security, logs.errors, sources.failed, alerts.firing, security.open, alerts.quiet_rules";

fn metric_kind(s: &str) -> Option<MetricKind> {
    MetricKind::ALL.into_iter().find(|k| k.key() == s)
}

impl Subject {
    pub fn parse(s: &str) -> Option<Subject> {
        Some(match s {
            "backups.max_age" => Subject::BackupsMaxAge,
            "backups.findings" => Subject::BackupsFindings,
            "backups.pitr_off" => Subject::BackupsPitrOff,
            "storage.findings" => Subject::StorageFindings,
            "health.level" => Subject::HealthLevel,
            "health.failing" => Subject::HealthFailing,
            "metrics.level" => Subject::MetricsLevel,
            "secrets.overdue" => Subject::SecretsOverdue,
            "approvals.waiting" => Subject::ApprovalsWaiting,
            "deploys.recent" => Subject::DeploysRecent,
            "deploys.failed" => Subject::DeploysFailed,
            "runs.failed_security" => Subject::RunsFailedSecurity,
            "logs.errors" => Subject::LogsErrors,
            "sources.failed" => Subject::SourcesFailed,
            "alerts.firing" => Subject::AlertsFiring,
            "security.open" => Subject::SecurityOpen,
            "alerts.quiet_rules" => Subject::AlertsQuietRules,
            other => {
                let rest = other.strip_prefix("metrics.")?;
                let (kind, field) = rest.rsplit_once('.')?;
                let kind = metric_kind(kind)?;
                match field {
                    "level" => Subject::MetricLevel(kind),
                    "max" => Subject::MetricMax(kind),
                    _ => return None,
                }
            }
        })
    }
    pub fn kind(self) -> Kind {
        match self {
            Subject::BackupsMaxAge => Kind::Duration,
            Subject::HealthLevel | Subject::MetricsLevel | Subject::MetricLevel(_) => Kind::Level,
            Subject::MetricMax(_) => Kind::Number,
            _ => Kind::Count,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::BackupsMaxAge => f.write_str("backups.max_age"),
            Subject::BackupsFindings => f.write_str("backups.findings"),
            Subject::BackupsPitrOff => f.write_str("backups.pitr_off"),
            Subject::StorageFindings => f.write_str("storage.findings"),
            Subject::HealthLevel => f.write_str("health.level"),
            Subject::HealthFailing => f.write_str("health.failing"),
            Subject::MetricsLevel => f.write_str("metrics.level"),
            Subject::MetricLevel(k) => write!(f, "metrics.{}.level", k.key()),
            Subject::MetricMax(k) => write!(f, "metrics.{}.max", k.key()),
            Subject::SecretsOverdue => f.write_str("secrets.overdue"),
            Subject::ApprovalsWaiting => f.write_str("approvals.waiting"),
            Subject::DeploysRecent => f.write_str("deploys.recent"),
            Subject::DeploysFailed => f.write_str("deploys.failed"),
            Subject::RunsFailedSecurity => f.write_str("runs.failed_security"),
            Subject::LogsErrors => f.write_str("logs.errors"),
            Subject::SourcesFailed => f.write_str("sources.failed"),
            Subject::AlertsFiring => f.write_str("alerts.firing"),
            Subject::SecurityOpen => f.write_str("security.open"),
            Subject::AlertsQuietRules => f.write_str("alerts.quiet_rules"),
        }
    }
}

/// Levels compare by severity: ok < unknown < warn < crit.
pub fn level_rank(l: Level) -> f64 {
    match l {
        Level::Ok => 0.0,
        Level::Unknown => 1.0,
        Level::Warn => 2.0,
        Level::Crit => 3.0,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub subject: Subject,
    pub op: Op,
    /// Seconds for durations, the rank for levels, the number otherwise.
    pub value: f64,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub conditions: Vec<Condition>,
    pub join: Join,
}

/// A value a check compares with that is not of its subject's kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("'{0}' is not a level (ok, unknown, warn, crit)")]
    Level(String),
    #[error("'{0}' is not a duration (90s, 30m, 24h, 7d)")]
    Duration(String),
    #[error("'{0}' is not a number")]
    Number(String),
}

/// What is wrong with a check (the caller adds file and line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("empty check")]
    Empty,
    #[error("'{0}': expected SUBJECT OP VALUE (e.g. backups.max_age < 24h)")]
    Shape(String),
    #[error("unknown subject '{0}' (one of: {subjects})", subjects = SUBJECTS)]
    Subject(String),
    #[error("'{0}' is not a comparison (<, <=, >, >=, ==, !=)")]
    Op(String),
    #[error("{subject}: {error}")]
    Value { subject: String, error: ValueError },
    #[error("expected 'and' or 'or', found '{0}'")]
    Join(String),
    #[error("mixing 'and' and 'or' in one check is ambiguous: split it into two items")]
    Mixed,
}

fn parse_value(kind: Kind, raw: &str) -> Result<f64, ValueError> {
    let lower = raw.to_ascii_lowercase();
    match kind {
        Kind::Level => match lower.as_str() {
            "ok" => Ok(0.0),
            "unknown" => Ok(1.0),
            "warn" => Ok(2.0),
            "crit" => Ok(3.0),
            _ => Err(ValueError::Level(raw.to_string())),
        },
        Kind::Duration => {
            let (num, unit) = lower.split_at(lower.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(lower.len()));
            let n: f64 = num.parse().map_err(|_| ValueError::Duration(raw.to_string()))?;
            let factor = match unit {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                _ => return Err(ValueError::Duration(raw.to_string())),
            };
            Ok(n * factor)
        }
        Kind::Count | Kind::Number => {
            lower.trim_end_matches('%').trim_end_matches('s').parse().map_err(|_| ValueError::Number(raw.to_string()))
        }
    }
}

/// A duration as checks write it (`90s`, `30m`, `24h`, `7d`).
pub fn parse_duration(raw: &str) -> Result<chrono::Duration, ValueError> {
    let seconds = parse_value(Kind::Duration, raw.trim())?;
    // Out of chrono's range (or not a number) is an error, not a panic (found by tests/fuzz.rs).
    chrono::Duration::try_seconds(seconds as i64)
        .filter(|_| seconds.is_finite())
        .ok_or_else(|| ValueError::Duration(raw.to_string()))
}

/// Parses a check; the error says what is wrong (the caller adds file and line).
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(ExprError::Empty);
    }
    let mut conditions = Vec::new();
    let mut join = None;
    let mut i = 0;
    loop {
        let (Some(subject), Some(op), Some(value)) = (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2)) else {
            return Err(ExprError::Shape(text.to_string()));
        };
        let s = Subject::parse(subject).ok_or_else(|| ExprError::Subject(subject.to_string()))?;
        let o = Op::parse(op).ok_or_else(|| ExprError::Op(op.to_string()))?;
        let v =
            parse_value(s.kind(), value).map_err(|error| ExprError::Value { subject: subject.to_string(), error })?;
        conditions.push(Condition { subject: s, op: o, value: v, text: format!("{subject} {op} {value}") });
        i += 3;
        match tokens.get(i) {
            None => break,
            Some(word) => {
                let this = match *word {
                    "and" => Join::And,
                    "or" => Join::Or,
                    other => return Err(ExprError::Join(other.to_string())),
                };
                if join.is_some_and(|j| j != this) {
                    return Err(ExprError::Mixed);
                }
                join = Some(this);
                i += 1;
            }
        }
    }
    Ok(Expr { conditions, join: join.unwrap_or(Join::And) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let e = parse("backups.max_age < 24h").unwrap();
        assert_eq!(e.conditions[0].subject, Subject::BackupsMaxAge);
        assert_eq!(e.conditions[0].value, 86400.0);
        let e = parse("health.level <= warn and metrics.error_rate.level <= ok").unwrap();
        assert_eq!(e.conditions.len(), 2);
        assert_eq!(e.conditions[1].subject, Subject::MetricLevel(MetricKind::ErrorRate));
        assert_eq!(parse("metrics.cpu.max < 70%").unwrap().conditions[0].value, 70.0);
        assert_eq!(parse("secrets.overdue == 0").unwrap().conditions[0].op, Op::Eq);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(parse("backup.age < 1d").unwrap_err().to_string().contains("unknown subject 'backup.age'"));
        assert!(parse("backups.max_age < tomorrow").unwrap_err().to_string().contains("not a duration"));
        assert!(parse("health.level <= bad").unwrap_err().to_string().contains("not a level"));
        assert!(parse("health.level ~ ok").unwrap_err().to_string().contains("not a comparison"));
        assert!(parse("a.b").unwrap_err().to_string().contains("expected SUBJECT OP VALUE"));
        assert!(
            parse("secrets.overdue == 0 and health.failing == 0 or approvals.waiting == 0")
                .unwrap_err()
                .to_string()
                .contains("ambiguous")
        );
        assert!(parse("metrics.disk.level <= ok").unwrap_err().to_string().contains("unknown subject"));
    }
}
