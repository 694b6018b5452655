//! `/companies/{company}/users`.

use std::collections::BTreeSet;

use clearance_core::domain::CompanyId;
use clearance_core::store::Position;
use clearance_core::store::cursor::CursorKey;
use clearance_tests::answer::assert_detail_contains;
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::helpers::{CURSOR_SECRET, TestApp};

/// Creates `count` users named `{prefix}{i}` in `companies`, several requests at a time.
async fn given_many(app: &TestApp, prefix: &str, count: usize, companies: &[&str]) {
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| async move {
            app.given_user(&format!("{prefix}{i:04}"), companies, "Standard")
                .await;
        })
        .await;
}

/// Follows `nextCursor` from the start with pages of `limit`; returns each page's body.
async fn every_page(app: &TestApp, company: &str, limit: usize) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut path = format!("/companies/{company}/users?limit={limit}");
    loop {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        let next = body["nextCursor"].as_str().map(str::to_owned);
        assert!(next.is_some() || body["nextCursor"].is_null(), "{body}");
        pages.push(body);
        match next {
            Some(cursor) => {
                path = format!("/companies/{company}/users?limit={limit}&cursor={cursor}");
            }
            None => return pages,
        }
        assert!(pages.len() < 1_000, "the listing does not end");
    }
}

pub async fn listing_pages_through_every_member_of_a_company(app: &TestApp) {
    for i in 0..7 {
        app.given_user(&format!("m{i}"), &["acme"], "Standard")
            .await;
    }
    app.given_user("outsider", &["other"], "Admin").await;
    let mut seen = BTreeSet::new();
    let mut path = "/companies/acme/users?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        pages += 1;
        let users = body["users"].as_array().unwrap();
        assert!(users.len() <= 3);
        for user in users {
            assert!(seen.insert(user["id"].as_str().unwrap().to_owned()));
        }
        match body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/companies/acme/users?limit=3&cursor={cursor}"),
            None => {
                assert!(body["nextCursor"].is_null(), "{body}");
                break;
            }
        }
        assert!(pages < 20, "the listing does not end");
    }
    let expected: BTreeSet<String> = (0..7).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected);
    assert!(pages >= 3);
}

pub async fn an_empty_company_lists_no_one(app: &TestApp) {
    let body = app.get("/companies/nobody-here/users").await.json();
    assert_eq!(body, json!({"users": [], "nextCursor": null}));
}

pub async fn a_tampered_or_foreign_cursor_is_400(app: &TestApp) {
    for i in 0..3 {
        app.given_user(&format!("t{i}"), &["acme", "globex"], "Standard")
            .await;
    }
    let first = app.get("/companies/acme/users?limit=1").await.json();
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let mut tampered = cursor.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let body = app
        .get(&format!("/companies/acme/users?cursor={tampered}"))
        .await
        .problem(400, "invalid-cursor");
    assert_eq!(body["field"], "cursor", "{body}");
    assert_detail_contains(&body, "altered");
    app.get("/companies/acme/users?cursor=garbage")
        .await
        .problem(400, "invalid-cursor");
    let foreign = app
        .get(&format!("/companies/globex/users?cursor={cursor}"))
        .await
        .problem(400, "invalid-cursor");
    assert_detail_contains(&foreign, "another company");
}

pub async fn the_page_size_must_be_1_to_1000(app: &TestApp) {
    for limit in ["0", "1001"] {
        let body = app
            .get(&format!("/companies/acme/users?limit={limit}"))
            .await
            .problem(400, "validation");
        assert_eq!(body["field"], "limit");
    }
    app.get("/companies/acme/users?limit=many")
        .await
        .problem(400, "invalid-parameter");
    app.get("/companies/acme/users?colour=blue")
        .await
        .problem(400, "invalid-parameter");
    let body = app
        .get("/companies/bad%20company/users")
        .await
        .problem(400, "validation");
    assert_eq!(body["field"], "company");
}

pub async fn a_few_members_among_thousands_are_each_listed_once_across_short_pages(app: &TestApp) {
    given_many(app, "outsider-", 2_000, &["other"]).await;
    given_many(app, "member-", 5, &["rare", "other"]).await;

    let pages = every_page(app, "rare", 2).await;

    let mut seen = BTreeSet::new();
    for page in &pages {
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 2, "{page}");
        for user in users {
            let id = user["id"].as_str().unwrap().to_owned();
            assert!(id.starts_with("member-"), "{id} is not in rare");
            assert!(seen.insert(id.clone()), "{id} listed twice");
        }
    }
    let expected: BTreeSet<String> = (0..5).map(|i| format!("member-{i:04}")).collect();
    assert_eq!(seen, expected);
    // How many pages it took depends on the store: the embedded store reads only members, so it
    // needs three full pages; DynamoDB's bounded scan (see `SUITE_SCAN_BOUND`) needs at least one
    // request per 200 items of the 2,005, most of them short or empty.
    assert!(pages.len() >= 3, "{} pages", pages.len());
}

pub async fn a_cursor_signed_with_another_secret_is_400_and_one_with_ours_goes_on(app: &TestApp) {
    for i in 0..3 {
        app.given_user(&format!("s{i}"), &["acme"], "Standard")
            .await;
    }
    let acme = CompanyId::parse("acme").unwrap();
    let position = Position::new("s0").unwrap();

    // Another instance of this deployment (same secret) made it: accepted.
    let ours = CursorKey::from_secret(CURSOR_SECRET.as_bytes()).unwrap();
    let answer = app
        .get(&format!(
            "/companies/acme/users?cursor={}",
            ours.encode(&acme, &position)
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    // Another deployment (another secret), or one without a secret: refused, and said so.
    let theirs = CursorKey::from_secret(b"another-deployments-secret-0123456789").unwrap();
    for key in [theirs, CursorKey::built_in()] {
        let body = app
            .get(&format!(
                "/companies/acme/users?cursor={}",
                key.encode(&acme, &position)
            ))
            .await
            .problem(400, "invalid-cursor");
        assert_eq!(body["field"], "cursor", "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("cursor parameter") && detail.contains("another deployment"),
            "{body}"
        );
    }
}
