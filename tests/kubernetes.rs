//! The Kubernetes provider against a loopback API server (wiremock) replaying Kubernetes API
//! payloads (tests/fixtures/kubernetes/, see SOURCES.md). The kubeconfig is a temp file pointing
//! at the server with a bearer token; a second context authenticates through an exec plugin.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skydeck::actions::{ActionError, ActionRequest, Pipeline, Verb};
use skydeck::config::{Config, EnvironmentConfig};
use skydeck::model::{self, Level, Severity, Tier};
use skydeck::providers::kubernetes::config::KubernetesConfig;
use skydeck::providers::kubernetes::{self, KubeProvider, Timing};
use skydeck::providers::{BuildContext, Provider};
use skydeck::store::{AuditPhase, Store};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DEPLOYMENT: &str = "k8s:aks-prod/shop/deployments/nginx-deployment";
const STATEFUL_SET: &str = "k8s:aks-prod/staging/statefulsets/web";
const TOKEN: &str = "kube-token-3f9a1c";

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

struct Setup {
    server: MockServer,
    store: Arc<Store>,
    config: Config,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

/// When the fixtures were "recorded": the events are shifted so that this instant is now (the
/// provider keeps the warnings of the last hour by the wall clock).
const RECORDED_AT: &str = "2026-12-01T14:30:00Z";

fn as_if_recorded_now(mut list: Value) -> Value {
    let recorded = chrono::DateTime::parse_from_rfc3339(RECORDED_AT).unwrap().with_timezone(&chrono::Utc);
    let shift = chrono::Utc::now() - recorded;
    let moved = |v: &mut Value| {
        if let Some(t) = v.as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            *v = json!((t.with_timezone(&chrono::Utc) + shift).to_rfc3339());
        }
    };
    for item in list["items"].as_array_mut().unwrap() {
        for key in ["firstTimestamp", "lastTimestamp", "eventTime"] {
            moved(&mut item[key]);
        }
        moved(&mut item["metadata"]["creationTimestamp"]);
    }
    list
}

fn config() -> Config {
    Config {
        environments: vec![
            EnvironmentConfig {
                name: "prod".into(),
                tier: Some(Tier::Prod),
                thresholds: Default::default(),
                health: Vec::new(),
            },
            EnvironmentConfig {
                name: "staging".into(),
                tier: Some(Tier::Staging),
                thresholds: Default::default(),
                health: Vec::new(),
            },
        ],
        ..Config::default()
    }
}

fn kubeconfig_text(server: &str, exec_plugin: &Path) -> String {
    format!(
        r"apiVersion: v1
kind: Config
clusters:
- name: aks-prod
  cluster:
    server: {server}
- name: aks-dr
  cluster:
    server: {server}
contexts:
- name: aks-prod
  context:
    cluster: aks-prod
    user: oncall
- name: aks-dr
  context:
    cluster: aks-dr
    user: oncall-exec
current-context: aks-prod
users:
- name: oncall
  user:
    token: {TOKEN}
- name: oncall-exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {}
      interactiveMode: Never
",
        exec_plugin.display()
    )
}

async fn setup() -> Setup {
    let server = MockServer::start().await;
    for ns in ["shop", "staging"] {
        for (prefix, list) in [
            ("/apis/apps/v1", "deployments"),
            ("/apis/apps/v1", "replicasets"),
            ("/apis/apps/v1", "statefulsets"),
            ("/api/v1", "pods"),
            ("/api/v1", "events"),
            ("/apis/apps/v1", "controllerrevisions"),
        ] {
            let mut body = fixture_json(&format!("{list}.{ns}.json"));
            if list == "events" {
                body = as_if_recorded_now(body);
            }
            Mock::given(method("GET"))
                .and(path(format!("{prefix}/namespaces/{ns}/{list}")))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&server)
                .await;
        }
    }
    for ns in ["shop", "staging"] {
        Mock::given(method("GET"))
            .and(path(format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods")))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture_json(&format!("metrics.{ns}.json"))))
            .mount(&server)
            .await;
    }
    for pod in ["khku8", "nacti", "z9gth"] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/namespaces/shop/pods/nginx-deployment-1564180365-{pod}/log")))
            .and(query_param("timestamps", "true"))
            .and(query_param("container", "nginx"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(&format!("log.{pod}.txt"))))
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("get-token.sh");
    std::fs::write(
        &plugin,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token-77\"}}'\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, kubeconfig_text(&server.uri(), &plugin)).unwrap();
    let store = Arc::new(Store::open_in(&dir.path().join("data")).unwrap());
    Setup { server, store, config: config(), kubeconfig, dir }
}

fn section(s: &Setup, contexts: &[&str]) -> KubernetesConfig {
    KubernetesConfig {
        kubeconfig: Some(s.kubeconfig.display().to_string()),
        contexts: contexts.iter().map(ToString::to_string).collect(),
        namespaces: vec!["shop".into(), "staging".into()],
        tail_lines: None,
    }
}

/// The provider of context aks-prod, with verify polling fast.
async fn provider(s: &Setup) -> Arc<dyn Provider> {
    let section = section(s, &["aks-prod"]);
    let kc = kubernetes::load_kubeconfig(&section).unwrap();
    let ctx = BuildContext { config: &s.config, store: s.store.clone() };
    let p = KubeProvider::connect("kubernetes".into(), &section, &kc, "aks-prod", &ctx)
        .await
        .unwrap()
        .with_timing(Timing { poll_interval: Duration::from_millis(20), rollout_timeout: Duration::from_secs(5) });
    Arc::new(p)
}

async fn requests(s: &Setup, verb: &str, suffix: &str) -> Vec<Request> {
    s.server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().ends_with(suffix))
        .collect()
}

fn body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn detail<'a>(r: &'a model::Resource, key: &str) -> &'a str {
    r.details.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn workloads_and_pods_come_from_the_api_with_rollout_state_images_and_restarts() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();

    let d = snap.resources.iter().find(|r| r.id == DEPLOYMENT).unwrap();
    assert_eq!(d.kind, skydeck::providers::kubernetes::kind::DEPLOYMENT);
    assert_eq!(d.provider, skydeck::providers::kubernetes::PROVIDER);
    assert_eq!(d.name, "nginx-deployment");
    assert_eq!(d.region, "shop");
    // `environment: production` label, in the configured spelling.
    assert_eq!(d.environment, "prod");
    assert_eq!((d.status.as_str(), d.level), ("available 3/3", Level::Ok));
    assert_eq!(d.current_version.as_deref(), Some("rev 2: nginx:1.16.1"));
    assert_eq!(d.versions, ["rev 2: nginx:1.16.1", "rev 1: nginx:1.14.2"]);
    assert_eq!(detail(d, "ready"), "3/3");
    assert_eq!(detail(d, "images"), "nginx:1.16.1");
    assert_eq!(detail(d, "pods"), "3");
    assert_eq!(detail(d, "restarts"), "2");
    assert_eq!(detail(d, "strategy"), "RollingUpdate");

    // No label: the namespace `staging` names the environment.
    let sts = snap.resources.iter().find(|r| r.id == STATEFUL_SET).unwrap();
    assert_eq!(sts.kind, skydeck::providers::kubernetes::kind::STATEFUL_SET);
    assert_eq!(sts.environment, "staging");
    assert_eq!((sts.status.as_str(), sts.level), ("1 of 2 ready", Level::Warn));
    assert_eq!(sts.current_version.as_deref(), Some("registry.k8s.io/nginx-slim:0.24"));

    let crash = snap.resources.iter().find(|r| r.id == "k8s:aks-prod/staging/pods/web-1").unwrap();
    assert_eq!(crash.kind, skydeck::providers::kubernetes::kind::POD);
    assert_eq!((crash.status.as_str(), crash.level), ("CrashLoopBackOff (5 restarts)", Level::Crit));
    assert_eq!(detail(crash, "owner"), "StatefulSet/web");
    assert_eq!(detail(crash, "ready"), "0/1");
    let ok =
        snap.resources.iter().find(|r| r.id == "k8s:aks-prod/shop/pods/nginx-deployment-1564180365-nacti").unwrap();
    assert_eq!((ok.status.as_str(), ok.level), ("Running (2 restarts)", Level::Ok));
    assert_eq!(ok.environment, "prod", "the shop namespace holds production");
    assert_eq!(snap.resources.len(), 2 + 5);
    let mut envs: Vec<&str> = snap.environments.iter().map(|e| e.name.as_str()).collect();
    envs.sort_unstable();
    assert_eq!(envs, ["prod", "staging"]);
    assert_eq!(snap.source_note.as_deref(), Some("context aks-prod · shop, staging"));

    // Only the configured namespaces were listed, each with the kubeconfig's token.
    let all = s.server.received_requests().await.unwrap();
    assert_eq!(
        all.len(),
        14,
        "deployments, statefulsets, replicasets, pods, events, pod metrics and controller revisions of two namespaces"
    );
    for r in &all {
        assert!(
            r.url.path().contains("/namespaces/shop/") || r.url.path().contains("/namespaces/staging/"),
            "{}",
            r.url
        );
        assert_eq!(r.headers.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {TOKEN}"));
    }
}

