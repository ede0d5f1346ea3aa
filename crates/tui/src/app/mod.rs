//! Application state and the pure `update(state, msg) -> effects` step. Providers send owned
//! snapshots as messages; nothing here does I/O, so every behaviour is testable headless.

pub mod detail;
pub mod event_loop;
pub mod forms;
pub mod layout;
pub mod logview;
pub mod plugins;
pub mod rows;
pub mod team;
pub mod update;

pub use plugins::{plugin_context, plugins_here};
pub use rows::{Row, row_at, rows};
pub use update::{palette_candidates, update};

use crossterm::event::{KeyEvent, MouseEvent};

use crate::actions::{ActionError, ActionRequest, Outcome, Plan};
use crate::keymap::Keymap;
use crate::model::{Level, LogLine, Snapshot, Source, SourceState, Timestamp};
use crate::providers::ProviderError;
pub use crate::screen::Screen;
use crate::store::AuditEntry;

/// The columns of the Overview matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverviewColumn {
    Deploys,
    Health,
    Backups,
    Secrets,
    Alerts,
}

impl OverviewColumn {
    pub const ALL: [OverviewColumn; 5] = [
        OverviewColumn::Deploys,
        OverviewColumn::Health,
        OverviewColumn::Backups,
        OverviewColumn::Secrets,
        OverviewColumn::Alerts,
    ];
    pub fn title(self) -> &'static str {
        match self {
            OverviewColumn::Deploys => "Deploys",
            OverviewColumn::Health => "Health",
            OverviewColumn::Backups => "Backups",
            OverviewColumn::Secrets => "Secrets",
            OverviewColumn::Alerts => "Alerts",
        }
    }
    pub fn screen(self) -> Screen {
        match self {
            OverviewColumn::Deploys => Screen::Deployments,
            OverviewColumn::Health | OverviewColumn::Alerts => Screen::Health,
            OverviewColumn::Backups => Screen::Backups,
            OverviewColumn::Secrets => Screen::Secrets,
        }
    }
}

