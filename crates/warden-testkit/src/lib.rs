//! Test support shared by every Warden crate:
//! - [`contract`]: the conformance suite that every `UserRepo` + `Outbox` adapter must pass;
//! - [`login_attempts`]: the conformance suite of `LoginAttempts` adapters;
//! - [`smtp_sink`]: a real SMTP server for tests, which records what it receives.

pub mod contract;
pub mod login_attempts;
pub mod smtp_sink;
