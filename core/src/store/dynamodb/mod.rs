//! The DynamoDB store: the production home of permissions, a drop-in for the reference design's
//! table.
//!
//! # The table
//!
//! One item per user, keyed by `id` (S, the partition key, nothing else), as the reference design
//! lays it out: `{id, companies: [..], role}`, plus Clearance's `version`, `updatedAt` and
//! `updatedBy`. Items written by other tools (no `version`, `companies` as a string set) are read
//! as they are; see `mapping` for the exact rules. All `AttributeValue` handling stays inside this
//! module.
//!
//! # Consistency
//!
//! Every write is a strongly consistent read of the item, the [`Precondition`] checked against it,
//! then one conditional `UpdateItem` (or `DeleteItem`) pinned to the version that was read, so a
//! lost race can never overwrite another writer's change (an unconditional write that loses a race
//! reads again and retries). Writes set `version` to the read version + 1, so even an item
//! another tool created gets a version. `UpdateItem` only touches Clearance's attributes: anything
//! else another tool keeps on the item survives. Reads are strongly consistent, so a client reads
//! its own writes.
//!
//! # Writes that are never misreported
//!
//! An attempt can commit and still fail for the client (its answer times out or the connection
//! drops), and the SDK then sends it again. Retried as it is, a conditional write would fail its
//! own condition and be answered 412 or 404 although it happened. So every write carries a random
//! `lastWriteId`, and an interceptor counts the attempts the SDK made. When a condition fails
//! after more than one attempt, the item is read: if it carries this write's id, the write
//! happened and is answered as a success (with the `before` read first); a delete that finds the
//! item gone after a retried attempt is answered as deleted. A condition failing on the first
//! attempt is a genuine precondition failure. The one case left open is answered 503 (the outcome
//! cannot be told, read again): a retried write whose item was changed again by someone else before
//! the check, so neither this write's id nor its version is on the item.
//!
//! # Listing a company's users: a bounded scan
//!
//! The reference table has no index by company, so [`PermissionStore::list_by_company`] is a
//! strongly consistent `Scan` filtered on `contains(companies, :company)`. DynamoDB bills a scan
//! for every item it reads, not for the few that match, so a complete listing of one company reads
//! the whole table once. So that no single call does that, one call reads at most
//! [`ScanBound::pages`] Scan pages of at most [`ScanBound::page_items`] items each (DynamoDB also
//! ends a page at 1 MB): by default 4 pages of 1,000 items, so at most 4,000 items and 4 MB (1,024
//! read capacity units) per call, and at most 4 times the total timeout. When the bound is reached
//! before `limit` members are found, the page is short, possibly empty, and its position is the key
//! of the last item the scan read (most likely not a member), so the next call goes on exactly
//! there. When `limit` members are found in the middle of a Scan page, the position is the last
//! member's key and the next call reads the rest of that page again. Pages follow the scan's
//! order, which is stable. A table of millions of users, or a busy caller, needs an index by
//! company (a later change): the bound caps each call's cost, not a listing's.
//!
//! # Failures, retries and timeouts
//!
//! The SDK retries in its standard mode (exponential backoff with jitter) up to
//! [`DynamoSettings::max_attempts`] attempts, each bounded by
//! [`DynamoSettings::attempt_timeout`], the whole call by [`DynamoSettings::total_timeout`].
//! Throttling, 5xx, timeouts and connection failures become [`StoreError::Unavailable`] (retry in a
//! second), anything else [`StoreError::Internal`]; the SDK error is kept as the source, never
//! turned into text a client could see.
//!
//! # Readiness
//!
//! [`PermissionStore::ready`] is a `DescribeTable`. Its answer is remembered (a success for 5 s, a
//! failure for 1 s) so that a load balancer probing `/readyz` hard does not turn into as many calls
//! to DynamoDB.

#[cfg(feature = "cli")]
pub mod args;
mod bulk;
mod errors;
mod mapping;

pub use bulk::{BATCH_WRITE_CHUNK, BulkError, BulkOutcome, BulkUser};
pub use errors::DynamoError;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Region;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    ScalarAttributeType, TableDescription, TableStatus,
};

use self::errors::{RETRY_AFTER, store_error};
use self::mapping::{
    COMPANIES, HISTORY, ID, Item, LAST_WRITE_ID, PENDING_DELETE, ROLE, UPDATED_AT, UPDATED_BY,
    VERSION,
};
use super::{
    Delete, Listing, Page, PermissionStore, Precondition, Put, StoreError, WriteOutcome,
    check_version, next_history, next_record, readable_history,
};
use crate::domain::history::expires_at;
use crate::domain::{HistoryEntry, UserId, UserPermissions};

