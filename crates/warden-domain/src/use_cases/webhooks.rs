//! Webhook endpoints for admins ([`ManageWebhooks`]) and the delivery of the events committed
//! status changes owe them ([`DeliverWebhooks`]).

use std::sync::Arc;

use chrono::SecondsFormat;
use uuid::Uuid;

use super::Admin;
use crate::ports::{
    Clock, Finish, RetryDelivery, StoreError, WebhookRepo, WebhookRequest, WebhookSender,
};
use crate::{
    AttemptOutcome, Authorized, ClaimedDelivery, NewWebhook, WebhookAnswer, WebhookDelivery,
    WebhookEndpoint, WebhookEventType, WebhookRetryPolicy, WebhookSecret, PREVIOUS_SECRET_OVERLAP,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No webhook endpoint has this id (or it was deleted).
    #[error("webhook not found")]
    NotFound,
    /// The endpoint has no delivery with this id.
    #[error("delivery not found")]
    DeliveryNotFound,
    /// A retry was asked for a delivery that succeeded already; nothing changed.
    #[error("the delivery was delivered already")]
    AlreadyDelivered,
    /// A retry was asked for a delivery a worker holds under a running lease (it is being
    /// sent); left alone so it is not sent twice.
    #[error("the delivery is being sent right now")]
    InFlight,
    /// The acting admin's authority no longer held when the change was to commit; nothing
    /// was written.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// The store failed (see [`StoreError`]): [`StoreError::Unavailable`] when it could not be
    /// reached in time (worth retrying), otherwise a bug or corrupt data. Nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an admin asks to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInput {
    /// Checked by the host (https, a public address) before it gets here.
    pub url: String,
    pub description: Option<String>,
    /// `None`: every type, those added later included.
    pub events: Option<Vec<WebhookEventType>>,
}

/// Registers, lists, rotates, enables and deletes webhook endpoints; lists and retries their
/// deliveries. Admins only (the `&Admin` proves the caller was authenticated as one).
#[derive(Clone)]
pub struct ManageWebhooks {
    repo: Arc<dyn WebhookRepo>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ManageWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageWebhooks")
    }
}

impl ManageWebhooks {
    pub fn new(repo: Arc<dyn WebhookRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { repo, clock }
    }

    /// The write `by` makes now, re-checked by the store at commit.
    fn authorized(&self, by: &Admin) -> Authorized {
        Authorized::new(by.actor().clone(), self.clock.now())
    }

    /// A new, enabled endpoint signing with `secret` (fresh random bytes from the host).
    ///
    /// # Errors
    /// [`WebhookError::ActorRevoked`] when the admin's authority no longer held at commit;
    /// [`WebhookError::Store`].
    pub async fn create(
        &self,
        by: &Admin,
        input: WebhookInput,
        secret: WebhookSecret,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let events = input.events.map(|mut types| {
            types.sort();
            types.dedup();
            types
        });
        let authorized = self.authorized(by);
        let new = NewWebhook {
            id: Uuid::now_v7(),
            url: input.url,
            description: input.description,
            events,
            secret,
            created_at: authorized.at,
        };
        self.repo
            .create_webhook(new, &authorized)
            .await?
            .or_revoked(WebhookError::ActorRevoked)
    }

    /// # Errors
    /// [`WebhookError::Store`].
    pub async fn list(&self, _by: &Admin) -> Result<Vec<WebhookEndpoint>, WebhookError> {
        Ok(self.repo.list_webhooks().await?)
    }

    /// # Errors
    /// [`WebhookError::NotFound`]; [`WebhookError::Store`].
    pub async fn get(&self, _by: &Admin, id: Uuid) -> Result<WebhookEndpoint, WebhookError> {
        self.repo
            .find_webhook(id)
            .await?
            .ok_or(WebhookError::NotFound)
    }

