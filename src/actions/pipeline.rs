use std::sync::Arc;

use serde::Serialize;

use super::{ActionError, Plan};
use crate::providers::Provider;
use crate::store::{AuditEntry, AuditPhase, Store};

/// The result of one action run through the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub plan: Plan,
    pub result: Result<String, String>,
}

/// Runs confirmed plans in the fixed order, writing the audit trail around them.
#[derive(Clone)]
pub struct Pipeline {
    pub read_only: bool,
    pub user: String,
    store: Arc<Store>,
}

impl Pipeline {
    pub fn new(store: Arc<Store>, read_only: bool, user: impl Into<String>) -> Self {
        Pipeline { read_only, user: user.into(), store }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Refuses before anything is planned or sent when skydeck runs read-only.
    pub fn gate(&self, verb: super::Verb) -> Result<(), ActionError> {
        if self.read_only { Err(ActionError::ReadOnly(verb)) } else { Ok(()) }
    }

    /// Audit "started" (durable) -> execute -> verify -> audit "finished"/"failed".
    /// The caller has already confirmed the plan.
    pub async fn run(&self, provider: &dyn Provider, plan: Plan) -> Outcome {
        let result = self.run_inner(provider, &plan).await;
        Outcome { plan, result: result.map_err(|e| e.to_string()) }
    }

    async fn run_inner(&self, provider: &dyn Provider, plan: &Plan) -> Result<String, ActionError> {
        self.gate(plan.request.verb)?;
        let action_id = self
            .store
            .append_audit(&self.entry(plan, AuditPhase::Started, plan.summary.clone()))
            .map_err(|e| ActionError::Audit(e.to_string()))?;
        tracing::info!(verb = %plan.request.verb, target = %plan.request.target, "action started");
        let executed = provider.execute(plan).await;
        let verified = match executed {
            Ok(done) => provider.verify(plan).await.map(|v| format!("{done}; verified: {v}")),
            Err(e) => Err(e),
        };
        let (phase, detail) = match &verified {
            Ok(detail) => (AuditPhase::Finished, detail.clone()),
            Err(e) => (AuditPhase::Failed, e.to_string()),
        };
        let mut entry = self.entry(plan, phase, detail);
        entry.action_id = Some(action_id);
        if let Err(e) = self.store.append_audit(&entry) {
            // The action happened; losing the closing entry must not hide that from the user.
            tracing::error!("could not write audit entry: {e}");
            return verified.map(|d| format!("{d} (warning: audit 'finished' entry not written: {e})"));
        }
        tracing::info!(verb = %plan.request.verb, ?phase, "action ended");
        // While an incident is open, every action lands on its timeline (CLI and TUI alike).
        if let Ok(Some(incident)) = self.store.open_incident_now() {
            let outcome = match &verified {
                Ok(d) => format!("done: {d}"),
                Err(e) => format!("FAILED: {e}"),
            };
            let text = format!("{} {} ({}) — {outcome}", plan.request.verb, plan.target_name, plan.environment);
            let entry = crate::incident::Entry {
                at: chrono::Utc::now(),
                kind: crate::incident::EntryKind::Action,
                who: self.user.clone(),
                text,
            };
            if let Err(e) = self.store.add_timeline(incident.id, &entry) {
                tracing::warn!("incident timeline: {e}");
            }
        }
        verified
    }

    fn entry(&self, plan: &Plan, phase: AuditPhase, detail: String) -> AuditEntry {
        AuditEntry {
            seq: 0,
            action_id: None,
            at: chrono::Utc::now(),
            user: self.user.clone(),
            verb: plan.request.verb.to_string(),
            target: plan.request.target.clone(),
            target_name: plan.target_name.clone(),
            environment: plan.environment.clone(),
            source: plan.source.clone(),
            phase,
            reason: plan.request.reason.clone(),
            detail,
        }
    }
}
