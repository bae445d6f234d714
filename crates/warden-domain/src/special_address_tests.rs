use super::*;

fn forbidden(text: &str) -> bool {
    forbidden_address(text.parse().unwrap())
}

/// One address of every IPv4 special-purpose block that is not globally reachable (IANA).
#[test]
fn every_ipv4_special_purpose_block_that_is_not_globally_reachable_is_refused() {
    for (address, block) in [
        ("0.1.2.3", "0.0.0.0/8 this network"),
        ("0.0.0.0", "0.0.0.0/32 this host"),
        ("10.20.30.40", "10.0.0.0/8 private"),
        ("100.64.0.1", "100.64.0.0/10 shared (CGNAT)"),
        ("100.127.255.254", "100.64.0.0/10 shared, last"),
        ("127.0.0.1", "127.0.0.0/8 loopback"),
        ("127.255.0.9", "127.0.0.0/8 loopback"),
        ("169.254.169.254", "169.254.0.0/16 link local"),
        ("172.16.0.1", "172.16.0.0/12 private"),
        ("172.31.255.254", "172.16.0.0/12 private, last"),
        ("192.0.0.1", "192.0.0.0/24 IETF assignments"),
        ("192.0.0.5", "192.0.0.0/29 DS-Lite"),
        ("192.0.0.8", "192.0.0.8/32 IPv4 dummy"),
        ("192.0.0.170", "192.0.0.170/32 NAT64/DNS64 discovery"),
        ("192.0.0.171", "192.0.0.171/32 NAT64/DNS64 discovery"),
        ("192.0.2.10", "192.0.2.0/24 TEST-NET-1"),
        (
            "192.88.99.1",
            "192.88.99.0/24 6to4 relay anycast (deprecated)",
        ),
        ("192.168.1.1", "192.168.0.0/16 private"),
        ("198.18.0.1", "198.18.0.0/15 benchmarking"),
        ("198.19.255.1", "198.18.0.0/15 benchmarking"),
        ("198.51.100.7", "198.51.100.0/24 TEST-NET-2"),
        ("203.0.113.9", "203.0.113.0/24 TEST-NET-3"),
        ("224.0.0.1", "224.0.0.0/4 multicast"),
        ("239.255.255.250", "224.0.0.0/4 multicast"),
        ("240.0.0.1", "240.0.0.0/4 reserved"),
        ("255.255.255.255", "255.255.255.255/32 limited broadcast"),
    ] {
        assert!(forbidden(address), "{address} ({block})");
    }
}

