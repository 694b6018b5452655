//! upsert, insert-only and replace-all, on the embedded store and on DynamoDB.

use crate::helpers::{Store, csv};

/// The users already stored: a, b, c.
const BEFORE: &str = "id,companies,role\na,1,Standard\nb,2,Standard\nc,3,Standard\n";
/// The file imported: b changed, d new; a and c not in it.
const FILE: &str = "id,companies,role\nb,2;22,Admin\nd,4,Manager\n";

#[tokio::test]
async fn upsert_creates_new_users_and_replaces_existing_ones() {
    for store in Store::all().await {
        store.import(BEFORE, &[]).await.expect(0);

        let run = store.import(FILE, &[]).await.expect(0);

        run.says("written 2, skipped 0, failed 0");
        assert_eq!(
            store.export().await,
            "id,companies,role\na,1,Standard\nb,2;22,Admin\nc,3,Standard\nd,4,Manager\n",
            "{}",
            store.name()
        );
    }
}

#[tokio::test]
async fn insert_only_leaves_existing_users_untouched_and_lists_them() {
    for store in Store::all().await {
        store.import(BEFORE, &[]).await.expect(0);

        let run = store
            .import(FILE, &["--mode", "insert-only"])
            .await
            .expect(0);

        run.says("written 1, skipped 1, failed 0");
        run.says("left untouched, they exist already (1):\n  b\n");
        assert_eq!(
            store.export().await,
            "id,companies,role\na,1,Standard\nb,2,Standard\nc,3,Standard\nd,4,Manager\n",
            "{}",
            store.name()
        );
    }
}

#[tokio::test]
async fn replace_all_with_yes_deletes_the_users_not_in_the_file() {
    for store in Store::all().await {
        store.import(BEFORE, &[]).await.expect(0);

        let run = store
            .import(FILE, &["--mode", "replace-all", "--yes"])
            .await
            .expect(0);

        run.says("written 2, skipped 0, failed 0, deleted 2");
        assert_eq!(
            store.export().await,
            "id,companies,role\nb,2;22,Admin\nd,4,Manager\n",
            "{}",
            store.name()
        );
        // Every write the import made is in the users' histories, by the seed CLI; a deleted
        // user's history stays readable.
        let summary = |history: Vec<clearance_core::domain::HistoryEntry>| -> Vec<String> {
            history
                .iter()
                .map(|e| {
                    format!(
                        "{:?} v{} by {}",
                        e.action,
                        e.version,
                        e.actor.as_deref().unwrap_or("-")
                    )
                })
                .collect()
        };
        assert_eq!(
            summary(store.history("b").await),
            ["Update v2 by seed-cli", "Create v1 by seed-cli"],
            "{}",
            store.name()
        );
        assert_eq!(
            summary(store.history("a").await),
            ["Delete v1 by seed-cli", "Create v1 by seed-cli"],
            "{}",
            store.name()
        );
    }
}

#[tokio::test]
async fn replace_all_without_yes_and_without_a_terminal_writes_nothing() {
    for store in Store::all().await {
        store.import(BEFORE, &[]).await.expect(0);

        let run = store
            .import(FILE, &["--mode", "replace-all"])
            .await
            .expect(1);

        run.says("replace-all will delete 2 users from");
        run.says("(a, c): pass --yes to confirm");
        run.says("nothing was written");
        assert_eq!(store.export().await, BEFORE, "{}", store.name());
    }
}

#[tokio::test]
async fn replace_all_never_deletes_a_user_named_by_an_invalid_record() {
    for store in Store::all().await {
        store.import(BEFORE, &[]).await.expect(0);
        let file = format!("{FILE}c,3,NotARole\n");

        let run = store
            .import(&file, &["--mode", "replace-all", "--yes", "--skip-invalid"])
            .await
            .expect(0);

        run.says("line 4: role: must be one of");
        run.says("deleted 1, kept 1");
        run.says(
            "kept as they are, neither written nor deleted, since only invalid records name \
             them (1):\n  c\n",
        );
        assert_eq!(
            store.export().await,
            "id,companies,role\nb,2;22,Admin\nc,3,Standard\nd,4,Manager\n",
            "{}",
            store.name()
        );
    }
}

#[tokio::test]
async fn a_replace_all_dry_run_lists_what_it_would_delete_and_writes_nothing() {
    for store in Store::all().await {
        store.import(BEFORE, &[]).await.expect(0);

        let run = store
            .import(FILE, &["--mode", "replace-all", "--dry-run"])
            .await
            .expect(0);

        run.says("replace-all would delete 2 users not in the file:\n  a\n  c\n");
        run.says("nothing was written");
        assert_eq!(store.export().await, BEFORE, "{}", store.name());
    }
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing_but_versions() {
    let data = crate::helpers::users(30);
    for store in Store::all().await {
        store.import(&csv(&data), &[]).await.expect(0);
        let first = store.export().await;

        store.import(&csv(&data), &[]).await.expect(0);

        assert_eq!(store.export().await, first, "{}", store.name());
    }
}
