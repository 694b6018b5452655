//! Caller authentication: `--auth jwt` with real tokens signed by a test issuer whose JWKS is
//! served over HTTP, the audit events of writes read from the binary's JSON logs, and
//! `--auth gateway` fed API Gateway events with each kind of authorizer context.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clearance_service::config::Settings;
use clearance_service::http::auth::AuthMode;
use clearance_tests::answer::{Answer, assert_detail_contains};
use clearance_tests::function::Function;
use clearance_tests::issuer::{TestIssuer, now};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{BINARY, TestApp, fixture, run_to_end};

const CLIENT: &str = "admin-console";
const MACHINE: &str = "provisioner-m2m";

fn jwt_settings(issuer: &TestIssuer, dir: &std::path::Path) -> Settings {
    let mut settings = Settings::for_data_dir(dir);
    settings.sample_data = false;
    settings.auth.mode = AuthMode::Jwt;
    settings.auth.jwt_issuer = Some(issuer.issuer());
    settings.auth.jwt_jwks_url = Some(issuer.jwks_url());
    settings.auth.jwt_client_ids = Some(format!("{CLIENT},{MACHINE}"));
    settings
}

/// A user's token with `scope`.
fn user_token(issuer: &TestIssuer, sub: &str, scope: &str) -> String {
    let mut claims = issuer.access_claims(sub, CLIENT);
    claims["scope"] = json!(scope);
    issuer.sign(&claims)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn jwt_mode_refuses_a_call_without_a_token_with_401_and_a_challenge() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&jwt_settings(&issuer, dir.path())).await;
    let answer = app.get("/users/alice").await;
    let body = answer.problem(401, "unauthorized");
    assert_eq!(
        answer.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert_detail_contains(&body, "no bearer token");
    let answer = app
        .send(
            Method::GET,
            "/users/alice",
            &[("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")],
            None,
        )
        .await;
    answer.problem(401, "unauthorized");
}

#[tokio::test]
async fn jwt_mode_refuses_bad_tokens_naming_the_check_that_failed() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&jwt_settings(&issuer, dir.path())).await;
    let mut expired = issuer.access_claims("alice", CLIENT);
    expired["exp"] = json!(now() - 10);
    expired["scope"] = json!("clearance/read");
    let mut other_client = issuer.access_claims("alice", "some-other-app");
    other_client["scope"] = json!("clearance/read");
    for (token, expected) in [
        (issuer.sign(&expired), "expired"),
        (issuer.sign(&other_client), "client"),
        ("not-a-token".to_owned(), "malformed"),
        (
            issuer.sign_with_kid(&issuer.access_claims("alice", CLIENT), "nope"),
            "nope",
        ),
    ] {
        let auth = bearer(&token);
        let answer = app
            .send(
                Method::GET,
                "/users/alice",
                &[("authorization", &auth)],
                None,
            )
            .await;
        let body = answer.problem(401, "unauthorized");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(expected),
            "{detail} should mention {expected}"
        );
        assert!(
            !detail.contains(&token) || token == "not-a-token",
            "the token leaked: {detail}"
        );
    }
}

/// The token cache's hits and misses on `/metrics` (0 for a counter not yet there).
async fn token_cache(app: &TestApp) -> (f64, f64) {
    let metrics = app.get("/metrics").await.text;
    let counter = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .map_or(0.0, |value| value.parse().expect("a number"))
    };
    (
        counter("clearance_jwt_token_cache_hits_total"),
        counter("clearance_jwt_token_cache_misses_total"),
    )
}

