//! Checks of [`IdempotencyStore`]: reserve, complete, release, take-over and purge, applied
//! atomically under [`warden_domain::IdempotencyPolicy`]. Each check uses actors of its own, so
//! checks may share a store.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use warden_domain::ports::IdempotencyStore;
use warden_domain::{
    Fingerprint, IdempotencyDecision, IdempotencyKey, IdempotencyScope, StoredResponse,
};

use IdempotencyDecision::{InProgress, Mismatch, Proceed, Replay};

/// One `#[tokio::test]` per check of [`IdempotencyStore`]; `$fresh` is an
/// `async fn(test_name: &str) -> Option<(Arc<dyn IdempotencyStore>, G)>` (see
/// [`crate::contract_tests`], which calls this with its `idempotency:` argument).
#[macro_export]
macro_rules! idempotency_contract_tests {
    ($fresh:path) => {
        $crate::idempotency_contract_tests!(@each $fresh;
            idempotency_reserve_complete_replay,
            idempotency_scopes_are_independent,
            idempotency_release_frees_only_its_reservation,
            idempotency_abandoned_and_expired_keys_are_taken_over,
            idempotency_concurrent_reservations_one_wins,
            idempotency_purge_deletes_only_expired,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((keys, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(keys).await;
            }
        )*
    };
}

/// Whole microseconds, as the port asks.
fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds)
}

fn scope(actor: &str, route: &str, key: &str) -> IdempotencyScope {
    IdempotencyScope::new(actor, route, IdempotencyKey::parse(key).unwrap())
}

/// An actor no other check (or run) uses.
fn fresh_actor() -> String {
    uuid::Uuid::now_v7().to_string()
}

const ROUTE: &str = "PATCH /api/v1/users/deactivate";

