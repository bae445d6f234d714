//! Which URLs may be webhook targets: `https` only, and no address in a special-purpose block
//! that is not globally reachable (the domain's [`forbidden_address`]: loopback, private,
//! link-local, CGNAT, multicast, the NAT64, 6to4, Teredo and SIIT forms of them, and the rest of
//! the IANA registries). Checked when an endpoint is registered ([`check_url`]); the sender
//! checks again when each request connects (`resolver`).

use std::net::SocketAddr;
use std::time::Duration;

use url::{Host, Url};
use warden_domain::forbidden_address;

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

#[cfg(test)]
mod tests {
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
}
