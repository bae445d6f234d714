use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{QueryError, Staff};
use crate::ports::{Clock, LoginAttempts, UserRepo};
use crate::{AccountStatus, AuditAction, Reason, RecordedActor, User, UserId};

/// One thing that keeps an account from signing in. More causes may be added (a timed
/// suspension, an account without a password): match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessReason {
    /// The account is deactivated: no sign-in from anywhere, and no token it holds works.
    Deactivated {
        at: DateTime<Utc>,
        /// Who did it, as the audit trail recorded it (`None` if the event is gone).
        by: Option<RecordedActor>,
        reason: Option<Reason>,
        /// When a timed suspension ends (the system reactivates the account then); `None`:
        /// until an admin reactivates it.
        until: Option<DateTime<Utc>>,
    },
    /// Repeated failed sign-ins locked some clients out of the account for a while; other
    /// clients are not affected.
    SignInThrottled {
        /// How many clients are locked out.
        clients: u32,
        /// When the last of those lockouts ends.
        until: DateTime<Utc>,
    },
    /// The account has no password (a provisioning client created it): a password sign-in
    /// fails until one is set by other means.
    NoPassword,
}

impl AccessReason {
    /// The reason's stable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Deactivated { .. } => "deactivated",
            Self::SignInThrottled { .. } => "sign_in_throttled",
            Self::NoPassword => "no_password",
        }
    }
}

/// Why an account can or cannot sign in, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReport {
    pub user: User,
    /// Every cause in force; empty when nothing stands in the way.
    pub reasons: Vec<AccessReason>,
    pub at: DateTime<Utc>,
}

impl AccessReport {
    /// Whether nothing keeps the account from signing in. A sign-in lockout counts, although
    /// it only holds for the clients it locked: that is usually where the user tries from.
    pub fn can_sign_in(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Answers "why can't this user sign in?" from the account's status, its audit trail and the
/// sign-in lockouts.
#[derive(Clone)]
pub struct ExplainAccess {
    users: Arc<dyn UserRepo>,
    attempts: Arc<dyn LoginAttempts>,
    clock: Arc<dyn Clock>,
}

impl ExplainAccess {
    pub fn new(
        users: Arc<dyn UserRepo>,
        attempts: Arc<dyn LoginAttempts>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            attempts,
            clock,
        }
    }

    /// # Errors
    /// [`QueryError::NotFound`] for an unknown id; [`QueryError::Store`] when a store fails.
    pub async fn explain(&self, _staff: &Staff, id: UserId) -> Result<AccessReport, QueryError> {
        let user = self
            .users
            .find_by_id(&id)
            .await?
            .ok_or(QueryError::NotFound)?;
        let now = self.clock.now();
        let mut reasons = Vec::new();
        if let AccountStatus::Deactivated(deactivation) = &user.status {
            // The latest event of an inactive account is its deactivation: the status and
            // its event are written together.
            let latest = self.users.events(&user.id, None, 1).await?;
            let by = latest
                .into_iter()
                .find(|event| event.action == AuditAction::Deactivated)
                .map(|event| event.actor);
            reasons.push(AccessReason::Deactivated {
                at: deactivation.at,
                by,
                reason: deactivation.reason.clone(),
                until: deactivation.until,
            });
        }
        let password = self.users.find_credentials(&user.email).await?;
        if password.is_some_and(|(_, hash)| !hash.is_set()) {
            reasons.push(AccessReason::NoPassword);
        }
        let lockouts = self.attempts.lockouts(user.email.as_str(), now).await?;
        if let (clients @ 1.., Some(until)) = (lockouts.clients, lockouts.until) {
            reasons.push(AccessReason::SignInThrottled { clients, until });
        }
        Ok(AccessReport {
            user,
            reasons,
            at: now,
        })
    }
}

impl std::fmt::Debug for ExplainAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExplainAccess")
    }
}

#[cfg(test)]
#[path = "explain_access_tests.rs"]
mod tests;
