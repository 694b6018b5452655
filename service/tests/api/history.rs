//! `/users/{id}/history`: every acknowledged write through the API is recorded, newest first,
//! paginated.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

pub async fn history_lists_each_write_newest_first_with_before_after_and_request_id(app: &TestApp) {
    app.send(
        Method::PUT,
        "/users/hana",
        &[
            ("content-type", "application/json"),
            ("x-request-id", "req-create"),
        ],
        Some(json!({"companies": ["1111"], "role": "Standard"}).to_string()),
    )
    .await;
    let patched = app
        .json(
            Method::PATCH,
            "/users/hana",
            json!({"addCompanies": ["2222"], "role": "Manager"}),
            &[("if-match", "\"1\""), ("x-request-id", "req-patch")],
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);

    let answer = app.get("/users/hana/history").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    let entries = body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{body}");
    assert_eq!(body["nextBefore"], json!(null));
    let (newest, oldest) = (&entries[0], &entries[1]);
    assert_eq!(newest["seq"], 2);
    assert_eq!(newest["action"], "update");
    assert_eq!(newest["version"], 2);
    assert_eq!(newest["requestId"], "req-patch");
    assert_eq!(newest["before"]["companies"], json!(["1111"]));
    assert_eq!(newest["before"]["role"], "Standard");
    assert_eq!(newest["after"]["companies"], json!(["1111", "2222"]));
    assert_eq!(newest["after"]["role"], "Manager");
    assert!(newest["at"].is_string(), "{newest}");
    assert_eq!(oldest["action"], "create");
    assert_eq!(oldest["requestId"], "req-create");
    assert_eq!(oldest["before"], json!(null));
    assert!(
        newest.get("actor").is_none(),
        "no actor without authentication: {newest}"
    );
}

pub async fn history_pages_go_on_with_next_before(app: &TestApp) {
    for role in ["Standard", "Manager", "Admin", "Standard", "Manager"] {
        app.given_user("ivan", &["1111"], role).await;
    }
    let first = app.get("/users/ivan/history?limit=2").await.json();
    let seqs = |page: &serde_json::Value| -> Vec<u64> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(seqs(&first), [5, 4]);
    assert_eq!(first["nextBefore"], 4);
    let second = app.get("/users/ivan/history?limit=2&before=4").await.json();
    assert_eq!(seqs(&second), [3, 2]);
    let third = app.get("/users/ivan/history?limit=2&before=2").await.json();
    assert_eq!(seqs(&third), [1]);
    assert_eq!(third["nextBefore"], json!(null));
}

pub async fn a_deleted_users_history_stays_readable_and_a_failed_write_adds_nothing(app: &TestApp) {
    app.given_user("jun", &["1111"], "Standard").await;
    let stale = app
        .json(
            Method::PUT,
            "/users/jun",
            json!({"companies": [], "role": "Admin"}),
            &[("if-match", "\"9\"")],
        )
        .await;
    assert_eq!(stale.status, 412);
    let deleted = app.delete("/users/jun", &[("if-match", "\"1\"")]).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(app.get("/users/jun").await.status, 404);

    let body = app.get("/users/jun/history").await.json();
    let entries = body["entries"].as_array().expect("entries");
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "create"], "{body}");
    assert_eq!(entries[0]["before"]["companies"], json!(["1111"]));
    assert_eq!(entries[0]["after"], json!(null));
}

pub async fn history_of_an_unknown_user_is_404_and_bad_parameters_are_400(app: &TestApp) {
    app.get("/users/nobody/history")
        .await
        .problem(404, "user-not-found");
    app.given_user("kim", &["1111"], "Standard").await;
    app.get("/users/kim/history?limit=0")
        .await
        .problem(400, "validation");
    app.get("/users/kim/history?before=soon")
        .await
        .problem(400, "invalid-parameter");
}
