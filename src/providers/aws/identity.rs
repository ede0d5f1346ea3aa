//! AWS's identity: its names, kinds, ARN variables and console links. This file is built in
//! every build (`providers/mod.rs` points `aws` at it without the `aws` feature), so the demo
//! and plugins know AWS without the SDK.

use crate::model::{Provider, ProviderInfo, Resource};
use crate::text::url_component as enc;

pub mod kind {
    pub const ECS_SERVICE: &str = "ECS service";
    pub const RDS_INSTANCE: &str = "RDS instance";
}

pub const PROVIDER: Provider = Provider::new(&ProviderInfo {
    column_always: true,
    column: Some("AWS"),
    kinds: &[kind::ECS_SERVICE, kind::RDS_INSTANCE],
    id_vars,
    console_url,
    new_secret_value: Some((false, "empty: the secret's rotation function makes the new value")),
    ..ProviderInfo::named("aws", "AWS")
});

/// Account, region and (for an ECS service) cluster of an ARN.
fn id_vars(id: &str) -> Vec<(&'static str, String)> {
    let mut vars = Vec::new();
    let Some(rest) = id.strip_prefix("arn:") else { return vars };
    let f: Vec<&str> = rest.splitn(5, ':').collect();
    if let [_partition, service, region, account, resource] = f[..] {
        if !region.is_empty() {
            vars.push(("region", region.to_string()));
        }
        vars.push(("account", account.to_string()));
        if service == "ecs"
            && let Some(path) = resource.strip_prefix("service/")
            && let Some((cluster, _)) = path.split_once('/')
        {
            vars.push(("cluster", cluster.to_string()));
        }
    }
    vars
}

fn console_url(r: &Resource) -> Option<String> {
    let service = r.id.strip_prefix("arn:")?.split(':').nth(1)?;
    let vars = id_vars(&r.id);
    let get = |k: &str| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
    let region = enc(get("region").unwrap_or(&r.region));
    let name = enc(&r.name);
    let console = format!("https://{region}.console.aws.amazon.com");
    match service {
        "ecs" => Some(format!(
            "{console}/ecs/v2/clusters/{}/services/{name}/health?region={region}",
            enc(get("cluster").unwrap_or(""))
        )),
        "rds" => Some(format!("{console}/rds/home?region={region}#database:id={name}")),
        "secretsmanager" => Some(format!("{console}/secretsmanager/secret?name={name}&region={region}")),
        "elasticache" => Some(format!("{console}/elasticache/home?region={region}#/redis/{name}")),
        "s3" => Some(format!("https://s3.console.aws.amazon.com/s3/buckets/{name}?region={region}")),
        _ => None,
    }
}

/// Why `ack` and `silence` do not apply to `CloudWatch` alarms (the adapter's refusals and the
/// demo's say the same). skydeck only silences for a set time (an untimed silence is forgotten
/// and hides the next outage).
pub const CLOUDWATCH_NO_ACK: &str =
    "CloudWatch alarms have no acknowledgement; the alarm clears when its metric recovers";
pub const CLOUDWATCH_NO_SILENCE: &str = "CloudWatch has no timed silence: DisableAlarmActions lasts until someone enables the actions again, so skydeck does not call it";
