//! The providers this build talks to, one folder each (`src/providers/<name>/`), and the
//! registry that builds them from the config. The API they implement (`Source`, the
//! capabilities, `Provider`, `BuildContext`) is `skydeck_core::providers`, re-exported here.

pub use skydeck_core::providers::*;

// Without its feature a provider is only its identity (names, kinds, ids, console links).
#[cfg_attr(not(feature = "aws"), path = "aws/identity.rs")]
pub mod aws;
#[cfg_attr(not(feature = "azure"), path = "azure/identity.rs")]
pub mod azure;
#[cfg_attr(not(feature = "gcp"), path = "gcp/identity.rs")]
pub mod gcp;
#[cfg_attr(not(feature = "github"), path = "github/identity.rs")]
pub mod github;
pub mod http_health;
#[cfg_attr(not(feature = "kubernetes"), path = "kubernetes/identity.rs")]
pub mod kubernetes;
pub mod logfile;
pub mod sandbox;

use crate::config::Section;

/// Every provider this build can talk to, built from the config in this order. Adding a
/// provider is its folder plus, here, its `pub mod`, one entry below and its identity in
/// [`KNOWN`]. (`sandbox/` is the demo estate, built by `--demo` instead of the config.)
pub const REGISTRY: &[Registered] = &[
    #[cfg(feature = "github")]
    Registered {
        folder: "github",
        label: "github",
        section: Some(Section::of::<github::config::GithubConfig>()),
        build: |ctx| Box::pin(github::from_config(ctx)),
    },
    #[cfg(feature = "aws")]
    Registered {
        folder: "aws",
        label: "aws",
        section: Some(Section::of::<aws::config::AwsConfig>()),
        build: |ctx| Box::pin(aws::from_config(ctx)),
    },
    #[cfg(feature = "azure")]
    Registered {
        folder: "azure",
        label: "azure",
        section: Some(Section::of::<azure::config::AzureConfig>()),
        build: |ctx| Box::pin(azure::from_config(ctx)),
    },
    #[cfg(feature = "gcp")]
    Registered {
        folder: "gcp",
        label: "gcp",
        section: Some(Section::of::<gcp::config::GcpConfig>()),
        build: |ctx| Box::pin(gcp::from_config(ctx)),
    },
    #[cfg(feature = "kubernetes")]
    Registered {
        folder: "kubernetes",
        label: "kubernetes",
        section: Some(Section::of::<kubernetes::config::KubernetesConfig>()),
        build: |ctx| Box::pin(kubernetes::from_config(ctx)),
    },
    Registered {
        folder: "http_health",
        label: "health",
        section: None,
        build: |ctx| Box::pin(async { Some(http_health::build(ctx)) }),
    },
    Registered {
        folder: "logfile",
        label: "logs",
        section: None,
        build: |ctx| Box::pin(async { Some(logfile::build(ctx)) }),
    },
];

/// Every provider's identity, in every build: plugin scopes, kinds and the role × cloud
/// matrix's columns (in this order) come from here.
pub const KNOWN: [crate::model::Provider; 6] =
    [azure::PROVIDER, aws::PROVIDER, gcp::PROVIDER, kubernetes::PROVIDER, github::PROVIDER, http_health::PROVIDER];

/// [`KNOWN`], for the plugin loader and the TUI, which know no provider by name.
pub const CATALOG: Catalog = Catalog::new(&KNOWN);

/// The provider a key names, in any case.
pub fn provider_of(key: &str) -> Option<crate::model::Provider> {
    CATALOG.provider_of(key)
}

/// Every resource kind the providers emit; plugins scope by these names.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    CATALOG.kinds()
}

/// The kind as the providers spell it, whatever the case it is written in.
pub fn canonical_kind(name: &str) -> Option<&'static str> {
    CATALOG.canonical_kind(name)
}

/// The config sections the registered providers read (the loader accepts these tables).
pub fn sections() -> Vec<Section> {
    REGISTRY.iter().filter_map(|r| r.section).collect()
}

