//! Operations built on the store trait that every store performs the same way.
//!
//! PATCH is a read, a change computed in memory, and a write conditioned on the version that was
//! read. When another writer got there first the condition fails and the whole step is tried again
//! on fresh data, so no concurrent change is ever lost, on any store, without transactions.

use std::time::Duration;

use super::{Author, PermissionStore, Precondition, StoreError, WriteOutcome};
use crate::domain::{CompanyId, Permissions, Role, UserId, ValidationError, parse_companies};

/// How many times a PATCH without `If-Match` re-reads and retries after losing a race.
pub const PATCH_ATTEMPTS: u32 = 10;

/// A change to a user's permissions: companies to add and remove, and optionally a new role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionsPatch {
    /// Companies to add (those already held are left as they are).
    pub add_companies: Vec<CompanyId>,
    /// Companies to remove (those not held are ignored).
    pub remove_companies: Vec<CompanyId>,
    /// The new role, if it changes.
    pub role: Option<Role>,
}

impl PermissionsPatch {
    /// Builds a patch from raw parts, refusing an empty patch and a company both added and removed.
    pub fn parse(
        add: Option<Vec<String>>,
        remove: Option<Vec<String>>,
        role: Option<Role>,
    ) -> Result<Self, ValidationError> {
        if add.is_none() && remove.is_none() && role.is_none() {
            return Err(ValidationError::new(
                "body",
                "must set at least one of addCompanies, removeCompanies or role",
            ));
        }
        let add_companies = parse_companies(add.unwrap_or_default())
            .map_err(|e| rename_field(e, "companies", "addCompanies"))?;
        let remove_companies = parse_companies(remove.unwrap_or_default())
            .map_err(|e| rename_field(e, "companies", "removeCompanies"))?;
        if let Some(both) = add_companies.iter().find(|c| remove_companies.contains(c)) {
            return Err(ValidationError::new(
                "addCompanies",
                format!(
                    "{both:?} is also in removeCompanies: a company cannot be added and removed at once"
                ),
            ));
        }
        Ok(Self {
            add_companies,
            remove_companies,
            role,
        })
    }

    /// The permissions that result from applying this patch to `current`.
    pub fn apply(&self, current: &Permissions) -> Result<Permissions, ValidationError> {
        let mut companies: Vec<CompanyId> = current
            .companies
            .iter()
            .filter(|c| !self.remove_companies.contains(c))
            .cloned()
            .collect();
        for add in &self.add_companies {
            if !companies.contains(add) {
                companies.push(add.clone());
            }
        }
        let role = self.role.clone().unwrap_or_else(|| current.role.clone());
        Permissions::new(companies, role)
    }
}

fn rename_field(mut err: ValidationError, from: &str, to: &str) -> ValidationError {
    if let Some(rest) = err.field.strip_prefix(from) {
        err.field = format!("{to}{rest}");
    }
    err
}

/// Why a PATCH failed.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The user does not exist.
    #[error("user not found")]
    NotFound,
    /// The patched permissions would break a rule (e.g. more than the allowed number of companies).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed, or the precondition did not hold.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `patch` to the user's permissions in one atomic step.
///
/// With `precondition` `Version(v)` (an `If-Match`), the patch applies only to version `v` and a
/// mismatch is a [`StoreError::Conflict`]. Otherwise a lost race is retried on fresh data up to
/// [`PATCH_ATTEMPTS`] times.
pub async fn patch(
    store: &dyn PermissionStore,
    id: &UserId,
    patch: &PermissionsPatch,
    precondition: Precondition,
    author: Author<'_>,
) -> Result<WriteOutcome, PatchError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        // The stored state, past any cache: `If-Match` is compared with the stored version, and
        // the write below is conditioned on it by the store.
        let current = store.get_latest(id).await?.ok_or(PatchError::NotFound)?;
        if let Precondition::Version(expected) = precondition
            && expected != current.version
        {
            return Err(StoreError::Conflict {
                current: Some(current.version),
            }
            .into());
        }
        let next = patch.apply(&current.permissions())?;
        match store
            .put(id, &next, Precondition::Version(current.version), author)
            .await
        {
            Err(StoreError::Conflict { current: now })
                if !matches!(precondition, Precondition::Version(_))
                    && attempt < PATCH_ATTEMPTS =>
            {
                if now.is_none() {
                    return Err(PatchError::NotFound);
                }
                backoff(attempt).await;
            }
            other => return other.map_err(PatchError::from),
        }
    }
}

/// A short, jittered pause between retries that grows with the attempt (1-2 ms, 2-4 ms, ... up to
/// 64 ms), so racing writers spread out instead of colliding again.
async fn backoff(attempt: u32) {
    let base = 1u64 << attempt.min(6);
    let jitter = fastrand::u64(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}
