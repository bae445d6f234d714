//! [`IdempotencyStore`] on SQLite. A reservation is one `BEGIN IMMEDIATE` transaction: read the
//! key's row, let [`IdempotencyPolicy::decide`], write its decision; so two processes sharing
//! the file reserve one at a time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use warden_domain::ports::{IdempotencyStore, StoreError};
use warden_domain::{
    Fingerprint, IdempotencyDecision, IdempotencyPolicy, IdempotencyRecord, IdempotencyScope,
    StoredResponse,
};

use crate::schema::idempotency_keys as keys;
use crate::store::SqliteStore;
use crate::timestamp::Ts;

type Row = (String, Ts, Option<i32>, Option<String>);

/// The scope as stored: (actor, route, key).
fn parts(scope: &IdempotencyScope) -> (String, String, String) {
    (
        scope.actor().to_owned(),
        scope.route().to_owned(),
        scope.key().as_str().to_owned(),
    )
}

fn record((fingerprint, reserved_at, status, body): Row) -> IdempotencyRecord {
    IdempotencyRecord {
        fingerprint: Fingerprint::from_stored(fingerprint),
        reserved_at: reserved_at.0,
        response: match (status, body) {
            (Some(status), Some(body)) => Some(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body,
            }),
            _ => None,
        },
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn reserve(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyDecision, StoreError> {
        let (actor, route, key) = parts(scope);
        let fingerprint = fingerprint.clone();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let existing: Option<Row> = keys::table
                    .select((
                        keys::fingerprint,
                        keys::reserved_at,
                        keys::status_code,
                        keys::body,
                    ))
                    .filter(keys::actor.eq(&actor))
                    .filter(keys::route.eq(&route))
                    .filter(keys::idem_key.eq(&key))
                    .first::<(String, Ts, Option<i32>, Option<String>)>(conn)
                    .optional()?;
                let existing = existing.map(record);
                let decision = IdempotencyPolicy::decide(existing.as_ref(), &fingerprint, now);
                if decision == IdempotencyDecision::Proceed {
                    diesel::insert_into(keys::table)
                        .values((
                            keys::actor.eq(&actor),
                            keys::route.eq(&route),
                            keys::idem_key.eq(&key),
                            keys::fingerprint.eq(fingerprint.as_str()),
                            keys::reserved_at.eq(Ts(now)),
                            keys::status_code.eq(None::<i32>),
                            keys::body.eq(None::<String>),
                        ))
                        .on_conflict((keys::actor, keys::route, keys::idem_key))
                        .do_update()
                        .set((
                            keys::fingerprint.eq(excluded(keys::fingerprint)),
                            keys::reserved_at.eq(excluded(keys::reserved_at)),
                            keys::status_code.eq(None::<i32>),
                            keys::body.eq(None::<String>),
                        ))
                        .execute(conn)?;
                }
                Ok(decision)
            })
        })
        .await
    }

    async fn complete(
        &self,
        scope: &IdempotencyScope,
        reserved_at: DateTime<Utc>,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let (actor, route, key) = parts(scope);
        let (status, body) = (i32::from(response.status), response.body.clone());
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                diesel::update(
                    keys::table
                        .filter(keys::actor.eq(actor))
                        .filter(keys::route.eq(route))
                        .filter(keys::idem_key.eq(key))
                        .filter(keys::reserved_at.eq(Ts(reserved_at)))
                        .filter(keys::status_code.is_null()),
                )
                .set((keys::status_code.eq(status), keys::body.eq(body)))
                .execute(conn)
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
        let (actor, route, key) = parts(scope);
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                diesel::delete(
                    keys::table
                        .filter(keys::actor.eq(actor))
                        .filter(keys::route.eq(route))
                        .filter(keys::idem_key.eq(key))
                        .filter(keys::reserved_at.eq(Ts(reserved_at)))
                        .filter(keys::status_code.is_null()),
                )
                .execute(conn)
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
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let expired: Vec<(String, String, String)> = keys::table
                    .select((keys::actor, keys::route, keys::idem_key))
                    .filter(keys::reserved_at.lt(Ts(reserved_before)))
                    .limit(i64::from(limit.min(1000)))
                    .load(conn)?;
                let mut deleted = 0_u64;
                for (actor, route, key) in expired {
                    deleted += diesel::delete(
                        keys::table
                            .filter(keys::actor.eq(actor))
                            .filter(keys::route.eq(route))
                            .filter(keys::idem_key.eq(key)),
                    )
                    .execute(conn)? as u64;
                }
                Ok(deleted)
            })
        })
        .await
    }
}
