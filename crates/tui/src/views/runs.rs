//! Runs: every workflow run, newest first; Enter opens the jobs/steps tree with timings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

use super::lists::table;
use super::{ago, level_span, trunc};
use crate::app::{AppState, Row};
use crate::model::{Conclusion, RunStatus, human_duration, run_level};
use crate::theme::Theme;

pub fn status_text(status: RunStatus, conclusion: Option<Conclusion>) -> String {
    match (status, conclusion) {
        (RunStatus::Completed, Some(c)) => format!("{c:?}").to_lowercase().replace("timedout", "timed out"),
        (RunStatus::InProgress, _) => "running".into(),
        (s, _) => format!("{s:?}").to_lowercase(),
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One line per workflow: durations of its last finished runs as a sparkline (✖ = failed),
/// median and last duration, failures. Most recently active workflows first.
fn workflow_panel(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    use std::collections::BTreeMap;
    let mut by_workflow: BTreeMap<(&str, &str), Vec<&crate::model::Run>> = BTreeMap::new();
    for r in &state.estate.runs {
        by_workflow.entry((r.repo.as_str(), r.workflow.as_str())).or_default().push(r);
    }
    let mut groups: Vec<_> = by_workflow.into_iter().collect();
    groups.sort_by_key(|(_, runs)| std::cmp::Reverse(runs.iter().map(|r| r.created_at).max()));
    let mut lines = Vec::new();
    for ((repo, workflow), runs) in groups.into_iter().take(area.height.saturating_sub(2) as usize) {
        let done: Vec<_> = runs.iter().filter(|r| r.status == RunStatus::Completed).take(24).collect();
        let secs: Vec<i64> = done.iter().rev().filter_map(|r| r.duration(state.now)).map(|d| d.num_seconds()).collect();
        let min = secs.iter().copied().min().unwrap_or(0);
        let span = (secs.iter().copied().max().unwrap_or(1) - min).max(1);
        let spark: String = done
            .iter()
            .rev()
            .map(|r| match (r.conclusion, r.duration(state.now)) {
                (Some(Conclusion::Failure | Conclusion::TimedOut), _) => '✖',
                (_, Some(d)) => BARS[((d.num_seconds() - min) * 7 / span).clamp(0, 7) as usize],
                _ => ' ',
            })
            .collect();
        let mut sorted = secs.clone();
        sorted.sort_unstable();
        let fmt = |s: &i64| human_duration(chrono::Duration::seconds(*s));
        let median = sorted.get(sorted.len() / 2).map_or_else(|| "—".into(), fmt);
        let last = secs.last().map_or_else(|| "—".into(), fmt);
        let failures = done.iter().filter(|r| r.level() == crate::model::Level::Crit).count();
        lines.push(Line::from(vec![
            Span::styled(format!("{:<34}", trunc(&format!("{repo} · {workflow}"), 33)), theme.text()),
            Span::styled(
                format!("{spark:<24} "),
                Style::default().fg(if failures > 0 { theme.warn } else { theme.ok }),
            ),
            Span::styled(format!("median {median:<6} last {last:<6} "), theme.dim()),
            if failures > 0 {
                level_span(theme, crate::model::Level::Crit, format!("{failures}/{} failed", done.len()))
            } else {
                level_span(theme, crate::model::Level::Ok, format!("{} ok", done.len()))
            },
        ]));
    }
    let block = super::plain_block(theme, "Durations per workflow (oldest → newest, ✖ failed)");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let table_area = super::table_area(crate::app::Screen::Runs, area);
    if table_area.y > area.y {
        workflow_panel(state, theme, frame, Rect { height: table_area.y - area.y, ..area });
    }
    let area = table_area;
    if let Some(id) = &state.run_detail {
        return detail(state, theme, frame, area, id);
    }
    let e = &state.estate;
    use super::lists::{Col, widest};
    let cols = [
        Col::fixed("Status", 12, 0),
        Col::fixed("Repository", widest("Repository", e.runs.iter().map(|r| r.repo.as_str())).min(24), 1),
        Col::fixed("Workflow", widest("Workflow", e.runs.iter().map(|r| r.workflow.as_str())).min(16), 2),
        Col::fill("Title", 8, 5),
        Col::fixed("Branch", 18, 3),
        Col::fixed("SHA", 7, 6),
        Col::fixed("Actor", 12, 8),
        Col::fixed("Started", 9, 4),
        Col::fixed("Duration", 8, 7),
    ];
    super::lists::fitted_table(state, theme, frame, area, "Workflow runs", &cols, |row| {
        let Row::Run(i) = row else { return Vec::new() };
        let r = &e.runs[i];
        let attempt = if r.attempt > 1 { format!(" (#{})", r.attempt) } else { String::new() };
        vec![
            Cell::from(level_span(theme, r.level(), status_text(r.status, r.conclusion))),
            Cell::from(trunc(&r.repo, 24)),
            Cell::from(trunc(&r.workflow, 16)),
            Cell::from(format!("{}{attempt}", r.title)),
            Cell::from(trunc(&r.branch, 18)),
            Cell::from(r.sha.chars().take(7).collect::<String>()),
            Cell::from(trunc(&r.actor, 12)),
            Cell::from(ago(state, r.started_at.or(Some(r.created_at))).replace(" ago", "")),
            Cell::from(r.duration(state.now).map_or_else(|| "—".into(), human_duration)),
        ]
    });
}

fn detail(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect, id: &str) {
    let Some(run) = state.estate.runs.iter().find(|r| r.id == id) else {
        let block = super::plain_block(theme, "Run no longer listed (esc back)");
        frame.render_widget(block, area);
        return;
    };
    let title = format!(
        "{} #{} · {} · {} · {}",
        run.workflow,
        run.run_id,
        run.repo,
        run.branch,
        &run.sha[..run.sha.len().min(7)]
    );
    let widths = [
        Constraint::Min(34),
        Constraint::Length(14),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Min(10),
    ];
    table(state, theme, frame, area, &title, &["Job / step", "Status", "Started", "Duration", ""], &widths, |row| {
        let Row::Job(j, step) = row else { return Vec::new() };
        let job = &run.jobs[j];
        let dur = |a: Option<crate::model::Timestamp>, b: Option<crate::model::Timestamp>| match (a, b) {
            (Some(a), Some(b)) => human_duration(b - a),
            (Some(a), None) => human_duration(state.now - a),
            _ => "—".into(),
        };
        match step {
            None => vec![
                Cell::from(Span::styled(
                    format!("▾ {}", job.name),
                    Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
                )),
                Cell::from(level_span(
                    theme,
                    run_level(job.status, job.conclusion),
                    status_text(job.status, job.conclusion),
                )),
                Cell::from(job.started_at.map_or_else(|| "—".into(), |t| t.format("%H:%M:%S").to_string())),
                Cell::from(dur(job.started_at, job.completed_at)),
                Cell::from(""),
            ],
            Some(s) => {
                let st = &job.steps[s];
                vec![
                    Cell::from(format!("    {}. {}", st.number, st.name)),
                    Cell::from(level_span(
                        theme,
                        run_level(st.status, st.conclusion),
                        status_text(st.status, st.conclusion),
                    )),
                    Cell::from(st.started_at.map_or_else(|| "—".into(), |t| t.format("%H:%M:%S").to_string())),
                    Cell::from(dur(st.started_at, st.completed_at)),
                    Cell::from(""),
                ]
            }
        }
    });
}
