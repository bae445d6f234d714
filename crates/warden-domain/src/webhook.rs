//! Signed webhooks (Standard Webhooks v1): the events other services subscribe to, the endpoint
//! secrets and how a message is signed, and the retry schedule. Which addresses a delivery may
//! never reach is in `special_address`.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::{Reason, RecordedActor, StatusAction, UserId};

/// What a webhook tells: one type per kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum WebhookEventType {
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
}

/// Every event type, in the order listings show them.
pub const ALL_EVENT_TYPES: [WebhookEventType; 3] = [
    WebhookEventType::UserDeactivated,
    WebhookEventType::UserReactivated,
    WebhookEventType::UserRoleChanged,
];

/// From [`WebhookEventType::parse`]: the text names no webhook event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown webhook event type")]
pub struct UnknownEventType;

impl WebhookEventType {
    /// The name in the payload's `type` and in subscriptions.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::UserRoleChanged => "user.role_changed",
        }
    }

    /// # Errors
    /// [`UnknownEventType`] for a name that is not an event type.
    pub fn parse(text: &str) -> Result<Self, UnknownEventType> {
        ALL_EVENT_TYPES
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or(UnknownEventType)
    }

    /// The event a status change emits.
    pub fn of(action: StatusAction) -> Self {
        match action {
            StatusAction::Deactivate => Self::UserDeactivated,
            StatusAction::Reactivate => Self::UserReactivated,
        }
    }
}

/// An endpoint's signing secret: 32 random bytes, written `whsec_` + base64. Never printed by
/// `Debug`; shown to an admin only when created or rotated.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// From [`WebhookSecret::parse`]: not `whsec_` followed by base64 of an acceptable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a webhook secret (whsec_ and base64)")]
pub struct InvalidWebhookSecret;

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes.to_vec())
    }

    /// # Errors
    /// [`InvalidWebhookSecret`] unless `text` is `whsec_` and the base64 of at least one byte.
    pub fn parse(text: &str) -> Result<Self, InvalidWebhookSecret> {
        let encoded = text
            .strip_prefix(Self::PREFIX)
            .ok_or(InvalidWebhookSecret)?;
        match STANDARD.decode(encoded) {
            Ok(bytes) if !bytes.is_empty() => Ok(Self(bytes)),
            _ => Err(InvalidWebhookSecret),
        }
    }

    /// `whsec_` + base64 of the bytes: how it is shown and stored.
    pub fn expose(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.0))
    }

    /// One `v1,` signature: base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Whether `header` (space-separated `v1,` entries) holds a valid signature of the message
    /// by this secret. For receivers and tests; the comparison is in constant time.
    pub fn verifies(&self, header: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        header.split(' ').any(|entry| {
            entry
                .strip_prefix("v1,")
                .and_then(|sig| STANDARD.decode(sig).ok())
                .is_some_and(|sig| mac.clone().verify_slice(&sig).is_ok())
        })
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// How long a rotated-out secret keeps signing beside the new one.
pub const PREVIOUS_SECRET_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// A registered receiver of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// The subscribed types; `None`: every type, those added later included.
    pub events: Option<Vec<WebhookEventType>>,
    pub enabled: bool,
    pub secret: WebhookSecret,
    /// The secret before the last rotation, and until when it still signs.
    pub previous_secret: Option<(WebhookSecret, DateTime<Utc>)>,
    pub created_at: DateTime<Utc>,
    /// The admin account that created it; `None` for one created before this was recorded.
    pub created_by: Option<Uuid>,
}

impl WebhookEndpoint {
    /// Whether it wants events of type `event`.
    pub fn subscribes(&self, event: WebhookEventType) -> bool {
        self.events
            .as_ref()
            .is_none_or(|types| types.contains(&event))
    }

    /// The subscribed types, listed (every type for "all").
    pub fn event_types(&self) -> Vec<WebhookEventType> {
        self.events
            .clone()
            .unwrap_or_else(|| ALL_EVENT_TYPES.to_vec())
    }

    /// The `webhook-signature` header at `now`: the current secret's signature, and the previous
    /// secret's while it still signs, separated by a space.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8], now: DateTime<Utc>) -> String {
        let mut header = self.secret.sign(id, timestamp, body);
        if let Some((previous, until)) = &self.previous_secret {
            if now < *until {
                header.push(' ');
                header.push_str(&previous.sign(id, timestamp, body));
            }
        }
        header
    }
}

/// The longest description an endpoint may carry, in characters.
pub const MAX_WEBHOOK_DESCRIPTION_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at most 500 characters, without control or invisible formatting characters")]
pub struct InvalidWebhookDescription;

