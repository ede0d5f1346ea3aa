//! The boundary where remote text enters skydeck. The loop and the CLI reach a provider only
//! through [`Provider`], which is implemented once, here, for every [`Source`]: snapshots, log
//! lines, input forms, action results and errors are cleaned on their way out, so they carry no
//! terminal escape sequences or control characters (log text keeps its SGR colours for the
//! viewer). `Provider` is sealed (no other impl can exist) and its impl below writes out every
//! method (`clippy::missing_trait_methods`), so no method can reach a provider without passing
//! here. The views and the CLI clean what they print once more (`crate::text`), for text that did
//! not come through a provider.

use std::time::Duration;

use super::{BoxFuture, Capabilities, ProviderError, Source};
use crate::actions::{ActionError, ActionRequest, InputSpec, Plan, Verb, find_target};
use crate::model::{
    Alert, AlertRule, Approval, Backup, Deployment, Environment, HealthCheck, Job, LogLine, Metric, ObjectStore,
    Resource, Run, Secret, Snapshot, Step, Timestamp,
};
use crate::text::{for_log, for_terminal};

mod private {
    pub trait Sealed {}
    impl<T: super::Source + ?Sized> Sealed for T {}
}

/// A provider as the rest of skydeck sees it: a [`Source`] plus its capabilities, everything it
/// returns cleaned. Implemented for every `Source`; nothing implements it by hand.
pub trait Provider: Send + Sync + private::Sealed {
    fn name(&self) -> &str;
    fn refresh_interval(&self) -> Duration;
    fn logs_pending(&self) -> bool;
    /// See [`Source::changed`].
    fn changed(&self) -> BoxFuture<'_, ()>;
    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>>;
    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>>;
    fn fetch_older_logs(&self, limit: usize) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>>;
    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>>;
    /// Whether the provider has a handler for `verb` at all (it may still refuse a target).
    fn supports(&self, verb: Verb) -> bool;
    /// The `--param` keys the handler for `verb` reads; none without a handler.
    fn accepted_params(&self, verb: Verb) -> &'static [&'static str];
    /// Inputs an action needs before planning (the dispatch form).
    fn action_inputs<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>>;
    /// The handler's plan; `NotFound` when the target is not this provider's, `NotApplicable`
    /// (one message, [`Capabilities::refusal`]) when the provider has no handler for the verb.
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError>;
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
}

/// Not this provider's plan, or a verb it has no handler for (a plan is routed by its source name,
/// so this is a plan made elsewhere).
fn no_handler(plan: &Plan) -> ActionError {
    crate::actions::not_applicable(
        plan.request.verb,
        &plan.target_name,
        format!("{} has no handler for it", plan.source),
    )
}

#[deny(clippy::missing_trait_methods)]
impl<T: Source + ?Sized> Provider for T {
    fn name(&self) -> &str {
        Source::name(self)
    }

    fn refresh_interval(&self) -> Duration {
        Source::refresh_interval(self)
    }

    fn logs_pending(&self) -> bool {
        Source::logs_pending(self)
    }