#[tokio::test]
async fn a_workloads_log_is_its_pods_logs_merged_by_time_each_line_with_its_pod() {
    let s = setup().await;
    let p = provider(&s).await;
    p.fetch().await.unwrap();
    let lines = p.fetch_log(DEPLOYMENT).await.unwrap();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "[nginx-deployment-1564180365-khku8] /docker-entrypoint.sh: Configuration complete; ready for start up",
            "[nginx-deployment-1564180365-nacti] /docker-entrypoint.sh: Configuration complete; ready for start up",
            "[nginx-deployment-1564180365-khku8] 10.244.0.1 - - [01/Dec/2026:14:21:05 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"kube-probe/1.33\" \"-\"",
            "[nginx-deployment-1564180365-z9gth] 10.244.0.1 - - [01/Dec/2026:14:21:06 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"kube-probe/1.33\" \"-\"",
            "[nginx-deployment-1564180365-nacti] 10.244.0.1 - - [01/Dec/2026:14:21:07 +0000] \"GET /healthz HTTP/1.1\" 404 153 \"-\" \"kube-probe/1.33\" \"-\"",
            "[nginx-deployment-1564180365-khku8] 2026/12/01 14:21:09 [error] 29#29: *3 open() \"/usr/share/nginx/html/favicon.ico\" failed (2: No such file or directory)",
        ]
    );
    assert!(lines.iter().all(|l| l.source == "nginx-deployment"));
    assert_eq!(lines[5].severity, Severity::Error);
    assert_eq!(lines[0].at.to_rfc3339(), "2026-12-01T14:20:31.184930518+00:00");
    let reads = requests(&s, "GET", "/log").await;
    assert_eq!(reads.len(), 3);
    assert!(reads.iter().all(|r| r.url.query().unwrap().contains("tailLines=500")));
}

#[tokio::test]
async fn several_contexts_are_one_source_each_and_exec_plugins_are_run() {
    let s = setup().await;
    let ctx = BuildContext { config: &s.config, store: s.store.clone() };
    let built = kubernetes::build(&section(&s, &["aks-prod", "aks-dr"]), &ctx).await.unwrap();
    let names: Vec<&str> = built.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["kubernetes:aks-prod", "kubernetes:aks-dr"]);
    let snap = built[1].fetch().await.unwrap();
    assert!(snap.resources.iter().any(|r| r.id == "k8s:aks-dr/shop/deployments/nginx-deployment"));
    let tokens: Vec<String> = s
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers.get("authorization").unwrap().to_str().unwrap().to_string())
        .collect();
    assert!(tokens.iter().all(|t| t == "Bearer exec-token-77"), "{tokens:?}");

    // No contexts configured: the current context, under the plain name.
    let built = kubernetes::build(&section(&s, &[]), &ctx).await.unwrap();
    assert_eq!(built.iter().map(|p| p.name()).collect::<Vec<_>>(), ["kubernetes"]);

    // A context the kubeconfig lacks is a build error that says so.
    let err = kubernetes::build(&section(&s, &["nope"]), &ctx).await.err().unwrap();
    assert!(err.to_string().contains("nope"), "{err}");
    drop(s.dir);
}

/// The Deployment as the server answers a GET after a change: `patch` applied to the fixture,
/// and the status at `generation`/`observed` with `updated`/`available` of 3.
fn deployment_after(patch: impl FnOnce(&mut Value), generation: i64, observed: i64, updated: i64) -> Value {
    let mut d = fixture_json("deployments.shop.json")["items"][0].clone();
    patch(&mut d);
    d["metadata"]["generation"] = json!(generation);
    let replicas = d["spec"]["replicas"].as_i64().unwrap();
    d["status"]["observedGeneration"] = json!(observed);
    d["status"]["updatedReplicas"] = json!(updated);
    d["status"]["availableReplicas"] = json!(updated.min(replicas));
    d["status"]["readyReplicas"] = json!(updated.min(replicas));
    d["status"]["replicas"] = json!(replicas);
    d
}

