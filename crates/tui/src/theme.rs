//! Colour themes as TOML with one set of semantic slots. The shipped themes are embedded, so
//! the binary works without installed files; a user theme is a file in
//! `<config>/themes/NAME.toml` or a path. `NO_COLOR` turns every colour off (symbols and
//! modifiers still carry the meaning).

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::model::Level;

pub const SHIPPED: [(&str, &str); 4] = [
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    ("high-contrast", include_str!("../../../themes/high-contrast.toml")),
    ("colorblind", include_str!("../../../themes/colorblind.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme '{0}' not found (shipped: dark, light, high-contrast, colorblind; or a path to a .toml file)")]
    NotFound(String),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The raw file: every slot is required so a theme can never leave one unset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[allow(dead_code)]
    description: String,
    bg: String,
    fg: String,
    fg_dim: String,
    fg_bright: String,
    border: String,
    border_focus: String,
    title: String,
    header: String,
    selection_bg: String,
    selection_fg: String,
    ok: String,
    warn: String,
    crit: String,
    unknown: String,
    info: String,
    accent: String,
    tab_active: String,
    tab_inactive: String,
    status_bar_bg: String,
    status_bar_fg: String,
    popup_bg: String,
    popup_border: String,
    danger: String,
    match_highlight: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub bg: Color,
    pub fg: Color,
    pub fg_dim: Color,
    pub fg_bright: Color,
    pub border: Color,
    pub border_focus: Color,
    pub title: Color,
    pub header: Color,
    pub selection_bg: Color,
    pub selection_fg: Color,
    pub ok: Color,
    pub warn: Color,
    pub crit: Color,
    pub unknown: Color,
    pub info: Color,
    pub accent: Color,
    pub tab_active: Color,
    pub tab_inactive: Color,
    pub status_bar_bg: Color,
    pub status_bar_fg: Color,
    pub popup_bg: Color,
    pub popup_border: Color,
    pub danger: Color,
    pub match_highlight: Color,
}

/// A slot's value that is not a colour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slot '{slot}': '{value}' is not #rrggbb or an ANSI colour name")]
struct NotAColor {
    slot: String,
    value: String,
}

fn color(slot: &str, value: &str) -> Result<Color, NotAColor> {
    let named = match value {
        "reset" => Some(Color::Reset),
        "black" => Some(Color::Black),
        "red" => Some(Color::Red),
        "green" => Some(Color::Green),
        "yellow" => Some(Color::Yellow),
        "blue" => Some(Color::Blue),
        "magenta" => Some(Color::Magenta),
        "cyan" => Some(Color::Cyan),
        "gray" => Some(Color::Gray),
        "dark_gray" => Some(Color::DarkGray),
        "light_red" => Some(Color::LightRed),
        "light_green" => Some(Color::LightGreen),
        "light_yellow" => Some(Color::LightYellow),
        "light_blue" => Some(Color::LightBlue),
        "light_magenta" => Some(Color::LightMagenta),
        "light_cyan" => Some(Color::LightCyan),
        "white" => Some(Color::White),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c);
    }
    let hex = value.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
    match hex {
        Some(h) => {
            let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0);
            Ok(Color::Rgb(byte(0), byte(2), byte(4)))
        }
        None => Err(NotAColor { slot: slot.to_string(), value: value.to_string() }),
    }
}

impl Theme {
    pub fn parse(text: &str, path: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid { path: path.to_string(), message };
        let f: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let c = |slot: &str, v: &str| color(slot, v).map_err(|e| invalid(e.to_string()));
        Ok(Theme {
            name: f.name.clone(),
            bg: c("bg", &f.bg)?,
            fg: c("fg", &f.fg)?,
            fg_dim: c("fg_dim", &f.fg_dim)?,
            fg_bright: c("fg_bright", &f.fg_bright)?,
            border: c("border", &f.border)?,
            border_focus: c("border_focus", &f.border_focus)?,
            title: c("title", &f.title)?,
            header: c("header", &f.header)?,
            selection_bg: c("selection_bg", &f.selection_bg)?,
            selection_fg: c("selection_fg", &f.selection_fg)?,
            ok: c("ok", &f.ok)?,
            warn: c("warn", &f.warn)?,
            crit: c("crit", &f.crit)?,
            unknown: c("unknown", &f.unknown)?,
            info: c("info", &f.info)?,
            accent: c("accent", &f.accent)?,
            tab_active: c("tab_active", &f.tab_active)?,
            tab_inactive: c("tab_inactive", &f.tab_inactive)?,
            status_bar_bg: c("status_bar_bg", &f.status_bar_bg)?,
            status_bar_fg: c("status_bar_fg", &f.status_bar_fg)?,
            popup_bg: c("popup_bg", &f.popup_bg)?,
            popup_border: c("popup_border", &f.popup_border)?,
            danger: c("danger", &f.danger)?,
            match_highlight: c("match_highlight", &f.match_highlight)?,
        })
    }

