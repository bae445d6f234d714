//! [`ClientRepo`] for [`PgStore`]: every method is one statement. A revocation is a conditional
//! `UPDATE ... WHERE revoked_at IS NULL RETURNING`, so of two racing revocations exactly one
//! applies.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{Client, ClientName, ClientRef, NewClient, Scope, TokenHash};

use crate::errors::{corrupt, from_diesel};
use crate::schema::clients;
use crate::PgStore;

#[derive(Insertable)]
#[diesel(table_name = clients)]
struct NewClientRow<'a> {
    id: Uuid,
    name: &'a str,
    scopes: String,
    token_hash: &'a [u8],
    created_at: DateTime<Utc>,
}

/// What is read back: everything but the hash.
#[derive(Queryable, Selectable)]
#[diesel(table_name = clients, check_for_backend(Pg))]
struct ClientView {
    id: Uuid,
    name: String,
    scopes: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ClientView> for Client {
    type Error = anyhow::Error;

    fn try_from(row: ClientView) -> anyhow::Result<Self> {
        Ok(Client {
            id: row.id,
            name: ClientName::parse(&row.name).context("client name")?,
            scopes: Scope::parse_list(&row.scopes).context("client scopes")?,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        })
    }
}

#[async_trait]
impl ClientRepo for PgStore {
    async fn create(&self, new: NewClient) -> Result<Client, StoreError> {
        let mut conn = self.conn().await?;
        let row = diesel::insert_into(clients::table)
            .values(NewClientRow {
                id: new.id,
                name: new.name.as_str(),
                scopes: Scope::join(&new.scopes),
                token_hash: new.token_hash.as_bytes(),
                created_at: new.created_at,
            })
            .returning(ClientView::as_returning())
            .get_result(&mut conn)
            .await
            .map_err(from_diesel)?;
        Client::try_from(row).map_err(corrupt)
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let mut conn = self.conn().await?;
        clients::table
            .order((clients::created_at.asc(), clients::id.asc()))
            .select(ClientView::as_select())
            .load(&mut conn)
            .await
            .map_err(from_diesel)?
            .into_iter()
            .map(Client::try_from)
            .collect::<anyhow::Result<_>>()
            .map_err(corrupt)
    }

    async fn revoke(
        &self,
        which: &ClientRef,
        at: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError> {
        let mut conn = self.conn().await?;
        let live = clients::table.filter(clients::revoked_at.is_null());
        let row = match which {
            ClientRef::Id(id) => {
                diesel::update(live.filter(clients::id.eq(id)))
                    .set(clients::revoked_at.eq(Some(at)))
                    .returning(ClientView::as_returning())
                    .get_result(&mut conn)
                    .await
            }
            ClientRef::Name(name) => {
                diesel::update(live.filter(clients::name.eq(name.as_str())))
                    .set(clients::revoked_at.eq(Some(at)))
                    .returning(ClientView::as_returning())
                    .get_result(&mut conn)
                    .await
            }
        };
        row.optional()
            .map_err(from_diesel)?
            .map(Client::try_from)
            .transpose()
            .map_err(corrupt)
    }

    async fn find_live_by_token_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Client>, StoreError> {
        let mut conn = self.conn().await?;
        clients::table
            .filter(clients::token_hash.eq(hash.as_bytes()))
            .filter(clients::revoked_at.is_null())
            .select(ClientView::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(from_diesel)?
            .map(Client::try_from)
            .transpose()
            .map_err(corrupt)
    }
}
