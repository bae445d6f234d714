//! Tests of the outbox worker: pacing and retention, with in-memory fakes.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use warden_domain::ports::{
    MailError, Mailer, Outbox, OutboxEntry, OutboxStats, OutboxStatus, PendingNotification,
    RetryNow, StoreError, SystemClock,
};
use warden_domain::use_cases::RetryPolicy;
use warden_domain::{Email, EmailAddress, Notification, StatusAction};

use super::*;

#[test]
fn the_pace_allows_its_rate_and_no_more() {
    let pace = Pace::new(100, 10); // bursts of 5
    assert_eq!(pace.round_size(), 5);
    let start = Instant::now();
    // Over two simulated seconds, asking every millisecond: the first burst plus 200.
    let mut taken = 0;
    for ms in 0..2000 {
        taken += pace
            .try_take(5, start + Duration::from_millis(ms), false)
            .unwrap_or(0);
    }
    assert!((200..=206).contains(&taken), "{taken}");
    // An empty bucket says how long to wait for a round.
    let wait = pace
        .try_take(5, start + Duration::from_millis(2000), false)
        .unwrap_err();
    assert!(wait <= Duration::from_millis(50), "{wait:?}");
}

#[test]
fn while_requests_are_served_the_pace_drops_to_its_busy_rate() {
    let pace = Pace::new(100, 10);
    let start = Instant::now();
    // Two busy seconds: the first burst plus 20, not 200.
    let mut taken = 0;
    for ms in 0..2000 {
        taken += pace
            .try_take(5, start + Duration::from_millis(ms), true)
            .unwrap_or(0);
    }
    assert!((20..=26).contains(&taken), "{taken}");
    // Idle again: full rate at once, and a waiting task looks again within 50 ms.
    let mut idle = 0;
    for ms in 2000..3000 {
        idle += pace
            .try_take(5, start + Duration::from_millis(ms), false)
            .unwrap_or(0);
    }
    assert!((95..=106).contains(&idle), "{idle}");
    let wait = pace
        .try_take(5, start + Duration::from_millis(3000), true)
        .unwrap_err();
    assert!(wait <= Duration::from_millis(50), "{wait:?}");
}

/// An outbox of `n` due notifications that counts what was sent.
#[derive(Default)]
struct Backlog {
    due: Mutex<Vec<Notification>>,
    sent: AtomicU64,
    /// The cutoff of every purge asked for.
    purges: Mutex<Vec<DateTime<Utc>>>,
}

#[async_trait]
impl Outbox for Backlog {
    async fn claim_due(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        let mut due = self.due.lock().unwrap();
        let keep = due.len().saturating_sub(limit as usize);
        Ok(due
            .split_off(keep)
            .into_iter()
            .map(|notification| PendingNotification {
                notification,
                attempts: 1,
            })
            .collect())
    }
    async fn renew_lease(&self, _: &[Uuid], _: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn mark_sent(&self, _: Uuid, _: DateTime<Utc>) -> Result<(), StoreError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn retry_later(&self, _: Uuid, _: DateTime<Utc>, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn give_up(&self, _: Uuid, _: DateTime<Utc>, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn purge_sent(&self, before: DateTime<Utc>, _: u32) -> Result<u64, StoreError> {
        let mut purges = self.purges.lock().unwrap();
        purges.push(before);
        // Two full batches, then a short one: the purge stops there.
        Ok(match purges.len() {
            1 | 2 => u64::from(PURGE_BATCH),
            _ => 3,
        })
    }
    async fn list(
        &self,
        _: OutboxStatus,
        _: Option<Uuid>,
        _: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(Vec::new())
    }
    async fn retry_now(
        &self,
        _: Uuid,
        _: &warden_domain::Authorized,
    ) -> Result<warden_domain::Guarded<RetryNow>, StoreError> {
        Ok(warden_domain::Guarded::Applied(RetryNow::NotFound))
    }
    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        Ok(OutboxStats::default())
    }
}

struct Instant200;

#[async_trait]
impl Mailer for Instant200 {
    async fn send(&self, _: &Email) -> Result<(), MailError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_keeps_to_its_rate_over_a_window() {
    let backlog = Arc::new(Backlog::default());
    *backlog.due.lock().unwrap() = (0..10_000)
        .map(|_| Notification {
            id: Uuid::now_v7(),
            action: StatusAction::Deactivate,
            to: EmailAddress::parse("ada@example.com").unwrap(),
            name: "Ada".into(),
            reason: None,
            occurred_at: Utc::now(),
            until: None,
        })
        .collect();
    let deliver = DeliverNotifications::new(
        backlog.clone(),
        Arc::new(Instant200),
        Arc::new(SystemClock),
        RetryPolicy::default(),
    );
    let settings = WorkerSettings {
        poll: Duration::from_millis(50),
        concurrency: 4,
        max_per_second: 200,
        busy_per_second: 200,
        retention: TimeDelta::days(30),
    };
    let started = Instant::now();
    let worker = spawn(deliver, Arc::default(), settings, Metrics::new());
    // Wait until some mail has flowed, then let it run a little longer.
    while backlog.sent.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.stop().await;
    let elapsed = started.elapsed().as_secs_f64();
    let sent = backlog.sent.load(Ordering::SeqCst) as f64;
    // Unpaced, this mailer would have sent thousands by now. Paced: at most the rate times
    // the time it ran, plus the first burst (10) and one round per task (4 x 10).
    assert!(
        sent <= 200.0 * elapsed + 50.0,
        "{sent} sent in {elapsed:.3} s"
    );
}

#[tokio::test]
async fn an_idle_worker_purges_sent_mail_older_than_the_retention_in_batches() {
    let backlog = Arc::new(Backlog::default());
    let deliver = DeliverNotifications::new(
        backlog.clone(),
        Arc::new(Instant200),
        Arc::new(SystemClock),
        RetryPolicy::default(),
    );
    let settings = WorkerSettings {
        poll: Duration::from_millis(10),
        concurrency: 2,
        max_per_second: 0,
        busy_per_second: 0,
        retention: TimeDelta::days(30),
    };
    let before = Utc::now();
    let worker = spawn(deliver, Arc::default(), settings, Metrics::new());
    while backlog.purges.lock().unwrap().len() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    worker.stop().await;
    let purges = backlog.purges.lock().unwrap().clone();
    assert_eq!(
        purges.len(),
        3,
        "until a batch comes back short, once per minute"
    );
    let cutoff = purges[0];
    assert!(cutoff >= before - TimeDelta::days(30));
    assert!(cutoff <= Utc::now() - TimeDelta::days(30));
}

#[test]
fn no_limit_means_full_rounds_at_once() {
    let pace = Pace::new(0, 0);
    assert_eq!(pace.round_size(), MAX_ROUND);
}
