//! Plugins: loading and its errors (<file:line>), the variables of the selected row, expansion
//! that keeps hostile names in one argv element, read-only refusal, runs with their exit status
//! and the audit entries they leave.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use skydeck::app::{AppState, Screen, plugin_context};
use skydeck::clock::ManualClock;
use skydeck::keymap::{KeySpec, Keymap};
use skydeck::model::{Level, Provider, Resource, Role, Snapshot, Timestamp};
use skydeck::plugins::{self, Exit, Output, Parsed, Plugin, PluginFile, load, parse};
use skydeck::providers::sandbox::Sandbox;
use skydeck::store::{AuditPhase, Store};

const HOSTILE: &str = "x; rm -rf / $(whoami) \"quoted\" 'q' `id` | cat > /tmp/pwned & \\ {resource.id}";

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn file(stem: &str, text: &str) -> PluginFile {
    PluginFile { stem: stem.into(), path: format!("user/{stem}.toml"), text: text.into(), shipped: false }
}

fn plugin(text: &str) -> Plugin {
    match parse(text, "p.toml", "p", false).unwrap_or_else(|e| panic!("{e}")) {
        Parsed::Plugin(p) => *p,
        Parsed::Disabled => panic!("disabled"),
    }
}

fn error(text: &str) -> String {
    parse(text, "p.toml", "p", false).unwrap_err().to_string()
}

fn resource(name: &str, id: &str, kind: &str, provider: Provider) -> Resource {
    Resource {
        id: id.into(),
        name: name.into(),
        kind: kind.into(),
        role: Role::Compute,
        provider,
        environment: "staging".into(),
        region: "us-east-1".into(),
        status: "Running".into(),
        level: Level::Ok,
        current_version: None,
        versions: Vec::new(),
        details: Vec::new(),
    }
}

/// A state on the Resources screen with one resource selected.
fn on_resource(r: Resource) -> AppState {
    let snapshot = Snapshot { resources: vec![r], ..Snapshot::default() };
    let mut state = AppState::with_snapshot("demo", snapshot, Vec::new(), now(), (120, 40))
        .with_catalog(skydeck::providers::CATALOG);
    state.screen = Screen::Resources;
    state
}

fn demo() -> AppState {
    let sandbox = Sandbox::new(7, Arc::new(ManualClock::new(now())));
    AppState::with_snapshot("demo", sandbox.snapshot(), Vec::new(), now(), (120, 40))
        .with_catalog(skydeck::providers::CATALOG)
}

// ------------------------------------------------------------------------------ loading --

#[test]
fn a_user_file_replaces_the_shipped_one_and_a_broken_file_leaves_the_rest_loaded() {
    let mut files = plugins::shipped_files();
    files
        .push(file("open-in-browser", "key = \"O\"\ncommand = \"firefox\"\nargs = [\"{url}\"]\nscopes = [\"runs\"]\n"));
    files.push(file("broken", "key = \"ctrl-x\"\ncommand = \"echo\"\nscopes = [\"runs\"]\noutput = \"popup\"\n"));
    files.push(file("gh-run-log-failed", "enabled = false\n"));
    files.push(file("mine", "key = \"ctrl-e\"\ncommand = \"echo\"\nargs = [\"{name}\"]\nscopes = [\"runs\"]\n"));
    let loaded = load(files, &Keymap::default());
    let open = loaded.plugins.iter().find(|p| p.name == "open-in-browser").unwrap();
    assert_eq!(open.command, "firefox");
    assert!(!open.shipped);
    assert!(loaded.plugins.iter().all(|p| p.name != "gh-run-log-failed"), "switched off by the user");
    assert_eq!(loaded.disabled, ["user/gh-run-log-failed.toml"]);
    assert!(loaded.plugins.iter().any(|p| p.name == "mine"));
    assert_eq!(loaded.errors.len(), 1, "{:?}", loaded.errors);
    assert_eq!(
        loaded.errors[0].to_string(),
        "user/broken.toml:4: output 'popup': one of background, terminal, capture"
    );
}

