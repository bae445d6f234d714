//! Hostile input, table-driven, over real HTTP against every API route: malformed, truncated,
//! mistyped and oversized bodies, invalid UTF-8, odd `Content-Type`s and framings, duplicate
//! keys, SQL and HTML in fields, malformed `Authorization` headers and forged, expired or
//! revoked JWTs. Each row names the exact status and message it must get. Every answer must be
//! the four-key envelope (`status_code` equal to the HTTP status) with a well-formed
//! `x-request-id`, never a 5xx, and no row may change anything in the database.

//!
//! The rows are built by theme (`access`, `bodies`, `login`, `routing`; forged credentials in
//! `tokens`), sent by `wire` and judged by `judge`.

mod access;
mod bodies;
mod judge;
mod login;
mod routing;
mod row;
mod tokens;
mod wire;

use access::*;
use bodies::*;
use judge::*;
use login::*;
use routing::*;
use row::*;
use tokens::*;
use wire::*;

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

pub(crate) const LOGIN: &str = "/api/v1/auth/login";
pub(crate) const ME: &str = "/api/v1/users/me";
pub(crate) const DEACTIVATE: &str = "/api/v1/users/deactivate";
pub(crate) const REACTIVATE: &str = "/api/v1/users/reactivate";

pub(crate) const ADMIN_401: &str = "Could not validate admin credentials";
pub(crate) const USER_401: &str = "Could not validate credentials";
pub(crate) const FORBIDDEN: &str = "You do not have permission to access this resource";
pub(crate) const NOT_FOUND: &str = "User not found";
pub(crate) const INVALID: &str = "Invalid input";
pub(crate) const TOO_LARGE: &str = "Request body is too large";
pub(crate) const BAD_LOGIN: &str = "Invalid email or password";
pub(crate) const NO_ROUTE: &str = "Route not found";
pub(crate) const NO_METHOD: &str = "Method not allowed";

pub(crate) const MIB: usize = 1 << 20;
/// The documented body limit (`docs/api.md`): larger bodies are a 413.
pub(crate) const LIMIT: usize = 16 * 1024;

/// The accounts the rows aim at. None of them may change.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) admin: User,
    pub(crate) admin_token: String,
    pub(crate) member: User,
    pub(crate) member_token: String,
    /// An active user every deactivation row aims at.
    pub(crate) target: User,
    /// A deactivated user every reactivation row aims at.
    pub(crate) gone: User,
    /// A token `gone` held before it was deactivated.
    pub(crate) gone_token: String,
}

pub(crate) async fn world() -> World {
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
pub(crate) async fn snapshot(w: &World) -> Vec<(User, usize)> {
    let mut state = Vec::new();
    for user in [&w.admin, &w.member, &w.target, &w.gone] {
        let stored = w.app.user(user).await;
        let events = w.app.users.events(&user.id, None, 100).await.unwrap().len();
        state.push((stored, events));
    }
    state
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
