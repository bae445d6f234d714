//! [`ClientRepo`] for [`MemoryStore`]: the clients behind a mutex of their own (no operation
//! touches clients and accounts together), held to the same conformance suite
//! ([`crate::contract::clients`]) as the database stores.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{Client, ClientRef, NewClient, TokenHash};

use crate::MemoryStore;

#[derive(Debug, Default)]
pub(crate) struct Clients(Mutex<Vec<(Client, TokenHash)>>);

impl Clients {
    /// Whether the client `id` exists and is not revoked.
    pub(crate) fn is_live(&self, id: uuid::Uuid) -> bool {
        self.lock()
            .iter()
            .any(|(client, _)| client.id == id && client.is_live())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(Client, TokenHash)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn matches(client: &Client, which: &ClientRef) -> bool {
    match which {
        ClientRef::Id(id) => client.id == *id,
        ClientRef::Name(name) => client.name == *name,
    }
}

#[async_trait]
impl ClientRepo for MemoryStore {
    async fn create(&self, new: NewClient) -> Result<Client, StoreError> {
        let mut clients = self.clients.lock();
        let taken = clients.iter().any(|(client, hash)| {
            client.id == new.id
                || *hash == new.token_hash
                || (client.is_live() && client.name == new.name)
        });
        if taken {
            return Err(StoreError::Conflict(
                "a client has this id, token or live name".into(),
            ));
        }
        let client = Client {
            id: new.id,
            name: new.name,
            scopes: new.scopes,
            created_at: new.created_at.trunc_subsecs(6),
            revoked_at: None,
        };
        clients.push((client.clone(), new.token_hash));
        Ok(client)
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut list: Vec<Client> = self.clients.lock().iter().map(|(c, _)| c.clone()).collect();
        list.sort_by_key(|client| (client.created_at, client.id));
        Ok(list)
    }

    async fn revoke(
        &self,
        which: &ClientRef,
        at: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError> {
        let mut clients = self.clients.lock();
        let found = clients
            .iter_mut()
            .find(|(client, _)| client.is_live() && matches(client, which));
        Ok(found.map(|(client, _)| {
            client.revoked_at = Some(at.trunc_subsecs(6));
            client.clone()
        }))
    }

    async fn find_live_by_token_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Client>, StoreError> {
        Ok(self
            .clients
            .lock()
            .iter()
            .find(|(client, stored)| client.is_live() && stored == hash)
            .map(|(client, _)| client.clone()))
    }
}
