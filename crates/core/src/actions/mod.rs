//! The one road every mutation takes: request -> plan -> confirm -> audit "started" -> execute
//! -> verify -> audit "finished"/"failed". Providers only supply plan/execute/verify; the
//! ordering, the read-only gate and the audit trail live here so no provider can skip them.

mod destination;
pub mod limits;
mod params;
mod pipeline;

pub use destination::{ENVIRONMENT_PARAMS, Touch, environment_tier, is_environment_param};
pub use params::{WORKFLOW_INPUTS, accepted_params_text, check_params};
pub use pipeline::Core;
pub use pipeline::{
    Action, ActionFailure, Done, Operation, Outcome, Pipeline, QUIT_GRACE, ReadOnlyRefusal, Refused, Running, Stop,
    Subject, Verdict,
};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Snapshot, Tier};

/// Every verb `skydeck act` knows. Providers accept the ones that make sense for a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Approve,
    Reject,
    Rerun,
    Cancel,
    Dispatch,
    Promote,
    Rollback,
    Restore,
    Snapshot,
    Rotate,
    Scale,
    /// Acknowledge a firing alert (the cloud's own alerting says who is on it).
    Ack,
    /// Stop an alert's notifications for a set time (`--for 2h`); it ends by itself.
    Silence,
}

impl Verb {
    pub const ALL: [Verb; 13] = [
        Verb::Approve,
        Verb::Reject,
        Verb::Rerun,
        Verb::Cancel,
        Verb::Dispatch,
        Verb::Promote,
        Verb::Rollback,
        Verb::Restore,
        Verb::Snapshot,
        Verb::Rotate,
        Verb::Scale,
        Verb::Ack,
        Verb::Silence,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Approve => "approve",
            Verb::Reject => "reject",
            Verb::Rerun => "rerun",
            Verb::Cancel => "cancel",
            Verb::Dispatch => "dispatch",
            Verb::Promote => "promote",
            Verb::Rollback => "rollback",
            Verb::Restore => "restore",
            Verb::Snapshot => "snapshot",
            Verb::Rotate => "rotate",
            Verb::Scale => "scale",
            Verb::Ack => "ack",
            Verb::Silence => "silence",
        }
    }

    /// What it does, for the help, the palette and `[keys]` messages.
    pub fn description(self) -> &'static str {
        match self {
            Verb::Approve => "approve the pending deployment",
            Verb::Reject => "reject the pending deployment",
            Verb::Rerun => "re-run the run (Kubernetes: rollout restart)",
            Verb::Cancel => "cancel the workflow run",
            Verb::Dispatch => "dispatch the workflow again",
            Verb::Promote => "promote (swap slot / shift traffic / new task definition)",
            Verb::Rollback => "roll back to the previous version",
            Verb::Restore => "restore the database to a point in time (new server)",
            Verb::Snapshot => "take a backup now",
            Verb::Rotate => "rotate the secret",
            Verb::Scale => "scale the service",
            Verb::Ack => "acknowledge the alert",
            Verb::Silence => "silence the alert's notifications for a while",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verb `skydeck act` does not know.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("unknown verb '{0}' (one of: {all})", all = Verb::ALL.map(Verb::as_str).join(", "))]
pub struct UnknownVerb(pub String);

impl FromStr for Verb {
    type Err = UnknownVerb;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Verb::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownVerb(s.to_string()))
    }
}

/// One input an action takes before it can be planned (a `workflow_dispatch` input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub default: Option<String>,
    /// For `choice` inputs; empty otherwise.
    pub options: Vec<String>,
    /// `string`, `choice`, `boolean`, `number`, `environment`.
    pub kind: String,
}