/// The one PATCH of nginx-deployment an action sends (of `content_type`, when given), answered
/// with the Deployment as listed.
async fn expect_one_deployment_patch(s: &Setup, content_type: Option<&str>) {
    let mut mock = Mock::given(method("PATCH")).and(path("/apis/apps/v1/namespaces/shop/deployments/nginx-deployment"));
    if let Some(ct) = content_type {
        mock = mock.and(header("content-type", ct));
    }
    mock.respond_with(
        ResponseTemplate::new(200).set_body_json(fixture_json("deployments.shop.json")["items"][0].clone()),
    )
    .expect(1)
    .mount(&s.server)
    .await;
}

async fn mount_get(s: &Setup, first: Option<Value>, then: Value) {
    let p = "/apis/apps/v1/namespaces/shop/deployments/nginx-deployment";
    if let Some(first) = first {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(first))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&s.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(then))
        .with_priority(2)
        .mount(&s.server)
        .await;
}

#[tokio::test]
async fn rollout_restart_sends_kubectls_strategic_merge_patch_and_waits_for_the_rollout() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let plan = p.plan(&ActionRequest::new(Verb::Rerun, DEPLOYMENT), &snap).unwrap();
    // The confirmation says what happens to a workload, not the verb's CI name.
    assert_eq!(plan.action(), "restart");
    assert!(plan.render_text().starts_with("restart nginx-deployment ("), "{}", plan.render_text());
    let at = plan.request.params["restarted_at"].clone();
    assert!(chrono::DateTime::parse_from_rfc3339(&at).is_ok(), "{at}");
    let expected =
        json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": at}}}}});
    assert_eq!(
        plan.calls[0].call,
        format!(
            "PATCH {}/apis/apps/v1/namespaces/shop/deployments/nginx-deployment?fieldManager=skydeck (application/strategic-merge-patch+json) {expected}",
            s.server.uri()
        )
    );
    assert_eq!(plan.environment, "prod");
    assert_eq!(plan.risk, skydeck::actions::Risk::High);

    expect_one_deployment_patch(&s, Some("application/strategic-merge-patch+json")).await;
    let restarted = |d: &mut Value| {
        d["spec"]["template"]["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": at.clone()});
    };
    // First read: the controller has not caught up; then: rolled out.
    mount_get(&s, Some(deployment_after(restarted, 3, 2, 1)), deployment_after(restarted, 3, 3, 3)).await;

    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(p.as_ref(), plan).await;
    let detail = outcome.result.unwrap().to_string();
    assert!(detail.contains("nginx-deployment restarted at"), "{detail}");
    assert!(detail.contains("rolled out, available 3/3"), "{detail}");

    let patches = requests(&s, "PATCH", "/nginx-deployment").await;
    assert_eq!(patches.len(), 1);
    assert_eq!(body(&patches[0]), expected);
    let query: Vec<(String, String)> = patches[0].url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(query, [("fieldManager".to_string(), "skydeck".to_string())]);
    assert_eq!(requests(&s, "GET", "/deployments/nginx-deployment").await.len(), 2, "verify waited for the rollout");
    let audit = s.store.audit_entries().unwrap();
    assert_eq!(audit.iter().map(|e| e.phase).collect::<Vec<_>>(), [AuditPhase::Started, AuditPhase::Finished]);
    assert_eq!(audit[1].target, DEPLOYMENT);
}

#[tokio::test]
async fn scale_patches_the_scale_subresource_and_verify_checks_the_replicas() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let mut req = ActionRequest::new(Verb::Scale, DEPLOYMENT);
    assert!(matches!(p.plan(&req, &snap), Err(ActionError::MissingInput(_))));
    req.params.insert("count".into(), "-2".into());
    assert!(matches!(p.plan(&req, &snap), Err(ActionError::InvalidInput(_))));
    req.params.insert("count".into(), "5".into());
    let plan = p.plan(&req, &snap).unwrap();
    assert_eq!(plan.summary, "scale deployment nginx-deployment (shop, aks-prod) from 3 to 5 replicas");
    assert!(plan.calls[0].call.contains("/deployments/nginx-deployment/scale?fieldManager=skydeck (application/merge-patch+json) {\"spec\":{\"replicas\":5}}"), "{}", plan.calls[0].call);

    Mock::given(method("PATCH"))
        .and(path("/apis/apps/v1/namespaces/shop/deployments/nginx-deployment/scale"))
        .and(header("content-type", "application/merge-patch+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "nginx-deployment", "namespace": "shop"},
            "spec": {"replicas": 5}, "status": {"replicas": 3, "selector": "app=nginx"}
        })))
        .expect(1)
        .mount(&s.server)
        .await;
    let scaled = |d: &mut Value| d["spec"]["replicas"] = json!(5);
    mount_get(&s, None, deployment_after(scaled, 3, 3, 5)).await;
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(p.as_ref(), plan).await;
    assert!(outcome.result.unwrap().to_string().contains("available 5/5"));
    let patches = requests(&s, "PATCH", "/scale").await;
    assert_eq!(body(&patches[0]), json!({"spec": {"replicas": 5}}));

    // StatefulSets scale through their own subresource.
    let mut req = ActionRequest::new(Verb::Scale, STATEFUL_SET);
    req.params.insert("count".into(), "3".into());
    let plan = p.plan(&req, &snap).unwrap();
    assert!(
        plan.calls[0].call.contains("/apis/apps/v1/namespaces/staging/statefulsets/web/scale?"),
        "{}",
        plan.calls[0].call
    );
    assert_eq!(plan.tier, Tier::Staging);
}

