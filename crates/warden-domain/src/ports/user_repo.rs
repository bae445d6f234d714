use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::{
    AuditEvent, EmailAddress, EventFilter, NewUser, PasswordHash, RoleChange, RoleChangeOutcome,
    StatusChange, StatusChangeOutcome, User, UserFilter, UserId,
};

/// The accounts store, with their audit trail and the notifications their changes owe.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Stores a new, active account with `token_version` 0.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the email address is taken (compared as normalised by
    /// [`EmailAddress`]) or the id exists; [`StoreError::Unavailable`] when the store cannot be
    /// reached; [`StoreError::Other`] otherwise.
    async fn create(&self, user: NewUser) -> Result<User, StoreError>;

    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; a missing user is `Ok(None)`.
    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; a missing user is `Ok(None)`.
    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;

    /// The stored password hash of the account with this email, with the account.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; a missing user is `Ok(None)`.
    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError>;

    /// Applies one status change **atomically**: in a single transaction, and only if the target
    /// is not already in the requested state, it MUST
    /// - set the status (deactivation: `at`, `actor`, `reason`, `until`; reactivation: clear
    ///   them),
    ///   set `updated_at` to `at`, and increment `token_version`;
    /// - record an [`AuditEvent`] with `event_id`;
    /// - enqueue a [`crate::Notification`] with `notification_id`, addressed to the user's
    ///   email, for delivery through [`super::Outbox`].
    ///
    /// When deactivating an active admin it MUST refuse with
    /// [`StatusChangeOutcome::LastActiveAdmin`] if no other active admin would remain, and this
    /// MUST hold under concurrency (two admins deactivating each other leave one active).
    /// Two concurrent identical changes MUST yield exactly one `Applied`. Nothing is written
    /// for any outcome but `Applied`.
    ///
    /// With [`StatusChange::only_if_due_at`], it MUST apply only if, in the same transaction,
    /// [`StatusChange::expectation_holds`] for the target's stored suspension end; otherwise
    /// (the target still in the starting state) it reports [`StatusChangeOutcome::NotDue`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was written.
    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError>;

    /// Applies one role change **atomically**: in a single transaction, inside which the
    /// target is locked and judged by [`RoleChange::verdict`] (the actor's authority as
    /// [`crate::Authority::holds`] says, the target's current role, and, when an active admin
    /// would stop being one, whether another active admin remains), it MUST
    /// - set the role, set `updated_at` to `at`, and increment `token_version` (the target's
    ///   tokens stop working);
    /// - record an [`AuditEvent`] `role_changed` with `event_id`, the actor (with its role) and
    ///   the [`crate::RoleShift`];
    /// - queue a `user.role_changed` webhook delivery for every enabled endpoint subscribed
    ///   to it.
    ///
    /// The last-active-admin guard MUST hold under concurrency with other role changes and with
    /// deactivations (two admins demoting each other leave one admin). Nothing is written for
    /// any outcome but `Applied`.
    ///
    /// The default refuses: a store that keeps no roles of its own (a host's store reusing the
    /// domain without role management) need not implement it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was written.
    async fn change_role(&self, change: RoleChange) -> Result<RoleChangeOutcome, StoreError> {
        let _ = change;
        Err(StoreError::other("this store does not change roles"))
    }

    /// The user's audit trail, newest first, at most `limit` events, starting strictly after the
    /// event `after` (exclusive cursor) when given.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; an unknown user has no events.
    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// The accounts `filter` keeps ([`UserFilter::matches`] states the rule), newest first (by
    /// id, descending), at most `limit`, starting strictly after the account `after` in that
    /// order when given (an id that names no account is still a position). Accounts created
    /// after the first page was read never appear on later pages of the same listing, and no
    /// account is skipped or repeated.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn search(
        &self,
        filter: &UserFilter,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;

    /// The audit trail of every account: the events `filter` keeps
    /// ([`EventFilter::matches`] states the rule), newest first (by id, descending), at most
    /// `limit`, starting strictly after the event `after` when given.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn audit_log(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// The ids of deactivated accounts whose suspension ends at or before `now`, earliest end
    /// first, at most `limit` (served by an index on the end).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn due_suspensions(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError>;
}
