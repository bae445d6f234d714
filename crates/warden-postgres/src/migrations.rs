//! The embedded schema migrations, run through diesel's synchronous harness.

use anyhow::{anyhow, Context};
use diesel::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Replicas starting together take turns: a session lock keyed by the schema being migrated,
/// released when the connection closes.
const MIGRATION_LOCK: &str =
    "SELECT pg_advisory_lock(1466786372, hashtext(coalesce(current_schema(), '')))";

/// Blocks: call it from `spawn_blocking`. `AsyncConnectionWrapper` drives the connection through
/// the current runtime's handle, which a blocking thread of that runtime has.
pub(crate) fn run(conn: AsyncPgConnection) -> anyhow::Result<()> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
    diesel::sql_query(MIGRATION_LOCK)
        .execute(&mut conn)
        .context("cannot take the migration lock")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow!(e).context("a PostgreSQL migration failed"))?;
    for version in &applied {
        tracing::info!(%version, "applied PostgreSQL migration");
    }
    Ok(())
}
