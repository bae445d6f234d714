//! Roles at commit: a helpdesk changes `user` accounts only, and the store checks the target's
//! role (and the actor's own) inside the write, not only when the request began.

use std::sync::Arc;

use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::{Actor, Role, RoleSet, StatusAction, StatusChangeOutcome, User};

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
