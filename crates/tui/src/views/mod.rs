//! Pure rendering: `render(&AppState, &Theme, frame)`, no I/O. One module per screen.

mod first_run;
mod forms;
pub(crate) mod health;
pub(crate) mod incident;
pub(crate) mod lists;
pub(crate) mod logs;
pub(crate) mod overview;
mod popups;
pub(crate) mod runbook;
pub(crate) mod runs;

pub use runs::status_text as status_label;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

pub use crate::app::layout::{Drawn, ListGeometry, ScrollGeometry};
use crate::app::{AppState, Screen, rows};
use crate::model::{Level, SourceState};
use crate::theme::Theme;

pub struct Areas {
    pub tabs: Rect,
    pub body: Rect,
    pub message: Rect,
    pub status: Rect,
}

/// The frame layout, shared by rendering and mouse handling.
pub fn areas(size: (u16, u16)) -> Areas {
    let (w, h) = size;
    let h = h.max(4);
    Areas {
        tabs: Rect::new(0, 0, w, 1),
        body: Rect::new(0, 1, w, h - 3),
        message: Rect::new(0, h - 2, w, 1),
        status: Rect::new(0, h - 1, w, 1),
    }
}

/// The table part of a screen's body (some screens show a detail pane below it), as its
/// `ScreenSpec::list` says.
pub fn table_area(screen: Screen, body: Rect) -> Rect {
    let (y, height) = screen.list_rows((body.y, body.height));
    Rect { y, height, ..body }
}

pub use crate::screen::RUNS_PANEL;

/// Rows visible in a screen's table: borders and the header line take three.
pub fn list_height(screen: Screen, size: (u16, u16)) -> usize {
    screen.list_height(size)
}

const BRAND: &str = " skydeck ";

/// Narrow terminals get short tab names, except for the active tab; every tab keeps letters
/// that say which screen it is.
fn tab_label(s: Screen, active: Screen, width: u16) -> String {
    if width < 100 && s != active {
        format!(" {}{}", s.key(), s.short_title())
    } else if width < 140 && s != active {
        format!(" {} {} ", s.key(), s.short_title())
    } else {
        format!(" {} {} ", s.key(), s.title())
    }
}

/// The columns each tab covers on the top line, left to right.
fn tab_spans(active: Screen, width: u16) -> Vec<(u16, u16, Screen)> {
    let mut x = BRAND.chars().count() as u16 + 1;
    let mut out = Vec::new();
    for s in &Screen::ALL {
        let w = tab_label(*s, active, width).chars().count() as u16;
        out.push((x, x + w, *s));
        x += w;
    }
    out
}

/// A screen's hint line (its `ScreenSpec::hint`), with the keys as they are bound now.
pub(crate) fn hint_line(state: &AppState, screen: Screen) -> String {
    use crate::screen::Hint;
    let km = &state.keymap;
    let parts: Vec<String> = screen
        .spec()
        .hint
        .iter()
        .map(|h| match h {
            Hint::Command(c, word) => format!("{} {word}", km.label(*c)),
            Hint::Key(action, word) => {
                format!("{} {word}", screen.binding_of(*action).map(super::screen::Binding::label).unwrap_or_default())
            }
            Hint::Verbs(verbs, word) => {
                let keys: Vec<String> = verbs.iter().map(|v| km.label(crate::keymap::Command::Act(*v))).collect();
                format!("{} {word}", keys.join("/"))
            }
        })
        .collect();
    parts.join(" · ")
}

/// Draws a frame; the geometry of what was drawn goes back to `update` (`Msg::Drawn`).
pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame) {
    let _ = draw(state, theme, frame);
}

/// Draws a frame and returns its geometry: the tabs, the list's rows, the scroll range of a
/// confirmation or the help. `update` hit-tests clicks and pages with it.
pub fn draw(state: &AppState, theme: &Theme, frame: &mut Frame) -> Drawn {
    let area = frame.area();
    let size = (area.width, area.height);
    frame.render_widget(Block::default().style(Style::default().bg(theme.bg).fg(theme.fg)), area);
    let a = areas(size);
    let mut drawn = Drawn { size, screen: state.screen, ..Drawn::default() };
    if state.first_run {
        first_run::render(state, theme, frame, area);
        return drawn;
    }
    render_tabs(state, theme, frame, a.tabs);
    (crate::screens::ui(state.screen).render)(state, theme, frame, a.body);
    render_message(state, theme, frame, a.message);
    render_status(state, theme, frame, a.status);
    drawn.tabs = tab_spans(state.screen, area.width).into_iter().map(|(from, to, s)| (a.tabs.y, from, to, s)).collect();
    let list = table_area(state.screen, a.body);
    let first = list.y + 1 + state.screen.spec().list_header;
    drawn.list = Some(ListGeometry {
        first_row: first,
        rows: (list.y + list.height.saturating_sub(1)).saturating_sub(first),
        offset: state.list().offset,
    });
    popups::render(state, theme, frame, area, &mut drawn);
    scrub(frame.buffer_mut());
    drawn
}

