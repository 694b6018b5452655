//! Every format in and out of the embedded store, standard input, and the round trip.

use crate::helpers::{Seed, Workspace, csv, json, ndjson, sample_data, users};

#[tokio::test]
async fn each_format_imports_and_exports_in_every_format() {
    let data = users(40);
    for (name, text) in [
        ("users.json", json(&data)),
        ("users.ndjson", ndjson(&data)),
        ("users.csv", csv(&data)),
    ] {
        let ws = Workspace::new();
        let file = ws.file(name, &text);

        let run = ws.import(&file, &[]).await.expect(0);

        run.says("summary: read 40, valid 40, written 40, skipped 0, failed 0");
        assert_eq!(
            ws.export("json").await,
            json(&data),
            "{name} exported as JSON"
        );
        assert_eq!(
            ws.export("ndjson").await,
            ndjson(&data),
            "{name} exported as NDJSON"
        );
        assert_eq!(ws.export("csv").await, csv(&data), "{name} exported as CSV");
    }
}

#[tokio::test]
async fn jsonl_is_ndjson_and_the_format_flag_beats_the_extension() {
    let data = users(3);
    let ws = Workspace::new();
    ws.import(&ws.file("a.jsonl", ndjson(&data)), &[])
        .await
        .expect(0);
    let ws2 = Workspace::new();
    ws2.import(&ws2.file("a.txt", csv(&data)), &["--format", "csv"])
        .await
        .expect(0);
    assert_eq!(ws.export("csv").await, ws2.export("csv").await);
}

#[tokio::test]
async fn standard_input_is_read_with_a_format() {
    let data = users(5);
    let ws = Workspace::new();

    Seed::new(["import", "-", "--format", "ndjson"])
        .args(ws.store())
        .stdin(ndjson(&data))
        .run()
        .await
        .expect(0);

    assert_eq!(ws.export("ndjson").await, ndjson(&data));
}

#[tokio::test]
async fn an_unknown_format_is_refused_and_nothing_is_written() {
    let ws = Workspace::new();
    Seed::new(["import", "-"])
        .args(ws.store())
        .stdin(ndjson(&users(1)))
        .run()
        .await
        .expect(1)
        .says("pass --format");
    ws.import(&ws.file("users.txt", "x"), &[])
        .await
        .expect(1)
        .says("cannot tell the format");
    assert!(!ws.path("data").exists(), "the store was opened");
}

#[tokio::test]
async fn the_sample_data_set_imports() {
    let ws = Workspace::new();
    let run = ws
        .import(&sample_data().display().to_string(), &[])
        .await
        .expect(0);
    run.says("written 5,");
    let exported = ws.export("ndjson").await;
    assert!(
        exported.contains("\"id\": \"alice@example.com\""),
        "{exported}"
    );
}

/// Users whose ids need escaping in JSON and quoting in CSV, out of order, with non-ASCII.
const AWKWARD: &str = r#"[
  {"id": "zoë@example.com", "companies": ["b", "a"], "role": "Admin"},
  {"id": "quote\"and,comma", "companies": [], "role": "Standard"},
  {"id": "Ωmega", "companies": ["x.y:z_1-2"], "role": "Manager"},
  {"id": "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10", "companies": ["1111"], "role": "Manager"},
  {"id": "back\\slash;semi", "companies": ["1", "2", "3"], "role": "Standard"}
]
"#;

#[tokio::test]
async fn export_import_export_is_byte_identical_in_every_format() {
    let source = Workspace::new();
    source
        .import(&source.file("awkward.json", AWKWARD), &[])
        .await
        .expect(0);
    for format in ["json", "ndjson", "csv"] {
        let first = source.export(format).await;
        let copy = Workspace::new();
        let file = copy.file(&format!("export.{format}"), &first);

        copy.import(&file, &[]).await.expect(0);
        let second = copy.export(format).await;

        assert_eq!(first, second, "{format} round trip");
    }
    let exported = source.export("ndjson").await;
    let ids: Vec<String> = exported
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "3f1c0d52-7a6b-4e1f-9c2d-8b5a4e6f7a10",
            "back\\slash;semi",
            "quote\"and,comma",
            "zoë@example.com",
            "Ωmega"
        ],
        "sorted by id"
    );
}

#[tokio::test]
async fn export_to_a_file_takes_the_format_from_its_extension() {
    let data = users(4);
    let ws = Workspace::new();
    ws.import(&ws.file("in.json", json(&data)), &[])
        .await
        .expect(0);
    let out = ws.path("out.csv");

    Seed::new(["export", "-o", &out.display().to_string()])
        .args(ws.store())
        .run()
        .await
        .expect(0)
        .says("exported 4 users");

    assert_eq!(std::fs::read_to_string(out).unwrap(), csv(&data));
}

#[tokio::test]
async fn exporting_an_embedded_store_that_does_not_exist_is_an_error() {
    let ws = Workspace::new();
    Seed::new(["export"])
        .args(ws.store())
        .run()
        .await
        .expect(1)
        .says("there is no embedded store");
    assert!(!ws.path("data").exists());
}

#[tokio::test]
async fn an_empty_store_exports_an_empty_list() {
    let ws = Workspace::new();
    ws.import(&ws.file("empty.json", "[]"), &[]).await.expect(0);
    assert_eq!(ws.export("json").await, "[]\n");
    assert_eq!(ws.export("ndjson").await, "");
    assert_eq!(ws.export("csv").await, "id,companies,role\n");
}
