//! Round trips through the writers and the reader, foreign byte order, damaged files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::read::data_range;
use super::*;
use crate::wire::packet::PacketRepr;
use crate::Packet;
use nflog_test_support::{encode_tlvs, Tlv};

/// An NFLOG record: nfgenmsg for group `group`, PACKET_HDR, PREFIX "p", PAYLOAD.
fn record(group: u16, payload: &[u8]) -> Vec<u8> {
    PacketRepr {
        group,
        hook: 1,
        prefix: Some(b"p".to_vec()),
        payload: Some(payload.to_vec()),
        ..PacketRepr::default()
    }
    .to_bytes()
}

fn at(secs: u64, micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros)
}

#[test]
fn pcap_round_trip() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let r1 = record(5, b"abc");
    let r2 = record(6, &[7; 40]);
    w.write_record(at(1_700_000_000, 123_456), &r1, r1.len())
        .unwrap();
    w.write_record(at(1_700_000_001, 999_999), &r2, 100)
        .unwrap();
    let bytes = w.into_inner();
    assert_eq!(&bytes[0..4], &0xA1B2C3D4u32.to_ne_bytes());
    assert_eq!(&bytes[20..24], &239u32.to_ne_bytes());

    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    assert_eq!(r.link_type(), Some(LinkType::Nflog));
    let a = r.next_record().unwrap().unwrap();
    assert_eq!(a.data, &r1[..]);
    assert_eq!(a.time, at(1_700_000_000, 123_456));
    assert_eq!(a.orig_len as usize, r1.len());
    let packet = Packet::parse(a.data).unwrap();
    assert_eq!(packet.group(), 5);
    assert_eq!(packet.payload(), Some(&b"abc"[..]));
    let b = r.next_record().unwrap().unwrap();
    assert_eq!(b.data, &r2[..]);
    assert_eq!(b.orig_len, 100);
    assert!(r.next_record().unwrap().is_none());
}

#[test]
fn pcapng_round_trip_with_one_interface_per_group() {
    let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let r1 = record(5, b"abc");
    let r2 = record(9, b"defgh");
    w.write_record(5, at(1_700_000_000, 1), &r1, r1.len())
        .unwrap();
    w.write_record(9, at(1_700_000_002, 2), &r2, r2.len())
        .unwrap();
    w.write_record(5, at(1_700_000_003, 3), &r1, r1.len())
        .unwrap();
    assert_eq!(w.groups(), &[5, 9]);
    let stats = InterfaceStats {
        received: 2,
        dropped: 1,
        start: Some(at(1_700_000_000, 0)),
        end: Some(at(1_700_000_004, 0)),
    };
    w.write_stats(5, &stats, at(1_700_000_004, 0)).unwrap();
    let bytes = w.into_inner();

    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let mut seen = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        assert_eq!(rec.link_type, LinkType::Nflog);
        seen.push((rec.interface, rec.time, rec.data.to_vec()));
    }
    assert_eq!(
        seen,
        vec![
            (0, at(1_700_000_000, 1), r1.clone()),
            (1, at(1_700_000_002, 2), r2),
            (0, at(1_700_000_003, 3), r1),
        ]
    );
}

/// Rewrites a pcap file written on this host as the other byte order would have written it.
fn swap_pcap(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let swap32 = |b: &mut [u8]| b.reverse();
    // file header: magic, version (2 x u16), zone, sigfigs, snaplen, linktype
    swap32(&mut out[0..4]);
    out[4..6].reverse();
    out[6..8].reverse();
    for range in [8..12, 12..16, 16..20, 20..24] {
        swap32(&mut out[range]);
    }
    let mut at = 24;
    while at < out.len() {
        let caplen = u32::from_ne_bytes(out[at + 8..at + 12].try_into().unwrap()) as usize;
        for field in 0..4 {
            swap32(&mut out[at + field * 4..at + field * 4 + 4]);
        }
        // The record's attribute headers, as the other host's kernel would have written them.
        swap_nflog_tlv_headers_to_foreign(&mut out[at + 16..at + 16 + caplen]);
        at += 16 + caplen;
    }
    out
}

