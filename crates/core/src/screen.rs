//! Screen ids, keys and commands, and the registry of what each screen offers: a leaf module
//! (it knows `actions::Verb` and crossterm's key codes, nothing of the app, the views, the
//! config, the providers or the store), so the keymap, the plugin loader, the analysis and the
//! runbooks can name screens and check keys without depending on the TUI.
//!
//! Each screen is one [`ScreenSpec`] in [`SPECS`]: its title and jump key, the verbs it offers,
//! its own key bindings (key, action, description, when it applies), its help rows and hint
//! line, its selection model and where its list sits in the frame. Key dispatch, the `?` help,
//! the hint lines, the `:` palette, `[keys]` validation, plugin key clash checks, the tabs and
//! the list geometry used for paging and mouse hits all read it.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::actions::Verb;

/// A screen's id. Its order is the tab order; everything else about it is in its [`ScreenSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Screen {
    #[default]
    Overview,
    Runs,
    Deployments,
    Health,
    Resources,
    Backups,
    Secrets,
    Logs,
    Audit,
    Runbook,
    Incident,
    Alerts,
}

impl Screen {
    /// How many screens there are (the size of per-screen arrays such as `AppState::lists`).
    pub const COUNT: usize = SPECS.len();
    pub const ALL: [Screen; Screen::COUNT] = {
        let mut all = [Screen::Overview; Screen::COUNT];
        let mut i = 0;
        while i < Screen::COUNT {
            all[i] = SPECS[i].screen;
            i += 1;
        }
        all
    };

    /// This screen's entry in the registry.
    pub fn spec(self) -> &'static ScreenSpec {
        &SPECS[self as usize]
    }
    pub fn title(self) -> &'static str {
        self.spec().title
    }
    /// Three letters for narrow terminals, unique (Runs and Runbook differ).
    pub fn short_title(self) -> &'static str {
        self.spec().short
    }
    /// The key that jumps to the screen (1-9, 0 for the runbook, ! for the incident).
    pub fn key(self) -> char {
        self.spec().key
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_name(name: &str) -> Option<Screen> {
        let name = name.to_ascii_lowercase();
        Screen::ALL.into_iter().find(|s| {
            s.title().to_ascii_lowercase() == name
                || (name.len() >= 3 && s.title().to_ascii_lowercase().starts_with(&name))
        })
    }
    /// The screen whose jump key this is.
    pub fn of_key(c: char) -> Option<Screen> {
        Screen::ALL.into_iter().find(|s| s.key() == c)
    }

    /// The actions this screen offers on its selected row: the one source of truth for key
    /// handling, help, the hint line and the palette.
    pub fn verbs(self) -> &'static [Verb] {
        self.spec().verbs
    }

    /// The binding of `key` on this screen, if the screen keeps that key for itself.
    pub fn binding(self, key: &Key) -> Option<&'static Binding> {
        self.spec().bindings.iter().find(|b| b.keys.contains(key))
    }

    /// The binding that runs `action` on this screen.
    pub fn binding_of(self, action: Action) -> Option<&'static Binding> {
        self.spec().bindings.iter().find(|b| b.action == action)
    }

    /// Rows of this screen's list visible in a terminal of `size` (see [`ListArea`]).
    pub fn list_height(self, size: (u16, u16)) -> usize {
        let (_, height) = self.list_rows(body_rows(size.1));
        (height as usize).saturating_sub(2 + self.spec().list_header as usize)
    }

    /// Where this screen's list sits in a body of `body` = (first row, height): (first row,
    /// height) of the list's box, borders included.
    pub fn list_rows(self, body: (u16, u16)) -> (u16, u16) {
        let (y, h) = body;
        match self.spec().list {
            ListArea::Full => (y, h),
            ListArea::Cap(max) => (y, h.min(max)),
            ListArea::Fraction { num, den, min } => {
                (y, ((u32::from(h) * u32::from(num) / u32::from(den)) as u16).max(min))
            }
            ListArea::BelowPanel { panel, from } if h >= from => (y + panel, h - panel),
            ListArea::BelowPanel { .. } => (y, h),
        }
    }
}

/// The frame's rows: the tab line on top, the message and status lines at the bottom; the body
/// in between, as (first row, height).
pub fn body_rows(terminal_height: u16) -> (u16, u16) {
    (1, terminal_height.max(4) - 3)
}

