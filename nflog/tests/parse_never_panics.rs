//! Property tests of the parsers: arbitrary bytes never make them (or an accessor of what
//! they accept) panic, and a packet built from arbitrary attribute values parses back to
//! the same values.

use std::time::{Duration, UNIX_EPOCH};

use nflog::wire::{
    emit, emit_header, Attributes, Messages, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLMSG_HDRLEN,
};
use nflog::{Family, Hook, Packet, PacketAttr, Vlan};
use proptest::collection::vec;
use proptest::prelude::*;

/// Calls every accessor of a parsed packet, and walks every attribute and nest it exposes.
fn touch_everything(p: &Packet<&[u8]>) {
    let _ = (p.as_bytes(), p.family(), p.version(), p.group());
    let _ = (p.hw_protocol(), p.hook_number(), p.hook());
    let _ = (p.mark(), p.timestamp_parts(), p.timestamp());
    let _ = (p.indev(), p.outdev(), p.physindev(), p.physoutdev());
    let _ = (p.hwaddr(), p.payload(), p.prefix_bytes(), p.prefix());
    let _ = (p.uid(), p.gid(), p.seq(), p.seq_global());
    let _ = (p.hwtype(), p.hwheader(), p.hwlen());
    let _ = (p.conntrack(), p.ct_info(), p.l2hdr());
    if let Some(cta) = p.conntrack_attributes() {
        walk_attributes(cta, 0);
    }
    if let Some(tag) = p.vlan() {
        let _ = (tag.id(), tag.priority(), tag.drop_eligible());
    }
    for &attr in PacketAttr::ALL {
        let _ = p.attribute(attr);
    }
    for a in p.attributes() {
        let _ = (a.kind(), a.raw_type(), a.is_nested(), a.value());
        walk_attributes(a.nested(), 0);
    }
    let _ = format!("{p:?}");
    if let Some(addr) = p.hwaddr() {
        assert!(addr.len() <= 8, "an address of {} bytes", addr.len());
    }
}

/// Walks attributes and, a few levels down, whatever parses as nested attributes.
fn walk_attributes(attrs: Attributes<'_>, depth: usize) {
    for a in attrs {
        match a {
            Ok(a) => {
                let _ = (a.kind(), a.raw_type(), a.is_nested(), a.value());
                if depth < 3 {
                    walk_attributes(a.nested(), depth + 1);
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

fn parse_and_touch(body: &[u8]) {
    match Packet::parse(body) {
        Ok(p) => touch_everything(&p),
        Err(e) => {
            let _ = (e.to_string(), format!("{e:?}"));
        }
    }
}

/// Attribute types that hit every known number, its flagged forms, and unknown numbers.
fn attr_type() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => 0u16..=23,
        1 => (0u16..=23).prop_map(|t| t | NLA_F_NESTED),
        1 => (0u16..=23).prop_map(|t| t | NLA_F_NET_BYTEORDER),
        1 => any::<u16>(),
    ]
}

/// An attribute value: raw bytes, a nest of short attributes (the shape of NFULA_VLAN and
/// NFULA_CT), or a length-prefixed address (NFULA_HWADDR), so that the checks meet values of
/// every small size.
fn attr_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..24),
        vec((0u16..4, vec(any::<u8>(), 0..4)), 0..4).prop_map(|nest| {
            let mut out = Vec::new();
            for (kind, value) in nest {
                emit(&mut out, kind, &value);
            }
            out
        }),
        // The shape of NFULA_HWADDR: a small be16 length, padding, then the address.
        (0u16..=16, vec(any::<u8>(), 0..16)).prop_map(|(len, addr)| {
            let mut out = len.to_be_bytes().to_vec();
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&addr);
            out
        }),
    ]
}

/// A message body of well-framed attributes with arbitrary types and values: most parse,
/// or fail only on a value's size, so the accessors get exercised on odd shapes.
fn framed_body() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        vec((attr_type(), attr_value()), 0..12),
    )
        .prop_map(|(nfgenmsg, hdr, attrs)| {
            let mut out = nfgenmsg.to_vec();
            emit(&mut out, 1, &hdr);
            for (kind, value) in attrs {
                emit(&mut out, kind, &value);
            }
            out
        })
}

