//! Builders shared by the use-case unit tests.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::ports::{Clock, MockAuthVerifier, MockClock, MockUserRepo, TokenClaims};
use crate::use_cases::{Admin, Authenticator};
use crate::{AccountStatus, Deactivation, EmailAddress, Role, User, UserId};

pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

pub fn fixed_clock() -> Arc<dyn Clock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(at);
    Arc::new(clock)
}

pub fn user(role: Role) -> User {
    let id = UserId::generate();
    User {
        id,
        email: EmailAddress::parse(&format!("{}@example.com", id.as_uuid().simple())).unwrap(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role,
        status: AccountStatus::Active,
        token_version: 3,
        created_at: at(),
        updated_at: at(),
    }
}

pub fn deactivated(mut user: User) -> User {
    user.status = AccountStatus::Deactivated(Deactivation {
        at: at(),
        by: None,
        reason: None,
        until: None,
    });
    user
}

/// A fresh admin as the authenticator would produce it.
pub async fn admin() -> Admin {
    let account = user(Role::Admin);
    let claims = TokenClaims {
        subject: account.id,
        token_version: account.token_version,
        valid_until: at() + chrono::TimeDelta::hours(1),
    };
    let mut verifier = MockAuthVerifier::new();
    verifier.expect_verify().returning(move |_| Ok(claims));
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(account.clone())));
    Authenticator::new(Arc::new(verifier), Arc::new(users))
        .admin(Some("token"))
        .await
        .unwrap()
}
