//! Safe retries (`Idempotency-Key`, after the IETF httpapi draft): the rules that decide whether
//! a request carrying a key acts, replays the first answer, or is refused.
//!
//! A key is scoped to the acting account and the route ([`IdempotencyScope`]); the request is
//! identified by a [`Fingerprint`] of its body. [`IdempotencyPolicy::decide`] is the one place
//! that reads a stored record; adapters of [`crate::ports::IdempotencyStore`] apply its decision
//! atomically and hold no rule of their own.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters (`!` to `~`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a text is not an [`IdempotencyKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    /// The key as sent, unchanged (keys are compared exactly, case included).
    ///
    /// # Errors
    /// [`InvalidIdempotencyKey`] when empty, longer than [`Self::MAX_LEN`], or holding anything
    /// but visible ASCII (space and control characters included).
    pub fn parse(text: &str) -> Result<Self, InvalidIdempotencyKey> {
        let visible = |b: &u8| (b'!'..=b'~').contains(b);
        if text.is_empty() || text.len() > Self::MAX_LEN || !text.bytes().all(|b| visible(&b)) {
            return Err(InvalidIdempotencyKey);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keys are chosen by clients and may be guessable handles: kept out of logs.
impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({} chars)", self.0.len())
    }
}

/// Whose key, on which route: two actors' keys, or one actor's keys on two routes, never meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    actor: String,
    route: String,
    key: IdempotencyKey,
}

impl IdempotencyScope {
    /// `actor` names the acting account (its id); `route` is the method and path template,
    /// e.g. `PATCH /api/v1/users/deactivate`.
    pub fn new(actor: impl fmt::Display, route: impl Into<String>, key: IdempotencyKey) -> Self {
        Self {
            actor: actor.to_string(),
            route: route.into(),
            key,
        }
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }
}

/// What identifies a request under one key: the SHA-256 of its raw body bytes, in lower-case
/// hex. Bytes, not parsed JSON: a retry is expected to resend exactly what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of_body(body: &[u8]) -> Self {
        let digest = Sha256::digest(body);
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A fingerprint as stored (adapters reading a record back).
    pub fn from_stored(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer stored for a completed request, replayed as sent: the status and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// A stored key: the request that reserved it, when, and its answer once completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: Fingerprint,
    pub reserved_at: DateTime<Utc>,
    /// `None` while the first request is in flight.
    pub response: Option<StoredResponse>,
}

/// What a request carrying a key must do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdempotencyDecision {
    /// Act: the key is (now) reserved for this request.
    Proceed,
    /// Do not act: answer with the first request's stored answer.
    Replay(StoredResponse),
    /// The first request with this key is still running.
    InProgress,
    /// The key was first used with another body.
    Mismatch,
}

/// The rules of safe retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdempotencyPolicy;

impl IdempotencyPolicy {
    /// How long a key is remembered, from its reservation. Older keys are treated as new and
    /// may be purged.
    pub const WINDOW: TimeDelta = TimeDelta::hours(24);
    /// How long a reservation may stay in flight before it counts as abandoned (its process
    /// died or lost the store), so that a retry takes it over.
    pub const ABANDONED_AFTER: TimeDelta = TimeDelta::seconds(60);

    /// The decision for a request with `fingerprint` at `now`, given the key's stored record.
    /// On [`IdempotencyDecision::Proceed`] the adapter (re)writes the record as in flight for
    /// this request, reserved at `now`.
    pub fn decide(
        existing: Option<&IdempotencyRecord>,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> IdempotencyDecision {
        let Some(record) = existing else {
            return IdempotencyDecision::Proceed;
        };
        let age = now - record.reserved_at;
        if age >= Self::WINDOW {
            return IdempotencyDecision::Proceed;
        }
        match &record.response {
            None if age >= Self::ABANDONED_AFTER => IdempotencyDecision::Proceed,
            _ if record.fingerprint != *fingerprint => IdempotencyDecision::Mismatch,
            Some(response) => IdempotencyDecision::Replay(response.clone()),
            None => IdempotencyDecision::InProgress,
        }
    }

    /// Records reserved before this instant have expired and may be purged.
    pub fn expired_before(now: DateTime<Utc>) -> DateTime<Utc> {
        now - Self::WINDOW
    }

    /// Whether an answer with `status` is stored and replayed: every answer but a server
    /// failure (5xx), whose reservation is released so that a retry acts afresh.
    pub fn stores(status: u16) -> bool {
        status < 500
    }
}

#[cfg(test)]
#[path = "idempotency_tests.rs"]
mod tests;
