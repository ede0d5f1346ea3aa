//! The restore, rotate, scale and start-incident forms: what bounds the inputs on top, one line
//! per field, the error right above the keys. A hidden field shows one dot per character.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::popups::{centered, popup_block};
use crate::app::AppState;
use crate::app::forms::{ActionForm, SECRET_KIND};
use crate::model::Level;
use crate::theme::Theme;

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect, form: &ActionForm) {
    let width = 100.min(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = form
        .header(state.now)
        .into_iter()
        .enumerate()
        .map(|(i, text)| Line::from(Span::styled(text, if i == 0 { theme.header() } else { theme.text() })))
        .collect();
    lines.push(Line::from(""));
    // Label, value and description on one line where they fit; the value keeps its room first.
    let room = width.saturating_sub(4) as usize;
    let value_room = 34.min(room.saturating_sub(18)).max(8);
    for (i, (spec, value)) in form.fields.iter().enumerate() {
        let mark = if spec.required { "*" } else { " " };
        let cursor = if i == form.focus { "▏" } else { "" };
        let shown = if spec.kind == SECRET_KIND {
            let dots = "•".repeat(value.chars().count());
            format!("{dots}{cursor}")
        } else if spec.options.is_empty() && spec.kind != "boolean" {
            // The end of a long value stays visible while typing.
            let chars: Vec<char> = value.chars().collect();
            let keep = value_room.saturating_sub(1);
            let tail: String = chars[chars.len().saturating_sub(keep)..].iter().collect();
            format!("{tail}{cursor}")
        } else {
            format!("◂ {value} ▸")
        };
        let style = if i == form.focus { theme.selected() } else { theme.text() };
        let used = 18 + value_room + 2;
        let description = crate::views::trunc(&spec.description, room.saturating_sub(used));
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}{:<16} ", spec.name), Style::default().fg(theme.accent)),
            Span::styled(format!("{shown:<value_room$}"), style),
            Span::styled(format!("  {description}"), theme.dim()),
        ]));
    }
    lines.push(Line::from(""));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.level(Level::Crit))));
    }
    lines.push(Line::from(Span::styled(
        "tab/↑↓ field · ←/→ choose · enter continue · esc cancel · * required",
        theme.dim(),
    )));
    // Header and error lines may wrap on a narrow terminal: leave room for that.
    let inner = width.saturating_sub(2).max(1) as usize;
    let wrapped: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let r = centered(area, width, wrapped as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(popup_block(theme, form.title(), theme.popup_border)),
        r,
    );
}
