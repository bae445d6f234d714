use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::StoreError;
use crate::{Fingerprint, IdempotencyDecision, IdempotencyScope, StoredResponse};

/// The record of idempotency keys ([`crate::IdempotencyPolicy`]), shared by every process
/// using the store, so a retry sent to another replica meets the same key.
///
/// Timestamps passed in are whole microseconds (the finest precision the stores keep): a
/// reservation is named by its scope and the `now` it was made at, and [`Self::complete`] and
/// [`Self::release`] compare that instant exactly.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// In one atomic step: reads the scope's record, asks
    /// [`crate::IdempotencyPolicy::decide`], and on [`IdempotencyDecision::Proceed`] writes the
    /// record as in flight with `fingerprint`, reserved at `now` (replacing an expired or
    /// abandoned one). Any other decision changes nothing. Concurrent calls for one scope, from
    /// any number of processes, MUST behave as if made one at a time: of two identical
    /// reservations exactly one proceeds.
    ///
    /// # Errors
    /// [`StoreError`] when the record cannot be read or written; nothing is reserved then.
    async fn reserve(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyDecision, StoreError>;

    /// Stores the answer of the reservation made at `reserved_at` and marks it completed. Does
    /// nothing when that reservation is no longer the scope's in-flight record (it was taken
    /// over after being abandoned).
    ///
    /// # Errors
    /// [`StoreError`] when the record cannot be written.
    async fn complete(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;

    /// Deletes the in-flight reservation made at `reserved_at` (the request failed on the
    /// server's side), so a retry acts afresh. Does nothing to any other record.
    ///
    /// # Errors
    /// [`StoreError`] when the record cannot be written.
    async fn release(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes up to `limit` records reserved before `reserved_before` (see
    /// [`crate::IdempotencyPolicy::expired_before`]); returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when the records cannot be deleted.
    async fn purge_idempotency(
        &self,
        reserved_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;
}
