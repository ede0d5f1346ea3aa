//! The one audited path every mutation takes, verb actions and plugin runs alike:
//! gate (`--read-only` refuses before anything is sent) → audit "started" (durable; if it
//! cannot be written nothing runs) → execute → verify → audit "finished" / "failed" /
//! "interrupted" (linked to "started") → the open incident's timeline.
//!
//! An [`Operation`] says what it is (for the audit entries), what `--read-only` does to it,
//! how to execute and verify it, and what its caller gets back. [`Action`] is a confirmed
//! verb plan on its provider; `plugins::PluginOp` is a prepared plugin command line.
//!
//! Every run is in the pipeline's [`Running`] set while it runs, so quitting skydeck can
//! close its audit entry ([`Pipeline::shutdown`]): each "started" gets exactly one closing
//! entry. Every entry the pipeline writes goes through [`Core::write`], the one place to
//! hang a post-audit hook.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{ActionError, Plan};
use crate::clock::{Clock, SystemClock};
use crate::providers::{BoxFuture, Provider};
use crate::store::{AuditEntry, AuditPhase, Store, StoreError};

/// The result of one action run through the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub plan: Plan,
    pub result: Result<Done, ActionFailure>,
}

/// An action that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Done {
    /// What the provider did and what verify saw.
    pub detail: String,
    /// It happened, but its "finished" audit entry could not be written (said, never hidden).
    pub audit_warning: Option<String>,
}

impl Done {
    pub fn new(detail: impl Into<String>) -> Self {
        Done { detail: detail.into(), audit_warning: None }
    }
}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)?;
        match &self.audit_warning {
            Some(e) => write!(f, " (warning: audit 'finished' entry not written: {e})"),
            None => Ok(()),
        }
    }
}

/// Why an action did not happen, or did not finish.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "failure", content = "error", rename_all = "snake_case")]
pub enum ActionFailure {
    /// `--read-only` refused it before anything was sent.
    #[error("{0}")]
    ReadOnly(String),
    /// Its "started" audit entry could not be written, so nothing was sent.
    #[error("{0}")]
    Unaudited(String),
    /// The source that planned it went away before it ran; nothing was sent.
    #[error("source {0} is gone")]
    SourceGone(String),
    /// Sent, and it failed or verify found it not done.
    #[error("{0}")]
    Failed(String),
    /// skydeck quit while it ran.
    #[error("{0}")]
    Interrupted(String),
}

impl ActionFailure {
    /// For scripts (`act` JSON `failure`): whether anything may have reached the provider.
    pub fn kind(&self) -> &'static str {
        match self {
            ActionFailure::ReadOnly(_) => "read_only",
            ActionFailure::Unaudited(_) => "unaudited",
            ActionFailure::SourceGone(_) => "source_gone",
            ActionFailure::Failed(_) => "failed",
            ActionFailure::Interrupted(_) => "interrupted",
        }
    }
}

/// What the audit log says an operation is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// `rollback`, `approve`, ... or `plugin`.
    pub verb: String,
    pub target: String,
    pub target_name: String,
    pub environment: String,
    /// The provider, or `plugin:NAME`.
    pub source: String,
    pub reason: Option<String>,
    /// The "started" entry's detail: what is about to happen.
    pub detail: String,
    /// How quitting names it while it runs ("slow", "rollback web-prod").
    pub label: String,
}

/// What `--read-only` does to an operation that may not run then.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOnlyRefusal {
    /// Why, for the caller.
    pub why: String,
    /// Some(detail): the refusal is written to the audit log as a "refused" entry.
    pub audit: Option<String>,
}

/// Why the pipeline did not start an operation. Nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    ReadOnly(String),
    /// The "started" entry could not be written.
    #[error("{0}")]
    Audit(StoreError),
}

/// How an operation ended, as its closing audit entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Finished(String),
    Failed(String),
    /// Stopped because skydeck quit while it ran.
    Interrupted(String),
}