#[test]
fn a_user_directory_loads_sorted_and_unreadable_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.toml"), "key = \"ctrl-b\"\ncommand = \"true\"\nscopes = [\"runs\"]\n").unwrap();
    std::fs::write(dir.path().join("a.toml"), "key = \"ctrl-a\"\ncommand = \"true\"\nscopes = [\"runs\"]\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a plugin").unwrap();
    std::fs::write(dir.path().join("a.toml.new"), "shipped beside a modified one").unwrap();
    let (files, errors) = plugins::dir_files(dir.path());
    assert!(errors.is_empty());
    let stems: Vec<&str> = files.iter().map(|f| f.stem.as_str()).collect();
    assert_eq!(stems, ["a", "b"]);
    let (none, errors) = plugins::dir_files(&dir.path().join("missing"));
    assert!(none.is_empty() && errors.is_empty(), "no directory is no error");
}

#[test]
fn validation_errors_point_at_the_line() {
    let cases: &[(&str, &str)] = &[
        ("key = \"ctrl-e\"\nscopes = [\"runs\"]\n", "p.toml:1: missing `command`"),
        ("key = \"hyper-e\"\ncommand = \"x\"\nscopes = [\"runs\"]\n", "p.toml:1: key: 'hyper-e' is not a key"),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nargs = [\n  \"ok\",\n  \"{resource.nme}\",\n]\n",
            "p.toml:6: unknown variable {resource.nme}",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nargs = [\"{oops\"]\n",
            "p.toml:4: '{oops': '{' is not closed",
        ),
        ("key = \"ctrl-e\"\ncommand = \"echo\"\nscope = [\"runs\"]\n", "p.toml:3: unknown field `scope`"),
        ("key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = []\n", "p.toml:3: scopes is empty"),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"screen:nowhere\"]\n",
            "p.toml:3: 'nowhere' is not a screen",
        ),
        ("key = \"ctrl-e\"\ncommand = \"echo {name}\"\nscopes = [\"runs\"]\n", "p.toml:2: command is a fixed program"),
        (
            "key = \"ctrl-e\"\ncommand = \"sh\"\nscopes = [\"runs\"]\nargs = [\"-c\", \"echo {resource.name}\"]\n",
            "p.toml:4: {resource.name} in the code sh runs would not be expanded",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"/usr/bin/python3\"\nscopes = [\"runs\"]\nargs = [\"-c\", \"print('{name}')\"]\n",
            "p.toml:4: {name} in the code python3 runs",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nargs = [\"{input.who}\"]\n",
            "p.toml:4: {input.who}: no input named 'who'",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nargs = [\"{input.who}\"]\n[[inputs]]\nname = \"who\"\nrequired = false\n",
            "p.toml:4: input 'who' may be left empty: write {input.who?}",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\n[[inputs]]\nname = \"x\"\nkind = \"choice\"\n",
            "p.toml:4: input 'x': a choice needs `options`",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nenv = { SKYDECK_X = \"1\" }\n",
            "p.toml:4: env 'SKYDECK_X': SKYDECK_* are set by skydeck",
        ),
        (
            "key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\ntimeout_seconds = 0\n",
            "p.toml:4: timeout_seconds",
        ),
        ("key = \"ctrl-e\"\ncommand = \"echo\"\nscopes = [\"runs\"]\nconfirm = \"yes\"\n", "p.toml:4: invalid type"),
    ];
    for (text, expected) in cases {
        let got = error(text);
        assert!(got.starts_with(expected), "expected {expected:?}, got {got:?}");
    }
    // `$` + braces in code are the interpreter's own.
    let p = plugin(
        "key = \"ctrl-e\"\ncommand = \"sh\"\nscopes = [\"runs\"]\nargs = [\"-c\", \"echo ${1} ${name:-x} {x}\", \"sh\", \"{name}\"]\n",
    );
    assert_eq!(p.args[1].text, "echo ${1} ${name:-x} {x}");
}

#[test]
fn key_clashes_are_load_errors_with_file_and_line() {
    let km = Keymap::default();
    let clash = |files: Vec<PluginFile>, km: &Keymap| {
        load(files, km).errors.iter().map(std::string::ToString::to_string).collect::<Vec<_>>()
    };
    // A built-in key.
    let errors = clash(vec![file("a", "command = \"true\"\nscopes = [\"runs\"]\nkey = \"a\"\n")], &km);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("user/a.toml:3: key 'a' is skydeck's 'approve' key"), "{errors:?}");
    // A built-in moved away in [keys] frees its key...
    let moved: std::collections::BTreeMap<String, KeySpec> = [("approve".to_string(), KeySpec::from("A"))].into();
    let km2 = Keymap::with_overrides(&moved).unwrap();
    assert!(clash(vec![file("a", "command = \"true\"\nscopes = [\"runs\"]\nkey = \"a\"\n")], &km2).is_empty());
    // ...and the new one is taken.
    let errors = clash(vec![file("a", "command = \"true\"\nscopes = [\"runs\"]\nkey = \"A\"\n")], &km2);
    assert!(errors[0].contains("'approve' key"), "{errors:?}");
    // Screen jumps, and keys a screen uses where the plugin is offered.
    let errors = clash(vec![file("a", "key = \"5\"\ncommand = \"true\"\nscopes = [\"runs\"]\n")], &km);
    assert!(errors[0].contains("jumps to a screen"), "{errors:?}");
    let errors = clash(vec![file("a", "key = \"n\"\ncommand = \"true\"\nscopes = [\"runbook\"]\n")], &km);
    assert!(errors[0].contains("Runbook screen's key for 'note on an item'"), "{errors:?}");
    assert!(clash(vec![file("a", "key = \"n\"\ncommand = \"true\"\nscopes = [\"runs\"]\n")], &km).is_empty());
    // Another plugin on the same screen; the error names the first one's file and line.
    let first = file("first", "key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"runs\", \"resources\"]\n");
    let second = file("second", "\ncommand = \"true\"\nkey = \"ctrl-e\"\nscopes = [\"resources\"]\n");
    let errors = clash(vec![first.clone(), second], &km);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("user/second.toml:3: key 'ctrl-e' is already 'first' (user/first.toml:1) on Resources"),
        "{errors:?}"
    );
    // Different screens, or different resource kinds: no clash.
    let elsewhere = file("other", "key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"secrets\"]\n");
    assert!(clash(vec![first, elsewhere], &km).is_empty());
    let ecs = file("ecs", "key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"ECS service\"]\n");
    let run = file("run", "key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"kind:Cloud Run service\"]\n");
    let any = file("any", "key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"compute\"]\n");
    assert!(clash(vec![ecs.clone(), run], &km).is_empty());
    let errors = clash(vec![ecs, any], &km);
    assert!(errors[0].contains("already 'ecs'"), "a role may cover the kind: {errors:?}");
    // Two files with the same name.
    let a = file("a", "name = \"same\"\nkey = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"runs\"]\n");
    let b = file("b", "name = \"same\"\nkey = \"ctrl-f\"\ncommand = \"true\"\nscopes = [\"runs\"]\n");
    assert!(clash(vec![a, b], &km)[0].contains("a plugin named 'same' is already loaded"));
}

#[test]
fn scopes_are_screens_kinds_roles_and_providers() {
    let p = plugin("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"ECS service\", \"aws\"]\n");
    assert_eq!(p.kinds, ["ECS service"]);
    assert_eq!(p.providers, [skydeck::providers::aws::PROVIDER]);
    assert_eq!(p.screens_offered(), [Screen::Resources, Screen::Incident], "kinds only: where resources are");
    let p = plugin("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"backups\", \"database\"]\n");
    assert_eq!(p.screens_offered(), [Screen::Backups]);
    assert_eq!(p.roles, [Role::Database]);
    let p = plugin("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"role:secrets\", \"screen:secrets\"]\n");
    assert_eq!((p.roles.clone(), p.screens.clone()), (vec![Role::Secrets], vec![Screen::Secrets]));
}

// ------------------------------------------------------------------------------ context --

#[test]
fn context_of_a_resource_derives_cloud_ids_and_console_url() {
    let ecs = resource(
        "api-stg",
        "arn:aws:ecs:eu-west-1:123456789012:service/main-cluster/api-stg",
        "ECS service",
        skydeck::providers::aws::PROVIDER,
    );
    let c = plugin_context(&on_resource(ecs));
    assert_eq!(c["item"], "resource");
    assert_eq!(c["resource.name"], "api-stg");
    assert_eq!(c["resource.kind"], "ECS service");
    assert_eq!(c["resource.role"], "compute");
    assert_eq!(c["provider"], "aws");
    assert_eq!(c["account"], "123456789012");
    assert_eq!(c["region"], "eu-west-1", "the ARN's region wins");
    assert_eq!(c["cluster"], "main-cluster");
    assert_eq!(c["environment"], "staging");
    assert_eq!(c["screen"], "resources");
    assert_eq!(
        c["url"],
        "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/main-cluster/services/api-stg/health?region=eu-west-1"
    );

    let app = resource(
        "web",
        "/subscriptions/sub-1/resourceGroups/rg-shop/providers/Microsoft.Web/sites/web",
        "App Service",
        skydeck::providers::azure::PROVIDER,
    );
    let c = plugin_context(&on_resource(app));
    assert_eq!((c["subscription"].as_str(), c["resource_group"].as_str()), ("sub-1", "rg-shop"));
    assert_eq!(
        c["url"],
        "https://portal.azure.com/#resource/subscriptions/sub-1/resourceGroups/rg-shop/providers/Microsoft.Web/sites/web/overview"
    );

    let mut run = resource(
        "api",
        "projects/p-1/locations/europe-west1/services/api",
        "Cloud Run service",
        skydeck::providers::gcp::PROVIDER,
    );
    run.region = String::new();
    let c = plugin_context(&on_resource(run));
    assert_eq!((c["project"].as_str(), c["region"].as_str()), ("p-1", "europe-west1"));
    assert_eq!(c["url"], "https://console.cloud.google.com/run/detail/europe-west1/api?project=p-1");
}

#[test]
fn context_of_runs_deployments_backups_and_logs() {
    let mut s = demo();
    s.screen = Screen::Runs;
    let c = plugin_context(&s);
    let run = &s.estate.runs[0];
    assert_eq!(c["item"], "run");
    assert_eq!(c["run.id"], run.run_id.to_string());
    assert_eq!(c["repo"], run.repo);
    assert_eq!(c["sha"], run.sha);
    assert_eq!(c["github.host"], "github.com");
    assert_eq!(c["url"], run.url);
    assert_eq!(c["id"], run.id);

    s.screen = Screen::Deployments;
    let c = plugin_context(&s);
    assert_eq!(c["item"], "approval", "the waiting approval sorts first");
    assert_eq!(c["environment"], "production");
    assert!(c.contains_key("run.id"), "the run behind the approval: {c:?}");

    s.screen = Screen::Backups;
    let c = plugin_context(&s);
    assert_eq!(c["item"], "backup");
    assert_eq!(c["resource.role"], "database");
    assert!(c.contains_key("database") && c.contains_key("url"), "{c:?}");

    s.screen = Screen::Logs;
    s.lists[Screen::Logs.index()].filter = "checkout".into();
    let c = plugin_context(&s);
    assert_eq!(c["log.filter"], "checkout");
    assert_eq!(c.get("item"), None, "no log lines loaded, nothing selected");
}

// ---------------------------------------------------------------------------- expansion --

#[test]
fn hostile_names_arrive_as_one_argument_unchanged() {
    let r = resource(HOSTILE, "arn:aws:ecs:us-east-1:1:service/c/x", "ECS service", skydeck::providers::aws::PROVIDER);
    let state = on_resource(r);
    let p = plugin(
        r#"key = "ctrl-e"
command = "sh"
scopes = ["resources"]
output = "capture"
args = ["-c", 'printf "<%s>\n" "$@"; echo "argc=$#"; printf "env=<%s>\n" "$SKYDECK_RESOURCE_NAME"', "sh", "{resource.name}", "--name={resource.name}", "{region}"]
"#,
    );
    let run = p.prepare(&plugin_context(&state)).unwrap();
    assert_eq!(run.argv[4], HOSTILE, "the value is one argv element, unchanged");
    assert_eq!(run.argv[5], format!("--name={HOSTILE}"));
    assert_eq!(run.argv.len(), 7);
    let store = Store::open_in_memory().unwrap();
    let done = plugins::execute(&run, &store, "maria", false);
    assert_eq!(done.exit, Exit::Code(0), "{:?}", done.output);
    assert_eq!(
        done.output,
        [
            format!("<{HOSTILE}>"),
            format!("<--name={HOSTILE}>"),
            "<us-east-1>".to_string(),
            "argc=3".to_string(),
            format!("env=<{HOSTILE}>"),
        ]
    );
    assert!(!std::path::Path::new("/tmp/pwned").exists());
}

#[test]
fn a_value_that_would_become_an_option_is_refused() {
    let state =
        on_resource(resource("--upload-pack=touch /tmp/x", "r1", "ECS service", skydeck::providers::aws::PROVIDER));
    let ctx = plugin_context(&state);
    let p = plugin(
        "key = \"ctrl-e\"\ncommand = \"git\"\nscopes = [\"resources\"]\nargs = [\"clone\", \"{resource.name}\"]\n",
    );
    let err = p.prepare(&ctx).unwrap_err().to_string();
    assert!(err.contains("would read as an option"), "{err}");
    // After "--", or glued to a flag, it is a value.
    let p = plugin(
        "key = \"ctrl-e\"\ncommand = \"git\"\nscopes = [\"resources\"]\nargs = [\"clone\", \"--\", \"{resource.name}\"]\n",
    );
    assert_eq!(p.prepare(&ctx).unwrap().argv[3], "--upload-pack=touch /tmp/x");
    let p =
        plugin("key = \"ctrl-e\"\ncommand = \"x\"\nscopes = [\"resources\"]\nargs = [\"--name={resource.name}\"]\n");
    assert!(p.prepare(&ctx).is_ok());
}

#[test]
fn missing_variables_refuse_and_optional_ones_drop_their_argument() {
    let state = on_resource(resource("api", "r1", "ECS service", skydeck::providers::aws::PROVIDER));
    let ctx = plugin_context(&state);
    let p = plugin(
        "key = \"ctrl-e\"\ncommand = \"gh\"\nscopes = [\"resources\"]\nargs = [\"run\", \"view\", \"{run.id}\"]\n",
    );
    assert_eq!(p.missing(&ctx), ["run.id"]);
    assert_eq!(
        p.prepare(&ctx).unwrap_err().to_string(),
        "plugin 'p' needs {run.id}, which the selected resource does not have"
    );
    let p = plugin(
        "key = \"ctrl-e\"\ncommand = \"x\"\nscopes = [\"resources\"]\nargs = [\"{resource.name}\", \"--project={project?}\", \"{region}\"]\nenv = { TARGET = \"{resource.id}\", NOPE = \"{sha?}\" }\n",
    );
    let run = p.prepare(&ctx).unwrap();
    assert_eq!(run.argv, ["x", "api", "us-east-1"]);
    let env: std::collections::BTreeMap<_, _> = run.env.iter().cloned().collect();
    assert_eq!(env["TARGET"], "r1");
    assert_eq!(env["SKYDECK_RESOURCE_ID"], "r1");
    assert_eq!(env["SKYDECK_ENVIRONMENT"], "staging");
    assert!(!env.contains_key("NOPE"));
    // Kinds narrow what it runs on.
    let p = plugin("key = \"ctrl-e\"\ncommand = \"x\"\nscopes = [\"RDS instance\"]\n");
    let err = p.prepare(&ctx).unwrap_err().to_string();
    assert_eq!(err, "plugin 'p' works on RDS instance, not on the selected ECS service");
}

#[test]
fn every_shipped_plugin_loads_without_clashes() {
    let loaded = load(plugins::shipped_files(), &Keymap::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.plugins.len(), plugins::SHIPPED.len());
    for p in &loaded.plugins {
        assert!(!p.description.is_empty(), "{} has no description", p.name);
    }
}

#[test]
fn every_shipped_plugin_prepares_on_a_demo_item_of_its_kind() {
    let loaded = plugins::load(plugins::shipped_files(), &Keymap::default());
    let mut state = demo();
    for p in &loaded.plugins {
        let screen = p.screens_offered()[0];
        state.screen = screen;
        let rows = skydeck::app::rows(&state, screen);
        let found = (0..rows.len()).find_map(|i| {
            state.lists[screen.index()].selected = i;
            let mut ctx = plugin_context(&state);
            if p.applies_to(&ctx).is_err() {
                return None;
            }
            for input in &p.inputs {
                ctx.insert(format!("input.{}", input.name), input.default.clone().unwrap_or("someone".into()));
            }
            Some(p.prepare(&ctx))
        });
        let run = found.unwrap_or_else(|| panic!("{}: no demo item on {screen:?} it applies to", p.name));
        let run = run.unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert!(run.argv.iter().all(|a| !a.contains('{') || a.contains('$')), "{}: {:?}", p.name, run.argv);
        eprintln!("{}: {}", p.name, run.command_line());
    }
}

#[test]
fn shipped_scripts_pass_shellcheck() {
    for p in plugins::load(plugins::shipped_files(), &Keymap::default()).plugins {
        if p.command != "sh" {
            continue;
        }
        let code = &p.args[1].text;
        let out = match std::process::Command::new("shellcheck")
            .args(["--shell=sh", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(code.as_bytes())?;
                child.wait_with_output()
            }) {
            Ok(out) => out,
            Err(e) => panic!(
                "shellcheck is not installed ({e}), so the shipped plugin scripts cannot be checked. \
                 scripts/test.sh installs it (apt-get install -y shellcheck)"
            ),
        };
        assert!(out.status.success(), "{}:\n{}", p.name, String::from_utf8_lossy(&out.stdout));
    }
}

// ------------------------------------------------------------------------------ running --

fn runnable(text: &str, state: &AppState) -> plugins::PluginRun {
    plugin(text).prepare(&plugin_context(state)).unwrap()
}

#[test]
fn a_background_run_captures_the_exit_status_and_is_audited() {
    let state = on_resource(resource(
        "api-stg",
        "arn:aws:ecs:us-east-1:1:service/c/api-stg",
        "ECS service",
        skydeck::providers::aws::PROVIDER,
    ));
    let run = runnable(
        "key = \"ctrl-e\"\nname = \"fails\"\ncommand = \"sh\"\nscopes = [\"resources\"]\nargs = [\"-c\", 'echo out; echo err >&2; exit 3', \"sh\", \"{resource.name}\"]\n",
        &state,
    );
    assert_eq!(run.output, Output::Background);
    let store = Store::open_in_memory().unwrap();
    let done = plugins::execute(&run, &store, "maria", false);
    assert_eq!(done.exit, Exit::Code(3));
    assert!(!done.ok());
    let mut output = done.output.clone();
    output.sort();
    assert_eq!(output, ["err", "out"]);
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.len(), 2, "{audit:#?}");
    let (started, ended) = (&audit[0], &audit[1]);
    assert_eq!(started.phase, AuditPhase::Started);
    assert_eq!(started.verb, "plugin");
    assert_eq!(started.target, "arn:aws:ecs:us-east-1:1:service/c/api-stg");
    assert_eq!(started.target_name, "api-stg");
    assert_eq!(started.environment, "staging");
    assert_eq!(started.user, "maria");
    assert_eq!(started.source, "plugin:fails");
    assert_eq!(started.detail, "fails: sh -c 'echo out; echo err >&2; exit 3' sh api-stg");
    assert_eq!(ended.phase, AuditPhase::Failed);
    assert_eq!(ended.action_id, Some(started.seq));
    assert!(ended.detail.starts_with("fails: exit 3 in "), "{}", ended.detail);
    assert!(ended.detail.ends_with("sh -c 'echo out; echo err >&2; exit 3' sh api-stg"), "{}", ended.detail);
}

