//! Tests of the conntrack view on byte fixtures: four entries captured from the kernel,
//! hand-built ones for what the captures lack, malformed nests, and arbitrary bytes.
//!
//! The captured entries are converted to this host's byte order before use
//! ([`host_order`]); hand-built ones use [`emit`], so their headers are in host order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::wire::attr::{emit, NLA_F_NESTED};
use crate::wire::ctattr::{counters, ip, proto, tuple};
use crate::wire::kind::PacketAttr;

// ---------------------------------------------------------------------------------------
// Entries captured from the kernel (Linux 6.18.44, x86_64, little-endian).
//
// How: in a private network namespace (`unshare -n`, `ip link set lo up`), with
// `net.netfilter.nf_conntrack_acct = 1` set inside it (the setting is per namespace), and
// this ruleset:
//
//     table inet t {
//         chain raw_out {
//             type filter hook output priority raw; policy accept;
//             udp dport 5353 ct zone set 7
//             udp sport 5353 ct zone set 7
//         }
//         chain out {
//             type filter hook output priority filter; policy accept;
//             ct state new,established accept
//         }
//         chain mangle_out {
//             type filter hook output priority mangle; policy accept;
//             tcp dport 8080 ct mark set 0x2a
//             tcp dport 8080 ct label set 5
//         }
//     }
//
// traffic on loopback: a TCP connection from 127.0.0.1:40000 to a listener on
// 127.0.0.1:8080, "hello" sent and "world!" answered, the connection left open; a UDP
// datagram "ping" from 127.0.0.1:40001 to 127.0.0.1:5353 answered with "pong"; an ICMP echo
// request (id 0x1234, sequence 1) to 127.0.0.1 and an ICMPv6 one (id 0x4321, sequence 7) to
// ::1 from raw sockets, both answered by the kernel. Then, on a NETLINK_NETFILTER socket,
// one ctnetlink dump request: nlmsg_type (NFNL_SUBSYS_CTNETLINK 1) << 8 | IPCTNL_MSG_CT_GET
// (1) = 0x0101, flags NLM_F_REQUEST | NLM_F_DUMP, nfgenmsg family AF_UNSPEC. Each fixture
// is the attributes of one reply message, after its nfgenmsg, byte for byte. NFLOG's
// `NFULA_CT` holds the same attributes, built by the same ctnetlink helpers, less `CTA_USE`.

/// The TCP connection 127.0.0.1:40000 -> 127.0.0.1:8080, ESTABLISHED and ASSURED, mark 42
/// and label 5 from the mangle chain, 4 packets / 221 bytes out and 3 / 170 back
/// (`/proc/net/nf_conntrack`, abridged: `tcp 6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1
/// sport=40000 dport=8080 packets=4 bytes=221 src=127.0.0.1 dst=127.0.0.1 sport=8080
/// dport=40000 packets=3 bytes=170 [ASSURED] mark=42 zone=0`). Top-level types in order:
/// TUPLE_ORIG, TUPLE_REPLY, STATUS, MARK, ID, USE, TIMEOUT, PROTOINFO, COUNTERS_ORIG,
/// COUNTERS_REPLY, LABELS.
pub(crate) static TCP_ESTABLISHED: [u8; 268] = [
    0x34, 0x00, 0x01, 0x80, 0x14, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, //
    0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x7f, 0x00, 0x00, 0x01, //
    0x1c, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x02, 0x00, 0x9c, 0x40, 0x00, 0x00, 0x06, 0x00, 0x03, 0x00, //
    0x1f, 0x90, 0x00, 0x00, 0x34, 0x00, 0x02, 0x80, 0x14, 0x00, 0x01, 0x80, //
    0x08, 0x00, 0x01, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, //
    0x7f, 0x00, 0x00, 0x01, 0x1c, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, //
    0x06, 0x00, 0x00, 0x00, 0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, //
    0x06, 0x00, 0x03, 0x00, 0x9c, 0x40, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00, //
    0x00, 0x00, 0x00, 0x0e, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x2a, //
    0x08, 0x00, 0x0c, 0x00, 0x2a, 0x4b, 0x33, 0xd2, 0x08, 0x00, 0x0b, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x07, 0x00, 0x00, 0x06, 0x97, 0x7f, //
    0x30, 0x00, 0x04, 0x80, 0x2c, 0x00, 0x01, 0x80, 0x05, 0x00, 0x01, 0x00, //
    0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x00, //
    0x05, 0x00, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, //
    0x23, 0x00, 0x00, 0x00, 0x06, 0x00, 0x05, 0x00, 0x23, 0x00, 0x00, 0x00, //
    0x1c, 0x00, 0x09, 0x80, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x04, 0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0xdd, 0x1c, 0x00, 0x0a, 0x80, 0x0c, 0x00, 0x01, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x0c, 0x00, 0x02, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xaa, 0x14, 0x00, 0x16, 0x00, //
    0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
];

