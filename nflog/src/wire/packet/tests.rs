//! Tests of the packet view on byte fixtures.
//!
//! Hand-built bodies use [`emit`], so their attribute headers are in this host's byte order;
//! the two records captured from the kernel are converted to host order before use.

use super::*;
use crate::wire::attr::{align4, emit, NLA_F_NESTED, NLA_F_NET_BYTEORDER};
use crate::wire::kind::MSG_CONFIG;
use crate::wire::netlink::{emit_header, NLMSG_HDRLEN};

/// Builds a packet message body: nfgenmsg then the given attributes.
fn body(family: u8, group: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = vec![family, 0];
    out.extend_from_slice(&group.to_be_bytes());
    for (kind, value) in attrs {
        emit(&mut out, *kind, value);
    }
    out
}

/// `NFULA_PACKET_HDR` for IPv4 at INPUT.
const HDR_IPV4_INPUT: [u8; 4] = [0x08, 0x00, 1, 0];

/// A body with a valid packet header and the given attributes after it.
fn with_header(attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut all: Vec<(u16, &[u8])> = vec![(1, &HDR_IPV4_INPUT)];
    all.extend_from_slice(attrs);
    body(2, 5, &all)
}

/// `NFULA_HWADDR` as the kernel builds it: `{ be16 hw_addrlen; u16 pad; u8 hw_addr[8] }`.
fn hwaddr_value(declared: u16, addr: &[u8]) -> Vec<u8> {
    let mut v = declared.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(addr);
    v
}

/// Converts a LINKTYPE_NFLOG record written by a little-endian host to this host's order:
/// the TLV headers are swapped (values are big-endian on every host). The identity on
/// little-endian machines.
fn host_order(record: &[u8]) -> Vec<u8> {
    let mut out = record.to_vec();
    let mut at = NFGENMSG_LEN;
    while at + NLA_HDRLEN <= out.len() {
        let len = u16::from_le_bytes([out[at], out[at + 1]]);
        let kind = u16::from_le_bytes([out[at + 2], out[at + 3]]);
        out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        out[at + 2..at + 4].copy_from_slice(&kind.to_ne_bytes());
        at += align4(usize::from(len).max(NLA_HDRLEN));
    }
    out
}

fn kinds(p: &Packet<&[u8]>) -> Vec<u16> {
    p.attributes().map(|a| a.kind()).collect()
}

// ---------------------------------------------------------------------------------------
// Records captured from the kernel (6.18, x86_64, little-endian).

/// Captured with `tcpdump -i nflog:5 -w` in a private network namespace with lo up and
/// `table inet t { chain in { type filter hook input priority 0;
///  udp dport 9999 log prefix "hi" group 5; }; }`,
/// traffic `echo hi > /dev/udp/127.0.0.1/9999` (as root). The pcap record, i.e. the message
/// body: nfgenmsg, then PACKET_HDR, PREFIX, IFINDEX_INDEV, HWADDR, HWTYPE, HWLEN, HWHEADER,
/// TIMESTAMP, PAYLOAD (a 31-byte IPv4/UDP datagram carrying "hi\n").
static INPUT_UDP_HI: [u8; 136] = [
    0x02, 0x00, 0x00, 0x05, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, //
    0x07, 0x00, 0x0a, 0x00, 0x68, 0x69, 0x00, 0x00, 0x08, 0x00, 0x04, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x08, 0x00, 0x00, 0x06, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x0f, 0x00, //
    0x03, 0x04, 0x00, 0x00, 0x06, 0x00, 0x11, 0x00, 0x00, 0x0e, 0x00, 0x00, //
    0x12, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x14, 0x00, 0x03, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x6b, 0x0a, 0x55, 0xcf, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x01, 0x4b, 0x6f, 0x23, 0x00, 0x09, 0x00, 0x45, 0x00, 0x00, 0x1f, //
    0x47, 0x93, 0x40, 0x00, 0x40, 0x11, 0xf5, 0x38, 0x7f, 0x00, 0x00, 0x01, //
    0x7f, 0x00, 0x00, 0x01, 0xc7, 0x04, 0x27, 0x0f, 0x00, 0x0b, 0xfe, 0x1e, //
    0x68, 0x69, 0x0a, 0x00,
];

/// Captured like [`INPUT_UDP_HI`] with
/// `table inet t { chain out { type filter hook output priority 0;
///  udp dport 9999 meta mark set 42 log prefix "out" group 5; }; }`,
/// traffic `setpriv --reuid 1000 --regid 1001 --clear-groups
///  bash -c "echo hi > /dev/udp/127.0.0.1/9999"`. OUTPUT: no timestamp, no hardware
/// attributes, but the socket's uid and gid and the mark the rule set.
static OUTPUT_UDP_MARK_UID: [u8; 88] = [
    0x02, 0x00, 0x00, 0x05, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, //
    0x08, 0x00, 0x0a, 0x00, 0x6f, 0x75, 0x74, 0x00, 0x08, 0x00, 0x05, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x2a, //
    0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x08, 0x00, 0x0e, 0x00, //
    0x00, 0x00, 0x03, 0xe9, 0x23, 0x00, 0x09, 0x00, 0x45, 0x00, 0x00, 0x1f, //
    0x45, 0x3b, 0x40, 0x00, 0x40, 0x11, 0xf7, 0x90, 0x7f, 0x00, 0x00, 0x01, //
    0x7f, 0x00, 0x00, 0x01, 0xe7, 0x98, 0x27, 0x0f, 0x00, 0x0b, 0xfe, 0x1e, //
    0x68, 0x69, 0x0a, 0x00,
];

