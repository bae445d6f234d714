use async_trait::async_trait;

use crate::{Password, PasswordHash};

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// Every hashing slot stayed taken for the adapter's bounded wait: nothing was computed.
    /// Worth retrying shortly.
    #[error("password hashing is busy")]
    Busy,
    /// The algorithm failed, or the stored hash is not one this hasher understands.
    #[error("password hashing failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Hashes and checks passwords with a slow, salted algorithm.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// # Errors
    /// [`HashError::Busy`] when the adapter's bound on concurrent hashing stays reached for its
    /// bounded wait; [`HashError::Failed`] on an internal failure of the algorithm.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`. With `hash` `None` (an unknown account) it MUST do the
    /// same amount of work as for a real hash and return `Ok(false)`, so that response times do
    /// not reveal which accounts exist.
    ///
    /// # Errors
    /// [`HashError::Busy`] as for [`PasswordHasher::hash`]; [`HashError::Failed`] when `hash` is
    /// not a hash this hasher understands.
    async fn verify<'a>(
        &self,
        password: &Password,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError>;
}
