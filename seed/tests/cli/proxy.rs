//! A DynamoDB proxy for the retry tests: forwards every request to dynalite, but takes some writes
//! out of each `BatchWriteItem` and answers them back as `UnprocessedItems`, as DynamoDB does when
//! a partition is busy. It can also slow every `BatchWriteItem` down.
//!
//! The proxy rewrites request bodies, which breaks their SigV4 signatures: dynalite checks that a
//! request is signed, not that the signature is right, so it accepts them. The answer's
//! `x-amz-crc32` is dropped, since the body it covers is rewritten too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clearance_tests::server::TestServer;
use serde_json::{Value, json};

/// Decides whether to hold back the write of `id`, given how many times it was seen before.
type HoldRule = Box<dyn Fn(&str, usize) -> bool + Send + Sync>;

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    hold: HoldRule,
    delay: Duration,
    seen: Mutex<HashMap<String, usize>>,
    held_back: AtomicUsize,
    batch_writes: AtomicUsize,
}

/// A running proxy, stopped when dropped.
pub struct Proxy {
    pub endpoint: String,
    state: Arc<ProxyState>,
    _server: TestServer,
}

impl Proxy {
    /// A proxy in front of `upstream` that holds back the writes `hold` picks and delays every
    /// `BatchWriteItem` by `delay`.
    pub async fn start(
        upstream: String,
        delay: Duration,
        hold: impl Fn(&str, usize) -> bool + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(ProxyState {
            upstream,
            client: reqwest::Client::new(),
            hold: Box::new(hold),
            delay,
            seen: Mutex::new(HashMap::new()),
            held_back: AtomicUsize::new(0),
            batch_writes: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let server = TestServer::start(app).await;
        Self {
            endpoint: server.url(),
            state,
            _server: server,
        }
    }

    /// How many writes were held back in all.
    pub fn held_back(&self) -> usize {
        self.state.held_back.load(Ordering::SeqCst)
    }

    /// How many `BatchWriteItem` requests arrived.
    pub fn batch_writes(&self) -> usize {
        self.state.batch_writes.load(Ordering::SeqCst)
    }
}

/// The id a write in a `BatchWriteItem` is for.
fn write_id(write: &Value) -> Option<String> {
    let key = write
        .pointer("/PutRequest/Item/id/S")
        .or_else(|| write.pointer("/DeleteRequest/Key/id/S"))?;
    key.as_str().map(str::to_owned)
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let is_batch_write = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.ends_with(".BatchWriteItem"));
    let mut held: Vec<(String, Vec<Value>)> = Vec::new();
    let mut body = body;
    if is_batch_write {
        state.batch_writes.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(state.delay).await;
        let mut request: Value = serde_json::from_slice(&body).expect("BatchWriteItem JSON");
        let mut forwarded_any = false;
        if let Some(tables) = request
            .get_mut("RequestItems")
            .and_then(Value::as_object_mut)
        {
            for (table, writes) in tables.iter_mut() {
                let Some(list) = writes.as_array_mut() else {
                    continue;
                };
                let mut keep = Vec::new();
                let mut hold = Vec::new();
                for write in list.drain(..) {
                    let id = write_id(&write).unwrap_or_default();
                    let before = {
                        let mut seen = state.seen.lock().unwrap();
                        let count = seen.entry(id.clone()).or_insert(0);
                        *count += 1;
                        *count - 1
                    };
                    if (state.hold)(&id, before) {
                        hold.push(write);
                    } else {
                        keep.push(write);
                    }
                }
                state.held_back.fetch_add(hold.len(), Ordering::SeqCst);
                forwarded_any |= !keep.is_empty();
                *list = keep;
                if !hold.is_empty() {
                    held.push((table.clone(), hold));
                }
            }
            // DynamoDB refuses an empty list of writes for a table.
            tables.retain(|_, writes| writes.as_array().is_some_and(|w| !w.is_empty()));
        }
        if !forwarded_any {
            return answer(StatusCode::OK, unprocessed(json!({}), held));
        }
        body = Bytes::from(serde_json::to_vec(&request).expect("JSON"));
    }

    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            headers.insert(name.clone(), value.clone());
        }
    }
    let upstream = state
        .client
        .request(parts.method, format!("{}{}", state.upstream, parts.uri))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("dynalite answers the proxy");
    let status = upstream.status();
    let text = upstream.bytes().await.expect("dynalite's answer");
    if held.is_empty() || !status.is_success() {
        return answer(status, text.to_vec());
    }
    let out: Value = serde_json::from_slice(&text).expect("BatchWriteItem answer");
    answer(status, unprocessed(out, held))
}

/// `out` with the `held` writes added to its `UnprocessedItems`.
fn unprocessed(mut out: Value, held: Vec<(String, Vec<Value>)>) -> Vec<u8> {
    let object = out.as_object_mut().expect("an object");
    let items = object
        .entry("UnprocessedItems")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("UnprocessedItems is an object");
    for (table, writes) in held {
        let list = items
            .entry(table)
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("a list of writes");
        list.extend(writes);
    }
    serde_json::to_vec(&out).expect("JSON")
}

fn answer(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        body,
    )
        .into_response()
}
