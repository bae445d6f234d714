//! Liveness, readiness and metrics.

use reqwest::Method;
use warden_domain::Role;

use crate::support::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_and_ready_report_in_the_envelope_with_the_outbox_backlog() {
    let app = spawn_app().await;
    app.send(Method::GET, "/health/live", None, "")
        .await
        .assert_envelope(200, "Alive");
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.sink.stop().await;
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let ready = app.send(Method::GET, "/health/ready", None, "").await;
    ready.assert_shape(200, "Ready");
    assert_eq!(ready.body["data"]["database"], "up");
    assert_eq!(ready.body["data"]["outbox_pending"], 1);
    assert_eq!(ready.body["data"]["outbox_failed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_changes_and_deliveries() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(400, "User is already deactivated");
    app.emails(1).await;

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    for line in [
        r#"warden_http_requests_total{method="PATCH",route="/api/v1/users/deactivate",status="200"} 1"#,
        r#"warden_http_requests_total{method="PATCH",route="/api/v1/users/deactivate",status="400"} 1"#,
        r#"warden_status_changes_total{action="deactivated",channel="api"} 1"#,
        r#"warden_outbox_deliveries_total{result="sent"} 1"#,
        "warden_outbox_pending 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    assert!(
        text.contains(r#"warden_email_send_duration_seconds_count{outcome="ok"} 1"#),
        "{text}"
    );
    assert!(text.contains("warden_http_request_duration_seconds_bucket"));
}

/// Readiness and metrics read the pool requests wait on, not the outbox worker's own pool:
/// here the worker's pool reaches another (empty) database, and the backlog is still reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_metrics_read_the_request_pool_not_the_workers() {
    let elsewhere = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", elsewhere.path().join("other.db").display());
    let other = crate::support::config_for(&url, &elsewhere, "smtp://127.0.0.1:9");
    let (_store, other_ports) = warden::run::compose::open(&other).await.unwrap();
    let app = crate::support::spawn_app_with(move |mut ports| {
        ports.delivery = other_ports.outbox;
        ports
    })
    .await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let ready = app.send(Method::GET, "/health/ready", None, "").await;
    ready.assert_shape(200, "Ready");
    assert_eq!(ready.body["data"]["outbox_pending"], 1);
    let text = app.metrics_text().await;
    assert!(
        text.lines().any(|l| l == "warden_outbox_pending 1"),
        "{text}"
    );
}
