//! The outbox worker's concurrent delivery (issue 10, section 1): every email reaches the real
//! SMTP sink exactly once although several tasks claim and send at the same time.

use std::collections::HashSet;
use std::time::Duration;

use tokio::task::JoinSet;
use warden_domain::Role;

use crate::support::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrent_worker_delivers_each_email_exactly_once() {
    const USERS: usize = 60;
    let app = spawn_app().await;
    assert!(
        app.config.mail_concurrency > 1,
        "the default runs several tasks"
    );
    let (_, token) = app.admin().await;
    let mut users = Vec::new();
    for _ in 0..USERS {
        users.push(app.create_user(Role::User).await);
    }
    let app = std::sync::Arc::new(app);
    let mut requests = JoinSet::new();
    for user in users.clone() {
        let (app, token) = (app.clone(), token.clone());
        requests.spawn(async move { app.deactivate(&token, &user, None).await.status });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap().as_u16(), 200);
    }

    app.sink
        .wait_for(USERS, Duration::from_secs(20))
        .await
        .unwrap();
    // Every send is recorded after the sink accepted it: once nothing is pending, nothing
    // else can arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.outbox.stats().await.unwrap().pending > 0 {
        assert!(tokio::time::Instant::now() < deadline, "still pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mails = app.sink.messages();
    assert_eq!(mails.len(), USERS, "each email exactly once");
    let ids: HashSet<_> = mails.iter().map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), USERS, "distinct Message-IDs");
    let recipients: HashSet<_> = mails.iter().flat_map(|m| m.to.clone()).collect();
    let expected: HashSet<_> = users.iter().map(|u| u.email.to_string()).collect();
    assert_eq!(recipients, expected);
}
