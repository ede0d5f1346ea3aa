//! Azure's identity: its names, kinds, ARM id variables and portal links. Built in every build
//! (`providers/mod.rs` points `azure` at it without the `azure` feature).

use crate::model::{Provider, ProviderInfo, Resource};
use crate::text::url_component as enc;

pub mod kind {
    pub const APP_SERVICE: &str = "App Service";
    pub const FUNCTION_APP: &str = "Function App";
    pub const APP_SERVICE_PLAN: &str = "App Service Plan";
    pub const POSTGRESQL_FLEXIBLE_SERVER: &str = "PostgreSQL Flexible Server";
}

pub const PROVIDER: Provider = Provider::new(&ProviderInfo {
    column_always: true,
    column: Some("Azure"),
    kinds: &[kind::APP_SERVICE, kind::FUNCTION_APP, kind::APP_SERVICE_PLAN, kind::POSTGRESQL_FLEXIBLE_SERVER],
    id_vars,
    console_url,
    ..ProviderInfo::named("azure", "Azure")
});

/// Subscription and resource group of an ARM id.
fn id_vars(id: &str) -> Vec<(&'static str, String)> {
    if !id.starts_with("/subscriptions/") {
        return Vec::new();
    }
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    let after = |key: &str| parts.windows(2).find(|w| w[0].eq_ignore_ascii_case(key)).map_or("", |w| w[1]);
    vec![("subscription", after("subscriptions").to_string()), ("resource_group", after("resourceGroups").to_string())]
}

fn console_url(r: &Resource) -> Option<String> {
    if !r.id.starts_with("/subscriptions/") {
        return None;
    }
    let path: Vec<String> = r.id.split('/').map(enc).collect();
    Some(format!("https://portal.azure.com/#resource{}/overview", path.join("/")))
}
