//! Frame-time and launch benchmarks against the design budgets:
//! launch to first frame (demo) <= 50 ms; any frame <= 2 ms with 10 000 runs / 1 000 000 log lines.
//!
//! Run with `cargo bench --bench frame`. Everything is deterministic: the demo sandbox uses seed 7
//! and a fixed clock (2026-11-23T08:00:00Z), and the synthetic big lists are generated from it.
//! Results and the budget comparison live in BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use skydeck::app::logview::LogFilter;
use skydeck::app::{AppState, Msg, Screen, update};
use skydeck::clock::{Clock, ManualClock};
use skydeck::logbuf::LogBuffer;
use skydeck::model::{LogLine, Severity, Snapshot, Timestamp};
use skydeck::providers::sandbox::Sandbox;
use skydeck::store::{AuditEntry, AuditPhase};
use skydeck::theme::Theme;
use skydeck::views::{list_height, render};

const SIZE: (u16, u16) = (120, 40);
const SEED: u64 = 7;
const RUNS: usize = 10_000;
const LOG_LINES: usize = 1_000_000;
/// What the demo's log task asks for on its first poll (`Sandbox::fetch_logs`).
const INITIAL_LOG_LIMIT: usize = 5_000;
/// Matches about one line in seven of the synthetic logs.
const LOG_FILTER: &str = "status=503";

fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn sandbox() -> Sandbox {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    Sandbox::new(SEED, clock)
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap()
}

fn draw(terminal: &mut Terminal<TestBackend>, state: &AppState, theme: &Theme) {
    terminal.draw(|f| render(state, theme, f)).unwrap();
}

/// The demo estate as the TUI holds it right after the first fetch.
fn demo_state() -> AppState {
    let sb = sandbox();
    let snapshot = sb.snapshot();
    let logs = sb.logs_between(None, INITIAL_LOG_LIMIT);
    let mut state =
        AppState::with_snapshot("demo", snapshot, logs, t0(), SIZE).with_catalog(skydeck::providers::CATALOG);
    state.audit = audit_entries(60);
    state
}

/// A plausible audit history so the Audit screen is not empty.
fn audit_entries(n: usize) -> Vec<AuditEntry> {
    let verbs = ["approve", "rerun", "rollback", "scale", "rotate", "restore"];
    let envs = ["production", "staging", "dev"];
    (0..n)
        .map(|i| AuditEntry {
            seq: i as i64 + 1,
            action_id: (i % 2 == 1).then_some(i as i64),
            at: t0() - chrono::Duration::minutes((n - i) as i64 * 7),
            user: "oncall".into(),
            verb: verbs[i % verbs.len()].into(),
            target: format!("acme/inference-api/actions/runs/{}", 9_120_000_000u64 + i as u64),
            target_name: format!("inference-api #{}", 9_120_000_000u64 + i as u64),
            environment: envs[i % envs.len()].into(),
            source: "demo".into(),
            phase: [AuditPhase::Started, AuditPhase::Finished, AuditPhase::Failed, AuditPhase::Refused][i % 4],
            reason: (i % 3 == 0).then(|| "incident 4711".to_string()),
            detail: format!("demo sandbox: equivalent call shown for action {i}"),
        })
        .collect()
}

/// The demo snapshot with its runs cloned up to `n`, each with a distinct id, run number and
/// creation time (newest first after the merge sort), so the Runs table really has `n` rows.
fn snapshot_with_runs(n: usize) -> Snapshot {
    let mut snapshot = sandbox().snapshot();
    let base = std::mem::take(&mut snapshot.runs);
    assert!(!base.is_empty(), "demo estate has no runs");
    snapshot.runs = (0..n)
        .map(|i| {
            let mut run = base[i % base.len()].clone();
            let run_id = 9_000_000_000 + i as u64;
            run.id = format!("{}/actions/runs/{run_id}", run.repo);
            run.run_id = run_id;
            run.url = format!("https://github.com/{}/actions/runs/{run_id}", run.repo);
            let shift = chrono::Duration::seconds(37 * i as i64);
            run.created_at -= shift;
            run.updated_at -= shift;
            run.started_at = run.started_at.map(|t| t - shift);
            run
        })
        .collect();
    snapshot
}

/// Puts the selection of `screen` at `selected` with the selected row centred in the viewport.
fn select_middle(state: &mut AppState, screen: Screen, selected: usize) {
    let height = list_height(screen, state.size).max(1);
    let list = &mut state.lists[screen.index()];
    list.selected = selected;
    list.offset = selected.saturating_sub(height / 2);
}

