use std::sync::Arc;

use crate::ports::{AuthVerifier, StoreError, TokenClaims, UserRepo};
use chrono::{DateTime, Utc};

use crate::policy::{self, Act};
use crate::{Actor, Authority, EmailAddress, JobGrant, Operator, Role, User, UserId};

/// An active account that may administer others (an admin or a helpdesk) whose credentials
/// were checked just now. Only [`Authenticator`] can make one, so a use case that takes a
/// `&Staff` cannot be reached unauthorised. It carries the [`Actor`] the store re-checks when a
/// change commits, so authority that is withdrawn while a request is in flight (deactivation,
/// a role change, revoked tokens) stops it. What it may do to whom is the policy's
/// ([`crate::policy`]).
#[derive(Debug, Clone)]
pub struct Staff {
    user: User,
    actor: Actor,
    /// Until when the credential it acts on is honoured (`None`: an operator at the CLI).
    valid_until: Option<DateTime<Utc>>,
}

/// A [`Staff`] member who is an admin: only [`Authenticator`] makes one, so a use case that
/// takes an `&Admin` (clients, webhooks, role changes, bulk jobs) cannot be reached by a
/// helpdesk.
#[derive(Debug, Clone)]
pub struct Admin(Staff);

impl std::ops::Deref for Admin {
    type Target = Staff;

    fn deref(&self) -> &Staff {
        &self.0
    }
}

impl Staff {
    /// The account's role: [`Role::Admin`] or [`Role::Helpdesk`].
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Whether the policy lets this account do `act` to an account of role `target`.
    pub fn may(&self, act: Act, target: Role) -> bool {
        policy::permits(self.actor.subject(), act, target)
    }

    pub fn id(&self) -> UserId {
        self.user.id
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    /// Who acts, as recorded in the audit trail and re-checked at commit.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The authority a background job started by this admin acts on; `None` for an operator
    /// (the CLI starts no jobs).
    pub fn job_grant(&self) -> Option<JobGrant> {
        match (self.actor.authority(), self.valid_until) {
            (Authority::Account { token_version, .. }, Some(valid_until)) => Some(JobGrant {
                account: self.user.id,
                token_version: *token_version,
                valid_until,
            }),
            _ => None,
        }
    }

    /// Whether the credential this admin acts on is still honoured at `now` (a token expires;
    /// an operator's claim does not).
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.valid_until.is_none_or(|until| now <= until)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No credential, an invalid one, or one whose subject is gone, deactivated or has had its
    /// tokens revoked since. The text is for logs only.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// A valid credential of an account that lacks the required role.
    #[error("forbidden")]
    Forbidden,
    /// The account named by the credential could not be loaded (the store's `find_by_id` or
    /// `find_by_email` failed, see [`StoreError`]); nothing was decided about the caller.
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
        Ok(self.checked(token).await?.0)
    }

    async fn checked(&self, token: Option<&str>) -> Result<(User, TokenClaims), AccessError> {
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
        Ok((user, claims))
    }

    /// Like [`Authenticator::user`], and the account must be an admin.
    ///
    /// # Errors
    /// As [`Authenticator::user`], plus [`AccessError::Forbidden`] for a non-admin.
    pub async fn admin(&self, token: Option<&str>) -> Result<Admin, AccessError> {
        only_admin(self.staff(token).await?)
    }

    /// Like [`Authenticator::user`], and the account must be staff (an admin or a helpdesk).
    ///
    /// # Errors
    /// As [`Authenticator::user`], plus [`AccessError::Forbidden`] for a `user`.
    pub async fn staff(&self, token: Option<&str>) -> Result<Staff, AccessError> {
        let (user, claims) = self.checked(token).await?;
        let actor = Actor::staff(
            user.id,
            user.email.to_string(),
            user.token_version,
            user.role,
        );
        admit(user, actor, Some(claims.valid_until))
    }

    /// The admin a background job acts as, from the [`JobGrant`] of the request that started
    /// it, under the rules of [`Authenticator::admin`]: the account still exists, is active, an
    /// admin, and on the grant's token version. The grant does not expire with that request's
    /// token: a job acts on its admin's authority for as long as that authority holds (any
    /// status change of the admin, or a revocation of their tokens, bumps the version and ends
    /// it), and the store re-checks it at each item's commit.
    ///
    /// # Errors
    /// As [`Authenticator::admin`].
    pub async fn admin_for_job(&self, grant: &JobGrant) -> Result<Admin, AccessError> {
        let user = self
            .users
            .find_by_id(&grant.account)
            .await?
            .ok_or_else(|| unauthenticated("the job's admin does not exist"))?;
        if !user.is_active() {
            return Err(unauthenticated("the job's admin is deactivated"));
        }
        if user.token_version != grant.token_version {
            return Err(unauthenticated(
                "the job's token was revoked by a status change",
            ));
        }
        let actor = Actor::admin(user.id, user.email.to_string(), user.token_version);
        only_admin(admit(user, actor, None)?)
    }

    /// For an [`Operator`] who names the acting admin instead of presenting a token: the same
    /// account rules apply. The result acts as an [`crate::ActorKind::Operator`] recorded under the
    /// operator's OS user, on the admin's token version of this moment (re-checked at commit).
    /// Only operator tools can make an `Operator` (HTTP code never does); whoever can run them
    /// holds the database anyway, and the audit trail says who claimed what.
    ///
    /// # Errors
    /// [`AccessError::Unauthenticated`] for an unknown or deactivated account,
    /// [`AccessError::Forbidden`] for a non-admin, [`AccessError::Store`] on store failure.
    pub async fn admin_by_email(
        &self,
        operator: &Operator,
        email: &EmailAddress,
    ) -> Result<Admin, AccessError> {
        only_admin(self.staff_by_email(operator, email).await?)
    }

    /// Like [`Authenticator::admin_by_email`], for any staff account (an admin or a helpdesk).
    ///
    /// # Errors
    /// As [`Authenticator::admin_by_email`], [`AccessError::Forbidden`] for a `user`.
    pub async fn staff_by_email(
        &self,
        operator: &Operator,
        email: &EmailAddress,
    ) -> Result<Staff, AccessError> {
        let user = self
            .users
            .find_by_email(email)
            .await?
            .ok_or_else(|| unauthenticated("no such account"))?;
        if !user.is_active() {
            return Err(unauthenticated("account is deactivated"));
        }
        let actor = Actor::operator(user.id, operator.os_user(), user.token_version, user.role);
        admit(user, actor, None)
    }
}

fn admit(
    user: User,
    actor: Actor,
    valid_until: Option<DateTime<Utc>>,
) -> Result<Staff, AccessError> {
    if user.is_staff() {
        Ok(Staff {
            user,
            actor,
            valid_until,
        })
    } else {
        Err(AccessError::Forbidden)
    }
}

fn only_admin(staff: Staff) -> Result<Admin, AccessError> {
    if staff.role() == Role::Admin {
        Ok(Admin(staff))
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
