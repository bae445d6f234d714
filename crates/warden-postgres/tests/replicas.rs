//! PostgreSQL-specific guarantees: several replicas (separate pools) on one database, migrations,
//! and the test schemas themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use common::{change, create, Db};
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use tokio::sync::Barrier;
use warden_domain::ports::{Outbox, StoreError, UserRepo};
use warden_domain::{Role, StatusAction, StatusChangeOutcome};
use warden_postgres::testing::TestSchema;
use warden_postgres::PgStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_deactivations_across_two_replicas_apply_once() {
    let Some(db) = Db::fresh("fifty_deactivations_across_two_replicas_apply_once").await else {
        return;
    };
    let replicas = [db.store.clone(), db.replica().await];
    let admin = create(&db.store, Role::Admin, "Root").await;
    let target = create(&db.store, Role::User, "Ada").await;

    const TASKS: usize = 50;
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = replicas[i % 2].clone();
            let change = change(StatusAction::Deactivate, &target, &admin);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.change_status(change).await
            })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap().expect("no store error") {
            StatusChangeOutcome::Applied(user) => {
                applied += 1;
                assert_eq!(user.token_version, 1);
            }
            StatusChangeOutcome::AlreadyInState => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(
        db.store.events(&target.id, None, 100).await.unwrap().len(),
        1
    );
    let stats = db.store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (1, 0));
    let now = common::now() + TimeDelta::hours(1);
    let claimed = replicas[1].claim_due(now, now, 100).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].notification.to, target.email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_never_claim_the_same_notification() {
    let Some(db) = Db::fresh("replicas_never_claim_the_same_notification").await else {
        return;
    };
    let admin = create(&db.store, Role::Admin, "Root").await;
    let mut expected = HashSet::new();
    for _ in 0..40 {
        let user = create(&db.store, Role::User, "Ada").await;
        let off = change(StatusAction::Deactivate, &user, &admin);
        expected.insert(off.notification_id);
        db.store.change_status(off).await.unwrap();
    }
    let replicas = [db.store.clone(), db.replica().await];
    let now = common::now() + TimeDelta::seconds(1);
    let barrier = Arc::new(Barrier::new(6));
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let store = replicas[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_due(now, now + TimeDelta::minutes(5), 3)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|p| p.notification.id));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let unique: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "claimed twice");
    assert_eq!(unique, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_deactivating_each_other_from_two_replicas_leave_one_active() {
    let Some(db) = Db::fresh("admins_deactivating_each_other_from_two_replicas").await else {
        return;
    };
    let replicas = [db.store.clone(), db.replica().await];
    let mut survivor = None;
    for round in 0..10 {
        let a = create(&db.store, Role::Admin, "Alice").await;
        let b = create(&db.store, Role::Admin, "Bob").await;
        if let Some(previous) = survivor.take() {
            // Make `a` and `b` the only active admins.
            let outcome = db
                .store
                .change_status(change(StatusAction::Deactivate, &previous, &a))
                .await
                .unwrap();
            assert!(matches!(outcome, StatusChangeOutcome::Applied(_)));
        }
        let barrier = Arc::new(Barrier::new(2));
        let race = |store: PgStore, target, actor| {
            let change = change(StatusAction::Deactivate, target, actor);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.change_status(change).await
            })
        };
        let a_off_b = race(replicas[0].clone(), &b, &a);
        let b_off_a = race(replicas[1].clone(), &a, &b);
        let outcomes = [
            a_off_b.await.unwrap().unwrap(),
            b_off_a.await.unwrap().unwrap(),
        ];
        let applied = outcomes
            .iter()
            .filter(|o| matches!(o, StatusChangeOutcome::Applied(_)))
            .count();
        assert_eq!(applied, 1, "round {round}: {outcomes:?}");
        // The loser is refused: its own authority is gone by the time it commits (or, had it
        // run first, its target would be the last active admin).
        assert!(
            outcomes.contains(&StatusChangeOutcome::ActorRevoked)
                || outcomes.contains(&StatusChangeOutcome::LastActiveAdmin),
            "round {round}: {outcomes:?}"
        );
        let a_now = db.store.find_by_id(&a.id).await.unwrap().unwrap();
        let b_now = db.store.find_by_id(&b.id).await.unwrap().unwrap();
        assert!(a_now.is_active() != b_now.is_active(), "round {round}");
        survivor = Some(if a_now.is_active() { a_now } else { b_now });
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_may_race_on_a_current_thread_runtime() {
    let Some(base) = common::database_url("migrations_are_idempotent") else {
        return;
    };
    let schema = TestSchema::create(&base).await.unwrap();
    let (one, two) = (
        common::connect(schema.url()).await,
        common::connect(schema.url()).await,
    );
    let (first, second) = tokio::join!(one.migrate(), two.migrate());
    first.unwrap();
    second.unwrap();
    one.migrate().await.unwrap();
    let user = create(&two, Role::User, "Ada").await;
    assert_eq!(one.find_by_id(&user.id).await.unwrap(), Some(user));
}

/// Every statement has the pool's timeout as its deadline (a full pool is bounded the same way,
/// see `unavailable.rs` and the binary's fault tests): one stuck behind a lock is cut off, its
/// connection closed rather than handed out again, and the store serves on a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_that_outlasts_the_timeout_is_unavailable_and_the_pool_recovers() {
    let Some(db) = Db::fresh("a_statement_that_outlasts_the_timeout").await else {
        return;
    };
    let admin = create(&db.store, Role::Admin, "Root").await;
    let other = create(&db.store, Role::Admin, "Other").await;
    let timeout = Duration::from_millis(500);
    let small = PgStore::connect(db.schema.url(), 1, timeout).await.unwrap();
    small.ping().await.unwrap();

    // Hold the admin lock from outside, so that an admin deactivation waits for it.
    let mut holder = AsyncPgConnection::establish(db.schema.url()).await.unwrap();
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(1466786373, hashtext(coalesce(current_schema(), '')))",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let blocked = small
        .change_status(change(StatusAction::Deactivate, &other, &admin))
        .await;
    assert!(
        matches!(blocked, Err(StoreError::Unavailable(_))),
        "{blocked:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_millis(1500));
    small.ping().await.unwrap();

    holder
        .batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();
    // Cut off before its change was sent: nothing was applied, and it goes through now.
    assert!(db
        .store
        .find_by_id(&other.id)
        .await
        .unwrap()
        .unwrap()
        .is_active());
    let outcome = small
        .change_status(change(StatusAction::Deactivate, &other, &admin))
        .await
        .unwrap();
    assert!(matches!(outcome, StatusChangeOutcome::Applied(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_giving_up_mid_transaction_does_not_leave_the_admin_lock_held() {
    let Some(db) = Db::fresh("a_caller_giving_up_mid_transaction").await else {
        return;
    };
    let root = create(&db.store, Role::Admin, "Root").await;
    let x = create(&db.store, Role::Admin, "X").await;
    let y = create(&db.store, Role::Admin, "Y").await;
    let other_replica = db.replica().await;

    let mut holder = AsyncPgConnection::establish(db.schema.url()).await.unwrap();
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(1466786373, hashtext(coalesce(current_schema(), '')))",
        )
        .await
        .unwrap();
    // The caller waits at the lock, then goes away (as when an HTTP client hangs up).
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        db.store
            .change_status(change(StatusAction::Deactivate, &x, &root)),
    )
    .await;
    assert!(gave_up.is_err());
    holder
        .batch_execute("SELECT pg_advisory_unlock_all()")
        .await
        .unwrap();

    let started = Instant::now();
    let outcome = other_replica
        .change_status(change(StatusAction::Deactivate, &y, &root))
        .await
        .unwrap();
    assert!(matches!(outcome, StatusChangeOutcome::Applied(_)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The abandoned change still completed, on its own.
    let x_now = db.store.find_by_id(&x.id).await.unwrap().unwrap();
    assert!(!x_now.is_active());
}

async fn schema_exists(base: &str, name: &str) -> bool {
    let mut conn = AsyncPgConnection::establish(base).await.unwrap();
    diesel::select(diesel::dsl::sql::<Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{name}')"
    )))
    .get_result(&mut conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_schemas_are_isolated_and_dropped_even_after_a_panic() {
    let Some(base) = common::database_url("test_schemas_are_isolated") else {
        return;
    };
    let first = Db::fresh("isolated").await.unwrap();
    let second = Db::fresh("isolated").await.unwrap();
    let user = create(&first.store, Role::User, "Ada").await;
    assert_eq!(second.store.find_by_id(&user.id).await.unwrap(), None);
    assert!(second
        .store
        .find_by_email(&user.email)
        .await
        .unwrap()
        .is_none());

    let name = first.schema.name().to_owned();
    assert!(schema_exists(&base, &name).await);
    drop(first);
    assert!(!schema_exists(&base, &name).await, "dropped with its Db");

    let (tx, rx) = tokio::sync::oneshot::channel();
    let panicked = tokio::spawn(async move {
        let db = Db::fresh("panicking").await.unwrap();
        let _user = create(&db.store, Role::User, "Ada").await;
        tx.send(db.schema.name().to_owned()).unwrap();
        panic!("a failing test");
    })
    .await;
    assert!(panicked.is_err());
    let name = rx.await.unwrap();
    assert!(
        !schema_exists(&base, &name).await,
        "dropped during unwinding"
    );
}
