//! The audit retention: with `WARDEN_AUDIT_RETENTION_DAYS` set, deletes audit events older than
//! that, a batch at a time, and lets the export answer 410 `Cursor expired` to a collector
//! whose cursor is before what it deleted. Every replica may run one: a batch is one statement
//! (PostgreSQL) or one write transaction (SQLite).

use std::time::Duration;

use chrono::TimeDelta;
use warden_domain::use_cases::{ExportAudit, AUDIT_PURGE_BATCH};

use crate::workers::background::{Background, Next, Rest, Shutdown, Step};

/// How often the retention looks for old events once it has caught up.
pub const EVERY: Duration = Duration::from_secs(60);

/// Deletes events older than `retention` every `every`, and straight again while a batch came
/// back full.
pub fn spawn(export: ExportAudit, retention: TimeDelta, every: Duration) -> Background {
    let mut background = Background::new("audit retention");
    background.spawn(AuditRetention { export, retention }, Rest::poll(every));
    background
}

struct AuditRetention {
    export: ExportAudit,
    retention: TimeDelta,
}

impl Step for AuditRetention {
    async fn step(&mut self, _: &mut Shutdown) -> Next {
        match self.export.purge_older_than(self.retention).await {
            Ok(deleted) => {
                if deleted > 0 {
                    tracing::info!(deleted, "old audit events deleted");
                }
                // A full batch of either kind may leave more.
                if deleted >= u64::from(AUDIT_PURGE_BATCH) {
                    Next::Again
                } else {
                    Next::Rest
                }
            }
            Err(error) => {
                tracing::warn!(error = ?error, "deleting old audit events failed");
                Next::Rest
            }
        }
    }
}
