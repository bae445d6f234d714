//! Prometheus metrics, exposed at `GET /metrics` in the OpenMetrics text format.
//!
//! Labels never carry what a client sent: `method` is one of the standard methods or `other`
//! ([`method_label`]), and `route` a registered pattern or `unmatched`, so `/metrics` stays
//! bounded whatever requests arrive.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `warden_http_requests_total` | counter | `method`, `route` (the matched pattern), `status` |
//! | `warden_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `warden_status_changes_total` | counter | `action` (`deactivated`, `reactivated`), `channel` ([`Channel`]: `api`, `scim`, `cli`, `bulk`, `lift`) |
//! | `warden_role_changes_total` | counter | `channel` (`api`, `cli`) |
//! | `warden_outbox_deliveries_total` | counter | `result` (`sent`, `retried`, `failed`) |
//! | `warden_outbox_pending` / `warden_outbox_failed` | gauge | read from the store at scrape time |
//! | `warden_email_send_duration_seconds` | histogram | `outcome` (`ok`, `transient`, `permanent`) |

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use warden_domain::ports::{MailError, Mailer, OutboxStats};
use warden_domain::use_cases::DeliveryReport;
use warden_domain::{Email, StatusAction};

use crate::workers::after_commit::Channel;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    action: &'static str,
    channel: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// All of Warden's metrics; cheap to clone, shared by the middleware, handlers and worker.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    status_changes: Family<ChangeLabels, Counter>,
    role_changes: Family<ChannelLabel, Counter>,
    deliveries: Family<ResultLabel, Counter>,
    outbox_pending: Gauge,
    outbox_failed: Gauge,
    email_latency: Family<OutcomeLabel, Histogram>,
    in_flight: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("warden");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(seconds_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response",
            latency.clone(),
        );
        let status_changes = Family::<ChangeLabels, Counter>::default();
        registry.register(
            "status_changes",
            "Accounts deactivated or reactivated, by the entry point the change came through",
            status_changes.clone(),
        );
        let role_changes = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "role_changes",
            "Accounts given another role, by the entry point the change came through",
            role_changes.clone(),
        );
        let deliveries = Family::<ResultLabel, Counter>::default();
        registry.register(
            "outbox_deliveries",
            "Notification delivery attempts by result",
            deliveries.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Notifications not yet delivered (being tried)",
            outbox_pending.clone(),
        );
        let outbox_failed = Gauge::default();
        registry.register(
            "outbox_failed",
            "Notifications given up on",
            outbox_failed.clone(),
        );
        let email_latency =
            Family::<OutcomeLabel, Histogram>::new_with_constructor(seconds_histogram);
        registry.register(
            "email_send_duration_seconds",
            "Time to hand one email to the mail transport",
            email_latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being served now (the outbox worker slows down while there are any)",
            in_flight.clone(),
        );
        Self {
            registry: Arc::new(registry),
            requests,
            latency,
            status_changes,
            role_changes,
            deliveries,
            outbox_pending,
            outbox_failed,
            email_latency,
            in_flight,
        }
    }

    /// Counts a request as in flight until the guard is dropped (also when its future is).
    pub fn request_started(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Whether any request is being served right now.
    pub fn serving(&self) -> bool {
        self.in_flight.get() > 0
    }

    /// Counts one answered request. `route` must be a registered pattern or a fixed word (never
    /// the request's path); `method` may be anything: it is mapped by [`method_label`].
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let (method, route) = (method_label(method), route.to_owned());
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// Counts `count` committed status changes; only [`crate::workers::after_commit::AfterCommit`]
    /// calls it, so every entry point counts the same way.
    pub(crate) fn status_changed(&self, channel: Channel, action: StatusAction, count: usize) {
        self.status_changes
            .get_or_create(&ChangeLabels {
                action: action.as_str(),
                channel: channel.as_str(),
            })
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Counts one committed role change (called by the after-commit hook only).
    pub(crate) fn role_changed(&self, channel: Channel) {
        self.role_changes
            .get_or_create(&ChannelLabel {
                channel: channel.as_str(),
            })
            .inc();
    }

    pub fn delivered(&self, report: DeliveryReport) {
        for (result, count) in [
            ("sent", report.sent),
            ("retried", report.retried),
            ("failed", report.failed),
        ] {
            self.deliveries
                .get_or_create(&ResultLabel { result })
                .inc_by(u64::from(count));
        }
    }

    /// Renders every metric, with the outbox gauges set from `outbox` (when it could be read).
    pub fn render(&self, outbox: Option<OutboxStats>) -> String {
        if let Some(stats) = outbox {
            self.outbox_pending
                .set(i64::try_from(stats.pending).unwrap_or(i64::MAX));
            self.outbox_failed
                .set(i64::try_from(stats.failed).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
        text
    }
}

/// The `method` label: a standard HTTP method by its name, anything else `other`.
pub fn method_label(method: &str) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    STANDARD
        .into_iter()
        .find(|standard| *standard == method)
        .unwrap_or("other")
}

/// From 0.5 ms to about 16 s.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// A [`Mailer`] that times every send.
pub struct TimedMailer {
    inner: Arc<dyn Mailer>,
    metrics: Metrics,
}

impl TimedMailer {
    pub fn wrap(inner: Arc<dyn Mailer>, metrics: Metrics) -> Arc<dyn Mailer> {
        Arc::new(Self { inner, metrics })
    }
}

impl std::fmt::Debug for TimedMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimedMailer")
    }
}

