//! The conformance suite of privileged configuration writes ([`ClientRepo`], [`WebhookRepo`]):
//! each re-checks its actor's authority in its own transaction (nothing written when it no
//! longer holds) and records its [`AuditedChange`] there, listed by [`ChangeLog`]. The four
//! handles MUST be on one store.

use std::sync::Arc;

use uuid::Uuid;
use warden_domain::ports::{ChangeLog, ClientRepo, ProvisioningRepo, UserRepo, WebhookRepo};
use warden_domain::{
    Actor, ActorKind, AuditedChange, Authorized, ChangeAction, ClientName, ClientRef, EventFilter,
    Guarded, NewClient, NewWebhook, Role, Scope, StatusAction, TokenHash, User, WebhookSecret,
};

use super::helpers::{actor_of, applied, change, create, now, retire, sentinel};

/// One store's handles for these checks.
#[derive(Clone)]
pub struct ConfigStores {
    pub users: Arc<dyn UserRepo>,
    pub clients: Arc<dyn ClientRepo>,
    pub webhooks: Arc<dyn WebhookRepo>,
    pub changes: Arc<dyn ChangeLog>,
    pub provisioning: Arc<dyn ProvisioningRepo>,
}

impl std::fmt::Debug for ConfigStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigStores")
    }
}

impl ConfigStores {
    /// Every handle on the one store `store`.
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: UserRepo + ClientRepo + WebhookRepo + ChangeLog + ProvisioningRepo + 'static,
    {
        Self {
            users: store.clone(),
            clients: store.clone(),
            webhooks: store.clone(),
            changes: store.clone(),
            provisioning: store,
        }
    }
}

