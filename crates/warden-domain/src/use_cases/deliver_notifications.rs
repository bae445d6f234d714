use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use uuid::Uuid;

use crate::ports::{
    describe, Clock, MailError, Mailer, Outbox, OutboxEntry, OutboxStatus, PendingNotification,
    RetryNow, StoreError,
};
use crate::use_cases::Admin;
use crate::{Authorized, Guarded};

/// How the outbox is drained: batch size, lease, and the retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Notifications claimed per round.
    pub batch_size: u32,
    /// How long a claim is held before it is renewed; a claim whose worker died is due again
    /// after at most this long. Should exceed `max_send`: a shorter lease is renewed before
    /// every send and can still run out during one (then the send may be repeated).
    pub lease: TimeDelta,
    /// The longest one send can take (the mailer's own timeout). Before a send, claims with
    /// less than this left are renewed, so a live worker never loses a claim mid-send.
    pub max_send: TimeDelta,
    /// Delay after the first failure; doubled after each further failure.
    pub first_backoff: TimeDelta,
    pub max_backoff: TimeDelta,
    /// Attempts after which a transiently failing notification is given up on.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// With these values a notification is retried for about two days of mail outage, and a
    /// claim left by a crashed worker is due again within 15 s.
    fn default() -> Self {
        Self {
            batch_size: 32,
            lease: TimeDelta::seconds(15),
            max_send: TimeDelta::seconds(10),
            first_backoff: TimeDelta::seconds(5),
            max_backoff: TimeDelta::minutes(30),
            max_attempts: 100,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt.
    pub fn backoff(&self, attempts: u32) -> TimeDelta {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_backoff
            .checked_mul(1 << doublings)
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }
}

/// The largest page of [`DeliverNotifications::list`]; 20 is the usual default.
pub const OUTBOX_MAX_PAGE: u32 = 100;

/// One page of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxPage {
    pub entries: Vec<OutboxEntry>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<Uuid>,
}

/// Sent notifications deleted per statement: small, so a purge never holds locks for long.
pub const PURGE_BATCH: u32 = 500;

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
}

impl DeliveryReport {
    pub fn claimed(&self) -> u32 {
        self.sent + self.retried + self.failed
    }
}

/// Delivers the notifications owed to users: claims due outbox entries, renders and sends each,
/// and records the result. At-least-once: a crash between sending and recording means the same
/// message (same Message-ID) is sent again once its lease ends.
#[derive(Clone)]
pub struct DeliverNotifications {
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
}

impl DeliverNotifications {
    pub fn new(
        outbox: Arc<dyn Outbox>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            outbox,
            mailer,
            clock,
            policy,
        }
    }

    /// One round: claims at most one batch and tries each notification in it once.
    ///
    /// # Errors
    /// When the outbox cannot be read or updated. Mail failures are not errors: they are
    /// recorded on the notification and counted in the report.
    pub async fn run_once(&self) -> Result<DeliveryReport, StoreError> {
        self.run_up_to(self.policy.batch_size).await
    }

    /// [`DeliverNotifications::run_once`] claiming at most `limit` (and at most a batch), for a
    /// caller that paces deliveries.
    ///
    /// # Errors
    /// As [`DeliverNotifications::run_once`].
    pub async fn run_up_to(&self, limit: u32) -> Result<DeliveryReport, StoreError> {
        let lease = self.policy.lease;
        let now = self.clock.now();
        let mut lease_until = now + lease;
        let claimed = self
            .outbox
            .claim_due(now, lease_until, limit.min(self.policy.batch_size))
            .await?;
        let mut report = DeliveryReport::default();
        for (index, pending) in claimed.iter().enumerate() {
            let now = self.clock.now();
            if now + self.policy.max_send > lease_until {
                // This send could outlast the claim: renew what is left of the batch first.
                lease_until = now + lease;
                let rest: Vec<_> = claimed[index..]
                    .iter()
                    .map(|pending| pending.notification.id)
                    .collect();
                self.outbox.renew_lease(&rest, lease_until).await?;
            }
            self.deliver(pending.clone(), &mut report).await?;
        }
        Ok(report)
    }

    /// Deletes one batch of notifications sent before `sent_before`; returns how many.
    ///
    /// # Errors
    /// When the outbox cannot be updated.
    pub async fn purge_sent_before(&self, sent_before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.outbox.purge_sent(sent_before, PURGE_BATCH).await
    }

    /// A page of notifications in `status` for an admin: at most `limit` (1 to
    /// [`OUTBOX_MAX_PAGE`]), newest first, after the `cursor` of the previous page.
    ///
    /// # Errors
    /// When the outbox cannot be read.
    pub async fn list(
        &self,
        _admin: &Admin,
        status: OutboxStatus,
        cursor: Option<Uuid>,
        limit: u32,
    ) -> Result<OutboxPage, StoreError> {
        let limit = limit.clamp(1, OUTBOX_MAX_PAGE);
        let mut entries = self.outbox.list(status, cursor, limit + 1).await?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next_cursor = more
            .then(|| entries.last().map(|entry| entry.notification.id))
            .flatten();
        Ok(OutboxPage {
            entries,
            next_cursor,
        })
    }

    /// An admin asks for a pending or failed notification to be tried again now; the admin's
    /// authority is re-checked when the retry commits ([`Guarded::ActorRevoked`]: nothing
    /// changed).
    ///
    /// # Errors
    /// When the outbox cannot be updated.
    pub async fn retry_now(
        &self,
        admin: &Admin,
        id: Uuid,
    ) -> Result<Guarded<RetryNow>, StoreError> {
        let by = Authorized::new(admin.actor().clone(), self.clock.now());
        self.outbox.retry_now(id, &by).await
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    async fn deliver(
        &self,
        pending: PendingNotification,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let id = pending.notification.id;
        let email = pending.notification.render();
        match self.mailer.send(&email).await {
            Ok(()) => {
                self.outbox.mark_sent(id, self.clock.now()).await?;
                report.sent += 1;
            }
            Err(MailError::Transient(cause)) if pending.attempts < self.policy.max_attempts => {
                let next = self.clock.now() + self.policy.backoff(pending.attempts);
                self.outbox
                    .retry_later(id, next, &describe(&*cause))
                    .await?;
                report.retried += 1;
            }
            Err(MailError::Transient(cause) | MailError::Permanent(cause)) => {
                self.outbox
                    .give_up(id, self.clock.now(), &describe(&*cause))
                    .await?;
                report.failed += 1;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for DeliverNotifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverNotifications")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "deliver_notifications_tests.rs"]
mod tests;
