//! Log buffer at production scale: ingest 1 000 000 lines (~100 MB) and filter them with a
//! regex, as the Logs screen does. Memory is reported once (text held vs bytes used).

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use skydeck::app::logview::LogFilter;
use skydeck::logbuf::LogBuffer;
use skydeck::model::{LogLine, Severity};

const LINES: usize = 1_000_000;

fn lines() -> Vec<LogLine> {
    let sources = ["shop-web-prod", "inference-api-stg", "shop-api-dev", "payments-prod"];
    let paths = ["/api/v1/items", "/api/v1/cart", "/api/v1/checkout", "/api/v1/predict"];
    (0..LINES)
        .map(|i| {
            let status = if i % 97 == 0 { 503 } else { 200 };
            LogLine {
                at: Utc.timestamp_millis_opt(1_700_000_000_000 + i as i64).unwrap(),
                source: sources[i % 4].to_string(),
                severity: if status == 503 { Severity::Error } else { Severity::Info },
                text: format!(
                    "GET {} {status} {}ms request_id={:08x} user_agent=Mozilla/5.0 region=eu-west-1",
                    paths[i % 4],
                    i % 300,
                    i.wrapping_mul(2654435761)
                ),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let input = lines();
    let bytes: usize = input.iter().map(|l| l.text.len()).sum();
    let mut g = c.benchmark_group("logs_1m");
    g.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    g.bench_function("ingest", |b| {
        b.iter_batched(
            || input.clone(),
            |batch| {
                let mut buf = LogBuffer::new(LINES);
                buf.push_batch(batch);
                black_box(buf.len())
            },
            criterion::BatchSize::LargeInput,
        );
    });
    let mut buf = LogBuffer::new(LINES);
    buf.push_batch(input.clone());
    let (held, used) = buf.memory();
    eprintln!(
        "log buffer: {LINES} lines, {:.1} MB of text held, {:.1} MB used = {:.2}x (input text {:.1} MB)",
        held as f64 / 1e6,
        used as f64 / 1e6,
        used as f64 / held as f64,
        bytes as f64 / 1e6
    );
    g.bench_function("regex_filter", |b| {
        b.iter(|| {
            let mut f = LogFilter::default();
            f.set(r" 5\d\d .*region=eu", Severity::Trace);
            while f.pending(&buf) {
                f.step(&buf, Duration::from_mins(1));
            }
            black_box(f.matches.len())
        });
    });
    // The same lines in a file, filtered by `grep -E -c` (the tool people compare with).
    let path = std::env::temp_dir().join(format!("skydeck-bench-{}.log", std::process::id()));
    let file_text: String = input.iter().map(|l| format!("{} {}\n", l.source, l.text)).collect();
    std::fs::write(&path, &file_text).expect("write the grep input");
    g.bench_function("grep_E_same_lines", |b| {
        b.iter(|| {
            let out = std::process::Command::new("grep")
                .args(["-E", "-c", " 5[0-9][0-9] .*region=eu"])
                .arg(&path)
                .output()
                .expect("grep runs");
            black_box(out.stdout.len())
        });
    });
    let _ = std::fs::remove_file(&path);
    g.bench_function("one_filter_slice", |b| {
        // What one slice costs the loop between two keystrokes (budget 8 ms).
        b.iter(|| {
            let mut f = LogFilter::default();
            f.set(r" 5\d\d .*region=eu", Severity::Trace);
            f.step(&buf, Duration::from_millis(8));
            black_box(f.next_seq)
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
