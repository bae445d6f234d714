//! The host's own store of accounts, their audit trail and the notifications their changes
//! owe, in memory behind one lock (so every call is one atomic step, as the ports ask). A real
//! host puts its database here; what it must honour is the same, and `tests/contract.rs` holds
//! it to Warden's conformance suite.

mod outbox;
mod users;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use warden_domain::{AuditEvent, Authority, HolderState, Notification, PasswordHash, User, UserId};

/// Accounts, audit trail and outbox. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct HostStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    accounts: HashMap<UserId, Account>,
    events: Vec<AuditEvent>,
    outbox: Vec<Owed>,
}

#[derive(Debug)]
struct Account {
    user: User,
    password_hash: PasswordHash,
}

/// One outbox entry.
#[derive(Debug)]
struct Owed {
    notification: Notification,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    /// The end of the lease of the claim delivering it now; `None` when no claim holds it.
    leased_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
}

impl HostStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock only means another caller panicked; every change is computed before it
    /// is stored, so the state is never half-written.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    // guide:begin authority
    /// Whether the authority a change acts on still holds, checked under the lock that applies
    /// the change (so authority withdrawn while the request was in flight stops it). The store
    /// says what it finds of the holder; the domain's `Authority::holds` judges it (an account
    /// still active, of the role it acted with, on the same token version).
    fn authority_holds(&self, authority: &Authority) -> bool {
        let found = match authority {
            Authority::Account { account, .. } => {
                self.accounts.get(account).map(|a| HolderState::Account {
                    active: a.user.is_active(),
                    role: a.user.role,
                    token_version: a.user.token_version,
                })
            }
            // This host has no machine clients (so no client's authority holds), and an
            // authority a newer warden-domain adds is found as nothing: it does not hold, and
            // the change is refused as `ActorRevoked`, never applied unchecked.
            _ => None,
        };
        authority.holds(found)
    }
    // guide:end authority

    /// Whether an active account of `role` other than `target` exists.
    fn another_active(&self, target: UserId, role: warden_domain::Role) -> bool {
        self.accounts
            .values()
            .any(|a| a.user.id != target && a.user.role == role && a.user.is_active())
    }
}
