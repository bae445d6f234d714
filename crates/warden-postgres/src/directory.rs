//! The directory reads of [`UserRepo`] on PostgreSQL: account search and the audit log. One
//! statement each, built from the filters that are set (so each runs as an unnamed statement,
//! planned with its actual values: a prefix `LIKE` then uses the `lower(...)` indexes of
//! migration `2026-12-01-000200_directory`).

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::StoreError;
use warden_domain::{AuditEvent, EventFilter, User, UserFilter, UserId};

use crate::errors::{corrupt, from_diesel};
use crate::rows::{AuditEventRow, UserRow};
use crate::schema::{audit_events, users};
use crate::PgStore;

diesel::define_sql_function! {
    /// PostgreSQL's `lower`: Unicode-aware in a UTF-8 database.
    fn lower(text: Text) -> Text;
}

pub(crate) async fn search(
    store: &PgStore,
    filter: &UserFilter,
    after: Option<UserId>,
    limit: u32,
) -> Result<Vec<User>, StoreError> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order(users::id.desc())
        .limit(i64::from(limit))
        .into_boxed();
    if let Some(text) = &filter.text {
        let pattern = text.like_prefix();
        query = query.filter(
            lower(users::email)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                .or(lower(users::last_name).like(pattern).escape('\\')),
        );
    }
    if let Some(active) = filter.status.is_active() {
        query = query.filter(users::is_active.eq(active));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(users::id.lt(*after.as_uuid()));
    }
    let mut conn = store.conn().await?;
    query
        .load(&mut conn)
        .await
        .map_err(from_diesel)?
        .into_iter()
        .map(User::try_from)
        .collect::<anyhow::Result<_>>()
        .map_err(corrupt)
}

pub(crate) async fn audit_log(
    store: &PgStore,
    filter: &EventFilter,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    // A filter on another audited change's action keeps no status change.
    if !filter.keeps_status_events() {
        return Ok(Vec::new());
    }
    let mut query = audit_events::table
        .select(AuditEventRow::as_select())
        .order(audit_events::id.desc())
        .limit(i64::from(limit))
        .into_boxed();
    if let Some(action) = filter.action() {
        query = query.filter(audit_events::action.eq(action.as_str()));
    }
    if let Some(actor) = filter.actor() {
        // The recorded actor's id: an account's or a client's.
        query = query.filter(
            audit_events::actor_id
                .eq(actor)
                .or(audit_events::actor_client_id.eq(actor)),
        );
    }
    if let Some(target) = filter.target() {
        query = query.filter(audit_events::user_id.eq(*target.as_uuid()));
    }
    if let Some(since) = filter.since() {
        query = query.filter(audit_events::created_at.ge(since));
    }
    if let Some(until) = filter.until() {
        query = query.filter(audit_events::created_at.le(until));
    }
    if let Some(after) = after {
        query = query.filter(audit_events::id.lt(after));
    }
    let mut conn = store.conn().await?;
    query
        .load(&mut conn)
        .await
        .map_err(from_diesel)?
        .into_iter()
        .map(AuditEvent::try_from)
        .collect::<anyhow::Result<_>>()
        .map_err(corrupt)
}
