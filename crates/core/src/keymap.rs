//! Keys to commands: the defaults and the `[keys]` overrides from config. One table serves
//! key handling, the `?` help and the `:` palette, so they cannot disagree. `Key` and `Command`
//! live in the leaf module `screen` (re-exported here), as do the screens' own keys that
//! `[keys]` may not take.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

use crate::actions::Verb;
pub use crate::screen::{Command, Key, NotAKey, reserved, screen_keys};

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: HashMap<Key, Command>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Command::{
            Act, Back, Bottom, Down, Filter, Follow, Help, NextScreen, Open, PageDown, PageUp, Palette, PrevScreen,
            Quit, Refresh, Top, Up,
        };
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
            (c('K'), Act(Verb::Ack)),
            (c('Z'), Act(Verb::Silence)),
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
        self.keys_for(command).iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("/")
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
        let o = overrides(&[("up", KeySpec::Many(vec!["J".into(), "up".into()]))]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.label(Command::Up), "J/↑");
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
