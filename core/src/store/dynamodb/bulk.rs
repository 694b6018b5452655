//! Bulk writes and whole-table reads, for tools that load or dump a table (the seed CLI).
//!
//! These are not part of [`crate::store::PermissionStore`]: they trade the store's per-item
//! guarantees for throughput, and say so.
//!
//! # Writes: `BatchWriteItem`
//!
//! [`DynamoStore::batch_put`] sends up to
//! [`BATCH_WRITE_CHUNK`] writes per request, DynamoDB's limit. DynamoDB may leave some writes of a
//! request unprocessed (`UnprocessedItems`, when a partition is busy); they are sent again, after
//! a jittered exponential backoff, until all are confirmed or the caller's deadline passes. A
//! request that fails in a way worth retrying (throttling, a 5xx, a timeout) is sent again the same
//! way; any other failure ends the call. Either way the answer says which ids were confirmed and
//! which were not: nothing is reported written that DynamoDB did not confirm.
//!
//! `BatchWriteItem` cannot be conditional, and a put replaces the whole item, so unlike
//! [`crate::store::PermissionStore::put`] a bulk put:
//! - writes the item exactly as given, `version` included: the caller decides the version (the
//!   seed CLI reads the stored versions just before and writes the next one, which is not atomic);
//! - drops attributes other tools keep on an existing item.
//!
//! The items have the store's shape (see `mapping`): `id` (S), `companies` (L of S), `role` (S),
//! `version` (N), `updatedAt` (S) and `updatedBy` (S) when set, and the change history the caller
//! gives (read first with [`DynamoStore::batch_get_stored`], the new entry appended), so that a
//! bulk write is recorded as every other write is, within the limits above: a change another
//! writer makes between the read and the bulk write is overwritten, its history entry with it.
//!
//! # Reads: parallel `Scan`
//!
//! [`DynamoStore::scan_all`] and [`DynamoStore::scan_ids`] read the whole table in `segments`
//! parallel scan segments, each page after page, with strongly consistent reads (so a tool reads
//! what it has just written). The order of the answer is the scan's, not the ids'.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use super::errors::{RETRY_AFTER, store_error};
use super::mapping::{self, COMPANIES, HISTORY, ID, Item, ROLE, UPDATED_AT, UPDATED_BY, VERSION};
use super::{Attributes, DynamoStore};
use crate::domain::{HistoryEntry, UserId, UserPermissions};
use crate::store::StoreError;

/// The most writes one `BatchWriteItem` request may hold (DynamoDB's limit).
pub const BATCH_WRITE_CHUNK: usize = 25;

/// The first pause before writes DynamoDB left unprocessed (or a request that failed for now) are
/// sent again; it doubles each round, up to [`BULK_MAX_BACKOFF`].
const BULK_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between two rounds: long enough for a throttled partition to recover.
const BULK_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A user as a bulk write stores it: the permissions and the change history to keep with them
/// (oldest entry first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkUser {
    /// The user's item, version and `updatedAt`/`updatedBy` included.
    pub user: UserPermissions,
    /// The history stored with it.
    pub history: Vec<HistoryEntry>,
}

/// What a bulk write did. Every id given is in exactly one of `written` and `not_written`.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    /// The ids whose write DynamoDB confirmed.
    pub written: Vec<UserId>,
    /// The ids whose write was not confirmed: still unprocessed when the deadline passed, or in a
    /// request that failed (which may or may not have been applied).
    pub not_written: Vec<UserId>,
    /// Why `not_written` is not empty.
    pub error: Option<StoreError>,
}

/// Why a bulk write gave up on some writes, kept as the source of a [`StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// DynamoDB still left writes unprocessed when the deadline passed.
    // The counts are not in the message, so that the writes of many requests given up on for the
    // same reason can be reported together.
    #[error("DynamoDB still left the writes unprocessed when the deadline passed")]
    Unprocessed {
        /// How many writes were left.
        remaining: usize,
        /// How many requests were sent.
        rounds: u32,
    },
    /// A write in the answer's `UnprocessedItems` has no string `id`: the answer cannot be trusted.
    #[error("DynamoDB returned an unprocessed write without a string `id` key")]
    UnrecognisedWrite,
}

