//! Writes DynamoDB leaves unprocessed are sent again until written, or named when the deadline
//! passes; the counts reported are the counts written.

use std::collections::HashSet;
use std::time::Duration;

use crate::helpers::{Dynamo, Workspace, ndjson, users};
use crate::proxy::Proxy;

#[tokio::test]
async fn unprocessed_items_are_sent_again_until_every_item_is_written() {
    let dynamo = Dynamo::start().await;
    // Every third user is held back the first two times it is sent.
    let proxy = Proxy::start(dynamo.dynalite.endpoint(), Duration::ZERO, |id, seen| {
        let n: usize = id.trim_start_matches("user-").parse().unwrap_or(0);
        n % 3 == 0 && seen < 2
    })
    .await;
    let ws = Workspace::new();
    let data = users(500);

    let run = dynamo
        .seed_via(
            &proxy.endpoint,
            ["import", &ws.file("u.ndjson", ndjson(&data))],
        )
        .run()
        .await
        .expect(0);

    assert_eq!(
        proxy.held_back(),
        167 * 2,
        "each third user held back twice"
    );
    assert!(
        proxy.batch_writes() > 20,
        "the held-back writes were sent again"
    );
    run.says("summary: read 500, valid 500, written 500, skipped 0, failed 0");
    run.says("done: every write was confirmed");
    assert_eq!(dynamo.export("ndjson").await, ndjson(&data));
}

#[tokio::test]
async fn writes_still_unprocessed_at_the_deadline_are_named_and_the_exit_status_is_2() {
    let dynamo = Dynamo::start().await;
    let stuck: HashSet<&str> = ["user-000007", "user-000042"].into();
    let proxy = Proxy::start(dynamo.dynalite.endpoint(), Duration::ZERO, move |id, _| {
        stuck.contains(id)
    })
    .await;
    let ws = Workspace::new();
    let data = users(100);

    let run = dynamo
        .seed_via(
            &proxy.endpoint,
            [
                "import",
                &ws.file("u.ndjson", ndjson(&data)),
                "--max-retry-time",
                "1s",
            ],
        )
        .run()
        .await
        .expect(2);

    run.says("summary: read 100, valid 100, written 98, skipped 0, failed 2");
    run.says("unprocessed");
    run.says("  user-000007\n  user-000042\n");
    run.says("NOT COMPLETE: 2 writes");
    let exported = dynamo.export("ndjson").await;
    assert_eq!(exported.lines().count(), 98);
    assert!(!exported.contains("user-000007") && !exported.contains("user-000042"));
}
