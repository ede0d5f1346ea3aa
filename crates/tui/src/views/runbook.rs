//! Runbook: today's checklist, each automatic item's live verdict with its evidence, manual
//! items ticked with who and when, and the progress.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Wrap};

use super::{level_span, plain_block, table_area, trunc};
use crate::app::{AppState, Row, Screen};
use crate::runbook::{Context, Evaluation, Verdict, evaluate};
use crate::theme::Theme;

fn context<'a>(state: &'a AppState, book: &crate::runbook::Runbook) -> Context<'a> {
    // A runbook's own window wins; else where the shown day's count starts (set at launch).
    let since = book.logs_errors_window.map(|w| state.now - w).or(state.runbook_since);
    Context {
        estate: &state.estate,
        now: state.now,
        // Only lines inside the check's window (the buffer is in time order): a frame must not
        // walk a million lines.
        log_errors: {
            let from = since.unwrap_or(state.now - chrono::Duration::hours(24));
            let start = state.logs.position_at(from);
            state
                .logs
                .range(start, state.logs.len() - start)
                .filter(|l| l.severity == crate::model::Severity::Error)
                .map(|l| (l.at, l.source))
                .collect()
        },
        since,
        failed_sources: state
            .sources
            .iter()
            .filter(|s| s.source.error.is_some())
            .map(|s| s.source.name.clone())
            .collect(),
    }
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(book) = state.runbooks.get(state.runbook_index) else {
        frame.render_widget(Paragraph::new("no runbook loaded").block(plain_block(theme, "Runbook")), area);
        return;
    };
    let ctx = context(state, book);
    let evals: Vec<Option<Evaluation>> = book.items.iter().map(|i| evaluate(i, &ctx)).collect();
    let progress = |key: &str| state.runbook_progress.iter().find(|p| p.item == key);
    let done = book
        .items
        .iter()
        .zip(&evals)
        .filter(|(i, e)| match e {
            Some(e) => e.verdict == Verdict::Pass,
            None => progress(&i.key).is_some_and(|p| p.done),
        })
        .count();
    let failing = evals.iter().flatten().filter(|e| e.verdict == Verdict::Fail).count();
    let title = format!(
        "{} · {} · {done}/{} done · {failing} failing{}",
        book.title,
        state.now.format("%Y-%m-%d"),
        book.items.len(),
        ctx.since.map(|s| format!(" · errors since {}", s.format("%m-%d %H:%M"))).unwrap_or_default()
    );
    let top = table_area(Screen::Runbook, area);
    use super::lists::Col;
    // The verdict is what the runbook is for: it stays at any width; the section goes first.
    let cols = [
        Col::fixed("Status", 10, 0),
        Col::fixed("Section", 18, 3),
        Col::fill("Item", 24, 1),
        Col::fixed("Result", 40, 2),
    ];
    super::lists::fitted_table(state, theme, frame, top, &title, &cols, |row| {
        let Row::RunbookItem(i) = row else { return Vec::new() };
        let item = &book.items[i];
        let (status, result) = match &evals[i] {
            Some(e) => {
                let word = match e.verdict {
                    Verdict::Pass => "pass",
                    Verdict::Fail => "FAIL",
                    Verdict::Unknown => "unknown",
                };
                (level_span(theme, e.verdict.level(), word), Span::styled(trunc(&e.value, 40), theme.dim()))
            }
            None => match progress(&item.key) {
                Some(p) if p.done => (
                    level_span(theme, crate::model::Level::Ok, "ticked"),
                    Span::styled(format!("by {} at {}", p.who, p.at.format("%H:%M")), theme.dim()),
                ),
                _ => {
                    (Span::styled("☐ to do", Style::default().fg(theme.warn)), Span::styled("space ticks", theme.dim()))
                }
            },
        };
        let note = progress(&item.key).and_then(|p| p.note.clone()).map(|n| format!("  ✎ {n}")).unwrap_or_default();
        vec![
            Cell::from(status),
            Cell::from(trunc(&item.section, 18)),
            Cell::from(Line::from(vec![
                Span::styled(item.title.clone(), theme.text()),
                Span::styled(note, theme.dim()),
            ])),
            Cell::from(result),
        ]
    });

    let bottom = Rect { y: top.y + top.height, height: area.height.saturating_sub(top.height), ..area };
    let selected = crate::app::rows(state, Screen::Runbook).get(state.list().selected).copied();
    let mut lines = Vec::new();
    if let Some(Row::RunbookItem(i)) = selected {
        let item = &book.items[i];
        lines.push(Line::from(Span::styled(
            item.title.clone(),
            Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
        )));
        match (&item.check_text, &evals[i]) {
            (Some(check), Some(e)) => {
                lines.push(Line::from(vec![
                    Span::styled("check  ", theme.dim()),
                    Span::styled(check.clone(), Style::default().fg(theme.accent)),
                ]));
                lines.push(Line::from(vec![
                    Span::styled("value  ", theme.dim()),
                    Span::styled(e.value.clone(), theme.text()),
                ]));
                for ev in &e.evidence {
                    lines.push(Line::from(vec![
                        Span::styled("  · ", theme.dim()),
                        Span::styled(ev.clone(), theme.text()),
                    ]));
                }
            }
            _ => lines.push(Line::from(Span::styled("manual item: space ticks it, n adds a note", theme.dim()))),
        }
        if let Some(p) = progress(&item.key) {
            let state_word = if p.done { "ticked" } else { "noted" };
            lines.push(Line::from(Span::styled(
                format!("{state_word} by {} at {} UTC", p.who, p.at.format("%H:%M")),
                theme.dim(),
            )));
            if let Some(n) = &p.note {
                lines.push(Line::from(vec![
                    Span::styled("note   ", theme.dim()),
                    Span::styled(n.clone(), theme.text()),
                ]));
            }
        }
        if let Some(link) = &item.link {
            lines.push(Line::from(Span::styled(format!("enter: go to {link}"), theme.dim())));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(plain_block(theme, "Evidence")), bottom);
}
