//! Sign-in, the signed-in profile, and the admin views of status and history.

use serde_json::json;
use warden_domain::{Role, UserId};

use crate::support::{spawn_app, TestApp, PASSWORD};

async fn login(app: &TestApp, email: &str, password: &str) -> crate::support::Response {
    app.send(
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}).to_string(),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> crate::support::Response {
    app.send(reqwest::Method::GET, "/api/v1/users/me", Some(token), "")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_me_deactivate_reactivate_login_again() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin().await;
    let ada = app.create_user(Role::User).await;

    let signed_in = login(&app, ada.email.as_str(), PASSWORD).await;
    signed_in.assert_shape(200, "Login successful");
    assert_eq!(signed_in.body["data"]["token_type"], "bearer");
    assert_eq!(signed_in.body["data"]["expires_in"], 3600);
    let token = signed_in.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let profile = me(&app, &token).await;
    profile.assert_shape(200, "User retrieved successfully");
    assert_eq!(profile.body["data"]["id"], ada.id.to_string());
    assert_eq!(profile.body["data"]["is_active"], true);

    app.deactivate(&admin_token, &ada, Some("fraud"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    me(&app, &token)
        .await
        .assert_envelope(401, "Could not validate credentials");
    login(&app, ada.email.as_str(), PASSWORD)
        .await
        .assert_envelope(403, "User account is deactivated");

    app.patch_json(
        "/api/v1/users/reactivate",
        Some(&admin_token),
        &json!({"user_id": ada.id.to_string()}),
    )
    .await
    .assert_envelope(200, "User account reactivated successfully");
    me(&app, &token)
        .await
        .assert_envelope(401, "Could not validate credentials");
    let again = login(&app, ada.email.as_str(), PASSWORD).await;
    again.assert_shape(200, "Login successful");
    let fresh = again.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    me(&app, &fresh)
        .await
        .assert_shape(200, "User retrieved successfully");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let ada = app.create_user(Role::User).await;
    login(&app, ada.email.as_str(), "wrong password")
        .await
        .assert_envelope(401, "Invalid email or password");
    login(&app, "nobody@example.com", PASSWORD)
        .await
        .assert_envelope(401, "Invalid email or password");
    login(&app, "not an email", PASSWORD)
        .await
        .assert_envelope(401, "Invalid email or password");
    let missing = app
        .send(reqwest::Method::POST, "/api/v1/auth/login", None, "{}")
        .await;
    missing.assert_shape(422, "Invalid input");
    assert_eq!(missing.error_fields(), ["email", "password"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_status_and_paged_history() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let ada = app.create_user(Role::User).await;
    let body = json!({"user_id": ada.id.to_string()});
    app.deactivate(&token, &ada, Some("first"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.patch_json("/api/v1/users/reactivate", Some(&token), &body)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    app.deactivate(&token, &ada, Some("second"))
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let status = app
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/users/{}", ada.id),
            Some(&token),
            "",
        )
        .await;
    status.assert_shape(200, "User retrieved successfully");
    let data = &status.body["data"];
    assert_eq!(data["is_active"], false);
    assert_eq!(data["deactivated_by"], admin.id.to_string());
    assert_eq!(data["deactivation_reason"], "second");
    assert!(data["deactivated_at"].is_string());
    assert!(data.get("password_hash").is_none());

    let path = format!("/api/v1/users/{}/events?limit=2", ada.id);
    let first = app
        .send(reqwest::Method::GET, &path, Some(&token), "")
        .await;
    first.assert_shape(200, "User events retrieved successfully");
    let events = first.body["data"]["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["deactivated", "reactivated"]);
    assert_eq!(events[0]["reason"], "second");
    assert_eq!(events[0]["actor_id"], admin.id.to_string());
    assert_eq!(
        events[0]["actor"],
        serde_json::json!({"kind": "user", "id": admin.id.to_string(), "name": admin.email.to_string(), "role": "admin"})
    );
    assert_eq!(events[0]["channel"], "api");
    let cursor = first.body["data"]["next_cursor"].as_str().unwrap();
    let rest = app
        .send(
            reqwest::Method::GET,
            &format!("{path}&cursor={cursor}"),
            Some(&token),
            "",
        )
        .await;
    let events = rest.body["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "first");
    assert!(rest.body["data"]["next_cursor"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_views_are_admin_only_and_check_their_input() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let ada = app.create_user(Role::User).await;
    let ada_token = app.token_for(&ada).await;
    let own = format!("/api/v1/users/{}", ada.id);
    app.send(reqwest::Method::GET, &own, Some(&ada_token), "")
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    app.send(reqwest::Method::GET, &own, None, "")
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    for id in [UserId::generate().to_string(), "12345".to_owned()] {
        app.send(
            reqwest::Method::GET,
            &format!("/api/v1/users/{id}"),
            Some(&token),
            "",
        )
        .await
        .assert_envelope(404, "User not found");
    }
    let bad = app
        .send(
            reqwest::Method::GET,
            &format!("{own}/events?limit=1000&cursor=x"),
            Some(&token),
            "",
        )
        .await;
    bad.assert_shape(422, "Invalid input");
    assert_eq!(bad.error_fields(), ["limit", "cursor"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_are_throttled_with_429() {
    let app = spawn_app().await;
    let ada = app.create_user(Role::User).await;
    for _ in 0..5 {
        login(&app, ada.email.as_str(), "wrong password")
            .await
            .assert_envelope(401, "Invalid email or password");
    }
    // Even the right password waits now: the pair (account, this client) is locked out.
    let throttled = login(&app, ada.email.as_str(), PASSWORD).await;
    throttled.assert_envelope(429, "Too many failed login attempts, try again later");
    assert_eq!(throttled.headers["retry-after"], "30");
    // Other accounts from this client are not locked by one account's failures.
    let grace = app.create_user(Role::User).await;
    login(&app, grace.email.as_str(), PASSWORD)
        .await
        .assert_shape(200, "Login successful");
}
