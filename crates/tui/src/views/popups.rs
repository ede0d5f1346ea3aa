//! Help, command palette, input, confirmation and message popups.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::actions::Confirmation;
use crate::app::{AppState, Popup};
use crate::keymap::Command;
use crate::model::{Level, Tier};
use crate::screen::HelpRow;
use crate::theme::Theme;

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

pub(super) fn popup_block<'a>(theme: &'a Theme, title: &str, border: ratatui::style::Color) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(Style::default().fg(border))
        .style(Style::default().bg(theme.popup_bg).fg(theme.fg))
        .title(Span::styled(format!(" {title} "), Style::default().fg(border).add_modifier(Modifier::BOLD)))
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect, drawn: &mut super::Drawn) {
    let Some(popup) = &state.popup else { return };
    match popup {
        Popup::Note { prompt, value, .. } => {
            let r = centered(area, 90, 5);
            frame.render_widget(Clear, r);
            let lines = vec![
                Line::from(prompt.clone()),
                Line::from(vec![
                    Span::styled(format!("> {value}"), Style::default().fg(theme.fg_bright)),
                    Span::styled("▏", Style::default().fg(theme.accent)),
                ]),
                Line::from(Span::styled("enter save · esc cancel", theme.dim())),
            ];
            frame.render_widget(Paragraph::new(lines).block(popup_block(theme, "Note", theme.popup_border)), r);
        }
        Popup::Changes { lines } => {
            let mut out: Vec<Line> = lines
                .iter()
                .map(|(at, text)| {
                    Line::from(vec![
                        Span::styled(format!("{} ", at.format("%m-%d %H:%M")), theme.dim()),
                        Span::styled(text.clone(), theme.text()),
                    ])
                })
                .collect();
            if out.is_empty() {
                out.push(Line::from(Span::styled("nothing changed in the last 24 h", theme.dim())));
            }
            out.push(Line::from(Span::styled("any key closes", theme.dim())));
            let r = centered(area, 110, out.len() as u16 + 2);
            frame.render_widget(Clear, r);
            let block =
                popup_block(theme, "What changed in the last 24 h (deploys, rotations, actions)", theme.popup_border);
            frame.render_widget(Paragraph::new(out).block(block), r);
        }
        Popup::Help => drawn.help = Some(help(state, theme, frame, area)),
        Popup::Palette { input, selected } => palette(state, theme, frame, area, input, *selected),
        Popup::Input { prompt, value, .. } => {
            let r = centered(area, 60, 5);
            frame.render_widget(Clear, r);
            let lines = vec![
                Line::from(prompt.clone()),
                Line::from(vec![
                    Span::styled(format!("> {value}"), Style::default().fg(theme.fg_bright)),
                    Span::styled("▏", Style::default().fg(theme.accent)),
                ]),
                Line::from(Span::styled("enter continue · esc cancel", theme.dim())),
            ];
            frame.render_widget(Paragraph::new(lines).block(popup_block(theme, "Input", theme.popup_border)), r);
        }
        Popup::Form { request, fields, focus, error } => {
            let header = format!("{} {}", request.verb, request.target);
            let title = if request.verb == crate::actions::Verb::Dispatch { "Workflow inputs" } else { "Inputs" };
            form(theme, frame, area, title, header, fields, *focus, error.as_deref());
        }
        Popup::PluginForm { plugin, context, fields, focus, error } => {
            let on = context.get("name").or_else(|| context.get("id")).cloned().unwrap_or_default();
            let header = format!("{plugin} on {on}");
            form(theme, frame, area, "Plugin inputs", header, fields, *focus, error.as_deref());
        }
        Popup::Action(form) => super::forms::render(state, theme, frame, area, form),
        Popup::PluginConfirm { run, input, error } => {
            let name = crate::app::plugins::plugin_confirmation_name(state, run);
            let border = if run.dangerous { theme.danger } else { theme.popup_border };
            let width = 100.min(area.width.saturating_sub(2));
            let mut lines = vec![
                Line::from(vec![
                    Span::styled(
                        format!("{} ", run.plugin),
                        Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(
                        run.target_name.clone(),
                        Style::default().fg(theme.accent).add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(
                        if run.environment.is_empty() { String::new() } else { format!("  in {}", run.environment) },
                        theme.dim(),
                    ),
                ]),
                Line::from(""),
            ];
            // What to press comes first: on a small terminal the command line is cut, not this.
            match &name {
                None => lines.push(Line::from(Span::styled(
                    "y run · n/esc cancel",
                    Style::default().fg(theme.warn).add_modifier(Modifier::BOLD),
                ))),
                Some(name) => {
                    lines.push(Line::from(Span::styled(
                        format!("This is PRODUCTION. Type '{name}' and press enter to run, esc to cancel:"),
                        Style::default().fg(theme.danger).add_modifier(Modifier::BOLD),
                    )));
                    lines.push(Line::from(vec![
                        Span::styled(format!("> {input}"), Style::default().fg(theme.fg_bright)),
                        Span::styled("▏", Style::default().fg(theme.accent)),
                    ]));
                }
            }
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(e.clone(), theme.level(Level::Crit))));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled("It runs exactly these arguments, without a shell:", theme.header())));
            // One argument per numbered line (a script's own lines below it), so where each
            // argument begins and ends is plain; control characters are shown escaped.
            let room = width.saturating_sub(8).max(10) as usize;
            for (i, arg) in run.argv.iter().enumerate() {
                let mut first = true;
                for text in arg.trim_end_matches('\n').split('\n') {
                    let chars: Vec<char> = crate::plugins::printable(text).chars().collect();
                    for chunk in chars.chunks(room) {
                        let number = if first { format!("{i:>3}  ") } else { "     ".to_string() };
                        first = false;
                        lines.push(Line::from(vec![
                            Span::styled(number, theme.dim()),
                            Span::styled(chunk.iter().collect::<String>(), theme.text()),
                        ]));
                    }
                    if chars.is_empty() {
                        let number = if first { format!("{i:>3}  ") } else { "     ".to_string() };
                        first = false;
                        lines.push(Line::from(vec![
                            Span::styled(number, theme.dim()),
                            Span::styled(if arg.is_empty() { "(empty)" } else { "" }, theme.dim()),
                        ]));
                    }
                }
            }
            lines.push(Line::from(Span::styled(
                format!(" output: {}{}", run.output.as_str(), if run.dangerous { " · marked dangerous" } else { "" }),
                theme.dim(),
            )));
            let r = centered(area, width, lines.len() as u16 + 2);
            frame.render_widget(Clear, r);
            frame.render_widget(Paragraph::new(lines).block(popup_block(theme, "Run plugin", border)), r);
        }
        Popup::Output { title, lines, scroll, level } => {
            let height = area.height.saturating_sub(6).max(3);
            let shown = (height as usize).saturating_sub(3).max(1);
            let mut out: Vec<Line> = lines
                .iter()
                .skip(*scroll)
                .take(shown)
                .map(|l| Line::from(Span::styled(l.clone(), theme.text())))
                .collect();
            let end = (*scroll + shown).min(lines.len());
            out.push(Line::from(""));
            out.push(Line::from(Span::styled(
                format!("lines {}-{end} of {} · j/k pgup/pgdn scroll · any other key closes", scroll + 1, lines.len()),
                theme.dim(),
            )));
            let r = centered(area, area.width.saturating_sub(8), out.len() as u16 + 2);
            frame.render_widget(Clear, r);
            let border = if *level == Level::Ok { theme.popup_border } else { theme.danger };
            frame.render_widget(Paragraph::new(out).block(popup_block(theme, title, border)), r);
        }
        Popup::Confirm { plan, input, error, scroll } => {
            drawn.confirm = Some(confirm(theme, frame, area, plan, input, error.as_deref(), *scroll));
        }
        Popup::Message { title, text, level } => {
            let r = centered(area, 80, 7);
            frame.render_widget(Clear, r);
            let lines = vec![
                Line::from(Span::styled(text.clone(), theme.level(*level))),
                Line::from(""),
                Line::from(Span::styled("any key to close", theme.dim())),
            ];
            frame.render_widget(
                Paragraph::new(lines).wrap(Wrap { trim: false }).block(popup_block(theme, title, theme.popup_border)),
                r,
            );
        }
    }
}

