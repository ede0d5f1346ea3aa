//! What each screen does in the TUI: how it draws, which rows it lists, what Enter and its own
//! keys do. The other half of a screen, its declaration (title, jump key, verbs, bindings,
//! help, hints, selection, list geometry), is its `ScreenSpec` in the leaf module
//! [`crate::screen`], where the keymap and the plugin loader can read it.
//!
//! `update` and `views::draw` dispatch through [`ui`]; nothing else matches on a screen to
//! decide how it behaves. A new screen is one file here (its `pub const UI: ScreenUi` and the
//! functions it names), one line in [`UIS`] and its entry in `screen::SPECS` (see
//! ARCHITECTURE.md, "Adding a screen").

mod alerts;

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

/// The registry, in tab order (`Screen as usize` indexes it, as it does `screen::SPECS`).
pub const UIS: &[ScreenUi] = &[
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
    alerts::UI,
];

/// The behaviour of a screen.
pub fn ui(screen: Screen) -> &'static ScreenUi {
    &UIS[screen as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_has_its_behaviour_at_its_index() {
        assert_eq!(UIS.len(), Screen::COUNT, "a screen in screen::SPECS without a ScreenUi, or the reverse");
        for (i, ui) in UIS.iter().enumerate() {
            assert_eq!(ui.screen as usize, i, "{:?} is not at its index", ui.screen);
        }
    }
}