#[test]
fn kernel_record_input_udp_every_field() {
    let bytes = host_order(&INPUT_UDP_HI);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.as_bytes(), &bytes[..]);
    assert_eq!(p.family(), Family::Ipv4);
    assert_eq!(p.version(), 0);
    assert_eq!(p.group(), 5);
    assert_eq!(p.hw_protocol(), 0x0800);
    assert_eq!(p.hook_number(), 1);
    assert_eq!(p.hook(), Hook::Input);
    assert_eq!(p.prefix_bytes(), Some(&b"hi"[..]));
    assert_eq!(p.prefix().as_deref(), Some("hi"));
    assert_eq!(p.indev(), Some(1), "lo is ifindex 1 in a new namespace");
    assert_eq!(p.outdev(), None);
    assert_eq!(p.physindev(), None);
    assert_eq!(p.physoutdev(), None);
    assert_eq!(p.hwaddr(), Some(&[0u8; 6][..]), "lo has an all-zero MAC");
    assert_eq!(p.hwtype(), Some(772), "ARPHRD_LOOPBACK");
    assert_eq!(p.hwlen(), Some(14));
    let mut eth = [0u8; 14];
    eth[12..].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(
        p.hwheader(),
        Some(&eth[..]),
        "zero MACs then EtherType IPv4"
    );
    // 0x6b0a55cf s, 0x14b6f us: 2026-11-28 04:17:19.084847 UTC.
    assert_eq!(p.timestamp_parts(), Some((1_795_839_439, 84_847)));
    assert_eq!(
        p.timestamp(),
        Some(UNIX_EPOCH + Duration::new(1_795_839_439, 84_847_000))
    );
    let payload = p.payload().unwrap();
    assert_eq!(payload.len(), 31);
    assert_eq!(payload[0], 0x45, "IPv4, 20-byte header");
    assert_eq!(payload[9], 17, "UDP");
    assert_eq!(&payload[12..16], &[127, 0, 0, 1]);
    assert_eq!(&payload[16..20], &[127, 0, 0, 1]);
    assert_eq!(u16::from_be_bytes([payload[22], payload[23]]), 9999);
    assert_eq!(&payload[28..], b"hi\n");
    assert_eq!(p.mark(), None);
    assert_eq!(p.uid(), None);
    assert_eq!(p.gid(), None);
    assert_eq!(p.seq(), None);
    assert_eq!(p.seq_global(), None);
    assert_eq!(p.conntrack(), None);
    assert!(p.conntrack_attributes().is_none());
    assert_eq!(p.ct_info(), None);
    assert_eq!(p.vlan(), None);
    assert_eq!(p.l2hdr(), None);
    // The "08 00 00 00" before NFULA_TIMESTAMP is the end of the 14-byte HWHEADER (the
    // EtherType 0x0800 and two bytes of padding), not an attribute: this kernel sends none
    // of type 0 here.
    assert_eq!(kinds(&p), vec![1, 10, 4, 8, 15, 17, 16, 3, 9]);
    assert!(p.attributes().all(|a| a.raw_type() == a.kind()));
    assert_eq!(
        p.attribute(PacketAttr::Prefix),
        Some(&b"hi\0"[..]),
        "the raw value keeps the NUL"
    );
    assert_eq!(
        p.attribute(PacketAttr::Hwaddr).map(<[u8]>::len),
        Some(12),
        "nfulnl_msg_packet_hw is 12 bytes"
    );
}

#[test]
fn kernel_record_output_udp_with_mark_uid_and_gid() {
    let bytes = host_order(&OUTPUT_UDP_MARK_UID);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.family(), Family::Ipv4);
    assert_eq!(p.version(), 0);
    assert_eq!(p.group(), 5);
    assert_eq!(p.hw_protocol(), 0x0800);
    assert_eq!(p.hook_number(), 3);
    assert_eq!(p.hook(), Hook::Output);
    assert_eq!(p.prefix().as_deref(), Some("out"));
    assert_eq!(p.indev(), None);
    assert_eq!(p.outdev(), Some(1));
    assert_eq!(p.mark(), Some(42));
    assert_eq!(p.uid(), Some(1000));
    assert_eq!(p.gid(), Some(1001));
    // nfnetlink_log.c: timestamps only for hooks <= NF_INET_FORWARD.
    assert_eq!(p.timestamp_parts(), None);
    assert_eq!(p.timestamp(), None);
    assert_eq!(p.hwaddr(), None);
    assert_eq!(p.hwtype(), None);
    assert_eq!(p.hwlen(), None);
    assert_eq!(p.hwheader(), None);
    let payload = p.payload().unwrap();
    assert_eq!(payload.len(), 31);
    assert_eq!(u16::from_be_bytes([payload[22], payload[23]]), 9999);
    assert_eq!(&payload[28..], b"hi\n");
    assert_eq!(kinds(&p), vec![1, 10, 5, 2, 11, 14, 9]);
}

#[test]
fn kernel_record_cut_anywhere_never_panics() {
    let bytes = host_order(&INPUT_UDP_HI);
    for cut in 0..bytes.len() {
        // Every cut inside the attributes either fails or (at an attribute boundary, or in
        // the last attribute's padding) parses a shorter packet.
        if let Ok(p) = Packet::parse(&bytes[..cut]) {
            assert_eq!(p.hw_protocol(), 0x0800);
            let _ = (p.payload(), p.timestamp(), p.hwaddr(), p.prefix());
        }
    }
    // Only the missing padding byte can go: the payload is the last attribute.
    assert!(Packet::parse(&bytes[..bytes.len() - 1]).is_ok());
    assert!(Packet::parse(&bytes[..bytes.len() - 2]).is_err());
}

// ---------------------------------------------------------------------------------------
// nfgenmsg: family, version, group, hook.

#[test]
fn nfgenmsg_fields_and_big_endian_group() {
    let mut bytes = vec![10, 1, 0x12, 0x34];
    emit(&mut bytes, 1, &[0x86, 0xdd, 0, 0]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.family(), Family::Ipv6);
    assert_eq!(p.version(), 1);
    assert_eq!(p.group(), 0x1234);
    assert_eq!(p.hw_protocol(), 0x86dd);
    assert_eq!(p.hook(), Hook::Prerouting);
}

#[test]
fn hook_is_named_per_family() {
    let cases = [
        (2, 0, Family::Ipv4, Hook::Prerouting),
        (2, 2, Family::Ipv4, Hook::Forward),
        (10, 4, Family::Ipv6, Hook::Postrouting),
        (7, 2, Family::Bridge, Hook::Forward),
        (5, 0, Family::Netdev, Hook::Ingress),
        (5, 1, Family::Netdev, Hook::Egress),
        (3, 0, Family::Arp, Hook::ArpIn),
        (3, 1, Family::Arp, Hook::ArpOut),
        (3, 2, Family::Arp, Hook::ArpForward),
        (3, 3, Family::Arp, Hook::Other(3)),
        (2, 9, Family::Ipv4, Hook::Other(9)),
        (99, 1, Family::Other(99), Hook::Input),
    ];
    for (family, hook, want_family, want_hook) in cases {
        let bytes = body(family, 0, &[(1, &[0x08, 0x00, hook, 0])]);
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.family(), want_family, "family {family}");
        assert_eq!(p.hook_number(), hook);
        assert_eq!(p.hook(), want_hook, "family {family} hook {hook}");
    }
}

