//! Plugins: one TOML file binds a key to a command run on the selected item.
//!
//! Shipped examples live in `plugins/*.toml` (embedded in the binary); users add theirs in
//! `<config dir>/skydeck/plugins/*.toml`, where a file named like a shipped one replaces it.
//! A broken file is reported with `file:line` and the others still load.
//!
//! Safety: the command runs without a shell. Every argument template expands to exactly one
//! argv element, whatever the selected item's name contains, and the context is also exported
//! as `SKYDECK_*` environment variables. Inline interpreter code (`sh -c SCRIPT`) may not
//! contain variables: scripts get them as positional parameters. A value from the estate that
//! would start an argument with `-` is refused (option injection). `dangerous` plugins are
//! hidden and refused with `--read-only`. Every run is in the audit log with its exit status.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::keymap::Keymap;
use crate::model::{Provider, Role};
use crate::providers::Catalog;
use crate::screen::{Key, Screen};
use crate::store::Store;

/// The shipped examples, embedded: (file stem, text).
pub const SHIPPED: [(&str, &str); 8] = [
    ("open-in-browser", include_str!("../../../plugins/open-in-browser.toml")),
    ("gh-run-log-failed", include_str!("../../../plugins/gh-run-log-failed.toml")),
    ("aws-ecs-exec", include_str!("../../../plugins/aws-ecs-exec.toml")),
    ("az-webapp-log-tail", include_str!("../../../plugins/az-webapp-log-tail.toml")),
    ("gcloud-run-logs-tail", include_str!("../../../plugins/gcloud-run-logs-tail.toml")),
    ("psql-cloudsql", include_str!("../../../plugins/psql-cloudsql.toml")),
    ("psql-azure", include_str!("../../../plugins/psql-azure.toml")),
    ("psql-rds-iam", include_str!("../../../plugins/psql-rds-iam.toml")),
];

/// Every variable a template may use, with what it holds. `input.NAME` comes on top, one per
/// declared input.
pub const VARIABLES: &[(&str, &str)] = &[
    ("item", "what is selected: resource, run, job, approval, deployment, backup, secret, ..."),
    ("id", "the selected item's id (as `skydeck status --json` prints it)"),
    ("name", "the selected item's name"),
    ("screen", "the current screen (runs, resources, ...)"),
    ("user", "who is at the keyboard"),
    ("filter", "the current list's filter"),
    ("environment", "the item's environment"),
    ("provider", "the item's provider key: github, aws, azure, gcp, ... (as in `provider:` scopes)"),
    ("region", "the resource's region (or location)"),
    ("account", "AWS account id (from the ARN)"),
    ("subscription", "Azure subscription id (from the ARM id)"),
    ("resource_group", "Azure resource group (from the ARM id)"),
    ("project", "GCP project (from the resource name)"),
    ("cluster", "ECS cluster (from the service ARN)"),
    ("url", "the item's page: run, console page of a resource or backup, health check URL"),
    ("resource.id", "resource id (ARN, ARM id, GCP resource name)"),
    ("resource.name", "resource name"),
    ("resource.kind", "resource kind (ECS service, App Service, Cloud SQL instance, ...)"),
    ("resource.role", "compute, database, cache, secrets, storage, monitoring"),
    ("resource.version", "the resource's current version (revision, task definition, slot image)"),
    ("repo", "owner/name of the run or deployment"),
    ("sha", "commit of the run or deployment"),
    ("branch", "branch of the run"),
    ("ref", "git ref of the deployment"),
    ("workflow", "workflow name of the run"),
    ("run.id", "GitHub's numeric run id"),
    ("run.attempt", "run attempt"),
    ("run.url", "the run's page"),
    ("github.host", "github.com, or the Enterprise server's host"),
    ("job.id", "the selected job (run detail)"),
    ("job.name", "the selected job's name"),
    ("approval.id", "the pending deployment's id"),
    ("deployment.id", "the deployment's id"),
    ("backup.id", "the backup's id"),
    ("database", "the backup's database"),
    ("secret.id", "the secret's id (never its value)"),
    ("secret.name", "the secret's name"),
    ("secret.store", "the secret's store (vault, Secrets Manager, ...)"),
    ("health.name", "the health check's name"),
    ("alert.id", "the alert's id (alarm ARN, Azure alert id, incident name, security alert URL)"),
    ("alert.source", "the service that raised it (CloudWatch, Azure Monitor, Dependabot, ...)"),
    ("alert.severity", "the alert's severity (critical, error, warning, info)"),
    ("log.filter", "the Logs screen's filter"),
    ("log.source", "the selected log line's source"),
    ("log.text", "the selected log line"),
    ("log.severity", "the selected log line's severity"),
];

/// Values of the variables for one selected item. A variable without a value is absent.
pub type Context = BTreeMap<String, String>;

const DEFAULT_TIMEOUT: Duration = Duration::from_mins(5);
const MAX_LINES: usize = 2000;
const MAX_LINE_CHARS: usize = 2000;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize)]
#[error("{path}:{line}: {message}")]
pub struct PluginError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("'{0}': a lone '}}' (write '}}}}' for a literal brace)")]
    LoneClose(String),
    #[error("'{0}': '{{' is not closed (write '{{{{' for a literal brace)")]
    Unclosed(String),
    #[error("'{text}': '{{{name}}}' is not a variable name")]
    BadName { text: String, name: String },
}

/// A required variable with no value (its name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{{{0}}} has no value")]
pub struct Unset(pub String);

