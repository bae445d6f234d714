//! Timed suspension: `PATCH /api/v1/users/deactivate` with `until`; the lifter reactivates the
//! account then, as the system, once, with its email and audit event; a manual reactivation
//! cancels it; bad ends are refused on `until`.

use std::time::Duration;

use chrono::{SecondsFormat, SubsecRound, TimeDelta, Utc};
use reqwest::Method;
use serde_json::json;
use warden::run::services::Services;
use warden_domain::Role;

use crate::support::{spawn_app, spawn_app_tuned, Response, TestApp};

const DEACTIVATE: &str = "/api/v1/users/deactivate";
const REACTIVATE: &str = "/api/v1/users/reactivate";

async fn suspend(
    app: &TestApp,
    token: &str,
    target: &warden_domain::User,
    until: &str,
) -> Response {
    let body = json!({"user_id": target.id.to_string(), "reason": "cool down", "until": until});
    app.patch_json(DEACTIVATE, Some(token), &body).await
}

fn stamp(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    app.send(Method::GET, path, Some(token), "").await
}

/// Waits (at most 20 s: the promise is 10 s) until the account is active again.
async fn comes_back(app: &TestApp, user: &warden_domain::User) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while !app.user(user).await.is_active() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the suspension was not lifted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_suspension_is_lifted_by_the_system_once_and_old_tokens_stay_dead() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::Admin).await;
    let old_token = app.token_for(&target).await;
    let until = (Utc::now() + TimeDelta::seconds(2)).trunc_subsecs(6);

    suspend(&app, &token, &target, &stamp(until))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let path = format!("/api/v1/users/{}", target.id);
    let view = get(&app, &token, &path).await;
    view.assert_shape(200, "User retrieved successfully");
    let shown: chrono::DateTime<Utc> =
        serde_json::from_value(view.body["data"]["deactivated_until"].clone()).unwrap();
    assert_eq!(shown, until);
    let access = get(&app, &token, &format!("{path}/access")).await;
    let reason = &access.body["data"]["reasons"][0];
    assert_eq!(reason["code"], "deactivated");
    assert_eq!(reason["until"], view.body["data"]["deactivated_until"]);
    assert!(reason["message"].as_str().unwrap().contains("(until "));

    comes_back(&app, &target).await;
    let view = get(&app, &token, &path).await;
    assert_eq!(view.body["data"]["is_active"], true);
    assert_eq!(view.body["data"]["deactivated_until"], json!(null));

    let events = get(&app, &token, &format!("{path}/events")).await;
    let events = events.body["data"]["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["action"], "reactivated");
    assert_eq!(events[0]["actor"]["kind"], "system");
    assert_eq!(events[1]["action"], "deactivated");

    let mails = app.emails(2).await;
    let deactivation = mails
        .iter()
        .find(|m| m.header("Subject").unwrap().contains("deactivated"))
        .unwrap();
    let shown_until = until.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    assert!(
        deactivation.text_part().unwrap().contains(&shown_until),
        "the email says until when"
    );
    assert!(mails
        .iter()
        .any(|m| m.header("Subject").unwrap().contains("reactivated")));

    // The token from before the suspension does not come back to life.
    let someone = app.create_user(Role::User).await;
    app.deactivate(&old_token, &someone, None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_reactivation_cancels_the_lift() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let until = Utc::now() + TimeDelta::seconds(1);
    suspend(&app, &token, &target, &stamp(until))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let body = json!({"user_id": target.id.to_string()});
    app.patch_json(REACTIVATE, Some(&token), &body)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    // Deactivated again, with no end this time: the old end must not bring it back.
    app.deactivate(&token, &target, Some("for good"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    while Utc::now() <= until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let round = app.services.lift.run_once().await.unwrap();
    assert_eq!(round.lifted, 0);
    assert!(!app.user(&target).await.is_active());
    let events = app.users.events(&target.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .all(|e| e.actor.kind != warden_domain::ActorKind::System));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_that_is_past_too_far_or_not_rfc3339_is_refused_on_until() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let now = Utc::now();
    for bad in [
        stamp(now - TimeDelta::seconds(5)),
        stamp(now + TimeDelta::days(3660)),
        "next tuesday".to_owned(),
        "2030-01-01".to_owned(),
    ] {
        let response = suspend(&app, &token, &target, &bad).await;
        response.assert_shape(422, "Invalid input");
        assert_eq!(response.error_fields(), ["until"], "{bad}");
    }
    let body = json!({"user_id": target.id.to_string(), "until": 17});
    let response = app.patch_json(DEACTIVATE, Some(&token), &body).await;
    assert_eq!(response.error_fields(), ["until"]);
    assert!(app.user(&target).await.is_active(), "nothing changed");
    // Nearly ten years is fine.
    let fine = stamp(now + TimeDelta::days(3650));
    suspend(&app, &token, &target, &fine)
        .await
        .assert_envelope(200, "User account deactivated successfully");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifters_racing_on_two_instances_reactivate_once() {
    // The app's own lifter looks once at start, then not for a minute: the race is ours.
    let (app, _) = spawn_app_tuned(|config| config.lift_poll = Duration::from_secs(60)).await;
    let (store, ports) = warden::run::app::open(&app.config).await.unwrap();
    let _keep = store;
    let other = Services::new(ports, app.config.retry_policy());
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let until = Utc::now() + TimeDelta::seconds(1);
    suspend(&app, &token, &target, &stamp(until))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    while Utc::now() <= until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lifters = [&app.services, &other, &app.services, &other];
    let rounds = futures_util::future::join_all(lifters.iter().map(|s: &&Services| {
        let lift = s.lift.clone();
        async move { lift.run_once().await.unwrap() }
    }))
    .await;
    let lifted: usize = rounds.iter().map(|r| r.lifted).sum();
    assert_eq!(lifted, 1, "{rounds:?}");
    assert!(app.user(&target).await.is_active());
    let events = app.users.events(&target.id, None, 10).await.unwrap();
    let reactivations: Vec<_> = events
        .iter()
        .filter(|e| e.action.status() == Some(warden_domain::StatusAction::Reactivate))
        .collect();
    assert_eq!(reactivations.len(), 1);
    assert_eq!(
        reactivations[0].actor.kind,
        warden_domain::ActorKind::System
    );
    app.emails(2).await;
}
