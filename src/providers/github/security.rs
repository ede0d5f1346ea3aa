//! GitHub's security alerts of each repository, open ones only: Dependabot
//! (`/dependabot/alerts`), code scanning (`/code-scanning/alerts`) and secret scanning
//! (`/secret-scanning/alerts`). A feature that is off or a token without the scope (403, 404)
//! is a note, not a failed source.
//!
//! Secret scanning answers with the leaked `secret` itself: the payload type below has no such
//! field, so serde drops it on reading and it is never kept, shown, logged or stored.
//!
//! Severity: Dependabot's advisory severity and code scanning's `security_severity_level`
//! (critical, high, medium, low) map to critical, error, warning, info; code scanning rules
//! without one use the rule's severity (error, warning, note); a leaked secret is critical.

use serde::Deserialize;

use super::GithubProvider;
use crate::model::{Alert, AlertKind, AlertSeverity, AlertState, Timestamp};
use crate::providers::ProviderError;

/// Alerts per repository and kind at most.
const MAX_ALERTS: usize = 300;

#[derive(Debug, Deserialize)]
pub(crate) struct DependabotAlert {
    number: u64,
    /// open, dismissed, fixed, resolved...: only open ones are kept, whatever the query asked.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    dependency: Option<Dependency>,
    #[serde(default)]
    security_advisory: Option<Advisory>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    manifest_path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Package {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Advisory {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeScanningAlert {
    number: u64,
    /// open, dismissed, fixed, resolved...: only open ones are kept, whatever the query asked.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    rule: Option<Rule>,
    #[serde(default)]
    tool: Option<Tool>,
    #[serde(default)]
    most_recent_instance: Option<Instance>,
}

#[derive(Debug, Deserialize)]
struct Rule {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    security_severity_level: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tool {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Instance {
    #[serde(default)]
    location: Option<Location>,
}

#[derive(Debug, Deserialize)]
struct Location {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    start_line: Option<u64>,
}

/// A secret scanning alert without its `secret` (see the module's documentation).
#[derive(Debug, Deserialize)]
pub(crate) struct SecretScanningAlert {
    number: u64,
    /// open, dismissed, fixed, resolved...: only open ones are kept, whatever the query asked.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    secret_type: Option<String>,
    #[serde(default)]
    secret_type_display_name: Option<String>,
    #[serde(default)]
    first_location_detected: Option<Location>,
}

/// Open, or a payload that does not say (the query asked for `state=open`; a server that
/// ignores the filter, as GitHub's own examples do, still shows only open alerts).
fn is_open(state: Option<&str>) -> bool {
    state.is_none_or(|s| s.eq_ignore_ascii_case("open"))
}

/// critical/high/medium/low (and GitHub's other spellings) on skydeck's scale.
fn graded(level: &str) -> Option<AlertSeverity> {
    match level.to_ascii_lowercase().as_str() {
        "critical" => Some(AlertSeverity::Critical),
        "high" | "error" => Some(AlertSeverity::Error),
        "medium" | "moderate" | "warning" => Some(AlertSeverity::Warning),
        "low" | "note" | "none" => Some(AlertSeverity::Info),
        _ => None,
    }
}

fn at(path: Option<&str>, line: Option<u64>) -> Option<String> {
    let path = path?;
    Some(match line {
        Some(l) => format!("{path}:{l}"),
        None => path.to_string(),
    })
}

impl GithubProvider {
    fn alert(&self, repo: &str, kind: &str, number: u64, source: &str) -> Alert {
        Alert {
            id: format!("github:{}{repo}:{kind}:{number}", self.prefix()),
            provider: crate::providers::github::PROVIDER,
            source: source.into(),
            kind: AlertKind::Security,
            name: String::new(),
            severity: AlertSeverity::Warning,
            state: AlertState::Firing,
            resource: repo.to_string(),
            environment: String::new(),
            since: None,
            link: None,
            can_ack: false,
            can_silence: false,
            silenced_until: None,
            acked_by: None,
        }
    }

    pub(crate) fn dependabot_alert(&self, repo: &str, a: &DependabotAlert) -> Alert {
        let advisory = a.security_advisory.as_ref();
        let package = a.dependency.as_ref().and_then(|d| d.package.as_ref()).and_then(|p| p.name.clone());
        let manifest = a.dependency.as_ref().and_then(|d| d.manifest_path.clone());
        let severity = advisory.and_then(|s| s.severity.as_deref()).and_then(graded);
        let summary = advisory.and_then(|s| s.summary.clone()).unwrap_or_else(|| "vulnerable dependency".into());
        let mut alert = self.alert(repo, "dependabot", a.number, "Dependabot");
        alert.name = match (&package, severity) {
            (Some(p), Some(s)) => format!("{p}: {summary} ({})", s.label()),
            (Some(p), None) => format!("{p}: {summary}"),
            (None, _) => summary,
        };
        alert.severity = severity.unwrap_or(AlertSeverity::Warning);
        if let Some(m) = manifest {
            alert.resource = format!("{repo} · {m}");
        }
        alert.since = a.created_at;
        alert.link = a.html_url.clone();
        alert
    }

    pub(crate) fn code_scanning_alert(&self, repo: &str, a: &CodeScanningAlert) -> Alert {
        let rule = a.rule.as_ref();
        let severity = rule
            .and_then(|r| r.security_severity_level.as_deref().and_then(graded))
            .or_else(|| rule.and_then(|r| r.severity.as_deref()).and_then(graded))
            .unwrap_or(AlertSeverity::Warning);
        let what = rule
            .and_then(|r| r.description.clone().or_else(|| r.id.clone()))
            .unwrap_or_else(|| "code scanning alert".into());
        let tool = a.tool.as_ref().and_then(|t| t.name.clone());
        let mut alert = self.alert(repo, "code-scanning", a.number, "code scanning");
        alert.name = match tool {
            Some(t) => format!("{what} ({t})"),
            None => what,
        };
        alert.severity = severity;
        let location = a.most_recent_instance.as_ref().and_then(|i| i.location.as_ref());
        if let Some(l) = location.and_then(|l| at(l.path.as_deref(), l.start_line)) {
            alert.resource = format!("{repo} · {l}");
        }
        alert.since = a.created_at;
        alert.link = a.html_url.clone();
        alert
    }

    pub(crate) fn secret_scanning_alert(&self, repo: &str, a: &SecretScanningAlert) -> Alert {
        let mut alert = self.alert(repo, "secret-scanning", a.number, "secret scanning");
        let kind = a.secret_type_display_name.clone().or_else(|| a.secret_type.clone());
        alert.name = format!("leaked {}", kind.unwrap_or_else(|| "secret".into()));
        alert.severity = AlertSeverity::Critical;
        let location = a.first_location_detected.as_ref();
        if let Some(l) = location.and_then(|l| at(l.path.as_deref(), l.start_line)) {
            alert.resource = format!("{repo} · {l}");
        }
        alert.since = a.created_at;
        alert.link = a.html_url.clone();
        alert
    }

    /// The open security alerts of one repository, and notes for the kinds it could not read.
    pub(crate) async fn fetch_security(&self, repo: &str) -> (Vec<Alert>, Vec<String>) {
        let c = &self.client;
        let dependabot = format!("/repos/{repo}/dependabot/alerts?state=open&per_page=100");
        let code = format!("/repos/{repo}/code-scanning/alerts?state=open&per_page=100");
        let secrets = format!("/repos/{repo}/secret-scanning/alerts?state=open&per_page=100");
        let (d, cs, ss) = tokio::join!(
            c.get_paginated::<DependabotAlert>(&dependabot, None, MAX_ALERTS),
            c.get_paginated::<CodeScanningAlert>(&code, None, MAX_ALERTS),
            c.get_paginated::<SecretScanningAlert>(&secrets, None, MAX_ALERTS),
        );
        let mut alerts = Vec::new();
        let mut notes = Vec::new();
        let mut note = |what: &str, e: &ProviderError| {
            let why = match e {
                ProviderError::Auth { .. } => "not readable with this token (403)".to_string(),
                ProviderError::Unavailable(m) if m.contains("has no") => "off or not visible (404)".to_string(),
                other => other.to_string(),
            };
            tracing::info!("{repo} {what}: {e}");
            notes.push(format!("{repo} {what}: {why}"));
        };
        match d {
            Ok(list) => alerts
                .extend(list.iter().filter(|a| is_open(a.state.as_deref())).map(|a| self.dependabot_alert(repo, a))),
            Err(e) => note("Dependabot alerts", &e),
        }
        match cs {
            Ok(list) => alerts
                .extend(list.iter().filter(|a| is_open(a.state.as_deref())).map(|a| self.code_scanning_alert(repo, a))),
            Err(e) => note("code scanning alerts", &e),
        }
        match ss {
            Ok(list) => alerts.extend(
                list.iter().filter(|a| is_open(a.state.as_deref())).map(|a| self.secret_scanning_alert(repo, a)),
            ),
            Err(e) => note("secret scanning alerts", &e),
        }
        (alerts, notes)
    }
}
