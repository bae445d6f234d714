//! [`ClientRepo`] on SQLite. A revocation is one conditional `UPDATE ... WHERE revoked_at IS
//! NULL RETURNING`, so of two racing revocations exactly one applies.

use anyhow::Context;
use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use uuid::Uuid;
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{
    Authorized, ChangeAction, Client, ClientName, ClientRef, Guarded, NewClient, Scope, TokenHash,
};

use crate::changes::authorized;
use crate::errors::corrupt;
use crate::schema::clients;
use crate::store::SqliteStore;
use crate::timestamp::Ts;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = clients, check_for_backend(Sqlite))]
struct ClientRow {
    id: String,
    name: String,
    scopes: String,
    token_hash: Vec<u8>,
    created_at: Ts,
    revoked_at: Option<Ts>,
    created_by: Option<String>,
}

/// What is read back: everything but the hash.
#[derive(Queryable, Selectable)]
#[diesel(table_name = clients, check_for_backend(Sqlite))]
struct ClientView {
    id: String,
    name: String,
    scopes: String,
    created_at: Ts,
    revoked_at: Option<Ts>,
    created_by: Option<String>,
}

impl TryFrom<ClientView> for Client {
    type Error = anyhow::Error;

    fn try_from(row: ClientView) -> anyhow::Result<Self> {
        Ok(Client {
            id: Uuid::try_parse(&row.id).context("client id")?,
            name: ClientName::parse(&row.name).context("client name")?,
            scopes: Scope::parse_list(&row.scopes).context("client scopes")?,
            created_at: row.created_at.0,
            created_by: row
                .created_by
                .map(|id| Uuid::try_parse(&id))
                .transpose()
                .context("created_by")?,
            revoked_at: row.revoked_at.map(|ts| ts.0),
        })
    }
}

fn convert(row: ClientView) -> QueryResult<Client> {
    Client::try_from(row).map_err(corrupt)
}

#[async_trait]
impl ClientRepo for SqliteStore {
    async fn create(&self, new: NewClient, by: &Authorized) -> Result<Guarded<Client>, StoreError> {
        let row = ClientRow {
            id: new.id.to_string(),
            name: new.name.as_str().to_owned(),
            scopes: Scope::join(&new.scopes),
            token_hash: new.token_hash.as_bytes().to_vec(),
            created_at: Ts(new.created_at),
            revoked_at: None,
            created_by: by.created_by().map(|id| id.to_string()),
        };
        let by = by.clone();
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                authorized(conn, &by, |conn| {
                    let client = diesel::insert_into(clients::table)
                        .values(&row)
                        .returning(ClientView::as_returning())
                        .get_result(conn)
                        .and_then(convert)?;
                    let record = by.record(ChangeAction::ClientCreated, client.id, Vec::new());
                    Ok((client, Some(record)))
                })
            })
        })
        .await
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.run(|conn| {
            clients::table
                .order((clients::created_at.asc(), clients::id.asc()))
                .select(ClientView::as_select())
                .load(conn)?
                .into_iter()
                .map(convert)
                .collect()
        })
        .await
    }

    async fn revoke(
        &self,
        which: &ClientRef,
        by: &Authorized,
    ) -> Result<Guarded<Option<Client>>, StoreError> {
        let which = which.clone();
        let by = by.clone();
        let at = by.at;
        self.run(move |conn| {
            conn.immediate_transaction(|conn| {
                authorized(conn, &by, |conn| {
                    let live = clients::table.filter(clients::revoked_at.is_null());
                    let update = match &which {
                        ClientRef::Id(id) => {
                            diesel::update(live.filter(clients::id.eq(id.to_string())))
                                .set(clients::revoked_at.eq(Some(Ts(at))))
                                .returning(ClientView::as_returning())
                                .get_result(conn)
                        }
                        ClientRef::Name(name) => {
                            diesel::update(live.filter(clients::name.eq(name.as_str())))
                                .set(clients::revoked_at.eq(Some(Ts(at))))
                                .returning(ClientView::as_returning())
                                .get_result(conn)
                        }
                    };
                    let found = update.optional()?.map(convert).transpose()?;
                    let record = found.as_ref().map(|client| {
                        by.record(ChangeAction::ClientRevoked, client.id, Vec::new())
                    });
                    Ok((found, record))
                })
            })
        })
        .await
    }

    async fn find_live_by_token_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Client>, StoreError> {
        let hash = hash.as_bytes().to_vec();
        self.run(move |conn| {
            clients::table
                .filter(clients::token_hash.eq(hash))
                .filter(clients::revoked_at.is_null())
                .select(ClientView::as_select())
                .first(conn)
                .optional()?
                .map(convert)
                .transpose()
        })
        .await
    }
}
