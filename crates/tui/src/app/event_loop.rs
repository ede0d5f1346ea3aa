//! The TUI loop: providers in their own tasks send owned snapshots over a channel; the loop
//! drains messages, applies `update`, runs effects, and draws only when something changed
//! (at most ~60 fps, nothing at all when idle). The terminal is restored on every exit path:
//! normal quit, error, panic (hook) and SIGTERM/SIGHUP/SIGINT.
//!
//! Effects are requests: `handle_effect` sees the state read-only and answers with messages,
//! which go through `update` like any other. An answer known at once (a refusal, a new source)
//! is handled right after the message that asked for it; slow work (planning, actions,
//! plugins, the store) runs in tasks and answers over the channel.

use std::io::{Stdout, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::{Notify, mpsc};

use super::{AppState, Effect, Msg, update};
use crate::actions::{ActionError, ActionFailure, Outcome, Pipeline};
use crate::clock::Clock;
use crate::model::Level;
use crate::plugins::PluginOp;
use crate::providers::{Provider, ProviderError};
use crate::theme::Theme;

const FRAME: Duration = Duration::from_millis(16);
const FETCH_TIMEOUT: Duration = Duration::from_mins(1);

/// Everything the loop needs besides the state.
pub struct Runtime {
    pub providers: Vec<Arc<dyn Provider>>,
    /// Every action and plugin run goes through it; its runs in flight are closed at quit.
    pub pipeline: Pipeline,
    pub clock: Arc<dyn Clock>,
    /// Builds the demo provider when the first-run screen asks for it.
    pub demo: Option<Box<dyn Fn() -> Arc<dyn Provider> + Send>>,
    /// The team store (`[team]`), replicated and listened to by tasks of its own.
    pub team: Option<Arc<crate::team::Team>>,
    /// The demo's simulated teammate, whose entries arrive as the team store's do.
    pub teammate: Option<Box<dyn crate::team::SimulatedTeammate>>,
}

type Term = Terminal<CrosstermBackend<Stdout>>;

fn setup_terminal() -> std::io::Result<Term> {
    enable_raw_mode()?;
    let mut out = std::io::stdout();
    crossterm::execute!(out, EnterAlternateScreen, EnableMouseCapture)?;
    Terminal::new(CrosstermBackend::new(out))
}

/// Back to the TUI after a command had the terminal: raw mode, alternate screen, mouse, and a
/// full redraw (the screen behind the buffer is gone).
fn resume_terminal(terminal: &mut Term) -> std::io::Result<()> {
    enable_raw_mode()?;
    let mut out = std::io::stdout();
    crossterm::execute!(
        out,
        EnterAlternateScreen,
        EnableMouseCapture,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    // A new Terminal has empty buffers, so the next draw paints every cell. (`clear()` would
    // ask the terminal for the cursor position, which not every terminal answers.)
    *terminal = Terminal::new(CrosstermBackend::new(out))?;
    Ok(())
}

/// Idempotent: safe to call from the panic hook and again on the normal path.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(out, DisableMouseCapture, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = out.flush();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        // The loop runs on the main thread. A panic in a provider task ends only that task
        // (its source goes stale); restoring the terminal then would garble the running UI.
        if std::thread::current().name() == Some("main") {
            restore_terminal();
            previous(info);
        }
    }));
}

/// Terminal input, read on a thread of its own with crossterm's blocking API. `pause` makes
/// sure nothing in skydeck reads the terminal while a plugin's command has it; `resume` gives
/// it back. (crossterm's async `EventStream` cannot promise that: its reader thread may sit in
/// a read when the command starts, and a dropped stream can leave a stale wake-up behind.)
struct Input {
    rx: mpsc::Receiver<std::io::Result<Event>>,
    paused: Arc<std::sync::atomic::AtomicBool>,
    /// Held by the reader while it polls or reads.
    reading: Arc<std::sync::Mutex<()>>,
}

impl Input {
    const POLL: Duration = Duration::from_millis(200);

