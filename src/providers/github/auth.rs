//! Where a GitHub token comes from, per host, in order:
//! 1. `SKYDECK_GITHUB_TOKEN` (any host), or the variable named by the host's `token_env`;
//! 2. `GH_TOKEN`, `GITHUB_TOKEN` (github.com) / `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN` (other hosts);
//! 3. the OS keyring entry written by `skydeck auth login github [--host H]`;
//! 4. `gh auth token --hostname H`.
//!
//! The token itself is never printed or logged; only which source supplied it.

use std::process::Command;

pub use crate::paths::KEYRING_SERVICE;

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub value: String,
    /// Where it came from, for `skydeck auth status` (never the value).
    pub source: String,
}

pub fn keyring_user(host: &str) -> String {
    format!("github:{host}")
}

/// The keyring entry for a host. Tests install `keyring_core::mock` as the default store;
/// otherwise the platform store (Secret Service, Keychain, Credential Manager) is set up on
/// first use.
pub fn keyring_entry(host: &str) -> Result<keyring_core::Entry, AuthError> {
    if keyring_core::get_default_store().is_none()
        && let Err(e) = keyring::Entry::store_status()
    {
        return Err(AuthError::NoKeyring(e.to_string()));
    }
    keyring_core::Entry::new(KEYRING_SERVICE, &keyring_user(host)).map_err(|e| AuthError::Keyring(e.to_string()))
}

/// Why no token could be found or stored; each says what to do.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AuthError {
    #[error("no OS keyring is available ({0})")]
    NoKeyring(String),
    #[error("keyring: {0}")]
    Keyring(String),
    #[error(
        "no GitHub token for {host}: run `skydeck auth login github{login}` (token on stdin), `gh auth login`, or set SKYDECK_GITHUB_TOKEN"
    )]
    NoToken { host: String, login: String },
}

impl From<AuthError> for crate::providers::BuildError {
    fn from(e: AuthError) -> Self {
        crate::providers::BuildError::Credentials(e.to_string())
    }
}

fn env_token(name: &str) -> Option<Token> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| Token { value: v.trim().to_string(), source: format!("${name}") })
}

/// The first token the chain finds for `host`, or why there is none (with the fix).
pub fn resolve(host: &str, token_env: Option<&str>) -> Result<Token, AuthError> {
    let mut names: Vec<&str> = vec!["SKYDECK_GITHUB_TOKEN"];
    if let Some(n) = token_env {
        names.insert(0, n);
    }
    if host == "github.com" {
        names.extend(["GH_TOKEN", "GITHUB_TOKEN"]);
    } else {
        names.extend(["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"]);
    }
    if let Some(t) = names.iter().find_map(|n| env_token(n)) {
        return Ok(t);
    }
    if let Ok(entry) = keyring_entry(host)
        && let Ok(value) = entry.get_password()
        && !value.is_empty()
    {
        return Ok(Token { value, source: "OS keyring (skydeck auth login)".into() });
    }
    if let Some(value) = gh_token(host) {
        return Ok(Token { value, source: format!("gh auth token --hostname {host}") });
    }
    let login = if host == "github.com" { String::new() } else { format!(" --host {host}") };
    Err(AuthError::NoToken { host: host.to_string(), login })
}

fn gh_token(host: &str) -> Option<String> {
    let out = Command::new("gh").args(["auth", "token", "--hostname", host]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let token = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!token.is_empty()).then_some(token)
}

/// Stores a token in the OS keyring. Returns where it went, or why it could not be stored.
pub fn store(host: &str, token: &str) -> Result<String, AuthError> {
    let entry = keyring_entry(host)?;
    entry.set_password(token).map_err(|e| AuthError::Keyring(e.to_string()))?;
    Ok(format!("the OS keyring (service '{KEYRING_SERVICE}', account '{}')", keyring_user(host)))
}
