//! The permission domain: who a user is, which companies they may act for, in what role.
//!
//! These types know nothing of HTTP, Lambda or DynamoDB. Every value that crosses a boundary into
//! Clearance is parsed into one of them once (`parse`), so code further in never re-validates.

mod decision;
pub mod history;
mod ids;
mod permissions;
mod roles;

pub use decision::{Decision, DecisionReason, DecisionView, RoleRequirement, decide};
pub use history::{ChangeAction, HistoryEntry, Snapshot};
pub use ids::{CompanyId, MAX_COMPANY_LEN, MAX_USER_ID_LEN, UserId};
pub use permissions::{MAX_COMPANIES, Permissions, UserPermissions, parse_companies};
pub use roles::{Role, RoleOrder, RoleOrderError};
/// The string type of [`UserPermissions::updated_by`] (and inside the ids and [`Role`]), so a
/// caller can name it without depending on `smol_str` itself.
pub use smol_str::SmolStr;

/// Why a value was refused. The message names the field and the rule it broke, so it can be shown
/// to the caller as it is (an HTTP `detail`, a CLI report line, an authorizer's deny reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct ValidationError {
    /// Where the bad value was: `id`, `companies[2]`, `role`, ...
    pub field: String,
    /// What was wrong with it, in words.
    pub rule: String,
}

impl ValidationError {
    /// A validation error for `field`, explained by `rule`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}
