use std::sync::Arc;

use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::services::Services;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: Metrics,
    /// Wakes the outbox worker right after a change commits, so the email goes out at once.
    pub outbox_wakeup: Arc<Notify>,
}
