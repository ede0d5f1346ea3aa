//! Runbooks: TOML checklists of automatic checks over skydeck's data and items a person ticks.
//! Shipped: `daily` (domain §6). Users add their own in `<config>/skydeck/runbooks/*.toml`.

pub mod expr;

use std::collections::HashMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use self::expr::{Expr, Join, Subject, level_rank};
use crate::model::{Level, LogLine, Severity, Snapshot, Timestamp, human_duration};

pub const SHIPPED: [(&str, &str); 1] = [("daily", include_str!("daily.toml"))];

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}:{line}: {message}")]
pub struct RunbookError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunbookFile {
    name: String,
    title: Option<String>,
    #[serde(default)]
    description: String,
    /// `logs.errors` counts over this window (`24h`) instead of since the last walkthrough.
    logs_errors_window: Option<String>,
    sections: Vec<SectionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionFile {
    name: String,
    items: Vec<ItemFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFile {
    title: String,
    check: Option<String>,
    environment: Option<String>,
    #[serde(default)]
    per_environment: bool,
    link: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable key for progress: `section/title`.
    pub key: String,
    pub section: String,
    pub title: String,
    pub check: Option<Expr>,
    pub check_text: Option<String>,
    pub environment: Option<String>,
    pub per_environment: bool,
    /// Screen that helps with this item (`backups`, `health`...).
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub name: String,
    pub title: String,
    pub description: String,
    pub items: Vec<Item>,
    pub path: String,
    /// A fixed window for `logs.errors`; `None`: since the last completed walkthrough.
    pub logs_errors_window: Option<Duration>,
}

fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(1, |at| text[..at].matches('\n').count() + 1)
}

pub fn parse(text: &str, path: &str) -> Result<Runbook, RunbookError> {
    let err = |line, message: String| RunbookError { path: path.to_string(), line, message };
    let file: RunbookFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        err(line, e.message().to_string())
    })?;
    let logs_errors_window = match &file.logs_errors_window {
        Some(w) => Some(
            expr::parse_duration(w)
                .map_err(|m| err(line_of(text, "logs_errors_window"), format!("logs_errors_window: {m}")))?,
        ),
        None => None,
    };
    let mut items = Vec::new();
    for section in &file.sections {
        for item in &section.items {
            let check = match &item.check {
                Some(c) => Some(expr::parse(c).map_err(|m| err(line_of(text, c), m.to_string()))?),
                None => None,
            };
            if let Some(link) = &item.link
                && crate::screen::Screen::from_name(link).is_none()
            {
                return Err(err(line_of(text, &format!("\"{link}\"")), format!("link '{link}' is not a screen")));
            }
            let key = format!("{}/{}", section.name, item.title);
            if items.iter().any(|i: &Item| i.key == key) {
                return Err(err(
                    line_of(text, &item.title),
                    format!("item '{}' appears twice in '{}'", item.title, section.name),
                ));
            }
            items.push(Item {
                key,
                section: section.name.clone(),
                title: item.title.clone(),
                check,
                check_text: item.check.clone(),
                environment: item.environment.clone(),
                per_environment: item.per_environment,
                link: item.link.clone(),
            });
        }
    }
    Ok(Runbook {
        title: file.title.unwrap_or_else(|| file.name.clone()),
        name: file.name,
        description: file.description,
        items,
        path: path.to_string(),
        logs_errors_window,
    })
}

