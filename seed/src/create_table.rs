//! `create-table`: the DynamoDB table with the reference design's key schema, made idempotently.

use clearance_core::store::dynamodb::DynamoStore;

use crate::cli::{CreateTableArgs, exit};
use crate::error_chain;

/// Runs `create-table`; returns the exit status.
pub async fn run(args: CreateTableArgs) -> u8 {
    let settings = match args
        .dynamo
        .settings(clearance_core::store::dynamodb::args::DynamoDefaults::BULK)
    {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::NOTHING_WRITTEN;
        }
    };
    let store = match DynamoStore::connect(&settings).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            return exit::NOTHING_WRITTEN;
        }
    };
    match store.create_table().await {
        Ok(true) => {
            eprintln!(
                "created table {:?} (key `id`, a string; on-demand billing); it is active",
                settings.table
            );
            exit::OK
        }
        Ok(false) => {
            eprintln!(
                "table {:?} exists already with the expected key (`id`, a string); it is active",
                settings.table
            );
            exit::OK
        }
        Err(err) => {
            eprintln!(
                "error: creating table {:?}: {}",
                settings.table,
                error_chain(&err)
            );
            exit::NOTHING_WRITTEN
        }
    }
}
