//! `--auth gateway`: the caller as API Gateway established it, read from the Lambda request
//! context (which only the Lambda runtime can set: a plain HTTP server never has it).
//!
//! | in front of the API | actor | scopes checked |
//! | --- | --- | --- |
//! | REST API, Cognito user-pool authorizer (`authorizer.claims`) | `sub`, else `client_id` (a Cognito machine token's `sub` is its client id) | the token's `scope` |
//! | HTTP API, JWT authorizer (`authorizer.jwt`) | same | the token's scopes |
//! | a Lambda authorizer (`principalId`, `sub`, `clientId`, `scope` in its context) | `sub`, else `clientId`, else `principalId` | its `scope`, if it passed one |
//! | IAM (SigV4) | the Cognito identity id, else the caller's ARN | none: the IAM policy decided |

use std::collections::HashMap;

use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;
use serde_json::Value;

fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn from_claims(
    get: impl Fn(&str) -> Option<String>,
    scopes: Option<Vec<String>>,
) -> Option<(String, Option<Vec<String>>)> {
    // The same rule as the authorizer and the middleware: the subject, else the client (a Cognito
    // client-credentials token's subject is its client id).
    let actor = get("sub").or_else(|| get("client_id"))?;
    let scopes = scopes.unwrap_or_else(|| split_scopes(get("scope").as_deref()));
    Some((actor, Some(scopes)))
}

fn from_lambda_context(fields: &HashMap<String, Value>) -> Option<(String, Option<Vec<String>>)> {
    let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
    let actor = text("sub")
        .or_else(|| text("clientId"))
        .or_else(|| text("principalId"))?;
    let scopes = text("scope").map(|s| split_scopes(Some(&s)));
    Some((actor, scopes))
}

/// The caller API Gateway authenticated, with the scopes to check (`None`: the gateway decided).
pub fn caller_from_context<B>(
    req: &axum::http::Request<B>,
) -> Option<(String, Option<Vec<String>>)> {
    match req.extensions().request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => {
            let fields = &ctx.authorizer.fields;
            if let Some(Value::Object(claims)) = fields.get("claims") {
                let get = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
                return from_claims(get, None);
            }
            if fields.contains_key("principalId") {
                return from_lambda_context(fields);
            }
            let identity = &ctx.identity;
            identity
                .cognito_identity_id
                .clone()
                .or_else(|| identity.user_arn.clone())
                .map(|actor| (actor, None))
        }
        RequestContext::ApiGatewayV2(ctx) => {
            let authorizer = ctx.authorizer.as_ref()?;
            if let Some(jwt) = &authorizer.jwt {
                let get = |k: &str| jwt.claims.get(k).cloned();
                return from_claims(get, jwt.scopes.clone());
            }
            if !authorizer.fields.is_empty() {
                return from_lambda_context(&authorizer.fields);
            }
            let iam = authorizer.iam.as_ref()?;
            iam.cognito_identity
                .as_ref()
                .and_then(|c| c.identity_id.clone())
                .or_else(|| iam.user_arn.clone())
                .map(|actor| (actor, None))
        }
        _ => None,
    }
}
