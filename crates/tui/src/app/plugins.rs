//! Plugins in the TUI: the variables of the selected row, the key and palette entry that start
//! a plugin, its inputs and confirmation, and what its result does to the screen. Pure, like
//! the rest of `update`: the loop runs `Effect::RunPlugin`.

use super::rows::rows;
use super::{AppState, Effect, Popup, Row, Screen};
use crate::keymap::Key;
use crate::model::{Level, LogLine, Provider, Resource, Run, Severity};
use crate::plugins::{Context, Output, Plugin, PluginOutcome, PluginRun};

/// The variables of the current screen and its selected row (see `plugins::VARIABLES`).
pub fn plugin_context(state: &AppState) -> Context {
    let mut c = Context::new();
    set(&mut c, "screen", &state.screen.title().to_lowercase());
    set(&mut c, "user", &state.user);
    set(&mut c, "filter", &state.list().filter);
    set(&mut c, "log.filter", &state.lists[Screen::Logs.index()].filter);
    let e = &state.estate;
    // Log lines are not rows (a million of them never are): take the selected one directly.
    if state.screen == Screen::Logs {
        if let Some(l) = super::update::selected_log(state) {
            set(&mut c, "item", "log line");
            set(&mut c, "log.source", l.source);
            set(&mut c, "log.text", l.text);
            set(&mut c, "log.severity", l.severity.label());
        }
        return c;
    }
    let Some(row) = rows(state, state.screen).get(state.list().selected).copied() else {
        return c;
    };
    match row {
        Row::Environment(i) => {
            if let Some(env) = e.environments.get(i) {
                set(&mut c, "item", "environment");
                set(&mut c, "name", &env.name);
                set(&mut c, "environment", &env.name);
            }
        }
        Row::Run(i) => {
            if let Some(run) = e.runs.get(i) {
                run_vars(&mut c, run);
                set(&mut c, "item", "run");
            }
        }
        Row::Job(j, _) => {
            if let Some(run) = state.run_detail.as_ref().and_then(|id| e.runs.iter().find(|r| &r.id == id)) {
                run_vars(&mut c, run);
                set(&mut c, "item", "job");
                if let Some(job) = run.jobs.get(j) {
                    set(&mut c, "job.id", &job.id);
                    set(&mut c, "job.name", &job.name);
                }
            }
        }
        Row::Approval(i) => {
            if let Some(a) = e.approvals.get(i) {
                if let Some(run) = e.runs.iter().find(|r| r.id == a.run) {
                    run_vars(&mut c, run);
                }
                set(&mut c, "item", "approval");
                set(&mut c, "approval.id", &a.id);
                set(&mut c, "id", &a.id);
                set(&mut c, "name", &a.environment);
                set(&mut c, "environment", &a.environment);
                set(&mut c, "repo", &a.repo);
                set(&mut c, "sha", &a.sha);
                set(&mut c, "workflow", &a.workflow);
            }
        }
        Row::Deployment(i) => {
            if let Some(d) = e.deployments.get(i) {
                if let Some(run) = d.run_id.as_ref().and_then(|id| e.runs.iter().find(|r| &r.id == id)) {
                    run_vars(&mut c, run);
                    c.remove("branch");
                    c.remove("workflow");
                }
                set(&mut c, "item", "deployment");
                set(&mut c, "deployment.id", &d.id);
                set(&mut c, "id", &d.id);
                set(&mut c, "name", &d.environment);
                set(&mut c, "environment", &d.environment);
                set(&mut c, "repo", &d.repo);
                set(&mut c, "sha", &d.sha);
                set(&mut c, "ref", &d.git_ref);
                set(&mut c, "provider", "github");
            }
        }
        Row::Health(i) => {
            if let Some(h) = e.health.get(i) {
                set(&mut c, "item", "health check");
                set(&mut c, "health.name", &h.name);
                set(&mut c, "id", &h.id);
                set(&mut c, "name", &h.name);
                set(&mut c, "environment", &h.environment);
                set(&mut c, "url", &h.url);
            }
        }
        Row::Resource(i) => {
            if let Some(r) = e.resources.get(i) {
                resource_vars(&mut c, r);
                set(&mut c, "item", "resource");
                set(&mut c, "id", &r.id);
                set(&mut c, "name", &r.name);
            }
        }
        Row::Backup(i) => {
            if let Some(b) = e.backups.get(i) {
                match e.resources.iter().find(|r| r.id == b.resource) {
                    Some(r) => resource_vars(&mut c, r),
                    None => set(&mut c, "resource.id", &b.resource),
                }
                set(&mut c, "item", "backup");
                set(&mut c, "backup.id", &b.id);
                set(&mut c, "database", &b.database);
                set(&mut c, "id", &b.id);
                set(&mut c, "name", &b.database);
                set(&mut c, "environment", &b.environment);
                set(&mut c, "provider", b.provider.key());
            }
        }
        Row::Secret(i) => {
            if let Some(s) = e.secrets.get(i) {
                id_vars(&mut c, s.provider, &s.id);
                set(&mut c, "item", "secret");
                set(&mut c, "secret.id", &s.id);
                set(&mut c, "secret.name", &s.name);
                set(&mut c, "secret.store", &s.store);
                set(&mut c, "id", &s.id);
                set(&mut c, "name", &s.name);
                set(&mut c, "environment", &s.environment);
                set(&mut c, "provider", s.provider.key());
            }
        }
        Row::Alert(i) => {
            if let Some(a) = e.alerts.get(i) {
                set(&mut c, "item", "alert");
                set(&mut c, "alert.id", &a.id);
                set(&mut c, "alert.source", &a.source);
                set(&mut c, "alert.severity", a.severity.label());
                set(&mut c, "id", &a.id);
                set(&mut c, "name", &a.name);
                set(&mut c, "environment", &a.environment);
                set(&mut c, "provider", a.provider.key());
                if let Some(link) = &a.link {
                    set(&mut c, "url", link);
                }
            }
        }
        // A rule shares the generic variables: a plugin can open it or mend it.
        Row::AlertRule(i) => {
            if let Some(r) = e.alert_rules.get(i) {
                set(&mut c, "item", "alert_rule");
                set(&mut c, "id", &r.id);
                set(&mut c, "name", &r.name);
                set(&mut c, "environment", &r.environment);
                set(&mut c, "provider", r.provider.key());
                if let Some(link) = &r.link {
                    set(&mut c, "url", link);
                }
            }
        }
        Row::Log(_) | Row::Item(_) => {}
        Row::Audit(i) => {
            if let Some(a) = state.audit.get(i) {
                set(&mut c, "item", "audit entry");
                set(&mut c, "id", &a.target);
                set(&mut c, "name", &a.target_name);
                set(&mut c, "environment", &a.environment);
            }
        }
        Row::RunbookItem(i) => {
            if let Some(item) = state.runbooks.get(state.runbook_index).and_then(|b| b.items.get(i)) {
                set(&mut c, "item", "runbook item");
                set(&mut c, "name", &item.title);
            }
        }
    }
    c
}

