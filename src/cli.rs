//! The command line: the TUI by default, and headless `status`, `act`, `audit`, `completions`.
//! JSON goes to stdout, errors to stderr with a non-zero exit code.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::actions::{ActionRequest, Confirmation, Pipeline, Verb, check_confirmation, current_user};
use crate::app::event_loop::Runtime;
use crate::app::{AppState, Screen};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, Loaded};
use crate::keymap::Keymap;
use crate::model::{Environment, Snapshot, SourceState};
use crate::providers::sandbox::Sandbox;
use crate::providers::sandbox::teammate::Teammate;
use crate::providers::{Provider, ProviderError};
use crate::store::Store;
use crate::theme::Theme;

#[derive(Debug, Parser)]
#[command(name = "skydeck", version, about = "A terminal console for on-call engineers", long_about = None)]
pub struct Cli {
    /// Config file (else $`SKYDECK_CONFIG`, else $`XDG_CONFIG_HOME/skydeck/config.toml`)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Refuse every mutation before anything is sent
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Use the embedded demo estate instead of real providers
    #[arg(long, global = true)]
    pub demo: bool,
    /// Colour theme: dark, light, high-contrast, colorblind, or a path
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the TUI on the embedded demo estate (no credentials needed)
    Demo,
    /// Fetch every source once and print the estate
    Status {
        /// One JSON document on stdout
        #[arg(long)]
        json: bool,
    },
    /// Plan, confirm and run one action
    Act(Box<ActArgs>),
    /// Print the audit log (newest last)
    Audit {
        #[arg(long)]
        json: bool,
        /// The team's merged log: this machine's entries and the teammates' from the team
        /// store (`[team]`), by time, each once (sends what is waiting first)
        #[arg(long)]
        team: bool,
    },
    /// Run a runbook's checks once (default: daily); exit 1 if anything failed, 3 if unknown/open
    Runbook {
        /// Runbook name (`daily` is shipped; add yours in <config>/skydeck/runbooks/)
        #[arg(default_value = "daily")]
        name: String,
        /// One JSON document
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// The shift-handover report in Markdown
        #[arg(long)]
        markdown: bool,
        /// Also post the handover report to Slack ([notify.slack])
        #[arg(long)]
        slack: bool,
    },
    /// Incidents: start one, add notes, close it, list, export the postmortem skeleton
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Print log lines of a source (a source name as in the status bar, `all`, or an item id
    /// such as a CI job or a service) for pipes and scripts
    Logs {
        source: String,
        /// Only lines matching this regex (case-insensitive; text or source)
        #[arg(long, value_name = "REGEX")]
        filter: Option<String>,
        /// Only lines newer than this (90s, 30m, 2h, 1d)
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// Keep printing new lines (Ctrl-C stops)
        #[arg(long)]
        follow: bool,
    },
    /// Print shell completions
    Completions { shell: clap_complete::Shell },
    /// Manage credentials skydeck keeps (GitHub tokens, Slack's token or webhook URL, in the OS keyring)
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Plugins: list what is loaded, check the files, list the variables
    #[command(subcommand)]
    Plugins(PluginsCommand),
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// The loaded plugins (shipped and <config>/skydeck/plugins/) and the files that did not load
    List {
        #[arg(long)]
        json: bool,
    },
    /// Load every plugin file; print each problem as <file:line> and exit 1 if there is any
    Check,
    /// The variables a plugin's args and env may use
    Vars,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident; while it is open every action is recorded on its timeline
    Start {
        title: String,
        #[arg(long, default_value = "sev2", value_parser = ["sev1", "sev2", "sev3", "sev4"])]
        severity: String,
        /// The affected environment
        #[arg(long)]
        environment: Option<String>,
    },
    /// Add a note to an incident's timeline
    Note { id: i64, text: String },
    /// Close an incident with its resolution
    Close {
        id: i64,
        #[arg(long)]
        resolution: String,
    },
    /// List incidents (newest first)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print an incident with its timeline
    Export {
        id: i64,
        /// The postmortem skeleton in Markdown (default)
        #[arg(long, default_value_t = true)]
        markdown: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Store a GitHub token (or a Slack secret) in the OS keyring; read from stdin, never echoed
    Login {
        /// `github`, `slack` (bot token) or `slack-webhook` (incoming webhook URL); clouds use their own CLIs' logins
        service: String,
        /// GitHub host (default github.com; an Enterprise server's host name)
        #[arg(long, default_value = "github.com")]
        host: String,
    },
    /// Remove a stored GitHub token
    Logout {
        service: String,
        #[arg(long, default_value = "github.com")]
        host: String,
    },
    /// Say where each configured source's credentials come from (never the secret itself)
    Status,
}

#[derive(Debug, clap::Args)]
pub struct ActArgs {
    /// approve, reject, rerun, cancel, dispatch, promote, rollback, restore, snapshot, rotate, scale, ack, silence
    pub verb: String,
    /// The target's id, as printed by `skydeck status --json`
    pub id: String,
    /// Print the plan and send nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,
    /// The target's name, required for production targets
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    /// Why, recorded in the audit log (and as the review comment for approvals)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// scale: instance count
    #[arg(long)]
    pub count: Option<u32>,
    /// restore: point in time (RFC 3339), within the PITR window
    #[arg(long, value_name = "RFC3339")]
    pub time: Option<String>,
    /// promote/rollback: version (slot, revision, task definition) to move to
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// restore: name of the new server
    #[arg(long)]
    pub name: Option<String>,
    /// dispatch: git ref
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// rerun: only the failed jobs
    #[arg(long)]
    pub failed: bool,
    /// silence: how long the alert's notifications stop (30m, 2h, 1d; at most 7d)
    #[arg(long = "for", value_name = "DURATION")]
    pub silence_for: Option<String>,
    /// Any other input as KEY=VALUE (repeatable); unknown keys are refused with the valid ones
    ///
    /// dispatch: the workflow's inputs, as `--param environment=production` or
    /// `--param input.environment=production` (both reach the input). approve/reject (GitHub):
    /// environment=NAME when a run waits for several. promote: force=true and container=NAME
    /// (ECS), percent=N (Cloud Run canary), slot=NAME (App Service). rotate: days=N (Azure deploy
    /// credential), `disable_previous=false` (Secret Manager). `--count`, `--time`, `--to`,
    /// `--name`, `--ref` and `--failed` are the same as `--param count=…` and so on. An input
    /// naming an environment (environment, env, target, stage...) makes the action as careful
    /// as that environment: production asks for `--confirm NAME`.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// rotate: read the new secret value from stdin (not echoed on a terminal; never shown or logged)
    #[arg(long)]
    pub value_stdin: bool,
}

/// The resolved context of one invocation: config, providers and the action pipeline.
struct Ctx {
    loaded: Loaded,
    store: Arc<Store>,
    providers: Vec<Arc<dyn Provider>>,
    /// Configured sources whose adapters are not part of this build yet.
    unavailable: Vec<(String, String)>,
    clock: Arc<dyn Clock>,
    /// The demo's estate, for its teammate (`--demo`).
    sandbox: Option<Arc<Sandbox>>,
}

fn demo_seed() -> u64 {
    std::env::var("SKYDECK_DEMO_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7)
}

fn demo_provider(clock: Arc<dyn Clock>) -> Arc<dyn Provider> {
    Arc::new(Sandbox::new(demo_seed(), clock))
}

async fn context(cli: &Cli, demo: bool, clock: &Arc<dyn Clock>) -> anyhow::Result<Ctx> {
    let path = config::locate(cli.config.as_deref());
    let loaded = match &path {
        Some(p) => config::load_file(p)?,
        None => Loaded::default(),
    };
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let clock = clock.clone();
    let store = Arc::new(Store::open_default().context("opening the store")?.with_clock(clock.clone()));
    let sandbox = demo.then(|| Arc::new(Sandbox::new(demo_seed(), clock.clone())));
    let (providers, unavailable) = if let Some(sandbox) = &sandbox {
        (vec![sandbox.clone() as Arc<dyn Provider>], Vec::new())
    } else {
        let registry = crate::providers::from_config(&crate::providers::BuildContext {
            config: &loaded.config,
            store: store.clone(),
        })
        .await;
        (registry.providers, registry.unavailable)
    };
    Ok(Ctx { loaded, store, providers, unavailable, clock, sandbox })
}

fn pipeline(ctx: &Ctx, read_only: bool) -> Pipeline {
    Pipeline::new(ctx.store.clone(), read_only, current_user()).with_clock(ctx.clock.clone())
}

/// The Slack notifier `[notify.slack]` asks for, and a warning when it is configured but cannot
/// post (no token). Never for the demo: its estate is made up, and a team channel is not.
/// Notifications never stop a command, so a problem here is only ever a warning.
fn notifier(
    loaded: &Loaded,
    store: &Arc<Store>,
    clock: Arc<dyn Clock>,
    demo: bool,
) -> (Option<crate::notify::Notifier>, Option<String>) {
    if demo || loaded.config.notify.slack.is_none() {
        return (None, None);
    }
    match crate::notify::Notifier::from_config(&loaded.config, store.clone(), clock, &current_user()) {
        Ok(n) => (n, None),
        Err(e) => (None, Some(format!("Slack: nothing will be posted: {e}"))),
    }
}

/// The team store of `[team]`, if configured; a config it cannot use is a warning (skydeck
/// works locally without it).
fn team_of(loaded: &Loaded, store: &Arc<Store>) -> Option<Arc<crate::team::Team>> {
    let cfg = loaded.config.team.as_ref()?;
    match crate::team::Team::new(cfg, store.clone()) {
        Ok(t) => Some(Arc::new(t)),
        Err(e) => {
            eprintln!("warning: team store not used: {e}");
            None
        }
    }
}

/// For commands that read the config only for the team store.
fn team_of_cli(cli: &Cli) -> Option<Arc<crate::team::Team>> {
    let loaded = match config::locate(cli.config.as_deref()) {
        Some(p) => config::load_file(&p).ok()?,
        None => return None,
    };
    loaded.config.team.as_ref()?;
    let store = Arc::new(Store::open_default().ok()?);
    team_of(&loaded, &store)
}

/// How long a command waits for the team store after its work is done (an action never waits).
const TEAM_WAIT: Duration = Duration::from_secs(10);

/// Sends what is waiting to the team store. Never fails the command: offline, the entries
/// stay in the local journal and go with the next command or TUI that reaches it.
async fn send_to_team(team: &crate::team::Team) {
    let result = match tokio::time::timeout(TEAM_WAIT, team.push()).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("team store {} did not answer in {}s", team.database(), TEAM_WAIT.as_secs())),
    };
    if let Err(e) = result {
        let pending = team.status().pending;
        eprintln!(
            "warning: {e}; {pending} entr{} kept locally, sent when it is back",
            if pending == 1 { "y" } else { "ies" }
        );
    }
}

/// Entry point used by `main`; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    run_with_clock(cli, Arc::new(SystemClock)).await
}

