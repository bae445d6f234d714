//! [`LoginAttempts`] on PostgreSQL, so every replica draws on one budget per client.
//!
//! Each step is one short transaction: lock the client's row and the pair's row (creating them
//! when missing; always the client's first, so concurrent steps queue instead of deadlocking),
//! let the domain's [`ThrottlePolicy`] decide, write its decision. Five round trips (BEGIN,
//! time limits, lock, write, COMMIT); the policy is never restated in SQL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use warden_domain::ports::{AttemptKey, Lockouts, LoginAttempts, Release, Reservation, StoreError};
use warden_domain::{AttemptRecord, AttemptRecords, ThrottlePolicy};

use crate::errors::from_diesel;
use crate::prepared::Prepared;
use crate::PgStore;

/// Bounds the step's waits: for a row lock held by another step, and for this transaction
/// should its process stall half-way with the rows locked.
const BOUND: &str = "\
SELECT set_config('lock_timeout', '5s', true),
       set_config('idle_in_transaction_session_timeout', '10s', true)";

/// $1 client, $2 account, $3 now. Returns both rows, locked until the transaction ends; a row
/// with no attempts is one just created (or one left at zero), i.e. no record.
const LOCK: &str = "\
INSERT INTO login_attempts AS a (client, account, attempts, first_at, blocked_until, expires_at)
VALUES ($1, '', 0, $3, NULL, $3), ($1, $2, 0, $3, NULL, $3)
ON CONFLICT (client, account) DO UPDATE SET attempts = a.attempts
RETURNING account, attempts, first_at, blocked_until";

/// $1 client; then for the client's row ($2 keep, $3 attempts, $4 first, $5 blocked, $6
/// expires) and the pair's ($7 account, $8 keep, ... $12). A row not kept is deleted.
const WRITE: &str = "\
WITH decided (account, keep, attempts, first_at, blocked_until, expires_at) AS (
    VALUES ('', $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)
), dropped AS (
    DELETE FROM login_attempts a USING decided d
     WHERE a.client = $1 AND a.account = d.account AND NOT d.keep
)
UPDATE login_attempts a
   SET attempts = d.attempts, first_at = d.first_at, blocked_until = d.blocked_until,
       expires_at = d.expires_at
  FROM decided d
 WHERE a.client = $1 AND a.account = d.account AND d.keep";

/// $1 now. Forgets rows whose window and lockout are over, a bounded batch at a time.
const PRUNE: &str = "\
DELETE FROM login_attempts WHERE ctid IN (
    SELECT ctid FROM login_attempts WHERE expires_at <= $1 LIMIT 1000)";

/// $1 account (as stored), $2 now. The lockouts in force on the account's pairs (read only).
const LOCKOUTS: &str = "\
SELECT count(*)::int4 AS clients, max(blocked_until) AS until
  FROM login_attempts WHERE account = $1 AND blocked_until > $2";

#[derive(Debug, QueryableByName)]
struct LockoutsRow {
    #[diesel(sql_type = Integer)]
    clients: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    until: Option<DateTime<Utc>>,
}

/// Prune once per this many reservations (per process).
const PRUNE_EVERY: u64 = 64;

#[derive(Debug, QueryableByName)]
struct AttemptRow {
    #[diesel(sql_type = Text)]
    account: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    first_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    blocked_until: Option<DateTime<Utc>>,
}

impl AttemptRow {
    fn record(&self) -> Option<AttemptRecord> {
        (self.attempts > 0).then(|| AttemptRecord {
            count: u32::try_from(self.attempts).unwrap_or(0),
            first: self.first_at,
            blocked_until: self.blocked_until,
        })
    }
}

/// [`LoginAttempts`] over a [`PgStore`]'s pool. Cheap to clone; clones share the prune counter.
#[derive(Debug, Clone)]
pub struct PgLoginAttempts {
    store: PgStore,
    policy: ThrottlePolicy,
    reservations: Arc<AtomicU64>,
}

impl PgLoginAttempts {
    pub fn new(store: PgStore, policy: ThrottlePolicy) -> Self {
        Self {
            store,
            policy,
            reservations: Arc::default(),
        }
    }

    /// Locks both records, applies `decide` and writes its outcome, in one transaction that
    /// runs to completion even if the caller gives up (so no transaction is left open on a
    /// pooled connection).
    async fn step<T: Send + 'static>(
        &self,
        key: &AttemptKey,
        now: DateTime<Utc>,
        decide: impl FnOnce(AttemptRecords) -> (AttemptRecords, T) + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.store.conn().await?;
        let (key, policy) = (key.clone(), self.policy);
        self.store
            .spawn(async move { transact(conn, key, now, policy, decide).await })
            .await
            .map_err(|err| {
                StoreError::other(anyhow::Error::new(err).context("login attempts task"))
            })?
    }

    async fn prune(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.store.conn().await?;
        Prepared(diesel::sql_query(PRUNE).bind::<Timestamptz, _>(now))
            .execute(&mut conn)
            .await
            .map(drop)
            .map_err(from_diesel)
    }
}

