//! Fault 7: the process is SIGKILLed while a webhook receiver holds its request (received, not
//! yet answered). A restarted process sends the event again once the dead claim's lease ends,
//! with the same `webhook-id`, so the receiver recognises it: exactly once for a receiver that
//! deduplicates on the id.

use std::time::Duration;

use serde_json::{json, Value};
use warden_domain::{Role, WebhookSecret};
use warden_testkit::smtp_sink::SmtpSink;
use warden_testkit::webhook_sink::WebhookSink;

use crate::harness::{client, Server, ServerConfig, World};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_held_when_its_sender_dies_is_sent_again_with_the_same_id() {
    let world = World::new().await;
    let token = world.admin_token().await;
    let user = world.create_user(Role::User).await;
    let smtp = SmtpSink::start().await.unwrap();
    let receiver = WebhookSink::start().await.unwrap();
    receiver.hang_next();
    let config = ServerConfig::new(smtp.url())
        .env("WARDEN_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("WARDEN_WEBHOOK_LEASE_MS", 2000);
    let mut first = Server::start(&world, &config).await;
    let client = client();

    let created: Value = client
        .post(first.url("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": receiver.url()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["status_code"], 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let secret = WebhookSecret::parse(created["data"]["secret"].as_str().unwrap()).unwrap();

    first
        .deactivate_without_waiting_for_mail(&client, &token, &user)
        .await;
    // The worker claimed the delivery and sent it; the receiver holds the request.
    receiver.wait_for(1, WAIT).await.unwrap();
    first.sigkill();

    let second = Server::start(&world, &config).await;
    receiver.wait_for(2, WAIT).await.unwrap();
    let deliveries = second.url(&format!("/api/v1/webhooks/{id}/deliveries"));
    let listed = tokio::time::timeout(WAIT, async {
        loop {
            let page: Value = client
                .get(&deliveries)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let listed = page["data"]["deliveries"].clone();
            if listed[0]["status"] == "delivered" {
                return listed;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the delivery is not marked delivered");
    let received = receiver.received();
    assert_eq!(received.len(), 2, "sent again once, not more");
    let ids: Vec<&str> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids[0], ids[1], "the same webhook-id");
    assert_eq!(listed[0]["event_id"], ids[0]);
    assert_eq!(listed[0]["attempts"], 2);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    for request in &received {
        let timestamp: i64 = request
            .header("webhook-timestamp")
            .unwrap()
            .parse()
            .unwrap();
        assert!(secret.verifies(
            request.header("webhook-signature").unwrap(),
            request.header("webhook-id").unwrap(),
            timestamp,
            &request.body
        ));
    }
    assert_eq!(received[0].body, received[1].body, "the same event");
    drop(second);
}
