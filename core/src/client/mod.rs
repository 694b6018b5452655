//! The HTTP client for the permissions API, for the Cognito trigger and the authorizers.
//!
//! [`PermissionsClient`] calls `GET /users/{id}` ([`get_user`](PermissionsClient::get_user)),
//! `POST /check` ([`check`](PermissionsClient::check)) and `POST /users/batch-get`
//! ([`batch_get`](PermissionsClient::batch_get)) and answers in domain types. It is built once (in
//! a Lambda's init phase) and shared; it is cheap to clone.
//!
//! - **Time.** Each attempt is bounded ([`ClientConfig::attempt_timeout`], default 500 ms) and so
//!   is the whole call with its retries ([`ClientConfig::total_timeout`], default 2 s), well inside
//!   a Cognito trigger's 5 s.
//! - **Retries** with jittered exponential back-off, on timeouts, connection failures and 5xx
//!   answers only; never on a 4xx.
//! - **No cache of its own.** Put `crate::cache::CachedSource` in front of it (as `source::env`
//!   does): the one read-through cache every source shares.
//! - **Authentication** ([`Auth`]): an OAuth2 client-credentials bearer token (fetched once for all
//!   callers and renewed before it expires), SigV4 (feature `client-sigv4`), or none.
//!
//! Configuration from the environment: [`ClientConfig::from_env`] (`PERMISSIONS_API_URL`,
//! `PERMISSIONS_AUTH`, `PERMISSIONS_TOKEN_URL`, `PERMISSIONS_CLIENT_ID`,
//! `PERMISSIONS_CLIENT_SECRET`, `PERMISSIONS_SCOPES`, `PERMISSIONS_SIGV4_REGION`,
//! `PERMISSIONS_SIGV4_SERVICE`, `PERMISSIONS_ATTEMPT_TIMEOUT_MS`, `PERMISSIONS_TOTAL_TIMEOUT_MS`,
//! `PERMISSIONS_MAX_ATTEMPTS`). Secrets and tokens are never logged; `Debug` output
//! redacts them.

mod config;
mod error;
#[cfg(feature = "client-sigv4")]
mod sigv4;
mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::consistency::Consistency;
use crate::domain::{CompanyId, RoleRequirement, UserId, UserPermissions};

#[cfg(feature = "client-sigv4")]
pub use config::SigV4;
pub use config::{
    Auth, ClientConfig, ClientCredentials, ENV_API_URL, ENV_ATTEMPT_TIMEOUT,
    ENV_ATTEMPT_TIMEOUT_MS, ENV_AUTH, ENV_AWS_REGION, ENV_CACHE_REFRESH_AFTER,
    ENV_CACHE_STALE_IF_ERROR, ENV_CACHE_TTL, ENV_CACHE_TTL_SECS, ENV_CLIENT_ID, ENV_CLIENT_SECRET,
    ENV_MAX_ATTEMPTS, ENV_NEGATIVE_CACHE_TTL, ENV_NEGATIVE_CACHE_TTL_SECS, ENV_SCOPES,
    ENV_SIGV4_REGION, ENV_SIGV4_SERVICE, ENV_TOKEN_URL, ENV_TOTAL_TIMEOUT, ENV_TOTAL_TIMEOUT_MS,
    Secret,
};
pub use error::{ClientConfigError, ClientError, TokenError};

use token::TokenSource;

/// The most ids `POST /users/batch-get` takes at once; longer lists are sent in chunks.
pub use crate::store::MAX_BATCH_GET;

/// The problem `type` the permissions API gives a path it has no route for, as opposed to a user
/// it does not know: a 404 with it means a wrong base URL, not "no such user".
const ROUTE_NOT_FOUND: &str = "urn:clearance:problem:not-found";

/// The answer to [`PermissionsClient::check`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckResponse {
    /// Whether the user may go ahead.
    pub allowed: bool,
    /// The rule that decided, in words.
    pub reason: String,
    /// The rule that decided: `allowed`, `unknown-user`, `not-a-member`, `role-mismatch` or
    /// `role-below-required`.
    pub code: String,
}

/// The answer to [`PermissionsClient::batch_get`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BatchGetResponse {
    /// The users found, in the order asked for.
    pub users: Vec<UserPermissions>,
    /// The ids asked for that have no permissions stored.
    pub missing: Vec<UserId>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckBody<'a> {
    user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    at_least: bool,
}

#[derive(Serialize)]
struct BatchGetBody<'a> {
    ids: Vec<&'a str>,
}

/// The client's counters since it was built, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP attempts made to the API (retries included).
    pub attempts: u64,
    /// Retries among them.
    pub retries: u64,
    /// Tokens fetched from the token endpoint.
    pub token_fetches: u64,
}

enum Authenticator {
    None,
    Bearer(Box<TokenSource>),
    #[cfg(feature = "client-sigv4")]
    SigV4(Box<sigv4::Signer>),
}