#[tokio::test]
async fn a_repeated_token_skips_its_signature_check_unless_the_token_cache_is_off() {
    let issuer = TestIssuer::start().await;
    let reader = bearer(&user_token(&issuer, "auditor", "clearance/read"));
    let headers = [("authorization", reader.as_str())];

    // Off: every request verifies the token in full.
    let dir = tempfile::tempdir().unwrap();
    let mut settings = jwt_settings(&issuer, dir.path());
    settings.auth.jwt_token_cache = 0;
    let app = TestApp::with_settings(&settings).await;
    for _ in 0..3 {
        let answer = app.send(Method::GET, "/users/nobody", &headers, None).await;
        assert_eq!(answer.status, 404, "{}", answer.text);
    }
    assert_eq!(token_cache(&app).await, (0.0, 0.0));
    app.stop().await;

    // On (the default): the first request verifies, the repeats are answered from the cache.
    let dir = tempfile::tempdir().unwrap();
    let settings = jwt_settings(&issuer, dir.path());
    assert_eq!(settings.auth.jwt_token_cache, 10_000);
    let app = TestApp::with_settings(&settings).await;
    for _ in 0..3 {
        let answer = app.send(Method::GET, "/users/nobody", &headers, None).await;
        assert_eq!(answer.status, 404, "{}", answer.text);
    }
    assert_eq!(token_cache(&app).await, (2.0, 1.0));

    // A token answered from the cache grants its own scopes and no more: it still cannot write.
    let answer = app
        .json(
            Method::PUT,
            "/users/nobody",
            json!({"companies": ["1111"], "role": "Standard"}),
            &headers,
        )
        .await;
    answer.problem(403, "forbidden");
    assert_eq!(token_cache(&app).await, (3.0, 1.0));

    // Another token is verified in full, and so is this one changed in its last signature
    // character: the cache is keyed by the whole token, so it cannot answer for it.
    let other = bearer(&user_token(&issuer, "someone-else", "clearance/read"));
    let answer = app
        .send(
            Method::GET,
            "/users/nobody",
            &[("authorization", other.as_str())],
            None,
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let mut tampered = reader.clone();
    tampered.pop();
    for _ in 0..2 {
        app.send(
            Method::GET,
            "/users/nobody",
            &[("authorization", tampered.as_str())],
            None,
        )
        .await
        .problem(401, "unauthorized");
    }
    // Refused tokens are never kept: each try of the tampered one misses again.
    assert_eq!(token_cache(&app).await, (3.0, 4.0));
}

#[tokio::test]
async fn the_read_scope_reads_and_decides_but_cannot_write() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&jwt_settings(&issuer, dir.path())).await;
    let reader = bearer(&user_token(&issuer, "auditor", "openid clearance/read"));
    let headers = [("authorization", reader.as_str())];
    assert_eq!(
        app.send(Method::GET, "/users/nobody", &headers, None)
            .await
            .status,
        404
    );
    let check = app
        .json(
            Method::POST,
            "/check",
            json!({"user": "nobody", "company": "1111"}),
            &headers,
        )
        .await;
    assert_eq!(check.status, 200, "{}", check.text);
    let batch = app
        .json(
            Method::POST,
            "/users/batch-get",
            json!({"ids": ["a"]}),
            &headers,
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    // Every AuthZEN endpoint takes the read scope, as /check does; none answers without a token,
    // and a token without the scope is 403.
    let user = json!({"type": "user", "id": "nobody"});
    let company = json!({"type": "company", "id": "1111"});
    let action = json!({"name": "access"});
    let none = bearer(&user_token(&issuer, "nobody", "openid"));
    for (path, body) in [
        (
            "/access/v1/evaluation",
            json!({"subject": user, "resource": company, "action": action}),
        ),
        (
            "/access/v1/evaluations",
            json!({"subject": user, "action": action, "evaluations": [{"resource": company}]}),
        ),
        (
            "/access/v1/search/subject",
            json!({"subject": {"type": "user"}, "resource": company, "action": action}),
        ),
        (
            "/access/v1/search/resource",
            json!({"subject": user, "resource": {"type": "company"}, "action": action}),
        ),
        (
            "/access/v1/search/action",
            json!({"subject": user, "resource": company}),
        ),
    ] {
        let answer = app.json(Method::POST, path, body.clone(), &headers).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        app.json(Method::POST, path, body.clone(), &[])
            .await
            .problem(401, "unauthorized");
        app.json(Method::POST, path, body, &[("authorization", &none)])
            .await
            .problem(403, "forbidden");
    }
    for method in [Method::PUT, Method::PATCH] {
        let body = app
            .json(
                method,
                "/users/x",
                json!({"companies": [], "role": "Admin"}),
                &headers,
            )
            .await
            .problem(403, "forbidden");
        assert_detail_contains(&body, "clearance/write");
    }
    app.send(Method::DELETE, "/users/x", &headers, None)
        .await
        .problem(403, "forbidden");
    app.send(Method::GET, "/users/x", &[("authorization", &none)], None)
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn the_write_scope_writes_and_records_who_did_it() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&jwt_settings(&issuer, dir.path())).await;
    let user = bearer(&user_token(&issuer, "admin-sub-1", "clearance/write"));
    let created = app
        .json(
            Method::PUT,
            "/users/bob",
            json!({"companies": ["1111"], "role": "Standard"}),
            &[("authorization", &user)],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["updatedBy"], "admin-sub-1");
    let machine = bearer(&issuer.machine_token(MACHINE, "clearance/write"));
    let patched = app
        .json(
            Method::PATCH,
            "/users/bob",
            json!({"role": "Manager"}),
            &[("authorization", &machine)],
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.json()["updatedBy"],
        MACHINE,
        "a machine client is recorded by its client id"
    );
    let read = app
        .send(
            Method::GET,
            "/users/bob",
            &[("authorization", &machine)],
            None,
        )
        .await;
    assert_eq!(read.status, 200, "the write scope also reads");
}

