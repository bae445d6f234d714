use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::StoreError;

/// Who is trying to sign in: the account named (normalized: trimmed, lower-case, at most
/// [`AttemptKey::MAX_ACCOUNT_CHARS`] characters) and the client it comes from (an address, or
/// an IPv6 /64 network, as the host resolved it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKey {
    account: String,
    client: String,
}

impl AttemptKey {
    /// Longer account names are cut: no email address is longer, and keys stay small.
    pub const MAX_ACCOUNT_CHARS: usize = 320;

    pub fn new(account: &str, client: &str) -> Self {
        Self {
            account: account
                .trim()
                .to_lowercase()
                .chars()
                .take(Self::MAX_ACCOUNT_CHARS)
                .collect(),
            client: client.chars().take(Self::MAX_ACCOUNT_CHARS).collect(),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// The account part of every key for `account` (as typed at sign-in, or a user's email).
    pub fn account_of(account: &str) -> String {
        Self::new(account, "").account
    }

    pub fn client(&self) -> &str {
        &self.client
    }
}

/// The answer to [`LoginAttempts::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reservation {
    /// The attempt may be evaluated; it already counts as a failure until released.
    Granted,
    /// The pair or the client is locked out; nothing was counted.
    Refused { retry_after_seconds: u64 },
}

/// Why a granted reservation is given back ([`LoginAttempts::release`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Release {
    /// The password was right: the attempt is given back and the pair's past failures are
    /// forgotten (the client's are not).
    Succeeded,
    /// The attempt was never judged (hashing busy, an internal failure): it is given back.
    NotEvaluated,
}

/// The sign-in lockouts in force on one account ([`LoginAttempts::lockouts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lockouts {
    /// How many clients are locked out of the account (per (account, client) pair).
    pub clients: u32,
    /// When the last of those lockouts ends; `None` when there is none.
    pub until: Option<DateTime<Utc>>,
}

/// The record of sign-in attempts, per *(account, client)* pair and per client, under the
/// domain's [`crate::ThrottlePolicy`]. Adapters apply the policy's decisions
/// ([`crate::ThrottlePolicy::reserve`], [`crate::ThrottlePolicy::release`]) atomically; they
/// hold no policy of their own.
///
/// An attempt is counted **before** the password is checked: a wrong password needs no further
/// call, so however many attempts run at once, at most the policy's budget is ever evaluated.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginAttempts: Send + Sync {
    /// In one atomic step: when the pair or the client is locked out at `now`, returns
    /// [`Reservation::Refused`] with the whole seconds left (at least 1) and counts nothing;
    /// otherwise counts one failed attempt for the pair and for the client (which may lock them
    /// for later attempts) and returns [`Reservation::Granted`]. Concurrent calls, from any
    /// number of processes sharing the adapter's store, MUST behave as if made one at a time.
    ///
    /// # Errors
    /// [`StoreError`] when the record cannot be read or written; nothing is counted then.
    async fn reserve(
        &self,
        key: &AttemptKey,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError>;

    /// In one atomic step: gives back one attempt counted by a granted
    /// [`LoginAttempts::reserve`], lifting a lockout that attempt caused; with
    /// [`Release::Succeeded`] the pair's record is removed too.
    ///
    /// # Errors
    /// [`StoreError`] when the record cannot be written.
    async fn release(
        &self,
        key: &AttemptKey,
        why: Release,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The lockouts of the *(account, client)* pairs of `account` (normalized as in
    /// [`AttemptKey`]) still in force at `now`: how many clients are locked out of the account,
    /// and until when the last lockout lasts. Reads only; changes nothing. A client locked out
    /// as a whole (for many accounts) is not counted here.
    ///
    /// # Errors
    /// [`StoreError`] when the record cannot be read.
    async fn lockouts(&self, account: &str, now: DateTime<Utc>) -> Result<Lockouts, StoreError>;
}
