//! An admin's authority is checked again when a change commits, not only when the request
//! starts: a request whose body is held back while its admin is deactivated (or has their tokens
//! revoked) changes nothing when the body finally arrives.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AuditEvent, EmailAddress, EventFilter, NewUser, PasswordHash, Role, StatusChange,
    StatusChangeOutcome, User, UserFilter, UserId,
};

use crate::support::{spawn_app_configured, TestApp};

/// The real store, reporting each time an account is loaded (as authentication does), so the
/// test knows, without timing luck, that a request got past authentication.
struct Watched {
    inner: Arc<dyn UserRepo>,
    loaded: Arc<std::sync::Mutex<Vec<UserId>>>,
    wake: Arc<Notify>,
}

#[async_trait]
impl UserRepo for Watched {
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create(user).await
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let found = self.inner.find_by_id(id).await;
        self.loaded.lock().unwrap().push(*id);
        self.wake.notify_waiters();
        found
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        self.inner.find_by_email(email).await
    }

    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        self.inner.find_credentials(email).await
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        self.inner.change_status(change).await
    }

    async fn change_role(
        &self,
        change: warden_domain::RoleChange,
    ) -> Result<warden_domain::RoleChangeOutcome, StoreError> {
        self.inner.change_role(change).await
    }

    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.events(user, after, limit).await
    }

    async fn search(
        &self,
        filter: &UserFilter,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        self.inner.search(filter, after, limit).await
    }

    async fn audit_log(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.audit_log(filter, after, limit).await
    }

    async fn due_suspensions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        self.inner.due_suspensions(now, limit).await
    }
}

pub(crate) struct Probe {
    loaded: Arc<std::sync::Mutex<Vec<UserId>>>,
    wake: Arc<Notify>,
}

impl Probe {
    /// Waits until the account `id` has been loaded `times` times in all.
    pub(crate) async fn loaded(&self, id: UserId, times: usize) {
        let seen = || {
            self.loaded
                .lock()
                .unwrap()
                .iter()
                .filter(|l| **l == id)
                .count()
        };
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.wake.notified();
                if seen() >= times {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the held request was never authenticated");
    }
}

/// The app over the watched store; webhook URLs on this machine are accepted.
pub(crate) async fn spawn_watched_app() -> (TestApp, Probe) {
    let loaded = Arc::new(std::sync::Mutex::new(Vec::new()));
    let wake = Arc::new(Notify::new());
    let probe = Probe {
        loaded: loaded.clone(),
        wake: wake.clone(),
    };
    let allow_local = |config: &mut warden::Config| config.webhooks.allow_private = true;
    let app = spawn_app_configured(allow_local, move |mut ports| {
        ports.users = Arc::new(Watched {
            inner: ports.users,
            loaded,
            wake,
        });
        ports
    })
    .await;
    (app, probe)
}

/// A request whose headers are sent (and authenticated) now and whose body comes later.
pub(crate) struct HeldRequest {
    stream: TcpStream,
    body: String,
}

impl HeldRequest {
    async fn start(app: &TestApp, path: &str, token: &str, body: serde_json::Value) -> Self {
        Self::start_with(app, "PATCH", path, token, body).await
    }

    /// A `method` request to `path` whose body is held back.
    pub(crate) async fn start_with(
        app: &TestApp,
        method: &str,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> Self {
        Self::start_typed(app, method, path, token, "application/json", body).await
    }

    /// [`HeldRequest::start_with`] with a body of `content_type`.
    pub(crate) async fn start_typed(
        app: &TestApp,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: serde_json::Value,
    ) -> Self {
        let body = body.to_string();
        let host = app.address.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        Self { stream, body }
    }

    /// Sends the body; returns the status code and the JSON body of the answer.
    pub(crate) async fn finish(mut self) -> (u16, serde_json::Value) {
        self.stream.write_all(self.body.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let response = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let n = self.stream.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
                        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                        return (status, json);
                    }
                }
                assert!(n > 0, "connection closed: {text:?}");
            }
        })
        .await
        .expect("no answer to the held request");
        response
    }
}

pub(crate) fn assert_refused(status: u16, body: &serde_json::Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        *body,
        json!({"status": "error", "status_code": 401,
               "message": "Could not validate admin credentials", "data": {}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_self_reactivation_by_a_deactivated_admin_changes_nothing() {
    let (app, probe) = spawn_watched_app().await;
    let (admin1, token1) = app.admin().await;
    let (admin2, token2) = app.admin().await;

    // admin2 starts reactivating themself "in advance" and holds the body.
    let held = HeldRequest::start(
        &app,
        "/api/v1/users/reactivate",
        &token2,
        json!({"user_id": admin2.id.to_string()}),
    )
    .await;
    probe.loaded(admin2.id, 1).await;

    // Meanwhile admin1 deactivates admin2.
    app.deactivate(&token1, &admin2, Some("compromised"))
        .await
        .assert_envelope(200, "User account deactivated successfully");

    let (status, body) = held.finish().await;
    assert_refused(status, &body);
    assert!(!app.user(&admin2).await.is_active(), "admin2 stays out");
    let events = app.users.events(&admin2.id, None, 10).await.unwrap();
    assert_eq!(events.len(), 1, "only admin1's deactivation is recorded");
    assert_eq!(events[0].actor.account(), Some(admin1.id));
    // Only the deactivation email; no reactivation email is ever queued.
    app.outbox_settles().await;
    let mails = app.sink.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].header("Subject").unwrap().contains("deactivated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_change_by_an_admin_whose_tokens_were_revoked_changes_nothing() {
    let (app, probe) = spawn_watched_app().await;
    let (_admin1, token1) = app.admin().await;
    let (admin2, token2) = app.admin().await;
    let (admin3, _) = app.admin().await;
    let target = app.create_user(Role::User).await;

    // admin2 holds a deactivation of admin1's colleague admin3 and one of an ordinary user.
    let on_admin = HeldRequest::start(
        &app,
        "/api/v1/users/deactivate",
        &token2,
        json!({"user_id": admin3.id.to_string()}),
    )
    .await;
    let on_user = HeldRequest::start(
        &app,
        "/api/v1/users/deactivate",
        &token2,
        json!({"user_id": target.id.to_string()}),
    )
    .await;
    probe.loaded(admin2.id, 2).await;

    // admin1 turns admin2 off and on again: admin2 is an active admin, but every token they
    // held is revoked.
    app.deactivate(&token1, &admin2, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    app.patch_json(
        "/api/v1/users/reactivate",
        Some(&token1),
        &json!({"user_id": admin2.id.to_string()}),
    )
    .await
    .assert_envelope(200, "User account reactivated successfully");
    assert!(app.user(&admin2).await.is_active());

    for held in [on_admin, on_user] {
        let (status, body) = held.finish().await;
        assert_refused(status, &body);
    }
    for untouched in [&admin3, &target] {
        assert!(app.user(untouched).await.is_active());
        assert_eq!(app.users.events(&untouched.id, None, 10).await.unwrap(), []);
    }
}
