//! The webhook worker: sends the deliveries committed status changes owe, in the background.
//! Several tasks send at once (their claims never overlap), so one slow receiver (up to 15 s)
//! does not hold up the others.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::Notify;
use tokio::time::Instant;
use warden_domain::use_cases::{DeliverWebhooks, PURGE_BATCH};

use crate::workers::after_commit::WebhookEndpoints;
use crate::workers::background::{Background, Next, Rest, Shutdown, Step};

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

/// Starts sending: at once, whenever `wakeup` is notified (a change just committed), and every
/// `poll` otherwise (retries, other replicas' deliveries, claims whose sender died). The first
/// task also deletes deliveries delivered more than `retention` ago, and looks every `poll`
/// whether any endpoint is enabled (`endpoints`: while none is, committed changes do not wake
/// the worker).
pub fn spawn(
    deliver: DeliverWebhooks,
    wakeup: Arc<Notify>,
    endpoints: WebhookEndpoints,
    poll: Duration,
    retention: TimeDelta,
) -> Background {
    let mut background = Background::new("webhook worker");
    for index in 0..TASKS {
        let chores = (index == 0).then(|| Chores {
            retention,
            endpoints: endpoints.clone(),
            poll,
            last_purge: None,
            last_look: None,
        });
        let sender = Sender {
            deliver: deliver.clone(),
            wakeup: wakeup.clone(),
            chores,
        };
        background.spawn(sender, Rest::poll_or_wakeup(poll, wakeup.clone()));
    }
    background
}

/// What the first task does besides sending.
struct Chores {
    /// Delivered deliveries older than this are deleted.
    retention: TimeDelta,
    /// Whether any endpoint is enabled, looked up at most every poll.
    endpoints: WebhookEndpoints,
    poll: Duration,
    last_purge: Option<Instant>,
    last_look: Option<Instant>,
}

struct Sender {
    deliver: DeliverWebhooks,
    wakeup: Arc<Notify>,
    chores: Option<Chores>,
}

impl Step for Sender {
    async fn step(&mut self, _: &mut Shutdown) -> Next {
        let claimed = match self.deliver.run_up_to(ROUND).await {
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
            self.wakeup.notify_one();
            return Next::Again;
        }
        if let Some(chores) = &mut self.chores {
            if chores
                .last_look
                .is_none_or(|at| at.elapsed() >= chores.poll)
            {
                chores.last_look = Some(Instant::now());
                // When in doubt, keep waking.
                let look = chores.endpoints.look();
                let any = self.deliver.any_endpoint_enabled().await.unwrap_or(true);
                chores.endpoints.looked(look, any);
            }
            if chores
                .last_purge
                .is_none_or(|at| at.elapsed() >= PURGE_EVERY)
            {
                chores.last_purge = Some(Instant::now());
                purge(&self.deliver, chores.retention).await;
            }
        }
        Next::Rest
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
