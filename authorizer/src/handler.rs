//! The decision: verify the token, find the route's rule, hydrate the caller's permissions, check,
//! and answer with an explicit Allow or Deny.
//!
//! | situation | REST (TOKEN / REQUEST) | HTTP API |
//! | --- | --- | --- |
//! | no token, or a token that fails verification | error `Unauthorized` (401) | deny (403; a missing identity source is already a 401 from API Gateway) |
//! | no rule matches the route | explicit Deny (403) | deny |
//! | a rule fails | explicit Deny (403) | deny |
//! | the permissions source fails or is slow | explicit Deny (403) | deny |
//! | the rule is met | Allow, with the permissions as context | allow, with context |
//!
//! API Gateway caches an answer by the request's identity sources and reuses it for every route of
//! the API until the result TTL ends, so an Allow must never cover more than the decision did:
//!
//! - the policy's resource is the exact method ARN (REST) or route ARN (HTTP API), so a cached
//!   policy is evaluated afresh against each route, and a route it does not name is refused;
//! - the stage-wide wildcard is given only when the decision cannot depend on the route at all
//!   ([`Rules::route_independent`]: every rule is authentication only and together they match
//!   every method of `/` and `/{proxy+}`); a "no rule matches" deny depends on the route too;
//! - HTTP API simple answers (`{"isAuthorized": true}`) name no resource at all: they are used
//!   only when chosen explicitly, and start-up warns unless the rules are route-independent.

use std::sync::Arc;
use std::time::Duration;

use clearance_core::authz::{self, Caller};
use clearance_core::domain::{RoleOrder, UserId};
use clearance_core::jwt::Verifier;
use clearance_core::source::PermissionsSource;
use serde_json::Value;

use crate::event::{AuthorizerEvent, EventKind};
use crate::policy::{Answer, HttpResponseFormat, context};
use crate::rules::Rules;

/// The error API Gateway turns into a 401. The text must be exactly `Unauthorized`.
#[derive(Debug, thiserror::Error)]
#[error("Unauthorized")]
pub struct Unauthorized;

/// The authorizer's settings.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// The header carrying `Bearer <token>` in REQUEST events (looked up case-insensitively).
    pub token_header: String,
    /// The route rules.
    pub rules: Rules,
    /// The role order for "at least" checks.
    pub roles: RoleOrder,
    /// HTTP API answer format.
    pub http_format: HttpResponseFormat,
    /// The most time spent reading permissions before denying.
    pub permissions_timeout: Duration,
    /// The claim holding the permission version a token was minted at (`perm_ver`): a token
    /// whose version is below the user's current one is refused as `stale-permissions`. `None`
    /// turns the check off.
    pub perm_ver_claim: Option<String>,
    /// How many verified tokens the verifier keeps (`AUTHORIZER_TOKEN_CACHE`, default
    /// [`DEFAULT_TOKEN_CACHE`]; 0 turns the cache off), so a repeated token skips the signature
    /// check: [`Verifier::with_token_cache`] says what it guarantees. Rules, permissions and the
    /// decision are still worked out on every event.
    pub token_cache: u64,
}

pub use clearance_core::jwt::verified::DEFAULT_TOKEN_CACHE;

/// The authorizer.
pub struct Authorizer {
    config: AuthorizerConfig,
    verifier: Arc<Verifier>,
    source: Arc<dyn PermissionsSource>,
}

/// Why a decision came out as it did, for the log line (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// Allowed or not.
    pub allow: bool,
    /// A stable code for the rule or check that decided.
    pub code: String,
}

impl Authorizer {
    /// An authorizer with its verifier and permissions source.
    pub fn new(
        config: AuthorizerConfig,
        verifier: Arc<Verifier>,
        source: Arc<dyn PermissionsSource>,
    ) -> Self {
        Self {
            config,
            verifier,
            source,
        }
    }

    /// Handles one event: the JSON answer for API Gateway, or [`Unauthorized`].
    pub async fn handle(&self, event: Value) -> Result<Value, Unauthorized> {
        let (answer, decided) = self.decide(&event).await?;
        tracing::info!(allow = decided.allow, code = %decided.code, "authorizer decision");
        Ok(answer)
    }

