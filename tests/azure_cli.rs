//! The real binary against Azure on loopback, as an engineer uses it: `az` (a stand-in on
//! PATH) is logged in; `status --json` shows ARM ids; `act` swaps, sets a Key Vault value from
//! stdin and rotates the deploy credential, with the sealed GitHub upload opened here with the
//! matching private key. The generated password must appear in no output, log or audit entry.

mod azure_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use azure_support::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PASSWORD: &str = "Zx9~generated-PASSWORD-that-must-never-show";
/// The deploy credential's id: the GitHub secret's path, prefixed with the host when it is
/// not github.com (as the GitHub provider names things on Enterprise servers).
fn deploy_id(server: &MockServer) -> String {
    format!("{}/o/shop/actions/secrets/AZURE_CLIENT_SECRET_PRODUCTION", server.uri().trim_start_matches("http://"))
}
const APP_ID: &str = "11111111-2222-3333-4444-555555555555";

struct Env {
    dir: tempfile::TempDir,
    bin: PathBuf,
    config: PathBuf,
}

impl Env {
    fn new(uri: &str, logged_in: bool) -> Env {
        let dir = tempdir();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        stand_in_az(&bin, logged_in);
        let config = dir.path().join("config.toml");
        let text = config_text(
            uri,
            &format!("deploy_app = \"shop\"\ngithub_repo = \"o/shop\"\ndeploy_secret_vault = \"{uri}/kv2\""),
            &format!("[github]\napi_url = \"{uri}\"\nrepos = [\"o/shop\"]\n[[environments]]\nname = \"production\"\n"),
        );
        std::fs::write(&config, text).unwrap();
        Env { dir, bin, config }
    }

    /// Runs skydeck with its own XDG dirs, the stand-in `az` first on PATH, a GitHub token,
    /// and no Azure service principal in the environment.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydeck"));
        let d = self.dir.path();
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("PATH", path_with(&self.bin))
            .env("SKYDECK_GITHUB_TOKEN", "gh-test-token")
            .env("SKYDECK_LOG", "debug")
            .env("USER", "tester")
            .env_remove("SKYDECK_CONFIG")
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let input = stdin.map(str::to_string);
        tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().unwrap();
            if let Some(text) = input {
                child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            }
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/skydeck/skydeck.log")).unwrap_or_default()
    }

    fn az_log(&self) -> Vec<String> {
        az_calls(&self.bin)
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// What the GitHub provider reads for the configured repository: nothing to show.
async fn mount_github_reads(server: &MockServer) {
    let gh = |p: &str| {
        Mock::given(method("GET")).and(path(p.to_string())).and(header("authorization", "Bearer gh-test-token"))
    };
    gh("/repos/o/shop/actions/runs")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "workflow_runs": []})))
        .mount(server)
        .await;
    gh("/repos/o/shop/environments")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "environments": []})))
        .mount(server)
        .await;
    gh("/repos/o/shop/deployments")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
}

/// Microsoft Graph: the service principal `shop-production-app` and its app registration
/// (shapes of the Graph v1.0 reference).
async fn mount_graph(server: &MockServer) {
    let graph = |m: &str, p: &str| {
        Mock::given(method(m)).and(path(p.to_string())).and(header("authorization", "Bearer graph-token"))
    };
    graph("GET", "/graph/v1.0/servicePrincipals")
        .and(query_param("$filter", "displayName eq 'shop-production-app'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "6b2c1b8e-0000-4000-8000-000000000001", "appId": APP_ID, "displayName": "shop-production-app"}
        ]})))
        .mount(server)
        .await;
    let app = Directory::default();
    graph("GET", "/graph/v1.0/applications")
        .and(query_param("$filter", format!("appId eq '{APP_ID}'")))
        .respond_with(app.clone())
        .mount(server)
        .await;
    graph("POST", "/graph/v1.0/applications/app-object-1/addPassword").respond_with(app.clone()).mount(server).await;
    graph("POST", "/graph/v1.0/applications/app-object-1/removePassword").respond_with(app).mount(server).await;
}

