//! Risk follows the environment an action changes, not only the item it starts from: a deploy
//! workflow dispatched from a staging run with `environment=production` is a production action,
//! and so is re-running a run that deployed to production.

use serde::{Deserialize, Serialize};

use super::{Plan, Risk, Target, TargetKind, Verb};
use crate::model::{Snapshot, Tier};

/// Names of params (bare or as a workflow input `input.NAME`) whose value names the environment
/// an action deploys to. A value counts when it is a known environment's name or a tier word
/// (`production`, `prod`, `staging`, `stg`, `live`...).
pub const ENVIRONMENT_PARAMS: &[&str] = &[
    "environment",
    "env",
    "environment_name",
    "target",
    "target_environment",
    "target_env",
    "deploy_environment",
    "deploy_env",
    "stage",
    "tier",
];

/// Whether a param (or workflow input) name is one that names an environment.
pub fn is_environment_param(key: &str) -> bool {
    let key = key.strip_prefix("input.").unwrap_or(key).to_ascii_lowercase().replace('-', "_");
    ENVIRONMENT_PARAMS.contains(&key.as_str())
}

/// The tier of `value` when it names an environment: one the caller knows (`known`), else a
/// tier word. `None` when it is not an environment at all (`target=web`).
pub fn environment_tier(value: &str, known: &dyn Fn(&str) -> Option<Tier>) -> Option<Tier> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(tier) = known(value) {
        return Some(tier);
    }
    let canonical = crate::providers::canonical_environment(value);
    let tier = Tier::from_name(value);
    (matches!(canonical.as_str(), "production" | "staging" | "dev") || tier != Tier::Dev).then_some(tier)
}

/// An environment an action touches beyond its target's own, and why skydeck thinks so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub environment: String,
    pub why: String,
}

impl Plan {
    /// Raises the plan to `environment` when that is riskier than what it has: the plan's
    /// environment and tier become the touched one's, production makes the risk high, and a
    /// typed confirmation asks for that environment's name.
    pub fn touch(&mut self, environment: &str, tier: Tier, why: impl Into<String>) {
        if tier <= self.tier {
            return;
        }
        self.environment = environment.to_string();
        self.tier = tier;
        if tier == Tier::Prod && self.risk < Risk::High {
            self.risk = Risk::High;
        }
        self.touches = Some(Touch { environment: environment.to_string(), why: why.into() });
    }

    /// What every provider's plan starts with: environments named by the request's params
    /// (`environment=production`, `input.stage=prod`), and for a re-run the environments that
    /// run deployed to. `known` gives the tier of an environment the provider knows by name.
    pub fn touch_destinations(&mut self, snapshot: &Snapshot, target: &Target, known: &dyn Fn(&str) -> Option<Tier>) {
        let named: Vec<(String, String)> = self
            .request
            .params
            .iter()
            .filter(|(k, _)| is_environment_param(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, value) in named {
            if let Some(tier) = environment_tier(&value, known) {
                self.touch(value.trim(), tier, format!("{key}={value}"));
            }
        }
        // A restore (or snapshot) whose new server is named like another environment's
        // (`orders-prod` from a staging database) creates something in that environment.
        if matches!(self.request.verb, Verb::Restore | Verb::Snapshot)
            && let Some(name) = self.request.params.get("name").cloned()
        {
            let env = crate::providers::environment_of(&name, []);
            if env != "unassigned" {
                let tier = known(&env).unwrap_or_else(|| Tier::from_name(&env));
                self.touch(&env, tier, format!("the new '{name}' is named for {env}"));
            }
        }
        if target.kind == TargetKind::Run && self.request.verb == Verb::Rerun {
            for d in snapshot.deployments.iter().filter(|d| d.run_id.as_deref() == Some(target.id.as_str())) {
                let tier = known(&d.environment).unwrap_or_else(|| Tier::from_name(&d.environment));
                self.touch(&d.environment, tier, format!("the run deployed to {}", d.environment));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionRequest;

    fn plan(tier: Tier) -> Plan {
        Plan {
            request: ActionRequest::new(Verb::Dispatch, "r"),
            source: "s".into(),
            target_name: "Deploy #1".into(),
            environment: "staging".into(),
            tier,
            risk: Risk::Low,
            summary: String::new(),
            calls: Vec::new(),
            verification: String::new(),
            touches: None,
            action_name: None,
            payload: Default::default(),
        }
    }

    #[test]
    fn environment_values_are_names_or_tier_words() {
        let none = |_: &str| None;
        assert_eq!(environment_tier("production", &none), Some(Tier::Prod));
        assert_eq!(environment_tier("prod-eu", &none), Some(Tier::Prod));
        assert_eq!(environment_tier("stg", &none), Some(Tier::Staging));
        assert_eq!(environment_tier("dev", &none), Some(Tier::Dev));
        assert_eq!(environment_tier("web", &none), None);
        let main_is_prod = |n: &str| (n == "main").then_some(Tier::Prod);
        assert_eq!(environment_tier("main", &main_is_prod), Some(Tier::Prod));
        assert!(is_environment_param("input.environment") && is_environment_param("Target-Env"));
        assert!(!is_environment_param("version") && !is_environment_param("to"));
    }

    #[test]
    fn a_restore_named_for_production_is_production() {
        let target = Target {
            kind: TargetKind::Backup,
            id: "db".into(),
            name: "orders-stg".into(),
            environment: "staging".into(),
        };
        let mut p = plan(Tier::Staging);
        p.request.verb = Verb::Restore;
        p.request.params.insert("name".into(), "orders-restored".into());
        p.touch_destinations(&Snapshot::default(), &target, &|_| None);
        assert_eq!(p.touches, None, "a name without an environment suffix says nothing");
        p.request.params.insert("name".into(), "orders-prod".into());
        p.touch_destinations(&Snapshot::default(), &target, &|_| None);
        assert_eq!((p.tier, p.environment.as_str()), (Tier::Prod, "production"));
    }

    #[test]
    fn touching_production_raises_tier_risk_and_asks_for_its_name() {
        let mut p = plan(Tier::Staging);
        p.touch("dev", Tier::Dev, "lower tiers never lower a plan");
        assert_eq!((p.tier, p.touches.clone()), (Tier::Staging, None));
        assert_eq!(p.confirmation(), super::super::Confirmation::YesNo);
        p.touch("production", Tier::Prod, "input.environment=production");
        assert_eq!((p.tier, p.risk, p.environment.as_str()), (Tier::Prod, Risk::High, "production"));
        assert_eq!(p.confirmation(), super::super::Confirmation::TypeName("production".into()));
        assert!(p.render_text().contains("touches production (Prod): input.environment=production"));
    }
}
