//! Each primitive only netfilter knows, and each table family, through the rule nflog
//! installs (`nflog::filter::compile`, `nflog::nft::CaptureRules`): packets that must be
//! logged and packets that must not, over IPv4 and IPv6 where they apply.
//!
//! Each test runs in a private network namespace of its own (see `support`), with peers held
//! by child processes and links between them (veth pairs, a bridge) that only these
//! namespaces see, addresses from 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/64.
//!
//! Every packet carries a tag of its own at the end of its payload. Packets that must not
//! be logged are sent first, those that must be logged last: a capture logs in the order its
//! hooks saw the packets, one queue per group, so once the last expected tag has arrived,
//! any packet that should not have been logged has arrived too. The check is exact: each
//! expected tag logged once (at the expected hook), nothing else tagged.

mod support;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use etherparse::{PacketBuilder, VlanId};
use nflog::decode::{decode, Transport};
use nflog::filter::{compile, Expr};
use nflog::nft::{CaptureGuard, CaptureRules, FREE_GROUP_START};
use nflog::{Family, GroupConfig, Hook, Listener, Packet};
use support::{
    in_netns, privileged, run, send_frame, wait_until, Captured, Namespace, PeerNetns, Veth, WAIT,
};

/// A capture of one expression: a group of its own and the rule that logs to it.
struct Capture {
    listener: Listener,
    guard: CaptureGuard,
}

impl Capture {
    /// Compiles `expression` for `family` and installs it at `hooks` (of `device`, for
    /// netdev), logging to a free group.
    fn new(expression: &str, family: Family, hooks: &[Hook], device: Option<&str>) -> Capture {
        let expr = Expr::parse(expression).unwrap_or_else(|e| panic!("{expression}: {e}"));
        let filter = compile(&expr, family)
            .unwrap_or_else(|e| panic!("{expression}: {e}"))
            .into_filter(1);
        let mut listener = Listener::builder().bind().unwrap();
        let config = GroupConfig::default().flush_timeout(Duration::from_millis(10));
        let taken = nflog::nft::NftSocket::open()
            .unwrap()
            .logged_groups()
            .unwrap();
        let group = listener
            .add_free_group(FREE_GROUP_START, &taken, &config)
            .unwrap();
        let guard = CaptureRules {
            family,
            hooks: hooks.to_vec(),
            device: device.map(str::to_owned),
            filter,
            ..CaptureRules::default()
        }
        .install(group)
        .unwrap_or_else(|e| panic!("{expression}: {e}"));
        Capture { listener, guard }
    }