/// The UDP exchange 127.0.0.1:40001 -> 127.0.0.1:5353 and back, in zone 7 from the raw
/// chain (`/proc/net/nf_conntrack`, abridged: `udp 17 29 src=127.0.0.1 dst=127.0.0.1 sport=40001 dport=5353 packets=1 bytes=32
/// ... sport=5353 dport=40001 packets=1 bytes=32 mark=0 zone=7`). Types: TUPLE_ORIG,
/// TUPLE_REPLY, ZONE, STATUS, MARK, ID, USE, TIMEOUT, COUNTERS_ORIG, COUNTERS_REPLY.
static UDP_ZONE_7: [u8; 208] = [
    0x34, 0x00, 0x01, 0x80, 0x14, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, //
    0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x7f, 0x00, 0x00, 0x01, //
    0x1c, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, 0x11, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x02, 0x00, 0x9c, 0x41, 0x00, 0x00, 0x06, 0x00, 0x03, 0x00, //
    0x14, 0xe9, 0x00, 0x00, 0x34, 0x00, 0x02, 0x80, 0x14, 0x00, 0x01, 0x80, //
    0x08, 0x00, 0x01, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, //
    0x7f, 0x00, 0x00, 0x01, 0x1c, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, //
    0x11, 0x00, 0x00, 0x00, 0x06, 0x00, 0x02, 0x00, 0x14, 0xe9, 0x00, 0x00, //
    0x06, 0x00, 0x03, 0x00, 0x9c, 0x41, 0x00, 0x00, 0x06, 0x00, 0x12, 0x00, //
    0x00, 0x07, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0a, //
    0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0c, 0x00, //
    0xb8, 0x43, 0xcc, 0xa2, 0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x1d, 0x1c, 0x00, 0x09, 0x80, //
    0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, //
    0x1c, 0x00, 0x0a, 0x80, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x20, //
];

/// The ICMPv6 echo ::1 -> ::1 (id 0x4321) and its reply (abridged: `icmpv6 58 29 src=::1 dst=::1
/// type=128 code=0 id=17185 packets=1 bytes=56 ... type=129 code=0 id=17185 packets=1
/// bytes=56`). Types: TUPLE_ORIG, TUPLE_REPLY, STATUS, MARK, ID, USE, TIMEOUT,
/// COUNTERS_ORIG, COUNTERS_REPLY.
static ICMPV6_ECHO: [u8; 264] = [
    0x54, 0x00, 0x01, 0x80, 0x2c, 0x00, 0x01, 0x80, 0x14, 0x00, 0x03, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x14, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x24, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, 0x3a, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x07, 0x00, 0x43, 0x21, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00, //
    0x80, 0x00, 0x00, 0x00, 0x05, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x54, 0x00, 0x02, 0x80, 0x2c, 0x00, 0x01, 0x80, 0x14, 0x00, 0x03, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x14, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x24, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, 0x3a, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x07, 0x00, 0x43, 0x21, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00, //
    0x81, 0x00, 0x00, 0x00, 0x05, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x08, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0c, 0x00, 0xb5, 0x14, 0x72, 0xb7, //
    0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x07, 0x00, //
    0x00, 0x00, 0x00, 0x1d, 0x1c, 0x00, 0x09, 0x80, 0x0c, 0x00, 0x01, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x00, 0x02, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x1c, 0x00, 0x0a, 0x80, //
    0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, //
];

/// The ICMP echo 127.0.0.1 -> 127.0.0.1 (id 0x1234) and its reply (abridged: `icmp 1 29
/// src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=4660 packets=1 bytes=36 ... type=0 code=0
/// id=4660 packets=1 bytes=36`). Types as for ICMPv6.
static ICMP_ECHO: [u8; 216] = [
    0x3c, 0x00, 0x01, 0x80, 0x14, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, //
    0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x7f, 0x00, 0x00, 0x01, //
    0x24, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x04, 0x00, 0x12, 0x34, 0x00, 0x00, 0x05, 0x00, 0x05, 0x00, //
    0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x3c, 0x00, 0x02, 0x80, 0x14, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, //
    0x7f, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x7f, 0x00, 0x00, 0x01, //
    0x24, 0x00, 0x02, 0x80, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x04, 0x00, 0x12, 0x34, 0x00, 0x00, 0x05, 0x00, 0x05, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x08, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0c, 0x00, 0x0f, 0x99, 0x4a, 0x97, //
    0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x07, 0x00, //
    0x00, 0x00, 0x00, 0x1d, 0x1c, 0x00, 0x09, 0x80, 0x0c, 0x00, 0x01, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x00, 0x02, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x1c, 0x00, 0x0a, 0x80, //
    0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, //
];

/// Converts attributes written by a little-endian host to this host's order, nests
/// (`NLA_F_NESTED`, which the kernel sets on every ctnetlink nest) included. The identity
/// on little-endian machines.
pub(crate) fn host_order(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    swap_headers(&mut out);
    out
}

fn swap_headers(bytes: &mut [u8]) {
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let len = usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        let raw_type = u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]);
        bytes[at..at + 2].copy_from_slice(&(len as u16).to_ne_bytes());
        bytes[at + 2..at + 4].copy_from_slice(&raw_type.to_ne_bytes());
        if len < 4 || at + len > bytes.len() {
            return;
        }
        if raw_type & NLA_F_NESTED != 0 {
            swap_headers(&mut bytes[at + 4..at + len]);
        }
        at += align4(len);
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
}