/// [`run`] with the clock every part of skydeck reads the time from.
pub async fn run_with_clock(cli: Cli, clock: Arc<dyn Clock>) -> anyhow::Result<i32> {
    let clock = &clock;
    match &cli.command {
        None => tui(&cli, cli.demo, clock).await,
        Some(Command::Demo) => tui(&cli, true, clock).await,
        Some(Command::Status { json }) => status(&cli, *json, clock).await,
        Some(Command::Act(args)) => act(&cli, args, clock).await,
        Some(Command::Audit { json, team: false }) => audit(*json),
        Some(Command::Audit { json, team: true }) => team_audit(&cli, *json).await,
        Some(Command::Auth(auth)) => auth_command(&cli, auth).await,
        Some(Command::Logs { source, filter, since, follow }) => {
            logs_command(&cli, source, filter.as_deref(), since.as_deref(), *follow, clock).await
        }
        Some(Command::Incident(c)) => {
            let code = incident_command(&cli, c, clock.clone()).await?;
            if let Some(team) = team_of_cli(&cli) {
                send_to_team(&team).await;
            }
            Ok(code)
        }
        Some(Command::Runbook { name, json, markdown, slack }) => {
            runbook(&cli, name, *json, *markdown, *slack, clock).await
        }
        Some(Command::Plugins(c)) => plugins_command(&cli, c),
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "skydeck", &mut std::io::stdout());
            Ok(0)
        }
    }
}

