//! Bulk deactivation: `POST /api/v1/users/deactivate/bulk` and `GET /api/v1/jobs/{id}`. Each
//! user's result is what the single-user route answers; a job survives a restart without
//! redoing a user; the admin's authority is re-checked for each user.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use warden::routes::jobs::answer;
use warden::Application;
use warden_domain::{Role, StatusAction, User, UserId};

use crate::support::{spawn_app_tuned, Response, TestApp};

const BULK: &str = "/api/v1/users/deactivate/bulk";

/// An app whose own job runner stays idle (it looks once at start, then not for a minute), so
/// the test decides when items are carried out.
async fn idle_app() -> TestApp {
    spawn_app_tuned(|config| config.job_poll = Duration::from_secs(60))
        .await
        .0
}

async fn submit(app: &TestApp, token: &str, body: &Value) -> Response {
    app.send(Method::POST, BULK, Some(token), body.to_string())
        .await
}

async fn job(app_url: &str, client: &reqwest::Client, token: &str, id: &str) -> Value {
    let response = client
        .get(format!("{app_url}/api/v1/jobs/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Response::read(response).await.body
}

/// Waits (at most 60 s) until the job is done; its `data`.
async fn done(app_url: &str, client: &reqwest::Client, token: &str, id: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let body = job(app_url, client, token, id).await;
            if body["data"]["status"] == "done" {
                return body["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the job did not finish")
}

fn results(data: &Value) -> Vec<(String, u64, String)> {
    data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user_id"].as_str().unwrap().to_owned(),
                r["status_code"].as_u64().unwrap(),
                r["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn deactivations(app: &TestApp, user: &User) -> usize {
    let events = app.users.events(&user.id, None, 100).await.unwrap();
    events
        .iter()
        .filter(|e| e.action.status() == Some(StatusAction::Deactivate))
        .count()
}

fn row(id: &str, code: u64, message: &str) -> (String, u64, String) {
    (id.to_owned(), code, message.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_gets_what_the_single_route_would_answer() {
    let (app, _) = spawn_app_tuned(|config| config.job_poll = Duration::from_millis(50)).await;
    let (admin, token) = app.admin().await;
    let ok = app.create_user(Role::User).await;
    let other_admin = app.create_user(Role::Admin).await;
    let already = app.create_user(Role::User).await;
    app.deactivate(&token, &already, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let unknown = UserId::generate().to_string();
    let ids = [
        ok.id.to_string(),
        already.id.to_string(),
        unknown.clone(),
        "12345".to_owned(),
        admin.id.to_string(),
        other_admin.id.to_string(),
        ok.id.to_string(),
    ];
    let response = submit(
        &app,
        &token,
        &json!({"user_ids": ids, "reason": "spam wave"}),
    )
    .await;
    response.assert_shape(202, "Bulk deactivation accepted");
    let id = response.body["data"]["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        response.headers["location"].to_str().unwrap(),
        format!("/api/v1/jobs/{id}")
    );
    let data = done(&app.address, &app.client, &token, &id).await;
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["kind"], "bulk_deactivate");
    assert_eq!(
        (
            data["total"].as_u64(),
            data["succeeded"].as_u64(),
            data["failed"].as_u64()
        ),
        (Some(7), Some(2), Some(5))
    );
    let deactivated = "User account deactivated successfully";
    assert_eq!(
        results(&data),
        vec![
            row(&ids[0], 200, deactivated),
            row(&ids[1], 400, "User is already deactivated"),
            row(&unknown, 404, "User not found"),
            row("12345", 404, "User not found"),
            row(&ids[4], 400, "You cannot deactivate your own account"),
            row(&ids[5], 200, deactivated),
            row(&ids[6], 400, "User is already deactivated"),
        ]
    );
    assert!(!app.user(&ok).await.is_active());
    assert!(!app.user(&other_admin).await.is_active());
    assert!(app.user(&admin).await.is_active());
    // The same use case: audited as the admin, and emailed (two new deactivations, plus the
    // one made before the job).
    let events = app.users.events(&ok.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor.account(), Some(admin.id));
    assert_eq!(events[0].reason.as_ref().unwrap().as_str(), "spam wave");
    app.emails(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_revoked_mid_job_gets_what_the_single_route_would_say() {
    let app = idle_app().await;
    let (admin, token) = app.admin().await;
    let (_, other_token) = app.admin().await;
    let users = [
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
    ];
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    let response = submit(&app, &token, &json!({ "user_ids": ids })).await;
    response.assert_shape(202, "Bulk deactivation accepted");
    let id = response.body["data"]["job_id"].as_str().unwrap().to_owned();
    assert_eq!(
        job(&app.address, &app.client, &token, &id).await["data"]["status"],
        "queued"
    );
    let round = app.services.bulk.run_round(1, &answer).await.unwrap();
    assert_eq!(round.completed, 1);
    assert_eq!(
        job(&app.address, &app.client, &token, &id).await["data"]["status"],
        "running"
    );
    // Another admin deactivates the requester: the rest of the job has no authority left.
    app.deactivate(&other_token, &admin, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.services.bulk.run_round(10, &answer).await.unwrap();
    let data = done(&app.address, &app.client, &other_token, &id).await;
    let unauthenticated = "Could not validate admin credentials";
    assert_eq!(
        results(&data),
        vec![
            row(&ids[0], 200, "User account deactivated successfully"),
            row(&ids[1], 401, unauthenticated),
            row(&ids[2], 401, unauthenticated),
        ]
    );
    assert!(app.user(&users[1]).await.is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_a_restart_and_never_redoes_a_user() {
    let app = idle_app().await;
    let (_, token) = app.admin().await;
    let mut users = Vec::new();
    for _ in 0..6 {
        users.push(app.create_user(Role::User).await);
    }
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    let response = submit(&app, &token, &json!({ "user_ids": ids })).await;
    let id = response.body["data"]["job_id"].as_str().unwrap().to_owned();
    // The first instance does two users...
    let round = app.services.bulk.run_round(2, &answer).await.unwrap();
    assert_eq!(round.completed, 2);
    // ...then claims the third, deactivates it and dies before recording the result (its
    // lease ends at once).
    let (store, _) = warden::run::app::open(&app.config).await.unwrap();
    let now = chrono::Utc::now();
    let claimed = store.jobs().claim_items(now, now, 1).await.unwrap();
    assert_eq!(claimed[0].user_id, ids[2]);
    app.deactivate(&token, &users[2], Some("done before the crash"))
        .await
        .assert_envelope(200, "User account deactivated successfully");

    // A new instance on the same database finishes the job.
    let mut config = app.config.clone();
    config.job_poll = Duration::from_millis(50);
    let (_, ports) = warden::run::app::open(&config).await.unwrap();
    let second = Application::start(&config, ports).unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let data = done(&second_url, &app.client, &token, &id).await;
    let deactivated = "User account deactivated successfully";
    assert_eq!(
        results(&data),
        ids.iter()
            .map(|id| row(id, 200, deactivated))
            .collect::<Vec<_>>()
    );
    for user in &users {
        assert_eq!(deactivations(&app, user).await, 1, "deactivated once");
        assert!(!app.user(user).await.is_active());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_request_is_checked_before_it_is_accepted() {
    let app = idle_app().await;
    let (_, token) = app.admin().await;
    let many: Vec<String> = (0..10_001)
        .map(|_| UserId::generate().to_string())
        .collect();
    let response = submit(&app, &token, &json!({ "user_ids": many })).await;
    response.assert_shape(422, "Invalid input");
    assert_eq!(response.error_fields(), ["user_ids"]);
    let response = submit(&app, &token, &json!({ "user_ids": [] })).await;
    assert_eq!(response.error_fields(), ["user_ids"]);
    let response = submit(
        &app,
        &token,
        &json!({ "user_ids": ["a"], "until": "2001-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(response.error_fields(), ["until"]);
    let response = submit(
        &app,
        &token,
        &json!({ "user_ids": ["a"], "until": "later" }),
    )
    .await;
    assert_eq!(response.error_fields(), ["until"]);

    let member = app.create_user(Role::User).await;
    let member_token = app.token_for(&member).await;
    submit(&app, &member_token, &json!({ "user_ids": ["a"] }))
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    app.send(Method::POST, BULK, None, "{}")
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    app.send(Method::GET, "/api/v1/jobs/nope", Some(&token), "")
        .await
        .assert_envelope(404, "Job not found");
    let unknown = format!("/api/v1/jobs/{}", uuid::Uuid::now_v7());
    app.send(Method::GET, &unknown, Some(&token), "")
        .await
        .assert_envelope(404, "Job not found");
    app.send(Method::GET, &unknown, Some(&member_token), "")
        .await
        .assert_envelope(403, "You do not have permission to access this resource");

    // Ten thousand ids are accepted.
    let ten_thousand: Vec<String> = (0..10_000)
        .map(|_| UserId::generate().to_string())
        .collect();
    submit(&app, &token, &json!({ "user_ids": ten_thousand }))
        .await
        .assert_shape(202, "Bulk deactivation accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_bulk_request_with_its_key_starts_one_job() {
    let app = idle_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let body = json!({ "user_ids": [target.id.to_string()] }).to_string();
    let send = || async {
        let response = app
            .client
            .post(app.url(BULK))
            .bearer_auth(&token)
            .header("Idempotency-Key", "bulk-1")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        Response::read(response).await
    };
    let first = send().await;
    first.assert_shape(202, "Bulk deactivation accepted");
    let again = send().await;
    again.assert_shape(202, "Bulk deactivation accepted");
    assert_eq!(again.headers["idempotency-replayed"], "true");
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["location"], first.headers["location"]);
    let round = app.services.bulk.run_round(10, &answer).await.unwrap();
    assert_eq!(round.claimed, 1, "one job, one item");
}
