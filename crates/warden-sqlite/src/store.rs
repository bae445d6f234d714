//! [`SqliteStore`]: the pool, migrations, readiness, and how each operation reaches SQLite.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::sql_types::Integer;
use diesel::{IntoSql, QueryResult, RunQueryDsl, SqliteConnection};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use warden_domain::ports::StoreError;

use crate::errors;
use crate::pool::{self, Conn, Location};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The SQLite store of accounts, audit trail and outbox. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<Conn>,
    location: Arc<Location>,
    /// The runtime `connect` was called on. Every operation runs there, so connections and
    /// their work never belong to a shorter-lived runtime (such as an HTTP worker thread's,
    /// which ends first at shutdown while requests on other threads still need the pool).
    runtime: tokio::runtime::Handle,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`: `sqlite://PATH` or `sqlite::memory:`.
    /// The parent directories of PATH are created. An in-memory database always has exactly
    /// one connection, since each connection would otherwise see its own empty database.
    ///
    /// # Errors
    /// When the URL is not a SQLite URL or the database cannot be opened.
    pub async fn connect(
        url: &str,
        max_connections: usize,
        acquire_timeout: Duration,
    ) -> anyhow::Result<SqliteStore> {
        let location = Location::parse(url)?;
        let pool = pool::build(&location, max_connections, acquire_timeout).await?;
        let store = SqliteStore {
            pool,
            location: Arc::new(location),
            runtime: tokio::runtime::Handle::current(),
        };
        store.ping().await.with_context(|| {
            format!("cannot open SQLite database {}", store.location.describe())
        })?;
        Ok(store)
    }

    /// Applies the embedded migrations not yet applied; running it again does nothing.
    ///
    /// # Errors
    /// When a migration fails; the failed migration is rolled back.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let applied = self
            .run(|conn| {
                Ok(conn
                    .run_pending_migrations(MIGRATIONS)
                    .map(|versions| versions.len())
                    .map_err(anyhow::Error::from_boxed))
            })
            .await
            .context("cannot run SQLite migrations")??;
        tracing::info!(applied, "SQLite migrations are up to date");
        Ok(())
    }

    /// Whether the database answers (`SELECT 1`), for readiness checks.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had in time.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| {
            diesel::select(1.into_sql::<Integer>())
                .get_result::<i32>(conn)
                .map(drop)
        })
        .await
    }

    /// Runs `op` on a pooled connection, on a blocking thread. The work is a task of its own (on
    /// the store's runtime), so a caller that gives up waiting never interrupts an operation
    /// half-way: a transaction is always committed or rolled back, and the connection goes back
    /// to the pool in order.
    pub(crate) async fn run<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> QueryResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        let task = self.runtime.spawn(async move {
            let mut conn = pool.get().await.map_err(errors::from_pool)?;
            conn.spawn_blocking(op).await.map_err(errors::from_diesel)
        });
        match task.await {
            Ok(result) => result,
            Err(join) => Err(StoreError::other(
                anyhow::Error::new(join).context("SQLite task failed"),
            )),
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("SqliteStore")
            .field("database", &self.location.describe())
            .field("max_connections", &status.max_size)
            .field("connections", &status.size)
            .finish()
    }
}