/// The app registration as Microsoft Graph keeps it: `addPassword` adds `new-key-1` (answering
/// with the password once), `removePassword` removes the key id it is given, and reads show
/// what is there now.
#[derive(Clone)]
struct Directory {
    keys: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            keys: Arc::new(Mutex::new(vec![(
                "0ld-key-1".into(),
                "2026-05-01T00:00:00Z".into(),
                "2026-11-01T00:00:00Z".into(),
            )])),
        }
    }
}

impl Respond for Directory {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut keys = self.keys.lock().unwrap();
        let p = req.url.path();
        if p.ends_with("/addPassword") {
            keys.push(("new-key-1".into(), "2026-11-22T00:00:00Z".into(), "2027-05-21T00:00:00Z".into()));
            return ResponseTemplate::new(200).set_body_json(json!({
                "customKeyIdentifier": null, "displayName": "skydeck rotation", "endDateTime": "2027-05-21T00:00:00Z",
                "hint": "Zx9", "keyId": "new-key-1", "secretText": PASSWORD, "startDateTime": "2026-11-22T00:00:00Z"
            }));
        }
        if p.ends_with("/removePassword") {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            keys.retain(|(k, _, _)| body["keyId"] != k.as_str());
            return ResponseTemplate::new(204);
        }
        let creds: Vec<Value> = keys
            .iter()
            .map(|(k, start, end)| {
                json!({
                    "customKeyIdentifier": null, "displayName": "deploy", "endDateTime": end,
                    "hint": "abc", "keyId": k, "secretText": null, "startDateTime": start
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "app-object-1", "appId": APP_ID, "displayName": "shop-production-app",
            "passwordCredentials": creds
        }]}))
    }
}

/// GitHub's public key answer (get-repo-public-key.200.json's key id) with a key whose
/// private half the test keeps.
async fn mount_github_secret(server: &MockServer, put_status: u16) -> crypto_box::SecretKey {
    let sk = crypto_box::SecretKey::generate(&mut crypto_box::aead::OsRng);
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/github/get-repo-public-key.200.json"
        ))
        .unwrap(),
    )
    .unwrap();
    Mock::given(method("GET"))
        .and(path("/repos/o/shop/actions/secrets/public-key"))
        .and(header("authorization", "Bearer gh-test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "key_id": example["key_id"],
            "key": BASE64.encode(sk.public_key().as_bytes()),
        })))
        .mount(server)
        .await;
    let put = ResponseTemplate::new(put_status);
    let put = if put_status >= 400 {
        put.set_body_json(json!({"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest"}))
    } else {
        put
    };
    Mock::given(method("PUT"))
        .and(path("/repos/o/shop/actions/secrets/AZURE_CLIENT_SECRET_PRODUCTION"))
        .respond_with(put)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/shop/actions/secrets/AZURE_CLIENT_SECRET_PRODUCTION"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "AZURE_CLIENT_SECRET_PRODUCTION",
            "created_at": "2019-08-10T14:59:22Z",
            "updated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/kv2/secrets/azure-client-secret-production"))
        .and(header("authorization", "Bearer kv-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(&shared("keyvault/2025-06-01/SetSecret-example.json"), "200")),
        )
        .mount(server)
        .await;
    sk
}

async fn started() -> MockServer {
    let server = MockServer::start().await;
    mount_estate(&server).await;
    mount_github_reads(&server).await;
    mount_graph(&server).await;
    server
}

