//! Where the Lambdas (the Cognito trigger, the authorizer) and the middleware get a user's
//! permissions: the permissions API through the client, or a store directly (DynamoDB behind the
//! cache, saving a hop). [`PermissionsSource`] hides which.

use std::sync::Arc;

use async_trait::async_trait;

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
    /// The user's permissions, `None` if none are stored.
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError>;
}

/// Any store (usually DynamoDB behind the cache) is a source.
pub struct StoreSource<S>(pub S);

#[async_trait]
impl<S: PermissionStore> PermissionsSource for StoreSource<S> {
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        Ok(self.0.get(id).await?)
    }
}

#[cfg(feature = "client")]
#[async_trait]
impl PermissionsSource for crate::client::PermissionsClient {
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        self.get_user(id)
            .await
            .map_err(|e| SourceError::new("the permissions API failed", e))
    }
}

#[async_trait]
impl<T: PermissionsSource + ?Sized> PermissionsSource for Arc<T> {
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        (**self).permissions(id).await
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
/// | `PERMISSIONS_CACHE_TTL_SECS`, `PERMISSIONS_NEGATIVE_CACHE_TTL_SECS` | 10, 2 | the in-process cache in front of DynamoDB |
///
/// For `api`, the client reads its own variables (`PERMISSIONS_API_URL`, ...).
#[cfg(all(feature = "dynamodb", feature = "client"))]
pub mod env {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{PermissionsSource, StoreSource};
    use crate::cache::{CacheSettings, CachedStore};
    use crate::store::dynamodb::{DynamoSettings, DynamoStore};

    /// A setting that cannot be used, naming the variable.
    #[derive(Debug, thiserror::Error)]
    #[error("{variable}: {problem}")]
    pub struct EnvError {
        /// The environment variable.
        pub variable: &'static str,
        /// What is wrong.
        pub problem: String,
    }

    fn bad(variable: &'static str, problem: impl Into<String>) -> EnvError {
        EnvError {
            variable,
            problem: problem.into(),
        }
    }

    fn number(
        lookup: &impl Fn(&str) -> Option<String>,
        variable: &'static str,
        default: u64,
    ) -> Result<u64, EnvError> {
        match lookup(variable).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| bad(variable, format!("must be a whole number, got {v:?}"))),
        }
    }

    fn duration(
        lookup: &impl Fn(&str) -> Option<String>,
        variable: &'static str,
    ) -> Result<Option<Duration>, EnvError> {
        match lookup(variable).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => match humantime::parse_duration(v.trim()) {
                Ok(d) if !d.is_zero() => Ok(Some(d)),
                _ => Err(bad(
                    variable,
                    format!("must be a duration above zero such as 300ms or 2s, got {v:?}"),
                )),
            },
        }
    }

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
        match lookup("PERMISSIONS_SOURCE").as_deref().map(str::trim) {
            None | Some("") | Some("api") => Ok(SourceKind::Api),
            Some("dynamodb") => Ok(SourceKind::DynamoDb),
            Some(other) => Err(bad(
                "PERMISSIONS_SOURCE",
                format!("must be api or dynamodb, got {other:?}"),
            )),
        }
    }

    /// DynamoDB settings and cache settings from the environment.
    pub fn dynamodb_settings(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(DynamoSettings, CacheSettings), EnvError> {
        let table = lookup("TABLE_NAME")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("TABLE_NAME", "is required when PERMISSIONS_SOURCE=dynamodb"))?;
        let mut settings = DynamoSettings::new(table);
        settings.region = lookup("AWS_REGION").filter(|v| !v.is_empty());
        settings.endpoint_url = lookup("DYNAMODB_ENDPOINT_URL").filter(|v| !v.is_empty());
        if let Some(d) = duration(lookup, "CLEARANCE_DYNAMODB_ATTEMPT_TIMEOUT")? {
            settings.attempt_timeout = d;
        }
        if let Some(d) = duration(lookup, "CLEARANCE_DYNAMODB_TIMEOUT")? {
            settings.total_timeout = d;
        }
        let attempts = number(
            lookup,
            "CLEARANCE_DYNAMODB_MAX_ATTEMPTS",
            settings.max_attempts as u64,
        )?;
        if !(1..=10).contains(&attempts) {
            return Err(bad(
                "CLEARANCE_DYNAMODB_MAX_ATTEMPTS",
                format!("must be 1 to 10, got {attempts}"),
            ));
        }
        settings.max_attempts = attempts as u32;
        let cache = CacheSettings {
            ttl: Duration::from_secs(number(lookup, "PERMISSIONS_CACHE_TTL_SECS", 10)?),
            negative_ttl: Duration::from_secs(number(
                lookup,
                "PERMISSIONS_NEGATIVE_CACHE_TTL_SECS",
                2,
            )?),
            capacity: 10_000,
        };
        Ok((settings, cache))
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
                Ok(Arc::new(client))
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
        Ok(Arc::new(StoreSource(CachedStore::new(store, cache))))
    }
}