/// Why a key cannot be bound to a command or a plugin anywhere: the screen jumps (every digit
/// and every screen's jump key).
pub fn reserved(key: &Key) -> Option<String> {
    match key.code {
        KeyCode::Char(c) if key.modifiers.is_empty() && (c.is_ascii_digit() || Screen::of_key(c).is_some()) => {
            Some(format!("'{c}' jumps to a screen"))
        }
        _ => None,
    }
}

/// Keys that only one screen uses (its [`Binding`]s), with what they do there. Anything else
/// bound to one of them is unreachable on that screen.
pub fn screen_keys() -> Vec<(Screen, Key, &'static str)> {
    SPECS
        .iter()
        .flat_map(|s| s.bindings.iter().flat_map(move |b| b.keys.iter().map(move |k| (s.screen, *k, b.what))))
        .collect()
}

/// The label of the jump keys in the help ("1-9 0 ! @"): runs of consecutive digits shortened.
pub fn jump_keys_label() -> String {
    let keys: Vec<char> = Screen::ALL.iter().map(|s| s.key()).collect();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let mut j = i;
        while j + 1 < keys.len() && keys[j].is_ascii_digit() && keys[j + 1] as u32 == keys[j] as u32 + 1 {
            j += 1;
        }
        parts.push(if j > i + 1 { format!("{}-{}", keys[i], keys[j]) } else { keys[i].to_string() });
        if j == i + 1 {
            parts.push(keys[j].to_string());
        }
        i = j + 1;
    }
    parts.join(" ")
}

// ---------------------------------------------------------------------------------------
// The registry's types

/// Everything one screen declares. See ARCHITECTURE.md, "Adding a screen".
#[derive(Debug)]
pub struct ScreenSpec {
    pub screen: Screen,
    pub title: &'static str,
    /// Three letters for the tab on narrow terminals.
    pub short: &'static str,
    /// The key that jumps here (unique; [`reserved`] everywhere else).
    pub key: char,
    /// The verbs its selected row offers (keys through the keymap).
    pub verbs: &'static [Verb],
    /// Its own keys, tried after popups, the filter and the jump keys, before plugins and the
    /// keymap.
    pub bindings: &'static [Binding],
    /// The screen's part of the `?` help, in order (the verbs come first, the plugins and the
    /// keys that work everywhere after).
    pub help: &'static [HelpRow],
    /// A line of key hints the screen shows in its own frame (empty: none).
    pub hint: &'static [Hint],
    pub selection: Selection,
    /// Where its list sits in the body.
    pub list: ListArea,
    /// Rows between the list's top border and its first row (a table's header).
    pub list_header: u16,
}

/// One key binding of a screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    /// What it does, in a few words (clash messages: "the Logs screen's key for 'copy the line'").
    pub what: &'static str,
    pub when: When,
}

/// When a binding applies; otherwise its key goes on to plugins and the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// The Runs list, not a run's detail.
    RunList,
    /// More than one runbook is loaded.
    SeveralRunbooks,
    /// An incident is open / none is.
    IncidentOpen,
    NoIncident,
    /// The Incident screen lists the closed incidents.
    HistoryShown,
}

/// What a screen's own key does (handled by `app::update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    PrevColumn,
    NextColumn,
    FailingFirst,
    LogSeverity,
    LogJumpTime,
    LogWrap,
    LogTimestamps,
    LogCopy,
    LogSave,
    RunbookTick,
    RunbookNote,
    PrevRunbook,
    NextRunbook,
    IncidentStart,
    IncidentNote,
    IncidentImpact,
    IncidentTold,
    IncidentMitigation,
    IncidentChanges,
    IncidentClose,
    IncidentHistory,
    IncidentExport,
}

