//! Name resolution for webhook requests: a name resolves as the system resolves it, and then
//! only to the addresses a webhook may reach. A name that resolved to a public address at
//! registration and later resolves elsewhere (DNS rebinding) gains nothing.

use std::error::Error;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use warden_domain::forbidden_address;

/// Resolves names as the system does, then keeps only the addresses a webhook may reach.
#[derive(Debug)]
pub(crate) struct PublicOnly;

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
