//! Ctrl-C: no new batches, the ones in flight finish, the summary says what was written, exit 130.

use std::time::{Duration, Instant};

use crate::helpers::{Dynamo, Workspace, ndjson, users};
use crate::proxy::Proxy;

#[tokio::test]
async fn ctrl_c_stops_cleanly_and_reports_exactly_what_was_written() {
    let dynamo = Dynamo::start().await;
    // Slow writes, so that the import is still running when Ctrl-C comes.
    let proxy = Proxy::start(
        dynamo.dynalite.endpoint(),
        Duration::from_millis(150),
        |_, _| false,
    )
    .await;
    let ws = Workspace::new();
    let data = users(5_000);
    let child = dynamo
        .seed_via(
            &proxy.endpoint,
            [
                "import",
                &ws.file("u.ndjson", ndjson(&data)),
                "--concurrency",
                "2",
            ],
        )
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.batch_writes() < 4 {
        assert!(
            Instant::now() < deadline,
            "the import never started writing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the import stops")
        .expect("output");

    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: waiting for the 2 batches in flight")
            || stderr.contains("interrupted: waiting for the batch in flight"),
        "{stderr}"
    );
    let written: usize = stderr
        .split("written ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no written count in: {stderr}"));
    assert!(written > 0 && written < 5_000, "{stderr}");
    assert!(stderr.contains("failed 0"), "{stderr}");
    let exported = dynamo.export("ndjson").await;
    assert_eq!(
        exported.lines().count(),
        written,
        "what was reported written is what is stored"
    );
}
