//! The demo's teammate, on call with the operator: what they do reaches the TUI as the team
//! store's messages do (`TeamEvent`s), so the demo shows a team's screen without a
//! `PostgreSQL` server. Nothing is written to the store: the demo's team is made up.

use std::sync::Arc;

use chrono::Duration;

use super::Sandbox;
use super::estate::TEAMMATE;
use crate::model::Timestamp;
use crate::store::{AuditEntry, AuditPhase, RunbookTick, TeamEvent, TimelineEntry};

/// The teammate's laptop, as `user@host` shows it.
pub const HOST: &str = "dana-laptop";
/// How long after the start the teammate ticks a checklist item.
pub const TICKS_AFTER: Duration = Duration::minutes(1);
/// How long after an incident opens the teammate writes on its timeline.
pub const JOINS_INCIDENT_AFTER: Duration = Duration::seconds(30);
const ORIGIN: &str = "dana-laptop/demo";

/// The teammate of one demo.
pub struct Teammate {
    sandbox: Arc<Sandbox>,
    start: Timestamp,
    /// The runbook and the manual item the teammate ticks (the first runbook's first item
    /// without a check: automatic items need no one).
    tick: Option<(String, String)>,
}

impl Teammate {
    pub fn new(sandbox: Arc<Sandbox>, start: Timestamp, runbook: Option<&crate::runbook::Runbook>) -> Teammate {
        let tick =
            runbook.and_then(|b| b.items.iter().find(|i| i.check.is_none()).map(|i| (b.name.clone(), i.key.clone())));
        Teammate { sandbox, start, tick }
    }

    /// The team status bar of the demo: always online, nothing to send.
    pub fn status() -> crate::team::TeamStatus {
        crate::team::TeamStatus { database: "demo".into(), online: true, error: None, pending: 0 }
    }
}

impl crate::team::SimulatedTeammate for Teammate {
    /// Everything the teammate has done by `now`, with the incident open since
    /// `incident_opened` (if one is): the same arguments give the same events, each with a
    /// `seq` of its own, so a caller sends each once.
    fn events(&self, now: Timestamp, incident_opened: Option<Timestamp>) -> Vec<TeamEvent> {
        let mut out = Vec::new();
        let ticked_at = self.start + TICKS_AFTER;
        if let Some((runbook, item)) = &self.tick
            && now >= ticked_at
        {
            let tick = RunbookTick {
                runbook: runbook.clone(),
                day: ticked_at.format("%Y-%m-%d").to_string(),
                item: item.clone(),
                done: true,
                note: Some("Grafana and the Azure workbook: nothing the checks miss".into()),
                who: TEAMMATE.into(),
                at: ticked_at,
            };
            out.push(event(1, crate::store::team::RUNBOOK, ticked_at, &tick));
        }
        if let Some((alert, at)) = self.sandbox.teammate_ack() {
            let entry = AuditEntry {
                seq: 3,
                action_id: Some(2),
                at,
                user: TEAMMATE.into(),
                verb: "ack".into(),
                target: alert.id.clone(),
                target_name: alert.name.clone(),
                environment: alert.environment.clone(),
                source: "demo".into(),
                phase: AuditPhase::Finished,
                reason: None,
                detail: format!("'{}' is Acknowledged ({TEAMMATE})", alert.name),
            };
            out.push(event(3, crate::store::team::AUDIT, at, &entry));
        }
        if let Some(opened) = incident_opened {
            let at = opened + JOINS_INCIDENT_AFTER;
            if now >= at {
                let entry = TimelineEntry {
                    incident: 1,
                    title: String::new(),
                    severity: String::new(),
                    kind: "note".into(),
                    who: TEAMMATE.into(),
                    text: "joined: reading inference-api's logs for the 5xx; shout before any rollback".into(),
                    at,
                };
                // One note per incident: its opening time tells them apart.
                out.push(event(1_000 + opened.timestamp(), crate::store::team::TIMELINE, at, &entry));
            }
        }
        out
    }
}

fn event(seq: i64, kind: &str, at: Timestamp, payload: &impl serde::Serialize) -> TeamEvent {
    TeamEvent {
        id: seq,
        origin: ORIGIN.into(),
        seq,
        host: HOST.into(),
        kind: kind.into(),
        at,
        who: format!("{TEAMMATE}@{HOST}"),
        payload: serde_json::to_value(payload).unwrap_or(serde_json::Value::Null),
    }
}
