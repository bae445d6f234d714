//! Test support shared by every Warden crate:
//! - [`ci`]: whether the tests run under CI (then nothing may skip);
//! - [`contract`]: the conformance suite that every `UserRepo` + `Outbox` adapter must pass;
//! - [`login_attempts`]: the conformance suite of `LoginAttempts` adapters;
//! - [`memory_store`]: [`MemoryStore`], the in-memory `UserRepo` + `Outbox` that passes the
//!   same suite, for tests, examples and benchmarks (with [`warden_domain::MemoryLoginAttempts`]);
//! - [`failing`]: a decorator that makes a store's status changes fail, to test error paths;
//! - [`smtp_sink`]: a real SMTP server for tests, which records what it receives;
//! - [`webhook_sink`]: a real HTTP receiver of webhooks for tests, with scripted answers.

pub mod ci;
pub mod contract;
pub mod failing;
pub mod login_attempts;
mod memory_changes;
mod memory_clients;
pub mod memory_idempotency;
pub mod memory_jobs;
mod memory_ssf;
pub mod memory_store;
mod memory_webhooks;
pub mod smtp_sink;
pub mod webhook_sink;

pub use memory_idempotency::MemoryIdempotencyStore;
pub use memory_jobs::MemoryJobStore;
pub use memory_store::MemoryStore;
