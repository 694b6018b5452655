//! Roles and their order.
//!
//! Roles are an ordered list configured per deployment (default `Standard < Manager < Admin`), so a
//! check can ask for an exact role or for "at least" one. Names are case-sensitive, as the reference
//! design writes them (`Manager`).

use std::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::ValidationError;

/// A role name as stored. A stored role that the current configuration does not know is kept as it
/// is (so nothing is lost), but it never satisfies an "at least" check: unknown means deny.
///
/// Held in place (a [`SmolStr`]: names up to 23 bytes take no heap block of their own).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(SmolStr);

impl Role {
    /// Parses a role that must be one of `order`'s roles.
    pub fn parse(value: impl AsRef<str>, order: &RoleOrder) -> Result<Self, ValidationError> {
        let value = value.as_ref();
        if order.rank_of(value).is_some() {
            return Ok(Self(SmolStr::new(value)));
        }
        Err(ValidationError::new(
            "role",
            format!(
                "must be one of {} (case-sensitive), got {:?}",
                order.roles.join(", "),
                value
            ),
        ))
    }

    /// A role read back from storage, taken as it is.
    pub fn from_stored(value: impl AsRef<str>) -> Self {
        Self(SmolStr::new(value))
    }

    /// The role's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The configured roles, lowest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleOrder {
    roles: Vec<String>,
}

/// A role list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleOrderError {
    /// No roles at all.
    #[error(
        "the role list is empty: name at least one role, lowest first (e.g. Standard,Manager,Admin)"
    )]
    Empty,
    /// A role appears twice.
    #[error("the role {0:?} appears more than once in the role list")]
    Duplicate(String),
    /// A role name that is empty or has characters outside `A-Z a-z 0-9 _ -`.
    #[error("the role name {0:?} is not valid: use 1-64 characters from A-Z, a-z, 0-9, _ and -")]
    InvalidName(String),
}

impl Default for RoleOrder {
    fn default() -> Self {
        Self {
            roles: vec!["Standard".into(), "Manager".into(), "Admin".into()],
        }
    }
}

/// Parses a comma-separated list, as [`RoleOrder::parse_list`] (so a clap flag can take a
/// `RoleOrder` directly).
impl std::str::FromStr for RoleOrder {
    type Err = RoleOrderError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Self::parse_list(list)
    }
}

impl RoleOrder {
    /// An order from role names, lowest first.
    pub fn new<I, S>(roles: I) -> Result<Self, RoleOrderError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for role in roles {
            let role: String = role.into();
            let valid = !role.is_empty()
                && role.len() <= 64
                && role
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(RoleOrderError::InvalidName(role));
            }
            if out.contains(&role) {
                return Err(RoleOrderError::Duplicate(role));
            }
            out.push(role);
        }
        if out.is_empty() {
            return Err(RoleOrderError::Empty);
        }
        Ok(Self { roles: out })
    }

    /// Parses a comma-separated list such as `Standard,Manager,Admin` (lowest first).
    pub fn parse_list(list: &str) -> Result<Self, RoleOrderError> {
        Self::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The position of `role` in the order (0 is the lowest), or `None` for a role not configured.
    pub fn rank_of(&self, role: &str) -> Option<usize> {
        self.roles.iter().position(|r| r == role)
    }

    /// The roles, lowest first.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether `held` is `required` or ranks above it. Unknown roles never satisfy.
    pub fn at_least(&self, held: &str, required: &str) -> bool {
        match (self.rank_of(held), self.rank_of(required)) {
            (Some(h), Some(r)) => h >= r,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_order_is_standard_manager_admin() {
        let order = RoleOrder::default();
        assert_eq!(order.roles(), ["Standard", "Manager", "Admin"]);
        assert!(order.at_least("Admin", "Manager"));
        assert!(order.at_least("Manager", "Manager"));
        assert!(!order.at_least("Standard", "Manager"));
    }

    #[test]
    fn roles_are_case_sensitive() {
        let order = RoleOrder::default();
        let err = Role::parse("manager", &order).unwrap_err();
        assert_eq!(err.field, "role");
        assert!(
            err.rule.contains("Standard, Manager, Admin"),
            "{}",
            err.rule
        );
        assert!(Role::parse("Manager", &order).is_ok());
        assert!(!order.at_least("manager", "Standard"));
    }

    #[test]
    fn unknown_roles_never_satisfy_at_least() {
        let order = RoleOrder::default();
        assert!(!order.at_least("Owner", "Standard"));
        assert!(!order.at_least("Admin", "Owner"));
    }

    #[test]
    fn bad_role_lists_are_refused_with_a_reason() {
        assert_eq!(RoleOrder::parse_list(" , "), Err(RoleOrderError::Empty));
        assert_eq!(
            RoleOrder::parse_list("A,B,A"),
            Err(RoleOrderError::Duplicate("A".into()))
        );
        assert!(matches!(
            RoleOrder::parse_list("A,B C"),
            Err(RoleOrderError::InvalidName(_))
        ));
        let custom = RoleOrder::parse_list("Viewer, Editor,Owner").unwrap();
        assert!(custom.at_least("Owner", "Viewer"));
        assert_eq!("Viewer, Editor,Owner".parse::<RoleOrder>(), Ok(custom));
        assert_eq!(" , ".parse::<RoleOrder>(), Err(RoleOrderError::Empty));
    }
}
