//! The plain list screens: Deployments, Resources, Backups, Secrets, Audit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table, Wrap};

use super::{ago, level_span, plain_block, screen_block, trunc, visible_rows};
use crate::app::{AppState, Row};
use crate::model::{Level, human_duration};
use crate::store::AuditPhase;
use crate::theme::Theme;

/// Draws a table of the visible rows with the selection highlighted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn table(
    state: &AppState,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    header: &[&str],
    widths: &[Constraint],
    cells: impl Fn(Row) -> Vec<Cell<'static>>,
) {
    let (visible, total) = visible_rows(state);
    let offset = state.list().offset;
    let selected = state.list().selected;
    let rows: Vec<TableRow> = visible
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let row = TableRow::new(cells(*r));
            if offset + i == selected { row.style(theme.selected()) } else { row }
        })
        .collect();
    let header = TableRow::new(header.iter().map(|h| Cell::from(*h))).style(theme.header());
    let mut block = screen_block(state, theme, title, total);
    if total == 0 {
        let empty = if state.list().filter.is_empty() {
            "nothing here yet"
        } else {
            "no row matches the filter (esc clears it)"
        };
        block = block.title_bottom(Span::styled(format!(" {empty} "), theme.dim()));
    }
    frame.render_widget(Table::new(rows, widths.to_vec()).header(header).block(block).column_spacing(1), area);
}

pub fn deployments(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let widths = [
        Constraint::Length(12),
        Constraint::Length(20),
        Constraint::Length(20),
        Constraint::Length(9),
        Constraint::Length(12),
        Constraint::Length(14),
        Constraint::Min(20),
    ];
    table(
        state,
        theme,
        frame,
        area,
        "Deployments & approvals",
        &["Environment", "State", "Repository", "SHA", "By", "Since", "Details"],
        &widths,
        |row| match row {
            Row::Approval(i) => {
                let a = &e.approvals[i];
                vec![
                    Cell::from(Span::styled(a.environment.clone(), Style::default().add_modifier(Modifier::BOLD))),
                    Cell::from(level_span(theme, Level::Warn, "waiting approval")),
                    Cell::from(a.repo.clone()),
                    Cell::from(a.sha.chars().take(7).collect::<String>()),
                    Cell::from("—"),
                    Cell::from(ago(state, Some(a.requested_at))),
                    Cell::from(Span::styled(
                        format!(
                            "{} · reviewers: {}{}",
                            a.workflow,
                            a.reviewers.join(", "),
                            if a.wait_timer_minutes > 0 {
                                format!(" · wait {}m", a.wait_timer_minutes)
                            } else {
                                String::new()
                            }
                        ),
                        Style::default().fg(theme.warn),
                    )),
                ]
            }
            Row::Deployment(i) => {
                let d = &e.deployments[i];
                let current = d.state == crate::model::DeploymentState::Success;
                let state_text = if current { "live".to_string() } else { format!("{:?}", d.state).to_lowercase() };
                let lvl = if current { Level::Ok } else { d.state.level() };
                vec![
                    Cell::from(d.environment.clone()),
                    Cell::from(if d.state == crate::model::DeploymentState::Inactive {
                        Span::styled(format!("  {state_text}"), theme.dim())
                    } else {
                        level_span(theme, lvl, state_text)
                    }),
                    Cell::from(d.repo.clone()),
                    Cell::from(d.sha.chars().take(7).collect::<String>()),
                    Cell::from(trunc(&d.creator, 12)),
                    Cell::from(ago(state, Some(d.created_at))),
                    Cell::from(Span::styled(
                        format!(
                            "{}{}",
                            d.description,
                            d.run_id
                                .as_ref()
                                .map(|r| format!(" · run {}", r.rsplit('/').next().unwrap_or(r)))
                                .unwrap_or_default()
                        ),
                        theme.dim(),
                    )),
                ]
            }
            _ => Vec::new(),
        },
    );
}

