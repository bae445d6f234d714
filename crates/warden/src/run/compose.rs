//! The composition root: the one place that turns a [`Config`] into adapters. It chooses the
//! store for `DATABASE_URL` (the request pool, and the outbox worker's own small pool), the
//! mailer, JWT, the password hasher and the login-attempt counter, and hands the server
//! ([`crate::Application`]) and the CLI their ports and their after-commit hook.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use warden_auth::{Argon2Hasher, RandomClientTokens, SetKey};
use warden_domain::ports::{
    AuditExport, ChangeLog, ClientRepo, Clock, IdempotencyStore, JobStore, LoginAttempts, Mailer,
    Outbox, ProvisioningRepo, SsfRepo, StoreError, SystemClock, UserRepo, WebhookRepo,
};
use warden_domain::{MemoryLoginAttempts, ThrottlePolicy};
use warden_mail::{FileMailer, SmtpMailer};
use warden_postgres::{PgLoginAttempts, PgStore};
use warden_sqlite::SqliteStore;
use warden_webhooks::SetPusher;

use crate::observability::metrics::Metrics;
use crate::run::config::{Backend, Config};
use crate::run::services::{Ports, Services};
use crate::run::ssf::Transmitter;
use crate::workers::after_commit::AfterCommit;

/// Connections of the outbox worker's own pool.
const WORKER_CONNECTIONS: usize = 2;

/// The database behind the `UserRepo` and `Outbox` ports, chosen by `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl Store {
    /// The store `DATABASE_URL` names, with a pool of at most `max` connections.
    ///
    /// # Errors
    /// When the URL is malformed or the SQLite file cannot be opened.
    pub async fn connect(config: &Config, max: usize) -> anyhow::Result<Self> {
        let url = config.database_url.expose_secret();
        let timeout = config.db_timeout;
        match config.backend() {
            Backend::Postgres => Ok(Self::Postgres(PgStore::connect(url, max, timeout).await?)),
            Backend::SqliteFile | Backend::SqliteMemory => {
                Ok(Self::Sqlite(SqliteStore::connect(url, max, timeout).await?))
            }
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

    pub fn provisioning(&self) -> Arc<dyn ProvisioningRepo> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    pub fn clients(&self) -> Arc<dyn ClientRepo> {
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

    pub fn idempotency(&self) -> Arc<dyn IdempotencyStore> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    /// The audited changes other than status changes (clients, webhooks, profiles).
    pub fn changes(&self) -> Arc<dyn ChangeLog> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    /// The audit trail for collectors (`GET /api/v1/events/export`).
    pub fn audit_export(&self) -> Arc<dyn AuditExport> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    pub fn webhooks(&self) -> Arc<dyn WebhookRepo> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    pub fn ssf(&self) -> Arc<dyn SsfRepo> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    pub fn jobs(&self) -> Arc<dyn JobStore> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }

    pub fn outbox(&self) -> Arc<dyn Outbox> {
        match self {
            Self::Postgres(store) => Arc::new(store.clone()),
            Self::Sqlite(store) => Arc::new(store.clone()),
        }
    }
}

/// Connects the store, applies migrations and builds every adapter: the request pool behind
/// `users` and `outbox`, and for the outbox worker a small pool of its own (`delivery`), so mail
/// delivery never takes a connection a request is waiting for (see docs/benchmarks.md). An
/// in-memory SQLite database shares the request pool: a second pool would open another,
/// empty, database.
///
/// # Errors
/// When the database cannot be reached or migrated, or an adapter cannot be configured.
pub async fn open(config: &Config) -> anyhow::Result<(Store, Ports)> {
    crate::run::data_dir::prepare(&config.data_dir)?;
    let store = match Store::connect(config, config.db_max_connections).await? {
        // Each HTTP worker drives its own requests' connections (see `PgStore`).
        Store::Postgres(store) => {
            Store::Postgres(store.with_thread_pools(config.db_connections_per_worker()))
        }
        sqlite => sqlite,
    };
    store.migrate().await?;
    let delivery = match config.backend() {
        Backend::SqliteMemory => store.outbox(),
        Backend::Postgres | Backend::SqliteFile => {
            Store::connect(config, WORKER_CONNECTIONS).await?.outbox()
        }
    };
    let ports = ports(config, &store, delivery)?;
    Ok((store, ports))
}

/// What a CLI command runs on: the use cases, and the after-commit hook that delivers the
/// change's notification before the command exits (there is no server worker to wake).
///
/// # Errors
/// As [`open`].
pub async fn for_cli(config: &Config) -> anyhow::Result<(Services, AfterCommit)> {
    let (_, ports) = open(config).await?;
    let services = Services::new(ports, config.retry_policy());
    let after_commit = AfterCommit::deliver_now(services.worker_deliver.clone(), Metrics::new());
    Ok((services, after_commit))
}

/// Builds every port's adapter on `store`, with `delivery` as the worker's outbox.
fn ports(config: &Config, store: &Store, delivery: Arc<dyn Outbox>) -> anyhow::Result<Ports> {
    let jwt = Arc::new(config.jwt.build(
        config.jwt_secret.as_ref(),
        &config.data_dir,
        config.jwt_ttl,
    )?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ssf = Transmitter {
        streams: store.ssf(),
        key: Arc::new(SetKey::load_or_create(
            &config.data_dir.join(warden_auth::SET_KEY_FILE),
        )?),
        pusher: SetPusher::new(config.webhooks.allow_private)?,
        clock: clock.clone(),
        allow_private: config.webhooks.allow_private,
    };
    Ok(Ports {
        ssf,
        clients: store.clients(),
        client_tokens: Arc::new(RandomClientTokens),
        inspector: jwt.clone(),
        jwks: jwt.jwks().clone(),
        users: store.users(),
        outbox: store.outbox(),
        delivery,
        mailer: mailer(config)?,
        verifier: jwt.clone(),
        issuer: jwt,
        hasher: Arc::new(
            Argon2Hasher::new().with_limits(config.hash_concurrency, config.hash_wait),
        ),
        attempts: store.login_attempts(),
        idempotency: store.idempotency(),
        jobs: store.jobs(),
        clock,
        provisioning: store.provisioning(),
        webhooks: store.webhooks(),
        changes: store.changes(),
        audit_export: store.audit_export(),
        webhook_sender: Arc::new(warden_webhooks::HttpWebhookSender::new(
            config.webhooks.allow_private,
        )?),
        webhook_policy: config.webhooks.policy(),
        webhook_targets: warden_webhooks::WebhookTargets {
            allow_private: config.webhooks.allow_private,
        },
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
