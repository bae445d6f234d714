//! Hand-written SQL (data-modifying CTEs, `FOR UPDATE SKIP LOCKED`) that still runs as a reused
//! prepared statement.
//!
//! Diesel never caches `sql_query` statements, so diesel-async would prepare each one afresh:
//! one extra round trip (Parse/Describe) per call. Our SQL texts are constants, so caching them
//! per connection, keyed by text and bind types, is safe: after the first use on a connection a
//! statement costs a single round trip (Bind/Execute/Sync).

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use diesel::QueryResult;

/// Wraps a `diesel::sql_query(CONSTANT)` with its binds. Never wrap SQL built at run time.
#[derive(Debug)]
pub(crate) struct Prepared<Q>(pub(crate) Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the statement cache then keys the statement by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Rows are read by column name (`QueryableByName`), as for `sql_query`.
impl<Q> Query for Prepared<Q> {
    type SqlType = Untyped;
}
