//! How many statements (round trips) each operation costs, counted by a diesel instrumentation.
//! One test only: the instrumentation is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::TimeDelta;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::{Role, StatusAction, StatusChangeOutcome};
use warden_postgres::testing::TestSchema;
use warden_postgres::PgStore;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
static PREPARES: AtomicUsize = AtomicUsize::new(0);
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::StartQuery { query, .. } => {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
            let sql = query.to_string();
            let head: String = sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
            LOG.lock().unwrap().push(head);
        }
        InstrumentationEvent::CacheQuery { .. } => {
            PREPARES.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    }))
}

/// Runs `op` and returns (statements, prepares) it issued.
async fn count<T>(what: &str, op: impl std::future::Future<Output = T>) -> (usize, usize, T) {
    LOG.lock().unwrap().clear();
    let (s0, p0) = (
        STATEMENTS.load(Ordering::SeqCst),
        PREPARES.load(Ordering::SeqCst),
    );
    let out = op.await;
    let (s, p) = (
        STATEMENTS.load(Ordering::SeqCst) - s0,
        PREPARES.load(Ordering::SeqCst) - p0,
    );
    println!(
        "{what}: {s} statement(s), {p} prepare(s): {:?}",
        LOG.lock().unwrap()
    );
    (s, p, out)
}

#[tokio::test]
async fn operations_cost_one_statement_each_but_admin_deactivation() {
    let Some(base) = common::database_url("operations_cost_one_statement_each") else {
        return;
    };
    diesel::connection::set_default_instrumentation(counting).unwrap();
    let schema = TestSchema::create(&base).await.unwrap();
    // One connection, so that every statement after the first use is a cached one.
    let store = PgStore::connect(schema.url(), 1, Duration::from_secs(10))
        .await
        .unwrap();
    store.migrate().await.unwrap();

    let admin = common::create(&store, Role::Admin, "Root").await;
    let second_admin = common::create(&store, Role::Admin, "Second").await;
    // Warm the statement cache of the pooled connection with every statement shape.
    for _ in 0..2 {
        let u = common::create(&store, Role::User, "Warm").await;
        store
            .change_status(common::change(StatusAction::Deactivate, &u, &admin))
            .await
            .unwrap();
        store
            .change_status(common::change(StatusAction::Reactivate, &u, &admin))
            .await
            .unwrap();
    }
    let now = common::now();
    store.claim_due(now, now, 1).await.unwrap();
    store.stats().await.unwrap();
    store.events(&admin.id, None, 1).await.unwrap();
    store.ping().await.unwrap();

    let user = common::create(&store, Role::User, "Ada").await;
    let (s, p, outcome) = count(
        "deactivate a user",
        store.change_status(common::change(StatusAction::Deactivate, &user, &admin)),
    )
    .await;
    assert!(matches!(outcome.unwrap(), StatusChangeOutcome::Applied(_)));
    assert_eq!((s, p), (1, 0), "state + audit + outbox in one statement");

    let (s, _, outcome) = count(
        "deactivate it again",
        store.change_status(common::change(StatusAction::Deactivate, &user, &admin)),
    )
    .await;
    assert_eq!(outcome.unwrap(), StatusChangeOutcome::AlreadyInState);
    assert_eq!(s, 1, "the refusal is read off the same statement");

    let (s, _, outcome) = count(
        "reactivate",
        store.change_status(common::change(StatusAction::Reactivate, &user, &admin)),
    )
    .await;
    assert!(matches!(outcome.unwrap(), StatusChangeOutcome::Applied(_)));
    assert_eq!(s, 1);

    let (s, _, outcome) = count(
        "deactivate an admin",
        store.change_status(common::change(
            StatusAction::Deactivate,
            &second_admin,
            &admin,
        )),
    )
    .await;
    assert!(matches!(outcome.unwrap(), StatusChangeOutcome::Applied(_)));
    assert_eq!(s, 5, "try, BEGIN, lock, guarded change, COMMIT");

    let (s, _, outcome) = count(
        "deactivate the last admin",
        // Only the last admin itself could still try (the domain refuses that first).
        store.change_status(common::change(StatusAction::Deactivate, &admin, &admin)),
    )
    .await;
    assert_eq!(outcome.unwrap(), StatusChangeOutcome::LastActiveAdmin);
    assert_eq!(s, 5);

    let (s, _, outcome) = count(
        "a change by an actor who is no admin",
        store.change_status(common::change(StatusAction::Deactivate, &admin, &user)),
    )
    .await;
    assert_eq!(outcome.unwrap(), StatusChangeOutcome::ActorRevoked);
    assert_eq!(
        s, 1,
        "the actor's authority is checked in the same statement"
    );

    let later = now + TimeDelta::hours(1);
    let (s, p, claimed) = count(
        "claim_due",
        store.claim_due(later, later + TimeDelta::minutes(2), 10),
    )
    .await;
    let claimed = claimed.unwrap();
    assert_eq!(claimed.len(), 7);
    assert_eq!((s, p), (1, 0));

    let id = claimed[0].notification.id;
    for (what, statements) in [
        (
            "mark_sent",
            count("mark_sent", store.mark_sent(id, later)).await.0,
        ),
        (
            "retry_later",
            count("retry_later", store.retry_later(id, later, "421"))
                .await
                .0,
        ),
        (
            "give_up",
            count("give_up", store.give_up(id, later, "550")).await.0,
        ),
        ("stats", count("stats", store.stats()).await.0),
        (
            "events",
            count("events", store.events(&user.id, None, 10)).await.0,
        ),
        (
            "find_by_email",
            count("find_by_email", store.find_by_email(&user.email))
                .await
                .0,
        ),
        (
            "find_credentials",
            count("find_credentials", store.find_credentials(&user.email))
                .await
                .0,
        ),
        ("ping", count("ping", store.ping()).await.0),
    ] {
        assert_eq!(statements, 1, "{what}");
    }
}
