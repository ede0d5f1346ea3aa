//! Secrets Manager: metadata only (name, last changed, last rotated, rotation and its schedule,
//! versions). Rotate now through the secret's rotation function, or put a new value read from
//! stdin by the CLI. The value is never read back, shown, logged or put in a plan.

use std::collections::HashMap;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, RotationRulesType, SecretListEntry};

use super::{AwsCall, AwsProvider, Fail, call, change_risk, environment_in_path, not_applicable, ts};
use crate::actions::{ActionError, Plan, Verb};
use crate::model::Secret;
use crate::providers::ProviderError;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct SecretMeta {
    pub name: String,
    pub rotation_enabled: bool,
    pub rotation_lambda: Option<String>,
    /// The version labelled AWSCURRENT when last read.
    pub current_version: Option<String>,
}

/// Days between rotations: `AutomaticallyAfterDays`, or a `rate(N days)` schedule.
pub(crate) fn rotation_days(rules: Option<&RotationRulesType>) -> Option<u32> {
    let rules = rules?;
    if let Some(d) = rules.automatically_after_days() {
        return u32::try_from(d).ok();
    }
    let expr = rules.schedule_expression()?.trim();
    let inner = expr.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u32 = n.parse().ok()?;
    match unit.trim() {
        "day" | "days" => Some(n),
        "hour" | "hours" => Some(n.div_ceil(24)),
        _ => None,
    }
}

fn current_version(stages: Option<&HashMap<String, Vec<String>>>) -> Option<String> {
    stages?.iter().find(|(_, labels)| labels.iter().any(|l| l == "AWSCURRENT")).map(|(id, _)| id.clone())
}

pub(crate) fn map_secret(e: &SecretListEntry, environment: String) -> (Secret, SecretMeta) {
    let rotation_enabled = e.rotation_enabled().unwrap_or(false);
    let secret = Secret {
        id: e.arn().unwrap_or_default().to_string(),
        name: e.name().unwrap_or_default().to_string(),
        store: "Secrets Manager".into(),
        provider: crate::providers::aws::PROVIDER,
        environment,
        enabled: e.deleted_date().is_none(),
        updated_at: e.last_changed_date().and_then(ts),
        last_rotated: e.last_rotated_date().and_then(ts),
        rotation_days: if rotation_enabled { rotation_days(e.rotation_rules()) } else { None },
        expires_at: None,
        versions: e.secret_versions_to_stages().map_or(0, |m| m.len() as u32),
    };
    let meta = SecretMeta {
        name: secret.name.clone(),
        rotation_enabled,
        rotation_lambda: e.rotation_lambda_arn().filter(|a| !a.is_empty()).map(str::to_string),
        current_version: current_version(e.secret_versions_to_stages()),
    };
    (secret, meta)
}

