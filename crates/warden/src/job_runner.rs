//! The job runner: carries out stored bulk deactivations in the background, on every replica
//! (items are leased, so replicas share the work without doing an item twice), and after a
//! restart picks up where the jobs stood.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use warden_domain::use_cases::BulkDeactivate;

use crate::routes::jobs::answer;

/// Items one round of one task claims.
pub const ROUND: u32 = 50;

/// Tasks carrying out items at once (their claims never overlap). Each item waits on its own
/// commits (the change, then its result), so several in flight keep the database busy; with
/// SQLite's one connection they simply queue.
pub const TASKS: usize = 8;

/// A running job runner; [`JobRunner::stop`] lets its rounds finish, then ends it.
#[derive(Debug)]
pub struct JobRunner {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl JobRunner {
    /// [`TASKS`] tasks, each looking for items to carry out every `poll`, and straight again
    /// after a round that found some; each wakes the outbox worker (`wakeup`) after a round
    /// that recorded results.
    pub fn spawn(bulk: BulkDeactivate, poll: Duration, wakeup: Arc<Notify>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let work = Arc::new(Notify::new());
        let tasks = (0..TASKS)
            .map(|index| {
                let task = Task {
                    bulk: bulk.clone(),
                    // Only the first task polls while idle; it brings in the others once it
                    // finds work, so an idle process costs one claim per `poll`.
                    poll: (index == 0).then_some(poll),
                    wakeup: wakeup.clone(),
                    work: work.clone(),
                };
                tokio::spawn(task.run(stopped.clone()))
            })
            .collect();
        Self { stop, tasks }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(error = ?error, "a job runner task ended abnormally");
            }
        }
        tracing::info!("job runner stopped");
    }
}

struct Task {
    bulk: BulkDeactivate,
    /// `None`: wait for the polling task to find work instead of polling.
    poll: Option<Duration>,
    /// The outbox worker's.
    wakeup: Arc<Notify>,
    /// Rung when a round found work: the resting tasks join in.
    work: Arc<Notify>,
}

impl Task {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            let mut busy = false;
            match self.bulk.run_round(ROUND, &answer).await {
                Ok(round) if round.claimed > 0 => {
                    busy = true;
                    self.work.notify_waiters();
                    if round.completed > 0 {
                        self.wakeup.notify_one();
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
            let rest = async {
                match self.poll {
                    Some(poll) => tokio::time::sleep(poll).await,
                    None => self.work.notified().await,
                }
            };
            tokio::select! {
                _ = stopped.changed() => break,
                () = rest => {}
            }
        }
    }
}
