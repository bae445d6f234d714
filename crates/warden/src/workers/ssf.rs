//! The SSF worker: pushes the SETs push streams are owed (RFC 8935), in the background. Several
//! tasks push at once (a stream's SETs still go one at a time, in order), so one slow receiver
//! (up to 15 s) does not hold up the others. What it sends survives a restart: it is in the
//! database until a receiver accepted or refused it for good.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::run::public_url::PublicUrl;
use crate::run::ssf::Transmitter;

/// Tasks pushing at once.
const TASKS: usize = 4;
/// SETs one task claims per round: one, so that the claim's lease (30 s) outlasts its push.
const ROUND: u32 = 1;

/// The idle worker looks for due SETs (retries, other replicas' and the CLI's SETs) at most
/// this often: it shares the request pool, and fresh SETs wake it anyway.
const MIN_POLL: Duration = Duration::from_secs(1);

/// How often the idle worker looks, given the outbox's `WARDEN_OUTBOX_POLL_MS`.
pub fn poll_every(outbox_poll: Duration) -> Duration {
    outbox_poll.max(MIN_POLL)
}

/// A running worker; [`SsfWorker::stop`] lets the current pushes finish, then ends it.
#[derive(Debug)]
pub struct SsfWorker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl SsfWorker {
    /// Starts pushing, as `issuer`: at once, whenever `wakeup` is notified (a change just
    /// committed, a verification was asked, a stream enabled), and every `poll` otherwise
    /// (retries, other replicas' SETs, claims whose pusher died).
    pub fn spawn(
        transmitter: Transmitter,
        issuer: PublicUrl,
        wakeup: Arc<Notify>,
        poll: Duration,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for index in 0..TASKS {
            // While idle only the first task looks every `poll`; it brings in the others when
            // it finds work (and a commit wakes one).
            let every = (index == 0).then_some(poll);
            tasks.spawn(run(
                transmitter.clone(),
                issuer.clone(),
                wakeup.clone(),
                every,
                stopped.clone(),
            ));
        }
        Self { stop, tasks }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(error = ?error, "SSF worker task ended abnormally");
            }
        }
        tracing::info!("SSF worker stopped");
    }
}

async fn run(
    transmitter: Transmitter,
    issuer: PublicUrl,
    wakeup: Arc<Notify>,
    poll: Option<Duration>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if *stopped.borrow() {
            break;
        }
        let claimed = match transmitter.push_round(issuer.as_str(), ROUND).await {
            Ok(round) => round.claimed,
            Err(error) => {
                tracing::warn!(error = ?error, "SSF push round failed");
                0
            }
        };
        if claimed >= usize::try_from(ROUND).unwrap_or(1) {
            // A full round: there is probably more; bring in a resting peer.
            wakeup.notify_one();
            continue;
        }
        let timer = async {
            match poll {
                Some(poll) => tokio::time::sleep(poll).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = wakeup.notified() => {}
            () = timer => {}
            _ = stopped.changed() => {}
        }
    }
}
