//! [`WebhookRepo`] on SQLite, and the deliveries a status change writes inside its own
//! `BEGIN IMMEDIATE` transaction ([`enqueue`]).

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use uuid::Uuid;
use warden_domain::ports::{Finish, RetryDelivery, StoreError, WebhookRepo};
use warden_domain::{
    AuditEvent, Authorized, ChangeAction, ClaimedDelivery, DeliveryStatus, Guarded, NewWebhook,
    User, WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookSecret,
};

use crate::changes::authorized;
use crate::errors::corrupt;
use crate::rows::AuditEventRow;
use crate::schema::{
    audit_events, webhook_deliveries as deliveries, webhook_endpoints as endpoints,
};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

/// The most deliveries one claim returns.
const MAX_CLAIM: u32 = 500;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = endpoints, check_for_backend(Sqlite))]
struct EndpointRow {
    id: String,
    url: String,
    description: Option<String>,
    events: Option<String>,
    enabled: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<Ts>,
    created_at: Ts,
    created_by: Option<String>,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = anyhow::Error;

    fn try_from(row: EndpointRow) -> anyhow::Result<Self> {
        let events = row
            .events
            .map(|text| {
                text.split(',')
                    .filter(|t| !t.is_empty())
                    .map(WebhookEventType::parse)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .context("stored event types")?;
        let previous_secret = match (row.previous_secret, row.previous_until) {
            (Some(secret), Some(until)) => Some((
                WebhookSecret::parse(&secret).context("stored previous secret")?,
                until.0,
            )),
            _ => None,
        };
        Ok(Self {
            id: Uuid::try_parse(&row.id)?,
            url: row.url,
            description: row.description,
            events,
            enabled: row.enabled,
            secret: WebhookSecret::parse(&row.secret).context("stored secret")?,
            previous_secret,
            created_at: row.created_at.0,
            created_by: row
                .created_by
                .map(|id| Uuid::try_parse(&id))
                .transpose()
                .context("created_by")?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries, check_for_backend(Sqlite))]
struct DeliveryRow {
    id: String,
    endpoint_id: String,
    event_id: String,
    event_type: String,
    email: String,
    attempts: i32,
    next_attempt_at: Ts,
    leased_until: Option<Ts>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<Ts>,
    failed_at: Option<Ts>,
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
        id: Uuid::try_parse(&row.id)?,
        endpoint_id: Uuid::try_parse(&row.endpoint_id)?,
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
        next_attempt_at: row.next_attempt_at.0,
        status,
    })
}

/// Deliveries with their events, converted.
fn deliveries_of(rows: Vec<(DeliveryRow, AuditEventRow)>) -> QueryResult<Vec<WebhookDelivery>> {
    rows.into_iter()
        .map(|(row, event)| delivery_of(row, event).map_err(corrupt))
        .collect()
}

fn events_text(events: Option<&Vec<WebhookEventType>>) -> Option<String> {
    events.map(|types| {
        types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Writes the deliveries a change owes, inside the change's transaction: one per enabled
/// endpoint subscribed to `event_type`, for the audit event `event_id` made at `at`, with the
/// user as the change left it.
pub(crate) fn enqueue(
    conn: &mut SqliteConnection,
    event_id: Uuid,
    event_type: WebhookEventType,
    at: DateTime<Utc>,
    user: &User,
) -> QueryResult<()> {
    let enabled: Vec<(String, Option<String>)> = endpoints::table
        .filter(endpoints::enabled.eq(true))
        .select((endpoints::id, endpoints::events))
        .load(conn)?;
    let rows: Vec<DeliveryRow> = enabled
        .into_iter()
        .filter(|(_, events)| {
            events
                .as_deref()
                .is_none_or(|types| types.split(',').any(|t| t == event_type.as_str()))
        })
        .map(|(endpoint_id, _)| DeliveryRow {
            id: Uuid::now_v7().to_string(),
            endpoint_id,
            event_id: event_id.to_string(),
            event_type: event_type.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            attempts: 0,
            next_attempt_at: Ts(at),
            leased_until: None,
            last_status_code: None,
            last_error: None,
            delivered_at: None,
            failed_at: None,
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(deliveries::table)
            .values(&rows)
            .execute(conn)?;
    }
    Ok(())
}

fn endpoint_by_id(conn: &mut SqliteConnection, id: &str) -> QueryResult<Option<WebhookEndpoint>> {
    endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?
        .map(|row| WebhookEndpoint::try_from(row).map_err(corrupt))
        .transpose()
}

#[async_trait]
impl WebhookRepo for SqliteStore {
    async fn create_webhook(
        &self,
        new: NewWebhook,
        by: &Authorized,
    ) -> Result<Guarded<WebhookEndpoint>, StoreError> {
        let row = EndpointRow {
            id: new.id.to_string(),
            url: new.url,
            description: new.description,
            events: events_text(new.events.as_ref()),
            enabled: true,
            secret: new.secret.expose(),
            previous_secret: None,
            previous_until: None,
            created_at: Ts(new.created_at),
            created_by: by.created_by().map(|id| id.to_string()),
        };
        let (by, id) = (by.clone(), new.id);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                authorized(conn, &by, |conn| {
                    let endpoint = diesel::insert_into(endpoints::table)
                        .values(&row)
                        .returning(EndpointRow::as_returning())
                        .get_result(conn)
                        .and_then(|row| WebhookEndpoint::try_from(row).map_err(corrupt))?;
                    let record = by.record(ChangeAction::WebhookCreated, id, Vec::new());
                    Ok((endpoint, Some(record)))
                })
            })
        })
        .await
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.run(|conn| {
            endpoints::table
                .order(endpoints::id.asc())
                .select(EndpointRow::as_select())
                .load(conn)?
                .into_iter()
                .map(|row| WebhookEndpoint::try_from(row).map_err(corrupt))
                .collect()
        })
        .await
    }

    async fn find_webhook(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.run(move |conn| endpoint_by_id(conn, &id.to_string()))
            .await
    }

    async fn delete_webhook(&self, id: Uuid, by: &Authorized) -> Result<Guarded<bool>, StoreError> {
        let (by, key) = (by.clone(), id.to_string());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                authorized(conn, &by, |conn| {
                    diesel::delete(deliveries::table.filter(deliveries::endpoint_id.eq(&key)))
                        .execute(conn)?;
                    let deleted = diesel::delete(endpoints::table.find(&key)).execute(conn)? > 0;
                    let record =
                        deleted.then(|| by.record(ChangeAction::WebhookDeleted, id, Vec::new()));
                    Ok((deleted, record))
                })
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
        let (by, key) = (by.clone(), id.to_string());
        let secret = secret.expose();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                authorized(conn, &by, |conn| {
                    diesel::update(endpoints::table.find(&key))
                        .set((
                            endpoints::previous_secret.eq(endpoints::secret.nullable()),
                            endpoints::previous_until.eq(Some(Ts(previous_until))),
                            endpoints::secret.eq(&secret),
                        ))
                        .execute(conn)?;
                    let found = endpoint_by_id(conn, &key)?;
                    let record = found
                        .as_ref()
                        .map(|_| by.record(ChangeAction::WebhookSecretRotated, id, Vec::new()));
                    Ok((found, record))
                })
            })
        })
        .await
    }

    async fn set_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        by: &Authorized,
    ) -> Result<Guarded<Option<WebhookEndpoint>>, StoreError> {
        let (by, key) = (by.clone(), id.to_string());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                authorized(conn, &by, |conn| {
                    diesel::update(endpoints::table.find(&key))
                        .set(endpoints::enabled.eq(enabled))
                        .execute(conn)?;
                    let found = endpoint_by_id(conn, &key)?;
                    let record = found
                        .as_ref()
                        .map(|_| by.record(ChangeAction::WebhookUpdated, id, Vec::new()));
                    Ok((found, record))
                })
            })
        })
        .await
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let endpoint = endpoint.to_string();
        self.run(move |conn| {
            let mut query = deliveries::table
                .inner_join(audit_events::table)
                .filter(deliveries::endpoint_id.eq(endpoint))
                .order(deliveries::event_id.desc())
                .limit(i64::from(limit))
                .select((DeliveryRow::as_select(), AuditEventRow::as_select()))
                .into_boxed();
            if let Some(before) = before {
                query = query.filter(deliveries::event_id.lt(before.to_string()));
            }
            deliveries_of(query.load(conn)?)
        })
        .await
    }

    async fn retry_delivery(
        &self,
        endpoint: Uuid,
        delivery: Uuid,
        now: DateTime<Utc>,
    ) -> Result<RetryDelivery, StoreError> {
        let (endpoint, delivery) = (endpoint.to_string(), delivery.to_string());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let found = deliveries::table
                    .find(&delivery)
                    .filter(deliveries::endpoint_id.eq(&endpoint))
                    .select((deliveries::delivered_at, deliveries::leased_until))
                    .first::<(Option<Ts>, Option<Ts>)>(conn)
                    .optional()?;
                Ok(match found {
                    None => RetryDelivery::NotFound,
                    Some((Some(_), _)) => RetryDelivery::AlreadyDelivered,
                    Some((None, Some(until))) if until.0 > now => RetryDelivery::InFlight,
                    Some(_) => {
                        diesel::update(deliveries::table.find(&delivery))
                            .set((
                                deliveries::failed_at.eq(None::<Ts>),
                                deliveries::next_attempt_at.eq(Ts(now)),
                                deliveries::leased_until.eq(None::<Ts>),
                            ))
                            .execute(conn)?;
                        RetryDelivery::Queued
                    }
                })
            })
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let limit = i64::from(limit.min(MAX_CLAIM));
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let due: Vec<String> = deliveries::table
                    .inner_join(endpoints::table)
                    .filter(endpoints::enabled.eq(true))
                    .filter(deliveries::delivered_at.is_null())
                    .filter(deliveries::failed_at.is_null())
                    .filter(deliveries::next_attempt_at.le(Ts(now)))
                    .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
                    .limit(limit)
                    .select(deliveries::id)
                    .load(conn)?;
                if due.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::update(deliveries::table.filter(deliveries::id.eq_any(&due)))
                    .set((
                        deliveries::attempts.eq(deliveries::attempts + 1),
                        deliveries::next_attempt_at.eq(Ts(lease_until)),
                        deliveries::leased_until.eq(Some(Ts(lease_until))),
                    ))
                    .execute(conn)?;
                let rows: Vec<(DeliveryRow, AuditEventRow, EndpointRow)> = deliveries::table
                    .inner_join(audit_events::table)
                    .inner_join(endpoints::table)
                    .filter(deliveries::id.eq_any(&due))
                    .select((
                        DeliveryRow::as_select(),
                        AuditEventRow::as_select(),
                        EndpointRow::as_select(),
                    ))
                    .load(conn)?;
                let mut claimed = Vec::with_capacity(rows.len());
                for (row, event, endpoint) in rows {
                    claimed.push(ClaimedDelivery {
                        delivery: delivery_of(row, event).map_err(corrupt)?,
                        endpoint: WebhookEndpoint::try_from(endpoint).map_err(corrupt)?,
                    });
                }
                let rank: HashMap<&str, usize> = due
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id.as_str(), i))
                    .collect();
                claimed.sort_by_key(|c| rank.get(c.delivery.id.to_string().as_str()).copied());
                Ok(claimed)
            })
        })
        .await
    }

    async fn finish_attempt(
        &self,
        delivery: Uuid,
        status: Option<u16>,
        finish: Finish,
    ) -> Result<(), StoreError> {
        let id = delivery.to_string();
        let now = Ts(Utc::now());
        let status = status.map(i32::from);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let pending = deliveries::table
                    .find(&id)
                    .filter(deliveries::delivered_at.is_null())
                    .filter(deliveries::failed_at.is_null());
                let endpoint: Option<String> = pending
                    .select(deliveries::endpoint_id)
                    .first(conn)
                    .optional()?;
                let Some(endpoint) = endpoint else {
                    return Ok(());
                };
                let common = (
                    deliveries::leased_until.eq(None::<Ts>),
                    deliveries::last_status_code.eq(status),
                );
                match finish {
                    Finish::Delivered => diesel::update(pending)
                        .set((common, deliveries::delivered_at.eq(Some(now))))
                        .execute(conn)?,
                    Finish::RetryAt(at, error) => diesel::update(pending)
                        .set((
                            common,
                            deliveries::next_attempt_at.eq(Ts(at)),
                            deliveries::last_error.eq(Some(error)),
                        ))
                        .execute(conn)?,
                    Finish::Failed(error) => diesel::update(pending)
                        .set((
                            common,
                            deliveries::failed_at.eq(Some(now)),
                            deliveries::last_error.eq(Some(error)),
                        ))
                        .execute(conn)?,
                    Finish::Gone => {
                        diesel::update(endpoints::table.find(&endpoint))
                            .set(endpoints::enabled.eq(false))
                            .execute(conn)?;
                        diesel::update(pending)
                            .set((
                                common,
                                deliveries::failed_at.eq(Some(now)),
                                deliveries::last_error.eq(Some("answered 410 Gone")),
                            ))
                            .execute(conn)?
                    }
                };
                Ok(())
            })
        })
        .await
    }

    async fn purge_delivered(
        &self,
        delivered_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let limit = i64::from(limit.min(MAX_CLAIM));
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let old: Vec<String> = deliveries::table
                    .filter(deliveries::delivered_at.lt(Ts(delivered_before)))
                    .order(deliveries::delivered_at.asc())
                    .limit(limit)
                    .select(deliveries::id)
                    .load(conn)?;
                let deleted = diesel::delete(deliveries::table.filter(deliveries::id.eq_any(&old)))
                    .execute(conn)?;
                Ok(deleted as u64)
            })
        })
        .await
    }
}
