//! `PostgreSQL` Flexible Server: servers, their backup policy and PITR window, the list of
//! backups with their age, metrics; restore to a point in time into a new server.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::future::join_all;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::{Api, Operation};
use super::{AzureCall, Shared, failed, monitor, subscription_and_group};
use crate::actions::{ActionError, Plan, PlannedCall, Risk};
use crate::model::{Backup, Level, Resource, Role, Snapshot, Tier, Timestamp, human_duration};
use crate::providers::ProviderError;

pub const POSTGRES_API: &str = "2024-08-01";

/// Backups shown per server (newest first) in the resource's details.
const BACKUPS_SHOWN: usize = 5;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerPayload {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub sku: Option<ServerSku>,
    #[serde(default)]
    pub properties: Option<ServerProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerSku {
    pub name: Option<String>,
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerProperties {
    pub state: Option<String>,
    pub version: Option<String>,
    pub minor_version: Option<String>,
    pub fully_qualified_domain_name: Option<String>,
    pub high_availability: Option<HighAvailability>,
    pub backup: Option<BackupPolicy>,
    pub storage: Option<Storage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HighAvailability {
    pub mode: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicy {
    pub backup_retention_days: Option<u32>,
    pub geo_redundant_backup: Option<String>,
    pub earliest_restore_date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Storage {
    #[serde(rename = "storageSizeGB")]
    pub storage_size_gb: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BackupPayload {
    pub name: String,
    #[serde(default)]
    pub properties: Option<BackupProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupProperties {
    pub backup_type: Option<String>,
    pub source: Option<String>,
    pub completed_time: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ConfigurationPayload {
    properties: ConfigurationProperties,
}

#[derive(Debug, Deserialize)]
struct ConfigurationProperties {
    value: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerMeta {
    pub id: String,
    pub name: String,
    pub location: String,
    pub earliest_restore: Option<Timestamp>,
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn server_level(state: &str, ha: Option<&HighAvailability>, tier: Tier) -> Level {
    let base = match state {
        "Ready" => Level::Ok,
        "Stopped" | "Disabled" if tier == Tier::Prod => Level::Crit,
        "Dropping" => Level::Crit,
        "Stopped" | "Disabled" | "Starting" | "Stopping" | "Updating" | "Provisioning" => Level::Warn,
        _ => Level::Unknown,
    };
    let ha_level = match ha {
        Some(h) if h.mode.as_deref().is_some_and(|m| m != "Disabled") => match h.state.as_deref() {
            Some("Healthy") => Level::Ok,
            _ => Level::Warn,
        },
        _ => Level::Ok,
    };
    base.max(ha_level)
}

fn when(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Servers, backups and their metrics in one subscription.
pub async fn fetch(s: &Shared, sub: &str) -> Result<Snapshot, ProviderError> {
    let url =
        s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.DBforPostgreSQL/flexibleServers"), POSTGRES_API);
    let servers: Vec<ServerPayload> = s.client.list(Api::Arm, &url).await?;
    let now = Utc::now();
    let extra = join_all(servers.iter().map(|srv| async move {
        let backups_url = s.arm_url(&format!("{}/backups", srv.id), POSTGRES_API);
        let known = s.meta().max_connections.get(&srv.id).copied();
        let max_connections = if let Some(m) = known {
            Some(m)
        } else {
            let url = s.arm_url(&format!("{}/configurations/max_connections", srv.id), POSTGRES_API);
            match s.client.get::<ConfigurationPayload>(Api::Arm, &url).await {
                Ok(c) => {
                    let m = c.properties.value.and_then(|v| v.trim().parse::<f64>().ok());
                    if let Some(m) = m {
                        s.meta().max_connections.insert(srv.id.clone(), m);
                    }
                    m
                }
                Err(e) => {
                    tracing::debug!("max_connections of {}: {e}", srv.name);
                    None
                }
            }
        };
        let env = s.environment(&srv.name, srv.tags.as_ref());
        let (backups, metrics) = tokio::join!(
            s.client.list::<BackupPayload>(Api::Arm, &backups_url),
            monitor::postgres_metrics(s, &srv.id, &srv.name, &env, max_connections)
        );
        (env, backups, metrics)
    }))
    .await;
    let mut snap = Snapshot::default();
    for (srv, (environment, backups, metrics)) in servers.iter().zip(extra) {
        let p = srv.properties.clone().unwrap_or_default();
        let tier = s.tier(&environment);
        let policy = p.backup.clone().unwrap_or_default();
        let earliest = policy.earliest_restore_date.as_deref().and_then(parse_time);
        let mut backups: Vec<(BackupPayload, Option<Timestamp>)> = match backups {
            Ok(list) => list
                .into_iter()
                .map(|b| {
                    let at = b.properties.as_ref().and_then(|x| x.completed_time.as_deref()).and_then(parse_time);
                    (b, at)
                })
                .collect(),
            Err(e) => {
                tracing::warn!("backups of {}: {e}", srv.name);
                Vec::new()
            }
        };
        backups.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
        let last_backup_at = backups.iter().find_map(|(_, at)| *at);
        let state = p.state.clone().unwrap_or_else(|| "Unknown".into());
        let retention = policy.backup_retention_days.unwrap_or(0);
        let geo = policy.geo_redundant_backup.as_deref() == Some("Enabled");
        let version = match (&p.version, &p.minor_version) {
            (Some(v), Some(m)) => format!("{v}.{m}"),
            (Some(v), None) => v.clone(),
            _ => "unknown".into(),
        };
        let ha = match &p.high_availability {
            Some(h) if h.mode.as_deref().is_some_and(|m| m != "Disabled") => format!(
                "{}, {}",
                h.mode.clone().unwrap_or_default(),
                h.state.clone().unwrap_or_else(|| "unknown".into())
            ),
            _ => "Disabled".into(),
        };
        let mut details = vec![
            ("version".to_string(), version.clone()),
            ("HA".into(), ha),
            (
                "sku".into(),
                format!(
                    "{} ({})",
                    srv.sku.as_ref().and_then(|k| k.name.clone()).unwrap_or_default(),
                    srv.sku.as_ref().and_then(|k| k.tier.clone()).unwrap_or_default()
                ),
            ),
            (
                "storage".into(),
                p.storage.as_ref().and_then(|x| x.storage_size_gb).map(|g| format!("{g} GB")).unwrap_or_default(),
            ),
            ("backup retention".into(), format!("{retention} days")),
            ("geo-redundant".into(), policy.geo_redundant_backup.clone().unwrap_or_else(|| "unknown".into())),
            (
                "PITR window".into(),
                match earliest {
                    Some(e) => format!("{} .. now", when(e)),
                    None => "none".into(),
                },
            ),
            ("backups".into(), backups.len().to_string()),
        ];
        for (b, at) in backups.iter().take(BACKUPS_SHOWN) {
            let bp = b.properties.clone().unwrap_or_default();
            details.push((
                "backup".into(),
                format!(
                    "{} {}/{} {}",
                    b.name,
                    bp.backup_type.unwrap_or_default(),
                    bp.source.unwrap_or_default(),
                    match at {
                        Some(t) => format!("{} ({} old)", when(*t), human_duration(now - *t)),
                        None => "not completed".into(),
                    }
                ),
            ));
        }
        if let Some(fqdn) = &p.fully_qualified_domain_name {
            details.push(("host".into(), fqdn.clone()));
        }
        snap.resources.push(Resource {
            id: srv.id.clone(),
            name: srv.name.clone(),
            kind: crate::providers::azure::kind::POSTGRESQL_FLEXIBLE_SERVER.into(),
            role: Role::Database,
            provider: crate::providers::azure::PROVIDER,
            environment: environment.clone(),
            region: srv.location.clone().unwrap_or_default(),
            status: state.clone(),
            level: server_level(&state, p.high_availability.as_ref(), tier),
            current_version: Some(version),
            versions: Vec::new(),
            details,
        });
        snap.backups.push(Backup {
            id: srv.id.clone(),
            resource: srv.id.clone(),
            database: srv.name.clone(),
            provider: crate::providers::azure::PROVIDER,
            environment: environment.clone(),
            last_backup_at,
            last_status: if last_backup_at.is_some() { "succeeded".into() } else { "none".into() },
            retention_days: retention,
            required_retention_days: if tier == Tier::Prod { 35 } else { 7 },
            pitr_enabled: earliest.is_some(),
            earliest_restore: earliest,
            latest_restore: earliest.map(|_| now - Duration::minutes(5)),
            geo_redundant: geo,
        });
        snap.metrics.extend(metrics);
        s.meta().servers.insert(
            srv.id.clone(),
            ServerMeta {
                id: srv.id.clone(),
                name: srv.name.clone(),
                location: srv.location.clone().unwrap_or_default(),
                earliest_restore: earliest,
            },
        );
    }
    Ok(snap)
}

/// Server names Azure accepts: 3-63 characters, lowercase letters, digits and hyphens, not
/// starting or ending with a hyphen.
fn valid_server_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn server_url(s: &Shared, sub: &str, rg: &str, name: &str) -> String {
    s.arm_url(
        &format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"),
        POSTGRES_API,
    )
}

/// The exact body of a point-in-time restore (createMode `PointInTimeRestore`).
pub fn restore_body(location: &str, source_id: &str, at: Timestamp) -> serde_json::Value {
    json!({
        "location": location,
        "properties": {
            "createMode": "PointInTimeRestore",
            "sourceServerResourceId": source_id,
            "pointInTimeUTC": when(at),
        }
    })
}

pub fn plan_restore(s: &Shared, plan: &mut Plan, snapshot: &Snapshot) -> Result<(), ActionError> {
    let m = s
        .meta()
        .servers
        .get(&plan.request.target)
        .cloned()
        .ok_or_else(|| ActionError::NotFound(plan.request.target.clone()))?;
    let verb = plan.request.verb;
    let earliest = m.earliest_restore.ok_or_else(|| ActionError::NotApplicable {
        verb,
        what: m.name.clone(),
        why: "Azure reports no earliest restore date, so there is no point-in-time window".into(),
    })?;
    let now = Utc::now();
    let latest = snapshot
        .backups
        .iter()
        .find(|b| b.id == m.id)
        .and_then(|b| b.latest_restore)
        .unwrap_or(now - Duration::minutes(5));
    let at = match plan.request.params.get("time") {
        None => latest,
        Some(t) => parse_time(t).ok_or_else(|| {
            ActionError::InvalidInput(format!("--time '{t}' is not RFC 3339 (e.g. 2026-02-08T10:00:00Z)"))
        })?,
    };
    if at < earliest || at > now {
        return Err(ActionError::InvalidInput(format!(
            "restore time {} is outside the point-in-time window {} .. {}",
            when(at),
            when(earliest),
            when(now)
        )));
    }
    let new_name = plan.request.params.get("name").cloned().unwrap_or_else(|| {
        let suffix = format!("-restored-{}", at.format("%Y%m%d%H%M"));
        let keep = 63usize.saturating_sub(suffix.len());
        format!("{}{suffix}", &m.name[..m.name.len().min(keep)])
    });
    if !valid_server_name(&new_name) {
        return Err(ActionError::InvalidInput(format!(
            "'{new_name}' is not a server name Azure accepts (3-63 lowercase letters, digits and hyphens)"
        )));
    }
    if new_name == m.name || s.meta().servers.values().any(|x| x.name == new_name) {
        return Err(ActionError::InvalidInput(format!(
            "a server named '{new_name}' already exists; a restore always creates a new server (--name NEW)"
        )));
    }
    let (sub, rg) = subscription_and_group(&m.id)
        .ok_or_else(|| ActionError::Failed(format!("cannot read subscription and group from {}", m.id)))?;
    let url = server_url(s, &sub, &rg, &new_name);
    let body = restore_body(&m.location, &m.id, at);
    plan.risk = Risk::High;
    plan.summary = format!(
        "restore {} as it was at {} into a NEW server {new_name} (resource group {rg}, {}); {} itself is not touched. Re-point the app at {new_name} afterwards.",
        m.name,
        when(at),
        m.location,
        m.name
    );
    plan.calls.push(PlannedCall {
        description: format!("create {new_name} by point-in-time restore of {}", m.name),
        call: format!("PUT {url} {body}"),
    });
    plan.calls.push(PlannedCall {
        description: "follow the long-running operation".into(),
        call: format!(
            "GET the Azure-AsyncOperation (or Location) URL until Succeeded or Failed, at most {}s",
            s.settings.operation_timeout.as_secs()
        ),
    });
    plan.verification = format!("GET {new_name}: it exists and reports its state");
    plan.set_payload(AzureCall::Restore {
        url: url.clone(),
        body: body.clone(),
        name: new_name.clone(),
        time: when(at),
    });
    let p = &mut plan.request.params;
    p.insert("time".into(), when(at));
    p.insert("name".into(), new_name);
    p.insert("url".into(), url);
    p.insert("body".into(), body.to_string());
    Ok(())
}

pub async fn execute_restore(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let AzureCall::Restore { url, body, name, time } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::Failed("the plan lost its restore call; plan again".into()));
    };
    let r = s.client.send(Api::Arm, Method::PUT, url, Some(body)).await.map_err(failed)?;
    if !r.status.is_success() {
        return Err(ActionError::Failed(format!(
            "the restore was not started, nothing was created: {}",
            s.client.error_for(Api::Arm, &Method::PUT, url, &r)
        )));
    }
    match s.client.wait(Api::Arm, url, &r).await {
        Ok(Operation::Succeeded { waited }) => {
            Ok(format!("restored {} at {time} into {name} ({}s)", plan.target_name, waited.as_secs()))
        }
        Ok(Operation::StillRunning { waited, .. }) => Ok(format!(
            "Azure is still creating {name} from {} after {}s; it shows up on the next refresh",
            plan.target_name,
            waited.as_secs()
        )),
        Err(e) => Err(ActionError::Failed(format!(
            "Azure reports the restore into {name} failed ({e}); {} is untouched; delete {name} if it exists before retrying",
            plan.target_name
        ))),
    }
}

pub async fn verify_restore(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let AzureCall::Restore { url, name, .. } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::VerifyFailed("the plan lost its restore call".into()));
    };
    let server: ServerPayload =
        s.client.get(Api::Arm, url).await.map_err(|e| ActionError::VerifyFailed(format!("{name}: {e}")))?;
    let state = server.properties.and_then(|x| x.state).unwrap_or_else(|| "unknown".into());
    Ok(format!("{name} exists ({state})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_azure_accepts() {
        assert!(valid_server_name("pgtestsvc4-restored-202105261800"));
        assert!(!valid_server_name("Upper"));
        assert!(!valid_server_name("-x-"));
        assert!(!valid_server_name("ab"));
    }

    #[test]
    fn levels_of_servers() {
        let ha = HighAvailability { mode: Some("ZoneRedundant".into()), state: Some("Healthy".into()) };
        assert_eq!(server_level("Ready", Some(&ha), Tier::Prod), Level::Ok);
        let degraded = HighAvailability { mode: Some("ZoneRedundant".into()), state: Some("FailingOver".into()) };
        assert_eq!(server_level("Ready", Some(&degraded), Tier::Prod), Level::Warn);
        assert_eq!(server_level("Stopped", None, Tier::Prod), Level::Crit);
        assert_eq!(server_level("Stopped", None, Tier::Dev), Level::Warn);
    }

    #[test]
    fn restore_times_keep_seconds_in_utc() {
        let at = parse_time("2021-06-27T00:04:59.4078005+00:00").unwrap();
        let body = restore_body("westus", "/subscriptions/s/resourceGroups/g/providers/x/flexibleServers/a", at);
        assert_eq!(body["properties"]["pointInTimeUTC"], "2021-06-27T00:04:59Z");
    }
}
