//! [`HttpWebhookSender`]: the domain's [`WebhookSender`] port over HTTPS (reqwest with rustls).
//! The domain signs each request (Standard Webhooks); this posts it, with no redirects and no
//! proxy, and reports the answer.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;
use warden_domain::ports::{WebhookRequest, WebhookSender};
use warden_domain::WebhookAnswer;

use crate::outbound::Outbound;

/// No answer within this long is a failure.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Posts webhooks with reqwest: no redirects, no proxy, a 15 s deadline, and (unless private
/// targets are allowed) https only through the `PublicOnly` resolver (see `outbound.rs`).
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    outbound: Outbound,
}

impl HttpWebhookSender {
    /// # Errors
    /// When the HTTP client cannot be built (its TLS setup).
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let user_agent = concat!("Warden-Webhooks/", env!("CARGO_PKG_VERSION"));
        Ok(Self {
            outbound: Outbound::new(allow_private, user_agent)?,
        })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, request: &WebhookRequest) -> WebhookAnswer {
        let url = match Url::parse(&request.url) {
            Ok(url) if self.outbound.allowed(&url) => url,
            Ok(url) => {
                // The host only: a URL's path or query may carry the receiver's own token.
                let host = url.host_str().unwrap_or_default().to_owned();
                tracing::warn!(%host, webhook_id = %request.id, "webhook target refused: not a public https URL");
                return WebhookAnswer::NoAnswer;
            }
            Err(_) => return WebhookAnswer::NoAnswer,
        };
        let sent = self
            .outbound
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &request.id)
            .header("webhook-timestamp", request.timestamp.to_string())
            .header("webhook-signature", &request.signature)
            .body(request.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let code = response.status().as_u16();
                let retry_after = matches!(code, 429 | 503)
                    .then(|| retry_after(response.headers(), Utc::now()))
                    .flatten();
                WebhookAnswer::Status { code, retry_after }
            }
            Err(error) => {
                // Without the URL, whose path or query may carry the receiver's token.
                let error = error.without_url();
                tracing::info!(error = %error, webhook_id = %request.id, "webhook not answered");
                WebhookAnswer::NoAnswer
            }
        }
    }
}

/// `Retry-After` as a delay from `now`: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<TimeDelta> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u32>() {
        return Some(TimeDelta::seconds(i64::from(seconds)));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - now).max(TimeDelta::zero()))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn literal_addresses_are_checked_before_sending() {
        let strict = HttpWebhookSender::new(false).unwrap();
        let open = HttpWebhookSender::new(true).unwrap();
        let local = Url::parse("https://127.0.0.1/hook").unwrap();
        assert!(!strict.outbound.allowed(&local));
        assert!(open.outbound.allowed(&local));
        assert!(strict
            .outbound
            .allowed(&Url::parse("https://93.184.215.14/").unwrap()));
        let siit = Url::parse("https://[::ffff:0:7f00:1]/").unwrap();
        assert!(!strict.outbound.allowed(&siit));
        assert!(!strict
            .outbound
            .allowed(&Url::parse("http://example.com/").unwrap()));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&headers, now), Some(TimeDelta::seconds(120)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Tue, 01 Dec 2026 08:01:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(TimeDelta::seconds(90)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
