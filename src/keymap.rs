//! Keys to commands: the defaults and the `[keys]` overrides from config. One table serves
//! key handling, the `?` help and the `:` palette, so they cannot disagree.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::actions::Verb;

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
            Command::Act(Verb::Approve) => "approve the pending deployment",
            Command::Act(Verb::Reject) => "reject the pending deployment",
            Command::Act(Verb::Rerun) => "re-run the workflow run",
            Command::Act(Verb::Cancel) => "cancel the workflow run",
            Command::Act(Verb::Dispatch) => "dispatch the workflow again",
            Command::Act(Verb::Promote) => "promote (swap slot / shift traffic / new task definition)",
            Command::Act(Verb::Rollback) => "roll back to the previous version",
            Command::Act(Verb::Restore) => "restore the database to a point in time (new server)",
            Command::Act(Verb::Snapshot) => "take a backup now",
            Command::Act(Verb::Rotate) => "rotate the secret",
            Command::Act(Verb::Scale) => "scale the service",
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

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: HashMap<Key, Command>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Command::*;
        let c = Key::plain;
        let k = |code| Key::new(code, KeyModifiers::NONE);
        let pairs = [
            (c('q'), Quit),
            (Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL), Quit),
            (c('?'), Help),
            (c(':'), Palette),
            (c('/'), Filter),
            (c('k'), Up),
            (k(KeyCode::Up), Up),
            (c('j'), Down),
            (k(KeyCode::Down), Down),
            (k(KeyCode::PageUp), PageUp),
            (Key::new(KeyCode::Char('u'), KeyModifiers::CONTROL), PageUp),
            (k(KeyCode::PageDown), PageDown),
            (Key::new(KeyCode::Char('d'), KeyModifiers::CONTROL), PageDown),
            (c('g'), Top),
            (k(KeyCode::Home), Top),
            (c('G'), Bottom),
            (k(KeyCode::End), Bottom),
            (k(KeyCode::Enter), Open),
            (k(KeyCode::Esc), Back),
            (k(KeyCode::Tab), NextScreen),
            (k(KeyCode::BackTab), PrevScreen),
            (Key::new(KeyCode::Char('r'), KeyModifiers::CONTROL), Refresh),
            (c('f'), Follow),
            (c('a'), Act(Verb::Approve)),
            (c('x'), Act(Verb::Reject)),
            (c('R'), Act(Verb::Rerun)),
            (c('c'), Act(Verb::Cancel)),
            (c('D'), Act(Verb::Dispatch)),
            (c('p'), Act(Verb::Promote)),
            (c('b'), Act(Verb::Rollback)),
            (c('o'), Act(Verb::Restore)),
            (c('s'), Act(Verb::Snapshot)),
            (c('t'), Act(Verb::Rotate)),
            (c('S'), Act(Verb::Scale)),
        ];
        Keymap { bindings: pairs.into_iter().collect() }
    }
}

/// One `[keys]` value: a key, or a list of keys (`up = ["k", "up"]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeySpec::One(k) => vec![k.as_str()],
            KeySpec::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

impl From<&str> for KeySpec {
    fn from(key: &str) -> Self {
        KeySpec::One(key.to_string())
    }
}

/// A `[keys]` override that cannot be applied, with the command it was written for (so the
/// config loader can point at its line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeyError {
    pub command: String,
    pub message: String,
}

/// Why a key cannot be bound to a command or a plugin anywhere: the screen jumps.
pub fn reserved(key: &Key) -> Option<String> {
    match key.code {
        KeyCode::Char(c) if key.modifiers.is_empty() && (c.is_ascii_digit() || c == '!') => {
            Some(format!("'{c}' jumps to a screen"))
        }
        _ => None,
    }
}