/// A framed body with a few bytes overwritten and maybe cut short.
fn mutated_body() -> impl Strategy<Value = Vec<u8>> {
    (
        framed_body(),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(mut body, edits, cut, do_cut)| {
            for (at, byte) in edits {
                let i = at.index(body.len());
                body[i] = byte;
            }
            if do_cut {
                body.truncate(cut.index(body.len() + 1));
            }
            body
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packet_parse_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..256)) {
        parse_and_touch(&bytes);
    }

    #[test]
    fn packet_parse_never_panics_on_framed_attributes(body in framed_body()) {
        parse_and_touch(&body);
    }

    #[test]
    fn packet_parse_never_panics_on_mutated_packets(body in mutated_body()) {
        parse_and_touch(&body);
    }

    #[test]
    fn attributes_never_panic_and_stop_after_an_error(bytes in vec(any::<u8>(), 0..256)) {
        let mut seen_error = false;
        let mut consumed = 0usize;
        for a in Attributes::new(&bytes) {
            prop_assert!(!seen_error, "nothing after an error");
            match a {
                Ok(a) => {
                    consumed += 4 + a.value().len();
                    prop_assert!(consumed <= bytes.len());
                    prop_assert_eq!(a.kind(), a.raw_type() & 0x3fff);
                    walk_attributes(a.nested(), 0);
                }
                Err(e) => {
                    let _ = e.to_string();
                    seen_error = true;
                }
            }
        }
    }

    #[test]
    fn messages_never_panic_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..256)) {
        let mut seen_error = false;
        let mut walked = Messages::new(&bytes);
        for m in walked.by_ref() {
            prop_assert!(!seen_error, "nothing after an error");
            match m {
                Ok(m) => {
                    prop_assert!(m.len() >= NLMSG_HDRLEN);
                    prop_assert_eq!(m.as_bytes().len(), m.len());
                    let _ = (m.message_type(), m.flags(), m.sequence(), m.port_id());
                    let _ = m.error_code();
                    parse_and_touch(m.body());
                    if let Ok(p) = Packet::from_message(m) {
                        touch_everything(&p);
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                    seen_error = true;
                }
            }
        }
        if !seen_error {
            prop_assert!(walked.remaining().is_empty());
        }
    }

    #[test]
    fn messages_never_panic_on_framed_packet_messages(
        bodies in vec(mutated_body(), 1..4),
        lie in any::<Option<(prop::sample::Index, u32)>>(),
    ) {
        let mut datagram = Vec::new();
        let mut starts = Vec::new();
        for body in &bodies {
            starts.push(datagram.len());
            let len = u32::try_from(NLMSG_HDRLEN + body.len()).unwrap();
            emit_header(&mut datagram, len, 0x0400, 0, 0);
            datagram.extend_from_slice(body);
            datagram.resize((datagram.len() + 3) & !3, 0);
        }
        if let Some((which, len)) = lie {
            let at = starts[which.index(starts.len())];
            datagram[at..at + 4].copy_from_slice(&len.to_ne_bytes());
        }
        for m in Messages::new(&datagram).map_while(Result::ok) {
            if let Ok(p) = Packet::from_message(m) {
                touch_everything(&p);
            }
        }
        if lie.is_none() {
            prop_assert_eq!(Messages::new(&datagram).count(), bodies.len());
            prop_assert!(Messages::new(&datagram).all(|m| m.is_ok()));
        }
    }
}

