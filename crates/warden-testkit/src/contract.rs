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

// A conformance suite reports a broken promise by panicking, exactly like a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, TimeDelta, TimeZone, Utc};
use tokio::sync::Barrier;
use uuid::Uuid;
use warden_domain::ports::{
    Outbox, OutboxStatus, PendingNotification, RetryNow, StoreError, UserRepo,
};
use warden_domain::{
    AccountStatus, Actor, ActorKind, AuditEvent, Deactivation, EmailAddress, NewUser, Notification,
    PasswordHash, Reason, Role, StatusAction, StatusChange, StatusChangeOutcome, User, UserId,
};

/// Email of the suite's own admin, which stays the only active admin between checks.
pub const SENTINEL_EMAIL: &str = "contract-sentinel-admin@example.com";

/// Generates one `#[tokio::test]` per check of this suite, plus `run_all` on a single store.
///
/// `$fresh` is an `async fn(test_name: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn Outbox>, G)>`
/// giving a new, empty, migrated store; `G` is kept alive until the test ends (e.g. a temporary
/// directory). `None` skips the test (say why first, e.g. "no database configured").
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! contract_tests {
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
            admins_deactivating_each_other_leave_one_active,
            events_are_paged_newest_first,
            claim_respects_due_time_limit_and_age,
            claim_leases_and_counts_attempts,
            retry_later_reschedules,
            sent_and_given_up_are_never_claimed_again,
            stats_count_pending_and_failed,
            concurrent_claims_never_overlap,
            renew_lease_extends_only_unfinished_claims,
            purge_deletes_only_sent_before_the_cutoff,
            list_pages_by_status_and_retry_now_requeues,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((users, outbox, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(users, outbox).await;
            }
        )*
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
    admins_deactivating_each_other_leave_one_active(users.clone(), outbox.clone()).await;
    events_are_paged_newest_first(users.clone(), outbox.clone()).await;
    claim_respects_due_time_limit_and_age(users.clone(), outbox.clone()).await;
    claim_leases_and_counts_attempts(users.clone(), outbox.clone()).await;
    retry_later_reschedules(users.clone(), outbox.clone()).await;
    sent_and_given_up_are_never_claimed_again(users.clone(), outbox.clone()).await;
    stats_count_pending_and_failed(users.clone(), outbox.clone()).await;
    concurrent_claims_never_overlap(users.clone(), outbox.clone()).await;
    renew_lease_extends_only_unfinished_claims(users.clone(), outbox.clone()).await;
    purge_deletes_only_sent_before_the_cutoff(users.clone(), outbox.clone()).await;
    list_pages_by_status_and_retry_now_requeues(users, outbox).await;
}

// ---------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------

/// `create` stores a new, active account with `token_version` 0 and returns it; `find_by_id`,
/// `find_by_email` and `find_credentials` return it unchanged (every field, timestamps to the
/// microsecond, both roles, non-ASCII names, a blank first name) with its password hash.
pub async fn create_and_find_round_trip(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let created_at =
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 34, 56).unwrap() + TimeDelta::microseconds(789);
    for (role, first_name, last_name) in [
        (Role::User, "Zoë", "Ōkubo-Lovelace"),
        (Role::Admin, "", "Hopper"),
    ] {
        let new = NewUser {
            first_name: first_name.into(),
            last_name: last_name.into(),
            created_at,
            ..new_user(role)
        };
        let expected = User {
            id: new.id,
            email: new.email.clone(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            role,
            status: AccountStatus::Active,
            token_version: 0,
            created_at,
            updated_at: created_at,
        };
        let created = users.create(new.clone()).await.expect("create");
        assert_eq!(created, expected, "create returns the stored account");
        assert_eq!(
            users.find_by_id(&new.id).await.expect("find_by_id"),
            Some(expected.clone())
        );
        assert_eq!(
            users
                .find_by_email(&new.email)
                .await
                .expect("find_by_email"),
            Some(expected.clone())
        );
        let (user, hash) = users
            .find_credentials(&new.email)
            .await
            .expect("find_credentials")
            .expect("credentials of a stored account");
        assert_eq!(user, expected);
        assert_eq!(hash.as_str(), new.password_hash.as_str());
        if role == Role::Admin {
            retire(&*users, &created).await;
        }
    }
}

/// A taken email address or a taken id is a [`StoreError::Conflict`], and nothing is stored.
pub async fn create_rejects_taken_email_or_id(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let first = create(&*users, Role::User, "Ada").await;

    let same_email = NewUser {
        email: first.email.clone(),
        ..new_user(Role::User)
    };
    let result = users.create(same_email.clone()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "taken email: {result:?}"
    );
    assert_eq!(users.find_by_id(&same_email.id).await.expect("find"), None);

    let same_id = NewUser {
        id: first.id,
        ..new_user(Role::User)
    };
    let result = users.create(same_id.clone()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "taken id: {result:?}"
    );
    assert_eq!(
        users.find_by_email(&same_id.email).await.expect("find"),
        None
    );
    assert_eq!(
        users.find_by_id(&first.id).await.expect("find"),
        Some(first),
        "the first account is untouched"
    );
}

