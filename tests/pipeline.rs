//! The order every mutation takes, checked with a provider that records what it saw.

use std::sync::{Arc, Mutex};

use skydeck::actions::{ActionError, ActionFailure, ActionRequest, Pipeline, Plan, Risk, Verb};
use skydeck::model::{Snapshot, Tier};
use skydeck::providers::{BoxFuture, Capabilities, ProviderError, Source, TrafficShift};
use skydeck::store::{AuditPhase, Fault, Store};

struct Recorder {
    store: Arc<Store>,
    log: Mutex<Vec<String>>,
    fail_verify: bool,
}

impl Source for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(async { Ok(Snapshot::default()) })
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities { traffic_shift: Some(self), ..Capabilities::NONE }
    }
}

impl TrafficShift for Recorder {
    fn plan(&self, request: &ActionRequest, _: &Snapshot) -> Result<Plan, ActionError> {
        Ok(plan(request.clone()))
    }
    fn execute<'a>(&'a self, _: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            let started = self.store.audit_entries().unwrap();
            self.log.lock().unwrap().push(format!("execute after {} audit entries", started.len()));
            Ok("done".into())
        })
    }
    fn verify<'a>(&'a self, _: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(async move {
            self.log.lock().unwrap().push("verify".into());
            if self.fail_verify {
                Err(ActionError::VerifyFailed("still old revision".into()))
            } else {
                Ok("new revision serving".into())
            }
        })
    }
}

fn plan(request: ActionRequest) -> Plan {
    Plan {
        request,
        source: "recorder".into(),
        target_name: "web-prod".into(),
        environment: "production".into(),
        tier: Tier::Prod,
        risk: Risk::High,
        summary: "roll back web-prod".into(),
        calls: Vec::new(),
        verification: "re-read".into(),
        touches: None,
        action_name: None,
        payload: Default::default(),
    }
}

fn setup(fail_verify: bool, read_only: bool) -> (Arc<Recorder>, Pipeline, Arc<Store>) {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let rec = Arc::new(Recorder { store: store.clone(), log: Mutex::new(Vec::new()), fail_verify });
    let pipeline = Pipeline::new(store.clone(), read_only, "ana");
    (rec, pipeline, store)
}

#[tokio::test]
async fn started_is_durable_before_execute_then_finished() {
    let (rec, pipeline, store) = setup(false, false);
    let outcome = pipeline.act(rec.as_ref(), plan(ActionRequest::new(Verb::Rollback, "id"))).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(*rec.log.lock().unwrap(), ["execute after 1 audit entries", "verify"]);
    let entries = store.audit_entries().unwrap();
    assert_eq!(entries.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Finished]);
    assert!(entries[1].detail.contains("verified: new revision serving"));
    assert_eq!(entries[0].user, "ana");
}

#[tokio::test]
async fn a_failed_verification_is_audited_as_failed() {
    let (rec, pipeline, store) = setup(true, false);
    let outcome = pipeline.act(rec.as_ref(), plan(ActionRequest::new(Verb::Rollback, "id"))).await;
    let err = outcome.result.unwrap_err();
    assert!(matches!(err, ActionFailure::Failed(_)), "{err:?}");
    assert!(err.to_string().contains("still old revision"));
    let entries = store.audit_entries().unwrap();
    assert_eq!(entries.last().unwrap().phase, AuditPhase::Failed);
}

#[tokio::test]
async fn read_only_never_reaches_the_provider() {
    let (rec, pipeline, store) = setup(false, true);
    let outcome = pipeline.act(rec.as_ref(), plan(ActionRequest::new(Verb::Rollback, "id"))).await;
    let err = outcome.result.unwrap_err();
    assert_eq!(err.kind(), "read_only", "{err:?}");
    assert!(err.to_string().contains("read-only"));
    assert!(rec.log.lock().unwrap().is_empty());
    assert!(store.audit_entries().unwrap().is_empty());
    assert_eq!(pipeline.gate(Verb::Approve), Err(ActionError::ReadOnly(Verb::Approve)));
}

/// A store that cannot take the "started" entry (read-only: `SQLite`'s real `SQLITE_READONLY`;
/// full: `SQLITE_FULL` injected at the store's write path) refuses the action before the
/// provider sees it, and the error names the file.
#[tokio::test]
async fn an_unwritable_or_full_store_never_reaches_the_provider() {
    for fault in [Fault::ReadOnly, Fault::Full] {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in(dir.path()).unwrap());
        store.inject_fault(fault).unwrap();
        let rec = Recorder { store: store.clone(), log: Mutex::new(Vec::new()), fail_verify: false };
        let pipeline = Pipeline::new(store.clone(), false, "ana");
        let outcome = pipeline.act(&rec, plan(ActionRequest::new(Verb::Rollback, "id"))).await;
        let err = outcome.result.unwrap_err();
        assert_eq!(err.kind(), "unaudited", "{fault:?}: nothing may have been sent");
        let err = err.to_string();
        assert!(err.contains("action not started"), "{fault:?}: {err}");
        assert!(err.contains(&store.path().display().to_string()), "{fault:?}: {err}");
        assert!(rec.log.lock().unwrap().is_empty(), "{fault:?}: the provider was called");
        assert!(store.audit_entries().unwrap().is_empty());
    }
}
