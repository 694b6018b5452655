//! Finding the caller in the API Gateway request context that `lambda_http` attaches to each
//! request.
//!
//! | API | where | origin |
//! | --- | --- | --- |
//! | REST | `requestContext.authorizer.claims` (Cognito user-pool authorizer) | [`Origin::CognitoAuthorizerClaims`] |
//! | REST | `requestContext.authorizer` (Lambda authorizer context) | [`Origin::LambdaAuthorizerContext`] |
//! | REST | `requestContext.identity.cognitoIdentityId` (IAM) | [`Origin::Iam`] |
//! | HTTP | `requestContext.authorizer.jwt.claims` (JWT authorizer) | [`Origin::HttpApiJwtClaims`] |
//! | HTTP | `requestContext.authorizer.lambda` (Lambda authorizer) | [`Origin::LambdaAuthorizerContext`] |
//! | HTTP | `requestContext.authorizer.iam.cognitoIdentity.identityId` (IAM) | [`Origin::Iam`] |
//!
//! **Why the context can be trusted.** The context is the
//! [`lambda_http::request::RequestContext`] request extension. `lambda_http` builds it from the
//! event API Gateway sends to the function, after API Gateway ran the authorizer; it is never read
//! from anything a client sends (headers, body, path). A plain server (`axum::serve`) never has
//! the extension, so there a client cannot forge a caller: only a verified bearer token
//! identifies them. Whoever may invoke the function directly (`lambda:InvokeFunction`) can write
//! any event: grant that permission to API Gateway only.
//!
//! A Lambda authorizer's context is read in the shape Clearance's authorizer gives it: string
//! values `id`, `companies` (a JSON-encoded array such as `"[\"1111\"]"`), `role`, `sub`,
//! `clientId` and `scope`. When `id`, `companies` and `role` are all there and valid, they are the
//! caller's permissions (with `version` 0: the context does not carry it); otherwise the
//! permissions are left to be read from the source, unless the context says
//! `"permissions": "none"`: Clearance's authorizer looked them up and found none.
//!
//! A JWT or Cognito authorizer passes the token's claims on, the permission version claim
//! (`perm_ver`) among them when the trigger added it: [`context_claim`] reads one, so the
//! [`AuthLayer`](crate::AuthLayer) can compare it with the permissions it loads. A Lambda
//! authorizer's context carries no claims (Clearance's authorizer compares the version itself).

use std::collections::HashMap;

use clearance_core::authz::Caller;
use clearance_core::domain::{Role, UserId, UserPermissions, parse_companies};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyRequestContext, ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use serde_json::Value;

use crate::identity::Origin;

/// The caller found in a request's API Gateway context, before any permissions lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextIdentity {
    /// The caller.
    pub caller: Caller,
    /// The token's scopes, as the authorizer passed them on.
    pub scopes: Vec<String>,
    /// The permissions the authorizer passed on (Lambda authorizer context only), if complete.
    pub permissions: Option<UserPermissions>,
    /// Whether the authorizer already looked the permissions up (its context says
    /// `"permissions": "found"` or `"none"`): then `permissions: None` means the caller has none,
    /// and no second lookup is made.
    pub permissions_looked_up: bool,
    /// Where the caller was found.
    pub origin: Origin,
}

/// The caller API Gateway established for `req`, read from `lambda_http`'s request context
/// extension (see the [module docs](self) for where each kind of authorizer puts it, and why it can
/// be trusted). `None` when there is no such extension (always, on a plain server) or it names no
/// caller (no authorizer, or one that passed no subject, client or principal).
pub fn context_identity<B>(req: &http::Request<B>) -> Option<ContextIdentity> {
    match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(ctx) => from_rest(ctx),
        RequestContext::ApiGatewayV2(ctx) => from_http_api(ctx),
        _ => None,
    }
}

