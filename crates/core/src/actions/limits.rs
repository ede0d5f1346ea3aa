//! How far a compute resource can scale, read from what its adapter reported: the count it
//! runs now and the provider's own ceiling (ECS desired count, App Service plan maximum
//! workers, Cloud Run max instances). The scale form shows and enforces these before planning.

use crate::actions::{ActionError, ActionRequest};
use crate::model::Resource;

/// The highest desired count skydeck's ECS planner accepts for one service.
pub const ECS_MAX_DESIRED: u32 = 1000;

/// Cloud Run's maximum instances when a service sets none.
pub const CLOUD_RUN_DEFAULT_MAX: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleLimits {
    /// The count the resource runs (or wants) now, when the provider reports it.
    pub current: Option<u32>,
    /// The highest count the provider allows, when one is known.
    pub max: Option<u32>,
    /// Where the ceiling comes from, or that none is known, in the words of the provider.
    pub limit_text: String,
}

/// A count above what the provider allows.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{count} is above the limit of {max} ({limit_text})")]
pub struct AboveLimit {
    pub count: u32,
    pub max: u32,
    pub limit_text: String,
}

impl ScaleLimits {
    /// `Err` with the reason when `count` is outside what the provider allows.
    pub fn check(&self, count: u32) -> Result<(), AboveLimit> {
        match self.max {
            Some(max) if count > max => Err(AboveLimit { count, max, limit_text: self.limit_text.clone() }),
            _ => Ok(()),
        }
    }
}

fn detail<'a>(r: &'a Resource, key: &str) -> Option<&'a str> {
    r.details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The first whole number in `text`.
fn first_number(text: &str) -> Option<u32> {
    let digits: String = text.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The number after the last "max " in `text` ("min 0, max 10; service min 1, max 20" -> 20),
/// `Err(())` when that maximum is "default".
fn last_max(text: &str) -> Option<Result<u32, ()>> {
    let at = text.rfind("max ")?;
    let rest = &text[at + 4..];
    if rest.starts_with("default") {
        return Some(Err(()));
    }
    first_number(rest).map(Ok)
}

/// "3 instances of max 10" (the App Service plan's size as the Azure adapter words it).
fn plan_size(text: &str) -> (Option<u32>, Option<u32>) {
    let current = first_number(text);
    let max = text.split_once("of max ").and_then(|(_, m)| first_number(m));
    (current, max)
}

/// The shortest silence skydeck sets: less is over before anyone reads the plan.
pub const SILENCE_MIN_MINUTES: i64 = 5;
/// The longest: a longer one is a change to the alert, made where the alert is defined.
pub const SILENCE_MAX_DAYS: i64 = 7;

/// How long `silence` lasts: the request's `for` (`--for 2h`: `m`, `h` or `d`), between
/// [`SILENCE_MIN_MINUTES`] and [`SILENCE_MAX_DAYS`]. There is no default: a silence nobody sized
/// is one nobody remembers.
pub fn silence_for(request: &ActionRequest) -> Result<chrono::Duration, ActionError> {
    let Some(raw) = request.params.get("for").map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Err(ActionError::MissingInput("how long to silence: --for 30m, 2h or 1d (at most 7d)".into()));
    };
    let bad = || ActionError::InvalidInput(format!("--for '{raw}' is not a duration: write 30m, 2h or 1d"));
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = raw.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let minutes = match unit.trim() {
        "m" | "min" | "minutes" => n,
        "h" | "hours" => n.saturating_mul(60),
        "d" | "days" => n.saturating_mul(24 * 60),
        _ => return Err(bad()),
    };
    if minutes < SILENCE_MIN_MINUTES {
        return Err(ActionError::InvalidInput(format!("--for {raw} is too short: at least {SILENCE_MIN_MINUTES}m")));
    }
    if minutes > SILENCE_MAX_DAYS * 24 * 60 {
        return Err(ActionError::InvalidInput(format!(
            "--for {raw} is too long: at most {SILENCE_MAX_DAYS}d (change the alert rule for longer)"
        )));
    }
    Ok(chrono::Duration::minutes(minutes))
}

