//! ECS: clusters, services, their deployments and rollout state, task definition revisions and
//! the image of each container; roll back, promote (a revision, or an image tag as a new
//! revision), force a new deployment, scale; then watch the rollout.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_ecs::types::{
    Cluster, ClusterField, LogDriver, Service, ServiceField, SortOrder, TaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus,
};
use futures::future::join_all;

use super::{AwsCall, AwsProvider, EcsChange, Fail, call, change_risk, not_applicable, ts};
use crate::actions::{ActionError, Plan, Risk, Verb};
use crate::model::{Level, Resource, Role, Tier};
use crate::providers::ProviderError;

/// What an action on a service needs that the model does not carry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ServiceMeta {
    pub cluster: String,
    pub service: String,
    pub family: String,
    /// `family:revision` of what the service runs.
    pub task_definition: String,
    pub task_definition_arn: String,
    /// Container name and image of the running task definition.
    pub containers: Vec<(String, String)>,
    pub log_groups: Vec<String>,
    pub primary_deployment: Option<String>,
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rollout {
    Steady(String),
    Failed(String),
    InProgress(String),
}

/// `arn:aws:ecs:r:a:task-definition/web:41` and `web:41` -> `web:41`.
pub(crate) fn short_task_definition(td: &str) -> String {
    td.rsplit_once("task-definition/").map_or(td, |(_, s)| s).to_string()
}

fn family_of(td: &str) -> String {
    let short = short_task_definition(td);
    short.rsplit_once(':').map(|(f, _)| f.to_string()).unwrap_or(short)
}

fn revision_of(td: &str) -> Option<u32> {
    short_task_definition(td).rsplit_once(':')?.1.parse().ok()
}

/// The last path segment of an ARN (`.../cluster/shop-prod` -> `shop-prod`).
fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Where the rollout of a service stands. `all_running` also asks that every desired task runs
/// (a scale changes no deployment, so the deployment alone says nothing).
pub(crate) fn rollout_of(s: &Service, all_running: bool) -> Rollout {
    let counts = format!("{}/{} running, {} pending", s.running_count(), s.desired_count(), s.pending_count());
    let deployments = s.deployments();
    let primary = deployments.iter().find(|d| d.status() == Some("PRIMARY"));
    let short_of_desired = all_running && s.running_count() < s.desired_count();
    match primary.and_then(|d| d.rollout_state()).map(aws_sdk_ecs::types::DeploymentRolloutState::as_str) {
        Some("FAILED") => Rollout::Failed(format!(
            "{}{}",
            primary.and_then(|d| d.rollout_state_reason()).unwrap_or("deployment failed"),
            primary.map(|d| format!(" ({} failed tasks)", d.failed_tasks())).unwrap_or_default()
        )),
        Some("COMPLETED") if !short_of_desired => Rollout::Steady(format!("COMPLETED, {counts}")),
        Some(state) => Rollout::InProgress(format!("{state}, {counts}")),
        None if deployments.len() <= 1 && s.running_count() == s.desired_count() => {
            Rollout::Steady(format!("steady, {counts}"))
        }
        None => Rollout::InProgress(format!("{} deployments, {counts}", deployments.len())),
    }
}

/// The level of a service: failed rollout or nothing running is critical, short of desired or
/// still rolling out is a warning.
pub(crate) fn service_level(s: &Service) -> Level {
    match rollout_of(s, true) {
        Rollout::Failed(_) => Level::Crit,
        _ if s.desired_count() > 0 && s.running_count() == 0 => Level::Crit,
        Rollout::InProgress(_) => Level::Warn,
        Rollout::Steady(_) => Level::Ok,
    }
}

