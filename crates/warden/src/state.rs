use crate::after_commit::AfterCommit;
use crate::metrics::Metrics;
use crate::services::Services;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: Metrics,
    /// Called right after a change commits: counts it and wakes the workers (see
    /// [`AfterCommit`]).
    pub after_commit: AfterCommit,
}