fn audit_of(out: &Output) -> Vec<Value> {
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

fn assert_absent(what: &str, haystacks: &[(&str, String)]) {
    for (name, text) in haystacks {
        assert!(!text.contains(what), "'{what}' leaked into {name}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_arm_ids_and_act_promote_swaps_and_is_audited() {
    let server = started().await;
    let uri = server.uri();
    let env = Env::new(&uri, true);

    let out = env.run(&["status", "--json"], None).await;
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["errors"], json!([]), "{}", text(&out));
    let ids = |key: &str| -> Vec<String> {
        doc[key].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
    };
    let resources = ids("resources");
    assert!(resources.contains(&SITE.to_string()), "{resources:?}");
    assert!(resources.contains(&PG4.to_string()));
    assert!(resources.iter().all(|id| id.starts_with("/subscriptions/")));
    assert!(ids("backups").contains(&PG4.to_string()));
    let secrets = ids("secrets");
    let deploy_id = deploy_id(&server);
    assert!(secrets.contains(&KV_SECRET.to_string()), "{secrets:?}");
    assert!(secrets.contains(&deploy_id), "{secrets:?}");
    let deploy = doc["secrets"].as_array().unwrap().iter().find(|s| s["id"] == deploy_id.as_str()).unwrap();
    assert_eq!(deploy["environment"], "production");
    assert_eq!(deploy["expires_at"], "2026-11-01T00:00:00Z");
    assert_eq!(deploy["versions"], 1);
    let sources: Vec<&str> = doc["sources"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(sources.contains(&"azure"), "{sources:?}");
    assert!(sources.iter().any(|s| s.starts_with("github")), "{sources:?}");
    assert!(
        doc["findings"].as_array().unwrap().iter().any(|f| f["subject"] == "pgtestsvc4"),
        "the old backup is a finding"
    );

    // Promote from the command line: plan, confirm, swap (202, polled), verify, audit.
    Mock::given(method("POST"))
        .and(path(format!("{SITE}/slots/staging/slotsswap")))
        .and(body_json(json!({"targetSlot": "production", "preserveVnet": true})))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("azure-asyncoperation", format!("{uri}/ops/cli-swap"))
                .insert_header("retry-after", "0"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ops/cli-swap"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(SITE))
        .respond_with(ResponseTemplate::new(200).set_body_json(body(&shared("web/2025-05-01/GetWebApp.json"), "200")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/health/sitef6141.azurewebsites.net"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let out =
        env.run(&["act", "promote", SITE, "--yes", "--confirm", "sitef6141", "--reason", "release 42"], None).await;
    assert!(out.status.success(), "{}", text(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["ok"], true);
    assert_eq!(result["target"], SITE);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/slots/staging/slotsswap?api-version=2024-11-01"), "{stderr}");

    let audit = audit_of(&env.run(&["audit", "--json"], None).await);
    let phases: Vec<&str> = audit.iter().map(|e| e["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["started", "finished"]);
    assert_eq!(audit[0]["target"], SITE);
    assert_eq!(audit[0]["source"], "azure");
    assert_eq!(audit[0]["reason"], "release 42");
    assert_eq!(audit[1]["action_id"], audit[0]["seq"]);

    // Tokens never reach the log.
    assert_absent("arm-token", &[("the log", env.log())]);
    // A fresh process asks `az` again, once per audience it needs.
    assert!(env.az_log().iter().all(|c| c.starts_with("account get-access-token")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_deploy_credential_never_shows_the_password() {
    let server = started().await;
    let sk = mount_github_secret(&server, 201).await;
    let env = Env::new(&server.uri(), true);
    let deploy = deploy_id(&server);
    let deploy = deploy.as_str();

    // Production: the secret's name must be typed.
    let refused = env.run(&["act", "rotate", deploy, "--yes"], None).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("pass --confirm AZURE_CLIENT_SECRET_PRODUCTION"), "{}", text(&refused));

    let out = env
        .run(
            &["act", "rotate", deploy, "--yes", "--confirm", "AZURE_CLIENT_SECRET_PRODUCTION", "--reason", "quarterly"],
            None,
        )
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let detail = result["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("new password new-key-1 (valid until 2027-05-21T00:00:00Z) stored in GitHub secret AZURE_CLIENT_SECRET_PRODUCTION of o/shop and Key Vault secret azure-client-secret-production; removed 1 old password(s) 0ld-key-1; verified: shop-production-app has password new-key-1"),
        "{detail}"
    );

    let reqs = server.received_requests().await.unwrap();
    let find = |m: &str, p: &str| {
        reqs.iter().filter(|r| r.method.as_str() == m && r.url.path() == p).cloned().collect::<Vec<_>>()
    };
    // The sealed upload opens with the private key into exactly the new password.
    let put = &find("PUT", "/repos/o/shop/actions/secrets/AZURE_CLIENT_SECRET_PRODUCTION")[0];
    let sent: Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(sent["key_id"], "012345678912345678");
    let sealed = BASE64.decode(sent["encrypted_value"].as_str().unwrap()).unwrap();
    assert_eq!(sk.unseal(&sealed).unwrap(), PASSWORD.as_bytes());
    assert!(!String::from_utf8_lossy(&put.body).contains(PASSWORD));
    // The Key Vault copy.
    let kv: Value =
        serde_json::from_slice(&find("PUT", "/kv2/secrets/azure-client-secret-production")[0].body).unwrap();
    assert_eq!(kv["value"], PASSWORD);
    // Order: key first, then the password, the upload, and only then the old one removed.
    let order: Vec<String> = reqs
        .iter()
        .filter(|r| r.method.as_str() != "GET" || r.url.path().ends_with("public-key"))
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    let pos = |s: &str| order.iter().position(|o| o == s).unwrap_or_else(|| panic!("{s} not in {order:?}"));
    assert!(
        pos("GET /repos/o/shop/actions/secrets/public-key")
            < pos("POST /graph/v1.0/applications/app-object-1/addPassword")
    );
    assert!(
        pos("POST /graph/v1.0/applications/app-object-1/addPassword")
            < pos("PUT /repos/o/shop/actions/secrets/AZURE_CLIENT_SECRET_PRODUCTION")
    );
    assert!(
        pos("PUT /kv2/secrets/azure-client-secret-production")
            < pos("POST /graph/v1.0/applications/app-object-1/removePassword")
    );
    let removed = find("POST", "/graph/v1.0/applications/app-object-1/removePassword");
    assert_eq!(removed.len(), 1);
    assert_eq!(serde_json::from_slice::<Value>(&removed[0].body).unwrap(), json!({"keyId": "0ld-key-1"}));

    let audit_out = env.run(&["audit", "--json"], None).await;
    let audit = audit_of(&audit_out);
    assert_eq!(audit.iter().map(|e| e["phase"].as_str().unwrap()).collect::<Vec<_>>(), ["started", "finished"]);
    assert_eq!(audit[0]["target"], deploy);
    let status = env.run(&["status", "--json"], None).await;
    assert_absent(
        PASSWORD,
        &[
            ("refused output", text(&refused)),
            ("act output", text(&out)),
            ("the audit log", text(&audit_out)),
            ("status", text(&status)),
            ("the log file", env.log()),
        ],
    );
    assert_absent("Zx9~", &[("the log file", env.log())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_github_upload_takes_the_new_password_back_and_says_what_is_valid() {
    let server = started().await;
    let _sk = mount_github_secret(&server, 422).await;
    let env = Env::new(&server.uri(), true);
    let deploy = deploy_id(&server);
    let deploy = deploy.as_str();
    let out = env.run(&["act", "rotate", deploy, "--yes", "--confirm", "AZURE_CLIENT_SECRET_PRODUCTION"], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = serde_json::from_slice::<Value>(&out.stdout).unwrap()["error"].as_str().unwrap().to_string();
    assert_eq!(
        err,
        "GitHub secret AZURE_CLIENT_SECRET_PRODUCTION not updated (GitHub (127.0.0.1) answered 422 to PUT /repos/o/shop/actions/secrets/AZURE_CLIENT_SECRET_PRODUCTION: Validation Failed); the new password new-key-1 was removed again, so nothing changed: the old credential is still valid and still in GitHub"
            .replace("127.0.0.1", server.uri().trim_start_matches("http://"))
    );
    let reqs = server.received_requests().await.unwrap();
    let removed: Vec<Value> = reqs
        .iter()
        .filter(|r| r.url.path().ends_with("/removePassword"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(removed, [json!({"keyId": "new-key-1"})], "only the unused new password is removed");
    assert!(!reqs.iter().any(|r| r.url.path().starts_with("/kv2/")), "no Key Vault copy");
    let audit_out = env.run(&["audit", "--json"], None).await;
    let audit = audit_of(&audit_out);
    assert_eq!(audit[1]["phase"], "failed");
    assert_eq!(audit[1]["detail"], err);
    assert_absent(PASSWORD, &[("act output", text(&out)), ("audit", text(&audit_out)), ("log", env.log())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_vault_value_comes_from_stdin_and_goes_nowhere_else() {
    let server = started().await;
    Mock::given(method("PUT"))
        .and(path("/kv/secrets/listsecrettest0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(&shared("keyvault/2025-06-01/SetSecret-example.json"), "200")),
        )
        .mount(&server)
        .await;
    let env = Env::new(&server.uri(), true);
    let value = "piped-value-0451";
    let out = env.run(&["act", "rotate", KV_SECRET, "--value-stdin", "--yes"], Some(&format!("{value}\n"))).await;
    // The version list of the fixtures does not hold the new version: verification says so.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("version 03bcccc7c8cf4546a0e3e21e52560441 of listsecrettest0 is not listed yet"),
        "{}",
        text(&out)
    );
    let put = server.received_requests().await.unwrap().into_iter().find(|r| r.method.as_str() == "PUT").unwrap();
    let sent: Value = serde_json::from_slice(&put.body).unwrap();
    assert_eq!(sent["value"], value, "one trailing newline is not part of the value");
    let audit_out = env.run(&["audit", "--json"], None).await;
    assert_absent(value, &[("act output", text(&out)), ("audit", text(&audit_out)), ("log", env.log())]);

    let empty = env.run(&["act", "rotate", KV_SECRET, "--value-stdin", "--yes"], Some("")).await;
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty).contains("the value is empty; nothing was sent"), "{}", text(&empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_az_login_status_says_run_az_login() {
    let server = started().await;
    let env = Env::new(&server.uri(), false);
    let out = env.run(&["status", "--json"], None).await;
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let azure =
        doc["errors"].as_array().unwrap().iter().find(|e| e["source"] == "azure").unwrap_or_else(|| panic!("{doc}"));
    let error = azure["error"].as_str().unwrap();
    assert!(error.contains("Please run 'az login'"), "{error}");
    assert!(error.contains("(run `az login`"), "{error}");
    assert!(!env.az_log().is_empty(), "the stand-in az was asked");
    let _: &Path = env.dir.path();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_key_vault_copy_keeps_the_old_password_valid() {
    let server = started().await;
    Mock::given(method("PUT"))
        .and(path("/kv2/secrets/azure-client-secret-production"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "Forbidden",
            "message": "The user does not have secrets set permission on key vault 'kv2'."
        }})))
        .with_priority(1)
        .mount(&server)
        .await;
    let _sk = mount_github_secret(&server, 204).await;
    let env = Env::new(&server.uri(), true);
    let deploy = deploy_id(&server);
    let out = env.run(&["act", "rotate", &deploy, "--yes", "--confirm", "AZURE_CLIENT_SECRET_PRODUCTION"], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = serde_json::from_slice::<Value>(&out.stdout).unwrap()["error"].as_str().unwrap().to_string();
    assert!(
        err.starts_with(
            "the new password (keyId new-key-1) is in GitHub secret AZURE_CLIENT_SECRET_PRODUCTION of o/shop, but Key Vault "
        ),
        "{err}"
    );
    assert!(err.contains("Forbidden: The user does not have secrets set permission"), "{err}");
    assert!(
        err.ends_with(
            "the old password(s) 0ld-key-1 were kept so readers of Key Vault keep working: fix access and rotate again"
        ),
        "{err}"
    );
    let reqs = server.received_requests().await.unwrap();
    assert!(!reqs.iter().any(|r| r.url.path().ends_with("/removePassword")), "nothing removed");
    assert_absent(PASSWORD, &[("act output", text(&out)), ("log", env.log())]);
}
