use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::{Client, ClientRef, ClientSecret, NewClient, TokenHash};

/// The registered machine clients.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClientRepo: Send + Sync {
    /// Stores a new, live client.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a live client has the same name, or the id or token hash
    /// exists; [`StoreError::Unavailable`] when the store cannot be reached;
    /// [`StoreError::Other`] otherwise.
    async fn create(&self, client: NewClient) -> Result<Client, StoreError>;

    /// Every client, revoked ones included, oldest first (ties by id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn list(&self) -> Result<Vec<Client>, StoreError>;

    /// Revokes the **live** client `which` names, at `at`, atomically (one conditional write):
    /// its token MUST be refused by [`ClientRepo::find_live_by_token_hash`] from then on.
    /// Returns the revoked client, or `None` when no live client matches (unknown, or revoked
    /// already: a revocation is never moved).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was written.
    async fn revoke(
        &self,
        which: &ClientRef,
        at: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError>;

    /// The live client whose token has this hash; `None` for an unknown or revoked one.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn find_live_by_token_hash(&self, hash: &TokenHash)
        -> Result<Option<Client>, StoreError>;
}

/// Makes client tokens and the digests they are stored by. A token MUST carry at least 256
/// random bits, so that a fast digest of it is safe to store; the same token always gives the
/// same hash.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ClientTokens: Send + Sync {
    /// A new random token and its hash.
    fn generate(&self) -> (ClientSecret, TokenHash);

    /// The hash of a presented token.
    fn hash(&self, token: &str) -> TokenHash;
}
