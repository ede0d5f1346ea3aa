//! `[azure]`: the section, its defaults and its checks.

use serde::Deserialize;

use crate::config::line_of_key;

/// `[azure]`. Only what differs from the defaults needs to be written; with no subscription
/// given, every enabled subscription the login can see is read.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AzureConfig {
    pub subscription_id: Option<String>,
    /// Several subscriptions side by side (one source each).
    pub subscriptions: Vec<String>,
    pub tenant_id: Option<String>,
    /// One of [`AZURE_CREDENTIALS`]. Default: the Azure CLI login (then azd), then a client
    /// secret from `AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`/`AZURE_TENANT_ID`. Never probes
    /// managed identity unless asked to.
    pub credential: Option<String>,
    /// Client id of a user-assigned managed identity or of the workload identity.
    pub client_id: Option<String>,
    /// `public` (default), `china` or `usgov`: the defaults for every endpoint below.
    pub cloud: Option<String>,
    pub arm_endpoint: Option<String>,
    pub authority_host: Option<String>,
    pub graph_endpoint: Option<String>,
    /// DNS suffix of Key Vault (`vault.azure.net`), used for the token audience.
    pub keyvault_suffix: Option<String>,
    /// Vault URLs to read; when empty, the vaults of each subscription are discovered.
    pub vaults: Vec<String>,
    pub log_analytics_endpoint: Option<String>,
    /// Log Analytics workspace ids (GUIDs) whose logs stream into the log viewer.
    pub log_analytics_workspaces: Vec<String>,
    /// KQL for the log viewer (default: App Service console and application logs).
    pub log_query: Option<String>,
    /// Health URL checked after a swap; `{host}` is the app's default host name.
    /// Default `https://{host}/api/v1/health`; empty turns the check off.
    pub health_url: Option<String>,
    pub health_tries: Option<u32>,
    pub health_interval_seconds: Option<u64>,
    /// Deploy credential rotation: service principals are named `<deploy_app>-<env>-app`.
    pub deploy_app: Option<String>,
    /// The repository holding `AZURE_CLIENT_SECRET_<ENV>`.
    pub github_repo: Option<String>,
    /// `repository` (default) or `environment`: where that secret lives.
    pub github_secret_scope: Option<String>,
    /// Also store the new deploy secret in this vault (URL), as `azure-client-secret-<env>`.
    pub deploy_secret_vault: Option<String>,
    /// Longest wait for a long-running operation (swap, restore) before reporting it as running.
    pub operation_timeout_seconds: Option<u64>,
    /// Poll interval of long-running operations when Azure does not say (`Retry-After`).
    pub poll_seconds: Option<u64>,
}

/// Values `[azure] credential` accepts.
pub const AZURE_CREDENTIALS: [&str; 5] =
    ["cli", "developer_tools", "client_secret", "managed_identity", "workload_identity"];

impl AzureConfig {
    /// Checks that point at `file:line` (the line in `text`).
    fn checks(&self, text: &str) -> Result<(), (usize, String)> {
        let line = |key: &str| line_of_key(text, key);
        if let Some(c) = &self.credential
            && !AZURE_CREDENTIALS.contains(&c.as_str())
        {
            return Err((
                line("credential"),
                format!("[azure] credential '{c}' is not one of {}", AZURE_CREDENTIALS.join(", ")),
            ));
        }
        if let Some(c) = &self.cloud
            && !["public", "china", "usgov"].contains(&c.as_str())
        {
            return Err((line("cloud"), format!("[azure] cloud '{c}' is not one of public, china, usgov")));
        }
        let urls = [
            ("arm_endpoint", self.arm_endpoint.as_deref()),
            ("authority_host", self.authority_host.as_deref()),
            ("graph_endpoint", self.graph_endpoint.as_deref()),
            ("log_analytics_endpoint", self.log_analytics_endpoint.as_deref()),
            ("deploy_secret_vault", self.deploy_secret_vault.as_deref()),
        ];
        for (key, value) in urls.into_iter().chain(self.vaults.iter().map(|v| ("vaults", Some(v.as_str())))) {
            if let Some(v) = value
                && !(v.starts_with("https://") || v.starts_with("http://"))
            {
                return Err((line(key), format!("[azure] {key} '{v}' must start with https:// or http://")));
            }
        }
        if let Some(repo) = &self.github_repo
            && (repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/'))
        {
            return Err((line("github_repo"), format!("[azure] github_repo '{repo}' must be written owner/name")));
        }
        if let Some(scope) = &self.github_secret_scope
            && scope != "repository"
            && scope != "environment"
        {
            return Err((
                line("github_secret_scope"),
                format!("[azure] github_secret_scope '{scope}' is not one of repository, environment"),
            ));
        }
        if self.deploy_app.is_some() != self.github_repo.is_some() {
            return Err((
                line(if self.deploy_app.is_some() { "deploy_app" } else { "github_repo" }),
                "[azure] deploy_app and github_repo go together (rotation writes the app's secret into the repository)"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl crate::config::ConfigSection for AzureConfig {
    const KEY: &'static str = "azure";

    fn validate(&self, text: &str) -> Result<(), (usize, String)> {
        self.checks(text)
    }
}
