//! The authorizer's handler on the three event kinds API Gateway sends (fixtures in
//! `tests/events/`), with tokens signed by a test issuer whose JWKS is served over HTTP: every
//! rule's allow and deny, every token failure, and a failing permissions source.

use std::sync::Arc;

use async_trait::async_trait;
use clearance_authorizer::Authorizer;
use clearance_authorizer::event::EventKind;
use clearance_core::domain::{UserId, UserPermissions};
use clearance_core::source::{PermissionsSource, SourceError, StoreSource};
use clearance_core::store::memory::MemoryStore;
use clearance_tests::issuer::{TestIssuer, now};
use clearance_tests::seed;
use serde_json::{Value, json};

mod support;

use support::{CLIENT, CLIENTS, MACHINE, config, event};

const RULES: &str = r#"{"rules": [
    {"method": "GET",  "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Standard", "atLeast": true},
    {"method": "POST", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager", "atLeast": true},
    {"method": "DELETE", "path": "/companies/{company_id}/orders", "company": "company_id", "role": "Manager"},
    {"method": "GET",  "path": "/users/{user_id}/orders/{id}", "subject": "user_id"},
    {"method": "GET",  "path": "/clients/{client_id}/orders", "client": "client_id"}
]}"#;

struct Setup {
    issuer: TestIssuer,
    authorizer: Authorizer,
}

/// A Manager of 1111, a Standard user of 1111 and 2222, and the machine client (Standard, 3333).
async fn store() -> Arc<MemoryStore> {
    seed::users()
        .grant("manager-1", &["1111"], "Manager")
        .grant("standard-1", &["1111", "2222"], "Standard")
        .grant(MACHINE, &["3333"], "Standard")
        .memory()
        .await
}

async fn setup_with(
    rules: &str,
    http_format: &str,
    source: Option<Arc<dyn PermissionsSource>>,
) -> Setup {
    let issuer = TestIssuer::start().await;
    let source = match source {
        Some(s) => s,
        None => Arc::new(StoreSource(store().await)),
    };
    let authorizer = Authorizer::new(config(rules, http_format), issuer.verifier(CLIENTS), source);
    Setup { issuer, authorizer }
}

async fn setup() -> Setup {
    setup_with(RULES, "simple", None).await
}

const KINDS: [EventKind; 3] = [
    EventKind::RestToken,
    EventKind::RestRequest,
    EventKind::HttpV2,
];

/// Whether the answer allows, checking it is well formed for its kind.
fn allowed(kind: EventKind, answer: &Value) -> bool {
    if let Some(simple) = answer.get("isAuthorized") {
        assert_eq!(kind, EventKind::HttpV2, "only HTTP APIs get simple answers");
        return simple.as_bool().expect("isAuthorized is a boolean");
    }
    let statement = &answer["policyDocument"]["Statement"][0];
    assert_eq!(answer["policyDocument"]["Version"], "2012-10-17");
    assert_eq!(statement["Action"], "execute-api:Invoke");
    match statement["Effect"].as_str() {
        Some("Allow") => true,
        Some("Deny") => false,
        other => panic!("no explicit effect: {other:?}"),
    }
}

async fn decide(
    s: &Setup,
    kind: EventKind,
    method: &str,
    path: &str,
    resource: &str,
    token: &str,
) -> (bool, String, Value) {
    let (answer, decided) = s
        .authorizer
        .decide(&event(kind, method, path, resource, token))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: unexpected Unauthorized"));
    (allowed(kind, &answer), decided.code, answer)
}