async fn tui(cli: &Cli, demo: bool, clock: &Arc<dyn Clock>) -> anyhow::Result<i32> {
    if !std::io::stdout().is_terminal() {
        bail!("the TUI needs a terminal; for scripts use `skydeck status --json`");
    }
    let ctx = context(cli, demo, clock).await?;
    let keymap = keymap_of(&ctx.loaded)?;
    let theme_name = cli.theme.clone().or(ctx.loaded.config.theme.clone());
    let theme = Theme::load(theme_name.as_deref())?;
    let names: Vec<(String, u64)> =
        ctx.providers.iter().map(|p| (p.name().to_string(), p.refresh_interval().as_secs())).collect();
    let mut state = AppState::new(&names, ctx.clock.now(), keymap).with_catalog(crate::providers::CATALOG);
    state.read_only = cli.read_only;
    state.theme_name = theme.name.clone();
    state.warnings = ctx.loaded.warnings.clone();
    state.configured_environments = configured_environments(&ctx.loaded);
    state.merge();
    state.first_run = !demo && ctx.loaded.path.is_none();
    state.config_hint = crate::paths::config_dir().join("config.toml").display().to_string();
    state.user = current_user();
    if let Some(lines) = ctx.loaded.config.log_buffer_lines {
        state.logs = crate::logbuf::LogBuffer::new(lines);
    }
    let (books, book_errors) = crate::runbook::load_all();
    state.warnings.extend(book_errors.iter().map(std::string::ToString::to_string));
    if let Some(book) = books.first() {
        let day = state.now.format("%Y-%m-%d").to_string();
        state.runbook_progress = ctx.store.runbook_progress(&book.name, &day)?;
        // The same start as `skydeck runbook`, so the screen and the handover report agree.
        state.runbook_since =
            Some(book.logs_errors_since(state.now, &day, &ctx.store.runbook_progress_all(&book.name)?));
    }
    state.runbooks = books;
    state.incident = ctx.store.open_incident_now()?;
    let mut notes: Vec<String> = ctx.unavailable.iter().map(|(_, e)| e.clone()).collect();
    let plugins = crate::plugins::load_default(&state.keymap);
    state.plugins = plugins.plugins;
    state.warnings.extend(plugins.errors.iter().map(std::string::ToString::to_string));
    // A broken plugin file says so on the first screen; the other plugins are there.
    if let Some(first) = plugins.errors.first() {
        let more = plugins.errors.len() - 1;
        let more = if more > 0 { format!(" (+{more} more; `skydeck plugins check`)") } else { String::new() };
        notes.push(format!("plugin not loaded: {first}{more}"));
    }
    let (slack, warning) = notifier(&ctx.loaded, &ctx.store, ctx.clock.clone(), demo);
    notes.extend(warning);
    if slack.is_some()
        && let Ok(Some(f)) = ctx.store.last_failure_of(crate::notify::SINK)
        && ctx.clock.now() - f.at < chrono::Duration::hours(24)
    {
        notes.push(format!("Slack: last post failed at {} (see the audit log)", f.at.format("%H:%M")));
    }
    if !notes.is_empty() {
        state.last_message = Some((notes.join(" · "), crate::model::Level::Warn));
    }
    state.screen = Screen::Overview;
    // The demo's team is its simulated teammate, never the configured team store.
    let team = if demo { None } else { team_of(&ctx.loaded, &ctx.store) };
    state.team = team.as_ref().map(|t| t.status());
    let teammate = ctx.sandbox.as_ref().map(|sandbox| {
        state.team = Some(Teammate::status());
        Box::new(Teammate::new(sandbox.clone(), ctx.clock.now(), state.runbooks.first()))
            as Box<dyn crate::team::SimulatedTeammate>
    });
    let clock = ctx.clock.clone();
    let rt = Runtime {
        pipeline: pipeline(&ctx, cli.read_only),
        providers: ctx.providers,
        clock: ctx.clock,
        demo: Some(Box::new(move || demo_provider(clock.clone()))),
        team,
        teammate,
    };
    // The notifier reads the journal the loop's actions write; it never touches the loop.
    let slack = slack.map(crate::notify::Notifier::spawn);
    let result = crate::app::event_loop::run(rt, state, theme).await;
    if let Some(running) = slack {
        running.finish(Duration::from_secs(3)).await;
    }
    result?;
    Ok(0)
}

/// The keymap with the config's `[keys]` (already checked with <file:line> when the config loaded).
fn keymap_of(loaded: &Loaded) -> anyhow::Result<Keymap> {
    Keymap::with_overrides(&loaded.config.keys).map_err(|e| {
        anyhow::anyhow!("{}: {e}", loaded.path.as_ref().map_or_else(|| "config".into(), |p| p.display().to_string()))
    })
}

fn configured_environments(loaded: &Loaded) -> Vec<Environment> {
    loaded
        .config
        .environments
        .iter()
        .map(|e| Environment {
            name: e.name.clone(),
            tier: loaded.config.tier_of(&e.name),
            protection_rules: Vec::new(),
        })
        .collect()
}

/// Fetches every provider concurrently (the whole refresh takes about the slowest one).
/// Each is cut off after `[refresh] fetch_timeout_seconds` (`providers::net`), so `status`
/// answers in bounded time whatever a server does.
async fn fetch_all(providers: &[Arc<dyn Provider>], limit: Duration) -> Vec<(String, Result<Snapshot, ProviderError>)> {
    let fetches = providers.iter().map(|p| async move {
        let r = match tokio::time::timeout(limit, p.fetch()).await {
            Ok(r) => r,
            Err(_) => Err(ProviderError::Unavailable(format!(
                "no answer within {}s (the whole fetch; `[refresh] fetch_timeout_seconds`)",
                limit.as_secs()
            ))),
        };
        (p.name().to_string(), r)
    });
    futures::future::join_all(fetches).await
}

