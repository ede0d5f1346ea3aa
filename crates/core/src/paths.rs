//! XDG base directories (config, data, state), resolved from the environment each time so
//! tests can point them at temporary folders.

use std::path::PathBuf;

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() && PathBuf::from(&v).is_absolute() => PathBuf::from(v),
        _ => home().join(fallback),
    }
}

/// `$XDG_CONFIG_HOME/skydeck` (default `~/.config/skydeck`).
pub fn config_dir() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("skydeck")
}

/// `$XDG_DATA_HOME/skydeck`: the store (audit log, runbook progress, HTTP cache).
pub fn data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share").join("skydeck")
}

/// `$XDG_STATE_HOME/skydeck`: the log file.
pub fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state").join("skydeck")
}

/// The OS keyring service skydeck's tokens are stored under (GitHub, Slack); the account names
/// which one.
pub const KEYRING_SERVICE: &str = "skydeck";