/// Maps one service (with its task definition and the family's revisions) into the model.
pub(crate) fn map_service(
    s: &Service,
    cluster: &str,
    td: Option<&TaskDefinition>,
    revisions: &[String],
    environment: String,
    region: &str,
) -> (Resource, ServiceMeta) {
    let arn = s.service_arn().unwrap_or_default().to_string();
    let name = s.service_name().unwrap_or_else(|| name_of(&arn)).to_string();
    let td_raw = s.task_definition().unwrap_or_default();
    let current = short_task_definition(td_raw);
    let family = family_of(td_raw);
    let mut versions: Vec<String> = revisions.to_vec();
    if !current.is_empty() && !versions.contains(&current) {
        versions.push(current.clone());
    }
    versions.sort_by_key(|v| std::cmp::Reverse(revision_of(v).unwrap_or(0)));
    let containers: Vec<(String, String)> = td
        .map(|t| {
            t.container_definitions()
                .iter()
                .map(|c| (c.name().unwrap_or_default().to_string(), c.image().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let log_groups: Vec<String> = td
        .map(|t| {
            t.container_definitions()
                .iter()
                .filter_map(|c| c.log_configuration())
                .filter(|l| l.log_driver() == &LogDriver::Awslogs)
                .filter_map(|l| l.options().and_then(|o| o.get("awslogs-group")).cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .unwrap_or_default();
    let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
    let rollout = primary
        .and_then(|d| d.rollout_state())
        .map_or_else(|| s.status().unwrap_or("UNKNOWN").to_string(), |r| r.as_str().to_string());
    let mut details = vec![
        ("cluster".to_string(), cluster.to_string()),
        ("desired".to_string(), s.desired_count().to_string()),
        ("running".to_string(), s.running_count().to_string()),
        ("pending".to_string(), s.pending_count().to_string()),
        ("rollout".to_string(), rollout.clone()),
    ];
    for d in s.deployments() {
        let mut text = format!(
            "{} {} {}/{} running",
            short_task_definition(d.task_definition().unwrap_or_default()),
            d.rollout_state().map_or("-", aws_sdk_ecs::types::DeploymentRolloutState::as_str),
            d.running_count(),
            d.desired_count()
        );
        if d.failed_tasks() > 0 {
            text.push_str(&format!(", {} failed", d.failed_tasks()));
        }
        if let Some(at) = d.created_at().and_then(ts) {
            text.push_str(&format!(", since {}", at.format("%m-%d %H:%M")));
        }
        details.push((format!("deploy {}", d.status().unwrap_or("?")), text));
    }
    for (container, image) in &containers {
        details.push((format!("image {container}"), image.clone()));
    }
    for e in s.events().iter().take(3) {
        let at = e.created_at().and_then(ts).map(|t| t.format("%m-%d %H:%M ").to_string()).unwrap_or_default();
        details.push(("event".to_string(), format!("{at}{}", e.message().unwrap_or_default())));
    }
    let resource = Resource {
        id: arn,
        name: name.clone(),
        kind: crate::providers::aws::kind::ECS_SERVICE.into(),
        role: Role::Compute,
        provider: crate::providers::aws::PROVIDER,
        environment,
        region: region.to_string(),
        status: rollout,
        level: service_level(s),
        current_version: (!current.is_empty()).then(|| current.clone()),
        versions,
        details,
    };
    let meta = ServiceMeta {
        cluster: cluster.to_string(),
        service: name,
        family,
        task_definition: current,
        task_definition_arn: td.and_then(|t| t.task_definition_arn()).unwrap_or(td_raw).to_string(),
        containers,
        log_groups,
        primary_deployment: primary.and_then(|d| d.id()).map(str::to_string),
    };
    (resource, meta)
}

/// `v42` on `repo/app:v41` -> `repo/app:v42`; a full reference is taken as it is.
pub(crate) fn image_with(current: &str, to: &str) -> Result<String, ActionError> {
    if to.contains('/') || to.contains(':') || to.contains('@') {
        return Ok(to.to_string());
    }
    let valid = !to.is_empty()
        && to.len() <= 128
        && to.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Err(ActionError::InvalidInput(format!(
            "'{to}' is not an image tag (letters, digits, _ . -) nor a task definition (family:N)"
        )));
    }
    let base = current.split('@').next().unwrap_or(current);
    let slash = base.rfind('/').map_or(0, |i| i + 1);
    let repo = match base[slash..].rfind(':') {
        Some(i) => &base[..slash + i],
        None => base,
    };
    Ok(format!("{repo}:{to}"))
}

/// A task definition the user named: `web:40`, `40` (same family) or its ARN.
fn task_definition_named(to: &str, family: &str) -> Option<String> {
    if to.starts_with("arn:") && to.contains(":task-definition/") {
        return Some(short_task_definition(to));
    }
    if !to.is_empty() && to.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!("{family}:{to}"));
    }
    match to.rsplit_once(':') {
        Some((f, rev)) if f == family && !rev.is_empty() && rev.chars().all(|c| c.is_ascii_digit()) => {
            Some(to.to_string())
        }
        _ => None,
    }
}

impl AwsProvider {
    fn ecs_err<E>(
        &self,
        what: &str,
        e: aws_sdk_ecs::error::SdkError<E, aws_sdk_ecs::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.errors.map(what, &e)
    }

    async fn clusters(&self) -> Result<Vec<Cluster>, Fail> {
        let configured = !self.settings.clusters.is_empty();
        let names: Vec<String> = if configured {
            self.settings.clusters.clone()
        } else {
            self.ecs
                .list_clusters()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| self.ecs_err("ecs:ListClusters", e))?
        };
        let mut out = Vec::new();
        for chunk in names.chunks(100) {
            let resp = self
                .ecs
                .describe_clusters()
                .set_clusters(Some(chunk.to_vec()))
                .include(ClusterField::Tags)
                .send()
                .await
                .map_err(|e| self.ecs_err("ecs:DescribeClusters", e))?;
            let mut missing: Vec<String> =
                resp.failures().iter().map(|f| name_of(f.arn().unwrap_or_default()).to_string()).collect();
            missing.extend(
                resp.clusters()
                    .iter()
                    .filter(|c| c.status() == Some("INACTIVE"))
                    .map(|c| c.cluster_name().unwrap_or_default().to_string()),
            );
            if configured && !missing.is_empty() {
                return Err(Fail::Config(ProviderError::Unavailable(format!(
                    "ECS cluster {} not found in {} (account of profile {}); fix [aws] clusters",
                    missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", "),
                    self.region,
                    self.errors.profile.as_deref().unwrap_or("default")
                ))));
            }
            out.extend(resp.clusters().iter().filter(|c| c.status() != Some("INACTIVE")).cloned());
        }
        Ok(out)
    }

    async fn services_of(&self, cluster: &Cluster) -> Result<Vec<Service>, ProviderError> {
        let arn = cluster.cluster_arn().unwrap_or_default();
        let arns: Vec<String> = self
            .ecs
            .list_services()
            .cluster(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.ecs_err("ecs:ListServices", e))?;
        let mut out = Vec::new();
        for chunk in arns.chunks(10) {
            let resp = self
                .ecs
                .describe_services()
                .cluster(arn)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
                .map_err(|e| self.ecs_err("ecs:DescribeServices", e))?;
            out.extend(resp.services().iter().cloned());
        }
        Ok(out)
    }

    /// A task definition by ARN or `family:rev`; revisions never change, so they are cached.
    async fn task_definition(&self, td: &str) -> Result<Arc<TaskDefinition>, ProviderError> {
        if let Some(t) = self.task_definitions.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(td) {
            return Ok(t.clone());
        }
        let resp = self
            .ecs
            .describe_task_definition()
            .task_definition(td)
            .send()
            .await
            .map_err(|e| self.ecs_err("ecs:DescribeTaskDefinition", e))?;
        let t = Arc::new(
            resp.task_definition
                .ok_or_else(|| ProviderError::Payload(format!("no task definition in the answer for {td}")))?,
        );
        self.task_definitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(td.to_string(), t.clone());
        Ok(t)
    }

    async fn task_definition_or_warn(&self, td: Option<&str>) -> Option<Arc<TaskDefinition>> {
        let td = td?;
        self.task_definition(td).await.map_err(|e| tracing::warn!("{}: {td}: {e}", self.name)).ok()
    }

    /// Active revisions of a family, newest first (`web:42`, `web:41`, ...).
    async fn revisions(&self, family: &str) -> Result<Vec<String>, ProviderError> {
        let resp = self
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .sort(SortOrder::Desc)
            .max_results(100)
            .send()
            .await
            .map_err(|e| self.ecs_err("ecs:ListTaskDefinitions", e))?;
        Ok(resp
            .task_definition_arns()
            .iter()
            .map(|a| short_task_definition(a))
            .filter(|s| family_of(s) == family)
            .take(20)
            .collect())
    }

    pub(super) async fn fetch_ecs(&self) -> Result<Vec<(Resource, ServiceMeta)>, Fail> {
        let clusters = self.clusters().await?;
        let listed = join_all(clusters.iter().map(|c| self.services_of(c))).await;
        let mut services: Vec<(&Cluster, Service)> = Vec::new();
        for (cluster, result) in clusters.iter().zip(listed) {
            services.extend(result?.into_iter().map(|s| (cluster, s)));
        }
        let names: Vec<Option<String>> =
            services.iter().map(|(_, s)| s.task_definition().map(str::to_string)).collect();
        let mut tds: Vec<Option<Arc<TaskDefinition>>> = Vec::new();
        for chunk in names.chunks(8) {
            tds.extend(join_all(chunk.iter().map(|td| self.task_definition_or_warn(td.as_deref()))).await);
        }
        let families: Vec<String> = services
            .iter()
            .filter_map(|(_, s)| s.task_definition().map(family_of))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut revisions: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in families.chunks(8) {
            let got = join_all(chunk.iter().map(|f| self.revisions(f))).await;
            for (f, r) in chunk.iter().zip(got) {
                match r {
                    Ok(list) => {
                        revisions.insert(f.clone(), list);
                    }
                    Err(e) => tracing::warn!("{}: revisions of {f}: {e}", self.name),
                }
            }
        }
        let mut out = Vec::new();
        for ((cluster, s), td) in services.iter().zip(tds) {
            let cluster_name = cluster.cluster_name().unwrap_or_default();
            let name = s.service_name().unwrap_or_default();
            let tag_pairs: Vec<(&str, &str)> =
                s.tags().iter().chain(cluster.tags()).filter_map(|t| Some((t.key()?, t.value()?))).collect();
            let env = self.environment(&[name, cluster_name], &tag_pairs);
            let family = s.task_definition().map(family_of).unwrap_or_default();
            let revs = revisions.get(&family).cloned().unwrap_or_default();
            out.push(map_service(s, cluster_name, td.as_deref(), &revs, env, &self.region));
        }
        Ok(out)
    }

    async fn describe_service(&self, cluster: &str, service: &str) -> Result<Service, ProviderError> {
        let resp = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| self.ecs_err("ecs:DescribeServices", e))?;
        resp.services().first().cloned().ok_or_else(|| {
            ProviderError::Unavailable(format!("ECS service {service} is not in cluster {cluster} any more"))
        })
    }

    pub(super) fn plan_ecs(&self, plan: &mut Plan, r: &Resource, m: &ServiceMeta) -> Result<(), ActionError> {
        let verb = plan.request.verb;
        let params = plan.request.params.clone();
        let update = format!("ecs:UpdateService cluster={} service={}", m.cluster, m.service);
        let timeout = self.settings.rollout_timeout.as_secs();
        let watch = call(
            format!(
                "watch the rollout until COMPLETED or FAILED (every {}s, up to {timeout}s)",
                self.settings.rollout_poll.as_secs().max(1)
            ),
            format!("ecs:DescribeServices cluster={} services={}", m.cluster, m.service),
        );
        let set = |plan: &mut Plan, k: &str, v: &str| {
            plan.request.params.insert(k.to_string(), v.to_string());
        };
        let payload = |plan: &mut Plan, change: EcsChange| {
            plan.set_payload(AwsCall::Ecs { cluster: m.cluster.clone(), service: m.service.clone(), change });
        };
        set(plan, "aws", "ecs");
        set(plan, "cluster", &m.cluster);
        set(plan, "service", &m.service);
        match verb {
            // `rerun` on a service is its restart: the same forced new deployment.
            Verb::Rerun | Verb::Promote if verb == Verb::Rerun || params.get("force").is_some_and(|v| v == "true") => {
                plan.risk = change_risk(plan.tier);
                plan.summary = format!(
                    "{}start a new deployment of {} with the same task definition {} (fresh tasks, image tags pulled again)",
                    if verb == Verb::Rerun { "restart: " } else { "" },
                    m.service,
                    m.task_definition
                );
                plan.calls.push(call("force a new deployment", format!("{update} forceNewDeployment=true")));
                plan.calls.push(watch);
                plan.verification = format!(
                    "DescribeServices: a new PRIMARY deployment of {}; rollout COMPLETED within {timeout}s",
                    m.task_definition
                );
                payload(plan, EcsChange::Force { deployment_before: m.primary_deployment.clone() });
                set(plan, "mode", "force");
                if let Some(d) = &m.primary_deployment {
                    set(plan, "deployment_before", d);
                }
            }
            Verb::Rollback | Verb::Promote => {
                let pos = r.versions.iter().position(|v| Some(v) == r.current_version.as_ref());
                let named = params.get("to").map(|t| (t, task_definition_named(t, &m.family)));
                let to = match (verb, named) {
                    (_, Some((_, Some(td)))) => td,
                    (Verb::Rollback, Some((t, None))) => {
                        return Err(ActionError::InvalidInput(format!(
                            "--to '{t}': a rollback goes to a task definition revision ({}:N or its ARN); to run another image, promote it",
                            m.family
                        )));
                    }
                    (_, Some((image, None))) => return self.plan_image(plan, m, image, watch),
                    (Verb::Rollback, None) => match pos.and_then(|p| r.versions.get(p + 1)) {
                        Some(prev) => prev.clone(),
                        None => {
                            return Err(not_applicable(
                                verb,
                                &m.service,
                                format!("no earlier active revision of {} than {}", m.family, m.task_definition),
                            ));
                        }
                    },
                    (_, None) => match pos.filter(|p| *p > 0) {
                        Some(p) => r.versions[p - 1].clone(),
                        None => {
                            return Err(not_applicable(
                                verb,
                                &m.service,
                                format!(
                                    "it runs the newest revision {}; pass --to IMAGE_TAG (a new revision with that image), --to {}:N, or --param force=true to redeploy",
                                    m.task_definition, m.family
                                ),
                            ));
                        }
                    },
                };
                if to == m.task_definition {
                    return Err(not_applicable(
                        verb,
                        &m.service,
                        format!("it already runs {to}; --param force=true redeploys it"),
                    ));
                }
                plan.risk = change_risk(plan.tier);
                plan.summary = format!(
                    "{} {} in {} from {} to {}",
                    if verb == Verb::Rollback { "roll back" } else { "promote" },
                    m.service,
                    m.cluster,
                    m.task_definition,
                    to
                );
                plan.calls.push(call(
                    format!("point the service at task definition {to}"),
                    format!("{update} taskDefinition={to}"),
                ));
                plan.calls.push(watch);
                plan.verification =
                    format!("DescribeServices: taskDefinition = {to}; PRIMARY deployment COMPLETED within {timeout}s");
                payload(plan, EcsChange::Update { task_definition: to.clone() });
                set(plan, "mode", "update");
                set(plan, "task_definition", &to);
            }
            Verb::Scale => {
                let count: i32 = params
                    .get("count")
                    .ok_or_else(|| ActionError::MissingInput("--count N (desired tasks)".into()))?
                    .trim()
                    .parse()
                    .map_err(|_| ActionError::InvalidInput("--count must be a whole number".into()))?;
                let max = crate::actions::limits::ECS_MAX_DESIRED as i32;
                if !(0..=max).contains(&count) {
                    return Err(ActionError::InvalidInput(format!("--count {count}: between 0 and {max} tasks")));
                }
                let desired: i32 =
                    r.details.iter().find(|(k, _)| k == "desired").and_then(|(_, v)| v.parse().ok()).unwrap_or(-1);
                if desired == count {
                    return Err(not_applicable(verb, &m.service, format!("it already wants {count} tasks")));
                }
                plan.risk = match (count, plan.tier) {
                    (0, Tier::Prod) => Risk::Critical,
                    (_, Tier::Prod) => Risk::High,
                    _ => Risk::Low,
                };
                plan.summary = format!(
                    "scale {} in {} from {desired} to {count} tasks{}",
                    m.service,
                    m.cluster,
                    if count == 0 { " (stops the service)" } else { "" }
                );
                plan.calls
                    .push(call(format!("set the desired count to {count}"), format!("{update} desiredCount={count}")));
                plan.calls.push(watch);
                plan.verification =
                    format!("DescribeServices: desiredCount = {count}, and {count} running within {timeout}s");
                payload(plan, EcsChange::Scale { count });
                set(plan, "mode", "scale");
                set(plan, "count", &count.to_string());
            }
            other => {
                return Err(not_applicable(
                    other,
                    &m.service,
                    "an ECS service can be rolled back, promoted (--to IMAGE_TAG or family:N; --param force=true redeploys) or scaled",
                ));
            }
        }
        Ok(())
    }

    /// Promote to an image: a new revision of the family with that image, then point at it.
    fn plan_image(
        &self,
        plan: &mut Plan,
        m: &ServiceMeta,
        to: &str,
        watch: crate::actions::PlannedCall,
    ) -> Result<(), ActionError> {
        let container = match (plan.request.params.get("container"), m.containers.as_slice()) {
            (Some(c), list) if list.iter().any(|(n, _)| n == c) => c.clone(),
            (Some(c), list) => {
                return Err(ActionError::InvalidInput(format!(
                    "{} has no container '{c}' (it has: {})",
                    m.task_definition,
                    list.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
            (None, [(only, _)]) => only.clone(),
            (None, []) => {
                return Err(ActionError::Failed(format!(
                    "the containers of {} are not known yet; refresh and try again",
                    m.task_definition
                )));
            }
            (None, list) => {
                return Err(ActionError::MissingInput(format!(
                    "--param container=NAME (one of: {})",
                    list.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        };
        let current = m.containers.iter().find(|(n, _)| *n == container).map(|(_, i)| i.clone()).unwrap_or_default();
        let image = image_with(&current, to)?;
        if image == current {
            return Err(not_applicable(
                plan.request.verb,
                &m.service,
                format!("container {container} already runs {image}; --param force=true redeploys it"),
            ));
        }
        let timeout = self.settings.rollout_timeout.as_secs();
        plan.risk = change_risk(plan.tier);
        plan.summary = format!(
            "promote {} in {}: container {container} from {current} to {image}, as a new revision of {} (a copy of {})",
            m.service, m.cluster, m.family, m.task_definition
        );
        plan.calls.push(call(
            format!(
                "register a new revision of {}: a copy of {} with {container} running {image}",
                m.family, m.task_definition
            ),
            format!(
                "ecs:RegisterTaskDefinition family={} (copy of {}) containerDefinitions[{container}].image={image}",
                m.family, m.task_definition
            ),
        ));
        plan.calls.push(call(
            "point the service at the new revision",
            format!(
                "ecs:UpdateService cluster={} service={} taskDefinition={}:<new revision>",
                m.cluster, m.service, m.family
            ),
        ));
        plan.calls.push(watch);
        plan.verification = format!(
            "DescribeServices: a new revision of {} whose {container} runs {image}; rollout COMPLETED within {timeout}s",
            m.family
        );
        plan.set_payload(AwsCall::Ecs {
            cluster: m.cluster.clone(),
            service: m.service.clone(),
            change: EcsChange::Register {
                container: container.clone(),
                image: image.clone(),
                base: m.task_definition_arn.clone(),
            },
        });
        let p = &mut plan.request.params;
        p.insert("mode".into(), "register".into());
        p.insert("container".into(), container);
        p.insert("image".into(), image);
        p.insert("base".into(), m.task_definition_arn.clone());
        Ok(())
    }

    pub(super) async fn execute_ecs(
        &self,
        cluster: &str,
        service: &str,
        change: &EcsChange,
    ) -> Result<String, ActionError> {
        let failed = |e: ProviderError| ActionError::Failed(e.to_string());
        let update = self.ecs.update_service().cluster(cluster).service(service);
        match change {
            EcsChange::Update { task_definition: td } => {
                update.task_definition(td).send().await.map_err(|e| failed(self.ecs_err("ecs:UpdateService", e)))?;
                Ok(format!("{service} now points at {td}"))
            }
            EcsChange::Force { .. } => {
                update
                    .force_new_deployment(true)
                    .send()
                    .await
                    .map_err(|e| failed(self.ecs_err("ecs:UpdateService", e)))?;
                Ok(format!("new deployment of {service} started"))
            }
            EcsChange::Scale { count } => {
                update.desired_count(*count).send().await.map_err(|e| failed(self.ecs_err("ecs:UpdateService", e)))?;
                Ok(format!("{service} desired count set to {count}"))
            }
            EcsChange::Register { container, image, base } => {
                let new = self.register_with_image(base, container, image).await.map_err(failed)?;
                update.task_definition(&new).send().await.map_err(|e| failed(self.ecs_err("ecs:UpdateService", e)))?;
                Ok(format!(
                    "registered {} ({container} = {image}); {service} now points at it",
                    short_task_definition(&new)
                ))
            }
        }
    }

    /// Registers a copy of `base` with one container's image replaced; returns the new ARN.
    async fn register_with_image(&self, base: &str, container: &str, image: &str) -> Result<String, ProviderError> {
        let resp = self
            .ecs
            .describe_task_definition()
            .task_definition(base)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| self.ecs_err("ecs:DescribeTaskDefinition", e))?;
        let tags = resp.tags().to_vec();
        let td = resp
            .task_definition
            .ok_or_else(|| ProviderError::Payload(format!("no task definition in the answer for {base}")))?;
        let mut containers = td.container_definitions.clone().unwrap_or_default();
        let slot = containers
            .iter_mut()
            .find(|c| c.name() == Some(container))
            .ok_or_else(|| ProviderError::Unavailable(format!("{base} has no container {container}")))?;
        slot.image = Some(image.to_string());
        let registered = self
            .ecs
            .register_task_definition()
            .set_family(td.family.clone())
            .set_task_role_arn(td.task_role_arn.clone())
            .set_execution_role_arn(td.execution_role_arn.clone())
            .set_network_mode(td.network_mode.clone())
            .set_container_definitions(Some(containers))
            .set_volumes(td.volumes.clone())
            .set_placement_constraints(td.placement_constraints.clone())
            .set_requires_compatibilities(td.requires_compatibilities.clone())
            .set_cpu(td.cpu.clone())
            .set_memory(td.memory.clone())
            .set_pid_mode(td.pid_mode.clone())
            .set_ipc_mode(td.ipc_mode.clone())
            .set_proxy_configuration(td.proxy_configuration.clone())
            .set_ephemeral_storage(td.ephemeral_storage.clone())
            .set_runtime_platform(td.runtime_platform.clone())
            .set_enable_fault_injection(td.enable_fault_injection)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| self.ecs_err("ecs:RegisterTaskDefinition", e))?;
        registered
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .map(str::to_string)
            .ok_or_else(|| ProviderError::Payload("RegisterTaskDefinition returned no ARN".into()))
    }

    /// Re-reads the service: the change took, then the rollout until steady, failed or timed out.
    pub(super) async fn verify_ecs(
        &self,
        cluster: &str,
        service: &str,
        change: &EcsChange,
    ) -> Result<String, ActionError> {
        let verify_failed = |e: ProviderError| ActionError::VerifyFailed(e.to_string());
        let started = Instant::now();
        let timeout = self.settings.rollout_timeout;
        let mut checked: Option<String> = None;
        loop {
            let s = self.describe_service(cluster, service).await.map_err(verify_failed)?;
            if checked.is_none() {
                let now_td = short_task_definition(s.task_definition().unwrap_or_default());
                checked = Some(match change {
                    EcsChange::Update { task_definition: want } => {
                        if now_td != *want {
                            return Err(ActionError::VerifyFailed(format!("{service} points at {now_td}, not {want}")));
                        }
                        format!("{service} runs {want}")
                    }
                    EcsChange::Register { container, image, base } => {
                        if now_td == short_task_definition(base) {
                            return Err(ActionError::VerifyFailed(format!("{service} still points at {now_td}")));
                        }
                        let td = self.task_definition(&now_td).await.map_err(verify_failed)?;
                        let running = td
                            .container_definitions()
                            .iter()
                            .find(|c| c.name() == Some(container.as_str()))
                            .and_then(|c| c.image())
                            .unwrap_or_default()
                            .to_string();
                        if running != *image {
                            return Err(ActionError::VerifyFailed(format!(
                                "{service} points at {now_td}, whose {container} runs {running}, not {image}"
                            )));
                        }
                        format!("{service} runs {now_td} ({container} = {image})")
                    }
                    EcsChange::Force { deployment_before } => {
                        let primary = s
                            .deployments()
                            .iter()
                            .find(|d| d.status() == Some("PRIMARY"))
                            .and_then(|d| d.id())
                            .unwrap_or_default()
                            .to_string();
                        if deployment_before.as_ref() == Some(&primary) {
                            return Err(ActionError::VerifyFailed(format!(
                                "no new deployment of {service}: {primary} is still the primary one"
                            )));
                        }
                        format!("{service} has a new deployment {primary}")
                    }
                    EcsChange::Scale { count: want } => {
                        if s.desired_count() != *want {
                            return Err(ActionError::VerifyFailed(format!(
                                "{service} wants {} tasks, not {want}",
                                s.desired_count()
                            )));
                        }
                        format!("{service} wants {want} tasks")
                    }
                });
            }
            let what = checked.clone().unwrap_or_default();
            match rollout_of(&s, matches!(change, EcsChange::Scale { .. })) {
                Rollout::Steady(d) => return Ok(format!("{what}; rollout {d}")),
                Rollout::Failed(d) => {
                    return Err(ActionError::VerifyFailed(format!("{what}, but the rollout FAILED: {d}")));
                }
                Rollout::InProgress(d) if started.elapsed() >= timeout => {
                    return Err(ActionError::VerifyFailed(format!(
                        "{what}, but the rollout is still in progress after {}s ({d}); it goes on: watch it in Resources",
                        timeout.as_secs()
                    )));
                }
                Rollout::InProgress(d) => {
                    tracing::info!("{service}: rollout {d}");
                    tokio::time::sleep(self.settings.rollout_poll).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ContainerDefinition, Deployment, DeploymentRolloutState, LogConfiguration, ServiceEvent};

    fn service(desired: i32, running: i32, deployments: Vec<Deployment>) -> Service {
        Service::builder()
            .service_arn("arn:aws:ecs:us-east-1:123456789012:service/shop-prod/web")
            .service_name("web")
            .status("ACTIVE")
            .desired_count(desired)
            .running_count(running)
            .pending_count(desired - running)
            .task_definition("arn:aws:ecs:us-east-1:123456789012:task-definition/web:41")
            .set_deployments(Some(deployments))
            .events(ServiceEvent::builder().message("(service web) has reached a steady state.").build())
            .build()
    }

    fn deployment(status: &str, td: &str, state: Option<DeploymentRolloutState>) -> Deployment {
        Deployment::builder()
            .id(format!("ecs-svc/{status}"))
            .status(status)
            .task_definition(td)
            .desired_count(2)
            .running_count(1)
            .set_rollout_state(state)
            .rollout_state_reason("tasks failed to start")
            .failed_tasks(3)
            .build()
    }

    #[test]
    fn rollout_states() {
        let done = service(2, 2, vec![deployment("PRIMARY", "web:41", Some(DeploymentRolloutState::Completed))]);
        assert!(matches!(rollout_of(&done, true), Rollout::Steady(_)));
        assert_eq!(service_level(&done), Level::Ok);
        let failed = service(2, 1, vec![deployment("PRIMARY", "web:41", Some(DeploymentRolloutState::Failed))]);
        match rollout_of(&failed, false) {
            Rollout::Failed(why) => assert_eq!(why, "tasks failed to start (3 failed tasks)"),
            other => panic!("{other:?}"),
        }
        assert_eq!(service_level(&failed), Level::Crit);
        let rolling = service(
            2,
            2,
            vec![
                deployment("PRIMARY", "web:41", Some(DeploymentRolloutState::InProgress)),
                deployment("ACTIVE", "web:40", Some(DeploymentRolloutState::Completed)),
            ],
        );
        assert!(matches!(rollout_of(&rolling, false), Rollout::InProgress(_)));
        assert_eq!(service_level(&rolling), Level::Warn);
        // A scale changes no deployment: steady only once every desired task runs.
        let scaling = service(4, 2, vec![deployment("PRIMARY", "web:41", Some(DeploymentRolloutState::Completed))]);
        assert!(matches!(rollout_of(&scaling, false), Rollout::Steady(_)));
        assert!(matches!(rollout_of(&scaling, true), Rollout::InProgress(_)));
        // Without a circuit breaker state: one deployment, all running.
        assert!(matches!(rollout_of(&service(1, 1, vec![]), false), Rollout::Steady(_)));
        assert_eq!(service_level(&service(3, 0, vec![])), Level::Crit);
    }

    #[test]
    fn service_maps_with_revisions_images_and_log_groups() {
        let s = service(2, 2, vec![deployment("PRIMARY", "web:41", Some(DeploymentRolloutState::Completed))]);
        let td = TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:41")
            .family("web")
            .revision(41)
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v41")
                    .log_configuration(
                        LogConfiguration::builder()
                            .log_driver(LogDriver::Awslogs)
                            .options("awslogs-group", "/ecs/web-prod")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build();
        let revs = vec!["web:41".to_string(), "web:39".into(), "web:40".into()];
        let (r, m) = map_service(&s, "shop-prod", Some(&td), &revs, "production".into(), "us-east-1");
        assert_eq!(r.id, "arn:aws:ecs:us-east-1:123456789012:service/shop-prod/web");
        assert_eq!(r.current_version.as_deref(), Some("web:41"));
        assert_eq!(r.versions, ["web:41", "web:40", "web:39"]);
        assert_eq!(r.status, "COMPLETED");
        let get = |k: &str| r.details.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("desired").as_deref(), Some("2"));
        assert_eq!(get("image app").as_deref(), Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v41"));
        assert!(get("deploy PRIMARY").unwrap().starts_with("web:41 COMPLETED"));
        assert!(get("event").unwrap().contains("steady state"));
        assert_eq!(m.log_groups, ["/ecs/web-prod"]);
        assert_eq!(m.family, "web");
    }

    #[test]
    fn images_and_task_definitions_from_to() {
        assert_eq!(
            image_with("123.dkr.ecr.us-east-1.amazonaws.com/web:v41", "v42").unwrap(),
            "123.dkr.ecr.us-east-1.amazonaws.com/web:v42"
        );
        assert_eq!(image_with("registry:5000/web", "v2").unwrap(), "registry:5000/web:v2");
        assert_eq!(image_with("web@sha256:abc", "v2").unwrap(), "web:v2");
        assert_eq!(image_with("web:v1", "nginx:1.27").unwrap(), "nginx:1.27");
        assert!(image_with("web:v1", "bad tag!").is_err());
        assert_eq!(task_definition_named("40", "web").as_deref(), Some("web:40"));
        assert_eq!(task_definition_named("web:40", "web").as_deref(), Some("web:40"));
        assert_eq!(
            task_definition_named("arn:aws:ecs:us-east-1:1:task-definition/web:7", "web").as_deref(),
            Some("web:7")
        );
        assert_eq!(task_definition_named("v42", "web"), None);
        assert_eq!(task_definition_named("nginx:1", "web"), None);
    }
}
