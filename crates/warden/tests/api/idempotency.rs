//! `Idempotency-Key` on the status-change routes: a retry replays the first answer without
//! acting again, on SQLite and (with `WARDEN_TEST_DATABASE_URL`) on PostgreSQL.

use std::sync::Arc;

use reqwest::header::HeaderValue;
use serde_json::{json, Value};
use warden_domain::{Role, User, UserId};

use warden_testkit::failing::{FailingChanges, Failure};
use warden_testkit::MemoryStore;

use crate::support::{spawn_app, spawn_app_with, Response, TestApp};

const DEACTIVATE: &str = "/api/v1/users/deactivate";
const REACTIVATE: &str = "/api/v1/users/reactivate";
const REPLAYED: &str = "idempotency-replayed";
const REUSED: &str = "Idempotency key reused with a different request";
const IN_PROGRESS: &str = "A request with this idempotency key is in progress";

/// PATCHes the exact `body` text with an optional key (raw bytes, so any value can be sent).
async fn patch(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: Option<HeaderValue>,
    body: &str,
) -> Response {
    let mut request = app
        .client
        .patch(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    Response::read(request.send().await.unwrap()).await
}

fn key(text: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_str(text).unwrap())
}

fn body_for(user: &User, reason: &str) -> String {
    json!({"user_id": user.id.to_string(), "reason": reason}).to_string()
}

fn replayed(response: &Response) -> bool {
    response.headers.get(REPLAYED).is_some_and(|v| v == "true")
}

