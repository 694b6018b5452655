//! `/admin`: the admin console, one self-contained page (HTML, CSS and JavaScript in one file
//! compiled into the binary) that manages permissions through this same API.
//!
//! The page fetches nothing from anywhere else: its only requests are to this API and, with
//! `--auth jwt`, to the issuer's token endpoint. A strict Content-Security-Policy says so to the
//! browser: no source is allowed by default; the page's one script and one style block are allowed
//! by their SHA-256 hashes (computed once from the compiled-in file), and `connect-src` names only
//! this origin and the token endpoint's.
//!
//! Who may use it is the API's business, not the page's: the page sends the caller's token with
//! every request, and the API checks it as it checks any other. With `--auth none` (loopback only)
//! the page works as it is. With `--auth jwt` it signs in with OAuth 2.0 authorization code + PKCE
//! (a public client, no secret) at the issuer named by `--admin-issuer` (default: the JWT issuer),
//! whose endpoints come from its OIDC discovery document, read here once and remembered. Tokens
//! stay in the page's memory only (never in storage or cookies), and a token without the write
//! scope gets a read-only page. `--admin false` removes the routes.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use clap::{ArgAction, Args};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::auth::{AuthArgs, AuthMode};
use crate::state::AppState;

/// The page, as compiled in.
const PAGE: &str = include_str!("admin.html");

/// How long the issuer's discovery document may take to arrive.
const DISCOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The admin page's settings (flags and environment variables).
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Serve the admin page at /admin (false: no page, no routes).
    #[arg(
        long = "admin",
        env = "CLEARANCE_ADMIN",
        default_value_t = true,
        action = ArgAction::Set,
        value_name = "BOOL"
    )]
    pub enabled: bool,

    /// jwt: the app client id the admin page signs in with (a public client allowed the
    /// authorization code grant with PKCE and the callback URL https://<host>/admin).
    #[arg(long, env = "CLEARANCE_ADMIN_CLIENT_ID")]
    pub admin_client_id: Option<String>,

    /// jwt: the OIDC issuer the admin page signs in with; its discovery document names the
    /// authorization and token endpoints (default: --jwt-issuer, or the Cognito pool's issuer).
    #[arg(long, env = "CLEARANCE_ADMIN_ISSUER")]
    pub admin_issuer: Option<String>,
}

/// The admin page as configured, shared by its routes.
#[derive(Debug)]
pub struct Admin {
    mode: AuthMode,
    client_id: Option<String>,
    issuer: Option<String>,
    read_scope: String,
    write_scope: String,
    roles: Vec<String>,
    http: reqwest::Client,
    endpoints: OnceCell<Endpoints>,
}

/// Where the page signs in, from the issuer's discovery document.
#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

/// What the page needs to know (`GET /admin/config`): nothing secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PageConfig {
    /// `none`, `jwt` or `gateway`.
    auth: &'static str,
    /// The configured roles, lowest first.
    roles: Vec<String>,
    read_scope: String,
    write_scope: String,
    /// jwt: how to sign in, or why the page cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_in: Option<SignIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_in_error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SignIn {
    client_id: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_session_endpoint: Option<String>,
    scope: String,
}

impl Admin {
    /// The page `args` ask for (`None` with `--admin false`), signing in as `auth` says.
    pub fn from_args(
        args: &AdminArgs,
        auth: &AuthArgs,
        roles: &clearance_core::domain::RoleOrder,
    ) -> Option<Self> {
        if !args.enabled {
            return None;
        }
        let issuer = args.admin_issuer.clone().or_else(|| default_issuer(auth));
        if auth.mode == AuthMode::Jwt && args.admin_client_id.is_none() {
            tracing::warn!(
                "the admin page cannot sign in: set --admin-client-id (CLEARANCE_ADMIN_CLIENT_ID), or turn the page off with --admin false"
            );
        }
        Some(Self {
            mode: auth.mode,
            client_id: args.admin_client_id.clone(),
            issuer,
            read_scope: auth.read_scope.clone(),
            write_scope: auth.write_scope.clone(),
            roles: roles.roles().to_vec(),
            http: reqwest::Client::builder()
                .timeout(DISCOVERY_TIMEOUT)
                .build()
                .unwrap_or_default(),
            endpoints: OnceCell::new(),
        })
    }

