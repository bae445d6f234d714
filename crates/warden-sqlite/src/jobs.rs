//! [`JobStore`] on SQLite: a job and its items in one `BEGIN IMMEDIATE` transaction; claims
//! too, so two processes sharing the file never lease the same item.

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;
use warden_domain::ports::{JobStore, StoreError};
use warden_domain::{
    Authorized, ClaimedItem, Guarded, ItemResult, Job, JobGrant, JobKind, JobStatus, JobWork,
    NewBulkJob, Reason, UserId,
};

use crate::errors::corrupt;
use crate::schema::{job_items, jobs};
use crate::store::SqliteStore;
use crate::timestamp::Ts;

/// Rows per insert statement (three binds each, well under SQLite's bind limit).
const INSERT_CHUNK: usize = 1000;

type WorkRow = (String, String, i32, Ts, Option<String>, Option<Ts>, Ts, i32);

fn work_of(row: WorkRow) -> QueryResult<(JobWork, u32)> {
    let (id, by, token_version, valid_until, reason, until, created_at, total) = row;
    let id = Uuid::try_parse(&id).map_err(|e| corrupt(anyhow!("stored job id: {e}")))?;
    let account = UserId::parse(&by).map_err(|_| corrupt(anyhow!("stored admin id {by:?}")))?;
    let reason = match reason {
        None => None,
        Some(text) => Reason::parse(&text).map_err(|e| corrupt(anyhow!("stored reason: {e}")))?,
    };
    let total = u32::try_from(total).map_err(|e| corrupt(anyhow!("stored total: {e}")))?;
    Ok((
        JobWork {
            id,
            grant: JobGrant {
                account,
                token_version,
                valid_until: valid_until.0,
            },
            reason,
            until: until.map(|until| until.0),
            created_at: created_at.0,
        },
        total,
    ))
}

