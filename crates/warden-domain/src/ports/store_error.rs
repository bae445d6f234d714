use super::ErrorCause;

/// How a store (user repository, outbox) can fail, in terms the domain can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. an email address already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store could not be reached in time (connection refused, pool timeout). Worth retrying.
    #[error("store unavailable")]
    Unavailable(#[source] ErrorCause),
    /// Anything else: a bug, corrupt data, an unexpected database error.
    #[error("store failure")]
    Other(#[source] ErrorCause),
}

impl StoreError {
    /// [`StoreError::Unavailable`] with its cause.
    pub fn unavailable(cause: impl Into<ErrorCause>) -> Self {
        Self::Unavailable(cause.into())
    }

    /// [`StoreError::Other`] with its cause.
    pub fn other(cause: impl Into<ErrorCause>) -> Self {
        Self::Other(cause.into())
    }
}
