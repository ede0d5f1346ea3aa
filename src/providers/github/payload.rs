//! The parts of GitHub's REST payloads skydeck reads (API version 2022-11-28). Every field not
//! guaranteed by GitHub's schema is optional, so a sparse payload never fails a whole poll.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RunPayload {
    pub id: u64,
    pub name: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: String,
    pub path: Option<String>,
    pub event: String,
    pub display_title: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub workflow_id: u64,
    pub html_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub run_started_at: Option<DateTime<Utc>>,
    pub run_attempt: Option<u32>,
    pub actor: Option<User>,
    pub triggering_actor: Option<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StepPayload {
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub number: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobPayload {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub steps: Vec<StepPayload>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reviewer {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub reviewer: Option<serde_json::Value>,
}

impl Reviewer {
    /// A user's login or a team's `org/slug`-ish name.
    pub fn label(&self) -> Option<String> {
        let r = self.reviewer.as_ref()?;
        r.get("login")
            .or_else(|| r.get("slug"))
            .or_else(|| r.get("name"))
            .and_then(|v| v.as_str())
            .map(|s| if self.kind.as_deref() == Some("Team") { format!("team {s}") } else { s.to_string() })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProtectionRule {
    #[serde(rename = "type")]
    pub kind: String,
    pub wait_timer: Option<u32>,
    pub prevent_self_review: Option<bool>,
    #[serde(default)]
    pub reviewers: Vec<Reviewer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentPayload {
    pub name: String,
    #[serde(default)]
    pub protection_rules: Vec<ProtectionRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentsPage {
    #[serde(default)]
    pub environments: Vec<EnvironmentPayload>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentPayload {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub environment: String,
    pub description: Option<String>,
    pub creator: Option<User>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeploymentStatusPayload {
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub log_url: Option<String>,
    pub target_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvironmentRef {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PendingDeployment {
    pub environment: EnvironmentRef,
    #[serde(default)]
    pub wait_timer: u32,
    pub wait_timer_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub current_user_can_approve: bool,
    #[serde(default)]
    pub reviewers: Vec<Reviewer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateResource {
    pub limit: u64,
    pub remaining: u64,
    pub reset: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateResources {
    pub core: RateResource,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitPayload {
    pub resources: RateResources,
}
