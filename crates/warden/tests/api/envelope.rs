use reqwest::Method;

use crate::support::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_in_the_envelope() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/api/v1/user",
        "/api/v1/users/deactivate/extra",
        "/nope?x=1",
    ] {
        app.send(Method::GET, path, None, "")
            .await
            .assert_envelope(404, "Route not found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_405_with_allow() {
    let app = spawn_app().await;
    for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
        let response = app
            .send(method, "/api/v1/users/deactivate", None, "{}")
            .await;
        response.assert_envelope(405, "Method not allowed");
        assert_eq!(response.headers["allow"], "PATCH");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_fresh_request_id() {
    let app = spawn_app().await;
    let first = app.send(Method::GET, "/", None, "").await;
    let second = app.send(Method::GET, "/", None, "").await;
    assert_ne!(
        first.headers["x-request-id"],
        second.headers["x-request-id"]
    );
}