fn set(c: &mut Context, key: &str, value: &str) {
    if value.is_empty() {
        c.remove(key);
    } else {
        c.insert(key.to_string(), value.to_string());
    }
}

fn run_vars(c: &mut Context, run: &Run) {
    set(c, "id", &run.id);
    set(c, "name", &format!("{} #{}", run.workflow, run.run_id));
    set(c, "provider", "github");
    set(c, "repo", &run.repo);
    set(c, "sha", &run.sha);
    set(c, "branch", &run.branch);
    set(c, "workflow", &run.workflow);
    set(c, "run.id", &run.run_id.to_string());
    set(c, "run.attempt", &run.attempt.to_string());
    set(c, "run.url", &run.url);
    set(c, "url", &run.url);
    let host = run.url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("github.com");
    set(c, "github.host", host);
}

fn resource_vars(c: &mut Context, r: &Resource) {
    // The region the provider reports; the id's own (ARN, location) wins where it has one.
    set(c, "region", &r.region);
    id_vars(c, r.provider, &r.id);
    set(c, "resource.id", &r.id);
    set(c, "resource.name", &r.name);
    set(c, "resource.kind", &r.kind);
    set(c, "resource.role", r.role.label());
    set(c, "resource.version", r.current_version.as_deref().unwrap_or(""));
    set(c, "provider", r.provider.key());
    set(c, "environment", &r.environment);
    if let Some(url) = (r.provider.info().console_url)(r) {
        set(c, "url", &url);
    }
}

