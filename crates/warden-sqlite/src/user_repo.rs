//! [`UserRepo`] on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    Actor, AuditEvent, EmailAddress, NewUser, PasswordHash, Role, StatusAction, StatusChange,
    StatusChangeOutcome, User, UserId,
};

use crate::errors::corrupt;
use crate::rows::{AuditEventRow, NewOutboxRow, UserRow};
use crate::schema::{audit_events, outbox, users};
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
}

/// The status change, inside `BEGIN IMMEDIATE`: no other connection can write between the
/// checks and the writes, so the outcome cannot be invalidated by a concurrent change.
fn apply(conn: &mut SqliteConnection, change: &StatusChange) -> QueryResult<StatusChangeOutcome> {
    let target = change.target.to_string();
    let current: Option<(bool, String)> = users::table
        .find(&target)
        .select((users::is_active, users::role))
        .first(conn)
        .optional()?;
    let Some((is_active, role)) = current else {
        return Ok(StatusChangeOutcome::NotFound);
    };
    if !actor_holds(conn, &change.actor)? {
        return Ok(StatusChangeOutcome::ActorRevoked);
    }
    let deactivate = change.action == StatusAction::Deactivate;
    if is_active != deactivate {
        return Ok(StatusChangeOutcome::AlreadyInState);
    }
    if deactivate && role == Role::Admin.as_str() {
        let other_active_admins: i64 = users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::is_active.eq(true))
            .filter(users::id.ne(&target))
            .count()
            .get_result(conn)?;
        if other_active_admins == 0 {
            return Ok(StatusChangeOutcome::LastActiveAdmin);
        }
    }

    let at = Ts(change.at);
    let reason = change.reason.as_ref().map(|r| r.as_str().to_owned());
    let (deactivated_at, deactivated_by, deactivation_reason) = if deactivate {
        (Some(at), Some(change.actor.id.to_string()), reason)
    } else {
        (None, None, None)
    };
    let row = diesel::update(users::table.find(&target))
        .set((
            users::is_active.eq(!deactivate),
            users::deactivated_at.eq(deactivated_at),
            users::deactivated_by.eq(deactivated_by),
            users::deactivation_reason.eq(deactivation_reason),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(at),
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
    Ok(StatusChangeOutcome::Applied(Box::new(user)))
}

/// Whether the actor is still an active admin on the token version it acted with. Read inside
/// the change's `BEGIN IMMEDIATE` transaction, so no revocation can commit between this check
/// and the change.
fn actor_holds(conn: &mut SqliteConnection, actor: &Actor) -> QueryResult<bool> {
    let found: i64 = users::table
        .find(actor.id.to_string())
        .filter(users::is_active.eq(true))
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::token_version.eq(actor.token_version))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}
