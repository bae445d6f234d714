use std::sync::Arc;

use super::*;
use crate::ports::{MockAuthVerifier, MockJobStore, MockUserRepo};
use crate::use_cases::test_support::{admin, at, fixed_clock};

fn bulk(jobs: MockJobStore) -> BulkDeactivate {
    let auth = Authenticator::new(
        Arc::new(MockAuthVerifier::new()),
        Arc::new(MockUserRepo::new()),
    );
    BulkDeactivate::new(
        Arc::new(jobs),
        Arc::new(MockUserRepo::new()),
        auth,
        fixed_clock(),
    )
}

#[tokio::test]
async fn a_job_is_stored_with_the_admins_grant_and_every_id_in_order() {
    let admin = admin().await;
    let grant = admin.job_grant().unwrap();
    let until = at() + TimeDelta::days(1);
    let mut jobs = MockJobStore::new();
    jobs.expect_create_job()
        .withf(move |job, by| {
            by.actor.authority()
                == &crate::Authority::Account {
                    account: grant.account,
                    token_version: grant.token_version,
                    role: crate::Role::Admin,
                }
                && job.grant == grant
                && job.user_ids == ["b", "a", "b"]
                && job.until == Some(until)
                && job.created_at == at()
        })
        .times(1)
        .returning(|_, _| Ok(crate::Guarded::Applied(())));
    let ids = ["b", "a", "b"].map(String::from).to_vec();
    bulk(jobs)
        .submit(&admin, ids, None, Some(until))
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_counts_and_bad_ends_store_nothing() {
    let admin = admin().await;
    let use_case = bulk(MockJobStore::new());
    let too_many = vec!["x".to_owned(); BulkDeactivate::MAX_IDS + 1];
    for ids in [Vec::new(), too_many] {
        assert!(matches!(
            use_case.submit(&admin, ids, None, None).await,
            Err(BulkError::WrongCount)
        ));
    }
    assert!(matches!(
        use_case
            .submit(&admin, vec!["x".into()], None, Some(at()))
            .await,
        Err(BulkError::InvalidUntil(InvalidSuspensionEnd::NotInFuture))
    ));
}

#[tokio::test]
async fn a_job_whose_admin_lost_authority_before_it_was_stored_is_refused() {
    let admin = admin().await;
    let mut jobs = MockJobStore::new();
    jobs.expect_create_job()
        .returning(|_, _| Ok(crate::Guarded::ActorRevoked));
    let refused = bulk(jobs)
        .submit(&admin, vec!["x".into()], None, None)
        .await;
    assert!(matches!(refused, Err(BulkError::ActorRevoked)));
}
