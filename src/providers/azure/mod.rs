//! Azure through `azure_identity` tokens and plain REST (reqwest, rustls): App Service web apps,
//! their slots and plans; `PostgreSQL` Flexible Servers and their backups; Key Vault secret
//! metadata; Blob storage protection; Azure Monitor metrics; Log Analytics logs; and the deploy credential of each
//! environment (a Microsoft Entra app password kept as a GitHub Actions secret).
//!
//! Actions: promote / roll back = swap the `staging` slot with production; restore = a
//! point-in-time restore into a new server; rotate = a new Key Vault secret version (value from
//! stdin) or a new deploy credential (never shown).
//!
//! One source per subscription. With no subscription configured, one source reads every
//! enabled subscription the login can see. Logs and deploy credentials belong to the first.

mod identity;
pub use identity::{PROVIDER, kind};
pub mod alerts;
pub mod auth;
pub mod client;
pub mod config;
pub mod keyvault;
pub mod logs;
pub mod monitor;
pub mod postgres;
pub mod rotate;
pub mod storage;
pub mod web;

use crate::actions::not_applicable;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde::Deserialize;

use self::auth::{CredentialKind, TokenSource};
use self::client::{Api, AzureClient, Scopes};
use super::{
    AlertControl, BoxFuture, BuildError, Capabilities, PointInTimeRestore, Provider, ProviderError, RotateSecret,
    Source, TrafficShift, canonical_environment, environment_of,
};
use crate::actions::{ActionError, ActionRequest, Plan, Risk, TargetKind, Verb, find_target, tier_of};
use crate::config::Config;
use crate::model::{LogLine, Snapshot, Tier, Timestamp};
use config::AzureConfig;

pub const SUBSCRIPTIONS_API: &str = "2022-12-01";

/// Endpoints of one Azure cloud.
struct Cloud {
    arm: &'static str,
    authority: &'static str,
    graph: &'static str,
    keyvault_suffix: &'static str,
    log_analytics: &'static str,
}

fn cloud(name: Option<&str>) -> Cloud {
    match name {
        Some("china") => Cloud {
            arm: "https://management.chinacloudapi.cn",
            authority: "https://login.chinacloudapi.cn",
            graph: "https://microsoftgraph.chinacloudapi.cn",
            keyvault_suffix: "vault.azure.cn",
            log_analytics: "https://api.loganalytics.azure.cn",
        },
        Some("usgov") => Cloud {
            arm: "https://management.usgovcloudapi.net",
            authority: "https://login.microsoftonline.us",
            graph: "https://graph.microsoft.us",
            keyvault_suffix: "vault.usgovcloudapi.net",
            log_analytics: "https://api.loganalytics.us",
        },
        _ => Cloud {
            arm: "https://management.azure.com",
            authority: "https://login.microsoftonline.com",
            graph: "https://graph.microsoft.com",
            keyvault_suffix: "vault.azure.net",
            log_analytics: "https://api.loganalytics.io",
        },
    }
}

/// Where the deploy credential of each environment lives.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploySettings {
    /// Service principals are named `<app>-<env>-app`.
    pub app: String,
    pub repo: String,
    /// The secret is an environment secret (else a repository secret).
    pub environment_secrets: bool,
    /// Also keep the value in this vault.
    pub vault: Option<String>,
    pub github_api: String,
    pub github_token_env: Option<String>,
}

/// `[azure]` with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub subscriptions: Vec<String>,
    pub tenant_id: Option<String>,
    pub credential: CredentialKind,
    pub client_id: Option<String>,
    pub arm: String,
    pub authority_host: String,
    pub graph: String,
    pub keyvault_suffix: String,
    pub vaults: Vec<String>,
    pub log_analytics: String,
    pub workspaces: Vec<String>,
    pub log_query: String,
    /// `{host}` is replaced by the app's default host name; `None`: no health check.
    pub health_url: Option<String>,
    pub health_tries: u32,
    pub health_interval: Duration,
    pub deploy: Option<DeploySettings>,
    pub operation_timeout: Duration,
    pub poll_interval: Duration,
}