impl DynamoStore {
    /// Puts `users` as they are (version, `updatedAt` and `updatedBy` included) with
    /// `BatchWriteItem`, [`BATCH_WRITE_CHUNK`] at a time, one request after the other; writes
    /// DynamoDB leaves unprocessed are sent again until `deadline` (see the module documentation).
    ///
    /// Ids must be unique within one call: DynamoDB refuses a request that names an item twice.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, users = users.len()))]
    pub async fn batch_put(&self, users: &[BulkUser], deadline: Instant) -> BulkOutcome {
        let mut writes = Vec::with_capacity(users.len());
        for user in users {
            match put_request(user) {
                Ok(write) => writes.push((user.user.id.clone(), write)),
                Err(error) => {
                    return BulkOutcome {
                        written: Vec::new(),
                        not_written: users.iter().map(|u| u.user.id.clone()).collect(),
                        error: Some(error),
                    };
                }
            }
        }
        self.batch_write(writes, deadline).await
    }

    /// The users among `ids` that exist, each with the history stored with it (oldest first), as
    /// a bulk put starts from. Strongly consistent, like [`PermissionStore::batch_get`].
    ///
    /// [`PermissionStore::batch_get`]: crate::store::PermissionStore::batch_get
    pub async fn batch_get_stored(&self, ids: &[UserId]) -> Result<Vec<BulkUser>, StoreError> {
        self.batch_get_items(ids, Attributes::Whole)
            .await?
            .iter()
            .map(|item| {
                let user = mapping::decode(item)?;
                let history = mapping::history_of(&user.id, item)?;
                Ok(BulkUser { user, history })
            })
            .collect()
    }

    /// Every user in the table, read with a parallel scan of `segments` segments (at least 1), in
    /// the scan's order. Deleted users' archived histories are not users and are left out. An item that cannot be read as permissions fails the whole read.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, segments))]
    pub async fn scan_all(&self, segments: u32) -> Result<Vec<UserPermissions>, StoreError> {
        let items = self.scan_segments(segments, false).await?;
        items
            .iter()
            .filter(|item| !mapping::is_archive(item))
            .map(mapping::decode)
            .collect()
    }

