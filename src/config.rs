//! `skydeck.toml` with this build's providers: the loader is `skydeck_core::config`
//! (re-exported here); `load_file` and `parse` hand it the sections of the providers in
//! [`crate::providers::REGISTRY`], so `[aws]` is read by AWS's own type and checks.

use std::path::Path;

pub use skydeck_core::config::*;

/// Reads and checks the config file at `path`, with every registered provider's section.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    load_file_with(path, &crate::providers::sections())
}

/// Checks config `text` read from `path`, with every registered provider's section.
pub fn parse(text: &str, path: &str) -> Result<Loaded, ConfigError> {
    parse_with(text, path, &crate::providers::sections())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Thresholds;

    #[test]
    #[cfg(all(feature = "aws", feature = "azure", feature = "gcp", feature = "github"))]
    fn design_contract_keys_parse() {
        let text = r#"
[github]
api_url = "https://api.github.com"
repos = ["owner/name"]
[[github.hosts]]
api_url = "https://ghe.example.com/api/v3"
repos = ["team/app"]
[aws]
region = "us-east-1"
endpoint_url = "http://127.0.0.1:5000"
[azure]
subscription_id = "abc"
arm_endpoint = "http://127.0.0.1:1"
[gcp]
project = "p"
[gcp.endpoints]
run = "http://127.0.0.1:2"
[[environments]]
name = "prod"
tier = "prod"
[environments.thresholds]
cpu = { warn = 60, crit = 80 }
[[environments.health]]
name = "web"
url = "https://example.com/api/v1/health"
"#;
        let l = parse(text, "c.toml").unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(
            l.config.section::<crate::providers::github::config::GithubConfig>().unwrap().unwrap().hosts[0].repos,
            ["team/app"]
        );
        assert_eq!(
            l.config.section::<crate::providers::gcp::config::GcpConfig>().unwrap().unwrap().endpoints.run.as_deref(),
            Some("http://127.0.0.1:2")
        );
        let t = l.config.thresholds_for("prod");
        assert_eq!((t.cpu.warn, t.cpu.crit), (60.0, 80.0));
        assert_eq!(t.memory, Thresholds::default().memory);
        assert_eq!(l.config.environments[0].health[0].expect_status, 200);
    }

    #[test]
    #[cfg(feature = "github")]
    fn errors_name_file_and_line() {
        let err =
            parse("theme = \"dark\"\n\n[[environments]]\nname = \"prod\"\ntier = \"moon\"\n", "x.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.toml:5: "), "{text}");
        assert!(text.contains("moon"), "{text}");
        let err = parse("[github]\nrepos = [\"noslash\"]\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:2: repository 'noslash' must be written owner/name");
        let err = parse("[aws\nregion = 1", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:1: "), "{err}");
        let err = parse("[[environments]]\nname = \"a\"\n[[environments]]\nname = \"a\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
    }

    #[test]
    #[cfg(feature = "github")]
    fn unknown_keys_warn_with_their_line() {
        let l = parse("theme = \"dark\"\n[github]\ntokn = \"x\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:3: unknown key 'github.tokn' ignored"]);
        // A table no provider registers is news too, with its line.
        let l = parse("theme = \"dark\"\n\n[nomad]\naddr = \"x\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:3: unknown key 'nomad' ignored"]);
        assert!(l.config.sections.is_empty() && l.config.is_empty());
    }

    #[test]
    #[cfg(all(feature = "github", feature = "aws", feature = "azure", feature = "gcp", feature = "kubernetes"))]
    fn provider_sections_are_read_by_their_own_type_and_keep_their_lines() {
        // The section is the provider's: its type errors still name the line they are on.
        let err = parse("theme = \"dark\"\n[kubernetes]\n\nnamespaces = 3\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:4: "), "{err}");
        let l = parse("[aws]\nregion = \"eu-west-1\"\n[kubernetes]\n", "x.toml").unwrap();
        assert_eq!(l.config.sections.keys().collect::<Vec<_>>(), ["aws", "kubernetes"]);
        assert!(!l.config.is_empty());
        let aws = l.config.section::<crate::providers::aws::config::AwsConfig>().unwrap().unwrap();
        assert_eq!(aws.region.as_deref(), Some("eu-west-1"));
        assert!(l.config.section::<crate::providers::gcp::config::GcpConfig>().unwrap().is_none());
        // Every registered section has a folder, once.
        let keys: Vec<_> = crate::providers::sections().iter().map(|s| s.key).collect();
        assert_eq!(keys, ["github", "aws", "azure", "gcp", "kubernetes"]);
    }

    #[test]
    #[cfg(feature = "azure")]
    fn azure_section_parses_with_every_key() {
        let text = r#"
[azure]
subscriptions = ["s1", "s2"]
tenant_id = "t"
credential = "client_secret"
cloud = "china"
arm_endpoint = "http://127.0.0.1:1"
authority_host = "https://login.example"
graph_endpoint = "http://127.0.0.1:2"
keyvault_suffix = "vault.azure.cn"
vaults = ["http://127.0.0.1:3/"]
log_analytics_endpoint = "http://127.0.0.1:4"
log_analytics_workspaces = ["w"]
log_query = "AppServiceConsoleLogs"
health_url = "http://127.0.0.1:5/{host}/health"
health_tries = 2
health_interval_seconds = 0
deploy_app = "shop"
github_repo = "owner/shop"
github_secret_scope = "environment"
deploy_secret_vault = "http://127.0.0.1:3/"
operation_timeout_seconds = 5
poll_seconds = 1
"#;
        let l = parse(text, "c.toml").unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let az = l.config.section::<crate::providers::azure::config::AzureConfig>().unwrap().unwrap();
        assert_eq!(az.subscriptions, ["s1", "s2"]);
        assert_eq!(az.credential.as_deref(), Some("client_secret"));
        assert_eq!(az.vaults, ["http://127.0.0.1:3/"]);
        assert_eq!(az.health_tries, Some(2));
        assert_eq!(az.github_secret_scope.as_deref(), Some("environment"));
    }

    #[test]
    #[cfg(feature = "azure")]
    fn azure_mistakes_name_their_line() {
        let err = parse("[azure]\nsubscription_id = \"s\"\ncredential = \"magic\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: [azure] credential 'magic'"), "{err}");
        let err = parse("[azure]\narm_endpoint = \"management.azure.com\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: "), "{err}");
        let err = parse("[azure]\ndeploy_app = \"shop\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
        let err = parse("[azure]\ncloud = \"mars\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: "), "{err}");
        let l = parse("[azure]\nsubscription_id = \"s\"\nsubscription = \"typo\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:3: unknown key 'azure.subscription' ignored"]);
    }

    #[test]
    #[cfg(feature = "gcp")]
    fn gcp_section_parses_with_defaults_and_several_projects() {
        let l = parse("[gcp]\nproject = \"a\"\n", "c.toml").unwrap();
        let gcp = l.config.section::<crate::providers::gcp::config::GcpConfig>().unwrap().unwrap();
        assert_eq!(gcp.credentials, crate::providers::gcp::config::GcpCredentials::Auto);
        assert_eq!(gcp.all_projects(), ["a"]);
        assert_eq!(gcp.endpoints, crate::providers::gcp::config::GcpEndpoints::default());

        let text = r#"
[gcp]
project = "shop-prod"
projects = ["shop-dev", "shop-prod"]
regions = ["europe-west1"]
credentials = "service_account"
credentials_file = "/keys/sa.json"
log_filter = "severity>=WARNING"
health_path = ""
[gcp.endpoints]
run = "http://127.0.0.1:1"
sqladmin = "http://127.0.0.1:2"
secretmanager = "http://127.0.0.1:3"
logging = "http://127.0.0.1:4"
monitoring = "http://127.0.0.1:5"
"#;
        let l = parse(text, "c.toml").unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let gcp = l.config.section::<crate::providers::gcp::config::GcpConfig>().unwrap().unwrap();
        assert_eq!(gcp.all_projects(), ["shop-prod", "shop-dev"]);
        assert_eq!(gcp.credentials, crate::providers::gcp::config::GcpCredentials::ServiceAccount);
        assert_eq!(gcp.credentials_file.as_deref(), Some("/keys/sa.json"));
        assert_eq!(gcp.endpoints.monitoring.as_deref(), Some("http://127.0.0.1:5"));
        assert_eq!(gcp.health_path.as_deref(), Some(""));
        for (value, expected) in [
            ("adc", crate::providers::gcp::config::GcpCredentials::Adc),
            ("gcloud", crate::providers::gcp::config::GcpCredentials::Gcloud),
        ] {
            let l = parse(&format!("[gcp]\nproject = \"p\"\ncredentials = \"{value}\"\n"), "c.toml").unwrap();
            assert_eq!(
                l.config.section::<crate::providers::gcp::config::GcpConfig>().unwrap().unwrap().credentials,
                expected
            );
        }
    }

    #[test]
    #[cfg(feature = "gcp")]
    fn gcp_mistakes_are_reported_with_their_line() {
        let l = parse("[gcp]\nproject = \"p\"\n[gcp.endpoints]\nsqladmn = \"http://x\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:4: unknown key 'gcp.endpoints.sqladmn' ignored"]);
        let err = parse("[gcp]\nproject = \"p\"\ncredentials = \"magic\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:3: "), "{err}");
        let err = parse("[gcp]\nproject = \"p\"\n[gcp.endpoints]\nrun = \"127.0.0.1:9\"\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:4: [gcp.endpoints] run: '127.0.0.1:9' must start with http:// or https://");
        let err = parse("[gcp]\nproject = \"p\"\ncredentials = \"adc\"\ncredentials_file = \"k.json\"\n", "x.toml")
            .unwrap_err();
        assert!(err.to_string().starts_with("x.toml:4: "), "{err}");
    }

    #[test]
    #[cfg(feature = "aws")]
    fn aws_accounts_narrowing_and_load_balancers_parse() {
        let text = r#"
[aws]
region = "eu-west-1"
clusters = ["shop-prod"]
secrets = ["inference/"]
required_retention_days = 30
rollout_timeout_seconds = 120
[aws.load_balancers]
web = { load_balancer = "app/web-alb/50dc6c495c0c9188", target_group = "targetgroup/web/73e2d6bc24d8a067" }
[[aws.accounts]]
profile = "prod"
[[aws.accounts]]
profile = "staging"
region = "us-east-1"
db_instances = ["orders-stg"]
colour = "blue"
"#;
        let l = parse(text, "c.toml").unwrap();
        assert_eq!(l.warnings, ["c.toml:16: unknown key 'aws.accounts.1.colour' ignored"]);
        let aws = l.config.section::<crate::providers::aws::config::AwsConfig>().unwrap().unwrap();
        assert_eq!(aws.accounts.len(), 2);
        assert_eq!(aws.accounts[1].region.as_deref(), Some("us-east-1"));
        assert_eq!(aws.accounts[1].db_instances, ["orders-stg"]);
        assert_eq!(aws.clusters, ["shop-prod"]);
        assert_eq!(aws.required_retention_days, Some(30));
        assert_eq!(aws.rollout_timeout_seconds, 120);
        assert_eq!(aws.load_balancers["web"].load_balancer, "app/web-alb/50dc6c495c0c9188");
        // A minimal section keeps the defaults.
        let aws = parse("[aws]\nregion = \"us-east-1\"\n", "c.toml")
            .unwrap()
            .config
            .section::<crate::providers::aws::config::AwsConfig>()
            .unwrap()
            .unwrap();
        assert_eq!(aws.rollout_timeout_seconds, 600);
        assert!(aws.accounts.is_empty() && aws.clusters.is_empty());
        let err = parse("[aws]\nendpoint_url = \"127.0.0.1:5000\"\n", "x.toml").unwrap_err();
        assert_eq!(err.to_string(), "x.toml:2: endpoint_url '127.0.0.1:5000' must start with http:// or https://");
    }
}
