//! The SET key: RS256, 2048 bits, made once into a private file, kept across restarts, and its
//! signatures verify with the published public key only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use warden_auth::SetKey;

#[test]
fn the_key_is_made_once_private_and_its_sets_verify_with_the_published_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ssf-set-key.pem");
    let key = SetKey::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = SetKey::load_or_create(&path).unwrap();
    assert_eq!(again.kid(), key.kid(), "the same key after a restart");

    let jwk = serde_json::to_value(key.public_jwk()).unwrap();
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    let token = key
        .sign(&json!({"iss": "i", "aud": "a", "jti": "1"}))
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    assert_eq!(header.kid.as_deref(), Some(key.kid()));
    let public =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["a"]);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(&token, &public, &validation).unwrap();
    assert_eq!(claims.claims["jti"], "1");

    // Another key's signature does not verify.
    let other_dir = tempfile::tempdir().unwrap();
    let other = SetKey::load_or_create(&other_dir.path().join("k.pem")).unwrap();
    let forged = other.sign(&json!({"aud": "a"})).unwrap();
    assert!(jsonwebtoken::decode::<Value>(&forged, &public, &validation).is_err());
    // Debug shows the kid only.
    assert!(!format!("{key:?}").contains("PRIVATE"));
}

#[test]
fn a_key_file_open_to_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ssf-set-key.pem");
    SetKey::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(SetKey::load_or_create(&path).is_err());
}
