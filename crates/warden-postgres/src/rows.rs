//! The rows this adapter reads and writes, and their conversion into domain values. Private: the
//! rest of the crate hands out domain types only.

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use uuid::Uuid;
use warden_domain::ports::{OutboxStats, PendingNotification};
use warden_domain::{
    display_name, AccountStatus, ActorKind, AuditAction, AuditEvent, Deactivation, EmailAddress,
    FoundTarget, NewUser, Notification, Reason, RecordedActor, Role, RoleShift, StatusAction, User,
    UserId,
};

use crate::schema::{audit_events, outbox, users};

/// A `users` row without its password hash.
#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    is_active: bool,
    deactivated_at: Option<DateTime<Utc>>,
    deactivated_by: Option<Uuid>,
    deactivation_reason: Option<String>,
    token_version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deactivated_until: Option<DateTime<Utc>>,
}

impl UserRow {
    /// The stored end of the user's suspension, if any.
    pub(crate) fn deactivated_until(&self) -> Option<DateTime<Utc>> {
        self.deactivated_until
    }

    /// The target's state, as a status change's judgement needs it.
    pub(crate) fn found(&self) -> anyhow::Result<FoundTarget> {
        Ok(FoundTarget {
            active: self.is_active,
            role: Role::parse(&self.role)
                .with_context(|| format!("stored role {:?}", self.role))?,
        })
    }

