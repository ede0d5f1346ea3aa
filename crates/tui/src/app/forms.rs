//! The TUI's forms for what the CLI takes as flags: the restore point in time (`--time`, checked
//! against the restorable window), a rotated secret's new value (`--value-stdin`, typed hidden),
//! a scale count within the provider's limits (`--count`), and a new incident's severity and
//! environment (`incident start --severity --environment`). Also the Incident screen's list of
//! closed incidents and the postmortem export. Pure, like the rest of `update`.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::update::{FormStep, form_key};
use super::{AppState, Effect, NoteTarget, Popup, Screen};
use crate::actions::limits::{ScaleLimits, scale_limits};
use crate::actions::{ActionRequest, InputSpec, Verb};
use crate::incident::Incident;
use crate::keymap::Command;
use crate::model::{Level, Timestamp};

/// The kind of an input whose value is never shown (rendered as dots, redacted in `Debug`).
pub const SECRET_KIND: &str = "secret";

pub const SEVERITIES: [&str; 4] = ["sev1", "sev2", "sev3", "sev4"];

/// "No environment" in the incident form's environment choice.
pub const NO_ENVIRONMENT: &str = "none";

#[derive(Clone, PartialEq)]
pub enum FormKind {
    Restore { request: ActionRequest, database: String, earliest: Option<Timestamp>, latest: Option<Timestamp> },
    Rotate { request: ActionRequest, secret: String, store: String, empty: String },
    Scale { request: ActionRequest, name: String, limits: ScaleLimits },
    StartIncident,
}

/// One form: what it is for, its fields (as in the workflow and plugin forms), focus, error.
#[derive(Clone, PartialEq)]
pub struct ActionForm {
    pub kind: FormKind,
    pub fields: Vec<(InputSpec, String)>,
    pub focus: usize,
    pub error: Option<String>,
}

/// Never prints a hidden field's value (the popup sits in `AppState`, which tests and logs may
/// format).
impl fmt::Debug for ActionForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(s, v)| (s.name.as_str(), if s.kind == SECRET_KIND { "<redacted>" } else { v.as_str() }))
            .collect();
        let kind = match &self.kind {
            FormKind::Restore { request, .. } => format!("restore {}", request.target),
            FormKind::Rotate { request, .. } => format!("rotate {}", request.target),
            FormKind::Scale { request, .. } => format!("scale {}", request.target),
            FormKind::StartIncident => "start incident".to_string(),
        };
        f.debug_struct("ActionForm")
            .field("kind", &kind)
            .field("fields", &fields)
            .field("focus", &self.focus)
            .field("error", &self.error)
            .finish()
    }
}

impl ActionForm {
    fn new(kind: FormKind, fields: Vec<(InputSpec, String)>) -> Self {
        ActionForm { kind, fields, focus: 0, error: None }
    }

    pub fn title(&self) -> &'static str {
        match self.kind {
            FormKind::Restore { .. } => "Restore to a point in time",
            FormKind::Rotate { .. } => "Rotate secret",
            FormKind::Scale { .. } => "Scale",
            FormKind::StartIncident => "Start an incident",
        }
    }

    /// The lines above the fields: the target and what bounds its inputs.
    pub fn header(&self, now: Timestamp) -> Vec<String> {
        let time = |t: Option<Timestamp>| t.map_or_else(|| "unknown".into(), rfc3339);
        match &self.kind {
            FormKind::Restore { database, earliest, latest, .. } => {
                let mut out = vec![format!("restore {database} into a NEW server (the original is not touched)")];
                if earliest.is_none() && latest.is_none() {
                    out.push("restorable window: unknown (point-in-time recovery off?)".into());
                } else {
                    out.push(format!("restorable window: {} .. {} (UTC)", time(*earliest), time(*latest)));
                }
                out.push(format!(
                    "time: RFC 3339, 'YYYY-MM-DD HH:MM', now-15m, latest or earliest (now is {})",
                    rfc3339(now)
                ));
                out
            }
            FormKind::Rotate { secret, store, empty, .. } => vec![
                format!("rotate {secret} in {store}"),
                "the new value is never shown, logged or audited (as `act rotate --value-stdin`)".into(),
                empty.clone(),
            ],
            FormKind::Scale { name, limits, .. } => vec![
                format!("scale {name}"),
                format!("current count: {}", limits.current.map_or_else(|| "unknown".into(), |c| c.to_string())),
                format!("limit: {}", limits.limit_text),
            ],
            FormKind::StartIncident => vec!["records every alert, deploy, approval and action while open".into()],
        }
    }
}

