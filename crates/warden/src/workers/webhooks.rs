//! The webhook worker: sends the deliveries committed status changes owe, in the background.
//! Several tasks send at once (their claims never overlap), so one slow receiver (up to 15 s)
//! does not hold up the others.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use warden_domain::use_cases::{DeliverWebhooks, PURGE_BATCH};

use crate::workers::after_commit::WebhookEndpoints;

/// Tasks sending at once.
const TASKS: usize = 4;
/// Deliveries one task claims per round: one, so that a claim's lease (30 s) always outlasts
/// its send (at most 15 s); a round of several, sent one after another, could outlive the
/// leases of the last ones and let another worker send them too.
const ROUND: u32 = 1;
/// How often the first task deletes deliveries delivered longer ago than the retention.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Most batches deleted per purge.
const PURGE_MAX_BATCHES: u32 = 20;

/// A running worker; [`WebhookWorker::stop`] lets the current rounds finish, then ends it.
#[derive(Debug)]
pub struct WebhookWorker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl WebhookWorker {
    /// Starts sending: at once, whenever `wakeup` is notified (a change just committed), and
    /// every `poll` otherwise (retries, other replicas' deliveries, claims whose sender died).
    /// The first task also deletes deliveries delivered more than `retention` ago, and looks
    /// every `poll` whether any endpoint is enabled (`endpoints`: while none is, committed
    /// changes do not wake the worker).
    pub fn spawn(
        deliver: DeliverWebhooks,
        wakeup: Arc<Notify>,
        endpoints: WebhookEndpoints,
        poll: Duration,
        retention: TimeDelta,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for index in 0..TASKS {
            let chores = (index == 0).then(|| Chores {
                retention,
                endpoints: endpoints.clone(),
            });
            let task = run(
                deliver.clone(),
                wakeup.clone(),
                poll,
                chores,
                stopped.clone(),
            );
            tasks.spawn(task);
        }
        Self { stop, tasks }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(error = ?error, "webhook worker task ended abnormally");
            }
        }
        tracing::info!("webhook worker stopped");
    }
}

/// What the first task does besides sending.
struct Chores {
    /// Delivered deliveries older than this are deleted.
    retention: TimeDelta,
    /// Whether any endpoint is enabled, looked up at most every poll.
    endpoints: WebhookEndpoints,
}

async fn run(
    deliver: DeliverWebhooks,
    wakeup: Arc<Notify>,
    poll: Duration,
    chores: Option<Chores>,
    mut stopped: watch::Receiver<bool>,
) {
    let (mut last_purge, mut last_look): (Option<Instant>, Option<Instant>) = (None, None);
    loop {
        if *stopped.borrow() {
            break;
        }
        let claimed = match deliver.run_up_to(ROUND).await {
            Ok(report) => {
                if report.retried + report.failed + report.disabled > 0 {
                    tracing::info!(
                        delivered = report.delivered,
                        retried = report.retried,
                        failed = report.failed,
                        disabled = report.disabled,
                        "webhook round"
                    );
                }
                report.claimed()
            }
            Err(error) => {
                tracing::warn!(error = ?error, "webhook round failed");
                0
            }
        };
        if claimed >= ROUND {
            // A full round: there is probably more; bring in a resting peer.
            wakeup.notify_one();
            continue;
        }
        if let Some(chores) = &chores {
            if last_look.is_none_or(|at| at.elapsed() >= poll) {
                last_look = Some(Instant::now());
                // When in doubt, keep waking.
                let look = chores.endpoints.look();
                let any = deliver.any_endpoint_enabled().await.unwrap_or(true);
                chores.endpoints.looked(look, any);
            }
            if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                last_purge = Some(Instant::now());
                purge(&deliver, chores.retention).await;
            }
        }
        tokio::select! {
            _ = stopped.changed() => break,
            () = wakeup.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

async fn purge(deliver: &DeliverWebhooks, retention: TimeDelta) {
    let cutoff = deliver.clock().now() - retention;
    let mut total = 0;
    for _ in 0..PURGE_MAX_BATCHES {
        match deliver.purge_delivered_before(cutoff).await {
            Ok(deleted) => {
                total += deleted;
                if deleted < u64::from(PURGE_BATCH) {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(error = ?error, "deleting old webhook deliveries failed");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(deleted = total, "old webhook deliveries deleted");
    }
}