    /// Deletes the endpoint and what it is still owed.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`]; [`WebhookError::ActorRevoked`]; [`WebhookError::Store`].
    pub async fn delete(&self, by: &Admin, id: Uuid) -> Result<(), WebhookError> {
        let deleted = self
            .repo
            .delete_webhook(id, &self.authorized(by))
            .await?
            .or_revoked(WebhookError::ActorRevoked)?;
        if deleted {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    /// A new secret; the previous one keeps signing beside it for
    /// [`PREVIOUS_SECRET_OVERLAP`], so receivers can switch without missing an event.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`]; [`WebhookError::ActorRevoked`]; [`WebhookError::Store`].
    pub async fn rotate_secret(
        &self,
        by: &Admin,
        id: Uuid,
        secret: WebhookSecret,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let authorized = self.authorized(by);
        let until = authorized.at + PREVIOUS_SECRET_OVERLAP;
        self.repo
            .rotate_secret(id, secret, until, &authorized)
            .await?
            .or_revoked(WebhookError::ActorRevoked)?
            .ok_or(WebhookError::NotFound)
    }

    /// Enables (after a 410 disabled it) or disables the endpoint.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`]; [`WebhookError::ActorRevoked`]; [`WebhookError::Store`].
    pub async fn set_enabled(
        &self,
        by: &Admin,
        id: Uuid,
        enabled: bool,
    ) -> Result<WebhookEndpoint, WebhookError> {
        self.repo
            .set_enabled(id, enabled, &self.authorized(by))
            .await?
            .or_revoked(WebhookError::ActorRevoked)?
            .ok_or(WebhookError::NotFound)
    }

    /// The endpoint's deliveries, newest first, after the event id `before` when given.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`]; [`WebhookError::Store`].
    pub async fn deliveries(
        &self,
        by: &Admin,
        id: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, WebhookError> {
        self.get(by, id).await?;
        Ok(self.repo.deliveries(id, before, limit).await?)
    }

    /// Makes a pending or failed delivery due now.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`], [`WebhookError::DeliveryNotFound`],
    /// [`WebhookError::AlreadyDelivered`], [`WebhookError::InFlight`]; [`WebhookError::Store`].
    pub async fn retry(&self, by: &Admin, id: Uuid, delivery: Uuid) -> Result<(), WebhookError> {
        self.get(by, id).await?;
        match self
            .repo
            .retry_delivery(id, delivery, self.clock.now())
            .await?
        {
            RetryDelivery::Queued => Ok(()),
            RetryDelivery::AlreadyDelivered => Err(WebhookError::AlreadyDelivered),
            RetryDelivery::InFlight => Err(WebhookError::InFlight),
            _ => Err(WebhookError::DeliveryNotFound),
        }
    }
}

/// What one round of deliveries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookReport {
    pub delivered: u32,
    pub retried: u32,
    pub failed: u32,
    /// Endpoints disabled by a 410.
    pub disabled: u32,
}

impl WebhookReport {
    pub fn claimed(&self) -> u32 {
        self.delivered + self.retried + self.failed + self.disabled
    }
}

/// Sends the deliveries that are due: signs each, posts it, and records the answer under the
/// retry policy. Claims are leased, so a delivery whose sender died goes out again, with the
/// same `webhook-id`.
#[derive(Clone)]
pub struct DeliverWebhooks {
    repo: Arc<dyn WebhookRepo>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    policy: WebhookRetryPolicy,
    /// A number in 0..1 for the jitter of each retry.
    unit: fn() -> f64,
}

impl std::fmt::Debug for DeliverWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverWebhooks")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl DeliverWebhooks {
    /// `unit` gives a number in 0..1 (random, in production) that places each retry's jitter.
    pub fn new(
        repo: Arc<dyn WebhookRepo>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        policy: WebhookRetryPolicy,
        unit: fn() -> f64,
    ) -> Self {
        Self {
            repo,
            sender,
            clock,
            policy,
            unit,
        }
    }

    /// Claims up to `limit` due deliveries and sends them, one after another.
    ///
    /// # Errors
    /// [`StoreError`] when the claim fails; an attempt whose result cannot be recorded is
    /// sent again once its lease ends.
    pub async fn run_up_to(&self, limit: u32) -> Result<WebhookReport, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .repo
            .claim_deliveries(now, now + self.policy.lease, limit)
            .await?;
        let mut report = WebhookReport::default();
        for claim in claimed {
            let answer = self.sender.send(&self.request(&claim)).await;
            let status = match answer {
                WebhookAnswer::Status { code, .. } => Some(code),
                WebhookAnswer::NoAnswer => None,
            };
            let error = match status {
                Some(code) => format!("answered {code}"),
                None => "no answer".to_owned(),
            };
            let finish = match self
                .policy
                .judge(answer, claim.delivery.attempts, (self.unit)())
            {
                AttemptOutcome::Delivered => {
                    report.delivered += 1;
                    Finish::Delivered
                }
                AttemptOutcome::RetryAfter(delay) => {
                    report.retried += 1;
                    Finish::RetryAt(self.clock.now() + delay, error)
                }
                AttemptOutcome::GiveUp => {
                    report.failed += 1;
                    Finish::Failed(error)
                }
                AttemptOutcome::DisableEndpoint => {
                    report.disabled += 1;
                    Finish::Gone
                }
            };
            self.repo
                .finish_attempt(claim.delivery.id, status, finish)
                .await?;
        }
        Ok(report)
    }

