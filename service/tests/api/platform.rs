//! What is not one endpoint: request ids, health, docs, metrics, persistence, start-up rules,
//! graceful shutdown, and the same router under the Lambda runtime.

use std::time::Duration;

use clearance_service::config::Settings;
use clearance_tests::answer::Answer;
use clearance_tests::function::Function;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{BINARY, TestApp, fixture, run_to_end, start_binary};

#[tokio::test]
async fn every_response_carries_a_request_id_and_an_incoming_one_is_kept() {
    let app = TestApp::embedded().await;
    let made = app.get("/healthz").await;
    let id = made.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let kept = app
        .send(
            Method::GET,
            "/users/nobody",
            &[("x-request-id", "trace-me-42")],
            None,
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some("trace-me-42"));
    let other = app.get("/healthz").await;
    assert_ne!(other.header("x-request-id"), Some(id));
}

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = TestApp::embedded().await;
    assert_eq!(app.get("/healthz").await.json(), json!({"status": "ok"}));
    assert_eq!(app.get("/readyz").await.json(), json!({"status": "ready"}));
}

#[tokio::test]
async fn the_openapi_document_and_the_docs_page_are_served() {
    let app = TestApp::embedded().await;
    let doc = app.get("/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/users/{id}",
        "/users/batch-get",
        "/companies/{company}/users",
        "/check",
        "/access/v1/evaluation",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the document"
        );
    }
    let page = app.get("/docs").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("openapi.json"));
    assert!(
        !page.text.contains("https://"),
        "the docs page must not load anything from elsewhere"
    );
}

#[tokio::test]
async fn metrics_count_cache_hits_and_misses() {
    let app = TestApp::embedded().await;
    app.given_user("m", &["1111"], "Standard").await;
    for _ in 0..3 {
        assert_eq!(app.get("/users/m").await.status, 200);
    }
    let metrics = app.get("/metrics").await.text;
    assert!(
        metrics.contains("clearance_cache_misses_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clearance_cache_hits_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clearance_cache_loads_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_write_survives_a_restart_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(dir.path());
    settings.sample_data = false;
    let app = TestApp::with_settings(&settings).await;
    app.given_user("durable", &["1111", "2222"], "Admin").await;
    app.patch("/users/durable", json!({"removeCompanies": ["2222"]}))
        .await;
    app.stop().await;

    let app = TestApp::with_settings(&settings).await;
    let body = app.get("/users/durable").await.json();
    assert_eq!(body["companies"], json!(["1111"]));
    assert_eq!(body["version"], 2);
}

#[tokio::test]
async fn the_binary_loads_the_sample_data_into_an_empty_store_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let (mut child, base, log) = start_binary(&["--data-dir", data_dir], &[]).await;
    assert!(
        log.iter().any(|l| l.contains("loaded the sample users")),
        "{log:?}"
    );
    let body: Value = reqwest::get(format!("{base}/users/3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["companies"], json!(["1111"]));
    assert_eq!(body["role"], "Manager");
    child.kill().await.unwrap();

    // A second start finds data and loads nothing.
    let (mut child, _, log) = start_binary(&["--data-dir", data_dir], &[]).await;
    assert!(
        !log.iter().any(|l| l.contains("loaded the sample users")),
        "{log:?}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_non_loopback_listen_address_is_refused_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stderr) = run_to_end(
        &[
            "--listen",
            "0.0.0.0:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("--insecure-allow-remote"), "{stderr}");
}

#[tokio::test]
async fn no_authentication_under_lambda_is_refused_without_the_explicit_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stderr) = run_to_end(
        &[
            "--store",
            "embedded",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("--auth none under AWS Lambda")
            && stderr.contains("CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA"),
        "{stderr}"
    );
    assert!(
        is_empty(dir.path()),
        "refused before anything was opened or written"
    );
}

fn is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_with_a_message_naming_it() {
    let (ok, stderr) = run_to_end(&["--roles", "Standard,Manager,Standard"], &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains("--roles") && stderr.contains("more than once"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_short_cursor_secret_stops_start_up_naming_the_setting_but_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let short = "only-twenty-one-bytes";
    let output = tokio::process::Command::new(BINARY)
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("CLEARANCE_CURSOR_SECRET", short)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stderr.contains("--cursor-secret (CLEARANCE_CURSOR_SECRET)")
            && stderr.contains("at least 32 bytes (got 21)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(short) && !stdout.contains(short),
        "{stderr}{stdout}"
    );

    // Nor does --help show the value the variable holds.
    let good = "a-good-cursor-secret-that-is-long-enough";
    let help = tokio::process::Command::new(BINARY)
        .arg("--help")
        .env("CLEARANCE_CURSOR_SECRET", good)
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("CLEARANCE_CURSOR_SECRET"), "{help}");
    assert!(!help.contains(good), "{help}");
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, _) =
        start_binary(&["--data-dir", dir.path().to_str().unwrap()], &[]).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let body = r#"{"companies": ["1111"], "role": "Standard"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /users/in-flight HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;

    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the service stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn the_same_router_answers_api_gateway_events_under_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let function = Function::start(
        BINARY,
        "clearance-permissions-api",
        // On Lambda the default store is DynamoDB; this test is about the embedded one.
        &[
            ("CLEARANCE_STORE", "embedded"),
            ("CLEARANCE_DATA_DIR", dir.path().to_str().unwrap()),
            // This test is about routing; authentication under Lambda is tested in `auth`.
            ("CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA", "true"),
        ],
    )
    .await;

    let rest = function.respond(fixture("apigw-rest-get-user.json")).await;
    let answer = Answer::from_lambda(&rest);
    assert_eq!(answer.status, 200, "{rest}");
    let body = answer.json();
    assert_eq!(body["companies"], json!(["1111"]));
    assert_eq!(body["role"], "Manager");
    let request_id = answer.header("x-request-id").expect("x-request-id");
    assert!(request_id.contains("rest-event-request-id"), "{rest}");

    let http = function
        .respond(fixture("apigw-http-v2-put-user.json"))
        .await;
    let answer = Answer::from_lambda(&http);
    assert_eq!(answer.status, 201, "{http}");
    let body = answer.json();
    assert_eq!(body["id"], "lambda-user");
    assert_eq!(body["version"], 1);
}
