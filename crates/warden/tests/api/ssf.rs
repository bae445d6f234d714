//! Shared Signals (SSF 1.0) end to end, as a receiver sees it: discovery, streams, push to a
//! real receiver on 127.0.0.1 (so with `WARDEN_WEBHOOK_ALLOW_PRIVATE`) and RFC 8936 poll. Every
//! SET is verified against the key published at the discovered `jwks_uri`.

use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Value};
use warden::Config;
use warden_domain::{Role, Scope, User};
use warden_testkit::webhook_sink::WebhookSink;

use crate::clients::client_token;
use crate::scim_support::{patch, scim_client};
use crate::support::{spawn_app_configured, Response, TestApp};

const WAIT: Duration = Duration::from_secs(20);
const DISABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const ENABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
const REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const PUSH: &str = "urn:ietf:rfc:8935";
const POLL: &str = "urn:ietf:rfc:8936";

fn allow_local(config: &mut Config) {
    config.webhooks.allow_private = true;
}

async fn spawn_local() -> TestApp {
    spawn_app_configured(allow_local, |ports| ports).await
}

/// A receiver: a client with `ssf.manage`, and its token.
async fn receiver(app: &TestApp, name: &str) -> String {
    client_token(app, name, &[Scope::SsfManage]).await
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Follows the discovery document, as a receiver does.
async fn discover(app: &TestApp) -> Value {
    let (status, body) = call(
        app,
        Method::GET,
        "/.well-known/ssf-configuration",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    body
}

/// The path of an advertised URL (the app is reached on its own address).
fn path_of(url: &Value) -> String {
    let url = url::Url::parse(url.as_str().unwrap()).unwrap();
    format!(
        "{}{}",
        url.path(),
        url.query().map(|q| format!("?{q}")).unwrap_or_default()
    )
}

async fn create_stream(app: &TestApp, token: &str, body: &Value) -> Value {
    let config = discover(app).await;
    let (status, stream) = call(
        app,
        Method::POST,
        &path_of(&config["configuration_endpoint"]),
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{stream}");
    stream
}

async fn poll_stream(app: &TestApp, token: &str) -> Value {
    create_stream(
        app,
        token,
        &json!({
            "delivery": {"method": POLL},
            "events_requested": [DISABLED, ENABLED, REVOKED],
        }),
    )
    .await
}

/// A SET verified as a receiver verifies it: by the `kid` in its header, against the JWKS at
/// the discovered `jwks_uri`, RS256 only, `typ` secevent+jwt, this issuer and audience.
async fn verified(app: &TestApp, token: &str, audience: &str) -> Value {
    let config = discover(app).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let (_, jwks) = call(app, Method::GET, &path_of(&config["jwks_uri"]), None, None).await;
    let kid = header.kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the SET's kid is published");
    assert_eq!(
        (jwk["kty"].as_str(), jwk["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[config["issuer"].as_str().unwrap()]);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    assert!(
        claims.get("sub").is_none() && claims.get("exp").is_none(),
        "{claims}"
    );
    assert_eq!(claims["events"].as_object().unwrap().len(), 1, "{claims}");
    claims
}

/// The one event type of a SET's claims, and its payload.
fn event(claims: &Value) -> (String, Value) {
    let (uri, payload) = claims["events"].as_object().unwrap().iter().next().unwrap();
    (uri.clone(), payload.clone())
}

/// Polls `stream` once, acknowledging `ack`; the SETs (verified) in order, and moreAvailable.
async fn poll(app: &TestApp, token: &str, stream: &Value, body: Value) -> (Vec<Value>, bool) {
    let (status, answer) = call(
        app,
        Method::POST,
        &path_of(&stream["delivery"]["endpoint_url"]),
        Some(token),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let mut sets: Vec<Value> = Vec::new();
    for (jti, set) in answer["sets"].as_object().unwrap() {
        let claims = verified(app, set.as_str().unwrap(), stream["aud"].as_str().unwrap()).await;
        assert_eq!(claims["jti"], jti.as_str());
        sets.push(claims);
    }
    sets.sort_by_key(|c| {
        (
            c["iat"].as_i64(),
            event(c).0 != DISABLED && event(c).0 != ENABLED,
        )
    });
    (sets, answer["moreAvailable"].as_bool().unwrap())
}

fn jtis(sets: &[Value]) -> Vec<String> {
    sets.iter()
        .map(|c| c["jti"].as_str().unwrap().to_owned())
        .collect()
}

async fn deactivate(app: &TestApp, token: &str, user: &User, reason: Option<&str>) {
    app.deactivate(token, user, reason)
        .await
        .assert_envelope(200, "User account deactivated successfully");
}

async fn reactivate(app: &TestApp, token: &str, user: &User) {
    let body = json!({"user_id": user.id.to_string()});
    app.patch_json("/api/v1/users/reactivate", Some(token), &body)
        .await
        .assert_envelope(200, "User account reactivated successfully");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_names_every_endpoint_under_the_public_url() {
    let app = spawn_app_configured(
        |config| {
            config.public_url =
                Some(warden::run::public_url::PublicUrl::parse("https://warden.example").unwrap())
        },
        |ports| ports,
    )
    .await;
    let config = discover(&app).await;
    assert_eq!(config["spec_version"], "1_0");
    assert_eq!(config["issuer"], "https://warden.example");
    assert_eq!(
        config["jwks_uri"],
        "https://warden.example/.well-known/jwks.json"
    );
    assert_eq!(config["delivery_methods_supported"], json!([PUSH, POLL]));
    assert_eq!(
        config["authorization_schemes"],
        json!([{"spec_urn": "urn:ietf:rfc:6749"}])
    );
    assert_eq!(config["default_subjects"], "ALL");
    for endpoint in [
        "configuration_endpoint",
        "status_endpoint",
        "verification_endpoint",
        "add_subject_endpoint",
        "remove_subject_endpoint",
    ] {
        assert!(
            config[endpoint]
                .as_str()
                .unwrap()
                .starts_with("https://warden.example/"),
            "{endpoint}"
        );
    }
    // The SET key is published beside the access-token keys (none under HS256), 2048 bits.
    let (_, jwks) = call(&app, Method::GET, "/.well-known/jwks.json", None, None).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0]["kty"].as_str(), keys[0]["use"].as_str()),
        (Some("RSA"), Some("sig"))
    );
    let modulus = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        keys[0]["n"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(modulus.len(), 256);
    // Generated once into the data directory, private.
    let file = app.data_dir.path().join("ssf-set-key.pem");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_need_a_client_token_with_the_ssf_scopes() {
    let app = spawn_local().await;
    let body = json!({"delivery": {"method": POLL}});
    let (status, answer) = call(&app, Method::POST, "/ssf/streams", None, Some(&body)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = call(
        &app,
        Method::GET,
        "/ssf/streams",
        Some("wdn_not-a-token"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let scim = scim_client(&app, "idp").await;
    let (status, answer) = call(&app, Method::GET, "/ssf/streams", Some(&scim), None).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let reader = client_token(&app, "reader", &[Scope::SsfRead]).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/ssf/streams",
        Some(&reader),
        Some(&body),
    )
    .await;
    assert_eq!(status, 403);
    let (status, answer) = call(&app, Method::GET, "/ssf/streams", Some(&reader), None).await;
    assert_eq!((status, answer), (200, json!([])));
    // A user's access token is not a client's.
    let (_, admin) = app.admin().await;
    let (status, _) = call(&app, Method::GET, "/ssf/streams", Some(&admin), None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_manages_only_its_own_streams() {
    let app = spawn_local().await;
    let owner = receiver(&app, "owner").await;
    let other = receiver(&app, "other").await;
    let stream = create_stream(&app, &owner, &json!({
        "delivery": {"method": PUSH, "endpoint_url": "https://receiver.example/ssf", "authorization_header": "Bearer secret-of-the-receiver"},
        "events_requested": [DISABLED, "urn:example:not-ours"],
        "description": "payroll",
    }))
    .await;
    let id = stream["stream_id"].as_str().unwrap().to_owned();
    assert_eq!(stream["iss"], discover(&app).await["issuer"]);
    assert!(stream["aud"].as_str().is_some_and(|aud| !aud.is_empty()));
    assert_eq!(
        stream["delivery"],
        json!({"method": PUSH, "endpoint_url": "https://receiver.example/ssf"})
    );
    assert_eq!(
        stream["events_supported"],
        json!([DISABLED, ENABLED, REVOKED])
    );
    assert_eq!(
        stream["events_requested"],
        json!([DISABLED, "urn:example:not-ours"])
    );
    assert_eq!(stream["events_delivered"], json!([DISABLED]));
    assert!(!stream.to_string().contains("secret-of-the-receiver"));

    let one = format!("/ssf/streams?stream_id={id}");
    let (status, read) = call(&app, Method::GET, &one, Some(&owner), None).await;
    assert_eq!((status, &read), (200, &stream));
    let (status, list) = call(&app, Method::GET, "/ssf/streams", Some(&owner), None).await;
    assert_eq!((status, list), (200, json!([stream])));
    // Another client sees nothing of it, and cannot change or delete it.
    assert_eq!(
        call(&app, Method::GET, &one, Some(&other), None).await.0,
        404
    );
    assert_eq!(
        call(&app, Method::GET, "/ssf/streams", Some(&other), None)
            .await
            .1,
        json!([])
    );
    let patch_body = json!({"stream_id": id, "events_requested": [DISABLED, REVOKED]});
    assert_eq!(
        call(
            &app,
            Method::PATCH,
            "/ssf/streams",
            Some(&other),
            Some(&patch_body)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&app, Method::DELETE, &one, Some(&other), None).await.0,
        404
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/ssf/status?stream_id={id}"),
            Some(&other),
            None
        )
        .await
        .0,
        404
    );

    let (status, patched) = call(
        &app,
        Method::PATCH,
        "/ssf/streams",
        Some(&owner),
        Some(&patch_body),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["events_delivered"], json!([DISABLED, REVOKED]));
    assert_eq!(patched["description"], "payroll");
    assert_eq!(patched["delivery"], stream["delivery"]);
    let put_body =
        json!({"stream_id": id, "delivery": {"method": POLL}, "events_requested": [ENABLED]});
    let (status, replaced) = call(
        &app,
        Method::PUT,
        "/ssf/streams",
        Some(&owner),
        Some(&put_body),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["delivery"]["method"], POLL);
    assert!(replaced["delivery"]["endpoint_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/ssf/poll/{id}")));
    assert_eq!(replaced["events_delivered"], json!([ENABLED]));
    assert!(replaced.get("description").is_none());

    // Status: read and changed by the owner.
    let (status, body) = call(
        &app,
        Method::GET,
        &format!("/ssf/status?stream_id={id}"),
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"stream_id": id, "status": "enabled"}))
    );
    let pause = json!({"stream_id": id, "status": "paused", "reason": "maintenance"});
    let (status, body) = call(
        &app,
        Method::POST,
        "/ssf/status",
        Some(&owner),
        Some(&pause),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"stream_id": id, "status": "paused", "reason": "maintenance"})
        )
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/status",
            Some(&other),
            Some(&pause)
        )
        .await
        .0,
        404
    );

    // Subjects: every account is included already; adding or removing one is accepted.
    let subject =
        json!({"stream_id": id, "subject": {"format": "email", "email": "a@example.com"}});
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/subjects/add",
            Some(&owner),
            Some(&subject)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/subjects/remove",
            Some(&owner),
            Some(&subject)
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/subjects/add",
            Some(&other),
            Some(&subject)
        )
        .await
        .0,
        404
    );

    assert_eq!(
        call(&app, Method::DELETE, &one, Some(&owner), None).await.0,
        204
    );
    assert_eq!(
        call(&app, Method::GET, &one, Some(&owner), None).await.0,
        404
    );
    assert_eq!(
        call(&app, Method::DELETE, &one, Some(&owner), None).await.0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_refused_with_a_description() {
    let app = spawn_local().await;
    let owner = receiver(&app, "owner").await;
    for (body, description) in [
        (
            json!({"delivery": {"method": PUSH}}),
            "delivery.endpoint_url is required for push delivery",
        ),
        (
            json!({"delivery": {"method": "urn:example"}}),
            "delivery.method must be urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll)",
        ),
        (
            json!({"events_requested": "all"}),
            "events_requested must be an array of at most 32 event type URIs",
        ),
        (json!([]), "the body must be a JSON object"),
        (
            json!({"description": 7}),
            "description must be a string of at most 2048 characters",
        ),
    ] {
        let (status, answer) = call(
            &app,
            Method::POST,
            "/ssf/streams",
            Some(&owner),
            Some(&body),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            answer,
            json!({"error": "invalid_request", "description": description}),
            "{body}"
        );
    }
    let (status, answer) = call(
        &app,
        Method::PATCH,
        "/ssf/streams",
        Some(&owner),
        Some(&json!({})),
    )
    .await;
    assert_eq!(
        (status, answer["description"].as_str()),
        (400, Some("stream_id is required"))
    );
    let bad_status = json!({"stream_id": uuid::Uuid::new_v4().to_string(), "status": "asleep"});
    let (status, answer) = call(
        &app,
        Method::POST,
        "/ssf/status",
        Some(&owner),
        Some(&bad_status),
    )
    .await;
    assert_eq!(
        (status, answer["description"].as_str()),
        (400, Some("status must be enabled, paused or disabled"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_endpoints_obey_the_webhook_rules() {
    let app = spawn_app_configured(|_| {}, |ports| ports).await;
    let owner = receiver(&app, "owner").await;
    for url in [
        "http://receiver.example/ssf",
        "https://127.0.0.1/ssf",
        "https://10.0.0.8/ssf",
    ] {
        let body = json!({"delivery": {"method": PUSH, "endpoint_url": url}});
        let (status, answer) = call(
            &app,
            Method::POST,
            "/ssf/streams",
            Some(&owner),
            Some(&body),
        )
        .await;
        assert_eq!(status, 400, "{url}");
        assert!(
            answer["description"]
                .as_str()
                .unwrap()
                .starts_with("delivery.endpoint_url must"),
            "{answer}"
        );
    }
}

/// A push stream to `sink` (answering 202) for every event type.
async fn push_stream(app: &TestApp, token: &str, sink: &WebhookSink) -> Value {
    sink.answer_by_default(202);
    create_stream(app, token, &json!({
        "delivery": {"method": PUSH, "endpoint_url": sink.url(), "authorization_header": "Bearer receiver-token"},
        "events_requested": [DISABLED, ENABLED, REVOKED],
    }))
    .await
}

/// The SETs `sink` received, verified, in arrival order.
async fn pushed(app: &TestApp, sink: &WebhookSink, stream: &Value) -> Vec<Value> {
    let mut sets = Vec::new();
    for request in sink.received() {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.header("content-type"),
            Some("application/secevent+jwt")
        );
        assert_eq!(
            request.header("authorization"),
            Some("Bearer receiver-token")
        );
        let token = String::from_utf8(request.body.clone()).unwrap();
        sets.push(verified(app, &token, stream["aud"].as_str().unwrap()).await);
    }
    sets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivation_and_a_reactivation_are_pushed_as_signed_sets() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    let owner = receiver(&app, "owner").await;
    let stream = push_stream(&app, &owner, &sink).await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    deactivate(&app, &token, &user, Some("left the company")).await;
    sink.wait_for(2, WAIT).await.unwrap();
    reactivate(&app, &token, &user).await;
    sink.wait_for(3, WAIT).await.unwrap();
    let sets = pushed(&app, &sink, &stream).await;
    let types: Vec<String> = sets.iter().map(|s| event(s).0).collect();
    assert_eq!(types, [DISABLED, REVOKED, ENABLED]);
    let issuer = discover(&app).await["issuer"].clone();
    for set in &sets {
        assert_eq!(
            set["sub_id"],
            json!({"format": "iss_sub", "iss": issuer, "sub": user.id.to_string()})
        );
        assert_eq!(event(set).1["initiating_entity"], "admin");
    }
    // One change, one txn; the reactivation is another.
    assert_eq!(sets[0]["txn"], sets[1]["txn"]);
    assert_ne!(sets[0]["txn"], sets[2]["txn"]);
    assert_ne!(sets[0]["jti"], sets[1]["jti"]);
    let revoked = event(&sets[1]).1;
    assert_eq!(revoked["reason_admin"], json!({"en": "left the company"}));
    assert!(revoked["event_timestamp"].is_i64());
    assert!(event(&sets[2]).1.get("reason_admin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_is_final_and_a_500_is_retried_with_the_same_set() {
    let app = spawn_local().await;
    let sink = WebhookSink::start().await.unwrap();
    let owner = receiver(&app, "owner").await;
    let stream = push_stream(&app, &owner, &sink).await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    // account-disabled: 500, then accepted; session-revoked: 400 (final).
    sink.answer(&[500, 202, 400]);
    deactivate(&app, &token, &user, None).await;
    sink.wait_for(3, WAIT).await.unwrap();
    reactivate(&app, &token, &user).await;
    sink.wait_for(4, WAIT).await.unwrap();
    let sets = pushed(&app, &sink, &stream).await;
    let types: Vec<String> = sets.iter().map(|s| event(s).0).collect();
    // In order, and the refused one never again: the enable comes right after it.
    assert_eq!(types, [DISABLED, DISABLED, REVOKED, ENABLED]);
    assert_eq!(sets[0]["jti"], sets[1]["jti"]);
    assert_eq!(sets[0], sets[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_returns_sets_until_they_are_acknowledged() {
    let app = spawn_local().await;
    let owner = receiver(&app, "owner").await;
    let stream = poll_stream(&app, &owner).await;
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    deactivate(&app, &token, &user, None).await;

    let (first, more) = poll(
        &app,
        &owner,
        &stream,
        json!({"maxEvents": 1, "returnImmediately": true}),
    )
    .await;
    assert_eq!((first.len(), more), (1, true));
    let (sets, more) = poll(&app, &owner, &stream, json!({"returnImmediately": true})).await;
    assert_eq!((sets.len(), more), (2, false));
    assert!(
        jtis(&sets).contains(&jtis(&first)[0]),
        "unacknowledged, so it comes again"
    );
    let types: Vec<String> = sets.iter().map(|s| event(s).0).collect();
    assert_eq!(types, [DISABLED, REVOKED]);
    // A reader may poll too, and another client may not.
    let other = receiver(&app, "other").await;
    let (status, _) = call(
        &app,
        Method::POST,
        &path_of(&stream["delivery"]["endpoint_url"]),
        Some(&other),
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 404);
    let (acked, _) = poll(&app, &owner, &stream, json!({"ack": [jtis(&sets)[0]], "setErrs": {jtis(&sets)[1].clone(): {"err": "invalid_key", "description": "no key"}}})).await;
    assert!(
        acked.is_empty(),
        "acknowledged and refused SETs never come again"
    );
    reactivate(&app, &token, &user).await;
    let (sets, _) = poll(&app, &owner, &stream, json!({})).await;
    assert_eq!(
        sets.iter().map(|s| event(s).0).collect::<Vec<_>>(),
        [ENABLED]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_stream_holds_its_events_and_a_disabled_one_drops_them() {
    let app = spawn_local().await;
    let owner = receiver(&app, "owner").await;
    let stream = poll_stream(&app, &owner).await;
    let id = stream["stream_id"].as_str().unwrap();
    let (_, token) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let set_status = |status: &'static str| json!({"stream_id": id, "status": status});
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/status",
            Some(&owner),
            Some(&set_status("paused"))
        )
        .await
        .0,
        200
    );
    deactivate(&app, &token, &user, None).await;
    assert_eq!(
        poll(&app, &owner, &stream, json!({})).await.0.len(),
        0,
        "held while paused"
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/status",
            Some(&owner),
            Some(&set_status("enabled"))
        )
        .await
        .0,
        200
    );
    let (sets, _) = poll(&app, &owner, &stream, json!({})).await;
    assert_eq!(
        sets.iter().map(|s| event(s).0).collect::<Vec<_>>(),
        [DISABLED, REVOKED]
    );
    poll(&app, &owner, &stream, json!({"ack": jtis(&sets)})).await;

    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/status",
            Some(&owner),
            Some(&set_status("disabled"))
        )
        .await
        .0,
        200
    );
    reactivate(&app, &token, &user).await;
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/status",
            Some(&owner),
            Some(&set_status("enabled"))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        poll(&app, &owner, &stream, json!({})).await.0.len(),
        0,
        "dropped while disabled"
    );
    // A disabled stream takes no verification either.
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/status",
            Some(&owner),
            Some(&set_status("disabled"))
        )
        .await
        .0,
        200
    );
    let verify = json!({"stream_id": id, "state": "s"});
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/ssf/verify",
            Some(&owner),
            Some(&verify)
        )
        .await
        .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_sends_the_state_given() {
    let app = spawn_local().await;
    let owner = receiver(&app, "owner").await;
    let stream = poll_stream(&app, &owner).await;
    let id = stream["stream_id"].as_str().unwrap();
    let body = json!({"stream_id": id, "state": "VGhpcyBpcyBhbiBleGFtcGxl"});
    let (status, _) = call(&app, Method::POST, "/ssf/verify", Some(&owner), Some(&body)).await;
    assert_eq!(status, 204);
    let (sets, _) = poll(&app, &owner, &stream, json!({})).await;
    assert_eq!(sets.len(), 1);
    assert_eq!(
        event(&sets[0]),
        (
            VERIFICATION.to_owned(),
            json!({"state": "VGhpcyBpcyBhbiBleGFtcGxl"})
        )
    );
    assert_eq!(sets[0]["sub_id"], json!({"format": "opaque", "id": id}));

    // Pushed too, to a push stream.
    let sink = WebhookSink::start().await.unwrap();
    let push = push_stream(&app, &owner, &sink).await;
    let body = json!({"stream_id": push["stream_id"], "state": "abc"});
    assert_eq!(
        call(&app, Method::POST, "/ssf/verify", Some(&owner), Some(&body))
            .await
            .0,
        204
    );
    sink.wait_for(1, WAIT).await.unwrap();
    let sets = pushed(&app, &sink, &push).await;
    assert_eq!(
        event(&sets[0]),
        (VERIFICATION.to_owned(), json!({"state": "abc"}))
    );
}

/// Exactly one SET of each type per change and stream, whichever path made the change.
fn one_each(sets: &[Value], user: &User) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = sets
        .iter()
        .filter(|s| s["sub_id"]["sub"] == user.id.to_string())
        .map(|s| {
            (
                event(s).0,
                event(s).1["initiating_entity"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_yields_exactly_one_account_disabled_per_stream() {
    let app = spawn_app_configured(
        |config| {
            allow_local(config);
            config.job_poll = Duration::from_millis(50);
            config.lift_poll = Duration::from_millis(100);
        },
        |ports| ports,
    )
    .await;
    let first = receiver(&app, "first").await;
    let second = receiver(&app, "second").await;
    let streams = [
        (first.clone(), poll_stream(&app, &first).await),
        (second.clone(), poll_stream(&app, &second).await),
    ];
    let (_, token) = app.admin().await;
    let (by_api, by_bulk, by_scim, lifted) = (
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
        app.create_user(Role::User).await,
    );
    deactivate(&app, &token, &by_api, None).await;
    let bulk = json!({"user_ids": [by_bulk.id.to_string()], "reason": "spam wave"});
    let accepted = app
        .send(
            Method::POST,
            "/api/v1/users/deactivate/bulk",
            Some(&token),
            bulk.to_string(),
        )
        .await;
    accepted.assert_shape(202, "Bulk deactivation accepted");
    let scim = scim_client(&app, "idp").await;
    let off = json!([{"op": "Replace", "path": "active", "value": false}]);
    assert_eq!(
        patch(&app, &scim, &by_scim.id.to_string(), off)
            .await
            .status,
        200
    );
    let until = (Utc::now() + TimeDelta::seconds(1)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let suspend = json!({"user_id": lifted.id.to_string(), "until": until});
    app.patch_json("/api/v1/users/deactivate", Some(&token), &suspend)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    // Wait for the job and the lift to have happened.
    tokio::time::timeout(WAIT, async {
        while app.user(&by_bulk).await.is_active() || !app.user(&lifted).await.is_active() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the bulk job and the lift did not happen");

    let sorted = |mut pairs: Vec<(String, String)>| {
        pairs.sort();
        pairs
    };
    let disabled = |entity: &str| {
        sorted(vec![
            (DISABLED.to_owned(), entity.to_owned()),
            (REVOKED.to_owned(), entity.to_owned()),
        ])
    };
    for (token, stream) in &streams {
        let (sets, more) = poll(&app, token, stream, json!({})).await;
        assert!(!more);
        assert_eq!(one_each(&sets, &by_api), disabled("admin"));
        assert_eq!(one_each(&sets, &by_bulk), disabled("admin"));
        assert_eq!(one_each(&sets, &by_scim), disabled("policy"));
        let mut lift = disabled("admin");
        lift.push((ENABLED.to_owned(), "system".to_owned()));
        assert_eq!(one_each(&sets, &lifted), sorted(lift));
        assert_eq!(sets.len(), 9);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_key_never_verifies_an_access_token() {
    let app = spawn_local().await;
    let owner = receiver(&app, "owner").await;
    let stream = poll_stream(&app, &owner).await;
    let body = json!({"stream_id": stream["stream_id"], "state": "x"});
    call(&app, Method::POST, "/ssf/verify", Some(&owner), Some(&body)).await;
    let (status, answer) = call(
        &app,
        Method::POST,
        &path_of(&stream["delivery"]["endpoint_url"]),
        Some(&owner),
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let set = answer["sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    // A SET presented as an access token is refused.
    let me = app
        .send(Method::GET, "/api/v1/users/me", Some(&set), "")
        .await;
    assert_eq!(me.status.as_u16(), 401);
    let _: Response = me;
}
