//! `[aws]`: the section, its defaults and its checks.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{line_of, line_of_key};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// `LocalStack`, moto or a VPC endpoint instead of AWS's own endpoints.
    pub endpoint_url: Option<String>,
    /// Several accounts or regions side by side, one entry each. When present, the keys above
    /// are the defaults of every entry and `[aws]` itself is not read as an account.
    pub accounts: Vec<AwsAccountConfig>,
    /// Narrowing: ECS clusters (names or ARNs). Empty: every cluster in the region.
    pub clusters: Vec<String>,
    /// Narrowing: RDS instance identifiers. Empty: every instance.
    pub db_instances: Vec<String>,
    /// Narrowing: Secrets Manager name prefixes. Empty: every secret.
    pub secrets: Vec<String>,
    /// `CloudWatch` Logs groups to tail besides those the services' task definitions name.
    pub log_groups: Vec<String>,
    /// ECS service name -> its ALB (`app/NAME/ID`), for the 5xx rate and latency metrics.
    pub load_balancers: BTreeMap<String, AwsLoadBalancerConfig>,
    /// Backup retention policy in days for every tier (default: 35 in prod, 7 elsewhere).
    pub required_retention_days: Option<u32>,
    /// How long an ECS action watches the rollout before calling it failed.
    pub rollout_timeout_seconds: u64,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            region: None,
            profile: None,
            endpoint_url: None,
            accounts: Vec::new(),
            clusters: Vec::new(),
            db_instances: Vec::new(),
            secrets: Vec::new(),
            log_groups: Vec::new(),
            load_balancers: BTreeMap::new(),
            required_retention_days: None,
            rollout_timeout_seconds: 600,
        }
    }
}

/// One `[[aws.accounts]]` entry; unset keys fall back to `[aws]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AwsAccountConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub clusters: Vec<String>,
    pub db_instances: Vec<String>,
    pub secrets: Vec<String>,
    pub log_groups: Vec<String>,
    pub load_balancers: BTreeMap<String, AwsLoadBalancerConfig>,
    pub required_retention_days: Option<u32>,
}

/// The `CloudWatch` dimensions of an Application Load Balancer in front of a service.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AwsLoadBalancerConfig {
    /// `app/NAME/ID`, the `LoadBalancer` dimension (the tail of the ALB's ARN).
    pub load_balancer: String,
    /// `targetgroup/NAME/ID`, to narrow the metrics to the service's target group.
    pub target_group: Option<String>,
}

impl AwsConfig {
    /// Checks that point at `file:line` (the line in `text`).
    fn checks(&self, text: &str) -> Result<(), (usize, String)> {
        let endpoints = self.endpoint_url.iter().chain(self.accounts.iter().filter_map(|a| a.endpoint_url.as_ref()));
        for url in endpoints {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                let line = text.find(url.as_str()).map_or(1, |at| line_of(text, at));
                return Err((line, format!("endpoint_url '{url}' must start with http:// or https://")));
            }
        }
        if self.rollout_timeout_seconds == 0 {
            return Err((
                line_of_key(text, "rollout_timeout_seconds"),
                "rollout_timeout_seconds must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl crate::config::ConfigSection for AwsConfig {
    const KEY: &'static str = "aws";

    fn validate(&self, text: &str) -> Result<(), (usize, String)> {
        self.checks(text)
    }
}
