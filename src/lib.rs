//! skydeck: a terminal console for on-call engineers.
//!
//! Providers -> owned snapshots over channels -> `update` -> pure views; every mutation goes
//! through the one actions pipeline. See ARCHITECTURE.md.
//!
//! The domain (model, actions and their pipeline, the store, runbooks, incidents, alerts, the
//! team store, the config loader, screen ids and keys, the provider API) is the
//! `skydeck-core` crate (`crates/core`), which links no cloud SDK; it is re-exported here under
//! the same paths. This crate adds the providers (one folder and one cargo feature each), the
//! TUI (app, views, screens, themes, plugins) and the CLI.

pub use skydeck_core::{
    actions, analysis, clock, incident, keymap, logbuf, logging, model, notify, paths, runbook, screen, store, team,
    text,
};

pub mod app;
pub mod cli;
pub mod config;
pub mod plugins;
pub mod providers;
pub mod screens;
pub mod theme;
pub mod views;