const LOCALHOST: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
const LOCALHOST6: Option<IpAddr> = Some(IpAddr::V6(Ipv6Addr::LOCALHOST));

fn kinds(ct: &Conntrack<'_>) -> Vec<u16> {
    ct.attributes().map(|a| a.kind()).collect()
}

/// A tuple with every field `None`.
fn empty_tuple() -> Tuple {
    Tuple::read(&[])
}

/// Emits one attribute into a new vector.
fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    emit(&mut out, kind, value);
    out
}

/// Emits a nest of the given attributes.
fn nest(kind: u16, inner: &[Vec<u8>]) -> Vec<u8> {
    attr(kind | NLA_F_NESTED, &inner.concat())
}

/// Calls every accessor, formats everything, walks every nest.
fn touch_everything(ct: &Conntrack<'_>) {
    let _ = (ct.as_bytes(), ct.id(), ct.status(), ct.mark(), ct.zone());
    let _ = (ct.timeout(), ct.use_count(), ct.labels());
    let _ = (ct.original(), ct.reply(), ct.master());
    let _ = (ct.counters_original(), ct.counters_reply());
    for &a in CtAttr::ALL {
        let _ = ct.attribute(a);
    }
    for a in ct.attributes() {
        for b in a.nested().map_while(Result::ok) {
            let _ = b.nested().count();
        }
    }
    if let Some(status) = ct.status() {
        let _ = (
            status.to_string(),
            status.names().count(),
            status.unknown_bits(),
        );
    }
    let _ = format!("{ct:?}");
}

// ---------------------------------------------------------------------------------------
// The captured entries.

#[test]
fn tcp_established_every_accessor() {
    let bytes = host_order(&TCP_ESTABLISHED);
    let ct = Conntrack::parse(&bytes).unwrap();
    assert_eq!(kinds(&ct), [1, 2, 3, 8, 12, 11, 7, 4, 9, 10, 22]);
    assert_eq!(ct.id(), Some(0x2a4b_33d2));
    assert_eq!(
        ct.status(),
        Some(Status::SEEN_REPLY | Status::ASSURED | Status::CONFIRMED)
    );
    assert_eq!(ct.status().unwrap().bits(), 0xe);
    assert_eq!(ct.mark(), Some(42));
    assert_eq!(ct.zone(), None);
    assert_eq!(ct.timeout(), Some(431_999));
    assert_eq!(ct.use_count(), Some(1));
    let mut label_5 = [0u8; 16];
    label_5[0] = 1 << 5;
    assert_eq!(ct.labels(), Some(&label_5[..]));
    assert_eq!(ct.master(), None);
    let original = ct.original().unwrap();
    assert_eq!(
        original,
        Tuple {
            src: LOCALHOST,
            dst: LOCALHOST,
            protocol: Some(6),
            src_port: Some(40000),
            dst_port: Some(8080),
            ..empty_tuple()
        }
    );
    let reply = ct.reply().unwrap();
    assert_eq!((reply.src_port, reply.dst_port), (Some(8080), Some(40000)));
    assert_eq!(
        (reply.protocol, reply.icmp_type, reply.zone),
        (Some(6), None, None)
    );
    assert_eq!(
        ct.counters_original(),
        Some(Counters {
            packets: 4,
            bytes: 221
        })
    );
    assert_eq!(
        ct.counters_reply(),
        Some(Counters {
            packets: 3,
            bytes: 170
        })
    );
    // CTA_PROTOINFO > CTA_PROTOINFO_TCP > CTA_PROTOINFO_TCP_STATE: 3, TCP_CONNTRACK_ESTABLISHED.
    let protoinfo = ct.attribute(CtAttr::Protoinfo).unwrap();
    let tcp = Attributes::new(protoinfo).next().unwrap().unwrap();
    let state = tcp.nested().next().unwrap().unwrap();
    assert_eq!(
        (tcp.kind(), state.kind(), state.value()),
        (1, 1, &[3u8][..])
    );
    touch_everything(&ct);
}

#[test]
fn udp_in_zone_7() {
    let bytes = host_order(&UDP_ZONE_7);
    let ct = Conntrack::parse(&bytes).unwrap();
    assert_eq!(kinds(&ct), [1, 2, 18, 3, 8, 12, 11, 7, 9, 10]);
    assert_eq!(ct.zone(), Some(7));
    assert_eq!(ct.id(), Some(0xb843_cca2));
    assert_eq!(ct.status(), Some(Status::SEEN_REPLY | Status::CONFIRMED));
    assert!(!ct.status().unwrap().contains(Status::ASSURED));
    assert_eq!(ct.mark(), Some(0));
    assert_eq!(
        (ct.timeout(), ct.use_count(), ct.labels()),
        (Some(29), Some(1), None)
    );
    let original = ct.original().unwrap();
    assert_eq!((original.src, original.dst), (LOCALHOST, LOCALHOST));
    assert_eq!(original.protocol, Some(17));
    assert_eq!(
        (original.src_port, original.dst_port),
        (Some(40001), Some(5353))
    );
    // A zone for both directions is CTA_ZONE, not CTA_TUPLE_ZONE.
    assert_eq!(original.zone, None);
    let reply = ct.reply().unwrap();
    assert_eq!((reply.src_port, reply.dst_port), (Some(5353), Some(40001)));
    let one = Counters {
        packets: 1,
        bytes: 32,
    };
    assert_eq!(
        (ct.counters_original(), ct.counters_reply()),
        (Some(one), Some(one))
    );
    touch_everything(&ct);
}

