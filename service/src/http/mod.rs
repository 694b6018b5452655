//! The HTTP transport: routes, extractors, problem documents, and the layers every request passes.
//!
//! Handlers are thin: parse the request into domain types, call the store (through the cache),
//! map the answer. [`app`] builds the whole router from an [`AppState`], so tests can drive it
//! with or without a socket, and the Lambda runtime can serve it unchanged.

pub mod admin;
pub mod auth;
pub mod authzen;
pub mod companies;
pub mod conditional;
pub mod context;
pub mod decisions;
pub mod docs;
pub mod extract;
pub mod gateway;
pub mod health;
pub mod history;
pub mod observe;
pub mod problem;
pub mod strict;
pub mod users;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::routing::{get, post};
use tower::ServiceBuilder;

use crate::state::AppState;
use problem::ApiError;

/// The router of the permissions API over `state`.
///
/// Layers, outermost first: the request id (made when missing, echoed on the answer), metrics and
/// the access log, all in one ([`observe::ObserveLayer`], which also gives a bare 405 its problem
/// body), the body limit, and authentication (left out with `--auth none`, where it would let
/// everything through).
pub fn app(state: AppState) -> Router {
    let auth = state.auth.clone();
    let routes = Router::new()
        .route("/users/batch-get", post(users::batch_get))
        .route(
            "/users/{id}",
            get(users::get_user)
                .put(users::put_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route("/users/{id}/history", get(history::user_history))
        .route(
            "/companies/{company}/users",
            get(companies::list_company_users),
        )
        .route("/check", post(decisions::check))
        .route(authzen::paths::EVALUATION, post(authzen::evaluation))
        .route(authzen::paths::EVALUATIONS, post(authzen::evaluations))
        .route(
            authzen::paths::SEARCH_SUBJECT,
            post(authzen::search_subject),
        )
        .route(
            authzen::paths::SEARCH_RESOURCE,
            post(authzen::search_resource),
        )
        .route(authzen::paths::SEARCH_ACTION, post(authzen::search_action))
        .route(authzen::paths::CONFIGURATION, get(authzen::configuration))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::docs_page))
        .route("/admin", get(admin::page))
        .route("/admin/config", get(admin::config))
        .fallback(route_not_found);
    let authenticate = (auth.mode != auth::AuthMode::None)
        .then(|| middleware::from_fn_with_state(auth, auth::authenticate));
    // One `layer` call for all three: each call wraps every route in another boxed route, which
    // axum clones and whose future it boxes on every request.
    routes
        .layer(
            ServiceBuilder::new()
                .layer(observe::ObserveLayer::new(observe::Observer::new()))
                .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
                .option_layer(authenticate),
        )
        .with_state(state)
}

async fn route_not_found(req: Request) -> ApiError {
    ApiError::RouteNotFound(req.uri().path().to_owned())
}
