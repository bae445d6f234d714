//! `PgLoginAttempts` passes the conformance suite, and replicas on one database share a budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use common::Db;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::{AttemptKey, LoginAttempts, Reservation};
use warden_domain::ThrottlePolicy;
use warden_postgres::PgLoginAttempts;
use warden_testkit::login_attempts::{
    concurrent_guesses_share_one_budget, login_attempts_contract,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_login_attempts_pass_the_contract() {
    let Some(db) = Db::fresh("postgres_login_attempts_pass_the_contract").await else {
        return;
    };
    login_attempts_contract(&PgLoginAttempts::new(
        db.store.clone(),
        ThrottlePolicy::default(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_guesses_across_two_replicas_get_five_evaluations() {
    let Some(db) = Db::fresh("two_hundred_guesses_across_two_replicas_get_five_evaluations").await
    else {
        return;
    };
    let replicas: [Arc<dyn LoginAttempts>; 2] = [
        Arc::new(PgLoginAttempts::new(
            db.store.clone(),
            ThrottlePolicy::default(),
        )),
        Arc::new(PgLoginAttempts::new(
            db.replica().await,
            ThrottlePolicy::default(),
        )),
    ];
    concurrent_guesses_share_one_budget(&replicas, 200).await;
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_are_pruned() {
    let Some(db) = Db::fresh("expired_rows_are_pruned").await else {
        return;
    };
    let now = Utc::now();
    let first = PgLoginAttempts::new(db.store.clone(), ThrottlePolicy::default());
    let key = AttemptKey::new("ada@example.com", "10.0.0.1");
    assert_eq!(
        first.reserve(&key, now).await.unwrap(),
        Reservation::Granted
    );
    let rows = || async {
        let mut conn = AsyncPgConnection::establish(db.schema.url()).await.unwrap();
        diesel::sql_query("SELECT count(*) AS n FROM login_attempts")
            .get_result::<Count>(&mut conn)
            .await
            .unwrap()
            .n
    };
    assert_eq!(rows().await, 2, "the pair's row and the client's");
    // Another process, after the window: its first reservation prunes the old rows.
    let later = PgLoginAttempts::new(db.replica().await, ThrottlePolicy::default());
    let other = AttemptKey::new("grace@example.com", "10.0.0.2");
    let after_window = now + TimeDelta::minutes(16);
    assert_eq!(
        later.reserve(&other, after_window).await.unwrap(),
        Reservation::Granted
    );
    assert_eq!(rows().await, 2, "only the new pair's and client's rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_row_locked_too_long_is_unavailable_not_a_failure() {
    use diesel_async::SimpleAsyncConnection;
    use warden_domain::ports::StoreError;
    let Some(db) = Db::fresh("a_client_row_locked_too_long_is_unavailable_not_a_failure").await
    else {
        return;
    };
    // Another session holds the client's row (as a stalled replica would).
    let mut holder = AsyncPgConnection::establish(db.schema.url()).await.unwrap();
    holder
        .batch_execute(
            "BEGIN; INSERT INTO login_attempts VALUES \
             ('10.9.9.9', '', 1, now(), NULL, now() + interval '1 hour')",
        )
        .await
        .unwrap();
    let attempts = PgLoginAttempts::new(db.store.clone(), ThrottlePolicy::default());
    let key = AttemptKey::new("ada@example.com", "10.9.9.9");
    let waited = attempts.reserve(&key, Utc::now()).await;
    assert!(
        matches!(waited, Err(StoreError::Unavailable(_))),
        "{waited:?}"
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        attempts.reserve(&key, Utc::now()).await.unwrap(),
        Reservation::Granted
    );
}
