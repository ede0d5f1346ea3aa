//! What each screen does in the TUI: how it draws, which rows it lists, what Enter and its own
//! keys do. The other half of a screen, its declaration (title, jump key, verbs, bindings,
//! help, hints, selection, list geometry), is its `ScreenSpec` in the leaf module
//! [`crate::screen`], where the keymap and the plugin loader can read it.
//!
//! `update` and `views::draw` dispatch through [`ui`]; nothing else matches on a screen to
//! decide how it behaves. A new screen is one file here (its `pub const UI: ScreenUi` and the
//! functions it names; `build.rs` finds it, so it needs no line in this module) and its entry
//! in `screen::SPECS` (see ARCHITECTURE.md, "Adding a screen").

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::{AppState, Effect, Row};
use crate::screen::{Action, Screen};
use crate::theme::Theme;

/// The behaviour of one screen.
pub struct ScreenUi {
    pub screen: Screen,
    /// Draws the screen's body (the tabs, message and status lines and popups are common).
    pub render: fn(&AppState, &Theme, &mut Frame, Rect),
    /// Its rows in display order after its filter: what the selection indexes.
    pub rows: fn(&AppState) -> Vec<Row>,
    /// Enter on the selected row.
    pub open: fn(&mut AppState) -> Vec<Effect>,
    /// One of its bindings (`ScreenSpec::bindings`) fired; `None` passes the key on to plugins
    /// and the keymap.
    pub act: fn(&mut AppState, Action) -> Option<Vec<Effect>>,
}

/// The screens that came first share the same handlers (`app::update`, `app::rows`); each
/// names its own renderer.
macro_rules! builtin {
    ($screen:ident, $render:path) => {
        ScreenUi {
            screen: Screen::$screen,
            render: $render,
            rows: |state| crate::app::rows::builtin_rows(state, Screen::$screen),
            open: crate::app::update::builtin_open,
            act: crate::app::update::builtin_action,
        }
    };
}

/// The screens drawn by `views/` and handled in `app/` (the ones that came first).
const BUILTIN_UIS: &[ScreenUi] = &[
    builtin!(Overview, crate::views::overview::render),
    builtin!(Runs, crate::views::runs::render),
    builtin!(Deployments, crate::views::lists::deployments),
    builtin!(Health, crate::views::health::render),
    builtin!(Resources, crate::views::lists::resources),
    builtin!(Backups, crate::views::lists::backups),
    builtin!(Secrets, crate::views::lists::secrets),
    builtin!(Logs, crate::views::logs::render),
    builtin!(Audit, crate::views::lists::audit),
    builtin!(Runbook, crate::views::runbook::render),
    builtin!(Incident, crate::views::incident::render),
];

// `mod <name>;` for each `src/screens/<name>.rs` and `FILE_UIS`, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/screen_files.rs"));

/// The behaviour of a screen. (At most a dozen to look through, once per frame or key.)
pub fn ui(screen: Screen) -> &'static ScreenUi {
    all().find(|ui| ui.screen == screen).expect("every screen has a ScreenUi (checked by the tests)")
}

fn all() -> impl Iterator<Item = &'static ScreenUi> {
    BUILTIN_UIS.iter().chain(FILE_UIS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_its_behaviour_once() {
        assert_eq!(all().count(), Screen::COUNT, "a screen in screen::SPECS without a ScreenUi, or the reverse");
        for screen in Screen::ALL {
            assert_eq!(all().filter(|ui| ui.screen == screen).count(), 1, "{screen:?}");
            assert!(std::ptr::eq(ui(screen), all().find(|ui| ui.screen == screen).unwrap()));
        }
        assert!(FILE_UIS.iter().any(|ui| ui.screen == Screen::Alerts), "build.rs found screens/alerts.rs");
    }
}
