//! "Is anything wrong, and where": findings derived from the merged estate. The Overview,
//! the status bar and (later) the runbook all read this one list.

use chrono::Duration;
use serde::Serialize;

use crate::model::{Level, Snapshot, Timestamp, human_duration};
use crate::screen::Screen;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A cloud's own alert (or a GitHub security alert) firing and not acknowledged.
    Alert,
    Approval,
    Deploy,
    Health,
    Metric,
    Backup,
    Storage,
    Secret,
    Run,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::Alert => "alert",
            Category::Approval => "approval",
            Category::Deploy => "deploy",
            Category::Health => "health",
            Category::Metric => "metric",
            Category::Backup => "backup",
            Category::Storage => "storage",
            Category::Secret => "secret",
            Category::Run => "run",
        }
    }
    pub fn screen(self) -> Screen {
        match self {
            Category::Alert => Screen::Alerts,
            Category::Approval | Category::Deploy => Screen::Deployments,
            Category::Health | Category::Metric => Screen::Health,
            Category::Backup | Category::Storage => Screen::Backups,
            Category::Secret => Screen::Secrets,
            Category::Run => Screen::Runs,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub environment: String,
    pub category: Category,
    pub subject: String,
    pub text: String,
}

/// Every warning and critical condition, worst first, production before the rest.
pub fn findings(estate: &Snapshot, now: Timestamp) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |level, environment: &str, category, subject: &str, text: String| {
        out.push(Finding { level, environment: environment.to_string(), category, subject: subject.to_string(), text });
    };
    // What the clouds say is firing comes first among equals: someone has to pick it up.
    for a in estate.alerts.iter().filter(|a| a.is_firing() && a.level() >= Level::Warn) {
        let since = a.since.map(|t| format!(" for {}", human_duration(now - t))).unwrap_or_default();
        let on = if a.resource.is_empty() { String::new() } else { format!(" on {}", a.resource) };
        push(
            a.level(),
            &a.environment,
            Category::Alert,
            &a.name,
            format!("{} {} firing{since}{on}", a.source, a.severity.label()),
        );
    }
    // A production rule that would stay quiet in an outage: nobody learns of it until too late.
    for r in &estate.alert_rules {
        let Some(problem) = r.problem() else { continue };
        if crate::actions::tier_of(estate, &r.environment) == crate::model::Tier::Prod {
            push(Level::Warn, &r.environment, Category::Alert, &r.name, format!("{} alert rule {problem}", r.source));
        }
    }
    for a in &estate.approvals {
        push(
            Level::Warn,
            &a.environment,
            Category::Approval,
            &a.repo,
            format!(
                "{} {} waiting for approval for {}",
                a.workflow,
                &a.sha[..a.sha.len().min(7)],
                human_duration(now - a.requested_at)
            ),
        );
    }
    for h in estate.health.iter().filter(|h| h.level >= Level::Warn) {
        let availability = h.availability().map(|a| format!(", availability {a:.0}%")).unwrap_or_default();
        let what = h.error.clone().unwrap_or_else(|| format!("{} ms", h.latency_ms.unwrap_or_default()));
        push(h.level, &h.environment, Category::Health, &h.name, format!("{what}{availability}"));
    }
    for m in estate.metrics.iter().filter(|m| m.level >= Level::Warn) {
        push(
            m.level,
            &m.environment,
            Category::Metric,
            &m.resource,
            format!("{} {}", m.kind.label(), m.kind.format(m.value)),
        );
    }
    for b in &estate.backups {
        let f = b.findings(now);
        if !f.is_empty() {
            push(Level::Crit, &b.environment, Category::Backup, &b.database, f.join("; "));
        }
    }
    for o in &estate.storage {
        let f = o.findings(crate::actions::tier_of(estate, &o.environment));
        if !f.is_empty() {
            push(Level::Crit, &o.environment, Category::Storage, &o.name, f.join("; "));
        }
    }
    for s in &estate.secrets {
        let level = s.level(now);
        if level >= Level::Warn {
            let text = match (s.expires_at, s.next_rotation()) {
                (Some(exp), _) if exp <= now => "expired".to_string(),
                (_, Some(next)) if next <= now => format!("rotation overdue by {}", human_duration(now - next)),
                (_, Some(next)) => format!("rotation due in {}", human_duration(next - now)),
                _ => "expires soon".to_string(),
            };
            push(level, &s.environment, Category::Secret, &s.name, format!("{text} ({})", s.store));
        }
    }
    for d in
        estate.deployments.iter().filter(|d| d.state.level() == Level::Crit && now - d.created_at < Duration::hours(24))
    {
        push(
            Level::Crit,
            &d.environment,
            Category::Deploy,
            &d.repo,
            format!("deployment of {} {:?}", &d.sha[..d.sha.len().min(7)], d.state).to_lowercase(),
        );
    }
    for r in estate
        .runs
        .iter()
        .filter(|r| r.level() == Level::Crit && r.branch == "main" && now - r.updated_at < Duration::hours(24))
    {
        push(Level::Crit, "", Category::Run, &r.repo, format!("{} #{} failed on main", r.workflow, r.run_id));
    }
    let tier = |env: &str| std::cmp::Reverse(crate::actions::tier_of(estate, env));
    out.sort_by(|a, b| {
        b.level.cmp(&a.level).then(tier(&a.environment).cmp(&tier(&b.environment))).then(a.category.cmp(&b.category))
    });
    out
}
