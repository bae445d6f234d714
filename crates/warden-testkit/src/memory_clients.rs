//! [`ClientRepo`] for [`MemoryStore`]: the clients behind a mutex of their own, locked after
//! the accounts' state by the writes that re-check an actor's authority (and record their audit
//! entry there), alone by the reads. Held to the same conformance suite
//! ([`crate::contract::clients`]) as the database stores.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::SubsecRound;
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{Authorized, ChangeAction, Client, ClientRef, Guarded, NewClient, TokenHash};

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
    async fn create(&self, new: NewClient, by: &Authorized) -> Result<Guarded<Client>, StoreError> {
        self.authorized(by, || {
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
                created_by: by.created_by(),
                revoked_at: None,
            };
            clients.push((client.clone(), new.token_hash));
            let record = by.record(ChangeAction::ClientCreated, client.id, Vec::new());
            Ok((client, Some(record)))
        })
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut list: Vec<Client> = self.clients.lock().iter().map(|(c, _)| c.clone()).collect();
        list.sort_by_key(|client| (client.created_at, client.id));
        Ok(list)
    }

    async fn revoke(
        &self,
        which: &ClientRef,
        by: &Authorized,
    ) -> Result<Guarded<Option<Client>>, StoreError> {
        self.authorized(by, || {
            let mut clients = self.clients.lock();
            let found = clients
                .iter_mut()
                .find(|(client, _)| client.is_live() && matches(client, which))
                .map(|(client, _)| {
                    client.revoked_at = Some(by.at.trunc_subsecs(6));
                    client.clone()
                });
            let record = found
                .as_ref()
                .map(|client| by.record(ChangeAction::ClientRevoked, client.id, Vec::new()));
            Ok((found, record))
        })
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
