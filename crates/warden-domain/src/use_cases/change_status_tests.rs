use std::sync::Arc;

use mockall::predicate::always;

use super::*;
use crate::ports::{InvalidToken, MockAuthVerifier, MockUserRepo};
use crate::use_cases::test_support::{admin, at, deactivated, fixed_clock, user};
use crate::use_cases::{AccessError, Authenticator};
use crate::{Actor, ActorKind, Role};

fn repo_answering(outcome: StatusChangeOutcome) -> MockUserRepo {
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .times(1)
        .returning(move |_| Ok(outcome.clone()));
    users
}

fn deactivate(users: MockUserRepo) -> DeactivateUser {
    DeactivateUser::new(Arc::new(users), fixed_clock())
}

#[tokio::test]
async fn deactivation_asks_the_store_for_exactly_the_decided_change() {
    let admin = admin().await;
    let target = user(Role::User);
    let target_id = target.id;
    let actor = admin.actor().clone();
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .withf(move |c| {
            c.action == StatusAction::Deactivate
                && c.target == target_id
                && c.actor == actor
                && c.reason.as_ref().map(Reason::as_str) == Some("spam")
                && c.at == at()
                && c.event_id != c.notification_id
        })
        .times(1)
        .returning(move |_| {
            Ok(StatusChangeOutcome::Applied(Box::new(deactivated(
                target.clone(),
            ))))
        });

    let reason = Reason::parse("spam").unwrap();
    let done = deactivate(users)
        .execute(&admin, target_id, reason)
        .await
        .unwrap();
    assert!(!done.is_active());
}

#[tokio::test]
async fn an_already_deactivated_user_is_reported_as_such() {
    let err = deactivate(repo_answering(StatusChangeOutcome::AlreadyInState))
        .execute(&admin().await, UserId::generate(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeactivateError::AlreadyDeactivated),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let err = deactivate(repo_answering(StatusChangeOutcome::NotFound))
        .execute(&admin().await, UserId::generate(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, DeactivateError::NotFound), "{err:?}");
}

#[tokio::test]
async fn an_admin_cannot_deactivate_themselves() {
    let admin = admin().await;
    let err = deactivate(MockUserRepo::new())
        .execute(&admin, admin.id(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, DeactivateError::SelfDeactivation), "{err:?}");
}

#[tokio::test]
async fn the_store_guard_for_the_last_admin_is_surfaced() {
    let err = deactivate(repo_answering(StatusChangeOutcome::LastActiveAdmin))
        .execute(&admin().await, UserId::generate(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, DeactivateError::LastActiveAdmin), "{err:?}");
}

#[tokio::test]
async fn the_actor_is_handed_to_the_store_with_its_token_version() {
    // The store re-checks this actor when the change commits; it must be the authenticated one.
    let admin = admin().await;
    let expected = Actor::admin(
        admin.id(),
        admin.user().email.to_string(),
        admin.user().token_version,
    );
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .withf(move |c| c.actor == expected)
        .times(2)
        .returning(|_| Ok(StatusChangeOutcome::ActorRevoked));
    let users = Arc::new(users);
    let target = UserId::generate();
    let err = DeactivateUser::new(users.clone(), fixed_clock())
        .execute(&admin, target, None)
        .await
        .unwrap_err();
    assert!(matches!(err, DeactivateError::ActorRevoked), "{err:?}");
    let err = ReactivateUser::new(users, fixed_clock())
        .execute(&admin, target, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ReactivateError::ActorRevoked), "{err:?}");
}

#[tokio::test]
async fn a_token_that_expired_while_the_request_was_held_changes_nothing() {
    // The admin authenticated with a token valid for an hour; the change comes two hours later.
    let admin = admin().await;
    let mut clock = crate::ports::MockClock::new();
    clock
        .expect_now()
        .returning(|| at() + chrono::TimeDelta::hours(2));
    let clock: Arc<dyn crate::ports::Clock> = Arc::new(clock);
    let users = Arc::new(MockUserRepo::new()); // no store call expected
    let target = UserId::generate();
    let err = DeactivateUser::new(users.clone(), clock.clone())
        .execute(&admin, target, None)
        .await
        .unwrap_err();
    assert!(matches!(err, DeactivateError::ActorRevoked), "{err:?}");
    let err = ReactivateUser::new(users, clock)
        .execute(&admin, target, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ReactivateError::ActorRevoked), "{err:?}");
}