/// Unknown ids and addresses are `Ok(None)`, and an unknown user has no events.
pub async fn missing_user_is_none(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let id = UserId::generate();
    let email = unique_email();
    assert_eq!(users.find_by_id(&id).await.expect("find_by_id"), None);
    assert_eq!(
        users.find_by_email(&email).await.expect("find_by_email"),
        None
    );
    assert!(users
        .find_credentials(&email)
        .await
        .expect("find_credentials")
        .is_none());
    assert_eq!(
        users.events(&id, None, 10).await.expect("events"),
        Vec::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Status changes
// ---------------------------------------------------------------------------------------------

/// Deactivation sets the status (at, by, reason), `updated_at` and bumps `token_version` by one;
/// records exactly one audit event and enqueues exactly one notification, due at `at`,
/// addressed to the user and greeting them by their display name.
pub async fn deactivate_applies_audits_and_notifies(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let target = create(&*users, Role::User, "Ada").await;
    drain(&*outbox).await;

    let at = now();
    let change = change(
        StatusAction::Deactivate,
        &target,
        &admin,
        reason("Repeated abuse & <spam>"),
        at,
    );
    let applied = applied(users.change_status(change.clone()).await);
    let expected = User {
        status: AccountStatus::Deactivated(Deactivation {
            at,
            by: Some(admin.id),
            reason: change.reason.clone(),
        }),
        token_version: target.token_version + 1,
        updated_at: at,
        ..target.clone()
    };
    assert_eq!(applied, expected, "Applied carries the user as it is now");
    assert_eq!(
        users.find_by_id(&target.id).await.expect("find_by_id"),
        Some(expected.clone())
    );
    let (with_credentials, _) = users
        .find_credentials(&target.email)
        .await
        .expect("find_credentials")
        .expect("a deactivated account still has credentials");
    assert_eq!(with_credentials, expected);

    assert_eq!(
        users.events(&target.id, None, 10).await.expect("events"),
        vec![event_of(&change)],
        "exactly one audit event"
    );

    assert_eq!(
        claim(&*outbox, at - micro(), 100).await,
        Vec::new(),
        "a notification is not due before the change's time"
    );
    let claimed = claim(&*outbox, at, 100).await;
    assert_eq!(
        claimed,
        vec![PendingNotification {
            notification: notification_of(&change, &expected),
            attempts: 1,
        }],
        "exactly one notification, due at the change's time"
    );
    finish(&*outbox, &claimed).await;
}

/// Reactivation clears the deactivation, sets `updated_at`, bumps `token_version` again, and
/// records its own event and notification (greeting by email when the first name is blank).
pub async fn reactivate_clears_audits_and_notifies(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let target = create(&*users, Role::User, "  ").await;
    let t0 = now();
    let off = change(StatusAction::Deactivate, &target, &admin, None, t0);
    applied(users.change_status(off.clone()).await);
    drain(&*outbox).await;

    let t1 = t0 + TimeDelta::seconds(90);
    let on = change(
        StatusAction::Reactivate,
        &target,
        &admin,
        reason("Appeal accepted"),
        t1,
    );
    let user = applied(users.change_status(on.clone()).await);
    let expected = User {
        status: AccountStatus::Active,
        token_version: target.token_version + 2,
        updated_at: t1,
        ..target.clone()
    };
    assert_eq!(user, expected);
    assert_eq!(
        users.find_by_id(&target.id).await.expect("find_by_id"),
        Some(expected.clone())
    );
    assert_eq!(
        users.events(&target.id, None, 10).await.expect("events"),
        vec![event_of(&on), event_of(&off)]
    );

    let claimed = claim(&*outbox, t1, 100).await;
    let notification = notification_of(&on, &expected);
    assert_eq!(notification.name, target.email.as_str());
    assert_eq!(
        claimed,
        vec![PendingNotification {
            notification,
            attempts: 1,
        }]
    );
    finish(&*outbox, &claimed).await;
}

/// `NotFound` and `AlreadyInState` write nothing: no state change, no token bump, no event, no
/// notification.
pub async fn refused_changes_write_nothing(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let admin = sentinel(&*users).await;
    let target = create(&*users, Role::User, "Grace").await;
    let nobody = new_user(Role::User);
    let nobody = User {
        id: nobody.id,
        email: nobody.email,
        first_name: nobody.first_name,
        last_name: nobody.last_name,
        role: nobody.role,
        status: AccountStatus::Active,
        token_version: 0,
        created_at: nobody.created_at,
        updated_at: nobody.created_at,
    };
    drain(&*outbox).await;
    let t0 = now();

    for action in [StatusAction::Deactivate, StatusAction::Reactivate] {
        let outcome = users
            .change_status(change(action, &nobody, &admin, reason("gone"), t0))
            .await
            .expect("change_status");
        assert_eq!(outcome, StatusChangeOutcome::NotFound, "{action:?}");
    }

    let outcome = users
        .change_status(change(StatusAction::Reactivate, &target, &admin, None, t0))
        .await
        .expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::AlreadyInState);
    assert_eq!(
        users.find_by_id(&target.id).await.expect("find"),
        Some(target.clone()),
        "reactivating an active account changes nothing"
    );
    assert_eq!(
        users.events(&target.id, None, 10).await.expect("events"),
        []
    );

    let first = change(
        StatusAction::Deactivate,
        &target,
        &admin,
        reason("first"),
        t0 + TimeDelta::seconds(1),
    );
    let after_first = applied(users.change_status(first.clone()).await);
    let again = change(
        StatusAction::Deactivate,
        &target,
        &admin,
        reason("second"),
        t0 + TimeDelta::seconds(2),
    );
    let outcome = users.change_status(again).await.expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::AlreadyInState);
    assert_eq!(
        users.find_by_id(&target.id).await.expect("find"),
        Some(after_first),
        "deactivating a deactivated account changes nothing (token_version included)"
    );
    assert_eq!(
        users.events(&target.id, None, 10).await.expect("events"),
        vec![event_of(&first)]
    );

    let claimed = claim_everything(&*outbox).await;
    assert_eq!(
        ids_of(&claimed),
        vec![first.notification_id],
        "only the applied change was notified"
    );
    finish(&*outbox, &claimed).await;
}

