//! Who may call the permissions API, chosen by `--auth`:
//!
//! - `jwt`: a bearer token from a configured issuer (Cognito or any OIDC issuer), verified with
//!   `clearance_core::jwt`. Scopes grant rights: the read scope (default `clearance/read`) reads
//!   and decides; the write scope (default `clearance/write`) changes permissions and also reads.
//!   No or a bad token is 401 with `WWW-Authenticate: Bearer error="invalid_token"` and the check
//!   that failed in the detail; a missing scope is 403.
//! - `gateway`: under Lambda, behind API Gateway that already authenticated the caller (IAM, a
//!   Cognito or a Lambda authorizer); the caller is read from the request context, which only the
//!   Lambda runtime can set. Refused at start-up when not running under Lambda.
//! - `none`: no authentication, only on a loopback address (or with `--insecure-allow-remote`).
//!   Refused under Lambda, where the function serves whatever route API Gateway sends it, unless
//!   `--insecure-allow-unauthenticated-lambda` says so explicitly.
//!
//! `/healthz`, `/readyz`, `/admin` and `/admin/config` (the admin page, which then signs in) are
//! always open; `/openapi.json`, `/docs`, `/metrics` and the AuthZEN metadata
//! (`/.well-known/authzen-configuration`) are open unless `--public-docs false`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clap::{Args, ValueEnum};
use clearance_core::jwt::verified::DEFAULT_TOKEN_CACHE;
use clearance_core::jwt::{ConfigError, VerifiedToken, Verifier, VerifierConfig};
use clearance_core::store::StoreError;

use super::context::Actor;
use super::problem::ApiError;

/// How callers authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// No authentication (loopback only, unless --insecure-allow-remote).
    None,
    /// Bearer JWTs from the configured issuers, with scopes.
    Jwt,
    /// The caller from API Gateway's request context (Lambda only).
    Gateway,
}

/// Authentication settings (flags and environment variables).
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// How callers authenticate: none, jwt or gateway.
    #[arg(
        long = "auth",
        env = "CLEARANCE_AUTH",
        value_enum,
        default_value = "none"
    )]
    pub mode: AuthMode,

    /// jwt: a Cognito user pool id (e.g. eu-west-1_AbCdEf123) whose tokens are accepted.
    #[arg(long, env = "COGNITO_USER_POOL_ID")]
    pub cognito_user_pool_id: Option<String>,

    /// jwt: an OIDC issuer URL whose tokens are accepted (instead of a Cognito pool).
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// jwt: the issuer's JWKS URL (default {issuer}/.well-known/jwks.json).
    #[arg(long, env = "JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,

    /// jwt: which Cognito tokens are accepted: id, access or any.
    #[arg(long, env = "JWT_TOKEN_USE")]
    pub jwt_token_use: Option<String>,

    /// jwt: accepted app client ids, comma-separated (or * for any).
    #[arg(long, env = "JWT_CLIENT_IDS")]
    pub jwt_client_ids: Option<String>,

    /// jwt: scopes every token must hold (besides the read/write scopes).
    #[arg(long, env = "JWT_REQUIRED_SCOPES")]
    pub jwt_required_scopes: Option<String>,

    /// jwt: groups (cognito:groups), one of which a token must hold.
    #[arg(long, env = "JWT_REQUIRED_GROUPS")]
    pub jwt_required_groups: Option<String>,

    /// jwt: deprecated, in seconds: use --jwt-leeway.
    #[arg(long, env = "JWT_LEEWAY_SECS")]
    pub jwt_leeway_secs: Option<String>,

    /// jwt: clock leeway for exp and nbf, a duration such as 30s (default 0s, at most 5m).
    #[arg(long, env = "JWT_LEEWAY", value_name = "DURATION")]
    pub jwt_leeway: Option<String>,

    /// jwt: deprecated, in seconds: use --jwt-jwks-max-age.
    #[arg(long, env = "JWT_JWKS_MAX_AGE_SECS")]
    pub jwt_jwks_max_age_secs: Option<String>,

    /// jwt: how long a fetched JWKS is trusted, a duration such as 1h (default 1h, at most 24h).
    #[arg(long, env = "JWT_JWKS_MAX_AGE", value_name = "DURATION")]
    pub jwt_jwks_max_age: Option<String>,

    /// jwt: how many verified tokens to keep, so a repeated token skips its signature check
    /// (0 turns it off). Keyed by the whole token, served only before its exp, kept at most 5m.
    #[arg(
        long,
        env = "JWT_TOKEN_CACHE",
        default_value_t = DEFAULT_TOKEN_CACHE,
        value_name = "TOKENS"
    )]
    pub jwt_token_cache: u64,

    /// jwt: the JWT header typ every token must have, e.g. at+jwt (not for Cognito pools).
    #[arg(long, env = "JWT_REQUIRED_TYP")]
    pub jwt_required_typ: Option<String>,

    /// jwt: a TOML or JSON file listing several issuers (instead of the flags above).
    #[arg(long, env = "CLEARANCE_CONFIG")]
    pub clearance_config: Option<String>,

    /// The scope that grants reads and decisions.
    #[arg(long, env = "CLEARANCE_READ_SCOPE", default_value = "clearance/read")]
    pub read_scope: String,

    /// The scope that grants changes (and reads).
    #[arg(long, env = "CLEARANCE_WRITE_SCOPE", default_value = "clearance/write")]
    pub write_scope: String,

    /// Under Lambda, accept --auth none: anyone who can reach the function's routes may read and
    /// change every user's permissions. Only for a function no route exposes.
    #[arg(
        long,
        env = "CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA",
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    pub insecure_allow_unauthenticated_lambda: bool,

    /// Serve /openapi.json, /docs and /metrics without authentication.
    #[arg(long, env = "CLEARANCE_PUBLIC_DOCS", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub public_docs: bool,
}