async fn status(cli: &Cli, json: bool, clock: &Arc<dyn Clock>) -> anyhow::Result<i32> {
    let ctx = context(cli, cli.demo, clock).await?;
    let now = ctx.clock.now();
    let results = fetch_all(&ctx.providers, crate::providers::net::fetch_timeout(&ctx.loaded.config)).await;
    let mut estate = Snapshot { environments: configured_environments(&ctx.loaded), ..Snapshot::default() };
    let mut errors: Vec<serde_json::Value> =
        ctx.unavailable.iter().map(|(s, e)| json!({"source": s, "error": e})).collect();
    let mut sources = Vec::new();
    for (name, result) in &results {
        match result {
            Ok(s) => {
                estate.extend(s);
                sources.push(json!({"name": name, "state": SourceState::Fresh, "fetched_at": now}));
            }
            Err(e) => {
                let e = e.to_string();
                errors.push(json!({"source": name, "error": e}));
                sources.push(json!({"name": name, "state": SourceState::Failed, "error": e}));
            }
        }
    }
    let findings = crate::analysis::findings(&estate, now);
    // The newest Slack post of the last 24 h that did not get through (from the audit log).
    let slack_failure = match &ctx.loaded.config.notify.slack {
        Some(_) => ctx.store.last_failure_of(crate::notify::SINK)?.filter(|f| now - f.at < chrono::Duration::hours(24)),
        None => None,
    };
    let team = match team_of(&ctx.loaded, &ctx.store) {
        Some(team) => {
            // Catch up on the way (a laptop back online sends what it kept).
            let _ = tokio::time::timeout(TEAM_WAIT, team.sync()).await;
            Some(team.status())
        }
        None => None,
    };
    if json {
        let mut doc = json!({
            "team": team,
            "generated_at": now,
            "environments": estate.environments,
            "runs": estate.runs,
            "approvals": estate.approvals,
            "deployments": estate.deployments,
            "resources": estate.resources,
            "backups": estate.backups,
            "health": estate.health,
            "metrics": estate.metrics,
            "secrets": estate.secrets,
            "storage": estate.storage,
            "alerts": estate.alerts,
            "alert_rules": estate.alert_rules,
            "findings": findings,
            "sources": sources,
            "errors": errors,
        });
        if ctx.loaded.config.notify.slack.is_some() {
            let last = slack_failure.map(|f| json!({"at": f.at, "target": f.target, "detail": f.detail}));
            doc["notifications"] = json!({ "slack": { "last_failure": last } });
        }
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(0);
    }
    println!(
        "{} environments, {} runs, {} waiting approvals, {} resources, {} backups, {} secrets",
        estate.environments.len(),
        estate.runs.len(),
        estate.approvals.len(),
        estate.resources.len(),
        estate.backups.len(),
        estate.secrets.len()
    );
    if let Some(t) = &team {
        println!("{} {} ({})", if t.online { "✔" } else { "▲" }, t.line(), t.database);
    }
    if findings.is_empty() {
        println!("✔ nothing needs attention");
    }
    for f in &findings {
        // Plain text goes to a terminal: names and messages from remote parties are cleaned.
        let clean = crate::text::for_terminal;
        println!(
            "{} {:<11} {:<9} {} {}",
            f.level.symbol(),
            clean(&f.environment),
            f.category.label(),
            clean(&f.subject),
            clean(&f.text)
        );
    }
    for e in &errors {
        let text = |k: &str| crate::text::for_terminal(e[k].as_str().unwrap_or("")).into_owned();
        eprintln!("error: {}: {}", text("source"), text("error"));
    }
    if let Some(f) = slack_failure {
        eprintln!(
            "warning: slack: the last post failed at {} UTC ({}): {}",
            f.at.format("%Y-%m-%d %H:%M"),
            f.target_name,
            crate::text::for_terminal(&f.detail)
        );
    }
    Ok(0)
}

fn request_from(args: &ActArgs, verb: Verb) -> anyhow::Result<ActionRequest> {
    let mut params = BTreeMap::new();
    for p in &args.params {
        let (k, v) = p.split_once('=').with_context(|| format!("--param '{p}' must be KEY=VALUE"))?;
        if k == "value_from_stdin" {
            bail!("--param value_from_stdin: use --value-stdin (the value is read from stdin)");
        }
        params.insert(k.to_string(), v.to_string());
    }
    let pairs = [
        ("count", args.count.map(|c| c.to_string())),
        ("time", args.time.clone()),
        ("to", args.to.clone()),
        ("name", args.name.clone()),
        ("ref", args.git_ref.clone()),
        ("failed", args.failed.then(|| "true".to_string())),
        ("for", args.silence_for.clone()),
        ("value_from_stdin", args.value_stdin.then(|| "true".to_string())),
    ];
    if args.value_stdin && verb != Verb::Rotate {
        bail!("--value-stdin only goes with `act rotate`");
    }
    for (k, v) in pairs {
        if let Some(v) = v {
            params.insert(k.to_string(), v);
        }
    }
    Ok(ActionRequest { verb, target: args.id.clone(), reason: args.reason.clone(), params, secret_input: None })
}

/// The value for `--value-stdin`: typed without echo on a terminal, else all of stdin with one
/// trailing newline removed. The value is never printed.
fn read_secret_value(target: &str) -> anyhow::Result<String> {
    let value = if std::io::stdin().is_terminal() {
        eprint!("new value for {target} (not shown): ");
        let value = read_hidden_line()?;
        eprintln!();
        value
    } else {
        let mut all = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut all)
            .context("reading the value from stdin")?;
        let trimmed = all.strip_suffix('\n').unwrap_or(&all);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    };
    if value.is_empty() {
        bail!("--value-stdin: the value is empty; nothing was sent");
    }
    Ok(value)
}

/// One line from the terminal in raw mode, so the characters are not echoed.
fn read_hidden_line() -> anyhow::Result<String> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
    crossterm::terminal::enable_raw_mode()?;
    let mut value = String::new();
    let result = loop {
        match read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(anyhow::anyhow!("cancelled; nothing was sent"));
                }
                KeyCode::Char(c) => value.push(c),
                KeyCode::Backspace => {
                    value.pop();
                }
                _ => {}
            },
            Ok(Event::Paste(text)) => value.push_str(&text),
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    let _ = crossterm::terminal::disable_raw_mode();
    result.map(|()| value)
}

