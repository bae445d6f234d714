#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{json, Value};
use warden_auth::JwtAuth;
use warden_domain::ports::{AuthVerifier, TokenIssuer};
use warden_domain::{AccountStatus, EmailAddress, Role, User, UserId};

const SECRET: &str = "an-hs256-test-secret-of-at-least-32-bytes";

fn auth_with(secret: &str) -> JwtAuth {
    JwtAuth::new(SecretString::from(secret), Duration::from_secs(900)).unwrap()
}

fn auth() -> JwtAuth {
    auth_with(SECRET)
}

fn user(token_version: i32) -> User {
    let now = Utc::now();
    User {
        id: UserId::generate(),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role: Role::User,
        status: AccountStatus::Active,
        token_version,
        created_at: now,
        updated_at: now,
    }
}

fn now() -> i64 {
    Utc::now().timestamp()
}

/// Claims as Warden issues them, for hand-made tokens.
fn claims() -> Value {
    json!({
        "sub": UserId::generate().to_string(),
        "ver": 3,
        "iat": now(),
        "exp": now() + 600,
        "iss": "warden",
        "aud": "warden",
    })
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::new(algorithm), claims, &key).unwrap()
}

fn without(claim: &str) -> Value {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove(claim);
    claims
}

fn with(claim: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[claim] = value;
    claims
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

async fn rejected(auth: &JwtAuth, token: &str) {
    let verdict = auth.verify(token).await;
    assert!(verdict.is_err(), "accepted {token}: {verdict:?}");
}

#[tokio::test]
async fn an_issued_token_verifies_to_its_subject_and_version() {
    let auth = auth();
    let user = user(7);
    let token = auth.issue(&user, Utc::now()).await.unwrap();
    assert_eq!(token.expires_in_seconds, 900);

    let claims = auth.verify(token.expose()).await.unwrap();
    assert_eq!(claims.subject, user.id);
    assert_eq!(claims.token_version, 7);
}

#[tokio::test]
async fn a_hand_made_token_with_warden_claims_verifies() {
    // Proves the helpers below build tokens that fail only for the reason each test gives.
    let claims = claims();
    let verified = auth()
        .verify(&sign(&claims, Algorithm::HS256, SECRET))
        .await
        .unwrap();
    assert_eq!(verified.subject.to_string(), claims["sub"]);
    assert_eq!(verified.token_version, 3);
    assert!(auth()
        .verify(&sign(
            &with("nbf", json!(now() - 60)),
            Algorithm::HS256,
            SECRET
        ))
        .await
        .is_ok());
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let auth = auth();
    let issued_long_ago = Utc::now() - TimeDelta::hours(2);
    let token = auth.issue(&user(0), issued_long_ago).await.unwrap();
    rejected(&auth, token.expose()).await;

    let just_expired = with("exp", json!(now() - 30));
    rejected(&auth, &sign(&just_expired, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected() {
    let other = auth_with("another-secret-that-is-also-32-bytes-long");
    let token = other.issue(&user(0), Utc::now()).await.unwrap();
    rejected(&auth(), token.expose()).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_rejected() {
    let auth = auth();
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64url(claims().to_string().as_bytes());
    rejected(&auth, &format!("{header}.{payload}.")).await;

    // Even carrying a genuine signature of the same payload.
    let genuine = sign(&claims(), Algorithm::HS256, SECRET);
    let (_, rest) = genuine.split_once('.').unwrap();
    rejected(&auth, &format!("{header}.{rest}")).await;
}

#[tokio::test]
async fn other_algorithms_are_rejected_even_with_the_same_secret() {
    let auth = auth();
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        rejected(&auth, &sign(&claims(), algorithm, SECRET)).await;
    }
    let genuine = sign(&claims(), Algorithm::HS256, SECRET);
    let (_, rest) = genuine.split_once('.').unwrap();
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "HS256 "] {
        let header = b64url(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
        rejected(&auth, &format!("{header}.{rest}")).await;
    }
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let auth = auth();
    let user = user(1);
    let token = auth.issue(&user, Utc::now()).await.unwrap();
    let parts: Vec<&str> = token.expose().split('.').collect();
    let forged = json!({
        "sub": user.id.to_string(), "ver": 2, "iat": now(), "exp": now() + 600,
        "iss": "warden", "aud": "warden",
    });
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url(forged.to_string().as_bytes()),
        parts[2]
    );
    rejected(&auth, &forged).await;
}

#[tokio::test]
async fn a_token_missing_a_required_claim_is_rejected() {
    let auth = auth();
    for claim in ["sub", "ver", "iat", "exp", "iss", "aud"] {
        rejected(&auth, &sign(&without(claim), Algorithm::HS256, SECRET)).await;
    }
}

#[tokio::test]
async fn a_foreign_audience_issuer_or_subject_is_rejected() {
    let auth = auth();
    for (claim, value) in [
        ("aud", json!("someone-else")),
        ("aud", json!(["someone-else"])),
        ("iss", json!("someone-else")),
        ("sub", json!("not-a-uuid")),
        ("ver", json!("3")),
        ("exp", json!("tomorrow")),
    ] {
        rejected(&auth, &sign(&with(claim, value), Algorithm::HS256, SECRET)).await;
    }
}

#[tokio::test]
async fn a_token_not_yet_valid_is_rejected() {
    let future = with("nbf", json!(now() + 3600));
    rejected(&auth(), &sign(&future, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_rejected() {
    let mut future = with("iat", json!(now() + 3600));
    future["exp"] = json!(now() + 7200);
    rejected(&auth(), &sign(&future, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn garbage_is_rejected() {
    let auth = auth();
    let genuine = auth.issue(&user(0), Utc::now()).await.unwrap();
    for garbage in [
        "",
        "abc",
        "a.b.c",
        "..",
        "Bearer x",
        &format!("{}x", genuine.expose()),
        &format!("{}.", genuine.expose()),
        &genuine.expose()[1..],
    ] {
        rejected(&auth, garbage).await;
    }
}

#[test]
fn weak_secrets_and_empty_lifetimes_are_refused_and_nothing_secret_prints() {
    let short = SecretString::from("x".repeat(31));
    assert!(JwtAuth::new(short, Duration::from_secs(60)).is_err());
    let ok = SecretString::from(SECRET);
    assert!(JwtAuth::new(ok, Duration::from_millis(500)).is_err());

    let debug = format!("{:?}", auth());
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("an-hs256"), "{debug}");
}

#[tokio::test]
async fn a_token_with_critical_header_extensions_is_rejected() {
    // Correctly signed with the right key and claims: only the `crit` header is wrong.
    let auth = auth();
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!(["x-unknown"]),
        json!([]),
    ] {
        let header = json!({"alg": "HS256", "typ": "JWT", "crit": crit, "b64": true});
        let message = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims().to_string().as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(SECRET.as_bytes()),
            Algorithm::HS256,
        )
        .unwrap();
        rejected(&auth, &format!("{message}.{signature}")).await;
    }
    // The same token without `crit` verifies, so the refusal is for `crit` alone.
    let header = json!({"alg": "HS256", "typ": "JWT", "b64": true});
    let message = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims().to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    assert!(auth.verify(&format!("{message}.{signature}")).await.is_ok());
}
