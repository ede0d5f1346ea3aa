//! Terminal escape injection: run names, branches, commit titles and log lines come from remote
//! parties. Hostile sequences fed through a loopback GitHub and a local log file must never reach
//! the terminal: not the TUI in a PTY (raw bytes and what is drawn), not `status` or `logs` text.

#![cfg(unix)]

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use expectrl::Session;
use serde_json::{Value, json};
use wiremock::MockServer;

#[path = "support/github.rs"]
mod github_fixtures;
use github_fixtures::*;

const TOKEN: &str = "ghp_escape_test_token";

/// Each sequence class, with a payload word that must never be seen either.
const OSC_TITLE: &str = "\u{1b}]0;PWNED-TITLE\u{7}";
const OSC_CLIPBOARD: &str = "\u{1b}]52;c;UFdORUQ=\u{7}";
const CSI_CLEAR: &str = "\u{1b}[2J";
const CSI_REPORT_TITLE: &str = "\u{1b}[21t";
const CSI_RESIZE: &str = "\u{1b}[8;5;5t";
const C1_CSI: &str = "\u{9b}6n";
const DCS: &str = "\u{1b}PqPWNED-DCS\u{1b}\\";
const APC: &str = "\u{1b}_PWNED-APC\u{1b}\\";
const PM: &str = "\u{1b}^PWNED-PM\u{1b}\\";
const SOS: &str = "\u{1b}XPWNED-SOS\u{1b}\\";
const BELL_BACKSPACE: &str = "\u{7}\u{8}\u{8}";

/// Byte strings skydeck itself never writes, so finding one means remote text got through.
const NEVER_WRITTEN: [&[u8]; 10] =
    [b"\x1b]0;", b"\x1b]52;", b"\x1b[21t", b"\x1b[8;5;5t", b"\x1bP", b"\x1b_", b"\x1b^", b"\x1bX", b"\x07", b"\x08"];

/// What is left of a sequence whose ESC alone was dropped: must not be drawn either.
const RESIDUE: [&str; 5] = ["PWNED", "[2J", "[21t", "[8;5;5t", "52;c;"];

fn hostile_runs() -> Value {
    let mut runs = waiting_runs();
    let run = &mut runs["workflow_runs"][0];
    run["name"] = json!(format!("Bld{OSC_TITLE}"));
    run["display_title"] =
        json!(format!("Fix-{OSC_CLIPBOARD}SAFE{CSI_CLEAR}{CSI_REPORT_TITLE}{DCS}{APC}{BELL_BACKSPACE}{C1_CSI}"));
    run["head_branch"] = json!(format!("br{PM}{SOS}-ok\u{1b}"));
    run["head_commit"]["message"] = json!(format!("Fix-SAFE{OSC_TITLE}\n\nbody{CSI_CLEAR}"));
    run["actor"]["login"] = json!(format!("octo{CSI_RESIZE}cat"));
    runs
}

fn hostile_log() -> String {
    [
        "2026-11-23T08:00:00Z ERROR \u{1b}[31mRED-ERROR\u{1b}[0m deploy failed".to_string(),
        format!("2026-11-23T08:00:01Z INFO title {OSC_TITLE} clip {OSC_CLIPBOARD} line-two-SAFE"),
        format!(
            "2026-11-23T08:00:02Z WARN {CSI_CLEAR}{CSI_REPORT_TITLE}{CSI_RESIZE}{DCS} {APC} {PM} {SOS} bs{BELL_BACKSPACE} cr\rover {C1_CSI} line-three-SAFE lone\u{1b}"
        ),
    ]
    .join("\n")
        + "\n"
}

/// A config with the loopback GitHub and the hostile log file, in its own directory.
fn setup(rt: &tokio::runtime::Runtime) -> (MockServer, tempfile::TempDir, PathBuf) {
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        mount_repo(&server, "", hostile_runs()).await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("evil.log");
    std::fs::write(&log, hostile_log()).unwrap();
    let config = dir.path().join("skydeck.toml");
    std::fs::write(
        &config,
        format!(
            "[github]\napi_url = \"{}\"\nrepos = [\"{REPO}\"]\n\n[[environments]]\nname = \"production\"\ntier = \"prod\"\n\n[[logs]]\nfile = \"{}\"\nname = \"evil\"\n",
            server.uri(),
            log.display()
        ),
    )
    .unwrap();
    (server, dir, config)
}

fn isolate(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("USER", "e2e")
        .env("TERM", "xterm-256color")
        .env("SKYDECK_GITHUB_TOKEN", TOKEN)
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_ENTERPRISE_TOKEN")
        .env_remove("GITHUB_ENTERPRISE_TOKEN")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("SKYDECK_CONFIG")
        .env_remove("SKYDECK_LOG")
        .env_remove("NO_COLOR");
}

fn cli(home: &Path, config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config").arg(config).args(args);
    isolate(&mut cmd, home);
    cmd.output().unwrap()
}

fn assert_clean_text(what: &str, text: &str) {
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{what} carries a control character: {text:?}");
    for r in RESIDUE {
        assert!(!text.contains(r), "{what} shows {r:?}: {text:?}");
    }
}

