//! Batch reads: more ids than one BatchGetItem takes, and keys DynamoDB leaves unprocessed.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use clearance_core::domain::{CompanyId, MAX_COMPANIES, Permissions, Role, UserId};
use clearance_core::store::{Author, PermissionStore, Precondition};

use super::{fresh_dynamo_store, id, perms};

#[tokio::test]
async fn batch_get_reads_more_ids_than_one_request_takes() {
    let (_dynalite, store) = fresh_dynamo_store().await;
    let mut expected = BTreeSet::new();
    for i in (0..250).step_by(2) {
        let user = id(&format!("user-{i:03}"));
        store
            .put(
                &user,
                &perms(&["1111"], "Standard"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
        expected.insert(user);
    }
    // 250 ids, every other one stored, and a few asked for twice.
    let mut ids: Vec<UserId> = (0..250).map(|i| id(&format!("user-{i:03}"))).collect();
    ids.extend((0..10).map(|i| id(&format!("user-{i:03}"))));

    let found = store.batch_get(&ids).await.unwrap();

    let found_ids: BTreeSet<UserId> = found.iter().map(|u| u.id.clone()).collect();
    assert_eq!(found.len(), expected.len(), "an id was returned twice");
    assert_eq!(found_ids, expected);
}

/// Users with the most companies allowed, long ids: about 70 KB each, so that a batch of them
/// is more than the 1 MB one BatchGetItem answer may hold.
fn largest_permissions() -> Permissions {
    let companies: Vec<CompanyId> = (0..MAX_COMPANIES)
        .map(|i| CompanyId::parse(format!("{i:04}{}", "c".repeat(60))).unwrap())
        .collect();
    Permissions::new(companies, Role::from_stored("Admin")).unwrap()
}

#[tokio::test]
async fn batch_get_asks_again_for_keys_left_unprocessed() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let permissions = largest_permissions();
    let ids: Vec<UserId> = (0..30).map(|i| id(&format!("big-{i:02}"))).collect();
    for user in &ids {
        store
            .put(user, &permissions, Precondition::None, Author::NONE)
            .await
            .unwrap();
    }
    // Arrange check: one raw request really does leave keys unprocessed.
    let keys = KeysAndAttributes::builder()
        .set_keys(Some(
            ids.iter()
                .map(|u| {
                    [("id".to_owned(), AttributeValue::S(u.to_string()))]
                        .into_iter()
                        .collect()
                })
                .collect(),
        ))
        .consistent_read(true)
        .build()
        .unwrap();
    let raw = dynalite
        .client()
        .batch_get_item()
        .request_items(store.table(), keys)
        .send()
        .await
        .unwrap();
    let unprocessed = raw
        .unprocessed_keys
        .and_then(|mut u| u.remove(store.table()))
        .map_or(0, |k| k.keys.len());
    assert!(unprocessed > 0, "dynalite processed every key in one go");

    let found = store.batch_get(&ids).await.unwrap();

    let found_ids: BTreeSet<UserId> = found.into_iter().map(|u| u.id).collect();
    assert_eq!(found_ids, ids.into_iter().collect());
}
