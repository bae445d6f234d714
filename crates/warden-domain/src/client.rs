//! Machine clients: other services that authenticate to Warden with a bearer token of their own
//! (not as a user), each allowed only what its [`Scope`]s name.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a client may do. Stored by [`Scope::as_str`]; a later version may add more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Ask whether an access token is active (`POST /oauth2/introspect`).
    Introspect,
    /// Provision accounts (SCIM) whose role is `user`.
    Scim,
    /// With [`Scope::Scim`]: provision administrator and helpdesk accounts too ("this identity
    /// provider manages administrators too"). Not a token scope of its own.
    ScimPrivileged,
    /// Read the audit trail export (`GET /api/v1/events/export`).
    Audit,
    /// Create and manage its own Shared Signals streams (and poll them).
    SsfManage,
    /// Read its own Shared Signals streams and their status (and poll them).
    SsfRead,
}

/// Every scope, in the order lists are kept in.
pub const ALL_SCOPES: [Scope; 6] = [
    Scope::Introspect,
    Scope::Scim,
    Scope::ScimPrivileged,
    Scope::Audit,
    Scope::SsfManage,
    Scope::SsfRead,
];

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Introspect => "introspect",
            Scope::Scim => "scim",
            Scope::ScimPrivileged => "scim.privileged",
            Scope::Audit => "audit",
            Scope::SsfManage => "ssf.manage",
            Scope::SsfRead => "ssf.read",
        }
    }

    /// # Errors
    /// [`UnknownScope`] for anything but a scope's exact name.
    pub fn parse(text: &str) -> Result<Self, UnknownScope> {
        ALL_SCOPES
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or(UnknownScope)
    }

    /// A comma-separated list (`introspect,scim`; blanks around names are ignored), sorted and
    /// without repeats.
    ///
    /// # Errors
    /// [`UnknownScope`] for an unknown name or an empty list.
    pub fn parse_list(text: &str) -> Result<Vec<Scope>, UnknownScope> {
        let names: Vec<&str> = text.split(',').map(str::trim).collect();
        Self::normalise(names.iter().map(|name| Scope::parse(name)))
    }

    /// The scopes sorted and without repeats.
    ///
    /// # Errors
    /// [`UnknownScope`] when one is unknown or there is none.
    pub fn normalise(
        scopes: impl IntoIterator<Item = Result<Scope, UnknownScope>>,
    ) -> Result<Vec<Scope>, UnknownScope> {
        let mut list = scopes.into_iter().collect::<Result<Vec<_>, _>>()?;
        list.sort();
        list.dedup();
        if list.is_empty() {
            return Err(UnknownScope);
        }
        Ok(list)
    }

    /// `introspect,scim`: how a list is stored and shown.
    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// From [`Scope::parse`]: the text names no scope (`introspect`, `scim`, `ssf.manage`,
/// `ssf.read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must name one or more of: introspect, scim, scim.privileged, audit, ssf.manage, ssf.read")]
pub struct UnknownScope;

/// A client's name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`. Unique among live clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientName(String);

impl ClientName {
    pub const MAX_CHARS: usize = 64;

    /// # Errors
    /// [`InvalidClientName`] for an empty or longer name, or another character.
    pub fn parse(text: &str) -> Result<Self, InvalidClientName> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.len() > Self::MAX_CHARS || !text.chars().all(allowed) {
            return Err(InvalidClientName);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// From [`ClientName::parse`]: not 1 to 64 letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 64 letters, digits, '.', '_' or '-'")]
pub struct InvalidClientName;

/// A registered client. Its token is never kept, only [`TokenHash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: Uuid,
    pub name: ClientName,
    /// Sorted, without repeats, never empty.
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    /// The account (or client) that created it; `None` for one created at the console or
    /// before this was recorded.
    pub created_by: Option<Uuid>,
    /// Set once: a revoked client's token is refused, and its name may be given again.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Client {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A client to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub id: Uuid,
    pub name: ClientName,
    pub scopes: Vec<Scope>,
    pub token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
}

/// The digest a client's token is stored and looked up by (SHA-256 for the standard adapter).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(Vec<u8>);

impl TokenHash {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// A client's bearer token, shown once when the client is created. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// Which client a command names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRef {
    Id(Uuid),
    Name(ClientName),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_sorted_and_unique() {
        assert_eq!(
            Scope::parse_list("scim, introspect,scim").unwrap(),
            vec![Scope::Introspect, Scope::Scim]
        );
        assert_eq!(
            Scope::join(&[Scope::Introspect, Scope::Scim]),
            "introspect,scim"
        );
        for bad in ["", ",", "admin", "introspect,", "INTROSPECT"] {
            assert_eq!(Scope::parse_list(bad), Err(UnknownScope), "{bad:?}");
        }
        for scope in ALL_SCOPES {
            assert_eq!(Scope::parse(scope.as_str()), Ok(scope));
        }
    }

    #[test]
    fn names_are_short_and_plain() {
        assert_eq!(
            ClientName::parse("billing-api.v2_x").unwrap().as_str(),
            "billing-api.v2_x"
        );
        assert!(ClientName::parse(&"a".repeat(64)).is_ok());
        for bad in ["", " a", "a b", "a,b", "é", &"a".repeat(65)] {
            assert_eq!(ClientName::parse(bad), Err(InvalidClientName), "{bad:?}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let secret = ClientSecret::new("wdn_secret".into());
        assert!(!format!("{secret:?}").contains("wdn_secret"));
        assert!(!format!("{:?}", TokenHash::new(vec![1, 2])).contains('1'));
    }
}
