//! End-to-end tests: the real `skydeck` binary in a pseudo-terminal, driven by keystrokes
//! the way a person would, with everything it writes fed into a VT100 emulator.
//!
//! No fixed sleeps are used as assertions: every step waits for a condition on the
//! emulated screen (or the process state) with a generous timeout, and fails with a dump of
//! the current screen when the condition is not met in time.
//!
//! Each test gets its own temporary `HOME` and XDG directories, so the audit database and
//! the log file never touch the real user and tests can run in parallel.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/pty.rs"]
mod pty;

use expectrl::WaitStatus;
use pty::{TIMEOUT, Tui};

const COLS: u16 = 120;
const ROWS: u16 = 40;

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_skydeck")
}

/// The isolated environment every skydeck invocation of one test shares.
fn isolate(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("SKYDECK_DEMO_SEED", "7")
        .env("USER", "e2e")
        .env("TERM", "xterm-256color")
        .env_remove("SKYDECK_CONFIG")
        .env_remove("SKYDECK_LOG")
        .env_remove("NO_COLOR");
}

/// `skydeck ARGS` in a PTY of the default size, in the test's isolated environment.
fn spawn(home: &Path, args: &[&str]) -> Tui {
    spawn_sized(home, args, COLS, ROWS)
}

fn spawn_sized(home: &Path, args: &[&str], cols: u16, rows: u16) -> Tui {
    let mut cmd = Command::new(binary());
    cmd.args(args);
    isolate(&mut cmd, home);
    Tui::spawn(cmd, cols, rows)
}

/// The screen row (0-based) of the first line containing `needle`.
fn row_of(contents: &str, needle: &str) -> Option<usize> {
    contents.lines().position(|l| l.contains(needle))
}

fn is_highlighted(screen: &vt100::Screen, row: u16) -> bool {
    // Column 0 is the border; column 2 is inside the first cell. The selected row has the
    // selection background (or is reversed on monochrome themes), unlike the row below it.
    let cell = screen.cell(row, 2).expect("cell in range");
    cell.inverse() || cell.bgcolor() != screen.cell(row + 1, 2).expect("cell in range").bgcolor()
}