#[tokio::test]
async fn the_history_names_each_writer_by_the_updated_by_rule_and_needs_the_read_scope() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&jwt_settings(&issuer, dir.path())).await;
    let person = bearer(&user_token(&issuer, "admin-sub-1", "clearance/write"));
    let machine = bearer(&issuer.machine_token(MACHINE, "clearance/write"));
    for (who, role) in [(&person, "Standard"), (&machine, "Manager")] {
        let answer = app
            .json(
                Method::PUT,
                "/users/carla",
                json!({"companies": ["1111"], "role": role}),
                &[("authorization", who.as_str())],
            )
            .await;
        assert!(answer.status.is_success(), "{}", answer.text);
    }
    app.get("/users/carla/history")
        .await
        .problem(401, "unauthorized");
    let reader = bearer(&user_token(&issuer, "support-1", "clearance/read"));
    let answer = app
        .send(
            Method::GET,
            "/users/carla/history",
            &[("authorization", &reader)],
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let actors: Vec<String> = answer.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or("-").to_owned())
        .collect();
    assert_eq!(actors, [MACHINE, "admin-sub-1"]);
}

#[tokio::test]
async fn health_and_docs_stay_open_unless_docs_are_closed() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = jwt_settings(&issuer, dir.path());
    let app = TestApp::with_settings(&settings).await;
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
        "/metrics",
        "/.well-known/authzen-configuration",
    ] {
        assert_eq!(app.get(path).await.status, 200, "{path}");
    }
    app.stop().await;
    settings.auth.public_docs = false;
    let app = TestApp::with_settings(&settings).await;
    assert_eq!(app.get("/healthz").await.status, 200);
    assert_eq!(app.get("/readyz").await.status, 200);
    for path in [
        "/openapi.json",
        "/docs",
        "/metrics",
        "/.well-known/authzen-configuration",
    ] {
        app.get(path).await.problem(401, "unauthorized");
    }
}