#[test]
fn minimal_packet_has_only_the_header() {
    let bytes = body(2, 5, &[(1, &[0x08, 0x00, 1, 0])]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.family(), Family::Ipv4);
    assert_eq!(p.group(), 5);
    assert_eq!(p.hw_protocol(), 0x0800);
    assert_eq!(p.hook(), Hook::Input);
    assert_eq!(p.mark(), None);
    assert_eq!(p.payload(), None);
    assert_eq!(p.prefix(), None);
    assert_eq!(p.prefix_bytes(), None);
    assert_eq!(p.timestamp_parts(), None);
    assert_eq!(p.timestamp(), None);
    assert_eq!(p.indev(), None);
    assert_eq!(p.outdev(), None);
    assert_eq!(p.physindev(), None);
    assert_eq!(p.physoutdev(), None);
    assert_eq!(p.hwaddr(), None);
    assert_eq!(p.uid(), None);
    assert_eq!(p.gid(), None);
    assert_eq!(p.seq(), None);
    assert_eq!(p.seq_global(), None);
    assert_eq!(p.hwtype(), None);
    assert_eq!(p.hwheader(), None);
    assert_eq!(p.hwlen(), None);
    assert_eq!(p.conntrack(), None);
    assert!(p.conntrack_attributes().is_none());
    assert_eq!(p.ct_info(), None);
    assert_eq!(p.vlan(), None);
    assert_eq!(p.l2hdr(), None);
    for &attr in PacketAttr::ALL {
        let want = (attr == PacketAttr::PacketHdr).then_some(&[0x08u8, 0x00, 1, 0][..]);
        assert_eq!(p.attribute(attr), want, "{attr}");
    }
    assert_eq!(kinds(&p), vec![1]);
}

// ---------------------------------------------------------------------------------------
// Every accessor on a hand-built packet.

#[test]
fn every_accessor_reads_its_attribute_big_endian() {
    let ct = {
        let mut tuple = Vec::new();
        emit(&mut tuple, 1, &[0xaa; 4]);
        let mut ct = Vec::new();
        emit(&mut ct, 1 | NLA_F_NESTED, &tuple); // CTA_TUPLE_ORIG
        emit(&mut ct, 3, &0x188u32.to_be_bytes()); // CTA_STATUS
        emit(&mut ct, 12, &0xdead_beefu32.to_be_bytes()); // CTA_ID
        ct
    };
    let vlan = {
        let mut v = Vec::new();
        emit(&mut v, 1, &0x8100u16.to_be_bytes());
        emit(&mut v, 2, &0xa07bu16.to_be_bytes());
        v
    };
    let mut ts = 1_700_000_000u64.to_be_bytes().to_vec();
    ts.extend_from_slice(&123_456u64.to_be_bytes());
    let hwaddr = hwaddr_value(6, &[2, 0, 0, 0, 0, 1, 0, 0]);
    let l2 = [
        0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x81, 0x00,
    ];
    let bytes = body(
        7,
        0xbeef,
        &[
            (1, &[0x81, 0x00, 2, 0]),
            (2, &[0x12, 0x34, 0x56, 0x78]),
            (3, &ts),
            (4, &[0, 0, 0, 4]),
            (5, &[0, 0, 0, 5]),
            (6, &[0, 0, 1, 6]),
            (7, &[0, 1, 0, 7]),
            (8, &hwaddr),
            (9, &[0x45, 0, 0, 20]),
            (10, b"drop: \0"),
            (11, &[0, 0, 0x03, 0xe8]),
            (12, &[0x80, 0, 0, 1]),
            (13, &[0xff, 0xff, 0xff, 0xfe]),
            (14, &[0, 0, 0x03, 0xe9]),
            (15, &[0x00, 0x01]),
            (16, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
            (17, &[0x00, 0x0e]),
            (18, &ct),
            (19, &[0, 0, 0, 3]),
            (20 | NLA_F_NESTED, &vlan),
            (21, &l2),
        ],
    );
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.family(), Family::Bridge);
    assert_eq!(p.group(), 0xbeef);
    assert_eq!(p.hw_protocol(), 0x8100);
    assert_eq!(p.hook(), Hook::Forward);
    assert_eq!(p.mark(), Some(0x1234_5678));
    assert_eq!(p.timestamp_parts(), Some((1_700_000_000, 123_456)));
    assert_eq!(
        p.timestamp(),
        Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000))
    );
    assert_eq!(p.indev(), Some(4));
    assert_eq!(p.outdev(), Some(5));
    assert_eq!(p.physindev(), Some(0x106));
    assert_eq!(p.physoutdev(), Some(0x1_0007));
    assert_eq!(p.hwaddr(), Some(&[2u8, 0, 0, 0, 0, 1][..]));
    assert_eq!(p.payload(), Some(&[0x45u8, 0, 0, 20][..]));
    assert_eq!(p.prefix().as_deref(), Some("drop: "));
    assert_eq!(p.uid(), Some(1000));
    assert_eq!(p.gid(), Some(1001));
    assert_eq!(p.seq(), Some(0x8000_0001));
    assert_eq!(p.seq_global(), Some(0xffff_fffe));
    assert_eq!(p.hwtype(), Some(1));
    assert_eq!(
        p.hwheader(),
        Some(&[1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14][..])
    );
    assert_eq!(p.hwlen(), Some(14));
    assert_eq!(p.conntrack(), Some(&ct[..]));
    let cta: Vec<_> = p
        .conntrack_attributes()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        cta.iter().map(|a| a.kind()).collect::<Vec<_>>(),
        vec![1, 3, 12]
    );
    assert!(cta[0].is_nested());
    let inner: Vec<_> = cta[0].nested().map(Result::unwrap).collect();
    assert_eq!(inner.len(), 1);
    assert_eq!((inner[0].kind(), inner[0].value()), (1, &[0xaa; 4][..]));
    assert_eq!(cta[1].value(), &[0, 0, 1, 0x88]);
    assert_eq!(cta[2].value(), &[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(p.ct_info(), Some(3));
    let tag = p.vlan().unwrap();
    assert_eq!(
        tag,
        Vlan {
            proto: 0x8100,
            tci: 0xa07b
        }
    );
    assert_eq!(tag.id(), 0x07b);
    assert_eq!(tag.priority(), 5);
    assert!(!tag.drop_eligible());
    assert_eq!(p.l2hdr(), Some(&l2[..]));
    assert_eq!(kinds(&p), (1..=21).collect::<Vec<u16>>());
    for &attr in PacketAttr::ALL {
        assert!(p.attribute(attr).is_some(), "{attr} present");
    }
    assert_eq!(p.attribute(PacketAttr::Seq), Some(&[0x80u8, 0, 0, 1][..]));
    assert_eq!(p.attribute(PacketAttr::Vlan), Some(&vlan[..]));

    let debug = format!("{p:?}");
    assert!(debug.starts_with("Packet { family: Bridge, group: 48879, hook: Forward"));
    assert!(debug.contains("hw_protocol: 0x8100"));
    assert!(debug.contains("prefix: \"drop: \""));
    assert!(debug.contains("mark: 305419896"));
    assert!(debug.contains("payload_len: 4"));
}

#[test]
fn zero_values_are_some_not_absent() {
    let bytes = with_header(&[(2, &[0; 4]), (11, &[0; 4]), (12, &[0; 4]), (19, &[0; 4])]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.mark(), Some(0));
    assert_eq!(p.uid(), Some(0));
    assert_eq!(p.seq(), Some(0));
    assert_eq!(p.ct_info(), Some(0));
}

#[test]
fn values_longer_than_needed_are_read_from_their_start() {
    let bytes = with_header(&[(2, &[0, 0, 0, 7, 0xff, 0xff]), (15, &[0x03, 0x04, 9])]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.mark(), Some(7));
    assert_eq!(p.hwtype(), Some(772));
}

// ---------------------------------------------------------------------------------------
// Timestamps.

fn timestamp_packet(sec: u64, usec: u64) -> Vec<u8> {
    let mut ts = sec.to_be_bytes().to_vec();
    ts.extend_from_slice(&usec.to_be_bytes());
    with_header(&[(3, &ts)])
}

#[test]
fn timestamp_as_parts_and_system_time() {
    let bytes = timestamp_packet(0, 0);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.timestamp_parts(), Some((0, 0)));
    assert_eq!(p.timestamp(), Some(UNIX_EPOCH));

    let bytes = timestamp_packet(0x0102_0304_0506_0708, 0x1112_1314_1516_1718);
    assert_eq!(
        Packet::parse(&bytes).unwrap().timestamp_parts(),
        Some((0x0102_0304_0506_0708, 0x1112_1314_1516_1718)),
        "both halves are big-endian u64"
    );

    // More than a million microseconds carry into the seconds rather than being rejected.
    let bytes = timestamp_packet(10, 2_500_000);
    assert_eq!(
        Packet::parse(&bytes).unwrap().timestamp(),
        Some(UNIX_EPOCH + Duration::from_millis(12_500))
    );
}

