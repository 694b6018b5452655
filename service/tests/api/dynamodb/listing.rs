//! The company listing on DynamoDB reads a bounded part of the table per request: measured from
//! outside the service, by a proxy between it and dynalite that counts what each Scan read.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clearance_core::domain::UserPermissions;
use clearance_core::store::contract::stored;
use clearance_core::store::dynamodb::{BulkUser, DynamoStore, ScanBound};
use clearance_tests::dynalite::{Dynalite, local_client};
use serde_json::Value;

use crate::helpers::{TestApp, dynamo_store, roomy_timeouts};

/// A proxy in front of dynalite that forwards every request unchanged and records, for each
/// Scan, how many items it read (`ScannedCount` in the answer).
struct ScanCounter {
    addr: SocketAddr,
    scans: Arc<Mutex<Vec<u64>>>,
}

#[derive(Clone)]
struct Upstream {
    url: String,
    client: reqwest::Client,
    scans: Arc<Mutex<Vec<u64>>>,
}

impl ScanCounter {
    async fn start(upstream: String) -> Self {
        let scans = Arc::new(Mutex::new(Vec::new()));
        let state = Upstream {
            url: upstream,
            client: reqwest::Client::new(),
            scans: scans.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(forward).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, scans }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The items each Scan read since the last call.
    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.scans.lock().unwrap())
    }
}

async fn forward(
    State(upstream): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_scan = headers
        .get("x-amz-target")
        .is_some_and(|t| t.as_bytes().ends_with(b".Scan"));
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = upstream
        .client
        .request(method, format!("{}{path}", upstream.url))
        .body(body);
    for (name, value) in &headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = answer.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            out_headers.insert(name, value.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    if is_scan && status.is_success() {
        let parsed: Value = serde_json::from_slice(&bytes).expect("a Scan answer is JSON");
        let scanned = parsed["ScannedCount"].as_u64().expect("ScannedCount");
        upstream.scans.lock().unwrap().push(scanned);
    }
    (status, out_headers, bytes).into_response()
}

fn user(id: &str, companies: &[&str]) -> UserPermissions {
    stored(id, companies, "Standard")
}

#[tokio::test]
async fn one_listing_request_reads_at_most_the_scan_bound_and_the_cursors_read_the_table_once() {
    // Arrange: 3,000 users of another company and 3 of "rare", written straight into the table.
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let mut users: Vec<UserPermissions> = (0..3_000)
        .map(|i| user(&format!("outsider-{i:04}"), &["other"]))
        .collect();
    users.extend((0..3).map(|i| user(&format!("member-{i}"), &["rare", "other"])));
    let bulk: Vec<BulkUser> = users
        .iter()
        .map(|user| BulkUser {
            user: user.clone(),
            history: Vec::new(),
        })
        .collect();
    let outcome = dynamo_store(&dynalite, &table, roomy_timeouts(&table))
        .batch_put(&bulk, Instant::now() + Duration::from_secs(120))
        .await;
    assert_eq!(outcome.written.len(), users.len(), "{outcome:?}");
    let counter = ScanCounter::start(dynalite.endpoint()).await;
    let bound = ScanBound {
        pages: 2,
        page_items: 150,
    };
    let store = DynamoStore::from_client(
        local_client(counter.endpoint()),
        &table,
        &roomy_timeouts(&table),
    )
    .with_scan_bound(bound);
    let app = TestApp::with_store(store, Box::new(dynalite)).await;

    // Act: follow the cursors with the largest page size.
    let mut seen = BTreeSet::new();
    let mut scanned_in_all = 0;
    let mut requests = 0;
    let mut empty_pages_with_a_cursor = 0;
    let mut path = "/companies/rare/users?limit=1000".to_owned();
    loop {
        let answer = app.get(&path).await;
        requests += 1;
        let scans = counter.take();

        // Assert, for each request: at most `pages` Scans of at most `page_items` items each.
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(
            !scans.is_empty() && scans.len() <= 2,
            "request {requests} made {} Scans",
            scans.len()
        );
        assert!(scans.iter().all(|&n| n <= 150), "{scans:?}");
        let scanned: u64 = scans.iter().sum();
        assert!(scanned <= bound.max_items(), "{scanned} items read");
        scanned_in_all += scanned;

        let body = answer.json();
        let page = body["users"].as_array().unwrap();
        for member in page {
            let id = member["id"].as_str().unwrap().to_owned();
            assert!(seen.insert(id.clone()), "{id} listed twice");
        }
        match body["nextCursor"].as_str() {
            Some(cursor) => {
                if page.is_empty() {
                    empty_pages_with_a_cursor += 1;
                }
                path = format!("/companies/rare/users?limit=1000&cursor={cursor}");
            }
            None => break,
        }
        assert!(requests < 100, "the listing does not end");
    }

    // Every member once; the table read once in all, never whole in one request.
    let expected: BTreeSet<String> = (0..3).map(|i| format!("member-{i}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(scanned_in_all, 3_003, "each item is read exactly once");
    assert!(
        requests >= 11,
        "3,003 items at 300 a request need 11 requests, took {requests}"
    );
    // 3 members in 11 or more requests: at least 7 find none, and all but the last go on.
    assert!(
        empty_pages_with_a_cursor >= 7,
        "{empty_pages_with_a_cursor} empty pages with a cursor"
    );
}