impl Verdict {
    pub fn phase(&self) -> AuditPhase {
        match self {
            Verdict::Finished(_) => AuditPhase::Finished,
            Verdict::Failed(_) => AuditPhase::Failed,
            Verdict::Interrupted(_) => AuditPhase::Interrupted,
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Verdict::Finished(d) | Verdict::Failed(d) | Verdict::Interrupted(d) => d,
        }
    }
}

/// Tells a running operation that skydeck is quitting and it should stop.
#[derive(Clone, Copy)]
pub struct Stop<'a>(&'a Running);

impl Stop<'_> {
    pub fn requested(&self) -> bool {
        self.0.stopping()
    }
}

/// One mutation the pipeline can run. The pipeline does the gating, auditing, tracking and
/// the timeline; the operation only does its own work.
pub trait Operation: Send {
    /// What `execute` hands to `verify`.
    type Executed: Send;
    /// What the caller gets back.
    type Output;
    fn subject(&self) -> Subject;
    /// `None`: allowed with `--read-only` (never the case for a verb).
    fn read_only(&self) -> Option<ReadOnlyRefusal>;
    /// Runs after "started" is durable. Long runs check `stop` and end early when quitting.
    fn execute<'a>(&'a mut self, stop: Stop<'a>) -> BoxFuture<'a, Self::Executed>;
    /// Checks what `execute` did (verbs: re-read the target; plugins: the exit status).
    fn verify(&mut self, executed: Self::Executed) -> BoxFuture<'_, Verdict>;
    /// The line on the open incident's timeline.
    fn timeline(&self, verdict: &Verdict) -> String;
    fn refused(self, why: Refused) -> Self::Output;
    /// `audit_error`: the closing entry could not be written (the operation did happen).
    fn ended(self, verdict: Verdict, audit_error: Option<StoreError>) -> Self::Output;
}

/// A confirmed verb plan, run on the provider that planned it.
pub struct Action<'p> {
    provider: &'p dyn Provider,
    plan: Plan,
}

impl<'p> Action<'p> {
    pub fn new(provider: &'p dyn Provider, plan: Plan) -> Self {
        Action { provider, plan }
    }
}

impl Operation for Action<'_> {
    type Executed = Result<String, ActionError>;
    type Output = Outcome;

    fn subject(&self) -> Subject {
        let plan = &self.plan;
        Subject {
            verb: plan.request.verb.to_string(),
            target: plan.request.target.clone(),
            target_name: plan.target_name.clone(),
            environment: plan.environment.clone(),
            source: plan.source.clone(),
            reason: plan.request.reason.clone(),
            detail: plan.summary.clone(),
            label: format!("{} {}", plan.action(), plan.target_name),
        }
    }

    fn read_only(&self) -> Option<ReadOnlyRefusal> {
        Some(ReadOnlyRefusal { why: ActionError::ReadOnly(self.plan.request.verb).to_string(), audit: None })
    }

    fn execute<'a>(&'a mut self, _: Stop<'a>) -> BoxFuture<'a, Self::Executed> {
        self.provider.execute(&self.plan)
    }

    fn verify(&mut self, executed: Self::Executed) -> BoxFuture<'_, Verdict> {
        Box::pin(async move {
            let verified = match executed {
                Ok(done) => self.provider.verify(&self.plan).await.map(|v| format!("{done}; verified: {v}")),
                Err(e) => Err(e),
            };
            match verified {
                Ok(detail) => Verdict::Finished(detail),
                Err(e) => Verdict::Failed(e.to_string()),
            }
        })
    }

    fn timeline(&self, verdict: &Verdict) -> String {
        let outcome = match verdict {
            Verdict::Finished(d) => format!("done: {d}"),
            Verdict::Failed(e) | Verdict::Interrupted(e) => format!("FAILED: {e}"),
        };
        format!("{} {} ({}) — {outcome}", self.plan.request.verb, self.plan.target_name, self.plan.environment)
    }

    fn refused(self, why: Refused) -> Outcome {
        let error = match why {
            Refused::ReadOnly(why) => ActionFailure::ReadOnly(why),
            Refused::Audit(e) => ActionFailure::Unaudited(ActionError::Audit(e.to_string()).to_string()),
        };
        Outcome { plan: self.plan, result: Err(error) }
    }

    fn ended(self, verdict: Verdict, audit_error: Option<StoreError>) -> Outcome {
        let result = match (verdict, audit_error) {
            // The action happened; losing the closing entry must not hide that from the user.
            (Verdict::Finished(detail), audit) => Ok(Done { detail, audit_warning: audit.map(|e| e.to_string()) }),
            (Verdict::Failed(e), _) => Err(ActionFailure::Failed(e)),
            (Verdict::Interrupted(e), _) => Err(ActionFailure::Interrupted(e)),
        };
        Outcome { plan: self.plan, result }
    }
}

