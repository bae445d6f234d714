use uuid::Uuid;

use crate::policy::Subject;
use crate::{Role, UserId};

/// What kind of actor made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActorKind {
    /// An admin user, authenticated by an access token (the HTTP API).
    User,
    /// An operator at the command line, acting on the authority of a named admin. The claim is
    /// only as strong as access to the database: whoever runs the CLI holds it anyway.
    Operator,
    /// A machine client (an identity provider provisioning over SCIM), by its client token.
    Client,
    /// Warden itself, carrying out what an authorised actor scheduled earlier (the lift of a
    /// timed suspension).
    System,
}

impl ActorKind {
    /// The name recorded in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Operator => "operator",
            ActorKind::Client => "client",
            ActorKind::System => "system",
        }
    }

    /// The channel the change came through: `api`, `cli` or `system`.
    pub fn channel(self) -> &'static str {
        match self {
            ActorKind::User | ActorKind::Client => "api",
            ActorKind::Operator => "cli",
            ActorKind::System => "system",
        }
    }

    /// # Errors
    /// [`UnknownActorKind`] for a name that is not an actor kind.
    pub fn parse(text: &str) -> Result<Self, UnknownActorKind> {
        match text {
            "user" => Ok(ActorKind::User),
            "operator" => Ok(ActorKind::Operator),
            "client" => Ok(ActorKind::Client),
            "system" => Ok(ActorKind::System),
            _ => Err(UnknownActorKind),
        }
    }

    /// Whether actors of this kind act through a user account (the account is then recorded as
    /// the change's `actor_id`, and cannot deactivate itself).
    pub fn acts_as_account(self) -> bool {
        matches!(self, ActorKind::User | ActorKind::Operator)
    }
}

/// From [`ActorKind::parse`]: the text is not `user`, `operator`, `client` or `system`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown actor kind")]
pub struct UnknownActorKind;

/// The authority an actor acts on, which a store MUST re-check in the same atomic write that
/// applies a change, so that authority withdrawn while a request is in flight stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authority {
    /// An account: still active, still of `role`, still on `token_version` (the version of the
    /// token the request authenticated with, or the version read when a CLI command began).
    /// A role change bumps the version too, so a demoted account's held requests stop.
    Account {
        account: UserId,
        token_version: i32,
        role: Role,
    },
    /// A machine client: still not revoked.
    Client { client: Uuid },
    /// Warden itself: nothing to re-check (the schedule it carries out was authorised when it
    /// was recorded).
    System,
}

/// What a store read of an actor's authority inside the write that commits a change, for
/// [`Authority::holds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderState {
    /// The acting account as it is now.
    Account {
        active: bool,
        role: Role,
        token_version: i32,
    },
    /// The acting client as it is now.
    Client { revoked: bool },
}

impl Authority {
    /// Whether this authority still holds, given what the store found of its holder (`None`:
    /// the account or client is gone). The one statement of the rule for every store that
    /// reads the holder (PostgreSQL restates it in its status statement): an account still
    /// active, of the same role, on the same token version; a client not revoked; the system
    /// always.
    pub fn holds(&self, found: Option<HolderState>) -> bool {
        match (self, found) {
            (Authority::System, _) => true,
            (
                Authority::Account {
                    token_version,
                    role,
                    ..
                },
                Some(HolderState::Account {
                    active,
                    role: found_role,
                    token_version: found_version,
                }),
            ) => active && *role == found_role && *token_version == found_version,
            (Authority::Client { .. }, Some(HolderState::Client { revoked })) => !revoked,
            _ => false,
        }
    }
}

/// Who is making a change: its kind, the name the audit trail records, and the authority the
/// store re-checks when the change commits. Made only through the constructors, so kind and
/// authority always agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    kind: ActorKind,
    name: String,
    authority: Authority,
    /// A client that may provision administrators too (`scim.privileged`).
    privileged: bool,
}

impl Actor {
    /// An admin user acting over the API with a token issued for `token_version`; recorded
    /// under `name` (the admin's email address).
    pub fn admin(account: UserId, name: impl Into<String>, token_version: i32) -> Self {
        Self::staff(account, name, token_version, Role::Admin)
    }

    /// An account of `role` acting over the API with a token issued for `token_version`;
    /// recorded under `name` (its email address).
    pub fn staff(account: UserId, name: impl Into<String>, token_version: i32, role: Role) -> Self {
        Self::on_account(ActorKind::User, account, name, token_version, role)
    }

    /// An operator at the CLI acting on the authority of the account `account` (of `role`) as
    /// it was at `token_version`; recorded under the operator's OS user.
    pub fn operator(
        account: UserId,
        os_user: impl Into<String>,
        token_version: i32,
        role: Role,
    ) -> Self {
        Self::on_account(ActorKind::Operator, account, os_user, token_version, role)
    }

