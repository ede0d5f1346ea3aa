//! Text from remote parties (run names, branches, commit messages, resource names, log lines,
//! plugin output) made safe to put on a terminal.
//!
//! A terminal acts on escape sequences wherever they appear: OSC 0 retitles the window, OSC 52
//! writes the clipboard, CSI moves the cursor or clears the screen, DCS/APC/PM/SOS carry
//! payloads for the terminal itself, BEL rings, backspace and carriage return overwrite what was
//! drawn. None of that may be driven by data. Whole sequences are removed (their payload would
//! only be noise), whitespace controls become spaces and every other C0/C1 control is dropped.
//!
//! The only exception is the log viewer: SGR sequences (`CSI … m`) in CI logs are colours, so
//! [`for_log`] keeps them and [`sgr_segments`] turns them into styles.
//!
//! This module is a leaf: it depends on nothing in the crate.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::CharIndices;

use ratatui::style::{Color, Modifier, Style};

/// `text` with every escape sequence and control character removed (tab, newline, carriage
/// return, vertical tab and form feed become one space). Borrows when nothing needed changing.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    clean(text, false)
}

/// Like [`for_terminal`], but SGR colour sequences (`ESC [ params m`) are kept for the log
/// viewer and a tab becomes four spaces.
pub fn for_log(text: &str) -> Cow<'_, str> {
    clean(text, true)
}

/// Whether [`for_terminal`] would leave `text` as it is.
pub fn is_clean(text: &str) -> bool {
    !text.chars().any(needs_work)
}

