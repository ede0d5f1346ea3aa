use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::rows::{row_count, rows};
use super::{AppState, Effect, Msg, NoteTarget, OverviewColumn, Popup, Screen};
use crate::actions::{ActionRequest, Confirmation, Verb, check_confirmation};
use crate::keymap::Command;
use crate::model::{Level, SourceState};
use crate::screen::{Action, When};

/// How long a message stays on the message line before the key hints come back.
pub const MESSAGE_SECONDS: i64 = 5;

/// Applies one message. Returns what the event loop must do (I/O lives there).
pub fn update(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    let expiring = matches!(&msg, Msg::Tick(_) | Msg::Key(_));
    // A key after the message has been up long enough clears it before it is handled (the
    // key may set a new one).
    if matches!(&msg, Msg::Key(k) if k.kind != KeyEventKind::Release) {
        expire_message(state);
    }
    let effects = apply(state, msg);
    if state.last_message.as_ref() != state.message_seen.as_ref().map(|(m, _)| m) {
        state.message_seen = state.last_message.clone().map(|m| (m, state.now));
    } else if expiring {
        expire_message(state);
    }
    effects
}

/// Clears the message line once it has been shown for `MESSAGE_SECONDS`; one redraw.
fn expire_message(state: &mut AppState) {
    if let Some((_, since)) = &state.message_seen
        && state.last_message.is_some()
        && (state.now - *since).num_seconds() >= MESSAGE_SECONDS
    {
        state.last_message = None;
        state.message_seen = None;
        state.dirty = true;
    }
}

