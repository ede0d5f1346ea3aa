//! Property-based fuzzing (proptest, stable toolchain) of everything that reads text or JSON
//! from outside: config files, plugin files, runbook files and their check expressions, log
//! lines (file formats, SGR colours, the terminal sanitizer), and every provider payload, both
//! through the public parsers and through a whole provider `fetch` against a loopback server
//! serving mutated fixtures (`../shared/fixtures`, `tests/fixtures`).
//!
//! The properties: no input panics; a config, plugin or runbook error names `file:line` with a
//! line inside the file; sanitized text holds no control character or escape.
//!
//! Case counts are small so the whole suite stays under a minute in CI; `PROPTEST_CASES=5000
//! cargo test --test fuzz` runs more locally. A failing input is written to
//! `tests/fuzz.proptest-regressions` (commit it) and replayed first on every later run; the
//! inputs found so far are also named `#[test]`s at the end of this file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};
use skydeck::providers::Provider;

#[path = "azure_support/mod.rs"]
mod azure_support;
#[path = "support/gcp.rs"]
mod gcp_fixtures;
#[path = "support/github.rs"]
mod github_fixtures;

/// `default` cases unless `PROPTEST_CASES` says otherwise.
fn config(default: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default;
    }
    c.max_shrink_iters = 2000;
    c
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// Words of TOML and of skydeck's own config, glued at random.
fn toml_ish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("[".to_string()),
        Just("]".to_string()),
        Just("[[".to_string()),
        Just("]]".to_string()),
        Just(" = ".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("'''".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("#".to_string()),
        Just(",".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(".".to_string()),
        prop::sample::select(vec![
            "github",
            "repos",
            "api_url",
            "hosts",
            "refresh",
            "seconds",
            "health_seconds",
            "environments",
            "name",
            "tier",
            "prod",
            "health",
            "url",
            "thresholds",
            "cpu",
            "warn",
            "crit",
            "aws",
            "accounts",
            "region",
            "azure",
            "subscriptions",
            "gcp",
            "project",
            "endpoints",
            "keys",
            "approve",
            "quit",
            "logs",
            "file",
            "theme",
            "max_runs",
            "token_env",
            "expect_status",
            "timeout_seconds",
            "headers",
            "key",
            "command",
            "args",
            "screens",
            "inputs",
            "kind",
            "output",
            "items",
            "check",
            "logs_errors_window",
        ])
        .prop_map(str::to_string),
        prop::sample::select(vec![
            "1",
            "-1",
            "0",
            "1e400",
            "18446744073709551616",
            "true",
            "false",
            "\"x\"",
            "\"\"",
            "[]",
            "{}",
            "1979-05-27T07:32:00Z",
            "\"ctrl-q\"",
            "\"A\"",
            "\"k\"",
            "\"production\"",
            "\"https://x\"",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,8}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

/// One edit of a text file, line-wise.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Insert(usize, String),
    ReplaceValue(usize, String),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), toml_ish()).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), toml_ish()).prop_map(|(a, t)| Edit::ReplaceValue(a, t)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 1..6)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Edit::Insert(i, t) => lines.insert(i % (lines.len() + 1), t.clone()),
            Edit::ReplaceValue(i, t) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                *l = match l.split_once('=') {
                    Some((k, _)) => format!("{k}= {t}"),
                    None => t.clone(),
                };
            }
            Edit::Truncate(at) => {
                let joined = lines.join("\n");
                let mut cut = at % (joined.len() + 1);
                while !joined.is_char_boundary(cut) {
                    cut -= 1;
                }
                lines = joined[..cut].lines().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

/// Text as remote parties send it: escape sequences (CSI, OSC, DCS, 8-bit C1), SGR colours,
/// controls, bidi overrides, timestamps, JSON log lines, and any character at all.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "\x1b[",
            "\x1b]",
            "\x1bP",
            "\x1b_",
            "\x1b^",
            "\x1bX",
            "\x1b\\",
            "\x07",
            "\x1b",
            "\u{9b}",
            "\u{9d}",
            "\u{90}",
            "\u{9c}",
            "m",
            ";",
            ":",
            "31",
            "38;5;196",
            "38:2::1:2:3",
            "48;2;300;0;0",
            "0",
            "1",
            "999999",
            "\r",
            "\n",
            "\t",
            "\x0b",
            "\x0c",
            "\x08",
            "\x7f",
            "\u{202e}",
            "\u{2066}",
            "\u{200b}",
            "2026-11-22T10:00:00Z ",
            "2026-11-22 10:00:00 ",
            "[2026-11-22T10:00:00.123+02:00] ",
            "9999-99-99T99:99:99Z ",
            "ERROR ",
            "WARN ",
            "error:",
            "{\"level\":\"error\",\"msg\":\"x\"}",
            "{\"severity\":",
            "##[error]",
            "##[warning]",
            "\u{feff}",
            "é",
            "漢",
            "🙂",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,12}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// Arbitrary JSON, leaning towards what breaks mappers: huge and negative numbers, odd dates,
