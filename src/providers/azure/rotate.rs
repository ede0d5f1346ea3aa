//! Rotation of the Azure deploy credential (domain.md §5) as one audited action:
//!
//! 1. read the GitHub repository's (or environment's) public key: nothing changes before we
//!    know the new value can be stored;
//! 2. find the service principal `<app>-<env>-app` and its app registration in Microsoft Graph;
//! 3. add a new password to the **app registration** (`POST /applications/{id}/addPassword`),
//!    as `az ad sp credential reset` does: client-secret sign-in uses the application's
//!    passwords;
//! 4. seal it with the public key (libsodium sealed box) and write the GitHub Actions secret
//!    `AZURE_CLIENT_SECRET_<ENV>`;
//! 5. optionally keep it in Key Vault too;
//! 6. only then remove the passwords that existed before.
//!
//! The value lives in memory between steps 3 and 5 and goes nowhere else: not into the plan,
//! a log line, an error, the audit log or the screen. Every failure says which steps are done
//! and what that leaves valid.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{Duration, SecondsFormat, Utc};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use super::client::Api;
use super::postgres::parse_time;
use super::{AzureCall, DeploySettings, Shared, keyvault};
use crate::actions::{ActionError, Plan, PlannedCall, Risk};
use crate::model::{Secret, Snapshot};
use crate::providers::ProviderError;
use crate::providers::github::{auth as github_auth, client::host_of};

/// Validity of a new deploy password unless `--param days=N` says otherwise.
pub const DEFAULT_DAYS: i64 = 180;

/// A value that must never be printed: `Debug` and `Display` show nothing.
pub struct Sensitive(String);

