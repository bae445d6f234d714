use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::{PollRequest, QueuedSet, SetFinish, Stream, StreamStatus};

/// Shared Signals streams and the SETs owed to them. The SETs of a status change are written by
/// [`super::UserRepo::change_status`] in the change's own transaction: for each of the change's
/// [`crate::SecurityEventType::of`], one per stream that is not disabled and whose
/// `events_delivered` include it, all of one change sharing its audit event id as `txn`.
///
/// Every method that writes takes the owning client and re-checks, in its own transaction,
/// that the client is not revoked; a revoked client's write does nothing and answers as for a
/// stream it does not own (`None` / `false`). A client never sees another client's stream.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SsfRepo: Send + Sync {
    /// Stores a new stream; `None` when its client is revoked.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id exists; [`StoreError::Unavailable`] or
    /// [`StoreError::Other`].
    async fn create_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError>;

    /// The client's streams, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn streams(&self, client: Uuid) -> Result<Vec<Stream>, StoreError>;

    /// The client's stream `id`; `None` for an unknown one or another client's.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn stream(&self, client: Uuid, id: Uuid) -> Result<Option<Stream>, StoreError>;

    /// Replaces the receiver-supplied configuration of `stream` (delivery, events requested and
    /// delivered, description); `None` when there is no such stream of `stream.client_id`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn update_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError>;

    /// Deletes the client's stream and every SET owed to it; `false` when there was none.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn delete_stream(&self, client: Uuid, id: Uuid) -> Result<bool, StoreError>;

    /// Sets the stream's status. Disabling it drops every SET it still holds.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn set_status(
        &self,
        client: Uuid,
        id: Uuid,
        status: StreamStatus,
        reason: Option<String>,
    ) -> Result<Option<Stream>, StoreError>;

    /// Queues `set` (a verification) for its stream, due at its `occurred_at`; `false` when the
    /// stream is not the client's, or is disabled (nothing is written).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn enqueue(&self, client: Uuid, set: QueuedSet) -> Result<bool, StoreError>;

    /// Claims up to `limit` SETs of enabled push streams due at `now`, each the oldest its
    /// stream still owes (so a stream's SETs arrive in order), leased until `lease_until`: no
    /// claim returns them again before then. Each claim counts an attempt.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was claimed.
    async fn claim_push(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Stream, QueuedSet)>, StoreError>;

    /// Records a push attempt's answer (`status`: the HTTP status, if one came) and what
    /// follows. A SET no longer owed is left alone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn finish_push(
        &self,
        jti: Uuid,
        status: Option<u16>,
        finish: SetFinish,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A poll of the client's poll stream `id` (RFC 8936): marks the acknowledged SETs
    /// delivered and the refused ones failed, then returns (for an enabled stream) up to
    /// `max_events` SETs still owed, oldest first, and whether more remain. `None` when there
    /// is no such poll stream of the client.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing changed.
    async fn poll(
        &self,
        client: Uuid,
        id: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<(Vec<QueuedSet>, bool)>, StoreError>;
}