/// Fills defaults into `input.NAME` params and lists required inputs still missing.
pub fn apply_input_defaults(request: &mut ActionRequest, specs: &[InputSpec]) -> Result<(), ActionError> {
    let mut missing = Vec::new();
    for spec in specs {
        let key = format!("input.{}", spec.name);
        if request.params.contains_key(&key) {
            continue;
        }
        match &spec.default {
            Some(d) => {
                request.params.insert(key, d.clone());
            }
            None if spec.required => missing.push(format!("--param input.{}=… ({})", spec.name, spec.description)),
            None => {}
        }
    }
    if missing.is_empty() { Ok(()) } else { Err(ActionError::MissingInput(missing.join(", "))) }
}

/// What somebody asked for, from a key or from `skydeck act`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub verb: Verb,
    pub target: String,
    pub reason: Option<String>,
    /// Verb-specific inputs: `count` for scale, `time` for restore, `to` for promote/rollback...
    pub params: BTreeMap<String, String>,
    /// A secret value the action stores (`act rotate ID --value-stdin`). Never serialized,
    /// never shown by `Debug`, never put into a plan's text or the audit log.
    #[serde(skip)]
    pub secret_input: Option<String>,
}

impl fmt::Debug for ActionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionRequest")
            .field("verb", &self.verb)
            .field("target", &self.target)
            .field("reason", &self.reason)
            .field("params", &self.params)
            .field("secret_input", &self.secret_input.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ActionRequest {
    pub fn new(verb: Verb, target: impl Into<String>) -> Self {
        ActionRequest { verb, target: target.into(), reason: None, params: BTreeMap::new(), secret_input: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    High,
    Critical,
}

/// One exact call the action will make, shown before anything is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCall {
    pub description: String,
    pub call: String,
}

/// The resolved action: what, on which target, in which environment, through which calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub request: ActionRequest,
    pub source: String,
    pub target_name: String,
    pub environment: String,
    pub tier: Tier,
    pub risk: Risk,
    pub summary: String,
    pub calls: Vec<PlannedCall>,
    pub verification: String,
    /// The environment the action changes when that is riskier than its target's own (a deploy
    /// dispatched from a staging run with `environment=production`). `environment` and `tier`
    /// already say it; this says why, and its name is what a production confirmation asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touches: Option<Touch>,
    /// What the confirmation calls the action when the verb's name would mislead (`restart`
    /// for `rerun` on a resource, set by [`Plan::for_target`]); `None`: the verb's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    /// The exact calls, in the planning provider's own typed form ([`Plan::set_payload`]); its
    /// `execute` and `verify` read them back ([`Plan::payload`]) instead of re-reading params.
    #[serde(skip)]
    pub payload: Payload,
}

/// A provider's own description of what a plan does: any `Debug + Serialize` type of its
/// folder (usually an enum of the calls). Compared and shown through its JSON.
pub trait PlanPayload: std::any::Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn std::any::Any;
    fn to_json(&self) -> serde_json::Value;
}

impl<T: std::any::Any + fmt::Debug + Serialize + Send + Sync> PlanPayload for T {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The slot a plan keeps its [`PlanPayload`] in (empty until the provider sets it).
#[derive(Debug, Clone, Default)]
pub struct Payload(Option<std::sync::Arc<dyn PlanPayload>>);

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_ref().map(|p| p.to_json()) == other.0.as_ref().map(|p| p.to_json())
    }
}

impl Plan {
    /// Stores what `execute` and `verify` will do, in the provider's own type.
    pub fn set_payload<T: PlanPayload>(&mut self, payload: T) {
        self.payload = Payload(Some(std::sync::Arc::new(payload)));
    }

    /// The payload the planning provider stored, as its type; `NotApplicable` for a plan another
    /// provider made (or none at all).
    pub fn payload<T: PlanPayload>(&self) -> Result<&T, ActionError> {
        self.payload.0.as_ref().and_then(|p| p.as_any().downcast_ref::<T>()).ok_or_else(|| {
            not_applicable(self.request.verb, &self.target_name, format!("this plan was not made by {}", self.source))
        })
    }
}