/// Runs the binary with JSON logs, returning it, its URL and everything it logs.
async fn start_logging_binary(
    args: &[&str],
    env: &[(String, String)],
) -> (tokio::process::Child, String, Arc<Mutex<Vec<String>>>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_clearance-service"));
    command
        .args(["--listen", &listen, "--log-format", "json"])
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("CLEARANCE_STORE", "embedded")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    let sink = lines.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    let url = format!("http://{listen}");
    for _ in 0..200 {
        if reqwest::get(format!("{url}/healthz")).await.is_ok() {
            return (child, url, lines);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the service did not start: {:?}", lines.lock().unwrap());
}

#[tokio::test]
async fn every_write_emits_one_audit_event_and_no_log_holds_the_token() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("CLEARANCE_AUTH".to_owned(), "jwt".to_owned()),
        ("JWT_ISSUER".to_owned(), issuer.issuer()),
        ("JWT_JWKS_URL".to_owned(), issuer.jwks_url()),
        ("JWT_CLIENT_IDS".to_owned(), MACHINE.to_owned()),
        ("CLEARANCE_SAMPLE_DATA".to_owned(), "false".to_owned()),
    ];
    let (mut child, url, lines) =
        start_logging_binary(&["--data-dir", dir.path().to_str().unwrap()], &env).await;
    let token = issuer.machine_token(MACHINE, "clearance/write");
    let client = reqwest::Client::new();
    let send = |method: Method, path: &str, body: Option<Value>, request_id: &str| {
        let mut request = client
            .request(method, format!("{url}{path}"))
            .bearer_auth(&token)
            .header("x-request-id", request_id);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let put = send(
        Method::PUT,
        "/users/carol",
        Some(json!({"companies": ["1111"], "role": "Standard"})),
        "req-put",
    )
    .await
    .unwrap();
    assert_eq!(put.status(), 201);
    let patch = send(
        Method::PATCH,
        "/users/carol",
        Some(json!({"addCompanies": ["2222"], "role": "Manager"})),
        "req-patch",
    )
    .await
    .unwrap();
    assert_eq!(patch.status(), 200);
    let refused = send(
        Method::PUT,
        "/users/carol",
        Some(json!({"companies": ["x y"], "role": "Admin"})),
        "req-bad",
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 400);
    let delete = send(Method::DELETE, "/users/carol", None, "req-delete")
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().await.unwrap();

    let lines = lines.lock().unwrap().clone();
    let events: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .collect();
    assert_eq!(
        events.len(),
        3,
        "one event per successful write, none for the refused one: {events:#?}"
    );
    let by_request = |id: &str| {
        events
            .iter()
            .find(|e| e["request_id"] == id)
            .unwrap_or_else(|| panic!("no event for {id}"))
    };
    let create = by_request("req-put");
    assert_eq!(create["action"], "create");
    assert_eq!(create["actor"], MACHINE);
    assert_eq!(create["user_id"], "carol");
    assert_eq!(create["version"], 1);
    assert_eq!(create["before"], "null");
    let after: Value = serde_json::from_str(create["after"].as_str().unwrap()).unwrap();
    assert_eq!(
        after,
        json!({"companies": ["1111"], "role": "Standard", "version": 1})
    );
    assert!(create["time"].as_str().unwrap().ends_with('Z'));
    let update = by_request("req-patch");
    assert_eq!(update["action"], "update");
    let before: Value = serde_json::from_str(update["before"].as_str().unwrap()).unwrap();
    assert_eq!(before["role"], "Standard");
    let after: Value = serde_json::from_str(update["after"].as_str().unwrap()).unwrap();
    assert_eq!(after["companies"], json!(["1111", "2222"]));
    assert_eq!(update["version"], 2);
    let removed = by_request("req-delete");
    assert_eq!(removed["action"], "delete");
    assert_eq!(removed["after"], "null");

    let all = lines.join("\n");
    assert!(!all.contains(&token), "a token was logged");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!all.contains(signature), "a token signature was logged");
}

#[tokio::test]
async fn gateway_mode_is_refused_outside_lambda() {
    let (ok, stderr) = run_to_end(&["--auth", "gateway"], &[]).await;
    assert!(!ok);
    assert!(stderr.contains("only under AWS Lambda"), "{stderr}");
}

#[tokio::test]
async fn jwt_mode_without_an_issuer_stops_start_up_naming_the_setting() {
    let (ok, stderr) = run_to_end(&["--auth", "jwt"], &[]).await;
    assert!(!ok);
    assert!(stderr.contains("--auth jwt needs an issuer"), "{stderr}");
}

fn rest_event(
    method: &str,
    path: &str,
    body: Option<Value>,
    authorizer: Value,
    identity: Value,
) -> Value {
    let mut event = fixture("apigw-rest-get-user.json");
    event["httpMethod"] = json!(method);
    event["path"] = json!(path);
    event["requestContext"]["httpMethod"] = json!(method);
    event["requestContext"]["path"] = json!(format!("/prod{path}"));
    event["requestContext"]["authorizer"] = authorizer;
    for (k, v) in identity.as_object().unwrap() {
        event["requestContext"]["identity"][k] = v.clone();
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
        event["headers"]["content-type"] = json!("application/json");
        event["multiValueHeaders"]["content-type"] = json!(["application/json"]);
    }
    event
}

