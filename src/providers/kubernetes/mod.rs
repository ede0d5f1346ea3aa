//! Kubernetes through kube-rs (kube + k8s-openapi, rustls): Deployments and `StatefulSets` with
//! their rollout state, images and ready/desired; Pods with phase and restarts; a workload's
//! pod logs merged by time for the log viewer. One provider per kubeconfig context.
//!
//! Credentials are kube's own kubeconfig loader: tokens, client certificates and exec plugins
//! (`kubelogin`, `aws eks get-token`, `gke-gcloud-auth-plugin`), run again when a token expires.
//!
//! Actions: rerun = `kubectl rollout restart` (a strategic merge patch of the template's
//! `kubectl.kubernetes.io/restartedAt`); scale = a merge patch of the `/scale` subresource;
//! rollback = `kubectl rollout undo` done as kubectl does it, client side (the `ReplicaSet` with
//! the previous `deployment.kubernetes.io/revision`, its template JSON-patched into the
//! Deployment). Verify waits until observedGeneration >= generation and updated == available
//! == desired.

mod identity;
pub use identity::{PROVIDER, kind};
pub mod config;
mod logs;
mod metrics;
mod workloads;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use super::{
    BoxFuture, BuildContext, BuildError, Capabilities, Provider, ProviderError, RunControl, Scale, Source,
    TrafficShift, canonical_environment, configured_environment, environment_of, error_chain,
};
use crate::actions::{ActionError, ActionRequest, InputSpec, Plan, PlannedCall, Risk, Verb, not_applicable};
use crate::config::Config;
use crate::model::{Environment, LogLine, Metric, MetricKind, Resource, Role, Snapshot, Tier};
use config::KubernetesConfig;

pub use workloads::{Counts, Rollout};

/// The field manager skydeck's patches are recorded under (`managedFields`).
pub const FIELD_MANAGER: &str = "skydeck";

/// How long verify waits. Tests shorten these.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub poll_interval: Duration,
    pub rollout_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing { poll_interval: Duration::from_secs(2), rollout_timeout: Duration::from_mins(10) }
    }
}

/// The registry's entry: builds from the `[kubernetes]` section, `None` without one.
pub async fn from_config(ctx: &BuildContext<'_>) -> Option<Result<Vec<Arc<dyn Provider>>, BuildError>> {
    let section = match super::section_of::<config::KubernetesConfig>(ctx)? {
        Ok(section) => section,
        Err(why) => return Some(Err(why)),
    };
    Some(build(&section, ctx).await)
}

/// The kubeconfig: `kubeconfig` from the section, else `$KUBECONFIG` (every file in it, merged
/// as kubectl does), else `~/.kube/config`.
pub fn load_kubeconfig(section: &KubernetesConfig) -> Result<Kubeconfig, BuildError> {
    let read = match section.kubeconfig.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = match path.strip_prefix("~/") {
                Some(rest) => {
                    std::env::var_os("HOME").map_or_else(|| path.into(), |h| std::path::Path::new(&h).join(rest))
                }
                None => std::path::PathBuf::from(path),
            };
            Kubeconfig::read_from(&path)
        }
        None => Kubeconfig::read(),
    };
    read.map_err(|e| {
        BuildError::Config(format!(
            "kubeconfig: {} (set [kubernetes] kubeconfig = \"/path/to/config\" or KUBECONFIG)",
            error_chain(&e)
        ))
    })
}

/// One provider per context (`contexts`, else the kubeconfig's current context). A context
/// that cannot be built is logged; the others still come up.
pub async fn build(section: &KubernetesConfig, ctx: &BuildContext<'_>) -> Result<Vec<Arc<dyn Provider>>, BuildError> {
    let kubeconfig = load_kubeconfig(section)?;
    let mut contexts = section.all_contexts();
    if contexts.is_empty() {
        contexts.push(kubeconfig.current_context.clone().filter(|c| !c.is_empty()).ok_or_else(|| {
            BuildError::Config(
                "[kubernetes] names no context and the kubeconfig has no current-context: set contexts = [\"my-cluster\"]"
                    .into(),
            )
        })?);
    }
    let many = contexts.len() > 1;
    let mut out: Vec<Arc<dyn Provider>> = Vec::new();
    let mut errors = Vec::new();
    for context in contexts {
        let name = if many { format!("kubernetes:{context}") } else { "kubernetes".to_string() };
        match KubeProvider::connect(name, section, &kubeconfig, &context, ctx).await {
            Ok(p) => out.push(Arc::new(p)),
            Err(e) => {
                tracing::warn!("kubernetes context {context}: {e}");
                errors.push(e);
            }
        }
    }
    if out.is_empty() {
        return Err(if errors.len() == 1 { errors.remove(0) } else { BuildError::Each(errors) });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    Pod,
}

impl WorkloadKind {
    fn plural(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
            WorkloadKind::Pod => "pods",
        }
    }
    fn api_path(self, namespace: &str, name: &str) -> String {
        match self {
            WorkloadKind::Pod => format!("/api/v1/namespaces/{namespace}/pods/{name}"),
            other => format!("/apis/apps/v1/namespaces/{namespace}/{}/{name}", other.plural()),
        }
    }
}

/// What `kubectl rollout undo` would go back to, worked out at fetch time.
#[derive(Debug, Clone)]
struct RollbackTarget {
    revision: i64,
    replica_set: String,
    images: Vec<String>,
    /// The JSON patch (template and annotations), as kubectl sends it.
    patch: Value,
    /// The current template already is this revision's.
    same_template: bool,
}

#[derive(Debug, Clone)]
struct Workload {
    kind: WorkloadKind,
    namespace: String,
    name: String,
    /// Its pods and their containers (a pod's own entry lists itself).
    pods: Vec<(String, Vec<String>)>,
    replicas: i32,
    revision: Option<i64>,
    paused: bool,
    rollback: Option<RollbackTarget>,
    /// The pod template's containers and their images (what `promote` changes).
    containers: Vec<(String, String)>,
}

#[derive(Default)]
struct Meta {
    workloads: HashMap<String, Workload>,
    /// The `resourceVersion` each list was read at, by (namespace or all, plural): where the
    /// watch starts, so it reports only what changed since.
    versions: HashMap<(Option<String>, String), String>,
    /// When the last read started: a watched change reads again no sooner than
    /// [`MIN_READ_GAP`] after it.
    last_read: Option<Instant>,
}

/// The lists whose changes are read at once (what a rollout moves).
const WATCHED: [&str; 3] = ["deployments", "statefulsets", "pods"];
/// A burst of watch events (a rollout replaces pods one by one) is read once, this long after
/// its first event.
const COALESCE: Duration = Duration::from_secs(1);
/// Each read lists every watched namespace again: on a busy cluster whose pods change all the
/// time, watched changes read at most this often (the API server is not a 1 s poll target).
const MIN_READ_GAP: Duration = Duration::from_secs(5);
/// The longest a watch stays open before the server ends it and skydeck opens the next.
const WATCH_TIMEOUT_SECS: u32 = 290;

