//! App Service: web apps with their slots, plans (instance counts), last deployment and
//! metrics; promote / roll back by swapping a slot with production.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::{Api, Operation};
use super::{AzureCall, Shared, failed, last_segment, monitor};
use crate::actions::{ActionError, Plan, PlannedCall, Verb};
use crate::model::{Level, Resource, Role, Snapshot, Tier};
use crate::providers::ProviderError;

/// Microsoft.Web API version (the fixtures are Microsoft's 2025-05-01 examples; the payloads
/// read here are the same in 2024-11-01, which every region serves).
pub const WEB_API: &str = "2024-11-01";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SitePayload {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub properties: Option<SiteProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteProperties {
    pub state: Option<String>,
    pub host_names: Option<Vec<String>>,
    pub default_host_name: Option<String>,
    pub availability_state: Option<String>,
    pub server_farm_id: Option<String>,
    pub resource_group: Option<String>,
    pub last_modified_time_utc: Option<String>,
    pub site_config: Option<SiteConfig>,
    pub slot_swap_status: Option<SlotSwapStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteConfig {
    pub linux_fx_version: Option<String>,
    pub windows_fx_version: Option<String>,
    pub java_version: Option<String>,
    pub node_version: Option<String>,
    pub python_version: Option<String>,
    pub php_version: Option<String>,
    pub net_framework_version: Option<String>,
    pub number_of_workers: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotSwapStatus {
    pub timestamp_utc: Option<String>,
    pub source_slot_name: Option<String>,
    pub destination_slot_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanPayload {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub sku: Option<Sku>,
    #[serde(default)]
    pub properties: Option<PlanProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    pub name: Option<String>,
    pub tier: Option<String>,
    pub capacity: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanProperties {
    pub status: Option<String>,
    pub number_of_workers: Option<u32>,
    pub maximum_number_of_workers: Option<u32>,
    pub number_of_sites: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
struct DeploymentStatusPayload {
    #[serde(default)]
    properties: Option<DeploymentStatusProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentStatusProperties {
    deployment_id: Option<String>,
    status: Option<String>,
}

/// One slot as the swap needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotInfo {
    pub name: String,
    pub version: String,
    pub state: String,
    pub host: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteMeta {
    pub id: String,
    pub name: String,
    pub default_host: Option<String>,
    pub production_version: String,
    pub slots: Vec<SlotInfo>,
    pub last_swap: Option<String>,
}

/// What a site or slot runs: the container image (tag) or runtime stack, else the language
/// versions App Service reports.
pub fn running_version(config: Option<&SiteConfig>) -> String {
    let Some(c) = config else {
        return "unknown".into();
    };
    for fx in [&c.linux_fx_version, &c.windows_fx_version] {
        if let Some(v) = fx.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            return match v.split_once('|') {
                Some((kind, image)) if kind.eq_ignore_ascii_case("docker") => image.to_string(),
                Some((stack, version)) => format!("{stack} {version}"),
                None => v.to_string(),
            };
        }
    }
    let stacks = [
        ("Java", &c.java_version),
        ("Node", &c.node_version),
        ("Python", &c.python_version),
        ("PHP", &c.php_version),
        (".NET", &c.net_framework_version),
    ];
    let found: Vec<String> = stacks
        .iter()
        .filter_map(|(label, v)| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| format!("{label} {v}")))
        .collect();
    if found.is_empty() { "unknown".into() } else { found.join(", ") }
}

fn site_level(state: &str, availability: Option<&str>, tier: Tier) -> Level {
    match (state, availability) {
        ("Running", None | Some("Normal")) => Level::Ok,
        ("Running", _) => Level::Warn,
        ("Stopped", _) if tier == Tier::Prod => Level::Crit,
        ("Stopped", _) => Level::Warn,
        _ => Level::Unknown,
    }
}

/// The short name of a slot: `site/staging` -> `staging`.
fn slot_name(full: &str) -> String {
    full.rsplit('/').next().unwrap_or(full).to_string()
}

fn health_url(s: &Shared, host: Option<&str>) -> Option<String> {
    let template = s.settings.health_url.as_deref()?;
    let host = host?;
    Some(template.replace("{host}", host))
}

/// Web apps, their slots and plans in one subscription.
pub async fn fetch(s: &Shared, sub: &str) -> Result<Snapshot, ProviderError> {
    let sites_url = s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.Web/sites"), WEB_API);
    let plans_url = s.arm_url(&format!("/subscriptions/{sub}/providers/Microsoft.Web/serverfarms"), WEB_API);
    let (sites, plans) = tokio::join!(
        s.client.list::<SitePayload>(Api::Arm, &sites_url),
        s.client.list::<PlanPayload>(Api::Arm, &plans_url)
    );
    let sites = sites?;
    let plans = plans.unwrap_or_else(|e| {
        tracing::warn!("App Service plans of {sub}: {e}");
        Vec::new()
    });
    let details = join_all(sites.iter().map(|site| async move {
        let slots_url = s.arm_url(&format!("{}/slots", site.id), WEB_API);
        let status_url = s.arm_url(&format!("{}/deploymentStatus", site.id), WEB_API);
        let (slots, deployments) = tokio::join!(
            s.client.list::<SitePayload>(Api::Arm, &slots_url),
            s.client.list::<DeploymentStatusPayload>(Api::Arm, &status_url)
        );
        (slots, deployments)
    }))
    .await;

    let mut snap = Snapshot::default();
    let mut site_envs: HashMap<String, Vec<String>> = HashMap::new();
    let mut metric_jobs = Vec::new();
    for (site, (slots, deployments)) in sites.iter().zip(details) {
        let p = site.properties.clone().unwrap_or_default();
        let environment = s.environment(&site.name, site.tags.as_ref());
        let tier = s.tier(&environment);
        let state = p.state.clone().unwrap_or_else(|| "Unknown".into());
        let production_version = running_version(p.site_config.as_ref());
        let slots: Vec<SlotInfo> = match slots {
            Ok(list) => list
                .iter()
                .map(|slot| {
                    let sp = slot.properties.clone().unwrap_or_default();
                    SlotInfo {
                        name: slot_name(&slot.name),
                        version: running_version(sp.site_config.as_ref()),
                        state: sp.state.unwrap_or_else(|| "Unknown".into()),
                        host: sp.default_host_name,
                    }
                })
                .collect(),
            Err(e) => {
                tracing::warn!("slots of {}: {e}", site.name);
                Vec::new()
            }
        };
        let last_deployment = match deployments {
            Ok(list) => match list.first().and_then(|d| d.properties.clone()) {
                Some(d) => format!(
                    "{} {}",
                    d.deployment_id.unwrap_or_else(|| "?".into()),
                    d.status.unwrap_or_else(|| "unknown".into())
                ),
                None => "none recorded".into(),
            },
            Err(e) => format!("unknown ({e})"),
        };
        let last_swap = p.slot_swap_status.as_ref().and_then(|w| {
            Some(format!(
                "{} -> {} at {}",
                w.source_slot_name.clone()?,
                w.destination_slot_name.clone().unwrap_or_else(|| "production".into()),
                w.timestamp_utc.clone().unwrap_or_default()
            ))
        });
        let plan_id = p.server_farm_id.clone().unwrap_or_default();
        let plan = plans.iter().find(|pl| pl.id.eq_ignore_ascii_case(&plan_id));
        if !plan_id.is_empty() {
            site_envs.entry(plan_id.to_ascii_lowercase()).or_default().push(environment.clone());
        }
        let mut details = vec![
            ("hosts".to_string(), p.host_names.clone().unwrap_or_default().join(", ")),
            (
                "slots".to_string(),
                if slots.is_empty() {
                    "none".to_string()
                } else {
                    slots
                        .iter()
                        .map(|x| format!("{}: {}, {}", x.name, x.state, x.version))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
            (
                "plan".to_string(),
                match plan {
                    Some(pl) => format!("{} ({})", pl.name, plan_size(pl)),
                    None if plan_id.is_empty() => "unknown".into(),
                    None => last_segment(&plan_id),
                },
            ),
            ("last deployment".to_string(), last_deployment),
        ];
        if let Some(swap) = &last_swap {
            details.push(("last swap".into(), swap.clone()));
        }
        if let Some(m) = &p.last_modified_time_utc {
            details.push(("last modified".into(), m.clone()));
        }
        details.push(("resource group".into(), p.resource_group.clone().unwrap_or_default()));
        let mut versions: Vec<String> = slots
            .iter()
            .filter(|x| x.name == "staging")
            .chain(slots.iter().filter(|x| x.name != "staging"))
            .map(|x| format!("{}={}", x.name, x.version))
            .collect();
        if !versions.is_empty() {
            versions.push(format!("production={production_version}"));
        }
        let kind = if site.kind.as_deref().is_some_and(|k| k.contains("functionapp")) {
            crate::providers::azure::kind::FUNCTION_APP
        } else {
            crate::providers::azure::kind::APP_SERVICE
        };
        snap.resources.push(Resource {
            id: site.id.clone(),
            name: site.name.clone(),
            kind: kind.into(),
            role: Role::Compute,
            provider: crate::providers::azure::PROVIDER,
            environment: environment.clone(),
            region: site.location.clone().unwrap_or_default(),
            status: match p.availability_state.as_deref() {
                Some(a) if a != "Normal" && state == "Running" => format!("{state} ({a})"),
                _ => state.clone(),
            },
            level: site_level(&state, p.availability_state.as_deref(), tier),
            current_version: Some(production_version.clone()),
            versions,
            details,
        });
        s.meta().sites.insert(
            site.id.clone(),
            SiteMeta {
                id: site.id.clone(),
                name: site.name.clone(),
                default_host: p.default_host_name.clone(),
                production_version,
                slots,
                last_swap,
            },
        );
        metric_jobs.push((site.id.clone(), site.name.clone(), environment));
    }
    for pl in &plans {
        let own = s.environment(&pl.name, pl.tags.as_ref());
        let environment = if own == "unassigned" {
            // A plan without its own tag serves the environment of its apps, if they agree.
            let envs = site_envs.get(&pl.id.to_ascii_lowercase()).cloned().unwrap_or_default();
            match envs.first() {
                Some(first) if envs.iter().all(|e| e == first) => first.clone(),
                _ => own,
            }
        } else {
            own
        };
        let props = pl.properties.clone().unwrap_or_default();
        let status = props.status.clone().unwrap_or_else(|| "Unknown".into());
        snap.resources.push(Resource {
            id: pl.id.clone(),
            name: pl.name.clone(),
            kind: crate::providers::azure::kind::APP_SERVICE_PLAN.into(),
            role: Role::Compute,
            provider: crate::providers::azure::PROVIDER,
            environment: environment.clone(),
            region: pl.location.clone().unwrap_or_default(),
            level: if status == "Ready" { Level::Ok } else { Level::Warn },
            status,
            current_version: None,
            versions: Vec::new(),
            details: vec![
                (
                    "sku".into(),
                    format!(
                        "{} ({})",
                        pl.sku.as_ref().and_then(|k| k.name.clone()).unwrap_or_default(),
                        pl.sku.as_ref().and_then(|k| k.tier.clone()).unwrap_or_default()
                    ),
                ),
                ("instances".into(), plan_size(pl)),
                ("apps".into(), props.number_of_sites.map(|n| n.to_string()).unwrap_or_default()),
            ],
        });
    }
    let plan_jobs: Vec<(String, String, String)> = snap
        .resources
        .iter()
        .filter(|r| r.kind == "App Service Plan")
        .map(|r| (r.id.clone(), r.name.clone(), r.environment.clone()))
        .collect();
    let site_metrics = join_all(metric_jobs.iter().map(|(id, name, env)| monitor::site_metrics(s, id, name, env)));
    let plan_metrics = join_all(plan_jobs.iter().map(|(id, name, env)| monitor::plan_metrics(s, id, name, env)));
    let (site_metrics, plan_metrics) = tokio::join!(site_metrics, plan_metrics);
    for m in site_metrics.into_iter().chain(plan_metrics) {
        snap.metrics.extend(m);
    }
    Ok(snap)
}

/// "1 of max 20": the plan's current instance count.
fn plan_size(pl: &PlanPayload) -> String {
    let props = pl.properties.clone().unwrap_or_default();
    let count = pl.sku.as_ref().and_then(|k| k.capacity).or(props.number_of_workers);
    match (count, props.maximum_number_of_workers) {
        (Some(c), Some(max)) => format!("{c} instance{} of max {max}", if c == 1 { "" } else { "s" }),
        (Some(c), None) => format!("{c} instance{}", if c == 1 { "" } else { "s" }),
        _ => "instances unknown".into(),
    }
}

fn site_meta(s: &Shared, id: &str) -> Result<SiteMeta, ActionError> {
    s.meta().sites.get(id).cloned().ok_or_else(|| ActionError::NotFound(id.to_string()))
}

pub fn plan_swap(s: &Shared, plan: &mut Plan) -> Result<(), ActionError> {
    let site = site_meta(s, &plan.request.target)?;
    let verb = plan.request.verb;
    let p = &plan.request.params;
    let wanted = p
        .get("slot")
        .or(p.get("to"))
        .map_or_else(|| "staging".into(), |t| t.split('=').next().unwrap_or(t).to_string());
    if site.slots.is_empty() {
        return Err(ActionError::NotApplicable {
            verb,
            what: site.name.clone(),
            why: "it has no deployment slot to swap with production".into(),
        });
    }
    if wanted == "production" {
        return Err(ActionError::InvalidInput("name the slot to swap with production (e.g. --to staging)".into()));
    }
    let slot = site.slots.iter().find(|x| x.name == wanted).ok_or_else(|| {
        ActionError::InvalidInput(format!(
            "{} has no slot '{wanted}' (slots: {})",
            site.name,
            site.slots.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let url = s.arm_url(&format!("{}/slots/{}/slotsswap", site.id, slot.name), WEB_API);
    let body = json!({"targetSlot": "production", "preserveVnet": true});
    plan.summary = match verb {
        Verb::Rollback => format!(
            "roll {} back: swap production ({}) with slot {} ({}) again{}",
            site.name,
            site.production_version,
            slot.name,
            slot.version,
            match &site.last_swap {
                Some(w) => format!(" (last swap: {w})"),
                None => " (no earlier swap is recorded; this swaps them anyway)".into(),
            }
        ),
        _ => format!(
            "promote slot {} ({}) into production of {} (now {}); production's build moves to {}, where `rollback` swaps it back",
            slot.name, slot.version, site.name, site.production_version, slot.name
        ),
    };
    plan.calls.push(PlannedCall {
        description: format!("swap slot {} with production (App Service warms the slot before switching)", slot.name),
        call: format!("POST {url} {body}"),
    });
    plan.calls.push(PlannedCall {
        description: "follow the long-running operation to its end".into(),
        call: format!(
            "GET the Azure-AsyncOperation (or Location) URL until Succeeded or Failed, at most {}s",
            s.settings.operation_timeout.as_secs()
        ),
    });
    let health = health_url(s, site.default_host.as_deref());
    plan.verification = format!(
        "GET {}: production serves {}{}",
        site.id,
        slot.version,
        match &health {
            Some(h) => format!("; then GET {h}: 2xx (up to {} tries)", s.settings.health_tries),
            None => String::new(),
        }
    );
    plan.set_payload(AzureCall::Swap {
        slot: slot.name.clone(),
        expected_version: slot.version.clone(),
        previous_version: site.production_version.clone(),
    });
    let params = &mut plan.request.params;
    params.insert("slot".into(), slot.name.clone());
    params.insert("expected_version".into(), slot.version.clone());
    params.insert("previous_version".into(), site.production_version.clone());
    Ok(())
}

pub async fn execute_swap(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let site = site_meta(s, &plan.request.target)?;
    let AzureCall::Swap { slot, .. } = plan.payload::<AzureCall>()? else {
        return Err(ActionError::Failed("the plan lost its swap call; plan again".into()));
    };
    let url = s.arm_url(&format!("{}/slots/{slot}/slotsswap", site.id), WEB_API);
    let body = json!({"targetSlot": "production", "preserveVnet": true});
    let r = s.client.send(Api::Arm, Method::POST, &url, Some(&body)).await.map_err(failed)?;
    if !r.status.is_success() {
        return Err(ActionError::Failed(format!(
            "the swap was not started, production is unchanged: {}",
            s.client.error_for(Api::Arm, &Method::POST, &url, &r)
        )));
    }
    match s.client.wait(Api::Arm, &url, &r).await {
        Ok(Operation::Succeeded { waited }) => {
            Ok(format!("swapped slot {slot} into production of {} ({}s)", site.name, waited.as_secs()))
        }
        Ok(Operation::StillRunning { url, waited }) => Err(ActionError::Failed(format!(
            "the swap of {slot} into production of {} is still running after {}s; watch operation {url} before acting again",
            site.name,
            waited.as_secs()
        ))),
        Err(e) => Err(ActionError::Failed(format!(
            "Azure reports the swap of {slot} into production of {} failed ({e}); re-read the app to see what production serves before retrying",
            site.name
        ))),
    }
}

pub async fn verify_swap(s: &Shared, plan: &Plan) -> Result<String, ActionError> {
    let site = site_meta(s, &plan.request.target)?;
    let AzureCall::Swap { expected_version: expected, previous_version: previous, .. } = plan.payload::<AzureCall>()?
    else {
        return Err(ActionError::VerifyFailed("the plan lost its swap call".into()));
    };
    let url = s.arm_url(&site.id, WEB_API);
    let now: SitePayload = s.client.get(Api::Arm, &url).await.map_err(|e| ActionError::VerifyFailed(e.to_string()))?;
    let props = now.properties.unwrap_or_default();
    let serving = running_version(props.site_config.as_ref());
    if expected != previous && serving != *expected {
        return Err(ActionError::VerifyFailed(format!(
            "production of {} serves {serving}, expected {expected}",
            site.name
        )));
    }
    let state = props.state.unwrap_or_else(|| "Unknown".into());
    let mut out = format!("production of {} is {state} and serves {serving}", site.name);
    let Some(health) = health_url(s, props.default_host_name.as_deref().or(site.default_host.as_deref())) else {
        return Ok(out);
    };
    let mut last_error = String::new();
    for attempt in 1..=s.settings.health_tries {
        let started = Instant::now();
        let r = s.client.http().get(&health).timeout(Duration::from_secs(10)).send().await;
        match r {
            Ok(resp) if resp.status().is_success() => {
                out.push_str(&format!(
                    "; {health} answered {} in {} ms",
                    resp.status().as_u16(),
                    started.elapsed().as_millis()
                ));
                return Ok(out);
            }
            Ok(resp) => last_error = format!("HTTP {}", resp.status().as_u16()),
            Err(e) => last_error = e.to_string(),
        }
        if attempt < s.settings.health_tries {
            tokio::time::sleep(s.settings.health_interval).await;
        }
    }
    Err(ActionError::VerifyFailed(format!(
        "{out}, but {health} failed {} times (last: {last_error}); roll back with `skydeck act rollback {}`",
        s.settings.health_tries, site.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_images_and_stacks() {
        let c =
            SiteConfig { linux_fx_version: Some("DOCKER|myacr.azurecr.io/shop:1.4.2".into()), ..Default::default() };
        assert_eq!(running_version(Some(&c)), "myacr.azurecr.io/shop:1.4.2");
        let c = SiteConfig { linux_fx_version: Some("NODE|20-lts".into()), ..Default::default() };
        assert_eq!(running_version(Some(&c)), "NODE 20-lts");
        let c = SiteConfig {
            linux_fx_version: Some(String::new()),
            php_version: Some("5.6".into()),
            net_framework_version: Some("v4.0".into()),
            python_version: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(running_version(Some(&c)), "PHP 5.6, .NET v4.0");
        assert_eq!(running_version(None), "unknown");
    }

    #[test]
    fn stopped_production_is_critical() {
        assert_eq!(site_level("Running", Some("Normal"), Tier::Prod), Level::Ok);
        assert_eq!(site_level("Running", Some("Limited"), Tier::Dev), Level::Warn);
        assert_eq!(site_level("Stopped", None, Tier::Prod), Level::Crit);
        assert_eq!(site_level("Stopped", None, Tier::Dev), Level::Warn);
    }
}
