//! The lifter: ends timed suspensions when they are due, through the domain's
//! [`LiftSuspensions`] (as the system, so the reactivation is audited and notified like any
//! other). Every replica runs one; the lift's conditional change makes each account come back
//! exactly once.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_domain::use_cases::LiftSuspensions;
use warden_domain::StatusAction;

use crate::workers::after_commit::{AfterCommit, Channel};

/// A running lifter; [`Lifter::stop`] lets its round finish, then ends it.
#[derive(Debug)]
pub struct Lifter {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Lifter {
    /// Looks for due suspensions every `poll`, and hands the reactivations of a round to
    /// `after_commit` (channel `lift`), so they are counted and their email and webhooks go out
    /// at once, as a request's would.
    pub fn spawn(lift: LiftSuspensions, poll: Duration, after_commit: AfterCommit) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let mut more = false;
                match lift.run_once().await {
                    Ok(round) if round.lifted > 0 => {
                        tracing::info!(lifted = round.lifted, "timed suspensions lifted");
                        after_commit
                            .status_changes(Channel::Lift, StatusAction::Reactivate, round.lifted)
                            .await;
                        more = round.due >= LiftSuspensions::ROUND as usize;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = ?error, "lifting suspensions failed");
                        // Lifts before the failure stay committed (uncounted): start their
                        // notifications all the same.
                        after_commit.committed().await;
                    }
                }
                if more {
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
            tracing::error!(error = ?error, "the lifter ended abnormally");
        }
        tracing::info!("lifter stopped");
    }
}
