//! The real `skydeck` in a pseudo-terminal, its output fed into a VT100 emulator: spawn,
//! pump, wait for a screen condition, send keys, wait for exit, check the terminal was left
//! as found. Every step waits for a condition with a timeout and fails with the screen.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::{Session, WaitStatus};

/// Generous: CI machines are slow and the app draws only when something changes.
pub const TIMEOUT: Duration = Duration::from_secs(15);
pub const POLL: Duration = Duration::from_millis(10);

const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
const DISABLE_MOUSE: &[u8] = b"\x1b[?1000l";
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

/// One running `skydeck` in a PTY plus the terminal it draws on.
pub struct Tui {
    session: Session,
    /// Emulates the 120x40 terminal: what a person would see.
    pub parser: vt100::Parser,
    /// Every byte the program wrote, for the terminal-hygiene assertions.
    pub raw: Vec<u8>,
    /// The PTY reported end of stream (the program and every holder of the slave are gone).
    eof: bool,
    exit: Option<WaitStatus>,
    pub started: Instant,
}

impl Tui {
    /// Spawns `cmd` (its environment already set) in a `cols`x`rows` terminal.
    pub fn spawn(cmd: Command, cols: u16, rows: u16) -> Tui {
        let mut session = Session::spawn(cmd).expect("spawn skydeck in a pty");
        session.get_process_mut().set_window_size(cols, rows).expect("set the pty window size");
        Tui {
            session,
            parser: vt100::Parser::new(rows, cols, 0),
            raw: Vec::new(),
            eof: false,
            exit: None,
            started: Instant::now(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.session.get_process().pid().as_raw()
    }

    /// Reads whatever the program has written so far, without blocking. Returns whether
    /// anything arrived.
    pub fn pump(&mut self) -> bool {
        let mut got = false;
        let mut buf = [0u8; 64 * 1024];
        while !self.eof {
            match self.session.try_read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.parser.process(&buf[..n]);
                    self.raw.extend_from_slice(&buf[..n]);
                    got = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // Linux answers EIO on the master once the slave side is closed.
                Err(_) => self.eof = true,
            }
        }
        got
    }

    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn dump(&self) -> String {
        let bar = "-".repeat(usize::from(self.parser.screen().size().1));
        format!("{bar}\n{}\n{bar}", self.contents())
    }

    /// Keeps reading until `pred(screen contents)` holds; panics with the screen on timeout.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if pred(&self.contents()) {
                return;
            }
            if self.eof {
                self.reap(Duration::from_secs(2));
                panic!("skydeck ended (status {:?}) while waiting for {what}; screen:\n{}", self.exit, self.dump());
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}; screen:\n{}",
                self.dump()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen contains `needle`.
    pub fn wait_for(&mut self, needle: &str) {
        self.wait_for_within(needle, TIMEOUT);
    }

    pub fn wait_for_within(&mut self, needle: &str, timeout: Duration) {
        self.wait_until(&format!("{needle:?} on screen"), timeout, |s| s.contains(needle));
    }

    /// Waits until the screen no longer contains `needle`.
    pub fn wait_gone(&mut self, needle: &str) {
        self.wait_until(&format!("{needle:?} to disappear"), TIMEOUT, |s| !s.contains(needle));
    }

    pub fn send(&mut self, keys: &str) {
        self.session.send(keys).expect("write to the pty");
    }

    /// Non-blocking check of the child's status; remembers it once it has ended.
    pub fn poll_exit(&mut self) -> Option<WaitStatus> {
        if self.exit.is_none() {
            match self.session.get_process().status() {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => self.exit = Some(status),
                Err(e) => panic!("waitpid failed: {e}"),
            }
        }
        self.exit
    }

    pub fn reap(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.poll_exit().is_none() && Instant::now() < deadline {
            self.pump();
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the program to exit and for the PTY to be drained to its end.
    pub fn wait_exit(&mut self, timeout: Duration) -> WaitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if self.poll_exit().is_some() && self.eof {
                return self.exit.unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "skydeck did not exit within {timeout:?} (status {:?}, eof {}); screen:\n{}",
                self.exit,
                self.eof,
                self.dump()
            );
            std::thread::sleep(POLL);
        }
    }

    /// The terminal must be left as it was found: alternate screen left after it was last
    /// entered, mouse capture off, cursor shown.
    pub fn assert_terminal_restored(&self) {
        let raw = &self.raw;
        let last_enter = rfind(raw, ENTER_ALT_SCREEN).expect("skydeck never entered the alternate screen");
        let last_leave = rfind(raw, LEAVE_ALT_SCREEN);
        assert!(
            last_leave.is_some_and(|l| l > last_enter),
            "the alternate screen was not left after it was last entered (last \\e[?1049h at byte {last_enter}, last \\e[?1049l at {last_leave:?}); tail: {}",
            tail(raw)
        );
        let last_mouse_off = rfind(raw, DISABLE_MOUSE);
        assert!(
            last_mouse_off.is_some_and(|m| m > last_enter),
            "mouse capture was not disabled (\\e[?1000l) at exit; tail: {}",
            tail(raw)
        );
        let last_show = rfind(raw, SHOW_CURSOR);
        assert!(
            last_show.is_some_and(|s| s > last_enter),
            "the cursor was not shown again (\\e[?25h) at exit; tail: {}",
            tail(raw)
        );
        // The same facts as the emulated terminal sees them.
        let screen = self.parser.screen();
        assert!(!screen.alternate_screen(), "the emulated terminal is still on the alternate screen");
        assert_eq!(screen.mouse_protocol_mode(), vt100::MouseProtocolMode::None, "mouse reporting still on");
        assert!(!screen.hide_cursor(), "cursor still hidden");
    }
}

pub fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

pub fn tail(raw: &[u8]) -> String {
    let start = raw.len().saturating_sub(300);
    format!("{:?}", String::from_utf8_lossy(&raw[start..]))
}
