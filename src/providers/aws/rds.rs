//! RDS: instances (status, engine, Multi-AZ, retention, the point-in-time window), automated
//! backups and manual snapshots with their age; restore to a point in time into a NEW instance,
//! and take a manual snapshot.

use std::collections::HashMap;

use aws_sdk_rds::types::{DbInstance, DbSnapshot, Tag};
use chrono::Duration;

use super::{AwsCall, AwsProvider, Fail, RdsCall, call, not_applicable, sdk_time, ts};
use crate::actions::{ActionError, Plan, Risk, Verb};
use crate::model::{Backup, Level, Resource, Role, Snapshot, Timestamp, human_duration};
use crate::providers::ProviderError;

/// Tags a restored instance carries, so anyone can tell where it came from.
pub const RESTORED_FROM_TAG: &str = "skydeck:restored-from";
pub const RESTORE_TIME_TAG: &str = "skydeck:restore-time";

/// What a restore or snapshot needs that the model does not carry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DbMeta {
    pub identifier: String,
    pub arn: String,
    pub class: Option<String>,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub multi_az: bool,
    pub cluster: Option<String>,
    pub retention_days: u32,
    pub earliest_restore: Option<Timestamp>,
    pub latest_restore: Option<Timestamp>,
    pub tags: Vec<(String, String)>,
}

fn instance_level(status: &str) -> Level {
    match status {
        "available" | "backing-up" => Level::Ok,
        "failed"
        | "storage-full"
        | "inaccessible-encryption-credentials"
        | "incompatible-restore"
        | "incompatible-parameters"
        | "incompatible-network"
        | "restore-error"
        | "stopped" => Level::Crit,
        _ => Level::Unknown,
    }
}

/// The point-in-time window: from the oldest automated backup (or the instance's creation),
/// never further back than the retention, to the latest restorable time. `None` when PITR is off.
pub(crate) fn restore_window(db: &DbInstance, snapshots: &[&DbSnapshot]) -> (Option<Timestamp>, Option<Timestamp>) {
    let retention = db.backup_retention_period().unwrap_or(0);
    let Some(latest) = db.latest_restorable_time().and_then(ts) else {
        return (None, None);
    };
    if retention <= 0 {
        return (None, None);
    }
    let oldest_automated = snapshots
        .iter()
        .filter(|s| s.snapshot_type() == Some("automated") && s.status() == Some("available"))
        .filter_map(|s| s.snapshot_create_time().and_then(ts))
        .min();
    let start = oldest_automated.or_else(|| db.instance_create_time().and_then(ts)).unwrap_or(latest);
    let earliest = start.max(latest - Duration::days(i64::from(retention))).min(latest);
    (Some(earliest), Some(latest))
}

