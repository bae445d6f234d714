//! For the plans tests: a migrated schema with a plain client beside the store, and the plan
//! a prepared statement gets.

use std::time::Duration;

use crate::testing::{test_database_url, TestSchema};
use crate::PgStore;

/// A fresh, migrated schema and a `tokio_postgres` client on it; `None` (the test is skipped)
/// without a configured database. Keep the schema alive while the client is used.
pub(crate) async fn migrated_client() -> Option<(TestSchema, tokio_postgres::Client)> {
    let Some(url) = test_database_url() else {
        eprintln!("skipped: WARDEN_TEST_DATABASE_URL is not set");
        return None;
    };
    let schema = TestSchema::create(&url).await.unwrap();
    let store = PgStore::connect(schema.url(), 1, Duration::from_secs(10))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (client, connection) = tokio_postgres::connect(schema.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    Some((schema, client))
}

/// The `EXPLAIN` of `sql` prepared as `name(types)` and executed with `args`.
pub(crate) async fn plan(
    client: &tokio_postgres::Client,
    name: &str,
    types: &str,
    sql: &str,
    args: &str,
) -> String {
    client
        .batch_execute(&format!("PREPARE {name}({types}) AS {sql}"))
        .await
        .unwrap();
    let rows = client
        .query(&format!("EXPLAIN EXECUTE {name}({args})"), &[])
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}