    /// Every user id in the table (only the key is read), with a parallel scan as
    /// [`DynamoStore::scan_all`] does. An item whose id is not a valid user id is
    /// [`StoreError::Corrupt`].
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, segments))]
    pub async fn scan_ids(&self, segments: u32) -> Result<Vec<UserId>, StoreError> {
        let items = self.scan_segments(segments, true).await?;
        items
            .iter()
            .filter(|item| !mapping::is_archive(item))
            .map(|item| match item.get(ID) {
                Some(AttributeValue::S(raw)) => {
                    UserId::parse(raw.as_str()).map_err(|e| StoreError::Corrupt {
                        id: raw.clone(),
                        reason: format!("`{ID}` is not a valid user id: {}", e.rule),
                    })
                }
                _ => Err(StoreError::Corrupt {
                    id: "<no id>".to_owned(),
                    reason: format!("`{ID}` is missing or not a string (S)"),
                }),
            })
            .collect()
    }

    /// Scans `segments` segments at once, each on its own task, and gathers their items.
    async fn scan_segments(&self, segments: u32, ids_only: bool) -> Result<Vec<Item>, StoreError> {
        let segments = segments.max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for segment in 0..segments {
            let client = self.client.clone();
            let table = self.table.clone();
            tasks.spawn(scan_segment(client, table, segment, segments, ids_only));
        }
        let mut items = Vec::new();
        // Dropping the set on an early return aborts the segments still running.
        while let Some(joined) = tasks.join_next().await {
            items.extend(joined.map_err(StoreError::internal)??);
        }
        Ok(items)
    }

    /// Sends `writes` in requests of at most [`BATCH_WRITE_CHUNK`], one after the other.
    async fn batch_write(
        &self,
        writes: Vec<(UserId, WriteRequest)>,
        deadline: Instant,
    ) -> BulkOutcome {
        let mut outcome = BulkOutcome::default();
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            let chunk: Vec<_> = writes.by_ref().take(BATCH_WRITE_CHUNK).collect();
            let done = self.write_chunk(chunk, deadline).await;
            outcome.written.extend(done.written);
            outcome.not_written.extend(done.not_written);
            if done.error.is_some() {
                outcome.error = done.error;
            }
        }
        outcome
    }

    /// One `BatchWriteItem` of at most [`BATCH_WRITE_CHUNK`] writes, sending again what DynamoDB
    /// leaves unprocessed, and requests that failed for now, until `deadline`.
    async fn write_chunk(
        &self,
        chunk: Vec<(UserId, WriteRequest)>,
        deadline: Instant,
    ) -> BulkOutcome {
        let (mut ids, mut pending): (Vec<UserId>, Vec<WriteRequest>) = chunk.into_iter().unzip();
        let mut written = Vec::with_capacity(ids.len());
        let mut round = 0;
        loop {
            round += 1;
            let result = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending.clone())
                .send()
                .await;
            let error = match result {
                Ok(out) => {
                    let unprocessed = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&self.table))
                        .unwrap_or_default();
                    let left = match unprocessed_ids(&unprocessed) {
                        Ok(left) => left,
                        Err(error) => return finish(written, ids, Some(error)),
                    };
                    let (still, done): (Vec<UserId>, Vec<UserId>) =
                        ids.into_iter().partition(|id| left.contains(id.as_str()));
                    written.extend(done);
                    ids = still;
                    pending = unprocessed;
                    if ids.is_empty() {
                        return finish(written, ids, None);
                    }
                    tracing::debug!(
                        unprocessed = ids.len(),
                        round,
                        "BatchWriteItem left writes unprocessed"
                    );
                    StoreError::unavailable(
                        BulkError::Unprocessed {
                            remaining: ids.len(),
                            rounds: round,
                        },
                        Some(RETRY_AFTER),
                    )
                }
                // The whole request failed: none of it is confirmed. Sending the same puts and
                // deletes again is safe (they are idempotent), so a failure for now is retried.
                Err(err) => match store_error(err) {
                    error @ StoreError::Unavailable { .. } => error,
                    error => return finish(written, ids, Some(error)),
                },
            };
            let pause = jittered_backoff(round);
            if Instant::now() + pause > deadline {
                return finish(written, ids, Some(error));
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// The outcome of a chunk: what was confirmed, and what was not and why.
fn finish(
    written: Vec<UserId>,
    not_written: Vec<UserId>,
    error: Option<StoreError>,
) -> BulkOutcome {
    BulkOutcome {
        written,
        not_written,
        error,
    }
}

/// The ids of the writes DynamoDB left unprocessed.
fn unprocessed_ids(writes: &[WriteRequest]) -> Result<HashSet<String>, StoreError> {
    writes
        .iter()
        .map(|write| {
            let key = write
                .put_request()
                .map(|put| put.item())
                .or_else(|| write.delete_request().map(|delete| delete.key()));
            match key.and_then(|k| k.get(ID)) {
                Some(AttributeValue::S(id)) => Ok(id.clone()),
                _ => Err(StoreError::internal(BulkError::UnrecognisedWrite)),
            }
        })
        .collect()
}

/// The put of one user's whole item, in the store's shape.
fn put_request(bulk: &BulkUser) -> Result<WriteRequest, StoreError> {
    let user = &bulk.user;
    let mut item = mapping::key(&user.id);
    item.insert(COMPANIES.to_owned(), mapping::companies(&user.companies));
    item.insert(ROLE.to_owned(), mapping::string(user.role.as_str()));
    item.insert(VERSION.to_owned(), mapping::number(user.version));
    if let Some(at) = user.updated_at {
        item.insert(UPDATED_AT.to_owned(), mapping::timestamp(at)?);
    }
    if let Some(by) = &user.updated_by {
        item.insert(UPDATED_BY.to_owned(), mapping::string(by));
    }
    if !bulk.history.is_empty() {
        item.insert(HISTORY.to_owned(), mapping::history_value(&bulk.history)?);
    }
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(StoreError::internal)?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// One segment of a parallel scan, page after page.
async fn scan_segment(
    client: Client,
    table: String,
    segment: u32,
    segments: u32,
    ids_only: bool,
) -> Result<Vec<Item>, StoreError> {
    let segment = i32::try_from(segment).map_err(StoreError::internal)?;
    let segments = i32::try_from(segments).map_err(StoreError::internal)?;
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let mut request = client
            .scan()
            .table_name(&table)
            .consistent_read(true)
            .segment(segment)
            .total_segments(segments)
            .set_exclusive_start_key(start.take());
        if ids_only {
            // A name placeholder, so that the key can never collide with a reserved word.
            request = request
                .projection_expression("#id")
                .expression_attribute_names("#id", ID);
        }
        let out = request.send().await.map_err(store_error)?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key.filter(|key| !key.is_empty()) {
            Some(key) => start = Some(key),
            None => return Ok(items),
        }
    }
}

/// A pause of between half and all of `BULK_BACKOFF * 2^(round - 1)`, capped at
/// [`BULK_MAX_BACKOFF`].
fn jittered_backoff(round: u32) -> Duration {
    let full = BULK_BACKOFF
        .saturating_mul(1 << round.saturating_sub(1).min(16))
        .min(BULK_MAX_BACKOFF);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CompanyId, Role};

    fn user(id: &str) -> UserPermissions {
        UserPermissions {
            id: UserId::parse(id).unwrap(),
            companies: vec![CompanyId::parse("1111").unwrap()],
            role: Role::from_stored("Manager"),
            version: 4,
            updated_at: Some(time::macros::datetime!(2026-01-02 03:04:05.123 UTC)),
            updated_by: Some("seed-cli".into()),
        }
    }

    #[test]
    fn a_bulk_put_writes_the_stores_item_shape() {
        let write = put_request(&BulkUser {
            user: user("u1"),
            history: Vec::new(),
        })
        .unwrap();
        let item = write.put_request().unwrap().item();
        assert_eq!(mapping::decode(item).unwrap(), user("u1"));
        assert_eq!(item.get("version"), Some(&AttributeValue::N("4".into())));
        assert!(matches!(item.get("companies"), Some(AttributeValue::L(_))));
        assert_eq!(item.len(), 6);
    }

    #[test]
    fn unprocessed_writes_are_named_by_their_id() {
        let put = put_request(&BulkUser {
            user: user("u1"),
            history: Vec::new(),
        })
        .unwrap();
        let delete = WriteRequest::builder()
            .delete_request(
                aws_sdk_dynamodb::types::DeleteRequest::builder()
                    .set_key(Some(mapping::key(&UserId::parse("u2").unwrap())))
                    .build()
                    .unwrap(),
            )
            .build();
        let ids = unprocessed_ids(&[put, delete]).unwrap();
        assert_eq!(ids, HashSet::from(["u1".to_owned(), "u2".to_owned()]));
    }

    #[test]
    fn bulk_backoff_grows_and_stays_bounded() {
        assert!(jittered_backoff(1) <= BULK_BACKOFF);
        for round in 1..60 {
            let pause = jittered_backoff(round);
            assert!(pause <= BULK_MAX_BACKOFF, "{pause:?}");
            assert!(pause >= BULK_BACKOFF / 2, "{pause:?}");
        }
        assert!(jittered_backoff(20) >= BULK_MAX_BACKOFF / 2);
    }
}