impl AwsProvider {
    fn sm_err<E>(
        &self,
        what: &str,
        e: aws_sdk_secretsmanager::error::SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>,
    ) -> ProviderError
    where
        E: aws_sdk_secretsmanager::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.errors.map(what, &e)
    }

    pub(super) async fn fetch_secrets(&self) -> Result<Vec<(Secret, SecretMeta)>, Fail> {
        let prefixes = &self.settings.secrets;
        let mut req = self.secrets.list_secrets().max_results(100);
        if !prefixes.is_empty() {
            req = req
                .filters(Filter::builder().key(FilterNameStringType::Name).set_values(Some(prefixes.clone())).build());
        }
        let pages = req
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.sm_err("secretsmanager:ListSecrets", e))?;
        let entries: Vec<SecretListEntry> = pages.into_iter().flat_map(|p| p.secret_list.unwrap_or_default()).collect();
        Ok(entries
            .iter()
            .filter(|e| prefixes.is_empty() || prefixes.iter().any(|p| e.name().is_some_and(|n| n.starts_with(p))))
            .map(|e| {
                let name = e.name().unwrap_or_default();
                let tags: Vec<(&str, &str)> = e.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))).collect();
                let mut env = self.environment(&[name], &tags);
                if env == "unassigned"
                    && let Some(found) = environment_in_path(name)
                {
                    env = crate::providers::configured_environment(&self.config, &found);
                }
                map_secret(e, env)
            })
            .collect())
    }

    pub(super) fn plan_secret(&self, plan: &mut Plan, m: &SecretMeta) -> Result<(), ActionError> {
        let verb = plan.request.verb;
        if verb != Verb::Rotate {
            return Err(not_applicable(
                verb,
                &m.name,
                "a secret can be rotated (or given a new value with --value-stdin)",
            ));
        }
        let arn = plan.request.target.clone();
        let put = plan.request.params.get("value_from_stdin").is_some_and(|v| v == "true");
        let before = m.current_version.clone().unwrap_or_default();
        plan.risk = change_risk(plan.tier);
        if put {
            plan.summary = format!(
                "put a new value into {} (read from stdin, never shown); it becomes AWSCURRENT, the present one AWSPREVIOUS",
                m.name
            );
            plan.calls.push(call(
                "store the new value as a new version",
                format!("secretsmanager:PutSecretValue SecretId={arn} SecretString=<from stdin, not shown>"),
            ));
            plan.verification = format!("DescribeSecret: AWSCURRENT is a new version (not {before})");
            plan.request.params.insert("mode".into(), "put".into());
        } else {
            if !m.rotation_enabled && m.rotation_lambda.is_none() {
                return Err(not_applicable(
                    verb,
                    &m.name,
                    "it has no rotation function; configure rotation in Secrets Manager, or put a new value: skydeck act rotate ID --value-stdin",
                ));
            }
            plan.summary = format!(
                "rotate {} now through its rotation function{}",
                m.name,
                m.rotation_lambda
                    .as_deref()
                    .map(|l| format!(" {}", l.rsplit(':').next().unwrap_or(l)))
                    .unwrap_or_default()
            );
            plan.calls.push(call(
                "start a rotation",
                format!("secretsmanager:RotateSecret SecretId={arn} RotateImmediately=true"),
            ));
            plan.verification = format!(
                "DescribeSecret: a new version is AWSCURRENT (not {before}), or AWSPENDING while the function runs"
            );
            plan.request.params.insert("mode".into(), "rotate".into());
        }
        plan.set_payload(AwsCall::Secret { rotate: !put, version_before: before.clone() });
        plan.request.params.insert("aws".into(), "secretsmanager".into());
        plan.request.params.insert("version_before".into(), before);
        Ok(())
    }

    pub(super) async fn execute_secret(&self, plan: &Plan, rotate: bool) -> Result<String, ActionError> {
        let arn = &plan.request.target;
        let failed = |e: ProviderError| ActionError::Failed(e.to_string());
        if rotate {
            let resp = self
                .secrets
                .rotate_secret()
                .secret_id(arn)
                .rotate_immediately(true)
                .send()
                .await
                .map_err(|e| failed(self.sm_err("secretsmanager:RotateSecret", e)))?;
            Ok(format!("rotation of {} started (version {})", plan.target_name, resp.version_id().unwrap_or("?")))
        } else {
            let value = plan.request.secret_input.as_ref().ok_or_else(|| {
                ActionError::MissingInput(
                    "the new value: run `skydeck act rotate ID --value-stdin` and write it to stdin".into(),
                )
            })?;
            let resp = self
                .secrets
                .put_secret_value()
                .secret_id(arn)
                .secret_string(value.as_str())
                .send()
                .await
                .map_err(|e| failed(self.sm_err("secretsmanager:PutSecretValue", e)))?;
            Ok(format!("new version {} of {} stored", resp.version_id().unwrap_or("?"), plan.target_name))
        }
    }

    pub(super) async fn verify_secret(&self, plan: &Plan, rotate: bool, before: &str) -> Result<String, ActionError> {
        let resp = self
            .secrets
            .describe_secret()
            .secret_id(&plan.request.target)
            .send()
            .await
            .map_err(|e| ActionError::VerifyFailed(self.sm_err("secretsmanager:DescribeSecret", e).to_string()))?;
        let stages = resp.version_ids_to_stages();
        let current = current_version(stages).unwrap_or_default();
        if !current.is_empty() && current != before {
            return Ok(format!(
                "AWSCURRENT is version {current}{}",
                if before.is_empty() { String::new() } else { format!(" (was {before})") }
            ));
        }
        let pending = stages.and_then(|m| {
            m.iter()
                .find(|(id, labels)| **id != before && labels.iter().any(|l| l == "AWSPENDING"))
                .map(|(id, _)| id.clone())
        });
        match (rotate, pending) {
            (true, Some(p)) => {
                Ok(format!("rotation in progress: version {p} is AWSPENDING; the rotation function makes it current"))
            }
            _ => Err(ActionError::VerifyFailed(format!(
                "AWSCURRENT is still version {current}; no new version took over"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::primitives::DateTime;

    #[test]
    fn rotation_schedules() {
        let days = |d| RotationRulesType::builder().automatically_after_days(d).build();
        let rate = |r: &str| RotationRulesType::builder().schedule_expression(r).build();
        assert_eq!(rotation_days(Some(&days(30))), Some(30));
        assert_eq!(rotation_days(Some(&rate("rate(10 days)"))), Some(10));
        assert_eq!(rotation_days(Some(&rate("rate(36 hours)"))), Some(2));
        assert_eq!(rotation_days(Some(&rate("cron(0 16 1,15 * ? *)"))), None);
        assert_eq!(rotation_days(None), None);
    }

    #[test]
    fn secret_metadata_maps_without_the_value() {
        let e = SecretListEntry::builder()
            .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:inference/prod/openai-key-Ab12Cd")
            .name("inference/prod/openai-key")
            .rotation_enabled(true)
            .rotation_rules(RotationRulesType::builder().automatically_after_days(30).build())
            .last_rotated_date(DateTime::from_secs(1_700_000_000))
            .last_changed_date(DateTime::from_secs(1_700_000_100))
            .secret_versions_to_stages("v1", vec!["AWSPREVIOUS".to_string()])
            .secret_versions_to_stages("v2", vec!["AWSCURRENT".to_string()])
            .build();
        let (s, m) = map_secret(&e, "production".into());
        assert_eq!(s.store, "Secrets Manager");
        assert_eq!(s.rotation_days, Some(30));
        assert_eq!(s.versions, 2);
        assert_eq!(s.last_rotated.unwrap().timestamp(), 1_700_000_000);
        assert!(s.next_rotation().is_some());
        assert_eq!(m.current_version.as_deref(), Some("v2"));
    }
}
