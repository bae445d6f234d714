//! Turning diesel, pool and task failures into [`StoreError`]s.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;
use diesel_async::pooled_connection::PoolError as ManagerError;
use warden_domain::ports::StoreError;

/// SQLite's messages for "another connection holds the lock" and "the file cannot be opened".
const UNAVAILABLE: [&str; 4] = [
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "database schema is locked",
];

pub(crate) fn from_diesel(error: DieselError) -> StoreError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict(info.message().to_owned())
        }
        DieselError::DatabaseError(_, info)
            if UNAVAILABLE.iter().any(|m| info.message().contains(m)) =>
        {
            StoreError::unavailable(error)
        }
        _ => StoreError::other(error),
    }
}

pub(crate) fn from_pool(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(ManagerError::QueryError(error)) => from_diesel(error),
        error @ (PoolError::Timeout(_)
        | PoolError::Closed
        | PoolError::Backend(ManagerError::ConnectionError(_))) => StoreError::unavailable(error),
        error => StoreError::other(error),
    }
}

/// A row that does not convert into a domain value: corrupt or foreign data. Raised inside a
/// transaction as a diesel error so that the transaction rolls back.
pub(crate) fn corrupt(error: anyhow::Error) -> DieselError {
    DieselError::DeserializationError(error.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sqlite_errors() {
        let busy = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        );
        assert!(matches!(from_diesel(busy), StoreError::Unavailable(_)));
        let unique = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("UNIQUE constraint failed: users.email".to_owned()),
        );
        assert!(matches!(from_diesel(unique), StoreError::Conflict(m) if m.contains("email")));
        assert!(matches!(
            from_diesel(DieselError::NotFound),
            StoreError::Other(_)
        ));
        assert!(matches!(
            from_pool(PoolError::Timeout(deadpool::managed::TimeoutType::Wait)),
            StoreError::Unavailable(_)
        ));
    }
}
