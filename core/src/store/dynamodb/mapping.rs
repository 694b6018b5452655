//! Items and permissions: the one place that knows how a user is laid out in DynamoDB.
//!
//! The reference design's items are `{id: S, companies: L of S, role: S}`. Clearance adds
//! `version: N`, `updatedAt: S` (RFC 3339) and `updatedBy: S`, and reads items without them (an
//! item with no `version` is version 0). `companies` is also read as a string set (SS), which other
//! tools write; since DynamoDB cannot store an empty set such tools leave the attribute out for a
//! user with no companies, so a missing `companies` reads as an empty list. Anything else that does
//! not fit is [`StoreError::Corrupt`], naming the user and the attribute.
//!
//! The change history is one more attribute on the same item, `history` (S: the kept entries as a
//! JSON array, oldest first), so the conditional write that changes the user records the change
//! too. Readers of the reference shape read `id`, `companies` and `role` and never see it. A delete
//! first marks the item (`pendingDelete`, S: the delete's write id), then copies the history, the
//! deletion included, into an archive item whose key no user id can take (`history <id>`: user ids
//! hold no whitespace) with `expiresAt` (N, epoch seconds, the table's TTL attribute), then deletes
//! the item only if it is still marked by the same delete.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::{CompanyId, HistoryEntry, Role, UserId, UserPermissions};
use crate::store::{Position, StoreError};

/// The partition key: the user id (S).
pub(super) const ID: &str = "id";
/// The companies (L of S; SS is read too).
pub(super) const COMPANIES: &str = "companies";
/// The role (S).
pub(super) const ROLE: &str = "role";
/// The version (N), absent on items written by other tools.
pub(super) const VERSION: &str = "version";
/// When the item last changed (S, RFC 3339).
pub(super) const UPDATED_AT: &str = "updatedAt";
/// Who last changed the item (S).
pub(super) const UPDATED_BY: &str = "updatedBy";
/// A random id of the write that last changed the item (S): how a write whose answer was lost
/// recognises itself when it is tried again (see the store's "Writes that are never misreported").
pub(super) const LAST_WRITE_ID: &str = "lastWriteId";

/// The user's change history (S: a JSON array of entries, oldest first).
pub(super) const HISTORY: &str = "history";
/// The write id of a delete in progress (S): the item is deleted only while it holds that id.
pub(super) const PENDING_DELETE: &str = "pendingDelete";
/// When an archive item may be removed (N, epoch seconds): the table's TTL attribute.
pub(super) const EXPIRES_AT: &str = "expiresAt";
/// What a read of a user's permissions asks for ([`read_names`] names the placeholders): the
/// attributes [`decode`] reads, not the history (up to 128 KiB of JSON in a string, the bulk of a
/// long-lived user's item) nor the write bookkeeping, which DynamoDB would otherwise send and the
/// SDK parse on every cache miss. (DynamoDB still charges read units for the whole item.)
pub(super) const READ_PROJECTION: &str = "#i, #c, #r, #v, #ua, #ub";

/// The attribute names behind [`READ_PROJECTION`]'s placeholders (`role` is a DynamoDB reserved
/// word, so every name goes through one).
pub(super) fn read_names() -> HashMap<String, String> {
    [
        ("#i", ID),
        ("#c", COMPANIES),
        ("#r", ROLE),
        ("#v", VERSION),
        ("#ua", UPDATED_AT),
        ("#ub", UPDATED_BY),
    ]
    .into_iter()
    .map(|(placeholder, name)| (placeholder.to_owned(), name.to_owned()))
    .collect()
}

/// What starts the key of a deleted user's archived history: no user id holds a space.
const ARCHIVE_PREFIX: &str = "history ";

/// One DynamoDB item.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The key of the user's item.
pub(super) fn key(id: &UserId) -> Item {
    HashMap::from([(ID.to_owned(), AttributeValue::S(id.as_str().to_owned()))])
}

/// The key of the archive that keeps a deleted user's history.
pub(super) fn archive_key(id: &UserId) -> Item {
    HashMap::from([(
        ID.to_owned(),
        AttributeValue::S(format!("{ARCHIVE_PREFIX}{}", id.as_str())),
    )])
}

/// Whether `item` is a deleted user's archived history, not a user (whole-table scans skip them).
pub(super) fn is_archive(item: &Item) -> bool {
    matches!(item.get(ID), Some(AttributeValue::S(id)) if id.starts_with(ARCHIVE_PREFIX))
}

