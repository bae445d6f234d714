//! [`AuditExport`] on SQLite. One writer at a time: the triggers of migration
//! `2026-12-08-200001_audit_export` number every audit row from one counter inside the writing
//! transaction, so `export_order` is commit order and a reader that sees a row sees every row
//! numbered before it. The reads of one page run in one transaction (one snapshot).

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::Sqlite;
use uuid::Uuid;
use warden_domain::ports::{AuditExport, ExportError, ExportPosition, ExportedEvent, StoreError};
use warden_domain::use_cases::LoggedEvent;
use warden_domain::{AuditEvent, AuditedChange};

use crate::changes::ChangeRow;
use crate::rows::AuditEventRow;
use crate::schema::{audit_events, audit_export_horizon, audited_changes, users};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

type Found = (
    Vec<(i64, AuditEventRow)>,
    Vec<(i64, ChangeRow)>,
    Vec<(String, String)>,
    Option<(i64, String)>,
);

fn position(order: i64, id: &str) -> anyhow::Result<ExportPosition> {
    Ok(ExportPosition {
        order,
        id: Uuid::try_parse(id).context("audit event id")?,
    })
}

/// `(export_order, id) > (order, id)` on `table`: a row value comparison, which the index on
/// `(export_order, id)` answers as one range.
fn after_position(
    table: &'static str,
    order: i64,
    id: String,
) -> diesel::expression::SqlLiteral<Bool, impl diesel::query_builder::QueryFragment<Sqlite> + Send>
{
    sql::<Bool>(&format!("({table}.export_order, {table}.id) > ("))
        .bind::<BigInt, _>(order)
        .sql(", ")
        .bind::<Text, _>(id)
        .sql(")")
}

fn unreadable(error: anyhow::Error) -> ExportError {
    ExportError::Store(StoreError::other(error.context("unreadable audit row")))
}

#[async_trait]
impl AuditExport for SqliteStore {
    async fn export(
        &self,
        after: Option<ExportPosition>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, ExportError> {
        let (order, id) = after.map_or((-1, String::new()), |a| (a.order, a.id.to_string()));
        let found: Found = self
            .run(move |conn| {
                conn.transaction(|conn| {
                    let events = audit_events::table
                        .filter(after_position("audit_events", order, id.clone()))
                        .order((audit_events::export_order, audit_events::id))
                        .limit(i64::from(limit))
                        .select((audit_events::export_order, AuditEventRow::as_select()))
                        .load::<(i64, AuditEventRow)>(conn)?;
                    let changes = audited_changes::table
                        .filter(after_position("audited_changes", order, id.clone()))
                        .order((audited_changes::export_order, audited_changes::id))
                        .limit(i64::from(limit))
                        .select((audited_changes::export_order, ChangeRow::as_select()))
                        .load::<(i64, ChangeRow)>(conn)?;
                    let targets: Vec<String> = events
                        .iter()
                        .map(|(_, row)| row.user_id.clone())
                        .chain(changes.iter().map(|(_, row)| row.target_id.clone()))
                        .collect();
                    let emails = users::table
                        .filter(users::id.eq_any(targets))
                        .select((users::id, users::email))
                        .load::<(String, String)>(conn)?;
                    let horizon = audit_export_horizon::table
                        .select((
                            audit_export_horizon::export_order,
                            audit_export_horizon::event_id,
                        ))
                        .first::<(i64, String)>(conn)
                        .optional()?;
                    Ok((events, changes, emails, horizon))
                })
            })
            .await?;
        let (events, changes, emails, horizon) = found;
        if let (Some(after), Some((order, id))) = (after, horizon) {
            if after < position(order, &id).map_err(unreadable)? {
                return Err(ExportError::Expired);
            }
        }
        let email = |target: Uuid| {
            let target = target.to_string();
            emails
                .iter()
                .find(|(id, _)| *id == target)
                .map(|(_, email)| email.clone())
        };
        let mut exported = Vec::with_capacity(events.len() + changes.len());
        for (order, row) in events {
            let event = AuditEvent::try_from(row).map_err(unreadable)?;
            exported.push(ExportedEvent {
                position: ExportPosition {
                    order,
                    id: event.id,
                },
                target_email: email(*event.user_id.as_uuid()),
                event: LoggedEvent::Status(event),
            });
        }
        for (order, row) in changes {
            let change = AuditedChange::try_from(row).map_err(unreadable)?;
            exported.push(ExportedEvent {
                position: ExportPosition {
                    order,
                    id: change.id,
                },
                target_email: email(change.target),
                event: LoggedEvent::Change(change),
            });
        }
        exported.sort_by_key(|event| event.position);
        exported.truncate(limit as usize);
        Ok(exported)
    }

    async fn purge_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let events = audit_events::table
                    .filter(audit_events::created_at.lt(Ts(before)))
                    .order(audit_events::created_at)
                    .limit(i64::from(limit))
                    .select((audit_events::export_order, audit_events::id))
                    .load::<(i64, String)>(conn)?;
                let changes = audited_changes::table
                    .filter(audited_changes::created_at.lt(Ts(before)))
                    .order(audited_changes::created_at)
                    .limit(i64::from(limit))
                    .select((audited_changes::export_order, audited_changes::id))
                    .load::<(i64, String)>(conn)?;
                let event_ids: Vec<&String> = events.iter().map(|(_, id)| id).collect();
                let change_ids: Vec<&String> = changes.iter().map(|(_, id)| id).collect();
                let mut deleted =
                    diesel::delete(audit_events::table.filter(audit_events::id.eq_any(event_ids)))
                        .execute(conn)?;
                deleted += diesel::delete(
                    audited_changes::table.filter(audited_changes::id.eq_any(change_ids)),
                )
                .execute(conn)?;
                // The horizon only moves forward: (order, id) compared as the export does.
                let last = events
                    .iter()
                    .chain(changes.iter())
                    .map(|(order, id)| (*order, id.clone()))
                    .max();
                if let Some((order, id)) = last {
                    let kept = audit_export_horizon::table
                        .select((
                            audit_export_horizon::export_order,
                            audit_export_horizon::event_id,
                        ))
                        .first::<(i64, String)>(conn)
                        .optional()?;
                    if kept.is_none_or(|kept| kept < (order, id.clone())) {
                        diesel::replace_into(audit_export_horizon::table)
                            .values((
                                audit_export_horizon::id.eq(1),
                                audit_export_horizon::export_order.eq(order),
                                audit_export_horizon::event_id.eq(id),
                            ))
                            .execute(conn)?;
                    }
                }
                Ok(u64::try_from(deleted).unwrap_or_default())
            })
        })
        .await
    }
}
