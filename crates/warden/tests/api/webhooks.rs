//! Signed webhooks end to end: a real receiver on 127.0.0.1 (so the tests run with
//! `WARDEN_WEBHOOK_ALLOW_PRIVATE`, and a first retry after 200 ms instead of 5 s) checks each
//! request's Standard Webhooks signature.

use std::time::Duration;

use serde_json::{json, Value};
use warden::Config;
use warden_domain::{Role, User, WebhookSecret};
use warden_testkit::webhook_sink::{ReceivedWebhook, WebhookSink};

use crate::support::{spawn_app_configured, Response, TestApp};

const WAIT: Duration = Duration::from_secs(20);

fn allow_local(config: &mut Config) {
    config.webhooks.allow_private = true;
    config.webhooks.first_retry = Some(Duration::from_millis(200));
}

async fn spawn_local() -> TestApp {
    spawn_app_configured(allow_local, |ports| ports).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    app.send(reqwest::Method::POST, path, Some(token), body.to_string())
        .await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    app.send(reqwest::Method::GET, path, Some(token), "").await
}

/// Registers `url` for every event; returns its id and secret.
async fn register(app: &TestApp, token: &str, url: &str) -> (String, WebhookSecret) {
    let created = post(app, "/api/v1/webhooks", token, &json!({"url": url})).await;
    created.assert_shape(201, "Webhook created successfully");
    let data = &created.body["data"];
    let secret = WebhookSecret::parse(data["secret"].as_str().unwrap()).unwrap();
    (data["id"].as_str().unwrap().to_owned(), secret)
}

