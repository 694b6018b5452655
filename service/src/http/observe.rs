//! What every request leaves behind, kept off its path: its id (`x-request-id`, the caller's or
//! one made here, sent back on the answer), request counts and latency histograms by route,
//! method and status ([`clearance_core::metrics::HTTP_REQUESTS`] and
//! [`clearance_core::metrics::HTTP_REQUEST_DURATION`]), and one access-log line.
//!
//! The request itself only reads the clock twice, bumps two pre-registered metric handles and
//! puts a small record (no allocation: the path is a shared view of the request's URI) on a
//! bounded queue, waking nobody. A thread of its own, every 10 ms, turns the records queued into
//! lines (target `clearance::access`, level INFO) in one buffer, in the text or JSON format of the
//! installed subscriber, and writes that buffer to stdout in one write: no `tracing` event, field
//! visitor or per-line timestamp formatting. (When Clearance did not install the global
//! subscriber, e.g. in a test that installed its own, the lines go through `tracing` to that
//! subscriber instead.) When the queue is full a line is dropped and counted
//! ([`clearance_core::metrics::ACCESS_LOG_DROPPED`]) rather than make the request wait; the
//! request is still counted in the metrics. With the access target filtered out
//! (`RUST_LOG=warn`, or `clearance::access=off`), no thread is started and nothing is queued.
//!
//! The per-request span (`request`, with method, path, request id and user id) is at DEBUG, so it
//! costs nothing unless asked for (`RUST_LOG=info,clearance_service::http::observe=debug`). Lines
//! that must be tied to their request whatever the filter (a 5xx cause, a token refusal) read the
//! request id from [`request_id`], a task-local value this layer sets.
//!
//! The same layer ([`ObserveLayer`]) also gives axum's bodiless 405 the problem body every other
//! error has.

use std::collections::HashMap;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::MatchedPath;
use axum::http::{self as http, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clearance_core::metrics::{ACCESS_LOG_DROPPED, HTTP_REQUEST_DURATION, HTTP_REQUESTS};
use clearance_core::telemetry::LogFormat;
use metrics::{Counter, Histogram};
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::instrument::Instrumented;

use super::problem::{ApiError, PROBLEM_JSON};

/// The log target of access lines (filter it with `RUST_LOG`, e.g. `clearance::access=off`).
pub const ACCESS_TARGET: &str = "clearance::access";

/// The message of every access line.
const ACCESS_MESSAGE: &str = "request answered";

/// Access records waiting for the log thread before new ones are dropped.
const QUEUED_RECORDS: usize = 64 * 1024;

/// Bytes of lines the log thread gathers before it writes them out.
const BATCH_BYTES: usize = 64 * 1024;

/// How often the log thread looks for records: lines reach stdout at most this late.
const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// The header that carries a request's id, the caller's or one made for it.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of a request that matched no route.
const UNMATCHED: &str = "unmatched";

tokio::task_local! {
    /// The request id of the request this task serves, set by [`Observe`].
    static REQUEST_ID: Option<HeaderValue>;
}

/// The `x-request-id` of the request being served (empty outside a request, or when it is not
/// text), for log lines that must be tied to their request without a span.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(|id| {
            id.as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default()
}

/// Per-request metrics and the access log, shared by every request: one `Arc`, since the
/// middleware's state is cloned for every request.
#[derive(Clone)]
pub struct Observer(Arc<Observing>);

