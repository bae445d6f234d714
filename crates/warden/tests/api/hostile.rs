//! Hostile input, table-driven, over real HTTP against every API route: malformed, truncated,
//! mistyped and oversized bodies, invalid UTF-8, odd `Content-Type`s and framings, duplicate
//! keys, SQL and HTML in fields, malformed `Authorization` headers and forged, expired or
//! revoked JWTs. Each row names the exact status and message it must get. Every answer must be
//! the four-key envelope (`status_code` equal to the HTTP status) with a well-formed
//! `x-request-id`, never a 5xx, and no row may change anything in the database.

use std::fmt::Write as _;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_domain::{Role, User, UserId};

use crate::support::{spawn_app, TestApp, JWT_SECRET, PASSWORD};

const LOGIN: &str = "/api/v1/auth/login";
const ME: &str = "/api/v1/users/me";
const DEACTIVATE: &str = "/api/v1/users/deactivate";
const REACTIVATE: &str = "/api/v1/users/reactivate";

const ADMIN_401: &str = "Could not validate admin credentials";
const USER_401: &str = "Could not validate credentials";
const FORBIDDEN: &str = "You do not have permission to access this resource";
const NOT_FOUND: &str = "User not found";
const INVALID: &str = "Invalid input";
const TOO_LARGE: &str = "Request body is too large";
const BAD_LOGIN: &str = "Invalid email or password";
const NO_ROUTE: &str = "Route not found";
const NO_METHOD: &str = "Method not allowed";

const MIB: usize = 1 << 20;
/// The documented body limit (`docs/api.md`): larger bodies are a 413.
const LIMIT: usize = 16 * 1024;

/// How a row's body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// With `Content-Length` (reqwest).
    Sized,
    /// `Transfer-Encoding: chunked`, so only the streamed size can trip the limit (raw TCP).
    Chunked,
    /// Declares this `Content-Length` and sends no body at all (raw TCP).
    DeclaredOnly(usize),
}

/// One hostile request and exactly what it must get.
#[derive(Debug)]
struct Row {
    name: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    framing: Framing,
    status: u16,
    message: &'static str,
    /// For a 422: the fields `data.errors` must list, in order.
    fields: Vec<&'static str>,
}

fn row(name: impl Into<String>, method: Method, path: impl Into<String>) -> Row {
    Row {
        name: name.into(),
        method,
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
        framing: Framing::Sized,
        status: 0,
        message: "",
        fields: Vec::new(),
    }
}

impl Row {
    fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }

    /// One `Authorization` header per call, so two calls send two headers.
    fn auth(self, value: impl AsRef<[u8]>) -> Self {
        self.header("authorization", value)
    }

    fn bearer(self, token: &str) -> Self {
        self.auth(format!("Bearer {token}"))
    }

    /// `body` with `Content-Type: application/json`.
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").raw(body)
    }

    /// `body` as it is, with no `Content-Type` added.
    fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    fn expect(mut self, status: u16, message: &'static str) -> Self {
        self.status = status;
        self.message = message;
        self
    }

    /// A 422 `Invalid input` listing exactly `fields`.
    fn invalid(self, fields: &[&'static str]) -> Self {
        let mut row = self.expect(422, INVALID);
        row.fields = fields.to_vec();
        row
    }
}

/// The accounts the rows aim at. None of them may change.
struct World {
    app: TestApp,
    admin: User,
    admin_token: String,
    member: User,
    member_token: String,
    /// An active user every deactivation row aims at.
    target: User,
    /// A deactivated user every reactivation row aims at.
    gone: User,
    /// A token `gone` held before it was deactivated.
    gone_token: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let (admin, admin_token) = app.admin().await;
    let member = app.create_user(Role::User).await;
    let member_token = app.token_for(&member).await;
    let target = app.create_user(Role::User).await;
    let gone = app.create_user(Role::User).await;
    let gone_token = app.token_for(&gone).await;
    app.deactivate(&admin_token, &gone, Some("set-up"))
        .await
        .assert_envelope(200, "User account deactivated successfully");
    // The set-up's own email; none of the rows may add another.
    app.emails(1).await;
    World {
        app,
        admin,
        admin_token,
        member,
        member_token,
        target,
        gone,
        gone_token,
    }
}

