//! Clearance takes over a table the reference design's tools wrote: items `{id, companies, role}`
//! with no version, put here with the SDK exactly as those tools put them.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use clearance_core::store::dynamodb::DynamoStore;
use clearance_core::store::ops::{self, PermissionsPatch};
use clearance_core::store::{Author, PermissionStore, Precondition, StoreError, WriteOutcome};

use super::{company, fresh_dynamo_store, id, perms};

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// An item in the reference design's exact shape: companies as a list of strings, no version.
fn reference_item(user: &str, companies: &[&str], role: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("id".to_owned(), s(user)),
        (
            "companies".to_owned(),
            AttributeValue::L(companies.iter().map(|c| s(c)).collect()),
        ),
        ("role".to_owned(), s(role)),
    ])
}

async fn put_raw(client: &Client, table: &str, item: HashMap<String, AttributeValue>) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("raw put");
}

async fn get_raw(client: &Client, table: &str, user: &str) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("id", s(user))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get")
        .item
        .expect("item exists")
}

#[tokio::test]
async fn a_reference_item_is_read_as_version_zero() {
    let (dynalite, store) = fresh_dynamo_store().await;
    put_raw(
        &dynalite.client(),
        store.table(),
        reference_item("ref-1", &["1111", "2222"], "Manager"),
    )
    .await;

    let user = store.get(&id("ref-1")).await.unwrap().expect("found");

    assert_eq!(user.version, 0);
    assert_eq!(user.companies, vec![company("1111"), company("2222")]);
    assert_eq!(user.role.as_str(), "Manager");
    assert_eq!(user.updated_at, None);
    assert_eq!(user.updated_by, None);
}

#[tokio::test]
async fn a_reference_item_is_listed_patched_and_deleted() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let client = dynalite.client();
    put_raw(
        &client,
        store.table(),
        reference_item("ref-1", &["1111", "2222"], "Standard"),
    )
    .await;
    put_raw(
        &client,
        store.table(),
        reference_item("ref-2", &["3333"], "Admin"),
    )
    .await;

    let listed = store
        .list_by_company(&company("2222"), 10, None)
        .await
        .unwrap();
    let ids: Vec<&str> = listed.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["ref-1"]);
    assert_eq!(listed.next, None);

    let patch = PermissionsPatch {
        add_companies: vec![company("4444")],
        remove_companies: vec![company("1111")],
        role: None,
    };
    let patched = ops::patch(
        &store,
        &id("ref-1"),
        &patch,
        Precondition::Version(0),
        Author::actor(Some("admin")),
    )
    .await
    .unwrap();
    assert_eq!(patched.before.map(|b| b.version), Some(0));
    assert_eq!(patched.after.version, 1);
    assert_eq!(
        patched.after.companies,
        vec![company("2222"), company("4444")]
    );
    assert_eq!(
        store.get(&id("ref-1")).await.unwrap().unwrap(),
        patched.after
    );

    let removed = store
        .delete(&id("ref-2"), Precondition::Version(0), Author::NONE)
        .await
        .unwrap();
    assert_eq!(removed.role.as_str(), "Admin");
    assert_eq!(store.get(&id("ref-2")).await.unwrap(), None);
}

#[tokio::test]
async fn a_string_set_of_companies_is_read_and_listed() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let mut item = reference_item("set-user", &[], "Standard");
    item.insert(
        "companies".into(),
        AttributeValue::Ss(vec!["1111".into(), "2222".into()]),
    );
    put_raw(&dynalite.client(), store.table(), item).await;

    let user = store.get(&id("set-user")).await.unwrap().expect("found");
    let mut companies: Vec<&str> = user.companies.iter().map(|c| c.as_str()).collect();
    companies.sort_unstable();
    assert_eq!(companies, ["1111", "2222"]);
    let listed = store
        .list_by_company(&company("2222"), 10, None)
        .await
        .unwrap();
    assert_eq!(listed.users.len(), 1);
}