fn apply(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => {
            state.dirty = true;
            on_key(state, key)
        }
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(mouse) => on_mouse(state, mouse),
        Msg::Resize(w, h) => {
            state.size = (w, h);
            clamp(state);
            state.dirty = true;
            Vec::new()
        }
        Msg::Source { index, result, at } => {
            state.now = at;
            let Some(slot) = state.sources.get_mut(index) else {
                return Vec::new();
            };
            let mut effects = Vec::new();
            match result {
                Ok(snapshot) => {
                    if slot.source.fetched_at.is_some() && state.incident.is_some() {
                        effects = incident_diffs(&slot.source.data, &snapshot, at)
                            .into_iter()
                            .map(Effect::IncidentEntry)
                            .collect();
                    }
                    let changed = slot.source.data != snapshot || slot.source.state != SourceState::Fresh;
                    slot.source.fetched_at = Some(at);
                    slot.source.error = None;
                    slot.source.state = SourceState::Fresh;
                    if changed {
                        slot.source.data = snapshot;
                        state.merge();
                        follow_dispatched_run(state);
                        clamp(state);
                        state.dirty = true;
                    }
                }
                Err(e) => {
                    // Keep the last good data; only this source's panels go stale.
                    slot.source.state =
                        if slot.source.fetched_at.is_some() { SourceState::Stale } else { SourceState::Failed };
                    slot.source.error = Some(e.to_string());
                    state.dirty = true;
                }
            }
            effects
        }
        Msg::Logs { lines, .. } => {
            if !lines.is_empty() {
                append_logs(state, lines);
            }
            Vec::new()
        }
        Msg::Toast(text) => {
            state.last_message = Some((text, Level::Unknown));
            state.dirty = true;
            Vec::new()
        }
        Msg::FilterStep => {
            if state.log_filter.pending(&state.logs) {
                state.log_filter.step(&state.logs, std::time::Duration::from_millis(8));
                state.dirty |= state.screen == Screen::Logs;
                if !state.log_filter.pending(&state.logs) {
                    apply_log_jump(state);
                    if state.follow_logs {
                        let n = row_count(state, Screen::Logs);
                        state.lists[Screen::Logs.index()].selected = n.saturating_sub(1);
                    }
                    if state.screen == Screen::Logs {
                        clamp(state);
                    }
                }
            }
            Vec::new()
        }
        Msg::Planned(Ok(plan)) => {
            state.dirty = true;
            state.popup = Some(Popup::Confirm { plan: Box::new(plan), input: String::new(), error: None, scroll: 0 });
            Vec::new()
        }
        Msg::Planned(Err(e)) => {
            state.dirty = true;
            message(state, "Cannot do that", e.to_string(), Level::Warn);
            Vec::new()
        }
        Msg::ActionDone(outcome) => {
            state.dirty = true;
            state.actions_in_flight = state.actions_in_flight.saturating_sub(1);
            let what = format!("{} {}", outcome.plan.action(), outcome.plan.target_name);
            let ok = outcome.result.is_ok();
            match outcome.result {
                Ok(done) => state.last_message = Some((format!("✔ {what}: {done}"), Level::Ok)),
                Err(e) => message(state, &format!("{what} failed"), e.to_string(), Level::Crit),
            }
            if ok && matches!(outcome.plan.request.verb, Verb::Dispatch | Verb::Rollback) {
                let p = &outcome.plan.request.params;
                let repo = p.get("repo").cloned().unwrap_or_default();
                let run = state.estate.runs.iter().find(|r| r.id == outcome.plan.request.target);
                let workflow = run.map(|r| r.workflow.clone()).unwrap_or_default();
                let repo = if repo.is_empty() { run.map(|r| r.repo.clone()).unwrap_or_default() } else { repo };
                state.awaiting_run = Some((repo, workflow, state.now));
            }
            // After an approval or a re-run, follow that run live.
            if ok && matches!(outcome.plan.request.verb, Verb::Approve | Verb::Rerun) {
                let target = &outcome.plan.request.target;
                let run = state
                    .estate
                    .approvals
                    .iter()
                    .find(|a| &a.id == target)
                    .map(|a| a.run.clone())
                    .or_else(|| state.estate.runs.iter().any(|r| &r.id == target).then(|| target.clone()));
                if let Some(run) = run {
                    go_to(state, Screen::Runs);
                    state.run_detail = Some(run);
                    state.lists[Screen::Runs.index()].selected = 0;
                    state.lists[Screen::Runs.index()].offset = 0;
                }
            }
            let mut effects = vec![Effect::RefreshAll, Effect::LoadAudit];
            if state.incident.is_some() {
                effects.push(Effect::LoadIncident);
            }
            effects
        }
        Msg::IncidentLoaded(incident) => {
            state.incident = incident;
            state.dirty = true;
            Vec::new()
        }
        Msg::InputsReady { request, result } => {
            state.dirty = true;
            match result {
                Ok(specs) if specs.is_empty() => return vec![Effect::Plan(request)],
                Ok(specs) => {
                    let fields = specs
                        .into_iter()
                        .map(|s| {
                            let value = s.default.clone().or_else(|| s.options.first().cloned()).unwrap_or_default();
                            (s, value)
                        })
                        .collect();
                    state.popup = Some(Popup::Form { request, fields, focus: 0, error: None });
                }
                Err(e) => {
                    let what =
                        if request.verb == Verb::Dispatch { "the workflow's inputs" } else { "the action's inputs" };
                    message(state, &format!("Cannot read {what}"), e.to_string(), Level::Warn);
                }
            }
            Vec::new()
        }
        Msg::OlderLogs { lines, .. } => {
            insert_older_logs(state, lines);
            Vec::new()
        }
        Msg::LogLoaded { target, result } => {
            state.dirty = true;
            match result {
                Ok(lines) if lines.is_empty() => {
                    state.last_message = Some((format!("{target}: the log is empty"), Level::Unknown));
                }
                Ok(lines) => {
                    let source = lines[0].source.clone();
                    let count = lines.len();
                    append_logs(state, lines);
                    state.follow_logs = false;
                    go_to(state, Screen::Logs);
                    state.list_mut().filter = source;
                    refilter_logs(state);
                    // Jump to the first error (the failed step's output) once the scan is done.
                    state.log_jump = Some(super::LogJump::FirstError);
                    let back =
                        if state.log_from_run.is_some() { "esc returns to the run" } else { "esc clears the filter" };
                    state.last_message = Some((format!("{count} log lines loaded; {back}"), Level::Ok));
                }
                Err(e) => message(state, "Log unavailable", e.to_string(), Level::Warn),
            }
            Vec::new()
        }
        Msg::PluginDone(outcome) => super::plugins::plugin_done(state, *outcome),
        Msg::ThemeLoaded { name, .. } => {
            state.theme_name = name;
            state.dirty = true;
            Vec::new()
        }
        Msg::ThemeFailed(why) => {
            state.last_message = Some((why, Level::Warn));
            state.dirty = true;
            Vec::new()
        }
        Msg::Notice(text, level) => {
            state.last_message = Some((text, level));
            state.dirty = true;
            Vec::new()
        }
        Msg::DemoStarted { name, interval_secs } => {
            state.sources.push(super::SourceSlot { source: crate::model::Source::new(name), interval_secs });
            state.first_run = false;
            state.dirty = true;
            Vec::new()
        }
        Msg::TimelineAdded(entry) => {
            if let Some(incident) = &mut state.incident {
                incident.timeline.push(entry);
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::IncidentClosed(id) => {
            if state.incident.as_ref().is_some_and(|i| i.id == id) {
                state.incident = None;
            }
            state.last_message = Some((format!("incident {id} closed"), Level::Ok));
            state.dirty = true;
            Vec::new()
        }
        Msg::IncidentHistory(incidents) => {
            super::forms::history_loaded(state, incidents);
            state.dirty = true;
            Vec::new()
        }
        Msg::Audit(entries) => {
            state.audit = entries;
            if state.screen == Screen::Audit {
                state.lists[Screen::Audit.index()].selected = state.audit.len().saturating_sub(1);
                clamp(state);
            }
            state.dirty = true;
            Vec::new()
        }
        Msg::Drawn(drawn) => {
            // Keys before the geometry was known may have scrolled past the end; the frame
            // showed the end, so bring the value back without drawing again.
            if let (Some(Popup::Confirm { scroll, .. }), Some(g)) = (&mut state.popup, drawn.confirm) {
                *scroll = (*scroll).min(g.max);
            }
            if let Some(g) = drawn.help {
                state.help_scroll = state.help_scroll.min(g.max);
            }
            state.drawn = drawn;
            Vec::new()
        }
        Msg::Team(m) => super::team::apply(state, m),
        Msg::Tick(now) => {
            // The first-response countdown ticks while it runs.
            if state.incident.as_ref().is_some_and(|i| i.first_response_at().is_none()) {
                state.now = now;
                state.dirty = true;
            }
            let before: Vec<bool> = state.sources.iter().map(|s| state.is_stale(s)).collect();
            state.now = now;
            let after: Vec<bool> = state.sources.iter().map(|s| state.is_stale(s)).collect();
            if before != after {
                for (slot, stale) in state.sources.iter_mut().zip(after) {
                    if stale && slot.source.state == SourceState::Fresh {
                        slot.source.state = SourceState::Stale;
                    }
                }
                state.dirty = true;
            }
            Vec::new()
        }
    }
}

/// Opens the run a dispatch started as soon as a poll lists it.
fn follow_dispatched_run(state: &mut AppState) {
    let Some((repo, workflow, since)) = state.awaiting_run.clone() else {
        return;
    };
    let found = state
        .estate
        .runs
        .iter()
        .filter(|r| {
            r.repo == repo
                && (r.workflow == workflow || workflow.is_empty())
                && r.created_at >= since - chrono::Duration::seconds(30)
        })
        .max_by_key(|r| r.created_at)
        .map(|r| r.id.clone());
    if let Some(id) = found {
        state.awaiting_run = None;
        go_to(state, Screen::Runs);
        state.run_detail = Some(id);
        state.lists[Screen::Runs.index()].selected = 0;
        state.lists[Screen::Runs.index()].offset = 0;
        state.last_message = Some(("following the dispatched run".into(), Level::Ok));
    }
}

/// What changed between two snapshots of one source, for the incident timeline: alerts raised
/// and cleared, new deployments, approvals requested and resolved.
pub fn incident_diffs(
    before: &crate::model::Snapshot,
    after: &crate::model::Snapshot,
    at: crate::model::Timestamp,
) -> Vec<crate::incident::Entry> {
    use crate::incident::{Entry, EntryKind};
    let entry = |kind, text: String| Entry { at, kind, who: "skydeck".into(), text };
    let key = |f: &crate::analysis::Finding| (f.category, f.environment.clone(), f.subject.clone());
    let old = crate::analysis::findings(before, at);
    let new = crate::analysis::findings(after, at);
    let mut out = Vec::new();
    for f in new.iter().filter(|f| !old.iter().any(|o| key(o) == key(f))) {
        let text = format!("{} {} {} {}: {}", f.level.symbol(), f.environment, f.category.label(), f.subject, f.text);
        out.push(entry(EntryKind::Alert, text));
    }
    for f in old.iter().filter(|f| !new.iter().any(|n| key(n) == key(f))) {
        out.push(entry(EntryKind::Cleared, format!("{} {} {}", f.environment, f.category.label(), f.subject)));
    }
    for a in
        after.alerts.iter().filter(|a| a.is_firing() && !before.alerts.iter().any(|b| b.id == a.id && b.is_firing()))
    {
        let text = format!(
            "{} {} {} {}: {} ({})",
            a.level().symbol(),
            a.environment,
            a.source,
            a.severity.label(),
            a.name,
            a.resource
        );
        out.push(entry(EntryKind::Alert, text));
    }
    for a in before.alerts.iter().filter(|a| a.is_firing()) {
        match after.alerts.iter().find(|n| n.id == a.id) {
            None => out.push(entry(EntryKind::Cleared, format!("{} {} {} resolved", a.environment, a.source, a.name))),
            Some(n) if n.state == crate::model::AlertState::Acknowledged => {
                let by = n.acked_by.as_deref().map(|w| format!(" by {w}")).unwrap_or_default();
                out.push(entry(
                    EntryKind::Alert,
                    format!("{} {} {} acknowledged{by}", a.environment, a.source, a.name),
                ));
            }
            Some(_) => {}
        }
    }
    let short = |sha: &str| sha.chars().take(7).collect::<String>();
    for d in after.deployments.iter().filter(|d| !before.deployments.iter().any(|b| b.id == d.id)) {
        let text = format!("{} {} → {} by {}", d.repo, short(&d.sha), d.environment, d.creator);
        out.push(entry(EntryKind::Deploy, text));
    }
    for a in after.approvals.iter().filter(|a| !before.approvals.iter().any(|b| b.id == a.id)) {
        let text = format!("{} {} waits for approval to {}", a.repo, short(&a.sha), a.environment);
        out.push(entry(EntryKind::Approval, text));
    }
    for a in before.approvals.iter().filter(|a| !after.approvals.iter().any(|b| b.id == a.id)) {
        let text = format!("{} {} to {} no longer waiting (reviewed)", a.repo, short(&a.sha), a.environment);
        out.push(entry(EntryKind::Approval, text));
    }
    out
}

/// Appends lines, keeps the filter's results valid, and follows the tail when asked.
fn append_logs(state: &mut AppState, lines: Vec<crate::model::LogLine>) {
    let end_before = state.logs.seq_range().1;
    let rewritten = state.logs.push_batch(lines);
    state.log_filter.on_append(&state.logs, end_before, rewritten);
    if state.follow_logs && !state.log_filter.active() {
        let n = state.logs.len();
        state.lists[Screen::Logs.index()].selected = n.saturating_sub(1);
    }
    if state.screen == Screen::Logs {
        state.dirty = true;
        clamp(state);
    }
}

/// Lines asked for at once when the Logs screen reaches its top. Small batches keep what the
/// allocator holds on to after each one small: 50 000 left RSS at 1.79× the text, 10 000 1.59×.
pub const OLDER_LOG_LINES: usize = 10_000;

/// At the top of the Logs list, with room in the buffer: ask the sources for older lines
/// (once at a time; not again after every source said it has none).
fn load_older_at_top(state: &mut AppState) -> Vec<Effect> {
    let at_top = state.screen == Screen::Logs && state.list().selected == 0;
    let room = state.logs.cap().saturating_sub(state.logs.len());
    let asked_before = state.older_logs_exhausted && state.older_logs_pending == 0;
    if !at_top || room == 0 || state.older_logs_pending > 0 || asked_before || state.sources.is_empty() {
        return Vec::new();
    }
    state.older_logs_pending = state.sources.len();
    // Until a source answers with lines, assume none has any.
    state.older_logs_exhausted = true;
    state.last_message = Some(("loading older lines…".into(), Level::Unknown));
    vec![Effect::LoadOlderLogs(OLDER_LOG_LINES.min(room))]
}

/// Older lines from one source: merged in, the selected line stays selected.
fn insert_older_logs(state: &mut AppState, lines: Vec<crate::model::LogLine>) {
    state.older_logs_pending = state.older_logs_pending.saturating_sub(1);
    let found = !lines.is_empty();
    if found {
        let index = state.lists[Screen::Logs.index()].selected;
        let filtered = state.log_filter.active();
        let anchor = if filtered {
            state.log_filter.live(&state.logs).get(index).and_then(|seq| state.logs.by_seq(*seq)).map(|l| l.at)
        } else {
            state.logs.get(index).map(|l| l.at)
        };
        let (inserted, before) = state.logs.insert_older(lines, anchor.map(|a| a.timestamp_millis()));
        if filtered {
            // Positions moved: scan again, then come back to the same time.
            let pattern = state.log_filter.pattern.clone();
            let min = state.log_filter.min;
            state.log_filter.set(&pattern, min);
            state.log_jump = anchor.map(super::LogJump::Time);
        } else {
            let list = &mut state.lists[Screen::Logs.index()];
            list.selected += before;
            list.offset += before;
        }
        state.last_message = Some((format!("{inserted} older lines loaded"), Level::Unknown));
        state.older_logs_exhausted = false;
    }
    if state.older_logs_pending == 0 && state.older_logs_exhausted {
        state.last_message = Some(("no older lines in any source".into(), Level::Unknown));
    }
    state.dirty |= state.screen == Screen::Logs;
    if state.screen == Screen::Logs {
        clamp(state);
    }
}

/// The Logs screen's filter follows its `/` text and severity floor.
fn refilter_logs(state: &mut AppState) {
    let pattern = state.lists[Screen::Logs.index()].filter.clone();
    let min = state.log_filter.min;
    state.log_filter.set(&pattern, min);
    let list = &mut state.lists[Screen::Logs.index()];
    list.selected = 0;
    list.offset = 0;
}

fn apply_log_jump(state: &mut AppState) {
    let Some(jump) = state.log_jump.take() else { return };
    let index = if state.log_filter.active() {
        let live = state.log_filter.live(&state.logs);
        match jump {
            super::LogJump::FirstError => live
                .iter()
                .position(|s| state.logs.by_seq(*s).is_some_and(|l| l.severity == crate::model::Severity::Error)),
            super::LogJump::Time(t) => Some(live.partition_point(|s| state.logs.by_seq(*s).is_some_and(|l| l.at < t))),
        }
    } else {
        match jump {
            super::LogJump::FirstError => state.logs.iter().position(|l| l.severity == crate::model::Severity::Error),
            super::LogJump::Time(t) => Some(state.logs.position_at(t)),
        }
    };
    state.follow_logs = false;
    let list = &mut state.lists[Screen::Logs.index()];
    list.selected = index.unwrap_or(0);
    list.offset = list.selected.saturating_sub(3);
    if state.screen == Screen::Logs {
        clamp(state);
    }
    state.dirty = true;
}

/// "08:15", "08:15:30" (today, UTC) or RFC 3339.
fn parse_jump_time(text: &str, now: crate::model::Timestamp) -> Option<crate::model::Timestamp> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let time = chrono::NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(text, "%H:%M"))
        .ok()?;
    Some(now.date_naive().and_time(time).and_utc())
}

