//! [`MemoryStore`]: one in-memory adapter of [`UserRepo`] and [`Outbox`], held to the same
//! conformance suite ([`crate::contract`]) as PostgreSQL and SQLite. For tests, examples,
//! benchmarks and host services that want Warden's behaviour without a database; pair it with
//! [`warden_domain::MemoryLoginAttempts`] for sign-in throttling.
//!
//! One mutex guards the whole state, so every call is one atomic step, as the ports ask.
//! Timestamps are kept to the microsecond, like the database stores.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;
use warden_domain::ports::{
    Outbox, OutboxEntry, OutboxStats, OutboxStatus, PendingNotification, RetryNow, StoreError,
    UserRepo,
};
use warden_domain::{
    AccountStatus, AuditAction, AuditEvent, AuditedChange, Authority, Authorized, Deactivation,
    EmailAddress, EventFilter, Guarded, HolderState, LockedTarget, NewUser, Notification,
    PasswordHash, RecordedActor, Role, RoleChange, RoleChangeOutcome, RoleShift, RoleTarget,
    StatusAction, StatusChange, StatusChangeOutcome, User, UserFilter, UserId, Verdict,
    WebhookEventType,
};

#[path = "memory_provisioning.rs"]
mod memory_provisioning;

/// Accounts, their audit trail and the outbox, in memory. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// The machine clients (see `memory_clients.rs`).
    pub(crate) clients: crate::memory_clients::Clients,
    /// Webhook endpoints and deliveries (see `memory_webhooks.rs`).
    pub(crate) webhooks: crate::memory_webhooks::Webhooks,
    /// Shared Signals streams and their SETs (see `memory_ssf.rs`).
    pub(crate) ssf: crate::memory_ssf::Streams,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    users: HashMap<UserId, Account>,
    events: Vec<AuditEvent>,
    outbox: Vec<Entry>,
    /// Provisioning attributes by account (see `memory_provisioning.rs`).
    provisioning: HashMap<UserId, memory_provisioning::Attributes>,
    /// The audited changes other than status changes (see `memory_changes.rs`).
    pub(crate) changes: Vec<AuditedChange>,
}

impl State {
    /// Stores a new, active account (see [`UserRepo::create`]).
    pub(crate) fn insert_user(&mut self, new: NewUser) -> Result<User, StoreError> {
        if self.users.contains_key(&new.id) {
            return Err(StoreError::Conflict("user id taken".into()));
        }
        if self.users.values().any(|a| a.user.email == new.email) {
            return Err(StoreError::Conflict("email address taken".into()));
        }
        let created_at = micros(new.created_at);
        let user = User {
            id: new.id,
            email: new.email,
            first_name: new.first_name,
            last_name: new.last_name,
            role: new.role,
            status: AccountStatus::Active,
            token_version: 0,
            created_at,
            updated_at: created_at,
        };
        self.users.insert(
            user.id,
            Account {
                user: user.clone(),
                password_hash: new.password_hash,
            },
        );
        Ok(user)
    }

    /// Whether the authority a change acts on still holds (see [`Authority`]), with the
    /// store's machine clients (locked after the state; client operations never lock both).
    pub(crate) fn authority_holds(
        &self,
        authority: &Authority,
        clients: &crate::memory_clients::Clients,
    ) -> bool {
        let found = match authority {
            Authority::Account { account, .. } => {
                self.users.get(account).map(|a| HolderState::Account {
                    active: a.user.is_active(),
                    role: a.user.role,
                    token_version: a.user.token_version,
                })
            }
            Authority::Client { client } => Some(HolderState::Client {
                revoked: !clients.is_live(*client),
            }),
            _ => None,
        };
        authority.holds(found)
    }
}

#[derive(Debug)]
struct Account {
    user: User,
    password_hash: PasswordHash,
}

#[derive(Debug)]
struct Entry {
    notification: Notification,
    attempts: u32,
    /// When it is next due; a claim pushes it to the end of the lease.
    next_attempt_at: DateTime<Utc>,
    /// The end of the lease of the claim delivering it now, if any.
    leased_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
}

impl Entry {
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

    fn pending(&self) -> PendingNotification {
        PendingNotification {
            notification: self.notification.clone(),
            attempts: self.attempts,
        }
    }
}