async fn act(cli: &Cli, args: &ActArgs, clock: &Arc<dyn Clock>) -> anyhow::Result<i32> {
    let verb: Verb = args.verb.parse()?;
    let mut request = request_from(args, verb)?;
    // Read-only refuses before any request, even a read, is sent.
    if cli.read_only && !args.dry_run {
        eprintln!("error: {}", crate::actions::ActionError::ReadOnly(verb));
        return Ok(1);
    }
    if args.value_stdin {
        request.secret_input = Some(read_secret_value(&args.id)?);
    }
    let ctx = context(cli, cli.demo, clock).await?;
    if ctx.providers.is_empty() {
        let why = ctx.unavailable.first().map_or_else(|| "no source is configured".into(), |(_, e)| e.clone());
        eprintln!("error: nothing can act: {why}");
        return Ok(1);
    }
    let results = fetch_all(&ctx.providers, crate::providers::net::fetch_timeout(&ctx.loaded.config)).await;
    let read = ctx.providers.iter().zip(&results).filter_map(|(p, (_, r))| r.as_ref().ok().map(|s| (p, s)));
    let Some((provider, snapshot, target)) = crate::providers::owner_of(read, &request.target) else {
        for (name, r) in &results {
            if let Err(e) = r {
                eprintln!("warning: {name} could not be read: {e}");
            }
        }
        eprintln!("error: {}", crate::actions::ActionError::NotFound(request.target.clone()));
        return Ok(1);
    };
    let (provider, snapshot) = (provider.clone(), snapshot.clone());
    // A run named by its bare number reads its workflow's inputs like one named by its id.
    request.target = target.id;
    match provider.action_inputs(&request).await {
        Ok(specs) => {
            // Unknown keys are refused before planning: nothing reads them, so they would be lost.
            let accepted = provider.accepted_params(verb);
            let checked = crate::actions::check_params(&mut request, accepted, &specs, provider.name())
                .and_then(|()| crate::actions::apply_input_defaults(&mut request, &specs));
            if let Err(e) = checked {
                // A verb the provider takes nothing for may not fit the target at all: say that.
                let e = match provider.plan(&request, &snapshot) {
                    Err(wrong @ crate::actions::ActionError::NotApplicable { .. }) if accepted.is_empty() => wrong,
                    _ => e,
                };
                eprintln!("error: {e}");
                return Ok(1);
            }
        }
        Err(e) => {
            eprintln!("error: cannot read the inputs of {}: {e}", request.target);
            return Ok(1);
        }
    }
    let plan = match provider.plan(&request, &snapshot) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    eprint!("{}", plan.render_text());
    if args.dry_run {
        eprintln!("dry run: nothing was sent");
        return Ok(0);
    }
    let pipeline = pipeline(&ctx, cli.read_only);
    // Made before the action runs: a first-time notifier starts reading the journal here.
    let (slack, warning) = notifier(&ctx.loaded, &ctx.store, ctx.clock.clone(), cli.demo);
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let confirmed = match (&plan.confirmation(), &args.confirm, args.yes) {
        (_, Some(name), _) => check_confirmation(&plan, Some(name), args.yes),
        (Confirmation::YesNo, None, true) => Ok(()),
        (confirmation, None, false) if std::io::stdin().is_terminal() => {
            let prompt = match confirmation {
                Confirmation::YesNo => "proceed? [y/N] ".to_string(),
                Confirmation::TypeName(n) => format!("type '{n}' to confirm: "),
            };
            eprint!("{prompt}");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            check_confirmation(&plan, Some(line.trim()), false)
        }
        _ => check_confirmation(&plan, None, args.yes),
    };
    if let Err(e) = confirmed {
        eprintln!("error: {e}");
        return Ok(1);
    }
    let outcome = pipeline.act(provider.as_ref(), plan).await;
    // The action is done and audited; posting it can only add to the audit log, not change
    // the outcome or the exit code.
    if let Some(n) = &slack {
        n.flush(crate::notify::CLI_FLUSH).await;
    }
    // After the action and its audit entries: the team store only ever hears about it.
    if let Some(team) = team_of(&ctx.loaded, &ctx.store) {
        send_to_team(&team).await;
    }
    match &outcome.result {
        Ok(done) => {
            let mut answer =
                json!({"ok": true, "verb": verb, "target": outcome.plan.request.target, "detail": done.to_string()});
            if let Some(warning) = &done.audit_warning {
                answer["audit_warning"] = json!(warning);
            }
            println!("{}", serde_json::to_string(&answer)?);
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            println!(
                "{}",
                serde_json::to_string(&json!({
                    "ok": false,
                    "verb": verb,
                    "target": outcome.plan.request.target,
                    "error": e.to_string(),
                    "failure": e.kind(),
                }))?
            );
            Ok(1)
        }
    }
}

fn audit(json: bool) -> anyhow::Result<i32> {
    let store = Store::open_default()?;
    let entries = store.audit_entries()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for e in entries {
            println!(
                "{} {:<10} {:<9} {:<9} {} ({}) {}{}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.user,
                e.verb,
                format!("{:?}", e.phase).to_lowercase(),
                e.target_name,
                e.environment,
                e.detail,
                e.reason.map(|r| format!(" · reason: {r}")).unwrap_or_default()
            );
        }
    }
    Ok(0)
}

/// `skydeck audit --team`: send what waits, read what teammates added, print the merged log.
/// Offline, the entries already kept here are printed, with a warning.
async fn team_audit(cli: &Cli, json: bool) -> anyhow::Result<i32> {
    let path = config::locate(cli.config.as_deref());
    let loaded = match &path {
        Some(p) => config::load_file(p)?,
        None => Loaded::default(),
    };
    let Some(cfg) = loaded.config.team.clone() else {
        bail!("no team store is configured: add [team] postgres_url = \"postgres://user@host/db\" to the config");
    };
    let store = Arc::new(Store::open_default().context("opening the store")?);
    let team = crate::team::Team::new(&cfg, store.clone())?;
    match tokio::time::timeout(TEAM_WAIT, team.sync()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("warning: {e}; showing the teammates' entries received before"),
        Err(_) => eprintln!(
            "warning: team store {} did not answer in {}s; showing the teammates' entries received before",
            team.database(),
            TEAM_WAIT.as_secs()
        ),
    }
    let entries = crate::team::merged_audit(&store, team.origin(), &crate::team::host_name(&cfg))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        let clean = crate::text::for_terminal;
        for e in entries {
            let a = &e.entry;
            println!(
                "{} {:<20} {:<9} {:<9} {} ({}) {}{}",
                a.at.format("%Y-%m-%d %H:%M:%S"),
                clean(&e.who),
                clean(&a.verb),
                format!("{:?}", a.phase).to_lowercase(),
                clean(&a.target_name),
                clean(&a.environment),
                clean(&a.detail),
                a.reason.as_ref().map(|r| format!(" · reason: {}", clean(r))).unwrap_or_default()
            );
        }
    }
    Ok(0)
}

fn plugins_command(cli: &Cli, command: &PluginsCommand) -> anyhow::Result<i32> {
    if let PluginsCommand::Vars = command {
        for (name, what) in crate::plugins::VARIABLES {
            println!("{:<18} {what}", format!("{{{name}}}"));
        }
        println!("{:<18} the answer to the plugin's input NAME", "{input.NAME}");
        println!("\n{{NAME?}} leaves the whole argument out when NAME has no value; each is also in the");
        println!("environment as SKYDECK_NAME (upper case, '.' -> '_'), e.g. SKYDECK_RESOURCE_ID.");
        return Ok(0);
    }
    let path = config::locate(cli.config.as_deref());
    let loaded = match &path {
        Some(p) => config::load_file(p)?,
        None => Loaded::default(),
    };
    let keymap = keymap_of(&loaded)?;
    let plugins = crate::plugins::load_default(&keymap);
    let visible = |p: &&crate::plugins::Plugin| !p.hidden(cli.read_only);
    match command {
        PluginsCommand::List { json: true } => {
            let list: Vec<_> = plugins
                .plugins
                .iter()
                .filter(visible)
                .map(|p| {
                    json!({
                        "name": p.name,
                        "key": p.key.to_string(),
                        "description": p.description,
                        "scopes": p.scopes,
                        "screens": p.screens_offered().iter().map(|s| s.title().to_lowercase()).collect::<Vec<_>>(),
                        "command": p.command,
                        "args": p.args.iter().map(|a| a.text.clone()).collect::<Vec<_>>(),
                        "output": p.output,
                        "confirm": p.confirm,
                        "dangerous": p.dangerous,
                        "inputs": p.inputs,
                        "file": format!("{}:{}", p.file, p.line),
                        "shipped": p.shipped,
                    })
                })
                .collect();
            let errors: Vec<String> = plugins.errors.iter().map(std::string::ToString::to_string).collect();
            let doc = json!({"plugins": list, "errors": errors, "disabled": plugins.disabled});
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        PluginsCommand::List { json: false } => {
            for p in plugins.plugins.iter().filter(visible) {
                let screens: Vec<String> = p.screens_offered().iter().map(|s| s.title().to_lowercase()).collect();
                let only = p.item_label().map(|l| format!(" ({l})")).unwrap_or_default();
                let flags = [(p.confirm, "confirm"), (p.dangerous, "dangerous")]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, f)| format!(" {f}"))
                    .collect::<String>();
                println!(
                    "{:<8} {:<22} {}{only} [{}] {}{flags}",
                    p.key.to_string(),
                    p.name,
                    screens.join(","),
                    p.output.as_str(),
                    p.description
                );
            }
            for d in &plugins.disabled {
                println!("disabled: {d}");
            }
            for e in &plugins.errors {
                eprintln!("error: {e}");
            }
        }
        PluginsCommand::Check => {
            for e in &plugins.errors {
                eprintln!("{e}");
            }
            let n = plugins.plugins.len();
            if plugins.errors.is_empty() {
                println!("{n} plugin(s) loaded, no problems");
            } else {
                println!("{n} plugin(s) loaded, {} file(s) with problems", plugins.errors.len());
                return Ok(1);
            }
        }
        PluginsCommand::Vars => {}
    }
    Ok(0)
}

