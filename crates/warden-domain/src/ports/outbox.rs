use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::{Authorized, Guarded, Notification};

/// A notification claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotification {
    pub notification: Notification,
    /// Delivery attempts so far, counting the one this claim is for (so at least 1).
    pub attempts: u32,
}

/// Counts for readiness checks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Not yet delivered, still being tried.
    pub pending: u64,
    /// Given up on after a permanent failure or too many attempts.
    pub failed: u64,
}

/// Where a notification is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Not yet delivered, still being tried.
    Pending,
    /// Given up on.
    Failed,
    /// Delivered.
    Sent,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Sent => "sent",
        }
    }
}

/// A notification as an admin inspects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub notification: Notification,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last failure, as recorded by the worker.
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub status: OutboxStatus,
}

/// What [`Outbox::retry_now`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryNow {
    /// It was pending or given up on, and is due now.
    Queued,
    AlreadySent,
    /// A worker holds it under a lease right now (it is being sent): left alone, so it is not
    /// sent twice. Its delivery either succeeds or schedules the next attempt.
    InFlight,
    NotFound,
}

/// The notifications owed to users, written by [`super::UserRepo::change_status`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` undelivered notifications that are due at `now`, oldest first, and
    /// leases them until `lease_until`: no other claim (from this or any other process) MAY
    /// return them before then. A claimed notification that is neither marked sent nor
    /// rescheduled becomes due again when its lease ends, so a crash loses nothing. Each claim
    /// increments the notification's attempt count.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was claimed.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, StoreError>;

    /// Extends the lease of those of `ids` that a claim still holds (neither sent, given up on
    /// nor rescheduled since they were claimed) to `lease_until`, so that a claim held by a slow
    /// but live worker does not run out: a worker renews its remaining claims before a send that
    /// could outlast the lease, and a worker that died stops renewing, so its claims are due
    /// again within one lease. Unknown, finished and rescheduled ids are left alone: a
    /// rescheduled entry stays due at the time [`Outbox::retry_later`] gave it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then no lease was changed.
    async fn renew_lease(&self, ids: &[Uuid], lease_until: DateTime<Utc>)
        -> Result<(), StoreError>;

    /// Records delivery; the notification is never claimed again.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed attempt; the notification becomes due again at `next_attempt_at`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn retry_later(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Records a permanent failure; the notification is never claimed again.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn give_up(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<(), StoreError>;

    /// Deletes up to `limit` notifications sent before `sent_before` (oldest first) and returns
    /// how many it deleted. Pending and given-up notifications are never deleted; the audit
    /// trail is a separate record and is kept.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was deleted.
    async fn purge_sent(&self, sent_before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;

    /// Up to `limit` notifications in `status`, newest first (by id), only those with an id
    /// below `before` when given (the last id of the previous page).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn list(
        &self,
        status: OutboxStatus,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Makes a pending or given-up notification due at `by.at` (a given-up one is pending again,
    /// its attempts kept); a sent one is left alone, and so is one claimed under a lease that
    /// has not ended at `now` ([`RetryNow::InFlight`]): making it due would let another worker
    /// send it while the first is still sending. A claim records its lease; marking the entry
    /// sent, rescheduling it or giving up on it ends the lease.
    ///
    /// It first re-checks `by.actor`'s authority in the same transaction: if it no longer
    /// holds, nothing changes and the answer is [`Guarded::ActorRevoked`]. Nothing is
    /// audited.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing changed.
    async fn retry_now(&self, id: Uuid, by: &Authorized) -> Result<Guarded<RetryNow>, StoreError>;

    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn stats(&self) -> Result<OutboxStats, StoreError>;
}