/// How the person must confirm: production asks for the target's name to be typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    YesNo,
    TypeName(String),
}

impl Plan {
    pub fn confirmation(&self) -> Confirmation {
        if self.tier == Tier::Prod || self.risk == Risk::Critical {
            let name = self.touches.as_ref().map(|t| t.environment.clone());
            Confirmation::TypeName(name.unwrap_or_else(|| self.target_name.clone()))
        } else {
            Confirmation::YesNo
        }
    }

    /// The action as the person confirming it should read it: "restart" for a re-run of a
    /// service, else the verb's name.
    pub fn action(&self) -> &str {
        self.action_name.as_deref().unwrap_or(self.request.verb.as_str())
    }

    /// Human-readable plan, as printed by `act --dry-run` and shown in the confirm popup.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{} {} ({}, {}, risk {:?})\n{}\n",
            self.action(),
            self.target_name,
            self.environment,
            self.source,
            self.risk,
            self.summary
        );
        if let Some(t) = &self.touches {
            out.push_str(&format!("  touches {} ({:?}): {}\n", t.environment, self.tier, t.why));
        }
        for (i, call) in self.calls.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n     {}\n", i + 1, call.description, call.call));
        }
        out.push_str(&format!("  then verify: {}\n", self.verification));
        out
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ActionError {
    #[error("read-only mode: '{0}' refused, nothing was sent")]
    ReadOnly(Verb),
    #[error("no target with id '{0}' (see `skydeck status --json` for ids)")]
    NotFound(String),
    #[error("'{verb}' does not apply to {what}: {why}")]
    NotApplicable { verb: Verb, what: String, why: String },
    #[error("missing input: {0}")]
    MissingInput(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("confirmation required: {0}")]
    NotConfirmed(String),
    #[error("{0}")]
    Failed(String),
    #[error("the action ran but verification failed: {0}")]
    VerifyFailed(String),
    #[error("audit log unavailable, action not started: {0}")]
    Audit(String),
}

/// The refusal every provider gives for a verb that does not fit its target.
pub fn not_applicable(verb: Verb, what: &str, why: impl Into<String>) -> ActionError {
    ActionError::NotApplicable { verb, what: what.to_string(), why: why.into() }
}

impl Plan {
    /// The start of every provider's plan: the target found in the provider's snapshot, with its
    /// name, environment and tier, and the request pointing at the target's canonical id.
    pub fn for_target(
        request: &ActionRequest,
        source: &str,
        snapshot: &Snapshot,
    ) -> Result<(Plan, Target), ActionError> {
        let target =
            find_target(snapshot, &request.target).ok_or_else(|| ActionError::NotFound(request.target.clone()))?;
        let mut plan = Plan {
            request: request.clone(),
            source: source.to_string(),
            target_name: target.name.clone(),
            environment: target.environment.clone(),
            tier: tier_of(snapshot, &target.environment),
            risk: Risk::Low,
            summary: String::new(),
            calls: Vec::new(),
            verification: String::new(),
            touches: None,
            // `rerun` on a service or workload replaces its tasks or pods: say so.
            action_name: (request.verb == Verb::Rerun && target.kind == TargetKind::Resource)
                .then(|| "restart".to_string()),
            payload: Payload::default(),
        };
        plan.request.target = target.id.clone();
        plan.touch_destinations(snapshot, &target, &|env| tier_of_known(snapshot, env));
        Ok((plan, target))
    }
}

/// Checks a confirmation against the plan. `given` is the typed name (or "y" for yes/no).
pub fn check_confirmation(plan: &Plan, given: Option<&str>, assume_yes: bool) -> Result<(), ActionError> {
    match plan.confirmation() {
        Confirmation::YesNo if assume_yes || matches!(given, Some("y" | "yes")) => Ok(()),
        Confirmation::YesNo => {
            Err(ActionError::NotConfirmed(format!("{} on {} needs --yes", plan.request.verb, plan.target_name)))
        }
        Confirmation::TypeName(name) => match given {
            Some(typed) if typed == name => Ok(()),
            Some(typed) => {
                Err(ActionError::NotConfirmed(format!("typed '{typed}', but the target is '{name}'; nothing was sent")))
            }
            None => Err(ActionError::NotConfirmed(format!(
                "{} is a {:?} target: pass --confirm {name}",
                plan.target_name, plan.tier
            ))),
        },
    }
}

