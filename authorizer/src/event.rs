//! The three events API Gateway sends a Lambda authorizer, told apart from the event itself.
//!
//! - REST `TOKEN`: `{type: "TOKEN", authorizationToken, methodArn}`.
//! - REST `REQUEST`: `{type: "REQUEST", methodArn, headers, pathParameters, ...}` (no `version`).
//! - HTTP API, payload 2.0: `{version: "2.0", type: "REQUEST", routeArn, headers, pathParameters, ...}`.
//!
//! All three carry an execute-api ARN with the method and the concrete path; the route is matched
//! against that, so rules behave the same whatever the event type.

use std::collections::HashMap;

use serde_json::Value;

/// Which kind of event arrived (it decides the response format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// REST API, TOKEN authorizer.
    RestToken,
    /// REST API, REQUEST authorizer.
    RestRequest,
    /// HTTP API, payload format 2.0.
    HttpV2,
}

/// An execute-api ARN, split: `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{method}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteApiArn {
    /// Everything before the method: `arn:aws:execute-api:region:account:api/stage`.
    pub stage_arn: String,
    /// The HTTP method.
    pub method: String,
    /// The concrete path, starting with `/`.
    pub path: String,
}

impl ExecuteApiArn {
    /// Parses an execute-api ARN.
    pub fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (arn_prefix, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if arn_prefix != "arn" || service != "execute-api" || partition.is_empty() {
            return None;
        }
        let mut segments = resource.splitn(4, '/');
        let api = segments.next().filter(|s| !s.is_empty())?;
        let stage = segments.next().filter(|s| !s.is_empty())?;
        let method = segments.next().filter(|s| !s.is_empty())?;
        let path = format!("/{}", segments.next().unwrap_or(""));
        Some(Self {
            stage_arn: format!("arn:{partition}:execute-api:{region}:{account}:{api}/{stage}"),
            method: method.to_owned(),
            path,
        })
    }

    /// The ARN covering every method and path of the stage (`.../stage/*/*`).
    pub fn stage_wildcard(&self) -> String {
        format!("{}/*/*", self.stage_arn)
    }
}

/// What the authorizer needs from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerEvent {
    /// The event's kind.
    pub kind: EventKind,
    /// The ARN to put in the policy (`methodArn` or `routeArn`), as received.
    pub arn: String,
    /// The ARN, parsed.
    pub target: ExecuteApiArn,
    /// The bearer token, if one was sent.
    pub token: Option<String>,
    /// Path parameters API Gateway extracted (REQUEST events), if any.
    pub path_parameters: HashMap<String, String>,
}

/// An event the authorizer cannot read. It is answered with a deny (never an allow).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed authorizer event: {0}")]
pub struct MalformedEvent(pub String);

fn bearer(value: &str) -> Option<String> {
    clearance_core::bearer::token(value).map(str::to_owned)
}

fn header(headers: Option<&Value>, name: &str) -> Option<String> {
    headers?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

fn string_map(value: Option<&Value>) -> HashMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

impl AuthorizerEvent {
    /// Reads an event; `token_header` names the header carrying `Bearer <token>` for REQUEST events.
    pub fn parse(event: &Value, token_header: &str) -> Result<Self, MalformedEvent> {
        let object = event
            .as_object()
            .ok_or_else(|| MalformedEvent("the event is not a JSON object".into()))?;
        let kind_field = object.get("type").and_then(Value::as_str);
        let is_v2 = object.get("version").and_then(Value::as_str) == Some("2.0");
        let (kind, arn_field) = match (kind_field, is_v2) {
            (Some("REQUEST"), true) => (EventKind::HttpV2, "routeArn"),
            (Some("REQUEST"), false) => (EventKind::RestRequest, "methodArn"),
            (Some("TOKEN"), _) => (EventKind::RestToken, "methodArn"),
            _ => {
                return Err(MalformedEvent(
                    "not an API Gateway authorizer event (type must be TOKEN or REQUEST)".into(),
                ));
            }
        };
        let arn = object
            .get(arn_field)
            .and_then(Value::as_str)
            .ok_or_else(|| MalformedEvent(format!("{arn_field} is missing")))?
            .to_owned();
        let target = ExecuteApiArn::parse(&arn)
            .ok_or_else(|| MalformedEvent(format!("{arn_field} is not an execute-api ARN")))?;
        let token = match kind {
            EventKind::RestToken => object
                .get("authorizationToken")
                .and_then(Value::as_str)
                .and_then(bearer),
            _ => header(object.get("headers"), token_header).and_then(|v| bearer(&v)),
        };
        Ok(Self {
            kind,
            arn,
            target,
            token,
            path_parameters: string_map(object.get("pathParameters")),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn arns_are_split_into_stage_method_and_path() {
        let arn = ExecuteApiArn::parse(
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/companies/1111/orders",
        )
        .unwrap();
        assert_eq!(
            arn.stage_arn,
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod"
        );
        assert_eq!(arn.method, "GET");
        assert_eq!(arn.path, "/companies/1111/orders");
        assert_eq!(
            arn.stage_wildcard(),
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"
        );
        assert_eq!(
            ExecuteApiArn::parse("arn:aws:execute-api:r:a:api/stage/GET/")
                .unwrap()
                .path,
            "/"
        );
        assert!(ExecuteApiArn::parse("arn:aws:lambda:r:a:function:f").is_none());
        assert!(ExecuteApiArn::parse("nonsense").is_none());
    }

    #[test]
    fn the_kind_comes_from_the_event_itself() {
        let arn = "arn:aws:execute-api:us-east-1:1:api/dev/GET/x";
        let token = json!({"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": arn});
        let rest = json!({"type": "REQUEST", "methodArn": arn, "headers": {"authorization": "bearer abc"}});
        let http = json!({"version": "2.0", "type": "REQUEST", "routeArn": arn, "headers": {"Authorization": "Bearer abc"}});
        for (event, kind) in [
            (token, EventKind::RestToken),
            (rest, EventKind::RestRequest),
            (http, EventKind::HttpV2),
        ] {
            let parsed = AuthorizerEvent::parse(&event, "Authorization").unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.token.as_deref(), Some("abc"));
        }
    }

    #[test]
    fn only_a_well_formed_bearer_token_is_taken() {
        for header in ["abc", "Basic abc", "Bearer", "Bearer ", "Bearer a b"] {
            let event = json!({"type": "TOKEN", "authorizationToken": header,
                "methodArn": "arn:aws:execute-api:us-east-1:1:api/dev/GET/x"});
            assert_eq!(
                AuthorizerEvent::parse(&event, "Authorization")
                    .unwrap()
                    .token,
                None,
                "{header}"
            );
        }
    }

    #[test]
    fn malformed_events_are_named() {
        assert!(AuthorizerEvent::parse(&json!([]), "Authorization").is_err());
        assert!(AuthorizerEvent::parse(&json!({"type": "OTHER"}), "Authorization").is_err());
        let err =
            AuthorizerEvent::parse(&json!({"type": "TOKEN", "methodArn": "x"}), "Authorization")
                .unwrap_err();
        assert!(err.0.contains("execute-api ARN"));
    }
}