#[test]
fn absurd_timestamp_is_none_not_a_panic() {
    for (sec, usec) in [
        (u64::MAX, 0),
        (u64::MAX, u64::MAX),
        (u64::MAX - 1, 2_000_000),
        (1 << 63, 0),
    ] {
        let bytes = timestamp_packet(sec, usec);
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.timestamp_parts(), Some((sec, usec)));
        assert_eq!(p.timestamp(), None, "({sec}, {usec})");
    }
    // u64::MAX microseconds are about 584,554 years: large, but a SystemTime on Linux
    // holds it. Whatever the platform says, it must not panic.
    let bytes = timestamp_packet(0, u64::MAX);
    let p = Packet::parse(&bytes).unwrap();
    if let Some(t) = p.timestamp() {
        assert!(t > UNIX_EPOCH + Duration::from_secs(18_446_744_073_709));
    }
}

// ---------------------------------------------------------------------------------------
// Hardware address.

#[test]
fn hwaddr_returns_the_declared_length() {
    let addr = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0xee, 0xff];
    for (declared, want) in [
        (6u16, &addr[..6]),
        (0, &addr[..0]),
        (8, &addr[..]),
        (1, &addr[..1]),
    ] {
        let value = hwaddr_value(declared, &addr);
        let bytes = with_header(&[(8, &value)]);
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.hwaddr(), Some(want), "hw_addrlen {declared}");
    }
    // A bare `{ hw_addrlen = 0; pad }`, four bytes, is a valid empty address.
    let bytes = with_header(&[(8, &[0, 0, 0, 0])]);
    assert_eq!(Packet::parse(&bytes).unwrap().hwaddr(), Some(&[][..]));
}

#[test]
fn hwaddr_longer_than_eight_is_an_error() {
    let value = hwaddr_value(9, &[0; 12]);
    let bytes = with_header(&[(8, &value)]);
    let e = Packet::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        ParseError::HwAddrLength {
            declared: 9,
            available: 8
        }
    );
    assert_eq!(
        e.to_string(),
        "attribute NFULA_HWADDR (8) declares a 9-byte address but has room for 8"
    );
}

#[test]
fn hwaddr_declared_beyond_its_value_is_an_error() {
    let value = hwaddr_value(6, &[1, 2, 3, 4]);
    let bytes = with_header(&[(8, &value)]);
    assert_eq!(
        Packet::parse(&bytes).unwrap_err(),
        ParseError::HwAddrLength {
            declared: 6,
            available: 4
        }
    );
    let value = hwaddr_value(0xffff, &[0; 8]);
    let bytes = with_header(&[(8, &value)]);
    assert_eq!(
        Packet::parse(&bytes).unwrap_err(),
        ParseError::HwAddrLength {
            declared: 0xffff,
            available: 8
        }
    );
}

// ---------------------------------------------------------------------------------------
// Prefix.

#[test]
fn prefix_with_and_without_nul() {
    let cases: [(&[u8], &[u8]); 6] = [
        (b"hi\0", b"hi"),
        (b"hi", b"hi"),
        (b"\0", b""),
        (b"", b""),
        (b"ab\0cd\0", b"ab"),
        (b"exactly4", b"exactly4"),
    ];
    for (value, want) in cases {
        let bytes = with_header(&[(10, value)]);
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.prefix_bytes(), Some(want), "{value:?}");
        assert_eq!(
            p.prefix().as_deref().map(str::as_bytes),
            Some(want),
            "{value:?}"
        );
        assert!(
            matches!(p.prefix(), Some(Cow::Borrowed(_))),
            "valid UTF-8 is not copied"
        );
    }
}

#[test]
fn prefix_with_invalid_utf8_is_lossy() {
    let bytes = with_header(&[(10, b"f\xffo\xc3\0")]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.prefix_bytes(), Some(&b"f\xffo\xc3"[..]));
    assert_eq!(p.prefix().as_deref(), Some("f\u{fffd}o\u{fffd}"));
    assert!(matches!(p.prefix(), Some(Cow::Owned(_))));
}

#[test]
fn prefix_in_utf8_is_kept() {
    let bytes = with_header(&[(10, "dépôt ✓\0".as_bytes())]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.prefix().as_deref(), Some("dépôt ✓"));
}

// ---------------------------------------------------------------------------------------
// VLAN.

fn vlan_nest(entries: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (kind, value) in entries {
        emit(&mut v, *kind, value);
    }
    v
}

#[test]
fn vlan_tci_splits_into_id_priority_and_drop_eligible() {
    let nest = vlan_nest(&[(1, &[0x88, 0xa8]), (2, &[0x3f, 0xff])]);
    let bytes = with_header(&[(20 | NLA_F_NESTED, &nest)]);
    let tag = Packet::parse(&bytes).unwrap().vlan().unwrap();
    assert_eq!(tag.proto, 0x88a8);
    assert_eq!(tag.tci, 0x3fff);
    assert_eq!(tag.id(), 0xfff);
    assert_eq!(tag.priority(), 1);
    assert!(tag.drop_eligible());

    let tag = Vlan {
        proto: 0x8100,
        tci: 0xe001,
    };
    assert_eq!(
        (tag.id(), tag.priority(), tag.drop_eligible()),
        (1, 7, false)
    );
    let tag = Vlan {
        proto: 0x8100,
        tci: 0x1000,
    };
    assert_eq!(
        (tag.id(), tag.priority(), tag.drop_eligible()),
        (0, 0, true)
    );
}

