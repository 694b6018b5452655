//! Authorisation rules shared by the API Gateway authorizer and the middleware of backing services.
//!
//! A [`Requirement`] says what a request needs: that the caller may act for the company named by a
//! path parameter, in a role (exact or at least); that a path parameter equals the token's subject
//! (user routes) or client id (machine routes); or only that the caller is authenticated.
//! [`evaluate`] checks one against the caller and their permissions and names the rule that decided.
//! It fails closed: a missing parameter, an unknown user or an unknown role is a deny. A
//! requirement also says how fresh the permissions must be ([`Consistency`]), and
//! [`permissions_stale`] tells a token whose permission claims are out of date.

use std::collections::HashMap;

use serde::Deserialize;

use crate::consistency::Consistency;

use crate::domain::{
    CompanyId, DecisionReason, RoleOrder, RoleRequirement, UserPermissions, decide,
};

/// Whether a caller is a person or a machine client: the one rule every Clearance component
/// applies (see [`Caller::identify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallerKind {
    /// A person, identified by the token's `sub`.
    #[default]
    User,
    /// A machine client holding a client-credentials token, identified by its client id.
    Machine,
}

/// Who is calling, as established by token verification (or an upstream authorizer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    /// The token's `sub`.
    pub subject: Option<String>,
    /// The token's `client_id` (access tokens) or `aud` (ID tokens).
    pub client_id: Option<String>,
    /// The id the caller's permissions are stored under (`sub` for users, the client id for
    /// machine clients), and the actor recorded for the caller's changes.
    pub permissions_id: String,
    /// A person or a machine client.
    pub kind: CallerKind,
}

impl Caller {
    /// Who a verified credential names, by the one rule shared by the trigger, the authorizer,
    /// the middleware and the permissions API (`updatedBy`, the audit log's `actor`):
    ///
    /// - a token whose `sub` equals its client id, or that has a client id and no `sub`, is a
    ///   client-credentials token: a **machine**, identified by its client id (Cognito and RFC 9068
    ///   both set `sub` to the client for the client-credentials grant);
    /// - any other token with a `sub` is a **user**, identified by `sub`, whatever the issuer and
    ///   even when it also names the app client the user signed in through;
    /// - a token with neither is refused (`None`): nobody can be held to account for it.
    ///
    /// Empty strings count as absent.
    pub fn identify(subject: Option<&str>, client_id: Option<&str>) -> Option<Self> {
        let subject = subject.filter(|s| !s.is_empty());
        let client_id = client_id.filter(|c| !c.is_empty());
        let (permissions_id, kind) = match (subject, client_id) {
            (Some(sub), Some(client)) if sub == client => (client, CallerKind::Machine),
            (Some(sub), _) => (sub, CallerKind::User),
            (None, Some(client)) => (client, CallerKind::Machine),
            (None, None) => return None,
        };
        Some(Self {
            subject: subject.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
            permissions_id: permissions_id.to_owned(),
            kind,
        })
    }

    /// Whether the caller is a machine client (a client-credentials token).
    pub fn is_machine(&self) -> bool {
        self.kind == CallerKind::Machine
    }

    /// The actor recorded for the caller's changes: the user's `sub` or the machine's client id.
    pub fn actor(&self) -> &str {
        &self.permissions_id
    }
}

/// What a route requires. Deserialised from rule files (camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirement {
    /// The path parameter that names a company the caller must belong to.
    #[serde(default)]
    pub company: Option<String>,
    /// The role required.
    #[serde(default)]
    pub role: Option<String>,
    /// `true`: the role or any above it; `false` (default): exactly the role.
    #[serde(default)]
    pub at_least: bool,
    /// The path parameter that must equal the token's `sub`.
    #[serde(default)]
    pub subject: Option<String>,
    /// The path parameter that must equal the token's client id.
    #[serde(default)]
    pub client: Option<String>,
    /// Only authentication is required (the permissions are passed on, nothing is checked).
    #[serde(default)]
    pub authenticate_only: bool,
    /// How fresh the permissions this route is decided on must be: the cache (the default), or
    /// `fully-consistent` for the routes that move money or change access, so that they see a
    /// revocation at once while the rest stay cached.
    #[serde(default)]
    pub consistency: Consistency,
}

/// The code a caller gets when its token's claims are older than its permissions.
pub const STALE_PERMISSIONS: &str = "stale-permissions";

/// Whether a token's permission claims are out of date: its permission version claim
/// (`perm_ver`, written by the trigger as a string; a number is read too) is below the user's
/// current version, or the user has no permissions any more. A token without the claim is judged
/// as before (`false`); a claim that is not a version fails closed (`true`).
pub fn permissions_stale(
    claim: Option<&serde_json::Value>,
    current: Option<&UserPermissions>,
) -> bool {
    use serde_json::Value;
    let minted = match claim {
        None | Some(Value::Null) => return false,
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    };
    match (minted, current) {
        (None, _) | (_, None) => true,
        (Some(minted), Some(user)) => minted < user.version,
    }
}

