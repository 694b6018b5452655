//! The store contract every store passes, run against DynamoDB (dynalite): once with the default
//! scan bound, and once with a bound so tight that most listing calls stop short of their page.

use super::fresh_dynamo_store;

clearance_core::store_contract_tests!(fresh_dynamo_store());

/// Each listing call reads at most 2 Scan pages of 3 items: short and empty pages, and positions
/// that are not members, all through the same contract.
mod tightly_bounded {
    use clearance_core::store::dynamodb::{DynamoStore, ScanBound};
    use clearance_tests::dynalite::Dynalite;

    async fn fresh() -> (Dynalite, DynamoStore) {
        let (dynalite, store) = super::fresh_dynamo_store().await;
        let store = store.with_scan_bound(ScanBound {
            pages: 2,
            page_items: 3,
        });
        (dynalite, store)
    }

    clearance_core::store_contract_tests!(fresh());
}