/// Every attribute value of a packet, as a sender would choose them.
#[derive(Debug, Clone)]
struct Fields {
    family: u8,
    group: u16,
    hw_protocol: u16,
    hook: u8,
    mark: Option<u32>,
    timestamp: Option<(u64, u64)>,
    indev: Option<u32>,
    outdev: Option<u32>,
    physindev: Option<u32>,
    physoutdev: Option<u32>,
    hwaddr: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    uid: Option<u32>,
    gid: Option<u32>,
    seq: Option<u32>,
    seq_global: Option<u32>,
    hwtype: Option<u16>,
    hwheader: Option<Vec<u8>>,
    hwlen: Option<u16>,
    conntrack: Option<Vec<(u16, Vec<u8>)>>,
    ct_info: Option<u32>,
    vlan: Option<(u16, u16)>,
    l2hdr: Option<Vec<u8>>,
    unknown: Vec<(u16, Vec<u8>)>,
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

prop_compose! {
    fn header_fields()(
        family in any::<u8>(),
        group in any::<u16>(),
        hw_protocol in any::<u16>(),
        hook in any::<u8>(),
        mark in any::<Option<u32>>(),
        timestamp in any::<Option<(u64, u64)>>(),
        indev in any::<Option<u32>>(),
        outdev in any::<Option<u32>>(),
        physindev in any::<Option<u32>>(),
        physoutdev in any::<Option<u32>>(),
        hwaddr in proptest::option::of(vec(any::<u8>(), 0..=8)),
        payload in proptest::option::of(bytes(100)),
    ) -> Fields {
        Fields {
            family, group, hw_protocol, hook, mark, timestamp, indev, outdev, physindev,
            physoutdev, hwaddr, payload, prefix: None, uid: None, gid: None, seq: None,
            seq_global: None, hwtype: None, hwheader: None, hwlen: None, conntrack: None,
            ct_info: None, vlan: None, l2hdr: None, unknown: Vec::new(),
        }
    }
}

prop_compose! {
    fn all_fields()(
        base in header_fields(),
        // Any bytes but NUL: the prefix ends at the first NUL.
        prefix in proptest::option::of(vec(1u8..=255, 0..40)),
        uid in any::<Option<u32>>(),
        gid in any::<Option<u32>>(),
        seq in any::<Option<u32>>(),
        seq_global in any::<Option<u32>>(),
        hwtype in any::<Option<u16>>(),
        hwheader in proptest::option::of(bytes(24)),
        hwlen in any::<Option<u16>>(),
        conntrack in proptest::option::of(vec((0u16..40, bytes(12)), 0..5)),
        ct_info in any::<Option<u32>>(),
        vlan in any::<Option<(u16, u16)>>(),
        l2hdr in proptest::option::of(bytes(24)),
        unknown in vec((prop_oneof![Just(0u16), 22u16..0x4000], bytes(16)), 0..4),
    ) -> Fields {
        Fields {
            prefix, uid, gid, seq, seq_global, hwtype, hwheader, hwlen, conntrack, ct_info,
            vlan, l2hdr, unknown, ..base
        }
    }
}

/// The attributes of `f`, each as (type, value) the way the kernel lays them out.
fn attributes_of(f: &Fields) -> Vec<(u16, Vec<u8>)> {
    let mut attrs = Vec::new();
    let mut hdr = f.hw_protocol.to_be_bytes().to_vec();
    hdr.extend_from_slice(&[f.hook, 0]);
    attrs.push((1, hdr));
    let mut be32 = |kind: u16, v: Option<u32>| {
        if let Some(v) = v {
            attrs.push((kind, v.to_be_bytes().to_vec()));
        }
    };
    be32(2, f.mark);
    be32(4, f.indev);
    be32(5, f.outdev);
    be32(6, f.physindev);
    be32(7, f.physoutdev);
    be32(11, f.uid);
    be32(12, f.seq);
    be32(13, f.seq_global);
    be32(14, f.gid);
    be32(19, f.ct_info);
    if let Some((sec, usec)) = f.timestamp {
        let mut v = sec.to_be_bytes().to_vec();
        v.extend_from_slice(&usec.to_be_bytes());
        attrs.push((3, v));
    }
    if let Some(addr) = &f.hwaddr {
        let mut v = u16::try_from(addr.len()).unwrap().to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(addr);
        v.resize(12, 0);
        attrs.push((8, v));
    }
    let raw = [(9, &f.payload), (16, &f.hwheader), (21, &f.l2hdr)];
    for (kind, v) in raw {
        if let Some(v) = v {
            attrs.push((kind, v.clone()));
        }
    }
    if let Some(prefix) = &f.prefix {
        let mut v = prefix.clone();
        v.push(0);
        attrs.push((10, v));
    }
    for (kind, v) in [(15, f.hwtype), (17, f.hwlen)] {
        if let Some(v) = v {
            attrs.push((kind, v.to_be_bytes().to_vec()));
        }
    }
    if let Some(ct) = &f.conntrack {
        let mut v = Vec::new();
        for (kind, value) in ct {
            emit(&mut v, *kind, value);
        }
        attrs.push((18, v));
    }
    if let Some((proto, tci)) = f.vlan {
        let mut v = Vec::new();
        emit(&mut v, 1, &proto.to_be_bytes());
        emit(&mut v, 2, &tci.to_be_bytes());
        attrs.push((20 | NLA_F_NESTED, v));
    }
    attrs.extend(f.unknown.iter().cloned());
    attrs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn emitted_packet_parses_back_to_the_same_values(
        (f, attrs) in all_fields()
            .prop_flat_map(|f| {
                let attrs = attributes_of(&f);
                (Just(f), Just(attrs).prop_shuffle())
            }),
    ) {
        let mut body = vec![f.family, 0];
        body.extend_from_slice(&f.group.to_be_bytes());
        for (kind, value) in &attrs {
            emit(&mut body, *kind, value);
        }
        let p = Packet::parse(&body).unwrap();
        prop_assert_eq!(p.as_bytes(), &body[..]);
        prop_assert_eq!(p.family(), Family::from_number(f.family));
        prop_assert_eq!(p.family().number(), f.family);
        prop_assert_eq!(p.version(), 0);
        prop_assert_eq!(p.group(), f.group);
        prop_assert_eq!(p.hw_protocol(), f.hw_protocol);
        prop_assert_eq!(p.hook_number(), f.hook);
        prop_assert_eq!(p.hook(), Hook::new(Family::from_number(f.family), f.hook));
        prop_assert_eq!(p.mark(), f.mark);
        prop_assert_eq!(p.timestamp_parts(), f.timestamp);
        if let Some((sec, usec)) = f.timestamp {
            // Small enough for any SystemTime: the exact instant.
            if sec < 1 << 40 && usec < 1 << 40 {
                let want = UNIX_EPOCH + Duration::from_secs(sec) + Duration::from_micros(usec);
                prop_assert_eq!(p.timestamp(), Some(want));
            } else {
                let _ = p.timestamp();
            }
        } else {
            prop_assert_eq!(p.timestamp(), None);
        }
        prop_assert_eq!(p.indev(), f.indev);
        prop_assert_eq!(p.outdev(), f.outdev);
        prop_assert_eq!(p.physindev(), f.physindev);
        prop_assert_eq!(p.physoutdev(), f.physoutdev);
        prop_assert_eq!(p.hwaddr(), f.hwaddr.as_deref());
        prop_assert_eq!(p.payload(), f.payload.as_deref());
        prop_assert_eq!(p.prefix_bytes(), f.prefix.as_deref());
        prop_assert_eq!(
            p.prefix().map(|c| c.into_owned()),
            f.prefix.as_deref().map(|b| String::from_utf8_lossy(b).into_owned())
        );
        prop_assert_eq!(p.uid(), f.uid);
        prop_assert_eq!(p.gid(), f.gid);
        prop_assert_eq!(p.seq(), f.seq);
        prop_assert_eq!(p.seq_global(), f.seq_global);
        prop_assert_eq!(p.hwtype(), f.hwtype);
        prop_assert_eq!(p.hwheader(), f.hwheader.as_deref());
        prop_assert_eq!(p.hwlen(), f.hwlen);
        prop_assert_eq!(p.ct_info(), f.ct_info);
        match &f.conntrack {
            Some(ct) => {
                let got: Vec<(u16, Vec<u8>)> = p
                    .conntrack_attributes()
                    .unwrap()
                    .map(|a| {
                        let a = a.unwrap();
                        (a.kind(), a.value().to_vec())
                    })
                    .collect();
                prop_assert_eq!(&got, ct);
            }
            None => {
                prop_assert_eq!(p.conntrack(), None);
                prop_assert!(p.conntrack_attributes().is_none());
            }
        }
        prop_assert_eq!(p.vlan(), f.vlan.map(|(proto, tci)| Vlan { proto, tci }));
        if let Some(tag) = p.vlan() {
            let tci = f.vlan.unwrap().1;
            prop_assert_eq!(
                (u16::from(tag.priority()) << 13)
                    | (u16::from(tag.drop_eligible()) << 12)
                    | tag.id(),
                tci
            );
        }
        prop_assert_eq!(p.l2hdr(), f.l2hdr.as_deref());

        // attributes(): everything, in the order emitted, unknown types included.
        let got: Vec<(u16, Vec<u8>)> =
            p.attributes().map(|a| (a.raw_type(), a.value().to_vec())).collect();
        prop_assert_eq!(&got, &attrs);
        for (kind, value) in &attrs {
            if let Some(known) = PacketAttr::from_number(kind & 0x3fff) {
                prop_assert_eq!(p.attribute(known), Some(&value[..]));
            }
        }
        touch_everything(&p);

        // Cut anywhere, the bytes still never panic.
        let cut = body.len() / 2;
        parse_and_touch(&body[..cut]);
    }
}
