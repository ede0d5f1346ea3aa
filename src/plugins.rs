//! Plugins with this build's providers: the loader is `skydeck_core::plugins` (re-exported
//! here); `parse`, `load` and `load_default` hand it [`crate::providers::CATALOG`], so a scope
//! may name any provider and resource kind the registry knows.

pub use skydeck_core::plugins::*;

use crate::keymap::Keymap;
use crate::providers::CATALOG;

/// Parses one plugin file (no clash checks: see [`load`]).
pub fn parse(text: &str, path: &str, stem: &str, shipped: bool) -> Result<Parsed, PluginError> {
    parse_with(text, path, stem, shipped, CATALOG)
}

/// Loads files in order; a later file replaces an earlier one with the same stem.
pub fn load(files: Vec<PluginFile>, keymap: &Keymap) -> Loaded {
    load_with(files, keymap, CATALOG)
}

/// The shipped plugins and the user's (`<config dir>/skydeck/plugins/`).
pub fn load_default(keymap: &Keymap) -> Loaded {
    load_default_with(keymap, CATALOG)
}