#[test]
fn foreign_byte_order_pcap_reads_the_same() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let r1 = record(300, b"payload!");
    w.write_record(at(1_600_000_000, 42), &r1, r1.len())
        .unwrap();
    let native = w.into_inner();
    let foreign = swap_pcap(&native);
    assert_ne!(native, foreign);

    let mut r = CaptureReader::new(&foreign[..]).unwrap();
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.time, at(1_600_000_000, 42));
    assert_eq!(
        rec.data,
        &r1[..],
        "attribute headers come back in host order"
    );
    let p = Packet::parse(rec.data).unwrap();
    assert_eq!(p.group(), 300);
    assert_eq!(p.prefix().as_deref(), Some("p"));
}

#[test]
fn nanosecond_pcap_is_read() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&PCAP_MAGIC_NANOS.to_ne_bytes());
    bytes.extend_from_slice(&2u16.to_ne_bytes());
    bytes.extend_from_slice(&4u16.to_ne_bytes());
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_ne_bytes());
    bytes.extend_from_slice(&101u32.to_ne_bytes());
    for v in [10u32, 500, 2, 2] {
        bytes.extend_from_slice(&v.to_ne_bytes());
    }
    bytes.extend_from_slice(&[0x45, 0]);
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.link_type, LinkType::Raw);
    assert_eq!(rec.time, UNIX_EPOCH + Duration::new(10, 500));
}

#[test]
fn truncated_pcap_gives_every_whole_record_then_an_error() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let r1 = record(1, b"first");
    let r2 = record(1, b"second");
    w.write_record(at(1, 0), &r1, r1.len()).unwrap();
    w.write_record(at(2, 0), &r2, r2.len()).unwrap();
    let bytes = w.into_inner();
    for cut in [bytes.len() - 1, 24 + 16 + r1.len() + 5] {
        let mut r = CaptureReader::new(&bytes[..cut]).unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().data, &r1[..]);
        let err = r.next_record().unwrap_err();
        assert!(
            matches!(err, ReadError::Truncated { offset, .. } if offset == (24 + 16 + r1.len()) as u64),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("file cut short at byte"),
            "{err}"
        );
    }
}

#[test]
fn truncated_pcapng_gives_every_whole_record_then_an_error() {
    let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let r1 = record(1, b"first");
    w.write_record(1, at(1, 0), &r1, r1.len()).unwrap();
    w.write_record(1, at(2, 0), &r1, r1.len()).unwrap();
    let bytes = w.into_inner();
    let mut r = CaptureReader::new(&bytes[..bytes.len() - 3]).unwrap();
    assert!(r.next_record().unwrap().is_some());
    assert!(matches!(r.next_record(), Err(ReadError::Truncated { .. })));
}

#[test]
fn damaged_lengths_are_reported_not_allocated() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let r1 = record(1, b"x");
    w.write_record(at(1, 0), &r1, r1.len()).unwrap();
    let mut bytes = w.into_inner();
    bytes[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_ne_bytes());
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let err = r.next_record().unwrap_err();
    assert!(
        matches!(err, ReadError::Malformed { offset: 24, .. }),
        "{err}"
    );

    let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    w.write_record(1, at(1, 0), &r1, r1.len()).unwrap();
    let mut bytes = w.into_inner();
    let last = bytes.len() - 4;
    bytes[last..].copy_from_slice(&7u32.to_ne_bytes());
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    assert!(matches!(r.next_record(), Err(ReadError::Malformed { .. })));
}

#[test]
fn other_files_are_refused() {
    let err = CaptureReader::new(&b"hello world, not a capture"[..]).unwrap_err();
    assert!(matches!(err, ReadError::NotACapture { magic } if &magic == b"hell"));
    assert!(matches!(
        CaptureReader::new(&[0xd4u8, 0xc3][..]),
        Err(ReadError::Truncated { .. })
    ));
}

