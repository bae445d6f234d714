//! Who a status change may be made for. A use case that changes a user's status takes a
//! `&dyn Principal`; the trait is sealed, so only the domain's checked types are principals:
//! an [`Admin`] (only the [`super::Authenticator`] makes one) and the [`System`] (constructed
//! explicitly by the host's scheduler, as the CLI constructs an [`crate::Operator`]), and a
//! [`Provisioner`] (a machine client admitted with the `scim` scope by the
//! [`super::ClientAuthenticator`]).

use chrono::{DateTime, Utc};

use super::{Admin, AuthenticatedClient, Staff};
use crate::{Actor, Scope};

/// An actor whose authority was checked, with the credential a change must not outlive.
pub trait Principal: sealed::Sealed + Send + Sync + std::fmt::Debug {
    /// Who acts, as recorded in the audit trail and re-checked by the store at commit.
    fn actor(&self) -> &Actor;

    /// Whether the credential it acts on is still honoured at `now` (an access token expires).
    fn is_valid_at(&self, now: DateTime<Utc>) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Admin {}
    impl Sealed for super::Staff {}
    impl Sealed for super::System {}
    impl Sealed for super::Provisioner {}
}

impl Principal for Staff {
    fn actor(&self) -> &Actor {
        Staff::actor(self)
    }

    fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        Staff::is_valid_at(self, now)
    }
}

impl Principal for Admin {
    fn actor(&self) -> &Actor {
        Staff::actor(self)
    }

    fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        Staff::is_valid_at(self, now)
    }
}

/// Warden itself as the actor of changes it carries out on its own schedule (lifting a timed
/// suspension an admin set). Recorded as actor kind `system`; its changes pass the same rules
/// and guards as anyone's (the last active admin stays), with no credential to re-check.
#[derive(Debug, Clone)]
pub struct System {
    actor: Actor,
}

impl System {
    /// The scheduler's principal. Only the host's scheduler should make one: it acts without a
    /// credential, like an [`crate::Operator`].
    pub fn scheduler() -> Self {
        Self {
            actor: Actor::system(),
        }
    }
}

impl Principal for System {
    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn is_valid_at(&self, _now: DateTime<Utc>) -> bool {
        true
    }
}

/// A machine client provisioning accounts (an identity provider over SCIM): recorded as actor
/// kind `client` under its name. Its changes pass the same rules and guards as an admin's (the
/// last active admin stays); the store re-checks at commit that the client is not revoked.
#[derive(Debug, Clone)]
pub struct Provisioner {
    actor: Actor,
}

impl Provisioner {
    /// The client as a provisioner, if it was admitted for provisioning ([`Scope::Scim`]).
    pub fn new(client: &AuthenticatedClient) -> Option<Self> {
        let privileged = client.client().allows(Scope::ScimPrivileged);
        (client.granted() == Scope::Scim && client.client().allows(Scope::Scim)).then(|| Self {
            actor: if privileged {
                client.actor().privileged()
            } else {
                client.actor()
            },
        })
    }

    /// The name the client is recorded under.
    pub fn name(&self) -> &str {
        self.actor.name()
    }
}

impl Principal for Provisioner {
    fn actor(&self) -> &Actor {
        &self.actor
    }

    /// A client token does not expire; a revoked one is refused by the store at commit.
    fn is_valid_at(&self, _now: DateTime<Utc>) -> bool {
        true
    }
}
