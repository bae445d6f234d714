//! [`Outbox`] for [`HostStore`]: claims lease entries; sending, giving up and rescheduling each
//! end the lease.

use std::cmp::Reverse;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use warden_domain::ports::{
    Outbox, OutboxEntry, OutboxStats, OutboxStatus, PendingNotification, RetryNow, StoreError,
};
use warden_domain::{Authorized, Guarded};

use super::{HostStore, Owed};

impl Owed {
    fn status(&self) -> OutboxStatus {
        match (self.sent_at, self.failed_at) {
            (Some(_), _) => OutboxStatus::Sent,
            (None, Some(_)) => OutboxStatus::Failed,
            (None, None) => OutboxStatus::Pending,
        }
    }

    fn unfinished(&self) -> bool {
        self.status() == OutboxStatus::Pending
    }
}

impl HostStore {
    /// Applies `update` to the entry `id` if it is neither sent nor given up on.
    fn update_unfinished(&self, id: Uuid, update: impl FnOnce(&mut Owed)) {
        let mut state = self.lock();
        let entry = state.outbox.iter_mut().find(|e| e.notification.id == id);
        if let Some(entry) = entry.filter(|e| e.unfinished()) {
            update(entry);
        }
    }
}

#[async_trait]
impl Outbox for HostStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        let mut state = self.lock();
        let mut due: Vec<&mut Owed> = state
            .outbox
            .iter_mut()
            .filter(|e| e.unfinished() && e.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|e| (e.next_attempt_at, e.notification.id));
        due.truncate(limit as usize);
        let claimed = due.into_iter().map(|entry| {
            entry.attempts += 1;
            entry.next_attempt_at = lease_until;
            entry.leased_until = Some(lease_until);
            PendingNotification {
                notification: entry.notification.clone(),
                attempts: entry.attempts,
            }
        });
        Ok(claimed.collect())
    }

    async fn renew_lease(
        &self,
        ids: &[Uuid],
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        // Only leases a claim still holds: a rescheduled entry stays due when it was told.
        let held = |e: &&mut Owed| e.unfinished() && e.leased_until.is_some();
        for entry in state.outbox.iter_mut().filter(held) {
            if ids.contains(&entry.notification.id) {
                entry.next_attempt_at = lease_until;
                entry.leased_until = Some(lease_until);
            }
        }
        Ok(())
    }

    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update_unfinished(id, |e| {
            e.sent_at = Some(at);
            e.leased_until = None;
        });
        Ok(())
    }

    async fn retry_later(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        self.update_unfinished(id, |e| {
            e.next_attempt_at = next_attempt_at;
            e.leased_until = None;
            e.last_error = Some(error.to_owned());
        });
        Ok(())
    }

    async fn give_up(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        self.update_unfinished(id, |e| {
            e.failed_at = Some(at);
            e.leased_until = None;
            e.last_error = Some(error.to_owned());
        });
        Ok(())
    }

    async fn purge_sent(&self, sent_before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut old: Vec<(DateTime<Utc>, Uuid)> = state
            .outbox
            .iter()
            .filter_map(|e| Some((e.sent_at?, e.notification.id)))
            .filter(|(at, _)| *at < sent_before)
            .collect();
        old.sort();
        old.truncate(limit as usize);
        state
            .outbox
            .retain(|e| !old.iter().any(|(_, id)| *id == e.notification.id));
        Ok(old.len() as u64)
    }

    async fn list(
        &self,
        status: OutboxStatus,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let state = self.lock();
        let mut entries: Vec<OutboxEntry> = state
            .outbox
            .iter()
            .filter(|e| e.status() == status && before.is_none_or(|b| e.notification.id < b))
            .map(|e| OutboxEntry {
                notification: e.notification.clone(),
                attempts: e.attempts,
                last_error: e.last_error.clone(),
                next_attempt_at: e.next_attempt_at,
                status: e.status(),
            })
            .collect();
        entries.sort_by_key(|e| Reverse(e.notification.id));
        entries.truncate(limit as usize);
        Ok(entries)
    }

    async fn retry_now(&self, id: Uuid, by: &Authorized) -> Result<Guarded<RetryNow>, StoreError> {
        let now = by.at;
        let mut state = self.lock();
        // A retry is a privileged write: its actor is re-checked under the lock that applies it.
        if !state.authority_holds(by.actor.authority()) {
            return Ok(Guarded::ActorRevoked);
        }
        let Some(entry) = state.outbox.iter_mut().find(|e| e.notification.id == id) else {
            return Ok(Guarded::Applied(RetryNow::NotFound));
        };
        if entry.sent_at.is_some() {
            return Ok(Guarded::Applied(RetryNow::AlreadySent));
        }
        if entry.leased_until.is_some_and(|until| until > now) {
            return Ok(Guarded::Applied(RetryNow::InFlight));
        }
        entry.failed_at = None;
        entry.next_attempt_at = now;
        Ok(Guarded::Applied(RetryNow::Queued))
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        let state = self.lock();
        let count = |status| state.outbox.iter().filter(|e| e.status() == status).count() as u64;
        Ok(OutboxStats {
            pending: count(OutboxStatus::Pending),
            failed: count(OutboxStatus::Failed),
        })
    }
}
