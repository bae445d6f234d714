use std::sync::Arc;

use super::*;
use crate::ports::{MockPasswordHasher, MockUserRepo};
use crate::use_cases::test_support::{at, fixed_clock};
use crate::{AccountStatus, PasswordHash};

fn hasher() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|p| Ok(PasswordHash::new(format!("hashed:{}", p.expose()))));
    hasher
}

fn account(email: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        password: Password::parse("correct horse").unwrap(),
        first_name: " Ada ".into(),
        last_name: "Lovelace".into(),
        role: Role::Admin,
    }
}

fn stored(new: NewUser) -> User {
    User {
        id: new.id,
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        role: new.role,
        status: AccountStatus::Active,
        token_version: 0,
        created_at: new.created_at,
        updated_at: new.created_at,
    }
}

#[tokio::test]
async fn stores_a_normalised_account_with_a_hashed_password() {
    let mut users = MockUserRepo::new();
    users
        .expect_create()
        .withf(|n| {
            n.email.as_str() == "ada@example.com"
                && n.password_hash.as_str() == "hashed:correct horse"
                && n.first_name == "Ada"
                && n.role == Role::Admin
                && n.created_at == at()
        })
        .times(1)
        .returning(|n| Ok(stored(n)));
    let user = CreateUser::new(Arc::new(users), Arc::new(hasher()), fixed_clock())
        .execute(account("Ada@Example.com"))
        .await
        .unwrap();
    assert!(user.is_active() && user.is_admin());
}

#[tokio::test]
async fn a_taken_email_is_reported_as_such() {
    let mut users = MockUserRepo::new();
    users
        .expect_create()
        .returning(|_| Err(StoreError::Conflict("users_email_key".into())));
    let err = CreateUser::new(Arc::new(users), Arc::new(hasher()), fixed_clock())
        .execute(account("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, CreateUserError::EmailTaken), "{err:?}");
}

#[tokio::test]
async fn invalid_input_never_reaches_the_hasher_or_store() {
    let create = CreateUser::new(
        Arc::new(MockUserRepo::new()),
        Arc::new(MockPasswordHasher::new()),
        fixed_clock(),
    );
    assert!(matches!(
        create.execute(account("not-an-email")).await,
        Err(CreateUserError::InvalidEmail)
    ));
    let mut long_name = account("ada@example.com");
    long_name.last_name = "x".repeat(101);
    assert!(matches!(
        create.execute(long_name).await,
        Err(CreateUserError::InvalidName)
    ));
    let mut nul_name = account("ada@example.com");
    nul_name.first_name = "A\u{0}da".into();
    assert!(matches!(
        create.execute(nul_name).await,
        Err(CreateUserError::InvalidName)
    ));
    let mut bidi_name = account("ada@example.com");
    bidi_name.last_name = "Lovelace\u{202E}nimda".into();
    assert!(matches!(
        create.execute(bidi_name).await,
        Err(CreateUserError::InvalidName)
    ));
}