#[test]
fn arbitrary_bytes_after_a_valid_header_never_panic() {
    let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    w.interface(3).unwrap();
    let header = w.into_inner();
    let mut state = 0x1234_5678u32;
    for len in 0..300 {
        let mut bytes = header.clone();
        for _ in 0..len {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            bytes.push((state >> 24) as u8);
        }
        let mut r = CaptureReader::new(&bytes[..]).unwrap();
        for _ in 0..10 {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}

/// A bridge packet logged with a VLAN tag and its conntrack entry (flags CONNTRACK): the
/// kernel's nesting, NFULA_VLAN with NLA_F_NESTED, NFULA_CT and ctnetlink's nests without.
fn nested_record(foreign: bool) -> Vec<u8> {
    use Tlv::{Leaf, Nest};
    let tuple = |src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16| {
        vec![
            Nest(1, vec![Leaf(1, src.to_vec()), Leaf(2, dst.to_vec())]),
            Nest(
                2,
                vec![
                    Leaf(1, vec![6]),
                    Leaf(2, sport.to_be_bytes().to_vec()),
                    Leaf(3, dport.to_be_bytes().to_vec()),
                ],
            ),
        ]
    };
    let tlvs = vec![
        Leaf(1, vec![0x81, 0x00, 1, 0]),
        Nest(
            20 | 0x8000,
            vec![
                Leaf(2, 0x7064u16.to_be_bytes().to_vec()),
                Leaf(1, 0x88a8u16.to_be_bytes().to_vec()),
            ],
        ),
        Nest(
            18,
            vec![
                Nest(1, tuple([10, 0, 0, 1], [10, 0, 0, 2], 40000, 22)),
                Nest(2, tuple([10, 0, 0, 2], [10, 0, 0, 1], 22, 40000)),
                Leaf(3, 0x188u32.to_be_bytes().to_vec()),
                Nest(4, vec![Nest(1, vec![Leaf(1, vec![3]), Leaf(2, vec![7])])]),
                Nest(
                    6,
                    vec![
                        Leaf(1, vec![192, 0, 2, 1]),
                        Nest(3, vec![Leaf(1, vec![0, 80])]),
                    ],
                ),
                Leaf(12, 0xdead_beefu32.to_be_bytes().to_vec()),
                Leaf(8, 0x42u32.to_be_bytes().to_vec()),
            ],
        ),
        Leaf(19, 2u32.to_be_bytes().to_vec()),
        Leaf(9, vec![0x45, 0, 0, 20]),
    ];
    let mut out = vec![7, 0, 0, 5];
    encode_tlvs(&mut out, &tlvs, foreign);
    out
}

/// A packet block of [`pcapng_file`]: its interface, timestamp, data, and the captured
/// length it declares (the data's length when `None`).
struct Epb {
    interface: u32,
    stamp: u64,
    data: Vec<u8>,
    caplen: Option<u32>,
}

/// An interface description of [`pcapng_file`]: its link type and options (code, value).
type Idb = (u16, Vec<(u16, Vec<u8>)>);

/// A pcapng file in this host's byte order or the other one (`foreign`): a section header,
/// one interface description per entry of `interfaces` (link type and options), `packets`.
fn pcapng_file(foreign: bool, interfaces: &[Idb], packets: &[Epb]) -> Vec<u8> {
    let u32b = |v: u32| if foreign { v.swap_bytes() } else { v }.to_ne_bytes();
    let u16b = |v: u16| if foreign { v.swap_bytes() } else { v }.to_ne_bytes();
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let total = 12 + body.len() as u32;
        out.extend_from_slice(&u32b(kind));
        out.extend_from_slice(&u32b(total));
        out.extend_from_slice(body);
        out.extend_from_slice(&u32b(total));
    };
    let mut shb = u32b(PCAPNG_BYTE_ORDER_MAGIC).to_vec();
    shb.extend_from_slice(&u16b(1));
    shb.extend_from_slice(&u16b(0));
    shb.extend_from_slice(&[0xff; 8]);
    block(&mut out, 0x0A0D_0D0A, &shb);
    for (link, options) in interfaces {
        let mut idb = u16b(*link).to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&u32b(SNAPLEN));
        for (code, value) in options {
            idb.extend_from_slice(&u16b(*code));
            idb.extend_from_slice(&u16b(value.len() as u16));
            idb.extend_from_slice(value);
            idb.resize((idb.len() + 3) & !3, 0);
        }
        idb.extend_from_slice(&[0; 4]);
        block(&mut out, 1, &idb);
    }
    for p in packets {
        let mut epb = u32b(p.interface).to_vec();
        epb.extend_from_slice(&u32b((p.stamp >> 32) as u32));
        epb.extend_from_slice(&u32b(p.stamp as u32));
        epb.extend_from_slice(&u32b(p.caplen.unwrap_or(p.data.len() as u32)));
        epb.extend_from_slice(&u32b(p.data.len() as u32));
        epb.extend_from_slice(&p.data);
        epb.resize((epb.len() + 3) & !3, 0);
        block(&mut out, 6, &epb);
    }
    out
}

