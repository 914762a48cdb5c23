//! The bridge and netdev families as the real kernel logs them: bridge ports, the link-layer
//! header (`NFULA_L2HDR`), VLAN tags (`NFULA_VLAN`) and the netdev ingress and egress hooks.
//!
//! Each test runs in a private network namespace of its own (see `support`) and makes its
//! traffic between that namespace and one or two more held by child processes
//! (`unshare -n sleep 60`, killed on drop), with addresses from 192.0.2.0/24 that exist only
//! there. The kernel here has no 8021q module (no `ip link add type vlan`), so tagged
//! frames are written whole by an AF_PACKET socket in a child's namespace. Groups 70 to 75
//! are used here (group numbers are per namespace).
//!
//! Each assertion names the kernel behaviour it relies on; nfnetlink_log.c is
//! `net/netfilter/nfnetlink_log.c` (`__build_packet_message`, `nfulnl_put_bridge`).

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use nflog::decode::{decode, decode_link, Decoded, LinkHeader, Network, Transport, VlanTag};
use nflog::{Family, Hook, Listener, Packet, Vlan};
use support::{
    collect, in_netns, link, nft, privileged, run, send_frame, time_received_packets, Captured,
    Namespace, PeerNetns, Veth, ARPHRD_ETHER, WAIT,
};

/// The EtherTypes and TPIDs the tests send.
const ETH_P_IP: u16 = 0x0800;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// 802.1Q, VLAN 42, priority 5, DEI 0.
const TAG_Q42: Vlan = Vlan {
    proto: ETH_P_8021Q,
    tci: (5 << 13) | 42,
};
/// 802.1ad, VLAN 100, priority 3, DEI 1.
const TAG_AD100: Vlan = Vlan {
    proto: ETH_P_8021AD,
    tci: (3 << 13) | 0x1000 | 100,
};

/// An IPv4/UDP packet without options and without UDP checksum (0: none, allowed for IPv4).
fn ipv4_udp(src: [u8; 4], dst: [u8; 4], dst_port: u16, data: &[u8]) -> Vec<u8> {
    let total = (20 + 8 + data.len()) as u16;
    let mut packet = vec![0x45, 0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]); // id 1, DF, TTL 64, UDP
    packet.extend_from_slice(&src);
    packet.extend_from_slice(&dst);
    let mut sum: u32 = packet
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    packet[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    packet.extend_from_slice(&4000u16.to_be_bytes());
    packet.extend_from_slice(&dst_port.to_be_bytes());
    packet.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(data);
    packet
}

/// An Ethernet frame: addresses, the tags in order (outermost first), the EtherType, the
/// payload.
fn ethernet_frame(dst: [u8; 6], src: [u8; 6], tags: &[Vlan], payload: &[u8]) -> Vec<u8> {
    let mut frame = dst.to_vec();
    frame.extend_from_slice(&src);
    for tag in tags {
        frame.extend_from_slice(&tag.proto.to_be_bytes());
        frame.extend_from_slice(&tag.tci.to_be_bytes());
    }
    frame.extend_from_slice(&ETH_P_IP.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An untagged Ethernet header: what L2HDR and HWHEADER hold once the kernel took any
/// outer tag out of the frame.
fn ethernet_header(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut header = dst.to_vec();
    header.extend_from_slice(&src);
    header.extend_from_slice(&ethertype.to_be_bytes());
    header
}

/// Checks the decoded payload: IPv4/UDP from 192.0.2.1 to 192.0.2.2, to `port`.
fn assert_udp_a_to_b(decoded: &Decoded, port: u16) {
    let Some(Network::Ipv4(ip)) = decoded.network else {
        panic!("no IPv4 header: {decoded:?}");
    };
    assert_eq!(
        (ip.src.octets(), ip.dst.octets()),
        ([192, 0, 2, 1], [192, 0, 2, 2])
    );
    let Some(Transport::Udp(udp)) = decoded.transport else {
        panic!("no UDP header: {decoded:?}");
    };
    assert_eq!(udp.dst_port, port);
    assert_eq!(decoded.cut, None);
}

/// Whether a packet's payload ends with `data`: picks our datagram out of whatever else a
/// rule logged (IPv6 neighbour discovery, MLD reports from the peers' new links).
fn carries(data: &'static [u8]) -> impl Fn(&Packet<&[u8]>) -> bool {
    move |p| p.payload().is_some_and(|b| b.ends_with(data))
}

/// The first captured packet of `group` that `wanted` accepts, or a panic listing what came.
fn first_of<'a>(
    got: &'a [Captured],
    group: u16,
    wanted: &impl Fn(&Packet<&[u8]>) -> bool,
) -> Packet<&'a [u8]> {
    got.iter()
        .map(Captured::view)
        .find(|p| p.group() == group && wanted(p))
        .unwrap_or_else(|| panic!("nothing wanted logged to group {group}: {got:?}"))
}

