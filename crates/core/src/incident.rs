//! Incident mode: a timeline that records by itself what happens while an incident is open
//! (alert changes, deploys, approvals, actions) plus the responder's notes, the first-response
//! checklist against the 15-minute target, and a postmortem skeleton.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::model::{Timestamp, human_duration};

/// Target for the first response (domain §7).
pub const FIRST_RESPONSE: Duration = Duration::minutes(15);

/// The first-response checklist: assess impact, tell the people concerned, mitigate.
pub const FIRST_STEPS: [(&str, &str); 3] =
    [("impact", "impact assessed"), ("told", "people concerned told"), ("mitigation", "mitigation under way")];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Opened,
    Alert,
    Cleared,
    Deploy,
    Approval,
    Action,
    Step,
    Note,
    Closed,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Opened => "opened",
            EntryKind::Alert => "alert",
            EntryKind::Cleared => "cleared",
            EntryKind::Deploy => "deploy",
            EntryKind::Approval => "approval",
            EntryKind::Action => "action",
            EntryKind::Step => "step",
            EntryKind::Note => "note",
            EntryKind::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> EntryKind {
        match s {
            "opened" => EntryKind::Opened,
            "alert" => EntryKind::Alert,
            "cleared" => EntryKind::Cleared,
            "deploy" => EntryKind::Deploy,
            "approval" => EntryKind::Approval,
            "action" => EntryKind::Action,
            "step" => EntryKind::Step,
            "closed" => EntryKind::Closed,
            _ => EntryKind::Note,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Timestamp,
    pub kind: EntryKind,
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub environment: Option<String>,
    pub opened_at: Timestamp,
    pub opened_by: String,
    pub closed_at: Option<Timestamp>,
    pub resolution: Option<String>,
    pub timeline: Vec<Entry>,
}

impl Incident {
    /// When each first step was ticked (from the timeline).
    pub fn step_done(&self, key: &str) -> Option<&Entry> {
        self.timeline.iter().find(|e| e.kind == EntryKind::Step && e.text.starts_with(&format!("{key}:")))
    }

    /// The first response is complete when every first step is ticked.
    pub fn first_response_at(&self) -> Option<Timestamp> {
        FIRST_STEPS.iter().map(|(k, _)| self.step_done(k).map(|e| e.at)).collect::<Option<Vec<_>>>()?.into_iter().max()
    }

    /// "12m left", "3m over", or "done in 9m".
    pub fn timer(&self, now: Timestamp) -> (String, bool) {
        if let Some(done) = self.first_response_at() {
            let took = done - self.opened_at;
            return (format!("first response done in {}", human_duration(took)), took <= FIRST_RESPONSE);
        }
        let elapsed = now - self.opened_at;
        if elapsed <= FIRST_RESPONSE {
            let left = FIRST_RESPONSE - elapsed;
            (format!("first response: {}:{:02} left", left.num_minutes(), left.num_seconds() % 60), true)
        } else {
            (format!("first response {} over the 15-minute target", human_duration(elapsed - FIRST_RESPONSE)), false)
        }
    }

    /// Short form for the tab line on every screen: `INC 3 sev2 ⏱ 9:00`.
    pub fn banner(&self, now: Timestamp) -> (String, bool) {
        let base = format!("INC {} {}", self.id, self.severity);
        if self.first_response_at().is_some() {
            return (base, true);
        }
        let elapsed = now - self.opened_at;
        if elapsed <= FIRST_RESPONSE {
            let left = FIRST_RESPONSE - elapsed;
            (format!("{base} ⏱ {}:{:02}", left.num_minutes(), left.num_seconds() % 60), true)
        } else {
            (format!("{base} ⏱ +{}", human_duration(elapsed - FIRST_RESPONSE)), false)
        }
    }

    /// The postmortem skeleton with the whole timeline.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Incident {}: {}\n\n| | |\n|---|---|\n| severity | {} |\n| environment | {} |\n| opened | {} UTC by {} |\n| closed | {} |\n| duration | {} |\n| first response | {} |\n",
            self.id,
            self.title,
            self.severity,
            self.environment.as_deref().unwrap_or("—"),
            self.opened_at.format("%Y-%m-%d %H:%M:%S"),
            self.opened_by,
            self.closed_at.map_or_else(|| "still open".into(), |c| format!("{} UTC", c.format("%Y-%m-%d %H:%M:%S"))),
            self.closed_at.map_or_else(|| "—".into(), |c| human_duration(c - self.opened_at)),
            self.first_response_at().map_or_else(
                || "not completed".into(),
                |t| format!("{} after opening", human_duration(t - self.opened_at))
            ),
        );
        out.push_str(&format!(
            "\n## Summary\n\n{}\n",
            self.resolution.as_deref().unwrap_or("_What happened, in two sentences._")
        ));
        out.push_str("\n## Impact\n\n_Who was affected, how, for how long._\n");
        out.push_str("\n## Timeline (UTC)\n\n");
        for e in &self.timeline {
            out.push_str(&format!("- {} **{}** {} — {}\n", e.at.format("%H:%M:%S"), e.kind.as_str(), e.text, e.who));
        }
        out.push_str("\n## Root cause\n\n_Why it happened (5 whys)._\n\n## What went well\n\n-\n\n## What went badly\n\n-\n\n## Prevention\n\n| action | owner | due |\n|---|---|---|\n| | | |\n");
        out
    }
}

