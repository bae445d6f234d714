//! `PATCH /api/v1/users/role`: admins give accounts another role; the change revokes the
//! target's tokens, is audited with both roles and the actor's role, and is re-checked when it
//! commits (a demoted admin's held request changes nothing).

use reqwest::Method;
use serde_json::{json, Value};
use warden_domain::{Role, User};

use crate::authority::{assert_refused, spawn_watched_app, HeldRequest};
use crate::support::{spawn_app, Response, TestApp};

const CHANGED: &str = "User role changed successfully";

async fn change_role(app: &TestApp, token: &str, user: &User, role: &str) -> Response {
    let body = json!({"user_id": user.id.to_string(), "role": role, "reason": "reorganised"});
    app.patch_json("/api/v1/users/role", Some(token), &body)
        .await
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.send(Method::GET, "/api/v1/users/me", Some(token), "")
        .await
        .status
        .as_u16()
}

async fn events(app: &TestApp, token: &str, user: &User) -> Vec<Value> {
    let path = format!("/api/v1/users/{}/events", user.id);
    let response = app.send(Method::GET, &path, Some(token), "").await;
    response.body["data"]["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_role_change_revokes_tokens_and_is_audited_with_both_roles() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let member = app.create_user(Role::User).await;
    let member_token = app.token_for(&member).await;
    assert_eq!(me(&app, &member_token).await, 200);

    change_role(&app, &token, &member, "helpdesk")
        .await
        .assert_envelope(200, CHANGED);
    assert_eq!(
        me(&app, &member_token).await,
        401,
        "the old token is revoked"
    );
    assert_eq!(app.user(&member).await.role, Role::Helpdesk);
    let view = app
        .send(
            Method::GET,
            &format!("/api/v1/users/{}", member.id),
            Some(&token),
            "",
        )
        .await;
    assert_eq!(view.body["data"]["role"], "helpdesk");
    let trail = events(&app, &token, &member).await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["action"], "role_changed");
    assert_eq!(trail[0]["from_role"], "user");
    assert_eq!(trail[0]["to_role"], "helpdesk");
    assert_eq!(trail[0]["reason"], "reorganised");
    assert_eq!(trail[0]["actor"]["id"], admin.id.to_string());
    assert_eq!(trail[0]["actor"]["role"], "admin");
    let log = app
        .send(
            Method::GET,
            "/api/v1/events?action=role_changed",
            Some(&token),
            "",
        )
        .await;
    assert_eq!(
        log.body["data"]["events"].as_array().unwrap().len(),
        1,
        "{}",
        log.body
    );

    // The new helpdesk signs in again and has a helpdesk's reach.
    let helpdesk_token = app.token_for(&app.user(&member).await).await;
    let users = app
        .send(Method::GET, "/api/v1/users", Some(&helpdesk_token), "")
        .await;
    assert_eq!(users.status, 200);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"warden_role_changes_total{channel="api"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn refusals_name_the_rule_and_change_nothing() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let member = app.create_user(Role::User).await;
    change_role(&app, &token, &member, "user")
        .await
        .assert_envelope(400, "User already has this role");
    change_role(&app, &token, &admin, "user")
        .await
        .assert_envelope(400, "You cannot change your own role");
    let ghost = User {
        id: warden_domain::UserId::generate(),
        ..member.clone()
    };
    change_role(&app, &token, &ghost, "admin")
        .await
        .assert_envelope(404, "User not found");
    let unknown = change_role(&app, &token, &member, "owner").await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.body["message"], "Invalid input");
    assert_eq!(unknown.error_fields(), ["role"]);
    assert_eq!(
        unknown.body["data"]["errors"][0]["message"],
        "must be one of admin, helpdesk, user"
    );
    let missing = app
        .patch_json("/api/v1/users/role", Some(&token), &json!({}))
        .await;
    assert_eq!(missing.error_fields(), ["user_id", "role"]);
    let user_token = app.token_for(&member).await;
    change_role(&app, &user_token, &member, "admin")
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    change_role(&app, "not-a-token", &member, "admin")
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    let now = app.user(&member).await;
    assert_eq!(
        (now.role, now.token_version),
        (Role::User, member.token_version)
    );
    assert!(events(&app, &token, &member).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_each_other_leave_exactly_one_admin() {
    let app = spawn_app().await;
    let (a, a_token) = app.admin().await;
    let (b, b_token) = app.admin().await;
    // A fresh app has no other admin: a and b are the only active admins.
    let (one, two) = tokio::join!(
        change_role(&app, &a_token, &b, "user"),
        change_role(&app, &b_token, &a, "user"),
    );
    let statuses = [one.status.as_u16(), two.status.as_u16()];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    for loser in [&one, &two].into_iter().filter(|r| r.status != 200) {
        // Refused by the guard, or its own authority already gone (demoted first).
        let message = loser.body["message"].as_str().unwrap();
        assert!(
            message == "Cannot remove the last active admin"
                || message == "Could not validate admin credentials",
            "{}",
            loser.body
        );
    }
    let roles = [app.user(&a).await.role, app.user(&b).await.role];
    assert_eq!(
        roles.iter().filter(|r| **r == Role::Admin).count(),
        1,
        "{roles:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_role_change_by_an_admin_demoted_meanwhile_changes_nothing() {
    let (app, probe) = spawn_watched_app().await;
    let (_, token1) = app.admin().await;
    let (admin2, token2) = app.admin().await;
    let member = app.create_user(Role::User).await;
    let body = json!({"user_id": member.id.to_string(), "role": "admin"});
    let held = HeldRequest::start_with(&app, "PATCH", "/api/v1/users/role", &token2, body).await;
    probe.loaded(admin2.id, 1).await;
    change_role(&app, &token1, &admin2, "user")
        .await
        .assert_envelope(200, CHANGED);
    let (status, body) = held.finish().await;
    assert_refused(status, &body);
    assert_eq!(app.user(&member).await.role, Role::User, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_deactivation_by_a_helpdesk_demoted_meanwhile_changes_nothing() {
    let (app, probe) = spawn_watched_app().await;
    let (_, admin_token) = app.admin().await;
    let helpdesk = app.create_user(Role::Helpdesk).await;
    let helpdesk_token = app.token_for(&helpdesk).await;
    let member = app.create_user(Role::User).await;
    let body = json!({"user_id": member.id.to_string()});
    let path = "/api/v1/users/deactivate";
    let held = HeldRequest::start_with(&app, "PATCH", path, &helpdesk_token, body).await;
    probe.loaded(helpdesk.id, 1).await;
    change_role(&app, &admin_token, &helpdesk, "user")
        .await
        .assert_envelope(200, CHANGED);
    let (status, body) = held.finish().await;
    assert_refused(status, &body);
    assert!(app.user(&member).await.is_active(), "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_racing_a_helpdesk_deactivation_never_lets_the_helpdesk_reach_an_admin() {
    let app = spawn_app().await;
    let (_, admin_token) = app.admin().await;
    let helpdesk = app.create_user(Role::Helpdesk).await;
    let helpdesk_token = app.token_for(&helpdesk).await;
    for round in 0..5 {
        let member = app.create_user(Role::User).await;
        let (promoted, deactivated) = tokio::join!(
            change_role(&app, &admin_token, &member, "admin"),
            app.deactivate(&helpdesk_token, &member, Some("ticket")),
        );
        promoted.assert_envelope(200, CHANGED);
        let now = app.user(&member).await;
        match deactivated.status.as_u16() {
            // The deactivation committed first, on a `user` account; the promotion followed.
            200 => assert!(!now.is_active(), "round {round}"),
            // The promotion committed first: the helpdesk found an admin.
            403 => {
                deactivated
                    .assert_envelope(403, "You do not have permission to act on this account");
                assert!(now.is_active(), "round {round}");
            }
            other => panic!("round {round}: {other} {}", deactivated.body),
        }
    }
}