#[tokio::test]
async fn rollback_json_patches_the_previous_replicasets_template_as_kubectl_does() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let plan = p.plan(&ActionRequest::new(Verb::Rollback, DEPLOYMENT), &snap).unwrap();
    assert_eq!(
        plan.summary,
        "roll back deployment nginx-deployment (shop, aks-prod) from revision 2 to revision 1 (nginx:1.14.2, ReplicaSet nginx-deployment-75675f5897): its pods are replaced by that revision's"
    );

    // The old ReplicaSet's template without its pod-template-hash label; the Deployment's own
    // revision annotation kept, the ReplicaSet's other annotations copied (kubectl's rule).
    let mut template = fixture_json("replicasets.shop.json")["items"][0]["spec"]["template"].clone();
    template["metadata"]["labels"].as_object_mut().unwrap().remove("pod-template-hash");
    template["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
    let expected = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {
            "deployment.kubernetes.io/revision": "2",
            "kubernetes.io/change-cause": "kubectl apply --filename=deployment.yaml"
        }},
    ]);
    expect_one_deployment_patch(&s, Some("application/json-patch+json")).await;
    let rolled = |d: &mut Value| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.14.2");
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("3");
    };
    mount_get(&s, None, deployment_after(rolled, 3, 3, 3)).await;
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(p.as_ref(), plan).await;
    let detail = outcome.result.unwrap().to_string();
    assert!(detail.contains("rolled back to revision 1"), "{detail}");
    let patches = requests(&s, "PATCH", "/deployments/nginx-deployment").await;
    assert_eq!(patches.len(), 1);
    assert_eq!(body(&patches[0]), expected);

    // Pods are not acted on.
    let err = p.plan(&ActionRequest::new(Verb::Rerun, "k8s:aks-prod/staging/pods/web-1"), &snap).unwrap_err();
    assert!(err.to_string().contains("it is a pod"), "{err}");
}

#[tokio::test]
async fn a_rollout_that_does_not_settle_fails_verification_with_the_counts() {
    let s = setup().await;
    let section = section(&s, &["aks-prod"]);
    let kc = kubernetes::load_kubeconfig(&section).unwrap();
    let ctx = BuildContext { config: &s.config, store: s.store.clone() };
    let p: Arc<dyn Provider> = Arc::new(
        KubeProvider::connect("kubernetes".into(), &section, &kc, "aks-prod", &ctx).await.unwrap().with_timing(
            Timing { poll_interval: Duration::from_millis(20), rollout_timeout: Duration::from_millis(200) },
        ),
    );
    let snap = p.fetch().await.unwrap();
    let mut req = ActionRequest::new(Verb::Scale, DEPLOYMENT);
    req.params.insert("count".into(), "4".into());
    let plan = p.plan(&req, &snap).unwrap();
    Mock::given(method("PATCH"))
        .and(path("/apis/apps/v1/namespaces/shop/deployments/nginx-deployment/scale"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"spec": {"replicas": 4}})))
        .mount(&s.server)
        .await;
    let scaled = |d: &mut Value| d["spec"]["replicas"] = json!(4);
    mount_get(&s, None, deployment_after(scaled, 3, 3, 3)).await;
    p.execute(&plan).await.unwrap();
    let err = p.verify(&plan).await.unwrap_err();
    assert!(matches!(err, ActionError::VerifyFailed(_)), "{err}");
    assert!(err.to_string().contains("not rolled out after"), "{err}");
    assert!(err.to_string().contains("4 desired, 3 updated"), "{err}");

    // The API's refusal reaches the person as it is.
    let forbidden = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "deployments.apps \"nginx-deployment\" is forbidden: User \"oncall\" cannot patch resource \"deployments/scale\" in API group \"apps\" in the namespace \"shop\"",
        "reason": "Forbidden", "details": {"name": "nginx-deployment", "group": "apps", "kind": "deployments"}, "code": 403});
    s.server.reset().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(403).set_body_json(forbidden))
        .mount(&s.server)
        .await;
    let err = p.execute(&plan).await.unwrap_err();
    assert!(err.to_string().contains("cannot patch resource \"deployments/scale\""), "{err}");
}

/// From the keyboard, on a cluster read from the loopback API server: the Resources screen
/// shows the Deployment with its rollout state, Enter opens its pods' merged log, `b` plans the
/// roll back and production asks for the workload's name before anything is sent.
#[tokio::test]
async fn the_tui_shows_a_deployment_opens_its_pods_log_and_confirms_a_roll_back() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use skydeck::app::{AppState, Effect, Msg, Popup, Row, Screen, rows, update};

    fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
        update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }
    fn select(state: &mut AppState, id: &str) {
        let at = rows(state, Screen::Resources)
            .iter()
            .position(|r| matches!(r, Row::Resource(i) if state.estate.resources[*i].id == id))
            .unwrap();
        state.list_mut().selected = at;
    }

    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T14:30:00Z").unwrap().with_timezone(&chrono::Utc);
    let mut state = AppState::with_snapshot("kubernetes", snap, Vec::new(), now, (140, 40))
        .with_catalog(skydeck::providers::CATALOG);

    press(&mut state, KeyCode::Char('5'));
    let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
    terminal.draw(|f| skydeck::views::render(&state, &skydeck::theme::Theme::dark(), f)).unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .chunks(140)
        .map(|row| row.iter().map(ratatui::buffer::Cell::symbol).collect::<String>() + "\n")
        .collect();
    let row = screen.lines().find(|l| l.contains("nginx-deployment")).unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("Deployment") && row.contains("✔ available"), "{row}");
    // The role x cloud matrix counts the cluster's workloads in a column of their own.
    let header =
        screen.lines().find(|l| l.contains("role") && l.contains("Azure")).unwrap_or_else(|| panic!("{screen}"));
    assert!(header.contains("K8s"), "{header}");
    let compute = screen.lines().find(|l| l.contains("compute ")).unwrap_or_else(|| panic!("{screen}"));
    assert!(compute.contains("7 ✖"), "2 workloads and 5 pods, the worst crash-looping: {compute}");

    select(&mut state, DEPLOYMENT);
    let effects = press(&mut state, KeyCode::Enter);
    assert_eq!(effects, [Effect::OpenLog(DEPLOYMENT.to_string())]);
    let result = p.fetch_log(DEPLOYMENT).await;
    update(&mut state, Msg::LogLoaded { target: DEPLOYMENT.into(), result });
    assert_eq!(state.screen, Screen::Logs);
    assert!(state.logs.len() >= 3, "{}", state.logs.len());

    press(&mut state, KeyCode::Char('5'));
    select(&mut state, DEPLOYMENT);
    let effects = press(&mut state, KeyCode::Char('b'));
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(request.verb, Verb::Rollback);
    let plan = p.plan(request, &state.estate).unwrap();
    assert_eq!(plan.tier, Tier::Prod);
    update(&mut state, Msg::Planned(Ok(plan)));
    assert!(matches!(state.popup, Some(Popup::Confirm { .. })));
    assert!(press(&mut state, KeyCode::Char('y')).is_empty(), "production needs the name, not y");
    press(&mut state, KeyCode::Backspace);
    for c in "nginx-deployment".chars() {
        press(&mut state, KeyCode::Char(c));
    }
    let effects = press(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Execute(plan)] if plan.request.target == DEPLOYMENT), "{effects:?}");
    assert!(requests(&s, "PATCH", "/nginx-deployment").await.is_empty(), "nothing is sent before execute");

    // `p` asks the provider what promote needs: the new image, saying what runs now; the plan
    // carries what was typed.
    assert!(state.popup.is_none());
    press(&mut state, KeyCode::Char('5'));
    select(&mut state, DEPLOYMENT);
    let effects = press(&mut state, KeyCode::Char('p'));
    let Some(Effect::PrepareInputs(request)) = effects.first() else { panic!("{effects:?}") };
    let result = p.action_inputs(request).await;
    let specs = result.as_ref().unwrap();
    assert_eq!(specs.len(), 1);
    assert!(specs[0].description.starts_with("runs nginx:1.16.1; a tag"), "{}", specs[0].description);
    update(&mut state, Msg::InputsReady { request: request.clone(), result });
    assert!(matches!(state.popup, Some(Popup::Form { .. })), "{:?}", state.popup);
    for c in "1.17.0".chars() {
        press(&mut state, KeyCode::Char(c));
    }
    let effects = press(&mut state, KeyCode::Enter);
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((request.verb, request.params.get("to").map(String::as_str)), (Verb::Promote, Some("1.17.0")));
    assert!(p.plan(request, &state.estate).unwrap().summary.contains("nginx:1.16.1 -> nginx:1.17.0"));

    // `R` is the rollout restart, from the same list.
    state.popup = None;
    let effects = press(&mut state, KeyCode::Char('R'));
    let Some(Effect::Plan(request)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((request.verb, request.target.as_str()), (Verb::Rerun, DEPLOYMENT));
    assert!(
        p.plan(request, &state.estate).unwrap().summary.starts_with("rollout restart of deployment nginx-deployment")
    );
}