    #[cfg(test)]
    pub(crate) fn sample(is_active: bool, role: &str) -> Self {
        let at = Utc::now();
        UserRow {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            role: role.into(),
            is_active,
            deactivated_at: (!is_active).then_some(at),
            deactivated_by: None,
            deactivation_reason: Some("spam".into()),
            token_version: 2,
            created_at: at,
            updated_at: at,
            deactivated_until: None,
        }
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
                    .context("inactive user without deactivated_at")?,
                by: row.deactivated_by.map(UserId::from_uuid),
                reason: reason(row.deactivation_reason)?,
                until: row.deactivated_until,
            })
        };
        Ok(User {
            id: UserId::from_uuid(row.id),
            email: email(&row.email)?,
            first_name: row.first_name,
            last_name: row.last_name,
            role: Role::parse(&row.role).with_context(|| format!("stored role {:?}", row.role))?,
            status,
            token_version: row.token_version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What a status-change statement returns: the target as it is after the statement, and whether
/// this statement changed it (`applied`) or, its row locked elsewhere, skipped it (`skipped`).
/// No row: no such user.
#[derive(Debug, QueryableByName)]
pub(crate) struct StatusRow {
    #[diesel(sql_type = Bool)]
    pub(crate) applied: bool,
    /// Whether the actor was, in the statement's snapshot, an active admin on its token version.
    #[diesel(sql_type = Bool)]
    pub(crate) actor_ok: bool,
    /// Whether a group's statement left the change undecided (its target's row was locked).
    #[diesel(sql_type = Bool)]
    pub(crate) skipped: bool,
    #[diesel(embed)]
    pub(crate) user: UserRow,
}

#[derive(Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NewUserRow<'a> {
    id: Uuid,
    email: &'a str,
    password_hash: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    role: &'a str,
    is_active: bool,
    token_version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a NewUser> for NewUserRow<'a> {
    fn from(user: &'a NewUser) -> Self {
        Self {
            id: *user.id.as_uuid(),
            email: user.email.as_str(),
            password_hash: user.password_hash.as_str(),
            first_name: &user.first_name,
            last_name: &user.last_name,
            role: user.role.as_str(),
            is_active: true,
            token_version: 0,
            created_at: user.created_at,
            updated_at: user.created_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AuditEventRow {
    id: Uuid,
    user_id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    reason: Option<String>,
    created_at: DateTime<Utc>,
    actor_kind: String,
    actor_name: String,
    actor_client_id: Option<Uuid>,
    actor_role: Option<String>,
    from_role: Option<String>,
    to_role: Option<String>,
}

/// An audit row's `actor_role`: `None` for clients, the system, and rows older than roles.
pub(crate) fn stored_actor_role(role: Option<&str>) -> anyhow::Result<Option<Role>> {
    role.map(|role| Role::parse(role).map_err(|_| anyhow::anyhow!("stored actor role {role:?}")))
        .transpose()
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = anyhow::Error;

    fn try_from(row: AuditEventRow) -> anyhow::Result<Self> {
        Ok(AuditEvent {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            actor: RecordedActor {
                kind: ActorKind::parse(&row.actor_kind)?,
                id: row.actor_id.or(row.actor_client_id),
                name: row.actor_name,
                role: stored_actor_role(row.actor_role.as_deref())?,
            },
            action: AuditAction::parse(&row.action)
                .map_err(|_| anyhow::anyhow!("stored audit action {:?}", row.action))?,
            role_shift: stored_role_shift(row.from_role.as_deref(), row.to_role.as_deref())?,
            reason: reason(row.reason)?,
            at: row.created_at,
        })
    }
}

/// An outbox entry just claimed for delivery.
#[derive(Debug, QueryableByName)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ClaimedRow {
    id: Uuid,
    action: String,
    recipient: String,
    recipient_first_name: String,
    reason: Option<String>,
    occurred_at: DateTime<Utc>,
    attempts: i32,
    suspended_until: Option<DateTime<Utc>>,
}

impl TryFrom<ClaimedRow> for PendingNotification {
    type Error = anyhow::Error;

    fn try_from(row: ClaimedRow) -> anyhow::Result<Self> {
        let to = email(&row.recipient)?;
        Ok(PendingNotification {
            notification: Notification {
                id: row.id,
                action: action(&row.action)?,
                name: display_name(&row.recipient_first_name, &to).to_owned(),
                to,
                reason: reason(row.reason)?,
                occurred_at: row.occurred_at,
                until: row.suspended_until,
            },
            attempts: u32::try_from(row.attempts)
                .with_context(|| format!("negative attempt count {}", row.attempts))?,
        })
    }
}

#[derive(Debug, QueryableByName)]
pub(crate) struct StatsRow {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
}

impl TryFrom<StatsRow> for OutboxStats {
    type Error = anyhow::Error;

    fn try_from(row: StatsRow) -> anyhow::Result<Self> {
        Ok(OutboxStats {
            pending: u64::try_from(row.pending)?,
            failed: u64::try_from(row.failed)?,
        })
    }
}

fn email(text: &str) -> anyhow::Result<EmailAddress> {
    EmailAddress::parse(text).map_err(|_| anyhow!("stored email address {text:?} is invalid"))
}

fn action(text: &str) -> anyhow::Result<StatusAction> {
    StatusAction::parse(text).with_context(|| format!("stored action {text:?}"))
}

fn reason(text: Option<String>) -> anyhow::Result<Option<Reason>> {
    match text {
        None => Ok(None),
        Some(text) => Reason::parse(&text).context("stored reason"),
    }
}

/// An audit row's `from_role` and `to_role`: both for a role change, neither otherwise.
pub(crate) fn stored_role_shift(
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<Option<RoleShift>> {
    let role = |text: &str| Role::parse(text).map_err(|_| anyhow::anyhow!("stored role {text:?}"));
    match (from, to) {
        (Some(from), Some(to)) => Ok(Some(RoleShift {
            from: role(from)?,
            to: role(to)?,
        })),
        (None, None) => Ok(None),
        _ => Err(anyhow::anyhow!("a role change recorded with one role")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(is_active: bool, deactivated_at: Option<DateTime<Utc>>) -> UserRow {
        UserRow {
            deactivated_at,
            ..UserRow::sample(is_active, "admin")
        }
    }

    #[test]
    fn converts_a_deactivated_user() {
        let at = Utc::now();
        let user = User::try_from(row(false, Some(at))).unwrap();
        assert!(user.is_admin() && !user.is_active());
        match user.status {
            AccountStatus::Deactivated(d) => {
                assert_eq!(d.at, at);
                assert_eq!(d.reason.map(|r| r.to_string()).as_deref(), Some("spam"));
            }
            AccountStatus::Active => panic!("should be deactivated"),
        }
    }

    #[test]
    fn refuses_corrupt_rows() {
        assert!(User::try_from(row(false, None)).is_err());
        let mut bad_role = row(true, None);
        bad_role.role = "root".into();
        assert!(User::try_from(bad_role).is_err());
        let negative = StatsRow {
            pending: -1,
            failed: 0,
        };
        assert!(OutboxStats::try_from(negative).is_err());
    }
}
