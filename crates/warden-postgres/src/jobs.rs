//! [`JobStore`] on PostgreSQL: a job and its items written in one statement; items claimed with
//! a lease under `FOR UPDATE SKIP LOCKED`, so replicas' runners never take the same item.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{JobStore, StoreError};
use warden_domain::{
    Authorized, ClaimedItem, Guarded, ItemResult, Job, JobGrant, JobKind, JobStatus, JobWork,
    NewBulkJob, Reason, UserId,
};

use crate::errors::{corrupt, from_diesel};
use crate::PgStore;

/// $1 id, $2 kind, $3 requested by, $4 token version, $5 valid until, $6 reason, $7 suspend
/// until, $8 total, $9 created at, $10 the user ids in order.
const CREATE: &str = "\
WITH job AS (
    INSERT INTO jobs (id, kind, requested_by, token_version, valid_until, reason, suspend_until,
                      total, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    RETURNING id
)
INSERT INTO job_items (job_id, seq, user_id)
SELECT job.id, ids.ord - 1, ids.user_id
  FROM job, unnest($10::text[]) WITH ORDINALITY AS ids (user_id, ord)";

/// $1 id.
const WORK: &str = "\
SELECT id, requested_by, token_version, valid_until, reason, suspend_until, created_at, total,
       EXISTS (SELECT 1 FROM job_items WHERE job_id = $1 AND attempts > 0) AS started
  FROM jobs WHERE id = $1";

/// $1 id.
const RESULTS: &str = "\
SELECT user_id, status_code, message FROM job_items
 WHERE job_id = $1 AND status_code IS NOT NULL ORDER BY seq";

/// $1 now, $2 lease until, $3 limit.
const CLAIM: &str = "\
WITH picked AS (
    SELECT job_id, seq FROM job_items
     WHERE status_code IS NULL AND (leased_until IS NULL OR leased_until <= $1)
     ORDER BY job_id, seq
     LIMIT $3
       FOR UPDATE SKIP LOCKED
)
UPDATE job_items AS i SET leased_until = $2, attempts = i.attempts + 1
  FROM picked
 WHERE i.job_id = picked.job_id AND i.seq = picked.seq
RETURNING i.job_id, i.seq, i.user_id, i.attempts";

/// $1 job, $2 seq, $3 status, $4 message.
const COMPLETE: &str = "\
UPDATE job_items SET status_code = $3, message = $4, leased_until = NULL
 WHERE job_id = $1 AND seq = $2 AND status_code IS NULL";

#[derive(QueryableByName)]
struct WorkRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    requested_by: Uuid,
    #[diesel(sql_type = Integer)]
    token_version: i32,
    #[diesel(sql_type = Timestamptz)]
    valid_until: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    suspend_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    total: i32,
    #[diesel(sql_type = Bool)]
    started: bool,
}

impl WorkRow {
    fn work(&self) -> Result<JobWork, StoreError> {
        let reason = match &self.reason {
            None => None,
            Some(text) => Reason::parse(text).map_err(bad)?,
        };
        Ok(JobWork {
            id: self.id,
            grant: JobGrant {
                account: UserId::from_uuid(self.requested_by),
                token_version: self.token_version,
                valid_until: self.valid_until,
            },
            reason,
            until: self.suspend_until,
            created_at: self.created_at,
        })
    }
}

#[derive(QueryableByName)]
struct ResultRow {
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Integer)]
    status_code: i32,
    #[diesel(sql_type = Text)]
    message: String,
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = SqlUuid)]
    job_id: Uuid,
    #[diesel(sql_type = Integer)]
    seq: i32,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

fn bad(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    corrupt(anyhow::Error::new(error))
}

fn count(n: usize) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(|_| StoreError::other(format!("count {n} out of range")))
}

#[async_trait]
impl JobStore for PgStore {
    async fn create_job(
        &self,
        job: NewBulkJob,
        by: &Authorized,
    ) -> Result<Guarded<()>, StoreError> {
        let total = count(job.user_ids.len())?;
        // The admin's row is locked FOR SHARE until the job is stored (changes::authorized).
        crate::changes::authorized(self, by, move |conn, _| {
            Box::pin(async move {
                diesel::sql_query(CREATE)
                    .bind::<SqlUuid, _>(job.id)
                    .bind::<Text, _>(JobKind::BulkDeactivate.as_str())
                    .bind::<SqlUuid, _>(*job.grant.account.as_uuid())
                    .bind::<Integer, _>(job.grant.token_version)
                    .bind::<Timestamptz, _>(job.grant.valid_until)
                    .bind::<Nullable<Text>, _>(job.reason.as_ref().map(Reason::as_str))
                    .bind::<Nullable<Timestamptz>, _>(job.until)
                    .bind::<Integer, _>(total)
                    .bind::<Timestamptz, _>(job.created_at)
                    .bind::<Array<Text>, _>(&job.user_ids)
                    .execute(conn)
                    .await?;
                Ok(((), None))
            })
        })
        .await
    }

    async fn find_job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        let mut conn = self.conn().await?;
        let Some(row) = diesel::sql_query(WORK)
            .bind::<SqlUuid, _>(id)
            .get_result::<WorkRow>(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?
        else {
            return Ok(None);
        };
        let results: Vec<ResultRow> = diesel::sql_query(RESULTS)
            .bind::<SqlUuid, _>(id)
            .load(&mut conn)
            .await
            .map_err(from_diesel)?;
        let total = u32::try_from(row.total).map_err(bad)?;
        let results = results
            .into_iter()
            .map(|r| {
                Ok(ItemResult {
                    user_id: r.user_id,
                    status_code: u16::try_from(r.status_code).map_err(bad)?,
                    message: r.message,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let status = if results.len() as u32 >= total {
            JobStatus::Done
        } else if row.started {
            JobStatus::Running
        } else {
            JobStatus::Queued
        };
        Ok(Some(Job {
            id,
            kind: JobKind::BulkDeactivate,
            requested_by: UserId::from_uuid(row.requested_by),
            status,
            total,
            results,
        }))
    }

    async fn job_work(&self, id: Uuid) -> Result<Option<JobWork>, StoreError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(WORK)
            .bind::<SqlUuid, _>(id)
            .get_result::<WorkRow>(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?
            .map(|row| row.work())
            .transpose()
    }

    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedItem>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ClaimRow> = diesel::sql_query(CLAIM)
            .bind::<Timestamptz, _>(now)
            .bind::<Timestamptz, _>(lease_until)
            .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
            .load(&mut conn)
            .await
            .map_err(from_diesel)?;
        let mut items = rows
            .into_iter()
            .map(|row| {
                Ok(ClaimedItem {
                    job: row.job_id,
                    position: u32::try_from(row.seq).map_err(bad)?,
                    user_id: row.user_id,
                    attempts: u32::try_from(row.attempts).map_err(bad)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        items.sort_by_key(|item| (item.job, item.position));
        Ok(items)
    }

    async fn complete_item(
        &self,
        job: Uuid,
        position: u32,
        status_code: u16,
        message: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let changed = diesel::sql_query(COMPLETE)
            .bind::<SqlUuid, _>(job)
            .bind::<Integer, _>(i32::try_from(position).map_err(bad)?)
            .bind::<Integer, _>(i32::from(status_code))
            .bind::<Text, _>(message)
            .execute(&mut conn)
            .await
            .map_err(from_diesel)?;
        Ok(changed > 0)
    }
}
