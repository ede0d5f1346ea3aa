//! The full record behind a list row (Enter on Deployments, Health, Backups, Secrets, Audit):
//! every field, untruncated, wrapped to the terminal, in a scrollable popup.

use super::{AppState, Popup, Row};
use crate::model::{Level, Timestamp, human_duration};

fn when(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn when_ago(state: &AppState, t: Option<Timestamp>) -> String {
    match t {
        Some(t) if t <= state.now => format!("{} ({} ago)", when(t), human_duration(state.now - t)),
        Some(t) => format!("{} (in {})", when(t), human_duration(t - state.now)),
        None => "—".into(),
    }
}

/// Title and `(field, value)` pairs of the record a row shows.
pub fn record(state: &AppState, row: Row) -> Option<(String, Vec<(&'static str, String)>)> {
    let e = &state.estate;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    Some(match row {
        Row::Approval(i) => {
            let a = e.approvals.get(i)?;
            (
                format!("Approval · {} · {}", a.environment, a.repo),
                vec![
                    ("environment", a.environment.clone()),
                    ("state", "waiting for approval".into()),
                    ("repository", a.repo.clone()),
                    ("workflow", a.workflow.clone()),
                    ("sha", a.sha.clone()),
                    ("requested", when_ago(state, Some(a.requested_at))),
                    ("reviewers", a.reviewers.join(", ")),
                    ("wait timer", format!("{} min", a.wait_timer_minutes)),
                    ("you can approve", if a.can_approve { "yes" } else { "no" }.into()),
                    ("run", a.run.clone()),
                    ("id", a.id.clone()),
                ],
            )
        }
        Row::Deployment(i) => {
            let d = e.deployments.get(i)?;
            (
                format!("Deployment · {} · {}", d.environment, d.repo),
                vec![
                    ("environment", d.environment.clone()),
                    ("state", format!("{:?}", d.state).to_lowercase()),
                    ("repository", d.repo.clone()),
                    ("sha", d.sha.clone()),
                    ("ref", d.git_ref.clone()),
                    ("by", d.creator.clone()),
                    ("created", when_ago(state, Some(d.created_at))),
                    ("description", d.description.clone()),
                    ("run", opt(d.run_id.clone())),
                    ("id", d.id.clone()),
                ],
            )
        }
        Row::Health(i) => {
            let h = e.health.get(i)?;
            let pct = |p| h.percentile(p).map(|v| format!("{v} ms"));
            (
                format!("Health check · {} · {}", h.environment, h.name),
                vec![
                    ("environment", h.environment.clone()),
                    ("check", h.name.clone()),
                    ("url", h.url.clone()),
                    ("level", h.level.label().into()),
                    ("status", opt(h.status_code.map(|c| c.to_string()))),
                    ("latency", opt(h.latency_ms.map(|l| format!("{l} ms")))),
                    ("p50 / p95", format!("{} / {}", opt(pct(50)), opt(pct(95)))),
                    ("availability", opt(h.availability().map(|a| format!("{a:.1}% of {} probes", h.history.len())))),
                    ("error", opt(h.error.clone())),
                    ("checked", when_ago(state, Some(h.checked_at))),
                    ("id", h.id.clone()),
                ],
            )
        }
        Row::Backup(i) => {
            let b = e.backups.get(i)?;
            let findings = b.findings(state.now);
            (
                format!("Backup · {} · {}", b.environment, b.database),
                vec![
                    ("database", b.database.clone()),
                    ("environment", b.environment.clone()),
                    ("cloud", b.provider.label().into()),
                    ("last backup", when_ago(state, b.last_backup_at)),
                    ("last status", b.last_status.clone()),
                    ("retention", format!("{} days (policy: {} days)", b.retention_days, b.required_retention_days)),
                    ("point in time", if b.pitr_enabled { "on" } else { "off" }.into()),
                    ("earliest restore", when_ago(state, b.earliest_restore)),
                    ("latest restore", when_ago(state, b.latest_restore)),
                    ("geo-redundant", if b.geo_redundant { "yes" } else { "no" }.into()),
                    ("findings", if findings.is_empty() { "none".into() } else { findings.join("; ") }),
                    ("resource", b.resource.clone()),
                    ("id", b.id.clone()),
                ],
            )
        }
        Row::Secret(i) => {
            let s = e.secrets.get(i)?;
            (
                format!("Secret · {} · {}", s.environment, s.name),
                vec![
                    ("name", s.name.clone()),
                    ("environment", s.environment.clone()),
                    ("store", format!("{} ({})", s.store, s.provider.label())),
                    ("enabled", if s.enabled { "yes" } else { "no" }.into()),
                    ("last rotated", when_ago(state, s.last_rotated)),
                    ("rotate every", opt(s.rotation_days.map(|d| format!("{d} days")))),
                    ("next rotation", when_ago(state, s.next_rotation())),
                    ("expires", when_ago(state, s.expires_at)),
                    ("versions", s.versions.to_string()),
                    ("value", "never read or shown".into()),
                    ("id", s.id.clone()),
                ],
            )
        }
        Row::Audit(i) => {
            let a = state.audit.get(i)?;
            (
                format!("Audit entry #{} · {} {}", a.seq, a.verb, a.target_name),
                vec![
                    ("when", a.at.to_rfc3339()),
                    ("who", a.user.clone()),
                    ("verb", a.verb.clone()),
                    ("phase", format!("{:?}", a.phase).to_lowercase()),
                    ("target", a.target_name.clone()),
                    ("environment", a.environment.clone()),
                    ("source", a.source.clone()),
                    ("reason", opt(a.reason.clone())),
                    ("detail", a.detail.clone()),
                    ("action", opt(a.action_id.map(|id| format!("closes entry #{id}")))),
                    ("target id", a.target.clone()),
                ],
            )
        }
        _ => return None,
    })
}

/// The record as a scrollable popup, its values wrapped to the terminal's width.
pub fn popup(state: &AppState, row: Row) -> Option<Popup> {
    let (title, fields) = record(state, row)?;
    const KEY: usize = 16;
    // The popup is the terminal less 8 columns; its border and a margin take 4 more.
    let room = (state.size.0 as usize).saturating_sub(12 + KEY + 2).max(16);
    let mut lines = Vec::new();
    for (key, value) in fields {
        for (i, part) in crate::views::wrap_text(&value, room).into_iter().enumerate() {
            let label = if i == 0 { key } else { "" };
            lines.push(format!("{label:>KEY$}  {part}"));
        }
    }
    Some(Popup::Output { title, lines, scroll: 0, level: Level::Ok })
}