    /// What was logged: until `expected` tagged packets came (or the deadline), then for a
    /// moment more; the tagged ones as (tag, hook), sorted, and every packet.
    fn logged(&mut self, expected: usize) -> (Vec<(String, Hook)>, Vec<Captured>) {
        let deadline = Instant::now() + WAIT;
        let mut all = Vec::new();
        let mut tagged = Vec::new();
        let mut quiet_from: Option<Instant> = None;
        loop {
            match self.listener.try_recv().unwrap() {
                Some(batch) => {
                    for p in batch {
                        let p = p.unwrap().into_owned();
                        if let Some(t) = tag(&p.view()) {
                            tagged.push((t, p.view().hook()));
                        }
                        all.push(p);
                    }
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
            if tagged.len() >= expected && quiet_from.is_none() {
                quiet_from = Some(Instant::now());
            }
            let settled = quiet_from.is_some_and(|t| t.elapsed() > Duration::from_millis(300));
            if settled || Instant::now() > deadline {
                break;
            }
        }
        tagged.sort_by_key(|(t, h)| (t.clone(), format!("{h:?}")));
        (tagged, all)
    }

    /// Checks that exactly `expected` (tag, hook) pairs were logged.
    fn assert_logged(&mut self, expected: &[(&str, Hook)]) {
        let (got, _) = self.logged(expected.len());
        let mut want: Vec<(String, Hook)> =
            expected.iter().map(|(t, h)| (t.to_string(), *h)).collect();
        want.sort_by_key(|(t, h)| (t.clone(), format!("{h:?}")));
        assert_eq!(got, want, "table {}", self.guard.table());
    }
}

/// The tag a packet's payload ends with: `[...]`, as [`tagged`] makes it.
fn tag(p: &Packet<&[u8]>) -> Option<String> {
    let payload = p.payload()?;
    let end = payload.strip_suffix(b"]")?;
    let start = end.iter().rposition(|&b| b == b'[')?;
    let body = &end[start + 1..];
    body.iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .then(|| String::from_utf8_lossy(body).into_owned())
}

/// The payload that carries `tag`.
fn tagged(tag: &str) -> String {
    format!("[{tag}]")
}

/// Sends one UDP datagram tagged `tag` to `to` from this namespace.
fn udp(to: &str, tag: &str) {
    let to: SocketAddr = to.parse().unwrap();
    let from = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = UdpSocket::bind(from).unwrap();
    socket.send_to(tagged(tag).as_bytes(), to).unwrap();
}

/// A shell command that sends one UDP datagram tagged `tag` to `address` port `port`.
fn udp_script(address: &str, port: u16, tag: &str) -> String {
    format!("printf '%s' '{}' > /dev/udp/{address}/{port}", tagged(tag))
}

/// MAC address as `ip` writes it.
fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

/// `veth0` here (192.0.2.1, 2001:db8::1) and `veth1` in `peer` (192.0.2.2, 2001:db8::2),
/// each with the other's addresses as permanent neighbours, so that no packet waits for ARP
/// or neighbour discovery, and both with a carrier.
fn veth_pair(peer: &PeerNetns) -> Veth {
    let veth = Veth::to(peer);
    run(
        "ip",
        &[
            "-6",
            "addr",
            "add",
            "2001:db8::1/64",
            "dev",
            "veth0",
            "nodad",
        ],
    );
    peer.run(
        "ip",
        &[
            "-6",
            "addr",
            "add",
            "2001:db8::2/64",
            "dev",
            "veth1",
            "nodad",
        ],
    );
    for (address, mac) in [("192.0.2.2", veth.peer_mac), ("2001:db8::2", veth.peer_mac)] {
        run(
            "ip",
            &[
                "neigh",
                "replace",
                address,
                "lladdr",
                &mac_text(mac),
                "dev",
                "veth0",
                "nud",
                "permanent",
            ],
        );
    }
    for (address, mac) in [("192.0.2.1", veth.our_mac), ("2001:db8::1", veth.our_mac)] {
        peer.run(
            "ip",
            &[
                "neigh",
                "replace",
                address,
                "lladdr",
                &mac_text(mac),
                "dev",
                "veth1",
                "nud",
                "permanent",
            ],
        );
    }
    wait_until("veth0 and veth1 have their carrier", || {
        run("ip", &["-o", "link", "show", "veth0"]).contains("LOWER_UP")
            && peer
                .run("ip", &["-o", "link", "show", "veth1"])
                .contains("LOWER_UP")
    });
    veth
}

#[test]
fn iif_and_oif_match_the_interface_a_packet_came_in_or_goes_out() {
    if !privileged("iif_and_oif_match_the_interface_a_packet_came_in_or_goes_out") {
        return;
    }
    in_netns(|| {
        let peer = PeerNetns::new(WAIT);
        veth_pair(&peer);
        // `and udp`: the ICMP errors the datagrams cause quote them, tag included.
        let mut iif = Capture::new("iif veth0 and udp", Family::Inet, &[Hook::Input], None);
        let mut oif = Capture::new("oif veth* and udp", Family::Inet, &[Hook::Output], None);
        let mut iifs = Capture::new(
            "(iif veth0 or iif dummy0) and udp",
            Family::Inet,
            &[Hook::Input],
            None,
        );
        // Not logged: loopback, in (input, iif lo) and out (output, oif lo).
        udp("127.0.0.1:7000", "lo-4");
        udp("[::1]:7000", "lo-6");
        // Logged: in through veth0 (iif), out through veth0 (oif, by its wildcard).
        peer.run("bash", &["-c", &udp_script("192.0.2.1", 7000, "in-4")]);
        peer.run("bash", &["-c", &udp_script("2001:db8::1", 7000, "in-6")]);
        udp("192.0.2.2:7000", "out-4");
        udp("[2001:db8::2]:7000", "out-6");
        iif.assert_logged(&[("in-4", Hook::Input), ("in-6", Hook::Input)]);
        oif.assert_logged(&[("out-4", Hook::Output), ("out-6", Hook::Output)]);
        iifs.assert_logged(&[("in-4", Hook::Input), ("in-6", Hook::Input)]);
    });
}

#[test]
fn mark_with_and_without_a_mask_matches_the_mark_an_earlier_rule_set() {
    if !privileged("mark_with_and_without_a_mask_matches_the_mark_an_earlier_rule_set") {
        return;
    }
    in_netns(|| {
        // Our chains run at -150 (mangle); this one, at -200, marks first.
        support::nft(
            "table inet marks {
                chain out {
                    type filter hook output priority -200;
                    udp dport 7001 meta mark set 0x10
                    udp dport 7002 meta mark set 0x1f
                    udp dport 7003 meta mark set 0x20
                }
            }",
        );
        let mut masked = Capture::new(
            "udp and mark 0x10/0xf0",
            Family::Inet,
            &[Hook::Output],
            None,
        );
        let mut exact = Capture::new("udp and mark 0x1f", Family::Inet, &[Hook::Output], None);
        let mut zero = Capture::new("udp and mark 0", Family::Inet, &[Hook::Output], None);
        // Folded into a set of host-order marks (nft lists such a set's elements swapped,
        // for want of the byte order nft keeps in a set's user data: the kernel is right).
        let mut set = Capture::new(
            "udp and (mark 0x10 or mark 0x1f)",
            Family::Inet,
            &[Hook::Output],
            None,
        );
        udp("127.0.0.1:7003", "m20-4");
        udp("[::1]:7003", "m20-6");
        udp("127.0.0.1:7004", "none-4");
        udp("[::1]:7004", "none-6");
        udp("127.0.0.1:7001", "m10-4");
        udp("[::1]:7001", "m10-6");
        udp("127.0.0.1:7002", "m1f-4");
        udp("[::1]:7002", "m1f-6");
        let out = Hook::Output;
        masked.assert_logged(&[
            ("m10-4", out),
            ("m10-6", out),
            ("m1f-4", out),
            ("m1f-6", out),
        ]);
        exact.assert_logged(&[("m1f-4", out), ("m1f-6", out)]);
        zero.assert_logged(&[("none-4", out), ("none-6", out)]);
        set.assert_logged(&[
            ("m10-4", out),
            ("m10-6", out),
            ("m1f-4", out),
            ("m1f-6", out),
        ]);
    });
}

#[test]
fn skuid_and_skgid_match_the_user_and_group_of_the_sending_socket() {
    if !privileged("skuid_and_skgid_match_the_user_and_group_of_the_sending_socket") {
        return;
    }
    in_netns(|| {
        let mut uid = Capture::new("udp and skuid 1000", Family::Inet, &[Hook::Output], None);
        let mut gid = Capture::new("udp and skgid 2000", Family::Inet, &[Hook::Output], None);
        let mut uids = Capture::new(
            "udp and (skuid 1000 or skuid 1001)",
            Family::Inet,
            &[Hook::Output],
            None,
        );
        // A process of its own for each identity (setpriv), sending from its socket.
        let send_as = |ids: &[&str], address: &str, tag: &str| {
            let mut args = ids.to_vec();
            let script = udp_script(address, 7000, tag);
            args.extend(["--clear-groups", "--", "bash", "-c", &script]);
            run("setpriv", &args);
        };
        // Root's (this process): neither.
        udp("127.0.0.1:7000", "root-4");
        udp("[::1]:7000", "root-6");
        send_as(&["--reuid=1000", "--regid=1000"], "127.0.0.1", "u1000-4");
        send_as(&["--reuid=1000", "--regid=1000"], "::1", "u1000-6");
        send_as(&["--reuid=0", "--regid=2000"], "127.0.0.1", "g2000-4");
        send_as(&["--reuid=0", "--regid=2000"], "::1", "g2000-6");
        let out = Hook::Output;
        uid.assert_logged(&[("u1000-4", out), ("u1000-6", out)]);
        gid.assert_logged(&[("g2000-4", out), ("g2000-6", out)]);
        uids.assert_logged(&[("u1000-4", out), ("u1000-6", out)]);
    });
}

/// The TCP flags of a logged packet, if it is TCP.
fn tcp_flags(p: &Captured) -> Option<u8> {
    match decode(&p.view()).transport {
        Some(Transport::Tcp(tcp)) => Some(tcp.flags),
        _ => None,
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

#[test]
fn ct_state_new_is_the_first_packet_of_a_connection_and_established_the_rest() {
    if !privileged("ct_state_new_is_the_first_packet_of_a_connection_and_established_the_rest") {
        return;
    }
    in_netns(|| {
        let hooks = [Hook::Output];
        let mut new = Capture::new("ct state new and tcp port 7100", Family::Inet, &hooks, None);
        let mut established = Capture::new(
            "ct state established and tcp port 7100",
            Family::Inet,
            &hooks,
            None,
        );
        udp("127.0.0.1:7100", "udp-4");
        for address in ["127.0.0.1:7100", "[::1]:7100"] {
            use std::io::{Read, Write};
            let server = TcpListener::bind(address).unwrap();
            let mut client = TcpStream::connect(address).unwrap();
            client.write_all(b"[hello]").unwrap();
            let (mut accepted, _) = server.accept().unwrap();
            let mut got = [0; 7];
            accepted.read_exact(&mut got).unwrap();
            drop(client);
            drop(accepted);
        }
        // new: the two SYNs, nothing else (the SYN-ACK is already established, the reply).
        let (_, logged) = new.logged(usize::MAX);
        let flags: Vec<Option<u8>> = logged.iter().map(tcp_flags).collect();
        assert_eq!(flags.len(), 2, "{flags:?}");
        assert!(
            flags
                .iter()
                .all(|f| f.is_some_and(|f| f & (SYN | ACK) == SYN)),
            "{flags:?}"
        );
        let families: Vec<Family> = logged.iter().map(|p| p.view().family()).collect();
        assert_eq!(families, [Family::Ipv4, Family::Ipv6]);
        // established: everything after, each with ACK, the data of both families among it.
        let (tags, logged) = established.logged(2);
        assert_eq!(
            tags,
            [
                ("hello".to_owned(), Hook::Output),
                ("hello".to_owned(), Hook::Output)
            ]
        );
        assert!(
            logged.len() >= 6,
            "SYN-ACK, ACK and data each way: {}",
            logged.len()
        );
        for p in &logged {
            let flags = tcp_flags(p).expect("TCP");
            assert_ne!(flags & ACK, 0, "{flags:#x}");
        }
        for family in [Family::Ipv4, Family::Ipv6] {
            assert!(logged.iter().any(|p| p.view().family() == family));
        }
    });
}

/// An Ethernet frame from `src` to `dst` with a VLAN tag of `vlan` (none when `None`)
/// around a UDP datagram to port 7200 carrying `tag`, over IPv4 or IPv6.
fn frame(src: [u8; 6], dst: [u8; 6], vlan: Option<u16>, v6: bool, tag: &str) -> Vec<u8> {
    let ethernet = PacketBuilder::ethernet2(src, dst);
    let payload = tagged(tag);
    let mut out = Vec::new();
    macro_rules! finish {
        ($step:expr) => {{
            let udp = if v6 {
                $step
                    .ipv6(
                        "2001:db8::2"
                            .parse::<std::net::Ipv6Addr>()
                            .unwrap()
                            .octets(),
                        "2001:db8::1"
                            .parse::<std::net::Ipv6Addr>()
                            .unwrap()
                            .octets(),
                        64,
                    )
                    .udp(4000, 7200)
            } else {
                $step
                    .ipv4([192, 0, 2, 2], [192, 0, 2, 1], 64)
                    .udp(4000, 7200)
            };
            udp.write(&mut out, payload.as_bytes()).unwrap();
        }};
    }
    match vlan {
        Some(id) => finish!(ethernet.single_vlan(VlanId::try_new(id).unwrap())),
        None => finish!(ethernet),
    }
    out
}

#[test]
fn vlan_n_matches_the_tag_at_netdev_ingress() {
    if !privileged("vlan_n_matches_the_tag_at_netdev_ingress") {
        return;
    }
    in_netns(|| {
        let peer = PeerNetns::new(WAIT);
        let veth = veth_pair(&peer);
        let mut vlan = Capture::new("vlan 42", Family::Netdev, &[Hook::Ingress], Some("veth0"));
        // Frames written whole by the peer on veth1 (this kernel may lack 8021q): the
        // kernel takes the outer tag out before the ingress hook (skb_vlan_untag) and
        // `vlan 42` reads it from the skb, as nft's `vlan id` does.
        let (src, dst) = (veth.peer_mac, veth.our_mac);
        for (id, v6, tag) in [
            (Some(43), false, "v43-4"),
            (Some(43), true, "v43-6"),
            (None, false, "untagged-4"),
            (None, true, "untagged-6"),
            (Some(42), false, "v42-4"),
            (Some(42), true, "v42-6"),
        ] {
            send_frame(&peer, "veth1", &frame(src, dst, id, v6, tag));
        }
        let ingress = Hook::Ingress;
        vlan.assert_logged(&[("v42-4", ingress), ("v42-6", ingress)]);
    });
}

#[test]
fn netdev_capture_of_one_interface_filters_at_ingress_and_egress() {
    if !privileged("netdev_capture_of_one_interface_filters_at_ingress_and_egress") {
        return;
    }
    in_netns(|| {
        let peer = PeerNetns::new(WAIT);
        veth_pair(&peer);
        // What `nflog -i veth0 'udp dst port 7300'` installs.
        let mut capture = Capture::new(
            "udp dst port 7300",
            Family::Netdev,
            &[Hook::Ingress, Hook::Egress],
            Some("veth0"),
        );
        udp("127.0.0.1:7300", "lo-4");
        peer.run("bash", &["-c", &udp_script("192.0.2.1", 7301, "in-7301-4")]);
        peer.run(
            "bash",
            &["-c", &udp_script("2001:db8::1", 7301, "in-7301-6")],
        );
        udp("192.0.2.2:7301", "out-7301-4");
        udp("[2001:db8::2]:7301", "out-7301-6");
        peer.run("bash", &["-c", &udp_script("192.0.2.1", 7300, "in-4")]);
        peer.run("bash", &["-c", &udp_script("2001:db8::1", 7300, "in-6")]);
        udp("192.0.2.2:7300", "out-4");
        udp("[2001:db8::2]:7300", "out-6");
        capture.assert_logged(&[
            ("in-4", Hook::Ingress),
            ("in-6", Hook::Ingress),
            ("out-4", Hook::Egress),
            ("out-6", Hook::Egress),
        ]);
    });
}

#[test]
fn bridge_family_filters_frames_crossing_a_bridge_between_namespaces() {
    if !privileged("bridge_family_filters_frames_crossing_a_bridge_between_namespaces") {
        return;
    }
    in_netns(|| {
        // br0 here, with port vethA whose peer ethA is in A, port vethB whose peer ethB is
        // in B; A and B talk through the bridge (its forward hook).
        let a = PeerNetns::new(WAIT);
        let b = PeerNetns::new(WAIT);
        run("ip", &["link", "add", "br0", "type", "bridge"]);
        for (port, end) in [("vethA", "ethA"), ("vethB", "ethB")] {
            run(
                "ip",
                &["link", "add", port, "type", "veth", "peer", "name", end],
            );
            run("ip", &["link", "set", port, "master", "br0"]);
            run("ip", &["link", "set", port, "up"]);
        }
        run("ip", &["link", "set", "br0", "up"]);
        let mac_a = a.adopt("ethA", "192.0.2.1/24");
        let mac_b = b.adopt("ethB", "192.0.2.2/24");
        a.run(
            "ip",
            &[
                "-6",
                "addr",
                "add",
                "2001:db8::1/64",
                "dev",
                "ethA",
                "nodad",
            ],
        );
        b.run(
            "ip",
            &[
                "-6",
                "addr",
                "add",
                "2001:db8::2/64",
                "dev",
                "ethB",
                "nodad",
            ],
        );
        for (ns, dev, addresses, mac) in [
            (&a, "ethA", ["192.0.2.2", "2001:db8::2"], mac_b),
            (&b, "ethB", ["192.0.2.1", "2001:db8::1"], mac_a),
        ] {
            for address in addresses {
                ns.run(
                    "ip",
                    &[
                        "neigh",
                        "replace",
                        address,
                        "lladdr",
                        &mac_text(mac),
                        "dev",
                        dev,
                        "nud",
                        "permanent",
                    ],
                );
            }
        }
        // The bridge learns where B is from a first frame of B's; until then it floods,
        // which forwards too. Wait for the ports to forward (no STP: at once, once up).
        wait_until("the bridge's ports forward", || {
            ["vethA", "vethB"].iter().all(|port| {
                run("ip", &["-o", "link", "show", port]).contains("LOWER_UP")
                    && run("bridge", &["link", "show", "dev", port]).contains("forwarding")
            })
        });
        let mut capture = Capture::new(
            "udp dst port 7400",
            Family::Bridge,
            &[Hook::Input, Hook::Forward, Hook::Output],
            None,
        );
        a.run("bash", &["-c", &udp_script("192.0.2.2", 7401, "no-4")]);
        a.run("bash", &["-c", &udp_script("2001:db8::2", 7401, "no-6")]);
        a.run("bash", &["-c", &udp_script("192.0.2.2", 7400, "yes-4")]);
        a.run("bash", &["-c", &udp_script("2001:db8::2", 7400, "yes-6")]);
        capture.assert_logged(&[("yes-4", Hook::Forward), ("yes-6", Hook::Forward)]);
    });
}

/// The sender's IPv4 address of an Ethernet/IPv4 ARP packet (the payload at the arp
/// family's input hook starts at the ARP header).
fn arp_sender(p: &Captured) -> Option<[u8; 4]> {
    let arp = p.view().payload()?;
    (arp.len() >= 28 && arp[..6] == [0, 1, 8, 0, 6, 4]).then(|| arp[14..18].try_into().unwrap())
}

#[test]
fn arp_family_filters_an_arp_exchange_by_interface() {
    if !privileged("arp_family_filters_an_arp_exchange_by_interface") {
        return;
    }
    in_netns(|| {
        // Two links without permanent neighbours: veth0 to A (192.0.2.0/24) and vethb0 to
        // B (198.51.100.0/24). A datagram from each peer to us starts with its ARP request.
        let a = PeerNetns::new(WAIT);
        Veth::to(&a);
        let b = PeerNetns::new(WAIT);
        run(
            "ip",
            &[
                "link", "add", "vethb0", "type", "veth", "peer", "name", "vethb1",
            ],
        );
        b.adopt("vethb1", "198.51.100.2/24");
        run("ip", &["addr", "add", "198.51.100.1/24", "dev", "vethb0"]);
        run("ip", &["link", "set", "vethb0", "up"]);
        wait_until("both links have their carrier", || {
            ["veth0", "vethb0"]
                .iter()
                .all(|l| run("ip", &["-o", "link", "show", l]).contains("LOWER_UP"))
        });
        // What `nflog --family arp --hook input 'iif veth0'` installs.
        let mut capture = Capture::new("iif veth0", Family::Arp, &[Hook::Input], None);
        // B first: its ARP request comes in through vethb0 and must not be logged.
        let resolve = |peer: &PeerNetns, address: &str| {
            let script = udp_script(address, 7500, "arp");
            let deadline = Instant::now() + WAIT;
            loop {
                peer.run("bash", &["-c", &script]);
                let neigh = peer.run("ip", &["neigh", "show", address]);
                if neigh.contains("lladdr") || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        resolve(&b, "198.51.100.1");
        resolve(&a, "192.0.2.1");
        let deadline = Instant::now() + WAIT;
        let mut logged = Vec::new();
        while Instant::now() < deadline
            && !logged.iter().any(|p| arp_sender(p) == Some([192, 0, 2, 2]))
        {
            logged.extend(capture.logged(0).1);
        }
        logged.extend(capture.logged(0).1);
        let senders: Vec<_> = logged.iter().map(arp_sender).collect();
        assert!(senders.contains(&Some([192, 0, 2, 2])), "{senders:?}");
        assert!(
            senders.iter().all(|s| *s == Some([192, 0, 2, 2])),
            "only A's ARP, through veth0: {senders:?}"
        );
        for p in &logged {
            assert_eq!(
                (p.view().family(), p.view().hook()),
                (Family::Arp, Hook::ArpIn)
            );
        }
    });
}
