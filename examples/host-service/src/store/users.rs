//! [`UserRepo`] for [`HostStore`].

use std::cmp::Reverse;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AccountStatus, AuditEvent, EmailAddress, EventFilter, LockedTarget, NewUser, Notification,
    PasswordHash, StatusAction, StatusChange, StatusChangeOutcome, User, UserFilter, UserId,
    Verdict,
};

use super::{Account, HostStore, Owed, State};

/// A deactivated account's suspension end, as [`StatusChange::expectation_holds`] reads it.
fn suspension_end(user: &User) -> Option<DateTime<Utc>> {
    match &user.status {
        AccountStatus::Deactivated(deactivation) => deactivation.until,
        AccountStatus::Active => None,
    }
}

// guide:begin change_status
/// The guards the domain declares for `change`, checked against the state under its lock: `Ok`
/// to apply, or the outcome the domain's own verdict gives for the guard that failed.
fn decide(
    state: &State,
    change: &StatusChange,
) -> Result<(), Result<StatusChangeOutcome, StoreError>> {
    // What the store finds of the target, locked (here: under the one lock) ...
    let target = state.accounts.get(&change.target).map(|a| LockedTarget {
        active: a.user.is_active(),
        role: a.user.role,
        until: suspension_end(&a.user),
    });
    let actor_holds = state.authority_holds(change.actor.authority());
    let another_active = |role| Ok::<_, StoreError>(state.another_active(change.target, role));
    // ... and the domain's verdict: the store adds no rule of its own.
    match change.verdict(target, actor_holds, another_active) {
        Ok(Verdict::Apply) => Ok(()),
        Ok(Verdict::Refuse(outcome)) => Err(Ok(outcome)),
        Err(error) => Err(Err(error)),
    }
}
// guide:end change_status

#[async_trait]
impl UserRepo for HostStore {
    async fn create(&self, new: NewUser) -> Result<User, StoreError> {
        let mut state = self.lock();
        if state.accounts.contains_key(&new.id) {
            return Err(StoreError::Conflict("user id taken".into()));
        }
        if state.accounts.values().any(|a| a.user.email == new.email) {
            return Err(StoreError::Conflict("email address taken".into()));
        }
        let user = User {
            id: new.id,
            email: new.email,
            first_name: new.first_name,
            last_name: new.last_name,
            role: new.role,
            status: AccountStatus::Active,
            token_version: 0,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        let account = Account {
            user: user.clone(),
            password_hash: new.password_hash,
        };
        state.accounts.insert(user.id, account);
        Ok(user)
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock().accounts.get(id).map(|a| a.user.clone()))
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let state = self.lock();
        let found = state.accounts.values().find(|a| &a.user.email == email);
        Ok(found.map(|a| a.user.clone()))
    }

    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        let state = self.lock();
        let found = state.accounts.values().find(|a| &a.user.email == email);
        Ok(found.map(|a| (a.user.clone(), a.password_hash.clone())))
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        let mut state = self.lock();
        if let Err(refused) = decide(&state, &change) {
            return refused;
        }
        let Some(account) = state.accounts.get_mut(&change.target) else {
            return Ok(StatusChangeOutcome::NotFound);
        };
        // The status, who/when/why, a new token version: all from the domain's decision.
        account.user.status = change.new_status();
        account.user.token_version += 1;
        account.user.updated_at = change.at;
        let user = account.user.clone();
        state.events.push(AuditEvent {
            id: change.event_id,
            user_id: user.id,
            actor: (&change.actor).into(),
            action: change.action.into(),
            role_shift: None,
            reason: change.reason.clone(),
            at: change.at,
        });
        let until = change
            .until
            .filter(|_| change.action == StatusAction::Deactivate);
        state.outbox.push(Owed {
            notification: Notification {
                id: change.notification_id,
                action: change.action,
                to: user.email.clone(),
                name: user.display_name().to_owned(),
                reason: change.reason,
                occurred_at: change.at,
                until,
            },
            attempts: 0,
            next_attempt_at: change.at,
            leased_until: None,
            last_error: None,
            sent_at: None,
            failed_at: None,
        });
        Ok(StatusChangeOutcome::Applied(Box::new(user)))
    }

    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let state = self.lock();
        let kept = |e: &&AuditEvent| &e.user_id == user && after.is_none_or(|a| e.id < a);
        Ok(newest_first(state.events.iter().filter(kept), limit, |e| {
            e.id
        }))
    }

    async fn search(
        &self,
        filter: &UserFilter,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let state = self.lock();
        let users = state.accounts.values().map(|a| &a.user);
        let kept = users.filter(|u| filter.matches(u) && after.is_none_or(|a| u.id < a));
        Ok(newest_first(kept, limit, |u| u.id))
    }

    async fn audit_log(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let state = self.lock();
        let kept = |e: &&AuditEvent| filter.matches(e) && after.is_none_or(|a| e.id < a);
        Ok(newest_first(state.events.iter().filter(kept), limit, |e| {
            e.id
        }))
    }

    async fn due_suspensions(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        let state = self.lock();
        let mut due: Vec<(DateTime<Utc>, UserId)> = state
            .accounts
            .values()
            .filter_map(|a| Some((suspension_end(&a.user)?, a.user.id)))
            .filter(|(until, _)| *until <= now)
            .collect();
        due.sort();
        due.truncate(limit as usize);
        Ok(due.into_iter().map(|(_, id)| id).collect())
    }
}

/// At most `limit` of `items`, cloned, by `key` descending (ids are UUIDv7: newest first).
fn newest_first<'a, T: Clone + 'a, K: Ord>(
    items: impl Iterator<Item = &'a T>,
    limit: u32,
    key: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut items: Vec<T> = items.cloned().collect();
    items.sort_by_key(|item| Reverse(key(item)));
    items.truncate(limit as usize);
    items
}
