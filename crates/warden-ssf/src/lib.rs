//! # warden-ssf
//!
//! The Shared Signals Framework (SSF 1.0) as Warden transmits it, as pure functions over the
//! domain's streams and queued SETs:
//! - [`set_claims`]: the claims of a Security Event Token (RFC 8417) for a queued event;
//! - [`discovery`]: the `/.well-known/ssf-configuration` document;
//! - [`config`]: stream configuration requests (validated) and responses (SSF section 8);
//! - [`poll`]: RFC 8936 poll requests and responses;
//! - [`push_finish`]: what an RFC 8935 push answer means for the SET.
//!
//! Signing is `warden-auth`'s (`SetKey`); sending is `warden-webhooks`' (`SetPusher`).

pub mod claims;
pub mod config;
pub mod discovery;
pub mod poll;
pub mod push;

pub use claims::set_claims;
pub use config::{BadRequest, StreamRequest};
pub use discovery::{discovery, Endpoints};
pub use push::push_finish;
