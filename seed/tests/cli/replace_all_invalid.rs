//! replace-all with --skip-invalid never deletes a user the file names, however broken the record
//! that names them; when it cannot tell whom a record is for, it writes nothing at all. Every test
//! runs on the embedded store and on DynamoDB (dynalite), and checks the outcome with `export`.

use crate::helpers::Store;

/// The users stored before each test: alice, bob, carol and "7".
const BEFORE: &str =
    "id,companies,role\n7,4,Standard\nalice,1,Standard\nbob,2,Standard\ncarol,3,Standard\n";
/// What a replace-all that writes bob and keeps alice and "7" leaves: carol deleted.
const BOB_WRITTEN_ALICE_AND_7_KEPT: &str =
    "id,companies,role\n7,4,Standard\nalice,1,Standard\nbob,2;22,Admin\n";
const REPLACE_ALL: &[&str] = &["--mode", "replace-all", "--yes", "--skip-invalid"];

/// Each store, holding [`BEFORE`].
async fn stores() -> Vec<Store> {
    let stores = Store::all().await;
    for store in &stores {
        store.import(BEFORE, &[]).await.expect(0);
    }
    stores
}

/// Imports `bytes` as `file` with [`REPLACE_ALL`] into each store holding [`BEFORE`], and checks
/// the exit status, that the report says each of `says`, and what the store exports afterwards.
/// Returns the stores for any further checks.
async fn replace_all(
    file: &str,
    bytes: impl AsRef<[u8]>,
    status: i32,
    says: &[&str],
    after: &str,
) -> Vec<Store> {
    let stores = stores().await;
    for store in &stores {
        let run = store
            .import_file(file, bytes.as_ref(), REPLACE_ALL)
            .await
            .expect(status);
        for text in says {
            run.says(text);
        }
        assert_eq!(store.export().await, after, "{}", store.name());
    }
    stores
}

#[tokio::test]
async fn a_truncated_ndjson_line_keeps_the_user_it_names() {
    let text = concat!(
        "{\"id\": \"bob\", \"companies\": [\"2\", \"22\"], \"role\": \"Admin\"}\n",
        "{\"id\":\"alice\",\"companies\":[\"1\"\n",
        "{\"id\": 7, \"companies\": [], \"role\": \"Admin\"}\n",
    );
    let says = [
        "line 2: invalid JSON at column",
        "line 3: id: must be a string, found a number",
        "(2):\n  7\n  alice\n",
        "written 1, skipped 0, failed 0, deleted 1, kept 2",
    ];
    replace_all(
        "replace.ndjson",
        text,
        0,
        &says,
        BOB_WRITTEN_ALICE_AND_7_KEPT,
    )
    .await;
}

#[tokio::test]
async fn ndjson_lines_whose_user_cannot_be_told_stop_replace_all_before_any_write() {
    let text = concat!(
        "{\"id\": \"bob\", \"companies\": [\"2\", \"22\"], \"role\": \"Admin\"}\n",
        "{\"companies\":[\"1\"],\"role\":\"Adm\n",
        "{\"id\":\"ali\n",
        "{\"id\": true, \"companies\": [], \"role\": \"Admin\"}\n",
    );
    let says = [
        "line 2: cannot tell which user this record is for (no \"id\" field can be read in \
         it); replace-all would delete users the file may name: fix the line or remove it",
        "line 3: cannot tell which user this record is for (its id cannot be read",
        "line 4: cannot tell which user this record is for (its id is true)",
        "replace-all refused: 3 invalid records name no user that can be told",
        "nothing was written",
    ];
    // Not even bob, whose record is valid, is written: nothing is half done.
    for store in replace_all("replace.ndjson", text, 1, &says, BEFORE).await {
        // A dry run predicts the refusal.
        let file = store.files().path("replace.ndjson").display().to_string();
        store
            .seed(&["import", &file])
            .args(REPLACE_ALL)
            .arg("--dry-run")
            .run()
            .await
            .expect(1)
            .says("replace-all refused");
    }
}

