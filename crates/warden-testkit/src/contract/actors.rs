//! Actors beyond admins: the system and machine clients change users' status under the same
//! guards, and the store records who they were and re-checks what their authority rests on.

use std::sync::Arc;

use uuid::Uuid;
use warden_domain::ports::{ClientRepo, Outbox, UserRepo};
use warden_domain::{
    Actor, ActorKind, ClientName, ClientRef, NewClient, Role, Scope, StatusAction, StatusChange,
    StatusChangeOutcome, TokenHash,
};

use super::helpers::*;

/// The system changes any user's status with no account of its own: applied, audited as kind
/// `system` with no id, notified; `deactivated_by` stays empty. The last-active-admin guard
/// applies to it as to anyone.
pub async fn the_system_acts_under_the_same_guards(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
) {
    let last = sentinel(&*users).await;
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;

    let off = by_system(StatusAction::Deactivate, &member);
    let done = applied(users.change_status(off.clone()).await);
    match &done.status {
        warden_domain::AccountStatus::Deactivated(deactivation) => {
            assert_eq!(deactivation.by, None, "no account deactivated it");
        }
        warden_domain::AccountStatus::Active => panic!("still active"),
    }
    let on = by_system(StatusAction::Reactivate, &member);
    let done = applied(users.change_status(on.clone()).await);
    assert!(done.is_active());
    assert_eq!(done.token_version, member.token_version + 2);

    let events = users.events(&member.id, None, 10).await.expect("events");
    assert_eq!(events, vec![event_of(&on), event_of(&off)]);
    let actor = &events[0].actor;
    assert_eq!(
        (actor.kind, actor.id, actor.name.as_str(), actor.account()),
        (ActorKind::System, None, "system", None)
    );
    let claimed = claim_everything(&*outbox).await;
    assert_eq!(
        ids_of(&claimed),
        vec![off.notification_id, on.notification_id]
    );
    finish(&*outbox, &claimed).await;

    let outcome = users
        .change_status(by_system(StatusAction::Deactivate, &last))
        .await
        .expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::LastActiveAdmin);
    assert!(users
        .find_by_id(&last.id)
        .await
        .expect("find")
        .is_some_and(|u| u.is_active()));
}

/// A client the store does not know (never created, or since deleted) holds no authority:
/// its change is refused as the actor's, whatever the target's state, and writes nothing.
pub async fn unknown_clients_change_nothing(users: Arc<dyn UserRepo>, outbox: Arc<dyn Outbox>) {
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    let mut change = by_system(StatusAction::Deactivate, &member);
    change.actor = Actor::client(Uuid::now_v7(), "ghost-idp");
    let outcome = users.change_status(change).await.expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::ActorRevoked);
    assert_eq!(
        users.find_by_id(&member.id).await.expect("find"),
        Some(member.clone())
    );
    assert_eq!(
        users.events(&member.id, None, 10).await.expect("events"),
        Vec::new()
    );
    assert_eq!(claim_everything(&*outbox).await, Vec::new());
}

fn by_system(action: StatusAction, target: &warden_domain::User) -> StatusChange {
    StatusChange {
        actor: Actor::system(),
        ..change(action, target, target, None, now())
    }
}

/// A live machine client changes users' status in its own name (recorded with its id); once
/// revoked, its next change is refused as the actor's and writes nothing. Needs the client
/// store and the user store of the same database, so adapters call it themselves (it is not in
/// [`crate::contract_tests`]).
pub async fn live_clients_act_and_revoked_ones_do_not(
    users: Arc<dyn UserRepo>,
    outbox: Arc<dyn Outbox>,
    clients: Arc<dyn ClientRepo>,
) {
    let member = create(&*users, Role::User, "Member").await;
    drain(&*outbox).await;
    let name = ClientName::parse(&format!("idp-{}", Uuid::now_v7().simple())).expect("name");
    let client = clients
        .create(
            NewClient {
                id: Uuid::now_v7(),
                name: name.clone(),
                scopes: vec![Scope::Scim],
                token_hash: TokenHash::new(Uuid::new_v4().as_bytes().repeat(2)),
                created_at: now(),
            },
            &system_write(),
        )
        .await
        .map(done)
        .expect("create client");
    let as_client = |action| StatusChange {
        actor: Actor::client(client.id, client.name.as_str()),
        ..change(action, &member, &member, None, now())
    };

    let off = as_client(StatusAction::Deactivate);
    applied(users.change_status(off.clone()).await);
    let events = users.events(&member.id, None, 10).await.expect("events");
    assert_eq!(events, vec![event_of(&off)]);
    assert_eq!(
        (
            events[0].actor.kind,
            events[0].actor.id,
            events[0].actor.account()
        ),
        (ActorKind::Client, Some(client.id), None)
    );

    clients
        .revoke(&ClientRef::Id(client.id), &system_write())
        .await
        .map(done)
        .expect("revoke")
        .expect("revoked");
    let outcome = users
        .change_status(as_client(StatusAction::Reactivate))
        .await
        .expect("change_status");
    assert_eq!(outcome, StatusChangeOutcome::ActorRevoked);
    assert_eq!(
        users
            .events(&member.id, None, 10)
            .await
            .expect("events")
            .len(),
        1,
        "a refused change records no event"
    );
    let claimed = claim_everything(&*outbox).await;
    assert_eq!(ids_of(&claimed), vec![off.notification_id]);
    finish(&*outbox, &claimed).await;
}