/// Whether the store needs the new value typed (Key Vault and Secret Manager store what they
/// are given) or can make one itself (a Secrets Manager rotation function, a new client secret
/// on the app registration behind a deploy credential), and the line that says so.
fn value_needed(id: &str, provider: Option<crate::model::Provider>) -> (bool, String) {
    if id.contains(".vault.azure.net/secrets/") {
        return (true, "Key Vault stores the value typed here; it does not make one".into());
    }
    match provider.and_then(|p| p.info().new_secret_value) {
        Some((typed, line)) => (typed, line.into()),
        None => (false, "empty: the provider makes the new value where it can".into()),
    }
}

fn spec(name: &str, description: &str, required: bool, kind: &str, options: Vec<String>) -> InputSpec {
    InputSpec {
        name: name.into(),
        description: description.into(),
        required,
        default: None,
        options,
        kind: kind.into(),
    }
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The form a verb needs before planning, when it takes one.
pub(super) fn action_form(state: &AppState, request: ActionRequest) -> Option<Popup> {
    let e = &state.estate;
    let target = request.target.clone();
    let form = match request.verb {
        Verb::Restore => {
            // Not a database with backups: straight to the planner, which says why not.
            let backup = e.backups.iter().find(|b| b.id == target || b.resource == target)?;
            let database = backup.database.clone();
            let (earliest, latest) = (backup.earliest_restore, backup.latest_restore);
            let fields = vec![
                (
                    spec("time", "the point in time to restore to", false, "string", Vec::new()),
                    latest.map(rfc3339).unwrap_or_default(),
                ),
                (spec("name", "new server's name; empty: a default", false, "string", Vec::new()), String::new()),
            ];
            ActionForm::new(FormKind::Restore { request, database, earliest, latest }, fields)
        }
        Verb::Rotate => {
            let secret = e.secrets.iter().find(|s| s.id == target);
            let name = secret.map_or_else(|| target.clone(), |s| s.name.clone());
            let store = secret.map(|s| s.store.clone()).unwrap_or_default();
            let (required, empty) = value_needed(&target, secret.map(|s| s.provider));
            let description = if required { "hidden" } else { "hidden; empty: generated" };
            let fields = vec![(spec("new value", description, required, SECRET_KIND, Vec::new()), String::new())];
            ActionForm::new(FormKind::Rotate { request, secret: name, store, empty }, fields)
        }
        Verb::Scale => {
            // Only compute scales; anything else goes to the planner, which says why not.
            let resource = e.resources.iter().find(|r| r.id == target && r.role == crate::model::Role::Compute)?;
            let name = resource.name.clone();
            let limits = scale_limits(resource);
            let range = match limits.max {
                Some(max) => format!("instances, 0 to {max}"),
                None => "instances".to_string(),
            };
            let fields = vec![(spec("count", &range, true, "number", Vec::new()), String::new())];
            ActionForm::new(FormKind::Scale { request, name, limits }, fields)
        }
        _ => return None,
    };
    Some(Popup::Action(Box::new(form)))
}

/// `s` on the Incident screen: title, severity (sev2 by default) and environment (the one
/// selected on the Overview by default).
pub(super) fn start_incident_form(state: &AppState) -> Popup {
    let environments: Vec<String> = if state.configured_environments.is_empty() {
        state.estate.environments.iter().map(|e| e.name.clone()).collect()
    } else {
        state.configured_environments.iter().map(|e| e.name.clone()).collect()
    };
    let selected =
        state.estate.environments.get(state.lists[Screen::Overview.index()].selected).map(|e| e.name.clone());
    let mut options = environments;
    options.push(NO_ENVIRONMENT.into());
    let environment = selected.filter(|s| options.contains(s)).unwrap_or_else(|| options[0].clone());
    let severities: Vec<String> = SEVERITIES.iter().map(std::string::ToString::to_string).collect();
    let fields = vec![
        (spec("title", "what is wrong, in a few words", true, "string", Vec::new()), String::new()),
        (spec("severity", "sev1 worst .. sev4", true, "choice", severities), "sev2".into()),
        (spec("environment", "the affected environment", true, "choice", options), environment),
    ];
    Popup::Action(Box::new(ActionForm::new(FormKind::StartIncident, fields)))
}

/// What is wrong with what was typed in an action form (shown in the form).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the latest restorable point is not known; type a time")]
    LatestUnknown,
    #[error("the earliest restorable point is not known; type a time")]
    EarliestUnknown,
    #[error("'{0}' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM', now-15m, latest, earliest)")]
    NotATime(String),
    #[error("{at} is before the earliest restorable point {earliest}")]
    BeforeEarliest { at: String, earliest: String },
    #[error("{at} is after the latest restorable point {latest}")]
    AfterLatest { at: String, latest: String },
    #[error("'{0}' is not a whole number of instances")]
    NotACount(String),
    /// Outside what the resource can scale to (the limit's own words).
    #[error("{0}")]
    OutOfLimits(String),
    #[error("it already runs {0}; nothing to change")]
    Unchanged(u32),
}