/// Whether a screen binding's condition holds now.
fn applies(state: &AppState, when: When) -> bool {
    match when {
        When::Always => true,
        When::RunList => state.run_detail.is_none(),
        When::SeveralRunbooks => state.runbooks.len() > 1,
        When::IncidentOpen => state.incident.is_some(),
        When::NoIncident => state.incident.is_none(),
        When::HistoryShown => state.incident_history.is_some(),
    }
}

/// A key the current screen keeps for itself (its `ScreenSpec` bindings), if it applies now.
/// `None` lets the key go on to plugins and the keymap.
fn screen_key(state: &mut AppState, key: KeyEvent) -> Option<Vec<Effect>> {
    let binding = state.screen.binding(&crate::screen::Key::from_event(&key))?;
    if !applies(state, binding.when) {
        return None;
    }
    (crate::screens::ui(state.screen).act)(state, binding.action)
}

/// What the first screens' actions do (`screen::SPECS` says which key and screen).
pub fn builtin_action(state: &mut AppState, action: Action) -> Option<Vec<Effect>> {
    let note = |target, prompt: &str| Popup::Note { target, prompt: prompt.to_string(), value: String::new() };
    match action {
        Action::PrevColumn => state.overview_column = state.overview_column.saturating_sub(1),
        Action::NextColumn => state.overview_column = (state.overview_column + 1).min(OverviewColumn::ALL.len() - 1),
        Action::FailingFirst => {
            state.failing_first = !state.failing_first;
            let list = state.list_mut();
            list.selected = 0;
            list.offset = 0;
            state.last_message = Some((
                if state.failing_first { "failing runs first" } else { "newest runs first" }.to_string(),
                Level::Unknown,
            ));
        }
        Action::RunbookTick => {
            let item = runbook_selected(state)?;
            if item.check.is_some() {
                let text = "automatic item: its verdict comes from the data (n adds a note)";
                state.last_message = Some((text.into(), Level::Unknown));
                return Some(Vec::new());
            }
            let existing = state.runbook_progress.iter().find(|p| p.item == item.key).cloned();
            let progress = crate::runbook::Progress {
                item: item.key.clone(),
                done: !existing.as_ref().is_some_and(|p| p.done),
                note: existing.and_then(|p| p.note),
                who: state.user.clone(),
                at: state.now,
            };
            return Some(save_progress(state, progress));
        }
        Action::RunbookNote => {
            let item = runbook_selected(state)?;
            state.popup = Some(note(NoteTarget::RunbookItem(item.key.clone()), &format!("Note on '{}':", item.title)));
        }
        Action::PrevRunbook | Action::NextRunbook => {
            let n = state.runbooks.len().max(1);
            state.runbook_index = if action == Action::NextRunbook {
                (state.runbook_index + 1) % n
            } else {
                (state.runbook_index + n - 1) % n
            };
        }
        Action::LogSeverity => {
            use crate::model::Severity;
            let min = match state.log_filter.min {
                Severity::Trace | Severity::Debug => Severity::Info,
                Severity::Info => Severity::Warn,
                Severity::Warn => Severity::Error,
                Severity::Error => Severity::Trace,
            };
            let pattern = state.log_filter.pattern.clone();
            state.log_filter.set(&pattern, min);
            let shown = if min == Severity::Trace {
                "all severities".to_string()
            } else {
                format!("{} and above", min.label())
            };
            state.last_message = Some((format!("logs: {shown}"), Level::Unknown));
        }
        Action::LogWrap => state.log_wrap = !state.log_wrap,
        Action::LogTimestamps => state.log_timestamps = !state.log_timestamps,
        Action::LogJumpTime => {
            state.popup = Some(note(NoteTarget::JumpTime, "Jump to time (HH:MM, HH:MM:SS today UTC, or RFC 3339):"));
        }
        Action::LogCopy => {
            let line = selected_log_line(state)?;
            state.last_message = Some(("line copied to the clipboard (OSC 52)".into(), Level::Ok));
            return Some(vec![Effect::Copy(line)]);
        }
        Action::LogSave => {
            let path = format!("skydeck-logs-{}.log", state.now.format("%Y%m%d-%H%M%S"));
            state.popup = Some(Popup::Note {
                target: NoteTarget::SaveLogs,
                prompt: "Save the lines shown (filter applied) to:".into(),
                value: path,
            });
        }
        Action::IncidentStart => state.popup = Some(super::forms::start_incident_form(state)),
        Action::IncidentNote => state.popup = Some(note(NoteTarget::Incident, "Note for the timeline:")),
        Action::IncidentImpact | Action::IncidentTold | Action::IncidentMitigation => {
            let (k, label) = match action {
                Action::IncidentImpact => crate::incident::FIRST_STEPS[0],
                Action::IncidentTold => crate::incident::FIRST_STEPS[1],
                _ => crate::incident::FIRST_STEPS[2],
            };
            let prompt = format!("{label}: what (impact, who was told, which mitigation)?");
            state.popup = Some(note(NoteTarget::Step(k.to_string()), &prompt));
        }
        Action::IncidentChanges => state.popup = Some(Popup::Changes { lines: recent_changes(state) }),
        Action::IncidentClose => {
            state.popup = Some(note(NoteTarget::CloseIncident, "Resolution (closes the incident):"));
        }
        Action::IncidentHistory => return Some(super::forms::toggle_history(state)),
        Action::IncidentExport => super::forms::export_prompt(state),
        #[allow(unreachable_patterns)] // a new screen handles its own actions (`ScreenUi::act`)
        _ => return None,
    }
    Some(Vec::new())
}

