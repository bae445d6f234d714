//! [`SsfRepo`] for [`PgStore`]. The SETs of a status change are written by the change's one
//! statement (`status_sql.rs`, its `ssf` CTE). Every write re-checks, in its transaction, that
//! the owning client is not revoked (its row locked `FOR SHARE` until commit: a revocation
//! racing the write is ordered before or after it). Push claims take the oldest SET each
//! enabled push stream owes (rows locked, so concurrent claims queue), under a lease.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;
use warden_domain::ports::{SsfRepo, StoreError};
use warden_domain::{
    ActorKind, PollRequest, QueuedSet, SecurityEventType, SetFinish, Stream, StreamDelivery,
    StreamStatus, POLL_METHOD, PUSH_METHOD,
};

use crate::errors::{corrupt, from_diesel};
use crate::schema::{clients, ssf_events as events, ssf_streams as streams};
use crate::PgStore;

/// The most SETs one claim returns.
const MAX_CLAIM: u32 = 500;

/// $1 enabled, $2 the push method, $3 now, $4 limit: of each enabled push stream, the oldest
/// SET it still owes, when that one is due. Only the oldest: a stream's SETs go in order, and a
/// stream waiting for a retry holds back its own SETs only. Its row locked (not FOR UPDATE: a
/// status change's SETs, their foreign key, must not wait; not SKIP LOCKED: a claim skipping a
/// stream's oldest SET would take its next one out of order, so concurrent claims queue, and
/// one that waited sees the row as leased).
const DUE_HEADS: &str = "\
SELECT e.seq FROM ssf_events AS e JOIN ssf_streams AS s ON s.id = e.stream_id
 WHERE s.status = $1 AND s.delivery_method = $2
   AND e.delivered_at IS NULL AND e.failed_at IS NULL AND e.next_attempt_at <= $3
   AND NOT EXISTS (SELECT 1 FROM ssf_events AS p
                    WHERE p.stream_id = e.stream_id AND p.seq < e.seq
                      AND p.delivered_at IS NULL AND p.failed_at IS NULL)
 ORDER BY e.seq
 LIMIT $4
   FOR NO KEY UPDATE OF e";

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = streams, check_for_backend(Pg))]
struct StreamRow {
    id: Uuid,
    client_id: Uuid,
    audience: String,
    delivery_method: String,
    endpoint_url: Option<String>,
    authorization_header: Option<String>,
    events_requested: Vec<String>,
    events_delivered: Vec<String>,
    status: String,
    status_reason: Option<String>,
    description: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<&Stream> for StreamRow {
    fn from(stream: &Stream) -> Self {
        let (endpoint_url, authorization_header) = match &stream.delivery {
            StreamDelivery::Push {
                endpoint_url,
                authorization_header,
            } => (Some(endpoint_url.clone()), authorization_header.clone()),
            StreamDelivery::Poll => (None, None),
        };
        Self {
            id: stream.id,
            client_id: stream.client_id,
            audience: stream.audience.clone(),
            delivery_method: stream.delivery.method().to_owned(),
            endpoint_url,
            authorization_header,
            events_requested: stream.events_requested.clone(),
            events_delivered: stream
                .events_delivered
                .iter()
                .map(|t| t.uri().to_owned())
                .collect(),
            status: stream.status.as_str().to_owned(),
            status_reason: stream.status_reason.clone(),
            description: stream.description.clone(),
            created_at: stream.created_at,
        }
    }
}

impl TryFrom<StreamRow> for Stream {
    type Error = anyhow::Error;