/// The confirmation popup's geometry for a terminal of `size`: the popup, the rows of the plan
/// (wrapped to the popup's width) and how many of them fit above the prompt.
struct ConfirmLayout {
    area: Rect,
    plan: Vec<Line<'static>>,
    footer: Vec<Line<'static>>,
    plan_rows: usize,
    scrollable: bool,
}

/// Everything above the prompt: target, summary, calls, verification.
fn confirm_plan_lines(theme: &Theme, plan: &crate::actions::Plan, width: usize) -> Vec<Line<'static>> {
    let bold = |c| Style::default().fg(c).add_modifier(Modifier::BOLD);
    let mut out = Vec::new();
    let mut push = |text: &str, style: Style, indent: usize| {
        for (i, row) in crate::views::wrap_text(text, width.saturating_sub(indent).max(8)).into_iter().enumerate() {
            let pad = if i == 0 { String::new() } else { " ".repeat(indent) };
            out.push(Line::from(Span::styled(format!("{pad}{row}"), style)));
        }
    };
    push(&format!("{} {}", plan.action(), plan.target_name), bold(theme.accent), 2);
    push(&format!("in {} ({:?}) via {}", plan.environment, plan.tier, plan.source), theme.dim(), 2);
    if let Some(t) = &plan.touches {
        // Risk raised by where the action lands, not by its target: say why.
        push(&format!("touches {} ({:?}): {}", t.environment, plan.tier, t.why), bold(theme.danger), 2);
    }
    push("", theme.text(), 0);
    push(&plan.summary, theme.text(), 0);
    push("", theme.text(), 0);
    push("It will make exactly these calls:", theme.header(), 0);
    for (i, c) in plan.calls.iter().enumerate() {
        push(&format!(" {}. {}", i + 1, c.description), Style::default().fg(theme.fg), 4);
        push(&format!("    {}", c.call), theme.dim(), 4);
    }
    push(&format!(" then verify: {}", plan.verification), theme.dim(), 4);
    out
}

