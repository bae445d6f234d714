//! The [`JobStore`] checks: a job keeps its items in order and their results once; claims lease
//! items so that concurrent runners never share one, and a lease that ended frees the item.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;
use warden_domain::ports::JobStore;
use warden_domain::{JobGrant, JobStatus, NewBulkJob, Reason, UserId};

use super::helpers::{done, system_write};

/// Generates one `#[tokio::test]` per job check; `$fresh` is an
/// `async fn(&str) -> Option<(Arc<dyn JobStore>, G)>` giving a new, empty store.
#[macro_export]
macro_rules! job_contract_tests {
    ($fresh:path) => {
        $crate::job_contract_tests!(@each $fresh;
            jobs_keep_items_in_order_and_results_once,
            job_claims_lease_items_and_ended_leases_free_them,
            concurrent_job_claims_never_overlap,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((jobs, _guard)) = $fresh(stringify!($check)).await else {
                    return;
                };
                $crate::contract::$check(jobs).await;
            }
        )*
    };
}

/// Whole microseconds, as stored.
fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_900_000_000 + seconds)
}

fn job(ids: &[&str]) -> NewBulkJob {
    NewBulkJob {
        id: Uuid::now_v7(),
        grant: JobGrant {
            account: UserId::generate(),
            token_version: 3,
            valid_until: t(3600),
        },
        reason: Reason::parse("spam wave").unwrap(),
        until: Some(t(86_400)),
        user_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        created_at: t(0),
    }
}

pub async fn jobs_keep_items_in_order_and_results_once(jobs: Arc<dyn JobStore>) {
    let new = job(&["b", "a", "not-a-uuid"]);
    done(jobs.create_job(new.clone(), &system_write()).await.unwrap());
    assert!(jobs.find_job(Uuid::now_v7()).await.unwrap().is_none());
    let found = jobs.find_job(new.id).await.unwrap().unwrap();
    assert_eq!(
        (
            found.status,
            found.total,
            found.results.len(),
            found.requested_by
        ),
        (JobStatus::Queued, 3, 0, new.grant.account)
    );
    let work = jobs.job_work(new.id).await.unwrap().unwrap();
    assert_eq!(
        (work.grant, work.reason, work.until, work.created_at),
        (new.grant, new.reason.clone(), new.until, new.created_at)
    );

    let claimed = jobs.claim_items(t(1), t(31), 10).await.unwrap();
    let ids: Vec<(u32, &str, u32)> = claimed
        .iter()
        .map(|c| (c.position, c.user_id.as_str(), c.attempts))
        .collect();
    assert_eq!(ids, vec![(0, "b", 1), (1, "a", 1), (2, "not-a-uuid", 1)]);
    assert!(claimed.iter().all(|c| c.job == new.id));
    assert_eq!(
        jobs.find_job(new.id).await.unwrap().unwrap().status,
        JobStatus::Running
    );

    assert!(jobs.complete_item(new.id, 1, 200, "ok").await.unwrap());
    assert!(
        !jobs.complete_item(new.id, 1, 400, "again").await.unwrap(),
        "a result is written once"
    );
    assert!(jobs
        .complete_item(new.id, 0, 404, "User not found")
        .await
        .unwrap());
    let found = jobs.find_job(new.id).await.unwrap().unwrap();
    assert_eq!(found.status, JobStatus::Running);
    let results: Vec<(&str, u16, &str)> = found
        .results
        .iter()
        .map(|r| (r.user_id.as_str(), r.status_code, r.message.as_str()))
        .collect();
    assert_eq!(
        results,
        vec![("b", 404, "User not found"), ("a", 200, "ok")]
    );
    assert!(jobs
        .complete_item(new.id, 2, 404, "User not found")
        .await
        .unwrap());
    let found = jobs.find_job(new.id).await.unwrap().unwrap();
    assert_eq!(
        (found.status, found.succeeded(), found.failed()),
        (JobStatus::Done, 1, 2)
    );
    assert!(
        jobs.claim_items(t(10_000), t(10_030), 10)
            .await
            .unwrap()
            .is_empty(),
        "finished items are never claimed again"
    );
}

