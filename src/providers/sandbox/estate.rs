//! The demo estate as it stands when the sandbox starts: three environments on three clouds,
//! two repositories, and exactly the trouble a newcomer should find (a waiting approval, a
//! failing health check, an old backup, an overdue secret, a
//! bucket whose soft delete is shorter than the policy).

use chrono::Duration;

use crate::model::{
    Alert, AlertKind, AlertRule, AlertSeverity, AlertState, Backup, Environment, Level, ObjectStoragePolicy,
    ObjectStore, Provider, Resource, Role, Secret, SoftDelete, Tier, Timestamp,
};

/// splitmix64: tiny, fast and deterministic for a given seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn sha(&mut self) -> String {
        format!("{:016x}{:016x}{:08x}", self.next_u64(), self.next_u64(), self.next_u64() as u32)
    }
}

/// A stateless hash of (seed, index) for values that must not depend on call order.
pub fn hash(seed: u64, index: u64) -> u64 {
    Rng::new(seed.wrapping_mul(31).wrapping_add(index)).next_u64()
}

pub const ENVIRONMENTS: [(&str, Tier); 3] =
    [("dev", Tier::Dev), ("staging", Tier::Staging), ("production", Tier::Prod)];
pub const REPOS: [&str; 2] = ["acme/shop-web", "acme/inference-api"];
pub const ACTORS: [&str; 5] = ["maria", "kenji", "oluwaseun", "dependabot[bot]", "lea"];
pub const BRANCHES: [&str; 4] = ["main", "feat/checkout-v2", "fix/token-refresh", "renovate/tokio-1.x"];

pub const SUBSCRIPTION: &str = "6d1f0c4e-5a8b-4c2d-9e7f-3a1b2c4d5e6f";
pub const AWS_ACCOUNT: &str = "123456789012";
pub const GCP_PROJECT: &str = "acme-shop";

/// The app each cloud hosts in the demo: (app, provider).
pub const APPS: [(&str, Provider); 3] = [
    ("shop-web", crate::providers::azure::PROVIDER),
    ("inference-api", crate::providers::aws::PROVIDER),
    ("shop-api", crate::providers::gcp::PROVIDER),
];

pub fn short(env: &str) -> &'static str {
    match env {
        "production" => "prod",
        "staging" => "stg",
        _ => "dev",
    }
}

fn arm(env: &str, provider_path: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/shop-{}/providers/{provider_path}", short(env))
}

