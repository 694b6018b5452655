//! The metrics every Clearance component records, through the `metrics` facade: one place that
//! names them, says what they mean and in what unit, so the Prometheus text on the service's
//! `/metrics` and the CloudWatch Embedded Metric Format lines on Lambda describe the same figures.
//!
//! Recording goes through the facade only (`metrics::counter!` and friends, or the helpers here);
//! which exporter receives the figures is chosen once per binary by `telemetry` (feature
//! `telemetry`): Prometheus text for the server, EMF lines on Lambda. With no exporter installed
//! (a library used on its own, most tests) every record is a no-op.
//!
//! Handles are registered once where they are used on a hot path (the cache registers its
//! counters when it is built, the service one pair per route and status), because a lookup by
//! name and labels on every request would cost more than the increment itself. So the exporter
//! must be installed before those are built: binaries install it first thing in `main`.

use metrics::{KeyName, SharedString, Unit};

/// HTTP requests answered, labelled `route` (the matched route, `unmatched` for none), `method`
/// and `status`.
pub const HTTP_REQUESTS: &str = "clearance_http_requests_total";
/// Time from a request's arrival to its answer, seconds, labelled like [`HTTP_REQUESTS`].
pub const HTTP_REQUEST_DURATION: &str = "clearance_http_request_duration_seconds";
/// Access-log lines dropped because the writer fell behind (the request was still answered and
/// counted in [`HTTP_REQUESTS`]).
pub const ACCESS_LOG_DROPPED: &str = "clearance_access_log_dropped_total";

/// Time a store call took, seconds, labelled `store` (`embedded`, `dynamodb`, ...) and
/// `operation` (`get`, `put`, `delete`, `batch_get`, `list_by_company`, `ready`, ...).
pub const STORE_CALL_DURATION: &str = "clearance_store_call_duration_seconds";
/// Store calls that failed, labelled `store`, `operation` and `kind` (the error's kind:
/// `unavailable`, `throttled`, `precondition_failed`, ...).
pub const STORE_ERRORS: &str = "clearance_store_errors_total";

/// Reads answered from the cache (including those that waited on another caller's load).
pub const CACHE_HITS: &str = "clearance_cache_hits_total";
/// Reads that went past the cache.
pub const CACHE_MISSES: &str = "clearance_cache_misses_total";
/// Store (or source) reads the cache made.
pub const CACHE_LOADS: &str = "clearance_cache_loads_total";
/// Entries that left the cache, labelled `cause`: `expired` (their TTL ended), `size` (the
/// capacity was reached), `invalidated` (a write went through the cache), `replaced`.
pub const CACHE_EVICTIONS: &str = "clearance_cache_evictions_total";
/// Background reads started to replace an entry older than the refresh interval (refresh-ahead),
/// or, while the store fails, to find out whether it is back (the stale entry served meanwhile).
pub const CACHE_REFRESHES: &str = "clearance_cache_refreshes_total";
/// Background reads that failed (the entry was kept until its TTL, or within the stale-if-error
/// window).
pub const CACHE_REFRESH_FAILURES: &str = "clearance_cache_refresh_failures_total";
/// Entries served past their TTL because the store failed (stale-if-error).
pub const CACHE_STALE_SERVES: &str = "clearance_cache_stale_serves_total";
/// The age of entries served from the cache (hits and stale serves), seconds since their store
/// read: how fresh the cached answers are.
pub const CACHE_SERVED_AGE: &str = "clearance_cache_served_age_seconds";
/// The highest permission version the cache has read from the store.
pub const CACHE_HIGHEST_VERSION: &str = "clearance_cache_highest_permission_version";
/// Entries the cache holds (approximate; set when the figures are exported).
pub const CACHE_ENTRIES: &str = "clearance_cache_entries";

/// JWKS fetches, labelled `outcome`: `ok` or `error`.
pub const JWKS_FETCHES: &str = "clearance_jwks_fetches_total";
/// Tokens refused, labelled `reason`: the refusal's stable code (`expired`, `bad_signature`,
/// `unknown_kid`, `jwks_unavailable`, ...), the same code the logs and deny reasons carry.
pub const JWT_REFUSALS: &str = "clearance_jwt_refusals_total";
/// Tokens answered from a verifier's verified-token cache, without checking their signature
/// again (`Verifier::with_token_cache`).
pub const JWT_TOKEN_CACHE_HITS: &str = "clearance_jwt_token_cache_hits_total";

