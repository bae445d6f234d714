use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::{
    Authorized, ExternalId, Guarded, NewUser, Profile, ProvisionedUser, ProvisioningFilter,
    StatusChange, StatusChangeOutcome, UserId,
};

/// The accounts as provisioning clients see them: every account of the [`super::UserRepo`]
/// (whoever created it) with its provisioning attributes (the external id), except those a
/// provisioning client removed, which stay in the accounts store with their audit trail but
/// are hidden here. The attributes live beside the account, keyed by its id.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProvisioningRepo: Send + Sync {
    /// Stores a new, active account as [`super::UserRepo::create`] does, with `external_id`,
    /// in one transaction that first re-checks `by.actor`'s authority (the provisioning client
    /// not revoked): if it no longer holds, nothing is written and the answer is
    /// [`Guarded::ActorRevoked`].
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the email address is taken (by any account, removed ones
    /// too) or the id exists; [`StoreError::Unavailable`] or [`StoreError::Other`] otherwise;
    /// then nothing was written.
    async fn create(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
        by: &Authorized,
    ) -> Result<Guarded<ProvisionedUser>, StoreError>;

    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`]; a missing or removed account is
    /// `Ok(None)`.
    async fn find(&self, id: &UserId) -> Result<Option<ProvisionedUser>, StoreError>;

    /// How many accounts `filter` keeps ([`ProvisioningFilter::matches`]; removed ones never),
    /// and of those, in ascending order of id, at most `limit` after skipping `offset`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn list(
        &self,
        filter: &ProvisioningFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ProvisionedUser>), StoreError>;

    /// Replaces the account's email, names and external id with `profile`, and sets its
    /// `updated_at` to `by.at` (as [`crate::profile_updated_at`] moves it); its status, role, password and token version are untouched.
    /// In one transaction that first re-checks `by.actor`'s authority ([`Guarded::ActorRevoked`]:
    /// nothing written), it compares `profile` with the account's profile as found there and,
    /// when any attribute differs, writes it and records
    /// [`crate::ChangeAction::ProfileUpdated`] ([`Authorized::record`], target the account,
    /// attributes [`Profile::changed_from`]); an unchanged profile writes and records nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the email address belongs to another account (then
    /// nothing changed); [`StoreError::Unavailable`] or [`StoreError::Other`]. A missing or
    /// removed account is `Ok(None)`.
    async fn update(
        &self,
        id: &UserId,
        profile: Profile,
        by: &Authorized,
    ) -> Result<Guarded<Option<ProvisionedUser>>, StoreError>;

    /// Applies `change` (as [`super::UserRepo::change_status`] does, with every effect and
    /// guard) and replaces the account's profile (as [`ProvisioningRepo::update`] does, on
    /// `by`'s authority, audited) **in one transaction**: the profile is written only if the
    /// change is [`StatusChangeOutcome::Applied`] or finds the account already in the requested
    /// state ([`StatusChangeOutcome::AlreadyInState`]); for any other outcome (the last active
    /// admin, the client revoked, no such account) nothing at all is written. `change.target`
    /// is the account; `change.actor` is `by.actor`. Returns the change's outcome and the
    /// account as it is afterwards (`None`: missing or removed).
    ///
    /// With `expected_version`, the transaction first holds the account (no other write to it
    /// can commit until this one does) and compares its [`ProvisionedUser::version`] as found
    /// there: when it differs, nothing at all is written and the answer is `Ok(None)` (a missing
    /// or removed account is still `Some((NotFound, None))`). So a client's `If-Match` holds
    /// when the write commits, not only when the request started. A profile change stores
    /// [`crate::profile_updated_at`] as `updated_at`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the email address belongs to another account (then
    /// nothing changed, the status neither); [`StoreError::Unavailable`] or
    /// [`StoreError::Other`].
    async fn update_with_status(
        &self,
        profile: Profile,
        by: &Authorized,
        change: StatusChange,
        expected_version: Option<String>,
    ) -> Result<Option<(StatusChangeOutcome, Option<ProvisionedUser>)>, StoreError>;

    /// Hides the account from provisioning from now on (see the trait); the account itself is
    /// unchanged. `Ok(false)` when it is missing or already removed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn remove(&self, id: &UserId, at: DateTime<Utc>) -> Result<bool, StoreError>;
}