#[test]
fn approve_a_production_deployment_end_to_end() {
    let home = tempfile::tempdir().unwrap();
    let mut tui = spawn(home.path(), &["demo"]);

    // Overview first.
    tui.wait_for("What needs attention");
    assert!(tui.parser.screen().alternate_screen(), "the TUI should draw on the alternate screen");

    // Screens by number.
    tui.send("2");
    tui.wait_for("Workflow runs");
    tui.send("4");
    tui.wait_for("Health checks");

    // Help lists the keys; any key closes it.
    tui.send("?");
    tui.wait_for("any key closes this help");
    let help = tui.contents();
    for expected in [" Help ", "Health screen", "quit skydeck", "show the keys of this screen", "1-9"] {
        assert!(help.contains(expected), "help should list {expected:?}; screen:\n{}", tui.dump());
    }
    tui.send("z");
    tui.wait_gone("any key closes this help");
    assert!(tui.contents().contains("Health checks"), "closing help returns to the screen; screen:\n{}", tui.dump());

    // Deployments: the waiting production approval sorts first and is selected.
    tui.send("3");
    tui.wait_for("Deployments & approvals");
    tui.wait_for("waiting approval");
    let contents = tui.contents();
    let approval_row = row_of(&contents, "waiting approval").unwrap();
    let header_row = row_of(&contents, "Environment").expect("table header");
    assert_eq!(approval_row, header_row + 1, "the approval should be the first row; screen:\n{}", tui.dump());
    assert!(
        contents.lines().nth(approval_row).unwrap().contains("production"),
        "the waiting approval is production's; screen:\n{}",
        tui.dump()
    );
    assert!(
        is_highlighted(tui.parser.screen(), approval_row as u16),
        "the first row should be selected; screen:\n{}",
        tui.dump()
    );

    // Approve: a production target needs its name typed.
    tui.send("a");
    // The review comment goes to GitHub with the approval and into the audit log.
    tui.wait_for("Comment for the review");
    tui.send("ship it\r");
    tui.wait_for("Confirm action");
    tui.wait_for("Type 'production'");
    assert!(tui.contents().contains("approve production"), "the plan names verb and target; screen:\n{}", tui.dump());

    // A wrong name is refused and the popup stays.
    tui.send("prod\r");
    tui.wait_for("typed 'prod'");
    let refused = tui.contents();
    assert!(refused.contains("Confirm action"), "the popup stays after a wrong name; screen:\n{}", tui.dump());
    assert!(
        refused.contains("nothing was sent") && refused.contains("the target is 'production'"),
        "the error says nothing was sent and names the target; screen:\n{}",
        tui.dump()
    );

    // Erase, type the right name, confirm.
    tui.send("\x7f\x7f\x7f\x7f");
    tui.wait_gone("typed 'prod'");
    tui.wait_for("> ▏"); // the input is empty again: all four backspaces arrived
    tui.send("production");
    tui.wait_for("> production");
    tui.send("\r");
    tui.wait_until("a status message saying approve ... verified", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("approve") && l.contains("verified"))
    });
    let done = tui.contents();
    assert!(!done.contains("Confirm action"), "the popup closes once confirmed; screen:\n{}", tui.dump());
    let message_line = done.lines().rev().nth(1).unwrap_or_default().to_string();
    assert!(!message_line.contains("failed"), "the action should not fail; screen:\n{}", tui.dump());
    // skydeck follows the approved run live: its production job starts.
    tui.wait_for("deploy-production");
    tui.wait_until("the gated job running", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("deploy-production") && l.contains("running"))
    });
    // Back on Deployments the approval is gone after the refresh.
    tui.send("3");
    tui.wait_for("Deployments & approvals");
    tui.wait_gone("waiting approval");

    // The audit screen shows the finished action.
    tui.send("9");
    tui.wait_for("Audit log");
    tui.wait_until("an 'approve' row with phase 'finished' on the Audit screen", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("approve") && l.contains("finished") && l.contains("production"))
    });
    assert!(
        tui.contents().lines().any(|l| l.contains("approve") && l.contains("started") && l.contains("production")),
        "the audit screen shows the 'started' entry too; screen:\n{}",
        tui.dump()
    );

    // Quit: exit status 0 and a clean terminal.
    tui.send("q");
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "skydeck should exit with status 0, got {status:?}");
    tui.assert_terminal_restored();

    // The audit log, read back through the CLI with the same environment.
    let mut cmd = Command::new(binary());
    cmd.args(["audit", "--json"]);
    isolate(&mut cmd, home.path());
    let out = cmd.output().expect("run skydeck audit --json");
    assert!(out.status.success(), "skydeck audit --json failed: {}", String::from_utf8_lossy(&out.stderr));
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
    let entries = entries.as_array().expect("a JSON array");
    let approve: Vec<_> =
        entries.iter().filter(|e| e["verb"] == "approve" && e["environment"] == "production").collect();
    let started = approve
        .iter()
        .find(|e| e["phase"] == "started")
        .unwrap_or_else(|| panic!("no 'started' approve entry in {entries:#?}"));
    let finished = approve
        .iter()
        .find(|e| e["phase"] == "finished")
        .unwrap_or_else(|| panic!("no 'finished' approve entry in {entries:#?}"));
    assert_eq!(finished["action_id"], started["seq"], "the 'finished' entry closes the 'started' one");
    assert_eq!(started["user"], "e2e");
    assert!(finished["detail"].as_str().unwrap_or("").contains("verified"), "finished detail: {}", finished["detail"]);
    assert!(!entries.iter().any(|e| e["phase"] == "failed"), "no failed entries expected: {entries:#?}");

    eprintln!("e2e approve flow took {:?}", tui.started.elapsed());
}

#[test]
fn sigterm_restores_the_terminal() {
    let home = tempfile::tempdir().unwrap();
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    assert!(tui.parser.screen().alternate_screen());

    let pid = tui.pid().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(kill.success(), "kill -TERM {pid} failed");

    let status = tui.wait_exit(Duration::from_secs(10));
    // The handler ends the loop cleanly, so this is a normal exit rather than death by signal.
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "skydeck should exit cleanly on SIGTERM, got {status:?}");
    tui.assert_terminal_restored();
    eprintln!("e2e sigterm took {:?}", tui.started.elapsed());
}