/// The claim `name` of the token a JWT authorizer (HTTP API `requestContext.authorizer.jwt.claims`)
/// or a Cognito user-pool authorizer (REST `requestContext.authorizer.claims`) verified, as API
/// Gateway passed it on (a string, whatever its type in the token). `None` without such a
/// context, or when the token had no such claim: a Lambda authorizer's context and IAM callers
/// carry no token claims.
pub fn context_claim<B>(req: &http::Request<B>, name: &str) -> Option<Value> {
    match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(ctx) => match ctx.authorizer.fields.get("claims")? {
            Value::Object(claims) => claims.get(name).cloned(),
            _ => None,
        },
        RequestContext::ApiGatewayV2(ctx) => {
            let jwt = ctx.authorizer.as_ref()?.jwt.as_ref()?;
            jwt.claims.get(name).cloned().map(Value::String)
        }
        _ => None,
    }
}

fn from_rest(ctx: &ApiGatewayProxyRequestContext) -> Option<ContextIdentity> {
    let fields = &ctx.authorizer.fields;
    if let Some(Value::Object(claims)) = fields.get("claims") {
        return from_claims(
            |name| claims.get(name).and_then(Value::as_str),
            None,
            Origin::CognitoAuthorizerClaims,
        );
    }
    if let Some(found) = from_lambda_context(fields) {
        return Some(found);
    }
    iam(
        ctx.identity.cognito_identity_id.as_deref(),
        ctx.identity.user_arn.as_deref(),
    )
}

fn from_http_api(ctx: &ApiGatewayV2httpRequestContext) -> Option<ContextIdentity> {
    let authorizer = ctx.authorizer.as_ref()?;
    if let Some(jwt) = &authorizer.jwt {
        return from_claims(
            |name| jwt.claims.get(name).map(String::as_str),
            jwt.scopes.as_deref(),
            Origin::HttpApiJwtClaims,
        );
    }
    if let Some(found) = from_lambda_context(&authorizer.fields) {
        return Some(found);
    }
    let iam_identity = authorizer.iam.as_ref()?;
    iam(
        iam_identity
            .cognito_identity
            .as_ref()
            .and_then(|c| c.identity_id.as_deref()),
        iam_identity.user_arn.as_deref(),
    )
}

/// A verified token's claims, as a JWT or Cognito authorizer passes them on (string values).
fn from_claims<'a>(
    claim: impl Fn(&str) -> Option<&'a str>,
    scopes: Option<&[String]>,
    origin: Origin,
) -> Option<ContextIdentity> {
    let non_empty = |name: &str| claim(name).filter(|v| !v.is_empty()).map(str::to_owned);
    let subject = non_empty("sub");
    // As the verifier reads it: `client_id` (access tokens), else `azp`, else `aud` (ID tokens).
    let client_id = non_empty("client_id")
        .or_else(|| non_empty("azp"))
        .or_else(|| non_empty("aud"));
    // The one identity rule (`Caller::identify`): a user by `sub`, a machine by its client id.
    let caller = Caller::identify(subject.as_deref(), client_id.as_deref())?;
    let scopes = match scopes {
        Some(scopes) if !scopes.is_empty() => scopes.to_vec(),
        _ => split_scopes(claim("scope")),
    };
    Some(ContextIdentity {
        caller,
        scopes,
        permissions: None,
        permissions_looked_up: false,
        origin,
    })
}

/// A Lambda authorizer's context (Clearance's shape; see the module docs).
fn from_lambda_context(fields: &HashMap<String, Value>) -> Option<ContextIdentity> {
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    // The same rule as for tokens: a context naming no subject and no client names nobody (a
    // bare `principalId` is not enough: it is whatever the authorizer chose to put there).
    let caller = Caller::identify(text("sub").as_deref(), text("clientId").as_deref())?;
    // The permissions are the caller's only if the authorizer looked up the same id.
    let permissions = text("id")
        .filter(|id| *id == caller.permissions_id)
        .and_then(|id| context_permissions(id, fields));
    Some(ContextIdentity {
        caller,
        scopes: split_scopes(fields.get("scope").and_then(Value::as_str)),
        permissions_looked_up: matches!(
            fields.get("permissions").and_then(Value::as_str),
            Some("found" | "none")
        ),
        permissions,
        origin: Origin::LambdaAuthorizerContext,
    })
}

