//! Accounts as a provisioning client (an identity provider) sees them: every account, with the
//! identifier the provider keeps for it, until the provider removes it from its view.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{EmailAddress, User};

/// The identifier a provisioning client keeps for an account (SCIM's `externalId`): 1 to
/// [`ExternalId::MAX_CHARS`] characters, without control characters; compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 255;

    /// Blank text means "none".
    ///
    /// # Errors
    /// [`InvalidExternalId`] when longer than [`ExternalId::MAX_CHARS`] or holding a control
    /// or invisible format character.
    pub fn parse(text: &str) -> Result<Option<Self>, InvalidExternalId> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let bad = |c: char| c.is_control() || crate::text::is_format(c);
        if text.chars().count() > Self::MAX_CHARS || text.chars().any(bad) {
            return Err(InvalidExternalId);
        }
        Ok(Some(Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// From [`ExternalId::parse`]: a provisioning client's id longer than 255 characters or holding
/// a control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at most 255 characters, without control characters")]
pub struct InvalidExternalId;

/// An account with the provisioning attributes kept beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedUser {
    pub user: User,
    pub external_id: Option<ExternalId>,
}

impl ProvisionedUser {
    /// The account's version as a provisioning client sees it (SCIM's `meta.version` and ETag):
    /// it changes with every change of the account a client can see, because every status
    /// change bumps the token version and every profile change moves `updated_at` forward
    /// ([`profile_updated_at`]).
    pub fn version(&self) -> String {
        format!(
            "{}-{}",
            self.user.token_version,
            self.user.updated_at.timestamp_micros()
        )
    }
}

/// The `updated_at` a profile change written at `at` stores, when the account's was `current`:
/// `at`, or one microsecond after `current` when `at` is not later (two changes in one
/// microsecond, or a clock step back), so that [`ProvisionedUser::version`] always changes.
/// Every store writes a provisioning profile change with it.
pub fn profile_updated_at(current: DateTime<Utc>, at: DateTime<Utc>) -> DateTime<Utc> {
    let at = at
        .timestamp_micros()
        .max(current.timestamp_micros().saturating_add(1));
    DateTime::from_timestamp_micros(at).unwrap_or(current + TimeDelta::microseconds(1))
}

/// Which accounts a provisioning listing keeps: every condition given must hold (email
/// compared as normalised by [`EmailAddress`], external id exactly). `never` keeps none
/// (two conditions on one attribute that cannot both hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisioningFilter {
    pub email: Option<EmailAddress>,
    pub external_id: Option<ExternalId>,
    pub never: bool,
}

impl ProvisioningFilter {
    /// Adds the condition "email is `email`"; a second, different email makes it keep nothing.
    pub fn and_email(&mut self, email: EmailAddress) {
        match &self.email {
            Some(existing) if *existing != email => self.never = true,
            _ => self.email = Some(email),
        }
    }

    /// Adds the condition "external id is `id`", as [`ProvisioningFilter::and_email`].
    pub fn and_external_id(&mut self, id: ExternalId) {
        match &self.external_id {
            Some(existing) if *existing != id => self.never = true,
            _ => self.external_id = Some(id),
        }
    }

    /// The rule every store applies (the in-memory one literally).
    pub fn matches(&self, account: &ProvisionedUser) -> bool {
        !self.never
            && self.email.as_ref().is_none_or(|e| *e == account.user.email)
            && self
                .external_id
                .as_ref()
                .is_none_or(|id| Some(id) == account.external_id.as_ref())
    }
}

/// The attributes a provisioning client sets on an account, all at once (a replacement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    pub external_id: Option<ExternalId>,
}

impl Profile {
    /// The profile an account has now.
    pub fn of(account: &ProvisionedUser) -> Self {
        Self {
            email: account.user.email.clone(),
            first_name: account.user.first_name.clone(),
            last_name: account.user.last_name.clone(),
            external_id: account.external_id.clone(),
        }
    }
}

impl Profile {
    /// The names of the attributes this profile changes from `current` (`email`, `first_name`,
    /// `last_name`, `external_id`), in that order: what a profile update is audited with,
    /// never the values.
    pub fn changed_from(&self, current: &Profile) -> Vec<String> {
        [
            ("email", self.email != current.email),
            ("first_name", self.first_name != current.first_name),
            ("last_name", self.last_name != current.last_name),
            ("external_id", self.external_id != current.external_id),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name.to_owned())
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_change_always_moves_updated_at_forward() {
        let t = DateTime::from_timestamp_micros(1_000_000).unwrap();
        let later = DateTime::from_timestamp_micros(2_000_000).unwrap();
        assert_eq!(profile_updated_at(t, later), later);
        assert_eq!(profile_updated_at(t, t).timestamp_micros(), 1_000_001);
        let earlier = DateTime::from_timestamp_micros(5).unwrap();
        assert_eq!(profile_updated_at(t, earlier).timestamp_micros(), 1_000_001);
    }

    #[test]
    fn a_profile_names_the_attributes_it_changes() {
        let current = Profile {
            email: EmailAddress::parse("a@example.com").unwrap(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            external_id: None,
        };
        assert_eq!(current.changed_from(&current), Vec::<String>::new());
        let next = Profile {
            last_name: "Byron".into(),
            external_id: ExternalId::parse("00u1").unwrap(),
            ..current.clone()
        };
        assert_eq!(next.changed_from(&current), ["last_name", "external_id"]);
    }

    #[test]
    fn external_ids_are_short_plain_and_optional() {
        assert_eq!(
            ExternalId::parse("00u1ab").unwrap().unwrap().as_str(),
            "00u1ab"
        );
        assert_eq!(ExternalId::parse("  ").unwrap(), None);
        assert!(ExternalId::parse(&"x".repeat(255)).is_ok());
        for bad in ["a\u{0}b", "a\u{202e}b", &"x".repeat(256)] {
            assert_eq!(ExternalId::parse(bad), Err(InvalidExternalId), "{bad:?}");
        }
    }

    #[test]
    fn conflicting_conditions_keep_nothing() {
        let mut filter = ProvisioningFilter::default();
        filter.and_email(EmailAddress::parse("a@example.com").unwrap());
        filter.and_email(EmailAddress::parse("A@example.com").unwrap());
        assert!(!filter.never);
        filter.and_email(EmailAddress::parse("b@example.com").unwrap());
        assert!(filter.never);
    }
}