impl Runbook {
    /// When a day's walkthrough was completed: every manual item ticked, at the last tick.
    /// A runbook without manual items has no walkthrough to complete.
    pub fn completed_at(&self, day: &[Progress]) -> Option<Timestamp> {
        let manual: Vec<&Item> = self.items.iter().filter(|i| i.check.is_none()).collect();
        if manual.is_empty() {
            return None;
        }
        manual
            .iter()
            .map(|i| day.iter().find(|p| p.item == i.key && p.done).map(|p| p.at))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    /// Where `logs.errors` starts counting on `today`: the configured window back from `now`;
    /// else when the newest completed walkthrough of an earlier day was completed (today's own
    /// completion does not count, so the day's verdict, the screen and the handover report stay
    /// the same however often it is run); else 24 h back. `days` is the stored progress of any
    /// days, each row with its day (`YYYY-MM-DD`).
    pub fn logs_errors_since(&self, now: Timestamp, today: &str, days: &[(String, Progress)]) -> Timestamp {
        if let Some(window) = self.logs_errors_window {
            return now - window;
        }
        let mut by_day: std::collections::BTreeMap<&str, Vec<Progress>> = std::collections::BTreeMap::new();
        for (day, p) in days.iter().filter(|(day, _)| day.as_str() < today) {
            by_day.entry(day.as_str()).or_default().push(p.clone());
        }
        by_day.values().rev().find_map(|progress| self.completed_at(progress)).unwrap_or(now - Duration::hours(24))
    }
}

/// Shipped runbooks, then the user's (a user file with the same name replaces the shipped one).
pub fn load_all() -> (Vec<Runbook>, Vec<RunbookError>) {
    let mut books: Vec<Runbook> = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in SHIPPED {
        match parse(text, &format!("(shipped) {name}.toml")) {
            Ok(b) => books.push(b),
            Err(e) => errors.push(e),
        }
    }
    let dir = crate::paths::config_dir().join("runbooks");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        paths.sort();
        for path in paths {
            let shown = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => match parse(&text, &shown) {
                    Ok(b) => {
                        books.retain(|x| x.name != b.name);
                        books.push(b);
                    }
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(RunbookError { path: shown, line: 1, message: e.to_string() }),
            }
        }
    }
    (books, errors)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Unknown,
    Fail,
}

