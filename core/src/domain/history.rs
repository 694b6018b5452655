//! A user's change history: one entry per acknowledged write, saying when, who, what and under
//! which request.
//!
//! Every store keeps a user's history the same way, so that the contract suite can hold them to
//! it: the most recent entries only (at most [`HISTORY_MAX_ENTRIES`], and only as many of the
//! newest as fit in [`HISTORY_MAX_BYTES`] of JSON, never fewer than one), written atomically with
//! the change they record. When a user is deleted, the history (ending with the deletion) stays
//! readable for [`DELETED_HISTORY_RETENTION`], or until the user is created again, whose history
//! then starts afresh. The bound exists because the DynamoDB store keeps the history on the user's
//! own item (an item holds at most 400 KB), so that the one conditional write that changes the
//! user also records the change, without transactions.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{CompanyId, Role, UserPermissions};

/// The most entries kept per user; older ones are dropped as new ones come.
pub const HISTORY_MAX_ENTRIES: usize = 50;
/// The most bytes (as JSON) a user's kept entries take; the oldest are dropped first, but the
/// newest entry is always kept. A user with 1,000 companies, whose entries are ~20 KB each, keeps
/// about six.
pub const HISTORY_MAX_BYTES: usize = 128 * 1024;
/// How long a deleted user's history stays readable: 30 days.
pub const DELETED_HISTORY_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// What a write did to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    /// The user did not exist and was created.
    Create,
    /// The user's companies or role were replaced or patched.
    Update,
    /// The user was deleted.
    Delete,
}

/// The user's permissions on one side of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Companies the user could act for.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["1111"])))]
    pub companies: Vec<CompanyId>,
    /// The user's role.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "Manager"))]
    pub role: Role,
    /// The version at that point.
    pub version: u64,
}

