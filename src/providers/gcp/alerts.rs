//! Cloud Monitoring alerts (v3 `projects.alerts.list`): the open violations of the project's
//! alerting policies, what the console lists under "Incidents". The API has no call to
//! acknowledge one, so `can_ack` is false.
//!
//! `silence --for 2h` is a snooze (`projects.snoozes.create`) of the alert's policy from now
//! until the end of the window: no notifications and no new incidents for it meanwhile. The
//! project's snoozes still in force (`projects.snoozes.list`) mark the alerts they cover.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::client::{Api, GcpClient};
use crate::model::{AlertSeverity, Timestamp};
use crate::providers::ProviderError;

/// At most this many open alerts are read per poll (the API's page is 50 by default).
const MAX_ALERTS: usize = 500;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MonitoredResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub user_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicySnapshot {
    pub name: String,
    pub display_name: String,
    pub severity: String,
    pub user_labels: BTreeMap<String, String>,
}

/// One `Alert` resource, the fields skydeck shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GcpAlert {
    pub name: String,
    pub state: String,
    pub open_time: Option<Timestamp>,
    pub resource: MonitoredResource,
    pub metadata: Metadata,
    pub policy: PolicySnapshot,
}

impl GcpAlert {
    /// The policy's severity; a policy without one is shown as a warning (Google's own
    /// console shows "No severity" and sorts it below warnings).
    pub fn severity(&self) -> AlertSeverity {
        match self.policy.severity.as_str() {
            "CRITICAL" => AlertSeverity::Critical,
            "ERROR" => AlertSeverity::Error,
            _ => AlertSeverity::Warning,
        }
    }

    /// What it is about: the Cloud Run service, the Cloud SQL database or the labelled
    /// resource, else the monitored resource type.
    pub fn resource_name(&self) -> String {
        let labels = &self.resource.labels;
        ["service_name", "database_id", "instance_id", "bucket_name", "job_name"]
            .iter()
            .find_map(|k| labels.get(*k))
            .map_or_else(|| self.resource.kind.clone(), |v| v.rsplit(':').next().unwrap_or(v).to_string())
    }

    /// The policy's user labels with the resource's on top: where `environment` is found.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut all = self.policy.user_labels.clone();
        all.extend(self.metadata.user_labels.clone());
        all
    }

    /// The alert's page in the console.
    pub fn link(&self, project: &str) -> String {
        let id = self.name.rsplit('/').next().unwrap_or(&self.name);
        format!("https://console.cloud.google.com/monitoring/alerting/alerts/{id}?project={project}")
    }
}

/// A snooze as Cloud Monitoring keeps it (v3 `Snooze`), the fields skydeck reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Snooze {
    pub name: String,
    pub display_name: String,
    pub criteria: SnoozeCriteria,
    pub interval: Interval,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SnoozeCriteria {
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Interval {
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
}

/// The body of `projects.snoozes.create` for `policy`, from `from` to `until`.
pub fn snooze_body(policy: &str, display_name: &str, from: Timestamp, until: Timestamp) -> serde_json::Value {
    let at = |t: Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "displayName": display_name,
        "criteria": { "policies": [policy] },
        "interval": { "startTime": at(from), "endTime": at(until) },
    })
}

/// Per policy, the latest end of the snoozes in force at `now`.
pub async fn snoozed_policies(
    client: &GcpClient,
    project: &str,
    now: Timestamp,
) -> Result<BTreeMap<String, Timestamp>, ProviderError> {
    let filter = format!("interval.end_time > \"{}\"", now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let snoozes: Vec<Snooze> = client
        .list(
            Api::Monitoring,
            &format!("/v3/projects/{project}/snoozes"),
            &[("filter", &filter)],
            "snoozes",
            MAX_ALERTS,
        )
        .await?;
    let mut until: BTreeMap<String, Timestamp> = BTreeMap::new();
    for s in &snoozes {
        let (Some(start), Some(end)) = (s.interval.start_time, s.interval.end_time) else { continue };
        if start > now || end <= now {
            continue;
        }
        for p in &s.criteria.policies {
            let e = until.entry(p.clone()).or_insert(end);
            *e = (*e).max(end);
        }
    }
    Ok(until)
}

/// An alerting policy (v3 `AlertPolicy`), the fields skydeck reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AlertPolicy {
    pub name: String,
    pub display_name: String,
    /// Unset on read says nothing; skydeck takes it as enabled rather than raise a false alarm.
    pub enabled: Option<bool>,
    pub notification_channels: Vec<String>,
    pub user_labels: BTreeMap<String, String>,
}

impl AlertPolicy {
    /// The policy's page in the console.
    pub fn link(&self, project: &str) -> String {
        let id = self.name.rsplit('/').next().unwrap_or(&self.name);
        format!("https://console.cloud.google.com/monitoring/alerting/policies/{id}?project={project}")
    }
}

/// Every alerting policy of `project`.
pub async fn policies(client: &GcpClient, project: &str) -> Result<Vec<AlertPolicy>, ProviderError> {
    client
        .list(
            Api::Monitoring,
            &format!("/v3/projects/{project}/alertPolicies"),
            &[("pageSize", "500")],
            "alertPolicies",
            MAX_ALERTS,
        )
        .await
}

/// The open alerts of `project`, newest first as the API sorts them.
pub async fn fetch(client: &GcpClient, project: &str) -> Result<Vec<GcpAlert>, ProviderError> {
    let alerts: Vec<GcpAlert> = client
        .list(
            Api::Monitoring,
            &format!("/v3/projects/{project}/alerts"),
            &[("filter", "state=\"OPEN\"")],
            "alerts",
            MAX_ALERTS,
        )
        .await?;
    // The filter asks for open ones; a server that ignores it must not list closed ones.
    Ok(alerts.into_iter().filter(|a| a.state == "OPEN").collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(json: serde_json::Value) -> GcpAlert {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn severity_resource_and_labels_come_from_the_policy_and_the_resource() {
        let a = alert(serde_json::json!({
            "name": "projects/p/alerts/0.abc",
            "state": "OPEN",
            "resource": {"type": "cloudsql_database", "labels": {"database_id": "p:orders-db"}},
            "metadata": {"userLabels": {"environment": "staging"}},
            "policy": {"displayName": "DB CPU", "severity": "CRITICAL", "userLabels": {"environment": "production", "team": "shop"}}
        }));
        assert_eq!(a.severity(), AlertSeverity::Critical);
        assert_eq!(a.resource_name(), "orders-db");
        assert_eq!(a.labels().get("environment").map(String::as_str), Some("staging"));
        assert_eq!(a.labels().get("team").map(String::as_str), Some("shop"));
        assert_eq!(a.link("p"), "https://console.cloud.google.com/monitoring/alerting/alerts/0.abc?project=p");
        let bare = alert(serde_json::json!({"name": "x", "resource": {"type": "global"}}));
        assert_eq!(bare.severity(), AlertSeverity::Warning);
        assert_eq!(bare.resource_name(), "global");
    }
}