pub const DEFAULT_LOG_QUERY: &str =
    "union isfuzzy=true AppServiceConsoleLogs, AppServiceAppLogs | order by TimeGenerated asc | take 2000";

fn trim_url(u: &str) -> String {
    u.trim_end_matches('/').to_string()
}

impl Settings {
    pub fn from_config(section: &AzureConfig, config: &Config) -> Settings {
        let c = cloud(section.cloud.as_deref());
        let mut subscriptions: Vec<String> = section.subscription_id.iter().cloned().collect();
        for s in &section.subscriptions {
            if !subscriptions.contains(s) {
                subscriptions.push(s.clone());
            }
        }
        let deploy = match (&section.deploy_app, &section.github_repo) {
            (Some(app), Some(repo)) => {
                // Only `[github]`'s host and token settings are read; parse has checked it.
                let gh = config.section::<crate::providers::github::config::GithubConfig>().ok().flatten();
                let gh = gh.as_ref();
                let host = gh.and_then(|g| g.hosts.iter().find(|h| h.repos.contains(repo)));
                let github_api = host
                    .and_then(|h| h.api_url.clone())
                    .or_else(|| gh.and_then(|g| g.api_url.clone()))
                    .unwrap_or_else(|| "https://api.github.com".into());
                let github_token_env =
                    host.and_then(|h| h.token_env.clone()).or_else(|| gh.and_then(|g| g.token_env.clone()));
                Some(DeploySettings {
                    app: app.clone(),
                    repo: repo.clone(),
                    environment_secrets: section.github_secret_scope.as_deref() == Some("environment"),
                    vault: section.deploy_secret_vault.as_deref().map(trim_url),
                    github_api: trim_url(&github_api),
                    github_token_env,
                })
            }
            _ => None,
        };
        Settings {
            subscriptions,
            tenant_id: section.tenant_id.clone(),
            credential: CredentialKind::parse(section.credential.as_deref()),
            client_id: section.client_id.clone(),
            arm: trim_url(section.arm_endpoint.as_deref().unwrap_or(c.arm)),
            authority_host: trim_url(section.authority_host.as_deref().unwrap_or(c.authority)),
            graph: trim_url(section.graph_endpoint.as_deref().unwrap_or(c.graph)),
            keyvault_suffix: section.keyvault_suffix.clone().unwrap_or_else(|| c.keyvault_suffix.to_string()),
            vaults: section.vaults.iter().map(|v| trim_url(v)).collect(),
            log_analytics: trim_url(section.log_analytics_endpoint.as_deref().unwrap_or(c.log_analytics)),
            workspaces: section.log_analytics_workspaces.clone(),
            log_query: section.log_query.clone().unwrap_or_else(|| DEFAULT_LOG_QUERY.to_string()),
            health_url: match section.health_url.as_deref() {
                Some("") => None,
                Some(u) => Some(u.to_string()),
                None => Some("https://{host}/api/v1/health".into()),
            },
            health_tries: section.health_tries.unwrap_or(10).max(1),
            health_interval: Duration::from_secs(section.health_interval_seconds.unwrap_or(10)),
            deploy,
            operation_timeout: Duration::from_secs(section.operation_timeout_seconds.unwrap_or(1800)),
            poll_interval: Duration::from_secs(section.poll_seconds.unwrap_or(5)),
        }
    }

    /// Token audiences: each API's root plus `/.default`.
    pub fn scopes(&self) -> Scopes {
        Scopes {
            arm: format!("{}/.default", self.arm),
            keyvault: format!("https://{}/.default", self.keyvault_suffix),
            graph: format!("{}/.default", self.graph),
            log_analytics: format!("{}/.default", self.log_analytics),
        }
    }
}

/// The registry's entry: builds from the `[azure]` section, `None` without one.
pub async fn from_config(ctx: &super::BuildContext<'_>) -> Option<Result<Vec<Arc<dyn Provider>>, BuildError>> {
    let section = match super::section_of::<config::AzureConfig>(ctx)? {
        Ok(section) => section,
        Err(why) => return Some(Err(why)),
    };
    Some(build(&section, ctx).await)
}

