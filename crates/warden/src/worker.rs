//! The outbox worker: delivers the notifications that committed status changes owe, in the
//! background, so a request never waits for (or fails because of) mail.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use warden_domain::use_cases::DeliverNotifications;

use crate::metrics::Metrics;

/// A running worker; [`OutboxWorker::stop`] lets the current round finish, then ends it.
#[derive(Debug)]
pub struct OutboxWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl OutboxWorker {
    /// Starts delivering: immediately, whenever `wakeup` is notified (a request just committed
    /// a change), and every `poll` otherwise (retries, other replicas' entries, leases that ran
    /// out after a crash).
    pub fn spawn(
        deliver: DeliverNotifications,
        wakeup: Arc<Notify>,
        poll: Duration,
        metrics: Metrics,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let busy = match deliver.run_once().await {
                    Ok(report) => {
                        metrics.delivered(report);
                        if report.claimed() > 0 {
                            tracing::info!(
                                sent = report.sent,
                                retried = report.retried,
                                failed = report.failed,
                                "outbox round"
                            );
                        }
                        report.claimed() > 0
                    }
                    Err(error) => {
                        tracing::warn!(error = ?error, "outbox round failed");
                        false
                    }
                };
                if busy {
                    // There may be more due right now; go again unless asked to stop.
                    if *stopped.borrow() {
                        break;
                    }
                    continue;
                }
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = wakeup.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
            tracing::info!("outbox worker stopped");
        });
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(error = ?error, "outbox worker ended abnormally");
        }
    }
}
