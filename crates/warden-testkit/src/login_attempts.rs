//! The conformance suite of [`LoginAttempts`] adapters: every adapter (in memory, PostgreSQL)
//! must give the same answers under the default [`warden_domain::ThrottlePolicy`].
#![allow(clippy::expect_used)] // a test suite: a failed call is a failed test

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use warden_domain::ports::{AttemptKey, Lockouts, LoginAttempts, Release, Reservation};

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds)
}

/// A client address no other run of the suite uses.
fn fresh_client() -> String {
    format!("client-{}", uuid::Uuid::now_v7().simple())
}

async fn reserve(
    attempts: &dyn LoginAttempts,
    account: &str,
    client: &str,
    at: i64,
) -> Reservation {
    attempts
        .reserve(&AttemptKey::new(account, client), t(at))
        .await
        .expect("reserve")
}

async fn release(attempts: &dyn LoginAttempts, account: &str, client: &str, why: Release, at: i64) {
    attempts
        .release(&AttemptKey::new(account, client), why, t(at))
        .await
        .expect("release");
}

fn refused(seconds: u64) -> Reservation {
    Reservation::Refused {
        retry_after_seconds: seconds,
    }
}

/// Every sequential rule of the contract.
///
/// # Panics
/// When the adapter breaks the contract.
pub async fn login_attempts_contract(attempts: &dyn LoginAttempts) {
    let (ada, c) = ("ada@example.com", fresh_client());
    for _ in 0..5 {
        assert_eq!(reserve(attempts, ada, &c, 0).await, Reservation::Granted);
    }
    // Counted before judged: the sixth is refused, whatever the case of the address.
    assert_eq!(
        reserve(attempts, " ADA@example.com", &c, 0).await,
        refused(30)
    );
    assert_eq!(reserve(attempts, ada, &c, 29).await, refused(1));
    // Another client is not locked out with this one.
    let other = fresh_client();
    assert_eq!(
        reserve(attempts, ada, &other, 1).await,
        Reservation::Granted
    );
    // The lockout ends; the next failure doubles it.
    assert_eq!(reserve(attempts, ada, &c, 30).await, Reservation::Granted);
    assert_eq!(reserve(attempts, ada, &c, 30).await, refused(60));
    // A success clears the pair.
    release(attempts, ada, &c, Release::Succeeded, 31).await;
    assert_eq!(reserve(attempts, ada, &c, 31).await, Reservation::Granted);

    // An attempt never judged is given back, lifting the lockout it caused.
    let c = fresh_client();
    for _ in 0..5 {
        assert_eq!(reserve(attempts, ada, &c, 0).await, Reservation::Granted);
    }
    release(attempts, ada, &c, Release::NotEvaluated, 0).await;
    assert_eq!(reserve(attempts, ada, &c, 0).await, Reservation::Granted);
    assert_eq!(reserve(attempts, ada, &c, 0).await, refused(30));
    // Also past the limit: after the lockout, an attempt never judged leaves no new one.
    assert_eq!(reserve(attempts, ada, &c, 30).await, Reservation::Granted);
    release(attempts, ada, &c, Release::NotEvaluated, 31).await;
    assert_eq!(reserve(attempts, ada, &c, 31).await, Reservation::Granted);
    assert_eq!(reserve(attempts, ada, &c, 31).await, refused(60));

    // Failures older than the window are forgotten.
    let c = fresh_client();
    for at in [0, 0, 0, 0, 16 * 60, 16 * 60, 16 * 60, 16 * 60] {
        assert_eq!(reserve(attempts, ada, &c, at).await, Reservation::Granted);
    }

    // A client spraying accounts is locked for the rest of its window...
    let c = fresh_client();
    for i in 0..50 {
        let account = format!("user{i}@example.com");
        assert_eq!(
            reserve(attempts, &account, &c, i).await,
            Reservation::Granted
        );
    }
    assert_eq!(
        reserve(attempts, "new@example.com", &c, 50).await,
        refused(15 * 60 - 50)
    );
    // ...but successes do not use up a client's budget (many users behind one address).
    let c = fresh_client();
    for i in 0..60 {
        let account = format!("user{i}@example.com");
        assert_eq!(
            reserve(attempts, &account, &c, i).await,
            Reservation::Granted
        );
        release(attempts, &account, &c, Release::Succeeded, i).await;
    }
    assert_eq!(
        reserve(attempts, "new@example.com", &c, 60).await,
        Reservation::Granted
    );

    // Whatever a client types as its email is a usable key (even a NUL or 10,000 characters).
    let c = fresh_client();
    let long = "x".repeat(10_000);
    for account in ["a\0b@example.com", long.as_str(), "", "\u{202e}ada"] {
        assert_eq!(
            reserve(attempts, account, &c, 0).await,
            Reservation::Granted
        );
        release(attempts, account, &c, Release::Succeeded, 0).await;
    }

    lockouts_name_the_locked_clients(attempts).await;
}

/// `lockouts` counts the clients locked out of one account (whatever the case of its address)
/// and tells when the last lockout ends; it ignores clients not yet locked and other accounts,
/// and changes nothing.
async fn lockouts_name_the_locked_clients(attempts: &dyn LoginAttempts) {
    let account = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let lockouts = |at: i64| {
        let typed = format!(" {} ", account.to_uppercase());
        async move { attempts.lockouts(&typed, t(at)).await.expect("lockouts") }
    };
    assert_eq!(lockouts(0).await, Lockouts::default());
    let (first, second, third) = (fresh_client(), fresh_client(), fresh_client());
    for _ in 0..5 {
        assert_eq!(
            reserve(attempts, &account, &first, 0).await,
            Reservation::Granted
        );
        assert_eq!(
            reserve(attempts, &account, &second, 10).await,
            Reservation::Granted
        );
    }
    for _ in 0..4 {
        assert_eq!(
            reserve(attempts, &account, &third, 10).await,
            Reservation::Granted
        );
    }
    // Another account locked from the same client is not this one's lockout.
    for _ in 0..5 {
        reserve(attempts, "someone-else@example.com", &first, 10).await;
    }
    assert_eq!(
        lockouts(10).await,
        Lockouts {
            clients: 2,
            until: Some(t(40)),
        }
    );
    assert_eq!(
        lockouts(30).await,
        Lockouts {
            clients: 1,
            until: Some(t(40)),
        }
    );
    assert_eq!(lockouts(40).await, Lockouts::default());
    // Reading changed nothing: the first client is still locked until its lockout ends.
    assert_eq!(reserve(attempts, &account, &first, 29).await, refused(1));
}

/// `guesses` concurrent reservations for one pair, spread over `replicas` (adapters sharing one
/// store): exactly the policy's five are granted.
///
/// # Panics
/// When more or fewer are granted, or a call fails.
pub async fn concurrent_guesses_share_one_budget(
    replicas: &[Arc<dyn LoginAttempts>],
    guesses: usize,
) {
    let key = AttemptKey::new("ada@example.com", &fresh_client());
    let now = Utc::now();
    let tasks: Vec<_> = (0..guesses)
        .map(|i| {
            let (attempts, key) = (replicas[i % replicas.len()].clone(), key.clone());
            tokio::spawn(async move { attempts.reserve(&key, now).await })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        match task.await.expect("task").expect("reserve") {
            Reservation::Granted => granted += 1,
            Reservation::Refused { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(granted, 5, "of {guesses} concurrent guesses");
}