    fn spawn() -> Input {
        use std::sync::atomic::Ordering;
        let (tx, rx) = mpsc::channel(256);
        let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reading = Arc::new(std::sync::Mutex::new(()));
        let (p, r) = (paused.clone(), reading.clone());
        std::thread::Builder::new()
            .name("input".into())
            .spawn(move || {
                loop {
                    let guard = r.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if p.load(Ordering::SeqCst) {
                        drop(guard);
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    let event = match crossterm::event::poll(Self::POLL) {
                        Ok(true) => Some(crossterm::event::read()),
                        Ok(false) => None,
                        Err(e) => Some(Err(e)),
                    };
                    drop(guard);
                    if let Some(event) = event {
                        let failed = event.is_err();
                        if tx.blocking_send(event).is_err() || failed {
                            return;
                        }
                    }
                }
            })
            .expect("spawn the input thread");
        Input { rx, paused, reading }
    }

    /// Returns once the reader has stopped touching the terminal.
    fn pause(&self) {
        self.paused.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(self.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    fn resume(&self) {
        self.paused.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Spawns the polling and log tasks of one provider.
fn spawn_provider(
    index: usize,
    provider: Arc<dyn Provider>,
    tx: mpsc::Sender<Msg>,
    refreshers: &mut Vec<Arc<Notify>>,
    clock: Arc<dyn Clock>,
) {
    // Each task has its own Notify: `notify_one` keeps a wake-up pending while the task is
    // busy fetching, so a refresh request is never lost.
    let refresh = Arc::new(Notify::new());
    refreshers.push(refresh.clone());
    let p = provider.clone();
    let tx2 = tx.clone();
    tokio::spawn(async move {
        loop {
            let result = match tokio::time::timeout(FETCH_TIMEOUT, p.fetch()).await {
                Ok(r) => r,
                Err(_) => Err(ProviderError::Timeout(FETCH_TIMEOUT)),
            };
            let backoff = match &result {
                Err(ProviderError::RateLimited { retry_after: Some(d) }) => Some(*d),
                _ => None,
            };
            if tx.send(Msg::Source { index, result, at: clock.now() }).await.is_err() {
                return;
            }
            let wait = backoff.unwrap_or_else(|| p.refresh_interval());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = refresh.notified() => {}
                // A watched change (Kubernetes) is read now; a backoff is honoured first.
                () = p.changed(), if backoff.is_none() => {}
            }
        }
    });
    tokio::spawn(async move {
        let mut cursor = None;
        loop {
            if let Ok(Ok(lines)) = tokio::time::timeout(FETCH_TIMEOUT, provider.fetch_logs(cursor)).await {
                if let Some(last) = lines.last() {
                    cursor = Some(last.at);
                }
                if !lines.is_empty() && tx2.send(Msg::Logs { index, lines }).await.is_err() {
                    return;
                }
            }
            if provider.logs_pending() {
                // The rest of a big file: read the next batch once the loop has taken this one,
                // so at most a batch or two of lines is ever in flight (not the whole file).
                while tx2.max_capacity() - tx2.capacity() > 1 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                continue;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

pub async fn run(mut rt: Runtime, mut state: AppState, mut theme: Theme) -> anyhow::Result<()> {
    install_panic_hook();
    let mut terminal = setup_terminal()?;
    let result = run_inner(&mut rt, &mut state, &mut theme, &mut terminal).await;
    restore_terminal();
    close_runs(&rt, crate::actions::QUIT_GRACE).await;
    result
}

/// However the loop ended (q, ctrl-c, SIGTERM, an error), plugin runs and actions still
/// going get a short grace to finish, then are stopped; each gets its "finished"/"failed" or
/// "interrupted" audit entry, linked to its "started" one.
pub async fn close_runs(rt: &Runtime, grace: Duration) {
    let names = rt.pipeline.running().names();
    if names.is_empty() {
        return;
    }
    eprintln!("skydeck: waiting up to {}s for {} to finish, then stopping it", grace.as_secs(), names.join(", "));
    let pipeline = rt.pipeline.clone();
    match tokio::task::spawn_blocking(move || pipeline.shutdown(grace)).await {
        Ok(0) => {}
        Ok(n) => eprintln!("skydeck: {n} plugin run(s) interrupted; see `skydeck audit`"),
        Err(e) => tracing::error!("closing plugin runs: {e}"),
    }
}

/// Sends the teammate's entries once each, as they become due (checked once a second).
fn spawn_teammate(
    teammate: Box<dyn crate::team::SimulatedTeammate>,
    clock: Arc<dyn Clock>,
    incident: tokio::sync::watch::Receiver<Option<crate::model::Timestamp>>,
    tx: mpsc::Sender<Msg>,
) {
    tokio::spawn(async move {
        let mut sent = std::collections::HashSet::new();
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            let opened = *incident.borrow();
            let fresh: Vec<_> =
                teammate.events(clock.now(), opened).into_iter().filter(|e| sent.insert(e.seq)).collect();
            if !fresh.is_empty() && tx.send(Msg::Team(crate::team::TeamMsg::Events(fresh))).await.is_err() {
                return;
            }
        }
    });
}

async fn run_inner(
    rt: &mut Runtime,
    state: &mut AppState,
    theme: &mut Theme,
    terminal: &mut Term,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    let mut refreshers = Vec::new();
    for (i, p) in rt.providers.iter().enumerate() {
        spawn_provider(i, p.clone(), tx.clone(), &mut refreshers, rt.clock.clone());
    }
    {
        let tx = tx.clone();
        let clock = rt.clock.clone();
        tokio::spawn(async move {
            // Once a second: staleness and the incident timer; update() redraws only on change.
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                if tx.send(Msg::Tick(clock.now())).await.is_err() {
                    return;
                }
            }
        });
    }
    if let Some(team) = &rt.team {
        team.clone().spawn(tx.clone());
    }
    // The teammate sees when an incident opens (the loop reads the state, never the task).
    let (incident_tx, incident_rx) = tokio::sync::watch::channel(state.incident.as_ref().map(|i| i.opened_at));
    if let Some(teammate) = rt.teammate.take() {
        spawn_teammate(teammate, rt.clock.clone(), incident_rx, tx.clone());
    }
    load_audit(rt, &tx);
    state.now = rt.clock.now();
    let mut input = Input::spawn();
    let mut signals = Signals::new()?;
    let mut last_draw = Instant::now().checked_sub(FRAME).unwrap_or_else(Instant::now);
    state.dirty = true;
    loop {
        if state.dirty {
            let since = last_draw.elapsed();
            if since < FRAME {
                tokio::time::sleep(FRAME.saturating_sub(since)).await;
            }
            // A resize before the event stream started would otherwise go unseen.
            let size = terminal.size()?;
            if (size.width, size.height) != state.size {
                let _ = update(state, Msg::Resize(size.width, size.height));
            }
            let mut drawn = None;
            terminal.draw(|f| drawn = Some(crate::views::draw(state, theme, f)))?;
            state.dirty = false;
            // What was drawn where, for clicks and paging (never marks the state dirty).
            if let Some(drawn) = drawn {
                let _ = update(state, Msg::Drawn(drawn));
            }
            last_draw = Instant::now();
        }
        let filtering = state.log_filter.pending(&state.logs);
        let msg = tokio::select! {
            biased;
            ev = input.rx.recv() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Mouse(m))) => Msg::Mouse(m),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            Some(m) = rx.recv() => m,
            () = signals.recv() => return Ok(()),
            // Input and messages first; the filter scans in slices in between.
            () = std::future::ready(()), if filtering => Msg::FilterStep,
        };
        let mut pending = std::collections::VecDeque::from([msg]);
        // Drain whatever else arrived, so a burst costs one frame.
        while pending.len() < 256 {
            match rx.try_recv() {
                Ok(m) => pending.push_back(m),
                Err(_) => break,
            }
        }
        while let Some(msg) = pending.pop_front() {
            // The theme is the loop's, like the terminal: it draws with it from now on.
            if let Msg::ThemeLoaded { theme: loaded, .. } = &msg {
                *theme = (**loaded).clone();
            }
            let mut replies = Vec::new();
            for effect in update(state, msg) {
                match handle_effect(rt, state, effect, &tx, &mut refreshers, &mut replies) {
                    Next::Continue => {}
                    Next::Quit => return Ok(()),
                    Next::Suspend(run) => {
                        // Nobody in skydeck reads the terminal while the command has it.
                        input.pause();
                        restore_terminal();
                        let pipeline = rt.pipeline.clone();
                        let outcome = tokio::task::spawn_blocking(move || {
                            futures::executor::block_on(pipeline.run(PluginOp::new(*run)))
                        })
                        .await?;
                        // A fresh Terminal: the next draw (PluginDone redraws) paints every cell.
                        resume_terminal(terminal)?;
                        input.resume();
                        // A ctrl-c that stopped the command was meant for it, not for skydeck.
                        signals.forget_interrupts()?;
                        replies.push(Msg::PluginDone(Box::new(outcome)));
                    }
                }
            }
            // The answers to this message come before the rest of the burst.
            for reply in replies.into_iter().rev() {
                pending.push_front(reply);
            }
        }
        let opened = state.incident.as_ref().filter(|i| i.closed_at.is_none()).map(|i| i.opened_at);
        incident_tx.send_if_modified(|was| std::mem::replace(was, opened) != opened);
    }
}

/// What the loop does after an effect.
enum Next {
    Continue,
    Quit,
    /// Hand the terminal to a plugin's command, then come back.
    Suspend(Box<crate::plugins::PluginRun>),
}

/// Runs one effect. The state is only read: results go to `replies` (answers known now, fed to
/// `update` next) or come back over `tx` from the task doing the work.
fn handle_effect(
    rt: &mut Runtime,
    state: &AppState,
    effect: Effect,
    tx: &mpsc::Sender<Msg>,
    refreshers: &mut Vec<Arc<Notify>>,
    replies: &mut Vec<Msg>,
) -> Next {
    match effect {
        Effect::Quit => return Next::Quit,
        Effect::RunPlugin(run) if run.output == crate::plugins::Output::Terminal => return Next::Suspend(run),
        Effect::RunPlugin(run) => {
            let (pipeline, tx) = (rt.pipeline.clone(), tx.clone());
            // The command blocks its thread; the pipeline around it is the same as for verbs.
            tokio::task::spawn_blocking(move || {
                let outcome = futures::executor::block_on(pipeline.run(PluginOp::new(*run)));
                let _ = tx.blocking_send(Msg::PluginDone(Box::new(outcome)));
            });
        }
        Effect::RefreshAll => refreshers.iter().for_each(|n| n.notify_one()),
        Effect::LoadAudit => load_audit(rt, tx),
        Effect::SetTheme(name) => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let msg = match Theme::load(Some(&name)) {
                    Ok(theme) => Msg::ThemeLoaded { name, theme: Box::new(theme) },
                    Err(e) => Msg::ThemeFailed(e.to_string()),
                };
                let _ = tx.blocking_send(msg);
            });
        }
        Effect::StartDemo => {
            if let Some(make) = &rt.demo {
                let provider = make();
                let index = rt.providers.len();
                // Answered before the next message from the channel, so the slot exists when
                // the new source first reports.
                replies.push(Msg::DemoStarted {
                    name: provider.name().to_string(),
                    interval_secs: provider.refresh_interval().as_secs(),
                });
                rt.providers.push(provider.clone());
                spawn_provider(index, provider, tx.clone(), refreshers, rt.clock.clone());
            }
        }
        Effect::Copy(text) => {
            // OSC 52: the terminal (and tmux with set-clipboard) puts it on the clipboard.
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            let mut out = std::io::stdout();
            let _ = write!(out, "\x1b]52;c;{encoded}\x07");
            let _ = out.flush();
        }
        Effect::SaveLogs { path, lines } => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let result = std::fs::write(&path, lines.join("\n") + "\n");
                let text = match result {
                    Ok(()) => format!("saved {} lines to {path}", lines.len()),
                    Err(e) => format!("could not save to {path}: {e}"),
                };
                let _ = tx.blocking_send(Msg::Toast(text));
            });
        }
        Effect::SaveRunbookItem { runbook, day, progress } => {
            let store = rt.pipeline.store().clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = store.set_runbook_item(&runbook, &day, &progress) {
                    tracing::error!("runbook progress not saved: {e}");
                }
            });
        }
        Effect::StartIncident { title, severity, environment } => {
            let store = rt.pipeline.store().clone();
            let (tx, user, now) = (tx.clone(), rt.pipeline.user.clone(), rt.clock.now());
            let firing = crate::incident::firing_at_open(&state.estate.alerts, environment.as_deref(), now);
            tokio::task::spawn_blocking(move || {
                match store.open_incident(&title, &severity, environment.as_deref(), &user, now) {
                    Ok(id) => {
                        for entry in &firing {
                            if let Err(e) = store.add_timeline(id, entry) {
                                tracing::error!("incident timeline: {e}");
                            }
                        }
                    }
                    Err(e) => tracing::error!("incident not opened: {e}"),
                }
                let _ = tx.blocking_send(Msg::IncidentLoaded(store.open_incident_now().ok().flatten()));
            });
        }
        Effect::IncidentEntry(entry) => {
            if let Some(incident) = &state.incident {
                let (store, id) = (rt.pipeline.store().clone(), incident.id);
                let stored = entry.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.add_timeline(id, &stored) {
                        tracing::error!("incident timeline: {e}");
                    }
                });
                replies.push(Msg::TimelineAdded(entry));
            }
        }
        Effect::CloseIncident(resolution) => {
            if let Some(incident) = state.incident.clone() {
                let store = rt.pipeline.store().clone();
                let (tx, user, now) = (tx.clone(), rt.pipeline.user.clone(), rt.clock.now());
                replies.push(Msg::IncidentClosed(incident.id));
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.close_incident(incident.id, &resolution, &user, now) {
                        tracing::error!("incident not closed: {e}");
                        let _ = tx.blocking_send(Msg::IncidentLoaded(Some(incident)));
                    }
                });
            }
        }
        Effect::LoadIncident => {
            let store = rt.pipeline.store().clone();
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.blocking_send(Msg::IncidentLoaded(store.open_incident_now().ok().flatten()));
            });
        }
        Effect::LoadIncidents => {
            let store = rt.pipeline.store().clone();
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || match store.incidents() {
                Ok(list) => {
                    let _ = tx.blocking_send(Msg::IncidentHistory(list));
                }
                Err(e) => {
                    let _ = tx.blocking_send(Msg::Toast(format!("could not read the incidents: {e}")));
                }
            });
        }
        Effect::ExportIncident { id, path, markdown } => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                // Say where it went: the absolute path, as the file lands relative to the cwd.
                let text = match std::fs::write(&path, markdown) {
                    Ok(()) => {
                        let shown = std::fs::canonicalize(&path).map(|p| p.display().to_string()).unwrap_or(path);
                        format!("postmortem of INC {id} written to {shown}")
                    }
                    Err(e) => format!("could not write the postmortem of INC {id} to {path}: {e}"),
                };
                let _ = tx.blocking_send(Msg::Toast(text));
            });
        }
        Effect::PrepareInputs(request) => {
            let Some((provider, _)) = owner(rt, state, &request.target) else {
                replies.push(Msg::Planned(Err(ActionError::NotFound(request.target.clone()))));
                return Next::Continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = provider.action_inputs(&request).await;
                let _ = tx.send(Msg::InputsReady { request, result }).await;
            });
        }
        Effect::LoadOlderLogs(limit) => {
            for (index, provider) in rt.providers.iter().enumerate() {
                let (provider, tx) = (provider.clone(), tx.clone());
                tokio::spawn(async move {
                    let lines = provider.fetch_older_logs(limit).await.unwrap_or_default();
                    let _ = tx.send(Msg::OlderLogs { index, lines }).await;
                });
            }
        }
        Effect::OpenLog(target) => {
            // The provider whose snapshot holds the job (or the service) answers for its log.
            let owner = rt.providers.iter().zip(&state.sources).find(|(_, slot)| {
                let data = &slot.source.data;
                data.runs.iter().any(|r| r.jobs.iter().any(|j| j.id == target))
                    || data.resources.iter().any(|r| r.id == target)
            });
            let Some((provider, _)) = owner else {
                replies.push(Msg::Notice(format!("no source knows {target}"), Level::Warn));
                return Next::Continue;
            };
            let provider = provider.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = provider.fetch_log(&target).await;
                let _ = tx.send(Msg::LogLoaded { target, result }).await;
            });
        }
        Effect::Plan(request) => {
            // Read-only refuses before anything is planned.
            if let Err(e) = rt.pipeline.gate(request.verb) {
                replies.push(Msg::Planned(Err(e)));
                return Next::Continue;
            }
            let Some((provider, snapshot)) = owner(rt, state, &request.target) else {
                replies.push(Msg::Planned(Err(ActionError::NotFound(request.target.clone()))));
                return Next::Continue;
            };
            // Planning may take a while (big estates, a provider's own checks): off the loop.
            let snapshot = snapshot.clone();
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.blocking_send(Msg::Planned(provider.plan(&request, &snapshot)));
            });
        }
        Effect::Execute(plan) => {
            let Some(provider) = rt.providers.iter().find(|p| p.name() == plan.source).cloned() else {
                let error = ActionFailure::SourceGone(plan.source.clone());
                replies.push(Msg::ActionDone(Outcome { plan: *plan, result: Err(error) }));
                return Next::Continue;
            };
            let pipeline = rt.pipeline.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let outcome = pipeline.act(provider.as_ref(), *plan).await;
                let _ = tx.send(Msg::ActionDone(outcome)).await;
            });
        }
    }
    Next::Continue
}

