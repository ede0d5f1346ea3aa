//! The headless contracts of design.md: `status --json`, `act`, `audit --json`,
//! `completions`, config errors. Each test runs the real binary with its own XDG dirs.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap() }
    }
    fn cmd(&self, args: &[&str]) -> Output {
        let d = self.dir.path();
        Command::new(env!("CARGO_BIN_EXE_skydeck"))
            .args(args)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env_remove("SKYDECK_CONFIG")
            .env("USER", "tester")
            .env("SKYDECK_DEMO_SEED", "7")
            .output()
            .unwrap()
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn status(env: &Env) -> Value {
    let out = env.cmd(&["--demo", "status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn audit(env: &Env) -> Vec<Value> {
    let out = env.cmd(&["audit", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

#[test]
fn status_json_has_every_contract_array_with_ids() {
    let env = Env::new();
    let doc = status(&env);
    for key in [
        "environments",
        "runs",
        "approvals",
        "deployments",
        "resources",
        "backups",
        "health",
        "secrets",
        "alerts",
        "errors",
    ] {
        assert!(doc[key].is_array(), "missing array {key}");
    }
    assert_eq!(doc["environments"].as_array().unwrap().len(), 3);
    for key in ["runs", "approvals", "deployments", "resources", "backups", "secrets"] {
        let items = doc[key].as_array().unwrap();
        assert!(!items.is_empty(), "{key} is empty");
        assert!(items.iter().all(|i| i["id"].as_str().is_some_and(|s| !s.is_empty())), "{key} without id");
    }
    // Provider-native identifiers: ARNs, ARM ids, GCP resource names, GitHub run paths.
    let ids: Vec<&str> = doc["resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.iter().any(|i| i.starts_with("arn:aws:ecs:")));
    assert!(ids.iter().any(|i| i.starts_with("/subscriptions/") && i.contains("/providers/Microsoft.Web/sites/")));
    assert!(ids.iter().any(|i| i.starts_with("projects/") && i.contains("/services/")));
    assert!(doc["runs"][0]["id"].as_str().unwrap().contains("/actions/runs/"));
    assert_eq!(doc["errors"].as_array().unwrap().len(), 0);
    // Secrets are metadata only: no field that could carry a value.
    for secret in doc["secrets"].as_array().unwrap() {
        for key in secret.as_object().unwrap().keys() {
            assert!(!["value", "payload", "secret_string", "password"].contains(&key.as_str()), "secret field {key}");
        }
    }
}

#[test]
fn approve_production_needs_the_name_then_is_audited() {
    let env = Env::new();
    let doc = status(&env);
    let approval = doc["approvals"][0]["id"].as_str().unwrap().to_string();

    let out = env.cmd(&["--demo", "act", "approve", &approval, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--confirm production"), "{}", stderr(&out));
    assert!(audit(&env).is_empty(), "nothing is audited or sent without confirmation");

    let out = env.cmd(&["--demo", "act", "approve", &approval, "--yes", "--confirm", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing was sent"), "{}", stderr(&out));

    let out =
        env.cmd(&["--demo", "act", "approve", &approval, "--yes", "--confirm", "production", "--reason", "release 42"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("pending_deployments"), "the plan lists the exact call: {}", stderr(&out));
    let result: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(result["ok"], true);

    let entries = audit(&env);
    let phases: Vec<&str> = entries.iter().map(|e| e["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["started", "finished"]);
    assert_eq!(entries[0]["verb"], "approve");
    assert_eq!(entries[0]["environment"], "production");
    assert_eq!(entries[0]["user"], "tester");
    assert_eq!(entries[1]["reason"], "release 42");
    assert_eq!(entries[1]["action_id"], entries[0]["seq"]);
}

#[test]
fn read_only_refuses_before_anything_is_sent() {
    let env = Env::new();
    let doc = status(&env);
    let secret = doc["secrets"][0]["id"].as_str().unwrap().to_string();
    let out = env.cmd(&["--demo", "--read-only", "act", "rotate", &secret, "--yes", "--confirm", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert!(audit(&env).is_empty());
}

#[test]
fn dry_run_prints_the_plan_and_sends_nothing() {
    let env = Env::new();
    let doc = status(&env);
    let db = doc["backups"].as_array().unwrap().iter().find(|b| b["environment"] == "staging").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.cmd(&["--demo", "act", "restore", &db, "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stderr(&out);
    assert!(plan.contains("NEW server") && plan.contains("--restore-time"), "{plan}");
    assert!(plan.contains("dry run: nothing was sent"));
    assert!(audit(&env).is_empty());
}

#[test]
fn non_production_actions_need_yes_when_not_interactive() {
    let env = Env::new();
    let doc = status(&env);
    let secret = doc["secrets"].as_array().unwrap().iter().find(|s| s["environment"] == "dev").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.cmd(&["--demo", "act", "rotate", &secret]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let out = env.cmd(&["--demo", "act", "rotate", &secret, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(audit(&env).len(), 2);
}

#[test]
fn wrong_verbs_and_ids_are_clear_errors() {
    let env = Env::new();
    let out = env.cmd(&["--demo", "act", "explode", "x"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("unknown verb 'explode'"), "{}", stderr(&out));
    let out = env.cmd(&["--demo", "act", "approve", "no-such-id", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no target with id 'no-such-id'"), "{}", stderr(&out));
    let doc = status(&env);
    let secret = doc["secrets"][0]["id"].as_str().unwrap().to_string();
    let out = env.cmd(&["--demo", "act", "scale", &secret, "--yes", "--count", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not apply"), "{}", stderr(&out));
}

#[test]
fn broken_config_says_file_and_line() {
    let env = Env::new();
    let cfg = env.path().join("bad.toml");
    std::fs::write(&cfg, "[[environments]]\nname = \"prod\"\ntier = \"moon\"\n").unwrap();
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "status", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:3:", cfg.display())), "{err}");
    assert!(!err.contains("panicked"));
    let out = env.cmd(&["--config", env.path().join("missing.toml").to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

#[test]
fn unknown_keys_warn_and_unbuilt_adapters_are_reported_as_errors() {
    let env = Env::new();
    let cfg = env.path().join("c.toml");
    std::fs::write(
        &cfg,
        "colour = \"red\"\n[github]\nrepos = [\"acme/web\"]\n[[environments]]\nname = \"production\"\n",
    )
    .unwrap();
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("{}:1: unknown key 'colour'", cfg.display())), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["environments"][0]["name"], "production");
    assert_eq!(doc["environments"][0]["tier"], "prod");
    assert_eq!(doc["errors"][0]["source"], "github");
}

#[test]
fn config_is_found_through_skydeck_config() {
    let env = Env::new();
    let cfg = env.path().join("via-env.toml");
    std::fs::write(&cfg, "[[environments]]\nname = \"stg\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(["status", "--json"])
        .env("SKYDECK_CONFIG", &cfg)
        .env("XDG_DATA_HOME", env.path().join("data"))
        .env("XDG_STATE_HOME", env.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["environments"][0]["tier"], "staging");
}

#[test]
fn completions_are_generated() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.cmd(&["completions", shell]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("skydeck"));
    }
}

#[test]
fn the_tui_refuses_without_a_terminal() {
    let env = Env::new();
    let out = env.cmd(&["demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs a terminal"), "{}", stderr(&out));
}

#[test]
fn logs_prints_a_local_file_filtered_for_pipes() {
    let env = Env::new();
    let log = env.path().join("app.log");
    let now = chrono::Utc::now();
    let old = (now - chrono::Duration::hours(3)).to_rfc3339();
    let recent = (now - chrono::Duration::minutes(1)).to_rfc3339();
    std::fs::write(
        &log,
        format!("{old} ERROR old failure\n{recent} INFO GET /ok\n{recent} ERROR payment failed id=7\n{{\"level\":\"error\",\"msg\":\"json\"}}\n"),
    )
    .unwrap();
    let cfg = env.path().join("c.toml");
    std::fs::write(&cfg, format!("[[logs]]\nfile = \"{}\"\nname = \"app\"\n", log.display())).unwrap();
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "logs", "app", "--filter", "fail", "--since", "1h"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains(" ERROR app ") && lines[0].ends_with("ERROR payment failed id=7"), "{text}");
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "logs", "all"]);
    assert_eq!(stdout(&out).lines().filter(|l| l.contains(" ERROR ")).count(), 3);
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "logs", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sources: all, app"), "{}", stderr(&out));
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "logs", "app", "--filter", "("]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn logs_follow_streams_a_file_as_it_grows_and_across_truncation() {
    use std::io::{BufRead, BufReader, Write};
    let env = Env::new();
    let log = env.path().join("app.log");
    std::fs::write(&log, "2026-11-23T08:00:00Z ERROR first\n2026-11-23T08:00:01Z INFO quiet\nunfinished ERR").unwrap();
    let cfg = env.path().join("c.toml");
    std::fs::write(&cfg, format!("[[logs]]\nfile = \"{}\"\nname = \"app\"\n", log.display())).unwrap();
    let d = env.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(["--config", cfg.to_str().unwrap(), "logs", "app", "--filter", "error|err", "--follow"])
        .env("XDG_DATA_HOME", d.join("data"))
        .env("XDG_STATE_HOME", d.join("state"))
        .env("XDG_CONFIG_HOME", d.join("config"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    assert!(next().ends_with(" app 2026-11-23T08:00:00Z ERROR first"));
    // The unfinished line is printed once it is finished, not before and not twice.
    std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(b"OR payment\n").unwrap();
    assert!(next().ends_with(" app unfinished ERROR payment"));
    // Truncated (rotated in place): read again from the top.
    std::fs::write(&log, "error after rotation\n").unwrap();
    assert!(next().ends_with(" app error after rotation"));
    // Rotated by rename, the new file already longer than what was read: from its top too.
    let fresh = env.path().join("app.log.new");
    std::fs::write(&fresh, format!("{}\nerror in the new file\n", "x".repeat(200))).unwrap();
    std::fs::rename(&fresh, &log).unwrap();
    assert!(next().ends_with(" app error in the new file"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn plugins_list_and_check_report_each_file() {
    let env = Env::new();
    let out = env.cmd(&["plugins", "check"]);
    assert!(out.status.success(), "the shipped plugins load: {}", stderr(&out));
    assert!(stdout(&out).contains("plugin(s) loaded, no problems"), "{}", stdout(&out));

    let dir = env.path().join("config").join("skydeck").join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.toml"), "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\n").unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        "key = \"ctrl-y\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nargs = [\"{sha\"]\n",
    )
    .unwrap();
    let out = env.cmd(&["plugins", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let bad = dir.join("bad.toml");
    assert!(stderr(&out).contains(&format!("{}:4: '{{sha': '{{' is not closed", bad.display())), "{}", stderr(&out));

    let out = env.cmd(&["plugins", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["plugins"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"mine") && names.contains(&"open-in-browser") && names.contains(&"psql-rds-iam"),
        "{names:?}"
    );
    assert_eq!(doc["errors"].as_array().unwrap().len(), 1);
    let mine = doc["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "mine").unwrap();
    assert_eq!(mine["key"], "ctrl-e");
    assert_eq!(mine["file"], format!("{}:1", dir.join("mine.toml").display()));
    // Read-only: dangerous plugins are not there at all.
    let out = env.cmd(&["--read-only", "plugins", "list", "--json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["plugins"].as_array().unwrap().iter().all(|p| p["dangerous"] == false), "{doc:#}");

    let out = env.cmd(&["plugins", "vars"]);
    assert!(stdout(&out).contains("{resource.name}") && stdout(&out).contains("SKYDECK_RESOURCE_ID"));
}

#[test]
fn key_remaps_are_checked_with_file_and_line() {
    let env = Env::new();
    let cfg = env.path().join("c.toml");
    std::fs::write(&cfg, "[[environments]]\nname = \"prod\"\n\n[keys]\napprove = \"A\"\nreject = \"A\"\n").unwrap();
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}:6: [keys] reject = \"A\": 'A' is also given to 'approve'", cfg.display())),
        "{}",
        stderr(&out)
    );
    // A plugin on a key freed by a remap loads; one on the remapped key does not.
    std::fs::write(&cfg, "[keys]\napprove = \"A\"\n").unwrap();
    let dir = env.path().join("config").join("skydeck").join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.toml"), "key = \"a\"\ncommand = \"true\"\nscopes = [\"runs\"]\n").unwrap();
    std::fs::write(dir.join("b.toml"), "key = \"A\"\ncommand = \"true\"\nscopes = [\"runs\"]\n").unwrap();
    let out = env.cmd(&["--config", cfg.to_str().unwrap(), "plugins", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("b.toml:1: key 'A' is skydeck's 'approve' key"), "{err}");
    assert!(!err.contains("a.toml"), "{err}");
}

/// A completed Deploy run of the demo (not waiting for any review), by id.
fn completed_deploy_run(doc: &Value) -> String {
    let waiting: Vec<&Value> = doc["approvals"].as_array().unwrap().iter().map(|a| &a["run"]).collect();
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["workflow"] == "Deploy" && r["status"] == "completed" && !waiting.contains(&&r["id"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn dispatch_to_production_needs_the_environment_typed_whatever_run_it_starts_from() {
    let env = Env::new();
    let run = completed_deploy_run(&status(&env));
    // The bare spelling reaches the workflow input, and the input decides the tier.
    let out = env.cmd(&["--demo", "act", "dispatch", &run, "--param", "environment=production", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --confirm production"), "{}", stderr(&out));
    assert!(stderr(&out).contains("touches production"), "the plan says why: {}", stderr(&out));
    assert!(audit(&env).is_empty(), "nothing is sent without the typed name");

    let out =
        env.cmd(&["--demo", "act", "dispatch", &run, "--param", "environment=production", "--confirm", "production"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(r#""environment":"production""#), "the input is sent: {}", stderr(&out));
    let entries = audit(&env);
    assert_eq!(entries[0]["environment"], "production");

    // The prefixed spelling works the same, and staging stays a yes/no.
    let out = env.cmd(&["--demo", "act", "dispatch", &run, "--param", "input.environment=production", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = env.cmd(&["--demo", "act", "dispatch", &run, "--param", "environment=staging", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(r#""environment":"staging""#), "{}", stderr(&out));
}

#[test]
fn rerunning_a_run_that_deployed_to_production_is_a_production_action() {
    let env = Env::new();
    let doc = status(&env);
    let deployed: Vec<&str> = doc["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["environment"] == "production")
        .filter_map(|d| d["run_id"].as_str())
        .collect();
    let run = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "completed" && deployed.contains(&r["id"].as_str().unwrap()))
        .expect("the demo has a finished production deploy run")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.cmd(&["--demo", "act", "rerun", &run, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --confirm production"), "{}", stderr(&out));
}

#[test]
fn unknown_params_are_refused_with_the_valid_ones() {
    let env = Env::new();
    let doc = status(&env);
    let run = completed_deploy_run(&doc);
    let out = env.cmd(&["--demo", "act", "dispatch", &run, "--param", "enviroment=production", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("dispatch on demo does not take 'enviroment'"), "{err}");
    assert!(err.contains("--param environment=… (or input.environment)"), "{err}");
    assert!(!err.contains("dry run"), "refused before planning: {err}");

    let service = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "compute" && r["versions"].as_array().is_some_and(|v| v.len() > 1))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env.cmd(&["--demo", "act", "promote", &service, "--param", "force=true", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("promote on demo does not take 'force'; it takes: --to"), "{}", stderr(&out));
    let out = env.cmd(&["--demo", "act", "promote", &service, "--count", "3", "--dry-run"]);
    assert!(stderr(&out).contains("does not take 'count'"), "flags are checked too: {}", stderr(&out));
    assert!(audit(&env).is_empty());
    // Both spellings are in `--help`.
    let help = stdout(&env.cmd(&["act", "--help"]));
    assert!(
        help.contains("--param environment=production") && help.contains("--param input.environment=production"),
        "{help}"
    );
}
