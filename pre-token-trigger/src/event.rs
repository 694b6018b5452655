//! The pre-token-generation event, read tolerantly.
//!
//! Cognito sends versions 1, 2 and 3 of this event with optional parts missing, empty or `null`
//! (no `scopes`, `groupConfiguration: {}`, no `clientMetadata`, `response: {}`), and the typed
//! `aws_lambda_events` structs refuse some of those. So the event is kept as JSON and only the
//! fields the trigger needs are read from it; everything else passes through untouched.

use serde_json::Value;

/// The response format an event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Version 1: `claimsOverrideDetails`, ID token only (also for a missing, unknown or "0"
    /// version, as Cognito does).
    V1,
    /// Version 2: `claimsAndScopeOverrideDetails`, ID and access tokens.
    V2,
    /// Version 3: as version 2, plus machine (client-credentials) tokens.
    V3,
}

/// Who the token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user signing in or refreshing: `sub` (if present) and `userName`.
    User {
        /// `request.userAttributes.sub`.
        sub: Option<String>,
        /// `userName`.
        username: Option<String>,
    },
    /// A machine client (`TokenGeneration_ClientCredentials`): its app client id.
    Client {
        /// `callerContext.clientId`.
        client_id: String,
    },
}

/// The parts of a pre-token-generation event the trigger reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreTokenEvent {
    /// The response format to answer in.
    pub version: Version,
    /// `triggerSource`, e.g. `TokenGeneration_Authentication`.
    pub trigger_source: String,
    /// Who the token is for.
    pub subject: Subject,
}

/// An event the trigger cannot handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed pre-token-generation event: {0}")]
pub struct MalformedEvent(pub String);

/// The trigger sources Cognito sends to a pre-token-generation trigger.
pub const TRIGGER_SOURCES: &[&str] = &[
    "TokenGeneration_HostedAuth",
    "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge",
    "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
    "TokenGeneration_ClientCredentials",
];

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

impl PreTokenEvent {
    /// Reads the event, refusing anything that is not a pre-token-generation event.
    pub fn parse(event: &Value) -> Result<Self, MalformedEvent> {
        let Some(object) = event.as_object() else {
            return Err(MalformedEvent("the event is not a JSON object".into()));
        };
        let trigger_source = text(object.get("triggerSource"))
            .ok_or_else(|| MalformedEvent("triggerSource is missing or not a string".into()))?;
        if !trigger_source.starts_with("TokenGeneration_") {
            return Err(MalformedEvent(format!(
                "triggerSource {trigger_source:?} is not a pre-token-generation source"
            )));
        }
        let version = match object.get("version") {
            Some(Value::String(v)) if v == "2" => Version::V2,
            Some(Value::String(v)) if v == "3" => Version::V3,
            Some(Value::Number(n)) if n.as_u64() == Some(2) => Version::V2,
            Some(Value::Number(n)) if n.as_u64() == Some(3) => Version::V3,
            _ => Version::V1,
        };
        let request = match object.get("request") {
            None | Some(Value::Null) => None,
            Some(Value::Object(r)) => Some(r),
            Some(_) => return Err(MalformedEvent("request is not a JSON object".into())),
        };
        let client_id = object
            .get("callerContext")
            .and_then(|c| text(c.get("clientId")));
        let subject = if trigger_source == "TokenGeneration_ClientCredentials" {
            Subject::Client {
                client_id: client_id.ok_or_else(|| {
                    MalformedEvent(
                        "a client-credentials event has no callerContext.clientId".into(),
                    )
                })?,
            }
        } else {
            let sub = request
                .and_then(|r| r.get("userAttributes"))
                .and_then(|a| text(a.get("sub")));
            let username = text(object.get("userName"));
            if sub.is_none() && username.is_none() {
                return Err(MalformedEvent(
                    "the event names no user: neither request.userAttributes.sub nor userName"
                        .into(),
                ));
            }
            Subject::User { sub, username }
        };
        Ok(Self {
            version,
            trigger_source,
            subject,
        })
    }

    /// Whether this event issues only an access token (machine clients get no ID token).
    pub fn access_token_only(&self) -> bool {
        matches!(self.subject, Subject::Client { .. })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_version_decides_the_format_and_unknown_versions_are_v1() {
        let base = |v: Value| json!({"version": v, "triggerSource": "TokenGeneration_Authentication", "userName": "u"});
        let version = |v| PreTokenEvent::parse(&base(v)).unwrap().version;
        assert_eq!(version(json!("1")), Version::V1);
        assert_eq!(version(json!("2")), Version::V2);
        assert_eq!(version(json!("3")), Version::V3);
        assert_eq!(version(json!("0")), Version::V1);
        assert_eq!(version(json!("9")), Version::V1);
        assert_eq!(version(Value::Null), Version::V1);
    }

    #[test]
    fn sub_is_read_and_username_kept_as_a_fallback() {
        let event = json!({"triggerSource": "TokenGeneration_RefreshTokens", "userName": "alice",
            "request": {"userAttributes": {"sub": "s-1"}}});
        assert_eq!(
            PreTokenEvent::parse(&event).unwrap().subject,
            Subject::User {
                sub: Some("s-1".into()),
                username: Some("alice".into())
            }
        );
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let cases = [
            (json!([1, 2]), "not a JSON object"),
            (json!({"userName": "u"}), "triggerSource"),
            (
                json!({"triggerSource": "PreSignUp_SignUp", "userName": "u"}),
                "not a pre-token-generation",
            ),
            (
                json!({"triggerSource": "TokenGeneration_HostedAuth"}),
                "names no user",
            ),
            (
                json!({"triggerSource": "TokenGeneration_HostedAuth", "userName": "u", "request": 5}),
                "request",
            ),
            (
                json!({"version": "3", "triggerSource": "TokenGeneration_ClientCredentials"}),
                "clientId",
            ),
        ];
        for (event, expected) in cases {
            let err = PreTokenEvent::parse(&event).unwrap_err();
            assert!(err.0.contains(expected), "{err} should mention {expected}");
        }
    }
}
