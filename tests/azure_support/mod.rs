//! Shared by the Azure tests: a loopback server replaying Microsoft's REST API examples
//! (`../shared/fixtures/azure`, plus `tests/fixtures/azure`), a stand-in `az` that prints a
//! token the way `az account get-access-token -o json` does, and providers built against both.
//! Nothing here reaches anything but 127.0.0.1, and no managed-identity endpoint is asked.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions, Executor};
use serde_json::{Value, json};
use skydeck::providers::Provider;
use skydeck::providers::azure::{self, Settings};
use wiremock::matchers::{header, method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SUB: &str = "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345";
pub const SITE: &str = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/testrg123/providers/Microsoft.Web/sites/sitef6141";
pub const SITE2: &str = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/testrg123/providers/Microsoft.Web/sites/sitef7252";
pub const PG4: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/testrg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pgtestsvc4";
pub const PG_EXAMPLE: &str = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/exampleresourcegroup/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver";
pub const WORKSPACE: &str = "63613592-b6f7-4c3d-a390-22ba13102111";
pub const STO834: &str =
    "/subscriptions/{subscription-id}/resourceGroups/res8186/providers/Microsoft.Storage/storageAccounts/sto834";
pub const KV_SECRET: &str = "https://myvault.vault.azure.net/secrets/listsecrettest0";

/// A whole example file from `../shared/fixtures/azure`.
pub fn shared(file: &str) -> Value {
    let p = format!("{}/../shared/fixtures/azure/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))).unwrap()
}

/// A whole example file from `tests/fixtures/azure` (see its SOURCES.md).
pub fn local(file: &str) -> Value {
    let p = format!("{}/tests/fixtures/azure/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))).unwrap()
}

/// The response body of an example for one status.
pub fn body(example: &Value, status: &str) -> Value {
    example["responses"][status]["body"].clone()
}

/// Points an example's `nextLink` at the loopback server (the examples name Azure's hosts).
pub fn relink(mut v: Value, from: &str, to: &str) -> Value {
    if let Some(link) = v["nextLink"].as_str() {
        v["nextLink"] = json!(link.replace(from, to));
    }
    v
}

/// Writes a stand-in `az` into `dir`. Logged in, it prints a token per audience (ARM, Key
/// Vault, Graph, Log Analytics) and logs each call to `dir/az.log`; logged out, it fails as
/// the real CLI does.
pub fn stand_in_az(dir: &Path, logged_in: bool) {
    let script = if logged_in {
        r#"#!/bin/sh
# Stand-in for the Azure CLI: answers `az account get-access-token -o json --scope S`.
echo "$*" >> "$(dirname "$0")/az.log"
case "$*" in
  *vault.azure.net*) token=kv-token ;;
  *graph*) token=graph-token ;;
  */la/*) token=la-token ;;
  *) token=arm-token ;;
esac
exp=$(( $(date +%s) + 3600 ))
printf '{"accessToken":"%s","expiresOn":"2099-01-01 00:00:00.000000","expires_on":%s,"subscription":"34adfa4f-cedf-4dc0-ba29-b6d1a69ab345","tenant":"72f988bf-86f1-41af-91ab-2d7cd011db47","tokenType":"Bearer"}\n' "$token" "$exp"
"#
    } else {
        "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/az.log\"\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"
    };
    let p = dir.join("az");
    std::fs::write(&p, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The calls the stand-in `az` received, one line each.
pub fn az_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("az.log")).unwrap_or_default().lines().map(str::to_string).collect()
}

/// PATH with the stand-in first, and only system directories after it.
pub fn path_with(dir: &Path) -> OsString {
    let mut p = dir.as_os_str().to_os_string();
    p.push(":/usr/bin:/bin");
    p
}

/// Runs what `azure_identity` asks for with PATH pointing at the stand-in: the real
/// `AzureCliCredential` then runs our `az`, without touching this process's environment.
#[derive(Debug)]
pub struct StandIn {
    pub path: OsString,
}

#[async_trait::async_trait]
impl Executor for StandIn {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<std::process::Output> {
        let program = program.to_os_string();
        let args: Vec<OsString> = args.iter().map(|a| a.to_os_string()).collect();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || std::process::Command::new(program).args(args).env("PATH", path).output())
            .await
            .expect("stand-in az task")
    }
}

pub fn cli_credential(dir: &Path) -> azure::auth::Credentials {
    let c = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        executor: Some(Arc::new(StandIn { path: path_with(dir) })),
        ..Default::default()
    }))
    .unwrap();
    vec![("Azure CLI", c as Arc<dyn TokenCredential>)]
}

/// Config for the loopback server; `extra` is appended inside `[azure]`, `tail` after it.
pub fn config_text(uri: &str, extra: &str, tail: &str) -> String {
    format!(
        r#"
[azure]
subscription_id = "{SUB}"
arm_endpoint = "{uri}"
graph_endpoint = "{uri}/graph"
log_analytics_endpoint = "{uri}/la"
log_analytics_workspaces = ["{WORKSPACE}"]
vaults = ["{uri}/kv"]
health_url = "{uri}/health/{{host}}"
health_tries = 2
health_interval_seconds = 0
poll_seconds = 0
{extra}
{tail}
"#
    )
}

pub struct Built {
    pub provider: Arc<dyn Provider>,
    pub all: Vec<Arc<dyn Provider>>,
}

pub fn build(text: &str, dir: &Path) -> Built {
    let loaded = skydeck::config::parse(text, "test.toml").unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let settings = Settings::from_config(
        &loaded.config.section::<skydeck::providers::azure::config::AzureConfig>().unwrap().unwrap(),
        &loaded.config,
    );
    let all = azure::build_with(settings, cli_credential(dir), &loaded.config).unwrap();
    Built { provider: all[0].clone(), all }
}

/// Azure Monitor answers in the shape of Microsoft's GetMetric.json example, for the metric
/// names asked for. The example's own metrics are storage ones (`BlobCount`), so the names are
/// the requested ones and the numbers are chosen here to cross the thresholds table.
pub struct Metrics {
    template: Value,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics { template: body(&shared("monitor/2024-02-01/GetMetric.json"), "200") }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Five buckets per metric, oldest first: (aggregation, values).
pub fn chosen(name: &str) -> Option<(&'static str, [f64; 5])> {
    Some(match name {
        "Requests" => ("total", [100.0, 100.0, 100.0, 100.0, 200.0]),
        "Http5xx" => ("total", [0.0, 0.0, 1.0, 2.0, 20.0]),
        "HttpResponseTime" => ("average", [0.2, 0.3, 0.25, 0.4, 3.5]),
        "CpuPercentage" => ("average", [10.0, 20.0, 30.0, 40.0, 75.0]),
        "MemoryPercentage" => ("average", [50.0, 52.0, 53.0, 54.0, 55.0]),
        "cpu_percent" => ("average", [5.0, 10.0, 40.0, 80.0, 95.0]),
        "active_connections" => ("maximum", [10.0, 20.0, 30.0, 40.0, 45.0]),
        _ => return None,
    })
}

impl Respond for Metrics {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let names =
            req.url.query_pairs().find(|(k, _)| k == "metricnames").map(|(_, v)| v.to_string()).unwrap_or_default();
        let mut out = self.template.clone();
        let shape = self.template["value"][0].clone();
        let stamps: Vec<Value> =
            shape["timeseries"][0]["data"].as_array().unwrap().iter().map(|p| p["timeStamp"].clone()).collect();
        let mut value = Vec::new();
        for name in names.split(',') {
            let Some((agg, numbers)) = chosen(name) else { continue };
            let mut m = shape.clone();
            m["name"] = json!({"value": name, "localizedValue": name});
            let data: Vec<Value> = stamps.iter().zip(numbers).map(|(t, n)| json!({"timeStamp": t, agg: n})).collect();
            m["timeseries"] = json!([{"metadatavalues": [], "data": data}]);
            value.push(m);
        }
        out["value"] = json!(value);
        ResponseTemplate::new(200).set_body_json(out)
    }
}

fn arm() -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(header("authorization", "Bearer arm-token"))
}

/// Every read of the estate: two web apps (one with slots staging and qa), two App Service
/// plans, three `PostgreSQL` servers over two `nextLink` pages with their backups, one Key
/// Vault secret over two pages, metrics and a Log Analytics workspace.
pub async fn mount_estate(server: &MockServer) {
    let uri = server.uri();
    let web = "2024-11-01";
    arm()
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.Web/sites")))
        .and(query_param("api-version", web))
        .respond_with(ResponseTemplate::new(200).set_body_json(body(&shared("web/2025-05-01/ListWebApps.json"), "200")))
        .mount(server)
        .await;
    arm()
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.Web/serverfarms")))
        .and(query_param("api-version", web))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(body(&local("web/2025-05-01/ListAppServicePlans.json"), "200")),
        )
        .mount(server)
        .await;
    arm()
        .and(path(format!("{SITE}/slots")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(body(&shared("web/2025-05-01/ListWebAppSlots.json"), "200")),
        )
        .mount(server)
        .await;
    arm()
        .and(path(format!("{SITE2}/slots")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
    arm()
        .and(path_regex(r"/providers/Microsoft\.Web/sites/[^/]+/deploymentStatus$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(&shared("web/2025-05-01/ListSiteDeploymentStatus.json"), "200")),
        )
        .mount(server)
        .await;

    // PostgreSQL: page 1 is ServerList.json (its nextLink pointed here), page 2 holds
    // ServerGet.json's server with an `environment: production` tag added, so the production
    // backup policy (35 days) applies to it.
    let pg_list = format!("/subscriptions/{SUB}/providers/Microsoft.DBforPostgreSQL/flexibleServers");
    let page1 = relink(
        body(&shared("postgresql/2024-08-01/ServerList.json"), "200"),
        "https://management.azure.com/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff",
        &format!("{uri}/subscriptions/{SUB}"),
    );
    arm()
        .and(path(pg_list.clone()))
        .and(query_param("api-version", "2024-08-01"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page1))
        .mount(server)
        .await;
    let mut example = body(&shared("postgresql/2024-08-01/ServerGet.json"), "200");
    example["tags"] = json!({"environment": "production"});
    arm()
        .and(path(pg_list))
        .and(query_param("$skiptoken", "skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [example]})))
        .mount(server)
        .await;
    arm()
        .and(path_regex(r"/flexibleServers/[^/]+/backups$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(&shared("postgresql/2024-08-01/BackupListByServer.json"), "200")),
        )
        .mount(server)
        .await;
    // ConfigurationGet.json is array_nulls = on; the same answer for max_connections = 50.
    let mut max = body(&local("postgresql/2024-08-01/ConfigurationGet.json"), "200");
    max["name"] = json!("max_connections");
    max["properties"]["value"] = json!("50");
    arm()
        .and(path_regex(r"/flexibleServers/[^/]+/configurations/max_connections$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(max))
        .mount(server)
        .await;
    arm()
        .and(path_regex(r"/providers/Microsoft\.Insights/metrics$"))
        .and(query_param("api-version", "2024-02-01"))
        .respond_with(Metrics::new())
        .mount(server)
        .await;

    // Key Vault: GetSecrets-example.json, whose nextLink leads to an empty second page.
    let kv =
        |p: &str| Mock::given(method("GET")).and(header("authorization", "Bearer kv-token")).and(path(p.to_string()));
    let secrets = relink(
        body(&shared("keyvault/2025-06-01/GetSecrets-example.json"), "200"),
        "https://myvault.vault.azure.net:443",
        &format!("{uri}/kv"),
    );
    kv("/kv/secrets")
        .and(query_param("api-version", "7.4"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(secrets))
        .mount(server)
        .await;
    kv("/kv/secrets")
        .and(query_param("api-version", "7.2"))
        .and(query_param("maxresults", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [], "nextLink": null})))
        .mount(server)
        .await;
    let versions = relink(
        body(&local("keyvault/2025-06-01/GetSecretVersions-example.json"), "200"),
        "https://myvault.vault.azure.net:443",
        &format!("{uri}/kv"),
    );
    kv("/kv/secrets/listsecrettest0/versions")
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(versions))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/kv/secrets/[^/]+/versions$"))
        .and(query_param("api-version", "7.2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;

    mount_storage(server).await;

    Mock::given(method("POST"))
        .and(header("authorization", "Bearer la-token"))
        .and(path(format!("/la/v1/workspaces/{WORKSPACE}/query")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(body(&shared("loganalytics/v1/oms-post-example.json"), "200")),
        )
        .mount(server)
        .await;
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn dir_path(d: &tempfile::TempDir) -> PathBuf {
    d.path().to_path_buf()
}

/// Storage accounts: StorageAccountList.json with two changes said here, and
/// BlobServicesGet.json for every account but `sto834`. `sto1125` gets an `environment:
/// production` tag (geo-redundant, versioning, 300 days: no finding); `sto834` gets the same tag
/// and SKU `Standard_LRS`, and its blob service has delete retention and versioning turned off
/// (three findings).
pub async fn mount_storage(server: &MockServer) {
    let mut accounts = body(&local("storage/2023-05-01/StorageAccountList.json"), "200");
    for a in accounts["value"].as_array_mut().unwrap() {
        match a["name"].as_str() {
            Some("sto1125") => a["tags"] = json!({"environment": "production"}),
            Some("sto834") => {
                a["tags"] = json!({"environment": "production"});
                a["sku"] = json!({"name": "Standard_LRS", "tier": "Standard"});
            }
            _ => {}
        }
    }
    arm()
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts")))
        .and(query_param("api-version", "2023-05-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(accounts))
        .mount(server)
        .await;
    let blob = body(&local("storage/2023-05-01/BlobServicesGet.json"), "200");
    let mut off = blob.clone();
    off["properties"]["deleteRetentionPolicy"] = json!({"enabled": false});
    off["properties"]["isVersioningEnabled"] = json!(false);
    arm()
        .and(path_regex(r"/storageAccounts/sto834/blobServices/default$"))
        .and(query_param("api-version", "2023-05-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(off))
        .with_priority(1)
        .mount(server)
        .await;
    arm()
        .and(path_regex(r"/providers/Microsoft\.Storage/storageAccounts/[^/]+/blobServices/default$"))
        .and(query_param("api-version", "2023-05-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(blob))
        .mount(server)
        .await;
}