/// What an [`Observer`] shares.
struct Observing {
    handles: RwLock<HashMap<Labels, Handles>>,
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

/// What the access log says about one request. Every field shares the request's own buffers
/// (the URI and the header value are reference-counted), so making one does not allocate.
struct AccessRecord {
    labels: Labels,
    uri: Uri,
    request_id: Option<HeaderValue>,
    /// When the answer was ready (the line's timestamp).
    answered: Instant,
    took: Duration,
}

/// Where access lines go.
#[derive(Clone, Copy)]
enum Sink {
    /// Written by the log thread itself to stdout, in this format.
    Stdout(LogFormat),
    /// Logged through `tracing` (a subscriber Clearance did not install).
    Tracing,
}

impl Observer {
    /// An observer whose access log is on when [`ACCESS_TARGET`] is enabled at INFO by the
    /// installed subscriber (then a thread of its own writes the lines; it ends when the last
    /// clone of the observer is dropped).
    pub fn new() -> Self {
        let sink = match clearance_core::telemetry::installed_format() {
            Some(format) => Sink::Stdout(format),
            None => Sink::Tracing,
        };
        let access = tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
            .then(|| {
                let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_RECORDS);
                std::thread::Builder::new()
                    .name("clearance-access-log".into())
                    .spawn(move || write_access_log(rx, sink))
                    .ok()
                    .map(|_| tx)
            })
            .flatten();
        Self(Arc::new(Observing {
            handles: RwLock::default(),
            access,
            dropped: metrics::counter!(ACCESS_LOG_DROPPED),
        }))
    }

    /// Whether access lines are written.
    pub fn access_log(&self) -> bool {
        self.0.access.is_some()
    }

    /// Counts the request and records its latency in its series' handles, registered on the
    /// series' first request.
    fn count(&self, labels: &Labels, took: Duration) {
        {
            let handles = self.0.handles.read().unwrap_or_else(|p| p.into_inner());
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
        self.0
            .handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(labels.clone())
            .or_insert(made);
    }

    fn record(&self, record: AccessRecord) {
        self.count(&record.labels, record.took);
        if let Some(access) = &self.0.access
            && let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                access.try_send(record)
        {
            self.0.dropped.increment(1);
        }
    }
}

impl Default for Observer {
    fn default() -> Self {
        Self::new()
    }
}

/// The layer every request passes first: it gives the request its id, times it, runs it with that
/// id at hand ([`request_id`]) and under a DEBUG span, gives a bodiless 405 its problem body, sends
/// the id back, then records the request.
///
/// One hand-written layer and future instead of a `from_fn` middleware and tower-http's two
/// request-id layers: axum still boxes and clones each layered route once per request, but the
/// `from_fn` middleware's own boxed future and its clone of the inner route are gone, and the
/// request id is looked up once where it was looked up three times. On the load benchmark (`scripts/bench-load`) that gave
/// cache hits about 9% more throughput.
#[derive(Clone)]
pub struct ObserveLayer {
    observer: Observer,
}

impl ObserveLayer {
    /// The layer recording every request in `observer`.
    pub fn new(observer: Observer) -> Self {
        Self { observer }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            observer: self.observer.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps around a route.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    observer: Observer,
}

impl<S, B> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let request_id = match req.headers().get(X_REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let made = made_request_id();
                req.headers_mut().insert(X_REQUEST_ID, made.clone());
                made
            }
        };
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        let uri = if self.observer.0.access.is_some() {
            req.uri().clone()
        } else {
            Uri::default()
        };
        // Off by default: at INFO, a span formats its fields into a string when it is created.
        let span = tracing::debug_span!(
            "request",
            method = %method,
            path = %req.uri().path(),
            request_id = request_id.to_str().unwrap_or(""),
            user_id = tracing::field::Empty,
        );
        let run = tracing::Instrument::instrument(self.inner.call(req), span);
        ObserveFuture {
            run: REQUEST_ID.scope(Some(request_id.clone()), run),
            pending: Some(Pending {
                observer: self.observer.clone(),
                started,
                route,
                method,
                uri,
                request_id,
            }),
        }
    }
}

/// What [`Observe`] keeps of a request until its answer is ready.
struct Pending {
    observer: Observer,
    started: Instant,
    route: Option<MatchedPath>,
    method: Method,
    uri: Uri,
    request_id: HeaderValue,
}

