//! Where the payload (`NFULA_PAYLOAD`) starts, for every family and every hook nftables
//! offers it, as the real kernel logs them.
//!
//! nfnetlink_log.c copies the payload from `skb->data`, wherever the path that ran the hook
//! left it: at the network header almost everywhere, but at the link-layer header at the
//! netdev **egress** hook (`__dev_queue_xmit` runs it before the driver) and at the `arp`
//! family's **output** hook (`arp_xmit` runs it on the frame `arp_create` built with
//! `dev_hard_header`). Each case is checked byte for byte, and [`decode`] and
//! [`network_header`] must agree with it.
//!
//! Each test runs in a private network namespace of its own (see `support`) with peers in
//! namespaces held by child processes, joined by veth pairs; addresses are documentation
//! ranges that exist only there. One group (80) carries everything, each rule's prefix
//! naming its family and hook.

mod support;

use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
use std::time::{Duration, Instant};

use nflog::decode::{decode, network_header, Network, NetworkHeader, Transport};
use nflog::{Family, Hook, Listener, Packet};
use support::{
    collect, in_netns, link, nft, privileged, run, Captured, Namespace, PeerNetns, WAIT,
};

/// The group every rule logs to.
const GROUP: u16 = 80;
/// UDP destination ports: from a peer to us, from a peer through us to another, from us.
const TO_US: u16 = 7001;
const THROUGH_US: u16 = 7002;
const FROM_US: u16 = 7003;
/// The data of every datagram, to tell ours from anything else.
const DATA: &[u8] = b"where\n";

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];

/// What a rule's packet must look like.
struct Expected {
    /// The rule's prefix.
    prefix: &'static str,
    family: Family,
    hook: Hook,
    /// The link-layer header the payload starts with, if it starts with one.
    link_header: Option<LinkHeader>,
    /// The network layer.
    network: Net,
}

/// The Ethernet header expected at the start of a payload.
#[derive(Clone, Copy)]
struct LinkHeader {
    /// The destination: one of these two.
    dst: [[u8; 6]; 2],
    src: [u8; 6],
    ethertype: u16,
}

/// The network layer expected after it.
#[derive(Clone, Copy, Debug)]
enum Net {
    /// UDP over IPv4 from `.0` to `.1`, to port `.2`.
    Udp4(Ipv4Addr, Ipv4Addr, u16),
    /// UDP over IPv6 from `.0` to `.1`, to port `.2`.
    Udp6(Ipv6Addr, Ipv6Addr, u16),
    /// Ethernet/IPv4 ARP sent by `.0` (its IPv4 address).
    Arp(Ipv4Addr),
}

impl Net {
    /// The EtherType of its packets.
    fn protocol(&self) -> u16 {
        match self {
            Net::Udp4(..) => ETH_P_IP,
            Net::Udp6(..) => ETH_P_IPV6,
            Net::Arp(_) => ETH_P_ARP,
        }
    }

    /// Whether a logged packet is one of these: by EtherType (inet and netdev rules log
    /// both IP versions), and for UDP by its data.
    fn matches(&self, packet: &Packet<&[u8]>) -> bool {
        packet.hw_protocol() == self.protocol()
            && match self {
                Net::Udp4(..) | Net::Udp6(..) => {
                    packet.payload().is_some_and(|p| p.ends_with(DATA))
                }
                Net::Arp(_) => true,
            }
    }
}