/// Why a plugin will not run on the selected item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRunnable {
    #[error("plugin '{plugin}' works on {label}, and nothing is selected")]
    NothingSelected { plugin: String, label: String },
    #[error("plugin '{plugin}' works on {label}, not on the selected {selected}")]
    NotFor { plugin: String, label: String, selected: String },
    /// `what`: "the selected resource", or "nothing selected".
    #[error("plugin '{plugin}' needs {{{var}}}, which {what} does not have")]
    Needs { plugin: String, var: String, what: String },
    #[error("refused: {{{var}}} is '{value}', which {command} would read as an option (put \"--\" before it in args)")]
    WouldBeOption { var: String, value: String, command: String },
}

/// Where the output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// Runs in the background; a message with the exit status when it ends, output in Logs.
    Background,
    /// Suspends the TUI and runs in the terminal (interactive commands).
    Terminal,
    /// Runs, then shows the output in a popup (and in Logs).
    Capture,
}

impl Output {
    pub fn as_str(self) -> &'static str {
        match self {
            Output::Background => "background",
            Output::Terminal => "terminal",
            Output::Capture => "capture",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Text,
    Choice,
}

/// A value asked for before running, used as `{input.NAME}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginInput {
    pub name: String,
    pub prompt: String,
    pub kind: InputKind,
    pub options: Vec<String>,
    pub default: Option<String>,
    pub required: bool,
}

impl PluginInput {
    /// The same field as a workflow input, for the form popup.
    pub fn spec(&self) -> crate::actions::InputSpec {
        crate::actions::InputSpec {
            name: self.name.clone(),
            description: self.prompt.clone(),
            required: self.required,
            default: self.default.clone(),
            options: self.options.clone(),
            kind: match self.kind {
                InputKind::Text => "string".into(),
                InputKind::Choice => "choice".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var { name: String, optional: bool },
}

/// One argument or environment value: text with `{variable}` and `{variable?}` in it.
/// `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub text: String,
    parts: Vec<Part>,
}

/// `{var}` (not `${var}`) in interpreter code, where `var` is a plugin variable.
fn variable_in_code(code: &str, inputs: &[PluginInput]) -> Option<String> {
    let mut rest = code;
    let mut before = None;
    while let Some(open) = rest.find('{') {
        let dollar = rest[..open].chars().last().or(before) == Some('$');
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = after[..close].trim_end_matches('?');
        let known = VARIABLES.iter().any(|(n, _)| *n == name)
            || name.strip_prefix("input.").is_some_and(|i| inputs.iter().any(|x| x.name == i));
        if known && !dollar {
            return Some(name.to_string());
        }
        before = Some('{');
        rest = after;
    }
    None
}

impl Template {
    /// Text used as it is (interpreter code).
    pub fn literal(text: &str) -> Template {
        Template { text: text.to_string(), parts: vec![Part::Lit(text.to_string())] }
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err(TemplateError::LoneClose(text.to_string())),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err(TemplateError::Unclosed(text.to_string()));
                            }
                            Some(ch) => name.push(ch),
                        }
                    }
                    let (name, optional) = match name.strip_suffix('?') {
                        Some(n) => (n.to_string(), true),
                        None => (name, false),
                    };
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
                    {
                        return Err(TemplateError::BadName { text: text.to_string(), name });
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var { name, optional });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { text: text.to_string(), parts })
    }

    /// The variables used, with whether each is optional.
    pub fn vars(&self) -> impl Iterator<Item = (&str, bool)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, optional } => Some((name.as_str(), *optional)),
            Part::Lit(_) => None,
        })
    }

    pub fn has_vars(&self) -> bool {
        self.vars().next().is_some()
    }

    /// `Ok(None)`: an optional variable has no value, so the argument is left out.
    /// `Err`: a required variable has no value.
    pub fn expand(&self, ctx: &Context) -> Result<Option<String>, Unset> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var { name, optional } => match ctx.get(name).filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(v),
                    None if *optional => return Ok(None),
                    None => return Err(Unset(name.clone())),
                },
            }
        }
        Ok(Some(out))
    }

    /// The variable the expansion starts with, if it starts with one.
    fn leading_var(&self) -> Option<&str> {
        match self.parts.first() {
            Some(Part::Var { name, .. }) => Some(name),
            _ => None,
        }
    }
}

/// A plugin as loaded from its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    pub name: String,
    pub description: String,
    pub key: Key,
    /// The scopes as written.
    pub scopes: Vec<String>,
    pub screens: Vec<Screen>,
    pub kinds: Vec<String>,
    pub roles: Vec<Role>,
    pub providers: Vec<Provider>,
    pub command: String,
    pub args: Vec<Template>,
    pub env: Vec<(String, Template)>,
    pub confirm: bool,
    pub dangerous: bool,
    pub output: Output,
    pub inputs: Vec<PluginInput>,
    /// Background and capture runs are stopped after this long; terminal runs are not.
    pub timeout: Duration,
    /// Terminal runs: wait for Enter before returning to the TUI.
    pub pause: bool,
    /// The file it came from (`plugins/NAME.toml` for shipped ones).
    pub file: String,
    /// The line of its `key`.
    pub line: usize,
    pub shipped: bool,
}

/// Screens offered when a plugin names only kinds, roles or providers.
const ITEM_SCREENS: [Screen; 2] = [Screen::Resources, Screen::Incident];

impl Plugin {
    /// The screens whose `?` help and `:` palette list this plugin and where its key works.
    pub fn screens_offered(&self) -> Vec<Screen> {
        if self.screens.is_empty() { ITEM_SCREENS.to_vec() } else { self.screens.clone() }
    }

    pub fn offered_on(&self, screen: Screen) -> bool {
        self.screens_offered().contains(&screen)
    }

    /// Dangerous plugins do not exist in `--read-only`: not listed, and refused.
    pub fn hidden(&self, read_only: bool) -> bool {
        read_only && self.dangerous
    }

