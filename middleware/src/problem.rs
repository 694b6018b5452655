//! Problems as RFC 9457 `application/problem+json`: the one [`Problem`] type that the permissions
//! API and this middleware both answer with, `{type, title, status, detail}` with `type` =
//! `urn:clearance:problem:<slug>`, plus `field` (the field that broke a rule) on validation
//! problems and `code` (the rule that refused) on 403s.
//!
//! [`AuthError`] is every way the layers and extractors can refuse a request. Its texts are written
//! for the caller and say only what the caller may know: which rule refused, never another user's
//! or another company's data, never the caller's other companies, never a token. Server-side
//! failures (5xx) say nothing internal; their cause is logged here, once.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clearance_core::authz::Outcome;
use clearance_core::domain::DecisionReason;
use clearance_core::jwt::JwtError;
use clearance_core::report::error_chain;
use clearance_core::source::SourceError;
use serde::Serialize;

/// The media type of every refusal.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:clearance:problem:<slug>`); stable, so clients can
    /// match on it.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "urn:clearance:problem:validation")
    )]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    #[cfg_attr(feature = "openapi", schema(example = "Invalid request"))]
    pub title: String,
    /// The HTTP status code.
    #[cfg_attr(feature = "openapi", schema(example = 400))]
    pub status: u16,
    /// What exactly was wrong with this request.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "companies[1]: may contain only A-Z, a-z, 0-9 and . _ : - (found ' ' in \"ac me\")"
        )
    )]
    pub detail: String,
    /// For validation problems, the field that broke a rule; for an invalid cursor, `cursor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For 403s: the stable code of the rule that refused (`not-a-member`, `subject-mismatch`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Problem {
    /// A problem of kind `slug` (the last part of its `type`).
    pub fn new(
        status: StatusCode,
        slug: &str,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: problem_type(slug),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            code: None,
        }
    }

    /// The same problem, naming the field that broke a rule.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same problem, naming the rule that refused.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The `type` URI for a problem slug.
