//! Tokens from `azure_identity`. `azure_identity` 1.0 has no `DefaultAzureCredential`, so the chain
//! is built here: `credential` picks one, and without it skydeck tries the Azure CLI login
//! (then the Azure Developer CLI), then a client secret from the environment. Managed and
//! workload identity are used only when asked for, so nothing probes 169.254.169.254 by surprise.
//!
//! Tokens are cached per scope until five minutes before they expire (the CLI credential runs
//! `az` on every call otherwise). Token values never leave this module except as the bearer
//! header; errors carry only what the credential said.

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::ClientOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use super::Settings;
use crate::providers::{BuildError, ProviderError};

/// Which credential `[azure] credential` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Azure CLI, then Azure Developer CLI, then a client secret from the environment.
    Default,
    Cli,
    DeveloperTools,
    ClientSecret,
    ManagedIdentity,
    WorkloadIdentity,
}

impl CredentialKind {
    pub fn parse(value: Option<&str>) -> CredentialKind {
        match value {
            Some("cli") => CredentialKind::Cli,
            Some("developer_tools") => CredentialKind::DeveloperTools,
            Some("client_secret") => CredentialKind::ClientSecret,
            Some("managed_identity") => CredentialKind::ManagedIdentity,
            Some("workload_identity") => CredentialKind::WorkloadIdentity,
            _ => CredentialKind::Default,
        }
    }

    /// What to do when this credential cannot get a token.
    pub fn fix(self, tenant: Option<&str>) -> String {
        let login = match tenant {
            Some(t) => format!("run `az login --tenant {t}`"),
            None => "run `az login`".to_string(),
        };
        match self {
            CredentialKind::Default => format!(
                "{login} (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal)"
            ),
            CredentialKind::Cli => login,
            CredentialKind::DeveloperTools => format!("{login} or `azd auth login`"),
            CredentialKind::ClientSecret => {
                "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or drop `credential` and run `az login`"
                    .to_string()
            }
            CredentialKind::ManagedIdentity => {
                format!("run skydeck on an Azure host with a managed identity, or drop `credential` and {login}")
            }
            CredentialKind::WorkloadIdentity => {
                "check AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID of the pod".to_string()
            }
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn client_options(settings: &Settings) -> ClientOptions {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = settings.authority_host.clone();
    ClientOptions { cloud: Some(Arc::new(CloudConfiguration::Custom(custom))), ..Default::default() }
}

fn client_secret_from_env(settings: &Settings) -> Result<Option<Arc<dyn TokenCredential>>, BuildError> {
    let (Some(client_id), Some(secret)) = (env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET")) else {
        return Ok(None);
    };
    let Some(tenant) = settings.tenant_id.clone().or_else(|| env("AZURE_TENANT_ID")) else {
        return Err(BuildError::Credentials(
            "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are set but no tenant: set AZURE_TENANT_ID or [azure] tenant_id"
                .into(),
        ));
    };
    let options = ClientSecretCredentialOptions { client_options: client_options(settings) };
    ClientSecretCredential::new(&tenant, client_id, Secret::new(secret), Some(options))
        .map(|c| Some(c as Arc<dyn TokenCredential>))
        .map_err(|e| BuildError::Credentials(format!("client secret credential: {e}")))
}

/// Credentials to try in order, each with a label for errors.
pub type Credentials = Vec<(&'static str, Arc<dyn TokenCredential>)>;

/// The credentials `[azure] credential` asks for, in order.
pub fn credentials(settings: &Settings) -> Result<Credentials, BuildError> {
    let cli = || -> Result<Arc<dyn TokenCredential>, BuildError> {
        AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: settings.tenant_id.clone(),
            ..Default::default()
        }))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| BuildError::Credentials(format!("Azure CLI credential: {e}")))
    };
    let azd = || -> Result<Arc<dyn TokenCredential>, BuildError> {
        AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
            tenant_id: settings.tenant_id.clone(),
            ..Default::default()
        }))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| BuildError::Credentials(format!("Azure Developer CLI credential: {e}")))
    };
    Ok(match settings.credential {
        CredentialKind::Default => {
            let mut out = vec![("Azure CLI", cli()?), ("Azure Developer CLI", azd()?)];
            match client_secret_from_env(settings) {
                Ok(Some(c)) => out.push(("client secret from the environment", c)),
                Ok(None) => {}
                // Half a service principal in the environment must not block the CLI login.
                Err(e) => tracing::warn!("azure: {e}"),
            }
            out
        }
        CredentialKind::Cli => vec![("Azure CLI", cli()?)],
        CredentialKind::DeveloperTools => vec![("Azure CLI", cli()?), ("Azure Developer CLI", azd()?)],
        CredentialKind::ClientSecret => match client_secret_from_env(settings)? {
            Some(c) => vec![("client secret", c)],
            None => {
                return Err(BuildError::Credentials(format!(
                    "credential = \"client_secret\" but AZURE_CLIENT_ID / AZURE_CLIENT_SECRET are not set: {}",
                    CredentialKind::ClientSecret.fix(None)
                )));
            }
        },
        CredentialKind::ManagedIdentity => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: settings.client_id.clone().map(UserAssignedId::ClientId),
                ..Default::default()
            };
            let c = ManagedIdentityCredential::new(Some(options))
                .map_err(|e| BuildError::Credentials(format!("managed identity: {e}")))?;
            vec![("managed identity", c as Arc<dyn TokenCredential>)]
        }
        CredentialKind::WorkloadIdentity => {
            let mut options = WorkloadIdentityCredentialOptions {
                client_id: settings.client_id.clone(),
                tenant_id: settings.tenant_id.clone(),
                ..Default::default()
            };
            options.credential_options.client_options = client_options(settings);
            let c = WorkloadIdentityCredential::new(Some(options))
                .map_err(|e| BuildError::Credentials(format!("workload identity: {e}")))?;
            vec![("workload identity", c as Arc<dyn TokenCredential>)]
        }
    })
}