/// What the id says (account, region, cluster; subscription, resource group; project,
/// region), as its provider reads its own ids.
fn id_vars(c: &mut Context, provider: Provider, id: &str) {
    for (key, value) in (provider.info().id_vars)(id) {
        set(c, key, &value);
    }
}

/// The plugins listed on the current screen (`?` help, `:` palette).
pub fn plugins_here(state: &AppState) -> Vec<&Plugin> {
    state.plugins.iter().filter(|p| p.offered_on(state.screen) && !p.hidden(state.read_only)).collect()
}

/// A plugin key on a screen where a plugin with that key is offered: start it.
pub(super) fn plugin_key(state: &mut AppState, key: Key) -> Option<Vec<Effect>> {
    let candidates: Vec<String> =
        state.plugins.iter().filter(|p| p.key == key && p.offered_on(state.screen)).map(|p| p.name.clone()).collect();
    if candidates.is_empty() {
        return None;
    }
    // Several plugins may share a key on different resource kinds: the selection decides.
    let ctx = plugin_context(state);
    let name = state
        .plugins
        .iter()
        .filter(|p| candidates.contains(&p.name))
        .find(|p| p.applies_to(&ctx).is_ok())
        .map_or_else(|| candidates[0].clone(), |p| p.name.clone());
    Some(start_plugin(state, &name))
}

/// Starts a plugin on the selected row: refusals first, then its inputs, its confirmation, or
/// straight to the loop.
pub(super) fn start_plugin(state: &mut AppState, name: &str) -> Vec<Effect> {
    let Some(plugin) = state.plugins.iter().find(|p| p.name == name).cloned() else {
        state.last_message = Some((format!("no plugin '{name}'"), Level::Warn));
        return Vec::new();
    };
    if plugin.hidden(state.read_only) {
        super::update::message(
            state,
            "Read-only",
            format!("skydeck runs with --read-only: plugin '{name}' is marked dangerous and was refused; nothing ran."),
            Level::Warn,
        );
        return Vec::new();
    }
    if !plugin.offered_on(state.screen) {
        let screens: Vec<&str> = plugin.screens_offered().iter().map(|s| s.title()).collect();
        let text = format!("plugin '{name}' works on {}, not {}", screens.join(", "), state.screen.title());
        state.last_message = Some((text, Level::Warn));
        return Vec::new();
    }
    let ctx = plugin_context(state);
    if let Err(why) = plugin.applies_to(&ctx) {
        state.last_message = Some((why.to_string(), Level::Warn));
        return Vec::new();
    }
    let missing = plugin.missing(&ctx);
    if !missing.is_empty() {
        let what = ctx.get("item").map_or_else(|| "nothing selected".into(), |i| format!("the selected {i}"));
        let vars: Vec<String> = missing.iter().map(|v| format!("{{{v}}}")).collect();
        state.last_message =
            Some((format!("plugin '{name}' needs {}, which {what} does not have", vars.join(", ")), Level::Warn));
        return Vec::new();
    }
    if !plugin.inputs.is_empty() {
        let fields = plugin
            .inputs
            .iter()
            .map(|i| {
                let spec = i.spec();
                let value = spec.default.clone().or_else(|| spec.options.first().cloned()).unwrap_or_default();
                (spec, value)
            })
            .collect();
        state.popup = Some(Popup::PluginForm { plugin: name.to_string(), context: ctx, fields, focus: 0, error: None });
        return Vec::new();
    }
    prepared(state, &plugin, &ctx)
}

