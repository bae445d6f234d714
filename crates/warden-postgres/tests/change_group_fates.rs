//! A grouped status change's fate is its own: a row locked elsewhere delays only the change that
//! targets it, groups sharing targets never deadlock, and a group that fails (refused, out of
//! time, or without a connection) answers each of its changes on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use warden_domain::ports::{Outbox, StoreError, UserRepo, WebhookRepo};
use warden_domain::{
    Actor, NewWebhook, Role, StatusAction, StatusChange, StatusChangeOutcome, UserId, WebhookSecret,
};
use warden_postgres::testing::failed_group_statements;
use warden_postgres::PgStore;

/// Group statements started (by this binary's tests).
static GROUPS: AtomicUsize = AtomicUsize::new(0);

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            if query.to_string().contains("unnest(") {
                GROUPS.fetch_add(1, Ordering::SeqCst);
            }
        }
    }))
}

/// Counts group statements, and runs this binary's tests one at a time: they compare counts
/// of this process before and after.
fn exclusive() -> MutexGuard<'static, ()> {
    static SET: Once = Once::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    SET.call_once(|| diesel::connection::set_default_instrumentation(counting).unwrap());
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `work` on a thread of its own with a current-thread runtime, as an HTTP worker: the
/// store's thread pool and change groups are that thread's.
fn on_worker<F, Fut, T>(work: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(work())
    })
    .join()
    .unwrap()
}

