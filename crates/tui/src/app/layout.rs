//! The geometry of the last frame drawn, as `views::draw` returns it and the event loop hands
//! it back (`Msg::Drawn`). `update` hit-tests clicks and sizes pages with it instead of asking
//! the views, so a click acts on what was on screen.

use crate::screen::Screen;

/// What the last frame showed where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drawn {
    /// The terminal size it was drawn for, and the screen shown.
    pub size: (u16, u16),
    pub screen: Screen,
    /// Each tab as (row, first column, column after the last, screen).
    pub tabs: Vec<(u16, u16, u16, Screen)>,
    /// The list of the screen (not drawn on the first-run screen).
    pub list: Option<ListGeometry>,
    /// A confirmation's plan, when one was open.
    pub confirm: Option<ScrollGeometry>,
    /// The help, when it was open.
    pub help: Option<ScrollGeometry>,
}

/// Where a list's rows were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListGeometry {
    /// The terminal row of the first visible list row.
    pub first_row: u16,
    /// How many list rows fit.
    pub rows: u16,
    /// The index of the list row drawn first.
    pub offset: usize,
}

/// The scroll range of a popup that scrolls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrollGeometry {
    /// The furthest it can scroll (0: everything fits).
    pub max: usize,
    /// Rows one page moves.
    pub page: usize,
}

impl Drawn {
    /// The tab at a click, if the click was on the tab line.
    pub fn tab_at(&self, column: u16, row: u16) -> Option<Screen> {
        self.tabs.iter().find(|(y, from, to, _)| *y == row && column >= *from && column < *to).map(|t| t.3)
    }

    /// The index of the list row at terminal row `row`, if a list row was drawn there.
    pub fn list_row_at(&self, row: u16) -> Option<usize> {
        let list = self.list?;
        (row >= list.first_row && row < list.first_row + list.rows)
            .then(|| list.offset + (row - list.first_row) as usize)
    }

    /// Whether the tab line is at this row.
    pub fn is_tab_row(&self, row: u16) -> bool {
        self.tabs.first().is_some_and(|t| t.0 == row)
    }
}
