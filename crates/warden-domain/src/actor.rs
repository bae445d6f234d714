use crate::UserId;

/// How a change reached Warden, and so what kind of actor made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActorKind {
    /// An admin user, authenticated by an access token (the HTTP API).
    User,
    /// An operator at the command line, acting on the authority of a named admin. The claim is
    /// only as strong as access to the database: whoever runs the CLI holds it anyway.
    Operator,
}

impl ActorKind {
    /// The name recorded in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Operator => "operator",
        }
    }

    /// The channel the change came through: `api` or `cli`.
    pub fn channel(self) -> &'static str {
        match self {
            ActorKind::User => "api",
            ActorKind::Operator => "cli",
        }
    }

    /// # Errors
    /// [`UnknownActorKind`] for a name that is not an actor kind.
    pub fn parse(text: &str) -> Result<Self, UnknownActorKind> {
        match text {
            "user" => Ok(ActorKind::User),
            "operator" => Ok(ActorKind::Operator),
            _ => Err(UnknownActorKind),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown actor kind")]
pub struct UnknownActorKind;

/// Who is making a change, with the authority the store MUST re-check when the change commits:
/// the admin account `id`, still active, still an admin, still on `token_version` (the version
/// of the token the request authenticated with, or the version read when a CLI command began).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The admin account whose authority is used.
    pub id: UserId,
    /// Recorded in the audit trail: the admin's email address, or for an operator the OS user
    /// who ran the command.
    pub name: String,
    pub token_version: i32,
}

/// Who made a recorded change, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedActor {
    pub kind: ActorKind,
    /// The admin account whose authority was used (`None` only if it has been deleted).
    pub id: Option<UserId>,
    pub name: String,
}

impl From<&Actor> for RecordedActor {
    fn from(actor: &Actor) -> Self {
        Self {
            kind: actor.kind,
            id: Some(actor.id),
            name: actor.name.clone(),
        }
    }
}