    /// The issuer's endpoints, read from its discovery document the first time they are needed
    /// (and again after a failure, so a page served while the issuer was unreachable recovers).
    async fn endpoints(&self) -> Result<&Endpoints, String> {
        let issuer = self
            .issuer
            .as_deref()
            .ok_or("no issuer: set --admin-issuer or --jwt-issuer")?;
        self.endpoints
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let answer = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| format!("cannot read {url}: {e}"))?;
                answer
                    .json::<Endpoints>()
                    .await
                    .map_err(|e| format!("{url} is not an OIDC discovery document: {e}"))
            })
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "the admin page cannot sign in"))
    }

    async fn page_config(&self) -> PageConfig {
        let mut config = PageConfig {
            auth: match self.mode {
                AuthMode::None => "none",
                AuthMode::Jwt => "jwt",
                AuthMode::Gateway => "gateway",
            },
            roles: self.roles.clone(),
            read_scope: self.read_scope.clone(),
            write_scope: self.write_scope.clone(),
            sign_in: None,
            sign_in_error: None,
        };
        if self.mode != AuthMode::Jwt {
            return config;
        }
        let Some(client_id) = &self.client_id else {
            config.sign_in_error = Some(
                "sign-in is not configured: set CLEARANCE_ADMIN_CLIENT_ID (--admin-client-id)"
                    .into(),
            );
            return config;
        };
        match self.endpoints().await {
            Ok(endpoints) => {
                config.sign_in = Some(SignIn {
                    client_id: client_id.clone(),
                    authorization_endpoint: endpoints.authorization_endpoint.clone(),
                    token_endpoint: endpoints.token_endpoint.clone(),
                    end_session_endpoint: endpoints.end_session_endpoint.clone(),
                    scope: format!("openid {} {}", self.read_scope, self.write_scope),
                });
            }
            Err(e) => config.sign_in_error = Some(format!("sign-in is unavailable: {e}")),
        }
        config
    }

    /// The Content-Security-Policy of the page: nothing but its own script and style, requests
    /// to this origin and the token endpoint's.
    async fn csp(&self) -> String {
        let mut connect = String::from("'self'");
        if self.mode == AuthMode::Jwt
            && self.client_id.is_some()
            && let Ok(endpoints) = self.endpoints().await
            && let Some(origin) = origin_of(&endpoints.token_endpoint)
        {
            connect.push(' ');
            connect.push_str(&origin);
        }
        format!(
            "default-src 'none'; script-src '{}'; style-src '{}'; connect-src {connect}; \
             img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            HASHES.script, HASHES.style
        )
    }
}

/// The issuer of `--jwt-issuer`, or of the Cognito pool.
fn default_issuer(auth: &AuthArgs) -> Option<String> {
    auth.jwt_issuer.clone().or_else(|| {
        let pool = auth.cognito_user_pool_id.as_deref()?;
        clearance_core::jwt::CognitoUserPool::parse(pool)
            .ok()
            .map(|p| p.issuer())
    })
}

/// `scheme://host[:port]` of `url`.
fn origin_of(url: &str) -> Option<String> {
    let origin = reqwest::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The CSP hashes of the page's script and style blocks.
struct Hashes {
    script: String,
    style: String,
}

static HASHES: LazyLock<Hashes> = LazyLock::new(|| Hashes {
    script: hash_of_block(PAGE, "<script>", "</script>"),
    style: hash_of_block(PAGE, "<style>", "</style>"),
});

/// `sha256-<base64>` of the text between `open` and `close` (the browser hashes exactly that).
fn hash_of_block(page: &str, open: &str, close: &str) -> String {
    let body = page
        .split_once(open)
        .and_then(|(_, rest)| rest.split_once(close))
        .map_or("", |(body, _)| body);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// `GET /admin`: the page, with its security headers.
pub async fn page(State(state): State<AppState>) -> Response {
    let Some(admin) = state.admin.clone() else {
        return super::problem::ApiError::RouteNotFound("/admin".into()).into_response();
    };
    let csp = admin.csp().await;
    let mut response = Html(PAGE).into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `GET /admin/config`: how the page signs in and which roles there are.
pub async fn config(State(state): State<AppState>) -> Response {
    let Some(admin) = state.admin.clone() else {
        return super::problem::ApiError::RouteNotFound("/admin/config".into()).into_response();
    };
    let config: Arc<Admin> = admin;
    let mut response = Json(config.page_config().await).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_one_script_and_one_style_block_and_loads_nothing() {
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert_eq!(PAGE.matches("<style").count(), 1);
        for outside in ["http://", "https://", "src=\"", "@import", "url("] {
            assert!(!PAGE.contains(outside), "the page refers to {outside}");
        }
    }

    #[test]
    fn a_blocks_hash_is_the_sha256_of_its_text() {
        let page = "<style>a{}</style><script>x()</script>";
        // echo -n 'x()' | openssl sha256 -binary | base64
        assert_eq!(
            hash_of_block(page, "<script>", "</script>"),
            "sha256-D6IGS8VMvCoyaR/l0h9tERrBTATY01CoPS7l6xDv0kI="
        );
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://auth.example.com/oauth2/token").as_deref(),
            Some("https://auth.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:4000/token").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(origin_of("not a url"), None);
    }
}