/// Repeats `send` until every group in `groups` logged a packet that `wanted` accepts, or
/// the deadline passes (links need a moment to get their carrier, and bridge ports to
/// forward).
fn send_until_logged(
    listener: &mut Listener,
    groups: &[u16],
    wanted: &impl Fn(&Packet<&[u8]>) -> bool,
    send: impl Fn(),
) -> Vec<Captured> {
    let deadline = Instant::now() + WAIT * 2;
    let mut got = Vec::new();
    loop {
        send();
        got.extend(collect(listener, 64, Duration::from_millis(300)));
        let all = groups.iter().all(|&g| {
            got.iter()
                .map(Captured::view)
                .any(|p| p.group() == g && wanted(&p))
        });
        if all || Instant::now() > deadline {
            return got;
        }
    }
}

/// `br0` in the test namespace with ports `vethA` and `vethB`, whose peers `ethA`
/// (192.0.2.1) and `ethB` (192.0.2.2) live in namespaces `a` and `b`.
struct Bridge {
    a: PeerNetns,
    /// Held so that B's namespace, and ethB in it, live as long as the bridge.
    _b: PeerNetns,
    br0: u32,
    veth_a: u32,
    veth_b: u32,
    mac_a: [u8; 6],
    mac_b: [u8; 6],
}

impl Bridge {
    fn new() -> Bridge {
        let a = PeerNetns::new(WAIT);
        let b = PeerNetns::new(WAIT);
        run("ip", &["link", "add", "br0", "type", "bridge"]);
        for (port, peer) in [("vethA", "ethA"), ("vethB", "ethB")] {
            run(
                "ip",
                &["link", "add", port, "type", "veth", "peer", "name", peer],
            );
            run("ip", &["link", "set", port, "master", "br0"]);
            run("ip", &["link", "set", port, "up"]);
        }
        run("ip", &["link", "set", "br0", "up"]);
        let mac_a = a.adopt("ethA", "192.0.2.1/24");
        let mac_b = b.adopt("ethB", "192.0.2.2/24");
        assert_ne!(mac_a, mac_b);
        Bridge {
            br0: link("br0").0,
            veth_a: link("vethA").0,
            veth_b: link("vethB").0,
            a,
            _b: b,
            mac_a,
            mac_b,
        }
    }

    /// Sends a frame from A to B's MAC address with the given tags around an IPv4/UDP
    /// packet from 192.0.2.1 to 192.0.2.2:`port`.
    fn send_tagged(&self, tags: &[Vlan], port: u16, data: &[u8]) {
        let packet = ipv4_udp([192, 0, 2, 1], [192, 0, 2, 2], port, data);
        let frame = ethernet_frame(self.mac_b, self.mac_a, tags, &packet);
        send_frame(&self.a, "ethA", &frame);
    }
}

