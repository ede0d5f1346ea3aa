use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::model::*;

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn ctx<'a>(estate: &'a Snapshot, logs: &'a [LogLine]) -> Context<'a> {
    Context { estate, now: now(), log_errors: error_lines(logs), since: None, failed_sources: Vec::new() }
}

fn item(check: &str) -> Item {
    Item {
        key: "s/t".into(),
        section: "s".into(),
        title: "t".into(),
        check: Some(expr::parse(check).unwrap()),
        check_text: Some(check.into()),
        environment: None,
        per_environment: false,
        link: None,
    }
}

fn backup(db: &str, env: &str, hours_old: i64) -> Backup {
    Backup {
        id: db.into(),
        resource: db.into(),
        database: db.into(),
        provider: crate::model::TEST_CLOUD,
        environment: env.into(),
        last_backup_at: Some(now() - Duration::hours(hours_old)),
        last_status: "succeeded".into(),
        retention_days: 35,
        required_retention_days: 35,
        pitr_enabled: true,
        earliest_restore: None,
        latest_restore: None,
        geo_redundant: true,
    }
}

fn store(name: &str, env: &str, soft_delete: SoftDelete, geo: bool) -> ObjectStore {
    ObjectStore {
        id: format!("arn:aws:s3:::{name}"),
        name: name.into(),
        provider: crate::model::TEST_CLOUD,
        environment: env.into(),
        region: "us-east-1".into(),
        versioning: true,
        soft_delete,
        geo_redundant: geo,
        object_lock: None,
        lifecycle_rules: 0,
        replication: vec![],
        link: None,
        policy: ObjectStoragePolicy::default(),
    }
}

#[test]
fn storage_findings_count_stores_against_the_policy_per_environment() {
    let mut estate = Snapshot {
        storage: vec![
            store("a", "production", SoftDelete::Unlimited, true),
            store("b", "staging", SoftDelete::Days(30), false),
        ],
        ..Snapshot::default()
    };
    let check = item("storage.findings == 0");
    assert_eq!(evaluate(&check, &ctx(&estate, &[])).unwrap().verdict, Verdict::Pass, "geo only asked of production");
    estate.storage.push(store("c", "production", SoftDelete::Off, false));
    let e = evaluate(&check, &ctx(&estate, &[])).unwrap();
    assert_eq!(e.verdict, Verdict::Fail);
    assert_eq!(
        e.evidence,
        ["c (production): soft delete off (policy 30d); not geo-redundant in production"],
        "{:?}",
        e.evidence
    );
    assert_eq!(evaluate(&check, &ctx(&Snapshot::default(), &[])).unwrap().verdict, Verdict::Unknown);
}

#[test]
fn the_shipped_daily_runbook_loads() {
    let book = parse(SHIPPED[0].1, "daily.toml").unwrap();
    assert_eq!(book.name, "daily");
    assert!(book.items.len() >= 12);
    assert!(book.items.iter().any(|i| i.check.is_none()), "manual items too");
    assert!(
        book.items.iter().any(|i| i.check_text.as_deref() == Some("backups.max_age < 24h and backups.findings == 0"))
    );
}