/// One address of every IPv6 special-purpose block that is not globally reachable (IANA), and
/// of the forms that carry a forbidden IPv4 address.
#[test]
fn every_ipv6_special_purpose_block_that_is_not_globally_reachable_is_refused() {
    for (address, block) in [
        ("::", "::/128 unspecified"),
        ("::1", "::1/128 loopback"),
        ("::7f00:1", "::/96 IPv4-compatible (deprecated)"),
        (
            "::808:808",
            "::/96 IPv4-compatible, even of a public address",
        ),
        ("::ffff:127.0.0.1", "::ffff:0:0/96 IPv4-mapped"),
        (
            "::ffff:8.8.8.8",
            "::ffff:0:0/96 IPv4-mapped, even of a public address",
        ),
        ("::ffff:0:7f00:1", "::ffff:0:0:0/96 SIIT (RFC 6145)"),
        (
            "::ffff:0:808:808",
            "::ffff:0:0:0/96 SIIT, even of a public address",
        ),
        ("64:ff9b::7f00:1", "64:ff9b::/96 NAT64 of loopback"),
        ("64:ff9b::a9fe:a9fe", "64:ff9b::/96 NAT64 of link local"),
        ("64:ff9b::a00:1", "64:ff9b::/96 NAT64 of private"),
        (
            "64:ff9b:1::a9fe:a9fe",
            "64:ff9b:1::/48 local-use NAT64 (RFC 8215)",
        ),
        (
            "64:ff9b:1::808:808",
            "64:ff9b:1::/48 local-use NAT64, even of a public address",
        ),
        ("100::1", "100::/64 discard-only"),
        ("100:0:0:1::1", "100:0:0:1::/64 dummy prefix (RFC 9780)"),
        ("2001::1", "2001::/23 IETF protocol assignments"),
        ("2001:0:a9fe:a9fe::1", "2001::/32 Teredo"),
        (
            "2001:0:808:808::1",
            "2001::/32 Teredo, even with a public server",
        ),
        ("2001:2::1", "2001:2::/48 benchmarking"),
        ("2001:10::1", "2001:10::/28 ORCHID (deprecated)"),
        ("2001:1::4", "2001:1::/48 beside the anycast addresses"),
        ("2001:db8::1", "2001:db8::/32 documentation"),
        ("2002:7f00:1::1", "2002::/16 6to4 of loopback"),
        ("2002:a9fe:a9fe::1", "2002::/16 6to4 of link local"),
        ("2002:c0a8:101::1", "2002::/16 6to4 of private"),
        ("3fff::1", "3fff::/20 documentation (RFC 9637)"),
        ("5f00::1", "5f00::/16 segment routing SIDs (RFC 9602)"),
        ("fc00::1", "fc00::/7 unique local"),
        ("fd12:3456::1", "fc00::/7 unique local"),
        ("fe80::1", "fe80::/10 link local"),
        ("febf::1", "fe80::/10 link local, last"),
        ("fec0::1", "fec0::/10 site local (deprecated)"),
        ("ff02::1", "ff00::/8 multicast"),
        ("ff0e::1", "ff00::/8 multicast, global scope"),
        ("4000::1", "outside 2000::/3, unallocated"),
        ("1000::1", "outside 2000::/3, unallocated"),
    ] {
        assert!(forbidden(address), "{address} ({block})");
    }
}

#[test]
fn globally_reachable_addresses_are_allowed() {
    for (address, why) in [
        ("8.8.8.8", "public"),
        ("1.1.1.1", "public"),
        ("93.184.215.14", "public"),
        ("100.128.0.1", "just past the shared block"),
        ("100.63.255.255", "just before the shared block"),
        ("172.32.0.1", "just past 172.16.0.0/12"),
        ("192.0.0.9", "PCP anycast, globally reachable"),
        ("192.0.0.10", "TURN anycast, globally reachable"),
        ("192.0.3.1", "just past TEST-NET-1"),
        ("192.31.196.1", "AS112, globally reachable"),
        ("192.52.193.1", "AMT, globally reachable"),
        (
            "192.175.48.1",
            "AS112 direct delegation, globally reachable",
        ),
        ("198.20.0.1", "just past benchmarking"),
        ("223.255.255.254", "just before multicast"),
        ("2606:4700::1111", "public"),
        ("2a00:1450:4001::200e", "public"),
        ("64:ff9b::808:808", "NAT64 of a public address"),
        ("2002:808:808::1", "6to4 of a public address"),
        ("2001:1::1", "PCP anycast, globally reachable"),
        ("2001:3::1", "AMT, globally reachable"),
        ("2001:4:112::1", "AS112-v6, globally reachable"),
        ("2001:200::1", "just past 2001::/23"),
        ("2001:db9::1", "just past documentation"),
        (
            "2620:4f:8000::1",
            "AS112 direct delegation, globally reachable",
        ),
        ("3ffe::1", "just before 3fff::/20"),
    ] {
        assert!(!forbidden(address), "{address} ({why})");
    }
}

#[test]
fn the_tables_hold_networks_not_addresses_inside_them() {
    for &(net, prefix, name) in FORBIDDEN_V4 {
        let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
        assert_eq!(net.to_bits() & host_bits, 0, "{net}/{prefix} {name}");
    }
    for &(net, prefix, name) in FORBIDDEN_V6 {
        let host_bits = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
        assert_eq!(net.to_bits() & host_bits, 0, "{net}/{prefix} {name}");
    }
}
