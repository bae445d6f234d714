//! Accounts: creating and finding users.

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use warden_domain::ports::{Outbox, StoreError, UserRepo};
use warden_domain::{AccountStatus, NewUser, Role, User, UserId};

use super::helpers::*;

/// `create` stores a new, active account with `token_version` 0 and returns it; `find_by_id`,
/// `find_by_email` and `find_credentials` return it unchanged (every field, timestamps to the
/// microsecond, both roles, non-ASCII names, a blank first name) with its password hash.
pub async fn create_and_find_round_trip(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let created_at =
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 34, 56).unwrap() + TimeDelta::microseconds(789);
    for (role, first_name, last_name) in [
        (Role::User, "Zoë", "Ōkubo-Lovelace"),
        (Role::Admin, "", "Hopper"),
    ] {
        let new = NewUser {
            first_name: first_name.into(),
            last_name: last_name.into(),
            created_at,
            ..new_user(role)
        };
        let expected = User {
            id: new.id,
            email: new.email.clone(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            role,
            status: AccountStatus::Active,
            token_version: 0,
            created_at,
            updated_at: created_at,
        };
        let created = users.create(new.clone()).await.expect("create");
        assert_eq!(created, expected, "create returns the stored account");
        assert_eq!(
            users.find_by_id(&new.id).await.expect("find_by_id"),
            Some(expected.clone())
        );
        assert_eq!(
            users
                .find_by_email(&new.email)
                .await
                .expect("find_by_email"),
            Some(expected.clone())
        );
        let (user, hash) = users
            .find_credentials(&new.email)
            .await
            .expect("find_credentials")
            .expect("credentials of a stored account");
        assert_eq!(user, expected);
        assert_eq!(hash.as_str(), new.password_hash.as_str());
        if role == Role::Admin {
            retire(&*users, &created).await;
        }
    }
}

/// A taken email address or a taken id is a [`StoreError::Conflict`], and nothing is stored.
pub async fn create_rejects_taken_email_or_id(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let first = create(&*users, Role::User, "Ada").await;

    let same_email = NewUser {
        email: first.email.clone(),
        ..new_user(Role::User)
    };
    let result = users.create(same_email.clone()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "taken email: {result:?}"
    );
    assert_eq!(users.find_by_id(&same_email.id).await.expect("find"), None);

    let same_id = NewUser {
        id: first.id,
        ..new_user(Role::User)
    };
    let result = users.create(same_id.clone()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "taken id: {result:?}"
    );
    assert_eq!(
        users.find_by_email(&same_id.email).await.expect("find"),
        None
    );
    assert_eq!(
        users.find_by_id(&first.id).await.expect("find"),
        Some(first),
        "the first account is untouched"
    );
}

/// Unknown ids and addresses are `Ok(None)`, and an unknown user has no events.
pub async fn missing_user_is_none(users: Arc<dyn UserRepo>, _outbox: Arc<dyn Outbox>) {
    let id = UserId::generate();
    let email = unique_email();
    assert_eq!(users.find_by_id(&id).await.expect("find_by_id"), None);
    assert_eq!(
        users.find_by_email(&email).await.expect("find_by_email"),
        None
    );
    assert!(users
        .find_credentials(&email)
        .await
        .expect("find_credentials")
        .is_none());
    assert_eq!(
        users.events(&id, None, 10).await.expect("events"),
        Vec::new()
    );
}