#[async_trait]
impl Mailer for TimedMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let started = Instant::now();
        let result = self.inner.send(email).await;
        let outcome = match &result {
            Ok(()) => "ok",
            Err(MailError::Transient(_)) => "transient",
            Err(MailError::Permanent(_)) => "permanent",
            Err(_) => "other",
        };
        self.metrics
            .email_latency
            .get_or_create(&OutcomeLabel { outcome })
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

/// A request in flight; see [`Metrics::request_started`].
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_in_flight_until_its_guard_goes() {
        let metrics = Metrics::new();
        assert!(!metrics.serving());
        let first = metrics.request_started();
        let second = metrics.clone().request_started();
        assert!(metrics.serving());
        assert!(metrics
            .render(None)
            .contains("warden_http_requests_in_flight 2"));
        drop(first);
        assert!(metrics.serving());
        drop(second);
        assert!(!metrics.serving());
    }

    #[test]
    fn renders_counters_histograms_and_outbox_gauges() {
        let metrics = Metrics::new();
        metrics.observe_request(
            "PATCH",
            "/api/v1/users/deactivate",
            200,
            Duration::from_millis(3),
        );
        metrics.status_changed(Channel::Api, StatusAction::Deactivate, 1);
        metrics.delivered(DeliveryReport {
            sent: 2,
            retried: 1,
            failed: 0,
        });
        let text = metrics.render(Some(OutboxStats {
            pending: 7,
            failed: 1,
        }));
        assert!(text.contains(
            r#"warden_http_requests_total{method="PATCH",route="/api/v1/users/deactivate",status="200"} 1"#
        ), "{text}");
        assert!(text.contains("warden_http_request_duration_seconds_bucket"));
        assert!(
            text.contains(r#"warden_status_changes_total{action="deactivated",channel="api"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"warden_outbox_deliveries_total{result="sent"} 2"#),
            "{text}"
        );
        assert!(text.contains("warden_outbox_pending 7"), "{text}");
        assert!(text.contains("warden_outbox_failed 1"), "{text}");
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let metrics = Metrics::new();
        for method in ["BREW", "get", "PROPFIND", &"X".repeat(4096)] {
            metrics.observe_request(method, "unmatched", 404, Duration::from_millis(1));
        }
        metrics.observe_request("DELETE", "unmatched", 404, Duration::from_millis(1));
        let text = metrics.render(None);
        assert!(
            text.contains(
                r#"warden_http_requests_total{method="other",route="unmatched",status="404"} 4"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"method="DELETE""#), "{text}");
        for made_up in ["BREW", "get", "PROPFIND", "XXXX"] {
            assert!(!text.contains(made_up), "{made_up} in {text}");
        }
    }
}