/// The selected line of the Logs screen (through the filter when one is active).
pub fn selected_log(state: &AppState) -> Option<crate::logbuf::LineRef<'_>> {
    let index = state.lists[Screen::Logs.index()].selected;
    if state.log_filter.active() {
        state.logs.by_seq(*state.log_filter.live(&state.logs).get(index)?)
    } else {
        state.logs.get(index)
    }
}

/// The selected log line as text, the way it is shown.
pub fn selected_log_line(state: &AppState) -> Option<String> {
    // Plain text for the clipboard: the CI log's colour sequences are not pasted along.
    Some(selected_log(state)?.plain_text())
}

fn runbook_selected(state: &AppState) -> Option<&crate::runbook::Item> {
    let row = rows(state, Screen::Runbook).get(state.list().selected).copied()?;
    let super::Row::RunbookItem(i) = row else { return None };
    state.runbooks.get(state.runbook_index)?.items.get(i)
}

fn save_progress(state: &mut AppState, progress: crate::runbook::Progress) -> Vec<Effect> {
    let Some(book) = state.runbooks.get(state.runbook_index) else { return Vec::new() };
    let runbook = book.name.clone();
    state.runbook_progress.retain(|p| p.item != progress.item);
    state.runbook_progress.push(progress.clone());
    vec![Effect::SaveRunbookItem { runbook, day: state.now.format("%Y-%m-%d").to_string(), progress }]
}

fn note_done(state: &mut AppState, target: NoteTarget, text: String) -> Vec<Effect> {
    use crate::incident::{Entry, EntryKind};
    let entry = |kind, text: String| Entry { at: state.now, kind, who: state.user.clone(), text };
    match target {
        NoteTarget::RunbookItem(item) => {
            let existing = state.runbook_progress.iter().find(|p| p.item == item).cloned();
            let progress = crate::runbook::Progress {
                item,
                done: existing.is_some_and(|p| p.done),
                note: (!text.is_empty()).then_some(text),
                who: state.user.clone(),
                at: state.now,
            };
            save_progress(state, progress)
        }
        _ if text.is_empty() => {
            state.last_message = Some(("nothing typed; nothing recorded".into(), Level::Unknown));
            Vec::new()
        }
        NoteTarget::JumpTime => {
            match parse_jump_time(&text, state.now) {
                Some(t) => {
                    state.log_jump = Some(super::LogJump::Time(t));
                    if !state.log_filter.pending(&state.logs) {
                        apply_log_jump(state);
                    }
                }
                None => {
                    state.last_message =
                        Some((format!("'{text}' is not a time (08:15, 08:15:30, RFC 3339)"), Level::Warn));
                }
            }
            Vec::new()
        }
        NoteTarget::SaveLogs => {
            let lines: Vec<String> = if state.log_filter.active() {
                state
                    .log_filter
                    .live(&state.logs)
                    .iter()
                    .filter_map(|s| state.logs.by_seq(*s))
                    .map(|l| l.plain_text())
                    .collect()
            } else {
                state.logs.iter().map(|l| l.plain_text()).collect()
            };
            state.last_message = Some((format!("saving {} lines to {text}…", lines.len()), Level::Unknown));
            vec![Effect::SaveLogs { path: text, lines }]
        }
        NoteTarget::Incident => vec![Effect::IncidentEntry(entry(EntryKind::Note, text))],
        NoteTarget::Step(key) => vec![Effect::IncidentEntry(entry(EntryKind::Step, format!("{key}: {text}")))],
        NoteTarget::CloseIncident => vec![Effect::CloseIncident(text)],
        NoteTarget::ExportIncident(id) => super::forms::export(state, id, text),
        NoteTarget::StartIncident => {
            let environment =
                state.estate.environments.get(state.lists[Screen::Overview.index()].selected).map(|e| e.name.clone());
            vec![Effect::StartIncident { title: text, severity: "sev2".into(), environment }]
        }
    }
}