#[derive(Default)]
struct Counters {
    attempts: AtomicU64,
    retries: AtomicU64,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    auth: Authenticator,
    counters: Counters,
}

/// A client for the permissions API. Cheap to clone: clones share the connection pool and the
/// token.
#[derive(Clone)]
pub struct PermissionsClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PermissionsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermissionsClient")
            .field("base_url", &self.inner.config.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// What one attempt got back.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl PermissionsClient {
    /// A client for `config`. Nothing is fetched yet.
    pub fn new(config: ClientConfig) -> Result<Self, ClientConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.attempt_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("clearance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientConfigError::HttpClient)?;
        let auth = match &config.auth {
            Auth::None => Authenticator::None,
            Auth::ClientCredentials(credentials) => Authenticator::Bearer(Box::new(
                TokenSource::new(credentials.clone(), http.clone()),
            )),
            #[cfg(feature = "client-sigv4")]
            Auth::SigV4(sigv4) => Authenticator::SigV4(Box::new(sigv4::Signer::new(sigv4.clone()))),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                http,
                auth,
                counters: Counters::default(),
            }),
        })
    }

    /// A client configured from the environment ([`ClientConfig::from_env`]).
    pub fn from_env() -> Result<Self, ClientConfigError> {
        Self::new(ClientConfig::from_env()?)
    }

    /// The counters since the client was built.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            attempts: c.attempts.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            token_fetches: match &self.inner.auth {
                Authenticator::Bearer(source) => source.fetches(),
                _ => 0,
            },
        }
    }

    /// A user's permissions (`GET /users/{id}`), or `None` if Clearance holds none (404).
    pub async fn get_user(&self, id: &UserId) -> Result<Option<UserPermissions>, ClientError> {
        self.get_user_at(id, Consistency::MinimizeLatency).await
    }

    /// A user's permissions read as fresh as `consistency` asks (`GET
    /// /users/{id}?consistency=...`; the default sends no parameter): the API's cache, at least a
    /// version, or a strongly consistent store read.
    pub async fn get_user_at(
        &self,
        id: &UserId,
        consistency: Consistency,
    ) -> Result<Option<UserPermissions>, ClientError> {
        let mut url = self.url(&["users", id.as_str()]);
        with_consistency(&mut url, consistency);
        let answer = self.call("get_user", Method::GET, url, None).await?;
        match answer.status {
            StatusCode::OK => decode::<UserPermissions>(&answer.body).map(Some),
            StatusCode::NOT_FOUND if !is_route_not_found(&answer.body) => Ok(None),
            status => Err(ClientError::from_status(status, &answer.body)),
        }
    }

    /// Whether `user` may act for `company` (if given) in `role` (if given): `POST /check`,
    /// decided on permissions as fresh as `consistency` asks (`?consistency=...`; the default,
    /// [`Consistency::MinimizeLatency`], sends no parameter and lets the API answer from its
    /// cache). The client keeps no cache of its own, so the choice reaches the API as it is:
    /// [`Consistency::Full`] for a decision that moves money or changes access, or
    /// [`Consistency::AtLeast`] with the version a write returned (its `ETag`), to read your own
    /// write through any instance.
    pub async fn check(
        &self,
        user: &UserId,
        company: Option<&CompanyId>,
        role: Option<&RoleRequirement>,
        consistency: Consistency,
    ) -> Result<CheckResponse, ClientError> {
        let (role, at_least) = match role {
            None => (None, false),
            Some(RoleRequirement::Exact(r)) => (Some(r.as_str()), false),
            Some(RoleRequirement::AtLeast(r)) => (Some(r.as_str()), true),
        };
        let body = CheckBody {
            user: user.as_str(),
            company: company.map(CompanyId::as_str),
            role,
            at_least,
        };
        let mut url = self.url(&["check"]);
        with_consistency(&mut url, consistency);
        let answer = self
            .call("check", Method::POST, url, Some(json(&body)))
            .await?;
        match answer.status {
            StatusCode::OK => decode(&answer.body),
            status => Err(ClientError::from_status(status, &answer.body)),
        }
    }

    /// Many users at once: `POST /users/batch-get`, in chunks of [`MAX_BATCH_GET`].
    pub async fn batch_get(&self, ids: &[UserId]) -> Result<BatchGetResponse, ClientError> {
        let mut all = BatchGetResponse {
            users: Vec::with_capacity(ids.len()),
            missing: Vec::new(),
        };
        for chunk in ids.chunks(MAX_BATCH_GET) {
            let body = BatchGetBody {
                ids: chunk.iter().map(UserId::as_str).collect(),
            };
            let url = self.url(&["users", "batch-get"]);
            let answer = self
                .call("batch_get", Method::POST, url, Some(json(&body)))
                .await?;
            if answer.status != StatusCode::OK {
                return Err(ClientError::from_status(answer.status, &answer.body));
            }
            let part: BatchGetResponse = decode(&answer.body)?;
            all.users.extend(part.users);
            all.missing.extend(part.missing);
        }
        Ok(all)
    }

    /// The API's URL for these path segments (each percent-encoded) below the base URL's path.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.config.base_url.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Makes a call with retries, within the total timeout. Answers with any status below 500
    /// (the caller decides what it means); 5xx answers, timeouts and connection failures are
    /// retried.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ClientError> {
        let config = &self.inner.config;
        let started = Instant::now();
        let deadline = started + config.total_timeout;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let budget = config.attempt_timeout.min(remaining);
            let outcome =
                tokio::time::timeout(budget, self.attempt(&method, &url, body.as_deref(), budget))
                    .await;
            let timed_out = || ClientError::Timeout {
                elapsed: started.elapsed(),
                attempts,
            };
            let err = match outcome {
                Ok(Ok(answer)) if !answer.status.is_server_error() => return Ok(answer),
                Ok(Ok(answer)) => ClientError::from_status(answer.status, &answer.body),
                Ok(Err(AttemptError::Timeout)) | Err(_) => timed_out(),
                Ok(Err(AttemptError::Transport(source))) => ClientError::Transport {
                    attempts,
                    source: Arc::new(source),
                },
                Ok(Err(AttemptError::Other(err))) => err,
            };
            if !err.is_retryable() || attempts >= config.max_attempts {
                return Err(err);
            }
            let base = config.backoff.saturating_mul(1 << (attempts - 1).min(16));
            let wait = jitter(base);
            if Instant::now() + wait >= deadline {
                return Err(match err {
                    ClientError::Timeout { .. } => timed_out(),
                    other => other,
                });
            }
            tracing::debug!(operation, attempt = attempts, error = %err, wait_ms = wait.as_millis() as u64, "retrying");
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: authenticate, send, read the answer.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        budget: Duration,
    ) -> Result<Answer, AttemptError> {
        self.inner.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let mut bearer = None;
        match &self.inner.auth {
            Authenticator::None => {}
            Authenticator::Bearer(source) => {
                let token = source
                    .bearer(budget)
                    .await
                    .map_err(|e| AttemptError::Other(ClientError::Token(e)))?;
                request = request.bearer_auth(token.expose());
                bearer = Some(token);
            }
            #[cfg(feature = "client-sigv4")]
            Authenticator::SigV4(signer) => {
                let mut headers = Vec::new();
                if body.is_some() {
                    headers.push(("content-type", "application/json"));
                }
                let signed = signer
                    .sign(
                        method.as_str(),
                        url.as_str(),
                        &headers,
                        body.unwrap_or_default(),
                    )
                    .await
                    .map_err(AttemptError::Other)?;
                for (name, value) in signed {
                    request = request.header(name, value);
                }
            }
        }
        let response = request.send().await.map_err(AttemptError::from_reqwest)?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(AttemptError::from_reqwest)?
            .to_vec();
        if status == StatusCode::UNAUTHORIZED
            && let (Authenticator::Bearer(source), Some(token)) = (&self.inner.auth, &bearer)
        {
            // The token may have been revoked: fetch a new one next time (this call is not retried).
            source.forget(token);
        }
        Ok(Answer { status, body })
    }
}

