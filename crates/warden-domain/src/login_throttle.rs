use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{AttemptKey, Lockouts, LoginAttempts, Release, Reservation, StoreError};

/// Limits on failed sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one account from one client before that pair is locked out.
    pub account_failures: u32,
    /// Failures from one client (any accounts) within `window` before the client is locked out.
    pub client_failures: u32,
    /// How long failures are remembered.
    pub window: TimeDelta,
    /// The first lockout of an account/client pair; doubled for each further failure, up to
    /// `window`. So no lockout lasts longer than `window`.
    pub first_lockout: TimeDelta,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_failures: 5,
            client_failures: 50,
            window: TimeDelta::minutes(15),
            first_lockout: TimeDelta::seconds(30),
        }
    }
}

/// What is remembered of one pair's or one client's attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Attempts counted since `first` (failures, and attempts still being evaluated).
    pub count: u32,
    pub first: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

/// The records of a pair and of its client, as [`ThrottlePolicy`] reads and rewrites them.
/// `None`: no record (never seen, or to be deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttemptRecords {
    pub pair: Option<AttemptRecord>,
    pub client: Option<AttemptRecord>,
}

/// The policy's decisions, pure functions of the records: adapters of
/// [`crate::ports::LoginAttempts`] read both records, apply one of these and write the result,
/// atomically.
///
/// Failures are counted per *(account, client)* pair and per client. A pair is locked after
/// [`ThrottlePolicy::account_failures`] failures, for a time that doubles with each further
/// failure but never exceeds [`ThrottlePolicy::window`]; a client is locked after
/// [`ThrottlePolicy::client_failures`] failures within the window. Because accounts are locked
/// only per client, an attacker elsewhere cannot keep a user from signing in, and a success
/// clears the pair's record.
impl ThrottlePolicy {
    /// `Err(seconds to wait)` while the pair or the client is locked out (nothing changes);
    /// otherwise the records with one more attempt counted (as a failure, until released).
    ///
    /// # Errors
    /// The number of whole seconds until the lockout ends (at least 1).
    pub fn reserve(
        &self,
        records: AttemptRecords,
        now: DateTime<Utc>,
    ) -> Result<AttemptRecords, u64> {
        let wait = [records.pair, records.client]
            .iter()
            .flatten()
            .filter_map(|record| record.blocked_until)
            .filter(|until| *until > now)
            .max();
        if let Some(until) = wait {
            return Err(seconds_until(until, now));
        }
        let mut pair = self.bump(records.pair, now);
        if pair.count >= self.account_failures {
            let doublings = (pair.count - self.account_failures).min(16);
            let lockout = self
                .first_lockout
                .checked_mul(1 << doublings)
                .map_or(self.window, |d| d.min(self.window));
            pair.blocked_until = Some(now + lockout);
        }
        let mut client = self.bump(records.client, now);
        if client.count >= self.client_failures {
            client.blocked_until = Some(client.first + self.window);
        }
        Ok(AttemptRecords {
            pair: Some(pair),
            client: Some(client),
        })
    }

    /// Gives back one reserved attempt: a lockout it caused is lifted; after a success the
    /// pair's record is dropped (the client's failures are kept).
    pub fn release(&self, records: AttemptRecords, why: Release) -> AttemptRecords {
        let pair = match why {
            Release::Succeeded => None,
            // A pair's lockout is set by the reservation that reached the limit, and refuses
            // every later one until it ends: the lockout in place is this attempt's own.
            Release::NotEvaluated => give_back(records.pair, |_| false),
        };
        // A client's lockout lasts while its count is at the limit.
        let client = give_back(records.client, |count| count >= self.client_failures);
        AttemptRecords { pair, client }
    }

    /// When a record may be forgotten: its window is over and it blocks nothing.
    pub fn expires_at(&self, record: &AttemptRecord) -> DateTime<Utc> {
        let window_end = record.first + self.window;
        record
            .blocked_until
            .map_or(window_end, |until| until.max(window_end))
    }

    fn bump(&self, record: Option<AttemptRecord>, now: DateTime<Utc>) -> AttemptRecord {
        let fresh = AttemptRecord {
            count: 0,
            first: now,
            blocked_until: None,
        };
        let mut record = match record {
            Some(record) if self.expires_at(&record) > now => record,
            _ => fresh,
        };
        record.count += 1;
        record
    }
}

