//! [`Answer`]: an HTTP answer read whole, however it was obtained (over a socket with `reqwest`,
//! from a router called in-process, or from a Lambda function's API Gateway response), and the
//! assertions the tests make on it, above all [`Answer::problem`] for RFC 9457 problem documents.
//!
//! One type for every transport means a test checks a problem document the same way whether the
//! service, the middleware or an example produced it.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine as _;
use serde_json::Value;

/// The media type of every problem document Clearance answers with.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `type` of a Clearance problem document with the slug `code`.
pub fn problem_type(code: &str) -> String {
    format!("urn:clearance:problem:{code}")
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// The status code; it compares with a bare number (`assert_eq!(answer.status, 200)`).
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as text.
    pub text: String,
}

impl Answer {
    /// Sends `request` and reads the answer whole.
    pub async fn send(request: reqwest::RequestBuilder) -> Self {
        let response = request.send().await.expect("request sent");
        Self::read(response).await
    }

    /// Reads `response` whole.
    pub async fn read(response: reqwest::Response) -> Self {
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body read"),
        }
    }

    /// Reads a response a router answered in-process (`tower::ServiceExt::oneshot`).
    pub async fn from_response(response: axum::response::Response) -> Self {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .expect("body read");
        Self {
            status: parts.status,
            headers: parts.headers,
            text: String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
        }
    }

    /// Reads the API Gateway proxy response a Lambda function returned (`statusCode`, `headers`
    /// or `multiValueHeaders`, `body`, `isBase64Encoded`).
    pub fn from_lambda(response: &Value) -> Self {
        let status = response["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or_else(|| panic!("no statusCode: {response}"));
        let mut headers = HeaderMap::new();
        let mut add = |name: &str, value: &Value| {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.append(name, value);
            }
        };
        if let Some(single) = response["headers"].as_object() {
            for (name, value) in single {
                add(name, value);
            }
        }
        if let Some(multi) = response["multiValueHeaders"].as_object() {
            for (name, values) in multi {
                for value in values.as_array().into_iter().flatten() {
                    add(name, value);
                }
            }
        }
        let body = response["body"].as_str().unwrap_or_default();
        let text = if response["isBase64Encoded"] == true {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("a base64 body");
            String::from_utf8(bytes).expect("a UTF-8 body")
        } else {
            body.to_owned()
        };
        Self {
            status,
            headers,
            text,
        }
    }

    /// The body as JSON; panics, showing the body, if it is not JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts this is a problem document (RFC 9457, `application/problem+json`) of `status` whose
    /// `type` is the Clearance problem `code`, with a title and a detail; returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some(PROBLEM_JSON),
            "body: {}",
            self.text
        );
        let body = self.json();
        assert_problem(&body, status, code);
        body
    }

    /// Asserts this is a 403 `forbidden` problem document whose `code` names the rule that refused
    /// (`not-a-member`, `role-below-required`, ...); returns it.
    #[track_caller]
    pub fn forbidden(&self, code: &str) -> Value {
        let body = self.problem(403, "forbidden");
        assert_eq!(body["code"], code, "{body}");
        body
    }
}

/// Asserts that `body` is a Clearance problem document of `status` and `code`, with a title and a
/// non-empty detail.
#[track_caller]
pub fn assert_problem(body: &Value, status: u16, code: &str) {
    assert_eq!(body["type"], problem_type(code), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

/// Asserts that the problem document `body` has a `detail` containing `words`.
#[track_caller]
pub fn assert_detail_contains(body: &Value, words: &str) {
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(words),
        "the detail should mention {words:?}: {body}"
    );
}
