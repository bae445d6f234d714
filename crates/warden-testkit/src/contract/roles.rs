//! Roles at commit: a helpdesk changes `user` accounts only, and the store checks the target's
//! role (and the actor's own) inside the write, not only when the request began.

use std::sync::Arc;

use uuid::Uuid;
use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::{
    Actor, AuditAction, Role, RoleChange, RoleChangeOutcome, RoleSet, RoleShift, StatusAction,
    StatusChangeOutcome, User,
};

use super::helpers::*;

/// `user` acting over the API as a helpdesk, on its current token version.
fn as_helpdesk(user: &User) -> Actor {
    Actor::staff(
        user.id,
        user.email.to_string(),
        user.token_version,
        Role::Helpdesk,
    )
}

/// A helpdesk's change (the policy lets it reach `user` accounts only) applies to a `user`
/// account and is recorded with the actor's role; on a helpdesk or admin account it is
/// [`StatusChangeOutcome::TargetForbidden`] and writes nothing: the store judges the target's
/// role as it finds it when the change commits.
pub async fn a_helpdesk_changes_only_user_accounts(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let helpdesk = create(&*users, Role::Helpdesk, "Helen").await;
    let colleague = create(&*users, Role::Helpdesk, "Colin").await;
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    let by_helpdesk = |action, target: &User| {
        let mut change = change(action, target, &helpdesk, reason("support ticket"), now());
        change.actor = as_helpdesk(&helpdesk);
        change.target_roles = RoleSet::only(Role::User);
        change
    };

    let off = by_helpdesk(StatusAction::Deactivate, &member);
    let done = applied(users.change_status(off.clone()).await);
    assert!(!done.is_active());
    let events = users.events(&member.id, None, 10).await.expect("events");
    assert_eq!(events, vec![event_of(&off)]);
    assert_eq!(
        events[0].actor.role,
        Some(Role::Helpdesk),
        "the actor's role is kept"
    );
    let on = by_helpdesk(StatusAction::Reactivate, &member);
    assert!(applied(users.change_status(on).await).is_active());

    for target in [&colleague, &admin] {
        let refused = users
            .change_status(by_helpdesk(StatusAction::Deactivate, target))
            .await
            .expect("change_status");
        assert_eq!(
            refused,
            StatusChangeOutcome::TargetForbidden,
            "{:?}",
            target.role
        );
        let now = users
            .find_by_id(&target.id)
            .await
            .expect("find")
            .expect("exists");
        assert!(now.is_active(), "nothing changed");
        assert_eq!(now.token_version, target.token_version, "no tokens revoked");
        let events = users.events(&target.id, None, 10).await.expect("events");
        assert!(events
            .iter()
            .all(|e| e.actor.id != Some(*helpdesk.id.as_uuid())));
    }
    assert!(
        claim_everything(&*outbox).await.len() == 2,
        "two emails: the member's"
    );
}

/// The actor's role is part of its authority: a change made on the authority of a role the
/// account no longer has (it acted as an admin, the store finds a helpdesk) is
/// [`StatusChangeOutcome::ActorRevoked`] and writes nothing.
pub async fn an_actor_of_another_role_than_it_acted_with_changes_nothing(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let helpdesk = create(&*users, Role::Helpdesk, "Helen").await;
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    // The account acted as an admin (the role it had), but is a helpdesk when the change
    // commits.
    let off = change(StatusAction::Deactivate, &member, &helpdesk, None, now());
    let outcome = users.change_status(off).await.expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::ActorRevoked);
    let now = users
        .find_by_id(&member.id)
        .await
        .expect("find")
        .expect("exists");
    assert!(now.is_active());
    assert!(claim_everything(&*outbox).await.is_empty());
}

fn role_change(target: &User, to: Role, by: &User) -> RoleChange {
    RoleChange {
        target: target.id,
        to,
        actor: actor_of(by),
        reason: reason("joined support"),
        at: now(),
        event_id: Uuid::now_v7(),
    }
}

/// A role change applies the role, revokes the target's tokens (its version moves on) and is
/// audited as `role_changed` with the roles before and after and the actor's role; a repeat is
/// [`RoleChangeOutcome::AlreadyHasRole`], an unknown account
/// [`RoleChangeOutcome::NotFound`], and neither writes anything.
pub async fn a_role_change_applies_revokes_and_is_audited(
    users: Arc<dyn UserRepo>,
    _outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let member = create(&*users, Role::User, "Member").await;
    let promote = role_change(&member, Role::Helpdesk, &admin);
    let outcome = users
        .change_role(promote.clone())
        .await
        .expect("change_role");
    let RoleChangeOutcome::Applied { user, from } = outcome else {
        panic!("expected Applied, got {outcome:?}");
    };
    assert_eq!(from, Role::User);
    assert_eq!(user.role, Role::Helpdesk);
    assert_eq!(
        user.token_version,
        member.token_version + 1,
        "tokens revoked"
    );
    assert_eq!(
        *user,
        users
            .find_by_id(&member.id)
            .await
            .expect("find")
            .expect("exists")
    );
    let events = users.events(&member.id, None, 10).await.expect("events");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.id, promote.event_id);
    assert_eq!(event.action, AuditAction::RoleChanged);
    assert_eq!(
        event.role_shift,
        Some(RoleShift {
            from: Role::User,
            to: Role::Helpdesk
        })
    );
    assert_eq!(event.actor.role, Some(Role::Admin));
    assert_eq!(event.reason, reason("joined support"));

    let again = role_change(&member, Role::Helpdesk, &admin);
    let outcome = users.change_role(again).await.expect("change_role");
    assert_eq!(outcome, RoleChangeOutcome::AlreadyHasRole);
    let nobody = User {
        id: warden_domain::UserId::generate(),
        ..member.clone()
    };
    let outcome = users
        .change_role(role_change(&nobody, Role::Admin, &admin))
        .await
        .expect("change_role");
    assert_eq!(outcome, RoleChangeOutcome::NotFound);
    assert_eq!(
        users
            .events(&member.id, None, 10)
            .await
            .expect("events")
            .len(),
        1
    );
}