/// Deploys, secret rotations and actions of the last 24 h, newest first ("what changed").
pub fn recent_changes(state: &AppState) -> Vec<(crate::model::Timestamp, String)> {
    let since = state.now - chrono::Duration::hours(24);
    let e = &state.estate;
    let short = |sha: &str| sha.chars().take(7).collect::<String>();
    let mut out: Vec<(crate::model::Timestamp, String)> = Vec::new();
    for d in e.deployments.iter().filter(|d| d.created_at >= since) {
        let text =
            format!("deploy   {} {} → {} by {} ({:?})", d.repo, short(&d.sha), d.environment, d.creator, d.state);
        out.push((d.created_at, text.to_lowercase()));
    }
    for s in e.secrets.iter().filter(|s| s.last_rotated.is_some_and(|t| t >= since)) {
        out.push((s.last_rotated.unwrap_or(since), format!("rotated  {} in {} ({})", s.name, s.store, s.environment)));
    }
    for a in state.audit.iter().filter(|a| a.at >= since && a.phase != crate::store::AuditPhase::Started) {
        let text = format!("action   {} {} ({}) by {}: {:?}", a.verb, a.target_name, a.environment, a.user, a.phase);
        out.push((a.at, text.to_lowercase()));
    }
    out.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    out
}

pub(super) fn message(state: &mut AppState, title: &str, text: String, level: Level) {
    state.popup = Some(Popup::Message { title: title.to_string(), text, level });
}

fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    if state.first_run {
        return match key.code {
            KeyCode::Char('d') => vec![Effect::StartDemo],
            KeyCode::Char('q') | KeyCode::Esc => vec![Effect::Quit],
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => vec![Effect::Quit],
            _ => Vec::new(),
        };
    }
    if let Some(popup) = state.popup.take() {
        return on_popup_key(state, popup, key);
    }
    if state.editing_filter {
        let list = state.list_mut();
        match key.code {
            KeyCode::Enter => state.editing_filter = false,
            KeyCode::Esc => {
                list.filter.clear();
                state.editing_filter = false;
            }
            KeyCode::Backspace => {
                list.filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => list.filter.push(c),
            _ => {}
        }
        let list = state.list_mut();
        list.selected = 0;
        list.offset = 0;
        if state.screen == Screen::Logs {
            refilter_logs(state);
            state.follow_logs = false;
        }
        clamp(state);
        return Vec::new();
    }
    // Number keys jump to screens (after popups and filter editing took theirs).
    if let KeyCode::Char(c) = key.code
        && (key.modifiers.is_empty() || key.modifiers == KeyModifiers::SHIFT)
        && let Some(screen) = Screen::of_key(c)
    {
        go_to(state, screen);
        return Vec::new();
    }
    if let Some(effects) = super::forms::history_key(state, key) {
        return effects;
    }
    if let Some(effects) = screen_key(state, key) {
        return effects;
    }
    // Plugin keys never clash with skydeck's own (the loader refuses those).
    if let Some(effects) = super::plugins::plugin_key(state, crate::keymap::Key::from_event(&key)) {
        return effects;
    }
    let Some(command) = state.keymap.command(&key) else {
        return Vec::new();
    };
    run_command(state, command)
}

/// Rows one page moves: as many as the last frame showed of this screen's list.
fn page_rows(state: &AppState) -> usize {
    match state.drawn.list {
        Some(list) if state.drawn.screen == state.screen && state.drawn.size == state.size => list.rows as usize,
        _ => state.screen.list_height(state.size),
    }
    .max(1)
}

fn open_help(state: &mut AppState) {
    state.help_scroll = 0;
    state.popup = Some(Popup::Help);
}

fn run_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    let page = page_rows(state);
    match command {
        Command::Quit => return vec![Effect::Quit],
        Command::Help => open_help(state),
        Command::Palette => state.popup = Some(Popup::Palette { input: String::new(), selected: 0 }),
        // The run detail lists one run's jobs: the list's filter is not its filter.
        Command::Filter if state.screen == Screen::Runs && state.run_detail.is_some() => {
            state.last_message =
                Some(("the run detail has no filter; esc goes back to the runs".into(), Level::Unknown));
        }
        Command::Filter => state.editing_filter = true,
        Command::Up => {
            move_selection(state, -1);
            return load_older_at_top(state);
        }
        Command::Down => move_selection(state, 1),
        Command::PageUp => {
            move_selection(state, -(page as isize));
            return load_older_at_top(state);
        }
        Command::PageDown => move_selection(state, page as isize),
        Command::Top => {
            move_selection(state, isize::MIN / 2);
            return load_older_at_top(state);
        }
        Command::Bottom => move_selection(state, isize::MAX / 2),
        Command::Open => return open(state),
        Command::Back => back(state),
        Command::NextScreen => go_to(state, Screen::ALL[(state.screen.index() + 1) % Screen::ALL.len()]),
        Command::PrevScreen => {
            go_to(state, Screen::ALL[(state.screen.index() + Screen::ALL.len() - 1) % Screen::ALL.len()]);
        }
        Command::Refresh => {
            state.last_message = Some(("refreshing every source".into(), Level::Unknown));
            return vec![Effect::RefreshAll];
        }
        Command::Follow => {
            if state.screen == Screen::Logs {
                state.follow_logs = !state.follow_logs;
                if state.follow_logs {
                    move_selection(state, isize::MAX / 2);
                }
            }
        }
        Command::Act(verb) => return request_action(state, verb),
    }
    Vec::new()
}

/// Starts an action on the selected row: refused at once in read-only mode, asks for a
/// missing input, otherwise hands the request to the planner.
fn request_action(state: &mut AppState, verb: Verb) -> Vec<Effect> {
    if !state.screen.verbs().contains(&verb) {
        let offered: Vec<_> = state.screen.verbs().iter().map(|v| v.as_str()).collect();
        state.last_message = Some((
            if offered.is_empty() {
                format!("{} offers no actions; see ? for its keys", state.screen.title())
            } else {
                format!("'{verb}' is not offered on {} (here: {})", state.screen.title(), offered.join(", "))
            },
            Level::Warn,
        ));
        return Vec::new();
    }
    if state.read_only {
        message(
            state,
            "Read-only",
            format!("skydeck runs with --read-only: '{verb}' refused, nothing was sent."),
            Level::Warn,
        );
        return Vec::new();
    }
    let Some(target) = state.selected_target() else {
        state.last_message = Some(("nothing selected".into(), Level::Warn));
        return Vec::new();
    };
    let request = ActionRequest::new(verb, target);
    // An alert that can be acknowledged takes a comment too (Azure Monitor keeps it with the
    // alert); one that cannot goes straight to the planner, which says why.
    let ackable = verb == Verb::Ack && state.estate.alerts.iter().any(|a| a.id == request.target && a.can_ack);
    if matches!(verb, Verb::Approve | Verb::Reject) || ackable {
        let prompt = if ackable {
            "Comment kept with the acknowledgement (may be empty):".to_string()
        } else {
            format!("Comment for the review ({verb}); enter to continue, may be empty:")
        };
        state.popup = Some(Popup::Input { prompt, param: "reason".into(), value: String::new(), request });
        return Vec::new();
    }
    // A silence is always sized: one that can be set asks how long; one that cannot goes to the
    // planner, which says why.
    if verb == Verb::Silence && state.estate.alerts.iter().any(|a| a.id == request.target && a.can_silence) {
        state.popup = Some(Popup::Input {
            prompt: "Silence for how long? 30m, 2h, 1d (at most 7d):".into(),
            param: "for".into(),
            value: String::new(),
            request,
        });
        return Vec::new();
    }
    if verb == Verb::Dispatch {
        state.last_message = Some(("reading the workflow's inputs…".into(), Level::Unknown));
        return vec![Effect::PrepareInputs(request)];
    }
    // A promote may need an input its provider names (a Kubernetes workload's new image);
    // one that needs none goes straight on to the planner.
    if verb == Verb::Promote {
        return vec![Effect::PrepareInputs(request)];
    }
    // Restore, rotate and scale ask for their inputs in a form (the CLI's --time,
    // --value-stdin, --count) that checks them before planning.
    if let Some(form) = super::forms::action_form(state, request.clone()) {
        state.popup = Some(form);
        return Vec::new();
    }
    vec![Effect::Plan(request)]
}