#[tokio::test]
async fn company_rules_allow_members_with_the_role_and_deny_others() {
    let s = setup().await;
    let manager = s.issuer.access_token("manager-1", CLIENT);
    let standard = s.issuer.access_token("standard-1", CLIENT);
    let orders = "/companies/{company_id}/orders";
    for kind in KINDS {
        let (ok, code, answer) =
            decide(&s, kind, "GET", "/companies/1111/orders", orders, &manager).await;
        assert!(ok, "{kind:?}: {code}");
        let context = &answer["context"];
        assert_eq!(context["id"], "manager-1");
        assert_eq!(context["companies"], "[\"1111\"]");
        assert_eq!(context["role"], "Manager");
        for value in context.as_object().unwrap().values() {
            assert!(
                value.is_string(),
                "context values must be flat strings: {context}"
            );
        }
        if kind != EventKind::HttpV2 {
            assert_eq!(answer["principalId"], "manager-1");
            let resource = answer["policyDocument"]["Statement"][0]["Resource"]
                .as_str()
                .unwrap();
            assert!(
                resource.ends_with("/GET/companies/1111/orders"),
                "the exact method ARN: {resource}"
            );
        }

        let (ok, code, _) =
            decide(&s, kind, "GET", "/companies/2222/orders", orders, &manager).await;
        assert!(!ok);
        assert_eq!(code, "not-a-member", "{kind:?}");

        let (ok, _, _) = decide(&s, kind, "POST", "/companies/1111/orders", orders, &manager).await;
        assert!(ok, "{kind:?}: a Manager may post");
        let (ok, code, _) = decide(
            &s,
            kind,
            "POST",
            "/companies/1111/orders",
            orders,
            &standard,
        )
        .await;
        assert!(!ok);
        assert_eq!(code, "role-below-required");
        let (ok, code, _) = decide(
            &s,
            kind,
            "DELETE",
            "/companies/1111/orders",
            orders,
            &standard,
        )
        .await;
        assert!(!ok);
        assert_eq!(code, "role-mismatch");
    }
}

#[tokio::test]
async fn user_routes_require_the_tokens_subject_and_machine_routes_its_client() {
    let s = setup().await;
    let user = s.issuer.access_token("standard-1", CLIENT);
    let machine = s.issuer.machine_token(MACHINE, "orders/read");
    for kind in KINDS {
        let own = decide(
            &s,
            kind,
            "GET",
            "/users/standard-1/orders/9",
            "/users/{user_id}/orders/{id}",
            &user,
        )
        .await;
        assert!(own.0, "{kind:?}");
        let other = decide(
            &s,
            kind,
            "GET",
            "/users/manager-1/orders/9",
            "/users/{user_id}/orders/{id}",
            &user,
        )
        .await;
        assert!(!other.0);
        assert_eq!(other.1, "subject-mismatch");
        let mine = decide(
            &s,
            kind,
            "GET",
            &format!("/clients/{MACHINE}/orders"),
            "/clients/{client_id}/orders",
            &machine,
        )
        .await;
        assert!(mine.0, "{kind:?}: {}", mine.1);
        assert_eq!(mine.2["context"]["companies"], "[\"3333\"]");
        let theirs = decide(
            &s,
            kind,
            "GET",
            "/clients/other-client/orders",
            "/clients/{client_id}/orders",
            &machine,
        )
        .await;
        assert!(!theirs.0);
        assert_eq!(theirs.1, "client-mismatch");
    }
}

#[tokio::test]
async fn a_route_without_a_rule_is_denied() {
    let s = setup().await;
    let token = s.issuer.access_token("manager-1", CLIENT);
    for kind in KINDS {
        let (ok, code, _) = decide(
            &s,
            kind,
            "GET",
            "/admin/everything",
            "/admin/everything",
            &token,
        )
        .await;
        assert!(!ok);
        assert_eq!(code, "no-rule");
    }
}

#[tokio::test]
async fn authentication_only_rules_pass_the_permissions_on_with_a_stage_wide_policy() {
    let s = setup_with(
        r#"{"rules": [
            {"method": "ANY", "path": "/", "authenticateOnly": true},
            {"method": "ANY", "path": "/{proxy+}", "authenticateOnly": true}
        ]}"#,
        "iam",
        None,
    )
    .await;
    let token = s.issuer.access_token("standard-1", CLIENT);
    for kind in KINDS {
        let (ok, _, answer) = decide(
            &s,
            kind,
            "GET",
            "/companies/9999/orders",
            "/{proxy+}",
            &token,
        )
        .await;
        assert!(ok, "{kind:?}");
        let resource = answer["policyDocument"]["Statement"][0]["Resource"]
            .as_str()
            .unwrap();
        assert!(resource.ends_with("/*/*"), "{resource}");
        assert_eq!(answer["context"]["role"], "Standard");
        assert_eq!(answer["context"]["companies"], "[\"1111\",\"2222\"]");
    }
    // A caller with no permissions is still authenticated: the context says nothing about them.
    let stranger = s.issuer.access_token("stranger", CLIENT);
    let (ok, _, answer) = decide(
        &s,
        EventKind::RestToken,
        "GET",
        "/x",
        "/{proxy+}",
        &stranger,
    )
    .await;
    assert!(ok);
    assert!(answer["context"].get("role").is_none());
}

