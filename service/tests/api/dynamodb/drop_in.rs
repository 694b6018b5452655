//! A drop-in for the reference design's table: items another tool wrote in the reference's exact
//! shape (`{id, companies: [..], role}`, no version) work through the whole API.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use clearance_tests::dynalite::Dynalite;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, dynamo_store, roomy_timeouts};

type Item = HashMap<String, AttributeValue>;

/// Puts `{id, companies, role}` exactly as the reference design writes it: nothing else.
async fn put_reference_item(
    client: &Client,
    table: &str,
    id: &str,
    companies: &[&str],
    role: &str,
) {
    client
        .put_item()
        .table_name(table)
        .item("id", AttributeValue::S(id.into()))
        .item(
            "companies",
            AttributeValue::L(
                companies
                    .iter()
                    .map(|c| AttributeValue::S((*c).into()))
                    .collect(),
            ),
        )
        .item("role", AttributeValue::S(role.into()))
        .send()
        .await
        .expect("put a reference item");
}

async fn raw_item(client: &Client, table: &str, id: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get the raw item")
        .item
}

fn strings(value: &AttributeValue) -> Vec<&str> {
    value
        .as_l()
        .expect("companies stays a list, as the reference reads it")
        .iter()
        .map(|v| v.as_s().expect("a string").as_str())
        .collect()
}

#[tokio::test]
async fn reference_items_are_read_listed_patched_and_deleted_through_the_api() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let client = dynalite.client();
    put_reference_item(&client, &table, "ref-a", &["1111", "2222"], "Manager").await;
    put_reference_item(&client, &table, "ref-b", &["1111"], "Standard").await;
    put_reference_item(&client, &table, "ref-c", &["1111"], "Admin").await;
    put_reference_item(&client, &table, "ref-d", &["3333"], "Standard").await;
    let app = TestApp::with_store(
        dynamo_store(&dynalite, &table, roomy_timeouts(&table)),
        Box::new(()),
    )
    .await;

    // Read: version 0, ETag "0".
    let read = app.get("/users/ref-a").await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.header("etag"), Some("\"0\""));
    let body = read.json();
    assert_eq!(body["id"], "ref-a");
    assert_eq!(body["companies"], json!(["1111", "2222"]));
    assert_eq!(body["role"], "Manager");
    assert_eq!(body["version"], 0);
    let not_modified = app
        .send(
            Method::GET,
            "/users/ref-a",
            &[("if-none-match", "\"0\"")],
            None,
        )
        .await;
    assert_eq!(not_modified.status, 304);

    // Listed, batch-read and decided on like any other user.
    let listed = app.get("/companies/1111/users").await.json();
    let mut ids: Vec<&str> = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ref-a", "ref-b", "ref-c"], "{listed}");
    assert!(
        listed["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["version"] == 0),
        "{listed}"
    );
    let batch = app
        .post("/users/batch-get", json!({"ids": ["ref-d", "nobody"]}))
        .await
        .json();
    assert_eq!(batch["users"][0]["companies"], json!(["3333"]), "{batch}");
    assert_eq!(batch["missing"], json!(["nobody"]), "{batch}");
    let check = app
        .post(
            "/check",
            json!({"user": "ref-a", "company": "2222", "role": "Manager"}),
        )
        .await
        .json();
    assert_eq!(check["allowed"], true, "{check}");

    // Patched without If-Match: version 1, and still in the reference's shape.
    let patched = app
        .patch("/users/ref-a", json!({"addCompanies": ["4444"]}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.header("etag"), Some("\"1\""));
    assert_eq!(patched.json()["companies"], json!(["1111", "2222", "4444"]));
    let item = raw_item(&client, &table, "ref-a").await.unwrap();
    assert_eq!(strings(&item["companies"]), ["1111", "2222", "4444"]);
    assert_eq!(item["role"].as_s().unwrap(), "Manager");
    assert_eq!(item["version"].as_n().unwrap(), "1");

    // Patched with If-Match "0": the version the item has without one.
    let patched = app
        .json(
            Method::PATCH,
            "/users/ref-b",
            json!({"role": "Admin"}),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["version"], 1);
    assert_eq!(
        raw_item(&client, &table, "ref-b").await.unwrap()["role"]
            .as_s()
            .unwrap(),
        "Admin"
    );
    // A stale If-Match on a reference item is refused and changes nothing.
    let stale = app
        .json(
            Method::PATCH,
            "/users/ref-c",
            json!({"role": "Standard"}),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.problem(412, "precondition-failed");
    assert_eq!(
        raw_item(&client, &table, "ref-c")
            .await
            .unwrap()
            .get("version"),
        None,
        "a refused write leaves the item untouched"
    );

    // Deleted, with If-Match "0" and without.
    let deleted = app.delete("/users/ref-c", &[("if-match", "\"0\"")]).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let deleted = app.delete("/users/ref-d", &[]).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    for id in ["ref-c", "ref-d"] {
        app.get(&format!("/users/{id}"))
            .await
            .problem(404, "user-not-found");
        assert_eq!(raw_item(&client, &table, id).await, None);
    }
}
