//! The TUI runs the notifier in the background: an incident opened with `:incident` is posted
//! while the TUI runs, an entry another process writes to the same store is posted too (the
//! notifier reads the journal, whoever wrote it), and quitting right after still posts it.

#![cfg(unix)]

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::{Session, WaitStatus};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOOK: &str = "/services/T9/B9/tuiWebhookSecret";

fn isolate(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("USER", "e2e")
        .env("TERM", "xterm-256color")
        .env_remove("SKYDECK_CONFIG")
        .env_remove("SKYDECK_SLACK_TOKEN")
        .env_remove("SKYDECK_SLACK_WEBHOOK_URL");
}

/// Reads what the TUI wrote so far (so it never blocks on a full PTY); true at end of stream.
fn drain(session: &mut Session, seen: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match session.try_read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

async fn texts(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["text"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

async fn wait_for_post(server: &MockServer, session: &mut Session, seen: &mut Vec<u8>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        drain(session, seen);
        if texts(server).await.iter().any(|t| t.contains(needle)) {
            return;
        }
        assert!(Instant::now() < deadline, "nothing posted with {needle:?}; posted: {:?}", texts(server).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_posts_what_the_journal_gets_and_flushes_when_quitting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("skydeck.toml");
    std::fs::write(&config, "[[environments]]\nname = \"production\"\n\n[notify.slack]\nactions = [\"*\"]\n").unwrap();
    let bare = home.path().join("bare.toml");
    std::fs::write(&bare, "[[environments]]\nname = \"production\"\n").unwrap();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config").arg(&config);
    isolate(&mut cmd, home.path());
    cmd.env("SKYDECK_SLACK_WEBHOOK_URL", format!("{}{HOOK}", server.uri()));
    let mut session = Session::spawn(cmd).expect("spawn skydeck in a pty");
    session.get_process_mut().set_window_size(120, 40).unwrap();
    let mut seen = Vec::new();
    // Drawn once: the loop reads keys.
    let started = Instant::now();
    while !String::from_utf8_lossy(&seen).contains("Overview") {
        assert!(!drain(&mut session, &mut seen), "skydeck ended: {}", String::from_utf8_lossy(&seen));
        assert!(started.elapsed() < Duration::from_secs(20), "no first frame");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    session.send(":incident payments down\r").unwrap();
    wait_for_post(&server, &mut session, &mut seen, "*INC 1 · sev2 · OPEN* payments down").await;

    // Another skydeck without Slack writes to the same store; this TUI's notifier posts it.
    let note = |text: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
        cmd.arg("--config").arg(&bare).args(["incident", "note", "1", text]);
        isolate(&mut cmd, home.path());
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    note("checked the gateway");
    wait_for_post(&server, &mut session, &mut seen, "*note* checked the gateway").await;

    // Written just before quitting: posted before the TUI exits.
    note("handing over to ana");
    session.send("q").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let eof = drain(&mut session, &mut seen);
        let status = session.get_process().status().unwrap();
        if eof && status != WaitStatus::StillAlive {
            assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "skydeck did not quit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let posted = texts(&server).await;
    assert!(posted.iter().any(|t| t.contains("*note* handing over to ana")), "{posted:?}");
    assert_eq!(posted.iter().filter(|t| t.contains("payments down")).count(), 3, "each entry once: {posted:?}");
    assert!(!String::from_utf8_lossy(&seen).contains("tuiWebhookSecret"), "the URL is never drawn");
}
