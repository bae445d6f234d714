//! [`ProvisioningRepo`] on SQLite: the `provisioning` table beside `users`, read with a left
//! join (an account without a row has no external id and is not removed). Writes run in
//! `BEGIN IMMEDIATE`, like every write of this store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use warden_domain::ports::{ProvisioningRepo, StoreError};
use warden_domain::{
    profile_updated_at, AuditedChange, Authorized, ChangeAction, ExternalId, Guarded, NewUser,
    Profile, ProvisionedUser, ProvisioningFilter, StatusChange, StatusChangeOutcome, User, UserId,
};

use crate::errors::corrupt;
use crate::rows::UserRow;
use crate::schema::{provisioning, users};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

type Visible<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Filter<
        diesel::dsl::LeftJoin<users::table, provisioning::table>,
        diesel::dsl::IsNull<provisioning::removed_at>,
    >,
    Sqlite,
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

fn convert((row, external_id): (UserRow, Option<String>)) -> QueryResult<ProvisionedUser> {
    let user = User::try_from(row).map_err(corrupt)?;
    let external_id = match external_id {
        Some(text) => ExternalId::parse(&text)
            .map_err(|e| corrupt(anyhow::Error::new(e).context("stored external id")))?,
        None => None,
    };
    Ok(ProvisionedUser { user, external_id })
}

fn find(conn: &mut SqliteConnection, id: &str) -> QueryResult<Option<ProvisionedUser>> {
    visible()
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), provisioning::external_id.nullable()))
        .first::<(UserRow, Option<String>)>(conn)
        .optional()?
        .map(convert)
        .transpose()
}

fn set_external_id(
    conn: &mut SqliteConnection,
    id: &str,
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
}

/// Replaces the profile of the account `id` (`target`) when it differs from the one found, and
/// returns the account afterwards with the audit record of the change, if any. Inside the
/// caller's transaction.
fn replace_profile(
    conn: &mut SqliteConnection,
    id: &str,
    target: uuid::Uuid,
    profile: &Profile,
    by: &Authorized,
) -> QueryResult<(Option<ProvisionedUser>, Option<AuditedChange>)> {
    let Some(current) = find(conn, id)? else {
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
            users::updated_at.eq(Ts(profile_updated_at(current.user.updated_at, by.at))),
            users::token_version.eq(users::token_version + revoke),
        ))
        .execute(conn)?;
    set_external_id(
        conn,
        id,
        profile.external_id.as_ref().map(ExternalId::as_str),
    )?;
    let record = by.record(ChangeAction::ProfileUpdated, target, changed);
    Ok((find(conn, id)?, Some(record)))
}

#[async_trait]
impl ProvisioningRepo for SqliteStore {
    async fn create(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
        by: &Authorized,
    ) -> Result<Guarded<ProvisionedUser>, StoreError> {
        let row = UserRow::from(user);
        let by = by.clone();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                crate::changes::authorized(conn, &by, |conn| {
                    let id = row.id.clone();
                    diesel::insert_into(users::table)
                        .values(&row)
                        .execute(conn)?;
                    set_external_id(conn, &id, external_id.as_ref().map(ExternalId::as_str))?;
                    let created = find(conn, &id)?.ok_or(diesel::result::Error::NotFound)?;
                    Ok((created, None))
                })
            })
        })
        .await
    }

    async fn find(&self, id: &UserId) -> Result<Option<ProvisionedUser>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| find(conn, &id)).await
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
        let filter = filter.clone();
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        self.run(move |conn| {
            conn.transaction(|conn| {
                let total: i64 = filtered(&filter).count().get_result(conn)?;
                let page = filtered(&filter)
                    .order(users::id.asc())
                    .offset(offset)
                    .limit(i64::from(limit))
                    .select((UserRow::as_select(), provisioning::external_id.nullable()))
                    .load::<(UserRow, Option<String>)>(conn)?
                    .into_iter()
                    .map(convert)
                    .collect::<QueryResult<Vec<_>>>()?;
                Ok((u64::try_from(total).unwrap_or(0), page))
            })
        })
        .await
    }

    async fn update(
        &self,
        id: &UserId,
        profile: Profile,
        by: &Authorized,
    ) -> Result<Guarded<Option<ProvisionedUser>>, StoreError> {
        let (target, id) = (*id.as_uuid(), id.to_string());
        let by = by.clone();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                crate::changes::authorized(conn, &by, |conn| {
                    replace_profile(conn, &id, target, &profile, &by)
                })
            })
        })
        .await
    }

    async fn update_with_status(
        &self,
        profile: Profile,
        by: &Authorized,
        change: StatusChange,
        expected_version: Option<String>,
    ) -> Result<Option<(StatusChangeOutcome, Option<ProvisionedUser>)>, StoreError> {
        let target = *change.target.as_uuid();
        let id = change.target.to_string();
        let by = by.clone();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                // `BEGIN IMMEDIATE`: no other connection writes until this commits, so the
                // version compared is the one this write replaces.
                if let Some(expected) = expected_version {
                    match find(conn, &id)? {
                        None => return Ok(Some((StatusChangeOutcome::NotFound, None))),
                        Some(current) if current.version() != expected => return Ok(None),
                        Some(_) => {}
                    }
                }
                // The status change first, with its guards (the client among them): refused,
                // it wrote nothing, and neither does the profile. A profile that then fails
                // (an email address taken) rolls the status change back with it.
                let outcome = crate::user_repo::apply(conn, &change)?;
                if !matches!(
                    outcome,
                    StatusChangeOutcome::Applied(_) | StatusChangeOutcome::AlreadyInState
                ) {
                    return Ok(Some((outcome, find(conn, &id)?)));
                }
                let (account, record) = replace_profile(conn, &id, target, &profile, &by)?;
                if let Some(record) = record {
                    crate::changes::record(conn, &record)?;
                }
                Ok(Some((outcome, account)))
            })
        })
        .await
    }

    async fn remove(&self, id: &UserId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                if find(conn, &id)?.is_none() {
                    return Ok(false);
                }
                diesel::insert_into(provisioning::table)
                    .values((
                        provisioning::user_id.eq(&id),
                        provisioning::removed_at.eq(Some(Ts(at))),
                    ))
                    .on_conflict(provisioning::user_id)
                    .do_update()
                    .set(provisioning::removed_at.eq(Some(Ts(at))))
                    .execute(conn)?;
                Ok(true)
            })
        })
        .await
    }
}