/// RBAC that allows Deployments but forbids stateful sets in one namespace (the API server's
/// `Status` body for a 403): the source still reads, the stateful set is missing and the note says
/// which list and why. A forbidden Deployments list still fails the source, with the RBAC fix.
#[tokio::test]
async fn a_forbidden_optional_list_is_a_note_and_the_rest_is_read() {
    let s = setup().await;
    let forbidden = |kind: &str| {
        ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{kind}.apps is forbidden: User \"oncall\" cannot list resource \"{kind}\" in API group \"apps\" in the namespace \"staging\""),
            "reason": "Forbidden", "details": {"group": "apps", "kind": kind}, "code": 403
        }))
    };
    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/staging/statefulsets"))
        .respond_with(forbidden("statefulsets"))
        .with_priority(1)
        .mount(&s.server)
        .await;
    let p = provider(&s).await;
    let snap = p.fetch().await.expect("a forbidden StatefulSet list does not fail the source");
    assert!(snap.resources.iter().any(|r| r.kind == "Deployment"), "{:?}", snap.resources);
    assert!(!snap.resources.iter().any(|r| r.id == STATEFUL_SET));
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("list statefulsets in namespace staging: forbidden by RBAC (403)"), "{note}");

    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/staging/deployments"))
        .respond_with(forbidden("deployments"))
        .with_priority(1)
        .mount(&s.server)
        .await;
    let err = p.fetch().await.unwrap_err().to_string();
    assert!(err.contains("list deployments") && err.contains("RBAC"), "{err}");
}

/// `promote --to 1.17.0` is `kubectl set image deployment/nginx-deployment nginx=nginx:1.17.0`:
/// one strategic merge patch naming the container, then verify waits for the rollout with the
/// new image in the template. Bad references and images no container runs are refused before
/// any request; without `--to`, what staging's same-named workload runs is promoted.
#[tokio::test]
async fn promote_sets_the_image_as_kubectl_set_image_does_and_waits_for_the_rollout() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let mut request = ActionRequest::new(Verb::Promote, DEPLOYMENT);
    request.params.insert("to".into(), "1.17.0".into());
    let plan = p.plan(&request, &snap).unwrap();
    let expected =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.17.0"}]}}}});
    assert_eq!(
        plan.calls[0].call,
        format!(
            "PATCH {}/apis/apps/v1/namespaces/shop/deployments/nginx-deployment?fieldManager=skydeck (application/strategic-merge-patch+json) {expected}",
            s.server.uri()
        )
    );
    assert!(plan.summary.contains("nginx: nginx:1.16.1 -> nginx:1.17.0"), "{}", plan.summary);
    assert_eq!((plan.tier, plan.risk), (Tier::Prod, skydeck::actions::Risk::High));

    for (to, why) in [
        ("1.17.0; rm -rf /", "not an image tag or reference"),
        ("busybox:1.36", "no container runs busybox"),
        ("nginx:1.16.1", "it already runs nginx:1.16.1"),
    ] {
        let mut bad = ActionRequest::new(Verb::Promote, DEPLOYMENT);
        bad.params.insert("to".into(), to.into());
        let err = p.plan(&bad, &snap).unwrap_err().to_string();
        assert!(err.contains(why), "{to}: {err}");
    }
    let err = p.plan(&ActionRequest::new(Verb::Promote, DEPLOYMENT), &snap).unwrap_err();
    assert!(
        matches!(&err, ActionError::MissingInput(m) if m.contains("no deployment named nginx-deployment runs in a lower environment")),
        "{err}"
    );

    expect_one_deployment_patch(&s, Some("application/strategic-merge-patch+json")).await;
    let promoted = |d: &mut Value| d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.17.0");
    mount_get(&s, Some(deployment_after(promoted, 3, 3, 1)), deployment_after(promoted, 3, 3, 3)).await;
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(p.as_ref(), plan).await;
    let detail = outcome.result.unwrap().to_string();
    assert!(detail.contains("nginx-deployment now runs nginx:1.17.0"), "{detail}");
    assert!(detail.contains("rolled out, available 3/3"), "{detail}");
    let patches = requests(&s, "PATCH", "/deployments/nginx-deployment").await;
    assert_eq!(patches.len(), 1);
    assert_eq!(body(&patches[0]), expected);
    assert_eq!(requests(&s, "GET", "/deployments/nginx-deployment").await.len(), 2, "verify waited for the rollout");
}

