use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{InvalidToken, TokenClaims};

/// The registered claims of a valid access token, as a token introspection reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectedToken {
    pub claims: TokenClaims,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`, without any leeway.
    pub expires_at: DateTime<Utc>,
}

/// Reads the registered claims of an access token after checking it exactly as the matching
/// [`super::AuthVerifier`] does.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TokenInspector: Send + Sync {
    /// # Errors
    /// [`InvalidToken`] whenever [`super::AuthVerifier::verify`] would refuse the token.
    async fn inspect(&self, token: &str) -> Result<InspectedToken, InvalidToken>;
}
