//! [`AuditExport`] on PostgreSQL. Every audit row carries `export_order`, the id of the
//! transaction that wrote it (migration `2026-12-08-200001_audit_export`). A page first reads
//! the oldest transaction id still running (`pg_snapshot_xmin`); every transaction below it has
//! ended, so the rows below it are final: none can commit later. The page holds only those,
//! in (`export_order`, `id`) order, so an event exported later never sorts before one exported
//! already. See docs/architecture.md, "The audit export's cursor".

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{AuditExport, ExportError, ExportPosition, ExportedEvent, StoreError};
use warden_domain::use_cases::LoggedEvent;
use warden_domain::{AuditEvent, AuditedChange};

use crate::changes::ChangeRow;
use crate::errors::{corrupt, from_diesel};
use crate::rows::AuditEventRow;
use crate::schema::{audit_events, audit_export_horizon, audited_changes, users};
use crate::PgStore;

/// One retention round: deletes up to `$2` rows of each table written before `$1`, and moves
/// the horizon forward to the last position deleted, in one statement.
const PURGE: &str = "
WITH e AS (
    DELETE FROM audit_events WHERE id IN (
        SELECT id FROM audit_events WHERE created_at < $1 ORDER BY created_at LIMIT $2)
    RETURNING export_order, id),
c AS (
    DELETE FROM audited_changes WHERE id IN (
        SELECT id FROM audited_changes WHERE created_at < $1 ORDER BY created_at LIMIT $2)
    RETURNING export_order, id),
gone AS (SELECT export_order, id FROM e UNION ALL SELECT export_order, id FROM c),
last AS (SELECT export_order, id FROM gone ORDER BY export_order DESC, id DESC LIMIT 1),
moved AS (
    INSERT INTO audit_export_horizon (id, export_order, event_id)
    SELECT 1, export_order, id FROM last
    ON CONFLICT (id) DO UPDATE
        SET export_order = excluded.export_order, event_id = excluded.event_id
        WHERE (audit_export_horizon.export_order, audit_export_horizon.event_id)
            < (excluded.export_order, excluded.event_id))
SELECT count(*) AS deleted FROM gone";

/// `(export_order, id) > (order, id)` on `table`: a row comparison, which an index on
/// `(export_order, id)` answers as one range.
fn after_position(
    table: &'static str,
    order: i64,
    id: Uuid,
) -> diesel::expression::SqlLiteral<Bool, impl diesel::query_builder::QueryFragment<Pg> + Send> {
    sql::<Bool>(&format!("({table}.export_order, {table}.id) > ("))
        .bind::<BigInt, _>(order)
        .sql(", ")
        .bind::<SqlUuid, _>(id)
        .sql(")")
}

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = BigInt)]
    deleted: i64,
}

#[async_trait]
impl AuditExport for PgStore {
    async fn export(
        &self,
        after: Option<ExportPosition>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, ExportError> {
        let (order, id) = after.map_or((-1, Uuid::nil()), |a| (a.order, a.id));
        let mut conn = self.conn().await?;
        // Read first: every transaction below it had ended when it was read, so the reads
        // below (each a later snapshot) see all of their committed rows.
        let final_below: i64 = diesel::select(sql::<BigInt>(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        ))
        .get_result(&mut conn)
        .await
        .map_err(from_diesel)?;
        let events = audit_events::table
            .filter(audit_events::export_order.lt(final_below))
            .filter(after_position("audit_events", order, id))
            .order((audit_events::export_order, audit_events::id))
            .limit(i64::from(limit))
            .select((audit_events::export_order, AuditEventRow::as_select()))
            .load::<(i64, AuditEventRow)>(&mut conn)
            .await
            .map_err(from_diesel)?;
        let changes = audited_changes::table
            .filter(audited_changes::export_order.lt(final_below))
            .filter(after_position("audited_changes", order, id))
            .order((audited_changes::export_order, audited_changes::id))
            .limit(i64::from(limit))
            .select((audited_changes::export_order, ChangeRow::as_select()))
            .load::<(i64, ChangeRow)>(&mut conn)
            .await
            .map_err(from_diesel)?;
        let mut exported = Vec::with_capacity(events.len() + changes.len());
        for (order, row) in events {
            let event = AuditEvent::try_from(row).map_err(corrupt)?;
            exported.push((
                ExportPosition {
                    order,
                    id: event.id,
                },
                *event.user_id.as_uuid(),
                LoggedEvent::Status(event),
            ));
        }
        for (order, row) in changes {
            let change = AuditedChange::try_from(row).map_err(corrupt)?;
            exported.push((
                ExportPosition {
                    order,
                    id: change.id,
                },
                change.target,
                LoggedEvent::Change(change),
            ));
        }
        exported.sort_by_key(|(position, _, _)| *position);
        exported.truncate(limit as usize);
        let targets: Vec<Uuid> = exported.iter().map(|(_, target, _)| *target).collect();
        let emails = users::table
            .filter(users::id.eq_any(targets))
            .select((users::id, users::email))
            .load::<(Uuid, String)>(&mut conn)
            .await
            .map_err(from_diesel)?;
        // Read last: a purge that deleted rows this page should have held committed before.
        let horizon = audit_export_horizon::table
            .select((
                audit_export_horizon::export_order,
                audit_export_horizon::event_id,
            ))
            .first::<(i64, Uuid)>(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?;
        if let (Some(after), Some((order, id))) = (after, horizon) {
            if after < (ExportPosition { order, id }) {
                return Err(ExportError::Expired);
            }
        }
        Ok(exported
            .into_iter()
            .map(|(position, target, event)| ExportedEvent {
                position,
                target_email: emails
                    .iter()
                    .find(|(id, _)| *id == target)
                    .map(|(_, email)| email.clone()),
                event,
            })
            .collect())
    }

    async fn purge_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let row: Deleted = diesel::sql_query(PURGE)
            .bind::<Timestamptz, _>(before)
            .bind::<BigInt, _>(i64::from(limit))
            .get_result(&mut conn)
            .await
            .map_err(from_diesel)?;
        Ok(u64::try_from(row.deleted).unwrap_or_default())
    }
}