/// The calls an action makes, typed (see `Plan::set_payload`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum KubeCall {
    /// `PATCH` (strategic merge) the template's `restartedAt` annotation.
    Restart { kind: WorkloadKind, namespace: String, name: String, restarted_at: String, body: Value },
    /// `PATCH` (merge) the `/scale` subresource.
    Scale { kind: WorkloadKind, namespace: String, name: String, replicas: i32, body: Value },
    /// `kubectl rollout undo`: a Deployment's template and annotations JSON-patched to a
    /// `ReplicaSet`'s, or a `StatefulSet` strategic-merge-patched with a `ControllerRevision`'s
    /// data.
    Rollback { kind: WorkloadKind, namespace: String, name: String, revision: i64, images: Vec<String>, patch: Value },
    /// `PATCH` (strategic merge) containers' images, as `kubectl set image` does; `images` is
    /// the template's whole list afterwards.
    SetImage { kind: WorkloadKind, namespace: String, name: String, images: Vec<String>, body: Value },
}

pub struct KubeProvider {
    name: String,
    context: String,
    server: String,
    client: kube::Client,
    namespaces: Vec<String>,
    tail_lines: i64,
    config: Arc<Config>,
    timing: Timing,
    meta: Mutex<Meta>,
}

/// Attempts per read (the first and two retries).
const READ_ATTEMPTS: u32 = 3;
/// The first backoff step: 100-200 ms, then 400-800 ms.
const RETRY_BASE: Duration = Duration::from_millis(200);