pub async fn build(section: &AzureConfig, ctx: &super::BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let settings = Settings::from_config(section, ctx.config);
    let credentials = auth::credentials(&settings)?;
    build_with(settings, credentials, ctx.config)
}

/// `build` with the credentials given (tests pass an Azure CLI credential whose `az` is a
/// stand-in).
pub fn build_with(
    settings: Settings,
    credentials: auth::Credentials,
    config: &Config,
) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let tokens = Arc::new(TokenSource::new(credentials, settings.credential, settings.tenant_id.clone()));
    let client = AzureClient::new(tokens, settings.scopes(), settings.poll_interval, settings.operation_timeout)?
        .with_request_timeout(super::net::request_timeout(config));
    let shared = Arc::new(Shared {
        client,
        settings: settings.clone(),
        config: config.clone(),
        meta: Mutex::new(Meta::default()),
        last_log_query: Mutex::new(None),
    });
    let scopes: Vec<Option<String>> = if settings.subscriptions.is_empty() {
        vec![None]
    } else {
        settings.subscriptions.iter().cloned().map(Some).collect()
    };
    let many = scopes.len() > 1;
    Ok(scopes
        .into_iter()
        .enumerate()
        .map(|(i, subscription)| {
            let name = match (&subscription, many) {
                (Some(s), true) => format!("azure:{}", s.chars().take(8).collect::<String>()),
                _ => "azure".to_string(),
            };
            Arc::new(AzureProvider { name, subscription, extras: i == 0, shared: shared.clone() }) as Arc<dyn Provider>
        })
        .collect())
}

/// What a fetch learned that plan/execute/verify need and the model does not carry.
#[derive(Default)]
pub struct Meta {
    pub sites: HashMap<String, web::SiteMeta>,
    pub servers: HashMap<String, postgres::ServerMeta>,
    pub max_connections: HashMap<String, f64>,
    pub kv_secrets: HashMap<String, keyvault::SecretMeta>,
    pub deploy: HashMap<String, rotate::DeployMeta>,
    /// Results of executed actions that verify checks (new version ids, new key ids).
    pub done: HashMap<String, String>,
    /// The last read of each subscription's storage accounts (see [`storage::STORAGE_CACHE`]).
    pub storage: HashMap<String, (Instant, Vec<crate::model::ObjectStore>)>,
    /// Per fired alert, its rule and target (what `silence` needs).
    pub alerts: HashMap<String, alerts::AlertMeta>,
}

/// One client, token cache and metadata for all subscriptions.
pub struct Shared {
    pub client: AzureClient,
    pub settings: Settings,
    pub config: Config,
    meta: Mutex<Meta>,
    last_log_query: Mutex<Option<Instant>>,
}

