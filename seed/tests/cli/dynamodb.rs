//! DynamoDB: the table, the item shape bulk writes store, versions, 10,000 records, the round trip.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use clearance_core::domain::UserId;
use clearance_core::store::PermissionStore;
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_tests::dynalite::Dynalite;

use crate::helpers::{Dynamo, Seed, Workspace, csv, json, ndjson, users};

fn store(dynamo: &Dynamo) -> DynamoStore {
    let settings = DynamoSettings {
        attempt_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(30),
        ..DynamoSettings::new(&dynamo.table)
    };
    DynamoStore::from_client(dynamo.dynalite.client(), &dynamo.table, &settings)
}

#[tokio::test]
async fn create_table_creates_the_table_once_and_then_finds_it() {
    let dynalite = Dynalite::start().await;
    let seed = |args: &[&str]| {
        Seed::new(args)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDFAKEDYNALITE")
            .env("AWS_SECRET_ACCESS_KEY", "fake-secret")
            .args(["--table", "permissions", "--dynamodb-endpoint-url"])
            .arg(dynalite.endpoint())
    };

    seed(&["create-table"])
        .run()
        .await
        .expect(0)
        .says("created table \"permissions\"");
    seed(&["create-table"])
        .run()
        .await
        .expect(0)
        .says("exists already");

    let table = dynalite
        .client()
        .describe_table()
        .table_name("permissions")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let key = &table.key_schema()[0];
    assert_eq!(key.attribute_name(), "id");
    assert_eq!(table.key_schema().len(), 1);
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
    );
}

#[tokio::test]
async fn importing_into_a_missing_table_writes_nothing_and_says_how_to_create_it() {
    let dynamo = Dynamo::start().await;
    let ws = Workspace::new();
    dynamo
        .seed([
            "import",
            &ws.file("u.csv", csv(&users(3))),
            "--table",
            "no-such-table",
        ])
        .run()
        .await
        .expect(1)
        .says("create-table");
}

#[tokio::test]
async fn bulk_writes_store_the_stores_item_shape_and_versions_keep_growing() {
    let dynamo = Dynamo::start().await;
    let ws = Workspace::new();
    let file = ws.file("u.json", json(&users(3)));

    dynamo.seed(["import", &file]).run().await.expect(0);

    let items = dynamo.items().await;
    assert_eq!(items.len(), 3);
    let item = items
        .iter()
        .find(|i| i.get("id") == Some(&AttributeValue::S("user-000002".into())))
        .unwrap();
    assert_eq!(
        item.get("companies"),
        Some(&AttributeValue::L(vec![
            AttributeValue::S("c2".into()),
            AttributeValue::S("c3".into())
        ]))
    );
    assert_eq!(item.get("role"), Some(&AttributeValue::S("Admin".into())));
    assert_eq!(item.get("version"), Some(&AttributeValue::N("1".into())));
    assert_eq!(
        item.get("updatedBy"),
        Some(&AttributeValue::S("seed-cli".into()))
    );
    assert!(matches!(item.get("updatedAt"), Some(AttributeValue::S(_))));
    // The change history, as the store keeps it: one creation, by the seed CLI.
    let Some(AttributeValue::S(history)) = item.get("history") else {
        panic!("no history on {item:?}");
    };
    let history: serde_json::Value = serde_json::from_str(history).unwrap();
    assert_eq!(history[0]["action"], "create");
    assert_eq!(history[0]["actor"], "seed-cli");
    assert_eq!(history.as_array().map(Vec::len), Some(1));
    assert_eq!(item.len(), 7);

    // The service's store reads what the bulk path wrote, and versions grow on the next import.
    dynamo.seed(["import", &file]).run().await.expect(0);
    dynamo
        .seed(["import", &file, "--mode", "insert-only"])
        .run()
        .await
        .expect(0);
    let user = store(&dynamo)
        .get(&UserId::parse("user-000002").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.version, 2);
    assert_eq!(user.role.as_str(), "Admin");
    assert_eq!(user.updated_by.as_deref(), Some("seed-cli"));
}

#[tokio::test]
async fn ten_thousand_records_are_imported_and_exported_identically() {
    let dynamo = Dynamo::start().await;
    let ws = Workspace::new();
    let data = users(10_000);
    let file = ws.file("users.ndjson", ndjson(&data));

    let run = dynamo
        .seed(["import", &file, "--concurrency", "8"])
        .run()
        .await
        .expect(0);

    run.says("summary: read 10000, valid 10000, written 10000, skipped 0, failed 0");
    run.says("done: every write was confirmed");
    assert_eq!(dynamo.export("ndjson").await, ndjson(&data));
}

#[tokio::test]
async fn export_import_export_is_byte_identical_on_dynamodb() {
    let source = Dynamo::start().await;
    let ws = Workspace::new();
    let mut data = users(120);
    data.reverse();
    source
        .seed(["import", &ws.file("in.csv", csv(&data))])
        .run()
        .await
        .expect(0);

    for format in ["json", "ndjson", "csv"] {
        let first = source.export(format).await;
        let table = source.dynalite.fresh_table().await;
        let file = ws.file(&format!("out.{format}"), &first);
        source
            .seed(["import", &file, "--table", &table])
            .run()
            .await
            .expect(0);
        let second = source
            .seed([
                "export",
                "--format",
                format,
                "--table",
                &table,
                "--segments",
                "3",
            ])
            .run()
            .await
            .expect(0)
            .stdout;
        assert_eq!(first, second, "{format} round trip");
    }
    data.reverse();
    assert_eq!(source.export("csv").await, csv(&data), "sorted by id");
}
