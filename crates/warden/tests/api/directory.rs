//! Finding accounts (`GET /api/v1/users`) and the audit log (`GET /api/v1/events`): admin
//! only, filtered, paged, and every bad parameter a 422.

use reqwest::Method;
use serde_json::Value;
use warden_domain::use_cases::NewAccount;
use warden_domain::{Password, Role, User};

use crate::support::{spawn_app, Response, TestApp, PASSWORD};

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Response {
    app.send(Method::GET, path, token, "").await
}

async fn named(app: &TestApp, email: &str, first: &str, last: &str, role: Role) -> User {
    app.services
        .create_user
        .execute(NewAccount {
            email: email.into(),
            password: Password::parse(PASSWORD).unwrap(),
            first_name: first.into(),
            last_name: last.into(),
            role,
        })
        .await
        .unwrap()
}

fn ids(response: &Response, list: &str) -> Vec<String> {
    response.body["data"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn id(user: &User) -> String {
    user.id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_find_users_by_name_or_email_status_and_role() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let ada = named(&app, "ada@example.com", "Ada", "Lovelace", Role::User).await;
    let grace = named(&app, "grace@navy.example", "Grace", "Murray", Role::User).await;
    let adams = named(&app, "jq@example.com", "John", "ADAMS", Role::Admin).await;
    app.deactivate(&token, &grace, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let found = get(&app, "/api/v1/users?q=AdA", Some(&token)).await;
    found.assert_shape(200, "Users retrieved successfully");
    assert_eq!(found.headers["cache-control"], "no-store", "personal data");
    assert_eq!(ids(&found, "users"), [id(&adams), id(&ada)], "newest first");
    assert_eq!(found.body["data"]["next_cursor"], Value::Null);
    // The same view as GET /users/{id}.
    let one = get(&app, &format!("/api/v1/users/{}", ada.id), Some(&token)).await;
    assert_eq!(found.body["data"]["users"][1], one.body["data"]);

    let by_last_name = get(&app, "/api/v1/users?q=MUR", Some(&token)).await;
    assert_eq!(ids(&by_last_name, "users"), [id(&grace)]);
    let inside_a_name = get(&app, "/api/v1/users?q=ace", Some(&token)).await;
    assert_eq!(ids(&inside_a_name, "users"), Vec::<String>::new());

    let everyone = get(&app, "/api/v1/users", Some(&token)).await;
    let all = [id(&adams), id(&grace), id(&ada), id(&admin)];
    assert_eq!(ids(&everyone, "users"), all, "status defaults to all");
    let inactive = get(&app, "/api/v1/users?status=inactive", Some(&token)).await;
    assert_eq!(ids(&inactive, "users"), [id(&grace)]);
    let active_admins = get(&app, "/api/v1/users?status=active&role=admin", Some(&token)).await;
    assert_eq!(ids(&active_admins, "users"), [id(&adams), id(&admin)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_follow_the_cursor_and_ignore_newcomers() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let email = format!("page{i}@example.com");
        created.push(id(&named(&app, &email, "Pat", "Page", Role::User).await));
    }
    created.reverse();
    let first = get(&app, "/api/v1/users?q=page&limit=2", Some(&token)).await;
    first.assert_shape(200, "Users retrieved successfully");
    assert_eq!(ids(&first, "users"), created[..2]);
    let cursor = first.body["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Accounts created while paging do not shift the pages still to come.
    named(&app, "page9@example.com", "Pat", "Page", Role::User).await;
    let path = format!("/api/v1/users?q=page&limit=2&cursor={cursor}");
    let second = get(&app, &path, Some(&token)).await;
    assert_eq!(ids(&second, "users"), created[2..4]);
    let cursor = second.body["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/users?q=page&limit=2&cursor={cursor}");
    let last = get(&app, &path, Some(&token)).await;
    assert_eq!(ids(&last, "users"), created[4..]);
    assert_eq!(last.body["data"]["next_cursor"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_for_admins_and_checks_every_parameter() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    get(&app, "/api/v1/users", None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    get(&app, "/api/v1/users", Some(&user_token))
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    let long = "a".repeat(101);
    for (query, fields) in [
        ("limit=0", vec!["limit"]),
        ("limit=101", vec!["limit"]),
        ("limit=ten", vec!["limit"]),
        ("status=deleted", vec!["status"]),
        ("role=root", vec!["role"]),
        ("cursor=not-a-cursor", vec!["cursor"]),
        ("cursor=0193a1c4-7f7e-7d1a-9a4e-2f1c3b5d6e7", vec!["cursor"]),
        (&format!("q={long}"), vec!["q"]),
        ("q=%E2%80%AEada", vec!["q"]),
        ("status=x&role=y&limit=0", vec!["status", "role", "limit"]),
    ] {
        let response = get(&app, &format!("/api/v1/users?{query}"), Some(&token)).await;
        response.assert_shape(422, "Invalid input");
        assert_eq!(response.error_fields(), fields, "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_lists_every_change_newest_first_with_filters() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let (other_admin, other_token) = app.admin().await;
    let ada = app.create_user(Role::User).await;
    let bob = app.create_user(Role::User).await;
    app.deactivate(&token, &ada, Some("spam")).await;
    let reactivate = serde_json::json!({"user_id": id(&ada)});
    app.patch_json("/api/v1/users/reactivate", Some(&token), &reactivate)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    app.deactivate(&other_token, &bob, None).await;

    let all = get(&app, "/api/v1/events", Some(&token)).await;
    all.assert_shape(200, "Events retrieved successfully");
    assert_eq!(all.headers["cache-control"], "no-store", "personal data");
    let events = all.body["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(all.body["data"]["next_cursor"], Value::Null);
    let newest = &events[0];
    assert_eq!(newest["target_id"], id(&bob));
    assert_eq!(newest["action"], "deactivated");
    assert_eq!(newest["actor"]["kind"], "user");
    assert_eq!(newest["actor"]["id"], id(&other_admin));
    assert_eq!(newest["actor"]["name"], other_admin.email.as_str());
    assert_eq!(newest["reason"], Value::Null);
    assert!(newest["at"].is_string());
    assert_eq!(events[2]["target_id"], id(&ada));
    assert_eq!(events[2]["reason"], "spam");
    // The same event view as the account's own history.
    let history = get(
        &app,
        &format!("/api/v1/users/{}/events", bob.id),
        Some(&token),
    )
    .await;
    assert_eq!(history.body["data"]["events"][0], *newest);

    let count = |response: Response| response.body["data"]["events"].as_array().unwrap().len();
    let by_actor = format!("/api/v1/events?actor_id={}", admin.id);
    assert_eq!(count(get(&app, &by_actor, Some(&token)).await), 2);
    let by_target = format!("/api/v1/events?target_id={}&action=reactivated", ada.id);
    assert_eq!(count(get(&app, &by_target, Some(&token)).await), 1);
    let at = events[1]["at"].as_str().unwrap().replace('+', "%2B");
    let since = format!("/api/v1/events?since={at}");
    assert_eq!(count(get(&app, &since, Some(&token)).await), 2);
    let until = format!("/api/v1/events?until={at}");
    assert_eq!(count(get(&app, &until, Some(&token)).await), 2);
    let both = format!("/api/v1/events?since={at}&until={at}");
    assert_eq!(count(get(&app, &both, Some(&token)).await), 1);

    // Page by page.
    let first = get(&app, "/api/v1/events?limit=2", Some(&token)).await;
    assert_eq!(
        ids(&first, "events"),
        [
            events[0]["id"].as_str().unwrap(),
            events[1]["id"].as_str().unwrap()
        ]
    );
    let cursor = first.body["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest = get(
        &app,
        &format!("/api/v1/events?limit=2&cursor={cursor}"),
        Some(&token),
    )
    .await;
    assert_eq!(ids(&rest, "events"), [events[2]["id"].as_str().unwrap()]);
    assert_eq!(rest.body["data"]["next_cursor"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_for_admins_and_checks_every_filter() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let user_token = app.token_for(&user).await;
    get(&app, "/api/v1/events", None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    get(&app, "/api/v1/events", Some(&user_token))
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    for (query, fields) in [
        ("action=deleted", vec!["action"]),
        ("actor_id=12345", vec!["actor_id"]),
        ("target_id=me", vec!["target_id"]),
        ("since=yesterday", vec!["since"]),
        ("until=2026-13-01T00:00:00Z", vec!["until"]),
        (
            "since=2026-11-30T12:00:01Z&until=2026-11-30T12:00:00Z",
            vec!["since"],
        ),
        ("limit=0&cursor=x", vec!["limit", "cursor"]),
    ] {
        let response = get(&app, &format!("/api/v1/events?{query}"), Some(&token)).await;
        response.assert_shape(422, "Invalid input");
        assert_eq!(response.error_fields(), fields, "{query}");
    }
}