/// Applies `changes` concurrently on `worker` (in groups), in order of submission.
async fn apply_all(
    worker: &PgStore,
    changes: Vec<StatusChange>,
) -> Vec<Result<StatusChangeOutcome, StoreError>> {
    let calls: Vec<_> = changes
        .into_iter()
        .map(|change| {
            let worker = worker.clone();
            tokio::spawn(async move { worker.change_status(change).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap());
    }
    outcomes
}

async fn raw(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.unwrap()
}

/// A store on a worker, an admin, an account whose row another session holds locked, and 40
/// other accounts; `timeout` is the store's deadline.
struct Held {
    main: tokio::runtime::Runtime,
    _schema: warden_postgres::testing::TestSchema,
    shared: PgStore,
    worker: PgStore,
    admin: warden_domain::User,
    held: warden_domain::User,
    users: Vec<warden_domain::User>,
    holder: AsyncPgConnection,
}

fn with_a_held_row(base: &str, timeout: Duration) -> Held {
    let (main, schema, shared) = common::on_main_runtime(base, 4, timeout);
    let worker = shared.clone().with_thread_pools(4);
    let (admin, held, users, holder) = main.block_on(async {
        let admin = common::create(&shared, Role::Admin, "Root").await;
        let held = common::create(&shared, Role::User, "Held").await;
        let mut users = Vec::new();
        for i in 0..40 {
            users.push(common::create(&shared, Role::User, &format!("User{i}")).await);
        }
        // Another session (a psql, a long transaction) holds the row of one account.
        let mut holder = raw(schema.url()).await;
        diesel::sql_query("BEGIN")
            .execute(&mut holder)
            .await
            .unwrap();
        diesel::sql_query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind::<SqlUuid, _>(*held.id.as_uuid())
            .execute(&mut holder)
            .await
            .unwrap();
        (admin, held, users, holder)
    });
    Held {
        main,
        _schema: schema,
        shared,
        worker,
        admin,
        held,
        users,
        holder,
    }
}

fn release(held: &mut Held) {
    held.main.block_on(async {
        diesel::sql_query("ROLLBACK")
            .execute(&mut held.holder)
            .await
            .unwrap();
    });
}

#[test]
fn a_row_locked_elsewhere_delays_only_the_change_that_targets_it() {
    let Some(base) = common::database_url("a_row_locked_elsewhere") else {
        return;
    };
    let _one = exclusive();
    // A deadline far longer than the others' changes take.
    let mut held = with_a_held_row(&base, Duration::from_secs(30));
    let locked = common::change(StatusAction::Deactivate, &held.held, &held.admin);
    let others: Vec<StatusChange> = held
        .users
        .iter()
        .map(|user| common::change(StatusAction::Deactivate, user, &held.admin))
        .collect();
    let worker = held.worker.clone();
    let (others_done, locked_pending, locked_call) = {
        let (tx, rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            on_worker(move || async move {
                let locked_call = {
                    let worker = worker.clone();
                    tokio::spawn(async move { worker.change_status(locked).await })
                };
                // The others answer while the row is still held, well within the deadline.
                let others =
                    tokio::time::timeout(Duration::from_secs(10), apply_all(&worker, others))
                        .await
                        .expect("the other changes waited for a row they do not touch");
                tx.send((others, locked_call.is_finished())).unwrap();
                release_rx.await.unwrap();
                locked_call.await.unwrap()
            })
        });
        let (others, pending) = rx.recv().unwrap();
        release(&mut held);
        release_tx.send(()).unwrap();
        (others, !pending, thread.join().unwrap())
    };
    for (i, outcome) in others_done.iter().enumerate() {
        match outcome {
            Ok(StatusChangeOutcome::Applied(user)) => assert_eq!(user.id, held.users[i].id),
            other => panic!("change of user {i}: {other:?}"),
        }
    }
    // Only the held account's change waited, and applied once its row was released.
    assert!(
        locked_pending,
        "the held account's change did not wait for its row"
    );
    match locked_call {
        Ok(StatusChangeOutcome::Applied(user)) => assert_eq!(user.id, held.held.id),
        other => panic!("the held account's change: {other:?}"),
    }
}

#[test]
fn a_change_whose_row_outlives_its_deadline_is_unavailable_and_not_applied() {
    let Some(base) = common::database_url("a_row_outlives_the_deadline") else {
        return;
    };
    let _one = exclusive();
    let mut held = with_a_held_row(&base, Duration::from_secs(2));
    let locked = common::change(StatusAction::Deactivate, &held.held, &held.admin);
    let worker = held.worker.clone();
    let outcome = on_worker(move || async move { worker.change_status(locked).await });
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    release(&mut held);
    held.main.block_on(async {
        // A statement the server still ran after answering would commit now.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = held
            .shared
            .find_by_id(&held.held.id)
            .await
            .unwrap()
            .unwrap();
        assert!(now.is_active(), "a 503 must mean not applied");
        let events = held.shared.events(&held.held.id, None, 10).await.unwrap();
        assert!(events.is_empty());
    });
}

#[test]
fn admins_working_one_list_in_opposite_orders_never_deadlock() {
    let Some(base) = common::database_url("opposite_orders") else {
        return;
    };
    let _one = exclusive();
    let (main, _schema, shared) = common::on_main_runtime(&base, 4, Duration::from_secs(10));
    let (first, second, users) = main.block_on(async {
        let first = common::create(&shared, Role::Admin, "First").await;
        let second = common::create(&shared, Role::Admin, "Second").await;
        let mut users = Vec::new();
        for i in 0..200 {
            users.push(common::create(&shared, Role::User, &format!("User{i}")).await);
        }
        (first, second, users)
    });
    let failed_before = failed_group_statements();
    let run = |admin: warden_domain::User, targets: Vec<warden_domain::User>| {
        let worker = shared.clone().with_thread_pools(4);
        std::thread::spawn(move || {
            on_worker(move || async move {
                // 32 requests in flight at a time, as 32 concurrent clients.
                let limit = Arc::new(tokio::sync::Semaphore::new(32));
                let calls: Vec<_> = targets
                    .iter()
                    .map(|target| {
                        let change = common::change(StatusAction::Deactivate, target, &admin);
                        let (worker, limit) = (worker.clone(), limit.clone());
                        tokio::spawn(async move {
                            let _permit = limit.acquire_owned().await.unwrap();
                            let started = Instant::now();
                            let outcome = worker.change_status(change).await;
                            (outcome, started.elapsed())
                        })
                    })
                    .collect();
                let mut outcomes = Vec::new();
                for call in calls {
                    outcomes.push(call.await.unwrap());
                }
                outcomes
            })
        })
    };
    // The second admin takes the same blocks of 32 at the same time, each in the opposite
    // order: their groups share every target, locked from opposite ends unless in one order.
    let order: Vec<usize> = (0..users.len())
        .collect::<Vec<_>>()
        .chunks(32)
        .flat_map(|block| block.iter().rev().copied())
        .collect();
    let reversed = order.iter().map(|&i| users[i].clone()).collect();
    let forward = run(first, users.clone());
    let backward = run(second, reversed);
    let forward = forward.join().unwrap();
    // Back into the users' order.
    let mut backward: Vec<_> = backward.join().unwrap().into_iter().zip(&order).collect();
    backward.sort_by_key(|(_, &i)| i);
    let backward: Vec<_> = backward.into_iter().map(|(outcome, _)| outcome).collect();
    let mut slowest = Duration::ZERO;
    for (i, ((a, a_took), (b, b_took))) in forward.iter().zip(&backward).enumerate() {
        slowest = slowest.max(*a_took).max(*b_took);
        let applied = |outcome: &Result<StatusChangeOutcome, StoreError>| {
            matches!(outcome, Ok(StatusChangeOutcome::Applied(_)))
        };
        let refused = |outcome: &Result<StatusChangeOutcome, StoreError>| {
            matches!(outcome, Ok(StatusChangeOutcome::AlreadyInState))
        };
        assert!(
            (applied(a) && refused(b)) || (refused(a) && applied(b)),
            "user {i}: {a:?} and {b:?}"
        );
    }
    // A deadlock would have failed a group statement.
    assert_eq!(failed_group_statements(), failed_before);
    println!("the slowest change took {} ms", slowest.as_millis());
    main.block_on(async {
        for user in &users {
            assert_eq!(shared.events(&user.id, None, 10).await.unwrap().len(), 1);
        }
    });
}

/// A trigger that fails (or stalls) any statement writing more than one audit event: a group.
async fn sabotage_groups(url: &str, body: &str) {
    let mut conn = raw(url).await;
    let function = format!(
        "CREATE FUNCTION sabotage() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF (SELECT count(*) FROM written) > 1 THEN {body}; END IF;
             RETURN NULL;
         END $$"
    );
    diesel::sql_query(function)
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER sabotage AFTER INSERT ON audit_events
         REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION sabotage()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

/// Ten concurrent deactivations on a worker whose group statements `sabotage` fails: each is
/// applied alone, with its own result and records.
fn each_change_of_a_failed_group_is_applied_alone(test: &str, timeout: Duration, body: &str) {
    let Some(base) = common::database_url(test) else {
        return;
    };
    let (main, schema, shared) = common::on_main_runtime(&base, 4, timeout);
    let worker = shared.clone().with_thread_pools(4);
    let (admin, users) = main.block_on(async {
        let admin = common::create(&shared, Role::Admin, "Root").await;
        let mut users = Vec::new();
        for i in 0..10 {
            users.push(common::create(&shared, Role::User, &format!("User{i}")).await);
        }
        sabotage_groups(schema.url(), body).await;
        (admin, users)
    });
    let changes: Vec<StatusChange> = users
        .iter()
        .map(|user| common::change(StatusAction::Deactivate, user, &admin))
        .collect();
    let outcomes = on_worker(move || async move { apply_all(&worker, changes).await });
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(StatusChangeOutcome::Applied(user)) => assert_eq!(user.id, users[i].id),
            other => panic!("change {i}: {other:?}"),
        }
    }
    main.block_on(async {
        for user in &users {
            assert_eq!(shared.events(&user.id, None, 10).await.unwrap().len(), 1);
        }
    });
}

