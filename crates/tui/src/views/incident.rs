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
    if let Some(history) = &state.incident_history {
        render_history(history, theme, frame, area);
        return;
    }
    let Some(incident) = &state.incident else {
        let lines = vec![
            Line::from(Span::styled("No incident is open.", theme.text())),
            Line::from(""),
            Line::from(Span::styled(
                "s starts one (title, severity, environment); :incident TITLE starts a sev2 at once.",
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
            Line::from(Span::styled("h lists the closed incidents; e there writes a postmortem.", theme.dim())),
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
                Span::styled(format!("  {}", e.text.split_once(": ").map_or("", |x| x.1)), theme.dim()),
            ])),
            None => lines.push(Line::from(vec![
                Span::styled(format!("☐ {label}"), Style::default().fg(theme.warn)),
                Span::styled(format!("  ({shortcut})"), theme.dim()),
            ])),
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(super::hint_line(state, Screen::Incident), theme.dim())));
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

/// `h`: the closed incidents, newest first; the selected one's resolution and timeline below.
fn render_history(history: &crate::app::forms::IncidentHistory, theme: &Theme, frame: &mut Frame, area: Rect) {
    let top = table_area(Screen::Incident, area);
    let title =
        format!("Closed incidents ({}) · ↑↓ choose · e export postmortem · h/esc back", history.incidents.len());
    let mut lines = Vec::new();
    if !history.loaded {
        lines.push(Line::from(Span::styled("reading the incidents…", theme.dim())));
    } else if history.incidents.is_empty() {
        lines.push(Line::from(Span::styled("No closed incident yet.", theme.dim())));
    } else {
        lines.push(Line::from(Span::styled(
            format!("{:<6} {:<5} {:<12} {:<17} {:<9} {}", "INC", "Sev", "Env", "Opened (UTC)", "Took", "Title"),
            theme.header(),
        )));
    }
    let visible = top.height.saturating_sub(3).max(1) as usize;
    let offset = history.selected.saturating_sub(visible.saturating_sub(1));
    for (i, incident) in history.incidents.iter().enumerate().skip(offset).take(visible) {
        let took =
            incident.closed_at.map_or_else(|| "—".into(), |c| crate::model::human_duration(c - incident.opened_at));
        let text = format!(
            "{:<6} {:<5} {:<12} {:<17} {:<9} {}",
            incident.id,
            incident.severity,
            trunc(incident.environment.as_deref().unwrap_or("—"), 12),
            incident.opened_at.format("%Y-%m-%d %H:%M"),
            took,
            incident.title
        );
        let style = if i == history.selected { theme.selected() } else { theme.text() };
        lines.push(Line::from(Span::styled(text, style)));
    }
    frame.render_widget(Paragraph::new(lines).block(plain_block(theme, &title)), top);

    let bottom = Rect { y: top.y + top.height, height: area.height.saturating_sub(top.height), ..area };
    let Some(incident) = history.selected() else {
        frame.render_widget(Paragraph::new(Vec::<Line>::new()).block(plain_block(theme, "Timeline")), bottom);
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("resolution: ", theme.dim()),
        Span::styled(incident.resolution.clone().unwrap_or_default(), theme.text()),
    ])];
    let visible = bottom.height.saturating_sub(3) as usize;
    for e in incident.timeline.iter().rev().take(visible).rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", e.at.format("%m-%d %H:%M")), theme.dim()),
            Span::styled(format!("{:<9}", e.kind.as_str()), theme.text()),
            Span::styled(e.text.clone(), theme.text()),
            Span::styled(format!("  — {}", e.who), theme.dim()),
        ]));
    }
    let title = format!("INC {} timeline ({} entries)", incident.id, incident.timeline.len());
    frame.render_widget(Paragraph::new(lines).block(plain_block(theme, &title)), bottom);
}
