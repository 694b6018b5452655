//! Clearance's shared library: what every Clearance component needs, without a web stack.
//!
//! Clearance keeps, per user, which companies they may act for and in what role, and serves that
//! fast to the permissions API, the Cognito trigger, the authorizers and the middleware. This crate
//! holds the parts they share:
//!
//! - [`domain`]: user ids, company ids, roles and their order, a user's permissions, and the one
//!   function that decides whether a user may act for a company in a role. Validated on parse.
//! - [`store`]: the [`store::PermissionStore`] trait and its implementations (in memory; embedded
//!   redb with feature `embedded`), pagination cursors (feature `cursor`), and operations built
//!   on the trait (an atomic PATCH); `store::args` and `store::dynamodb::args` (feature `cli`) hold
//!   the store and DynamoDB flags the service and the seed CLI share.
//! - [`authz`]: route requirements (company, role, subject, client, authentication only) and
//!   their evaluation, shared by the authorizer and the middleware.
//! - [`source`]: where the Lambdas and middleware read permissions from (the API client or a
//!   store), behind one trait; `source::env` (features `dynamodb` and `client`) builds one from
//!   the environment.
//! - [`env`](mod@env): reading environment variables the same way in every Lambda: trimmed, empty as
//!   unset, durations such as `2s` (with the former `*_MS` / `*_SECS` names still read), the role
//!   list, and one [`env::ConfigError`] that names the variable.
//! - [`consistency`]: how fresh a read must be, chosen per request (the cache, at least a
//!   version, or fully consistent), and how fresh an answer was (`Age`, `Cache-Status`).
//! - [`bearer`]: reading `Authorization: Bearer <token>`.
//! - [`net`]: which hosts are loopback (where plain `http` is accepted).
//! - [`report`]: an error and its sources on one line, for logs.
//! - [`text`]: the vectorized byte scan of ids, tokens and log fields read on every request.
//! - [`metrics`](mod@metrics): the metrics every component records through the `metrics` facade,
//!   named and described in one place.
//! - `telemetry` (feature `telemetry`): the logging and metrics set-up every binary shares
//!   (Prometheus with feature `prometheus`, CloudWatch Embedded Metric Format on Lambda).
//! - `cache` (feature `cache`): the one read-through TTL cache (moka), in front of any store
//!   (`CachedStore`, behind the store trait) or any permissions source (`CachedSource`, e.g. the
//!   permissions client).
//! - `client` (feature `client`): the HTTP client for the permissions API (its access token, like
//!   the JWKS of `jwt`, is fetched once for all callers through the private `fetched` module).
//! - `jwt` (feature `jwt`): JWT verification against issuers' JWKS, configured from code, the
//!   environment or a file.
//!
//! Lambda functions enable only the features they use, so they stay small and start fast.

pub mod authz;
pub mod bearer;
#[cfg(feature = "cache")]
pub mod cache;
#[cfg(feature = "client")]
pub mod client;
pub mod consistency;
pub mod domain;
pub mod env;
#[cfg(any(feature = "client", feature = "jwt"))]
mod fetched;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod metrics;
pub mod net;
pub mod report;
pub mod source;
pub mod store;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod text;
