//! The authorisation decision: may this user act for this company, in this role?
//!
//! One function decides for every transport (the `/check` endpoint, AuthZEN, the authorizers, the
//! middleware), so they can never disagree. It fails closed: an unknown user, an unknown role or a
//! missing company is a deny.

use serde::Serialize;

use super::{CompanyId, RoleOrder, UserPermissions};

/// A role a rule requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRequirement {
    /// The user's role must be exactly this one.
    Exact(String),
    /// The user's role must be this one or rank above it in the [`RoleOrder`].
    AtLeast(String),
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionReason {
    /// Every rule asked for was met.
    Allowed,
    /// Clearance holds no permissions for the user.
    UnknownUser,
    /// The user may not act for the company.
    NotAMember {
        /// The company asked for.
        company: String,
    },
    /// The user's role is not the one required.
    RoleMismatch {
        /// The role the user holds.
        held: String,
        /// The role required.
        required: String,
    },
    /// The user's role ranks below the one required (or is not a configured role).
    RoleBelow {
        /// The role the user holds.
        held: String,
        /// The lowest role that would do.
        required: String,
    },
}

impl DecisionReason {
    /// A stable, machine-readable code for the rule that decided.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::UnknownUser => "unknown-user",
            Self::NotAMember { .. } => "not-a-member",
            Self::RoleMismatch { .. } => "role-mismatch",
            Self::RoleBelow { .. } => "role-below-required",
        }
    }
}

impl std::fmt::Display for DecisionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Allowed => f.write_str("all rules met"),
            Self::UnknownUser => f.write_str("unknown user: no permissions are stored for it"),
            Self::NotAMember { company } => write!(f, "not a member of company {company:?}"),
            Self::RoleMismatch { held, required } => {
                write!(f, "role {held:?} is not the required role {required:?}")
            }
            Self::RoleBelow { held, required } => {
                write!(f, "role {held:?} is below the required role {required:?}")
            }
        }
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the user may go ahead.
    pub allowed: bool,
    /// The rule that decided.
    pub reason: DecisionReason,
}

/// The decision in its wire form: `{allowed, reason, code}`.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    /// Whether the user may go ahead.
    pub allowed: bool,
    /// The rule that decided, in words.
    pub reason: String,
    /// The rule that decided, as a stable code.
    pub code: &'static str,
}

impl From<&Decision> for DecisionView {
    fn from(d: &Decision) -> Self {
        Self {
            allowed: d.allowed,
            reason: d.reason.to_string(),
            code: d.reason.code(),
        }
    }
}

/// Decides whether `user` may act for `company` (if given) with `role` (if given).
pub fn decide(
    user: Option<&UserPermissions>,
    company: Option<&CompanyId>,
    role: Option<&RoleRequirement>,
    order: &RoleOrder,
) -> Decision {
    let deny = |reason| Decision {
        allowed: false,
        reason,
    };
    let Some(user) = user else {
        return deny(DecisionReason::UnknownUser);
    };
    if let Some(company) = company
        && !user.has_company(company)
    {
        return deny(DecisionReason::NotAMember {
            company: company.to_string(),
        });
    }
    let held = user.role.as_str();
    match role {
        Some(RoleRequirement::Exact(required)) if held != required => {
            return deny(DecisionReason::RoleMismatch {
                held: held.into(),
                required: required.clone(),
            });
        }
        Some(RoleRequirement::AtLeast(required)) if !order.at_least(held, required) => {
            return deny(DecisionReason::RoleBelow {
                held: held.into(),
                required: required.clone(),
            });
        }
        _ => {}
    }
    Decision {
        allowed: true,
        reason: DecisionReason::Allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(companies: &[&str], role: &str) -> UserPermissions {
        crate::store::contract::stored("u", companies, role)
    }

    fn company(c: &str) -> CompanyId {
        CompanyId::parse(c).unwrap()
    }

    #[test]
    fn unknown_users_are_denied() {
        let d = decide(None, None, None, &RoleOrder::default());
        assert!(!d.allowed);
        assert_eq!(d.reason.code(), "unknown-user");
    }

    #[test]
    fn membership_is_required_for_a_company() {
        let u = user(&["1111"], "Manager");
        let order = RoleOrder::default();
        assert!(decide(Some(&u), Some(&company("1111")), None, &order).allowed);
        let d = decide(Some(&u), Some(&company("2222")), None, &order);
        assert_eq!(d.reason.code(), "not-a-member");
    }

    #[test]
    fn exact_and_at_least_roles() {
        let u = user(&["1111"], "Manager");
        let order = RoleOrder::default();
        let c = company("1111");
        let exact = |r: &str| RoleRequirement::Exact(r.into());
        let at_least = |r: &str| RoleRequirement::AtLeast(r.into());
        assert!(decide(Some(&u), Some(&c), Some(&exact("Manager")), &order).allowed);
        assert_eq!(
            decide(Some(&u), Some(&c), Some(&exact("Standard")), &order)
                .reason
                .code(),
            "role-mismatch"
        );
        assert!(decide(Some(&u), Some(&c), Some(&at_least("Standard")), &order).allowed);
        assert_eq!(
            decide(Some(&u), Some(&c), Some(&at_least("Admin")), &order)
                .reason
                .code(),
            "role-below-required"
        );
    }

    #[test]
    fn membership_is_checked_before_role() {
        let u = user(&["1111"], "Standard");
        let d = decide(
            Some(&u),
            Some(&company("9999")),
            Some(&RoleRequirement::AtLeast("Admin".into())),
            &RoleOrder::default(),
        );
        assert_eq!(d.reason.code(), "not-a-member");
    }
}