#[test]
fn a_successful_run_is_finished_in_the_audit_log_and_env_values_stay_out_of_it() {
    let state = on_resource(resource("api", "r1", "ECS service", skydeck::providers::aws::PROVIDER));
    let run = runnable(
        "key = \"ctrl-e\"\nname = \"ok\"\ncommand = \"true\"\nscopes = [\"resources\"]\nenv = { TOKEN_HINT = \"s3cr3t-{resource.name}\" }\n",
        &state,
    );
    let store = Store::open_in_memory().unwrap();
    let done = plugins::execute(&run, &store, "maria", false);
    assert!(done.ok(), "{:?}", done.exit);
    assert!(done.status().starts_with("exit 0 in "));
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit[1].phase, AuditPhase::Finished);
    assert!(audit[1].detail.starts_with("ok: exit 0 in "), "{}", audit[1].detail);
    let json = serde_json::to_string(&audit).unwrap();
    assert!(!json.contains("s3cr3t"), "environment values are not audited: {json}");
}

#[test]
fn a_dangerous_plugin_is_hidden_and_refused_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let text = format!(
        "key = \"ctrl-e\"\nname = \"shell\"\ncommand = \"touch\"\nscopes = [\"resources\"]\ndangerous = true\nargs = [\"{}\"]\n",
        marker.display()
    );
    let mut state = on_resource(resource("api", "r1", "ECS service", skydeck::providers::aws::PROVIDER));
    state.plugins = vec![plugin(&text)];
    assert_eq!(skydeck::app::plugins_here(&state).len(), 1);
    state.read_only = true;
    assert!(skydeck::app::plugins_here(&state).is_empty(), "hidden in --read-only");
    assert!(!skydeck::app::palette_candidates(&state, "plugin").iter().any(|c| c.contains("shell")));
    // Its key says why and does nothing.
    let key =
        crossterm::event::KeyEvent::new(crossterm::event::KeyCode::Char('e'), crossterm::event::KeyModifiers::CONTROL);
    let effects = skydeck::app::update(&mut state, skydeck::app::Msg::Key(key));
    assert!(effects.is_empty(), "{effects:?}");
    let Some(skydeck::app::Popup::Message { text: shown, .. }) = &state.popup else {
        panic!("{:?}", state.popup)
    };
    assert!(shown.contains("--read-only") && shown.contains("dangerous"), "{shown}");
    // The runner refuses too, and records the refusal.
    let run = plugin(&text).prepare(&plugin_context(&state)).unwrap();
    let store = Store::open_in_memory().unwrap();
    let done = plugins::execute(&run, &store, "maria", true);
    assert!(matches!(done.exit, Exit::Refused(_)), "{:?}", done.exit);
    assert!(!marker.exists(), "nothing ran");
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].phase, AuditPhase::Refused);
}

