//! The one thing every entry point does after a change commits: start its notification on its
//! way. HTTP handlers and CLI commands both call [`AfterCommit::committed`]; only how the
//! delivery starts differs, and that is chosen once, by the composition root.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;
use warden_domain::use_cases::DeliverNotifications;

#[derive(Clone)]
pub struct AfterCommit(Hook);

#[derive(Clone)]
enum Hook {
    /// The server: wake the outbox worker, and the webhook worker when a change can owe
    /// webhooks, so the email and the webhooks go out at once.
    Wake {
        mail: Arc<Notify>,
        webhooks: Arc<Notify>,
        endpoints: WebhookEndpoints,
    },
    /// A CLI command: deliver now, before the process exits. A failure is not lost: the entry
    /// stays in the outbox for a server's worker.
    DeliverNow(DeliverNotifications),
}

impl AfterCommit {
    /// Wakes the outbox worker waiting on `mail` after every change, and the webhook worker
    /// waiting on `webhooks` only while `endpoints` says some endpoint is enabled: otherwise no
    /// change owes a delivery, and waking it would cost a claim query per request.
    pub fn wake(mail: Arc<Notify>, webhooks: Arc<Notify>, endpoints: WebhookEndpoints) -> Self {
        Self(Hook::Wake {
            mail,
            webhooks,
            endpoints,
        })
    }

    /// Call right after an endpoint was created or enabled, or a delivery queued for retry:
    /// from now on changes owe webhooks, and some may be due already.
    pub fn webhooks_due(&self) {
        if let Hook::Wake {
            webhooks,
            endpoints,
            ..
        } = &self.0
        {
            endpoints.set(true);
            webhooks.notify_one();
        }
    }

    pub fn deliver_now(deliver: DeliverNotifications) -> Self {
        Self(Hook::DeliverNow(deliver))
    }

    /// Call right after a change (or a queued retry) committed.
    pub async fn committed(&self) {
        match &self.0 {
            Hook::Wake {
                mail,
                webhooks,
                endpoints,
            } => {
                mail.notify_one();
                if endpoints.any_enabled() {
                    webhooks.notify_one();
                }
            }
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
            Hook::Wake { .. } => "AfterCommit::Wake",
            Hook::DeliverNow(_) => "AfterCommit::DeliverNow",
        })
    }
}

/// Whether some webhook endpoint is enabled, as far as this process knows: the webhook worker
/// looks every poll (so an endpoint another replica created counts within one poll, and until
/// then its deliveries go out on the worker's poll), and this process's own admin routes set it
/// at once. It starts true, so nothing waits for the first look.
#[derive(Debug, Clone)]
pub struct WebhookEndpoints(Arc<AtomicBool>);

impl Default for WebhookEndpoints {
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl WebhookEndpoints {
    pub fn any_enabled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, any_enabled: bool) {
        self.0.store(any_enabled, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Whether `notify` holds a wake-up (a permit left by `notify_one`), taking it.
    async fn woken(notify: &Notify) -> bool {
        tokio::time::timeout(Duration::from_millis(20), notify.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_change_wakes_the_webhook_worker_only_while_some_endpoint_is_enabled() {
        let (mail, webhooks) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let endpoints = WebhookEndpoints::default();
        let hook = AfterCommit::wake(mail.clone(), webhooks.clone(), endpoints.clone());

        hook.committed().await;
        assert!(
            woken(&mail).await && woken(&webhooks).await,
            "until the worker looked"
        );

        endpoints.set(false);
        hook.committed().await;
        assert!(woken(&mail).await, "mail is always owed");
        assert!(!woken(&webhooks).await, "no endpoint, no delivery owed");

        hook.webhooks_due();
        assert!(endpoints.any_enabled());
        assert!(woken(&webhooks).await);
        hook.committed().await;
        assert!(woken(&webhooks).await);
    }
}
