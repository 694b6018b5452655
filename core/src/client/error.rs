//! What can go wrong when calling the permissions API, or getting a token for it.
//!
//! The errors are `Clone`, so one failed load can be handed to every caller that waited on it;
//! their sources are kept behind an `Arc`, never flattened into text. No variant holds a secret, a
//! token or a signature.

use std::sync::Arc;
use std::time::Duration;

/// The longest problem `detail` kept from an error answer, in characters.
const MAX_DETAIL: usize = 300;

/// A failed call to the permissions API.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No answer within the time allowed (per attempt or in total, retries included).
    #[error("the permissions API did not answer in time ({attempts} attempt(s) in {elapsed:?})")]
    Timeout {
        /// Time spent on the call.
        elapsed: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The permissions API could not be reached (connection refused or reset, DNS, TLS).
    #[error("could not reach the permissions API ({attempts} attempt(s))")]
    Transport {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        #[source]
        source: Arc<reqwest::Error>,
    },
    /// The permissions API answered with an error status.
    #[error("the permissions API answered {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// The HTTP status.
        status: u16,
        /// The problem document's `detail`, if the body was one.
        detail: Option<String>,
    },
    /// The answer was not the JSON expected.
    #[error("the permissions API's answer could not be read")]
    Decode(#[source] Arc<serde_json::Error>),
    /// No access token could be had from the token endpoint.
    #[error("could not get an access token for the permissions API")]
    Token(#[source] TokenError),
    /// The request could not be signed (SigV4), e.g. because no AWS credentials could be loaded.
    #[error("could not sign the request to the permissions API: {reason}")]
    Signing {
        /// What failed.
        reason: &'static str,
        /// Why, if known.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
}

impl ClientError {
    /// Whether the call may succeed if made again: timeouts, connection failures, 5xx answers,
    /// and token or credential failures of the same kinds. Never a 4xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            Self::Token(err) => err.is_retryable(),
            Self::Decode(_) | Self::Signing { .. } => false,
        }
    }

    /// An error for an answer with status `status` and body `body`.
    pub(crate) fn from_status(status: reqwest::StatusCode, body: &[u8]) -> Self {
        Self::Status {
            status: status.as_u16(),
            detail: problem_detail(body),
        }
    }
}

/// The `detail` of an RFC 9457 problem document, clipped.
fn problem_detail(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let detail = value.get("detail")?.as_str()?;
    Some(detail.chars().take(MAX_DETAIL).collect())
}

/// A failed request to the OAuth2 token endpoint.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token endpoint did not answer in time.
    #[error("the token endpoint did not answer in time")]
    Timeout,
    /// The token endpoint could not be reached.
    #[error("could not reach the token endpoint")]
    Transport(#[source] Arc<reqwest::Error>),
    /// The token endpoint refused (4xx), e.g. `invalid_client` or `invalid_scope`.
    #[error("the token endpoint refused with {status}{}", error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OAuth2 `error` code, if the body had one.
        error: Option<String>,
    },
    /// The token endpoint failed (5xx).
    #[error("the token endpoint failed with {status}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
    },
    /// The answer was not a token response.
    #[error("the token endpoint's answer could not be read")]
    Decode(#[source] Arc<serde_json::Error>),
    /// The token is not a bearer token.
    #[error("the token endpoint issued a {0:?} token, not a bearer token")]
    NotBearer(String),
}

impl TokenError {
    /// Whether asking again may succeed: timeouts, connection failures and 5xx answers.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout | Self::Transport(_) | Self::Unavailable { .. }
        )
    }
}

/// Why a client could not be configured. The message names the setting and what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// A setting is absent or cannot be used.
    #[error(transparent)]
    Setting(#[from] crate::env::SettingError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
}

/// A variable the environment reader could not use, named.
impl From<crate::env::ConfigError> for ClientConfigError {
    fn from(err: crate::env::ConfigError) -> Self {
        Self::Setting(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_connection_failures_and_5xx_are_retryable() {
        let status = |s| ClientError::Status {
            status: s,
            detail: None,
        };
        assert!(status(503).is_retryable());
        assert!(status(500).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(403).is_retryable());
        assert!(!status(429).is_retryable());
        assert!(
            ClientError::Timeout {
                elapsed: Duration::ZERO,
                attempts: 1
            }
            .is_retryable()
        );
        assert!(ClientError::Token(TokenError::Unavailable { status: 502 }).is_retryable());
        assert!(
            !ClientError::Token(TokenError::Refused {
                status: 400,
                error: Some("invalid_client".into())
            })
            .is_retryable()
        );
    }

    #[test]
    fn the_problem_detail_is_kept() {
        let err = ClientError::from_status(
            reqwest::StatusCode::BAD_REQUEST,
            br#"{"type":"urn:clearance:problem:validation","detail":"ids: must hold 1 to 100 ids"}"#,
        );
        assert_eq!(
            err.to_string(),
            "the permissions API answered 400: ids: must hold 1 to 100 ids"
        );
        let err = ClientError::from_status(reqwest::StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(err.to_string(), "the permissions API answered 502");
    }
}
