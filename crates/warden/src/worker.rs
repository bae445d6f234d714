//! The outbox worker: delivers the notifications that committed status changes owe, in the
//! background, so a request never waits for (or fails because of) mail.
//!
//! Several tasks deliver at once (their claims never overlap), paced together so that mail
//! takes a bounded share of the machine, and the first of them also deletes sent
//! notifications once they are older than the retention period.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use warden_domain::use_cases::{DeliverNotifications, PURGE_BATCH};

use crate::metrics::Metrics;

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How often to look for due notifications when nothing wakes the worker.
    pub poll: Duration,
    /// Delivery tasks.
    pub concurrency: usize,
    /// Most deliveries per second, all tasks together; 0: no limit.
    pub max_per_second: u32,
    /// Sent notifications older than this are deleted.
    pub retention: TimeDelta,
}

/// How often the first task looks for sent notifications to delete.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Most batches deleted per purge, so a large first purge is spread over several minutes.
const PURGE_MAX_BATCHES: u32 = 20;
/// Most notifications one task claims per round.
const MAX_ROUND: u32 = 32;

/// A running worker; [`OutboxWorker::stop`] lets the current rounds finish, then ends it.
#[derive(Debug)]
pub struct OutboxWorker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl OutboxWorker {
    /// Starts delivering: immediately, whenever `wakeup` is notified (a request just committed
    /// a change), and every `settings.poll` otherwise (retries, other replicas' entries, claims
    /// whose worker died).
    pub fn spawn(
        deliver: DeliverNotifications,
        wakeup: Arc<Notify>,
        settings: WorkerSettings,
        metrics: Metrics,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let pace = Arc::new(Pace::new(settings.max_per_second));
        let mut tasks = JoinSet::new();
        for index in 0..settings.concurrency.max(1) {
            let task = Task {
                deliver: deliver.clone(),
                wakeup: wakeup.clone(),
                settings,
                metrics: metrics.clone(),
                pace: pace.clone(),
                purges: index == 0,
            };
            tasks.spawn(task.run(stopped.clone()));
        }
        Self { stop, tasks }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(error = ?error, "outbox worker task ended abnormally");
            }
        }
        tracing::info!("outbox worker stopped");
    }
}

struct Task {
    deliver: DeliverNotifications,
    wakeup: Arc<Notify>,
    settings: WorkerSettings,
    metrics: Metrics,
    pace: Arc<Pace>,
    purges: bool,
}

impl Task {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut last_purge: Option<Instant> = None;
        loop {
            let want = self.pace.round_size();
            let granted = tokio::select! {
                _ = stopped.changed() => break,
                granted = self.pace.take(want) => granted,
            };
            let claimed = self.round(granted).await;
            self.pace.refund(granted.saturating_sub(claimed));
            if claimed > 0 {
                if claimed >= granted {
                    // A full round: there is probably more; bring in a resting peer.
                    self.wakeup.notify_one();
                }
                if *stopped.borrow() {
                    break;
                }
                continue;
            }
            if self.purges && last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                last_purge = Some(Instant::now());
                self.purge().await;
            }
            tokio::select! {
                _ = stopped.changed() => break,
                () = self.wakeup.notified() => {}
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }

    /// One round of at most `limit` deliveries; returns how many were claimed.
    async fn round(&self, limit: u32) -> u32 {
        match self.deliver.run_up_to(limit).await {
            Ok(report) => {
                self.metrics.delivered(report);
                if report.retried + report.failed > 0 {
                    tracing::info!(
                        sent = report.sent,
                        retried = report.retried,
                        failed = report.failed,
                        "outbox round"
                    );
                }
                report.claimed()
            }
            Err(error) => {
                tracing::warn!(error = ?error, "outbox round failed");
                0
            }
        }
    }

    async fn purge(&self) {
        let cutoff = self.deliver.clock().now() - self.settings.retention;
        let mut total = 0;
        for _ in 0..PURGE_MAX_BATCHES {
            match self.deliver.purge_sent_before(cutoff).await {
                Ok(deleted) => {
                    total += deleted;
                    if deleted < u64::from(PURGE_BATCH) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = ?error, "deleting old sent notifications failed");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, "old sent notifications deleted");
        }
    }
}

/// A token bucket shared by the tasks: at most `rate` deliveries per second, in bursts of at
/// most a twentieth of a second's worth (so a round never claims more than the pace allows).
#[derive(Debug)]
struct Pace {
    rate: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl Pace {
    fn new(max_per_second: u32) -> Self {
        let rate = f64::from(max_per_second);
        let burst = (rate / 20.0).clamp(1.0, f64::from(MAX_ROUND));
        Self {
            rate,
            burst,
            bucket: Mutex::new((burst, Instant::now())),
        }
    }

    fn unlimited(&self) -> bool {
        self.rate <= 0.0
    }

    /// How many to ask for in one round.
    fn round_size(&self) -> u32 {
        if self.unlimited() {
            MAX_ROUND
        } else {
            // burst is within 1..=MAX_ROUND, so this is exact.
            self.burst as u32
        }
    }

    /// Waits until `want` deliveries are allowed and takes them.
    async fn take(&self, want: u32) -> u32 {
        if self.unlimited() {
            return want;
        }
        loop {
            match self.try_take(want, Instant::now()) {
                Ok(granted) => return granted,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes `want` (at most a burst) if the bucket holds them at `now`, or says how long to
    /// wait for them.
    fn try_take(&self, want: u32, now: Instant) -> Result<u32, Duration> {
        let want = f64::from(want).min(self.burst);
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, since) = &mut *bucket;
        let elapsed = now.saturating_duration_since(*since).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *since = (*since).max(now);
        if *tokens >= want {
            *tokens -= want;
            // want is within 1..=MAX_ROUND, so this is exact.
            return Ok(want as u32);
        }
        Err(Duration::from_secs_f64((want - *tokens) / self.rate))
    }

    /// Gives back what a round was allowed but did not claim.
    fn refund(&self, unused: u32) {
        if self.unlimited() || unused == 0 {
            return;
        }
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        bucket.0 = (bucket.0 + f64::from(unused)).min(self.burst);
    }
}

#[cfg(test)]
mod tests {
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
        let pace = Pace::new(100); // bursts of 5
        assert_eq!(pace.round_size(), 5);
        let start = Instant::now();
        // Over two simulated seconds, asking every millisecond: the first burst plus 200.
        let mut taken = 0;
        for ms in 0..2000 {
            taken += pace
                .try_take(5, start + Duration::from_millis(ms))
                .unwrap_or(0);
        }
        assert!((200..=206).contains(&taken), "{taken}");
        // An empty bucket says how long to wait for a round.
        let wait = pace
            .try_take(5, start + Duration::from_millis(2000))
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
        async fn retry_now(&self, _: Uuid, _: DateTime<Utc>) -> Result<RetryNow, StoreError> {
            Ok(RetryNow::NotFound)
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
            retention: TimeDelta::days(30),
        };
        let started = Instant::now();
        let worker = OutboxWorker::spawn(deliver, Arc::default(), settings, Metrics::new());
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
            retention: TimeDelta::days(30),
        };
        let before = Utc::now();
        let worker = OutboxWorker::spawn(deliver, Arc::default(), settings, Metrics::new());
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
        let pace = Pace::new(0);
        assert_eq!(pace.round_size(), MAX_ROUND);
    }
}