/// Checks one logged packet against what its rule expects: the bytes where the payload
/// starts, [`network_header`], and what [`decode`] makes of it.
fn check(packet: &Packet<&[u8]>, expected: &Expected) {
    let what = expected.prefix;
    assert_eq!(
        (packet.family(), packet.hook()),
        (expected.family, expected.hook),
        "{what}"
    );
    let payload = packet.payload().expect("payload copied");
    let offset = match expected.link_header {
        None => 0,
        Some(header) => {
            assert!(payload.len() > 14, "{what}: {payload:02x?}");
            assert!(
                header.dst.iter().any(|dst| payload[..6] == *dst),
                "{what}: destination MAC {:02x?}",
                &payload[..6]
            );
            assert_eq!(payload[6..12], header.src, "{what}: source MAC");
            assert_eq!(
                u16::from_be_bytes([payload[12], payload[13]]),
                header.ethertype,
                "{what}: EtherType"
            );
            14
        }
    };
    let network = &payload[offset..];
    match expected.network {
        Net::Udp4(..) => assert_eq!(network[0], 0x45, "{what}: IPv4 at {offset}"),
        Net::Udp6(..) => assert_eq!(network[0] >> 4, 6, "{what}: IPv6 at {offset}"),
        Net::Arp(_) => assert_eq!(
            network[..6],
            [0, 1, 8, 0, 6, 4],
            "{what}: Ethernet/IPv4 ARP at {offset}"
        ),
    }
    assert_eq!(
        network_header(packet),
        NetworkHeader::At {
            protocol: expected.network.protocol(),
            offset,
            header: network
        },
        "{what}"
    );

    let decoded = decode(packet);
    assert_eq!(decoded.cut, None, "{what}: {decoded:?}");
    match (expected.network, decoded.network, decoded.transport) {
        (Net::Udp4(src, dst, port), Some(Network::Ipv4(ip)), Some(Transport::Udp(udp))) => {
            assert_eq!((ip.src, ip.dst, udp.dst_port), (src, dst, port), "{what}");
        }
        (Net::Udp6(src, dst, port), Some(Network::Ipv6(ip)), Some(Transport::Udp(udp))) => {
            assert_eq!((ip.src, ip.dst, udp.dst_port), (src, dst, port), "{what}");
        }
        (Net::Arp(sender), Some(Network::Arp(arp)), None) => {
            assert_eq!(
                (arp.hardware_type, arp.protocol_type),
                (1, ETH_P_IP),
                "{what}"
            );
            assert!(matches!(arp.operation, 1 | 2), "{what}: {arp:?}");
            let addresses = arp.ethernet_ipv4.expect("Ethernet/IPv4 addresses");
            assert_eq!(addresses.sender_ip, sender, "{what}");
        }
        (net, network, transport) => {
            panic!("{what}: expected {net:?}, decoded {network:?} {transport:?}")
        }
    }
}

/// Runs `send` until every expected rule logged a packet of its kind, or the deadline
/// passes (new links need a moment to carry traffic); then checks every packet each rule
/// logged.
fn send_and_check(listener: &mut Listener, expected: &[Expected], send: impl Fn()) {
    let deadline = Instant::now() + WAIT * 2;
    let mut got: Vec<Captured> = Vec::new();
    let of = |got: &[Captured], e: &Expected| -> usize {
        got.iter()
            .map(Captured::view)
            .filter(|p| p.prefix_bytes() == Some(e.prefix.as_bytes()) && e.network.matches(p))
            .count()
    };
    loop {
        send();
        got.extend(collect(listener, 256, Duration::from_millis(300)));
        if expected.iter().all(|e| of(&got, e) > 0) || Instant::now() > deadline {
            break;
        }
    }
    for e in expected {
        assert!(
            of(&got, e) > 0,
            "nothing logged by rule {:?}; got prefixes {:?}",
            e.prefix,
            got.iter()
                .map(|c| c.view().prefix().map(|p| p.into_owned()))
                .collect::<Vec<_>>()
        );
        for captured in &got {
            let packet = captured.view();
            if packet.prefix_bytes() == Some(e.prefix.as_bytes()) && e.network.matches(&packet) {
                check(&packet, e);
            }
        }
    }
}

