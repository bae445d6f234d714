//! # warden-sqlite
//!
//! The embedded store: [`SqliteStore`] implements the [`warden_domain::ports::UserRepo`] and
//! [`warden_domain::ports::Outbox`] ports on one SQLite file (or an in-memory database), through
//! diesel-async's `SyncConnectionWrapper` and a deadpool pool, with SQLite bundled.
//!
//! - Every pooled connection runs in WAL mode with a 5 s busy timeout and foreign keys on.
//! - Every write runs in `BEGIN IMMEDIATE`, so a check-then-write (the last-active-admin guard,
//!   "already in that state", claiming outbox rows) is serialised across connections and
//!   processes sharing the file.
//! - UUIDs are stored as hyphenated lower-case text, timestamps as fixed-width RFC 3339 UTC text
//!   with microseconds (`2026-11-25T12:00:00.000000Z`), so text order is time order.

mod audit_export;
mod changes;
mod clients;
mod directory;
mod errors;
mod idempotency;
mod jobs;
mod outbox;
mod pool;
mod provisioning;
mod rows;
mod schema;
mod ssf;
mod store;
mod timestamp;
mod user_repo;
mod webhooks;

pub use store::SqliteStore;
