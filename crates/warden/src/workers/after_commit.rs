//! What follows a committed change, decided in one place for every entry point: the HTTP API,
//! SCIM, the CLI, the bulk job runner and the suspension lifter all call
//! [`AfterCommit::status_changed`] (or [`AfterCommit::status_changes`] for a round of them).
//! It counts the change in `warden_status_changes_total` under the entry point's [`Channel`],
//! and starts its notifications on their way; only how they start differs (wake the server's
//! workers, or deliver now from the CLI), and that is chosen once, by the composition root.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;
use warden_domain::use_cases::DeliverNotifications;
use warden_domain::StatusAction;

use crate::observability::metrics::Metrics;

/// The entry point a status change came through: the `channel` label of
/// `warden_status_changes_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `PATCH /api/v1/users/deactivate` and `.../reactivate`.
    Api,
    /// A SCIM client setting `active`.
    Scim,
    /// `warden user deactivate` / `reactivate`.
    Cli,
    /// An item of a bulk deactivation job, carried out by the job runner.
    Bulk,
    /// A timed suspension ended by the lifter.
    Lift,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Scim => "scim",
            Self::Cli => "cli",
            Self::Bulk => "bulk",
            Self::Lift => "lift",
        }
    }
}

#[derive(Clone)]
pub struct AfterCommit {
    hook: Hook,
    metrics: Metrics,
    /// The SSF worker's wake-up (server only): every committed change may owe SETs.
    ssf: Option<Arc<Notify>>,
}

#[derive(Clone)]
enum Hook {
    /// The server: wake the outbox worker, and the webhook worker when a change can owe
    /// webhooks, so the email and the webhooks go out at once.
    Wake {
        mail: Arc<Notify>,
        webhooks: Arc<Notify>,
        endpoints: WebhookEndpoints,
    },
    /// A CLI command: deliver the mail now, before the process exits. A failure is not lost:
    /// the entry stays in the outbox for a server's worker (as do the change's webhooks).
    DeliverNow(DeliverNotifications),
}

impl AfterCommit {
    /// Wakes the outbox worker waiting on `mail` after every change, and the webhook worker
    /// waiting on `webhooks` only while `endpoints` says some endpoint is enabled: otherwise no
    /// change owes a delivery, and waking it would cost a claim query per request. Counts
    /// status changes in `metrics`.
    pub fn wake(
        mail: Arc<Notify>,
        webhooks: Arc<Notify>,
        endpoints: WebhookEndpoints,
        metrics: Metrics,
    ) -> Self {
        Self {
            hook: Hook::Wake {
                mail,
                webhooks,
                endpoints,
            },
            metrics,
            ssf: None,
        }
    }

    /// Also wakes the SSF worker waiting on `ssf` after every committed change.
    pub fn with_ssf(mut self, ssf: Arc<Notify>) -> Self {
        self.ssf = Some(ssf);
        self
    }

    /// Call right after a SET was queued or a stream enabled: wakes the SSF worker.
    pub fn ssf_due(&self) {
        if let Some(ssf) = &self.ssf {
            ssf.notify_one();
        }
    }

    /// Delivers the mail a change owes at once (there is no server worker to wake); counts
    /// status changes in `metrics` (the command's own, which no one scrapes).
    pub fn deliver_now(deliver: DeliverNotifications, metrics: Metrics) -> Self {
        Self {
            hook: Hook::DeliverNow(deliver),
            metrics,
            ssf: None,
        }
    }

    /// Call right after an endpoint was created or enabled, or a delivery queued for retry:
    /// from now on changes owe webhooks, and some may be due already.
    pub fn webhooks_due(&self) {
        if let Hook::Wake {
            webhooks,
            endpoints,
            ..
        } = &self.hook
        {
            endpoints.enabled();
            webhooks.notify_one();
        }
    }

    /// Call right after one status change committed through `channel`.
    pub async fn status_changed(&self, channel: Channel, action: StatusAction) {
        self.status_changes(channel, action, 1).await;
    }

    /// Call right after `count` status changes of one kind committed through `channel` (a
    /// round of the job runner or the lifter); nothing happens for none.
    pub async fn status_changes(&self, channel: Channel, action: StatusAction, count: usize) {
        if count == 0 {
            return;
        }
        self.metrics.status_changed(channel, action, count);
        self.committed().await;
    }

    /// Call right after a role change committed: counts it and starts its webhooks.
    pub async fn role_changed(&self, channel: Channel) {
        self.metrics.role_changed(channel);
        self.committed().await;
    }

