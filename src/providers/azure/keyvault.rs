//! Key Vault secrets, metadata only: the list and version calls never return values, and
//! skydeck never calls "get secret". Setting a new version takes the value from
//! `ActionRequest::secret_input` (stdin) and sends it nowhere else.

use std::collections::HashMap;

use chrono::DateTime;
use futures::future::join_all;
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use super::client::Api;
use super::{AzureCall, Shared, failed};
use crate::actions::{ActionError, Plan, PlannedCall};
use crate::model::{Secret, Snapshot, Timestamp};
use crate::providers::ProviderError;

/// Key Vault data-plane API version (the fixtures are Microsoft's 2025-06-01 examples; the
/// fields read here are the same in 7.4, which every vault serves).
pub const KEYVAULT_API: &str = "7.4";
/// Microsoft.KeyVault (ARM) API version, for discovering vaults.
pub const VAULTS_API: &str = "2023-07-01";

#[derive(Debug, Deserialize)]
struct VaultPayload {
    name: String,
    #[serde(default)]
    tags: Option<HashMap<String, String>>,
    #[serde(default)]
    properties: Option<VaultProperties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VaultProperties {
    vault_uri: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretItem {
    pub id: String,
    #[serde(default)]
    pub attributes: Option<Attributes>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub managed: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Attributes {
    pub enabled: Option<bool>,
    pub created: Option<i64>,
    pub updated: Option<i64>,
    pub exp: Option<i64>,
}

/// What setting a new version needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretMeta {
    pub vault_url: String,
    pub vault: String,
    pub name: String,
    pub versions: u32,
    pub content_type: Option<String>,
    pub tags: Option<HashMap<String, String>>,
}

fn ts(secs: Option<i64>) -> Option<Timestamp> {
    DateTime::from_timestamp(secs?, 0)
}

/// `https://myvault.vault.azure.net/secrets/name[/version]` -> ("myvault", "name").
pub fn vault_and_name(id: &str) -> Option<(String, String)> {
    let u = Url::parse(id).ok()?;
    let vault = u.host_str()?.split('.').next()?.to_string();
    let mut segs = u.path_segments()?;
    (segs.next()? == "secrets").then_some(())?;
    Some((vault, segs.next()?.to_string()))
}

/// Vaults of one subscription, discovered through ARM, then their secrets.
pub async fn fetch_subscription(s: &Shared, sub: &str) -> Result<Snapshot, ProviderError> {
    let url = s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults"), VAULTS_API);
    let vaults: Vec<VaultPayload> = s.client.list(Api::Arm, &url).await?;
    let results = join_all(vaults.iter().filter_map(|v| {
        let uri = v.properties.as_ref()?.vault_uri.clone()?;
        Some(async move {
            let r = fetch_vault_tagged(s, uri.trim_end_matches('/'), v.tags.as_ref()).await;
            (v.name.clone(), r)
        })
    }))
    .await;
    let mut snap = Snapshot::default();
    let mut errors = Vec::new();
    for (name, r) in results {
        match r {
            Ok(part) => snap.extend(&part),
            // One vault without access must not hide the others.
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    if !errors.is_empty() {
        tracing::warn!("Key Vault: {}", errors.join("; "));
        snap.source_note = Some(errors.join("; "));
    }
    Ok(snap)
}

/// The secrets of one vault (`https://NAME.vault.azure.net`).
pub async fn fetch_vault(s: &Shared, vault_url: &str) -> Result<Snapshot, ProviderError> {
    fetch_vault_tagged(s, vault_url, None).await
}

async fn fetch_vault_tagged(
    s: &Shared,
    vault_url: &str,
    vault_tags: Option<&HashMap<String, String>>,
) -> Result<Snapshot, ProviderError> {
    let url = format!("{vault_url}/secrets?api-version={KEYVAULT_API}&maxresults=25");
    let items: Vec<SecretItem> = s.client.list(Api::KeyVault, &url).await?;
    // Secrets backing certificates are managed by Key Vault itself.
    let items: Vec<SecretItem> = items.into_iter().filter(|i| i.managed != Some(true)).collect();
    let versions = join_all(items.iter().map(|item| async move {
        let name = vault_and_name(&item.id).map(|(_, n)| n).unwrap_or_default();
        let url = format!("{vault_url}/secrets/{name}/versions?api-version={KEYVAULT_API}&maxresults=25");
        s.client.list::<SecretItem>(Api::KeyVault, &url).await
    }))
    .await;
    let mut snap = Snapshot::default();
    for (item, versions) in items.iter().zip(versions) {
        let Some((vault, name)) = vault_and_name(&item.id) else {
            continue;
        };
        let attrs = item.attributes.clone().unwrap_or_default();
        let (count, newest) = match versions {
            Ok(v) => (v.len() as u32, v.iter().filter_map(|x| ts(x.attributes.as_ref().and_then(|a| a.created))).max()),
            Err(e) => {
                tracing::warn!("versions of {name}: {e}");
                (0, None)
            }
        };
        let mut environment = s.environment(&name, item.tags.as_ref());
        if environment == "unassigned" {
            environment = s.environment(&vault, vault_tags);
        }
        let rotation_days = item.tags.as_ref().and_then(|t| {
            t.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("rotation-days") || k.eq_ignore_ascii_case("rotation_days"))
                .and_then(|(_, v)| v.trim().parse().ok())
        });
        snap.secrets.push(Secret {
            id: item.id.clone(),
            name: name.clone(),
            store: vault.clone(),
            provider: crate::providers::azure::PROVIDER,
            environment,
            enabled: attrs.enabled.unwrap_or(true),
            updated_at: ts(attrs.updated),
            last_rotated: newest.or(ts(attrs.created)),
            rotation_days,
            expires_at: ts(attrs.exp),
            versions: count,
        });
        s.meta().kv_secrets.insert(
            item.id.clone(),
            SecretMeta {
                vault_url: vault_url.to_string(),
                vault,
                name,
                versions: count,
                content_type: item.content_type.clone(),
                tags: item.tags.clone(),
            },
        );
    }
    Ok(snap)
}

fn secret_meta(s: &Shared, id: &str) -> Result<SecretMeta, ActionError> {
    s.meta().kv_secrets.get(id).cloned().ok_or_else(|| ActionError::NotFound(id.to_string()))
}

pub fn plan_set(s: &Shared, plan: &mut Plan) -> Result<(), ActionError> {
    let m = secret_meta(s, &plan.request.target)?;
    if plan.request.secret_input.is_none() {
        return Err(ActionError::MissingInput(format!(
            "the new value of {}: run `skydeck act rotate {} --value-stdin` and type or pipe it (it is never shown)",
            m.name, plan.request.target
        )));
    }
    let url = format!("{}/secrets/{}?api-version={KEYVAULT_API}", m.vault_url, m.name);
    plan.summary = format!(
        "store a new version of {} in {} (the value read from stdin, never shown); earlier versions stay in its history",
        m.name, m.vault
    );
    let mut shown = json!({"value": "<from stdin, not shown>"});
    if let Some(ct) = &m.content_type {
        shown["contentType"] = json!(ct);
    }
    if let Some(tags) = &m.tags {
        shown["tags"] = json!(tags);
    }
    plan.calls.push(PlannedCall {
        description: format!("set a new version of {}", m.name),
        call: format!("PUT {url} {shown}"),
    });
    plan.verification =
        format!("GET {}/secrets/{}/versions: the new version is listed and enabled", m.vault_url, m.name);
    plan.set_payload(AzureCall::KeyVaultSet);
    Ok(())
}

#[derive(Deserialize)]
struct SetResult {
    id: String,
    #[serde(default)]
    attributes: Option<Attributes>,
}

/// PUT a new version. The value goes into the request body and nowhere else.
pub async fn set_secret(
    s: &Shared,
    vault_url: &str,
    name: &str,
    value: &str,
    content_type: Option<&str>,
    tags: Option<&HashMap<String, String>>,
) -> Result<String, ProviderError> {
    let url = format!("{vault_url}/secrets/{name}?api-version={KEYVAULT_API}");
    let mut body = json!({ "value": value });
    if let Some(ct) = content_type {
        body["contentType"] = json!(ct);
    }
    if let Some(t) = tags {
        body["tags"] = json!(t);
    }
    let r = s.client.call(Api::KeyVault, Method::PUT, &url, Some(&body)).await?;
    drop(body);
    // The answer echoes the value: only the id and attributes are read from it.
    let set: SetResult = r.json("Key Vault set secret")?;
    if set.attributes.and_then(|a| a.enabled) == Some(false) {
        tracing::warn!("{name}: the new version is disabled");
    }
    Ok(set.id)
}

pub async fn execute_set(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let m = secret_meta(s, &plan.request.target)?;
    let value = plan
        .request
        .secret_input
        .as_deref()
        .ok_or_else(|| ActionError::MissingInput("the new value (--value-stdin)".into()))?;
    let id = set_secret(s, &m.vault_url, &m.name, value, m.content_type.as_deref(), m.tags.as_ref())
        .await
        .map_err(|e| ActionError::Failed(format!("{} unchanged: {}", m.name, failed(e))))?;
    let version = super::last_segment(&id);
    s.meta().done.insert(plan.request.target.clone(), version.clone());
    Ok(format!("stored version {version} of {} in {}", m.name, m.vault))
}

pub async fn verify_set(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let m = secret_meta(s, &plan.request.target)?;
    let version = s
        .meta()
        .done
        .get(&plan.request.target)
        .cloned()
        .ok_or_else(|| ActionError::VerifyFailed("no new version was recorded".into()))?;
    let url = format!("{}/secrets/{}/versions?api-version={KEYVAULT_API}&maxresults=25", m.vault_url, m.name);
    let versions: Vec<SecretItem> =
        s.client.list(Api::KeyVault, &url).await.map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
    match versions.iter().find(|v| super::last_segment(&v.id) == version) {
        Some(v) if v.attributes.as_ref().and_then(|a| a.enabled) != Some(false) => {
            Ok(format!("version {version} of {} is listed and enabled ({} versions)", m.name, versions.len()))
        }
        Some(_) => Err(ActionError::VerifyFailed(format!("version {version} of {} is listed but disabled", m.name))),
        None => Err(ActionError::VerifyFailed(format!("version {version} of {} is not listed yet", m.name))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_secret_ids() {
        assert_eq!(
            vault_and_name("https://myvault.vault.azure.net/secrets/listsecrettest0"),
            Some(("myvault".into(), "listsecrettest0".into()))
        );
        assert_eq!(
            vault_and_name("https://myvault.vault.azure.net/secrets/crpsecret/03bcccc7c8cf4546a0e3e21e52560441"),
            Some(("myvault".into(), "crpsecret".into()))
        );
        assert_eq!(vault_and_name("https://myvault.vault.azure.net/keys/k"), None);
    }
}
