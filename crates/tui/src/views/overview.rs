//! The first screen: an environment x (deploys, health, backups, secrets, alerts) matrix that
//! answers "is anything wrong, and where", then the findings behind it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};

use super::{level_span, plain_block, screen_block, table_area, trunc};
use crate::analysis::{Finding, findings};
use crate::app::{AppState, OverviewColumn};
use crate::model::{DeploymentState, Level, human_duration};
use crate::theme::Theme;

/// One matrix cell: worst level and a short text.
pub fn cell(state: &AppState, all: &[Finding], env: &str, column: OverviewColumn) -> (Level, String) {
    let e = &state.estate;
    let now = state.now;
    let worst = |levels: &mut dyn Iterator<Item = Level>| levels.max().unwrap_or(Level::Unknown);
    match column {
        OverviewColumn::Deploys => {
            let waiting = e.approvals.iter().filter(|a| a.environment == env).count();
            let live: Vec<_> =
                e.deployments.iter().filter(|d| d.environment == env && d.state == DeploymentState::Success).collect();
            let failed = e.deployments.iter().any(|d| {
                d.environment == env
                    && d.state.level() == Level::Crit
                    && now - d.created_at < chrono::Duration::hours(24)
            });
            if failed {
                (Level::Crit, "failed deploy".into())
            } else if waiting > 0 {
                (Level::Warn, format!("{waiting} waiting approval"))
            } else if let Some(d) = live.iter().max_by_key(|d| d.created_at) {
                (Level::Ok, format!("{} {}", &d.sha[..d.sha.len().min(7)], human_duration(now - d.created_at)))
            } else {
                (Level::Unknown, "no deploys".into())
            }
        }
        OverviewColumn::Health => {
            let checks: Vec<_> = e.health.iter().filter(|h| h.environment == env).collect();
            let metrics: Vec<_> = e.metrics.iter().filter(|m| m.environment == env).collect();
            if checks.is_empty() && metrics.is_empty() {
                return (Level::Unknown, "no checks".into());
            }
            let level = worst(&mut checks.iter().map(|h| h.level).chain(metrics.iter().map(|m| m.level)));
            let failing = checks.iter().filter(|h| h.level == Level::Crit).count();
            let warn = metrics.iter().filter(|m| m.level >= Level::Warn).count()
                + checks.iter().filter(|h| h.level == Level::Warn).count();
            let text = if failing > 0 {
                format!("{failing} of {} failing", checks.len())
            } else if warn > 0 {
                format!("{warn} over threshold")
            } else {
                format!("{} checks ok", checks.len())
            };
            (level, text)
        }
        OverviewColumn::Backups => {
            let backups: Vec<_> = e.backups.iter().filter(|b| b.environment == env).collect();
            if backups.is_empty() {
                return (Level::Unknown, "none known".into());
            }
            let bad = backups.iter().filter(|b| !b.findings(now).is_empty()).count();
            if bad > 0 {
                (Level::Crit, format!("{bad} of {} failing", backups.len()))
            } else {
                (Level::Ok, format!("{} ok", backups.len()))
            }
        }
        OverviewColumn::Secrets => {
            let secrets: Vec<_> = e.secrets.iter().filter(|s| s.environment == env).collect();
            if secrets.is_empty() {
                return (Level::Unknown, "none known".into());
            }
            let level = worst(&mut secrets.iter().map(|s| s.level(now)));
            let overdue = secrets.iter().filter(|s| s.level(now) == Level::Crit).count();
            let soon = secrets.iter().filter(|s| s.level(now) == Level::Warn).count();
            let text = if overdue > 0 {
                format!("{overdue} overdue")
            } else if soon > 0 {
                format!("{soon} due soon")
            } else {
                format!("{} ok", secrets.len())
            };
            (level, text)
        }
        OverviewColumn::Alerts => {
            // The clouds' own firing alerts when there are any (the findings are listed below),
            // else skydeck's findings.
            let mine: Vec<_> = all.iter().filter(|f| f.environment == env).collect();
            let firing: Vec<_> = e.alerts.iter().filter(|a| a.environment == env && a.is_firing()).collect();
            let level = mine.iter().map(|f| f.level).chain(firing.iter().map(|a| a.level())).max();
            match (level, firing.len()) {
                (None, _) => (Level::Ok, "none".into()),
                (Some(level), 0) => {
                    (level, format!("{} finding{}", mine.len(), if mine.len() == 1 { "" } else { "s" }))
                }
                (Some(level), n) => (level, format!("{n} firing")),
            }
        }
    }
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let all = findings(&state.estate, state.now);
    let matrix = table_area(crate::app::Screen::Overview, area);
    let rest = Rect { y: matrix.y + matrix.height, height: area.height.saturating_sub(matrix.height), ..area };
    let selected_col = state.overview_column;
    let selected_row = state.list().selected;
    let col_width = ((area.width.saturating_sub(16)) / 5).clamp(12, 24);
    let mut header = vec![Cell::from("Environment")];
    header.extend(OverviewColumn::ALL.iter().map(|c| Cell::from(c.title())));
    let rows: Vec<TableRow> = state
        .estate
        .environments
        .iter()
        .enumerate()
        .map(|(r, env)| {
            let mut cells = vec![Cell::from(Span::styled(
                env.name.clone(),
                Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
            ))];
            for (c, column) in OverviewColumn::ALL.iter().enumerate() {
                let (level, text) = cell(state, &all, &env.name, *column);
                let mut span = level_span(theme, level, trunc(&text, col_width as usize - 2));
                if r == selected_row && c == selected_col {
                    span = span.patch_style(theme.selected());
                }
                cells.push(Cell::from(span));
            }
            TableRow::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(14)];
    widths.extend(std::iter::repeat_n(Constraint::Length(col_width), 5));
    let block = screen_block(state, theme, "Overview", state.estate.environments.len());
    frame.render_widget(
        Table::new(rows, widths).header(TableRow::new(header).style(theme.header())).block(block),
        matrix,
    );

    let [left, right] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(rest);
    let mut lines: Vec<Line> = Vec::new();
    if all.is_empty() {
        let msg = if state.estate.environments.is_empty() {
            "waiting for the first data…"
        } else {
            "nothing needs attention"
        };
        lines.push(Line::from(level_span(
            theme,
            if state.estate.environments.is_empty() { Level::Unknown } else { Level::Ok },
            msg,
        )));
    }
    for f in all.iter().take(left.height.saturating_sub(2) as usize) {
        let screen = f.category.screen();
        let env = if f.environment.is_empty() { "—".to_string() } else { f.environment.clone() };
        let head = format!("{env:<11}");
        let used = head.chars().count() + 2 + 4 + 9 + f.subject.chars().count() + 1 + 2;
        lines.push(Line::from(vec![
            level_span(theme, f.level, head),
            Span::styled(format!(" [{}] ", screen.key()), Style::default().fg(theme.accent)),
            Span::styled(format!("{:<9}", f.category.label()), theme.dim()),
            Span::styled(format!("{} ", f.subject), Style::default().fg(theme.fg_bright)),
            Span::styled(trunc(&f.text, (left.width as usize).saturating_sub(used)), theme.text()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).block(plain_block(theme, "What needs attention")), left);

    let mut recent: Vec<Line> = Vec::new();
    for r in state.estate.runs.iter().take(right.height.saturating_sub(2) as usize) {
        let level = r.level();
        let status = super::runs::status_text(r.status, r.conclusion);
        recent.push(Line::from(vec![
            level_span(theme, level, format!("{status:<11}")),
            Span::styled(format!("{} ", trunc(r.repo.split('/').next_back().unwrap_or(&r.repo), 13)), theme.text()),
            Span::styled(format!("{} ", r.workflow), theme.dim()),
            Span::styled(trunc(&r.branch, 14), theme.dim()),
        ]));
    }
    frame.render_widget(Paragraph::new(recent).block(plain_block(theme, "Recent runs")), right);
}
