//! Privileged writes other than status changes: registering and revoking machine clients,
//! creating, changing, rotating and deleting webhook endpoints, and provisioning clients'
//! profile updates. Each is made on an [`Actor`]'s authority, which the store re-checks in the
//! write's own transaction (as for a [`crate::StatusChange`]), and each leaves an
//! [`AuditedChange`] in the audit trail, written in that same transaction.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Actor, RecordedActor};

/// What an audited change other than a status change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeAction {
    ClientCreated,
    ClientRevoked,
    WebhookCreated,
    /// Enabled or disabled.
    WebhookUpdated,
    WebhookSecretRotated,
    WebhookDeleted,
    /// A provisioning client changed an account's profile (names, email, external id).
    ProfileUpdated,
}

/// Every [`ChangeAction`], in the order the documentation lists them.
pub const ALL_CHANGE_ACTIONS: [ChangeAction; 7] = [
    ChangeAction::ClientCreated,
    ChangeAction::ClientRevoked,
    ChangeAction::WebhookCreated,
    ChangeAction::WebhookUpdated,
    ChangeAction::WebhookSecretRotated,
    ChangeAction::WebhookDeleted,
    ChangeAction::ProfileUpdated,
];

impl ChangeAction {
    /// The name recorded in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::ClientCreated => "client_created",
            ChangeAction::ClientRevoked => "client_revoked",
            ChangeAction::WebhookCreated => "webhook_created",
            ChangeAction::WebhookUpdated => "webhook_updated",
            ChangeAction::WebhookSecretRotated => "webhook_secret_rotated",
            ChangeAction::WebhookDeleted => "webhook_deleted",
            ChangeAction::ProfileUpdated => "profile_updated",
        }
    }

    /// # Errors
    /// [`crate::UnknownAction`] for a name that is not a change action.
    pub fn parse(text: &str) -> Result<Self, crate::UnknownAction> {
        ALL_CHANGE_ACTIONS
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or(crate::UnknownAction)
    }

    /// The kind of thing an action of this name concerns.
    pub fn target_kind(self) -> TargetKind {
        match self {
            ChangeAction::ClientCreated | ChangeAction::ClientRevoked => TargetKind::Client,
            ChangeAction::WebhookCreated
            | ChangeAction::WebhookUpdated
            | ChangeAction::WebhookSecretRotated
            | ChangeAction::WebhookDeleted => TargetKind::Webhook,
            ChangeAction::ProfileUpdated => TargetKind::User,
        }
    }
}

/// What an audited change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    User,
    Client,
    Webhook,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::User => "user",
            TargetKind::Client => "client",
            TargetKind::Webhook => "webhook",
        }
    }
}

/// One audited change other than a status change, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedChange {
    /// UUIDv7: ordered by time with the status changes' audit events.
    pub id: Uuid,
    pub actor: RecordedActor,
    pub action: ChangeAction,
    /// The id of the account, client or webhook endpoint it concerns
    /// ([`ChangeAction::target_kind`] says which).
    pub target: Uuid,
    /// For [`ChangeAction::ProfileUpdated`], the names of the attributes changed (never their
    /// values); empty otherwise.
    pub attributes: Vec<String>,
    pub at: DateTime<Utc>,
}

impl AuditedChange {
    pub fn target_kind(&self) -> TargetKind {
        self.action.target_kind()
    }
}

/// On whose authority a privileged write is made, and the audit record it leaves. The store
/// MUST re-check [`Authorized::actor`]'s [`crate::Authority`] in the write's own transaction
/// (an admin still active, of [`crate::StatusChange::ACTOR_ROLE`], on the same token version; a
/// client not revoked) and, only if it holds, apply the write and record
/// [`Authorized::record`] in that transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub actor: Actor,
    /// The id of the audit record the write leaves.
    pub event_id: Uuid,
    pub at: DateTime<Utc>,
}

impl Authorized {
    /// A write by `actor` at `at`, with a fresh audit record id.
    pub fn new(actor: Actor, at: DateTime<Utc>) -> Self {
        Self {
            actor,
            event_id: Uuid::now_v7(),
            at,
        }
    }

    /// The audit record of this write, which did `action` to `target`.
    pub fn record(
        &self,
        action: ChangeAction,
        target: Uuid,
        attributes: Vec<String>,
    ) -> AuditedChange {
        AuditedChange {
            id: self.event_id,
            actor: RecordedActor::from(&self.actor),
            action,
            target,
            attributes,
            at: self.at,
        }
    }

    /// Recorded as the `created_by` of a client or endpoint it creates: the acting account or
    /// client (none for an operator at the console, who acts on no account).
    pub fn created_by(&self) -> Option<Uuid> {
        self.actor.id()
    }
}

/// What a store found when it was to commit a privileged write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Guarded<T> {
    /// The actor's authority held: the write's result (which may itself say it found nothing
    /// to change).
    Applied(T),
    /// The actor's authority no longer held (an admin deactivated, demoted or with revoked
    /// tokens; a client revoked): nothing was written.
    ActorRevoked,
}

impl<T> Guarded<T> {
    /// The applied result turned by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Guarded<U> {
        match self {
            Guarded::Applied(value) => Guarded::Applied(f(value)),
            Guarded::ActorRevoked => Guarded::ActorRevoked,
        }
    }

    /// The result, or `revoked` when the authority did not hold.
    ///
    /// # Errors
    /// `revoked` for [`Guarded::ActorRevoked`].
    pub fn or_revoked<E>(self, revoked: E) -> Result<T, E> {
        match self {
            Guarded::Applied(value) => Ok(value),
            Guarded::ActorRevoked => Err(revoked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_names_and_name_their_target() {
        for action in ALL_CHANGE_ACTIONS {
            assert_eq!(ChangeAction::parse(action.as_str()), Ok(action));
        }
        assert!(ChangeAction::parse("deactivated").is_err());
        assert_eq!(
            ChangeAction::ClientRevoked.target_kind(),
            TargetKind::Client
        );
        assert_eq!(
            ChangeAction::WebhookSecretRotated.target_kind(),
            TargetKind::Webhook
        );
        assert_eq!(ChangeAction::ProfileUpdated.target_kind(), TargetKind::User);
    }

    #[test]
    fn a_record_carries_the_writes_actor_id_and_time() {
        let client = Uuid::now_v7();
        let by = Authorized::new(Actor::client(client, "okta"), Utc::now());
        let target = Uuid::now_v7();
        let record = by.record(
            ChangeAction::ProfileUpdated,
            target,
            vec!["userName".into()],
        );
        assert_eq!(record.id, by.event_id);
        assert_eq!(record.at, by.at);
        assert_eq!(record.actor.id, Some(client));
        assert_eq!(record.target, target);
        assert_eq!(by.created_by(), Some(client));
        assert_eq!(Guarded::<u8>::ActorRevoked.or_revoked("no"), Err("no"));
        assert_eq!(Guarded::Applied(1).or_revoked("no"), Ok(1));
    }
}
