//! The admin page in a real browser: headless Chromium over WebDriver against the service's
//! binary (on the embedded store, and on DynamoDB while it fails and after), as a person would
//! use it. Set `CLEARANCE_ADMIN_SCREENSHOT=<file.png>` to save the screenshot the README shows
//! (taken mid-journey, on a laptop-sized window).

use clearance_tests::dynalite::Dynalite;
use clearance_tests::issuer::TestIssuer;
use clearance_tests::webdriver::Browser;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{borrowed, dynalite_env, start_binary};

/// The page has loaded its settings and is ready for input.
const READY: &str = "return document.body.dataset.ready === 'true';";

async fn api(base: &str, method: Method, path: &str, body: serde_json::Value, token: Option<&str>) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("the API answers");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
}

#[tokio::test]
async fn the_page_creates_finds_edits_through_a_conflict_checks_deletes_and_shows_history() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_string_lossy().into_owned();
    let (_service, base, _) =
        start_binary(&["--data-dir", &data_dir, "--sample-data", "false"], &[]).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{base}/admin")).await;
    browser.wait_until("the page is ready", READY).await;
    assert!(browser.text("#who").await.contains("No sign-in"));

    // Create, with the API's validation shown next to the field it names.
    browser.fill("#create-id", "dana").await;
    browser.fill("#create-companies", "1111 bad!id").await;
    browser.select("#create-role", "Manager").await;
    browser.click("#create-go").await;
    browser
        .wait_for_text("#create-companies-error", "companies[1]")
        .await;
    browser.fill("#create-companies", "1111, 2222").await;
    browser.click("#create-go").await;
    browser.wait_for_text("#user-banner", "Created dana").await;
    assert_eq!(browser.text("#user-version").await, "1");
    assert!(browser.text("#user-companies").await.contains("2222"));

    // A create over an existing user is refused next to the id.
    browser.fill("#create-id", "dana").await;
    browser.click("#create-go").await;
    browser
        .wait_for_text("#create-id-error", "already exists")
        .await;

    // Someone else changes dana while the page shows version 1: the role change is refused, the
    // page shows their version and re-applies the change to it on request.
    api(
        &base,
        Method::PATCH,
        "/users/dana",
        json!({"addCompanies": ["3333"]}),
        None,
    )
    .await;
    browser.select("#user-role", "Admin").await;
    browser.click("#save-role").await;
    browser
        .wait_for_text("#conflict-text", "Someone else changed dana")
        .await;
    assert_eq!(browser.text("#user-version").await, "2");
    assert!(browser.text("#user-companies").await.contains("3333"));
    browser.click("#reapply").await;
    browser.wait_for_text("#user-banner", "Saved").await;
    assert_eq!(browser.text("#user-version").await, "3");
    let stored: serde_json::Value = reqwest::get(format!("{base}/users/dana"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["role"], "Admin");
    assert_eq!(stored["companies"], json!(["1111", "2222", "3333"]));

    // Remove a company, add one with a bad id (refused next to the field), then a good one.
    browser
        .click("#user-companies button[data-company=\"1111\"]")
        .await;
    browser.wait_for_text("#user-version", "4").await;
    browser.fill("#add-company", "no spaces").await;
    browser.click("#add-company-go").await;
    browser
        .wait_for_text("#add-company-error", "addCompanies")
        .await;
    browser.fill("#add-company", "4444").await;
    browser.click("#add-company-go").await;
    browser.wait_for_text("#user-version", "5").await;

    // History, newest first: what changed, from the store's history.
    let history = browser.wait_for_text("#history", "+ 4444").await;
    let rows = browser
        .execute(
            "return document.querySelectorAll('#history tr').length;",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(5), "{history}");
    assert!(history.contains("− 1111"), "{history}");
    assert!(history.contains("Role Manager → Admin"), "{history}");
    assert!(history.contains("Created as Manager"), "{history}");
    if let Ok(path) = std::env::var("CLEARANCE_ADMIN_SCREENSHOT") {
        browser.fill("#check-user", "dana").await;
        browser.fill("#check-company", "2222").await;
        browser.select("#check-role", "Manager").await;
        browser.click("#check-at-least").await;
        browser.click("#check-go").await;
        browser.wait_for_text("#check-result", "Allowed").await;
        std::fs::write(&path, browser.screenshot().await).expect("write the screenshot");
    }

    // Decide, with the reason in words.
    browser.fill("#check-user", "dana").await;
    browser.fill("#check-company", "1111").await;
    browser.select("#check-role", "").await;
    browser.click("#check-go").await;
    browser.wait_for_text("#check-result", "Denied").await;
    browser.fill("#check-company", "2222").await;
    browser.click("#check-go").await;
    browser.wait_for_text("#check-result", "Allowed").await;

    // Find through a company's listing, then delete with a confirmation naming the user.
    browser.fill("#company-id", "2222").await;
    browser.click("#company-go").await;
    browser.wait_for_text("#company-results", "dana").await;
    browser.click("#company-results button").await;
    browser.wait_for_text("#user-title", "dana").await;
    browser.click("#delete-user").await;
    assert!(
        browser
            .text("#confirm-delete-yes")
            .await
            .contains("Delete dana")
    );
    browser.click("#confirm-delete-yes").await;
    browser.wait_for_text("#user-banner", "Deleted dana").await;
    let gone = reqwest::get(format!("{base}/users/dana")).await.unwrap();
    assert_eq!(gone.status(), 404);
    browser
        .wait_for_text("#history", "Deleted (was Admin)")
        .await;
}

