//! Where the Lambdas (the Cognito trigger, the authorizer) and the middleware get a user's
//! permissions: the permissions API through the client, or a store directly (DynamoDB behind the
//! cache, saving a hop). [`PermissionsSource`] hides which.

use std::sync::Arc;

use async_trait::async_trait;

use crate::consistency::Consistency;
use crate::domain::{UserId, UserPermissions};
use crate::store::{PermissionStore, StoreError};

/// Reading permissions failed: the source is down, slow or answered nonsense. Callers fail closed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the permissions source failed: {message}")]
pub struct SourceError {
    /// What failed, fit for logs (never a token or a secret).
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// An error with a message and an underlying cause.
    pub fn new(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// An error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

impl From<StoreError> for SourceError {
    fn from(err: StoreError) -> Self {
        Self::new("the permissions store failed", err)
    }
}

/// Something that can tell a user's permissions.
#[async_trait]
pub trait PermissionsSource: Send + Sync + 'static {
    /// The user's permissions, `None` if none are stored. Shared (an [`Arc`]): a cache hands out
    /// the entry it holds without copying it.
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError>;

    /// The user's permissions, read as fresh as `consistency` asks (a route rule's choice, say).
    /// Sources with nothing older to serve answer as [`Self::permissions`].
    async fn permissions_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        let _ = consistency;
        self.permissions(id).await
    }
}

/// Any store (usually DynamoDB behind the cache) is a source.
pub struct StoreSource<S>(pub S);

#[async_trait]
impl<S: PermissionStore> PermissionsSource for StoreSource<S> {
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        Ok(self.0.get(id).await?.map(Arc::new))
    }

    async fn permissions_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        Ok(self.0.get_with(id, consistency).await?.value)
    }
}

#[cfg(feature = "client")]
#[async_trait]
impl PermissionsSource for crate::client::PermissionsClient {
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        self.permissions_at(id, Consistency::MinimizeLatency).await
    }

    async fn permissions_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        self.get_user_at(id, consistency)
            .await
            .map(|user| user.map(Arc::new))
            .map_err(|e| SourceError::new("the permissions API failed", e))
    }
}

#[async_trait]
impl<T: PermissionsSource + ?Sized> PermissionsSource for Arc<T> {
    async fn permissions(&self, id: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        (**self).permissions(id).await
    }

    async fn permissions_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        (**self).permissions_at(id, consistency).await
    }
}

/// Building a source from environment variables, for the Lambdas (which have no flags).
///
/// | variable | default | meaning |
/// | --- | --- | --- |
/// | `PERMISSIONS_SOURCE` | `api` | `api`: the permissions API through the client; `dynamodb`: the table directly |
/// | `TABLE_NAME` | (required for `dynamodb`) | the permissions table |
/// | `AWS_REGION` | the SDK's default chain | the table's region |
/// | `DYNAMODB_ENDPOINT_URL` | unset | a local DynamoDB-compatible server |
/// | `CLEARANCE_DYNAMODB_ATTEMPT_TIMEOUT`, `CLEARANCE_DYNAMODB_TIMEOUT`, `CLEARANCE_DYNAMODB_MAX_ATTEMPTS` | `300ms`, `1500ms`, 3 | DynamoDB timeouts (durations such as `300ms`, `2s`) and attempts, as the service names them |
/// | `PERMISSIONS_CACHE_TTL`, `PERMISSIONS_NEGATIVE_CACHE_TTL` | `10s`, `2s` | the in-process cache in front of DynamoDB (durations; `0s` turns it off) |
/// | `PERMISSIONS_CACHE_REFRESH_AFTER` | `4s` | refresh-ahead: an older entry is served while one background read replaces it (`0s`: off) |
/// | `PERMISSIONS_CACHE_STALE_IF_ERROR` | `60s` | how long past its TTL a found user may be served while the source fails (`0s`: off) |
///
/// `PERMISSIONS_CACHE_TTL_SECS` and `PERMISSIONS_NEGATIVE_CACHE_TTL_SECS` (whole seconds), the
/// former names of the cache variables, still work and log a deprecation warning. Variables are
/// read through [`crate::env`]: trimmed, empty as unset, errors naming the variable.
///
/// For `api`, the client reads its own variables (`PERMISSIONS_API_URL`, ...), the cache ones
/// included.
#[cfg(all(feature = "dynamodb", feature = "client", feature = "cache"))]
pub mod env {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{PermissionsSource, StoreSource};
    use crate::cache::{CacheSettings, CachedSource, CachedStore};
    use crate::store::dynamodb::{DynamoSettings, DynamoStore};

