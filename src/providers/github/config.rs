//! `[github]`: the section, its defaults and its checks.

use serde::Deserialize;

use crate::config::line_of;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct GithubConfig {
    pub api_url: Option<String>,
    pub repos: Vec<String>,
    pub hosts: Vec<GithubHostConfig>,
    /// An environment variable holding this host's token (for several hosts, each its own).
    pub token_env: Option<String>,
    /// Newest runs listed per repository (pages of 100 are followed).
    pub max_runs: usize,
    /// The workflow that deploys (file name or id): roll back re-runs it at an earlier sha.
    pub deploy_workflow: Option<String>,
    /// If the deploy workflow takes the sha as a `workflow_dispatch` input, its name.
    pub deploy_ref_input: Option<String>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            api_url: None,
            repos: Vec::new(),
            hosts: Vec::new(),
            token_env: None,
            max_runs: 100,
            deploy_workflow: None,
            deploy_ref_input: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GithubHostConfig {
    pub api_url: Option<String>,
    pub repos: Vec<String>,
    pub token_env: Option<String>,
    pub max_runs: Option<usize>,
    pub deploy_workflow: Option<String>,
    pub deploy_ref_input: Option<String>,
}

impl GithubConfig {
    /// Checks that point at `file:line` (the line in `text`).
    fn checks(&self, text: &str) -> Result<(), (usize, String)> {
        for repo in self.repos.iter().chain(self.hosts.iter().flat_map(|h| &h.repos)) {
            if repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/') {
                let line = text.find(repo.as_str()).map_or(1, |at| line_of(text, at));
                return Err((line, format!("repository '{repo}' must be written owner/name")));
            }
        }
        Ok(())
    }
}

impl crate::config::ConfigSection for GithubConfig {
    const KEY: &'static str = "github";

    fn validate(&self, text: &str) -> Result<(), (usize, String)> {
        self.checks(text)
    }
}