    fn try_from(row: StreamRow) -> anyhow::Result<Self> {
        let delivery = match (row.delivery_method.as_str(), row.endpoint_url) {
            (PUSH_METHOD, Some(endpoint_url)) => StreamDelivery::Push {
                endpoint_url,
                authorization_header: row.authorization_header,
            },
            (POLL_METHOD, None) => StreamDelivery::Poll,
            _ => anyhow::bail!("stored delivery method"),
        };
        Ok(Self {
            id: row.id,
            client_id: row.client_id,
            audience: row.audience,
            delivery,
            events_requested: row.events_requested,
            events_delivered: row
                .events_delivered
                .iter()
                .map(|uri| SecurityEventType::parse(uri).context("stored event type"))
                .collect::<anyhow::Result<_>>()?,
            status: StreamStatus::parse(&row.status).context("stored status")?,
            status_reason: row.status_reason,
            description: row.description,
            created_at: row.created_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(Pg))]
struct EventRow {
    jti: Uuid,
    stream_id: Uuid,
    txn: Uuid,
    event_type: String,
    subject: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    actor_kind: Option<String>,
    reason: Option<String>,
    state: Option<String>,
    attempts: i32,
}

#[derive(Insertable)]
#[diesel(table_name = events, check_for_backend(Pg))]
struct NewEventRow {
    jti: Uuid,
    stream_id: Uuid,
    txn: Uuid,
    event_type: String,
    subject: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    actor_kind: Option<String>,
    reason: Option<String>,
    state: Option<String>,
    next_attempt_at: DateTime<Utc>,
}

impl From<&QueuedSet> for NewEventRow {
    fn from(set: &QueuedSet) -> Self {
        Self {
            jti: set.jti,
            stream_id: set.stream_id,
            txn: set.txn,
            event_type: set.event_type.uri().to_owned(),
            subject: set.subject,
            occurred_at: set.occurred_at,
            actor_kind: set.actor_kind.map(|k| k.as_str().to_owned()),
            reason: set.reason.clone(),
            state: set.state.clone(),
            next_attempt_at: set.occurred_at,
        }
    }
}

impl TryFrom<EventRow> for QueuedSet {
    type Error = anyhow::Error;

    fn try_from(row: EventRow) -> anyhow::Result<Self> {
        Ok(Self {
            jti: row.jti,
            stream_id: row.stream_id,
            txn: row.txn,
            event_type: SecurityEventType::parse(&row.event_type).context("event type")?,
            subject: row.subject,
            occurred_at: row.occurred_at,
            actor_kind: row
                .actor_kind
                .map(|k| ActorKind::parse(&k))
                .transpose()
                .context("actor kind")?,
            reason: row.reason,
            state: row.state,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
        })
    }
}

fn unreadable(error: anyhow::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(error.into())
}

/// Whether the client is live, locking its row until the transaction ends.
async fn client_live(conn: &mut AsyncPgConnection, client: Uuid) -> QueryResult<bool> {
    Ok(clients::table
        .find(client)
        .filter(clients::revoked_at.is_null())
        .select(clients::id)
        .for_share()
        .first::<Uuid>(conn)
        .await
        .optional()?
        .is_some())
}

async fn stream_of(
    conn: &mut AsyncPgConnection,
    client: Uuid,
    id: Uuid,
) -> QueryResult<Option<Stream>> {
    streams::table
        .filter(streams::id.eq(id))
        .filter(streams::client_id.eq(client))
        .select(StreamRow::as_select())
        .first(conn)
        .await
        .optional()?
        .map(|row| Stream::try_from(row).map_err(unreadable))
        .transpose()
}

/// Marks a SET still owed delivered, or failed with `failed`; only one of `stream` when given.
async fn settle(
    conn: &mut AsyncPgConnection,
    jti: Uuid,
    stream: Option<Uuid>,
    failed: Option<String>,
    status: Option<i32>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if let Some(stream) = stream {
        let ours: i64 = events::table
            .filter(events::jti.eq(jti))
            .filter(events::stream_id.eq(stream))
            .count()
            .get_result(conn)
            .await?;
        if ours == 0 {
            return Ok(());
        }
    }
    let owed = events::table
        .filter(events::jti.eq(jti))
        .filter(events::delivered_at.is_null())
        .filter(events::failed_at.is_null());
    match failed {
        None => {
            diesel::update(owed)
                .set((
                    events::delivered_at.eq(Some(now)),
                    events::last_status_code.eq(status),
                ))
                .execute(conn)
                .await?
        }
        Some(error) => {
            diesel::update(owed)
                .set((
                    events::failed_at.eq(Some(now)),
                    events::last_status_code.eq(status),
                    events::last_error.eq(Some(error)),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

#[async_trait]
impl SsfRepo for PgStore {
    async fn create_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError> {
        let row = StreamRow::from(&stream);
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !client_live(conn, row.client_id).await? {
                    return Ok(None);
                }
                let row: StreamRow = diesel::insert_into(streams::table)
                    .values(&row)
                    .returning(StreamRow::as_returning())
                    .get_result(conn)
                    .await?;
                Stream::try_from(row).map(Some).map_err(unreadable)
            }))
        })
        .await
    }

    async fn streams(&self, client: Uuid) -> Result<Vec<Stream>, StoreError> {
        let mut conn = self.conn().await?;
        streams::table
            .filter(streams::client_id.eq(client))
            .order((streams::created_at.asc(), streams::id.asc()))
            .select(StreamRow::as_select())
            .load(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(|row| Stream::try_from(row).map_err(corrupt))
            .collect()
    }

    async fn stream(&self, client: Uuid, id: Uuid) -> Result<Option<Stream>, StoreError> {
        let mut conn = self.conn().await?;
        stream_of(&mut conn, client, id).await.map_err(from_diesel)
    }

    async fn update_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError> {
        let row = StreamRow::from(&stream);
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !client_live(conn, row.client_id).await? {
                    return Ok(None);
                }
                diesel::update(
                    streams::table
                        .filter(streams::id.eq(row.id))
                        .filter(streams::client_id.eq(row.client_id)),
                )
                .set((
                    streams::delivery_method.eq(&row.delivery_method),
                    streams::endpoint_url.eq(&row.endpoint_url),
                    streams::authorization_header.eq(&row.authorization_header),
                    streams::events_requested.eq(&row.events_requested),
                    streams::events_delivered.eq(&row.events_delivered),
                    streams::description.eq(&row.description),
                ))
                .execute(conn)
                .await?;
                stream_of(conn, row.client_id, row.id).await
            }))
        })
        .await
    }

    async fn delete_stream(&self, client: Uuid, id: Uuid) -> Result<bool, StoreError> {
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !client_live(conn, client).await? {
                    return Ok(false);
                }
                let deleted = diesel::delete(
                    streams::table
                        .filter(streams::id.eq(id))
                        .filter(streams::client_id.eq(client)),
                )
                .execute(conn)
                .await?;
                Ok(deleted > 0)
            }))
        })
        .await
    }

    async fn set_status(
        &self,
        client: Uuid,
        id: Uuid,
        status: StreamStatus,
        reason: Option<String>,
    ) -> Result<Option<Stream>, StoreError> {
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !client_live(conn, client).await? {
                    return Ok(None);
                }
                let changed = diesel::update(
                    streams::table
                        .filter(streams::id.eq(id))
                        .filter(streams::client_id.eq(client)),
                )
                .set((
                    streams::status.eq(status.as_str()),
                    streams::status_reason.eq(&reason),
                ))
                .execute(conn)
                .await?;
                if changed > 0 && status == StreamStatus::Disabled {
                    diesel::delete(
                        events::table
                            .filter(events::stream_id.eq(id))
                            .filter(events::delivered_at.is_null())
                            .filter(events::failed_at.is_null()),
                    )
                    .execute(conn)
                    .await?;
                }
                stream_of(conn, client, id).await
            }))
        })
        .await
    }

    async fn enqueue(&self, client: Uuid, set: QueuedSet) -> Result<bool, StoreError> {
        let row = NewEventRow::from(&set);
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !client_live(conn, client).await? {
                    return Ok(false);
                }
                // The stream's row locked: a concurrent disable is ordered before or after.
                let status: Option<String> = streams::table
                    .filter(streams::id.eq(row.stream_id))
                    .filter(streams::client_id.eq(client))
                    .select(streams::status)
                    .for_no_key_update()
                    .first(conn)
                    .await
                    .optional()?;
                match status {
                    Some(status) if status != StreamStatus::Disabled.as_str() => {
                        diesel::insert_into(events::table)
                            .values(&row)
                            .execute(conn)
                            .await?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }))
        })
        .await
    }

    async fn claim_push(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Stream, QueuedSet)>, StoreError> {
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                let due: Vec<i64> = diesel::sql_query(DUE_HEADS)
                    .bind::<Text, _>(StreamStatus::Enabled.as_str())
                    .bind::<Text, _>(PUSH_METHOD)
                    .bind::<Timestamptz, _>(now)
                    .bind::<BigInt, _>(i64::from(limit.min(MAX_CLAIM)))
                    .load::<Seq>(conn)
                    .await?
                    .into_iter()
                    .map(|row| row.seq)
                    .collect();
                if due.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::update(events::table.filter(events::seq.eq_any(&due)))
                    .set((
                        events::next_attempt_at.eq(lease_until),
                        events::attempts.eq(events::attempts + 1),
                    ))
                    .execute(conn)
                    .await?;
                let rows: Vec<(EventRow, StreamRow)> = events::table
                    .inner_join(streams::table)
                    .filter(events::seq.eq_any(&due))
                    .order(events::seq.asc())
                    .select((EventRow::as_select(), StreamRow::as_select()))
                    .load(conn)
                    .await?;
                rows.into_iter()
                    .map(|(event, stream)| {
                        Ok((
                            Stream::try_from(stream).map_err(unreadable)?,
                            QueuedSet::try_from(event).map_err(unreadable)?,
                        ))
                    })
                    .collect()
            }))
        })
        .await
    }

    async fn finish_push(
        &self,
        jti: Uuid,
        status: Option<u16>,
        finish: SetFinish,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let status = status.map(i32::from);
        let mut conn = self.conn().await?;
        match finish {
            SetFinish::Delivered => settle(&mut conn, jti, None, None, status, now).await,
            SetFinish::Failed(error) => {
                settle(&mut conn, jti, None, Some(error), status, now).await
            }
            SetFinish::RetryAt(at, error) => diesel::update(
                events::table
                    .filter(events::jti.eq(jti))
                    .filter(events::delivered_at.is_null())
                    .filter(events::failed_at.is_null()),
            )
            .set((
                events::next_attempt_at.eq(at),
                events::last_status_code.eq(status),
                events::last_error.eq(Some(error)),
            ))
            .execute(&mut conn)
            .await
            .map(|_| ()),
        }
        .map_err(from_diesel)
    }

    async fn poll(
        &self,
        client: Uuid,
        id: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<(Vec<QueuedSet>, bool)>, StoreError> {
        self.provisioning_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                if !client_live(conn, client).await? {
                    return Ok(None);
                }
                let stream = match stream_of(conn, client, id).await? {
                    Some(stream) if stream.delivery == StreamDelivery::Poll => stream,
                    _ => return Ok(None),
                };
                for jti in &request.ack {
                    settle(conn, *jti, Some(id), None, None, now).await?;
                }
                for (jti, error) in &request.set_errs {
                    settle(conn, *jti, Some(id), Some(error.clone()), None, now).await?;
                }
                if stream.status != StreamStatus::Enabled {
                    return Ok(Some((Vec::new(), false)));
                }
                let max = i64::from(request.max_events);
                let rows: Vec<EventRow> = events::table
                    .filter(events::stream_id.eq(id))
                    .filter(events::delivered_at.is_null())
                    .filter(events::failed_at.is_null())
                    .order(events::seq.asc())
                    .limit(max + 1)
                    .select(EventRow::as_select())
                    .load(conn)
                    .await?;
                let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > max;
                let sets = rows
                    .into_iter()
                    .take(usize::try_from(max).unwrap_or(usize::MAX))
                    .map(|row| QueuedSet::try_from(row).map_err(unreadable))
                    .collect::<QueryResult<_>>()?;
                Ok(Some((sets, more)))
            }))
        })
        .await
    }
}
