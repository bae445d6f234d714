use async_trait::async_trait;

use super::StoreError;
use crate::{Authorized, Client, ClientRef, ClientSecret, Guarded, NewClient, TokenHash};

/// The registered machine clients.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClientRepo: Send + Sync {
    /// Stores a new, live client created by `by` (its `created_by`: [`Authorized::created_by`]),
    /// and records [`crate::ChangeAction::ClientCreated`] ([`Authorized::record`], target the
    /// client), in one transaction that first re-checks `by.actor`'s authority: if it no longer
    /// holds, nothing is written and the answer is [`Guarded::ActorRevoked`].
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a live client has the same name, or the id or token hash
    /// exists; [`StoreError::Unavailable`] when the store cannot be reached;
    /// [`StoreError::Other`] otherwise.
    async fn create(
        &self,
        client: NewClient,
        by: &Authorized,
    ) -> Result<Guarded<Client>, StoreError>;

    /// Every client, revoked ones included, oldest first (ties by id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn list(&self) -> Result<Vec<Client>, StoreError>;

    /// Revokes the **live** client `which` names, at `by.at`, atomically (one transaction that
    /// first re-checks `by.actor`'s authority, as [`ClientRepo::create`]): its token MUST be
    /// refused by [`ClientRepo::find_live_by_token_hash`] from then on, and
    /// [`crate::ChangeAction::ClientRevoked`] is recorded in the same transaction. Returns the
    /// revoked client, or `None` when no live client matches (unknown, or revoked already: a
    /// revocation is never moved; nothing is recorded).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; then nothing was written.
    async fn revoke(
        &self,
        which: &ClientRef,
        by: &Authorized,
    ) -> Result<Guarded<Option<Client>>, StoreError>;

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