#[tokio::test]
async fn promote_without_a_tag_takes_what_the_lower_environment_runs() {
    let s = setup().await;
    // Production (`shop`) runs the StatefulSet `web` one image behind staging.
    let mut shop_sets = fixture_json("statefulsets.staging.json");
    let web = &mut shop_sets["items"][0];
    web["metadata"]["namespace"] = json!("shop");
    web["metadata"]["labels"]["environment"] = json!("production");
    web["spec"]["template"]["spec"]["containers"][0]["image"] = json!("registry.k8s.io/nginx-slim:0.23");
    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/shop/statefulsets"))
        .respond_with(ResponseTemplate::new(200).set_body_json(shop_sets))
        .with_priority(1)
        .mount(&s.server)
        .await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let plan = p.plan(&ActionRequest::new(Verb::Promote, "k8s:aks-prod/shop/statefulsets/web"), &snap).unwrap();
    assert!(plan.summary.contains("to what staging's web (staging) runs"), "{}", plan.summary);
    assert!(
        plan.calls[0].call.contains(
            r#"/apis/apps/v1/namespaces/shop/statefulsets/web?fieldManager=skydeck (application/strategic-merge-patch+json) {"spec":{"template":{"spec":{"containers":[{"image":"registry.k8s.io/nginx-slim:0.24","name":"nginx"}]}}}}"#
        ),
        "{}",
        plan.calls[0].call
    );
    // Staging has nothing lower to promote from.
    let err = p.plan(&ActionRequest::new(Verb::Promote, STATEFUL_SET), &snap).unwrap_err();
    assert!(matches!(err, ActionError::MissingInput(_)), "{err}");
}

/// Warning events of the last hour show on the object and on its workload: a crash-looping
/// pod's back-off on its `StatefulSet`, a failing readiness probe on its Deployment. Normal events
/// and warnings older than an hour are left out.
#[tokio::test]
async fn recent_warning_events_show_on_the_pod_and_its_workload() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let events = |id: &str| {
        let r = snap.resources.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id}"));
        r.details.iter().find(|(k, _)| k == "events").map(|(_, v)| v.clone())
    };
    let web = events(STATEFUL_SET).expect("web's pod warns");
    assert!(web.starts_with("1 warning in the last hour; latest 1m ago: BackOff on pod/web-1 ×23: Back-off restarting failed container nginx"), "{web}");
    assert_eq!(events("k8s:aks-prod/staging/pods/web-1").as_deref(), Some(web.as_str()));
    assert_eq!(events("k8s:aks-prod/staging/pods/web-0"), None, "its FailedScheduling is hours old");
    let nginx = events(DEPLOYMENT).expect("a pod of the Deployment warns");
    assert!(nginx.contains("Unhealthy on pod/nginx-deployment-1564180365-nacti ×3: Readiness probe failed"), "{nginx}");
    assert_eq!(events("k8s:aks-prod/shop/pods/nginx-deployment-1564180365-khku8"), None);
    assert!(requests(&s, "GET", "/namespaces/shop/events").await.len() == 1);
}

/// metrics-server's pod metrics give a workload's CPU and memory as a share of its pods' limits,
/// judged by the environment's thresholds; pods without limits or requests give none. A cluster
/// without metrics-server says nothing; one that refuses or fails is a note, never an error.
#[tokio::test]
async fn pod_metrics_are_cpu_and_memory_against_the_limits_and_the_thresholds() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let of = |kind| snap.metrics.iter().find(|m| m.resource == "nginx-deployment" && m.kind == kind).unwrap();
    let (cpu, memory) = (of(model::MetricKind::Cpu), of(model::MetricKind::Memory));
    assert!((cpu.value - 1150.0 / 1500.0 * 100.0).abs() < 0.01, "{}", cpu.value);
    assert_eq!((cpu.level, cpu.environment.as_str()), (Level::Warn, "prod"), "above 70 %, below 90 %");
    assert!((memory.value - 236.0 / 768.0 * 100.0).abs() < 0.01, "{}", memory.value);
    assert_eq!(memory.level, Level::Ok);
    assert!(!snap.metrics.iter().any(|m| m.resource == "web"), "web's pods have no limits or requests");
    let deployment = snap.resources.iter().find(|r| r.id == DEPLOYMENT).unwrap();
    assert_eq!(detail(deployment, "cpu"), "77% of limit (1150m of 1500m)");
    assert_eq!(detail(deployment, "memory"), "31% of limit (236Mi of 768Mi)");

    for (status, note) in [
        (403, Some("pod metrics in namespace staging: forbidden by RBAC (403)")),
        (503, Some("pod metrics in namespace staging: metrics-server did not answer")),
        (404, None),
    ] {
        let s = setup().await;
        Mock::given(method("GET"))
            .and(path("/apis/metrics.k8s.io/v1beta1/namespaces/staging/pods"))
            .respond_with(ResponseTemplate::new(status))
            .with_priority(1)
            .mount(&s.server)
            .await;
        let snap = provider(&s).await.fetch().await.unwrap_or_else(|e| panic!("{status}: {e}"));
        let shown = snap.source_note.unwrap_or_default();
        match note {
            Some(n) => assert!(shown.contains(n), "{status}: {shown}"),
            None => assert!(!shown.contains("metrics"), "{status}: {shown}"),
        }
        assert!(snap.metrics.iter().any(|m| m.resource == "nginx-deployment"), "shop's metrics still read");
    }
}

/// After a read, Deployments, `StatefulSets` and pods are watched from the lists'
/// `resourceVersion` (`?watch=true`, events one JSON object per line as the API server streams
/// them): a change ends `changed()`, so the loop reads again soon (at most every 5 s) instead of
/// at the next interval.
/// Nothing is watched before the first read.
#[tokio::test]
async fn a_watched_change_asks_for_a_read_at_once() {
    let s = setup().await;
    let rolled =
        deployment_after(|d| d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.17.0"), 3, 3, 1);
    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/shop/deployments"))
        .and(query_param("watch", "true"))
        .and(query_param("resourceVersion", "1160230"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(format!("{}\n", json!({"type": "MODIFIED", "object": rolled})), "application/json")
                // Later than the other watches take to open, so each is seen.
                .set_delay(Duration::from_millis(700)),
        )
        .with_priority(1)
        .mount(&s.server)
        .await;
    let p = provider(&s).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), p.changed()).await.is_err(),
        "nothing read, nothing watched"
    );
    p.fetch().await.unwrap();
    let read = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), p.changed()).await.expect("the MODIFIED event ends changed()");
    // At once, but not sooner than 5 s after the last read: a busy cluster is not re-listed
    // every second.
    assert!(read.elapsed() >= Duration::from_millis(4900), "{:?}", read.elapsed());
    let watches: Vec<Request> = s
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.query_pairs().any(|(k, v)| k == "watch" && v == "true"))
        .collect();
    let paths: Vec<&str> = watches.iter().map(|r| r.url.path()).collect();
    for list in ["shop/deployments", "staging/deployments", "shop/statefulsets", "staging/pods"] {
        assert!(paths.iter().any(|p| p.ends_with(list)), "{list} watched: {paths:?}");
    }
    assert!(!paths.iter().any(|p| p.ends_with("/events") || p.ends_with("/replicasets")), "{paths:?}");
    let shop = watches.iter().find(|r| r.url.path() == "/apis/apps/v1/namespaces/shop/deployments").unwrap();
    let query: Vec<(String, String)> = shop.url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert!(query.contains(&("resourceVersion".into(), "1160230".into())), "{query:?}");
    assert!(query.contains(&("timeoutSeconds".into(), "290".into())), "{query:?}");
    assert_eq!(shop.headers.get("authorization").unwrap(), &format!("Bearer {TOKEN}"));
}

