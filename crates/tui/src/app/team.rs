//! What teammates' entries do to the TUI: the team store (`skydeck_core::team`) sends
//! [`TeamMsg`]s; `update` applies them here.

use crate::team::TeamMsg;

use super::{AppState, Effect};

/// `update`'s arm for [`Msg::Team`](super::Msg::Team): the status bar, teammates' ticks on the runbook shown,
/// their timeline entries on the open incident, and a line for each of their actions.
pub fn apply(state: &mut AppState, msg: TeamMsg) -> Vec<Effect> {
    match msg {
        TeamMsg::Status(status) => {
            if state.team.as_ref() != Some(&status) {
                state.team = Some(status);
                state.dirty = true;
            }
        }
        TeamMsg::Events(events) => {
            if let Some(book) = state.runbooks.get(state.runbook_index) {
                let day = state.now.format("%Y-%m-%d").to_string();
                crate::store::merge_ticks(&mut state.runbook_progress, &book.name, &day, &events);
            }
            if let Some(incident) = &mut state.incident {
                crate::store::merge_timeline(incident, &events);
            }
            let actions: Vec<String> = events
                .iter()
                .filter(|e| e.kind == "audit")
                .filter_map(|e| {
                    serde_json::from_value::<crate::store::AuditEntry>(e.payload.clone()).ok().map(|a| (e, a))
                })
                .filter(|(_, a)| a.phase != crate::store::AuditPhase::Started)
                .map(|(e, a)| {
                    let phase = format!("{:?}", a.phase).to_lowercase();
                    crate::text::for_terminal(&format!("{}: {} {} {phase}", e.who, a.verb, a.target_name)).into_owned()
                })
                .collect();
            if let Some(last) = actions.last() {
                let more = if actions.len() > 1 { format!(" (+{} more)", actions.len() - 1) } else { String::new() };
                state.last_message = Some((format!("team: {last}{more}"), crate::model::Level::Ok));
            }
            state.dirty = true;
        }
    }
    Vec::new()
}