/// The provider whose snapshot holds the target, with that snapshot.
fn owner<'s>(
    rt: &Runtime,
    state: &'s AppState,
    target: &str,
) -> Option<(Arc<dyn Provider>, &'s crate::model::Snapshot)> {
    // The one lookup `act` uses too.
    let sources = rt.providers.iter().zip(&state.sources).map(|(p, slot)| (p, &slot.source.data));
    crate::providers::owner_of(sources, target).map(|(p, snapshot, _)| (p.clone(), snapshot))
}

fn load_audit(rt: &Runtime, tx: &mpsc::Sender<Msg>) {
    let store = rt.pipeline.store().clone();
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || match store.audit_entries() {
        Ok(entries) => {
            let _ = tx.blocking_send(Msg::Audit(entries));
        }
        Err(e) => tracing::error!("audit log: {e}"),
    });
}

/// SIGTERM, SIGHUP and SIGINT end the loop cleanly (the terminal is restored by the caller).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    /// SIGINTs before this are a foreground command's ctrl-c that tokio's signal driver passed on
    /// late (it dispatches on a worker's next I/O turn, which a busy machine delays past the
    /// command's end). In raw mode ctrl-c is a key, so only `kill -INT` is ignored meanwhile.
    ignore_interrupts_until: Option<Instant>,
}

