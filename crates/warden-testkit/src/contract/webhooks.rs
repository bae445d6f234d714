//! The conformance suite of [`WebhookRepo`] adapters, with the deliveries a status change
//! writes through [`UserRepo::change_status`] in the same store. Each check looks only at the
//! endpoints it registers (a store may hold those of earlier checks).

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;
use warden_domain::ports::{Finish, RetryDelivery, UserRepo, WebhookRepo};
use warden_domain::{
    DeliveryStatus, NewWebhook, RecordedActor, Role, StatusAction, StatusChangeOutcome,
    WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookSecret,
};

use super::helpers::{applied, change, create, done, now, reason, sentinel, system_write};

/// Generates one `#[tokio::test]` per webhook check. `$fresh` is an
/// `async fn(test_name: &str) -> Option<(Arc<dyn UserRepo>, Arc<dyn WebhookRepo>, G)>` giving
/// a new, migrated store (both handles on the same database).
#[macro_export]
macro_rules! webhook_contract_tests {
    ($fresh:path) => {
        $crate::webhook_contract_tests!(@each $fresh;
            webhooks_round_trip_rotate_and_delete,
            webhooks_changes_owe_one_delivery_per_enabled_subscribed_endpoint,
            webhooks_refused_changes_owe_nothing,
            webhooks_claims_lease_count_and_finish,
            webhooks_purge_deletes_only_delivered_before_the_cutoff,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((users, webhooks, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(users, webhooks).await;
            }
        )*
    };
}

fn new_webhook(events: Option<Vec<WebhookEventType>>) -> NewWebhook {
    NewWebhook {
        id: Uuid::now_v7(),
        url: format!("https://{}.example.com/hook", Uuid::now_v7().simple()),
        description: Some("billing".into()),
        events,
        secret: random_secret(),
        created_at: now(),
    }
}

fn random_secret() -> WebhookSecret {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    WebhookSecret::from_bytes(bytes)
}

async fn register(
    webhooks: &dyn WebhookRepo,
    events: Option<Vec<WebhookEventType>>,
) -> WebhookEndpoint {
    done(
        webhooks
            .create_webhook(new_webhook(events), &system_write())
            .await
            .unwrap(),
    )
}

async fn owed(webhooks: &dyn WebhookRepo, endpoint: &WebhookEndpoint) -> Vec<WebhookDelivery> {
    webhooks.deliveries(endpoint.id, None, 100).await.unwrap()
}

/// Claims everything due up to `at` and keeps what belongs to `endpoint`.
async fn claim_of(
    webhooks: &dyn WebhookRepo,
    endpoint: &WebhookEndpoint,
    at: chrono::DateTime<chrono::Utc>,
    lease: TimeDelta,
) -> Vec<WebhookDelivery> {
    webhooks
        .claim_deliveries(at, at + lease, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.endpoint.id == endpoint.id)
        .map(|c| {
            assert_eq!(c.endpoint, *endpoint, "the claim carries the endpoint");
            c.delivery
        })
        .collect()
}

pub async fn webhooks_round_trip_rotate_and_delete(
    _users: Arc<dyn UserRepo>,
    webhooks: Arc<dyn WebhookRepo>,
) {
    let new = new_webhook(Some(vec![WebhookEventType::UserDeactivated]));
    let created = done(
        webhooks
            .create_webhook(new.clone(), &system_write())
            .await
            .unwrap(),
    );
    assert_eq!(created.url, new.url);
    assert_eq!(created.description, new.description);
    assert_eq!(created.events, new.events);
    assert_eq!(created.secret, new.secret);
    assert!(created.enabled && created.previous_secret.is_none());
    assert_eq!(created.created_at, new.created_at);
    assert_eq!(
        webhooks.find_webhook(new.id).await.unwrap(),
        Some(created.clone())
    );
    let all = register(&*webhooks, None).await;
    assert_eq!(all.events, None);
    let listed = webhooks.list_webhooks().await.unwrap();
    let mine: Vec<_> = listed
        .iter()
        .filter(|e| e.id == created.id || e.id == all.id)
        .collect();
    assert_eq!(mine, vec![&created, &all], "oldest first");

    let secret = WebhookSecret::from_bytes([42; 32]);
    let until = now() + TimeDelta::hours(24);
    let rotated = webhooks
        .rotate_secret(created.id, secret.clone(), until, &system_write())
        .await
        .map(done)
        .unwrap()
        .unwrap();
    assert_eq!(rotated.secret, secret);
    assert_eq!(rotated.previous_secret, Some((new.secret, until)));
    assert_eq!(
        webhooks.find_webhook(created.id).await.unwrap(),
        Some(rotated)
    );

    let off = webhooks
        .set_enabled(created.id, false, &system_write())
        .await
        .map(done)
        .unwrap()
        .unwrap();
    assert!(!off.enabled);
    assert!(webhooks
        .set_enabled(Uuid::now_v7(), true, &system_write())
        .await
        .map(done)
        .unwrap()
        .is_none());
    assert!(webhooks
        .rotate_secret(
            Uuid::now_v7(),
            WebhookSecret::from_bytes([1; 32]),
            until,
            &system_write(),
        )
        .await
        .map(done)
        .unwrap()
        .is_none());

    assert!(done(
        webhooks
            .delete_webhook(created.id, &system_write())
            .await
            .unwrap()
    ));
    assert!(!done(
        webhooks
            .delete_webhook(created.id, &system_write())
            .await
            .unwrap()
    ));
    assert_eq!(webhooks.find_webhook(created.id).await.unwrap(), None);
}

pub async fn webhooks_changes_owe_one_delivery_per_enabled_subscribed_endpoint(
    users: Arc<dyn UserRepo>,
    webhooks: Arc<dyn WebhookRepo>,
) {
    let admin = sentinel(&*users).await;
    let all = register(&*webhooks, None).await;
    let only_reactivations =
        register(&*webhooks, Some(vec![WebhookEventType::UserReactivated])).await;
    let disabled = register(&*webhooks, None).await;
    done(
        webhooks
            .set_enabled(disabled.id, false, &system_write())
            .await
            .unwrap(),
    );
    let target = create(&*users, Role::User, "Ada").await;

    let off = change(
        StatusAction::Deactivate,
        &target,
        &admin,
        reason("left the team"),
        now(),
    );
    applied(users.change_status(off.clone()).await);
    let owed_all = owed(&*webhooks, &all).await;
    assert_eq!(owed_all.len(), 1);
    let delivery = &owed_all[0];
    assert_eq!(delivery.endpoint_id, all.id);
    assert_eq!(
        delivery.event_id, off.event_id,
        "the event is the audit event"
    );
    assert_eq!(delivery.event_type, WebhookEventType::UserDeactivated);
    assert_eq!(delivery.user_id, target.id);
    assert_eq!(delivery.email, target.email.as_str());
    assert_eq!(delivery.actor, RecordedActor::from(&off.actor));
    assert_eq!(delivery.reason, off.reason);
    assert_eq!(delivery.at, off.at);
    assert_eq!(delivery.next_attempt_at, off.at, "due at once");
    assert_eq!(delivery.attempts, 0);
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.last_status_code, None);
    assert!(owed(&*webhooks, &only_reactivations).await.is_empty());
    assert!(owed(&*webhooks, &disabled).await.is_empty());

    let on = change(StatusAction::Reactivate, &target, &admin, None, now());
    applied(users.change_status(on.clone()).await);
    let owed_all = owed(&*webhooks, &all).await;
    assert_eq!(owed_all.len(), 2);
    assert_eq!(owed_all[0].event_id, on.event_id, "newest first");
    assert_eq!(owed_all[0].event_type, WebhookEventType::UserReactivated);
    assert_eq!(owed_all[0].reason, None);
    let owed_re = owed(&*webhooks, &only_reactivations).await;
    assert_eq!(owed_re.len(), 1);
    assert_eq!(owed_re[0].event_id, on.event_id);
    assert!(owed(&*webhooks, &disabled).await.is_empty());
    // Paging by event id.
    let older = webhooks
        .deliveries(all.id, Some(on.event_id), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].event_id, off.event_id);
}

