//! HTTP health checks against loopback servers that misbehave: slow, 5xx, wrong body, reset
//! connections, silence (timeouts), and a plain-text server behind https:// (TLS).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use skydeck::config::parse;
use skydeck::model::{Level, MetricKind};
use skydeck::providers::{BuildContext, Provider};
use skydeck::store::Store;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn provider(config_text: &str) -> Arc<dyn Provider> {
    let loaded = parse(config_text, "t.toml").unwrap();
    let store = Arc::new(Store::open_in_memory().unwrap());
    let ctx = BuildContext { config: &loaded.config, store };
    let mut built = skydeck::providers::http_health::build(&ctx).unwrap();
    assert_eq!(built.len(), 1);
    built.remove(0)
}

fn check(env: &str, name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[environments]]\nname = \"{env}\"\n[[environments.health]]\nname = \"{name}\"\nurl = \"{url}\"\ntimeout_seconds = 1\n{extra}\n"
    )
}

/// A server that accepts and closes at once (reset), or accepts and never answers (silence).
fn raw_server(answer: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(8) {
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
            if answer {
                // Not HTTP and not TLS: garbage, then close.
                let _ = stream.write_all(b"garbage\r\n");
                drop(stream);
            } else {
                std::thread::sleep(Duration::from_secs(3));
            }
        }
    });
    format!("127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn healthy_slow_failing_and_wrong_body_checks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"status\":\"ok\"}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1200)))
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/down")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/body"))
        .respond_with(ResponseTemplate::new(200).set_body_string("maintenance"))
        .mount(&server)
        .await;
    let u = server.uri();
    let config = [
        check("production", "ok", &format!("{u}/ok"), "expect_body = \"ok\""),
        format!("[[environments.health]]\nname = \"slow\"\nurl = \"{u}/slow\"\ntimeout_seconds = 5\n[environments.thresholds]\nresponse_time = {{ warn = 1, crit = 3 }}\n"),
        check("staging", "down", &format!("{u}/down"), ""),
        format!("[[environments.health]]\nname = \"body\"\nurl = \"{u}/body\"\nexpect_body = \"ok\"\n"),
    ]
    .concat();
    let p = provider(&config);
    let snap = p.fetch().await.unwrap();
    let by = |name: &str| snap.health.iter().find(|h| h.name == name).unwrap().clone();
    let ok = by("ok");
    assert_eq!((ok.level, ok.status_code, ok.error.clone()), (Level::Ok, Some(200), None));
    assert_eq!(ok.availability(), Some(100.0));
    let slow = by("slow");
    assert_eq!(slow.level, Level::Warn, "1.2 s is over the 1 s warning of production");
    assert!(slow.latency_ms.unwrap() >= 1200);
    let down = by("down");
    assert_eq!(down.level, Level::Crit);
    assert_eq!(down.error.as_deref(), Some("HTTP 503 (expected 200)"));
    let body = by("body");
    assert_eq!(body.level, Level::Crit);
    assert_eq!(body.error.as_deref(), Some("body does not contain 'ok'"));
    // Metrics feed the Overview and the runbook.
    let availability: Vec<_> = snap.metrics.iter().filter(|m| m.kind == MetricKind::Availability).collect();
    assert_eq!(availability.len(), 4);
}

#[tokio::test]
async fn resets_timeouts_refusals_and_tls_say_which() {
    let reset = raw_server(true);
    let silent = raw_server(false);
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("127.0.0.1:{port}")
    };
    let tls = raw_server(true);
    let config = [
        check("dev", "reset", &format!("http://{reset}/"), ""),
        format!("[[environments.health]]\nname = \"silent\"\nurl = \"http://{silent}/\"\ntimeout_seconds = 1\n"),
        format!("[[environments.health]]\nname = \"refused\"\nurl = \"http://{refused}/\"\n"),
        format!("[[environments.health]]\nname = \"tls\"\nurl = \"https://{tls}/\"\n"),
    ]
    .concat();
    let p = provider(&config);
    let started = std::time::Instant::now();
    let snap = p.fetch().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "checks run concurrently, each bounded by its timeout");
    let error = |name: &str| snap.health.iter().find(|h| h.name == name).unwrap().error.clone().unwrap_or_default();
    assert!(error("silent").starts_with("timeout: no answer within 1s"), "{}", error("silent"));
    assert_eq!(error("refused"), "connection refused");
    assert!(error("tls").starts_with("TLS:"), "{}", error("tls"));
    let reset = error("reset");
    assert!(reset.starts_with("connection") || reset.starts_with("HTTP"), "{reset}");
    assert!(snap.health.iter().all(|h| h.level == Level::Crit));
}

