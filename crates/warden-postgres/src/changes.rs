//! Privileged writes other than status changes on PostgreSQL: [`authorized`] runs a write in
//! one short transaction that first re-checks the actor's authority (the domain's
//! [`warden_domain::Authority`]) with `SELECT ... FOR SHARE`, and records the change there.
//! The share lock holds the acting admin's (or client's) row until commit: a deactivation,
//! demotion, token revocation or client revocation racing the write either commits first (the
//! check, waiting for it, then sees it and nothing is written) or waits for the write to commit
//! (ordered after it). [`ChangeLog`] lists the records.

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use warden_domain::ports::{ChangeLog, StoreError};
use warden_domain::{
    Actor, ActorKind, AuditedChange, Authority, Authorized, ChangeAction, EventFilter, Guarded,
    HolderState, RecordedActor, Role,
};

use crate::errors::{corrupt, from_diesel};
use crate::provisioning::Step;
use crate::schema::{audited_changes, clients, users};
use crate::PgStore;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audited_changes, check_for_backend(Pg))]
pub(crate) struct ChangeRow {
    id: Uuid,
    action: String,
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_name: String,
    target_id: Uuid,
    attributes: Vec<String>,
    created_at: DateTime<Utc>,
    actor_role: Option<String>,
}

impl From<&AuditedChange> for ChangeRow {
    fn from(change: &AuditedChange) -> Self {
        Self {
            id: change.id,
            action: change.action.as_str().to_owned(),
            actor_kind: change.actor.kind.as_str().to_owned(),
            actor_id: change.actor.id,
            actor_name: change.actor.name.clone(),
            target_id: change.target,
            attributes: change.attributes.clone(),
            created_at: change.at,
            actor_role: change.actor.role.map(|role| role.as_str().to_owned()),
        }
    }
}

impl TryFrom<ChangeRow> for AuditedChange {
    type Error = anyhow::Error;

    fn try_from(row: ChangeRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: row.id,
            actor: RecordedActor {
                kind: ActorKind::parse(&row.actor_kind)
                    .map_err(|_| anyhow!("stored actor kind {:?}", row.actor_kind))?,
                id: row.actor_id,
                name: row.actor_name,
                role: crate::rows::stored_actor_role(row.actor_role.as_deref())?,
            },
            action: ChangeAction::parse(&row.action)
                .map_err(|_| anyhow!("stored change action {:?}", row.action))?,
            target: row.target_id,
            attributes: row.attributes,
            at: row.created_at,
        })
    }
}

/// Whether `actor`'s authority holds (the domain's [`Authority::holds`] on what is found of
/// its holder), locking the row it rests on until the transaction ends.
pub(crate) async fn holds(conn: &mut AsyncPgConnection, actor: &Actor) -> QueryResult<bool> {
    let found = match actor.authority() {
        Authority::Account { account, .. } => users::table
            .find(*account.as_uuid())
            .select((users::is_active, users::role, users::token_version))
            .for_share()
            .first::<(bool, String, i32)>(conn)
            .await
            .optional()?
            .map(|(active, role, token_version)| {
                Role::parse(&role)
                    .map(|role| HolderState::Account {
                        active,
                        role,
                        token_version,
                    })
                    .map_err(|_| {
                        diesel::result::Error::DeserializationError(
                            anyhow!("stored role {role:?}").into(),
                        )
                    })
            })
            .transpose()?,
        Authority::Client { client } => clients::table
            .find(*client)
            .select(clients::revoked_at.is_not_null())
            .for_share()
            .first::<bool>(conn)
            .await
            .optional()?
            .map(|revoked| HolderState::Client { revoked }),
        _ => None,
    };
    Ok(actor.authority().holds(found))
}

/// Records `change`; inside the transaction of the change itself.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    change: &AuditedChange,
) -> QueryResult<()> {
    diesel::insert_into(audited_changes::table)
        .values(ChangeRow::from(change))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Runs `write` in one transaction, only if `by`'s authority holds, and records the change it
/// returns in that transaction.
pub(crate) async fn authorized<T, F>(
    store: &PgStore,
    by: &Authorized,
    write: F,
) -> Result<Guarded<T>, StoreError>
where
    T: Send + 'static,
    F: for<'c> FnOnce(
            &'c mut AsyncPgConnection,
            Authorized,
        ) -> Step<'c, (T, Option<AuditedChange>)>
        + Send
        + 'static,
{
    let by = by.clone();
    store
        .provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !holds(conn, &by.actor).await? {
                    return Ok(Guarded::ActorRevoked);
                }
                let (value, change) = write(conn, by).await?;
                if let Some(change) = change {
                    record(conn, &change).await?;
                }
                Ok(Guarded::Applied(value))
            }))
        })
        .await
}

#[async_trait]
impl ChangeLog for PgStore {
    async fn changes(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditedChange>, StoreError> {
        if !filter.keeps_changes() {
            return Ok(Vec::new());
        }
        let mut query = audited_changes::table
            .select(ChangeRow::as_select())
            .order(audited_changes::id.desc())
            .limit(i64::from(limit))
            .into_boxed();
        if let Some(action) = filter.change_action() {
            query = query.filter(audited_changes::action.eq(action.as_str()));
        }
        if let Some(actor) = filter.actor() {
            query = query.filter(audited_changes::actor_id.eq(actor));
        }
        if let Some(target) = filter.target() {
            query = query.filter(audited_changes::target_id.eq(*target.as_uuid()));
        }
        if let Some(since) = filter.since() {
            query = query.filter(audited_changes::created_at.ge(since));
        }
        if let Some(until) = filter.until() {
            query = query.filter(audited_changes::created_at.le(until));
        }
        if let Some(after) = after {
            query = query.filter(audited_changes::id.lt(after));
        }
        let mut conn = self.conn().await?;
        query
            .load(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(AuditedChange::try_from)
            .collect::<anyhow::Result<_>>()
            .map_err(corrupt)
    }
}