/// Makes a veth pair `ours`/`theirs`, moves `theirs` into `peer`, gives each side its
/// addresses (without duplicate address detection, so IPv6 works at once), brings both up,
/// and returns (our MAC, their MAC).
fn veth(
    ours: &str,
    theirs: &str,
    peer: &PeerNetns,
    our_addrs: &[&str],
    their_addrs: &[&str],
) -> ([u8; 6], [u8; 6]) {
    run(
        "ip",
        &["link", "add", ours, "type", "veth", "peer", "name", theirs],
    );
    run(
        "ip",
        &["link", "set", theirs, "netns", &peer.pid().to_string()],
    );
    for addr in our_addrs {
        run("ip", &["addr", "add", addr, "dev", ours, "nodad"]);
    }
    for addr in their_addrs {
        peer.run("ip", &["addr", "add", addr, "dev", theirs, "nodad"]);
    }
    run("ip", &["link", "set", ours, "up"]);
    peer.run("ip", &["link", "set", theirs, "up"]);
    let their_mac = support::parse_ip_link(&peer.run("ip", &["-o", "link", "show", theirs]))
        .1
        .expect("an Ethernet address");
    (link(ours).1, their_mac)
}

/// Sends one datagram of [`DATA`] from us to `to`.
fn send_from_us(to: &str) {
    let bind = if to.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let socket = UdpSocket::bind(bind).expect("bind UDP");
    // Unreachable for a moment while the link comes up: the caller tries again.
    let _ = socket.send_to(DATA, to);
}

/// Sends one datagram of [`DATA`] from inside `peer` to `address`, port `port`.
fn send_from(peer: &PeerNetns, address: &str, port: u16) {
    // printf, not echo: the data ends in the one newline DATA has.
    let script = format!("printf 'where\\n' > /dev/udp/{address}/{port} || true");
    peer.run("bash", &["-c", &script]);
}

