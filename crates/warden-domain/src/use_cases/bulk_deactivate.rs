use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{AccessError, Admin, Authenticator, DeactivateError, DeactivateUser};
use crate::ports::{Clock, JobStore, StoreError, UserRepo};
use crate::{
    AuditAction, Authorized, ClaimedItem, InvalidSuspensionEnd, Job, JobWork, NewBulkJob, Reason,
    SuspensionEnd, UserId,
};

/// Deactivates many users in the background: [`BulkDeactivate::submit`] stores the job,
/// [`BulkDeactivate::run_round`] (the host's job runner, on any replica) carries out its items,
/// each through [`DeactivateUser`] on the requesting admin's authority, and keeps each answer.
#[derive(Clone)]
pub struct BulkDeactivate {
    jobs: Arc<dyn JobStore>,
    users: Arc<dyn UserRepo>,
    auth: Authenticator,
    deactivate: DeactivateUser,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BulkError {
    /// Fewer than one or more than [`BulkDeactivate::MAX_IDS`] ids.
    #[error("must list 1 to 10000 user ids")]
    WrongCount,
    /// Only an admin acting with a token starts jobs (not an operator at the CLI).
    #[error("this principal cannot start a job")]
    NoGrant,
    /// The suspension end given for every account is not after now or more than ten years
    /// ahead; no job was started.
    #[error("suspension end {0}")]
    InvalidUntil(InvalidSuspensionEnd),
    /// The admin's authority no longer held when the job was to be stored; nothing was.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// The job could not be recorded: the store failed (see [`StoreError`]); no job was
    /// started.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one item was not carried out, for the host to word as its single-user route would.
#[derive(Debug)]
pub enum ItemFailure {
    /// The requesting admin no longer holds the authority the job acts on.
    Access(AccessError),
    /// The id is not a user id.
    NotAUserId,
    /// The account's deactivation was refused (already deactivated, the last active admin,
    /// the acting admin's own account...) or failed: see [`DeactivateError`].
    Deactivate(DeactivateError),
}

/// What one round of [`BulkDeactivate::run_round`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobRound {
    /// Items claimed.
    pub claimed: usize,
    /// Items that got their result.
    pub completed: usize,
}

impl BulkDeactivate {
    /// Most user ids one job takes.
    pub const MAX_IDS: usize = 10_000;
    /// How long a runner holds a claimed item before another may take it over.
    pub const LEASE: TimeDelta = TimeDelta::seconds(30);

    pub fn new(
        jobs: Arc<dyn JobStore>,
        users: Arc<dyn UserRepo>,
        auth: Authenticator,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            deactivate: DeactivateUser::new(users.clone(), clock.clone()),
            jobs,
            users,
            auth,
            clock,
        }
    }

    /// Stores a bulk deactivation of `user_ids` (in that order) by `admin`; its id.
    ///
    /// # Errors
    /// [`BulkError::WrongCount`], [`BulkError::InvalidUntil`] (see [`SuspensionEnd::new`]),
    /// [`BulkError::NoGrant`], [`BulkError::Store`]; then nothing was stored.
    pub async fn submit(
        &self,
        admin: &Admin,
        user_ids: Vec<String>,
        reason: Option<Reason>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Uuid, BulkError> {
        if user_ids.is_empty() || user_ids.len() > Self::MAX_IDS {
            return Err(BulkError::WrongCount);
        }
        let now = self.clock.now();
        if let Some(until) = until {
            SuspensionEnd::new(until, now).map_err(BulkError::InvalidUntil)?;
        }
        let grant = admin.job_grant().ok_or(BulkError::NoGrant)?;
        let id = Uuid::now_v7();
        let by = Authorized::new(admin.actor().clone(), now);
        self.jobs
            .create_job(
                NewBulkJob {
                    id,
                    grant,
                    reason,
                    until,
                    user_ids,
                    created_at: now,
                },
                &by,
            )
            .await?
            .or_revoked(BulkError::ActorRevoked)?;
        Ok(id)
    }

    /// The job, for an admin (any admin may read any job).
    ///
    /// # Errors
    /// [`StoreError`]; an unknown job is `Ok(None)`.
    pub async fn job(&self, _admin: &Admin, id: Uuid) -> Result<Option<Job>, StoreError> {
        self.jobs.find_job(id).await
    }

    /// Claims up to `limit` items of stored jobs and carries each out, recording what `answer`
    /// makes of its outcome (the status code and message of the host's single-user route). An
    /// outcome `answer` rates 500 or above (the store failing) is not recorded: the item's lease
    /// ends and a later round retries it. An item claimed before by a runner that stopped
    /// before recording its result, whose user that job's admin has deactivated since the job
    /// began, is recorded as done without acting again.
    ///
    /// # Errors
    /// [`StoreError`] when claiming or recording fails; recorded items stay recorded.
    pub async fn run_round(
        &self,
        limit: u32,
        answer: &(dyn Fn(Result<(), ItemFailure>) -> (u16, String) + Sync),
    ) -> Result<JobRound, StoreError> {
        let now = self.clock.now();
        let items = self.jobs.claim_items(now, now + Self::LEASE, limit).await?;
        let mut round = JobRound {
            claimed: items.len(),
            completed: 0,
        };
        let mut works: HashMap<Uuid, Option<JobWork>> = HashMap::new();
        for item in items {
            let work = match works.get(&item.job) {
                Some(work) => work.clone(),
                None => {
                    let work = self.jobs.job_work(item.job).await?;
                    works.insert(item.job, work.clone());
                    work
                }
            };
            let Some(work) = work else { continue };
            let (status_code, message) = answer(self.carry_out(&work, &item).await);
            if status_code >= 500 {
                continue;
            }
            self.jobs
                .complete_item(item.job, item.position, status_code, &message)
                .await?;
            round.completed += 1;
        }
        Ok(round)
    }

    async fn carry_out(&self, work: &JobWork, item: &ClaimedItem) -> Result<(), ItemFailure> {
        let admin = self
            .auth
            .admin_for_job(&work.grant)
            .await
            .map_err(ItemFailure::Access)?;
        let target = UserId::parse(&item.user_id).map_err(|_| ItemFailure::NotAUserId)?;
        if item.attempts > 1 && self.acted_before(work, target).await {
            return Ok(());
        }
        self.deactivate
            .execute_until(&admin, target, work.reason.clone(), work.until)
            .await
            .map(|_| ())
            .map_err(ItemFailure::Deactivate)
    }

    /// Whether the target's latest change is a deactivation by the job's admin since the job
    /// began: an earlier runner did this item and stopped before recording it.
    async fn acted_before(&self, work: &JobWork, target: UserId) -> bool {
        let Ok(latest) = self.users.events(&target, None, 1).await else {
            return false;
        };
        latest.first().is_some_and(|event| {
            event.action == AuditAction::Deactivated
                && event.actor.account() == Some(work.grant.account)
                && event.at >= work.created_at
        })
    }
}

impl std::fmt::Debug for BulkDeactivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BulkDeactivate")
    }
}

#[cfg(test)]
#[path = "bulk_deactivate_tests.rs"]
mod tests;