/// Selection, scroll and filter of one list screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    Palette {
        input: String,
        selected: usize,
    },
    /// Asks for one input a verb needs (scale count, restore time) before planning.
    Input {
        prompt: String,
        param: String,
        value: String,
        request: ActionRequest,
    },
    Confirm {
        plan: Box<Plan>,
        input: String,
        error: Option<String>,
        /// First row of the plan shown (a long plan scrolls; the prompt never does).
        scroll: usize,
    },
    /// The inputs an action takes (a `workflow_dispatch` form): one value per field.
    Form {
        request: ActionRequest,
        fields: Vec<(crate::actions::InputSpec, String)>,
        focus: usize,
        error: Option<String>,
    },
    /// A free-text note: on a runbook item, on the incident timeline, a first step, or the
    /// resolution that closes the incident.
    Note {
        target: NoteTarget,
        prompt: String,
        value: String,
    },
    /// "What changed recently" during an incident.
    Changes {
        lines: Vec<(Timestamp, String)>,
    },
    Message {
        title: String,
        text: String,
        level: Level,
    },
    /// The inputs a plugin asks for, with the context of the row it was started on.
    PluginForm {
        plugin: String,
        context: crate::plugins::Context,
        fields: Vec<(crate::actions::InputSpec, String)>,
        focus: usize,
        error: Option<String>,
    },
    /// The exact command line of a plugin with `confirm = true`.
    PluginConfirm {
        run: Box<crate::plugins::PluginRun>,
        input: String,
        error: Option<String>,
    },
    /// The form of a restore (point in time), rotate (hidden new value), scale (count within
    /// the provider's limits) or a new incident (title, severity, environment).
    Action(Box<forms::ActionForm>),
    /// A captured plugin run's output.
    Output {
        title: String,
        lines: Vec<String>,
        scroll: usize,
        level: Level,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogJump {
    FirstError,
    Time(Timestamp),
}

#[derive(Debug, Clone, PartialEq)]
pub enum NoteTarget {
    RunbookItem(String),
    /// Logs: jump to a time; save the (filtered) view to a file.
    JumpTime,
    SaveLogs,
    Incident,
    Step(String),
    CloseIncident,
    StartIncident,
    /// Where to write the postmortem of a (closed) incident.
    ExportIncident(i64),
}

/// One provider's slot: its data, freshness and log cursor.
#[derive(Debug, Clone)]
pub struct SourceSlot {
    pub source: Source<Snapshot>,
    pub interval_secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Source {
        index: usize,
        result: Result<Snapshot, ProviderError>,
        at: Timestamp,
    },
    Logs {
        index: usize,
        lines: Vec<LogLine>,
    },
    Planned(Result<Plan, ActionError>),
    ActionDone(Outcome),
    /// Lines older than those held, from one source (one message per source and request).
    OlderLogs {
        index: usize,
        lines: Vec<LogLine>,
    },
    /// A job log fetched for the viewer.
    LogLoaded {
        target: String,
        result: Result<Vec<LogLine>, ProviderError>,
    },
    /// The open incident as stored (after opening, closing or an action).
    IncidentLoaded(Option<crate::incident::Incident>),
    /// The inputs an action takes, asked of its provider.
    InputsReady {
        request: ActionRequest,
        result: Result<Vec<crate::actions::InputSpec>, ProviderError>,
    },
    Audit(Vec<AuditEntry>),
    /// A short message for the message line (results of background work).
    Toast(String),
    /// One slice of the log filter's scan (sent while a scan is pending).
    FilterStep,
    /// The incidents stored, for the Incident screen's list of closed ones.
    IncidentHistory(Vec<crate::incident::Incident>),
    /// A plugin run ended (or was refused by the runner).
    PluginDone(Box<crate::plugins::PluginOutcome>),
    /// Low-frequency clock tick: only marks sources stale; redraws only if that changed.
    Tick(Timestamp),
    /// A frame was drawn: its geometry, for clicks and paging. Never causes a redraw.
    Drawn(layout::Drawn),
    /// The theme `Effect::SetTheme` asked for; the loop draws with it from now on.
    ThemeLoaded {
        name: String,
        theme: Box<crate::theme::Theme>,
    },
    /// The theme `Effect::SetTheme` asked for could not be loaded (why).
    ThemeFailed(String),
    /// `Effect::StartDemo` started the demo source: it is the next source slot.
    DemoStarted {
        name: String,
        interval_secs: u64,
    },
    /// `Effect::IncidentEntry` is writing this entry to the open incident's timeline.
    TimelineAdded(crate::incident::Entry),
    /// `Effect::CloseIncident` is closing this incident.
    IncidentClosed(i64),
    /// An effect could not be carried out: a message for the message line.
    Notice(String, crate::model::Level),
    /// The team store: its status, teammates' entries.
    Team(crate::team::TeamMsg),
}

/// The team store's tasks send their messages to the loop as `Msg::Team`.
impl From<crate::team::TeamMsg> for Msg {
    fn from(msg: crate::team::TeamMsg) -> Self {
        Msg::Team(msg)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    Plan(ActionRequest),
    Execute(Box<Plan>),
    RefreshAll,
    LoadAudit,
    SetTheme(String),
    /// Tick, untick or annotate a runbook item for today (durable).
    SaveRunbookItem {
        runbook: String,
        day: String,
        progress: crate::runbook::Progress,
    },
    /// Put text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Write lines to a file (the Logs screen's filtered view).
    SaveLogs {
        path: String,
        lines: Vec<String>,
    },
    /// Open an incident, append to its timeline, or close it; then reload it.
    StartIncident {
        title: String,
        severity: String,
        environment: Option<String>,
    },
    IncidentEntry(crate::incident::Entry),
    CloseIncident(String),
    LoadIncident,
    /// Ask the target's provider which inputs the action takes (then show a form).
    PrepareInputs(ActionRequest),
    /// Fetch the log of a job (or other item) into the log viewer.
    OpenLog(String),
    /// Ask every source for up to this many lines older than those held (Logs at its top).
    LoadOlderLogs(usize),
    StartDemo,
    /// Read every stored incident (the Incident screen's list of closed ones).
    LoadIncidents,
    /// Write an incident's postmortem (what `skydeck incident export ID` prints) to a file.
    ExportIncident {
        id: i64,
        path: String,
        markdown: String,
    },
    /// Run a plugin's command line (audited); `terminal` ones suspend the TUI.
    RunPlugin(Box<crate::plugins::PluginRun>),
}

pub struct AppState {
    pub now: Timestamp,
    pub size: (u16, u16),
    pub screen: Screen,
    pub sources: Vec<SourceSlot>,
    /// All sources merged; rebuilt when a source reports.
    pub estate: Snapshot,
    /// Bumped by every `merge`; cached rows derived from `estate` check it.
    pub estate_generation: u64,
    run_rows: rows::RunRowsCache,
    /// Environments from the config: always listed, in config order, even before (or without)
    /// any source mentioning them.
    pub configured_environments: Vec<crate::model::Environment>,
    pub logs: crate::logbuf::LogBuffer,
    pub log_filter: logview::LogFilter,
    pub follow_logs: bool,
    /// Logs screen: wrap long lines, show timestamps.
    pub log_wrap: bool,
    pub log_timestamps: bool,
    pub audit: Vec<AuditEntry>,
    pub lists: [ListState; Screen::COUNT],
    pub overview_column: usize,
    pub run_detail: Option<String>,
    /// Runs screen: failing runs first.
    pub failing_first: bool,
    /// Where the Logs screen should move once its filter has scanned the buffer.
    pub log_jump: Option<LogJump>,
    /// Sources yet to answer a request for older lines; no source had any the last time.
    pub older_logs_pending: usize,
    pub older_logs_exhausted: bool,
    /// Runbooks loaded at start (shipped + user), the one shown, and today's progress.
    pub runbooks: Vec<crate::runbook::Runbook>,
    pub runbook_index: usize,
    pub runbook_progress: Vec<crate::runbook::Progress>,
    /// Where the shown runbook's `logs.errors` starts: the last completed walkthrough before
    /// today ([`crate::runbook::Runbook::logs_errors_since`]), as `skydeck runbook` counts.
    pub runbook_since: Option<Timestamp>,
    /// Who is at the keyboard (ticks, notes, incidents).
    pub user: String,
    /// The open incident, if any, with its timeline.
    pub incident: Option<crate::incident::Incident>,
    /// The Incident screen's list of closed incidents, while it is shown (`h`).
    pub incident_history: Option<forms::IncidentHistory>,
    /// After a dispatch: (repo, workflow, dispatched at) of the run to open once it shows up.
    pub awaiting_run: Option<(String, String, Timestamp)>,
    pub popup: Option<Popup>,
    /// First row of the help shown (it scrolls when taller than the terminal).
    pub help_scroll: usize,
    /// The geometry of the last frame drawn (`Msg::Drawn`).
    pub drawn: layout::Drawn,
    pub editing_filter: bool,
    pub read_only: bool,
    pub first_run: bool,
    /// Where skydeck looks for its config, shown on the first-run screen.
    pub config_hint: String,
    pub keymap: Keymap,
    /// Loaded plugins (shipped + user), checked against the keymap.
    pub plugins: Vec<crate::plugins::Plugin>,
    pub theme_name: String,
    pub warnings: Vec<String>,
    pub actions_in_flight: usize,
    pub last_message: Option<(String, Level)>,
    /// The message line as last seen by `update` and since when (the clock of the last tick),
    /// so a message expires and the key hints come back.
    pub message_seen: Option<((String, Level), Timestamp)>,
    /// The run whose job log the Logs screen shows: Esc goes back to it.
    pub log_from_run: Option<String>,
    /// The team store's state, when `[team]` is configured (status bar).
    pub team: Option<crate::team::TeamStatus>,
    /// The providers this build knows, from the binary's registry: the role × cloud matrix's
    /// columns and their order. Empty until [`AppState::with_catalog`].
    pub catalog: crate::providers::Catalog,
    pub dirty: bool,
}

impl AppState {
    pub fn new(source_names: &[(String, u64)], now: Timestamp, keymap: Keymap) -> Self {
        AppState {
            now,
            size: (120, 40),
            screen: Screen::Overview,
            sources: source_names
                .iter()
                .map(|(name, interval)| SourceSlot { source: Source::new(name.clone()), interval_secs: *interval })
                .collect(),
            estate: Snapshot::default(),
            estate_generation: 0,
            run_rows: rows::RunRowsCache::default(),
            configured_environments: Vec::new(),
            logs: crate::logbuf::LogBuffer::new(crate::logbuf::DEFAULT_LINES),
            log_filter: logview::LogFilter::default(),
            follow_logs: true,
            log_wrap: false,
            log_timestamps: true,
            audit: Vec::new(),
            lists: Default::default(),
            overview_column: 0,
            run_detail: None,
            failing_first: false,
            awaiting_run: None,
            log_jump: None,
            older_logs_pending: 0,
            older_logs_exhausted: false,
            runbooks: Vec::new(),
            runbook_index: 0,
            runbook_progress: Vec::new(),
            runbook_since: None,
            user: "unknown".into(),
            incident: None,
            incident_history: None,
            popup: None,
            help_scroll: 0,
            drawn: layout::Drawn::default(),
            editing_filter: false,
            read_only: false,
            first_run: false,
            config_hint: "~/.config/skydeck/config.toml".into(),
            keymap,
            plugins: Vec::new(),
            theme_name: "dark".into(),
            warnings: Vec::new(),
            actions_in_flight: 0,
            last_message: None,
            message_seen: None,
            log_from_run: None,
            team: None,
            catalog: crate::providers::Catalog::EMPTY,
            dirty: true,
        }
    }

    /// This build's providers (the binary's `providers::CATALOG`).
    #[must_use]
    pub fn with_catalog(mut self, catalog: crate::providers::Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// A state holding one source's snapshot as if it had just been fetched: the starting
    /// point of screen snapshots, benchmarks and headless tests.
    pub fn with_snapshot(
        source: &str,
        snapshot: Snapshot,
        logs: Vec<LogLine>,
        now: Timestamp,
        size: (u16, u16),
    ) -> Self {
        let mut state = AppState::new(&[(source.to_string(), 2)], now, Keymap::default());
        state.size = size;
        let _ = update(&mut state, Msg::Source { index: 0, result: Ok(snapshot), at: now });
        let _ = update(&mut state, Msg::Logs { index: 0, lines: logs });
        state.dirty = false;
        state
    }

    pub fn list(&self) -> &ListState {
        &self.lists[self.screen.index()]
    }

    pub fn list_mut(&mut self) -> &mut ListState {
        &mut self.lists[self.screen.index()]
    }

    /// The id an action on the current screen would target.
    pub fn selected_target(&self) -> Option<String> {
        row_at(self, self.screen, self.list().selected).and_then(|r| r.target_id(self))
    }

    /// Rebuilds the merged estate from every source's last good data.
    pub fn merge(&mut self) {
        let mut merged = Snapshot { environments: self.configured_environments.clone(), ..Snapshot::default() };
        for slot in &self.sources {
            merged.extend(&slot.source.data);
        }
        merged.runs.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        self.estate = merged;
        self.estate_generation += 1;
    }

    /// The worst source state, for the status bar and `errors`.
    pub fn source_errors(&self) -> Vec<(String, String)> {
        self.sources
            .iter()
            .filter_map(|s| s.source.error.as_ref().map(|e| (s.source.name.clone(), e.clone())))
            .collect()
    }

    pub fn is_stale(&self, slot: &SourceSlot) -> bool {
        slot.source.fetched_at.is_some_and(|at| (self.now - at).num_seconds() > (slot.interval_secs * 3).max(10) as i64)
            || slot.source.state == SourceState::Failed
    }
}
