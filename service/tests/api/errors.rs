//! Bad input: every case gets a specific problem document.

use clearance_tests::answer::assert_detail_contains;
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

pub async fn a_body_over_128_kib_is_413(app: &TestApp) {
    let companies: Vec<String> = (0..12000).map(|i| format!("company-{i:05}")).collect();
    let body = json!({"companies": companies, "role": "Admin"}).to_string();
    assert!(body.len() > 128 * 1024);
    let answer = app
        .send(
            Method::PUT,
            "/users/big",
            &[("content-type", "application/json")],
            Some(body),
        )
        .await;
    answer.problem(413, "payload-too-large");
}

pub async fn malformed_json_is_400_naming_the_position(app: &TestApp) {
    let answer = app
        .send(
            Method::PUT,
            "/users/x",
            &[("content-type", "application/json")],
            Some("{\"companies\": [\"1111\",], \"role\": \"Admin\"}".into()),
        )
        .await;
    let body = answer.problem(400, "invalid-body");
    assert_detail_contains(&body, "line 1 column");
}

pub async fn an_unknown_field_is_400_naming_the_field(app: &TestApp) {
    let body = app
        .put(
            "/users/x",
            json!({"companies": [], "role": "Admin", "rol": "x"}),
        )
        .await
        .problem(400, "invalid-body");
    assert_detail_contains(&body, "unknown field `rol`");
}

pub async fn a_missing_field_is_400_naming_the_field(app: &TestApp) {
    let body = app
        .put("/users/x", json!({"companies": []}))
        .await
        .problem(400, "invalid-body");
    assert_detail_contains(&body, "missing field `role`");
}

pub async fn a_body_that_is_not_json_is_415(app: &TestApp) {
    let body = "{\"companies\": [], \"role\": \"Admin\"}".to_owned();
    app.send(
        Method::PUT,
        "/users/x",
        &[("content-type", "text/plain")],
        Some(body.clone()),
    )
    .await
    .problem(415, "unsupported-media-type");
    app.send(Method::PUT, "/users/x", &[], Some(body.clone()))
        .await
        .problem(415, "unsupported-media-type");
    let charset = app
        .send(
            Method::PUT,
            "/users/x",
            &[("content-type", "application/json; charset=utf-8")],
            Some(body),
        )
        .await;
    assert_eq!(charset.status, 201, "{}", charset.text);
}

pub async fn a_wrong_method_is_405_with_allow(app: &TestApp) {
    let answer = app.send(Method::POST, "/users/x", &[], None).await;
    answer.problem(405, "method-not-allowed");
    let allow = answer.header("allow").expect("an Allow header").to_owned();
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        assert!(allow.contains(method), "Allow: {allow}");
    }
    let answer = app.send(Method::GET, "/check", &[], None).await;
    answer.problem(405, "method-not-allowed");
    assert!(answer.header("allow").unwrap().contains("POST"));
}

pub async fn an_unknown_route_is_a_404_problem(app: &TestApp) {
    app.get("/nope").await.problem(404, "not-found");
}

pub async fn an_invalid_id_in_the_path_is_400_naming_the_rule(app: &TestApp) {
    let body = app.get("/users/a%20b").await.problem(400, "validation");
    assert_eq!(body["field"], "id");
    assert_detail_contains(&body, "whitespace");
    let long = "x".repeat(129);
    let body = app
        .get(&format!("/users/{long}"))
        .await
        .problem(400, "validation");
    assert_detail_contains(&body, "at most 128");
}

pub async fn an_invalid_company_or_role_is_400_naming_the_rule(app: &TestApp) {
    let body = app
        .put(
            "/users/x",
            json!({"companies": ["1111", "1111"], "role": "Admin"}),
        )
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "companies[1]");
    let body = app
        .put("/users/x", json!({"companies": ["ok"], "role": "admin"}))
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "role");
    assert_detail_contains(&body, "Standard, Manager, Admin");
    let too_many: Vec<String> = (0..1001).map(|i| format!("{i}")).collect();
    let body = app
        .put("/users/x", json!({"companies": too_many, "role": "Admin"}))
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "companies");
}