#[test]
fn a_missing_program_and_a_timeout_are_failures_with_a_reason() {
    let state = on_resource(resource("api", "r1", "ECS service", skydeck::providers::aws::PROVIDER));
    let store = Store::open_in_memory().unwrap();
    let run = runnable("key = \"ctrl-e\"\ncommand = \"skydeck-no-such-program\"\nscopes = [\"resources\"]\n", &state);
    let done = plugins::execute(&run, &store, "maria", false);
    assert_eq!(
        done.exit,
        Exit::NotStarted("'skydeck-no-such-program' was not found (is it installed and on PATH?)".into())
    );
    let run = runnable(
        "key = \"ctrl-e\"\ncommand = \"sleep\"\nargs = [\"10\"]\nscopes = [\"resources\"]\ntimeout_seconds = 1\n",
        &state,
    );
    let done = plugins::execute(&run, &store, "maria", false);
    assert_eq!(done.exit, Exit::TimedOut(1));
    assert!(done.duration < Duration::from_secs(5), "{:?}", done.duration);
    let audit = store.audit_entries().unwrap();
    assert_eq!(audit.iter().filter(|a| a.phase == AuditPhase::Failed).count(), 2);
    assert!(audit.iter().any(|a| a.detail.contains("timed out after 1s")), "{audit:#?}");
}