#[test]
fn vlan_without_nested_flag_and_with_unknown_nested_types() {
    // TCI first, an unknown nested type 3, and no NESTED flag on the outer attribute.
    let nest = vlan_nest(&[(2, &[0x00, 0x64]), (3, &[]), (1, &[0x81, 0x00])]);
    let bytes = with_header(&[(20, &nest)]);
    let tag = Packet::parse(&bytes).unwrap().vlan().unwrap();
    assert_eq!(
        tag,
        Vlan {
            proto: 0x8100,
            tci: 100
        }
    );
}

#[test]
fn malformed_vlan_nest_is_an_error_naming_nfula_vlan() {
    // A nested attribute whose length (3) is under its header.
    let mut nest = Vec::new();
    nest.extend_from_slice(&3u16.to_ne_bytes());
    nest.extend_from_slice(&2u16.to_ne_bytes());
    let bytes = with_header(&[(20 | NLA_F_NESTED, &nest)]);
    let e = Packet::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        ParseError::Nested {
            attr: PacketAttr::Vlan,
            source: Box::new(ParseError::AttributeLength {
                kind: 2,
                declared: 3,
                available: 4
            })
        }
    );
    assert_eq!(
        e.to_string(),
        "inside attribute NFULA_VLAN (20): nested attribute type 2 declares 3 bytes \
         but 4 are left (at least 4 are needed)"
    );
    assert!(std::error::Error::source(&e).is_some());

    // A nested attribute running past the nest.
    let mut nest = vlan_nest(&[(1, &[0x81, 0x00])]);
    nest[0..2].copy_from_slice(&12u16.to_ne_bytes());
    let bytes = with_header(&[(20, &nest)]);
    assert!(matches!(
        Packet::parse(&bytes).unwrap_err(),
        ParseError::Nested {
            attr: PacketAttr::Vlan,
            ..
        }
    ));

    // A nest cut inside a header.
    let bytes = with_header(&[(20, &[6, 0])]);
    let e = Packet::parse(&bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "inside attribute NFULA_VLAN (20): truncated attribute header: needs 4 bytes, 2 left"
    );
}

#[test]
fn short_vlan_proto_or_tci_is_an_error() {
    for kind in [1u16, 2] {
        for len in 0..2 {
            let nest = vlan_nest(&[(kind, &[0x81][..len])]);
            let bytes = with_header(&[(20, &nest)]);
            let e = Packet::parse(&bytes).unwrap_err();
            assert_eq!(
                e,
                ParseError::AttributeSize {
                    attr: PacketAttr::Vlan,
                    nested: Some(kind),
                    needed: 2,
                    found: len
                }
            );
        }
    }
    let nest = vlan_nest(&[(1, &[0x81, 0x00]), (2, &[7])]);
    let bytes = with_header(&[(20, &nest)]);
    assert_eq!(
        Packet::parse(&bytes).unwrap_err().to_string(),
        "attribute NFULA_VLAN (20), nested type 2, has a 1-byte value, needs 2"
    );
}

// ---------------------------------------------------------------------------------------
// attribute(), attributes(), unknown types, flags, duplicates.

#[test]
fn unknown_types_are_visible_and_skipped_by_accessors() {
    let bytes = with_header(&[
        (0, &[0, 0, 0, 9]),
        (2, &[0, 0, 0, 1]),
        (99, &[0xde, 0xad, 0xbe]),
        (99 | NLA_F_NESTED, &[]),
        (0x3fff, &[1; 20]),
        (10, b"p\0"),
    ]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.mark(), Some(1), "type 0 before MARK does not shadow it");
    assert_eq!(p.prefix().as_deref(), Some("p"));
    let all: Vec<_> = p.attributes().collect();
    assert_eq!(
        all.iter().map(|a| a.kind()).collect::<Vec<_>>(),
        vec![1, 0, 2, 99, 99, 0x3fff, 10]
    );
    assert_eq!(all[1].value(), &[0, 0, 0, 9]);
    assert_eq!(all[3].value(), &[0xde, 0xad, 0xbe]);
    assert_eq!(all[4].raw_type(), 99 | NLA_F_NESTED);
    assert!(all[4].is_nested());
    assert_eq!(all[4].value(), &[] as &[u8]);
    assert_eq!(all[5].value(), &[1; 20]);
    // Unknown types of any size are fine; none of them is mistaken for a known one.
    for &attr in PacketAttr::ALL {
        let expected = match attr {
            PacketAttr::PacketHdr => Some(&HDR_IPV4_INPUT[..]),
            PacketAttr::Mark => Some(&[0u8, 0, 0, 1][..]),
            PacketAttr::Prefix => Some(&b"p\0"[..]),
            _ => None,
        };
        assert_eq!(p.attribute(attr), expected, "{attr}");
    }
}

#[test]
fn a_type_0_attribute_of_length_8_before_the_timestamp() {
    // The shape a kernel padding attribute (nla_put_64bit's PAD) would have.
    let mut ts = 5u64.to_be_bytes().to_vec();
    ts.extend_from_slice(&6u64.to_be_bytes());
    let bytes = with_header(&[(0, &[0; 4]), (3, &ts)]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.timestamp_parts(), Some((5, 6)));
    let pad = p.attributes().nth(1).unwrap();
    assert_eq!((pad.kind(), pad.value()), (0, &[0u8; 4][..]));
    assert_eq!(kinds(&p), vec![1, 0, 3]);
}

#[test]
fn nested_and_net_byteorder_flags_are_masked_off() {
    let bytes = body(
        2,
        5,
        &[
            (1 | NLA_F_NET_BYTEORDER, &HDR_IPV4_INPUT),
            (2 | NLA_F_NET_BYTEORDER, &[0, 0, 0, 9]),
            (4 | NLA_F_NESTED | NLA_F_NET_BYTEORDER, &[0, 0, 0, 3]),
            (18 | NLA_F_NESTED, &[]),
        ],
    );
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.hw_protocol(), 0x0800);
    assert_eq!(p.mark(), Some(9));
    assert_eq!(p.indev(), Some(3));
    assert_eq!(p.conntrack(), Some(&[][..]));
    assert_eq!(p.conntrack_attributes().unwrap().count(), 0);
    assert_eq!(kinds(&p), vec![1, 2, 4, 18]);
    let raw: Vec<u16> = p.attributes().map(|a| a.raw_type()).collect();
    assert_eq!(
        raw,
        vec![
            1 | NLA_F_NET_BYTEORDER,
            2 | NLA_F_NET_BYTEORDER,
            4 | NLA_F_NESTED | NLA_F_NET_BYTEORDER,
            18 | NLA_F_NESTED
        ]
    );
}