#[test]
fn status_text_and_json_carry_no_escape_sequences() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_server, dir, config) = setup(&rt);
    let out = cli(dir.path(), &config, &["status"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    // The approval finding names the (hostile) workflow: cleaned, still there.
    assert!(stdout.contains("Bld acb5820 waiting for approval"), "{stdout}");
    assert_clean_text("status", &stdout);
    assert_clean_text("status stderr", &stderr);

    let out = cli(dir.path(), &config, &["status", "--json"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).expect("status --json stays valid JSON");
    assert_eq!(doc["runs"][0]["title"], "Fix-SAFE");
    assert_eq!(doc["runs"][0]["branch"], "br-ok");
    assert_eq!(doc["runs"][0]["workflow"], "Bld");
    assert_eq!(doc["runs"][0]["actor"], "octocat");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\\u001b"), "no ESC, even escaped");
}

#[test]
fn logs_text_carries_no_escape_sequences() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_server, dir, config) = setup(&rt);
    let out = cli(dir.path(), &config, &["logs", "evil"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for visible in ["RED-ERROR deploy failed", "line-two-SAFE", "cr over", "line-three-SAFE"] {
        assert!(stdout.contains(visible), "{visible:?} in {stdout}");
    }
    assert_clean_text("logs", &stdout);
    assert!(!out.stdout.contains(&0x1b), "not even SGR in plain text output");
}

#[test]
fn a_ci_job_log_prints_without_escape_sequences() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, dir, config) = setup(&rt);
    let log = format!(
        "2020-01-20T17:42:40.1234567Z \u{1b}[31mjob-RED\u{1b}[0m {OSC_TITLE}{DCS}{CSI_REPORT_TITLE} job-SAFE\r\n\
         2020-01-20T17:42:41.1234567Z {OSC_CLIPBOARD}{APC}{PM}{SOS}{BELL_BACKSPACE} second-SAFE\r\n"
    );
    rt.block_on(
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/jobs/399444496/logs")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(log, "text/plain"))
            .mount(&server),
    );
    let host = server.uri().trim_start_matches("http://").to_string();
    let job = format!("{host}/{REPO}/actions/jobs/399444496");
    let out = cli(dir.path(), &config, &["logs", &job]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("job-RED") && stdout.contains("job-SAFE") && stdout.contains("second-SAFE"), "{stdout}");
    assert_clean_text("job log", &stdout);
}

/// Reads the PTY until `pred(screen)` holds.
fn wait_until(
    session: &mut Session,
    parser: &mut vt100::Parser,
    raw: &mut Vec<u8>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 64 * 1024];
    loop {
        loop {
            match session.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    parser.process(&buf[..n]);
                    raw.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let screen = parser.screen().contents();
        if pred(&screen) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_tui_draws_remote_text_without_its_escape_sequences() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_server, dir, config) = setup(&rt);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config").arg(&config);
    isolate(&mut cmd, dir.path());
    let mut session = Session::spawn(cmd).expect("spawn skydeck in a pty");
    session.get_process_mut().set_window_size(120, 40).unwrap();
    let mut parser = vt100::Parser::new(40, 120, 0);
    let mut raw = Vec::new();
    let mut seen = String::new();
    let mut step = |session: &mut Session, keys: &str, what: &str, pred: &dyn Fn(&str) -> bool| {
        session.send(keys).unwrap();
        wait_until(session, &mut parser, &mut raw, what, pred);
        seen.push_str(&parser.screen().contents());
        let row = parser.screen().contents().lines().position(|l| l.contains("RED-ERROR"));
        row.map(|r| {
            let col = parser.screen().contents().lines().nth(r).unwrap().find("RED-ERROR").unwrap();
            // Byte offset equals the column here: everything before it on that row is ASCII.
            parser.screen().cell(r as u16, col as u16).map(vt100::Cell::fgcolor)
        })
    };

    // Overview: the approval finding names the workflow.
    step(&mut session, "", "the approval on the Overview", &|s| s.contains("Bld acb5820"));
    // Runs: title, branch, workflow and actor.
    step(&mut session, "2", "the run", &|s| s.contains("Fix-SAFE") && s.contains("br-ok") && s.contains("octocat"));
    // The run's detail: its title line names the branch.
    step(&mut session, "\r", "the run detail", &|s| s.contains("#30433642") && s.contains("br-ok"));
    step(&mut session, "\u{1b}", "back to the runs", &|s| s.contains("Workflow runs"));
    // Deployments: the waiting approval.
    step(&mut session, "3", "the approval", &|s| s.contains("waiting approval"));
    // Logs: the hostile file, SGR shown as colour.
    let colour =
        step(&mut session, "8", "the log lines", &|s| s.contains("line-three-SAFE") && s.contains("RED-ERROR"));
    assert_eq!(colour.flatten(), Some(vt100::Color::Idx(1)), "the CI log's red is drawn red");
    session.send("q").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    wait_until(&mut session, &mut parser, &mut raw, "exit", |_| true);

    for needle in NEVER_WRITTEN {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "the terminal received {:?}",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(!raw.windows(2).any(|w| w == [0xc2, 0x9b]), "the terminal received a C1 CSI");
    for r in RESIDUE {
        assert!(!seen.contains(r), "{r:?} was drawn:\n{seen}");
    }
    assert!(seen.contains("cr over") && seen.contains("line-two-SAFE"), "{seen}");
}
