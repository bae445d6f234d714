//! Row structs of the three tables and their conversion into domain values. Private to the
//! adapter: a row that does not convert (corrupt data) is a store failure, never a panic.

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use uuid::Uuid;
use warden_domain::ports::PendingNotification;
use warden_domain::{
    display_name, AccountStatus, Actor, ActorKind, AuditAction, AuditEvent, Authority,
    Deactivation, EmailAddress, NewUser, Notification, PasswordHash, Reason, RecordedActor, Role,
    RoleChange, RoleShift, StatusAction, StatusChange, User, UserId,
};

use crate::schema::{audit_events, outbox, users};
use crate::timestamp::Ts;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(Sqlite))]
pub(crate) struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub is_active: bool,
    pub deactivated_at: Option<Ts>,
    pub deactivated_by: Option<String>,
    pub deactivation_reason: Option<String>,
    pub token_version: i32,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub deactivated_until: Option<Ts>,
}

impl From<NewUser> for UserRow {
    fn from(new: NewUser) -> Self {
        Self {
            id: new.id.to_string(),
            email: new.email.as_str().to_owned(),
            password_hash: new.password_hash.as_str().to_owned(),
            first_name: new.first_name,
            last_name: new.last_name,
            role: new.role.as_str().to_owned(),
            is_active: true,
            deactivated_at: None,
            deactivated_by: None,
            deactivation_reason: None,
            token_version: 0,
            created_at: Ts(new.created_at),
            updated_at: Ts(new.created_at),
            deactivated_until: None,
        }
    }
}

impl UserRow {
    pub fn into_credentials(self) -> anyhow::Result<(User, PasswordHash)> {
        let hash = PasswordHash::new(self.password_hash.clone());
        Ok((User::try_from(self)?, hash))
    }
}

impl TryFrom<UserRow> for User {
    type Error = anyhow::Error;

    fn try_from(row: UserRow) -> anyhow::Result<Self> {
        let status = if row.is_active {
            AccountStatus::Active
        } else {
            AccountStatus::Deactivated(Deactivation {
                at: row
                    .deactivated_at
                    .ok_or_else(|| anyhow!("inactive user without deactivated_at"))?
                    .0,
                by: row.deactivated_by.as_deref().map(user_id).transpose()?,
                reason: reason(row.deactivation_reason.as_deref())?,
                until: row.deactivated_until.map(|until| until.0),
            })
        };
        Ok(User {
            id: user_id(&row.id)?,
            email: EmailAddress::parse(&row.email).context("stored email")?,
            first_name: row.first_name,
            last_name: row.last_name,
            role: Role::parse(&row.role).context("stored role")?,
            status,
            token_version: row.token_version,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(Sqlite))]
pub(crate) struct AuditEventRow {
    pub id: String,
    pub user_id: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub reason: Option<String>,
    pub created_at: Ts,
    pub actor_kind: String,
    pub actor_name: String,
    pub actor_client_id: Option<String>,
    pub actor_role: Option<String>,
    pub from_role: Option<String>,
    pub to_role: Option<String>,
}

impl From<&StatusChange> for AuditEventRow {
    fn from(change: &StatusChange) -> Self {
        let action = AuditAction::from(change.action);
        Self::recorded(
            change.event_id,
            change.target,
            action,
            &change.actor,
            change.reason.as_ref(),
            change.at,
        )
    }
}

impl AuditEventRow {
    /// The audit event of a role change that found the target with role `from`.
    pub(crate) fn of_role_change(change: &RoleChange, from: Role) -> Self {
        let action = AuditAction::RoleChanged;
        Self {
            from_role: Some(from.as_str().to_owned()),
            to_role: Some(change.to.as_str().to_owned()),
            ..Self::recorded(
                change.event_id,
                change.target,
                action,
                &change.actor,
                change.reason.as_ref(),
                change.at,
            )
        }
    }

    /// An event of `action` on `target` by `actor`, with no role change.
    fn recorded(
        id: Uuid,
        target: UserId,
        action: AuditAction,
        actor: &Actor,
        reason: Option<&Reason>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.to_string(),
            user_id: target.to_string(),
            actor_id: actor.account().map(|id| id.to_string()),
            action: action.as_str().to_owned(),
            reason: reason.map(|r| r.as_str().to_owned()),
            created_at: Ts(at),
            actor_kind: actor.kind().as_str().to_owned(),
            actor_name: actor.name().to_owned(),
            actor_client_id: match actor.authority() {
                Authority::Client { client } => Some(client.to_string()),
                _ => None,
            },
            actor_role: actor.role().map(|role| role.as_str().to_owned()),
            from_role: None,
            to_role: None,
        }
    }
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = anyhow::Error;

    fn try_from(row: AuditEventRow) -> anyhow::Result<Self> {
        Ok(AuditEvent {
            id: uuid(&row.id)?,
            user_id: user_id(&row.user_id)?,
            actor: RecordedActor {
                kind: ActorKind::parse(&row.actor_kind).context("stored actor kind")?,
                id: row
                    .actor_id
                    .as_deref()
                    .or(row.actor_client_id.as_deref())
                    .map(uuid)
                    .transpose()?,
                name: row.actor_name,
                role: stored_actor_role(row.actor_role.as_deref())?,
            },
            action: AuditAction::parse(&row.action).context("stored action")?,
            role_shift: stored_role_shift(row.from_role.as_deref(), row.to_role.as_deref())?,
            reason: reason(row.reason.as_deref())?,
            at: row.created_at.0,
        })
    }
}

/// A new outbox entry: due at the change's time, not yet attempted.
#[derive(Insertable)]
#[diesel(table_name = outbox, check_for_backend(Sqlite))]
pub(crate) struct NewOutboxRow {
    pub id: String,
    pub action: String,
    pub recipient: String,
    pub recipient_first_name: String,
    pub reason: Option<String>,
    pub occurred_at: Ts,
    pub attempts: i32,
    pub next_attempt_at: Ts,
    pub suspended_until: Option<Ts>,
}

impl NewOutboxRow {
    /// The notification `change` owes to `user` (as the change left them). Keeps the first
    /// name: the domain makes the greeting name of it when the entry is read.
    pub fn new(change: &StatusChange, user: &User) -> Self {
        Self {
            id: change.notification_id.to_string(),
            action: change.action.as_str().to_owned(),
            recipient: user.email.as_str().to_owned(),
            recipient_first_name: user.first_name.clone(),
            reason: change.reason.as_ref().map(|r| r.as_str().to_owned()),
            occurred_at: Ts(change.at),
            attempts: 0,
            next_attempt_at: Ts(change.at),
            suspended_until: change
                .until
                .filter(|_| change.action == StatusAction::Deactivate)
                .map(Ts),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(Sqlite))]
pub(crate) struct OutboxRow {
    pub id: String,
    pub action: String,
    pub recipient: String,
    pub recipient_first_name: String,
    pub reason: Option<String>,
    pub occurred_at: Ts,
    pub attempts: i32,
    pub suspended_until: Option<Ts>,
}

impl TryFrom<OutboxRow> for PendingNotification {
    type Error = anyhow::Error;

