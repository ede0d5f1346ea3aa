//! The real `skydeck` in a pseudo-terminal, its output fed into a VT100 emulator: the same
//! driver as `tests/e2e_pty.rs` (spawn, pump, wait for a screen condition, send keys, wait
//! for exit), for tests outside that file.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::{Session, WaitStatus};

pub const POLL: Duration = Duration::from_millis(10);

pub struct Tui {
    session: Session,
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
    eof: bool,
    exit: Option<WaitStatus>,
}

impl Tui {
    /// Spawns `cmd` (its environment already set) in a `cols`x`rows` terminal.
    pub fn spawn(cmd: Command, cols: u16, rows: u16) -> Tui {
        let mut session = Session::spawn(cmd).expect("spawn skydeck in a pty");
        session.get_process_mut().set_window_size(cols, rows).expect("set the pty window size");
        Tui { session, parser: vt100::Parser::new(rows, cols, 0), raw: Vec::new(), eof: false, exit: None }
    }

    pub fn pid(&self) -> i32 {
        self.session.get_process().pid().as_raw()
    }

    /// Reads whatever the program has written so far, without blocking.
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
                Err(_) => self.eof = true,
            }
        }
        got
    }

    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn wait_until(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if pred(&self.contents()) {
                return;
            }
            if self.eof {
                panic!("skydeck ended while waiting for {what}; screen:\n{}", self.contents());
            }
            if Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{}", self.contents());
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_for(&mut self, needle: &str, timeout: Duration) {
        self.wait_until(&format!("{needle:?} on screen"), timeout, |s| s.contains(needle));
    }

    pub fn send(&mut self, keys: &str) {
        self.session.send(keys).expect("write to the pty");
    }

    fn poll_exit(&mut self) -> Option<WaitStatus> {
        if self.exit.is_none() {
            match self.session.get_process().status() {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => self.exit = Some(status),
                Err(e) => panic!("waitpid failed: {e}"),
            }
        }
        self.exit
    }

    /// Waits for the program to exit and the PTY to drain; panics with the screen if not.
    pub fn wait_exit(&mut self, timeout: Duration) -> WaitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if self.poll_exit().is_some() && self.eof {
                return self.exit.unwrap();
            }
            if Instant::now() >= deadline {
                panic!("skydeck did not exit within {timeout:?}; screen:\n{}", self.contents());
            }
            std::thread::sleep(POLL);
        }
    }
}