/// One row of a screen's `?` help.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HelpRow {
    /// Bindings of this screen: their keys (or `label`), then `text`.
    Keys { actions: &'static [Action], label: Option<&'static str>, text: &'static str },
    /// A command that works everywhere, with what it does here (its keys from the keymap).
    Command(Command, &'static str),
}

/// One entry of a screen's hint line: the key (as bound now) and a word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hint {
    Command(Command, &'static str),
    Key(Action, &'static str),
    Verbs(&'static [Verb], &'static str),
}

/// What the selection of a screen is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A row of its list (`app::rows`).
    Rows,
    /// A row and a column (the Overview matrix: environments × columns).
    Cells { columns: usize },
    /// A line of the log buffer (indexed directly, never turned into rows).
    Lines,
}

/// The list's box within the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListArea {
    Full,
    /// At most this many rows, from the top.
    Cap(u16),
    /// `num/den` of the body, at least `min` rows, from the top (a detail pane below).
    Fraction {
        num: u16,
        den: u16,
        min: u16,
    },
    /// Below a panel of `panel` rows when the body has at least `from` rows.
    BelowPanel {
        panel: u16,
        from: u16,
    },
}

const fn ch(c: char) -> Key {
    Key { code: KeyCode::Char(c), modifiers: KeyModifiers::NONE }
}
const fn code(code: KeyCode) -> Key {
    Key { code, modifiers: KeyModifiers::NONE }
}
const fn bind(keys: &'static [Key], action: Action, what: &'static str, when: When) -> Binding {
    Binding { keys, action, what, when }
}
const fn keys(actions: &'static [Action], text: &'static str) -> HelpRow {
    HelpRow::Keys { actions, label: None, text }
}

const OPEN_RECORD: HelpRow =
    HelpRow::Command(Command::Open, "the whole record, nothing cut (j/k scroll, any key closes)");

/// A list screen with nothing of its own but Enter on a record.
const fn record_list(
    screen: Screen,
    title: &'static str,
    short: &'static str,
    key: char,
    verbs: &'static [Verb],
) -> ScreenSpec {
    ScreenSpec {
        screen,
        title,
        short,
        key,
        verbs,
        bindings: &[],
        help: &[OPEN_RECORD],
        hint: &[],
        selection: Selection::Rows,
        list: ListArea::Full,
        list_header: 1,
    }
}

