//! Privileged writes other than status changes on SQLite: [`authorized`] re-checks the actor
//! and records the change inside the write's own `BEGIN IMMEDIATE` transaction (no other
//! connection can write between the check and the commit); [`ChangeLog`] lists the records.

use anyhow::{anyhow, Context};
use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use uuid::Uuid;
use warden_domain::ports::{ChangeLog, StoreError};
use warden_domain::{
    ActorKind, AuditedChange, Authorized, ChangeAction, EventFilter, Guarded, RecordedActor,
};

use crate::errors::corrupt;
use crate::schema::audited_changes;
use crate::store::SqliteStore;
use crate::timestamp::Ts;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audited_changes, check_for_backend(Sqlite))]
pub(crate) struct ChangeRow {
    id: String,
    action: String,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: String,
    pub(crate) target_id: String,
    attributes: String,
    created_at: Ts,
    actor_role: Option<String>,
}

impl From<&AuditedChange> for ChangeRow {
    fn from(change: &AuditedChange) -> Self {
        Self {
            id: change.id.to_string(),
            action: change.action.as_str().to_owned(),
            actor_kind: change.actor.kind.as_str().to_owned(),
            actor_id: change.actor.id.map(|id| id.to_string()),
            actor_name: change.actor.name.clone(),
            target_id: change.target.to_string(),
            attributes: change.attributes.join(","),
            created_at: Ts(change.at),
            actor_role: change.actor.role.map(|role| role.as_str().to_owned()),
        }
    }
}

impl TryFrom<ChangeRow> for AuditedChange {
    type Error = anyhow::Error;

    fn try_from(row: ChangeRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: Uuid::try_parse(&row.id).context("change id")?,
            actor: RecordedActor {
                kind: ActorKind::parse(&row.actor_kind)
                    .map_err(|_| anyhow!("stored actor kind {:?}", row.actor_kind))?,
                id: row
                    .actor_id
                    .map(|id| Uuid::try_parse(&id))
                    .transpose()
                    .context("actor id")?,
                name: row.actor_name,
                role: crate::rows::stored_actor_role(row.actor_role.as_deref())?,
            },
            action: ChangeAction::parse(&row.action)
                .map_err(|_| anyhow!("stored change action {:?}", row.action))?,
            target: Uuid::try_parse(&row.target_id).context("target id")?,
            attributes: row
                .attributes
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            at: row.created_at.0,
        })
    }
}

/// Runs `write` only if `by`'s authority holds, and records the change it returns. MUST be
/// called inside the write's `immediate_transaction`.
pub(crate) fn authorized<T>(
    conn: &mut SqliteConnection,
    by: &Authorized,
    write: impl FnOnce(&mut SqliteConnection) -> QueryResult<(T, Option<AuditedChange>)>,
) -> QueryResult<Guarded<T>> {
    if !crate::user_repo::actor_holds(conn, &by.actor)? {
        return Ok(Guarded::ActorRevoked);
    }
    let (result, record) = write(conn)?;
    if let Some(record) = record {
        self::record(conn, &record)?;
    }
    Ok(Guarded::Applied(result))
}

/// Records `change`; inside the transaction of the change itself.
pub(crate) fn record(conn: &mut SqliteConnection, change: &AuditedChange) -> QueryResult<()> {
    diesel::insert_into(audited_changes::table)
        .values(ChangeRow::from(change))
        .execute(conn)
        .map(|_| ())
}

#[async_trait]
impl ChangeLog for SqliteStore {
    async fn changes(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditedChange>, StoreError> {
        if !filter.keeps_changes() {
            return Ok(Vec::new());
        }
        let filter = filter.clone();
        self.run(move |conn| {
            let mut query = audited_changes::table
                .select(ChangeRow::as_select())
                .order(audited_changes::id.desc())
                .limit(i64::from(limit))
                .into_boxed();
            if let Some(action) = filter.change_action() {
                query = query.filter(audited_changes::action.eq(action.as_str()));
            }
            if let Some(actor) = filter.actor() {
                query = query.filter(audited_changes::actor_id.eq(actor.to_string()));
            }
            if let Some(target) = filter.target() {
                query = query.filter(audited_changes::target_id.eq(target.to_string()));
            }
            if let Some(since) = filter.since() {
                query = query.filter(audited_changes::created_at.ge(Ts(since)));
            }
            if let Some(until) = filter.until() {
                query = query.filter(audited_changes::created_at.le(Ts(until)));
            }
            if let Some(after) = after {
                query = query.filter(audited_changes::id.lt(after.to_string()));
            }
            query
                .load(conn)?
                .into_iter()
                .map(|row| AuditedChange::try_from(row).map_err(corrupt))
                .collect()
        })
        .await
    }
}