/// A pcapng file of one NFLOG interface and `records`, one second apart from 1 s, in this
/// host's byte order or the other one.
fn pcapng_in_order(records: &[Vec<u8>], foreign: bool) -> Vec<u8> {
    let packets: Vec<Epb> = records
        .iter()
        .enumerate()
        .map(|(i, data)| Epb {
            interface: 0,
            stamp: 1_000_000 * (i as u64 + 1),
            data: data.clone(),
            caplen: None,
        })
        .collect();
    pcapng_file(foreign, &[(239, Vec::new())], &packets)
}

#[test]
fn nested_attributes_of_a_foreign_record_are_swapped() {
    let native = nested_record(false);
    let foreign = nested_record(true);
    assert_ne!(native, foreign);
    let mut turned = foreign.clone();
    swap_nflog_tlv_headers(&mut turned);
    assert_eq!(turned, native, "every nest back in host order");
    let mut back = native.clone();
    swap_nflog_tlv_headers_to_foreign(&mut back);
    assert_eq!(back, foreign, "and out again");
}

#[test]
fn foreign_vlan_and_conntrack_records_read_as_native_ones() {
    let native = nested_record(false);
    for pcapng in [false, true] {
        let mut files = Vec::new();
        for foreign in [false, true] {
            let record = nested_record(foreign);
            files.push(if pcapng {
                pcapng_in_order(&[record], foreign)
            } else {
                let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
                w.write_record(at(1, 0), &nested_record(false), native.len())
                    .unwrap();
                let bytes = w.into_inner();
                if foreign {
                    let mut bytes = swap_pcap_header(&bytes);
                    bytes[40..].copy_from_slice(&record);
                    bytes
                } else {
                    bytes
                }
            });
        }
        for (file, foreign) in files.iter().zip([false, true]) {
            let mut r = CaptureReader::new(&file[..]).unwrap();
            let rec = r.next_record().unwrap().unwrap();
            assert_eq!(rec.data, &native[..], "pcapng {pcapng}, foreign {foreign}");
            let p = Packet::parse(rec.data).unwrap();
            assert_eq!(
                p.vlan(),
                Some(crate::Vlan {
                    proto: 0x88a8,
                    tci: 0x7064
                })
            );
            let ct = crate::conntrack::Conntrack::from_packet(&p)
                .unwrap()
                .unwrap();
            assert_eq!(ct.id(), Some(0xdead_beef));
            assert_eq!(ct.mark(), Some(0x42));
            let orig = ct.original().unwrap();
            assert_eq!(orig.src, Some([10, 0, 0, 1].into()));
            assert_eq!(orig.dst, Some([10, 0, 0, 2].into()));
            assert_eq!(
                (orig.protocol, orig.src_port, orig.dst_port),
                (Some(6), Some(40000), Some(22))
            );
            assert_eq!(ct.reply().unwrap().src_port, Some(22));
            assert_eq!(p.ct_info(), Some(2));
        }
    }
}

/// The pcap file header and the first record header of `bytes` in the other byte order.
fn swap_pcap_header(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[0..4].reverse();
    out[4..6].reverse();
    out[6..8].reverse();
    for at in (8..40).step_by(4) {
        out[at..at + 4].reverse();
    }
    out
}

