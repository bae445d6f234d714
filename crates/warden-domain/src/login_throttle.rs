use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

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

/// Slows password guessing down without letting anyone lock a real user out.
///
/// Failures are counted per *(account, client)* pair and per client. A pair is locked after
/// [`ThrottlePolicy::account_failures`] failures, for a time that doubles with each further
/// failure but never exceeds [`ThrottlePolicy::window`]; a client is locked after
/// [`ThrottlePolicy::client_failures`] failures within the window. Because accounts are locked
/// only per client, an attacker elsewhere cannot keep a user from signing in, and a success
/// clears the pair's record. State is per process (in memory).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    failures: Mutex<HashMap<Key, Record>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair { account: String, client: String },
    Client(String),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    count: u32,
    first: DateTime<Utc>,
    blocked_until: Option<DateTime<Utc>>,
}

/// Entries kept before old ones are swept, bounding memory under a flood of distinct keys.
const SWEEP_ABOVE: usize = 100_000;

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            failures: Mutex::default(),
        }
    }

    /// `Err(seconds to wait)` while the account/client pair or the client is locked out.
    ///
    /// # Errors
    /// The number of whole seconds until the lockout ends (at least 1).
    pub fn check(&self, account: &str, client: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let failures = self.lock();
        let wait = [pair(account, client), Key::Client(client.to_owned())]
            .iter()
            .filter_map(|key| failures.get(key)?.blocked_until)
            .filter(|until| *until > now)
            .max();
        match wait {
            Some(until) => Err(seconds_until(until, now)),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, account: &str, client: &str, now: DateTime<Utc>) {
        let policy = self.policy;
        let mut failures = self.lock();
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, r| now - r.first < policy.window || r.blocked_until > Some(now));
        }
        let pair = bump(&mut failures, pair(account, client), now, policy.window);
        if pair.count >= policy.account_failures {
            let doublings = (pair.count - policy.account_failures).min(16);
            let lockout = policy
                .first_lockout
                .checked_mul(1 << doublings)
                .map_or(policy.window, |d| d.min(policy.window));
            pair.blocked_until = Some(now + lockout);
        }
        let client = bump(
            &mut failures,
            Key::Client(client.to_owned()),
            now,
            policy.window,
        );
        if client.count >= policy.client_failures {
            client.blocked_until = Some(client.first + policy.window);
        }
    }

    /// A successful sign-in clears the pair's record (not the client's).
    pub fn record_success(&self, account: &str, client: &str) {
        self.lock().remove(&pair(account, client));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Record>> {
        // A poisoned lock only means another thread panicked mid-update of plain counters.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn pair(account: &str, client: &str) -> Key {
    Key::Pair {
        account: account.trim().to_lowercase(),
        client: client.to_owned(),
    }
}

fn bump(
    failures: &mut HashMap<Key, Record>,
    key: Key,
    now: DateTime<Utc>,
    window: TimeDelta,
) -> &mut Record {
    let record = failures.entry(key).or_insert(Record {
        count: 0,
        first: now,
        blocked_until: None,
    });
    if now - record.first >= window && record.blocked_until.is_none_or(|until| until <= now) {
        *record = Record {
            count: 0,
            first: now,
            blocked_until: None,
        };
    }
    record.count += 1;
    record
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds)
    }

    fn fail(throttle: &LoginThrottle, times: u32, account: &str, client: &str, at: i64) {
        for _ in 0..times {
            throttle.record_failure(account, client, t(at));
        }
    }

    #[test]
    fn a_pair_is_locked_after_five_failures_for_thirty_seconds() {
        let throttle = LoginThrottle::default();
        fail(&throttle, 4, "ada@example.com", "10.0.0.1", 0);
        assert_eq!(throttle.check("ada@example.com", "10.0.0.1", t(0)), Ok(()));
        fail(&throttle, 1, "ada@example.com", "10.0.0.1", 0);
        assert_eq!(throttle.check("ADA@example.com", "10.0.0.1", t(0)), Err(30));
        assert_eq!(throttle.check("ada@example.com", "10.0.0.1", t(29)), Err(1));
        assert_eq!(throttle.check("ada@example.com", "10.0.0.1", t(30)), Ok(()));
    }

    #[test]
    fn an_attacker_elsewhere_cannot_lock_the_user_out() {
        let throttle = LoginThrottle::default();
        fail(&throttle, 20, "ada@example.com", "6.6.6.6", 0);
        assert!(throttle.check("ada@example.com", "6.6.6.6", t(1)).is_err());
        assert_eq!(throttle.check("ada@example.com", "10.0.0.1", t(1)), Ok(()));
    }

    #[test]
    fn lockouts_double_but_never_exceed_the_window() {
        let throttle = LoginThrottle::default();
        fail(&throttle, 6, "ada@example.com", "c", 0);
        assert_eq!(throttle.check("ada@example.com", "c", t(0)), Err(60));
        fail(&throttle, 30, "ada@example.com", "c", 0);
        assert_eq!(throttle.check("ada@example.com", "c", t(0)), Err(15 * 60));
        assert_eq!(throttle.check("ada@example.com", "c", t(15 * 60)), Ok(()));
    }

    #[test]
    fn a_client_spraying_many_accounts_is_locked_for_the_window() {
        let throttle = LoginThrottle::default();
        for i in 0..50 {
            throttle.record_failure(&format!("user{i}@example.com"), "6.6.6.6", t(i));
        }
        assert_eq!(
            throttle.check("new@example.com", "6.6.6.6", t(50)),
            Err(15 * 60 - 50)
        );
        assert_eq!(throttle.check("new@example.com", "10.0.0.1", t(50)), Ok(()));
    }

    #[test]
    fn success_clears_the_pair_and_old_failures_expire() {
        let throttle = LoginThrottle::default();
        fail(&throttle, 4, "ada@example.com", "c", 0);
        throttle.record_success("ada@example.com", "c");
        fail(&throttle, 4, "ada@example.com", "c", 1);
        assert_eq!(throttle.check("ada@example.com", "c", t(1)), Ok(()));
        // Four more, but after the window: the count starts again.
        fail(&throttle, 4, "ada@example.com", "c", 16 * 60);
        assert_eq!(throttle.check("ada@example.com", "c", t(16 * 60)), Ok(()));
    }
}