/// What the database holds about the accounts: their rows and how many events each has.
async fn snapshot(w: &World) -> Vec<(User, usize)> {
    let mut state = Vec::new();
    for user in [&w.admin, &w.member, &w.target, &w.gone] {
        let stored = w.app.user(user).await;
        let events = w.app.users.events(&user.id, None, 100).await.unwrap().len();
        state.push((stored, events));
    }
    state
}

// ---------------------------------------------------------------------------------------------
// Forged and broken JWTs, built by hand.

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.signature`, signed with `key` under `alg`, whatever the header says.
fn signed(header: &Value, claims: &Value, alg: Algorithm, key: &[u8]) -> String {
    sign_parts(&b64(header.to_string()), &b64(claims.to_string()), alg, key)
}

/// Already encoded parts, signed with `key` under `alg`.
fn sign_parts(header: &str, payload: &str, alg: Algorithm, key: &[u8]) -> String {
    let message = format!("{header}.{payload}");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(key), alg)
            .unwrap();
    format!("{message}.{signature}")
}

fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims Warden itself would issue for `user` now.
fn claims_for(user: &User) -> Value {
    json!({
        "sub": user.id.to_string(), "ver": user.token_version,
        "iat": now(), "exp": now() + 600, "iss": "warden", "aud": "warden",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

/// Every bearer token that must be refused, for an admin caller (so acceptance would matter).
fn forged_tokens(w: &World) -> Vec<(String, String)> {
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
fn malformed_headers(w: &World) -> Vec<(String, Vec<Vec<u8>>)> {
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

// ---------------------------------------------------------------------------------------------
// The table.

struct Protected {
    method: Method,
    path: String,
    /// A body that would change something were the credential accepted.
    body: Option<Value>,
    unauthenticated: &'static str,
}

fn protected_routes(w: &World) -> Vec<Protected> {
    vec![
        Protected {
            method: Method::GET,
            path: ME.into(),
            body: None,
            unauthenticated: USER_401,
        },
        Protected {
            method: Method::PATCH,
            path: DEACTIVATE.into(),
            body: Some(json!({"user_id": w.target.id.to_string(), "reason": "forged"})),
            unauthenticated: ADMIN_401,
        },
        Protected {
            method: Method::PATCH,
            path: REACTIVATE.into(),
            body: Some(json!({"user_id": w.gone.id.to_string()})),
            unauthenticated: ADMIN_401,
        },
        Protected {
            method: Method::GET,
            path: format!("/api/v1/users/{}", w.target.id),
            body: None,
            unauthenticated: ADMIN_401,
        },
        Protected {
            method: Method::GET,
            path: format!("/api/v1/users/{}/events", w.target.id),
            body: None,
            unauthenticated: ADMIN_401,
        },
    ]
}

/// Every credential that is not one, on every protected route: 401, whatever the body.
fn credential_rows(w: &World) -> Vec<Row> {
    let mut rows = Vec::new();
    for route in protected_routes(w) {
        let base = |name: String| {
            let mut row = row(
                format!("{} {}: {name}", route.method, route.path),
                route.method.clone(),
                route.path.clone(),
            )
            .expect(401, route.unauthenticated);
            if let Some(body) = &route.body {
                row = row.json(body.to_string());
            }
            row
        };
        for (name, values) in malformed_headers(w) {
            let mut row = base(name);
            for value in values {
                row = row.auth(value);
            }
            rows.push(row);
        }
        for (name, token) in forged_tokens(w) {
            rows.push(base(format!("a JWT with {name}")).bearer(&token));
        }
    }
    rows
}

/// Authentication comes before the body: no credential is a 401 and a member's token a 403,
/// whatever the body (too large, streamed, broken, not UTF-8).
fn auth_before_body_rows(w: &World) -> Vec<Row> {
    let mut rows = Vec::new();
    let bodies: Vec<(&str, Vec<u8>, Framing)> = vec![
        ("1 MiB", vec![b'x'; MIB], Framing::Sized),
        ("1 MiB chunked", vec![b'{'; MIB], Framing::Chunked),
        (
            "1 MiB declared, none sent",
            vec![],
            Framing::DeclaredOnly(MIB),
        ),
        (
            "truncated JSON",
            b"{\"user_id\": \"".to_vec(),
            Framing::Sized,
        ),
        ("invalid UTF-8", b"\xff\xfe\xfd".to_vec(), Framing::Sized),
    ];
    for path in [DEACTIVATE, REACTIVATE] {
        for (name, body, framing) in &bodies {
            rows.push(
                row(
                    format!("PATCH {path}: no credential, {name}"),
                    Method::PATCH,
                    path,
                )
                .json(body.clone())
                .framing(*framing)
                .expect(401, ADMIN_401),
            );
            rows.push(
                row(
                    format!("PATCH {path}: a member, {name}"),
                    Method::PATCH,
                    path,
                )
                .bearer(&w.member_token)
                .json(body.clone())
                .framing(*framing)
                .expect(403, FORBIDDEN),
            );
        }
    }
    rows.push(
        row(
            "GET /users/{id}: a member, a garbage id",
            Method::GET,
            "/api/v1/users/'%20OR%201=1--",
        )
        .bearer(&w.member_token)
        .expect(403, FORBIDDEN),
    );
    rows.push(
        row(
            "GET /users/{id}/events: a member, a bad limit",
            Method::GET,
            format!("/api/v1/users/{}/events?limit=0", w.target.id),
        )
        .bearer(&w.member_token)
        .expect(403, FORBIDDEN),
    );
    rows
}

/// Bodies of a status change, with a valid admin token. `aim` is the account an accepted body
/// would change; it must not.
fn status_change_rows(w: &World, path: &'static str, aim: &User) -> Vec<Row> {
    let aim = aim.id.to_string();
    let unknown = UserId::generate().to_string();
    let admin = |name: &str| {
        row(format!("PATCH {path}: {name}"), Method::PATCH, path).bearer(&w.admin_token)
    };
    let nested = format!(
        "{{\"user_id\": {}\"{aim}\"{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let padded = |size: usize| {
        let skeleton = json!({"user_id": unknown, "padding": ""}).to_string();
        json!({"user_id": unknown, "padding": "p".repeat(size - skeleton.len())}).to_string()
    };
    vec![
        // Not JSON, or not an object.
        admin("an empty body").json("").invalid(&["body"]),
        admin("truncated JSON")
            .json(format!("{{\"user_id\": \"{aim}"))
            .invalid(&["body"]),
        admin("truncated after the key")
            .json("{\"user_id\":")
            .invalid(&["body"]),
        admin("an unclosed object")
            .json(format!("{{\"user_id\": \"{aim}\""))
            .invalid(&["body"]),
        admin("trailing garbage")
            .json(format!("{{\"user_id\": \"{aim}\"}} trailing"))
            .invalid(&["body"]),
        admin("two objects")
            .json(format!("{{\"user_id\": \"{aim}\"}}{{}}"))
            .invalid(&["body"]),
        admin("single quotes")
            .json(format!("{{'user_id': '{aim}'}}"))
            .invalid(&["body"]),
        admin("a comment")
            .json(format!("{{\"user_id\": \"{aim}\" /* hi */}}"))
            .invalid(&["body"]),
        admin("null").json("null").invalid(&["body"]),
        admin("a NUL in the reason")
            .json(json!({"user_id": aim, "reason": "a\u{0}b"}).to_string())
            .invalid(&["reason"]),
        admin("a terminal escape in the reason")
            .json(json!({"user_id": aim, "reason": "\u{1b}[2J"}).to_string())
            .invalid(&["reason"]),
        admin("a right-to-left override in the reason")
            .json(json!({"user_id": aim, "reason": "refund \u{202E}fdp.exe"}).to_string())
            .invalid(&["reason"]),
        admin("a zero-width space in the reason")
            .json(json!({"user_id": aim, "reason": "spam\u{200B}"}).to_string())
            .invalid(&["reason"]),
        admin("an array")
            .json(json!([{ "user_id": aim }]).to_string())
            .invalid(&["body"]),
        admin("a number").json("42").invalid(&["body"]),
        admin("a string")
            .json(format!("\"{aim}\""))
            .invalid(&["body"]),
        admin("true").json("true").invalid(&["body"]),
        admin("invalid UTF-8 in a string")
            .json(b"{\"user_id\": \"\xff\xfe\"}".to_vec())
            .invalid(&["body"]),
        admin("invalid UTF-8 around the object")
            .json([b"\xc3\x28".as_slice(), json!({"user_id": aim}).to_string().as_bytes()].concat())
            .invalid(&["body"]),
        admin("a UTF-8 byte order mark")
            .json([b"\xef\xbb\xbf".as_slice(), json!({"user_id": aim}).to_string().as_bytes()].concat())
            .invalid(&["body"]),
        admin("UTF-16")
            .json(
                json!({"user_id": aim})
                    .to_string()
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<u8>>(),
            )
            .invalid(&["body"]),
        admin("a lone surrogate escape")
            .json(r#"{"user_id": "\ud800"}"#)
            .invalid(&["body"]),
        admin("5,000 levels of nesting")
            .json(nested)
            .invalid(&["body"]),
        // JSON objects with bad fields.
        admin("no user_id").json("{}").invalid(&["user_id"]),
        admin("user_id null")
            .json(r#"{"user_id": null}"#)
            .invalid(&["user_id"]),
        admin("user_id empty")
            .json(r#"{"user_id": ""}"#)
            .invalid(&["user_id"]),
        admin("user_id blank")
            .json(r#"{"user_id": " \t\n "}"#)
            .invalid(&["user_id"]),
        admin("user_id a number")
            .json(r#"{"user_id": 12345}"#)
            .invalid(&["user_id"]),
        admin("user_id a boolean")
            .json(r#"{"user_id": true}"#)
            .invalid(&["user_id"]),
        admin("user_id an array holding the id")
            .json(json!({ "user_id": [aim] }).to_string())
            .invalid(&["user_id"]),
        admin("user_id an object holding the id")
            .json(json!({"user_id": {"id": aim}}).to_string())
            .invalid(&["user_id"]),
        admin("reason a number")
            .json(json!({"user_id": aim, "reason": 7}).to_string())
            .invalid(&["reason"]),
        admin("reason an array")
            .json(json!({"user_id": aim, "reason": ["spam"]}).to_string())
            .invalid(&["reason"]),
        admin("reason an object")
            .json(json!({"user_id": aim, "reason": {}}).to_string())
            .invalid(&["reason"]),
        admin("reason of 501 characters")
            .json(json!({"user_id": aim, "reason": "r".repeat(501)}).to_string())
            .invalid(&["reason"]),
        admin("reason of 501 two-byte characters")
            .json(json!({"user_id": aim, "reason": "é".repeat(501)}).to_string())
            .invalid(&["reason"]),
        admin("every field wrong")
            .json(r#"{"user_id": 1, "reason": false}"#)
            .invalid(&["user_id", "reason"]),
        // Well-formed, aimed at nobody.
        admin("reason of 500 two-byte characters, unknown user")
            .json(json!({"user_id": unknown, "reason": "é".repeat(500)}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id not a UUID")
            .json(r#"{"user_id": "12345"}"#)
            .expect(404, NOT_FOUND),
        admin("user_id SQL")
            .json(json!({"user_id": "' OR '1'='1'; DROP TABLE users; --"}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id SQL after the real id")
            .json(json!({"user_id": format!("{aim}' OR '1'='1")}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id HTML")
            .json(json!({"user_id": "<script>alert(1)</script>"}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id of 15 KiB")
            .json(json!({"user_id": "x".repeat(15 * 1024)}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id with a NUL")
            .json(json!({"user_id": format!("{aim}\u{0}")}).to_string())
            .expect(404, NOT_FOUND),
        admin("user_id the nil UUID")
            .json(json!({"user_id": uuid::Uuid::nil().to_string()}).to_string())
            .expect(404, NOT_FOUND),
        admin("SQL and HTML in the reason, unknown user")
            .json(
                json!({"user_id": unknown,
                       "reason": "<img src=x onerror=alert(1)>'); DROP TABLE users; --"})
                .to_string(),
            )
            .expect(404, NOT_FOUND),
        admin("duplicate user_id keys, the last unknown")
            .json(format!(
                "{{\"user_id\": \"{aim}\", \"user_id\": \"{unknown}\"}}"
            ))
            .expect(404, NOT_FOUND),
        admin("extra fields")
            .json(
                json!({"user_id": unknown, "role": "admin", "is_active": false,
                       "token_version": 0})
                .to_string(),
            )
            .expect(404, NOT_FOUND),
        // Content-Type and framing.
        admin("no Content-Type")
            .raw(json!({ "user_id": unknown }).to_string())
            .expect(404, NOT_FOUND),
        admin("Content-Type text/plain")
            .header("content-type", "text/plain")
            .raw(json!({ "user_id": unknown }).to_string())
            .expect(404, NOT_FOUND),
        admin("Content-Type garbage")
            .header("content-type", "\u{1f4a9}/;;;=")
            .raw(json!({ "user_id": unknown }).to_string())
            .expect(404, NOT_FOUND),
        admin("a form-encoded body")
            .header("content-type", "application/x-www-form-urlencoded")
            .raw(format!("user_id={aim}"))
            .invalid(&["body"]),
        admin("a multipart body")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .raw(format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n{aim}\r\n--XyZ--\r\n"
            ))
            .invalid(&["body"]),
        admin("an XML body")
            .header("content-type", "application/xml")
            .raw(format!("<user_id>{aim}</user_id>"))
            .invalid(&["body"]),
        admin("a small chunked body")
            .json(json!({ "user_id": unknown }).to_string())
            .framing(Framing::Chunked)
            .expect(404, NOT_FOUND),
        admin("a body of exactly the limit")
            .json(padded(LIMIT))
            .expect(404, NOT_FOUND),
        admin("a body one byte over the limit")
            .json(padded(LIMIT + 1))
            .expect(413, TOO_LARGE),
        admin("1 MiB of JSON")
            .json(json!({"user_id": aim, "padding": "p".repeat(MIB)}).to_string())
            .expect(413, TOO_LARGE),
        admin("1 MiB of invalid UTF-8")
            .json(vec![0xff; MIB])
            .expect(413, TOO_LARGE),
        admin("1 MiB chunked")
            .json(json!({"user_id": aim, "padding": "p".repeat(MIB)}).to_string())
            .framing(Framing::Chunked)
            .expect(413, TOO_LARGE),
        admin("1 MiB declared, none sent")
            .json(Vec::new())
            .framing(Framing::DeclaredOnly(MIB))
            .expect(413, TOO_LARGE),
    ]
}

fn rule_rows(w: &World) -> Vec<Row> {
    let admin = |name: &str, path: &'static str, user: &User| {
        row(format!("PATCH {path}: {name}"), Method::PATCH, path)
            .bearer(&w.admin_token)
            .json(json!({ "user_id": user.id.to_string() }).to_string())
    };
    vec![
        admin("deactivate oneself", DEACTIVATE, &w.admin)
            .expect(400, "You cannot deactivate your own account"),
        admin("an already deactivated user", DEACTIVATE, &w.gone)
            .expect(400, "User is already deactivated"),
        admin("an already active user", REACTIVATE, &w.target)
            .expect(400, "User is already active"),
    ]
}

/// Sign-in bodies. Few rows reach the password check, each with its own email where it can,
/// so that none of them is throttled.
fn login_rows(w: &World) -> Vec<Row> {
    let login = |name: &str| row(format!("POST {LOGIN}: {name}"), Method::POST, LOGIN);
    let target = w.target.email.to_string();
    let gone = w.gone.email.to_string();
    vec![
        login("an empty body").json("").invalid(&["body"]),
        login("truncated JSON")
            .json(format!(
                "{{\"email\": \"{target}\", \"password\": \"{PASSWORD}"
            ))
            .invalid(&["body"]),
        login("null").json("null").invalid(&["body"]),
        login("an array")
            .json(json!([target, PASSWORD]).to_string())
            .invalid(&["body"]),
        login("a number").json("1e999").invalid(&["body"]),
        login("invalid UTF-8")
            .json(b"{\"email\": \"\xff@example.com\", \"password\": \"x\"}".to_vec())
            .invalid(&["body"]),
        login("10,000 levels of nesting")
            .json("[".repeat(10_000))
            .invalid(&["body"]),
        login("a form-encoded body")
            .header("content-type", "application/x-www-form-urlencoded")
            .raw(format!("email={target}&password={PASSWORD}"))
            .invalid(&["body"]),
        login("no fields")
            .json("{}")
            .invalid(&["email", "password"]),
        login("nulls")
            .json(r#"{"email": null, "password": null}"#)
            .invalid(&["email", "password"]),
        login("wrong types")
            .json(r#"{"email": 1, "password": true}"#)
            .invalid(&["email", "password"]),
        login("arrays")
            .json(json!({"email": [target], "password": [PASSWORD]}).to_string())
            .invalid(&["email", "password"]),
        login("empty strings")
            .json(r#"{"email": "", "password": ""}"#)
            .invalid(&["email", "password"]),
        login("no password")
            .json(json!({ "email": target }).to_string())
            .invalid(&["password"]),
        login("a blank password")
            .json(json!({"email": target, "password": "   "}).to_string())
            .invalid(&["password"]),
        login("a body one byte over the limit")
            .json({
                let skeleton = json!({"email": target, "password": PASSWORD, "p": ""});
                let pad = LIMIT + 1 - skeleton.to_string().len();
                json!({"email": target, "password": PASSWORD, "p": "p".repeat(pad)}).to_string()
            })
            .expect(413, TOO_LARGE),
        login("1 MiB").json(vec![b' '; MIB]).expect(413, TOO_LARGE),
        login("1 MiB chunked")
            .json(vec![b'['; MIB])
            .framing(Framing::Chunked)
            .expect(413, TOO_LARGE),
        login("1 MiB declared, none sent")
            .json(Vec::new())
            .framing(Framing::DeclaredOnly(MIB))
            .expect(413, TOO_LARGE),
        // These reach the password check (each one failed sign-in).
        login("SQL in the password")
            .json(json!({"email": target, "password": "' OR '1'='1"}).to_string())
            .expect(401, BAD_LOGIN),
        login("SQL in the email")
            .json(json!({"email": "' OR '1'='1' --", "password": "x"}).to_string())
            .expect(401, BAD_LOGIN),
        login("HTML in the email")
            .json(
                json!({"email": "<script>alert(1)</script>@example.com", "password": "x"})
                    .to_string(),
            )
            .expect(401, BAD_LOGIN),
        login("a NUL in the email")
            .json(json!({"email": format!("{target}\u{0}"), "password": PASSWORD}).to_string())
            .expect(401, BAD_LOGIN),
        login("an email of 15 KiB")
            .json(
                json!({"email": format!("{}@example.com", "a".repeat(15 * 1024)), "password": "x"})
                    .to_string(),
            )
            .expect(401, BAD_LOGIN),
        login("a password of 15 KiB")
            .json(
                json!({"email": "nobody@example.com", "password": "p".repeat(15 * 1024)})
                    .to_string(),
            )
            .expect(401, BAD_LOGIN),
        login("duplicate password keys, the last wrong")
            .json(format!(
                "{{\"email\": \"{target}\", \"password\": \"{PASSWORD}\", \"password\": \"wrong\"}}"
            ))
            .expect(401, BAD_LOGIN),
        login("Content-Type text/plain")
            .header("content-type", "text/plain")
            .raw(json!({"email": "plain@example.com", "password": "x"}).to_string())
            .expect(401, BAD_LOGIN),
        login("no Content-Type")
            .raw(json!({"email": "bare@example.com", "password": "x"}).to_string())
            .expect(401, BAD_LOGIN),
        login("a deactivated user, the wrong password")
            .json(json!({"email": gone, "password": "wrong"}).to_string())
            .expect(401, BAD_LOGIN),
    ]
}

fn lookup_rows(w: &World) -> Vec<Row> {
    let get = |name: &str, path: String| {
        row(format!("GET {path}: {name}"), Method::GET, path).bearer(&w.admin_token)
    };
    let user = |id: &str| format!("/api/v1/users/{id}");
    let events = |query: &str| format!("/api/v1/users/{}/events?{query}", w.target.id);
    let unknown = UserId::generate();
    let mut rows = vec![
        get("not a UUID", user("12345")).expect(404, NOT_FOUND),
        get("an unknown UUID", user(&unknown.to_string())).expect(404, NOT_FOUND),
        get("the nil UUID", user(&uuid::Uuid::nil().to_string())).expect(404, NOT_FOUND),
        get("SQL", user("'%20OR%20'1'%3D'1'%3B--")).expect(404, NOT_FOUND),
        get("HTML", user("%3Cscript%3Ealert(1)%3C%2Fscript%3E")).expect(404, NOT_FOUND),
        get("an encoded NUL", user("%00")).expect(404, NOT_FOUND),
        get("an encoded slash", user("..%2F..%2Fetc%2Fpasswd")).expect(404, NOT_FOUND),
        get("5,000 characters", user(&"x".repeat(5000))).expect(404, NOT_FOUND),
        get("the real id and SQL", user(&format!("{}'--", w.target.id))).expect(404, NOT_FOUND),
        get(
            "events of an unknown user",
            format!("{}/events", user(&unknown.to_string())),
        )
        .expect(404, NOT_FOUND),
        get("events of a non-UUID", format!("{}/events", user("me"))).expect(404, NOT_FOUND),
        get("an ignored parameter", events("foo=bar"))
            .expect(200, "User events retrieved successfully"),
        get("a hostile x-request-id", user(&w.target.id.to_string()))
            .header("x-request-id", "<script>alert(1)</script>")
            .expect(200, "User retrieved successfully"),
        get("an overlong x-request-id", user(&w.target.id.to_string()))
            .header("x-request-id", "a".repeat(65))
            .expect(200, "User retrieved successfully"),
    ];
    for (query, fields) in [
        ("limit=0", &["limit"][..]),
        ("limit=101", &["limit"]),
        ("limit=-1", &["limit"]),
        ("limit=abc", &["limit"]),
        ("limit=1.5", &["limit"]),
        ("limit=", &["limit"]),
        ("limit=99999999999999999999", &["limit"]),
        ("limit=%FF", &["limit"]),
        ("limit=5&limit=500", &["limit"]),
        ("cursor=nope", &["cursor"]),
        ("cursor='%20OR%201%3D1--", &["cursor"]),
        ("cursor=", &["cursor"]),
        ("limit=0&cursor=x", &["limit", "cursor"]),
    ] {
        rows.push(get(&format!("query {query}"), events(query)).invalid(fields));
    }
    rows
}

fn routing_rows(w: &World) -> Vec<Row> {
    let target = format!("/api/v1/users/{}", w.target.id);
    let bearer = format!("Bearer {}", w.admin_token);
    let mut rows = Vec::new();
    for (method, path) in [
        (Method::DELETE, ME.to_owned()),
        (Method::PUT, LOGIN.to_owned()),
        (Method::GET, LOGIN.to_owned()),
        (Method::POST, target.clone()),
        (Method::DELETE, target.clone()),
        (Method::PATCH, format!("{target}/events")),
        (Method::OPTIONS, DEACTIVATE.to_owned()),
        (Method::from_bytes(b"FOO").unwrap(), REACTIVATE.to_owned()),
        // A fixed path wins over `/users/{user_id}`, so these ids name the PATCH routes.
        (Method::GET, DEACTIVATE.to_owned()),
        (Method::GET, REACTIVATE.to_owned()),
    ] {
        rows.push(
            row(format!("{method} {path}"), method, path)
                .auth(&bearer)
                .json(json!({ "user_id": w.target.id.to_string() }).to_string())
                .expect(405, NO_METHOD),
        );
    }
    for path in [
        format!("{target}/events/extra"),
        "/api/v1/users//events".to_owned(),
        "/api/v1/users/".to_owned(),
        format!("{DEACTIVATE}/"),
        "/api/v2/users/me".to_owned(),
    ] {
        rows.push(
            row(format!("PATCH {path}"), Method::PATCH, path)
                .auth(&bearer)
                .json(json!({ "user_id": w.target.id.to_string() }).to_string())
                .expect(404, NO_ROUTE),
        );
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// Sending a row and judging the answer.

struct Reply {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

async fn send(app: &TestApp, row: &Row) -> Result<Reply, String> {
    if row.framing != Framing::Sized {
        return send_raw(app, row).await;
    }
    let mut request = app
        .client
        .request(row.method.clone(), app.url(&row.path))
        .timeout(Duration::from_secs(30))
        .body(row.body.clone());
    for (name, value) in &row.headers {
        let value = HeaderValue::from_bytes(value).map_err(|e| format!("header: {e}"))?;
        request = request.header(HeaderName::from_static(name), value);
    }
    let response = request.send().await.map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("read: {e}"))?
        .to_vec();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// HTTP/1.1 by hand, for framings reqwest will not produce: a chunked body, or a declared
/// length with no body. The request is written while the answer is read, since the server may
/// answer (and stop reading) before the body is all sent.
async fn send_raw(app: &TestApp, row: &Row) -> Result<Reply, String> {
    let host = app.address.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&host)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
        row.method, row.path
    )
    .into_bytes();
    for (name, value) in &row.headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    match row.framing {
        Framing::Chunked => {
            request.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in row.body.chunks(8 * 1024) {
                request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                request.extend_from_slice(chunk);
                request.extend_from_slice(b"\r\n");
            }
            request.extend_from_slice(b"0\r\n\r\n");
        }
        Framing::DeclaredOnly(length) => {
            request.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
        }
        Framing::Sized => unreachable!("sent by reqwest"),
    }
    let (mut reader, mut writer) = stream.into_split();
    // The writer is kept (not shut down) until the answer is in: a declared-only body must not
    // end early.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let read = async {
        let mut buffer = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            if let Some(reply) = parse_reply(&buffer)? {
                return Ok(reply);
            }
            match reader.read(&mut chunk).await {
                Ok(0) => return Err(format!("connection closed after {} bytes", buffer.len())),
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read after {} bytes: {e}", buffer.len())),
            }
        }
    };
    let reply = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?;
    writing.abort();
    reply
}

/// A complete response in `buffer`, if there is one yet.
fn parse_reply(buffer: &[u8]) -> Result<Option<Reply>, String> {
    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buffer[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, Vec<u8>)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()))
        .collect();
    let rest = &buffer[end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).to_ascii_lowercase())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        match dechunk(rest) {
            Some(body) => body,
            None => return Ok(None),
        }
    } else {
        let length: usize = find("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or("a response with neither Content-Length nor chunks")?;
        if rest.len() < length {
            return Ok(None);
        }
        rest[..length].to_vec()
    };
    Ok(Some(Reply {
        status,
        headers,
        body,
    }))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Everything wrong with `reply` as the answer to `row`.
fn judge(row: &Row, reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    if reply.status >= 500 {
        problems.push(format!("a server error {}", reply.status));
    }
    if reply.status != row.status {
        problems.push(format!("status {} instead of {}", reply.status, row.status));
    }
    let request_id = reply.header("x-request-id").unwrap_or_default();
    let well_formed = !request_id.is_empty()
        && request_id.len() <= 64
        && request_id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b));
    if !well_formed {
        problems.push(format!(
            "x-request-id {:?}",
            String::from_utf8_lossy(request_id)
        ));
    }
    let content_type = reply.header("content-type").unwrap_or_default();
    if !content_type.starts_with(b"application/json") {
        problems.push(format!(
            "content-type {:?}",
            String::from_utf8_lossy(content_type)
        ));
    }
    let body: Value = match serde_json::from_slice(&reply.body) {
        Ok(body) => body,
        Err(_) => {
            problems.push(format!(
                "a body that is not JSON: {:?}",
                String::from_utf8_lossy(&reply.body)
            ));
            return problems;
        }
    };
    let keys: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if keys.len() != 4
        || !["status", "status_code", "message", "data"]
            .iter()
            .all(|k| keys.contains(k))
    {
        problems.push(format!("not the envelope: {body}"));
    }
    let outcome = if reply.status < 400 {
        "success"
    } else {
        "error"
    };
    if body["status"] != outcome || body["status_code"] != reply.status {
        problems.push(format!(
            "envelope status fields disagree with {}: {body}",
            reply.status
        ));
    }
    if body["message"] != row.message {
        problems.push(format!(
            "message {} instead of {:?}",
            body["message"], row.message
        ));
    }
    if row.status == 422 {
        let fields: Vec<&str> = body["data"]["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        if fields != row.fields {
            problems.push(format!(
                "fields {fields:?} instead of {:?}: {body}",
                row.fields
            ));
        }
    } else if row.status >= 400 && body["data"] != json!({}) {
        problems.push(format!("data {} instead of {{}}", body["data"]));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_the_exact_enveloped_answer_and_change_nothing() {
    let w = world().await;
    let mut rows = credential_rows(&w);
    rows.extend(auth_before_body_rows(&w));
    rows.extend(status_change_rows(&w, DEACTIVATE, &w.target));
    rows.extend(status_change_rows(&w, REACTIVATE, &w.gone));
    rows.extend(rule_rows(&w));
    rows.extend(login_rows(&w));
    rows.extend(lookup_rows(&w));
    rows.extend(routing_rows(&w));

    let before = snapshot(&w).await;
    let mut failures = String::new();
    for row in &rows {
        assert!(row.status != 0, "{}: no expectation", row.name);
        let mut problems = match send(&w.app, row).await {
            Ok(reply) => judge(row, &reply),
            Err(error) => vec![error],
        };
        if snapshot(&w).await != before {
            problems.push("the database changed".to_owned());
        }
        if !problems.is_empty() {
            writeln!(failures, "- {}: {}", row.name, problems.join("; ")).unwrap();
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{failures}",
        failures.lines().count(),
        rows.len()
    );
    assert!(w.app.user(&w.target).await.is_active());
    assert!(!w.app.user(&w.gone).await.is_active());
    // Only the set-up's email was ever sent: once nothing is owed, nothing more can arrive.
    w.app.outbox_settles().await;
    assert_eq!(w.app.sink.messages().len(), 1);
}
