//! [`IdempotencyStore`] on PostgreSQL, so a retry sent to any replica meets the same key.
//!
//! A reservation is one short transaction: an upsert that either creates the key's row (a new
//! key: the request proceeds) or locks the existing one and returns it; the domain's
//! [`IdempotencyPolicy::decide`] then reads it, and a take-over (expired or abandoned key) is
//! written before COMMIT. Concurrent reservations of one key queue on the row lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl};
use warden_domain::ports::{IdempotencyStore, StoreError};
use warden_domain::{
    Fingerprint, IdempotencyDecision, IdempotencyPolicy, IdempotencyRecord, IdempotencyScope,
    StoredResponse,
};

use crate::errors::from_diesel;
use crate::prepared::Prepared;
use crate::PgStore;

/// Bounds the wait for a row another reservation holds, and the transaction itself.
const BOUND: &str = "\
SELECT set_config('lock_timeout', '5s', true),
       set_config('idle_in_transaction_session_timeout', '10s', true)";

/// $1 actor, $2 route, $3 key, $4 fingerprint, $5 now. Creates the row in flight, or locks the
/// existing one and returns it unchanged (`inserted` tells which).
const RESERVE: &str = "\
INSERT INTO idempotency_keys AS k (actor, route, idem_key, fingerprint, reserved_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (actor, route, idem_key) DO UPDATE SET actor = k.actor
RETURNING (k.xmax = 0) AS inserted, k.fingerprint, k.reserved_at, k.status_code, k.body";

/// $1..$3 the scope, $4 fingerprint, $5 now: takes over an expired or abandoned row.
const TAKE_OVER: &str = "\
UPDATE idempotency_keys
   SET fingerprint = $4, reserved_at = $5, status_code = NULL, body = NULL
 WHERE actor = $1 AND route = $2 AND idem_key = $3";

/// $1..$3 the scope, $4 reserved at, $5 status, $6 body.
const COMPLETE: &str = "\
UPDATE idempotency_keys SET status_code = $5, body = $6
 WHERE actor = $1 AND route = $2 AND idem_key = $3 AND reserved_at = $4
   AND status_code IS NULL";

/// $1..$3 the scope, $4 reserved at.
const RELEASE: &str = "\
DELETE FROM idempotency_keys
 WHERE actor = $1 AND route = $2 AND idem_key = $3 AND reserved_at = $4
   AND status_code IS NULL";

/// $1 reserved before, $2 limit.
const PURGE: &str = "\
DELETE FROM idempotency_keys WHERE ctid IN (
    SELECT ctid FROM idempotency_keys WHERE reserved_at < $1 LIMIT $2)";

#[derive(Debug, QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Bool)]
    inserted: bool,
    #[diesel(sql_type = Text)]
    fingerprint: String,
    #[diesel(sql_type = Timestamptz)]
    reserved_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Integer>)]
    status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
}

impl KeyRow {
    fn record(self) -> IdempotencyRecord {
        IdempotencyRecord {
            fingerprint: Fingerprint::from_stored(self.fingerprint),
            reserved_at: self.reserved_at,
            response: match (self.status_code, self.body) {
                (Some(status), Some(body)) => Some(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }),
                _ => None,
            },
        }
    }
}

/// The scope as stored: (actor, route, key), NUL-free (keys are visible ASCII; actor and
/// route come from the host).
fn parts(scope: &IdempotencyScope) -> [String; 3] {
    [scope.actor(), scope.route(), scope.key().as_str()].map(|s| s.replace('\0', "\u{FFFD}"))
}

/// A lock wait that ran out is worth retrying: `Unavailable`.
fn step_error(err: diesel::result::Error) -> StoreError {
    match &err {
        diesel::result::Error::DatabaseError(_, info)
            if info.message().contains("lock timeout") =>
        {
            StoreError::unavailable(err)
        }
        _ => from_diesel(err),
    }
}

/// One step's work on a connection.
type Step<'c, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<T, diesel::result::Error>> + Send + 'c>,
>;

impl PgStore {
    /// Runs `op` on a pooled connection as a task of the runtime driving that connection, so a
    /// caller that gives up never leaves a transaction half-way on a pooled connection.
    async fn idempotency_step<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut diesel_async::AsyncPgConnection) -> Step<'c, T> + Send + 'static,
    {
        let mut conn = self.conn().await?;
        self.spawn(async move { op(&mut conn).await.map_err(step_error) })
            .await
            .map_err(|err| StoreError::other(anyhow::Error::new(err).context("idempotency task")))?
    }
}

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn reserve(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyDecision, StoreError> {
        let [actor, route, key] = parts(scope);
        let fingerprint = fingerprint.clone();
        self.idempotency_step(move |conn| {
            Box::pin(conn.transaction(async move |conn| {
                Prepared(diesel::sql_query(BOUND)).execute(conn).await?;
                let row: KeyRow = Prepared(
                    diesel::sql_query(RESERVE)
                        .bind::<Text, _>(&actor)
                        .bind::<Text, _>(&route)
                        .bind::<Text, _>(&key)
                        .bind::<Text, _>(fingerprint.as_str())
                        .bind::<Timestamptz, _>(now),
                )
                .get_result(conn)
                .await?;
                if row.inserted {
                    // A key never seen: the policy's answer to "no record".
                    return Ok(IdempotencyPolicy::decide(None, &fingerprint, now));
                }
                let existing = row.record();
                let decision = IdempotencyPolicy::decide(Some(&existing), &fingerprint, now);
                if decision == IdempotencyDecision::Proceed {
                    Prepared(
                        diesel::sql_query(TAKE_OVER)
                            .bind::<Text, _>(&actor)
                            .bind::<Text, _>(&route)
                            .bind::<Text, _>(&key)
                            .bind::<Text, _>(fingerprint.as_str())
                            .bind::<Timestamptz, _>(now),
                    )
                    .execute(conn)
                    .await?;
                }
                Ok(decision)
            }))
        })
        .await
    }

    async fn complete(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let [actor, route, key] = parts(scope);
        let (status, body) = (i32::from(response.status), response.body.replace('\0', ""));
        self.idempotency_step(move |conn| {
            Box::pin(async move {
                Prepared(
                    diesel::sql_query(COMPLETE)
                        .bind::<Text, _>(&actor)
                        .bind::<Text, _>(&route)
                        .bind::<Text, _>(&key)
                        .bind::<Timestamptz, _>(reserved_at)
                        .bind::<Integer, _>(status)
                        .bind::<Text, _>(&body),
                )
                .execute(conn)
                .await
                .map(drop)
            })
        })
        .await
    }

    async fn release(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let [actor, route, key] = parts(scope);
        self.idempotency_step(move |conn| {
            Box::pin(async move {
                Prepared(
                    diesel::sql_query(RELEASE)
                        .bind::<Text, _>(&actor)
                        .bind::<Text, _>(&route)
                        .bind::<Text, _>(&key)
                        .bind::<Timestamptz, _>(reserved_at),
                )
                .execute(conn)
                .await
                .map(drop)
            })
        })
        .await
    }

    async fn purge_idempotency(
        &self,
        reserved_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.idempotency_step(move |conn| {
            Box::pin(async move {
                Prepared(
                    diesel::sql_query(PURGE)
                        .bind::<Timestamptz, _>(reserved_before)
                        .bind::<BigInt, _>(i64::from(limit)),
                )
                .execute(conn)
                .await
                .map(|n| n as u64)
            })
        })
        .await
    }
}
