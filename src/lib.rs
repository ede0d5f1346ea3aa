//! skydeck: a terminal console for on-call engineers.
//!
//! Providers -> owned snapshots over channels -> `update` -> pure views; every mutation goes
//! through the one actions pipeline. See ARCHITECTURE.md.

pub mod actions;
pub mod analysis;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod incident;
pub mod keymap;
pub mod logbuf;
pub mod logging;
pub mod model;
pub mod notify;
pub mod paths;
pub mod plugins;
pub mod providers;
pub mod runbook;
pub mod screen;
pub mod screens;
pub mod store;
pub mod team;
pub mod text;
pub mod theme;
pub mod views;