/// The registry: one entry per screen, in tab order (`Screen as usize` indexes it).
pub const SPECS: &[ScreenSpec] = &[
    ScreenSpec {
        screen: Screen::Overview,
        title: "Overview",
        short: "Ove",
        key: '1',
        verbs: &[],
        bindings: &[
            bind(&[ch('h'), code(KeyCode::Left)], Action::PrevColumn, "previous column", When::Always),
            bind(&[ch('l'), code(KeyCode::Right)], Action::NextColumn, "next column", When::Always),
        ],
        help: &[
            HelpRow::Keys {
                actions: &[Action::PrevColumn, Action::NextColumn],
                label: Some("←/→ h/l"),
                text: "move between columns",
            },
            HelpRow::Command(Command::Open, "open the screen of the selected cell, filtered to its environment"),
        ],
        hint: &[],
        selection: Selection::Cells { columns: 5 },
        list: ListArea::Cap(4 + 3),
        list_header: 1,
    },
    ScreenSpec {
        screen: Screen::Runs,
        title: "Runs",
        short: "Run",
        key: '2',
        verbs: &[Verb::Approve, Verb::Reject, Verb::Rerun, Verb::Cancel, Verb::Dispatch],
        bindings: &[bind(&[ch('F')], Action::FailingFirst, "failing runs first", When::RunList)],
        help: &[
            HelpRow::Command(Command::Open, "show jobs and steps; on a job: open its log at the first error"),
            keys(&[Action::FailingFirst], "failing runs first / newest first"),
            HelpRow::Command(Command::Filter, "filter: words, or repo: branch: status: actor: workflow:"),
        ],
        hint: &[],
        selection: Selection::Rows,
        list: ListArea::BelowPanel { panel: RUNS_PANEL, from: 17 },
        list_header: 1,
    },
    record_list(Screen::Deployments, "Deployments", "Dep", '3', &[Verb::Approve, Verb::Reject]),
    ScreenSpec {
        list: ListArea::Fraction { num: 11, den: 20, min: 5 },
        ..record_list(Screen::Health, "Health", "Hea", '4', &[])
    },
    ScreenSpec {
        help: &[HelpRow::Command(Command::Open, "on a service: its log in the log viewer")],
        ..record_list(
            Screen::Resources,
            "Resources",
            "Res",
            '5',
            &[Verb::Promote, Verb::Rollback, Verb::Scale, Verb::Rerun, Verb::Restore, Verb::Snapshot],
        )
    },
    record_list(Screen::Backups, "Backups", "Bac", '6', &[Verb::Restore, Verb::Snapshot]),
    record_list(Screen::Secrets, "Secrets", "Sec", '7', &[Verb::Rotate]),
    ScreenSpec {
        screen: Screen::Logs,
        title: "Logs",
        short: "Log",
        key: '8',
        verbs: &[],
        bindings: &[
            bind(&[ch('v')], Action::LogSeverity, "minimum severity", When::Always),
            bind(&[ch('T')], Action::LogJumpTime, "jump to a time", When::Always),
            bind(&[ch('w')], Action::LogWrap, "wrap long lines", When::Always),
            bind(&[ch('t')], Action::LogTimestamps, "show or hide timestamps", When::Always),
            bind(&[ch('y')], Action::LogCopy, "copy the line", When::Always),
            bind(&[ch('s')], Action::LogSave, "save the lines shown", When::Always),
        ],
        help: &[
            HelpRow::Command(Command::Follow, "follow / pause"),
            HelpRow::Command(Command::Open, "pause at the selected line"),
            HelpRow::Command(Command::Back, "back to the run (after a job's log), else clear the filter"),
            keys(&[Action::LogSeverity], "minimum severity: all, info, warn, error"),
            keys(&[Action::LogJumpTime], "jump to a time (HH:MM, HH:MM:SS, RFC 3339)"),
            keys(&[Action::LogWrap], "wrap long lines"),
            keys(&[Action::LogTimestamps], "show or hide timestamps"),
            keys(&[Action::LogCopy], "copy the selected line (OSC 52)"),
            keys(&[Action::LogSave], "save the lines shown (filter applied) to a file"),
        ],
        hint: &[
            Hint::Command(Command::Filter, "filter"),
            Hint::Key(Action::LogSeverity, "severity"),
            Hint::Key(Action::LogJumpTime, "time"),
            Hint::Key(Action::LogWrap, "wrap"),
            Hint::Key(Action::LogTimestamps, "timestamps"),
            Hint::Key(Action::LogCopy, "copy"),
            Hint::Key(Action::LogSave, "save"),
        ],
        selection: Selection::Lines,
        list: ListArea::Full,
        list_header: 0,
    },
    record_list(Screen::Audit, "Audit", "Aud", '9', &[]),
    ScreenSpec {
        screen: Screen::Runbook,
        title: "Runbook",
        short: "Rbk",
        key: '0',
        verbs: &[],
        bindings: &[
            bind(&[ch(' ')], Action::RunbookTick, "tick an item", When::Always),
            bind(&[ch('n')], Action::RunbookNote, "note on an item", When::Always),
            bind(&[ch('[')], Action::PrevRunbook, "previous runbook", When::SeveralRunbooks),
            bind(&[ch(']')], Action::NextRunbook, "next runbook", When::SeveralRunbooks),
        ],
        help: &[
            keys(&[Action::RunbookTick], "tick / untick a manual item (saved with who and when)"),
            keys(&[Action::RunbookNote], "add a note to the item"),
            HelpRow::Command(Command::Open, "go to the screen that helps with the item"),
            keys(&[Action::PrevRunbook, Action::NextRunbook], "previous / next runbook"),
        ],
        hint: &[],
        selection: Selection::Rows,
        list: ListArea::Fraction { num: 3, den: 5, min: 6 },
        list_header: 1,
    },
    ScreenSpec {
        screen: Screen::Incident,
        title: "Incident",
        short: "Inc",
        key: '!',
        verbs: &[Verb::Rollback, Verb::Scale, Verb::Rerun, Verb::Promote],
        bindings: &[
            bind(&[ch('s')], Action::IncidentStart, "start an incident", When::NoIncident),
            bind(&[ch('n')], Action::IncidentNote, "note on the timeline", When::IncidentOpen),
            bind(&[ch('i')], Action::IncidentImpact, "impact assessed", When::IncidentOpen),
            bind(&[ch('t')], Action::IncidentTold, "people told", When::IncidentOpen),
            bind(&[ch('m')], Action::IncidentMitigation, "mitigation", When::IncidentOpen),
            bind(&[ch('w')], Action::IncidentChanges, "what changed", When::Always),
            bind(&[ch('C')], Action::IncidentClose, "close the incident", When::IncidentOpen),
            bind(&[ch('h')], Action::IncidentHistory, "closed incidents", When::Always),
            bind(&[ch('e')], Action::IncidentExport, "export a postmortem", When::HistoryShown),
        ],
        help: &[
            keys(&[Action::IncidentStart], "start an incident: title, severity, environment (or :incident TITLE)"),
            keys(
                &[Action::IncidentImpact, Action::IncidentTold, Action::IncidentMitigation],
                "first response: impact assessed, people told, mitigation",
            ),
            keys(&[Action::IncidentNote], "note on the timeline"),
            keys(&[Action::IncidentChanges], "what changed in the last 24 h"),
            keys(&[Action::IncidentClose], "close with a resolution"),
            keys(
                &[Action::IncidentHistory, Action::IncidentExport],
                "closed incidents; e there writes the postmortem (Markdown)",
            ),
        ],
        hint: &[
            Hint::Key(Action::IncidentNote, "note"),
            Hint::Key(Action::IncidentChanges, "what changed"),
            Hint::Key(Action::IncidentClose, "close"),
            Hint::Verbs(&[Verb::Rollback, Verb::Scale], "on a service"),
            Hint::Key(Action::IncidentHistory, "closed"),
        ],
        selection: Selection::Rows,
        list: ListArea::Fraction { num: 3, den: 5, min: 6 },
        list_header: 1,
    },
    ScreenSpec {
        help: &[
            OPEN_RECORD,
            HelpRow::Command(Command::Filter, "filter: words (name, source, resource, environment, severity, state)"),
        ],
        hint: &[
            Hint::Verbs(&[Verb::Ack], "acknowledge"),
            Hint::Verbs(&[Verb::Silence], "silence"),
            Hint::Command(Command::Filter, "filter"),
        ],
        ..record_list(Screen::Alerts, "Alerts", "Ale", '@', &[Verb::Ack, Verb::Silence])
    },
];

