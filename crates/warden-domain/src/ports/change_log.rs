use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::{AuditedChange, EventFilter};

/// The audited changes other than status changes ([`AuditedChange`]: clients, webhook
/// endpoints, provisioning profile updates), which the stores write in the transaction of the
/// change itself (see [`super::ClientRepo`], [`super::WebhookRepo`],
/// [`super::ProvisioningRepo`]). Listed beside the status changes' audit events by
/// [`crate::use_cases::Directory::audit_log`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// The changes `filter` keeps ([`EventFilter::matches_change`] states the rule), newest
    /// first (by id, descending), at most `limit`, starting strictly after the change `after`
    /// (an id, which may be a status change's audit event) when given.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Other`].
    async fn changes(
        &self,
        filter: &EventFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditedChange>, StoreError>;
}
