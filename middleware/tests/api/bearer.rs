//! A plain server (no API Gateway context): callers are identified by bearer tokens only.

use std::sync::Arc;
use std::time::Duration;

use clearance_core::client::{ClientConfig, PermissionsClient};
use clearance_tests::issuer::{KID, now};
use serde_json::json;

use crate::helpers::{
    CLIENT, CountingSource, DownSource, MACHINE, MANAGER, STANDARD, STRANGER, StuckSource, TestApp,
};

#[tokio::test]
async fn company_rules_allow_members_in_the_role_and_refuse_everyone_else() {
    let app = TestApp::spawn().await;
    let manager = app.token(MANAGER);
    let standard = app.token(STANDARD);

    // Member, role at least Standard.
    let ok = app
        .send("GET", "/companies/1111/orders", Some(&manager))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["origin"], "BearerToken");
    assert_eq!(ok.json()["permissionsId"], MANAGER);
    assert_eq!(ok.json()["clientId"], CLIENT);
    assert_eq!(ok.json()["scopes"], json!(["openid", "email"]));
    assert_eq!(ok.json()["role"], "Manager");

    // Not a member.
    let other = app
        .send("GET", "/companies/2222/orders", Some(&manager))
        .await;
    let problem = other.forbidden("not-a-member");
    assert_eq!(problem["detail"], "you may not act for this company");

    // Role at least Manager: a Manager passes, a Standard user does not.
    let created = app
        .send("POST", "/companies/1111/orders", Some(&manager))
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let below = app
        .send("POST", "/companies/1111/orders", Some(&standard))
        .await;
    let detail = &below.forbidden("role-below-required")["detail"];
    assert_eq!(detail, "this action requires the role \"Manager\" or above");

    // Exactly Manager.
    let exact = app
        .send("DELETE", "/companies/1111/orders", Some(&manager))
        .await;
    assert_eq!(exact.status, 200, "{}", exact.text);
    let mismatch = app
        .send("DELETE", "/companies/1111/orders", Some(&standard))
        .await;
    mismatch.forbidden("role-mismatch");

    // An id that cannot be a company.
    let invalid = app
        .send("GET", "/companies/a%20b/orders", Some(&manager))
        .await;
    invalid.forbidden("invalid-company");
}

