//! The conformance suite of [`SsfRepo`] adapters, with the SETs a status change writes through
//! [`UserRepo::change_status`] in the same store, and the clients that own streams. Each check
//! looks only at the streams it creates.

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;
use warden_domain::ports::{ClientRepo, SsfRepo, UserRepo};
use warden_domain::{
    Actor, Authorized, ClientName, ClientRef, NewClient, PollRequest, QueuedSet, Role, Scope,
    SecurityEventType, SetFinish, StatusAction, StatusChangeOutcome, Stream, StreamDelivery,
    StreamStatus, TokenHash, STATUS_EVENT_TYPES,
};

use super::helpers::{applied, change, create, done, now, reason, sentinel, system_write};

/// Generates one `#[tokio::test]` per SSF check. `$fresh` is an `async fn(test_name: &str) ->
/// Option<(Arc<dyn UserRepo>, Arc<dyn ClientRepo>, Arc<dyn SsfRepo>, G)>` giving a new,
/// migrated store (every handle on the same database).
#[macro_export]
macro_rules! ssf_contract_tests {
    ($fresh:path) => {
        $crate::ssf_contract_tests!(@each $fresh;
            ssf_changes_owe_one_set_per_type_and_open_stream_in_order,
            ssf_push_claims_take_each_streams_oldest_set_only,
            ssf_streams_belong_to_their_live_client,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((users, clients, ssf, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(users, clients, ssf).await;
            }
        )*
    };
}

async fn live_client(clients: &dyn ClientRepo) -> Uuid {
    let name = ClientName::parse(&format!("r-{}", Uuid::new_v4().simple())).unwrap();
    let new = NewClient {
        id: Uuid::now_v7(),
        name,
        scopes: vec![Scope::SsfManage],
        token_hash: TokenHash::new(Uuid::new_v4().as_bytes().repeat(2)),
        created_at: now(),
    };
    done(clients.create(new, &system_write()).await.unwrap()).id
}

fn stream(client: Uuid, delivery: StreamDelivery, events: &[SecurityEventType]) -> Stream {
    let requested: Vec<String> = events.iter().map(|t| t.uri().to_owned()).collect();
    Stream {
        id: Uuid::new_v4(),
        client_id: client,
        audience: client.to_string(),
        delivery,
        events_delivered: Stream::delivered_of(&requested),
        events_requested: requested,
        status: StreamStatus::Enabled,
        status_reason: None,
        description: None,
        created_at: now(),
    }
}

fn push() -> StreamDelivery {
    StreamDelivery::Push {
        endpoint_url: format!("https://{}.example.com/ssf", Uuid::new_v4().simple()),
        authorization_header: Some("Bearer r".into()),
    }
}

async fn owed(ssf: &dyn SsfRepo, stream: &Stream) -> Vec<QueuedSet> {
    let request = PollRequest {
        max_events: 100,
        ..PollRequest::default()
    };
    ssf.poll(stream.client_id, stream.id, request, now())
        .await
        .unwrap()
        .unwrap()
        .0
}

pub async fn ssf_changes_owe_one_set_per_type_and_open_stream_in_order(
    users: Arc<dyn UserRepo>,
    clients: Arc<dyn ClientRepo>,
    ssf: Arc<dyn SsfRepo>,
) {
    let admin = sentinel(&*users).await;
    let client = live_client(&*clients).await;
    let all = stream(client, StreamDelivery::Poll, &STATUS_EVENT_TYPES);
    let disabled_only = stream(
        client,
        StreamDelivery::Poll,
        &[SecurityEventType::AccountDisabled],
    );
    let dropped = stream(client, StreamDelivery::Poll, &STATUS_EVENT_TYPES);
    for s in [&all, &disabled_only, &dropped] {
        assert!(ssf.create_stream(s.clone()).await.unwrap().is_some());
    }
    ssf.set_status(client, dropped.id, StreamStatus::Disabled, None)
        .await
        .unwrap()
        .unwrap();
    let target = create(&*users, Role::User, "Ada").await;

    // Refused: owes nothing.
    let on = change(StatusAction::Reactivate, &target, &admin, None, now());
    assert_eq!(
        users.change_status(on).await.unwrap(),
        StatusChangeOutcome::AlreadyInState
    );
    assert!(owed(&*ssf, &all).await.is_empty());

    let off = change(
        StatusAction::Deactivate,
        &target,
        &admin,
        reason("spam"),
        now(),
    );
    applied(users.change_status(off.clone()).await);
    let sets = owed(&*ssf, &all).await;
    let types: Vec<_> = sets.iter().map(|s| s.event_type).collect();
    assert_eq!(
        types,
        [
            SecurityEventType::AccountDisabled,
            SecurityEventType::SessionRevoked
        ]
    );
    for set in &sets {
        assert_eq!(set.txn, off.event_id);
        assert_eq!(set.subject, Some(*target.id.as_uuid()));
        assert_eq!(set.occurred_at, off.at);
        assert_eq!(set.reason.as_deref(), Some("spam"));
        assert_eq!(set.actor_kind, Some(off.actor.kind()));
        assert_eq!(set.stream_id, all.id);
    }
    assert_ne!(sets[0].jti, sets[1].jti);
    let only = owed(&*ssf, &disabled_only).await;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].event_type, SecurityEventType::AccountDisabled);
    assert!(owed(&*ssf, &dropped).await.is_empty());

    // Acknowledged ones never come again; the reactivation comes after them.
    let mut system = change(StatusAction::Reactivate, &target, &admin, None, now());
    system.actor = Actor::system();
    applied(users.change_status(system).await);
    let ack = PollRequest {
        ack: vec![sets[0].jti],
        set_errs: vec![(sets[1].jti, "invalid_key".into())],
        max_events: 1,
    };
    let (next, more) = ssf.poll(client, all.id, ack, now()).await.unwrap().unwrap();
    assert!(!more);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event_type, SecurityEventType::AccountEnabled);
    assert_eq!(next[0].actor_kind, Some(warden_domain::ActorKind::System));
}