#[test]
fn times_past_what_a_file_holds_are_written_as_its_last_time() {
    // A crafted NFULA_TIMESTAMP of 2^60 seconds: the microseconds overflow u64 (a panic in
    // debug builds, a wrapped time in release before).
    let far = UNIX_EPOCH + Duration::from_secs(1 << 60) + Duration::from_micros(5);
    let past_pcap = UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) + 1);
    let r1 = record(1, b"x");

    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    for time in [far, past_pcap] {
        w.write_record(time, &r1, r1.len()).unwrap();
    }
    let bytes = w.into_inner();
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let last = UNIX_EPOCH + Duration::from_micros(PCAP_LAST_MICROS);
    for _ in 0..2 {
        assert_eq!(r.next_record().unwrap().unwrap().time, last);
    }

    let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    w.write_record(1, far, &r1, r1.len()).unwrap();
    w.write_record(1, past_pcap, &r1, r1.len()).unwrap();
    let stats = InterfaceStats {
        received: 2,
        dropped: 0,
        start: Some(far),
        end: Some(far),
    };
    w.write_stats(1, &stats, far).unwrap();
    let bytes = w.into_inner();
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let last = UNIX_EPOCH + Duration::from_micros(u64::MAX);
    assert_eq!(r.next_record().unwrap().unwrap().time, last);
    assert_eq!(r.next_record().unwrap().unwrap().time, past_pcap);
    assert!(r.next_record().unwrap().is_none());
}

fn epb(interface: u32, stamp: u64, data: Vec<u8>) -> Epb {
    Epb {
        interface,
        stamp,
        data,
        caplen: None,
    }
}

#[test]
fn a_damaged_packet_block_is_reported_and_reading_goes_on() {
    let r1 = record(1, b"first");
    for foreign in [false, true] {
        let mut written = r1.clone();
        if foreign {
            swap_nflog_tlv_headers_to_foreign(&mut written);
        }
        let mut overrun = epb(0, 2, record(1, b"second"));
        overrun.caplen = Some(4000);
        let packets = [
            epb(0, 1, written.clone()),
            overrun,
            epb(3, 3, written.clone()),
            epb(0, 4, written),
        ];
        let bytes = pcapng_file(foreign, &[(239, Vec::new())], &packets);
        let blocks = 28 + 24; // SHB, IDB with only the end of options
        let second = blocks + 32 + r1.len().next_multiple_of(4);
        let second_len = 32 + record(1, b"second").len().next_multiple_of(4);
        let mut r = CaptureReader::new(&bytes[..]).unwrap();
        let first = r.next_record().unwrap().unwrap();
        assert_eq!((first.number, first.offset), (1, blocks as u64));
        let err = r.next_record().unwrap_err();
        assert!(
            matches!(err, ReadError::DamagedRecord { record: 2, offset, .. } if offset == second as u64),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "record 2 at byte {second} is damaged: packet of 4000 bytes does not fit its \
                 {second_len}-byte block"
            )
        );
        let err = r.next_record().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "record 3 at byte {} is damaged: packet for undeclared interface 3",
                second + second_len
            )
        );
        let last = r.next_record().unwrap().unwrap();
        assert_eq!((last.number, last.data), (4, &r1[..]));
        assert_eq!(last.time, at(0, 4));
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.records(), 4);
    }
}

#[test]
fn any_timestamp_resolution_is_read_rounded_to_the_nanosecond() {
    let r1 = record(1, b"x");
    // (if_tsresol, timestamp units, the time it is)
    let cases = [
        (0x8a, 1, Duration::from_nanos(976_563)), // 2^-10 s = 976562.5 ns
        (0x8a, 1024 * 3 + 512, Duration::from_millis(3_500)),
        (12, 1_500, Duration::from_nanos(2)), // picoseconds
        (12, 1_499, Duration::from_nanos(1)),
        (20, u64::MAX, Duration::from_nanos(184_467_441)), // 10^-20 s, refused before
        (0xff, u64::MAX, Duration::ZERO),                  // 2^-127 s
        (127, u64::MAX, Duration::ZERO),                   // 10^-127 s: more than u128 holds
        (0, 7, Duration::from_secs(7)),
        (9, 1_000_000_007, Duration::new(1, 7)),
    ];
    for (resol, units, since) in cases {
        for foreign in [false, true] {
            let bytes = pcapng_file(
                foreign,
                &[(239, vec![(9, vec![resol])])],
                &[epb(0, units, r1.clone())],
            );
            let mut r = CaptureReader::new(&bytes[..]).unwrap();
            let rec = r.next_record().unwrap().unwrap();
            assert_eq!(
                rec.time,
                UNIX_EPOCH + since,
                "if_tsresol {resol:#x}, {units} units"
            );
        }
    }
}