impl Shared {
    pub fn meta(&self) -> MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The environment of a resource: its `environment`/`env` tag, else a name suffix, else
    /// "unassigned"; spelled as the config spells it.
    pub fn environment(&self, name: &str, tags: Option<&HashMap<String, String>>) -> String {
        let found =
            environment_of(name, tags.into_iter().flat_map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        if found == "unassigned" {
            return found;
        }
        let canonical = canonical_environment(&found);
        self.config
            .environments
            .iter()
            .find(|e| canonical_environment(&e.name) == canonical)
            .map(|e| e.name.clone())
            .unwrap_or(canonical)
    }

    pub fn tier(&self, environment: &str) -> Tier {
        self.config.tier_of(environment)
    }

    pub fn arm_url(&self, path: &str, api_version: &str) -> String {
        format!("{}{path}?api-version={api_version}", self.settings.arm)
    }
}

pub struct AzureProvider {
    name: String,
    /// `None`: every enabled subscription the login sees.
    subscription: Option<String>,
    /// Logs, explicit vaults and deploy credentials are read by the first source only.
    extras: bool,
    shared: Arc<Shared>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionPayload {
    subscription_id: String,
    #[serde(default)]
    state: Option<String>,
}

/// `/subscriptions/{s}/resourceGroups/{rg}/...` -> (s, rg).
pub fn subscription_and_group(id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = id.split('/').collect();
    let s = parts.iter().position(|p| p.eq_ignore_ascii_case("subscriptions"))?;
    let g = parts.iter().position(|p| p.eq_ignore_ascii_case("resourceGroups"))?;
    Some((parts.get(s + 1)?.to_string(), parts.get(g + 1)?.to_string()))
}

/// The last segment of an ARM id (the resource's name).
pub fn last_segment(id: &str) -> String {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id).to_string()
}

impl AzureProvider {
    async fn subscriptions(&self) -> Result<Vec<String>, ProviderError> {
        if let Some(s) = &self.subscription {
            return Ok(vec![s.clone()]);
        }
        let url = self.shared.arm_url("/subscriptions", SUBSCRIPTIONS_API);
        let subs: Vec<SubscriptionPayload> = self.shared.client.list(Api::Arm, &url).await?;
        let enabled: Vec<String> = subs
            .into_iter()
            .filter(|s| s.state.as_deref().is_none_or(|st| st == "Enabled"))
            .map(|s| s.subscription_id)
            .collect();
        if enabled.is_empty() {
            return Err(ProviderError::Unavailable(
                "the Azure login sees no enabled subscription: set [azure] subscription_id, or `az login` with another account".into(),
            ));
        }
        Ok(enabled)
    }

    async fn fetch_all(&self) -> Result<Snapshot, ProviderError> {
        let s = &self.shared;
        let subs = self.subscriptions().await?;
        let mut snap = Snapshot::default();
        let mut problems: Vec<String> = Vec::new();
        let mut parts = 0;
        let mut failed: Vec<ProviderError> = Vec::new();
        let mut alert_notes: Vec<String> = Vec::new();
        let mut storage_read = Vec::new();
        let mut storage_problems: Vec<String> = Vec::new();
        let mut take = |label: &str, r: Result<Snapshot, ProviderError>, snap: &mut Snapshot| {
            parts += 1;
            match r {
                Ok(part) => {
                    snap.extend(&part);
                    if let Some(note) = part.source_note {
                        problems.push(note);
                    }
                }
                Err(e) => {
                    problems.push(format!("{label}: {e}"));
                    failed.push(e);
                }
            }
        };
        for sub in &subs {
            let discover = s.settings.vaults.is_empty();
            let (webs, dbs, vaults, (alerts, rules), stores) = tokio::join!(
                web::fetch(s, sub),
                postgres::fetch(s, sub),
                async { if discover { Some(keyvault::fetch_subscription(s, sub).await) } else { None } },
                async { tokio::join!(alerts::fetch(s, sub), alerts::fetch_rules(s, sub)) },
                storage::fetch(s, sub),
            );
            take(&format!("web apps ({sub})"), webs, &mut snap);
            take(&format!("PostgreSQL ({sub})"), dbs, &mut snap);
            // Alerts are a note when they fail, never the reason the source fails.
            match alerts {
                Ok(part) => {
                    snap.alerts.extend(part.alerts);
                    alert_notes.extend(part.source_note);
                }
                Err(e) => alert_notes.push(format!("Azure Monitor alerts ({sub}): {e}")),
            }
            match rules {
                Ok(rules) => snap.alert_rules.extend(rules),
                Err(e) => alert_notes.push(format!("metric alert rules ({sub}): {e}")),
            }
            if let Some(vaults) = vaults {
                take(&format!("Key Vault ({sub})"), vaults, &mut snap);
            }
            // Storage accounts are read besides the rest and never decide the fetch on their own.
            match stores {
                Ok(stores) => storage_read.extend(stores),
                Err(e) => storage_problems.push(format!("storage accounts ({sub}): {e}")),
            }
        }
        if self.extras {
            if !s.settings.vaults.is_empty() {
                let results = join_all(s.settings.vaults.iter().map(|v| keyvault::fetch_vault(s, v))).await;
                for (v, r) in s.settings.vaults.iter().zip(results) {
                    take(&format!("Key Vault {v}"), r, &mut snap);
                }
            }
            if s.settings.deploy.is_some() {
                take("deploy credentials", Ok(rotate::fetch(s).await), &mut snap);
            }
        }
        // Without a login nothing else matters: say so instead of a list of 403s.
        if let Some(auth) = failed.iter().find(|e| matches!(e, ProviderError::Auth { .. }))
            && (failed.len() == parts
                || matches!(auth, ProviderError::Auth { message, .. } if message.starts_with("no Azure sign-in")))
        {
            return Err(auth.clone());
        }
        if parts > 0 && failed.len() == parts {
            return Err(failed.remove(0));
        }
        problems.extend(alert_notes);
        snap.storage.extend(storage_read);
        problems.extend(storage_problems);
        for p in &problems {
            tracing::warn!("azure: {p}");
        }
        snap.source_note = (!problems.is_empty()).then(|| problems.join(" · "));
        Ok(snap)
    }
}

impl Source for AzureProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.shared.config.refresh.seconds.max(1))
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(self.fetch_all())
    }

    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move {
            if !self.extras || self.shared.settings.workspaces.is_empty() {
                return Ok(Vec::new());
            }
            // The loop asks every second; Log Analytics is asked at most every 15 s.
            {
                let mut last = self.shared.last_log_query.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if last.is_some_and(|at| at.elapsed() < logs::QUERY_EVERY) {
                    return Ok(Vec::new());
                }
                *last = Some(Instant::now());
            }
            logs::fetch(&self.shared, after).await
        })
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            traffic_shift: Some(self),
            point_in_time_restore: Some(self),
            rotate_secret: Some(self),
            alert_control: Some(self),
            refusals: &[(
                Verb::Snapshot,
                "Azure takes PostgreSQL Flexible Server backups automatically; restore to a point in time with `restore`",
            )],
            ..Capabilities::NONE
        }
    }
}

