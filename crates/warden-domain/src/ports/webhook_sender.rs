use async_trait::async_trait;

use crate::WebhookAnswer;

/// A signed webhook request, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub url: String,
    /// `webhook-id`: the event's id, the same on every attempt.
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of this attempt.
    pub timestamp: i64,
    /// `webhook-signature`: one or two space-separated `v1,` entries.
    pub signature: String,
    /// The JSON body, signed as it is.
    pub body: Vec<u8>,
}

/// Sends webhook requests over HTTP.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `request` with `content-type: application/json` and the three `webhook-*`
    /// headers, and reports the answer. It MUST NOT follow redirects (a 3xx is an answer), MUST
    /// give up after its timeout ([`WebhookAnswer::NoAnswer`]), and MUST refuse to connect to
    /// an address [`crate::forbidden_address`] forbids (unless the host allowed private
    /// targets), whatever the URL's name resolves to at the time. `Retry-After` (seconds or
    /// an HTTP date) is reported on 429 and 503.
    async fn send(&self, request: &WebhookRequest) -> WebhookAnswer;
}