/// empty and escape-laden strings, ids of every provider's shape.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop::sample::select(vec![0.0, -0.5, 1e308, -1e308, 0.1, 100.0, 1e-300]).prop_map(|f: f64| json!(f)),
        prop::sample::select(vec![
            "",
            "0",
            "-1",
            "null",
            "1970-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-11-22T10:00:00.123456789Z",
            "not a date",
            "-62135596800",
            "1e309",
            "3.5s",
            "-1s",
            "s",
            "projects/p/locations/l/services/s",
            "projects//secrets/",
            "/subscriptions/a/resourceGroups/b/providers/c/d/e",
            "/subscriptions/",
            "arn:aws:ecs:us-east-1:1:service/c/s",
            "\u{1b}]52;c;aGk=\u{7}",
            "https://x/y?z=1",
            "PT1H",
            "P1D",
            "READY",
            "SUCCESSFUL",
            "completed",
            "waiting",
            "success",
            "RUNNABLE",
            "ENABLED",
        ])
        .prop_map(|s| json!(s)),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change somewhere inside a JSON document.
#[derive(Debug, Clone)]
enum JsonEdit {
    /// The node at this preorder index becomes this value.
    Replace(usize, Value),
    /// The node at this index is removed from its parent.
    Remove(usize),
    /// Strings become numbers, numbers strings, arrays objects...
    Retype(usize),
}

