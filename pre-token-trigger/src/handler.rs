//! The handler: read the event, look the permissions up, answer in the event's own format.
//!
//! The answer is the event itself with `response` replaced, built whole or not at all. The trigger
//! only ever adds its four claims (role, companies, id and the permission version `perm_ver`) (and, if configured, scopes): it never suppresses a claim, never
//! touches a reserved one, and never sends a group override (which would replace the user's groups).

use std::sync::Arc;

use clearance_core::consistency::Consistency;
use clearance_core::domain::{UserId, UserPermissions};
use clearance_core::source::PermissionsSource;
use serde_json::{Map, Value, json};

use crate::config::{CompaniesFormat, OnMissing, TriggerConfig};
use crate::event::{MalformedEvent, PreTokenEvent, Subject, Version};

/// Why a sign-in is refused. The message is what Cognito shows the caller, so it says what to do
/// and nothing internal; the cause goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The event could not be read.
    #[error(transparent)]
    Malformed(#[from] MalformedEvent),
    /// The user has no permissions and the policy is `deny`.
    #[error("this account has no permissions in Clearance: ask an administrator to grant access")]
    NoPermissions,
    /// The permissions source failed or was too slow.
    #[error("permissions are temporarily unavailable: please try signing in again")]
    Unavailable,
}

/// The trigger: its settings and where permissions come from.
pub struct Trigger {
    config: TriggerConfig,
    source: Arc<dyn PermissionsSource>,
}

impl Trigger {
    /// A trigger reading permissions from `source`.
    pub fn new(config: TriggerConfig, source: Arc<dyn PermissionsSource>) -> Self {
        Self { config, source }
    }

    /// Handles one event, returning it with its `response` filled in.
    pub async fn handle(&self, mut event: Value) -> Result<Value, TriggerError> {
        let parsed = PreTokenEvent::parse(&event)?;
        let id = self.permissions_id(&parsed)?;
        // A token carries its claims for up to a day: read them past every cache, so that a client
        // refreshing its token after `stale-permissions` gets the current version at once.
        let lookup = tokio::time::timeout(
            self.config.budget,
            self.source.permissions_at(&id, Consistency::Full),
        )
        .await;
        let permissions = match lookup {
            Ok(Ok(found)) => found,
            Ok(Err(err)) => {
                tracing::error!(user_id = id.as_str(), error = %err, cause = ?std::error::Error::source(&err), "permissions lookup failed: refusing the sign-in");
                return Err(TriggerError::Unavailable);
            }
            Err(_) => {
                tracing::error!(
                    user_id = id.as_str(),
                    budget_ms = self.config.budget.as_millis() as u64,
                    "permissions lookup took longer than the budget: refusing the sign-in"
                );
                return Err(TriggerError::Unavailable);
            }
        };
        let response = match &permissions {
            Some(user) => self.response(&parsed, user),
            None if self.config.on_missing == OnMissing::Deny => {
                tracing::warn!(user_id = id.as_str(), trigger_source = %parsed.trigger_source, "no permissions for the user: refusing the sign-in (ON_MISSING_PERMISSIONS=deny)");
                return Err(TriggerError::NoPermissions);
            }
            None => empty_response(parsed.version),
        };
        tracing::info!(
            user_id = id.as_str(),
            trigger_source = %parsed.trigger_source,
            claims_added = permissions.is_some(),
            companies_omitted = permissions.as_ref().is_some_and(|p| !self.companies_fit(p)),
            "token claims decided"
        );
        if let Some(object) = event.as_object_mut() {
            object.insert("response".into(), response);
        }
        Ok(event)
    }

    fn permissions_id(&self, event: &PreTokenEvent) -> Result<UserId, MalformedEvent> {
        let raw = match &event.subject {
            Subject::Client { client_id } => client_id.clone(),
            // The one identity rule: a user is their `sub`, as for every other component.
            Subject::User { sub, .. } => sub.clone().ok_or_else(|| {
                MalformedEvent(
                    "the event has no request.userAttributes.sub: Clearance identifies users by sub"
                        .into(),
                )
            })?,
        };
        UserId::parse(raw).map_err(|e| MalformedEvent(format!("the user id is not valid: {e}")))
    }

