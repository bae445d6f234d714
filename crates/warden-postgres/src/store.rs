//! [`PgStore`]: the connection pool, migrations and readiness.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Weak};
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
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use warden_domain::ports::StoreError;

use crate::change_group::ChangeGroups;
use crate::tls::MakeRustls;
use crate::{connection, errors, migrations, tls};

/// The PostgreSQL store: implements [`warden_domain::ports::UserRepo`] and
/// [`warden_domain::ports::Outbox`] over a pool of `AsyncPgConnection`s. Cloning is cheap and
/// shares the pool. Any number of processes may share one database: every change is a
/// conditional statement or a short transaction.
///
/// With [`PgStore::with_thread_pools`], each thread that runs a current-thread runtime (an HTTP
/// worker) gets a small pool of its own, driven on that thread: a query then never wakes
/// another thread, which on a busy 2-core machine costs more CPU than the rest of the request
/// (docs/benchmarks.md). Such a thread also applies its concurrent admin status changes in
/// groups, one statement per group (`change_group`). Everything else (the multi-thread
/// runtime's tasks) shares `pool`.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    /// The runtime `connect` was called on. The shared pool's connections are opened there, so
    /// their driver tasks never belong to a shorter-lived runtime (such as an HTTP worker
    /// thread's, which ends first at shutdown while requests on other threads still use the
    /// shared pool).
    runtime: Handle,
    settings: Arc<Settings>,
    /// `user@host:port/db`, for `Debug`; never the password.
    target: Arc<str>,
    /// `none` or the `sslmode` in force, for `Debug`.
    tls: &'static str,
}

/// What every pool of one store is opened with.
#[derive(Clone)]
struct Settings {
    url: String,
    tls: Option<MakeRustls>,
    acquire_timeout: Duration,
    /// The size of each thread's own pool; `None`: every thread shares `PgStore::pool`.
    per_thread: Option<usize>,
}

/// What a thread has of its own for one store (see [`PgStore::with_thread_pools`]).
struct ThreadShare {
    settings: Weak<Settings>,
    pool: Pool<AsyncPgConnection>,
    /// Status changes waiting to be grouped, applied on `pool` (see `change_group`).
    groups: ChangeGroups,
}

