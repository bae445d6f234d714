//! Token introspection (RFC 7662) for clients with the `introspect` scope, and the JWKS of
//! EdDSA tokens, with key rotation.

use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use warden::run::jwt_config::JwtAlgorithm;
use warden_domain::{Role, Scope};

use crate::clients::{client_token, introspect};
use crate::support::{spawn_app, spawn_app_configured, Response, TestApp, JWT_SECRET};

fn inactive() -> Value {
    json!({"active": false})
}

async fn jwks(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn header_of(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_token_is_described_and_every_other_is_only_inactive() {
    let app = spawn_app().await;
    let client = client_token(&app, "gateway", &[Scope::Introspect]).await;
    let (_, admin) = app.admin().await;
    let user = app.create_user(Role::User).await;
    let token = app.token_for(&user).await;

    let answer = introspect(&app, Some(&client), &token).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = &answer.body;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], user.id.to_string());
    assert_eq!(
        (body["iss"].clone(), body["aud"].clone()),
        (json!("warden"), json!("warden"))
    );
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["role"], "user");
    let (iat, exp) = (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert!((iat - chrono::Utc::now().timestamp()).abs() < 60);

    // Malformed, forged, expired: inactive, and nothing more.
    let now = chrono::Utc::now().timestamp();
    let claims = |secret: &str, iat: i64, exp: i64| {
        let claims = json!({"sub": user.id.to_string(), "ver": user.token_version, "iat": iat,
            "exp": exp, "iss": "warden", "aud": "warden"});
        let key = EncodingKey::from_secret(secret.as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    };
    let valid_by_hand = claims(JWT_SECRET, now - 10, now + 600);
    assert_eq!(
        introspect(&app, Some(&client), &valid_by_hand).await.body["active"],
        true
    );
    let expired = claims(JWT_SECRET, now - 7200, now - 3600);
    let forged = claims(
        "another-secret-0123456789abcdef0123456789",
        now - 10,
        now + 600,
    );
    for bad in [
        "garbage",
        "a.b.c",
        expired.as_str(),
        forged.as_str(),
        &client,
    ] {
        let answer = introspect(&app, Some(&client), bad).await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.clone()),
            (200, inactive()),
            "{bad}"
        );
    }

    // Deactivation revokes the token: inactive at once, and still after reactivation.
    app.deactivate(&admin, &user, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    assert_eq!(
        introspect(&app, Some(&client), &token).await.body,
        inactive()
    );
    let body = json!({"user_id": user.id.to_string()});
    app.patch_json("/api/v1/users/reactivate", Some(&admin), &body)
        .await;
    assert_eq!(
        introspect(&app, Some(&client), &token).await.body,
        inactive()
    );
    let fresh = app.token_for(&user).await;
    assert_eq!(
        introspect(&app, Some(&client), &fresh).await.body["active"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_needs_a_live_client_with_the_introspect_scope() {
    let app = spawn_app().await;
    let (_, admin) = app.admin().await;
    let scim = client_token(&app, "provisioner", &[Scope::Scim]).await;
    let unknown = format!("wdn_{}", "A".repeat(43));
    for client in [
        None,
        Some("garbage"),
        Some(unknown.as_str()),
        Some(admin.as_str()),
    ] {
        let refused = introspect(&app, client, &admin).await;
        assert_eq!(refused.status, 401, "{client:?}");
        assert_eq!(refused.body, json!({"error": "invalid_client"}));
        assert_eq!(
            refused.headers["www-authenticate"],
            "Bearer realm=\"warden\""
        );
    }
    let refused = introspect(&app, Some(&scim), &admin).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, json!({"error": "insufficient_scope"}));
    assert_eq!(
        refused.headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"introspect\""
    );

    // A request without a token to introspect.
    let client = client_token(&app, "gateway", &[Scope::Introspect]).await;
    for body in ["", "token=", "something=else", "token=a&token=b"] {
        let response = app
            .client
            .post(app.url("/oauth2/introspect"))
            .bearer_auth(&client)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let response = Response::read(response).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.body, json!({"error": "invalid_request"}));
    }
}

/// The access-token keys of the JWKS: every key but the SET key (RS256, see ssf.rs).
fn access_keys(jwks: &Value) -> Vec<Value> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] != "RS256")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_publishes_no_key() {
    let app = spawn_app().await;
    let jwks = jwks(&app).await;
    assert_eq!(access_keys(&jwks), Vec::<Value>::new());
    // Only the key that signs Security Event Tokens.
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_tokens_verify_offline_and_survive_a_key_rotation() {
    let app =
        spawn_app_configured(|config| config.jwt.algorithm = JwtAlgorithm::EdDsa, |p| p).await;
    let key_file = app.data_dir.path().join("jwt-ed25519.pem");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let (admin, old_token) = app.admin().await;
    let header = header_of(&old_token);
    assert_eq!(header["alg"], "EdDSA");
    let keys = access_keys(&jwks(&app).await);
    let jwk = &keys[0];
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (
            jwk["kty"].clone(),
            jwk["crv"].clone(),
            jwk["alg"].clone(),
            jwk["use"].clone()
        ),
        (json!("OKP"), json!("Ed25519"), json!("EdDSA"), json!("sig"))
    );
    assert_eq!(jwk["kid"], header["kid"]);
    // Anyone with the JWKS verifies the token offline.
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["warden"]);
    validation.set_issuer(&["warden"]);
    let claims = jsonwebtoken::decode::<Value>(&old_token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], admin.id.to_string());
    let client = client_token(&app, "gateway", &[Scope::Introspect]).await;
    assert_eq!(
        introspect(&app, Some(&client), &old_token).await.body["active"],
        true
    );

    // `warden keys rotate` adds a key; a server started afterwards signs with it and still
    // honours the tokens of the older key.
    let database_url = secrecy::ExposeSecret::expose_secret(&app.config.database_url).to_owned();
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["keys", "rotate"])
        .env_clear()
        .env("DATABASE_URL", &database_url)
        .env("WARDEN_DATA_DIR", app.data_dir.path())
        .env("JWT_ALGORITHM", "EdDSA")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new_kid = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert_ne!(new_kid, header["kid"].as_str().unwrap());

    let rotated = warden::Application::build(app.config.clone())
        .await
        .unwrap();
    let services = rotated.services().clone();
    let base = format!("http://127.0.0.1:{}", rotated.port());
    tokio::spawn(rotated.run_until_stopped());
    let keys: Value = app
        .client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = access_keys(&keys);
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [header["kid"].as_str().unwrap(), new_kid.as_str()]);
    let me = app
        .client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let new_token = services
        .issue_token
        .for_email(
            &warden_domain::Operator::from_os_user("test"),
            admin.email.as_str(),
        )
        .await
        .unwrap();
    assert_eq!(header_of(new_token.expose())["kid"], new_kid.as_str());
    let answer = app
        .client
        .post(format!("{base}/oauth2/introspect"))
        .bearer_auth(&client)
        .form(&[("token", old_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(Response::read(answer).await.body["active"], true);
    // The first server, which does not know the new key, refuses its tokens.
    assert_eq!(
        introspect(&app, Some(&client), new_token.expose())
            .await
            .body,
        inactive()
    );
}