#[test]
fn duplicate_attribute_first_wins() {
    let bytes = body(
        2,
        5,
        &[
            (10, b"first\0"),
            (1, &HDR_IPV4_INPUT),
            (2, &[0, 0, 0, 1]),
            (1, &[0x86, 0xdd, 3, 0]),
            (2, &[0, 0, 0, 2]),
            (10, b"second\0"),
        ],
    );
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.hw_protocol(), 0x0800);
    assert_eq!(p.hook(), Hook::Input);
    assert_eq!(p.mark(), Some(1));
    assert_eq!(p.prefix().as_deref(), Some("first"));
    assert_eq!(p.attribute(PacketAttr::Mark), Some(&[0u8, 0, 0, 1][..]));
    assert_eq!(
        kinds(&p),
        vec![10, 1, 2, 1, 2, 10],
        "both copies are listed"
    );
}

#[test]
fn attribute_without_padding_at_the_end() {
    // The kernel does not pad the last attribute of a message; nor does a truncated pcap.
    let mut bytes = with_header(&[]);
    bytes.extend_from_slice(&5u16.to_ne_bytes());
    bytes.extend_from_slice(&9u16.to_ne_bytes());
    bytes.push(0x45);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.payload(), Some(&[0x45u8][..]));
}

#[test]
fn from_message_checks_the_message_type() {
    let packet_body = with_header(&[(2, &[0, 0, 0, 7])]);
    let mut message = Vec::new();
    emit_header(
        &mut message,
        (NLMSG_HDRLEN + packet_body.len()) as u32,
        MSG_PACKET,
        0,
        0,
    );
    message.extend_from_slice(&packet_body);
    let m = Message::new_checked(&message).unwrap();
    let p = Packet::from_message(m).unwrap();
    assert_eq!(p.mark(), Some(7));
    assert_eq!(p.as_bytes(), &packet_body[..]);

    message[4..6].copy_from_slice(&MSG_CONFIG.to_ne_bytes());
    let m = Message::new_checked(&message).unwrap();
    let e = Packet::from_message(m).unwrap_err();
    assert_eq!(
        e,
        ParseError::NotPacket {
            message_type: 0x0401
        }
    );
    assert_eq!(
        e.to_string(),
        "netlink message type 0x0401 is not an nfnetlink_log packet (0x0400)"
    );
}

// ---------------------------------------------------------------------------------------
// Malformed shapes.

#[test]
fn missing_packet_header_is_an_error() {
    let bytes = body(2, 5, &[(2, &[0, 0, 0, 1])]);
    let e = Packet::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        ParseError::MissingAttribute {
            attr: PacketAttr::PacketHdr
        }
    );
    assert_eq!(
        e.to_string(),
        "packet message lacks attribute NFULA_PACKET_HDR (1)"
    );
    assert_eq!(
        Packet::parse(&body(2, 5, &[])).unwrap_err(),
        ParseError::MissingAttribute {
            attr: PacketAttr::PacketHdr
        }
    );
}

#[test]
fn body_shorter_than_nfgenmsg_is_an_error() {
    let bytes = [2u8, 0, 0, 5];
    for len in 0..NFGENMSG_LEN {
        let e = Packet::parse(&bytes[..len]).unwrap_err();
        assert_eq!(
            e,
            ParseError::Truncated {
                what: Header::Nfgenmsg,
                needed: 4,
                available: len
            }
        );
    }
    assert_eq!(
        Packet::parse(&bytes[..2]).unwrap_err().to_string(),
        "truncated nfgenmsg: needs 4 bytes, 2 left"
    );
}

#[test]
fn attribute_length_under_four_is_an_error() {
    for declared in 0u16..4 {
        let mut bytes = with_header(&[]);
        bytes.extend_from_slice(&declared.to_ne_bytes());
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.extend_from_slice(&[0; 4]);
        assert_eq!(
            Packet::parse(&bytes).unwrap_err(),
            ParseError::AttributeLength {
                kind: 2,
                declared: usize::from(declared),
                available: 8
            },
            "nla_len {declared}"
        );
    }
}

#[test]
fn attribute_past_the_end_is_an_error() {
    let mut bytes = with_header(&[(9, &[0x45; 8])]);
    bytes.truncate(bytes.len() - 1);
    let e = Packet::parse(&bytes).unwrap_err();
    assert_eq!(
        e,
        ParseError::AttributeLength {
            kind: 9,
            declared: 12,
            available: 11
        }
    );
    assert_eq!(
        e.to_string(),
        "attribute NFULA_PAYLOAD (9) declares 12 bytes but 11 are left (at least 4 are needed)"
    );

    // The same for an unknown type: its length cannot be trusted either.
    let mut bytes = with_header(&[(99, &[0; 4])]);
    bytes.truncate(bytes.len() - 2);
    assert_eq!(
        Packet::parse(&bytes).unwrap_err(),
        ParseError::AttributeLength {
            kind: 99,
            declared: 8,
            available: 6
        }
    );
}

#[test]
fn the_last_attributes_fit_is_judged_by_its_length_not_its_padding() {
    // A payload of 6 bytes after a mark: nla_len 10, padded to 12. The loop checks only the
    // room for a next header; whether the last attribute fits is checked after it.
    let whole = with_header(&[(2, &7u32.to_be_bytes()), (9, &[0x45; 6])]);
    // Padded, or without one or both bytes of its padding (the kernel leaves it out).
    for cut in 0..=2 {
        let p = Packet::parse(&whole[..whole.len() - cut]).unwrap();
        assert_eq!((p.mark(), p.payload()), (Some(7), Some(&[0x45u8; 6][..])));
    }
    // One byte of the value missing: the payload, not the mark, is named.
    assert_eq!(
        Packet::parse(&whole[..whole.len() - 3]).unwrap_err(),
        ParseError::AttributeLength {
            kind: 9,
            declared: 10,
            available: 9
        }
    );
}

#[test]
fn stray_bytes_after_the_last_attribute_are_an_error() {
    for stray in 1..NLA_HDRLEN {
        let mut bytes = with_header(&[]);
        bytes.resize(bytes.len() + stray, 0);
        assert_eq!(
            Packet::parse(&bytes).unwrap_err(),
            ParseError::Truncated {
                what: Header::Attribute,
                needed: 4,
                available: stray
            }
        );
    }
}