#[tokio::test]
async fn upsert_still_writes_the_valid_records_when_some_name_no_user() {
    let text = concat!(
        "{\"id\": \"bob\", \"companies\": [\"2\", \"22\"], \"role\": \"Admin\"}\n",
        "{\"companies\":[\"1\"],\"role\":\"Adm\n",
    );
    for store in stores().await {
        let run = store
            .import_file("upsert.ndjson", text, &["--skip-invalid"])
            .await
            .expect(0);

        run.says("written 1, skipped 0, failed 0");
        assert_eq!(
            store.export().await,
            "id,companies,role\n7,4,Standard\nalice,1,Standard\nbob,2;22,Admin\ncarol,3,Standard\n",
            "{}",
            store.name()
        );
    }
}

#[tokio::test]
async fn a_csv_row_that_is_not_utf8_keeps_its_user_when_its_id_is() {
    let bytes = b"id,companies,role\nbob,2;22,Admin\nalice,1,Adm\xE9in\n7,4,Standard\n";
    let says = [
        "line 3: role: not valid UTF-8",
        "(1):\n  alice\n",
        "written 2, skipped 0, failed 0, deleted 1, kept 1",
    ];
    replace_all("replace.csv", bytes, 0, &says, BOB_WRITTEN_ALICE_AND_7_KEPT).await;
}

#[tokio::test]
async fn a_csv_row_whose_id_is_not_utf8_or_whose_fields_do_not_line_up_stops_replace_all() {
    let bytes = b"id,companies,role\nbob,2;22,Admin\nal\xE9ice,1,Admin\nalice,1\n7,4,Standard\n";
    let says = [
        "line 3: cannot tell which user this record is for (its id is not valid UTF-8)",
        "line 4: cannot tell which user this record is for (its 2 fields do not line up \
         with the header's 3 columns)",
        "nothing was written",
    ];
    replace_all("replace.csv", bytes, 1, &says, BEFORE).await;
}

#[tokio::test]
async fn a_csv_row_with_a_bad_role_keeps_its_user() {
    let text = "id,companies,role\nbob,2;22,Admin\nalice,1,Owner\n7,4,Standard\n";
    let says = [
        "line 3: role: must be one of",
        "written 2, skipped 0, failed 0, deleted 1, kept 1",
    ];
    replace_all("replace.csv", text, 0, &says, BOB_WRITTEN_ALICE_AND_7_KEPT).await;
}

#[tokio::test]
async fn bad_json_array_elements_keep_the_users_they_name() {
    let text = r#"[
  {"id": "bob", "companies": ["2", "22"], "role": "Admin"},
  {"id": "alice", "companies": "1", "role": "Admin"},
  {"id": 7, "companies": [], "role": "Admin"}
]
"#;
    let says = [
        "line 3: companies: must be a list of strings, found a string",
        "line 4: id: must be a string, found a number",
        "written 1, skipped 0, failed 0, deleted 1, kept 2",
    ];
    replace_all("replace.json", text, 0, &says, BOB_WRITTEN_ALICE_AND_7_KEPT).await;
}

#[tokio::test]
async fn json_array_elements_without_a_user_stop_replace_all() {
    let text = r#"[
  {"id": "bob", "companies": ["2", "22"], "role": "Admin"},
  "alice",
  {"companies": ["1"], "role": "Admin"},
  {"id": null, "companies": [], "role": "Admin"},
  {"id": "carol", "id": "dave", "companies": [], "role": "Admin"}
]
"#;
    let says = [
        "line 3: cannot tell which user this record is for (no \"id\" field",
        "line 4: cannot tell which user this record is for (no \"id\" field",
        "line 5: cannot tell which user this record is for (its id is null)",
        "line 6: the field \"id\" appears 2 times",
        "replace-all refused: 3 invalid records",
    ];
    replace_all("replace.json", text, 1, &says, BEFORE).await;
}
