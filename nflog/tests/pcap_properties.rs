//! Properties of the pcap and pcapng writers and reader: what is written reads back the
//! same; a file cut anywhere reads as its whole records, then a cut is reported (or a clean
//! end at a record boundary); arbitrary bytes never make the reader panic; a record written
//! in the other byte order, nests included, reads as the one written in this host's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nflog::pcap::{
    swap_nflog_tlv_headers_to_foreign, CaptureReader, InterfaceStats, LinkType, PcapWriter,
    PcapngWriter, ReadError,
};
use nflog::PacketRepr;
use nflog_test_support::{encode_tlvs, Tlv};
use proptest::collection::vec;
use proptest::prelude::*;

/// What one record is made of: its group, time (seconds, microseconds), payload, and how
/// much longer the packet was than what was captured.
#[derive(Debug, Clone)]
struct Written {
    group: u16,
    secs: u32,
    micros: u32,
    payload: Vec<u8>,
    cut_off: u32,
}

impl Written {
    /// An NFLOG record: nfgenmsg for `group`, PACKET_HDR, PREFIX, PAYLOAD.
    fn data(&self) -> Vec<u8> {
        PacketRepr {
            group: self.group,
            hook: 1,
            prefix: Some(b"prop".to_vec()),
            payload: Some(self.payload.clone()),
            ..PacketRepr::default()
        }
        .to_bytes()
    }

    fn time(&self) -> SystemTime {
        UNIX_EPOCH
            + Duration::from_secs(u64::from(self.secs))
            + Duration::from_micros(u64::from(self.micros))
    }
}

fn written() -> impl Strategy<Value = Written> {
    (
        0u16..4,
        any::<u32>(),
        0u32..1_000_000,
        vec(any::<u8>(), 0..200),
        prop_oneof![Just(0u32), 1u32..70_000],
    )
        .prop_map(|(group, secs, micros, payload, cut_off)| Written {
            group,
            secs,
            micros,
            payload,
            cut_off,
        })
}

/// A file of `records`: pcap, or pcapng (one interface per group, statistics at the end).
fn file(records: &[Written], pcapng: bool) -> Vec<u8> {
    if pcapng {
        let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        for r in records {
            let data = r.data();
            let orig = data.len() + r.cut_off as usize;
            w.write_record(r.group, r.time(), &data, orig).unwrap();
        }
        let groups = w.groups().to_vec();
        for group in groups {
            let stats = InterfaceStats {
                received: 1,
                dropped: 0,
                start: None,
                end: None,
            };
            w.write_stats(group, &stats, UNIX_EPOCH).unwrap();
        }
        w.into_inner()
    } else {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        for r in records {
            let data = r.data();
            let orig = data.len() + r.cut_off as usize;
            w.write_record(r.time(), &data, orig).unwrap();
        }
        w.into_inner()
    }
}

/// Reads every record of `bytes`: (interface, time, original length, data), and how the
/// reading ended.
type Read = (Vec<(u32, SystemTime, u32, Vec<u8>)>, Result<(), ReadError>);