#[tokio::test]
async fn an_attribute_of_the_wrong_type_is_corrupt_not_a_panic() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let mut item = reference_item("broken", &["1111"], "Standard");
    item.insert("role".into(), AttributeValue::N("3".into()));
    put_raw(&dynalite.client(), store.table(), item).await;

    let err = store.get(&id("broken")).await.unwrap_err();
    match &err {
        StoreError::Corrupt { id, reason } => {
            assert_eq!(id, "broken");
            assert!(reason.contains("role"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let listed = store.list_by_company(&company("1111"), 10, None).await;
    assert!(
        matches!(listed, Err(StoreError::Corrupt { .. })),
        "{listed:?}"
    );
    let batch = store.batch_get(&[id("broken")]).await;
    assert!(
        matches!(batch, Err(StoreError::Corrupt { .. })),
        "{batch:?}"
    );
}

/// Gives `user` the Admin role in `companies` if the stored version is `version`.
async fn put_if_version(
    store: &DynamoStore,
    user: &str,
    companies: &[&str],
    version: u64,
) -> Result<WriteOutcome, StoreError> {
    let admin = perms(companies, "Admin");
    store
        .put(
            &id(user),
            &admin,
            Precondition::Version(version),
            Author::NONE,
        )
        .await
}

#[tokio::test]
async fn version_preconditions_count_a_missing_version_as_zero() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let item = reference_item("ref-1", &["1111"], "Standard");
    put_raw(&dynalite.client(), store.table(), item).await;

    let err = put_if_version(&store, "ref-1", &["2222"], 1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: Some(0) }),
        "{err:?}"
    );

    let written = put_if_version(&store, "ref-1", &["2222"], 0).await.unwrap();
    assert_eq!(written.before.map(|b| b.version), Some(0));
    assert_eq!(written.after.version, 1);

    let err = put_if_version(&store, "ref-1", &["3333"], 0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: Some(1) }),
        "{err:?}"
    );
    let err = put_if_version(&store, "nobody", &["3333"], 0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: None }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unconditional_put_versions_a_reference_item_and_keeps_its_other_attributes() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let client = dynalite.client();
    let mut item = reference_item("ref-1", &["1111"], "Standard");
    item.insert("note".into(), s("kept by another tool"));
    put_raw(&client, store.table(), item).await;

    let written = store
        .put(
            &id("ref-1"),
            &perms(&["2222"], "Manager"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();

    assert_eq!(written.after.version, 1);
    let raw = get_raw(&client, store.table(), "ref-1").await;
    assert_eq!(raw.get("note"), Some(&s("kept by another tool")));
}

#[tokio::test]
async fn writes_store_the_reference_shape_plus_version_and_audit_fields() {
    let (dynalite, store) = fresh_dynamo_store().await;
    let client = dynalite.client();

    let written = store
        .put(
            &id("u1"),
            &perms(&["1111", "2222"], "Manager"),
            Precondition::None,
            Author::actor(Some("alice")),
        )
        .await
        .unwrap();
    let raw = get_raw(&client, store.table(), "u1").await;
    assert_eq!(raw.get("id"), Some(&s("u1")));
    assert_eq!(
        raw.get("companies"),
        Some(&AttributeValue::L(vec![s("1111"), s("2222")]))
    );
    assert_eq!(raw.get("role"), Some(&s("Manager")));
    assert_eq!(raw.get("version"), Some(&AttributeValue::N("1".into())));
    assert_eq!(raw.get("updatedBy"), Some(&s("alice")));
    let Some(AttributeValue::S(at)) = raw.get("updatedAt") else {
        panic!("updatedAt is not a string: {raw:?}");
    };
    // The same RFC 3339 text the API shows for the write.
    let api_json = serde_json::to_value(&written.after).unwrap();
    assert_eq!(api_json["updatedAt"], serde_json::json!(at));

    // A write without an actor must not leave the previous writer's name behind.
    store
        .put(
            &id("u1"),
            &perms(&[], "Manager"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    let raw = get_raw(&client, store.table(), "u1").await;
    assert_eq!(raw.get("updatedBy"), None);
    assert_eq!(raw.get("companies"), Some(&AttributeValue::L(vec![])));
    assert_eq!(raw.get("version"), Some(&AttributeValue::N("2".into())));
}
