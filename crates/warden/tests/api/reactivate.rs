use serde_json::json;
use warden_domain::{Role, UserId};

use crate::support::spawn_app;

const PATH: &str = "/api/v1/users/reactivate";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_reactivated_and_told_but_old_tokens_stay_dead() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::Admin).await;
    let old_token = app.token_for(&target).await;
    let body = json!({ "user_id": target.id.to_string() });

    app.deactivate(&token, &target, Some("audit"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.patch_json(PATH, Some(&token), &body)
        .await
        .assert_envelope(200, "User account reactivated successfully");
    assert!(app.user(&target).await.is_active());

    // The token from before the deactivation does not come back to life.
    let someone = app.create_user(Role::User).await;
    app.deactivate(&old_token, &someone, None)
        .await
        .assert_envelope(401, "Could not validate admin credentials");
    // A fresh one works.
    let fresh = app.token_for(&target).await;
    app.deactivate(&fresh, &someone, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let mails = app.emails(3).await;
    let subjects: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("reactivated"))
            .count(),
        1,
        "{subjects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactivating_an_active_or_unknown_user_is_refused() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let active = app.create_user(Role::User).await;
    app.patch_json(
        PATH,
        Some(&token),
        &json!({ "user_id": active.id.to_string() }),
    )
    .await
    .assert_envelope(400, "User is already active");
    app.patch_json(
        PATH,
        Some(&token),
        &json!({ "user_id": UserId::generate().to_string() }),
    )
    .await
    .assert_envelope(404, "User not found");
    app.patch_json(PATH, None, &json!({ "user_id": active.id.to_string() }))
        .await
        .assert_envelope(401, "Could not validate admin credentials");
}