/// The morning check on the demo: open the runbook, see the failing items with their evidence,
/// tick a manual item with a note, and find it still ticked after a restart.
#[test]
fn walk_the_daily_checklist_and_keep_progress_across_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    tui.send("0");
    tui.wait_for("Daily checklist");
    tui.wait_for("Health checks pass");
    tui.wait_until("failing items marked FAIL", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("FAIL") && l.contains("Every database's latest backup"))
    });
    // Down to the first manual item ("Dashboards looked at ..."), tick it, note it.
    for _ in 0..4 {
        tui.send("j");
    }
    tui.send(" ");
    tui.wait_until("the item ticked by the user", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("ticked") && l.contains("by e2e"))
    });
    tui.send("n");
    tui.wait_for("Note on 'Dashboards looked at");
    tui.send("grafana quiet\r");
    tui.wait_gone("Note on 'Dashboards");
    tui.send("q");
    assert!(matches!(tui.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));

    // A new session the same day shows the tick and the note.
    let mut again = spawn(home.path(), &["demo"]);
    again.wait_for("What needs attention");
    again.send("0");
    again.wait_until("the tick survived the restart", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("ticked") && l.contains("by e2e"))
    });
    for _ in 0..4 {
        again.send("j");
    }
    again.wait_for("grafana quiet");
    again.send("q");
    assert!(matches!(again.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));
    // The headless report agrees.
    let mut cmd = Command::new(binary());
    isolate(&mut cmd, home.path());
    let out = cmd.args(["--demo", "runbook", "--markdown"]).output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("Dashboards looked at for anything the checks do not see — ticked by e2e"), "{md}");
    assert!(md.contains("note: grafana quiet"), "{md}");
}

/// Writes a plugin file where skydeck looks for the user's plugins.
fn user_plugin(home: &Path, file: &str, text: &str) {
    let dir = home.join("config").join("skydeck").join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
}

/// What the issue calls done: a team adds a one-file plugin, sees it under `?` on the right
/// screen, runs it on the selected resource, and finds it in the audit log. A broken plugin
/// file beside it is reported and does not stop the good one.
#[test]
fn a_user_plugin_runs_on_the_selected_resource_and_is_audited() {
    let home = tempfile::tempdir().unwrap();
    user_plugin(
        home.path(),
        "say-name.toml",
        r#"name = "say-name"
key = "ctrl-e"
description = "say which resource is selected"
scopes = ["resources"]
command = "echo"
args = ["selected:", "{resource.name}", "in", "{region}"]
output = "capture"
"#,
    );
    user_plugin(
        home.path(),
        "broken.toml",
        "key = \"ctrl-y\"\ncommand = \"echo\"\nscopes = [\"resources\"]\nargs = [\"{nope}\"]\n",
    );
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    tui.wait_for("plugin not loaded");
    assert!(tui.contents().contains("broken.toml:4: unknown variable {nope}"), "screen:\n{}", tui.dump());

    tui.send("5");
    tui.wait_for("inference-api-prod");
    tui.send("?");
    tui.wait_for("any key closes this help");
    assert!(
        tui.contents().contains("ctrl-e  say which resource is selected"),
        "help lists the plugin:\n{}",
        tui.dump()
    );
    tui.send("z");
    tui.wait_gone("any key closes this help");
    // Not on another screen's help.
    tui.send("2");
    tui.wait_for("Workflow runs");
    tui.send("?");
    tui.wait_for("any key closes this help");
    assert!(!tui.contents().contains("say which resource"), "only on its screens:\n{}", tui.dump());
    tui.send("z");
    tui.wait_gone("any key closes this help");

    tui.send("5");
    tui.wait_for("inference-api-prod");
    tui.send("\x05"); // ctrl-e
    tui.wait_for("selected: inference-api-prod in us-east-1");
    tui.wait_for("say-name on inference-api-prod — exit 0");
    tui.send("\x1b");
    tui.wait_gone("selected: inference-api-prod in us-east-1");
    tui.send("q");
    assert!(matches!(tui.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));
    tui.assert_terminal_restored();

    let mut cmd = Command::new(binary());
    cmd.args(["audit", "--json"]);
    isolate(&mut cmd, home.path());
    let out = cmd.output().expect("run skydeck audit --json");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs: Vec<_> = entries.as_array().unwrap().iter().filter(|e| e["verb"] == "plugin").collect();
    let finished = runs
        .iter()
        .find(|e| e["phase"] == "finished")
        .unwrap_or_else(|| panic!("no finished plugin entry in {entries:#?}"));
    let started = runs.iter().find(|e| e["phase"] == "started").unwrap();
    assert_eq!(finished["action_id"], started["seq"]);
    assert_eq!(finished["target_name"], "inference-api-prod");
    assert_eq!(finished["environment"], "production");
    assert_eq!(finished["source"], "plugin:say-name");
    assert_eq!(finished["user"], "e2e");
    let detail = finished["detail"].as_str().unwrap();
    assert!(detail.starts_with("say-name: exit 0 in "), "{detail}");
    assert!(detail.ends_with("echo selected: inference-api-prod in us-east-1"), "{detail}");
}

