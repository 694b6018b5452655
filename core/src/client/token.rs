//! OAuth2 client credentials: one token for all callers, fetched once, refreshed before it expires.
//!
//! The token is requested the way Cognito's `/oauth2/token` expects: a form-encoded
//! `grant_type=client_credentials` (with `scope` if scopes are configured) and HTTP Basic client
//! authentication. It is reused until shortly before it expires (10% of its lifetime early, at most
//! 60 s early). When it must be renewed, the first caller fetches and every concurrent caller waits
//! for that one fetch; if the fetch fails, they all get its error rather than each trying again,
//! and a token that has not yet expired is still used.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::config::{ClientCredentials, Secret};
use super::error::TokenError;
use crate::fetched::Fetched;

/// Renew at most this long before expiry.
const MAX_EARLY: Duration = Duration::from_secs(60);
/// The lifetime assumed when the token endpoint does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Clone)]
struct CachedToken {
    value: Secret,
    renew_at: Instant,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    token: Option<CachedToken>,
    /// Fetches attempted: a waiter that sees it change knows a fetch ran while it waited.
    attempts: u64,
    /// The last fetch's error, if it failed.
    last_error: Option<TokenError>,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

/// An OAuth2 error answer (`{"error": "invalid_client"}`).
#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
}

/// Fetches and caches the bearer token.
pub(crate) struct TokenSource {
    credentials: ClientCredentials,
    http: reqwest::Client,
    state: Fetched<State>,
}

impl TokenSource {
    pub(crate) fn new(credentials: ClientCredentials, http: reqwest::Client) -> Self {
        Self {
            credentials,
            http,
            state: Fetched::default(),
        }
    }

    /// Token fetches made so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.state.fetches()
    }

    /// The cached token if it need not be renewed yet.
    fn fresh(&self) -> Option<Secret> {
        let state = self.state.read();
        let token = state.token.as_ref()?;
        (Instant::now() < token.renew_at).then(|| token.value.clone())
    }

    /// A bearer token, fetched if there is none or it is due for renewal. `timeout` bounds the
    /// fetch.
    pub(crate) async fn bearer(&self, timeout: Duration) -> Result<Secret, TokenError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let seen = self.state.read().attempts;
        let _fetching = self.state.turn().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        {
            let state = self.state.read();
            if state.attempts != seen
                && let Some(err) = &state.last_error
            {
                // A fetch failed while this caller waited: share its answer.
                return self.still_valid(&state).ok_or_else(|| err.clone());
            }
        }
        let sent = Instant::now();
        let fetched = self.fetch(timeout).await;
        let mut state = self.state.write();
        state.attempts += 1;
        match fetched {
            Ok(response) => {
                let lifetime = response
                    .expires_in
                    .map(Duration::from_secs)
                    .unwrap_or(DEFAULT_LIFETIME);
                let early = (lifetime / 10).min(MAX_EARLY);
                let token = CachedToken {
                    value: Secret::new(response.access_token),
                    renew_at: sent + lifetime - early,
                    expires_at: sent + lifetime,
                };
                let value = token.value.clone();
                state.token = Some(token);
                state.last_error = None;
                Ok(value)
            }
            Err(err) => {
                tracing::warn!(error = %err, "access token fetch failed");
                state.last_error = Some(err.clone());
                self.still_valid(&state).ok_or(err)
            }
        }
    }

    /// The cached token if it has not expired, for use while its renewal fails.
    fn still_valid(&self, state: &State) -> Option<Secret> {
        let token = state.token.as_ref()?;
        (Instant::now() < token.expires_at).then(|| token.value.clone())
    }

    /// Forgets `token` if it is the cached one (the API refused it: it may have been revoked).
    pub(crate) fn forget(&self, token: &Secret) {
        let mut state = self.state.write();
        if state.token.as_ref().is_some_and(|t| &t.value == token) {
            state.token = None;
        }
    }

    async fn fetch(&self, timeout: Duration) -> Result<TokenResponse, TokenError> {
        self.state.count_fetch();
        let scope = self.credentials.scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let request = self
            .http
            .post(self.credentials.token_url.clone())
            .basic_auth(
                &self.credentials.client_id,
                Some(self.credentials.client_secret.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(timeout);
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                TokenError::Timeout
            } else {
                TokenError::Transport(Arc::new(e))
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_server_error() {
            return Err(TokenError::Unavailable {
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            let error = serde_json::from_slice::<TokenErrorResponse>(&body)
                .ok()
                .map(|e| e.error.chars().take(100).collect());
            return Err(TokenError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        let response: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| TokenError::Decode(Arc::new(e)))?;
        if let Some(kind) = &response.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(TokenError::NotBearer(kind.chars().take(40).collect()));
        }
        Ok(response)
    }
}
