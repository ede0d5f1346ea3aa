//! skydeck's terminal UI: the state and `update` (`app`), the event loop, the screen registry
//! (`screens`), the pure views and the themes.
//!
//! It builds on `skydeck-core` (re-exported here under the same paths, so `crate::model` is the
//! core's) and knows no provider by name and links no cloud SDK: the binary hands it the
//! providers it built, the registry's [`providers::Catalog`] (`AppState::with_catalog`) and, for
//! the demo, the sandbox and its teammate. See ARCHITECTURE.md.

pub use skydeck_core::{
    actions, analysis, clock, config, incident, keymap, logbuf, logging, model, notify, paths, plugins, providers,
    runbook, screen, store, team, text,
};

pub mod app;
pub mod screens;
pub mod theme;
pub mod views;