/// A `terminal` plugin: the TUI steps aside, the command has the terminal, Enter comes back.
#[test]
fn a_terminal_plugin_suspends_the_tui_and_comes_back() {
    let home = tempfile::tempdir().unwrap();
    user_plugin(
        home.path(),
        "here.toml",
        r#"key = "ctrl-t"
scopes = ["resources"]
command = "sh"
args = ["-c", 'printf "in the terminal with %s\n" "$1"; read -r answer; printf "you said %s\n" "$answer"', "sh", "{resource.name}"]
output = "terminal"
"#,
    );
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    tui.send("5");
    tui.wait_for("inference-api-prod");
    tui.send("\x14"); // ctrl-t
    tui.wait_for("in the terminal with inference-api-prod");
    assert!(!tui.parser.screen().alternate_screen(), "the command runs on the normal screen");
    // Keys go to the command, not to skydeck.
    tui.send("q5?\r");
    tui.wait_for("you said q5?");
    tui.wait_for("Press Enter to return to skydeck");
    tui.send("\r");
    tui.wait_for("here on inference-api-prod: exit 0");
    assert!(tui.parser.screen().alternate_screen(), "back on the TUI's screen");
    assert!(tui.contents().contains("Resources"), "still on Resources:\n{}", tui.dump());
    tui.send("q");
    assert!(matches!(tui.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));
    tui.assert_terminal_restored();
}

/// ctrl-c in a `terminal` plugin stops the command, not skydeck.
#[test]
fn ctrl_c_stops_a_terminal_plugin_and_skydeck_carries_on() {
    let home = tempfile::tempdir().unwrap();
    user_plugin(
        home.path(),
        "wait.toml",
        r#"key = "ctrl-t"
scopes = ["resources"]
command = "sh"
args = ["-c", 'echo "waiting for ctrl-c"; exec sleep 30']
output = "terminal"
"#,
    );
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    tui.send("5");
    tui.wait_for("inference-api-prod");
    tui.send("\x14"); // ctrl-t
    tui.wait_for("waiting for ctrl-c");
    tui.send("\x03");
    tui.wait_for("Press Enter to return to skydeck");
    assert!(tui.contents().contains("killed by signal 2"), "screen:\n{}", tui.dump());
    tui.send("\r");
    tui.wait_for("wait on inference-api-prod: killed by signal 2");
    assert!(tui.poll_exit().is_none(), "skydeck is still running");
    // And it still answers keys.
    tui.send("2");
    tui.wait_for("Workflow runs");
    tui.send("q");
    assert!(matches!(tui.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));
    tui.assert_terminal_restored();
}

