//! The router: three order routes behind Clearance's layers, and an open health check.
//!
//! The [`AuthLayer`] wraps the order routes (a caller is required); each route's own layer checks
//! its rule. Handlers then take the [`Identity`] the layer established, and trust it.
//!
//! Freshness is chosen per route: reads decide on the cached permissions (at most the refresh
//! interval old for a caller in use), while placing an order, which spends the company's money,
//! reads them fully consistently, so a revoked Manager cannot place one a moment after the change.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::handler::Handler as _;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clearance_core::authz::Requirement;
use clearance_core::consistency::Consistency;
use clearance_middleware::{
    AuthLayer, Identity, Problem, RequireLayer, require, require_company, require_subject,
};
use serde::Serialize;

use crate::orders::{NewOrder, Order, OrderBook};

/// The app: the order routes behind `auth`, and `GET /healthz` open to all.
pub fn app(book: OrderBook, auth: AuthLayer) -> Router {
    let orders = Router::new()
        .route(
            "/companies/{company_id}/orders",
            get(list.layer(require_company("company_id", Some("Standard"), true)))
                .post(create.layer(place_order_rule())),
        )
        .route(
            "/users/{user_id}/orders/{id}",
            get(one).route_layer(require_subject("user_id")),
        )
        .fallback(not_found)
        .layer(auth)
        .with_state(book);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(orders)
}

/// Who may place an order: a Manager (or above) of the company, judged on permissions read fully
/// consistently (past every cache), since an order spends the company's money.
fn place_order_rule() -> RequireLayer {
    require(Requirement {
        company: Some("company_id".into()),
        role: Some("Manager".into()),
        at_least: true,
        consistency: Consistency::Full,
        ..Requirement::default()
    })
}

/// `GET /companies/{company_id}/orders`'s answer.
#[derive(Debug, Serialize)]
pub struct OrderList {
    /// The company's orders, oldest first.
    pub orders: Vec<Order>,
}

async fn list(State(book): State<OrderBook>, Path(company_id): Path<String>) -> Json<OrderList> {
    Json(OrderList {
        orders: book.for_company(&company_id),
    })
}

#[tracing::instrument(skip_all, fields(user = %identity.caller.permissions_id, company = %company_id))]
async fn create(
    State(book): State<OrderBook>,
    Path(company_id): Path<String>,
    identity: Identity,
    body: Bytes,
) -> Response {
    let new: NewOrder = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(err) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-body",
                "Invalid request body",
                err.to_string(),
            )
            .into_response();
        }
    };
    if let Err(detail) = new.validate() {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "Invalid request",
            detail,
        )
        .into_response();
    }
    let order = book.place(&company_id, &identity.caller.permissions_id, new);
    tracing::info!(order = %order.id, "order placed");
    let location = format!("/users/{}/orders/{}", order.placed_by, order.id);
    let mut response = (StatusCode::CREATED, Json(order)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn one(
    State(book): State<OrderBook>,
    Path((user_id, id)): Path<(String, String)>,
) -> Response {
    match book.placed_by(&user_id, &id) {
        Some(order) => Json(order).into_response(),
        None => Problem::new(
            StatusCode::NOT_FOUND,
            "order-not-found",
            "Order not found",
            format!("you have no order {id:?}"),
        )
        .into_response(),
    }
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no resource at this path",
    )
}
