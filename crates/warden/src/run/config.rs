//! Typed configuration, read once from the environment. Secrets are `SecretString`s and never
//! appear in `Debug` output.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use secrecy::SecretString;
use warden_domain::use_cases::RetryPolicy;

use crate::http::TrustedProxies;

#[derive(Debug, Clone)]
pub struct Config {
    /// `postgres://...` or `sqlite://PATH`; may hold a password.
    pub database_url: SecretString,
    pub addr: SocketAddr,
    /// `WARDEN_PUBLIC_URL`; `None`: `http://` and the address the server is bound to.
    pub public_url: Option<crate::run::public_url::PublicUrl>,
    /// Where the default SQLite file, the generated JWT secret and `.eml` mail live.
    pub data_dir: PathBuf,
    /// `None`: a random secret is created once in `data_dir` and reused.
    pub jwt_secret: Option<SecretString>,
    pub jwt_ttl: Duration,
    /// `JWT_ALGORITHM`, `JWT_PRIVATE_KEY_FILE`, `JWT_ISSUER`, `JWT_AUDIENCE`.
    pub jwt: crate::run::jwt_config::JwtConfig,
    /// `None`: mail is written as `.eml` files under `data_dir/mail`.
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub db_max_connections: usize,
    pub db_timeout: Duration,
    /// How often the outbox worker looks for due notifications when nothing wakes it.
    pub outbox_poll: Duration,
    /// How often the lifter looks for timed suspensions that are due (`WARDEN_LIFT_POLL_MS`).
    pub lift_poll: Duration,
    /// How often the job runner looks for bulk work when idle (`WARDEN_JOB_POLL_MS`).
    pub job_poll: Duration,
    /// Delay after a notification's first failed delivery; doubled after each further one.
    /// `None`: [`RetryPolicy`]'s default (as for the two below).
    pub mail_retry_base: Option<Duration>,
    pub mail_retry_max: Option<Duration>,
    /// How long a worker holds a claimed notification before another may retry it.
    pub outbox_lease: Option<Duration>,
    /// Outbox worker tasks delivering at once (each holds one SMTP connection while it sends).
    pub mail_concurrency: usize,
    /// Most deliveries per second, all tasks together; 0: no limit.
    pub mail_max_per_second: u32,
    /// Deliveries per second while API requests are in flight (mail gives way to requests).
    pub mail_busy_per_second: u32,
    /// Sent notifications older than this many days are deleted by the worker.
    pub outbox_retention_days: u32,
    /// Audit events older than this many days are deleted (`WARDEN_AUDIT_RETENTION_DAYS`);
    /// `None`: kept forever.
    pub audit_retention_days: Option<u32>,
    pub log_format: LogFormat,
    /// HTTP worker threads; 0 means the default, one per two cores (at least one).
    pub http_workers: usize,
    /// Longest time a handler waits for the whole request body before answering 408.
    pub body_timeout: Duration,
    /// Open connections each HTTP worker holds; past it new ones wait in the accept backlog.
    /// Lowered at start to what the open-file limit allows (see `crate::run::open_files`).
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold on the public listener; trusted
    /// proxies are not counted (see `http::connection_limit`).
    pub max_connections_per_ip: usize,
    /// Longest time to receive a request's headers (actix `client_request_timeout`).
    pub header_timeout: Duration,
    /// Grace for a client to close after the server decided to end a connection.
    pub disconnect_timeout: Duration,
    /// `Some`: `/metrics` and `/health/*` are served only on this second listener.
    pub ops_addr: Option<SocketAddr>,
    /// Password hashes computed at once (each holds ~19 MiB while it runs).
    pub hash_concurrency: usize,
    /// How long a sign-in waits for a hashing slot before a 503.
    pub hash_wait: Duration,
    /// Peers whose `X-Forwarded-For` is believed (see `http::client_addr`).
    pub trusted_proxies: TrustedProxies,
    /// `WARDEN_WEBHOOK_ALLOW_PRIVATE` and the webhook retry overrides.
    pub webhooks: crate::run::webhook_config::WebhookConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A bad configuration value. Its text names the variable and says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// The kind of store a `DATABASE_URL` names. [`Backend::of`] is the only place the URL's form is
/// inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    SqliteFile,
    /// `sqlite::memory:` and the like: one database per pool, gone with the process.
    SqliteMemory,
}

