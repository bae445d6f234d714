//! [`Outbox`] on SQLite. A claim is one `BEGIN IMMEDIATE` transaction that picks the due rows
//! and pushes their `next_attempt_at` to the end of the lease, so no two claims overlap.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use uuid::Uuid;
use warden_domain::ports::{
    Outbox, OutboxEntry, OutboxStats, OutboxStatus, PendingNotification, RetryNow, StoreError,
};
use warden_domain::{Authorized, Guarded};

use crate::errors::corrupt;
use crate::rows::OutboxRow;
use crate::schema::outbox;
use crate::store::SqliteStore;
use crate::timestamp::Ts;

/// The most notifications one claim returns, whatever `limit` asks ("up to `limit`"); keeps the
/// claimed ids within SQLite's bound-parameter limit.
const MAX_CLAIM: u32 = 1000;

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        let limit = i64::from(limit.min(MAX_CLAIM));
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let due: Vec<String> = outbox::table
                    .select(outbox::id)
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::failed_at.is_null())
                    .filter(outbox::next_attempt_at.le(Ts(now)))
                    .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
                    .limit(limit)
                    .load(conn)?;
                if due.is_empty() {
                    return Ok(Vec::new());
                }
                let mut rows: Vec<OutboxRow> =
                    diesel::update(outbox::table.filter(outbox::id.eq_any(&due)))
                        .set((
                            outbox::attempts.eq(outbox::attempts + 1),
                            outbox::next_attempt_at.eq(Ts(lease_until)),
                            outbox::leased_until.eq(Some(Ts(lease_until))),
                        ))
                        .returning(OutboxRow::as_returning())
                        .get_results(conn)?;
                let rank: HashMap<&str, usize> = due
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id.as_str(), i))
                    .collect();
                rows.sort_by_key(|row| rank.get(row.id.as_str()).copied());
                rows.into_iter()
                    .map(|row| PendingNotification::try_from(row).map_err(corrupt))
                    .collect()
            })
        })
        .await
    }

    async fn renew_lease(
        &self,
        ids: &[Uuid],
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = ids
            .iter()
            .take(MAX_CLAIM as usize)
            .map(Uuid::to_string)
            .collect();
        self.write(move |conn| {
            diesel::update(
                outbox::table
                    .filter(outbox::id.eq_any(ids))
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::failed_at.is_null())
                    // Still held by a claim: a rescheduled entry's lease has ended.
                    .filter(outbox::leased_until.is_not_null()),
            )
            .set((
                outbox::next_attempt_at.eq(Ts(lease_until)),
                outbox::leased_until.eq(Some(Ts(lease_until))),
            ))
            .execute(conn)
        })
        .await
    }

    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn| {
            diesel::update(unfinished(id.to_string()))
                .set((
                    outbox::sent_at.eq(Ts(at)),
                    outbox::leased_until.eq(None::<Ts>),
                ))
                .execute(conn)
        })
        .await
    }

    async fn retry_later(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(move |conn| {
            diesel::update(unfinished(id.to_string()))
                .set((
                    outbox::next_attempt_at.eq(Ts(next_attempt_at)),
                    outbox::leased_until.eq(None::<Ts>),
                    outbox::last_error.eq(error),
                ))
                .execute(conn)
        })
        .await
    }

    async fn give_up(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(move |conn| {
            diesel::update(unfinished(id.to_string()))
                .set((
                    outbox::failed_at.eq(Ts(at)),
                    outbox::leased_until.eq(None::<Ts>),
                    outbox::last_error.eq(error),
                ))
                .execute(conn)
        })
        .await
    }

    async fn purge_sent(&self, sent_before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let limit = i64::from(limit.min(MAX_CLAIM));
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let old: Vec<String> = outbox::table
                    .select(outbox::id)
                    .filter(outbox::sent_at.lt(Ts(sent_before)))
                    .order(outbox::sent_at.asc())
                    .limit(limit)
                    .load(conn)?;
                let deleted =
                    diesel::delete(outbox::table.filter(outbox::id.eq_any(old))).execute(conn)?;
                Ok(u64::try_from(deleted).unwrap_or_default())
            })
        })
        .await
    }

    async fn list(
        &self,
        status: OutboxStatus,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let limit = i64::from(limit.min(MAX_CLAIM));
        self.run(move |conn| {
            let mut query = outbox::table
                .select((
                    OutboxRow::as_select(),
                    outbox::next_attempt_at,
                    outbox::last_error,
                    outbox::sent_at.is_not_null(),
                    outbox::failed_at.is_not_null(),
                ))
                .order(outbox::id.desc())
                .limit(limit)
                .into_boxed();
            query = match status {
                OutboxStatus::Pending => query
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::failed_at.is_null()),
                OutboxStatus::Failed => query.filter(outbox::failed_at.is_not_null()),
                OutboxStatus::Sent => query.filter(outbox::sent_at.is_not_null()),
            };
            if let Some(before) = before {
                query = query.filter(outbox::id.lt(before.to_string()));
            }
            query
                .load::<(OutboxRow, Ts, Option<String>, bool, bool)>(conn)?
                .into_iter()
                .map(entry)
                .collect()
        })
        .await
    }

    async fn retry_now(&self, id: Uuid, by: &Authorized) -> Result<Guarded<RetryNow>, StoreError> {
        let id = id.to_string();
        let by = by.clone();
        let now = by.at;
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                crate::changes::authorized(conn, &by, |conn| {
                    let found: Option<(bool, Option<Ts>)> = outbox::table
                        .find(&id)
                        .select((outbox::sent_at.is_not_null(), outbox::leased_until))
                        .first(conn)
                        .optional()?;
                    let outcome = match found {
                        None => RetryNow::NotFound,
                        Some((true, _)) => RetryNow::AlreadySent,
                        // A claim's lease runs: it is being sent right now.
                        Some((false, Some(Ts(until)))) if until > now => RetryNow::InFlight,
                        Some((false, _)) => {
                            diesel::update(outbox::table.find(&id))
                                .set((
                                    outbox::failed_at.eq(None::<Ts>),
                                    outbox::next_attempt_at.eq(Ts(now)),
                                ))
                                .execute(conn)?;
                            RetryNow::Queued
                        }
                    };
                    Ok((outcome, None))
                })
            })
        })
        .await
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        self.run(|conn| {
            conn.transaction(|conn| {
                let pending: i64 = outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::failed_at.is_null())
                    .count()
                    .get_result(conn)?;
                let failed: i64 = outbox::table
                    .filter(outbox::failed_at.is_not_null())
                    .count()
                    .get_result(conn)?;
                Ok(OutboxStats {
                    pending: u64::try_from(pending).unwrap_or_default(),
                    failed: u64::try_from(failed).unwrap_or_default(),
                })
            })
        })
        .await
    }
}

fn entry(
    (row, next_attempt_at, last_error, sent, failed): (OutboxRow, Ts, Option<String>, bool, bool),
) -> QueryResult<OutboxEntry> {
    let pending = PendingNotification::try_from(row).map_err(corrupt)?;
    Ok(OutboxEntry {
        notification: pending.notification,
        attempts: pending.attempts,
        last_error,
        next_attempt_at: next_attempt_at.0,
        status: match (sent, failed) {
            (true, _) => OutboxStatus::Sent,
            (false, true) => OutboxStatus::Failed,
            (false, false) => OutboxStatus::Pending,
        },
    })
}

/// The entry `id` while it is neither sent nor given up on: a late update of a finished entry
/// changes nothing. An unknown id changes nothing either.
#[dsl::auto_type]
fn unfinished(id: String) -> _ {
    outbox::table
        .find(id)
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
}

impl SqliteStore {
    /// One write statement in `BEGIN IMMEDIATE`.
    async fn write<F>(&self, op: F) -> Result<(), StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> QueryResult<usize> + Send + 'static,
    {
        self.run(move |conn| conn.immediate_transaction(op).map(drop))
            .await
    }
}
