//! Timed suspensions: a deactivation's end is stored, shown, told in the email and cleared by a
//! reactivation; the due ones are listed; and a lift (a reactivation with
//! [`StatusChange::only_if_due_at`]) applies only while the suspension is still due, once.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::{
    AccountStatus, Actor, ActorKind, Role, StatusAction, StatusChange, StatusChangeOutcome, User,
};

use super::helpers::*;

fn until_of(user: &User) -> Option<DateTime<Utc>> {
    match &user.status {
        AccountStatus::Deactivated(d) => d.until,
        AccountStatus::Active => None,
    }
}

/// A deactivation of `target` by the sentinel `admin`, ending at `until`.
fn suspend(target: &User, admin: &User, until: Option<DateTime<Utc>>) -> StatusChange {
    StatusChange {
        until,
        ..change(StatusAction::Deactivate, target, admin, None, now())
    }
}

/// The system's lift of `target`'s suspension, expecting it due by `due_at`.
fn lift(target: &User, due_at: DateTime<Utc>) -> StatusChange {
    StatusChange {
        actor: Actor::system(),
        only_if_due_at: Some(due_at),
        target_roles: warden_domain::RoleSet::ALL,
        ..change(StatusAction::Reactivate, target, target, None, now())
    }
}

/// The end is stored with the deactivation, read back, put in the notification, and cleared by
/// a reactivation (and by a later deactivation without one).
pub async fn timed_deactivation_keeps_its_end_until_reactivated(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    let until = now() + TimeDelta::days(7);

    let off = suspend(&member, &admin, Some(until));
    let done = applied(users.change_status(off.clone()).await);
    assert_eq!(until_of(&done), Some(until));
    let found = users
        .find_by_id(&member.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!(until_of(&found), Some(until));
    let claimed = claim_everything(&*outbox).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].notification, notification_of(&off, &done));
    assert_eq!(claimed[0].notification.until, Some(until));
    finish(&*outbox, &claimed).await;

    let on = change(StatusAction::Reactivate, &member, &admin, None, now());
    let done = applied(users.change_status(on.clone()).await);
    assert!(done.is_active());
    let claimed = claim_everything(&*outbox).await;
    assert_eq!(
        claimed[0].notification.until, None,
        "a reactivation has no end"
    );
    finish(&*outbox, &claimed).await;

    let off = suspend(&member, &admin, None);
    let done = applied(users.change_status(off).await);
    assert_eq!(until_of(&done), None, "the earlier end is gone");
    let due = users
        .due_suspensions(far_future(), 10_000)
        .await
        .expect("due");
    assert!(!due.contains(&member.id));
    finish(&*outbox, &claim_everything(&*outbox).await).await;
}

/// `due_suspensions` lists the deactivated accounts whose end is at or before `now`, earliest
/// first; not those without an end, not those reactivated.
pub async fn due_suspensions_are_listed_earliest_first(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let base = now() + TimeDelta::days(365);
    let (early, late, open, back) = (
        create(&*users, Role::User, "Early").await,
        create(&*users, Role::User, "Late").await,
        create(&*users, Role::User, "Open").await,
        create(&*users, Role::User, "Back").await,
    );
    // Out of order on purpose.
    applied(
        users
            .change_status(suspend(&late, &admin, Some(base + TimeDelta::hours(2))))
            .await,
    );
    applied(
        users
            .change_status(suspend(&early, &admin, Some(base + TimeDelta::hours(1))))
            .await,
    );
    applied(users.change_status(suspend(&open, &admin, None)).await);
    applied(
        users
            .change_status(suspend(&back, &admin, Some(base)))
            .await,
    );
    let on = change(StatusAction::Reactivate, &back, &admin, None, now());
    applied(users.change_status(on).await);

    let mine = |ids: Vec<warden_domain::UserId>| -> Vec<warden_domain::UserId> {
        ids.into_iter()
            .filter(|id| [early.id, late.id, open.id, back.id].contains(id))
            .collect()
    };
    let due = |at| {
        let users = users.clone();
        async move { users.due_suspensions(at, 10_000).await.expect("due") }
    };
    assert_eq!(mine(due(base).await), vec![]);
    assert_eq!(mine(due(base + TimeDelta::hours(1)).await), vec![early.id]);
    assert_eq!(
        mine(due(base + TimeDelta::hours(3)).await),
        vec![early.id, late.id]
    );
    let all = due(far_future()).await;
    let limited = users.due_suspensions(far_future(), 1).await.expect("due");
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0], all[0], "the earliest end first");
    drain(&*outbox).await;
}