/// Worth asking again: the API server or a proxy in front of it failing, or the connection.
fn transient(e: &kube::Error) -> bool {
    match e {
        // A JSON error without a `code` (a proxy's, not the API server's) reads as 0.
        kube::Error::Api(status) => matches!(status.code, 0 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn from_kube(e: kube::Error, what: &str, context: &str) -> ProviderError {
    if let kube::Error::Api(status) = &e {
        let message = if status.code == 0 {
            format!("{what}: {}", status.message)
        } else {
            format!("{what}: {} ({})", status.message, status.code)
        };
        return match status.code {
            401 => ProviderError::Auth {
                message,
                fix: format!(
                    "the credentials of context {context} were rejected: log in again (kubectl get ns --context {context})"
                ),
            },
            403 => ProviderError::Auth {
                message,
                fix: "grant the RBAC verbs the README lists, or narrow [kubernetes] namespaces".into(),
            },
            429 => ProviderError::RateLimited { retry_after: None },
            _ => ProviderError::Unavailable(message),
        };
    }
    ProviderError::Unavailable(format!("{what}: {}", error_chain(&e)))
}

fn id_of(context: &str, namespace: &str, kind: WorkloadKind, name: &str) -> String {
    format!("k8s:{context}/{namespace}/{}/{name}", kind.plural())
}

fn version_text(revision: Option<i64>, images: &[String]) -> String {
    match revision {
        Some(r) => format!("rev {r}: {}", images.join(", ")),
        None => images.join(", "),
    }
}

impl KubeProvider {
    /// One context of a kubeconfig (tests build it directly, with their own timing).
    pub async fn connect(
        name: String,
        section: &KubernetesConfig,
        kubeconfig: &Kubeconfig,
        context: &str,
        ctx: &BuildContext<'_>,
    ) -> Result<KubeProvider, BuildError> {
        let options = KubeConfigOptions { context: Some(context.to_string()), ..KubeConfigOptions::default() };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| BuildError::Credentials(format!("kubernetes context {context}: {}", error_chain(&e))))?;
        config.read_timeout = Some(super::net::request_timeout(ctx.config));
        // kube's own retry layer asks up to 15 times and sleeps a whole Retry-After, past the
        // fetch limit; `with_retries` asks 3 times with the other providers' backoff instead.
        config.default_retry = false;
        let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
        let client = kube::Client::try_from(config)
            .map_err(|e| BuildError::Client(format!("kubernetes context {context}: {}", error_chain(&e))))?;
        Ok(KubeProvider {
            name,
            context: context.to_string(),
            server,
            client,
            namespaces: section.all_namespaces(),
            tail_lines: section.tail_lines.unwrap_or(500),
            config: Arc::new(ctx.config.clone()),
            timing: Timing::default(),
            meta: Mutex::new(Meta::default()),
        })
    }

    pub fn with_timing(mut self, timing: Timing) -> KubeProvider {
        self.timing = timing;
        self
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn api<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }

    /// kube has no retry of its own: a server error or a dropped connection is asked again,
    /// [`READ_ATTEMPTS`] times in all, with jittered backoff like the other providers.
    async fn with_retries<T, F, Fut>(&self, mut call: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e) if attempt < READ_ATTEMPTS && transient(&e) => {
                    tokio::time::sleep(super::net::backoff(attempt, RETRY_BASE)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Every page of a list (`limit` + `continue`).
    async fn list_all<K>(&self, namespace: Option<&str>, what: &str) -> Result<Vec<K>, ProviderError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        self.list_pages(namespace).await.map_err(|e| from_kube(e, what, &self.context))
    }

    /// A list the view can do without (stateful sets, replica sets, pods): RBAC that forbids it
    /// (403), or a server without it (404), is a note saying what is missing, not a failed
    /// source. Anything else fails as `list_all` does.
    async fn list_optional<K>(
        &self,
        namespace: Option<&str>,
        what: &str,
    ) -> Result<(Vec<K>, Option<String>), ProviderError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        match self.list_pages(namespace).await {
            Ok(items) => Ok((items, None)),
            Err(kube::Error::Api(status)) if status.code == 403 || status.code == 404 => {
                let why = if status.code == 403 { "forbidden by RBAC (403)" } else { "not served (404)" };
                let scope = namespace.map_or_else(|| "all namespaces".to_string(), |n| format!("namespace {n}"));
                tracing::info!("{}: {what} in {scope}: {}", self.context, status.message);
                Ok((Vec::new(), Some(format!("{what} in {scope}: {why}"))))
            }
            Err(e) => Err(from_kube(e, what, &self.context)),
        }
    }

    /// metrics-server's pod metrics (what `kubectl top pods` reads). Optional in every way:
    /// a cluster without metrics-server (404) has no CPU or memory and says nothing; a refusal or
    /// an error is a note, never a failed source.
    async fn pod_metrics(
        &self,
        namespace: Option<&str>,
    ) -> Result<(Vec<metrics::PodMetrics>, Option<String>), ProviderError> {
        let uri = namespace.map_or_else(
            || "/apis/metrics.k8s.io/v1beta1/pods".to_string(),
            |ns| format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        );
        let result = self
            .with_retries(|| {
                let request =
                    http::Request::get(&uri).header(http::header::ACCEPT, "application/json").body(Vec::new());
                async move {
                    let request = request.map_err(kube::Error::HttpError)?;
                    self.client.request::<metrics::PodMetricsList>(request).await
                }
            })
            .await;
        let scope = namespace.map_or_else(|| "all namespaces".to_string(), |n| format!("namespace {n}"));
        match result {
            Ok(list) => Ok((list.items, None)),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok((Vec::new(), None)),
            Err(kube::Error::Api(status)) if status.code == 403 => {
                Ok((Vec::new(), Some(format!("pod metrics in {scope}: forbidden by RBAC (403)"))))
            }
            Err(e) => {
                tracing::info!("{}: pod metrics in {scope}: {e}", self.context);
                Ok((Vec::new(), Some(format!("pod metrics in {scope}: metrics-server did not answer"))))
            }
        }
    }

    async fn list_pages<K>(&self, namespace: Option<&str>) -> Result<Vec<K>, kube::Error>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let api = self.api::<K>(namespace);
        let mut out = Vec::new();
        let mut params = ListParams::default().limit(500);
        loop {
            let page = self.with_retries(|| api.list(&params)).await?;
            out.extend(page.items);
            if let Some(token) = page.metadata.continue_.filter(|c| !c.is_empty()) {
                params = params.continue_token(&token);
                continue;
            }
            if let Some(version) = page.metadata.resource_version.filter(|v| !v.is_empty()) {
                let plural = K::plural(&Default::default()).into_owned();
                self.meta().versions.insert((namespace.map(str::to_string), plural), version);
            }
            return Ok(out);
        }
    }

    /// Watches Deployments, `StatefulSets` and pods from the versions the last read listed, and
    /// returns on the first change (a moment later, so a burst is read once, and no sooner than
    /// [`MIN_READ_GAP`] after the last read) or when those
    /// versions are too old to watch from (410: read again). A watch the server refuses or
    /// breaks leaves the interval to decide (never returns).
    async fn watch_changes(&self) {
        let versions: Vec<(Option<String>, String, String)> = self
            .meta()
            .versions
            .iter()
            .filter(|((_, plural), _)| WATCHED.contains(&plural.as_str()))
            .map(|((ns, plural), version)| (ns.clone(), plural.clone(), version.clone()))
            .collect();
        if versions.is_empty() {
            return std::future::pending().await;
        }
        let watches: Vec<BoxFuture<'_, ()>> = versions
            .into_iter()
            .map(|(ns, plural, version)| -> BoxFuture<'_, ()> {
                Box::pin(async move {
                    match plural.as_str() {
                        "deployments" => self.watch_kind::<Deployment>(ns.as_deref(), version).await,
                        "statefulsets" => self.watch_kind::<StatefulSet>(ns.as_deref(), version).await,
                        _ => self.watch_kind::<Pod>(ns.as_deref(), version).await,
                    }
                })
            })
            .collect();
        futures::future::select_all(watches).await;
        let since_read = self.meta().last_read.map_or(MIN_READ_GAP, |at| at.elapsed());
        tokio::time::sleep(COALESCE.max(MIN_READ_GAP.saturating_sub(since_read))).await;
    }

    async fn watch_kind<K>(&self, namespace: Option<&str>, mut version: String)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + Send
            + 'static,
        <K as kube::Resource>::DynamicType: Default,
    {
        let api = self.api::<K>(namespace);
        let params = WatchParams::default().timeout(WATCH_TIMEOUT_SECS);
        loop {
            let opened = Instant::now();
            let stream = match api.watch(&params, &version).await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::debug!("{}: watch {}: {e}", self.context, K::plural(&Default::default()));
                    return std::future::pending().await;
                }
            };
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(WatchEvent::Added(_) | WatchEvent::Modified(_) | WatchEvent::Deleted(_)) => return,
                    Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                    Ok(WatchEvent::Error(status)) if status.code == 410 => return,
                    Ok(WatchEvent::Error(status)) => {
                        tracing::debug!("{}: watch: {}", self.context, status.message);
                        return std::future::pending().await;
                    }
                    Err(e) => {
                        tracing::debug!("{}: watch: {e}", self.context);
                        return std::future::pending().await;
                    }
                }
            }
            // The server ended the watch (its timeout): watch on from the same version, but
            // not in a tight loop when something in between ends it at once.
            if opened.elapsed() < Duration::from_secs(5) {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }

    /// The environment: the `environment`/`env` label, else the namespace when it names an
    /// environment (`production`, `shop-staging`, or a configured one), else the workload's
    /// name suffix; in the configured spelling.
    fn env_of(&self, namespace: &str, name: &str, labels: Option<&BTreeMap<String, String>>) -> String {
        let pairs = || labels.into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()));
        let tagged = pairs().any(|(k, _)| k.eq_ignore_ascii_case("environment") || k.eq_ignore_ascii_case("env"));
        let found = if tagged {
            environment_of(name, pairs())
        } else {
            let ns = canonical_environment(namespace);
            let configured = self.config.environments.iter().any(|e| canonical_environment(&e.name) == ns);
            if configured || matches!(ns.as_str(), "production" | "staging" | "dev") {
                ns
            } else {
                match environment_of(namespace, []) {
                    unassigned if unassigned == "unassigned" => environment_of(name, []),
                    env => env,
                }
            }
        };
        configured_environment(&self.config, &found)
    }

    async fn read(&self) -> Result<Snapshot, ProviderError> {
        self.meta().last_read = Some(Instant::now());
        let scopes: Vec<Option<String>> =
            if self.namespaces.is_empty() { vec![None] } else { self.namespaces.iter().cloned().map(Some).collect() };
        let mut deployments: Vec<Deployment> = Vec::new();
        let mut sets: Vec<StatefulSet> = Vec::new();
        let mut replica_sets: Vec<ReplicaSet> = Vec::new();
        let mut pods: Vec<Pod> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        let mut revisions: Vec<ControllerRevision> = Vec::new();
        let mut pod_metrics: Vec<metrics::PodMetrics> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for scope in &scopes {
            let ns = scope.as_deref();
            let (d, (s, s_note), (r, r_note), (p, p_note), (e, e_note), (m, m_note), (c, c_note)) = tokio::try_join!(
                self.list_all::<Deployment>(ns, "list deployments"),
                self.list_optional::<StatefulSet>(ns, "list statefulsets"),
                self.list_optional::<ReplicaSet>(ns, "list replicasets"),
                self.list_optional::<Pod>(ns, "list pods"),
                self.list_optional::<Event>(ns, "list events"),
                self.pod_metrics(ns),
                self.list_optional::<ControllerRevision>(ns, "list controllerrevisions"),
            )?;
            revisions.extend(c);
            pod_metrics.extend(m);
            deployments.extend(d);
            sets.extend(s);
            replica_sets.extend(r);
            pods.extend(p);
            events.extend(e);
            missing.extend([s_note, r_note, p_note, e_note, m_note, c_note].into_iter().flatten());
        }

        // Which Deployment each ReplicaSet belongs to, and which workload each pod.
        let ns_of =
            |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| m.namespace.clone().unwrap_or_default();
        let mut rs_owner: HashMap<(String, String), String> = HashMap::new();
        let mut rs_of: HashMap<(String, String), Vec<&ReplicaSet>> = HashMap::new();
        for rs in &replica_sets {
            if let Some((k, owner)) = workloads::controller_of(&rs.metadata)
                && k == "Deployment"
            {
                let ns = ns_of(&rs.metadata);
                rs_owner.insert((ns.clone(), rs.metadata.name.clone().unwrap_or_default()), owner.clone());
                rs_of.entry((ns, owner)).or_default().push(rs);
            }
        }
        let mut pods_of: HashMap<(String, WorkloadKind, String), Vec<&Pod>> = HashMap::new();
        // The other way round, for events about a pod: (namespace, pod) -> its workload.
        let mut workload_of_pod: HashMap<(String, String), (WorkloadKind, String)> = HashMap::new();
        for p in &pods {
            let ns = ns_of(&p.metadata);
            let owner = match workloads::controller_of(&p.metadata) {
                Some((k, rs)) if k == "ReplicaSet" => {
                    rs_owner.get(&(ns.clone(), rs)).map(|d| (WorkloadKind::Deployment, d.clone()))
                }
                Some((k, s)) if k == "StatefulSet" => Some((WorkloadKind::StatefulSet, s)),
                _ => None,
            };
            if let Some((kind, name)) = owner {
                workload_of_pod.insert((ns.clone(), p.metadata.name.clone().unwrap_or_default()), (kind, name.clone()));
                pods_of.entry((ns, kind, name)).or_default().push(p);
            }
        }
        let containers = |p: &Pod| -> Vec<String> {
            p.spec.as_ref().map(|s| s.containers.iter().map(|c| c.name.clone()).collect()).unwrap_or_default()
        };
        let pod_list = |ns: &str, kind: WorkloadKind, name: &str| -> Vec<(String, Vec<String>)> {
            let mut list: Vec<(String, Vec<String>)> = pods_of
                .get(&(ns.to_string(), kind, name.to_string()))
                .into_iter()
                .flatten()
                .map(|p| (p.metadata.name.clone().unwrap_or_default(), containers(p)))
                .collect();
            list.sort();
            list
        };
        let restarts_of = |ns: &str, kind: WorkloadKind, name: &str| -> i32 {
            pods_of
                .get(&(ns.to_string(), kind, name.to_string()))
                .into_iter()
                .flatten()
                .map(|p| workloads::pod_state(p).restarts)
                .sum()
        };

        let mut snap = Snapshot::default();
        let mut metas = HashMap::new();
        let context = self.context.clone();
        // A pod is in its workload's environment (its own labels only when it has no workload).
        let mut env_of_workload: HashMap<(String, WorkloadKind, String), String> = HashMap::new();
        for d in &deployments {
            let (ns, name) = (ns_of(&d.metadata), d.metadata.name.clone().unwrap_or_default());
            let id = id_of(&context, &ns, WorkloadKind::Deployment, &name);
            let rollout = workloads::deployment_rollout(d);
            let counts = workloads::deployment_counts(d);
            let spec = d.spec.as_ref();
            let template = spec.map(|s| &s.template);
            let images = workloads::images(template);
            let revision = workloads::revision_of(d.metadata.annotations.as_ref());
            let mut sets: Vec<&ReplicaSet> = rs_of.get(&(ns.clone(), name.clone())).cloned().unwrap_or_default();
            sets.sort_by_key(|rs| std::cmp::Reverse(workloads::revision_of(rs.metadata.annotations.as_ref())));
            let versions: Vec<String> = sets
                .iter()
                .filter_map(|rs| {
                    let r = workloads::revision_of(rs.metadata.annotations.as_ref())?;
                    Some(version_text(Some(r), &workloads::images(rs.spec.as_ref().and_then(|s| s.template.as_ref()))))
                })
                .collect();
            let rollback = workloads::previous_revision(&sets).and_then(|(rev, rs)| {
                let rs_template = workloads::template_for_rollback(rs)?;
                let annotations = workloads::rollback_annotations(d, rs);
                let current = template.and_then(|t| serde_json::to_value(t).ok());
                Some(RollbackTarget {
                    revision: rev,
                    replica_set: rs.metadata.name.clone().unwrap_or_default(),
                    images: workloads::images(rs.spec.as_ref().and_then(|s| s.template.as_ref())),
                    same_template: current.as_ref() == Some(&rs_template),
                    patch: json!([
                        {"op": "replace", "path": "/spec/template", "value": rs_template},
                        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
                    ]),
                })
            });
            let paused = spec.and_then(|s| s.paused).unwrap_or(false);
            let strategy = spec.and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.clone());
            let mut details = vec![
                ("context".to_string(), context.clone()),
                ("namespace".to_string(), ns.clone()),
                ("ready".to_string(), format!("{}/{}", counts.ready, counts.desired)),
                ("updated".to_string(), counts.updated.to_string()),
                ("available".to_string(), counts.available.to_string()),
                ("images".to_string(), images.join(", ")),
                ("generation".to_string(), format!("{} (observed {})", counts.generation, counts.observed)),
                ("pods".to_string(), pod_list(&ns, WorkloadKind::Deployment, &name).len().to_string()),
                ("restarts".to_string(), restarts_of(&ns, WorkloadKind::Deployment, &name).to_string()),
            ];
            if let Some(r) = revision {
                details.push(("revision".into(), r.to_string()));
            }
            if let Some(s) = strategy {
                details.push(("strategy".into(), s));
            }
            if paused {
                details.push(("paused".into(), "yes".into()));
            }
            let environment = self.env_of(&ns, &name, d.metadata.labels.as_ref());
            env_of_workload.insert((ns.clone(), WorkloadKind::Deployment, name.clone()), environment.clone());
            snap.resources.push(Resource {
                id: id.clone(),
                name: name.clone(),
                kind: kind::DEPLOYMENT.into(),
                role: Role::Compute,
                provider: crate::providers::kubernetes::PROVIDER,
                environment,
                region: ns.clone(),
                status: rollout.status,
                level: rollout.level,
                current_version: Some(version_text(revision, &images)).filter(|v| !v.is_empty()),
                versions,
                details,
            });
            metas.insert(
                id,
                Workload {
                    kind: WorkloadKind::Deployment,
                    pods: pod_list(&ns, WorkloadKind::Deployment, &name),
                    namespace: ns,
                    name,
                    replicas: counts.desired,
                    revision,
                    paused,
                    rollback,
                    containers: workloads::containers(d.spec.as_ref().map(|s| &s.template)),
                },
            );
        }
        for s in &sets {
            let (ns, name) = (ns_of(&s.metadata), s.metadata.name.clone().unwrap_or_default());
            let id = id_of(&context, &ns, WorkloadKind::StatefulSet, &name);
            let rollout = workloads::stateful_set_rollout(s);
            let counts = workloads::stateful_set_counts(s);
            let images = workloads::images(s.spec.as_ref().map(|s| &s.template));
            let mut details = vec![
                ("context".to_string(), context.clone()),
                ("namespace".to_string(), ns.clone()),
                ("ready".to_string(), format!("{}/{}", counts.ready, counts.desired)),
                ("updated".to_string(), counts.updated.to_string()),
                ("available".to_string(), counts.available.to_string()),
                ("images".to_string(), images.join(", ")),
                ("generation".to_string(), format!("{} (observed {})", counts.generation, counts.observed)),
                ("pods".to_string(), pod_list(&ns, WorkloadKind::StatefulSet, &name).len().to_string()),
                ("restarts".to_string(), restarts_of(&ns, WorkloadKind::StatefulSet, &name).to_string()),
            ];
            if let Some(r) = s.status.as_ref().and_then(|st| st.update_revision.clone()) {
                details.push(("update revision".into(), r));
            }
            let environment = self.env_of(&ns, &name, s.metadata.labels.as_ref());
            env_of_workload.insert((ns.clone(), WorkloadKind::StatefulSet, name.clone()), environment.clone());
            snap.resources.push(Resource {
                id: id.clone(),
                name: name.clone(),
                kind: kind::STATEFUL_SET.into(),
                role: Role::Compute,
                provider: crate::providers::kubernetes::PROVIDER,
                environment,
                region: ns.clone(),
                status: rollout.status,
                level: rollout.level,
                current_version: Some(images.join(", ")).filter(|v| !v.is_empty()),
                versions: Vec::new(),
                details,
            });
            metas.insert(
                id,
                Workload {
                    kind: WorkloadKind::StatefulSet,
                    pods: pod_list(&ns, WorkloadKind::StatefulSet, &name),
                    namespace: ns,
                    name,
                    replicas: counts.desired,
                    revision: None,
                    paused: false,
                    rollback: workloads::stateful_set_previous(s, &revisions).map(|(rev, cr, patch)| RollbackTarget {
                        revision: rev,
                        replica_set: cr.metadata.name.clone().unwrap_or_default(),
                        images: workloads::revision_images(&patch),
                        same_template: workloads::revision_matches(&patch, s),
                        patch,
                    }),
                    containers: workloads::containers(s.spec.as_ref().map(|s| &s.template)),
                },
            );
        }
        for p in &pods {
            let (ns, name) = (ns_of(&p.metadata), p.metadata.name.clone().unwrap_or_default());
            let id = id_of(&context, &ns, WorkloadKind::Pod, &name);
            let state = workloads::pod_state(p);
            let images: Vec<String> = p
                .spec
                .as_ref()
                .map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect())
                .unwrap_or_default();
            let mut details = vec![
                ("context".to_string(), context.clone()),
                ("namespace".to_string(), ns.clone()),
                ("phase".to_string(), p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()),
                ("ready".to_string(), format!("{}/{}", state.ready, state.containers)),
                ("restarts".to_string(), state.restarts.to_string()),
                ("images".to_string(), images.join(", ")),
            ];
            if let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
                details.push(("node".into(), node));
            }
            if let Some((k, owner)) = workloads::controller_of(&p.metadata) {
                details.push(("owner".into(), format!("{k}/{owner}")));
            }
            let owner =
                workload_of_pod.get(&(ns.clone(), name.clone())).map(|(kind, w)| (ns.clone(), *kind, w.clone()));
            let environment = owner
                .and_then(|o| env_of_workload.get(&o).cloned())
                .unwrap_or_else(|| self.env_of(&ns, &name, p.metadata.labels.as_ref()));
            let status = if state.restarts > 0 {
                format!("{} ({} restarts)", state.status, state.restarts)
            } else {
                state.status.clone()
            };
            snap.resources.push(Resource {
                id: id.clone(),
                name: name.clone(),
                kind: kind::POD.into(),
                role: Role::Compute,
                provider: crate::providers::kubernetes::PROVIDER,
                environment,
                region: ns.clone(),
                status,
                level: state.level,
                current_version: Some(images.join(", ")).filter(|v| !v.is_empty()),
                versions: Vec::new(),
                details,
            });
            metas.insert(
                id,
                Workload {
                    kind: WorkloadKind::Pod,
                    pods: vec![(name.clone(), containers(p))],
                    namespace: ns,
                    name,
                    replicas: 1,
                    revision: None,
                    paused: false,
                    rollback: None,
                    containers: Vec::new(),
                },
            );
        }
        self.meta().workloads = metas;

        // Warnings of the last hour on the object itself, and on a workload from its pods and
        // ReplicaSets too (a crash-looping pod or a failed create shows on its Deployment).
        let now = chrono::Utc::now();
        let recent = workloads::warnings(&events, now - chrono::Duration::hours(1));
        let mut warnings_of: HashMap<String, Vec<&workloads::Warning>> = HashMap::new();
        for w in &recent {
            let ns = w.namespace.clone();
            let own = match w.kind.as_str() {
                "Deployment" => Some(WorkloadKind::Deployment),
                "StatefulSet" => Some(WorkloadKind::StatefulSet),
                "Pod" => Some(WorkloadKind::Pod),
                _ => None,
            };
            if let Some(kind) = own {
                warnings_of.entry(id_of(&context, &ns, kind, &w.name)).or_default().push(w);
            }
            let owner = match w.kind.as_str() {
                "ReplicaSet" => {
                    rs_owner.get(&(ns.clone(), w.name.clone())).map(|d| (WorkloadKind::Deployment, d.clone()))
                }
                "Pod" => workload_of_pod.get(&(ns.clone(), w.name.clone())).cloned(),
                _ => None,
            };
            if let Some((kind, name)) = owner {
                warnings_of.entry(id_of(&context, &ns, kind, &name)).or_default().push(w);
            }
        }
        for r in &mut snap.resources {
            if let Some(list) = warnings_of.get(&r.id) {
                r.details.push(("events".into(), workloads::warnings_text(list, now)));
            }
        }

        // CPU and memory of each workload from metrics-server, against the thresholds.
        let measured: HashMap<(&str, &str), &metrics::PodMetrics> =
            pod_metrics.iter().map(|m| ((m.metadata.namespace.as_str(), m.metadata.name.as_str()), m)).collect();
        let at: HashMap<String, usize> = snap.resources.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        for ((ns, kind, name), list) in &pods_of {
            let Some(&i) = at.get(&id_of(&context, ns, *kind, name)) else { continue };
            let r = &mut snap.resources[i];
            for (resource, metric) in [("cpu", MetricKind::Cpu), ("memory", MetricKind::Memory)] {
                let Some(u) = metrics::usage(list, &measured, resource) else { continue };
                r.details.push((resource.into(), metrics::usage_text(&u, resource)));
                snap.metrics.push(Metric {
                    environment: r.environment.clone(),
                    resource: r.name.clone(),
                    kind: metric,
                    value: u.percent,
                    level: self.config.thresholds_for(&r.environment).level(metric, u.percent),
                    history: Vec::new(),
                });
            }
        }

        let mut envs: Vec<String> = snap.resources.iter().map(|r| r.environment.clone()).collect();
        envs.sort();
        envs.dedup();
        snap.environments = envs
            .into_iter()
            .map(|name| Environment { tier: self.config.tier_of(&name), name, protection_rules: Vec::new() })
            .collect();
        let scope = if self.namespaces.is_empty() { "all namespaces".to_string() } else { self.namespaces.join(", ") };
        snap.source_note = Some(if missing.is_empty() {
            format!("context {} · {scope}", self.context)
        } else {
            format!("context {} · {scope} · {}", self.context, missing.join("; "))
        });
        Ok(snap)
    }

    async fn workload_logs(&self, target: &str) -> Result<Vec<LogLine>, ProviderError> {
        let w =
            self.meta().workloads.get(target).cloned().ok_or_else(|| {
                ProviderError::Unavailable(format!("{target} is not a workload or pod of {}", self.name))
            })?;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &w.namespace);
        let mut reads = Vec::new();
        for (pod, containers) in &w.pods {
            for c in containers {
                let prefix = if containers.len() > 1 { format!("{pod}/{c}") } else { pod.clone() };
                reads.push((pod.clone(), c.clone(), prefix));
            }
        }
        let tail = self.tail_lines;
        let results: Vec<_> = futures::stream::iter(reads)
            .map(|(pod, container, prefix)| {
                let api = api.clone();
                async move {
                    let params = LogParams {
                        container: Some(container),
                        timestamps: true,
                        tail_lines: Some(tail),
                        ..LogParams::default()
                    };
                    (
                        prefix,
                        api.logs(&pod, &params)
                            .await
                            .map_err(|e| from_kube(e, &format!("logs of {pod}"), &self.context)),
                    )
                }
            })
            .buffered(4)
            .collect()
            .await;
        let mut per_pod = Vec::new();
        let mut first_error = None;
        for (prefix, r) in results {
            match r {
                Ok(text) => per_pod.push(logs::parse(&text, &w.name, &prefix)),
                Err(e) => {
                    tracing::warn!("{e}");
                    first_error.get_or_insert(e);
                }
            }
        }
        if per_pod.is_empty()
            && let Some(e) = first_error
        {
            return Err(e);
        }
        Ok(logs::merge(per_pod))
    }

    // ---- actions -------------------------------------------------------------------------

    fn plan_start(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<(Plan, Workload), ActionError> {
        let (mut plan, target) = Plan::for_target(request, &self.name, snapshot)?;
        let w = self
            .meta()
            .workloads
            .get(&plan.request.target)
            .cloned()
            .ok_or_else(|| not_applicable(request.verb, &target.name, "it is not a Kubernetes workload"))?;
        if w.kind == WorkloadKind::Pod {
            return Err(not_applicable(
                request.verb,
                &target.name,
                "it is a pod: act on its Deployment or StatefulSet (a pod is replaced, not changed)",
            ));
        }
        plan.risk = if plan.tier == Tier::Prod { Risk::High } else { Risk::Low };
        Ok((plan, w))
    }

    fn patch_call(&self, kind: WorkloadKind, w: &Workload, sub: &str, content_type: &str, body: &Value) -> String {
        format!(
            "PATCH {}{}{sub}?fieldManager={FIELD_MANAGER} ({content_type}) {body}",
            self.server,
            kind.api_path(&w.namespace, &w.name)
        )
    }

    fn verification_text(&self, w: &Workload, extra: &str) -> String {
        format!(
            "GET {}{} every {}s (at most {} min): {extra}observedGeneration >= generation and updated == available == desired",
            self.server,
            w.kind.api_path(&w.namespace, &w.name),
            self.timing.poll_interval.as_secs(),
            self.timing.rollout_timeout.as_secs() / 60
        )
    }

    fn plan_restart(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, w) = self.plan_start(request, snapshot)?;
        // kubectl writes time.Now() as RFC 3339 (seconds); skydeck writes it in UTC.
        let restarted_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let body =
            json!({"spec": {"template": {"metadata": {"annotations": {workloads::RESTARTED_AT: restarted_at}}}}});
        plan.summary = format!(
            "rollout restart of {} {} ({}, {}): every pod is replaced by a new one, {} at a time as its update strategy allows",
            w.kind.plural().trim_end_matches('s'),
            w.name,
            w.namespace,
            self.context,
            if w.kind == WorkloadKind::StatefulSet { "one" } else { "a few" }
        );
        plan.calls.push(PlannedCall {
            description: format!("set {} on the pod template", workloads::RESTARTED_AT),
            call: self.patch_call(w.kind, &w, "", "application/strategic-merge-patch+json", &body),
        });
        plan.verification =
            self.verification_text(&w, &format!("the template has {}={restarted_at}; ", workloads::RESTARTED_AT));
        plan.request.params.insert("restarted_at".into(), restarted_at.clone());
        plan.set_payload(KubeCall::Restart { kind: w.kind, namespace: w.namespace, name: w.name, restarted_at, body });
        Ok(plan)
    }

    fn plan_scale(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, w) = self.plan_start(request, snapshot)?;
        let count = request.params.get("count").ok_or_else(|| ActionError::MissingInput("count (--count N)".into()))?;
        let replicas: i32 = count.trim().parse().ok().filter(|n| (0..=1000).contains(n)).ok_or_else(|| {
            ActionError::InvalidInput(format!("count '{count}' must be a whole number from 0 to 1000"))
        })?;
        if replicas == 0 && plan.tier == Tier::Prod {
            plan.risk = Risk::Critical;
        }
        let body = json!({"spec": {"replicas": replicas}});
        plan.summary = format!(
            "scale {} {} ({}, {}) from {} to {replicas} replicas",
            w.kind.plural().trim_end_matches('s'),
            w.name,
            w.namespace,
            self.context,
            w.replicas
        );
        plan.calls.push(PlannedCall {
            description: format!("set spec.replicas to {replicas} on the scale subresource"),
            call: self.patch_call(w.kind, &w, "/scale", "application/merge-patch+json", &body),
        });
        plan.verification = self.verification_text(&w, &format!("spec.replicas is {replicas}; "));
        plan.request.params.insert("count".into(), replicas.to_string());
        plan.set_payload(KubeCall::Scale { kind: w.kind, namespace: w.namespace, name: w.name, replicas, body });
        Ok(plan)
    }

    fn plan_rollback(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, w) = self.plan_start(request, snapshot)?;
        let what = plan.target_name.clone();
        let set = w.kind == WorkloadKind::StatefulSet;
        if w.paused {
            return Err(not_applicable(
                Verb::Rollback,
                &what,
                "the Deployment is paused: resume it first (kubectl refuses too)",
            ));
        }
        let target = w.rollback.clone().ok_or_else(|| {
            let history = if set { "no older ControllerRevision" } else { "no older ReplicaSet" };
            not_applicable(Verb::Rollback, &what, format!("it has no previous revision ({history})"))
        })?;
        if let Some(to) = request.params.get("to")
            && to.trim().trim_start_matches("rev").trim() != target.revision.to_string()
        {
            return Err(ActionError::InvalidInput(format!(
                "--to {to}: only the previous revision ({}) can be rolled back to",
                target.revision
            )));
        }
        if target.same_template {
            return Err(not_applicable(
                Verb::Rollback,
                &what,
                format!("the current template already matches revision {}", target.revision),
            ));
        }
        let (from, history, change, content_type) = if set {
            (
                String::new(),
                format!("ControllerRevision {}", target.replica_set),
                format!("patch the template with ControllerRevision {}'s data", target.replica_set),
                "application/strategic-merge-patch+json",
            )
        } else {
            (
                format!(" from revision {}", w.revision.map_or_else(|| "?".into(), |r| r.to_string())),
                format!("ReplicaSet {}", target.replica_set),
                format!("replace the template and annotations with ReplicaSet {}'s", target.replica_set),
                "application/json-patch+json",
            )
        };
        let order = if set { ", one at a time from the highest ordinal" } else { "" };
        plan.summary = format!(
            "roll back {} {} ({}, {}){from} to revision {} ({}, {history}): its pods are replaced by that revision's{order}",
            w.kind.plural().trim_end_matches('s'),
            w.name,
            w.namespace,
            self.context,
            target.revision,
            target.images.join(", "),
        );
        plan.calls.push(PlannedCall {
            description: change,
            call: self.patch_call(w.kind, &w, "", content_type, &target.patch),
        });
        plan.verification =
            self.verification_text(&w, &format!("the template's images are {}; ", target.images.join(", ")));
        plan.request.params.insert("to".into(), target.revision.to_string());
        plan.set_payload(KubeCall::Rollback {
            kind: w.kind,
            namespace: w.namespace,
            name: w.name,
            revision: target.revision,
            images: target.images,
            patch: target.patch,
        });
        Ok(plan)
    }

    /// `promote --to TAG|IMAGE`: `kubectl set image` on the workload's containers. Without
    /// `--to`, the images the same-named workload runs in the nearest lower environment (what
    /// was tested there goes up).
    fn plan_promote(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        let (mut plan, w) = self.plan_start(request, snapshot)?;
        let what = plan.target_name.clone();
        if w.paused {
            return Err(not_applicable(
                Verb::Promote,
                &what,
                "the Deployment is paused: a new image would not roll out until it is resumed",
            ));
        }
        let to = request.params.get("to").map(|t| t.trim()).filter(|t| !t.is_empty());
        let (changes, from) = if let Some(to) = to {
            (workloads::images_to_set(&w.containers, to).map_err(ActionError::InvalidInput)?, None)
        } else {
            let (source, environment) = self.promotion_source(&w, &plan, snapshot).ok_or_else(|| {
                ActionError::MissingInput(format!(
                    "to (--to TAG or --to IMAGE:TAG): no {} named {} runs in a lower environment to promote from",
                    w.kind.plural().trim_end_matches('s'),
                    w.name
                ))
            })?;
            let changes: Vec<(String, String)> = source
                .containers
                .iter()
                .filter(|(name, image)| w.containers.iter().any(|(n, i)| n == name && i != image))
                .cloned()
                .collect();
            (changes, Some(format!("{environment}'s {} ({})", source.name, source.namespace)))
        };
        if changes.is_empty() {
            let now: Vec<&str> = w.containers.iter().map(|(_, i)| i.as_str()).collect();
            return Err(not_applicable(Verb::Promote, &what, format!("it already runs {}", now.join(", "))));
        }
        let images: Vec<String> = w
            .containers
            .iter()
            .map(|(name, image)| changes.iter().find(|(n, _)| n == name).map_or(image, |(_, new)| new).clone())
            .collect();
        let body = json!({"spec": {"template": {"spec": {"containers":
            changes.iter().map(|(name, image)| json!({"name": name, "image": image})).collect::<Vec<_>>()}}}});
        let change_text: Vec<String> = changes
            .iter()
            .map(|(name, new)| {
                let old = w.containers.iter().find(|(n, _)| n == name).map_or("?", |(_, i)| i.as_str());
                format!("{name}: {old} -> {new}")
            })
            .collect();
        plan.summary = format!(
            "promote {} {} ({}, {}){}: {}; its pods are replaced by the new image's as its update strategy allows",
            w.kind.plural().trim_end_matches('s'),
            w.name,
            w.namespace,
            self.context,
            from.map(|f| format!(" to what {f} runs")).unwrap_or_default(),
            change_text.join(", ")
        );
        plan.calls.push(PlannedCall {
            description: format!("set the image of {} (kubectl set image)", change_text.join(", ")),
            call: self.patch_call(w.kind, &w, "", "application/strategic-merge-patch+json", &body),
        });
        plan.verification = self.verification_text(&w, &format!("the template's images are {}; ", images.join(", ")));
        plan.request.params.insert("to".into(), changes.iter().map(|(_, i)| i.as_str()).collect::<Vec<_>>().join(","));
        plan.set_payload(KubeCall::SetImage { kind: w.kind, namespace: w.namespace, name: w.name, images, body });
        Ok(plan)
    }

    /// The same kind and name in another namespace of a lower tier, the nearest tier first.
    fn promotion_source(&self, w: &Workload, plan: &Plan, snapshot: &Snapshot) -> Option<(Workload, String)> {
        let meta = self.meta();
        let mut candidates: Vec<(Tier, Workload, String)> = meta
            .workloads
            .iter()
            .filter(|(_, o)| o.kind == w.kind && o.name == w.name && o.namespace != w.namespace)
            .filter_map(|(id, o)| {
                let environment = snapshot.resources.iter().find(|r| &r.id == id)?.environment.clone();
                let tier = crate::actions::tier_of(snapshot, &environment);
                (tier < plan.tier).then(|| (tier, o.clone(), environment))
            })
            .collect();
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.namespace.cmp(&b.1.namespace)));
        candidates.into_iter().next().map(|(_, o, environment)| (o, environment))
    }

    /// Patches a Deployment or a `StatefulSet` (its `/scale` subresource with `scale`); kube's
    /// typed `Api` picks the path.
    async fn patch_workload(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
        patch: &Patch<&Value>,
        scale: bool,
    ) -> Result<(), kube::Error> {
        async fn on<K>(api: Api<K>, name: &str, patch: &Patch<&Value>, scale: bool) -> Result<(), kube::Error>
        where
            K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
        {
            let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
            if scale {
                api.patch_scale(name, &params, patch).await.map(drop)
            } else {
                api.patch(name, &params, patch).await.map(drop)
            }
        }
        if kind == WorkloadKind::StatefulSet {
            on(Api::<StatefulSet>::namespaced(self.client.clone(), namespace), name, patch, scale).await
        } else {
            on(Api::<Deployment>::namespaced(self.client.clone(), namespace), name, patch, scale).await
        }
    }

    async fn execute_call(&self, plan: &Plan) -> Result<String, ActionError> {
        let call = plan.payload::<KubeCall>()?.clone();
        let failed = |e: kube::Error| ActionError::Failed(from_kube(e, "patch", &self.context).to_string());
        match call {
            KubeCall::SetImage { kind, namespace, name, images, body } => {
                self.patch_workload(kind, &namespace, &name, &Patch::Strategic(&body), false).await.map_err(failed)?;
                Ok(format!("{name} now runs {}", images.join(", ")))
            }
            KubeCall::Restart { kind, namespace, name, restarted_at, body } => {
                self.patch_workload(kind, &namespace, &name, &Patch::Strategic(&body), false).await.map_err(failed)?;
                Ok(format!("{name} restarted at {restarted_at}"))
            }
            KubeCall::Scale { kind, namespace, name, replicas, body } => {
                self.patch_workload(kind, &namespace, &name, &Patch::Merge(&body), true).await.map_err(failed)?;
                Ok(format!("{name} scaled to {replicas}"))
            }
            KubeCall::Rollback { kind: kind @ WorkloadKind::StatefulSet, namespace, name, revision, patch, .. } => {
                self.patch_workload(kind, &namespace, &name, &Patch::Strategic(&patch), false).await.map_err(failed)?;
                Ok(format!("{name} rolled back to revision {revision}"))
            }
            KubeCall::Rollback { namespace, name, revision, patch, .. } => {
                // kube's `Patch::Json` needs the json-patch crate; the body is already JSON.
                let uri =
                    format!("{}?fieldManager={FIELD_MANAGER}", WorkloadKind::Deployment.api_path(&namespace, &name));
                let body = serde_json::to_vec(&patch).map_err(|e| ActionError::Failed(e.to_string()))?;
                let request = http::Request::patch(uri)
                    .header(http::header::CONTENT_TYPE, "application/json-patch+json")
                    .header(http::header::ACCEPT, "application/json")
                    .body(body)
                    .map_err(|e| ActionError::Failed(e.to_string()))?;
                self.client.request::<Deployment>(request).await.map_err(failed)?;
                Ok(format!("{name} rolled back to revision {revision}"))
            }
        }
    }

    /// Re-reads the workload until its rollout settles (or fails, or the wait runs out).
    async fn verify_call(&self, plan: &Plan) -> Result<String, ActionError> {
        let call = plan.payload::<KubeCall>()?.clone();
        let started = Instant::now();
        loop {
            let (kind, namespace, name) = match &call {
                KubeCall::Restart { kind, namespace, name, .. }
                | KubeCall::Scale { kind, namespace, name, .. }
                | KubeCall::Rollback { kind, namespace, name, .. }
                | KubeCall::SetImage { kind, namespace, name, .. } => (*kind, namespace.clone(), name.clone()),
            };
            let verify_failed =
                |e: kube::Error| ActionError::VerifyFailed(from_kube(e, "get", &self.context).to_string());
            let (rollout, counts, template, spec_replicas) = if kind == WorkloadKind::StatefulSet {
                let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &namespace);
                let s = api.get(&name).await.map_err(verify_failed)?;
                let spec = s.spec.as_ref();
                (
                    workloads::stateful_set_rollout(&s),
                    workloads::stateful_set_counts(&s),
                    spec.map(|s| s.template.clone()),
                    spec.and_then(|s| s.replicas),
                )
            } else {
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), &namespace);
                let d = api.get(&name).await.map_err(verify_failed)?;
                let spec = d.spec.as_ref();
                (
                    workloads::deployment_rollout(&d),
                    workloads::deployment_counts(&d),
                    spec.map(|s| s.template.clone()),
                    spec.and_then(|s| s.replicas),
                )
            };
            let applied = match &call {
                KubeCall::Restart { restarted_at, .. } => template
                    .as_ref()
                    .and_then(|t| t.metadata.as_ref()?.annotations.as_ref()?.get(workloads::RESTARTED_AT).cloned())
                    .is_some_and(|v| &v == restarted_at),
                KubeCall::Scale { replicas, .. } => spec_replicas == Some(*replicas),
                KubeCall::Rollback { images, .. } | KubeCall::SetImage { images, .. } => {
                    &workloads::images(template.as_ref()) == images
                }
            };
            if !applied && counts.observed >= counts.generation {
                return Err(ActionError::VerifyFailed(format!(
                    "{name}: the change is not in the spec any more (changed by someone else?); {}",
                    counts.text()
                )));
            }
            if applied && counts.settled() && rollout.complete {
                return Ok(format!("{name}: rolled out, {}", rollout.status));
            }
            if rollout.status.starts_with("rollout stuck") {
                return Err(ActionError::VerifyFailed(format!("{name}: {}", rollout.status)));
            }
            if started.elapsed() >= self.timing.rollout_timeout {
                return Err(ActionError::VerifyFailed(format!(
                    "{name}: not rolled out after {}s: {} ({})",
                    self.timing.rollout_timeout.as_secs(),
                    rollout.status,
                    counts.text()
                )));
            }
            tokio::time::sleep(self.timing.poll_interval).await;
        }
    }
}

