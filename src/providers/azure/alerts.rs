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
//!
//! `silence --for 2h` is an alert processing rule (`AlertProcessingRules_CreateOrUpdate`, API
//! 2021-08-08) that removes all action groups from the alert's rule on its target resource for a
//! one-off window, in the target's resource group: notifications stop, the alert still fires and
//! shows. Verified by reading the rule back; silencing again updates the same rule (its name is
//! derived from the alert rule and the target). The list of those rules tells which alerts are
//! silenced until when.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::Api;
use super::{AzureCall, Shared, failed};
use crate::actions::{ActionError, Plan, PlannedCall};
use crate::model::{Alert, AlertKind, AlertRule, AlertSeverity, AlertState, Snapshot, Timestamp};
use crate::providers::ProviderError;

pub const ALERTS_API: &str = "2019-05-05-preview";
pub const PROCESSING_RULES_API: &str = "2021-08-08";
pub const METRIC_ALERTS_API: &str = "2018-03-01";
/// skydeck's processing rules are named so, and only those are read back as silences.
pub const SILENCE_RULE_PREFIX: &str = "skydeck-silence-";

/// What a silence needs that skydeck's `Alert` does not carry.
#[derive(Debug, Clone, Default)]
pub struct AlertMeta {
    /// The alert rule: an ARM id for metric and log search alert rules, else whatever the alert
    /// says (a portal URL for classic log alerts).
    pub rule: String,
    pub target_resource: String,
}

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
    #[serde(default)]
    pub alert_rule: Option<String>,
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
    let encoded = crate::text::url_component(id);
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
    let meta = AlertMeta {
        rule: e.alert_rule.clone().unwrap_or_default(),
        target_resource: e.target_resource.clone().unwrap_or_default(),
    };
    let can_silence = !meta.target_resource.is_empty() && resource_group_of(&meta.target_resource).is_some();
    s.meta().alerts.insert(a.id.clone(), meta);
    Some(Alert {
        id: a.id.clone(),
        provider: crate::providers::azure::PROVIDER,
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
        can_silence,
        silenced_until: None,
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

/// `/subscriptions/S/resourceGroups/G` of a resource id (ARM ids are case-insensitive).
pub fn resource_group_of(id: &str) -> Option<String> {
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [subs, sub, rgs, rg, ..]
            if subs.eq_ignore_ascii_case("subscriptions") && rgs.eq_ignore_ascii_case("resourcegroups") =>
        {
            Some(format!("/subscriptions/{sub}/resourceGroups/{rg}"))
        }
        _ => None,
    }
}

/// The processing rule's name for an alert rule on a target: stable (FNV-1a of both,
/// lowercased as ARM compares them), so silencing again updates the same rule.
pub fn silence_rule_name(rule: &str, target: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule.to_ascii_lowercase().bytes().chain([0]).chain(target.to_ascii_lowercase().bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{SILENCE_RULE_PREFIX}{hash:016x}")
}

/// The condition that picks the alert's rule: by id when the alert names an ARM rule, else by
/// the alert's name (which Azure Monitor takes from the rule).
fn rule_condition(rule: &str, alert_name: &str) -> serde_json::Value {
    if rule.starts_with("/subscriptions/") {
        json!({ "field": "AlertRuleId", "operator": "Equals", "values": [rule] })
    } else {
        json!({ "field": "AlertRuleName", "operator": "Equals", "values": [alert_name] })
    }
}

/// ARM's schedule times: local time in `timeZone` without an offset.
fn schedule_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The processing rule's body for a window of `from`..`until` (UTC).
pub fn silence_body(
    rule: &str,
    alert_name: &str,
    target: &str,
    from: Timestamp,
    until: Timestamp,
    note: &str,
) -> serde_json::Value {
    json!({
        "location": "Global",
        "properties": {
            "scopes": [target],
            "conditions": [rule_condition(rule, alert_name)],
            "schedule": { "effectiveFrom": schedule_time(from), "effectiveUntil": schedule_time(until), "timeZone": "UTC" },
            "actions": [{ "actionType": "RemoveAllActionGroups" }],
            "description": note,
            "enabled": true,
        }
    })
}

/// `silence`: one processing rule for the alert's rule on its target resource.
pub fn plan_silence(s: &Shared, plan: &mut Plan, snapshot: &Snapshot) -> Result<(), ActionError> {
    let id = plan.request.target.clone();
    let alert = snapshot.alerts.iter().find(|a| a.id == id).ok_or_else(|| ActionError::NotFound(id.clone()))?;
    let duration = crate::actions::limits::silence_for(&plan.request)?;
    let meta = s.meta().alerts.get(&id).cloned().unwrap_or_default();
    let Some(group) = resource_group_of(&meta.target_resource) else {
        return Err(ActionError::NotApplicable {
            verb: plan.request.verb,
            what: alert.name.clone(),
            why: "Azure Monitor names no target resource group to keep the processing rule in".into(),
        });
    };
    let rule_name = silence_rule_name(&meta.rule, &meta.target_resource);
    let url = s.arm_url(
        &format!("{group}/providers/Microsoft.AlertsManagement/actionRules/{rule_name}"),
        PROCESSING_RULES_API,
    );
    let minutes = duration.num_minutes();
    let reason = plan.request.reason.clone().filter(|r| !r.trim().is_empty());
    let note = match &reason {
        Some(r) => format!("skydeck: silence for {}: {r}", crate::model::human_duration(duration)),
        None => format!("skydeck: silence for {}", crate::model::human_duration(duration)),
    };
    plan.summary = format!(
        "silence the notifications of the {} alert '{}' on {} for {} (an alert processing rule that removes its action groups until then); the alert still fires and shows here",
        alert.severity.label(),
        alert.name,
        if alert.resource.is_empty() { "its resource" } else { &alert.resource },
        crate::model::human_duration(duration),
    );
    let sample =
        silence_body(&meta.rule, &alert.name, &meta.target_resource, plan_time(), plan_time() + duration, &note);
    plan.calls.push(PlannedCall {
        description: format!("create or update the processing rule {rule_name} in {}", last_segment_of_group(&group)),
        call: format!("PUT {url} {sample}"),
    });
    plan.verification = format!("GET {rule_name}: enabled, removes all action groups, until the end of the window");
    plan.set_payload(AzureCall::Silence {
        url,
        rule_name,
        rule: meta.rule,
        alert_name: alert.name.clone(),
        target: meta.target_resource,
        minutes,
        note,
    });
    Ok(())
}

/// When the plan is drawn: the window starts when it is executed, so this only shows its shape.
fn plan_time() -> Timestamp {
    chrono::Utc::now()
}

fn last_segment_of_group(group: &str) -> &str {
    group.rsplit('/').next().unwrap_or(group)
}

/// The rule as Azure keeps it, the fields verify reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProcessingRule {
    pub name: String,
    pub properties: RuleProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleProperties {
    pub scopes: Vec<String>,
    pub conditions: Vec<RuleCondition>,
    pub schedule: Option<RuleSchedule>,
    pub actions: Vec<RuleAction>,
    pub enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleCondition {
    pub field: String,
    pub values: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleSchedule {
    pub effective_from: Option<String>,
    pub effective_until: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleAction {
    pub action_type: String,
}

impl ProcessingRule {
    fn removes_notifications(&self) -> bool {
        self.properties.enabled && self.properties.actions.iter().any(|a| a.action_type == "RemoveAllActionGroups")
    }

    /// The window's end, for skydeck's rules (UTC); `None` for a schedule in another time zone.
    pub fn until(&self) -> Option<Timestamp> {
        let schedule = self.properties.schedule.as_ref()?;
        if !schedule.time_zone.as_deref().is_some_and(|z| z.eq_ignore_ascii_case("utc")) {
            return None;
        }
        let raw = schedule.effective_until.as_deref()?;
        chrono::NaiveDateTime::parse_from_str(raw.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc())
    }
}

pub async fn execute_silence(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let AzureCall::Silence { url, rule, alert_name, target, minutes, note, .. } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::Failed("the plan lost its processing rule; plan again".into()));
    };
    let from = chrono::Utc::now();
    let until = from + chrono::Duration::minutes(*minutes);
    let body = silence_body(rule, alert_name, target, from, until, note);
    let r = s.client.send(Api::Arm, Method::PUT, url, Some(&body)).await.map_err(failed)?;
    if !r.status.is_success() {
        return Err(ActionError::Failed(format!(
            "the alert was not silenced: {}",
            s.client.error_for(Api::Arm, &Method::PUT, url, &r)
        )));
    }
    s.meta().done.insert(plan.request.target.clone(), schedule_time(until));
    Ok(format!(
        "Azure Monitor took the processing rule: '{}' is silent until {} UTC",
        plan.target_name,
        until.format("%Y-%m-%d %H:%M")
    ))
}

pub async fn verify_silence(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let AzureCall::Silence { url, rule_name, .. } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::VerifyFailed("the plan lost its processing rule".into()));
    };
    let wanted = s.meta().done.get(&plan.request.target).cloned();
    let got: ProcessingRule =
        s.client.get(Api::Arm, url).await.map_err(|e| ActionError::VerifyFailed(format!("{rule_name}: {e}")))?;
    let until = got.properties.schedule.as_ref().and_then(|x| x.effective_until.clone());
    if !got.removes_notifications() {
        return Err(ActionError::VerifyFailed(format!(
            "{rule_name} is there but does not remove the action groups (enabled: {})",
            got.properties.enabled
        )));
    }
    if wanted.is_some() && until != wanted {
        return Err(ActionError::VerifyFailed(format!(
            "{rule_name} ends at {}, not {}",
            until.as_deref().unwrap_or("no time"),
            wanted.as_deref().unwrap_or_default()
        )));
    }
    Ok(format!(
        "{rule_name} removes the action groups of '{}' until {} UTC",
        plan.target_name,
        until.unwrap_or_default()
    ))
}

/// skydeck's processing rules of a subscription whose window has not ended: (scope, rule
/// condition values, until).
async fn silences(s: &Shared, sub: &str) -> Result<Vec<ProcessingRule>, ProviderError> {
    let url = s.arm_url(
        &format!("/subscriptions/{sub}/providers/Microsoft.AlertsManagement/actionRules"),
        PROCESSING_RULES_API,
    );
    let rules: Vec<ProcessingRule> = s.client.list(Api::Arm, &url).await?;
    let now = chrono::Utc::now();
    Ok(rules
        .into_iter()
        .filter(|r| r.name.starts_with(SILENCE_RULE_PREFIX) && r.removes_notifications())
        .filter(|r| r.until().is_some_and(|u| u > now))
        .collect())
}

/// Marks the alerts one of `rules` silences (its scope is the alert's target, its condition the
/// alert's rule or name).
pub fn mark_silenced(s: &Shared, alerts: &mut [Alert], rules: &[ProcessingRule]) {
    let meta = s.meta();
    for a in alerts.iter_mut() {
        let Some(m) = meta.alerts.get(&a.id) else { continue };
        let name = silence_rule_name(&m.rule, &m.target_resource);
        a.silenced_until = rules.iter().filter(|r| r.name == name).filter_map(ProcessingRule::until).max();
    }
}

/// A metric alert rule (`MetricAlerts_ListBySubscription`), the fields skydeck reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MetricAlertRule {
    pub id: String,
    pub name: Option<String>,
    pub tags: Option<std::collections::HashMap<String, String>>,
    pub properties: MetricAlertProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MetricAlertProperties {
    pub enabled: bool,
    pub scopes: Vec<String>,
    pub actions: Vec<serde_json::Value>,
}

/// One metric alert rule as skydeck's: enabled, and whether it has an action group to tell.
pub fn rule_of(s: &Shared, r: &MetricAlertRule) -> AlertRule {
    let name = r.name.clone().unwrap_or_else(|| super::last_segment(&r.id));
    let mut environment = s.environment(&name, r.tags.as_ref());
    if environment == "unassigned"
        && let Some(scope) = r.properties.scopes.first()
    {
        environment = s.environment(&super::last_segment(scope), None);
    }
    AlertRule {
        id: r.id.clone(),
        provider: crate::providers::azure::PROVIDER,
        source: "Azure Monitor".into(),
        name,
        environment,
        enabled: r.properties.enabled,
        notifies: !r.properties.actions.is_empty(),
        link: Some(format!("https://portal.azure.com/#@/resource{}/overview", r.id)),
    }
}

/// The metric alert rules of one subscription.
pub async fn fetch_rules(s: &Shared, sub: &str) -> Result<Vec<AlertRule>, ProviderError> {
    let url = s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.Insights/metricAlerts"), METRIC_ALERTS_API);
    let rules: Vec<MetricAlertRule> = s.client.list(Api::Arm, &url).await?;
    Ok(rules.iter().map(|r| rule_of(s, r)).collect())
}

/// The fired alerts of one subscription.
pub async fn fetch(s: &Shared, sub: &str) -> Result<Snapshot, ProviderError> {
    let url = format!(
        "{}&monitorCondition=Fired",
        s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.AlertsManagement/alerts"), ALERTS_API)
    );
    let list: Vec<AlertPayload> = s.client.list(Api::Arm, &url).await?;
    let mut alerts: Vec<Alert> = list.iter().filter_map(|a| alert_of(s, a)).collect();
    // Which are silenced: read only when there is something to mark; a note when it fails.
    let mut notes = Vec::new();
    if !alerts.is_empty() {
        match silences(s, sub).await {
            Ok(rules) => mark_silenced(s, &mut alerts, &rules),
            Err(e) => notes.push(format!("alert processing rules ({sub}) unreadable, silences not shown: {e}")),
        }
    }
    let source_note = (!notes.is_empty()).then(|| notes.join(" · "));
    Ok(Snapshot { alerts, source_note, ..Snapshot::default() })
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
