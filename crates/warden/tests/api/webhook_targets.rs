//! What the create-webhook route refuses before anything is stored: targets in special-purpose
//! address blocks (however the address is written) and descriptions that hide what they say.

use serde_json::{json, Value};

use crate::support::{spawn_app, Response, TestApp};

async fn create(app: &TestApp, token: &str, body: &Value) -> Response {
    app.send(
        reqwest::Method::POST,
        "/api/v1/webhooks",
        Some(token),
        body.to_string(),
    )
    .await
}

async fn assert_nothing_stored(app: &TestApp, token: &str) {
    let listed = app
        .send(reqwest::Method::GET, "/api/v1/webhooks", Some(token), "")
        .await;
    assert_eq!(listed.body["data"]["webhooks"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_forms_of_internal_addresses_are_refused() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    for url in [
        // Local-use NAT64 (RFC 8215) of the metadata service.
        "https://[64:ff9b:1::a9fe:a9fe]/",
        // Teredo with the metadata service as its server.
        "https://[2001:0:a9fe:a9fe::1]/",
        // SIIT (IPv4-translated) loopback.
        "https://[::ffff:0:7f00:1]/",
        "https://[64:ff9b::7f00:1]/hook",
        "https://[2002:a9fe:a9fe::1]/hook",
        "https://[100::1]/hook",
        "https://[2001:db8::1]/hook",
        "https://[fec0::1]/hook",
        "https://198.18.0.1/hook",
        "https://192.0.0.8/hook",
    ] {
        let refused = create(&app, &token, &json!({ "url": url })).await;
        refused.assert_shape(422, "Invalid input");
        assert_eq!(refused.error_fields(), vec!["url"], "{url}");
        assert_eq!(
            refused.body["data"]["errors"][0]["message"],
            "must resolve to public addresses only (not loopback, private, link-local, shared, \
             multicast or other special-purpose addresses)",
            "{url}"
        );
    }
    assert_nothing_stored(&app, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptions_with_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    for description in [
        "billing\u{202E}gnp.exe",
        "zero\u{200B}width",
        "isolate\u{2066}d",
        "line\nbreak",
    ] {
        let body = json!({ "url": "https://93.184.215.14/hook", "description": description });
        let refused = create(&app, &token, &body).await;
        refused.assert_shape(422, "Invalid input");
        assert_eq!(
            refused.error_fields(),
            vec!["description"],
            "{description:?}"
        );
        assert_eq!(
            refused.body["data"]["errors"][0]["message"],
            "must be at most 500 characters, without control or invisible formatting characters"
        );
    }
    assert_nothing_stored(&app, &token).await;
    let body = json!({ "url": "https://93.184.215.14/hook", "description": "Facturación — café" });
    let created = create(&app, &token, &body).await;
    created.assert_shape(201, "Webhook created successfully");
    assert_eq!(created.body["data"]["description"], "Facturación — café");
}