/// A restore point typed in the form: RFC 3339, "YYYY-MM-DD HH:MM[:SS]" (UTC), `now`,
/// `now-15m` (s, m, h, d), `latest` or `earliest`; checked against the window where it is
/// known. `Ok(None)`: nothing typed and no latest point known (the provider's default).
pub fn parse_restore_time(
    text: &str,
    now: Timestamp,
    earliest: Option<Timestamp>,
    latest: Option<Timestamp>,
) -> Result<Option<Timestamp>, FormError> {
    let text = text.trim();
    let at = match text {
        "" | "latest" => match latest {
            Some(t) => t,
            None if text.is_empty() => return Ok(None),
            None => return Err(FormError::LatestUnknown),
        },
        "earliest" => earliest.ok_or(FormError::EarliestUnknown)?,
        "now" => now,
        _ if text.starts_with("now-") => now - relative(&text[4..]).ok_or_else(|| not_a_time(text))?,
        _ => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
                    .map(|t| t.and_utc())
            })
            .map_err(|_| not_a_time(text))?,
    };
    if let Some(e) = earliest
        && at < e
    {
        return Err(FormError::BeforeEarliest { at: rfc3339(at), earliest: rfc3339(e) });
    }
    if let Some(l) = latest
        && at > l
    {
        return Err(FormError::AfterLatest { at: rfc3339(at), latest: rfc3339(l) });
    }
    Ok(Some(at))
}

fn not_a_time(text: &str) -> FormError {
    FormError::NotATime(text.to_string())
}

fn relative(text: &str) -> Option<chrono::Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().ok()?;
    match unit {
        "s" => Some(chrono::Duration::seconds(n)),
        "m" => Some(chrono::Duration::minutes(n)),
        "h" => Some(chrono::Duration::hours(n)),
        "d" => Some(chrono::Duration::days(n)),
        _ => None,
    }
}

/// One key in an action form; on enter the inputs are checked here, and only valid ones reach
/// the planner (or open the incident).
pub(super) fn on_key(state: &mut AppState, mut form: ActionForm, key: KeyEvent) -> Vec<Effect> {
    let mut error = None;
    match form_key(&mut form.fields, &mut form.focus, key, &mut error) {
        FormStep::Cancel => {
            state.last_message = Some(("cancelled; nothing was sent".into(), Level::Unknown));
            return Vec::new();
        }
        FormStep::Quit => return vec![Effect::Quit],
        FormStep::Stay => {}
        FormStep::Submit => match submit(state, &form) {
            Ok(effects) => return effects,
            Err(e) => error = Some(e.to_string()),
        },
    }
    form.error = error;
    state.popup = Some(Popup::Action(Box::new(form)));
    Vec::new()
}

fn value<'a>(form: &'a ActionForm, name: &str) -> &'a str {
    form.fields.iter().find(|(s, _)| s.name == name).map_or("", |(_, v)| v.as_str())
}