#[tokio::test]
async fn authentication_only_rules_that_leave_a_route_unmatched_get_the_exact_arn() {
    // `/{proxy+}` does not match `/`, so `/` is denied (no rule): a stage-wide Allow cached from
    // another route would admit it. The same for rules on some routes only.
    for rules in [
        r#"{"rules": [{"method": "ANY", "path": "/{proxy+}", "authenticateOnly": true}]}"#,
        r#"{"rules": [{"method": "GET", "path": "/profile", "authenticateOnly": true}]}"#,
    ] {
        let s = setup_with(rules, "iam", None).await;
        let token = s.issuer.access_token("standard-1", CLIENT);
        for kind in KINDS {
            let (ok, _, answer) = decide(&s, kind, "GET", "/profile", "/profile", &token).await;
            assert!(ok, "{kind:?}");
            let resource = answer["policyDocument"]["Statement"][0]["Resource"]
                .as_str()
                .unwrap();
            assert!(resource.ends_with("/GET/profile"), "{kind:?}: {resource}");
        }
    }
}

#[tokio::test]
async fn token_failures_are_unauthorized_on_rest_and_denied_on_http_apis() {
    let s = setup().await;
    let mut expired = s.issuer.access_claims("manager-1", CLIENT);
    expired["exp"] = json!(now() - 60);
    let mut wrong_client = s.issuer.access_claims("manager-1", CLIENT);
    wrong_client["client_id"] = json!("someone-else");
    let mut wrong_issuer = s.issuer.access_claims("manager-1", CLIENT);
    wrong_issuer["iss"] = json!("https://evil.example");
    let good = s.issuer.access_token("manager-1", CLIENT);
    let (head, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_claims = base64_url(&s.issuer.access_claims("admin-root", CLIENT).to_string());
    let cases: Vec<(&str, String)> = vec![
        ("missing", String::new()),
        ("garbage", "not-a-jwt".into()),
        ("expired", s.issuer.sign(&expired)),
        ("wrong client", s.issuer.sign(&wrong_client)),
        ("wrong issuer", s.issuer.sign(&wrong_issuer)),
        (
            "unknown kid",
            s.issuer
                .sign_with_kid(&s.issuer.access_claims("manager-1", CLIENT), "other-kid"),
        ),
        (
            "forged claims",
            format!("{head}.{forged_claims}.{signature}"),
        ),
    ];
    for (name, token) in cases {
        for kind in KINDS {
            let mut e = event(
                kind,
                "GET",
                "/companies/1111/orders",
                "/companies/{company_id}/orders",
                &token,
            );
            if token.is_empty() {
                e["authorizationToken"] = json!("");
                e["headers"]
                    .as_object_mut()
                    .map(|h| h.remove("authorization"));
            }
            let result = s.authorizer.decide(&e).await;
            match kind {
                EventKind::HttpV2 => {
                    let (answer, decided) =
                        result.unwrap_or_else(|_| panic!("{name}: HTTP APIs get a deny"));
                    assert_eq!(answer["isAuthorized"], false, "{name}");
                    assert_ne!(decided.code, "allowed");
                }
                _ => assert!(result.is_err(), "{name} on {kind:?} must be Unauthorized"),
            }
        }
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

struct Down;

#[async_trait]
impl PermissionsSource for Down {
    async fn permissions(&self, _: &UserId) -> Result<Option<Arc<UserPermissions>>, SourceError> {
        Err(SourceError::msg("connection refused"))
    }
}

#[tokio::test]
async fn a_failing_permissions_source_denies_never_allows() {
    let s = setup_with(RULES, "simple", Some(Arc::new(Down))).await;
    let token = s.issuer.access_token("manager-1", CLIENT);
    for kind in KINDS {
        let (ok, code, _) = decide(
            &s,
            kind,
            "GET",
            "/companies/1111/orders",
            "/companies/{company_id}/orders",
            &token,
        )
        .await;
        assert!(!ok, "{kind:?}");
        assert_eq!(code, "permissions-unavailable");
    }
}

#[tokio::test]
async fn malformed_events_are_refused() {
    let s = setup().await;
    for bad in [
        json!(null),
        json!({"type": "TOKEN"}),
        json!({"type": "TOKEN", "methodArn": "arn:aws:s3:::bucket"}),
    ] {
        assert!(s.authorizer.decide(&bad).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_token_older_than_the_permissions_is_unauthorized_unless_the_check_is_off() {
    let store = store().await;
    let issuer = TestIssuer::start().await;
    let token_at = |version: Value| {
        let mut claims = issuer.access_claims("manager-1", CLIENT);
        claims["perm_ver"] = version;
        issuer.sign(&claims)
    };
    // manager-1 is at version 1; a change makes it 2.
    seed::grant(store.as_ref(), "manager-1", &["1111"], "Manager").await;
    let orders = |kind, token: &str| {
        event(
            kind,
            "GET",
            "/companies/1111/orders",
            "/companies/{company_id}/orders",
            token,
        )
    };
    for check in [true, false] {
        let mut config = config(RULES, "simple");
        if !check {
            config.perm_ver_claim = None;
        }
        let authorizer = Authorizer::new(
            config,
            issuer.verifier(CLIENTS),
            Arc::new(StoreSource(store.clone())),
        );
        for (token, stale) in [
            (token_at(json!("1")), true),
            (token_at(json!(1)), true),
            (token_at(json!("not a version")), true),
            (token_at(json!("2")), false),
            (token_at(json!("3")), false),
            (issuer.access_token("manager-1", CLIENT), false),
        ] {
            for kind in KINDS {
                let result = authorizer.decide(&orders(kind, &token)).await;
                match (check && stale, kind) {
                    (true, EventKind::HttpV2) => {
                        let (answer, decided) = result.unwrap_or_else(|_| panic!("a deny"));
                        assert_eq!(answer["isAuthorized"], false);
                        assert_eq!(decided.code, "stale-permissions");
                    }
                    (true, _) => assert!(result.is_err(), "{kind:?}: Unauthorized"),
                    (false, _) => {
                        let (answer, decided) = result.unwrap_or_else(|_| panic!("judged"));
                        assert!(allowed(kind, &answer), "{kind:?}: {}", decided.code);
                    }
                }
            }
        }
    }
    // From the environment: on by default, CHECK_PERM_VER=false turns it off, CLAIM_PERM_VER names it.
    let from = |pairs: &[(&'static str, &'static str)]| {
        let pairs = pairs.to_vec();
        clearance_authorizer::AuthorizerConfig::from_lookup(move |k| {
            if k == "AUTHORIZER_RULES" {
                return Some(RULES.to_owned());
            }
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    };
    assert_eq!(
        from(&[]).unwrap().perm_ver_claim.as_deref(),
        Some("perm_ver")
    );
    assert_eq!(
        from(&[("CHECK_PERM_VER", "false")]).unwrap().perm_ver_claim,
        None
    );
    assert_eq!(
        from(&[("CLAIM_PERM_VER", "pv")])
            .unwrap()
            .perm_ver_claim
            .as_deref(),
        Some("pv")
    );
    assert_eq!(
        from(&[("CHECK_PERM_VER", "maybe")]).unwrap_err().variable,
        "CHECK_PERM_VER"
    );
}

#[tokio::test]
async fn a_rule_takes_a_consistency_and_refuses_an_unknown_one() {
    let rules = clearance_authorizer::rules::Rules::from_json(
        r#"{"rules": [{"method": "POST", "path": "/x/{c}", "company": "c", "consistency": "fully-consistent"}]}"#,
    )
    .unwrap();
    assert_eq!(
        rules.rules[0].requirement.consistency,
        clearance_core::consistency::Consistency::Full
    );
    let err = clearance_authorizer::rules::Rules::from_json(
        r#"{"rules": [{"method": "POST", "path": "/x/{c}", "company": "c", "consistency": "latest"}]}"#,
    )
    .unwrap_err();
    assert!(err.contains("fully-consistent"), "{err}");
}

/// An authorizer whose verifier keeps verified tokens, as the Lambda builds it by default.
async fn caching_setup() -> (Setup, Arc<MemoryStore>) {
    let issuer = TestIssuer::start().await;
    let store = store().await;
    let authorizer = Authorizer::new(
        config(RULES, "iam"),
        issuer.caching_verifier(CLIENTS, 100),
        Arc::new(StoreSource(store.clone())),
    );
    (Setup { issuer, authorizer }, store)
}

fn orders(kind: EventKind, method: &str, token: &str) -> Value {
    event(
        kind,
        method,
        "/companies/1111/orders",
        "/companies/{company_id}/orders",
        token,
    )
}

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    let (s, _) = caching_setup().await;
    let mut claims = s.issuer.access_claims("manager-1", CLIENT);
    claims["exp"] = json!(now() + 2);
    let token = s.issuer.sign(&claims);
    for _ in 0..2 {
        let (allow, code, _) = decide(
            &s,
            EventKind::RestToken,
            "GET",
            "/companies/1111/orders",
            "/companies/{company_id}/orders",
            &token,
        )
        .await;
        assert!(allow, "{code}: the token is valid for 2 s more");
    }
    // Past exp (whole seconds): the entry must not be served.
    while now() < claims["exp"].as_i64().unwrap() + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused = s
        .authorizer
        .decide(&orders(EventKind::RestToken, "GET", &token))
        .await;
    assert!(
        refused.is_err(),
        "an expired token is Unauthorized, cached or not"
    );
    let (answer, decided) = s
        .authorizer
        .decide(&orders(EventKind::HttpV2, "GET", &token))
        .await
        .unwrap();
    assert!(!allowed(EventKind::HttpV2, &answer));
    assert_eq!(decided.code, "expired");
}

#[tokio::test]
async fn a_cached_token_never_answers_for_a_different_token() {
    let (s, _) = caching_setup().await;
    let manager = s.issuer.access_token("manager-1", CLIENT);
    // Cached: manager-1 may create orders in 1111.
    for _ in 0..2 {
        let (allow, code, _) = decide(
            &s,
            EventKind::RestToken,
            "POST",
            "/companies/1111/orders",
            "/companies/{company_id}/orders",
            &manager,
        )
        .await;
        assert!(allow, "{code}");
    }
    let (head, rest) = manager.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    // The same claims with one signature character changed, and another subject's claims under
    // the manager's signature: both are verified in full, and refused.
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let altered_signature = format!("{head}.{payload}.{flipped}{}", &signature[1..]);
    let other_claims = base64_url(&s.issuer.access_claims("standard-1", CLIENT).to_string());
    let borrowed_signature = format!("{head}.{other_claims}.{signature}");
    for forged in [&altered_signature, &borrowed_signature] {
        let refused = s
            .authorizer
            .decide(&orders(EventKind::RestToken, "POST", forged))
            .await;
        assert!(refused.is_err(), "a forged token is Unauthorized");
    }
    // A genuine token of a Standard user is decided on its own claims: no Manager rights.
    let standard = s.issuer.access_token("standard-1", CLIENT);
    let (allow, code, answer) = decide(
        &s,
        EventKind::RestToken,
        "POST",
        "/companies/1111/orders",
        "/companies/{company_id}/orders",
        &standard,
    )
    .await;
    assert!(!allow, "{code}");
    assert_eq!(answer["principalId"], "standard-1");
}

#[tokio::test]
async fn a_cached_token_still_sees_a_revocation_at_once() {
    let (s, store) = caching_setup().await;
    let token = s.issuer.access_token("manager-1", CLIENT);
    let (allow, code, _) = decide(
        &s,
        EventKind::RestToken,
        "GET",
        "/companies/1111/orders",
        "/companies/{company_id}/orders",
        &token,
    )
    .await;
    assert!(allow, "{code}");
    seed::grant(store.as_ref(), "manager-1", &["2222"], "Manager").await;
    let (allow, code, _) = decide(
        &s,
        EventKind::RestToken,
        "GET",
        "/companies/1111/orders",
        "/companies/{company_id}/orders",
        &token,
    )
    .await;
    assert!(
        !allow,
        "the permission lookup runs on every decision: {code}"
    );
}
