//! Errors as RFC 9457 `application/problem+json`.
//!
//! Every error the API returns goes through [`ApiError`], so they all share one shape:
//! `{type, title, status, detail}` with a stable `type` per kind of problem and a `detail` that says
//! exactly what was wrong. Server-side failures (5xx) say nothing internal; their cause is logged
//! here, once.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clearance_core::domain::ValidationError;
use clearance_core::store::StoreError;
use clearance_core::store::cursor::CursorError;
use clearance_core::store::ops::PatchError;

pub use clearance_core::report::error_chain;
pub use clearance_middleware::problem::{PROBLEM_JSON, Problem, problem_type};

/// Everything that can go wrong in a request, mapped to a status and a problem `type`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A value broke a domain rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The body is not valid JSON, or not the expected shape.
    #[error("{0}")]
    InvalidBody(String),
    /// A path or query parameter could not be read.
    #[error("{0}")]
    InvalidParameter(String),
    /// A conditional header (`If-Match`, `If-None-Match`) is malformed or misused.
    #[error("{0}")]
    InvalidPrecondition(String),
    /// The body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than allowed.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// No permissions are stored for the user.
    #[error("no permissions are stored for user {0:?}")]
    UserNotFound(String),
    /// No such route.
    #[error("no resource at {0}")]
    RouteNotFound(String),
    /// The route exists but not with this method.
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// The pagination cursor was altered, belongs to another listing, or was tagged under another
    /// key (another deployment, or a cursor secret that has changed).
    #[error(transparent)]
    InvalidCursor(#[from] CursorError),
    /// An AuthZEN search's `page.token` cannot be used (the message says why and what to do).
    #[error("{0}")]
    InvalidPageToken(String),
    /// A precondition did not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The store failed.
    #[error("store failure")]
    Store(#[source] StoreError),
    /// No or an invalid credential.
    #[error("{detail}")]
    Unauthorized {
        /// Which check failed (never the token itself).
        detail: String,
    },
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { current } => Self::PreconditionFailed(match current {
                Some(v) => format!("the precondition did not hold: the current version is {v}"),
                None => "the precondition did not hold: the user does not exist".into(),
            }),
            StoreError::NotFound => Self::UserNotFound(String::new()),
            other => Self::Store(other),
        }
    }
}

impl From<PatchError> for ApiError {
    fn from(err: PatchError) -> Self {
        match err {
            PatchError::NotFound => Self::UserNotFound(String::new()),
            PatchError::Invalid(e) => Self::Validation(e),
            PatchError::Store(e) => e.into(),
        }
    }
}

impl ApiError {
    /// Names the user in a not-found error raised below the handler.
    pub fn for_user(self, id: &str) -> Self {
        match self {
            Self::UserNotFound(name) if name.is_empty() => Self::UserNotFound(id.to_owned()),
            other => other,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::Validation(_) => (S::BAD_REQUEST, "validation", "Invalid request"),
            Self::InvalidBody(_) => (S::BAD_REQUEST, "invalid-body", "Invalid request body"),
            Self::InvalidParameter(_) => (S::BAD_REQUEST, "invalid-parameter", "Invalid parameter"),
            Self::InvalidPrecondition(_) => (
                S::BAD_REQUEST,
                "invalid-precondition",
                "Invalid conditional header",
            ),
            Self::UnsupportedMediaType(_) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::PayloadTooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            Self::UserNotFound(_) => (S::NOT_FOUND, "user-not-found", "User not found"),
            Self::RouteNotFound(_) => (S::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed(_) => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::InvalidCursor(_) | Self::InvalidPageToken(_) => {
                (S::BAD_REQUEST, "invalid-cursor", "Invalid cursor")
            }
            Self::PreconditionFailed(_) => (
                S::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
            ),
            Self::Unauthorized { .. } => (S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Forbidden"),
            Self::Store(StoreError::Unavailable { .. }) => (
                S::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Permissions store unavailable",
            ),
            Self::Store(_) => (
                S::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Store(StoreError::Unavailable { .. }) => {
                "the permissions store did not answer in time; try again shortly".into()
            }
            Self::Store(_) => "the server failed to complete the request".into(),
            Self::Validation(e) => e.to_string(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        if status.is_server_error() {
            // The one place a server-side failure's cause is logged (the store's error and every
            // source under it, e.g. DynamoDB's error code and message); the client sees none of it.
            let cause = match &self {
                Self::Store(e) => error_chain(e),
                other => error_chain(other),
            };
            tracing::error!(
                error = %self,
                kind = slug,
                cause = %cause,
                request_id = super::observe::request_id(),
                "request failed"
            );
        }
        let mut problem = Problem::new(status, slug, title, self.detail());
        match &self {
            Self::Validation(e) => problem = problem.with_field(e.field.clone()),
            Self::InvalidCursor(_) => problem = problem.with_field("cursor"),
            Self::InvalidPageToken(_) => problem = problem.with_field("page.token"),
            _ => {}
        }
        let mut response = problem.into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Store(StoreError::Unavailable { retry_after, .. }) => {
                let secs = retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .as_secs()
                    .max(1);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Self::Unauthorized { .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            _ => {}
        }
        response
    }
}