    fn try_from(row: OutboxRow) -> anyhow::Result<Self> {
        let to = EmailAddress::parse(&row.recipient).context("stored recipient")?;
        Ok(PendingNotification {
            notification: Notification {
                id: uuid(&row.id)?,
                action: StatusAction::parse(&row.action).context("stored action")?,
                name: display_name(&row.recipient_first_name, &to).to_owned(),
                to,
                reason: reason(row.reason.as_deref())?,
                occurred_at: row.occurred_at.0,
                until: row.suspended_until.map(|until| until.0),
            },
            attempts: u32::try_from(row.attempts).context("stored attempts")?,
        })
    }
}

fn uuid(text: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(text).with_context(|| format!("stored id {text:?}"))
}

fn user_id(text: &str) -> anyhow::Result<UserId> {
    uuid(text).map(UserId::from_uuid)
}

fn reason(text: Option<&str>) -> anyhow::Result<Option<Reason>> {
    Ok(text
        .map(Reason::parse)
        .transpose()
        .context("stored reason")?
        .flatten())
}

/// An audit row's `actor_role`: `None` for clients, the system, and rows older than roles.
pub(crate) fn stored_actor_role(role: Option<&str>) -> anyhow::Result<Option<Role>> {
    role.map(|role| Role::parse(role).map_err(|_| anyhow!("stored actor role {role:?}")))
        .transpose()
}

/// An audit row's `from_role` and `to_role`: both for a role change, neither otherwise.
pub(crate) fn stored_role_shift(
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<Option<RoleShift>> {
    let role = |text: &str| Role::parse(text).map_err(|_| anyhow!("stored role {text:?}"));
    match (from, to) {
        (Some(from), Some(to)) => Ok(Some(RoleShift {
            from: role(from)?,
            to: role(to)?,
        })),
        (None, None) => Ok(None),
        _ => Err(anyhow!("a role change recorded with one role")),
    }
}