    /// "ECS service", "database on aws": the items it applies to, if it is narrowed to some.
    pub fn item_label(&self) -> Option<String> {
        let mut parts: Vec<String> = self.kinds.clone();
        parts.extend(self.roles.iter().map(|r| r.label().to_string()));
        if parts.is_empty() && self.providers.is_empty() {
            return None;
        }
        let mut label = if parts.is_empty() { "items".to_string() } else { parts.join(" / ") };
        if !self.providers.is_empty() {
            let p: Vec<&str> = self.providers.iter().map(|p| p.key()).collect();
            label.push_str(&format!(" on {}", p.join(" / ")));
        }
        Some(label)
    }

    /// Whether the selected item (its context) is one this plugin is for.
    pub fn applies_to(&self, ctx: &Context) -> Result<(), NotRunnable> {
        let get = |k: &str| ctx.get(k).map_or("", String::as_str);
        let kind_ok = self.kinds.is_empty() || self.kinds.iter().any(|k| k.eq_ignore_ascii_case(get("resource.kind")));
        let role_ok = self.roles.is_empty() || self.roles.iter().any(|r| r.label() == get("resource.role"));
        let provider_ok = self.providers.is_empty() || self.providers.iter().any(|p| p.key() == get("provider"));
        if kind_ok && role_ok && provider_ok {
            return Ok(());
        }
        let (plugin, label) = (self.name.clone(), self.item_label().unwrap_or_default());
        Err(match (get("resource.kind"), get("item")) {
            ("", "") => NotRunnable::NothingSelected { plugin, label },
            ("", item) => NotRunnable::NotFor { plugin, label, selected: item.to_string() },
            (kind, _) => NotRunnable::NotFor { plugin, label, selected: kind.to_string() },
        })
    }

    /// Variables the plugin needs that the item does not have (inputs are asked for later).
    pub fn missing(&self, ctx: &Context) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.args.iter().chain(self.env.iter().map(|(_, t)| t)) {
            for (name, optional) in t.vars() {
                let has = ctx.get(name).is_some_and(|v| !v.is_empty());
                if !optional && !has && !name.starts_with("input.") && !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
        }
        out
    }

    /// The exact command line and environment for the selected item (`ctx` includes the
    /// answers to the inputs as `input.NAME`). Refuses when the item is not one this plugin is
    /// for, a variable has no value, or a value from the estate would become an option.
    pub fn prepare(&self, ctx: &Context) -> Result<PluginRun, NotRunnable> {
        self.applies_to(ctx)?;
        let needs = |Unset(var): Unset| {
            let what = ctx.get("item").map_or_else(|| "nothing selected".into(), |i| format!("the selected {i}"));
            NotRunnable::Needs { plugin: self.name.clone(), var, what }
        };
        let mut argv = vec![self.command.clone()];
        let mut after_dashdash = false;
        for t in &self.args {
            let Some(value) = t.expand(ctx).map_err(needs)? else { continue };
            if !after_dashdash
                && value.starts_with('-')
                && !t.text.starts_with('-')
                && let Some(var) = t.leading_var().filter(|v| !v.starts_with("input."))
            {
                return Err(NotRunnable::WouldBeOption {
                    var: var.to_string(),
                    value: printable(&value),
                    command: self.command.clone(),
                });
            }
            if t.text == "--" {
                after_dashdash = true;
            }
            argv.push(value);
        }
        let mut env: Vec<(String, String)> =
            ctx.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (env_name(k), v.clone())).collect();
        for (name, t) in &self.env {
            if let Some(value) = t.expand(ctx).map_err(needs)? {
                env.push((name.clone(), value));
            }
        }
        let get = |k: &str| ctx.get(k).cloned().unwrap_or_default();
        let target = ctx.get("id").or_else(|| ctx.get("name")).cloned().unwrap_or_else(|| get("screen"));
        Ok(PluginRun {
            plugin: self.name.clone(),
            file: self.file.clone(),
            argv,
            env,
            output: self.output,
            target,
            target_name: ctx.get("name").cloned().unwrap_or_else(|| get("screen")),
            environment: get("environment"),
            dangerous: self.dangerous,
            timeout: (self.output != Output::Terminal).then_some(self.timeout),
            pause: self.pause,
        })
    }
}

/// `SKYDECK_RESOURCE_ID` for `resource.id`.
pub fn env_name(var: &str) -> String {
    let mut out = String::from("SKYDECK_");
    out.extend(var.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    out
}

/// The lower-case name used in scopes and in `{provider}`.
/// `github, aws, azure, ...`: every provider's key, for messages.
fn provider_keys(catalog: Catalog) -> String {
    catalog.providers().map(Provider::key).collect::<Vec<_>>().join(", ")
}

/// One command line ready to run, and what the audit log says about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginRun {
    pub plugin: String,
    pub file: String,
    /// The command and its arguments, each one argv element.
    pub argv: Vec<String>,
    /// `SKYDECK_*` and the plugin's own variables. Never written to the audit log.
    #[serde(skip)]
    pub env: Vec<(String, String)>,
    pub output: Output,
    /// The selected item's id (the audit log's target).
    pub target: String,
    pub target_name: String,
    pub environment: String,
    pub dangerous: bool,
    pub timeout: Option<Duration>,
    pub pause: bool,
}