pub fn resources(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let [list, detail] = Layout::horizontal([Constraint::Percentage(64), Constraint::Percentage(36)]).areas(area);
    let widths = [
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Min(18),
        Constraint::Length(20),
        Constraint::Length(12),
    ];
    table(
        state,
        theme,
        frame,
        list,
        "Resources",
        &["Role", "Env", "Cloud", "Name", "Kind", "Status"],
        &widths,
        |row| {
            let Row::Resource(i) = row else { return Vec::new() };
            let r = &e.resources[i];
            vec![
                Cell::from(r.role.label()),
                Cell::from(r.environment.clone()),
                Cell::from(r.provider.label()),
                Cell::from(r.name.clone()),
                Cell::from(trunc(&r.kind, 20)),
                Cell::from(level_span(theme, r.level, trunc(&r.status, 10))),
            ]
        },
    );
    let selected = state.selected_target();
    let mut lines = role_matrix(state, theme);
    lines.push(Line::from(""));
    if let Some(r) = e.resources.iter().find(|r| Some(&r.id) == selected.as_ref()) {
        let kv = |k: &str, v: String| {
            Line::from(vec![Span::styled(format!("{k:>14} "), theme.dim()), Span::styled(v, theme.text())])
        };
        lines.push(Line::from(Span::styled(
            r.name.clone(),
            Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
        )));
        lines.push(kv("kind", format!("{} ({})", r.kind, r.provider.label())));
        lines.push(kv("region", r.region.clone()));
        lines.push(kv("status", r.status.clone()));
        if let Some(v) = &r.current_version {
            lines.push(kv("serving", v.clone()));
        }
        if r.versions.len() > 1 {
            lines.push(kv("versions", r.versions.join(", ")));
        }
        for (k, v) in &r.details {
            lines.push(kv(k, v.clone()));
        }
        for m in e.metrics.iter().filter(|m| m.resource == r.name) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:>14} ", m.kind.label()), theme.dim()),
                level_span(theme, m.level, m.kind.format(m.value)),
            ]));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("id", theme.dim())));
        lines.push(Line::from(Span::styled(r.id.clone(), theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(plain_block(theme, "Detail")), detail);
}

/// Role x cloud: how many resources of each role run on each cloud, coloured by the worst.
fn role_matrix(state: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    use crate::model::{Provider, Role};
    let clouds = [Provider::Azure, Provider::Aws, Provider::Gcp];
    let mut lines =
        vec![Line::from(Span::styled(format!("{:<11}{:>8}{:>8}{:>8}", "role", "Azure", "AWS", "GCP"), theme.header()))];
    for role in Role::ALL {
        let mut spans = vec![Span::styled(format!("{:<11}", role.label()), theme.dim())];
        for cloud in clouds {
            let of: Vec<_> = state.estate.resources.iter().filter(|r| r.role == role && r.provider == cloud).collect();
            let level = of.iter().map(|r| r.level).max();
            spans.push(match level {
                None => Span::styled(format!("{:>8}", "·"), theme.dim()),
                Some(l) => Span::styled(format!("{:>6} {}", of.len(), l.symbol()), theme.level(l)),
            });
        }
        lines.push(Line::from(spans));
    }
    lines
}

pub fn backups(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let now = state.now;
    let widths = [
        Constraint::Length(20),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Length(12),
        Constraint::Min(20),
    ];
    table(
        state,
        theme,
        frame,
        area,
        "Backups",
        &["Database", "Env", "Cloud", "Last backup", "Retention", "PITR", "PITR window", "Findings"],
        &widths,
        |row| {
            let Row::Backup(i) = row else { return Vec::new() };
            let b = &e.backups[i];
            let findings = b.findings(now);
            let window = match (b.earliest_restore, b.latest_restore) {
                (Some(a), Some(z)) => format!(
                    "{} .. {}",
                    human_duration(now - a),
                    if now - z < chrono::Duration::minutes(15) { "now".to_string() } else { human_duration(now - z) }
                ),
                _ => "—".into(),
            };
            let last_old = b.last_backup_at.is_none_or(|t| now - t > chrono::Duration::hours(24));
            vec![
                Cell::from(b.database.clone()),
                Cell::from(b.environment.clone()),
                Cell::from(b.provider.label()),
                Cell::from(level_span(
                    theme,
                    if last_old { Level::Crit } else { Level::Ok },
                    ago(state, b.last_backup_at),
                )),
                Cell::from(level_span(
                    theme,
                    if b.retention_days < b.required_retention_days { Level::Crit } else { Level::Ok },
                    format!("{}d", b.retention_days),
                )),
                Cell::from(level_span(
                    theme,
                    if b.pitr_enabled { Level::Ok } else { Level::Crit },
                    if b.pitr_enabled { "on" } else { "off" },
                )),
                Cell::from(window),
                Cell::from(if findings.is_empty() {
                    level_span(theme, Level::Ok, "none")
                } else {
                    level_span(theme, Level::Crit, findings.join("; "))
                }),
            ]
        },
    );
}

pub fn secrets(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let now = state.now;
    let widths = [
        Constraint::Min(24),
        Constraint::Length(11),
        Constraint::Length(16),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(14),
        Constraint::Length(4),
    ];
    table(
        state,
        theme,
        frame,
        area,
        "Secrets (metadata only)",
        &["Name", "Env", "Store", "Rotated", "Every", "Next rotation", "Ver"],
        &widths,
        |row| {
            let Row::Secret(i) = row else { return Vec::new() };
            let s = &e.secrets[i];
            let level = s.level(now);
            let next = match s.next_rotation() {
                Some(n) if n <= now => format!("overdue {}", human_duration(now - n)),
                Some(n) => format!("in {}", human_duration(n - now)),
                None => "—".into(),
            };
            vec![
                Cell::from(s.name.clone()),
                Cell::from(s.environment.clone()),
                Cell::from(trunc(&s.store, 16)),
                Cell::from(ago(state, s.last_rotated).replace(" ago", "")),
                Cell::from(s.rotation_days.map(|d| format!("{d}d")).unwrap_or_else(|| "—".into())),
                Cell::from(level_span(theme, level, next)),
                Cell::from(s.versions.to_string()),
            ]
        },
    );
}

pub fn audit(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let widths = [
        Constraint::Length(19),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(11),
        Constraint::Length(22),
        Constraint::Length(11),
        Constraint::Min(20),
    ];
    table(
        state,
        theme,
        frame,
        area,
        "Audit log",
        &["When (UTC)", "Who", "Verb", "Phase", "Target", "Env", "Detail"],
        &widths,
        |row| {
            let Row::Audit(i) = row else { return Vec::new() };
            let a = &state.audit[i];
            let level = match a.phase {
                AuditPhase::Finished => Level::Ok,
                AuditPhase::Started => Level::Unknown,
                AuditPhase::Failed | AuditPhase::Refused => Level::Crit,
            };
            let detail = match &a.reason {
                Some(r) => format!("{} · reason: {r}", a.detail),
                None => a.detail.clone(),
            };
            vec![
                Cell::from(a.at.format("%Y-%m-%d %H:%M:%S").to_string()),
                Cell::from(trunc(&a.user, 10)),
                Cell::from(a.verb.clone()),
                Cell::from(match a.phase {
                    AuditPhase::Started => Span::styled("→ started", Style::default().fg(theme.info)),
                    _ => level_span(theme, level, format!("{:?}", a.phase).to_lowercase()),
                }),
                Cell::from(trunc(&a.target_name, 22)),
                Cell::from(a.environment.clone()),
                Cell::from(detail),
            ]
        },
    );
}