fn on_popup_key(state: &mut AppState, popup: Popup, key: KeyEvent) -> Vec<Effect> {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    match popup {
        Popup::Help => {
            // A help taller than the terminal scrolls; any other key closes it.
            if let Some(g) = state.drawn.help.filter(|g| g.max > 0) {
                let at = state.help_scroll;
                let to = match key.code {
                    KeyCode::Up | KeyCode::Char('k') => Some(at.saturating_sub(1)),
                    KeyCode::Down | KeyCode::Char('j') => Some(at + 1),
                    KeyCode::PageUp => Some(at.saturating_sub(g.page)),
                    KeyCode::PageDown | KeyCode::Char(' ') => Some(at + g.page),
                    KeyCode::Home | KeyCode::Char('g') => Some(0),
                    KeyCode::End | KeyCode::Char('G') => Some(g.max),
                    _ => None,
                };
                if let Some(to) = to {
                    state.help_scroll = to.min(g.max);
                    state.popup = Some(Popup::Help);
                    return Vec::new();
                }
            }
            if ctrl_c { vec![Effect::Quit] } else { Vec::new() }
        }
        Popup::Message { .. } => {
            // Any key closes help or a message; ctrl-c still quits.
            if ctrl_c { vec![Effect::Quit] } else { Vec::new() }
        }
        Popup::Palette { mut input, mut selected } => {
            let candidates = palette_candidates(state, &input);
            match key.code {
                KeyCode::Esc => return Vec::new(),
                KeyCode::Enter => {
                    let chosen = candidates.get(selected).cloned().unwrap_or(input.clone());
                    return run_palette(state, chosen.trim());
                }
                KeyCode::Tab => {
                    if let Some(c) = candidates.get(selected) {
                        input = c.clone();
                        selected = 0;
                    }
                }
                KeyCode::Up => selected = selected.saturating_sub(1),
                KeyCode::Down => selected = (selected + 1).min(candidates.len().saturating_sub(1)),
                KeyCode::Backspace => {
                    input.pop();
                    selected = 0;
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    input.push(c);
                    selected = 0;
                }
                _ if ctrl_c => return vec![Effect::Quit],
                _ => {}
            }
            state.popup = Some(Popup::Palette { input, selected });
            Vec::new()
        }
        Popup::Input { prompt, param, mut value, mut request } => {
            match key.code {
                KeyCode::Esc => return Vec::new(),
                KeyCode::Enter => {
                    let value = value.trim().to_string();
                    if param == "reason" {
                        request.reason = (!value.is_empty()).then_some(value);
                    } else {
                        request.params.insert(param, value);
                    }
                    return vec![Effect::Plan(request)];
                }
                KeyCode::Backspace => {
                    value.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => value.push(c),
                _ => {}
            }
            state.popup = Some(Popup::Input { prompt, param, value, request });
            Vec::new()
        }
        Popup::Changes { .. } => {
            if ctrl_c {
                vec![Effect::Quit]
            } else {
                Vec::new()
            }
        }
        Popup::Note { target, prompt, mut value } => {
            match key.code {
                KeyCode::Esc => return Vec::new(),
                KeyCode::Enter => return note_done(state, target, value.trim().to_string()),
                KeyCode::Backspace => {
                    value.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => value.push(c),
                _ if ctrl_c => return vec![Effect::Quit],
                _ => {}
            }
            state.popup = Some(Popup::Note { target, prompt, value });
            Vec::new()
        }
        Popup::Form { mut request, mut fields, mut focus, .. } => {
            let mut error = None;
            match form_key(&mut fields, &mut focus, key, &mut error) {
                FormStep::Cancel => return Vec::new(),
                FormStep::Quit => return vec![Effect::Quit],
                FormStep::Submit => {
                    // A workflow's inputs travel as `input.NAME`; a verb's own inputs by name.
                    let prefix = if request.verb == Verb::Dispatch { "input." } else { "" };
                    for (spec, value) in &fields {
                        if !value.trim().is_empty() {
                            request.params.insert(format!("{prefix}{}", spec.name), value.trim().to_string());
                        }
                    }
                    return vec![Effect::Plan(request)];
                }
                FormStep::Stay => {}
            }
            state.popup = Some(Popup::Form { request, fields, focus, error });
            Vec::new()
        }
        Popup::PluginForm { plugin, mut context, mut fields, mut focus, .. } => {
            let mut error = None;
            match form_key(&mut fields, &mut focus, key, &mut error) {
                FormStep::Cancel => {
                    state.last_message = Some((format!("{plugin} cancelled; nothing ran"), Level::Unknown));
                    return Vec::new();
                }
                FormStep::Quit => return vec![Effect::Quit],
                FormStep::Submit => {
                    for (spec, value) in &fields {
                        context.insert(format!("input.{}", spec.name), value.trim().to_string());
                    }
                    let Some(p) = state.plugins.iter().find(|p| p.name == plugin).cloned() else { return Vec::new() };
                    return super::plugins::prepared(state, &p, &context);
                }
                FormStep::Stay => {}
            }
            state.popup = Some(Popup::PluginForm { plugin, context, fields, focus, error });
            Vec::new()
        }
        Popup::Action(form) => super::forms::on_key(state, *form, key),
        Popup::PluginConfirm { run, mut input, .. } => {
            let cancelled = |state: &mut AppState, run: &crate::plugins::PluginRun| {
                state.last_message = Some((format!("{} cancelled; nothing ran", run.plugin), Level::Unknown));
                Vec::new()
            };
            let mut error = None;
            match (super::plugins::plugin_confirmation_name(state, &run), key.code) {
                (_, KeyCode::Esc) => return cancelled(state, &run),
                (None, KeyCode::Char('n' | 'N')) => return cancelled(state, &run),
                (None, KeyCode::Char('y' | 'Y')) => return super::plugins::run_effect(state, *run),
                (Some(name), KeyCode::Enter) => {
                    if input.trim() == name {
                        return super::plugins::run_effect(state, *run);
                    }
                    error = Some(format!("typed '{}', the target is '{name}': nothing ran", input.trim()));
                }
                (Some(_), KeyCode::Backspace) => {
                    input.pop();
                }
                (Some(_), KeyCode::Char(c)) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
                _ if ctrl_c => return vec![Effect::Quit],
                _ => {}
            }
            state.popup = Some(Popup::PluginConfirm { run, input, error });
            Vec::new()
        }
        Popup::Output { title, lines, mut scroll, level } => {
            let page = state.size.1.saturating_sub(10).max(1) as usize;
            let max = lines.len().saturating_sub(page);
            match key.code {
                KeyCode::Down | KeyCode::Char('j') => scroll = (scroll + 1).min(max),
                KeyCode::Up | KeyCode::Char('k') => scroll = scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll = (scroll + page).min(max),
                KeyCode::PageUp => scroll = scroll.saturating_sub(page),
                KeyCode::Home | KeyCode::Char('g') => scroll = 0,
                KeyCode::End | KeyCode::Char('G') => scroll = max,
                _ if ctrl_c => return vec![Effect::Quit],
                _ => return Vec::new(),
            }
            state.popup = Some(Popup::Output { title, lines, scroll, level });
            Vec::new()
        }
        Popup::Confirm { plan, mut input, error, mut scroll } => {
            let confirmation = plan.confirmation();
            // Arrows and pages scroll the plan; letters still go to the typed name.
            // The range the last frame drew; before the first frame the view clamps it (and
            // `Msg::Drawn` brings the value back).
            let geometry = state.drawn.confirm;
            let max = geometry.map_or(usize::MAX, |g| g.max);
            let page = geometry.map_or(usize::from(state.size.1.saturating_sub(12)).max(1), |g| g.page);
            let scrolled = match key.code {
                KeyCode::Up => Some(scroll.saturating_sub(1)),
                KeyCode::Down => Some(scroll.saturating_add(1)),
                KeyCode::PageUp => Some(scroll.saturating_sub(page)),
                KeyCode::PageDown => Some(scroll.saturating_add(page)),
                KeyCode::Home => Some(0),
                KeyCode::End => Some(max),
                _ => None,
            };
            if let Some(to) = scrolled {
                scroll = to.min(max);
                state.popup = Some(Popup::Confirm { plan, input, error, scroll });
                return Vec::new();
            }
            match (key.code, &confirmation) {
                (KeyCode::Esc, _) => {
                    state.last_message =
                        Some((format!("{} cancelled; nothing was sent", plan.request.verb), Level::Unknown));
                    return Vec::new();
                }
                (KeyCode::Char('n' | 'N'), Confirmation::YesNo) => {
                    state.last_message =
                        Some((format!("{} cancelled; nothing was sent", plan.request.verb), Level::Unknown));
                    return Vec::new();
                }
                (KeyCode::Char('y' | 'Y'), Confirmation::YesNo) => return execute(state, plan, "y"),
                (KeyCode::Enter, Confirmation::TypeName(_)) => {
                    let typed = input.clone();
                    return match check_confirmation(&plan, Some(&typed), false) {
                        Ok(()) => execute(state, plan, &typed),
                        Err(e) => {
                            state.popup = Some(Popup::Confirm { plan, input, error: Some(e.to_string()), scroll });
                            Vec::new()
                        }
                    };
                }
                (KeyCode::Backspace, Confirmation::TypeName(_)) => {
                    input.pop();
                }
                (KeyCode::Char(c), Confirmation::TypeName(_)) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    input.push(c);
                }
                _ => {}
            }
            state.popup = Some(Popup::Confirm { plan, input, error: None, scroll });
            Vec::new()
        }
    }
}

pub(super) enum FormStep {
    Stay,
    Cancel,
    Submit,
    Quit,
}

/// One key in a form (workflow inputs, plugin inputs): move between fields, edit text, cycle
/// choices; enter submits once every required field has a value.
pub(super) fn form_key(
    fields: &mut [(crate::actions::InputSpec, String)],
    focus: &mut usize,
    key: KeyEvent,
    error: &mut Option<String>,
) -> FormStep {
    let n = fields.len().max(1);
    match key.code {
        KeyCode::Esc => return FormStep::Cancel,
        KeyCode::Tab | KeyCode::Down => *focus = (*focus + 1) % n,
        KeyCode::BackTab | KeyCode::Up => *focus = (*focus + n - 1) % n,
        KeyCode::Left | KeyCode::Right => {
            if let Some((spec, value)) = fields.get_mut(*focus) {
                let options: Vec<String> =
                    if spec.kind == "boolean" { vec!["true".into(), "false".into()] } else { spec.options.clone() };
                if !options.is_empty() {
                    let at = options.iter().position(|o| o == value).unwrap_or(0);
                    let step = if key.code == KeyCode::Right { 1 } else { options.len() - 1 };
                    *value = options[(at + step) % options.len()].clone();
                }
            }
        }
        KeyCode::Backspace => {
            if let Some((spec, value)) = fields.get_mut(*focus)
                && spec.options.is_empty()
            {
                value.pop();
            }
        }
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return FormStep::Quit,
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            if let Some((spec, value)) = fields.get_mut(*focus)
                && spec.options.is_empty()
                && spec.kind != "boolean"
            {
                value.push(c);
            }
        }
        KeyCode::Enter => {
            let missing: Vec<&str> = fields
                .iter()
                .filter(|(s, v)| s.required && v.trim().is_empty())
                .map(|(s, _)| s.name.as_str())
                .collect();
            if missing.is_empty() {
                return FormStep::Submit;
            }
            *error = Some(format!("required: {}", missing.join(", ")));
        }
        _ => {}
    }
    FormStep::Stay
}

