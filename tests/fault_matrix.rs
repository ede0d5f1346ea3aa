//! The fault matrix: every HTTP provider (GitHub, Azure, GCP, AWS, Kubernetes, HTTP health checks) against
//! a loopback server that fails in each way a real one does: 401, 403 with spent rate-limit
//! headers, 429 with `Retry-After`, 500/502/503, a connection that is accepted and never
//! answered, a refused connection, a body cut off, truncated JSON, HTML with 200, a 50 MB body,
//! and a redirect to another host.
//!
//! For each case the real binary runs `status --json` and must
//! - exit 0 within [`BOUND`] (the config shortens the per-request and per-fetch limits to 2 s
//!   and 8 s (AWS 14 s), so this checks the mechanism; the defaults, 10 s and 20 s, make the
//!   documented bound of 30 s);
//! - list the failing source in `errors` with a message that says what happened (a login hint
//!   for 401, the retry time for throttling); a health check instead fails as a check, red
//!   with its reason, since health is one source of many checks;
//! - show none of the configured credentials in stdout or stderr, nor send them to the host a
//!   redirect points at;
//! - still report the healthy health check configured beside the faulty source;
//! - retry a bounded number of times, with (jittered) backoff between attempts.
//!
//! The cases run concurrently, so the matrix takes about as long as its slowest case.
//! `FAULT_MATRIX_REPORT=1` prints the measured table (time, requests, error) per case.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/faults.rs"]
mod faults;
#[path = "support/pty.rs"]
mod pty;

use faults::{FaultServer, Reply, Seen};

/// What `status --json` must finish within in these tests: the longest fetch limit below plus
/// start-up, which takes seconds when the machine runs 65 of them at once.
const BOUND: Duration = Duration::from_secs(22);
/// Shortened limits (seconds) written into every config of the matrix.
const REQUEST_TIMEOUT: u64 = 2;
const FETCH_TIMEOUT: u64 = 8;
/// The AWS SDK's own backoff for throttling (4 attempts) needs a little longer to say so.
const AWS_FETCH_TIMEOUT: u64 = 14;

const GITHUB_TOKEN: &str = "ghp_faultmatrixsecrettoken0123456789";
const AZURE_TOKEN: &str = "eyJ0eXAiOiJKV1QifaultMatrixAzureToken";
const GCP_TOKEN: &str = "ya29.fault-matrix-google-token";
const AWS_KEY_ID: &str = "AKIAFAULTMATRIX00001";
const AWS_SECRET: &str = "faultMatrixAwsSecretAccessKey0123456789ab";
const HEALTH_SECRET: &str = "Bearer health-probe-secret-42";
const KUBE_TOKEN: &str = "kube-fault-matrix-bearer-token-0123";
const SECRETS: &[&str] = &[GITHUB_TOKEN, AZURE_TOKEN, GCP_TOKEN, AWS_KEY_ID, AWS_SECRET, HEALTH_SECRET, KUBE_TOKEN];

const SUB: &str = "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProviderKind {
    Github,
    Azure,
    Gcp,
    Aws,
    Kubernetes,
    Health,
}

