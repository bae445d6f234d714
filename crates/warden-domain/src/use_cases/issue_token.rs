use std::sync::Arc;

use crate::ports::{AccessToken, Clock, PasswordHasher, StoreError, TokenIssuer, UserRepo};
use crate::{EmailAddress, LoginThrottle, Password, User};

#[derive(Debug, thiserror::Error)]
pub enum IssueTokenError {
    /// Unknown email or wrong password (never says which).
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("user account is deactivated")]
    Deactivated,
    /// Too many failed sign-ins from this client (for this account, or at all).
    #[error("too many failed sign-ins; retry in {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    #[error("credential check failed")]
    Internal(#[source] anyhow::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues access tokens to active accounts: by password (sign-in) or, for operators, by email.
#[derive(Clone)]
pub struct IssueToken {
    users: Arc<dyn UserRepo>,
    hasher: Arc<dyn PasswordHasher>,
    issuer: Arc<dyn TokenIssuer>,
    clock: Arc<dyn Clock>,
    throttle: Arc<LoginThrottle>,
}

impl IssueToken {
    pub fn new(
        users: Arc<dyn UserRepo>,
        hasher: Arc<dyn PasswordHasher>,
        issuer: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        throttle: Arc<LoginThrottle>,
    ) -> Self {
        Self {
            users,
            hasher,
            issuer,
            clock,
            throttle,
        }
    }

    /// Sign-in from `client` (an address). A deactivated account is refused only after its
    /// password is proven right, so the refusal reveals nothing to someone who does not know
    /// the password. Failed attempts are throttled per account and client (see
    /// [`LoginThrottle`]).
    ///
    /// # Errors
    /// See [`IssueTokenError`].
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<AccessToken, IssueTokenError> {
        self.throttle
            .check(email, client, self.clock.now())
            .map_err(|retry_after_seconds| IssueTokenError::Throttled {
                retry_after_seconds,
            })?;
        let outcome = self.check_password(email, password).await;
        match &outcome {
            Err(IssueTokenError::InvalidCredentials) => {
                self.throttle
                    .record_failure(email, client, self.clock.now());
            }
            Ok(_) | Err(IssueTokenError::Deactivated) => {
                self.throttle.record_success(email, client)
            }
            Err(_) => {}
        }
        outcome
    }

    async fn check_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<AccessToken, IssueTokenError> {
        let email = EmailAddress::parse(email).ok();
        let password = Password::parse(password).ok();
        let found = match &email {
            Some(email) => self.users.find_credentials(email).await?,
            None => None,
        };
        let Some(password) = password else {
            return Err(IssueTokenError::InvalidCredentials);
        };
        let matches = self
            .hasher
            .verify(&password, found.as_ref().map(|(_, hash)| hash))
            .await
            .map_err(IssueTokenError::Internal)?;
        match found {
            Some((user, _)) if matches => self.issue_if_active(&user).await,
            _ => Err(IssueTokenError::InvalidCredentials),
        }
    }

    /// For trusted operator tools: a token for the active account with this email.
    ///
    /// # Errors
    /// [`IssueTokenError::InvalidCredentials`] for an unknown account,
    /// [`IssueTokenError::Deactivated`] for a deactivated one.
    pub async fn for_email(&self, email: &str) -> Result<AccessToken, IssueTokenError> {
        let email = EmailAddress::parse(email).map_err(|_| IssueTokenError::InvalidCredentials)?;
        let user = self
            .users
            .find_by_email(&email)
            .await?
            .ok_or(IssueTokenError::InvalidCredentials)?;
        self.issue_if_active(&user).await
    }

    async fn issue_if_active(&self, user: &User) -> Result<AccessToken, IssueTokenError> {
        if !user.is_active() {
            return Err(IssueTokenError::Deactivated);
        }
        self.issuer
            .issue(user, self.clock.now())
            .await
            .map_err(IssueTokenError::Internal)
    }
}

impl std::fmt::Debug for IssueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssueToken")
    }
}

#[cfg(test)]
#[path = "issue_token_tests.rs"]
mod tests;