/// The most keys one `BatchGetItem` request may ask for (DynamoDB's limit).
const BATCH_GET_CHUNK: usize = 100;
/// The first pause before asking again for keys `BatchGetItem` left unprocessed; it doubles on
/// each round, up to [`UNPROCESSED_MAX_BACKOFF`].
const UNPROCESSED_BACKOFF: Duration = Duration::from_millis(20);
/// The longest pause between rounds of unprocessed keys.
const UNPROCESSED_MAX_BACKOFF: Duration = Duration::from_millis(400);
/// The SDK's first retry waits up to this long; later ones up to twice as long each time. Far
/// below the SDK's 1 s default, which alone would use up most of the default total timeout.
const SDK_INITIAL_BACKOFF: Duration = Duration::from_millis(50);
/// The longest the SDK waits between two attempts.
const SDK_MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How often [`DynamoStore::create_table`] asks whether the table is active yet.
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a successful readiness check is remembered.
const READY_TTL: Duration = Duration::from_secs(5);
/// How long a failed readiness check is remembered.
const NOT_READY_TTL: Duration = Duration::from_secs(1);

/// How long [`DynamoStore::create_table`] waits for a table to become active.
pub const CREATE_TABLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the table is and how hard to try, read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoSettings {
    /// The table's name.
    pub table: String,
    /// The AWS region; `None` takes it from the SDK's default chain (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// Another endpoint than AWS's, e.g. a local DynamoDB-compatible server for development.
    pub endpoint_url: Option<String>,
    /// How many times one call is tried in all, including the first (at least 1).
    pub max_attempts: u32,
    /// How long one attempt (connect, send, receive) may take.
    pub attempt_timeout: Duration,
    /// How long one call may take in all, retries and backoff included.
    pub total_timeout: Duration,
}

impl DynamoSettings {
    /// Tries per call unless configured: the first attempt and two retries.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    /// Time for one attempt unless configured: DynamoDB answers in single-digit milliseconds, so
    /// an attempt this slow is better retried.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);
    /// Time for one call unless configured: well inside API Gateway's and the Lambda's limits.
    pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_millis(1_500);

    /// Settings for `table`, with the region and credentials from the environment and the
    /// default retries and timeouts.
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            region: None,
            endpoint_url: None,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            attempt_timeout: Self::DEFAULT_ATTEMPT_TIMEOUT,
            total_timeout: Self::DEFAULT_TOTAL_TIMEOUT,
        }
    }

    /// The SDK retry configuration these settings ask for: standard mode, `max_attempts`, and a
    /// backoff short enough to fit a few attempts into `total_timeout`.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(SDK_INITIAL_BACKOFF)
            .with_max_backoff(SDK_MAX_BACKOFF)
    }

    /// The SDK timeout configuration these settings ask for. Connecting counts against the
    /// attempt's time, so an unreachable endpoint is retried as quickly as a slow one.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.attempt_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.total_timeout)
            .build()
    }
}

/// What a read of users' items asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attributes {
    /// The permissions alone ([`mapping::READ_PROJECTION`]): what a read for a caller needs.
    Permissions,
    /// The whole item, history included: what a write starts from.
    Whole,
}

/// How much of the table one [`PermissionStore::list_by_company`] call may read (see "Listing a
/// company's users" above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanBound {
    /// The most Scan requests one call makes (at least 1).
    pub pages: u32,
    /// The most items one Scan request reads, its `Limit` (at least 1). DynamoDB ends a page
    /// at 1 MB whatever this says.
    pub page_items: u32,
}

impl ScanBound {
    /// Scan requests per listing call unless configured.
    pub const DEFAULT_PAGES: u32 = 4;
    /// Items per Scan request unless configured: as many as the largest listing page, so a
    /// company whose users fill the table still gets full pages.
    pub const DEFAULT_PAGE_ITEMS: u32 = super::MAX_PAGE_SIZE as u32;

    /// The most items one call reads: `pages * page_items`.
    pub fn max_items(&self) -> u64 {
        u64::from(self.pages.max(1)) * u64::from(self.page_items.max(1))
    }
}

impl Default for ScanBound {
    fn default() -> Self {
        Self {
            pages: Self::DEFAULT_PAGES,
            page_items: Self::DEFAULT_PAGE_ITEMS,
        }
    }
}

