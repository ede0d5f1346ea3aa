//! `CloudWatch` alarms: one `DescribeAlarms` for every metric and composite alarm, every page.
//! Those not OK (`ALARM`, `INSUFFICIENT_DATA`) are [`Alert`]s; every alarm is an [`AlertRule`],
//! so one whose actions are disabled (`DisableAlarmActions`) or that has no alarm action shows
//! as a rule that would stay quiet.
//!
//! `CloudWatch` alarms have no severity, so skydeck grades them by a convention:
//! `INSUFFICIENT_DATA` is a warning; `ALARM` is critical when the alarm is about a production
//! environment or its name or description says so (`critical`, `sev1`/`sev-1`, `p1` as a word),
//! else an error. Alarms cannot be acknowledged in `CloudWatch`.

use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, Dimension, MetricAlarm, StateValue};

use super::{AwsProvider, ts};
use crate::model::{Alert, AlertKind, AlertRule, AlertSeverity, AlertState, Tier, Timestamp};
use crate::providers::ProviderError;

/// Pages at most (100 alarms a page).
const MAX_PAGES: usize = 50;

/// The dimensions that name what an alarm watches, most telling first.
const RESOURCE_DIMENSIONS: &[&str] = &[
    "ServiceName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "FunctionName",
    "LoadBalancer",
    "TargetGroup",
    "QueueName",
    "TableName",
    "BucketName",
    "AutoScalingGroupName",
    "InstanceId",
    "ClusterName",
];

/// An alarm's fields that the mapping needs, metric or composite.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmFacts {
    pub name: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    pub state: StateValue,
    pub since: Option<Timestamp>,
    /// What it watches: a dimension's value, else `namespace/metric`, else "composite alarm".
    pub resource: String,
    /// `ActionsEnabled` (false after `DisableAlarmActions`).
    pub actions_enabled: bool,
    /// Whether it has an action for the `ALARM` state.
    pub has_alarm_actions: bool,
}

impl AlarmFacts {
    pub fn metric(a: &MetricAlarm) -> AlarmFacts {
        let resource = resource_of(a.dimensions()).unwrap_or_else(|| match (a.namespace(), a.metric_name()) {
            (Some(ns), Some(m)) => format!("{ns}/{m}"),
            (_, Some(m)) => m.to_string(),
            _ => "metric math".to_string(),
        });
        AlarmFacts {
            name: a.alarm_name().unwrap_or_default().to_string(),
            arn: a.alarm_arn().map(str::to_string),
            description: a.alarm_description().map(str::to_string),
            state: a.state_value().cloned().unwrap_or(StateValue::Alarm),
            since: a.state_updated_timestamp().and_then(ts),
            resource,
            actions_enabled: a.actions_enabled().unwrap_or(true),
            has_alarm_actions: !a.alarm_actions().is_empty(),
        }
    }

    pub fn composite(a: &CompositeAlarm) -> AlarmFacts {
        AlarmFacts {
            name: a.alarm_name().unwrap_or_default().to_string(),
            arn: a.alarm_arn().map(str::to_string),
            description: a.alarm_description().map(str::to_string),
            state: a.state_value().cloned().unwrap_or(StateValue::Alarm),
            since: a.state_updated_timestamp().and_then(ts),
            resource: "composite alarm".to_string(),
            actions_enabled: a.actions_enabled().unwrap_or(true),
            has_alarm_actions: !a.alarm_actions().is_empty(),
        }
    }
}

/// The value of the most telling dimension, else of the first one.
fn resource_of(dims: &[Dimension]) -> Option<String> {
    let value = |name: &str| dims.iter().find(|d| d.name() == Some(name)).and_then(Dimension::value);
    RESOURCE_DIMENSIONS
        .iter()
        .find_map(|n| value(n))
        .or_else(|| dims.first().and_then(Dimension::value))
        .map(str::to_string)
}

/// Whether the text marks the alarm as critical by the convention above.
fn says_critical(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("critical")
        || lower.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').any(|w| matches!(w, "sev1" | "sev-1" | "p1"))
}

