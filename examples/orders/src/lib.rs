//! An example backing service behind Clearance: the reference design's orders API.
//!
//! | route | requires |
//! | --- | --- |
//! | `GET /companies/{company_id}/orders` | the caller may act for the company, as `Standard` or above |
//! | `POST /companies/{company_id}/orders` | the caller may act for the company, as `Manager` or above |
//! | `GET /users/{user_id}/orders/{id}` | `user_id` is the caller (the token's `sub`) |
//!
//! Orders live in memory. The routes are protected by `clearance-middleware`: its
//! [`AuthLayer`](clearance_middleware::AuthLayer) finds the caller (the API Gateway authorizer's context
//! on Lambda, else a bearer token it verifies) and hydrates their permissions; the route layers
//! check the rules above.
//!
//! - [`config`]: settings from flags and environment variables.
//! - [`orders`]: the orders and their in-memory book.
//! - [`routes`]: the router and the handlers.
//! - [`startup`]: building the verifier, the permissions source and the app; serving them over
//!   HTTP or Lambda.

pub mod config;
pub mod orders;
pub mod routes;
pub mod startup;

pub use routes::app;