#[test]
fn if_tsoffset_shifts_every_timestamp_of_its_interface() {
    let r1 = record(1, b"x");
    for foreign in [false, true] {
        let order = |v: i64| if foreign { v.swap_bytes() } else { v };
        let bytes = pcapng_file(
            foreign,
            &[
                (239, vec![(14, order(1_700_000_000).to_ne_bytes().to_vec())]),
                (
                    239,
                    vec![(9, vec![0]), (14, order(-3).to_ne_bytes().to_vec())],
                ),
                (239, Vec::new()),
            ],
            &[
                epb(0, 5_000_001, r1.clone()),
                epb(1, 5, r1.clone()),
                epb(2, 5, r1.clone()),
            ],
        );
        let mut r = CaptureReader::new(&bytes[..]).unwrap();
        let times: Vec<SystemTime> = (0..3)
            .map(|_| r.next_record().unwrap().unwrap().time)
            .collect();
        assert_eq!(
            times,
            [at(1_700_000_005, 1), at(2, 0), at(0, 5)],
            "foreign {foreign}"
        );
    }
}

#[test]
fn a_time_no_system_time_holds_is_a_damaged_record() {
    let r1 = record(1, b"x");
    let bytes = pcapng_file(
        false,
        &[(
            239,
            vec![(9, vec![0]), (14, (i64::MAX - 1).to_ne_bytes().to_vec())],
        )],
        &[epb(0, u64::MAX, r1.clone()), epb(0, 1, r1.clone())],
    );
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let err = r.next_record().unwrap_err();
    assert!(
        matches!(err, ReadError::DamagedRecord { record: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("past any time this system holds"),
        "{err}"
    );
    // Only that record: the next one, 1 s plus the offset, is a time SystemTime holds.
    assert!(r.next_record().is_ok());
}

#[test]
fn packet_data_that_would_wrap_the_address_space_does_not_fit() {
    // On a 32-bit target a caplen near 4 GiB made `data_at + caplen` wrap below the body
    // length; the helper is checked for any usize.
    assert_eq!(data_range(20, usize::MAX - 10, 100), None);
    assert_eq!(data_range(20, usize::MAX, 100), None);
    assert_eq!(data_range(20, 80, 100), Some(20..100));
    assert_eq!(data_range(20, 81, 100), None);
    assert_eq!(data_range(4, 0, 4), Some(4..4));
}

#[test]
fn a_damaged_interface_description_costs_only_its_packets() {
    let r1 = record(1, b"x");
    let mut bytes = pcapng_file(
        false,
        &[(239, Vec::new())],
        &[epb(0, 1, r1.clone()), epb(1, 2, r1.clone())],
    );
    // A 16-byte interface description (body of 4 bytes) before the packets: interface 0 is
    // damaged, interface 1 the whole one.
    let idb_at = 28;
    let mut damaged = Vec::new();
    for v in [1u32, 16, 0xEF, 16] {
        damaged.extend_from_slice(&v.to_ne_bytes());
    }
    bytes.splice(idb_at..idb_at, damaged);
    let mut r = CaptureReader::new(&bytes[..]).unwrap();
    let err = r.next_record().unwrap_err();
    assert!(
        err.to_string().ends_with(&format!(
            "packet for interface 0, whose description at byte {idb_at} is too short"
        )),
        "{err}"
    );
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!((rec.number, rec.interface, rec.data), (2, 1, &r1[..]));
    assert!(r.next_record().unwrap().is_none());
}
