use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    AccountStatus, Actor, Deactivation, Reason, RecordedActor, Role, RoleSet, User, UserId,
};

/// The two lifecycle transitions an admin can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusAction {
    Deactivate,
    Reactivate,
}

impl StatusAction {
    /// The name recorded in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusAction::Deactivate => "deactivated",
            StatusAction::Reactivate => "reactivated",
        }
    }

    /// # Errors
    /// [`UnknownAction`] for a name that is not a lifecycle action.
    pub fn parse(text: &str) -> Result<Self, UnknownAction> {
        match text {
            "deactivated" => Ok(StatusAction::Deactivate),
            "reactivated" => Ok(StatusAction::Reactivate),
            _ => Err(UnknownAction),
        }
    }
}

impl StatusAction {
    /// Whether the target must be active for the action to apply: the state a store's
    /// conditional write requires. A target in the other state is already where the action
    /// would take it.
    pub fn requires_active(self) -> bool {
        match self {
            StatusAction::Deactivate => true,
            StatusAction::Reactivate => false,
        }
    }

    /// The role of the targets this action may only change while another active member of that
    /// role remains (the last-active-admin guard); `None` when no target needs the guard.
    pub fn guarded_role(self) -> Option<Role> {
        match self {
            StatusAction::Deactivate => Some(Role::Admin),
            StatusAction::Reactivate => None,
        }
    }

    /// Whether applying the action to a target of `role` needs the last-active-admin guard.
    pub fn needs_last_admin_guard(self, role: Role) -> bool {
        self.guarded_role() == Some(role)
    }

    /// What it means that a store's guarded write of this action did not apply, given what the
    /// store found in the write's snapshot. The one statement of the outcome rules, shared by
    /// every store: an actor who lost its authority stops the change whatever the target's
    /// state; a target already in the resulting state is reported as such; an active admin may
    /// only go through the last-admin guard, and refused by it is the last active admin; a
    /// target that was eligible yet unchanged lost a race with a concurrent change.
    ///
    /// This judges a change whose actor may act on any account; [`StatusChange::judge`] checks
    /// the target's role first.
    pub fn judge(self, found: Unapplied) -> NextStep {
        let Some(target) = found.target else {
            return NextStep::Done(StatusChangeOutcome::NotFound);
        };
        if !found.actor_holds {
            return NextStep::Done(StatusChangeOutcome::ActorRevoked);
        }
        if target.active != self.requires_active() {
            return NextStep::Done(StatusChangeOutcome::AlreadyInState);
        }
        if !found.expectation_held {
            return NextStep::Done(StatusChangeOutcome::NotDue);
        }
        if self.needs_last_admin_guard(target.role) {
            return if found.last_admin_guarded {
                NextStep::Done(StatusChangeOutcome::LastActiveAdmin)
            } else {
                NextStep::ApplyWithLastAdminGuard
            };
        }
        NextStep::Retry
    }
}

/// What a store does with a change, given the target as it found it locked inside the
/// change's own transaction: from [`StatusChange::verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every guard holds: write the change.
    Apply,
    /// Report this outcome (never [`StatusChangeOutcome::Applied`]); write nothing.
    Refuse(StatusChangeOutcome),
}

/// The target of a status change as a store found it, locked, inside the change's own
/// transaction: for [`StatusChange::verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockedTarget {
    pub active: bool,
    pub role: Role,
    /// Its suspension's end as stored (`None`: active, or no end).
    pub until: Option<DateTime<Utc>>,
}

/// The target of a status change as a store found it when its guarded write did not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundTarget {
    pub active: bool,
    pub role: Role,
}

/// What a store found when the guarded write of a [`StatusChange`] changed nothing, for
/// [`StatusAction::judge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unapplied {
    /// The target in the write's snapshot; `None`: no such user.
    pub target: Option<FoundTarget>,
    /// Whether the actor's authority held (see [`Actor`]).
    pub actor_holds: bool,
    /// Whether the write carried the last-active-admin guard.
    pub last_admin_guarded: bool,
    /// Whether the target, as found, met the change's expectation
    /// ([`StatusChange::expectation_holds`]); always true for a change without one.
    pub expectation_held: bool,
}