pub fn problem_type(slug: &str) -> String {
    format!("urn:clearance:problem:{slug}")
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No caller in the request context and no `Authorization: Bearer` header (401).
    #[error("a bearer token is required (Authorization: Bearer <token>)")]
    MissingToken,
    /// A bearer token was sent where only the API Gateway context is accepted (no verifier is
    /// configured) (401).
    #[error("bearer tokens are not accepted here: call through API Gateway")]
    TokensNotAccepted,
    /// The bearer token failed verification (401). The error names the check, never the token.
    #[error("the bearer token was refused: {0}")]
    InvalidToken(#[source] JwtError),
    /// The token verified but names neither a subject nor a client (401).
    #[error("the token names no subject (sub) and no client (client_id)")]
    Unidentified,
    /// The token's permission version is below the caller's current one: its claims are out of
    /// date and the client should refresh it (401).
    #[error("the token's permissions are out of date: refresh the token to get the current ones")]
    StalePermissions,
    /// The issuer's keys could not be had, so the token could not be judged (503).
    #[error("the issuer's keys are unavailable")]
    KeysUnavailable(#[source] JwtError),
    /// The permissions source failed (503): never an allow.
    #[error("the permissions source failed")]
    PermissionsUnavailable(#[source] SourceError),
    /// The permissions source did not answer in time (503).
    #[error("the permissions source did not answer within {0:?}")]
    PermissionsTimeout(Duration),
    /// A route requirement refused the caller (403).
    #[error("refused: {0}")]
    Forbidden(Outcome),
    /// A path parameter is not valid UTF-8 (400).
    #[error("a path parameter is not valid UTF-8")]
    InvalidPath,
    /// The layers are wired wrongly (500): e.g. a requirement or an extractor on a route without
    /// the authentication layer, or a rule naming a path parameter the route does not have.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

impl AuthError {
    /// The status, problem slug and title.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::MissingToken
            | Self::TokensNotAccepted
            | Self::InvalidToken(_)
            | Self::Unidentified => (S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::StalePermissions => (S::UNAUTHORIZED, "stale-permissions", "Stale permissions"),
            Self::KeysUnavailable(_) => (
                S::SERVICE_UNAVAILABLE,
                "authentication-unavailable",
                "Authentication unavailable",
            ),
            Self::PermissionsUnavailable(_) | Self::PermissionsTimeout(_) => (
                S::SERVICE_UNAVAILABLE,
                "permissions-unavailable",
                "Permissions unavailable",
            ),
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Forbidden"),
            Self::InvalidPath => (S::BAD_REQUEST, "invalid-parameter", "Invalid parameter"),
            Self::Misconfigured(_) => (
                S::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// What the caller is told.
    fn detail(&self) -> String {
        match self {
            Self::KeysUnavailable(_) => {
                "the token could not be checked right now; try again shortly".into()
            }
            Self::PermissionsUnavailable(_) | Self::PermissionsTimeout(_) => {
                "your permissions could not be read right now; try again shortly".into()
            }
            Self::Misconfigured(_) => "the server failed to complete the request".into(),
            Self::Forbidden(outcome) => forbidden_detail(outcome),
            other => other.to_string(),
        }
    }

    /// The stable code of the rule or check that refused, for logs and the 403 body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing-token",
            Self::TokensNotAccepted => "tokens-not-accepted",
            Self::InvalidToken(e) | Self::KeysUnavailable(e) => e.code(),
            Self::Unidentified => "unidentified",
            Self::StalePermissions => clearance_core::authz::STALE_PERMISSIONS,
            Self::PermissionsUnavailable(_) | Self::PermissionsTimeout(_) => {
                "permissions-unavailable"
            }
            Self::Forbidden(outcome) => outcome.code(),
            Self::InvalidPath => "invalid-path",
            Self::Misconfigured(_) => "misconfigured",
        }
    }
}

/// The 403 text for an outcome: the rule, in the caller's terms. It never repeats what the caller
/// holds (their companies, their role), only what the route asks for.
fn forbidden_detail(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Deny(DecisionReason::UnknownUser) => "no permissions are stored for you".into(),
        Outcome::Deny(DecisionReason::NotAMember { .. }) | Outcome::InvalidCompany(_) => {
            "you may not act for this company".into()
        }
        Outcome::Deny(DecisionReason::RoleMismatch { required, .. }) => {
            format!("this action requires the role {required:?}")
        }
        Outcome::Deny(DecisionReason::RoleBelow { required, .. }) => {
            format!("this action requires the role {required:?} or above")
        }
        Outcome::SubjectMismatch => {
            "you may act only for yourself: the path names another user".into()
        }
        Outcome::ClientMismatch => "the path names another client".into(),
        Outcome::NotAMachine => {
            "this route is for machine clients: use a client-credentials token".into()
        }
        // Not reached: allows pass and missing parameters are a misconfiguration; kept general.
        Outcome::Allow(_)
        | Outcome::Deny(DecisionReason::Allowed)
        | Outcome::MissingParameter(_) => "you may not do this".into(),
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        if status.is_server_error() {
            // The one place a server-side failure's cause is logged; the caller sees none of it.
            tracing::error!(kind = slug, cause = %error_chain(&self), "request refused");
        }
        let mut problem = Problem::new(status, slug, title, self.detail());
        if let Self::Forbidden(outcome) = &self {
            problem = problem.with_code(outcome.code());
        }
        if let Self::StalePermissions = &self {
            problem = problem.with_code(self.code());
        }
        let mut response = problem.into_response();
        let headers = response.headers_mut();
        match &self {
            Self::MissingToken | Self::TokensNotAccepted => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::InvalidToken(_) | Self::Unidentified => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Self::StalePermissions => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer error=\"invalid_token\", error_description=\"stale-permissions: the token's permissions are out of date; refresh the token\"",
                    ),
                );
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_texts_never_name_what_the_caller_holds() {
        let below = Outcome::Deny(DecisionReason::RoleBelow {
            held: "Standard".into(),
            required: "Manager".into(),
        });
        let detail = forbidden_detail(&below);
        assert_eq!(detail, "this action requires the role \"Manager\" or above");
        let other = Outcome::Deny(DecisionReason::NotAMember {
            company: "9999".into(),
        });
        assert_eq!(forbidden_detail(&other), "you may not act for this company");
    }

    #[test]
    fn problem_types_are_urns() {
        assert_eq!(problem_type("forbidden"), "urn:clearance:problem:forbidden");
        assert_eq!(AuthError::MissingToken.parts().0, StatusCode::UNAUTHORIZED);
    }
}
