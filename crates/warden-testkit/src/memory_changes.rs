//! [`ChangeLog`] for [`MemoryStore`]: the audited changes kept with the accounts' state,
//! recorded by the writes that make them (see `MemoryStore::authorized`).

use std::cmp::Reverse;

use async_trait::async_trait;
use uuid::Uuid;
use warden_domain::ports::{ChangeLog, StoreError};
use warden_domain::{AuditedChange, EventFilter};

use crate::MemoryStore;

#[async_trait]
impl ChangeLog for MemoryStore {
    async fn changes(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditedChange>, StoreError> {
        let state = self.state();
        let mut found: Vec<AuditedChange> = state
            .changes
            .iter()
            .filter(|c| filter.matches_change(c) && after.is_none_or(|after| c.id < after))
            .cloned()
            .collect();
        found.sort_by_key(|c| Reverse(c.id));
        found.truncate(limit as usize);
        Ok(found)
    }
}
