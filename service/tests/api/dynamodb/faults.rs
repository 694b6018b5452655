//! When DynamoDB fails: 503 with `Retry-After` within the configured timeout, cached users still
//! served, `/readyz` not ready, AWS's messages in the log and never in a response, and recovery
//! once DynamoDB is back, without restarting the service.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clearance_core::domain::{CompanyId, Permissions, Role, UserId};
use clearance_core::store::dynamodb::{DynamoSettings, DynamoStore};
use clearance_core::store::{Author, PermissionStore, Precondition};
use clearance_service::config::Settings;
use clearance_service::startup;
use clearance_tests::dynalite::{Dynalite, local_client};
use clearance_tests::server::SilentServer;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, dynamo_store, roomy_timeouts};

/// Time allowed on top of a configured timeout for a busy machine.
const MARGIN: Duration = Duration::from_secs(1);
/// The cache TTL of the fault test: long enough to outlast the first checks after DynamoDB
/// stops, short enough to run out while it is still down.
const CACHE_TTL: Duration = Duration::from_secs(4);
/// How long past its TTL the cached user may be served while DynamoDB is down (stale-if-error).
const STALE_IF_ERROR: Duration = Duration::from_secs(3);
/// How long the DynamoDB store remembers a successful readiness check.
const READY_TTL: Duration = Duration::from_secs(5);

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn perms(companies: &[&str], role: &str) -> Permissions {
    Permissions::new(
        companies
            .iter()
            .map(|c| CompanyId::parse(*c).unwrap())
            .collect(),
        Role::from_stored(role),
    )
    .unwrap()
}

/// Asserts `answer` is the generic 503 problem with `Retry-After`, and returns its body.
#[track_caller]
fn assert_unavailable(answer: &Answer) -> Value {
    let body = answer.problem(503, "store-unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"), "{body}");
    assert_eq!(
        body["detail"],
        "the permissions store did not answer in time; try again shortly"
    );
    body
}