#[test]
fn bridge_forward_reports_the_bridge_its_ports_and_the_ethernet_header() {
    if !privileged("bridge_forward_reports_the_bridge_its_ports_and_the_ethernet_header") {
        return;
    }
    in_netns(|| {
        // Before 6.6 the kernel stamps only packets timed on arrival (test-support stamps).
        let _timed = time_received_packets();
        let bridge = Bridge::new();
        // br_netfilter (CONFIG_BRIDGE_NETFILTER=y) also passes bridged IPv4 through the ip
        // family's hooks when this namespace's sysctl says so; set it rather than rely on
        // the default.
        std::fs::write("/proc/sys/net/bridge/bridge-nf-call-iptables", "1")
            .expect("bridge-nf-call-iptables (CONFIG_BRIDGE_NETFILTER)");
        let mut listener = Listener::builder().groups([70, 73]).bind().unwrap();
        // The bridge chain at priority `filter` (-200), before br_netfilter's own forward
        // hook (NF_BR_PRI_BRNF, 0). Seen on Debian's 6.1 with br_netfilter loaded: a
        // bridge chain at priority 0 logs nothing for the IPv4 frames br_netfilter
        // diverts through the ip family's hooks (it resumes the bridge hook after them,
        // and chains of its own priority are not run again), while one at `filter` logs
        // each. `priority filter` is what users write anyway.
        nft(r#"
            table bridge t {
                chain fw {
                    type filter hook forward priority filter;
                    udp dport 5070 log group 70
                }
            }
            table ip t {
                chain fw {
                    type filter hook forward priority 0;
                    udp dport 5070 log group 73
                }
            }
        "#);
        // Ordinary traffic: ARP, then the datagram, through br0.
        let wanted = carries(b"bridged\n");
        let got = send_until_logged(&mut listener, &[70, 73], &wanted, || {
            bridge
                .a
                .run("bash", &["-c", "echo bridged > /dev/udp/192.0.2.2/5070"]);
        });

        let p = first_of(&got, 70, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Bridge, Hook::Forward));
        // nfnetlink_log.c, CONFIG_BRIDGE_NETFILTER, pf == PF_BRIDGE ("Case 1"): the hook's
        // devices are the ports, sent as PHYSINDEV/PHYSOUTDEV, and INDEV/OUTDEV are the
        // bridge the ports belong to (br_port_get_rcu(dev)->br->dev).
        assert_eq!(p.physindev(), Some(bridge.veth_a));
        assert_eq!(p.physoutdev(), Some(bridge.veth_b));
        assert_eq!(p.indev(), Some(bridge.br0));
        assert_eq!(p.outdev(), Some(bridge.br0));
        assert_eq!(p.hw_protocol(), ETH_P_IP, "skb->protocol");
        // nfulnl_put_bridge: L2HDR is the MAC header up to the network header, here the
        // 14-byte Ethernet header from A to B. The input device is known (vethA), so the
        // HW* attributes are there too, with the same bytes.
        let header = ethernet_header(bridge.mac_b, bridge.mac_a, ETH_P_IP);
        assert_eq!(p.l2hdr(), Some(&header[..]));
        assert_eq!(p.hwheader(), Some(&header[..]));
        assert_eq!((p.hwtype(), p.hwlen()), (Some(ARPHRD_ETHER), Some(14)));
        assert_eq!(
            p.hwaddr(),
            Some(&bridge.mac_a[..]),
            "dev_parse_header: source"
        );
        // No tag on the skb (skb_vlan_tag_present): no NFULA_VLAN.
        assert_eq!(p.vlan(), None);
        // NF_BR_FORWARD is 2, and the timestamp is sent for hook numbers <= 2.
        assert!(p.timestamp().is_some());
        // The payload is copied from skb->data, past the Ethernet header (eth_type_trans
        // pulled it): the IP packet.
        let payload = p.payload().unwrap();
        assert_eq!(payload[0] >> 4, 4);
        assert!(payload.ends_with(b"bridged\n"));
        assert_udp_a_to_b(&decode(&p), 5070);
        let link = decode_link(&p).expect("an Ethernet link layer");
        assert_eq!(link.header, LinkHeader::L2hdr);
        assert_eq!(
            (
                link.ethernet.dst,
                link.ethernet.src,
                link.ethernet.ethertype
            ),
            (bridge.mac_b, bridge.mac_a, ETH_P_IP)
        );
        assert_eq!((link.protocol, link.network_offset), (Some(ETH_P_IP), 0));
        assert_eq!(link.tags().count(), 0);

        // The same datagram at the ip family's FORWARD hook, called by br_netfilter
        // (br_nf_forward_ip) with the bridge as both devices: nfnetlink_log.c "Case 2"
        // sends those as INDEV/OUTDEV and looks the ports up in the skb's nf_bridge info
        // (nf_bridge_get_physinif, nf_bridge_get_physoutdev).
        let p = first_of(&got, 73, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Ipv4, Hook::Forward));
        assert_eq!(
            (p.indev(), p.physindev()),
            (Some(bridge.br0), Some(bridge.veth_a))
        );
        assert_eq!(
            (p.outdev(), p.physoutdev()),
            (Some(bridge.br0), Some(bridge.veth_b))
        );
        // L2HDR and VLAN are for the bridge and netdev families only.
        assert_eq!((p.l2hdr(), p.vlan()), (None, None));
        assert_eq!(p.hwheader(), Some(&header[..]));
        assert_udp_a_to_b(&decode(&p), 5070);
        let link = decode_link(&p).expect("HWHEADER of an Ethernet device");
        assert_eq!(link.header, LinkHeader::Hwheader);
        assert_eq!(link.ethernet.src, bridge.mac_a);
        drop(bridge);
    });
}

