//! Health: each check with availability and latency, and below it the selected environment's
//! latency sparkline and metrics against their thresholds.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Sparkline};

use super::{level_span, plain_block, table_area, trunc};
use crate::app::{AppState, Row};
use crate::model::{Level, Thresholds};
use crate::theme::Theme;

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let top = table_area(crate::app::Screen::Health, area);
    let bottom = Rect { y: top.y + top.height, height: area.height.saturating_sub(top.height), ..area };
    use super::lists::{Col, widest};
    let cols = [
        Col::fixed("Env", widest("Env", e.health.iter().map(|h| h.environment.as_str())), 0),
        Col::fixed("Check", widest("Check", e.health.iter().map(|h| h.name.as_str())).min(24), 0),
        Col::fixed("Level", 9, 1),
        Col::fixed("Status", 6, 5),
        Col::fixed("Latency", 8, 4),
        Col::fixed("p50/p95", 9, 6),
        Col::fixed("Avail.", 6, 3),
        Col::fill("URL / error", 16, 2),
    ];
    super::lists::fitted_table(state, theme, frame, top, "Health checks", &cols, |row| {
        let Row::Health(i) = row else { return Vec::new() };
        let h = &e.health[i];
        vec![
            Cell::from(h.environment.clone()),
            Cell::from(trunc(&h.name, 24)),
            Cell::from(level_span(theme, h.level, h.level.label())),
            Cell::from(h.status_code.map_or_else(|| "—".into(), |c| c.to_string())),
            Cell::from(h.latency_ms.map_or_else(|| "—".into(), |l| format!("{l} ms"))),
            Cell::from(match (h.percentile(50), h.percentile(95)) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => "—".into(),
            }),
            Cell::from(h.availability().map_or_else(|| "—".into(), |a| format!("{a:.0}%"))),
            Cell::from(match &h.error {
                Some(err) => Span::styled(err.clone(), theme.level(Level::Crit)),
                None => Span::styled(h.url.clone(), theme.dim()),
            }),
        ]
    });

    let selected = match crate::app::rows(state, state.screen).get(state.list().selected) {
        Some(Row::Health(i)) => e.health.get(*i),
        _ => None,
    };
    let Some(check) = selected else {
        frame.render_widget(plain_block(theme, "Detail"), bottom);
        return;
    };
    let [spark, metrics] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(bottom);
    let data: Vec<u64> = check.history.iter().map(|h| h.map_or(0, u64::from)).collect();
    let failures = check.history.iter().filter(|h| h.is_none()).count();
    let title = format!(
        "{} {} latency, last {} probes · {} failed",
        check.environment,
        check.name,
        check.history.len(),
        failures
    );
    frame.render_widget(
        Sparkline::default()
            .data(&data)
            .style(Style::default().fg(if failures > 0 { theme.crit } else { theme.ok }))
            .block(plain_block(theme, &title)),
        spark,
    );
    let thresholds = Thresholds::default();
    let mut lines = vec![Line::from(Span::styled(
        format!("{:<19}{:<17}{:>10} {:>8} {:>8}", "resource", "metric", "value", "warn", "crit"),
        theme.header(),
    ))];
    for m in e.metrics.iter().filter(|m| m.environment == check.environment) {
        let t = thresholds.get(m.kind);
        lines.push(Line::from(vec![
            Span::styled(format!("{:<19}", trunc(&m.resource, 18)), theme.text()),
            Span::styled(format!("{:<17}", m.kind.label()), theme.dim()),
            level_span(theme, m.level, format!("{:>8}", m.kind.format(m.value))),
            Span::styled(format!(" {:>8} {:>8}", m.kind.format(t.warn), m.kind.format(t.crit)), theme.dim()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(plain_block(theme, &format!("Metrics vs thresholds · {}", check.environment))),
        metrics,
    );
}