/// `skydeck` headless in the same isolated environment; stdout on success.
fn headless(home: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(binary());
    isolate(&mut cmd, home);
    let out = cmd.args(args).output().unwrap();
    assert!(out.status.success(), "skydeck {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn closed_incidents_export_a_postmortem_and_a_new_one_gets_its_severity() {
    let home = tempfile::tempdir().unwrap();
    headless(home.path(), &["incident", "start", "orders db slow", "--severity", "sev3", "--environment", "staging"]);
    headless(home.path(), &["incident", "close", "1", "--resolution", "failed over to the replica"]);
    let mut cmd = Command::new(binary());
    cmd.arg("demo").current_dir(home.path());
    isolate(&mut cmd, home.path());
    let mut tui = Tui::spawn(cmd, COLS, ROWS);
    tui.wait_for("What needs attention");
    tui.send("!");
    tui.wait_for("No incident is open");
    tui.send("h");
    tui.wait_for("Closed incidents (1)");
    tui.wait_for("orders db slow");
    tui.send("e");
    tui.wait_for("Write the postmortem of INC 1");
    tui.send("\r");
    tui.wait_for("postmortem of INC 1 written to");
    let file = home.path().join("skydeck-incident-1-postmortem.md");
    let written = std::fs::read_to_string(&file).expect("the postmortem file");
    assert_eq!(written, headless(home.path(), &["incident", "export", "1"]));
    // Back to the screen; start one with sev1 on the Overview's environment (dev, the first).
    tui.send("h");
    tui.wait_for("No incident is open");
    tui.send("s");
    tui.wait_for("Start an incident");
    tui.send("checkout 503\t");
    tui.send("\x1b[D"); // left: sev2 -> sev1
    tui.wait_for("◂ sev1 ▸");
    tui.send("\r");
    tui.wait_for("INC 2 · sev1 · checkout 503");
    tui.send("q");
    assert!(matches!(tui.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));
    let list: serde_json::Value =
        serde_json::from_str(&headless(home.path(), &["incident", "list", "--json"])).unwrap();
    assert_eq!(list[0]["severity"], "sev1", "{list}");
    assert_eq!(list[0]["environment"], "dev", "{list}");
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle)) {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_secret_value_typed_in_the_tui_reaches_no_screen_log_or_audit() {
    const VALUE: &str = "hunter2-Sup3r";
    let home = tempfile::tempdir().unwrap();
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    tui.send("7");
    tui.wait_for("payment-api-key");
    tui.send("t");
    tui.wait_for("Rotate secret");
    tui.send(VALUE);
    tui.wait_for("•••••••••••••▏");
    tui.send("\r");
    tui.wait_for("13 bytes");
    tui.wait_for("Type 'payment-api-key'");
    tui.send("payment-api-key\r");
    tui.wait_until("the rotation verified", TIMEOUT, |s| s.lines().any(|l| l.contains("rotate") && l.contains("✔")));
    tui.send("q");
    assert!(matches!(tui.wait_exit(Duration::from_secs(10)), WaitStatus::Exited(_, 0)));
    assert!(!tui.raw.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()), "the value reached the terminal");
    let audit = headless(home.path(), &["audit", "--json"]);
    assert!(audit.contains("\"rotate\"") && !audit.contains(VALUE), "{audit}");
    // Not in the store, the log file or anything else skydeck wrote.
    assert_eq!(files_containing(home.path(), VALUE.as_bytes()), Vec::<std::path::PathBuf>::new());
}

/// The README's walkthrough on the smallest terminal it promises: approve the production
/// deployment with `3`, `a`, Enter, `production`, Enter; the prompt is on screen throughout.
#[test]
fn the_readme_approval_walkthrough_works_at_80x24() {
    let home = tempfile::tempdir().unwrap();
    let mut tui = spawn_sized(home.path(), &["demo"], 80, 24);
    tui.wait_for("What needs attention");
    tui.send("3");
    tui.wait_for("waiting approval");
    tui.send("a");
    tui.wait_for("Comment for the review");
    tui.send("\r");
    tui.wait_for("Confirm action");
    tui.wait_for("Type 'production'");
    tui.wait_for("> ▏");
    tui.send("production");
    tui.wait_for("> production▏");
    tui.send("\r");
    // The message line is 80 columns: its start says what was done.
    tui.wait_for("✔ approve production");
    assert!(!tui.contents().contains("Confirm action"), "the popup closes once confirmed; screen:\n{}", tui.dump());
    tui.send("9");
    tui.wait_until("the finished approval in the audit log", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("approve") && l.contains("finished") && l.contains("production"))
    });
    tui.send("q");
    tui.reap(Duration::from_secs(5));
}

