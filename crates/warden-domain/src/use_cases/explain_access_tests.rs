use std::sync::Arc;

use uuid::Uuid;

use super::*;
use crate::ports::{Lockouts, MockLoginAttempts, MockUserRepo};
use crate::use_cases::test_support::{admin, at, deactivated, fixed_clock, user};
use crate::{ActorKind, AuditEvent, PasswordHash, Role};

fn explain_with(target: User, events: Vec<AuditEvent>, lockouts: Lockouts) -> ExplainAccess {
    explain_hashed(target, events, lockouts, PasswordHash::new("h".into()))
}

fn explain_hashed(
    target: User,
    events: Vec<AuditEvent>,
    lockouts: Lockouts,
    hash: PasswordHash,
) -> ExplainAccess {
    let mut users = MockUserRepo::new();
    let with_hash = target.clone();
    users
        .expect_find_credentials()
        .returning(move |_| Ok(Some((with_hash.clone(), hash.clone()))));
    let found = target.clone();
    users
        .expect_find_by_id()
        .returning(move |id| Ok((*id == found.id).then(|| found.clone())));
    users
        .expect_events()
        .returning(move |_, _, limit| Ok(events.iter().take(limit as usize).cloned().collect()));
    let mut attempts = MockLoginAttempts::new();
    let email = target.email.to_string();
    attempts
        .expect_lockouts()
        .withf(move |account, now| account == email && *now == at())
        .returning(move |_, _| Ok(lockouts));
    ExplainAccess::new(Arc::new(users), Arc::new(attempts), fixed_clock())
}

#[tokio::test]
async fn an_active_unthrottled_account_can_sign_in() {
    let target = user(Role::User);
    let report = explain_with(target.clone(), vec![], Lockouts::default())
        .explain(&*admin().await, target.id)
        .await
        .unwrap();
    assert!(report.can_sign_in());
    assert!(report.reasons.is_empty());
}

#[tokio::test]
async fn a_deactivated_and_throttled_account_names_both_causes() {
    let target = deactivated(user(Role::User));
    let actor = RecordedActor {
        kind: ActorKind::User,
        id: Some(Uuid::now_v7()),
        name: "boss@example.com".into(),
        role: None,
    };
    let event = AuditEvent {
        id: Uuid::now_v7(),
        user_id: target.id,
        actor: actor.clone(),
        action: crate::AuditAction::Deactivated,
        role_shift: None,
        reason: None,
        at: at(),
    };
    let until = at() + chrono::TimeDelta::seconds(30);
    let lockouts = Lockouts {
        clients: 2,
        until: Some(until),
    };
    let report = explain_with(target.clone(), vec![event], lockouts)
        .explain(&*admin().await, target.id)
        .await
        .unwrap();
    assert!(!report.can_sign_in());
    assert_eq!(
        report.reasons,
        vec![
            AccessReason::Deactivated {
                at: at(),
                by: Some(actor),
                reason: None,
                until: None,
            },
            AccessReason::SignInThrottled { clients: 2, until },
        ]
    );
}

#[tokio::test]
async fn an_unknown_account_is_not_found() {
    let target = user(Role::User);
    let explain = explain_with(target, vec![], Lockouts::default());
    let result = explain.explain(&*admin().await, UserId::generate()).await;
    assert!(matches!(result, Err(QueryError::NotFound)));
}

#[tokio::test]
async fn an_account_without_a_password_says_so() {
    let target = user(Role::User);
    let report = explain_hashed(
        target.clone(),
        vec![],
        Lockouts::default(),
        PasswordHash::unset(),
    )
    .explain(&*admin().await, target.id)
    .await
    .unwrap();
    assert!(!report.can_sign_in());
    assert_eq!(report.reasons, vec![AccessReason::NoPassword]);
}