fn execute(state: &mut AppState, plan: Box<crate::actions::Plan>, confirmation: &str) -> Vec<Effect> {
    if state.read_only {
        message(state, "Read-only", "nothing was sent".into(), Level::Warn);
        return Vec::new();
    }
    debug_assert!(check_confirmation(&plan, Some(confirmation), false).is_ok());
    state.actions_in_flight += 1;
    state.last_message = Some((format!("running {} on {}…", plan.request.verb, plan.target_name), Level::Unknown));
    vec![Effect::Execute(plan)]
}

/// Palette entries matching the input: screens, verbs and plugins offered here, themes,
/// quit/refresh/help.
pub fn palette_candidates(state: &AppState, input: &str) -> Vec<String> {
    let mut all: Vec<String> = Screen::ALL.iter().map(|s| s.title().to_lowercase()).collect();
    all.extend(state.screen.verbs().iter().map(|v| v.as_str().to_string()));
    all.extend(super::plugins::plugins_here(state).iter().map(|p| format!("plugin {}", p.name)));
    all.extend(["help", "refresh", "quit"].map(String::from));
    all.extend(crate::theme::SHIPPED.iter().map(|(n, _)| format!("theme {n}")));
    let needle = input.trim().to_lowercase();
    let mut out: Vec<String> = all.iter().filter(|c| c.starts_with(&needle)).cloned().collect();
    out.extend(all.into_iter().filter(|c| !c.starts_with(&needle) && c.contains(&needle)));
    out
}

fn run_palette(state: &mut AppState, chosen: &str) -> Vec<Effect> {
    if let Some(screen) = Screen::from_name(chosen) {
        go_to(state, screen);
        return Vec::new();
    }
    if let Some(title) = chosen.strip_prefix("incident ") {
        if state.incident.is_some() {
            go_to(state, Screen::Incident);
            state.last_message = Some(("an incident is already open".into(), Level::Warn));
            return Vec::new();
        }
        // The environment the title names ("checkout 503 in production"), else none: the
        // Overview's cursor sits on the first row (dev) unless someone moved it, and an
        // incident scoped to the wrong environment would offer the wrong mitigations.
        let words: Vec<String> =
            title.split(|c: char| !c.is_alphanumeric() && c != '-').map(str::to_lowercase).collect();
        let environment = state
            .estate
            .environments
            .iter()
            .find(|e| words.iter().any(|w| *w == e.name.to_lowercase()))
            .map(|e| e.name.clone());
        go_to(state, Screen::Incident);
        return vec![Effect::StartIncident { title: title.trim().to_string(), severity: "sev2".into(), environment }];
    }
    if let Some(name) = chosen.strip_prefix("plugin ") {
        return super::plugins::start_plugin(state, name.trim());
    }
    if let Some(theme) = chosen.strip_prefix("theme ") {
        return vec![Effect::SetTheme(theme.trim().to_string())];
    }
    if let Ok(verb) = chosen.parse::<Verb>() {
        return request_action(state, verb);
    }
    match chosen {
        "help" => open_help(state),
        "refresh" => return run_command(state, Command::Refresh),
        "quit" | "q" => return vec![Effect::Quit],
        "" => {}
        other => state.last_message = Some((format!("unknown command ':{other}'"), Level::Warn)),
    }
    Vec::new()
}