/// The database stores' precision.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock only means another caller panicked mid-test; the state itself is never
    /// left half-written (every change is computed before it is stored).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a privileged write on `by`'s authority, as one atomic step: under the accounts'
    /// lock (taken before the clients' and the webhooks' locks, as a status change takes them),
    /// `write` runs only if the actor's authority holds, and is given the audit trail of
    /// changes to record in. It returns `(result, record)`: the record, if any, is kept.
    pub(crate) fn authorized<T>(
        &self,
        by: &Authorized,
        write: impl FnOnce() -> Result<(T, Option<AuditedChange>), StoreError>,
    ) -> Result<Guarded<T>, StoreError> {
        let mut state = self.state();
        if !state.authority_holds(by.actor.authority(), &self.clients) {
            return Ok(Guarded::ActorRevoked);
        }
        let (result, record) = write()?;
        if let Some(mut record) = record {
            record.at = micros(record.at);
            state.changes.push(record);
        }
        Ok(Guarded::Applied(result))
    }

    /// Applies a status change to `state` (held locked by the caller): the one implementation
    /// of [`UserRepo::change_status`], also used inside provisioning's combined write.
    pub(crate) fn apply_change(
        &self,
        state: &mut State,
        change: StatusChange,
    ) -> Result<StatusChangeOutcome, StoreError> {
        let target = state.users.get(&change.target).map(|a| LockedTarget {
            active: a.user.is_active(),
            role: a.user.role,
            until: match &a.user.status {
                AccountStatus::Deactivated(d) => d.until,
                AccountStatus::Active => None,
            },
        });
        let actor_holds = state.authority_holds(change.actor.authority(), &self.clients);
        let another_active =
            |role: Role| {
                Ok::<_, StoreError>(state.users.values().any(|a| {
                    a.user.id != change.target && a.user.role == role && a.user.is_active()
                }))
            };
        if let Verdict::Refuse(outcome) = change.verdict(target, actor_holds, another_active)? {
            return Ok(outcome);
        }
        let Some(account) = state.users.get_mut(&change.target) else {
            return Ok(StatusChangeOutcome::NotFound);
        };
        let at = micros(change.at);
        let user = &mut account.user;
        user.status = match change.new_status() {
            AccountStatus::Deactivated(deactivation) => AccountStatus::Deactivated(Deactivation {
                at: micros(deactivation.at),
                until: deactivation.until.map(micros),
                ..deactivation
            }),
            active => active,
        };
        user.token_version += 1;
        user.updated_at = at;
        let user = user.clone();
        state.events.push(AuditEvent {
            id: change.event_id,
            user_id: user.id,
            actor: (&change.actor).into(),
            action: change.action.into(),
            role_shift: None,
            reason: change.reason.clone(),
            at,
        });
        self.webhooks.enqueue(&change, &user, at);
        self.ssf.enqueue(&change, &user, at);
        state.outbox.push(Entry {
            notification: Notification {
                id: change.notification_id,
                action: change.action,
                to: user.email.clone(),
                name: user.display_name().to_owned(),
                reason: change.reason,
                occurred_at: at,
                until: change
                    .until
                    .filter(|_| change.action == StatusAction::Deactivate)
                    .map(micros),
            },
            attempts: 0,
            next_attempt_at: at,
            leased_until: None,
            last_error: None,
            sent_at: None,
            failed_at: None,
        });
        Ok(StatusChangeOutcome::Applied(Box::new(user)))
    }

    fn unfinished_entry(&self, id: Uuid, update: impl FnOnce(&mut Entry)) {
        let mut state = self.state();
        if let Some(entry) = state
            .outbox
            .iter_mut()
            .find(|e| e.notification.id == id && e.unfinished())
        {
            update(entry);
        }
    }
}