    /// Whether any endpoint is enabled: whether a status change can owe a delivery at all.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn any_endpoint_enabled(&self) -> Result<bool, StoreError> {
        let endpoints = self.repo.list_webhooks().await?;
        Ok(endpoints.iter().any(|endpoint| endpoint.enabled))
    }

    /// Deletes one batch ([`PURGE_BATCH`](super::PURGE_BATCH)) of deliveries delivered before
    /// `cutoff`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn purge_delivered_before(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        self.repo.purge_delivered(cutoff, super::PURGE_BATCH).await
    }

    /// The clock deliveries are timed by.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The signed request of a claimed delivery, timestamped now.
    pub fn request(&self, claim: &ClaimedDelivery) -> WebhookRequest {
        let now = self.clock.now();
        let id = claim.delivery.event_id.to_string();
        let body = payload(&claim.delivery).into_bytes();
        let timestamp = now.timestamp();
        WebhookRequest {
            url: claim.endpoint.url.clone(),
            signature: claim.endpoint.signature(&id, timestamp, &body, now),
            id,
            timestamp,
            body,
        }
    }
}

/// The JSON body of a delivery: `{"type", "timestamp", "data": {"user_id", "email",
/// "actor": {"kind", "id", "name"}, "reason", "at"}}`; a `user.role_changed` event's data also
/// has `"from_role"` and `"to_role"`. Bounded: a reason has at most 500
/// characters, an email or a name 254, so a body stays far below 20 kB.
pub fn payload(delivery: &WebhookDelivery) -> String {
    let at = delivery.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let actor_id = delivery
        .actor
        .id
        .map_or_else(|| "null".to_owned(), |id| json_string(&id.to_string()));
    let reason = delivery
        .reason
        .as_ref()
        .map_or_else(|| "null".to_owned(), |r| json_string(r.as_str()));
    let roles = delivery.role_shift.map_or_else(String::new, |shift| {
        format!(
            r#","from_role":{},"to_role":{}"#,
            json_string(shift.from.as_str()),
            json_string(shift.to.as_str())
        )
    });
    format!(
        concat!(
            r#"{{"type":{},"timestamp":{},"data":{{"user_id":{},"email":{},"#,
            r#""actor":{{"kind":{},"id":{},"name":{}}},"reason":{},"at":{}{}}}}}"#
        ),
        json_string(delivery.event_type.as_str()),
        json_string(&at),
        json_string(&delivery.user_id.to_string()),
        json_string(&delivery.email),
        json_string(delivery.actor.kind.as_str()),
        actor_id,
        json_string(&delivery.actor.name),
        reason,
        json_string(&at),
        roles,
    )
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;
