//! Many writers on one user at once: no write is lost, whether the server retries (PATCH) or the
//! clients do (GET, then PUT with `If-Match`, again on 412).

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// How many clients write at once.
const WRITERS: usize = 16;
/// How often a client tries its read-modify-write before giving up.
const CLIENT_ATTEMPTS: usize = 100;

fn company(writer: usize) -> String {
    format!("c{writer:02}")
}

/// Asserts the user holds exactly the original company and one per writer.
async fn assert_every_company_is_there(app: &TestApp, id: &str) {
    let body = app.get(&format!("/users/{id}")).await.json();
    let held: BTreeSet<&str> = body["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut expected: BTreeSet<String> = (0..WRITERS).map(company).collect();
    expected.insert("base".into());
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(held, expected, "{body}");
    assert_eq!(
        body["version"],
        1 + WRITERS,
        "one version per write: {body}"
    );
}

pub async fn concurrent_patches_without_if_match_lose_no_company(app: &TestApp) {
    app.given_user("contended", &["base"], "Standard").await;

    let writers = (0..WRITERS).map(|w| async move {
        app.patch("/users/contended", json!({"addCompanies": [company(w)]}))
            .await
    });
    let answers = join_all(writers).await;

    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    assert_every_company_is_there(app, "contended").await;
}

/// A client's read-modify-write: GET, add its company, PUT with `If-Match` the version it read;
/// on 412 it reads again after a short pause. Returns how many 412s it met.
async fn add_company_as_a_client_would(app: &TestApp, writer: usize) -> usize {
    let mut conflicts = 0;
    for _ in 0..CLIENT_ATTEMPTS {
        let read = app.get("/users/contended").await;
        assert_eq!(read.status, 200, "{}", read.text);
        let etag = read.header("etag").expect("an ETag").to_owned();
        let user = read.json();
        let mut companies: Vec<Value> = user["companies"].as_array().unwrap().clone();
        companies.push(json!(company(writer)));
        let written = app
            .json(
                Method::PUT,
                "/users/contended",
                json!({"companies": companies, "role": user["role"]}),
                &[("if-match", etag.as_str())],
            )
            .await;
        match written.status.as_u16() {
            200 => return conflicts,
            412 => {
                conflicts += 1;
                // A few milliseconds of jitter, so that clients that lost a race spread out.
                tokio::time::sleep(Duration::from_millis(fastrand::u64(0..8))).await;
            }
            other => panic!("writer {writer}: unexpected {other}: {}", written.text),
        }
    }
    panic!("writer {writer} did not get its write in after {CLIENT_ATTEMPTS} attempts");
}

pub async fn concurrent_read_modify_writes_with_if_match_lose_no_company(app: &TestApp) {
    app.given_user("contended", &["base"], "Standard").await;

    let writers = (0..WRITERS).map(|w| add_company_as_a_client_would(app, w));
    let conflicts: usize = join_all(writers).await.into_iter().sum();

    assert_every_company_is_there(app, "contended").await;
    // The writers did race: every one but the first to write read a version someone replaced.
    assert!(
        conflicts > 0,
        "no writer ever met a 412: the test did not race"
    );
}