/// Permissions in a DynamoDB table.
pub struct DynamoStore {
    client: Client,
    table: String,
    /// How much of the table one listing call may read.
    scan_bound: ScanBound,
    /// The deadline for a whole `batch_get`, which may take several requests.
    total_timeout: Duration,
    /// The last readiness check and when it was made. A std `Mutex`: it is only held to copy the
    /// answer in or out, never across an `.await`.
    last_ready: Mutex<Option<(Instant, Result<(), StoreError>)>>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// Builds a client from the SDK's default chains (credentials from the environment, a
    /// profile, or the Lambda's role; the region unless `settings` names one) with the settings'
    /// endpoint, retries and timeouts. Nothing is sent yet: call [`PermissionStore::ready`] to
    /// check the table can be reached.
    pub async fn connect(settings: &DynamoSettings) -> Result<Self, DynamoError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(settings.retry_config())
            .timeout_config(settings.timeout_config());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(DynamoError::NoRegion);
        }
        Ok(Self::new(
            Client::new(&config),
            settings.table.clone(),
            settings,
        ))
    }

    /// Uses an existing client (its region, endpoint and credentials) for `table`, with the
    /// retries and timeouts of `settings`; the table, region and endpoint in `settings` are not
    /// used.
    pub fn from_client(
        client: Client,
        table: impl Into<String>,
        settings: &DynamoSettings,
    ) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(settings.retry_config())
            .timeout_config(settings.timeout_config())
            .build();
        Self::new(Client::from_conf(config), table.into(), settings)
    }

    fn new(client: Client, table: String, settings: &DynamoSettings) -> Self {
        Self {
            client,
            table,
            scan_bound: ScanBound::default(),
            total_timeout: settings.total_timeout,
            last_ready: Mutex::new(None),
        }
    }

    /// Bounds each listing call's scan by `bound` instead of [`ScanBound::default`] (a 0 counts
    /// as 1).
    pub fn with_scan_bound(mut self, bound: ScanBound) -> Self {
        self.scan_bound = ScanBound {
            pages: bound.pages.max(1),
            page_items: bound.page_items.max(1),
        };
        self
    }

    /// How much of the table one listing call may read.
    pub fn scan_bound(&self) -> ScanBound {
        self.scan_bound
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with the reference design's key schema (`id`, a string, as the partition
    /// key) and on-demand billing, unless it exists, then waits (up to [`CREATE_TABLE_TIMEOUT`])
    /// until it is active. Returns whether it created the table.
    ///
    /// A table that exists with another key schema is an error: the store cannot work with it.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let request = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(ID)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(StoreError::internal)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(ID)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(StoreError::internal)?,
            )
            .billing_mode(BillingMode::PayPerRequest);
        let created = match request.send().await {
            Ok(_) => true,
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) =>
            {
                false
            }
            Err(err) => return Err(store_error(err)),
        };
        self.wait_until_active().await?;
        Ok(created)
    }

    /// Polls `DescribeTable` until the table is active. (The SDK's waiter would not do: it waits
    /// at least 20 s between polls.)
    async fn wait_until_active(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + CREATE_TABLE_TIMEOUT;
        loop {
            let status = match self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
            {
                Ok(out) => match out.table {
                    Some(table) if !has_reference_key(&table) => {
                        return Err(StoreError::internal(DynamoError::WrongKeySchema {
                            table: self.table.clone(),
                        }));
                    }
                    Some(table) => table.table_status,
                    None => None,
                },
                // Right after CreateTable, a new table may not be visible yet.
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(DescribeTableError::ResourceNotFoundException(_))
                    ) =>
                {
                    None
                }
                Err(err) => return Err(store_error(err)),
            };
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StoreError::unavailable(
                    DynamoError::TableNotActive {
                        table: self.table.clone(),
                        status: status.map_or_else(|| "missing".to_owned(), |s| s.to_string()),
                    },
                    Some(RETRY_AFTER),
                ));
            }
            tokio::time::sleep(TABLE_POLL_INTERVAL).await;
        }
    }

    /// Asks DynamoDB whether the table can serve requests: it is active and keyed by `id` alone
    /// (a table keyed otherwise will never serve, so that is not a passing state).
    async fn check_table(&self) -> Result<(), StoreError> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(store_error)?;
        if out.table.as_ref().is_some_and(|t| !has_reference_key(t)) {
            return Err(StoreError::internal(DynamoError::WrongKeySchema {
                table: self.table.clone(),
            }));
        }
        let status = out.table.and_then(|t| t.table_status);
        match status {
            // An UPDATING table (e.g. changing its billing) serves reads and writes as usual.
            Some(TableStatus::Active | TableStatus::Updating) => Ok(()),
            other => Err(StoreError::unavailable(
                DynamoError::TableNotActive {
                    table: self.table.clone(),
                    status: other.map_or_else(|| "missing".to_owned(), |s| s.to_string()),
                },
                Some(RETRY_AFTER),
            )),
        }
    }

    /// The user's item, read strongly consistently.
    async fn read_item(&self, id: &UserId) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(mapping::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item.filter(|item| !item.is_empty()))
    }

    /// The loop every write runs: read the item strongly consistently, then let `round` check the
    /// precondition and make its conditional write(s). When the condition fails because another
    /// writer got there between the read and the write ([`Round::Lost`]), a precondition the
    /// caller set is decided by what that writer left; without one the write reads again and
    /// tries again, up to [`WRITE_ROUNDS`] times, with a jittered backoff.
    async fn write_rounds<'a, T>(
        &self,
        id: &UserId,
        precondition: Precondition,
        mut round: impl FnMut(Option<Item>) -> RoundFuture<'a, T>,
    ) -> Result<T, StoreError> {
        for n in 1..=WRITE_ROUNDS {
            let item = self.read_item(id).await?;
            let now_version = match round(item).await? {
                Round::Done(done) => return Ok(done),
                Round::Lost { now_version } => now_version,
            };
            if precondition != Precondition::None || n == WRITE_ROUNDS {
                check_version(precondition, now_version)?;
                if n == WRITE_ROUNDS {
                    return Err(StoreError::Conflict {
                        current: now_version,
                    });
                }
            }
            tracing::debug!(round = n, "a write lost a race; reading again");
            tokio::time::sleep(jittered_backoff(n)).await;
        }
        unreachable!("the last round returns")
    }

    /// Marks the item as being deleted by the delete `write_id`, if it still has `version`;
    /// `false` if it does not (another writer got there first).
    async fn mark_for_delete(
        &self,
        id: &UserId,
        version: u64,
        write_id: &str,
    ) -> Result<bool, StoreError> {
        let mut p = Placeholders::default();
        let update = format!(
            "SET {} = {}",
            p.name(PENDING_DELETE),
            p.value("writeId", mapping::string(write_id))
        );
        let condition = condition(Precondition::Version(version), &mut p);
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(mapping::key(id)))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(p.names())
            .set_expression_attribute_values(p.values())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(err)),
        }
    }

    /// The items of the users among `ids` that exist (with the `attributes` asked for), with
    /// `BatchGetItem` in chunks of 100 keys (so more ids than [`super::MAX_BATCH_GET`] work too),
    /// unprocessed keys asked for again until the total timeout. An id given twice is looked up,
    /// and returned, once.
    async fn batch_get_items(
        &self,
        ids: &[UserId],
        attributes: Attributes,
    ) -> Result<Vec<Item>, StoreError> {
        // DynamoDB refuses a request that names one key twice.
        let mut seen = BTreeSet::new();
        let unique: Vec<&UserId> = ids.iter().filter(|id| seen.insert(*id)).collect();
        let deadline = Instant::now() + self.total_timeout;
        let mut found = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_CHUNK) {
            self.batch_get_chunk(chunk, attributes, deadline, &mut found)
                .await?;
        }
        Ok(found)
    }

    /// One `BatchGetItem` of at most [`BATCH_GET_CHUNK`] ids, asking again (with backoff) for
    /// the keys DynamoDB leaves unprocessed until `deadline`.
    async fn batch_get_chunk(
        &self,
        ids: &[&UserId],
        attributes: Attributes,
        deadline: Instant,
        found: &mut Vec<Item>,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<Item> = ids.iter().map(|id| mapping::key(id)).collect();
        let mut round = 0;
        loop {
            let request = match attributes {
                Attributes::Permissions => KeysAndAttributes::builder()
                    .projection_expression(mapping::READ_PROJECTION)
                    .set_expression_attribute_names(Some(mapping::read_names())),
                Attributes::Whole => KeysAndAttributes::builder(),
            };
            let request = request
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(StoreError::internal)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(store_error)?;
            let items = out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            found.extend(items);
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                return Ok(());
            }
            round += 1;
            let pause = jittered_backoff(round);
            if Instant::now() + pause > deadline {
                return Err(StoreError::unavailable(
                    DynamoError::UnprocessedKeys {
                        remaining: keys.len(),
                    },
                    Some(RETRY_AFTER),
                ));
            }
            tracing::debug!(
                remaining = keys.len(),
                round,
                "BatchGetItem left keys unprocessed; asking again"
            );
            tokio::time::sleep(pause).await;
        }
    }
}