impl AuthArgs {
    /// The verifier configuration the jwt flags describe.
    pub fn verifier_config(&self) -> Result<VerifierConfig, ConfigError> {
        let pairs = [
            ("COGNITO_USER_POOL_ID", &self.cognito_user_pool_id),
            ("JWT_ISSUER", &self.jwt_issuer),
            ("JWT_JWKS_URL", &self.jwt_jwks_url),
            ("JWT_TOKEN_USE", &self.jwt_token_use),
            ("JWT_CLIENT_IDS", &self.jwt_client_ids),
            ("JWT_REQUIRED_SCOPES", &self.jwt_required_scopes),
            ("JWT_REQUIRED_GROUPS", &self.jwt_required_groups),
            ("JWT_LEEWAY_SECS", &self.jwt_leeway_secs),
            ("JWT_LEEWAY", &self.jwt_leeway),
            ("JWT_JWKS_MAX_AGE_SECS", &self.jwt_jwks_max_age_secs),
            ("JWT_JWKS_MAX_AGE", &self.jwt_jwks_max_age),
            ("JWT_REQUIRED_TYP", &self.jwt_required_typ),
            ("CLEARANCE_CONFIG", &self.clearance_config),
        ];
        let region = std::env::var("COGNITO_REGION").ok();
        VerifierConfig::from_lookup(|key| {
            if key == "COGNITO_REGION" {
                return region.clone();
            }
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| (*v).clone())
        })
    }
}

/// The authentication in force, shared by every request.
pub struct Auth {
    /// The mode.
    pub mode: AuthMode,
    verifier: Option<Arc<Verifier>>,
    read_scope: String,
    write_scope: String,
    public_docs: bool,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// No authentication.
    pub fn none() -> Self {
        Self {
            mode: AuthMode::None,
            verifier: None,
            read_scope: String::new(),
            write_scope: String::new(),
            public_docs: true,
        }
    }

    /// Builds the authentication `args` ask for. `jwt` needs a valid issuer configuration;
    /// `gateway` needs the Lambda runtime.
    pub fn from_args(args: &AuthArgs, on_lambda: bool) -> Result<Self, String> {
        let verifier = match args.mode {
            AuthMode::Jwt => {
                let config = args.verifier_config().map_err(|e| {
                    format!("--auth jwt needs an issuer: {e} (set --cognito-user-pool-id or --jwt-issuer, and --jwt-client-ids)")
                })?;
                Some(Arc::new(
                    Verifier::new(config)
                        .map_err(|e| format!("--auth jwt: {e}"))?
                        .with_token_cache(args.jwt_token_cache),
                ))
            }
            AuthMode::None if on_lambda && !args.insecure_allow_unauthenticated_lambda => {
                return Err(
                    "--auth none under AWS Lambda would let anyone who reaches the function read and change every user's permissions: use --auth gateway (behind an API Gateway authorizer or IAM) or --auth jwt; to accept it anyway, set CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA=true"
                        .into(),
                );
            }
            AuthMode::Gateway if !on_lambda => {
                return Err(
                    "--auth gateway reads the caller from API Gateway's request context and works only under AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set): use --auth jwt for a server"
                        .into(),
                );
            }
            _ => None,
        };
        for (flag, scope) in [
            ("--read-scope", &args.read_scope),
            ("--write-scope", &args.write_scope),
        ] {
            if scope.is_empty() || scope.contains(char::is_whitespace) {
                return Err(format!(
                    "{flag}: {scope:?} is not a scope (one word, no spaces)"
                ));
            }
        }
        Ok(Self {
            mode: args.mode,
            verifier,
            read_scope: args.read_scope.clone(),
            write_scope: args.write_scope.clone(),
            public_docs: args.public_docs,
        })
    }

