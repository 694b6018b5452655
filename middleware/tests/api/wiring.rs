//! Wiring mistakes fail closed, with a 500 that says nothing internal; and an `Identity` inserted
//! by other means (a service's own authentication) is checked by the same route layers.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use clearance_core::authz::Caller;
use clearance_core::domain::RoleOrder;
use clearance_middleware::{Identity, Origin, require_company};
use http::Request;
use tower::{Layer as _, ServiceExt as _};

use crate::helpers::{Answer, CountingSource, LambdaApp, MANAGER, fixture, people, target};

async fn call(app: Router, path: &str) -> Answer {
    let request = Request::get(path).body(Body::empty()).unwrap();
    Answer::from_response(app.oneshot(request).await.unwrap()).await
}

/// Puts the Manager's identity in every request, as a service's own authentication could.
fn as_manager(app: Router) -> Router {
    app.layer(axum::middleware::map_request(
        |mut req: Request<Body>| async move {
            let permissions = people().into_iter().find(|p| p.id.as_str() == MANAGER);
            req.extensions_mut().insert(Identity {
                caller: Caller::identify(Some(MANAGER), None).unwrap(),
                scopes: Vec::new(),
                permissions,
                origin: Origin::BearerToken,
            });
            req
        },
    ))
}

#[tokio::test]
async fn an_identity_inserted_by_other_means_is_checked_by_the_same_route_layers() {
    let app = as_manager(Router::new().route(
        "/companies/{company_id}/orders",
        get(|| async { "ok" }).route_layer(require_company("company_id", Some("Manager"), true)),
    ));
    assert_eq!(
        call(app.clone(), "/companies/1111/orders").await.status,
        200
    );
    let refused = call(app, "/companies/2222/orders").await;
    refused.forbidden("not-a-member");
}

#[tokio::test]
async fn a_route_layer_can_bring_its_own_role_order() {
    let roles = RoleOrder::parse_list("Manager,Standard,Admin").unwrap();
    let app =
        as_manager(Router::new().route(
            "/companies/{company_id}/orders",
            get(|| async { "ok" }).route_layer(
                require_company("company_id", Some("Standard"), true).with_roles(roles),
            ),
        ));
    let refused = call(app, "/companies/1111/orders").await;
    refused.forbidden("role-below-required");
}

#[tokio::test]
async fn an_extractor_on_a_route_without_the_auth_layer_is_a_500() {
    let app = Router::new().route("/me", get(|_: Identity| async { "never" }));
    let answer = call(app, "/me").await;
    let problem = answer.problem(500, "internal");
    assert_eq!(
        problem["detail"],
        "the server failed to complete the request"
    );
}

#[tokio::test]
async fn a_requirement_outside_a_route_or_naming_a_missing_parameter_is_a_500() {
    // Wrapped around a whole router, it runs before routing: no path parameters yet.
    let routes = Router::new().route("/companies/{company_id}/orders", get(|| async { "never" }));
    let before_routing = require_company("company_id", None, false).layer(routes);
    let outside = as_manager(Router::new().fallback_service(before_routing));
    call(outside, "/companies/1111/orders")
        .await
        .problem(500, "internal");

    let misnamed = as_manager(Router::new().route(
        "/companies/{company}/orders",
        get(|| async { "never" }).route_layer(require_company("company_id", None, false)),
    ));
    call(misnamed, "/companies/1111/orders")
        .await
        .problem(500, "internal");
}

#[tokio::test]
async fn a_layer_told_not_to_trust_the_context_wants_a_token_even_under_lambda() {
    let app = LambdaApp::with(CountingSource::new().await, |auth| {
        auth.trust_request_context(false)
    });
    let mut event = fixture("http-api-lambda.json");
    target(
        &mut event,
        "GET",
        "/companies/1111/orders",
        "/companies/{company_id}/orders",
        &[("company_id", "1111")],
    );
    event["headers"]
        .as_object_mut()
        .unwrap()
        .remove("authorization");
    let answer = app.call(&event).await;
    answer.problem(401, "unauthorized");
}