pub async fn ssf_push_claims_take_each_streams_oldest_set_only(
    users: Arc<dyn UserRepo>,
    clients: Arc<dyn ClientRepo>,
    ssf: Arc<dyn SsfRepo>,
) {
    let admin = sentinel(&*users).await;
    let client = live_client(&*clients).await;
    let pushed = stream(client, push(), &STATUS_EVENT_TYPES);
    let second = stream(client, push(), &[SecurityEventType::AccountDisabled]);
    let paused = stream(client, push(), &STATUS_EVENT_TYPES);
    for s in [&pushed, &second, &paused] {
        ssf.create_stream(s.clone()).await.unwrap().unwrap();
    }
    ssf.set_status(client, paused.id, StreamStatus::Paused, None)
        .await
        .unwrap()
        .unwrap();
    let target = create(&*users, Role::User, "Ada").await;
    let at = now();
    applied(
        users
            .change_status(change(StatusAction::Deactivate, &target, &admin, None, at))
            .await,
    );
    let ours = [pushed.id, second.id, paused.id];
    let mine = |claimed: Vec<(Stream, QueuedSet)>| -> Vec<QueuedSet> {
        let mut sets: Vec<QueuedSet> = claimed
            .into_iter()
            .filter(|(s, _)| ours.contains(&s.id))
            .map(|(_, set)| set)
            .collect();
        sets.sort_by_key(|set| set.stream_id != pushed.id);
        sets
    };
    let lease = at + TimeDelta::seconds(30);
    let first = mine(ssf.claim_push(at, lease, 100).await.unwrap());
    assert_eq!(
        first.len(),
        2,
        "one per enabled stream, none of the paused one"
    );
    assert_eq!(first[0].event_type, SecurityEventType::AccountDisabled);
    assert_eq!((first[1].stream_id, first[1].attempts), (second.id, 1));
    assert_eq!(first[0].attempts, 1);
    // Leased: not again before the lease ends; the next of its stream waits behind it.
    assert!(mine(ssf.claim_push(at, lease, 100).await.unwrap()).is_empty());
    let retry = at + TimeDelta::seconds(2);
    ssf.finish_push(
        first[0].jti,
        Some(503),
        SetFinish::RetryAt(retry, "503".into()),
        at,
    )
    .await
    .unwrap();
    ssf.finish_push(first[1].jti, Some(202), SetFinish::Delivered, at)
        .await
        .unwrap();
    assert!(mine(ssf.claim_push(at, lease, 100).await.unwrap()).is_empty());
    let again = mine(ssf.claim_push(retry, lease, 100).await.unwrap());
    assert_eq!(again.len(), 1, "the other stream owes nothing more");
    assert_eq!((again[0].jti, again[0].attempts), (first[0].jti, 2));
    ssf.finish_push(again[0].jti, Some(202), SetFinish::Delivered, retry)
        .await
        .unwrap();
    let next = mine(ssf.claim_push(retry, lease, 100).await.unwrap());
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event_type, SecurityEventType::SessionRevoked);
    ssf.finish_push(
        next[0].jti,
        Some(400),
        SetFinish::Failed("400".into()),
        retry,
    )
    .await
    .unwrap();

    // A stream waiting for a retry holds back its own SETs only.
    let other = create(&*users, Role::User, "Bob").await;
    let at = retry + TimeDelta::seconds(1);
    applied(
        users
            .change_status(change(StatusAction::Deactivate, &other, &admin, None, at))
            .await,
    );
    let lease = at + TimeDelta::seconds(30);
    let both = mine(ssf.claim_push(at, lease, 100).await.unwrap());
    assert_eq!(both.len(), 2);
    ssf.finish_push(
        both[0].jti,
        None,
        SetFinish::RetryAt(lease, "timeout".into()),
        at,
    )
    .await
    .unwrap();
    ssf.finish_push(both[1].jti, Some(202), SetFinish::Delivered, at)
        .await
        .unwrap();
    assert!(mine(ssf.claim_push(at, lease, 100).await.unwrap()).is_empty());
    let late = mine(ssf.claim_push(lease, lease, 100).await.unwrap());
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].jti, both[0].jti);
    ssf.finish_push(late[0].jti, Some(202), SetFinish::Delivered, lease)
        .await
        .unwrap();
    let last = mine(ssf.claim_push(lease, lease, 100).await.unwrap());
    assert_eq!(last.len(), 1);
    ssf.finish_push(last[0].jti, Some(202), SetFinish::Delivered, lease)
        .await
        .unwrap();
    let later = lease + TimeDelta::hours(2);
    assert!(mine(ssf.claim_push(later, later, 100).await.unwrap()).is_empty());
    // Enabled again, the paused stream delivers what it held, in order.
    ssf.set_status(client, paused.id, StreamStatus::Enabled, None)
        .await
        .unwrap()
        .unwrap();
    let held = mine(ssf.claim_push(later, later, 100).await.unwrap());
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].stream_id, paused.id);
    assert_eq!(held[0].event_type, SecurityEventType::AccountDisabled);
}