fn confirm_layout(
    theme: &Theme,
    area: Rect,
    plan: &crate::actions::Plan,
    input: &str,
    error: Option<&str>,
) -> ConfirmLayout {
    // As wide as the terminal allows, up to a readable 120 columns.
    let width = area.width.saturating_sub(4).clamp(area.width.min(20), 120);
    let inner = width.saturating_sub(2) as usize;
    let prod = plan.tier == Tier::Prod;
    let mut footer = vec![Line::from("")];
    let wrapped = |text: &str, style: Style, footer: &mut Vec<Line<'static>>| {
        for row in crate::views::wrap_text(text, inner.max(8)) {
            footer.push(Line::from(Span::styled(row, style)));
        }
    };
    match plan.confirmation() {
        Confirmation::YesNo => wrapped(
            "y confirm · n/esc cancel",
            Style::default().fg(theme.warn).add_modifier(Modifier::BOLD),
            &mut footer,
        ),
        Confirmation::TypeName(name) => {
            let text = format!(
                "This is {}. Type '{name}' and press enter to confirm, esc to cancel:",
                if prod { "PRODUCTION" } else { "high risk" }
            );
            wrapped(&text, Style::default().fg(theme.danger).add_modifier(Modifier::BOLD), &mut footer);
            // The end of what was typed stays in view, however long it is.
            let room = inner.saturating_sub(3).max(1);
            let typed: Vec<char> = input.chars().collect();
            let shown: String = typed[typed.len().saturating_sub(room)..].iter().collect();
            footer.push(Line::from(vec![
                Span::styled(format!("> {shown}"), Style::default().fg(theme.fg_bright)),
                Span::styled("▏", Style::default().fg(theme.accent)),
            ]));
        }
    }
    if let Some(e) = error {
        wrapped(e, theme.level(Level::Crit), &mut footer);
    }
    let plan_lines = confirm_plan_lines(theme, plan, inner);
    let max_inner = area.height.saturating_sub(4) as usize;
    // The prompt, the input and the error always fit; the plan gets what is left, less one
    // line that says it goes on and how to scroll it.
    let room = max_inner.saturating_sub(footer.len());
    let scrollable = plan_lines.len() > room;
    let plan_rows = if scrollable { room.saturating_sub(1) } else { plan_lines.len() };
    let height = (plan_rows + usize::from(scrollable) + footer.len() + 2) as u16;
    ConfirmLayout { area: centered(area, width, height), plan: plan_lines, footer, plan_rows, scrollable }
}

