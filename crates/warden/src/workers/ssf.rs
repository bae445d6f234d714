//! The SSF worker: pushes the SETs push streams are owed (RFC 8935), in the background. Several
//! tasks push at once (a stream's SETs still go one at a time, in order), so one slow receiver
//! (up to 15 s) does not hold up the others. What it sends survives a restart: it is in the
//! database until a receiver accepted or refused it for good.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::run::public_url::PublicUrl;
use crate::run::ssf::Transmitter;
use crate::workers::background::{Background, Next, Rest, Shutdown, Step};

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

/// Starts pushing, as `issuer`: at once, whenever `wakeup` is notified (a change just
/// committed, a verification was asked, a stream enabled), and every `poll` otherwise (retries,
/// other replicas' SETs, claims whose pusher died). While idle only the first task looks every
/// `poll`; it brings in the others when it finds work (and a commit wakes one).
pub fn spawn(
    transmitter: Transmitter,
    issuer: PublicUrl,
    wakeup: Arc<Notify>,
    poll: Duration,
) -> Background {
    let mut background = Background::new("SSF worker");
    for index in 0..TASKS {
        let rest = if index == 0 {
            Rest::poll_or_wakeup(poll, wakeup.clone())
        } else {
            Rest::wakeup(wakeup.clone())
        };
        let pusher = Pusher {
            transmitter: transmitter.clone(),
            issuer: issuer.clone(),
            wakeup: wakeup.clone(),
        };
        background.spawn(pusher, rest);
    }
    background
}

struct Pusher {
    transmitter: Transmitter,
    issuer: PublicUrl,
    wakeup: Arc<Notify>,
}

impl Step for Pusher {
    async fn step(&mut self, _: &mut Shutdown) -> Next {
        let claimed = match self
            .transmitter
            .push_round(self.issuer.as_str(), ROUND)
            .await
        {
            Ok(round) => round.claimed,
            Err(error) => {
                tracing::warn!(error = ?error, "SSF push round failed");
                0
            }
        };
        if claimed >= usize::try_from(ROUND).unwrap_or(1) {
            // A full round: there is probably more; bring in a resting peer.
            self.wakeup.notify_one();
            return Next::Again;
        }
        Next::Rest
    }
}