/// The timeline lines an incident opens with: one per alert already firing (or without data)
/// in its environment (every alert when it has none), worst first, so the responder sees what
/// was going on when it was declared.
pub fn firing_at_open(alerts: &[crate::model::Alert], environment: Option<&str>, at: Timestamp) -> Vec<Entry> {
    let mut open: Vec<&crate::model::Alert> = alerts
        .iter()
        .filter(|a| a.kind == crate::model::AlertKind::Monitoring)
        .filter(|a| environment.is_none_or(|e| a.environment == e))
        .collect();
    open.sort_by_key(|a| (std::cmp::Reverse(a.severity), a.since));
    open.into_iter()
        .map(|a| Entry {
            at,
            kind: EntryKind::Alert,
            who: "skydeck".into(),
            text: format!(
                "already {} at open: {} {} {} ({}, {}){}",
                a.state.label(),
                a.source,
                a.severity.label(),
                a.name,
                a.resource,
                a.environment,
                a.since.map(|t| format!(", since {}", human_duration(at - t))).unwrap_or_default()
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn incident() -> Incident {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        Incident {
            id: 7,
            title: "checkout 5xx".into(),
            severity: "sev2".into(),
            environment: Some("production".into()),
            opened_at: t0,
            opened_by: "maria".into(),
            closed_at: None,
            resolution: None,
            timeline: vec![Entry { at: t0, kind: EntryKind::Opened, who: "maria".into(), text: "opened".into() }],
        }
    }

    #[test]
    fn the_timer_counts_down_then_over_then_done() {
        let mut i = incident();
        let t0 = i.opened_at;
        assert_eq!(i.timer(t0 + Duration::seconds(30)), ("first response: 14:30 left".into(), true));
        assert!(!i.timer(t0 + Duration::minutes(20)).1);
        for (k, _) in FIRST_STEPS {
            i.timeline.push(Entry {
                at: t0 + Duration::minutes(9),
                kind: EntryKind::Step,
                who: "maria".into(),
                text: format!("{k}: done"),
            });
        }
        assert_eq!(i.timer(t0 + Duration::hours(1)), ("first response done in 9m".into(), true));
    }

    #[test]
    fn an_incident_opens_with_the_alerts_already_firing_in_its_environment() {
        use crate::model::{Alert, AlertKind, AlertSeverity, AlertState};
        let at = chrono::DateTime::from_timestamp(3_600, 0).unwrap();
        let alert = |id: &str, env: &str, severity, kind| Alert {
            id: id.into(),
            provider: crate::model::TEST_CLOUD,
            source: "CloudWatch".into(),
            kind,
            name: id.into(),
            severity,
            state: AlertState::Firing,
            resource: "api".into(),
            environment: env.into(),
            since: Some(at - Duration::minutes(12)),
            link: None,
            can_ack: false,
            can_silence: false,
            silenced_until: None,
            acked_by: None,
        };
        let alerts = [
            alert("warn", "production", AlertSeverity::Warning, AlertKind::Monitoring),
            alert("crit", "production", AlertSeverity::Critical, AlertKind::Monitoring),
            alert("other", "staging", AlertSeverity::Critical, AlertKind::Monitoring),
            alert("ghsa", "", AlertSeverity::Critical, AlertKind::Security),
        ];
        let lines = firing_at_open(&alerts, Some("production"), at);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].kind, EntryKind::Alert);
        assert_eq!(lines[0].text, "already firing at open: CloudWatch critical crit (api, production), since 12m");
        assert_eq!(firing_at_open(&alerts, None, at).len(), 3);
    }
}