/// Why a requirement was met or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed; the reason from the permission check (or `Allowed` for authentication only).
    Allow(DecisionReason),
    /// Denied by the permission check.
    Deny(DecisionReason),
    /// A path parameter the rule names is missing from the request.
    MissingParameter(String),
    /// The path's company parameter is not a valid company id.
    InvalidCompany(String),
    /// The path parameter does not equal the token's subject.
    SubjectMismatch,
    /// The path parameter does not equal the token's client id.
    ClientMismatch,
    /// A client rule was met by a user's token (which names the app client the user signed in
    /// through); client routes need a machine's client-credentials token.
    NotAMachine,
}

impl Outcome {
    /// Whether the request may go ahead.
    pub fn allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// A stable code for the rule that decided.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Allow(r) | Self::Deny(r) => r.code(),
            Self::MissingParameter(_) => "missing-parameter",
            Self::InvalidCompany(_) => "invalid-company",
            Self::SubjectMismatch => "subject-mismatch",
            Self::ClientMismatch => "client-mismatch",
            Self::NotAMachine => "not-a-machine",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Allow(r) | Self::Deny(r) => r.fmt(f),
            Self::MissingParameter(p) => write!(f, "the request has no path parameter {p:?}"),
            Self::InvalidCompany(p) => {
                write!(f, "the path parameter {p:?} is not a valid company id")
            }
            Self::SubjectMismatch => f.write_str("the path names another user"),
            Self::ClientMismatch => f.write_str("the path names another client"),
            Self::NotAMachine => {
                f.write_str("the route is for machine clients: a user's token cannot use it")
            }
        }
    }
}

impl Requirement {
    /// Whether checking this requirement needs the caller's permissions.
    pub fn needs_permissions(&self) -> bool {
        !self.authenticate_only && (self.company.is_some() || self.role.is_some())
    }

    /// Whether the requirement depends on the route (anything but authentication only).
    pub fn depends_on_route(&self) -> bool {
        !self.authenticate_only
    }

    /// The role requirement, if any.
    pub fn role_requirement(&self) -> Option<RoleRequirement> {
        self.role.as_ref().map(|r| {
            if self.at_least {
                RoleRequirement::AtLeast(r.clone())
            } else {
                RoleRequirement::Exact(r.clone())
            }
        })
    }
}

