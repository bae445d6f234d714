//! Test isolation: a throw-away schema per test, in a shared database.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use warden_postgres::{testing::TestSchema, PgStore};
//! let schema = TestSchema::create("postgres://postgres@127.0.0.1:5432/test").await?;
//! let store = PgStore::connect(schema.url(), 4, std::time::Duration::from_secs(5)).await?;
//! store.migrate().await?; // creates the tables inside the schema
//! # Ok(()) }
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use uuid::Uuid;

/// Where PostgreSQL-only tests find their database.
pub const TEST_DATABASE_URL_VAR: &str = "WARDEN_TEST_DATABASE_URL";

/// The local cluster CI runs (and the README names).
pub const LOCAL_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL a PostgreSQL-only test runs against: `WARDEN_TEST_DATABASE_URL` when set.
/// Without it, under CI (`CI` set to anything but `false`/`0`) the local cluster, so that no CI
/// run can pass such a test without running it (an unreachable database then fails it); on a
/// developer's machine `None`, and the caller reports the test as skipped.
pub fn test_database_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .or_else(|| warden_testkit::ci::in_ci().then(|| LOCAL_TEST_DATABASE_URL.to_owned()))
}

/// How many group statements of status changes failed in this process so far (each failure
/// is answered change by change; see the crate's `change_group`).
pub fn failed_group_statements() -> u64 {
    crate::change_group::failed_statements()
}

/// What a status change whose statement was sent but never answered comes to: `store` looks
/// for its audit event (see the crate's `status_change::settle`). For tests of that look.
pub async fn settle_unanswered_change(
    store: &crate::PgStore,
    change: &warden_domain::StatusChange,
) -> Result<warden_domain::StatusChangeOutcome, warden_domain::ports::StoreError> {
    let lost = "connection closed before the answer came".to_owned();
    let sent = std::time::Instant::now()
        .checked_sub(store.round_trip_timeout())
        .unwrap_or_else(std::time::Instant::now);
    crate::status_change::settle(store, change, lost, sent).await
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DROP_TIMEOUT: Duration = Duration::from_secs(30);

/// A uniquely named, empty schema in the database of a base URL. Every connection made from
/// [`TestSchema::url`] works inside it alone. Dropping it (also when the test panicked) ends the
/// sessions opened through that URL and drops the schema with everything in it.
pub struct TestSchema {
    name: String,
    base_url: String,
    url: String,
}

impl TestSchema {
    /// # Errors
    /// When `base_url` is invalid or its database cannot be reached.
    pub async fn create(base_url: &str) -> anyhow::Result<TestSchema> {
        tokio_postgres::Config::from_str(base_url)
            .context("not a valid PostgreSQL connection string")?;
        let name = format!("warden_test_{}", Uuid::new_v4().simple());
        let mut conn =
            tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(base_url))
                .await
                .context("timed out connecting to the test database")?
                .context("cannot connect to the test database")?;
        conn.batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .with_context(|| format!("cannot create schema {name}"))?;
        Ok(TestSchema {
            url: schema_url(base_url, &name),
            base_url: base_url.to_owned(),
            name,
        })
    }

    /// The base URL, confined to this schema (`search_path`) and tagged with it
    /// (`application_name`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for TestSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestSchema")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for TestSchema {
    /// Runs on a thread with a runtime of its own: `Drop` cannot await, and the test's runtime
    /// may be single-threaded, blocked right here, or gone.
    fn drop(&mut self) {
        let base_url = self.base_url.clone();
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || drop_schema(&base_url, &name));
        let failure = match cleanup.join() {
            Ok(Ok(())) => return,
            Ok(Err(err)) => format!("{err:#}"),
            Err(_) => "the cleanup thread panicked".to_owned(),
        };
        eprintln!(
            "warning: test schema {} was not dropped: {failure}",
            self.name
        );
    }
}

fn drop_schema(base_url: &str, name: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::time::timeout(DROP_TIMEOUT, async {
            let mut conn = AsyncPgConnection::establish(base_url).await?;
            // Sessions still open in the schema (a pool the test leaked, a transaction a panic
            // left open) would hold locks that DROP waits for.
            conn.batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                  WHERE application_name = '{name}' AND pid <> pg_backend_pid(); \
                 SET lock_timeout = '10s'; \
                 DROP SCHEMA IF EXISTS {name} CASCADE"
            ))
            .await?;
            anyhow::Ok(())
        })
        .await
        .context("timed out")?
    })
}

/// `base_url` with the `options` (search_path) and `application_name` parameters, in URL or
/// key-value form as `base_url` is.
fn schema_url(base_url: &str, schema: &str) -> String {
    let base = base_url.trim();
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        let separator = match base.find('?') {
            None => "?",
            Some(_) if base.ends_with('?') || base.ends_with('&') => "",
            Some(_) => "&",
        };
        format!("{base}{separator}options=-csearch_path%3D{schema}&application_name={schema}")
    } else {
        format!("{base} options=-csearch_path={schema} application_name={schema}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options_of(url: &str) -> (Option<String>, Option<String>) {
        let config = tokio_postgres::Config::from_str(url).unwrap();
        (
            config.get_options().map(str::to_owned),
            config.get_application_name().map(str::to_owned),
        )
    }

    #[test]
    fn confines_every_form_of_url_to_the_schema() {
        let want = (Some("-csearch_path=s1".to_owned()), Some("s1".to_owned()));
        for base in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@127.0.0.1:5432/test?connect_timeout=5",
            "postgresql://u:p@h/db?",
            "host=127.0.0.1 user=postgres dbname=test",
        ] {
            let url = schema_url(base, "s1");
            assert_eq!(options_of(&url), want, "{url}");
        }
        let with_param = schema_url("postgres://h/db?connect_timeout=5", "s1");
        assert_eq!(
            tokio_postgres::Config::from_str(&with_param)
                .unwrap()
                .get_connect_timeout(),
            Some(&Duration::from_secs(5))
        );
    }
}