#[test]
fn a_group_statement_refused_by_the_server_is_applied_change_by_change() {
    let _one = exclusive();
    let before = failed_group_statements();
    each_change_of_a_failed_group_is_applied_alone(
        "a_group_refused",
        Duration::from_secs(10),
        "RAISE EXCEPTION 'a group is refused'",
    );
    if common::database_url("a_group_refused").is_some() {
        assert!(failed_group_statements() > before, "no group failed");
    }
}

#[test]
fn a_group_statement_out_of_time_is_rolled_back_and_applied_change_by_change() {
    let _one = exclusive();
    let before = failed_group_statements();
    // The server gives up on the group after 750 ms (its statement timeout for a 1 s deadline).
    each_change_of_a_failed_group_is_applied_alone(
        "a_group_out_of_time",
        Duration::from_secs(1),
        "PERFORM pg_sleep(30)",
    );
    if common::database_url("a_group_out_of_time").is_some() {
        assert!(
            failed_group_statements() > before,
            "no group ran out of time"
        );
    }
}

#[test]
fn a_group_without_a_connection_fails_each_change_as_unavailable() {
    if common::database_url("a_group_without_a_connection").is_none() {
        return;
    }
    let outcomes = on_worker(|| async {
        // Nothing listens on port 1.
        let store = PgStore::connect(
            "postgres://postgres@127.0.0.1:1/test",
            2,
            Duration::from_millis(500),
        )
        .await
        .unwrap()
        .with_thread_pools(2);
        let admin = Actor::admin(UserId::generate(), "root@example.com".to_owned(), 0);
        let changes = (0..5)
            .map(|_| StatusChange {
                action: StatusAction::Deactivate,
                target: UserId::generate(),
                actor: admin.clone(),
                reason: None,
                at: common::now(),
                event_id: Uuid::now_v7(),
                notification_id: Uuid::now_v7(),
                until: None,
                only_if_due_at: None,
                target_roles: warden_domain::RoleSet::ALL,
            })
            .collect();
        apply_all(&store, changes).await
    });
    assert_eq!(outcomes.len(), 5);
    for outcome in outcomes {
        assert!(
            matches!(outcome, Err(StoreError::Unavailable(_))),
            "{outcome:?}"
        );
    }
}

