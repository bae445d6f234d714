use std::sync::Arc;
use std::time::Duration;

use warden_domain::ports::{OutboxEntry, OutboxStatus};
use warden_domain::{Role, UserId};
use warden_testkit::failing::{FailingChanges, Failure};
use warden_testkit::MemoryStore;

use crate::support::{spawn_app, spawn_app_with, TestApp};

/// A server on the in-memory store, whose status changes fail the given way.
async fn app_whose_changes_fail(failure: Failure) -> TestApp {
    spawn_app_with(move |mut ports| {
        let store = Arc::new(MemoryStore::new());
        ports.users = Arc::new(FailingChanges::new(
            store.clone(),
            failure,
            "relation \"users\" is on fire: SECRET-DETAIL",
        ));
        ports.outbox = store;
        ports
    })
    .await
}

/// Waits until the worker has tried, and failed, to deliver the one pending notification.
async fn first_delivery_failed(app: &TestApp) -> OutboxEntry {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let pending = app
                .outbox
                .list(OutboxStatus::Pending, None, 10)
                .await
                .unwrap();
            if let [entry] = pending.as_slice() {
                if entry.attempts >= 1 && entry.last_error.is_some() {
                    return entry.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the worker never recorded a failed delivery")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_failure_is_a_generic_500_without_detail() {
    let app = app_whose_changes_fail(Failure::Other).await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let response = app.deactivate(&token, &target, None).await;
    response.assert_envelope(500, "An unexpected error occurred.");
    assert!(!response.body.to_string().contains("SECRET"));
    assert!(!format!("{:?}", response.headers).contains("SECRET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_a_503_with_retry_after() {
    let app = app_whose_changes_fail(Failure::Unavailable).await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let response = app.deactivate(&token, &target, None).await;
    response.assert_envelope(503, "Service temporarily unavailable");
    assert_eq!(response.headers["retry-after"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_down_does_not_fail_the_request_and_the_email_follows_later() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.sink.stop().await;

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    // Not a quiet period: the worker's failed attempt is on record, and nothing arrived.
    let failed = first_delivery_failed(&app).await;
    assert!(app.sink.messages().is_empty());
    assert_eq!(failed.notification.to, target.email);
    assert_eq!(app.outbox.stats().await.unwrap().pending, 1);

    app.sink.restart().await.unwrap();
    let mails = app.emails(1).await;
    assert_eq!(mails[0].to, vec![target.email.to_string()]);
    assert_eq!(app.outbox.stats().await.unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_requests_send_nothing() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let member_token = app.token_for(&target).await;

    app.deactivate(&token, &admin, None)
        .await
        .assert_envelope(400, "You cannot deactivate your own account");
    app.deactivate(&member_token, &admin, None)
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    let ghost_id = serde_json::json!({"user_id": UserId::generate().to_string()});
    app.patch_json("/api/v1/users/deactivate", Some(&token), &ghost_id)
        .await
        .assert_envelope(404, "User not found");
    // Then one success: exactly its email arrives, nothing for the failures.
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let mails = app.emails(1).await;
    assert_eq!(mails[0].to, vec![target.email.to_string()]);
}
