//! The demo estate tells one coherent story at any moment: what is skipped is not green, only
//! the failing step of a failed job is red, nothing starts in the future, GitHub's production
//! sha is what the App Service serves, and only resource kinds the real adapters read appear.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use skydeck::actions::{ActionRequest, Verb};
use skydeck::clock::{Clock, ManualClock};
use skydeck::model::*;
use skydeck::providers::Provider;
use skydeck::providers::sandbox::Sandbox;
use skydeck::team::SimulatedTeammate;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

/// Offsets from the start at which each property is checked: at once, while runs move, after
/// the live runs end, and hours later.
const OFFSETS_S: [i64; 7] = [0, 20, 75, 150, 600, 3_600, 6 * 3_600];

/// The demo at each offset, for several seeds.
fn snapshots() -> Vec<(u64, Timestamp, Snapshot)> {
    let mut out = Vec::new();
    for seed in [7, 1, 42] {
        let clock = ManualClock::new(start());
        let sandbox = Sandbox::new(seed, Arc::new(clock.clone()));
        for offset in OFFSETS_S {
            clock.set(start() + Duration::seconds(offset));
            out.push((seed, clock.now(), sandbox.snapshot()));
        }
    }
    out
}

#[test]
fn skipped_jobs_and_steps_are_never_green() {
    let mut skipped = 0;
    for (seed, now, s) in snapshots() {
        for run in &s.runs {
            for job in &run.jobs {
                let items = std::iter::once((job.status, job.conclusion, &job.name))
                    .chain(job.steps.iter().map(|st| (st.status, st.conclusion, &st.name)));
                for (status, conclusion, name) in items {
                    if conclusion == Some(Conclusion::Skipped) {
                        skipped += 1;
                        assert_ne!(run_level(status, conclusion), Level::Ok, "seed {seed} at {now}: {name}");
                    }
                }
            }
        }
    }
    assert!(skipped > 0, "the demo has skipped jobs to show");
}

#[test]
fn only_the_failing_step_of_a_failed_job_is_red() {
    let mut failed_jobs = 0;
    for (seed, now, s) in snapshots() {
        for run in &s.runs {
            let failed: Vec<&Job> = run.jobs.iter().filter(|j| j.conclusion == Some(Conclusion::Failure)).collect();
            if run.conclusion == Some(Conclusion::Failure) && run.status == RunStatus::Completed && run.jobs.len() > 1 {
                // Rejected deploys fail without a failed job; CI failures have exactly one.
                assert!(failed.len() <= 1, "seed {seed} at {now}: {} failed jobs in {}", failed.len(), run.id);
            }
            for (i, job) in run.jobs.iter().enumerate() {
                if job.conclusion != Some(Conclusion::Failure) {
                    continue;
                }
                if job.started_at.is_none() {
                    // Failed without running (a rejected deployment): no step ran, none is red.
                    assert!(job.steps.iter().all(|st| st.conclusion == Some(Conclusion::Skipped)), "{:?}", job.steps);
                    continue;
                }
                failed_jobs += 1;
                let red: Vec<usize> =
                    (0..job.steps.len()).filter(|&n| job.steps[n].conclusion == Some(Conclusion::Failure)).collect();
                assert_eq!(red.len(), 1, "seed {seed} at {now}: one red step in {}: {:?}", job.id, job.steps);
                let red = red[0];
                for (n, step) in job.steps.iter().enumerate() {
                    let expected = match n.cmp(&red) {
                        std::cmp::Ordering::Less => Conclusion::Success,
                        std::cmp::Ordering::Equal => Conclusion::Failure,
                        std::cmp::Ordering::Greater => Conclusion::Skipped,
                    };
                    assert_eq!(
                        step.conclusion,
                        Some(expected),
                        "seed {seed} at {now}: step {} of {}",
                        step.name,
                        job.id
                    );
                }
                for later in &run.jobs[i + 1..] {
                    assert_eq!(later.conclusion, Some(Conclusion::Skipped), "seed {seed} at {now}: {}", later.id);
                    assert_eq!(later.started_at, None, "a skipped job never started");
                }
                // The run is over when its failing job is.
                assert_eq!(run.status, RunStatus::Completed, "seed {seed} at {now}: {}", run.id);
                assert_eq!(run.conclusion, Some(Conclusion::Failure));
            }
            if run.status == RunStatus::Completed {
                for job in &run.jobs {
                    assert_eq!(job.status, RunStatus::Completed, "seed {seed} at {now}: {} of a finished run", job.id);
                }
            }
        }
    }
    assert!(failed_jobs > 0, "the demo has failed jobs to show");
}