/// What an action can point at, found in a snapshot by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
    pub name: String,
    pub environment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Run,
    Approval,
    Deployment,
    Resource,
    Backup,
    Secret,
    Alert,
}

/// Finds a target by exact id; a GitHub run can also be named by its bare number.
pub fn find_target(snapshot: &Snapshot, id: &str) -> Option<Target> {
    let t = |kind, id: &str, name: &str, env: &str| Target {
        kind,
        id: id.to_string(),
        name: name.to_string(),
        environment: env.to_string(),
    };
    if let Some(a) = snapshot.approvals.iter().find(|a| a.id == id) {
        return Some(t(TargetKind::Approval, &a.id, &a.environment, &a.environment));
    }
    if let Some(r) = snapshot.runs.iter().find(|r| r.id == id || r.run_id.to_string() == id) {
        let env = snapshot.approvals.iter().find(|a| a.run == r.id).map(|a| a.environment.clone()).unwrap_or_default();
        return Some(t(TargetKind::Run, &r.id, &format!("{} #{}", r.workflow, r.run_id), &env));
    }
    if let Some(d) = snapshot.deployments.iter().find(|d| d.id == id) {
        return Some(t(TargetKind::Deployment, &d.id, &d.environment, &d.environment));
    }
    if let Some(r) = snapshot.resources.iter().find(|r| r.id == id) {
        return Some(t(TargetKind::Resource, &r.id, &r.name, &r.environment));
    }
    if let Some(b) = snapshot.backups.iter().find(|b| b.id == id) {
        return Some(t(TargetKind::Backup, &b.id, &b.database, &b.environment));
    }
    if let Some(s) = snapshot.secrets.iter().find(|s| s.id == id) {
        return Some(t(TargetKind::Secret, &s.id, &s.name, &s.environment));
    }
    if let Some(a) = snapshot.alerts.iter().find(|a| a.id == id) {
        return Some(t(TargetKind::Alert, &a.id, &a.name, &a.environment));
    }
    None
}

/// The tier of an environment the snapshot knows by name (any spelling of it), else `None`.
pub fn tier_of_known(snapshot: &Snapshot, environment: &str) -> Option<Tier> {
    let canonical = crate::providers::canonical_environment(environment);
    snapshot
        .environments
        .iter()
        .find(|e| e.name == environment || crate::providers::canonical_environment(&e.name) == canonical)
        .map(|e| e.tier)
}

/// The tier of an environment by name, from the known environments or the name itself.
pub fn tier_of(snapshot: &Snapshot, environment: &str) -> Tier {
    snapshot
        .environments
        .iter()
        .find(|e| e.name == environment)
        .map_or_else(|| Tier::from_name(environment), |e| e.tier)
}

/// Who is acting, for the audit log: $USER, $LOGNAME, else what `id -un` says.
pub fn current_user() -> String {
    let from_env = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|u| !u.is_empty());
    from_env
        .or_else(|| {
            let out = std::process::Command::new("id").arg("-un").output().ok()?;
            let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
            (!name.is_empty()).then_some(name)
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_input_is_never_serialized_or_debug_printed() {
        let mut r = ActionRequest::new(Verb::Rotate, "https://v.vault.azure.net/secrets/db");
        r.secret_input = Some("hunter2-value".into());
        assert!(!serde_json::to_string(&r).unwrap().contains("hunter2"));
        let debug = format!("{r:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        let back: ActionRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.secret_input, None);
    }
}