/// Polls `path` every 100 ms until it answers `status`, up to `within`; returns the answer and
/// how long it took.
async fn poll_until(
    app: &TestApp,
    path: &str,
    status: u16,
    within: Duration,
) -> (Answer, Duration) {
    let started = Instant::now();
    loop {
        let answer = app.get(path).await;
        if answer.status.as_u16() == status {
            return (answer, started.elapsed());
        }
        assert!(
            started.elapsed() < within,
            "{path} still answers {} after {within:?}: {}",
            answer.status,
            answer.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Puts users `cached` (with `cached_companies`) and `uncached` the way an operator's tool would.
async fn put_users(store: &DynamoStore, cached_companies: &[&str]) {
    for (id, companies) in [("cached", cached_companies), ("uncached", &["1111"][..])] {
        store
            .put(
                &user(id),
                &perms(companies, "Manager"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn when_dynamodb_stops_uncached_reads_are_503_cached_ones_200_then_stale_if_error_and_it_recovers_unrestarted()
 {
    // Arrange: the service on dynalite with the production timeouts and a short cache TTL.
    let mut dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let timeouts = DynamoSettings::new(&table);
    let total_timeout = timeouts.total_timeout;
    let admin = dynamo_store(&dynalite, &table, roomy_timeouts(&table));
    put_users(&admin, &["1111"]).await;
    let mut settings = Settings::for_data_dir("unused");
    settings.cache_ttl = CACHE_TTL;
    settings.cache_stale_if_error = STALE_IF_ERROR;
    let state = startup::with_cache(dynamo_store(&dynalite, &table, timeouts), &settings);
    let app = TestApp::serve(state, Box::new(())).await;

    let cached_at = Instant::now();
    assert_eq!(app.get("/users/cached").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);

    // Act: DynamoDB goes away.
    dynalite.stop().await;
    let stopped_at = Instant::now();

    // An uncached read fails, in time, with a generic 503 and Retry-After.
    let started = Instant::now();
    let uncached = app.get("/users/uncached").await;
    let failed_in = started.elapsed();
    assert_unavailable(&uncached);
    assert!(
        failed_in < total_timeout + MARGIN,
        "the 503 took {failed_in:?}"
    );
    // So does a write.
    let write = app
        .put(
            "/users/new",
            json!({"companies": ["1111"], "role": "Standard"}),
        )
        .await;
    assert_unavailable(&write);
    // The cached user is still served.
    let cached = app.get("/users/cached").await;
    assert!(
        cached_at.elapsed() < CACHE_TTL,
        "the machine is too slow for this test: the cache entry expired before it was checked"
    );
    assert_eq!(cached.status, 200, "{}", cached.text);
    assert_eq!(cached.json()["companies"], json!(["1111"]));
    // Past its TTL, the cached user is still served while the store fails, and says so.
    tokio::time::sleep(
        (cached_at + CACHE_TTL + Duration::from_millis(200))
            .saturating_duration_since(Instant::now()),
    )
    .await;
    let stale = app.get("/users/cached").await;
    assert!(
        cached_at.elapsed() < CACHE_TTL + STALE_IF_ERROR,
        "the machine is too slow for this test: the stale-if-error window ended before the check"
    );
    assert_eq!(stale.status, 200, "{}", stale.text);
    let status = stale.header("cache-status").unwrap_or_default().to_owned();
    assert!(
        status.contains("detail=\"stale-if-error\""),
        "Cache-Status: {status}"
    );
    let age: u64 = stale.header("age").unwrap().parse().unwrap();
    assert!(age >= CACHE_TTL.as_secs(), "Age {age} below the TTL");
    // /readyz turns 503 once its remembered success runs out.
    let (not_ready, _) = poll_until(&app, "/readyz", 503, READY_TTL + total_timeout + MARGIN).await;
    assert_unavailable(&not_ready);
    let not_ready_after = stopped_at.elapsed();
    // Nothing is served from the cache past its TTL and the stale-if-error window.
    let (expired, _) = poll_until(
        &app,
        "/users/cached",
        503,
        CACHE_TTL + STALE_IF_ERROR + total_timeout + MARGIN,
    )
    .await;
    assert_unavailable(&expired);
    let cached_expired_after = cached_at.elapsed();
    assert!(
        cached_expired_after >= CACHE_TTL + STALE_IF_ERROR,
        "stale-if-error ended early, {cached_expired_after:?} after the read"
    );

    // DynamoDB comes back, empty (dynalite keeps nothing): the table and the data are made again,
    // and "cached" has changed meanwhile.
    dynalite.restart().await;
    let restarted_at = Instant::now();
    admin.create_table().await.unwrap();
    put_users(&admin, &["1111", "2222"]).await;
    let back_after = restarted_at.elapsed();

    // Assert: the same service recovers, with fresh data.
    let (uncached, recovered_in) =
        poll_until(&app, "/users/uncached", 200, Duration::from_secs(5)).await;
    assert_eq!(uncached.json()["companies"], json!(["1111"]));
    let cached = app.get("/users/cached").await;
    assert_eq!(cached.status, 200, "{}", cached.text);
    assert_eq!(cached.json()["companies"], json!(["1111", "2222"]));
    let (_, ready_again_in) = poll_until(&app, "/readyz", 200, Duration::from_secs(5)).await;
    let write = app
        .put(
            "/users/new",
            json!({"companies": ["1111"], "role": "Standard"}),
        )
        .await;
    assert_eq!(write.status, 201, "{}", write.text);

    eprintln!(
        "fault test: uncached read 503 in {failed_in:?}; /readyz 503 {not_ready_after:?} after \
         the stop; the cached user 503 {cached_expired_after:?} after it was cached; reads 200 \
         again {recovered_in:?} after the data was back ({back_after:?} after dynalite \
         restarted); /readyz 200 {ready_again_in:?} after that"
    );
}

#[tokio::test]
async fn a_dynamodb_that_never_answers_is_503_within_the_total_timeout() {
    // Accepts every connection and holds it open without ever answering.
    let silent = SilentServer::start().await;
    let endpoint = silent.url();
    let timeouts = DynamoSettings::new("permissions");
    let store = DynamoStore::from_client(local_client(endpoint), "permissions", &timeouts);
    let app = TestApp::with_store(store, Box::new(())).await;

    for path in ["/users/someone", "/readyz"] {
        let started = Instant::now();
        let answer = app.get(path).await;
        let took = started.elapsed();

        assert_unavailable(&answer);
        assert!(
            took < timeouts.total_timeout + MARGIN,
            "{path} took {took:?}"
        );
        assert!(took >= timeouts.attempt_timeout, "{path} took {took:?}");
        eprintln!("never-answering DynamoDB: {path} 503 in {took:?}");
    }
    drop(silent);
}

/// Log output written to memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

// The default (current-thread) runtime runs the servers on this thread, so a thread-local
// subscriber sees their events.
#[tokio::test]
async fn aws_error_messages_are_logged_once_and_never_sent_to_clients() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let _subscriber = tracing::subscriber::set_default(subscriber);
    let mut dynalite = Dynalite::start().await;
    // DynamoDB answers with a modelled error (ResourceNotFoundException) for a missing table, and
    // with one the SDK does not model (ValidationException, like AccessDeniedException) for a key
    // that does not fit the table.
    let missing = TestApp::with_store(
        dynamo_store(&dynalite, "no-such-table", roomy_timeouts("no-such-table")),
        Box::new(()),
    )
    .await;
    dynalite.create_table_keyed_by("keyed-by-pk", "pk").await;
    let wrong_key = TestApp::with_store(
        dynamo_store(&dynalite, "keyed-by-pk", roomy_timeouts("keyed-by-pk")),
        Box::new(()),
    )
    .await;

    let not_found = missing.get("/users/someone").await;
    let invalid = wrong_key.get("/users/someone").await;
    dynalite.stop().await;
    let unreachable = missing.get("/users/someone-else").await;

    for answer in [&not_found, &invalid] {
        let body = answer.problem(500, "internal");
        assert_eq!(body["detail"], "the server failed to complete the request");
    }
    assert_unavailable(&unreachable);
    let lines = logs.lines();
    let failures: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("request failed"))
        .collect();
    assert_eq!(failures.len(), 3, "one line per failed request: {lines:#?}");
    let causes = [
        "ResourceNotFoundException",
        "The provided key element does not match the schema",
        "Connection refused",
    ];
    for (failure, cause) in failures.iter().zip(causes) {
        assert!(failure.contains(cause), "{cause:?} not in {failure}");
        assert_eq!(
            lines.iter().filter(|l| l.contains(cause)).count(),
            1,
            "{cause:?} is logged once: {lines:#?}"
        );
    }
    for answer in [&not_found, &invalid, &unreachable] {
        for internal in causes.iter().chain(&[
            "ValidationException",
            "no-such-table",
            "keyed-by-pk",
            "dispatch",
            "DynamoDB",
        ]) {
            assert!(
                !answer
                    .text
                    .to_lowercase()
                    .contains(&internal.to_lowercase()),
                "{internal:?} reached the client: {}",
                answer.text
            );
        }
    }
}