#[derive(Clone)]
struct Cached {
    token: String,
    expires: DateTime<Utc>,
}

/// A chain of credentials with a token cache per scope. The first credential that answers is
/// remembered and asked first from then on.
pub struct TokenSource {
    sources: Credentials,
    kind: CredentialKind,
    tenant: Option<String>,
    cache: Mutex<(HashMap<String, Cached>, Option<usize>)>,
}

impl TokenSource {
    pub fn new(sources: Credentials, kind: CredentialKind, tenant: Option<String>) -> TokenSource {
        TokenSource { sources, kind, tenant, cache: Mutex::new((HashMap::new(), None)) }
    }

    pub fn fix(&self) -> String {
        self.kind.fix(self.tenant.as_deref())
    }

    /// A bearer token for `scope` (e.g. `https://management.azure.com/.default`).
    pub async fn token(&self, scope: &str) -> Result<String, ProviderError> {
        // Held across the credential call so concurrent requests wait for one `az` run.
        let mut guard = self.cache.lock().await;
        let now = Utc::now();
        if let Some(c) = guard.0.get(scope)
            && c.expires - Duration::minutes(5) > now
        {
            return Ok(c.token.clone());
        }
        let mut order: Vec<usize> = (0..self.sources.len()).collect();
        if let Some(first) = guard.1 {
            order.retain(|i| *i != first);
            order.insert(0, first);
        }
        let mut errors = Vec::new();
        for i in order {
            let (label, credential) = &self.sources[i];
            match credential.get_token(&[scope], None).await {
                Ok(t) => {
                    let expires = DateTime::from_timestamp(t.expires_on.unix_timestamp(), 0)
                        .unwrap_or_else(|| now + Duration::minutes(30));
                    let token = t.token.secret().to_string();
                    guard.0.insert(scope.to_string(), Cached { token: token.clone(), expires });
                    guard.1 = Some(i);
                    return Ok(token);
                }
                Err(e) => errors.push(format!("{label}: {}", first_line(&e.to_string()))),
            }
        }
        Err(ProviderError::Auth { message: format!("no Azure sign-in ({})", errors.join("; ")), fix: self.fix() })
    }

    /// Forgets the cached token of `scope` (after a 401, so the next call asks again).
    pub async fn invalidate(&self, scope: &str) {
        self.cache.lock().await.0.remove(scope);
    }
}

/// The first useful line of a credential error: `azure_identity` appends a troubleshooting link
/// and the CLI prints multi-line help.
fn first_line(text: &str) -> String {
    let lines: Vec<&str> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("To troubleshoot")).collect();
    let mut out = lines.join(" ");
    if out.chars().count() > 300 {
        out = out.chars().take(300).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_choice_says_how_to_fix_it() {
        assert_eq!(CredentialKind::parse(Some("cli")).fix(None), "run `az login`");
        assert_eq!(CredentialKind::parse(Some("cli")).fix(Some("contoso")), "run `az login --tenant contoso`");
        assert!(CredentialKind::parse(None).fix(None).starts_with("run `az login`"));
        assert!(CredentialKind::parse(Some("client_secret")).fix(None).contains("AZURE_CLIENT_SECRET"));
        assert_eq!(CredentialKind::parse(Some("workload_identity")), CredentialKind::WorkloadIdentity);
        assert_eq!(CredentialKind::parse(Some("managed_identity")), CredentialKind::ManagedIdentity);
        assert_eq!(CredentialKind::parse(Some("developer_tools")), CredentialKind::DeveloperTools);
    }

    fn settings(credential: &str) -> Settings {
        let text =
            format!("[azure]\ncredential = \"{credential}\"\nclient_id = \"00000000-0000-0000-0000-000000000001\"\n");
        let loaded = crate::config::parse(&text, "c.toml").unwrap();
        Settings::from_config(
            &loaded.config.section::<crate::providers::azure::config::AzureConfig>().unwrap().unwrap(),
            &loaded.config,
        )
    }

    #[test]
    fn each_choice_builds_its_credentials_without_asking_anything() {
        // Building a credential sends nothing: no `az` run, no token request, no IMDS probe.
        let labels =
            |c: &str| -> Vec<&'static str> { credentials(&settings(c)).unwrap().iter().map(|(l, _)| *l).collect() };
        assert_eq!(labels("cli"), ["Azure CLI"]);
        assert_eq!(labels("developer_tools"), ["Azure CLI", "Azure Developer CLI"]);
        assert_eq!(labels("managed_identity"), ["managed identity"]);
        let default = credentials(&Settings { credential: CredentialKind::Default, ..settings("cli") }).unwrap();
        // Then a client secret, only when AZURE_CLIENT_ID / AZURE_CLIENT_SECRET are set.
        assert_eq!(default[0].0, "Azure CLI");
        assert_eq!(default[1].0, "Azure Developer CLI");
        assert!(default.len() <= 3);
    }

    #[test]
    fn credential_errors_keep_the_message_not_the_link() {
        let e = "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.\nTo troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot#azure-cli";
        assert_eq!(
            first_line(e),
            "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account."
        );
    }
}