fn confirm(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    plan: &crate::actions::Plan,
    input: &str,
    error: Option<&str>,
    scroll: usize,
) -> super::ScrollGeometry {
    let border = if plan.tier == Tier::Prod { theme.danger } else { theme.popup_border };
    let ConfirmLayout { area: r, plan: plan_lines, footer, plan_rows, scrollable } =
        confirm_layout(theme, area, plan, input, error);
    let total = plan_lines.len();
    let scroll = scroll.min(total.saturating_sub(plan_rows));
    let mut lines: Vec<Line> = plan_lines.into_iter().skip(scroll).take(plan_rows).collect();
    if scrollable {
        // Right under the plan, above the prompt.
        let more = if scroll + plan_rows < total { "▼ more below" } else { "end of the plan" };
        let hint =
            format!("plan lines {}-{} of {total} · {more} · ↑/↓ PgUp/PgDn scroll", scroll + 1, scroll + plan_rows);
        lines.push(Line::from(Span::styled(
            crate::views::trunc(&hint, r.width.saturating_sub(2) as usize),
            theme.dim(),
        )));
    }
    lines.extend(footer);
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(popup_block(theme, "Confirm action", border)), r);
    super::ScrollGeometry { max: total.saturating_sub(plan_rows), page: plan_rows.max(1) }
}

#[allow(clippy::too_many_arguments)]
fn form(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    header: String,
    fields: &[(crate::actions::InputSpec, String)],
    focus: usize,
    error: Option<&str>,
) {
    let mut lines = vec![Line::from(Span::styled(header, theme.header())), Line::from("")];
    for (i, (spec, value)) in fields.iter().enumerate() {
        let mark = if spec.required { "*" } else { " " };
        let shown = if spec.options.is_empty() && spec.kind != "boolean" {
            format!("{value}{}", if i == focus { "▏" } else { "" })
        } else {
            format!("◂ {value} ▸")
        };
        let style = if i == focus { theme.selected() } else { theme.text() };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}{:<16} ", spec.name), Style::default().fg(theme.accent)),
            Span::styled(format!("{shown:<30}"), style),
            Span::styled(format!("  {}", spec.description), theme.dim()),
        ]));
    }
    lines.push(Line::from(""));
    if let Some(e) = error {
        lines.push(Line::from(Span::styled(e.to_string(), theme.level(Level::Crit))));
    }
    lines.push(Line::from(Span::styled(
        "tab/↑↓ field · ←/→ choose · enter continue · esc cancel · * required",
        theme.dim(),
    )));
    let r = centered(area, 96, lines.len() as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(popup_block(theme, title, theme.popup_border)), r);
}

