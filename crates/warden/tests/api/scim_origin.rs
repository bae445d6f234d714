//! SCIM's absolute URLs (`meta.location`, `Location`) take the origin from forwarding headers
//! only when the peer is one of `WARDEN_TRUSTED_PROXIES`.

use reqwest::Method;
use serde_json::Value;
use warden::http::TrustedProxies;

use crate::scim_support::{okta_user, scim_client, unique_email};
use crate::support::{spawn_app, spawn_app_configured, Response, TestApp};

/// Creates a user through SCIM with forged forwarding headers.
async fn create_forged(app: &TestApp, token: &str) -> Response {
    let response = app
        .client
        .request(Method::POST, app.url("/scim/v2/Users"))
        .header("content-type", "application/scim+json")
        .header("forwarded", "proto=ftp;host=evil.example")
        .header("x-forwarded-proto", "ftp")
        .header("x-forwarded-host", "evil.example")
        .bearer_auth(token)
        .body(okta_user(&unique_email("fwd")).to_string())
        .send()
        .await
        .unwrap();
    Response::read(response).await
}

fn created_at(created: &Response) -> (String, String) {
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = created.body["meta"]["location"].as_str().unwrap();
    assert_eq!(created.headers["location"], location);
    (id, location.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_any_peer_are_ignored() {
    let app = spawn_app().await;
    let token = scim_client(&app, "okta").await;
    let (id, location) = created_at(&create_forged(&app, &token).await);
    assert_eq!(location, app.url(&format!("/scim/v2/Users/{id}")));
    let config = app
        .client
        .get(app.url("/scim/v2/ServiceProviderConfig"))
        .header("x-forwarded-host", "evil.example")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let config: Value = config.json().await.unwrap();
    assert!(config["meta"]["location"].as_str().is_some(), "{config}");
    assert!(!config.to_string().contains("evil.example"), "{config}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_public_host_but_only_http_or_https() {
    let app = spawn_app_configured(
        |config| config.trusted_proxies = TrustedProxies::parse("127.0.0.0/8").unwrap(),
        |ports| ports,
    )
    .await;
    let token = scim_client(&app, "okta").await;
    // The host is believed from a trusted proxy; a scheme other than http or https is not.
    let (id, location) = created_at(&create_forged(&app, &token).await);
    assert_eq!(location, format!("http://evil.example/scim/v2/Users/{id}"));
    let response = app
        .client
        .request(Method::POST, app.url("/scim/v2/Users"))
        .header("content-type", "application/scim+json")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "id.example.com")
        .bearer_auth(&token)
        .body(okta_user(&unique_email("fwd")).to_string())
        .send()
        .await
        .unwrap();
    let (id, location) = created_at(&Response::read(response).await);
    assert_eq!(
        location,
        format!("https://id.example.com/scim/v2/Users/{id}")
    );
}