pub async fn job_claims_lease_items_and_ended_leases_free_them(jobs: Arc<dyn JobStore>) {
    let first = job(&["1", "2", "3"]);
    done(
        jobs.create_job(first.clone(), &system_write())
            .await
            .unwrap(),
    );
    let claimed = jobs.claim_items(t(1), t(31), 2).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.position).collect::<Vec<_>>(),
        vec![0, 1]
    );
    // While the lease runs, only the third is free.
    let more = jobs.claim_items(t(2), t(32), 10).await.unwrap();
    assert_eq!(more.iter().map(|c| c.position).collect::<Vec<_>>(), vec![2]);
    assert!(jobs.claim_items(t(3), t(33), 10).await.unwrap().is_empty());
    jobs.complete_item(first.id, 0, 200, "ok").await.unwrap();
    // The first claim's lease ends: its unfinished item is taken over, its attempt counted.
    let again = jobs.claim_items(t(31), t(61), 10).await.unwrap();
    let seen: Vec<(u32, u32)> = again.iter().map(|c| (c.position, c.attempts)).collect();
    assert_eq!(seen, vec![(1, 2)]);
}

pub async fn concurrent_job_claims_never_overlap(jobs: Arc<dyn JobStore>) {
    let ids: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let new = NewBulkJob {
        user_ids: ids,
        ..job(&[])
    };
    done(jobs.create_job(new.clone(), &system_write()).await.unwrap());
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let jobs = jobs.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = jobs.claim_items(t(1), t(100), 7).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.position));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..200).collect::<Vec<u32>>());
}

/// Storing a job re-checks the submitting admin in the same transaction: deactivated (or on an
/// older token version) since, nothing is stored; an active admin on its version stores the
/// job. Needs the accounts of the same store, so adapters call it themselves (it is not in
/// [`crate::job_contract_tests`]).
pub async fn job_submission_rechecks_the_admin(
    users: Arc<dyn warden_domain::ports::UserRepo>,
    jobs: Arc<dyn JobStore>,
) {
    use super::helpers::{actor_of, applied, change, create, now, sentinel};
    use warden_domain::{Authorized, Guarded, Role, StatusAction};
    let guard = sentinel(&*users).await;
    let admin = create(&*users, Role::Admin, "Mallory").await;
    let stale = actor_of(&admin);
    let grant_of = |user: &warden_domain::User| JobGrant {
        account: user.id,
        token_version: user.token_version,
        valid_until: t(3600),
    };
    applied(
        users
            .change_status(change(
                StatusAction::Deactivate,
                &admin,
                &guard,
                None,
                now(),
            ))
            .await,
    );
    let refused = NewBulkJob {
        grant: grant_of(&admin),
        ..job(&["a"])
    };
    let outcome = jobs
        .create_job(refused.clone(), &Authorized::new(stale, now()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::ActorRevoked);
    assert!(
        jobs.find_job(refused.id).await.unwrap().is_none(),
        "nothing stored"
    );

    let stored = NewBulkJob {
        grant: grant_of(&guard),
        ..job(&["a"])
    };
    let outcome = jobs
        .create_job(stored.clone(), &Authorized::new(actor_of(&guard), now()))
        .await
        .unwrap();
    assert_eq!(outcome, Guarded::Applied(()));
    assert!(jobs.find_job(stored.id).await.unwrap().is_some());
    // Leave no claimable items to later checks of the same store.
    let claimed = jobs.claim_items(t(1), t(31), 100).await.unwrap();
    for item in claimed.iter().filter(|c| c.job == stored.id) {
        jobs.complete_item(item.job, item.position, 200, "ok")
            .await
            .unwrap();
    }
}
