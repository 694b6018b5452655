//! The store contract: one suite of checks that every [`PermissionStore`] must pass.
//!
//! Each check takes an empty store and panics with a message on a breach. Test crates run the
//! whole suite against each store with [`store_contract_tests!`](crate::store_contract_tests), so
//! the embedded store, the in-memory store and DynamoDB are held to the same behaviour.

use std::collections::BTreeSet;

use super::{Author, PermissionStore, Position, Precondition, StoreError, ops};
use crate::domain::{CompanyId, MAX_COMPANIES, Permissions, Role, UserId, UserPermissions};

/// A user id for a test; panics if `s` is not a valid one.
pub fn id(s: &str) -> UserId {
    UserId::parse(s).expect("valid test id")
}

/// A company id for a test; panics if `s` is not a valid one.
pub fn company(s: &str) -> CompanyId {
    CompanyId::parse(s).expect("valid test company")
}

/// A stored user for a test, at version 1 with no audit fields; panics if an id is not valid.
pub fn stored(id: &str, companies: &[&str], role: &str) -> UserPermissions {
    let permissions = perms(companies, role);
    UserPermissions {
        id: self::id(id),
        companies: permissions.companies,
        role: permissions.role,
        version: 1,
        updated_at: None,
        updated_by: None,
    }
}

/// Permissions for a test (`role` as a store would hold it); panics if they are not valid.
pub fn perms(companies: &[&str], role: &str) -> Permissions {
    Permissions::new(
        companies.iter().map(|c| company(c)).collect(),
        Role::from_stored(role),
    )
    .expect("valid test permissions")
}

/// Every user of `company`, following [`Page::next`](super::Page::next) from the start with pages
/// of `limit`; checks on the way that no page is larger than `limit`, that no one is listed twice
/// and that the listing ends.
pub async fn list_all(
    store: &dyn PermissionStore,
    company: &CompanyId,
    limit: usize,
) -> Vec<UserPermissions> {
    let mut all = Vec::new();
    let mut seen = BTreeSet::new();
    let mut after: Option<Position> = None;
    for _ in 0..MAX_LISTING_CALLS {
        let page = store
            .list_by_company(company, limit, after.as_ref())
            .await
            .unwrap();
        assert!(
            page.users.len() <= limit,
            "a page of {} users, over the limit of {limit}",
            page.users.len()
        );
        for user in page.users {
            assert!(seen.insert(user.id.clone()), "{} listed twice", user.id);
            all.push(user);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
    panic!("listing {company} did not end after {MAX_LISTING_CALLS} calls");
}

/// More calls than any listing in this suite needs, even on a store that reads a handful of items
/// per call.
const MAX_LISTING_CALLS: usize = 1_000;

/// A missing user reads as `None`.
pub async fn get_of_a_missing_user_is_none(store: &dyn PermissionStore) {
    assert_eq!(store.get(&id("nobody")).await.unwrap(), None);
}

/// A put creates at version 1 and each replace adds one; what was written reads back.
pub async fn put_creates_then_replaces_with_growing_versions(store: &dyn PermissionStore) {
    let u = id("u-put");
    let created = store
        .put(
            &u,
            &perms(&["1111"], "Manager"),
            Precondition::None,
            Author::actor(Some("tester")),
        )
        .await
        .unwrap();
    assert_eq!(created.before, None);
    assert_eq!(created.after.version, 1);
    assert_eq!(created.after.updated_by.as_deref(), Some("tester"));
    assert!(created.after.updated_at.is_some());
    let replaced = store
        .put(
            &u,
            &perms(&["2222", "3333"], "Admin"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    assert_eq!(replaced.before.as_ref().map(|b| b.version), Some(1));
    assert_eq!(replaced.after.version, 2);
    let read = store.get(&u).await.unwrap().expect("stored");
    assert_eq!(read, replaced.after);
    assert_eq!(read.companies, vec![company("2222"), company("3333")]);
    assert_eq!(read.role.as_str(), "Admin");
}

/// Create-only fails on an existing user and leaves it untouched.
pub async fn create_only_conflicts_when_the_user_exists(store: &dyn PermissionStore) {
    let u = id("u-create-only");
    store
        .put(
            &u,
            &perms(&["1111"], "Standard"),
            Precondition::MustNotExist,
            Author::NONE,
        )
        .await
        .unwrap();
    let err = store
        .put(
            &u,
            &perms(&["9999"], "Admin"),
            Precondition::MustNotExist,
            Author::NONE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: Some(1) }),
        "{err:?}"
    );
    let read = store.get(&u).await.unwrap().unwrap();
    assert_eq!(read.companies, vec![company("1111")]);
}

/// Replace-only fails on a missing user and creates nothing.
pub async fn must_exist_conflicts_when_the_user_is_missing(store: &dyn PermissionStore) {
    let u = id("u-must-exist");
    let err = store
        .put(
            &u,
            &perms(&["1111"], "Standard"),
            Precondition::MustExist,
            Author::NONE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: None }),
        "{err:?}"
    );
    assert_eq!(store.get(&u).await.unwrap(), None);
}

