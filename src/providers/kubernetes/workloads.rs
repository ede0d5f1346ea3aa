//! Deployments, `StatefulSets`, `ReplicaSets` and Pods as the API sends them -> rollout state,
//! images, ready/desired, restarts. Pure functions of the typed objects (k8s-openapi).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod, PodTemplateSpec};
use serde_json::Value;

use crate::model::Level;

/// The annotation the Deployment controller numbers its `ReplicaSets` (and the Deployment) with.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// The label the Deployment controller adds to a `ReplicaSet`'s template (dropped on roll back).
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Deployment annotations `kubectl rollout undo` keeps from the Deployment rather than copying
/// from the `ReplicaSet` (kubectl's `annotationsToSkip`).
pub const ANNOTATIONS_TO_SKIP: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// Where a rollout stands, in the words of `kubectl rollout status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub status: String,
    pub level: Level,
    /// Nothing left to do: observed, updated, available.
    pub complete: bool,
}

/// The counts a rollout is judged by (Deployments and `StatefulSets` alike).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub generation: i64,
    pub observed: i64,
    pub desired: i32,
    /// Pods that exist (old and new).
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
}

impl Counts {
    /// observedGeneration >= generation and updated == available == desired, no old pods left.
    pub fn settled(&self) -> bool {
        self.observed >= self.generation
            && self.updated == self.desired
            && self.available == self.desired
            && self.current <= self.desired
    }

    pub fn text(&self) -> String {
        format!(
            "generation {} observed {}, {} desired, {} updated, {} ready, {} available",
            self.generation, self.observed, self.desired, self.updated, self.ready, self.available
        )
    }
}

pub fn deployment_counts(d: &Deployment) -> Counts {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    Counts {
        generation: d.metadata.generation.unwrap_or(0),
        observed: status.and_then(|s| s.observed_generation).unwrap_or(0),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        current: status.and_then(|s| s.replicas).unwrap_or(0),
        updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
    }
}

pub fn stateful_set_counts(s: &StatefulSet) -> Counts {
    let spec = s.spec.as_ref();
    let status = s.status.as_ref();
    Counts {
        generation: s.metadata.generation.unwrap_or(0),
        observed: status.and_then(|s| s.observed_generation).unwrap_or(0),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        current: status.map_or(0, |s| s.replicas),
        updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
    }
}

/// `kubectl rollout status deployment/x`, as a state: the spec change not yet observed, a
/// progress deadline exceeded, new replicas being rolled out, old ones terminating, or done.
pub fn deployment_rollout(d: &Deployment) -> Rollout {
    let c = deployment_counts(d);
    let conditions = d.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let condition = |t: &str| conditions.iter().find(|c| c.type_ == t);
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if c.observed < c.generation {
        return Rollout {
            status: "rollout pending (spec change not yet observed)".into(),
            level: Level::Warn,
            complete: false,
        };
    }
    if let Some(p) = condition("Progressing")
        && p.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return Rollout {
            status: format!("rollout stuck: progress deadline exceeded ({}/{} updated)", c.updated, c.desired),
            level: Level::Crit,
            complete: false,
        };
    }
    let unavailable = condition("Available").is_some_and(|a| a.status == "False");
    let paused_note = if paused { " (paused)" } else { "" };
    if c.updated < c.desired {
        return Rollout {
            status: format!(
                "rolling out{paused_note}: {} of {} updated, {} available",
                c.updated, c.desired, c.available
            ),
            level: if unavailable { Level::Crit } else { Level::Warn },
            complete: false,
        };
    }
    if c.current > c.updated {
        return Rollout {
            status: format!("rolling out: {} old replicas terminating", c.current - c.updated),
            level: Level::Warn,
            complete: false,
        };
    }
    if c.available < c.updated {
        return Rollout {
            status: format!("rolling out: {} of {} updated available", c.available, c.updated),
            level: if unavailable || c.available == 0 { Level::Crit } else { Level::Warn },
            complete: false,
        };
    }
    if c.desired == 0 {
        return Rollout { status: "scaled to zero".into(), level: Level::Ok, complete: true };
    }
    Rollout {
        status: format!("available {}/{}{paused_note}", c.available, c.desired),
        level: Level::Ok,
        complete: true,
    }
}