fn answer(status: u16) -> StoredResponse {
    StoredResponse {
        status,
        body: format!(r#"{{"status":"x","status_code":{status},"message":"é ✓","data":{{}}}}"#),
    }
}

/// The first use proceeds; while in flight the same request is in progress; once completed it
/// replays the stored answer exactly; another body is a mismatch either way.
pub async fn idempotency_reserve_complete_replay(store: Arc<dyn IdempotencyStore>) {
    let s = scope(&fresh_actor(), ROUTE, "key-1");
    let (body, other) = (Fingerprint::of_body(b"a"), Fingerprint::of_body(b"b"));
    assert_eq!(store.reserve(&s, &body, t(0)).await.unwrap(), Proceed);
    assert_eq!(store.reserve(&s, &body, t(1)).await.unwrap(), InProgress);
    assert_eq!(store.reserve(&s, &other, t(1)).await.unwrap(), Mismatch);
    store.complete(&s, t(0), &answer(400)).await.unwrap();
    assert_eq!(
        store.reserve(&s, &body, t(2)).await.unwrap(),
        Replay(answer(400))
    );
    assert_eq!(store.reserve(&s, &other, t(2)).await.unwrap(), Mismatch);
    // A second completion changes nothing.
    store.complete(&s, t(0), &answer(200)).await.unwrap();
    assert_eq!(
        store.reserve(&s, &body, t(3)).await.unwrap(),
        Replay(answer(400))
    );
}

/// Another actor, another route or another key is another record.
pub async fn idempotency_scopes_are_independent(store: Arc<dyn IdempotencyStore>) {
    let (ada, bob) = (fresh_actor(), fresh_actor());
    let body = Fingerprint::of_body(b"same");
    let first = scope(&ada, ROUTE, "shared");
    assert_eq!(store.reserve(&first, &body, t(0)).await.unwrap(), Proceed);
    store.complete(&first, t(0), &answer(200)).await.unwrap();
    for other in [
        scope(&bob, ROUTE, "shared"),
        scope(&ada, "PATCH /api/v1/users/reactivate", "shared"),
        scope(&ada, ROUTE, "Shared"),
    ] {
        assert_eq!(store.reserve(&other, &body, t(1)).await.unwrap(), Proceed);
    }
}

/// A released reservation frees the key; releasing or completing with another instant, or a
/// completed record, changes nothing.
pub async fn idempotency_release_frees_only_its_reservation(store: Arc<dyn IdempotencyStore>) {
    let s = scope(&fresh_actor(), ROUTE, "k");
    let body = Fingerprint::of_body(b"a");
    assert_eq!(store.reserve(&s, &body, t(0)).await.unwrap(), Proceed);
    store.release(&s, t(5)).await.unwrap();
    store.complete(&s, t(5), &answer(200)).await.unwrap();
    assert_eq!(store.reserve(&s, &body, t(1)).await.unwrap(), InProgress);
    store.release(&s, t(0)).await.unwrap();
    assert_eq!(
        store
            .reserve(&s, &Fingerprint::of_body(b"b"), t(2))
            .await
            .unwrap(),
        Proceed
    );
    store.complete(&s, t(2), &answer(404)).await.unwrap();
    store.release(&s, t(2)).await.unwrap();
    assert_eq!(
        store
            .reserve(&s, &Fingerprint::of_body(b"b"), t(3))
            .await
            .unwrap(),
        Replay(answer(404))
    );
}

/// An abandoned reservation (in flight for 60 s) is taken over, and the late first request can
/// no longer complete it; an expired key (24 h) is new again.
pub async fn idempotency_abandoned_and_expired_keys_are_taken_over(
    store: Arc<dyn IdempotencyStore>,
) {
    let s = scope(&fresh_actor(), ROUTE, "k");
    let body = Fingerprint::of_body(b"a");
    assert_eq!(store.reserve(&s, &body, t(0)).await.unwrap(), Proceed);
    assert_eq!(store.reserve(&s, &body, t(59)).await.unwrap(), InProgress);
    assert_eq!(store.reserve(&s, &body, t(60)).await.unwrap(), Proceed);
    store.complete(&s, t(0), &answer(500)).await.unwrap();
    store.release(&s, t(0)).await.unwrap();
    assert_eq!(store.reserve(&s, &body, t(61)).await.unwrap(), InProgress);
    store.complete(&s, t(60), &answer(200)).await.unwrap();
    let day = 24 * 3600;
    assert_eq!(
        store.reserve(&s, &body, t(60 + day - 1)).await.unwrap(),
        Replay(answer(200))
    );
    let other = Fingerprint::of_body(b"b");
    assert_eq!(
        store.reserve(&s, &other, t(60 + day)).await.unwrap(),
        Proceed
    );
}

/// Of many simultaneous reservations of one key, exactly one proceeds.
pub async fn idempotency_concurrent_reservations_one_wins(store: Arc<dyn IdempotencyStore>) {
    let s = scope(&fresh_actor(), ROUTE, "race");
    let body = Fingerprint::of_body(b"a");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, s, body) = (store.clone(), s.clone(), body.clone());
            tokio::spawn(async move { store.reserve(&s, &body, t(0)).await.unwrap() })
        })
        .collect();
    let mut decisions = Vec::new();
    for task in tasks {
        decisions.push(task.await.unwrap());
    }
    let won = decisions.iter().filter(|d| **d == Proceed).count();
    assert_eq!(won, 1, "{decisions:?}");
    assert!(decisions.iter().all(|d| *d == Proceed || *d == InProgress));
}

/// Purging deletes records reserved before the cutoff, whatever their state, and no other.
pub async fn idempotency_purge_deletes_only_expired(store: Arc<dyn IdempotencyStore>) {
    let actor = fresh_actor();
    let (old, young) = (scope(&actor, ROUTE, "old"), scope(&actor, ROUTE, "young"));
    let body = Fingerprint::of_body(b"a");
    assert_eq!(store.reserve(&old, &body, t(-3600)).await.unwrap(), Proceed);
    store.complete(&old, t(-3600), &answer(200)).await.unwrap();
    assert_eq!(store.reserve(&young, &body, t(0)).await.unwrap(), Proceed);
    store.complete(&young, t(0), &answer(200)).await.unwrap();
    let purged = store.purge_idempotency(t(-1), 1000).await.unwrap();
    assert!(purged >= 1, "{purged}");
    let other = Fingerprint::of_body(b"b");
    // The old key is gone: even another body proceeds; the young one is still there.
    assert_eq!(store.reserve(&old, &other, t(1)).await.unwrap(), Proceed);
    assert_eq!(store.reserve(&young, &other, t(1)).await.unwrap(), Mismatch);
    assert_eq!(store.purge_idempotency(t(-1), 1000).await.unwrap(), 0);
}
