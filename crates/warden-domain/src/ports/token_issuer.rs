use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

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
    /// Only on a signing failure, which is a bug or a broken key.
    async fn issue(&self, user: &User, now: DateTime<Utc>) -> anyhow::Result<AccessToken>;
}