/// `kubectl rollout status statefulset/x`: observed, all ready, every pod at the update revision.
pub fn stateful_set_rollout(s: &StatefulSet) -> Rollout {
    let c = stateful_set_counts(s);
    let status = s.status.as_ref();
    if c.observed < c.generation {
        return Rollout {
            status: "rollout pending (spec change not yet observed)".into(),
            level: Level::Warn,
            complete: false,
        };
    }
    if c.ready < c.desired {
        return Rollout {
            status: format!("{} of {} ready", c.ready, c.desired),
            level: if c.ready == 0 && c.desired > 0 { Level::Crit } else { Level::Warn },
            complete: false,
        };
    }
    let update = status.and_then(|s| s.update_revision.as_deref());
    let current = status.and_then(|s| s.current_revision.as_deref());
    if update.is_some() && update != current {
        return Rollout {
            status: format!("rolling out: {} of {} at {}", c.updated, c.desired, update.unwrap_or_default()),
            level: Level::Warn,
            complete: false,
        };
    }
    if c.desired == 0 {
        return Rollout { status: "scaled to zero".into(), level: Level::Ok, complete: true };
    }
    Rollout { status: format!("ready {}/{}", c.ready, c.desired), level: Level::Ok, complete: true }
}

/// The images of a pod template's containers, in order.
pub fn images(template: Option<&PodTemplateSpec>) -> Vec<String> {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect())
        .unwrap_or_default()
}

/// A pod template's containers and their images, in order.
pub fn containers(template: Option<&PodTemplateSpec>) -> Vec<(String, String)> {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.iter().map(|c| (c.name.clone(), c.image.clone().unwrap_or_default())).collect())
        .unwrap_or_default()
}

/// An image reference without its tag or digest: `registry:5000/team/app:1.2@sha256:..` ->
/// `registry:5000/team/app` (a colon before the last slash is a registry's port).
pub fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(colon) => &image[..slash + colon],
        None => image,
    }
}

/// What `promote --to` changes, as `(container, new image)`: `to` is a tag (`1.17.0`), a digest
/// (`sha256:...`) or an image (`nginx:1.17.0`, `registry/app@sha256:...`). A tag or digest
/// goes to the one container, or to every container when they all run one repository; an image
/// goes to the containers that run its repository. Containers already on it are left out.
pub fn images_to_set(containers: &[(String, String)], to: &str) -> Result<Vec<(String, String)>, String> {
    let valid = !to.is_empty()
        && to.len() <= 512
        && to.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '@'));
    if !valid {
        return Err(format!(
            "--to '{}': not an image tag or reference (letters, digits, . _ - : / @)",
            crate::text::for_terminal(to)
        ));
    }
    if containers.is_empty() {
        return Err("the workload's pod template has no containers".into());
    }
    let digest = to.starts_with("sha256:");
    let is_reference = !digest && (to.contains('/') || to.contains(':') || to.contains('@'));
    let listed = || containers.iter().map(|(n, i)| format!("{n}: {i}")).collect::<Vec<_>>().join(", ");
    let changes: Vec<(String, String)> = if is_reference {
        let wanted = repository(to);
        let matching: Vec<_> = containers.iter().filter(|(_, image)| repository(image) == wanted).collect();
        if matching.is_empty() {
            return Err(format!("--to {to}: no container runs {wanted} ({})", listed()));
        }
        matching.into_iter().map(|(name, _)| (name.clone(), to.to_string())).collect()
    } else {
        let first = repository(&containers[0].1);
        if containers.iter().any(|(_, image)| repository(image) != first) {
            return Err(format!(
                "--to {to}: the containers run different images ({}); name one: --to IMAGE:TAG",
                listed()
            ));
        }
        let joiner = if digest { "@" } else { ":" };
        containers.iter().map(|(name, image)| (name.clone(), format!("{}{joiner}{to}", repository(image)))).collect()
    };
    Ok(changes.into_iter().filter(|(name, new)| containers.iter().any(|(n, i)| n == name && i != new)).collect())
}

