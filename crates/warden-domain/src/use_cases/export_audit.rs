//! The audit trail for collectors (SIEMs): pages of events in an order that never changes once
//! read, after a cursor, and the retention that deletes old events.

use std::sync::Arc;

use chrono::TimeDelta;

use super::Admin;
use crate::ports::{AuditExport, Clock, ExportError, ExportPosition, ExportedEvent, StoreError};

/// Events per export page: 1..=[`ExportLimit::MAX`], [`ExportLimit::DEFAULT`] when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimit(u32);

impl ExportLimit {
    pub const DEFAULT: u32 = 100;
    pub const MAX: u32 = 1000;

    /// # Errors
    /// [`InvalidExportLimit`] outside 1..=[`ExportLimit::MAX`].
    pub fn new(limit: u32) -> Result<Self, InvalidExportLimit> {
        if (1..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(InvalidExportLimit)
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number from 1 to {}", ExportLimit::MAX)]
pub struct InvalidExportLimit;

/// Who may read the export: an admin, or a machine client holding the scope `audit`.
#[derive(Debug)]
pub enum AuditReader {
    Admin(Box<Admin>),
    /// The client's id (for the logs).
    Client(uuid::Uuid),
}

/// One page of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPage {
    pub events: Vec<ExportedEvent>,
    /// Where the next page starts: after the last event of this page, or where this page
    /// started when it is empty (`None`: from the first event).
    pub next: Option<ExportPosition>,
}

/// How many events one retention round deletes at most (of each kind).
pub const AUDIT_PURGE_BATCH: u32 = 500;

#[derive(Clone)]
pub struct ExportAudit {
    export: Arc<dyn AuditExport>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ExportAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportAudit")
    }
}

impl ExportAudit {
    pub fn new(export: Arc<dyn AuditExport>, clock: Arc<dyn Clock>) -> Self {
        Self { export, clock }
    }

    /// The events after `after`, oldest first.
    ///
    /// # Errors
    /// [`ExportError::Expired`] when the retention deleted events after `after`;
    /// [`ExportError::Store`] when the store fails.
    pub async fn page(
        &self,
        _reader: &AuditReader,
        after: Option<ExportPosition>,
        limit: ExportLimit,
    ) -> Result<ExportPage, ExportError> {
        let events = self.export.export(after, limit.get()).await?;
        let next = events.last().map(|event| event.position).or(after);
        Ok(ExportPage { events, next })
    }

    /// Deletes one batch of events older than `retention`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn purge_older_than(&self, retention: TimeDelta) -> Result<u64, StoreError> {
        let before = self.clock.now() - retention;
        self.export.purge_before(before, AUDIT_PURGE_BATCH).await
    }
}
