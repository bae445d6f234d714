//! `GET /api/v1/users/{id}/access`: whether an account can sign in, and every reason why not.

use reqwest::Method;
use serde_json::json;
use warden_domain::Role;

use crate::support::{spawn_app, Response, TestApp};

async fn access(app: &TestApp, id: &str, token: Option<&str>) -> Response {
    let path = format!("/api/v1/users/{id}/access");
    app.send(Method::GET, &path, token, "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_account_can_sign_in() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let ada = app.create_user(Role::User).await;
    let response = access(&app, &ada.id.to_string(), Some(&token)).await;
    response.assert_shape(200, "Access explained");
    assert_eq!(
        response.body["data"],
        json!({"can_sign_in": true, "reasons": []})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_account_says_by_whom_when_and_why() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let ada = app.create_user(Role::User).await;
    app.deactivate(&token, &ada, Some("Chargeback fraud"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let response = access(&app, &ada.id.to_string(), Some(&token)).await;
    response.assert_shape(200, "Access explained");
    let data = &response.body["data"];
    assert_eq!(data["can_sign_in"], false);
    let reasons = data["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{data}");
    let reason = &reasons[0];
    assert_eq!(reason["code"], "deactivated");
    assert_eq!(
        reason["by"],
        json!({"kind": "user", "id": admin.id.to_string(), "name": admin.email.as_str(), "role": "admin"})
    );
    assert_eq!(reason["reason"], "Chargeback fraud");
    let stored = app.user(&ada).await;
    let at = match stored.status {
        warden_domain::AccountStatus::Deactivated(d) => d.at,
        other => panic!("still {other:?}"),
    };
    assert_eq!(reason["at"], json!(at));
    let message = reason["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("Deactivated by {} at ", admin.email))
            && message.ends_with(": Chargeback fraud"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_account_says_how_many_clients_and_until_when() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let ada = app.create_user(Role::User).await;
    let wrong = json!({"email": ada.email.as_str(), "password": "not the password"});
    for _ in 0..5 {
        app.send(Method::POST, "/api/v1/auth/login", None, wrong.to_string())
            .await
            .assert_envelope(401, "Invalid email or password");
    }
    let response = access(&app, &ada.id.to_string(), Some(&token)).await;
    response.assert_shape(200, "Access explained");
    let data = &response.body["data"];
    assert_eq!(data["can_sign_in"], false);
    let reason = &data["reasons"][0];
    assert_eq!(data["reasons"].as_array().unwrap().len(), 1, "{data}");
    assert_eq!(reason["code"], "sign_in_throttled");
    assert_eq!(reason["clients"], 1);
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(reason["until"].clone()).unwrap();
    let left = until - chrono::Utc::now();
    assert!(
        left > chrono::TimeDelta::seconds(20) && left <= chrono::TimeDelta::seconds(30),
        "{left}"
    );
    let message = reason["message"].as_str().unwrap();
    assert!(
        message.starts_with("Too many failed sign-ins: 1 client is locked out until "),
        "{message}"
    );
    // Another account is not affected.
    let bob = app.create_user(Role::User).await;
    let other = access(&app, &bob.id.to_string(), Some(&token)).await;
    assert_eq!(other.body["data"]["can_sign_in"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_is_for_admins_and_unknown_ids_are_not_found() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    let id = user.id.to_string();
    access(&app, &id, None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    access(&app, &id, Some(&user_token))
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    for unknown in [uuid::Uuid::now_v7().to_string(), "12345".to_owned()] {
        access(&app, &unknown, Some(&token))
            .await
            .assert_envelope(404, "User not found");
    }
}
