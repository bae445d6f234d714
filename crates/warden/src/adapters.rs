//! Chooses and builds the adapter behind each port from the configuration.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use warden_auth::{Argon2Hasher, JwtAuth};
use warden_domain::ports::{LoginAttempts, Mailer, Outbox, StoreError, SystemClock, UserRepo};
use warden_domain::{MemoryLoginAttempts, ThrottlePolicy};
use warden_mail::{FileMailer, SmtpMailer};
use warden_postgres::{PgLoginAttempts, PgStore};
use warden_sqlite::SqliteStore;

use crate::config::Config;
use crate::services::Ports;

/// The database behind the `UserRepo` and `Outbox` ports, chosen by `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl Store {
    /// # Errors
    /// When the URL is malformed or the SQLite file cannot be opened.
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        Self::connect_sized(config, config.db_max_connections).await
    }

    /// Like [`Store::connect`], with a pool of at most `max` connections.
    ///
    /// # Errors
    /// When the URL is malformed or the SQLite file cannot be opened.
    pub async fn connect_sized(config: &Config, max: usize) -> anyhow::Result<Self> {
        let url = config.database_url.expose_secret();
        let timeout = config.db_timeout;
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::connect(url, max, timeout).await?))
        } else {
            Ok(Self::Postgres(PgStore::connect(url, max, timeout).await?))
        }
    }

    /// Applies the embedded migrations of this backend that are not applied yet.
    ///
    /// # Errors
    /// When the database cannot be reached or a migration fails.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(store) => store.migrate().await,
            Self::Sqlite(store) => store.migrate().await,
        }
    }

    /// # Errors
    /// When the database does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(store) => store.ping().await,
            Self::Sqlite(store) => store.ping().await,
        }
    }

    pub fn users(&self) -> Arc<dyn UserRepo> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    /// Sign-in attempts: in memory for SQLite (one process); shared by replicas on PostgreSQL.
    pub fn login_attempts(&self) -> Arc<dyn LoginAttempts> {
        match self {
            Self::Postgres(store) => Arc::new(PgLoginAttempts::new(
                store.clone(),
                ThrottlePolicy::default(),
            )),
            Self::Sqlite(_) => Arc::new(MemoryLoginAttempts::new(ThrottlePolicy::default())),
        }
    }

    pub fn outbox(&self) -> Arc<dyn Outbox> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }
}

/// Builds every port's adapter.
///
/// # Errors
/// When the JWT secret cannot be read or created, or the mail settings are unusable.
pub fn ports(config: &Config, store: &Store) -> anyhow::Result<Ports> {
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => {
            let path = config.data_dir.join("jwt-secret");
            warden_auth::load_or_create_secret(&path)
                .with_context(|| format!("JWT secret file {}", path.display()))?
        }
    };
    let jwt = Arc::new(JwtAuth::new(secret, config.jwt_ttl).context("JWT_SECRET")?);
    Ok(Ports {
        users: store.users(),
        outbox: store.outbox(),
        mailer: mailer(config)?,
        verifier: jwt.clone(),
        issuer: jwt,
        hasher: Arc::new(
            Argon2Hasher::new().with_limits(config.hash_concurrency, config.hash_wait),
        ),
        attempts: store.login_attempts(),
        clock: Arc::new(SystemClock),
    })
}

fn mailer(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match &config.smtp_url {
        Some(url) => Arc::new(
            SmtpMailer::from_url(url.expose_secret(), &config.mail_from)
                .context("SMTP_URL or MAIL_FROM")?,
        ),
        None => Arc::new(
            FileMailer::new(config.data_dir.join("mail"), &config.mail_from)
                .context("MAIL_FROM")?,
        ),
    })
}
