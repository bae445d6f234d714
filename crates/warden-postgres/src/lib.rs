//! # warden-postgres
//!
//! The PostgreSQL adapter of Warden's storage ports: [`PgStore`] implements
//! [`warden_domain::ports::UserRepo`] and [`warden_domain::ports::Outbox`] with diesel-async
//! over tokio-postgres (no libpq), a deadpool pool, and the embedded migrations of
//! `migrations/postgres`. Built for several replicas sharing one database: status changes are
//! conditional single statements (or, for admins, a short advisory-locked transaction) and
//! outbox claims use `FOR UPDATE SKIP LOCKED`.
//!
//! With the `testing` feature, [`testing::TestSchema`] gives each test a schema of its own.

mod audit_export;
mod change_group;
mod changes;
mod clients;
mod connection;
mod directory;
mod errors;
mod idempotency;
mod jobs;
mod login_attempts;
mod migrations;
mod outbox;
#[cfg(test)]
mod plan_probe;
mod prepared;
mod provisioning;
mod role_change;
mod rows;
mod schema;
mod ssf;
mod status_change;
mod status_sql;
mod store;
mod tls;
mod user_repo;
mod webhooks;

#[cfg(feature = "testing")]
pub mod testing;

pub use login_attempts::PgLoginAttempts;
pub use store::PgStore;
