//! [`UserRepo`] on SQLite.

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;
use warden_domain::ports::{StoreError, UserRepo};
use warden_domain::{
    AccountStatus, Actor, AuditEvent, Authority, EmailAddress, EventFilter, FoundTarget, NewUser,
    NextStep, PasswordHash, Role, StatusChange, StatusChangeOutcome, Unapplied, User, UserFilter,
    UserId,
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
/// change. It enforces the guards the domain declares (the actor's authority, the state the
/// action requires, the last-active-admin guard) and, when one does not hold, reports what it
/// found to the domain's judgement.
pub(crate) fn apply(
    conn: &mut SqliteConnection,
    change: &StatusChange,
) -> QueryResult<StatusChangeOutcome> {
    let action = change.action;
    let target = change.target.to_string();
    let found = users::table
        .find(&target)
        .select((users::is_active, users::role, users::deactivated_until))
        .first::<(bool, String, Option<Ts>)>(conn)
        .optional()?;
    let expectation_held = change.expectation_holds(
        found
            .as_ref()
            .and_then(|(_, _, until)| until.map(|until| until.0)),
    );
    let found = found
        .map(|(active, role, _)| {
            Role::parse(&role)
                .map(|role| FoundTarget { active, role })
                .map_err(|_| corrupt(anyhow!("stored role {role:?}")))
        })
        .transpose()?;
    let actor_holds = actor_holds(conn, &change.actor)?;
    let guards_hold = match found {
        Some(found) => {
            actor_holds
                && found.active == action.requires_active()
                && expectation_held
                && (!action.needs_last_admin_guard(found.role)
                    || another_active(conn, &target, found.role)?)
        }
        None => false,
    };
    if !guards_hold {
        let found = Unapplied {
            target: found,
            actor_holds,
            last_admin_guarded: true,
            expectation_held,
        };
        return match action.judge(found) {
            NextStep::Done(outcome) => Ok(outcome),
            step => Err(corrupt(anyhow!(
                "a refused status change judged {step:?} inside its own transaction"
            ))),
        };
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
    crate::webhooks::enqueue(conn, change, &user)?;
    crate::ssf::enqueue_change(conn, change, &user)?;
    Ok(StatusChangeOutcome::Applied(Box::new(user)))
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

/// Whether the authority the actor acts on still holds (the domain's [`Authority`]): an admin
/// account still active, of the role the domain requires, on the token version it acted with;
/// a client not revoked; the system always. Read inside the change's `BEGIN IMMEDIATE`
/// transaction, so no revocation can commit between this check and the change.
pub(crate) fn actor_holds(conn: &mut SqliteConnection, actor: &Actor) -> QueryResult<bool> {
    let found: i64 = match actor.authority() {
        Authority::Admin {
            account,
            token_version,
        } => users::table
            .find(account.to_string())
            .filter(users::is_active.eq(true))
            .filter(users::role.eq(StatusChange::ACTOR_ROLE.as_str()))
            .filter(users::token_version.eq(token_version))
            .count()
            .get_result(conn)?,
        Authority::Client { client } => clients::table
            .find(client.to_string())
            .filter(clients::revoked_at.is_null())
            .count()
            .get_result(conn)?,
        Authority::System => 1,
        _ => 0,
    };
    Ok(found > 0)
}
