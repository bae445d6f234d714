//! What the conformance suite cannot see: migrations, files, reconnects, the stored format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use warden_domain::ports::{Outbox, UserRepo};
use warden_domain::{EmailAddress, NewUser, PasswordHash, Role, UserId};
use warden_sqlite::SqliteStore;

const TIMEOUT: Duration = Duration::from_secs(10);

fn new_user() -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: EmailAddress::parse("Ada@Example.com").unwrap(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$abc$def".into()),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        role: Role::Admin,
        created_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 34, 56).unwrap()
            + TimeDelta::nanoseconds(789_123),
    }
}

#[tokio::test]
async fn migrate_is_idempotent_and_a_file_store_persists_across_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/warden.db");
    let url = format!("sqlite://{}", path.display());
    let new = new_user();

    let store = SqliteStore::connect(&url, 2, TIMEOUT).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let created = store.create(new.clone()).await.unwrap();
    assert_eq!(created.created_at.timestamp_subsec_nanos(), 789_000);
    drop(store);
    assert!(path.exists(), "the parent directories were created");

    let store = SqliteStore::connect(&url, 2, TIMEOUT).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.find_by_id(&new.id).await.unwrap(), Some(created));
    assert_eq!(store.stats().await.unwrap().pending, 0);
    store.ping().await.unwrap();
}

#[derive(QueryableByName)]
struct StoredUser {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    created_at: String,
}

#[tokio::test]
async fn stores_lowercase_uuids_and_fixed_width_utc_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warden.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()), 1, TIMEOUT)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let new = new_user();
    store.create(new.clone()).await.unwrap();

    let path = path.to_str().unwrap().to_owned();
    let rows = tokio::task::spawn_blocking(move || {
        let mut conn = SqliteConnection::establish(&path).unwrap();
        diesel::sql_query("SELECT id, email, created_at FROM users")
            .load::<StoredUser>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, new.id.as_uuid().hyphenated().to_string());
    assert_eq!(rows[0].email, "ada@example.com");
    assert_eq!(rows[0].created_at, "2026-11-25T12:34:56.000789Z");
}

#[tokio::test]
async fn refuses_what_it_cannot_open() {
    assert!(
        SqliteStore::connect("postgres://localhost/warden", 1, TIMEOUT)
            .await
            .is_err()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let url = format!("sqlite://{}", file.join("warden.db").display());
    assert!(SqliteStore::connect(&url, 1, TIMEOUT).await.is_err());
}

#[tokio::test]
async fn debug_names_the_database() {
    let store = SqliteStore::connect("sqlite::memory:", 5, TIMEOUT)
        .await
        .unwrap();
    let debug = format!("{store:?}");
    assert!(debug.contains(":memory:"), "{debug}");
    assert!(debug.contains("max_connections: 1"), "{debug}");
}