impl Source for KubeProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
        Box::pin(self.read())
    }

    /// A workload's (or a pod's) log: every container of every pod, `timestamps=true`, merged
    /// by time, each line prefixed with its pod.
    fn fetch_log<'a>(&'a self, target: &'a str) -> BoxFuture<'a, Result<Vec<LogLine>, ProviderError>> {
        Box::pin(self.workload_logs(target))
    }

    fn changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.watch_changes())
    }

    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            run_control: Some(self),
            traffic_shift: Some(self),
            scale: Some(self),
            refusals: &[
                (Verb::Restore, "Kubernetes workloads keep no point-in-time backups here"),
                (Verb::Snapshot, "Kubernetes workloads keep no backups here"),
            ],
            ..Capabilities::NONE
        }
    }
}

/// `rerun` = `kubectl rollout restart`; the other run verbs are CI's.
impl RunControl for KubeProvider {
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        match request.verb {
            Verb::Rerun => self.plan_restart(request, snapshot),
            verb => {
                let (plan, _) = Plan::for_target(request, &self.name, snapshot)?;
                Err(not_applicable(
                    verb,
                    &plan.target_name,
                    format!("'{verb}' is for CI runs; on a Kubernetes workload 'rerun' is a rollout restart"),
                ))
            }
        }
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_call(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_call(plan))
    }
}