#[test]
fn a_run_during_an_incident_lands_on_its_timeline() {
    let state = on_resource(resource("api", "r1", "ECS service", skydeck::providers::aws::PROVIDER));
    let store = Store::open_in_memory().unwrap();
    store.open_incident("503s", "sev2", Some("staging"), "maria", now()).unwrap();
    let run = runnable("key = \"ctrl-e\"\nname = \"look\"\ncommand = \"true\"\nscopes = [\"resources\"]\n", &state);
    plugins::execute(&run, &store, "maria", false);
    let incident = store.open_incident_now().unwrap().unwrap();
    assert!(
        incident.timeline.iter().any(|e| e.text.starts_with("plugin look on api (staging) — exit 0")),
        "{:#?}",
        incident.timeline
    );
}

#[test]
fn all_means_every_screen() {
    let p = plugin("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"all\"]\n");
    assert_eq!(p.screens_offered(), Screen::ALL, "k9s' convention: every screen, not a resource kind");
    assert!(p.kinds.is_empty() && p.item_label().is_none());
    let p = plugin("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"screen:all\", \"runs\", \"kind:ecs SERVICE\"]\n");
    assert_eq!(p.screens_offered(), Screen::ALL, "listed once each");
    assert_eq!(p.kinds, ["ECS service"], "kinds are kept as the list spells them");
}

