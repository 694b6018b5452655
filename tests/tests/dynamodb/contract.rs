//! The store contract every store passes, run against DynamoDB (dynalite).

use super::fresh_dynamo_store;

clearance_core::store_contract_tests!(fresh_dynamo_store());