/// How long after a foreground command ends a SIGINT is still taken as the command's.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
                ignore_interrupts_until: None,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals { ignore_interrupts_until: None })
    }
    /// Drops SIGINTs received so far (a fresh listener only sees new ones).
    fn forget_interrupts(&mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            self.int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        }
        self.ignore_interrupts_until = Some(Instant::now() + INTERRUPT_GRACE);
        Ok(())
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.hup.recv() => return,
                _ = self.int.recv() => {
                    if self.ignore_interrupts_until.is_none_or(|until| Instant::now() >= until) {
                        return;
                    }
                    tracing::debug!("SIGINT right after a foreground command ended: taken as the command's");
                }
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::actions::{ActionRequest, Plan, Verb};
    use crate::clock::ManualClock;
    use crate::model::Snapshot;
    use crate::providers::BoxFuture;
    use crate::store::Store;

    fn t0() -> crate::model::Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    const CLOUD: crate::model::Provider =
        crate::model::Provider::new(&crate::model::ProviderInfo::named("cloud", "Cloud"));

    /// One production web app whose roll back plans only when the test lets it.
    struct Held {
        snapshot: Snapshot,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
        planned_on: Mutex<Option<std::thread::ThreadId>>,
    }

    fn web_app() -> Snapshot {
        let web = crate::model::Resource {
            id: "cloud/web".into(),
            name: "web".into(),
            kind: "Web app".into(),
            role: crate::model::Role::Compute,
            provider: CLOUD,
            environment: "production".into(),
            region: "here".into(),
            status: "Running".into(),
            level: Level::Ok,
            current_version: Some("v2".into()),
            versions: vec!["v1".into(), "v2".into()],
            details: Vec::new(),
        };
        Snapshot { resources: vec![web], ..Snapshot::default() }
    }

    impl crate::providers::Source for Held {
        fn name(&self) -> &'static str {
            "held"
        }
        fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
            let snapshot = self.snapshot.clone();
            Box::pin(async move { Ok(snapshot) })
        }
        fn capabilities(&self) -> crate::providers::Capabilities<'_> {
            crate::providers::Capabilities { traffic_shift: Some(self), ..Default::default() }
        }
    }

    impl crate::providers::TrafficShift for Held {
        fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
            *self.planned_on.lock().unwrap() = Some(std::thread::current().id());
            let _ = self.release.lock().unwrap().recv_timeout(Duration::from_secs(10));
            Ok(Plan::for_target(request, "held", snapshot)?.0)
        }
        fn execute<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
            Box::pin(async { Ok("rolled back".into()) })
        }
        fn verify<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
            Box::pin(async { Ok("v1 serves".into()) })
        }
    }

    struct Setup {
        rt: Runtime,
        state: AppState,
        held: Arc<Held>,
        release: std::sync::mpsc::Sender<()>,
        store: Arc<Store>,
        target: String,
    }

    async fn setup(read_only: bool) -> Setup {
        let clock = Arc::new(ManualClock::new(t0()));
        let snapshot = web_app();
        let target = snapshot.resources[0].id.clone();
        let (release, rx) = std::sync::mpsc::channel();
        let held = Arc::new(Held { snapshot: snapshot.clone(), release: Mutex::new(rx), planned_on: Mutex::new(None) });
        let state = AppState::with_snapshot(held.name(), snapshot, Vec::new(), t0(), (120, 40));
        let store = Arc::new(Store::open_in_memory().unwrap());
        let rt = Runtime {
            providers: vec![held.clone()],
            pipeline: Pipeline::new(store.clone(), read_only, "ana").with_clock(clock.clone()),
            clock,
            demo: None,
            team: None,
            teammate: None,
        };
        Setup { rt, state, held, release, store, target }
    }

    fn run(s: &mut Setup, effect: Effect, tx: &mpsc::Sender<Msg>) -> Vec<Msg> {
        let mut replies = Vec::new();
        let next = handle_effect(&mut s.rt, &s.state, effect, tx, &mut Vec::new(), &mut replies);
        assert!(matches!(next, Next::Continue));
        replies
    }

    async fn next(rx: &mut mpsc::Receiver<Msg>) -> Msg {
        tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("an answer").expect("open channel")
    }

    /// `Effect::Plan` returns at once while the provider is still planning (on another
    /// thread); the plan comes back as `Msg::Planned`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn planning_runs_off_the_loop_thread_and_answers_with_a_message() {
        let mut s = setup(false).await;
        let (tx, mut rx) = mpsc::channel(16);
        let request = ActionRequest::new(Verb::Rollback, &s.target);
        assert!(run(&mut s, Effect::Plan(request), &tx).is_empty());
        // Still held: nothing has come back, yet the loop got its thread back.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err());
        s.release.send(()).unwrap();
        assert!(matches!(next(&mut rx).await, Msg::Planned(_)));
        let planned_on = s.held.planned_on.lock().unwrap().expect("planned");
        assert_ne!(planned_on, std::thread::current().id());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_only_and_unknown_targets_are_answered_without_asking_the_provider() {
        let mut s = setup(true).await;
        let (tx, _rx) = mpsc::channel(16);
        let request = ActionRequest::new(Verb::Rollback, &s.target);
        let replies = run(&mut s, Effect::Plan(request), &tx);
        assert_eq!(replies, [Msg::Planned(Err(ActionError::ReadOnly(Verb::Rollback)))]);
        let mut s = setup(false).await;
        let replies = run(&mut s, Effect::Plan(ActionRequest::new(Verb::Rollback, "nope")), &tx);
        assert_eq!(replies, [Msg::Planned(Err(ActionError::NotFound("nope".into())))]);
        assert!(s.held.planned_on.lock().unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_theme_comes_back_loaded_or_failed() {
        let mut s = setup(false).await;
        let (tx, mut rx) = mpsc::channel(16);
        assert!(run(&mut s, Effect::SetTheme("light".into()), &tx).is_empty());
        assert!(matches!(next(&mut rx).await, Msg::ThemeLoaded { name, .. } if name == "light"));
        run(&mut s, Effect::SetTheme("no-such-theme".into()), &tx);
        assert!(matches!(next(&mut rx).await, Msg::ThemeFailed(why) if why.contains("not found")));
        assert_eq!(s.state.theme_name, "dark", "only update changes the state");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn incident_effects_write_the_store_and_answer_with_messages() {
        let mut s = setup(false).await;
        let (tx, _rx) = mpsc::channel(16);
        let id = s.store.open_incident("db down", "sev1", None, "ana", t0()).unwrap();
        s.state.incident = s.store.open_incident_now().unwrap();
        let entry = crate::incident::Entry {
            at: t0(),
            kind: crate::incident::EntryKind::Note,
            who: "ana".into(),
            text: "looking".into(),
        };
        assert_eq!(run(&mut s, Effect::IncidentEntry(entry.clone()), &tx), [Msg::TimelineAdded(entry)]);
        assert_eq!(s.state.incident.as_ref().unwrap().timeline.len(), 1, "the state is update's to change");
        assert_eq!(run(&mut s, Effect::CloseIncident("fixed".into()), &tx), [Msg::IncidentClosed(id)]);
        assert!(s.state.incident.is_some());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while s.store.open_incident_now().unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "the incident was never closed in the store");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stored = s.store.incidents().unwrap().remove(0);
        assert!(stored.timeline.iter().any(|e| e.text == "looking"));
    }

    /// A plan for a source that went away ends the action (the in-flight count comes down).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn executing_for_a_gone_source_answers_action_done() {
        let mut s = setup(false).await;
        let (tx, _rx) = mpsc::channel(16);
        let plan = Plan {
            request: ActionRequest::new(Verb::Rollback, &s.target),
            source: "gone".into(),
            target_name: "web".into(),
            environment: "production".into(),
            tier: crate::model::Tier::Prod,
            risk: crate::actions::Risk::High,
            summary: "roll back web".into(),
            calls: Vec::new(),
            verification: "re-read".into(),
            touches: None,
            action_name: None,
            payload: Default::default(),
        };
        let replies = run(&mut s, Effect::Execute(Box::new(plan.clone())), &tx);
        assert_eq!(replies, [Msg::ActionDone(Outcome { plan, result: Err(ActionFailure::SourceGone("gone".into())) })]);
        assert!(s.store.audit_entries().unwrap().is_empty(), "nothing was sent, nothing audited");
    }

    /// A ctrl-c that stopped a foreground command may reach skydeck's listener after the
    /// command ended: within the grace it is the command's, after it it ends skydeck again.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_late_sigint_after_a_foreground_command_is_the_commands() {
        let interrupt = || {
            let pid = std::process::id().to_string();
            assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        };
        let mut signals = Signals::new().unwrap();
        signals.forget_interrupts().unwrap();
        interrupt();
        assert!(
            tokio::time::timeout(Duration::from_millis(500), signals.recv()).await.is_err(),
            "a SIGINT within the grace does not end the loop"
        );
        signals.ignore_interrupts_until = Some(Instant::now());
        interrupt();
        assert!(tokio::time::timeout(Duration::from_secs(5), signals.recv()).await.is_ok(), "later, SIGINT ends it");
    }
}
