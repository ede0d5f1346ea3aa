//! What each list screen shows, in order, after its filter. Views render these rows and
//! `update` resolves the selection through them, so both always agree on what is selected.

use super::{AppState, Screen};
use crate::model::Tier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Environment(usize),
    Run(usize),
    /// A job of the run in detail, and optionally one of its steps.
    Job(usize, Option<usize>),
    Approval(usize),
    Deployment(usize),
    Health(usize),
    Resource(usize),
    Backup(usize),
    Secret(usize),
    Log(usize),
    Audit(usize),
    RunbookItem(usize),
    /// An alert of the estate (the Alerts screen): `ack` targets it.
    Alert(usize),
    /// An alert rule that would stay quiet (the Alerts screen, below the alerts); no verb.
    AlertRule(usize),
    /// An item of a screen's own list (a new screen's rows; no verb targets it).
    Item(usize),
}

impl Row {
    pub fn target_id(&self, state: &AppState) -> Option<String> {
        let e = &state.estate;
        match *self {
            Row::Run(i) => e.runs.get(i).map(|r| r.id.clone()),
            Row::Job(..) => state.run_detail.clone(),
            Row::Approval(i) => e.approvals.get(i).map(|a| a.id.clone()),
            Row::Deployment(i) => e.deployments.get(i).map(|d| d.id.clone()),
            Row::Resource(i) => e.resources.get(i).map(|r| r.id.clone()),
            Row::Backup(i) => e.backups.get(i).map(|b| b.id.clone()),
            Row::Secret(i) => e.secrets.get(i).map(|s| s.id.clone()),
            Row::Alert(i) => e.alerts.get(i).map(|a| a.id.clone()),
            _ => None,
        }
    }
}

fn tier_rank(state: &AppState, env: &str) -> u8 {
    match crate::actions::tier_of(&state.estate, env) {
        Tier::Prod => 0,
        Tier::Staging => 1,
        Tier::Dev => 2,
    }
}

/// Rows of a screen in display order, filtered by the screen's filter (case-insensitive): what
/// its `ScreenUi::rows` lists.
pub fn rows(state: &AppState, screen: Screen) -> Vec<Row> {
    (crate::screens::ui(screen).rows)(state)
}

/// The rows of the screens that came first.
pub fn builtin_rows(state: &AppState, screen: Screen) -> Vec<Row> {
    let e = &state.estate;
    let filter = state.lists[screen.index()].filter.to_lowercase();
    let keep = |hay: &[&str]| filter.is_empty() || hay.iter().any(|h| h.to_lowercase().contains(&filter));
    match screen {
        Screen::Overview => (0..e.environments.len()).map(Row::Environment).collect(),
        Screen::Runs => {
            if let Some(id) = &state.run_detail {
                let Some(run) = e.runs.iter().find(|r| &r.id == id) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                for (j, job) in run.jobs.iter().enumerate() {
                    out.push(Row::Job(j, None));
                    out.extend((0..job.steps.len()).map(|s| Row::Job(j, Some(s))));
                }
                return out;
            }
            run_indices(state).iter().map(|i| Row::Run(*i)).collect()
        }
        Screen::Deployments => {
            let mut out: Vec<Row> = e
                .approvals
                .iter()
                .enumerate()
                .filter(|(_, a)| keep(&[&a.repo, &a.environment, &a.workflow, &a.sha]))
                .map(|(i, _)| Row::Approval(i))
                .collect();
            let mut deps: Vec<usize> = e
                .deployments
                .iter()
                .enumerate()
                .filter(|(_, d)| keep(&[&d.repo, &d.environment, &d.sha, &d.creator]))
                .map(|(i, _)| i)
                .collect();
            deps.sort_by_key(|i| {
                let d = &e.deployments[*i];
                (tier_rank(state, &d.environment), std::cmp::Reverse(d.created_at))
            });
            out.extend(deps.into_iter().map(Row::Deployment));
            out
        }
        Screen::Health => {
            let mut idx: Vec<usize> = e
                .health
                .iter()
                .enumerate()
                .filter(|(_, h)| keep(&[&h.environment, &h.name, &h.url, h.level.label()]))
                .map(|(i, _)| i)
                .collect();
            idx.sort_by_key(|i| (std::cmp::Reverse(e.health[*i].level), tier_rank(state, &e.health[*i].environment)));
            idx.into_iter().map(Row::Health).collect()
        }
        Screen::Resources => {
            let mut idx: Vec<usize> = e
                .resources
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    keep(&[&r.name, &r.kind, &r.environment, r.provider.label(), r.role.label(), &r.region, &r.status])
                })
                .map(|(i, _)| i)
                .collect();
            idx.sort_by_key(|i| {
                let r = &e.resources[*i];
                (r.role, tier_rank(state, &r.environment), r.provider)
            });
            idx.into_iter().map(Row::Resource).collect()
        }
        Screen::Backups => {
            let now = state.now;
            let mut idx: Vec<usize> = e
                .backups
                .iter()
                .enumerate()
                .filter(|(_, b)| keep(&[&b.database, &b.environment, b.provider.label(), b.level(now).label()]))
                .map(|(i, _)| i)
                .collect();
            idx.sort_by_key(|i| {
                (std::cmp::Reverse(e.backups[*i].level(now)), tier_rank(state, &e.backups[*i].environment))
            });
            idx.into_iter().map(Row::Backup).collect()
        }
        Screen::Secrets => {
            let now = state.now;
            let mut idx: Vec<usize> = e
                .secrets
                .iter()
                .enumerate()
                .filter(|(_, s)| keep(&[&s.name, &s.store, &s.environment, s.provider.label(), s.level(now).label()]))
                .map(|(i, _)| i)
                .collect();
            idx.sort_by_key(|i| {
                (std::cmp::Reverse(e.secrets[*i].level(now)), tier_rank(state, &e.secrets[*i].environment))
            });
            idx.into_iter().map(Row::Secret).collect()
        }
        // Logs are indexed directly (a million lines never become rows); see row_count.
        Screen::Logs => Vec::new(),
        Screen::Runbook => {
            let Some(book) = state.runbooks.get(state.runbook_index) else { return Vec::new() };
            book.items
                .iter()
                .enumerate()
                .filter(|(_, i)| keep(&[&i.title, &i.section]))
                .map(|(i, _)| Row::RunbookItem(i))
                .collect()
        }
        Screen::Incident => {
            // Quick mitigations: the compute of the affected environment (all, if none is set);
            // none without an open incident, so no verb acts on a row nobody sees.
            let Some(incident) = state.incident.as_ref().filter(|i| i.closed_at.is_none()) else {
                return Vec::new();
            };
            let env = incident.environment.clone();
            e.resources
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.role == crate::model::Role::Compute && env.as_ref().is_none_or(|env| &r.environment == env)
                })
                .filter(|(_, r)| keep(&[&r.name, &r.environment, r.provider.label()]))
                .map(|(i, _)| Row::Resource(i))
                .collect()
        }
        Screen::Audit => state
            .audit
            .iter()
            .enumerate()
            .filter(|(_, a)| keep(&[&a.verb, &a.target, &a.target_name, &a.environment, &a.user, &a.detail]))
            .map(|(i, _)| Row::Audit(i))
            .collect(),
        #[allow(unreachable_patterns)] // a new screen lists its own rows (`ScreenUi::rows`)
        _ => Vec::new(),
    }
}

