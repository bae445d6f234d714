//! [`WebhookRepo`] for [`MemoryStore`]: endpoints and deliveries behind a mutex of their own,
//! locked after the accounts' state by a status change (which writes the deliveries under both
//! locks, so a change and its deliveries appear together), and alone by everything else.

use std::cmp::Reverse;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;
use warden_domain::ports::{Finish, RetryDelivery, StoreError, WebhookRepo};
use warden_domain::{
    Authorized, ChangeAction, ClaimedDelivery, DeliveryStatus, Guarded, NewWebhook, StatusChange,
    User, WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookSecret,
};

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Webhooks(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    endpoints: Vec<WebhookEndpoint>,
    deliveries: Vec<Delivery>,
}

#[derive(Debug)]
struct Delivery {
    delivery: WebhookDelivery,
    leased_until: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
}

impl Webhooks {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The deliveries a committed change owes: one per enabled endpoint subscribed to its
    /// event. Called by `change_status` while it holds the accounts' lock.
    pub(crate) fn enqueue(&self, change: &StatusChange, user: &User, at: DateTime<Utc>) {
        let event = Owed {
            event_id: change.event_id,
            event_type: WebhookEventType::of(change.action),
            actor: (&change.actor).into(),
            reason: change.reason.clone(),
            role_shift: None,
        };
        self.enqueue_event(event, user, at);
    }

    /// Queues the deliveries of `event`: one per enabled endpoint subscribed to its type.
    pub(crate) fn enqueue_event(&self, event: Owed, user: &User, at: DateTime<Utc>) {
        let event_type = event.event_type;
        let mut state = self.lock();
        let owed: Vec<Delivery> = state
            .endpoints
            .iter()
            .filter(|e| e.enabled && e.subscribes(event_type))
            .map(|endpoint| Delivery {
                delivery: WebhookDelivery {
                    id: Uuid::now_v7(),
                    endpoint_id: endpoint.id,
                    event_id: event.event_id,
                    event_type,
                    user_id: user.id,
                    email: user.email.as_str().to_owned(),
                    actor: event.actor.clone(),
                    reason: event.reason.clone(),
                    role_shift: event.role_shift,
                    at,
                    attempts: 0,
                    last_status_code: None,
                    last_error: None,
                    next_attempt_at: at,
                    status: DeliveryStatus::Pending,
                },
                leased_until: None,
                delivered_at: None,
            })
            .collect();
        state.deliveries.extend(owed);
    }
}

fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

#[async_trait]
impl WebhookRepo for MemoryStore {
    async fn create_webhook(
        &self,
        new: NewWebhook,
        by: &Authorized,
    ) -> Result<Guarded<WebhookEndpoint>, StoreError> {
        self.authorized(by, || {
            let mut state = self.webhooks.lock();
            if state.endpoints.iter().any(|e| e.id == new.id) {
                return Err(StoreError::Conflict("webhook id taken".into()));
            }
            let endpoint = WebhookEndpoint {
                id: new.id,
                url: new.url,
                description: new.description,
                events: new.events,
                enabled: true,
                secret: new.secret,
                previous_secret: None,
                created_at: micros(new.created_at),
                created_by: by.created_by(),
            };
            state.endpoints.push(endpoint.clone());
            let record = by.record(ChangeAction::WebhookCreated, endpoint.id, Vec::new());
            Ok((endpoint, Some(record)))
        })
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut endpoints = self.webhooks.lock().endpoints.clone();
        endpoints.sort_by_key(|e| e.id);
        Ok(endpoints)
    }

