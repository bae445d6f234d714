//! [`WebhookSender`] over HTTPS (reqwest with rustls), and the address rules of webhook
//! targets: `https` only, and no address in a special-purpose block that is not globally
//! reachable (loopback, private, link-local, CGNAT, multicast, NAT64 and Teredo forms of them,
//! and the rest of the IANA registries: [`forbidden_address`]), checked when an endpoint is registered ([`check_url`]) and again when each request
//! connects (a resolver that drops forbidden addresses, so a name that later resolves
//! elsewhere, DNS rebinding, gains nothing). Redirects are never followed. With
//! `WARDEN_WEBHOOK_ALLOW_PRIVATE=true` both rules are lifted.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::{Host, Url};
use warden_domain::ports::{WebhookRequest, WebhookSender};
use warden_domain::{forbidden_address, WebhookAnswer};

/// No answer within this long is a failure.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// How long registration waits for the URL's name to resolve (a name that does not resolve
/// in time is refused like a private one).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL cannot be a webhook target (the text of the 422 on `url`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadTarget {
    #[error("must be an absolute https URL of at most 2048 characters")]
    Malformed,
    #[error("must use https")]
    NotHttps,
    #[error("must resolve to public addresses only (not loopback, private, link-local, shared, multicast or other special-purpose addresses)")]
    Private,
}

/// Checks `text` as a webhook target: an absolute `https` URL (or `http`, when private targets
/// are allowed) whose host is, or resolves only to, addresses [`forbidden_address`] allows.
///
/// # Errors
/// [`BadTarget`].
pub async fn check_url(text: &str, allow_private: bool) -> Result<Url, BadTarget> {
    if text.len() > MAX_URL_LEN {
        return Err(BadTarget::Malformed);
    }
    let url = Url::parse(text).map_err(|_| BadTarget::Malformed)?;
    let Some(host) = url.host() else {
        return Err(BadTarget::Malformed);
    };
    match (url.scheme(), allow_private) {
        ("https", _) | ("http", true) => {}
        ("http", false) => return Err(BadTarget::NotHttps),
        _ => return Err(BadTarget::Malformed),
    }
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let public = match host {
        Host::Ipv4(ip) => !forbidden_address(ip.into()),
        Host::Ipv6(ip) => !forbidden_address(ip.into()),
        Host::Domain(name) => {
            match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, port))).await
            {
                Ok(Ok(addrs)) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    !addrs.is_empty() && addrs.iter().all(|a| !forbidden_address(a.ip()))
                }
                Ok(Err(_)) | Err(_) => false,
            }
        }
    };
    if public {
        Ok(url)
    } else {
        Err(BadTarget::Private)
    }
}

/// The rule for endpoint URLs at registration, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookTargets {
    pub allow_private: bool,
}

impl WebhookTargets {
    /// # Errors
    /// See [`check_url`].
    pub async fn check(&self, url: &str) -> Result<Url, BadTarget> {
        check_url(url, self.allow_private).await
    }
}

/// Resolves names as the system does, then keeps only the addresses a webhook may reach.
#[derive(Debug)]
struct PublicOnly;

#[derive(Debug, thiserror::Error)]
#[error("the name resolves to no public address")]
struct NoPublicAddress;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| !forbidden_address(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(NoPublicAddress) as Box<dyn Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Posts webhooks with reqwest: no redirects, no proxy, a 15 s deadline, and (unless private
/// targets are allowed) https only through the [`PublicOnly`] resolver.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhookSender {
    /// # Errors
    /// When the HTTP client cannot be built (its TLS setup).
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_TIMEOUT)
            .no_proxy()
            .user_agent(concat!("Warden-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.https_only(true).dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private,
        })
    }

    /// Whether the URL may be sent to now: a literal address is never resolved, so it is
    /// checked here.
    fn allowed(&self, url: &Url) -> bool {
        if self.allow_private {
            return true;
        }
        match url.host() {
            Some(Host::Ipv4(ip)) => !forbidden_address(ip.into()),
            Some(Host::Ipv6(ip)) => !forbidden_address(ip.into()),
            Some(Host::Domain(_)) => url.scheme() == "https",
            None => false,
        }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, request: &WebhookRequest) -> WebhookAnswer {
        let url = match Url::parse(&request.url) {
            Ok(url) if self.allowed(&url) => url,
            Ok(url) => {
                // The host only: a URL's path or query may carry the receiver's own token.
                let host = url.host_str().unwrap_or_default().to_owned();
                tracing::warn!(%host, webhook_id = %request.id, "webhook target refused: not a public https URL");
                return WebhookAnswer::NoAnswer;
            }
            Err(_) => return WebhookAnswer::NoAnswer,
        };
        let sent = self
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

    #[tokio::test]
    async fn targets_must_be_public_https() {
        for (url, expected) in [
            ("http://93.184.215.14/hook", BadTarget::NotHttps),
            ("https://127.0.0.1/hook", BadTarget::Private),
            ("https://10.0.0.8:8443/hook", BadTarget::Private),
            ("https://169.254.169.254/latest", BadTarget::Private),
            ("https://100.64.1.1/", BadTarget::Private),
            ("https://[::1]/hook", BadTarget::Private),
            ("https://[::ffff:127.0.0.1]/hook", BadTarget::Private),
            ("https://[64:ff9b:1::a9fe:a9fe]/", BadTarget::Private),
            ("https://[2001:0:a9fe:a9fe::1]/", BadTarget::Private),
            ("https://[::ffff:0:7f00:1]/", BadTarget::Private),
            ("https://localhost/hook", BadTarget::Private),
            ("ftp://example.com/", BadTarget::Malformed),
            ("not a url", BadTarget::Malformed),
            ("https://", BadTarget::Malformed),
        ] {
            assert_eq!(check_url(url, false).await.unwrap_err(), expected, "{url}");
        }
        assert!(check_url("https://93.184.215.14/hook", false).await.is_ok());
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check_url("ftp://127.0.0.1/", true).await.is_err());
    }

    #[test]
    fn literal_addresses_are_checked_before_sending() {
        let strict = HttpWebhookSender::new(false).unwrap();
        let open = HttpWebhookSender::new(true).unwrap();
        let local = Url::parse("https://127.0.0.1/hook").unwrap();
        assert!(!strict.allowed(&local));
        assert!(open.allowed(&local));
        assert!(strict.allowed(&Url::parse("https://93.184.215.14/").unwrap()));
        let siit = Url::parse("https://[::ffff:0:7f00:1]/").unwrap();
        assert!(!strict.allowed(&siit));
        assert!(!strict.allowed(&Url::parse("http://example.com/").unwrap()));
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