fn needs_work(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Bidirectional embeddings, overrides and isolates reorder what follows them on screen, so a
/// resource or branch name could display as something it is not ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn clean(text: &str, keep_sgr: bool) -> Cow<'_, str> {
    if is_clean(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek().map(|&(_, c)| c) {
                Some('[') => {
                    chars.next();
                    let end = control_sequence(text, &mut chars);
                    if keep_sgr && end.is_some_and(|end| is_sgr(&text[start + 2..end])) {
                        out.push_str(&text[start..end.unwrap_or(start)]);
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to its terminator.
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    control_string(&mut chars);
                }
                // nF sequences: intermediates, then one final byte (ESC ( B, ESC # 8 …).
                Some(' '..='/') => {
                    while chars.next_if(|&(_, c)| matches!(c, ' '..='/')).is_some() {}
                    chars.next_if(|&(_, c)| matches!(c, '0'..='~'));
                }
                // Two-character sequences (ESC 7, ESC c, ESC M …).
                Some('0'..='~') => {
                    chars.next();
                }
                // A lone ESC: dropped.
                _ => {}
            },
            // C1 CSI.
            '\u{9b}' => {
                control_sequence(text, &mut chars);
            }
            // C1 OSC, DCS, SOS, PM, APC.
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => control_string(&mut chars),
            '\t' if keep_sgr => out.push_str("    "),
            '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Consumes the rest of a CSI sequence (parameters 0x30–0x3F, intermediates 0x20–0x2F, one final
/// byte 0x40–0x7E). Returns the byte offset after the final byte; `None` when the sequence was
/// cut short (anything else ends it, and is then read as ordinary text).
fn control_sequence(text: &str, chars: &mut Peekable<CharIndices<'_>>) -> Option<usize> {
    while chars.next_if(|&(_, c)| matches!(c, '0'..='?' | ' '..='/')).is_some() {}
    let (at, c) = chars.next_if(|&(_, c)| matches!(c, '@'..='~'))?;
    Some((at + c.len_utf8()).min(text.len()))
}

/// Consumes a control string up to BEL, ST (`ESC \` or 0x9C), CAN or SUB. An ESC followed by
/// anything else ends the string and starts a new sequence, as in xterm.
fn control_string(chars: &mut Peekable<CharIndices<'_>>) {
    while let Some(&(_, c)) = chars.peek() {
        match c {
            '\u{7}' | '\u{9c}' | '\u{18}' | '\u{1a}' => {
                chars.next();
                return;
            }
            '\u{1b}' => {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek().is_some_and(|&(_, c)| c == '\\') {
                    chars.next();
                    chars.next();
                }
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

/// Parameters of a CSI that select graphic rendition: digits, `;` and `:` only, final `m`.
fn is_sgr(body: &str) -> bool {
    body.strip_suffix('m').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit() || b == b';' || b == b':'))
}

/// Splits a log line (as [`for_log`] left it) into its plain text and the styles its SGR
/// sequences select: `(text, [(byte offset in text, style from there on)])`. Styles are relative:
/// unset fields keep the viewer's own colours.
pub fn sgr_segments(line: &str) -> (String, Vec<(usize, Style)>) {
    let line = for_log(line);
    let mut text = String::with_capacity(line.len());
    let mut segments = Vec::new();
    let mut state = Sgr::default();
    let mut rest: &str = &line;
    while let Some(at) = rest.find('\u{1b}') {
        text.push_str(&rest[..at]);
        let seq = &rest[at..];
        // for_log keeps only complete SGR sequences, so `m` ends this one.
        let end = seq.find('m').map_or(seq.len(), |m| m + 1);
        state.apply(seq.get(2..end.saturating_sub(1)).unwrap_or_default());
        let style = state.style();
        match segments.last_mut() {
            Some((offset, s)) if *offset == text.len() => *s = style,
            _ => segments.push((text.len(), style)),
        }
        rest = &seq[end..];
    }
    text.push_str(rest);
    (text, segments)
}

#[derive(Debug, Default, Clone, Copy)]
struct Sgr {
    fg: Option<Color>,
    bg: Option<Color>,
    modifiers: Modifier,
}

impl Sgr {
    fn style(self) -> Style {
        let mut style = Style::default().add_modifier(self.modifiers);
        if let Some(fg) = self.fg {
            style = style.fg(fg);
        }
        if let Some(bg) = self.bg {
            style = style.bg(bg);
        }
        style
    }

    fn apply(&mut self, params: &str) {
        // `:` separates sub-parameters (38:5:196); read them like `;`.
        let codes: Vec<u16> =
            params.split([';', ':']).map(|p| if p.is_empty() { 0 } else { p.parse().unwrap_or(u16::MAX) }).collect();
        let mut codes = codes.into_iter();
        while let Some(code) = codes.next() {
            match code {
                0 => *self = Sgr::default(),
                1 => self.modifiers.insert(Modifier::BOLD),
                2 => self.modifiers.insert(Modifier::DIM),
                3 => self.modifiers.insert(Modifier::ITALIC),
                4 => self.modifiers.insert(Modifier::UNDERLINED),
                7 => self.modifiers.insert(Modifier::REVERSED),
                9 => self.modifiers.insert(Modifier::CROSSED_OUT),
                22 => self.modifiers.remove(Modifier::BOLD | Modifier::DIM),
                23 => self.modifiers.remove(Modifier::ITALIC),
                24 => self.modifiers.remove(Modifier::UNDERLINED),
                27 => self.modifiers.remove(Modifier::REVERSED),
                29 => self.modifiers.remove(Modifier::CROSSED_OUT),
                30..=37 => self.fg = Some(Color::Indexed((code - 30) as u8)),
                39 => self.fg = None,
                40..=47 => self.bg = Some(Color::Indexed((code - 40) as u8)),
                49 => self.bg = None,
                90..=97 => self.fg = Some(Color::Indexed((code - 90 + 8) as u8)),
                100..=107 => self.bg = Some(Color::Indexed((code - 100 + 8) as u8)),
                38 | 48 => {
                    let color = match codes.next() {
                        Some(5) => codes.next().and_then(|n| u8::try_from(n).ok()).map(Color::Indexed),
                        Some(2) => {
                            let mut c = || codes.next().and_then(|n| u8::try_from(n).ok());
                            match (c(), c(), c()) {
                                (Some(r), Some(g), Some(b)) => Some(Color::Rgb(r, g, b)),
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    if code == 38 {
                        self.fg = color;
                    } else {
                        self.bg = color;
                    }
                }
                // Blink, conceal, fonts and the rest: not styles a log viewer should show.
                _ => {}
            }
        }
    }
}

/// Percent-encodes one URL component (RFC 3986 unreserved characters stay).
pub fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_isolates_are_removed() {
        // "admin\u{202e}txt.exe" would display as "adminexe.txt".
        assert_eq!(for_terminal("admin\u{202e}txt.exe"), "admintxt.exe");
        assert_eq!(for_terminal("a\u{2066}b\u{2069}c\u{202a}d"), "abcd");
        assert!(!is_clean("x\u{2067}"));
        assert!(is_clean("Zürich 東京 ✔"), "ordinary non-ASCII text stays");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(for_terminal("Deploy a1b2c3d · ünïcode ✔"), Cow::Borrowed(_)));
    }

    #[test]
    fn osc_title_and_clipboard_are_removed_with_their_payload() {
        assert_eq!(for_terminal("a\u{1b}]0;pwned\u{7}b"), "ab");
        assert_eq!(for_terminal("a\u{1b}]52;c;ZWNobyBoaQ==\u{1b}\\b"), "ab");
        assert_eq!(for_terminal("a\u{9d}0;pwned\u{9c}b"), "ab");
        // Unterminated: the rest is payload.
        assert_eq!(for_terminal("a\u{1b}]0;pwned"), "a");
    }

    #[test]
    fn csi_sequences_are_removed() {
        assert_eq!(for_terminal("a\u{1b}[2Jb"), "ab");
        assert_eq!(for_terminal("a\u{1b}[21tb"), "ab");
        assert_eq!(for_terminal("a\u{1b}[?1049lb"), "ab");
        assert_eq!(for_terminal("a\u{1b}[31;1mred\u{1b}[0m"), "ared");
        assert_eq!(for_terminal("a\u{9b}2Jb"), "ab");
        // Cut short by a non-CSI character: that character is ordinary text again.
        assert_eq!(for_terminal("a\u{1b}[12é"), "aé");
    }

    #[test]
    fn dcs_apc_pm_sos_are_removed() {
        assert_eq!(for_terminal("a\u{1b}Pq#0;2;0;0;0\u{1b}\\b"), "ab");
        assert_eq!(for_terminal("a\u{1b}_Gf=100;AAAA\u{1b}\\b"), "ab");
        assert_eq!(for_terminal("a\u{1b}^private\u{1b}\\b"), "ab");
        assert_eq!(for_terminal("a\u{1b}Xstring\u{1b}\\b"), "ab");
        assert_eq!(for_terminal("a\u{90}payload\u{9c}b"), "ab");
        // A new ESC ends the string and is read as a sequence of its own.
        assert_eq!(for_terminal("a\u{1b}Ppayload\u{1b}[2Jb"), "ab");
    }

    #[test]
    fn lone_esc_and_short_sequences_are_removed() {
        assert_eq!(for_terminal("a\u{1b}"), "a");
        assert_eq!(for_terminal("a\u{1b}cb"), "ab");
        assert_eq!(for_terminal("a\u{1b}(Bb"), "ab");
        assert_eq!(for_terminal("a\u{1b}#8b"), "ab");
    }

    #[test]
    fn bell_backspace_and_carriage_return_cannot_overwrite() {
        assert_eq!(for_terminal("ok\u{7}"), "ok");
        assert_eq!(for_terminal("rm -rf /\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}ls"), "rm -rf /ls");
        assert_eq!(for_terminal("evil\rgood"), "evil good");
        assert_eq!(for_terminal("line one\nline two\ttab"), "line one line two tab");
        assert_eq!(for_terminal("del\u{7f} nul\u{0} c1\u{85}"), "del nul c1");
        assert!(is_clean(&for_terminal("\u{1b}[2J\u{1b}]0;x\u{7}\u{8}\r\u{9b}6n")));
    }

    #[test]
    fn log_text_keeps_only_sgr() {
        assert_eq!(for_log("\u{1b}[31merror\u{1b}[0m"), "\u{1b}[31merror\u{1b}[0m");
        assert_eq!(for_log("\u{1b}[38;5;196mx\u{1b}[m"), "\u{1b}[38;5;196mx\u{1b}[m");
        assert_eq!(for_log("a\u{1b}[2J\u{1b}]0;t\u{7}\u{1b}[?25l\tb"), "a    b");
        // A private-mode or intermediate CSI ending in `m` is not SGR.
        assert_eq!(for_log("a\u{1b}[?1mb\u{1b}[1 mc"), "abc");
    }

    #[test]
    fn sgr_becomes_styles() {
        let (text, segments) = sgr_segments("plain \u{1b}[1;31merror\u{1b}[0m done \u{1b}[2Jx");
        assert_eq!(text, "plain error done x");
        assert_eq!(
            segments,
            [(6, Style::default().fg(Color::Indexed(1)).add_modifier(Modifier::BOLD)), (11, Style::default())]
        );
        let (_, segments) = sgr_segments("\u{1b}[38;2;1;2;3;48;5;17mx\u{1b}[39my");
        assert_eq!(
            segments,
            [
                (0, Style::default().fg(Color::Rgb(1, 2, 3)).bg(Color::Indexed(17))),
                (1, Style::default().bg(Color::Indexed(17)))
            ]
        );
        let (_, segments) = sgr_segments("\u{1b}[92mok");
        assert_eq!(segments, [(0, Style::default().fg(Color::Indexed(10)))]);
    }
}