#[test]
fn every_fixed_size_attribute_one_byte_short_is_an_error() {
    // Sizes from include/uapi/linux/netfilter/nfnetlink_log.h.
    let fixed = [
        (PacketAttr::PacketHdr, 4),
        (PacketAttr::Mark, 4),
        (PacketAttr::Timestamp, 16),
        (PacketAttr::IfindexIndev, 4),
        (PacketAttr::IfindexOutdev, 4),
        (PacketAttr::IfindexPhysindev, 4),
        (PacketAttr::IfindexPhysoutdev, 4),
        (PacketAttr::Hwaddr, 4),
        (PacketAttr::Uid, 4),
        (PacketAttr::Seq, 4),
        (PacketAttr::SeqGlobal, 4),
        (PacketAttr::Gid, 4),
        (PacketAttr::Hwtype, 2),
        (PacketAttr::Hwlen, 2),
        (PacketAttr::CtInfo, 4),
    ];
    for (attr, needed) in fixed {
        let kind = attr as u16;
        let short = vec![0u8; needed - 1];
        let exact = vec![0u8; needed];
        let (short_body, exact_body) = if attr == PacketAttr::PacketHdr {
            (body(2, 5, &[(kind, &short)]), body(2, 5, &[(kind, &exact)]))
        } else {
            (
                with_header(&[(kind, &short)]),
                with_header(&[(kind, &exact)]),
            )
        };
        let e = Packet::parse(&short_body).unwrap_err();
        assert_eq!(
            e,
            ParseError::AttributeSize {
                attr,
                nested: None,
                needed,
                found: needed - 1
            },
            "{attr}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "attribute {} ({kind}) has a {}-byte value, needs {needed}",
                attr.name(),
                needed - 1
            )
        );
        let p = Packet::parse(&exact_body).unwrap_or_else(|e| panic!("{attr}: {e}"));
        assert_eq!(p.attribute(attr), Some(&exact[..]), "{attr}");
    }
    // The variable-size ones may be empty.
    for attr in [
        PacketAttr::Payload,
        PacketAttr::Prefix,
        PacketAttr::Hwheader,
        PacketAttr::Ct,
        PacketAttr::Vlan,
        PacketAttr::L2hdr,
    ] {
        let bytes = with_header(&[(attr as u16, &[])]);
        let p = Packet::parse(&bytes).unwrap_or_else(|e| panic!("{attr}: {e}"));
        assert_eq!(p.attribute(attr), Some(&[][..]), "{attr}");
    }
    let p_bytes = with_header(&[(20, &[])]);
    assert_eq!(
        Packet::parse(&p_bytes).unwrap().vlan(),
        Some(Vlan { proto: 0, tci: 0 }),
        "an empty nest is a tag of zeros"
    );
}

#[test]
fn a_bad_attribute_after_a_good_one_fails_the_whole_packet() {
    let bytes = with_header(&[(2, &[0, 0, 0, 1]), (4, &[0, 0, 1])]);
    assert_eq!(
        Packet::parse(&bytes).unwrap_err(),
        ParseError::AttributeSize {
            attr: PacketAttr::IfindexIndev,
            nested: None,
            needed: 4,
            found: 3
        }
    );
}

/// The parser as it was first written, over the `Attributes` iterator: the fast loop of
/// `Packet::parse` must agree with it on every input.
fn reference_parse(body: &[u8]) -> Result<[u32; SLOTS], ParseError> {
    if body.len() < NFGENMSG_LEN {
        return Err(ParseError::Truncated {
            what: Header::Nfgenmsg,
            needed: NFGENMSG_LEN,
            available: body.len(),
        });
    }
    let mut slots = [0u32; SLOTS];
    let mut offset = NFGENMSG_LEN;
    for attr in Attributes::new(&body[NFGENMSG_LEN..]) {
        let attr = attr?;
        let kind = attr.kind();
        let at = offset;
        offset += align4(NLA_HDRLEN + attr.value().len());
        let Some(known) = PacketAttr::from_number(kind) else {
            continue;
        };
        check_value(known, attr.value())?;
        let slot = &mut slots[usize::from(kind)];
        if *slot == 0 {
            *slot = u32::try_from(at).unwrap();
        }
    }
    if slots[PacketAttr::PacketHdr as usize] == 0 {
        return Err(ParseError::MissingAttribute {
            attr: PacketAttr::PacketHdr,
        });
    }
    Ok(slots)
}

/// A body of attributes of any type (known, unknown, flagged) and any value length, some
/// with lengths that lie, some without padding.
fn framed_attributes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let attr = (
        prop_oneof![0u16..24, any::<u16>()],
        0usize..24,
        any::<u8>(),
        prop_oneof![Just(0i32), -5i32..5],
    );
    (proptest::collection::vec(attr, 0..12), any::<bool>()).prop_map(|(attrs, header)| {
        let mut body = vec![2, 0, 0, 9];
        if header {
            emit(&mut body, 1, &[8, 0, 1, 0]);
        }
        for (kind, len, fill, lie) in attrs {
            let start = body.len();
            emit(&mut body, kind, &vec![fill; len]);
            if lie != 0 {
                let declared = (len as i32 + 4 + lie).clamp(0, 0xffff) as u16;
                body[start..start + 2].copy_from_slice(&declared.to_ne_bytes());
            }
        }
        body
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

    #[test]
    fn fast_parse_agrees_with_the_iterator_on_framed_attributes(body in framed_attributes()) {
        let fast = Packet::parse(&body).map(|p| p.slots);
        proptest::prop_assert_eq!(fast, reference_parse(&body));
    }

    #[test]
    fn fast_parse_agrees_with_the_iterator_on_any_bytes(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96),
    ) {
        let fast = Packet::parse(&body).map(|p| p.slots);
        proptest::prop_assert_eq!(fast, reference_parse(&body));
    }

    #[test]
    fn fast_parse_agrees_with_the_iterator_on_damaged_kernel_records(
        input in proptest::prelude::any::<bool>(),
        cut in 0usize..136,
        flip in 0usize..136,
        bits in proptest::prelude::any::<u8>(),
    ) {
        let record = if input { &INPUT_UDP_HI[..] } else { &OUTPUT_UDP_MARK_UID[..] };
        let mut record = host_order(record);
        let flip = flip % record.len();
        record[flip] ^= bits;
        let body = &record[..cut.min(record.len())];
        let fast = Packet::parse(body).map(|p| p.slots);
        proptest::prop_assert_eq!(fast, reference_parse(body));
    }
}

// ---------------------------------------------------------------------------------------
// PacketRepr: emit writes the kernel's bytes, parse reads them back.

#[test]
fn repr_emits_the_kernel_record_input_udp_byte_for_byte() {
    let bytes = host_order(&INPUT_UDP_HI);
    let repr = PacketRepr::parse(&Packet::parse(&bytes).unwrap());
    let mut eth = vec![0u8; 14];
    eth[12..].copy_from_slice(&[0x08, 0x00]);
    let payload = Packet::parse(&bytes).unwrap().payload().unwrap().to_vec();
    assert_eq!(
        repr,
        PacketRepr {
            family: Family::Ipv4,
            group: 5,
            hw_protocol: 0x0800,
            hook: 1,
            prefix: Some(b"hi".to_vec()),
            indev: Some(1),
            hwaddr: Some(vec![0; 6]),
            hwtype: Some(772),
            hwlen: Some(14),
            hwheader: Some(eth),
            timestamp: Some((1_795_839_439, 84_847)),
            payload: Some(payload),
            ..PacketRepr::default()
        }
    );
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(repr.to_bytes(), bytes);
}

