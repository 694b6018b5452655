//! The seed CLI's import rate into dynalite, next to a loop of single `PutItem` calls.
//!
//! Run it with `cargo bench -p clearance-seed --bench import_rate` (release build; not part of the
//! test suite). It starts dynalite itself (`npm ci --prefix tests/node` first), writes
//! `IMPORT_RATE_RECORDS` users (default 100,000) to an NDJSON file, then in one run:
//! 1. times `clearance-seed import FILE --store dynamodb` into a fresh table: the real binary, so
//!    reading, validating, the per-batch `BatchGetItem` of stored versions, `BatchWriteItem` in
//!    chunks of 25 with the default 8 in flight, and process start-up all count;
//! 2. times a loop that writes the same users, items of the same shape, with one `PutItem` at a
//!    time into another fresh table (the baseline);
//! 3. counts both tables, then prints both rates and their ratio.
//!
//! dynalite is a single-threaded Node.js server, so the figures say how the two approaches compare
//! on it, not what DynamoDB itself would sustain.

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use clearance_tests::dynalite::Dynalite;

/// How many users unless `IMPORT_RATE_RECORDS` says otherwise.
const DEFAULT_RECORDS: usize = 100_000;
const ROLES: [&str; 3] = ["Standard", "Manager", "Admin"];

/// One generated user.
struct User {
    id: String,
    companies: Vec<String>,
    role: &'static str,
}

fn users(n: usize) -> Vec<User> {
    (0..n)
        .map(|i| User {
            id: format!("user-{i:07}@example.com"),
            companies: (0..1 + i % 3)
                .map(|c| format!("{}", 1000 + (i + c) % 500))
                .collect(),
            role: ROLES[i % 3],
        })
        .collect()
}

fn ndjson(users: &[User]) -> String {
    let mut text = String::with_capacity(users.len() * 96);
    for user in users {
        let companies: Vec<String> = user.companies.iter().map(|c| format!("\"{c}\"")).collect();
        text.push_str(&format!(
            "{{\"id\": \"{}\", \"companies\": [{}], \"role\": \"{}\"}}\n",
            user.id,
            companies.join(", "),
            user.role
        ));
    }
    text
}

/// How many items `table` holds (a counting scan).
async fn count(client: &Client, table: &str) -> usize {
    let mut total = 0;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("counting scan");
        total += usize::try_from(out.count).unwrap_or(0);
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return total,
        }
    }
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter or other arguments are not used.
    let records = std::env::var("IMPORT_RATE_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_RECORDS);
    let data = users(records);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("users.ndjson");
    std::fs::write(&file, ndjson(&data)).expect("write the data");

    let dynalite = Dynalite::start().await;
    let client = dynalite.client();
    println!(
        "import_rate: {records} users into dynalite ({})",
        dynalite.endpoint()
    );

    // 1. The CLI.
    let table = dynalite.fresh_table().await;
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_clearance-seed"))
        .arg("import")
        .arg(&file)
        .args(["--store", "dynamodb", "--table", &table])
        .args(["--dynamodb-endpoint-url", &dynalite.endpoint()])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDFAKEDYNALITE")
        .env("AWS_SECRET_ACCESS_KEY", "fake-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("clearance-seed runs");
    let cli_took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "clearance-seed failed:\n{stderr}");
    if let Some(summary) = stderr.lines().find(|l| l.starts_with("summary:")) {
        println!("  clearance-seed says: {summary}");
    }
    let stored = count(&client, &table).await;
    assert_eq!(stored, records, "the import table holds every user");

    // 2. The baseline: one PutItem at a time, items of the same shape.
    let table = dynalite.fresh_table().await;
    let started = Instant::now();
    for user in &data {
        let companies = user
            .companies
            .iter()
            .map(|c| AttributeValue::S(c.clone()))
            .collect();
        client
            .put_item()
            .table_name(&table)
            .item("id", AttributeValue::S(user.id.clone()))
            .item("companies", AttributeValue::L(companies))
            .item("role", AttributeValue::S(user.role.to_owned()))
            .item("version", AttributeValue::N("1".to_owned()))
            .item(
                "updatedAt",
                AttributeValue::S("2026-01-01T00:00:00Z".to_owned()),
            )
            .item("updatedBy", AttributeValue::S("bench".to_owned()))
            .send()
            .await
            .expect("PutItem");
    }
    let loop_took = started.elapsed();
    let stored = count(&client, &table).await;
    assert_eq!(stored, records, "the baseline table holds every user");

    let cli_rate = rate(records, cli_took);
    let loop_rate = rate(records, loop_took);
    println!(
        "  clearance-seed import (BatchWriteItem x25, 8 in flight): {:>8.1} s {:>9.0} records/s",
        cli_took.as_secs_f64(),
        cli_rate
    );
    println!(
        "  baseline, one PutItem at a time:                         {:>8.1} s {:>9.0} records/s",
        loop_took.as_secs_f64(),
        loop_rate
    );
    println!("  ratio: {:.1}x", cli_rate / loop_rate);
}
