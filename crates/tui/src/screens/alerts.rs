//! The Alerts screen: what the clouds' own alerting (`CloudWatch` alarms, Azure Monitor fired
//! alerts, Cloud Monitoring incidents) and GitHub's security alerts say is open now, worst
//! first, then the alert rules that would stay quiet in an outage (disabled, or telling nobody),
//! production first. Enter shows the whole alert or rule.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Cell;

use super::ScreenUi;
use crate::app::{AppState, Effect, Popup, Row};
use crate::model::{Alert, AlertKind, AlertRule, Level, Tier, human_duration};
use crate::screen::{Action, Screen};
use crate::theme::Theme;
use crate::views::lists::{Col, fitted_table, widest};
use crate::views::{ago, level_span, trunc};

pub const UI: ScreenUi = ScreenUi { screen: Screen::Alerts, render, rows, open, act };

/// Worst first: firing before insufficient data before acknowledged, then severity, then the
/// oldest.
fn rows(state: &AppState) -> Vec<Row> {
    let alerts = &state.estate.alerts;
    let filter = state.lists[Screen::Alerts.index()].filter.to_lowercase();
    let keep = |a: &Alert| {
        filter.is_empty()
            || [
                a.name.as_str(),
                &a.source,
                &a.resource,
                &a.environment,
                a.severity.label(),
                a.state.label(),
                a.provider.label(),
            ]
            .iter()
            .any(|h| h.to_lowercase().contains(&filter))
    };
    let mut idx: Vec<usize> = (0..alerts.len()).filter(|i| keep(&alerts[*i])).collect();
    idx.sort_by_key(|i| {
        let a = &alerts[*i];
        (a.state, std::cmp::Reverse(a.severity), a.kind, a.since, a.id.clone())
    });
    let mut rows: Vec<Row> = idx.into_iter().map(Row::Alert).collect();
    let rules = &state.estate.alert_rules;
    let keep_rule = |r: &AlertRule| {
        filter.is_empty()
            || [r.name.as_str(), &r.source, &r.environment, r.problem().unwrap_or_default(), "rule"]
                .iter()
                .any(|h| h.to_lowercase().contains(&filter))
    };
    let mut quiet: Vec<usize> =
        (0..rules.len()).filter(|i| rules[*i].problem().is_some() && keep_rule(&rules[*i])).collect();
    // Production first: its quiet rules are the ones that page nobody in an outage.
    quiet.sort_by_key(|i| {
        (std::cmp::Reverse(crate::actions::tier_of(&state.estate, &rules[*i].environment)), rules[*i].name.clone())
    });
    rows.extend(quiet.into_iter().map(Row::AlertRule));
    rows
}

/// "disabled" or "notifies nobody", shown where an alert's state is.
fn rule_state(r: &AlertRule) -> &'static str {
    if r.enabled { "notifies nobody" } else { "disabled" }
}

fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let alerts = &state.estate.alerts;
    let firing = alerts.iter().filter(|a| a.is_firing()).count();
    let rules = &state.estate.alert_rules;
    let quiet = rules.iter().filter(|r| r.problem().is_some()).count();
    let title = if rules.is_empty() {
        format!("Alerts ({firing} firing, {} open)", alerts.len())
    } else {
        format!("Alerts ({firing} firing, {} open) · {} rules, {quiet} quiet", alerts.len(), rules.len())
    };
    let cols = [
        Col::fixed("Sev", 10, 0),
        Col::fill("Alert", widest("Alert", alerts.iter().map(|a| a.name.as_str())).min(40), 0),
        Col::fixed("Env", widest("Env", alerts.iter().map(|a| a.environment.as_str())), 1),
        Col::fixed("State", 17, 0),
        Col::fixed("Since", 8, 2),
        Col::fixed("Source", widest("Source", alerts.iter().map(|a| a.source.as_str())), 3),
        Col::fixed("Resource", widest("Resource", alerts.iter().map(|a| a.resource.as_str())).min(32), 4),
    ];
    fitted_table(state, theme, frame, area, &title, &cols, |row| {
        if let Row::AlertRule(i) = row {
            let Some(r) = rules.get(i) else { return Vec::new() };
            // Quiet in production is what pages nobody in an outage: a warning; elsewhere, a note.
            let level = if crate::actions::tier_of(&state.estate, &r.environment) == Tier::Prod {
                Level::Warn
            } else {
                Level::Unknown
            };
            return vec![
                Cell::from(level_span(theme, level, "rule")),
                Cell::from(r.name.clone()),
                Cell::from(if r.environment.is_empty() { "—".to_string() } else { r.environment.clone() }),
                Cell::from(level_span(theme, level, rule_state(r))),
                Cell::from("—"),
                Cell::from(r.source.clone()),
                Cell::from("—"),
            ];
        }
        let Row::Alert(i) = row else { return Vec::new() };
        let Some(a) = alerts.get(i) else { return Vec::new() };
        // A silence in force says so (and until when); the detail has the acknowledgement too.
        let state_text = match (&a.acked_by, a.state, a.silenced_until.filter(|u| *u > state.now)) {
            (_, _, Some(until)) => format!("silent to {}", until.format("%H:%M")),
            (Some(who), crate::model::AlertState::Acknowledged, None) => format!("ack by {}", trunc(who, 9)),
            _ => a.state.label().to_string(),
        };
        vec![
            Cell::from(level_span(theme, a.severity.level(), a.severity.label())),
            Cell::from(a.name.clone()),
            Cell::from(if a.environment.is_empty() { "—".to_string() } else { a.environment.clone() }),
            Cell::from(level_span(theme, a.level(), state_text)),
            Cell::from(ago(state, a.since).replace(" ago", "")),
            Cell::from(a.source.clone()),
            Cell::from(trunc(&a.resource, 32)),
        ]
    });
    // The screen's key hints on the list's bottom border, as the Logs screen has them.
    let hint = format!(" {} ", crate::views::hint_line(state, Screen::Alerts));
    let width = (hint.chars().count() as u16).min(area.width.saturating_sub(2));
    if area.height >= 3 && width > 2 {
        let line = Rect { x: area.x + 1, y: area.y + area.height - 1, width, height: 1 };
        frame.render_widget(ratatui::widgets::Paragraph::new(ratatui::text::Span::styled(hint, theme.dim())), line);
    }
}

