//! The job runner: carries out stored bulk deactivations in the background, on every replica
//! (items are leased, so replicas share the work without doing an item twice), and after a
//! restart picks up where the jobs stood.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use warden_domain::use_cases::BulkDeactivate;

use crate::routes::jobs::answer;

/// Items one round claims.
pub const ROUND: u32 = 200;

/// A running job runner; [`JobRunner::stop`] lets its round finish, then ends it.
#[derive(Debug)]
pub struct JobRunner {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl JobRunner {
    /// Looks for items to carry out every `poll`, and straight again after a round that found
    /// some; wakes the outbox worker (`wakeup`) after each round that deactivated someone.
    pub fn spawn(bulk: BulkDeactivate, poll: Duration, wakeup: Arc<Notify>) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let mut busy = false;
                match bulk.run_round(ROUND, &answer).await {
                    Ok(round) if round.claimed > 0 => {
                        busy = true;
                        if round.completed > 0 {
                            wakeup.notify_one();
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = ?error, "a job round failed"),
                }
                if busy {
                    if *stopped.borrow() {
                        break;
                    }
                    continue;
                }
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = tokio::time::sleep(poll) => {}
                }
            }
        });
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(error = ?error, "the job runner ended abnormally");
        }
        tracing::info!("job runner stopped");
    }
}
