//! Changing an account's role: decided by the domain, applied by a store in one atomic write
//! that re-checks the actor, the target's current role and the last-active-admin guard.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Actor, Reason, Role, User, UserId};

/// One role change, fully decided by the domain, for
/// [`crate::ports::UserRepo::change_role`] to apply atomically: the role set, the target's
/// tokens revoked (its token version bumped), an audit event `role_changed` recorded and a
/// `user.role_changed` webhook delivery queued per subscribed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChange {
    pub target: UserId,
    /// The role the target gets.
    pub to: Role,
    /// Re-checked by the store in the same atomic write; see [`Actor`].
    pub actor: Actor,
    pub reason: Option<Reason>,
    pub at: DateTime<Utc>,
    /// Id of the audit event to record (also the webhook event's id).
    pub event_id: Uuid,
}

/// What [`crate::ports::UserRepo::change_role`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoleChangeOutcome {
    /// The change was applied; the user as it is now, and the role it had.
    Applied { user: Box<User>, from: Role },
    /// No user has the target id.
    NotFound,
    /// The target already has the role; nothing was written.
    AlreadyHasRole,
    /// The target is the only active admin and would stop being one; nothing was written.
    LastActiveAdmin,
    /// When the change was to commit, the actor's authority no longer held; nothing was
    /// written. Takes precedence over every outcome but `NotFound`.
    ActorRevoked,
}

/// The target of a role change as a store found it, locked, inside the change's own
/// transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTarget {
    pub role: Role,
    pub active: bool,
}

impl RoleChange {
    /// May this change apply, given the target as the store found it locked (`None`: no such
    /// account), whether the actor's authority holds there, and, asked only when an active
    /// admin would stop being one, whether another active admin remains? `None`: apply;
    /// otherwise the outcome to report. The one statement of the rule for every store.
    ///
    /// # Errors
    /// Whatever `another_active_admin` returns.
    pub fn verdict<E>(
        &self,
        target: Option<RoleTarget>,
        actor_holds: bool,
        another_active_admin: impl FnOnce() -> Result<bool, E>,
    ) -> Result<Option<RoleChangeOutcome>, E> {
        let Some(target) = target else {
            return Ok(Some(RoleChangeOutcome::NotFound));
        };
        if !actor_holds {
            return Ok(Some(RoleChangeOutcome::ActorRevoked));
        }
        if target.role == self.to {
            return Ok(Some(RoleChangeOutcome::AlreadyHasRole));
        }
        if self.needs_last_admin_guard(target) && !another_active_admin()? {
            return Ok(Some(RoleChangeOutcome::LastActiveAdmin));
        }
        Ok(None)
    }

    /// Whether applying the change to `target` takes an active admin away: it then needs the
    /// last-active-admin guard (serialised like a deactivation's).
    pub fn needs_last_admin_guard(&self, target: RoleTarget) -> bool {
        target.active && target.role == Role::Admin && self.to != Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(to: Role) -> RoleChange {
        RoleChange {
            target: UserId::generate(),
            to,
            actor: Actor::admin(UserId::generate(), "a@example.com", 1),
            reason: None,
            at: Utc::now(),
            event_id: Uuid::now_v7(),
        }
    }

    fn found(role: Role, active: bool) -> Option<RoleTarget> {
        Some(RoleTarget { role, active })
    }

    fn verdict(
        change: &RoleChange,
        target: Option<RoleTarget>,
        actor_holds: bool,
        another: bool,
    ) -> Option<RoleChangeOutcome> {
        change
            .verdict(target, actor_holds, || Ok::<_, ()>(another))
            .unwrap()
    }

    #[test]
    fn the_guards_in_order() {
        let demote = change(Role::User);
        assert_eq!(
            verdict(&demote, None, false, true),
            Some(RoleChangeOutcome::NotFound)
        );
        assert_eq!(
            verdict(&demote, found(Role::User, true), false, true),
            Some(RoleChangeOutcome::ActorRevoked)
        );
        assert_eq!(
            verdict(&demote, found(Role::User, true), true, true),
            Some(RoleChangeOutcome::AlreadyHasRole)
        );
        assert_eq!(
            verdict(&demote, found(Role::Admin, true), true, false),
            Some(RoleChangeOutcome::LastActiveAdmin)
        );
        assert_eq!(verdict(&demote, found(Role::Admin, true), true, true), None);
        // A deactivated admin is not an active one: no guard.
        assert_eq!(
            verdict(&demote, found(Role::Admin, false), true, false),
            None
        );
        assert_eq!(
            verdict(
                &change(Role::Admin),
                found(Role::Helpdesk, true),
                true,
                false
            ),
            None
        );
    }

    #[test]
    fn only_taking_an_active_admin_away_asks_for_the_guard() {
        let target = RoleTarget {
            role: Role::Admin,
            active: true,
        };
        assert!(change(Role::Helpdesk).needs_last_admin_guard(target));
        assert!(!change(Role::Admin).needs_last_admin_guard(target));
        let inactive = RoleTarget {
            active: false,
            ..target
        };
        assert!(!change(Role::User).needs_last_admin_guard(inactive));
        let helpdesk = RoleTarget {
            role: Role::Helpdesk,
            active: true,
        };
        assert!(!change(Role::User).needs_last_admin_guard(helpdesk));
    }
}
