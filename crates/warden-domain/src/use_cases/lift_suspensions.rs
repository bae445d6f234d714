use std::sync::Arc;

use super::{Lift, ReactivateError, ReactivateUser, System};
use crate::ports::{Clock, StoreError, UserRepo};

/// Ends the timed suspensions that are due: each one through [`ReactivateUser::lift`], as the
/// system, so the reactivation is audited, notified and guarded like any other. Several
/// replicas may run it at once: the lift's conditional change lets exactly one of them
/// reactivate each account.
#[derive(Clone)]
pub struct LiftSuspensions {
    users: Arc<dyn UserRepo>,
    reactivate: ReactivateUser,
    clock: Arc<dyn Clock>,
}

/// What one round of [`LiftSuspensions::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiftRound {
    /// Due suspensions found.
    pub due: usize,
    /// Accounts this round reactivated.
    pub lifted: usize,
}

impl LiftSuspensions {
    /// Most suspensions one round lifts.
    pub const ROUND: u32 = 100;

    pub fn new(users: Arc<dyn UserRepo>, clock: Arc<dyn Clock>) -> Self {
        Self {
            reactivate: ReactivateUser::new(users.clone(), clock.clone()),
            users,
            clock,
        }
    }

    /// Lifts up to [`Self::ROUND`] suspensions due now. An account another replica (or an
    /// admin) reactivated meanwhile, or deactivated anew, is left alone.
    ///
    /// # Errors
    /// [`StoreError`] when the due suspensions cannot be listed or a lift fails; the ones
    /// lifted before stay lifted, the rest are found again by the next round.
    pub async fn run_once(&self) -> Result<LiftRound, StoreError> {
        let system = System::scheduler();
        let due = self
            .users
            .due_suspensions(self.clock.now(), Self::ROUND)
            .await?;
        let mut round = LiftRound {
            due: due.len(),
            lifted: 0,
        };
        for target in due {
            match self.reactivate.lift(&system, target).await {
                Ok(Lift::Reactivated(_)) => round.lifted += 1,
                Ok(Lift::NotDue)
                | Err(ReactivateError::AlreadyActive | ReactivateError::NotFound) => {}
                Err(ReactivateError::Store(error)) => return Err(error),
                Err(other) => return Err(StoreError::other(other.to_string())),
            }
        }
        Ok(round)
    }
}

impl std::fmt::Debug for LiftSuspensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiftSuspensions")
    }
}

#[cfg(test)]
#[path = "lift_suspensions_tests.rs"]
mod tests;
