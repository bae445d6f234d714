//! [`ProvisioningRepo`] for [`MemoryStore`]: the attributes beside each account, under the
//! store's one lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use warden_domain::ports::{ProvisioningRepo, StoreError};
use warden_domain::{
    profile_updated_at, Authorized, ChangeAction, ExternalId, Guarded, NewUser, Profile,
    ProvisionedUser, ProvisioningFilter, StatusChange, StatusChangeOutcome, UserId,
};

use super::{micros, MemoryStore, State};

#[derive(Debug, Default, Clone)]
pub(super) struct Attributes {
    external_id: Option<ExternalId>,
    removed_at: Option<DateTime<Utc>>,
}

impl State {
    fn provisioned(&self, id: &UserId) -> Option<ProvisionedUser> {
        let account = self.users.get(id)?;
        let attributes = self.provisioning.get(id).cloned().unwrap_or_default();
        attributes.removed_at.is_none().then(|| ProvisionedUser {
            user: account.user.clone(),
            external_id: attributes.external_id,
        })
    }
}

#[async_trait]
impl ProvisioningRepo for MemoryStore {
    async fn create(
        &self,
        user: NewUser,
        external_id: Option<ExternalId>,
        by: &Authorized,
    ) -> Result<Guarded<ProvisionedUser>, StoreError> {
        let id = user.id;
        let mut state = self.state();
        if !state.authority_holds(by.actor.authority(), &self.clients) {
            return Ok(Guarded::ActorRevoked);
        }
        let created = state.insert_user(user)?;
        state.provisioning.insert(
            id,
            Attributes {
                external_id: external_id.clone(),
                removed_at: None,
            },
        );
        Ok(Guarded::Applied(ProvisionedUser {
            user: created,
            external_id,
        }))
    }

    async fn find(&self, id: &UserId) -> Result<Option<ProvisionedUser>, StoreError> {
        Ok(self.state().provisioned(id))
    }

    async fn list(
        &self,
        filter: &ProvisioningFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ProvisionedUser>), StoreError> {
        let state = self.state();
        let mut ids: Vec<UserId> = state.users.keys().copied().collect();
        ids.sort_by_key(|id| *id.as_uuid());
        let kept: Vec<ProvisionedUser> = ids
            .iter()
            .filter_map(|id| state.provisioned(id))
            .filter(|account| filter.matches(account))
            .collect();
        let total = kept.len() as u64;
        let page = kept
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit as usize)
            .collect();
        Ok((total, page))
    }

    async fn update(
        &self,
        id: &UserId,
        profile: Profile,
        by: &Authorized,
    ) -> Result<Guarded<Option<ProvisionedUser>>, StoreError> {
        let at = by.at;
        let mut state = self.state();
        if !state.authority_holds(by.actor.authority(), &self.clients) {
            return Ok(Guarded::ActorRevoked);
        }
        let Some(current) = state.provisioned(id) else {
            return Ok(Guarded::Applied(None));
        };
        let changed = profile.changed_from(&Profile::of(&current));
        if changed.is_empty() {
            return Ok(Guarded::Applied(Some(current)));
        }
        let taken = state
            .users
            .values()
            .any(|a| a.user.id != *id && a.user.email == profile.email);
        if taken {
            return Err(StoreError::Conflict("email address taken".into()));
        }
        if let Some(account) = state.users.get_mut(id) {
            // A new sign-in address is a change of how the person signs in: tokens stop.
            if account.user.email != profile.email {
                account.user.token_version += 1;
            }
            account.user.email = profile.email;
            account.user.first_name = profile.first_name;
            account.user.last_name = profile.last_name;
            account.user.updated_at = micros(profile_updated_at(account.user.updated_at, at));
        }
        state.provisioning.entry(*id).or_default().external_id = profile.external_id;
        let mut record = by.record(ChangeAction::ProfileUpdated, *id.as_uuid(), changed);
        record.at = micros(record.at);
        state.changes.push(record);
        Ok(Guarded::Applied(state.provisioned(id)))
    }

    async fn update_with_status(
        &self,
        profile: Profile,
        by: &Authorized,
        change: StatusChange,
        expected_version: Option<String>,
    ) -> Result<Option<(StatusChangeOutcome, Option<ProvisionedUser>)>, StoreError> {
        let id = change.target;
        let mut state = self.state();
        // Everything the profile could fail on is checked before anything is written; the
        // one lock makes the whole write one step.
        let Some(current) = state.provisioned(&id) else {
            return Ok(Some((StatusChangeOutcome::NotFound, None)));
        };
        if expected_version.is_some_and(|expected| expected != current.version()) {
            return Ok(None);
        }
        let taken = state
            .users
            .values()
            .any(|a| a.user.id != id && a.user.email == profile.email);
        if taken {
            return Err(StoreError::Conflict("email address taken".into()));
        }
        let outcome = self.apply_change(&mut state, change)?;
        if !matches!(
            outcome,
            StatusChangeOutcome::Applied(_) | StatusChangeOutcome::AlreadyInState
        ) {
            return Ok(Some((outcome, state.provisioned(&id))));
        }
        let changed = profile.changed_from(&Profile::of(&current));
        if !changed.is_empty() {
            if let Some(account) = state.users.get_mut(&id) {
                account.user.email = profile.email;
                account.user.first_name = profile.first_name;
                account.user.last_name = profile.last_name;
                account.user.updated_at =
                    micros(profile_updated_at(account.user.updated_at, by.at));
            }
            state.provisioning.entry(id).or_default().external_id = profile.external_id;
            let mut record = by.record(ChangeAction::ProfileUpdated, *id.as_uuid(), changed);
            record.at = micros(record.at);
            state.changes.push(record);
        }
        Ok(Some((outcome, state.provisioned(&id))))
    }

    async fn remove(&self, id: &UserId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.provisioned(id).is_none() {
            return Ok(false);
        }
        state.provisioning.entry(*id).or_default().removed_at = Some(micros(at));
        Ok(true)
    }
}
