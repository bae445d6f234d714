//! Shared by the integration tests: a fresh, migrated store in a schema of its own, or a skip.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;
use warden_domain::ports::UserRepo;
use warden_domain::{
    Actor, EmailAddress, NewUser, PasswordHash, Role, StatusAction, StatusChange, User, UserId,
};
use warden_postgres::testing::TestSchema;
use warden_postgres::PgStore;

/// The PostgreSQL to test against, or `None` (after saying the test is skipped, and why).
/// Under CI a missing URL is never a skip: see [`warden_postgres::testing::test_database_url`].
pub fn database_url(test: &str) -> Option<String> {
    let url = warden_postgres::testing::test_database_url();
    if url.is_none() {
        println!(
            "skipped {test}: WARDEN_TEST_DATABASE_URL is not set \
             (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
    }
    url
}

/// A migrated store in its own schema. Fields drop in order: the pool, then the schema.
pub struct Db {
    pub store: PgStore,
    pub schema: TestSchema,
}

impl Db {
    pub async fn fresh(test: &str) -> Option<Db> {
        let base = database_url(test)?;
        let schema = TestSchema::create(&base).await.expect("create test schema");
        let store = connect(schema.url()).await;
        store.migrate().await.expect("migrate");
        Some(Db { store, schema })
    }

    /// Another process's view of the same database: a second pool on the same schema.
    pub async fn replica(&self) -> PgStore {
        connect(self.schema.url()).await
    }

    pub fn users(&self) -> Arc<dyn UserRepo> {
        Arc::new(self.store.clone())
    }
}

/// A multi-thread runtime of one worker (as `warden serve`'s main runtime) and, connected and
/// migrated on it, a store of at most `max_connections` in a schema of its own: the store's
/// shared pool is driven on that runtime.
pub fn on_main_runtime(
    base: &str,
    max_connections: usize,
    timeout: Duration,
) -> (tokio::runtime::Runtime, TestSchema, PgStore) {
    let main = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (schema, store) = main.block_on(async {
        let schema = TestSchema::create(base).await.unwrap();
        let store = PgStore::connect(schema.url(), max_connections, timeout)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (schema, store)
    });
    (main, schema, store)
}

pub async fn connect(url: &str) -> PgStore {
    PgStore::connect(url, 8, Duration::from_secs(10))
        .await
        .expect("connect")
}

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn new_user(role: Role, first_name: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: EmailAddress::parse(&format!("{}@example.com", Uuid::now_v7().simple())).unwrap(),
        password_hash: PasswordHash::new("$argon2id$test".into()),
        first_name: first_name.into(),
        last_name: "Tester".into(),
        role,
        created_at: now(),
    }
}

pub async fn create(users: &dyn UserRepo, role: Role, first_name: &str) -> User {
    users.create(new_user(role, first_name)).await.unwrap()
}

pub fn change(action: StatusAction, target: &User, actor: &User) -> StatusChange {
    StatusChange {
        action,
        target: target.id,
        actor: Actor::admin(actor.id, actor.email.to_string(), actor.token_version),
        reason: None,
        at: now(),
        event_id: Uuid::now_v7(),
        notification_id: Uuid::now_v7(),
        until: None,
        only_if_due_at: None,
        target_roles: warden_domain::RoleSet::ALL,
    }
}