/// The last line of defence against terminal escape injection: whatever a widget drew, no cell
/// carries a control character to the terminal (remote text is cleaned earlier, at the
/// provider boundary; this catches anything that did not come through one).
fn scrub(buffer: &mut ratatui::buffer::Buffer) {
    for cell in &mut buffer.content {
        if !crate::text::is_clean(cell.symbol()) {
            let clean = crate::text::for_terminal(cell.symbol()).into_owned();
            cell.set_symbol(if clean.is_empty() { " " } else { &clean });
        }
    }
}

fn render_tabs(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut spans = vec![
        Span::styled(BRAND, Style::default().fg(theme.accent).add_modifier(Modifier::BOLD)),
        Span::styled("│", Style::default().fg(theme.border)),
    ];
    for s in &Screen::ALL {
        let label = tab_label(*s, state.screen, area.width);
        if *s == state.screen {
            spans.push(Span::styled(
                label,
                Style::default().fg(theme.tab_active).add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ));
        } else {
            spans.push(Span::styled(label, Style::default().fg(theme.tab_inactive)));
        }
    }
    // An open incident is visible from every screen, with its first-response timer.
    if let Some(i) = &state.incident {
        let (banner, on_time) = i.banner(state.now);
        let level = if on_time { Level::Warn } else { Level::Crit };
        spans.push(Span::styled(format!(" ✖ {banner} "), theme.level(level).add_modifier(Modifier::REVERSED)));
    }
    if state.read_only {
        spans.push(Span::styled(
            " READ-ONLY ",
            Style::default().fg(theme.warn).add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_message(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = if state.editing_filter {
        Line::from(vec![
            Span::styled(" /", Style::default().fg(theme.accent).add_modifier(Modifier::BOLD)),
            Span::styled(state.list().filter.clone(), Style::default().fg(theme.fg_bright)),
            Span::styled("▏", Style::default().fg(theme.accent)),
            Span::styled("  enter keep · esc clear", theme.dim()),
        ])
    } else if let Some((text, level)) = &state.last_message {
        Line::from(Span::styled(format!(" {text}"), theme.level(*level)))
    } else {
        let km = &state.keymap;
        use crate::keymap::Command::{Act, Filter, Help, Palette, Quit};
        let mut hints = vec![
            format!("{} help", km.label(Help)),
            format!("{} command", km.label(Palette)),
            format!("{} filter", km.label(Filter)),
            "1-9 screens".to_string(),
        ];
        let quit = format!("{} quit", km.label(Quit).split('/').next().unwrap_or("q"));
        // Verbs act on the selected row: a screen with none (no incident open) offers none.
        // They go in while they fit, so `quit` is never cut off (`?` lists them all).
        if crate::app::rows::row_count(state, state.screen) > 0 {
            let width = |h: &[String]| h.iter().map(|x| x.chars().count() + 3).sum::<usize>() + quit.len() + 1;
            for verb in state.screen.verbs() {
                let hint = format!("{} {verb}", km.label(Act(*verb)));
                hints.push(hint);
                if width(&hints) > usize::from(area.width) {
                    hints.pop();
                    break;
                }
            }
        }
        hints.push(quit);
        Line::from(Span::styled(format!(" {}", hints.join(" · ")), theme.dim()))
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn render_status(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let bar = Style::default().bg(theme.status_bar_bg).fg(theme.status_bar_fg);
    let mut spans = Vec::new();
    for slot in &state.sources {
        let s = &slot.source;
        let stale = state.is_stale(slot);
        let (level, word) = match s.state {
            SourceState::Loading => (Level::Unknown, "loading".to_string()),
            SourceState::Failed => (Level::Crit, "failed".to_string()),
            _ if stale => (
                Level::Warn,
                format!("stale {}", s.fetched_at.map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_default()),
            ),
            _ => (Level::Ok, s.fetched_at.map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_default()),
        };
        spans.push(Span::styled(format!(" {} ", s.name), bar.add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(format!("{} {word}", level.symbol()), theme.level(level).bg(theme.status_bar_bg)));
        if let Some(e) = &s.error {
            spans.push(Span::styled(format!(": {e}"), theme.level(Level::Crit).bg(theme.status_bar_bg)));
        } else if let Some(note) = &s.data.source_note {
            spans.push(Span::styled(format!(" · {note}"), bar));
        }
        spans.push(Span::styled(" │", bar));
    }
    if state.actions_in_flight > 0 {
        spans.push(Span::styled(
            format!(" ⟳ {} action(s) running │", state.actions_in_flight),
            theme.level(Level::Warn).bg(theme.status_bar_bg),
        ));
    }
    if let Some(team) = &state.team {
        let level = if team.online { Level::Ok } else { Level::Warn };
        let word = match (team.online, &team.error) {
            (true, _) => "team",
            (false, None) => "team connecting",
            (false, Some(_)) => "team offline",
        };
        let pending = if team.pending > 0 { format!(" ({} to send)", team.pending) } else { String::new() };
        spans.push(Span::styled(
            format!(" {} {word}{pending} │", level.symbol()),
            theme.level(level).bg(theme.status_bar_bg),
        ));
    }
    if !state.warnings.is_empty() {
        spans.push(Span::styled(
            format!(" ▲ {} config warning(s) │", state.warnings.len()),
            theme.level(Level::Warn).bg(theme.status_bar_bg),
        ));
    }
    let right = format!("{} UTC ", state.now.format("%Y-%m-%d %H:%M"));
    let used: usize = spans.iter().map(ratatui::prelude::Span::width).sum();
    let pad = (area.width as usize).saturating_sub(used + right.len());
    spans.push(Span::styled(" ".repeat(pad), bar));
    spans.push(Span::styled(right, bar));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// The filter the rows on screen went through: none in a run's detail (the Runs filter picks
/// runs, not jobs).
pub(crate) fn list_filter(state: &AppState) -> &str {
    if state.screen == Screen::Runs && state.run_detail.is_some() { "" } else { &state.list().filter }
}

/// A bordered block titled with the screen name, row count and active filter.
pub(crate) fn screen_block<'a>(state: &AppState, theme: &'a Theme, title: &str, count: usize) -> Block<'a> {
    let filter = list_filter(state);
    let mut title_spans =
        vec![Span::styled(format!(" {title} "), Style::default().fg(theme.title).add_modifier(Modifier::BOLD))];
    title_spans.push(Span::styled(format!("[{count}] "), theme.dim()));
    // Data from a failed or stale source is still shown, but never as if it were current.
    let stale: Vec<&str> = state
        .sources
        .iter()
        .filter(|s| state.is_stale(s) || s.source.error.is_some())
        .map(|s| s.source.name.as_str())
        .collect();
    if !stale.is_empty() {
        title_spans.push(Span::styled(
            format!("▲ stale: {} ", stale.join(", ")),
            theme.level(Level::Warn).add_modifier(Modifier::BOLD),
        ));
    }
    if !filter.is_empty() {
        title_spans.push(Span::styled(format!("/{filter} "), Style::default().fg(theme.match_highlight)));
    }
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::default().fg(theme.border_focus))
        .title(Line::from(title_spans))
}

pub(crate) fn plain_block<'a>(theme: &'a Theme, title: &str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::default().fg(theme.border))
        .title(Span::styled(format!(" {title} "), Style::default().fg(theme.title)))
}

/// `✔ ok` style cell: symbol and text, coloured by level.
pub(crate) fn level_span(theme: &Theme, level: Level, text: impl Into<String>) -> Span<'static> {
    Span::styled(format!("{} {}", level.symbol(), text.into()), theme.level(level))
}

pub(crate) fn ago(state: &AppState, t: Option<crate::model::Timestamp>) -> String {
    match t {
        Some(t) if t <= state.now => format!("{} ago", crate::model::human_duration(state.now - t)),
        Some(t) => format!("in {}", crate::model::human_duration(t - state.now)),
        None => "—".to_string(),
    }
}

/// Shortens text to `max` columns with an ellipsis.
pub(crate) fn trunc(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Breaks text into rows of at most `width` columns, at spaces where it can and inside a
/// word (a URL, an id) where it must; nothing is dropped.
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let width = width.max(1);
    let mut rows = Vec::new();
    for paragraph in text.split('\n') {
        let mut row = String::new();
        let mut row_width = 0;
        for word in paragraph.split_inclusive(' ') {
            let word_width: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
            let trimmed_width = word_width - usize::from(word.ends_with(' '));
            // A word that fits on a row starts a new one; a longer one (a URL) is cut where
            // the row ends.
            if row_width > 0 && row_width + trimmed_width > width && trimmed_width <= width {
                rows.push(row.trim_end().to_string());
                row = String::new();
                row_width = 0;
            }
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if row_width + w > width && !(c == ' ' && row_width == width) {
                    rows.push(std::mem::take(&mut row));
                    row_width = 0;
                }
                if c == ' ' && row_width == width {
                    continue;
                }
                row.push(c);
                row_width += w;
            }
        }
        rows.push(row.trim_end().to_string());
    }
    rows
}

pub(crate) fn visible_rows(state: &AppState) -> (Vec<crate::app::Row>, usize) {
    let height = list_height(state.screen, state.size);
    if state.screen == crate::app::Screen::Runs && state.run_detail.is_none() {
        // 10^4 runs: only the visible ones become rows.
        let all = crate::app::rows::run_indices(state);
        let start = state.list().offset.min(all.len());
        let end = (start + height).min(all.len());
        return (all[start..end].iter().map(|i| crate::app::Row::Run(*i)).collect(), all.len());
    }
    let all = rows(state, state.screen);
    let total = all.len();
    let start = state.list().offset.min(total);
    let end = (start + height).min(total);
    (all[start..end].to_vec(), total)
}
