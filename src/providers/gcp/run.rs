//! Cloud Run (Admin API v2): services, revisions, traffic; promote and roll back by moving
//! traffic, as a long-running operation, then re-reading the traffic and probing health.

use crate::actions::not_applicable;
use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Api, GcpClient};
use super::{CONDITION_STATE, Enum, TRAFFIC_TYPE, short_name};
use crate::actions::{ActionError, Verb};
use crate::model::{Level, Timestamp};
use crate::providers::ProviderError;

/// Newest revisions read per service (pages are followed up to this many).
pub const MAX_REVISIONS: usize = 20;
const LATEST: &str = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST";
const REVISION: &str = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub state: Enum,
    pub message: String,
    pub last_transition_time: Option<Timestamp>,
}

impl Condition {
    fn state_name(&self) -> String {
        self.state.name(CONDITION_STATE)
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct TrafficTarget {
    #[serde(rename = "type")]
    pub kind: Enum,
    pub revision: String,
    pub percent: i64,
    pub tag: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Scaling {
    pub min_instance_count: Option<i64>,
    pub max_instance_count: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Resources {
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    pub image: String,
    pub resources: Resources,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Template {
    pub containers: Vec<Container>,
    pub scaling: Option<Scaling>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Service {
    pub name: String,
    pub uri: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub latest_ready_revision: String,
    pub latest_created_revision: String,
    pub terminal_condition: Option<Condition>,
    pub traffic: Vec<TrafficTarget>,
    pub traffic_statuses: Vec<TrafficTarget>,
    pub template: Template,
    pub scaling: Option<Scaling>,
    pub reconciling: bool,
    pub update_time: Option<Timestamp>,
    pub last_modifier: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Revision {
    pub name: String,
    pub create_time: Option<Timestamp>,
    pub conditions: Vec<Condition>,
    pub containers: Vec<Container>,
    pub scaling: Option<Scaling>,
}

impl Revision {
    /// The `Ready` condition succeeded.
    pub fn ready(&self) -> bool {
        self.conditions.iter().any(|c| c.kind == "Ready" && c.state_name() == "CONDITION_SUCCEEDED")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Location {
    location_id: String,
}

/// One traffic entry with its revision resolved (a LATEST entry names the latest ready one).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub revision: String,
    pub percent: i64,
    pub tag: String,
    pub latest: bool,
}

/// What the plan needs beyond the normalized resource.
#[derive(Debug, Clone, Default)]
pub struct ServiceMeta {
    pub name: String,
    pub short: String,
    pub location: String,
    pub uri: Option<String>,
    pub latest_ready: String,
    /// Served traffic (`trafficStatuses`, else `traffic`).
    pub serving: Vec<Split>,
    /// Revisions newest first: (short name, created, ready, image).
    pub revisions: Vec<(String, Option<Timestamp>, bool, String)>,
}

impl ServiceMeta {
    pub fn revision(&self, name: &str) -> Option<&(String, Option<Timestamp>, bool, String)> {
        self.revisions.iter().find(|r| r.0 == name)
    }

    /// Percent per revision, for revisions that get any.
    pub fn allocation(&self) -> BTreeMap<String, i64> {
        allocation(&self.serving)
    }

    /// The revision with the most traffic.
    pub fn current(&self) -> Option<String> {
        let alloc = self.allocation();
        let max = alloc.values().copied().max()?;
        // Ties go to the newest revision.
        self.revisions
            .iter()
            .map(|r| r.0.clone())
            .find(|r| alloc.get(r) == Some(&max))
            .or_else(|| alloc.iter().find(|(_, p)| **p == max).map(|(r, _)| r.clone()))
    }
}

pub fn allocation(splits: &[Split]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for s in splits.iter().filter(|s| s.percent > 0) {
        *out.entry(s.revision.clone()).or_insert(0) += s.percent;
    }
    out
}

/// Served traffic with revisions resolved.
pub fn serving(svc: &Service) -> Vec<Split> {
    let source = if svc.traffic_statuses.is_empty() { &svc.traffic } else { &svc.traffic_statuses };
    let latest_ready = short_name(&svc.latest_ready_revision).to_string();
    source
        .iter()
        .map(|t| {
            let latest = t.kind.name(TRAFFIC_TYPE) == LATEST;
            Split {
                revision: if latest || t.revision.is_empty() {
                    latest_ready.clone()
                } else {
                    short_name(&t.revision).to_string()
                },
                percent: t.percent,
                tag: t.tag.clone(),
                latest,
            }
        })
        .collect()
}

/// "web-00002-abc=90%, web-00003-xyz=10% (tag canary)"
pub fn split_text(splits: &[Split]) -> String {
    if splits.is_empty() {
        return "none".into();
    }
    splits
        .iter()
        .map(|s| {
            let mut notes = Vec::new();
            if s.latest {
                notes.push("latest".to_string());
            }
            if !s.tag.is_empty() {
                notes.push(format!("tag {}", s.tag));
            }
            let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
            format!("{}={}%{notes}", s.revision, s.percent)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn scaling_text(s: Option<&Scaling>) -> String {
    let s = s.cloned().unwrap_or_default();
    format!(
        "min {}, max {}",
        s.min_instance_count.unwrap_or(0),
        s.max_instance_count.map_or_else(|| "default".into(), |m| m.to_string())
    )
}

fn condition_text(c: &Condition) -> String {
    let state = c.state_name();
    let state = state.strip_prefix("CONDITION_").unwrap_or(&state).to_ascii_lowercase();
    let mut out = format!("{}: {state}", c.kind);
    if !c.message.is_empty() {
        out.push_str(&format!(" ({})", c.message));
    }
    if let Some(at) = c.last_transition_time {
        out.push_str(&format!(" since {}", at.format("%Y-%m-%d %H:%M UTC")));
    }
    out
}

/// A service in the normalized model: (status, level, current version, versions, details).
pub struct Mapped {
    pub status: String,
    pub level: Level,
    pub current: Option<String>,
    pub versions: Vec<String>,
    pub details: Vec<(String, String)>,
    pub meta: ServiceMeta,
}

pub fn map_service(svc: &Service, revisions: &[Revision]) -> Mapped {
    let short = short_name(&svc.name).to_string();
    let location = svc.name.split('/').nth(3).unwrap_or_default().to_string();
    let latest_ready = short_name(&svc.latest_ready_revision).to_string();
    let latest_created = short_name(&svc.latest_created_revision).to_string();
    let mut revs: Vec<&Revision> = revisions.iter().collect();
    revs.sort_by_key(|r| std::cmp::Reverse(r.create_time));
    let meta = ServiceMeta {
        name: svc.name.clone(),
        short: short.clone(),
        location,
        uri: svc.uri.clone().filter(|u| !u.is_empty()),
        latest_ready: latest_ready.clone(),
        serving: serving(svc),
        revisions: revs
            .iter()
            .map(|r| {
                (
                    short_name(&r.name).to_string(),
                    r.create_time,
                    r.ready(),
                    r.containers.first().map(|c| c.image.clone()).unwrap_or_default(),
                )
            })
            .collect(),
    };
    let ready = svc.terminal_condition.as_ref();
    let ready_state = ready.map(Condition::state_name).unwrap_or_default();
    let (mut status, mut level) = match ready_state.as_str() {
        "CONDITION_SUCCEEDED" => ("ready".to_string(), Level::Ok),
        "CONDITION_FAILED" => ("failed".to_string(), Level::Crit),
        "CONDITION_PENDING" | "CONDITION_RECONCILING" => ("reconciling".to_string(), Level::Unknown),
        _ => ("unknown".to_string(), Level::Unknown),
    };
    if svc.reconciling && level == Level::Ok {
        status = "reconciling".into();
        level = Level::Unknown;
    }
    let mut latest_created_text = latest_created.clone();
    if !latest_created.is_empty() && latest_created != latest_ready {
        latest_created_text.push_str(" (not ready)");
        level = level.max(Level::Warn);
        if status == "ready" {
            status = "ready; newest revision not ready".into();
        }
    }
    let container = svc.template.containers.first();
    let mut details = vec![
        ("traffic".to_string(), split_text(&meta.serving)),
        ("image".to_string(), container.map(|c| c.image.clone()).unwrap_or_default()),
    ];
    let mut instances = format!("{} per revision", scaling_text(svc.template.scaling.as_ref()));
    if let Some(s) = &svc.scaling {
        let mut parts = Vec::new();
        if let Some(m) = s.min_instance_count {
            parts.push(format!("min {m}"));
        }
        if let Some(m) = s.max_instance_count {
            parts.push(format!("max {m}"));
        }
        if !parts.is_empty() {
            instances.push_str(&format!("; service {}", parts.join(", ")));
        }
    }
    details.push(("instances".into(), instances));
    if let Some(c) = container
        && !c.resources.limits.is_empty()
    {
        let limits: Vec<String> = c.resources.limits.iter().map(|(k, v)| format!("{k} {v}")).collect();
        details.push(("limits".into(), limits.join(", ")));
    }
    if let Some(c) = ready {
        details.push(("ready".into(), condition_text(c)));
    }
    details.push(("latest ready".into(), latest_ready.clone()));
    details.push(("latest created".into(), latest_created_text));
    if let Some(uri) = &meta.uri {
        details.push(("url".into(), uri.clone()));
    }
    if let Some(at) = svc.update_time {
        let by = if svc.last_modifier.is_empty() { String::new() } else { format!(" by {}", svc.last_modifier) };
        details.push(("updated".into(), format!("{}{by}", at.format("%Y-%m-%d %H:%M UTC"))));
    }
    Mapped {
        status,
        level,
        current: meta.current(),
        versions: meta.revisions.iter().map(|r| r.0.clone()).collect(),
        details,
        meta,
    }
}

/// Cloud Run regions of the project (`GET /v1/projects/P/locations`), when none are configured.
pub async fn regions(client: &GcpClient, project: &str) -> Result<Vec<String>, ProviderError> {
    let list: Vec<Location> = client
        .list(Api::Run, &format!("/v1/projects/{project}/locations"), &[("pageSize", "500")], "locations", 1000)
        .await?;
    Ok(list.into_iter().map(|l| l.location_id).filter(|l| !l.is_empty()).collect())
}

/// Every service in the regions, each with its newest revisions.
pub async fn fetch(
    client: &GcpClient,
    project: &str,
    regions: &[String],
) -> Result<Vec<(Service, Vec<Revision>)>, ProviderError> {
    let lists = join_all(regions.iter().map(|region| async move {
        client
            .list::<Service>(
                Api::Run,
                &format!("/v2/projects/{project}/locations/{region}/services"),
                &[("pageSize", "100")],
                "services",
                1000,
            )
            .await
    }))
    .await;
    let mut services = Vec::new();
    for l in lists {
        services.extend(l?);
    }
    let revisions = join_all(services.iter().map(|s| async move {
        let page = MAX_REVISIONS.to_string();
        client
            .list::<Revision>(
                Api::Run,
                &format!("/v2/{}/revisions", s.name),
                &[("pageSize", page.as_str())],
                "revisions",
                MAX_REVISIONS,
            )
            .await
    }))
    .await;
    let mut out = Vec::new();
    for (s, r) in services.into_iter().zip(revisions) {
        out.push((s, r?));
    }
    Ok(out)
}

/// The traffic a promote or rollback asks for, as (new splits, PATCH body).
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficChange {
    pub to: String,
    pub percent: i64,
    pub from: Option<String>,
    pub new_split: Vec<Split>,
    pub body: Value,
}

/// Promote: `to` (default the latest ready revision) gets 100 %, or `percent` with the rest
/// on the current revision (a canary). Roll back: 100 % to the previous serving revision:
/// with several revisions serving, the oldest of them (the canary is dropped); with one, the
/// next older ready revision. Tagged entries are kept (tag URLs keep working).
pub fn plan_traffic(
    meta: &ServiceMeta,
    verb: Verb,
    to: Option<&str>,
    percent: Option<&str>,
) -> Result<TrafficChange, ActionError> {
    let current = meta.current();
    let alloc = meta.allocation();
    let percent: i64 = match percent {
        None => 100,
        Some(p) => {
            let p: i64 = p.trim().trim_end_matches('%').parse().map_err(|_| {
                ActionError::InvalidInput(format!("percent '{p}' must be a whole number from 1 to 100"))
            })?;
            if !(1..=100).contains(&p) {
                return Err(ActionError::InvalidInput(format!("percent {p} must be from 1 to 100")));
            }
            if verb == Verb::Rollback && p != 100 {
                return Err(ActionError::InvalidInput(
                    "roll back moves 100 % of the traffic; for a canary use promote with percent".into(),
                ));
            }
            p
        }
    };
    let to = match (to.map(short_name), verb) {
        (Some(t), _) => t.to_string(),
        (None, Verb::Promote) => {
            if meta.latest_ready.is_empty() {
                return Err(not_applicable(verb, &meta.short, "no revision is ready"));
            }
            meta.latest_ready.clone()
        }
        (None, _) => {
            let serving: Vec<&(String, Option<Timestamp>, bool, String)> =
                meta.revisions.iter().filter(|r| alloc.contains_key(&r.0)).collect();
            if serving.len() > 1 {
                // Several serve (a canary): everything back to the oldest of them.
                serving.last().map(|r| r.0.clone()).unwrap_or_default()
            } else {
                let cur = current.clone().unwrap_or_default();
                let pos = meta.revisions.iter().position(|r| r.0 == cur);
                let older = match pos {
                    Some(p) => meta.revisions[p + 1..].iter().find(|r| r.2),
                    None => None,
                };
                older.map(|r| r.0.clone()).ok_or_else(|| {
                    not_applicable(
                        verb,
                        &meta.short,
                        format!("no older ready revision than {cur} is known (pass --to REVISION)"),
                    )
                })?
            }
        }
    };
    let Some(rev) = meta.revision(&to) else {
        let known: Vec<&str> = meta.revisions.iter().map(|r| r.0.as_str()).collect();
        return Err(ActionError::InvalidInput(format!(
            "'{to}' is not a revision of {} (known: {})",
            meta.short,
            known.join(", ")
        )));
    };
    if !rev.2 {
        return Err(not_applicable(verb, &meta.short, format!("revision {to} is not ready and cannot serve traffic")));
    }
    let mut new_split = Vec::new();
    let from = current.clone().filter(|c| *c != to);
    if percent < 100 {
        let Some(from) = &from else {
            return Err(not_applicable(
                verb,
                &meta.short,
                format!("{to} already serves the most traffic; a canary needs another revision to split with"),
            ));
        };
        new_split.push(Split { revision: to.clone(), percent, tag: String::new(), latest: false });
        new_split.push(Split { revision: from.clone(), percent: 100 - percent, tag: String::new(), latest: false });
    } else {
        new_split.push(Split { revision: to.clone(), percent: 100, tag: String::new(), latest: false });
    }
    if allocation(&new_split) == alloc {
        return Err(not_applicable(verb, &meta.short, format!("the traffic is already {}", split_text(&meta.serving))));
    }
    // Keep every tag: on the entry of its revision when that one is free, else as a 0 % entry.
    for tagged in meta.serving.iter().filter(|s| !s.tag.is_empty()) {
        if let Some(slot) =
            new_split.iter_mut().find(|s| s.revision == tagged.revision && s.tag.is_empty() && !tagged.latest)
        {
            slot.tag = tagged.tag.clone();
        } else {
            new_split.push(Split {
                revision: tagged.revision.clone(),
                percent: 0,
                tag: tagged.tag.clone(),
                latest: tagged.latest,
            });
        }
    }
    let traffic: Vec<Value> = new_split
        .iter()
        .map(|s| {
            let mut t = if s.latest {
                json!({"type": LATEST, "percent": s.percent})
            } else {
                json!({"type": REVISION, "revision": s.revision, "percent": s.percent})
            };
            if !s.tag.is_empty() {
                t["tag"] = json!(s.tag);
            }
            t
        })
        .collect();
    Ok(TrafficChange { to, percent, from, new_split, body: json!({ "traffic": traffic }) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(serving: Vec<Split>) -> ServiceMeta {
        let rev = |n: &str, ready: bool| (n.to_string(), None, ready, "img".to_string());
        ServiceMeta {
            name: "projects/p/locations/l/services/web".into(),
            short: "web".into(),
            location: "l".into(),
            uri: None,
            latest_ready: "web-3".into(),
            serving,
            revisions: vec![rev("web-4", false), rev("web-3", true), rev("web-2", true), rev("web-1", true)],
        }
    }

    fn split(revision: &str, percent: i64, tag: &str) -> Split {
        Split { revision: revision.into(), percent, tag: tag.into(), latest: false }
    }

    #[test]
    fn promote_defaults_to_the_latest_ready_revision_and_keeps_tags() {
        let m = meta(vec![split("web-2", 100, ""), split("web-3", 0, "preview")]);
        let c = plan_traffic(&m, Verb::Promote, None, None).unwrap();
        assert_eq!(c.to, "web-3");
        assert_eq!(c.from.as_deref(), Some("web-2"));
        assert_eq!(
            c.body,
            json!({"traffic": [{"type": REVISION, "revision": "web-3", "percent": 100, "tag": "preview"}]})
        );
    }

    #[test]
    fn a_canary_splits_with_the_current_revision() {
        let m = meta(vec![split("web-2", 100, "")]);
        let c = plan_traffic(&m, Verb::Promote, Some("web-3"), Some("10")).unwrap();
        assert_eq!(split_text(&c.new_split), "web-3=10%, web-2=90%");
        for bad in ["0", "101", "ten"] {
            assert!(matches!(
                plan_traffic(&m, Verb::Promote, Some("web-3"), Some(bad)),
                Err(ActionError::InvalidInput(_))
            ));
        }
        // Not ready, unknown, or already there: refused before anything is sent.
        assert!(matches!(plan_traffic(&m, Verb::Promote, Some("web-4"), None), Err(ActionError::NotApplicable { .. })));
        assert!(matches!(plan_traffic(&m, Verb::Promote, Some("web-9"), None), Err(ActionError::InvalidInput(_))));
        assert!(matches!(plan_traffic(&m, Verb::Promote, Some("web-2"), None), Err(ActionError::NotApplicable { .. })));
    }

    #[test]
    fn rollback_goes_to_the_previous_serving_revision() {
        // One serving: the next older ready revision.
        let m = meta(vec![split("web-3", 100, "")]);
        assert_eq!(plan_traffic(&m, Verb::Rollback, None, None).unwrap().to, "web-2");
        // A canary: everything back to the older of the two.
        let m = meta(vec![split("web-3", 10, "canary"), split("web-2", 90, "")]);
        let c = plan_traffic(&m, Verb::Rollback, None, None).unwrap();
        assert_eq!(c.to, "web-2");
        assert_eq!(split_text(&c.new_split), "web-2=100%, web-3=0% (tag canary)");
        // The oldest has nothing older.
        let m = meta(vec![split("web-1", 100, "")]);
        assert!(plan_traffic(&m, Verb::Rollback, None, None).is_err());
        assert!(matches!(
            plan_traffic(&m, Verb::Rollback, Some("web-2"), Some("50")),
            Err(ActionError::InvalidInput(_))
        ));
    }
}
