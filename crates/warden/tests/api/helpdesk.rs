//! The helpdesk role over HTTP, row by row of the policy table (docs/security.md, "Who may do
//! what"): it reads accounts and changes the status of `user` accounts; on an admin or helpdesk
//! account it is 403 `You do not have permission to act on this account`, and every other
//! administrative route is 403 `You do not have permission to access this resource`.

use reqwest::Method;
use serde_json::json;
use warden_domain::{Role, User};

use crate::support::{spawn_app, TestApp};

const ACT_ON: &str = "You do not have permission to act on this account";
const ACCESS: &str = "You do not have permission to access this resource";

async fn helpdesk(app: &TestApp) -> (User, String) {
    let helpdesk = app.create_user(Role::Helpdesk).await;
    let token = app.token_for(&helpdesk).await;
    (helpdesk, token)
}

#[tokio::test]
async fn a_helpdesk_reads_accounts() {
    let app = spawn_app().await;
    let (_, token) = helpdesk(&app).await;
    let member = app.create_user(Role::User).await;
    let admin = app.create_user(Role::Admin).await;
    for path in [
        "/api/v1/users".to_owned(),
        "/api/v1/users?role=helpdesk".to_owned(),
        format!("/api/v1/users/{}", member.id),
        format!("/api/v1/users/{}", admin.id),
        format!("/api/v1/users/{}/events", member.id),
        format!("/api/v1/users/{}/access", admin.id),
    ] {
        let response = app.send(Method::GET, &path, Some(&token), "").await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        assert_eq!(response.body["status"], "success", "{path}");
    }
}

#[tokio::test]
async fn the_role_filter_finds_helpdesks_and_the_view_names_the_role() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin().await;
    let (helpdesk, _) = helpdesk(&app).await;
    app.create_user(Role::User).await;
    let response = app
        .send(
            Method::GET,
            "/api/v1/users?role=helpdesk",
            Some(&admin_token),
            "",
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let users = response.body["data"]["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["id"], helpdesk.id.to_string());
    assert_eq!(users[0]["role"], "helpdesk");
    let bad = app
        .send(
            Method::GET,
            "/api/v1/users?role=owner",
            Some(&admin_token),
            "",
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}

#[tokio::test]
async fn a_helpdesk_deactivates_and_reactivates_a_user_and_is_audited_as_such() {
    let app = spawn_app().await;
    let (helpdesk, token) = helpdesk(&app).await;
    let member = app.create_user(Role::User).await;
    app.deactivate(&token, &member, Some("ticket 42"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    assert!(!app.user(&member).await.is_active());
    let body = json!({"user_id": member.id.to_string()});
    app.patch_json("/api/v1/users/reactivate", Some(&token), &body)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    let events = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{}/events", member.id),
            Some(&token),
            "",
        )
        .await;
    let actor = &events.body["data"]["events"][1]["actor"];
    assert_eq!(actor["id"], helpdesk.id.to_string(), "{}", events.body);
    assert_eq!(actor["role"], "helpdesk", "{}", events.body);
}

#[tokio::test]
async fn a_helpdesk_cannot_touch_staff_accounts() {
    let app = spawn_app().await;
    let (_, token) = helpdesk(&app).await;
    let (_, admin_token) = app.admin().await;
    let admin = app.create_user(Role::Admin).await;
    let colleague = app.create_user(Role::Helpdesk).await;
    for target in [&admin, &colleague] {
        app.deactivate(&token, target, None)
            .await
            .assert_envelope(403, ACT_ON);
        let now = app.user(target).await;
        assert!(now.is_active(), "nothing changed");
        assert_eq!(now.token_version, target.token_version, "no tokens revoked");
    }
    // Deactivated by an admin, a staff account stays out of a helpdesk's reach.
    app.deactivate(&admin_token, &colleague, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let body = json!({"user_id": colleague.id.to_string()});
    app.patch_json("/api/v1/users/reactivate", Some(&token), &body)
        .await
        .assert_envelope(403, ACT_ON);
    assert!(!app.user(&colleague).await.is_active());
}

#[tokio::test]
async fn every_other_administrative_route_is_refused_to_a_helpdesk() {
    let app = spawn_app().await;
    let (_, token) = helpdesk(&app).await;
    let member = app.create_user(Role::User).await;
    let some_id = uuid::Uuid::now_v7();
    let bulk = json!({"user_ids": [member.id.to_string()]}).to_string();
    let client = json!({"name": "okta", "scopes": ["scim"]}).to_string();
    let hook = json!({"url": "https://example.com/hook"}).to_string();
    let role = json!({"user_id": member.id.to_string(), "role": "admin"}).to_string();
    let routes: Vec<(Method, String, String)> = vec![
        (Method::POST, "/api/v1/users/deactivate/bulk".into(), bulk),
        (
            Method::GET,
            format!("/api/v1/jobs/{some_id}"),
            String::new(),
        ),
        (Method::GET, "/api/v1/events".into(), String::new()),
        (Method::GET, "/api/v1/outbox".into(), String::new()),
        (
            Method::POST,
            format!("/api/v1/outbox/{some_id}/retry"),
            String::new(),
        ),
        (Method::POST, "/api/v1/clients".into(), client),
        (Method::GET, "/api/v1/clients".into(), String::new()),
        (
            Method::DELETE,
            format!("/api/v1/clients/{some_id}"),
            String::new(),
        ),
        (Method::POST, "/api/v1/webhooks".into(), hook),
        (Method::GET, "/api/v1/webhooks".into(), String::new()),
        (
            Method::GET,
            format!("/api/v1/webhooks/{some_id}"),
            String::new(),
        ),
        (
            Method::DELETE,
            format!("/api/v1/webhooks/{some_id}"),
            String::new(),
        ),
        (Method::PATCH, "/api/v1/users/role".into(), role),
    ];
    for (method, path, body) in routes {
        let response = app.send(method.clone(), &path, Some(&token), body).await;
        assert_eq!(response.status, 403, "{method} {path}: {}", response.body);
        response.assert_envelope(403, ACCESS);
    }
    assert!(app.user(&member).await.is_active());
}