pin_project! {
    /// The answer of a request passing [`Observe`]: the inner service's, then recorded.
    pub struct ObserveFuture<F> {
        #[pin]
        run: TaskLocalFuture<Option<HeaderValue>, Instrumented<F>>,
        pending: Option<Pending>,
    }
}

impl<F, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    /// The inner answer, recorded. (An error of the inner service, which axum's routes never
    /// give, is passed on unrecorded: there is no status to record it under.)
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.run.poll(cx))?;
        // Like any future, this one must not be polled after its answer (the task-local future
        // inside would panic first).
        let pending = this
            .pending
            .take()
            .expect("ObserveFuture polled after its answer");
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            response = method_not_allowed_as_problem(&pending.method, response);
        }
        if !response.headers().contains_key(X_REQUEST_ID) {
            response
                .headers_mut()
                .insert(X_REQUEST_ID, pending.request_id.clone());
        }
        let answered = Instant::now();
        let labels = Labels {
            route: pending.route,
            method: pending.method,
            status: response.status(),
        };
        pending.observer.record(AccessRecord {
            labels,
            uri: pending.uri,
            request_id: Some(pending.request_id),
            answered,
            took: answered - pending.started,
        });
        Poll::Ready(Ok(response))
    }
}

/// A random (version 4) UUID for a request that came without an `x-request-id`, drawn from a fast
/// per-thread generator instead of the operating system's: a request id must be unique, not
/// unguessable, and a system call per request is a measurable part of a cache hit.
fn made_request_id() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = id.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a hyphenated UUID is a valid header value")
}

/// axum answers a known path with the wrong method by 405 and an `Allow` header but no body: give
/// it the same problem body as every other error, keeping `Allow`.
fn method_not_allowed_as_problem(method: &Method, response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut problem = ApiError::MethodNotAllowed(method.to_string()).into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}

/// The access-log thread: every [`FLUSH_INTERVAL`], takes every record queued, turns them into
/// lines and writes them out in one go, until every sender is gone.
///
/// It polls instead of blocking on the queue: a receiver blocked on the queue must be woken by
/// each request that queues a record, one futex call and one thread switch per request on a busy
/// core; polling, a request only ever touches the queue's memory.
fn write_access_log(records: Receiver<AccessRecord>, sink: Sink) {
    let mut lines = Lines::default();
    loop {
        let clock = Clock::now();
        let open = loop {
            match records.try_recv() {
                Ok(record) => match sink {
                    Sink::Stdout(format) => {
                        lines.push(format, &clock, &record);
                        if lines.buffer.len() >= BATCH_BYTES {
                            lines.write_out();
                        }
                    }
                    Sink::Tracing => log_through_tracing(&record),
                },
                Err(TryRecvError::Empty) => break true,
                Err(TryRecvError::Disconnected) => break false,
            }
        };
        lines.write_out();
        if !open {
            return;
        }
        std::thread::sleep(FLUSH_INTERVAL);
    }
}

/// An access line through `tracing`, for a subscriber Clearance did not install.
fn log_through_tracing(record: &AccessRecord) {
    tracing::info!(
        target: ACCESS_TARGET,
        method = %record.labels.method,
        path = %record.uri.path(),
        route = record.labels.route(),
        status = record.labels.status.as_u16(),
        latency_us = record.took.as_micros() as u64,
        request_id = text(record.request_id.as_ref()),
        "{ACCESS_MESSAGE}"
    );
}

