//! A database that cannot be reached: every operation fails fast with `Unavailable`. Needs no
//! PostgreSQL, so these tests always run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use warden_domain::ports::{Outbox, StoreError, UserRepo};
use warden_domain::UserId;
use warden_postgres::PgStore;

const TIMEOUT: Duration = Duration::from_millis(700);
/// Scheduling slack on a busy two-core machine.
const SLACK: Duration = Duration::from_millis(1500);

async fn assert_unavailable(store: &PgStore) {
    let started = Instant::now();
    let ping = store.ping().await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    let found = store.find_by_id(&UserId::generate()).await;
    assert!(
        matches!(found, Err(StoreError::Unavailable(_))),
        "{found:?}"
    );
    let stats = store.stats().await;
    assert!(
        matches!(stats, Err(StoreError::Unavailable(_))),
        "{stats:?}"
    );
    assert!(store.migrate().await.is_err());
    assert!(
        started.elapsed() < 4 * TIMEOUT + SLACK,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn refused_connections_are_unavailable_at_once() {
    let store = PgStore::connect("postgres://postgres@127.0.0.1:1/test", 2, TIMEOUT)
        .await
        .expect("connecting is lazy");
    assert_unavailable(&store).await;
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_timeout() {
    // Accepts TCP connections and never speaks: the PostgreSQL handshake never completes.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = PgStore::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        2,
        TIMEOUT,
    )
    .await
    .unwrap();
    let started = Instant::now();
    let ping = store.ping().await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    assert!(
        started.elapsed() < TIMEOUT + SLACK,
        "took {:?}",
        started.elapsed()
    );
    assert_unavailable(&store).await;
}

#[tokio::test]
async fn malformed_settings_fail_at_connect() {
    for url in [
        "definitely not a url",
        "postgres://postgres@127.0.0.1:notaport/test",
        "postgres://postgres@127.0.0.1:5432/test?sslmode=bogus",
    ] {
        assert!(
            PgStore::connect(url, 2, TIMEOUT).await.is_err(),
            "{url} was accepted"
        );
    }
    let url = "postgres://postgres@127.0.0.1:5432/test";
    assert!(PgStore::connect(url, 0, TIMEOUT).await.is_err());
    assert!(PgStore::connect(url, 2, Duration::ZERO).await.is_err());
}

#[tokio::test]
async fn debug_never_shows_the_password() {
    let store = PgStore::connect(
        "postgres://warden:hunter2@db.internal:6543/warden",
        3,
        TIMEOUT,
    )
    .await
    .unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("warden@db.internal:6543/warden"), "{debug}");
    let cloned = store.clone();
    assert!(format!("{cloned:?}").contains("max_connections: 3"));
}