#[derive(QueryableByName)]
struct Owed {
    #[diesel(sql_type = BigInt)]
    changes: i64,
    #[diesel(sql_type = BigInt)]
    deliveries: i64,
    #[diesel(sql_type = BigInt)]
    matching: i64,
}

/// The shared conformance suite, through the group path: on an HTTP worker's thread (its own
/// pool, its change groups), with an enabled webhook endpoint so that every change also owes
/// one delivery of its own event.
#[test]
fn the_conformance_suite_holds_through_the_group_path() {
    let Some(base) = common::database_url("conformance_through_groups") else {
        return;
    };
    let _one = exclusive();
    let (main, schema, shared) = common::on_main_runtime(&base, 4, Duration::from_secs(10));
    let worker = shared.clone().with_thread_pools(4);
    let endpoint = main.block_on(async {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        let by = warden_domain::Authorized::new(Actor::system(), common::now());
        let created = shared
            .create_webhook(
                NewWebhook {
                    id: Uuid::now_v7(),
                    url: "https://receiver.example.com/hook".into(),
                    description: None,
                    events: None,
                    secret: WebhookSecret::from_bytes(secret),
                    created_at: common::now(),
                },
                &by,
            )
            .await
            .unwrap();
        match created {
            warden_domain::Guarded::Applied(endpoint) => endpoint,
            warden_domain::Guarded::ActorRevoked => panic!("the system always acts"),
        }
    });
    let groups_before = AtomicUsize::load(&GROUPS, Ordering::SeqCst);
    on_worker(move || async move {
        let users: Arc<dyn UserRepo> = Arc::new(worker.clone());
        let outbox: Arc<dyn Outbox> = Arc::new(worker);
        warden_testkit::contract::run_all(users, outbox).await;
    });
    assert!(
        AtomicUsize::load(&GROUPS, Ordering::SeqCst) > groups_before,
        "no group statement ran"
    );
    let owed = main.block_on(async {
        let mut conn = raw(schema.url()).await;
        diesel::sql_query(
            "SELECT (SELECT count(*) FROM audit_events) AS changes,
                    (SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1) AS deliveries,
                    (SELECT count(*) FROM webhook_deliveries AS d
                       JOIN audit_events AS e ON e.id = d.event_id
                      WHERE d.endpoint_id = $1 AND d.event_type = 'user.' || e.action
                        AND d.email = (SELECT email FROM users WHERE id = e.user_id)) AS matching",
        )
        .bind::<SqlUuid, _>(endpoint.id)
        .get_result::<Owed>(&mut conn)
        .await
        .unwrap()
    });
    assert!(owed.changes > 10, "{} changes", owed.changes);
    assert_eq!(owed.deliveries, owed.changes);
    assert_eq!(owed.matching, owed.changes);
}

/// A change whose statement was sent but never answered (the connection lost, or closed at its
/// deadline) is found by its audit event when it committed, so its caller gets the truth; when
/// it did not commit, it is unavailable and surely not applied.
#[test]
fn a_change_whose_answer_was_lost_is_settled_by_its_audit_event() {
    let Some(base) = common::database_url("a_change_whose_answer_was_lost") else {
        return;
    };
    let (main, _schema, shared) = common::on_main_runtime(&base, 4, Duration::from_secs(2));
    main.block_on(async {
        let admin = common::create(&shared, Role::Admin, "Root").await;
        let committed = common::create(&shared, Role::User, "Ada").await;
        let lost = common::create(&shared, Role::User, "Bob").await;
        let applied = common::change(StatusAction::Deactivate, &committed, &admin);
        assert!(matches!(
            shared.change_status(applied.clone()).await.unwrap(),
            StatusChangeOutcome::Applied(_)
        ));
        match warden_postgres::testing::settle_unanswered_change(&shared, &applied).await {
            Ok(StatusChangeOutcome::Applied(user)) => {
                assert_eq!(user.id, committed.id);
                assert!(!user.is_active());
            }
            other => panic!("a committed change: {other:?}"),
        }
        let never = common::change(StatusAction::Deactivate, &lost, &admin);
        match warden_postgres::testing::settle_unanswered_change(&shared, &never).await {
            Err(StoreError::Unavailable(cause)) => {
                assert!(format!("{cause:#}").contains("not applied"), "{cause:#}");
            }
            other => panic!("a change that never committed: {other:?}"),
        }
        assert!(shared
            .find_by_id(&lost.id)
            .await
            .unwrap()
            .unwrap()
            .is_active());
    });
}