impl PluginRun {
    /// The command line for people to read (quoted; never given to a shell).
    pub fn command_line(&self) -> String {
        display_argv(&self.argv)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut(u64),
    /// The command could not be started (not installed, not executable...).
    NotStarted(String),
    /// Refused before anything ran (read-only, audit log unavailable).
    Refused(String),
    /// skydeck quit while it ran and it did not end within the grace period: stopped.
    Interrupted,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::TimedOut(s) => write!(f, "timed out after {s}s (stopped)"),
            Exit::NotStarted(why) => write!(f, "not started: {why}"),
            Exit::Refused(why) => write!(f, "refused: {why}"),
            Exit::Interrupted => write!(f, "interrupted: skydeck quit while it ran (stopped)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginOutcome {
    pub run: PluginRun,
    pub exit: Exit,
    /// stdout and stderr lines in arrival order (background and capture; cleaned of terminal
    /// control sequences; the last 2000 lines).
    pub output: Vec<String>,
    pub duration: Duration,
    /// The audit log could not record the end of the run.
    pub audit_error: Option<String>,
}

impl PluginOutcome {
    pub fn ok(&self) -> bool {
        self.exit == Exit::Code(0)
    }

    /// `exit 0 in 1.2s`
    pub fn status(&self) -> String {
        format!("{} in {:.1}s", self.exit, self.duration.as_secs_f64())
    }
}

// ---------------------------------------------------------------------------------------
// Loading

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    name: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    description: Option<String>,
    scopes: Option<Spanned<Vec<Spanned<String>>>>,
    command: Option<Spanned<String>>,
    #[serde(default)]
    args: Vec<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    confirm: bool,
    #[serde(default)]
    dangerous: bool,
    output: Option<Spanned<String>>,
    #[serde(default)]
    inputs: Vec<Spanned<RawInput>>,
    timeout_seconds: Option<Spanned<u64>>,
    pause: Option<bool>,
    enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    name: String,
    prompt: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    options: Vec<String>,
    default: Option<String>,
    required: Option<bool>,
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Plugin(Box<Plugin>),
    /// `enabled = false`: switches off the shipped plugin of the same file name.
    Disabled,
}

fn line_at(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

const INTERPRETERS: [&str; 12] =
    ["sh", "bash", "dash", "zsh", "ksh", "fish", "busybox", "python", "python3", "perl", "ruby", "node"];

/// Parses one plugin file (no clash checks: see [`load_with`]); scopes may name the
/// `catalog`'s providers and kinds.
pub fn parse_with(text: &str, path: &str, stem: &str, shipped: bool, catalog: Catalog) -> Result<Parsed, PluginError> {
    let err = |line: usize, message: String| PluginError { path: path.to_string(), line, message };
    let at = |span: std::ops::Range<usize>| line_at(text, span.start);
    let raw: RawPlugin =
        toml::from_str(text).map_err(|e| err(e.span().map_or(1, &at), e.message().trim().to_string()))?;
    if raw.enabled == Some(false) {
        return Ok(Parsed::Disabled);
    }
    let name = match &raw.name {
        Some(n) => {
            let ok = n.get_ref().chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && n.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                return Err(err(
                    at(n.span()),
                    format!("name '{}': use letters, digits, '-', '_' and '.'", n.get_ref()),
                ));
            }
            n.get_ref().clone()
        }
        None => stem.to_string(),
    };
    let key_field = raw.key.as_ref().ok_or_else(|| err(1, "missing `key` (e.g. key = \"ctrl-b\")".into()))?;
    let key_line = at(key_field.span());
    let key = Key::parse(key_field.get_ref()).map_err(|e| err(key_line, format!("key: {e}")))?;
    let command = raw.command.as_ref().ok_or_else(|| err(1, "missing `command` (the program to run)".into()))?;
    let command_line = at(command.span());
    if command.get_ref().trim().is_empty() {
        return Err(err(command_line, "command is empty".into()));
    }
    if command.get_ref().contains(['{', '}']) {
        return Err(err(command_line, "command is a fixed program: variables go into `args`".into()));
    }
    let output = match &raw.output {
        None => Output::Background,
        Some(o) => match o.get_ref().as_str() {
            "background" => Output::Background,
            "terminal" => Output::Terminal,
            "capture" => Output::Capture,
            other => {
                return Err(err(at(o.span()), format!("output '{other}': one of background, terminal, capture")));
            }
        },
    };

    // Scopes.
    let scopes_field =
        raw.scopes.as_ref().ok_or_else(|| err(1, "missing `scopes` (screens and/or resource kinds)".into()))?;
    if scopes_field.get_ref().is_empty() {
        return Err(err(at(scopes_field.span()), "scopes is empty: name a screen or a resource kind".into()));
    }
    let (mut screens, mut kinds, mut roles, mut providers) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for scope in scopes_field.get_ref() {
        let line = at(scope.span());
        let text = scope.get_ref().trim();
        let screen_of = |s: &str| Screen::ALL.into_iter().find(|x| x.title().eq_ignore_ascii_case(s));
        let role_of = |s: &str| Role::ALL.into_iter().find(|r| r.label().eq_ignore_ascii_case(s));
        let provider_of = |key: &str| catalog.provider_of(key);
        let (prefix, value) = match text.split_once(':') {
            Some((p, v)) if ["screen", "kind", "role", "provider"].contains(&p.trim()) => (Some(p.trim()), v.trim()),
            _ => (None, text),
        };
        if value.is_empty() {
            return Err(err(line, "an empty scope".into()));
        }
        // `all` is every screen (k9s' convention); kinds, roles and providers still narrow.
        if value.eq_ignore_ascii_case("all") && matches!(prefix, None | Some("screen")) {
            screens.extend(Screen::ALL);
            continue;
        }
        let kind_of = |s: &str| {
            catalog.canonical_kind(s).ok_or_else(|| {
                let names: Vec<String> = Screen::ALL.iter().map(|s| s.title().to_lowercase()).collect();
                let roles: Vec<&str> = Role::ALL.iter().map(|r| r.label()).collect();
                let what = if prefix.is_some() { "is not a resource kind" } else { "is not a scope" };
                err(
                    line,
                    format!(
                        "'{s}' {what}: screens (all, {}), resource kinds ({}), roles ({}), providers ({})",
                        names.join(", "),
                        catalog.kinds().collect::<Vec<_>>().join(", "),
                        roles.join(", "),
                        provider_keys(catalog)
                    ),
                )
            })
        };
        match prefix {
            Some("screen") => screens.push(screen_of(value).ok_or_else(|| {
                let names: Vec<String> = Screen::ALL.iter().map(|s| s.title().to_lowercase()).collect();
                err(line, format!("'{value}' is not a screen (one of: {})", names.join(", ")))
            })?),
            Some("role") => roles.push(role_of(value).ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.label()).collect();
                err(line, format!("'{value}' is not a role (one of: {})", names.join(", ")))
            })?),
            Some("provider") => providers.push(provider_of(value).ok_or_else(|| {
                err(line, format!("'{value}' is not a provider (one of: {})", provider_keys(catalog)))
            })?),
            Some(_) => kinds.push(kind_of(value)?.to_string()),
            None => {
                if let Some(s) = screen_of(value) {
                    screens.push(s);
                } else if let Some(r) = role_of(value) {
                    roles.push(r);
                } else if let Some(p) = provider_of(value) {
                    providers.push(p);
                } else {
                    kinds.push(kind_of(value)?.to_string());
                }
            }
        }
    }

    // `all` next to a screen name lists that screen once.
    let screens = screens.into_iter().fold(Vec::new(), |mut unique, s| {
        if !unique.contains(&s) {
            unique.push(s);
        }
        unique
    });

    // Inputs.
    let mut inputs: Vec<PluginInput> = Vec::new();
    for input in &raw.inputs {
        let line = at(input.span());
        let i = input.get_ref();
        if i.name.is_empty() || !i.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(line, format!("input name '{}': use letters, digits and '_'", i.name)));
        }
        if inputs.iter().any(|x| x.name == i.name) {
            return Err(err(line, format!("input '{}' is declared twice", i.name)));
        }
        let kind = match i.kind.as_deref() {
            None | Some("text") => InputKind::Text,
            Some("choice") => InputKind::Choice,
            Some(other) => return Err(err(line, format!("input '{}': kind '{other}' (text or choice)", i.name))),
        };
        if kind == InputKind::Choice && i.options.is_empty() {
            return Err(err(line, format!("input '{}': a choice needs `options`", i.name)));
        }
        if kind == InputKind::Text && !i.options.is_empty() {
            return Err(err(line, format!("input '{}': options are for kind = \"choice\"", i.name)));
        }
        if let Some(d) = &i.default
            && kind == InputKind::Choice
            && !i.options.contains(d)
        {
            return Err(err(line, format!("input '{}': default '{d}' is not one of the options", i.name)));
        }
        inputs.push(PluginInput {
            name: i.name.clone(),
            prompt: i.prompt.clone().unwrap_or_else(|| i.name.clone()),
            kind,
            options: i.options.clone(),
            default: i.default.clone(),
            required: i.required.unwrap_or(true),
        });
    }

    // Templates: known variables only; optional inputs must be written `{input.NAME?}`.
    let check = |t: &Template, line: usize| -> Result<(), PluginError> {
        for (var, optional) in t.vars() {
            if let Some(input) = var.strip_prefix("input.") {
                let Some(i) = inputs.iter().find(|i| i.name == input) else {
                    return Err(err(line, format!("{{{var}}}: no input named '{input}' is declared in `inputs`")));
                };
                if !i.required && i.default.is_none() && !optional {
                    return Err(err(line, format!("input '{input}' may be left empty: write {{{var}?}}")));
                }
            } else if !VARIABLES.iter().any(|(n, _)| *n == var) {
                return Err(err(line, format!("unknown variable {{{var}}} (see `skydeck plugins vars` for the list)")));
            }
        }
        Ok(())
    };
    // The code an interpreter runs (`sh -c CODE`) is fixed text: braces in it are the
    // interpreter's own (`${x}`), and values reach it as positional parameters, never as code.
    let program = Path::new(command.get_ref()).file_name().and_then(|s| s.to_str()).unwrap_or("").to_string();
    let interpreter = INTERPRETERS.contains(&program.as_str());
    let mut args = Vec::new();
    let mut code_next = false;
    for a in &raw.args {
        let line = at(a.span());
        let text = a.get_ref();
        let t = if code_next {
            if let Some(var) = variable_in_code(text, &inputs) {
                return Err(err(
                    line,
                    format!(
                        "{{{var}}} in the code {program} runs would not be expanded (and must never be: it \
                         would be read as code); pass it as an argument after the code and use \"$1\", \"$2\"..."
                    ),
                ));
            }
            Template::literal(text)
        } else {
            let t = Template::parse(text).map_err(|m| err(line, m.to_string()))?;
            check(&t, line)?;
            t
        };
        let flag = text.starts_with('-') && !text.starts_with("--") && text[1..].ends_with(['c', 'e']);
        code_next = interpreter && (flag || text == "-Command");
        args.push(t);
    }
    let mut env = Vec::new();
    for (name, value) in &raw.env {
        let line = at(value.span());
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(err(line, format!("env '{name}' is not a variable name")));
        }
        if name.starts_with("SKYDECK_") {
            return Err(err(line, format!("env '{name}': SKYDECK_* are set by skydeck from the selected item")));
        }
        let t = Template::parse(value.get_ref()).map_err(|m| err(line, m.to_string()))?;
        check(&t, line)?;
        env.push((name.clone(), t));
    }
    let timeout = match &raw.timeout_seconds {
        Some(t) if *t.get_ref() == 0 => return Err(err(at(t.span()), "timeout_seconds must be at least 1".into())),
        Some(t) => Duration::from_secs(*t.get_ref()),
        None => DEFAULT_TIMEOUT,
    };
    Ok(Parsed::Plugin(Box::new(Plugin {
        name,
        description: raw.description.clone().unwrap_or_default(),
        key,
        scopes: scopes_field.get_ref().iter().map(|s| s.get_ref().clone()).collect(),
        screens,
        kinds,
        roles,
        providers,
        command: command.get_ref().clone(),
        args,
        env,
        confirm: raw.confirm,
        dangerous: raw.dangerous,
        output,
        inputs,
        timeout,
        pause: raw.pause.unwrap_or(true),
        file: path.to_string(),
        line: key_line,
        shipped,
    })))
}

