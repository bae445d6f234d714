//! [`WebhookRepo`] for [`PgStore`]. The deliveries themselves are written by the status change's
//! one statement (`status_change.rs`, its `webhook` CTE). Claims use `FOR UPDATE SKIP LOCKED`
//! and a lease, like the outbox: replicas never claim the same delivery, and one whose sender
//! died is due again when its lease ends.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{Finish, RetryDelivery, StoreError, WebhookRepo};
use warden_domain::{
    AuditEvent, Authorized, ChangeAction, ClaimedDelivery, DeliveryStatus, Guarded, NewWebhook,
    WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookSecret,
};

use crate::changes::authorized;
use crate::errors::{corrupt, from_diesel};
use crate::prepared::Prepared;
use crate::rows::AuditEventRow;
use crate::schema::{
    audit_events, webhook_deliveries as deliveries, webhook_endpoints as endpoints,
};
use crate::PgStore;

/// The most deliveries one claim returns.
const MAX_CLAIM: u32 = 500;

/// $1 now, $2 lease end, $3 limit: the due deliveries of enabled endpoints, oldest due first;
/// those another worker is claiming right now are skipped.
pub(crate) const CLAIM_DELIVERIES: &str = "\
WITH due AS MATERIALIZED (
    SELECT d.id FROM webhook_deliveries AS d
      JOIN webhook_endpoints AS hook ON hook.id = d.endpoint_id
     WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1
       AND hook.enabled
     ORDER BY d.next_attempt_at, d.id
     LIMIT $3
       FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries AS d
   SET next_attempt_at = $2, leased_until = $2, attempts = d.attempts + 1
  FROM due
 WHERE d.id = due.id
RETURNING d.id";

// The statements below finish a delivery by id and leave a finished one alone. "Unfinished"
// is written `coalesce(delivered_at, failed_at) IS NULL` so that it does not match the
// predicate of the partial index `webhook_deliveries_pending`, which a generic plan would
// otherwise walk instead of the primary key (as found for the outbox; see `plans_tests.rs`).
// Binds: $1 id, $2 the time (delivered, failed, or next attempt), $3 the answer's status,
// $4 the error (NULL when delivered: the last error is kept).

pub(crate) const FINISH_DELIVERED: &str = "\
UPDATE webhook_deliveries
   SET delivered_at = $2, leased_until = NULL, last_status_code = $3,
       last_error = coalesce($4, last_error)
 WHERE id = $1 AND coalesce(delivered_at, failed_at) IS NULL";

pub(crate) const FINISH_RETRY: &str = "\
UPDATE webhook_deliveries
   SET next_attempt_at = $2, leased_until = NULL, last_status_code = $3, last_error = $4
 WHERE id = $1 AND coalesce(delivered_at, failed_at) IS NULL";

pub(crate) const FINISH_FAILED: &str = "\
UPDATE webhook_deliveries
   SET failed_at = $2, leased_until = NULL, last_status_code = $3, last_error = $4
 WHERE id = $1 AND coalesce(delivered_at, failed_at) IS NULL";

/// Failed, and its endpoint disabled, in one statement.
pub(crate) const FINISH_GONE: &str = "\
WITH failed AS (
    UPDATE webhook_deliveries
       SET failed_at = $2, leased_until = NULL, last_status_code = $3, last_error = $4
     WHERE id = $1 AND coalesce(delivered_at, failed_at) IS NULL
 RETURNING endpoint_id
)
UPDATE webhook_endpoints SET enabled = FALSE FROM failed WHERE webhook_endpoints.id = failed.endpoint_id";

/// $1 delivered before, $2 limit: oldest first, in small batches.
pub(crate) const PURGE_DELIVERED: &str = "\
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE delivered_at < $1 ORDER BY delivered_at LIMIT $2
       FOR UPDATE SKIP LOCKED
)";

#[derive(QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = endpoints, check_for_backend(Pg))]
struct EndpointRow {
    id: Uuid,
    url: String,
    description: Option<String>,
    events: Option<Vec<String>>,
    enabled: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    created_by: Option<Uuid>,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = anyhow::Error;

