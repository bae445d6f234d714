//! Issue 10, section 2: a notification claimed by a process that then dies goes out within
//! 20 s of a restarted process running, with the default lease and poll settings.
//!
//! The SMTP sink reads the whole message after `DATA` and never answers, the server is
//! SIGKILLed in that moment, the sink recovers, and a restarted server delivers that email
//! exactly once. With the old 120 s lease this waited two minutes.

use std::time::Duration;

use warden_testkit::smtp_sink::{ReplyMode, SmtpSink};

use crate::harness::{assert_each_emailed_once, client, Server, ServerConfig, World};

/// The server's own defaults for the lease and the poll, which the harness shortens for the
/// other fault tests (an empty value counts as unset).
fn with_default_lease(config: ServerConfig) -> ServerConfig {
    config
        .env("WARDEN_OUTBOX_LEASE_MS", "")
        .env("WARDEN_OUTBOX_POLL_MS", "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_stalled_in_data_when_the_process_dies_goes_out_once_within_20_s() {
    let world = World::new().await;
    let token = world.admin_token().await;
    let users = world.create_users(1).await;
    let sink = SmtpSink::start().await.unwrap();
    sink.set_reply_mode(ReplyMode::StallAfterData);
    let mut first = Server::start(&world, &with_default_lease(ServerConfig::new(sink.url()))).await;

    first
        .deactivate_without_waiting_for_mail(&client(), &token, &users[0])
        .await;
    sink.wait_for_stalled(1, Duration::from_secs(20))
        .await
        .unwrap();
    first.sigkill();
    assert!(
        sink.messages().is_empty(),
        "the stalled message was never accepted"
    );
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (1, 0), "owed, not lost");
    let dead_claims = world.claims().await;

    sink.set_reply_mode(ReplyMode::Accept);
    let second = Server::start(&world, &with_default_lease(ServerConfig::new(sink.url()))).await;
    // assert_each_emailed_once waits at most 20 s for the email, then until every claim is over.
    assert_each_emailed_once(&world, &sink, &users, &[&second], dead_claims).await;
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (0, 0));
    world.assert_deactivated_once(&users[0]).await;
    drop(second);
}