/// One attempt fewer. `keeps_lock(count)`: whether the lockout in place outlives it.
fn give_back(
    record: Option<AttemptRecord>,
    keeps_lock: impl Fn(u32) -> bool,
) -> Option<AttemptRecord> {
    let mut record = record?;
    record.count = record.count.saturating_sub(1);
    if !keeps_lock(record.count) {
        record.blocked_until = None;
    }
    (record.count > 0).then_some(record)
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

/// [`LoginAttempts`] in this process's memory: for a single process (SQLite, tests, a host
/// service of its own). Replicas must share an adapter over their common database instead.
#[derive(Debug, Default)]
pub struct MemoryLoginAttempts {
    policy: ThrottlePolicy,
    records: Mutex<HashMap<Key, AttemptRecord>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(AttemptKey),
    Client(String),
}

/// Entries kept before expired ones are swept, bounding memory under a flood of distinct keys.
const SWEEP_ABOVE: usize = 100_000;

impl MemoryLoginAttempts {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            records: Mutex::default(),
        }
    }

    /// Reads both records, applies `decide` and writes the outcome, all under one lock.
    fn update<T>(
        &self,
        key: &AttemptKey,
        decide: impl FnOnce(AttemptRecords) -> (AttemptRecords, T),
    ) -> T {
        // A poisoned lock only means another thread panicked mid-update of plain counters.
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys = [Key::Pair(key.clone()), Key::Client(key.client().to_owned())];
        let before = AttemptRecords {
            pair: records.get(&keys[0]).copied(),
            client: records.get(&keys[1]).copied(),
        };
        let (after, answer) = decide(before);
        for (key, record) in keys.into_iter().zip([after.pair, after.client]) {
            match record {
                Some(record) => records.insert(key, record),
                None => records.remove(&key),
            };
        }
        answer
    }

    fn sweep(&self, now: DateTime<Utc>) {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if records.len() > SWEEP_ABOVE {
            records.retain(|_, record| self.policy.expires_at(record) > now);
        }
    }
}

#[async_trait]
impl LoginAttempts for MemoryLoginAttempts {
    async fn reserve(
        &self,
        key: &AttemptKey,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        self.sweep(now);
        Ok(
            self.update(key, |before| match self.policy.reserve(before, now) {
                Ok(after) => (after, Reservation::Granted),
                Err(retry_after_seconds) => (
                    before,
                    Reservation::Refused {
                        retry_after_seconds,
                    },
                ),
            }),
        )
    }

    async fn release(
        &self,
        key: &AttemptKey,
        why: Release,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(key, |before| (self.policy.release(before, why), ()));
        Ok(())
    }

    async fn lockouts(&self, account: &str, now: DateTime<Utc>) -> Result<Lockouts, StoreError> {
        let account = AttemptKey::account_of(account);
        let records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut lockouts = Lockouts::default();
        for (key, record) in records.iter() {
            let Key::Pair(pair) = key else { continue };
            match record.blocked_until {
                Some(until) if until > now && pair.account() == account => {
                    lockouts.clients += 1;
                    lockouts.until = lockouts.until.max(Some(until));
                }
                _ => {}
            }
        }
        Ok(lockouts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds)
    }

    /// Reserves `times` attempts (each a failure unless released); all must be granted.
    async fn fail(
        attempts: &MemoryLoginAttempts,
        times: u32,
        account: &str,
        client: &str,
        at: i64,
    ) {
        for _ in 0..times {
            let reserved = attempts
                .reserve(&AttemptKey::new(account, client), t(at))
                .await;
            assert_eq!(reserved.unwrap(), Reservation::Granted);
        }
    }

    /// What the next attempt gets: `Ok(())` or `Err(seconds to wait)`; a granted one is given
    /// back, so checking changes nothing.
    async fn check(
        attempts: &MemoryLoginAttempts,
        account: &str,
        client: &str,
        at: i64,
    ) -> Result<(), u64> {
        let key = AttemptKey::new(account, client);
        match attempts.reserve(&key, t(at)).await.unwrap() {
            Reservation::Granted => {
                attempts
                    .release(&key, Release::NotEvaluated, t(at))
                    .await
                    .unwrap();
                Ok(())
            }
            Reservation::Refused {
                retry_after_seconds,
            } => Err(retry_after_seconds),
        }
    }

