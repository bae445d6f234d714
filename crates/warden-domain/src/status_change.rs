use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Actor, Reason, RecordedActor, User, UserId};

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
}

/// One entry of a user's lifecycle audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub user_id: UserId,
    pub actor: RecordedActor,
    pub action: StatusAction,
    pub reason: Option<Reason>,
    pub at: DateTime<Utc>,
}
