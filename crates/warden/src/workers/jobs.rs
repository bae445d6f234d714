//! The job runner: carries out stored bulk deactivations in the background, on every replica
//! (items are leased, so replicas share the work without doing an item twice), and after a
//! restart picks up where the jobs stood.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use warden_domain::use_cases::{BulkDeactivate, ItemFailure};
use warden_domain::StatusAction;

use crate::routes::jobs::answer;
use crate::workers::after_commit::{AfterCommit, Channel};
use crate::workers::background::{Background, Next, Rest, Shutdown, Step};

/// Items one round of one task claims.
pub const ROUND: u32 = 50;

/// Tasks carrying out items at once (their claims never overlap). Each item waits on its own
/// commits (the change, then its result), so several in flight keep the database busy; with
/// SQLite's one connection they simply queue.
pub const TASKS: usize = 8;

/// [`TASKS`] tasks, each looking for items to carry out every `poll`, and straight again
/// after a round that found some; each hands the deactivations of its round to
/// `after_commit` (channel `bulk`), so they are counted and their email and webhooks go out
/// at once, as a request's would.
pub fn spawn(bulk: BulkDeactivate, poll: Duration, after_commit: AfterCommit) -> Background {
    let mut background = Background::new("job runner");
    let work = Arc::new(Notify::new());
    for index in 0..TASKS {
        let runner = JobRunner {
            bulk: bulk.clone(),
            after_commit: after_commit.clone(),
            work: work.clone(),
        };
        // Only the first task polls while idle; it brings in the others once it finds work,
        // so an idle process costs one claim per `poll`.
        let rest = if index == 0 {
            Rest::poll(poll)
        } else {
            Rest::wakeup(work.clone())
        };
        background.spawn(runner, rest);
    }
    background
}

struct JobRunner {
    bulk: BulkDeactivate,
    after_commit: AfterCommit,
    /// Rung when a round found work: the resting tasks join in.
    work: Arc<Notify>,
}

impl Step for JobRunner {
    async fn step(&mut self, _: &mut Shutdown) -> Next {
        let mut next = Next::Rest;
        // Counted as each item's deactivation commits, so that changes of a round that fails
        // later (recording a result) are still counted and notified. An item taken over from
        // a runner that stopped before recording it, whose deactivation that runner had
        // committed, counts again (its `Ok` is not told apart).
        let deactivated = AtomicUsize::new(0);
        let counting = |outcome: Result<(), ItemFailure>| {
            if outcome.is_ok() {
                deactivated.fetch_add(1, Ordering::Relaxed);
            }
            answer(outcome)
        };
        match self.bulk.run_round(ROUND, &counting).await {
            Ok(round) if round.claimed > 0 => {
                next = Next::Again;
                self.work.notify_waiters();
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = ?error, "a job round failed"),
        }
        self.after_commit
            .status_changes(
                Channel::Bulk,
                StatusAction::Deactivate,
                deactivated.into_inner(),
            )
            .await;
        next
    }
}
