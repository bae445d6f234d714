use crate::observability::metrics::Metrics;
use crate::run::public_url::PublicUrl;
use crate::run::services::Services;
use crate::workers::after_commit::AfterCommit;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: Metrics,
    /// Called right after a change commits: counts it and wakes the workers (see
    /// [`AfterCommit`]).
    pub after_commit: AfterCommit,
    /// The base of every URL Warden advertises (`WARDEN_PUBLIC_URL`).
    pub public_url: PublicUrl,
}
