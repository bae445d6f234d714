//! Provisioning: what an identity provider does to accounts through a machine client (SCIM).
//! Status changes go through [`DeactivateUser`] and [`ReactivateUser`] with the client as the
//! actor, so they have every effect an admin's have. The reason recorded for such a change is
//! provisioning policy, composed here ([`provisioning_reason`]), never by a protocol front-end.

use std::sync::Arc;

use super::{
    DeactivateError, DeactivateUser, Principal, Provisioner, ReactivateError, ReactivateUser,
};
use crate::policy::{self, Act};
use crate::ports::{Clock, ProvisioningRepo, StoreError, UserRepo};
use crate::{
    Authorized, EmailAddress, ExternalId, NewUser, PasswordHash, Profile, ProvisionedUser,
    ProvisioningFilter, Reason, Role, StatusAction, StatusChangeOutcome, UserId,
};

/// The attributes of an account a provisioning client asks for, as it sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInput {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub external_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// No such account, or one the provisioning client removed.
    #[error("user not found")]
    NotFound,
    /// The email address (the SCIM `userName`) does not parse as an [`crate::EmailAddress`].
    #[error("not a valid email address")]
    InvalidEmail,
    /// A given or family name is longer than 100 characters or holds a control character.
    #[error("names must be at most 100 characters, without control characters")]
    InvalidName,
    /// The client's `externalId` is not acceptable (see [`crate::ExternalId::parse`]).
    #[error("{0}")]
    InvalidExternalId(crate::InvalidExternalId),
    /// Another account has this email address (as normalised); nothing was stored.
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// The domain's refusal of a deactivation: the last active admin stays.
    #[error("cannot deactivate the last active admin")]
    LastActiveAdmin,
    /// The client was revoked before the change committed; nothing changed.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// The account is an admin or a helpdesk and the client lacks `scim.privileged` (the
    /// policy, [`crate::policy`]), as found when the change was to commit; nothing changed.
    #[error("the client may not change this account")]
    TargetForbidden,
    /// The account's version was not the one the client expected (SCIM's `If-Match`) when the
    /// change was to commit: it changed since the client read it; nothing changed.
    #[error("the account changed since the version the client expected")]
    VersionChanged,
    /// The store failed (see [`StoreError`]): [`StoreError::Unavailable`] when it could not be
    /// reached in time (worth retrying), otherwise a bug or corrupt data. Nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The provisioning use cases.
#[derive(Clone)]
pub struct Provision {
    accounts: Arc<dyn ProvisioningRepo>,
    deactivate: DeactivateUser,
    reactivate: ReactivateUser,
    clock: Arc<dyn Clock>,
}