thread_local! {
    /// This thread's own pools and change queues, one per store; an entry whose store is gone
    /// is dropped when the next one is added. They end with the thread.
    static THREAD_SHARES: RefCell<Vec<ThreadShare>> = const { RefCell::new(Vec::new()) };
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
        let runtime = Handle::current();
        let settings = Arc::new(Settings {
            url: target.url,
            tls: target.tls,
            acquire_timeout,
            per_thread: None,
        });
        let pool = build_pool(&settings, max_connections, runtime.clone())?;
        Ok(PgStore {
            pool,
            runtime,
            settings,
            target: describe(&config).into(),
            tls: target.mode,
        })
    }

    /// This store, where each thread running a current-thread runtime (an actix-web worker)
    /// uses a pool of its own of at most `per_thread` connections, opened on first use and
    /// driven on that thread. Tasks of a multi-thread runtime keep sharing the pool of
    /// [`PgStore::connect`].
    #[must_use]
    pub fn with_thread_pools(mut self, per_thread: usize) -> PgStore {
        let mut settings = Settings::clone(&self.settings);
        settings.per_thread = Some(per_thread.max(1));
        self.settings = Arc::new(settings);
        self
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
        // A migration may rightly run longer than one request's deadline (an index on a big
        // table): no statement timeout on this connection.
        let mut conn = conn;
        diesel::sql_query("SET statement_timeout = 0")
            .execute(&mut conn)
            .await
            .map_err(errors::from_diesel)
            .context("cannot prepare the migration connection")?;
        // Diesel's migration harness is synchronous: drive it from a blocking thread, on a
        // connection of its own (taken out of the pool, closed afterwards).
        let mut conn = Object::take(conn);
        // Nor a client-side deadline.
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

    /// A pooled connection, within the acquire timeout: from this thread's own pool when it
    /// has one (see [`PgStore::with_thread_pools`]), else from the shared pool.
    pub(crate) async fn conn(&self) -> Result<Object<AsyncPgConnection>, StoreError> {
        let timeout = self.settings.acquire_timeout;
        let pool = match self.thread_share()? {
            Some((pool, _)) => pool,
            None => self.pool.clone(),
        };
        match tokio::time::timeout(timeout, pool.get()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(err)) => Err(errors::from_pool(err)),
            Err(_) => Err(errors::acquire_timed_out(timeout)),
        }
    }

    /// Runs `work` (holding a connection from [`PgStore::conn`]) as a task of the runtime that
    /// drives that connection, so that it runs to completion even if its caller gives up: a
    /// transaction abandoned half-way would go back to the pool still open.
    pub(crate) fn spawn<F>(&self, work: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.local_runtime() {
            Some(here) => here.spawn(work),
            None => self.runtime.spawn(work),
        }
    }

    /// The current runtime, when this thread gets a pool of its own.
    fn local_runtime(&self) -> Option<Handle> {
        self.settings.per_thread?;
        let here = Handle::try_current().ok()?;
        (here.runtime_flavor() == RuntimeFlavor::CurrentThread).then_some(here)
    }

    /// How long one round trip may take (`WARDEN_DB_TIMEOUT_MS`): the server gives up on a
    /// statement a little sooner (`connection::statement_timeout`).
    pub(crate) fn round_trip_timeout(&self) -> Duration {
        self.settings.acquire_timeout
    }

    /// This thread's queue of status changes to group, when it has a pool of its own.
    pub(crate) fn change_groups(&self) -> Option<ChangeGroups> {
        let (_, groups) = self.thread_share().ok()??;
        Some(groups)
    }

    /// This thread's own pool of this store (opened on first use) and queue of status changes;
    /// `None` when it has none.
    fn thread_share(&self) -> Result<Option<(Pool<AsyncPgConnection>, ChangeGroups)>, StoreError> {
        let (Some(size), Some(here)) = (self.settings.per_thread, self.local_runtime()) else {
            return Ok(None);
        };
        THREAD_SHARES.with_borrow_mut(|shares| {
            let mine = shares
                .iter()
                .find(|share| std::ptr::eq(share.settings.as_ptr(), Arc::as_ptr(&self.settings)));
            if let Some(share) = mine {
                return Ok(Some((share.pool.clone(), share.groups.clone())));
            }
            shares.retain(|share| share.settings.strong_count() > 0);
            let pool = build_pool(&self.settings, size, here).map_err(StoreError::other)?;
            let groups = ChangeGroups::new(size);
            shares.push(ThreadShare {
                settings: Arc::downgrade(&self.settings),
                pool: pool.clone(),
                groups: groups.clone(),
            });
            Ok(Some((pool, groups)))
        })
    }
}

/// A pool of at most `max` connections, each opened (and then driven) on `runtime`.
fn build_pool(
    settings: &Settings,
    max: usize,
    runtime: Handle,
) -> anyhow::Result<Pool<AsyncPgConnection>> {
    let mut manager_config = ManagerConfig::default();
    // Checkout costs no round trip: a connection whose socket closed (including one closed
    // for missing its deadline), or that was dropped mid-transaction, is already known to be
    // broken and gets replaced.
    manager_config.recycling_method = RecyclingMethod::Fast;
    let (tls, timeout) = (settings.tls.clone(), settings.acquire_timeout);
    manager_config.custom_setup = Box::new(move |url| {
        let (url, runtime, tls) = (url.to_owned(), runtime.clone(), tls.clone());
        Box::pin(async move {
            runtime
                .spawn(async move { connection::establish(&url, tls, timeout).await })
                .await
                .map_err(|err| ConnectionError::BadConnection(err.to_string()))?
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        &settings.url,
        manager_config,
    );
    Pool::builder(manager)
        .max_size(max)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("cannot build the PostgreSQL connection pool")
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("tls", &self.tls)
            .field("max_connections", &status.max_size)
            .field("open_connections", &status.size)
            .field("per_thread", &self.settings.per_thread)
            .field("acquire_timeout", &self.settings.acquire_timeout)
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