/// The severity by the convention in the module's documentation.
pub fn severity(facts: &AlarmFacts, tier: Tier) -> AlertSeverity {
    if facts.state == StateValue::InsufficientData {
        return AlertSeverity::Warning;
    }
    let named = says_critical(&facts.name) || facts.description.as_deref().is_some_and(says_critical);
    if named || tier == Tier::Prod { AlertSeverity::Critical } else { AlertSeverity::Error }
}

/// The alarm's page in the `CloudWatch` console.
pub fn console_link(region: &str, name: &str) -> String {
    let encoded = crate::text::url_component(name);
    format!("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{encoded}")
}

/// One alarm as an [`Alert`] in `environment` (of tier `tier`).
pub fn alert_of(facts: &AlarmFacts, region: &str, environment: String, tier: Tier) -> Alert {
    Alert {
        id: facts.arn.clone().unwrap_or_else(|| format!("cloudwatch:{region}:alarm:{}", facts.name)),
        provider: crate::providers::aws::PROVIDER,
        source: "CloudWatch".into(),
        kind: AlertKind::Monitoring,
        name: facts.name.clone(),
        severity: severity(facts, tier),
        state: if facts.state == StateValue::InsufficientData {
            AlertState::InsufficientData
        } else {
            AlertState::Firing
        },
        resource: facts.resource.clone(),
        environment,
        since: facts.since,
        link: Some(console_link(region, &facts.name)),
        can_ack: false,
        can_silence: false,
        silenced_until: None,
        acked_by: None,
    }
}

/// The environment a word of an alarm's name names (`web-prod-5xx`), if any.
fn environment_in_words(name: &str) -> Option<String> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .map(crate::providers::canonical_environment)
        .find(|e| matches!(e.as_str(), "production" | "staging" | "dev"))
}

impl AwsProvider {
    /// An alarm's environment: its name's or resource's suffix as for other resources, else a
    /// word of its name (`web-prod-5xx`), else "unassigned".
    fn alarm_environment(&self, f: &AlarmFacts) -> String {
        let env = self.environment(&[&f.name, &f.resource], &[]);
        if env != "unassigned" {
            return env;
        }
        match environment_in_words(&f.name).or_else(|| environment_in_words(&f.resource)) {
            Some(e) => crate::providers::configured_environment(&self.config, &e),
            None => env,
        }
    }

    /// Every metric and composite alarm: those in `ALARM` or `INSUFFICIENT_DATA` as alerts, all
    /// of them as rules.
    pub async fn fetch_alarms(&self) -> Result<(Vec<Alert>, Vec<AlertRule>), ProviderError> {
        let mut facts = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .cloudwatch
                .describe_alarms()
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.errors.map("cloudwatch:DescribeAlarms", &e))?;
            facts.extend(page.metric_alarms().iter().map(AlarmFacts::metric));
            facts.extend(page.composite_alarms().iter().map(AlarmFacts::composite));
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        facts.retain(|f| !f.name.is_empty());
        // ALARM first, then INSUFFICIENT_DATA, each in the order listed.
        facts.sort_by_key(|f| f.state != StateValue::Alarm);
        let mut alerts = Vec::new();
        let mut rules = Vec::new();
        for f in &facts {
            let environment = self.alarm_environment(f);
            if matches!(f.state, StateValue::Alarm | StateValue::InsufficientData) {
                let tier = self.config.tier_of(&environment);
                alerts.push(alert_of(f, &self.region, environment.clone(), tier));
            }
            rules.push(rule_of(f, &self.region, environment));
        }
        Ok((alerts, rules))
    }
}