/// Checks an endpoint's description: what an admin reads in the listing must be what is
/// stored, so like reasons and names it holds no control character and no invisible format
/// character (a right-to-left override, a zero-width space).
///
/// # Errors
/// [`InvalidWebhookDescription`] when it is longer than [`MAX_WEBHOOK_DESCRIPTION_CHARS`] or
/// holds such a character.
pub fn check_webhook_description(text: &str) -> Result<(), InvalidWebhookDescription> {
    let bad = |c: char| c.is_control() || crate::text::is_format(c);
    if text.chars().count() > MAX_WEBHOOK_DESCRIPTION_CHARS || text.chars().any(bad) {
        return Err(InvalidWebhookDescription);
    }
    Ok(())
}

/// An endpoint to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub events: Option<Vec<WebhookEventType>>,
    pub secret: WebhookSecret,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One event owed to one endpoint, as it was when the change committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's id (the audit event's): `webhook-id`, the same on every attempt.
    pub event_id: Uuid,
    pub event_type: WebhookEventType,
    pub user_id: UserId,
    /// The user's email when the change was made.
    pub email: String,
    pub actor: RecordedActor,
    pub reason: Option<Reason>,
    /// For `user.role_changed`: from which role to which.
    pub role_shift: Option<crate::RoleShift>,
    pub at: DateTime<Utc>,
    /// Attempts so far (a claim counts one).
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub status: DeliveryStatus,
}

/// A delivery claimed for sending, with the endpoint it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub delivery: WebhookDelivery,
    pub endpoint: WebhookEndpoint,
}

/// The answer of a receiver, as the sender saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAnswer {
    /// An HTTP status, with the `Retry-After` delay it asked for, if any.
    Status {
        code: u16,
        retry_after: Option<TimeDelta>,
    },
    /// No answer: refused, unreachable, forbidden address, or too slow.
    NoAnswer,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again after this long.
    RetryAfter(TimeDelta),
    /// Tried enough: the delivery has failed.
    GiveUp,
    /// 410 Gone: the endpoint is disabled, the delivery has failed.
    DisableEndpoint,
}

/// The retry schedule of a failed delivery: the delays after the 1st, 2nd, ... failure, each
/// with up to `jitter` of itself added or taken away; after the last, the delivery has failed.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRetryPolicy {
    pub delays: Vec<TimeDelta>,
    /// Fraction of a delay (0..1) by which it may vary.
    pub jitter: f64,
    /// How long a claim holds a delivery: longer than a send may take.
    pub lease: TimeDelta,
}

impl Default for WebhookRetryPolicy {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Standard Webhooks' schedule), ±10 %.
    fn default() -> Self {
        Self {
            delays: vec![
                TimeDelta::seconds(5),
                TimeDelta::minutes(5),
                TimeDelta::minutes(30),
                TimeDelta::hours(2),
                TimeDelta::hours(5),
                TimeDelta::hours(10),
                TimeDelta::hours(10),
            ],
            jitter: 0.1,
            lease: TimeDelta::seconds(30),
        }
    }
}

/// Most a `Retry-After` may push an attempt back.
const MAX_RETRY_AFTER: TimeDelta = TimeDelta::hours(10);

impl WebhookRetryPolicy {
    /// What `answer` to the attempt numbered `attempts` (1 for the first) means. `unit` is a
    /// number in 0..1 (random in production) that places the jitter.
    pub fn judge(&self, answer: WebhookAnswer, attempts: u32, unit: f64) -> AttemptOutcome {
        let retry_after = match answer {
            WebhookAnswer::Status { code, .. } if (200..300).contains(&code) => {
                return AttemptOutcome::Delivered
            }
            WebhookAnswer::Status { code: 410, .. } => return AttemptOutcome::DisableEndpoint,
            WebhookAnswer::Status {
                code: 429 | 503,
                retry_after,
            } => retry_after,
            _ => None,
        };
        let Some(delay) = usize::try_from(attempts)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|index| self.delays.get(index))
        else {
            return AttemptOutcome::GiveUp;
        };
        let factor = 1.0 + self.jitter * (unit.clamp(0.0, 1.0) * 2.0 - 1.0);
        let millis = (delay.num_milliseconds() as f64 * factor).round() as i64;
        let scheduled = TimeDelta::milliseconds(millis.max(0));
        match retry_after {
            // The receiver said when: honoured, within reason.
            Some(asked) => {
                AttemptOutcome::RetryAfter(asked.clamp(TimeDelta::zero(), MAX_RETRY_AFTER))
            }
            None => AttemptOutcome::RetryAfter(scheduled),
        }
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
