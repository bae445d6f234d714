use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::{
    Authorized, ClaimedDelivery, Guarded, NewWebhook, WebhookDelivery, WebhookEndpoint,
    WebhookSecret,
};

/// What [`WebhookRepo::retry_delivery`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDelivery {
    /// Pending or failed: due now (a failed one is pending again, its attempts kept).
    Queued,
    AlreadyDelivered,
    /// Claimed under a lease that has not ended: being sent right now, left alone.
    InFlight,
    /// No such delivery of this endpoint.
    NotFound,
}

/// The webhook endpoints and the deliveries owed to them. The deliveries themselves are
/// written by [`super::UserRepo::change_status`], in the change's transaction: one per
/// enabled endpoint subscribed to the change's event type, carrying the event's id (the audit
/// event's), type, the user's id and email, the actor, the reason and the time, and due at
/// the change's time.
///
/// Every method that changes an endpoint takes the [`Authorized`] write it is: the store
/// re-checks `by.actor`'s authority in the write's own transaction (if it no longer holds,
/// nothing is written and the answer is [`Guarded::ActorRevoked`]) and, when the write changes
/// an endpoint, records its [`crate::ChangeAction`] ([`Authorized::record`], target the
/// endpoint) in that transaction. An endpoint not found records nothing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookRepo: Send + Sync {
    /// Stores a new, enabled endpoint (`created_by`: [`Authorized::created_by`]); records
    /// [`crate::ChangeAction::WebhookCreated`].
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id exists; [`StoreError::Unavailable`] or
    /// [`StoreError::Other`].
    async fn create_webhook(
        &self,
        new: NewWebhook,
        by: &Authorized,
    ) -> Result<Guarded<WebhookEndpoint>, StoreError>;

    /// Every endpoint, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; unknown is `Ok(None)`.
    async fn find_webhook(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Deletes the endpoint and its deliveries; `false` when there was none. Records
    /// [`crate::ChangeAction::WebhookDeleted`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn delete_webhook(&self, id: Uuid, by: &Authorized) -> Result<Guarded<bool>, StoreError>;

    /// Makes `secret` the endpoint's secret and the current one its previous secret, signing
    /// until `previous_until`; `None` for an unknown endpoint. Records
    /// [`crate::ChangeAction::WebhookSecretRotated`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn rotate_secret(
        &self,
        id: Uuid,
        secret: WebhookSecret,
        previous_until: DateTime<Utc>,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError>;

    /// Enables or disables the endpoint; `None` for an unknown endpoint. A disabled endpoint
    /// gets no new deliveries, and its pending ones are not claimed until it is enabled again.
    /// Records [`crate::ChangeAction::WebhookUpdated`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn set_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError>;

    /// The endpoint's deliveries, newest event first, at most `limit`, only those whose event
    /// id is below `before` when given.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn deliveries(
        &self,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;

    /// Makes a pending or failed delivery of `endpoint` due at `now` (see [`RetryDelivery`]).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing changed.
    async fn retry_delivery(
        &self,
        endpoint: Uuid,
        delivery: Uuid,
        now: DateTime<Utc>,
    ) -> Result<RetryDelivery, StoreError>;

    /// Claims up to `limit` pending deliveries of enabled endpoints due at `now`, oldest first,
    /// leased until `lease_until`: no other claim MAY return them before then, and one neither
    /// finished nor rescheduled is due again when its lease ends. Each claim counts an attempt.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was claimed.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records the attempt's answer (`status`: the HTTP status, if one came) and what follows:
    /// `Finish::Delivered`, `Finish::RetryAt`, `Finish::Failed`, or `Finish::Gone` (failed, and
    /// the endpoint disabled). Ends the lease. A delivery no longer pending is left alone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn finish_attempt(
        &self,
        delivery: Uuid,
        status: Option<u16>,
        finish: Finish,
    ) -> Result<(), StoreError>;

    /// Deletes up to `limit` deliveries delivered before `delivered_before` (oldest first) and
    /// returns how many it deleted. Pending and failed deliveries are kept; so is the audit
    /// trail their events belong to.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was deleted.
    async fn purge_delivered(
        &self,
        delivered_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

/// What follows an attempt, for [`WebhookRepo::finish_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    RetryAt(DateTime<Utc>, String),
    Failed(String),
    /// 410: failed, and its endpoint disabled.
    Gone,
}