pub async fn ssf_streams_belong_to_their_live_client(
    _users: Arc<dyn UserRepo>,
    clients: Arc<dyn ClientRepo>,
    ssf: Arc<dyn SsfRepo>,
) {
    let owner = live_client(&*clients).await;
    let other = live_client(&*clients).await;
    let mine = stream(owner, StreamDelivery::Poll, &STATUS_EVENT_TYPES);
    let stored = ssf.create_stream(mine.clone()).await.unwrap().unwrap();
    assert_eq!(stored, mine);
    assert_eq!(
        ssf.streams(owner).await.unwrap(),
        std::slice::from_ref(&mine)
    );
    assert!(ssf.streams(other).await.unwrap().is_empty());
    assert!(ssf.stream(other, mine.id).await.unwrap().is_none());
    let mut taken = mine.clone();
    taken.client_id = other;
    taken.description = Some("mine now".into());
    assert!(ssf.update_stream(taken).await.unwrap().is_none());
    assert!(!ssf.delete_stream(other, mine.id).await.unwrap());
    assert!(ssf
        .set_status(other, mine.id, StreamStatus::Disabled, None)
        .await
        .unwrap()
        .is_none());
    let mut changed = mine.clone();
    changed.description = Some("payroll".into());
    changed.delivery = push();
    let updated = ssf.update_stream(changed.clone()).await.unwrap().unwrap();
    assert_eq!(updated, changed);

    // A revoked client's writes write nothing.
    let by = Authorized::new(Actor::system(), now());
    done(clients.revoke(&ClientRef::Id(owner), &by).await.unwrap()).unwrap();
    assert!(ssf
        .create_stream(stream(owner, StreamDelivery::Poll, &STATUS_EVENT_TYPES))
        .await
        .unwrap()
        .is_none());
    assert!(ssf
        .set_status(owner, mine.id, StreamStatus::Paused, None)
        .await
        .unwrap()
        .is_none());
    assert!(!ssf.delete_stream(owner, mine.id).await.unwrap());
    assert_eq!(ssf.streams(owner).await.unwrap(), [changed]);
}