/// Deactivating the only active admin is refused with `LastActiveAdmin` and writes nothing;
/// deactivated admins do not count, and deactivating one again is `AlreadyInState`.
pub async fn last_active_admin_is_kept(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let last = sentinel(&*users).await;
    let former = create(&*users, Role::Admin, "Former").await;
    retire(&*users, &former).await;
    drain(&*outbox).await;
    let events_before = users.events(&last.id, None, 1000).await.expect("events");

    let t0 = now();
    // The only admin who could still try is the last one itself (the domain refuses self-
    // deactivation before the store, but the store's guard must hold on its own).
    let refused = change(
        StatusAction::Deactivate,
        &last,
        &last,
        reason("last one"),
        t0,
    );
    let outcome = users
        .change_status(refused.clone())
        .await
        .expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::LastActiveAdmin);
    assert_eq!(
        users.find_by_id(&last.id).await.expect("find"),
        Some(last.clone()),
        "the last active admin is untouched"
    );
    assert_eq!(
        users.events(&last.id, None, 1000).await.expect("events"),
        events_before,
        "a refused change records no event"
    );

    let outcome = users
        .change_status(change(StatusAction::Deactivate, &former, &last, None, t0))
        .await
        .expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::AlreadyInState);

    assert_eq!(
        claim_everything(&*outbox).await,
        Vec::new(),
        "refused changes enqueue nothing"
    );
}

/// With two active admins either may be deactivated; then the other is the last one.
pub async fn one_of_two_admins_may_go(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let sentinel = sentinel(&*users).await;
    let other = create(&*users, Role::Admin, "Alan").await;
    let t0 = now();

    let gone = applied(
        users
            .change_status(change(
                StatusAction::Deactivate,
                &sentinel,
                &other,
                None,
                t0,
            ))
            .await,
    );
    assert!(!gone.is_active());
    // `other` is now the last active admin (the store's guard, even against itself).
    let outcome = users
        .change_status(change(StatusAction::Deactivate, &other, &other, None, t0))
        .await
        .expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::LastActiveAdmin);

    let back = change(
        StatusAction::Reactivate,
        &sentinel,
        &other,
        None,
        t0 + TimeDelta::seconds(1),
    );
    assert!(applied(users.change_status(back).await).is_active());
    retire(&*users, &other).await;
}

/// Concurrent identical changes yield exactly one `Applied` (the rest `AlreadyInState`), one
/// event and one notification: 20 clones of one deactivation, then 20 reactivations that differ
/// only in their event and notification ids (as when several admins click at once).
pub async fn concurrent_identical_changes_apply_once(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    const TASKS: usize = 20;
    let admin = sentinel(&*users).await;
    let target = create(&*users, Role::User, "Ada").await;
    drain(&*outbox).await;
    let t0 = now();

    let off = change(
        StatusAction::Deactivate,
        &target,
        &admin,
        reason("race"),
        t0,
    );
    let offs = vec![off.clone(); TASKS];
    let ons: Vec<_> = (0..TASKS)
        .map(|_| {
            change(
                StatusAction::Reactivate,
                &target,
                &admin,
                None,
                t0 + TimeDelta::seconds(1),
            )
        })
        .collect();

    let mut applied_ids = Vec::new();
    for (round, changes) in [("deactivate", offs), ("reactivate", ons)] {
        let outcomes = race(&users, changes.clone()).await;
        let mut applied = Vec::new();
        for (change, outcome) in changes.iter().zip(outcomes) {
            match outcome {
                StatusChangeOutcome::Applied(_) => applied.push(change.clone()),
                StatusChangeOutcome::AlreadyInState => {}
                other => panic!("{round}: unexpected outcome {other:?}"),
            }
        }
        assert_eq!(applied.len(), 1, "{round}: exactly one change is applied");
        applied_ids.push((applied[0].event_id, applied[0].notification_id));
    }

    let user = users
        .find_by_id(&target.id)
        .await
        .expect("find")
        .expect("user");
    assert!(user.is_active());
    assert_eq!(user.token_version, target.token_version + 2);
    let events = users.events(&target.id, None, 100).await.expect("events");
    assert_eq!(
        events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![applied_ids[1].0, applied_ids[0].0]
    );
    let claimed = claim_everything(&*outbox).await;
    let mut expected: Vec<_> = applied_ids.iter().map(|ids| ids.1).collect();
    expected.sort();
    let mut got = ids_of(&claimed);
    got.sort();
    assert_eq!(got, expected, "one notification per applied change");
    finish(&*outbox, &claimed).await;
}

