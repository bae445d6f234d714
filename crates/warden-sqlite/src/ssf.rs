//! [`SsfRepo`] on SQLite, and the SETs a status change writes inside its own `BEGIN IMMEDIATE`
//! transaction ([`enqueue_change`]).

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, TimestamptzSqlite};
use diesel::sqlite::Sqlite;
use uuid::Uuid;
use warden_domain::ports::{SsfRepo, StoreError};
use warden_domain::{
    ActorKind, PollRequest, QueuedSet, SecurityEventType, SetFinish, StatusChange, Stream,
    StreamDelivery, StreamStatus, User, POLL_METHOD, PUSH_METHOD,
};

use crate::errors::corrupt;
use crate::schema::{clients, ssf_events as events, ssf_streams as streams};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

/// The most SETs one claim returns.
const MAX_CLAIM: u32 = 500;

/// Binds: enabled, the push method, now, limit. Of each enabled push stream, the oldest SET it
/// still owes, when that one is due (a stream's SETs go in order; one waiting for a retry holds
/// back its own stream only). Run inside `BEGIN IMMEDIATE`.
const DUE_HEADS: &str = "\
SELECT e.seq FROM ssf_events AS e JOIN ssf_streams AS s ON s.id = e.stream_id
 WHERE s.status = ? AND s.delivery_method = ?
   AND e.delivered_at IS NULL AND e.failed_at IS NULL AND e.next_attempt_at <= ?
   AND NOT EXISTS (SELECT 1 FROM ssf_events AS p
                    WHERE p.stream_id = e.stream_id AND p.seq < e.seq
                      AND p.delivered_at IS NULL AND p.failed_at IS NULL)
 ORDER BY e.seq
 LIMIT ?";

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = streams, check_for_backend(Sqlite), treat_none_as_null = true)]
struct StreamRow {
    id: String,
    client_id: String,
    audience: String,
    delivery_method: String,
    endpoint_url: Option<String>,
    authorization_header: Option<String>,
    events_requested: String,
    events_delivered: String,
    status: String,
    status_reason: Option<String>,
    description: Option<String>,
    created_at: Ts,
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|line| !line.is_empty())
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
            id: stream.id.to_string(),
            client_id: stream.client_id.to_string(),
            audience: stream.audience.clone(),
            delivery_method: stream.delivery.method().to_owned(),
            endpoint_url,
            authorization_header,
            events_requested: stream.events_requested.join("\n"),
            events_delivered: stream
                .events_delivered
                .iter()
                .map(|t| t.uri())
                .collect::<Vec<_>>()
                .join("\n"),
            status: stream.status.as_str().to_owned(),
            status_reason: stream.status_reason.clone(),
            description: stream.description.clone(),
            created_at: Ts(stream.created_at),
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
            id: row.id.parse().context("stream id")?,
            client_id: row.client_id.parse().context("client id")?,
            audience: row.audience,
            delivery,
            events_requested: lines(&row.events_requested).map(str::to_owned).collect(),
            events_delivered: lines(&row.events_delivered)
                .map(|uri| SecurityEventType::parse(uri).context("stored event type"))
                .collect::<anyhow::Result<_>>()?,
            status: StreamStatus::parse(&row.status).context("stored status")?,
            status_reason: row.status_reason,
            description: row.description,
            created_at: row.created_at.0,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(Sqlite))]
struct EventRow {
    jti: String,
    stream_id: String,
    txn: String,
    event_type: String,
    subject: Option<String>,
    occurred_at: Ts,
    actor_kind: Option<String>,
    reason: Option<String>,
    state: Option<String>,
    attempts: i32,
}

#[derive(Insertable)]
#[diesel(table_name = events, check_for_backend(Sqlite))]
struct NewEventRow {
    jti: String,
    stream_id: String,
    txn: String,
    event_type: String,
    subject: Option<String>,
    occurred_at: Ts,
    actor_kind: Option<String>,
    reason: Option<String>,
    state: Option<String>,
    next_attempt_at: Ts,
}

