//! The TUI loop: providers in their own tasks send owned snapshots over a channel; the loop
//! drains messages, applies `update`, runs effects, and draws only when something changed
//! (at most ~60 fps, nothing at all when idle). The terminal is restored on every exit path:
//! normal quit, error, panic (hook) and SIGTERM/SIGHUP/SIGINT.

use std::io::{Stdout, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::{Notify, mpsc};

use super::{AppState, Effect, Msg, SourceSlot, update};
use crate::actions::{ActionError, Pipeline, find_target};
use crate::clock::Clock;
use crate::model::Source;
use crate::providers::{Provider, ProviderError};
use crate::theme::Theme;

const FRAME: Duration = Duration::from_millis(16);
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the loop needs besides the state.
pub struct Runtime {
    pub providers: Vec<Arc<dyn Provider>>,
    pub pipeline: Pipeline,
    pub clock: Arc<dyn Clock>,
    /// Builds the demo provider when the first-run screen asks for it.
    pub demo: Option<Box<dyn Fn() -> Arc<dyn Provider> + Send>>,
    /// Plugin runs in flight: quitting closes their audit entries.
    pub plugins: crate::plugins::Running,
    /// The team store (`[team]`), replicated and listened to by tasks of its own.
    pub team: Option<Arc<crate::team::Team>>,
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
                    let guard = r.lock().unwrap_or_else(|e| e.into_inner());
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
        drop(self.reading.lock().unwrap_or_else(|e| e.into_inner()));
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
                _ = tokio::time::sleep(wait) => {}
                _ = refresh.notified() => {}
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
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    });
}

pub async fn run(mut rt: Runtime, mut state: AppState, mut theme: Theme) -> anyhow::Result<()> {
    install_panic_hook();
    let mut terminal = setup_terminal()?;
    let result = run_inner(&mut rt, &mut state, &mut theme, &mut terminal).await;
    restore_terminal();
    close_plugin_runs(&rt, crate::plugins::QUIT_GRACE).await;
    result
}

/// However the loop ended (q, ctrl-c, SIGTERM, an error), plugin runs still going get a
/// short grace to finish, then are stopped; each gets its "finished"/"failed" or
/// "interrupted" audit entry, linked to its "started" one.
pub async fn close_plugin_runs(rt: &Runtime, grace: Duration) {
    let names = rt.plugins.names();
    if names.is_empty() {
        return;
    }
    eprintln!("skydeck: waiting up to {}s for {} to finish, then stopping it", grace.as_secs(), names.join(", "));
    let (running, store) = (rt.plugins.clone(), rt.pipeline.store().clone());
    match tokio::task::spawn_blocking(move || running.shutdown(&store, grace)).await {
        Ok(0) => {}
        Ok(n) => eprintln!("skydeck: {n} plugin run(s) interrupted; see `skydeck audit`"),
        Err(e) => tracing::error!("closing plugin runs: {e}"),
    }
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
    load_audit(rt, &tx);
    state.now = rt.clock.now();
    let mut input = Input::spawn();
    let mut signals = Signals::new()?;
    let mut last_draw = Instant::now() - FRAME;
    state.dirty = true;
    loop {
        if state.dirty {
            let since = last_draw.elapsed();
            if since < FRAME {
                tokio::time::sleep(FRAME - since).await;
            }
            // A resize before the event stream started would otherwise go unseen.
            let size = terminal.size()?;
            if (size.width, size.height) != state.size {
                let _ = update(state, Msg::Resize(size.width, size.height));
            }
            terminal.draw(|f| crate::views::render(state, theme, f))?;
            state.dirty = false;
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
            _ = signals.recv() => return Ok(()),
            // Input and messages first; the filter scans in slices in between.
            _ = std::future::ready(()), if filtering => Msg::FilterStep,
        };
        let mut pending = vec![msg];
        // Drain whatever else arrived, so a burst costs one frame.
        while pending.len() < 256 {
            match rx.try_recv() {
                Ok(m) => pending.push(m),
                Err(_) => break,
            }
        }
        for msg in pending {
            for effect in update(state, msg) {
                match handle_effect(rt, state, theme, effect, &tx, &mut refreshers) {
                    Next::Continue => {}
                    Next::Quit => return Ok(()),
                    Next::Suspend(run) => {
                        // Nobody in skydeck reads the terminal while the command has it.
                        input.pause();
                        restore_terminal();
                        let (store, user, read_only) =
                            (rt.pipeline.store().clone(), rt.pipeline.user.clone(), rt.pipeline.read_only);
                        let running = rt.plugins.clone();
                        let outcome = tokio::task::spawn_blocking(move || {
                            crate::plugins::execute_tracked(&run, &store, &user, read_only, &running)
                        })
                        .await?;
                        resume_terminal(terminal)?;
                        input.resume();
                        // A ctrl-c that stopped the command was meant for it, not for skydeck.
                        signals.forget_interrupts()?;
                        for e in update(state, Msg::PluginDone(Box::new(outcome))) {
                            if let Next::Quit = handle_effect(rt, state, theme, e, &tx, &mut refreshers) {
                                return Ok(());
                            }
                        }
                        state.dirty = true;
                    }
                }
            }
        }
    }
}