impl Provision {
    pub fn new(
        users: Arc<dyn UserRepo>,
        accounts: Arc<dyn ProvisioningRepo>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            accounts,
            deactivate: DeactivateUser::new(users.clone(), clock.clone()),
            reactivate: ReactivateUser::new(users, clock.clone()),
            clock,
        }
    }

    /// A new active account, of role `user`, with no password (sign-in refuses it as a wrong
    /// password until one is set by other means).
    ///
    /// # Errors
    /// [`ProvisionError::InvalidEmail`], [`ProvisionError::InvalidName`],
    /// [`ProvisionError::InvalidExternalId`], [`ProvisionError::EmailTaken`],
    /// [`ProvisionError::ActorRevoked`] (the client was revoked before the account was
    /// stored), [`ProvisionError::Store`].
    pub async fn create(
        &self,
        by: &Provisioner,
        input: ProfileInput,
    ) -> Result<ProvisionedUser, ProvisionError> {
        let profile = profile(input)?;
        let authorized = Authorized::new(by.actor().clone(), self.clock.now());
        let new = NewUser {
            id: UserId::generate(),
            email: profile.email,
            password_hash: PasswordHash::unset(),
            first_name: profile.first_name,
            last_name: profile.last_name,
            role: Role::User,
            created_at: authorized.at,
        };
        self.accounts
            .create(new, profile.external_id, &authorized)
            .await
            .map_err(taken)?
            .or_revoked(ProvisionError::ActorRevoked)
    }

    /// # Errors
    /// [`ProvisionError::NotFound`], [`ProvisionError::Store`].
    pub async fn get(
        &self,
        _by: &Provisioner,
        id: UserId,
    ) -> Result<ProvisionedUser, ProvisionError> {
        self.accounts
            .find(&id)
            .await?
            .ok_or(ProvisionError::NotFound)
    }

    /// How many accounts `filter` keeps, and `limit` of them after `offset`, by id.
    ///
    /// # Errors
    /// [`ProvisionError::Store`].
    pub async fn list(
        &self,
        _by: &Provisioner,
        filter: &ProvisioningFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ProvisionedUser>), ProvisionError> {
        if filter.never {
            return Ok((0, Vec::new()));
        }
        Ok(self.accounts.list(filter, offset, limit).await?)
    }

    /// Replaces the account's profile (when it differs) and brings its status to `active` when
    /// given (see [`Provision::set_active`]). When both change, or when the client names the
    /// version it expects (`if_version`, [`ProvisionedUser::version`]), they change in one
    /// transaction ([`ProvisioningRepo::update_with_status`]): a status change refused (the
    /// last active admin, the client revoked) leaves the profile unchanged too, and the
    /// expected version is compared when the write commits.
    ///
    /// # Errors
    /// As [`Provision::create`] and [`Provision::set_active`];
    /// [`ProvisionError::VersionChanged`] when the account is not at `if_version`.
    pub async fn update(
        &self,
        by: &Provisioner,
        id: UserId,
        input: ProfileInput,
        active: Option<bool>,
        if_version: Option<String>,
    ) -> Result<(ProvisionedUser, Option<StatusAction>), ProvisionError> {
        let profile = profile(input)?;
        let current = self.get(by, id).await?;
        may_provision(by, &current)?;
        if let Some(expected) = if_version {
            if current.version() != expected {
                return Err(ProvisionError::VersionChanged);
            }
            let active = active.unwrap_or(current.user.is_active());
            return self
                .update_both(by, id, profile, active, Some(expected))
                .await;
        }
        let profile_changes = Profile::of(&current) != profile;
        if let Some(active) = active.filter(|a| profile_changes && *a != current.user.is_active()) {
            return self.update_both(by, id, profile, active, None).await;
        }
        if profile_changes {
            let authorized = Authorized::new(by.actor().clone(), self.clock.now());
            self.accounts
                .update(&id, profile, &authorized)
                .await
                .map_err(taken)?
                .or_revoked(ProvisionError::ActorRevoked)?
                .ok_or(ProvisionError::NotFound)?;
        }
        match active {
            Some(active) => self.set_active(by, id, active).await,
            None => Ok((self.get(by, id).await?, None)),
        }
    }

    /// The profile and the status together, in one transaction (at `expected` version, when
    /// given).
    async fn update_both(
        &self,
        by: &Provisioner,
        id: UserId,
        profile: Profile,
        active: bool,
        expected: Option<String>,
    ) -> Result<(ProvisionedUser, Option<StatusAction>), ProvisionError> {
        let action = if active {
            StatusAction::Reactivate
        } else {
            StatusAction::Deactivate
        };
        let reason = Some(provisioning_reason(by.name(), active));
        let change = super::change_status::status_change(action, id, by, reason, &*self.clock)
            .ok_or(ProvisionError::ActorRevoked)?;
        let authorized = Authorized::new(change.actor.clone(), change.at);
        let (outcome, account) = self
            .accounts
            .update_with_status(profile, &authorized, change, expected)
            .await
            .map_err(taken)?
            .ok_or(ProvisionError::VersionChanged)?;
        let made = match outcome {
            StatusChangeOutcome::Applied(_) => Some(action),
            StatusChangeOutcome::AlreadyInState => None,
            StatusChangeOutcome::NotFound => return Err(ProvisionError::NotFound),
            StatusChangeOutcome::LastActiveAdmin => return Err(ProvisionError::LastActiveAdmin),
            StatusChangeOutcome::ActorRevoked => return Err(ProvisionError::ActorRevoked),
            StatusChangeOutcome::TargetForbidden => return Err(ProvisionError::TargetForbidden),
            other => {
                let why = format!("a provisioning status change reported {other:?}");
                return Err(ProvisionError::Store(StoreError::other(why)));
            }
        };
        Ok((account.ok_or(ProvisionError::NotFound)?, made))
    }

    /// Deactivates (`false`) or reactivates (`true`) the account through the status use cases,
    /// as `by`, for the [`provisioning_reason`], with the change made (none for an account already in that state,
    /// which is left alone: providers repeat themselves, and a repeat must not notify the user
    /// again).
    ///
    /// # Errors
    /// [`ProvisionError::NotFound`], [`ProvisionError::LastActiveAdmin`],
    /// [`ProvisionError::ActorRevoked`], [`ProvisionError::Store`].
    pub async fn set_active(
        &self,
        by: &Provisioner,
        id: UserId,
        active: bool,
    ) -> Result<(ProvisionedUser, Option<StatusAction>), ProvisionError> {
        let current = self.get(by, id).await?;
        may_provision(by, &current)?;
        if current.user.is_active() == active {
            return Ok((current, None));
        }
        let reason = Some(provisioning_reason(by.name(), active));
        let outcome = if active {
            match self.reactivate.execute(by, id, reason).await {
                Ok(_) => Ok(true),
                Err(ReactivateError::AlreadyActive) => Ok(false),
                Err(ReactivateError::NotFound) => Err(ProvisionError::NotFound),
                Err(ReactivateError::ActorRevoked) => Err(ProvisionError::ActorRevoked),
                Err(ReactivateError::TargetForbidden) => Err(ProvisionError::TargetForbidden),
                Err(ReactivateError::Store(error)) => Err(ProvisionError::Store(error)),
            }
        } else {
            deactivated(self.deactivate.execute(by, id, reason).await)
        };
        let action = outcome?.then_some(if active {
            StatusAction::Reactivate
        } else {
            StatusAction::Deactivate
        });
        Ok((self.get(by, id).await?, action))
    }

    /// Deactivates the account (every effect of a deactivation, unless it is already
    /// inactive), then hides it from provisioning for good. The account stays, with its audit
    /// trail. Returns the status change made, if any. With `if_version`, the deactivation
    /// commits only at that version (as [`Provision::update`]).
    ///
    /// # Errors
    /// As [`Provision::set_active`]; [`ProvisionError::VersionChanged`].
    pub async fn remove(
        &self,
        by: &Provisioner,
        id: UserId,
        if_version: Option<String>,
    ) -> Result<Option<StatusAction>, ProvisionError> {
        let (_, action) = match if_version {
            Some(expected) => {
                let current = self.get(by, id).await?;
                if current.version() != expected {
                    return Err(ProvisionError::VersionChanged);
                }
                let profile = Profile::of(&current);
                self.update_both(by, id, profile, false, Some(expected))
                    .await?
            }
            None => self.set_active(by, id, false).await?,
        };
        if self.accounts.remove(&id, self.clock.now()).await? {
            Ok(action)
        } else {
            Err(ProvisionError::NotFound)
        }
    }
}