#[test]
fn icmpv6_echo_has_v6_addresses_and_icmp_fields() {
    let bytes = host_order(&ICMPV6_ECHO);
    let ct = Conntrack::parse(&bytes).unwrap();
    assert_eq!(kinds(&ct), [1, 2, 3, 8, 12, 11, 7, 9, 10]);
    assert_eq!(ct.id(), Some(0xb514_72b7));
    assert_eq!(
        ct.original(),
        Some(Tuple {
            src: LOCALHOST6,
            dst: LOCALHOST6,
            protocol: Some(58),
            icmp_id: Some(0x4321),
            icmp_type: Some(128),
            icmp_code: Some(0),
            ..empty_tuple()
        })
    );
    let reply = ct.reply().unwrap();
    assert_eq!((reply.icmp_type, reply.icmp_id), (Some(129), Some(0x4321)));
    assert_eq!((reply.src_port, reply.dst_port), (None, None));
    let one = Counters {
        packets: 1,
        bytes: 56,
    };
    assert_eq!(
        (ct.counters_original(), ct.counters_reply()),
        (Some(one), Some(one))
    );
    assert_eq!((ct.zone(), ct.labels(), ct.mark()), (None, None, Some(0)));
    touch_everything(&ct);
}

#[test]
fn icmp_echo_has_id_type_and_code() {
    let bytes = host_order(&ICMP_ECHO);
    let ct = Conntrack::parse(&bytes).unwrap();
    assert_eq!(ct.id(), Some(0x0f99_4a97));
    assert_eq!(ct.status(), Some(Status::from_bits(0xa)));
    assert_eq!(ct.timeout(), Some(29));
    assert_eq!(
        ct.original(),
        Some(Tuple {
            src: LOCALHOST,
            dst: LOCALHOST,
            protocol: Some(1),
            icmp_id: Some(0x1234),
            icmp_type: Some(8),
            icmp_code: Some(0),
            ..empty_tuple()
        })
    );
    // The reply tuple holds the type of the answer: 0, echo reply.
    let reply = ct.reply().unwrap();
    assert_eq!((reply.icmp_type, reply.icmp_code), (Some(0), Some(0)));
    assert_eq!(
        ct.counters_original(),
        Some(Counters {
            packets: 1,
            bytes: 36
        })
    );
    touch_everything(&ct);
}

#[test]
fn debug_shows_the_entry() {
    let bytes = host_order(&TCP_ESTABLISHED);
    let text = format!("{:?}", Conntrack::parse(&bytes).unwrap());
    assert!(text.starts_with("Conntrack { id: 709571538, status: Status(SEEN_REPLY|ASSURED|CONFIRMED), original: Tuple { src: Some(127.0.0.1)"), "{text}");
    assert!(text.contains("mark: 42"), "{text}");
}

#[test]
fn from_packet_reads_nfula_ct_and_ct_info() {
    let ct_bytes = host_order(&TCP_ESTABLISHED);
    let mut body = vec![2, 0, 0, 5];
    emit(&mut body, PacketAttr::PacketHdr as u16, &[0x08, 0x00, 3, 0]);
    emit(&mut body, PacketAttr::Ct as u16 | NLA_F_NESTED, &ct_bytes);
    emit(&mut body, PacketAttr::CtInfo as u16, &3u32.to_be_bytes());
    let packet = Packet::parse(&body).unwrap();
    let ct = Conntrack::from_packet(&packet).unwrap().unwrap();
    assert_eq!(ct.id(), Some(0x2a4b_33d2));
    assert_eq!(ct.as_bytes(), &ct_bytes[..]);
    assert_eq!(CtInfo::from_packet(&packet), Some(CtInfo::EstablishedReply));

    let mut plain = vec![2, 0, 0, 5];
    emit(
        &mut plain,
        PacketAttr::PacketHdr as u16,
        &[0x08, 0x00, 3, 0],
    );
    let packet = Packet::parse(&plain).unwrap();
    assert_eq!(
        Conntrack::from_packet(&packet).map(|c| c.is_none()),
        Ok(true)
    );
    assert_eq!(CtInfo::from_packet(&packet), None);
}

