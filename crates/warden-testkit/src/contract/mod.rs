//! The conformance suite of the storage ports: every adapter of [`UserRepo`] + [`Outbox`]
//! (SQLite, PostgreSQL, an in-memory fake) MUST pass it.
//!
//! Each check is a `pub async fn(Arc<dyn UserRepo>, Arc<dyn Outbox>)` that panics on the first
//! broken promise, so an adapter can run each one as its own test (see [`crate::contract_tests`])
//! or all of them in sequence with [`run_all`].
//!
//! # What a check may assume about the store
//! - It starts empty, or only earlier checks of this suite ran on it (in sequence, never at the
//!   same time as this one). Every check creates its own users with unique email addresses.
//! - The admin-guard checks need to know every active admin. The suite therefore keeps one admin
//!   of its own, the *sentinel* ([`SENTINEL_EMAIL`]), and every check leaves the store with the
//!   sentinel as the only active admin. Do not run the suite on a store holding admins it did
//!   not create.
//! - The outbox is shared: before a check looks at the outbox it *drains* it (claims everything
//!   due, even far in the future, and gives up on it), so that afterwards every claim returns
//!   only what the check itself enqueued. Outbox counts are compared as differences.
//!
//! Time is passed explicitly: a check simulates time passing by calling `claim_due` with a later
//! `now`; it never sleeps. Timestamps are compared to the microsecond, the finest precision the
//! stores keep. A notification enqueued by `change_status` is due at the change's `at`.

//! The checks are grouped by section, one file each: `accounts.rs`, `status_changes.rs`,
//! `actors.rs`, `roles.rs`, `outbox.rs`, `directory.rs`, `suspensions.rs`, `idempotency.rs` (the
//! [`warden_domain::ports::IdempotencyStore`] checks); `helpers.rs` holds what they share. All
//! checks are re-exported here, so
//! [`crate::contract_tests`] and [`run_all`] name them as `contract::<check>`.

// A conformance suite reports a broken promise by panicking, exactly like a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod actors;
pub mod clients;
pub mod config_changes;
mod directory;
mod helpers;
mod idempotency;
mod jobs;
mod outbox;
pub mod provisioning;
mod roles;
pub mod ssf;
mod status_changes;
mod suspensions;
pub mod webhooks;

pub use accounts::*;
pub use actors::*;
pub use clients::*;
pub use config_changes::*;
pub use directory::*;
pub use idempotency::*;
pub use jobs::*;
pub use outbox::*;
pub use provisioning::*;
pub use roles::*;
pub use ssf::*;
pub use status_changes::*;
pub use suspensions::*;
pub use webhooks::*;

use std::sync::Arc;

use warden_domain::ports::{Outbox, UserRepo};

/// Email of the suite's own admin, which stays the only active admin between checks.
pub const SENTINEL_EMAIL: &str = "contract-sentinel-admin@example.com";

