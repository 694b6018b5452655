//! The authorizer's answers, in each event kind's format.
//!
//! Every answer is built explicitly with its effect: never from a `Default` (in `aws_lambda_events`
//! the default effect is Allow). Context values are strings only (API Gateway refuses nested
//! values at integration time); `companies` is a JSON-encoded string as in the reference design.

use clearance_core::domain::UserPermissions;
use serde_json::{Map, Value, json};

use crate::event::EventKind;

/// How HTTP API (payload 2.0) answers are shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpResponseFormat {
    /// `{isAuthorized, context}` (the authorizer's `enableSimpleResponses`).
    Simple,
    /// An IAM policy, as for REST APIs.
    Iam,
}

/// What to tell API Gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Allow or deny.
    pub allow: bool,
    /// `principalId`: the token's subject (or client id).
    pub principal: String,
    /// The policy's resource: the exact method ARN, or the stage wildcard.
    pub resource: String,
    /// The context passed to the integration (strings only).
    pub context: Map<String, Value>,
}

/// The context for a caller: `id`, `companies` (JSON string), `role`, plus the extras given.
pub fn context(
    permissions: Option<&UserPermissions>,
    extras: &[(&str, Option<&str>)],
) -> Map<String, Value> {
    let mut context = Map::new();
    if let Some(p) = permissions {
        let companies: Vec<&str> = p.companies.iter().map(|c| c.as_str()).collect();
        context.insert("id".into(), Value::String(p.id.to_string()));
        context.insert(
            "companies".into(),
            Value::String(serde_json::to_string(&companies).unwrap_or_else(|_| "[]".into())),
        );
        context.insert("role".into(), Value::String(p.role.to_string()));
    }
    for (key, value) in extras {
        if let Some(value) = value {
            context.insert((*key).into(), Value::String((*value).to_owned()));
        }
    }
    context
}

impl Answer {
    /// The answer as the JSON API Gateway expects for `kind`. Consumes the answer: its strings
    /// and context move into the JSON instead of being copied (a decision builds one answer).
    pub fn into_json(self, kind: EventKind, http_format: HttpResponseFormat) -> Value {
        let mut answer = if kind == EventKind::HttpV2 && http_format == HttpResponseFormat::Simple {
            json!({"isAuthorized": self.allow})
        } else {
            let mut answer = json!({
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": "execute-api:Invoke",
                        "Effect": if self.allow { "Allow" } else { "Deny" },
                    }]
                },
            });
            answer["policyDocument"]["Statement"][0]["Resource"] = Value::String(self.resource);
            answer["principalId"] = Value::String(self.principal);
            answer
        };
        answer["context"] = Value::Object(self.context);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_answers_carry_an_explicit_effect_and_flat_context() {
        let answer = Answer {
            allow: false,
            principal: "u1".into(),
            resource: "arn:aws:execute-api:r:a:api/s/GET/x".into(),
            context: context(
                None,
                &[("reason", Some("not-a-member")), ("clientId", None)],
            ),
        };
        let json = answer
            .clone()
            .into_json(EventKind::RestToken, HttpResponseFormat::Simple);
        assert_eq!(json["principalId"], "u1");
        assert_eq!(
            json["policyDocument"],
            json!({"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Deny",
                "Resource": "arn:aws:execute-api:r:a:api/s/GET/x",
            }]})
        );
        assert_eq!(json["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert_eq!(json["context"], json!({"reason": "not-a-member"}));
        let simple = answer
            .clone()
            .into_json(EventKind::HttpV2, HttpResponseFormat::Simple);
        assert_eq!(
            simple,
            json!({"isAuthorized": false, "context": {"reason": "not-a-member"}})
        );
        let iam = answer.into_json(EventKind::HttpV2, HttpResponseFormat::Iam);
        assert_eq!(
            iam["policyDocument"]["Statement"][0]["Resource"],
            "arn:aws:execute-api:r:a:api/s/GET/x"
        );
    }
}
