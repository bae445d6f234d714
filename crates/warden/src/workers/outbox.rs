//! The outbox worker: delivers the notifications that committed status changes owe, in the
//! background, so a request never waits for (or fails because of) mail.
//!
//! Several tasks deliver at once (their claims never overlap), paced together so that mail
//! takes a bounded share of the machine, and the first of them also deletes sent
//! notifications once they are older than the retention period.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::Notify;
use tokio::time::Instant;
use warden_domain::use_cases::{DeliverNotifications, PURGE_BATCH};

use crate::observability::metrics::Metrics;
use crate::workers::background::{Background, Next, Rest, Shutdown, Step};

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How often to look for due notifications when nothing wakes the worker.
    pub poll: Duration,
    /// Delivery tasks.
    pub concurrency: usize,
    /// Most deliveries per second, all tasks together; 0: no limit.
    pub max_per_second: u32,
    /// Most deliveries per second while API requests are being served (mail gives way to
    /// requests, but never stops); at most `max_per_second`.
    pub busy_per_second: u32,
    /// Sent notifications older than this are deleted.
    pub retention: TimeDelta,
}

/// How often the first task looks for sent notifications to delete.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Most batches deleted per purge, so a large first purge is spread over several minutes.
const PURGE_MAX_BATCHES: u32 = 20;
/// Most notifications one task claims per round.
const MAX_ROUND: u32 = 32;

/// Starts delivering: immediately, whenever `wakeup` is notified (a request just committed a
/// change), and every `settings.poll` otherwise (retries, other replicas' entries, claims
/// whose worker died).
pub fn spawn(
    deliver: DeliverNotifications,
    wakeup: Arc<Notify>,
    settings: WorkerSettings,
    metrics: Metrics,
) -> Background {
    let mut background = Background::new("outbox worker");
    let pace = Arc::new(Pace::new(settings.max_per_second, settings.busy_per_second));
    for index in 0..settings.concurrency.max(1) {
        let task = Task {
            deliver: deliver.clone(),
            wakeup: wakeup.clone(),
            settings,
            metrics: metrics.clone(),
            pace: pace.clone(),
            purges: index == 0,
            last_purge: None,
        };
        background.spawn(task, Rest::poll_or_wakeup(settings.poll, wakeup.clone()));
    }
    background
}

struct Task {
    deliver: DeliverNotifications,
    wakeup: Arc<Notify>,
    settings: WorkerSettings,
    metrics: Metrics,
    pace: Arc<Pace>,
    purges: bool,
    last_purge: Option<Instant>,
}

impl Step for Task {
    async fn step(&mut self, shutdown: &mut Shutdown) -> Next {
        let want = self.pace.round_size();
        let granted = tokio::select! {
            () = shutdown.asked() => return Next::Stop,
            granted = self.pace.take(want, || self.metrics.serving()) => granted,
        };
        let claimed = self.round(granted).await;
        self.pace.refund(granted.saturating_sub(claimed));
        if claimed > 0 {
            if claimed >= granted {
                // A full round: there is probably more; bring in a resting peer.
                self.wakeup.notify_one();
            }
            return Next::Again;
        }
        if self.purges && self.last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            self.last_purge = Some(Instant::now());
            self.purge().await;
        }
        Next::Rest
    }
}

impl Task {
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

/// A token bucket shared by the tasks: at most `rate` deliveries per second (`busy_rate` while
/// requests are being served), in bursts of at most a twentieth of a second's worth of `rate`
/// (so a round never claims more than the pace allows).
#[derive(Debug)]
struct Pace {
    rate: f64,
    busy_rate: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl Pace {
    fn new(max_per_second: u32, busy_per_second: u32) -> Self {
        let rate = f64::from(max_per_second);
        let burst = (rate / 20.0).clamp(1.0, f64::from(MAX_ROUND));
        Self {
            rate,
            busy_rate: f64::from(busy_per_second.clamp(1, max_per_second.max(1))),
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

    /// Waits until `want` deliveries are allowed and takes them; `busy` says whether requests
    /// are being served (looked at each time the bucket is refilled).
    async fn take(&self, want: u32, busy: impl Fn() -> bool) -> u32 {
        if self.unlimited() {
            return want;
        }
        loop {
            match self.try_take(want, Instant::now(), busy()) {
                Ok(granted) => return granted,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes `want` (at most a burst) if the bucket holds them at `now`, or says how long to
    /// wait for them. The time since the last refill is credited at the rate of now.
    fn try_take(&self, want: u32, now: Instant, busy: bool) -> Result<u32, Duration> {
        let rate = if busy { self.busy_rate } else { self.rate };
        let want = f64::from(want).min(self.burst);
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, since) = &mut *bucket;
        let elapsed = now.saturating_duration_since(*since).as_secs_f64();
        *tokens = (*tokens + elapsed * rate).min(self.burst);
        *since = (*since).max(now);
        if *tokens >= want {
            *tokens -= want;
            // want is within 1..=MAX_ROUND, so this is exact.
            return Ok(want as u32);
        }
        // Waits at most a twentieth of a second at a time, so that the end of a busy spell is
        // noticed soon.
        Err(Duration::from_secs_f64(((want - *tokens) / rate).min(0.05)))
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
#[path = "outbox_tests.rs"]
mod tests;
