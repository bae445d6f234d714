//! The directory reads of [`UserRepo`] on SQLite: account search and the audit log.
//!
//! SQLite's own `lower()` folds ASCII letters only, so search compares through `warden_fold`,
//! the domain's [`SearchText::fold`] registered on the connection before each search. No index
//! can hold it: a search walks the accounts newest first (the primary key) until its page is
//! full, which suits the embedded store (PostgreSQL serves the prefix from indexes).

use diesel::prelude::*;
use diesel::sql_types::Text;
use uuid::Uuid;
use warden_domain::ports::StoreError;
use warden_domain::{AuditEvent, EventFilter, SearchText, User, UserFilter, UserId};

use crate::errors::corrupt;
use crate::rows::{AuditEventRow, UserRow};
use crate::schema::{audit_events, users};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

diesel::define_sql_function! {
    #[sql_name = "warden_fold"]
    fn fold(text: Text) -> Text;
}

pub(crate) async fn search(
    store: &SqliteStore,
    filter: &UserFilter,
    after: Option<UserId>,
    limit: u32,
) -> Result<Vec<User>, StoreError> {
    let filter = filter.clone();
    store
        .run(move |conn| {
            let mut query = users::table
                .select(UserRow::as_select())
                .order(users::id.desc())
                .limit(i64::from(limit))
                .into_boxed();
            if let Some(text) = &filter.text {
                fold_utils::register_impl(conn, |text: String| SearchText::fold(&text))?;
                let pattern = text.like_prefix();
                query = query.filter(
                    fold(users::email)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(fold(users::first_name).like(pattern.clone()).escape('\\'))
                        .or(fold(users::last_name).like(pattern).escape('\\')),
                );
            }
            if let Some(active) = filter.status.is_active() {
                query = query.filter(users::is_active.eq(active));
            }
            if let Some(role) = filter.role {
                query = query.filter(users::role.eq(role.as_str()));
            }
            if let Some(after) = after {
                // Hyphenated lower-case UUIDv7 text sorts in id order.
                query = query.filter(users::id.lt(after.to_string()));
            }
            query
                .load(conn)?
                .into_iter()
                .map(|row| User::try_from(row).map_err(corrupt))
                .collect()
        })
        .await
}

pub(crate) async fn audit_log(
    store: &SqliteStore,
    filter: &EventFilter,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    // A filter on another audited change's action keeps no status change.
    if !filter.keeps_status_events() {
        return Ok(Vec::new());
    }
    let filter = filter.clone();
    store
        .run(move |conn| {
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
                let actor = actor.to_string();
                query = query.filter(
                    audit_events::actor_id
                        .eq(actor.clone())
                        .or(audit_events::actor_client_id.eq(actor)),
                );
            }
            if let Some(target) = filter.target() {
                query = query.filter(audit_events::user_id.eq(target.to_string()));
            }
            if let Some(since) = filter.since() {
                query = query.filter(audit_events::created_at.ge(Ts(since)));
            }
            if let Some(until) = filter.until() {
                query = query.filter(audit_events::created_at.le(Ts(until)));
            }
            if let Some(after) = after {
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
