//! What every request leaves behind, kept off its path: request counts and latency histograms by
//! route, method and status ([`clearance_core::metrics::HTTP_REQUESTS`] and
//! [`clearance_core::metrics::HTTP_REQUEST_DURATION`]), and one access-log line.
//!
//! The request itself only reads the clock twice, bumps two pre-registered metric handles and
//! puts a small record on a bounded queue; a thread of its own turns records into log lines
//! (target `clearance::access`, level INFO, in the configured text or JSON format), and the log
//! writer writes them in batches. When the queue is full a line is dropped and counted
//! ([`clearance_core::metrics::ACCESS_LOG_DROPPED`]) rather than make the request wait; the
//! request is still counted in the metrics. With the access target filtered out (`RUST_LOG=warn`,
//! or `clearance::access=off`), no thread is started and nothing is queued.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use clearance_core::metrics::{ACCESS_LOG_DROPPED, HTTP_REQUEST_DURATION, HTTP_REQUESTS};
use metrics::{Counter, Histogram};

/// The log target of access lines (filter it with `RUST_LOG`, e.g. `clearance::access=off`).
pub const ACCESS_TARGET: &str = "clearance::access";

/// Access records waiting for the log thread before new ones are dropped.
const QUEUED_RECORDS: usize = 64 * 1024;

/// The route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

/// Per-request metrics and the access log, shared by every request.
#[derive(Clone)]
pub struct Observer {
    handles: Arc<RwLock<HashMap<Labels, Handles>>>,
    access: Option<SyncSender<AccessRecord>>,
    dropped: Counter,
}

/// The labels of one series: route, method, status.
#[derive(Clone)]
struct Labels {
    route: Option<MatchedPath>,
    method: Method,
    status: StatusCode,
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status && self.method == other.method && self.route() == other.route()
    }
}

impl Eq for Labels {}

impl std::hash::Hash for Labels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.route().hash(state);
        self.method.hash(state);
        self.status.hash(state);
    }
}

impl Labels {
    fn route(&self) -> &str {
        self.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str)
    }
}

struct Handles {
    requests: Counter,
    duration: Histogram,
}

/// What the access log says about one request.
struct AccessRecord {
    labels: Labels,
    path: String,
    request_id: Option<HeaderValue>,
    took: Duration,
}

impl Observer {
    /// An observer whose access log is on when [`ACCESS_TARGET`] is enabled at INFO by the
    /// installed subscriber (then a thread of its own writes the lines; it ends when the last
    /// clone of the observer is dropped).
    pub fn new() -> Self {
        let access = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
            .then(|| {
                let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_RECORDS);
                std::thread::Builder::new()
                    .name("clearance-access-log".into())
                    .spawn(move || write_access_log(rx))
                    .ok()
                    .map(|_| tx)
            })
            .flatten();
        Self {
            handles: Arc::default(),
            access,
            dropped: metrics::counter!(ACCESS_LOG_DROPPED),
        }
    }

    /// Whether access lines are written.
    pub fn access_log(&self) -> bool {
        self.access.is_some()
    }

    /// Counts the request and records its latency in its series' handles, registered on the
    /// series' first request.
    fn count(&self, labels: &Labels, took: Duration) {
        {
            let handles = self.handles.read().unwrap_or_else(|p| p.into_inner());
            if let Some(found) = handles.get(labels) {
                found.requests.increment(1);
                found.duration.record(took);
                return;
            }
        }
        let route = labels.route().to_owned();
        let method = labels.method.as_str().to_owned();
        let status = labels.status.as_str().to_owned();
        let made = Handles {
            requests: metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.clone()),
            duration: metrics::histogram!(HTTP_REQUEST_DURATION, "route" => route, "method" => method, "status" => status),
        };
        made.requests.increment(1);
        made.duration.record(took);
        self.handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(labels.clone())
            .or_insert(made);
    }

    fn record(&self, labels: Labels, took: Duration, path: &str, request_id: Option<&HeaderValue>) {
        self.count(&labels, took);
        if let Some(access) = &self.access {
            let record = AccessRecord {
                labels,
                path: path.to_owned(),
                request_id: request_id.cloned(),
                took,
            };
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                access.try_send(record)
            {
                self.dropped.increment(1);
            }
        }
    }
}

impl Default for Observer {
    fn default() -> Self {
        Self::new()
    }
}

/// The middleware: times the request, then records it.
pub async fn observe(State(observer): State<Observer>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let request_id = req.headers().get("x-request-id").cloned();
    let path = if observer.access.is_some() {
        req.uri().path().to_owned()
    } else {
        String::new()
    };
    // The span every log line of this request carries (the user id is added once it is known).
    let span = tracing::info_span!(
        "request",
        method = %method,
        path = %req.uri().path(),
        request_id = request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
        user_id = tracing::field::Empty,
    );
    let response = tracing::Instrument::instrument(next.run(req), span).await;
    let labels = Labels {
        route,
        method,
        status: response.status(),
    };
    observer.record(labels, started.elapsed(), &path, request_id.as_ref());
    response
}

/// The access-log thread: one INFO line per record, until every sender is gone.
fn write_access_log(records: Receiver<AccessRecord>) {
    for record in records {
        let request_id = record
            .request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info!(
            target: ACCESS_TARGET,
            method = %record.labels.method,
            path = %record.path,
            route = record.labels.route(),
            status = record.labels.status.as_u16(),
            latency_us = record.took.as_micros() as u64,
            request_id,
            "request answered"
        );
    }
}