/// A `Warning` event (`kubectl get events --field-selector type=Warning`), about one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub namespace: String,
    /// The object it is about (`involvedObject`): `Pod`, `ReplicaSet`, `Deployment`, ...
    pub kind: String,
    pub name: String,
    pub reason: String,
    pub message: String,
    /// How often it happened (`series.count`, else `count`).
    pub count: i32,
    pub at: chrono::DateTime<chrono::Utc>,
}

fn to_chrono(t: &k8s_openapi::jiff::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.as_second(), u32::try_from(t.subsec_nanosecond()).unwrap_or(0))
}

/// The `Warning` events last seen at or after `since`, newest first. When an event was last
/// seen: its series' last observation, else `lastTimestamp`, `eventTime`, `firstTimestamp`,
/// then its creation (the API fills different ones depending on who reported it).
pub fn warnings(events: &[Event], since: chrono::DateTime<chrono::Utc>) -> Vec<Warning> {
    let mut out: Vec<Warning> = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .filter_map(|e| {
            let at = e
                .series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| &t.0)
                .or(e.last_timestamp.as_ref().map(|t| &t.0))
                .or(e.event_time.as_ref().map(|t| &t.0))
                .or(e.first_timestamp.as_ref().map(|t| &t.0))
                .or(e.metadata.creation_timestamp.as_ref().map(|t| &t.0))
                .and_then(to_chrono)?;
            let o = &e.involved_object;
            Some(Warning {
                namespace: o.namespace.clone().or_else(|| e.metadata.namespace.clone()).unwrap_or_default(),
                kind: o.kind.clone().unwrap_or_default(),
                name: o.name.clone().unwrap_or_default(),
                reason: e.reason.clone().unwrap_or_default(),
                message: e.message.clone().unwrap_or_default().trim().to_string(),
                count: e.series.as_ref().and_then(|s| s.count).or(e.count).unwrap_or(1).max(1),
                at,
            })
        })
        .filter(|w| w.at >= since)
        .collect();
    out.sort_by_key(|w| std::cmp::Reverse(w.at));
    out
}

/// One line for a workload's warnings, newest first: how many, and the latest in full.
pub fn warnings_text(list: &[&Warning], now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(latest) = list.first() else { return String::new() };
    let times = if latest.count > 1 { format!(" ×{}", latest.count) } else { String::new() };
    let ago = crate::model::human_duration((now - latest.at).max(chrono::Duration::zero()));
    format!(
        "{} warning{} in the last hour; latest {ago} ago: {} on {}/{}{times}: {}",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        latest.reason,
        latest.kind.to_lowercase(),
        latest.name,
        latest.message
    )
}

pub fn revision_of(annotations: Option<&BTreeMap<String, String>>) -> Option<i64> {
    annotations?.get(REVISION)?.trim().parse().ok()
}

/// A pod as the list shows it: phase, or the reason a container waits or died; restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct PodState {
    pub status: String,
    pub level: Level,
    pub restarts: i32,
    pub ready: usize,
    pub containers: usize,
}