/// Runs confirmed operations in the fixed order, writing the audit trail around them.
#[derive(Clone)]
pub struct Pipeline {
    pub read_only: bool,
    pub user: String,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    running: Running,
}

impl Pipeline {
    pub fn new(store: Arc<Store>, read_only: bool, user: impl Into<String>) -> Self {
        Pipeline { read_only, user: user.into(), store, clock: Arc::new(SystemClock), running: Running::default() }
    }

    /// The clock the audit entries and timeline lines are stamped with.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The runs in flight (shared by clones of this pipeline).
    pub fn running(&self) -> &Running {
        &self.running
    }

    /// Refuses before anything is planned or sent when skydeck runs read-only.
    pub fn gate(&self, verb: super::Verb) -> Result<(), ActionError> {
        if self.read_only { Err(ActionError::ReadOnly(verb)) } else { Ok(()) }
    }

    fn core(&self) -> Core<'_> {
        Core {
            read_only: self.read_only,
            user: &self.user,
            store: &self.store,
            clock: self.clock.as_ref(),
            running: &self.running,
        }
    }

    /// Gate → audit "started" (durable) → execute → verify → audit "finished"/"failed"/
    /// "interrupted" → the incident timeline. The caller has already confirmed it.
    pub async fn run<O: Operation>(&self, op: O) -> O::Output {
        self.core().run(op).await
    }

    /// A confirmed verb plan on its provider: `run(Action::new(provider, plan))`.
    pub async fn act(&self, provider: &dyn Provider, plan: Plan) -> Outcome {
        self.run(Action::new(provider, plan)).await
    }

    /// At quit: see [`Running::shutdown`]. Returns how many runs were interrupted.
    pub fn shutdown(&self, grace: Duration) -> usize {
        self.core().shutdown(grace)
    }
}

/// The pipeline over a borrowed store, for callers that hold one without a [`Pipeline`]
/// (`plugins::execute_tracked`, `Running::shutdown`). Same steps, same entries.
pub struct Core<'a> {
    pub read_only: bool,
    pub user: &'a str,
    pub store: &'a Store,
    pub clock: &'a dyn Clock,
    pub running: &'a Running,
}