/// What a store does after a guarded write that did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Report this outcome (never [`StatusChangeOutcome::Applied`]); nothing was written.
    Done(StatusChangeOutcome),
    /// The target may only change through a write carrying the last-active-admin guard, which
    /// a store serialises against other such writes.
    ApplyWithLastAdminGuard,
    /// The target was eligible in the snapshot but changed concurrently: write again.
    Retry,
}

/// From [`StatusAction::parse`]: the text is neither `deactivated` nor `reactivated` (a stored
/// audit row a store cannot read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown lifecycle action")]
pub struct UnknownAction;

/// One status change, fully decided by the domain, for [`crate::ports::UserRepo::change_status`]
/// to apply atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub action: StatusAction,
    pub target: UserId,
    /// Re-checked by the store in the same atomic write; see [`Actor`].
    pub actor: Actor,
    pub reason: Option<Reason>,
    pub at: DateTime<Utc>,
    /// Id of the audit event to record.
    pub event_id: Uuid,
    /// Id of the notification to enqueue; also the seed of the email's Message-ID, so a retried
    /// delivery is recognisably the same message.
    pub notification_id: Uuid,
    /// A deactivation's end (a timed suspension): the system lifts it then. `None`: until an
    /// admin reactivates. Ignored by a reactivation, which clears it.
    pub until: Option<DateTime<Utc>>,
    /// An expectation the store checks in the change's own transaction: apply only if the
    /// target's suspension ends at or before this time (the lift of a timed suspension, which
    /// must not undo a newer deactivation); otherwise [`StatusChangeOutcome::NotDue`].
    pub only_if_due_at: Option<DateTime<Utc>>,
    /// The roles of the accounts the actor may change, from the policy
    /// ([`crate::policy::reach`]); the store checks the target's role against it inside the
    /// change's own transaction (a target promoted meanwhile is refused):
    /// [`StatusChangeOutcome::TargetForbidden`] otherwise.
    pub target_roles: RoleSet,
}

impl StatusChange {
    /// What it means that a store's guarded write of this change did not apply, given what it
    /// found: a target whose role the actor may not change is refused
    /// ([`StatusChangeOutcome::TargetForbidden`], after the actor's own authority), and the
    /// rest is [`StatusAction::judge`].
    pub fn judge(&self, found: Unapplied) -> NextStep {
        if let Some(target) = found.target {
            if found.actor_holds && !self.target_roles.contains(target.role) {
                return NextStep::Done(StatusChangeOutcome::TargetForbidden);
            }
        }
        self.action.judge(found)
    }

    /// May this change apply, given the target as the store found it locked inside the
    /// change's own transaction (`None`: no such account), whether the actor's authority holds
    /// there ([`crate::Authority::holds`]), and, asked only when the target needs the
    /// last-active-admin guard, whether another active account of its role remains? The one
    /// statement of the rule for every store that decides in its own code (PostgreSQL decides
    /// in its statement and reports to [`StatusChange::judge`]).
    ///
    /// # Errors
    /// Whatever `another_active` returns.
    pub fn verdict<E>(
        &self,
        target: Option<LockedTarget>,
        actor_holds: bool,
        another_active: impl FnOnce(Role) -> Result<bool, E>,
    ) -> Result<Verdict, E> {
        let refuse = |outcome| Ok(Verdict::Refuse(outcome));
        let Some(target) = target else {
            return refuse(StatusChangeOutcome::NotFound);
        };
        if !actor_holds {
            return refuse(StatusChangeOutcome::ActorRevoked);
        }
        if !self.target_roles.contains(target.role) {
            return refuse(StatusChangeOutcome::TargetForbidden);
        }
        if target.active != self.action.requires_active() {
            return refuse(StatusChangeOutcome::AlreadyInState);
        }
        if !self.expectation_holds(target.until) {
            return refuse(StatusChangeOutcome::NotDue);
        }
        if self.action.needs_last_admin_guard(target.role) && !another_active(target.role)? {
            return refuse(StatusChangeOutcome::LastActiveAdmin);
        }
        Ok(Verdict::Apply)
    }

