//! [`ProvisioningRepo`] for [`PgStore`]: the `provisioning` table beside `users`, read with a
//! left join (an account without a row has no external id and is not removed). Reads are one
//! statement; writes one short transaction, run as a task of the runtime driving its connection
//! so a caller that gives up never leaves a transaction half-way on a pooled connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::{ProvisioningRepo, StoreError};
use warden_domain::{
    profile_updated_at, AuditedChange, Authorized, ChangeAction, ExternalId, Guarded, NewUser,
    Profile, ProvisionedUser, ProvisioningFilter, StatusChange, StatusChangeOutcome, User, UserId,
};

use crate::errors::{corrupt, from_diesel};
use crate::rows::{NewUserRow, UserRow};
use crate::schema::{provisioning, users};
use crate::PgStore;

type Visible<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Filter<
        diesel::dsl::LeftJoin<users::table, provisioning::table>,
        diesel::dsl::IsNull<provisioning::removed_at>,
    >,
    Pg,
>;

/// The accounts provisioning sees: not removed.
fn visible<'a>() -> Visible<'a> {
    users::table
        .left_join(provisioning::table)
        .filter(provisioning::removed_at.is_null())
        .into_boxed()
}

fn filtered<'a>(filter: &'a ProvisioningFilter) -> Visible<'a> {
    let mut query = visible();
    if let Some(email) = &filter.email {
        query = query.filter(users::email.eq(email.as_str()));
    }
    if let Some(id) = &filter.external_id {
        query = query.filter(provisioning::external_id.eq(id.as_str()));
    }
    query
}

fn convert((row, external_id): (UserRow, Option<String>)) -> anyhow::Result<ProvisionedUser> {
    let user = User::try_from(row)?;
    let external_id = match external_id {
        Some(text) => ExternalId::parse(&text)
            .map_err(|e| anyhow::Error::new(e).context("stored external id"))?,
        None => None,
    };
    Ok(ProvisionedUser { user, external_id })
}

async fn find(
    conn: &mut AsyncPgConnection,
    id: uuid::Uuid,
) -> QueryResult<Option<ProvisionedUser>> {
    visible()
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), provisioning::external_id.nullable()))
        .first::<(UserRow, Option<String>)>(conn)
        .await
        .optional()?
        .map(|found| convert(found).map_err(into_diesel))
        .transpose()
}

async fn set_external_id(
    conn: &mut AsyncPgConnection,
    id: uuid::Uuid,
    external_id: Option<&str>,
) -> QueryResult<usize> {
    diesel::insert_into(provisioning::table)
        .values((
            provisioning::user_id.eq(id),
            provisioning::external_id.eq(external_id),
        ))
        .on_conflict(provisioning::user_id)
        .do_update()
        .set(provisioning::external_id.eq(external_id))
        .execute(conn)
        .await
}

/// A row that does not convert, raised inside a transaction so that it rolls back.
fn into_diesel(error: anyhow::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(error.into())
}

/// One write's work on a connection.
pub(crate) type Step<'c, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<T, diesel::result::Error>> + Send + 'c>,
>;

impl PgStore {
    /// Runs one write's work on a pooled connection, as a task of the runtime driving it.
    pub(crate) async fn provisioning_step<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, T> + Send + 'static,
    {
        let mut conn = self.conn().await?;
        self.spawn(async move { op(&mut conn).await.map_err(from_diesel) })
            .await
            .map_err(|err| {
                StoreError::other(anyhow::Error::new(err).context("provisioning task"))
            })?
    }
}

#[async_trait]
impl ProvisioningRepo for PgStore {
    async fn create(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
        by: &Authorized,
    ) -> Result<Guarded<ProvisionedUser>, StoreError> {
        // The client's row is locked FOR SHARE until the account is stored.
        crate::changes::authorized(self, by, move |conn, _| {
            Box::pin(async move {
                let id = *user.id.as_uuid();
                diesel::insert_into(users::table)
                    .values(NewUserRow::from(&user))
                    .execute(conn)
                    .await?;
                set_external_id(conn, id, external_id.as_ref().map(ExternalId::as_str)).await?;
                let created = find(conn, id)
                    .await?
                    .ok_or(diesel::result::Error::NotFound)?;
                Ok((created, None))
            })
        })
        .await
    }

    async fn find(&self, id: &UserId) -> Result<Option<ProvisionedUser>, StoreError> {
        let mut conn = self.conn().await?;
        find(&mut conn, *id.as_uuid()).await.map_err(from_diesel)
    }