/// The whole alert, nothing cut.
fn open(state: &mut AppState) -> Vec<Effect> {
    let row = rows(state).get(state.list().selected).copied();
    if let Some(Row::AlertRule(i)) = row {
        return open_rule(state, i);
    }
    let Some(Row::Alert(i)) = row else { return Vec::new() };
    let Some(a) = state.estate.alerts.get(i) else { return Vec::new() };
    let since = match a.since {
        Some(t) => format!("{} ({} ago)", t.format("%Y-%m-%d %H:%M:%S UTC"), human_duration(state.now - t)),
        None => "—".into(),
    };
    let fields = [
        ("alert", a.name.clone()),
        ("severity", a.severity.label().into()),
        ("state", a.state.label().into()),
        ("acknowledged by", a.acked_by.clone().unwrap_or_else(|| "—".into())),
        ("kind", if a.kind == AlertKind::Security { "security" } else { "monitoring" }.into()),
        ("source", format!("{} ({})", a.source, a.provider.label())),
        ("resource", a.resource.clone()),
        ("environment", if a.environment.is_empty() { "—".into() } else { a.environment.clone() }),
        ("since", since),
        ("link", a.link.clone().unwrap_or_else(|| "—".into())),
        (
            "silenced until",
            match a.silenced_until.filter(|u| *u > state.now) {
                Some(u) => format!("{} (in {})", u.format("%Y-%m-%d %H:%M UTC"), human_duration(u - state.now)),
                None => "—".into(),
            },
        ),
        (
            "can acknowledge",
            if a.can_ack { "yes (through the action pipeline)" } else { "no (not from skydeck)" }.into(),
        ),
        (
            "can silence",
            if a.can_silence { "yes, for a set time (through the action pipeline)" } else { "no (not from skydeck)" }
                .into(),
        ),
        ("id", a.id.clone()),
    ];
    let title = format!("Alert · {} · {}", a.source, a.name);
    show(state, title, &fields)
}

fn show(state: &mut AppState, title: String, fields: &[(&str, String)]) -> Vec<Effect> {
    const KEY: usize = 16;
    let room = (state.size.0 as usize).saturating_sub(12 + KEY + 2).max(16);
    let mut lines = Vec::new();
    for (key, value) in fields {
        for (n, part) in crate::views::wrap_text(value, room).into_iter().enumerate() {
            lines.push(format!("{:>KEY$}  {part}", if n == 0 { *key } else { "" }));
        }
    }
    state.popup = Some(Popup::Output { title, lines, scroll: 0, level: Level::Ok });
    state.dirty = true;
    Vec::new()
}

/// A quiet rule: what is wrong and where to mend it.
fn open_rule(state: &mut AppState, i: usize) -> Vec<Effect> {
    let Some(r) = state.estate.alert_rules.get(i).cloned() else { return Vec::new() };
    let fix = match (r.source.as_str(), r.enabled) {
        ("CloudWatch", _) => "enable its actions (aws cloudwatch enable-alarm-actions) or give it an alarm action",
        (_, false) => "enable it where it is defined",
        ("Azure Monitor", true) => "add an action group to it",
        _ => "add a notification channel to it",
    };
    let fields = [
        ("rule", r.name.clone()),
        ("source", format!("{} ({})", r.source, r.provider.label())),
        ("environment", if r.environment.is_empty() { "—".into() } else { r.environment.clone() }),
        ("enabled", if r.enabled { "yes" } else { "no" }.into()),
        ("notifies", if r.notifies { "yes" } else { "nobody" }.into()),
        ("problem", r.problem().map_or_else(|| "none".into(), |p| format!("it {p}"))),
        ("to mend", fix.into()),
        ("link", r.link.clone().unwrap_or_else(|| "—".into())),
        ("id", r.id.clone()),
    ];
    show(state, format!("Alert rule · {} · {}", r.source, r.name), &fields)
}

fn act(_: &mut AppState, _: Action) -> Option<Vec<Effect>> {
    None
}