#[tokio::test]
async fn secret_headers_come_from_the_environment_and_history_builds_availability() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/h"))
        .and(header("authorization", "Bearer from-env"))
        .respond_with(ResponseTemplate::new(200))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/h")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    // PATH is always set; use it as a stand-in "secret" holder is wrong: use a variable we know exists.
    let var = "SKYDECK_TEST_HEALTH_TOKEN_UNSET_ON_PURPOSE";
    let config = check(
        "production",
        "api",
        &format!("{}/h", server.uri()),
        &format!("headers = {{ Authorization = \"env:{var}\" }}"),
    );
    let p = provider(&config);
    let snap = p.fetch().await.unwrap();
    assert_eq!(
        snap.health[0].error.as_deref(),
        Some(&*format!("header Authorization: environment variable {var} is not set"))
    );
    assert!(!format!("{snap:?}").contains("from-env"));
}

#[tokio::test]
async fn a_check_that_starts_failing_is_critical_at_once_and_availability_drops() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/h"))
        .respond_with(ResponseTemplate::new(200))
        .up_to_n_times(19)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/h")).respond_with(ResponseTemplate::new(502)).mount(&server).await;
    let p = provider(&check("production", "api", &format!("{}/h", server.uri()), ""));
    for _ in 0..19 {
        assert_eq!(p.fetch().await.unwrap().health[0].level, Level::Ok);
    }
    let snap = p.fetch().await.unwrap();
    let h = &snap.health[0];
    assert_eq!(h.level, Level::Crit, "one failed probe turns it red within one interval");
    assert_eq!(h.availability(), Some(95.0));
    let availability = snap.metrics.iter().find(|m| m.kind == MetricKind::Availability).unwrap();
    assert_eq!(availability.level, Level::Warn, "95 % is the warning boundary (≤ 95 %)");
    assert!(h.percentile(50).is_some() && h.percentile(95) >= h.percentile(50));
}

#[test]
fn failure_kinds_are_classified() {
    use skydeck::providers::http_health::classify;
    let t = Duration::from_secs(5);
    assert!(
        classify("error sending request: dns error: failed to lookup address information", false, t)
            .starts_with("DNS:")
    );
    assert!(classify("error sending request: invalid peer certificate: UnknownIssuer", false, t).starts_with("TLS:"));
    assert_eq!(classify("tcp connect error: Connection refused (os error 111)", false, t), "connection refused");
    assert!(classify("connection reset by peer", false, t).starts_with("connection reset"));
    assert_eq!(classify("anything", true, t), "timeout: no answer within 5s");
}

#[tokio::test]
async fn the_binary_sends_secret_headers_from_the_environment_and_never_prints_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/h"))
        .and(header("authorization", "Bearer s3cr3t-health"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        check(
            "production",
            "api",
            &format!("{}/h", server.uri()),
            "headers = { Authorization = \"env:HEALTH_TOKEN\" }",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skydeck"))
        .args(["--config", cfg.to_str().unwrap(), "status", "--json"])
        .env("HEALTH_TOKEN", "Bearer s3cr3t-health")
        .env("XDG_DATA_HOME", dir.path().join("d"))
        .env("XDG_STATE_HOME", dir.path().join("s"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["health"][0]["level"], "ok", "{}", doc["health"]);
    assert!(!stdout.contains("s3cr3t"));
}
