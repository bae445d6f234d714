//! The host's own answers: a status code and a fixed public message. Internal causes are kept
//! apart (`cause`, for the host's logs) and never become the message.

use warden_domain::ports::StoreError;
use warden_domain::use_cases::{AccessError, DeactivateError, ReactivateError};
use warden_domain::{InvalidReason, User};

/// What the host answers a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub message: &'static str,
    /// For the host's logs only.
    pub cause: Option<String>,
}

impl Reply {
    fn new(status: u16, message: &'static str) -> Self {
        Self {
            status,
            message,
            cause: None,
        }
    }

    fn logged(status: u16, message: &'static str, cause: &dyn std::fmt::Display) -> Self {
        Self {
            status,
            message,
            cause: Some(cause.to_string()),
        }
    }

    pub fn deactivated(_user: &User) -> Self {
        Self::new(200, "User deactivated")
    }

    pub fn reactivated(_user: &User) -> Self {
        Self::new(200, "User reactivated")
    }
}

// guide:begin refusals
/// Refused before the use case ran: the caller is not an active admin on a current token.
impl From<AccessError> for Reply {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::Unauthenticated(why) => Reply::logged(401, "Unauthorized", &why),
            AccessError::Forbidden => Reply::new(403, "Forbidden"),
            AccessError::Store(store) => store.into(),
            // `#[non_exhaustive]`: a refusal a newer warden-domain added. Refuse, and log it.
            other => Reply::logged(500, "Internal error", &other),
        }
    }
}

impl From<DeactivateError> for Reply {
    fn from(error: DeactivateError) -> Self {
        match error {
            DeactivateError::NotFound => Reply::new(404, "User not found"),
            DeactivateError::AlreadyDeactivated => Reply::new(409, "User is already deactivated"),
            DeactivateError::SelfDeactivation => Reply::new(400, "You cannot deactivate yourself"),
            DeactivateError::LastActiveAdmin => Reply::new(409, "The last active admin stays"),
            // Authorised when the request began, no longer when the change was to commit.
            DeactivateError::ActorRevoked => Reply::new(401, "Unauthorized"),
            DeactivateError::InvalidUntil(why) => Reply::logged(422, "Invalid end", &why),
            DeactivateError::Store(store) => store.into(),
            other => Reply::logged(500, "Internal error", &other),
        }
    }
}

impl From<ReactivateError> for Reply {
    fn from(error: ReactivateError) -> Self {
        match error {
            ReactivateError::NotFound => Reply::new(404, "User not found"),
            ReactivateError::AlreadyActive => Reply::new(409, "User is already active"),
            ReactivateError::ActorRevoked => Reply::new(401, "Unauthorized"),
            ReactivateError::Store(store) => store.into(),
            other => Reply::logged(500, "Internal error", &other),
        }
    }
}

impl From<StoreError> for Reply {
    fn from(error: StoreError) -> Self {
        match error {
            // Nothing was written: the caller may try again.
            StoreError::Unavailable(_) => Reply::logged(503, "Try again later", &error),
            StoreError::Conflict(_) | StoreError::Other(_) => {
                Reply::logged(500, "Internal error", &error)
            }
            other => Reply::logged(500, "Internal error", &other),
        }
    }
}
// guide:end refusals

/// A reason that is too long or holds control or formatting characters.
impl From<InvalidReason> for Reply {
    fn from(error: InvalidReason) -> Self {
        Reply::logged(422, "Invalid reason", &error)
    }
}