pub async fn webhooks_refused_changes_owe_nothing(
    users: Arc<dyn UserRepo>,
    webhooks: Arc<dyn WebhookRepo>,
) {
    let admin = sentinel(&*users).await;
    let all = register(&*webhooks, None).await;
    let target = create(&*users, Role::User, "Ada").await;
    // Already active: refused.
    let on = change(StatusAction::Reactivate, &target, &admin, None, now());
    assert_eq!(
        users.change_status(on).await.unwrap(),
        StatusChangeOutcome::AlreadyInState
    );
    // The last active admin: refused.
    let other = create(&*users, Role::User, "Bob").await;
    let mut last = change(StatusAction::Deactivate, &admin, &other, None, now());
    last.actor = warden_domain::Actor::system();
    assert_eq!(
        users.change_status(last).await.unwrap(),
        StatusChangeOutcome::LastActiveAdmin
    );
    // An actor whose authority is gone (a stale token version): refused.
    let mut stale = change(StatusAction::Deactivate, &target, &admin, None, now());
    stale.actor = warden_domain::Actor::admin(admin.id, admin.email.to_string(), 999);
    assert_eq!(
        users.change_status(stale).await.unwrap(),
        StatusChangeOutcome::ActorRevoked
    );
    assert!(owed(&*webhooks, &all).await.is_empty());

    // A timed deactivation owes one event; lifting it before it is due is refused and owes none.
    let at = now();
    let mut timed = change(StatusAction::Deactivate, &target, &admin, None, at);
    timed.until = Some(at + TimeDelta::hours(1));
    applied(users.change_status(timed.clone()).await);
    let mut early = change(StatusAction::Reactivate, &target, &admin, None, now());
    early.actor = warden_domain::Actor::system();
    early.only_if_due_at = Some(at);
    assert_eq!(
        users.change_status(early).await.unwrap(),
        StatusChangeOutcome::NotDue
    );
    let owed_now = owed(&*webhooks, &all).await;
    assert_eq!(owed_now.len(), 1);
    assert_eq!(owed_now[0].event_id, timed.event_id);
}