/// Height of the per-workflow duration panel above the Runs table.
pub const RUNS_PANEL: u16 = 6;

impl Binding {
    /// Its keys as the help and hints show them ("i", "space", "←/h").
    pub fn label(&self) -> String {
        self.keys.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("/")
    }
}

// ---------------------------------------------------------------------------------------
// Commands and keys

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Help,
    Palette,
    Filter,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    NextScreen,
    PrevScreen,
    Refresh,
    Follow,
    Act(Verb),
}

impl Command {
    /// The name used in `[keys]` and the palette.
    pub fn name(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::Help => "help",
            Command::Palette => "palette",
            Command::Filter => "filter",
            Command::Up => "up",
            Command::Down => "down",
            Command::PageUp => "page_up",
            Command::PageDown => "page_down",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::Open => "open",
            Command::Back => "back",
            Command::NextScreen => "next_screen",
            Command::PrevScreen => "prev_screen",
            Command::Refresh => "refresh",
            Command::Follow => "follow",
            Command::Act(v) => v.as_str(),
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Command::Quit => "quit skydeck",
            Command::Help => "show the keys of this screen",
            Command::Palette => "command palette (screens, actions, themes)",
            Command::Filter => "filter the list",
            Command::Up => "move up",
            Command::Down => "move down",
            Command::PageUp => "page up",
            Command::PageDown => "page down",
            Command::Top => "first row",
            Command::Bottom => "last row",
            Command::Open => "open detail",
            Command::Back => "back / close",
            Command::NextScreen => "next screen",
            Command::PrevScreen => "previous screen",
            Command::Refresh => "refresh every source now",
            Command::Follow => "follow the newest lines",
            Command::Act(verb) => verb.description(),
        }
    }

    pub fn all() -> Vec<Command> {
        let mut all = vec![
            Command::Quit,
            Command::Help,
            Command::Palette,
            Command::Filter,
            Command::Up,
            Command::Down,
            Command::PageUp,
            Command::PageDown,
            Command::Top,
            Command::Bottom,
            Command::Open,
            Command::Back,
            Command::NextScreen,
            Command::PrevScreen,
            Command::Refresh,
            Command::Follow,
        ];
        all.extend(Verb::ALL.into_iter().map(Command::Act));
        all
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::all().into_iter().find(|c| c.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        // Shift on a character is already in the character itself.
        let modifiers = if matches!(code, KeyCode::Char(_)) { modifiers - KeyModifiers::SHIFT } else { modifiers };
        Key { code, modifiers }
    }
    pub fn plain(c: char) -> Self {
        Key::new(KeyCode::Char(c), KeyModifiers::NONE)
    }
    pub fn from_event(e: &KeyEvent) -> Self {
        Key::new(e.code, e.modifiers)
    }

    /// Parses `a`, `A`, `ctrl-b`, `alt-x`, `enter`, `esc`, `tab`, `shift-tab`, `space`, `f5`...
    pub fn parse(s: &str) -> Result<Key, NotAKey> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                modifiers |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers -= KeyModifiers::SHIFT;
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(NotAKey(s.to_string())),
                }
            }
        };
        Ok(Key::new(code, modifiers))
    }
}