/// Generates one `#[tokio::test]` per check. `$fresh` is an
/// `async fn(test_name: &str) -> Option<(ConfigStores, G)>` giving a new, migrated store.
#[macro_export]
macro_rules! config_change_contract_tests {
    ($fresh:path) => {
        $crate::config_change_contract_tests!(@each $fresh;
            config_writes_by_a_withdrawn_admin_write_nothing,
            config_writes_by_a_revoked_client_write_nothing,
            config_writes_are_audited_with_actor_and_target,
            provisioning_writes_by_a_revoked_client_write_nothing,
            profile_updates_are_audited_with_attribute_names,
            profile_and_status_change_together_or_not_at_all,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((stores, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(stores).await;
            }
        )*
    };
}

fn new_client() -> NewClient {
    NewClient {
        id: Uuid::now_v7(),
        name: ClientName::parse(&format!("c-{}", Uuid::now_v7().simple())).unwrap(),
        scopes: vec![Scope::Scim],
        token_hash: TokenHash::new(Uuid::new_v4().as_bytes().repeat(2)),
        created_at: now(),
    }
}

fn new_webhook() -> NewWebhook {
    NewWebhook {
        id: Uuid::now_v7(),
        url: format!("https://{}.example.com/hook", Uuid::now_v7().simple()),
        description: None,
        events: None,
        secret: WebhookSecret::from_bytes([7; 32]),
        created_at: now(),
    }
}

fn by(actor: Actor) -> Authorized {
    Authorized::new(actor, now())
}

fn by_system() -> Authorized {
    by(Actor::system())
}

fn applied_write<T: std::fmt::Debug>(guarded: Guarded<T>) -> T {
    match guarded {
        Guarded::Applied(value) => value,
        Guarded::ActorRevoked => panic!("expected the write to apply"),
    }
}

/// Every change the log holds about `target`.
async fn changes_of(changes: &dyn ChangeLog, target: Uuid) -> Vec<AuditedChange> {
    let filter = EventFilter::default();
    changes
        .changes(&filter, None, 100)
        .await
        .expect("changes")
        .into_iter()
        .filter(|c| c.target == target)
        .collect()
}

/// Tries every configuration write as `actor` and asserts that each was refused and wrote
/// nothing (no client, no endpoint change, no audit record).
async fn assert_every_write_refused(stores: &ConfigStores, actor: &Actor) {
    let live_client = live_client(stores).await;
    let endpoint = applied_write(
        stores
            .webhooks
            .create_webhook(new_webhook(), &by_system())
            .await
            .unwrap(),
    );
    let refused = new_client();
    let outcome = stores
        .clients
        .create(refused.clone(), &by(actor.clone()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    let listed = stores.clients.list().await.unwrap();
    assert!(!listed.iter().any(|c| c.id == refused.id), "no client made");

    let outcome = stores
        .clients
        .revoke(&ClientRef::Id(live_client.id), &by(actor.clone()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    let listed = stores.clients.list().await.unwrap();
    let still = listed.iter().find(|c| c.id == live_client.id).unwrap();
    assert!(still.is_live(), "the client stays live");

    let hook = new_webhook();
    let outcome = stores
        .webhooks
        .create_webhook(hook.clone(), &by(actor.clone()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    assert_eq!(stores.webhooks.find_webhook(hook.id).await.unwrap(), None);

    let outcome = stores
        .webhooks
        .set_enabled(endpoint.id, false, &by(actor.clone()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    let outcome = stores
        .webhooks
        .rotate_secret(
            endpoint.id,
            WebhookSecret::from_bytes([9; 32]),
            now(),
            &by(actor.clone()),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    let outcome = stores
        .webhooks
        .delete_webhook(endpoint.id, &by(actor.clone()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    assert_eq!(
        stores.webhooks.find_webhook(endpoint.id).await.unwrap(),
        Some(endpoint.clone()),
        "the endpoint is unchanged"
    );

    for target in [refused.id, live_client.id, hook.id, endpoint.id] {
        let recorded = changes_of(&*stores.changes, target).await;
        assert!(
            recorded.iter().all(|c| c.actor.id != actor.id()),
            "nothing recorded for the refused actor: {recorded:?}"
        );
    }
}

/// An admin deactivated since it authenticated, and one whose tokens were revoked since (still
/// an active admin, on a newer token version), write nothing.
pub async fn config_writes_by_a_withdrawn_admin_write_nothing(stores: ConfigStores) {
    let users = &*stores.users;
    let guard = sentinel(users).await;
    let admin = create(users, Role::Admin, "Mallory").await;
    let stale = actor_of(&admin);
    // Off and on again: active, but on a newer token version.
    applied(
        users
            .change_status(change(
                StatusAction::Deactivate,
                &admin,
                &guard,
                None,
                now(),
            ))
            .await,
    );
    assert_every_write_refused(&stores, &stale).await;
    let back = applied(
        users
            .change_status(change(
                StatusAction::Reactivate,
                &admin,
                &guard,
                None,
                now(),
            ))
            .await,
    );
    assert_every_write_refused(&stores, &stale).await;
    // Demoted admins do not exist in this store's API; a user account never held authority.
    let member = create(users, Role::User, "Member").await;
    assert_every_write_refused(&stores, &actor_of(&member)).await;
    retire(users, &back).await;
}

/// A revoked client (and an unknown one) writes nothing.
pub async fn config_writes_by_a_revoked_client_write_nothing(stores: ConfigStores) {
    let client = live_client(&stores).await;
    let actor = Actor::client(client.id, client.name.as_str());
    let revoked = stores
        .clients
        .revoke(&ClientRef::Id(client.id), &by_system())
        .await
        .unwrap();
    assert!(matches!(revoked, Guarded::Applied(Some(_))));
    assert_every_write_refused(&stores, &actor).await;
    assert_every_write_refused(&stores, &Actor::client(Uuid::now_v7(), "ghost")).await;
}

/// Each applied write records its action, actor and target, in order; a write that found
/// nothing to change records nothing; the log filters by action, actor and target; clients and
/// endpoints keep who created them.
pub async fn config_writes_are_audited_with_actor_and_target(stores: ConfigStores) {
    let users = &*stores.users;
    let admin: User = sentinel(users).await;
    let actor = actor_of(&admin);
    let client = applied_write(
        stores
            .clients
            .create(new_client(), &by(actor.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(client.created_by, Some(*admin.id.as_uuid()));
    let revoked = applied_write(
        stores
            .clients
            .revoke(&ClientRef::Id(client.id), &by(actor.clone()))
            .await
            .unwrap(),
    );
    assert!(revoked.is_some());
    let again = applied_write(
        stores
            .clients
            .revoke(&ClientRef::Id(client.id), &by(actor.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(again, None, "a revoked client is not revoked again");

    let endpoint = applied_write(
        stores
            .webhooks
            .create_webhook(new_webhook(), &by(actor.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(endpoint.created_by, Some(*admin.id.as_uuid()));
    let found = stores.webhooks.find_webhook(endpoint.id).await.unwrap();
    assert_eq!(found.unwrap().created_by, Some(*admin.id.as_uuid()));
    let writes = [by(actor.clone()), by(actor.clone()), by(actor.clone())];
    applied_write(
        stores
            .webhooks
            .set_enabled(endpoint.id, false, &writes[0])
            .await
            .unwrap(),
    )
    .unwrap();
    applied_write(
        stores
            .webhooks
            .rotate_secret(
                endpoint.id,
                WebhookSecret::from_bytes([8; 32]),
                now(),
                &writes[1],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(applied_write(
        stores
            .webhooks
            .delete_webhook(endpoint.id, &writes[2])
            .await
            .unwrap()
    ));
    let unknown = Uuid::now_v7();
    let nothing = applied_write(
        stores
            .webhooks
            .set_enabled(unknown, true, &by(actor.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(nothing, None);
    assert!(!applied_write(
        stores
            .webhooks
            .delete_webhook(unknown, &by(actor.clone()))
            .await
            .unwrap()
    ));
    assert_eq!(changes_of(&*stores.changes, unknown).await, []);

    let on_client = changes_of(&*stores.changes, client.id).await;
    let actions: Vec<ChangeAction> = on_client.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [ChangeAction::ClientRevoked, ChangeAction::ClientCreated],
        "newest first"
    );
    let on_endpoint = changes_of(&*stores.changes, endpoint.id).await;
    let actions: Vec<ChangeAction> = on_endpoint.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            ChangeAction::WebhookDeleted,
            ChangeAction::WebhookSecretRotated,
            ChangeAction::WebhookUpdated,
            ChangeAction::WebhookCreated,
        ]
    );
    let deleted = &on_endpoint[0];
    assert_eq!(
        *deleted,
        writes[2].record(ChangeAction::WebhookDeleted, endpoint.id, vec![])
    );
    assert_eq!(deleted.actor.kind, ActorKind::User);
    assert_eq!(deleted.actor.name, admin.email.to_string());

    // Filters: by action, by actor, by target, and a cursor.
    let rotated = EventFilter::default().with_change_action(ChangeAction::WebhookSecretRotated);
    let found = stores.changes.changes(&rotated, None, 100).await.unwrap();
    assert!(found.iter().any(|c| c.id == writes[1].event_id));
    assert!(found
        .iter()
        .all(|c| c.action == ChangeAction::WebhookSecretRotated));
    assert_eq!(
        users.audit_log(&rotated, None, 100).await.unwrap(),
        [],
        "a change action keeps no status change"
    );
    let status_only = EventFilter::new(
        Some(StatusAction::Deactivate.into()),
        None,
        None,
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        stores
            .changes
            .changes(&status_only, None, 100)
            .await
            .unwrap(),
        [],
        "a status action keeps no other change"
    );
    let of_target = EventFilter::new(
        None,
        Some(*admin.id.as_uuid()),
        Some(warden_domain::UserId::from_uuid(endpoint.id)),
        None,
        None,
    )
    .unwrap();
    let found = stores.changes.changes(&of_target, None, 2).await.unwrap();
    assert_eq!(found, on_endpoint[..2]);
    let next = stores
        .changes
        .changes(&of_target, Some(found[1].id), 100)
        .await
        .unwrap();
    assert_eq!(next, on_endpoint[2..]);
}

fn provisioned_user(tag: &str) -> warden_domain::NewUser {
    warden_domain::NewUser {
        id: warden_domain::UserId::generate(),
        email: warden_domain::EmailAddress::parse(&format!(
            "{tag}-{}@example.com",
            Uuid::now_v7().simple()
        ))
        .unwrap(),
        password_hash: warden_domain::PasswordHash::unset(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        role: Role::User,
        created_at: now(),
    }
}

/// A live machine client, created by the system.
async fn live_client(stores: &ConfigStores) -> warden_domain::Client {
    applied_write(
        stores
            .clients
            .create(new_client(), &by_system())
            .await
            .unwrap(),
    )
}

/// An account provisioned by `actor` (a client), tagged `tag` in its email address.
async fn provisioned(
    stores: &ConfigStores,
    tag: &str,
    actor: &Actor,
) -> warden_domain::ProvisionedUser {
    applied_write(
        stores
            .provisioning
            .create(provisioned_user(tag), None, &by(actor.clone()))
            .await
            .unwrap(),
    )
}

/// Provisioning writes (creating an account, replacing its profile) by a client revoked
/// since, or unknown, write nothing and record nothing.
pub async fn provisioning_writes_by_a_revoked_client_write_nothing(stores: ConfigStores) {
    let client = live_client(&stores).await;
    let actor = Actor::client(client.id, client.name.as_str());
    let existing = provisioned(&stores, "kept", &actor).await;
    let revoked = stores
        .clients
        .revoke(&ClientRef::Id(client.id), &by_system())
        .await
        .unwrap();
    assert!(matches!(revoked, Guarded::Applied(Some(_))));
    for actor in [actor, Actor::client(Uuid::now_v7(), "ghost")] {
        let new = provisioned_user("held");
        let outcome = stores
            .provisioning
            .create(new.clone(), None, &by(actor.clone()))
            .await
            .unwrap();
        assert_eq!(outcome, Guarded::ActorRevoked);
        assert_eq!(stores.users.find_by_id(&new.id).await.unwrap(), None);
        let profile = warden_domain::Profile {
            first_name: "Mallory".into(),
            ..warden_domain::Profile::of(&existing)
        };
        let outcome = stores
            .provisioning
            .update(&existing.user.id, profile, &by(actor))
            .await
            .unwrap();
        assert_eq!(outcome, Guarded::ActorRevoked);
        let found = stores.provisioning.find(&existing.user.id).await.unwrap();
        assert_eq!(found, Some(existing.clone()), "the profile is unchanged");
    }
    assert_eq!(
        changes_of(&*stores.changes, *existing.user.id.as_uuid()).await,
        []
    );
}

/// A profile update records `profile_updated` with the names of the attributes it changed
/// (never their values), actor the client; an update that changes nothing records nothing.
pub async fn profile_updates_are_audited_with_attribute_names(stores: ConfigStores) {
    let client = live_client(&stores).await;
    let actor = Actor::client(client.id, client.name.as_str());
    let account = provisioned(&stores, "audited", &actor).await;
    let id = *account.user.id.as_uuid();
    let same = warden_domain::Profile::of(&account);
    let unchanged = stores
        .provisioning
        .update(&account.user.id, same.clone(), &by(actor.clone()))
        .await
        .unwrap();
    assert_eq!(unchanged, Guarded::Applied(Some(account.clone())));
    assert_eq!(changes_of(&*stores.changes, id).await, []);

    let write = by(actor.clone());
    let profile = warden_domain::Profile {
        last_name: "Byron".into(),
        external_id: warden_domain::ExternalId::parse("00u1").unwrap(),
        ..same
    };
    let updated = applied_write(
        stores
            .provisioning
            .update(&account.user.id, profile.clone(), &write)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(warden_domain::Profile::of(&updated), profile);
    let recorded = changes_of(&*stores.changes, id).await;
    assert_eq!(
        recorded,
        [write.record(
            ChangeAction::ProfileUpdated,
            id,
            vec!["last_name".into(), "external_id".into()]
        )]
    );
    assert_eq!(recorded[0].actor.kind, ActorKind::Client);
    assert_eq!(recorded[0].actor.id, Some(client.id));
    let by_action = EventFilter::default().with_change_action(ChangeAction::ProfileUpdated);
    let found = stores.changes.changes(&by_action, None, 100).await.unwrap();
    assert!(found.iter().any(|c| c.id == write.event_id));
}

/// A client's deactivation of `target`, now.
fn client_change(
    actor: &Actor,
    action: StatusAction,
    target: warden_domain::UserId,
) -> warden_domain::StatusChange {
    warden_domain::StatusChange {
        action,
        target,
        actor: actor.clone(),
        reason: None,
        at: now(),
        event_id: Uuid::now_v7(),
        notification_id: Uuid::now_v7(),
        until: None,
        only_if_due_at: None,
        target_roles: warden_domain::RoleSet::ALL,
    }
}

/// `update_with_status` writes the profile and the status together or not at all: refused as
/// the last active admin (or for a revoked client), the profile is unchanged and nothing is
/// recorded; applied, both are, each audited; an email address taken fails it whole.
pub async fn profile_and_status_change_together_or_not_at_all(stores: ConfigStores) {
    use warden_domain::{Profile, StatusChangeOutcome};
    let users = &*stores.users;
    let guard = sentinel(users).await;
    let client = live_client(&stores).await;
    let actor = Actor::client(client.id, client.name.as_str());

    // The last active admin: refused, and the profile stays.
    let before = stores.provisioning.find(&guard.id).await.unwrap().unwrap();
    let renamed = Profile {
        last_name: "Renamed".into(),
        ..Profile::of(&before)
    };
    let (outcome, after) = stores
        .provisioning
        .update_with_status(
            renamed,
            &by(actor.clone()),
            client_change(&actor, StatusAction::Deactivate, guard.id),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, StatusChangeOutcome::LastActiveAdmin);
    assert_eq!(after, Some(before.clone()), "the profile is unchanged");
    assert_eq!(changes_of(&*stores.changes, *guard.id.as_uuid()).await, []);

    // A member: both apply, both are audited.
    let member = provisioned(&stores, "both", &actor).await;
    let profile = Profile {
        first_name: "Ada".into(),
        ..Profile::of(&member)
    };
    let write = by(actor.clone());
    let change = client_change(&actor, StatusAction::Deactivate, member.user.id);
    let (outcome, after) = stores
        .provisioning
        .update_with_status(profile.clone(), &write, change.clone(), None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(outcome, StatusChangeOutcome::Applied(_)),
        "{outcome:?}"
    );
    let after = after.unwrap();
    assert!(!after.user.is_active());
    assert_eq!(Profile::of(&after), profile);
    let events = users.events(&member.user.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, change.event_id);
    let recorded = changes_of(&*stores.changes, *member.user.id.as_uuid()).await;
    assert_eq!(
        recorded,
        [write.record(
            ChangeAction::ProfileUpdated,
            *member.user.id.as_uuid(),
            vec!["first_name".into()]
        )]
    );

    // An email address taken: nothing changes, the status neither.
    let other = provisioned(&stores, "other", &actor).await;
    let clash = Profile {
        email: member.user.email.clone(),
        ..Profile::of(&other)
    };
    let refused = stores
        .provisioning
        .update_with_status(
            clash,
            &by(actor.clone()),
            client_change(&actor, StatusAction::Deactivate, other.user.id),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(warden_domain::ports::StoreError::Conflict(_))),
        "{refused:?}"
    );
    let found = stores.provisioning.find(&other.user.id).await.unwrap();
    assert_eq!(
        found,
        Some(other.clone()),
        "neither profile nor status changed"
    );

    // An expected version (a SCIM client's If-Match) is compared inside the write: a stale one
    // writes nothing at all; the current one applies, and the version moves on.
    let stale = stores
        .provisioning
        .update_with_status(
            Profile {
                first_name: "Stale".into(),
                ..Profile::of(&other)
            },
            &by(actor.clone()),
            client_change(&actor, StatusAction::Deactivate, other.user.id),
            Some(format!("{}x", other.version())),
        )
        .await
        .unwrap();
    assert_eq!(stale, None);
    let found = stores.provisioning.find(&other.user.id).await.unwrap();
    assert_eq!(found, Some(other.clone()), "a stale version writes nothing");
    let current = stores
        .provisioning
        .find(&member.user.id)
        .await
        .unwrap()
        .unwrap();
    let (outcome, after) = stores
        .provisioning
        .update_with_status(
            Profile {
                first_name: "Current".into(),
                ..Profile::of(&current)
            },
            &by(actor.clone()),
            client_change(&actor, StatusAction::Deactivate, member.user.id),
            Some(current.version()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, StatusChangeOutcome::AlreadyInState);
    let after = after.unwrap();
    assert_eq!(after.user.first_name, "Current");
    assert_ne!(after.version(), current.version());

    // A revoked client: nothing.
    let revoked = stores
        .clients
        .revoke(&ClientRef::Id(client.id), &by_system())
        .await
        .unwrap();
    assert!(matches!(revoked, Guarded::Applied(Some(_))));
    let (outcome, after) = stores
        .provisioning
        .update_with_status(
            Profile {
                first_name: "Mallory".into(),
                ..Profile::of(&other)
            },
            &by(actor.clone()),
            client_change(&actor, StatusAction::Deactivate, other.user.id),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, StatusChangeOutcome::ActorRevoked);
    assert_eq!(after, Some(other));
}
