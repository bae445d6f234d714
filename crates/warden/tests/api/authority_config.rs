//! Configuration writes (clients, webhooks) re-check the acting admin when they commit, like
//! status changes: a held `POST /api/v1/clients`, `POST /api/v1/webhooks` or
//! `PATCH /api/v1/webhooks/{id}` whose admin lost their authority meanwhile writes nothing. The
//! writes that do commit are audited and listed by `GET /api/v1/events`.

use serde_json::{json, Value};

use crate::authority::{assert_refused, spawn_watched_app, HeldRequest};
use crate::support::{Response, TestApp};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> Response {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    app.send(method, path, Some(token), body).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    send(app, reqwest::Method::GET, path, token, Value::Null).await
}

async fn events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let found = get(app, &format!("/api/v1/events?{query}"), token).await;
    found.assert_shape(200, "Events retrieved successfully");
    found.body["data"]["events"].as_array().unwrap().clone()
}

const HOOK: &str = "https://127.0.0.1:9/hook";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_client_creation_by_a_deactivated_admin_creates_nothing() {
    let (app, probe) = spawn_watched_app().await;
    let (_admin1, token1) = app.admin().await;
    let (admin2, token2) = app.admin().await;

    let held = HeldRequest::start_with(
        &app,
        "POST",
        "/api/v1/clients",
        &token2,
        json!({"name": "backdoor", "scopes": ["scim"]}),
    )
    .await;
    probe.loaded(admin2.id, 1).await;
    app.deactivate(&token1, &admin2, Some("stolen token"))
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let (status, body) = held.finish().await;
    assert_refused(status, &body);
    let clients = get(&app, "/api/v1/clients", &token1).await;
    assert_eq!(
        clients.body["data"]["clients"],
        json!([]),
        "{:?}",
        clients.body
    );
    assert_eq!(
        events(&app, &token1, "action=client_created").await,
        Vec::<Value>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_webhook_writes_by_an_admin_whose_tokens_were_revoked_write_nothing() {
    let (app, probe) = spawn_watched_app().await;
    let (_admin1, token1) = app.admin().await;
    let (admin2, token2) = app.admin().await;
    let created = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        &token1,
        json!({"url": HOOK}),
    )
    .await;
    created.assert_shape(201, "Webhook created successfully");
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();

    let on_new = HeldRequest::start_with(
        &app,
        "POST",
        "/api/v1/webhooks",
        &token2,
        json!({"url": "https://127.0.0.1:9/exfiltrate"}),
    )
    .await;
    let on_existing = HeldRequest::start_with(
        &app,
        "PATCH",
        &format!("/api/v1/webhooks/{id}"),
        &token2,
        json!({"enabled": false}),
    )
    .await;
    probe.loaded(admin2.id, 2).await;
    // Off and on again: admin2 is an active admin, but every token they held is revoked.
    app.deactivate(&token1, &admin2, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.patch_json(
        "/api/v1/users/reactivate",
        Some(&token1),
        &json!({"user_id": admin2.id.to_string()}),
    )
    .await
    .assert_envelope(200, "User account reactivated successfully");

    for held in [on_new, on_existing] {
        let (status, body) = held.finish().await;
        assert_refused(status, &body);
    }
    let hooks = get(&app, "/api/v1/webhooks", &token1).await;
    let hooks = hooks.body["data"]["webhooks"].as_array().unwrap().clone();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["enabled"], true, "the endpoint is unchanged");
    let actor = admin2.id.to_string();
    assert_eq!(
        events(&app, &token1, &format!("actor_id={actor}")).await,
        Vec::<Value>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_changes_are_audited_with_who_what_and_when() {
    let (app, _probe) = spawn_watched_app().await;
    let (admin, token) = app.admin().await;
    let admin_id = admin.id.to_string();

    let client = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/clients",
        &token,
        json!({"name": "okta", "scopes": ["scim"]}),
    )
    .await;
    client.assert_shape(201, "Client created successfully");
    let client_id = client.body["data"]["client"]["id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| client.body["data"]["id"].as_str().map(str::to_owned))
        .unwrap();
    let listed = get(&app, "/api/v1/clients", &token).await;
    assert_eq!(
        listed.body["data"]["clients"][0]["created_by"],
        json!(admin_id)
    );
    send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/clients/{client_id}"),
        &token,
        Value::Null,
    )
    .await
    .assert_shape(200, "Client revoked successfully");

    let hook = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/webhooks",
        &token,
        json!({"url": HOOK}),
    )
    .await;
    hook.assert_shape(201, "Webhook created successfully");
    assert_eq!(hook.body["data"]["created_by"], json!(admin_id));
    let hook_id = hook.body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/webhooks/{hook_id}");
    send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &token,
        json!({"enabled": false}),
    )
    .await
    .assert_shape(200, "Webhook updated successfully");
    let rotated = send(
        &app,
        reqwest::Method::POST,
        &format!("{path}/rotate-secret"),
        &token,
        Value::Null,
    )
    .await;
    assert_eq!(rotated.status.as_u16(), 200, "{:?}", rotated.body);
    send(&app, reqwest::Method::DELETE, &path, &token, Value::Null)
        .await
        .assert_shape(200, "Webhook deleted successfully");

    let all = events(&app, &token, "").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "webhook_deleted",
            "webhook_secret_rotated",
            "webhook_updated",
            "webhook_created",
            "client_revoked",
            "client_created",
        ],
        "newest first"
    );
    let created = &all[5];
    assert_eq!(
        created["target"],
        json!({"kind": "client", "id": client_id})
    );
    assert_eq!(created["target_id"], Value::Null);
    assert_eq!(
        created["actor"],
        json!({"kind": "user", "id": admin_id, "name": admin.email.to_string(), "role": "admin"})
    );
    assert_eq!(created["actor_id"], json!(admin_id));
    assert_eq!(created["channel"], "api");
    assert_eq!(created["reason"], Value::Null);
    assert!(created["at"].is_string());
    assert!(created.get("attributes").is_none());
    assert_eq!(all[0]["target"], json!({"kind": "webhook", "id": hook_id}));

    let filtered = events(&app, &token, "action=webhook_secret_rotated").await;
    assert_eq!(filtered.len(), 1);
    let of_hook = events(&app, &token, &format!("target_id={hook_id}&limit=2")).await;
    assert_eq!(of_hook.len(), 2);
    assert_eq!(of_hook[0]["action"], "webhook_deleted");
    let bad = get(&app, "/api/v1/events?action=client_deleted", &token).await;
    bad.assert_shape(422, "Invalid input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_bulk_job_by_a_deactivated_admin_is_not_stored() {
    let (app, probe) = spawn_watched_app().await;
    let (_admin1, token1) = app.admin().await;
    let (admin2, token2) = app.admin().await;
    let target = app.create_user(warden_domain::Role::User).await;

    let held = HeldRequest::start_with(
        &app,
        "POST",
        "/api/v1/users/deactivate/bulk",
        &token2,
        json!({"user_ids": [target.id.to_string()]}),
    )
    .await;
    probe.loaded(admin2.id, 1).await;
    app.deactivate(&token1, &admin2, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let (status, body) = held.finish().await;
    assert_refused(status, &body);
    assert!(app.user(&target).await.is_active());
    assert_eq!(
        app.users.events(&target.id, None, 10).await.unwrap(),
        [],
        "no job acted"
    );
}