#[test]
fn runbook_errors_name_file_and_line() {
    let text =
        "name = \"x\"\n[[sections]]\nname = \"A\"\n[[sections.items]]\ntitle = \"t\"\ncheck = \"backups.age < 1d\"\n";
    let err = parse(text, "x.toml").unwrap_err();
    assert_eq!(err.line, 6);
    assert!(err.to_string().starts_with("x.toml:6: unknown subject 'backups.age'"), "{err}");
    let err = parse(
        "name = \"x\"\n[[sections]]\nname = \"A\"\n[[sections.items]]\ntitle = \"t\"\nlink = \"nowhere\"\n",
        "x.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("x.toml:6: link 'nowhere' is not a screen"), "{err}");
    let err =
        parse("name = \"x\"\n[[sections]]\nname = \"A\"\n[[sections.items]]\ntitel = \"t\"\n", "x.toml").unwrap_err();
    assert!(err.to_string().starts_with("x.toml:5: "), "{err}");
}

#[test]
fn backup_age_passes_fails_and_is_unknown_without_data() {
    let mut estate = Snapshot {
        backups: vec![backup("db-a", "production", 3), backup("db-b", "staging", 5)],
        ..Snapshot::default()
    };
    let check = item("backups.max_age < 24h and backups.findings == 0");
    assert_eq!(evaluate(&check, &ctx(&estate, &[])).unwrap().verdict, Verdict::Pass);
    estate.backups.push(backup("db-c", "staging", 31));
    let e = evaluate(&check, &ctx(&estate, &[])).unwrap();
    assert_eq!(e.verdict, Verdict::Fail);
    assert!(e.value.contains("31h (db-c)"), "{}", e.value);
    assert!(e.evidence.iter().any(|x| x.contains("db-c") && x.contains("> 24h")), "{:?}", e.evidence);
    let empty = Snapshot::default();
    assert_eq!(evaluate(&check, &ctx(&empty, &[])).unwrap().verdict, Verdict::Unknown, "no data is never a pass");
}

#[test]
fn a_failed_source_turns_a_pass_into_unknown_but_keeps_a_failure() {
    let estate = Snapshot { backups: vec![backup("db-a", "production", 3)], ..Snapshot::default() };
    let mut c = ctx(&estate, &[]);
    c.failed_sources = vec!["aws".into()];
    let e = evaluate(&item("backups.max_age < 24h"), &c).unwrap();
    assert_eq!(e.verdict, Verdict::Unknown);
    assert!(e.evidence.iter().any(|x| x.contains("aws failed")));
    assert_eq!(evaluate(&item("backups.max_age < 1h"), &c).unwrap().verdict, Verdict::Fail);
}

#[test]
fn per_environment_reports_the_worst_and_scopes_evidence() {
    let estate = Snapshot {
        environments: ["production", "staging"]
            .map(|n| Environment { name: n.into(), tier: Tier::from_name(n), protection_rules: vec![] })
            .to_vec(),
        backups: vec![backup("db-a", "production", 3), backup("db-b", "staging", 40)],
        ..Snapshot::default()
    };
    let mut check = item("backups.max_age < 24h");
    check.per_environment = true;
    let e = evaluate(&check, &ctx(&estate, &[])).unwrap();
    assert_eq!(e.verdict, Verdict::Fail);
    assert_eq!(e.value, "production: pass, staging: fail");
    check.per_environment = false;
    check.environment = Some("production".into());
    assert_eq!(evaluate(&check, &ctx(&estate, &[])).unwrap().verdict, Verdict::Pass);
}

fn alert(id: &str, kind: AlertKind, state: AlertState, env: &str) -> Alert {
    Alert {
        id: id.into(),
        provider: crate::model::TEST_CLOUD,
        source: "CloudWatch".into(),
        kind,
        name: id.into(),
        severity: AlertSeverity::Critical,
        state,
        resource: "api".into(),
        environment: env.into(),
        since: Some(now() - Duration::minutes(20)),
        link: None,
        can_ack: false,
        can_silence: false,
        silenced_until: None,
        acked_by: None,
    }
}

#[test]
fn quiet_rules_count_disabled_rules_and_rules_that_notify_nobody_in_scope() {
    let rule = |name: &str, env: &str, enabled, notifies| crate::model::AlertRule {
        id: name.into(),
        provider: crate::model::TEST_CLOUD,
        source: "CloudWatch".into(),
        name: name.into(),
        environment: env.into(),
        enabled,
        notifies,
        link: None,
    };
    let estate = Snapshot {
        alert_rules: vec![
            rule("db-disk", "production", true, false),
            rule("api-5xx", "production", true, true),
            rule("dev-cpu", "dev", false, true),
        ],
        ..Snapshot::default()
    };
    let e = evaluate(&item("alerts.quiet_rules == 0"), &ctx(&estate, &[])).unwrap();
    assert_eq!((e.verdict, e.value.as_str()), (Verdict::Fail, "alerts.quiet_rules = 2"));
    assert!(e.evidence.iter().any(|x| x.contains("db-disk") && x.contains("notifies nobody")), "{:?}", e.evidence);
    let mut scoped = item("alerts.quiet_rules == 0");
    scoped.environment = Some("production".into());
    let p = evaluate(&scoped, &ctx(&estate, &[])).unwrap();
    assert_eq!(p.value, "alerts.quiet_rules = 1");
}

#[test]
fn alerts_firing_counts_unacknowledged_monitoring_alerts_and_security_open_ignores_scope() {
    let estate = Snapshot {
        alerts: vec![
            alert("cpu-high", AlertKind::Monitoring, AlertState::Firing, "production"),
            alert("lag", AlertKind::Monitoring, AlertState::Acknowledged, "production"),
            alert("no-data", AlertKind::Monitoring, AlertState::InsufficientData, "staging"),
            alert("ghsa-1", AlertKind::Security, AlertState::Firing, ""),
        ],
        ..Snapshot::default()
    };
    let e = evaluate(&item("alerts.firing == 0"), &ctx(&estate, &[])).unwrap();
    assert_eq!(e.verdict, Verdict::Fail);
    assert_eq!(e.value, "alerts.firing = 1");
    assert!(e.evidence.iter().any(|x| x.contains("cpu-high") && x.contains("20m ago")), "{:?}", e.evidence);
    let mut scoped = item("alerts.firing == 0");
    scoped.environment = Some("staging".into());
    assert_eq!(evaluate(&scoped, &ctx(&estate, &[])).unwrap().verdict, Verdict::Pass);
    scoped.check = Some(expr::parse("security.open == 0").unwrap());
    let s = evaluate(&scoped, &ctx(&estate, &[])).unwrap();
    assert_eq!(s.verdict, Verdict::Fail);
    assert!(s.evidence[0].contains("ghsa-1"));
}