impl From<&UserPermissions> for Snapshot {
    fn from(user: &UserPermissions) -> Self {
        Self {
            companies: user.companies.clone(),
            role: user.role.clone(),
            version: user.version,
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The entry's number in the user's history: 1 for the first write, one more for each write
    /// after it. Pages of history go on from it.
    pub seq: u64,
    /// When the change was made (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// Who made it (the rule of `updatedBy`: a token's `sub` or `client_id`, `seed` for the seed
    /// CLI); absent without authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What the change did.
    pub action: ChangeAction,
    /// The version the change produced (for a deletion, the version deleted).
    pub version: u64,
    /// The request that made the change (`x-request-id`), if it came through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The permissions before (absent for a creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Snapshot>,
    /// The permissions after (absent for a deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Snapshot>,
}

impl HistoryEntry {
    /// The entry for a write that turned `before` into `after` (`None`: absent), made by `actor`
    /// under `request_id` at `at`, numbered after `previous`.
    pub fn new(
        previous: &[HistoryEntry],
        at: OffsetDateTime,
        actor: Option<&str>,
        request_id: Option<&str>,
        before: Option<&UserPermissions>,
        after: Option<&UserPermissions>,
    ) -> Self {
        let action = match (before, after) {
            (None, _) => ChangeAction::Create,
            (Some(_), Some(_)) => ChangeAction::Update,
            (Some(_), None) => ChangeAction::Delete,
        };
        let version = after.or(before).map_or(0, |u| u.version);
        Self {
            seq: previous.last().map_or(1, |e| e.seq + 1),
            at,
            actor: actor.map(str::to_owned),
            action,
            version,
            request_id: request_id.filter(|r| !r.is_empty()).map(str::to_owned),
            before: before.map(Snapshot::from),
            after: after.map(Snapshot::from),
        }
    }
}

/// Appends `entry` to `history` (oldest first) and drops the oldest entries past the bounds
/// ([`HISTORY_MAX_ENTRIES`], [`HISTORY_MAX_BYTES`]). The newest entry is always kept.
pub fn append(history: &mut Vec<HistoryEntry>, entry: HistoryEntry) {
    history.push(entry);
    if history.len() > HISTORY_MAX_ENTRIES {
        history.drain(..history.len() - HISTORY_MAX_ENTRIES);
    }
    let sizes: Vec<usize> = history
        .iter()
        .map(|e| serde_json::to_vec(e).map_or(0, |b| b.len() + 1))
        .collect();
    let mut total: usize = sizes.iter().sum();
    let mut drop = 0;
    while total > HISTORY_MAX_BYTES && drop + 1 < history.len() {
        total -= sizes[drop];
        drop += 1;
    }
    history.drain(..drop);
}

/// The history a write starts from, given what is stored (`stored`, oldest first) and whether
/// the user exists now: a creation starts afresh (a deleted user's entries are not carried into
/// the new user's history).
pub fn continued(stored: Vec<HistoryEntry>, exists: bool) -> Vec<HistoryEntry> {
    if exists { stored } else { Vec::new() }
}

/// Whether a stored history is still readable at `now`: a deleted user's history expires
/// [`DELETED_HISTORY_RETENTION`] after the deletion.
pub fn is_readable(history: &[HistoryEntry], now: OffsetDateTime) -> bool {
    match history.last() {
        Some(last) if last.action == ChangeAction::Delete => {
            now < last.at + DELETED_HISTORY_RETENTION
        }
        Some(_) => true,
        None => false,
    }
}

/// When a deleted user's history (ending with `deleted_at`) stops being readable.
pub fn expires_at(deleted_at: OffsetDateTime) -> OffsetDateTime {
    deleted_at + DELETED_HISTORY_RETENTION
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn user(version: u64, companies: usize) -> UserPermissions {
        UserPermissions {
            id: UserId::parse("u").unwrap(),
            companies: (0..companies)
                .map(|i| CompanyId::parse(format!("company-{i:05}")).unwrap())
                .collect(),
            role: Role::from_stored("Manager"),
            version,
            updated_at: None,
            updated_by: None,
        }
    }

    fn entry(history: &[HistoryEntry], version: u64, companies: usize) -> HistoryEntry {
        let before = (version > 1).then(|| user(version - 1, companies));
        HistoryEntry::new(
            history,
            crate::store::now(),
            Some("admin"),
            Some("req-1"),
            before.as_ref(),
            Some(&user(version, companies)),
        )
    }

    #[test]
    fn entries_are_numbered_and_say_what_happened() {
        let mut history = Vec::new();
        let first = entry(&history, 1, 1);
        assert_eq!((first.seq, first.action), (1, ChangeAction::Create));
        append(&mut history, first);
        let second = entry(&history, 2, 1);
        assert_eq!((second.seq, second.action), (2, ChangeAction::Update));
        let deletion = HistoryEntry::new(
            &history,
            crate::store::now(),
            None,
            Some(""),
            Some(&user(2, 1)),
            None,
        );
        assert_eq!(deletion.action, ChangeAction::Delete);
        assert_eq!(deletion.version, 2);
        assert_eq!(deletion.request_id, None, "an empty request id is no id");
    }

    #[test]
    fn only_the_newest_entries_are_kept() {
        let mut history = Vec::new();
        for v in 1..=(HISTORY_MAX_ENTRIES as u64 + 7) {
            let e = entry(&history, v, 1);
            append(&mut history, e);
        }
        assert_eq!(history.len(), HISTORY_MAX_ENTRIES);
        assert_eq!(history[0].seq, 8);
        assert_eq!(history.last().unwrap().seq, HISTORY_MAX_ENTRIES as u64 + 7);
    }

    #[test]
    fn large_entries_are_bounded_by_size_but_the_newest_stays() {
        let mut history = Vec::new();
        for v in 1..=20 {
            let e = entry(&history, v, 1_000);
            append(&mut history, e);
        }
        let bytes: usize = history
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap().len())
            .sum();
        assert!(bytes <= HISTORY_MAX_BYTES, "{bytes}");
        assert!(
            history.len() >= 2 && history.len() < 20,
            "{}",
            history.len()
        );
        assert_eq!(history.last().unwrap().seq, 20);
    }

    #[test]
    fn a_deleted_users_history_expires_after_the_retention() {
        let mut history = Vec::new();
        let e = entry(&history, 1, 1);
        append(&mut history, e);
        let deleted_at = crate::store::now();
        let deletion = HistoryEntry::new(&history, deleted_at, None, None, Some(&user(1, 1)), None);
        append(&mut history, deletion);
        assert!(is_readable(&history, deleted_at));
        assert!(!is_readable(&history, expires_at(deleted_at)));
        assert!(continued(history, false).is_empty());
    }
}
