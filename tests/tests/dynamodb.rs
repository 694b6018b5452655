//! The DynamoDB store against dynalite, over real HTTP: the store contract, drop-in compatibility
//! with items written in the reference design's shape, batches, failures and timeouts, and table
//! creation. Each test starts its own dynalite and makes its own table.

// A test crate's root resolves `mod x;` beside itself, so the submodules' directory is named.
#[path = "dynamodb/ambiguous.rs"]
mod ambiguous;
#[path = "dynamodb/batch.rs"]
mod batch;
#[path = "dynamodb/contract.rs"]
mod contract;
#[path = "dynamodb/drop_in.rs"]
mod drop_in;
#[path = "dynamodb/failures.rs"]
mod failures;
#[path = "dynamodb/tables.rs"]
mod tables;

use std::time::Duration;

use clearance_core::store::contract::{company, id, perms};
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_tests::dynalite::Dynalite;

/// Settings for a store on dynalite. The timeouts are far above the production defaults so that a
/// busy machine cannot make a test flaky; the failure tests set their own.
fn settings(table: &str) -> DynamoSettings {
    DynamoSettings {
        attempt_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(30),
        ..DynamoSettings::new(table)
    }
}

/// A running dynalite with a fresh table, and a store on that table.
async fn fresh_dynamo_store() -> (Dynalite, DynamoStore) {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let store = DynamoStore::from_client(dynalite.client(), &table, &settings(&table));
    (dynalite, store)
}