/// What a provisioning client's status change is recorded (and quoted to the user) with:
/// "Deprovisioned via SCIM by okta" or "Reprovisioned via SCIM by okta". Never dropped: a name
/// that would not fit [`Reason::MAX_CHARS`] is shortened (ending in `...`), and characters a
/// reason may not hold (control and invisible format characters) are left out of it.
pub fn provisioning_reason(client_name: &str, active: bool) -> Reason {
    const ELLIPSIS: &str = "...";
    let verb = if active {
        "Reprovisioned"
    } else {
        "Deprovisioned"
    };
    let prefix = format!("{verb} via SCIM by ");
    let room = Reason::MAX_CHARS - prefix.chars().count();
    let printable: Vec<char> = client_name
        .trim()
        .chars()
        .filter(|&c| !c.is_control() && !crate::text::is_format(c))
        .collect();
    let name: String = if printable.len() > room {
        let kept = room - ELLIPSIS.len();
        let mut short: String = printable[..kept].iter().collect();
        short.push_str(ELLIPSIS);
        short
    } else {
        printable.into_iter().collect()
    };
    Reason::parse(&format!("{prefix}{name}"))
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            Reason::written_by_warden(if active {
                "Reprovisioned via SCIM"
            } else {
                "Deprovisioned via SCIM"
            })
        })
}

/// The policy's answer for a provisioning client and an account: a client without
/// `scim.privileged` provisions `user` accounts only. Asked before a profile is written (the
/// status part of a change is checked again inside its write, on the role found then).
fn may_provision(by: &Provisioner, account: &ProvisionedUser) -> Result<(), ProvisionError> {
    if policy::permits(by.actor().subject(), Act::Provision, account.user.role) {
        Ok(())
    } else {
        Err(ProvisionError::TargetForbidden)
    }
}

/// Whether the deactivation was made (`false`: it already was).
fn deactivated(result: Result<crate::User, DeactivateError>) -> Result<bool, ProvisionError> {
    match result {
        Ok(_) => Ok(true),
        Err(DeactivateError::AlreadyDeactivated) => Ok(false),
        Err(DeactivateError::NotFound) => Err(ProvisionError::NotFound),
        Err(DeactivateError::LastActiveAdmin) => Err(ProvisionError::LastActiveAdmin),
        Err(DeactivateError::TargetForbidden) => Err(ProvisionError::TargetForbidden),
        // A client acts through no account, so it cannot be deactivating itself.
        Err(DeactivateError::ActorRevoked | DeactivateError::SelfDeactivation) => {
            Err(ProvisionError::ActorRevoked)
        }
        Err(DeactivateError::Store(error)) => Err(ProvisionError::Store(error)),
        // Provisioning never asks for a timed suspension.
        Err(error @ DeactivateError::InvalidUntil(_)) => {
            Err(ProvisionError::Store(StoreError::other(Box::new(error))))
        }
    }
}

fn taken(error: StoreError) -> ProvisionError {
    match error {
        StoreError::Conflict(_) => ProvisionError::EmailTaken,
        other => ProvisionError::Store(other),
    }
}

fn profile(input: ProfileInput) -> Result<Profile, ProvisionError> {
    let email = EmailAddress::parse(&input.email).map_err(|_| ProvisionError::InvalidEmail)?;
    let first_name = input.first_name.trim().to_owned();
    let last_name = input.last_name.trim().to_owned();
    if !super::create_user::valid_name(&first_name) || !super::create_user::valid_name(&last_name) {
        return Err(ProvisionError::InvalidName);
    }
    let external_id = match input.external_id {
        Some(text) => ExternalId::parse(&text).map_err(ProvisionError::InvalidExternalId)?,
        None => None,
    };
    Ok(Profile {
        email,
        first_name,
        last_name,
        external_id,
    })
}

impl std::fmt::Debug for Provision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Provision")
    }
}

#[cfg(test)]
#[path = "provision_tests.rs"]
mod tests;
