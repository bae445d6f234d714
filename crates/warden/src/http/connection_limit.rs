//! How many connections one client address may hold open on the public listener
//! (`WARDEN_MAX_CONNECTIONS_PER_IP`), so one host cannot take the whole connection budget.
//!
//! Connections are counted by the TCP peer: an IPv4 address, or an IPv6 address's /64 (which one
//! subscriber usually holds whole). Peers in `WARDEN_TRUSTED_PROXIES` are not counted: a load
//! balancer carries everyone's connections. A connection over the cap is answered once with an
//! enveloped 503 and closed ([`over_limit`]); one more than twice the cap is closed at once,
//! unread, so a flood of them holds nothing. A connection's slot is given back when actix drops
//! the connection's data, that is when the connection ends.

use std::any::Any;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, Shutdown};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use super::{ApiError, TrustedProxies, TOO_MANY_CONNECTIONS};

/// The per-address cap of one listener, shared by its workers.
#[derive(Debug, Clone)]
pub struct ConnectionLimit {
    per_address: usize,
    trusted: TrustedProxies,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Marks a connection over the cap (in the connection's data).
#[derive(Debug, Clone, Copy)]
struct OverLimit;

/// A counted connection: dropping it gives the slot back.
#[derive(Debug)]
struct Slot {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl ConnectionLimit {
    pub fn new(per_address: usize, trusted: TrustedProxies) -> Self {
        Self {
            per_address,
            trusted,
            open: Arc::default(),
        }
    }

    /// For `HttpServer::on_connect`: counts the connection against its address and marks it
    /// when it is over the cap (or shuts it when it is far over).
    pub fn on_connect(&self, conn: &dyn Any, data: &mut Extensions) {
        let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = tcp.peer_addr() else {
            return;
        };
        let Some(count) = self.admit(peer.ip(), data) else {
            return;
        };
        if count > self.per_address.saturating_mul(2) {
            if let Err(error) = socket2::SockRef::from(tcp).shutdown(Shutdown::Both) {
                tracing::debug!(error = %error, "cannot shut a connection over the cap");
            }
        } else if count > self.per_address {
            data.insert(OverLimit);
        }
    }

    /// Counts a connection from `peer` (keeping its [`Slot`] in `data`): the number it holds
    /// now, this one included; `None` for a trusted proxy, which is not counted.
    fn admit(&self, peer: IpAddr, data: &mut Extensions) -> Option<usize> {
        let peer = peer.to_canonical();
        if self.trusted.contains(peer) {
            return None;
        }
        let key = address_key(peer);
        let count = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let count = open.entry(key).or_insert(0);
            *count += 1;
            *count
        };
        data.insert(Slot {
            key,
            open: self.open.clone(),
        });
        Some(count)
    }

    /// Connections held now by the address `peer` counts under.
    pub fn held_by(&self, peer: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&address_key(peer.to_canonical()))
            .copied()
            .unwrap_or(0)
    }
}

/// An IPv4 address as is; an IPv6 address as its /64 network.
fn address_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & (u128::MAX << 64))),
    }
}

/// Middleware (inside `request_context`, so the answer has a request id): a request on a
/// connection over the cap gets an enveloped 503 (a SCIM Error under `/scim/v2`) with
/// `Retry-After`, and the connection closes.
pub async fn over_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.conn_data::<OverLimit>().is_none() {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    tracing::info!("connection over WARDEN_MAX_CONNECTIONS_PER_IP refused");
    let error = ApiError::too_many_connections();
    let response = if crate::routes::scim::is_scim_path(req.path()) {
        let mut response = crate::routes::scim::fallback(error.status(), TOO_MANY_CONNECTIONS);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        response
    } else {
        ResponseError::error_response(&error)
    };
    Ok(req.into_response(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn counts_by_address_and_gives_slots_back() {
        let limit = ConnectionLimit::new(2, TrustedProxies::parse("10.0.0.0/8").unwrap());
        let mut first = Extensions::new();
        let mut second = Extensions::new();
        assert_eq!(limit.admit(ip("127.0.0.2"), &mut first), Some(1));
        assert_eq!(limit.admit(ip("::ffff:127.0.0.2"), &mut second), Some(2));
        assert_eq!(limit.held_by(ip("127.0.0.2")), 2);
        assert_eq!(limit.held_by(ip("127.0.0.3")), 0);
        drop(first);
        assert_eq!(limit.held_by(ip("127.0.0.2")), 1);
        drop(second);
        assert_eq!(limit.held_by(ip("127.0.0.2")), 0);
        assert!(
            limit.open.lock().unwrap().is_empty(),
            "no entry left behind"
        );
    }

    #[test]
    fn ipv6_counts_by_64_and_trusted_proxies_are_not_counted() {
        let limit = ConnectionLimit::new(2, TrustedProxies::parse("10.0.0.0/8").unwrap());
        let mut kept = Vec::new();
        for peer in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"] {
            let mut data = Extensions::new();
            limit.admit(ip(peer), &mut data);
            kept.push(data);
        }
        assert_eq!(limit.held_by(ip("2001:db8:1:2::77")), 2);
        assert_eq!(limit.held_by(ip("2001:db8:1:3::1")), 0);
        let mut data = Extensions::new();
        assert_eq!(limit.admit(ip("10.1.2.3"), &mut data), None);
        assert_eq!(limit.held_by(ip("10.1.2.3")), 0);
    }
}
