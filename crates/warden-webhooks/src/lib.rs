//! # warden-webhooks
//!
//! The outbound HTTP adapter of Warden's webhooks: [`HttpWebhookSender`] implements the
//! domain's [`warden_domain::ports::WebhookSender`] port with reqwest (rustls, no redirects, no
//! proxy), and the address rules of webhook targets hold at both ends: when an endpoint is
//! registered ([`check_url`], [`WebhookTargets`]) and when each request connects (a resolver
//! that drops every address the domain's [`warden_domain::forbidden_address`] refuses). With
//! `allow_private` (`WARDEN_WEBHOOK_ALLOW_PRIVATE=true`) both rules are lifted.
//!
//! What is sent (the payload, its Standard Webhooks signature, the retry schedule) is the
//! domain's; this crate only carries it. No actix, no database.

mod outbound;
mod resolver;
mod sender;
mod set_push;
mod target;

pub use sender::{HttpWebhookSender, SEND_TIMEOUT};
pub use set_push::{PushAnswer, SetPusher, SET_CONTENT_TYPE};
pub use target::{check_url, BadTarget, WebhookTargets, MAX_URL_LEN};