pub fn scale_limits(r: &Resource) -> ScaleLimits {
    let none = |current: Option<u32>, what: &str| ScaleLimits {
        current,
        max: None,
        limit_text: format!("{what}: no known limit; the provider checks the count"),
    };
    match r.kind.as_str() {
        "ECS service" => ScaleLimits {
            current: detail(r, "desired").and_then(first_number),
            max: Some(ECS_MAX_DESIRED),
            limit_text: format!("ECS desired count, 0 to {ECS_MAX_DESIRED} tasks"),
        },
        "App Service Plan" => match plan_size(detail(r, "instances").unwrap_or("")) {
            (current, Some(max)) => ScaleLimits {
                current,
                max: Some(max),
                limit_text: format!("App Service plan maximum workers {max} (SKU limit)"),
            },
            (current, None) => none(current, "App Service plan"),
        },
        "App Service" | "Function App" => {
            let (current, max) = match detail(r, "plan") {
                Some(plan) => plan_size(plan.rsplit_once('(').map_or(plan, |(_, p)| p)),
                None => (detail(r, "plan instances").and_then(first_number), None),
            };
            match max {
                Some(max) => ScaleLimits {
                    current,
                    max: Some(max),
                    limit_text: format!("its App Service plan's maximum workers {max} (SKU limit)"),
                },
                None => none(current, "App Service plan"),
            }
        }
        "Cloud Run service" => {
            let instances = detail(r, "instances").unwrap_or("");
            // The demo words it "0..10"; the GCP adapter "min 0, max 10 per revision; service ...".
            let max = match last_max(instances) {
                Some(Ok(m)) => Some(m),
                Some(Err(())) => Some(CLOUD_RUN_DEFAULT_MAX),
                None => instances.split_once("..").and_then(|(_, m)| first_number(m)),
            };
            match max {
                Some(max) => ScaleLimits {
                    current: None,
                    max: Some(max),
                    limit_text: format!("Cloud Run max instances {max}; it scales by itself below that"),
                },
                None => none(None, "Cloud Run"),
            }
        }
        other => none(detail(r, "desired").and_then(first_number), other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Verb;
    use crate::model::{Level, Role};

    fn silence(raw: Option<&str>) -> Result<i64, ActionError> {
        let mut r = ActionRequest::new(Verb::Silence, "a");
        if let Some(raw) = raw {
            r.params.insert("for".into(), raw.into());
        }
        silence_for(&r).map(|d| d.num_minutes())
    }

    #[test]
    fn a_silence_is_sized_between_five_minutes_and_seven_days() {
        assert_eq!(silence(Some("30m")).unwrap(), 30);
        assert_eq!(silence(Some(" 2h ")).unwrap(), 120);
        assert_eq!(silence(Some("7d")).unwrap(), 7 * 24 * 60);
        assert!(matches!(silence(None), Err(ActionError::MissingInput(m)) if m.contains("--for")));
        for (raw, says) in [("4m", "too short"), ("8d", "too long"), ("2w", "not a duration"), ("h", "not a duration")]
        {
            let err = silence(Some(raw)).unwrap_err().to_string();
            assert!(err.contains(says), "{raw}: {err}");
        }
        // Far too many digits is an error, not an overflow.
        assert!(silence(Some("99999999999999999999d")).is_err());
    }

    fn resource(kind: &str, details: &[(&str, &str)]) -> Resource {
        Resource {
            id: "id".into(),
            name: "name".into(),
            kind: kind.into(),
            role: Role::Compute,
            provider: crate::model::TEST_CLOUD,
            environment: "production".into(),
            region: String::new(),
            status: "Running".into(),
            level: Level::Ok,
            current_version: None,
            versions: Vec::new(),
            details: details.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn each_provider_reports_its_own_ceiling() {
        let ecs = scale_limits(&resource("ECS service", &[("desired", "4")]));
        assert_eq!((ecs.current, ecs.max), (Some(4), Some(ECS_MAX_DESIRED)));
        let plan = scale_limits(&resource("App Service Plan", &[("instances", "3 instances of max 10")]));
        assert_eq!((plan.current, plan.max), (Some(3), Some(10)));
        let site = scale_limits(&resource("App Service", &[("plan", "shop-plan (1 instance of max 30)")]));
        assert_eq!((site.current, site.max), (Some(1), Some(30)));
        let run = scale_limits(&resource("Cloud Run service", &[("instances", "min 0, max 5 per revision")]));
        assert_eq!(run.max, Some(5));
        let run = scale_limits(&resource("Cloud Run service", &[("instances", "min 0, max default per revision")]));
        assert_eq!(run.max, Some(CLOUD_RUN_DEFAULT_MAX));
        let demo_run = scale_limits(&resource("Cloud Run service", &[("instances", "0..3")]));
        assert_eq!(demo_run.max, Some(3));
        let unknown = scale_limits(&resource("App Service", &[("plan instances", "3")]));
        assert_eq!((unknown.current, unknown.max), (Some(3), None));
        assert!(unknown.limit_text.contains("no known limit"), "{}", unknown.limit_text);
        assert!(ecs.check(1001).is_err() && ecs.check(1000).is_ok() && unknown.check(5000).is_ok());
    }
}