fn text(value: Option<&HeaderValue>) -> &str {
    value.and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The wall clock and the monotonic clock read together once per batch, so a record's
/// [`Instant`] becomes a wall-clock time without reading the clock on the request's path.
struct Clock {
    wall: SystemTime,
    mono: Instant,
}

impl Clock {
    fn now() -> Self {
        Self {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    fn at(&self, instant: Instant) -> SystemTime {
        self.wall - self.mono.saturating_duration_since(instant)
    }
}

/// The lines of one batch, and the formatted date and time of the last second seen (every line
/// of a second shares it; only the microseconds are written per line).
#[derive(Default)]
struct Lines {
    buffer: Vec<u8>,
    second: Option<(u64, String)>,
}

impl Lines {
    /// Writes the lines gathered to stdout in one write, and empties the buffer. A failed write
    /// (stdout closed) loses these lines, as a logger would.
    fn write_out(&mut self) {
        if !self.buffer.is_empty() {
            let _ = std::io::stdout().lock().write_all(&self.buffer);
            self.buffer.clear();
        }
    }

    /// Appends the line for `record`: the same fields as the subscriber's own lines would show.
    ///
    /// Text: `2026-11-30T17:20:01.123456Z  INFO clearance::access: request answered method=GET
    /// path=/users/u1 route="/users/{id}" status=200 latency_us=41 request_id="7d0c..."`.
    /// JSON: `{"timestamp":"...","level":"INFO","target":"clearance::access","message":"request
    /// answered","method":"GET","path":"/users/u1","route":"/users/{id}","status":200,
    /// "latency_us":41,"request_id":"7d0c..."}`.
    fn push(&mut self, format: LogFormat, clock: &Clock, record: &AccessRecord) {
        let since_epoch = clock
            .at(record.answered)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let second = since_epoch.as_secs();
        if self.second.as_ref().is_none_or(|(s, _)| *s != second) {
            self.second = Some((second, date_time(second)));
        }
        let date_time = self.second.as_ref().map_or("", |(_, text)| text.as_str());
        let micros = since_epoch.subsec_micros();
        let method = record.labels.method.as_str();
        let path = record.uri.path();
        let route = record.labels.route();
        let status = record.labels.status.as_u16();
        let latency = record.took.as_micros() as u64;
        let request_id = text(record.request_id.as_ref());
        let out = &mut self.buffer;
        // Pieces appended as bytes (integers through `itoa`), not through `write!`: this thread
        // shares the server's core, so each line's cost is taken from the requests.
        let (date_time, fraction) = (date_time.as_bytes(), six_digits(micros));
        let (target, message, method) = (
            ACCESS_TARGET.as_bytes(),
            ACCESS_MESSAGE.as_bytes(),
            method.as_bytes(),
        );
        match format {
            LogFormat::Text => {
                push_all(
                    out,
                    &[
                        date_time,
                        b".",
                        &fraction,
                        b"Z  INFO ",
                        target,
                        b": ",
                        message,
                    ],
                );
                push_all(
                    out,
                    &[b" method=", method, b" path=", path.as_bytes(), b" route="],
                );
                push_debug_str(out, route);
                out.extend_from_slice(b" status=");
                push_number(out, status.into());
                out.extend_from_slice(b" latency_us=");
                push_number(out, latency);
                out.extend_from_slice(b" request_id=");
                push_debug_str(out, request_id);
                out.push(b'\n');
            }
            LogFormat::Json => {
                push_all(
                    out,
                    &[b"{\"timestamp\":\"", date_time, b".", &fraction, b"Z\""],
                );
                push_all(out, &[b",\"level\":\"INFO\",\"target\":\"", target]);
                push_all(
                    out,
                    &[b"\",\"message\":\"", message, b"\",\"method\":\"", method],
                );
                // Writing into a Vec cannot fail.
                out.extend_from_slice(b"\",\"path\":");
                let _ = serde_json::to_writer(&mut *out, path);
                out.extend_from_slice(b",\"route\":");
                let _ = serde_json::to_writer(&mut *out, route);
                out.extend_from_slice(b",\"status\":");
                push_number(out, status.into());
                out.extend_from_slice(b",\"latency_us\":");
                push_number(out, latency);
                out.extend_from_slice(b",\"request_id\":");
                let _ = serde_json::to_writer(&mut *out, request_id);
                out.extend_from_slice(b"}\n");
            }
        }
    }
}

fn push_all(out: &mut Vec<u8>, pieces: &[&[u8]]) {
    for piece in pieces {
        out.extend_from_slice(piece);
    }
}

/// `micros` as six digits, zero-padded (the fraction of a second in a timestamp).
fn six_digits(micros: u32) -> [u8; 6] {
    let mut digits = [b'0'; 6];
    let mut rest = micros.min(999_999);
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    digits
}

fn push_number(out: &mut Vec<u8>, number: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
}

/// `text` quoted as `{:?}` quotes it (the text format's quoted fields), quickly for what ids and
/// routes nearly always are: printable ASCII with no quote or backslash, which `{:?}` leaves as is.
fn push_debug_str(out: &mut Vec<u8>, text: &str) {
    let plain = clearance_core::text::all_bytes(text, |b| {
        (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\'
    });
    if plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{text:?}");
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC for seconds since the Unix epoch.
fn date_time(second: u64) -> String {
    let at = i64::try_from(second)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, request_id: &str) -> AccessRecord {
        AccessRecord {
            labels: Labels {
                route: None,
                method: Method::GET,
                status: StatusCode::NOT_FOUND,
            },
            uri: path.parse().unwrap(),
            request_id: Some(HeaderValue::from_str(request_id).unwrap()),
            answered: Instant::now(),
            took: Duration::from_micros(42),
        }
    }

    #[test]
    fn json_access_lines_escape_what_the_client_sent() {
        let mut lines = Lines::default();
        let clock = Clock::now();
        lines.push(
            LogFormat::Json,
            &clock,
            &record("/users/a%22b", "id \"quoted\" \\ end"),
        );
        let text = String::from_utf8(lines.buffer).unwrap();
        assert!(text.ends_with('\n'), "{text}");
        let line: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["request_id"], "id \"quoted\" \\ end");
        assert_eq!(line["path"], "/users/a%22b");
        assert_eq!(line["route"], UNMATCHED);
        assert_eq!(line["status"], 404);
        assert_eq!(line["latency_us"], 42);
        let stamp = line["timestamp"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{stamp}"
        );
    }

    #[test]
    fn text_access_lines_quote_the_request_id_and_date_each_line() {
        let mut lines = Lines::default();
        let clock = Clock::now();
        lines.push(LogFormat::Text, &clock, &record("/x", "a b"));
        lines.push(LogFormat::Text, &clock, &record("/y", "c"));
        let text = String::from_utf8(lines.buffer).unwrap();
        let all: Vec<&str> = text.lines().collect();
        assert_eq!(all.len(), 2, "{text}");
        assert!(all[0].contains(" INFO clearance::access: request answered method=GET path=/x route=\"unmatched\" status=404 latency_us=42 request_id=\"a b\""), "{text}");
        let stamp = all[1].split_whitespace().next().unwrap();
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{stamp}"
        );
    }

    #[test]
    fn quoted_fields_and_fractions_match_what_the_formatting_machinery_writes() {
        for text in [
            "",
            "plain-id_1.2:3",
            "a b",
            "quote\"inside",
            "back\\slash",
            "tab\there",
            "line\nfeed",
            "del\u{7f}",
            "é unicode",
            "\u{200b}zero width",
        ] {
            let mut out = Vec::new();
            push_debug_str(&mut out, text);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{text:?}"),
                "{text:?}"
            );
        }
        for micros in [0, 7, 42, 123_456, 999_999] {
            assert_eq!(six_digits(micros), format!("{micros:06}").as_bytes());
        }
        for number in [0, 9, 10, 404, u64::MAX] {
            let mut out = Vec::new();
            push_number(&mut out, number);
            assert_eq!(String::from_utf8(out).unwrap(), number.to_string());
        }
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(date_time(0), "1970-01-01T00:00:00");
        assert_eq!(date_time(1_796_139_285), "2026-12-01T15:34:45");
    }
}