    /// A setting that cannot be used, naming the variable: [`crate::env::ConfigError`], under the
    /// name this module has always given it.
    pub use crate::env::ConfigError as EnvError;

    use crate::env::{Env, Unit};

    /// Which source the environment asks for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SourceKind {
        /// The permissions API, through the client.
        Api,
        /// The DynamoDB table directly.
        DynamoDb,
    }

    /// Reads `PERMISSIONS_SOURCE`.
    pub fn source_kind(lookup: &impl Fn(&str) -> Option<String>) -> Result<SourceKind, EnvError> {
        match Env::new(lookup).get("PERMISSIONS_SOURCE").as_deref() {
            None | Some("api") => Ok(SourceKind::Api),
            Some("dynamodb") => Ok(SourceKind::DynamoDb),
            Some(other) => Err(EnvError::bad(
                "PERMISSIONS_SOURCE",
                format!("must be api or dynamodb, got {other:?}"),
            )),
        }
    }

    /// DynamoDB settings and cache settings from the environment.
    pub fn dynamodb_settings(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(DynamoSettings, CacheSettings), EnvError> {
        let env = Env::new(lookup);
        let table = env.required("TABLE_NAME", "required when PERMISSIONS_SOURCE=dynamodb")?;
        let mut settings = DynamoSettings::new(table);
        settings.region = env.get("AWS_REGION");
        settings.endpoint_url = env.get("DYNAMODB_ENDPOINT_URL");
        for (variable, field) in [
            (
                "CLEARANCE_DYNAMODB_ATTEMPT_TIMEOUT",
                &mut settings.attempt_timeout,
            ),
            ("CLEARANCE_DYNAMODB_TIMEOUT", &mut settings.total_timeout),
        ] {
            if let Some(d) = env.duration(variable)? {
                if d.is_zero() {
                    return Err(EnvError::bad(
                        variable,
                        "must be a duration above zero such as 300ms or 2s, got 0",
                    ));
                }
                *field = d;
            }
        }
        let attempts = env
            .number::<u32>("CLEARANCE_DYNAMODB_MAX_ATTEMPTS")?
            .unwrap_or(settings.max_attempts);
        if !(1..=10).contains(&attempts) {
            return Err(EnvError::bad(
                "CLEARANCE_DYNAMODB_MAX_ATTEMPTS",
                format!("must be 1 to 10, got {attempts}"),
            ));
        }
        settings.max_attempts = attempts;
        Ok((settings, cache_settings(lookup)?))
    }

    /// The cache in front of either source (`PERMISSIONS_CACHE_TTL`, default 10 s;
    /// `PERMISSIONS_NEGATIVE_CACHE_TTL`, default 2 s): the one read-through cache, whichever the
    /// source. Both at zero turn it off.
    pub fn cache_settings(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<CacheSettings, EnvError> {
        use crate::client::{
            ENV_CACHE_REFRESH_AFTER, ENV_CACHE_STALE_IF_ERROR, ENV_CACHE_TTL, ENV_CACHE_TTL_SECS,
            ENV_NEGATIVE_CACHE_TTL, ENV_NEGATIVE_CACHE_TTL_SECS,
        };
        let env = Env::new(lookup);
        let ttl = |variable, deprecated, default| -> Result<Duration, EnvError> {
            Ok(env
                .duration_or_deprecated(variable, deprecated, Unit::Secs)?
                .map_or(default, |found| found.value))
        };
        Ok(CacheSettings {
            ttl: ttl(ENV_CACHE_TTL, ENV_CACHE_TTL_SECS, Duration::from_secs(10))?,
            negative_ttl: ttl(
                ENV_NEGATIVE_CACHE_TTL,
                ENV_NEGATIVE_CACHE_TTL_SECS,
                Duration::from_secs(2),
            )?,
            capacity: 10_000,
            refresh_after: env
                .duration(ENV_CACHE_REFRESH_AFTER)?
                .unwrap_or(CacheSettings::DEFAULT_REFRESH_AFTER),
            stale_if_error: env
                .duration(ENV_CACHE_STALE_IF_ERROR)?
                .unwrap_or(CacheSettings::DEFAULT_STALE_IF_ERROR),
        })
    }

    /// `source` behind the cache `settings` ask for, or as it is when they turn it off.
    fn cached<S: PermissionsSource>(
        source: S,
        settings: CacheSettings,
    ) -> Arc<dyn PermissionsSource> {
        if settings.ttl.is_zero() && settings.negative_ttl.is_zero() {
            Arc::new(source)
        } else {
            Arc::new(CachedSource::new(source, settings))
        }
    }

    /// Building a source failed.
    #[derive(Debug, thiserror::Error)]
    pub enum SetupError {
        /// A setting is missing or wrong.
        #[error(transparent)]
        Env(#[from] EnvError),
        /// The permissions API client's settings are wrong.
        #[error(transparent)]
        Client(crate::client::ClientConfigError),
        /// The DynamoDB client could not be built.
        #[error("connecting to DynamoDB")]
        DynamoDb(#[source] crate::store::dynamodb::DynamoError),
    }

    /// The source the environment asks for (`PERMISSIONS_SOURCE`).
    pub async fn from_env(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Arc<dyn PermissionsSource>, SetupError> {
        match source_kind(lookup)? {
            SourceKind::DynamoDb => dynamodb_source(lookup).await,
            SourceKind::Api => {
                let config =
                    crate::client::ClientConfig::from_lookup(lookup).map_err(SetupError::Client)?;
                let client =
                    crate::client::PermissionsClient::new(config).map_err(SetupError::Client)?;
                Ok(cached(client, cache_settings(lookup)?))
            }
        }
    }

    /// The DynamoDB table behind a cache, as a source.
    pub async fn dynamodb_source(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Arc<dyn PermissionsSource>, SetupError> {
        let (settings, cache) = dynamodb_settings(lookup)?;
        let store = DynamoStore::connect(&settings)
            .await
            .map_err(SetupError::DynamoDb)?;
        if cache.ttl.is_zero() && cache.negative_ttl.is_zero() {
            return Ok(Arc::new(StoreSource(store)));
        }
        Ok(Arc::new(StoreSource(CachedStore::new(store, cache))))
    }

    #[cfg(test)]
    mod tests {
        use std::collections::HashMap;
        use std::time::Duration;

        use super::*;

        fn settings(pairs: &[(&str, &str)]) -> Result<CacheSettings, EnvError> {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            cache_settings(&|k: &str| map.get(k).cloned())
        }

        #[test]
        fn one_cache_setting_for_either_source_in_durations_or_former_seconds() {
            let defaults = settings(&[]).unwrap();
            assert_eq!(
                (defaults.ttl, defaults.negative_ttl),
                (Duration::from_secs(10), Duration::from_secs(2))
            );
            let set = settings(&[
                ("PERMISSIONS_CACHE_TTL", "1m"),
                ("PERMISSIONS_NEGATIVE_CACHE_TTL", "0s"),
            ])
            .unwrap();
            assert_eq!(
                (set.ttl, set.negative_ttl),
                (Duration::from_secs(60), Duration::ZERO)
            );
            let former = settings(&[
                ("PERMISSIONS_CACHE_TTL_SECS", "60"),
                ("PERMISSIONS_NEGATIVE_CACHE_TTL_SECS", "0"),
            ])
            .unwrap();
            assert_eq!(
                (former.ttl, former.negative_ttl),
                (set.ttl, set.negative_ttl)
            );
            for bad in [
                vec![("PERMISSIONS_CACHE_TTL", "10")],
                vec![("PERMISSIONS_CACHE_TTL_SECS", "-1")],
                vec![
                    ("PERMISSIONS_CACHE_TTL", "10s"),
                    ("PERMISSIONS_CACHE_TTL_SECS", "10"),
                ],
            ] {
                let err = settings(&bad).unwrap_err();
                assert!(err.variable.starts_with("PERMISSIONS_CACHE_TTL"), "{err}");
            }
        }
    }
}
