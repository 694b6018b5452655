//! What the service tells operators: the metrics on `/metrics` (requests by route and status,
//! store calls, the cache, refused tokens) and the access log, written off the request path.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, start_binary_logging};

/// The value of the sample `name{labels}` in Prometheus text, if present.
fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        (series == name_and_labels).then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn metrics_count_requests_and_their_latency_by_route_method_and_status() {
    let app = TestApp::embedded().await;
    app.given_user("counted", &["1111"], "Standard").await;
    for _ in 0..3 {
        assert_eq!(app.get("/users/counted").await.status, 200);
    }
    assert_eq!(app.get("/users/nobody").await.status, 404);
    assert_eq!(app.get("/no/such/route").await.status, 404);

    let metrics = app.get("/metrics").await.text;
    let ok = r#"route="/users/{id}",method="GET",status="200""#;
    assert_eq!(
        sample(&metrics, &format!("clearance_http_requests_total{{{ok}}}")),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_http_requests_total{route="/users/{id}",method="GET",status="404"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_http_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("clearance_http_request_duration_seconds_count{{{ok}}}")
        ),
        Some(3.0),
        "{metrics}"
    );
    // Buckets, not quantiles: they add up across instances.
    assert_eq!(
        sample(
            &metrics,
            &format!("clearance_http_request_duration_seconds_bucket{{{ok},le=\"+Inf\"}}")
        ),
        Some(3.0),
        "{metrics}"
    );
    assert!(
        metrics.contains("# HELP clearance_http_requests_total HTTP requests answered."),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_time_store_calls_by_operation_under_the_cache() {
    let app = TestApp::embedded().await;
    app.given_user("stored", &["1111"], "Standard").await;
    for _ in 0..3 {
        assert_eq!(app.get("/users/stored").await.status, 200);
    }
    let metrics = app.get("/metrics").await.text;
    // One read reached the store; the two others were cache hits, which cost no store call.
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_store_call_duration_seconds_count{store="embedded",operation="get"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_store_call_duration_seconds_count{store="embedded",operation="put"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    // The entry count is moka's, brought up to date by its housekeeping.
    eventually(&app, "stored", "clearance_cache_entries", 1.0).await;
}

/// Polls `/metrics` until `series` reads `value`, reading `user` in between: moka counts entries
/// and removals in its housekeeping, which cache operations drive (at most every 300 ms).
async fn eventually(app: &TestApp, user: &str, series: &str, value: f64) {
    let mut metrics = String::new();
    for _ in 0..50 {
        assert_eq!(app.get(&format!("/users/{user}")).await.status, 200);
        metrics = app.get("/metrics").await.text;
        if sample(&metrics, series) == Some(value) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{series} never read {value}: {metrics}");
}

#[tokio::test]
async fn metrics_count_failed_store_calls_by_operation_and_kind() {
    let app = TestApp::embedded().await;
    app.given_user("twice", &["1111"], "Standard").await;
    let again = app
        .send(
            Method::PUT,
            "/users/twice",
            &[("if-none-match", "*"), ("content-type", "application/json")],
            Some(serde_json::json!({"companies": ["1111"], "role": "Standard"}).to_string()),
        )
        .await;
    assert_eq!(again.status, 412);
    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_store_errors_total{store="embedded",operation="put",kind="precondition_failed"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_cache_evictions_by_cause() {
    let app = TestApp::embedded().await;
    app.given_user("evicted", &["1111"], "Standard").await;
    assert_eq!(app.get("/users/evicted").await.status, 200);
    // A write through the cache invalidates the entry.
    app.given_user("evicted", &["2222"], "Standard").await;
    eventually(
        &app,
        "evicted",
        r#"clearance_cache_evictions_total{cause="invalidated"}"#,
        1.0,
    )
    .await;
}

/// Reads lines until one holds `needle`, for up to 10 s.
async fn line_with(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    needle: &str,
) -> String {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.recv().await {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("the service stopped logging before a line with {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no line with {needle:?} within 10 s"))
}

#[tokio::test]
async fn every_request_gets_one_access_line_with_route_status_latency_and_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, base, _, mut lines) =
        start_binary_logging(&["--data-dir", dir.path().to_str().unwrap()], &[]).await;
    let client = reqwest::Client::new();
    let answer = client
        .get(format!("{base}/users/3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10"))
        .header("x-request-id", "access-line-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let line = line_with(&mut lines, "access-line-1").await;
    for part in [
        "clearance::access",
        "method=GET",
        "path=/users/3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10",
        "route=\"/users/{id}\"",
        "status=200",
        "latency_us=",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    // A request without an id gets one made for it: sent back, and the same in its line.
    let answer = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let made = answer
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("an x-request-id made for the request")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let line = line_with(&mut lines, &made).await;
    assert!(line.contains("route=\"/healthz\""), "{line}");
}

#[tokio::test]
async fn access_lines_are_json_objects_under_log_format_json() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, base, _, mut lines) = start_binary_logging(
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--log-format",
            "json",
        ],
        &[],
    )
    .await;
    let answer = reqwest::Client::new()
        .get(format!("{base}/users/nobody-here"))
        .header("x-request-id", "access-line-json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);

    let line = line_with(&mut lines, "access-line-json").await;
    let line: Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(line["target"], "clearance::access", "{line}");
    assert_eq!(line["status"], 404, "{line}");
    assert_eq!(line["route"], "/users/{id}", "{line}");
    assert_eq!(line["request_id"], "access-line-json", "{line}");
    assert!(line["latency_us"].is_u64(), "{line}");
}

#[tokio::test]
async fn filtering_out_the_access_target_keeps_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, base, _, mut lines) = start_binary_logging(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("RUST_LOG", "info,clearance::access=off")],
    )
    .await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let answer = client
            .get(format!("{base}/healthz"))
            .header("x-request-id", "not-logged")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_http_requests_total{route="/healthz",method="GET",status="200"}"#
        ),
        Some(2.0),
        "{metrics}"
    );
    // Anything logged by now would have been written: the writer flushes whenever its queue empties.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(line) = lines.try_recv() {
        assert!(!line.contains("not-logged"), "{line}");
    }
}

#[tokio::test]
async fn metrics_count_refused_tokens_by_reason_and_jwks_fetches() {
    let issuer = clearance_tests::issuer::TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = clearance_service::config::Settings::for_data_dir(dir.path());
    settings.sample_data = false;
    settings.auth.mode = clearance_service::http::auth::AuthMode::Jwt;
    settings.auth.jwt_issuer = Some(issuer.issuer());
    settings.auth.jwt_jwks_url = Some(issuer.jwks_url());
    settings.auth.jwt_client_ids = Some("metrics-console".to_owned());
    let app = TestApp::with_settings(&settings).await;

    let mut expired = issuer.access_claims("alice", "metrics-console");
    expired["exp"] = serde_json::json!(clearance_tests::issuer::now() - 10);
    for _ in 0..2 {
        let answer = app
            .send(
                Method::GET,
                "/users/alice",
                &[(
                    "authorization",
                    &format!("Bearer {}", issuer.sign(&expired)),
                )],
                None,
            )
            .await;
        assert_eq!(answer.status, 401);
    }

    let metrics = app.get("/metrics").await.text;
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_jwt_refusals_total{reason="expired"}"#
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, r#"clearance_jwks_fetches_total{outcome="ok"}"#),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"clearance_http_requests_total{route="/users/{id}",method="GET",status="401"}"#
        ),
        Some(2.0),
        "{metrics}"
    );
}
