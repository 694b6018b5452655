//! `/admin`: the page is served with a strict Content-Security-Policy, says how it signs in, and
//! can be turned off. (What it does in a browser is tested in `tests/tests/browser`.)

use clearance_service::config::Settings;
use clearance_service::http::auth::AuthMode;
use clearance_tests::issuer::TestIssuer;
use serde_json::json;

use crate::helpers::TestApp;

fn settings(dir: &std::path::Path) -> Settings {
    let mut settings = Settings::for_data_dir(dir);
    settings.sample_data = false;
    settings
}

/// [`settings`] with JWT authentication at `issuer`, accepting the page's client `admin-page`.
fn jwt_settings(dir: &std::path::Path, issuer: &TestIssuer) -> Settings {
    let mut settings = settings(dir);
    settings.auth.mode = AuthMode::Jwt;
    settings.auth.jwt_issuer = Some(issuer.issuer());
    settings.auth.jwt_client_ids = Some("admin-page".into());
    settings
}

#[tokio::test]
async fn the_admin_page_is_served_with_a_strict_content_security_policy() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&settings(dir.path())).await;
    let answer = app.get("/admin").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        answer.header("content-type")
    );
    let csp = answer.header("content-security-policy").expect("a CSP");
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(answer.header("x-frame-options"), Some("DENY"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert!(answer.text.contains("Clearance admin"));
}

#[tokio::test]
async fn without_authentication_the_config_says_so_and_lists_the_roles() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with_settings(&settings(dir.path())).await;
    let config = app.get("/admin/config").await.json();
    assert_eq!(config["auth"], "none");
    assert_eq!(config["roles"], json!(["Standard", "Manager", "Admin"]));
    assert!(config.get("signIn").is_none(), "{config}");
}

#[tokio::test]
async fn admin_false_removes_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    settings.admin.enabled = false;
    let app = TestApp::with_settings(&settings).await;
    app.get("/admin").await.problem(404, "not-found");
    app.get("/admin/config").await.problem(404, "not-found");
}

#[tokio::test]
async fn with_jwt_the_page_is_open_and_signs_in_at_the_issuers_discovered_endpoints() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = jwt_settings(dir.path(), &issuer);
    settings.admin.admin_client_id = Some("admin-page".into());
    let app = TestApp::with_settings(&settings).await;

    let config = app.get("/admin/config").await.json();
    assert_eq!(config["auth"], "jwt");
    let sign_in = &config["signIn"];
    assert_eq!(sign_in["clientId"], "admin-page");
    assert_eq!(
        sign_in["authorizationEndpoint"],
        format!("{}/authorize", issuer.issuer())
    );
    assert_eq!(
        sign_in["tokenEndpoint"],
        format!("{}/token", issuer.issuer())
    );
    assert_eq!(sign_in["scope"], "openid clearance/read clearance/write");

    let page = app.get("/admin").await;
    assert_eq!(page.status, 200, "the page itself needs no token");
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains(&format!("connect-src 'self' {}", issuer.issuer())),
        "{csp}"
    );
    app.get("/users/alice").await.problem(401, "unauthorized");
}

#[tokio::test]
async fn with_jwt_and_no_admin_client_id_the_page_says_sign_in_is_not_configured() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = jwt_settings(dir.path(), &issuer);
    let app = TestApp::with_settings(&settings).await;
    let config = app.get("/admin/config").await.json();
    assert!(config.get("signIn").is_none(), "{config}");
    assert!(
        config["signInError"]
            .as_str()
            .is_some_and(|e| e.contains("CLEARANCE_ADMIN_CLIENT_ID")),
        "{config}"
    );
}