/// Reads a secret from stdin: without echo on a terminal, as one line from a pipe.
pub fn read_secret(prompt: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim().to_string());
    }
    eprint!("{prompt}");
    let value = read_hidden_line()?;
    eprintln!();
    Ok(value.trim().to_string())
}

async fn auth_command(cli: &Cli, command: &AuthCommand) -> anyhow::Result<i32> {
    use crate::notify::slack::SlackSetupError;
    let github_only = |service: &str| -> anyhow::Result<()> {
        if service == "github" {
            Ok(())
        } else {
            bail!(
                "'{service}': skydeck stores GitHub tokens (github) and Slack's bot token (slack) or webhook URL (slack-webhook); AWS, Azure and GCP use `aws sso login`, `az login` and `gcloud auth application-default login`"
            )
        }
    };
    match command {
        AuthCommand::Login { service, .. } if slack_account(service).is_some() => slack_login(service),
        AuthCommand::Logout { service, .. } if slack_account(service).is_some() => {
            let account = slack_account(service).unwrap_or_default();
            match crate::notify::slack::keyring_entry(account)
                .and_then(|e| e.delete_credential().map_err(|e| SlackSetupError::Keyring(e.to_string())))
            {
                Ok(()) => {
                    println!("{service} removed from the OS keyring");
                    Ok(0)
                }
                Err(why) => {
                    eprintln!("error: nothing removed: {why}");
                    Ok(1)
                }
            }
        }
        AuthCommand::Login { service, host } => {
            github_only(service)?;
            github_auth::login(host)
        }
        AuthCommand::Logout { service, host } => {
            github_only(service)?;
            github_auth::logout(host)
        }
        AuthCommand::Status => {
            let path = config::locate(cli.config.as_deref());
            let loaded = match &path {
                Some(p) => config::load_file(p)?,
                None => Loaded::default(),
            };
            let mut code = 0;
            if let Some(slack) = &loaded.config.notify.slack {
                match crate::notify::slack::resolve(slack) {
                    Ok((mode, source)) => {
                        let what = if mode.threads() { "bot token" } else { "webhook URL" };
                        println!("slack: {what} from {source}");
                    }
                    Err(e) => {
                        println!("slack: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code.max(github_auth::status(&loaded)?))
        }
    }
}

/// `auth login/logout/status` for GitHub tokens (gh's token chain, the OS keyring).
#[cfg(feature = "github")]
mod github_auth {
    use crate::config::Loaded;
    use crate::providers::github::{self, auth, config::GithubConfig};

    pub fn login(host: &str) -> anyhow::Result<i32> {
        let token = super::read_secret(&format!("GitHub token for {host} (input hidden): "))?;
        if token.is_empty() {
            eprintln!("error: no token given; nothing was stored");
            return Ok(1);
        }
        match auth::store(host, &token) {
            Ok(place) => {
                println!("token for {host} stored in {place}");
                Ok(0)
            }
            Err(why) => {
                eprintln!(
                    "error: the token was NOT stored: {why}.\nOn a machine without a keyring, set SKYDECK_GITHUB_TOKEN (or GH_TOKEN) in the environment, or log in with `gh auth login --hostname {host}`; skydeck reads both."
                );
                Ok(1)
            }
        }
    }

    #[allow(clippy::unnecessary_wraps)] // the same signature as the build without GitHub's
    pub fn logout(host: &str) -> anyhow::Result<i32> {
        match auth::keyring_entry(host)
            .map_err(|e| e.to_string())
            .and_then(|e| e.delete_credential().map_err(|e| e.to_string()))
        {
            Ok(()) => {
                println!("token for {host} removed from the OS keyring");
                Ok(0)
            }
            Err(why) => {
                eprintln!("error: nothing removed: {why}");
                Ok(1)
            }
        }
    }

    pub fn status(loaded: &Loaded) -> anyhow::Result<i32> {
        let Some(gh) = loaded.config.section::<GithubConfig>()? else {
            println!("github: not configured");
            return Ok(0);
        };
        let mut code = 0;
        for h in github::hosts(&gh) {
            let host = github::client::host_of(&h.api_url);
            match auth::resolve(&host, h.token_env.as_deref()) {
                Ok(t) => println!("github {host}: token from {}", t.source),
                Err(e) => {
                    println!("github {host}: {e}");
                    code = 1;
                }
            }
        }
        Ok(code)
    }
}

/// A skydeck built without the `github` feature stores no GitHub token.
#[cfg(not(feature = "github"))]
mod github_auth {
    use crate::config::Loaded;

    const NOT_BUILT: &str = "this skydeck was built without GitHub (cargo feature `github`)";

    pub fn login(_host: &str) -> anyhow::Result<i32> {
        anyhow::bail!("{NOT_BUILT}")
    }

    pub fn logout(_host: &str) -> anyhow::Result<i32> {
        anyhow::bail!("{NOT_BUILT}")
    }

    #[allow(clippy::unnecessary_wraps)] // the same signature as the GitHub build's
    pub fn status(_loaded: &Loaded) -> anyhow::Result<i32> {
        println!("github: {NOT_BUILT}");
        Ok(0)
    }
}

/// The keyring account of a Slack secret `auth login` takes.
fn slack_account(service: &str) -> Option<&'static str> {
    match service {
        "slack" => Some(crate::notify::slack::KEYRING_TOKEN),
        "slack-webhook" => Some(crate::notify::slack::KEYRING_WEBHOOK),
        _ => None,
    }
}

/// `auth login slack` (bot token) / `slack-webhook` (incoming webhook URL), read from stdin.
fn slack_login(service: &str) -> anyhow::Result<i32> {
    use crate::notify::slack::{SlackSetupError, TOKEN_ENV, WEBHOOK_ENV, keyring_entry};
    let webhook = service == "slack-webhook";
    let prompt = if webhook {
        "Slack incoming webhook URL (input hidden): "
    } else {
        "Slack bot token, xoxb-… (input hidden): "
    };
    let value = read_secret(prompt)?;
    if value.is_empty() {
        eprintln!("error: nothing given; nothing was stored");
        return Ok(1);
    }
    if webhook && !value.starts_with("https://") {
        eprintln!("error: a webhook URL starts with https://; nothing was stored");
        return Ok(1);
    }
    let account = slack_account(service).unwrap_or_default();
    match keyring_entry(account)
        .and_then(|e| e.set_password(&value).map_err(|e| SlackSetupError::Keyring(e.to_string())))
    {
        Ok(()) => {
            println!(
                "{service} stored in the OS keyring (service '{}', account '{account}')",
                crate::paths::KEYRING_SERVICE
            );
            Ok(0)
        }
        Err(why) => {
            let var = if webhook { WEBHOOK_ENV } else { TOKEN_ENV };
            eprintln!(
                "error: it was NOT stored: {why}.\nOn a machine without a keyring, set {var} in the environment."
            );
            Ok(1)
        }
    }
}

async fn runbook(
    cli: &Cli,
    name: &str,
    json: bool,
    markdown: bool,
    post: bool,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<i32> {
    if post && cli.demo {
        bail!("--slack: the demo's report is made up, so it is not posted");
    }
    let (books, errors) = crate::runbook::load_all();
    for e in &errors {
        eprintln!("warning: {e}");
    }
    let Some(book) = books.iter().find(|b| b.name == name) else {
        let names: Vec<_> = books.iter().map(|b| b.name.as_str()).collect();
        bail!("no runbook '{name}' (available: {})", names.join(", "));
    };
    let ctx = context(cli, cli.demo, clock).await?;
    let now = ctx.clock.now();
    let results = fetch_all(&ctx.providers, crate::providers::net::fetch_timeout(&ctx.loaded.config)).await;
    let mut estate = Snapshot { environments: configured_environments(&ctx.loaded), ..Snapshot::default() };
    let mut failed: Vec<String> = ctx.unavailable.iter().map(|(s, _)| s.clone()).collect();
    for (name, r) in &results {
        match r {
            Ok(s) => estate.extend(s),
            Err(e) => {
                eprintln!("warning: {name}: {e}");
                failed.push(name.clone());
            }
        }
    }
    let logs: Vec<crate::model::LogLine> = futures::future::join_all(ctx.providers.iter().map(|p| p.fetch_logs(None)))
        .await
        .into_iter()
        .flat_map(std::result::Result::unwrap_or_default)
        .collect();
    let day = now.format("%Y-%m-%d").to_string();
    let progress = ctx.store.runbook_progress(&book.name, &day)?;
    // Since the last completed walkthrough before today (or the runbook's window): running this
    // again, or opening the TUI, does not move it.
    let since = Some(book.logs_errors_since(now, &day, &ctx.store.runbook_progress_all(&book.name)?));
    let eval = crate::runbook::Context {
        estate: &estate,
        now,
        log_errors: crate::runbook::error_lines(&logs),
        since,
        failed_sources: failed,
    };
    let report = crate::runbook::Report::build(book, &eval, &progress, &current_user());
    if post {
        let (slack, warning) = notifier(&ctx.loaded, &ctx.store, ctx.clock.clone(), false);
        let Some(slack) = slack else {
            bail!("--slack: {}", warning.unwrap_or_else(|| "[notify.slack] is not configured".into()));
        };
        let text = crate::notify::slack::handover_text(&report);
        let subject = format!("handover/{}", book.name);
        if let Err(e) = slack.post_now(&text, &subject, crate::notify::CLI_FLUSH).await {
            eprintln!("error: the handover report was NOT posted to Slack: {e}");
            return Ok(1);
        }
        eprintln!("handover report posted to Slack");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if markdown {
        print!("{}", report.to_markdown());
    } else {
        for i in &report.items {
            let symbol = i.verdict.level().symbol();
            let kind = if i.automatic { "" } else { " (manual)" };
            println!("{symbol} {}: {}{kind} — {}", i.section, i.title, i.value);
            if i.verdict != crate::runbook::Verdict::Pass {
                for e in &i.evidence {
                    println!("    {e}");
                }
            }
        }
        println!(
            "{} passed, {} failed, {} unknown, {} open",
            report.passed, report.failed, report.unknown, report.open
        );
    }
    Ok(report.exit_code())
}

async fn incident_command(cli: &Cli, command: &IncidentCommand, clock: Arc<dyn Clock>) -> anyhow::Result<i32> {
    let store = Arc::new(Store::open_default()?);
    // Only what changes an incident is posted; a config that does not load (or no Slack)
    // never stops the command itself.
    let changes = !matches!(command, IncidentCommand::List { .. } | IncidentCommand::Export { .. });
    let loaded = match config::locate(cli.config.as_deref()).map(|p| config::load_file(&p)) {
        Some(Ok(l)) if changes => Some(l),
        Some(Err(e)) if changes => {
            eprintln!("warning: {e} (nothing is posted to Slack)");
            None
        }
        _ => None,
    };
    let (slack, warning) = match &loaded {
        Some(l) => notifier(l, &store, clock.clone(), cli.demo),
        None => (None, None),
    };
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let code = incident_change(&store, command, clock.as_ref())?;
    if let Some(n) = &slack {
        n.flush(crate::notify::CLI_FLUSH).await;
    }
    Ok(code)
}

fn incident_change(store: &Store, command: &IncidentCommand, clock: &dyn Clock) -> anyhow::Result<i32> {
    use crate::incident::{Entry, EntryKind};
    let now = clock.now();
    let who = current_user();
    let find = |id: i64| -> anyhow::Result<crate::incident::Incident> {
        store
            .incidents()?
            .into_iter()
            .find(|i| i.id == id)
            .ok_or_else(|| anyhow::anyhow!("no incident {id} (see `skydeck incident list`)"))
    };
    match command {
        IncidentCommand::Start { title, severity, environment } => {
            if let Some(open) = store.open_incident_now()? {
                eprintln!("error: incident {} ({}) is still open; close it first", open.id, open.title);
                return Ok(1);
            }
            let id = store.open_incident(title, severity, environment.as_deref(), &who, now)?;
            println!("incident {id} opened ({severity}): {title}");
            Ok(0)
        }
        IncidentCommand::Note { id, text } => {
            find(*id)?;
            store.add_timeline(*id, &Entry { at: now, kind: EntryKind::Note, who, text: text.clone() })?;
            Ok(0)
        }
        IncidentCommand::Close { id, resolution } => {
            let i = find(*id)?;
            if i.closed_at.is_some() {
                eprintln!("error: incident {id} is already closed");
                return Ok(1);
            }
            store.close_incident(*id, resolution, &who, now)?;
            println!("incident {id} closed");
            Ok(0)
        }
        IncidentCommand::List { json } => {
            let list = store.incidents()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for i in list {
                    let state =
                        i.closed_at.map_or_else(|| "OPEN".into(), |c| format!("closed {}", c.format("%Y-%m-%d %H:%M")));
                    println!(
                        "{:>4} {} {:<5} {} — {}",
                        i.id,
                        i.opened_at.format("%Y-%m-%d %H:%M"),
                        i.severity,
                        i.title,
                        state
                    );
                }
            }
            Ok(0)
        }
        IncidentCommand::Export { id, json, .. } => {
            let i = find(*id)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&i)?);
            } else {
                print!("{}", i.to_markdown());
            }
            Ok(0)
        }
    }
}

fn parse_duration(text: &str) -> anyhow::Result<chrono::Duration> {
    let (num, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len()));
    let n: i64 = num.parse().with_context(|| format!("'{text}' is not a duration (90s, 30m, 2h, 1d)"))?;
    let d = match unit {
        "s" | "" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => bail!("'{text}' is not a duration (90s, 30m, 2h, 1d)"),
    };
    // Far beyond any log (and near chrono's limits) is an error, not a panic in chrono.
    d.filter(|d| d.num_days().abs() <= 1_000 * 366).ok_or_else(|| anyhow::anyhow!("'{text}' is too long a duration"))
}

