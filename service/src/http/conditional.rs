//! Conditional requests in one place: the entity tag of a version (`ETag: "3"`), `If-Match` and
//! `If-None-Match` turned into the store's [`Precondition`] for writes (checked by the store
//! itself, never against a cached copy), and `If-None-Match` on reads (304 Not Modified).
//!
//! Answers served through the cache say how fresh they are ([`with_freshness`]): `Age` (seconds
//! since the store read) and an RFC 9211 `Cache-Status` (hit, refresh-ahead, stale-if-error, or
//! why the store was read).
//!
//! Entity tags are the user's version in quotes; weak tags (`W/"3"`) are refused, since versions
//! are exact.

use axum::Json;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clearance_core::consistency::Freshness;
use clearance_core::domain::UserPermissions;
use clearance_core::store::Precondition;

use super::problem::ApiError;

/// The store precondition that the request's conditional headers ask for.
///
/// `If-Match: "3"` is version 3; `If-Match: *` means the user must exist; `If-None-Match: *` means
/// it must not (create-only). Weak tags (`W/"3"`) are refused: versions are exact. Both headers
/// together can never hold (412); an empty header counts as not sent.
pub fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    // An empty field is an empty list: as if the header were not sent.
    let if_match = header_text(headers, header::IF_MATCH)?.filter(|v| !v.trim().is_empty());
    let if_none_match =
        header_text(headers, header::IF_NONE_MATCH)?.filter(|v| !v.trim().is_empty());
    match (if_match, if_none_match) {
        (Some(m), Some(n)) => {
            // Each must be well-formed on its own; together (RFC 9110 evaluates If-Match, then
            // If-None-Match) they never hold: the user would have to exist and not exist.
            if m.trim() != "*" {
                parse_etag(m.trim())?;
            }
            if n.trim() != "*" {
                return Err(ApiError::InvalidPrecondition(
                    "a write takes only If-None-Match: * (create only)".into(),
                ));
            }
            Err(ApiError::PreconditionFailed(
                "If-Match and If-None-Match: * never hold together: the user would have to exist and not exist".into(),
            ))
        }
        (Some(m), None) => {
            if m.trim() == "*" {
                return Ok(Precondition::MustExist);
            }
            parse_etag(m.trim()).map(Precondition::Version)
        }
        (None, Some(n)) => {
            if n.trim() == "*" {
                Ok(Precondition::MustNotExist)
            } else {
                Err(ApiError::InvalidPrecondition(
                    "a write takes only If-None-Match: * (create only)".into(),
                ))
            }
        }
        (None, None) => Ok(Precondition::None),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>, ApiError> {
    match headers.get(&name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            ApiError::InvalidPrecondition(format!("the {name} header is not valid text"))
        }),
    }
}

/// Parses one entity tag as Clearance issues them: a version number in quotes.
pub fn parse_etag(tag: &str) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::InvalidPrecondition(format!(
            "{tag:?} is not an entity tag issued by this API: send the ETag as received, e.g. \"3\""
        ))
    };
    let inner = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(bad)?;
    inner.parse::<u64>().map_err(|_| bad())
}

/// The entity tag for a version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The entity tag for a version as a header value, formatted on the stack.
fn etag_value(version: u64) -> HeaderValue {
    // `"` + at most 20 digits + `"`.
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(version).as_bytes();
    let mut text = [b'"'; 22];
    text[1..=digits.len()].copy_from_slice(digits);
    HeaderValue::from_bytes(&text[..digits.len() + 2])
        .expect("digits and quotes are a valid header value")
}

/// Bytes reserved for a user's JSON up front: a user of a few companies fits, so serializing
/// it never grows the buffer (axum's `Json` starts at 128 bytes, below a typical user).
const USER_JSON_CAPACITY: usize = 256;

/// A response with `user` as its JSON body and its version as the `ETag`.
///
/// Built directly rather than from a `(status, headers, body)` tuple: the tuple's body would
/// first set `Content-Type: application/octet-stream`, then its headers replace it, on every read.
pub fn with_etag(status: StatusCode, user: &UserPermissions) -> Response {
    let mut body = Vec::with_capacity(USER_JSON_CAPACITY);
    if serde_json::to_writer(&mut body, user).is_err() {
        // Never for a user (strings and numbers only); answered as axum's `Json` would.
        let mut response = (status, Json(user)).into_response();
        response
            .headers_mut()
            .insert(header::ETAG, etag_value(user.version));
        return response;
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::ETAG, etag_value(user.version));
    response
}

/// A read's `If-None-Match` header, if sent (the one request header a read looks at: taking it
/// alone spares copying every header of the request).
pub struct IfNoneMatch(pub Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::IF_NONE_MATCH).cloned()))
    }
}

/// For a read: a 304 Not Modified (with the `ETag`) when the request's `If-None-Match` names the
/// current version (or `*`); `None` to send the user.
pub fn not_modified(if_none_match: &IfNoneMatch, user: &UserPermissions) -> Option<Response> {
    let tags = if_none_match.0.as_ref()?.to_str().ok()?;
    let current = etag(user.version);
    if !tags
        .split(',')
        .any(|t| t.trim() == current || t.trim() == "*")
    {
        return None;
    }
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag_value(user.version));
    Some(response)
}

/// The name this API gives its cache in `Cache-Status`.
pub const CACHE_NAME: &str = "clearance";

/// Adds `Age` and `Cache-Status` to an answer that went through the cache (nothing when no cache
/// is configured: the store answered).
pub fn with_freshness(mut response: Response, freshness: Option<Freshness>) -> Response {
    if let Some(freshness) = freshness {
        let headers = response.headers_mut();
        headers.insert(header::AGE, HeaderValue::from(freshness.age_secs()));
        // From the String itself: its buffer becomes the header's, not copied.
        if let Ok(value) = HeaderValue::try_from(freshness.cache_status(CACHE_NAME)) {
            headers.insert(CACHE_STATUS, value);
        }
    }
    response
}

/// RFC 9211's response header.
pub const CACHE_STATUS: header::HeaderName = header::HeaderName::from_static("cache-status");

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn conditional_headers_become_store_preconditions() {
        assert_eq!(precondition(&headers(&[])).unwrap(), Precondition::None);
        assert_eq!(
            precondition(&headers(&[(header::IF_MATCH, "\"3\"")])).unwrap(),
            Precondition::Version(3)
        );
        assert_eq!(
            precondition(&headers(&[(header::IF_MATCH, "*")])).unwrap(),
            Precondition::MustExist
        );
        assert_eq!(
            precondition(&headers(&[(header::IF_NONE_MATCH, "*")])).unwrap(),
            Precondition::MustNotExist
        );
        for bad in [
            vec![(header::IF_MATCH, "W/\"3\"")],
            vec![(header::IF_MATCH, "3")],
            vec![(header::IF_NONE_MATCH, "\"3\"")],
            vec![(header::IF_MATCH, "\"1\""), (header::IF_NONE_MATCH, "*")],
        ] {
            assert!(precondition(&headers(&bad)).is_err(), "{bad:?}");
        }
        assert_eq!(etag(7), "\"7\"");
        assert_eq!(etag_value(7), etag(7).as_str());
        assert_eq!(etag_value(u64::MAX), etag(u64::MAX).as_str());
        assert_eq!(parse_etag(&etag(7)).unwrap(), 7);
    }
}
