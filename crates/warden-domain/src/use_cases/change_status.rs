use std::sync::Arc;

use uuid::Uuid;

use super::Principal;
use crate::ports::{Clock, StoreError, UserRepo};
use crate::{Reason, StatusAction, StatusChange, StatusChangeOutcome, User, UserId};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeactivateError {
    /// No such user.
    #[error("user not found")]
    NotFound,
    #[error("user is already deactivated")]
    AlreadyDeactivated,
    #[error("an admin cannot deactivate their own account")]
    SelfDeactivation,
    #[error("cannot deactivate the last active admin")]
    LastActiveAdmin,
    /// The actor lost its authority before the change could commit (an admin deactivated,
    /// demoted or revoked; a client revoked); nothing changed.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReactivateError {
    #[error("user not found")]
    NotFound,
    #[error("user is already active")]
    AlreadyActive,
    /// The actor lost its authority before the change could commit (an admin deactivated,
    /// demoted or revoked; a client revoked); nothing changed.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Revokes a user's access without deleting the account: the account is marked inactive, every
/// token it holds stops working, the change is audited and the user is notified, all in one
/// atomic store operation.
#[derive(Clone)]
pub struct DeactivateUser {
    users: Arc<dyn UserRepo>,
    clock: Arc<dyn Clock>,
}

impl DeactivateUser {
    pub fn new(users: Arc<dyn UserRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { users, clock }
    }

    /// Deactivates the user whose id is `target`, as `by`, for `reason`.
    ///
    /// # Errors
    /// See [`DeactivateError`]; on any error nothing was changed and nobody is notified.
    pub async fn execute(
        &self,
        by: &dyn Principal,
        target: UserId,
        reason: Option<Reason>,
    ) -> Result<User, DeactivateError> {
        // Only an actor acting through a user account has an account of its own to lose.
        if by.actor().account() == Some(target) {
            return Err(DeactivateError::SelfDeactivation);
        }
        let Some(change) =
            status_change(StatusAction::Deactivate, target, by, reason, &*self.clock)
        else {
            return Err(DeactivateError::ActorRevoked);
        };
        match self.users.change_status(change).await? {
            StatusChangeOutcome::Applied(user) => Ok(*user),
            StatusChangeOutcome::NotFound => Err(DeactivateError::NotFound),
            StatusChangeOutcome::AlreadyInState => Err(DeactivateError::AlreadyDeactivated),
            StatusChangeOutcome::LastActiveAdmin => Err(DeactivateError::LastActiveAdmin),
            StatusChangeOutcome::ActorRevoked => Err(DeactivateError::ActorRevoked),
        }
    }
}

impl std::fmt::Debug for DeactivateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeactivateUser")
    }
}

/// Gives a deactivated user their access back. Tokens issued before the reactivation stay
/// revoked; the user must sign in again.
#[derive(Clone)]
pub struct ReactivateUser {
    users: Arc<dyn UserRepo>,
    clock: Arc<dyn Clock>,
}

impl ReactivateUser {
    pub fn new(users: Arc<dyn UserRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { users, clock }
    }

    /// # Errors
    /// See [`ReactivateError`]; on any error nothing was changed and nobody is notified.
    pub async fn execute(
        &self,
        by: &dyn Principal,
        target: UserId,
        reason: Option<Reason>,
    ) -> Result<User, ReactivateError> {
        let Some(change) =
            status_change(StatusAction::Reactivate, target, by, reason, &*self.clock)
        else {
            return Err(ReactivateError::ActorRevoked);
        };
        match self.users.change_status(change).await? {
            StatusChangeOutcome::Applied(user) => Ok(*user),
            StatusChangeOutcome::NotFound => Err(ReactivateError::NotFound),
            // Reactivation cannot remove an admin, so the last-admin rule never applies.
            StatusChangeOutcome::AlreadyInState | StatusChangeOutcome::LastActiveAdmin => {
                Err(ReactivateError::AlreadyActive)
            }
            StatusChangeOutcome::ActorRevoked => Err(ReactivateError::ActorRevoked),
        }
    }
}

impl std::fmt::Debug for ReactivateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReactivateUser")
    }
}

/// The change to ask the store for, made now; `None` when the principal's credential has
/// expired since the request was authenticated (a held request must not outlive its token).
/// Whether its authority still holds, the store re-checks as it commits.
fn status_change(
    action: StatusAction,
    target: UserId,
    by: &dyn Principal,
    reason: Option<Reason>,
    clock: &dyn Clock,
) -> Option<StatusChange> {
    let at = clock.now();
    by.is_valid_at(at).then(|| StatusChange {
        action,
        target,
        actor: by.actor().clone(),
        reason,
        at,
        event_id: Uuid::now_v7(),
        notification_id: Uuid::now_v7(),
    })
}

#[cfg(test)]
#[path = "change_status_tests.rs"]
mod tests;