pub async fn webhooks_claims_lease_count_and_finish(
    users: Arc<dyn UserRepo>,
    webhooks: Arc<dyn WebhookRepo>,
) {
    let admin = sentinel(&*users).await;
    let endpoint = register(&*webhooks, None).await;
    let target = create(&*users, Role::User, "Ada").await;
    let at = now();
    let off = change(StatusAction::Deactivate, &target, &admin, None, at);
    applied(users.change_status(off.clone()).await);
    let lease = TimeDelta::seconds(30);

    assert!(
        claim_of(&*webhooks, &endpoint, at - TimeDelta::seconds(1), lease)
            .await
            .is_empty(),
        "not due before the change"
    );
    let first = claim_of(&*webhooks, &endpoint, at, lease).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    let id = first[0].id;
    assert!(
        claim_of(&*webhooks, &endpoint, at + TimeDelta::seconds(29), lease)
            .await
            .is_empty(),
        "leased"
    );
    assert_eq!(
        webhooks
            .retry_delivery(endpoint.id, id, at + TimeDelta::seconds(1))
            .await
            .unwrap(),
        RetryDelivery::InFlight
    );
    // The sender died: the delivery comes back when the lease ends, the same event.
    let again = claim_of(&*webhooks, &endpoint, at + lease, lease).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].event_id), (id, off.event_id));
    assert_eq!(again[0].attempts, 2);

    let retry_at = at + TimeDelta::minutes(5);
    webhooks
        .finish_attempt(
            id,
            Some(500),
            Finish::RetryAt(retry_at, "answered 500".into()),
        )
        .await
        .unwrap();
    let listed = owed(&*webhooks, &endpoint).await;
    assert_eq!(listed[0].last_status_code, Some(500));
    assert_eq!(listed[0].last_error.as_deref(), Some("answered 500"));
    assert_eq!(listed[0].next_attempt_at, retry_at);
    assert!(claim_of(
        &*webhooks,
        &endpoint,
        retry_at - TimeDelta::seconds(1),
        lease
    )
    .await
    .is_empty());

    // 410: failed, and the endpoint disabled; a disabled endpoint's deliveries wait.
    let third = claim_of(&*webhooks, &endpoint, retry_at, lease).await;
    assert_eq!(third.len(), 1);
    webhooks
        .finish_attempt(id, Some(410), Finish::Gone)
        .await
        .unwrap();
    let found = webhooks.find_webhook(endpoint.id).await.unwrap().unwrap();
    assert!(!found.enabled, "410 disables the endpoint");
    assert_eq!(
        owed(&*webhooks, &endpoint).await[0].status,
        DeliveryStatus::Failed
    );
    let far = retry_at + TimeDelta::days(1);
    assert_eq!(
        webhooks.retry_delivery(endpoint.id, id, far).await.unwrap(),
        RetryDelivery::Queued
    );
    assert!(
        claim_of(&*webhooks, &endpoint, far, lease).await.is_empty(),
        "a disabled endpoint gets nothing"
    );
    done(
        webhooks
            .set_enabled(endpoint.id, true, &system_write())
            .await
            .unwrap(),
    );
    let enabled = webhooks.find_webhook(endpoint.id).await.unwrap().unwrap();
    let fourth: Vec<_> = webhooks
        .claim_deliveries(far, far + lease, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.endpoint.id == enabled.id)
        .collect();
    assert_eq!(fourth.len(), 1);
    assert_eq!(fourth[0].delivery.attempts, 4, "attempts are kept");
    webhooks
        .finish_attempt(id, Some(204), Finish::Delivered)
        .await
        .unwrap();
    assert_eq!(
        owed(&*webhooks, &endpoint).await[0].status,
        DeliveryStatus::Delivered
    );
    assert_eq!(
        webhooks.retry_delivery(endpoint.id, id, far).await.unwrap(),
        RetryDelivery::AlreadyDelivered
    );
    assert_eq!(
        webhooks
            .retry_delivery(Uuid::now_v7(), id, far)
            .await
            .unwrap(),
        RetryDelivery::NotFound,
        "a delivery of another endpoint"
    );
    // Finishing again changes nothing.
    webhooks
        .finish_attempt(id, Some(500), Finish::Failed("late".into()))
        .await
        .unwrap();
    assert_eq!(
        owed(&*webhooks, &endpoint).await[0].status,
        DeliveryStatus::Delivered
    );
}