/// The actions. The target decides the call (an App Service slot swap, a `PostgreSQL` restore, a
/// deploy credential or a Key Vault secret), whichever handler the verb came to; `execute` and
/// `verify` follow the plan's payload.
impl AzureProvider {
    fn plan_target(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let target =
            find_target(snapshot, &request.target).ok_or_else(|| ActionError::NotFound(request.target.clone()))?;
        let mut plan = Plan {
            request: request.clone(),
            source: self.name.clone(),
            target_name: target.name.clone(),
            environment: target.environment.clone(),
            // The config knows tiers the name does not tell (`name = "main", tier = "prod"`).
            tier: if self.shared.config.environments.iter().any(|e| e.name == target.environment) {
                self.shared.tier(&target.environment)
            } else {
                tier_of(snapshot, &target.environment)
            },
            risk: Risk::Low,
            summary: String::new(),
            calls: Vec::new(),
            verification: String::new(),
            touches: None,
            action_name: None,
            payload: Default::default(),
        };
        plan.request.target = target.id.clone();
        let s = &self.shared;
        let configured = |env: &str| {
            let known = s.config.environments.iter().any(|e| e.name == env);
            if known { Some(s.tier(env)) } else { crate::actions::tier_of_known(snapshot, env) }
        };
        plan.touch_destinations(snapshot, &target, &configured);
        let verb = request.verb;
        let (is_site, is_server, is_kv, is_deploy) = {
            let m = s.meta();
            (
                m.sites.contains_key(&target.id),
                m.servers.contains_key(&target.id),
                m.kv_secrets.contains_key(&target.id),
                m.deploy.contains_key(&target.id),
            )
        };
        match (target.kind, verb) {
            (TargetKind::Resource, Verb::Promote | Verb::Rollback) if is_site => web::plan_swap(s, &mut plan)?,
            (TargetKind::Resource | TargetKind::Backup, Verb::Restore) if is_server => {
                postgres::plan_restore(s, &mut plan, snapshot)?;
            }
            (TargetKind::Secret, Verb::Rotate) if is_deploy => rotate::plan(s, &mut plan)?,
            (TargetKind::Secret, Verb::Rotate) if is_kv => keyvault::plan_set(s, &mut plan)?,
            (TargetKind::Alert, Verb::Ack) => alerts::plan_ack(s, &mut plan, snapshot)?,
            (TargetKind::Alert, Verb::Silence) => alerts::plan_silence(s, &mut plan, snapshot)?,
            (kind, verb) => {
                return Err(not_applicable(
                    verb,
                    &target.name,
                    format!("Azure offers no '{verb}' for this {kind:?}").to_lowercase(),
                ));
            }
        }
        if plan.tier == Tier::Prod && plan.risk == Risk::Low {
            plan.risk = Risk::High;
        }
        Ok(plan)
    }

