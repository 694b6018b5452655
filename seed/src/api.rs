//! Writing through the permissions API (`--api URL`): one `PUT /users/{id}` per record.
//!
//! The service validates and versions each write itself, exactly as for any other caller.
//! `insert-only` sends `If-None-Match: *`, so an existing user is refused atomically (412) and
//! left untouched. Answers that mean "not now" (429, 502, 503, 504, a lost connection, a timeout)
//! are retried with jittered exponential backoff until the caller's deadline; any other error
//! answer fails that record with the problem document's `detail`.
//!
//! Authentication: an optional bearer token (`--bearer-token` / `CLEARANCE_TOKEN`) is sent as
//! `Authorization: Bearer ...`. When `clearance_core::client` (OAuth2 client credentials, SigV4)
//! is ready, this module should use it instead of plain reqwest.
//!
//! The API has no endpoint that lists every user, so it cannot serve `export` or `replace-all`.

use std::time::{Duration, Instant};

use clearance_core::domain::UserId;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, IF_NONE_MATCH};

use crate::check::Record;

/// How long one HTTP request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The first pause before a request that failed for now is sent again; it doubles each time.
const BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Building the API client failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiSetupError {
    /// The token cannot be sent as a header.
    #[error("--bearer-token (CLEARANCE_TOKEN) holds characters that cannot be sent in a header")]
    BadToken,
    /// reqwest could not build a client.
    #[error("building the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// What one PUT came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutResult {
    /// Created or replaced.
    Written,
    /// `If-None-Match: *` failed: the user exists and was left untouched.
    Exists,
    /// Refused, or not confirmed before the deadline, with why.
    Failed(String),
}

/// A client for the permissions API at a base URL.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Option<HeaderValue>,
}

impl ApiClient {
    /// A client for the API at `base`, sending `token` as a bearer token if given.
    pub fn new(base: reqwest::Url, token: Option<&str>) -> Result<Self, ApiSetupError> {
        let token = token
            .map(|t| {
                let mut value = HeaderValue::from_str(&format!("Bearer {t}"))
                    .map_err(|_| ApiSetupError::BadToken)?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("clearance-seed/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiSetupError::Client)?;
        Ok(Self { http, base, token })
    }

    /// The API's base URL.
    pub fn base(&self) -> &reqwest::Url {
        &self.base
    }

    /// `/users/{id}` under the base URL, the id percent-encoded as one path segment.
    fn user_url(&self, id: &UserId) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("users").push(id.as_str());
        }
        url
    }

    /// PUTs one record; with `create_only`, only if the user does not exist yet.
    pub async fn put(&self, record: &Record, create_only: bool, deadline: Instant) -> PutResult {
        let companies: Vec<&str> = record
            .permissions
            .companies
            .iter()
            .map(|c| c.as_str())
            .collect();
        let body = serde_json::json!({
            "companies": companies,
            "role": record.permissions.role.as_str(),
        });
        let url = self.user_url(&record.id);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.put(url.clone()).json(&body);
            if create_only {
                request = request.header(IF_NONE_MATCH, "*");
            }
            if let Some(token) = &self.token {
                request = request.header(AUTHORIZATION, token.clone());
            }
            let why_not_now = match request.send().await {
                Ok(response) => match response.status() {
                    StatusCode::OK | StatusCode::CREATED => return PutResult::Written,
                    StatusCode::PRECONDITION_FAILED if create_only => return PutResult::Exists,
                    status @ (StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT) => format!("the API answered {status}"),
                    status => {
                        let text = response.text().await.unwrap_or_default();
                        return PutResult::Failed(refusal(status, &text));
                    }
                },
                Err(err) => format!("no answer from the API ({})", crate::error_chain(&err)),
            };
            let pause = backoff(attempt);
            if Instant::now() + pause > deadline {
                return PutResult::Failed(format!(
                    "not confirmed after {attempt} tries: {why_not_now}"
                ));
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// Why the API refused a write, from its problem document if it sent one.
fn refusal(status: StatusCode, body: &str) -> String {
    let detail = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned));
    match detail {
        Some(detail) => format!("the API refused it ({status}): {detail}"),
        None => format!("the API refused it ({status})"),
    }
}

/// A pause of between half and all of `BACKOFF * 2^(attempt - 1)`, capped at [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_encoded_path_segment_under_the_base() {
        let client = ApiClient::new("https://x.example.com/prod/".parse().unwrap(), None).unwrap();
        let url = client.user_url(&UserId::parse("a/b?c#d%e@f").unwrap());
        assert_eq!(
            url.as_str(),
            "https://x.example.com/prod/users/a%2Fb%3Fc%23d%25e@f"
        );
        let client = ApiClient::new("http://127.0.0.1:1".parse().unwrap(), None).unwrap();
        let url = client.user_url(&UserId::parse("bob@example.com").unwrap());
        assert_eq!(url.as_str(), "http://127.0.0.1:1/users/bob@example.com");
    }

    #[test]
    fn refusals_carry_the_problem_detail() {
        let text = refusal(
            StatusCode::BAD_REQUEST,
            r#"{"type":"urn:clearance:problem:validation","detail":"role: nope"}"#,
        );
        assert_eq!(text, "the API refused it (400 Bad Request): role: nope");
        assert_eq!(
            refusal(StatusCode::FORBIDDEN, "<html>"),
            "the API refused it (403 Forbidden)"
        );
    }

    #[test]
    fn a_bad_token_is_refused_up_front() {
        let err = ApiClient::new("http://x".parse().unwrap(), Some("a\nb")).unwrap_err();
        assert!(matches!(err, ApiSetupError::BadToken));
    }
}