pub async fn webhooks_purge_deletes_only_delivered_before_the_cutoff(
    users: Arc<dyn UserRepo>,
    webhooks: Arc<dyn WebhookRepo>,
) {
    let admin = sentinel(&*users).await;
    let endpoint = register(&*webhooks, None).await;
    let mut finished = Vec::new();
    for finish in [
        Some(Finish::Delivered),
        Some(Finish::Failed("answered 500".into())),
        None,
    ] {
        let target = create(&*users, Role::User, "Ada").await;
        let at = now();
        applied(
            users
                .change_status(change(StatusAction::Deactivate, &target, &admin, None, at))
                .await,
        );
        let claimed = claim_of(&*webhooks, &endpoint, at, TimeDelta::seconds(30)).await;
        assert_eq!(claimed.len(), 1);
        if let Some(finish) = finish {
            webhooks
                .finish_attempt(claimed[0].id, Some(200), finish)
                .await
                .unwrap();
        }
        finished.push(claimed[0].id);
    }
    let before = now() - TimeDelta::hours(1);
    assert_eq!(webhooks.purge_delivered(before, 100).await.unwrap(), 0);
    assert_eq!(owed(&*webhooks, &endpoint).await.len(), 3);
    let later = now() + TimeDelta::hours(1);
    // Other endpoints' deliveries may be purged too; this endpoint loses exactly one.
    assert!(webhooks.purge_delivered(later, 1000).await.unwrap() >= 1);
    let left: Vec<Uuid> = owed(&*webhooks, &endpoint)
        .await
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(left.len(), 2, "the failed and the pending are kept");
    assert!(!left.contains(&finished[0]));
}