/// The three places one frame from A to B is logged: netdev ingress of vethA (71), bridge
/// forward (70) and netdev egress of vethB (72).
fn rules_for_tagged_frames() -> &'static str {
    r#"
        table bridge t {
            chain fw {
                type filter hook forward priority filter;
                ether saddr $A log group 70
            }
        }
        table netdev t {
            chain in {
                type filter hook ingress device "vethA" priority 0;
                ether saddr $A log group 71
            }
            chain out {
                type filter hook egress device "vethB" priority 0;
                ether saddr $A log group 72
            }
        }
    "#
}

/// MAC address as nft writes it.
fn nft_mac(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

#[test]
fn vlan_tag_taken_out_of_the_frame_is_reported_as_nfula_vlan() {
    if !privileged("vlan_tag_taken_out_of_the_frame_is_reported_as_nfula_vlan") {
        return;
    }
    in_netns(|| {
        // Before 6.6 the kernel stamps only packets timed on arrival (test-support stamps).
        let _timed = time_received_packets();
        let bridge = Bridge::new();
        let mut listener = Listener::builder().groups([70, 71, 72]).bind().unwrap();
        nft(&rules_for_tagged_frames().replace("$A", &nft_mac(bridge.mac_a)));
        // One 802.1Q tag, VLAN 42, priority 5, DEI 0, around IPv4/UDP to B.
        let wanted = carries(b"vlan");
        let got = send_until_logged(&mut listener, &[70, 71, 72], &wanted, || {
            bridge.send_tagged(&[TAG_Q42], 5071, b"vlan")
        });
        let header = ethernet_header(bridge.mac_b, bridge.mac_a, ETH_P_IP);
        let split = VlanTag {
            proto: ETH_P_8021Q,
            tci: TAG_Q42.tci,
            id: 42,
            priority: 5,
            drop_eligible: false,
        };

        // Netdev ingress of vethA. __netif_receive_skb_core took the tag out of the frame
        // (skb_vlan_untag; no 8021q module needed) before the ingress hook, and slid the
        // MAC addresses over it (skb_reorder_vlan_header): skb->protocol and the header's
        // type field are the inner EtherType, the tag is in skb->vlan_tci, which
        // nfulnl_put_bridge sends as NFULA_VLAN.
        let p = first_of(&got, 71, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Netdev, Hook::Ingress));
        assert_eq!((p.indev(), p.outdev()), (Some(bridge.veth_a), None));
        assert_eq!((p.physindev(), p.physoutdev()), (None, None));
        let vlan = p.vlan().expect("NFULA_VLAN");
        assert_eq!(vlan, TAG_Q42);
        assert_eq!(
            (vlan.id(), vlan.priority(), vlan.drop_eligible()),
            (42, 5, false)
        );
        assert_eq!(p.hw_protocol(), ETH_P_IP);
        assert_eq!(p.l2hdr(), Some(&header[..]), "no tag left in the header");
        assert_eq!(p.hwheader(), Some(&header[..]));
        assert_eq!(p.hwtype(), Some(ARPHRD_ETHER));
        // NF_NETDEV_INGRESS is 0: a timestamp.
        assert!(p.timestamp().is_some());
        assert_eq!(
            p.payload().unwrap()[0],
            0x45,
            "the payload is the IP packet"
        );
        assert_udp_a_to_b(&decode(&p), 5071);
        let link = decode_link(&p).unwrap();
        assert_eq!(link.out_of_band, Some(split));
        assert!(link.in_band.is_empty());
        assert_eq!(link.outer_tag(), Some(split));
        assert_eq!((link.protocol, link.network_offset), (Some(ETH_P_IP), 0));

        // Bridge forward: a bridge without VLAN filtering leaves skb->vlan_tci alone
        // (br_allowed_ingress), so the tag is still reported, with the ports.
        let p = first_of(&got, 70, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Bridge, Hook::Forward));
        assert_eq!(
            (p.physindev(), p.physoutdev()),
            (Some(bridge.veth_a), Some(bridge.veth_b))
        );
        assert_eq!(
            (p.indev(), p.outdev()),
            (Some(bridge.br0), Some(bridge.br0))
        );
        assert_eq!(p.vlan(), Some(TAG_Q42));
        assert_eq!(p.hw_protocol(), ETH_P_IP);
        assert_eq!(p.l2hdr(), Some(&header[..]));
        assert_udp_a_to_b(&decode(&p), 5071);
        assert_eq!(decode_link(&p).unwrap().out_of_band, Some(split));

        // Netdev egress of vethB: __dev_queue_xmit runs the hook before the tag could be
        // put back into the frame (validate_xmit_vlan comes later), so it is still out of
        // band. There is no input device: no INDEV, no HW* attributes. The payload is
        // copied from skb->data, which at egress is the MAC header: it starts with the
        // L2HDR bytes, then the IP packet.
        let p = first_of(&got, 72, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Netdev, Hook::Egress));
        assert_eq!((p.indev(), p.outdev()), (None, Some(bridge.veth_b)));
        assert_eq!((p.hwtype(), p.hwheader(), p.hwaddr()), (None, None, None));
        assert_eq!(p.vlan(), Some(TAG_Q42));
        assert_eq!(p.hw_protocol(), ETH_P_IP);
        assert_eq!(p.l2hdr(), Some(&header[..]));
        let payload = p.payload().unwrap();
        assert_eq!(
            &payload[..14],
            &header[..],
            "the payload starts at the MAC header"
        );
        assert_eq!(payload[14], 0x45);
        // NF_NETDEV_EGRESS is 1, so it gets a timestamp too (the test is on the number).
        assert!(p.timestamp().is_some());
        assert_udp_a_to_b(&decode(&p), 5071);
        let link = decode_link(&p).unwrap();
        assert_eq!(link.out_of_band, Some(split));
        assert_eq!((link.protocol, link.network_offset), (Some(ETH_P_IP), 14));
        drop(bridge);
    });
}

