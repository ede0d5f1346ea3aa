//! Cloud SQL (Admin API v1): instances, their backup configuration and backup runs, the
//! point-in-time recovery window; clone to a point in time and on-demand backups.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Deserialize;

use super::client::{Api, GcpClient};
use super::{
    Enum, I64, SQL_ACTIVATION_POLICY, SQL_AVAILABILITY, SQL_BACKUP_RUN_STATUS, SQL_BACKUP_RUN_TYPE, SQL_INSTANCE_STATE,
    SQL_INSTANCE_TYPE,
};
use crate::model::{Level, Timestamp};
use crate::providers::ProviderError;

/// Newest backup runs read per instance (one page; only the newest matter).
const BACKUP_RUNS: usize = 20;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RetentionSettings {
    pub retained_backups: Option<i64>,
    pub retention_unit: Enum,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackupConfiguration {
    pub enabled: bool,
    pub start_time: String,
    pub location: Option<String>,
    pub point_in_time_recovery_enabled: Option<bool>,
    pub binary_log_enabled: Option<bool>,
    pub transaction_log_retention_days: Option<i64>,
    pub backup_retention_settings: Option<RetentionSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    pub tier: String,
    pub edition: String,
    pub availability_type: Enum,
    pub activation_policy: Enum,
    pub backup_configuration: Option<BackupConfiguration>,
    pub data_disk_size_gb: Option<I64>,
    pub data_disk_type: String,
    pub user_labels: BTreeMap<String, String>,
    pub deletion_protection_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Instance {
    pub name: String,
    pub project: String,
    pub region: String,
    pub state: Enum,
    pub database_version: String,
    pub database_installed_version: String,
    pub gce_zone: String,
    pub secondary_gce_zone: String,
    pub instance_type: Enum,
    pub master_instance_name: Option<String>,
    pub replica_names: Vec<String>,
    pub connection_name: String,
    pub settings: Settings,
}

impl Instance {
    pub fn is_replica(&self) -> bool {
        self.master_instance_name.as_deref().is_some_and(|m| !m.is_empty())
            || self.instance_type.name(SQL_INSTANCE_TYPE) == "READ_REPLICA_INSTANCE"
    }
    /// The primary's instance name: `masterInstanceName` is written `project:instance`.
    pub fn primary(&self) -> Option<&str> {
        let m = self.master_instance_name.as_deref().filter(|m| !m.is_empty())?;
        Some(m.rsplit(':').next().unwrap_or(m))
    }
    pub fn backup_config(&self) -> BackupConfiguration {
        self.settings.backup_configuration.clone().unwrap_or_default()
    }
    /// `PostgreSQL` and SQL Server: `pointInTimeRecoveryEnabled`; `MySQL`: binary logging.
    pub fn pitr(&self) -> bool {
        let b = self.backup_config();
        b.point_in_time_recovery_enabled.unwrap_or(false) || b.binary_log_enabled.unwrap_or(false)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackupRunError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackupRun {
    pub id: Option<I64>,
    pub status: Enum,
    #[serde(rename = "type")]
    pub kind: Enum,
    pub enqueued_time: Option<Timestamp>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub error: Option<BackupRunError>,
}

impl BackupRun {
    pub fn status(&self) -> String {
        self.status.name(SQL_BACKUP_RUN_STATUS)
    }
    pub fn at(&self) -> Option<Timestamp> {
        self.end_time.or(self.start_time).or(self.enqueued_time)
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct RecoveryWindow {
    pub earliest_recovery_time: Option<Timestamp>,
    pub latest_recovery_time: Option<Timestamp>,
}

/// One instance with what was read about its backups.
pub struct InstanceData {
    pub instance: Instance,
    pub runs: Vec<BackupRun>,
    pub window: Option<RecoveryWindow>,
}

pub async fn fetch(client: &GcpClient, project: &str) -> Result<Vec<InstanceData>, ProviderError> {
    let instances: Vec<Instance> = client
        .list(Api::Sql, &format!("/v1/projects/{project}/instances"), &[("maxResults", "500")], "items", 2000)
        .await?;
    let details = join_all(instances.iter().map(|i| async move {
        if i.is_replica() {
            return Ok((Vec::new(), None));
        }
        let base = format!("/v1/projects/{project}/instances/{}", i.name);
        let runs_url =
            client.url_with(Api::Sql, &format!("{base}/backupRuns"), &[("maxResults", &BACKUP_RUNS.to_string())])?;
        let runs = async {
            let mut page: serde_json::Value = client.get(Api::Sql, &runs_url).await?;
            let items = page.get_mut("items").map(serde_json::Value::take).unwrap_or_default();
            if items.is_null() {
                return Ok(Vec::new());
            }
            serde_json::from_value::<Vec<BackupRun>>(items)
                .map_err(|e| ProviderError::Payload(format!("Cloud SQL Admin ({runs_url}): {e}")))
        };
        let window = async {
            if !i.pitr() {
                return Ok(None);
            }
            let url = client.url(Api::Sql, &format!("{base}/getLatestRecoveryTime"));
            client.get::<RecoveryWindow>(Api::Sql, &url).await.map(Some)
        };
        let (runs, window) = tokio::join!(runs, window);
        let window = window.unwrap_or_else(|e: ProviderError| {
            tracing::warn!("{}: recovery window: {e}", i.name);
            None
        });
        Ok::<_, ProviderError>((runs?, window))
    }))
    .await;
    let mut out = Vec::new();
    for (instance, d) in instances.into_iter().zip(details) {
        let (mut runs, window) = d?;
        runs.sort_by_key(|r| std::cmp::Reverse(r.at()));
        out.push(InstanceData { instance, runs, window });
    }
    Ok(out)
}

pub struct MappedInstance {
    pub status: String,
    pub level: Level,
    pub details: Vec<(String, String)>,
}

pub fn map_instance(i: &Instance, all: &[InstanceData]) -> MappedInstance {
    let state = i.state.name(SQL_INSTANCE_STATE);
    let policy = i.settings.activation_policy.name(SQL_ACTIVATION_POLICY);
    let level = match state.as_str() {
        "RUNNABLE" if policy == "NEVER" => Level::Warn,
        "RUNNABLE" => Level::Ok,
        "SUSPENDED" | "FAILED" => Level::Crit,
        "MAINTENANCE" | "PENDING_CREATE" | "PENDING_DELETE" | "REPAIRING" | "ONLINE_MAINTENANCE" => Level::Warn,
        _ => Level::Unknown,
    };
    let mut status = state.to_ascii_lowercase();
    if policy == "NEVER" {
        status.push_str(", stopped");
    }
    let mut details = Vec::new();
    let version = if i.database_installed_version.is_empty() || i.database_installed_version == i.database_version {
        i.database_version.clone()
    } else {
        format!("{} ({})", i.database_version, i.database_installed_version)
    };
    details.push(("version".to_string(), version));
    let tier = if i.settings.edition.is_empty() {
        i.settings.tier.clone()
    } else {
        format!("{}, {}", i.settings.tier, i.settings.edition.to_ascii_lowercase())
    };
    details.push(("tier".into(), tier));
    let ha = i.settings.availability_type.name(SQL_AVAILABILITY);
    let zones = if i.secondary_gce_zone.is_empty() {
        i.gce_zone.clone()
    } else {
        format!("{} + {}", i.gce_zone, i.secondary_gce_zone)
    };
    details.push((
        "high availability".into(),
        match ha.as_str() {
            "REGIONAL" => format!("on (regional, {zones})"),
            _ => format!("off (zonal, {zones})"),
        },
    ));
    let replicas: Vec<String> = all
        .iter()
        .filter(|d| d.instance.primary() == Some(i.name.as_str()))
        .map(|d| format!("{} ({})", d.instance.name, d.instance.region))
        .chain(i.replica_names.iter().filter(|n| !all.iter().any(|d| &d.instance.name == *n)).cloned())
        .collect();
    if let Some(primary) = i.master_instance_name.as_deref().filter(|m| !m.is_empty()) {
        details.push(("replica of".into(), primary.to_string()));
    } else {
        details.push(("replicas".into(), if replicas.is_empty() { "none".into() } else { replicas.join(", ") }));
    }
    let b = i.backup_config();
    if !i.is_replica() {
        let keep = b
            .backup_retention_settings
            .as_ref()
            .and_then(|r| r.retained_backups)
            .map(|n| format!(", keep {n}"))
            .unwrap_or_default();
        details.push((
            "backups".into(),
            if b.enabled {
                format!("automatic, daily at {} UTC{keep}", b.start_time)
            } else {
                format!("automatic backups off{keep}")
            },
        ));
        details.push((
            "point-in-time recovery".into(),
            if i.pitr() {
                format!("on, logs kept {} days", b.transaction_log_retention_days.unwrap_or(7))
            } else {
                "off".into()
            },
        ));
    }
    if let Some(size) = i.settings.data_disk_size_gb.as_ref().and_then(I64::get) {
        details.push(("disk".into(), format!("{size} GB {}", i.settings.data_disk_type)));
    }
    if !i.connection_name.is_empty() {
        details.push(("connection".into(), i.connection_name.clone()));
    }
    MappedInstance { status, level, details }
}

/// Backup policy numbers of one instance: (retention days, last backup at, last status, geo).
pub struct BackupFacts {
    pub retention_days: u32,
    pub last_backup_at: Option<Timestamp>,
    pub last_status: String,
    pub geo_redundant: bool,
}

/// Retention: Cloud SQL keeps `retainedBackups` automated backups (unit COUNT), one a day, so
/// that count is the days covered; without it, `transactionLogRetentionDays` (the PITR window).
/// Last backup: the newest SUCCESSFUL run (automated or on demand); its status is the newest
/// run's. Geo-redundant: backups kept in a multi-region (`location` "us", "eu", "asia") or a
/// replica in another region.
pub fn backup_facts(d: &InstanceData, all: &[InstanceData]) -> BackupFacts {
    let i = &d.instance;
    let b = i.backup_config();
    let retention_days = b
        .backup_retention_settings
        .as_ref()
        .and_then(|r| r.retained_backups)
        .or(b.transaction_log_retention_days)
        .unwrap_or(0)
        .clamp(0, i64::from(u32::MAX)) as u32;
    let last_ok = d.runs.iter().find(|r| r.status() == "SUCCESSFUL");
    let last_status = if b.enabled {
        match d.runs.first() {
            None => "none".to_string(),
            Some(r) => match r.status().as_str() {
                "SUCCESSFUL" => "succeeded".to_string(),
                other => {
                    let mut s = other.to_ascii_lowercase().replace('_', " ");
                    if let Some(e) = r.error.as_ref().filter(|e| !e.message.is_empty()) {
                        s.push_str(&format!(": {}", e.message));
                    }
                    s
                }
            },
        }
    } else {
        "automatic backups off".to_string()
    };
    let multi_region = b.location.as_deref().is_some_and(|l| matches!(l, "us" | "eu" | "asia"));
    let cross_region_replica =
        all.iter().any(|r| r.instance.primary() == Some(i.name.as_str()) && r.instance.region != i.region);
    BackupFacts {
        retention_days,
        last_backup_at: last_ok.and_then(|r| r.end_time.or(r.start_time)),
        last_status,
        geo_redundant: multi_region || cross_region_replica,
    }
}

/// Newest run type label, for the verification message ("`ON_DEMAND`").
pub fn run_kind(r: &BackupRun) -> String {
    r.kind.name(SQL_BACKUP_RUN_TYPE)
}

/// A Cloud SQL instance id: starts with a letter; lower-case letters, digits and hyphens.
pub fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        assert!(valid_instance_name("orders-db-restored-202602081000"));
        for bad in ["", "1db", "Orders", "db_1", "db-", &"a".repeat(81)] {
            assert!(!valid_instance_name(bad), "{bad}");
        }
    }
}