/// A background plugin that takes its time, on the Resources screen under ctrl-e.
fn slow_plugin(home: &Path) {
    user_plugin(
        home,
        "slow.toml",
        r#"key = "ctrl-e"
name = "slow"
scopes = ["resources"]
command = "sleep"
args = ["30"]
output = "background"
"#,
    );
}

/// The audit log as a fresh `skydeck audit --json` reads it, once `pred` holds for it.
fn wait_for_audit(home: &Path, what: &str, pred: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let entries: serde_json::Value = serde_json::from_str(&headless(home, &["audit", "--json"])).unwrap();
        let entries = entries.as_array().unwrap().clone();
        if pred(&entries) {
            return entries;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {entries:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn plugin_phases(entries: &[serde_json::Value]) -> Vec<String> {
    entries.iter().filter(|e| e["verb"] == "plugin").map(|e| e["phase"].as_str().unwrap().to_string()).collect()
}

/// kill -9 while a plugin runs: nothing can write a closing entry, but the "started" one was
/// durable before the command started, and the store opens fine afterwards.
#[test]
fn kill_9_mid_plugin_leaves_the_started_entry_and_a_store_that_opens() {
    let home = tempfile::tempdir().unwrap();
    slow_plugin(home.path());
    let mut tui = spawn(home.path(), &["demo"]);
    tui.wait_for("What needs attention");
    tui.send("5");
    tui.wait_for("inference-api-prod");
    tui.send("\x05"); // ctrl-e
    wait_for_audit(home.path(), "the started entry", |e| plugin_phases(e) == ["started"]);
    let pid = tui.pid().to_string();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    let status = tui.wait_exit(Duration::from_secs(10));
    assert!(matches!(status, WaitStatus::Signaled(_, _, _)), "{status:?}");
    let entries = wait_for_audit(home.path(), "the store after kill -9", |_| true);
    assert_eq!(plugin_phases(&entries), ["started"], "{entries:#?}");
    assert_eq!(entries[0]["source"], "plugin:slow");
    // And it takes new entries: a quick demo action from a new process.
    headless(
        home.path(),
        &[
            "--demo",
            "act",
            "scale",
            "arn:aws:ecs:us-east-1:123456789012:service/inference-dev/inference-api-dev",
            "--count",
            "2",
            "--yes",
        ],
    );
    let entries = wait_for_audit(home.path(), "the new action", |e| e.len() == 3);
    assert_eq!(entries[2]["phase"], "finished");
}

/// Quitting with `q`, or SIGTERM, while a background plugin runs: skydeck waits the short
/// grace, stops it, exits cleanly, and the log has "interrupted" linked to "started".
#[test]
fn quitting_while_a_plugin_runs_audits_it_interrupted() {
    for how in ["q", "SIGTERM"] {
        let home = tempfile::tempdir().unwrap();
        slow_plugin(home.path());
        let mut tui = spawn(home.path(), &["demo"]);
        tui.wait_for("What needs attention");
        tui.send("5");
        tui.wait_for("inference-api-prod");
        tui.send("\x05"); // ctrl-e
        wait_for_audit(home.path(), "the started entry", |e| plugin_phases(e) == ["started"]);
        let quit = Instant::now();
        if how == "q" {
            tui.send("q");
        } else {
            let pid = tui.pid().to_string();
            assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        }
        let status = tui.wait_exit(Duration::from_secs(15));
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{how}: {status:?}");
        assert!(quit.elapsed() < Duration::from_secs(10), "{how}: the plugin was stopped, not waited for");
        tui.assert_terminal_restored();
        let entries = wait_for_audit(home.path(), "the closing entry", |_| true);
        assert_eq!(plugin_phases(&entries), ["started", "interrupted"], "{how}: {entries:#?}");
        assert_eq!(entries[1]["action_id"], entries[0]["seq"], "{how}");
        assert!(entries[1]["detail"].as_str().unwrap().starts_with("slow: interrupted"), "{how}: {entries:#?}");
    }
}