fn json_edits() -> impl Strategy<Value = Vec<JsonEdit>> {
    let edit = prop_oneof![
        (any::<usize>(), json_value()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        any::<usize>().prop_map(JsonEdit::Remove),
        any::<usize>().prop_map(JsonEdit::Retype),
    ];
    prop::collection::vec(edit, 1..5)
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// Applies `f` to the node at preorder index `target` (0 is the root). `f` gets the node and
/// returns whether it should be removed from its parent.
fn at_node(v: &mut Value, target: usize, f: &mut dyn FnMut(&mut Value) -> bool) -> Option<bool> {
    fn walk(v: &mut Value, target: usize, seen: &mut usize, f: &mut dyn FnMut(&mut Value) -> bool) -> Option<bool> {
        if *seen == target {
            return Some(f(v));
        }
        *seen += 1;
        match v {
            Value::Array(a) => {
                for i in 0..a.len() {
                    if let Some(remove) = walk(&mut a[i], target, seen, f) {
                        if remove {
                            a.remove(i);
                        }
                        return Some(false);
                    }
                }
            }
            Value::Object(o) => {
                let keys: Vec<String> = o.keys().cloned().collect();
                for k in keys {
                    if let Some(remove) = walk(o.get_mut(&k).unwrap(), target, seen, f) {
                        if remove {
                            o.remove(&k);
                        }
                        return Some(false);
                    }
                }
            }
            _ => {}
        }
        None
    }
    walk(v, target, &mut 0, f)
}

fn mutate(mut v: Value, edits: &[JsonEdit]) -> Value {
    for e in edits {
        let n = count(&v);
        match e {
            JsonEdit::Replace(i, new) => {
                at_node(&mut v, i % n, &mut |node| {
                    *node = new.clone();
                    false
                });
            }
            JsonEdit::Remove(i) => {
                at_node(&mut v, (i % n).max(1).min(n - 1), &mut |_| true);
            }
            JsonEdit::Retype(i) => {
                at_node(&mut v, i % n, &mut |node| {
                    *node = match node.take() {
                        Value::String(s) => s.parse::<f64>().map(|f| json!(f)).unwrap_or(json!(s.len())),
                        Value::Number(n) => json!(n.to_string()),
                        Value::Array(a) => json!({"items": a}),
                        Value::Object(o) => Value::Array(o.into_iter().map(|(_, v)| v).collect()),
                        Value::Bool(b) => json!(if b { "true" } else { "" }),
                        Value::Null => json!({}),
                    };
                    false
                });
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Config, plugin and runbook files
// ---------------------------------------------------------------------------------------------

/// A config using every section, as in the README.
const VALID_CONFIG: &str = r#"theme = "dark"

[refresh]
seconds = 30
health_seconds = 10
request_timeout_seconds = 10
fetch_timeout_seconds = 25

[keys]
approve = "A"
up = ["k", "up"]

[thresholds]
cpu = { warn = 70, crit = 90 }

[github]
api_url = "https://api.github.com"
repos = ["owner/name"]
max_runs = 100
deploy_workflow = "deploy.yml"
[[github.hosts]]
api_url = "https://ghe.example.com/api/v3"
repos = ["team/app"]
token_env = "GHE_TOKEN"

[aws]
region = "us-east-1"
clusters = ["shop-prod"]
db_instances = ["orders-prod"]
secrets = ["shop/"]
log_groups = ["/aws/lambda/jobs"]
required_retention_days = 30
[aws.load_balancers]
web = { load_balancer = "app/web-prod/50dc6c495c0c9188", target_group = "targetgroup/web/73e2d6bc24d8a067" }
[[aws.accounts]]
profile = "prod"

[azure]
subscriptions = ["a", "b"]
credential = "cli"
health_tries = 3

[gcp]
project = "p"
regions = ["europe-west1"]
credentials = "auto"
[gcp.endpoints]
run = "https://run.googleapis.com"

[[logs]]
file = "/var/log/app.log"

[[environments]]
name = "production"
tier = "prod"
[environments.thresholds]
response_time = { warn = 2, crit = 4 }
[[environments.health]]
name = "web"
url = "https://example.com/api/v1/health"
expect_body = "ok"
headers = { authorization = "env:TOKEN" }
"#;

/// `file:LINE: ...` with LINE inside the file (or one past its end).
fn assert_names_line(error: &str, path: &str, text: &str) {
    let rest = error.strip_prefix(&format!("{path}:")).unwrap_or_else(|| panic!("no `{path}:` in {error:?}"));
    let (line, _) = rest.split_once(':').unwrap_or_else(|| panic!("no line in {error:?}"));
    let line: usize = line.parse().unwrap_or_else(|_| panic!("no line number in {error:?}"));
    assert!(line >= 1 && line <= text.lines().count() + 1, "line {line} outside the file: {error:?}\n{text}");
}

fn check_config(text: &str) {
    match skydeck::config::parse(text, "fuzz.toml") {
        Ok(loaded) => {
            // What starts from a loaded config must take whatever it holds.
            let c = &loaded.config;
            let _ = skydeck::keymap::Keymap::with_overrides(&c.keys);
            if let Some(g) =
                &c.section::<skydeck::providers::github::config::GithubConfig>().expect("parse checked the section")
            {
                let _ = skydeck::providers::github::hosts(g);
            }
            if let Some(a) =
                &c.section::<skydeck::providers::aws::config::AwsConfig>().expect("parse checked the section")
            {
                let _ = skydeck::providers::aws::accounts(a);
            }
            if let Some(a) =
                &c.section::<skydeck::providers::azure::config::AzureConfig>().expect("parse checked the section")
            {
                let s = skydeck::providers::azure::Settings::from_config(a, c);
                let _ = s.scopes();
            }
            for e in &c.environments {
                let _ = c.thresholds_for(&e.name);
                let _ = c.tier_of(&e.name);
            }
            for w in &loaded.warnings {
                assert_names_line(w, "fuzz.toml", text);
            }
        }
        Err(e) => assert_names_line(&e.to_string(), "fuzz.toml", text),
    }
}

#[test]
fn the_valid_config_parses() {
    let loaded = skydeck::config::parse(VALID_CONFIG, "fuzz.toml").unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn config_from_any_text(text in toml_ish()) {
        check_config(&text);
    }

    #[test]
    fn config_from_an_edited_valid_one(e in edits()) {
        check_config(&apply(VALID_CONFIG, &e));
    }
}

fn shipped_plugins() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

fn check_plugin(text: &str) {
    if let Err(e) = skydeck::plugins::parse(text, "fuzz.toml", "fuzz", false) {
        assert_names_line(&e.to_string(), "fuzz.toml", text);
    }
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn plugin_from_any_text(text in toml_ish()) {
        check_plugin(&text);
    }

    #[test]
    fn plugin_from_an_edited_shipped_one(which in any::<usize>(), e in edits()) {
        let files = shipped_plugins();
        let (_, text) = &files[which % files.len()];
        check_plugin(&apply(text, &e));
    }
}

const DAILY: &str = skydeck::runbook::SHIPPED[0].1;

fn check_runbook(text: &str) {
    if let Err(e) = skydeck::runbook::parse(text, "fuzz.toml") {
        assert_names_line(&e.to_string(), "fuzz.toml", text);
    }
}

fn expression() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        prop::sample::select(vec![
            "backups.max_age",
            "backups.findings",
            "backups.pitr_off",
            "health.level",
            "health.failing",
            "metrics.level",
            "metrics.error_rate.level",
            "metrics.cpu.max",
            "metrics.bogus.level",
            "secrets.overdue",
            "approvals.waiting",
            "deploys.recent",
            "deploys.failed",
            "runs.failed_security",
            "logs.errors",
            "sources.failed",
            "<",
            "<=",
            ">",
            ">=",
            "==",
            "=",
            "!=",
            "=<",
            "and",
            "or",
            "AND",
            "0",
            "1.5",
            "-1",
            "24h",
            "90s",
            "7d",
            "1e300d",
            "-1e300h",
            "NaNs",
            "infd",
            "ok",
            "warn",
            "crit",
            "unknown",
            "5%",
            "%",
            "h",
            "",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,6}",
    ];
    prop::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn runbook_from_an_edited_shipped_one(e in edits()) {
        check_runbook(&apply(DAILY, &e));
    }

    #[test]
    fn runbook_checks_parse_or_say_why(text in expression()) {
        if let Ok(expr) = skydeck::runbook::expr::parse(&text) {
            prop_assert!(!expr.conditions.is_empty());
        }
    }

    #[test]
    fn durations_parse_or_say_why(text in prop_oneof![
        expression(),
        "[0-9eE+.-]{0,24}[smhd]?",
        (prop::sample::select(vec!["1e300", "-1e300", "1e20", "inf", "-inf", "NaN", "9223372036854775807"]), "[smhd]")
            .prop_map(|(n, u)| format!("{n}{u}")),
    ]) {
        let _ = skydeck::runbook::expr::parse_duration(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Log lines and the sanitizer
// ---------------------------------------------------------------------------------------------

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn for_terminal_leaves_no_control_or_escape(text in hostile_text()) {
        let clean = skydeck::text::for_terminal(&text);
        prop_assert!(!clean.chars().any(|c| c.is_control() || is_bidi(c)), "{clean:?}");
        prop_assert!(skydeck::text::is_clean(&clean));
    }

    #[test]
    fn for_log_keeps_only_sgr(text in hostile_text()) {
        let kept = skydeck::text::for_log(&text);
        // Without its SGR sequences, nothing is left that a terminal would act on.
        let (plain, segments) = skydeck::text::sgr_segments(&text);
        prop_assert!(!plain.chars().any(|c| c.is_control() || is_bidi(c)), "{plain:?} from {kept:?}");
        let mut last = 0;
        for (offset, _) in &segments {
            prop_assert!(*offset >= last && *offset <= plain.len() && plain.is_char_boundary(*offset));
            last = *offset;
        }
        for (i, _) in kept.match_indices('\u{1b}') {
            let rest = &kept[i + 1..];
            prop_assert!(rest.starts_with('['), "a non-CSI escape kept: {kept:?}");
            let end = rest.find('m').expect("an SGR ends with m");
            prop_assert!(rest[1..end].bytes().all(|b| b.is_ascii_digit() || b == b';' || b == b':'), "{kept:?}");
        }
        prop_assert!(!kept.chars().any(|c| c != '\u{1b}' && (c.is_control() || is_bidi(c))), "{kept:?}");
    }

    #[test]
    fn log_lines_of_any_shape(text in hostile_text()) {
        let now = chrono::Utc::now();
        let line = skydeck::providers::logfile::parse_line(&text, "fuzz.log", now);
        prop_assert_eq!(&line.text, &text);
        let _ = skydeck::providers::logfile::line_timestamp(&text);
        let _ = skydeck::logbuf::parse_severity(&text);
        let mut out = Vec::new();
        skydeck::providers::logfile::write_line(&mut out, &line).unwrap();
        let printed = String::from_utf8(out).unwrap();
        prop_assert!(!printed.trim_end_matches('\n').chars().any(char::is_control), "{printed:?}");
        let job = skydeck::providers::github::parse_job_log(&text, "job");
        prop_assert_eq!(job.len(), text.lines().count());
        let _ = skydeck::providers::aws::severity_of(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Provider payloads: the public parsers
// ---------------------------------------------------------------------------------------------

fn example_body(file: &str) -> Value {
    azure_support::body(&azure_support::shared(file), "200")
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn azure_parsers_take_any_json(v in json_value(), text in hostile_text()) {
        let bytes = v.to_string();
        let _ = skydeck::providers::azure::logs::parse(bytes.as_bytes(), "ws", None);
        let _ = skydeck::providers::azure::monitor::parse(bytes.as_bytes());
        let _ = skydeck::providers::azure::client::error_text(bytes.as_bytes());
        let _ = skydeck::providers::azure::logs::parse(text.as_bytes(), "ws", Some(chrono::Utc::now()));
        let _ = skydeck::providers::azure::monitor::parse(text.as_bytes());
        let _ = skydeck::providers::azure::postgres::parse_time(&text);
        let _ = skydeck::providers::azure::keyvault::vault_and_name(&text);
        let _ = skydeck::providers::azure::subscription_and_group(&text);
        let _ = skydeck::providers::azure::last_segment(&text);
        let _ = skydeck::providers::azure::logs::severity(&text);
        if let Ok(series) = skydeck::providers::azure::monitor::parse(bytes.as_bytes()) {
            let _ = skydeck::providers::azure::monitor::site_series(&series);
        }
    }

    #[test]
    fn azure_parsers_take_mutated_examples(e in json_edits(), which in any::<bool>()) {
        if which {
            let v = mutate(example_body("loganalytics/v1/oms-post-example.json"), &e);
            let _ = skydeck::providers::azure::logs::parse(v.to_string().as_bytes(), "ws", None);
        } else {
            let v = mutate(example_body("monitor/2024-02-01/GetMetric.json"), &e);
            if let Ok(series) = skydeck::providers::azure::monitor::parse(v.to_string().as_bytes()) {
                let _ = skydeck::providers::azure::monitor::site_series(&series);
            }
        }
    }

    #[test]
    fn gcp_parsers_take_any_json(v in json_value(), text in hostile_text(), status in 100u16..600) {
        use skydeck::providers::gcp::{self, client};
        let status = reqwest::StatusCode::from_u16(status).unwrap();
        for api in [client::Api::Run, client::Api::Sql, client::Api::Secrets, client::Api::Logging, client::Api::Monitoring] {
            let e = client::error_for(api, &reqwest::Method::GET, &text, status, v.to_string().as_bytes(), None);
            let _ = client::is_service_disabled(&e);
            let _ = client::error_for(api, &reqwest::Method::POST, "https://x/y", status, text.as_bytes(), None);
        }
        let _ = client::rpc_status_text(&v);
        let _ = gcp::enum_name(&v, &["A", "B"]);
        let _ = gcp::enum_name(&v, &[]);
        let _ = gcp::duration_secs(&text);
        let _ = gcp::short_name(&text);
        let _ = client::parse_retry_after(&text);
        let _ = client::grpc_code_name(v.as_u64().unwrap_or(0));
    }

    #[test]
    fn github_parsers_take_any_text(text in hostile_text(), yaml in toml_ish()) {
        use skydeck::providers::github;
        let _ = github::dispatch_inputs(&text);
        let _ = github::dispatch_inputs(&yaml);
        let _ = github::job_environments(&yaml);
        let _ = github::client::next_link(&text);
        let _ = github::client::host_of(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Provider payloads: a whole fetch against mutated fixtures
// ---------------------------------------------------------------------------------------------

/// Mutated answers by `METHOD path?query`; requests without one get the normal fixture.
#[derive(Clone, Default)]
struct Mutations(Arc<Mutex<HashMap<String, String>>>);

fn key_of(method: &str, url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{method} {}?{q}", url.path()),
        None => format!("{method} {}", url.path()),
    }
}

impl wiremock::Match for Mutations {
    fn matches(&self, request: &wiremock::Request) -> bool {
        self.0.lock().unwrap().contains_key(&key_of(request.method.as_str(), &request.url))
    }
}

impl wiremock::Respond for Mutations {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let body = self.0.lock().unwrap().get(&key_of(request.method.as_str(), &request.url)).cloned();
        wiremock::ResponseTemplate::new(200).set_body_raw(body.unwrap_or_default(), "application/json")
    }
}

/// Every JSON answer one fetch of `provider` received from `server`, by request: the
/// requests it made, sent again to read what the fixtures answered.
async fn recorded_answers(server: &wiremock::MockServer, provider: &dyn Provider) -> Vec<(String, Value)> {
    provider.fetch().await.expect("the fixtures fetch cleanly");
    let http = reqwest::Client::new();
    let mut out: Vec<(String, Value)> = Vec::new();
    for r in server.received_requests().await.unwrap_or_default() {
        let key = key_of(r.method.as_str(), &r.url);
        if out.iter().any(|(k, _)| *k == key) {
            continue;
        }
        // The recorded URL names no port; the server's does.
        let url = match r.url.query() {
            Some(q) => format!("{}{}?{q}", server.uri(), r.url.path()),
            None => format!("{}{}", server.uri(), r.url.path()),
        };
        let mut req = http.request(reqwest::Method::from_bytes(r.method.as_str().as_bytes()).unwrap(), url);
        for (name, value) in r.headers.iter().filter(|(n, _)| n.as_str() != "host") {
            req = req.header(name.as_str(), value.as_bytes());
        }
        let answer = req.body(r.body.clone()).send().await.unwrap();
        if answer.status().is_success()
            && let Ok(v) = serde_json::from_slice::<Value>(&answer.bytes().await.unwrap())
        {
            out.push((key, v));
        }
    }
    assert!(out.len() >= 3, "too few answers recorded: {:?}", out.iter().map(|(k, _)| k).collect::<Vec<_>>());
    out
}

/// Serves one recorded answer mutated (or replaced by any JSON) per case, and fetches.
fn fuzz_fetch(rt: &tokio::runtime::Runtime, server: &wiremock::MockServer, provider: &dyn Provider, cases: u32) {
    let mutations = Mutations::default();
    rt.block_on(async {
        wiremock::Mock::given(mutations.clone()).respond_with(mutations.clone()).with_priority(1).mount(server).await;
    });
    let answers = rt.block_on(recorded_answers(server, provider));
    let mut runner = TestRunner::new(config(cases));
    let strategy = (any::<usize>(), any::<usize>(), json_edits(), prop::option::weighted(0.15, json_value()));
    let result = runner.run(&strategy, |(which, second, edits, replacement)| {
        let mut set = HashMap::new();
        let (key, original) = &answers[which % answers.len()];
        let body = replacement.unwrap_or_else(|| mutate(original.clone(), &edits));
        set.insert(key.clone(), body.to_string());
        // Sometimes a second answer is broken at the same time.
        if second % 3 == 0 {
            let (k2, o2) = &answers[second % answers.len()];
            set.entry(k2.clone()).or_insert_with(|| mutate(o2.clone(), &edits[..1]).to_string());
        }
        *mutations.0.lock().unwrap() = set;
        let _ = rt.block_on(provider.fetch());
        Ok(())
    });
    mutations.0.lock().unwrap().clear();
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn github_fetch_takes_mutated_payloads() {
    use github_fixtures::*;
    let rt = runtime();
    let _in_runtime = rt.enter();
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(mount_repo(&server, "", waiting_runs()));
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(skydeck::store::Store::open_in(dir.path()).unwrap());
    let config = skydeck::config::Config::default();
    let ctx = skydeck::providers::BuildContext { config: &config, store };
    let settings = skydeck::providers::github::HostSettings {
        api_url: server.uri(),
        repos: vec![REPO.to_string()],
        token_env: None,
        max_runs: 100,
        deploy_workflow: None,
        deploy_ref_input: None,
    };
    let provider = skydeck::providers::github::GithubProvider::connect(settings, "tok", "test", &ctx).unwrap();
    fuzz_fetch(&rt, &server, &provider, 96);
}

#[test]
fn gcp_fetch_takes_mutated_payloads() {
    use gcp_fixtures::*;
    let rt = runtime();
    let _in_runtime = rt.enter();
    let server = rt.block_on(wiremock::MockServer::start());
    let service = service_after_deploy(&server);
    rt.block_on(mount_estate(
        &server,
        service,
        &[local("run-revisions-after-deploy.page1.json"), local("run-revisions-after-deploy.page2.json")],
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = skydeck::config::Config::default();
    let (provider, _store) = rt.block_on(provider(&server, dir.path(), &config, &["us-central1"]));
    fuzz_fetch(&rt, &server, &provider, 96);
}

#[test]
fn azure_fetch_takes_mutated_payloads() {
    use azure_support::*;
    let rt = runtime();
    let _in_runtime = rt.enter();
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(mount_estate(&server));
    let dir = tempdir();
    stand_in_az(dir.path(), true);
    let text = config_text(&server.uri(), "", "[[environments]]\nname = \"production\"\n");
    let built = rt.block_on(async { build(&text, dir.path()) });
    fuzz_fetch(&rt, &server, built.provider.as_ref(), 64);
}

// ---------------------------------------------------------------------------------------------
// Inputs the fuzzer found, kept as named regressions
// ---------------------------------------------------------------------------------------------

/// `parse_severity` sliced `[1..5]` into a line starting with a two-byte character.
#[test]
fn severity_of_a_line_starting_with_a_multibyte_character() {
    use skydeck::model::Severity;
    assert_eq!(skydeck::logbuf::parse_severity("¡38;5;196"), Severity::Info);
    assert_eq!(skydeck::logbuf::parse_severity("é1234 x"), Severity::Info);
    assert_eq!(skydeck::logbuf::parse_severity("E1123 12:00:00.000 boom"), Severity::Error);
}

/// `parse_duration` ("`logs_errors_window`" of a runbook file) panicked in chrono for durations
/// far past what a timestamp holds; now they are an error.
#[test]
fn a_duration_beyond_any_timestamp_is_refused() {
    for text in ["1e300d", "-1e300h", "99999999999999999999s", "infd", "NaNs"] {
        let e = skydeck::runbook::expr::parse_duration(text).unwrap_err();
        assert!(e.to_string().contains(text), "{e}");
        let _ = skydeck::runbook::expr::parse(&format!("backups.max_age < {text}"));
    }
    assert_eq!(skydeck::runbook::expr::parse_duration("7d").unwrap(), chrono::Duration::days(7));
}

/// `skydeck logs --since 9999999999999d` panicked in chrono (found while fuzzing durations);
/// now it is a usage error with the value named.
#[test]
fn logs_since_an_absurd_duration_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "2026-11-22T10:00:00Z ERROR boom\n").unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[[logs]]\nname = \"app\"\nfile = \"{}\"\n", log.display())).unwrap();
    for since in ["9999999999999d", "9223372036854775807s"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_skydeck"))
            .arg("--config")
            .arg(&config)
            .args(["logs", "app", "--since", since])
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(101), "panicked: {stderr}");
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(since), "{stderr}");
    }
}
