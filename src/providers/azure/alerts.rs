//! Azure Monitor's fired alerts (Alerts Management, `Alerts_GetAll` with
//! `monitorCondition=Fired`), every page, as [`Alert`]s.
//!
//! Severity: Sev0 critical, Sev1 error, Sev2 warning, Sev3 and Sev4 (informational, verbose)
//! info. `alertState` New is firing, Acknowledged acknowledged (by whom the list does not say:
//! `lastModifiedUserName` is whoever changed the alert last, often "System"), Closed is left out.
//!
//! `ack` on a New alert goes through the pipeline: `POST {alert}/changestate?newState=Acknowledged`
//! (`Alerts_ChangeState`, the reason as its `comments`), verified by reading the alert again
//! (`Alerts_GetById`) until it says Acknowledged.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::Api;
use super::{AzureCall, Shared, failed};
use crate::actions::{ActionError, Plan, PlannedCall};
use crate::model::{Alert, AlertKind, AlertSeverity, AlertState, Provider as Cloud, Snapshot, Timestamp};
use crate::providers::ProviderError;

pub const ALERTS_API: &str = "2019-05-05-preview";

#[derive(Debug, Deserialize)]
pub struct AlertPayload {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: Option<Properties>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Properties {
    #[serde(default)]
    pub essentials: Essentials,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Essentials {
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub alert_state: Option<String>,
    #[serde(default)]
    pub monitor_condition: Option<String>,
    #[serde(default)]
    pub target_resource: Option<String>,
    #[serde(default)]
    pub target_resource_name: Option<String>,
    #[serde(default)]
    pub start_date_time: Option<Timestamp>,
    #[serde(default)]
    pub last_modified_user_name: Option<String>,
}

/// Sev0..Sev4 on skydeck's scale.
pub fn severity(sev: Option<&str>) -> AlertSeverity {
    match sev.map(str::to_ascii_lowercase).as_deref() {
        Some("sev0") => AlertSeverity::Critical,
        Some("sev1") => AlertSeverity::Error,
        Some("sev2") => AlertSeverity::Warning,
        Some("sev3" | "sev4") => AlertSeverity::Info,
        _ => AlertSeverity::Warning,
    }
}

/// The alert's page in the Azure portal.
pub fn portal_link(portal: &str, id: &str) -> String {
    let mut encoded = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{portal}/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId~/%22{encoded}%22")
}

/// One fired alert as skydeck's, `None` when closed or resolved.
pub fn alert_of(s: &Shared, a: &AlertPayload) -> Option<Alert> {
    let none = Essentials::default();
    let e = a.properties.as_ref().map_or(&none, |p| &p.essentials);
    if e.monitor_condition.as_deref().is_some_and(|c| !c.eq_ignore_ascii_case("fired")) {
        return None;
    }
    let state = match e.alert_state.as_deref() {
        Some(st) if st.eq_ignore_ascii_case("closed") => return None,
        Some(st) if st.eq_ignore_ascii_case("acknowledged") => AlertState::Acknowledged,
        _ => AlertState::Firing,
    };
    let resource = e
        .target_resource_name
        .clone()
        .or_else(|| e.target_resource.as_deref().map(super::last_segment))
        .unwrap_or_default();
    let name = a.name.clone().unwrap_or_else(|| super::last_segment(&a.id));
    let mut environment = s.environment(&resource, None);
    if environment == "unassigned" {
        environment = s.environment(&name, None);
    }
    Some(Alert {
        id: a.id.clone(),
        provider: Cloud::Azure,
        source: "Azure Monitor".into(),
        kind: AlertKind::Monitoring,
        name,
        severity: severity(e.severity.as_deref()),
        state,
        resource,
        environment,
        since: e.start_date_time,
        link: Some(portal_link("https://portal.azure.com", &a.id)),
        can_ack: state == AlertState::Firing,
        acked_by: None,
    })
}

/// `ack`: the one `Alerts_ChangeState` call for a New alert. An alert already acknowledged is
/// refused (nothing to change); the snapshot's copy is what the operator saw.
pub fn plan_ack(s: &Shared, plan: &mut Plan, snapshot: &Snapshot) -> Result<(), ActionError> {
    let id = plan.request.target.clone();
    let alert = snapshot.alerts.iter().find(|a| a.id == id).ok_or_else(|| ActionError::NotFound(id.clone()))?;
    if alert.state != AlertState::Firing {
        return Err(ActionError::NotApplicable {
            verb: plan.request.verb,
            what: alert.name.clone(),
            why: format!("it is {} already; nothing to acknowledge", alert.state.label()),
        });
    }
    let url = format!("{}&newState=Acknowledged", s.arm_url(&format!("{id}/changestate"), ALERTS_API));
    let comments = plan.request.reason.clone().filter(|r| !r.trim().is_empty());
    plan.summary = format!(
        "acknowledge the {} alert '{}' on {} in Azure Monitor (firing since {}): it tells the team someone is on it; notifications are not changed, and it stays fired until its condition resolves",
        alert.severity.label(),
        alert.name,
        if alert.resource.is_empty() { "its resource" } else { &alert.resource },
        alert.since.map_or_else(|| "an unknown time".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
    );
    plan.calls.push(PlannedCall {
        description: "set the alert's state to Acknowledged".into(),
        call: match &comments {
            Some(c) => format!("POST {url} {}", json!({ "comments": c })),
            None => format!("POST {url}"),
        },
    });
    plan.verification = format!("GET {}: alertState is Acknowledged", super::last_segment(&id));
    plan.set_payload(AzureCall::Ack { id, url, comments });
    Ok(())
}

pub async fn execute_ack(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let AzureCall::Ack { url, comments, .. } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::Failed("the plan lost its acknowledge call; plan again".into()));
    };
    let body = comments.as_ref().map(|c| json!({ "comments": c }));
    let r = s.client.send(Api::Arm, Method::POST, url, body.as_ref()).await.map_err(failed)?;
    if !r.status.is_success() {
        return Err(ActionError::Failed(format!(
            "the alert was not acknowledged: {}",
            s.client.error_for(Api::Arm, &Method::POST, url, &r)
        )));
    }
    Ok(format!("Azure Monitor took the acknowledgement of '{}'", plan.target_name))
}

pub async fn verify_ack(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let AzureCall::Ack { id, .. } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::VerifyFailed("the plan lost its acknowledge call".into()));
    };
    let url = s.arm_url(id, ALERTS_API);
    let alert: AlertPayload = s
        .client
        .get(Api::Arm, &url)
        .await
        .map_err(|e| ActionError::VerifyFailed(format!("{}: {e}", plan.target_name)))?;
    let e = alert.properties.map(|p| p.essentials).unwrap_or_default();
    match e.alert_state.as_deref() {
        Some(st) if st.eq_ignore_ascii_case("acknowledged") => Ok(format!(
            "'{}' is Acknowledged (last changed by {})",
            plan.target_name,
            e.last_modified_user_name.as_deref().unwrap_or("someone Azure does not name")
        )),
        other => Err(ActionError::VerifyFailed(format!(
            "'{}' is still {} after the acknowledgement",
            plan.target_name,
            other.unwrap_or("in an unknown state")
        ))),
    }
}

/// The fired alerts of one subscription.
pub async fn fetch(s: &Shared, sub: &str) -> Result<Snapshot, ProviderError> {
    let url = format!(
        "{}&monitorCondition=Fired",
        s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.AlertsManagement/alerts"), ALERTS_API)
    );
    let list: Vec<AlertPayload> = s.client.list(Api::Arm, &url).await?;
    Ok(Snapshot { alerts: list.iter().filter_map(|a| alert_of(s, a)).collect(), ..Snapshot::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sev0_to_sev4() {
        let got: Vec<AlertSeverity> =
            ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"].iter().map(|s| severity(Some(s))).collect();
        use AlertSeverity::{Critical, Error, Info, Warning};
        assert_eq!(got, [Critical, Error, Warning, Info, Info]);
        assert_eq!(severity(None), Warning);
    }

    #[test]
    fn the_portal_link_names_the_alert() {
        let link = portal_link("https://portal.azure.com", "/subscriptions/s/alerts/a b");
        assert!(link.ends_with("alertId~/%22%2Fsubscriptions%2Fs%2Falerts%2Fa%20b%22"), "{link}");
    }
}