    /// A machine client, recorded under its name.
    pub fn client(client: Uuid, name: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Client,
            name: name.into(),
            authority: Authority::Client { client },
            privileged: false,
        }
    }

    /// This client, allowed to provision administrators too (`scim.privileged`).
    #[must_use]
    pub fn privileged(mut self) -> Self {
        self.privileged = matches!(self.authority, Authority::Client { .. });
        self
    }

    /// An operator at the CLI managing configuration (machine clients) on the database's own
    /// authority, acting on no admin account: recorded under the OS user, with nothing to
    /// re-check (whoever runs the CLI holds the database anyway).
    pub fn console(os_user: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Operator,
            name: os_user.into(),
            authority: Authority::System,
            privileged: false,
        }
    }

    /// Warden itself.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            name: "system".to_owned(),
            authority: Authority::System,
            privileged: false,
        }
    }

    fn on_account(
        kind: ActorKind,
        account: UserId,
        name: impl Into<String>,
        token_version: i32,
        role: Role,
    ) -> Self {
        Self {
            kind,
            name: name.into(),
            authority: Authority::Account {
                account,
                token_version,
                role,
            },
            privileged: false,
        }
    }

    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// Recorded in the audit trail: an admin's email address, an operator's OS user, a client's
    /// name, or `system`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The role of the acting account, if the actor acts through one.
    pub fn role(&self) -> Option<Role> {
        match self.authority {
            Authority::Account { role, .. } => Some(role),
            Authority::Client { .. } | Authority::System => None,
        }
    }

    /// Who asks, for the policy ([`crate::policy::reach`]).
    pub fn subject(&self) -> Subject {
        match self.authority {
            Authority::Account { role, .. } => Subject::Account(role),
            Authority::Client { .. } => Subject::Provisioner {
                privileged: self.privileged,
            },
            Authority::System => Subject::System,
        }
    }

    /// The user account acting, if the actor acts through one. Rules about the actor's own
    /// account (an admin cannot deactivate themselves) concern only these actors.
    pub fn account(&self) -> Option<UserId> {
        match self.authority {
            Authority::Account { account, .. } => Some(account),
            Authority::Client { .. } | Authority::System => None,
        }
    }

    /// The id recorded with the change: the acting account or client; none for the system.
    pub fn id(&self) -> Option<Uuid> {
        match self.authority {
            Authority::Account { account, .. } => Some(*account.as_uuid()),
            Authority::Client { client } => Some(client),
            Authority::System => None,
        }
    }
}

/// Who made a recorded change, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedActor {
    pub kind: ActorKind,
    /// The acting account or client (`None` for the system, or if the account was deleted).
    pub id: Option<Uuid>,
    pub name: String,
    /// The acting account's role when it acted (`None` for clients and the system, and for
    /// events recorded before roles were kept).
    pub role: Option<Role>,
}

impl RecordedActor {
    /// The acting user account, for actors that act through one (kept as `actor_id`).
    pub fn account(&self) -> Option<UserId> {
        if self.kind.acts_as_account() {
            self.id.map(UserId::from_uuid)
        } else {
            None
        }
    }
}

impl From<&Actor> for RecordedActor {
    fn from(actor: &Actor) -> Self {
        Self {
            kind: actor.kind,
            id: actor.id(),
            name: actor.name.clone(),
            role: actor.role(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            ActorKind::User,
            ActorKind::Operator,
            ActorKind::Client,
            ActorKind::System,
        ] {
            assert_eq!(ActorKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(ActorKind::parse("admin"), Err(UnknownActorKind));
    }

    #[test]
    fn only_account_actors_have_an_account_and_each_kind_records_its_own_id() {
        let account = UserId::generate();
        let client = Uuid::now_v7();
        let admin = Actor::admin(account, "a@example.com", 2);
        let operator = Actor::operator(account, "root", 2, Role::Admin);
        let by_client = Actor::client(client, "okta");
        let system = Actor::system();
        assert_eq!(admin.account(), Some(account));
        assert_eq!(operator.account(), Some(account));
        assert_eq!(by_client.account(), None);
        assert_eq!(system.account(), None);
        assert_eq!(by_client.id(), Some(client));
        assert_eq!(system.id(), None);
        assert_eq!(RecordedActor::from(&by_client).account(), None);
        assert_eq!(RecordedActor::from(&operator).account(), Some(account));
        assert_eq!(system.kind().channel(), "system");
        assert_eq!(by_client.kind(), ActorKind::Client);
    }
}