#[async_trait]
impl PermissionStore for DynamoStore {
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, user_id = %id))]
    async fn get(&self, id: &UserId) -> Result<Option<UserPermissions>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(mapping::key(id)))
            .projection_expression(mapping::READ_PROJECTION)
            .set_expression_attribute_names(Some(mapping::read_names()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        out.item.as_ref().map(mapping::decode).transpose()
    }

    /// A consistent read of the item, then one `UpdateItem` pinned to the version read that sets
    /// the permissions and the history together (see "Consistency" and "Writes that are never
    /// misreported"). If the item it replaced cannot be read as permissions, the write has still
    /// been made (the item is repaired) but the answer is [`StoreError::Corrupt`], since there is no
    /// `before` to report.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, user_id = %put.id))]
    async fn apply_put(&self, put: Put<'_>) -> Result<WriteOutcome, StoreError> {
        let (id, permissions, author) = (put.id, put.permissions, put.author);
        let precondition = put.precondition;
        let write_id = new_write_id();
        let write_id = &write_id;
        self.write_rounds(id, precondition, move |item| Box::pin(async move {
            let read_version = version_in(id, item.as_ref())?;
            check_version(precondition, read_version)?;
            let before = item.as_ref().map(mapping::decode).transpose();
            let stored_history = match &item {
                Some(item) => mapping::history_of(id, item)?,
                None => Vec::new(),
            };
            let at = super::now();
            let next_version = read_version.map_or(1, |v| v + 1);
            let before_user = before.as_ref().ok().and_then(Option::as_ref);
            let mut after = next_record(id, permissions, before_user, author.actor);
            after.version = next_version;
            after.updated_at = Some(at);
            let history = next_history(
                stored_history,
                before_user,
                Some(&after),
                author,
                at,
            );
            let mut p = Placeholders::default();
            let mut update = format!(
                "SET {} = {}, {} = {}, {} = {}, {} = {}, {} = {}, {} = {}",
                p.name(COMPANIES),
                p.value("companies", mapping::companies(&permissions.companies)),
                p.name(ROLE),
                p.value("role", mapping::string(permissions.role.as_str())),
                p.name(UPDATED_AT),
                p.value("updatedAt", mapping::timestamp(at)?),
                p.name(VERSION),
                p.value("next", mapping::number(next_version)),
                p.name(LAST_WRITE_ID),
                p.value("writeId", mapping::string(write_id)),
                p.name(HISTORY),
                p.value("history", mapping::history_value(&history)?),
            );
            if let Some(actor) = author.actor {
                update.push_str(&format!(
                    ", {} = {}",
                    p.name(UPDATED_BY),
                    p.value("updatedBy", mapping::string(actor))
                ));
            }
            // A delete that marked the item and has not deleted it yet loses to this write.
            update.push_str(&format!(" REMOVE {}", p.name(PENDING_DELETE)));
            if author.actor.is_none() {
                update.push_str(&format!(", {}", p.name(UPDATED_BY)));
            }
            let pinned = match read_version {
                None => Precondition::MustNotExist,
                Some(v) => Precondition::Version(v),
            };
            let condition = condition(pinned, &mut p);
            let attempts = Attempts::default();
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(mapping::key(id)))
                .update_expression(update)
                .set_condition_expression(condition)
                .set_expression_attribute_names(p.names())
                .set_expression_attribute_values(p.values())
                .customize()
                .interceptor(attempts.clone())
                .send()
                .await;
            let outcome = || {
                let before = before.clone().inspect_err(|err| {
                    tracing::warn!(
                        error = %err,
                        "replaced a malformed item; the write was made but the old item is not reported"
                    );
                })?;
                Ok(Round::Done(WriteOutcome {
                    before,
                    after: after.clone(),
                }))
            };
            match result {
                Ok(_) => outcome(),
                Err(err) => {
                    let Some(UpdateItemError::ConditionalCheckFailedException(_)) =
                        err.as_service_error()
                    else {
                        return Err(store_error(err));
                    };
                    let now = self.read_item(id).await?;
                    let now_version = version_in(id, now.as_ref())?;
                    if attempts.retried() {
                        if now.as_ref().is_some_and(|item| is_write(item, write_id)) {
                            tracing::info!(
                                attempts = attempts.count(),
                                "a retried write had already been applied: answered as applied"
                            );
                            return outcome();
                        }
                        if now_version.is_some_and(|v| v > next_version) {
                            return Err(outcome_unknown());
                        }
                    }
                    Ok(Round::Lost { now_version })
                }
            }
        }))
        .await
    }

    /// Three steps, so that a deleted user's history is kept without transactions: mark the item
    /// with this delete's id (an `UpdateItem` pinned to the version read), archive its history
    /// with the deletion appended (a `PutItem` of the archive item), then a `DeleteItem` only if
    /// the mark is still there. A write in between removes the mark, so the delete then loses the
    /// race as it would have with one step; an archive whose delete did not happen is never read,
    /// since the archive is only read while the user does not exist, and every delete writes its
    /// own before deleting. A malformed item is deleted all the same, but the answer is
    /// [`StoreError::Corrupt`], since it cannot be returned.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, user_id = %delete.id))]
    async fn apply_delete(&self, delete: Delete<'_>) -> Result<UserPermissions, StoreError> {
        let (id, precondition, author) = (delete.id, delete.precondition, delete.author);
        let write_id = new_write_id();
        let write_id = &write_id;
        self.write_rounds(id, precondition, move |item| {
            Box::pin(async move {
                let Some(item) = item else {
                    return Err(match precondition {
                        Precondition::None | Precondition::MustExist => StoreError::NotFound,
                        // No delete can meet "must not exist"; a version needs an item.
                        _ => StoreError::Conflict { current: None },
                    });
                };
                let read_version = mapping::version_of(id.as_str(), &item)?;
                if precondition == Precondition::MustNotExist {
                    return Err(StoreError::Conflict {
                        current: Some(read_version),
                    });
                }
                check_version(precondition, Some(read_version))?;
                let before = mapping::decode(&item);
                if !self.mark_for_delete(id, read_version, write_id).await? {
                    let now = self.read_item(id).await?;
                    return lost_delete(id, now.as_ref());
                }
                let at = super::now();
                let history = next_history(
                    mapping::history_of(id, &item)?,
                    before.as_ref().ok(),
                    None,
                    author,
                    at,
                );
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(mapping::archive(id, &history, expires_at(at))?))
                    .send()
                    .await
                    .map_err(store_error)?;
                let mut p = Placeholders::default();
                let condition = format!(
                    "{} = {}",
                    p.name(PENDING_DELETE),
                    p.value("writeId", mapping::string(write_id))
                );
                let attempts = Attempts::default();
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(mapping::key(id)))
                    .condition_expression(condition)
                    .set_expression_attribute_names(p.names())
                    .set_expression_attribute_values(p.values())
                    .customize()
                    .interceptor(attempts.clone())
                    .send()
                    .await;
                match result {
                    Ok(_) => before.map(Round::Done),
                    Err(err) => {
                        let Some(DeleteItemError::ConditionalCheckFailedException(_)) =
                            err.as_service_error()
                        else {
                            return Err(store_error(err));
                        };
                        let now = self.read_item(id).await?;
                        if attempts.retried() {
                            if now.is_none() {
                                // An earlier attempt deleted it; its answer was lost.
                                tracing::info!(
                                    attempts = attempts.count(),
                                    "a retried delete had already been applied: answered as applied"
                                );
                                return before.map(Round::Done);
                            }
                            return Err(outcome_unknown());
                        }
                        lost_delete(id, now.as_ref())
                    }
                }
            })
        })
        .await
    }

    /// The history kept on the user's item; for a user who does not exist, the archive a delete
    /// left (until it expires). Read strongly consistently.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, user_id = %id))]
    async fn history(&self, id: &UserId) -> Result<Vec<HistoryEntry>, StoreError> {
        let stored = match self.read_item(id).await? {
            Some(item) => mapping::history_of(id, &item)?,
            None => {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(mapping::archive_key(id)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(store_error)?;
                match out.item.filter(|item| !item.is_empty()) {
                    Some(archive) => mapping::history_of(id, &archive)?,
                    None => Vec::new(),
                }
            }
        };
        Ok(readable_history(stored, super::now()))
    }

    /// A filtered `Scan`, page after page, until `limit` users are found, the table ends or the
    /// [`ScanBound`] is reached (see the module documentation). The span records how many items
    /// were read (`scanned`) in how many requests (`scans`): what the call cost.
    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(table = %self.table, company = %listing.company, scanned, scans)
    )]
    async fn list_page(&self, listing: Listing<'_>) -> Result<Page, StoreError> {
        let (company, limit, after) = (listing.company, listing.limit, listing.after);
        let mut users = Vec::new();
        if limit == 0 {
            return Ok(Page { users, next: None });
        }
        let span = tracing::Span::current();
        let page_items = i32::try_from(self.scan_bound.page_items.max(1)).unwrap_or(i32::MAX);
        let mut start = after.cloned();
        let mut scanned: u64 = 0;
        for scans in 1..=self.scan_bound.pages.max(1) {
            let mut p = Placeholders::default();
            let filter = format!(
                "contains({}, {})",
                p.name(COMPANIES),
                p.value("company", mapping::string(company.as_str()))
            );
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .set_expression_attribute_names(p.names())
                .set_expression_attribute_values(p.values())
                .consistent_read(true)
                .limit(page_items)
                .set_exclusive_start_key(start.as_ref().map(mapping::position_key))
                .send()
                .await
                .map_err(store_error)?;
            scanned += u64::try_from(out.scanned_count).unwrap_or(0);
            span.record("scanned", scanned);
            span.record("scans", scans);
            // The filter has been applied: every item returned is a member.
            let mut items = out.items.unwrap_or_default().into_iter();
            for item in items.by_ref() {
                users.push(mapping::decode(&item)?);
                if users.len() == limit {
                    break;
                }
            }
            let last_read = out
                .last_evaluated_key
                .as_ref()
                .map(mapping::position)
                .transpose()?;
            if users.len() == limit && !items.as_slice().is_empty() {
                // Full in the middle of a Scan page: go on after the last member returned, so
                // the rest of this page is read again next time.
                let next = users.last().map(|u| super::Position::after(&u.id));
                return Ok(Page { users, next });
            }
            match last_read {
                // The scan has read the whole table.
                None => return Ok(Page { users, next: None }),
                Some(position) if users.len() == limit => {
                    return Ok(Page {
                        users,
                        next: Some(position),
                    });
                }
                Some(position) => start = Some(position),
            }
        }
        // The bound is reached: go on after the last item read, member or not.
        Ok(Page { users, next: start })
    }

    /// `BatchGetItem` in chunks of 100 keys (so more ids than [`super::MAX_BATCH_GET`] work too),
    /// with unprocessed keys asked for again until the total timeout. An id given twice is looked
    /// up, and returned, once.
    #[tracing::instrument(level = "debug", skip_all, fields(table = %self.table, ids = ids.len()))]
    async fn batch_get(&self, ids: &[UserId]) -> Result<Vec<UserPermissions>, StoreError> {
        self.batch_get_items(ids, Attributes::Permissions)
            .await?
            .iter()
            .map(mapping::decode)
            .collect()
    }

    /// A `DescribeTable`, remembered for a few seconds (see the module documentation).
    async fn ready(&self) -> Result<(), StoreError> {
        if let Some((checked, result)) = &*lock(&self.last_ready) {
            let ttl = if result.is_ok() {
                READY_TTL
            } else {
                NOT_READY_TTL
            };
            if checked.elapsed() < ttl {
                return result.clone();
            }
        }
        let result = self.check_table().await;
        *lock(&self.last_ready) = Some((Instant::now(), result.clone()));
        result
    }

    fn label(&self) -> &'static str {
        "dynamodb"
    }
}