fn go_to(state: &mut AppState, screen: Screen) {
    if screen != Screen::Logs {
        state.log_from_run = None;
    }
    state.screen = screen;
    state.editing_filter = false;
    state.dirty = true;
    if screen == Screen::Audit {
        let n = state.audit.len();
        state.lists[Screen::Audit.index()].selected = n.saturating_sub(1);
    }
    clamp(state);
}

/// Enter: what the screen's `ScreenUi::open` does.
fn open(state: &mut AppState) -> Vec<Effect> {
    (crate::screens::ui(state.screen).open)(state)
}

/// Enter on the screens that came first.
pub fn builtin_open(state: &mut AppState) -> Vec<Effect> {
    match state.screen {
        Screen::Overview => {
            let column = OverviewColumn::ALL[state.overview_column.min(OverviewColumn::ALL.len() - 1)];
            let env = state.estate.environments.get(state.list().selected).map(|e| e.name.clone()).unwrap_or_default();
            let screen = column.screen();
            go_to(state, screen);
            let list = state.list_mut();
            list.filter = env;
            list.selected = 0;
            list.offset = 0;
        }
        Screen::Runs if state.run_detail.is_none() => {
            if let Some(id) = state.selected_target() {
                state.run_detail = Some(id);
                let list = state.list_mut();
                list.selected = 0;
                list.offset = 0;
            }
        }
        Screen::Runs => {
            let row = super::row_at(state, Screen::Runs, state.list().selected);
            let run = state.run_detail.as_ref().and_then(|id| state.estate.runs.iter().find(|r| &r.id == id));
            if let (Some(super::Row::Job(j, _)), Some(run)) = (row, run)
                && let Some(job) = run.jobs.get(j)
            {
                state.last_message = Some((format!("loading the log of {}…", job.name), Level::Unknown));
                state.log_from_run = Some(run.id.clone());
                return vec![Effect::OpenLog(job.id.clone())];
            }
        }
        Screen::Resources => {
            // A service's log (Cloud Logging for Cloud Run) into the viewer.
            let row = rows(state, Screen::Resources).get(state.list().selected).copied();
            if let Some(super::Row::Resource(i)) = row
                && let Some(r) = state.estate.resources.get(i)
                && r.role == crate::model::Role::Compute
            {
                state.last_message = Some((format!("loading the log of {}…", r.name), Level::Unknown));
                return vec![Effect::OpenLog(r.id.clone())];
            }
        }
        Screen::Logs => {
            state.follow_logs = false;
        }
        Screen::Deployments | Screen::Health | Screen::Backups | Screen::Secrets | Screen::Audit => {
            // The whole record, nothing cut: what a narrow table leaves out.
            let row = rows(state, state.screen).get(state.list().selected).copied();
            if let Some(popup) = row.and_then(|r| super::detail::popup(state, r)) {
                state.popup = Some(popup);
            }
        }
        Screen::Runbook => {
            let link = runbook_selected(state).and_then(|i| i.link.clone()).and_then(|l| Screen::from_name(&l));
            if let Some(screen) = link {
                go_to(state, screen);
            }
        }
        _ => {}
    }
    Vec::new()
}

fn back(state: &mut AppState) {
    if state.screen == Screen::Logs
        && let Some(run) = state.log_from_run.take()
    {
        // From a job log back to the run it was opened from, without the log's filter.
        state.lists[Screen::Logs.index()].filter.clear();
        refilter_logs(state);
        go_to(state, Screen::Runs);
        state.run_detail = Some(run);
        clamp(state);
    } else if state.screen == Screen::Runs && state.run_detail.is_some() {
        let id = state.run_detail.take();
        let index = rows(state, Screen::Runs).iter().position(|r| r.target_id(state) == id).unwrap_or(0);
        state.list_mut().selected = index;
        clamp(state);
    } else if !state.list().filter.is_empty() {
        let list = state.list_mut();
        list.filter.clear();
        list.selected = 0;
        list.offset = 0;
        if state.screen == Screen::Logs {
            refilter_logs(state);
        }
    } else if state.screen != Screen::Overview {
        go_to(state, Screen::Overview);
    }
}

fn move_selection(state: &mut AppState, delta: isize) {
    let n = row_count(state, state.screen);
    let max = n.saturating_sub(1) as isize;
    let list = state.list_mut();
    list.selected = (list.selected as isize).saturating_add(delta).clamp(0, max.max(0)) as usize;
    let at_end = list.selected as isize == max;
    if state.screen == Screen::Logs {
        state.follow_logs = at_end;
    }
    clamp_rows(state, n);
}

/// Keeps the selection inside the list and the scroll offset around the selection.
pub fn clamp(state: &mut AppState) {
    let n = row_count(state, state.screen);
    clamp_rows(state, n);
}

/// `clamp` when the caller already counted the rows (a filtered count is a full pass).
fn clamp_rows(state: &mut AppState, n: usize) {
    let height = state.screen.list_height(state.size).max(1);
    let list = state.list_mut();
    if n == 0 {
        list.selected = 0;
        list.offset = 0;
        return;
    }
    list.selected = list.selected.min(n - 1);
    if list.selected < list.offset {
        list.offset = list.selected;
    } else if list.selected >= list.offset + height {
        list.offset = list.selected + 1 - height;
    }
    list.offset = list.offset.min(n.saturating_sub(height));
}

fn on_mouse(state: &mut AppState, mouse: MouseEvent) -> Vec<Effect> {
    // The wheel scrolls a confirmation's plan or a long help, as the arrows do.
    if matches!(&state.popup, Some(Popup::Confirm { .. } | Popup::Help)) {
        let code = match mouse.kind {
            MouseEventKind::ScrollDown => KeyCode::Down,
            MouseEventKind::ScrollUp => KeyCode::Up,
            _ => return Vec::new(),
        };
        state.dirty = true;
        let popup = state.popup.take();
        return popup.map(|p| on_popup_key(state, p, KeyEvent::new(code, KeyModifiers::NONE))).unwrap_or_default();
    }
    if state.popup.is_some() || state.first_run {
        return Vec::new();
    }
    match mouse.kind {
        MouseEventKind::ScrollDown => {
            move_selection(state, 3);
            state.dirty = true;
        }
        MouseEventKind::ScrollUp => {
            move_selection(state, -3);
            state.dirty = true;
        }
        MouseEventKind::Down(MouseButton::Left) => {
            // Hit-tested against the last frame drawn: a click acts on what was on screen.
            if state.drawn.is_tab_row(mouse.row) {
                if let Some(screen) = state.drawn.tab_at(mouse.column, mouse.row) {
                    go_to(state, screen);
                }
            } else if state.drawn.screen == state.screen
                && let Some(row) = state.drawn.list_row_at(mouse.row)
                && row < row_count(state, state.screen)
            {
                state.list_mut().selected = row;
                clamp(state);
            }
            state.dirty = true;
        }
        _ => {}
    }
    Vec::new()
}
