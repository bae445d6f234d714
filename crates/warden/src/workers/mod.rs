//! The background loops of `warden serve`, and what follows a committed change
//! ([`after_commit`]): the outbox mail worker ([`outbox`]), the webhook worker ([`webhooks`]),
//! the bulk job runner ([`jobs`]) and the suspension lifter ([`lifter`]).

pub mod after_commit;
pub mod jobs;
pub mod lifter;
pub mod outbox;
pub mod ssf;
pub mod webhooks;
