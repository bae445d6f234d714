//! Machine clients: registering, listing and revoking them (admins over HTTP, operators at the
//! CLI), and checking a client's bearer token for a scope.

use std::sync::Arc;

use uuid::Uuid;

use super::Admin;
use crate::ports::{ClientRepo, ClientTokens, Clock, StoreError};
use crate::{
    Actor, Authorized, Client, ClientName, ClientRef, ClientSecret, NewClient, Operator, Scope,
};

/// On whose authority clients are managed: a checked admin, or an operator at the CLI.
#[derive(Debug, Clone, Copy)]
pub enum ClientManager<'a> {
    Admin(&'a Admin),
    Operator(&'a Operator),
}

impl ClientManager<'_> {
    /// Who acts: the admin (re-checked by the store at commit), or the operator at the console
    /// (nothing to re-check).
    pub fn actor(&self) -> Actor {
        match self {
            ClientManager::Admin(admin) => admin.actor().clone(),
            ClientManager::Operator(operator) => Actor::console(operator.os_user()),
        }
    }
}

/// A client just created, with its token: the only time the token is known.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    pub client: Client,
    pub token: ClientSecret,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A live client already has this name.
    #[error("a live client has this name")]
    NameTaken,
    /// A client needs at least one scope.
    #[error("no scope given")]
    NoScopes,
    /// No live client has this id or name.
    #[error("no such live client")]
    NotFound,
    /// The acting admin's authority no longer held when the change was to commit; nothing
    /// was written.
    #[error("the actor's authority was withdrawn")]
    ActorRevoked,
    /// The store failed (see [`StoreError`]): [`StoreError::Unavailable`] when it could not be
    /// reached in time (worth retrying), otherwise a bug or corrupt data. Nothing was changed.
    #[error(transparent)]
    Store(StoreError),
}

/// Creates, lists and revokes clients.
#[derive(Clone)]
pub struct ManageClients {
    clients: Arc<dyn ClientRepo>,
    tokens: Arc<dyn ClientTokens>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ManageClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageClients")
    }
}

impl ManageClients {
    pub fn new(
        clients: Arc<dyn ClientRepo>,
        tokens: Arc<dyn ClientTokens>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            clients,
            tokens,
            clock,
        }
    }

    /// A new live client with a fresh token (returned once, stored only as its hash).
    ///
    /// # Errors
    /// [`ClientError::NoScopes`] for an empty scope list; [`ClientError::NameTaken`] when a live
    /// client has the name; [`ClientError::ActorRevoked`] when the admin's authority no longer
    /// held at commit; [`ClientError::Store`].
    pub async fn create(
        &self,
        by: ClientManager<'_>,
        name: ClientName,
        scopes: Vec<Scope>,
    ) -> Result<CreatedClient, ClientError> {
        let scopes =
            Scope::normalise(scopes.into_iter().map(Ok)).map_err(|_| ClientError::NoScopes)?;
        let (token, token_hash) = self.tokens.generate();
        let authorized = Authorized::new(by.actor(), self.clock.now());
        let new = NewClient {
            id: Uuid::now_v7(),
            name,
            scopes,
            token_hash,
            created_at: authorized.at,
        };
        match self.clients.create(new, &authorized).await {
            Ok(client) => Ok(CreatedClient {
                client: client.or_revoked(ClientError::ActorRevoked)?,
                token,
            }),
            Err(StoreError::Conflict(_)) => Err(ClientError::NameTaken),
            Err(error) => Err(ClientError::Store(error)),
        }
    }

    /// Every client, revoked ones included, oldest first.
    ///
    /// # Errors
    /// [`ClientError::Store`].
    pub async fn list(&self, _by: ClientManager<'_>) -> Result<Vec<Client>, ClientError> {
        self.clients.list().await.map_err(ClientError::Store)
    }

    /// Revokes a live client now: its token is refused from the next request on.
    ///
    /// # Errors
    /// [`ClientError::NotFound`] when no live client matches; [`ClientError::ActorRevoked`];
    /// [`ClientError::Store`].
    pub async fn revoke(
        &self,
        by: ClientManager<'_>,
        which: &ClientRef,
    ) -> Result<Client, ClientError> {
        let authorized = Authorized::new(by.actor(), self.clock.now());
        self.clients
            .revoke(which, &authorized)
            .await
            .map_err(ClientError::Store)?
            .or_revoked(ClientError::ActorRevoked)?
            .ok_or(ClientError::NotFound)
    }
}

/// A live client whose token was checked just now for a scope it holds. Only
/// [`ClientAuthenticator`] makes one.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    client: Client,
    granted: Scope,
}

impl AuthenticatedClient {
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope it was admitted for.
    pub fn granted(&self) -> Scope {
        self.granted
    }

    /// The client as the actor of a change it makes (recorded by id and name; the store
    /// re-checks at commit that it is still not revoked).
    pub fn actor(&self) -> Actor {
        Actor::client(self.client.id, self.client.name.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAccessError {
    /// No token, or one that is not a live client's. The text is for logs only.
    #[error("unauthenticated client: {0}")]
    Unauthenticated(&'static str),
    /// A live client without the scope required.
    #[error("the client lacks the scope {}", .0.as_str())]
    Forbidden(Scope),
    /// The client could not be looked up: the store failed (see [`StoreError`]); nothing was
    /// decided about the caller.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turns a client's bearer token into an [`AuthenticatedClient`].
#[derive(Clone)]
pub struct ClientAuthenticator {
    clients: Arc<dyn ClientRepo>,
    tokens: Arc<dyn ClientTokens>,
}

impl std::fmt::Debug for ClientAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientAuthenticator")
    }
}

/// Longer presented tokens are refused without being hashed.
const MAX_TOKEN_CHARS: usize = 512;

impl ClientAuthenticator {
    pub fn new(clients: Arc<dyn ClientRepo>, tokens: Arc<dyn ClientTokens>) -> Self {
        Self { clients, tokens }
    }

    /// The live client the token belongs to, if it holds `required`.
    ///
    /// # Errors
    /// [`ClientAccessError::Unauthenticated`] for a missing, unknown or revoked token;
    /// [`ClientAccessError::Forbidden`] for a live client without `required`;
    /// [`ClientAccessError::Store`] when the store fails.
    pub async fn client(
        &self,
        token: Option<&str>,
        required: Scope,
    ) -> Result<AuthenticatedClient, ClientAccessError> {
        let token = token.ok_or(ClientAccessError::Unauthenticated("no bearer token"))?;
        if token.len() > MAX_TOKEN_CHARS {
            return Err(ClientAccessError::Unauthenticated("token too long"));
        }
        let client = self
            .clients
            .find_live_by_token_hash(&self.tokens.hash(token))
            .await?
            .filter(Client::is_live)
            .ok_or(ClientAccessError::Unauthenticated(
                "not a live client's token",
            ))?;
        if !client.allows(required) {
            return Err(ClientAccessError::Forbidden(required));
        }
        Ok(AuthenticatedClient {
            client,
            granted: required,
        })
    }
}

#[cfg(test)]
#[path = "clients_tests.rs"]
mod tests;
