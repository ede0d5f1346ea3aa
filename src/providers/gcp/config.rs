//! `[gcp]`: the section, its defaults and its checks.

use serde::Deserialize;

use crate::config::line_of_key;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GcpConfig {
    pub project: Option<String>,
    /// Several projects side by side (one provider each); `project` is added to them.
    pub projects: Vec<String>,
    /// Cloud Run regions to list; empty means every region the project can use.
    pub regions: Vec<String>,
    /// Where tokens come from (default `auto`).
    pub credentials: GcpCredentials,
    /// A service-account key file (JSON). Its `token_uri` is where tokens are exchanged.
    pub credentials_file: Option<String>,
    /// API base URLs (private endpoints, tests).
    pub endpoints: GcpEndpoints,
    /// A Cloud Logging filter `ANDed` to every log query (e.g. `severity>=WARNING`).
    pub log_filter: Option<String>,
    /// Path probed on a Cloud Run service's URL after promote/rollback; "" turns the probe off.
    pub health_path: Option<String>,
}

impl GcpConfig {
    /// `project` and `projects` together, in order, without repeats.
    pub fn all_projects(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.project.iter().chain(&self.projects) {
            let p = p.trim();
            if !p.is_empty() && !out.iter().any(|known| known == p) {
                out.push(p.to_string());
            }
        }
        out
    }
}

/// `auto`: a `credentials_file` if given, else `gcp_auth`'s search (`GOOGLE_APPLICATION_CREDENTIALS`,
/// the application-default credentials file, the metadata server, gcloud).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GcpCredentials {
    #[default]
    Auto,
    /// `credentials_file`, else the file named by `GOOGLE_APPLICATION_CREDENTIALS`.
    ServiceAccount,
    /// `gcloud auth application-default login`.
    Adc,
    /// `gcloud auth print-access-token`.
    Gcloud,
}

/// Base URLs of the Google APIs skydeck calls; unset ones use Google's public endpoints.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct GcpEndpoints {
    pub run: Option<String>,
    pub sqladmin: Option<String>,
    pub secretmanager: Option<String>,
    pub logging: Option<String>,
    pub monitoring: Option<String>,
    pub storage: Option<String>,
}

impl GcpEndpoints {
    fn all(&self) -> [(&'static str, Option<&String>); 6] {
        [
            ("run", self.run.as_ref()),
            ("sqladmin", self.sqladmin.as_ref()),
            ("secretmanager", self.secretmanager.as_ref()),
            ("logging", self.logging.as_ref()),
            ("monitoring", self.monitoring.as_ref()),
            ("storage", self.storage.as_ref()),
        ]
    }
}

impl GcpConfig {
    /// Checks that point at `file:line` (the line in `text`).
    fn checks(&self, text: &str) -> Result<(), (usize, String)> {
        for (name, url) in self.endpoints.all() {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err((
                    line_of_key(text, name),
                    format!("[gcp.endpoints] {name}: '{url}' must start with http:// or https://"),
                ));
            }
        }
        if self.credentials_file.is_some() && matches!(self.credentials, GcpCredentials::Adc | GcpCredentials::Gcloud) {
            return Err((
                line_of_key(text, "credentials_file"),
                "[gcp] credentials_file is a service-account key: use it with credentials = \"service_account\" or \"auto\""
                    .into(),
            ));
        }
        Ok(())
    }
}

impl crate::config::ConfigSection for GcpConfig {
    const KEY: &'static str = "gcp";

    fn validate(&self, text: &str) -> Result<(), (usize, String)> {
        self.checks(text)
    }
}
