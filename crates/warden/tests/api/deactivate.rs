use chrono::{TimeDelta, Utc};
use serde_json::json;
use warden_auth::JwtAuth;
use warden_domain::ports::TokenIssuer;
use warden_domain::{AccountStatus, Role, UserId};

use crate::support::{spawn_app, JWT_SECRET};

const PATH: &str = "/api/v1/users/deactivate";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_deactivates_a_user_who_is_then_emailed() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;

    let response = app
        .deactivate(&token, &target, Some("Repeated <spam> & abuse"))
        .await;

    response.assert_envelope(200, "User account deactivated successfully");
    let stored = app.user(&target).await;
    let AccountStatus::Deactivated(deactivation) = &stored.status else {
        panic!("still active: {stored:?}");
    };
    assert_eq!(deactivation.by, Some(admin.id));
    assert_eq!(
        deactivation.reason.as_ref().unwrap().as_str(),
        "Repeated <spam> & abuse"
    );
    assert!((Utc::now() - deactivation.at).abs() < TimeDelta::seconds(30));
    let events = app.users.events(&target.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor.account(), Some(admin.id));
    assert_eq!(events[0].actor.kind, warden_domain::ActorKind::User);
    assert_eq!(events[0].actor.name, admin.email.to_string());

    let mails = app.emails(1).await;
    let mail = &mails[0];
    assert_eq!(mail.to, vec![target.email.to_string()]);
    assert!(mail.header("Subject").unwrap().contains("deactivated"));
    assert!(mail
        .text_part()
        .unwrap()
        .contains("Repeated <spam> & abuse"));
    assert!(mail
        .html_part()
        .unwrap()
        .contains("Repeated &lt;spam&gt; &amp; abuse"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_twice_is_refused_and_emails_once() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(400, "User is already deactivated");

    let mails = app.emails(1).await;
    assert_eq!(mails[0].to, vec![target.email.to_string()]);
    assert!(!mails[0].text_part().unwrap().contains("Reason"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_non_uuid_ids_are_not_found() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    for id in [
        UserId::generate().to_string(),
        "12345".to_owned(),
        "x".repeat(5000),
    ] {
        app.patch_json(PATH, Some(&token), &json!({ "user_id": id }))
            .await
            .assert_envelope(404, "User not found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_deactivate_themselves() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    app.deactivate(&token, &admin, None)
        .await
        .assert_envelope(400, "You cannot deactivate your own account");
    assert!(app.user(&admin).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_401_whatever_the_body() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = json!({ "user_id": target.id.to_string() }).to_string();
    let now = Utc::now();

    let other_key = JwtAuth::new(
        "another-secret-0123456789abcdef0123456789"
            .to_owned()
            .into(),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let our_key = JwtAuth::new(
        JWT_SECRET.to_owned().into(),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let forged = other_key.issue(&admin, now).await.unwrap();
    let expired = our_key
        .issue(&admin, now - TimeDelta::hours(2))
        .await
        .unwrap();
    let mut ghost = admin.clone();
    ghost.id = UserId::generate();
    let for_nobody = our_key.issue(&ghost, now).await.unwrap();
    let none_alg = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        forged.expose().split('.').nth(1).unwrap()
    );

    let mut headers: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("Basic YWRtaW46YWRtaW4=".into()),
        Some("Bearer".into()),
        Some("Bearer not.a.jwt".into()),
        Some(format!(
            "Token {}",
            our_key.issue(&admin, now).await.unwrap().expose()
        )),
    ];
    for token in [&forged, &expired, &for_nobody] {
        headers.push(Some(format!("Bearer {}", token.expose())));
    }
    headers.push(Some(format!("Bearer {none_alg}")));

    for header in headers {
        for payload in [body.clone(), "{not json".to_owned(), "x".repeat(1 << 20)] {
            let mut request = app.client.patch(app.url(PATH)).body(payload);
            if let Some(value) = &header {
                request = request.header("authorization", value.as_str());
            }
            let response = crate::support::Response::read(request.send().await.unwrap()).await;
            response.assert_envelope(401, "Could not validate admin credentials");
        }
    }
    assert!(app.user(&target).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_admins_token_stops_working_at_once() {
    let app = spawn_app().await;
    let (_, first_token) = app.admin().await;
    let (second, second_token) = app.admin().await;
    let target = app.create_user(Role::User).await;

    app.deactivate(&first_token, &second, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.deactivate(&second_token, &target, None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    assert!(app.user(&target).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_is_forbidden() {
    let app = spawn_app().await;
    let member = app.create_user(Role::User).await;
    let token = app.token_for(&member).await;
    let target = app.create_user(Role::User).await;
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    assert!(app.user(&target).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bodies_list_every_bad_field() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("{not json".into(), vec!["body"]),
        ("".into(), vec!["body"]),
        ("[1,2]".into(), vec!["body"]),
        ("\"user\"".into(), vec!["body"]),
        ("{}".into(), vec!["user_id"]),
        (r#"{"user_id": ""}"#.into(), vec!["user_id"]),
        (r#"{"user_id": null}"#.into(), vec!["user_id"]),
        (r#"{"user_id": 12345}"#.into(), vec!["user_id"]),
        (
            json!({"user_id": 1, "reason": "r".repeat(501)}).to_string(),
            vec!["user_id", "reason"],
        ),
        (
            r#"{"user_id": "a", "reason": ["x"]}"#.into(),
            vec!["reason"],
        ),
    ];
    for (body, fields) in cases {
        let response = app
            .send(reqwest::Method::PATCH, PATH, Some(&token), body.clone())
            .await;
        response.assert_shape(422, "Invalid input");
        assert_eq!(response.error_fields(), fields, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let body = json!({"user_id": "a", "padding": "p".repeat(17 * 1024)}).to_string();
    app.send(reqwest::Method::PATCH, PATH, Some(&token), body)
        .await
        .assert_envelope(413, "Request body is too large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deactivations_of_one_user_succeed_exactly_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, token, target) = (app.clone(), token.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            app.deactivate(&token, &target, None).await
        }));
    }
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.unwrap().status.as_u16());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 400).count(), 19, "{codes:?}");
    assert_eq!(
        app.users.events(&target.id, None, 100).await.unwrap().len(),
        1
    );
    app.emails(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_deactivating_each_other_at_once_leave_one_active() {
    for _ in 0..3 {
        let app = std::sync::Arc::new(spawn_app().await);
        let (first, first_token) = app.admin().await;
        let (second, second_token) = app.admin().await;
        let (a, b) = (app.clone(), app.clone());
        let (first_c, second_c) = (first.clone(), second.clone());
        let one = tokio::spawn(async move { a.deactivate(&first_token, &second_c, None).await });
        let other = tokio::spawn(async move { b.deactivate(&second_token, &first_c, None).await });
        let responses = [one.await.unwrap(), other.await.unwrap()];

        let active = [app.user(&first).await, app.user(&second).await]
            .iter()
            .filter(|u| u.is_active())
            .count();
        assert_eq!(active, 1, "{responses:?}");
        let codes: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(
            codes.iter().filter(|c| **c == 200).count(),
            1,
            "{responses:?}"
        );
        for refused in responses.iter().filter(|r| r.status != 200) {
            // Refused by the last-admin guard, or already revoked by the other's success.
            let message = refused.body["message"].as_str().unwrap();
            assert!(
                message == "Cannot deactivate the last active admin"
                    || message == "Could not validate admin credentials",
                "{message}"
            );
        }
    }
}
