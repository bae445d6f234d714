use std::sync::Arc;

use uuid::Uuid;

use super::Staff;
use crate::ports::{StoreError, UserRepo};
use crate::{AuditEvent, User, UserId};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// The account or its audit trail could not be read: the store failed (see
    /// [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a user's audit trail, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<Uuid>,
}

/// What admins may look up about an account: its status and its lifecycle history.
#[derive(Clone)]
pub struct UserQueries {
    users: Arc<dyn UserRepo>,
}

impl UserQueries {
    pub const DEFAULT_PAGE: u32 = crate::PageLimit::DEFAULT;
    pub const MAX_PAGE: u32 = crate::PageLimit::MAX;

    pub fn new(users: Arc<dyn UserRepo>) -> Self {
        Self { users }
    }

    /// # Errors
    /// [`QueryError::NotFound`] for an unknown id.
    pub async fn get(&self, _staff: &Staff, id: UserId) -> Result<User, QueryError> {
        self.users
            .find_by_id(&id)
            .await?
            .ok_or(QueryError::NotFound)
    }

    /// The user's lifecycle events, newest first, `limit` (clamped to 1..=[`Self::MAX_PAGE`])
    /// at a time, continuing after the event `after`.
    ///
    /// # Errors
    /// [`QueryError::NotFound`] for an unknown id.
    pub async fn events(
        &self,
        staff: &Staff,
        id: UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<EventPage, QueryError> {
        let user = self.get(staff, id).await?;
        let limit = limit.clamp(1, Self::MAX_PAGE);
        // One extra row tells whether another page follows.
        let mut events = self.users.events(&user.id, after, limit + 1).await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next_cursor = if more {
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
    }
}

impl std::fmt::Debug for UserQueries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserQueries")
    }
}

#[cfg(test)]
#[path = "user_queries_tests.rs"]
mod tests;
