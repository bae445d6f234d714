//! `/metrics` stays bounded whatever clients send: made-up methods and unknown paths never
//! become labels.

use reqwest::Method;

use crate::support::spawn_app;

/// Generous for Warden's fixed set of labels (measured about 6 KB after this test's traffic),
/// tiny next to what 200 made-up 1 KiB methods would add as labels (hundreds of KB).
const BOUND: usize = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_leave_metrics_small_and_clean() {
    let app = spawn_app().await;
    let mut made_up = Vec::new();
    for i in 0..200 {
        let method = format!("M{i:03}{}", "Q".repeat(1024));
        let path = format!("/made-up-path-{i:03}-{}", uuid::Uuid::now_v7().simple());
        // Half on unknown paths, half on real ones (which answer 405).
        let target = if i % 2 == 0 {
            path.clone()
        } else {
            "/api/v1/users/me".to_owned()
        };
        let response = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&target),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
        // And a standard method on the unknown path.
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404);
        made_up.push((method[..4].to_owned(), path));
    }
    let text = app.metrics_text().await;
    assert!(text.len() < BOUND, "{} bytes", text.len());
    assert!(!text.contains("QQQQ"), "a made-up method became a label");
    for (method, path) in &made_up {
        assert!(!text.contains(method.as_str()), "{method} in /metrics");
        assert!(!text.contains(path.as_str()), "{path} in /metrics");
    }
    for line in [
        r#"warden_http_requests_total{method="other",route="unmatched",status="404"} 100"#,
        r#"warden_http_requests_total{method="GET",route="unmatched",status="404"} 200"#,
        r#"warden_http_requests_total{method="other",route="/api/v1/users/me",status="405"} 100"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    println!("/metrics after 400 hostile requests: {} bytes", text.len());
}
