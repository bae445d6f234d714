//! [`Outbox`] for [`PgStore`]: every method is one statement (one round trip). Claims use
//! `FOR UPDATE SKIP LOCKED`, so any number of workers, in any number of processes, never claim
//! the same entry twice within a lease.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{
    Outbox, OutboxEntry, OutboxStats, OutboxStatus, PendingNotification, RetryNow, StoreError,
};
use warden_domain::{
    display_name, Authorized, EmailAddress, Guarded, Notification, Reason, StatusAction,
};

use crate::errors::{corrupt, from_diesel};
use crate::prepared::Prepared;
use crate::rows::{ClaimedRow, StatsRow};
use crate::PgStore;

/// $1 now, $2 lease end, $3 limit. Due entries, oldest due first; locked ones (being claimed
/// right now by another worker) are skipped, and one claimed by a transaction that committed
/// meanwhile is re-checked and no longer due.
const CLAIM_DUE: &str = "\
WITH due AS MATERIALIZED (
    SELECT id, next_attempt_at FROM outbox
     WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
     ORDER BY next_attempt_at, id
     LIMIT $3
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE outbox SET next_attempt_at = $2, leased_until = $2, attempts = outbox.attempts + 1
      FROM due
     WHERE outbox.id = due.id
 RETURNING outbox.id, outbox.action, outbox.recipient, outbox.recipient_first_name, outbox.reason,
           outbox.occurred_at, outbox.attempts, outbox.suspended_until, due.next_attempt_at AS due_at
)
SELECT id, action, recipient, recipient_first_name, reason, occurred_at, attempts, suspended_until
  FROM claimed ORDER BY due_at, id";

// The statements below change entries by id, and leave finished ones alone (a late update
// changes nothing). "Unfinished" is written `coalesce(sent_at, failed_at) IS NULL` on purpose:
// spelled `sent_at IS NULL AND failed_at IS NULL`, it matches the predicate of the partial
// index `outbox_pending`, and PostgreSQL's generic plan then picked that index (equal cost
// estimates) and walked every pending entry to find one id: about 5 ms per delivered mail
// with a backlog of 20,000, instead of one primary-key lookup (see `plans_tests.rs`).

/// $1 id, $2 sent at. Committed without waiting for the WAL flush: the mail is already out,
/// and the mark can only be lost if PostgreSQL itself crashes in the next fraction of a second
/// (a Warden crash loses nothing); the mail then goes out once more with the same Message-ID,
/// which at-least-once delivery allows. Each mail thus costs no disk wait (docs/benchmarks.md).
const MARK_SENT: &str = "\
UPDATE outbox SET sent_at = $2, leased_until = NULL
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
 WHERE id = $1 AND coalesce(sent_at, failed_at) IS NULL";

/// $1 id, $2 next attempt, $3 error.
const RETRY_LATER: &str = "\
UPDATE outbox SET next_attempt_at = $2, leased_until = NULL, last_error = $3
 WHERE id = $1 AND coalesce(sent_at, failed_at) IS NULL";

/// $1 id, $2 failed at, $3 error.
const GIVE_UP: &str = "\
UPDATE outbox SET failed_at = $2, leased_until = NULL, last_error = $3
 WHERE id = $1 AND coalesce(sent_at, failed_at) IS NULL";

/// $1 ids, $2 new lease end. Only leases a claim still holds: sending, giving up and
/// rescheduling each end the lease.
const RENEW_LEASE: &str = "\
UPDATE outbox SET next_attempt_at = $2, leased_until = $2
 WHERE id = ANY($1) AND coalesce(sent_at, failed_at) IS NULL AND leased_until IS NOT NULL";

/// $1 sent before, $2 limit. Oldest first, in small batches (see `PURGE_BATCH`).
const PURGE_SENT: &str = "\
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE sent_at < $1 ORDER BY sent_at LIMIT $2 FOR UPDATE SKIP LOCKED
)";

/// $1 status, $2 cursor (or NULL), $3 limit. Newest first.
const LIST: &str = "\
SELECT id, action, recipient, recipient_first_name, reason, occurred_at, attempts, next_attempt_at,
       last_error, sent_at IS NOT NULL AS sent, failed_at IS NOT NULL AS failed, suspended_until
  FROM outbox
 WHERE CASE $1 WHEN 'failed' THEN failed_at IS NOT NULL
               WHEN 'sent' THEN sent_at IS NOT NULL
               ELSE sent_at IS NULL AND failed_at IS NULL END
   AND ($2::uuid IS NULL OR id < $2)
 ORDER BY id DESC
 LIMIT $3";

/// $1 id, $2 now. Whether the entry exists, whether it was sent, and whether it was made due
/// (not while a claim's lease on it runs: it is being sent).
const RETRY_NOW: &str = "\
WITH updated AS (
    UPDATE outbox SET failed_at = NULL, next_attempt_at = $2
     WHERE id = $1 AND sent_at IS NULL AND (leased_until IS NULL OR leased_until <= $2)
 RETURNING id
)
SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $1) AS found,
       EXISTS (SELECT 1 FROM outbox WHERE id = $1 AND sent_at IS NOT NULL) AS sent,
       EXISTS (SELECT 1 FROM updated) AS queued";

/// Pending counts through the `outbox_pending` partial index.
const STATS: &str = "\
SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL) AS pending,
       (SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL) AS failed";