/// What the Runs list shows depends on: the merged runs, the filter and the order.
#[derive(Debug, PartialEq, Eq)]
struct RunRowsKey {
    generation: u64,
    runs: (usize, usize),
    filter: String,
    failing_first: bool,
}

/// The Runs list's filtered and ordered run indices, computed once per change of what they
/// depend on, so a frame or a key on 10^4 runs costs what the visible rows cost.
#[derive(Debug, Default)]
pub struct RunRowsCache(std::sync::Mutex<Option<(RunRowsKey, std::sync::Arc<[usize]>)>>);

/// Indices into `estate.runs` of the Runs list (not the run detail), in display order.
pub fn run_indices(state: &AppState) -> std::sync::Arc<[usize]> {
    let runs = &state.estate.runs;
    let filter = &state.lists[Screen::Runs.index()].filter;
    let fresh = |key: &RunRowsKey| {
        key.generation == state.estate_generation
            && key.runs == (runs.as_ptr() as usize, runs.len())
            && key.failing_first == state.failing_first
            && &key.filter == filter
    };
    let mut cache = state.run_rows.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((key, rows)) = cache.as_ref()
        && fresh(key)
    {
        return rows.clone();
    }
    let terms = RunFilter::parse(filter);
    let mut idx: Vec<usize> = runs.iter().enumerate().filter(|(_, r)| terms.matches(r)).map(|(i, _)| i).collect();
    if state.failing_first {
        // Stable: failures first, each group still newest first.
        idx.sort_by_key(|i| runs[*i].level() != crate::model::Level::Crit);
    }
    let rows: std::sync::Arc<[usize]> = idx.into();
    let key = RunRowsKey {
        generation: state.estate_generation,
        runs: (runs.as_ptr() as usize, runs.len()),
        filter: filter.clone(),
        failing_first: state.failing_first,
    };
    *cache = Some((key, rows.clone()));
    rows
}

/// The row at `index` of a screen; on the Runs list without building the other rows.
pub fn row_at(state: &AppState, screen: Screen, index: usize) -> Option<Row> {
    if screen == Screen::Runs && state.run_detail.is_none() {
        return run_indices(state).get(index).map(|i| Row::Run(*i));
    }
    rows(state, screen).get(index).copied()
}

/// Number of rows without building them, for scrolling the big lists cheaply.
pub fn row_count(state: &AppState, screen: Screen) -> usize {
    if screen == Screen::Logs {
        return if state.log_filter.active() { state.log_filter.live(&state.logs).len() } else { state.logs.len() };
    }
    if state.lists[screen.index()].filter.is_empty() {
        match screen {
            Screen::Audit => return state.audit.len(),
            Screen::Runs if state.run_detail.is_none() => return state.estate.runs.len(),
            _ => {}
        }
    }
    if screen == Screen::Runs && state.run_detail.is_none() {
        return run_indices(state).len();
    }
    rows(state, screen).len()
}

