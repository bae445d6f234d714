use std::sync::Arc;

use uuid::Uuid;

use chrono::{DateTime, Utc};

use super::{Principal, System};
use crate::policy::{self, Act};
use crate::ports::{Clock, StoreError, UserRepo};
use crate::{
    InvalidSuspensionEnd, Reason, RoleSet, StatusAction, StatusChange, StatusChangeOutcome,
    SuspensionEnd, User, UserId,
};

/// Why [`DeactivateUser`] refused or failed; on every one nothing was changed and nobody is
/// notified. [`DeactivateError::SelfDeactivation`], [`DeactivateError::InvalidUntil`] and an
/// expired credential's [`DeactivateError::ActorRevoked`] are decided before the store is
/// called; the others are what [`crate::ports::UserRepo::change_status`] found when the change
/// was to commit. An unauthenticated or non-admin caller is refused earlier, by
/// [`super::Authenticator`] ([`super::AccessError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeactivateError {
    /// No account has the target id ([`StatusChangeOutcome::NotFound`]).
    #[error("user not found")]
    NotFound,
    /// The target is deactivated already ([`StatusChangeOutcome::AlreadyInState`]): by an
    /// earlier change, or by a concurrent one that committed first.
    #[error("user is already deactivated")]
    AlreadyDeactivated,
    /// The target is the acting admin's own account (an actor acting through a user account);
    /// refused before the store is called.
    #[error("an admin cannot deactivate their own account")]
    SelfDeactivation,
    /// The target is an admin and no other active admin would remain
    /// ([`StatusChangeOutcome::LastActiveAdmin`]), also when two admins deactivate each other
    /// at once.
    #[error("cannot deactivate the last active admin")]
    LastActiveAdmin,
    /// The actor lost its authority before the change could commit: the credential it acts on
    /// expired since it was checked (decided before the store is called), or the store found
    /// its [`crate::Authority`] no longer held (an admin deactivated, demoted or with revoked
    /// tokens; a client revoked: [`StatusChangeOutcome::ActorRevoked`]); nothing changed.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// The policy does not let the actor change an account of the target's role (a helpdesk,
    /// or a provisioning client without `scim.privileged`, on an admin or helpdesk account),
    /// as found when the change was to commit ([`StatusChangeOutcome::TargetForbidden`]).
    #[error("the actor may not change this account")]
    TargetForbidden,
    /// The suspension's end is not acceptable (see [`SuspensionEnd::new`]): not after now, or
    /// more than ten years ahead. Only from [`DeactivateUser::execute_until`].
    #[error("suspension end {0}")]
    InvalidUntil(InvalidSuspensionEnd),
    /// The store failed (see [`StoreError`]): [`StoreError::Unavailable`] when it could not be
    /// reached in time (worth retrying), otherwise a bug, corrupt data, or an outcome this
    /// change cannot have. Nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`ReactivateUser`] refused or failed; on every one nothing was changed and nobody is