/// Tokens a verifier's verified-token cache did not hold (or held past their `exp`), so they were
/// verified in full: with [`JWT_TOKEN_CACHE_HITS`], the cache's hit ratio.
pub const JWT_TOKEN_CACHE_MISSES: &str = "clearance_jwt_token_cache_misses_total";

/// What kind of figure a metric is.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric above: its kind, unit and description (what exporters show as `# HELP`).
#[rustfmt::skip]
const DESCRIPTIONS: &[(&str, Kind, Unit, &str)] = &[
    (HTTP_REQUESTS, Kind::Counter, Unit::Count, "HTTP requests answered."),
    (HTTP_REQUEST_DURATION, Kind::Histogram, Unit::Seconds, "Time from a request's arrival to its answer."),
    (ACCESS_LOG_DROPPED, Kind::Counter, Unit::Count, "Access-log lines dropped because the writer fell behind."),
    (STORE_CALL_DURATION, Kind::Histogram, Unit::Seconds, "Time a store call took."),
    (STORE_ERRORS, Kind::Counter, Unit::Count, "Store calls that failed."),
    (CACHE_HITS, Kind::Counter, Unit::Count, "Reads answered from the cache."),
    (CACHE_MISSES, Kind::Counter, Unit::Count, "Reads that went past the cache."),
    (CACHE_LOADS, Kind::Counter, Unit::Count, "Store reads made by the cache."),
    (CACHE_EVICTIONS, Kind::Counter, Unit::Count, "Entries that left the cache, by cause."),
    (CACHE_ENTRIES, Kind::Gauge, Unit::Count, "Entries held by the cache."),
    (CACHE_REFRESHES, Kind::Counter, Unit::Count, "Background reads replacing entries older than the refresh interval, or probing a failing store."),
    (CACHE_REFRESH_FAILURES, Kind::Counter, Unit::Count, "Background reads that failed."),
    (CACHE_STALE_SERVES, Kind::Counter, Unit::Count, "Entries served past their TTL while the store failed (stale-if-error)."),
    (CACHE_SERVED_AGE, Kind::Histogram, Unit::Seconds, "Age of the entries served from the cache, since their store read."),
    (CACHE_HIGHEST_VERSION, Kind::Gauge, Unit::Count, "The highest permission version the cache has read."),
    (JWKS_FETCHES, Kind::Counter, Unit::Count, "JWKS fetches, by outcome."),
    (JWT_REFUSALS, Kind::Counter, Unit::Count, "Tokens refused, by reason."),
    (JWT_TOKEN_CACHE_HITS, Kind::Counter, Unit::Count, "Tokens answered from the verified-token cache, without a signature check."),
    (JWT_TOKEN_CACHE_MISSES, Kind::Counter, Unit::Count, "Tokens the verified-token cache did not hold, verified in full."),
];

/// Gives every metric above its description and unit in the installed exporter (Prometheus
/// `# HELP` lines, EMF units). Called by the exporters' installers; harmless to call again.
pub fn describe() {
    metrics::with_recorder(|recorder| {
        for &(name, kind, unit, help) in DESCRIPTIONS {
            let (key, help) = (KeyName::from_const_str(name), SharedString::const_str(help));
            match kind {
                Kind::Counter => recorder.describe_counter(key, Some(unit), help),
                Kind::Gauge => recorder.describe_gauge(key, Some(unit), help),
                Kind::Histogram => recorder.describe_histogram(key, Some(unit), help),
            }
        }
    });
}

/// Counts a refused token under its stable code.
pub fn jwt_refused(code: &'static str) {
    metrics::counter!(JWT_REFUSALS, "reason" => code).increment(1);
}

/// Counts a JWKS fetch and whether it succeeded.
pub fn jwks_fetched(ok: bool) {
    metrics::counter!(JWKS_FETCHES, "outcome" => if ok { "ok" } else { "error" }).increment(1);
}
