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

#[async_trait]
impl<T: PermissionsSource + ?Sized> PermissionsSource for Arc<T> {
    async fn permissions(&self, id: &UserId) -> Result<Option<UserPermissions>, SourceError> {
        (**self).permissions(id).await
    }
}