/// The families ip, ip6, inet, arp and netdev, every hook each has, on a namespace that
/// routes between peer A (192.0.2.0/24, 2001:db8:1::/64, on veth0) and peer B
/// (198.51.100.0/24, 2001:db8:2::/64, on veth2).
#[test]
fn payload_starts_where_each_family_and_hook_leaves_skb_data() {
    if !privileged("payload_starts_where_each_family_and_hook_leaves_skb_data") {
        return;
    }
    in_netns(|| {
        let a = PeerNetns::new(WAIT);
        let b = PeerNetns::new(WAIT);
        let (our_mac, a_mac) = veth(
            "veth0",
            "veth1",
            &a,
            &["192.0.2.1/24", "2001:db8:1::1/64"],
            &["192.0.2.2/24", "2001:db8:1::2/64"],
        );
        veth(
            "veth2",
            "veth3",
            &b,
            &["198.51.100.1/24", "2001:db8:2::1/64"],
            &["198.51.100.2/24", "2001:db8:2::2/64"],
        );
        a.run(
            "ip",
            &["route", "add", "198.51.100.0/24", "via", "192.0.2.1"],
        );
        a.run(
            "ip",
            &[
                "-6",
                "route",
                "add",
                "2001:db8:2::/64",
                "via",
                "2001:db8:1::1",
            ],
        );
        b.run("ip", &["route", "add", "default", "via", "198.51.100.1"]);
        b.run(
            "ip",
            &["-6", "route", "add", "default", "via", "2001:db8:2::1"],
        );
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward");
        std::fs::write("/proc/sys/net/ipv6/conf/all/forwarding", "1").expect("ipv6 forwarding");

        let mut listener = Listener::bind(GROUP).unwrap();
        let mut rules = String::new();
        for family in ["ip", "ip6", "inet"] {
            rules.push_str(&format!(
                "table {family} t {{\n\
                 chain pre {{ type filter hook prerouting priority 0; \
                   udp dport {TO_US} log group {GROUP} prefix \"{family} prerouting\"; }}\n\
                 chain in {{ type filter hook input priority 0; \
                   udp dport {TO_US} log group {GROUP} prefix \"{family} input\"; }}\n\
                 chain through {{ type filter hook forward priority 0; \
                   udp dport {THROUGH_US} log group {GROUP} prefix \"{family} forward\"; }}\n\
                 chain out {{ type filter hook output priority 0; \
                   udp dport {FROM_US} log group {GROUP} prefix \"{family} output\"; }}\n\
                 chain post {{ type filter hook postrouting priority 0; \
                   udp dport {FROM_US} log group {GROUP} prefix \"{family} postrouting\"; }}\n\
                 }}\n"
            ));
        }
        rules.push_str(&format!(
            "table inet i {{\n\
             chain ing {{ type filter hook ingress device \"veth0\" priority 0; \
               udp dport {TO_US} log group {GROUP} prefix \"inet ingress\"; }}\n\
             }}\n\
             table arp t {{\n\
             chain in {{ type filter hook input priority 0; iifname \"veth0\" log group {GROUP} prefix \"arp input\"; }}\n\
             chain out {{ type filter hook output priority 0; oifname \"veth0\" log group {GROUP} prefix \"arp output\"; }}\n\
             }}\n\
             table netdev t {{\n\
             chain ing {{ type filter hook ingress device \"veth0\" priority 0; \
               udp dport {TO_US} log group {GROUP} prefix \"netdev ingress\"; \
               ether type arp log group {GROUP} prefix \"netdev ingress arp\"; }}\n\
             chain eg {{ type filter hook egress device \"veth0\" priority 0; \
               udp dport {FROM_US} log group {GROUP} prefix \"netdev egress\"; \
               ether type arp log group {GROUP} prefix \"netdev egress arp\"; }}\n\
             }}\n"
        ));
        nft(&rules);

        let (a4, b4, us4) = (
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(198, 51, 100, 2),
            Ipv4Addr::new(192, 0, 2, 1),
        );
        let a6: Ipv6Addr = "2001:db8:1::2".parse().unwrap();
        let b6: Ipv6Addr = "2001:db8:2::2".parse().unwrap();
        let us6: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let (v4_to_us, v4_through, v4_from_us) = (
            Net::Udp4(a4, us4, TO_US),
            Net::Udp4(a4, b4, THROUGH_US),
            Net::Udp4(us4, a4, FROM_US),
        );
        let (v6_to_us, v6_through, v6_from_us) = (
            Net::Udp6(a6, us6, TO_US),
            Net::Udp6(a6, b6, THROUGH_US),
            Net::Udp6(us6, a6, FROM_US),
        );
        let at_network = |prefix, family, hook, network| Expected {
            prefix,
            family,
            hook,
            link_header: None,
            network,
        };
        let mut expected = Vec::new();
        // ip, ip6, and inet for both: the network header at every hook. inet logs each
        // packet with the family of its own header.
        for (family, [pre, input, fwd, out, post], to_us, through, from_us) in [
            (
                Family::Ipv4,
                [
                    "ip prerouting",
                    "ip input",
                    "ip forward",
                    "ip output",
                    "ip postrouting",
                ],
                v4_to_us,
                v4_through,
                v4_from_us,
            ),
            (
                Family::Ipv6,
                [
                    "ip6 prerouting",
                    "ip6 input",
                    "ip6 forward",
                    "ip6 output",
                    "ip6 postrouting",
                ],
                v6_to_us,
                v6_through,
                v6_from_us,
            ),
            (
                Family::Ipv4,
                [
                    "inet prerouting",
                    "inet input",
                    "inet forward",
                    "inet output",
                    "inet postrouting",
                ],
                v4_to_us,
                v4_through,
                v4_from_us,
            ),
            (
                Family::Ipv6,
                [
                    "inet prerouting",
                    "inet input",
                    "inet forward",
                    "inet output",
                    "inet postrouting",
                ],
                v6_to_us,
                v6_through,
                v6_from_us,
            ),
        ] {
            expected.extend([
                at_network(pre, family, Hook::Prerouting, to_us),
                at_network(input, family, Hook::Input, to_us),
                at_network(fwd, family, Hook::Forward, through),
                at_network(out, family, Hook::Output, from_us),
                at_network(post, family, Hook::Postrouting, from_us),
            ]);
        }
        expected.extend([
            // inet's ingress hook (NF_INET_INGRESS) runs from the netdev ingress path, after
            // eth_type_trans pulled the Ethernet header; the family is the packet's.
            at_network("inet ingress", Family::Ipv4, Hook::Ingress, v4_to_us),
            at_network("inet ingress", Family::Ipv6, Hook::Ingress, v6_to_us),
            // arp_rcv runs NF_ARP_IN after eth_type_trans: the ARP header.
            at_network("arp input", Family::Arp, Hook::ArpIn, Net::Arp(a4)),
            // netdev ingress: after eth_type_trans, the network header.
            at_network("netdev ingress", Family::Netdev, Hook::Ingress, v4_to_us),
            at_network("netdev ingress", Family::Netdev, Hook::Ingress, v6_to_us),
            at_network(
                "netdev ingress arp",
                Family::Netdev,
                Hook::Ingress,
                Net::Arp(a4),
            ),
        ]);
        // A frame from us starts with: the peer's MAC or, for an ARP request, broadcast.
        let ethernet = |ethertype| {
            Some(LinkHeader {
                dst: [a_mac, BROADCAST],
                src: our_mac,
                ethertype,
            })
        };
        expected.extend([
            // arp_xmit runs NF_ARP_OUT on the frame arp_create built with dev_hard_header.
            Expected {
                link_header: ethernet(ETH_P_ARP),
                ..at_network("arp output", Family::Arp, Hook::ArpOut, Net::Arp(us4))
            },
            // __dev_queue_xmit runs the egress hook on the frame, before the driver.
            Expected {
                link_header: ethernet(ETH_P_IP),
                ..at_network("netdev egress", Family::Netdev, Hook::Egress, v4_from_us)
            },
            Expected {
                link_header: ethernet(ETH_P_IPV6),
                ..at_network("netdev egress", Family::Netdev, Hook::Egress, v6_from_us)
            },
            Expected {
                link_header: ethernet(ETH_P_ARP),
                ..at_network(
                    "netdev egress arp",
                    Family::Netdev,
                    Hook::Egress,
                    Net::Arp(us4),
                )
            },
        ]);

        send_and_check(&mut listener, &expected, || {
            send_from_us(&format!("192.0.2.2:{FROM_US}"));
            send_from_us(&format!("[2001:db8:1::2]:{FROM_US}"));
            send_from(&a, "192.0.2.1", TO_US);
            send_from(&a, "2001:db8:1::1", TO_US);
            send_from(&a, "198.51.100.2", THROUGH_US);
            send_from(&a, "2001:db8:2::2", THROUGH_US);
        });
    });
}