    fn execute_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let s = &self.shared;
            match plan.payload::<AzureCall>()? {
                AzureCall::Swap { .. } => web::execute_swap(s, plan).await,
                AzureCall::Restore { .. } => postgres::execute_restore(s, plan).await,
                AzureCall::DeployCredential { .. } => rotate::execute(s, plan).await,
                AzureCall::KeyVaultSet => keyvault::execute_set(s, plan).await,
                AzureCall::Ack { .. } => alerts::execute_ack(s, plan).await,
                AzureCall::Silence { .. } => alerts::execute_silence(s, plan).await,
            }
        })
    }

    fn verify_call<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let s = &self.shared;
            match plan.payload::<AzureCall>()? {
                AzureCall::Swap { .. } => web::verify_swap(s, plan).await,
                AzureCall::Restore { .. } => postgres::verify_restore(s, plan).await,
                AzureCall::DeployCredential { .. } => rotate::verify(s, plan).await,
                AzureCall::KeyVaultSet => keyvault::verify_set(s, plan).await,
                AzureCall::Ack { .. } => alerts::verify_ack(s, plan).await,
                AzureCall::Silence { .. } => alerts::verify_silence(s, plan).await,
            }
        })
    }
}

/// App Service: swap a deployment slot with production (`to`/`slot` names the slot).
impl TrafficShift for AzureProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["to", "slot"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_target(request, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.execute_call(plan)
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.verify_call(plan)
    }
}

/// `PostgreSQL` flexible server: a point-in-time restore into a new server.
impl PointInTimeRestore for AzureProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["time", "name"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_target(request, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.execute_call(plan)
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.verify_call(plan)
    }
}

/// A Key Vault secret from the typed value, or the deploy credential (`days`: how long the new
/// password is valid).
impl RotateSecret for AzureProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["days"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_target(request, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.execute_call(plan)
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.verify_call(plan)
    }
}

/// Azure Monitor: acknowledge a fired alert (the reason becomes its comment), or silence its
/// notifications for a while (`for`).
impl AlertControl for AzureProvider {
    fn accepted_params(&self, verb: Verb) -> &'static [&'static str] {
        if verb == Verb::Silence { &["for"] } else { &[] }
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_target(request, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.execute_call(plan)
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        self.verify_call(plan)
    }
}

/// What an Azure plan does; `execute` and `verify` read only this (and the target), never the
/// request's params.
#[derive(Debug, serde::Serialize)]
enum AzureCall {
    /// App Service: swap `slot` with production; production then serves `expected_version`
    /// (it served `previous_version`).
    Swap { slot: String, expected_version: String, previous_version: String },
    /// `PostgreSQL` flexible server: `PUT url body` creates the new server `name` as of `time`.
    Restore { url: String, body: serde_json::Value, name: String, time: String },
    /// The deploy credential: a new Entra password valid `days`, stored in GitHub (and Key Vault).
    DeployCredential { days: i64 },
    /// Key Vault: a new version of the secret, from the typed value.
    KeyVaultSet,
    /// Azure Monitor: `POST url` (changestate to Acknowledged) for the alert `id`.
    Ack { id: String, url: String, comments: Option<String> },
    /// Alert processing rule `rule_name` at `url`: no action groups for `rule` (or the alert
    /// named `alert_name`) on `target`, for `minutes` from when it is executed.
    Silence {
        url: String,
        rule_name: String,
        rule: String,
        alert_name: String,
        target: String,
        minutes: i64,
        note: String,
    },
}