/// One round of a write, as [`DynamoStore::write_rounds`] runs it.
type RoundFuture<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<Round<T>, StoreError>> + Send + 'a>>;

/// What one round of a write came to.
enum Round<T> {
    /// The write was made (or found made): its answer.
    Done(T),
    /// Another writer changed the item between the read and the write; `now_version` is what it
    /// left (`None`: no item).
    Lost { now_version: Option<u64> },
}

/// A delete that lost a race: a user deleted meanwhile is not found, whatever the precondition.
fn lost_delete<T>(id: &UserId, now: Option<&Item>) -> Result<Round<T>, StoreError> {
    match now {
        None => Err(StoreError::NotFound),
        Some(item) => Ok(Round::Lost {
            now_version: Some(mapping::version_of(id.as_str(), item)?),
        }),
    }
}

/// How many times a write without a precondition reads again and retries after losing a race to
/// another writer before it gives up with a conflict.
const WRITE_ROUNDS: u32 = 10;

/// A random id for one write (128 bits, hex): unique enough to tell this write from any other.
fn new_write_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The version of `item`, if there is one (`None`: no item).
fn version_in(id: &UserId, item: Option<&Item>) -> Result<Option<u64>, StoreError> {
    item.map(|item| mapping::version_of(id.as_str(), item))
        .transpose()
}

