//! Which addresses a request Warden makes on someone else's behalf (a webhook delivery) may
//! never reach: every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries whose
//! "Globally Reachable" is not True, multicast, and for IPv6 everything outside global unicast
//! (2000::/3), so that a block the registries add inside the unallocated space is refused
//! before anyone lists it. IPv6 forms that carry an IPv4 address to a router that will reach it
//! (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address.
//!
//! Registries as of 2025 (RFC 6890 and its updates, RFC 8215, 9602, 9637, 9780).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks refused: (network, prefix length, what it is).
pub const FORBIDDEN_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this network (RFC 791)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private use (RFC 1918)"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space, CGNAT (RFC 6598)",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback (RFC 1122)"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link local (RFC 3927)"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private use (RFC 1918)"),
    // Its two anycast addresses, 192.0.0.9 and 192.0.0.10, are globally reachable: see
    // `GLOBAL_V4`.
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments (RFC 6890)",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation, TEST-NET-1 (RFC 5737)",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "6to4 relay anycast, deprecated (RFC 7526)",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private use (RFC 1918)"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking (RFC 2544)"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation, TEST-NET-2 (RFC 5737)",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation, TEST-NET-3 (RFC 5737)",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast (RFC 5771)"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved (RFC 1112), broadcast included",
    ),
];

/// Addresses inside a refused IPv4 block that the registry marks globally reachable.
const GLOBAL_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(192, 0, 0, 9),  // Port Control Protocol anycast (RFC 7723)
    Ipv4Addr::new(192, 0, 0, 10), // TURN relay anycast (RFC 8155)
];

/// IPv6 blocks refused inside global unicast 2000::/3 (everything outside it is refused too).
pub const FORBIDDEN_V6: &[(Ipv6Addr, u8, &str)] = &[
    // Teredo (2001::/32) included: the server's IPv4 address is in plain sight, the client's
    // is obscured, and no webhook receiver needs to be reached through a Teredo relay.
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "IETF protocol assignments (RFC 2928), Teredo included",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation (RFC 3849)",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation (RFC 9637)",
    ),
];

/// Blocks inside 2001::/23 that the registry marks globally reachable.
const GLOBAL_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 1), 128), // PCP anycast (RFC 7723)
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 2), 128), // TURN anycast (RFC 8155)
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 3), 128), // DNS-SD SRP anycast (RFC 9665)
    (Ipv6Addr::new(0x2001, 3, 0, 0, 0, 0, 0, 0), 32),  // AMT (RFC 7450)
    (Ipv6Addr::new(0x2001, 4, 0x112, 0, 0, 0, 0, 0), 48), // AS112-v6 (RFC 7535)
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28), // ORCHIDv2 (RFC 7343)
    (Ipv6Addr::new(0x2001, 0x30, 0, 0, 0, 0, 0, 0), 28), // Drone Remote ID (RFC 9374)
];

/// Whether a delivery must never be sent to `ip` (see the module documentation).
pub fn forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let bits = ip.to_bits();
    let in_block = |(net, prefix): (Ipv4Addr, u8)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        bits & mask == net.to_bits() & mask
    };
    FORBIDDEN_V4
        .iter()
        .any(|&(net, prefix, _)| in_block((net, prefix)))
        && !GLOBAL_V4.contains(&ip)
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    // 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052): the low 32 bits are the IPv4
    // address the translator will reach. (64:ff9b:1::/48, local-use NAT64 of RFC 8215, is
    // outside 2000::/3 and refused whatever it embeds.)
    if v6_in(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return forbidden_v4(Ipv4Addr::from_bits(ip.to_bits() as u32));
    }
    // Global unicast only: this refuses ::/128, ::1, IPv4-compatible ::/96, IPv4-mapped
    // ::ffff:0:0/96, SIIT ::ffff:0:0:0/96, local-use NAT64 64:ff9b:1::/48, discard-only 100::/64,
    // dummy 100:0:0:1::/64, segment routing 5f00::/16, unique local fc00::/7, link local
    // fe80::/10, site local fec0::/10 and multicast ff00::/8.
    if !v6_in(ip, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        return true;
    }
    // 6to4 (RFC 3056): bits 16..48 are the IPv4 address of the site's router.
    if segments[0] == 0x2002 {
        let [hi, lo] = [segments[1], segments[2]];
        return forbidden_v4(Ipv4Addr::from_bits((u32::from(hi) << 16) | u32::from(lo)));
    }
    FORBIDDEN_V6
        .iter()
        .any(|&(net, prefix, _)| v6_in(ip, net, prefix))
        && !GLOBAL_V6
            .iter()
            .any(|&(net, prefix)| v6_in(ip, net, prefix))
}

#[cfg(test)]
#[path = "special_address_tests.rs"]
mod tests;