    fn is_public(&self, path: &str) -> bool {
        // The admin page and its settings hold nothing secret: the page signs in, then sends the
        // caller's token with each API request, checked as any other.
        matches!(path, "/healthz" | "/readyz" | "/admin" | "/admin/config")
            || (self.public_docs
                && matches!(
                    path,
                    "/openapi.json" | "/docs" | "/metrics" | super::authzen::paths::CONFIGURATION
                ))
    }
}

/// The scopes a caller's credential grants: its verified token's (shared with the verifier's token
/// cache, not copied), or those API Gateway passed on.
enum Granted {
    Token(Arc<VerifiedToken>),
    Listed(Vec<String>),
}

impl Granted {
    fn scopes(&self) -> &[String] {
        match self {
            Self::Token(token) => &token.scopes,
            Self::Listed(scopes) => scopes,
        }
    }
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::PUT | Method::PATCH | Method::DELETE)
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    clearance_core::bearer::token(value)
}

/// Who acts, for `updatedBy` and the audit log, by the one identity rule
/// (`clearance_core::authz::Caller::identify`): a user's `sub`, or a machine client's client id
/// for a client-credentials token. `None` for a token that names neither.
pub fn actor_of(token: &VerifiedToken) -> Option<String> {
    clearance_core::authz::Caller::identify(token.sub.as_deref(), token.client_id.as_deref())
        .map(|caller| caller.permissions_id)
}

/// The authentication middleware: lets the request through with its [`Actor`], or answers 401,
/// 403 or 503.
pub async fn authenticate(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    if auth.mode == AuthMode::None || auth.is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let write = is_write(req.method());
    let (actor, scopes) = match auth.mode {
        AuthMode::Jwt => {
            let Some(verifier) = &auth.verifier else {
                return ApiError::Unauthorized {
                    detail: "no verifier configured".into(),
                }
                .into_response();
            };
            let Some(token) = bearer(&req) else {
                return ApiError::Unauthorized {
                    detail: "no bearer token: send Authorization: Bearer <access token>".into(),
                }
                .into_response();
            };
            match verifier.verify_shared(token).await {
                Ok(verified) => match actor_of(&verified) {
                    Some(actor) => (actor, Some(Granted::Token(verified))),
                    None => {
                        tracing::info!(
                            code = "unidentified",
                            request_id = super::observe::request_id(),
                            "token refused"
                        );
                        return ApiError::Unauthorized {
                            detail: "the token was refused: it names no subject (sub) and no client (client_id)".into(),
                        }
                        .into_response();
                    }
                },
                Err(err) if err.is_unavailable() => {
                    tracing::error!(error = %err, request_id = super::observe::request_id(), "cannot verify tokens: the issuer's keys are unavailable");
                    return ApiError::Store(StoreError::unavailable(err, None)).into_response();
                }
                Err(err) => {
                    tracing::info!(
                        code = err.code(),
                        request_id = super::observe::request_id(),
                        "token refused"
                    );
                    return ApiError::Unauthorized {
                        detail: format!("the token was refused: {err}"),
                    }
                    .into_response();
                }
            }
        }
        AuthMode::Gateway => match crate::http::gateway::caller_from_context(&req) {
            Some((actor, scopes)) => (actor, scopes.map(Granted::Listed)),
            None => {
                return ApiError::Unauthorized {
                    detail: "no authenticated caller in the API Gateway request context".into(),
                }
                .into_response();
            }
        },
        AuthMode::None => unreachable!("handled above"),
    };
    // Scopes: None means the gateway authorised the call itself (IAM); scopes, when the caller's
    // credential carries them, must grant what the request does.
    if let Some(granted) = &scopes {
        let has = |s: &str| granted.scopes().iter().any(|x| x == s);
        let allowed = if write {
            has(&auth.write_scope)
        } else {
            has(&auth.read_scope) || has(&auth.write_scope)
        };
        if !allowed {
            let needed = if write {
                &auth.write_scope
            } else {
                &auth.read_scope
            };
            return ApiError::Forbidden(format!(
                "the token does not hold the scope {needed:?} this request needs"
            ))
            .into_response();
        }
    }
    req.extensions_mut().insert(Actor { actor });
    next.run(req).await
}