/// Maps one instance and its snapshots into the model (the backup is `None` for an Aurora
/// member, whose backups belong to its cluster).
pub(crate) fn map_instance(
    db: &DbInstance,
    snapshots: &[&DbSnapshot],
    environment: String,
    required_retention_days: u32,
    region: &str,
    now: Timestamp,
) -> (Resource, Option<Backup>, DbMeta) {
    let identifier = db.db_instance_identifier().unwrap_or_default().to_string();
    let arn = db.db_instance_arn().unwrap_or_default().to_string();
    let status = db.db_instance_status().unwrap_or("unknown").to_string();
    let retention = db.backup_retention_period().unwrap_or(0).max(0) as u32;
    let (earliest, latest) = restore_window(db, snapshots);
    let mut sorted: Vec<&DbSnapshot> = snapshots.to_vec();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.snapshot_create_time().and_then(ts)));
    let age = |s: &DbSnapshot| {
        s.snapshot_create_time()
            .and_then(ts)
            .map_or_else(|| "age unknown".into(), |t| format!("{} old", human_duration(now - t)))
    };
    let summary = |kind: &str| {
        let of: Vec<&&DbSnapshot> = sorted.iter().filter(|s| s.snapshot_type() == Some(kind)).collect();
        match of.first() {
            Some(newest) => format!("{}, newest {}", of.len(), age(newest)),
            None => "none".to_string(),
        }
    };
    let mut details = vec![
        (
            "engine".to_string(),
            format!("{} {}", db.engine().unwrap_or_default(), db.engine_version().unwrap_or_default()),
        ),
        ("class".to_string(), db.db_instance_class().unwrap_or_default().to_string()),
        ("Multi-AZ".to_string(), db.multi_az().unwrap_or(false).to_string()),
        ("retention".to_string(), format!("{retention}d (policy {required_retention_days}d)")),
        (
            "PITR window".to_string(),
            match (earliest, latest) {
                (Some(e), Some(l)) => format!("{} .. {}", e.format("%Y-%m-%d %H:%M"), l.format("%Y-%m-%d %H:%M UTC")),
                _ => "off".to_string(),
            },
        ),
        ("automated".to_string(), summary("automated")),
        ("manual".to_string(), summary("manual")),
    ];
    if let Some(cluster) = db.db_cluster_identifier() {
        details.push(("cluster".to_string(), format!("{cluster} (backups belong to the cluster)")));
    }
    if let Some(e) = db.endpoint() {
        details.push((
            "endpoint".to_string(),
            format!("{}:{}", e.address().unwrap_or_default(), e.port().unwrap_or_default()),
        ));
    }
    for s in sorted.iter().take(5) {
        details.push((
            "snapshot".to_string(),
            format!(
                "{} ({}, {}, {})",
                s.db_snapshot_identifier().unwrap_or_default(),
                s.snapshot_type().unwrap_or("?"),
                s.status().unwrap_or("?"),
                age(s)
            ),
        ));
    }
    let resource = Resource {
        id: arn.clone(),
        name: identifier.clone(),
        kind: crate::providers::aws::kind::RDS_INSTANCE.into(),
        role: Role::Database,
        provider: crate::providers::aws::PROVIDER,
        environment: environment.clone(),
        region: region.to_string(),
        level: instance_level(&status),
        status,
        current_version: None,
        versions: Vec::new(),
        details,
    };
    let newest_available = sorted.iter().find(|s| s.status() == Some("available"));
    let newest_done = sorted.iter().find(|s| s.status() != Some("creating"));
    let last_status = match newest_done.and_then(|s| s.status()) {
        Some(s) if s != "available" => s.to_string(),
        Some(s) => s.to_string(),
        None => "none".to_string(),
    };
    let backup = db.db_cluster_identifier().is_none().then(|| Backup {
        id: arn.clone(),
        resource: arn.clone(),
        database: identifier.clone(),
        provider: crate::providers::aws::PROVIDER,
        environment,
        last_backup_at: newest_available.and_then(|s| s.snapshot_create_time()).and_then(ts),
        last_status,
        retention_days: retention,
        required_retention_days,
        pitr_enabled: retention > 0,
        earliest_restore: earliest,
        latest_restore: latest,
        geo_redundant: !db.db_instance_automated_backups_replications().is_empty(),
    });
    let meta = DbMeta {
        identifier,
        arn,
        class: db.db_instance_class().map(str::to_string),
        subnet_group: db.db_subnet_group().and_then(|g| g.db_subnet_group_name()).map(str::to_string),
        security_groups: db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .map(str::to_string)
            .collect(),
        multi_az: db.multi_az().unwrap_or(false),
        cluster: db.db_cluster_identifier().map(str::to_string),
        retention_days: retention,
        earliest_restore: earliest,
        latest_restore: latest,
        tags: db
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect(),
    };
    (resource, backup, meta)
}

/// RDS identifiers: 1-63 letters, digits and hyphens, starting with a letter, no `--`, no
/// trailing hyphen.
pub(crate) fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.contains("--")
        && !name.ends_with('-')
}

impl AwsProvider {
    fn rds_err<E>(
        &self,
        what: &str,
        e: aws_sdk_rds::error::SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: aws_sdk_rds::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.errors.map(what, &e)
    }