/// The actor's authority is re-checked when the change commits: an actor that is no longer an
/// active admin on the token version it acted with (its tokens revoked by a status change since,
/// deactivated, or not an admin) gets `ActorRevoked` and writes nothing, whatever the target's
/// state; only a missing target is reported first, as `NotFound`. An operator's change records
/// its kind and name.
pub async fn revoked_actors_change_nothing(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let boss = sentinel(&*users).await;
    let stale = create(&*users, Role::Admin, "Stale").await;
    let member = create(&*users, Role::User, "Member").await;
    let active = create(&*users, Role::User, "Active").await;
    let inactive = create(&*users, Role::User, "Inactive").await;
    let t0 = now();
    let inactive = applied(
        users
            .change_status(change(StatusAction::Deactivate, &inactive, &boss, None, t0))
            .await,
    );
    // Revoke `stale`'s tokens (off and on again): its old version no longer holds.
    let off = change(StatusAction::Deactivate, &stale, &boss, None, t0);
    let gone = applied(users.change_status(off).await);
    let on = change(StatusAction::Reactivate, &stale, &boss, None, t0);
    let current = applied(users.change_status(on).await);
    assert_eq!(current.token_version, stale.token_version + 2);
    drain(&*outbox).await;

    let nobody = User {
        id: UserId::generate(),
        ..active.clone()
    };
    for (who, actor) in [
        ("a revoked token version", &stale),
        ("a deactivated admin", &gone),
        ("a non-admin", &member),
    ] {
        for (action, target) in [
            (StatusAction::Deactivate, &active),
            (StatusAction::Reactivate, &inactive),
            (StatusAction::Deactivate, &inactive),
            (StatusAction::Reactivate, &active),
        ] {
            let outcome = users
                .change_status(change(action, target, actor, reason("held"), now()))
                .await
                .expect("change_status");
            assert_eq!(
                outcome,
                StatusChangeOutcome::ActorRevoked,
                "{who}: {action:?} of an {} user",
                if target.is_active() {
                    "active"
                } else {
                    "inactive"
                }
            );
            assert_eq!(
                users.find_by_id(&target.id).await.expect("find").as_ref(),
                Some(target),
                "{who}: the target is untouched"
            );
        }
        let outcome = users
            .change_status(change(
                StatusAction::Deactivate,
                &nobody,
                actor,
                None,
                now(),
            ))
            .await
            .expect("change_status");
        assert_eq!(outcome, StatusChangeOutcome::NotFound, "{who}: no target");
    }
    for target in [&active, &inactive] {
        assert_eq!(
            users
                .events(&target.id, None, 10)
                .await
                .expect("events")
                .len(),
            usize::from(target.id == inactive.id),
            "refused changes record no event"
        );
    }
    assert_eq!(
        claim_everything(&*outbox).await,
        Vec::new(),
        "refused changes enqueue nothing"
    );

    // The same admin on its current version may act; as an operator, that is recorded.
    let mut by_operator = change(StatusAction::Deactivate, &active, &current, None, now());
    by_operator.actor.kind = ActorKind::Operator;
    by_operator.actor.name = "ops-oncall".into();
    applied(users.change_status(by_operator.clone()).await);
    let events = users.events(&active.id, None, 10).await.expect("events");
    assert_eq!(events, vec![event_of(&by_operator)]);
    assert_eq!(
        (events[0].actor.kind, events[0].actor.name.as_str()),
        (ActorKind::Operator, "ops-oncall")
    );
    let claimed = claim_everything(&*outbox).await;
    assert_eq!(ids_of(&claimed), vec![by_operator.notification_id]);
    finish(&*outbox, &claimed).await;
    retire(&*users, &current).await;
}

/// Two active admins deactivating each other at the same moment, in a store with no other
/// active admin, leave at least one of them active (repeated with fresh pairs); a refused side
/// writes nothing.
pub async fn admins_deactivating_each_other_leave_one_active(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let sentinel = sentinel(&*users).await;
    for round in 0..5 {
        let a = create(&*users, Role::Admin, "Alice").await;
        let b = create(&*users, Role::Admin, "Bob").await;
        let t0 = now();
        // Step the sentinel aside so that `a` and `b` are the only active admins.
        applied(
            users
                .change_status(change(StatusAction::Deactivate, &sentinel, &a, None, t0))
                .await,
        );
        drain(&*outbox).await;

        let a_off_b = change(StatusAction::Deactivate, &b, &a, reason("mutiny"), t0);
        let b_off_a = change(StatusAction::Deactivate, &a, &b, reason("mutiny"), t0);
        let outcomes = race(&users, vec![a_off_b.clone(), b_off_a.clone()]).await;

        let a_now = users.find_by_id(&a.id).await.expect("find").expect("a");
        let b_now = users.find_by_id(&b.id).await.expect("find").expect("b");
        assert!(
            a_now.is_active() || b_now.is_active(),
            "round {round}: both admins were deactivated ({outcomes:?})"
        );
        let mut notified = Vec::new();
        for (change, outcome, target_now) in [
            (&a_off_b, &outcomes[0], &b_now),
            (&b_off_a, &outcomes[1], &a_now),
        ] {
            let events = users
                .events(&change.target, None, 10)
                .await
                .expect("events");
            match outcome {
                StatusChangeOutcome::Applied(user) => {
                    assert_eq!(**user, *target_now, "round {round}");
                    assert!(!target_now.is_active(), "round {round}");
                    assert_eq!(events, vec![event_of(change)], "round {round}");
                    notified.push(change.notification_id);
                }
                // The loser finds itself deactivated (its authority is gone) or, had it gone
                // first, the last admin standing.
                StatusChangeOutcome::LastActiveAdmin | StatusChangeOutcome::ActorRevoked => {
                    assert!(target_now.is_active(), "round {round}");
                    assert_eq!(target_now.token_version, 0, "round {round}");
                    assert_eq!(events, Vec::new(), "round {round}: refused, yet audited");
                }
                other => panic!("round {round}: unexpected outcome {other:?}"),
            }
        }
        let mut claimed_ids = ids_of(&claim_everything(&*outbox).await);
        claimed_ids.sort();
        notified.sort();
        assert_eq!(
            claimed_ids, notified,
            "round {round}: one notification per Applied"
        );

        // Put the sentinel back as the only active admin.
        let survivor = if a_now.is_active() { &a_now } else { &b_now };
        let back = change(
            StatusAction::Reactivate,
            &sentinel,
            survivor,
            None,
            t0 + TimeDelta::seconds(1),
        );
        applied(users.change_status(back).await);
        for admin in [&a_now, &b_now] {
            if admin.is_active() {
                retire(&*users, admin).await;
            }
        }
        drain(&*outbox).await;
    }
}