/// `{id, companies, role}` from an authorizer context, if all are there and valid.
fn context_permissions(id: String, fields: &HashMap<String, Value>) -> Option<UserPermissions> {
    let companies: Vec<String> = match fields.get("companies")? {
        // API Gateway passes only flat values on, so the authorizer JSON-encodes the list.
        Value::String(json) => serde_json::from_str(json).ok()?,
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let role = fields.get("role")?.as_str()?;
    let parsed = UserId::parse(id).ok().zip(parse_companies(companies).ok());
    let Some((id, companies)) = parsed else {
        tracing::warn!(
            "the authorizer context's permissions are not valid: reading them from the source"
        );
        return None;
    };
    Some(UserPermissions {
        id,
        companies,
        role: Role::from_stored(role),
        version: 0,
        updated_at: None,
        updated_by: None,
    })
}

/// An IAM (SigV4) caller: its Cognito identity-pool id, else its IAM ARN.
fn iam(identity_id: Option<&str>, user_arn: Option<&str>) -> Option<ContextIdentity> {
    let id = identity_id
        .filter(|id| !id.is_empty())
        .or(user_arn.filter(|arn| !arn.is_empty()))?;
    Some(ContextIdentity {
        caller: Caller::identify(Some(id), None)?,
        scopes: Vec::new(),
        permissions: None,
        permissions_looked_up: false,
        origin: Origin::Iam,
    })
}

fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lambda_fields(pairs: &[(&str, &str)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    #[test]
    fn a_complete_lambda_context_carries_the_permissions() {
        let fields = lambda_fields(&[
            ("id", "u1"),
            ("companies", "[\"1111\",\"2222\"]"),
            ("role", "Manager"),
            ("sub", "u1"),
            ("clientId", "web"),
            ("scope", "openid email"),
        ]);
        let found = from_lambda_context(&fields).unwrap();
        assert_eq!(found.caller.permissions_id, "u1");
        assert_eq!(found.caller.client_id.as_deref(), Some("web"));
        assert_eq!(found.scopes, ["openid", "email"]);
        let permissions = found.permissions.unwrap();
        assert_eq!(permissions.companies.len(), 2);
        assert_eq!(permissions.role.as_str(), "Manager");
    }

    #[test]
    fn an_incomplete_or_invalid_lambda_context_leaves_the_permissions_to_the_source() {
        let no_role = lambda_fields(&[("id", "u1"), ("companies", "[]"), ("sub", "u1")]);
        assert_eq!(from_lambda_context(&no_role).unwrap().permissions, None);
        let bad = lambda_fields(&[
            ("id", "u1"),
            ("companies", "[\"a b\"]"),
            ("role", "Admin"),
            ("sub", "u1"),
        ]);
        assert_eq!(from_lambda_context(&bad).unwrap().permissions, None);
        let not_json = lambda_fields(&[
            ("id", "u1"),
            ("companies", "1111"),
            ("role", "Admin"),
            ("sub", "u1"),
        ]);
        // Permissions looked up for another id than the caller's are not the caller's.
        let other = lambda_fields(&[
            ("id", "u2"),
            ("companies", "[\"1111\"]"),
            ("role", "Admin"),
            ("sub", "u1"),
        ]);
        assert_eq!(from_lambda_context(&other).unwrap().permissions, None);
        assert_eq!(from_lambda_context(&not_json).unwrap().permissions, None);
    }

    #[test]
    fn a_context_naming_nobody_is_no_caller() {
        assert!(from_lambda_context(&lambda_fields(&[("reason", "allowed")])).is_none());
        assert!(from_claims(|_| None, None, Origin::HttpApiJwtClaims).is_none());
        assert!(iam(Some(""), None).is_none());
        assert!(iam(None, Some("")).is_none());
    }

    #[test]
    fn claims_give_the_client_as_the_verifier_does() {
        let claims: HashMap<&str, &str> = [("aud", "web"), ("sub", "u1"), ("scope", "a b")].into();
        let found = from_claims(
            |n| claims.get(n).copied(),
            None,
            Origin::CognitoAuthorizerClaims,
        )
        .unwrap();
        assert_eq!(found.caller.client_id.as_deref(), Some("web"));
        assert_eq!(found.scopes, ["a", "b"]);
        let scopes = vec!["orders/read".to_owned()];
        let found = from_claims(
            |n| claims.get(n).copied(),
            Some(&scopes),
            Origin::HttpApiJwtClaims,
        )
        .unwrap();
        assert_eq!(found.scopes, scopes);
    }
}