    /// Whether the user's companies fit in a token: over the budget they are left out (see the
    /// config module's "Token sizes").
    fn companies_fit(&self, user: &UserPermissions) -> bool {
        // The larger of the two forms: a JSON string escapes every quote.
        let list: Vec<&str> = user.companies.iter().map(|c| c.as_str()).collect();
        let as_string = serde_json::to_string(&serde_json::to_string(&list).unwrap_or_default())
            .map_or(usize::MAX, |s| s.len());
        as_string <= self.config.max_companies_claim_bytes
    }

    fn claims(&self, user: &UserPermissions, companies: CompaniesFormat) -> Map<String, Value> {
        let list: Vec<&str> = user.companies.iter().map(|c| c.as_str()).collect();
        let mut claims = Map::new();
        claims.insert(
            self.config.role_claim.clone(),
            Value::String(user.role.to_string()),
        );
        if self.companies_fit(user) {
            let companies_value = match companies {
                CompaniesFormat::Array => json!(list),
                CompaniesFormat::JsonString => {
                    Value::String(serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()))
                }
            };
            claims.insert(self.config.companies_claim.clone(), companies_value);
        } else {
            // A string, since version 1 events accept only string claims.
            claims.insert(
                self.config.companies_omitted_claim.clone(),
                Value::String("true".into()),
            );
        }
        claims.insert(
            self.config.id_claim.clone(),
            Value::String(user.id.to_string()),
        );
        // A string, like every claim here (version 1 events accept only strings).
        claims.insert(
            self.config.perm_ver_claim.clone(),
            Value::String(user.version.to_string()),
        );
        claims
    }

    fn scopes(&self, user: &UserPermissions) -> Option<Vec<String>> {
        let prefix = self.config.permission_scopes_prefix.as_ref()?;
        // Company scopes grow with the companies: left out with them when they do not fit.
        let mut scopes: Vec<String> = if self.companies_fit(user) {
            user.companies
                .iter()
                .map(|c| format!("{prefix}company:{c}"))
                .collect()
        } else {
            Vec::new()
        };
        // Scopes are space-separated: a stored role with whitespace (written by another tool)
        // cannot become a scope.
        if !user.role.as_str().contains(char::is_whitespace) {
            scopes.push(format!("{prefix}role:{}", user.role));
        }
        Some(scopes)
    }

    fn response(&self, event: &PreTokenEvent, user: &UserPermissions) -> Value {
        let id_claims = self.claims(user, CompaniesFormat::JsonString);
        match event.version {
            Version::V1 => json!({"claimsOverrideDetails": {"claimsToAddOrOverride": id_claims}}),
            Version::V2 | Version::V3 => {
                let mut details = Map::new();
                if !event.access_token_only() {
                    details.insert(
                        "idTokenGeneration".into(),
                        json!({"claimsToAddOrOverride": id_claims}),
                    );
                }
                let mut access = Map::new();
                if self.config.access_token_claims {
                    access.insert(
                        "claimsToAddOrOverride".into(),
                        Value::Object(self.claims(user, self.config.access_token_companies)),
                    );
                }
                if let Some(scopes) = self.scopes(user) {
                    access.insert("scopesToAdd".into(), json!(scopes));
                }
                if !access.is_empty() {
                    details.insert("accessTokenGeneration".into(), Value::Object(access));
                }
                json!({"claimsAndScopeOverrideDetails": details})
            }
        }
    }
}

/// The response that changes nothing, in the event's format.
fn empty_response(version: Version) -> Value {
    match version {
        Version::V1 => json!({"claimsOverrideDetails": null}),
        Version::V2 | Version::V3 => json!({"claimsAndScopeOverrideDetails": null}),
    }
}
