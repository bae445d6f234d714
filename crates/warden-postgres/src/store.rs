//! [`PgStore`]: the connection pool, migrations and readiness.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use diesel::connection::InstrumentationEvent;
use diesel::sql_types::Integer;
use diesel::ConnectionError;
use diesel::IntoSql;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio_postgres::config::Host;
use warden_domain::ports::StoreError;

use crate::{connection, errors, migrations, tls};

/// The PostgreSQL store: implements [`warden_domain::ports::UserRepo`] and
/// [`warden_domain::ports::Outbox`] over a pool of `AsyncPgConnection`s. Cloning is cheap and
/// shares the pool. Any number of processes may share one database: every change is a
/// conditional statement or a short transaction.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    /// The runtime `connect` was called on. Connections are opened there, so their driver tasks
    /// never belong to a shorter-lived runtime (such as an HTTP worker thread's, which ends
    /// first at shutdown while requests on other threads still use the pool).
    pub(crate) runtime: tokio::runtime::Handle,
    acquire_timeout: Duration,
    /// `user@host:port/db`, for `Debug`; never the password.
    target: Arc<str>,
    /// `none` or the `sslmode` in force, for `Debug`.
    tls: &'static str,
}

impl PgStore {
    /// A store over a pool of at most `max_connections`. Connections are opened on first use,
    /// so this succeeds while the database is down; [`PgStore::ping`] tells whether it is up.
    /// Getting a connection (waiting for a free one, or opening one) never takes longer than
    /// `acquire_timeout`, and neither does any round trip on it: a connection whose answer is
    /// that late is closed and discarded. Either way the operation fails with
    /// [`StoreError::Unavailable`].
    ///
    /// TLS follows libpq's `sslmode` (and `sslrootcert`) in `url`; without `sslmode`, plain TCP.
    /// See the `tls` module for the modes.
    ///
    /// # Errors
    /// When `url` is not a valid connection string (or names an unsupported `sslmode` or an
    /// unreadable `sslrootcert`), or `max_connections` or `acquire_timeout` is zero.
    pub async fn connect(
        url: &str,
        max_connections: usize,
        acquire_timeout: Duration,
    ) -> anyhow::Result<PgStore> {
        let target = tls::configure(url)?;
        let config = tokio_postgres::Config::from_str(&target.url)
            .context("DATABASE_URL is not a valid PostgreSQL connection string")?;
        if max_connections == 0 {
            bail!("the PostgreSQL pool needs at least one connection");
        }
        if acquire_timeout.is_zero() {
            bail!("the PostgreSQL acquire timeout must be positive");
        }
        let mut manager_config = ManagerConfig::default();
        // Checkout costs no round trip: a connection whose socket closed (including one closed
        // for missing its deadline), or that was dropped mid-transaction, is already known to be
        // broken and gets replaced.
        manager_config.recycling_method = RecyclingMethod::Fast;
        let runtime = tokio::runtime::Handle::current();
        let setup_runtime = runtime.clone();
        let setup_tls = target.tls.clone();
        manager_config.custom_setup = Box::new(move |url| {
            let (url, runtime, tls) = (url.to_owned(), setup_runtime.clone(), setup_tls.clone());
            Box::pin(async move {
                runtime
                    .spawn(async move { connection::establish(&url, tls, acquire_timeout).await })
                    .await
                    .map_err(|err| ConnectionError::BadConnection(err.to_string()))?
            })
        });
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            &target.url,
            manager_config,
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections)
            .wait_timeout(Some(acquire_timeout))
            .create_timeout(Some(acquire_timeout))
            .recycle_timeout(Some(acquire_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .context("cannot build the PostgreSQL connection pool")?;
        Ok(PgStore {
            pool,
            runtime,
            acquire_timeout,
            target: describe(&config).into(),
            tls: target.mode,
        })
    }

    /// Applies the pending embedded migrations (`migrations/postgres`). Safe to call from
    /// several processes at once (they take turns) and from a current-thread runtime.
    ///
    /// # Errors
    /// When the database cannot be reached or a migration fails.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let conn = self
            .conn()
            .await
            .context("cannot connect to PostgreSQL to migrate")?;
        // Diesel's migration harness is synchronous: drive it from a blocking thread, on a
        // connection of its own (taken out of the pool, closed afterwards).
        let mut conn = Object::take(conn);
        // A migration may rightly run longer than one request's deadline (an index on a big
        // table): this connection has none.
        match diesel::connection::get_default_instrumentation() {
            Some(default) => conn.set_instrumentation(default),
            None => conn.set_instrumentation(|_: InstrumentationEvent<'_>| {}),
        }
        tokio::task::spawn_blocking(move || migrations::run(conn))
            .await
            .context("the migration task failed")?
    }

    /// One `SELECT 1`: whether the database answers, for readiness checks.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not answer in time.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::select(1_i32.into_sql::<Integer>())
            .get_result::<i32>(&mut conn)
            .await
            .map(drop)
            .map_err(errors::from_diesel)
    }

    /// A pooled connection, within the acquire timeout.
    pub(crate) async fn conn(&self) -> Result<Object<AsyncPgConnection>, StoreError> {
        match tokio::time::timeout(self.acquire_timeout, self.pool.get()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(err)) => Err(errors::from_pool(err)),
            Err(_) => Err(errors::acquire_timed_out(self.acquire_timeout)),
        }
    }
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("tls", &self.tls)
            .field("max_connections", &status.max_size)
            .field("open_connections", &status.size)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

/// `user@host:port/dbname`, from the parsed configuration: the password is never in it.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_target_without_its_password() {
        let config =
            tokio_postgres::Config::from_str("postgres://warden:s3cret@db:6543/warden").unwrap();
        assert_eq!(describe(&config), "warden@db:6543/warden");
    }
}
