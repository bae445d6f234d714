use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::{Authorized, ClaimedItem, Guarded, Job, JobWork, NewBulkJob};

/// Background jobs and their items, stored so a job survives a restart and no item is carried
/// out by two runners at once.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a new job with one unfinished item per user id, in order (positions 0..n), in one
    /// transaction that first re-checks `by.actor`'s authority (the submitting admin still
    /// active, an admin, on the same token version): if it no longer holds, nothing is stored
    /// and the answer is [`Guarded::ActorRevoked`].
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id exists; [`StoreError::Unavailable`] or
    /// [`StoreError::Other`].
    async fn create_job(&self, job: NewBulkJob, by: &Authorized)
        -> Result<Guarded<()>, StoreError>;

    /// The job as it is now: `Queued` while no item was ever claimed, `Done` once every item has
    /// its result, else `Running`; the results of finished items in position order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; an unknown job is `Ok(None)`.
    async fn find_job(&self, id: Uuid) -> Result<Option<Job>, StoreError>;

    /// What a runner needs for the job's items; `None` for an unknown job.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn job_work(&self, id: Uuid) -> Result<Option<JobWork>, StoreError>;

    /// Claims up to `limit` unfinished items whose lease is free at `now` (never claimed, or
    /// the lease ended), oldest job first and in position order, leasing them until
    /// `lease_until` and counting the attempt. Concurrent claims MUST never return the same
    /// item while its lease runs.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was claimed.
    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedItem>, StoreError>;

    /// Records an item's result, once: `Ok(false)` and nothing written when it already has one
    /// (a finished item is never redone nor rewritten).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn complete_item(
        &self,
        job: Uuid,
        position: u32,
        status_code: u16,
        message: &str,
    ) -> Result<bool, StoreError>;
}
