//! Security headers on every kind of response: `X-Content-Type-Options: nosniff` everywhere,
//! `Cache-Control: no-store` on sign-in and user routes, a Content-Security-Policy on `/docs`.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::json;

use crate::support::spawn_app;

fn nosniff(headers: &HeaderMap, what: &str) {
    assert_eq!(
        headers
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}: {headers:?}"
    );
}

fn no_store(headers: &HeaderMap, what: &str) {
    assert_eq!(
        headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what}: {headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_is_nosniff_and_private_ones_are_not_stored() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let big = format!(r#"{{"user_id": "{}"}}"#, "x".repeat(20 * 1024));
    let user_routes = [
        (
            Method::GET,
            "/api/v1/users/me",
            Some(token.as_str()),
            String::new(),
            200,
        ),
        (Method::GET, "/api/v1/users/me", None, String::new(), 401),
        (
            Method::PATCH,
            "/api/v1/users/deactivate",
            Some(&token),
            "{".into(),
            422,
        ),
        (
            Method::PATCH,
            "/api/v1/users/deactivate",
            Some(&token),
            big,
            413,
        ),
        (
            Method::DELETE,
            "/api/v1/users/me",
            Some(&token),
            String::new(),
            405,
        ),
        (
            Method::GET,
            "/api/v1/users/not-a-user",
            Some(&token),
            String::new(),
            404,
        ),
        (Method::POST, "/api/v1/auth/login", None, "[]".into(), 422),
        (
            Method::POST,
            "/api/v1/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "wrong password"}).to_string(),
            401,
        ),
    ];
    for (method, path, token, body, status) in user_routes {
        let what = format!("{method} {path}");
        let response = app.send(method, path, token, body).await;
        assert_eq!(
            response.status.as_u16(),
            status,
            "{what}: {:?}",
            response.body
        );
        nosniff(&response.headers, &what);
        no_store(&response.headers, &what);
    }
    for (method, path, status) in [
        (Method::GET, "/nowhere", 404),
        (Method::POST, "/health/live", 405),
        (Method::GET, "/health/live", 200),
        (Method::GET, "/health/ready", 200),
    ] {
        let what = format!("{method} {path}");
        let response = app.send(method, path, None, "").await;
        assert_eq!(response.status.as_u16(), status, "{what}");
        nosniff(&response.headers, &what);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/metrics",
        "/api/v1/openapi.json",
        "/docs",
        "/docs/",
        "/docs/swagger-initializer.js",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert!(response.status().as_u16() < 400, "{path}");
        nosniff(response.headers(), path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_ui_sends_a_content_security_policy() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/docs",
        "/docs/",
        "/docs/swagger-initializer.js",
        "/docs/nope",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        let policy = response
            .headers()
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap()
            .to_owned();
        let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
        for required in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(directives.contains(&required), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-"), "{path}: {policy}");
    }
    // The API's JSON is not a page: no policy there.
    let spec = client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert!(spec.headers().get("content-security-policy").is_none());
}