/// How a key is stored: the client as is, the account after `=` (so that no account, not even
/// an empty one, names the client's own row, `''`), and U+FFFD for NUL, which PostgreSQL text
/// cannot hold (keys that then coincide only share a budget).
fn stored(key: &AttemptKey) -> (String, String) {
    let clean = |s: &str| s.replace('\0', "\u{FFFD}");
    (clean(key.client()), format!("={}", clean(key.account())))
}

async fn transact<T: Send>(
    mut conn: Object<AsyncPgConnection>,
    key: AttemptKey,
    now: DateTime<Utc>,
    policy: ThrottlePolicy,
    decide: impl FnOnce(AttemptRecords) -> (AttemptRecords, T) + Send,
) -> Result<T, StoreError> {
    conn.transaction(async |conn| {
        Prepared(diesel::sql_query(BOUND)).execute(conn).await?;
        let (client, account) = stored(&key);
        let rows = Prepared(
            diesel::sql_query(LOCK)
                .bind::<Text, _>(&client)
                .bind::<Text, _>(&account)
                .bind::<Timestamptz, _>(now),
        )
        .load::<AttemptRow>(conn)
        .await?;
        let find = |account: &str| rows.iter().find(|r| r.account == account)?.record();
        let before = AttemptRecords {
            client: find(""),
            pair: find(&account),
        };
        let (after, answer) = decide(before);
        let expires = |r: Option<AttemptRecord>| r.map_or(now, |r| policy.expires_at(&r));
        let count =
            |r: Option<AttemptRecord>| r.map_or(0, |r| i32::try_from(r.count).unwrap_or(i32::MAX));
        Prepared(
            diesel::sql_query(WRITE)
                .bind::<Text, _>(&client)
                .bind::<Bool, _>(after.client.is_some())
                .bind::<Integer, _>(count(after.client))
                .bind::<Timestamptz, _>(after.client.map_or(now, |r| r.first))
                .bind::<Nullable<Timestamptz>, _>(after.client.and_then(|r| r.blocked_until))
                .bind::<Timestamptz, _>(expires(after.client))
                .bind::<Text, _>(&account)
                .bind::<Bool, _>(after.pair.is_some())
                .bind::<Integer, _>(count(after.pair))
                .bind::<Timestamptz, _>(after.pair.map_or(now, |r| r.first))
                .bind::<Nullable<Timestamptz>, _>(after.pair.and_then(|r| r.blocked_until))
                .bind::<Timestamptz, _>(expires(after.pair)),
        )
        .execute(conn)
        .await?;
        Ok::<_, diesel::result::Error>(answer)
    })
    .await
    .map_err(step_error)
}

/// A lock wait that ran out (a client's steps queueing behind each other) is worth retrying:
/// `Unavailable`, so a 503 with `Retry-After`, not a 500.
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

#[async_trait]
impl LoginAttempts for PgLoginAttempts {
    async fn reserve(
        &self,
        key: &AttemptKey,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        if self.reservations.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == 0 {
            self.prune(now).await?;
        }
        let policy = self.policy;
        self.step(key, now, move |before| match policy.reserve(before, now) {
            Ok(after) => (after, Reservation::Granted),
            Err(retry_after_seconds) => (
                before,
                Reservation::Refused {
                    retry_after_seconds,
                },
            ),
        })
        .await
    }

    async fn release(
        &self,
        key: &AttemptKey,
        why: Release,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let policy = self.policy;
        self.step(key, now, move |before| (policy.release(before, why), ()))
            .await
    }

    async fn lockouts(&self, account: &str, now: DateTime<Utc>) -> Result<Lockouts, StoreError> {
        let (_, account) = stored(&AttemptKey::new(account, ""));
        let mut conn = self.store.conn().await?;
        let row = Prepared(
            diesel::sql_query(LOCKOUTS)
                .bind::<Text, _>(&account)
                .bind::<Timestamptz, _>(now),
        )
        .get_result::<LockoutsRow>(&mut conn)
        .await
        .map_err(from_diesel)?;
        Ok(Lockouts {
            clients: u32::try_from(row.clients).unwrap_or(0),
            until: row.until,
        })
    }
}
