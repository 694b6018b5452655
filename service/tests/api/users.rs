//! `/users/{id}` and `/users/batch-get`.

use clearance_tests::answer::assert_detail_contains;
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

pub async fn get_returns_the_users_permissions_with_an_etag(app: &TestApp) {
    app.given_user("alice", &["1111"], "Manager").await;
    let answer = app.get("/users/alice").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("etag"), Some("\"1\""));
    let body = answer.json();
    assert_eq!(body["id"], "alice");
    assert_eq!(body["companies"], json!(["1111"]));
    assert_eq!(body["role"], "Manager");
    assert_eq!(body["version"], 1);
    assert!(body["updatedAt"].is_string(), "{body}");
}

pub async fn get_returns_404_for_an_unknown_user(app: &TestApp) {
    let body = app
        .get("/users/nobody")
        .await
        .problem(404, "user-not-found");
    assert_detail_contains(&body, "nobody");
}

pub async fn get_with_the_current_etag_in_if_none_match_returns_304(app: &TestApp) {
    app.given_user("alice", &["1111"], "Manager").await;
    let answer = app
        .send(
            Method::GET,
            "/users/alice",
            &[("if-none-match", "\"1\"")],
            None,
        )
        .await;
    assert_eq!(answer.status, 304);
    let answer = app
        .send(
            Method::GET,
            "/users/alice",
            &[("if-none-match", "\"0\"")],
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
}

pub async fn put_creates_with_201_then_replaces_with_200(app: &TestApp) {
    let created = app
        .put(
            "/users/bob",
            json!({"companies": ["1111"], "role": "Standard"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some("/users/bob"));
    assert_eq!(created.header("etag"), Some("\"1\""));
    let replaced = app
        .put(
            "/users/bob",
            json!({"companies": ["2222", "3333"], "role": "Admin"}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.header("etag"), Some("\"2\""));
    let body = app.get("/users/bob").await.json();
    assert_eq!(body["companies"], json!(["2222", "3333"]));
    assert_eq!(body["role"], "Admin");
    assert_eq!(body["version"], 2);
}

pub async fn put_accepts_an_id_in_the_body_only_if_it_equals_the_path(app: &TestApp) {
    let same = app
        .put(
            "/users/bob",
            json!({"id": "bob", "companies": [], "role": "Standard"}),
        )
        .await;
    assert_eq!(same.status, 201, "{}", same.text);
    let other = app
        .put(
            "/users/bob",
            json!({"id": "eve", "companies": [], "role": "Admin"}),
        )
        .await;
    let body = other.problem(400, "validation");
    assert_eq!(body["field"], "id");
    assert_eq!(app.get("/users/bob").await.json()["role"], "Standard");
}

pub async fn put_with_if_match_replaces_only_that_version(app: &TestApp) {
    app.given_user("carol", &["1111"], "Standard").await;
    let body = json!({"companies": ["1111"], "role": "Manager"});
    let stale = app
        .json(
            Method::PUT,
            "/users/carol",
            body.clone(),
            &[("if-match", "\"7\"")],
        )
        .await;
    let problem = stale.problem(412, "precondition-failed");
    assert_detail_contains(&problem, "version is 1");
    let ok = app
        .json(
            Method::PUT,
            "/users/carol",
            body.clone(),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    let missing = app
        .json(Method::PUT, "/users/nobody", body, &[("if-match", "*")])
        .await;
    missing.problem(412, "precondition-failed");
    assert_eq!(app.get("/users/nobody").await.status, 404);
}

pub async fn put_with_if_none_match_star_only_creates(app: &TestApp) {
    let body = json!({"companies": ["1111"], "role": "Manager"});
    let created = app
        .json(
            Method::PUT,
            "/users/dave",
            body.clone(),
            &[("if-none-match", "*")],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let again = app
        .json(Method::PUT, "/users/dave", body, &[("if-none-match", "*")])
        .await;
    again.problem(412, "precondition-failed");
}

pub async fn malformed_conditional_headers_are_400(app: &TestApp) {
    let body = json!({"companies": [], "role": "Manager"});
    for headers in [
        vec![("if-match", "3")],
        vec![("if-match", "W/\"3\"")],
        vec![("if-none-match", "\"1\"")],
        vec![("if-match", "W/\"1\""), ("if-none-match", "*")],
    ] {
        let answer = app
            .json(Method::PUT, "/users/erin", body.clone(), &headers)
            .await;
        answer.problem(400, "invalid-precondition");
    }
    // Well-formed but contradictory (exists and does not): never holds, whatever is stored.
    let both = [("if-match", "\"1\""), ("if-none-match", "*")];
    app.json(Method::PUT, "/users/erin", body.clone(), &both)
        .await
        .problem(412, "precondition-failed");
    // An empty field is an empty list: as if not sent.
    let created = app
        .json(Method::PUT, "/users/erin", body, &[("if-match", "")])
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
}

pub async fn patch_adds_and_removes_companies_and_changes_the_role(app: &TestApp) {
    app.given_user("frank", &["1111", "2222"], "Standard").await;
    let answer = app
        .patch(
            "/users/frank",
            json!({"addCompanies": ["3333", "1111"], "removeCompanies": ["2222"], "role": "Manager"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("etag"), Some("\"2\""));
    let body = answer.json();
    assert_eq!(body["companies"], json!(["1111", "3333"]));
    assert_eq!(body["role"], "Manager");
    let role_only = app.patch("/users/frank", json!({"role": "Admin"})).await;
    assert_eq!(role_only.json()["companies"], json!(["1111", "3333"]));
}

pub async fn patch_with_a_stale_if_match_is_412(app: &TestApp) {
    app.given_user("gina", &["1111"], "Standard").await;
    let answer = app
        .json(
            Method::PATCH,
            "/users/gina",
            json!({"addCompanies": ["2222"]}),
            &[("if-match", "\"5\"")],
        )
        .await;
    answer.problem(412, "precondition-failed");
    let ok = app
        .json(
            Method::PATCH,
            "/users/gina",
            json!({"addCompanies": ["2222"]}),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

pub async fn patch_of_an_unknown_user_is_404(app: &TestApp) {
    app.patch("/users/nobody", json!({"role": "Admin"}))
        .await
        .problem(404, "user-not-found");
}

pub async fn an_empty_or_contradictory_patch_is_400(app: &TestApp) {
    app.given_user("hank", &["1111"], "Standard").await;
    let empty = app
        .patch("/users/hank", json!({}))
        .await
        .problem(400, "validation");
    assert_detail_contains(&empty, "at least one");
    let both = app
        .patch(
            "/users/hank",
            json!({"addCompanies": ["2222"], "removeCompanies": ["2222"]}),
        )
        .await
        .problem(400, "validation");
    assert_eq!(both["field"], "addCompanies");
    let bad = app
        .patch("/users/hank", json!({"addCompanies": ["ok", "not ok"]}))
        .await
        .problem(400, "validation");
    assert_eq!(bad["field"], "addCompanies[1]");
}

pub async fn delete_returns_204_then_404(app: &TestApp) {
    app.given_user("ivan", &["1111"], "Standard").await;
    assert_eq!(app.delete("/users/ivan", &[]).await.status, 204);
    app.get("/users/ivan").await.problem(404, "user-not-found");
    app.delete("/users/ivan", &[])
        .await
        .problem(404, "user-not-found");
}

pub async fn delete_with_a_stale_if_match_is_412(app: &TestApp) {
    app.given_user("jane", &["1111"], "Standard").await;
    app.delete("/users/jane", &[("if-match", "\"2\"")])
        .await
        .problem(412, "precondition-failed");
    assert_eq!(
        app.delete("/users/jane", &[("if-match", "\"1\"")])
            .await
            .status,
        204
    );
}

pub async fn batch_get_returns_users_and_missing_ids_in_order(app: &TestApp) {
    app.given_user("b1", &["1111"], "Standard").await;
    app.given_user("b2", &["2222"], "Admin").await;
    let answer = app
        .post(
            "/users/batch-get",
            json!({"ids": ["b2", "ghost", "b1", "b2"]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    let ids: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b2", "b1"]);
    assert_eq!(body["missing"], json!(["ghost"]));
}

pub async fn batch_get_takes_1_to_100_valid_ids(app: &TestApp) {
    app.post("/users/batch-get", json!({"ids": []}))
        .await
        .problem(400, "validation");
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let body = app
        .post("/users/batch-get", json!({"ids": many}))
        .await
        .problem(400, "validation");
    assert_detail_contains(&body, "got 101");
    let body = app
        .post("/users/batch-get", json!({"ids": ["ok", "not ok"]}))
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "ids[1]");
}

pub async fn ids_with_unicode_and_reserved_characters_work_in_paths(app: &TestApp) {
    let answer = app
        .put(
            "/users/Zo%C3%AB%2Fdev%40example.com",
            json!({"companies": ["1111"], "role": "Standard"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.json()["id"], "Zoë/dev@example.com");
    let read = app.get("/users/Zo%C3%AB%2Fdev%40example.com").await;
    assert_eq!(read.status, 200, "{}", read.text);
}

/// The documented maximum (1,000 companies of 64 characters, a 128-character id), sent
/// pretty-printed, fits the body limit and every store.
pub async fn the_largest_user_the_rules_allow_is_stored_and_read_back(app: &TestApp) {
    let id = "u".repeat(128);
    let companies: Vec<String> = (0..1000).map(|i| format!("{i:0>64}")).collect();
    let body =
        serde_json::to_string_pretty(&json!({"companies": companies, "role": "Manager"})).unwrap();
    assert!(body.len() > 64 * 1024, "{} bytes", body.len());
    let answer = app
        .send(
            Method::PUT,
            &format!("/users/{id}"),
            &[("content-type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let read = app.get(&format!("/users/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["companies"], json!(companies));
}

pub async fn reads_say_how_fresh_they_are_and_take_a_consistency(app: &TestApp) {
    app.given_user("alice", &["1111"], "Manager").await;
    // The first read after a write goes to the store; the next is a hit, with its age.
    let first = app.get("/users/alice").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first.header("cache-status"),
        Some("clearance; fwd=miss; stored")
    );
    assert_eq!(first.header("age"), Some("0"));
    let hit = app.get("/users/alice").await;
    let status = hit.header("cache-status").unwrap_or_default();
    assert!(status.starts_with("clearance; hit; ttl="), "{status}");
    assert!(hit.header("age").is_some());
    // A fully consistent read goes past the cache, whatever it holds.
    let full = app.get("/users/alice?consistency=fully-consistent").await;
    assert_eq!(full.status, 200);
    assert_eq!(
        full.header("cache-status"),
        Some("clearance; fwd=request; stored")
    );
    // Read your writes: the ETag a write returned, as a version to be at least as fresh as.
    let replaced = app
        .put(
            "/users/alice",
            json!({"companies": ["1111"], "role": "Standard"}),
        )
        .await;
    let etag = replaced.header("etag").unwrap().to_owned();
    assert_eq!(etag, "\"2\"");
    let mine = app
        .get(&format!("/users/alice?consistency=at-least:{etag}"))
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.json()["role"], "Standard");
    let cached = app.get("/users/alice?consistency=at-least:2").await;
    let status = cached.header("cache-status").unwrap_or_default();
    assert!(status.contains("hit"), "version 2 is cached now: {status}");
    // "No such user" from the cache says so too.
    let missing = app.get("/users/nobody").await;
    missing.problem(404, "user-not-found");
    assert!(missing.header("cache-status").is_some());
    // Batch reads and decisions take the same parameter.
    let batch = app
        .post(
            "/users/batch-get?consistency=fully-consistent",
            json!({"ids": ["alice"]}),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.json()["users"][0]["version"], 2);
    let check = app
        .post(
            "/check?consistency=fully-consistent",
            json!({"user": "alice", "company": "1111", "role": "Manager"}),
        )
        .await;
    assert_eq!(check.json()["allowed"], false, "{}", check.text);
    assert_eq!(
        check.header("cache-status"),
        Some("clearance; fwd=request; stored")
    );
    // Anything else is refused, naming the forms that are accepted.
    for bad in ["latest", "at-least:", "at-least:W/\"2\""] {
        let body = app
            .get(&format!("/users/alice?consistency={bad}"))
            .await
            .problem(400, "invalid-parameter");
        assert_detail_contains(&body, "fully-consistent");
    }
}
