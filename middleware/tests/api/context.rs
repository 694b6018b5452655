//! Under `lambda_http`: API Gateway events (fixtures in `tests/events/`) carrying the caller in
//! their request context, fed through `lambda_http`'s request conversion into the router. The same
//! rules hold whichever authorizer established the caller.

use std::sync::Arc;

use clearance_authorizer::policy::context;
use clearance_core::domain::UserPermissions;
use clearance_core::source::{PermissionsSource, StoreSource};
use clearance_tests::answer::assert_detail_contains;
use clearance_tests::issuer::TestIssuer;
use serde_json::{Value, json};

use crate::helpers::{
    CLIENT, CountingSource, DownSource, IAM_IDENTITY, LambdaApp, MACHINE, MANAGER, STANDARD,
    fixture, people, target,
};

/// The ways API Gateway hands a caller to the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    RestCognito,
    RestLambda,
    HttpJwt,
    HttpLambda,
}

const KINDS: [Kind; 4] = [
    Kind::RestCognito,
    Kind::RestLambda,
    Kind::HttpJwt,
    Kind::HttpLambda,
];

fn permissions_of(id: &str) -> Option<UserPermissions> {
    people().into_iter().find(|p| p.id.as_str() == id)
}

/// An event of `kind` for `method path` (route `resource`, path `params`), from `sub` with a token
/// issued to `client_id`.
fn event(
    kind: Kind,
    sub: &str,
    client_id: &str,
    method: &str,
    path: &str,
    resource: &str,
    params: &[(&str, &str)],
) -> Value {
    let file = match kind {
        Kind::RestCognito => "rest-cognito-authorizer.json",
        Kind::RestLambda => "rest-lambda-authorizer.json",
        Kind::HttpJwt => "http-api-jwt.json",
        Kind::HttpLambda => "http-api-lambda.json",
    };
    let mut event = fixture(file);
    target(&mut event, method, path, resource, params);
    let authorizer = &mut event["requestContext"]["authorizer"];
    match kind {
        Kind::RestCognito => {
            authorizer["claims"]["sub"] = json!(sub);
            authorizer["claims"]["username"] = json!(sub);
            authorizer["claims"]["client_id"] = json!(client_id);
        }
        Kind::HttpJwt => {
            authorizer["jwt"]["claims"]["sub"] = json!(sub);
            authorizer["jwt"]["claims"]["username"] = json!(sub);
            authorizer["jwt"]["claims"]["client_id"] = json!(client_id);
        }
        Kind::RestLambda | Kind::HttpLambda => {
            // Exactly what Clearance's authorizer answers for an allowed caller.
            let mut fields = context(
                permissions_of(sub).as_ref(),
                &[
                    ("sub", Some(sub)),
                    ("clientId", Some(client_id)),
                    ("scope", Some("openid email")),
                    ("reason", Some("allowed")),
                ],
            );
            if kind == Kind::RestLambda {
                // REST adds the policy's principal and its own latency figure.
                fields.insert("principalId".into(), json!(sub));
                fields.insert("integrationLatency".into(), json!(47));
                *authorizer = Value::Object(fields);
            } else {
                authorizer["lambda"] = Value::Object(fields);
            }
        }
    }
    event
}

const ORDERS: &str = "/companies/{company_id}/orders";