#[tokio::test]
async fn a_refusal_never_shows_the_callers_companies_or_role() {
    let app = TestApp::spawn().await;
    let standard = app.token(STANDARD);
    for (method, path) in [
        ("GET", "/companies/9999/orders"),
        ("POST", "/companies/1111/orders"),
        ("DELETE", "/companies/2222/orders"),
    ] {
        let answer = app.send(method, path, Some(&standard)).await;
        assert_eq!(answer.status, 403);
        let text = answer.text.clone();
        for secret in ["1111", "2222", "Standard", STANDARD] {
            let path_company = path.split('/').nth(2).unwrap();
            if secret != path_company {
                assert!(
                    !text.contains(secret),
                    "{method} {path} leaks {secret:?}: {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_subject_rule_allows_only_the_user_the_path_names() {
    let app = TestApp::spawn().await;
    let manager = app.token(MANAGER);
    let own = app
        .send("GET", &format!("/users/{MANAGER}/orders/7"), Some(&manager))
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    let other = app
        .send(
            "GET",
            &format!("/users/{STANDARD}/orders/7"),
            Some(&manager),
        )
        .await;
    let problem = other.forbidden("subject-mismatch");
    assert!(!problem.to_string().contains(MANAGER), "{problem}");
}

#[tokio::test]
async fn the_client_rule_allows_only_the_client_the_path_names() {
    let app = TestApp::spawn().await;
    let machine = app.issuer.machine_token(MACHINE, "orders/read");
    let own = app
        .send("GET", &format!("/clients/{MACHINE}/orders"), Some(&machine))
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["permissionsId"], MACHINE);
    assert_eq!(own.json()["scopes"], json!(["orders/read"]));
    let other = app
        .send("GET", &format!("/clients/{CLIENT}/orders"), Some(&machine))
        .await;
    other.forbidden("client-mismatch");
    // A user's token names the web client the user signed in through; it is still a user's
    // token, not the client's own (client credentials): refused.
    let user = app
        .send(
            "GET",
            &format!("/clients/{CLIENT}/orders"),
            Some(&app.token(MANAGER)),
        )
        .await;
    user.forbidden("not-a-machine");
}

#[tokio::test]
async fn machine_tokens_are_hydrated_under_their_client_id() {
    let app = TestApp::spawn().await;
    let machine = app.issuer.machine_token(MACHINE, "orders/read");
    let ok = app
        .send("GET", "/companies/3333/orders", Some(&machine))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["companies"], json!(["3333"]));
    let other = app
        .send("GET", "/companies/1111/orders", Some(&machine))
        .await;
    other.forbidden("not-a-member");
}

#[tokio::test]
async fn no_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    for path in ["/companies/1111/orders", "/me", "/users/manager-1/orders/7"] {
        let answer = app.send("GET", path, None).await;
        answer.problem(401, "unauthorized");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
}

#[tokio::test]
async fn bad_tokens_are_401_naming_the_check_that_failed() {
    let app = TestApp::spawn().await;
    let good = app.token(MANAGER);
    let mut expired = app.issuer.access_claims(MANAGER, CLIENT);
    expired["exp"] = json!(now() - 60);
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 6.., "AAAAAA");
    let cases = [
        ("garbage".to_owned(), "malformed"),
        (tampered, "signature"),
        (app.issuer.sign(&expired), "expired"),
        (
            app.issuer
                .sign_with_kid(&app.issuer.access_claims(MANAGER, CLIENT), "other-key"),
            "other-key",
        ),
        (app.issuer.access_token(MANAGER, "another-app"), "client"),
    ];
    for (token, hint) in cases {
        let answer = app
            .send("GET", "/companies/1111/orders", Some(&token))
            .await;
        let problem = answer.problem(401, "unauthorized");
        assert!(
            problem["detail"].as_str().unwrap().contains(hint),
            "{hint}: {problem}"
        );
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        assert!(!problem.to_string().contains(&token), "the token is echoed");
    }
    assert_ne!(KID, "other-key");
}

#[tokio::test]
async fn another_authorization_scheme_is_401() {
    let app = TestApp::spawn().await;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        "Basic bWFuYWdlci0xOnNlY3JldA==".parse().unwrap(),
    );
    let answer = app.send_with("GET", "/me", headers).await;
    answer.problem(401, "unauthorized");
}

#[tokio::test]
async fn a_plain_server_ignores_anything_that_looks_like_an_api_gateway_context() {
    let app = TestApp::spawn().await;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-amzn-request-context",
        r#"{"authorizer":{"id":"manager-1","companies":"[\"1111\"]","role":"Admin","sub":"manager-1"}}"#
            .parse()
            .unwrap(),
    );
    headers.insert("x-amzn-oidc-identity", MANAGER.parse().unwrap());
    let answer = app
        .send_with("GET", "/companies/1111/orders", headers)
        .await;
    answer.problem(401, "unauthorized");
}

#[tokio::test]
async fn a_user_without_permissions_passes_the_subject_rule_but_no_company_rule() {
    let app = TestApp::spawn().await;
    let stranger = app.token(STRANGER);
    let own = app
        .send(
            "GET",
            &format!("/users/{STRANGER}/orders/1"),
            Some(&stranger),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["companies"], json!(null));
    let company = app
        .send("GET", "/companies/1111/orders", Some(&stranger))
        .await;
    company.forbidden("unknown-user");
    let permissions = app.send("GET", "/me/permissions", Some(&stranger)).await;
    permissions.forbidden("unknown-user");
}