    #[tokio::test]
    async fn a_pair_is_locked_after_five_failures_for_thirty_seconds() {
        let attempts = MemoryLoginAttempts::default();
        fail(&attempts, 4, "ada@example.com", "10.0.0.1", 0).await;
        assert_eq!(
            check(&attempts, "ada@example.com", "10.0.0.1", 0).await,
            Ok(())
        );
        fail(&attempts, 1, "ada@example.com", "10.0.0.1", 0).await;
        assert_eq!(
            check(&attempts, "ADA@example.com", "10.0.0.1", 0).await,
            Err(30)
        );
        assert_eq!(
            check(&attempts, "ada@example.com", "10.0.0.1", 29).await,
            Err(1)
        );
        assert_eq!(
            check(&attempts, "ada@example.com", "10.0.0.1", 30).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn an_attempt_counts_before_it_is_judged() {
        let attempts = MemoryLoginAttempts::default();
        // Five attempts in flight at once: the sixth is refused before any of them ends.
        fail(&attempts, 5, "ada@example.com", "c", 0).await;
        assert_eq!(check(&attempts, "ada@example.com", "c", 0).await, Err(30));
        // One of them succeeds: the pair is free again.
        let key = AttemptKey::new("ada@example.com", "c");
        attempts
            .release(&key, Release::Succeeded, t(0))
            .await
            .unwrap();
        assert_eq!(check(&attempts, "ada@example.com", "c", 0).await, Ok(()));
    }

    #[tokio::test]
    async fn an_attempt_never_judged_is_given_back() {
        let attempts = MemoryLoginAttempts::default();
        let key = AttemptKey::new("ada@example.com", "c");
        fail(&attempts, 5, "ada@example.com", "c", 0).await;
        attempts
            .release(&key, Release::NotEvaluated, t(0))
            .await
            .unwrap();
        // Four failures remain: one more attempt is allowed.
        assert_eq!(check(&attempts, "ada@example.com", "c", 0).await, Ok(()));
        fail(&attempts, 1, "ada@example.com", "c", 0).await;
        assert_eq!(check(&attempts, "ada@example.com", "c", 0).await, Err(30));
    }

    #[tokio::test]
    async fn an_attacker_elsewhere_cannot_lock_the_user_out() {
        let attempts = MemoryLoginAttempts::default();
        fail(&attempts, 5, "ada@example.com", "6.6.6.6", 0).await;
        assert!(check(&attempts, "ada@example.com", "6.6.6.6", 1)
            .await
            .is_err());
        assert_eq!(
            check(&attempts, "ada@example.com", "10.0.0.1", 1).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn lockouts_double_but_never_exceed_the_window() {
        let attempts = MemoryLoginAttempts::default();
        fail(&attempts, 5, "ada@example.com", "c", 0).await;
        fail(&attempts, 1, "ada@example.com", "c", 30).await;
        assert_eq!(check(&attempts, "ada@example.com", "c", 30).await, Err(60));
        let policy = ThrottlePolicy::default();
        let many = AttemptRecords {
            pair: Some(AttemptRecord {
                count: 40,
                first: t(0),
                blocked_until: None,
            }),
            client: None,
        };
        let after = policy.reserve(many, t(10)).unwrap();
        assert_eq!(after.pair.unwrap().blocked_until, Some(t(10 + 15 * 60)));
    }

    #[tokio::test]
    async fn a_client_spraying_many_accounts_is_locked_for_the_window() {
        let attempts = MemoryLoginAttempts::default();
        for i in 0..50 {
            fail(&attempts, 1, &format!("user{i}@example.com"), "6.6.6.6", i).await;
        }
        assert_eq!(
            check(&attempts, "new@example.com", "6.6.6.6", 50).await,
            Err(15 * 60 - 50)
        );
        assert_eq!(
            check(&attempts, "new@example.com", "10.0.0.1", 50).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn successes_do_not_use_up_the_clients_budget() {
        let attempts = MemoryLoginAttempts::default();
        for i in 0..100 {
            let key = AttemptKey::new(&format!("user{i}@example.com"), "proxy");
            assert_eq!(
                attempts.reserve(&key, t(i)).await.unwrap(),
                Reservation::Granted
            );
            attempts
                .release(&key, Release::Succeeded, t(i))
                .await
                .unwrap();
        }
        assert_eq!(
            check(&attempts, "new@example.com", "proxy", 100).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn success_clears_the_pair_and_old_failures_expire() {
        let attempts = MemoryLoginAttempts::default();
        fail(&attempts, 4, "ada@example.com", "c", 0).await;
        fail(&attempts, 1, "ada@example.com", "c", 0).await;
        let key = AttemptKey::new("ada@example.com", "c");
        attempts
            .release(&key, Release::Succeeded, t(0))
            .await
            .unwrap();
        fail(&attempts, 4, "ada@example.com", "c", 1).await;
        assert_eq!(check(&attempts, "ada@example.com", "c", 1).await, Ok(()));
        // Four more, but after the window: the count starts again.
        fail(&attempts, 4, "ada@example.com", "c", 16 * 60).await;
        assert_eq!(
            check(&attempts, "ada@example.com", "c", 16 * 60).await,
            Ok(())
        );
    }
}