#[test]
fn from_packet_with_a_bad_entry_is_an_error() {
    let mut bad = host_order(&UDP_ZONE_7);
    // CTA_ZONE (at offset 104) with a 1-byte value.
    assert_eq!(u16::from_ne_bytes([bad[106], bad[107]]), 18);
    bad[104..106].copy_from_slice(&5u16.to_ne_bytes());
    let mut body = vec![2, 0, 0, 5];
    emit(&mut body, PacketAttr::PacketHdr as u16, &[0x08, 0x00, 3, 0]);
    emit(&mut body, PacketAttr::Ct as u16, &bad);
    let packet = Packet::parse(&body).unwrap();
    let e = Conntrack::from_packet(&packet).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conntrack attribute CTA_ZONE: truncated value: needs 2 bytes, 1 left"
    );
}

// ---------------------------------------------------------------------------------------
// Hand-built entries: what the captures lack.

/// An IPv6 TCP tuple with a zone for this direction only.
fn tcp6_tuple(kind: u16, src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16) -> Vec<u8> {
    nest(
        kind,
        &[
            nest(
                tuple::IP,
                &[
                    attr(ip::V6_SRC, &src.octets()),
                    attr(ip::V6_DST, &dst.octets()),
                ],
            ),
            nest(
                tuple::PROTO,
                &[
                    attr(proto::NUM, &[6]),
                    attr(proto::SRC_PORT, &sport.to_be_bytes()),
                    attr(proto::DST_PORT, &dport.to_be_bytes()),
                ],
            ),
            attr(tuple::ZONE, &3u16.to_be_bytes()),
        ],
    )
}

#[test]
fn hand_built_ipv6_tuple_labels_zone_counters_master() {
    let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let b: Ipv6Addr = "2001:db8::2".parse().unwrap();
    let labels: Vec<u8> = (0..16).collect();
    let bytes = [
        tcp6_tuple(CtAttr::TupleOrig as u16, a, b, 50000, 443),
        tcp6_tuple(CtAttr::TupleReply as u16, b, a, 443, 50000),
        tcp6_tuple(CtAttr::TupleMaster as u16, a, b, 50001, 21),
        attr(CtAttr::Zone as u16, &9u16.to_be_bytes()),
        attr(CtAttr::Labels as u16, &labels),
        attr(
            CtAttr::Status as u16,
            &(1u32 | 1 << 3 | 1 << 16).to_be_bytes(),
        ),
        nest(
            CtAttr::CountersOrig as u16,
            &[
                attr(counters::PACKETS, &(1u64 << 40).to_be_bytes()),
                attr(counters::BYTES, &u64::MAX.to_be_bytes()),
            ],
        ),
        // Old kernels' 32-bit counters.
        nest(
            CtAttr::CountersReply as u16,
            &[
                attr(counters::PACKETS32, &7u32.to_be_bytes()),
                attr(counters::BYTES32, &700u32.to_be_bytes()),
            ],
        ),
    ]
    .concat();
    let ct = Conntrack::parse(&bytes).unwrap();
    let original = ct.original().unwrap();
    assert_eq!(
        original,
        Tuple {
            src: Some(IpAddr::V6(a)),
            dst: Some(IpAddr::V6(b)),
            protocol: Some(6),
            src_port: Some(50000),
            dst_port: Some(443),
            zone: Some(3),
            ..empty_tuple()
        }
    );
    assert_eq!(ct.reply().unwrap().src, Some(IpAddr::V6(b)));
    assert_eq!(ct.master().unwrap().dst_port, Some(21));
    assert_eq!(ct.zone(), Some(9));
    assert_eq!(ct.labels(), Some(&labels[..]));
    let status = ct.status().unwrap();
    assert!(status.contains(Status::EXPECTED | Status::CONFIRMED));
    assert_eq!(status.unknown_bits(), 1 << 16);
    assert_eq!(status.to_string(), "EXPECTED|CONFIRMED|0x10000");
    assert_eq!(
        ct.counters_original(),
        Some(Counters {
            packets: 1 << 40,
            bytes: u64::MAX
        })
    );
    assert_eq!(
        ct.counters_reply(),
        Some(Counters {
            packets: 7,
            bytes: 700
        })
    );
    assert_eq!(
        (ct.id(), ct.mark(), ct.timeout(), ct.use_count()),
        (None, None, None, None)
    );
    touch_everything(&ct);
}

#[test]
fn counters_need_packets_and_bytes() {
    let bytes = nest(
        CtAttr::CountersOrig as u16,
        &[attr(counters::PACKETS, &5u64.to_be_bytes())],
    );
    let ct = Conntrack::parse(&bytes).unwrap();
    assert!(ct.attribute(CtAttr::CountersOrig).is_some());
    assert_eq!(ct.counters_original(), None);
}

#[test]
fn unknown_types_are_kept_and_the_first_of_two_counts() {
    let bytes = [
        attr(99, &[1, 2, 3]),
        attr(CtAttr::Mark as u16, &1u32.to_be_bytes()),
        attr(CtAttr::Mark as u16, &2u32.to_be_bytes()),
        // An unknown type inside a tuple, and an unknown nested in CTA_TUPLE_IP.
        nest(
            CtAttr::TupleOrig as u16,
            &[
                attr(7, &[0; 3]),
                nest(tuple::IP, &[attr(9, &[]), attr(ip::V4_SRC, &[10, 0, 0, 1])]),
            ],
        ),
    ]
    .concat();
    let ct = Conntrack::parse(&bytes).unwrap();
    assert_eq!(kinds(&ct), [99, 8, 8, 1]);
    assert_eq!(ct.mark(), Some(1));
    assert_eq!(ct.original().unwrap().src, v4(10, 0, 0, 1));
    assert_eq!(ct.original().unwrap().dst, None);
}