/// Whether `item` was last written by the write `write_id`.
fn is_write(item: &Item, write_id: &str) -> bool {
    matches!(item.get(LAST_WRITE_ID), Some(AttributeValue::S(id)) if id == write_id)
}

/// A retried write whose outcome cannot be told (see "Writes that are never misreported").
fn outcome_unknown() -> StoreError {
    StoreError::unavailable(DynamoError::OutcomeUnknown, Some(RETRY_AFTER))
}

/// Counts the attempts the SDK makes for one call: more than one means an earlier attempt may
/// have committed although its answer was lost.
#[derive(Debug, Clone, Default)]
struct Attempts(Arc<AtomicU32>);

impl Attempts {
    fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    fn retried(&self) -> bool {
        self.count() > 1
    }
}

impl aws_sdk_dynamodb::config::Intercept for Attempts {
    fn name(&self) -> &'static str {
        "ClearanceAttemptCounter"
    }

    fn read_before_attempt(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded value is replaced whole, so a poisoned lock holds nothing half-written.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The condition expression for `precondition`, if it has one.
fn condition(precondition: Precondition, p: &mut Placeholders) -> Option<String> {
    match precondition {
        Precondition::None => None,
        Precondition::MustNotExist => Some(format!("attribute_not_exists({})", p.name(ID))),
        Precondition::MustExist => Some(format!("attribute_exists({})", p.name(ID))),
        // An item without a version (written by another tool) is version 0.
        Precondition::Version(0) => {
            let id = p.name(ID);
            let version = p.name(VERSION);
            let expected = p.value("expected", mapping::number(0));
            Some(format!(
                "attribute_exists({id}) AND (attribute_not_exists({version}) OR {version} = {expected})"
            ))
        }
        // Only an existing item has a version to compare.
        Precondition::Version(v) => Some(format!(
            "{} = {}",
            p.name(VERSION),
            p.value("expected", mapping::number(v))
        )),
    }
}

/// The expression attribute names and values one request uses. Every attribute goes through a
/// name placeholder, so none can collide with DynamoDB's reserved words; and since DynamoDB
/// refuses placeholders a request does not use, only those asked for are sent.
#[derive(Default)]
struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Placeholders {
    /// The placeholder (`#name`) for attribute `name`.
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// The placeholder (`:label`) for `value`.
    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn names(&mut self) -> Option<HashMap<String, String>> {
        Some(std::mem::take(&mut self.names)).filter(|n| !n.is_empty())
    }

    fn values(&mut self) -> Option<HashMap<String, AttributeValue>> {
        Some(std::mem::take(&mut self.values)).filter(|v| !v.is_empty())
    }
}

/// Whether the table is keyed by `id` (a string) alone, as the store needs.
fn has_reference_key(table: &TableDescription) -> bool {
    let keys = table.key_schema();
    let id_is_string = table
        .attribute_definitions()
        .iter()
        .any(|a| a.attribute_name() == ID && a.attribute_type() == &ScalarAttributeType::S);
    keys.len() == 1
        && keys[0].attribute_name() == ID
        && keys[0].key_type() == &KeyType::Hash
        && id_is_string
}

/// A pause of between half and all of `UNPROCESSED_BACKOFF * 2^(round - 1)`, capped.
fn jittered_backoff(round: u32) -> Duration {
    let full = UNPROCESSED_BACKOFF
        .saturating_mul(1 << round.saturating_sub(1).min(10))
        .min(UNPROCESSED_MAX_BACKOFF);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_are_three_attempts_in_a_second_and_a_half() {
        let settings = DynamoSettings::new("permissions");
        assert_eq!(settings.max_attempts, 3);
        let timeouts = settings.timeout_config();
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_millis(300))
        );
        assert_eq!(
            timeouts.operation_timeout(),
            Some(Duration::from_millis(1_500))
        );
        assert_eq!(settings.retry_config().max_attempts(), 3);
    }

    #[test]
    fn zero_attempts_still_make_one() {
        let settings = DynamoSettings {
            max_attempts: 0,
            ..DynamoSettings::new("t")
        };
        assert_eq!(settings.retry_config().max_attempts(), 1);
    }

    #[test]
    fn a_version_zero_condition_accepts_an_item_without_a_version() {
        let mut p = Placeholders::default();
        let expr = condition(Precondition::Version(0), &mut p).unwrap();
        assert!(expr.contains("attribute_not_exists(#version)"), "{expr}");
        assert!(expr.contains("attribute_exists(#id)"), "{expr}");
        assert_eq!(p.names().unwrap().len(), 2);
        assert_eq!(p.values().unwrap().len(), 1);
    }

    #[test]
    fn no_precondition_sends_no_placeholders() {
        let mut p = Placeholders::default();
        assert_eq!(condition(Precondition::None, &mut p), None);
        assert_eq!(p.names(), None);
        assert_eq!(p.values(), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for round in 1..40 {
            let pause = jittered_backoff(round);
            assert!(pause <= UNPROCESSED_MAX_BACKOFF, "{pause:?}");
            assert!(pause >= UNPROCESSED_BACKOFF / 2, "{pause:?}");
        }
    }
}
