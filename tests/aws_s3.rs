//! S3 buckets and their protection against moto's server on 127.0.0.1, through a loopback
//! proxy: moto answers `GetBucketVersioning` with the root `GetBucketVersioningResponse` where S3
//! (and the SDK) say `VersioningConfiguration`, so the proxy renames it (same length, padded
//! with the spaces XML allows before `>`). Everything else passes through unchanged.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, DefaultRetention, Destination, ExpirationStatus,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter,
    ReplicationRuleStatus, VersioningConfiguration,
};
use skydeck::config::Config;
use skydeck::model::{SoftDelete, Tier};
use skydeck::providers::Provider;
use skydeck::providers::aws::{AccountSettings, AwsProvider};
use support::moto::{Moto, REGION, sdk};

const WRONG: &[u8] = b"GetBucketVersioningResponse";
const RIGHT: &[u8] = b"VersioningConfiguration    ";

/// Copies moto's answers with the versioning root renamed; holds back only a tail that could
/// be the start of a split name.
fn pump_answers(mut from: TcpStream, mut to: TcpStream) {
    let mut held: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        held.extend_from_slice(&buf[..n]);
        let mut i = 0;
        while i + WRONG.len() <= held.len() {
            if &held[i..i + WRONG.len()] == WRONG {
                held[i..i + WRONG.len()].copy_from_slice(RIGHT);
                i += WRONG.len();
            } else {
                i += 1;
            }
        }
        let keep = (1..WRONG.len()).rev().find(|&k| held.len() >= k && held.ends_with(&WRONG[..k])).unwrap_or(0);
        let send: Vec<u8> = held.drain(..held.len() - keep).collect();
        if to.write_all(&send).is_err() {
            break;
        }
    }
    let _ = to.write_all(&held);
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// The proxy on a free loopback port, forwarding to moto's port; returns its endpoint.
fn proxy(moto_port: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", moto_port)) else { continue };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut &c2, &mut &s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || pump_answers(server, client));
        }
    });
    format!("http://127.0.0.1:{port}")
}

async fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk(endpoint).await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn bucket(c: &aws_sdk_s3::Client, name: &str, versioned: bool, lock: bool) {
    c.create_bucket().bucket(name).object_lock_enabled_for_bucket(lock).send().await.unwrap();
    if versioned {
        c.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn noncurrent_expiry(c: &aws_sdk_s3::Client, name: &str, days: i32) {
    let rule = LifecycleRule::builder()
        .id("expire-old-versions")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(days).build())
        .build()
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(rule).build().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_are_read_with_their_protection_judged_and_cached() {
    let moto = Moto::start();
    let endpoint = proxy(moto.port);
    let c = s3(&moto.endpoint).await;
    // Production media: versioned, old versions expire after 7 days, not replicated.
    bucket(&c, "shop-media-prod", true, false).await;
    noncurrent_expiry(&c, "shop-media-prod", 7).await;
    // Production logs: versioned, kept until removed, replicated; object lock with a default.
    bucket(&c, "shop-logs-prod", true, true).await;
    bucket(&c, "shop-logs-replica", true, false).await;
    let rule = ReplicationRule::builder()
        .id("to-replica")
        .priority(1)
        .status(ReplicationRuleStatus::Enabled)
        .filter(ReplicationRuleFilter::builder().prefix("").build())
        .destination(Destination::builder().bucket("arn:aws:s3:::shop-logs-replica").build().unwrap())
        .build()
        .unwrap();
    c.put_bucket_replication()
        .bucket("shop-logs-prod")
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role("arn:aws:iam::123456789012:role/replication")
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.put_object_lock_configuration()
        .bucket("shop-logs-prod")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder().mode(ObjectLockRetentionMode::Governance).days(30).build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Dev scratch: no versioning at all.
    bucket(&c, "shop-scratch-dev", false, false).await;

    let mut settings = AccountSettings::new("aws");
    settings.region = Some(REGION.into());
    settings.endpoint_url = Some(endpoint.clone());
    let p = AwsProvider::new(settings, &sdk(&endpoint).await, &Config::default());
    let snap = p.fetch().await.unwrap();
    let note = snap.source_note.clone().unwrap_or_default();
    assert!(!note.contains("S3"), "S3 read without failure: {note}");
    let names: Vec<&str> = snap.storage.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let get = |n: &str| snap.storage.iter().find(|s| s.name == n).unwrap_or_else(|| panic!("{n} in {names:?}"));

    let media = get("shop-media-prod");
    assert_eq!(media.id, "arn:aws:s3:::shop-media-prod");
    assert_eq!(media.environment, "production");
    assert!(media.versioning);
    assert_eq!(media.soft_delete, SoftDelete::Days(7));
    assert_eq!(media.lifecycle_rules, 1);
    assert!(!media.geo_redundant && media.replication.is_empty() && media.object_lock.is_none());
    assert_eq!(media.findings(Tier::Prod), ["soft delete 7d below policy 30d", "not geo-redundant in production"]);

    let logs = get("shop-logs-prod");
    assert_eq!(logs.soft_delete, SoftDelete::Unlimited);
    assert!(logs.geo_redundant, "{logs:?}");
    assert_eq!(logs.replication, ["arn:aws:s3:::shop-logs-replica"]);
    assert_eq!(logs.object_lock.as_deref(), Some("GOVERNANCE 30d"));
    assert!(logs.findings(Tier::Prod).is_empty(), "{:?}", logs.findings(Tier::Prod));
    assert!(logs.link.as_deref().is_some_and(|l| l.contains("s3/buckets/shop-logs-prod")));

    let scratch = get("shop-scratch-dev");
    assert_eq!(scratch.environment, "dev");
    assert!(!scratch.versioning);
    assert_eq!(scratch.soft_delete, SoftDelete::Off);
    assert_eq!(scratch.findings(Tier::Dev), ["versioning off", "soft delete off (policy 30d)"]);

    // The analysis names the weak buckets.
    let findings = skydeck::analysis::findings(&snap, chrono::Utc::now());
    assert!(findings.iter().any(|f| f.subject == "shop-media-prod" && f.text.contains("soft delete 7d")));

    // A second refresh within the cache time reuses the read: a bucket made since is not there yet.
    bucket(&c, "shop-new-dev", true, false).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = p.fetch().await.unwrap();
    assert_eq!(again.storage.len(), 4, "cached for {:?}", skydeck::providers::aws::S3_CACHE);
}