    async fn list(
        &self,
        filter: &ProvisioningFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ProvisionedUser>), StoreError> {
        if filter.never {
            return Ok((0, Vec::new()));
        }
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let mut conn = self.conn().await?;
        let total: i64 = filtered(filter)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(from_diesel)?;
        if limit == 0 {
            return Ok((u64::try_from(total).unwrap_or(0), Vec::new()));
        }
        let page = filtered(filter)
            .order(users::id.asc())
            .offset(offset)
            .limit(i64::from(limit))
            .select((UserRow::as_select(), provisioning::external_id.nullable()))
            .load::<(UserRow, Option<String>)>(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(convert)
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(corrupt)?;
        Ok((u64::try_from(total).unwrap_or(0), page))
    }

    async fn update(
        &self,
        id: &UserId,
        profile: Profile,
        by: &Authorized,
    ) -> Result<Guarded<Option<ProvisionedUser>>, StoreError> {
        let id = *id.as_uuid();
        crate::changes::authorized(self, by, move |conn, by| {
            Box::pin(async move { update_profile(conn, id, &profile, &by).await })
        })
        .await
    }

    /// One transaction: the client re-checked (and its row share-locked), the status change
    /// (the same statement as ever, on this transaction's connection), then the profile. A
    /// refused status change writes nothing and leaves the profile as it was; a profile that
    /// cannot be written (its email address taken meanwhile) rolls the status change back.
    async fn update_with_status(
        &self,
        profile: Profile,
        by: &Authorized,
        change: StatusChange,
        expected_version: Option<String>,
    ) -> Result<Option<(StatusChangeOutcome, Option<ProvisionedUser>)>, StoreError> {
        let id = *change.target.as_uuid();
        let done = crate::changes::authorized(self, by, move |conn, by| {
            Box::pin(async move {
                if let Some(expected) = expected_version {
                    // The account's row is held until this transaction ends: no other write to
                    // it commits between the comparison and this write.
                    let locked = users::table
                        .find(id)
                        .select(users::id)
                        .for_update()
                        .first::<uuid::Uuid>(conn)
                        .await
                        .optional()?;
                    let current = match locked {
                        Some(_) => find(conn, id).await?,
                        None => None,
                    };
                    match current {
                        None => return Ok((Some((StatusChangeOutcome::NotFound, None)), None)),
                        Some(current) if current.version() != expected => return Ok((None, None)),
                        Some(_) => {}
                    }
                }
                let taken: i64 = users::table
                    .filter(users::email.eq(profile.email.as_str()))
                    .filter(users::id.ne(id))
                    .count()
                    .get_result(conn)
                    .await?;
                if taken > 0 {
                    return Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        Box::new("email address taken".to_owned()),
                    ));
                }
                let outcome = crate::status_change::change_status_in(conn, &change).await?;
                if !matches!(
                    outcome,
                    StatusChangeOutcome::Applied(_) | StatusChangeOutcome::AlreadyInState
                ) {
                    return Ok((Some((outcome, find(conn, id).await?)), None));
                }
                let (account, record) = update_profile(conn, id, &profile, &by).await?;
                Ok((Some((outcome, account)), record))
            })
        })
        .await?;
        match done {
            Guarded::Applied(done) => Ok(done),
            Guarded::ActorRevoked => Ok(Some((
                StatusChangeOutcome::ActorRevoked,
                ProvisioningRepo::find(self, &change_target(id)).await?,
            ))),
        }
    }

    async fn remove(&self, id: &UserId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let id = *id.as_uuid();
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if find(conn, id).await?.is_none() {
                    return Ok(false);
                }
                diesel::insert_into(provisioning::table)
                    .values((
                        provisioning::user_id.eq(id),
                        provisioning::removed_at.eq(Some(at)),
                    ))
                    .on_conflict(provisioning::user_id)
                    .do_update()
                    .set(provisioning::removed_at.eq(Some(at)))
                    .execute(conn)
                    .await?;
                Ok(true)
            }))
        })
        .await
    }
}

/// Replaces the account's profile (email, names, external id) where it differs, inside the
/// caller's transaction; returns the account as it now is, and the audit record of what changed
/// (attribute names only), or none when nothing did.
async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: uuid::Uuid,
    profile: &Profile,
    by: &Authorized,
) -> QueryResult<(Option<ProvisionedUser>, Option<AuditedChange>)> {
    // The account's row is locked for the rest of the transaction, so the profile
    // compared is the one replaced.
    let locked = users::table
        .find(id)
        .select(users::id)
        .for_update()
        .first::<uuid::Uuid>(conn)
        .await
        .optional()?;
    let current = match locked {
        Some(_) => find(conn, id).await?,
        None => None,
    };
    let Some(current) = current else {
        return Ok((None, None));
    };
    let changed = profile.changed_from(&Profile::of(&current));
    if changed.is_empty() {
        return Ok((Some(current), None));
    }
    // A new sign-in address is a change of how the person signs in: their tokens stop.
    let revoke = i32::from(profile.email != current.user.email);
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(profile.email.as_str()),
            users::first_name.eq(&profile.first_name),
            users::last_name.eq(&profile.last_name),
            users::updated_at.eq(profile_updated_at(current.user.updated_at, by.at)),
            users::token_version.eq(users::token_version + revoke),
        ))
        .execute(conn)
        .await?;
    set_external_id(
        conn,
        id,
        profile.external_id.as_ref().map(ExternalId::as_str),
    )
    .await?;
    let record = by.record(ChangeAction::ProfileUpdated, id, changed);
    Ok((find(conn, id).await?, Some(record)))
}

fn change_target(id: uuid::Uuid) -> UserId {
    UserId::from_uuid(id)
}
