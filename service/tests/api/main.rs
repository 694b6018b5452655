//! HTTP integration tests of the permissions API: the real server on 127.0.0.1:0, over a socket.
//!
//! The endpoint suites (`users`, `history`, `companies`, `decisions`, `authzen`, `errors`, `concurrency`) are plain async
//! functions that take a running [`helpers::TestApp`]; [`http_suite!`] turns each into a test for
//! one store, so the same suite runs on every store: `embedded`, and `dynamodb` on dynalite.
//! `platform` holds the tests that are about the process; `dynamodb::*` those about running on
//! DynamoDB (drop-in items, faults, the binary's DynamoDB settings, the listing's scan bound).

mod admin;
mod auth;
mod authzen;
mod browser;
mod companies;
mod concurrency;
mod contract;
mod decisions;
mod errors;
mod helpers;
mod history;
mod observability;
mod platform;
mod users;

/// One `#[tokio::test]` per suite function, each on a fresh server made by `$spawn`.
macro_rules! http_suite {
    ($spawn:expr) => {
        http_suite!(@each $spawn;
            users::get_returns_the_users_permissions_with_an_etag,
            users::get_returns_404_for_an_unknown_user,
            users::get_with_the_current_etag_in_if_none_match_returns_304,
            users::put_creates_with_201_then_replaces_with_200,
            users::put_accepts_an_id_in_the_body_only_if_it_equals_the_path,
            users::put_with_if_match_replaces_only_that_version,
            users::put_with_if_none_match_star_only_creates,
            users::malformed_conditional_headers_are_400,
            users::patch_adds_and_removes_companies_and_changes_the_role,
            users::patch_with_a_stale_if_match_is_412,
            users::patch_of_an_unknown_user_is_404,
            users::an_empty_or_contradictory_patch_is_400,
            users::delete_returns_204_then_404,
            users::delete_with_a_stale_if_match_is_412,
            users::batch_get_returns_users_and_missing_ids_in_order,
            users::batch_get_takes_1_to_100_valid_ids,
            users::ids_with_unicode_and_reserved_characters_work_in_paths,
            users::the_largest_user_the_rules_allow_is_stored_and_read_back,
            users::reads_say_how_fresh_they_are_and_take_a_consistency,
            companies::listing_pages_through_every_member_of_a_company,
            companies::an_empty_company_lists_no_one,
            companies::a_tampered_or_foreign_cursor_is_400,
            companies::a_few_members_among_thousands_are_each_listed_once_across_short_pages,
            companies::a_cursor_signed_with_another_secret_is_400_and_one_with_ours_goes_on,
            companies::the_page_size_must_be_1_to_1000,
            decisions::check_decides_on_membership_and_role_naming_the_rule,
            decisions::check_refuses_unknown_roles_and_bad_ids,
            decisions::authzen_evaluation_gives_the_same_decision,
            decisions::authzen_refuses_other_entity_types,
            authzen::authzen_evaluations_take_defaults_from_the_top_level_and_overrides_from_each,
            authzen::authzen_evaluations_semantics_short_circuit_as_the_specification_shows,
            authzen::authzen_evaluations_without_evaluations_answer_one_and_name_what_is_missing,
            authzen::authzen_evaluations_read_each_distinct_subject_once_through_the_cache,
            authzen::authzen_subject_search_pages_through_who_may_act_for_a_company,
            authzen::authzen_resource_search_pages_as_the_specification_example,
            authzen::authzen_action_search_lists_the_roles_held_by_the_role_order,
            authzen::authzen_metadata_names_every_endpoint_under_the_url_asked,
            authzen::authzen_requests_ignore_unknown_members_and_echo_the_request_id,
            errors::a_body_over_128_kib_is_413,
            errors::malformed_json_is_400_naming_the_position,
            errors::an_unknown_field_is_400_naming_the_field,
            errors::a_missing_field_is_400_naming_the_field,
            errors::a_body_that_is_not_json_is_415,
            errors::a_wrong_method_is_405_with_allow,
            errors::an_unknown_route_is_a_404_problem,
            errors::an_invalid_id_in_the_path_is_400_naming_the_rule,
            errors::an_invalid_company_or_role_is_400_naming_the_rule,
            concurrency::concurrent_patches_without_if_match_lose_no_company,
            concurrency::concurrent_read_modify_writes_with_if_match_lose_no_company,
            history::history_lists_each_write_newest_first_with_before_after_and_request_id,
            history::history_pages_go_on_with_next_before,
            history::a_deleted_users_history_stays_readable_and_a_failed_write_adds_nothing,
            history::history_of_an_unknown_user_is_404_and_bad_parameters_are_400,
        );
    };
    (@each $spawn:expr; $($module:ident :: $name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let app = $spawn.await;
                crate::$module::$name(&app).await;
            }
        )+
    };
}

/// The suite on the embedded (redb) store.
mod embedded {
    http_suite!(crate::helpers::TestApp::embedded());
}

/// The suite on the DynamoDB store, each test on its own dynalite and table; and the tests that are
/// about DynamoDB itself (in `dynamodb/`).
mod dynamodb {
    mod binary;
    mod drop_in;
    mod faults;
    mod listing;

    http_suite!(crate::helpers::TestApp::dynalite());
}
