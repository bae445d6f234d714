use std::sync::Arc;

use crate::ports::{AuthVerifier, StoreError, UserRepo};
use crate::{EmailAddress, User, UserId};

/// An active administrator whose credentials were checked just now. Only [`Authenticator`] can
/// make one, so a use case that takes an `&Admin` cannot be reached unauthorised.
#[derive(Debug, Clone)]
pub struct Admin(User);

impl Admin {
    pub fn id(&self) -> UserId {
        self.0.id
    }

    pub fn user(&self) -> &User {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No credential, an invalid one, or one whose subject is gone, deactivated or has had its
    /// tokens revoked since. The text is for logs only.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// A valid credential of an account that lacks the required role.
    #[error("forbidden")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turns a bearer token (or, for the operator CLI, an email address) into a checked actor.
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<dyn AuthVerifier>,
    users: Arc<dyn UserRepo>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator")
    }
}

impl Authenticator {
    pub fn new(verifier: Arc<dyn AuthVerifier>, users: Arc<dyn UserRepo>) -> Self {
        Self { verifier, users }
    }

    /// The active account the token was issued to, provided the token is still current.
    ///
    /// # Errors
    /// [`AccessError::Unauthenticated`] for a missing or invalid token, an unknown or
    /// deactivated subject, or a token issued before the subject's last status change;
    /// [`AccessError::Store`] when the account cannot be loaded.
    pub async fn user(&self, token: Option<&str>) -> Result<User, AccessError> {
        let token = token.ok_or_else(|| unauthenticated("no bearer token"))?;
        let claims = self
            .verifier
            .verify(token)
            .await
            .map_err(|e| AccessError::Unauthenticated(e.to_string()))?;
        let user = self
            .users
            .find_by_id(&claims.subject)
            .await?
            .ok_or_else(|| unauthenticated("token subject does not exist"))?;
        if !user.is_active() {
            return Err(unauthenticated("token subject is deactivated"));
        }
        if user.token_version != claims.token_version {
            return Err(unauthenticated("token was revoked by a status change"));
        }
        Ok(user)
    }

    /// Like [`Authenticator::user`], and the account must be an admin.
    ///
    /// # Errors
    /// As [`Authenticator::user`], plus [`AccessError::Forbidden`] for a non-admin.
    pub async fn admin(&self, token: Option<&str>) -> Result<Admin, AccessError> {
        admit(self.user(token).await?)
    }

    /// For trusted operator tools that name the acting admin instead of presenting a token:
    /// the same account rules apply.
    ///
    /// # Errors
    /// [`AccessError::Unauthenticated`] for an unknown or deactivated account,
    /// [`AccessError::Forbidden`] for a non-admin, [`AccessError::Store`] on store failure.
    pub async fn admin_by_email(&self, email: &EmailAddress) -> Result<Admin, AccessError> {
        let user = self
            .users
            .find_by_email(email)
            .await?
            .ok_or_else(|| unauthenticated("no such account"))?;
        if !user.is_active() {
            return Err(unauthenticated("account is deactivated"));
        }
        admit(user)
    }
}

fn admit(user: User) -> Result<Admin, AccessError> {
    if user.is_admin() {
        Ok(Admin(user))
    } else {
        Err(AccessError::Forbidden)
    }
}

fn unauthenticated(why: &str) -> AccessError {
    AccessError::Unauthenticated(why.to_owned())
}

#[cfg(test)]
#[path = "authenticate_tests.rs"]
mod tests;