impl Backend {
    /// `None` for a URL no adapter serves.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(if url.contains(":memory:") {
                Self::SqliteMemory
            } else {
                Self::SqliteFile
            })
        } else {
            None
        }
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/warden.db";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// `WARDEN_MAX_CONNECTIONS_PER_IP` unless set: ample for a service or an identity provider
/// with a connection pool, a small share of the connection budget.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u64 = 256;
pub const DEFAULT_MAIL_FROM: &str = "Warden <no-reply@warden.localhost>";

impl Config {
    /// # Errors
    /// The first variable whose value cannot be used.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`, so tests need not touch the process environment.
    ///
    /// # Errors
    /// The first variable whose value cannot be used.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let Some(backend) = Backend::of(&database_url) else {
            return Err(invalid(
                "DATABASE_URL",
                "must start with postgres://, postgresql:// or sqlite://",
            ));
        };
        let is_sqlite = backend != Backend::Postgres;
        let addr = get("WARDEN_ADDR").unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr = addr.parse().map_err(|_| {
            invalid(
                "WARDEN_ADDR",
                "must be an IP address and port, like 127.0.0.1:8080",
            )
        })?;
        let public_url = match get("WARDEN_PUBLIC_URL") {
            None => None,
            Some(url) => Some(
                crate::run::public_url::PublicUrl::parse(&url)
                    .map_err(|problem| invalid("WARDEN_PUBLIC_URL", problem))?,
            ),
        };
        let jwt_secret = get("JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            check_jwt_secret(secret)?;
        }
        let smtp_url = get("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid("SMTP_URL", "must start with smtp:// or smtps://"));
            }
        }
        let ops_addr = match get("WARDEN_OPS_ADDR") {
            None => None,
            Some(addr) => Some(addr.trim().parse().map_err(|_| {
                invalid(
                    "WARDEN_OPS_ADDR",
                    "must be an IP address and port, like 127.0.0.1:9090",
                )
            })?),
        };
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("LOG_FORMAT", "must be text or json")),
        };
        let trusted_proxies = TrustedProxies::parse(
            &get("WARDEN_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|problem| {
            invalid(
                "WARDEN_TRUSTED_PROXIES",
                &format!("must be comma-separated CIDRs like 10.0.0.0/8: {problem}"),
            )
        })?;
        Ok(Self {
            database_url: database_url.into(),
            addr,
            public_url,
            data_dir: get("WARDEN_DATA_DIR")
                .unwrap_or_else(|| "data".into())
                .into(),
            jwt_secret: jwt_secret.map(Into::into),
            jwt_ttl: Duration::from_secs(number(&get, "JWT_TTL_SECONDS", 3600, 1..=31_536_000)?),
            jwt: crate::run::jwt_config::JwtConfig::from_lookup(&get)?,
            smtp_url: smtp_url.map(Into::into),
            mail_from: get("MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.into()),
            // SQLite has one write lock: with one connection writers queue in order instead of
            // sleeping in its busy handler (p99 12-22 ms instead of 300-460 ms under load; see
            // docs/benchmarks.md).
            db_max_connections: number(
                &get,
                "WARDEN_DB_MAX_CONNECTIONS",
                if is_sqlite { 1 } else { 16 },
                1..=1000,
            )? as usize,
            db_timeout: millis(&get, "WARDEN_DB_TIMEOUT_MS", 5000, 1..=600_000)?,
            outbox_poll: millis(&get, "WARDEN_OUTBOX_POLL_MS", 2000, 10..=3_600_000)?,
            lift_poll: millis(&get, "WARDEN_LIFT_POLL_MS", 1000, 10..=60_000)?,
            job_poll: millis(&get, "WARDEN_JOB_POLL_MS", 500, 10..=60_000)?,
            mail_retry_base: override_millis(&get, "WARDEN_MAIL_RETRY_BASE_MS", 10..=3_600_000)?,
            mail_retry_max: override_millis(&get, "WARDEN_MAIL_RETRY_MAX_MS", 10..=86_400_000)?,
            outbox_lease: override_millis(&get, "WARDEN_OUTBOX_LEASE_MS", 1000..=86_400_000)?,
            // Defaults measured on 2 shared cores: see docs/benchmarks.md, "Mail delivery".
            mail_concurrency: number(&get, "WARDEN_MAIL_CONCURRENCY", 4, 1..=64)? as usize,
            mail_max_per_second: number(&get, "WARDEN_MAIL_MAX_PER_SECOND", 500, 0..=100_000)?
                as u32,
            mail_busy_per_second: number(&get, "WARDEN_MAIL_BUSY_PER_SECOND", 50, 1..=100_000)?
                as u32,
            outbox_retention_days: number(&get, "WARDEN_OUTBOX_RETENTION_DAYS", 30, 1..=36_500)?
                as u32,
            audit_retention_days: match get("WARDEN_AUDIT_RETENTION_DAYS") {
                None => None,
                Some(_) => Some(number(&get, "WARDEN_AUDIT_RETENTION_DAYS", 0, 1..=36_500)? as u32),
            },
            log_format,
            http_workers: number(&get, "WARDEN_HTTP_WORKERS", 0, 0..=1024)? as usize,
            body_timeout: millis(&get, "WARDEN_BODY_TIMEOUT_MS", 10_000, 10..=600_000)?,
            // A connection costs ~11 KiB of memory, idle or busy (measured: docs/operations.md,
            // "Connections"), and two open files: 25,000 (actix's own default) fit in ~300 MiB.
            max_connections: number(&get, "WARDEN_MAX_CONNECTIONS", 25_000, 1..=1_000_000)?
                as usize,
            max_connections_per_ip: number(
                &get,
                "WARDEN_MAX_CONNECTIONS_PER_IP",
                DEFAULT_MAX_CONNECTIONS_PER_IP,
                1..=1_000_000,
            )? as usize,
            header_timeout: millis(&get, "WARDEN_HEADER_TIMEOUT_MS", 5000, 10..=600_000)?,
            disconnect_timeout: millis(&get, "WARDEN_DISCONNECT_TIMEOUT_MS", 1000, 10..=600_000)?,
            ops_addr,
            hash_concurrency: number(
                &get,
                "WARDEN_HASH_CONCURRENCY",
                default_hash_concurrency(),
                1..=1024,
            )? as usize,
            hash_wait: millis(&get, "WARDEN_HASH_WAIT_MS", 2000, 0..=600_000)?,
            trusted_proxies,
            webhooks: crate::run::webhook_config::WebhookConfig::from_lookup(&get)?,
        })
    }
}