/// One plugin file to load.
#[derive(Debug, Clone)]
pub struct PluginFile {
    /// The file name without `.toml`: a user file replaces the shipped one with the same stem.
    pub stem: String,
    pub path: String,
    pub text: String,
    pub shipped: bool,
}

/// The shipped examples, embedded in the binary.
pub fn shipped_files() -> Vec<PluginFile> {
    SHIPPED
        .iter()
        .map(|(stem, text)| PluginFile {
            stem: stem.to_string(),
            path: format!("plugins/{stem}.toml"),
            text: text.to_string(),
            shipped: true,
        })
        .collect()
}

/// `*.toml` in a directory, sorted by name. A missing directory is no error.
pub fn dir_files(dir: &Path) -> (Vec<PluginFile>, Vec<PluginError>) {
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(dir) else { return (files, errors) };
    let mut paths: Vec<_> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    paths.sort();
    for path in paths {
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push(PluginFile {
                stem: path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string(),
                path: shown,
                text,
                shipped: false,
            }),
            Err(e) => errors.push(PluginError { path: shown, line: 1, message: format!("cannot read: {e}") }),
        }
    }
    (files, errors)
}

/// The plugins that loaded, the files that did not, and the shipped ones switched off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub plugins: Vec<Plugin>,
    pub errors: Vec<PluginError>,
    pub disabled: Vec<String>,
}