/// A lift applies only to a target still deactivated with an end at or before its `due_at`, in
/// the same transaction: too early, after a manual reactivation and a new open-ended
/// deactivation, or after a new later end, it is `NotDue` and writes nothing; on an active
/// target it is `AlreadyInState`. Applied, it is the system's reactivation, audited and
/// notified, and clears the end.
pub async fn a_lift_applies_only_while_due(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let admin = sentinel(&*users).await;
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    let until = now() + TimeDelta::hours(1);
    let off = applied(
        users
            .change_status(suspend(&member, &admin, Some(until)))
            .await,
    );

    let early = users
        .change_status(lift(&member, until - micro()))
        .await
        .expect("change_status");
    assert_eq!(early, StatusChangeOutcome::NotDue);
    let unchanged = users
        .find_by_id(&member.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!(unchanged, off, "a lift that is not due writes nothing");
    assert_eq!(
        users
            .events(&member.id, None, 10)
            .await
            .expect("events")
            .len(),
        1
    );

    let up = lift(&member, until);
    let done = applied(users.change_status(up.clone()).await);
    assert!(done.is_active());
    assert_eq!(until_of(&done), None);
    assert_eq!(done.token_version, off.token_version + 1);
    let events = users.events(&member.id, None, 10).await.expect("events");
    assert_eq!(events[0], event_of(&up));
    assert_eq!(events[0].actor.kind, ActorKind::System);
    let claimed = claim_everything(&*outbox).await;
    assert_eq!(
        ids_of(&claimed).last(),
        Some(&up.notification_id),
        "the lift is notified"
    );
    finish(&*outbox, &claimed).await;

    let again = users
        .change_status(lift(&member, until + TimeDelta::hours(1)))
        .await
        .expect("change_status");
    assert_eq!(again, StatusChangeOutcome::AlreadyInState);

    // Deactivated again without an end (after the listing saw the old one): not due.
    applied(users.change_status(suspend(&member, &admin, None)).await);
    let open = users
        .change_status(lift(&member, until + TimeDelta::hours(1)))
        .await
        .expect("change_status");
    assert_eq!(open, StatusChangeOutcome::NotDue);
    // Given a later end: not due before it.
    let on = change(StatusAction::Reactivate, &member, &admin, None, now());
    applied(users.change_status(on).await);
    let later = until + TimeDelta::days(1);
    let renewed = applied(
        users
            .change_status(suspend(&member, &admin, Some(later)))
            .await,
    );
    let stale = users
        .change_status(lift(&member, until + TimeDelta::hours(1)))
        .await
        .expect("change_status");
    assert_eq!(stale, StatusChangeOutcome::NotDue);
    let found = users
        .find_by_id(&member.id)
        .await
        .expect("find")
        .expect("user");
    assert_eq!(found, renewed);
    // Leave nothing due behind for the other checks.
    let on = change(StatusAction::Reactivate, &member, &admin, None, now());
    applied(users.change_status(on).await);
    drain(&*outbox).await;
}

/// Several lifts of one due suspension at once (replicas): exactly one applies; the others
/// find the account active.
pub async fn concurrent_lifts_apply_once(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let admin = sentinel(&*users).await;
    let member = create(&*users, Role::User, "Member").await;
    let until = now() + TimeDelta::seconds(1);
    applied(
        users
            .change_status(suspend(&member, &admin, Some(until)))
            .await,
    );
    let due_at = until + TimeDelta::seconds(1);
    let outcomes = race(&users, (0..4).map(|_| lift(&member, due_at)).collect()).await;
    let applied_count = outcomes
        .iter()
        .filter(|o| matches!(o, StatusChangeOutcome::Applied(_)))
        .count();
    assert_eq!(applied_count, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(
        o,
        StatusChangeOutcome::Applied(_) | StatusChangeOutcome::AlreadyInState
    )));
    let events = users.events(&member.id, None, 10).await.expect("events");
    let reactivations = events
        .iter()
        .filter(|e| e.action.status() == Some(StatusAction::Reactivate))
        .count();
    assert_eq!(reactivations, 1);
    drain(&*outbox).await;
}