/// A write with a stale expected version fails and changes nothing; the right one succeeds.
pub async fn stale_versions_conflict(store: &dyn PermissionStore) {
    let u = id("u-versions");
    store
        .put(
            &u,
            &perms(&["1111"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    store
        .put(
            &u,
            &perms(&["2222"], "Standard"),
            Precondition::Version(1),
            Author::NONE,
        )
        .await
        .unwrap();
    let err = store
        .put(
            &u,
            &perms(&["3333"], "Admin"),
            Precondition::Version(1),
            Author::NONE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: Some(2) }),
        "{err:?}"
    );
    let err = store
        .delete(&u, Precondition::Version(1), Author::NONE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.get(&u).await.unwrap().unwrap().companies,
        vec![company("2222")]
    );
    let err = store
        .put(
            &id("u-versions-missing"),
            &perms(&[], "Admin"),
            Precondition::Version(1),
            Author::NONE,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { current: None }),
        "{err:?}"
    );
}

/// PATCH adds and removes companies and changes the role in one step.
pub async fn patch_adds_removes_and_changes_role(store: &dyn PermissionStore) {
    let u = id("u-patch");
    store
        .put(
            &u,
            &perms(&["1111", "2222"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    let patch = ops::PermissionsPatch {
        add_companies: vec![company("3333"), company("1111")],
        remove_companies: vec![company("2222"), company("4444")],
        role: Some(Role::from_stored("Manager")),
    };
    let out = ops::patch(
        store,
        &u,
        &patch,
        Precondition::None,
        Author::actor(Some("p")),
    )
    .await
    .unwrap();
    assert_eq!(out.after.companies, vec![company("1111"), company("3333")]);
    assert_eq!(out.after.role.as_str(), "Manager");
    assert_eq!(out.after.version, 2);
    let err = ops::patch(store, &u, &patch, Precondition::Version(1), Author::NONE)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ops::PatchError::Store(StoreError::Conflict { current: Some(2) })
        ),
        "{err:?}"
    );
    let err = ops::patch(
        store,
        &id("u-patch-missing"),
        &patch,
        Precondition::None,
        Author::NONE,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ops::PatchError::NotFound), "{err:?}");
}

