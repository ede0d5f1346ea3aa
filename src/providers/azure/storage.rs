//! Blob storage: each storage account's protection as an [`ObjectStore`]. Two ARM reads: the
//! subscription's storage accounts (their SKU says the redundancy), then each account's blob
//! service (delete retention = soft delete, versioning). Accounts change rarely, so a read is
//! kept [`STORAGE_CACHE`] per subscription.
//!
//! Geo-redundant means a geo-replicating SKU (`Standard_GRS`, `Standard_RAGRS`,
//! `Standard_GZRS`, `Standard_RAGZRS`); its replication destination is the account's
//! secondary location. `FileStorage` accounts have no blob service and are left out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::try_join_all;
use serde::Deserialize;

use super::Shared;
use super::client::Api;
use crate::model::{ObjectStore, SoftDelete};
use crate::providers::ProviderError;

pub const STORAGE_API: &str = "2023-05-01";

/// How long a read of one subscription's storage accounts is reused.
pub const STORAGE_CACHE: Duration = Duration::from_mins(5);

#[derive(Debug, Clone, Deserialize)]
pub struct AccountPayload {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    /// ARM's common `sku` object (only `name` is read: `Standard_GRS`, ...).
    pub sku: Option<super::web::Sku>,
    #[serde(default)]
    pub properties: Option<AccountProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountProperties {
    pub secondary_location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BlobServicePayload {
    #[serde(default)]
    pub properties: Option<BlobServiceProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobServiceProperties {
    pub delete_retention_policy: Option<RetentionPolicy>,
    pub is_versioning_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RetentionPolicy {
    pub enabled: Option<bool>,
    pub days: Option<u32>,
}

/// A SKU that keeps a copy in the paired region.
pub fn geo_redundant_sku(sku: &str) -> bool {
    let redundancy = sku.rsplit('_').next().unwrap_or(sku).to_ascii_uppercase();
    matches!(redundancy.as_str(), "GRS" | "RAGRS" | "GZRS" | "RAGZRS")
}

/// The portal of the cloud whose ARM endpoint is `arm`.
fn portal(arm: &str) -> &'static str {
    if arm.contains("chinacloudapi.cn") {
        "https://portal.azure.cn"
    } else if arm.contains("usgovcloudapi.net") {
        "https://portal.azure.us"
    } else {
        "https://portal.azure.com"
    }
}

/// One storage account as the model has it.
pub fn map_account(s: &Shared, account: &AccountPayload, blob: &BlobServicePayload) -> ObjectStore {
    let blob = blob.properties.clone().unwrap_or_default();
    let soft_delete = match blob.delete_retention_policy {
        Some(RetentionPolicy { enabled: Some(true), days }) => SoftDelete::Days(days.unwrap_or(7)),
        _ => SoftDelete::Off,
    };
    let geo = account.sku.as_ref().and_then(|k| k.name.as_deref()).is_some_and(geo_redundant_sku);
    let secondary = account.properties.as_ref().and_then(|p| p.secondary_location.clone());
    ObjectStore {
        id: account.id.clone(),
        name: account.name.clone(),
        provider: crate::providers::azure::PROVIDER,
        environment: s.environment(&account.name, account.tags.as_ref()),
        region: account.location.clone().unwrap_or_default(),
        versioning: blob.is_versioning_enabled.unwrap_or(false),
        soft_delete,
        geo_redundant: geo,
        object_lock: None,
        lifecycle_rules: 0,
        replication: if geo { secondary.into_iter().collect() } else { Vec::new() },
        link: Some(format!("{}/#resource{}/overview", portal(&s.settings.arm), account.id)),
        policy: s.config.backups.object_storage,
    }
}

/// Every storage account of the subscription with its blob protection; reused for
/// [`STORAGE_CACHE`].
pub async fn fetch(s: &Shared, sub: &str) -> Result<Vec<ObjectStore>, ProviderError> {
    if let Some((at, stores)) = s.meta().storage.get(sub)
        && at.elapsed() < STORAGE_CACHE
    {
        return Ok(stores.clone());
    }
    let url = s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts"), STORAGE_API);
    let accounts: Vec<AccountPayload> = s.client.list(Api::Arm, &url).await?;
    let reads = accounts.iter().filter(|a| a.kind.as_deref() != Some("FileStorage")).map(|a| async move {
        let url = s.arm_url(&format!("{}/blobServices/default", a.id), STORAGE_API);
        let blob: BlobServicePayload = s.client.get(Api::Arm, &url).await?;
        Ok::<_, ProviderError>(map_account(s, a, &blob))
    });
    let stores = try_join_all(reads).await?;
    s.meta().storage.insert(sub.to_string(), (Instant::now(), stores.clone()));
    Ok(stores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geo_redundant_skus() {
        for sku in ["Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"] {
            assert!(geo_redundant_sku(sku), "{sku}");
        }
        for sku in ["Standard_LRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS"] {
            assert!(!geo_redundant_sku(sku), "{sku}");
        }
    }

    #[test]
    fn portals_follow_the_cloud() {
        assert_eq!(portal("https://management.azure.com"), "https://portal.azure.com");
        assert_eq!(portal("https://management.chinacloudapi.cn"), "https://portal.azure.cn");
        assert_eq!(portal("https://management.usgovcloudapi.net"), "https://portal.azure.us");
    }
}
