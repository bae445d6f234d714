//! Every path after a commit is the same path: a status change made by the lifter, the bulk
//! job runner or SCIM sends its webhooks as promptly as a single API request's, and
//! `warden_status_changes_total` counts it under its `channel`.
//!
//! The webhook worker polls every `WARDEN_OUTBOX_POLL_MS`; these tests set it to ten minutes,
//! far beyond the 15 s they wait, so only the after-commit wake can explain a delivery.

use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use warden::Config;
use warden_domain::{Role, UserId};
use warden_testkit::webhook_sink::WebhookSink;

use crate::scim_support::{patch, scim_client};
use crate::support::{spawn_app_configured, TestApp};

/// The webhook (and outbox) worker's poll: never, within a test.
const POLL: Duration = Duration::from_secs(600);
/// How long a test waits for a delivery the wake owes: well under [`POLL`].
const PROMPT: Duration = Duration::from_secs(15);

/// An app that sends webhooks to 127.0.0.1 and polls for them only every [`POLL`].
async fn slow_polling_app(tune: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_configured(
        |config| {
            config.webhooks.allow_private = true;
            config.outbox_poll = POLL;
            tune(config);
        },
        |ports| ports,
    )
    .await
}

/// Registers a webhook endpoint for every event at `sink`.
async fn register(app: &TestApp, token: &str, sink: &WebhookSink) {
    let body = json!({"url": sink.url()}).to_string();
    let created = app
        .send(Method::POST, "/api/v1/webhooks", Some(token), body)
        .await;
    created.assert_shape(201, "Webhook created successfully");
}

/// The JSON body of the `index`th webhook request the sink received.
fn event(sink: &WebhookSink, index: usize) -> Value {
    serde_json::from_slice(&sink.received()[index].body).unwrap()
}

/// The value of `warden_status_changes_total` for `action` and `channel`, if it is shown.
async fn changes(app: &TestApp, action: &str, channel: &str) -> Option<u64> {
    let series =
        format!(r#"warden_status_changes_total{{action="{action}",channel="{channel}"}} "#);
    let text = app.metrics_text().await;
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map(|count| count.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifted_suspension_sends_its_webhook_at_once_and_counts_as_lift() {
    let app = slow_polling_app(|config| config.lift_poll = Duration::from_millis(50)).await;
    let sink = WebhookSink::start().await.unwrap();
    let (_, token) = app.admin().await;
    register(&app, &token, &sink).await;
    let target = app.create_user(Role::User).await;
    let until = (Utc::now() + TimeDelta::seconds(1)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let body = json!({"user_id": target.id.to_string(), "until": until});
    app.patch_json("/api/v1/users/deactivate", Some(&token), &body)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    sink.wait_for(1, PROMPT).await.unwrap();
    assert_eq!(event(&sink, 0)["type"], "user.deactivated");
    // The lift, about a second later: its webhook owes nothing to the poll.
    sink.wait_for(2, PROMPT).await.unwrap();
    let lifted = event(&sink, 1);
    assert_eq!(lifted["type"], "user.reactivated");
    assert_eq!(lifted["data"]["user_id"], target.id.to_string());
    assert_eq!(lifted["data"]["actor"]["kind"], "system");

    assert_eq!(changes(&app, "reactivated", "lift").await, Some(1));
    assert_eq!(changes(&app, "deactivated", "api").await, Some(1));
    assert_eq!(changes(&app, "reactivated", "api").await, None);
    app.emails(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_items_webhook_goes_out_at_once_and_counts_as_bulk() {
    let app = slow_polling_app(|config| config.job_poll = Duration::from_millis(50)).await;
    let sink = WebhookSink::start().await.unwrap();
    let (admin, token) = app.admin().await;
    register(&app, &token, &sink).await;
    let (first, second) = (
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
    );
    // Two deactivations, and two items that change nothing (and count nothing).
    let ids = [
        first.id.to_string(),
        UserId::generate().to_string(),
        second.id.to_string(),
        first.id.to_string(),
    ];
    let body = json!({"user_ids": ids, "reason": "spam wave"}).to_string();
    let submitted = app
        .send(
            Method::POST,
            "/api/v1/users/deactivate/bulk",
            Some(&token),
            body,
        )
        .await;
    submitted.assert_shape(202, "Bulk deactivation accepted");

    sink.wait_for(2, PROMPT).await.unwrap();
    let mut targets: Vec<Value> = (0..2)
        .map(|index| {
            let event = event(&sink, index);
            assert_eq!(event["type"], "user.deactivated");
            assert_eq!(event["data"]["actor"]["id"], admin.id.to_string());
            event["data"]["user_id"].clone()
        })
        .collect();
    targets.sort_by_key(|id| id.as_str().map(str::to_owned));
    let mut expected = vec![json!(first.id.to_string()), json!(second.id.to_string())];
    expected.sort_by_key(|id| id.as_str().map(str::to_owned));
    assert_eq!(targets, expected);

    app.emails(2).await;
    assert_eq!(changes(&app, "deactivated", "bulk").await, Some(2));
    assert_eq!(changes(&app, "deactivated", "api").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_deprovisioning_sends_its_webhook_at_once_and_counts_as_scim() {
    let app = slow_polling_app(|_| {}).await;
    let sink = WebhookSink::start().await.unwrap();
    let (_, token) = app.admin().await;
    register(&app, &token, &sink).await;
    let client = scim_client(&app, "entra-id").await;
    let target = app.create_user(Role::User).await;

    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    let done = patch(&app, &client, &target.id.to_string(), off).await;
    assert_eq!(done.status, 200, "{:?}", done.body);

    sink.wait_for(1, PROMPT).await.unwrap();
    let sent = event(&sink, 0);
    assert_eq!(sent["type"], "user.deactivated");
    assert_eq!(sent["data"]["actor"]["kind"], "client");
    app.emails(1).await;
    assert_eq!(changes(&app, "deactivated", "scim").await, Some(1));
    assert_eq!(changes(&app, "deactivated", "api").await, None);
}