/// `rollback` = `kubectl rollout undo` to the previous revision; `promote` = `kubectl set image`.
impl TrafficShift for KubeProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["to"]
    }
    /// Promote asks for the new image (the TUI's form), saying what runs now.
    fn action_inputs<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
        let running = self
            .meta()
            .workloads
            .get(&request.target)
            .filter(|w| w.kind != WorkloadKind::Pod && request.verb == Verb::Promote)
            .map(|w| w.containers.iter().map(|(_, image)| image.as_str()).collect::<Vec<_>>().join(", "));
        Box::pin(async move {
            Ok(running
                .map(|now| InputSpec {
                    name: "to".into(),
                    description: format!(
                        "runs {now}; a tag (1.17.0), digest (sha256:...) or image (nginx:1.17.0); empty: what the lower environment runs"
                    ),
                    required: false,
                    default: None,
                    options: Vec::new(),
                    kind: "string".into(),
                })
                .into_iter()
                .collect())
        })
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        match request.verb {
            Verb::Rollback => self.plan_rollback(request, snapshot),
            Verb::Promote => self.plan_promote(request, snapshot),
            verb => {
                let (plan, _) = Plan::for_target(request, &self.name, snapshot)?;
                Err(not_applicable(verb, &plan.target_name, "it is not a traffic verb"))
            }
        }
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_call(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_call(plan))
    }
}

impl Scale for KubeProvider {
    fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
        &["count"]
    }
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
        self.plan_scale(request, snapshot)
    }
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.execute_call(plan))
    }
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
        Box::pin(self.verify_call(plan))
    }
}