#[tokio::test]
async fn signing_in_with_pkce_gives_a_read_only_page_without_the_write_scope() {
    const CLIENT: &str = "admin-page";
    let issuer = TestIssuer::start().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_string_lossy().into_owned();
    let issuer_url = issuer.issuer();
    let (_service, base, _) = start_binary(
        &["--data-dir", &data_dir, "--sample-data", "false"],
        &[
            ("CLEARANCE_AUTH", "jwt"),
            ("JWT_ISSUER", &issuer_url),
            ("JWT_CLIENT_IDS", CLIENT),
            ("CLEARANCE_ADMIN_CLIENT_ID", CLIENT),
        ],
    )
    .await;
    let mut writer = issuer.access_claims("provisioner", CLIENT);
    writer["scope"] = json!("clearance/write");
    let writer = issuer.sign(&writer);
    api(
        &base,
        Method::PUT,
        "/users/erin",
        json!({"companies": ["1111"], "role": "Standard"}),
        Some(&writer),
    )
    .await;

    // A support person with the read scope only: signed in, can look, cannot change.
    issuer.sign_in_as("support-1", CLIENT, "openid clearance/read");
    let browser = Browser::start().await;
    browser.goto(&format!("{base}/admin")).await;
    browser.wait_until("the page is ready", READY).await;
    assert!(browser.is_displayed("#signin").await);
    browser.click("#signin").await;
    browser
        .wait_for_text("#who", "Signed in as support-1")
        .await;
    assert_eq!(issuer.tokens_issued(), 1);
    assert!(
        !browser.url().await.contains("code="),
        "the code is taken out of the address"
    );
    assert!(browser.is_displayed("#readonly").await);
    assert!(!browser.is_displayed("#create-form").await);
    browser.fill("#find-id", "erin").await;
    browser.click("#find-go").await;
    browser.wait_for_text("#user-title", "erin").await;
    assert!(browser.text("#user-companies").await.contains("1111"));
    assert!(!browser.is_displayed("#add-company-form").await);
    assert!(!browser.is_displayed("#delete-user").await);
    browser.wait_for_text("#history", "provisioner").await;
    let stored = browser
        .execute(
            "return JSON.stringify([Object.assign({}, sessionStorage), Object.assign({}, localStorage), document.cookie]);",
            vec![],
        )
        .await;
    assert_eq!(
        stored,
        json!("[{},{},\"\"]"),
        "no token in storage or cookies"
    );

    // An administrator with the write scope: signs in and changes, recorded under their name.
    issuer.sign_in_as("admin-1", CLIENT, "openid clearance/read clearance/write");
    browser.goto(&format!("{base}/admin")).await;
    browser.wait_until("the page is ready", READY).await;
    assert_eq!(
        browser.text("#who").await,
        "Not signed in",
        "a reload forgets the token"
    );
    browser.click("#signin").await;
    browser.wait_for_text("#who", "Signed in as admin-1").await;
    assert!(!browser.is_displayed("#readonly").await);
    browser.fill("#find-id", "erin").await;
    browser.click("#find-go").await;
    browser.wait_for_text("#user-title", "erin").await;
    browser.fill("#add-company", "2222").await;
    browser.click("#add-company-go").await;
    browser.wait_for_text("#user-version", "2").await;
    browser.wait_for_text("#history", "admin-1").await;
    assert_eq!(browser.text("#user-updated-by").await, "admin-1");
}

/// The page on DynamoDB (dynalite): it creates and finds users in the table; when DynamoDB stops
/// answering, reading a user it has not read before and changing one both say that the store is
/// unavailable and nothing was read or changed (the API's 503), and the page works again once the
/// store is back.
#[tokio::test]
async fn on_dynamodb_the_page_says_when_the_store_is_down_and_works_again_after() {
    let mut dynalite = Dynalite::start().await;
    let env = dynalite_env(&dynalite);
    let (_service, base, _) = start_binary(
        &[
            "--store",
            "dynamodb",
            "--table",
            "clearance-admin",
            "--create-table",
            "--dynamodb-attempt-timeout",
            "200ms",
            "--dynamodb-timeout",
            "600ms",
        ],
        &borrowed(&env),
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&format!("{base}/admin")).await;
    browser.wait_until("the page is ready", READY).await;

    browser.fill("#create-id", "erin").await;
    browser.fill("#create-companies", "1111").await;
    browser.select("#create-role", "Standard").await;
    browser.click("#create-go").await;
    browser.wait_for_text("#user-banner", "Created erin").await;
    api(
        &base,
        Method::PUT,
        "/users/frank",
        json!({"companies": ["2222"], "role": "Manager"}),
        None,
    )
    .await;

    dynalite.stop().await;
    // frank was written past the page, so the page has never read him: finding him needs the store.
    browser.fill("#find-id", "frank").await;
    browser.click("#find-go").await;
    let said = browser
        .wait_for_text("#banner", "store is unavailable right now")
        .await;
    assert!(said.contains("nothing was read or changed"), "{said}");
    // A change to the user shown is refused the same way, and the page still shows erin as she was.
    browser.select("#user-role", "Admin").await;
    browser.click("#save-role").await;
    browser
        .wait_for_text("#user-banner", "store is unavailable right now")
        .await;
    assert_eq!(browser.text("#user-version").await, "1");

    // Back (dynalite restarts empty, so the table is made again): the page creates a user and
    // finds it.
    dynalite.restart().await;
    dynalite
        .create_table_keyed_by("clearance-admin", "id")
        .await;
    browser.fill("#create-id", "gina").await;
    browser.fill("#create-companies", "3333").await;
    browser.click("#create-go").await;
    browser.wait_for_text("#user-banner", "Created gina").await;
    browser.fill("#find-id", "gina").await;
    browser.click("#find-go").await;
    browser.wait_for_text("#user-companies", "3333").await;
}
