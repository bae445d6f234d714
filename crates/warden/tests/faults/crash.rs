//! Fault 2: the process is SIGKILLed right after answering 200, before its worker sent the
//! email. After a restart the email is delivered, exactly once.

use std::time::Duration;

use warden_testkit::smtp_sink::SmtpSink;

use crate::harness::{assert_each_emailed_once, client, Server, ServerConfig, World};
use crate::proxy::{Mode, TcpProxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_owed_by_a_killed_process_is_sent_once_after_restart() {
    let world = World::new().await;
    let token = world.admin_token().await;
    let users = world.create_users(3).await;
    let sink = SmtpSink::start().await.unwrap();
    // The first process reaches the SMTP server through a frozen link: its worker claims the
    // emails and then hangs in the SMTP conversation, so none can be sent before the kill.
    let smtp = TcpProxy::start(&sink.addr().to_string()).await;
    smtp.set(Mode::Freeze);
    let mut first = Server::start(
        &world,
        &ServerConfig::new(format!("smtp://{}", smtp.addr())),
    )
    .await;
    let client = client();

    for user in &users {
        first
            .deactivate_without_waiting_for_mail(&client, &token, user)
            .await;
    }
    // The worker has claimed (leased) the first email and is trying to send it.
    smtp.wait_accepted_more_than(0, Duration::from_secs(10))
        .await;
    first.sigkill();
    assert!(sink.messages().is_empty());
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (3, 0), "owed, not lost");
    drop(smtp); // the dead worker's SMTP connection goes away with it
    let dead_claims = world.claims().await;

    // A new process (straight to the sink) delivers every email the dead one owed: those it
    // never claimed at once, the one it was sending when its lease (2 s) runs out.
    let second = Server::start(&world, &ServerConfig::new(sink.url())).await;
    assert_each_emailed_once(&world, &sink, &users, &[&second], dead_claims).await;
    let stats = world.outbox_stats().await;
    assert_eq!((stats.pending, stats.failed), (0, 0));
    for user in &users {
        world.assert_deactivated_once(user).await;
    }
    drop(second);
}