fn runs_state(filter: &str) -> AppState {
    let mut state = AppState::with_snapshot("demo", snapshot_with_runs(RUNS), Vec::new(), t0(), SIZE)
        .with_catalog(skydeck::providers::CATALOG);
    state.screen = Screen::Runs;
    state.lists[Screen::Runs.index()].filter = filter.to_string();
    let visible = skydeck::app::rows(&state, Screen::Runs).len();
    assert!(visible > 0, "filter {filter:?} matches no run");
    select_middle(&mut state, Screen::Runs, visible / 2);
    state
}

const SOURCES: [&str; 8] = [
    "api/inference-api",
    "worker/batch-scorer",
    "gateway/edge",
    "db/orders-primary",
    "cache/sessions",
    "cron/backup-verify",
    "deploy/argo",
    "auth/token-service",
];
const VERBS: [&str; 8] = ["GET", "POST", "PUT", "DELETE", "PATCH", "GET", "GET", "POST"];
const PATHS: [&str; 6] = [
    "/v1/predict",
    "/v1/orders/checkout",
    "/healthz",
    "/v2/sessions/refresh",
    "/internal/metrics",
    "/v1/models/latest",
];

/// Synthetic log lines with varying text of roughly 80-100 bytes.
fn synthetic_logs(n: usize) -> Vec<LogLine> {
    let start = t0() - chrono::Duration::milliseconds(n as i64 * 10);
    (0..n)
        .map(|i| {
            let severity = match i % 50 {
                0 => Severity::Error,
                1..=4 => Severity::Warn,
                5..=9 => Severity::Debug,
                _ => Severity::Info,
            };
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let text = format!(
                "{} {} status={} latency_ms={} req={:016x} user=u{:05} bytes={}{}",
                VERBS[i % VERBS.len()],
                PATHS[(h >> 8) as usize % PATHS.len()],
                [200, 200, 201, 204, 404, 500, 503][(h >> 16) as usize % 7],
                (h >> 24) % 2_000,
                h,
                (h >> 40) % 100_000,
                (h >> 12) % 65_536,
                if i % 3 == 0 { " retry=1" } else { "" },
            );
            LogLine {
                at: start + chrono::Duration::milliseconds(i as i64 * 10),
                source: SOURCES[i % SOURCES.len()].to_string(),
                severity,
                text,
            }
        })
        .collect()
}

/// The Logs screen over 1 000 000 lines, following the tail as `update` leaves it after a burst.
fn logs_state() -> AppState {
    let mut state = demo_state();
    state.logs = LogBuffer::new(LOG_LINES);
    state.logs.push_batch(synthetic_logs(LOG_LINES));
    assert_eq!(state.logs.len(), LOG_LINES);
    state.screen = Screen::Logs;
    let n = state.logs.len();
    state.follow_logs = true;
    let height = list_height(Screen::Logs, state.size).max(1);
    let list = &mut state.lists[Screen::Logs.index()];
    list.selected = n - 1;
    list.offset = n.saturating_sub(height);
    state
}

fn down() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE))
}

fn launch(c: &mut Criterion) {
    let mut g = c.benchmark_group("launch");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    // Everything `skydeck demo` does in-process before its first frame with data: provider,
    // first fetch, first log poll, state, theme, one Overview frame. Not included: process
    // start, config lookup, opening the audit store, terminal setup (raw mode/alt screen).
    g.bench_function("launch_to_first_frame_demo", |b| {
        b.iter(|| {
            let sb = sandbox();
            let snapshot = sb.snapshot();
            let logs = sb.logs_between(None, INITIAL_LOG_LIMIT);
            let mut state =
                AppState::with_snapshot("demo", snapshot, logs, t0(), SIZE).with_catalog(skydeck::providers::CATALOG);
            state.screen = Screen::Overview;
            let theme = Theme::dark();
            let mut term = terminal();
            draw(&mut term, &state, &theme);
            black_box(term);
        });
    });
    g.finish();
}

fn frames(c: &mut Criterion) {
    let theme = Theme::dark();
    let mut g = c.benchmark_group("frame");
    g.sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));

    // Every screen on the demo estate.
    let mut state = demo_state();
    for screen in Screen::ALL {
        state.screen = screen;
        let mut term = terminal();
        g.bench_function(screen.title().to_lowercase(), |b| b.iter(|| draw(&mut term, black_box(&state), &theme)));
    }

    // 10 000 runs, selection in the middle.
    for (name, filter) in [("runs_10k", ""), ("runs_10k_filtered", "fix/")] {
        let state = runs_state(filter);
        let mut term = terminal();
        g.bench_function(name, |b| b.iter(|| draw(&mut term, black_box(&state), &theme)));
    }

    g.finish();
}

