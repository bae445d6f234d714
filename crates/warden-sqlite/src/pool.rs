//! The connection pool: where the database is, and how every connection is set up.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{bail, Context};
use diesel::{ConnectionError, ConnectionResult, SqliteConnection};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};

pub(crate) type Conn = SyncConnectionWrapper<SqliteConnection>;

/// Run on every new connection. `busy_timeout` comes first: switching to WAL needs a lock that
/// another connection may briefly hold.
const SETUP: &str = "PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
PRAGMA synchronous = NORMAL;";

/// Where a `DATABASE_URL` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Memory,
    File(String),
}

impl Location {
    /// Accepts `sqlite::memory:` and `sqlite://PATH` (also `sqlite:PATH`).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let Some(rest) = url.strip_prefix("sqlite:") else {
            bail!("not a SQLite URL (expected sqlite://PATH or sqlite::memory:)");
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        match path {
            "" => bail!("the SQLite URL names no file (expected sqlite://PATH)"),
            ":memory:" => Ok(Location::Memory),
            path => Ok(Location::File(path.to_owned())),
        }
    }

    /// What diesel's `SqliteConnection::establish` opens.
    fn target(&self) -> &str {
        match self {
            Location::Memory => ":memory:",
            Location::File(path) => path,
        }
    }

    pub fn describe(&self) -> &str {
        self.target()
    }
}

/// Builds the pool, creating the database file's directory if missing. An in-memory database
/// exists once per connection, so it gets exactly one.
pub(crate) async fn build(
    location: &Location,
    max_connections: usize,
    acquire_timeout: Duration,
) -> anyhow::Result<Pool<Conn>> {
    let max_connections = match location {
        Location::Memory => 1,
        Location::File(path) => {
            create_private_file(Path::new(path))
                .await
                .with_context(|| format!("cannot create the SQLite database {path}"))?;
            max_connections.max(1)
        }
    };
    let mut config = ManagerConfig::<Conn>::default();
    config.custom_setup = Box::new(establish);
    let manager = AsyncDieselConnectionManager::new_with_config(location.target(), config);
    Pool::builder(manager)
        .max_size(max_connections)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .recycle_timeout(Some(acquire_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("cannot build the SQLite connection pool")
}

/// Creates the database file, readable by its owner only (`0600`; SQLite gives its WAL and
/// shared-memory files the same mode), in a parent directory created `0700` if missing. An
/// existing file open to group or others is made private.
async fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};

    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        let permissions = file.metadata()?.permissions();
        if permissions.mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    })
    .await
    .map_err(std::io::Error::other)?
}

fn establish(target: &str) -> Pin<Box<dyn Future<Output = ConnectionResult<Conn>> + Send + '_>> {
    Box::pin(async move {
        let mut conn = Conn::establish(target).await?;
        conn.batch_execute(SETUP)
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            Location::parse("sqlite::memory:").unwrap(),
            Location::Memory
        );
        assert_eq!(
            Location::parse("sqlite://data/warden.db").unwrap(),
            Location::File("data/warden.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///var/lib/warden.db").unwrap(),
            Location::File("/var/lib/warden.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:warden.db").unwrap(),
            Location::File("warden.db".into())
        );
        assert_eq!(
            Location::parse("sqlite://:memory:").unwrap(),
            Location::Memory
        );
        assert!(Location::parse("postgres://localhost/warden").is_err());
        assert!(Location::parse("sqlite://").is_err());
    }
}