#[test]
fn empty_entry_has_nothing() {
    let ct = Conntrack::parse(&[]).unwrap();
    assert_eq!(ct.attributes().count(), 0);
    assert_eq!((ct.id(), ct.status(), ct.original()), (None, None, None));
    assert_eq!(format!("{ct:?}"), "Conntrack { .. }");
}

// ---------------------------------------------------------------------------------------
// Malformed entries: errors that name the attribute.

fn conntrack_error(path: &[u16], source: ParseError) -> ParseError {
    ParseError::Conntrack {
        path: path.to_vec(),
        source: Box::new(source),
    }
}

#[test]
fn top_level_length_lie_names_the_attribute() {
    let mut bytes = attr(CtAttr::Status as u16, &0xeu32.to_be_bytes());
    bytes[..2].copy_from_slice(&300u16.to_ne_bytes());
    let e = Conntrack::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        conntrack_error(
            &[3],
            ParseError::AttributeLength {
                kind: 3,
                declared: 300,
                available: 8
            }
        )
    );
    assert_eq!(
        e.to_string(),
        "conntrack attribute CTA_STATUS declares 300 bytes but 8 are left \
         (at least 4 are needed)"
    );
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn length_lie_inside_a_real_tuple_names_the_whole_path() {
    let mut bytes = host_order(&TCP_ESTABLISHED);
    // CTA_TUPLE_ORIG (0) > CTA_TUPLE_IP (4) > CTA_IP_V4_SRC (8): claim 48 bytes.
    assert_eq!(u16::from_ne_bytes([bytes[10], bytes[11]]), ip::V4_SRC);
    bytes[8..10].copy_from_slice(&48u16.to_ne_bytes());
    let e = Conntrack::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        conntrack_error(
            &[1, 1, 1],
            ParseError::AttributeLength {
                kind: 1,
                declared: 48,
                available: 16
            }
        )
    );
    assert_eq!(
        e.to_string(),
        "conntrack attribute CTA_TUPLE_ORIG > CTA_TUPLE_IP > CTA_IP_V4_SRC declares 48 bytes \
         but 16 are left (at least 4 are needed)"
    );
}

#[test]
fn nest_longer_than_the_entry_is_an_error() {
    let mut bytes = host_order(&TCP_ESTABLISHED);
    // CTA_TUPLE_REPLY starts at 52; make it run past the end.
    assert_eq!(
        u16::from_ne_bytes([bytes[54], bytes[55]]) & !NLA_F_NESTED,
        2
    );
    bytes[52..54].copy_from_slice(&1000u16.to_ne_bytes());
    let e = Conntrack::parse(&bytes).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("conntrack attribute CTA_TUPLE_REPLY declares 1000 bytes"),
        "{e}"
    );
}

/// Bytes, the path of the short attribute, the size needed, the size found, the message.
type ShortCase = (Vec<u8>, &'static [u16], usize, usize, &'static str);