impl Config {
    /// The HTTP worker threads to run: `http_workers`, or by default one per two cores (at
    /// least one). Each runs its requests' database work on its own thread (a pool of its own,
    /// see [`Config::db_connections_per_worker`]); the main runtime, one thread per core, runs
    /// mail and the other background work beside them. On 2 cores, two HTTP threads served no
    /// more than one at concurrency 16 (7 to 23% more at 64), for 10% more CPU per request and
    /// 3 to 4 MiB more memory (docs/benchmarks.md).
    pub fn http_worker_threads(&self) -> usize {
        if self.http_workers > 0 {
            return self.http_workers;
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        (cores / 2).max(1)
    }

    /// Each HTTP worker's share of `WARDEN_DB_MAX_CONNECTIONS` on PostgreSQL (rounded up).
    pub fn db_connections_per_worker(&self) -> usize {
        self.db_max_connections
            .div_ceil(self.http_worker_threads())
            .max(1)
    }

    /// The store `database_url` names (validated by [`Config::from_lookup`]; anything else is
    /// taken for PostgreSQL, whose driver then names the problem).
    pub fn backend(&self) -> Backend {
        Backend::of(secrecy::ExposeSecret::expose_secret(&self.database_url))
            .unwrap_or(Backend::Postgres)
    }

    /// The outbox delivery schedule: [`RetryPolicy`]'s defaults with what the environment
    /// overrides.
    pub fn retry_policy(&self) -> RetryPolicy {
        let delta = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        let defaults = RetryPolicy::default();
        let lease = self.outbox_lease.map_or(defaults.lease, delta);
        let first_backoff = self.mail_retry_base.map_or(defaults.first_backoff, delta);
        let max_backoff = self.mail_retry_max.map_or(defaults.max_backoff, delta);
        RetryPolicy {
            lease,
            first_backoff,
            max_backoff: max_backoff.max(first_backoff),
            ..defaults
        }
    }
}

/// Example secrets this repository has shipped (docker-compose.yml's, the docs'): anyone can
/// read them, so a deployment that copied one would accept tokens signed by anybody.
const PUBLISHED_SECRETS: &[&str] = &["change-me-to-a-long-random-secret-of-32-bytes-or-more"];

/// The least estimated strength a `JWT_SECRET` must have (see [`crate::run::secret_strength`]).
/// 32 random characters of `openssl rand -hex 16` score about 100 bits, of `-base64 48` over
/// 200; `0123456789abcdef0123456789abcdef` scores 14 and `supersecretjwtkeyforwarden123456` 67.
pub const MIN_JWT_SECRET_BITS: f64 = 90.0;

/// How to make a good secret, as every refusal says.
const GENERATE_HINT: &str = "generate one with `openssl rand -base64 48` (or unset JWT_SECRET to \
     have one generated in WARDEN_DATA_DIR)";

fn check_jwt_secret(secret: &str) -> Result<(), ConfigError> {
    if secret.len() < 32 {
        return Err(invalid(
            "JWT_SECRET",
            &format!("must be at least 32 bytes long: {GENERATE_HINT}"),
        ));
    }
    if PUBLISHED_SECRETS.contains(&secret.trim()) {
        return Err(invalid(
            "JWT_SECRET",
            &format!("is the published example value: {GENERATE_HINT}"),
        ));
    }
    let bits = crate::run::secret_strength::estimated_bits(secret);
    if bits < MIN_JWT_SECRET_BITS {
        return Err(invalid(
            "JWT_SECRET",
            &format!(
                "is too guessable (words, sequences or repeats: about {bits:.0} bits estimated, \
                 at least {MIN_JWT_SECRET_BITS:.0} needed): {GENERATE_HINT}"
            ),
        ));
    }
    Ok(())
}

/// Two password hashes per core.
fn default_hash_concurrency() -> u64 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u64 * 2)
}