#[test]
fn second_vlan_tag_stays_in_the_frame_split_between_l2hdr_and_payload() {
    if !privileged("second_vlan_tag_stays_in_the_frame_split_between_l2hdr_and_payload") {
        return;
    }
    in_netns(|| {
        // Before 6.6 the kernel stamps only packets timed on arrival (test-support stamps).
        let _timed = time_received_packets();
        let bridge = Bridge::new();
        let mut listener = Listener::builder().groups([70, 71, 72]).bind().unwrap();
        nft(&rules_for_tagged_frames().replace("$A", &nft_mac(bridge.mac_a)));
        // 802.1ad VLAN 100 (priority 3, DEI 1) outside 802.1Q VLAN 42 (priority 5).
        let wanted = carries(b"qinq");
        let got = send_until_logged(&mut listener, &[70, 71, 72], &wanted, || {
            bridge.send_tagged(&[TAG_AD100, TAG_Q42], 5072, b"qinq")
        });
        // skb_vlan_untag takes out only the outer tag. The inner one stays: after the
        // reorder the header's type field is its TPID (so is skb->protocol), and
        // skb_vlan_untag reset the network header to just after that, so the payload
        // starts with the inner tag's TCI and the EtherType after it.
        let header = ethernet_header(bridge.mac_b, bridge.mac_a, ETH_P_8021Q);
        let mut tag_rest = TAG_Q42.tci.to_be_bytes().to_vec();
        tag_rest.extend_from_slice(&ETH_P_IP.to_be_bytes());
        let outer = VlanTag {
            proto: ETH_P_8021AD,
            tci: TAG_AD100.tci,
            id: 100,
            priority: 3,
            drop_eligible: true,
        };
        let inner = VlanTag {
            proto: ETH_P_8021Q,
            tci: TAG_Q42.tci,
            id: 42,
            priority: 5,
            drop_eligible: false,
        };

        for (group, family, hook) in [
            (71, Family::Netdev, Hook::Ingress),
            (70, Family::Bridge, Hook::Forward),
        ] {
            let p = first_of(&got, group, &wanted);
            assert_eq!((p.family(), p.hook()), (family, hook));
            assert_eq!(p.vlan(), Some(TAG_AD100), "group {group}");
            assert_eq!(p.hw_protocol(), ETH_P_8021Q, "group {group}");
            assert_eq!(p.l2hdr(), Some(&header[..]), "group {group}");
            let payload = p.payload().unwrap();
            assert_eq!(&payload[..4], &tag_rest[..], "group {group}");
            assert_eq!(payload[4], 0x45);
            let link = decode_link(&p).unwrap();
            assert_eq!(link.out_of_band, Some(outer));
            assert_eq!(link.in_band.as_slice(), [inner]);
            assert_eq!(link.tags().collect::<Vec<_>>(), [outer, inner]);
            assert_eq!((link.protocol, link.network_offset), (Some(ETH_P_IP), 4));
            assert_udp_a_to_b(&decode(&p), 5072);
        }

        // Egress: the payload starts at the MAC header, then the inner tag's rest.
        let p = first_of(&got, 72, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Netdev, Hook::Egress));
        assert_eq!(p.vlan(), Some(TAG_AD100));
        assert_eq!(p.hw_protocol(), ETH_P_8021Q);
        assert_eq!(p.l2hdr(), Some(&header[..]));
        let payload = p.payload().unwrap();
        assert_eq!(&payload[..14], &header[..]);
        assert_eq!(&payload[14..18], &tag_rest[..]);
        let link = decode_link(&p).unwrap();
        assert_eq!(link.in_band.as_slice(), [inner]);
        assert_eq!((link.protocol, link.network_offset), (Some(ETH_P_IP), 18));
        assert_udp_a_to_b(&decode(&p), 5072);
        drop(bridge);
    });
}