    fn try_from(row: EndpointRow) -> anyhow::Result<Self> {
        let events = row
            .events
            .map(|types| {
                types
                    .iter()
                    .map(|t| WebhookEventType::parse(t))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .context("stored event types")?;
        let previous_secret = match (row.previous_secret, row.previous_until) {
            (Some(secret), Some(until)) => Some((
                WebhookSecret::parse(&secret).context("stored previous secret")?,
                until,
            )),
            _ => None,
        };
        Ok(Self {
            id: row.id,
            url: row.url,
            description: row.description,
            events,
            enabled: row.enabled,
            secret: WebhookSecret::parse(&row.secret).context("stored secret")?,
            previous_secret,
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = deliveries, check_for_backend(Pg))]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    event_type: String,
    email: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
}

/// A delivery with its event (the change's audit event: the user, actor, reason and time).
fn delivery_of(row: DeliveryRow, event: AuditEventRow) -> anyhow::Result<WebhookDelivery> {
    let event = AuditEvent::try_from(event)?;
    let status = match (row.delivered_at, row.failed_at) {
        (Some(_), _) => DeliveryStatus::Delivered,
        (None, Some(_)) => DeliveryStatus::Failed,
        (None, None) => DeliveryStatus::Pending,
    };
    Ok(WebhookDelivery {
        id: row.id,
        endpoint_id: row.endpoint_id,
        event_id: event.id,
        event_type: WebhookEventType::parse(&row.event_type).context("stored event type")?,
        user_id: event.user_id,
        email: row.email,
        actor: event.actor,
        reason: event.reason,
        role_shift: event.role_shift,
        at: event.at,
        attempts: u32::try_from(row.attempts)?,
        last_status_code: row.last_status_code.map(u16::try_from).transpose()?,
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at,
        status,
    })
}

fn endpoint_of(row: Option<EndpointRow>) -> Result<Option<WebhookEndpoint>, StoreError> {
    row.map(WebhookEndpoint::try_from)
        .transpose()
        .map_err(corrupt)
}

/// A guarded write's row as an endpoint.
fn guarded_endpoint(
    row: Guarded<Option<EndpointRow>>,
) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError> {
    match row {
        Guarded::Applied(row) => endpoint_of(row).map(Guarded::Applied),
        Guarded::ActorRevoked => Ok(Guarded::ActorRevoked),
    }
}

#[async_trait]
impl WebhookRepo for PgStore {
    async fn create_webhook(
        &self,
        new: NewWebhook,
        by: &Authorized,
    ) -> Result<Guarded<WebhookEndpoint>, StoreError> {
        let row = EndpointRow {
            id: new.id,
            url: new.url,
            description: new.description,
            events: new
                .events
                .map(|types| types.iter().map(|t| t.as_str().to_owned()).collect()),
            enabled: true,
            secret: new.secret.expose(),
            previous_secret: None,
            previous_until: None,
            created_at: new.created_at,
            created_by: by.created_by(),
        };
        let row = authorized(self, by, move |conn, by| {
            Box::pin(async move {
                let row = diesel::insert_into(endpoints::table)
                    .values(&row)
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await?;
                let change = by.record(ChangeAction::WebhookCreated, row.id, Vec::new());
                Ok((row, Some(change)))
            })
        })
        .await?;
        match row {
            Guarded::Applied(row) => WebhookEndpoint::try_from(row)
                .map(Guarded::Applied)
                .map_err(corrupt),
            Guarded::ActorRevoked => Ok(Guarded::ActorRevoked),
        }
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut conn = self.conn().await?;
        endpoints::table
            .order(endpoints::id.asc())
            .select(EndpointRow::as_select())
            .load(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(WebhookEndpoint::try_from)
            .collect::<anyhow::Result<_>>()
            .map_err(corrupt)
    }

    async fn find_webhook(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError> {
        let mut conn = self.conn().await?;
        let row = endpoints::table
            .find(id)
            .select(EndpointRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?;
        endpoint_of(row)
    }

    async fn delete_webhook(&self, id: Uuid, by: &Authorized) -> Result<Guarded<bool>, StoreError> {
        authorized(self, by, move |conn, by| {
            Box::pin(async move {
                // The endpoint's deliveries go with it (ON DELETE CASCADE).
                let deleted = diesel::delete(endpoints::table.find(id))
                    .execute(conn)
                    .await?
                    > 0;
                let change =
                    deleted.then(|| by.record(ChangeAction::WebhookDeleted, id, Vec::new()));
                Ok((deleted, change))
            })
        })
        .await
    }

    async fn rotate_secret(
        &self,
        id: Uuid,
        secret: WebhookSecret,
        previous_until: DateTime<Utc>,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError> {
        let secret = secret.expose();
        let row = authorized(self, by, move |conn, by| {
            Box::pin(async move {
                let row = diesel::update(endpoints::table.find(id))
                    .set((
                        endpoints::previous_secret.eq(endpoints::secret.nullable()),
                        endpoints::previous_until.eq(Some(previous_until)),
                        endpoints::secret.eq(secret),
                    ))
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await
                    .optional()?;
                let change = row
                    .as_ref()
                    .map(|_| by.record(ChangeAction::WebhookSecretRotated, id, Vec::new()));
                Ok((row, change))
            })
        })
        .await?;
        guarded_endpoint(row)
    }

    async fn set_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError> {
        let row = authorized(self, by, move |conn, by| {
            Box::pin(async move {
                let row = diesel::update(endpoints::table.find(id))
                    .set(endpoints::enabled.eq(enabled))
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await
                    .optional()?;
                let change = row
                    .as_ref()
                    .map(|_| by.record(ChangeAction::WebhookUpdated, id, Vec::new()));
                Ok((row, change))
            })
        })
        .await?;
        guarded_endpoint(row)
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = deliveries::table
            .inner_join(audit_events::table)
            .filter(deliveries::endpoint_id.eq(endpoint))
            .order(deliveries::event_id.desc())
            .limit(i64::from(limit))
            .select((DeliveryRow::as_select(), AuditEventRow::as_select()))
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(deliveries::event_id.lt(before));
        }
        query
            .load::<(DeliveryRow, AuditEventRow)>(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(|(row, event)| delivery_of(row, event))
            .collect::<anyhow::Result<_>>()
            .map_err(corrupt)
    }

    async fn retry_delivery(
        &self,
        endpoint: Uuid,
        delivery: Uuid,
        now: DateTime<Utc>,
    ) -> Result<RetryDelivery, StoreError> {
        let mut conn = self.conn().await?;
        let this = deliveries::table
            .find(delivery)
            .filter(deliveries::endpoint_id.eq(endpoint));
        // One conditional update: pending or failed, and no lease running at `now`.
        let queued = diesel::update(
            this.filter(deliveries::delivered_at.is_null()).filter(
                deliveries::leased_until
                    .is_null()
                    .or(deliveries::leased_until.le(now)),
            ),
        )
        .set((
            deliveries::failed_at.eq(None::<DateTime<Utc>>),
            deliveries::next_attempt_at.eq(now),
            deliveries::leased_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(&mut conn)
        .await
        .map_err(from_diesel)?;
        if queued > 0 {
            return Ok(RetryDelivery::Queued);
        }
        let found: Option<Option<DateTime<Utc>>> = this
            .select(deliveries::delivered_at)
            .first(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?;
        Ok(match found {
            None => RetryDelivery::NotFound,
            Some(Some(_)) => RetryDelivery::AlreadyDelivered,
            Some(None) => RetryDelivery::InFlight,
        })
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let limit = i64::from(limit.min(MAX_CLAIM));
        let mut conn = self.conn().await?;
        let ids: Vec<Uuid> = Prepared(
            diesel::sql_query(CLAIM_DELIVERIES)
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(lease_until)
                .bind::<BigInt, _>(limit),
        )
        .load::<ClaimedId>(&mut conn)
        .await
        .map_err(from_diesel)?
        .into_iter()
        .map(|row| row.id)
        .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(DeliveryRow, AuditEventRow, EndpointRow)> = deliveries::table
            .inner_join(audit_events::table)
            .inner_join(endpoints::table)
            .filter(deliveries::id.eq_any(&ids))
            .order(deliveries::id.asc())
            .select((
                DeliveryRow::as_select(),
                AuditEventRow::as_select(),
                EndpointRow::as_select(),
            ))
            .load(&mut conn)
            .await
            .map_err(from_diesel)?;
        rows.into_iter()
            .map(|(row, event, endpoint)| {
                Ok(ClaimedDelivery {
                    delivery: delivery_of(row, event)?,
                    endpoint: WebhookEndpoint::try_from(endpoint)?,
                })
            })
            .collect::<anyhow::Result<_>>()
            .map_err(corrupt)
    }

    async fn finish_attempt(
        &self,
        delivery: Uuid,
        status: Option<u16>,
        finish: Finish,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let status = status.map(i32::from);
        let (sql, at, error) = match finish {
            Finish::Delivered => (FINISH_DELIVERED, now, None),
            Finish::RetryAt(at, error) => (FINISH_RETRY, at, Some(error)),
            Finish::Failed(error) => (FINISH_FAILED, now, Some(error)),
            Finish::Gone => (FINISH_GONE, now, Some("answered 410 Gone".to_owned())),
        };
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(sql)
                .bind::<SqlUuid, _>(delivery)
                .bind::<Timestamptz, _>(at)
                .bind::<Nullable<Integer>, _>(status)
                .bind::<Nullable<Text>, _>(error),
        )
        .execute(&mut conn)
        .await
        .map_err(from_diesel)?;
        Ok(())
    }

    async fn purge_delivered(
        &self,
        delivered_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let deleted = Prepared(
            diesel::sql_query(PURGE_DELIVERED)
                .bind::<Timestamptz, _>(delivered_before)
                .bind::<BigInt, _>(i64::from(limit.min(MAX_CLAIM))),
        )
        .execute(&mut conn)
        .await
        .map_err(from_diesel)?;
        Ok(deleted as u64)
    }
}

#[cfg(test)]
#[path = "webhook_plans_tests.rs"]
mod plans_tests;
