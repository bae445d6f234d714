use std::sync::Arc;

use crate::ports::{
    AccessToken, AttemptKey, Clock, ErrorCause, HashError, LoginAttempts, PasswordHasher, Release,
    Reservation, StoreError, TokenIssuer, UserRepo,
};
use crate::{EmailAddress, Operator, Password, User};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueTokenError {
    /// Unknown email or wrong password (never says which).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The password was right (or an operator asked), but the account is deactivated: no token
    /// is issued. Counts as a successful sign-in for throttling.
    #[error("user account is deactivated")]
    Deactivated,
    /// Too many failed sign-ins from this client (for this account, or at all).
    #[error("too many failed sign-ins; retry in {retry_after_seconds} s")]
    Throttled { retry_after_seconds: u64 },
    /// Too many passwords are being checked right now; nothing was judged. Worth retrying.
    #[error("password checking is busy")]
    Busy,
    /// The password hasher failed (other than busy) or the token issuer could not sign a
    /// token; the cause is for logs only.
    #[error("credential check failed")]
    Internal(#[source] ErrorCause),
    /// The account or the sign-in attempts could not be read or written: the store failed
    /// (see [`StoreError`]); no token was issued.
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
    attempts: Arc<dyn LoginAttempts>,
}

impl IssueToken {
    pub fn new(
        users: Arc<dyn UserRepo>,
        hasher: Arc<dyn PasswordHasher>,
        issuer: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        attempts: Arc<dyn LoginAttempts>,
    ) -> Self {
        Self {
            users,
            hasher,
            issuer,
            clock,
            attempts,
        }
    }

    /// Sign-in from `client` (an address). A deactivated account is refused only after its
    /// password is proven right, so the refusal reveals nothing to someone who does not know
    /// the password. Each attempt is reserved with [`LoginAttempts`] before the password is
    /// checked (so concurrent guesses cannot exceed the budget) and given back when it
    /// succeeds or could not be judged.
    ///
    /// # Errors
    /// See [`IssueTokenError`].
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<AccessToken, IssueTokenError> {
        let key = AttemptKey::new(email, client);
        match self.attempts.reserve(&key, self.clock.now()).await? {
            Reservation::Granted => {}
            Reservation::Refused {
                retry_after_seconds,
            } => {
                return Err(IssueTokenError::Throttled {
                    retry_after_seconds,
                })
            }
        }
        let outcome = self.check_password(email, password).await;
        let release = match &outcome {
            // The reservation already counted it.
            Err(IssueTokenError::InvalidCredentials) => None,
            Ok(_) | Err(IssueTokenError::Deactivated) => Some(Release::Succeeded),
            Err(_) => Some(Release::NotEvaluated),
        };
        if let Some(why) = release {
            self.attempts.release(&key, why, self.clock.now()).await?;
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
            // An account without a password is checked like an unknown one: the same work
            // (the hasher's dummy hash), the same refusal.
            .verify(
                &password,
                found
                    .as_ref()
                    .map(|(_, hash)| hash)
                    .filter(|hash| hash.is_set()),
            )
            .await
            .map_err(|error| match error {
                HashError::Busy => IssueTokenError::Busy,
                other => IssueTokenError::Internal(other.into()),
            })?;
        match found {
            Some((user, _)) if matches => self.issue_if_active(&user).await,
            _ => Err(IssueTokenError::InvalidCredentials),
        }
    }

    /// For an [`Operator`] (only operator tools make one; HTTP code never does): a token for
    /// the active account with this email, without its password.
    ///
    /// # Errors
    /// [`IssueTokenError::InvalidCredentials`] for an unknown account,
    /// [`IssueTokenError::Deactivated`] for a deactivated one.
    pub async fn for_email(
        &self,
        _operator: &Operator,
        email: &str,
    ) -> Result<AccessToken, IssueTokenError> {
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
            .map_err(|error| IssueTokenError::Internal(error.into()))
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
