use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::use_cases::LoggedEvent;

/// Where an audit event stands in the export's order: `order` first, then `id`. The store
/// chooses `order` so that the order of the events it exports is final: no event it exports
/// later can sort before one it exported already (see [`AuditExport::export`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExportPosition {
    /// PostgreSQL: the id of the transaction that wrote the event; SQLite: a sequence the
    /// single writer assigns in commit order.
    pub order: i64,
    pub id: Uuid,
}

/// A cursor that is not one Warden gave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor of this export")]
pub struct InvalidCursor;

impl fmt::Display for ExportPosition {
    /// The cursor text: `<order>-<id without hyphens>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.order, self.id.simple())
    }
}

impl FromStr for ExportPosition {
    type Err = InvalidCursor;

    fn from_str(text: &str) -> Result<Self, InvalidCursor> {
        let (order, id) = text.split_once('-').ok_or(InvalidCursor)?;
        if order.is_empty() || !order.bytes().all(|b| b.is_ascii_digit()) || id.len() != 32 {
            return Err(InvalidCursor);
        }
        Ok(Self {
            order: order.parse().map_err(|_| InvalidCursor)?,
            id: Uuid::try_parse(id).map_err(|_| InvalidCursor)?,
        })
    }
}

/// One exported audit event: where it stands, what it records, and the target account's
/// current email address (when the target is an account that still exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedEvent {
    pub position: ExportPosition,
    pub event: LoggedEvent,
    pub target_email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Events after the cursor were deleted by the retention: the collector lost data.
    #[error("the cursor points before the oldest kept event")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The audit trail (status changes' audit events and the other audited changes) in one order
/// that never changes once read, for collectors that poll it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditExport: Send + Sync {
    /// At most `limit` events strictly after `after` (from the first when `None`), in
    /// [`ExportPosition`] order, oldest first.
    ///
    /// The promise: an event MUST NOT be returned while an event that sorts before it may
    /// still commit. So a caller that follows the last position returned receives every
    /// committed event exactly once.
    ///
    /// # Errors
    /// [`ExportError::Expired`] when the retention deleted an event after `after`;
    /// [`ExportError::Store`] when the store fails.
    async fn export(
        &self,
        after: Option<ExportPosition>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, ExportError>;

    /// Deletes at most `limit` events recorded before `before` (of each kind), and remembers
    /// the last position deleted so that [`AuditExport::export`] can say
    /// [`ExportError::Expired`]. Returns how many were deleted.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails (nothing was deleted).
    async fn purge_before(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written_and_nothing_else_reads() {
        let position = ExportPosition {
            order: 7_345,
            id: Uuid::now_v7(),
        };
        assert_eq!(position.to_string().parse(), Ok(position));
        for bad in ["", "7", "-1-00", "x-0193", "7-nothex", "+7-0193"] {
            assert_eq!(bad.parse::<ExportPosition>(), Err(InvalidCursor), "{bad}");
        }
    }
}