pub fn pod_state(p: &Pod) -> PodState {
    let status = p.status.as_ref();
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into());
    let statuses = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    let restarts = statuses.iter().map(|c| c.restart_count).sum();
    let ready = statuses.iter().filter(|c| c.ready).count();
    let containers = p.spec.as_ref().map_or(statuses.len(), |s| s.containers.len());
    let waiting = statuses.iter().find_map(|c| {
        let state = c.state.as_ref()?;
        state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .or_else(|| state.terminated.as_ref().and_then(|t| t.reason.clone()).filter(|r| r != "Completed"))
    });
    let deleting = p.metadata.deletion_timestamp.is_some();
    let (text, level) = match (phase.as_str(), waiting) {
        (_, _) if deleting => ("Terminating".to_string(), Level::Warn),
        ("Succeeded", _) => ("Succeeded".to_string(), Level::Ok),
        ("Failed", reason) => (reason.map_or_else(|| "Failed".to_string(), |r| format!("Failed: {r}")), Level::Crit),
        (_, Some(reason)) => {
            let bad = matches!(
                reason.as_str(),
                "CrashLoopBackOff"
                    | "ImagePullBackOff"
                    | "ErrImagePull"
                    | "CreateContainerConfigError"
                    | "OOMKilled"
                    | "Error"
            );
            (reason, if bad { Level::Crit } else { Level::Warn })
        }
        ("Running", None) if ready < containers => (format!("Running, {ready}/{containers} ready"), Level::Warn),
        ("Running", None) => ("Running".to_string(), Level::Ok),
        ("Pending", None) => ("Pending".to_string(), Level::Warn),
        (other, None) => (other.to_string(), Level::Unknown),
    };
    PodState { status: text, level, restarts, ready, containers }
}

/// The workload that owns a pod: `("ReplicaSet", name)` or `("StatefulSet", name)`.
pub fn controller_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<(String, String)> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| (o.kind.clone(), o.name.clone()))
}

/// A `ReplicaSet`'s pod template as `kubectl rollout undo` writes it back: without the
/// `pod-template-hash` label.
pub fn template_for_rollback(rs: &ReplicaSet) -> Option<Value> {
    let template = rs.spec.as_ref()?.template.as_ref()?;
    let mut value = serde_json::to_value(template).ok()?;
    if let Some(labels) = value.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    Some(value)
}

/// The Deployment's annotations after a roll back to `rs` (kubectl's rule): those in
/// [`ANNOTATIONS_TO_SKIP`] from the Deployment, every other from the `ReplicaSet`.
pub fn rollback_annotations(deployment: &Deployment, rs: &ReplicaSet) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(own) = deployment.metadata.annotations.as_ref() {
        for k in ANNOTATIONS_TO_SKIP {
            if let Some(v) = own.get(k) {
                out.insert(k.to_string(), v.clone());
            }
        }
    }
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The two newest revisions among a Deployment's `ReplicaSets`, as kubectl picks them: the
/// newest is the current one, the one before it is what `rollout undo` goes back to.
pub fn previous_revision<'a>(sets: &[&'a ReplicaSet]) -> Option<(i64, &'a ReplicaSet)> {
    let mut numbered: Vec<(i64, &ReplicaSet)> =
        sets.iter().filter_map(|rs| Some((revision_of(rs.metadata.annotations.as_ref())?, *rs))).collect();
    numbered.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
    numbered.get(1).copied()
}

/// What `kubectl rollout undo statefulset` goes back to: the `ControllerRevision` the set
/// controls with the second-highest `revision`, and its data (a strategic merge patch of the
/// template, `"$patch": "replace"`), which kubectl sends as it is.
pub fn stateful_set_previous<'a>(
    set: &StatefulSet,
    revisions: &'a [ControllerRevision],
) -> Option<(i64, &'a ControllerRevision, Value)> {
    let (ns, name) = (set.metadata.namespace.as_deref(), set.metadata.name.as_deref()?);
    let mut own: Vec<&ControllerRevision> = revisions
        .iter()
        .filter(|r| r.metadata.namespace.as_deref() == ns)
        .filter(|r| controller_of(&r.metadata).is_some_and(|(kind, owner)| kind == "StatefulSet" && owner == name))
        .collect();
    own.sort_by_key(|r| std::cmp::Reverse(r.revision));
    let previous = own.get(1)?;
    Some((previous.revision, previous, previous.data.as_ref()?.0.clone()))
}