/// notified. An expired credential's [`ReactivateError::ActorRevoked`] is decided before the
/// store is called; the others are what [`crate::ports::UserRepo::change_status`] found when
/// the change was to commit. An unauthenticated or non-admin caller is refused earlier, by
/// [`super::Authenticator`] ([`super::AccessError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReactivateError {
    /// No account has the target id ([`StatusChangeOutcome::NotFound`]).
    #[error("user not found")]
    NotFound,
    /// The target is active already ([`StatusChangeOutcome::AlreadyInState`]): never
    /// deactivated, or reactivated by a concurrent change that committed first.
    #[error("user is already active")]
    AlreadyActive,
    /// The actor lost its authority before the change could commit: the credential it acts on
    /// expired since it was checked (decided before the store is called), or the store found
    /// its [`crate::Authority`] no longer held (an admin deactivated, demoted or with revoked
    /// tokens; a client revoked: [`StatusChangeOutcome::ActorRevoked`]); nothing changed.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// As [`DeactivateError::TargetForbidden`].
    #[error("the actor may not change this account")]
    TargetForbidden,
    /// The store failed (see [`StoreError`]): [`StoreError::Unavailable`] when it could not be
    /// reached in time (worth retrying), otherwise a bug, corrupt data, or an outcome this
    /// change cannot have. Nothing was changed.
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
        self.execute_until(by, target, reason, None).await
    }

    /// Like [`DeactivateUser::execute`], for a timed suspension when `until` is given: the
    /// system reactivates the account at that time ([`ReactivateUser::lift`]).
    ///
    /// # Errors
    /// See [`DeactivateError`] ([`DeactivateError::InvalidUntil`] when `until` is not after now
    /// or more than ten years ahead); on any error nothing was changed and nobody is notified.
    pub async fn execute_until(
        &self,
        by: &dyn Principal,
        target: UserId,
        reason: Option<Reason>,
        until: Option<DateTime<Utc>>,
    ) -> Result<User, DeactivateError> {
        // Only an actor acting through a user account has an account of its own to lose.
        if by.actor().account() == Some(target) {
            return Err(DeactivateError::SelfDeactivation);
        }
        let Some(mut change) =
            status_change(StatusAction::Deactivate, target, by, reason, &*self.clock)
        else {
            return Err(DeactivateError::ActorRevoked);
        };
        if let Some(until) = until {
            let end =
                SuspensionEnd::new(until, change.at).map_err(DeactivateError::InvalidUntil)?;
            change.until = Some(end.at());
        }
        match self.users.change_status(change).await? {
            StatusChangeOutcome::Applied(user) => Ok(*user),
            StatusChangeOutcome::NotFound => Err(DeactivateError::NotFound),
            StatusChangeOutcome::AlreadyInState => Err(DeactivateError::AlreadyDeactivated),
            StatusChangeOutcome::LastActiveAdmin => Err(DeactivateError::LastActiveAdmin),
            StatusChangeOutcome::ActorRevoked => Err(DeactivateError::ActorRevoked),
            StatusChangeOutcome::TargetForbidden => Err(DeactivateError::TargetForbidden),
            // Only a change with an expectation can find it unmet; this one has none.
            StatusChangeOutcome::NotDue => Err(unexpected_outcome("deactivation").into()),
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
            StatusChangeOutcome::NotDue => Err(unexpected_outcome("reactivation").into()),
            outcome => reactivated(outcome),
        }
    }

    /// Lifts the timed suspension of `target` if it is due now: reactivates the account as the
    /// system, with the same audit event and notification as any reactivation, but only if, when
    /// the change commits, the account is still deactivated with an end at or before now (a
    /// manual reactivation, or a new deactivation without an end or with a later one, since the
    /// due suspension was listed leaves it alone: [`Lift::NotDue`]). Exactly one of several
    /// concurrent lifts of the same suspension reactivates.
    ///
    /// # Errors
    /// [`ReactivateError::NotFound`], [`ReactivateError::AlreadyActive`] (both: nothing to
    /// lift) or [`ReactivateError::Store`].
    pub async fn lift(&self, by: &System, target: UserId) -> Result<Lift, ReactivateError> {
        let Some(mut change) = status_change(
            StatusAction::Reactivate,
            target,
            by,
            Reason::parse(Self::LIFT_REASON).ok().flatten(),
            &*self.clock,
        ) else {
            return Err(ReactivateError::ActorRevoked);
        };
        change.only_if_due_at = Some(change.at);
        match self.users.change_status(change).await? {
            StatusChangeOutcome::NotDue => Ok(Lift::NotDue),
            outcome => reactivated(outcome).map(|user| Lift::Reactivated(Box::new(user))),
        }
    }

    /// The reason recorded (and told the user) when the system lifts a timed suspension.
    pub const LIFT_REASON: &'static str = "The suspension period has ended.";
}

/// What [`ReactivateUser::lift`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lift {
    /// The suspension was due and is lifted; the user as it is now.
    Reactivated(Box<User>),
    /// The account is deactivated with no end due now (see [`StatusChangeOutcome::NotDue`]):
    /// nothing to do.
    NotDue,
}

fn reactivated(outcome: StatusChangeOutcome) -> Result<User, ReactivateError> {
    match outcome {
        StatusChangeOutcome::Applied(user) => Ok(*user),
        StatusChangeOutcome::NotFound => Err(ReactivateError::NotFound),
        // Reactivation cannot remove an admin, so the last-admin rule never applies.
        StatusChangeOutcome::AlreadyInState | StatusChangeOutcome::LastActiveAdmin => {
            Err(ReactivateError::AlreadyActive)
        }
        StatusChangeOutcome::ActorRevoked => Err(ReactivateError::ActorRevoked),
        StatusChangeOutcome::TargetForbidden => Err(ReactivateError::TargetForbidden),
        StatusChangeOutcome::NotDue => Err(unexpected_outcome("reactivation").into()),
    }
}

/// A store reporting an outcome the change could not have (an expectation it did not carry).
fn unexpected_outcome(what: &str) -> StoreError {
    StoreError::other(format!(
        "the store reported an unmet expectation for a {what} without one"
    ))
}

impl std::fmt::Debug for ReactivateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReactivateUser")
    }
}

/// The change to ask the store for, made now; `None` when the principal's credential has
/// expired since the request was authenticated (a held request must not outlive its token).
/// Whether its authority still holds, the store re-checks as it commits.
pub(super) fn status_change(
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
        until: None,
        only_if_due_at: None,
        target_roles: policy::reach(by.actor().subject(), Act::ChangeStatus)
            .unwrap_or(RoleSet::NONE),
    })
}

#[cfg(test)]
#[path = "change_status_tests.rs"]
mod tests;
