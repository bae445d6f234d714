//! The shared conformance suite of `warden-testkit`, one test per check, each on a fresh schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::Db;

/// Like `warden_testkit::contract_tests!`, but each test skips when no database is configured.
macro_rules! contract_checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(db) = Db::fresh(stringify!($check)).await else {
                    return;
                };
                let store = Arc::new(db.store.clone());
                warden_testkit::contract::$check(store.clone(), store).await;
            }
        )*
    };
}

contract_checks!(
    run_all,
    create_and_find_round_trip,
    create_rejects_taken_email_or_id,
    missing_user_is_none,
    deactivate_applies_audits_and_notifies,
    reactivate_clears_audits_and_notifies,
    refused_changes_write_nothing,
    last_active_admin_is_kept,
    one_of_two_admins_may_go,
    concurrent_identical_changes_apply_once,
    admins_deactivating_each_other_leave_one_active,
    events_are_paged_newest_first,
    claim_respects_due_time_limit_and_age,
    claim_leases_and_counts_attempts,
    retry_later_reschedules,
    sent_and_given_up_are_never_claimed_again,
    stats_count_pending_and_failed,
    concurrent_claims_never_overlap,
);
