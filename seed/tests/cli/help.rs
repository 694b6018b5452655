//! `--help` explains every option and the exit statuses; a bad command line writes nothing.

use crate::helpers::Seed;

#[tokio::test]
async fn import_help_explains_every_option_modes_formats_and_exit_statuses() {
    let run = Seed::new(["import", "--help"]).run().await.expect(0);
    for text in [
        "--format",
        "--mode",
        "--yes",
        "--skip-invalid",
        "--dry-run",
        "--quiet",
        "--concurrency",
        "--max-retry-time",
        "--roles",
        "--api",
        "--bearer-token",
        "--store",
        "--data-dir",
        "--table",
        "--region",
        "--dynamodb-endpoint-url",
        "--dynamodb-attempt-timeout",
        "--dynamodb-timeout",
        "--dynamodb-max-attempts",
        "[env: TABLE_NAME=]",
        "[env: DYNAMODB_ENDPOINT_URL=]",
        "insert-only",
        "replace-all",
        "replace-all with --skip-invalid: each invalid record still protects the user it names",
        "refuses before\nwriting anything",
        "UnprocessedItems",
        "ndjson",
        "line number",
        "Exit status:",
        "130",
    ] {
        assert!(
            run.stdout.contains(text),
            "import --help lacks {text:?}:\n{}",
            run.stdout
        );
    }
}

#[tokio::test]
async fn export_and_create_table_help_say_what_they_do() {
    let export = Seed::new(["export", "--help"]).run().await.expect(0);
    for text in [
        "--output",
        "--format",
        "--segments",
        "sorted by",
        "byte-identical",
        "Exit status:",
    ] {
        assert!(
            export.stdout.contains(text),
            "export --help lacks {text:?}:\n{}",
            export.stdout
        );
    }
    let create = Seed::new(["create-table", "--help"]).run().await.expect(0);
    for text in ["--table", "on-demand", "--dynamodb-endpoint-url"] {
        assert!(
            create.stdout.contains(text),
            "create-table --help lacks {text:?}:\n{}",
            create.stdout
        );
    }
    let top = Seed::new(["--help"]).run().await.expect(0);
    for text in ["import", "export", "create-table", "Exit status:"] {
        assert!(
            top.stdout.contains(text),
            "--help lacks {text:?}:\n{}",
            top.stdout
        );
    }
}

#[tokio::test]
async fn a_bad_command_line_exits_1() {
    Seed::new(["import"]).run().await.expect(1);
    Seed::new(["import", "x.json", "--mode", "sideways"])
        .run()
        .await
        .expect(1);
    Seed::new(["launch"]).run().await.expect(1);
}

#[tokio::test]
async fn create_table_needs_a_table_name() {
    Seed::new(["create-table"])
        .run()
        .await
        .expect(1)
        .says("--table");
}
