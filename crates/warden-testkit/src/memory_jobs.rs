//! [`JobStore`] in memory, for tests and examples; passes the same checks as the databases.
//! The submitting admin is re-checked against the accounts of the [`MemoryStore`] given to
//! [`MemoryJobStore::with_accounts`]; a store made with [`MemoryJobStore::new`] knows no
//! accounts, so only the system's authority holds there.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use warden_domain::ports::{JobStore, StoreError};
use warden_domain::{
    Authority, Authorized, ClaimedItem, Guarded, ItemResult, Job, JobKind, JobStatus, JobWork,
    NewBulkJob,
};

use crate::MemoryStore;

#[derive(Debug)]
struct Item {
    user_id: String,
    attempts: u32,
    leased_until: Option<DateTime<Utc>>,
    result: Option<(u16, String)>,
}

#[derive(Debug)]
struct StoredJob {
    work: JobWork,
    items: Vec<Item>,
}

/// Jobs in memory, oldest (smallest id) first.
#[derive(Debug, Default)]
pub struct MemoryJobStore {
    jobs: Mutex<BTreeMap<Uuid, StoredJob>>,
    /// Where submitting admins are re-checked.
    accounts: Option<Arc<MemoryStore>>,
}

impl MemoryJobStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A job store that re-checks submitting admins against `accounts`.
    pub fn with_accounts(accounts: Arc<MemoryStore>) -> Self {
        Self {
            jobs: Mutex::default(),
            accounts: Some(accounts),
        }
    }

    fn jobs(&self) -> MutexGuard<'_, BTreeMap<Uuid, StoredJob>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl JobStore for MemoryJobStore {
    async fn create_job(
        &self,
        job: NewBulkJob,
        by: &Authorized,
    ) -> Result<Guarded<()>, StoreError> {
        // The accounts' lock is held while the job is stored, so no status change of the
        // admin can come in between.
        let accounts = self.accounts.as_ref().map(|store| (store, store.state()));
        let holds = match (&accounts, by.actor.authority()) {
            (_, Authority::System) => true,
            (Some((store, state)), authority) => state.authority_holds(authority, &store.clients),
            (None, _) => false,
        };
        if !holds {
            return Ok(Guarded::ActorRevoked);
        }
        let mut jobs = self.jobs();
        if jobs.contains_key(&job.id) {
            return Err(StoreError::Conflict("job id taken".into()));
        }
        let items = job
            .user_ids
            .into_iter()
            .map(|user_id| Item {
                user_id,
                attempts: 0,
                leased_until: None,
                result: None,
            })
            .collect();
        jobs.insert(
            job.id,
            StoredJob {
                work: JobWork {
                    id: job.id,
                    grant: job.grant,
                    reason: job.reason,
                    until: job.until,
                    created_at: job.created_at,
                },
                items,
            },
        );
        drop(accounts);
        Ok(Guarded::Applied(()))
    }

    async fn find_job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        let jobs = self.jobs();
        Ok(jobs.get(&id).map(|job| {
            let results: Vec<ItemResult> = job
                .items
                .iter()
                .filter_map(|item| {
                    item.result.as_ref().map(|(code, message)| ItemResult {
                        user_id: item.user_id.clone(),
                        status_code: *code,
                        message: message.clone(),
                    })
                })
                .collect();
            let status = if results.len() == job.items.len() {
                JobStatus::Done
            } else if job.items.iter().any(|item| item.attempts > 0) {
                JobStatus::Running
            } else {
                JobStatus::Queued
            };
            Job {
                id,
                kind: JobKind::BulkDeactivate,
                requested_by: job.work.grant.account,
                status,
                total: job.items.len() as u32,
                results,
            }
        }))
    }

    async fn job_work(&self, id: Uuid) -> Result<Option<JobWork>, StoreError> {
        Ok(self.jobs().get(&id).map(|job| job.work.clone()))
    }

    async fn claim_items(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedItem>, StoreError> {
        let mut jobs = self.jobs();
        let mut claimed = Vec::new();
        for (id, job) in jobs.iter_mut() {
            for (position, item) in (0..).zip(job.items.iter_mut()) {
                if claimed.len() >= limit as usize {
                    return Ok(claimed);
                }
                let free = item.leased_until.is_none_or(|until| until <= now);
                if item.result.is_none() && free {
                    item.leased_until = Some(lease_until);
                    item.attempts += 1;
                    claimed.push(ClaimedItem {
                        job: *id,
                        position,
                        user_id: item.user_id.clone(),
                        attempts: item.attempts,
                    });
                }
            }
        }
        Ok(claimed)
    }

    async fn complete_item(
        &self,
        job: Uuid,
        position: u32,
        status_code: u16,
        message: &str,
    ) -> Result<bool, StoreError> {
        let mut jobs = self.jobs();
        let Some(item) = jobs
            .get_mut(&job)
            .and_then(|job| job.items.get_mut(position as usize))
        else {
            return Ok(false);
        };
        if item.result.is_some() {
            return Ok(false);
        }
        item.result = Some((status_code, message.to_owned()));
        item.leased_until = None;
        Ok(true)
    }
}
