use std::sync::Arc;

use super::*;
use crate::ports::{InvalidToken, MockAuthVerifier, MockUserRepo, TokenClaims};
use crate::use_cases::test_support::{deactivated, user};
use crate::Role;

fn verifier_for(subject: &User, token_version: i32) -> MockAuthVerifier {
    let claims = TokenClaims {
        subject: subject.id,
        token_version,
        valid_until: chrono::Utc::now() + chrono::TimeDelta::hours(1),
    };
    let mut verifier = MockAuthVerifier::new();
    verifier
        .expect_verify()
        .withf(|token| token == "good")
        .returning(move |_| Ok(claims));
    verifier
}

fn repo_with(found: Option<User>) -> MockUserRepo {
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(found.clone()));
    users
}

fn authenticator(verifier: MockAuthVerifier, users: MockUserRepo) -> Authenticator {
    Authenticator::new(Arc::new(verifier), Arc::new(users))
}

#[tokio::test]
async fn an_active_admin_with_a_current_token_is_admitted() {
    let admin = user(Role::Admin);
    let auth = authenticator(verifier_for(&admin, 3), repo_with(Some(admin.clone())));
    let found = auth.admin(Some("good")).await.unwrap();
    assert_eq!(found.id(), admin.id);
}

#[tokio::test]
async fn a_missing_token_is_unauthenticated_without_touching_anything() {
    let auth = authenticator(MockAuthVerifier::new(), MockUserRepo::new());
    let err = auth.admin(None).await.unwrap_err();
    assert!(matches!(err, AccessError::Unauthenticated(_)), "{err:?}");
}

#[tokio::test]
async fn an_invalid_token_is_unauthenticated_without_loading_anyone() {
    let mut verifier = MockAuthVerifier::new();
    verifier
        .expect_verify()
        .returning(|_| Err(InvalidToken("bad signature".into())));
    let auth = authenticator(verifier, MockUserRepo::new());
    let err = auth.admin(Some("forged")).await.unwrap_err();
    assert!(matches!(err, AccessError::Unauthenticated(why) if why.contains("bad signature")));
}

#[tokio::test]
async fn a_token_for_a_deleted_admin_is_refused() {
    let admin = user(Role::Admin);
    let auth = authenticator(verifier_for(&admin, 3), repo_with(None));
    let err = auth.admin(Some("good")).await.unwrap_err();
    assert!(matches!(err, AccessError::Unauthenticated(_)), "{err:?}");
}

#[tokio::test]
async fn a_token_for_a_since_deactivated_admin_is_refused() {
    let admin = user(Role::Admin);
    let auth = authenticator(
        verifier_for(&admin, 3),
        repo_with(Some(deactivated(admin.clone()))),
    );
    let err = auth.admin(Some("good")).await.unwrap_err();
    assert!(matches!(err, AccessError::Unauthenticated(_)), "{err:?}");
}

#[tokio::test]
async fn a_token_from_before_the_last_status_change_is_refused() {
    let admin = user(Role::Admin);
    let auth = authenticator(verifier_for(&admin, 2), repo_with(Some(admin.clone())));
    let err = auth.admin(Some("good")).await.unwrap_err();
    assert!(matches!(err, AccessError::Unauthenticated(why) if why.contains("revoked")));
}

#[tokio::test]
async fn a_non_admin_is_forbidden_but_authenticated_as_a_user() {
    let member = user(Role::User);
    let auth = authenticator(verifier_for(&member, 3), repo_with(Some(member.clone())));
    assert!(matches!(
        auth.admin(Some("good")).await,
        Err(AccessError::Forbidden)
    ));
    assert_eq!(auth.user(Some("good")).await.unwrap().id, member.id);
}

#[tokio::test]
async fn a_store_failure_is_not_mistaken_for_bad_credentials() {
    let admin = user(Role::Admin);
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_id()
        .returning(|_| Err(StoreError::unavailable("pool timeout")));
    let auth = authenticator(verifier_for(&admin, 3), users);
    let err = auth.admin(Some("good")).await.unwrap_err();
    assert!(matches!(
        err,
        AccessError::Store(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn operators_name_an_active_admin_by_email() {
    let admin = user(Role::Admin);
    let member = user(Role::User);
    let gone = deactivated(user(Role::Admin));
    let mut users = MockUserRepo::new();
    let known = [admin.clone(), member.clone(), gone.clone()];
    users
        .expect_find_by_email()
        .returning(move |email| Ok(known.iter().find(|u| &u.email == email).cloned()));
    let auth = authenticator(MockAuthVerifier::new(), users);

    let operator = auth.admin_by_email(&alice(), &admin.email).await.unwrap();
    assert_eq!(operator.id(), admin.id);
    // Recorded as an operator at the CLI, under the OS user, on the admin's current version.
    assert_eq!(
        operator.actor(),
        &crate::Actor::operator(admin.id, "alice", admin.token_version, crate::Role::Admin)
    );
    assert_eq!(operator.actor().kind(), crate::ActorKind::Operator);
    assert!(matches!(
        auth.admin_by_email(&alice(), &member.email).await,
        Err(AccessError::Forbidden)
    ));
    assert!(matches!(
        auth.admin_by_email(&alice(), &gone.email).await,
        Err(AccessError::Unauthenticated(_))
    ));
    let nobody = crate::EmailAddress::parse("nobody@example.com").unwrap();
    assert!(matches!(
        auth.admin_by_email(&alice(), &nobody).await,
        Err(AccessError::Unauthenticated(_))
    ));
}

fn alice() -> Operator {
    Operator::from_os_user("alice")
}

/// A job acts on its admin's authority after the submitting token expired, as long as the
/// admin is still an active admin on the same token version; not once the version moved on.
#[tokio::test]
async fn a_job_outlives_its_token_but_not_its_admins_token_version() {
    let admin = crate::use_cases::test_support::user(Role::Admin);
    let expired = crate::JobGrant {
        account: admin.id,
        token_version: admin.token_version,
        valid_until: crate::use_cases::test_support::at() - chrono::TimeDelta::minutes(1),
    };
    let mut users = MockUserRepo::new();
    let found = admin.clone();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(found.clone())));
    let auth = Authenticator::new(Arc::new(MockAuthVerifier::new()), Arc::new(users));
    let acting = auth.admin_for_job(&expired).await.unwrap();
    let later = crate::use_cases::test_support::at() + chrono::TimeDelta::hours(2);
    assert!(
        acting.is_valid_at(later),
        "the token's expiry does not end the job"
    );
    assert_eq!(
        *acting.actor().authority(),
        crate::Authority::Account {
            account: admin.id,
            token_version: admin.token_version,
            role: crate::Role::Admin,
        },
        "the store re-checks this version at each commit"
    );
    let moved_on = crate::JobGrant {
        token_version: admin.token_version + 1,
        ..expired
    };
    assert!(matches!(
        auth.admin_for_job(&moved_on).await,
        Err(AccessError::Unauthenticated(_))
    ));
}
