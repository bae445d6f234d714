use std::sync::Arc;

use uuid::Uuid;

use super::{Admin, Staff};
use crate::ports::{ChangeLog, StoreError, UserRepo};
use crate::{
    AuditEvent, AuditedChange, EventFilter, Operator, PageLimit, User, UserFilter, UserId,
};

/// One entry of the audit log of `GET /api/v1/events`: a status change, or another audited
/// change (of a client, a webhook endpoint, or an account's profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedEvent {
    Status(AuditEvent),
    Change(AuditedChange),
}

impl LoggedEvent {
    /// Time-ordered (UUIDv7): the log's order.
    pub fn id(&self) -> Uuid {
        match self {
            LoggedEvent::Status(event) => event.id,
            LoggedEvent::Change(change) => change.id,
        }
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub events: Vec<LoggedEvent>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<Uuid>,
}

/// One page of accounts, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<User>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Finding accounts and reading the audit trail of every account: what an admin needs to act
/// without knowing an id first.
#[derive(Clone)]
pub struct Directory {
    users: Arc<dyn UserRepo>,
    changes: Arc<dyn ChangeLog>,
}

impl Directory {
    pub fn new(users: Arc<dyn UserRepo>, changes: Arc<dyn ChangeLog>) -> Self {
        Self { users, changes }
    }

    /// The accounts `filter` keeps, newest first, `limit` at a time, continuing after the
    /// account `after` (the previous page's `next_cursor`).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn search(
        &self,
        _staff: &Staff,
        filter: &UserFilter,
        after: Option<Uuid>,
        limit: PageLimit,
    ) -> Result<UserPage, StoreError> {
        self.search_users(filter, after, limit).await
    }

    /// [`Directory::search`] for an operator at the command line, who holds the database
    /// anyway: reading needs no admin's authority, and nothing is recorded.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn search_for_operator(
        &self,
        _operator: &Operator,
        filter: &UserFilter,
        after: Option<Uuid>,
        limit: PageLimit,
    ) -> Result<UserPage, StoreError> {
        self.search_users(filter, after, limit).await
    }

    async fn search_users(
        &self,
        filter: &UserFilter,
        after: Option<Uuid>,
        limit: PageLimit,
    ) -> Result<UserPage, StoreError> {
        let after = after.map(UserId::from_uuid);
        let found = self.users.search(filter, after, limit.get() + 1).await?;
        let (users, next_cursor) = page(found, limit, |user| *user.id.as_uuid());
        Ok(UserPage { users, next_cursor })
    }

    /// The audit log `filter` keeps (status changes and the other audited changes, merged),
    /// newest first, `limit` at a time, continuing after the event `after` (the previous page's
    /// `next_cursor`). Each source is read up to `limit + 1` after the same cursor, so the
    /// merge of the two is exact.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn audit_log(
        &self,
        _admin: &Admin,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: PageLimit,
    ) -> Result<LogPage, StoreError> {
        let fetch = limit.get() + 1;
        let mut found: Vec<LoggedEvent> = Vec::new();
        if filter.keeps_status_events() {
            let events = self.users.audit_log(filter, after, fetch).await?;
            found.extend(events.into_iter().map(LoggedEvent::Status));
        }
        if filter.keeps_changes() {
            let changes = self.changes.changes(filter, after, fetch).await?;
            found.extend(changes.into_iter().map(LoggedEvent::Change));
        }
        found.sort_by_key(|event| std::cmp::Reverse(event.id()));
        let (events, next_cursor) = page(found, limit, LoggedEvent::id);
        Ok(LogPage {
            events,
            next_cursor,
        })
    }
}

/// Cuts a fetch of `limit + 1` items to `limit`; the extra one tells that another page follows,
/// which then starts after the last item kept.
fn page<T>(mut items: Vec<T>, limit: PageLimit, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<Uuid>) {
    let limit = limit.get() as usize;
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(id) } else { None };
    (items, next)
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Directory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_has_a_cursor_only_when_more_follow() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let two = PageLimit::new(2).unwrap();
        let (kept, next) = page(ids.clone(), two, |id| *id);
        assert_eq!(kept, ids[..2]);
        assert_eq!(next, Some(ids[1]));
        let three = PageLimit::new(3).unwrap();
        let (kept, next) = page(ids.clone(), three, |id| *id);
        assert_eq!(kept, ids);
        assert_eq!(next, None);
    }
}
