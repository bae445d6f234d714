//! Fault 4: concurrency. 100 simultaneous deactivations of one user give exactly one 200, one
//! audit row and one email; the same with the requests split over two server processes sharing
//! one PostgreSQL, whose two outbox workers also never send one entry twice.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Barrier;
use warden_domain::User;
use warden_testkit::smtp_sink::SmtpSink;

use crate::harness::{
    assert_each_emailed_once, client, deactivate, Server, ServerConfig, World, ALREADY_DEACTIVATED,
    DEACTIVATED,
};

const REQUESTS: usize = 100;

/// Fires [`REQUESTS`] deactivations of `user` at once, spread round-robin over `servers`, and
/// asserts exactly one 200 and `400 User is already deactivated` for all the others.
async fn race(servers: &[&Server], token: &str, user: &User) {
    let client = client();
    let start = Arc::new(Barrier::new(REQUESTS));
    let requests = (0..REQUESTS).map(|i| {
        let url = servers[i % servers.len()].url("/api/v1/users/deactivate");
        let (client, start) = (client.clone(), start.clone());
        let (token, user) = (token.to_owned(), user.clone());
        tokio::spawn(async move {
            start.wait().await;
            deactivate(&client, &url, &token, &user).await
        })
    });
    let replies = join_all(requests).await;
    let mut successes = 0;
    for reply in replies {
        let reply = reply
            .unwrap()
            .unwrap_or_else(|e| panic!("no answer: {e:?}"));
        match reply.status {
            200 => {
                reply.assert(200, DEACTIVATED);
                successes += 1;
            }
            _ => reply.assert(400, ALREADY_DEACTIVATED),
        }
    }
    assert_eq!(successes, 1, "successful deactivations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_simultaneous_deactivations_succeed_once() {
    let world = World::new().await;
    let token = world.admin_token().await;
    let user = world.create_user(warden_domain::Role::User).await;
    let sink = SmtpSink::start().await.unwrap();
    // A server holds up to twice WARDEN_DB_MAX_CONNECTIONS (the shared pool and the HTTP
    // workers' own): 8 keeps this test and the two-replica one beside it well inside
    // PostgreSQL's 100 connections; the race needs no more.
    let config = ServerConfig::new(sink.url()).env("WARDEN_DB_MAX_CONNECTIONS", 8);
    let server = Server::start(&world, &config).await;

    race(&[&server], &token, &user).await;
    world.assert_deactivated_once(&user).await;
    assert_each_emailed_once(&world, &sink, std::slice::from_ref(&user), &[&server], 0).await;
    let stats = world.outbox_stats().await;
    assert_eq!(
        (stats.pending, stats.failed),
        (0, 0),
        "one outbox row, sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_succeed_once_and_send_each_email_once() {
    let Some(world) = World::postgres("concurrency (two replicas)").await else {
        return;
    };
    let token = world.admin_token().await;
    let user = world.create_user(warden_domain::Role::User).await;
    let sink = SmtpSink::start().await.unwrap();
    // Both workers poll often, so they keep racing for the same entries. The lease is long:
    // a duplicate below can only come from two claims of one entry, not from a slow send.
    let config = ServerConfig::new(sink.url())
        .env("WARDEN_OUTBOX_POLL_MS", 20)
        .env("WARDEN_OUTBOX_LEASE_MS", 60_000)
        // Two servers, each up to twice this many connections: well inside PostgreSQL's 100.
        .env("WARDEN_DB_MAX_CONNECTIONS", 8);
    let a = Server::start(&world, &config).await;
    let b = Server::start(&world, &config).await;

    race(&[&a, &b], &token, &user).await;
    world.assert_deactivated_once(&user).await;
    assert_each_emailed_once(&world, &sink, std::slice::from_ref(&user), &[&a, &b], 0).await;

    // A backlog both workers go for at the same moment: 40 entries written while mail is down
    // (each worker claims some, fails and reschedules them). The test then holds a lock on all
    // of them (as a slow claim would) while they fall due and mail comes back: both workers
    // try to claim the same entries meanwhile. A claim must skip entries another transaction
    // holds; one that waited for them instead would, once the lock goes, hand the same entries
    // to both workers and both would send them.
    let users = world.create_users(60).await;
    sink.stop().await;
    deactivate_all(&[&a, &b], &token, &users[..40]).await;
    let (mut pg, connection) = tokio_postgres::connect(&world.database_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let lock = pg.transaction().await.unwrap();
    let locked = lock
        .query(
            "SELECT id FROM outbox WHERE sent_at IS NULL FOR UPDATE",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(locked.len(), 40);
    sink.restart().await.unwrap();
    // Long enough for both workers (polling every 20 ms, retries due within 400 ms) to try.
    tokio::time::sleep(Duration::from_millis(800)).await;
    lock.commit().await.unwrap();
    drop(pg);
    connection.await.unwrap().unwrap();
    // Then a burst with mail up, both workers woken by their own requests.
    deactivate_all(&[&a, &b], &token, &users[40..]).await;

    let mut everyone = vec![user];
    everyone.extend(users);
    assert_each_emailed_once(&world, &sink, &everyone, &[&a, &b], 0).await;
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (0, 0));
}

/// Deactivates each of `users` (all at once, alternating servers); each must be a 200.
async fn deactivate_all(servers: &[&Server], token: &str, users: &[User]) {
    let client = client();
    let replies = join_all(users.iter().enumerate().map(|(i, user)| {
        let url = servers[i % servers.len()].url("/api/v1/users/deactivate");
        let client = client.clone();
        async move { deactivate(&client, &url, token, user).await }
    }))
    .await;
    for reply in replies {
        reply.unwrap().assert(200, DEACTIVATED);
    }
}
