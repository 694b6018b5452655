//! The binary's DynamoDB settings: `--store dynamodb` against dynalite (with `--create-table`), the
//! DynamoDB store as the default on Lambda, and start-up refusing settings that cannot work.

use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use clearance_tests::answer::Answer;
use clearance_tests::dynalite::Dynalite;
use clearance_tests::function::Function;
use serde_json::{Value, json};

use crate::helpers::{self, BINARY, borrowed, dynalite_env, fixture, start_binary};

/// Runs the binary to its end with `args` and `env` (after clearing [`AMBIENT`]); returns
/// whether it succeeded and what it wrote to stderr.
/// The binary run to its end on a free port (so a binary that unexpectedly starts cannot clash).
async fn run_to_end(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let args: Vec<&str> = ["--listen", "127.0.0.1:0"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    helpers::run_to_end(&args, env).await
}

#[tokio::test]
async fn the_binary_creates_the_table_on_dynalite_and_serves_from_it() {
    let dynalite = Dynalite::start().await;
    let data_dir = tempfile::tempdir().unwrap();
    let env = dynalite_env(&dynalite);

    let (mut child, base, log) = start_binary(
        &[
            "--store",
            "dynamodb",
            "--table",
            "clearance-binary",
            "--create-table",
            "--data-dir",
            data_dir.path().to_str().unwrap(),
        ],
        &borrowed(&env),
    )
    .await;

    assert!(
        log.iter().any(|l| l.contains("created the DynamoDB table")),
        "{log:?}"
    );
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{base}/users/from-the-binary"))
        .json(&json!({"companies": ["1111"], "role": "Manager"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{:?}", put.text().await);
    let got = client
        .get(format!("{base}/users/from-the-binary"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["etag"], "\"1\"");
    let body: Value = got.json().await.unwrap();
    assert_eq!(body["companies"], json!(["1111"]));
    // It is in the table, in the reference's shape.
    let item = dynalite
        .client()
        .get_item()
        .table_name("clearance-binary")
        .key("id", AttributeValue::S("from-the-binary".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the item is in the table");
    assert_eq!(item["role"].as_s().unwrap(), "Manager");
    assert_eq!(
        item["companies"].as_l().unwrap(),
        &[AttributeValue::S("1111".into())]
    );
    // No sample data went into DynamoDB, and the embedded store was never opened.
    let sample = client
        .get(format!("{base}/users/3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10"))
        .send()
        .await
        .unwrap();
    assert_eq!(sample.status(), 404);
    assert!(is_empty(data_dir.path()), "the embedded store was opened");
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    child.kill().await.unwrap();
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[tokio::test]
async fn under_lambda_the_store_is_dynamodb_without_asking() {
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    // The reference design's user, as its own tools wrote it.
    dynalite
        .client()
        .put_item()
        .table_name(&table)
        .item(
            "id",
            AttributeValue::S("3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10".into()),
        )
        .item(
            "companies",
            AttributeValue::L(vec![AttributeValue::S("1111".into())]),
        )
        .item("role", AttributeValue::S("Manager".into()))
        .send()
        .await
        .unwrap();
    let mut env = dynalite_env(&dynalite);
    env.push(("TABLE_NAME", table.clone()));
    // This test is about the store; authentication under Lambda is tested in `auth`.
    env.push((
        "CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA",
        "true".into(),
    ));
    let function = Function::start(BINARY, "clearance-permissions-api", &borrowed(&env)).await;

    let response = function.respond(fixture("apigw-rest-get-user.json")).await;

    let answer = Answer::from_lambda(&response);
    assert_eq!(answer.status, 200, "{response}");
    let body = answer.json();
    assert_eq!(body["companies"], json!(["1111"]));
    assert_eq!(
        body["version"], 0,
        "read from the table, not the sample data"
    );
}

#[tokio::test]
async fn start_up_refuses_dynamodb_settings_that_cannot_work_naming_them() {
    let no_config = tempfile::tempdir().unwrap();
    let config_file = no_config.path().join("none");
    let config_file = config_file.to_str().unwrap();

    let (ok, stderr) = run_to_end(&["--store", "dynamodb"], &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains("--table") && stderr.contains("TABLE_NAME"),
        "{stderr}"
    );

    let (ok, stderr) = run_to_end(
        &[],
        &[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
            ("CLEARANCE_INSECURE_ALLOW_UNAUTHENTICATED_LAMBDA", "true"),
        ],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("default store on AWS Lambda") && stderr.contains("TABLE_NAME"),
        "{stderr}"
    );

    let (ok, stderr) = run_to_end(&["--store", "embedded", "--create-table"], &[]).await;
    assert!(!ok);
    assert!(stderr.contains("--create-table"), "{stderr}");

    let (ok, stderr) = run_to_end(&["--store", "dynamodb", "--table", "x"], &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains("--table") && stderr.contains("3 to 255"),
        "{stderr}"
    );

    let (ok, stderr) = run_to_end(
        &["--store", "dynamodb", "--table", "permissions"],
        &[
            ("AWS_CONFIG_FILE", config_file),
            ("AWS_SHARED_CREDENTIALS_FILE", config_file),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("--region") && stderr.contains("AWS_REGION"),
        "{stderr}"
    );

    let (ok, stderr) = run_to_end(
        &[
            "--store",
            "dynamodb",
            "--table",
            "permissions",
            "--dynamodb-attempt-timeout",
            "2s",
            "--dynamodb-timeout",
            "1s",
        ],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("--dynamodb-timeout"), "{stderr}");
}

#[tokio::test]
async fn a_table_that_cannot_be_used_stops_start_up_naming_it() {
    let dynalite = Dynalite::start().await;
    let env = dynalite_env(&dynalite);
    dynalite.create_table_keyed_by("keyed-by-pk", "pk").await;

    let (ok, missing) = run_to_end(
        &["--store", "dynamodb", "--table", "not-created"],
        &borrowed(&env),
    )
    .await;
    assert!(!ok);
    assert!(
        missing.contains("\"not-created\" (--table / TABLE_NAME) cannot be used")
            && missing.contains("--create-table")
            && missing.contains("ResourceNotFoundException"),
        "{missing}"
    );

    let (ok, wrong_key) = run_to_end(
        &["--store", "dynamodb", "--table", "keyed-by-pk"],
        &borrowed(&env),
    )
    .await;
    assert!(!ok);
    assert!(
        wrong_key.contains("\"keyed-by-pk\" (--table / TABLE_NAME) cannot be used")
            && wrong_key.contains("does not have `id` (S) as its only key"),
        "{wrong_key}"
    );
}

#[tokio::test]
async fn instances_sharing_a_cursor_secret_go_on_from_each_others_cursors_and_others_refuse_them() {
    // Arrange: a table of 4 users of acme, and three instances of the binary on it: two of one
    // deployment (one secret) and one of another (no secret). Each listing request reads one item.
    let dynalite = Dynalite::start().await;
    let table = dynalite.fresh_table().await;
    let client = dynalite.client();
    for i in 0..4 {
        client
            .put_item()
            .table_name(&table)
            .item("id", AttributeValue::S(format!("lister-{i}")))
            .item(
                "companies",
                AttributeValue::L(vec![AttributeValue::S("acme".into())]),
            )
            .item("role", AttributeValue::S("Standard".into()))
            .send()
            .await
            .unwrap();
    }
    let secret = "a-deployments-cursor-secret-of-40-bytes!";
    let mut env = dynalite_env(&dynalite);
    env.extend([
        ("CLEARANCE_DYNAMODB_LIST_SCAN_PAGES", "1".to_owned()),
        ("CLEARANCE_DYNAMODB_LIST_SCAN_PAGE_ITEMS", "1".to_owned()),
    ]);
    let mut with_secret = env.clone();
    with_secret.push(("CLEARANCE_CURSOR_SECRET", secret.to_owned()));
    let args = ["--store", "dynamodb", "--table", &table];
    let (mut a, a_url, a_log) = start_binary(&args, &borrowed(&with_secret)).await;
    let (mut b, b_url, _) = start_binary(&args, &borrowed(&with_secret)).await;
    let (mut other, other_url, other_log) = start_binary(&args, &borrowed(&env)).await;
    let http = reqwest::Client::new();
    let list = |base: &str, cursor: Option<&str>| {
        let url = match cursor {
            Some(c) => format!("{base}/companies/acme/users?limit=1000&cursor={c}"),
            None => format!("{base}/companies/acme/users?limit=1000"),
        };
        let request = http.get(url);
        async move {
            let answer = request.send().await.unwrap();
            (answer.status(), answer.json::<Value>().await.unwrap())
        }
    };

    // Act and assert: one item read per request, so a short page with a cursor.
    let (status, first) = list(&a_url, None).await;
    assert_eq!(status, 200, "{first}");
    assert!(first["users"].as_array().unwrap().len() <= 1, "{first}");
    let cursor = first["nextCursor"].as_str().expect("a cursor").to_owned();

    let (status, second) = list(&b_url, Some(&cursor)).await;
    assert_eq!(
        status, 200,
        "another instance of the deployment goes on: {second}"
    );
    assert!(second["nextCursor"].is_string(), "{second}");

    let (status, refused) = list(&other_url, Some(&cursor)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["type"], "urn:clearance:problem:invalid-cursor");
    assert_eq!(refused["field"], "cursor");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("another deployment"),
        "{refused}"
    );
    let (_, theirs) = list(&other_url, None).await;
    let their_cursor = theirs["nextCursor"].as_str().expect("a cursor");
    let (status, refused) = list(&a_url, Some(their_cursor)).await;
    assert_eq!(status, 400, "{refused}");

    assert!(
        a_log
            .iter()
            .any(|l| l.contains("signed with the cursor secret")),
        "{a_log:?}"
    );
    assert!(
        other_log
            .iter()
            .any(|l| l.contains("checked for corruption, not against forgery")),
        "{other_log:?}"
    );
    assert!(!a_log.iter().any(|l| l.contains(secret)), "{a_log:?}");
    for child in [&mut a, &mut b, &mut other] {
        child.kill().await.unwrap();
    }
}