/// Keys that only one screen uses (handled by `app::update`'s `screen_key`, the Runs
/// failing-first toggle and the Overview columns). Anything else bound to one of them is
/// unreachable on that screen.
pub fn screen_keys() -> Vec<(crate::app::Screen, Key, &'static str)> {
    use crate::app::Screen;
    let c = Key::plain;
    let k = |code| Key::new(code, KeyModifiers::NONE);
    vec![
        (Screen::Overview, c('h'), "previous column"),
        (Screen::Overview, c('l'), "next column"),
        (Screen::Overview, k(KeyCode::Left), "previous column"),
        (Screen::Overview, k(KeyCode::Right), "next column"),
        (Screen::Runs, c('F'), "failing runs first"),
        (Screen::Logs, c('v'), "minimum severity"),
        (Screen::Logs, c('w'), "wrap long lines"),
        (Screen::Logs, c('t'), "show or hide timestamps"),
        (Screen::Logs, c('T'), "jump to a time"),
        (Screen::Logs, c('y'), "copy the line"),
        (Screen::Logs, c('s'), "save the lines shown"),
        (Screen::Runbook, c(' '), "tick an item"),
        (Screen::Runbook, c('n'), "note on an item"),
        (Screen::Runbook, c('['), "previous runbook"),
        (Screen::Runbook, c(']'), "next runbook"),
        (Screen::Incident, c('s'), "start an incident"),
        (Screen::Incident, c('n'), "note on the timeline"),
        (Screen::Incident, c('i'), "impact assessed"),
        (Screen::Incident, c('t'), "people told"),
        (Screen::Incident, c('m'), "mitigation"),
        (Screen::Incident, c('w'), "what changed"),
        (Screen::Incident, c('C'), "close the incident"),
        (Screen::Incident, c('h'), "closed incidents"),
        (Screen::Incident, c('e'), "export a postmortem"),
    ]
}

impl Keymap {
    /// Applies `[keys]` overrides. Each override replaces the command's default keys. A key
    /// that another command keeps, that two overrides both claim, that jumps to a screen, or
    /// that a screen uses for itself where the command is offered is an error, as is an
    /// unknown command or key.
    pub fn with_overrides(overrides: &BTreeMap<String, KeySpec>) -> Result<Keymap, KeyError> {
        let mut map = Keymap::default();
        let mut claimed: Vec<(Key, Command, String)> = Vec::new();
        for (name, spec) in overrides {
            let err = |message: String| KeyError { command: name.clone(), message };
            let command = Command::from_name(name).ok_or_else(|| {
                let names: Vec<_> = Command::all().iter().map(|c| c.name()).collect();
                err(format!("[keys] unknown command '{name}' (one of: {})", names.join(", ")))
            })?;
            if spec.keys().is_empty() {
                return Err(err(format!("[keys] {name}: no key given")));
            }
            for text in spec.keys() {
                let key = Key::parse(text).map_err(|e| err(format!("[keys] {name}: {e}")))?;
                if let Some(why) = reserved(&key) {
                    return Err(err(format!("[keys] {name} = \"{key}\": {why}")));
                }
                for (screen, taken, what) in screen_keys() {
                    let offered = match command {
                        Command::Act(verb) => screen.verbs().contains(&verb),
                        _ => true,
                    };
                    if taken == key && offered {
                        return Err(err(format!(
                            "[keys] {name} = \"{key}\": '{key}' is the {} screen's key for '{what}'",
                            screen.title()
                        )));
                    }
                }
                if let Some((_, _, other)) = claimed.iter().find(|(k, c, _)| *k == key && *c != command) {
                    return Err(err(format!("[keys] {name} = \"{key}\": '{key}' is also given to '{other}'")));
                }
                claimed.push((key, command, name.clone()));
            }
            map.bindings.retain(|_, c| *c != command);
        }
        for (key, _, name) in &claimed {
            if let Some(existing) = map.bindings.get(key) {
                return Err(KeyError {
                    command: name.clone(),
                    message: format!("[keys] {name} = \"{key}\": '{key}' is already bound to '{}'", existing.name()),
                });
            }
        }
        for (key, command, _) in claimed {
            map.bindings.insert(key, command);
        }
        Ok(map)
    }

    /// The command bound to a key, if any.
    pub fn get(&self, key: &Key) -> Option<Command> {
        self.bindings.get(key).copied()
    }

    pub fn command(&self, event: &KeyEvent) -> Option<Command> {
        self.bindings.get(&Key::from_event(event)).copied()
    }