/// `events` lists one user's trail newest first, honours `limit`, continues strictly after the
/// `after` cursor, and is empty for an unknown user.
pub async fn events_are_paged_newest_first(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let admin = sentinel(&*users).await;
    let target = create(&*users, Role::User, "Ada").await;
    let other = create(&*users, Role::User, "Grace").await;
    let t0 = now();

    let mut expected = Vec::new();
    for step in 0..5 {
        let action = if step % 2 == 0 {
            StatusAction::Deactivate
        } else {
            StatusAction::Reactivate
        };
        let why = (step != 1).then(|| format!("step {step}"));
        let change = change(
            action,
            &target,
            &admin,
            why.and_then(|w| reason(&w)),
            t0 + TimeDelta::seconds(step),
        );
        applied(users.change_status(change.clone()).await);
        expected.push(event_of(&change));
    }
    let elsewhere = change(StatusAction::Deactivate, &other, &admin, None, t0);
    applied(users.change_status(elsewhere.clone()).await);
    expected.reverse();

    let events = |after: Option<Uuid>, limit: u32| {
        let users = users.clone();
        async move {
            users
                .events(&target.id, after, limit)
                .await
                .expect("events")
        }
    };
    assert_eq!(events(None, 100).await, expected, "newest first");
    assert_eq!(events(None, 2).await, expected[..2], "limit");
    assert_eq!(
        events(Some(expected[1].id), 2).await,
        expected[2..4],
        "after is an exclusive cursor"
    );
    assert_eq!(events(Some(expected[3].id), 10).await, expected[4..]);
    assert_eq!(events(Some(expected[4].id), 10).await, Vec::new());
    assert_eq!(
        users.events(&other.id, None, 10).await.expect("events"),
        vec![event_of(&elsewhere)],
        "each user has their own trail"
    );
    assert_eq!(
        users
            .events(&UserId::generate(), None, 10)
            .await
            .expect("events"),
        Vec::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------------

/// `claim_due` returns only notifications due at `now` (a notification is due at its change's
/// time, to the microsecond), at most `limit` of them, oldest first.
pub async fn claim_respects_due_time_limit_and_age(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 4, |i| t0 + TimeDelta::seconds(i)).await;
    let lease = t0 + TimeDelta::hours(1);
    let claim_ids = |now: DateTime<Utc>, limit: u32| {
        let outbox = outbox.clone();
        async move {
            let claimed = outbox
                .claim_due(now, lease, limit)
                .await
                .expect("claim_due");
            ids_of(&claimed)
        }
    };

    assert_eq!(
        claim_ids(t0 - micro(), 10).await,
        Vec::<Uuid>::new(),
        "nothing due yet"
    );
    assert_eq!(claim_ids(t0, 10).await, [ids[0]], "due exactly at its time");
    let later = t0 + TimeDelta::seconds(10);
    assert_eq!(
        claim_ids(later, 2).await,
        [ids[1], ids[2]],
        "limit, oldest first"
    );
    assert_eq!(claim_ids(later, 2).await, [ids[3]]);
    assert_eq!(claim_ids(later, 2).await, Vec::<Uuid>::new(), "all leased");
    for id in ids {
        outbox.mark_sent(id, later).await.expect("mark_sent");
    }
}

/// A claim leases its notifications until `lease_until`: they are not claimed again before
/// then, but are from then on (a crashed worker loses nothing); every claim counts an attempt,
/// starting at 1.
pub async fn claim_leases_and_counts_attempts(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let t0 = now();
    let id = enqueue(&*users, &*outbox, 1, |_| t0).await[0];

    let lease1 = t0 + TimeDelta::seconds(60);
    let first = outbox.claim_due(t0, lease1, 10).await.expect("claim_due");
    assert_eq!(ids_of(&first), [id]);
    assert_eq!(first[0].attempts, 1, "the first claim is attempt 1");

    for now in [t0, t0 + TimeDelta::seconds(30), lease1 - micro()] {
        assert_eq!(
            claim(&*outbox, now, 10).await,
            Vec::new(),
            "leased until {lease1}, claimed at {now}"
        );
    }

    let lease2 = lease1 + TimeDelta::seconds(60);
    let second = outbox
        .claim_due(lease1, lease2, 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&second), [id], "due again when the lease ends");
    assert_eq!(second[0].attempts, 2);
    assert_eq!(second[0].notification, first[0].notification);

    let much_later = lease2 + TimeDelta::hours(1);
    let third = claim(&*outbox, much_later, 10).await;
    assert_eq!(ids_of(&third), [id]);
    assert_eq!(third[0].attempts, 3);
    outbox.mark_sent(id, much_later).await.expect("mark_sent");
}

