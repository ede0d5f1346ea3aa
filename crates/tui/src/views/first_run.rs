//! Shown when there is no config and no `--demo`: how to configure, how to try the demo.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::plain_block;
use crate::app::AppState;
use crate::theme::Theme;

pub fn render(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let config = &state.config_hint;
    let h = |s: &str| {
        Line::from(Span::styled(s.to_string(), Style::default().fg(theme.title).add_modifier(Modifier::BOLD)))
    };
    let t = |s: &str| Line::from(Span::styled(s.to_string(), theme.text()));
    let code = |s: &str| Line::from(Span::styled(format!("    {s}"), Style::default().fg(theme.accent)));
    let lines = vec![
        h("Welcome to skydeck"),
        t("One screen for GitHub Actions, your environments, cloud resources, backups, secrets and logs."),
        Line::from(""),
        Line::from(vec![
            Span::styled("Press ", theme.text()),
            Span::styled("d", Style::default().fg(theme.tab_active).add_modifier(Modifier::BOLD)),
            Span::styled(" to try the demo estate now (no credentials needed), or ", theme.text()),
            Span::styled("q", Style::default().fg(theme.tab_active).add_modifier(Modifier::BOLD)),
            Span::styled(" to quit. Later: ", theme.text()),
            Span::styled("skydeck demo", Style::default().fg(theme.accent)),
        ]),
        Line::from(""),
        h("To watch your own estate, create a config file"),
        t(&format!("skydeck looks for --config FILE, then $SKYDECK_CONFIG, then {config}")),
        t("A minimal file:"),
        Line::from(""),
        code("[github]"),
        code("repos = [\"your-org/your-app\"]     # token: GH_TOKEN, GITHUB_TOKEN or `gh auth login`"),
        code(""),
        code("[[environments]]"),
        code("name = \"production\""),
        code("tier = \"prod\""),
        code("[[environments.health]]"),
        code("name = \"web\""),
        code("url = \"https://example.com/api/v1/health\""),
        Line::from(""),
        t("Sections [aws], [azure] and [gcp] add your clouds; see README.md for every key."),
        t("skydeck never shows, logs or stores secret values. --read-only blocks every action."),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(plain_block(theme, "skydeck · first run")),
        area,
    );
}
