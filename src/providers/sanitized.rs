//! The boundary where remote text enters skydeck: every provider is wrapped in [`Sanitized`],
//! so snapshots, log lines and errors carry no terminal escape sequences or control characters
//! (log text keeps its SGR colours for the viewer). The views and the CLI clean what they print
//! once more (`crate::text`), for text that did not come through a provider.

use std::sync::Arc;
use std::time::Duration;

use super::{BoxFuture, Provider, ProviderError};
use crate::actions::{ActionError, ActionRequest, InputSpec, Plan};
use crate::model::*;
use crate::text::{for_log, for_terminal};

/// Wraps `provider` so that everything it reads is cleaned.
pub fn sanitized(provider: Arc<dyn Provider>) -> Arc<dyn Provider> {
    Arc::new(Sanitized(provider))
}

pub struct Sanitized(Arc<dyn Provider>);

/// Cleans every text field in place.
pub trait Clean {
    fn clean(&mut self);
}

impl Clean for String {
    fn clean(&mut self) {
        if let std::borrow::Cow::Owned(clean) = for_terminal(self) {
            *self = clean;
        }
    }
}

impl<T: Clean> Clean for Option<T> {
    fn clean(&mut self) {
        if let Some(v) = self {
            v.clean();
        }
    }
}

impl<T: Clean> Clean for Vec<T> {
    fn clean(&mut self) {
        self.iter_mut().for_each(Clean::clean);
    }
}

impl<A: Clean, B: Clean> Clean for (A, B) {
    fn clean(&mut self) {
        self.0.clean();
        self.1.clean();
    }
}

macro_rules! clean_fields {
    ($($t:ty { $($field:ident),* })*) => {
        $(impl Clean for $t {
            fn clean(&mut self) {
                $(self.$field.clean();)*
            }
        })*
    };
}

clean_fields! {
    Environment { name, protection_rules }
    Step { name }
    Job { id, name, steps }
    Run { id, repo, workflow, title, branch, sha, event, actor, url, jobs }
    Deployment { id, environment, repo, sha, git_ref, creator, run_id, description }
    Approval { id, run, repo, workflow, environment, sha, reviewers }
    HealthCheck { id, environment, name, url, error }
    Metric { environment, resource }
    Resource { id, name, kind, environment, region, status, current_version, versions, details }
    Backup { id, resource, database, environment, last_status }
    Secret { id, name, store, environment }
    Snapshot { environments, runs, approvals, deployments, resources, backups, health, metrics, secrets, source_note }
}

impl Clean for LogLine {
    fn clean(&mut self) {
        self.source.clean();
        if let std::borrow::Cow::Owned(clean) = for_log(&self.text) {
            self.text = clean;
        }
    }
}

impl Clean for ProviderError {
    fn clean(&mut self) {
        match self {
            ProviderError::Auth { message, fix } => {
                message.clean();
                fix.clean();
            }
            ProviderError::Unavailable(m) | ProviderError::Payload(m) => m.clean(),
            ProviderError::RateLimited { .. } | ProviderError::Timeout(_) => {}
        }
    }
}

fn cleaned<T: Clean>(mut value: T) -> T {
    value.clean();
    value
}

fn clean_action_error(mut e: ActionError) -> ActionError {
    // In place, so the variant (NotFound routes a request to the next provider) is kept.
    match &mut e {
        ActionError::NotFound(m)
        | ActionError::MissingInput(m)
        | ActionError::InvalidInput(m)
        | ActionError::NotConfirmed(m)
        | ActionError::Failed(m)
        | ActionError::VerifyFailed(m)
        | ActionError::Audit(m) => m.clean(),
        ActionError::NotApplicable { what, why, .. } => {
            what.clean();
            why.clean();
        }
        _ => {}
    }
    e
}