/// One alarm as a rule: "enabled" is always true (an alarm cannot be switched off, only its
/// actions); it notifies when its actions are on and it has one for `ALARM`.
pub fn rule_of(facts: &AlarmFacts, region: &str, environment: String) -> AlertRule {
    AlertRule {
        id: facts.arn.clone().unwrap_or_else(|| format!("cloudwatch:{region}:alarm:{}", facts.name)),
        provider: crate::providers::aws::PROVIDER,
        source: "CloudWatch".into(),
        name: facts.name.clone(),
        environment,
        enabled: true,
        notifies: facts.actions_enabled && facts.has_alarm_actions,
        link: Some(console_link(region, &facts.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, state: StateValue, description: Option<&str>) -> AlarmFacts {
        AlarmFacts {
            name: name.into(),
            arn: None,
            description: description.map(str::to_string),
            state,
            since: None,
            resource: "web".into(),
            actions_enabled: true,
            has_alarm_actions: true,
        }
    }

    #[test]
    fn an_alarm_with_its_actions_off_or_none_notifies_nobody() {
        let on = facts("web-prod-5xx", StateValue::Ok, None);
        assert_eq!(rule_of(&on, "eu-west-1", "production".into()).problem(), None);
        let off = AlarmFacts { actions_enabled: false, ..on.clone() };
        assert_eq!(rule_of(&off, "eu-west-1", "production".into()).problem(), Some("notifies nobody when it fires"));
        let none = AlarmFacts { has_alarm_actions: false, ..on };
        assert!(!rule_of(&none, "eu-west-1", "production".into()).notifies);
    }

    #[test]
    fn environment_from_a_word_of_the_name() {
        assert_eq!(environment_in_words("web-prod-5xx").as_deref(), Some("production"));
        assert_eq!(environment_in_words("stg/orders cpu").as_deref(), Some("staging"));
        assert_eq!(environment_in_words("products-cpu"), None);
    }

    #[test]
    fn severity_follows_the_documented_convention() {
        let alarm = |n, d| facts(n, StateValue::Alarm, d);
        assert_eq!(severity(&alarm("web-5xx", None), Tier::Dev), AlertSeverity::Error);
        assert_eq!(severity(&alarm("web-5xx", None), Tier::Prod), AlertSeverity::Critical);
        assert_eq!(severity(&alarm("web-5xx-critical", None), Tier::Dev), AlertSeverity::Critical);
        assert_eq!(severity(&alarm("web", Some("[P1] page the on-call")), Tier::Dev), AlertSeverity::Critical);
        assert_eq!(severity(&alarm("web", Some("SEV-1")), Tier::Staging), AlertSeverity::Critical);
        assert_eq!(severity(&alarm("p10-latency", None), Tier::Dev), AlertSeverity::Error);
        let nodata = facts("web-critical", StateValue::InsufficientData, None);
        assert_eq!(severity(&nodata, Tier::Prod), AlertSeverity::Warning);
    }

    #[test]
    fn metric_alarms_map_with_resource_environment_and_link() {
        let a = MetricAlarm::builder()
            .alarm_name("orders db/cpu")
            .alarm_arn("arn:aws:cloudwatch:eu-west-1:1:alarm:orders db/cpu")
            .state_value(StateValue::Alarm)
            .namespace("AWS/RDS")
            .metric_name("CPUUtilization")
            .dimensions(Dimension::builder().name("Role").value("writer").build())
            .dimensions(Dimension::builder().name("DBInstanceIdentifier").value("orders-prod").build())
            .state_updated_timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(1_800_000_000))
            .build();
        let f = AlarmFacts::metric(&a);
        assert_eq!(f.resource, "orders-prod");
        let alert = alert_of(&f, "eu-west-1", "production".into(), Tier::Prod);
        assert_eq!(alert.id, "arn:aws:cloudwatch:eu-west-1:1:alarm:orders db/cpu");
        assert_eq!(alert.severity, AlertSeverity::Critical);
        assert_eq!(alert.state, AlertState::Firing);
        assert_eq!(alert.since.map(|t| t.timestamp()), Some(1_800_000_000));
        assert_eq!(
            alert.link.as_deref(),
            Some(
                "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/orders%20db%2Fcpu"
            )
        );
        assert!(!alert.can_ack);
        let bare = MetricAlarm::builder().alarm_name("x").namespace("AWS/SQS").metric_name("Age").build();
        assert_eq!(AlarmFacts::metric(&bare).resource, "AWS/SQS/Age");
        let composite = CompositeAlarm::builder().alarm_name("shop-down").state_value(StateValue::Alarm).build();
        assert_eq!(AlarmFacts::composite(&composite).resource, "composite alarm");
    }
}