fn kv(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

pub fn environments() -> Vec<Environment> {
    ENVIRONMENTS
        .iter()
        .map(|(n, t)| Environment { name: n.to_string(), tier: *t, protection_rules: Vec::new() })
        .collect()
}

/// Compute and databases for one environment on all three clouds: only the kinds the real
/// adapters read (secrets are listed as secrets, not as resources).
pub fn resources(env: &str, rng: &mut Rng) -> Vec<Resource> {
    let s = short(env);
    let prod = env == "production";
    let res = |id: String, name: String, kind: &str, role, provider, region: &str| Resource {
        id,
        name,
        kind: kind.to_string(),
        role,
        provider,
        environment: env.to_string(),
        region: region.to_string(),
        status: "Running".to_string(),
        level: Level::Ok,
        current_version: None,
        versions: Vec::new(),
        details: Vec::new(),
    };
    let mut out = Vec::new();

    // Azure App Service; production has a staging slot for zero-downtime swaps.
    let mut app = res(
        arm(env, &format!("Microsoft.Web/sites/shop-web-{s}")),
        format!("shop-web-{s}"),
        "App Service",
        Role::Compute,
        crate::providers::azure::PROVIDER,
        "westeurope",
    );
    let live = format!("shop-web:{}", &rng.sha()[..7]);
    let next = format!("shop-web:{}", &rng.sha()[..7]);
    app.current_version = Some(live.clone());
    app.versions = if prod { vec![next.clone(), live.clone()] } else { vec![live.clone()] };
    app.details = kv(&[
        ("host", format!("shop-web-{s}.azurewebsites.net")),
        ("plan instances", if prod { "3".into() } else { "1".into() }),
        ("slots", if prod { format!("production={live}, staging={next}") } else { "production".into() }),
    ]);
    out.push(app);

    // AWS ECS Fargate service with task definition revisions.
    let rev = 40 + rng.below(20);
    let mut ecs = res(
        format!("arn:aws:ecs:us-east-1:{AWS_ACCOUNT}:service/inference-{s}/inference-api-{s}"),
        format!("inference-api-{s}"),
        "ECS service",
        Role::Compute,
        crate::providers::aws::PROVIDER,
        "us-east-1",
    );
    ecs.current_version = Some(format!("inference-api-{s}:{rev}"));
    ecs.versions =
        (rev.saturating_sub(3)..=rev + u64::from(prod)).rev().map(|r| format!("inference-api-{s}:{r}")).collect();
    let desired = if prod { 4 } else { 1 };
    ecs.details = kv(&[
        ("desired", desired.to_string()),
        ("running", desired.to_string()),
        ("pending", "0".into()),
        ("rollout", "COMPLETED".into()),
    ]);
    out.push(ecs);

    // GCP Cloud Run with revisions and a traffic split.
    let crev = 10 + rng.below(30);
    let mut run = res(
        format!("projects/{GCP_PROJECT}/locations/europe-west1/services/shop-api-{s}"),
        format!("shop-api-{s}"),
        "Cloud Run service",
        Role::Compute,
        crate::providers::gcp::PROVIDER,
        "europe-west1",
    );
    run.current_version = Some(format!("shop-api-{s}-{crev:05}"));
    run.versions =
        (crev.saturating_sub(2)..=crev + u64::from(prod)).rev().map(|r| format!("shop-api-{s}-{r:05}")).collect();
    run.details = kv(&[
        ("traffic", format!("shop-api-{s}-{crev:05}=100%")),
        ("instances", format!("0..{}", if prod { 10 } else { 3 })),
    ]);
    out.push(run);

    // Databases.
    let mut pg = res(
        arm(env, &format!("Microsoft.DBforPostgreSQL/flexibleServers/shop-pg-{s}")),
        format!("shop-pg-{s}"),
        "PostgreSQL Flexible Server",
        Role::Database,
        crate::providers::azure::PROVIDER,
        "westeurope",
    );
    pg.status = "Ready".into();
    pg.details = kv(&[("version", "16".into()), ("HA", if prod { "ZoneRedundant".into() } else { "Disabled".into() })]);
    out.push(pg);
    let mut rds = res(
        format!("arn:aws:rds:us-east-1:{AWS_ACCOUNT}:db:inference-db-{s}"),
        format!("inference-db-{s}"),
        "RDS instance",
        Role::Database,
        crate::providers::aws::PROVIDER,
        "us-east-1",
    );
    rds.status = "available".into();
    rds.details = kv(&[("engine", "postgres 16.4".into()), ("Multi-AZ", prod.to_string())]);
    out.push(rds);
    let mut sql = res(
        format!("projects/{GCP_PROJECT}/instances/shop-sql-{s}"),
        format!("shop-sql-{s}"),
        "Cloud SQL instance",
        Role::Database,
        crate::providers::gcp::PROVIDER,
        "europe-west1",
    );
    sql.status = "RUNNABLE".into();
    sql.details = kv(&[
        ("version", "POSTGRES_16".into()),
        ("tier", if prod { "db-custom-4-15360".into() } else { "db-g1-small".into() }),
        ("replica", if prod { format!("shop-sql-{s}-replica") } else { "none".into() }),
    ]);
    out.push(sql);

    out
}

/// One backup record per database. The staging RDS backup is 31 h old: a finding.
pub fn backups(env: &str, resources: &[Resource], now: Timestamp) -> Vec<Backup> {
    let prod = env == "production";
    resources
        .iter()
        .filter(|r| r.role == Role::Database && r.environment == env)
        .map(|r| {
            let stale = r.provider == crate::providers::aws::PROVIDER && env == "staging";
            let last = if stale { now - Duration::hours(31) } else { now - Duration::hours(3) - Duration::minutes(17) };
            let retention = if prod { 35 } else { 7 };
            Backup {
                id: r.id.clone(),
                resource: r.id.clone(),
                database: r.name.clone(),
                provider: r.provider,
                environment: env.to_string(),
                last_backup_at: Some(last),
                last_status: "succeeded".into(),
                retention_days: retention,
                required_retention_days: retention,
                pitr_enabled: true,
                earliest_restore: Some(now - Duration::days(i64::from(retention))),
                latest_restore: Some(now - Duration::minutes(5)),
                geo_redundant: prod,
            }
        })
        .collect()
}

/// Secret metadata in each store. `payment-api-key` in production is overdue for rotation.
pub fn secrets(env: &str, now: Timestamp, rng: &mut Rng) -> Vec<Secret> {
    let s = short(env);
    let mut out = Vec::new();
    let mut add = |id: String, name: String, store: String, provider, rotation_days: u32, rotated_days_ago: i64| {
        out.push(Secret {
            id,
            name,
            store,
            provider,
            environment: env.to_string(),
            enabled: true,
            updated_at: Some(now - Duration::days(rotated_days_ago)),
            last_rotated: Some(now - Duration::days(rotated_days_ago)),
            rotation_days: Some(rotation_days),
            expires_at: None,
            versions: 1 + (rotated_days_ago as u32 / 30),
        });
    };
    let overdue = env == "production";
    add(
        format!("https://shop-kv-{s}.vault.azure.net/secrets/payment-api-key"),
        "payment-api-key".into(),
        format!("shop-kv-{s}"),
        crate::providers::azure::PROVIDER,
        90,
        if overdue { 97 } else { 12 + rng.below(30) as i64 },
    );
    add(
        format!("https://shop-kv-{s}.vault.azure.net/secrets/db-password"),
        "db-password".into(),
        format!("shop-kv-{s}"),
        crate::providers::azure::PROVIDER,
        90,
        20 + rng.below(40) as i64,
    );
    add(
        format!("arn:aws:secretsmanager:us-east-1:{AWS_ACCOUNT}:secret:inference/{s}/openai-key-Ab12Cd"),
        format!("inference/{s}/openai-key"),
        "Secrets Manager".into(),
        crate::providers::aws::PROVIDER,
        30,
        3 + rng.below(20) as i64,
    );
    add(
        format!("projects/{GCP_PROJECT}/secrets/stripe-key-{s}"),
        format!("stripe-key-{s}"),
        "Secret Manager".into(),
        crate::providers::gcp::PROVIDER,
        180,
        30 + rng.below(60) as i64,
    );
    add(
        format!("acme/shop-web/environments/{env}/secrets/AZURE_CLIENT_SECRET_{}", env.to_uppercase()),
        format!("AZURE_CLIENT_SECRET_{}", env.to_uppercase()),
        "GitHub Actions".into(),
        crate::providers::github::PROVIDER,
        180,
        40 + rng.below(60) as i64,
    );
    out
}

/// Object storage on each cloud, as the real adapters read it (S3 buckets, Azure storage
/// accounts, GCS buckets). The production media account keeps deleted blobs 7 days only: a
/// finding against the 30-day policy.
pub fn object_stores(env: &str) -> Vec<ObjectStore> {
    let s = short(env);
    let prod = env == "production";
    let store = |id: String, name: String, provider, region: &str| ObjectStore {
        id,
        name,
        provider,
        environment: env.to_string(),
        region: region.to_string(),
        versioning: true,
        soft_delete: SoftDelete::Days(30),
        geo_redundant: prod,
        object_lock: None,
        lifecycle_rules: 1,
        replication: Vec::new(),
        link: None,
        policy: ObjectStoragePolicy::default(),
    };
    let mut media = store(
        arm(env, &format!("Microsoft.Storage/storageAccounts/acmeshop{s}media")),
        format!("acme-shop-{s}-media"),
        crate::providers::azure::PROVIDER,
        "westeurope",
    );
    // As storage.rs maps an account: no lifecycle count or lock is read, the secondary
    // location is the replication destination of a geo-redundant SKU.
    media.link = Some(format!("https://portal.azure.com/#resource{}/overview", media.id));
    media.lifecycle_rules = 0;
    if prod {
        media.soft_delete = SoftDelete::Days(7);
        media.replication = vec!["northeurope".into()];
    }
    let mut models = store(
        format!("arn:aws:s3:::inference-models-{s}"),
        format!("inference-models-{s}"),
        crate::providers::aws::PROVIDER,
        "us-east-1",
    );
    // Versioned with no noncurrent-version expiration: old versions are kept until removed.
    models.soft_delete = SoftDelete::Unlimited;
    models.link = Some(format!("https://s3.console.aws.amazon.com/s3/buckets/{}?region=us-east-1", models.name));
    if prod {
        models.replication = vec!["arn:aws:s3:::inference-models-prod-replica".into()];
        models.object_lock = Some("GOVERNANCE 30d".into());
    }
    let mut exports = store(
        format!("projects/_/buckets/acme-shop-{s}-exports"),
        format!("acme-shop-{s}-exports"),
        crate::providers::gcp::PROVIDER,
        // Lower-cased as the GCS adapter does; "eu" is a multi-region (geo-redundant).
        if prod { "eu" } else { "europe-west1" },
    );
    exports.lifecycle_rules = 0;
    exports.soft_delete = SoftDelete::Days(if prod { 90 } else { 30 });
    exports.link =
        Some(format!("https://console.cloud.google.com/storage/browser/{}?project=acme-shop-{s}", exports.name));
    vec![media, models, exports]
}

/// The teammate of the demo: acknowledges the staging warning a while after the demo starts.
pub const TEAMMATE: &str = "dana";
/// How long after the start `TEAMMATE` acknowledges it.
pub const TEAMMATE_ACKS_AFTER: chrono::Duration = chrono::Duration::minutes(3);

/// The demo's alert rules: what pages in each environment, with two that would stay quiet: a
/// production RDS alarm whose actions someone disabled for a maintenance and never enabled again,
/// and a disabled dev policy (not a finding: dev).
pub fn alert_rules() -> Vec<AlertRule> {
    let rule = |id: String, provider, source: &str, name: &str, environment: &str, enabled, notifies| AlertRule {
        id,
        provider,
        source: source.into(),
        name: name.into(),
        environment: environment.into(),
        enabled,
        notifies,
        link: None,
    };
    let alarm = |name: &str| format!("arn:aws:cloudwatch:eu-west-1:{AWS_ACCOUNT}:alarm:{name}");
    let metric_alert = |rg: &str, name: &str| {
        format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Insights/metricAlerts/{name}")
    };
    let policy = |id: &str| format!("projects/{GCP_PROJECT}/alertPolicies/{id}");
    vec![
        rule(
            alarm("inference-api-prod-5xx"),
            crate::providers::aws::PROVIDER,
            "CloudWatch",
            "inference-api-prod-5xx",
            "production",
            true,
            true,
        ),
        rule(
            alarm("inference-db-prod-free-storage"),
            crate::providers::aws::PROVIDER,
            "CloudWatch",
            "inference-db-prod-free-storage",
            "production",
            true,
            false,
        ),
        rule(
            metric_alert("shop-prod", "shop-pg-prod-cpu"),
            crate::providers::azure::PROVIDER,
            "Azure Monitor",
            "shop-pg-prod CPU above 90%",
            "production",
            true,
            true,
        ),
        rule(
            metric_alert("shop-stg", "shop-web-stg-cpu"),
            crate::providers::azure::PROVIDER,
            "Azure Monitor",
            "shop-web-stg CPU above 80%",
            "staging",
            true,
            true,
        ),
        rule(
            policy("4871229613501735127"),
            crate::providers::gcp::PROVIDER,
            "Cloud Monitoring",
            "shop-api-prod 5xx above 1%",
            "production",
            true,
            true,
        ),
        rule(
            policy("1520037261873509021"),
            crate::providers::gcp::PROVIDER,
            "Cloud Monitoring",
            "shop-sql-dev disk above 85%",
            "dev",
            false,
            true,
        ),
    ]
}

/// The demo's firing alerts at `now`, for a demo that started at `start`: a critical `CloudWatch`
/// alarm in production (the inference API's 5xx rate), a warning from Azure Monitor in staging
/// that the teammate acknowledges after [`TEAMMATE_ACKS_AFTER`], and an open Dependabot alert.
/// Derived from the clock only, so the same clock gives the same alerts.
pub fn alerts(start: Timestamp, now: Timestamp) -> Vec<Alert> {
    let acked = now - start >= TEAMMATE_ACKS_AFTER;
    vec![
        Alert {
            id: format!("arn:aws:cloudwatch:eu-west-1:{AWS_ACCOUNT}:alarm:inference-api-prod-5xx"),
            provider: crate::providers::aws::PROVIDER,
            source: "CloudWatch".into(),
            kind: AlertKind::Monitoring,
            name: "inference-api-prod-5xx".into(),
            severity: AlertSeverity::Critical,
            state: AlertState::Firing,
            resource: "inference-api".into(),
            environment: "production".into(),
            since: Some(start - chrono::Duration::minutes(14)),
            link: Some(
                "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/inference-api-prod-5xx"
                    .into(),
            ),
            can_ack: false,
            can_silence: false,
            silenced_until: None,
            acked_by: None,
        },
        Alert {
            id: format!(
                "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/5f8e2c1a-demo-stg-cpu"
            ),
            provider: crate::providers::azure::PROVIDER,
            source: "Azure Monitor".into(),
            kind: AlertKind::Monitoring,
            name: "shop-web-stg CPU above 80%".into(),
            severity: AlertSeverity::Warning,
            state: if acked { AlertState::Acknowledged } else { AlertState::Firing },
            resource: "shop-web".into(),
            environment: "staging".into(),
            since: Some(start - chrono::Duration::minutes(41)),
            link: Some("https://portal.azure.com/#view/Microsoft_Azure_Monitoring/AlertsManagementSummaryBlade".into()),
            can_ack: false,
            can_silence: false,
            silenced_until: None,
            acked_by: acked.then(|| TEAMMATE.to_string()),
        },
        Alert {
            id: "github:acme/shop-web:dependabot:12".into(),
            provider: crate::providers::github::PROVIDER,
            source: "Dependabot".into(),
            kind: AlertKind::Security,
            name: "undici: proxy credentials leak on redirect (high)".into(),
            severity: AlertSeverity::Error,
            state: AlertState::Firing,
            resource: "acme/shop-web · package-lock.json".into(),
            environment: String::new(),
            since: Some(start - chrono::Duration::days(3)),
            link: Some("https://github.com/acme/shop-web/security/dependabot/12".into()),
            can_ack: false,
            can_silence: false,
            silenced_until: None,
            acked_by: None,
        },
    ]
}