/// Every time in the snapshot (runs, jobs, steps, deployments, approvals, backups, secrets,
/// probes).
fn times(s: &Snapshot) -> Vec<(String, Timestamp)> {
    let mut out = Vec::new();
    let mut add = |what: &str, t: Option<Timestamp>| {
        if let Some(t) = t {
            out.push((what.to_string(), t));
        }
    };
    for r in &s.runs {
        add(&format!("{} created", r.id), Some(r.created_at));
        add(&format!("{} started", r.id), r.started_at);
        add(&format!("{} updated", r.id), Some(r.updated_at));
        for j in &r.jobs {
            add(&format!("{} started", j.id), j.started_at);
            add(&format!("{} completed", j.id), j.completed_at);
            for st in &j.steps {
                add(&format!("{} step {} started", j.id, st.number), st.started_at);
                add(&format!("{} step {} completed", j.id, st.number), st.completed_at);
            }
        }
    }
    for d in &s.deployments {
        add(&d.id, Some(d.created_at));
    }
    for a in &s.approvals {
        add(&a.id, Some(a.requested_at));
    }
    for b in &s.backups {
        add(&format!("{} last backup", b.id), b.last_backup_at);
        add(&format!("{} latest restore", b.id), b.latest_restore);
    }
    for x in &s.secrets {
        add(&format!("{} updated", x.id), x.updated_at);
        add(&format!("{} rotated", x.id), x.last_rotated);
    }
    for h in &s.health {
        add(&h.id, Some(h.checked_at));
    }
    out
}

#[test]
fn nothing_starts_in_the_future() {
    for (seed, now, s) in snapshots() {
        for (what, t) in times(&s) {
            assert!(t <= now, "seed {seed}: {what} at {t} is after now {now}");
        }
    }
}

fn app_service_prod(s: &Snapshot) -> &Resource {
    s.resources.iter().find(|r| r.kind == "App Service" && r.environment == "production").unwrap()
}

fn github_prod_sha(s: &Snapshot) -> String {
    let d = s
        .deployments
        .iter()
        .filter(|d| d.environment == "production" && d.repo == "acme/shop-web" && d.state == DeploymentState::Success)
        .max_by_key(|d| d.created_at)
        .expect("a production deployment of shop-web");
    d.sha[..7].to_string()
}

#[test]
fn production_serves_what_github_deployed_there() {
    for (seed, now, s) in snapshots() {
        for env in ["dev", "staging", "production"] {
            let app = s.resources.iter().find(|r| r.kind == "App Service" && r.environment == env).unwrap();
            let d = s
                .deployments
                .iter()
                .filter(|d| d.environment == env && d.repo == "acme/shop-web" && d.state == DeploymentState::Success)
                .max_by_key(|d| d.created_at)
                .unwrap();
            assert_eq!(
                app.current_version.as_deref(),
                Some(format!("shop-web:{}", &d.sha[..7]).as_str()),
                "seed {seed} at {now}: {env}"
            );
        }
        // The build waiting for production is what sits in the staging slot.
        let waiting = &s.approvals[0];
        let slots = &app_service_prod(&s).details.iter().find(|(k, _)| k == "slots").unwrap().1;
        assert!(slots.ends_with(&format!("staging=shop-web:{}", &waiting.sha[..7])), "seed {seed}: {slots}");
    }
}

#[tokio::test]
async fn after_an_approved_deploy_production_serves_the_new_sha() {
    let clock = ManualClock::new(start());
    let sandbox = Sandbox::new(7, Arc::new(clock.clone()));
    let before = sandbox.snapshot();
    let approval = before.approvals[0].clone();
    let old = app_service_prod(&before).current_version.clone().unwrap();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Approve, &approval.id), &before).unwrap();
    sandbox.execute(&plan).await.unwrap();
    for minutes in [1, 3, 10] {
        clock.set(start() + Duration::minutes(minutes));
        let s = sandbox.snapshot();
        assert!(times(&s).iter().all(|(_, t)| *t <= clock.now()), "after approval, +{minutes} min");
        assert_eq!(
            app_service_prod(&s).current_version.as_deref(),
            Some(format!("shop-web:{}", github_prod_sha(&s)).as_str()),
            "+{minutes} min"
        );
    }
    let s = sandbox.snapshot();
    assert_eq!(github_prod_sha(&s), approval.sha[..7]);
    let app = app_service_prod(&s);
    assert_eq!(app.versions, [format!("shop-web:{}", &approval.sha[..7]), old.clone()], "roll back goes to {old}");
}

/// The kinds the AWS, Azure and GCP adapters produce, read from their sources.
const ADAPTERS: [&str; 5] = [
    include_str!("../src/providers/aws/ecs.rs"),
    include_str!("../src/providers/aws/rds.rs"),
    include_str!("../src/providers/azure/web.rs"),
    include_str!("../src/providers/azure/postgres.rs"),
    include_str!("../src/providers/gcp/mod.rs"),
];

#[test]
fn the_demo_shows_only_resource_kinds_real_adapters_read() {
    for (seed, _, s) in snapshots() {
        for r in &s.resources {
            // Adapters name kinds by their identity's `kind` constants (ECS service -> ECS_SERVICE).
            let constant = format!("kind::{}", r.kind.to_uppercase().replace(' ', "_"));
            let produced =
                skydeck::providers::kinds().any(|k| k == r.kind) && ADAPTERS.iter().any(|src| src.contains(&constant));
            assert!(produced, "seed {seed}: no adapter reads a {:?} ({})", r.kind, r.name);
        }
    }
}

