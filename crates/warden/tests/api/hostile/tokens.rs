//! Forged and broken JWTs built by hand, and `Authorization` headers that are no credential.

use super::*;

// ---------------------------------------------------------------------------------------------
// Forged and broken JWTs, built by hand.

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.signature`, signed with `key` under `alg`, whatever the header says.
pub(crate) fn signed(header: &Value, claims: &Value, alg: Algorithm, key: &[u8]) -> String {
    sign_parts(&b64(header.to_string()), &b64(claims.to_string()), alg, key)
}

/// Already encoded parts, signed with `key` under `alg`.
pub(crate) fn sign_parts(header: &str, payload: &str, alg: Algorithm, key: &[u8]) -> String {
    let message = format!("{header}.{payload}");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(key), alg)
            .unwrap();
    format!("{message}.{signature}")
}

pub(crate) fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims Warden itself would issue for `user` now.
pub(crate) fn claims_for(user: &User) -> Value {
    json!({
        "sub": user.id.to_string(), "ver": user.token_version,
        "iat": now(), "exp": now() + 600, "iss": "warden", "aud": "warden",
    })
}

pub(crate) fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

pub(crate) fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

/// Every bearer token that must be refused, for an admin caller (so acceptance would matter).
pub(crate) fn forged_tokens(w: &World) -> Vec<(String, String)> {
    let key = JWT_SECRET.as_bytes();
    let admin = claims_for(&w.admin);
    let ours = |claims: &Value| signed(&hs256(), claims, Algorithm::HS256, key);
    let valid = ours(&admin);
    let parts: Vec<&str> = valid.split('.').collect();
    let member_parts: Vec<String> = w.member_token.split('.').map(str::to_owned).collect();
    let mut flipped_signature = parts[2].to_owned();
    let first = if flipped_signature.starts_with('A') {
        "B"
    } else {
        "A"
    };
    flipped_signature.replace_range(0..1, first);

    let tokens: Vec<(&str, String)> = vec![
        (
            "alg none, no signature",
            format!(
                "{}.{}.",
                b64(json!({"alg": "none", "typ": "JWT"}).to_string()),
                parts[1]
            ),
        ),
        (
            "alg none, signature kept",
            format!(
                "{}.{}.{}",
                b64(json!({"alg": "none"}).to_string()),
                parts[1],
                parts[2]
            ),
        ),
        (
            "alg NONE",
            format!("{}.{}.", b64(r#"{"alg":"NONE"}"#), parts[1]),
        ),
        (
            "HS384 with the right key",
            signed(&json!({"alg": "HS384"}), &admin, Algorithm::HS384, key),
        ),
        (
            "HS512 with the right key",
            signed(&json!({"alg": "HS512"}), &admin, Algorithm::HS512, key),
        ),
        (
            "RS256 header over an HMAC signature",
            signed(&json!({"alg": "RS256"}), &admin, Algorithm::HS256, key),
        ),
        (
            "HS256 header over an HS512 signature",
            signed(&hs256(), &admin, Algorithm::HS512, key),
        ),
        (
            "the wrong key",
            signed(
                &hs256(),
                &admin,
                Algorithm::HS256,
                b"another-secret-0123456789abcdef0123456789",
            ),
        ),
        (
            "an empty key",
            signed(&hs256(), &admin, Algorithm::HS256, b""),
        ),
        (
            "a member's token with the payload swapped for the admin's",
            format!("{}.{}.{}", member_parts[0], parts[1], member_parts[2]),
        ),
        (
            "a tampered signature",
            format!("{}.{}.{}", parts[0], parts[1], flipped_signature),
        ),
        ("no signature", format!("{}.{}.", parts[0], parts[1])),
        (
            "expired an hour ago",
            ours(&with(
                with(admin.clone(), "iat", json!(now() - 7200)),
                "exp",
                json!(now() - 3600),
            )),
        ),
        (
            "not valid for another hour",
            ours(&with(admin.clone(), "nbf", json!(now() + 3600))),
        ),
        (
            "issued an hour from now",
            ours(&with(
                with(admin.clone(), "iat", json!(now() + 3600)),
                "exp",
                json!(now() + 7200),
            )),
        ),
        (
            "a critical header extension (crit)",
            signed(
                &json!({"alg": "HS256", "typ": "JWT", "crit": ["b64"], "b64": true}),
                &admin,
                Algorithm::HS256,
                key,
            ),
        ),
        ("no exp", ours(&without(admin.clone(), "exp"))),
        ("no sub", ours(&without(admin.clone(), "sub"))),
        ("no iat", ours(&without(admin.clone(), "iat"))),
        ("no ver", ours(&without(admin.clone(), "ver"))),
        ("no iss", ours(&without(admin.clone(), "iss"))),
        ("no aud", ours(&without(admin.clone(), "aud"))),
        ("no claims at all", ours(&json!({}))),
        (
            "claims an array",
            sign_parts(&b64(hs256().to_string()), &b64("[]"), Algorithm::HS256, key),
        ),
        (
            "another issuer",
            ours(&with(admin.clone(), "iss", json!("evil"))),
        ),
        (
            "another audience",
            ours(&with(admin.clone(), "aud", json!("someone-else"))),
        ),
        (
            "a subject that is not a UUID",
            ours(&with(admin.clone(), "sub", json!("admin"))),
        ),
        (
            "a subject with SQL",
            ours(&with(admin.clone(), "sub", json!("' OR '1'='1"))),
        ),
        (
            "a user id that does not exist",
            ours(&with(
                admin.clone(),
                "sub",
                json!(UserId::generate().to_string()),
            )),
        ),
        (
            "a stale token version",
            ours(&with(
                admin.clone(),
                "ver",
                json!(w.admin.token_version + 1),
            )),
        ),
        (
            "exp as a string",
            ours(&with(
                admin.clone(),
                "exp",
                json!((now() + 600).to_string()),
            )),
        ),
        (
            "ver as a string",
            ours(&with(
                admin.clone(),
                "ver",
                json!(w.admin.token_version.to_string()),
            )),
        ),
        ("a deactivated user's old token", w.gone_token.clone()),
        (
            "a fresh token for a deactivated user",
            ours(&claims_for(&w.gone)),
        ),
        (
            "header not JSON",
            format!("{}.{}.{}", b64("not json"), parts[1], parts[2]),
        ),
        ("not base64", format!("%%%.{}.{}", parts[1], parts[2])),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("four segments", format!("{valid}.{}", parts[2])),
        ("not a JWT", "not.a.jwt".to_owned()),
        ("three dots", "...".to_owned()),
        ("8 KiB of junk", "a".repeat(8 * 1024)),
        ("SQL", "'OR'1'='1'--".to_owned()),
    ];
    tokens
        .into_iter()
        .map(|(name, token)| (name.to_owned(), token))
        .collect()
}

/// `Authorization` headers (zero, one or two values) that are no credential at all, though most
/// carry the admin's valid token.
pub(crate) fn malformed_headers(w: &World) -> Vec<(String, Vec<Vec<u8>>)> {
    let t = &w.admin_token;
    let one = |value: String| vec![value.into_bytes()];
    vec![
        ("no Authorization".into(), vec![]),
        ("an empty Authorization".into(), one(String::new())),
        ("Bearer with no token".into(), one("Bearer".into())),
        ("Bearer and spaces".into(), one("Bearer    ".into())),
        ("no scheme".into(), one(t.clone())),
        ("Basic".into(), one("Basic YWRtaW46YWRtaW4=".into())),
        ("Basic with the token".into(), one(format!("Basic {t}"))),
        ("scheme Token".into(), one(format!("Token {t}"))),
        ("scheme JWT".into(), one(format!("JWT {t}"))),
        ("two tokens".into(), one(format!("Bearer {t} {t}"))),
        (
            "two comma-joined".into(),
            one(format!("Bearer {t}, Bearer {t}")),
        ),
        ("a tab after Bearer".into(), one(format!("Bearer\t{t}"))),
        (
            "Bearer glued to the token".into(),
            one(format!("Bearer{t}")),
        ),
        (
            "two Authorization headers".into(),
            vec![
                format!("Bearer {t}").into_bytes(),
                format!("Bearer {t}").into_bytes(),
            ],
        ),
        (
            "non-ASCII bytes".into(),
            vec![b"Bearer \xff\xfe\xfd".to_vec()],
        ),
    ]
}
