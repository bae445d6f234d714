//! Shared Signals (SSF 1.0): the security events a status change owes every receiver's stream,
//! and the streams themselves. The protocol (SET claims, the JSON shapes) lives in `warden-ssf`;
//! what is decided here is which events a change emits and what a stream's status means.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{ActorKind, StatusAction};

/// An event type a stream can carry, named by its URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecurityEventType {
    /// RISC: the account was disabled.
    AccountDisabled,
    /// RISC: the account was enabled again.
    AccountEnabled,
    /// CAEP: the account's sessions were revoked (with every deactivation).
    SessionRevoked,
    /// SSF: the answer to a receiver's verification request.
    Verification,
}

/// The types a status change emits (every type but verification), in URI order of listings.
pub const STATUS_EVENT_TYPES: [SecurityEventType; 3] = [
    SecurityEventType::AccountDisabled,
    SecurityEventType::AccountEnabled,
    SecurityEventType::SessionRevoked,
];

impl SecurityEventType {
    pub fn uri(self) -> &'static str {
        match self {
            Self::AccountDisabled => {
                "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
            }
            Self::AccountEnabled => {
                "https://schemas.openid.net/secevent/risc/event-type/account-enabled"
            }
            Self::SessionRevoked => {
                "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
            }
            Self::Verification => "https://schemas.openid.net/secevent/ssf/event-type/verification",
        }
    }

    /// The type named by `uri`; `None` for any other text.
    pub fn parse(uri: &str) -> Option<Self> {
        STATUS_EVENT_TYPES
            .into_iter()
            .chain([Self::Verification])
            .find(|t| t.uri() == uri)
    }

    /// The events a status change emits, in the order a receiver gets them: a deactivation
    /// disables the account and revokes its sessions (one transaction, `txn`); a reactivation
    /// (the timed lift too) enables it.
    pub fn of(action: StatusAction) -> &'static [SecurityEventType] {
        match action {
            StatusAction::Deactivate => &[Self::AccountDisabled, Self::SessionRevoked],
            StatusAction::Reactivate => &[Self::AccountEnabled],
        }
    }
}

/// CAEP `initiating_entity` of a change made by an actor of `kind`: `admin` for people and
/// operators, `policy` for machine clients, `system` for Warden's own scheduled work.
pub fn initiating_entity(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::User | ActorKind::Operator => "admin",
        ActorKind::Client => "policy",
        ActorKind::System => "system",
    }
}

/// A stream's status (SSF section 8.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// Events are written and delivered.
    Enabled,
    /// Events are written and held, delivered in order once the stream is enabled again.
    Paused,
    /// Events are neither written nor held.
    Disabled,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Paused => "paused",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Enabled, Self::Paused, Self::Disabled]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// How a stream's events reach its receiver. `Debug` never shows the authorization header.
#[derive(Clone, PartialEq, Eq)]
pub enum StreamDelivery {
    /// RFC 8935: Warden `POST`s each SET to `endpoint_url`, with `authorization_header` as the
    /// request's `Authorization` when given.
    Push {
        endpoint_url: String,
        authorization_header: Option<String>,
    },
    /// RFC 8936: the receiver polls Warden for its SETs.
    Poll,
}

impl std::fmt::Debug for StreamDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Push {
                endpoint_url,
                authorization_header,
            } => f
                .debug_struct("Push")
                .field("endpoint_url", endpoint_url)
                .field(
                    "authorization_header",
                    &authorization_header.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
            Self::Poll => f.write_str("Poll"),
        }
    }
}

impl StreamDelivery {
    /// The method's URN (SSF section 6.1).
    pub fn method(&self) -> &'static str {
        match self {
            Self::Push { .. } => PUSH_METHOD,
            Self::Poll => POLL_METHOD,
        }
    }
}

/// RFC 8935 push delivery.
pub const PUSH_METHOD: &str = "urn:ietf:rfc:8935";
/// RFC 8936 poll delivery.
pub const POLL_METHOD: &str = "urn:ietf:rfc:8936";

/// A receiver's stream: owned by one machine client, which alone sees and manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub id: Uuid,
    pub client_id: Uuid,
    /// The SETs' `aud`.
    pub audience: String,
    pub delivery: StreamDelivery,
    /// The event type URIs the receiver asked for, as it wrote them.
    pub events_requested: Vec<String>,
    /// What the stream carries: the requested types Warden supports.
    pub events_delivered: Vec<SecurityEventType>,
    pub status: StreamStatus,
    pub status_reason: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Stream {
    /// The supported types among `requested`, in the order of [`STATUS_EVENT_TYPES`].
    pub fn delivered_of(requested: &[String]) -> Vec<SecurityEventType> {
        STATUS_EVENT_TYPES
            .into_iter()
            .filter(|t| requested.iter().any(|r| r == t.uri()))
            .collect()
    }
}

/// One SET owed to a stream, as stored: everything its claims are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedSet {
    /// The SET's `jti`.
    pub jti: Uuid,
    pub stream_id: Uuid,
    /// The status change's audit event id (shared by the SETs of one change); a verification's
    /// own id.
    pub txn: Uuid,
    pub event_type: SecurityEventType,
    /// The account the event is about; `None` for a verification (the stream is its subject).
    pub subject: Option<Uuid>,
    /// When the change happened: the SET's `iat` and the event's `event_timestamp`.
    pub occurred_at: DateTime<Utc>,
    /// Who made the change (for `initiating_entity`).
    pub actor_kind: Option<ActorKind>,
    pub reason: Option<String>,
    /// A verification's `state`.
    pub state: Option<String>,
    /// Push attempts made (a claim counts one).
    pub attempts: u32,
}

/// What follows a push attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFinish {
    /// 202: delivered.
    Delivered,
    /// Retried at the time given, after the error given.
    RetryAt(DateTime<Utc>, String),
    /// Final: recorded, never retried.
    Failed(String),
}

/// A receiver's poll (RFC 8936): what it acknowledges and reports, and how many it wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollRequest {
    pub ack: Vec<Uuid>,
    /// SETs the receiver refused, with its error text (final, like an acknowledgement).
    pub set_errs: Vec<(Uuid, String)>,
    pub max_events: u32,
}