/// `renew_lease` moves the lease end of unfinished claims, so a live worker keeps them; it leaves
/// sent entries (and unknown ids) alone.
pub async fn renew_lease_extends_only_unfinished_claims(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 2, |_| t0).await;
    let (kept, sent) = (ids[0], ids[1]);
    let lease = t0 + TimeDelta::seconds(15);
    let claimed = outbox.claim_due(t0, lease, 10).await.expect("claim_due");
    assert_eq!(ids_of(&claimed).len(), 2);
    outbox.mark_sent(sent, t0).await.expect("mark_sent");

    let renewed = t0 + TimeDelta::seconds(40);
    outbox
        .renew_lease(&[kept, sent, Uuid::now_v7()], renewed)
        .await
        .expect("renew_lease");
    outbox
        .renew_lease(&[], renewed)
        .await
        .expect("renew_lease of nothing");

    assert_eq!(
        claim(&*outbox, renewed - micro(), 10).await,
        Vec::new(),
        "renewed until {renewed}: not due at the old lease end {lease} nor after it"
    );
    let again = claim(&*outbox, renewed, 10).await;
    assert_eq!(
        ids_of(&again),
        [kept],
        "due when the renewed lease ends; the sent one never"
    );
    assert_eq!(again[0].attempts, 2, "a renewal is not an attempt");
    finish(&*outbox, &again).await;
}

/// `purge_sent` deletes sent entries older than the cutoff, oldest first and at most `limit`
/// per call; pending and given-up entries stay whatever their age.
pub async fn purge_deletes_only_sent_before_the_cutoff(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let cutoff = now() - TimeDelta::days(30);
    let old = cutoff - TimeDelta::days(10);
    let ids = enqueue(&*users, &*outbox, 5, |i| old + TimeDelta::seconds(i)).await;
    let before = outbox.stats().await.expect("stats");
    let claimed = claim(&*outbox, old + TimeDelta::seconds(10), 10).await;
    assert_eq!(ids_of(&claimed), ids);
    outbox.mark_sent(ids[0], old).await.expect("mark_sent");
    outbox
        .mark_sent(ids[1], cutoff - micro())
        .await
        .expect("mark_sent");
    outbox.mark_sent(ids[2], cutoff).await.expect("mark_sent"); // not before the cutoff
    outbox
        .give_up(ids[3], old, "550 no such user")
        .await
        .expect("give_up");
    outbox
        .retry_later(ids[4], old, "451 later")
        .await
        .expect("retry_later");

    assert_eq!(outbox.purge_sent(cutoff, 0).await.expect("purge_sent"), 0);
    assert_eq!(outbox.purge_sent(cutoff, 1).await.expect("purge_sent"), 1);
    assert_eq!(outbox.purge_sent(cutoff, 10).await.expect("purge_sent"), 1);
    assert_eq!(outbox.purge_sent(cutoff, 10).await.expect("purge_sent"), 0);

    let after = outbox.stats().await.expect("stats");
    assert_eq!(after.failed, before.failed + 1, "given-up entries are kept");
    assert_eq!(
        after.pending,
        before.pending - 4,
        "one pending left: the rescheduled one"
    );
    let left = claim(&*outbox, old, 10).await;
    assert_eq!(ids_of(&left), [ids[4]], "a pending entry is never purged");
    finish(&*outbox, &left).await;
    assert_eq!(
        outbox
            .purge_sent(cutoff + micro(), 10)
            .await
            .expect("purge_sent"),
        1,
        "the one sent at the cutoff goes once the cutoff passes it"
    );
}

/// `list` returns the entries in a status newest first, paged by id; `retry_now` makes a
/// pending or failed entry due now (a failed one pending again) and refuses a sent one.
pub async fn list_pages_by_status_and_retry_now_requeues(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 3, |_| t0).await;
    let claimed = claim(&*outbox, t0, 10).await;
    assert_eq!(ids_of(&claimed).len(), 3);
    outbox
        .give_up(ids[0], t0, "550 5.1.1 No such mailbox")
        .await
        .expect("give_up");
    outbox
        .give_up(ids[1], t0, "451 later")
        .await
        .expect("give_up");
    outbox.mark_sent(ids[2], t0).await.expect("mark_sent");

    let failed = outbox
        .list(OutboxStatus::Failed, None, 1)
        .await
        .expect("list");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].notification.id, ids[1],
        "newest (highest id) first"
    );
    assert_eq!(failed[0].status, OutboxStatus::Failed);
    assert_eq!(failed[0].attempts, 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("451 later"));
    let next = outbox
        .list(OutboxStatus::Failed, Some(ids[1]), 1)
        .await
        .expect("list");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].notification.id, ids[0], "the page after the cursor");
    let sent = outbox
        .list(OutboxStatus::Sent, None, 100)
        .await
        .expect("list");
    assert!(sent.iter().any(|e| e.notification.id == ids[2]));
    assert!(sent.iter().all(|e| e.status == OutboxStatus::Sent));

    let later = t0 + TimeDelta::minutes(5);
    assert_eq!(
        outbox.retry_now(ids[0], later).await.expect("retry_now"),
        RetryNow::Queued
    );
    assert_eq!(
        outbox.retry_now(ids[2], later).await.expect("retry_now"),
        RetryNow::AlreadySent
    );
    assert_eq!(
        outbox
            .retry_now(Uuid::now_v7(), later)
            .await
            .expect("retry_now"),
        RetryNow::NotFound
    );
    let pending = outbox
        .list(OutboxStatus::Pending, None, 100)
        .await
        .expect("list");
    let requeued = pending
        .iter()
        .find(|e| e.notification.id == ids[0])
        .expect("a retried failure is pending again");
    assert_eq!(requeued.next_attempt_at, later);
    let again = claim(&*outbox, later, 10).await;
    assert_eq!(ids_of(&again), [ids[0]], "due at once");
    finish(&*outbox, &again).await;
}

