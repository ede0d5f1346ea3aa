//! Secret Manager (v1): secrets and their versions, metadata only (payloads are never read);
//! rotation = add a version with a value from stdin, then disable the previous one.

use std::collections::BTreeMap;

use base64::Engine;
use futures::future::join_all;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Api, GcpClient};
use super::{Enum, SECRET_VERSION_STATE, duration_secs};
use crate::model::Timestamp;
use crate::providers::ProviderError;

/// Newest versions read per secret.
const MAX_VERSIONS: usize = 100;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Rotation {
    pub next_rotation_time: Option<Timestamp>,
    pub rotation_period: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecretPayload {
    pub name: String,
    pub create_time: Option<Timestamp>,
    pub expire_time: Option<Timestamp>,
    pub labels: BTreeMap<String, String>,
    pub rotation: Option<Rotation>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Version {
    pub name: String,
    pub create_time: Option<Timestamp>,
    pub state: Enum,
}

impl Version {
    pub fn state(&self) -> String {
        self.state.name(SECRET_VERSION_STATE)
    }
    pub fn number(&self) -> &str {
        super::short_name(&self.name)
    }
}

pub async fn fetch(client: &GcpClient, project: &str) -> Result<Vec<(SecretPayload, Vec<Version>)>, ProviderError> {
    let secrets: Vec<SecretPayload> = client
        .list(Api::Secrets, &format!("/v1/projects/{project}/secrets"), &[("pageSize", "250")], "secrets", 5000)
        .await?;
    let versions = join_all(secrets.iter().map(|s| async move {
        client
            .list::<Version>(
                Api::Secrets,
                &format!("/v1/{}/versions", s.name),
                &[("pageSize", "100")],
                "versions",
                MAX_VERSIONS,
            )
            .await
    }))
    .await;
    let mut out = Vec::new();
    for (s, v) in secrets.into_iter().zip(versions) {
        let mut v = v?;
        v.sort_by_key(|x| std::cmp::Reverse(x.create_time));
        out.push((s, v));
    }
    Ok(out)
}

/// The model's view of one secret: (enabled, `updated_at/last` rotated, rotation days, live versions).
pub struct SecretFacts {
    pub enabled: bool,
    pub last_version_at: Option<Timestamp>,
    pub rotation_days: Option<u32>,
    pub live_versions: u32,
}

/// `updated_at` and `last_rotated` are the newest version's createTime (a rotation is a new
/// version). The rotation period is rounded up to whole days; Google's `nextRotationTime` is
/// only when its Pub/Sub reminder fires next, so "overdue" is judged from the newest version.
/// Destroyed versions are not counted.
pub fn facts(secret: &SecretPayload, versions: &[Version]) -> SecretFacts {
    let rotation_days = secret
        .rotation
        .as_ref()
        .and_then(|r| r.rotation_period.as_deref())
        .and_then(duration_secs)
        .map(|s| (s / 86_400.0).ceil().max(1.0) as u32);
    SecretFacts {
        enabled: versions.iter().any(|v| v.state() == "ENABLED"),
        last_version_at: versions.iter().filter(|v| v.state() != "DESTROYED").filter_map(|v| v.create_time).max(),
        rotation_days,
        live_versions: versions.iter().filter(|v| v.state() != "DESTROYED").count() as u32,
    }
}

/// The newest enabled version: the one a rotation disables once the new one is stored.
pub fn current_enabled(versions: &[Version]) -> Option<&Version> {
    versions
        .iter()
        .filter(|v| v.state() == "ENABLED")
        .max_by_key(|v| (v.create_time, v.number().parse::<u64>().unwrap_or(0)))
}

/// The `addVersion` body: the value base64-encoded, with its CRC32C so Google verifies it.
pub fn add_version_body(value: &[u8]) -> Value {
    json!({
        "payload": {
            "data": base64::engine::general_purpose::STANDARD.encode(value),
            "dataCrc32c": crc32c(value).to_string(),
        }
    })
}

/// CRC-32C (Castagnoli), as Secret Manager's `dataCrc32c` expects (an int64 sent as a string).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_values() {
        // RFC 3720 B.4 and the usual check value.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn rotation_period_in_days_and_the_current_version() {
        let secret: SecretPayload = serde_json::from_value(json!({
            "name": "projects/p/secrets/s",
            "rotation": {"rotationPeriod": "2592000s", "nextRotationTime": "2026-01-01T00:00:00Z"}
        }))
        .unwrap();
        let versions: Vec<Version> = serde_json::from_value(json!([
            {"name": "projects/p/secrets/s/versions/3", "createTime": "2026-03-01T00:00:00Z", "state": "DESTROYED"},
            {"name": "projects/p/secrets/s/versions/2", "createTime": "2026-02-01T00:00:00Z", "state": 1},
            {"name": "projects/p/secrets/s/versions/1", "createTime": "2026-01-01T00:00:00Z", "state": "DISABLED"}
        ]))
        .unwrap();
        let f = facts(&secret, &versions);
        assert_eq!(f.rotation_days, Some(30));
        assert!(f.enabled);
        assert_eq!(f.live_versions, 2);
        assert_eq!(current_enabled(&versions).unwrap().number(), "2");
    }
}