/// Delete returns what was stored; deleting a missing user is `NotFound`.
pub async fn delete_returns_the_old_record(store: &dyn PermissionStore) {
    let u = id("u-delete");
    store
        .put(
            &u,
            &perms(&["1111"], "Admin"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    let removed = store
        .delete(&u, Precondition::Version(1), Author::NONE)
        .await
        .unwrap();
    assert_eq!(removed.id, u);
    assert_eq!(store.get(&u).await.unwrap(), None);
    let err = store
        .delete(&u, Precondition::None, Author::NONE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let listed = list_all(store, &company("1111"), 10).await;
    assert!(
        listed.iter().all(|x| x.id != u),
        "deleted user still listed"
    );
}

/// Paging through a company visits every member once and no one else, across many pages.
pub async fn listing_pages_through_every_member_once(store: &dyn PermissionStore) {
    let mut expected = BTreeSet::new();
    for i in 0..23 {
        let u = id(&format!("member-{i:02}"));
        store
            .put(
                &u,
                &perms(&["acme", "other"], "Standard"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
        expected.insert(u);
    }
    for i in 0..9 {
        store
            .put(
                &id(&format!("outsider-{i}")),
                &perms(&["other"], "Admin"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
    }
    // A member who leaves the company must drop out of the listing.
    let leaver = id("member-leaver");
    store
        .put(
            &leaver,
            &perms(&["acme"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    store
        .put(
            &leaver,
            &perms(&["other"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();

    let mut seen = BTreeSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_by_company(&company("acme"), 5, after.as_ref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.users.len() <= 5, "page larger than the limit");
        for user in page.users {
            assert!(
                user.has_company(&company("acme")),
                "{} is not in acme",
                user.id
            );
            assert!(seen.insert(user.id.clone()), "{} listed twice", user.id);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < MAX_LISTING_CALLS, "listing does not end");
    }
    assert_eq!(seen, expected);
    assert!(
        pages >= 5,
        "23 members in pages of 5 need at least 5 pages, got {pages}"
    );
    let none = list_all(store, &company("nobody-here"), 5).await;
    assert!(none.is_empty(), "{none:?}");
}

/// A few members among many others: pages may be short, even empty, but each carries a position
/// until the listing has ended, and following them yields every member exactly once. A position
/// can be used again (a client retrying a request gets the same page).
pub async fn listing_goes_on_past_pages_short_of_members(store: &dyn PermissionStore) {
    let mut expected = BTreeSet::new();
    for i in 0..60 {
        let member = i % 15 == 7;
        let name = if member {
            format!("sparse-member-{i:02}")
        } else {
            format!("filler-{i:02}")
        };
        let companies: &[&str] = if member {
            &["rare", "common"]
        } else {
            &["common"]
        };
        store
            .put(
                &id(&name),
                &perms(companies, "Standard"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
        if member {
            expected.insert(id(&name));
        }
    }
    assert_eq!(expected.len(), 4);

    let listed = list_all(store, &company("rare"), 3).await;
    let listed: BTreeSet<UserId> = listed
        .into_iter()
        .inspect(|u| assert!(u.has_company(&company("rare")), "{} is not in rare", u.id))
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, expected);

    let first = store
        .list_by_company(&company("rare"), 1, None)
        .await
        .unwrap();
    if let Some(next) = &first.next {
        let once = store
            .list_by_company(&company("rare"), 1, Some(next))
            .await
            .unwrap();
        let again = store
            .list_by_company(&company("rare"), 1, Some(next))
            .await
            .unwrap();
        assert_eq!(once, again, "the same position gave two different pages");
    }
}

/// Batch get returns the users that exist and leaves out the rest.
pub async fn batch_get_leaves_out_missing_ids(store: &dyn PermissionStore) {
    for name in ["b1", "b2", "b3"] {
        store
            .put(
                &id(name),
                &perms(&["1111"], "Standard"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
    }
    let ids = [id("b1"), id("missing-1"), id("b3"), id("missing-2")];
    let found: BTreeSet<String> = store
        .batch_get(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    assert_eq!(found, BTreeSet::from(["b1".to_string(), "b3".to_string()]));
    let many: Vec<UserId> = (0..100).map(|i| id(&format!("many-{i}"))).collect();
    assert!(store.batch_get(&many).await.unwrap().is_empty());
}

/// Ids with non-ASCII characters (and e-mail addresses) are stored and found as given.
pub async fn unicode_ids_round_trip(store: &dyn PermissionStore) {
    for name in ["Zoë_Ωmega", "用户-42", "alice+test@example.com", "🙂"] {
        let u = id(name);
        store
            .put(
                &u,
                &perms(&["1111"], "Standard"),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
        assert_eq!(store.get(&u).await.unwrap().unwrap().id, u);
    }
    let listed = list_all(store, &company("1111"), 100).await;
    assert!(listed.iter().any(|u| u.id.as_str() == "用户-42"));
}

/// The largest company list allowed (1,000 ids of 64 characters) is stored whole and in order.
pub async fn the_largest_company_list_is_stored_whole(store: &dyn PermissionStore) {
    let companies: Vec<CompanyId> = (0..MAX_COMPANIES)
        .map(|i| company(&format!("{i:04}{}", "c".repeat(60))))
        .collect();
    let p = Permissions::new(companies.clone(), Role::from_stored("Admin")).unwrap();
    let u = id("u-largest");
    store
        .put(&u, &p, Precondition::None, Author::NONE)
        .await
        .unwrap();
    assert_eq!(store.get(&u).await.unwrap().unwrap().companies, companies);
    let listed = list_all(store, &companies[MAX_COMPANIES - 1], 10).await;
    assert_eq!(listed.len(), 1);
}

/// The store reports itself ready.
pub async fn a_working_store_is_ready(store: &dyn PermissionStore) {
    store.ready().await.unwrap();
}

/// Every acknowledged write records one entry, newest first, saying who, what, which version and
/// which request; the permissions before and after are those the write replaced and stored.
pub async fn history_records_every_write_newest_first(store: &dyn PermissionStore) {
    let u = id("u-history");
    assert!(store.history(&u).await.unwrap().is_empty());
    let as_alice = Author {
        actor: Some("alice"),
        request_id: Some("req-1"),
    };
    store
        .put(
            &u,
            &perms(&["1111"], "Standard"),
            Precondition::MustNotExist,
            as_alice,
        )
        .await
        .unwrap();
    let patch = ops::PermissionsPatch::parse(
        Some(vec!["2222".into()]),
        None,
        Some(Role::from_stored("Manager")),
    )
    .unwrap();
    let as_bob = Author {
        actor: Some("bob"),
        request_id: Some("req-2"),
    };
    ops::patch(store, &u, &patch, Precondition::Version(1), as_bob)
        .await
        .unwrap();
    store
        .delete(&u, Precondition::Version(2), Author::actor(Some("carol")))
        .await
        .unwrap();

    let history = store.history(&u).await.unwrap();
    let summary: Vec<(u64, &str, u64, Option<&str>)> = history
        .iter()
        .map(|e| {
            let action = match e.action {
                crate::domain::ChangeAction::Create => "create",
                crate::domain::ChangeAction::Update => "update",
                crate::domain::ChangeAction::Delete => "delete",
            };
            (e.seq, action, e.version, e.actor.as_deref())
        })
        .collect();
    assert_eq!(
        summary,
        [
            (3, "delete", 2, Some("carol")),
            (2, "update", 2, Some("bob")),
            (1, "create", 1, Some("alice")),
        ]
    );
    let update = &history[1];
    assert_eq!(update.request_id.as_deref(), Some("req-2"));
    let before = update.before.as_ref().expect("an update has a before");
    let after = update.after.as_ref().expect("an update has an after");
    assert_eq!(
        (before.companies.len(), before.role.as_str(), before.version),
        (1, "Standard", 1)
    );
    assert_eq!(
        (after.companies.len(), after.role.as_str(), after.version),
        (2, "Manager", 2)
    );
    assert!(history[0].after.is_none() && history[0].before.is_some());
    assert!(history[2].before.is_none() && history[2].after.is_some());
    assert_eq!(history[0].request_id, None);
    assert!(history[0].at >= history[2].at);
}

/// A write that fails (its precondition does not hold) records nothing.
pub async fn a_refused_write_records_nothing(store: &dyn PermissionStore) {
    let u = id("u-history-refused");
    store
        .put(
            &u,
            &perms(&["1111"], "Standard"),
            Precondition::None,
            Author::NONE,
        )
        .await
        .unwrap();
    let stale = Precondition::Version(7);
    assert!(
        store
            .put(&u, &perms(&["2222"], "Admin"), stale, Author::NONE)
            .await
            .is_err()
    );
    assert!(store.delete(&u, stale, Author::NONE).await.is_err());
    assert!(
        store
            .put(
                &u,
                &perms(&["2222"], "Admin"),
                Precondition::MustNotExist,
                Author::NONE
            )
            .await
            .is_err()
    );
    assert_eq!(store.history(&u).await.unwrap().len(), 1);
}

/// A deleted user's history stays readable; a user created again starts a new history.
pub async fn a_deleted_users_history_stays_until_created_again(store: &dyn PermissionStore) {
    let u = id("u-history-deleted");
    for role in ["Standard", "Manager"] {
        store
            .put(
                &u,
                &perms(&["1111"], role),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
    }
    store
        .delete(&u, Precondition::None, Author::NONE)
        .await
        .unwrap();
    assert_eq!(store.get(&u).await.unwrap(), None);
    assert_eq!(store.history(&u).await.unwrap().len(), 3);
    store
        .put(
            &u,
            &perms(&["2222"], "Admin"),
            Precondition::MustNotExist,
            Author::NONE,
        )
        .await
        .unwrap();
    let history = store.history(&u).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].seq, 1);
    assert_eq!(history[0].action, crate::domain::ChangeAction::Create);
}

/// Only the newest entries are kept: the oldest go first.
pub async fn history_keeps_only_the_newest_entries(store: &dyn PermissionStore) {
    use crate::domain::history::HISTORY_MAX_ENTRIES;
    let u = id("u-history-long");
    let writes = HISTORY_MAX_ENTRIES as u64 + 3;
    for i in 0..writes {
        let role = if i % 2 == 0 { "Standard" } else { "Manager" };
        store
            .put(
                &u,
                &perms(&["1111"], role),
                Precondition::None,
                Author::NONE,
            )
            .await
            .unwrap();
    }
    let history = store.history(&u).await.unwrap();
    assert_eq!(history.len(), HISTORY_MAX_ENTRIES);
    assert_eq!(history[0].seq, writes);
    assert_eq!(history.last().map(|e| e.seq), Some(4));
}

/// Generates one `#[tokio::test]` per contract check. `$make` is an async expression giving a
/// fresh, empty store (anything that implements `PermissionStore`); `$guard` names a value that
/// must live as long as the test (a server, a temp dir), or `_` for none.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            get_of_a_missing_user_is_none,
            put_creates_then_replaces_with_growing_versions,
            create_only_conflicts_when_the_user_exists,
            must_exist_conflicts_when_the_user_is_missing,
            stale_versions_conflict,
            patch_adds_removes_and_changes_role,
            delete_returns_the_old_record,
            listing_pages_through_every_member_once,
            listing_goes_on_past_pages_short_of_members,
            batch_get_leaves_out_missing_ids,
            unicode_ids_round_trip,
            the_largest_company_list_is_stored_whole,
            history_records_every_write_newest_first,
            a_refused_write_records_nothing,
            a_deleted_users_history_stays_until_created_again,
            history_keeps_only_the_newest_entries,
            a_working_store_is_ready
        );
    };
    (@each $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_guard, store) = $make.await;
                $crate::store::contract::$name(&store).await;
            }
        )+
    };
}