/// `retry_later` makes a notification due again at `next_attempt_at`, neither sooner (even
/// once the claim's lease has ended) nor later (even while the lease runs).
pub async fn retry_later_reschedules(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let t0 = now();
    let id = enqueue(&*users, &*outbox, 1, |_| t0).await[0];

    let claimed = outbox
        .claim_due(t0, t0 + TimeDelta::seconds(60), 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&claimed), [id]);
    let next = t0 + TimeDelta::minutes(10);
    outbox
        .retry_later(id, next, "421 try again later")
        .await
        .expect("retry_later");
    for now in [t0 + TimeDelta::minutes(5), next - micro()] {
        assert_eq!(
            claim(&*outbox, now, 10).await,
            Vec::new(),
            "claimed at {now}"
        );
    }
    let again = outbox
        .claim_due(next, next + TimeDelta::hours(1), 10)
        .await
        .expect("claim_due");
    assert_eq!(ids_of(&again), [id], "due at next_attempt_at");
    assert_eq!(again[0].attempts, 2);

    // Rescheduling inside the lease: due at the new time, not at the end of the lease.
    let soon = next + TimeDelta::seconds(5);
    outbox
        .retry_later(id, soon, "421 still busy")
        .await
        .expect("retry_later");
    let third = claim(&*outbox, soon, 10).await;
    assert_eq!(ids_of(&third), [id]);
    assert_eq!(third[0].attempts, 3);
    outbox.mark_sent(id, soon).await.expect("mark_sent");
}

/// Notifications marked sent or given up on are never claimed again, whatever the time.
pub async fn sent_and_given_up_are_never_claimed_again(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 3, |_| t0).await;
    let claimed = claim(&*outbox, t0, 10).await;
    assert_eq!(ids_of(&claimed).len(), 3);

    let done = t0 + TimeDelta::seconds(1);
    outbox.mark_sent(ids[0], done).await.expect("mark_sent");
    outbox
        .give_up(ids[1], done, "550 no such mailbox")
        .await
        .expect("give_up");
    // Finished without a claim in between: a rescheduled one given up on.
    outbox
        .retry_later(ids[2], done, "421 busy")
        .await
        .expect("retry_later");
    outbox
        .give_up(ids[2], done, "too many attempts")
        .await
        .expect("give_up");

    for now in [done, t0 + TimeDelta::hours(1), far_future()] {
        assert_eq!(
            claim(&*outbox, now, 100).await,
            Vec::new(),
            "claimed at {now}"
        );
    }
}

/// `stats` counts undelivered notifications still being tried (leased or not) as pending and
/// given-up ones as failed.
pub async fn stats_count_pending_and_failed(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    drain(&*outbox).await;
    let base = outbox.stats().await.expect("stats");
    let expect = |pending: u64, failed: u64, when: &'static str| {
        let outbox = outbox.clone();
        async move {
            let stats = outbox.stats().await.expect("stats");
            assert_eq!(
                (stats.pending, stats.failed),
                (base.pending + pending, base.failed + failed),
                "{when}"
            );
        }
    };

    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 3, |_| t0).await;
    expect(3, 0, "after enqueueing three").await;
    assert_eq!(ids_of(&claim(&*outbox, t0, 10).await).len(), 3);
    expect(3, 0, "leased ones are still pending").await;
    let later = t0 + TimeDelta::seconds(1);
    outbox.mark_sent(ids[0], later).await.expect("mark_sent");
    expect(2, 0, "after one was sent").await;
    outbox.give_up(ids[1], later, "550").await.expect("give_up");
    expect(1, 1, "after one was given up on").await;
    outbox
        .retry_later(ids[2], later, "421")
        .await
        .expect("retry_later");
    expect(1, 1, "a rescheduled one is still pending").await;
    outbox.mark_sent(ids[2], later).await.expect("mark_sent");
    expect(0, 1, "after the last was sent").await;
}

/// Several workers claiming at once never get the same notification twice, and together get
/// every due one.
pub async fn concurrent_claims_never_overlap(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    const WORKERS: usize = 6;
    let t0 = now();
    let ids = enqueue(&*users, &*outbox, 12, |_| t0).await;

    let barrier = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let outbox = outbox.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                loop {
                    let batch = outbox
                        .claim_due(t0, t0 + TimeDelta::hours(1), 2)
                        .await
                        .expect("claim_due");
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch);
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.expect("worker task"));
    }

    let claimed_ids = ids_of(&claimed);
    let unique: HashSet<_> = claimed_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        claimed_ids.len(),
        "a notification was claimed twice"
    );
    assert_eq!(unique, ids.iter().copied().collect::<HashSet<_>>());
    assert!(claimed.iter().all(|p| p.attempts == 1));
    finish(&*outbox, &claimed).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The current time at the stores' precision (microseconds).
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn micro() -> TimeDelta {
    TimeDelta::microseconds(1)
}

/// Later than any time a check uses, so a claim at this time finds everything undelivered.
fn far_future() -> DateTime<Utc> {
    now() + TimeDelta::days(3650)
}

fn unique_email() -> EmailAddress {
    EmailAddress::parse(&format!("{}@example.com", Uuid::now_v7().simple())).expect("email")
}

fn reason(text: &str) -> Option<Reason> {
    Reason::parse(text).expect("reason")
}