/// The request verifies under `secret`, as a receiver would check it; returns its JSON body.
fn verified(request: &ReceivedWebhook, secret: &WebhookSecret) -> Value {
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let id = request.header("webhook-id").unwrap();
    let timestamp: i64 = request
        .header("webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let signature = request.header("webhook-signature").unwrap();
    assert!(
        secret.verifies(signature, id, timestamp, &request.body),
        "bad signature {signature}"
    );
    assert!(
        !secret.verifies(signature, id, timestamp + 1, &request.body),
        "the timestamp is signed"
    );
    serde_json::from_slice(&request.body).unwrap()
}

async fn deliveries(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let listed = get(app, &format!("/api/v1/webhooks/{id}/deliveries"), token).await;
    listed.assert_shape(200, "Deliveries retrieved successfully");
    listed.body["data"]["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the endpoint's deliveries are all finished (delivered or failed).
async fn settled(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    tokio::time::timeout(WAIT, async {
        loop {
            let found = deliveries(app, token, id).await;
            if found.iter().all(|d| d["status"] != "pending") {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("deliveries still pending")
}

async fn reactivate(app: &TestApp, token: &str, user: &User) -> Response {
    let body = json!({"user_id": user.id.to_string()});
    app.patch_json("/api/v1/users/reactivate", Some(token), &body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivation_reaches_the_receiver_signed_with_the_snapshot() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let (id, secret) = register(&app, &token, &sink.url()).await;

    let shown = get(&app, &format!("/api/v1/webhooks/{id}"), &token).await;
    shown.assert_shape(200, "Webhook retrieved successfully");
    assert_eq!(shown.body["data"]["url"], sink.url());
    assert_eq!(
        shown.body["data"]["events"],
        json!(["user.deactivated", "user.reactivated", "user.role_changed"])
    );
    assert_eq!(shown.body["data"]["enabled"], true);
    assert!(
        shown.body["data"].get("secret").is_none(),
        "shown once only"
    );

    app.deactivate(&token, &target, Some("Left \"the\" company"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    sink.wait_for(1, WAIT).await.unwrap();
    let received = sink.received();
    let body = verified(&received[0], &secret);
    assert_eq!(body["type"], "user.deactivated");
    let data = &body["data"];
    assert_eq!(data["user_id"], target.id.to_string());
    assert_eq!(data["email"], target.email.to_string());
    assert_eq!(
        data["actor"],
        json!({"kind": "user", "id": admin.id.to_string(), "name": admin.email.to_string()})
    );
    assert_eq!(data["reason"], "Left \"the\" company");
    assert_eq!(data["at"], body["timestamp"]);
    assert!(received[0].body.len() < 20_000);

    let listed = settled(&app, &token, &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "delivered");
    assert_eq!(listed[0]["attempts"], 1);
    assert_eq!(listed[0]["last_status_code"], 200);
    assert_eq!(listed[0]["type"], "user.deactivated");
    // The webhook-id is the event: the audit event's id.
    let events = app.users.events(&target.id, None, 1).await.unwrap();
    assert_eq!(listed[0]["event_id"], events[0].id.to_string());
    assert_eq!(
        received[0].header("webhook-id"),
        Some(events[0].id.to_string().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_with_the_same_webhook_id() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    sink.answer(&[500]);
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let (id, secret) = register(&app, &token, &sink.url()).await;

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    sink.wait_for(2, WAIT).await.unwrap();
    let listed = settled(&app, &token, &id).await;
    let received = sink.received();
    assert_eq!(received.len(), 2, "delivered on the second attempt");
    let (first, second) = (
        verified(&received[0], &secret),
        verified(&received[1], &secret),
    );
    assert_eq!(first, second, "the same event");
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    assert_eq!(listed[0]["status"], "delivered");
    assert_eq!(listed[0]["attempts"], 2);
    assert_eq!(listed[0]["last_status_code"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_until_it_is_enabled_again() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    sink.answer(&[410]);
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let (id, secret) = register(&app, &token, &sink.url()).await;

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    sink.wait_for(1, WAIT).await.unwrap();
    let listed = settled(&app, &token, &id).await;
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["last_status_code"], 410);
    let shown = get(&app, &format!("/api/v1/webhooks/{id}"), &token).await;
    assert_eq!(shown.body["data"]["enabled"], false);

    // While disabled, a change owes it nothing.
    reactivate(&app, &token, &target)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    assert_eq!(deliveries(&app, &token, &id).await.len(), 1);

    let enabled = app
        .patch_json(
            &format!("/api/v1/webhooks/{id}"),
            Some(&token),
            &json!({"enabled": true}),
        )
        .await;
    enabled.assert_shape(200, "Webhook updated successfully");
    assert_eq!(enabled.body["data"]["enabled"], true);
    let bad = app
        .patch_json(
            &format!("/api/v1/webhooks/{id}"),
            Some(&token),
            &json!({"enabled": "yes"}),
        )
        .await;
    bad.assert_shape(422, "Invalid input");
    assert_eq!(bad.error_fields(), vec!["enabled"]);

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    sink.wait_for(2, WAIT).await.unwrap();
    let listed = settled(&app, &token, &id).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["status"], "delivered");
    let body = verified(&sink.received()[1], &secret);
    assert_eq!(body["type"], "user.deactivated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_sends_nothing() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let other = app.create_user(Role::User).await;
    let (id, secret) = register(&app, &token, &sink.url()).await;

    // Refused: an active user cannot be reactivated, and an admin cannot deactivate themself.
    assert_eq!(reactivate(&app, &token, &target).await.status, 400);
    assert_eq!(app.deactivate(&token, &admin, None).await.status, 400);
    // A change that applies, after the refused ones.
    app.deactivate(&token, &other, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    sink.wait_for(1, WAIT).await.unwrap();
    let listed = settled(&app, &token, &id).await;
    assert_eq!(listed.len(), 1, "only the applied change is owed");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        verified(&received[0], &secret)["data"]["user_id"],
        other.id.to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_signs_with_both_secrets_and_an_admin_manages_endpoints() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let created = post(
        &app,
        "/api/v1/webhooks",
        &token,
        &json!({"url": sink.url(), "events": ["user.reactivated"], "description": "billing"}),
    )
    .await;
    created.assert_shape(201, "Webhook created successfully");
    let data = &created.body["data"];
    let id = data["id"].as_str().unwrap().to_owned();
    assert_eq!(data["events"], json!(["user.reactivated"]));
    assert_eq!(data["description"], "billing");
    let old = WebhookSecret::parse(data["secret"].as_str().unwrap()).unwrap();

    let rotated = post(
        &app,
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        &token,
        &json!({}),
    )
    .await;
    rotated.assert_shape(200, "Webhook secret rotated successfully");
    let new = WebhookSecret::parse(rotated.body["data"]["secret"].as_str().unwrap()).unwrap();
    assert_ne!(new, old);

    // Not subscribed to deactivations; the reactivation is signed by both secrets.
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    reactivate(&app, &token, &target)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    sink.wait_for(1, WAIT).await.unwrap();
    let listed = settled(&app, &token, &id).await;
    assert_eq!(listed.len(), 1);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let signature = received[0].header("webhook-signature").unwrap();
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    assert_eq!(verified(&received[0], &new)["type"], "user.reactivated");
    verified(&received[0], &old);

    let listed = get(&app, "/api/v1/webhooks", &token).await;
    listed.assert_shape(200, "Webhooks retrieved successfully");
    assert_eq!(listed.body["data"]["webhooks"][0]["id"], id.as_str());
    assert!(!listed.body.to_string().contains("whsec_"));

    let retry = format!(
        "/api/v1/webhooks/{id}/deliveries/{}/retry",
        settled(&app, &token, &id).await[0]["id"].as_str().unwrap()
    );
    post(&app, &retry, &token, &json!({}))
        .await
        .assert_envelope(400, "Delivery was already delivered");

    let deleted = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&token),
            "",
        )
        .await;
    deleted.assert_envelope(200, "Webhook deleted successfully");
    get(&app, &format!("/api/v1/webhooks/{id}"), &token)
        .await
        .assert_envelope(404, "Webhook not found");
    get(&app, "/api/v1/webhooks/not-a-uuid/deliveries", &token)
        .await
        .assert_envelope(404, "Webhook not found");

    // Admins only.
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    assert_eq!(get(&app, "/api/v1/webhooks", &user_token).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_plain_http_targets_are_refused_without_the_flag() {
    let app = crate::support::spawn_app().await;
    let (_, token) = app.admin().await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://localhost:8443/hook",
        "http://93.184.215.14/hook",
        "not a url",
    ] {
        let refused = post(&app, "/api/v1/webhooks", &token, &json!({"url": url})).await;
        refused.assert_shape(422, "Invalid input");
        assert_eq!(refused.error_fields(), vec!["url"], "{url}");
    }
    let refused = post(
        &app,
        "/api/v1/webhooks",
        &token,
        &json!({"events": ["user.deleted"], "description": 3}),
    )
    .await;
    refused.assert_shape(422, "Invalid input");
    let mut fields = refused.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["description", "events", "url"]);
    let listed = get(&app, "/api/v1/webhooks", &token).await;
    assert_eq!(listed.body["data"]["webhooks"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_on_a_429_sets_the_next_attempt() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    sink.answer_retry_after(429, "3600");
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let (id, secret) = register(&app, &token, &sink.url()).await;

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    sink.wait_for(1, WAIT).await.unwrap();
    verified(&sink.received()[0], &secret);
    let listed = tokio::time::timeout(WAIT, async {
        loop {
            let found = deliveries(&app, &token, &id).await;
            if found[0]["last_status_code"] == 429 {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the 429 is not recorded");
    assert_eq!(listed[0]["status"], "pending");
    let next: chrono::DateTime<chrono::Utc> = listed[0]["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Not the schedule's first retry (200 ms here): the hour the receiver asked for.
    assert!(
        next - chrono::Utc::now() > chrono::TimeDelta::minutes(50),
        "next attempt at {next}"
    );
}