pub fn failed(e: ProviderError) -> ActionError {
    ActionError::Failed(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Settings {
        let loaded = crate::config::parse(text, "c.toml").unwrap();
        Settings::from_config(
            &loaded.config.section::<crate::providers::azure::config::AzureConfig>().unwrap().unwrap(),
            &loaded.config,
        )
    }

    #[test]
    fn defaults_are_the_public_cloud() {
        let s = settings("[azure]\nsubscription_id = \"s1\"\n");
        assert_eq!(s.subscriptions, ["s1"]);
        assert_eq!(s.arm, "https://management.azure.com");
        assert_eq!(s.authority_host, "https://login.microsoftonline.com");
        assert_eq!(s.scopes().arm, "https://management.azure.com/.default");
        assert_eq!(s.scopes().keyvault, "https://vault.azure.net/.default");
        assert_eq!(s.scopes().graph, "https://graph.microsoft.com/.default");
        assert_eq!(s.scopes().log_analytics, "https://api.loganalytics.io/.default");
        assert_eq!(s.credential, CredentialKind::Default);
        assert_eq!(s.health_url.as_deref(), Some("https://{host}/api/v1/health"));
        assert_eq!(s.deploy, None);
    }

    #[test]
    fn sovereign_clouds_and_explicit_endpoints() {
        let s = settings("[azure]\ncloud = \"china\"\nsubscriptions = [\"a\", \"b\"]\nsubscription_id = \"a\"\n");
        assert_eq!(s.subscriptions, ["a", "b"]);
        assert_eq!(s.arm, "https://management.chinacloudapi.cn");
        assert_eq!(s.authority_host, "https://login.chinacloudapi.cn");
        assert_eq!(s.scopes().keyvault, "https://vault.azure.cn/.default");
        let s = settings("[azure]\ncloud = \"usgov\"\narm_endpoint = \"http://127.0.0.1:9/\"\nhealth_url = \"\"\n");
        assert_eq!(s.arm, "http://127.0.0.1:9");
        assert_eq!(s.authority_host, "https://login.microsoftonline.us");
        assert_eq!(s.graph, "https://graph.microsoft.us");
        assert_eq!(s.health_url, None);
    }

    #[test]
    fn deploy_settings_take_the_github_host_of_the_repo() {
        let s = settings(
            "[github]\nrepos = [\"o/other\"]\n[[github.hosts]]\napi_url = \"https://ghe.example.com/api/v3\"\nrepos = [\"team/shop\"]\ntoken_env = \"GHE\"\n[azure]\ndeploy_app = \"shop\"\ngithub_repo = \"team/shop\"\n",
        );
        let d = s.deploy.unwrap();
        assert_eq!(d.github_api, "https://ghe.example.com/api/v3");
        assert_eq!(d.github_token_env.as_deref(), Some("GHE"));
        assert!(!d.environment_secrets);
        let s = settings(
            "[azure]\ndeploy_app = \"shop\"\ngithub_repo = \"o/shop\"\ngithub_secret_scope = \"environment\"\n",
        );
        let d = s.deploy.unwrap();
        assert_eq!(d.github_api, "https://api.github.com");
        assert!(d.environment_secrets);
    }

    #[test]
    fn arm_ids_split() {
        let id = "/subscriptions/34adfa4f/resourceGroups/testrg123/providers/Microsoft.Web/sites/sitef6141";
        assert_eq!(subscription_and_group(id), Some(("34adfa4f".to_string(), "testrg123".to_string())));
        assert_eq!(last_segment(id), "sitef6141");
    }
}
