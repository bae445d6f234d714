//! EdDSA (Ed25519) tokens: signed with the newest key of the key file, verified by `kid` with
//! any key of it, published as a JWKS; configurable issuer and audience.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::SecretString;
use serde_json::{json, Value};
use warden_auth::{Ed25519Keys, JwtAuth, JwtSettings};
use warden_domain::ports::{AuthVerifier, TokenInspector, TokenIssuer};
use warden_domain::{AccountStatus, EmailAddress, Role, User, UserId};

fn user() -> User {
    let now = Utc::now();
    User {
        id: UserId::generate(),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role: Role::User,
        status: AccountStatus::Active,
        token_version: 2,
        created_at: now,
        updated_at: now,
    }
}

fn settings() -> JwtSettings {
    JwtSettings::with_ttl(Duration::from_secs(600))
}

fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn tokens_are_signed_with_the_newest_key_and_verified_by_kid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwt-ed25519.pem");
    let keys = Ed25519Keys::load_or_create(&path).unwrap();
    let auth = JwtAuth::ed25519(&keys, settings()).unwrap();
    let subject = user();
    let token = auth.issue(&subject, Utc::now()).await.unwrap();
    let head = header(token.expose());
    assert_eq!(head["alg"], "EdDSA");
    assert_eq!(head["kid"], keys.kids()[0].as_str());
    let claims = auth.verify(token.expose()).await.unwrap();
    assert_eq!((claims.subject, claims.token_version), (subject.id, 2));

    // The JWKS is enough for anyone to verify it offline.
    let jwks = serde_json::to_value(auth.jwks()).unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (
            jwk["kty"].clone(),
            jwk["crv"].clone(),
            jwk["alg"].clone(),
            jwk["use"].clone()
        ),
        (json!("OKP"), json!("Ed25519"), json!("EdDSA"), json!("sig"))
    );
    assert_eq!(jwk["kid"], head["kid"]);
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["warden"]);
    validation.set_issuer(&["warden"]);
    jsonwebtoken::decode::<Value>(token.expose(), &key, &validation).unwrap();

    // After a rotation the new key signs and the old token still verifies.
    Ed25519Keys::rotate(&path).unwrap();
    let rotated = Ed25519Keys::load(&path).unwrap();
    let auth = JwtAuth::ed25519(&rotated, settings()).unwrap();
    assert_eq!(auth.jwks().keys.len(), 2);
    auth.verify(token.expose()).await.unwrap();
    let newer = auth.issue(&subject, Utc::now()).await.unwrap();
    assert_eq!(header(newer.expose())["kid"], rotated.kids()[1].as_str());

    // A server that only knows the new key refuses the old token (unknown kid).
    let only_new = Ed25519Keys::parse_pem(&pem_of_last(&path)).unwrap();
    let auth = JwtAuth::ed25519(&only_new, settings()).unwrap();
    auth.verify(newer.expose()).await.unwrap();
    assert!(auth.verify(token.expose()).await.is_err());
}

/// The last PRIVATE KEY block of a key file.
fn pem_of_last(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.rfind("-----BEGIN").unwrap();
    text[start..].to_owned()
}

#[tokio::test]
async fn algorithms_keys_and_audiences_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Ed25519Keys::load_or_create(&dir.path().join("a.pem")).unwrap();
    let other = Ed25519Keys::load_or_create(&dir.path().join("b.pem")).unwrap();
    let eddsa = JwtAuth::ed25519(&keys, settings()).unwrap();
    let foreign = JwtAuth::ed25519(&other, settings()).unwrap();
    let secret = SecretString::from("an-hs256-test-secret-of-at-least-32-bytes");
    let hs256 = JwtAuth::new(secret, Duration::from_secs(600)).unwrap();
    let subject = user();
    let ed_token = eddsa.issue(&subject, Utc::now()).await.unwrap();
    let hs_token = hs256.issue(&subject, Utc::now()).await.unwrap();
    assert!(hs256.verify(ed_token.expose()).await.is_err());
    assert!(eddsa.verify(hs_token.expose()).await.is_err());
    assert!(foreign.verify(ed_token.expose()).await.is_err());
    assert_eq!(
        serde_json::to_value(hs256.jwks()).unwrap(),
        json!({"keys": []})
    );

    let mut elsewhere = settings();
    elsewhere.issuer = "https://id.example.com".into();
    elsewhere.audience = "billing".into();
    let custom = JwtAuth::ed25519(&keys, elsewhere).unwrap();
    let custom_token = custom.issue(&subject, Utc::now()).await.unwrap();
    let inspected = custom.inspect(custom_token.expose()).await.unwrap();
    assert_eq!(inspected.issuer, "https://id.example.com");
    assert_eq!(inspected.audience, "billing");
    assert_eq!(
        (inspected.expires_at - inspected.issued_at).num_seconds(),
        600
    );
    // Same key, other issuer and audience: refused both ways.
    assert!(eddsa.verify(custom_token.expose()).await.is_err());
    assert!(custom.verify(ed_token.expose()).await.is_err());
}