fn http_event(method: &str, path: &str, body: Option<Value>, authorizer: Value) -> Value {
    let mut event = fixture("apigw-http-v2-put-user.json");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["authorizer"] = authorizer;
    match body {
        Some(body) => event["body"] = json!(body.to_string()),
        None => {
            event.as_object_mut().unwrap().remove("body");
        }
    }
    event
}

/// Feeds `event` to the function; returns the status and the JSON body (null if none).
async fn invoke(function: &Function, event: Value) -> (u16, Value) {
    let answer = Answer::from_lambda(&function.respond(event).await);
    let body = serde_json::from_str(&answer.text).unwrap_or(Value::Null);
    (answer.status.as_u16(), body)
}

/// The service binary under Lambda with `--auth gateway` on an embedded store in `dir`.
async fn gateway_mode(dir: &tempfile::TempDir) -> Function {
    Function::start(
        BINARY,
        "clearance-permissions-api",
        &[
            ("CLEARANCE_AUTH", "gateway"),
            ("CLEARANCE_STORE", "embedded"),
            ("CLEARANCE_DATA_DIR", dir.path().to_str().unwrap()),
        ],
    )
    .await
}

#[tokio::test]
async fn gateway_mode_reads_the_caller_from_each_kind_of_authorizer_context() {
    let dir = tempfile::tempdir().unwrap();
    let function = gateway_mode(&dir).await;
    let body = json!({"companies": ["1111"], "role": "Standard"});

    // REST API with a Cognito user-pool authorizer: a machine client's claims with the write scope.
    let cognito = json!({"claims": {"sub": MACHINE, "client_id": MACHINE, "token_use": "access", "scope": "clearance/write"}});
    let (status, created) = invoke(
        &function,
        rest_event("PUT", "/users/dave", Some(body.clone()), cognito, json!({})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["updatedBy"], MACHINE);

    // The same with only the read scope cannot write.
    let reader = json!({"claims": {"sub": "u-1", "username": "u-1", "client_id": CLIENT, "scope": "clearance/read"}});
    let (status, problem) = invoke(
        &function,
        rest_event(
            "PUT",
            "/users/dave",
            Some(body.clone()),
            reader.clone(),
            json!({}),
        ),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    let (status, _) = invoke(
        &function,
        rest_event("GET", "/users/dave", None, reader, json!({})),
    )
    .await;
    assert_eq!(status, 200);

    // No authorizer and no IAM identity: nobody is authenticated.
    let (status, problem) = invoke(
        &function,
        rest_event("GET", "/users/dave", None, json!({}), json!({})),
    )
    .await;
    assert_eq!(status, 401, "{problem}");

    // IAM: the gateway's IAM policy decided; the caller's ARN is the actor.
    let arn = "arn:aws:iam::123456789012:role/provisioner";
    let (status, patched) = invoke(
        &function,
        rest_event(
            "PATCH",
            "/users/dave",
            Some(json!({"role": "Manager"})),
            json!({}),
            json!({"userArn": arn, "caller": "AROAEXAMPLE"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["updatedBy"], arn);

    // A Lambda authorizer's context.
    let lambda_context = json!({"principalId": "u-7", "sub": "u-7", "scope": "clearance/write"});
    let (status, patched) = invoke(
        &function,
        rest_event(
            "PATCH",
            "/users/dave",
            Some(json!({"role": "Admin"})),
            lambda_context,
            json!({}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["updatedBy"], "u-7");

    // HTTP API with a JWT authorizer: scopes from the authorizer.
    let jwt = json!({"jwt": {"claims": {"sub": MACHINE, "client_id": MACHINE}, "scopes": ["clearance/read"]}});
    let (status, _) = invoke(
        &function,
        http_event("GET", "/users/dave", None, jwt.clone()),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = invoke(&function, http_event("DELETE", "/users/dave", None, jwt)).await;
    assert_eq!(status, 403);
}

/// Builds an event for a method and an optional body.
type EventFor = Box<dyn Fn(&str, Option<Value>) -> Value>;

/// Every kind of caller API Gateway can pass on, with no scope, the read scope and the write
/// scope, for a read and a write. Only IAM callers (whose IAM policy API Gateway evaluated for the
/// exact method and path) skip the scope check; a token-derived caller without scopes (a Cognito ID
/// token, or a Lambda authorizer's context without `scope`) may neither read nor write.
#[tokio::test]
async fn gateway_mode_checks_scopes_for_every_caller_derived_from_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let function = gateway_mode(&dir).await;
    let user = "u-self";
    // A signed-in user granting themselves Admin: what a missing scope check would allow.
    let body = json!({"companies": ["1111"], "role": "Admin"});
    let scope_sets: [(&str, Option<&str>); 3] = [
        ("no scope", None),
        ("read", Some("clearance/read")),
        ("write", Some("clearance/write")),
    ];
    for (name, scope) in scope_sets {
        let with_scope = |mut object: Value| {
            if let Some(scope) = scope {
                object["scope"] = json!(scope);
            }
            object
        };
        let rest_cognito = with_scope(
            json!({"sub": user, "cognito:username": user, "aud": CLIENT, "token_use": "id"}),
        );
        let rest_lambda = with_scope(json!({"principalId": user, "sub": user, "clientId": CLIENT}));
        let http_lambda = with_scope(json!({"sub": user, "clientId": CLIENT}));
        let http_jwt_scopes: Vec<&str> = scope.into_iter().collect();
        let kinds: Vec<(&str, EventFor)> = vec![
            (
                "REST Cognito authorizer",
                Box::new(move |method, body| {
                    rest_event(
                        method,
                        &format!("/users/{user}"),
                        body,
                        json!({"claims": rest_cognito.clone()}),
                        json!({}),
                    )
                }),
            ),
            (
                "REST Lambda authorizer",
                Box::new(move |method, body| {
                    rest_event(
                        method,
                        &format!("/users/{user}"),
                        body,
                        rest_lambda.clone(),
                        json!({}),
                    )
                }),
            ),
            (
                "HTTP API Lambda authorizer",
                Box::new(move |method, body| {
                    http_event(
                        method,
                        &format!("/users/{user}"),
                        body,
                        json!({"lambda": http_lambda.clone()}),
                    )
                }),
            ),
            (
                "HTTP API JWT authorizer",
                Box::new(move |method, body| {
                    http_event(
                        method,
                        &format!("/users/{user}"),
                        body,
                        json!({"jwt": {"claims": {"sub": user, "client_id": CLIENT}, "scopes": http_jwt_scopes.clone()}}),
                    )
                }),
            ),
        ];
        for (kind, event) in &kinds {
            let (read, answer) = invoke(&function, event("GET", None)).await;
            let (write, written) = invoke(&function, event("PUT", Some(body.clone()))).await;
            match scope {
                None => {
                    assert_eq!(read, 403, "{kind}, {name}: read {answer}");
                    assert_eq!(write, 403, "{kind}, {name}: write {written}");
                }
                Some("clearance/read") => {
                    assert!(
                        matches!(read, 200 | 404),
                        "{kind}, {name}: read {read} {answer}"
                    );
                    assert_eq!(write, 403, "{kind}, {name}: write {written}");
                }
                Some(_) => {
                    assert!(
                        matches!(read, 200 | 404),
                        "{kind}, {name}: read {read} {answer}"
                    );
                    assert!(
                        matches!(write, 200 | 201),
                        "{kind}, {name}: write {write} {written}"
                    );
                    assert_eq!(written["updatedBy"], user);
                }
            }
        }
    }

    // IAM callers: API Gateway evaluated their IAM policy; no scopes are asked of them.
    let arn = "arn:aws:iam::123456789012:role/provisioner";
    let (status, created) = invoke(
        &function,
        rest_event(
            "PUT",
            "/users/iam-made",
            Some(json!({"companies": ["1111"], "role": "Standard"})),
            json!({}),
            json!({"userArn": arn, "caller": "AROAEXAMPLE"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["updatedBy"], arn);

    // A Lambda authorizer context naming nobody (only a principalId) is nobody: 401, never a
    // caller called "unknown".
    let (status, problem) = invoke(
        &function,
        rest_event(
            "GET",
            "/users/iam-made",
            None,
            json!({"principalId": "someone", "scope": "clearance/write"}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(status, 401, "{problem}");
}