/// Loads files in order; a later file replaces an earlier one with the same stem. Each plugin
/// is checked against the keymap, the screens' own keys and the plugins loaded before it.
pub fn load_with(files: Vec<PluginFile>, keymap: &Keymap, catalog: Catalog) -> Loaded {
    let mut chosen: Vec<PluginFile> = Vec::new();
    for f in files {
        match chosen.iter_mut().find(|c| c.stem == f.stem) {
            Some(slot) => *slot = f,
            None => chosen.push(f),
        }
    }
    let mut loaded = Loaded::default();
    for f in chosen {
        match parse_with(&f.text, &f.path, &f.stem, f.shipped, catalog) {
            Ok(Parsed::Disabled) => loaded.disabled.push(f.path),
            Ok(Parsed::Plugin(p)) => match clash(&p, &loaded.plugins, keymap) {
                Some(message) => loaded.errors.push(PluginError { path: f.path, line: p.line, message }),
                None => loaded.plugins.push(*p),
            },
            Err(e) => loaded.errors.push(e),
        }
    }
    loaded
}

/// The shipped plugins and the user's (`<config dir>/skydeck/plugins/`).
pub fn load_default_with(keymap: &Keymap, catalog: Catalog) -> Loaded {
    let mut files = shipped_files();
    let (user, errors) = dir_files(&crate::paths::config_dir().join("plugins"));
    files.extend(user);
    let mut loaded = load_with(files, keymap, catalog);
    loaded.errors.splice(0..0, errors);
    loaded
}

/// Why this plugin's key cannot be used where it is offered, if so.
fn clash(p: &Plugin, earlier: &[Plugin], keymap: &Keymap) -> Option<String> {
    let key = p.key;
    if let Some(command) = keymap.get(&key) {
        return Some(format!(
            "key '{key}' is skydeck's '{}' key (choose another key, or move '{}' in the config's [keys])",
            command.name(),
            command.name()
        ));
    }
    if let Some(why) = crate::screen::reserved(&key) {
        return Some(format!("key '{key}': {why}"));
    }
    for (screen, taken, what) in crate::screen::screen_keys() {
        if taken == key && p.offered_on(screen) {
            return Some(format!("key '{key}' is the {} screen's key for '{what}'", screen.title()));
        }
    }
    if let Some(q) = earlier.iter().find(|q| q.name == p.name) {
        return Some(format!("a plugin named '{}' is already loaded from {}:{}", p.name, q.file, q.line));
    }
    for q in earlier.iter().filter(|q| q.key == key) {
        let shared: Vec<&str> =
            p.screens_offered().into_iter().filter(|s| q.offered_on(*s)).map(super::screen::Screen::title).collect();
        if !shared.is_empty() && !disjoint(p, q) {
            return Some(format!(
                "key '{key}' is already '{}' ({}:{}) on {}; choose another key, or scope them to different resource kinds",
                q.name,
                q.file,
                q.line,
                shared.join(", ")
            ));
        }
    }
    None
}

/// True when no item can be selected that both plugins apply to.
fn disjoint(a: &Plugin, b: &Plugin) -> bool {
    let kinds = !a.kinds.is_empty()
        && !b.kinds.is_empty()
        && !a.kinds.iter().any(|k| b.kinds.iter().any(|l| k.eq_ignore_ascii_case(l)));
    let roles = !a.roles.is_empty() && !b.roles.is_empty() && !a.roles.iter().any(|r| b.roles.contains(r));
    let providers =
        !a.providers.is_empty() && !b.providers.is_empty() && !a.providers.iter().any(|p| b.providers.contains(p));
    kinds || roles || providers
}

// ---------------------------------------------------------------------------------------
// Running

pub use crate::actions::{QUIT_GRACE, Running};

/// Runs a prepared plugin through the audited pipeline: "started" (durable, before the
/// command starts) then "finished" (exit 0) or "failed" with the exit status and duration.
/// Background and capture runs collect the output; terminal runs share skydeck's terminal
/// (the caller has suspended the TUI) and, with `pause`, wait for Enter at the end.
/// Blocks: call it on a thread that may block.
pub fn execute(run: &PluginRun, store: &Store, user: &str, read_only: bool) -> PluginOutcome {
    execute_tracked(run, store, user, read_only, &Running::default())
}