/// A watch that only sends bookmarks keeps waiting (the interval decides); one that says its
/// version is gone (410, compacted) asks for a read, which lists afresh.
#[tokio::test]
async fn bookmarks_keep_the_watch_waiting_and_a_gone_version_asks_for_a_read() {
    for (events, returns) in [
        (
            json!({"type": "BOOKMARK", "object": {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "1160300"}}}),
            false,
        ),
        (
            json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version: 1160230 (1170001)", "reason": "Expired", "code": 410}}),
            true,
        ),
    ] {
        let s = setup().await;
        Mock::given(method("GET"))
            .and(path("/apis/apps/v1/namespaces/shop/deployments"))
            .and(query_param("watch", "true"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(format!("{events}\n"), "application/json"))
            .with_priority(1)
            .mount(&s.server)
            .await;
        let p = provider(&s).await;
        p.fetch().await.unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(8), p.changed()).await.is_ok();
        assert_eq!(ended, returns, "{events}");
    }
}

/// The binary end to end: `[kubernetes]` in the config, `status --json` with the workloads,
/// their warnings and metrics, and `act promote` with production's typed confirmation sending
/// the patch and waiting for the rollout; the kubeconfig's token never printed.
#[tokio::test]
async fn the_binary_reports_the_cluster_and_promotes_with_the_typed_confirmation() {
    use std::process::Command;
    let s = setup().await;
    let config = s.dir.path().join("skydeck.toml");
    std::fs::write(
        &config,
        format!(
            "[kubernetes]\nkubeconfig = \"{}\"\ncontexts = [\"aks-prod\"]\nnamespaces = [\"shop\", \"staging\"]\n\n[[environments]]\nname = \"prod\"\ntier = \"prod\"\n\n[[environments]]\nname = \"staging\"\ntier = \"staging\"\n",
            s.kubeconfig.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_skydeck"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("XDG_DATA_HOME", s.dir.path().join("data"))
            .env("XDG_STATE_HOME", s.dir.path().join("state"))
            .env("XDG_CONFIG_HOME", s.dir.path().join("config"))
            .env("HOME", s.dir.path())
            .env("USER", "maria")
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token is never printed");
        (out.status.code(), stdout, stderr)
    };

    let (code, stdout, stderr) = run(&["status", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["errors"], json!([]), "{}", doc["errors"]);
    let resources = doc["resources"].as_array().unwrap();
    let deployment = resources.iter().find(|r| r["id"] == DEPLOYMENT).unwrap();
    assert_eq!((deployment["environment"].as_str(), deployment["kind"].as_str()), (Some("prod"), Some("Deployment")));
    let web = resources.iter().find(|r| r["id"] == STATEFUL_SET).unwrap();
    assert!(web.to_string().contains("BackOff on pod/web-1"), "{web}");
    let cpu =
        doc["metrics"].as_array().unwrap().iter().find(|m| m["resource"] == "nginx-deployment" && m["kind"] == "cpu");
    assert_eq!(cpu.map(|m| m["level"].clone()), Some(json!("warn")), "{}", doc["metrics"]);

    let (code, _, stderr) = run(&["act", "promote", DEPLOYMENT, "--to", "1.17.0", "--yes"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--confirm nginx-deployment"), "{stderr}");
    assert!(requests(&s, "PATCH", "/nginx-deployment").await.is_empty(), "refused before any request");

    expect_one_deployment_patch(&s, None).await;
    let promoted = |d: &mut Value| d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.17.0");
    mount_get(&s, None, deployment_after(promoted, 3, 3, 3)).await;
    let (code, stdout, stderr) =
        run(&["act", "promote", DEPLOYMENT, "--to", "1.17.0", "--yes", "--confirm", "nginx-deployment"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((result["ok"].clone(), result["target"].clone()), (json!(true), json!(DEPLOYMENT)));
    let patches = requests(&s, "PATCH", "/nginx-deployment").await;
    assert_eq!(
        body(&patches[0]),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.17.0"}]}}}})
    );
    let (code, stdout, _) = run(&["audit", "--json"]);
    assert_eq!(code, Some(0));
    let phases: Vec<String> = serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["verb"] == "promote")
        .map(|e| e["phase"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(phases.contains(&"started".to_string()) && phases.contains(&"finished".to_string()), "{phases:?}");
}

/// One replay of `Arnavion/k8s-openapi`'s test-replays (recorded from a real v1.33 cluster,
/// tests/fixtures/kubernetes/SOURCES.md): its entries in order.
fn recorded(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes/recorded").join(name),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn response_of(entry: &Value) -> Value {
    serde_json::from_str(entry["response_body"].as_str().unwrap()).unwrap()
}

/// A provider of aks-prod reading only `namespace`, with a short rollout wait.
async fn provider_in(s: &Setup, namespace: &str, rollout_timeout: Duration) -> Arc<dyn Provider> {
    let mut section = section(s, &["aks-prod"]);
    section.namespaces = vec![namespace.to_string()];
    let kc = kubernetes::load_kubeconfig(&section).unwrap();
    let ctx = BuildContext { config: &s.config, store: s.store.clone() };
    let p = KubeProvider::connect("kubernetes".into(), &section, &kc, "aks-prod", &ctx)
        .await
        .unwrap()
        .with_timing(Timing { poll_interval: Duration::from_millis(20), rollout_timeout });
    Arc::new(p)
}

/// A real cluster's answer: kind's `coredns` Deployment as `GET .../kube-system/deployments`
/// returned it (the lists this cluster lacks here answer 404 and are notes). It reads as kubectl
/// shows it, and the watch starts from the list's recorded `resourceVersion`.
#[tokio::test]
async fn a_real_clusters_deployment_list_reads_as_kubectl_shows_it() {
    let s = setup().await;
    let replay = recorded("deployment-list.json");
    assert_eq!(replay[0]["request_url"], "/apis/apps/v1/namespaces/kube-system/deployments");
    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/kube-system/deployments"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(replay[0]["response_body"].as_str().unwrap(), "application/json"),
        )
        .mount(&s.server)
        .await;
    let p = provider_in(&s, "kube-system", Duration::from_secs(1)).await;
    let snap = p.fetch().await.unwrap();
    let coredns = snap.resources.iter().find(|r| r.id == "k8s:aks-prod/kube-system/deployments/coredns").unwrap();
    assert_eq!((coredns.status.as_str(), coredns.level), ("available 2/2", Level::Ok));
    assert_eq!(coredns.current_version.as_deref(), Some("rev 1: registry.k8s.io/coredns/coredns:v1.12.0"));
    assert_eq!(detail(coredns, "ready"), "2/2");
    let note = snap.source_note.unwrap_or_default();
    assert!(note.contains("list pods in namespace kube-system: not served (404)"), "{note}");
    let _ = tokio::time::timeout(Duration::from_millis(300), p.changed()).await;
    let watched = requests(&s, "GET", "/kube-system/deployments").await;
    assert!(
        watched.iter().any(|r| r.url.query_pairs().any(|(k, v)| k == "resourceVersion" && v == "555")),
        "the watch starts at the list's version: {:?}",
        watched.iter().map(|r| r.url.to_string()).collect::<Vec<_>>()
    );
}

/// A real cluster's Deployment (`alpine:3.6`, as created in the recording) promoted to 3.9:
/// skydeck sends the strategic merge patch the recording's fourth call sent, minus the
/// apiVersion/kind/selector kubectl would not send; the server's recorded answer, a new
/// generation whose status the controller has not written yet, is not taken for a finished
/// rollout: verify waits and says so.
#[tokio::test]
async fn promote_against_a_real_clusters_answers_sends_set_image_and_does_not_call_an_unobserved_rollout_done() {
    let s = setup().await;
    let replay = recorded("patch-deployment.json");
    let created = response_of(&replay[0]);
    assert_eq!(created["spec"]["template"]["spec"]["containers"][0]["image"], "alpine:3.6");
    let (strategic, answered) = (&replay[3], response_of(&replay[3]));
    assert_eq!(strategic["request_content_type"], "application/strategic-merge-patch+json");
    let list = json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "557"}, "items": [created]});
    Mock::given(method("GET"))
        .and(path("/apis/apps/v1/namespaces/default/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(&s.server)
        .await;
    let deployment = "/apis/apps/v1/namespaces/default/deployments/k8s-openapi-tests-patch-deployment";
    Mock::given(method("PATCH"))
        .and(path(deployment))
        .and(header("content-type", "application/strategic-merge-patch+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answered.clone()))
        .expect(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path(deployment))
        .respond_with(ResponseTemplate::new(200).set_body_json(answered.clone()))
        .mount(&s.server)
        .await;
    let p = provider_in(&s, "default", Duration::from_millis(300)).await;
    let snap = p.fetch().await.unwrap();
    let mut request =
        ActionRequest::new(Verb::Promote, "k8s:aks-prod/default/deployments/k8s-openapi-tests-patch-deployment");
    request.params.insert("to".into(), "3.9".into());
    let plan = p.plan(&request, &snap).unwrap();
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(p.as_ref(), plan).await;
    let sent = requests(&s, "PATCH", "/k8s-openapi-tests-patch-deployment").await;
    assert_eq!(
        body(&sent[0]),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "k8s-openapi-tests-patch-deployment", "image": "alpine:3.9"}]}}}})
    );
    let recorded_body: Value = serde_json::from_str(strategic["request_body"].as_str().unwrap()).unwrap();
    assert_eq!(recorded_body["spec"]["template"], body(&sent[0])["spec"]["template"], "the same template change");
    let err = outcome.result.unwrap_err().to_string();
    assert!(err.contains("not rolled out after"), "{err}");
    assert_eq!(answered["metadata"]["generation"], 4);
}

