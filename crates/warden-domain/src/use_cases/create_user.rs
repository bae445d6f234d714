use std::sync::Arc;

use crate::ports::{Clock, HashError, PasswordHasher, StoreError, UserRepo};
use crate::{EmailAddress, NewUser, Password, Role, User, UserId};

/// The raw input for a new account, as an operator typed it.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub password: Password,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateUserError {
    /// The email address does not parse as an [`crate::EmailAddress`].
    #[error("not a valid email address")]
    InvalidEmail,
    /// A first or last name is longer than the limit or holds a control character.
    #[error("names must be at most {MAX_NAME_CHARS} characters, without control characters")]
    InvalidName,
    /// An account with this email address (as normalised) exists already; nothing was stored.
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// The password could not be hashed: [`HashError::Busy`] when every hashing slot stayed
    /// taken (worth retrying), otherwise the algorithm failed. Nothing was stored.
    #[error("password hashing failed")]
    Hashing(#[source] HashError),
    /// The store failed (see [`StoreError`]): [`StoreError::Unavailable`] when it could not be
    /// reached in time (worth retrying), otherwise a bug or corrupt data. Nothing was changed.
    #[error(transparent)]
    Store(StoreError),
}

const MAX_NAME_CHARS: usize = 100;

/// Registers an active account with a hashed password.
#[derive(Clone)]
pub struct CreateUser {
    users: Arc<dyn UserRepo>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl CreateUser {
    pub fn new(
        users: Arc<dyn UserRepo>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            hasher,
            clock,
        }
    }

    /// # Errors
    /// See [`CreateUserError`].
    pub async fn execute(&self, account: NewAccount) -> Result<User, CreateUserError> {
        let email =
            EmailAddress::parse(&account.email).map_err(|_| CreateUserError::InvalidEmail)?;
        let first_name = account.first_name.trim().to_owned();
        let last_name = account.last_name.trim().to_owned();
        if !valid_name(&first_name) || !valid_name(&last_name) {
            return Err(CreateUserError::InvalidName);
        }
        let password_hash = self
            .hasher
            .hash(&account.password)
            .await
            .map_err(CreateUserError::Hashing)?;
        let new_user = NewUser {
            id: UserId::generate(),
            email,
            password_hash,
            first_name,
            last_name,
            role: account.role,
            created_at: self.clock.now(),
        };
        self.users.create(new_user).await.map_err(|e| match e {
            StoreError::Conflict(_) => CreateUserError::EmailTaken,
            other => CreateUserError::Store(other),
        })
    }
}

pub(crate) fn valid_name(name: &str) -> bool {
    name.chars().count() <= MAX_NAME_CHARS
        && !name
            .chars()
            .any(|c| c.is_control() || crate::text::is_format(c))
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CreateUser")
    }
}

#[cfg(test)]
#[path = "create_user_tests.rs"]
mod tests;