async fn events_of(app: &TestApp, token: &str, user: &User) -> Vec<Value> {
    let path = format!("/api/v1/users/{}/events", user.id);
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let response = Response::read(response).await;
    response.assert_shape(200, "User events retrieved successfully");
    response.body["data"]["events"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_replays_the_first_answer_and_acts_once() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = body_for(&target, "spam");

    let first = patch(&app, DEACTIVATE, Some(&token), key("retry-1"), &body).await;
    first.assert_envelope(200, "User account deactivated successfully");
    assert!(!first.headers.contains_key(REPLAYED));

    // Reactivated meanwhile (no key): a retry must not deactivate again.
    patch(&app, REACTIVATE, Some(&token), None, &body)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    let retry = patch(&app, DEACTIVATE, Some(&token), key("retry-1"), &body).await;
    assert_eq!(retry.status, first.status);
    assert_eq!(retry.body, first.body);
    assert!(replayed(&retry), "{:?}", retry.headers);
    assert!(app.user(&target).await.is_active());

    // The same key on another route is another key.
    patch(&app, REACTIVATE, Some(&token), key("retry-1"), &body)
        .await
        .assert_envelope(400, "User is already active");

    // One deactivation and one reactivation: two events, two emails.
    assert_eq!(events_of(&app, &token, &target).await.len(), 2);
    app.emails(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_replayed_too() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = body_for(&target, "spam");

    // A 400: already active. Once deactivated, the retry still gets that 400.
    let first = patch(&app, REACTIVATE, Some(&token), key("k-400"), &body).await;
    first.assert_envelope(400, "User is already active");
    patch(&app, DEACTIVATE, Some(&token), None, &body)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let retry = patch(&app, REACTIVATE, Some(&token), key("k-400"), &body).await;
    retry.assert_envelope(400, "User is already active");
    assert!(replayed(&retry));
    assert!(!app.user(&target).await.is_active());

    // A 404 and a 422 (bad body) are answers too.
    let unknown = json!({"user_id": UserId::generate().to_string()}).to_string();
    patch(&app, DEACTIVATE, Some(&token), key("k-404"), &unknown)
        .await
        .assert_envelope(404, "User not found");
    let retry = patch(&app, DEACTIVATE, Some(&token), key("k-404"), &unknown).await;
    retry.assert_envelope(404, "User not found");
    assert!(replayed(&retry));
    let first = patch(&app, DEACTIVATE, Some(&token), key("k-422"), "{}").await;
    first.assert_shape(422, "Invalid input");
    let retry = patch(&app, DEACTIVATE, Some(&token), key("k-422"), "{}").await;
    assert_eq!((retry.status, &retry.body), (first.status, &first.body));
    assert!(replayed(&retry));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_with_another_body_is_refused() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let (ada, bob) = (
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
    );

    patch(
        &app,
        DEACTIVATE,
        Some(&token),
        key("k"),
        &body_for(&ada, "spam"),
    )
    .await
    .assert_envelope(200, "User account deactivated successfully");
    for other in [body_for(&bob, "spam"), body_for(&ada, "other reason")] {
        let refused = patch(&app, DEACTIVATE, Some(&token), key("k"), &other).await;
        refused.assert_envelope(422, REUSED);
        assert!(!replayed(&refused));
    }
    // Raw bytes: the same JSON spelled differently is another request.
    let spaced = format!(" {}", body_for(&ada, "spam"));
    patch(&app, DEACTIVATE, Some(&token), key("k"), &spaced)
        .await
        .assert_envelope(422, REUSED);
    assert!(app.user(&bob).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_requests_act_once() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = body_for(&target, "race");

    let requests = (0..6).map(|_| patch(&app, DEACTIVATE, Some(&token), key("race"), &body));
    let answers = futures_util::future::join_all(requests).await;
    let mut acted = 0;
    for answer in &answers {
        match answer.status.as_u16() {
            200 if !replayed(answer) => acted += 1,
            200 => answer.assert_envelope(200, "User account deactivated successfully"),
            409 => answer.assert_envelope(409, IN_PROGRESS),
            _ => panic!("unexpected answer {answer:?}"),
        }
    }
    assert_eq!(acted, 1, "{answers:?}");
    assert_eq!(events_of(&app, &token, &target).await.len(), 1);
    app.emails(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_belong_to_one_admin() {
    let app = spawn_app().await;
    let (_, ada) = app.admin().await;
    let (_, bob) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = body_for(&target, "spam");

    patch(&app, DEACTIVATE, Some(&ada), key("shared"), &body)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    // Bob's "shared" is his own: his request is judged afresh, not replayed.
    let bobs = patch(&app, DEACTIVATE, Some(&bob), key("shared"), &body).await;
    bobs.assert_envelope(400, "User is already deactivated");
    assert!(!replayed(&bobs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_keys_are_refused_and_unauthenticated_answers_not_stored() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = body_for(&target, "spam");

    let too_long = "k".repeat(256);
    let bad = [
        HeaderValue::from_static(""),
        HeaderValue::from_static("has space"),
        HeaderValue::from_str(&too_long).unwrap(),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
    ];
    for value in bad {
        let refused = patch(&app, DEACTIVATE, Some(&token), Some(value.clone()), &body).await;
        refused.assert_shape(422, "Invalid input");
        assert_eq!(refused.error_fields(), ["Idempotency-Key"], "{value:?}");
    }
    let ok = "k".repeat(255);
    assert!(app.user(&target).await.is_active());

    // A 401 is never stored: the same key then acts.
    patch(&app, DEACTIVATE, None, key(&ok), &body)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    let acted = patch(&app, DEACTIVATE, Some(&token), key(&ok), &body).await;
    acted.assert_envelope(200, "User account deactivated successfully");
    assert!(!replayed(&acted));

    // Without the header, nothing changes: a repeat is judged afresh.
    let again = patch(&app, DEACTIVATE, Some(&token), None, &body).await;
    again.assert_envelope(400, "User is already deactivated");
    assert!(!replayed(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failure_frees_the_key_for_a_retry() {
    let app = spawn_app_with(|mut ports| {
        let store = Arc::new(MemoryStore::new());
        ports.users = Arc::new(FailingChanges::new(store.clone(), Failure::Other, "boom"));
        ports.outbox = store;
        ports
    })
    .await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = body_for(&target, "spam");
    for _ in 0..2 {
        // Neither stored (no replay) nor left in flight (no 409): each retry acts afresh.
        let failed = patch(&app, DEACTIVATE, Some(&token), key("k-500"), &body).await;
        failed.assert_envelope(500, "An unexpected error occurred.");
        assert!(!replayed(&failed));
    }
}