/// What the loop does after an effect.
enum Next {
    Continue,
    Quit,
    /// Hand the terminal to a plugin's command, then come back.
    Suspend(Box<crate::plugins::PluginRun>),
}

/// Runs one effect.
fn handle_effect(
    rt: &mut Runtime,
    state: &mut AppState,
    theme: &mut Theme,
    effect: Effect,
    tx: &mpsc::Sender<Msg>,
    refreshers: &mut Vec<Arc<Notify>>,
) -> Next {
    match effect {
        Effect::Quit => return Next::Quit,
        Effect::RunPlugin(run) if run.output == crate::plugins::Output::Terminal => return Next::Suspend(run),
        Effect::RunPlugin(run) => {
            let (store, user, read_only) =
                (rt.pipeline.store().clone(), rt.pipeline.user.clone(), rt.pipeline.read_only);
            let (tx, running) = (tx.clone(), rt.plugins.clone());
            tokio::task::spawn_blocking(move || {
                let outcome = crate::plugins::execute_tracked(&run, &store, &user, read_only, &running);
                let _ = tx.blocking_send(Msg::PluginDone(Box::new(outcome)));
            });
        }
        Effect::RefreshAll => refreshers.iter().for_each(|n| n.notify_one()),
        Effect::LoadAudit => load_audit(rt, tx),
        Effect::SetTheme(name) => match Theme::load(Some(&name)) {
            Ok(t) => {
                *theme = t;
                state.theme_name = name;
                state.dirty = true;
            }
            Err(e) => state.last_message = Some((e.to_string(), crate::model::Level::Warn)),
        },
        Effect::StartDemo => {
            if let Some(make) = &rt.demo {
                let provider = make();
                let index = rt.providers.len();
                state.sources.push(SourceSlot {
                    source: Source::new(provider.name()),
                    interval_secs: provider.refresh_interval().as_secs(),
                });
                rt.providers.push(provider.clone());
                spawn_provider(index, provider, tx.clone(), refreshers, rt.clock.clone());
                state.first_run = false;
                state.dirty = true;
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
            tokio::task::spawn_blocking(move || {
                if let Err(e) = store.open_incident(&title, &severity, environment.as_deref(), &user, now) {
                    tracing::error!("incident not opened: {e}");
                }
                let _ = tx.blocking_send(Msg::IncidentLoaded(store.open_incident_now().ok().flatten()));
            });
        }
        Effect::IncidentEntry(entry) => {
            if let Some(incident) = &mut state.incident {
                incident.timeline.push(entry.clone());
                state.dirty = true;
                let (store, id) = (rt.pipeline.store().clone(), incident.id);
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = store.add_timeline(id, &entry) {
                        tracing::error!("incident timeline: {e}");
                    }
                });
            }
        }
        Effect::CloseIncident(resolution) => {
            if let Some(incident) = state.incident.take() {
                let store = rt.pipeline.store().clone();
                let (tx, user, now) = (tx.clone(), rt.pipeline.user.clone(), rt.clock.now());
                state.last_message = Some((format!("incident {} closed", incident.id), crate::model::Level::Ok));
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
            let owner = rt
                .providers
                .iter()
                .zip(&state.sources)
                .find(|(_, slot)| find_target(&slot.source.data, &request.target).is_some())
                .map(|(p, _)| p.clone());
            let Some(provider) = owner else {
                let _ = update(state, Msg::Planned(Err(ActionError::NotFound(request.target.clone()))));
                return Next::Continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = provider.action_inputs(&request).await.map_err(|e| e.to_string());
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
                state.last_message = Some((format!("no source knows {target}"), crate::model::Level::Warn));
                return Next::Continue;
            };
            let provider = provider.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = provider.fetch_log(&target).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::LogLoaded { target, result }).await;
            });
        }
        Effect::Plan(request) => {
            let result = plan(rt, state, &request);
            for e in update(state, Msg::Planned(result)) {
                match handle_effect(rt, state, theme, e, tx, refreshers) {
                    Next::Continue => {}
                    other => return other,
                }
            }
        }
        Effect::Execute(plan) => {
            let Some(provider) = rt.providers.iter().find(|p| p.name() == plan.source).cloned() else {
                state.last_message = Some((format!("source {} is gone", plan.source), crate::model::Level::Crit));
                return Next::Continue;
            };
            let pipeline = rt.pipeline.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let outcome = pipeline.run(provider.as_ref(), *plan).await;
                let _ = tx.send(Msg::ActionDone(outcome)).await;
            });
        }
    }
    Next::Continue
}

/// Finds the provider that owns the target and asks it for a plan.
pub fn plan(
    rt: &Runtime,
    state: &AppState,
    request: &crate::actions::ActionRequest,
) -> Result<crate::actions::Plan, ActionError> {
    rt.pipeline.gate(request.verb)?;
    for (provider, slot) in rt.providers.iter().zip(&state.sources) {
        if find_target(&slot.source.data, &request.target).is_some() {
            return provider.plan(request, &slot.source.data);
        }
    }
    Err(ActionError::NotFound(request.target.clone()))
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
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }
    /// Drops SIGINTs received so far (a fresh listener only sees new ones).
    fn forget_interrupts(&mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            self.int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        }
        Ok(())
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}