    /// The target's status once the change is applied.
    pub fn new_status(&self) -> AccountStatus {
        match self.action {
            StatusAction::Deactivate => AccountStatus::Deactivated(Deactivation {
                at: self.at,
                by: self.actor.account(),
                reason: self.reason.clone(),
                until: self.until,
            }),
            StatusAction::Reactivate => AccountStatus::Active,
        }
    }

    /// Whether a target whose suspension ends at `until` (as stored; `None`: no end) meets this
    /// change's expectation ([`StatusChange::only_if_due_at`]). The one statement of the rule;
    /// PostgreSQL restates it in SQL (`deactivated_until <= $20`).
    pub fn expectation_holds(&self, until: Option<DateTime<Utc>>) -> bool {
        match self.only_if_due_at {
            None => true,
            Some(due_at) => until.is_some_and(|until| until <= due_at),
        }
    }
}

/// What [`crate::ports::UserRepo::change_status`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusChangeOutcome {
    /// The change was applied; the user as it is now.
    Applied(Box<User>),
    /// No user has the target id.
    NotFound,
    /// The user is already in the requested state; nothing was written.
    AlreadyInState,
    /// The target is the only active admin; nothing was written.
    LastActiveAdmin,
    /// When the change was to commit, the actor was no longer an active admin on the token
    /// version it acted with (deactivated, demoted, or its tokens revoked since); nothing was
    /// written. Takes precedence over every outcome but `NotFound`.
    ActorRevoked,
    /// The target's role is not one the actor may change ([`StatusChange::target_roles`]),
    /// as found when the change was to commit; nothing was written.
    TargetForbidden,
    /// The change expected a suspension due by [`StatusChange::only_if_due_at`], and the target
    /// (still deactivated) has none due by then: reactivated and deactivated again since, or
    /// given a later end; nothing was written.
    NotDue,
}

/// What an entry of a user's audit trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Deactivated,
    Reactivated,
    /// The account's role changed ([`AuditEvent::role_shift`] says from what to what).
    RoleChanged,
}

/// Every audit action, in the order lists show them.
pub const ALL_AUDIT_ACTIONS: [AuditAction; 3] = [
    AuditAction::Deactivated,
    AuditAction::Reactivated,
    AuditAction::RoleChanged,
];

impl AuditAction {
    /// The name recorded in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Deactivated => "deactivated",
            AuditAction::Reactivated => "reactivated",
            AuditAction::RoleChanged => "role_changed",
        }
    }

    /// # Errors
    /// [`UnknownAction`] for a name that is not an audit action.
    pub fn parse(text: &str) -> Result<Self, UnknownAction> {
        ALL_AUDIT_ACTIONS
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or(UnknownAction)
    }

    /// The status change this records, if it records one.
    pub fn status(self) -> Option<StatusAction> {
        match self {
            AuditAction::Deactivated => Some(StatusAction::Deactivate),
            AuditAction::Reactivated => Some(StatusAction::Reactivate),
            AuditAction::RoleChanged => None,
        }
    }
}

impl From<StatusAction> for AuditAction {
    fn from(action: StatusAction) -> Self {
        match action {
            StatusAction::Deactivate => AuditAction::Deactivated,
            StatusAction::Reactivate => AuditAction::Reactivated,
        }
    }
}

/// A role change as recorded: the role the account had and the role it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleShift {
    pub from: Role,
    pub to: Role,
}

/// One entry of a user's audit trail: a status change or a role change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub user_id: UserId,
    pub actor: RecordedActor,
    pub action: AuditAction,
    /// For [`AuditAction::RoleChanged`]: from which role to which; `None` otherwise.
    pub role_shift: Option<RoleShift>,
    pub reason: Option<Reason>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
#[path = "status_change_tests.rs"]
mod tests;
