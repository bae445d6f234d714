use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::ErrorCause;
use crate::User;

/// A signed access token. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    token: String,
    pub expires_in_seconds: u64,
}

impl AccessToken {
    pub fn new(token: String, expires_in_seconds: u64) -> Self {
        Self {
            token,
            expires_in_seconds,
        }
    }

    pub fn expose(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AccessToken(<redacted>, expires in {}s)",
            self.expires_in_seconds
        )
    }
}

/// Mints access tokens that the matching [`super::AuthVerifier`] accepts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TokenIssuer: Send + Sync {
    /// A token for `user` carrying its id and current `token_version`, issued at `now`.
    ///
    /// # Errors
    /// [`TokenError`] only on a signing failure, which is a bug or a broken key.
    async fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<AccessToken, TokenError>;
}

/// A token could not be signed: a bug or a broken key, never the caller's fault.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the access token")]
pub struct TokenError(#[source] pub ErrorCause);

impl TokenError {
    pub fn new(cause: impl Into<ErrorCause>) -> Self {
        Self(cause.into())
    }
}
