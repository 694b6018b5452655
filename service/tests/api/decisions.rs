//! `/check` and `/access/v1/evaluation`.

use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn check(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/check", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

pub async fn check_decides_on_membership_and_role_naming_the_rule(app: &TestApp) {
    app.given_user("mgr", &["1111"], "Manager").await;
    let allowed = check(
        app,
        json!({"user": "mgr", "company": "1111", "role": "Manager"}),
    )
    .await;
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["code"], "allowed");

    let outsider = check(
        app,
        json!({"user": "mgr", "company": "2222", "role": "Manager"}),
    )
    .await;
    assert_eq!(outsider["allowed"], false);
    assert_eq!(outsider["code"], "not-a-member");
    assert!(outsider["reason"].as_str().unwrap().contains("2222"));

    let below = check(
        app,
        json!({"user": "mgr", "company": "1111", "role": "Admin", "atLeast": true}),
    )
    .await;
    assert_eq!(below["code"], "role-below-required");

    let at_least = check(
        app,
        json!({"user": "mgr", "company": "1111", "role": "Standard", "atLeast": true}),
    )
    .await;
    assert_eq!(at_least["allowed"], true);

    let exact = check(
        app,
        json!({"user": "mgr", "company": "1111", "role": "Standard"}),
    )
    .await;
    assert_eq!(exact["code"], "role-mismatch");

    let unknown = check(app, json!({"user": "ghost", "company": "1111"})).await;
    assert_eq!(unknown["allowed"], false);
    assert_eq!(unknown["code"], "unknown-user");
}

pub async fn check_refuses_unknown_roles_and_bad_ids(app: &TestApp) {
    let body = app
        .post(
            "/check",
            json!({"user": "mgr", "company": "1111", "role": "manager"}),
        )
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "role");
    let body = app
        .post("/check", json!({"user": "a b", "company": "1111"}))
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "user");
    app.post("/check", json!({"company": "1111"}))
        .await
        .problem(400, "invalid-body");
}

pub async fn authzen_evaluation_gives_the_same_decision(app: &TestApp) {
    app.given_user("mgr", &["1111"], "Manager").await;
    let request = |company: &str, action: Value| {
        json!({
            "subject": {"type": "user", "id": "mgr"},
            "resource": {"type": "company", "id": company},
            "action": action,
            "context": {"time": "2026-01-01T00:00:00Z"}
        })
    };
    let yes = app
        .post(
            "/access/v1/evaluation",
            request("1111", json!({"name": "Manager"})),
        )
        .await;
    assert_eq!(yes.status, 200, "{}", yes.text);
    assert_eq!(yes.json()["decision"], true);
    let member = app
        .post(
            "/access/v1/evaluation",
            request("1111", json!({"name": "access"})),
        )
        .await
        .json();
    assert_eq!(member["decision"], true);
    let no = app
        .post(
            "/access/v1/evaluation",
            request("2222", json!({"name": "Manager"})),
        )
        .await
        .json();
    assert_eq!(no["decision"], false);
    assert_eq!(no["context"]["code"], "not-a-member");
    let at_least = app
        .post(
            "/access/v1/evaluation",
            request(
                "1111",
                json!({"name": "Standard", "properties": {"atLeast": true}}),
            ),
        )
        .await
        .json();
    assert_eq!(at_least["decision"], true);
}

pub async fn authzen_refuses_other_entity_types(app: &TestApp) {
    let body = app
        .post(
            "/access/v1/evaluation",
            json!({
                "subject": {"type": "group", "id": "admins"},
                "resource": {"type": "company", "id": "1111"},
                "action": {"name": "Manager"}
            }),
        )
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "subject.type");
}