/// The images a `ControllerRevision`'s data sets.
pub fn revision_images(patch: &Value) -> Vec<String> {
    patch
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c["image"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The set's template already is the revision's (kubectl skips such a roll back).
pub fn revision_matches(patch: &Value, set: &StatefulSet) -> bool {
    let Some(mut wanted) = patch.pointer("/spec/template").cloned() else { return false };
    if let Some(o) = wanted.as_object_mut() {
        o.remove("$patch");
    }
    let current = set.spec.as_ref().and_then(|s| serde_json::to_value(&s.template).ok());
    current.as_ref() == Some(&wanted)
}

#[cfg(test)]
mod tests {

    #[test]
    fn promote_targets_the_containers_as_kubectl_set_image_would() {
        use super::{images_to_set, repository};
        assert_eq!(repository("registry:5000/team/app:1.2@sha256:abc"), "registry:5000/team/app");
        assert_eq!(repository("registry:5000/app"), "registry:5000/app");
        assert_eq!(repository("nginx"), "nginx");
        let one = [("nginx".to_string(), "nginx:1.16.1".to_string())];
        assert_eq!(images_to_set(&one, "1.17.0").unwrap(), [("nginx".to_string(), "nginx:1.17.0".to_string())]);
        assert_eq!(images_to_set(&one, "sha256:ab12").unwrap()[0].1, "nginx@sha256:ab12");
        assert!(images_to_set(&one, "1.16.1").unwrap().is_empty(), "already on it");
        let two = [
            ("app".to_string(), "acme/app:7".to_string()),
            ("proxy".to_string(), "envoyproxy/envoy:v1.30".to_string()),
        ];
        let err = images_to_set(&two, "8").unwrap_err();
        assert!(err.contains("different images") && err.contains("--to IMAGE:TAG"), "{err}");
        assert_eq!(images_to_set(&two, "acme/app:8").unwrap(), [("app".to_string(), "acme/app:8".to_string())]);
        let err = images_to_set(&two, "1.0\u{1b}[2J").unwrap_err();
        assert!(!err.contains('\u{1b}'), "{err}");
    }
    use super::*;
    use serde_json::json;

    fn deployment(v: Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rollout_states_follow_kubectl_rollout_status() {
        let base = |generation: i64, observed: i64, status: Value| {
            let mut s = json!({"observedGeneration": observed});
            s.as_object_mut().unwrap().extend(status.as_object().unwrap().clone());
            deployment(
                json!({"metadata": {"name": "web", "generation": generation}, "spec": {"replicas": 3, "selector": {}, "template": {}}, "status": s}),
            )
        };
        let r = deployment_rollout(&base(2, 1, json!({})));
        assert_eq!((r.level, r.complete), (Level::Warn, false));
        assert!(r.status.starts_with("rollout pending"));
        let r = deployment_rollout(&base(2, 2, json!({"replicas": 4, "updatedReplicas": 1, "availableReplicas": 3})));
        assert_eq!(r.status, "rolling out: 1 of 3 updated, 3 available");
        let r = deployment_rollout(&base(2, 2, json!({"replicas": 4, "updatedReplicas": 3, "availableReplicas": 3})));
        assert_eq!(r.status, "rolling out: 1 old replicas terminating");
        let r = deployment_rollout(&base(
            2,
            2,
            json!({"replicas": 3, "updatedReplicas": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
        ));
        assert_eq!(
            (r.status.as_str(), r.level),
            ("rollout stuck: progress deadline exceeded (1/3 updated)", Level::Crit)
        );
        let r = deployment_rollout(&base(
            2,
            2,
            json!({"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}),
        ));
        assert_eq!((r.status.as_str(), r.level, r.complete), ("available 3/3", Level::Ok, true));
    }

    #[test]
    fn the_previous_revision_is_the_second_newest() {
        let rs = |name: &str, rev: &str| -> ReplicaSet {
            serde_json::from_value(json!({"metadata": {"name": name, "annotations": {REVISION: rev}}})).unwrap()
        };
        let (a, b, c) = (rs("a", "3"), rs("b", "10"), rs("c", "9"));
        let (rev, found) = previous_revision(&[&a, &b, &c]).unwrap();
        assert_eq!((rev, found.metadata.name.as_deref()), (9, Some("c")));
        assert!(previous_revision(&[&a]).is_none());
    }
}