/// `kubectl rollout undo statefulset/web`: the `ControllerRevision` before the current one, its
/// data (the template with `"$patch": "replace"`) sent as a strategic merge patch; verify waits
/// for the set to roll out with that revision's images.
#[tokio::test]
async fn a_statefulset_rolls_back_to_its_previous_controller_revision_as_kubectl_does() {
    let s = setup().await;
    let p = provider(&s).await;
    let snap = p.fetch().await.unwrap();
    let plan = p.plan(&ActionRequest::new(Verb::Rollback, STATEFUL_SET), &snap).unwrap();
    assert!(
        plan.summary.starts_with("roll back statefulset web (staging, aks-prod) to revision 1 (registry.k8s.io/nginx-slim:0.23, ControllerRevision web-5d8f7c9b64)"),
        "{}",
        plan.summary
    );
    let revision = fixture_json("controllerrevisions.staging.json")["items"][0]["data"].clone();
    assert_eq!(revision["spec"]["template"]["$patch"], "replace");
    let sts_path = "/apis/apps/v1/namespaces/staging/statefulsets/web";
    Mock::given(method("PATCH"))
        .and(path(sts_path))
        .and(header("content-type", "application/strategic-merge-patch+json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture_json("statefulsets.staging.json")["items"][0].clone()),
        )
        .expect(1)
        .mount(&s.server)
        .await;
    let mut rolled = fixture_json("statefulsets.staging.json")["items"][0].clone();
    rolled["spec"]["template"]["spec"]["containers"][0]["image"] = json!("registry.k8s.io/nginx-slim:0.23");
    rolled["metadata"]["generation"] = json!(2);
    rolled["status"] = json!({"observedGeneration": 2, "replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
        "updatedReplicas": 2, "availableReplicas": 2, "currentRevision": "web-5d8f7c9b64", "updateRevision": "web-5d8f7c9b64"});
    Mock::given(method("GET"))
        .and(path(sts_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(rolled))
        .mount(&s.server)
        .await;
    let outcome = Pipeline::new(s.store.clone(), false, "maria").act(p.as_ref(), plan).await;
    let detail = outcome.result.unwrap().to_string();
    assert!(detail.contains("web rolled back to revision 1"), "{detail}");
    let patches = requests(&s, "PATCH", "/statefulsets/web").await;
    assert_eq!(patches.len(), 1);
    assert_eq!(body(&patches[0]), revision, "the revision's data, as kubectl sends it");
}
