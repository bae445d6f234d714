use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AuditEvent, EmailAddress, NewUser, PasswordHash, Role, StatusChange, StatusChangeOutcome, User,
    UserId,
};

use crate::support::{spawn_app, spawn_app_with};

/// A store whose status changes fail the given way; everything else is the real store.
struct FailingChanges {
    real: Arc<dyn UserRepo>,
    unavailable: bool,
}

#[async_trait]
impl UserRepo for FailingChanges {
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.real.create(user).await
    }
    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.real.find_by_id(id).await
    }
    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        self.real.find_by_email(email).await
    }
    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        self.real.find_credentials(email).await
    }
    async fn change_status(&self, _: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let cause = anyhow::anyhow!("relation \"users\" is on fire: SECRET-DETAIL");
        Err(if self.unavailable {
            StoreError::Unavailable(cause)
        } else {
            StoreError::Other(cause)
        })
    }
    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.real.events(user, after, limit).await
    }
}

async fn app_whose_changes_fail(unavailable: bool) -> crate::support::TestApp {
    spawn_app_with(move |mut ports| {
        ports.users = Arc::new(FailingChanges {
            real: ports.users.clone(),
            unavailable,
        });
        ports
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_failure_is_a_generic_500_without_detail() {
    let app = app_whose_changes_fail(false).await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let response = app.deactivate(&token, &target, None).await;
    response.assert_envelope(500, "An unexpected error occurred.");
    assert!(!response.body.to_string().contains("SECRET"));
    assert!(!format!("{:?}", response.headers).contains("SECRET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_a_503_with_retry_after() {
    let app = app_whose_changes_fail(true).await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let response = app.deactivate(&token, &target, None).await;
    response.assert_envelope(503, "Service temporarily unavailable");
    assert_eq!(response.headers["retry-after"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_down_does_not_fail_the_request_and_the_email_follows_later() {
    let app = spawn_app().await;
    let (_, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    app.sink.stop().await;

    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.sink.messages().is_empty());
    assert_eq!(app.outbox.stats().await.unwrap().pending, 1);

    app.sink.restart().await.unwrap();
    let mails = app.emails(1).await;
    assert_eq!(mails[0].to, vec![target.email.to_string()]);
    assert_eq!(app.outbox.stats().await.unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_requests_send_nothing() {
    let app = spawn_app().await;
    let (admin, token) = app.admin().await;
    let target = app.create_user(Role::User).await;
    let member_token = app.token_for(&target).await;

    app.deactivate(&token, &admin, None)
        .await
        .assert_envelope(400, "You cannot deactivate your own account");
    app.deactivate(&member_token, &admin, None)
        .await
        .assert_envelope(403, "You do not have permission to access this resource");
    let ghost_id = serde_json::json!({"user_id": UserId::generate().to_string()});
    app.patch_json("/api/v1/users/deactivate", Some(&token), &ghost_id)
        .await
        .assert_envelope(404, "User not found");
    // Then one success: exactly its email arrives, nothing for the failures.
    app.deactivate(&token, &target, None)
        .await
        .assert_envelope(200, "User account deactivated successfully");
    let mails = app.emails(1).await;
    assert_eq!(mails[0].to, vec![target.email.to_string()]);
}