impl Provider for Sanitized {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn refresh_interval(&self) -> Duration {
        self.0.refresh_interval()
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async move { self.0.fetch().await.map(cleaned).map_err(cleaned) })
    }

    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { self.0.fetch_logs(after).await.map(cleaned).map_err(cleaned) })
    }

    fn fetch_older_logs(&self, limit: usize) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { self.0.fetch_older_logs(limit).await.map(cleaned).map_err(cleaned) })
    }

    fn logs_pending(&self) -> bool {
        self.0.logs_pending()
    }

    fn accepted_params(&self, verb: crate::actions::Verb) -> &'static [&'static str] {
        self.0.accepted_params(verb)
    }

    fn action_inputs<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
        Box::pin(async move {
            let mut specs = self.0.action_inputs(request).await.map_err(cleaned)?;
            for s in &mut specs {
                s.name.clean();
                s.description.clean();
                s.default.clean();
                s.options.clean();
                s.kind.clean();
            }
            Ok(specs)
        })
    }

    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { self.0.fetch_log(target).await.map(cleaned).map_err(cleaned) })
    }

    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.0.plan(request, snapshot).map_err(clean_action_error)
    }

    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move { self.0.execute(plan).await.map(cleaned).map_err(clean_action_error) })
    }

    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move { self.0.verify(plan).await.map(cleaned).map_err(clean_action_error) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_field_of_a_snapshot_is_cleaned() {
        let evil = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{8}\r";
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let mut s = Snapshot {
            runs: vec![Run {
                id: evil.into(),
                run_id: 1,
                repo: evil.into(),
                workflow: evil.into(),
                title: evil.into(),
                branch: evil.into(),
                sha: evil.into(),
                event: evil.into(),
                actor: evil.into(),
                attempt: 1,
                status: RunStatus::Completed,
                conclusion: None,
                created_at: t,
                started_at: None,
                updated_at: t,
                url: evil.into(),
                jobs: vec![Job {
                    id: evil.into(),
                    name: evil.into(),
                    status: RunStatus::Completed,
                    conclusion: None,
                    started_at: None,
                    completed_at: None,
                    steps: vec![Step {
                        number: 1,
                        name: evil.into(),
                        status: RunStatus::Completed,
                        conclusion: None,
                        started_at: None,
                        completed_at: None,
                    }],
                }],
            }],
            source_note: Some(evil.into()),
            ..Snapshot::default()
        };
        s.clean();
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("\\u001b") && !json.contains("pwned") && !json.contains("\\b"), "{json}");
        assert_eq!(s.runs[0].jobs[0].steps[0].name, "x ");
        assert_eq!(s.source_note.as_deref(), Some("x "));
    }

    /// Every string of every part of a snapshot, poisoned through serde so that a field added
    /// later without being cleaned fails here.
    #[test]
    fn no_string_field_of_any_part_escapes_cleaning() {
        use crate::clock::ManualClock;
        // Enums and timestamps must stay parseable; every other string is text.
        fn poison(v: &mut serde_json::Value, part: &str, key: &str) {
            let typed = matches!(key, "tier" | "conclusion" | "state" | "level" | "role" | "provider")
                || (key == "status" && part != "resources")
                || (key == "kind" && part == "metrics");
            match v {
                serde_json::Value::String(s) if typed || chrono::DateTime::parse_from_rfc3339(s).is_ok() => {}
                serde_json::Value::String(s) => s.push_str("\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{8}"),
                serde_json::Value::Array(a) => a.iter_mut().for_each(|v| poison(v, part, key)),
                serde_json::Value::Object(o) => o.iter_mut().for_each(|(k, v)| poison(v, part, k)),
                _ => {}
            }
        }
        let clock = ManualClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let demo = crate::providers::sandbox::Sandbox::new(7, std::sync::Arc::new(clock)).snapshot();
        let mut value = serde_json::to_value(&demo).unwrap();
        for part in
            ["environments", "runs", "approvals", "deployments", "resources", "backups", "health", "metrics", "secrets"]
        {
            assert!(!value[part].as_array().unwrap().is_empty(), "the demo has {part}");
        }
        value["environments"][0]["protection_rules"] = serde_json::json!(["required reviewers: x"]);
        for (part, v) in value.as_object_mut().unwrap() {
            poison(v, &part.clone(), "");
        }
        let mut s: Snapshot = serde_json::from_value(value).unwrap();
        s.clean();
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("\\u001b") && !json.contains("PWNED") && !json.contains("\\b"), "{json}");
    }

    #[test]
    fn log_lines_keep_sgr_and_lose_the_rest() {
        let mut l = LogLine {
            at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            source: "ci\u{1b}]0;t\u{7}".into(),
            severity: Severity::Info,
            text: "\u{1b}[31mred\u{1b}[0m\u{1b}]52;c;eA==\u{7}".into(),
        };
        l.clean();
        assert_eq!(l.source, "ci");
        assert_eq!(l.text, "\u{1b}[31mred\u{1b}[0m");
    }

    /// Trait methods with a default body are easy to forget here; these carry no text, so
    /// they must answer exactly what the wrapped provider answers.
    #[test]
    fn methods_without_text_are_forwarded_unchanged() {
        use crate::actions::Verb;
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::SystemClock);
        let inner: Arc<dyn Provider> = Arc::new(crate::providers::sandbox::Sandbox::new(7, clock));
        let wrapped = sanitized(inner.clone());
        for verb in [Verb::Dispatch, Verb::Promote, Verb::Restore, Verb::Scale, Verb::Rotate] {
            assert_eq!(wrapped.accepted_params(verb), inner.accepted_params(verb), "{verb:?}");
        }
        assert_eq!(wrapped.refresh_interval(), inner.refresh_interval());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        // 200 000 lines of 41 bytes: the first read (100 000 lines, 4 MB) takes two batches.
        std::fs::write(&path, format!("{}\n", "x".repeat(40)).repeat(200_000)).unwrap();
        let file = sanitized(Arc::new(crate::providers::logfile::LogFile::new("f".into(), path, usize::MAX)));
        futures::executor::block_on(file.fetch_logs(None)).unwrap();
        assert!(file.logs_pending(), "4 MB of first read is more than one batch");
        let older = futures::executor::block_on(file.fetch_older_logs(10)).unwrap();
        assert_eq!(older.len(), 10, "older lines come through the wrapper");
    }
}
