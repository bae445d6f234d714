//! [`ClientRepo`] for [`PgStore`]. Creating and revoking are one short transaction that
//! re-checks the actor and records the change (`changes::authorized`); a revocation is a
//! conditional `UPDATE ... WHERE revoked_at IS NULL RETURNING`, so of two racing revocations
//! exactly one applies. Reads are one statement.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;
use warden_domain::ports::{ClientRepo, StoreError};
use warden_domain::{
    Authorized, ChangeAction, Client, ClientName, ClientRef, Guarded, NewClient, Scope, TokenHash,
};

use crate::changes::authorized;
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
    created_by: Option<Uuid>,
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
    created_by: Option<Uuid>,
}

impl TryFrom<ClientView> for Client {
    type Error = anyhow::Error;

    fn try_from(row: ClientView) -> anyhow::Result<Self> {
        Ok(Client {
            id: row.id,
            name: ClientName::parse(&row.name).context("client name")?,
            scopes: Scope::parse_list(&row.scopes).context("client scopes")?,
            created_at: row.created_at,
            created_by: row.created_by,
            revoked_at: row.revoked_at,
        })
    }
}

/// A guarded write's row as a client.
fn convert(row: Guarded<Option<ClientView>>) -> Result<Guarded<Option<Client>>, StoreError> {
    match row {
        Guarded::Applied(row) => row
            .map(Client::try_from)
            .transpose()
            .map(Guarded::Applied)
            .map_err(corrupt),
        Guarded::ActorRevoked => Ok(Guarded::ActorRevoked),
    }
}

#[async_trait]
impl ClientRepo for PgStore {
    async fn create(&self, new: NewClient, by: &Authorized) -> Result<Guarded<Client>, StoreError> {
        let row = authorized(self, by, move |conn, by| {
            Box::pin(async move {
                let row = diesel::insert_into(clients::table)
                    .values(NewClientRow {
                        id: new.id,
                        name: new.name.as_str(),
                        scopes: Scope::join(&new.scopes),
                        token_hash: new.token_hash.as_bytes(),
                        created_at: new.created_at,
                        created_by: by.created_by(),
                    })
                    .returning(ClientView::as_returning())
                    .get_result(conn)
                    .await?;
                let change = by.record(ChangeAction::ClientCreated, row.id, Vec::new());
                Ok((row, Some(change)))
            })
        })
        .await?;
        convert(row.map(Some)).map(|client| match client {
            Guarded::Applied(Some(client)) => Guarded::Applied(client),
            _ => Guarded::ActorRevoked,
        })
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
        by: &Authorized,
    ) -> Result<Guarded<Option<Client>>, StoreError> {
        let which = which.clone();
        let row = authorized(self, by, move |conn, by| {
            Box::pin(async move {
                let live = clients::table.filter(clients::revoked_at.is_null());
                let at = Some(by.at);
                let row = match &which {
                    ClientRef::Id(id) => {
                        diesel::update(live.filter(clients::id.eq(id)))
                            .set(clients::revoked_at.eq(at))
                            .returning(ClientView::as_returning())
                            .get_result(conn)
                            .await
                    }
                    ClientRef::Name(name) => {
                        diesel::update(live.filter(clients::name.eq(name.as_str())))
                            .set(clients::revoked_at.eq(at))
                            .returning(ClientView::as_returning())
                            .get_result(conn)
                            .await
                    }
                }
                .optional()?;
                let change = row
                    .as_ref()
                    .map(|row| by.record(ChangeAction::ClientRevoked, row.id, Vec::new()));
                Ok((row, change))
            })
        })
        .await?;
        convert(row)
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