fn load_work(conn: &mut SqliteConnection, id: &str) -> QueryResult<Option<(JobWork, u32)>> {
    jobs::table
        .find(id)
        .select((
            jobs::id,
            jobs::requested_by,
            jobs::token_version,
            jobs::valid_until,
            jobs::reason,
            jobs::suspend_until,
            jobs::created_at,
            jobs::total,
        ))
        .first::<WorkRow>(conn)
        .optional()?
        .map(work_of)
        .transpose()
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(
        &self,
        job: NewBulkJob,
        by: &Authorized,
    ) -> Result<Guarded<()>, StoreError> {
        let by = by.clone();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                crate::changes::authorized(conn, &by, |conn| {
                    let id = job.id.to_string();
                    let total = i32::try_from(job.user_ids.len())
                        .map_err(|e| corrupt(anyhow!("job size: {e}")))?;
                    diesel::insert_into(jobs::table)
                        .values((
                            jobs::id.eq(&id),
                            jobs::kind.eq(JobKind::BulkDeactivate.as_str()),
                            jobs::requested_by.eq(job.grant.account.to_string()),
                            jobs::token_version.eq(job.grant.token_version),
                            jobs::valid_until.eq(Ts(job.grant.valid_until)),
                            jobs::reason.eq(job.reason.as_ref().map(|r| r.as_str().to_owned())),
                            jobs::suspend_until.eq(job.until.map(Ts)),
                            jobs::total.eq(total),
                            jobs::created_at.eq(Ts(job.created_at)),
                        ))
                        .execute(conn)?;
                    let rows: Vec<_> = job
                        .user_ids
                        .iter()
                        .zip(0..)
                        .map(|(user_id, seq): (&String, i32)| {
                            (
                                job_items::job_id.eq(id.clone()),
                                job_items::seq.eq(seq),
                                job_items::user_id.eq(user_id.clone()),
                            )
                        })
                        .collect();
                    for chunk in rows.chunks(INSERT_CHUNK) {
                        diesel::insert_into(job_items::table)
                            .values(chunk)
                            .execute(conn)?;
                    }
                    Ok(((), None))
                })
            })
        })
        .await
    }

    async fn find_job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        self.run(move |conn| {
            let key = id.to_string();
            let Some((work, total)) = load_work(conn, &key)? else {
                return Ok(None);
            };
            let started: i64 = job_items::table
                .filter(job_items::job_id.eq(&key))
                .filter(job_items::attempts.gt(0))
                .count()
                .get_result(conn)?;
            let rows: Vec<(String, Option<i32>, Option<String>)> = job_items::table
                .filter(job_items::job_id.eq(&key))
                .filter(job_items::status_code.is_not_null())
                .order(job_items::seq.asc())
                .select((
                    job_items::user_id,
                    job_items::status_code,
                    job_items::message,
                ))
                .load(conn)?;
            let results = rows
                .into_iter()
                .map(|(user_id, status, message)| {
                    let status_code = status
                        .and_then(|s| u16::try_from(s).ok())
                        .ok_or_else(|| corrupt(anyhow!("stored item status {status:?}")))?;
                    Ok(ItemResult {
                        user_id,
                        status_code,
                        message: message.unwrap_or_default(),
                    })
                })
                .collect::<QueryResult<Vec<_>>>()?;
            let status = if results.len() as u32 >= total {
                JobStatus::Done
            } else if started > 0 {
                JobStatus::Running
            } else {
                JobStatus::Queued
            };
            Ok(Some(Job {
                id,
                kind: JobKind::BulkDeactivate,
                requested_by: work.grant.account,
                status,
                total,
                results,
            }))
        })
        .await
    }

    async fn job_work(&self, id: Uuid) -> Result<Option<JobWork>, StoreError> {
        self.run(move |conn| Ok(load_work(conn, &id.to_string())?.map(|(work, _)| work)))
            .await
    }

    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedItem>, StoreError> {
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                let picked: Vec<(String, i32, String, i32)> = job_items::table
                    .filter(job_items::status_code.is_null())
                    .filter(
                        job_items::leased_until
                            .is_null()
                            .or(job_items::leased_until.le(Ts(now))),
                    )
                    .order((job_items::job_id.asc(), job_items::seq.asc()))
                    .limit(i64::from(limit))
                    .select((
                        job_items::job_id,
                        job_items::seq,
                        job_items::user_id,
                        job_items::attempts,
                    ))
                    .load(conn)?;
                let mut items = Vec::with_capacity(picked.len());
                for (job, seq, user_id, attempts) in picked {
                    diesel::update(job_items::table.find((&job, seq)))
                        .set((
                            job_items::leased_until.eq(Some(Ts(lease_until))),
                            job_items::attempts.eq(attempts + 1),
                        ))
                        .execute(conn)?;
                    items.push(ClaimedItem {
                        job: Uuid::try_parse(&job)
                            .map_err(|e| corrupt(anyhow!("stored job id: {e}")))?,
                        position: u32::try_from(seq)
                            .map_err(|e| corrupt(anyhow!("stored seq: {e}")))?,
                        user_id,
                        attempts: u32::try_from(attempts + 1)
                            .map_err(|e| corrupt(anyhow!("stored attempts: {e}")))?,
                    });
                }
                Ok(items)
            })
        })
        .await
    }

    async fn complete_item(
        &self,
        job: Uuid,
        position: u32,
        status_code: u16,
        message: &str,
    ) -> Result<bool, StoreError> {
        let message = message.to_owned();
        self.run(move |conn| {
            let seq = i32::try_from(position).map_err(|e| corrupt(anyhow!("position: {e}")))?;
            let changed = diesel::update(
                job_items::table
                    .find((job.to_string(), seq))
                    .filter(job_items::status_code.is_null()),
            )
            .set((
                job_items::status_code.eq(Some(i32::from(status_code))),
                job_items::message.eq(Some(message)),
                job_items::leased_until.eq(None::<Ts>),
            ))
            .execute(conn)?;
            Ok(changed > 0)
        })
        .await
    }
}
