//! Every validation error, reported with its line number; nothing written unless all are valid.

use crate::helpers::{Seed, Workspace, ndjson, users};

/// A JSON array with one invalid record of each kind, each starting on a known line.
const BAD_JSON: &str = r#"[
  {"id": "ok-1", "companies": ["1111"], "role": "Manager"},
  {"id": "has space", "companies": [], "role": "Manager"},
  {"id": "", "companies": [], "role": "Manager"},
  {
    "id": "bad-company",
    "companies": ["ac me"],
    "role": "Manager"
  },
  {"id": "dup-company", "companies": ["1", "1"], "role": "Admin"},
  {"id": "lower-role", "companies": [], "role": "manager"},
  {"id": "no-role", "companies": []},
  {"id": 42, "companies": [], "role": "Admin"},
  {"id": "ok-2", "companies": [], "role": "Admin", "colour": "red"},
  {"id": "ok-1", "companies": ["2222"], "role": "Admin"},
  {"id": "ok-3", "companies": [], "role": "Standard"}
]
"#;

#[tokio::test]
async fn every_invalid_json_record_is_reported_with_its_line_and_nothing_is_written() {
    let ws = Workspace::new();

    let run = ws
        .import(&ws.file("bad.json", BAD_JSON), &[])
        .await
        .expect(1);

    for line in [
        "line 3: id: must not contain whitespace or control characters (found U+0020 at character 4)",
        "line 4: id: must not be empty",
        "line 5: companies[0]: may contain only A-Z, a-z, 0-9 and . _ : - (found ' ' in \"ac me\")",
        "line 10: companies[1]: duplicates companies[0]",
        "line 11: role: must be one of Standard, Manager, Admin (case-sensitive), got \"manager\"",
        "line 12: role: is missing",
        "line 13: id: must be a string, found a number",
        "line 14: unknown field \"colour\" (a record has id, companies and role)",
        "line 15: id \"ok-1\" appears twice, on line 2 and on line 15",
    ] {
        run.says(line);
    }
    run.says("9 of 11 records in");
    run.says("nothing was written");
    let reported = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("line "))
        .count();
    assert_eq!(reported, 9, "{}", run.stderr);
    assert!(!ws.path("data").exists(), "the store was opened");
}

#[tokio::test]
async fn ndjson_errors_carry_the_physical_line() {
    let ws = Workspace::new();
    let text = concat!(
        "{\"id\": \"a\", \"companies\": [], \"role\": \"Admin\"}\n",
        "\n",
        "{\"id\": \"b\", \"companies\": [], \"role\": \"Owner\"}\n",
        "{\"id\": \"c\", \"companies\": [] \"role\": \"Admin\"}\n",
        "[1, 2]\n",
        "{\"id\": \"a\", \"companies\": [], \"role\": \"Admin\"}\n",
    );

    let run = ws.import(&ws.file("bad.ndjson", text), &[]).await.expect(1);

    run.says("line 3: role: must be one of");
    run.says("line 4: invalid JSON at column");
    run.says("expected `,` or `}`");
    run.says("line 5: expected an object with id, companies and role, found an array");
    run.says("line 6: id \"a\" appears twice, on line 1 and on line 6");
    assert!(!ws.path("data").exists());
}

#[tokio::test]
async fn csv_errors_carry_the_physical_line_with_the_header_as_line_1() {
    let ws = Workspace::new();
    let text = "id,companies,role\nok,1111;2222,Manager\n\nbad,1111;;2222,Manager\nshort,1111\n\"multi\",\"1\",\"Stan\ndard\"\nlast,\"ac me\",Admin\nok,1,Admin\n";

    let run = ws.import(&ws.file("bad.csv", text), &[]).await.expect(1);

    run.says("line 4: companies[1]: must not be empty");
    run.says("line 5: expected 3 fields (id, companies, role), found 2");
    run.says("line 6: role: must be one of");
    run.says("line 8: companies[0]: may contain only");
    run.says("line 9: id \"ok\" appears twice, on line 2 and on line 9");
    assert!(!ws.path("data").exists());
}

#[tokio::test]
async fn a_csv_header_without_the_needed_columns_stops_the_read() {
    let ws = Workspace::new();
    ws.import(&ws.file("bad.csv", "user,companies,role\na,1,Admin\n"), &[])
        .await
        .expect(1)
        .says("line 1: unknown column \"user\"");
}

#[tokio::test]
async fn broken_json_stops_with_its_line_and_nothing_is_written() {
    let ws = Workspace::new();
    let text = "[\n  {\"id\": \"a\", \"companies\": [], \"role\": \"Admin\"},\n  {\"id\": \"b\", \"companies\": [}\n]\n";

    let run = ws
        .import(&ws.file("broken.json", text), &[])
        .await
        .expect(1);

    run.says("line 3: invalid JSON at column");
    run.says("nothing was written");
    assert!(!ws.path("data").exists());
}

#[tokio::test]
async fn skip_invalid_writes_the_valid_ones_and_lists_the_rest() {
    let ws = Workspace::new();

    let run = ws
        .import(&ws.file("bad.json", BAD_JSON), &["--skip-invalid"])
        .await
        .expect(0);

    run.says("line 11: role: must be one of");
    run.says("9 invalid records are skipped (--skip-invalid)");
    run.says("summary: read 11, valid 2, written 2, skipped 0, failed 0");
    assert_eq!(
        ws.export("csv").await,
        "id,companies,role\nok-1,1111,Manager\nok-3,,Standard\n"
    );
}

#[tokio::test]
async fn the_configured_roles_decide() {
    let ws = Workspace::new();
    let text = "id,companies,role\na,1,Viewer\nb,1,Admin\n";

    let run = ws
        .import(&ws.file("roles.csv", text), &["--roles", "Viewer,Editor"])
        .await
        .expect(1);

    run.says("line 3: role: must be one of Viewer, Editor (case-sensitive), got \"Admin\"");
}

#[tokio::test]
async fn dry_run_validates_and_writes_nothing() {
    let ws = Workspace::new();
    let run = ws
        .import(&ws.file("ok.ndjson", ndjson(&users(7))), &["--dry-run"])
        .await
        .expect(0);
    run.says("dry run: read 7, valid 7, invalid 0; nothing was written");
    assert!(!ws.path("data").exists());

    ws.import(&ws.file("bad.json", BAD_JSON), &["--dry-run"])
        .await
        .expect(1)
        .says("line 3:");
}

#[tokio::test]
async fn quiet_still_reports_invalid_records() {
    let ws = Workspace::new();
    let run = Seed::new(["import", &ws.file("bad.json", BAD_JSON), "--quiet"])
        .args(ws.store())
        .run()
        .await
        .expect(1);
    run.says("line 4: id: must not be empty");
}
