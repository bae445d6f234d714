//! SCIM's absolute URLs (`meta.location`, `Location`, discovery) are under the configured public
//! URL (`WARDEN_PUBLIC_URL`), never the request's `Host` or forwarding headers, whoever the peer
//! is (issue 27, point 7).

use reqwest::Method;
use serde_json::Value;
use warden::http::TrustedProxies;
use warden::run::public_url::PublicUrl;

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
async fn the_public_url_is_the_base_even_behind_a_trusted_proxy() {
    let app = spawn_app_configured(
        |config| {
            config.trusted_proxies = TrustedProxies::parse("127.0.0.0/8").unwrap();
            config.public_url = Some(PublicUrl::parse("https://id.example.com/warden/").unwrap());
        },
        |ports| ports,
    )
    .await;
    let token = scim_client(&app, "okta").await;
    let (id, location) = created_at(&create_forged(&app, &token).await);
    assert_eq!(
        location,
        format!("https://id.example.com/warden/scim/v2/Users/{id}")
    );
    let fetched = app
        .client
        .get(app.url(&format!("/scim/v2/Users/{id}")))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let fetched: Value = fetched.json().await.unwrap();
    assert_eq!(fetched["meta"]["location"], location.as_str());
    for path in ["ServiceProviderConfig", "ResourceTypes", "Schemas"] {
        let document: Value = app
            .client
            .get(app.url(&format!("/scim/v2/{path}")))
            .header("x-forwarded-host", "evil.example")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = document.to_string();
        assert!(
            text.contains("\"https://id.example.com/warden/scim/v2/"),
            "{text}"
        );
        assert!(!text.contains("evil.example"), "{text}");
    }
}
