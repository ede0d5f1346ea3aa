//! Google Cloud's identity: its names, kinds, resource name variables and console links. Built
//! in every build (`providers/mod.rs` points `gcp` at it without the `gcp` feature).

use crate::model::{Provider, ProviderInfo, Resource};
use crate::text::url_component as enc;

pub mod kind {
    pub const CLOUD_RUN_SERVICE: &str = "Cloud Run service";
    pub const CLOUD_SQL_INSTANCE: &str = "Cloud SQL instance";
}

pub const PROVIDER: Provider = Provider::new(&ProviderInfo {
    column_always: true,
    column: Some("GCP"),
    kinds: &[kind::CLOUD_RUN_SERVICE, kind::CLOUD_SQL_INSTANCE],
    id_vars,
    console_url,
    new_secret_value: Some((true, "Secret Manager stores the value typed here; it does not make one")),
    ..ProviderInfo::named("gcp", "GCP")
});

/// Project and region (location) of a resource name (`projects/P/locations/L/...`).
fn id_vars(id: &str) -> Vec<(&'static str, String)> {
    if !id.starts_with("projects/") {
        return Vec::new();
    }
    let parts: Vec<&str> = id.split('/').collect();
    let after = |key: &str| parts.windows(2).find(|w| w[0].eq_ignore_ascii_case(key)).map_or("", |w| w[1]);
    let mut vars = vec![("project", after("projects").to_string())];
    if !after("locations").is_empty() {
        vars.push(("region", after("locations").to_string()));
    }
    vars
}

fn console_url(r: &Resource) -> Option<String> {
    let vars = id_vars(&r.id);
    let get = |k: &str| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
    let (name, region, project) =
        (enc(&r.name), enc(get("region").unwrap_or(&r.region)), enc(get("project").unwrap_or("")));
    let console = "https://console.cloud.google.com";
    if r.id.contains("/services/") {
        Some(format!("{console}/run/detail/{region}/{name}?project={project}"))
    } else if r.id.contains("/locations/") && r.id.contains("/instances/") {
        Some(format!("{console}/memorystore/redis/locations/{region}/instances/{name}/details?project={project}"))
    } else if r.id.contains("/instances/") {
        Some(format!("{console}/sql/instances/{name}/overview?project={project}"))
    } else if r.id.contains("/secrets/") {
        Some(format!("{console}/security/secret-manager/secret/{name}/versions?project={project}"))
    } else {
        None
    }
}

/// Why `ack` does not apply to a Cloud Monitoring incident (the adapter's refusal and the
/// demo's say the same).
pub const CLOUD_MONITORING_NO_ACK: &str =
    "Cloud Monitoring's API cannot acknowledge an incident; acknowledge it in the console";