/// Longest error text kept on an entry.
const MAX_ERROR_CHARS: usize = 2000;

#[async_trait]
impl Outbox for PgStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingNotification>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(CLAIM_DUE)
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(lease_until)
                .bind::<BigInt, _>(i64::from(limit)),
        )
        .load::<ClaimedRow>(&mut conn)
        .await
        .map_err(from_diesel)?
        .into_iter()
        .map(PendingNotification::try_from)
        .collect::<anyhow::Result<_>>()
        .map_err(corrupt)
    }

    async fn renew_lease(
        &self,
        ids: &[Uuid],
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(RENEW_LEASE)
                .bind::<Array<SqlUuid>, _>(ids)
                .bind::<Timestamptz, _>(lease_until),
        )
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(from_diesel)
    }

    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(MARK_SENT)
                .bind::<SqlUuid, _>(id)
                .bind::<Timestamptz, _>(at),
        )
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(from_diesel)
    }

    async fn retry_later(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(RETRY_LATER)
                .bind::<SqlUuid, _>(id)
                .bind::<Timestamptz, _>(next_attempt_at)
                .bind::<Text, _>(clip(error)),
        )
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(from_diesel)
    }

    async fn give_up(&self, id: Uuid, at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(GIVE_UP)
                .bind::<SqlUuid, _>(id)
                .bind::<Timestamptz, _>(at)
                .bind::<Text, _>(clip(error)),
        )
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(from_diesel)
    }

    async fn purge_sent(&self, sent_before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(PURGE_SENT)
                .bind::<Timestamptz, _>(sent_before)
                .bind::<BigInt, _>(i64::from(limit)),
        )
        .execute(&mut conn)
        .await
        .map(|deleted| u64::try_from(deleted).unwrap_or_default())
        .map_err(from_diesel)
    }

    async fn list(
        &self,
        status: OutboxStatus,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut conn = self.conn().await?;
        Prepared(
            diesel::sql_query(LIST)
                .bind::<Text, _>(status.as_str())
                .bind::<Nullable<SqlUuid>, _>(before)
                .bind::<BigInt, _>(i64::from(limit)),
        )
        .load::<EntryRow>(&mut conn)
        .await
        .map_err(from_diesel)?
        .into_iter()
        .map(OutboxEntry::try_from)
        .collect::<anyhow::Result<_>>()
        .map_err(corrupt)
    }

    async fn retry_now(&self, id: Uuid, by: &Authorized) -> Result<Guarded<RetryNow>, StoreError> {
        // The admin's row is locked FOR SHARE until the retry commits (changes::authorized).
        let row = crate::changes::authorized(self, by, move |conn, by| {
            Box::pin(async move {
                let row = Prepared(
                    diesel::sql_query(RETRY_NOW)
                        .bind::<SqlUuid, _>(id)
                        .bind::<Timestamptz, _>(by.at),
                )
                .get_result::<RetryRow>(conn)
                .await?;
                Ok((row, None))
            })
        })
        .await?;
        Ok(row.map(|row| match (row.found, row.sent, row.queued) {
            (false, _, _) => RetryNow::NotFound,
            (true, true, _) => RetryNow::AlreadySent,
            (true, false, true) => RetryNow::Queued,
            (true, false, false) => RetryNow::InFlight,
        }))
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        let mut conn = self.conn().await?;
        let row = Prepared(diesel::sql_query(STATS))
            .get_result::<StatsRow>(&mut conn)
            .await
            .map_err(from_diesel)?;
        OutboxStats::try_from(row).map_err(corrupt)
    }
}

#[derive(QueryableByName)]
struct RetryRow {
    #[diesel(sql_type = Bool)]
    found: bool,
    #[diesel(sql_type = Bool)]
    sent: bool,
    #[diesel(sql_type = Bool)]
    queued: bool,
}

#[derive(QueryableByName)]
struct EntryRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    recipient_first_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Bool)]
    sent: bool,
    #[diesel(sql_type = Bool)]
    failed: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    suspended_until: Option<DateTime<Utc>>,
}

impl TryFrom<EntryRow> for OutboxEntry {
    type Error = anyhow::Error;

    fn try_from(row: EntryRow) -> anyhow::Result<Self> {
        let to = EmailAddress::parse(&row.recipient).context("stored recipient")?;
        Ok(OutboxEntry {
            notification: Notification {
                id: row.id,
                action: StatusAction::parse(&row.action).context("stored action")?,
                name: display_name(&row.recipient_first_name, &to).to_owned(),
                to,
                reason: row
                    .reason
                    .as_deref()
                    .map(Reason::parse)
                    .transpose()
                    .context("stored reason")?
                    .flatten(),
                occurred_at: row.occurred_at,
                until: row.suspended_until,
            },
            attempts: u32::try_from(row.attempts).context("stored attempts")?,
            last_error: row.last_error,
            next_attempt_at: row.next_attempt_at,
            status: match (row.sent, row.failed) {
                (true, _) => OutboxStatus::Sent,
                (false, true) => OutboxStatus::Failed,
                (false, false) => OutboxStatus::Pending,
            },
        })
    }
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_errors_on_a_char_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_ERROR_CHARS + 5);
        assert_eq!(clip(&long).chars().count(), MAX_ERROR_CHARS);
    }
}

#[cfg(test)]
#[path = "plans_tests.rs"]
mod plans_tests;
