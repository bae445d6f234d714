//! The webhook worker: sends the deliveries committed status changes owe, in the background.
//! Several tasks send at once (their claims never overlap), so one slow receiver (up to 15 s)
//! does not hold up the others.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use warden_domain::use_cases::DeliverWebhooks;

/// Tasks sending at once.
const TASKS: usize = 4;
/// Deliveries one task claims per round (sent one after another).
const ROUND: u32 = 4;

/// A running worker; [`WebhookWorker::stop`] lets the current rounds finish, then ends it.
#[derive(Debug)]
pub struct WebhookWorker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl WebhookWorker {
    /// Starts sending: at once, whenever `wakeup` is notified (a change just committed), and
    /// every `poll` otherwise (retries, other replicas' deliveries, claims whose sender died).
    pub fn spawn(deliver: DeliverWebhooks, wakeup: Arc<Notify>, poll: Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for _ in 0..TASKS {
            tasks.spawn(run(deliver.clone(), wakeup.clone(), poll, stopped.clone()));
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

async fn run(
    deliver: DeliverWebhooks,
    wakeup: Arc<Notify>,
    poll: Duration,
    mut stopped: watch::Receiver<bool>,
) {
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
        tokio::select! {
            _ = stopped.changed() => break,
            () = wakeup.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}
