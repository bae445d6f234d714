use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::UserId;

/// What a valid access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    pub subject: UserId,
    /// The subject's `token_version` when the token was issued.
    pub token_version: i32,
    /// The last moment the token is honoured (its expiry, with any leeway the verifier allows).
    /// A change made on its authority must still be within it when it is applied.
    pub valid_until: DateTime<Utc>,
}

/// Why a token was refused; for logs only, never for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(pub String);

/// Checks access tokens. It knows nothing of accounts: whether the subject still exists, is
/// active and holds the current token version is the domain's business.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuthVerifier: Send + Sync {
    /// # Errors
    /// [`InvalidToken`] for any token that is malformed, signed with another key or algorithm
    /// (including `none`), expired, not yet valid, or missing a required claim.
    async fn verify(&self, token: &str) -> Result<TokenClaims, InvalidToken>;
}