#[tokio::test]
async fn cancelled_and_rejected_runs_stop_their_jobs_where_they_were() {
    let clock = ManualClock::new(start());
    let sandbox = Sandbox::new(7, Arc::new(clock.clone()));
    clock.set(start() + Duration::seconds(40));
    let s = sandbox.snapshot();
    let running = s.runs.iter().find(|r| r.status == RunStatus::InProgress).expect("a running run").id.clone();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Cancel, &running), &s).unwrap();
    sandbox.execute(&plan).await.unwrap();
    let rejected = s.approvals[0].run.clone();
    let plan = sandbox.plan(&ActionRequest::new(Verb::Reject, &s.approvals[0].id), &s).unwrap();
    sandbox.execute(&plan).await.unwrap();
    let cut = clock.now();
    for later in [0, 30, 600] {
        clock.set(cut + Duration::seconds(later));
        let s = sandbox.snapshot();
        assert!(times(&s).iter().all(|(_, t)| *t <= cut.max(clock.now())), "+{later}s");
        for id in [&running, &rejected] {
            let run = s.runs.iter().find(|r| &r.id == id).unwrap();
            assert_eq!(run.status, RunStatus::Completed);
            for job in &run.jobs {
                assert_eq!(job.status, RunStatus::Completed, "{}", job.id);
                assert!(job.completed_at.is_none_or(|t| t <= cut), "{} ran on after it was stopped", job.id);
            }
        }
        let gated = s.runs.iter().find(|r| r.id == rejected).unwrap().jobs.last().unwrap();
        assert_eq!((gated.conclusion, gated.started_at), (Some(Conclusion::Failure), None), "{gated:?}");
        assert!(gated.steps.iter().all(|st| st.conclusion == Some(Conclusion::Skipped)));
        let cancelled = s.runs.iter().find(|r| r.id == running).unwrap();
        assert_eq!(cancelled.conclusion, Some(Conclusion::Cancelled));
        assert!(cancelled.jobs.iter().any(|j| j.conclusion == Some(Conclusion::Cancelled)), "{:?}", cancelled.jobs);
        assert!(
            cancelled.jobs.iter().all(|j| j.conclusion != Some(Conclusion::Success) || j.completed_at <= Some(cut))
        );
    }
}

/// The simulated teammate reaches the TUI through the team store's own messages.
#[test]
fn the_teammate_ticks_the_checklist_acknowledges_and_joins_an_incident_as_the_team_store_would() {
    use skydeck::providers::sandbox::estate::TEAMMATE_ACKS_AFTER;
    use skydeck::providers::sandbox::teammate::{JOINS_INCIDENT_AFTER, TICKS_AFTER, Teammate};
    let clock = ManualClock::new(start());
    let sandbox = Arc::new(Sandbox::new(7, Arc::new(clock.clone())));
    let book = skydeck::runbook::parse(skydeck::runbook::SHIPPED[0].1, "daily.toml").unwrap();
    let manual = book.items.iter().find(|i| i.check.is_none()).unwrap().key.clone();
    let dana = Teammate::new(sandbox, start(), Some(&book));
    let mut state = skydeck::app::AppState::with_snapshot("demo", Snapshot::default(), Vec::new(), start(), (120, 40))
        .with_catalog(skydeck::providers::CATALOG);
    state.runbooks = vec![book.clone()];
    state.incident = Some(skydeck::incident::Incident {
        id: 4,
        title: "inference-api 5xx".into(),
        severity: "sev2".into(),
        environment: Some("production".into()),
        opened_at: start(),
        opened_by: "you".into(),
        closed_at: None,
        resolution: None,
        timeline: Vec::new(),
    });
    assert!(dana.events(start(), Some(start())).is_empty(), "nothing at the start");

    let later = start() + TEAMMATE_ACKS_AFTER;
    clock.set(later);
    let events = dana.events(later, Some(start()));
    assert_eq!(events, dana.events(later, Some(start())), "the same time gives the same events");
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["runbook", "audit", "timeline"]);
    assert!(events.iter().all(|e| e.who == "dana@dana-laptop"));
    skydeck::app::team::apply(&mut state, skydeck::team::TeamMsg::Events(events));

    let tick = state.runbook_progress.iter().find(|p| p.item == manual).expect("dana's tick is on the checklist");
    assert!(tick.done);
    assert_eq!((tick.who.as_str(), tick.at), ("dana@dana-laptop", start() + TICKS_AFTER));
    let note = &state.incident.as_ref().unwrap().timeline;
    assert_eq!(note.len(), 1);
    assert_eq!((note[0].who.as_str(), note[0].at), ("dana@dana-laptop", start() + JOINS_INCIDENT_AFTER));
    let (line, _) = state.last_message.clone().unwrap();
    assert!(line.contains("dana@dana-laptop: ack shop-web-stg CPU above 80% finished"), "{line}");
}