#[test]
fn netdev_ingress_and_egress_on_a_veth_without_bridge() {
    if !privileged("netdev_ingress_and_egress_on_a_veth_without_bridge") {
        return;
    }
    in_netns(|| {
        // Before 6.6 the kernel stamps only packets timed on arrival (test-support stamps).
        let _timed = time_received_packets();
        // veth0 here (192.0.2.1), veth1 in the peer (192.0.2.2).
        let peer = PeerNetns::new(WAIT);
        let Veth {
            index: veth0,
            our_mac,
            peer_mac,
        } = Veth::to(&peer);

        let mut listener = Listener::builder().groups([74, 75]).bind().unwrap();
        nft(r#"
            table netdev t {
                chain in {
                    type filter hook ingress device "veth0" priority 0;
                    udp dport 5074 log group 74
                }
                chain out {
                    type filter hook egress device "veth0" priority 0;
                    udp dport 5075 log group 75
                }
            }
        "#);
        let socket = UdpSocket::bind("192.0.2.1:0").unwrap();
        let wanted = |p: &Packet<&[u8]>| {
            p.payload()
                .is_some_and(|b| b.ends_with(b"in\n") || b.ends_with(b"out\n"))
        };
        let got = send_until_logged(&mut listener, &[74, 75], &wanted, || {
            peer.run("bash", &["-c", "echo in > /dev/udp/192.0.2.1/5074"]);
            // Unreachable until ARP resolves: then the send still succeeds, the packet
            // waits in the neighbour queue or is dropped; resent on the next round.
            let _ = socket.send_to(b"out\n", "192.0.2.2:5075");
        });

        // Ingress: the receiving device is INDEV (no bridge: no PHYS*), with the HW*
        // attributes and the same 14 bytes as L2HDR; the payload is the IP packet.
        let p = first_of(&got, 74, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Netdev, Hook::Ingress));
        assert_eq!((p.indev(), p.outdev()), (Some(veth0), None));
        assert_eq!((p.physindev(), p.physoutdev()), (None, None));
        let header = ethernet_header(our_mac, peer_mac, ETH_P_IP);
        assert_eq!(p.l2hdr(), Some(&header[..]));
        assert_eq!(p.hwheader(), Some(&header[..]));
        assert_eq!((p.hwtype(), p.hwlen()), (Some(ARPHRD_ETHER), Some(14)));
        assert_eq!(p.hwaddr(), Some(&peer_mac[..]));
        assert_eq!(p.vlan(), None);
        assert!(p.timestamp().is_some());
        let Some(Network::Ipv4(ip)) = decode(&p).network else {
            panic!("no IPv4 at ingress");
        };
        assert_eq!(ip.src.octets(), [192, 0, 2, 2]);
        assert!(p.payload().unwrap().ends_with(b"in\n"));

        // Egress: the sending device is OUTDEV; no input device, so no HW* attributes,
        // but L2HDR (the MAC header dev_hard_header built: to the peer, from us) is
        // there, and the payload starts with it (skb->data is the MAC header in
        // __dev_queue_xmit). The skb still belongs to our UDP socket: UID and GID.
        let p = first_of(&got, 75, &wanted);
        assert_eq!((p.family(), p.hook()), (Family::Netdev, Hook::Egress));
        assert_eq!((p.indev(), p.outdev()), (None, Some(veth0)));
        assert_eq!((p.hwtype(), p.hwlen(), p.hwheader()), (None, None, None));
        assert_eq!(p.hwaddr(), None);
        let header = ethernet_header(peer_mac, our_mac, ETH_P_IP);
        assert_eq!(p.l2hdr(), Some(&header[..]));
        let payload = p.payload().unwrap();
        assert_eq!(&payload[..14], &header[..]);
        assert!(payload.ends_with(b"out\n"));
        assert_eq!((p.uid(), p.gid()), (Some(0), Some(0)));
        assert!(p.timestamp().is_some());
        let decoded = decode(&p);
        let Some(Network::Ipv4(ip)) = decoded.network else {
            panic!("no IPv4 at egress: {decoded:?}");
        };
        assert_eq!(
            (ip.src.octets(), ip.dst.octets()),
            ([192, 0, 2, 1], [192, 0, 2, 2])
        );
        assert!(matches!(
            decoded.transport,
            Some(Transport::Udp(udp)) if udp.dst_port == 5075
        ));
        let link = decode_link(&p).unwrap();
        assert_eq!((link.ethernet.dst, link.ethernet.src), (peer_mac, our_mac));
        assert_eq!(link.network_offset, 14);
        drop(peer);
    });
}