#[tokio::test]
async fn handlers_take_the_permissions_as_an_argument() {
    let app = TestApp::spawn().await;
    let answer = app
        .send("GET", "/me/permissions", Some(&app.token(MANAGER)))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json(), json!({"id": MANAGER, "role": "Manager"}));
}

#[tokio::test]
async fn each_request_reads_the_permissions_once() {
    let source = CountingSource::new().await;
    let app = TestApp::spawn_with(source.clone(), |auth| auth).await;
    let token = app.token(MANAGER);
    app.send("GET", "/companies/1111/orders", Some(&token))
        .await;
    assert_eq!(source.calls(), 1);
    // A refused token never reaches the source.
    app.send("GET", "/companies/1111/orders", Some("garbage"))
        .await;
    assert_eq!(source.calls(), 1);
}

#[tokio::test]
async fn a_failing_source_is_503_never_an_allow() {
    let app = TestApp::spawn_with(Arc::new(DownSource), |auth| auth).await;
    let answer = app
        .send("GET", "/companies/1111/orders", Some(&app.token(MANAGER)))
        .await;
    let problem = answer.problem(503, "permissions-unavailable");
    assert!(
        !problem.to_string().contains("down"),
        "the cause is not for the caller: {problem}"
    );
    assert_eq!(answer.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn an_unreachable_permissions_api_is_503() {
    // A port nothing listens on: the real client fails to connect.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut config = ClientConfig::new(&url).unwrap();
    config.max_attempts = 1;
    let client = PermissionsClient::new(config).unwrap();
    let app = TestApp::spawn_with(Arc::new(client), |auth| auth).await;
    let answer = app
        .send(
            "GET",
            &format!("/users/{MANAGER}/orders/1"),
            Some(&app.token(MANAGER)),
        )
        .await;
    answer.problem(503, "permissions-unavailable");
}

#[tokio::test]
async fn a_source_that_does_not_answer_is_503_after_the_timeout() {
    let app = TestApp::spawn_with(Arc::new(StuckSource), |auth| {
        auth.with_permissions_timeout(Duration::from_millis(200))
    })
    .await;
    let started = std::time::Instant::now();
    let answer = app
        .send("GET", "/companies/1111/orders", Some(&app.token(MANAGER)))
        .await;
    answer.problem(503, "permissions-unavailable");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_token_older_than_the_permissions_is_401_stale_permissions_unless_the_check_is_off() {
    let store = crate::helpers::store().await;
    // manager-1 changes after the token was minted: version 2 now.
    clearance_tests::seed::grant(store.as_ref(), MANAGER, &["1111"], "Manager").await;
    let source = || -> Arc<dyn clearance_core::source::PermissionsSource> {
        Arc::new(clearance_core::source::StoreSource(store.clone()))
    };
    let token_at = |app: &TestApp, version: &str| {
        let mut claims = app.issuer.access_claims(MANAGER, CLIENT);
        claims["perm_ver"] = json!(version);
        app.issuer.sign(&claims)
    };
    let app = TestApp::spawn_with(source(), |auth| auth).await;
    let stale = app
        .send("GET", "/companies/1111/orders", Some(&token_at(&app, "1")))
        .await;
    let problem = stale.problem(401, "stale-permissions");
    assert_eq!(problem["code"], "stale-permissions");
    let challenge = stale.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge
            .starts_with("Bearer error=\"invalid_token\", error_description=\"stale-permissions"),
        "{challenge}"
    );
    for fresh in [token_at(&app, "2"), app.token(MANAGER)] {
        let ok = app
            .send("GET", "/companies/1111/orders", Some(&fresh))
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
    }
    let off = TestApp::spawn_with(source(), |auth| auth.with_perm_ver_claim(None)).await;
    let judged = off
        .send("GET", "/companies/1111/orders", Some(&token_at(&off, "1")))
        .await;
    assert_eq!(judged.status, 200, "{}", judged.text);
}