fn read_all(bytes: &[u8]) -> Read {
    let mut records = Vec::new();
    let mut reader = match CaptureReader::new(bytes) {
        Ok(reader) => reader,
        Err(e) => return (records, Err(e)),
    };
    loop {
        match reader.next_record() {
            Ok(Some(r)) => records.push((r.interface, r.time, r.orig_len, r.data.to_vec())),
            Ok(None) => return (records, Ok(())),
            Err(e) => return (records, Err(e)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn what_is_written_reads_back(records in vec(written(), 0..12), pcapng in any::<bool>()) {
        let bytes = file(&records, pcapng);
        let (read, end) = read_all(&bytes);
        prop_assert!(end.is_ok(), "{:?}", end);
        prop_assert_eq!(read.len(), records.len());
        // pcapng numbers interfaces in the order groups first appear.
        let mut groups: Vec<u16> = Vec::new();
        for (r, (interface, time, orig_len, data)) in records.iter().zip(&read) {
            if !groups.contains(&r.group) {
                groups.push(r.group);
            }
            let expected_interface = if pcapng {
                groups.iter().position(|&g| g == r.group).unwrap() as u32
            } else {
                0
            };
            prop_assert_eq!(*interface, expected_interface);
            prop_assert_eq!(*time, r.time());
            prop_assert_eq!(data, &r.data());
            prop_assert_eq!(*orig_len as usize, r.data().len() + r.cut_off as usize);
            let packet = nflog::Packet::parse(data).unwrap();
            prop_assert_eq!(packet.group(), r.group);
            prop_assert_eq!(packet.payload(), Some(&r.payload[..]));
        }
    }

    #[test]
    fn a_cut_file_gives_its_whole_records_then_says_where_it_was_cut(
        records in vec(written(), 1..6),
        pcapng in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = file(&records, pcapng);
        let whole = read_all(&bytes).0;
        let at = cut.index(bytes.len());
        let (read, end) = read_all(&bytes[..at]);
        // What was read is the start of what was written, record for record.
        prop_assert!(read.len() <= whole.len());
        prop_assert_eq!(&read[..], &whole[..read.len()]);
        match end {
            // A cut at a block or record boundary is an end like any other.
            Ok(()) => {}
            Err(ReadError::Truncated { offset, .. }) => {
                prop_assert!(offset <= at as u64, "cut at {} reported at {}", at, offset);
            }
            Err(other) => prop_assert!(false, "cut at {}: {}", at, other),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        head in prop_oneof![
            Just(vec![0xd4, 0xc3, 0xb2, 0xa1]),
            Just(vec![0xa1, 0xb2, 0xc3, 0xd4]),
            Just(vec![0x0a, 0x0d, 0x0d, 0x0a]),
            vec(any::<u8>(), 0..4),
        ],
        rest in vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = head;
        bytes.extend_from_slice(&rest);
        let (read, _) = read_all(&bytes);
        for (_, _, _, data) in read {
            // Records are only bytes: parsing them may fail, never panic.
            let _ = nflog::Packet::parse(&data);
        }
    }
}

fn leaves(kinds: core::ops::RangeInclusive<u16>) -> impl Strategy<Value = Vec<Tlv>> {
    vec(
        (kinds, vec(any::<u8>(), 0..10)).prop_map(|(k, v)| Tlv::Leaf(k, v)),
        0..4,
    )
}

/// A conntrack entry as ctnetlink nests it (no NLA_F_NESTED anywhere): tuples with their
/// IP and PROTO nests, PROTOINFO with a TCP nest, counters, NAT with its PROTO nest, leaves.
fn conntrack() -> impl Strategy<Value = Tlv> {
    let tuple = (
        prop_oneof![Just(1u16), Just(2), Just(14)],
        leaves(1..=4),
        leaves(1..=9),
    )
        .prop_map(|(kind, ip, proto)| Tlv::Nest(kind, vec![Tlv::Nest(1, ip), Tlv::Nest(2, proto)]));
    let protoinfo = leaves(1..=5).prop_map(|tcp| Tlv::Nest(4, vec![Tlv::Nest(1, tcp)]));
    let counters =
        (prop_oneof![Just(9u16), Just(10)], leaves(1..=2)).prop_map(|(k, l)| Tlv::Nest(k, l));
    let nat = (
        prop_oneof![Just(6u16), Just(13)],
        leaves(1..=2),
        leaves(1..=2),
    )
        .prop_map(|(kind, mut members, ports)| {
            members.push(Tlv::Nest(3, ports));
            Tlv::Nest(kind, members)
        });
    let leaf = (
        prop_oneof![
            Just(3u16),
            Just(7),
            Just(8),
            Just(11),
            Just(12),
            Just(18),
            Just(22)
        ],
        vec(any::<u8>(), 0..17),
    )
        .prop_map(|(k, v)| Tlv::Leaf(k, v));
    vec(prop_oneof![tuple, protoinfo, counters, nat, leaf], 0..8).prop_map(|m| Tlv::Nest(18, m))
}

/// A record's attributes: PACKET_HDR, then in any order a VLAN nest (NLA_F_NESTED), a
/// conntrack entry, an unknown attribute with NLA_F_NESTED, and leaves.
fn nested_attributes() -> impl Strategy<Value = Vec<Tlv>> {
    let vlan = leaves(1..=2).prop_map(|m| Tlv::Nest(20 | 0x8000, m));
    let unknown = leaves(1..=40).prop_map(|m| Tlv::Nest(40 | 0x8000, m));
    let leaf = (
        prop_oneof![Just(2u16), Just(9), Just(10), Just(19), Just(21)],
        vec(any::<u8>(), 4..24),
    )
        .prop_map(|(k, v)| Tlv::Leaf(k, v));
    vec(prop_oneof![vlan, conntrack(), unknown, leaf], 0..6).prop_map(|mut tlvs| {
        tlvs.insert(0, Tlv::Leaf(1, vec![0x08, 0x00, 1, 0]));
        tlvs
    })
}

/// A pcap file of one record, its headers in this host's byte order or the other one.
fn pcap_in_order(record: &[u8], foreign: bool) -> Vec<u8> {
    let order = |v: u32| if foreign { v.swap_bytes() } else { v };
    let mut out = order(0xA1B2_C3D4).to_ne_bytes().to_vec();
    for v in [2u16, 4] {
        out.extend_from_slice(&if foreign { v.swap_bytes() } else { v }.to_ne_bytes());
    }
    for v in [
        0,
        0,
        262_144,
        239,
        7,
        0,
        record.len() as u32,
        record.len() as u32,
    ] {
        out.extend_from_slice(&order(v).to_ne_bytes());
    }
    out.extend_from_slice(record);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_foreign_record_with_nests_reads_as_the_native_one(tlvs in nested_attributes()) {
        let mut native = vec![7, 0, 0, 5];
        encode_tlvs(&mut native, &tlvs, false);
        let mut foreign = vec![7, 0, 0, 5];
        encode_tlvs(&mut foreign, &tlvs, true);

        let mut turned = native.clone();
        swap_nflog_tlv_headers_to_foreign(&mut turned);
        prop_assert_eq!(&turned, &foreign);

        for bytes in [pcap_in_order(&native, false), pcap_in_order(&foreign, true)] {
            let mut reader = CaptureReader::new(&bytes[..]).unwrap();
            let record = reader.next_record().unwrap().unwrap();
            prop_assert_eq!(record.data, &native[..]);
            prop_assert_eq!(record.time, UNIX_EPOCH + Duration::from_secs(7));
        }
    }
}