    async fn find_webhook(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError> {
        let state = self.webhooks.lock();
        Ok(state.endpoints.iter().find(|e| e.id == id).cloned())
    }

    async fn delete_webhook(&self, id: Uuid, by: &Authorized) -> Result<Guarded<bool>, StoreError> {
        self.authorized(by, || {
            let mut state = self.webhooks.lock();
            let before = state.endpoints.len();
            state.endpoints.retain(|e| e.id != id);
            state.deliveries.retain(|d| d.delivery.endpoint_id != id);
            let deleted = state.endpoints.len() < before;
            let record = deleted.then(|| by.record(ChangeAction::WebhookDeleted, id, Vec::new()));
            Ok((deleted, record))
        })
    }

    async fn rotate_secret(
        &self,
        id: Uuid,
        secret: WebhookSecret,
        previous_until: DateTime<Utc>,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError> {
        self.authorized(by, || {
            let mut state = self.webhooks.lock();
            let found = state.endpoints.iter_mut().find(|e| e.id == id).map(|e| {
                let previous = std::mem::replace(&mut e.secret, secret);
                e.previous_secret = Some((previous, micros(previous_until)));
                e.clone()
            });
            let record = found
                .as_ref()
                .map(|_| by.record(ChangeAction::WebhookSecretRotated, id, Vec::new()));
            Ok((found, record))
        })
    }

    async fn set_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError> {
        self.authorized(by, || {
            let mut state = self.webhooks.lock();
            let found = state.endpoints.iter_mut().find(|e| e.id == id).map(|e| {
                e.enabled = enabled;
                e.clone()
            });
            let record = found
                .as_ref()
                .map(|_| by.record(ChangeAction::WebhookUpdated, id, Vec::new()));
            Ok((found, record))
        })
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let state = self.webhooks.lock();
        let mut found: Vec<WebhookDelivery> = state
            .deliveries
            .iter()
            .map(|d| &d.delivery)
            .filter(|d| d.endpoint_id == endpoint && before.is_none_or(|b| d.event_id < b))
            .cloned()
            .collect();
        found.sort_by_key(|d| Reverse(d.event_id));
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn retry_delivery(
        &self,
        endpoint: Uuid,
        delivery: Uuid,
        now: DateTime<Utc>,
    ) -> Result<RetryDelivery, StoreError> {
        let mut state = self.webhooks.lock();
        let Some(found) = state
            .deliveries
            .iter_mut()
            .find(|d| d.delivery.id == delivery && d.delivery.endpoint_id == endpoint)
        else {
            return Ok(RetryDelivery::NotFound);
        };
        Ok(match found.delivery.status {
            DeliveryStatus::Delivered => RetryDelivery::AlreadyDelivered,
            _ if found.leased_until.is_some_and(|until| until > now) => RetryDelivery::InFlight,
            _ => {
                found.delivery.status = DeliveryStatus::Pending;
                found.delivery.next_attempt_at = micros(now);
                found.leased_until = None;
                RetryDelivery::Queued
            }
        })
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut state = self.webhooks.lock();
        let State {
            endpoints,
            deliveries,
        } = &mut *state;
        let mut due: Vec<&mut Delivery> = deliveries
            .iter_mut()
            .filter(|d| {
                d.delivery.status == DeliveryStatus::Pending
                    && d.delivery.next_attempt_at <= now
                    && endpoints
                        .iter()
                        .any(|e| e.id == d.delivery.endpoint_id && e.enabled)
            })
            .collect();
        due.sort_by_key(|d| (d.delivery.next_attempt_at, d.delivery.id));
        due.truncate(limit as usize);
        let lease_until = micros(lease_until);
        Ok(due
            .into_iter()
            .filter_map(|d| {
                d.delivery.attempts += 1;
                d.delivery.next_attempt_at = lease_until;
                d.leased_until = Some(lease_until);
                let endpoint = endpoints.iter().find(|e| e.id == d.delivery.endpoint_id)?;
                Some(ClaimedDelivery {
                    delivery: d.delivery.clone(),
                    endpoint: endpoint.clone(),
                })
            })
            .collect())
    }

    async fn finish_attempt(
        &self,
        delivery: Uuid,
        status: Option<u16>,
        finish: Finish,
    ) -> Result<(), StoreError> {
        let mut state = self.webhooks.lock();
        let Some(found) = state
            .deliveries
            .iter_mut()
            .find(|d| d.delivery.id == delivery && d.delivery.status == DeliveryStatus::Pending)
        else {
            return Ok(());
        };
        found.leased_until = None;
        found.delivery.last_status_code = status;
        let endpoint = found.delivery.endpoint_id;
        let mut disable = false;
        match finish {
            Finish::Delivered => {
                found.delivery.status = DeliveryStatus::Delivered;
                found.delivered_at = Some(micros(Utc::now()));
            }
            Finish::RetryAt(at, error) => {
                found.delivery.next_attempt_at = micros(at);
                found.delivery.last_error = Some(error);
            }
            Finish::Failed(error) => {
                found.delivery.status = DeliveryStatus::Failed;
                found.delivery.last_error = Some(error);
            }
            Finish::Gone => {
                found.delivery.status = DeliveryStatus::Failed;
                found.delivery.last_error = Some("answered 410 Gone".into());
                disable = true;
            }
        }
        if disable {
            if let Some(e) = state.endpoints.iter_mut().find(|e| e.id == endpoint) {
                e.enabled = false;
            }
        }
        Ok(())
    }

    async fn purge_delivered(
        &self,
        delivered_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut state = self.webhooks.lock();
        let mut old: Vec<(DateTime<Utc>, Uuid)> = state
            .deliveries
            .iter()
            .filter_map(|d| d.delivered_at.map(|at| (at, d.delivery.id)))
            .filter(|(at, _)| *at < delivered_before)
            .collect();
        old.sort();
        old.truncate(limit as usize);
        let gone: Vec<Uuid> = old.into_iter().map(|(_, id)| id).collect();
        state.deliveries.retain(|d| !gone.contains(&d.delivery.id));
        Ok(gone.len() as u64)
    }
}

/// An event that owes webhook deliveries.
pub(crate) struct Owed {
    pub(crate) event_id: Uuid,
    pub(crate) event_type: WebhookEventType,
    pub(crate) actor: warden_domain::RecordedActor,
    pub(crate) reason: Option<warden_domain::Reason>,
    pub(crate) role_shift: Option<warden_domain::RoleShift>,
}