#[test]
fn short_values_name_the_attribute_and_sizes() {
    let cases: Vec<ShortCase> = vec![
        (
            nest(1, &[nest(tuple::IP, &[attr(ip::V6_SRC, &[0; 4])])]),
            &[1, 1, 3],
            16,
            4,
            "conntrack attribute CTA_TUPLE_ORIG > CTA_TUPLE_IP > CTA_IP_V6_SRC: \
             truncated value: needs 16 bytes, 4 left",
        ),
        (
            nest(2, &[nest(tuple::PROTO, &[attr(proto::SRC_PORT, &[1])])]),
            &[2, 2, 2],
            2,
            1,
            "conntrack attribute CTA_TUPLE_REPLY > CTA_TUPLE_PROTO > CTA_PROTO_SRC_PORT: \
             truncated value: needs 2 bytes, 1 left",
        ),
        (
            nest(14, &[nest(tuple::PROTO, &[attr(proto::NUM, &[])])]),
            &[14, 2, 1],
            1,
            0,
            "conntrack attribute CTA_TUPLE_MASTER > CTA_TUPLE_PROTO > CTA_PROTO_NUM: \
             truncated value: needs 1 bytes, 0 left",
        ),
        (
            nest(9, &[attr(counters::BYTES, &[0; 4])]),
            &[9, 2],
            8,
            4,
            "conntrack attribute CTA_COUNTERS_ORIG > CTA_COUNTERS_BYTES: \
             truncated value: needs 8 bytes, 4 left",
        ),
        (
            nest(1, &[attr(tuple::ZONE, &[0])]),
            &[1, 3],
            2,
            1,
            "conntrack attribute CTA_TUPLE_ORIG > CTA_TUPLE_ZONE: \
             truncated value: needs 2 bytes, 1 left",
        ),
        (
            attr(CtAttr::Id as u16, &[0; 3]),
            &[12],
            4,
            3,
            "conntrack attribute CTA_ID: truncated value: needs 4 bytes, 3 left",
        ),
    ];
    for (bytes, path, needed, available, text) in cases {
        let e = Conntrack::parse(&bytes).unwrap_err();
        assert_eq!(
            e,
            conntrack_error(
                path,
                ParseError::Truncated {
                    what: Header::Value,
                    needed,
                    available
                }
            )
        );
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn cut_headers_name_the_nest_that_holds_them() {
    // CTA_TUPLE_REPLY > CTA_TUPLE_PROTO holding two stray bytes.
    let bytes = nest(2, &[attr(tuple::PROTO | NLA_F_NESTED, &[5, 0])]);
    let e = Conntrack::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        conntrack_error(
            &[2, 2],
            ParseError::Truncated {
                what: Header::Attribute,
                needed: 4,
                available: 2
            }
        )
    );
    assert_eq!(
        e.to_string(),
        "conntrack attribute CTA_TUPLE_REPLY > CTA_TUPLE_PROTO: truncated attribute header: \
         needs 4 bytes, 2 left"
    );
    let e = Conntrack::parse(&[8, 0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conntrack entry (NFULA_CT): truncated attribute header: needs 4 bytes, 2 left"
    );
}

#[test]
fn errors_in_other_nests_and_unknown_types_are_named() {
    // A length under 4 inside CTA_PROTOINFO > (CTA_PROTOINFO_TCP's header says 2).
    let mut inner = attr(1 | NLA_F_NESTED, &[]);
    inner[..2].copy_from_slice(&2u16.to_ne_bytes());
    let e = Conntrack::parse(&attr(4 | NLA_F_NESTED, &inner)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conntrack attribute CTA_PROTOINFO > CTA_PROTOINFO_TCP declares 2 bytes but 4 are \
         left (at least 4 are needed)"
    );
    // An unknown top-level type with a lying length.
    let mut bytes = attr(77, &[0; 4]);
    bytes[..2].copy_from_slice(&9u16.to_ne_bytes());
    let e = Conntrack::parse(&bytes).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("conntrack attribute type 77 declares 9 bytes"));
    // An unknown type inside a tuple.
    let mut bad = attr(6, &[0; 4]);
    bad[..2].copy_from_slice(&64u16.to_ne_bytes());
    let e = Conntrack::parse(&attr(1 | NLA_F_NESTED, &bad)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("conntrack attribute CTA_TUPLE_ORIG > type 6 declares 64 bytes"),
        "{e}"
    );
}

#[test]
fn nests_are_checked_without_the_nested_flag() {
    // Older kernels sent these nests without NLA_F_NESTED: the types decide, not the flag.
    let mut bytes = nest(1, &[nest(tuple::IP, &[attr(ip::V4_SRC, &[0; 4])])]);
    let raw = u16::from_ne_bytes([bytes[2], bytes[3]]) & !NLA_F_NESTED;
    bytes[2..4].copy_from_slice(&raw.to_ne_bytes());
    assert!(Conntrack::parse(&bytes).is_ok());
    bytes[4..6].copy_from_slice(&40u16.to_ne_bytes());
    assert!(Conntrack::parse(&bytes).is_err());
}

// ---------------------------------------------------------------------------------------
// CtInfo and Status.

#[test]
fn ct_info_numbers_and_names() {
    let all = [
        (0, CtInfo::Established, "ESTABLISHED", false),
        (1, CtInfo::Related, "RELATED", false),
        (2, CtInfo::New, "NEW", false),
        (3, CtInfo::EstablishedReply, "ESTABLISHED_REPLY", true),
        (4, CtInfo::RelatedReply, "RELATED_REPLY", true),
        (7, CtInfo::Untracked, "UNTRACKED", false),
    ];
    for (number, info, name, reply) in all {
        assert_eq!(CtInfo::from_number(number), info);
        assert_eq!(info.number(), number);
        assert_eq!(info.name(), Some(name));
        assert_eq!(info.to_string(), name);
        assert_eq!(info.is_reply(), reply);
    }
    // IP_CT_NUMBER (5, userspace's IP_CT_NEW_REPLY) is a count, not a state.
    assert_eq!(CtInfo::from_number(5), CtInfo::Other(5));
    assert_eq!(CtInfo::Other(5).number(), 5);
    assert_eq!(CtInfo::Other(5).name(), None);
    assert_eq!(CtInfo::from_number(99).to_string(), "99");
}

#[test]
fn status_bits_match_the_kernel() {
    let expected = [
        ("EXPECTED", 0),
        ("SEEN_REPLY", 1),
        ("ASSURED", 2),
        ("CONFIRMED", 3),
        ("SRC_NAT", 4),
        ("DST_NAT", 5),
        ("SEQ_ADJUST", 6),
        ("SRC_NAT_DONE", 7),
        ("DST_NAT_DONE", 8),
        ("DYING", 9),
        ("FIXED_TIMEOUT", 10),
        ("TEMPLATE", 11),
        ("UNTRACKED", 12),
        ("HELPER", 13),
        ("OFFLOAD", 14),
        ("HW_OFFLOAD", 15),
    ];
    assert_eq!(Status::NAMED.len(), expected.len());
    for ((status, name), (want_name, bit)) in Status::NAMED.iter().zip(expected) {
        assert_eq!((*name, status.bits()), (want_name, 1 << bit));
    }
    assert_eq!(Status::from_bits(0xffff).unknown_bits(), 0);
    assert_eq!(Status::default().to_string(), "0");
    assert!(Status::default().is_empty());
    assert_eq!(Status::from_bits(1 << 20).to_string(), "0x100000");
    let s = Status::SEEN_REPLY | Status::ASSURED;
    assert_eq!((s & Status::ASSURED), Status::ASSURED);
    assert_eq!(format!("{s:?}"), "Status(SEEN_REPLY|ASSURED)");
    assert_eq!(s.names().collect::<Vec<_>>(), ["SEEN_REPLY", "ASSURED"]);
}

#[test]
fn ct_attr_numbers_and_names() {
    assert_eq!(CtAttr::ALL.len(), 26);
    for (i, a) in CtAttr::ALL.iter().enumerate() {
        assert_eq!(*a as usize, i + 1);
        assert_eq!(CtAttr::from_number(*a as u16), Some(*a));
        assert!(a.name().starts_with("CTA_"));
    }
    assert_eq!(CtAttr::StatusMask.to_string(), "CTA_STATUS_MASK (26)");
    assert_eq!(CtAttr::from_number(0), None);
    assert_eq!(CtAttr::from_number(27), None);
}

// ---------------------------------------------------------------------------------------
// Arbitrary input.

/// Attributes nested up to three levels with arbitrary types and values.
fn arbitrary_entry() -> impl Strategy<Value = Vec<u8>> {
    let leaf = (0u16..30, vec(any::<u8>(), 0..20)).prop_map(|(k, v)| attr(k, &v));
    let level2 = (0u16..12, vec(leaf.clone(), 0..4)).prop_map(|(k, inner)| nest(k, &inner));
    let level1 =
        (0u16..30, vec(prop_oneof![leaf, level2], 0..4)).prop_map(|(k, inner)| nest(k, &inner));
    vec(level1, 0..6).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        match Conntrack::parse(&bytes) {
            Ok(ct) => touch_everything(&ct),
            Err(e) => { let _ = e.to_string(); }
        }
    }

    #[test]
    fn structured_entries_never_panic(bytes in arbitrary_entry(), cut in 0usize..600) {
        for bytes in [&bytes[..], &bytes[..cut.min(bytes.len())]] {
            match Conntrack::parse(bytes) {
                Ok(ct) => touch_everything(&ct),
                Err(e) => { let _ = e.to_string(); }
            }
        }
    }

    #[test]
    fn real_entries_with_one_byte_changed_never_panic(
        which in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>(),
    ) {
        let fixtures: [&[u8]; 4] = [&TCP_ESTABLISHED, &UDP_ZONE_7, &ICMPV6_ECHO, &ICMP_ECHO];
        let mut bytes = host_order(fixtures[which]);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        match Conntrack::parse(&bytes) {
            Ok(ct) => touch_everything(&ct),
            Err(e) => { let _ = e.to_string(); }
        }
    }

    #[test]
    fn tuples_round_trip(
        src in any::<[u8; 4]>(), dst in any::<[u8; 16]>(), protocol in any::<u8>(),
        sport in any::<u16>(), dport in any::<u16>(), zone in any::<u16>(),
        packets in any::<u64>(), bytes_ in any::<u64>(),
    ) {
        let bytes = [
            nest(CtAttr::TupleOrig as u16, &[
                nest(tuple::IP, &[attr(ip::V4_SRC, &src), attr(ip::V6_DST, &dst)]),
                nest(tuple::PROTO, &[
                    attr(proto::NUM, &[protocol]),
                    attr(proto::SRC_PORT, &sport.to_be_bytes()),
                    attr(proto::DST_PORT, &dport.to_be_bytes()),
                ]),
            ]),
            attr(CtAttr::Zone as u16, &zone.to_be_bytes()),
            nest(CtAttr::CountersReply as u16, &[
                attr(counters::BYTES, &bytes_.to_be_bytes()),
                attr(counters::PACKETS, &packets.to_be_bytes()),
            ]),
        ].concat();
        let ct = Conntrack::parse(&bytes).unwrap();
        let t = ct.original().unwrap();
        prop_assert_eq!(t.src, Some(IpAddr::V4(Ipv4Addr::from(src))));
        prop_assert_eq!(t.dst, Some(IpAddr::V6(Ipv6Addr::from(dst))));
        prop_assert_eq!((t.protocol, t.src_port, t.dst_port), (Some(protocol), Some(sport), Some(dport)));
        prop_assert_eq!(ct.zone(), Some(zone));
        prop_assert_eq!(ct.counters_reply(), Some(Counters { packets, bytes: bytes_ }));
    }
}
