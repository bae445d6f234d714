//! The one outbound HTTP client of webhooks and SET pushes, with its guard against reaching
//! inside the network: no redirects, no proxy, a 15 s deadline, and (unless private targets
//! are allowed) https only through the [`PublicOnly`] resolver, with literal addresses checked
//! here since they are never resolved.

use std::sync::Arc;

use url::{Host, Url};
use warden_domain::forbidden_address;

use crate::resolver::PublicOnly;
use crate::SEND_TIMEOUT;

#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub(crate) client: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    /// # Errors
    /// When the HTTP client cannot be built (its TLS setup).
    pub(crate) fn new(allow_private: bool, user_agent: &'static str) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_TIMEOUT)
            .no_proxy()
            .user_agent(user_agent);
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
    pub(crate) fn allowed(&self, url: &Url) -> bool {
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
