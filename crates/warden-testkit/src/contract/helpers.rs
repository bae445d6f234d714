//! What the checks share: time at the stores' precision, fresh users, the sentinel admin,
//! the changes and their expected records, and outbox draining.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use tokio::sync::Barrier;
use uuid::Uuid;
use warden_domain::ports::{Outbox, PendingNotification, StoreError, UserRepo};
use warden_domain::{
    Actor, AuditEvent, EmailAddress, NewUser, Notification, PasswordHash, Reason, Role,
    StatusAction, StatusChange, StatusChangeOutcome, User, UserId,
};

use super::SENTINEL_EMAIL;

/// The current time at the stores' precision (microseconds).
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(super) fn micro() -> TimeDelta {
    TimeDelta::microseconds(1)
}

/// Later than any time a check uses, so a claim at this time finds everything undelivered.
pub(super) fn far_future() -> DateTime<Utc> {
    now() + TimeDelta::days(3650)
}

pub(super) fn unique_email() -> EmailAddress {
    EmailAddress::parse(&format!("{}@example.com", Uuid::now_v7().simple())).expect("email")
}

pub(super) fn reason(text: &str) -> Option<Reason> {
    Reason::parse(text).expect("reason")
}

pub(super) fn new_user(role: Role) -> NewUser {
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

pub(super) async fn create(users: &dyn UserRepo, role: Role, first_name: &str) -> User {
    let new = NewUser {
        first_name: first_name.into(),
        ..new_user(role)
    };
    users.create(new).await.expect("create")
}

/// The suite's own admin, active; created on first use.
pub(super) async fn sentinel(users: &dyn UserRepo) -> User {
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
pub(super) async fn retire(users: &dyn UserRepo, admin: &User) {
    let sentinel = sentinel(users).await;
    let off = change(StatusAction::Deactivate, admin, &sentinel, None, now());
    applied(users.change_status(off).await);
}

pub(super) fn change(
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
        until: None,
        only_if_due_at: None,
        target_roles: warden_domain::RoleSet::ALL,
    }
}

/// `user` acting over the API on its current token version.
pub(super) fn actor_of(user: &User) -> Actor {
    Actor::admin(user.id, user.email.to_string(), user.token_version)
}

pub(super) fn applied(outcome: Result<StatusChangeOutcome, StoreError>) -> User {
    match outcome.expect("change_status") {
        StatusChangeOutcome::Applied(user) => *user,
        other => panic!("expected Applied, got {other:?}"),
    }
}

pub(super) fn event_of(change: &StatusChange) -> AuditEvent {
    AuditEvent {
        id: change.event_id,
        user_id: change.target,
        actor: (&change.actor).into(),
        action: change.action.into(),
        role_shift: None,
        reason: change.reason.clone(),
        at: change.at,
    }
}

pub(super) fn notification_of(change: &StatusChange, user: &User) -> Notification {
    Notification {
        id: change.notification_id,
        action: change.action,
        to: user.email.clone(),
        name: user.display_name().to_owned(),
        reason: change.reason.clone(),
        occurred_at: change.at,
        until: change
            .until
            .filter(|_| change.action == warden_domain::StatusAction::Deactivate),
    }
}

/// Runs the changes at the same moment, one task each, and returns their outcomes in order.
pub(super) async fn race(
    users: &Arc<dyn UserRepo>,
    changes: Vec<StatusChange>,
) -> Vec<StatusChangeOutcome> {
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
pub(super) async fn enqueue(
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
pub(super) async fn claim(
    outbox: &dyn Outbox,
    now: DateTime<Utc>,
    limit: u32,
) -> Vec<PendingNotification> {
    outbox
        .claim_due(now, now + TimeDelta::hours(1), limit)
        .await
        .expect("claim_due")
}

/// Claims everything undelivered, whenever it is due.
pub(super) async fn claim_everything(outbox: &dyn Outbox) -> Vec<PendingNotification> {
    claim(outbox, far_future(), 10_000).await
}

/// Gives up on every claimable notification, so that the check that follows sees only its own.
pub(super) async fn drain(outbox: &dyn Outbox) {
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
pub(super) async fn finish(outbox: &dyn Outbox, claimed: &[PendingNotification]) {
    for pending in claimed {
        outbox
            .mark_sent(pending.notification.id, now())
            .await
            .expect("mark_sent");
    }
}

pub(super) fn ids_of(claimed: &[PendingNotification]) -> Vec<Uuid> {
    claimed.iter().map(|p| p.notification.id).collect()
}

/// A configuration write on the system's authority (which always holds), now.
pub(super) fn system_write() -> warden_domain::Authorized {
    warden_domain::Authorized::new(Actor::system(), now())
}

/// The result of a configuration write whose authority held.
pub(super) fn done<T>(guarded: warden_domain::Guarded<T>) -> T {
    match guarded {
        warden_domain::Guarded::Applied(value) => value,
        warden_domain::Guarded::ActorRevoked => panic!("the system's authority always holds"),
    }
}