/// Why an attempt failed, before it is turned into a [`ClientError`].
enum AttemptError {
    Timeout,
    Transport(reqwest::Error),
    Other(ClientError),
}

impl AttemptError {
    fn from_reqwest(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else {
            Self::Transport(err)
        }
    }
}

/// Adds `?consistency=` to `url` unless `consistency` is the API's default (the cache).
fn with_consistency(url: &mut Url, consistency: Consistency) {
    if consistency != Consistency::MinimizeLatency {
        url.query_pairs_mut()
            .append_pair("consistency", &consistency.to_string());
    }
}

/// A wait drawn at random between half of `base` and all of it.
fn jitter(base: Duration) -> Duration {
    let half = base / 2;
    half + half.mul_f64(fastrand::f64())
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("request bodies always serialize")
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(Arc::new(e)))
}

fn is_route_not_found(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("type")
                .and_then(|t| t.as_str())
                .map(|t| t == ROUTE_NOT_FOUND)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_percent_encoded_below_the_base_path() {
        let config = ClientConfig::new("https://api.example.com/prod/").unwrap();
        let client = PermissionsClient::new(config).unwrap();
        let url = client.url(&["users", "a/b?c#d é"]);
        assert_eq!(
            url.as_str(),
            "https://api.example.com/prod/users/a%2Fb%3Fc%23d%20%C3%A9"
        );
        let config = ClientConfig::new("https://api.example.com").unwrap();
        let client = PermissionsClient::new(config).unwrap();
        assert_eq!(
            client.url(&["check"]).as_str(),
            "https://api.example.com/check"
        );
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_base() {
        for _ in 0..100 {
            let wait = jitter(Duration::from_millis(100));
            assert!(wait >= Duration::from_millis(50) && wait <= Duration::from_millis(100));
        }
    }
}
