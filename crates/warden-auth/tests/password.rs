#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_auth::Argon2Hasher;
use warden_domain::ports::PasswordHasher;
use warden_domain::{Password, PasswordHash};

fn fast() -> Argon2Hasher {
    Argon2Hasher::with_params(1024, 1, 1).unwrap()
}

fn password(text: &str) -> Password {
    Password::parse(text).unwrap()
}

#[tokio::test]
async fn a_hash_verifies_its_password_only() {
    let hasher = fast();
    let hash = hasher.hash(&password("correct horse")).await.unwrap();
    assert!(hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    assert!(!hash.as_str().contains("correct horse"));

    assert!(hasher
        .verify(&password("correct horse"), Some(&hash))
        .await
        .unwrap());
    assert!(!hasher
        .verify(&password("correct horse!"), Some(&hash))
        .await
        .unwrap());
}

#[tokio::test]
async fn salts_are_random() {
    let hasher = fast();
    let first = hasher.hash(&password("correct horse")).await.unwrap();
    let second = hasher.hash(&password("correct horse")).await.unwrap();
    assert_ne!(first, second);
}

#[tokio::test]
async fn an_unknown_account_is_false_not_an_error() {
    assert!(!fast()
        .verify(&password("correct horse"), None)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_malformed_hash_is_an_error() {
    let hasher = fast();
    for bad in [
        "",
        "plain text",
        "$argon2id$v=19$m=1024",
        "$2b$12$abcdefghijklmnopqrstuv",
    ] {
        let verdict = hasher
            .verify(
                &password("correct horse"),
                Some(&PasswordHash::new(bad.into())),
            )
            .await;
        assert!(verdict.is_err(), "{bad:?}: {verdict:?}");
    }
}

#[tokio::test]
async fn default_parameters_are_owasps_and_hashes_from_other_parameters_still_verify() {
    let default = Argon2Hasher::new();
    let old = fast().hash(&password("correct horse")).await.unwrap();
    assert!(default
        .verify(&password("correct horse"), Some(&old))
        .await
        .unwrap());
    let new = default.hash(&password("correct horse")).await.unwrap();
    assert!(new.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(Argon2Hasher::with_params(1, 0, 1).is_err());
}

#[tokio::test]
async fn hashes_agree_with_the_reference_implementation() {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
    let reference = argon2::Argon2::default();
    let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
    let theirs = reference
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
    let hasher = Argon2Hasher::new();
    let theirs = PasswordHash::new(theirs);
    assert!(hasher
        .verify(&password("correct horse"), Some(&theirs))
        .await
        .unwrap());
    assert!(!hasher
        .verify(&password("correct horse!"), Some(&theirs))
        .await
        .unwrap());
    let ours = hasher.hash(&password("correct horse")).await.unwrap();
    let parsed = argon2::password_hash::PasswordHash::new(ours.as_str()).unwrap();
    assert!(reference.verify_password(b"correct horse", &parsed).is_ok());
}

/// A hash that takes a while (30 passes over 19 MiB) to hold a slot.
fn slow_hash() -> PasswordHash {
    let zeros = "A".repeat(43);
    PasswordHash::new(format!(
        "$argon2id$v=19$m=19456,t=30,p=1$c2l4dGVlbiBieXRlIHNhbHQ${zeros}"
    ))
}

#[tokio::test]
async fn when_every_slot_stays_taken_hashing_is_busy_not_queued_forever() {
    use std::time::Duration;
    use warden_domain::ports::HashError;
    let hasher = Argon2Hasher::new().with_limits(1, Duration::from_millis(20));
    assert_eq!(hasher.concurrency(), 1);
    let holder = hasher.clone();
    let held = tokio::spawn(async move {
        holder
            .verify(&password("correct horse"), Some(&slow_hash()))
            .await
    });
    while hasher.idle_slots() > 0 {
        tokio::task::yield_now().await;
    }
    let busy = hasher.verify(&password("correct horse"), None).await;
    assert!(matches!(busy, Err(HashError::Busy)), "{busy:?}");
    let busy = hasher.hash(&password("correct horse")).await;
    assert!(matches!(busy, Err(HashError::Busy)), "{busy:?}");
    assert!(!held.await.unwrap().unwrap());
    // The slot is free again.
    assert!(!hasher
        .verify(&password("correct horse"), None)
        .await
        .unwrap());
}