    fn changed(&self) -> BoxFuture<'_, ()> {
        Source::changed(self)
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async move { Source::fetch(self).await.map(cleaned).map_err(cleaned) })
    }

    fn fetch_logs(&self, after: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { Source::fetch_logs(self, after).await.map(cleaned).map_err(cleaned) })
    }

    fn fetch_older_logs(&self, limit: usize) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { Source::fetch_older_logs(self, limit).await.map(cleaned).map_err(cleaned) })
    }

    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(async move { Source::fetch_log(self, target).await.map(cleaned).map_err(cleaned) })
    }

    fn supports(&self, verb: Verb) -> bool {
        self.capabilities().handler(verb).is_some()
    }

    fn accepted_params(&self, verb: Verb) -> &'static [&'static str] {
        self.capabilities().handler(verb).map_or(&[], |h| h.accepted_params(verb))
    }

    fn action_inputs<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
        Box::pin(async move {
            let Some(handler) = self.capabilities().handler(request.verb) else {
                return Ok(Vec::new());
            };
            let mut specs = handler.action_inputs(request).await.map_err(cleaned)?;
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

    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let caps: Capabilities<'_> = self.capabilities();
        let planned = match caps.handler(request.verb) {
            Some(handler) => handler.plan(request, snapshot),
            None => match find_target(snapshot, &request.target) {
                Some(target) => Err(caps.refusal(Source::name(self), request.verb, &target)),
                None => Err(ActionError::NotFound(request.target.clone())),
            },
        };
        planned.map_err(clean_action_error)
    }

    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let Some(handler) = self.capabilities().handler(plan.request.verb) else {
                return Err(clean_action_error(no_handler(plan)));
            };
            handler.execute(plan).await.map(cleaned).map_err(clean_action_error)
        })
    }

    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let Some(handler) = self.capabilities().handler(plan.request.verb) else {
                return Err(clean_action_error(no_handler(plan)));
            };
            handler.verify(plan).await.map(cleaned).map_err(clean_action_error)
        })
    }
}

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
    ObjectStore { id, name, environment, region, object_lock, replication, link }
    Alert { id, source, name, resource, environment, link, acked_by }
    AlertRule { id, source, name, environment, link }
    Snapshot { environments, runs, approvals, deployments, resources, backups, health, metrics, secrets, storage, alerts, alert_rules, source_note }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RunStatus, Severity, Tier};

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

    /// A hostile source: every text it returns carries escapes. Through `Provider` (the only way
    /// the loop and the CLI reach it), none survives.
    struct Hostile;
    const EVIL: &str = "x\u{1b}]0;pwned\u{7}\u{1b}[2J";

    fn evil_plan(request: &ActionRequest) -> Plan {
        Plan {
            request: request.clone(),
            source: "hostile".into(),
            target_name: "t".into(),
            environment: "dev".into(),
            tier: Tier::Dev,
            risk: crate::actions::Risk::Low,
            summary: String::new(),
            calls: Vec::new(),
            verification: String::new(),
            touches: None,
            action_name: None,
            payload: Default::default(),
        }
    }

    fn evil_line() -> LogLine {
        LogLine {
            at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            source: EVIL.into(),
            severity: Severity::Info,
            text: EVIL.into(),
        }
    }

    impl Source for Hostile {
        fn name(&self) -> &'static str {
            "hostile"
        }
        fn refresh_interval(&self) -> Duration {
            Duration::from_secs(7)
        }
        fn logs_pending(&self) -> bool {
            true
        }
        fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
            Box::pin(async { Ok(Snapshot { source_note: Some(EVIL.into()), ..Snapshot::default() }) })
        }
        fn fetch_logs(&self, _: Option<Timestamp>) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
            Box::pin(async { Ok(vec![evil_line()]) })
        }
        fn fetch_older_logs(&self, _: usize) -> BoxFuture<'_, Result<Vec<LogLine>, ProviderError>> {
            Box::pin(async { Err(ProviderError::Unavailable(EVIL.into())) })
        }
        fn fetch_log<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
            Box::pin(async { Ok(vec![evil_line()]) })
        }
        fn capabilities(&self) -> Capabilities<'_> {
            Capabilities { run_control: Some(self), ..Capabilities::NONE }
        }
    }

    impl super::super::RunControl for Hostile {
        fn accepted_params(&self, _: Verb) -> &'static [&'static str] {
            &["failed"]
        }
        fn action_inputs<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
            Box::pin(async {
                Ok(vec![InputSpec {
                    name: EVIL.into(),
                    description: EVIL.into(),
                    required: true,
                    default: Some(EVIL.into()),
                    options: vec![EVIL.into()],
                    kind: EVIL.into(),
                }])
            })
        }
        fn plan(&self, request: &ActionRequest, _: &Snapshot) -> Result<Plan, ActionError> {
            match request.verb {
                Verb::Approve => Ok(evil_plan(request)),
                _ => Err(ActionError::InvalidInput(EVIL.into())),
            }
        }
        fn execute<'a>(&'a self, _: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
            Box::pin(async { Ok(EVIL.to_string()) })
        }
        fn verify<'a>(&'a self, _: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
            Box::pin(async { Err(ActionError::VerifyFailed(EVIL.into())) })
        }
    }

    /// Every method of `Provider` passes the cleaning; the ones without text answer exactly what
    /// the source answers.
    #[test]
    fn every_provider_method_is_cleaned_or_forwarded_unchanged() {
        use futures::executor::block_on;
        let clean = |text: &str| assert!(!text.contains('\u{1b}') && !text.contains("pwned"), "{text:?}");
        let p: std::sync::Arc<dyn Provider> = std::sync::Arc::new(Hostile);
        assert_eq!((p.name(), p.refresh_interval(), p.logs_pending()), ("hostile", Duration::from_secs(7), true));
        clean(&block_on(p.fetch()).unwrap().source_note.unwrap());
        clean(&block_on(p.fetch_logs(None)).unwrap()[0].source);
        clean(&block_on(p.fetch_log("job")).unwrap()[0].text);
        clean(&block_on(p.fetch_older_logs(1)).unwrap_err().to_string());
        let request = ActionRequest::new(Verb::Approve, "t");
        let specs = block_on(p.action_inputs(&request)).unwrap();
        let s = &specs[0];
        for text in [&s.name, &s.description, s.default.as_ref().unwrap(), &s.options[0], &s.kind] {
            clean(text);
        }
        assert!(p.supports(Verb::Cancel) && !p.supports(Verb::Scale));
        assert_eq!(p.accepted_params(Verb::Rerun), ["failed"]);
        assert!(p.accepted_params(Verb::Scale).is_empty(), "no handler, no params");
        clean(&p.plan(&ActionRequest::new(Verb::Cancel, "t"), &Snapshot::default()).unwrap_err().to_string());
        let plan = p.plan(&request, &Snapshot::default()).unwrap();
        clean(&block_on(p.execute(&plan)).unwrap());
        clean(&block_on(p.verify(&plan)).unwrap_err().to_string());
        // A verb without a handler: not found when the target is not there, else one refusal.
        assert!(matches!(
            p.plan(&ActionRequest::new(Verb::Scale, "t"), &Snapshot::default()),
            Err(ActionError::NotFound(_))
        ));
    }
}
