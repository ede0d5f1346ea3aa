//! Logs: the shared log buffer. Renders only the visible window; with a filter, only the
//! visible matches. Matches are highlighted; the title shows their count and the scan's progress.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{list_height, screen_block, trunc};
use crate::app::{AppState, Screen};
use crate::logbuf::LineRef;
use crate::model::{Level, Severity};
use crate::theme::Theme;

fn severity_style(theme: &Theme, s: Severity) -> Style {
    match s {
        Severity::Error => theme.level(Level::Crit),
        Severity::Warn => theme.level(Level::Warn),
        Severity::Info => Style::default().fg(theme.info),
        _ => theme.dim(),
    }
}

fn render_line<'a>(state: &AppState, theme: &Theme, l: &LineRef<'a>, width: usize) -> Line<'a> {
    let mut spans = Vec::new();
    if state.log_timestamps {
        spans.push(Span::styled(format!("{} ", l.at.format("%H:%M:%S%.3f")), theme.dim()));
    }
    spans.push(Span::styled(format!("{:<5} ", l.severity.label()), severity_style(theme, l.severity)));
    let source = crate::text::for_terminal(l.source);
    spans.push(Span::styled(format!("{:<18} ", trunc(&source, 18)), Style::default().fg(theme.accent)));
    let used: usize = spans.iter().map(ratatui::prelude::Span::width).sum();
    // CI logs colour their text with SGR sequences: those become styles; every other sequence
    // was removed at the provider boundary, and `sgr_segments` removes it again.
    let (plain, colours) = crate::text::sgr_segments(l.text);
    let text = if state.log_wrap { plain } else { trunc(&plain, width.saturating_sub(used)) };
    // Highlight the filter's matches in the text.
    let marks = state.log_filter.highlights(&text);
    let mark = Style::default().fg(theme.match_highlight).add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    // Cut where a colour changes and where a match starts or ends.
    let mut cuts: Vec<usize> = colours
        .iter()
        .map(|(at, _)| *at)
        .chain(marks.iter().flat_map(|&(start, end)| [start, end]))
        .filter(|&at| at < text.len() && text.is_char_boundary(at))
        .chain([0, text.len()])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts.windows(2) {
        let (from, to) = (cut[0], cut[1]);
        let colour = colours.iter().rev().find(|(at, _)| *at <= from).map(|(_, s)| *s).unwrap_or_default();
        let mut style = theme.text().patch(colour);
        if marks.iter().any(|&(start, end)| start <= from && from < end) {
            style = style.patch(mark);
        }
        spans.push(Span::styled(text[from..to].to_string(), style));
    }
    Line::from(spans)
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let list = state.list();
    let height = list_height(Screen::Logs, state.size);
    let width = area.width.saturating_sub(2) as usize;
    let filtered = state.log_filter.active();
    let live = state.log_filter.live(&state.logs);
    let total = if filtered { live.len() } else { state.logs.len() };
    let start = list.offset.min(total);
    let end = (start + height).min(total);
    let visible: Vec<LineRef<'_>> = if filtered {
        live[start..end].iter().filter_map(|s| state.logs.by_seq(*s)).collect()
    } else {
        state.logs.range(start, end - start).collect()
    };
    let lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let line = render_line(state, theme, l, width);
            if start + k == list.selected && !state.follow_logs { line.patch_style(theme.selected()) } else { line }
        })
        .collect();
    let mut block = screen_block(state, theme, "Logs", total);
    if filtered {
        let scanning = state.log_filter.pending(&state.logs);
        let mut note = format!(" {} matches of {} lines", live.len(), state.logs.len());
        if state.log_filter.min > Severity::Trace {
            note.push_str(&format!(" · {}+", state.log_filter.min.label()));
        }
        if scanning {
            note.push_str(&format!(" · filtering… {:.0}%", state.log_filter.progress(&state.logs) * 100.0));
        }
        if let Some(e) = &state.log_filter.error {
            note.push_str(&format!(" · {e}"));
        }
        block = block.title(Span::styled(format!("{note} "), Style::default().fg(theme.match_highlight)));
    }
    // The follow key as the user's [keys] has it, not the default.
    let key = state.keymap.label(crate::keymap::Command::Follow);
    let mode =
        if state.follow_logs { format!(" following ({key} to pause) ") } else { format!(" paused ({key} to follow) ") };
    block = block.title_bottom(Span::styled(
        mode,
        Style::default().fg(if state.follow_logs { theme.ok } else { theme.warn }).add_modifier(Modifier::BOLD),
    ));
    block = block.title_bottom(Span::styled(format!(" {} ", super::hint_line(state, Screen::Logs)), theme.dim()));
    let mut p = Paragraph::new(lines).block(block);
    if state.log_wrap {
        p = p.wrap(Wrap { trim: false });
    }
    frame.render_widget(p, area);
}