/// Builds every registered provider the config asks for.
pub async fn from_config(ctx: &BuildContext<'_>) -> Registry {
    let mut registry = Registry::default();
    for entry in REGISTRY {
        if let Some(built) = (entry.build)(ctx).await {
            registry.add(entry.label, built);
        }
    }
    registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snapshot;

    /// Adding a provider is one folder plus one registry line: a folder left out of the registry
    /// (or a line naming no folder) fails here.
    /// A provider folder with an identity is in `KNOWN` (else its kinds, plugin scope and
    /// matrix column would be missing without an error anywhere).
    #[test]
    fn every_identity_is_known() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/providers");
        let mut with_identity: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("identity.rs").is_file())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        with_identity.sort();
        let mut known: Vec<String> =
            KNOWN.iter().map(|p| p.key().to_string()).filter(|k| *k != http_health::PROVIDER.key()).collect();
        known.sort();
        assert_eq!(with_identity, known);
        assert_eq!(canonical_kind(" ecs SERVICE"), Some("ECS service"));
        assert_eq!(provider_of("AWS"), Some(aws::PROVIDER));
    }

    #[test]
    #[cfg(all(feature = "github", feature = "aws", feature = "azure", feature = "gcp", feature = "kubernetes"))]
    fn the_registry_lists_every_provider_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/providers");
        let mut folders: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name != "sandbox")
            .collect();
        folders.sort();
        let mut registered: Vec<String> = REGISTRY.iter().map(|r| r.folder.to_string()).collect();
        registered.sort();
        assert_eq!(folders, registered);
        assert!(std::path::Path::new(dir).join("sandbox").is_dir(), "the demo estate is a folder too");
    }

    /// Every string of every part of a snapshot, poisoned through serde so that a field added
    /// later without being cleaned fails here.
    #[test]
    fn no_string_field_of_any_part_escapes_cleaning() {
        use crate::clock::ManualClock;
        // Enums and timestamps must stay parseable; every other string is text.
        fn poison(v: &mut serde_json::Value, part: &str, key: &str) {
            let typed = matches!(key, "tier" | "conclusion" | "state" | "level" | "role" | "provider" | "soft_delete")
                || (key == "status" && part != "resources")
                || (key == "kind" && matches!(part, "metrics" | "alerts"))
                || (key == "severity" && part == "alerts");
            match v {
                serde_json::Value::String(s) if typed || chrono::DateTime::parse_from_rfc3339(s).is_ok() => {}
                serde_json::Value::String(s) => s.push_str("\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{8}"),
                serde_json::Value::Array(a) => a.iter_mut().for_each(|v| poison(v, part, key)),
                serde_json::Value::Object(o) => o.iter_mut().for_each(|(k, v)| poison(v, part, k)),
                _ => {}
            }
        }
        let clock = ManualClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let demo = sandbox::Sandbox::new(7, std::sync::Arc::new(clock)).snapshot();
        let mut value = serde_json::to_value(&demo).unwrap();
        for part in [
            "environments",
            "runs",
            "approvals",
            "deployments",
            "resources",
            "backups",
            "health",
            "metrics",
            "secrets",
            "storage",
            "alerts",
            "alert_rules",
        ] {
            assert!(!value[part].as_array().unwrap().is_empty(), "the demo has {part}");
        }
        value["environments"][0]["protection_rules"] = serde_json::json!(["required reviewers: x"]);
        for (part, v) in value.as_object_mut().unwrap() {
            poison(v, &part.clone(), "");
        }
        // Through the boundary, as every provider's snapshot reaches the loop.
        struct Canned(Snapshot);
        impl Source for Canned {
            fn name(&self) -> &'static str {
                "canned"
            }
            fn fetch(&self) -> BoxFuture<'_, Result<Snapshot, ProviderError>> {
                let snapshot = self.0.clone();
                Box::pin(async move { Ok(snapshot) })
            }
        }
        let canned: std::sync::Arc<dyn Provider> = std::sync::Arc::new(Canned(serde_json::from_value(value).unwrap()));
        let s = futures::executor::block_on(canned.fetch()).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("\\u001b") && !json.contains("PWNED") && !json.contains("\\b"), "{json}");
    }

    /// A log file read in batches: its pending flag and older lines pass the boundary.
    #[test]
    fn a_log_file_read_in_batches_passes_the_boundary() {
        use futures::executor::block_on;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        // 200 000 lines of 41 bytes: the first read (100 000 lines, 4 MB) takes two batches.
        std::fs::write(&path, format!("{}\n", "x".repeat(40)).repeat(200_000)).unwrap();
        let file: std::sync::Arc<dyn Provider> =
            std::sync::Arc::new(logfile::LogFile::new("f".into(), path, usize::MAX));
        block_on(file.fetch_logs(None)).unwrap();
        assert!(file.logs_pending(), "4 MB of first read is more than one batch");
        let older = block_on(file.fetch_older_logs(10)).unwrap();
        assert_eq!(older.len(), 10, "older lines come through the boundary");
    }
}
