//! Changing an account's role (admins only): decided here, re-checked and applied by the store
//! in one write ([`crate::ports::UserRepo::change_role`]).

use std::sync::Arc;

use uuid::Uuid;

use super::{Admin, Principal};
use crate::ports::{Clock, StoreError, UserRepo};
use crate::{Reason, Role, RoleChange, RoleChangeOutcome, User, UserId};

/// Why [`ChangeRole`] refused or failed; on every one nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeRoleError {
    /// No account has the target id.
    #[error("user not found")]
    NotFound,
    /// The target already has the role.
    #[error("user already has this role")]
    AlreadyHasRole,
    /// The target is the acting admin's own account; refused before the store is called.
    #[error("an admin cannot change their own role")]
    OwnRole,
    /// The target is the only active admin and would stop being one (also when two admins
    /// demote each other at once).
    #[error("cannot remove the last active admin")]
    LastActiveAdmin,
    /// The actor lost its authority before the change could commit (its credential expired,
    /// or it was deactivated, demoted or had its tokens revoked since).
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// The store failed (see [`StoreError`]); nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives an account another role. The target's tokens are revoked at once (its next request
/// is refused until it signs in again), the change is audited and announced to webhooks.
#[derive(Clone)]
pub struct ChangeRole {
    users: Arc<dyn UserRepo>,
    clock: Arc<dyn Clock>,
}

impl ChangeRole {
    pub fn new(users: Arc<dyn UserRepo>, clock: Arc<dyn Clock>) -> Self {
        Self { users, clock }
    }

    /// Gives `target` the role `to`, as `by`, for `reason`; returns the user as it is now and
    /// the role it had.
    ///
    /// # Errors
    /// See [`ChangeRoleError`]; on any error nothing was changed.
    pub async fn execute(
        &self,
        by: &Admin,
        target: UserId,
        to: Role,
        reason: Option<Reason>,
    ) -> Result<(User, Role), ChangeRoleError> {
        if by.id() == target {
            return Err(ChangeRoleError::OwnRole);
        }
        let at = self.clock.now();
        if !Principal::is_valid_at(by, at) {
            return Err(ChangeRoleError::ActorRevoked);
        }
        let change = RoleChange {
            target,
            to,
            actor: by.actor().clone(),
            reason,
            at,
            event_id: Uuid::now_v7(),
        };
        match self.users.change_role(change).await? {
            RoleChangeOutcome::Applied { user, from } => Ok((*user, from)),
            RoleChangeOutcome::NotFound => Err(ChangeRoleError::NotFound),
            RoleChangeOutcome::AlreadyHasRole => Err(ChangeRoleError::AlreadyHasRole),
            RoleChangeOutcome::LastActiveAdmin => Err(ChangeRoleError::LastActiveAdmin),
            RoleChangeOutcome::ActorRevoked => Err(ChangeRoleError::ActorRevoked),
        }
    }
}

impl std::fmt::Debug for ChangeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeRole")
    }
}