/// The `?` help of the current screen, from its `ScreenSpec`: its verbs and own keys, its
/// plugins, the keys that work everywhere and the screens. Taller than the terminal, it scrolls.
fn help(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) -> super::ScrollGeometry {
    let km = &state.keymap;
    let screen = state.screen;
    let row = |keys: String, what: &str| {
        Line::from(vec![
            Span::styled(format!("{keys:>16}  "), Style::default().fg(theme.accent)),
            Span::styled(what.to_string(), theme.text()),
        ])
    };
    let mut lines = vec![Line::from(Span::styled(format!("{} screen", screen.title()), theme.header()))];
    let verbs = screen.verbs();
    if verbs.is_empty() {
        lines.push(Line::from(Span::styled("  (no actions on this screen)", theme.dim())));
    }
    for verb in verbs {
        let c = Command::Act(*verb);
        lines.push(row(km.label(c), c.description()));
    }
    for help_row in screen.spec().help {
        match help_row {
            HelpRow::Keys { actions, label, text } => {
                let keys = label.map_or_else(
                    || {
                        let labels: Vec<String> = actions
                            .iter()
                            .filter_map(|a| screen.binding_of(*a))
                            .map(super::super::screen::Binding::label)
                            .collect();
                        labels.join(" ")
                    },
                    String::from,
                );
                lines.push(row(keys, text));
            }
            HelpRow::Command(c, text) => lines.push(row(km.label(*c), text)),
        }
    }
    let plugins = crate::app::plugins_here(state);
    if !plugins.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("Plugins", theme.header())));
        for p in plugins {
            let mut what = if p.description.is_empty() { p.name.clone() } else { p.description.clone() };
            // Where it applies, unless the description says so already.
            if let Some(label) = p.item_label()
                && !what.to_lowercase().contains(&label.to_lowercase())
            {
                what = format!("{what} ({label})");
            }
            lines.push(row(p.key.to_string(), &crate::views::trunc(&what, 70)));
        }
    }
    let everywhere: Vec<(String, &str)> = [
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::Open,
        Command::Back,
        Command::Filter,
        Command::Palette,
        Command::NextScreen,
        Command::PrevScreen,
        Command::Refresh,
        Command::Help,
        Command::Quit,
    ]
    .into_iter()
    .map(|c| (km.label(c), c.description()))
    .collect();
    // Everything on one page: when the screen's keys and plugins leave too little room, the
    // keys that work everywhere go two to a line.
    // Every screen with its key, wrapped to the popup rather than cut at its edge.
    let screens: Vec<String> = crate::app::Screen::ALL.iter().map(|s| format!("{} {}", s.key(), s.title())).collect();
    let room = (area.width.saturating_sub(4).min(88) as usize).saturating_sub(18).max(20);
    let mut screen_rows: Vec<String> = Vec::new();
    for name in screens {
        match screen_rows.last_mut() {
            Some(last) if last.chars().count() + 3 + name.chars().count() <= room => {
                last.push_str(" · ");
                last.push_str(&name);
            }
            _ => screen_rows.push(name),
        }
    }
    let height = lines.len() + 2 + everywhere.len() + screen_rows.len() + 3 + 2; // + headings, footer, borders
    let fits = height <= area.height.saturating_sub(2) as usize;
    // Short of room, blank lines and the mouse line go, and the footer moves into the border,
    // so the screens list still shows at 80x24.
    let paired = height - everywhere.len() + everywhere.len().div_ceil(2);
    let compact = paired > area.height.saturating_sub(2) as usize;
    if !compact {
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled("Everywhere", theme.header())));
    if fits {
        for (keys, what) in &everywhere {
            lines.push(row(keys.clone(), what));
        }
    } else {
        for pair in everywhere.chunks(2) {
            let mut spans = Vec::new();
            for (keys, what) in pair {
                spans.push(Span::styled(format!("{keys:>16}  "), Style::default().fg(theme.accent)));
                spans.push(Span::styled(format!("{:<25}", crate::views::trunc(what, 24)), theme.text()));
            }
            lines.push(Line::from(spans));
        }
    }
    for (i, part) in screen_rows.iter().enumerate() {
        lines.push(row(if i == 0 { crate::screen::jump_keys_label() } else { String::new() }, part));
    }
    let mut block = popup_block(theme, "Help", theme.popup_border);
    let mut geometry = super::ScrollGeometry::default();
    let r = if compact {
        // Still taller than the terminal (many plugins): a window of it, scrolled by update.
        let room = area.height.saturating_sub(2).max(1) as usize;
        if lines.len() > room {
            let max = lines.len() - room;
            let scroll = state.help_scroll.min(max);
            geometry = super::ScrollGeometry { max, page: room };
            let more = if scroll < max { "↓ more" } else { "end" };
            let hint = format!(
                " {}-{} of {} · {more} · ↑/↓ pgup/pgdn scroll · any other key closes this help ",
                scroll + 1,
                scroll + room,
                lines.len()
            );
            block = block.title_bottom(Span::styled(hint, theme.dim()));
            lines = lines.into_iter().skip(scroll).take(room).collect();
        } else {
            block = block.title_bottom(Span::styled(" any key closes this help ", theme.dim()));
        }
        let r = centered(area, 90, lines.len() as u16 + 2);
        // The whole height of the terminal, if that is what it takes.
        let h = (lines.len() as u16 + 2).min(area.height);
        Rect { y: area.y + (area.height - h) / 2, height: h, ..r }
    } else {
        lines.push(row("mouse".into(), "wheel scrolls, click selects a row or a tab"));
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("any key closes this help", theme.dim())));
        centered(area, 90, lines.len() as u16 + 2)
    };
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(block), r);
    geometry
}

fn palette(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect, input: &str, selected: usize) {
    let candidates = crate::app::palette_candidates(state, input);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!(":{input}"), Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD)),
        Span::styled("▏", Style::default().fg(theme.accent)),
    ])];
    for (i, c) in candidates.iter().take(12).enumerate() {
        let style = if i == selected { theme.selected() } else { theme.text() };
        lines.push(Line::from(Span::styled(format!(" {c}"), style)));
    }
    if candidates.is_empty() {
        lines.push(Line::from(Span::styled(" no match", theme.dim())));
    }
    lines.push(Line::from(Span::styled("tab complete · ↑/↓ choose · enter run · esc close", theme.dim())));
    let r = Rect { y: area.y + 2, ..centered(area, 60, lines.len() as u16 + 2) };
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(popup_block(theme, "Command", theme.popup_border)), r);
}