/// The `[[logs]]` file behind a source name, if it is one.
fn log_file_source(cli: &Cli, source: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
    let Some(path) = config::locate(cli.config.as_deref()) else { return Ok(None) };
    let loaded = config::load_file(&path)?;
    let file = loaded.config.logs.iter().find(|l| crate::providers::logfile::source_name(l) == source);
    // Otherwise `context` loads the config again and warns itself: say it once.
    if file.is_some() {
        for w in &loaded.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(file.map(|l| std::path::PathBuf::from(&l.file)))
}

/// A local file is scanned where it lies, grep-style, instead of being loaded into a log buffer:
/// memory stays constant and output starts at once. `--follow` then polls it for growth.
async fn follow_log_file(
    path: &std::path::Path,
    source: &str,
    filter: Option<&str>,
    since: Option<crate::model::Timestamp>,
    follow: bool,
) -> anyhow::Result<i32> {
    use crate::providers::logfile::scan;
    let regex = filter.map(|f| scan::line_regex(f).with_context(|| format!("--filter '{f}'"))).transpose()?;
    let query = scan::Query { regex: regex.as_ref(), since };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    use std::os::unix::fs::MetadataExt;
    let identity = |path: &std::path::Path| std::fs::metadata(path).map(|m| (m.dev(), m.ino(), m.len())).ok();
    let mut offset = 0;
    loop {
        let scanned = identity(path);
        let end = match scan::scan(path, source, &query, offset, follow, &mut out) {
            Ok(end) => end,
            Err(e) => {
                eprintln!("error: {source}: {}: {e}", path.display());
                return Ok(1);
            }
        };
        if end.closed || !follow {
            return Ok(0);
        }
        offset = end.offset;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let Some((dev, ino, len)) = identity(path) else { continue }; // mid-rotation: not there yet
            let replaced = scanned.is_some_and(|(d, i, _)| (d, i) != (dev, ino));
            if replaced || len < offset {
                offset = 0; // rotated or truncated: from the top of the new file
            }
            if len != offset {
                break;
            }
        }
    }
}