/// Checks `requirement` for `caller` with their `permissions` (looked up by the caller when
/// [`Requirement::needs_permissions`]) and the request's path `params`.
pub fn evaluate(
    requirement: &Requirement,
    caller: &Caller,
    permissions: Option<&UserPermissions>,
    params: &HashMap<String, String>,
    order: &RoleOrder,
) -> Outcome {
    if requirement.authenticate_only {
        return Outcome::Allow(DecisionReason::Allowed);
    }
    let param = |name: &String| {
        params
            .get(name)
            .ok_or_else(|| Outcome::MissingParameter(name.clone()))
    };
    if let Some(name) = &requirement.subject {
        match param(name) {
            Err(e) => return e,
            Ok(value)
                if caller.is_machine() || caller.subject.as_deref() != Some(value.as_str()) =>
            {
                return Outcome::SubjectMismatch;
            }
            Ok(_) => {}
        }
    }
    if let Some(name) = &requirement.client {
        match param(name) {
            Err(e) => return e,
            // A user's token names the app client the user signed in through: only a machine's
            // own client-credentials token may act as the client.
            Ok(_) if !caller.is_machine() => return Outcome::NotAMachine,
            Ok(value) if caller.client_id.as_deref() != Some(value.as_str()) => {
                return Outcome::ClientMismatch;
            }
            Ok(_) => {}
        }
    }
    if !requirement.needs_permissions() {
        return Outcome::Allow(DecisionReason::Allowed);
    }
    let company = match &requirement.company {
        None => None,
        Some(name) => match param(name) {
            Err(e) => return e,
            Ok(raw) => match CompanyId::parse(raw) {
                Ok(c) => Some(c),
                Err(_) => return Outcome::InvalidCompany(name.clone()),
            },
        },
    };
    let decision = decide(
        permissions,
        company.as_ref(),
        requirement.role_requirement().as_ref(),
        order,
    );
    if decision.allowed {
        Outcome::Allow(decision.reason)
    } else {
        Outcome::Deny(decision.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(companies: &[&str], role: &str) -> UserPermissions {
        crate::store::contract::stored("u1", companies, role)
    }

    fn caller() -> Caller {
        Caller::identify(Some("u1"), Some("client-a")).unwrap()
    }

    fn machine() -> Caller {
        Caller::identify(Some("client-a"), Some("client-a")).unwrap()
    }

    #[test]
    fn one_rule_tells_users_from_machines_and_refuses_the_unidentified() {
        let user = caller();
        assert_eq!(user.kind, CallerKind::User);
        assert_eq!(user.actor(), "u1");
        let m = machine();
        assert!(m.is_machine());
        assert_eq!(m.actor(), "client-a");
        let no_sub = Caller::identify(None, Some("client-b")).unwrap();
        assert!(no_sub.is_machine());
        assert_eq!(no_sub.actor(), "client-b");
        // Any issuer: a user's token naming its app client is still the user's.
        let id_token_user = Caller::identify(Some("alice"), None).unwrap();
        assert_eq!(id_token_user.kind, CallerKind::User);
        assert!(Caller::identify(None, None).is_none());
        assert!(Caller::identify(Some(""), Some("")).is_none());
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn company_rule(role: &str, at_least: bool) -> Requirement {
        Requirement {
            company: Some("company_id".into()),
            role: Some(role.into()),
            at_least,
            ..Requirement::default()
        }
    }

    #[test]
    fn company_and_role_rules_allow_and_deny() {
        let order = RoleOrder::default();
        let p = perms(&["1111"], "Manager");
        let ok = evaluate(
            &company_rule("Standard", true),
            &caller(),
            Some(&p),
            &params(&[("company_id", "1111")]),
            &order,
        );
        assert!(ok.allowed());
        let other = evaluate(
            &company_rule("Standard", true),
            &caller(),
            Some(&p),
            &params(&[("company_id", "2222")]),
            &order,
        );
        assert_eq!(other.code(), "not-a-member");
        let below = evaluate(
            &company_rule("Admin", true),
            &caller(),
            Some(&p),
            &params(&[("company_id", "1111")]),
            &order,
        );
        assert_eq!(below.code(), "role-below-required");
        let unknown = evaluate(
            &company_rule("Standard", true),
            &caller(),
            None,
            &params(&[("company_id", "1111")]),
            &order,
        );
        assert_eq!(unknown.code(), "unknown-user");
    }

    #[test]
    fn a_missing_or_invalid_parameter_denies() {
        let order = RoleOrder::default();
        let p = perms(&["1111"], "Manager");
        let missing = evaluate(
            &company_rule("Standard", true),
            &caller(),
            Some(&p),
            &params(&[]),
            &order,
        );
        assert!(!missing.allowed());
        assert_eq!(missing.code(), "missing-parameter");
        let invalid = evaluate(
            &company_rule("Standard", true),
            &caller(),
            Some(&p),
            &params(&[("company_id", "a b")]),
            &order,
        );
        assert_eq!(invalid.code(), "invalid-company");
    }

    #[test]
    fn subject_and_client_must_match_the_path() {
        let order = RoleOrder::default();
        let user_rule = Requirement {
            subject: Some("user_id".into()),
            ..Requirement::default()
        };
        assert!(
            evaluate(
                &user_rule,
                &caller(),
                None,
                &params(&[("user_id", "u1")]),
                &order
            )
            .allowed()
        );
        assert_eq!(
            evaluate(
                &user_rule,
                &caller(),
                None,
                &params(&[("user_id", "u2")]),
                &order
            )
            .code(),
            "subject-mismatch"
        );
        let client_rule = Requirement {
            client: Some("client_id".into()),
            ..Requirement::default()
        };
        assert!(
            evaluate(
                &client_rule,
                &machine(),
                None,
                &params(&[("client_id", "client-a")]),
                &order
            )
            .allowed()
        );
        assert_eq!(
            evaluate(
                &client_rule,
                &machine(),
                None,
                &params(&[("client_id", "client-b")]),
                &order
            )
            .code(),
            "client-mismatch"
        );
        // A user's token names the client it signed in through: not enough for a client route.
        assert_eq!(
            evaluate(
                &client_rule,
                &caller(),
                None,
                &params(&[("client_id", "client-a")]),
                &order
            )
            .code(),
            "not-a-machine"
        );
        // Nor may a machine pass as the user a path names.
        assert_eq!(
            evaluate(
                &user_rule,
                &machine(),
                None,
                &params(&[("user_id", "client-a")]),
                &order
            )
            .code(),
            "subject-mismatch"
        );
        let no_subject = Caller {
            subject: None,
            ..caller()
        };
        assert!(
            !evaluate(
                &user_rule,
                &no_subject,
                None,
                &params(&[("user_id", "u1")]),
                &order
            )
            .allowed()
        );
    }

    #[test]
    fn authentication_only_allows_any_authenticated_caller() {
        let rule = Requirement {
            authenticate_only: true,
            ..Requirement::default()
        };
        assert!(!rule.needs_permissions());
        assert!(evaluate(&rule, &caller(), None, &params(&[]), &RoleOrder::default()).allowed());
    }

    #[test]
    fn rules_deserialise_from_camel_case_and_refuse_unknown_fields() {
        let rule: Requirement = serde_json::from_str(
            r#"{"company": "company_id", "role": "Manager", "atLeast": true}"#,
        )
        .unwrap();
        assert_eq!(rule, company_rule("Manager", true));
        assert!(serde_json::from_str::<Requirement>(r#"{"roles": "x"}"#).is_err());
    }
}