/// The archive item of `id`'s history, expiring at `expires_at`.
pub(super) fn archive(
    id: &UserId,
    history: &[HistoryEntry],
    expires_at: OffsetDateTime,
) -> Result<Item, StoreError> {
    let mut item = archive_key(id);
    item.insert(HISTORY.to_owned(), history_value(history)?);
    item.insert(
        EXPIRES_AT.to_owned(),
        AttributeValue::N(expires_at.unix_timestamp().max(0).to_string()),
    );
    Ok(item)
}

/// A history as stored in `history`.
pub(super) fn history_value(history: &[HistoryEntry]) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(history)
        .map(AttributeValue::S)
        .map_err(StoreError::internal)
}

/// The history kept on a user's (or an archive) item, oldest first; none if it has none (an item
/// written by another tool).
pub(super) fn history_of(id: &UserId, item: &Item) -> Result<Vec<HistoryEntry>, StoreError> {
    match item.get(HISTORY) {
        None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
        Some(AttributeValue::S(json)) => serde_json::from_str(json).map_err(|e| {
            corrupt(
                id.as_str(),
                format!("`{HISTORY}` is not a JSON array of history entries: {e}"),
            )
        }),
        Some(other) => Err(wrong_type(id.as_str(), HISTORY, other, "a string (S)")),
    }
}

/// The key a listing's scan goes on after: the item whose `id` is the position.
pub(super) fn position_key(position: &Position) -> Item {
    HashMap::from([(
        ID.to_owned(),
        AttributeValue::S(position.as_str().to_owned()),
    )])
}

/// The position of a scan's `LastEvaluatedKey`: the `id` of the last item it read.
pub(super) fn position(last_evaluated_key: &Item) -> Result<Position, StoreError> {
    match last_evaluated_key.get(ID) {
        Some(AttributeValue::S(id)) => Position::new(id.as_str())
            .ok_or_else(|| corrupt(id, format!("`{ID}` is empty or too long for a key"))),
        Some(other) => Err(corrupt(
            &format!("<{} key>", type_name(other)),
            format!(
                "the scan's last key `{ID}` is {}, not a string (S)",
                type_name(other)
            ),
        )),
        None => Err(corrupt(
            "<no id>",
            format!("the scan's last key has no `{ID}`"),
        )),
    }
}

/// A string attribute value.
pub(super) fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A number attribute value.
pub(super) fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The companies as the reference writes them: a list of strings (a list, unlike a set, may be
/// empty and keeps its order).
pub(super) fn companies(companies: &[CompanyId]) -> AttributeValue {
    AttributeValue::L(companies.iter().map(|c| string(c.as_str())).collect())
}

/// A timestamp as stored in `updatedAt`.
pub(super) fn timestamp(at: OffsetDateTime) -> Result<AttributeValue, StoreError> {
    at.format(&Rfc3339)
        .map(AttributeValue::S)
        .map_err(StoreError::internal)
}

/// Reads a whole item as a user's permissions.
pub(super) fn decode(item: &Item) -> Result<UserPermissions, StoreError> {
    let raw_id = match item.get(ID) {
        Some(AttributeValue::S(id)) => id.clone(),
        Some(other) => {
            return Err(corrupt(
                &format!("<{} key>", type_name(other)),
                format!("`{ID}` is {}, not a string (S)", type_name(other)),
            ));
        }
        None => return Err(corrupt("<no id>", format!("`{ID}` is missing"))),
    };
    let id = UserId::parse(raw_id.as_str()).map_err(|e| {
        corrupt(
            &raw_id,
            format!("`{ID}` is not a valid user id: {}", e.rule),
        )
    })?;
    Ok(UserPermissions {
        companies: decode_companies(&raw_id, item.get(COMPANIES))?,
        role: decode_role(&raw_id, item.get(ROLE))?,
        version: version_of(&raw_id, item)?,
        updated_at: decode_updated_at(&raw_id, item.get(UPDATED_AT))?,
        updated_by: optional_string(&raw_id, UPDATED_BY, item.get(UPDATED_BY))?.map(Into::into),
        id,
    })
}

/// The item's version alone: 0 when it has none.
pub(super) fn version_of(id: &str, item: &Item) -> Result<u64, StoreError> {
    match item.get(VERSION) {
        None | Some(AttributeValue::Null(_)) => Ok(0),
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| {
            corrupt(
                id,
                format!("`{VERSION}` is {n:?}, not a whole number of at least 0"),
            )
        }),
        Some(other) => Err(wrong_type(id, VERSION, other, "a number (N)")),
    }
}

