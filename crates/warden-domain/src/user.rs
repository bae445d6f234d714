use chrono::{DateTime, Utc};

use crate::{EmailAddress, PasswordHash, Reason, UserId};

/// What an account may do: the policy ([`crate::policy`]) says what each role may do to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    /// Support staff: may read accounts and change the status of `user` accounts only.
    Helpdesk,
    User,
}

/// Every role, in the order messages list them.
pub const ALL_ROLES: [Role; 3] = [Role::Admin, Role::Helpdesk, Role::User];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Helpdesk => "helpdesk",
            Role::User => "user",
        }
    }

    /// # Errors
    /// [`UnknownRole`] for anything but `admin`, `helpdesk` or `user`.
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        ALL_ROLES
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or(UnknownRole)
    }

    fn bit(self) -> u8 {
        match self {
            Role::Admin => 1,
            Role::Helpdesk => 2,
            Role::User => 4,
        }
    }
}

/// A set of roles: the accounts an actor may act on, by their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    /// Every role.
    pub const ALL: RoleSet = RoleSet(7);
    /// No role.
    pub const NONE: RoleSet = RoleSet(0);

    pub fn only(role: Role) -> Self {
        RoleSet(role.bit())
    }

    /// This set and `role`.
    #[must_use]
    pub fn with(self, role: Role) -> Self {
        RoleSet(self.0 | role.bit())
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The roles in the set, in [`ALL_ROLES`] order.
    pub fn roles(self) -> impl Iterator<Item = Role> {
        ALL_ROLES
            .into_iter()
            .filter(move |role| self.contains(*role))
    }
}

/// From [`Role::parse`]: the text names no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

/// Whether an account may be used, and if not, who turned it off, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Deactivated(Deactivation),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivation {
    pub at: DateTime<Utc>,
    /// The admin account that deactivated it: `None` when the actor acted without an account
    /// (a machine client, the system; the audit trail names them) or that record is gone.
    pub by: Option<UserId>,
    pub reason: Option<Reason>,
    /// When a timed suspension ends (the system reactivates the account then); `None`: until
    /// an admin reactivates it.
    pub until: Option<DateTime<Utc>>,
}

/// A stored account. Every field holds an already-validated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub status: AccountStatus,
    /// Bumped by every status change; an access token is honoured only while the version it was
    /// issued for is current, so deactivation revokes every token at once and reactivation does
    /// not bring old ones back.
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub fn is_active(&self) -> bool {
        matches!(self.status, AccountStatus::Active)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the account may administer others at all (an admin or a helpdesk).
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Helpdesk)
    }

    /// The name to greet the user by; see [`display_name`].
    pub fn display_name(&self) -> &str {
        display_name(&self.first_name, &self.email)
    }
}

/// The name to greet a user by: their first name, or their email address when the first name is
/// blank. The one statement of that rule: stores keep the first name (the outbox too) and call
/// this when they hand a name out.
pub fn display_name<'a>(first_name: &'a str, email: &'a EmailAddress) -> &'a str {
    if first_name.trim().is_empty() {
        email.as_str()
    } else {
        first_name
    }
}

/// An account to be stored by [`crate::ports::UserRepo::create`].
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: EmailAddress,
    pub password_hash: PasswordHash,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}