impl Verdict {
    pub fn level(self) -> Level {
        match self {
            Verdict::Pass => Level::Ok,
            Verdict::Unknown => Level::Unknown,
            Verdict::Fail => Level::Crit,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    /// The measured values, e.g. `backups.max_age = 31h`.
    pub value: String,
    /// Which backup, which metric, which value.
    pub evidence: Vec<String>,
}

/// What the checks look at.
pub struct Context<'a> {
    pub estate: &'a Snapshot,
    pub now: Timestamp,
    /// Time and source of every ERROR log line held.
    pub log_errors: Vec<(Timestamp, &'a str)>,
    /// Where `logs.errors` starts counting ([`Runbook::logs_errors_since`]); `None`: 24 h back.
    pub since: Option<Timestamp>,
    /// Sources whose last fetch failed: a pass cannot be claimed while data may be missing.
    pub failed_sources: Vec<String>,
}

struct Measure {
    value: f64,
    shown: String,
    evidence: Vec<String>,
}

fn in_env(scope: Option<&str>, env: &str) -> bool {
    scope.is_none_or(|s| s == env)
}

fn measure(subject: Subject, ctx: &Context<'_>, scope: Option<&str>) -> Option<Measure> {
    let e = ctx.estate;
    let now = ctx.now;
    let day = now - Duration::hours(24);
    let count = |n: usize, evidence: Vec<String>| Some(Measure { value: n as f64, shown: n.to_string(), evidence });
    match subject {
        Subject::BackupsMaxAge => {
            let backups: Vec<_> = e.backups.iter().filter(|b| in_env(scope, &b.environment)).collect();
            if backups.is_empty() {
                return None;
            }
            let oldest = backups.iter().max_by_key(|b| b.last_backup_at.map_or(Duration::MAX, |t| now - t))?;
            let age = oldest.last_backup_at.map(|t| now - t);
            let evidence = vec![format!(
                "oldest: {} ({}), last backup {}",
                oldest.database,
                oldest.environment,
                age.map_or_else(|| "never".into(), |a| format!("{} ago", human_duration(a)))
            )];
            Some(Measure {
                value: age.map_or(f64::INFINITY, |a| a.num_seconds() as f64),
                shown: format!("{} ({})", age.map_or_else(|| "never".into(), human_duration), oldest.database),
                evidence,
            })
        }
        Subject::BackupsFindings | Subject::BackupsPitrOff => {
            let backups: Vec<_> = e.backups.iter().filter(|b| in_env(scope, &b.environment)).collect();
            if backups.is_empty() {
                return None;
            }
            let bad: Vec<String> =
                backups
                    .iter()
                    .filter(|b| {
                        if subject == Subject::BackupsPitrOff { !b.pitr_enabled } else { !b.findings(now).is_empty() }
                    })
                    .map(|b| format!("{} ({}): {}", b.database, b.environment, b.findings(now).join("; ")))
                    .collect();
            count(bad.len(), bad)
        }
        Subject::StorageFindings => {
            let stores: Vec<_> = e.storage.iter().filter(|o| in_env(scope, &o.environment)).collect();
            if stores.is_empty() {
                return None;
            }
            let bad: Vec<String> = stores
                .iter()
                .filter_map(|o| {
                    let f = o.findings(crate::actions::tier_of(e, &o.environment));
                    (!f.is_empty()).then(|| format!("{} ({}): {}", o.name, o.environment, f.join("; ")))
                })
                .collect();
            count(bad.len(), bad)
        }
        Subject::HealthLevel | Subject::HealthFailing => {
            let checks: Vec<_> = e.health.iter().filter(|h| in_env(scope, &h.environment)).collect();
            if checks.is_empty() {
                return None;
            }
            let evidence: Vec<String> = checks
                .iter()
                .filter(|h| h.level >= Level::Warn)
                .map(|h| {
                    format!(
                        "{} {}: {} {}",
                        h.environment,
                        h.name,
                        h.level.label(),
                        h.error.clone().unwrap_or_else(|| format!("{} ms", h.latency_ms.unwrap_or_default()))
                    )
                })
                .collect();
            if subject == Subject::HealthFailing {
                return count(checks.iter().filter(|h| h.level == Level::Crit).count(), evidence);
            }
            let worst = checks.iter().map(|h| h.level).max().unwrap_or(Level::Unknown);
            Some(Measure { value: level_rank(worst), shown: worst.label().into(), evidence })
        }
        Subject::MetricsLevel | Subject::MetricLevel(_) | Subject::MetricMax(_) => {
            let kind = match subject {
                Subject::MetricLevel(k) | Subject::MetricMax(k) => Some(k),
                _ => None,
            };
            let metrics: Vec<_> = e
                .metrics
                .iter()
                .filter(|m| in_env(scope, &m.environment) && kind.is_none_or(|k| m.kind == k))
                .collect();
            if metrics.is_empty() {
                return None;
            }
            let evidence: Vec<String> = metrics
                .iter()
                .filter(|m| m.level >= Level::Warn || matches!(subject, Subject::MetricMax(_)))
                .map(|m| format!("{} {} {}: {}", m.environment, m.resource, m.kind.label(), m.kind.format(m.value)))
                .collect();
            if let Subject::MetricMax(k) = subject {
                let max = metrics.iter().map(|m| m.value).fold(f64::MIN, f64::max);
                return Some(Measure { value: max, shown: k.format(max), evidence });
            }
            let worst = metrics.iter().map(|m| m.level).max().unwrap_or(Level::Unknown);
            Some(Measure { value: level_rank(worst), shown: worst.label().into(), evidence })
        }
        Subject::SecretsOverdue => {
            let secrets: Vec<_> = e.secrets.iter().filter(|s| in_env(scope, &s.environment)).collect();
            if secrets.is_empty() {
                return None;
            }
            let overdue: Vec<String> = secrets
                .iter()
                .filter(|s| s.level(now) == Level::Crit)
                .map(|s| {
                    format!(
                        "{} ({}, {}): rotation due {}",
                        s.name,
                        s.store,
                        s.environment,
                        s.next_rotation().map_or_else(|| "—".into(), |n| format!("{} ago", human_duration(now - n)))
                    )
                })
                .collect();
            count(overdue.len(), overdue)
        }
        Subject::ApprovalsWaiting => {
            let waiting: Vec<String> = e
                .approvals
                .iter()
                .filter(|a| in_env(scope, &a.environment))
                .map(|a| {
                    format!(
                        "{} {} → {} waiting {}",
                        a.repo,
                        &a.sha[..a.sha.len().min(7)],
                        a.environment,
                        human_duration(now - a.requested_at)
                    )
                })
                .collect();
            count(waiting.len(), waiting)
        }
        Subject::DeploysRecent | Subject::DeploysFailed => {
            let recent: Vec<_> =
                e.deployments.iter().filter(|d| in_env(scope, &d.environment) && d.created_at >= day).collect();
            let evidence = recent
                .iter()
                .map(|d| {
                    format!(
                        "{} {} → {} by {} {} ago: {:?}",
                        d.repo,
                        &d.sha[..d.sha.len().min(7)],
                        d.environment,
                        d.creator,
                        human_duration(now - d.created_at),
                        d.state
                    )
                    .to_lowercase()
                })
                .collect();
            let n = if subject == Subject::DeploysFailed {
                recent.iter().filter(|d| d.state.level() == Level::Crit).count()
            } else {
                recent.len()
            };
            count(n, evidence)
        }
        Subject::AlertsFiring | Subject::SecurityOpen => {
            let (kind, anywhere) = match subject {
                Subject::AlertsFiring => (crate::model::AlertKind::Monitoring, false),
                _ => (crate::model::AlertKind::Security, true),
            };
            // A security alert belongs to a repository, not an environment: one without an
            // environment counts in every scope.
            let open: Vec<String> = e
                .alerts
                .iter()
                .filter(|a| a.kind == kind && (in_env(scope, &a.environment) || (anywhere && a.environment.is_empty())))
                .filter(|a| kind == crate::model::AlertKind::Security || a.is_firing())
                .map(|a| {
                    format!(
                        "{} {} {} ({}, {}){}",
                        a.source,
                        a.severity.label(),
                        a.name,
                        a.resource,
                        if a.environment.is_empty() { "-" } else { &a.environment },
                        a.since.map(|t| format!(" since {} ago", human_duration(now - t))).unwrap_or_default()
                    )
                })
                .collect();
            count(open.len(), open)
        }
        Subject::AlertsQuietRules => {
            let quiet: Vec<String> = e
                .alert_rules
                .iter()
                .filter(|r| in_env(scope, &r.environment))
                .filter_map(|r| r.problem().map(|p| format!("{} rule {} ({}) {p}", r.source, r.name, r.environment)))
                .collect();
            count(quiet.len(), quiet)
        }
        Subject::RunsFailedSecurity => {
            let security = |name: &str| {
                ["security", "scan", "codeql", "secret", "audit"].iter().any(|w| name.to_lowercase().contains(w))
            };
            let failed: Vec<String> = e
                .runs
                .iter()
                .filter(|r| r.updated_at >= day)
                .flat_map(|r| r.jobs.iter().map(move |j| (r, j)))
                .filter(|(_, j)| security(&j.name) && j.conclusion == Some(crate::model::Conclusion::Failure))
                .map(|(r, j)| format!("{} #{} job {} failed", r.repo, r.run_id, j.name))
                .collect();
            count(failed.len(), failed)
        }
        Subject::LogsErrors => {
            let since = ctx.since.unwrap_or(day);
            let errors: Vec<&(Timestamp, &str)> = ctx.log_errors.iter().filter(|(at, _)| *at > since).collect();
            let mut by_source: HashMap<&str, usize> = HashMap::new();
            for (_, source) in &errors {
                *by_source.entry(source).or_default() += 1;
            }
            let mut evidence: Vec<String> =
                by_source.into_iter().map(|(s, n)| format!("{s}: {n} error lines")).collect();
            evidence.sort();
            count(errors.len(), evidence)
        }
        Subject::SourcesFailed => count(ctx.failed_sources.len(), ctx.failed_sources.clone()),
    }
}

fn evaluate_scoped(expr: &Expr, ctx: &Context<'_>, scope: Option<&str>) -> Evaluation {
    let mut verdicts = Vec::new();
    let mut values = Vec::new();
    let mut evidence = Vec::new();
    for c in &expr.conditions {
        match measure(c.subject, ctx, scope) {
            None => {
                verdicts.push(Verdict::Unknown);
                values.push(format!("{}: no data", c.subject));
            }
            Some(m) => {
                let holds = c.op.holds(m.value, c.value);
                // A pass needs complete data; a failure is certain from what is there.
                let v = match holds {
                    true if !ctx.failed_sources.is_empty() && c.subject != Subject::SourcesFailed => Verdict::Unknown,
                    true => Verdict::Pass,
                    false => Verdict::Fail,
                };
                verdicts.push(v);
                values.push(format!("{} = {}", c.subject, m.shown));
                evidence.extend(m.evidence);
            }
        }
    }
    if verdicts.contains(&Verdict::Unknown) && !ctx.failed_sources.is_empty() {
        evidence.push(format!("data may be incomplete: {} failed", ctx.failed_sources.join(", ")));
    }
    let verdict = match expr.join {
        Join::And => verdicts.iter().copied().max().unwrap_or(Verdict::Unknown),
        Join::Or if verdicts.contains(&Verdict::Pass) => Verdict::Pass,
        Join::Or if verdicts.contains(&Verdict::Unknown) => Verdict::Unknown,
        Join::Or => Verdict::Fail,
    };
    Evaluation { verdict, value: values.join(", "), evidence }
}

/// The (time, source) of the ERROR lines among `lines`, for [`Context::log_errors`].
pub fn error_lines(lines: &[LogLine]) -> Vec<(Timestamp, &str)> {
    lines.iter().filter(|l| l.severity == Severity::Error).map(|l| (l.at, l.source.as_str())).collect()
}

/// Evaluates an automatic item: per environment when asked, the worst verdict wins.
pub fn evaluate(item: &Item, ctx: &Context<'_>) -> Option<Evaluation> {
    let expr = item.check.as_ref()?;
    if !item.per_environment {
        return Some(evaluate_scoped(expr, ctx, item.environment.as_deref()));
    }
    let envs: Vec<&str> = ctx.estate.environments.iter().map(|e| e.name.as_str()).collect();
    if envs.is_empty() {
        return Some(evaluate_scoped(expr, ctx, None));
    }
    let mut worst = Verdict::Pass;
    let mut values = Vec::new();
    let mut evidence = Vec::new();
    for env in envs {
        let e = evaluate_scoped(expr, ctx, Some(env));
        worst = worst.max(e.verdict);
        values.push(format!("{env}: {:?}", e.verdict).to_lowercase());
        // Evidence of the environments that passed is noise next to the ones that did not.
        if e.verdict != Verdict::Pass {
            evidence.extend(e.evidence);
        }
    }
    Some(Evaluation { verdict: worst, value: values.join(", "), evidence })
}

/// A manual item's state for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub item: String,
    pub done: bool,
    pub note: Option<String>,
    pub who: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemReport {
    pub section: String,
    pub title: String,
    pub automatic: bool,
    pub check: Option<String>,
    /// Automatic items: the verdict. Manual items: pass when ticked, unknown when open.
    pub verdict: Verdict,
    pub value: String,
    pub evidence: Vec<String>,
    pub done_by: Option<String>,
    pub done_at: Option<Timestamp>,
    pub note: Option<String>,
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub runbook: String,
    pub title: String,
    pub day: String,
    pub generated_at: Timestamp,
    pub generated_by: String,
    pub items: Vec<ItemReport>,
    pub passed: usize,
    pub failed: usize,
    pub unknown: usize,
    pub open: usize,
}

impl Report {
    pub fn build(book: &Runbook, ctx: &Context<'_>, progress: &[Progress], who: &str) -> Report {
        let items: Vec<ItemReport> = book
            .items
            .iter()
            .map(|item| {
                let p = progress.iter().find(|p| p.item == item.key);
                let (verdict, value, evidence) = match evaluate(item, ctx) {
                    Some(e) => (e.verdict, e.value, e.evidence),
                    None if p.is_some_and(|p| p.done) => (Verdict::Pass, "ticked".into(), Vec::new()),
                    None => (Verdict::Unknown, "not ticked yet".into(), Vec::new()),
                };
                ItemReport {
                    section: item.section.clone(),
                    title: item.title.clone(),
                    automatic: item.check.is_some(),
                    check: item.check_text.clone(),
                    verdict,
                    value,
                    evidence,
                    done_by: p.filter(|p| p.done).map(|p| p.who.clone()),
                    done_at: p.filter(|p| p.done).map(|p| p.at),
                    note: p.and_then(|p| p.note.clone()),
                    link: item.link.clone(),
                }
            })
            .collect();
        let n = |f: &dyn Fn(&ItemReport) -> bool| items.iter().filter(|i| f(i)).count();
        Report {
            runbook: book.name.clone(),
            title: book.title.clone(),
            day: ctx.now.format("%Y-%m-%d").to_string(),
            generated_at: ctx.now,
            generated_by: who.to_string(),
            passed: n(&|i| i.verdict == Verdict::Pass),
            failed: n(&|i| i.verdict == Verdict::Fail),
            unknown: n(&|i| i.automatic && i.verdict == Verdict::Unknown),
            open: n(&|i| !i.automatic && i.verdict != Verdict::Pass),
            items,
        }
    }

    /// 0: all good; 1: something failed; 3: nothing failed but something is unknown or open.
    pub fn exit_code(&self) -> i32 {
        if self.failed > 0 {
            1
        } else if self.unknown > 0 || self.open > 0 {
            3
        } else {
            0
        }
    }

    /// The shift-handover report.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# {} — {}\n\nGenerated {} UTC by {}. **{} passed, {} failed, {} unknown, {} open.**\n",
            self.title,
            self.day,
            self.generated_at.format("%Y-%m-%d %H:%M"),
            self.generated_by,
            self.passed,
            self.failed,
            self.unknown,
            self.open
        );
        let mut section = "";
        for i in &self.items {
            if i.section != section {
                section = &i.section;
                out.push_str(&format!("\n## {section}\n\n"));
            }
            let mark = match i.verdict {
                Verdict::Pass => "[x] ✔",
                Verdict::Fail => "[ ] ✖ **FAIL**",
                Verdict::Unknown if i.automatic => "[ ] ? unknown",
                Verdict::Unknown => "[ ]",
            };
            out.push_str(&format!("- {mark} {}", i.title));
            if i.automatic {
                out.push_str(&format!(" — `{}`: {}", i.check.as_deref().unwrap_or(""), i.value));
            }
            if let (Some(by), Some(at)) = (&i.done_by, i.done_at) {
                out.push_str(&format!(" — ticked by {by} at {}", at.format("%H:%M")));
            }
            out.push('\n');
            if let Some(note) = &i.note {
                out.push_str(&format!("  - note: {note}\n"));
            }
            if i.verdict != Verdict::Pass {
                for e in &i.evidence {
                    out.push_str(&format!("  - {e}\n"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
