//! Infrastructure errors in the terms of the domain's [`StoreError`].

use std::time::Duration;

use anyhow::anyhow;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;
use diesel_async::pooled_connection::PoolError as ManagerError;
use warden_domain::ports::StoreError;

/// Unique violation -> `Conflict` (named by its constraint); a lost or unusable connection ->
/// `Unavailable`; anything else -> `Other`.
pub(crate) fn from_diesel(err: DieselError) -> StoreError {
    match &err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict(
                info.constraint_name()
                    .unwrap_or_else(|| info.message())
                    .to_owned(),
            )
        }
        // No SQLSTATE: the request never reached the server or its answer never came back.
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
        | DieselError::BrokenTransactionManager => StoreError::unavailable(err),
        // The server gave up on the statement (out of time, or chosen to break a deadlock, or a
        // serialization failure) and rolled it back: nothing was written, try again later.
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
            StoreError::unavailable(err)
        }
        DieselError::DatabaseError(_, info) if gave_up(info.message()) => {
            StoreError::unavailable(err)
        }
        _ => StoreError::other(err),
    }
}

/// Whether the server's error says it gave up on the statement rather than refused it: diesel
/// keeps no SQLSTATE for these (57014 query_canceled, 55P03 lock_not_available, 40P01
/// deadlock_detected), so their messages tell.
fn gave_up(message: &str) -> bool {
    message.starts_with("canceling statement due to statement timeout")
        || message.starts_with("canceling statement due to lock timeout")
        || message.starts_with("could not obtain lock")
        || message.starts_with("deadlock detected")
}

/// Every way of not getting a connection is `Unavailable`, but a misconfigured pool.
pub(crate) fn from_pool(err: PoolError) -> StoreError {
    match err {
        PoolError::Timeout(kind) => {
            StoreError::unavailable(anyhow!("timed out waiting for a connection ({kind:?})"))
        }
        PoolError::Backend(ManagerError::ConnectionError(e)) => {
            StoreError::unavailable(anyhow::Error::new(e).context("cannot connect to PostgreSQL"))
        }
        PoolError::Backend(ManagerError::QueryError(e)) => {
            StoreError::unavailable(anyhow::Error::new(e).context("pooled connection is broken"))
        }
        PoolError::Closed => StoreError::unavailable(anyhow!("the connection pool is closed")),
        err @ (PoolError::NoRuntimeSpecified | PoolError::PostCreateHook(_)) => {
            StoreError::other(anyhow::Error::new(err))
        }
    }
}

pub(crate) fn acquire_timed_out(after: Duration) -> StoreError {
    StoreError::unavailable(anyhow!(
        "no PostgreSQL connection within {} ms",
        after.as_millis()
    ))
}

/// A row that does not convert into a domain value: corrupt data or a schema mismatch.
pub(crate) fn corrupt(err: anyhow::Error) -> StoreError {
    StoreError::other(err.context("unreadable row"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_connection_loss_to_unavailable() {
        let lost = DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("connection closed".to_owned()),
        );
        assert!(matches!(from_diesel(lost), StoreError::Unavailable(_)));
        assert!(matches!(
            from_pool(PoolError::Closed),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            from_diesel(DieselError::NotFound),
            StoreError::Other(_)
        ));
    }

    #[test]
    fn names_the_violated_constraint() {
        let taken = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_owned()),
        );
        // A plain string carries no constraint name, so the message stands in.
        assert!(matches!(from_diesel(taken), StoreError::Conflict(m) if m == "duplicate key"));
    }
}
