//! Kubernetes' identity: its names and kinds. Built in every build (`providers/mod.rs` points
//! `kubernetes` at it without the `kubernetes` feature).

use crate::model::{Provider, ProviderInfo};

pub mod kind {
    pub const DEPLOYMENT: &str = "Deployment";
    pub const STATEFUL_SET: &str = "StatefulSet";
    pub const POD: &str = "Pod";
}

pub const PROVIDER: Provider = Provider::new(&ProviderInfo {
    column: Some("K8s"),
    kinds: &[kind::DEPLOYMENT, kind::STATEFUL_SET, kind::POD],
    ..ProviderInfo::named("kubernetes", "Kubernetes")
});