/// [`execute`], with the run known to `running` while it runs so quitting can close it.
/// (The TUI runs plugins with `Pipeline::run(PluginOp::new(run))` on its own pipeline.)
pub fn execute_tracked(
    run: &PluginRun,
    store: &Store,
    user: &str,
    read_only: bool,
    running: &Running,
) -> PluginOutcome {
    let core = crate::actions::Core { read_only, user, store, clock: &crate::clock::SystemClock, running };
    futures::executor::block_on(core.run(PluginOp::new(run.clone())))
}

/// A plugin run as a pipeline operation: gated by `dangerous` under `--read-only` (refused and
/// audited), verified by its exit status, stopped when skydeck quits. Its work blocks (the
/// command runs on the calling thread), so the pipeline future that runs it belongs on a
/// blocking thread (`futures::executor::block_on` inside `spawn_blocking`).
pub struct PluginOp {
    run: PluginRun,
    started: Instant,
    /// Set by `verify`.
    ended: Option<(Exit, Vec<String>, Duration)>,
}

impl PluginOp {
    pub fn new(run: PluginRun) -> Self {
        PluginOp { run, started: Instant::now(), ended: None }
    }

    fn outcome(
        self,
        exit: Exit,
        output: Vec<String>,
        duration: Duration,
        audit_error: Option<String>,
    ) -> PluginOutcome {
        PluginOutcome { run: self.run, exit, output, duration, audit_error }
    }
}

impl crate::actions::Operation for PluginOp {
    type Executed = (Exit, Vec<String>);
    type Output = PluginOutcome;

    fn subject(&self) -> crate::actions::Subject {
        let run = &self.run;
        crate::actions::Subject {
            verb: "plugin".into(),
            target: run.target.clone(),
            target_name: run.target_name.clone(),
            environment: run.environment.clone(),
            source: format!("plugin:{}", run.plugin),
            reason: None,
            detail: format!("{}: {}", run.plugin, run.command_line()),
            label: run.plugin.clone(),
        }
    }

    fn read_only(&self) -> Option<crate::actions::ReadOnlyRefusal> {
        self.run.dangerous.then(|| {
            let why = format!("plugin '{}' is dangerous and skydeck runs with --read-only", self.run.plugin);
            crate::actions::ReadOnlyRefusal { audit: Some(format!("{}: {why}", self.run.plugin)), why }
        })
    }

    fn execute<'a>(&'a mut self, stop: crate::actions::Stop<'a>) -> crate::providers::BoxFuture<'a, Self::Executed> {
        let run = &self.run;
        Box::pin(async move {
            match run.output {
                Output::Terminal => (run_in_terminal(run), Vec::new()),
                Output::Background | Output::Capture => run_captured(run, &|| stop.requested()),
            }
        })
    }

    fn verify(&mut self, (exit, output): Self::Executed) -> crate::providers::BoxFuture<'_, crate::actions::Verdict> {
        use crate::actions::Verdict;
        let duration = self.started.elapsed();
        let done = PluginOutcome { run: self.run.clone(), exit, output, duration, audit_error: None };
        let detail = format!("{}: {}: {}", self.run.plugin, done.status(), self.run.command_line());
        let verdict = match done.exit {
            _ if done.ok() => Verdict::Finished(detail),
            Exit::Interrupted => Verdict::Interrupted(detail),
            _ => Verdict::Failed(detail),
        };
        self.ended = Some((done.exit, done.output, duration));
        Box::pin(std::future::ready(verdict))
    }

    fn timeline(&self, _: &crate::actions::Verdict) -> String {
        let status = match &self.ended {
            Some((exit, _, duration)) => format!("{exit} in {:.1}s", duration.as_secs_f64()),
            None => String::new(),
        };
        format!("plugin {} on {} ({}) — {status}", self.run.plugin, self.run.target_name, self.run.environment)
    }

    fn refused(self, why: crate::actions::Refused) -> PluginOutcome {
        let why = match why {
            crate::actions::Refused::ReadOnly(why) => why,
            crate::actions::Refused::Audit(e) => format!("the audit log cannot record it, so nothing was run: {e}"),
        };
        let duration = self.started.elapsed();
        self.outcome(Exit::Refused(why), Vec::new(), duration, None)
    }

    fn ended(mut self, _: crate::actions::Verdict, audit_error: Option<crate::store::StoreError>) -> PluginOutcome {
        let (exit, output, duration) = self.ended.take().unwrap_or((Exit::Interrupted, Vec::new(), Duration::ZERO));
        self.outcome(exit, output, duration, audit_error.map(|e| e.to_string()))
    }
}

fn command(run: &PluginRun) -> Command {
    let mut cmd = Command::new(&run.argv[0]);
    cmd.args(&run.argv[1..]).envs(run.env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn not_started(program: &str, e: &std::io::Error) -> Exit {
    if e.kind() == std::io::ErrorKind::NotFound {
        Exit::NotStarted(format!("'{program}' was not found (is it installed and on PATH?)"))
    } else {
        Exit::NotStarted(format!("'{program}': {e}"))
    }
}

fn exit_of(status: std::process::ExitStatus) -> Exit {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Exit::Signal(signal);
        }
    }
    Exit::Code(status.code().unwrap_or(-1))
}

