//! Who a request comes from, for sign-in throttling.
//!
//! The TCP peer is the client, unless it is one of `WARDEN_TRUSTED_PROXIES`: then the client is
//! the right-most `X-Forwarded-For` address that is not a trusted proxy (each proxy appends the
//! address it saw, so only the entries our own proxies appended can be believed). Forwarding
//! headers from any other peer are ignored. IPv6 clients are keyed by their /64 network, which
//! one subscriber usually holds whole.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use actix_web::HttpRequest;

/// Networks whose forwarding headers are believed (`WARDEN_TRUSTED_PROXIES`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

#[derive(Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedProxies {
    /// Comma-separated CIDRs (`10.0.0.0/8, fd00::/8`) or single addresses; empty means none.
    ///
    /// # Errors
    /// The first entry that is not a network, as a short description.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| Network::parse(entry).ok_or_else(|| format!("{entry:?} is not a CIDR")))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|network| network.contains(addr))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|n| format!("{}/{}", n.addr, n.prefix)))
            .finish()
    }
}

impl Network {
    fn parse(entry: &str) -> Option<Self> {
        let (addr, prefix) = match entry.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix)),
            None => (entry.parse::<IpAddr>().ok()?, None),
        };
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) if prefix.bytes().all(|b| b.is_ascii_digit()) => prefix.parse().ok()?,
            Some(_) => return None,
            None => bits,
        };
        (prefix <= bits).then_some(Self { addr, prefix })
    }

    fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(addr) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(addr) & mask
            }
            _ => false,
        }
    }
}

/// The throttling key of the client that sent `req` (see the module documentation).
pub fn client_key(req: &HttpRequest, trusted: &TrustedProxies) -> String {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|value| value.to_str().unwrap_or("?"));
    resolve(req.peer_addr().map(|addr| addr.ip()), forwarded, trusted)
}

/// [`client_key`] without actix: `forwarded` are the `X-Forwarded-For` header values in the
/// order received.
pub fn resolve<'a>(
    peer: Option<IpAddr>,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> String {
    let Some(peer) = peer.map(|peer| peer.to_canonical()) else {
        return "unknown".to_owned();
    };
    if !trusted.contains(peer) {
        return key(peer);
    }
    let entries: Vec<&str> = forwarded.flat_map(|value| value.split(',')).collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        // A malformed entry was not written by one of our proxies: the walk ends and the hop
        // that forwarded it is the client.
        let Some(addr) = parse_entry(entry) else {
            break;
        };
        client = addr;
        if !trusted.contains(addr) {
            break;
        }
    }
    key(client)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|addr| addr.to_canonical())
}

/// An IPv4 address as is; an IPv6 address as its /64 network.
fn key(addr: IpAddr) -> String {
    match addr.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
            format!("{network}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn parses_cidrs_and_single_addresses_and_refuses_garbage() {
        let proxies = trusted(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,");
        assert!(proxies.contains("10.200.0.1".parse().unwrap()));
        assert!(proxies.contains("192.168.1.7".parse().unwrap()));
        assert!(!proxies.contains("192.168.1.8".parse().unwrap()));
        assert!(proxies.contains("fd12::1".parse().unwrap()));
        assert!(proxies.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!proxies.contains("11.0.0.1".parse().unwrap()));
        assert!(trusted("").is_empty());
        assert!(trusted("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "proxy",
            "10.0.0.0/+8",
            "::/129",
            "1.2.3.4/",
        ] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            resolve(ip("6.6.6.6"), ["1.2.3.4"].into_iter(), &none),
            "6.6.6.6"
        );
        let proxies = trusted("10.0.0.0/8");
        assert_eq!(
            resolve(ip("6.6.6.6"), ["1.2.3.4"].into_iter(), &proxies),
            "6.6.6.6"
        );
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_address_through_two_proxies() {
        let proxies = trusted("10.0.0.0/8");
        // The client forged "1.1.1.1"; the edge proxy appended the client's real address
        // (203.0.113.9), the inner proxy appended the edge's (10.0.0.2); the peer is the inner.
        let chain = ["1.1.1.1, 203.0.113.9", "10.0.0.2"];
        assert_eq!(
            resolve(ip("10.0.0.3"), chain.into_iter(), &proxies),
            "203.0.113.9"
        );
        // No header: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.3"), [].into_iter(), &proxies),
            "10.0.0.3"
        );
        // Ports are allowed.
        let ported = ["203.0.113.9:4711"];
        assert_eq!(
            resolve(ip("10.0.0.3"), ported.into_iter(), &proxies),
            "203.0.113.9"
        );
    }

    #[test]
    fn garbage_entries_end_the_walk_at_the_hop_that_forwarded_them() {
        let proxies = trusted("10.0.0.0/8");
        for garbage in [["evil, 10.0.0.2"], ["<script>, 10.0.0.2"], [", 10.0.0.2"]] {
            assert_eq!(
                resolve(ip("10.0.0.3"), garbage.into_iter(), &proxies),
                "10.0.0.2"
            );
        }
        assert_eq!(
            resolve(ip("10.0.0.3"), ["unknown"].into_iter(), &proxies),
            "10.0.0.3"
        );
        assert_eq!(resolve(None, [].into_iter(), &proxies), "unknown");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let none = TrustedProxies::default();
        let a = resolve(ip("2001:db8:1:2:aaaa::1"), [].into_iter(), &none);
        let b = resolve(ip("2001:db8:1:2:bbbb::9"), [].into_iter(), &none);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, resolve(ip("2001:db8:1:3::1"), [].into_iter(), &none));
        // An IPv4-mapped peer is the IPv4 client.
        assert_eq!(
            resolve(ip("::ffff:6.6.6.6"), [].into_iter(), &none),
            "6.6.6.6"
        );
        let proxies = trusted("10.0.0.0/8");
        let chain = ["[2001:db8:1:2::5]:443"];
        assert_eq!(
            resolve(ip("10.0.0.3"), chain.into_iter(), &proxies),
            "2001:db8:1:2::/64"
        );
    }
}
