//! skydeck: a terminal console for on-call engineers.
//!
//! Providers -> owned snapshots over channels -> `update` -> pure views; every mutation goes
//! through the one actions pipeline. See ARCHITECTURE.md.
//!
//! The domain (model, actions and their pipeline, the store, runbooks, incidents, alerts, the
//! team store, the config and plugin loaders, screen ids and keys, the provider API) is the
//! `skydeck-core` crate (`crates/core`); the TUI (app, views, screens, themes) is
//! `skydeck-tui` (`crates/tui`). Neither links a cloud SDK; both are re-exported here under the
//! same paths. This crate adds the providers (one folder and one cargo feature each), their
//! registry, which it hands to the config and plugin loaders and the TUI, and the CLI.

pub use skydeck_core::{
    actions, analysis, clock, incident, keymap, logbuf, logging, model, notify, paths, runbook, screen, store, team,
    text,
};
pub use skydeck_tui::{app, screens, theme, views};

pub mod cli;
pub mod config;
pub mod plugins;
pub mod providers;