impl From<&QueuedSet> for NewEventRow {
    fn from(set: &QueuedSet) -> Self {
        Self {
            jti: set.jti.to_string(),
            stream_id: set.stream_id.to_string(),
            txn: set.txn.to_string(),
            event_type: set.event_type.uri().to_owned(),
            subject: set.subject.map(|s| s.to_string()),
            occurred_at: Ts(set.occurred_at),
            actor_kind: set.actor_kind.map(|k| k.as_str().to_owned()),
            reason: set.reason.clone(),
            state: set.state.clone(),
            next_attempt_at: Ts(set.occurred_at),
        }
    }
}

impl TryFrom<EventRow> for QueuedSet {
    type Error = anyhow::Error;

    fn try_from(row: EventRow) -> anyhow::Result<Self> {
        Ok(Self {
            jti: row.jti.parse().context("jti")?,
            stream_id: row.stream_id.parse().context("stream id")?,
            txn: row.txn.parse().context("txn")?,
            event_type: SecurityEventType::parse(&row.event_type).context("event type")?,
            subject: row
                .subject
                .map(|s| s.parse())
                .transpose()
                .context("subject")?,
            occurred_at: row.occurred_at.0,
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

/// Writes the SETs `change` owes, inside the change's transaction: for each of its event types,
/// one per stream not disabled that delivers it, all with the change's audit event as `txn`.
pub(crate) fn enqueue_change(
    conn: &mut SqliteConnection,
    change: &StatusChange,
    user: &User,
) -> QueryResult<()> {
    let open: Vec<(String, String)> = streams::table
        .filter(streams::status.ne(StreamStatus::Disabled.as_str()))
        .order(streams::id.asc())
        .select((streams::id, streams::events_delivered))
        .load(conn)?;
    let mut rows = Vec::new();
    for event_type in SecurityEventType::of(change.action) {
        for (stream_id, delivered) in &open {
            if lines(delivered).any(|uri| uri == event_type.uri()) {
                rows.push(NewEventRow::from(&QueuedSet {
                    jti: Uuid::new_v4(),
                    stream_id: stream_id
                        .parse()
                        .map_err(|e| corrupt(anyhow::Error::new(e)))?,
                    txn: change.event_id,
                    event_type: *event_type,
                    subject: Some(*user.id.as_uuid()),
                    occurred_at: change.at,
                    actor_kind: Some(change.actor.kind()),
                    reason: change.reason.as_ref().map(|r| r.as_str().to_owned()),
                    state: None,
                    attempts: 0,
                }));
            }
        }
    }
    // One insert per row keeps `seq` in the order above (event type, then stream).
    for row in &rows {
        diesel::insert_into(events::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

fn client_live(conn: &mut SqliteConnection, client: &str) -> QueryResult<bool> {
    let live: i64 = clients::table
        .filter(clients::id.eq(client))
        .filter(clients::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(live > 0)
}

fn stream_of(conn: &mut SqliteConnection, client: &str, id: &str) -> QueryResult<Option<Stream>> {
    streams::table
        .filter(streams::id.eq(id))
        .filter(streams::client_id.eq(client))
        .select(StreamRow::as_select())
        .first(conn)
        .optional()?
        .map(|row| Stream::try_from(row).map_err(corrupt))
        .transpose()
}

/// Marks a SET still owed (of `stream`, when given) delivered, or failed with `failed`.
fn settle(
    conn: &mut SqliteConnection,
    jti: &str,
    stream: Option<&str>,
    failed: Option<&str>,
    status: Option<i32>,
    now: Ts,
) -> QueryResult<()> {
    if let Some(stream) = stream {
        let ours: i64 = events::table
            .filter(events::jti.eq(jti))
            .filter(events::stream_id.eq(stream))
            .count()
            .get_result(conn)?;
        if ours == 0 {
            return Ok(());
        }
    }
    let owed = || {
        events::table
            .filter(events::jti.eq(jti))
            .filter(events::delivered_at.is_null())
            .filter(events::failed_at.is_null())
    };
    match failed {
        None => diesel::update(owed())
            .set((
                events::delivered_at.eq(Some(now)),
                events::last_status_code.eq(status),
            ))
            .execute(conn)?,
        Some(error) => diesel::update(owed())
            .set((
                events::failed_at.eq(Some(now)),
                events::last_status_code.eq(status),
                events::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
    };
    Ok(())
}

#[async_trait]
impl SsfRepo for SqliteStore {
    async fn create_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError> {
        let row = StreamRow::from(&stream);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                if !client_live(conn, &row.client_id)? {
                    return Ok(None);
                }
                diesel::insert_into(streams::table)
                    .values(&row)
                    .returning(StreamRow::as_returning())
                    .get_result(conn)
                    .and_then(|row| Stream::try_from(row).map_err(corrupt))
                    .map(Some)
            })
        })
        .await
    }

    async fn streams(&self, client: Uuid) -> Result<Vec<Stream>, StoreError> {
        let client = client.to_string();
        self.run(move |conn| {
            streams::table
                .filter(streams::client_id.eq(&client))
                .order((streams::created_at.asc(), streams::id.asc()))
                .select(StreamRow::as_select())
                .load(conn)?
                .into_iter()
                .map(|row| Stream::try_from(row).map_err(corrupt))
                .collect()
        })
        .await
    }

    async fn stream(&self, client: Uuid, id: Uuid) -> Result<Option<Stream>, StoreError> {
        let (client, id) = (client.to_string(), id.to_string());
        self.run(move |conn| stream_of(conn, &client, &id)).await
    }

    async fn update_stream(&self, stream: Stream) -> Result<Option<Stream>, StoreError> {
        let row = StreamRow::from(&stream);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                if !client_live(conn, &row.client_id)? {
                    return Ok(None);
                }
                diesel::update(
                    streams::table
                        .filter(streams::id.eq(&row.id))
                        .filter(streams::client_id.eq(&row.client_id)),
                )
                .set((
                    streams::delivery_method.eq(&row.delivery_method),
                    streams::endpoint_url.eq(&row.endpoint_url),
                    streams::authorization_header.eq(&row.authorization_header),
                    streams::events_requested.eq(&row.events_requested),
                    streams::events_delivered.eq(&row.events_delivered),
                    streams::description.eq(&row.description),
                ))
                .execute(conn)?;
                stream_of(conn, &row.client_id, &row.id)
            })
        })
        .await
    }

    async fn delete_stream(&self, client: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let (client, id) = (client.to_string(), id.to_string());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                if !client_live(conn, &client)? || stream_of(conn, &client, &id)?.is_none() {
                    return Ok(false);
                }
                diesel::delete(events::table.filter(events::stream_id.eq(&id))).execute(conn)?;
                diesel::delete(streams::table.find(&id)).execute(conn)?;
                Ok(true)
            })
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
        let (client, id) = (client.to_string(), id.to_string());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                if !client_live(conn, &client)? || stream_of(conn, &client, &id)?.is_none() {
                    return Ok(None);
                }
                diesel::update(streams::table.find(&id))
                    .set((
                        streams::status.eq(status.as_str()),
                        streams::status_reason.eq(&reason),
                    ))
                    .execute(conn)?;
                if status == StreamStatus::Disabled {
                    diesel::delete(
                        events::table
                            .filter(events::stream_id.eq(&id))
                            .filter(events::delivered_at.is_null())
                            .filter(events::failed_at.is_null()),
                    )
                    .execute(conn)?;
                }
                stream_of(conn, &client, &id)
            })
        })
        .await
    }

    async fn enqueue(&self, client: Uuid, set: QueuedSet) -> Result<bool, StoreError> {
        let client = client.to_string();
        let row = NewEventRow::from(&set);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                if !client_live(conn, &client)? {
                    return Ok(false);
                }
                match stream_of(conn, &client, &row.stream_id)? {
                    Some(stream) if stream.status != StreamStatus::Disabled => {
                        diesel::insert_into(events::table)
                            .values(&row)
                            .execute(conn)?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            })
        })
        .await
    }

    async fn claim_push(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Stream, QueuedSet)>, StoreError> {
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let due: Vec<i64> = diesel::sql_query(DUE_HEADS)
                    .bind::<Text, _>(StreamStatus::Enabled.as_str())
                    .bind::<Text, _>(PUSH_METHOD)
                    .bind::<TimestamptzSqlite, _>(Ts(now))
                    .bind::<BigInt, _>(i64::from(limit.min(MAX_CLAIM)))
                    .load::<Seq>(conn)?
                    .into_iter()
                    .map(|row| row.seq)
                    .collect();
                if due.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::update(events::table.filter(events::seq.eq_any(&due)))
                    .set((
                        events::next_attempt_at.eq(Ts(lease_until)),
                        events::attempts.eq(events::attempts + 1),
                    ))
                    .execute(conn)?;
                let rows: Vec<(EventRow, StreamRow)> = events::table
                    .inner_join(streams::table)
                    .filter(events::seq.eq_any(&due))
                    .order(events::seq.asc())
                    .select((EventRow::as_select(), StreamRow::as_select()))
                    .load(conn)?;
                rows.into_iter()
                    .map(|(event, stream)| {
                        Ok((
                            Stream::try_from(stream).map_err(corrupt)?,
                            QueuedSet::try_from(event).map_err(corrupt)?,
                        ))
                    })
                    .collect()
            })
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
        let jti = jti.to_string();
        let status = status.map(i32::from);
        self.run(move |conn| match finish {
            SetFinish::Delivered => settle(conn, &jti, None, None, status, Ts(now)),
            SetFinish::Failed(error) => settle(conn, &jti, None, Some(&error), status, Ts(now)),
            SetFinish::RetryAt(at, error) => {
                diesel::update(
                    events::table
                        .filter(events::jti.eq(&jti))
                        .filter(events::delivered_at.is_null())
                        .filter(events::failed_at.is_null()),
                )
                .set((
                    events::next_attempt_at.eq(Ts(at)),
                    events::last_status_code.eq(status),
                    events::last_error.eq(Some(error)),
                ))
                .execute(conn)?;
                Ok(())
            }
        })
        .await
    }

    async fn poll(
        &self,
        client: Uuid,
        id: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<(Vec<QueuedSet>, bool)>, StoreError> {
        let (client, id) = (client.to_string(), id.to_string());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let stream = match stream_of(conn, &client, &id)? {
                    Some(stream) if stream.delivery == StreamDelivery::Poll => stream,
                    _ => return Ok(None),
                };
                if !client_live(conn, &client)? {
                    return Ok(None);
                }
                for jti in &request.ack {
                    settle(conn, &jti.to_string(), Some(&id), None, None, Ts(now))?;
                }
                for (jti, error) in &request.set_errs {
                    settle(
                        conn,
                        &jti.to_string(),
                        Some(&id),
                        Some(error),
                        None,
                        Ts(now),
                    )?;
                }
                if stream.status != StreamStatus::Enabled {
                    return Ok(Some((Vec::new(), false)));
                }
                let max = i64::from(request.max_events);
                let rows: Vec<EventRow> = events::table
                    .filter(events::stream_id.eq(&id))
                    .filter(events::delivered_at.is_null())
                    .filter(events::failed_at.is_null())
                    .order(events::seq.asc())
                    .limit(max + 1)
                    .select(EventRow::as_select())
                    .load(conn)?;
                let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > max;
                let sets = rows
                    .into_iter()
                    .take(usize::try_from(max).unwrap_or(usize::MAX))
                    .map(|row| QueuedSet::try_from(row).map_err(corrupt))
                    .collect::<QueryResult<_>>()?;
                Ok(Some((sets, more)))
            })
        })
        .await
    }
}
