//! `WARDEN_OPS_ADDR`: health checks and metrics on a second listener, and only there.

use reqwest::Method;

use crate::support::{spawn_app, spawn_app_tuned, Response};

const OPS_PATHS: [&str; 3] = ["/health/live", "/health/ready", "/metrics"];

async fn get(client: &reqwest::Client, url: String) -> reqwest::Response {
    client.get(url).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_ops_address_health_and_metrics_move_to_it() {
    let (app, ops) = spawn_app_tuned(|c| c.ops_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let ops = ops.expect("the operations listener's address");
    assert_ne!(ops, app.address);

    // On the public listener: the enveloped 404 of any unknown route.
    for path in OPS_PATHS {
        let response = app.send(Method::GET, path, None, "").await;
        response.assert_envelope(404, "Route not found");
    }
    // On the operations listener: the same answers as usual, in the same envelope.
    let live = Response::read(get(&app.client, format!("{ops}/health/live")).await).await;
    live.assert_envelope(200, "Alive");
    let ready = Response::read(get(&app.client, format!("{ops}/health/ready")).await).await;
    ready.assert_shape(200, "Ready");
    assert_eq!(ready.body["data"]["database"], "up");
    let metrics = get(&app.client, format!("{ops}/metrics")).await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    // It counts the public listener's traffic (the three 404s above).
    assert!(
        text.contains(
            r#"warden_http_requests_total{method="GET",route="unmatched",status="404"} 3"#
        ),
        "{text}"
    );
    // And serves nothing else: the API stays on the public listener.
    let me = Response::read(get(&app.client, format!("{ops}/api/v1/users/me")).await).await;
    me.assert_envelope(404, "Route not found");
    let docs = get(&app.client, format!("{ops}/api/v1/openapi.json")).await;
    assert_eq!(docs.status(), 404);
    let (_, token) = app.admin().await;
    let me = app
        .send(Method::GET, "/api/v1/users/me", Some(&token), "")
        .await;
    assert_eq!(me.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_ops_address_health_and_metrics_stay_on_the_public_listener() {
    let app = spawn_app().await;
    assert!(app.config.ops_addr.is_none());
    for path in OPS_PATHS {
        let response = get(&app.client, app.url(path)).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}