impl Config {
    /// How the outbox worker runs.
    pub fn worker_settings(&self) -> crate::workers::outbox::WorkerSettings {
        crate::workers::outbox::WorkerSettings {
            poll: self.outbox_poll,
            concurrency: self.mail_concurrency,
            max_per_second: self.mail_max_per_second,
            busy_per_second: self.mail_busy_per_second,
            retention: TimeDelta::days(i64::from(self.outbox_retention_days)),
        }
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(text) = get(var) else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(invalid(
            var,
            &format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    number(get, var, default, range).map(Duration::from_millis)
}

/// Like [`millis`] with no default of its own: `None` when the variable is unset.
fn override_millis(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<Duration>, ConfigError> {
    match get(var) {
        None => Ok(None),
        Some(_) => millis(get, var, 0, range).map(Some),
    }
}

fn invalid(var: &'static str, problem: &str) -> ConfigError {
    ConfigError {
        var,
        problem: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_run_on_embedded_sqlite_and_eml_files() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert!(config.smtp_url.is_none() && config.jwt_secret.is_none());
        assert_eq!(config.jwt_ttl, Duration::from_secs(3600));
        assert_eq!(config.db_max_connections, 1, "one SQLite writer at a time");
        assert!(
            config.trusted_proxies.is_empty(),
            "forwarding headers ignored"
        );
        assert!(config.hash_concurrency >= 2);
        assert_eq!(config.hash_wait, Duration::from_millis(2000));
        assert_eq!(config.max_connections, 25_000);
        assert_eq!(config.max_connections_per_ip, 256);
        let postgres = super::tests::config(&[("DATABASE_URL", "postgres://db/warden")]).unwrap();
        assert_eq!(postgres.db_max_connections, 16);
        let split = |workers: &str, max: &str| {
            let config = super::tests::config(&[
                ("DATABASE_URL", "postgres://db/warden"),
                ("WARDEN_HTTP_WORKERS", workers),
                ("WARDEN_DB_MAX_CONNECTIONS", max),
            ])
            .unwrap();
            (
                config.http_worker_threads(),
                config.db_connections_per_worker(),
            )
        };
        assert_eq!(split("1", "16"), (1, 16));
        assert_eq!(split("3", "16"), (3, 6), "shares rounded up");
        assert_eq!(split("4", "2"), (4, 1), "at least one each");
        let worker = config.worker_settings();
        assert_eq!((worker.concurrency, worker.max_per_second), (4, 500));
        assert_eq!(worker.retention, TimeDelta::days(30));
        assert_eq!(config.retry_policy().lease, TimeDelta::seconds(15));
    }

    #[test]
    fn the_retry_policy_is_the_domains_default_with_only_what_the_environment_overrides() {
        let plain = super::tests::config(&[]).unwrap();
        assert_eq!(plain.retry_policy(), RetryPolicy::default());
        let tuned = super::tests::config(&[
            ("WARDEN_OUTBOX_LEASE_MS", "2000"),
            ("WARDEN_MAIL_RETRY_BASE_MS", "100"),
        ])
        .unwrap();
        let policy = tuned.retry_policy();
        assert_eq!(policy.lease, TimeDelta::seconds(2));
        assert_eq!(policy.first_backoff, TimeDelta::milliseconds(100));
        assert_eq!(policy.max_backoff, RetryPolicy::default().max_backoff);
    }

    #[test]
    fn the_backend_is_read_from_the_url_in_one_place() {
        for (url, backend) in [
            ("postgres://db/warden", Some(Backend::Postgres)),
            ("postgresql://db/warden", Some(Backend::Postgres)),
            ("sqlite://data/warden.db", Some(Backend::SqliteFile)),
            ("sqlite::memory:", Some(Backend::SqliteMemory)),
            ("mysql://x", None),
        ] {
            assert_eq!(Backend::of(url), backend, "{url}");
        }
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("WARDEN_ADDR", "localhost"),
            ("WARDEN_PUBLIC_URL", "warden.example.com"),
            ("WARDEN_PUBLIC_URL", "ftp://warden.example.com"),
            ("JWT_SECRET", "short"),
            (
                "JWT_SECRET",
                "change-me-to-a-long-random-secret-of-32-bytes-or-more",
            ),
            ("JWT_SECRET", "a".repeat(64).as_str()),
            ("JWT_SECRET", "abcabcabcabcabcabcabcabcabcabcabcabc"),
            ("JWT_SECRET", "012345678".repeat(8).as_str()),
            ("JWT_TTL_SECONDS", "-5"),
            ("JWT_TTL_SECONDS", "0"),
            ("SMTP_URL", "http://mail"),
            ("LOG_FORMAT", "xml"),
            ("WARDEN_DB_MAX_CONNECTIONS", "lots"),
            ("WARDEN_BODY_TIMEOUT_MS", "0"),
            ("WARDEN_MAX_CONNECTIONS", "0"),
            ("WARDEN_MAX_CONNECTIONS_PER_IP", "0"),
            ("WARDEN_MAX_CONNECTIONS_PER_IP", "many"),
            ("WARDEN_HEADER_TIMEOUT_MS", "soon"),
            ("WARDEN_DISCONNECT_TIMEOUT_MS", "-1"),
            ("WARDEN_OPS_ADDR", "localhost:9090"),
            ("WARDEN_HASH_CONCURRENCY", "0"),
            ("WARDEN_HASH_WAIT_MS", "soon"),
            ("WARDEN_TRUSTED_PROXIES", "10.0.0.0/8, the-load-balancer"),
            ("WARDEN_MAIL_CONCURRENCY", "0"),
            ("WARDEN_MAIL_MAX_PER_SECOND", "fast"),
            ("WARDEN_OUTBOX_RETENTION_DAYS", "0"),
            ("WARDEN_AUDIT_RETENTION_DAYS", "0"),
            ("WARDEN_AUDIT_RETENTION_DAYS", "forever"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn the_audit_trail_is_kept_forever_unless_a_retention_is_set() {
        assert_eq!(config(&[]).unwrap().audit_retention_days, None);
        let kept = config(&[("WARDEN_AUDIT_RETENTION_DAYS", "400")]).unwrap();
        assert_eq!(kept.audit_retention_days, Some(400));
    }

    #[test]
    fn a_random_secret_of_32_bytes_is_accepted() {
        // openssl rand -hex 16
        let config = config(&[("JWT_SECRET", "51304e2aa09e2222895de63fce0baa83")]).unwrap();
        assert!(config.jwt_secret.is_some());
    }

    #[test]
    fn guessable_secrets_are_refused_saying_how_to_make_a_good_one() {
        for secret in [
            "0123456789abcdef0123456789abcdef",
            "supersecretjwtkeyforwarden123456",
            "change-me-to-a-long-random-secret-of-32-bytes-or-more",
            "short",
        ] {
            let err = config(&[("JWT_SECRET", secret)]).unwrap_err();
            assert_eq!(err.var, "JWT_SECRET");
            assert!(err.to_string().contains("openssl rand -base64 48"), "{err}");
            assert!(
                !err.to_string().contains(secret),
                "the secret is not echoed"
            );
        }
    }

    #[test]
    fn secrets_never_print() {
        let config = config(&[
            ("DATABASE_URL", "postgres://app:hunter2hunter2@db/warden"),
            ("JWT_SECRET", "oDnix6Gcm127zTZxwXolWMTAjskicpeB-topsecret"),
            ("SMTP_URL", "smtp://user:mailpass@mail:25"),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        for secret in ["hunter2", "topsecret", "mailpass"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
