//! Status changes: what `change_status` writes, what it refuses, and how it holds under
//! concurrency.

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;
use warden_domain::ports::{Outbox, PendingNotification, UserRepo};
use warden_domain::{
    AccountStatus, Actor, ActorKind, Deactivation, Role, StatusAction, StatusChangeOutcome, User,
    UserId,
};

use super::helpers::*;

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
            until: None,
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

/// Deactivations and reactivations of one user racing each other: every change either applies
/// or finds the user already in its state; none fails (contention is never an error). The
/// applied ones alternate, each with its own audit event and one token version.
pub async fn opposite_changes_racing_on_one_user_never_fail(
    users: Arc<dyn UserRepo>,
    _outbox: Arc<dyn Outbox>,
) {
    const ROUNDS: usize = 4;
    const TASKS: usize = 24;
    let admin = sentinel(&*users).await;
    let target = create(&*users, Role::User, "Ada").await;
    let mut applied = 0;
    for round in 0..ROUNDS {
        let at = now() + TimeDelta::seconds(round as i64);
        let changes: Vec<_> = (0..TASKS)
            .map(|i| {
                let action = if i % 2 == 0 {
                    StatusAction::Deactivate
                } else {
                    StatusAction::Reactivate
                };
                change(action, &target, &admin, None, at)
            })
            .collect();
        for outcome in race(&users, changes).await {
            match outcome {
                StatusChangeOutcome::Applied(_) => applied += 1,
                StatusChangeOutcome::AlreadyInState => {}
                other => panic!("round {round}: unexpected outcome {other:?}"),
            }
        }
    }
    assert!(applied >= 1);
    let user = users
        .find_by_id(&target.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!(user.token_version, target.token_version + applied);
    let events = users.events(&target.id, None, 100).await.expect("events");
    assert_eq!(events.len(), applied as usize);
    // They alternated (events of one round share a time, so their listed order is not the
    // order they applied in): as many deactivations as reactivations, one more if it ends
    // deactivated.
    let deactivations = events
        .iter()
        .filter(|event| event.action.status() == Some(StatusAction::Deactivate))
        .count();
    let reactivations = events.len() - deactivations;
    let ends_deactivated = usize::from(!user.is_active());
    assert_eq!(deactivations, reactivations + ends_deactivated);
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
    by_operator.actor = Actor::operator(
        current.id,
        "ops-oncall",
        current.token_version,
        warden_domain::Role::Admin,
    );
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