#[test]
fn an_unknown_scope_or_kind_is_a_load_error_with_its_line() {
    let err = error("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\n  \"runs\",\n  \"ECS services\",\n]\n");
    assert!(err.starts_with("p.toml:5: 'ECS services' is not a scope"), "{err}");
    assert!(
        err.contains(
            "App Service, Function App, App Service Plan, PostgreSQL Flexible Server, ECS service, RDS instance"
        ),
        "it lists the kinds: {err}"
    );
    assert!(err.contains("screens (all, overview, runs"), "{err}");
    let err = error("key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"kind:Lambda function\"]\n");
    assert!(err.starts_with("p.toml:3: 'Lambda function' is not a resource kind"), "{err}");
    // A broken file is reported, never loaded as a plugin that silently matches nothing.
    let loaded = load(
        vec![file("dead", "key = \"ctrl-e\"\ncommand = \"true\"\nscopes = [\"everything\"]\n")],
        &Keymap::default(),
    );
    assert!(loaded.plugins.is_empty());
    assert!(
        loaded.errors[0].to_string().starts_with("user/dead.toml:3: 'everything' is not a scope"),
        "{:?}",
        loaded.errors
    );
}

#[test]
fn the_kinds_shipped_plugins_name_are_in_the_documented_list() {
    let shipped = load(plugins::shipped_files(), &Keymap::default());
    assert!(shipped.errors.is_empty(), "{:?}", shipped.errors);
    for p in &shipped.plugins {
        for k in &p.kinds {
            assert!(skydeck::providers::kinds().any(|known| known == k), "{}: {k}", p.name);
        }
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for k in skydeck::providers::kinds() {
        assert!(readme.contains(&format!("`{k}`")), "README lists the kind {k}");
    }
}