/// An account whose authority was withdrawn (here: demoted since it acted) changes no role;
/// and the last active admin keeps the role (the store's own guard, whoever asks).
pub async fn role_changes_recheck_the_actor_and_keep_the_last_admin(
    users: Arc<dyn UserRepo>,
    _outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let member = create(&*users, Role::User, "Member").await;
    // `colleague` acted as an admin but is a helpdesk when the change commits.
    let colleague = create(&*users, Role::Helpdesk, "Colin").await;
    let outcome = users
        .change_role(role_change(&member, Role::Admin, &colleague))
        .await
        .expect("change_role");
    assert_eq!(outcome, RoleChangeOutcome::ActorRevoked);
    let now = users
        .find_by_id(&member.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(
        (now.role, now.token_version),
        (Role::User, member.token_version)
    );

    let outcome = users
        .change_role(role_change(&admin, Role::User, &admin))
        .await
        .expect("change_role");
    assert_eq!(outcome, RoleChangeOutcome::LastActiveAdmin);
    let now = users
        .find_by_id(&admin.id)
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(now.role, Role::Admin);
    assert!(users
        .events(&admin.id, None, 10)
        .await
        .expect("events")
        .iter()
        .all(|e| e.action != AuditAction::RoleChanged));
}

/// Two admins demoting each other at once, as the only active admins: exactly one succeeds,
/// one admin remains.
pub async fn admins_demoting_each_other_leave_one_admin(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let sentinel = sentinel(&*users).await;
    for round in 0..5 {
        let a = create(&*users, Role::Admin, "Alice").await;
        let b = create(&*users, Role::Admin, "Bob").await;
        // Step the sentinel aside so that `a` and `b` are the only active admins.
        let aside = change(StatusAction::Deactivate, &sentinel, &a, None, now());
        applied(users.change_status(aside).await);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = [(&b, &a), (&a, &b)]
            .into_iter()
            .map(|(target, by)| {
                let (users, barrier) = (users.clone(), barrier.clone());
                let demote = role_change(target, Role::User, by);
                tokio::spawn(async move {
                    barrier.wait().await;
                    users.change_role(demote).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task").expect("no store error"));
        }
        let applied_count = outcomes
            .iter()
            .filter(|o| matches!(o, RoleChangeOutcome::Applied { .. }))
            .count();
        assert_eq!(applied_count, 1, "round {round}: {outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(
            o,
            RoleChangeOutcome::Applied { .. }
                | RoleChangeOutcome::LastActiveAdmin
                | RoleChangeOutcome::ActorRevoked
        )));
        let a_now = users.find_by_id(&a.id).await.expect("find").expect("a");
        let b_now = users.find_by_id(&b.id).await.expect("find").expect("b");
        let admins = [&a_now, &b_now]
            .iter()
            .filter(|u| u.role == Role::Admin)
            .count();
        assert_eq!(admins, 1, "round {round}: one admin remains");
        let survivor = if a_now.role == Role::Admin {
            &a_now
        } else {
            &b_now
        };
        let back = change(StatusAction::Reactivate, &sentinel, survivor, None, now());
        applied(users.change_status(back).await);
        retire(&*users, survivor).await;
        drain(&*outbox).await;
    }
}

/// A helpdesk's deactivation decided while the target was a `user` does not apply when the
/// target has been promoted by the time it commits: the store checks the role it finds then.
pub async fn a_target_promoted_before_commit_is_out_of_a_helpdesks_reach(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let admin = sentinel(&*users).await;
    let helpdesk = create(&*users, Role::Helpdesk, "Helen").await;
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    // Decided now, as the use case decides it ...
    let mut off = change(StatusAction::Deactivate, &member, &helpdesk, None, now());
    off.actor = as_helpdesk(&helpdesk);
    off.target_roles = RoleSet::only(Role::User);
    // ... the target is promoted before it commits ...
    let promote = role_change(&member, Role::Helpdesk, &admin);
    assert!(matches!(
        users.change_role(promote).await.expect("change_role"),
        RoleChangeOutcome::Applied { .. }
    ));
    // ... and the deactivation finds a helpdesk.
    let outcome = users.change_status(off).await.expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::TargetForbidden);
    assert!(users
        .find_by_id(&member.id)
        .await
        .expect("find")
        .expect("exists")
        .is_active());
    assert!(claim_everything(&*outbox).await.is_empty(), "no email");
}
