//! The OpenAPI document describes exactly the routes the app serves.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use warden::routes::ROUTES;

use crate::support::spawn_app;

async fn spec(app: &crate::support::TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            found.insert((method.clone(), path.clone()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_lists_exactly_the_served_routes() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(operations(&spec), served);
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    for (method, path) in operations(&spec(&app).await) {
        let concrete = path.replace("{user_id}", &uuid::Uuid::now_v7().to_string());
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .body("{}")
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        for unrouted in ["Route not found", "Method not allowed"] {
            assert!(!text.contains(unrouted), "{method} {concrete}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_is_documented_with_the_envelope() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let ok = ["200", "201", "202", "204"]
                .iter()
                .any(|ok| responses.contains_key(*ok));
            assert!(ok, "{method} {path}");
            if path == "/metrics" {
                continue; // Prometheus text, the one response that cannot be an envelope
            }
            if path.starts_with("/oauth2/")
                || path.starts_with("/.well-known/")
                || path.starts_with("/scim/")
                || path.starts_with("/ssf/")
            {
                continue; // standard endpoints answer in their standards' formats
            }
            if path.starts_with("/api/") {
                assert!(responses.contains_key("500"), "{method} {path}");
            }
            for (status, response) in responses {
                if path == "/api/v1/events/export" && status == "200" {
                    // NDJSON: a stream of documents; its errors keep the envelope.
                    assert!(
                        response["content"]["application/x-ndjson"].is_object(),
                        "{response}"
                    );
                    continue;
                }
                let schema = &response["content"]["application/json"]["schema"];
                let text = schema.to_string();
                assert!(
                    text.contains("Envelope"),
                    "{method} {path} {status}: {text}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_is_served_offline() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(redirect.status(), 308);
    let page = client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger"));
}

/// The limits of typed text are the domain's, not restated: a reason's length and characters on
/// both status routes' bodies, a search text's on `GET /api/v1/users`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_limits_in_the_spec_are_the_domains() {
    use warden_domain::{typed_text_pattern, Reason, SearchText};
    let app = spawn_app().await;
    let spec = spec(&app).await;
    for schema in ["StatusChangeRequest", "BulkDeactivationRequest"] {
        let reason = &spec["components"]["schemas"][schema]["properties"]["reason"];
        assert_eq!(reason["maxLength"], Reason::MAX_CHARS, "{schema}: {reason}");
        assert_eq!(reason["pattern"], typed_text_pattern(true), "{schema}");
    }
    let q = spec["paths"]["/api/v1/users"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "q")
        .unwrap()
        .clone();
    assert_eq!(q["schema"]["maxLength"], SearchText::MAX_CHARS, "{q}");
    assert_eq!(q["schema"]["pattern"], typed_text_pattern(false));
}
