//! S3: each bucket's protection (versioning, lifecycle, replication, object lock) as an
//! [`ObjectStore`]. The buckets change rarely and reading them is one call per bucket and
//! setting, so the result is kept [`S3_CACHE`] and shared by the refreshes in between.
//!
//! Soft delete on S3 is versioning: a deleted object's versions stay until a lifecycle rule's
//! `NoncurrentVersionExpiration` removes them (none: kept until someone does). Geo-redundant
//! means an enabled replication rule (the destination is another bucket, as cross-region
//! replication needs).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ExpirationStatus, LifecycleRule, ObjectLockConfiguration, ObjectLockEnabled,
    ReplicationConfiguration, ReplicationRuleStatus,
};

use super::AwsProvider;
use crate::model::{ObjectStoragePolicy, ObjectStore, SoftDelete};
use crate::providers::ProviderError;

/// How long a read of the buckets is reused.
pub const S3_CACHE: Duration = Duration::from_mins(5);

/// The S3 client and the last read of the buckets.
pub(super) struct S3 {
    pub client: aws_sdk_s3::Client,
    cache: Mutex<Option<(Instant, Vec<ObjectStore>)>>,
    pub ttl: Duration,
}

impl S3 {
    /// Path-style addressing when an endpoint is set (moto, `LocalStack`, `MinIO` have no
    /// per-bucket host names).
    pub fn new(sdk: &aws_config::SdkConfig, path_style: bool) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .interceptor(super::limit::BodyLimit)
            .build();
        S3 { client: aws_sdk_s3::Client::from_conf(conf), cache: Mutex::new(None), ttl: S3_CACHE }
    }

    fn cached(&self) -> Option<Vec<ObjectStore>> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    fn keep(&self, stores: &[ObjectStore]) {
        *self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), stores.to_vec()));
    }
}

/// The facts one bucket's settings give.
#[derive(Debug, Default)]
pub(crate) struct BucketFacts {
    pub versioning: Option<BucketVersioningStatus>,
    pub lifecycle: Vec<LifecycleRule>,
    pub replication: Option<ReplicationConfiguration>,
    pub object_lock: Option<ObjectLockConfiguration>,
}

/// One bucket as the model has it.
pub(crate) fn map_bucket(
    name: &str,
    region: &str,
    environment: String,
    facts: &BucketFacts,
    policy: ObjectStoragePolicy,
) -> ObjectStore {
    let versioning = facts.versioning == Some(BucketVersioningStatus::Enabled);
    let enabled: Vec<&LifecycleRule> =
        facts.lifecycle.iter().filter(|r| *r.status() == ExpirationStatus::Enabled).collect();
    let soft_delete = if versioning {
        // The shortest noncurrent-version expiration is how long a deleted object surely stays.
        match enabled
            .iter()
            .filter_map(|r| r.noncurrent_version_expiration()?.noncurrent_days())
            .filter_map(|d| u32::try_from(d).ok())
            .min()
        {
            Some(days) => SoftDelete::Days(days),
            None => SoftDelete::Unlimited,
        }
    } else {
        SoftDelete::Off
    };
    let replication: Vec<String> = facts
        .replication
        .iter()
        .flat_map(aws_sdk_s3::types::ReplicationConfiguration::rules)
        .filter(|r| *r.status() == ReplicationRuleStatus::Enabled)
        .filter_map(|r| Some(r.destination()?.bucket().to_string()))
        .collect();
    let object_lock =
        facts.object_lock.as_ref().filter(|c| c.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled)).map(|c| {
            match c.rule().and_then(|r| r.default_retention()) {
                Some(d) => {
                    let mode = d.mode().map(|m| m.as_str().to_string()).unwrap_or_default();
                    match (d.days(), d.years()) {
                        (Some(days), _) => format!("{mode} {days}d"),
                        (_, Some(years)) => format!("{mode} {years}y"),
                        _ => mode,
                    }
                }
                None => "enabled, no default retention".to_string(),
            }
        });
    ObjectStore {
        id: format!("arn:aws:s3:::{name}"),
        name: name.to_string(),
        provider: crate::providers::aws::PROVIDER,
        environment,
        region: region.to_string(),
        versioning,
        soft_delete,
        geo_redundant: !replication.is_empty(),
        object_lock,
        lifecycle_rules: enabled.len() as u32,
        replication,
        link: Some(format!("https://s3.console.aws.amazon.com/s3/buckets/{name}?region={region}")),
        policy,
    }
}

/// A "this bucket has no such configuration" answer, which is a fact, not a failure.
fn absent<E: ProvideErrorMetadata>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>, codes: &[&str]) -> bool {
    matches!(e, SdkError::ServiceError(_)) && e.code().is_some_and(|c| codes.contains(&c))
}

impl AwsProvider {
    fn s3_err<E>(&self, what: &str, e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.errors.map(what, e)
    }

    /// Every bucket the credentials list, with its protection; reused for [`S3_CACHE`].
    pub(super) async fn fetch_storage(&self) -> Result<Vec<ObjectStore>, ProviderError> {
        if let Some(stores) = self.s3.cached() {
            return Ok(stores);
        }
        let client = &self.s3.client;
        let mut buckets = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = client
                .list_buckets()
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| self.s3_err("s3:ListAllMyBuckets", &e))?;
            buckets.extend(
                page.buckets()
                    .iter()
                    .filter_map(|b| Some((b.name()?.to_string(), b.bucket_region().map(str::to_string)))),
            );
            token = page.continuation_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let policy = self.config.backups.object_storage;
        let reads = buckets.iter().map(|(name, region)| async move {
            let facts = Box::pin(self.bucket_facts(name)).await?;
            let region = region.clone().unwrap_or_else(|| self.region.clone());
            Ok::<_, ProviderError>(map_bucket(name, &region, self.environment(&[name], &[]), &facts, policy))
        });
        let stores = futures::future::try_join_all(reads).await?;
        self.s3.keep(&stores);
        Ok(stores)
    }

    async fn bucket_facts(&self, bucket: &str) -> Result<BucketFacts, ProviderError> {
        let client = &self.s3.client;
        let (versioning, lifecycle, replication, lock) = tokio::join!(
            client.get_bucket_versioning().bucket(bucket).send(),
            client.get_bucket_lifecycle_configuration().bucket(bucket).send(),
            client.get_bucket_replication().bucket(bucket).send(),
            client.get_object_lock_configuration().bucket(bucket).send(),
        );
        let versioning = versioning.map_err(|e| self.s3_err("s3:GetBucketVersioning", &e))?.status().cloned();
        let lifecycle = match lifecycle {
            Ok(l) => l.rules().to_vec(),
            Err(e) if absent(&e, &["NoSuchLifecycleConfiguration"]) => Vec::new(),
            Err(e) => return Err(self.s3_err("s3:GetLifecycleConfiguration", &e)),
        };
        let replication = match replication {
            Ok(r) => r.replication_configuration().cloned(),
            Err(e) if absent(&e, &["ReplicationConfigurationNotFoundError"]) => None,
            Err(e) => return Err(self.s3_err("s3:GetReplicationConfiguration", &e)),
        };
        let object_lock = match lock {
            Ok(l) => l.object_lock_configuration().cloned(),
            Err(e) if absent(&e, &["ObjectLockConfigurationNotFoundError"]) => None,
            Err(e) => return Err(self.s3_err("s3:GetBucketObjectLockConfiguration", &e)),
        };
        Ok(BucketFacts { versioning, lifecycle, replication, object_lock })
    }
}