    /// Call right after something that owes notifications committed without changing a
    /// status (a notification queued for retry), or after a round that may have committed
    /// changes before it failed: starts the deliveries, counts nothing.
    pub async fn committed(&self) {
        self.ssf_due();
        match &self.hook {
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
        f.write_str(match self.hook {
            Hook::Wake { .. } => "AfterCommit::Wake",
            Hook::DeliverNow(_) => "AfterCommit::DeliverNow",
        })
    }
}

/// Whether some webhook endpoint is enabled, as far as this process knows: the webhook worker
/// looks every poll (so an endpoint another replica created counts within one poll, and until
/// then its deliveries go out on the worker's poll), and this process's own admin routes set it
/// at once. It starts true, so nothing waits for the first look.
///
/// A look that found none does not undo an endpoint enabled while it ran (its query may have
/// read the database before that endpoint committed): bit 0 holds the answer, the bits above
/// count the times an admin route set it.
#[derive(Debug, Clone)]
pub struct WebhookEndpoints(Arc<AtomicU64>);

/// What [`WebhookEndpoints`] held when a look began.
#[derive(Debug, Clone, Copy)]
pub struct Look(u64);

impl Default for WebhookEndpoints {
    fn default() -> Self {
        Self(Arc::new(AtomicU64::new(1)))
    }
}

impl WebhookEndpoints {
    pub fn any_enabled(&self) -> bool {
        self.0.load(Ordering::Acquire) & 1 == 1
    }

    /// An endpoint was just created or enabled here.
    pub fn enabled(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some((held | 1).wrapping_add(2))
            });
    }

    /// Call before reading from the store whether any endpoint is enabled.
    pub fn look(&self) -> Look {
        Look(self.0.load(Ordering::Acquire))
    }

    /// What the look begun at `look` found: kept unless an endpoint was enabled since.
    pub fn looked(&self, look: Look, any_enabled: bool) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held >> 1 == look.0 >> 1).then_some((held & !1) | u64::from(any_enabled))
            });
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
        let hook = AfterCommit::wake(
            mail.clone(),
            webhooks.clone(),
            endpoints.clone(),
            Metrics::new(),
        );

        hook.committed().await;
        assert!(
            woken(&mail).await && woken(&webhooks).await,
            "until the worker looked"
        );

        endpoints.looked(endpoints.look(), false);
        hook.committed().await;
        assert!(woken(&mail).await, "mail is always owed");
        assert!(!woken(&webhooks).await, "no endpoint, no delivery owed");

        hook.webhooks_due();
        assert!(endpoints.any_enabled());
        assert!(woken(&webhooks).await);
        hook.committed().await;
        assert!(woken(&webhooks).await);
    }

    #[tokio::test]
    async fn every_channel_counts_under_its_label_and_wakes_both_workers() {
        let (mail, webhooks) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let metrics = Metrics::new();
        let hook = AfterCommit::wake(
            mail.clone(),
            webhooks.clone(),
            WebhookEndpoints::default(),
            metrics.clone(),
        );
        let channels = [
            Channel::Api,
            Channel::Scim,
            Channel::Cli,
            Channel::Bulk,
            Channel::Lift,
        ];
        for channel in channels {
            hook.status_changed(channel, StatusAction::Deactivate).await;
            assert!(woken(&mail).await && woken(&webhooks).await, "{channel:?}");
        }
        hook.status_changes(Channel::Lift, StatusAction::Reactivate, 3)
            .await;
        assert!(woken(&mail).await && woken(&webhooks).await);

        hook.status_changes(Channel::Bulk, StatusAction::Deactivate, 0)
            .await;
        assert!(
            !woken(&mail).await && !woken(&webhooks).await,
            "none: no wake"
        );

        let text = metrics.render(None);
        for channel in channels {
            let line = format!(
                r#"warden_status_changes_total{{action="deactivated",channel="{}"}} 1"#,
                channel.as_str()
            );
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(
            text.contains(r#"warden_status_changes_total{action="reactivated",channel="lift"} 3"#),
            "{text}"
        );
    }

    #[test]
    fn a_look_that_found_none_does_not_undo_an_endpoint_enabled_meanwhile() {
        let endpoints = WebhookEndpoints::default();
        let look = endpoints.look();
        endpoints.looked(look, false);
        assert!(!endpoints.any_enabled());

        // The worker's query reads the store before an admin's new endpoint commits...
        let stale = endpoints.look();
        endpoints.enabled();
        // ...and its answer arrives after the route said "enabled".
        endpoints.looked(stale, false);
        assert!(endpoints.any_enabled(), "the newer news stands");

        // The next look is believed again, either way.
        let fresh = endpoints.look();
        endpoints.looked(fresh, false);
        assert!(!endpoints.any_enabled());
        let fresh = endpoints.look();
        endpoints.looked(fresh, true);
        assert!(endpoints.any_enabled());
    }
}
