//! A second service reusing Warden's account-lifecycle rules through `warden-domain` alone,
//! written by following `docs/reuse.md` step by step (the guide quotes these files; a test
//! checks the quotes).
//!
//! - [`store::HostStore`]: the host's own in-memory [`warden_domain::ports::UserRepo`] and
//!   [`warden_domain::ports::Outbox`], held to Warden's conformance suite
//!   (`tests/contract.rs`).
//! - [`sessions::HostSessions`]: the host's own [`warden_domain::ports::AuthVerifier`].
//! - [`service::HostService`]: the deactivate/reactivate flow, every refusal mapped to the
//!   host's own [`reply::Reply`].

pub mod reply;
pub mod service;
pub mod sessions;
pub mod store;