    #[allow(clippy::type_complexity)]
    pub(super) async fn fetch_rds(&self, now: Timestamp) -> Result<Vec<(Resource, Option<Backup>, DbMeta)>, Fail> {
        let (instances, snapshots) = tokio::join!(
            self.rds.describe_db_instances().into_paginator().items().send().try_collect(),
            self.rds.describe_db_snapshots().into_paginator().items().send().try_collect(),
        );
        let mut instances: Vec<DbInstance> = instances.map_err(|e| self.rds_err("rds:DescribeDBInstances", e))?;
        let snapshots: Vec<DbSnapshot> = match snapshots {
            Ok(s) => s,
            Err(e) => {
                // Instances without their backups still tell a lot; the finding says none found.
                tracing::warn!("{}: {}", self.name, self.rds_err("rds:DescribeDBSnapshots", e));
                Vec::new()
            }
        };
        if !self.settings.db_instances.is_empty() {
            let wanted = &self.settings.db_instances;
            let missing: Vec<&String> = wanted
                .iter()
                .filter(|w| !instances.iter().any(|i| i.db_instance_identifier() == Some(w.as_str())))
                .collect();
            if !missing.is_empty() {
                return Err(Fail::Config(ProviderError::Unavailable(format!(
                    "RDS instance {} not found in {}; fix [aws] db_instances",
                    missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", "),
                    self.region
                ))));
            }
            instances.retain(|i| i.db_instance_identifier().is_some_and(|id| wanted.iter().any(|w| w == id)));
        }
        let mut by_instance: HashMap<&str, Vec<&DbSnapshot>> = HashMap::new();
        for s in &snapshots {
            if let Some(id) = s.db_instance_identifier() {
                by_instance.entry(id).or_default().push(s);
            }
        }
        Ok(instances
            .iter()
            .map(|db| {
                let id = db.db_instance_identifier().unwrap_or_default();
                let tags: Vec<(&str, &str)> =
                    db.tag_list().iter().filter_map(|t| Some((t.key()?, t.value()?))).collect();
                let env = self.environment(&[id], &tags);
                let required = self.required_retention(&env);
                let snaps = by_instance.get(id).cloned().unwrap_or_default();
                map_instance(db, &snaps, env, required, &self.region, now)
            })
            .collect())
    }

    pub(super) fn plan_rds(
        &self,
        plan: &mut Plan,
        db: &DbMeta,
        backup: Option<&Backup>,
        snapshot: &Snapshot,
    ) -> Result<(), ActionError> {
        let verb = plan.request.verb;
        let params = plan.request.params.clone();
        let set = |plan: &mut Plan, k: &str, v: &str| {
            plan.request.params.insert(k.to_string(), v.to_string());
        };
        set(plan, "aws", "rds");
        set(plan, "source", &db.identifier);
        plan.target_name = db.identifier.clone();
        if let Some(cluster) = &db.cluster {
            return Err(not_applicable(
                verb,
                &db.identifier,
                format!("it belongs to the Aurora cluster {cluster}; its backups and restores are the cluster's"),
            ));
        }
        let now = chrono::Utc::now();
        match verb {
            Verb::Snapshot => {
                let name = params
                    .get("name")
                    .cloned()
                    .unwrap_or_else(|| format!("{}-skydeck-{}", db.identifier, now.format("%Y%m%d-%H%M%S")));
                if !valid_identifier(&name) {
                    return Err(ActionError::InvalidInput(format!(
                        "--name '{name}': 1-63 letters, digits and hyphens, starting with a letter"
                    )));
                }
                plan.risk = Risk::Low;
                plan.summary = format!("take a manual snapshot {name} of {} now", db.identifier);
                plan.calls.push(call(
                    format!("create the manual snapshot {name}"),
                    format!("rds:CreateDBSnapshot DBInstanceIdentifier={} DBSnapshotIdentifier={name}", db.identifier),
                ));
                plan.verification = format!("DescribeDBSnapshots {name}: creating or available");
                plan.set_payload(AwsCall::Rds(RdsCall::Snapshot { name: name.clone() }));
                set(plan, "mode", "snapshot");
                set(plan, "name", &name);
            }
            Verb::Restore => {
                let (Some(earliest), Some(latest)) = (
                    backup.and_then(|b| b.earliest_restore).or(db.earliest_restore),
                    backup.and_then(|b| b.latest_restore).or(db.latest_restore),
                ) else {
                    return Err(not_applicable(
                        verb,
                        &db.identifier,
                        format!(
                            "point-in-time recovery is off (backup retention {}d); restore a snapshot instead",
                            db.retention_days
                        ),
                    ));
                };
                let at = match params.get("time") {
                    None => None,
                    Some(t) => {
                        let at = chrono::DateTime::parse_from_rfc3339(t)
                            .map_err(|e| {
                                ActionError::InvalidInput(format!(
                                    "--time '{t}': {e} (use RFC 3339, e.g. 2026-02-08T10:00:00Z)"
                                ))
                            })?
                            .with_timezone(&chrono::Utc);
                        if at < earliest || at > latest {
                            return Err(ActionError::InvalidInput(format!(
                                "restore time {} is outside the point-in-time window of {}: {} .. {}",
                                at.to_rfc3339(),
                                db.identifier,
                                earliest.to_rfc3339(),
                                latest.to_rfc3339()
                            )));
                        }
                        Some(at)
                    }
                };
                let stamp = at.unwrap_or(latest);
                let name = params
                    .get("name")
                    .cloned()
                    .unwrap_or_else(|| format!("{}-restored-{}", db.identifier, stamp.format("%Y%m%d-%H%M")));
                if !valid_identifier(&name) {
                    return Err(ActionError::InvalidInput(format!(
                        "--name '{name}': 1-63 letters, digits and hyphens, starting with a letter, no '--'"
                    )));
                }
                if snapshot.resources.iter().any(|r| r.kind == "RDS instance" && r.name == name) {
                    return Err(ActionError::InvalidInput(format!(
                        "an RDS instance named {name} already exists; pick another --name"
                    )));
                }
                let when = match at {
                    Some(at) => format!("RestoreTime={}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    None => "UseLatestRestorableTime=true".to_string(),
                };
                let mut extra = Vec::new();
                if let Some(c) = &db.class {
                    extra.push(format!("DBInstanceClass={c}"));
                }
                if let Some(g) = &db.subnet_group {
                    extra.push(format!("DBSubnetGroupName={g}"));
                }
                extra.push(format!("MultiAZ={}", db.multi_az));
                if !db.security_groups.is_empty() {
                    extra.push(format!("VpcSecurityGroupIds={}", db.security_groups.join(",")));
                }
                plan.risk = Risk::High;
                plan.summary = format!(
                    "restore {} as it was at {} into a NEW instance {name}; {} itself is not touched (window {} .. {})",
                    db.identifier,
                    match at {
                        Some(at) => at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        None => format!(
                            "the latest restorable time (now {})",
                            latest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        ),
                    },
                    db.identifier,
                    earliest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    latest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
                plan.calls.push(call(
                    format!("point-in-time restore of {} into {name}", db.identifier),
                    format!(
                        "rds:RestoreDBInstanceToPointInTime SourceDBInstanceIdentifier={} TargetDBInstanceIdentifier={name} {when} {} Tags=[{RESTORED_FROM_TAG}={}, {RESTORE_TIME_TAG}=...]",
                        db.identifier,
                        extra.join(" "),
                        db.arn
                    ),
                ));
                plan.verification = format!(
                    "DescribeDBInstances {name}: exists (creating, then available in minutes), tagged as restored from {}",
                    db.identifier
                );
                // To the millisecond, as the tag and the request always had it.
                let restore_time = at.map(|at| chrono::SubsecRound::trunc_subsecs(at, 3));
                plan.set_payload(AwsCall::Rds(RdsCall::Restore { name: name.clone(), restore_time }));
                set(plan, "mode", "restore");
                set(plan, "name", &name);
                match at {
                    Some(at) => set(plan, "restore_time", &at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    None => set(plan, "restore_time", "latest"),
                }
            }
            other => {
                return Err(not_applicable(
                    other,
                    &db.identifier,
                    "an RDS instance can be restored to a point in time (into a new instance) or snapshotted",
                ));
            }
        }
        Ok(())
    }

    fn db_meta(&self, arn: &str) -> Result<DbMeta, ActionError> {
        self.meta().databases.get(arn).cloned().ok_or_else(|| ActionError::NotFound(arn.to_string()))
    }

    pub(super) async fn execute_rds(&self, plan: &Plan, call: &RdsCall) -> Result<String, ActionError> {
        let failed = |e: ProviderError| ActionError::Failed(e.to_string());
        let db = self.db_meta(&plan.request.target)?;
        match call {
            RdsCall::Snapshot { name } => {
                self.rds
                    .create_db_snapshot()
                    .db_instance_identifier(&db.identifier)
                    .db_snapshot_identifier(name)
                    .send()
                    .await
                    .map_err(|e| failed(self.rds_err("rds:CreateDBSnapshot", e)))?;
                Ok(format!("snapshot {name} of {} started", db.identifier))
            }
            RdsCall::Restore { name, restore_time } => {
                let when = match restore_time {
                    Some(at) => at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    None => "latest".to_string(),
                };
                let mut tags: Vec<Tag> = db
                    .tags
                    .iter()
                    .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with("skydeck:"))
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect();
                tags.push(Tag::builder().key(RESTORED_FROM_TAG).value(&db.arn).build());
                tags.push(Tag::builder().key(RESTORE_TIME_TAG).value(&when).build());
                let mut req = self
                    .rds
                    .restore_db_instance_to_point_in_time()
                    .source_db_instance_identifier(&db.identifier)
                    .target_db_instance_identifier(name)
                    .set_db_instance_class(db.class.clone())
                    .set_db_subnet_group_name(db.subnet_group.clone())
                    .multi_az(db.multi_az)
                    .set_vpc_security_group_ids((!db.security_groups.is_empty()).then(|| db.security_groups.clone()))
                    .set_tags(Some(tags));
                req = match restore_time {
                    None => req.use_latest_restorable_time(true),
                    Some(at) => req.restore_time(sdk_time(*at)),
                };
                let resp =
                    req.send().await.map_err(|e| failed(self.rds_err("rds:RestoreDBInstanceToPointInTime", e)))?;
                let status = resp.db_instance().and_then(|d| d.db_instance_status()).unwrap_or("creating").to_string();
                Ok(format!("restore of {} into {name} accepted ({status})", db.identifier))
            }
        }
    }

    pub(super) async fn verify_rds(&self, plan: &Plan, call: &RdsCall) -> Result<String, ActionError> {
        let db = self.db_meta(&plan.request.target)?;
        let verify_failed = |e: ProviderError| ActionError::VerifyFailed(e.to_string());
        match call {
            RdsCall::Snapshot { name } => {
                let resp = self
                    .rds
                    .describe_db_snapshots()
                    .db_snapshot_identifier(name)
                    .send()
                    .await
                    .map_err(|e| verify_failed(self.rds_err("rds:DescribeDBSnapshots", e)))?;
                let s = resp
                    .db_snapshots()
                    .first()
                    .ok_or_else(|| ActionError::VerifyFailed(format!("no snapshot {name}")))?;
                if s.db_instance_identifier() != Some(db.identifier.as_str()) {
                    return Err(ActionError::VerifyFailed(format!(
                        "snapshot {name} is of {}, not {}",
                        s.db_instance_identifier().unwrap_or("?"),
                        db.identifier
                    )));
                }
                Ok(format!("snapshot {name} is {}", s.status().unwrap_or("unknown")))
            }
            RdsCall::Restore { name, .. } => {
                let resp = self
                    .rds
                    .describe_db_instances()
                    .db_instance_identifier(name)
                    .send()
                    .await
                    .map_err(|e| verify_failed(self.rds_err("rds:DescribeDBInstances", e)))?;
                let new = resp
                    .db_instances()
                    .first()
                    .ok_or_else(|| ActionError::VerifyFailed(format!("no instance {name}")))?;
                let from = new.tag_list().iter().find(|t| t.key() == Some(RESTORED_FROM_TAG)).and_then(|t| t.value());
                if from != Some(db.arn.as_str()) {
                    return Err(ActionError::VerifyFailed(format!(
                        "{name} exists but is not tagged as restored from {}",
                        db.identifier
                    )));
                }
                Ok(format!(
                    "{name} is {} (restored from {}; available in minutes, then re-point the app)",
                    new.db_instance_status().unwrap_or("unknown"),
                    db.identifier
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 22, h, 0, 0).unwrap()
    }

    fn instance(retention: i32) -> DbInstance {
        DbInstance::builder()
            .db_instance_identifier("orders-prod")
            .db_instance_arn("arn:aws:rds:us-east-1:123456789012:db:orders-prod")
            .db_instance_status("available")
            .engine("postgres")
            .engine_version("16.4")
            .db_instance_class("db.t3.micro")
            .multi_az(true)
            .backup_retention_period(retention)
            .instance_create_time(sdk_time(at(0) - Duration::days(60)))
            .latest_restorable_time(sdk_time(at(10)))
            .build()
    }

    fn snap(id: &str, kind: &str, status: &str, when: Timestamp) -> DbSnapshot {
        DbSnapshot::builder()
            .db_snapshot_identifier(id)
            .db_instance_identifier("orders-prod")
            .snapshot_type(kind)
            .status(status)
            .snapshot_create_time(sdk_time(when))
            .build()
    }

    #[test]
    fn backups_window_and_findings() {
        let db = instance(7);
        let snaps = [
            snap("rds:orders-prod-2026-11-21", "automated", "available", at(3) - Duration::days(1)),
            snap("rds:orders-prod-2026-11-22", "automated", "available", at(3)),
            snap("before-migration", "manual", "available", at(1) - Duration::days(3)),
        ];
        let refs: Vec<&DbSnapshot> = snaps.iter().collect();
        let (r, b, m) = map_instance(&db, &refs, "production".into(), 35, "us-east-1", at(11));
        let b = b.unwrap();
        assert_eq!(b.id, r.id);
        assert_eq!(b.last_backup_at, Some(at(3)));
        assert_eq!(b.earliest_restore, Some(at(3) - Duration::days(1)));
        assert_eq!(b.latest_restore, Some(at(10)));
        assert!(b.pitr_enabled);
        assert_eq!(b.findings(at(11)), ["retention 7d below policy 35d"]);
        assert_eq!(m.retention_days, 7);
        let get = |k: &str| r.details.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("automated"), "2, newest 8h old");
        assert_eq!(get("manual"), "1, newest 3d old");
        assert_eq!(get("engine"), "postgres 16.4");
        // 30 h later the newest backup is too old.
        assert!(b.findings(at(3) + Duration::hours(30))[0].starts_with("last backup 30h old"));
    }

    #[test]
    fn pitr_off_and_no_snapshot_are_findings() {
        let db = instance(0);
        let (_, b, _) = map_instance(&db, &[], "dev".into(), 7, "us-east-1", at(11));
        let b = b.unwrap();
        assert!(!b.pitr_enabled);
        assert_eq!((b.earliest_restore, b.latest_restore), (None, None));
        let f = b.findings(at(11));
        assert!(f.contains(&"no backup found".to_string()), "{f:?}");
        assert!(f.contains(&"retention 0d below policy 7d".to_string()), "{f:?}");
        assert!(f.contains(&"point-in-time recovery off".to_string()), "{f:?}");
    }

    #[test]
    fn the_window_never_reaches_beyond_retention() {
        let db = instance(1);
        let old = snap("rds:old", "automated", "available", at(10) - Duration::days(5));
        let (earliest, latest) = restore_window(&db, &[&old]);
        assert_eq!(earliest, Some(at(10) - Duration::days(1)));
        assert_eq!(latest, Some(at(10)));
    }

    #[test]
    fn identifiers() {
        assert!(valid_identifier("orders-prod-restored-20261122-1000"));
        assert!(!valid_identifier("1orders"));
        assert!(!valid_identifier("orders--x"));
        assert!(!valid_identifier("orders-"));
        assert!(!valid_identifier("orders_prod"));
    }
}