impl Core<'_> {
    /// Every audit entry the pipeline writes goes through here (the place for a post-audit
    /// hook).
    fn write(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        self.store.append_audit(entry)
    }

    fn entry(&self, subject: &Subject, phase: AuditPhase, detail: String) -> AuditEntry {
        AuditEntry {
            seq: 0,
            action_id: None,
            at: self.clock.now(),
            user: self.user.to_string(),
            verb: subject.verb.clone(),
            target: subject.target.clone(),
            target_name: subject.target_name.clone(),
            environment: subject.environment.clone(),
            source: subject.source.clone(),
            phase,
            reason: subject.reason.clone(),
            detail,
        }
    }

    pub async fn run<O: Operation>(&self, mut op: O) -> O::Output {
        let subject = op.subject();
        if self.read_only
            && let Some(refusal) = op.read_only()
        {
            if let Some(detail) = refusal.audit
                && let Err(e) = self.write(&self.entry(&subject, AuditPhase::Refused, detail))
            {
                tracing::error!("audit entry not written: {e}");
            }
            return op.refused(Refused::ReadOnly(refusal.why));
        }
        let started = self.entry(&subject, AuditPhase::Started, subject.detail.clone());
        let id = match self.write(&started) {
            Ok(id) => id,
            Err(e) => return op.refused(Refused::Audit(e)),
        };
        tracing::info!(verb = %subject.verb, source = %subject.source, target = %subject.target, "started");
        self.running.add(AuditEntry { seq: id, ..started }, subject.label.clone());
        let executed = op.execute(Stop(self.running)).await;
        let verdict = op.verify(executed).await;
        let mut end = self.entry(&subject, verdict.phase(), verdict.detail().to_string());
        end.action_id = Some(id);
        let mut audit_error = None;
        // Quitting may have closed the entry already (a run that did not stop in time).
        if self.running.claim(id) {
            if let Err(e) = self.write(&end) {
                tracing::error!("closing audit entry not written: {e}");
                audit_error = Some(e);
            }
            self.running.remove(id);
        }
        tracing::info!(verb = %subject.verb, source = %subject.source, phase = ?verdict.phase(), "ended");
        // While an incident is open, every operation lands on its timeline (CLI and TUI alike).
        if let Ok(Some(incident)) = self.store.open_incident_now() {
            let entry = crate::incident::Entry {
                at: self.clock.now(),
                kind: crate::incident::EntryKind::Action,
                who: self.user.to_string(),
                text: op.timeline(&verdict),
            };
            if let Err(e) = self.store.add_timeline(incident.id, &entry) {
                tracing::warn!("incident timeline: {e}");
            }
        }
        op.ended(verdict, audit_error)
    }

    pub fn shutdown(&self, grace: Duration) -> usize {
        let running = self.running;
        if running.wait_empty(grace) {
            return 0;
        }
        let interrupted = running.runs().len();
        running.inner.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if running.wait_empty(STOP_WAIT) {
            return interrupted;
        }
        let stuck: Vec<(AuditEntry, String)> = running
            .runs()
            .values_mut()
            .filter(|run| !run.closing)
            .map(|run| {
                run.closing = true;
                (run.started.clone(), run.label.clone())
            })
            .collect();
        for (started, label) in stuck {
            let mut end = started.clone();
            end.phase = AuditPhase::Interrupted;
            end.action_id = Some(started.seq);
            end.at = self.clock.now();
            end.detail = format!("{label}: interrupted: skydeck quit while it ran (still running when skydeck exited)");
            if let Err(e) = self.write(&end) {
                tracing::error!("closing audit entry not written: {e}");
            }
            running.remove(started.seq);
        }
        interrupted
    }
}

/// Runs in flight, so that quitting skydeck can close their audit entries
/// ([`Running::shutdown`]). Cloning shares the same set.
#[derive(Clone, Default)]
pub struct Running {
    inner: Arc<RunningInner>,
}

struct InFlight {
    /// The "started" entry (the template of the closing one).
    started: AuditEntry,
    label: String,
    /// Someone is already writing the closing entry.
    closing: bool,
}

#[derive(Default)]
struct RunningInner {
    /// By the seq of the "started" entry.
    runs: std::sync::Mutex<BTreeMap<i64, InFlight>>,
    changed: std::sync::Condvar,
    /// Set by `shutdown` after the grace period: runs that can stop, stop.
    stop: std::sync::atomic::AtomicBool,
}

/// How long quitting waits for runs to end on their own before stopping them.
pub const QUIT_GRACE: Duration = Duration::from_secs(2);
/// How long a stopped run has to write its own "interrupted" entry.
const STOP_WAIT: Duration = Duration::from_secs(2);

