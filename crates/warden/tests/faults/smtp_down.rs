//! Fault 1: the SMTP server is down. Deactivations still answer 200 at once; when the server is
//! back, every email owed is delivered, each exactly once.

use std::time::Duration;

use warden_testkit::smtp_sink::{ReplyMode, SmtpSink};

use crate::harness::{
    assert_each_emailed_once, client, eventually, Server, ServerConfig, World, DEACTIVATED,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivations_succeed_while_smtp_is_down_and_every_email_follows_once() {
    let world = World::new().await;
    let token = world.admin_token().await;
    let users = world.create_users(6).await;
    let sink = SmtpSink::start().await.unwrap();
    let mut server = Server::start(&world, &ServerConfig::new(sink.url())).await;
    let client = client();

    // Down hard: connections to the SMTP port are refused.
    sink.stop().await;
    for user in &users[..3] {
        server
            .deactivate_without_waiting_for_mail(&client, &token, user)
            .await;
    }
    // Up but refusing: every RCPT answers 451 (try again later).
    sink.set_reply_mode(ReplyMode::TransientFailure);
    sink.restart().await.unwrap();
    for user in &users[3..] {
        server
            .deactivate(&client, &token, user)
            .await
            .assert(200, DEACTIVATED);
    }
    // Several failed rounds: every email tried at least twice, each try over and recorded.
    eventually(Duration::from_secs(20), "two tries each", || async {
        let attempts = world.pending_attempts().await;
        attempts.len() == users.len() && attempts.iter().all(|&a| a >= 2)
    })
    .await;
    world.until_claims_reported(&[&server], 0).await;
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (6, 0), "all still owed");
    for user in &users {
        world.assert_deactivated_once(user).await;
    }
    server.assert_running();

    // Back: every owed email arrives, each once, and every claim is over by then.
    sink.set_reply_mode(ReplyMode::Accept);
    assert_each_emailed_once(&world, &sink, &users, &[&server], 0).await;
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (0, 0));
    server.assert_running();
}