#[tokio::test]
async fn a_store_failure_is_an_error_not_a_verdict() {
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .with(always())
        .returning(|_| Err(StoreError::other("disk full")));
    let err = deactivate(users)
        .execute(&admin().await, UserId::generate(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeactivateError::Store(StoreError::Other(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn no_credential_means_no_admin_and_so_no_deactivation_is_possible() {
    // The use case takes an `&Admin`, which only the authenticator can make: a request
    // without a valid admin credential never reaches the store.
    let mut verifier = MockAuthVerifier::new();
    verifier
        .expect_verify()
        .returning(|_| Err(InvalidToken("expired".into())));
    let auth = Authenticator::new(Arc::new(verifier), Arc::new(MockUserRepo::new()));
    assert!(matches!(
        auth.admin(None).await,
        Err(AccessError::Unauthenticated(_))
    ));
    assert!(matches!(
        auth.admin(Some("expired")).await,
        Err(AccessError::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn reactivation_maps_each_outcome() {
    let admin = admin().await;
    let target = user(Role::User);
    let id = target.id;
    let reactivate =
        |outcome| ReactivateUser::new(Arc::new(repo_answering(outcome)), fixed_clock());

    let ok = reactivate(StatusChangeOutcome::Applied(Box::new(target.clone())))
        .execute(&admin, id, None)
        .await
        .unwrap();
    assert_eq!(ok.id, target.id);
    assert!(matches!(
        reactivate(StatusChangeOutcome::AlreadyInState)
            .execute(&admin, id, None)
            .await,
        Err(ReactivateError::AlreadyActive)
    ));
    assert!(matches!(
        reactivate(StatusChangeOutcome::NotFound)
            .execute(&admin, id, None)
            .await,
        Err(ReactivateError::NotFound)
    ));
}

#[tokio::test]
async fn reactivation_records_a_reactivate_action() {
    let admin = admin().await;
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .withf(|c| c.action == StatusAction::Reactivate)
        .times(1)
        .returning(|_| Ok(StatusChangeOutcome::NotFound));
    let _ = ReactivateUser::new(Arc::new(users), fixed_clock())
        .execute(&admin, UserId::generate(), None)
        .await;
}

#[tokio::test]
async fn the_system_acts_without_an_account_and_is_recorded_as_itself() {
    // The system lifts suspensions: no account of its own (so no self-deactivation rule), no
    // credential to expire, and the store is handed the system actor to record.
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .withf(|c| {
            c.actor.kind() == ActorKind::System
                && c.actor.account().is_none()
                && c.new_status()
                    == crate::AccountStatus::Deactivated(crate::Deactivation {
                        at: at(),
                        by: None,
                        reason: None,
                        until: None,
                    })
        })
        .times(1)
        .returning(|c| {
            let mut target = user(Role::User);
            target.id = c.target;
            Ok(StatusChangeOutcome::Applied(Box::new(target)))
        });
    let system = crate::use_cases::System::scheduler();
    let target = UserId::generate();
    let done = DeactivateUser::new(Arc::new(users), fixed_clock())
        .execute(&system, target, None)
        .await
        .unwrap();
    assert_eq!(done.id, target);
}

#[tokio::test]
async fn a_timed_deactivation_carries_its_end_and_refuses_a_bad_one() {
    let admin = admin().await;
    let target = user(Role::User);
    let target_id = target.id;
    let until = at() + chrono::TimeDelta::days(7);
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .withf(move |c| c.until == Some(until) && c.only_if_due_at.is_none())
        .times(1)
        .returning(move |_| {
            Ok(StatusChangeOutcome::Applied(Box::new(deactivated(
                target.clone(),
            ))))
        });
    let use_case = deactivate(users);
    use_case
        .execute_until(&admin, target_id, None, Some(until))
        .await
        .unwrap();
    for bad in [at(), at() + chrono::TimeDelta::days(3700)] {
        assert!(matches!(
            use_case
                .execute_until(&admin, target_id, None, Some(bad))
                .await,
            Err(DeactivateError::InvalidUntil(_))
        ));
    }
}

#[tokio::test]
async fn a_lift_is_the_systems_reactivation_expecting_the_suspension_due_now() {
    let target = user(Role::User);
    let target_id = target.id;
    let mut users = MockUserRepo::new();
    users
        .expect_change_status()
        .withf(move |c| {
            c.action == StatusAction::Reactivate
                && c.target == target_id
                && c.actor.kind() == ActorKind::System
                && c.only_if_due_at == Some(at())
        })
        .times(2)
        .returning({
            let mut first = true;
            move |_| {
                let outcome = if first {
                    StatusChangeOutcome::NotDue
                } else {
                    StatusChangeOutcome::Applied(Box::new(target.clone()))
                };
                first = false;
                Ok(outcome)
            }
        });
    let reactivate = ReactivateUser::new(Arc::new(users), fixed_clock());
    let system = crate::use_cases::System::scheduler();
    assert_eq!(
        reactivate.lift(&system, target_id).await.unwrap(),
        Lift::NotDue
    );
    assert!(matches!(
        reactivate.lift(&system, target_id).await.unwrap(),
        Lift::Reactivated(_)
    ));
}