impl Running {
    fn runs(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, InFlight>> {
        self.inner.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.inner.stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn add(&self, started: AuditEntry, label: String) {
        self.runs().insert(started.seq, InFlight { started, label, closing: false });
    }

    /// The run itself takes the right to write its closing entry; false when quitting
    /// already wrote it.
    fn claim(&self, seq: i64) -> bool {
        match self.runs().get_mut(&seq) {
            Some(run) if !run.closing => {
                run.closing = true;
                true
            }
            _ => false,
        }
    }

    /// The closing entry is written (or given up on).
    fn remove(&self, seq: i64) {
        self.runs().remove(&seq);
        self.inner.changed.notify_all();
    }

    /// What is still running: plugin names, `VERB TARGET` for actions.
    pub fn names(&self) -> Vec<String> {
        self.runs().values().map(|run| run.label.clone()).collect()
    }

    /// Waits up to `timeout` for every run to be closed; true if they all were.
    fn wait_empty(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut runs = self.runs();
        while !runs.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            runs = self.inner.changed.wait_timeout(runs, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        true
    }

    /// At quit: runs that end within `grace` write their own closing entry; the others are
    /// told to stop (a captured plugin run kills its command and writes "interrupted"), and
    /// whatever has not ended after a short wait (a command that ignores it, an action still
    /// waiting on its provider) gets its "interrupted" entry here, linked to its "started"
    /// one. Returns how many runs were interrupted. (`Pipeline::shutdown` does the same with
    /// the pipeline's clock.)
    pub fn shutdown(&self, store: &Store, grace: Duration) -> usize {
        Core { read_only: false, user: "", store, clock: &SystemClock, running: self }.shutdown(grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// A made-up operation: the pipeline's steps are the same for any.
    struct Probe {
        fail: bool,
        dangerous: bool,
        log: Vec<String>,
    }

    impl Operation for Probe {
        type Executed = bool;
        type Output = (Vec<String>, Result<Verdict, String>);
        fn subject(&self) -> Subject {
            Subject {
                verb: "probe".into(),
                target: "t-1".into(),
                target_name: "t".into(),
                environment: "staging".into(),
                source: "test".into(),
                reason: None,
                detail: "probe t".into(),
                label: "probe t".into(),
            }
        }
        fn read_only(&self) -> Option<ReadOnlyRefusal> {
            self.dangerous.then(|| ReadOnlyRefusal { why: "no".into(), audit: Some("probe: refused".into()) })
        }
        fn execute<'a>(&'a mut self, _: Stop<'a>) -> BoxFuture<'a, bool> {
            self.log.push("execute".into());
            Box::pin(async move { !self.fail })
        }
        fn verify(&mut self, ok: bool) -> BoxFuture<'_, Verdict> {
            self.log.push("verify".into());
            Box::pin(async move { if ok { Verdict::Finished("ok".into()) } else { Verdict::Failed("bad".into()) } })
        }
        fn timeline(&self, verdict: &Verdict) -> String {
            format!("probe: {}", verdict.detail())
        }
        fn refused(self, why: Refused) -> Self::Output {
            (self.log, Err(why.to_string()))
        }
        fn ended(self, verdict: Verdict, _: Option<StoreError>) -> Self::Output {
            (self.log, Ok(verdict))
        }
    }

    fn at(s: i64) -> crate::model::Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn every_entry_and_timeline_line_takes_the_injected_clock() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        store.open_incident("db down", "sev1", None, "ana", at(0)).unwrap();
        let clock = ManualClock::new(at(60));
        let pipeline = Pipeline::new(store.clone(), false, "ana").with_clock(Arc::new(clock.clone()));
        let (log, verdict) =
            futures::executor::block_on(pipeline.run(Probe { fail: true, dangerous: false, log: Vec::new() }));
        assert_eq!(log, ["execute", "verify"]);
        assert_eq!(verdict, Ok(Verdict::Failed("bad".into())));
        let audit = store.audit_entries().unwrap();
        assert_eq!(
            audit.iter().map(|e| (e.phase, e.at)).collect::<Vec<_>>(),
            [(AuditPhase::Started, at(60)), (AuditPhase::Failed, at(60))]
        );
        assert_eq!(audit[1].action_id, Some(audit[0].seq));
        let timeline = store.open_incident_now().unwrap().unwrap().timeline;
        let last = timeline.last().unwrap();
        assert_eq!((last.at, last.text.as_str()), (at(60), "probe: bad"));
        assert!(pipeline.running().names().is_empty());
    }

    #[test]
    fn read_only_refuses_before_anything_and_audits_only_when_asked() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let pipeline = Pipeline::new(store.clone(), true, "ana");
        // Allowed read-only: runs.
        let (log, _) = futures::executor::block_on(pipeline.run(Probe { fail: false, dangerous: false, log: vec![] }));
        assert_eq!(log, ["execute", "verify"]);
        // Refused read-only, with a "refused" entry.
        let (log, result) =
            futures::executor::block_on(pipeline.run(Probe { fail: false, dangerous: true, log: vec![] }));
        assert!(log.is_empty());
        assert_eq!(result, Err("no".into()));
        let phases: Vec<_> = store.audit_entries().unwrap().iter().map(|e| e.phase).collect();
        assert_eq!(phases, [AuditPhase::Started, AuditPhase::Finished, AuditPhase::Refused]);
    }

    /// An action still waiting on its provider when skydeck quits is closed "interrupted",
    /// once, with the pipeline's clock; its own late end writes nothing more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_action_in_flight_at_quit_is_closed_interrupted_once() {
        struct Slow(Arc<tokio::sync::Notify>);
        impl Operation for Slow {
            type Executed = ();
            type Output = ();
            fn subject(&self) -> Subject {
                Subject {
                    verb: "rollback".into(),
                    target: "svc-1".into(),
                    target_name: "web".into(),
                    environment: "production".into(),
                    source: "sandbox".into(),
                    reason: None,
                    detail: "roll back web".into(),
                    label: "rollback web".into(),
                }
            }
            fn read_only(&self) -> Option<ReadOnlyRefusal> {
                None
            }
            fn execute<'a>(&'a mut self, _: Stop<'a>) -> BoxFuture<'a, ()> {
                let release = self.0.clone();
                Box::pin(async move { release.notified().await })
            }
            fn verify(&mut self, (): ()) -> BoxFuture<'_, Verdict> {
                Box::pin(async { Verdict::Finished("late".into()) })
            }
            fn timeline(&self, _: &Verdict) -> String {
                String::new()
            }
            fn refused(self, _: Refused) {}
            fn ended(self, _: Verdict, _: Option<StoreError>) {}
        }
        let store = Arc::new(Store::open_in_memory().unwrap());
        let clock = ManualClock::new(at(0));
        let pipeline = Pipeline::new(store.clone(), false, "ana").with_clock(Arc::new(clock.clone()));
        // The provider answers only once quitting has given up on it.
        let release = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let (p, release) = (pipeline.clone(), release.clone());
            async move { p.run(Slow(release)).await }
        });
        while pipeline.running().names().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pipeline.running().names(), ["rollback web"]);
        clock.advance(chrono::Duration::seconds(9));
        let (p, grace) = (pipeline.clone(), Duration::from_millis(50));
        let interrupted = tokio::task::spawn_blocking(move || p.shutdown(grace)).await.unwrap();
        assert_eq!(interrupted, 1);
        let audit = store.audit_entries().unwrap();
        assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Interrupted]);
        assert_eq!(audit[1].action_id, Some(audit[0].seq));
        assert_eq!(audit[1].at, at(9));
        assert!(audit[1].detail.starts_with("rollback web: interrupted: skydeck quit"), "{}", audit[1].detail);
        release.notify_one();
        task.await.unwrap();
        assert_eq!(store.audit_entries().unwrap().len(), 2, "no second closing entry");
    }
}