    /// The keys bound to a command, for help and hints.
    pub fn keys_for(&self, command: Command) -> Vec<Key> {
        let mut keys: Vec<Key> = self.bindings.iter().filter(|(_, c)| **c == command).map(|(k, _)| *k).collect();
        // Plain keys first, then by name: stable for help and snapshots.
        keys.sort_by_key(|k| (!k.modifiers.is_empty(), !matches!(k.code, KeyCode::Char(_)), k.to_string()));
        keys
    }

    pub fn label(&self, command: Command) -> String {
        self.keys_for(command).iter().map(|k| k.to_string()).collect::<Vec<_>>().join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Logs screen's own keys are taken: a remap onto one of them would load and never fire.
    #[test]
    fn the_logs_screens_keys_cannot_be_taken_by_a_remap() {
        for key in ["v", "w", "t", "T", "y", "s"] {
            let overrides = BTreeMap::from([("refresh".to_string(), KeySpec::from(key))]);
            let err = Keymap::with_overrides(&overrides).unwrap_err();
            assert!(err.message.contains("is the Logs screen's key for"), "{key}: {}", err.message);
        }
    }

    #[test]
    fn keys_parse_and_print_round_trip() {
        for s in ["a", "A", "ctrl-b", "alt-x", "enter", "esc", "tab", "shift-tab", "space", "f5", "pgup"] {
            let key = Key::parse(s).unwrap();
            assert_eq!(Key::parse(&key.to_string().replace('↑', "up")).unwrap(), key, "{s}");
        }
        assert!(Key::parse("hyper-q").is_err());
    }

    fn overrides(pairs: &[(&str, KeySpec)]) -> BTreeMap<String, KeySpec> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn overrides_replace_defaults_and_clashes_are_errors() {
        let mut o = overrides(&[("approve", "A".into())]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.keys_for(Command::Act(Verb::Approve)), [Key::plain('A')]);
        assert_eq!(map.get(&Key::plain('a')), None, "the default key is replaced");
        o.insert("reject".to_string(), "q".into());
        let err = Keymap::with_overrides(&o).unwrap_err();
        assert!(err.message.contains("already bound to 'quit'"), "{err}");
        assert_eq!(err.command, "reject");
        let o = overrides(&[("launch", "l".into())]);
        assert!(Keymap::with_overrides(&o).unwrap_err().message.contains("unknown command"));
    }

    #[test]
    fn two_overrides_cannot_share_a_key_but_may_swap() {
        let o = overrides(&[("approve", "A".into()), ("reject", "A".into())]);
        let err = Keymap::with_overrides(&o).unwrap_err();
        assert!(err.message.contains("also given to 'approve'"), "{err}");
        // Swapping two defaults is fine: each key is freed by the other override.
        let o = overrides(&[("approve", "x".into()), ("reject", "a".into())]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.get(&Key::plain('x')), Some(Command::Act(Verb::Approve)));
        assert_eq!(map.get(&Key::plain('a')), Some(Command::Act(Verb::Reject)));
    }

    #[test]
    fn lists_of_keys_and_reserved_keys() {
        let o = overrides(&[("up", KeySpec::Many(vec!["K".into(), "up".into()]))]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.label(Command::Up), "K/↑");
        let err = Keymap::with_overrides(&overrides(&[("refresh", "5".into())])).unwrap_err();
        assert!(err.message.contains("jumps to a screen"), "{err}");
        // 'w' is the Logs screen's "wrap" and the Incident screen's "what changed": refresh
        // works everywhere, so no.
        let err = Keymap::with_overrides(&overrides(&[("refresh", "w".into())])).unwrap_err();
        assert!(err.message.contains("Logs screen") || err.message.contains("Incident screen"), "{err}");
        // ...but rotate is not offered on the Incident screen, so 'w' is free for it.
        assert!(Keymap::with_overrides(&overrides(&[("rotate", "w".into())])).is_ok());
        let err = Keymap::with_overrides(&overrides(&[("up", KeySpec::Many(vec![]))])).unwrap_err();
        assert!(err.message.contains("no key given"), "{err}");
    }
}