    /// Like [`Authorizer::handle`], also returning why (for tests and benchmarks).
    pub async fn decide(&self, event: &Value) -> Result<(Value, Decided), Unauthorized> {
        let event = match AuthorizerEvent::parse(event, &self.config.token_header) {
            Ok(e) => e,
            Err(err) => {
                // Without a well-formed ARN there is no policy to scope: refuse outright.
                tracing::warn!(error = %err, "unreadable authorizer event");
                return Err(Unauthorized);
            }
        };
        let deny = |principal: &str, code: &str| {
            let answer = Answer {
                allow: false,
                principal: principal.to_owned(),
                resource: event.arn.clone(),
                context: context(None, &[("reason", Some(code))]),
            };
            Ok((
                answer.into_json(event.kind, self.config.http_format),
                Decided {
                    allow: false,
                    code: code.to_owned(),
                },
            ))
        };
        let unauthenticated = |code: &str| {
            tracing::info!(code, "token refused");
            if event.kind == EventKind::HttpV2 {
                deny("anonymous", code)
            } else {
                Err(Unauthorized)
            }
        };

        let Some(token) = event.token.as_deref() else {
            return unauthenticated("missing-token");
        };
        let verified = match self.verifier.verify_shared(token).await {
            Ok(v) => v,
            Err(err) if err.is_unavailable() => {
                tracing::error!(error = %err, "cannot verify tokens: the issuer's keys are unavailable");
                return deny("anonymous", err.code());
            }
            Err(err) => return unauthenticated(err.code()),
        };
        // One identity rule everywhere (`Caller::identify`): a token naming nobody is refused,
        // never looked up under a made-up id.
        let Some(caller) = Caller::identify(verified.sub.as_deref(), verified.client_id.as_deref())
        else {
            return unauthenticated("unidentified");
        };
        let principal = caller.permissions_id.clone();

        let Some((rule, params)) = self
            .config
            .rules
            .find(&event.target.method, &event.target.path)
        else {
            return deny(&principal, "no-rule");
        };

        // Hydrate: every allowed caller's permissions travel on as context (pattern 3 relies on
        // it), and rules on company or role need them to decide.
        let permissions = match UserId::parse(&caller.permissions_id) {
            Err(_) => None,
            Ok(id) => match tokio::time::timeout(
                self.config.permissions_timeout,
                self.source
                    .permissions_at(&id, rule.requirement.consistency),
            )
            .await
            {
                Ok(Ok(p)) => p,
                Ok(Err(err)) => {
                    tracing::error!(error = %err, "permissions source failed: denying");
                    return deny(&principal, "permissions-unavailable");
                }
                Err(_) => {
                    tracing::error!("permissions source timed out: denying");
                    return deny(&principal, "permissions-unavailable");
                }
            },
        };

        // A token minted before the user's permissions last changed carries old claims: 401 so
        // the client refreshes it (the trigger then writes the current ones), rather than a
        // Deny, which API Gateway would cache for this token and which says "never".
        if let Some(claim) = &self.config.perm_ver_claim
            && authz::permissions_stale(verified.claim(claim), permissions.as_deref())
        {
            return unauthenticated(authz::STALE_PERMISSIONS);
        }

        let outcome = authz::evaluate(
            &rule.requirement,
            &caller,
            permissions.as_deref(),
            &params,
            &self.config.roles,
        );
        if !outcome.allowed() {
            return deny(&principal, outcome.code());
        }
        let resource = if self.config.rules.route_independent() {
            event.target.stage_wildcard()
        } else {
            event.arn.clone()
        };
        let scope = verified.scopes.join(" ");
        let answer = Answer {
            allow: true,
            principal,
            resource,
            context: context(
                permissions.as_deref(),
                &[
                    ("sub", verified.sub.as_deref()),
                    ("clientId", verified.client_id.as_deref()),
                    ("scope", (!scope.is_empty()).then_some(scope.as_str())),
                    ("reason", Some(outcome.code())),
                    // Tells the middleware the permissions were looked up (pattern 3), so "none
                    // found" is not looked up again.
                    (
                        "permissions",
                        Some(if permissions.is_some() {
                            "found"
                        } else {
                            "none"
                        }),
                    ),
                ],
            ),
        };
        Ok((
            answer.into_json(event.kind, self.config.http_format),
            Decided {
                allow: true,
                code: outcome.code().to_owned(),
            },
        ))
    }
}

impl From<Unauthorized> for lambda_runtime::Diagnostic {
    fn from(_: Unauthorized) -> Self {
        // API Gateway answers 401 when the error message is exactly "Unauthorized".
        lambda_runtime::Diagnostic {
            error_type: "Unauthorized".into(),
            error_message: "Unauthorized".into(),
        }
    }
}
