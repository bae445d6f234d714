use std::sync::Arc;

use super::*;
use crate::ports::{MockPasswordHasher, MockTokenIssuer, MockUserRepo};
use crate::use_cases::test_support::{deactivated, fixed_clock, user};
use crate::{MemoryLoginAttempts, PasswordHash, Role, User};

/// A hasher for which the password "correct horse" matches every real hash.
fn hasher() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_verify()
        .times(1)
        .returning(|p, hash| Ok(hash.is_some() && p.expose() == "correct horse"));
    hasher
}

fn issuer() -> MockTokenIssuer {
    let mut issuer = MockTokenIssuer::new();
    issuer
        .expect_issue()
        .returning(|u, _| Ok(AccessToken::new(format!("token-for-{}", u.id), 60)));
    issuer
}

fn repo_with(account: Option<User>) -> MockUserRepo {
    let mut users = MockUserRepo::new();
    let with_hash = account.clone();
    users.expect_find_credentials().returning(move |_| {
        Ok(with_hash
            .clone()
            .map(|u| (u, PasswordHash::new("h".into()))))
    });
    users
        .expect_find_by_email()
        .returning(move |_| Ok(account.clone()));
    users
}

fn issue(users: MockUserRepo, hasher: MockPasswordHasher) -> IssueToken {
    IssueToken::new(
        Arc::new(users),
        Arc::new(hasher),
        Arc::new(issuer()),
        fixed_clock(),
        Arc::new(MemoryLoginAttempts::default()),
    )
}

#[tokio::test]
async fn the_right_password_gets_a_token() {
    let account = user(Role::User);
    let token = issue(repo_with(Some(account.clone())), hasher())
        .login(account.email.as_str(), "correct horse", "client")
        .await
        .unwrap();
    assert_eq!(token.expose(), format!("token-for-{}", account.id));
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable_and_both_hash() {
    let account = user(Role::User);
    let wrong = issue(repo_with(Some(account.clone())), hasher())
        .login(account.email.as_str(), "wrong password", "client")
        .await;
    // `hasher()` expects exactly one verify call: the unknown account is hashed too.
    let unknown = issue(repo_with(None), hasher())
        .login("nobody@example.com", "correct horse", "client")
        .await;
    assert!(matches!(wrong, Err(IssueTokenError::InvalidCredentials)));
    assert!(matches!(unknown, Err(IssueTokenError::InvalidCredentials)));
}

#[tokio::test]
async fn an_account_without_a_password_is_refused_like_an_unknown_one() {
    let account = user(Role::User);
    let mut users = MockUserRepo::new();
    let found = account.clone();
    users
        .expect_find_credentials()
        .returning(move |_| Ok(Some((found.clone(), PasswordHash::unset()))));
    // `hasher()` expects one verify and matches only a real hash: the dummy work is done,
    // with no hash of the account's, and the answer is a wrong password's.
    let refused = issue(users, hasher())
        .login(account.email.as_str(), "correct horse", "client")
        .await;
    assert!(matches!(refused, Err(IssueTokenError::InvalidCredentials)));
}

#[tokio::test]
async fn a_deactivated_account_is_told_so_only_with_the_right_password() {
    let account = deactivated(user(Role::User));
    let right = issue(repo_with(Some(account.clone())), hasher())
        .login(account.email.as_str(), "correct horse", "client")
        .await;
    assert!(matches!(right, Err(IssueTokenError::Deactivated)));
    let wrong = issue(repo_with(Some(account.clone())), hasher())
        .login(account.email.as_str(), "not the password", "client")
        .await;
    assert!(matches!(wrong, Err(IssueTokenError::InvalidCredentials)));
}

#[tokio::test]
async fn operators_get_tokens_for_active_accounts_only() {
    let active = user(Role::Admin);
    let token = issue(repo_with(Some(active.clone())), MockPasswordHasher::new())
        .for_email(&Operator::from_os_user("alice"), active.email.as_str())
        .await
        .unwrap();
    assert_eq!(token.expose(), format!("token-for-{}", active.id));

    let gone = deactivated(user(Role::Admin));
    let refused = issue(repo_with(Some(gone.clone())), MockPasswordHasher::new())
        .for_email(&Operator::from_os_user("alice"), gone.email.as_str())
        .await;
    assert!(matches!(refused, Err(IssueTokenError::Deactivated)));
    let unknown = issue(repo_with(None), MockPasswordHasher::new())
        .for_email(&Operator::from_os_user("alice"), "nobody@example.com")
        .await;
    assert!(matches!(unknown, Err(IssueTokenError::InvalidCredentials)));
}

#[tokio::test]
async fn repeated_failures_are_throttled_before_any_hashing() {
    let account = user(Role::User);
    let mut hasher = MockPasswordHasher::new();
    // Five real checks, then the sixth attempt is refused without hashing.
    hasher.expect_verify().times(5).returning(|_, _| Ok(false));
    let login = issue(repo_with(Some(account.clone())), hasher);
    for _ in 0..5 {
        let wrong = login
            .login(account.email.as_str(), "wrong password", "6.6.6.6")
            .await;
        assert!(matches!(wrong, Err(IssueTokenError::InvalidCredentials)));
    }
    let throttled = login
        .login(account.email.as_str(), "correct horse", "6.6.6.6")
        .await;
    assert!(matches!(
        throttled,
        Err(IssueTokenError::Throttled {
            retry_after_seconds: 30
        })
    ));
}

#[tokio::test]
async fn a_busy_hasher_answers_busy_and_the_attempt_is_given_back() {
    let account = user(Role::User);
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_verify()
        .times(10)
        .returning(|_, _| Err(HashError::Busy));
    let login = issue(repo_with(Some(account.clone())), hasher);
    for _ in 0..10 {
        let busy = login
            .login(account.email.as_str(), "wrong password", "6.6.6.6")
            .await;
        assert!(matches!(busy, Err(IssueTokenError::Busy)), "{busy:?}");
    }
}