fn submit(state: &mut AppState, form: &ActionForm) -> Result<Vec<Effect>, FormError> {
    match &form.kind {
        FormKind::Restore { request, earliest, latest, .. } => {
            let mut request = request.clone();
            // Where `act restore --time` puts it: the `time` param, RFC 3339.
            if let Some(at) = parse_restore_time(value(form, "time"), state.now, *earliest, *latest)? {
                request.params.insert("time".into(), rfc3339(at));
            }
            let name = value(form, "name").trim();
            if !name.is_empty() {
                request.params.insert("name".into(), name.to_string());
            }
            Ok(vec![Effect::Plan(request)])
        }
        FormKind::Rotate { request, .. } => {
            let mut request = request.clone();
            let typed = value(form, "new value");
            // As `act rotate --value-stdin` does; without a value the provider generates one.
            if !typed.is_empty() {
                request.params.insert("value_from_stdin".into(), "true".into());
                request.secret_input = Some(typed.to_string());
            }
            Ok(vec![Effect::Plan(request)])
        }
        FormKind::Scale { request, limits, .. } => {
            let typed = value(form, "count").trim();
            let count: u32 = typed.parse().map_err(|_| FormError::NotACount(typed.to_string()))?;
            limits.check(count).map_err(|e| FormError::OutOfLimits(e.to_string()))?;
            if limits.current == Some(count) {
                return Err(FormError::Unchanged(count));
            }
            let mut request = request.clone();
            request.params.insert("count".into(), count.to_string());
            Ok(vec![Effect::Plan(request)])
        }
        FormKind::StartIncident => {
            let title = value(form, "title").trim().to_string();
            let severity = value(form, "severity").to_string();
            let environment = Some(value(form, "environment").to_string()).filter(|e| e != NO_ENVIRONMENT);
            Ok(vec![Effect::StartIncident { title, severity, environment }])
        }
    }
}

/// The Incident screen's list of closed incidents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentHistory {
    pub incidents: Vec<Incident>,
    pub selected: usize,
    /// False until the store answered.
    pub loaded: bool,
}

impl IncidentHistory {
    pub fn selected(&self) -> Option<&Incident> {
        self.incidents.get(self.selected)
    }
}

/// `h` on the Incident screen: show or hide the closed incidents (asking the store for them).
pub(super) fn toggle_history(state: &mut AppState) -> Vec<Effect> {
    if state.incident_history.take().is_some() {
        return Vec::new();
    }
    state.incident_history = Some(IncidentHistory::default());
    vec![Effect::LoadIncidents]
}

/// `e` (or enter) in the closed-incident list: ask where to write the chosen postmortem.
pub(super) fn export_prompt(state: &mut AppState) {
    let Some(incident) = state.incident_history.as_ref().and_then(|h| h.selected()) else {
        state.last_message = Some(("no closed incident to export".into(), Level::Unknown));
        return;
    };
    let id = incident.id;
    state.popup = Some(Popup::Note {
        target: NoteTarget::ExportIncident(id),
        prompt: format!("Write the postmortem of INC {id} (Markdown, as `skydeck incident export {id}`) to:"),
        value: format!("skydeck-incident-{id}-postmortem.md"),
    });
}

/// Keys of the closed-incident list while it is shown (`h` and `e` are the Incident screen's
/// bindings): up/down choose, enter exports the chosen one's postmortem, esc closes it.
pub(super) fn history_key(state: &mut AppState, key: KeyEvent) -> Option<Vec<Effect>> {
    if state.screen != Screen::Incident || key.modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    let history = state.incident_history.as_mut()?;
    let n = history.incidents.len();
    match (key.code, state.keymap.command(&key)) {
        (KeyCode::Esc, _) => state.incident_history = None,
        (_, Some(Command::Up)) => history.selected = history.selected.saturating_sub(1),
        (_, Some(Command::Down)) => history.selected = (history.selected + 1).min(n.saturating_sub(1)),
        (KeyCode::Enter, _) => export_prompt(state),
        _ => return None,
    }
    Some(Vec::new())
}

/// The stored incidents arrived: keep the closed ones, newest first.
pub(super) fn history_loaded(state: &mut AppState, incidents: Vec<Incident>) {
    if let Some(history) = &mut state.incident_history {
        history.incidents = incidents.into_iter().filter(|i| i.closed_at.is_some()).collect();
        history.selected = history.selected.min(history.incidents.len().saturating_sub(1));
        history.loaded = true;
    }
}

/// The path was confirmed: write the postmortem of that incident.
pub(super) fn export(state: &mut AppState, id: i64, path: String) -> Vec<Effect> {
    let incident = state
        .incident_history
        .as_ref()
        .and_then(|h| h.incidents.iter().find(|i| i.id == id))
        .or(state.incident.as_ref().filter(|i| i.id == id));
    let Some(incident) = incident else {
        state.last_message = Some((format!("INC {id} is not loaded; nothing written"), Level::Warn));
        return Vec::new();
    };
    state.last_message = Some((format!("writing the postmortem of INC {id} to {path}…"), Level::Unknown));
    vec![Effect::ExportIncident { id, path, markdown: incident.to_markdown() }]
}
