//! [`UserRepo`] for [`PgStore`]: every method is one statement (one round trip).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AuditEvent, EmailAddress, EventFilter, NewUser, PasswordHash, RoleChange, RoleChangeOutcome,
    StatusChange, StatusChangeOutcome, User, UserFilter, UserId,
};

use crate::errors::{corrupt, from_diesel};
use crate::rows::{AuditEventRow, NewUserRow, UserRow};
use crate::schema::{audit_events, users};
use crate::{directory, status_change, PgStore};

#[async_trait]
impl UserRepo for PgStore {
    async fn create(&self, user: NewUser) -> Result<User, StoreError> {
        let mut conn = self.conn().await?;
        let row = diesel::insert_into(users::table)
            .values(NewUserRow::from(&user))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(from_diesel)?;
        User::try_from(row).map_err(corrupt)
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await?;
        users::table
            .find(id.as_uuid())
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?
            .map(User::try_from)
            .transpose()
            .map_err(corrupt)
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await?;
        users::table
            .filter(users::email.eq(email.as_str()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?
            .map(User::try_from)
            .transpose()
            .map_err(corrupt)
    }

    async fn find_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(User, PasswordHash)>, StoreError> {
        let mut conn = self.conn().await?;
        let found = users::table
            .filter(users::email.eq(email.as_str()))
            .select((UserRow::as_select(), users::password_hash))
            .first::<(UserRow, String)>(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?;
        match found {
            None => Ok(None),
            Some((row, hash)) => {
                let user = User::try_from(row).map_err(corrupt)?;
                Ok(Some((user, PasswordHash::new(hash))))
            }
        }
    }

    async fn change_status(&self, change: StatusChange) -> Result<StatusChangeOutcome, StoreError> {
        status_change::change_status(self, change).await
    }

    async fn change_role(&self, change: RoleChange) -> Result<RoleChangeOutcome, StoreError> {
        crate::role_change::change_role(self, change).await
    }

    async fn events(
        &self,
        user: &UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        // Newest first; the cursor is exclusive. `Uuid::max()` (no cursor) keeps it one
        // statement shape, hence one cached prepared statement.
        audit_events::table
            .filter(audit_events::user_id.eq(user.as_uuid()))
            .filter(audit_events::id.lt(after.unwrap_or(Uuid::max())))
            .order(audit_events::id.desc())
            .limit(i64::from(limit))
            .select(AuditEventRow::as_select())
            .load(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(AuditEvent::try_from)
            .collect::<anyhow::Result<_>>()
            .map_err(corrupt)
    }

    async fn search(
        &self,
        filter: &UserFilter,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        directory::search(self, filter, after, limit).await
    }

    async fn audit_log(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        directory::audit_log(self, filter, after, limit).await
    }

    async fn due_suspensions(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut conn = self.conn().await?;
        let ids: Vec<Uuid> = users::table
            .filter(users::deactivated_until.le(now))
            .filter(users::is_active.eq(false))
            .order(users::deactivated_until.asc())
            .limit(i64::from(limit))
            .select(users::id)
            .load(&mut conn)
            .await
            .map_err(from_diesel)?;
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }
}
