//! [`UserRepo`] on SQLite.

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AccountStatus, Actor, AuditEvent, Authority, EmailAddress, EventFilter, HolderState,
    LockedTarget, NewUser, PasswordHash, Role, RoleChange, RoleChangeOutcome, RoleTarget,
    StatusChange, StatusChangeOutcome, User, UserFilter, UserId, Verdict, WebhookEventType,
};

use crate::errors::corrupt;
use crate::rows::{AuditEventRow, NewOutboxRow, UserRow};
use crate::schema::{audit_events, clients, outbox, users};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

#[async_trait]
impl UserRepo for SqliteStore {
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        let row = UserRow::from(user);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                diesel::insert_into(users::table)
                    .values(&row)
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .and_then(|row| User::try_from(row).map_err(corrupt))
            })
        })
        .await
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let row = users::table
                .find(id)
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            row.map(|row| User::try_from(row).map_err(corrupt))
                .transpose()
        })
        .await
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        Ok(self.find_credentials(email).await?.map(|(user, _)| user))
    }

    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        let email = email.as_str().to_owned();
        self.run(move |conn| {
            let row = users::table
                .filter(users::email.eq(email))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            row.map(|row| row.into_credentials().map_err(corrupt))
                .transpose()
        })
        .await
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        self.run(move |conn| conn.immediate_transaction(|conn| apply(conn, &change)))
            .await
    }

    async fn change_role(&self, change: RoleChange) -> Result<RoleChangeOutcome, StoreError> {
        self.run(move |conn| conn.immediate_transaction(|conn| apply_role(conn, &change)))
            .await
    }

    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let user = user.to_string();
        self.run(move |conn| {
            let mut query = audit_events::table
                .filter(audit_events::user_id.eq(user))
                .order(audit_events::id.desc())
                .limit(i64::from(limit))
                .select(AuditEventRow::as_select())
                .into_boxed();
            if let Some(after) = after {
                // UUIDv7 text sorts in time order: "after" in newest-first order is "older".
                query = query.filter(audit_events::id.lt(after.to_string()));
            }
            query
                .load(conn)?
                .into_iter()
                .map(|row| AuditEvent::try_from(row).map_err(corrupt))
                .collect()
        })
        .await
    }

    async fn search(
        &self,
        filter: &UserFilter,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        crate::directory::search(self, filter, after, limit).await
    }

    async fn audit_log(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        crate::directory::audit_log(self, filter, after, limit).await
    }

    async fn due_suspensions(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        self.run(move |conn| {
            users::table
                .filter(users::deactivated_until.le(Ts(now)))
                .filter(users::is_active.eq(false))
                .order(users::deactivated_until.asc())
                .limit(i64::from(limit))
                .select(users::id)
                .load::<String>(conn)?
                .iter()
                .map(|id| UserId::parse(id).map_err(|_| corrupt(anyhow!("stored user id {id:?}"))))
                .collect()
        })
        .await
    }
}

