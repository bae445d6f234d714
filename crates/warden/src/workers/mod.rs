//! The background loops of `warden serve`, and what follows a committed change
//! ([`after_commit`]): the outbox mail worker ([`outbox`]), the webhook worker ([`webhooks`]),
//! the bulk job runner ([`jobs`]), the suspension lifter ([`lifter`]) and the audit retention
//! ([`audit_retention`], with `WARDEN_AUDIT_RETENTION_DAYS`). Every loop has the
//! one shape of [`background`]: its file holds its [`background::Step`], and `spawn` returns
//! the [`background::Background`] handle `warden serve` stops on shutdown.

pub mod after_commit;
pub mod audit_retention;
pub mod background;
pub mod jobs;
pub mod lifter;
pub mod outbox;
pub mod ssf;
pub mod webhooks;
