//! `GET /api/v1/outbox` and `POST /api/v1/outbox/{id}/retry` (issue 10, section 5): admins see
//! what failed or waits, and send it again, through real HTTP and a real SMTP sink.

use std::time::Duration;

use reqwest::Method;
use warden_domain::Role;
use warden_testkit::smtp_sink::ReplyMode;

use crate::support::{spawn_app, Response, TestApp};

async fn get(app: &TestApp, query: &str, token: Option<&str>) -> Response {
    app.send(Method::GET, &format!("/api/v1/outbox{query}"), token, "")
        .await
}

async fn retry(app: &TestApp, id: &str, token: Option<&str>) -> Response {
    app.send(
        Method::POST,
        &format!("/api/v1/outbox/{id}/retry"),
        token,
        "",
    )
    .await
}

/// Polls until the outbox counts are `(pending, failed)`.
async fn until_counts(app: &TestApp, pending: u64, failed: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stats = app.outbox.stats().await.unwrap();
        if (stats.pending, stats.failed) == (pending, failed) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "stuck at {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn admins_see_failures_and_retry_them_until_sent() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let (first, second) = (
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
    );
    app.sink.set_reply_mode(ReplyMode::PermanentFailure);
    app.deactivate(&token, &first, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    until_counts(&app, 0, 1).await;
    app.deactivate(&token, &second, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    until_counts(&app, 0, 2).await;

    let page = get(&app, "?status=failed&limit=1", Some(&token)).await;
    page.assert_shape(200, "Outbox retrieved successfully");
    let entries = page.body["data"]["notifications"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let newest = &entries[0];
    assert_eq!(newest["recipient"], second.email.to_string());
    assert_eq!(newest["action"], "deactivated");
    assert_eq!(newest["status"], "failed");
    assert_eq!(newest["attempts"], 1);
    assert_eq!(newest["last_error"], "SMTP 550: 5.1.1 No such mailbox");
    for key in ["id", "next_attempt_at", "created_at"] {
        assert!(newest[key].is_string(), "{key}: {newest}");
    }
    let cursor = page.body["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest = get(
        &app,
        &format!("?status=failed&limit=1&cursor={cursor}"),
        Some(&token),
    )
    .await;
    rest.assert_shape(200, "Outbox retrieved successfully");
    let older = &rest.body["data"]["notifications"][0];
    assert_eq!(older["recipient"], first.email.to_string());
    assert!(rest.body["data"]["next_cursor"].is_null());
    let pending = get(&app, "?status=pending", Some(&token)).await;
    assert_eq!(pending.body["data"]["notifications"], serde_json::json!([]));

    app.sink.set_reply_mode(ReplyMode::Accept);
    let id = older["id"].as_str().unwrap().to_owned();
    retry(&app, &id, Some(&token))
        .await
        .assert_envelope(200, "Notification queued for retry");
    let mails = app.sink.wait_for(1, Duration::from_secs(20)).await.unwrap();
    assert_eq!(mails[0].to, vec![first.email.to_string()]);
    until_counts(&app, 0, 1).await;
    retry(&app, &id, Some(&token))
        .await
        .assert_envelope(400, "Notification was already sent");
    assert_eq!(app.sink.messages().len(), 1);
}

#[tokio::test]
async fn pending_notifications_are_listed_with_their_smtp_reply() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    app.sink.set_reply_mode(ReplyMode::TransientFailure);
    app.deactivate(&token, &user, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let entry = loop {
        let page = get(&app, "?status=pending", Some(&token)).await;
        page.assert_shape(200, "Outbox retrieved successfully");
        let entry = page.body["data"]["notifications"][0].clone();
        if entry["last_error"].is_string() {
            break entry;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(entry["status"], "pending");
    assert_eq!(entry["last_error"], "SMTP 451: 4.3.0 Try again later");
    assert!(entry["attempts"].as_u64().unwrap() >= 1);

    app.sink.set_reply_mode(ReplyMode::Accept);
    let id = entry["id"].as_str().unwrap();
    // On a slow machine the worker's own backoff may run out first: the entry is then being
    // sent (409) or already sent (400), and the worker's attempt delivers it.
    loop {
        let answer = retry(&app, id, Some(&token)).await;
        match answer.status.as_u16() {
            200 => {
                answer.assert_envelope(200, "Notification queued for retry");
                break;
            }
            400 => {
                answer.assert_envelope(400, "Notification was already sent");
                break;
            }
            _ => answer.assert_envelope(409, "Notification is being sent right now"),
        }
        assert!(tokio::time::Instant::now() < deadline, "never retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.sink.wait_for(1, Duration::from_secs(20)).await.unwrap();
}

#[tokio::test]
async fn the_outbox_is_for_admins_only_and_checks_its_input() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;

    get(&app, "?status=failed", None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    get(&app, "?status=failed", Some(&user_token))
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    retry(&app, &uuid::Uuid::now_v7().to_string(), None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    retry(&app, &uuid::Uuid::now_v7().to_string(), Some(&user_token))
        .await
        .assert_envelope(403, "You do not have permission to access this resource");

    for query in [
        "",
        "?status=sent",
        "?status=failed&limit=101",
        "?status=failed&cursor=x",
    ] {
        get(&app, query, Some(&token))
            .await
            .assert_shape(422, "Invalid input");
    }
    retry(&app, &uuid::Uuid::now_v7().to_string(), Some(&token))
        .await
        .assert_envelope(404, "Notification not found");
    retry(&app, "not-a-uuid", Some(&token))
        .await
        .assert_envelope(404, "Notification not found");
}
