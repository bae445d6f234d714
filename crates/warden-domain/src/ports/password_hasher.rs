use async_trait::async_trait;

use crate::{Password, PasswordHash};

/// Hashes and checks passwords with a slow, salted algorithm.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// # Errors
    /// Only on an internal failure of the algorithm.
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash>;

    /// Whether `password` matches `hash`. With `hash` `None` (an unknown account) it MUST do the
    /// same amount of work as for a real hash and return `Ok(false)`, so that response times do
    /// not reveal which accounts exist.
    ///
    /// # Errors
    /// When `hash` is not a hash this hasher understands.
    async fn verify<'a>(
        &self,
        password: &Password,
        hash: Option<&'a PasswordHash>,
    ) -> anyhow::Result<bool>;
}