/// Text that names no key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a key (examples: a, A, ctrl-b, enter, f5)")]
pub struct NotAKey(pub String);

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_in_tab_order_with_unique_names_and_keys() {
        for (i, spec) in SPECS.iter().enumerate() {
            assert_eq!(spec.screen as usize, i, "{:?} is not at its index", spec.screen);
            assert_eq!(Screen::ALL[i], spec.screen);
            assert_eq!(spec.short.chars().count(), 3, "{}", spec.title);
        }
        for a in Screen::ALL {
            for b in Screen::ALL.into_iter().filter(|b| *b != a) {
                assert_ne!(a.key(), b.key(), "{a:?} and {b:?} share a jump key");
                assert_ne!(a.short_title(), b.short_title());
                assert_ne!(a.title(), b.title());
            }
            assert!(reserved(&Key::plain(a.key())).is_some(), "{a:?}'s jump key is not reserved");
            assert_eq!(Screen::of_key(a.key()), Some(a));
            assert_eq!(Screen::from_name(&a.title().to_lowercase()), Some(a));
        }
        assert_eq!(jump_keys_label(), "1-9 0 ! @");
        assert!(reserved(&Key::plain('a')).is_none());
    }

    /// Help rows and hints name bindings the screen has; every binding is in the help; no key
    /// is bound twice on one screen.
    #[test]
    fn help_and_hints_name_the_screens_own_bindings() {
        for spec in SPECS {
            let s = spec.screen;
            let mut in_help = Vec::new();
            for row in spec.help {
                if let HelpRow::Keys { actions, .. } = row {
                    for a in *actions {
                        assert!(s.binding_of(*a).is_some(), "{s:?} help names {a:?}, which it does not bind");
                        in_help.push(*a);
                    }
                }
            }
            for b in spec.bindings {
                assert!(in_help.contains(&b.action), "{s:?}: {:?} is not in its help", b.action);
                for k in b.keys {
                    assert_eq!(s.binding(k).map(|x| x.action), Some(b.action), "{s:?}: {k} bound twice");
                    assert!(reserved(k).is_none(), "{s:?}: {k} is a jump key");
                }
            }
            for h in spec.hint {
                if let Hint::Key(a, _) = h {
                    assert!(s.binding_of(*a).is_some(), "{s:?} hints {a:?}, which it does not bind");
                }
            }
        }
    }

    #[test]
    fn list_geometry_follows_the_spec() {
        // 40 rows: the body is 37 (tabs, message, status).
        assert_eq!(body_rows(40), (1, 37));
        assert_eq!(Screen::Resources.list_height((120, 40)), 37 - 3);
        assert_eq!(Screen::Logs.list_height((120, 40)), 37 - 2);
        assert_eq!(Screen::Runs.list_rows((1, 37)), (1 + RUNS_PANEL, 37 - RUNS_PANEL));
        assert_eq!(Screen::Runs.list_rows((1, 16)), (1, 16), "no panel on a short body");
        assert_eq!(Screen::Overview.list_rows((1, 37)), (1, 7));
        assert_eq!(Screen::Health.list_rows((1, 37)), (1, 37 * 11 / 20));
        assert_eq!(Screen::Runbook.list_rows((1, 5)), (1, 6), "at least its minimum");
    }
}