/// `(method, path, route, params, caller, expected status, expected code)`.
type Case = (
    &'static str,
    String,
    &'static str,
    Vec<(&'static str, String)>,
    &'static str,
    u16,
    &'static str,
);

fn cases() -> Vec<Case> {
    let company = |c: &str| vec![("company_id", c.to_owned())];
    vec![
        (
            "GET",
            "/companies/1111/orders".into(),
            ORDERS,
            company("1111"),
            MANAGER,
            200,
            "",
        ),
        (
            "GET",
            "/companies/2222/orders".into(),
            ORDERS,
            company("2222"),
            MANAGER,
            403,
            "not-a-member",
        ),
        (
            "POST",
            "/companies/1111/orders".into(),
            ORDERS,
            company("1111"),
            MANAGER,
            200,
            "",
        ),
        (
            "POST",
            "/companies/1111/orders".into(),
            ORDERS,
            company("1111"),
            STANDARD,
            403,
            "role-below-required",
        ),
        (
            "DELETE",
            "/companies/2222/orders".into(),
            ORDERS,
            company("2222"),
            STANDARD,
            403,
            "role-mismatch",
        ),
        (
            "GET",
            format!("/users/{MANAGER}/orders/7"),
            "/users/{user_id}/orders/{id}",
            vec![("user_id", MANAGER.into()), ("id", "7".into())],
            MANAGER,
            200,
            "",
        ),
        (
            "GET",
            format!("/users/{MANAGER}/orders/7"),
            "/users/{user_id}/orders/{id}",
            vec![("user_id", MANAGER.into()), ("id", "7".into())],
            STANDARD,
            403,
            "subject-mismatch",
        ),
        // A user's token names the app client the user signed in through: not the client's own.
        (
            "GET",
            format!("/clients/{CLIENT}/orders"),
            "/clients/{client_id}/orders",
            vec![("client_id", CLIENT.into())],
            MANAGER,
            403,
            "not-a-machine",
        ),
        // A client-credentials token (sub = client id) on its own route, and on another's.
        (
            "GET",
            format!("/clients/{MACHINE}/orders"),
            "/clients/{client_id}/orders",
            vec![("client_id", MACHINE.into())],
            MACHINE,
            200,
            "",
        ),
        (
            "GET",
            format!("/clients/{CLIENT}/orders"),
            "/clients/{client_id}/orders",
            vec![("client_id", CLIENT.into())],
            MACHINE,
            403,
            "client-mismatch",
        ),
    ]
}

#[tokio::test]
async fn every_rule_holds_for_callers_established_by_each_authorizer() {
    let source = CountingSource::new().await;
    let app = LambdaApp::new(source.clone(), None);
    for kind in KINDS {
        for (method, path, resource, params, who, status, code) in cases() {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // A machine's client-credentials token names itself as both subject and client.
            let client = if who == MACHINE { MACHINE } else { CLIENT };
            let answer = app
                .call(&event(kind, who, client, method, &path, resource, &params))
                .await;
            assert_eq!(
                answer.status, status,
                "{kind:?} {who} {method} {path}: {}",
                answer.text
            );
            if status == 200 {
                assert_eq!(answer.json()["permissionsId"], who);
                assert_eq!(answer.json()["clientId"], client);
                assert_eq!(answer.json()["scopes"], json!(["openid", "email"]));
                let origin = match kind {
                    Kind::RestCognito => "CognitoAuthorizerClaims",
                    Kind::HttpJwt => "HttpApiJwtClaims",
                    Kind::RestLambda | Kind::HttpLambda => "LambdaAuthorizerContext",
                };
                assert_eq!(answer.json()["origin"], origin);
            } else {
                assert_eq!(
                    answer.problem(403, "forbidden")["code"],
                    code,
                    "{kind:?} {method} {path}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_lambda_authorizers_context_carries_the_permissions_so_the_source_is_not_asked() {
    // The source is down: only the context can be answering.
    let app = LambdaApp::new(Arc::new(DownSource), None);
    for kind in [Kind::RestLambda, Kind::HttpLambda] {
        let answer = app
            .call(&event(
                kind,
                MANAGER,
                CLIENT,
                "POST",
                "/companies/1111/orders",
                ORDERS,
                &[("company_id", "1111")],
            ))
            .await;
        assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text);
        assert_eq!(answer.json()["companies"], json!(["1111"]));
        assert_eq!(answer.json()["role"], "Manager");
        assert_eq!(
            answer.json()["version"],
            0,
            "the context carries no version"
        );
    }
}

#[tokio::test]
async fn claims_from_an_authorizer_are_hydrated_through_the_source() {
    let source = CountingSource::new().await;
    let app = LambdaApp::new(source.clone(), None);
    for kind in [Kind::RestCognito, Kind::HttpJwt] {
        let before = source.calls();
        let answer = app
            .call(&event(
                kind,
                STANDARD,
                CLIENT,
                "GET",
                "/companies/2222/orders",
                ORDERS,
                &[("company_id", "2222")],
            ))
            .await;
        assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text);
        assert_eq!(answer.json()["version"], 1, "read from the store");
        assert_eq!(source.calls(), before + 1);
    }
    // And a source that is down is a 503 there, never an allow.
    let down = LambdaApp::new(Arc::new(DownSource), None);
    for kind in [Kind::RestCognito, Kind::HttpJwt] {
        let answer = down
            .call(&event(
                kind,
                MANAGER,
                CLIENT,
                "GET",
                "/companies/1111/orders",
                ORDERS,
                &[("company_id", "1111")],
            ))
            .await;
        answer.problem(503, "permissions-unavailable");
    }
}

#[tokio::test]
async fn a_context_without_permissions_is_hydrated_through_the_source() {
    // An authorizer allowed a caller Clearance knows nothing about (no id, companies, role).
    let source = CountingSource::new().await;
    let app = LambdaApp::new(source.clone(), None);
    let mut event = event(
        Kind::HttpLambda,
        MANAGER,
        CLIENT,
        "GET",
        "/companies/1111/orders",
        ORDERS,
        &[("company_id", "1111")],
    );
    let fields = event["requestContext"]["authorizer"]["lambda"]
        .as_object_mut()
        .unwrap();
    for key in ["id", "companies", "role"] {
        fields.remove(key);
    }
    let answer = app.call(&event).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["version"], 1);
    assert_eq!(source.calls(), 1);
}

#[tokio::test]
async fn iam_callers_are_identified_by_their_cognito_identity() {
    let app = LambdaApp::new(CountingSource::new().await, None);
    for file in ["rest-iam.json", "http-api-iam.json"] {
        let call = |method: &str, path: String, resource: &str, params: Vec<(&str, String)>| {
            let mut event = fixture(file);
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            target(&mut event, method, &path, resource, &params);
            event
        };
        let member = app
            .call(&call(
                "POST",
                "/companies/1111/orders".into(),
                ORDERS,
                vec![("company_id", "1111".into())],
            ))
            .await;
        assert_eq!(member.status, 200, "{file}: {}", member.text);
        assert_eq!(member.json()["origin"], "Iam");
        assert_eq!(member.json()["permissionsId"], IAM_IDENTITY);
        let other = app
            .call(&call(
                "GET",
                "/companies/2222/orders".into(),
                ORDERS,
                vec![("company_id", "2222".into())],
            ))
            .await;
        assert_eq!(
            other.problem(403, "forbidden")["code"],
            "not-a-member",
            "{file}"
        );
        let own = app
            .call(&call(
                "GET",
                format!("/users/{IAM_IDENTITY}/orders/7"),
                "/users/{user_id}/orders/{id}",
                vec![("user_id", IAM_IDENTITY.into()), ("id", "7".into())],
            ))
            .await;
        assert_eq!(own.status, 200, "{file}: {}", own.text);
        let someone_else = app
            .call(&call(
                "GET",
                format!("/users/{MANAGER}/orders/7"),
                "/users/{user_id}/orders/{id}",
                vec![("user_id", MANAGER.into()), ("id", "7".into())],
            ))
            .await;
        someone_else.forbidden("subject-mismatch");
        let client = app
            .call(&call(
                "GET",
                format!("/clients/{CLIENT}/orders"),
                "/clients/{client_id}/orders",
                vec![("client_id", CLIENT.into())],
            ))
            .await;
        assert_eq!(
            client.problem(403, "forbidden")["code"],
            "not-a-machine",
            "IAM callers are not machine clients"
        );
    }
}

#[tokio::test]
async fn without_an_authorizer_the_bearer_token_is_verified_under_lambda_too() {
    let issuer = TestIssuer::start().await;
    let app = LambdaApp::new(CountingSource::new().await, Some(&issuer));
    let with_token = |token: &str| {
        let text = fixture("rest-no-authorizer.json")
            .to_string()
            .replace("__TOKEN__", token);
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let ok = app
        .call(&with_token(&issuer.access_token(MANAGER, CLIENT)))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json()["origin"], "BearerToken");
    let bad = app.call(&with_token("garbage")).await;
    bad.problem(401, "unauthorized");

    // No authorizer and no token at all.
    let mut bare = fixture("rest-no-authorizer.json");
    for headers in ["headers", "multiValueHeaders"] {
        bare[headers]
            .as_object_mut()
            .unwrap()
            .remove("Authorization");
    }
    let none = app.call(&bare).await;
    none.problem(401, "unauthorized");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn without_a_verifier_only_the_context_is_accepted() {
    let issuer = TestIssuer::start().await;
    let app = LambdaApp::new(CountingSource::new().await, None);
    let text = fixture("rest-no-authorizer.json")
        .to_string()
        .replace("__TOKEN__", &issuer.access_token(MANAGER, CLIENT));
    let answer = app.call(&serde_json::from_str(&text).unwrap()).await;
    let problem = answer.problem(401, "unauthorized");
    assert_detail_contains(&problem, "API Gateway");
}

#[tokio::test]
async fn the_rest_stage_is_taken_off_the_path_before_routing() {
    let app = LambdaApp::new(CountingSource::new().await, None);
    let event = event(
        Kind::RestCognito,
        MANAGER,
        CLIENT,
        "GET",
        "/companies/1111/orders",
        ORDERS,
        &[("company_id", "1111")],
    );
    assert_eq!(
        event["requestContext"]["path"],
        "/prod/companies/1111/orders"
    );
    let answer = app.call(&event).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The token claims a JWT (HTTP API) or Cognito user-pool (REST) authorizer put in `event`.
fn claims(kind: Kind, event: &mut Value) -> &mut Value {
    let authorizer = &mut event["requestContext"]["authorizer"];
    match kind {
        Kind::RestCognito => &mut authorizer["claims"],
        Kind::HttpJwt => &mut authorizer["jwt"]["claims"],
        Kind::RestLambda | Kind::HttpLambda => panic!("a Lambda authorizer passes no claims"),
    }
}

#[tokio::test]
async fn a_token_older_than_the_permissions_is_401_stale_permissions_behind_a_jwt_or_cognito_authorizer()
 {
    let store = crate::helpers::store().await;
    // manager-1 changes after the token was minted: version 2 now.
    clearance_tests::seed::grant(store.as_ref(), MANAGER, &["1111"], "Manager").await;
    let source = || -> Arc<dyn PermissionsSource> { Arc::new(StoreSource(store.clone())) };
    let app = LambdaApp::new(source(), None);
    let renamed = LambdaApp::with(source(), |auth| auth.with_perm_ver_claim(Some("pv")));
    let off = LambdaApp::with(source(), |auth| auth.with_perm_ver_claim(None));
    for kind in [Kind::RestCognito, Kind::HttpJwt] {
        // The claims as API Gateway passes them on: strings.
        let minted = |claim: &str, version: Option<&str>| {
            let mut event = event(
                kind,
                MANAGER,
                CLIENT,
                "GET",
                "/companies/1111/orders",
                ORDERS,
                &[("company_id", "1111")],
            );
            if let Some(version) = version {
                claims(kind, &mut event)[claim] = json!(version);
            }
            event
        };

        let stale = app.call(&minted("perm_ver", Some("1"))).await;
        assert_eq!(
            stale.problem(401, "stale-permissions")["code"],
            "stale-permissions",
            "{kind:?}"
        );
        let challenge = stale.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(
                "Bearer error=\"invalid_token\", error_description=\"stale-permissions"
            ),
            "{kind:?}: {challenge}"
        );
        // The current version, and a token without the claim (judged as before), go through.
        for fresh in [minted("perm_ver", Some("2")), minted("perm_ver", None)] {
            let ok = app.call(&fresh).await;
            assert_eq!(ok.status, 200, "{kind:?}: {}", ok.text);
            assert_eq!(ok.json()["version"], 2);
        }
        // The claim's name is the configured one; the check can be turned off.
        renamed
            .call(&minted("pv", Some("1")))
            .await
            .problem(401, "stale-permissions");
        let other_name = renamed.call(&minted("perm_ver", Some("1"))).await;
        assert_eq!(other_name.status, 200, "{kind:?}: {}", other_name.text);
        let unchecked = off.call(&minted("perm_ver", Some("1"))).await;
        assert_eq!(unchecked.status, 200, "{kind:?}: {}", unchecked.text);
        // A caller whose permissions are gone since the token was minted must refresh it too.
        let mut gone = minted("perm_ver", Some("1"));
        claims(kind, &mut gone)["sub"] = json!(crate::helpers::STRANGER);
        app.call(&gone).await.problem(401, "stale-permissions");
    }
}
