//! The one shape of every background loop of `warden serve`: a [`Step`] (one round of the
//! loop's own work) run by tasks that start at once, rest until they are woken or their poll
//! is due, and stop on shutdown, letting the round in progress finish. Each loop's file holds
//! only its step; [`Background`] is the handle `warden serve` keeps and stops.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// What a step says about the work left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// There is probably more: step again at once (unless shutdown was asked).
    Again,
    /// Nothing more for now: rest until woken or the poll is due.
    Rest,
    /// Shutdown was asked while the step waited: end the task.
    Stop,
}

/// One round of a background loop's own work.
pub trait Step: Send + 'static {
    /// Does one round; `shutdown` lets a step that waits (for a pace, say) give up its wait
    /// when the process stops. A round that started writing should finish.
    fn step(&mut self, shutdown: &mut Shutdown) -> impl Future<Output = Next> + Send;
}

/// How a task rests after a round that found nothing more.
#[derive(Debug, Clone, Default)]
pub struct Rest {
    /// Step again after this long; `None`: only when woken.
    pub poll: Option<Duration>,
    /// Step again at once when this is notified.
    pub wakeup: Option<Arc<Notify>>,
}

impl Rest {
    /// Every `poll`.
    pub fn poll(poll: Duration) -> Self {
        Self {
            poll: Some(poll),
            wakeup: None,
        }
    }

    /// Every `poll`, and whenever `wakeup` is notified.
    pub fn poll_or_wakeup(poll: Duration, wakeup: Arc<Notify>) -> Self {
        Self {
            poll: Some(poll),
            wakeup: Some(wakeup),
        }
    }

    /// Only when `wakeup` is notified.
    pub fn wakeup(wakeup: Arc<Notify>) -> Self {
        Self {
            poll: None,
            wakeup: Some(wakeup),
        }
    }

    async fn over(&self) {
        let woken = async {
            match &self.wakeup {
                Some(wakeup) => wakeup.notified().await,
                None => std::future::pending().await,
            }
        };
        let due = async {
            match self.poll {
                Some(poll) => tokio::time::sleep(poll).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = woken => {}
            () = due => {}
        }
    }
}

/// Whether the process is stopping, as seen by a step.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Whether shutdown was asked.
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once shutdown is asked.
    pub async fn asked(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// A running background loop of one or more tasks; [`Background::stop`] lets their rounds
/// finish, then ends them.
#[derive(Debug)]
pub struct Background {
    name: &'static str,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Background {
    /// A loop named `name` (in its log lines), with no task yet.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            stop: watch::channel(false).0,
            tasks: JoinSet::new(),
        }
    }

    /// Starts a task running `step` at once, then again at once after [`Next::Again`], and
    /// after `rest` otherwise, until shutdown.
    pub fn spawn(&mut self, step: impl Step, rest: Rest) {
        let shutdown = Shutdown(self.stop.subscribe());
        self.tasks.spawn(run(step, rest, shutdown));
    }

    /// Asks every task to stop and waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(error = ?error, "a {} task ended abnormally", self.name);
            }
        }
        tracing::info!("{} stopped", self.name);
    }
}

async fn run(mut step: impl Step, rest: Rest, mut shutdown: Shutdown) {
    loop {
        if shutdown.requested() {
            break;
        }
        match step.step(&mut shutdown).await {
            Next::Again => continue,
            Next::Stop => break,
            Next::Rest => {}
        }
        tokio::select! {
            () = shutdown.asked() => break,
            () = rest.over() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts its rounds; says `Again` for the first `busy` of them.
    struct Counting {
        rounds: Arc<AtomicUsize>,
        busy: usize,
        round_done: Arc<Notify>,
    }

    impl Step for Counting {
        async fn step(&mut self, _: &mut Shutdown) -> Next {
            let done = self.rounds.fetch_add(1, Ordering::SeqCst) + 1;
            self.round_done.notify_one();
            if done <= self.busy {
                Next::Again
            } else {
                Next::Rest
            }
        }
    }

    #[tokio::test]
    async fn a_loop_steps_at_once_again_while_busy_then_when_woken_and_stops() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let round_done = Arc::new(Notify::new());
        let wakeup = Arc::new(Notify::new());
        let mut background = Background::new("test loop");
        background.spawn(
            Counting {
                rounds: rounds.clone(),
                busy: 2,
                round_done: round_done.clone(),
            },
            // A poll that never comes due in a test: only the wake-up moves it on.
            Rest::poll_or_wakeup(Duration::from_secs(3600), wakeup.clone()),
        );
        // Two busy rounds and the one that found nothing, without any wake-up.
        while rounds.load(Ordering::SeqCst) < 3 {
            round_done.notified().await;
        }
        wakeup.notify_one();
        while rounds.load(Ordering::SeqCst) < 4 {
            round_done.notified().await;
        }
        background.stop().await;
        assert_eq!(rounds.load(Ordering::SeqCst), 4);
    }

    /// Waits for shutdown in its step, as a paced step does.
    struct Waiting;

    impl Step for Waiting {
        async fn step(&mut self, shutdown: &mut Shutdown) -> Next {
            shutdown.asked().await;
            Next::Stop
        }
    }

    #[tokio::test]
    async fn a_step_waiting_inside_its_round_hears_the_shutdown() {
        let mut background = Background::new("waiting loop");
        background.spawn(Waiting, Rest::default());
        background.stop().await;
    }
}