impl ProviderKind {
    fn source(self) -> &'static str {
        match self {
            ProviderKind::Github => "github:127.0.0.1",
            ProviderKind::Azure => "azure",
            ProviderKind::Gcp => "gcp",
            ProviderKind::Aws => "aws",
            ProviderKind::Kubernetes => "kubernetes",
            ProviderKind::Health => "health",
        }
    }

    /// How this provider's API says "your credentials are bad".
    fn unauthorized(self) -> Reply {
        match self {
            ProviderKind::Github => {
                Reply::json(401, r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#)
            }
            ProviderKind::Azure => Reply::json(
                401,
                r#"{"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}}"#,
            ),
            ProviderKind::Gcp => Reply::json(
                401,
                r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
            ),
            ProviderKind::Aws => Reply::json(
                403,
                r#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#,
            )
            .with_header("x-amzn-errortype", "UnrecognizedClientException"),
            ProviderKind::Kubernetes => Reply::json(
                401,
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
            ),
            ProviderKind::Health => Reply::json(401, "{}"),
        }
    }

    /// How this provider's API says "slow down".
    fn throttled(self) -> Reply {
        let r = match self {
            ProviderKind::Aws => Reply::json(400, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
                .with_header("x-amzn-errortype", "ThrottlingException"),
            ProviderKind::Gcp => {
                Reply::json(429, r#"{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED"}}"#)
            }
            ProviderKind::Azure => {
                Reply::json(429, r#"{"error":{"code":"TooManyRequests","message":"The request is being throttled."}}"#)
            }
            ProviderKind::Kubernetes => Reply::json(
                429,
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","code":429}"#,
            ),
            _ => Reply::json(429, r#"{"message":"You have exceeded a secondary rate limit."}"#),
        };
        r.with_header("retry-after", "30")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Unauthorized,
    RateLimit403,
    TooMany429,
    Status500,
    Status502,
    Status503,
    Hang,
    Refused,
    Cut,
    TruncatedJson,
    Html,
    Huge,
    Redirect,
}

const FAULTS: &[Fault] = &[
    Fault::Unauthorized,
    Fault::RateLimit403,
    Fault::TooMany429,
    Fault::Status500,
    Fault::Status502,
    Fault::Status503,
    Fault::Hang,
    Fault::Refused,
    Fault::Cut,
    Fault::TruncatedJson,
    Fault::Html,
    Fault::Huge,
    Fault::Redirect,
];

fn reply(kind: ProviderKind, fault: Fault, redirect_to: &str) -> Reply {
    match fault {
        Fault::Unauthorized => kind.unauthorized(),
        Fault::RateLimit403 => {
            let reset = (chrono::Utc::now() + chrono::Duration::seconds(120)).timestamp().to_string();
            Reply::json(403, r#"{"message":"API rate limit exceeded for user ID 1."}"#)
                .with_header("x-ratelimit-limit", "5000")
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", &reset)
        }
        Fault::TooMany429 => kind.throttled(),
        Fault::Status500 => Reply::json(500, r#"{"message":"Server Error"}"#),
        Fault::Status502 => Reply::Status {
            code: 502,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
        },
        Fault::Status503 => Reply::json(503, r#"{"message":"Service Unavailable"}"#),
        Fault::Hang => Reply::Hang,
        Fault::Refused => unreachable!("nothing listens"),
        Fault::Cut => Reply::Cut { body: br#"{"value": [{"id": "/subscriptions/x", "name": "cut"#.to_vec() },
        Fault::TruncatedJson => Reply::json(
            200,
            r#"{"workflow_runs": [{"id": 1, "name": "ci"}], "value": [{"id": "/subscriptions/x", "name": "tr"#,
        ),
        Fault::Html => Reply::Status {
            code: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"
                .to_vec(),
        },
        Fault::Huge => Reply::Huge,
        Fault::Redirect => Reply::Status {
            code: 302,
            headers: vec![("location".into(), format!("{redirect_to}/collected"))],
            body: Vec::new(),
        },
    }
}

/// One case: its servers, its files, and what came out.
struct Outcome {
    kind: ProviderKind,
    fault: Fault,
    elapsed: Duration,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    seen: Vec<Seen>,
    collected: Vec<Seen>,
}

impl Outcome {
    fn label(&self) -> String {
        format!("{:?}/{:?}", self.kind, self.fault)
    }

    fn doc(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{}: stdout is not JSON ({e}):\n{}\n{}", self.label(), self.stdout, self.stderr))
    }

    /// The failure as the user reads it: the source's entry in `errors`, or for health the
    /// faulty check's error.
    fn error(&self) -> Option<String> {
        let doc = self.doc();
        if self.kind == ProviderKind::Health {
            let check = doc["health"].as_array()?.iter().find(|h| h["name"] == "faulty")?.clone();
            return check["error"].as_str().map(str::to_string);
        }
        doc["errors"]
            .as_array()?
            .iter()
            .find(|e| e["source"].as_str().is_some_and(|s| s.starts_with(self.kind.source())))
            .and_then(|e| e["error"].as_str().map(str::to_string))
    }
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
}

/// A stand-in `az` that hands out [`AZURE_TOKEN`] for every audience.
fn stand_in_az(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let script = format!(
        "#!/bin/sh\nexp=$(( $(date +%s) + 3600 ))\nprintf '{{\"accessToken\":\"{AZURE_TOKEN}\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":%s,\"subscription\":\"{SUB}\",\"tenant\":\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"tokenType\":\"Bearer\"}}\\n' \"$exp\"\n"
    );
    let p = bin.join("az");
    write(&p, &script);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A service-account key whose `token_uri` is `token_server`.
fn gcp_key(dir: &Path, token_server: &str) -> PathBuf {
    let pem = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gcp/THROWAWAY-test-only-rsa-key.pem"),
    )
    .unwrap();
    let key = json!({
        "type": "service_account",
        "project_id": "fault-proj",
        "private_key_id": "0000000000000000000000000000000000000000",
        "private_key": pem,
        "client_email": "skydeck-test@fault-proj.iam.gserviceaccount.com",
        "client_id": "100000000000000000000",
        "auth_uri": format!("{token_server}/auth"),
        "token_uri": format!("{token_server}/token"),
    });
    let p = dir.join("service-account.json");
    write(&p, &key.to_string());
    p
}

/// The config of one case: the faulty provider at `uri`, and a healthy check beside it.
fn config(kind: ProviderKind, uri: &str, healthy: &str, dir: &Path, token_server: &str) -> String {
    let fetch = if kind == ProviderKind::Aws { AWS_FETCH_TIMEOUT } else { FETCH_TIMEOUT };
    let mut c = format!("[refresh]\nrequest_timeout_seconds = {REQUEST_TIMEOUT}\nfetch_timeout_seconds = {fetch}\n\n");
    match kind {
        ProviderKind::Github => {
            writeln!(c, "[github]\napi_url = \"{uri}\"\nrepos = [\"octo-org/octo-repo\"]\n").unwrap();
        }
        ProviderKind::Azure => {
            writeln!(
                c,
                "[azure]\nsubscription_id = \"{SUB}\"\narm_endpoint = \"{uri}\"\ngraph_endpoint = \"{uri}/graph\"\nlog_analytics_endpoint = \"{uri}/la\"\nvaults = [\"{uri}/kv\"]\nhealth_url = \"\"\n"
            )
            .unwrap();
        }
        ProviderKind::Gcp => {
            let key = gcp_key(dir, token_server);
            writeln!(
                c,
                "[gcp]\nproject = \"fault-proj\"\nregions = [\"us-central1\"]\ncredentials = \"service_account\"\ncredentials_file = \"{}\"\n[gcp.endpoints]\nrun = \"{uri}\"\nsqladmin = \"{uri}\"\nsecretmanager = \"{uri}\"\nlogging = \"{uri}\"\nmonitoring = \"{uri}\"\n",
                key.display()
            )
            .unwrap();
        }
        ProviderKind::Aws => {
            writeln!(c, "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{uri}\"\n").unwrap();
        }
        ProviderKind::Kubernetes => {
            let kubeconfig = dir.join("kubeconfig");
            write(
                &kubeconfig,
                &format!(
                    "apiVersion: v1\nkind: Config\nclusters:\n- name: fault\n  cluster:\n    server: {uri}\ncontexts:\n- name: fault\n  context:\n    cluster: fault\n    user: oncall\ncurrent-context: fault\nusers:\n- name: oncall\n  user:\n    token: {KUBE_TOKEN}\n"
                ),
            );
            writeln!(c, "[kubernetes]\nkubeconfig = \"{}\"\ncontexts = [\"fault\"]\n", kubeconfig.display()).unwrap();
        }
        ProviderKind::Health => {
            writeln!(
                c,
                "[[environments]]\nname = \"production\"\n[[environments.health]]\nname = \"faulty\"\nurl = \"{uri}/healthz\"\nexpect_body = \"ok\"\ntimeout_seconds = {REQUEST_TIMEOUT}\nheaders = {{ authorization = \"env:HEALTH_AUTH\" }}\n"
            )
            .unwrap();
        }
    }
    writeln!(
        c,
        "[[environments]]\nname = \"staging\"\n[[environments.health]]\nname = \"companion\"\nurl = \"{healthy}/healthz\"\nexpect_body = \"ok\"\ntimeout_seconds = {REQUEST_TIMEOUT}\n"
    )
    .unwrap();
    c
}

/// Runs `skydeck status --json` for one case and waits for it (killing it past 60 s).
async fn run_case(kind: ProviderKind, fault: Fault, healthy: String, token_server: String) -> Outcome {
    let collector = FaultServer::start_on("127.0.0.2", |_| Reply::json(200, r#"{"collected": true}"#)).await;
    let redirect_to = collector.uri();
    let server = if fault == Fault::Refused {
        None
    } else {
        let r = reply(kind, fault, &redirect_to);
        Some(FaultServer::start(move |_| r.clone()).await)
    };
    // Held until the case ends, so nothing else binds the refused port meanwhile.
    let refusing = if server.is_none() { Some(faults::refused_port()) } else { None };
    let uri = match (&server, &refusing) {
        (Some(s), _) => s.uri(),
        (None, Some((_, port))) => format!("http://127.0.0.1:{port}"),
        (None, None) => unreachable!("a refused case holds its port"),
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let config_path = d.join("config.toml");
    write(&config_path, &config(kind, &uri, &healthy, &d, &token_server));
    let bin = d.join("bin");
    stand_in_az(&bin);

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
    cmd.arg("--config")
        .arg(&config_path)
        .args(["status", "--json"])
        .env("HOME", &d)
        .env("XDG_DATA_HOME", d.join("data"))
        .env("XDG_STATE_HOME", d.join("state"))
        .env("XDG_CONFIG_HOME", d.join("config"))
        .env("USER", "faults")
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("SKYDECK_GITHUB_TOKEN", GITHUB_TOKEN)
        .env("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", d.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", d.join("aws-credentials"))
        .env("HEALTH_AUTH", HEALTH_SECRET)
        .env("SKYDECK_LOG", "debug")
        .env_remove("SKYDECK_CONFIG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (elapsed, output) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        // A watchdog so a hung case fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let dog = std::thread::spawn(move || {
            if rx.recv_timeout(Duration::from_mins(1)).is_err() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        });
        let output = child.wait_with_output().unwrap();
        let _ = tx.send(());
        dog.join().unwrap();
        (started.elapsed(), output)
    })
    .await
    .unwrap();
    let log = std::fs::read_to_string(d.join("state/skydeck/skydeck.log")).unwrap_or_default();
    let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // The debug log is output too: it must not carry a credential either.
    stderr.push_str("\n--- skydeck.log ---\n");
    stderr.push_str(&log);
    Outcome {
        kind,
        fault,
        elapsed,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
        seen: server.map(|s| s.seen()).unwrap_or_default(),
        collected: collector.seen(),
    }
}

/// The most requests one `status` may send a failing provider (retries included).
fn request_bound(kind: ProviderKind) -> usize {
    match kind {
        // runs, environments, deployments and the three security alert lists (Dependabot, code
        // scanning, secret scanning): 3 attempts each.
        ProviderKind::Github => 18,
        // subscription reads fan out to sites, plans, servers and vaults: 3 attempts each.
        ProviderKind::Azure => 40,
        // run, sql, secrets, 4 monitoring queries, the open alerts and the alerting policies: 3
        // attempts each.
        ProviderKind::Gcp => 27,
        // ecs, rds, secrets: 4 attempts each, plus the first page of each listing.
        ProviderKind::Aws => 16,
        // deployments, statefulsets, replicasets, pods, events, pod metrics, controller
        // revisions: 3 attempts each.
        ProviderKind::Kubernetes => 21,
        ProviderKind::Health => 1,
    }
}

/// The shortest wait between two attempts at one path: half the first backoff step, since the
/// jitter is in the upper half. The AWS SDK's "full jitter" may retry at once.
fn min_gap(kind: ProviderKind) -> Duration {
    match kind {
        ProviderKind::Github | ProviderKind::Azure | ProviderKind::Kubernetes => Duration::from_millis(100),
        ProviderKind::Gcp => Duration::from_millis(125),
        ProviderKind::Aws | ProviderKind::Health => Duration::ZERO,
    }
}

fn check(o: &Outcome, problems: &mut Vec<String>) {
    let label = o.label();
    let mut fail = |what: String| problems.push(format!("{label}: {what}"));
    if o.code != Some(0) {
        fail(format!("exit {:?}\n{}", o.code, o.stderr));
        return;
    }
    for secret in SECRETS {
        if o.stdout.contains(secret) || o.stderr.contains(secret) {
            fail(format!("a credential ({}…) appears in the output", &secret[..6]));
        }
        for c in &o.collected {
            if c.head.contains(secret) {
                fail(format!("a credential ({}…) was sent to the redirect's host:\n{}", &secret[..6], c.head));
            }
        }
    }
    let doc = o.doc();
    // The healthy source beside the faulty one still reports.
    let companion = doc["health"].as_array().and_then(|h| h.iter().find(|c| c["name"] == "companion").cloned());
    match companion {
        Some(c) if c["error"].is_null() && c["status_code"] == 200 => {}
        other => fail(format!("the healthy check beside it does not report: {other:?}")),
    }
    let Some(error) = o.error() else {
        fail(format!("not reported as failed: errors {} health {}", doc["errors"], doc["health"]));
        return;
    };
    let lower = error.to_ascii_lowercase();
    let expect = |needles: &[&str]| needles.iter().any(|n| lower.contains(&n.to_ascii_lowercase()));
    let says = match (o.kind, o.fault) {
        (ProviderKind::Health, Fault::Unauthorized) => expect(&["HTTP 401"]),
        (ProviderKind::Health, Fault::RateLimit403) => expect(&["HTTP 403"]),
        (ProviderKind::Health, Fault::TooMany429) => expect(&["HTTP 429"]),
        (ProviderKind::Health, Fault::Status500) => expect(&["HTTP 500"]),
        (ProviderKind::Health, Fault::Status502) => expect(&["HTTP 502"]),
        (ProviderKind::Health, Fault::Status503) => expect(&["HTTP 503"]),
        (ProviderKind::Health, Fault::Html) => expect(&["body does not contain"]),
        (ProviderKind::Health, Fault::Huge) => expect(&["larger than 1 MiB"]),
        (ProviderKind::Health, Fault::Redirect) => expect(&["body does not contain"]),
        (ProviderKind::Github, Fault::Unauthorized) => expect(&["skydeck auth login github"]),
        (ProviderKind::Azure, Fault::Unauthorized) => expect(&["az login"]),
        (ProviderKind::Gcp, Fault::Unauthorized) => expect(&["gcloud auth"]),
        (ProviderKind::Aws, Fault::Unauthorized) => expect(&["aws configure"]),
        (ProviderKind::Kubernetes, Fault::Unauthorized) => expect(&["log in again"]),
        // A JSON error body without the API server's `code` (kube reads the status from it).
        (ProviderKind::Kubernetes, Fault::Status500) => expect(&["Server Error"]),
        (ProviderKind::Kubernetes, Fault::Status503) => expect(&["Service Unavailable"]),
        // kube reads the whole body before parsing it (no cap yet): the 50 MB of filler fails
        // as a payload that is not a list.
        (ProviderKind::Kubernetes, Fault::Huge) => expect(&["Error deserializing"]),
        (ProviderKind::Github, Fault::RateLimit403) => {
            lower.contains("rate limited, retry in 1") || lower.contains("rate limited, retry in 20") // ~120 s
        }
        (_, Fault::TooMany429) => {
            lower.contains("rate limited") && (lower.contains("retry in 30s") || lower.contains("next refresh"))
        }
        (ProviderKind::Github | ProviderKind::Azure | ProviderKind::Gcp, Fault::Status500) => expect(&["500"]),
        (
            ProviderKind::Github | ProviderKind::Azure | ProviderKind::Gcp | ProviderKind::Kubernetes,
            Fault::Status502,
        ) => expect(&["502"]),
        (ProviderKind::Github | ProviderKind::Azure | ProviderKind::Gcp, Fault::Status503) => expect(&["503"]),
        (_, Fault::Hang) => expect(&["within", "timed out", "timeout"]),
        (_, Fault::Refused) => expect(&["refused"]),
        (_, Fault::Html) if o.kind == ProviderKind::Github => expect(&["HTML page, not JSON"]),
        // Refused at the limit, or cut off by the request timeout while it streams in.
        (ProviderKind::Aws, Fault::Huge) => expect(&["larger than 32 MiB"]),
        (_, Fault::Huge) => expect(&["larger than 32 MiB", "body", "within"]),
        _ => !error.trim().is_empty(),
    };
    if !says {
        fail(format!("the message does not say what happened: {error}"));
    }
    // Retries: bounded, and spaced by backoff.
    if o.seen.len() > request_bound(o.kind) {
        fail(format!("{} requests (bound {})", o.seen.len(), request_bound(o.kind)));
    }
    let mut by_path: std::collections::BTreeMap<&str, Vec<Instant>> = Default::default();
    for s in &o.seen {
        by_path.entry(s.target.as_str()).or_default().push(s.at);
    }
    for (path, times) in &by_path {
        // A 401 is asked once more at once with a fresh token (Azure): that is no backoff retry.
        if o.fault == Fault::Unauthorized {
            // (AWS sends every call to `/`; its total is bounded above.)
            if times.len() > 2 && o.kind != ProviderKind::Aws {
                fail(format!("{path} asked {} times after a 401", times.len()));
            }
            continue;
        }
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            if gap < min_gap(o.kind) {
                fail(format!("{path} retried after {gap:?} (no backoff)"));
            }
        }
    }
    let retried = by_path.values().any(|t| t.len() > 1);
    let retryable = matches!(o.fault, Fault::Status500 | Fault::Status502 | Fault::Status503);
    if retryable && o.kind != ProviderKind::Health && !retried {
        fail(format!("a server error was not retried: {:?}", by_path.keys().collect::<Vec<_>>()));
    }
    if o.fault == Fault::Unauthorized && o.kind == ProviderKind::Github && retried {
        fail("a 401 was retried".into());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_provider_survives_every_fault() {
    let healthy = FaultServer::start(|_| Reply::json(200, "ok")).await;
    let token = FaultServer::start(|s| {
        if s.method == "POST" && s.path() == "/token" {
            Reply::json(
                200,
                &json!({"access_token": GCP_TOKEN, "expires_in": 3600, "token_type": "Bearer"}).to_string(),
            )
        } else {
            Reply::json(404, "{}")
        }
    })
    .await;
    let kinds = [
        ProviderKind::Github,
        ProviderKind::Azure,
        ProviderKind::Gcp,
        ProviderKind::Aws,
        ProviderKind::Kubernetes,
        ProviderKind::Health,
    ];
    let only = std::env::var("FAULT_MATRIX_ONLY").ok();
    let limit = Arc::new(tokio::sync::Semaphore::new(20));
    let started = Instant::now();
    let mut cases = Vec::new();
    for kind in kinds {
        for &fault in FAULTS {
            if only.as_deref().is_some_and(|o| !format!("{kind:?}/{fault:?}").contains(o)) {
                continue;
            }
            let (h, t, limit) = (healthy.uri(), token.uri(), limit.clone());
            cases.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                run_case(kind, fault, h, t).await
            }));
        }
    }
    let mut outcomes = Vec::new();
    for c in cases {
        outcomes.push(c.await.unwrap());
    }
    let total = started.elapsed();
    let mut problems = Vec::new();
    for o in outcomes.iter().filter(|o| o.elapsed > BOUND) {
        problems.push(format!("{}: took {:?} (bound {BOUND:?})", o.label(), o.elapsed));
    }
    let mut report = format!("{:<28} {:>7} {:>5}  error\n", "case", "time", "reqs");
    for o in &outcomes {
        check(o, &mut problems);
        let error = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| o.error())).ok().flatten();
        writeln!(
            report,
            "{:<28} {:>6.1}s {:>5}  {}",
            o.label(),
            o.elapsed.as_secs_f64(),
            o.seen.len(),
            error.unwrap_or_default().chars().take(160).collect::<String>()
        )
        .unwrap();
    }
    writeln!(report, "{} cases in {:.1}s", outcomes.len(), total.as_secs_f64()).unwrap();
    if std::env::var_os("FAULT_MATRIX_REPORT").is_some() {
        println!("{report}");
    }
    assert!(problems.is_empty(), "{} problems:\n{}\n\n{report}", problems.len(), problems.join("\n"));
}

/// The TUI with a GitHub that accepts connections and never answers: the screen draws, keys
/// work (screens switch, help opens), the healthy check beside it shows, and `q` quits at once
/// although the GitHub fetch is still hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_keeps_rendering_and_answering_keys_while_a_source_hangs() {
    let hanging = FaultServer::start(|_| Reply::Hang).await;
    let healthy = FaultServer::start(|_| Reply::json(200, "ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let config_path = d.join("config.toml");
    // The default limits: the hang lasts longer than the whole test.
    write(
        &config_path,
        &format!(
            "[github]\napi_url = \"{}\"\nrepos = [\"octo-org/octo-repo\"]\n\n[[environments]]\nname = \"staging\"\n[[environments.health]]\nname = \"companion\"\nurl = \"{}/healthz\"\n",
            hanging.uri(),
            healthy.uri()
        ),
    );
    let (hung_at, quit_after) = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
        cmd.arg("--config")
            .arg(&config_path)
            .env("HOME", &d)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("USER", "faults")
            .env("TERM", "xterm-256color")
            .env("PATH", "/usr/bin:/bin")
            .env("SKYDECK_GITHUB_TOKEN", GITHUB_TOKEN)
            .env_remove("SKYDECK_CONFIG")
            .env_remove("NO_COLOR");
        let mut tui = pty::Tui::spawn(cmd, 120, 40);
        let wait = Duration::from_secs(15);
        tui.wait_for_within("What needs attention", wait);
        tui.send("4");
        tui.wait_for_within("Health checks", wait);
        tui.wait_for_within("companion", wait);
        let hung_at = Instant::now();
        tui.send("2");
        tui.wait_for_within("Workflow runs", wait);
        tui.send("?");
        tui.wait_for_within("any key closes this help", wait);
        tui.send("z");
        tui.wait_until("help closed", wait, |s| !s.contains("any key closes this help"));
        tui.send("1");
        tui.wait_for_within("What needs attention", wait);
        let screen = tui.contents();
        assert!(!screen.contains(GITHUB_TOKEN), "{screen}");
        let quit = Instant::now();
        tui.send("q");
        let status = tui.wait_exit(Duration::from_secs(10));
        assert!(matches!(status, expectrl::WaitStatus::Exited(_, 0)), "{status:?}");
        (hung_at, quit.elapsed())
    })
    .await
    .unwrap();
    // GitHub was asked and never answered while all of the above happened.
    let seen = hanging.seen();
    assert!(!seen.is_empty(), "the TUI asked the hanging GitHub");
    assert!(seen[0].at <= hung_at, "the request was hanging before the keys were pressed");
    assert!(quit_after < Duration::from_secs(5), "quit took {quit_after:?} with a fetch hanging");
}
