//! The lifter: ends timed suspensions when they are due, through the domain's
//! [`LiftSuspensions`] (as the system, so the reactivation is audited and notified like any
//! other). Every replica runs one; the lift's conditional change makes each account come back
//! exactly once.

use std::time::Duration;

use warden_domain::use_cases::LiftSuspensions;
use warden_domain::StatusAction;

use crate::workers::after_commit::{AfterCommit, Channel};
use crate::workers::background::{Background, Next, Rest, Shutdown, Step};

/// Looks for due suspensions every `poll`, and hands the reactivations of a round to
/// `after_commit` (channel `lift`), so they are counted and their email and webhooks go out
/// at once, as a request's would.
pub fn spawn(lift: LiftSuspensions, poll: Duration, after_commit: AfterCommit) -> Background {
    let mut background = Background::new("lifter");
    background.spawn(Lifter { lift, after_commit }, Rest::poll(poll));
    background
}

struct Lifter {
    lift: LiftSuspensions,
    after_commit: AfterCommit,
}

impl Step for Lifter {
    async fn step(&mut self, _: &mut Shutdown) -> Next {
        match self.lift.run_once().await {
            Ok(round) if round.lifted > 0 => {
                tracing::info!(lifted = round.lifted, "timed suspensions lifted");
                self.after_commit
                    .status_changes(Channel::Lift, StatusAction::Reactivate, round.lifted)
                    .await;
                if round.due >= LiftSuspensions::ROUND as usize {
                    Next::Again
                } else {
                    Next::Rest
                }
            }
            Ok(_) => Next::Rest,
            Err(error) => {
                tracing::warn!(error = ?error, "lifting suspensions failed");
                // Lifts before the failure stay committed (uncounted): start their
                // notifications all the same.
                self.after_commit.committed().await;
                Next::Rest
            }
        }
    }
}
