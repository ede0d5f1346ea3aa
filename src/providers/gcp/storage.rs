//! Cloud Storage (JSON API v1): each bucket's protection as an [`ObjectStore`], from one list
//! call (`GET /storage/v1/b?project=`). Versioning, the soft delete policy (its retention in
//! seconds, shown in whole days), a bucket retention policy (shown as the object lock is), and
//! the location type: multi-region and dual-region buckets keep their data in two or more
//! places, so they are geo-redundant.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::client::{Api, GcpClient};
use crate::model::{ObjectStoragePolicy, ObjectStore, SoftDelete};
use crate::providers::ProviderError;

/// How long a read of the buckets is reused.
pub const STORAGE_CACHE: Duration = Duration::from_mins(5);

/// At most this many buckets are read.
const MAX_BUCKETS: usize = 5000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BucketPayload {
    pub name: String,
    pub location: Option<String>,
    pub location_type: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub versioning: Option<Versioning>,
    pub soft_delete_policy: Option<SoftDeletePolicy>,
    pub retention_policy: Option<RetentionPolicy>,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Versioning {
    pub enabled: bool,
}

/// int64 fields come as strings in the JSON API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SoftDeletePolicy {
    pub retention_duration_seconds: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RetentionPolicy {
    pub retention_period: Option<String>,
    pub is_locked: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Lifecycle {
    pub rule: Vec<serde_json::Value>,
}

fn seconds(v: Option<&str>) -> u64 {
    v.and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(0)
}

/// "7d", or the seconds when they are not whole days.
fn period(secs: u64) -> String {
    if secs.is_multiple_of(86_400) { format!("{}d", secs / 86_400) } else { format!("{secs}s") }
}

/// One bucket as the model has it; `environment` is decided by the caller (labels, name).
pub fn map_bucket(b: &BucketPayload, project: &str, environment: String, policy: ObjectStoragePolicy) -> ObjectStore {
    let soft = seconds(b.soft_delete_policy.as_ref().and_then(|p| p.retention_duration_seconds.as_deref()));
    let soft_delete =
        if soft == 0 { SoftDelete::Off } else { SoftDelete::Days(u32::try_from(soft / 86_400).unwrap_or(u32::MAX)) };
    let object_lock = b.retention_policy.as_ref().and_then(|r| {
        let secs = seconds(r.retention_period.as_deref());
        (secs > 0).then(|| format!("retention {}{}", period(secs), if r.is_locked { ", locked" } else { "" }))
    });
    let geo = b.location_type.as_deref().is_some_and(|t| matches!(t, "multi-region" | "dual-region"));
    ObjectStore {
        id: format!("projects/_/buckets/{}", b.name),
        name: b.name.clone(),
        provider: crate::providers::gcp::PROVIDER,
        environment,
        region: b.location.clone().unwrap_or_default().to_ascii_lowercase(),
        versioning: b.versioning.as_ref().is_some_and(|v| v.enabled),
        soft_delete,
        geo_redundant: geo,
        object_lock,
        lifecycle_rules: u32::try_from(b.lifecycle.as_ref().map_or(0, |l| l.rule.len())).unwrap_or(u32::MAX),
        replication: Vec::new(),
        link: Some(format!("https://console.cloud.google.com/storage/browser/{}?project={project}", b.name)),
        policy,
    }
}

/// Every bucket of the project.
pub async fn fetch(client: &GcpClient, project: &str) -> Result<Vec<BucketPayload>, ProviderError> {
    client
        .list(Api::Storage, "/storage/v1/b", &[("project", project), ("maxResults", "1000")], "items", MAX_BUCKETS)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_and_soft_delete_in_days() {
        let b: BucketPayload = serde_json::from_value(serde_json::json!({
            "name": "b", "location": "EUROPE-WEST1", "locationType": "region",
            "softDeletePolicy": {"retentionDurationSeconds": "2592000"},
            "retentionPolicy": {"retentionPeriod": "90000", "isLocked": true}
        }))
        .unwrap();
        let s = map_bucket(&b, "p", "prod".into(), ObjectStoragePolicy::default());
        assert_eq!(s.soft_delete, SoftDelete::Days(30));
        assert_eq!(s.object_lock.as_deref(), Some("retention 90000s, locked"));
        assert_eq!(s.region, "europe-west1");
        assert!(!s.geo_redundant && !s.versioning);
        let off: BucketPayload = serde_json::from_value(serde_json::json!({
            "name": "c", "locationType": "dual-region", "softDeletePolicy": {"retentionDurationSeconds": "0"}
        }))
        .unwrap();
        let s = map_bucket(&off, "p", "prod".into(), ObjectStoragePolicy::default());
        assert_eq!(s.soft_delete, SoftDelete::Off);
        assert!(s.geo_redundant);
        assert_eq!(s.object_lock, None);
    }
}
