//! Incident: the open incident's first-response checklist against the 15-minute target, quick
//! mitigations on the affected environment's compute, and the timeline as it is recorded.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Wrap};

use super::lists::table;
use super::{level_span, plain_block, table_area, trunc};
use crate::app::{AppState, Row, Screen};
use crate::incident::{EntryKind, FIRST_STEPS};
use crate::model::Level;
use crate::theme::Theme;

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(incident) = &state.incident else {
        let lines = vec![
            Line::from(Span::styled("No incident is open.", theme.text())),
            Line::from(""),
            Line::from(Span::styled(
                "s, or :incident TITLE, starts one (sev2, on the environment selected in the Overview).",
                theme.dim(),
            )),
            Line::from(Span::styled(
                "While it is open, skydeck records every alert change, deploy, approval and action on its timeline.",
                theme.dim(),
            )),
            Line::from(Span::styled(
                "w shows what changed in the last 24 h. Headless: skydeck incident start|note|close|list|export.",
                theme.dim(),
            )),
        ];
        frame.render_widget(Paragraph::new(lines).block(plain_block(theme, "Incident")), area);
        return;
    };
    let top = table_area(Screen::Incident, area);
    let [steps, mitigate] = Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(top);
    let (timer, on_time) = incident.timer(state.now);
    let mut lines = vec![
        Line::from(Span::styled(
            format!("INC {} · {} · {}", incident.id, incident.severity, incident.title),
            Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled(
            format!(
                "opened {} UTC by {} · {}",
                incident.opened_at.format("%H:%M"),
                incident.opened_by,
                incident.environment.as_deref().unwrap_or("no environment")
            ),
            theme.dim(),
        )),
        Line::from(level_span(theme, if on_time { Level::Warn } else { Level::Crit }, timer)),
        Line::from(""),
    ];
    for ((key, label), shortcut) in FIRST_STEPS.iter().zip(["i", "t", "m"]) {
        match incident.step_done(key) {
            Some(e) => lines.push(Line::from(vec![
                level_span(theme, Level::Ok, format!("{label} ({})", e.at.format("%H:%M"))),
                Span::styled(format!("  {}", e.text.split_once(": ").map(|x| x.1).unwrap_or("")), theme.dim()),
            ])),
            None => lines.push(Line::from(vec![
                Span::styled(format!("☐ {label}"), Style::default().fg(theme.warn)),
                Span::styled(format!("  ({shortcut})"), theme.dim()),
            ])),
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("n note · w what changed · C close · b/S on a service", theme.dim())));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(plain_block(theme, "First response")),
        steps,
    );

    let widths = [Constraint::Min(18), Constraint::Length(6), Constraint::Length(22), Constraint::Length(10)];
    table(
        state,
        theme,
        frame,
        mitigate,
        "Mitigate: roll back (b) or scale out (S)",
        &["Service", "Cloud", "Serving", "Status"],
        &widths,
        |row| {
            let Row::Resource(i) = row else { return Vec::new() };
            let r = &state.estate.resources[i];
            vec![
                Cell::from(r.name.clone()),
                Cell::from(r.provider.label()),
                Cell::from(trunc(r.current_version.as_deref().unwrap_or("—"), 22)),
                Cell::from(level_span(theme, r.level, trunc(&r.status, 8))),
            ]
        },
    );

    let bottom = Rect { y: top.y + top.height, height: area.height.saturating_sub(top.height), ..area };
    let visible = bottom.height.saturating_sub(2) as usize;
    let entries: Vec<Line> = incident
        .timeline
        .iter()
        .rev()
        .take(visible)
        .rev()
        .map(|e| {
            let style = match e.kind {
                EntryKind::Alert => theme.level(Level::Crit),
                EntryKind::Cleared | EntryKind::Step => theme.level(Level::Ok),
                EntryKind::Action | EntryKind::Deploy | EntryKind::Approval => Style::default().fg(theme.info),
                _ => theme.text(),
            };
            Line::from(vec![
                Span::styled(format!("{} ", e.at.format("%H:%M:%S")), theme.dim()),
                Span::styled(format!("{:<9}", e.kind.as_str()), style),
                Span::styled(e.text.clone(), theme.text()),
                Span::styled(format!("  — {}", e.who), theme.dim()),
            ])
        })
        .collect();
    let title = format!("Timeline ({} entries, recorded as it happens)", incident.timeline.len());
    frame.render_widget(Paragraph::new(entries).block(plain_block(theme, &title)), bottom);
}