#[test]
fn repr_emits_the_kernel_record_output_udp_byte_for_byte() {
    let bytes = host_order(&OUTPUT_UDP_MARK_UID);
    let repr = PacketRepr::parse(&Packet::parse(&bytes).unwrap());
    assert_eq!(
        (repr.hook, repr.prefix.as_deref(), repr.outdev, repr.mark),
        (3, Some(&b"out"[..]), Some(1), Some(42))
    );
    assert_eq!(
        (repr.uid, repr.gid, repr.timestamp),
        (Some(1000), Some(1001), None)
    );
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(repr.to_bytes(), bytes);
}

#[test]
fn repr_emit_appends_after_what_is_there() {
    let repr = PacketRepr {
        group: 7,
        prefix: Some(b"abc".to_vec()),
        ..PacketRepr::default()
    };
    let mut out = vec![0xee; 3];
    repr.emit(&mut out);
    assert_eq!(&out[..3], &[0xee; 3]);
    assert_eq!(&out[3..], &repr.to_bytes()[..]);
    // The prefix "abc" and its NUL: nla_len 8, no padding needed; PACKET_HDR is 8 too.
    assert_eq!(repr.buffer_len(), 4 + 8 + 8);
}

#[test]
fn repr_pads_with_zeros_and_leaves_padding_out_of_nla_len() {
    let repr = PacketRepr {
        hwtype: Some(0xffff),
        payload: Some(vec![0xff; 5]),
        ..PacketRepr::default()
    };
    let bytes = repr.to_bytes();
    // nfgenmsg, PACKET_HDR (8), HWTYPE (6 + 2 padding), PAYLOAD (9 + 3 padding).
    assert_eq!(bytes.len(), 4 + 8 + 8 + 12);
    assert_eq!(u16::from_ne_bytes([bytes[12], bytes[13]]), 6);
    assert_eq!(&bytes[16..20], &[0xff, 0xff, 0, 0]);
    assert_eq!(u16::from_ne_bytes([bytes[20], bytes[21]]), 9);
    assert_eq!(&bytes[24..32], &[0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]);
}

#[test]
fn repr_puts_the_bridge_port_first_for_the_bridge_family_only() {
    let devices = |family| {
        let repr = PacketRepr {
            family,
            indev: Some(1),
            physindev: Some(2),
            outdev: Some(3),
            physoutdev: Some(4),
            ..PacketRepr::default()
        };
        kinds(&Packet::parse(&repr.to_bytes()).unwrap())
    };
    // nfnetlink_log.c: for PF_BRIDGE, PHYSINDEV (the port) then INDEV (the bridge).
    assert_eq!(devices(Family::Bridge), vec![1, 6, 4, 7, 5]);
    assert_eq!(devices(Family::Ipv4), vec![1, 4, 6, 5, 7]);
}

#[test]
fn repr_nests_vlan_and_conntrack_with_the_nested_flag() {
    let repr = PacketRepr {
        family: Family::Bridge,
        conntrack: Some(vec![8, 0, 3, 0, 0, 0, 1, 0x88]),
        ct_info: Some(2),
        vlan: Some(Vlan {
            proto: 0x8100,
            tci: 0x2064,
        }),
        l2hdr: Some(vec![0xaa; 14]),
        ..PacketRepr::default()
    };
    let bytes = repr.to_bytes();
    let packet = Packet::parse(&bytes).unwrap();
    let raw: Vec<u16> = packet.attributes().map(|a| a.raw_type()).collect();
    assert_eq!(raw, vec![1, 18 | NLA_F_NESTED, 19, 20 | NLA_F_NESTED, 21]);
    // nfulnl_put_bridge: TCI first, then PROTO.
    let nest: Vec<u16> = Attributes::new(packet.attribute(PacketAttr::Vlan).unwrap())
        .map(|a| a.unwrap().kind())
        .collect();
    assert_eq!(nest, vec![NFULA_VLAN_TCI, NFULA_VLAN_PROTO]);
    assert_eq!(PacketRepr::parse(&packet), repr);
}

#[test]
fn repr_hwaddr_over_eight_bytes_is_emitted_and_refused_by_the_parser() {
    let repr = PacketRepr {
        hwaddr: Some(vec![1; 9]),
        ..PacketRepr::default()
    };
    assert!(matches!(
        Packet::parse(&repr.to_bytes()),
        Err(ParseError::HwAddrLength { declared: 9, .. })
    ));
}

/// Any packet the parser accepts back whole: every field, any length, unknown attributes
/// of types the crate does not know (flags included).
fn arbitrary_repr() -> impl proptest::strategy::Strategy<Value = PacketRepr> {
    use proptest::collection::vec;
    use proptest::option::of;
    use proptest::prelude::*;
    let bytes = |max: usize| vec(any::<u8>(), 0..max);
    let head = (
        any::<u8>().prop_map(Family::from_number),
        any::<u16>(),
        any::<u16>(),
        any::<u8>(),
        of(vec(1u8..=255, 0..40)),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
        ),
        of(any::<u32>()),
        of(bytes(9)),
    );
    let middle = (
        of(any::<u16>()),
        of(any::<u16>()),
        of(bytes(40)),
        of(any::<(u64, u64)>()),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
        ),
    );
    let tail = (
        of(bytes(64)),
        of(any::<u32>()),
        of(any::<(u16, u16)>().prop_map(|(proto, tci)| Vlan { proto, tci })),
        of(bytes(40)),
        of(bytes(300)),
        vec(
            (
                prop_oneof![Just(0u16), 22u16..0x4000, 0x4000u16..],
                bytes(20),
            )
                .prop_filter("unknown types only", |(kind, _)| {
                    PacketAttr::from_number(kind & NLA_TYPE_MASK).is_none()
                }),
            0..4,
        ),
    );
    (head, middle, tail).prop_map(|(head, middle, tail)| {
        let (family, group, hw_protocol, hook, prefix, devices, mark, hwaddr) = head;
        let (hwtype, hwlen, hwheader, timestamp, ids) = middle;
        let (conntrack, ct_info, vlan, l2hdr, payload, unknown) = tail;
        PacketRepr {
            family,
            group,
            hw_protocol,
            hook,
            prefix,
            indev: devices.0,
            outdev: devices.1,
            physindev: devices.2,
            physoutdev: devices.3,
            mark,
            hwaddr,
            hwtype,
            hwlen,
            hwheader,
            timestamp,
            uid: ids.0,
            gid: ids.1,
            seq: ids.2,
            seq_global: ids.3,
            conntrack,
            ct_info,
            vlan,
            l2hdr,
            payload,
            unknown,
        }
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

    #[test]
    fn repr_parse_of_emit_is_the_repr(repr in arbitrary_repr()) {
        let bytes = repr.to_bytes();
        proptest::prop_assert_eq!(bytes.len(), repr.buffer_len());
        let packet = Packet::parse(&bytes).unwrap();
        proptest::prop_assert_eq!(&PacketRepr::parse(&packet), &repr);
        // And an owned copy reads the same, from the index it was given.
        let owned = packet.into_owned();
        proptest::prop_assert_eq!(&PacketRepr::parse(&owned), &repr);
    }
}
