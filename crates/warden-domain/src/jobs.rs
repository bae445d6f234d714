//! Background jobs an admin starts and later reads: a bulk deactivation runs each listed user
//! through [`crate::use_cases::DeactivateUser`] on the admin's authority, in the background,
//! and keeps each user's answer.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Reason, UserId};

/// What a job does. One kind for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    BulkDeactivate,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::BulkDeactivate => "bulk_deactivate",
        }
    }
}

/// Where a job is: no item started yet, some started, every item has its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
        }
    }
}

/// The authority a job acts on: the requesting admin's account on the token version of the
/// request that started it, for as long as that account is an active admin on that version
/// (not only until the request's token expires). Re-checked before each item (see
/// [`crate::use_cases::Authenticator::admin_for_job`]) and by the store at each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobGrant {
    pub account: UserId,
    pub token_version: i32,
    /// When the submitting request's token expired: recorded with the job, not a limit on it.
    pub valid_until: DateTime<Utc>,
}

/// A bulk deactivation to store, with its items in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBulkJob {
    pub id: Uuid,
    pub grant: JobGrant,
    pub reason: Option<Reason>,
    pub until: Option<DateTime<Utc>>,
    /// The ids as the admin sent them (an id that is not a user id is answered like the
    /// single route answers it).
    pub user_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// What one item ended with: what the single-user route would have answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    pub user_id: String,
    pub status_code: u16,
    pub message: String,
}

impl ItemResult {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// A stored job, as an admin reads it: finished items' results in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub requested_by: UserId,
    pub status: JobStatus,
    pub total: u32,
    pub results: Vec<ItemResult>,
}

impl Job {
    pub fn succeeded(&self) -> u32 {
        self.results.iter().filter(|r| r.succeeded()).count() as u32
    }

    pub fn failed(&self) -> u32 {
        self.results.iter().filter(|r| !r.succeeded()).count() as u32
    }
}

/// What a runner needs to carry out a job's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobWork {
    pub id: Uuid,
    pub grant: JobGrant,
    pub reason: Option<Reason>,
    pub until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An item a runner claimed, with a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedItem {
    pub job: Uuid,
    pub position: u32,
    pub user_id: String,
    /// Claims of this item so far, this one included: more than one means an earlier runner
    /// claimed it and stopped before recording its result (it may have acted).
    pub attempts: u32,
}