/// After the inputs: the command line, then the confirmation or the run.
pub(super) fn prepared(state: &mut AppState, plugin: &Plugin, ctx: &Context) -> Vec<Effect> {
    match plugin.prepare(ctx) {
        Err(why) => {
            super::update::message(state, &format!("Plugin {}", plugin.name), why.to_string(), Level::Warn);
            Vec::new()
        }
        // Dangerous plugins on production always confirm (typing the item's name).
        Ok(run) if plugin.confirm || plugin_confirmation_name(state, &run).is_some() => {
            state.popup = Some(Popup::PluginConfirm { run: Box::new(run), input: String::new(), error: None });
            Vec::new()
        }
        Ok(run) => run_effect(state, run),
    }
}

/// Dangerous plugins on production targets ask for the target's name, like actions do.
pub fn plugin_confirmation_name(state: &AppState, run: &PluginRun) -> Option<String> {
    let prod = crate::actions::tier_of(&state.estate, &run.environment) == crate::model::Tier::Prod;
    (run.dangerous && prod && !run.environment.is_empty()).then(|| run.target_name.clone())
}

pub(super) fn run_effect(state: &mut AppState, run: PluginRun) -> Vec<Effect> {
    if state.read_only && run.dangerous {
        super::update::message(
            state,
            "Read-only",
            format!("plugin '{}' refused: --read-only", run.plugin),
            Level::Warn,
        );
        return Vec::new();
    }
    state.actions_in_flight += 1;
    state.last_message = Some((format!("running {} on {}…", run.plugin, run.target_name), Level::Unknown));
    vec![Effect::RunPlugin(Box::new(run))]
}

/// A plugin run ended: a message, its output in Logs, and for `capture` a popup.
pub(super) fn plugin_done(state: &mut AppState, outcome: PluginOutcome) -> Vec<Effect> {
    state.actions_in_flight = state.actions_in_flight.saturating_sub(1);
    let run = &outcome.run;
    let source = format!("plugin:{}", run.plugin);
    let status = outcome.status();
    let level = if outcome.ok() { Level::Ok } else { Level::Crit };
    let mut lines: Vec<LogLine> = outcome
        .output
        .iter()
        .map(|text| LogLine { at: state.now, source: source.clone(), severity: Severity::Info, text: text.clone() })
        .collect();
    let severity = if outcome.ok() { Severity::Info } else { Severity::Error };
    lines.push(LogLine {
        at: state.now,
        source: source.clone(),
        severity,
        text: format!("{} on {}: {status}", run.plugin, run.target_name),
    });
    state.logs.push_batch(lines);
    let audit_note = outcome.audit_error.as_ref().map(|e| format!(" (warning: audit entry not written: {e})"));
    let symbol = level.symbol();
    match run.output {
        Output::Capture => {
            let mut lines = outcome.output.clone();
            if lines.is_empty() {
                lines.push("(no output)".into());
            }
            let title = format!("{} on {} — {status}", run.plugin, run.target_name);
            state.popup = Some(Popup::Output { title, lines, scroll: 0, level });
            state.last_message =
                Some((format!("{symbol} {} {status}{}", run.plugin, audit_note.unwrap_or_default()), level));
        }
        Output::Background | Output::Terminal => {
            let last = outcome.output.iter().rev().find(|l| !l.trim().is_empty());
            let tail = match (outcome.ok(), last) {
                (false, Some(l)) => format!(": {l}"),
                (_, Some(_)) => format!(" · output in Logs (/{source})"),
                _ => String::new(),
            };
            state.last_message = Some((
                format!(
                    "{symbol} {} on {}: {status}{tail}{}",
                    run.plugin,
                    run.target_name,
                    audit_note.unwrap_or_default()
                ),
                level,
            ));
        }
    }
    state.dirty = true;
    vec![Effect::LoadAudit]
}