async fn logs_command(
    cli: &Cli,
    source: &str,
    filter: Option<&str>,
    since: Option<&str>,
    follow: bool,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<i32> {
    let regex = match filter {
        Some(f) => Some(regex::Regex::new(&format!("(?i){f}")).with_context(|| format!("--filter '{f}'"))?),
        None => None,
    };
    let cutoff = since.map(parse_duration).transpose()?.map(|d| clock.now() - d);
    if !cli.demo
        && let Some(file) = log_file_source(cli, source)?
    {
        return follow_log_file(&file, source, filter, cutoff, follow).await;
    }
    let ctx = context(cli, cli.demo, clock).await?;
    let streams: Vec<Arc<dyn Provider>> =
        ctx.providers.iter().filter(|p| source == "all" || p.name() == source).cloned().collect();
    let keep = |l: &crate::model::LogLine| {
        cutoff.is_none_or(|c| l.at >= c) && regex.as_ref().is_none_or(|r| r.is_match(&l.text) || r.is_match(&l.source))
    };
    let mut out = std::io::stdout().lock();
    let mut print = |lines: &[crate::model::LogLine]| -> bool {
        for l in lines.iter().filter(|l| keep(l)) {
            if crate::providers::logfile::write_line(&mut out, l).is_err() {
                return false; // the reader went away (| head): stop quietly
            }
        }
        out.flush().is_ok()
    };
    if streams.is_empty() {
        // Not a source name: an item that has a log (a CI job, a service).
        for p in &ctx.providers {
            if let Ok(lines) = p.fetch_log(source).await {
                print(&lines);
                return Ok(0);
            }
        }
        let names: Vec<&str> = ctx.providers.iter().map(|p| p.name()).collect();
        eprintln!("error: no log source or item '{source}' (sources: all, {})", names.join(", "));
        return Ok(1);
    }
    let mut cursors: Vec<Option<crate::model::Timestamp>> = vec![None; streams.len()];
    loop {
        for (p, cursor) in streams.iter().zip(cursors.iter_mut()) {
            match p.fetch_logs(*cursor).await {
                Ok(lines) => {
                    if let Some(last) = lines.last() {
                        *cursor = Some(last.at);
                    }
                    if !print(&lines) {
                        return Ok(0);
                    }
                }
                Err(e) => eprintln!("warning: {}: {e}", p.name()),
            }
        }
        if !follow {
            return Ok(0);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
