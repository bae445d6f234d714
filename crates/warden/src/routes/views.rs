//! The public JSON shapes of domain values. Domain types carry no serde; these do.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use warden_domain::use_cases::{EventPage, LogPage, LoggedEvent};
use warden_domain::{AccountStatus, AuditEvent, AuditedChange, RecordedActor, TargetKind, User};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[schema(format = Uuid)]
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    #[schema(value_type = String, example = "user")]
    role: &'static str,
    is_active: bool,
    deactivated_at: Option<DateTime<Utc>>,
    deactivated_by: Option<String>,
    deactivation_reason: Option<String>,
    /// When a timed suspension ends: the system reactivates the account then. Null when the
    /// account is active or deactivated until an admin reactivates it.
    deactivated_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        let deactivation = match &user.status {
            AccountStatus::Active => None,
            AccountStatus::Deactivated(d) => Some(d),
        };
        Self {
            id: user.id.to_string(),
            email: user.email.to_string(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role.as_str(),
            is_active: user.is_active(),
            deactivated_at: deactivation.map(|d| d.at),
            deactivated_by: deactivation.and_then(|d| d.by).map(|id| id.to_string()),
            deactivation_reason: deactivation
                .and_then(|d| d.reason.as_ref())
                .map(|r| r.to_string()),
            deactivated_until: deactivation.and_then(|d| d.until),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Who made a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActorView {
    /// `user` (an admin over the API), `operator` (the CLI, on an admin's authority),
    /// `client` (a machine client, e.g. SCIM provisioning) or `system` (Warden on a schedule).
    #[schema(value_type = String, example = "user")]
    kind: &'static str,
    /// The acting account (for `user` and `operator`) or client (for `client`); null for
    /// `system`, or if the account was deleted.
    #[schema(format = Uuid)]
    id: Option<String>,
    /// The admin's email address, an operator's OS user, a client's name, or `system`.
    name: String,
    /// The acting account's role when it acted (`admin` or `helpdesk`); null for clients and
    /// the system, and for changes recorded before roles were kept.
    #[schema(value_type = Option<String>, example = "admin")]
    role: Option<&'static str>,
}

impl From<&RecordedActor> for ActorView {
    fn from(actor: &RecordedActor) -> Self {
        Self {
            kind: actor.kind.as_str(),
            id: actor.id.map(|id| id.to_string()),
            name: actor.name.clone(),
            role: actor.role.map(|role| role.as_str()),
        }
    }
}

/// What a change concerns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    /// `user` (an account), `client` (a machine client) or `webhook` (a webhook endpoint).
    #[schema(value_type = String, example = "client")]
    kind: &'static str,
    id: Uuid,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    id: Uuid,
    /// The account the change was made to; null for a change of a client or a webhook
    /// endpoint (see `target`).
    #[schema(format = Uuid)]
    target_id: Option<String>,
    /// `deactivated` or `reactivated` (status changes); `role_changed` (see `from_role` and
    /// `to_role`); `profile_updated` (a provisioning
    /// client changed the account's profile); `client_created`, `client_revoked`,
    /// `webhook_created`, `webhook_updated`, `webhook_secret_rotated`, `webhook_deleted`
    /// (configuration changes).
    #[schema(value_type = String, example = "deactivated")]
    action: &'static str,
    /// What the change concerns: the account, client or webhook endpoint.
    target: TargetView,
    /// For `profile_updated`: the names of the attributes changed (never their values). Absent
    /// for other actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Vec<String>>,
    /// For `role_changed`: the role the account had. Absent for other actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "user")]
    from_role: Option<&'static str>,
    /// For `role_changed`: the role the account got. Absent for other actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "helpdesk")]
    to_role: Option<&'static str>,
    actor: ActorView,
    /// The acting user account: `actor.id` for `user` and `operator` actors, null for the
    /// others; kept for clients written before `actor`.
    actor_id: Option<String>,
    /// How the change came in: `api`, `cli` or `system`.
    #[schema(value_type = String, example = "api")]
    channel: &'static str,
    reason: Option<String>,
    at: DateTime<Utc>,
}

impl From<&AuditEvent> for EventView {
    fn from(event: &AuditEvent) -> Self {
        let actor = ActorView::from(&event.actor);
        Self {
            id: event.id,
            target_id: Some(event.user_id.to_string()),
            action: event.action.as_str(),
            target: TargetView {
                kind: TargetKind::User.as_str(),
                id: *event.user_id.as_uuid(),
            },
            attributes: None,
            from_role: event.role_shift.map(|shift| shift.from.as_str()),
            to_role: event.role_shift.map(|shift| shift.to.as_str()),
            actor,
            actor_id: event.actor.account().map(|id| id.to_string()),
            channel: event.actor.kind.channel(),
            reason: event.reason.as_ref().map(|r| r.to_string()),
            at: event.at,
        }
    }
}

impl From<&AuditedChange> for EventView {
    fn from(change: &AuditedChange) -> Self {
        let kind = change.target_kind();
        Self {
            id: change.id,
            target_id: (kind == TargetKind::User).then(|| change.target.to_string()),
            action: change.action.as_str(),
            target: TargetView {
                kind: kind.as_str(),
                id: change.target,
            },
            attributes: (change.action == warden_domain::ChangeAction::ProfileUpdated)
                .then(|| change.attributes.clone()),
            from_role: None,
            to_role: None,
            actor: ActorView::from(&change.actor),
            actor_id: change.actor.account().map(|id| id.to_string()),
            channel: change.actor.kind.channel(),
            reason: None,
            at: change.at,
        }
    }
}

impl From<&LoggedEvent> for EventView {
    fn from(event: &LoggedEvent) -> Self {
        match event {
            LoggedEvent::Status(event) => Self::from(event),
            LoggedEvent::Change(change) => Self::from(change),
        }
    }
}

impl From<&LogPage> for EventPageView {
    fn from(page: &LogPage) -> Self {
        Self {
            events: page.events.iter().map(EventView::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPageView {
    events: Vec<EventView>,
    next_cursor: Option<Uuid>,
}

impl From<&EventPage> for EventPageView {
    fn from(page: &EventPage) -> Self {
        Self {
            events: page.events.iter().map(EventView::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}