fn new_user(role: Role) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: unique_email(),
        password_hash: PasswordHash::new(format!(
            "$argon2id$v=19$m=19456,t=2,p=1${}",
            Uuid::now_v7().simple()
        )),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role,
        created_at: now(),
    }
}

async fn create(users: &dyn UserRepo, role: Role, first_name: &str) -> User {
    let new = NewUser {
        first_name: first_name.into(),
        ..new_user(role)
    };
    users.create(new).await.expect("create")
}

/// The suite's own admin, active; created on first use.
async fn sentinel(users: &dyn UserRepo) -> User {
    let email = EmailAddress::parse(SENTINEL_EMAIL).expect("email");
    let found = users.find_by_email(&email).await.expect("find_by_email");
    let user = match found {
        Some(user) => user,
        None => users
            .create(NewUser {
                email,
                first_name: "Sentinel".into(),
                ..new_user(Role::Admin)
            })
            .await
            .expect("create the sentinel admin"),
    };
    assert!(
        user.is_active(),
        "the sentinel admin was left deactivated by a check that failed half-way"
    );
    user
}

/// Deactivates an admin the check created, so that the sentinel is again the only active one.
async fn retire(users: &dyn UserRepo, admin: &User) {
    let sentinel = sentinel(users).await;
    let off = change(StatusAction::Deactivate, admin, &sentinel, None, now());
    applied(users.change_status(off).await);
}

fn change(
    action: StatusAction,
    target: &User,
    actor: &User,
    reason: Option<Reason>,
    at: DateTime<Utc>,
) -> StatusChange {
    StatusChange {
        action,
        target: target.id,
        actor: actor_of(actor),
        reason,
        at,
        event_id: Uuid::now_v7(),
        notification_id: Uuid::now_v7(),
    }
}

/// `user` acting over the API on its current token version.
fn actor_of(user: &User) -> Actor {
    Actor {
        kind: ActorKind::User,
        id: user.id,
        name: user.email.to_string(),
        token_version: user.token_version,
    }
}

fn applied(outcome: Result<StatusChangeOutcome, StoreError>) -> User {
    match outcome.expect("change_status") {
        StatusChangeOutcome::Applied(user) => *user,
        other => panic!("expected Applied, got {other:?}"),
    }
}

fn event_of(change: &StatusChange) -> AuditEvent {
    AuditEvent {
        id: change.event_id,
        user_id: change.target,
        actor: (&change.actor).into(),
        action: change.action,
        reason: change.reason.clone(),
        at: change.at,
    }
}

fn notification_of(change: &StatusChange, user: &User) -> Notification {
    Notification {
        id: change.notification_id,
        action: change.action,
        to: user.email.clone(),
        name: user.display_name().to_owned(),
        reason: change.reason.clone(),
        occurred_at: change.at,
    }
}

/// Runs the changes at the same moment, one task each, and returns their outcomes in order.
async fn race(users: &Arc<dyn UserRepo>, changes: Vec<StatusChange>) -> Vec<StatusChangeOutcome> {
    let barrier = Arc::new(Barrier::new(changes.len()));
    let tasks: Vec<_> = changes
        .into_iter()
        .map(|change| {
            let users = users.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                users.change_status(change).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            task.await
                .expect("change task")
                .expect("no store error under concurrency"),
        );
    }
    outcomes
}

/// Drains the outbox, then deactivates `count` fresh users at `at(i)` and returns the ids of
/// their notifications (so afterwards the outbox holds exactly these as claimable).
async fn enqueue(
    users: &dyn UserRepo,
    outbox: &dyn Outbox,
    count: i64,
    at: impl Fn(i64) -> DateTime<Utc>,
) -> Vec<Uuid> {
    let admin = sentinel(users).await;
    let mut targets = Vec::new();
    for _ in 0..count {
        targets.push(create(users, Role::User, "Ada").await);
    }
    drain(outbox).await;
    let mut ids = Vec::new();
    for (i, target) in (0..count).zip(&targets) {
        let change = change(StatusAction::Deactivate, target, &admin, None, at(i));
        applied(users.change_status(change.clone()).await);
        ids.push(change.notification_id);
    }
    ids
}

/// Claims with a one-hour lease.
async fn claim(outbox: &dyn Outbox, now: DateTime<Utc>, limit: u32) -> Vec<PendingNotification> {
    outbox
        .claim_due(now, now + TimeDelta::hours(1), limit)
        .await
        .expect("claim_due")
}

/// Claims everything undelivered, whenever it is due.
async fn claim_everything(outbox: &dyn Outbox) -> Vec<PendingNotification> {
    claim(outbox, far_future(), 10_000).await
}

/// Gives up on every claimable notification, so that the check that follows sees only its own.
async fn drain(outbox: &dyn Outbox) {
    for _ in 0..100 {
        let batch = claim(outbox, far_future(), 1000).await;
        if batch.is_empty() {
            return;
        }
        for pending in batch {
            outbox
                .give_up(
                    pending.notification.id,
                    now(),
                    "drained by the conformance suite",
                )
                .await
                .expect("give_up");
        }
    }
    panic!("the outbox never runs dry: given-up notifications are claimed again");
}

/// Marks claimed notifications sent, so that no later check meets them.
async fn finish(outbox: &dyn Outbox, claimed: &[PendingNotification]) {
    for pending in claimed {
        outbox
            .mark_sent(pending.notification.id, now())
            .await
            .expect("mark_sent");
    }
}

fn ids_of(claimed: &[PendingNotification]) -> Vec<Uuid> {
    claimed.iter().map(|p| p.notification.id).collect()
}