/// The status change, inside `BEGIN IMMEDIATE`: no other connection can write between the
/// guards and the writes, so what this transaction found cannot be invalidated by a concurrent
/// change. What it found goes to the domain's [`StatusChange::verdict`], which says whether the
/// change may apply or what refused it.
pub(crate) fn apply(
    conn: &mut SqliteConnection,
    change: &StatusChange,
) -> QueryResult<StatusChangeOutcome> {
    let target = change.target.to_string();
    let found = users::table
        .find(&target)
        .select((users::is_active, users::role, users::deactivated_until))
        .first::<(bool, String, Option<Ts>)>(conn)
        .optional()?
        .map(|(active, role, until)| {
            Ok::<_, diesel::result::Error>(LockedTarget {
                active,
                role: stored_role(&role)?,
                until: until.map(|until| until.0),
            })
        })
        .transpose()?;
    let actor_holds = actor_holds(conn, &change.actor)?;
    let verdict = change.verdict(found, actor_holds, |role| {
        another_active(conn, &target, role)
    })?;
    if let Verdict::Refuse(outcome) = verdict {
        return Ok(outcome);
    }

    let (is_active, deactivation) = match change.new_status() {
        AccountStatus::Active => (true, None),
        AccountStatus::Deactivated(deactivation) => (false, Some(deactivation)),
    };
    let deactivation = deactivation.as_ref();
    let row = diesel::update(users::table.find(&target))
        .set((
            users::is_active.eq(is_active),
            users::deactivated_at.eq(deactivation.map(|d| Ts(d.at))),
            users::deactivated_by.eq(deactivation.and_then(|d| d.by).map(|by| by.to_string())),
            users::deactivation_reason.eq(deactivation
                .and_then(|d| d.reason.as_ref())
                .map(|r| r.as_str().to_owned())),
            users::deactivated_until.eq(deactivation.and_then(|d| d.until).map(Ts)),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(Ts(change.at)),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)?;
    let user = User::try_from(row).map_err(corrupt)?;

    diesel::insert_into(audit_events::table)
        .values(AuditEventRow::from(change))
        .execute(conn)?;
    diesel::insert_into(outbox::table)
        .values(NewOutboxRow::new(change, &user))
        .execute(conn)?;
    let event_type = WebhookEventType::of(change.action);
    crate::webhooks::enqueue(conn, change.event_id, event_type, change.at, &user)?;
    crate::ssf::enqueue_change(conn, change, &user)?;
    Ok(StatusChangeOutcome::Applied(Box::new(user)))
}

/// The role change, inside `BEGIN IMMEDIATE` (no other connection writes between the guards
/// and the writes), judged by the domain's [`RoleChange::verdict`].
fn apply_role(conn: &mut SqliteConnection, change: &RoleChange) -> QueryResult<RoleChangeOutcome> {
    let target = change.target.to_string();
    let found = users::table
        .find(&target)
        .select((users::role, users::is_active))
        .first::<(String, bool)>(conn)
        .optional()?
        .map(|(role, active)| {
            Ok::<_, diesel::result::Error>(RoleTarget {
                role: stored_role(&role)?,
                active,
            })
        })
        .transpose()?;
    let actor_holds = actor_holds(conn, &change.actor)?;
    let verdict = change.verdict(found, actor_holds, || {
        another_active(conn, &target, Role::Admin)
    })?;
    let (Some(found), None) = (found, verdict.clone()) else {
        return Ok(verdict.unwrap_or(RoleChangeOutcome::NotFound));
    };
    let row = diesel::update(users::table.find(&target))
        .set((
            users::role.eq(change.to.as_str()),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(Ts(change.at)),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)?;
    let user = User::try_from(row).map_err(corrupt)?;
    diesel::insert_into(audit_events::table)
        .values(AuditEventRow::of_role_change(change, found.role))
        .execute(conn)?;
    let event_type = WebhookEventType::UserRoleChanged;
    crate::webhooks::enqueue(conn, change.event_id, event_type, change.at, &user)?;
    Ok(RoleChangeOutcome::Applied {
        user: Box::new(user),
        from: found.role,
    })
}

/// The last-active-admin guard: whether another active account of `role` than `target` exists.
fn another_active(conn: &mut SqliteConnection, target: &str, role: Role) -> QueryResult<bool> {
    let others: i64 = users::table
        .filter(users::role.eq(role.as_str()))
        .filter(users::is_active.eq(true))
        .filter(users::id.ne(target))
        .count()
        .get_result(conn)?;
    Ok(others > 0)
}

/// Whether the authority the actor acts on still holds: what this store finds of its holder,
/// judged by the domain ([`Authority::holds`]). Read inside the change's `BEGIN IMMEDIATE`
/// transaction, so no revocation can commit between this check and the change.
pub(crate) fn actor_holds(conn: &mut SqliteConnection, actor: &Actor) -> QueryResult<bool> {
    let found = match actor.authority() {
        Authority::Account { account, .. } => users::table
            .find(account.to_string())
            .select((users::is_active, users::role, users::token_version))
            .first::<(bool, String, i32)>(conn)
            .optional()?
            .map(|(active, role, token_version)| {
                Ok::<_, diesel::result::Error>(HolderState::Account {
                    active,
                    role: stored_role(&role)?,
                    token_version,
                })
            })
            .transpose()?,
        Authority::Client { client } => clients::table
            .find(client.to_string())
            .select(clients::revoked_at.is_not_null())
            .first::<bool>(conn)
            .optional()?
            .map(|revoked| HolderState::Client { revoked }),
        _ => None,
    };
    Ok(actor.authority().holds(found))
}

fn stored_role(role: &str) -> QueryResult<Role> {
    Role::parse(role).map_err(|_| corrupt(anyhow!("stored role {role:?}")))
}
