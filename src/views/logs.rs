//! Logs: the shared, bounded log buffer. Renders only the visible window.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{list_height, screen_block, trunc};
use crate::app::{AppState, Row, Screen};
use crate::model::{Level, Severity};
use crate::theme::Theme;

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let list = state.list();
    let height = list_height(Screen::Logs, state.size);
    // Without a filter the buffer is indexed directly: no per-frame pass over every line.
    let (indices, total): (Vec<usize>, usize) = if list.filter.is_empty() {
        let n = state.logs.lines.len();
        let start = list.offset.min(n);
        ((start..(start + height).min(n)).collect(), n)
    } else {
        let all = crate::app::rows(state, Screen::Logs);
        let n = all.len();
        let start = list.offset.min(n);
        (
            all[start..(start + height).min(n)]
                .iter()
                .filter_map(|r| if let Row::Log(i) = r { Some(*i) } else { None })
                .collect(),
            n,
        )
    };
    let width = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = indices
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let l = &state.logs.lines[i];
            let sev_style = match l.severity {
                Severity::Error => theme.level(Level::Crit),
                Severity::Warn => theme.level(Level::Warn),
                Severity::Info => Style::default().fg(theme.info),
                _ => theme.dim(),
            };
            let prefix =
                format!("{} {:<5} {:<18} ", l.at.format("%H:%M:%S%.3f"), l.severity.label(), trunc(&l.source, 18));
            let rest = trunc(&l.text, width.saturating_sub(prefix.chars().count()));
            let mut line = Line::from(vec![
                Span::styled(prefix[..13].to_string(), theme.dim()),
                Span::styled(prefix[13..19].to_string(), sev_style),
                Span::styled(prefix[19..].to_string(), Style::default().fg(theme.accent)),
                Span::styled(rest, theme.text()),
            ]);
            if list.offset + k == list.selected && !state.follow_logs {
                line = line.patch_style(theme.selected());
            }
            line
        })
        .collect();
    let mut block = screen_block(state, theme, "Logs", total);
    let mode = if state.follow_logs { " following (f to pause) " } else { " paused (f to follow) " };
    block = block.title_bottom(Span::styled(
        mode,
        Style::default().fg(if state.follow_logs { theme.ok } else { theme.warn }).add_modifier(Modifier::BOLD),
    ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