#[async_trait]
impl UserRepo for MemoryStore {
    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        self.state().insert_user(new)
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(id).map(|a| a.user.clone()))
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let state = self.state();
        let found = state.users.values().find(|a| &a.user.email == email);
        Ok(found.map(|a| a.user.clone()))
    }

    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        let state = self.state();
        let found = state.users.values().find(|a| &a.user.email == email);
        Ok(found.map(|a| (a.user.clone(), a.password_hash.clone())))
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let mut state = self.state();
        self.apply_change(&mut state, change)
    }

    async fn change_role(&self, change: RoleChange) -> Result<RoleChangeOutcome, StoreError> {
        let mut state = self.state();
        let found = state.users.get(&change.target).map(|a| RoleTarget {
            role: a.user.role,
            active: a.user.is_active(),
        });
        let actor_holds = state.authority_holds(change.actor.authority(), &self.clients);
        let another_active_admin = || {
            Ok::<_, StoreError>(state.users.values().any(|a| {
                a.user.id != change.target && a.user.role == Role::Admin && a.user.is_active()
            }))
        };
        if let Some(outcome) = change.verdict(found, actor_holds, another_active_admin)? {
            return Ok(outcome);
        }
        let Some(account) = state.users.get_mut(&change.target) else {
            return Ok(RoleChangeOutcome::NotFound);
        };
        let at = micros(change.at);
        let from = account.user.role;
        account.user.role = change.to;
        account.user.token_version += 1;
        account.user.updated_at = at;
        let user = account.user.clone();
        let actor: RecordedActor = (&change.actor).into();
        let role_shift = Some(RoleShift {
            from,
            to: change.to,
        });
        state.events.push(AuditEvent {
            id: change.event_id,
            user_id: user.id,
            actor: actor.clone(),
            action: AuditAction::RoleChanged,
            role_shift,
            reason: change.reason.clone(),
            at,
        });
        let owed = crate::memory_webhooks::Owed {
            event_id: change.event_id,
            event_type: WebhookEventType::UserRoleChanged,
            actor,
            reason: change.reason,
            role_shift,
        };
        self.webhooks.enqueue_event(owed, &user, at);
        Ok(RoleChangeOutcome::Applied {
            user: Box::new(user),
            from,
        })
    }

    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let state = self.state();
        let mut events: Vec<AuditEvent> = state
            .events
            .iter()
            .filter(|e| &e.user_id == user && after.is_none_or(|cursor| e.id < cursor))
            .cloned()
            .collect();
        events.sort_by_key(|e| Reverse(e.id));
        events.truncate(limit as usize);
        Ok(events)
    }

    async fn search(
        &self,
        filter: &UserFilter,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let state = self.state();
        let mut users: Vec<User> = state
            .users
            .values()
            .map(|a| &a.user)
            .filter(|u| filter.matches(u) && after.is_none_or(|cursor| u.id < cursor))
            .cloned()
            .collect();
        users.sort_by_key(|u| Reverse(u.id));
        users.truncate(limit as usize);
        Ok(users)
    }

    async fn audit_log(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let state = self.state();
        let mut events: Vec<AuditEvent> = state
            .events
            .iter()
            .filter(|e| filter.matches(e) && after.is_none_or(|cursor| e.id < cursor))
            .cloned()
            .collect();
        events.sort_by_key(|e| Reverse(e.id));
        events.truncate(limit as usize);
        Ok(events)
    }

    async fn due_suspensions(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        let state = self.state();
        let mut due: Vec<(DateTime<Utc>, UserId)> = state
            .users
            .values()
            .filter_map(|a| {
                match &a.user.status {
                    AccountStatus::Deactivated(d) => d.until.filter(|until| *until <= now),
                    AccountStatus::Active => None,
                }
                .map(|until| (until, a.user.id))
            })
            .collect();
        due.sort();
        due.truncate(limit as usize);
        Ok(due.into_iter().map(|(_, id)| id).collect())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        let (now, lease_until) = (micros(now), micros(lease_until));
        let mut state = self.state();
        let mut due: Vec<&mut Entry> = state
            .outbox
            .iter_mut()
            .filter(|e| e.unfinished() && e.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|e| (e.next_attempt_at, e.notification.id));
        due.truncate(limit as usize);
        Ok(due
            .into_iter()
            .map(|entry| {
                entry.attempts += 1;
                entry.next_attempt_at = lease_until;
                entry.leased_until = Some(lease_until);
                entry.pending()
            })
            .collect())
    }

    async fn renew_lease(
        &self,
        ids: &[Uuid],
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        for entry in state.outbox.iter_mut() {
            // Only a lease a claim still holds: sent, given-up and rescheduled entries have none.
            let held = entry.unfinished() && entry.leased_until.is_some();
            if held && ids.contains(&entry.notification.id) {
                entry.next_attempt_at = micros(lease_until);
                entry.leased_until = Some(micros(lease_until));
            }
        }
        Ok(())
    }

    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.unfinished_entry(id, |e| {
            e.sent_at = Some(micros(at));
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
        self.unfinished_entry(id, |e| {
            e.next_attempt_at = micros(next_attempt_at);
            e.leased_until = None;
            e.last_error = Some(error.to_owned());
        });
        Ok(())
    }

    async fn give_up(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        self.unfinished_entry(id, |e| {
            e.failed_at = Some(micros(at));
            e.leased_until = None;
            e.last_error = Some(error.to_owned());
        });
        Ok(())
    }

    async fn purge_sent(&self, sent_before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut old: Vec<(DateTime<Utc>, Uuid)> = state
            .outbox
            .iter()
            .filter_map(|e| e.sent_at.map(|at| (at, e.notification.id)))
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
        let state = self.state();
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
        let mut state = self.state();
        if !state.authority_holds(by.actor.authority(), &self.clients) {
            return Ok(Guarded::ActorRevoked);
        }
        let Some(entry) = state.outbox.iter_mut().find(|e| e.notification.id == id) else {
            return Ok(Guarded::Applied(RetryNow::NotFound));
        };
        if entry.sent_at.is_some() {
            return Ok(Guarded::Applied(RetryNow::AlreadySent));
        }
        if entry.leased_until.is_some_and(|until| until > micros(now)) {
            return Ok(Guarded::Applied(RetryNow::InFlight));
        }
        entry.failed_at = None;
        entry.next_attempt_at = micros(now);
        Ok(Guarded::Applied(RetryNow::Queued))
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        let state = self.state();
        let count = |status| state.outbox.iter().filter(|e| e.status() == status).count() as u64;
        Ok(OutboxStats {
            pending: count(OutboxStatus::Pending),
            failed: count(OutboxStatus::Failed),
        })
    }
}