fn decode_companies(
    id: &str,
    value: Option<&AttributeValue>,
) -> Result<Vec<CompanyId>, StoreError> {
    let parse = |i: usize, raw: &str| {
        CompanyId::parse(raw).map_err(|e| {
            corrupt(
                id,
                format!("`{COMPANIES}[{i}]` is not a valid company id: {}", e.rule),
            )
        })
    };
    let mut companies: Vec<CompanyId> = match value {
        None | Some(AttributeValue::Null(_)) => Vec::new(),
        Some(AttributeValue::L(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                AttributeValue::S(raw) => parse(i, raw),
                other => Err(corrupt(
                    id,
                    format!(
                        "`{COMPANIES}[{i}]` is {}, not a string (S)",
                        type_name(other)
                    ),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(AttributeValue::Ss(set)) => set
            .iter()
            .enumerate()
            .map(|(i, raw)| parse(i, raw))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(wrong_type(
                id,
                COMPANIES,
                other,
                "a list of strings (L) or a string set (SS)",
            ));
        }
    };
    // Collected one by one, the list keeps room for four; a cached user is kept a million times.
    companies.shrink_to_fit();
    Ok(companies)
}

fn decode_role(id: &str, value: Option<&AttributeValue>) -> Result<Role, StoreError> {
    match value {
        Some(AttributeValue::S(role)) => Ok(Role::from_stored(role.as_str())),
        Some(other) => Err(wrong_type(id, ROLE, other, "a string (S)")),
        None => Err(corrupt(id, format!("`{ROLE}` is missing"))),
    }
}

fn decode_updated_at(
    id: &str,
    value: Option<&AttributeValue>,
) -> Result<Option<OffsetDateTime>, StoreError> {
    optional_string(id, UPDATED_AT, value)?
        .map(|raw| {
            OffsetDateTime::parse(&raw, &Rfc3339).map_err(|e| {
                corrupt(
                    id,
                    format!("`{UPDATED_AT}` is {raw:?}, not an RFC 3339 time: {e}"),
                )
            })
        })
        .transpose()
}

fn optional_string(
    id: &str,
    name: &str,
    value: Option<&AttributeValue>,
) -> Result<Option<String>, StoreError> {
    match value {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(id, name, other, "a string (S)")),
    }
}

fn wrong_type(id: &str, name: &str, value: &AttributeValue, expected: &str) -> StoreError {
    corrupt(
        id,
        format!("`{name}` is {}, not {expected}", type_name(value)),
    )
}

fn corrupt(id: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        id: id.to_owned(),
        reason,
    }
}

/// DynamoDB's name for the value's type, with an article, for error messages.
fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "a string (S)",
        AttributeValue::N(_) => "a number (N)",
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Bool(_) => "a boolean (BOOL)",
        AttributeValue::Null(_) => "null (NULL)",
        AttributeValue::L(_) => "a list (L)",
        AttributeValue::M(_) => "a map (M)",
        AttributeValue::Ss(_) => "a string set (SS)",
        AttributeValue::Ns(_) => "a number set (NS)",
        AttributeValue::Bs(_) => "a binary set (BS)",
        _ => "an unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_item() -> Item {
        HashMap::from([
            ("id".to_owned(), string("u1")),
            (
                "companies".to_owned(),
                AttributeValue::L(vec![string("1111"), string("2222")]),
            ),
            ("role".to_owned(), string("Manager")),
        ])
    }

    #[test]
    fn a_scan_position_is_the_last_keys_id_and_goes_back_into_a_key() {
        let key = HashMap::from([("id".to_owned(), string("not a user id"))]);
        let at = position(&key).unwrap();
        assert_eq!(at.as_str(), "not a user id");
        assert_eq!(position_key(&at), key);
        let numeric = HashMap::from([("id".to_owned(), number(7))]);
        assert!(matches!(
            position(&numeric),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn the_read_projection_keeps_everything_decode_reads_and_leaves_the_history_out() {
        let mut whole = reference_item();
        whole.insert(VERSION.into(), number(4));
        whole.insert(UPDATED_AT.into(), string("2026-12-01T06:00:00Z"));
        whole.insert(UPDATED_BY.into(), string("admin-1"));
        whole.insert(LAST_WRITE_ID.into(), string("w-1"));
        whole.insert(PENDING_DELETE.into(), string("w-2"));
        whole.insert(HISTORY.into(), string(&"[]".repeat(1000)));
        // What DynamoDB answers for the projection: the named attributes the item has.
        let names = read_names();
        let projected: Item = whole
            .iter()
            .filter(|(name, _)| names.values().any(|n| n == *name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        assert!(!projected.contains_key(HISTORY));
        assert_eq!(decode(&projected).unwrap(), decode(&whole).unwrap());
        assert_eq!(decode(&projected).unwrap().version, 4);
        // Every placeholder of the expression is named, and every name is in the expression.
        let placeholders: Vec<&str> = READ_PROJECTION.split(", ").collect();
        assert_eq!(placeholders.len(), names.len());
        assert!(placeholders.iter().all(|p| names.contains_key(*p)));
    }

    #[test]
    fn a_reference_item_reads_as_version_zero() {
        let user = decode(&reference_item()).unwrap();
        assert_eq!(user.id.as_str(), "u1");
        assert_eq!(user.companies.len(), 2);
        assert_eq!(user.companies.capacity(), 2, "no spare room kept");
        assert_eq!(user.role.as_str(), "Manager");
        assert_eq!(user.version, 0);
        assert_eq!(user.updated_at, None);
        assert_eq!(user.updated_by, None);
    }

    #[test]
    fn a_string_set_of_companies_is_read() {
        let mut item = reference_item();
        item.insert(
            "companies".into(),
            AttributeValue::Ss(vec!["1111".into(), "3333".into()]),
        );
        let user = decode(&item).unwrap();
        let names: Vec<&str> = user.companies.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["1111", "3333"]);
        assert_eq!(user.companies.capacity(), 2, "no spare room kept");
    }

    #[test]
    fn clearance_attributes_are_read() {
        let mut item = reference_item();
        item.insert("version".into(), number(7));
        item.insert("updatedAt".into(), string("2026-01-02T03:04:05.123Z"));
        item.insert("updatedBy".into(), string("admin"));
        let user = decode(&item).unwrap();
        assert_eq!(user.version, 7);
        assert_eq!(
            user.updated_at,
            Some(time::macros::datetime!(2026-01-02 03:04:05.123 UTC))
        );
        assert_eq!(user.updated_by.as_deref(), Some("admin"));
    }

    #[test]
    fn a_written_timestamp_reads_back_equal() {
        let at = crate::store::now();
        let AttributeValue::S(raw) = timestamp(at).unwrap() else {
            panic!("not a string");
        };
        assert_eq!(OffsetDateTime::parse(&raw, &Rfc3339).unwrap(), at);
    }

    fn reason_of(item: &Item) -> (String, String) {
        match decode(item).unwrap_err() {
            StoreError::Corrupt { id, reason } => (id, reason),
            other => panic!("not corrupt: {other:?}"),
        }
    }

    #[test]
    fn a_numeric_role_is_corrupt_and_named() {
        let mut item = reference_item();
        item.insert("role".into(), number(3));
        let (id, reason) = reason_of(&item);
        assert_eq!(id, "u1");
        assert!(
            reason.contains("`role`") && reason.contains("(N)"),
            "{reason}"
        );
    }

    #[test]
    fn a_bad_company_names_its_index() {
        let mut item = reference_item();
        item.insert(
            "companies".into(),
            AttributeValue::L(vec![string("1111"), number(2)]),
        );
        let (_, reason) = reason_of(&item);
        assert!(reason.contains("`companies[1]`"), "{reason}");
    }

    #[test]
    fn a_negative_version_is_corrupt() {
        let mut item = reference_item();
        item.insert("version".into(), AttributeValue::N("-1".into()));
        let (_, reason) = reason_of(&item);
        assert!(reason.contains("`version`"), "{reason}");
    }

    #[test]
    fn a_missing_role_or_id_is_corrupt() {
        let mut item = reference_item();
        item.remove("role");
        assert!(reason_of(&item).1.contains("`role` is missing"));
        item.remove("id");
        assert!(reason_of(&item).1.contains("`id` is missing"));
    }

    #[test]
    fn a_bad_timestamp_is_corrupt() {
        let mut item = reference_item();
        item.insert("updatedAt".into(), string("yesterday"));
        assert!(reason_of(&item).1.contains("`updatedAt`"));
    }
}