/// The Runs filter: `repo:`, `branch:`, `status:`, `actor:` and `workflow:` terms match that
/// field; any other word matches anywhere. Every term must match.
pub struct RunFilter {
    terms: Vec<(Option<String>, String)>,
}

impl RunFilter {
    pub fn parse(filter: &str) -> RunFilter {
        let terms = filter
            .split_whitespace()
            .map(|t| match t.split_once(':') {
                Some((k, v)) if ["repo", "branch", "status", "actor", "workflow"].contains(&k) => {
                    (Some(k.to_string()), v.to_lowercase())
                }
                _ => (None, t.to_lowercase()),
            })
            .collect();
        RunFilter { terms }
    }

    pub fn matches(&self, r: &crate::model::Run) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        // No allocation per run: this runs over every run on every frame of a filtered list.
        let has = |hay: &str, needle: &str| contains_ignore_ascii_case(hay, needle);
        let status = || crate::views::status_label(r.status, r.conclusion);
        self.terms.iter().all(|(field, needle)| match field.as_deref() {
            Some("repo") => has(&r.repo, needle),
            Some("branch") => has(&r.branch, needle),
            Some("status") => has(r.level().label(), needle) || has(&status(), needle),
            Some("actor") => has(&r.actor, needle),
            Some("workflow") => has(&r.workflow, needle),
            _ => {
                [r.repo.as_str(), &r.workflow, &r.branch, &r.actor, &r.title, &r.sha].iter().any(|s| has(s, needle))
                    || (needle.bytes().all(|b| b.is_ascii_digit()) && has(&r.run_id.to_string(), needle))
                    || has(&status(), needle)
            }
        })
    }
}

/// `needle` must be lowercase already.
fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    if n.len() > h.len() {
        return false;
    }
    let first = n[0];
    h.windows(n.len()).any(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Msg, update};
    use chrono::TimeZone;

    /// Six runs over two repos, every other one failed.
    fn runs_state() -> AppState {
        use crate::model::{Conclusion, Run, RunStatus, Snapshot};
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let run = |n: u64| Run {
            id: format!("run-{n}"),
            run_id: n,
            repo: if n.is_multiple_of(3) { "acme/api".into() } else { "acme/web".into() },
            workflow: "ci".into(),
            title: format!("change {n}"),
            branch: "main".into(),
            sha: format!("{n:07}"),
            event: "push".into(),
            actor: "ana".into(),
            attempt: 1,
            status: RunStatus::Completed,
            conclusion: Some(if n.is_multiple_of(2) { Conclusion::Failure } else { Conclusion::Success }),
            created_at: now,
            started_at: Some(now),
            updated_at: now,
            url: String::new(),
            jobs: Vec::new(),
        };
        let snapshot = Snapshot { runs: (1..=6).map(run).collect(), ..Snapshot::default() };
        let mut state = AppState::with_snapshot("ci", snapshot, Vec::new(), now, (120, 40));
        state.screen = Screen::Runs;
        state
    }

    /// The rows a fresh computation gives, bypassing the cache.
    fn uncached(state: &AppState) -> Vec<usize> {
        let terms = RunFilter::parse(&state.lists[Screen::Runs.index()].filter);
        let mut idx: Vec<usize> =
            state.estate.runs.iter().enumerate().filter(|(_, r)| terms.matches(r)).map(|(i, _)| i).collect();
        if state.failing_first {
            idx.sort_by_key(|i| state.estate.runs[*i].level() != crate::model::Level::Crit);
        }
        idx
    }

    #[test]
    fn cached_run_rows_follow_the_filter_the_order_and_new_data() {
        let mut state = runs_state();
        let all = run_indices(&state);
        assert_eq!(&*all, uncached(&state).as_slice());
        assert!(std::sync::Arc::ptr_eq(&all, &run_indices(&state)), "unchanged: served from the cache");

        let repo = state.estate.runs[0].repo.clone();
        state.lists[Screen::Runs.index()].filter = format!("repo:{repo}");
        assert_eq!(&*run_indices(&state), uncached(&state).as_slice());
        assert!(run_indices(&state).len() < all.len(), "the filter narrows");

        state.failing_first = true;
        assert_eq!(&*run_indices(&state), uncached(&state).as_slice());

        // A new snapshot with one run fewer: the cache notices.
        let mut snapshot = state.estate.clone();
        snapshot.runs.remove(0);
        let at = state.now;
        let _ = update(&mut state, Msg::Source { index: 0, result: Ok(snapshot), at });
        assert_eq!(&*run_indices(&state), uncached(&state).as_slice());
        assert_eq!(row_count(&state, Screen::Runs), uncached(&state).len());
        assert_eq!(row_at(&state, Screen::Runs, 0), uncached(&state).first().map(|i| Row::Run(*i)));
    }
}
