//! Extractors whose rejections are problem documents like every other error.
//!
//! - [`JsonBody`]: checks the content type (415), the size (413), the syntax (400 naming line and
//!   column) and the shape (400 naming an unknown or missing field; an object wherever the type
//!   has named fields).
//! - [`UserIdPath`], [`CompanyPath`]: a validated id from the path (400 naming the rule broken).
//! - [`QueryParams`]: query parameters (400 naming the parameter).
//! - [`ConsistencyParam`]: how fresh a read or a decision must be (`?consistency=`, 400 naming
//!   the accepted forms).
//!
//! Conditional headers (`If-Match`, `If-None-Match`) are read in [`super::conditional`].

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use clearance_core::consistency::{Consistency, ConsistencyError};
use clearance_core::domain::{CompanyId, UserId};
use serde::de::DeserializeOwned;

use super::problem::ApiError;

/// The largest request body accepted, in bytes: room for the largest user the domain allows
/// ([`MAX_COMPANIES`] companies of [`MAX_COMPANY_LEN`] characters, about 67 KB as compact JSON)
/// with whitespace to spare, and no more.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

use clearance_core::domain::{MAX_COMPANIES, MAX_COMPANY_LEN};

// The limits must agree: the largest valid user, even pretty-printed with a line and an indent
// per company, must fit in one body.
const _: () = assert!(MAX_COMPANIES * (MAX_COMPANY_LEN + 16) + 4096 <= MAX_BODY_BYTES);

/// A JSON request body, parsed strictly.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "the request body must be JSON: send Content-Type: application/json".into(),
            ));
        }
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge {
                            limit: MAX_BODY_BYTES,
                        }
                    } else {
                        ApiError::InvalidBody(format!(
                            "the request body could not be read: {rejection}"
                        ))
                    }
                })?;
        // Parse, then read the type from the value strictly (a struct must be an object; see
        // `super::strict`).
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::InvalidBody(describe_json_error(&e)))?;
        T::deserialize(super::strict::Strict(&value))
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidBody(describe_json_error(&e)))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!("the body is not valid JSON: {e}"),
        Category::Data => format!("the body does not have the expected shape: {e}"),
        Category::Io => format!("the body could not be read: {e}"),
    }
}

/// A user id from the path (`/users/{id}`), validated.
pub struct UserIdPath(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for UserIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidParameter(format!("the user id in the path: {e}")))?;
        let id = UserId::parse(raw)?;
        tracing::Span::current().record("user_id", id.as_str());
        Ok(Self(id))
    }
}

/// A company id from the path (`/companies/{company}/...`), validated.
pub struct CompanyPath(pub CompanyId);

impl<S: Send + Sync> FromRequestParts<S> for CompanyPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidParameter(format!("the company in the path: {e}")))?;
        Ok(Self(CompanyId::parse(raw)?))
    }
}

/// Query parameters, parsed strictly.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
        Ok(Self(value))
    }
}

/// How fresh a read or a decision must be: `?consistency=minimize-latency` (the default: the
/// cache), `at-least:<version>` (the cache only if its entry is that version or newer, else the
/// store: read your writes with the ETag a write returned) or `fully-consistent` (a strongly
/// consistent store read). Other query parameters are left to the handler.
pub struct ConsistencyParam(pub Consistency);

/// The query parameter [`ConsistencyParam`] reads, as the OpenAPI document describes it.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// How fresh the answer must be: `minimize-latency` (default: the cache), `at-least:<version>`
    /// (e.g. `at-least:4` or the ETag `at-least:"4"`: the cache only if its entry is that version
    /// or newer, else the store) or `fully-consistent` (a strongly consistent store read).
    #[param(
        example = "fully-consistent",
        pattern = r#"^(minimize-latency|fully-consistent|at-least:("[0-9]{1,19}"|[0-9]{1,19}))$"#
    )]
    pub consistency: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ConsistencyParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Most reads have no query at all: skip the query parser.
        if parts.uri.query().is_none() {
            return Ok(Self(Consistency::default()));
        }
        let QueryParams(query) =
            QueryParams::<ConsistencyQuery>::from_request_parts(parts, state).await?;
        match query.consistency {
            None => Ok(Self(Consistency::default())),
            Some(raw) => raw
                .parse()
                .map(Self)
                .map_err(|e: ConsistencyError| ApiError::InvalidParameter(e.to_string())),
        }
    }
}