impl Sensitive {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Sensitive {
    fn drop(&mut self) {
        // Overwrite before the allocation is freed (best effort, no unsafe).
        let len = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', len));
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeployMeta {
    pub environment: String,
    pub sp_name: String,
    pub secret_name: String,
    /// `/repos/{repo}/actions/secrets` or `/repos/{repo}/environments/{env}/secrets`.
    pub github_base: String,
    /// From the last read: the app registration and its passwords (key ids).
    pub app_id: Option<String>,
    pub app_object_id: Option<String>,
    pub key_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    app_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Application {
    id: String,
    app_id: String,
    #[serde(default)]
    password_credentials: Option<Vec<PasswordCredential>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordCredential {
    key_id: String,
    #[serde(default)]
    start_date_time: Option<String>,
    #[serde(default)]
    end_date_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddedPassword {
    key_id: String,
    #[serde(default)]
    end_date_time: Option<String>,
    secret_text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PublicKey {
    key_id: String,
    key: String,
}

/// `AZURE_CLIENT_SECRET_PRODUCTION` for `production`.
pub fn secret_name(environment: &str) -> String {
    let upper: String =
        environment.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("AZURE_CLIENT_SECRET_{upper}")
}

/// The environments whose deploy credential is shown: the configured ones, else domain.md's.
fn environments(s: &Shared) -> Vec<String> {
    if s.config.environments.is_empty() {
        vec!["dev".into(), "staging".into(), "production".into()]
    } else {
        s.config.environments.iter().map(|e| e.name.clone()).collect()
    }
}

fn deploy(s: &Shared) -> Result<&DeploySettings, ActionError> {
    s.settings
        .deploy
        .as_ref()
        .ok_or_else(|| ActionError::Failed("[azure] deploy_app and github_repo are not configured".into()))
}

/// The GitHub id of the secret: `owner/repo/actions/secrets/NAME` (Enterprise: `host/...`).
fn deploy_target(d: &DeploySettings, environment: &str) -> (String, String) {
    let name = secret_name(environment);
    let base = if d.environment_secrets {
        format!("/repos/{}/environments/{environment}/secrets", d.repo)
    } else {
        format!("/repos/{}/actions/secrets", d.repo)
    };
    let host = host_of(&d.github_api);
    let prefix = if host == "github.com" { String::new() } else { format!("{host}/") };
    let id = format!("{prefix}{}/{name}", base.trim_start_matches("/repos/"));
    (id, base)
}

fn graph(s: &Shared, path: &str) -> String {
    format!("{}/v1.0{path}", s.settings.graph)
}

fn odata_quote(v: &str) -> String {
    v.replace('\'', "''")
}

/// The service principal named `sp_name` and its app registration.
async fn find_app(s: &Shared, sp_name: &str) -> Result<(ServicePrincipal, Application), ProviderError> {
    let mut url = Url::parse(&graph(s, "/servicePrincipals")).map_err(|e| ProviderError::Payload(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("$filter", &format!("displayName eq '{}'", odata_quote(sp_name)))
        .append_pair("$select", "id,appId,displayName");
    let sps: Vec<ServicePrincipal> = s.client.list(Api::Graph, url.as_str()).await?;
    let sp = match sps.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(ProviderError::Unavailable(format!("no service principal named '{sp_name}' in the tenant")));
        }
        many => {
            return Err(ProviderError::Unavailable(format!(
                "{} service principals are named '{sp_name}'; rename them so skydeck knows which one deploys",
                many.len()
            )));
        }
    };
    let mut url = Url::parse(&graph(s, "/applications")).map_err(|e| ProviderError::Payload(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("$filter", &format!("appId eq '{}'", odata_quote(&sp.app_id)))
        .append_pair("$select", "id,appId,displayName,passwordCredentials");
    let apps: Vec<Application> = s.client.list(Api::Graph, url.as_str()).await?;
    let app = apps.into_iter().next().ok_or_else(|| {
        ProviderError::Unavailable(format!(
            "the app registration of '{sp_name}' (appId {}) is not in this tenant; rotate it in its home tenant",
            sp.app_id
        ))
    })?;
    Ok((sp, app))
}

/// One secret per environment: the deploy credential as Graph describes it (start, expiry and
/// count of the app's passwords). It is listed even when Graph cannot be read, so it can be
/// rotated; the source note says why its details are missing.
pub async fn fetch(s: &Shared) -> Snapshot {
    let mut snap = Snapshot::default();
    let Some(d) = s.settings.deploy.as_ref() else {
        return snap;
    };
    let mut problems = Vec::new();
    for env in environments(s) {
        let sp_name = format!("{}-{env}-app", d.app);
        let (id, base) = deploy_target(d, &env);
        let mut secret = Secret {
            id: id.clone(),
            name: secret_name(&env),
            store: format!("GitHub {} · Entra app {sp_name}", d.repo),
            provider: crate::providers::azure::PROVIDER,
            environment: env.clone(),
            enabled: true,
            updated_at: None,
            last_rotated: None,
            rotation_days: None,
            expires_at: None,
            versions: 0,
        };
        let mut meta = DeployMeta {
            environment: env.clone(),
            sp_name: sp_name.clone(),
            secret_name: secret_name(&env),
            github_base: base,
            app_id: None,
            app_object_id: None,
            key_ids: Vec::new(),
        };
        match find_app(s, &sp_name).await {
            Ok((_, app)) => {
                let creds = app.password_credentials.unwrap_or_default();
                let newest = creds
                    .iter()
                    .filter_map(|c| Some((parse_time(c.start_date_time.as_deref()?)?, c)))
                    .max_by_key(|(at, _)| *at);
                secret.updated_at = newest.map(|(at, _)| at);
                secret.last_rotated = secret.updated_at;
                secret.expires_at = newest.and_then(|(_, c)| parse_time(c.end_date_time.as_deref()?));
                secret.versions = creds.len() as u32;
                secret.enabled = !creds.is_empty();
                meta.app_id = Some(app.app_id);
                meta.app_object_id = Some(app.id);
                meta.key_ids = creds.into_iter().map(|c| c.key_id).collect();
            }
            Err(e) => problems.push(format!("{sp_name}: {e}")),
        }
        s.meta().deploy.insert(id, meta);
        snap.secrets.push(secret);
    }
    if !problems.is_empty() {
        snap.source_note = Some(format!("deploy credentials: {}", problems.join("; ")));
    }
    snap
}

fn deploy_meta(s: &Shared, id: &str) -> Result<DeployMeta, ActionError> {
    s.meta().deploy.get(id).cloned().ok_or_else(|| ActionError::NotFound(id.to_string()))
}

fn days(plan: &Plan) -> Result<i64, ActionError> {
    match plan.request.params.get("days") {
        None => Ok(DEFAULT_DAYS),
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=730).contains(d))
            .ok_or_else(|| ActionError::InvalidInput(format!("--param days={d}: a number of days from 1 to 730"))),
    }
}

fn kv_name(environment: &str) -> String {
    format!("azure-client-secret-{}", environment.to_ascii_lowercase().replace('_', "-"))
}

pub fn plan(s: &Shared, plan: &mut Plan) -> Result<(), ActionError> {
    let m = deploy_meta(s, &plan.request.target)?;
    let d = deploy(s)?;
    let days = days(plan)?;
    let api = &d.github_api;
    let app = m.app_object_id.clone().unwrap_or_else(|| "<app object id>".into());
    let old = if m.key_ids.is_empty() { "the passwords it has now".to_string() } else { m.key_ids.join(", ") };
    plan.risk = Risk::High;
    plan.summary = format!(
        "rotate the {} deploy credential: add a new password to the Entra app {}, store it sealed as GitHub secret {} in {}{}, then remove the old password(s) ({old}). The value is never shown.",
        m.environment,
        m.sp_name,
        m.secret_name,
        d.repo,
        d.vault.as_ref().map(|v| format!(" and in Key Vault {v} as {}", kv_name(&m.environment))).unwrap_or_default()
    );
    let calls = &mut plan.calls;
    calls.push(PlannedCall {
        description: "read the public key first (nothing changes if GitHub cannot take the secret)".into(),
        call: format!("GET {api}{}/public-key", m.github_base),
    });
    calls.push(PlannedCall {
        description: format!("find the service principal {} and its app registration", m.sp_name),
        call: format!(
            "GET {} ; GET {}",
            graph(s, &format!("/servicePrincipals?$filter=displayName eq '{}'", m.sp_name)),
            graph(
                s,
                &format!("/applications?$filter=appId eq '{}'", m.app_id.clone().unwrap_or_else(|| "<appId>".into()))
            )
        ),
    });
    calls.push(PlannedCall {
        description: format!("add a new password, valid {days} days"),
        call: format!(
            "POST {} {{\"passwordCredential\":{{\"displayName\":\"skydeck rotation <date>\",\"endDateTime\":\"<now + {days}d>\"}}}}",
            graph(s, &format!("/applications/{app}/addPassword"))
        ),
    });
    calls.push(PlannedCall {
        description: "seal it with that key (libsodium sealed box) and store it".into(),
        call: format!(
            "PUT {api}{}/{} {{\"encrypted_value\":\"<sealed, not shown>\",\"key_id\":\"<key id>\"}}",
            m.github_base, m.secret_name
        ),
    });
    if let Some(v) = &d.vault {
        calls.push(PlannedCall {
            description: "keep a copy in Key Vault".into(),
            call: format!(
                "PUT {v}/secrets/{}?api-version={} {{\"value\":\"<not shown>\"}}",
                kv_name(&m.environment),
                keyvault::KEYVAULT_API
            ),
        });
    }
    calls.push(PlannedCall {
        description: "only after the new one is stored: remove each old password".into(),
        call: format!(
            "POST {} {{\"keyId\":\"<old key id>\"}} for {old}",
            graph(s, &format!("/applications/{app}/removePassword"))
        ),
    });
    plan.verification = format!(
        "GET the app registration: the new password is there and the old ones are gone; GET {api}{}/{}: updated just now",
        m.github_base, m.secret_name
    );
    plan.set_payload(AzureCall::DeployCredential { days });
    let p = &mut plan.request.params;
    p.insert("deploy_secret".into(), m.secret_name.clone());
    p.insert("days".into(), days.to_string());
    Ok(())
}

/// What went wrong talking to GitHub about the deploy secret.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum GithubSecretError {
    #[error("GitHub's public key is not base64: {0}")]
    KeyNotBase64(String),
    #[error("GitHub's public key has {0} bytes, not {size}", size = crypto_box::KEY_SIZE)]
    KeySize(usize),
    #[error("sealing the value failed")]
    Seal,
    #[error("GitHub ({host}) unreachable: {message}")]
    Unreachable { host: String, message: String },
    #[error("GitHub ({host}): {message}")]
    Body { host: String, message: String },
    #[error("GitHub ({host}) answered {status} to {call}{}{hint}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status { host: String, status: u16, call: String, message: String, hint: &'static str },
}

/// Seals `value` for a GitHub secret: a libsodium sealed box to the repository's public key
/// (base64), base64 again for the API.
pub fn seal(public_key_b64: &str, value: &[u8]) -> Result<String, GithubSecretError> {
    let raw = BASE64.decode(public_key_b64.trim()).map_err(|e| GithubSecretError::KeyNotBase64(e.to_string()))?;
    let bytes: [u8; crypto_box::KEY_SIZE] =
        raw.as_slice().try_into().map_err(|_| GithubSecretError::KeySize(raw.len()))?;
    let key = crypto_box::PublicKey::from(bytes);
    let sealed = key.seal(&mut crypto_box::aead::OsRng, value).map_err(|_| GithubSecretError::Seal)?;
    Ok(BASE64.encode(sealed))
}

/// The few GitHub calls rotation needs, with the token from skydeck's GitHub token chain.
struct GitHub<'a> {
    http: &'a reqwest::Client,
    api: &'a str,
    host: String,
    token: String,
}

impl GitHub<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<bytes::Bytes, GithubSecretError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.api))
            .bearer_auth(&self.token)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(b) = body {
            req = req.json(b);
        }
        let host = || self.host.clone();
        let r =
            req.send().await.map_err(|e| GithubSecretError::Unreachable { host: host(), message: e.to_string() })?;
        let status = r.status();
        let bytes = r.bytes().await.map_err(|e| GithubSecretError::Body { host: host(), message: e.to_string() })?;
        if status.is_success() {
            return Ok(bytes);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_default();
        let hint = match status.as_u16() {
            401 => " (the GitHub token was rejected: run `skydeck auth login github` or `gh auth login`)",
            403 | 404 => " (the token needs the `repo` scope, or Secrets: write on the repository)",
            _ => "",
        };
        Err(GithubSecretError::Status {
            host: host(),
            status: status.as_u16(),
            call: format!("{method} {path}"),
            message,
            hint,
        })
    }
}

async fn add_password(s: &Shared, app_object_id: &str, days: i64) -> Result<AddedPassword, ProviderError> {
    let now = Utc::now();
    let body = json!({
        "passwordCredential": {
            "displayName": format!("skydeck rotation {}", now.format("%Y-%m-%d")),
            "endDateTime": (now + Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    });
    let url = graph(s, &format!("/applications/{app_object_id}/addPassword"));
    let r = s.client.call(Api::Graph, Method::POST, &url, Some(&body)).await?;
    r.json("Microsoft Graph addPassword")
}

async fn remove_password(s: &Shared, app_object_id: &str, key_id: &str) -> Result<(), ProviderError> {
    let url = graph(s, &format!("/applications/{app_object_id}/removePassword"));
    s.client.call(Api::Graph, Method::POST, &url, Some(&json!({ "keyId": key_id }))).await.map(|_| ())
}

pub async fn execute(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let m = deploy_meta(s, &plan.request.target)?;
    let d = deploy(s)?;
    let AzureCall::DeployCredential { days } = *plan.payload::<AzureCall>()? else {
        return Err(ActionError::Failed("the plan lost its rotation; plan again".into()));
    };
    let started = Utc::now();
    fn unchanged(e: impl std::fmt::Display) -> ActionError {
        ActionError::Failed(format!("nothing changed: {e}"))
    }

    // 1. GitHub first: its key and token must work before a password exists.
    let host = host_of(&d.github_api);
    let token = github_auth::resolve(&host, d.github_token_env.as_deref()).map_err(unchanged)?;
    let gh = GitHub { http: s.client.http(), api: &d.github_api, host, token: token.value };
    let key_body = gh.send(Method::GET, &format!("{}/public-key", m.github_base), None).await.map_err(unchanged)?;
    let key: PublicKey =
        serde_json::from_slice(&key_body).map_err(|e| unchanged(format!("GitHub's public key answer: {e}")))?;
    // Checks the key before anything changes (sealing an empty value costs nothing).
    seal(&key.key, b"").map_err(unchanged)?;

    // 2. The app registration.
    let (sp, app) = find_app(s, &m.sp_name).await.map_err(|e| unchanged(e.to_string()))?;
    let old: Vec<String> = app.password_credentials.unwrap_or_default().into_iter().map(|c| c.key_id).collect();
    let app_hint = format!("`az ad app credential delete --id {}", sp.app_id);

    // 3. The new password.
    let added = add_password(s, &app.id, days)
        .await
        .map_err(|e| unchanged(format!("could not add a password to {}: {e}", m.sp_name)))?;
    let new_key = added.key_id.clone();
    // Never remove what was just added, whatever the earlier read said.
    let old: Vec<String> = old.into_iter().filter(|k| *k != new_key).collect();
    let valid_until = added.end_date_time.clone().unwrap_or_default();
    let Some(secret) = added.secret_text.map(Sensitive) else {
        let cleanup = remove_password(s, &app.id, &new_key).await;
        return Err(ActionError::Failed(format!(
            "Microsoft Graph added password {new_key} to {} but returned no value; {}. The old credential is still valid and still in GitHub",
            m.sp_name,
            match cleanup {
                Ok(()) => "it was removed again".to_string(),
                Err(e) => format!("removing it failed ({e}): delete it with {app_hint} --key-id {new_key}`"),
            }
        )));
    };

    // 4. Sealed into GitHub.
    let stored = match seal(&key.key, secret.expose().as_bytes()) {
        Ok(sealed) => {
            let body = json!({ "encrypted_value": sealed, "key_id": key.key_id });
            gh.send(Method::PUT, &format!("{}/{}", m.github_base, m.secret_name), Some(&body)).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        drop(secret);
        let cleanup = remove_password(s, &app.id, &new_key).await;
        return Err(ActionError::Failed(match cleanup {
            Ok(()) => format!(
                "GitHub secret {} not updated ({e}); the new password {new_key} was removed again, so nothing changed: the old credential is still valid and still in GitHub",
                m.secret_name
            ),
            Err(e2) => format!(
                "GitHub secret {} not updated ({e}); the new password (keyId {new_key}) is on {} but unused, and removing it failed ({e2}): delete it with {app_hint} --key-id {new_key}`. The old credential is still valid and still in GitHub",
                m.secret_name, m.sp_name
            ),
        }));
    }

    // 5. Key Vault, when configured.
    let mut where_stored = format!("GitHub secret {} of {}", m.secret_name, d.repo);
    if let Some(vault) = &d.vault {
        let name = kv_name(&m.environment);
        let r = keyvault::set_secret(s, vault, &name, secret.expose(), None, None).await;
        if let Err(e) = r {
            return Err(ActionError::Failed(format!(
                "the new password (keyId {new_key}) is in {where_stored}, but Key Vault {vault} was not updated ({e}); the old password(s) {} were kept so readers of Key Vault keep working: fix access and rotate again",
                if old.is_empty() { "(none)".into() } else { old.join(", ") }
            )));
        }
        where_stored.push_str(&format!(" and Key Vault secret {name}"));
    }
    drop(secret);

    // 6. Only now: the old passwords go.
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for k in &old {
        match remove_password(s, &app.id, k).await {
            Ok(()) => removed.push(k.clone()),
            Err(e) => kept.push(format!("{k} ({e})")),
        }
    }
    s.meta().done.insert(
        plan.request.target.clone(),
        json!({ "new": new_key, "removed": removed, "started": started }).to_string(),
    );
    if !kept.is_empty() {
        return Err(ActionError::Failed(format!(
            "the new password (keyId {new_key}) is in {where_stored} and works; removing old password(s) failed: {}. They stay valid until they expire: delete them with {app_hint} --key-id KEY`",
            kept.join(", ")
        )));
    }
    Ok(format!(
        "new password {new_key} (valid until {valid_until}) stored in {where_stored}; removed {} old password(s){}",
        removed.len(),
        if removed.is_empty() { String::new() } else { format!(" {}", removed.join(", ")) }
    ))
}

pub async fn verify(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let m = deploy_meta(s, &plan.request.target)?;
    let d = deploy(s)?;
    let done: serde_json::Value = s
        .meta()
        .done
        .get(&plan.request.target)
        .and_then(|v| serde_json::from_str(v).ok())
        .ok_or_else(|| ActionError::VerifyFailed("no rotation was recorded".into()))?;
    let new_key = done["new"].as_str().unwrap_or_default().to_string();
    let removed: Vec<String> = done["removed"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let started = done["started"].as_str().and_then(parse_time).unwrap_or_else(Utc::now);
    let (_, app) = find_app(s, &m.sp_name).await.map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
    let now: Vec<String> = app.password_credentials.unwrap_or_default().into_iter().map(|c| c.key_id).collect();
    if !now.contains(&new_key) {
        return Err(ActionError::VerifyFailed(format!("{} has no password {new_key}", m.sp_name)));
    }
    if let Some(still) = removed.iter().find(|k| now.contains(k)) {
        return Err(ActionError::VerifyFailed(format!("{} still has the old password {still}", m.sp_name)));
    }
    let host = host_of(&d.github_api);
    let token = github_auth::resolve(&host, d.github_token_env.as_deref())
        .map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
    let gh = GitHub { http: s.client.http(), api: &d.github_api, host, token: token.value };
    let body = gh
        .send(Method::GET, &format!("{}/{}", m.github_base, m.secret_name), None)
        .await
        .map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
    #[derive(Deserialize)]
    struct SecretMeta {
        updated_at: String,
    }
    let meta: SecretMeta =
        serde_json::from_slice(&body).map_err(|e| ActionError::VerifyFailed(format!("GitHub secret metadata: {e}")))?;
    let updated = parse_time(&meta.updated_at);
    if updated.is_none_or(|u| u < started - Duration::minutes(2)) {
        return Err(ActionError::VerifyFailed(format!(
            "GitHub says {} was last updated at {}, before this rotation",
            m.secret_name, meta.updated_at
        )));
    }
    Ok(format!(
        "{} has password {new_key} and none of the removed ones; GitHub {} updated at {}",
        m.sp_name, m.secret_name, meta.updated_at
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_per_environment() {
        assert_eq!(secret_name("production"), "AZURE_CLIENT_SECRET_PRODUCTION");
        assert_eq!(secret_name("stg"), "AZURE_CLIENT_SECRET_STG");
        assert_eq!(secret_name("pre-prod"), "AZURE_CLIENT_SECRET_PRE_PROD");
        assert_eq!(kv_name("production"), "azure-client-secret-production");
    }

    #[test]
    fn sealed_boxes_open_with_the_matching_key() {
        let sk = crypto_box::SecretKey::generate(&mut crypto_box::aead::OsRng);
        let pk = BASE64.encode(sk.public_key().as_bytes());
        let sealed = seal(&pk, b"s3cret").unwrap();
        let opened = sk.unseal(&BASE64.decode(sealed).unwrap()).unwrap();
        assert_eq!(opened, b"s3cret");
        // GitHub's documented example key is 33 bytes: refused before anything changes.
        let err = seal("2Sg8iYjAxxmI2LvUXpJjkYrMxURPc8r+dB7TJyvv1234", b"x").unwrap_err();
        assert!(err.to_string().contains("33 bytes"), "{err}");
    }

    #[test]
    fn sensitive_values_do_not_print() {
        let s = Sensitive("hunter2".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
    }
}
