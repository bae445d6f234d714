//! The ports: what the domain needs from the outside world, and the contract each adapter must
//! honour. Adapters live in other crates; `warden-testkit` holds the conformance suites.

mod audit_export;
mod auth_verifier;
mod cause;
mod change_log;
mod client_repo;
mod clock;
mod idempotency_store;
mod job_store;
mod login_attempts;
mod mailer;
mod outbox;
mod password_hasher;
mod provisioning_repo;
mod ssf_repo;
mod store_error;
mod token_inspector;
mod token_issuer;
mod user_repo;
mod webhook_repo;
mod webhook_sender;

pub use audit_export::*;
pub use auth_verifier::*;
pub use cause::*;
pub use change_log::*;
pub use client_repo::*;
pub use clock::*;
pub use idempotency_store::*;
pub use job_store::*;
pub use login_attempts::*;
pub use mailer::*;
pub use outbox::*;
pub use password_hasher::*;
pub use provisioning_repo::*;
pub use ssf_repo::*;
pub use store_error::*;
pub use token_inspector::*;
pub use token_issuer::*;
pub use user_repo::*;
pub use webhook_repo::*;
pub use webhook_sender::*;