/// Generates one `#[tokio::test]` per check of this suite, plus `run_all` on a single store.
///
/// `$fresh` is an `async fn(test_name: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, G)>`
/// giving a new, empty, migrated store; `G` is kept alive until the test ends (e.g. a temporary
/// directory). `None` skips the test (say why first, e.g. "no database configured").
/// The calling crate needs `tokio` with the `macros`, `time` and `rt-multi-thread` features.
/// Each check fails after 300 s instead of hanging.
#[macro_export]
macro_rules! contract_tests {
    // With a second `async fn(&str) -> Option<(Arc<dyn ClientRepo>, G)>`: the client checks too;
    // with a third `async fn(&str) -> Option<(Arc<dyn IdempotencyStore>, G)>`: the idempotency
    // checks too.
    ($fresh:path, clients: $fresh_clients:path, idempotency: $fresh_keys:path) => {
        $crate::contract_tests!($fresh, clients: $fresh_clients);
        $crate::idempotency_contract_tests!($fresh_keys);
    };
    ($fresh:path, idempotency: $fresh_keys:path) => {
        $crate::contract_tests!($fresh);
        $crate::idempotency_contract_tests!($fresh_keys);
    };
    // With a second `async fn(&str) -> Option<(Arc<dyn ClientRepo>, G)>`: the client checks too.
    ($fresh:path, clients: $fresh_clients:path) => {
        $crate::contract_tests!($fresh);
        $crate::client_contract_tests!($fresh_clients);
    };
    ($fresh:path) => {
        $crate::contract_tests!(@each $fresh;
            run_all,
            create_and_find_round_trip,
            create_rejects_taken_email_or_id,
            missing_user_is_none,
            deactivate_applies_audits_and_notifies,
            reactivate_clears_audits_and_notifies,
            refused_changes_write_nothing,
            last_active_admin_is_kept,
            one_of_two_admins_may_go,
            revoked_actors_change_nothing,
            concurrent_identical_changes_apply_once,
            opposite_changes_racing_on_one_user_never_fail,
            admins_deactivating_each_other_leave_one_active,
            events_are_paged_newest_first,
            the_system_acts_under_the_same_guards,
            unknown_clients_change_nothing,
            claim_respects_due_time_limit_and_age,
            claim_leases_and_counts_attempts,
            retry_later_reschedules,
            sent_and_given_up_are_never_claimed_again,
            stats_count_pending_and_failed,
            concurrent_claims_never_overlap,
            renew_lease_extends_only_unfinished_claims,
            renew_lease_leaves_finished_and_rescheduled_alone,
            purge_deletes_only_sent_before_the_cutoff,
            list_pages_by_status_and_retry_now_requeues,
            retry_now_leaves_a_notification_being_sent_alone,
            retry_now_rechecks_the_actor,
            search_matches_prefixes_case_insensitively,
            search_filters_by_status_and_role,
            search_pages_are_stable_under_inserts,
            audit_log_filters_and_pages_newest_first,
            timed_deactivation_keeps_its_end_until_reactivated,
            due_suspensions_are_listed_earliest_first,
            a_lift_applies_only_while_due,
            concurrent_lifts_apply_once,
            a_helpdesk_changes_only_user_accounts,
            an_actor_of_another_role_than_it_acted_with_changes_nothing,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((users, outbox, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                // A broken guard can make a check wait forever (a race that never settles):
                // that must fail the test, not hang the suite.
                let check = $crate::contract::$check(users, outbox);
                if ::tokio::time::timeout(::std::time::Duration::from_secs(300), check)
                    .await
                    .is_err()
                {
                    panic!("{} did not finish within 300 s", stringify!($check));
                }
            }
        )*
    };
}

/// The checks of [`UserRepo::change_role`], for a store that changes roles (the port's
/// default refuses, for a host that keeps no roles of its own): one `#[tokio::test]` each, on a
/// fresh store from `$fresh` as for [`contract_tests!`].
#[macro_export]
macro_rules! role_change_contract_tests {
    ($fresh:path) => {
        mod role_changes {
            use super::*;
            $crate::contract_tests!(@each $fresh;
                a_role_change_applies_revokes_and_is_audited,
                role_changes_recheck_the_actor_and_keep_the_last_admin,
                admins_demoting_each_other_leave_one_admin,
                a_target_promoted_before_commit_is_out_of_a_helpdesks_reach,
            );
        }
    };
}

/// Every check, in sequence, on one store.
pub async fn run_all(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    // The last-admin check first: on a fresh store it also proves the guard with no history.
    last_active_admin_is_kept(users.clone(), outbox.clone()).await;
    create_and_find_round_trip(users.clone(), outbox.clone()).await;
    create_rejects_taken_email_or_id(users.clone(), outbox.clone()).await;
    missing_user_is_none(users.clone(), outbox.clone()).await;
    deactivate_applies_audits_and_notifies(users.clone(), outbox.clone()).await;
    reactivate_clears_audits_and_notifies(users.clone(), outbox.clone()).await;
    refused_changes_write_nothing(users.clone(), outbox.clone()).await;
    one_of_two_admins_may_go(users.clone(), outbox.clone()).await;
    revoked_actors_change_nothing(users.clone(), outbox.clone()).await;
    concurrent_identical_changes_apply_once(users.clone(), outbox.clone()).await;
    opposite_changes_racing_on_one_user_never_fail(users.clone(), outbox.clone()).await;
    admins_deactivating_each_other_leave_one_active(users.clone(), outbox.clone()).await;
    events_are_paged_newest_first(users.clone(), outbox.clone()).await;
    the_system_acts_under_the_same_guards(users.clone(), outbox.clone()).await;
    unknown_clients_change_nothing(users.clone(), outbox.clone()).await;
    claim_respects_due_time_limit_and_age(users.clone(), outbox.clone()).await;
    claim_leases_and_counts_attempts(users.clone(), outbox.clone()).await;
    retry_later_reschedules(users.clone(), outbox.clone()).await;
    sent_and_given_up_are_never_claimed_again(users.clone(), outbox.clone()).await;
    stats_count_pending_and_failed(users.clone(), outbox.clone()).await;
    concurrent_claims_never_overlap(users.clone(), outbox.clone()).await;
    renew_lease_extends_only_unfinished_claims(users.clone(), outbox.clone()).await;
    renew_lease_leaves_finished_and_rescheduled_alone(users.clone(), outbox.clone()).await;
    purge_deletes_only_sent_before_the_cutoff(users.clone(), outbox.clone()).await;
    list_pages_by_status_and_retry_now_requeues(users.clone(), outbox.clone()).await;
    retry_now_leaves_a_notification_being_sent_alone(users.clone(), outbox.clone()).await;
    retry_now_rechecks_the_actor(users.clone(), outbox.clone()).await;
    search_matches_prefixes_case_insensitively(users.clone(), outbox.clone()).await;
    search_filters_by_status_and_role(users.clone(), outbox.clone()).await;
    search_pages_are_stable_under_inserts(users.clone(), outbox.clone()).await;
    audit_log_filters_and_pages_newest_first(users.clone(), outbox.clone()).await;
    timed_deactivation_keeps_its_end_until_reactivated(users.clone(), outbox.clone()).await;
    due_suspensions_are_listed_earliest_first(users.clone(), outbox.clone()).await;
    a_lift_applies_only_while_due(users.clone(), outbox.clone()).await;
    concurrent_lifts_apply_once(users.clone(), outbox.clone()).await;
    a_helpdesk_changes_only_user_accounts(users.clone(), outbox.clone()).await;
    an_actor_of_another_role_than_it_acted_with_changes_nothing(users, outbox).await;
}