/// The 1 000 000-line buffer is built once (about a second) for all log benchmarks.
fn big_logs(c: &mut Criterion) {
    let theme = Theme::dark();
    let mut state = logs_state();
    let n = state.logs.len();
    {
        let mut g = c.benchmark_group("frame");
        g.sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
        // Following the tail.
        let mut term = terminal();
        g.bench_function("logs_1m", |b| b.iter(|| draw(&mut term, black_box(&state), &theme)));
        // Paused in the middle.
        state.follow_logs = false;
        select_middle(&mut state, Screen::Logs, n / 2);
        let mut term = terminal();
        g.bench_function("logs_1m_scrolled", |b| b.iter(|| draw(&mut term, black_box(&state), &theme)));
        g.finish();
    }
    // The design's memory budget: buffer bytes per byte of line text held.
    let (text, used) = state.logs.memory();
    eprintln!(
        "log buffer, {n} lines: {:.1} MiB of text, {:.1} MiB used ({:.2}x)",
        text as f64 / 1048576.0,
        used as f64 / 1048576.0,
        used as f64 / text as f64
    );
    // The filter scans the whole buffer once, in time-boxed slices between events (issue #8).
    // Full-scan throughput, a fresh filter each time. Slow, so few samples.
    {
        let mut g = c.benchmark_group("filter");
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .measurement_time(Duration::from_secs(4))
            .warm_up_time(Duration::from_millis(500));
        g.bench_function("logs_1m_scan", |b| {
            b.iter(|| {
                let mut f = LogFilter::default();
                f.set(LOG_FILTER, Severity::Trace);
                while f.pending(&state.logs) {
                    f.step(&state.logs, Duration::from_mins(1));
                }
                black_box(f.matches.len())
            });
        });
        g.finish();
    }
    // Then frames and keys only read the match list.
    state.lists[Screen::Logs.index()].filter = LOG_FILTER.to_string();
    state.log_filter.set(LOG_FILTER, Severity::Trace);
    while state.log_filter.pending(&state.logs) {
        state.log_filter.step(&state.logs, Duration::from_mins(1));
    }
    let matching = state.log_filter.live(&state.logs).len();
    assert!(matching > 0 && matching < n, "filter {LOG_FILTER:?} matched {matching} of {n}");
    select_middle(&mut state, Screen::Logs, matching / 2);
    {
        let mut g = c.benchmark_group("frame");
        g.sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
        let mut term = terminal();
        g.bench_function("logs_1m_filtered", |b| b.iter(|| draw(&mut term, black_box(&state), &theme)));
        g.finish();
    }
    {
        let mut g = c.benchmark_group("update");
        g.sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
        g.bench_function("key_down_logs_1m_filtered", |b| {
            b.iter(|| {
                let effects = update(&mut state, down());
                if state.lists[Screen::Logs.index()].selected + 1 >= matching {
                    select_middle(&mut state, Screen::Logs, matching / 2);
                }
                black_box(effects)
            });
        });
        g.finish();
    }
}

/// Not budgets: where the frame time goes. Building the Runs row list alone (no drawing), and
/// ratatui's fixed cost of a 120x40 draw (clear + diff + `TestBackend`) with nothing rendered.
fn diagnostics(c: &mut Criterion) {
    let mut g = c.benchmark_group("diag");
    g.sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    for (name, filter) in [("rows_runs_10k", ""), ("rows_runs_10k_filtered", "fix/")] {
        let state = runs_state(filter);
        g.bench_function(name, |b| b.iter(|| black_box(skydeck::app::rows(black_box(&state), Screen::Runs))));
    }
    let mut term = terminal();
    g.bench_function("empty_draw_120x40", |b| {
        b.iter(|| {
            term.draw(|f| {
                black_box(f.area());
            })
            .unwrap();
        });
    });
    g.finish();
}

fn updates(c: &mut Criterion) {
    let mut g = c.benchmark_group("update");
    g.sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    for (name, filter) in [("key_down_runs_10k", ""), ("key_down_runs_10k_filtered", "fix/")] {
        let mut state = runs_state(filter);
        let visible = skydeck::app::rows(&state, Screen::Runs).len();
        let middle = visible / 2;
        g.bench_function(name, |b| {
            b.iter(|| {
                let effects = update(&mut state, down());
                // Keep the selection away from the end so every Down really moves it.
                if state.lists[Screen::Runs.index()].selected + 1 >= visible {
                    select_middle(&mut state, Screen::Runs, middle);
                }
                black_box(effects)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, launch, frames, big_logs, updates, diagnostics);
criterion_main!(benches);
