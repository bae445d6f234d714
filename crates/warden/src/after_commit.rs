//! The one thing every entry point does after a change commits: start its notification on its
//! way. HTTP handlers and CLI commands both call [`AfterCommit::committed`]; only how the
//! delivery starts differs, and that is chosen once, by the composition root.

use std::sync::Arc;

use tokio::sync::Notify;
use warden_domain::use_cases::DeliverNotifications;

#[derive(Clone)]
pub struct AfterCommit(Hook);

#[derive(Clone)]
enum Hook {
    /// The server: wake the outbox worker (and the webhook worker) so the email and the
    /// webhooks go out at once.
    Wake(Vec<Arc<Notify>>),
    /// A CLI command: deliver now, before the process exits. A failure is not lost: the entry
    /// stays in the outbox for a server's worker.
    DeliverNow(DeliverNotifications),
}

impl AfterCommit {
    /// Wakes the worker waiting on `wakeup`.
    pub fn wake(wakeup: Arc<Notify>) -> Self {
        Self(Hook::Wake(vec![wakeup]))
    }

    /// Wakes every worker waiting on one of `wakeups`.
    pub fn wake_all(wakeups: Vec<Arc<Notify>>) -> Self {
        Self(Hook::Wake(wakeups))
    }

    pub fn deliver_now(deliver: DeliverNotifications) -> Self {
        Self(Hook::DeliverNow(deliver))
    }

    /// Call right after a change (or a queued retry) committed.
    pub async fn committed(&self) {
        match &self.0 {
            Hook::Wake(wakeups) => wakeups.iter().for_each(|w| w.notify_one()),
            Hook::DeliverNow(deliver) => {
                if let Err(error) = deliver.run_once().await {
                    tracing::warn!(
                        error = ?error,
                        "notification left in the outbox for the server to send"
                    );
                }
            }
        }
    }
}

impl std::fmt::Debug for AfterCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Hook::Wake(_) => "AfterCommit::Wake",
            Hook::DeliverNow(_) => "AfterCommit::DeliverNow",
        })
    }
}
