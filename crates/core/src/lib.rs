//! skydeck's core: what an on-call console is, without a terminal or a cloud SDK.
//!
//! The model providers fill, the actions pipeline every mutation goes through (plan ->
//! confirm -> audit -> execute -> verify), the local store and audit log, runbooks, incidents,
//! alerts and Slack, the team store, the config loader, screen ids and keys, and the provider
//! API (`providers::Source`, its capabilities, the sealed `providers::Provider`). The providers
//! themselves, the TUI and the CLI are the `skydeck` crate, which re-exports these modules under
//! the same paths. See ARCHITECTURE.md.

pub mod actions;
pub mod analysis;
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
pub mod store;
pub mod team;
pub mod text;