/// The bridge family, its five hooks, on `br0` (192.0.2.1, 2001:db8:1::1) with ports
/// `vethA` and `vethB`, whose peers A (192.0.2.2, 2001:db8:1::2) and B (192.0.2.3,
/// 2001:db8:1::3) live in namespaces of their own.
#[test]
fn bridge_payload_starts_at_the_network_header_at_every_hook() {
    if !privileged("bridge_payload_starts_at_the_network_header_at_every_hook") {
        return;
    }
    in_netns(|| {
        let a = PeerNetns::new(WAIT);
        let b = PeerNetns::new(WAIT);
        run("ip", &["link", "add", "br0", "type", "bridge"]);
        run("ip", &["addr", "add", "192.0.2.1/24", "dev", "br0"]);
        run(
            "ip",
            &["addr", "add", "2001:db8:1::1/64", "dev", "br0", "nodad"],
        );
        veth(
            "vethA",
            "ethA",
            &a,
            &[],
            &["192.0.2.2/24", "2001:db8:1::2/64"],
        );
        veth(
            "vethB",
            "ethB",
            &b,
            &[],
            &["192.0.2.3/24", "2001:db8:1::3/64"],
        );
        for port in ["vethA", "vethB"] {
            run("ip", &["link", "set", port, "master", "br0"]);
        }
        run("ip", &["link", "set", "br0", "up"]);

        let mut listener = Listener::bind(GROUP).unwrap();
        let log = |what: &str| format!("log group {GROUP} prefix \"bridge {what}\"");
        // The forward chain at priority `filter` (-200): on Debian's 6.1 with br_netfilter
        // loaded, a bridge forward chain at 0 (br_netfilter's own priority) logs nothing for
        // the frames br_netfilter diverts through the ip family's hooks (kernel_bridge.rs).
        nft(&format!(
            "table bridge t {{\n\
             chain pre {{ type filter hook prerouting priority 0; \
               udp dport {TO_US} {}; arp saddr ip 192.0.2.2 {}; }}\n\
             chain in {{ type filter hook input priority 0; \
               udp dport {TO_US} {}; arp saddr ip 192.0.2.2 {}; }}\n\
             chain through {{ type filter hook forward priority filter; \
               udp dport {THROUGH_US} {}; }}\n\
             chain out {{ type filter hook output priority 0; \
               udp dport {FROM_US} {}; arp saddr ip 192.0.2.1 {}; }}\n\
             chain post {{ type filter hook postrouting priority 0; \
               udp dport {FROM_US} {}; arp saddr ip 192.0.2.1 {}; }}\n\
             }}\n",
            log("prerouting"),
            log("prerouting arp"),
            log("input"),
            log("input arp"),
            log("forward"),
            log("output"),
            log("output arp"),
            log("postrouting"),
            log("postrouting arp"),
        ));

        let (a4, b4, us4) = (
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(192, 0, 2, 3),
            Ipv4Addr::new(192, 0, 2, 1),
        );
        let a6: Ipv6Addr = "2001:db8:1::2".parse().unwrap();
        let b6: Ipv6Addr = "2001:db8:1::3".parse().unwrap();
        let us6: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let at_network = |prefix, hook, network| Expected {
            prefix,
            family: Family::Bridge,
            hook,
            link_header: None,
            network,
        };
        let mut expected = Vec::new();
        for (to_us, through, from_us) in [
            (
                Net::Udp4(a4, us4, TO_US),
                Net::Udp4(a4, b4, THROUGH_US),
                Net::Udp4(us4, a4, FROM_US),
            ),
            (
                Net::Udp6(a6, us6, TO_US),
                Net::Udp6(a6, b6, THROUGH_US),
                Net::Udp6(us6, a6, FROM_US),
            ),
        ] {
            expected.extend([
                at_network("bridge prerouting", Hook::Prerouting, to_us),
                at_network("bridge input", Hook::Input, to_us),
                at_network("bridge forward", Hook::Forward, through),
                at_network("bridge output", Hook::Output, from_us),
                at_network("bridge postrouting", Hook::Postrouting, from_us),
            ]);
        }
        // ARP too: unlike the arp family's output hook, the bridge's output hook sees the
        // frame after br_dev_xmit pulled the Ethernet header.
        expected.extend([
            at_network("bridge prerouting arp", Hook::Prerouting, Net::Arp(a4)),
            at_network("bridge input arp", Hook::Input, Net::Arp(a4)),
            at_network("bridge output arp", Hook::Output, Net::Arp(us4)),
            at_network("bridge postrouting arp", Hook::Postrouting, Net::Arp(us4)),
        ]);

        send_and_check(&mut listener, &expected, || {
            send_from_us(&format!("192.0.2.2:{FROM_US}"));
            send_from_us(&format!("[2001:db8:1::2]:{FROM_US}"));
            send_from(&a, "192.0.2.1", TO_US);
            send_from(&a, "2001:db8:1::1", TO_US);
            send_from(&a, "192.0.2.3", THROUGH_US);
            send_from(&a, "2001:db8:1::3", THROUGH_US);
        });
    });
}
