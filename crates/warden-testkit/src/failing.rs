//! [`FailingChanges`]: wraps a [`UserRepo`] so that every status change fails the chosen way,
//! while everything else reaches the wrapped store. For tests of error paths (a 500 that must
//! not leak its cause, a 503 with `Retry-After`).

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AuditEvent, EmailAddress, EventFilter, NewUser, PasswordHash, StatusChange,
    StatusChangeOutcome, User, UserFilter, UserId,
};

/// How [`FailingChanges`] fails a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// [`StoreError::Unavailable`]: the store could not be reached.
    Unavailable,
    /// [`StoreError::Other`]: an unexpected failure.
    Other,
}

/// A store whose `change_status` always fails with `failure`; the cause's text is `detail`, so
/// a test can check it never reaches a client.
pub struct FailingChanges {
    inner: Arc<dyn UserRepo>,
    failure: Failure,
    detail: &'static str,
}

impl std::fmt::Debug for FailingChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailingChanges")
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl FailingChanges {
    fn error(&self) -> StoreError {
        let cause = anyhow::anyhow!(self.detail);
        match self.failure {
            Failure::Unavailable => StoreError::unavailable(cause),
            Failure::Other => StoreError::other(cause),
        }
    }

    pub fn new(inner: Arc<dyn UserRepo>, failure: Failure, detail: &'static str) -> Self {
        Self {
            inner,
            failure,
            detail,
        }
    }
}

#[async_trait]
impl UserRepo for FailingChanges {
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        self.inner.create(user).await
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.inner.find_by_id(id).await
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

    async fn change_status(&self, _: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        Err(self.error())
    }

    async fn change_role(
        &self,
        _: warden_domain::RoleChange,
    ) -> Result<warden_domain::RoleChangeOutcome, StoreError> {
        Err(self.error())
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
