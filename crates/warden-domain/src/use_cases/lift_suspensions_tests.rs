use std::sync::Arc;

use super::*;
use crate::ports::MockUserRepo;
use crate::use_cases::test_support::{at, fixed_clock, user};
use crate::{ActorKind, Role, StatusAction, StatusChangeOutcome, UserId};

#[tokio::test]
async fn each_due_suspension_is_lifted_by_the_system_only_if_still_due_at_commit() {
    let lifted = user(Role::User);
    let (lifted_id, renewed, gone) = (lifted.id, UserId::generate(), UserId::generate());
    let mut users = MockUserRepo::new();
    users
        .expect_due_suspensions()
        .withf(|now, limit| *now == at() && *limit == LiftSuspensions::ROUND)
        .times(1)
        .returning(move |_, _| Ok(vec![lifted_id, renewed, gone]));
    users
        .expect_change_status()
        .withf(|c| {
            c.action == StatusAction::Reactivate
                && c.actor.kind() == ActorKind::System
                && c.only_if_due_at == Some(at())
                && c.reason.as_ref().map(|r| r.as_str()) == Some(ReactivateUser::LIFT_REASON)
        })
        .times(3)
        .returning(move |c| {
            Ok(if c.target == lifted_id {
                StatusChangeOutcome::Applied(Box::new(lifted.clone()))
            } else if c.target == renewed {
                StatusChangeOutcome::NotDue
            } else {
                StatusChangeOutcome::AlreadyInState
            })
        });
    let round = LiftSuspensions::new(Arc::new(users), fixed_clock())
        .run_once()
        .await
        .unwrap();
    assert_eq!(round, LiftRound { due: 3, lifted: 1 });
}

#[tokio::test]
async fn a_store_failure_stops_the_round() {
    let mut users = MockUserRepo::new();
    users
        .expect_due_suspensions()
        .returning(|_, _| Err(crate::ports::StoreError::unavailable("down")));
    let lift = LiftSuspensions::new(Arc::new(users), fixed_clock());
    assert!(lift.run_once().await.is_err());
}