    /// The embedded default.
    pub fn dark() -> Theme {
        Theme::parse(SHIPPED[0].1, "themes/dark.toml").unwrap_or_else(|_| Theme::monochrome())
    }

    /// No colour at all (`NO_COLOR`): every slot is the terminal's own colour.
    pub fn monochrome() -> Theme {
        let r = Color::Reset;
        Theme {
            name: "no-color".into(),
            bg: r,
            fg: r,
            fg_dim: r,
            fg_bright: r,
            border: r,
            border_focus: r,
            title: r,
            header: r,
            selection_bg: r,
            selection_fg: r,
            ok: r,
            warn: r,
            crit: r,
            unknown: r,
            info: r,
            accent: r,
            tab_active: r,
            tab_inactive: r,
            status_bar_bg: r,
            status_bar_fg: r,
            popup_bg: r,
            popup_border: r,
            danger: r,
            match_highlight: r,
        }
    }

    /// Resolves a theme by name or path; `NO_COLOR` (any non-empty value) wins over everything.
    pub fn load(name: Option<&str>) -> Result<Theme, ThemeError> {
        Theme::resolve(name, std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()))
    }

    /// `load` without reading the environment.
    pub fn resolve(name: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        if no_color {
            return Ok(Theme::monochrome());
        }
        let name = name.unwrap_or("dark");
        if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name) {
            return Theme::parse(text, &format!("themes/{name}.toml"));
        }
        let candidates =
            [std::path::PathBuf::from(name), crate::paths::config_dir().join("themes").join(format!("{name}.toml"))];
        for path in candidates {
            if path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ThemeError::Invalid { path: path.display().to_string(), message: e.to_string() })?;
                return Theme::parse(&text, &path.display().to_string());
            }
        }
        Err(ThemeError::NotFound(name.to_string()))
    }

    pub fn is_monochrome(&self) -> bool {
        self.name == "no-color"
    }

    pub fn level(&self, level: Level) -> Style {
        let c = match level {
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Crit => self.crit,
            Level::Unknown => self.unknown,
        };
        let style = Style::default().fg(c);
        if level == Level::Crit { style.add_modifier(Modifier::BOLD) } else { style }
    }

    pub fn text(&self) -> Style {
        Style::default().fg(self.fg)
    }
    pub fn dim(&self) -> Style {
        Style::default().fg(self.fg_dim)
    }
    pub fn selected(&self) -> Style {
        let s = Style::default().bg(self.selection_bg).fg(self.selection_fg);
        if self.is_monochrome() { s.add_modifier(Modifier::REVERSED) } else { s }
    }
    pub fn header(&self) -> Style {
        Style::default().fg(self.header).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped file (embedded or on disk) sets every slot with a valid colour.
    #[test]
    fn every_theme_sets_every_slot() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../themes");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let theme = Theme::parse(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(Some(theme.name.as_str()), path.file_stem().and_then(|s| s.to_str()));
                seen += 1;
            }
        }
        assert!(seen >= 4);
        for (name, text) in SHIPPED {
            Theme::parse(text, name).unwrap();
        }
    }

    #[test]
    fn no_color_wins_over_any_theme_and_unknown_names_are_errors() {
        let t = Theme::resolve(Some("light"), true).unwrap();
        assert!(t.is_monochrome());
        assert_eq!(t.crit, Color::Reset);
        assert_eq!(Theme::resolve(Some("light"), false).unwrap().name, "light");
        assert!(Theme::resolve(Some("no-such-theme"), false).unwrap_err().to_string().contains("not found"));
    }

    #[test]
    fn a_missing_slot_or_bad_colour_is_an_error() {
        let without_ok: String = SHIPPED[0].1.lines().filter(|l| !l.starts_with("ok =")).collect::<Vec<_>>().join("\n");
        let err = Theme::parse(&without_ok, "t.toml").unwrap_err().to_string();
        assert!(err.contains("missing field `ok`"), "{err}");
        let bad = SHIPPED[0].1.replace("crit = \"#f85149\"", "crit = \"reddish\"");
        let err = Theme::parse(&bad, "t.toml").unwrap_err().to_string();
        assert!(err.contains("slot 'crit'"), "{err}");
    }
}