fn run_captured(run: &PluginRun, stopping: &dyn Fn() -> bool) -> (Exit, Vec<String>) {
    let mut child = match command(run).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return (not_started(&run.argv[0], &e), Vec::new()),
    };
    // Both pipes are read at once (no deadlock on a full pipe), lines in arrival order.
    let (tx, rx) = mpsc::channel::<Option<String>>();
    let readers = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    let mut open = 0;
    for reader in readers.into_iter().flatten() {
        open += 1;
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut buf = Vec::new();
            while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                let _ = tx.send(Some(clean_line(&String::from_utf8_lossy(&buf))));
                buf.clear();
            }
            let _ = tx.send(None);
        });
    }
    drop(tx);
    let mut lines: VecDeque<String> = VecDeque::new();
    let keep = |line: String, lines: &mut VecDeque<String>| {
        if lines.len() == MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    };
    let deadline = run.timeout.map(|t| Instant::now() + t);
    let exit = loop {
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Some(line) => keep(line, &mut lines),
                None => open -= 1,
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break exit_of(status),
            Ok(None) => {}
            Err(e) => break Exit::NotStarted(format!("waiting for it failed: {e}")),
        }
        if let Some(d) = deadline
            && Instant::now() >= d
        {
            let _ = child.kill();
            let _ = child.wait();
            break Exit::TimedOut(run.timeout.unwrap_or_default().as_secs());
        }
        if stopping() {
            let _ = child.kill();
            let _ = child.wait();
            break Exit::Interrupted;
        }
        let _ = rx.recv_timeout(Duration::from_millis(10)).map(|msg| match msg {
            Some(line) => keep(line, &mut lines),
            None => open -= 1,
        });
    };
    // The rest of the output. A program it started (a browser) may hold the pipes open:
    // wait a little, not for it.
    let until = Instant::now() + Duration::from_millis(300);
    while open > 0 {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(line)) => keep(line, &mut lines),
            Ok(None) => open -= 1,
            Err(_) => break,
        }
    }
    (exit, lines.into())
}

fn run_in_terminal(run: &PluginRun) -> Exit {
    use std::io::Write;
    eprintln!("skydeck: running {} ({})\n", run.plugin, run.command_line());
    let exit = match command(run).stdin(Stdio::inherit()).stdout(Stdio::inherit()).stderr(Stdio::inherit()).status() {
        Ok(status) => exit_of(status),
        Err(e) => not_started(&run.argv[0], &e),
    };
    if run.pause {
        eprint!("\nskydeck: {} ended ({exit}). Press Enter to return to skydeck. ", run.plugin);
        let _ = std::io::stderr().flush();
        let _ = std::io::stdin().lock().read_line(&mut String::new());
    }
    exit
}

/// A line of program output made safe to draw: terminal escape sequences removed, tabs
/// expanded, other control characters dropped, what a carriage return overwrote dropped.
pub fn clean_line(raw: &str) -> String {
    let raw = raw.trim_end_matches(['\n', '\r']);
    let raw = raw.rsplit('\r').next().unwrap_or(raw);
    // Every escape sequence (CSI, OSC, DCS, APC, PM, SOS, short ESC ones) and control goes.
    let expanded = raw.replace('\t', "    ");
    let clean = crate::text::for_terminal(&expanded);
    let mut out: String = clean.chars().take(MAX_LINE_CHARS).collect();
    if out.len() < clean.len() {
        out.push('…');
    }
    out
}

/// A value shown to a person, with control characters visible.
pub fn printable(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// The argv as a person reads it: POSIX-quoted where needed, control characters escaped.
/// For display and the audit log only; nothing ever hands this to a shell.
pub fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
            if plain {
                a.clone()
            } else if a.chars().any(char::is_control) {
                format!(
                    "$'{}'",
                    a.chars()
                        .flat_map(|c| match c {
                            '\'' => vec!['\\', '\''],
                            '\\' => vec!['\\', '\\'],
                            c if c.is_control() => c.escape_default().collect(),
                            c => vec![c],
                        })
                        .collect::<String>()
                )
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_expand_and_escape() {
        let t = Template::parse("--name={resource.name} {{x}}").unwrap();
        let ctx: Context = [("resource.name".to_string(), "a b".to_string())].into();
        assert_eq!(t.expand(&ctx).unwrap().unwrap(), "--name=a b {x}");
        assert_eq!(Template::parse("{region?}").unwrap().expand(&ctx), Ok(None));
        assert_eq!(Template::parse("{region}").unwrap().expand(&ctx), Err(Unset("region".into())));
        assert!(Template::parse("{oops").unwrap_err().to_string().contains("not closed"));
        assert!(Template::parse("a}b").unwrap_err().to_string().contains("lone"));
        assert!(Template::parse("{a b}").unwrap_err().to_string().contains("not a variable name"));
        // The messages are the ones plugin files have always got.
        assert_eq!(
            Template::parse("a}b").unwrap_err().to_string(),
            "'a}b': a lone '}' (write '}}' for a literal brace)"
        );
        assert_eq!(
            Template::parse("{x").unwrap_err().to_string(),
            "'{x': '{' is not closed (write '{{' for a literal brace)"
        );
        assert_eq!(Template::parse("{a b}").unwrap_err().to_string(), "'{a b}': '{a b}' is not a variable name");
    }

    #[test]
    fn clean_line_removes_escapes_and_controls() {
        assert_eq!(clean_line("\u{1b}[31mred\u{1b}[0m\tx\u{7}\r\n"), "red    x");
        assert_eq!(clean_line("10%\r50%\r100%"), "100%");
        assert_eq!(clean_line("\u{1b}]0;title\u{7}after"), "after");
        assert_eq!(clean_line("a\u{1b}Ppayload\u{1b}\\b\u{1b}_apc\u{1b}\\c\u{1b}cd"), "abcd");
    }

    #[test]
    fn argv_display_quotes_for_people() {
        let argv: Vec<String> = ["echo", "plain", "a b", "it's", "new\nline"].map(String::from).into();
        assert_eq!(display_argv(&argv), "echo plain 'a b' 'it'\\''s' $'new\\nline'");
    }
}
