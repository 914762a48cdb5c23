//! Property tests of the header decoder: any EtherType, family and payload decode without a
//! panic and without allocating, and what comes out is consistent.
#![cfg(feature = "decode")]

use nflog::decode::{decode_payload, Cut, Decoded, Layer, Network};
use nflog::Family;
use nflog_test_support::{watch_allocations, CountingAllocator};
use proptest::collection::vec;
use proptest::prelude::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Decodes, and counts the allocations made while doing it.
fn decode_counting(hw_protocol: u16, family: Family, payload: &[u8]) -> (Decoded, usize) {
    let (decoded, allocations) = watch_allocations(|| decode_payload(hw_protocol, family, payload));
    (decoded, allocations.count)
}

/// What holds for any decoded payload.
fn check(decoded: &Decoded, allocations: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(allocations, 0, "decoding allocated");
    // A transport layer only above a network layer, and never for ARP.
    if decoded.transport.is_some() {
        prop_assert!(matches!(
            decoded.network,
            Some(Network::Ipv4(_) | Network::Ipv6(_))
        ));
    }
    match decoded.cut {
        // Nothing understood of the network layer: no layer at all.
        Some(Cut::Malformed(Layer::Network)) if decoded.network.is_none() => {
            prop_assert!(decoded.transport.is_none())
        }
        // An extension header or the transport cut: the network layer is there.
        Some(Cut::Extension | Cut::Transport | Cut::Malformed(Layer::Transport)) => {
            prop_assert!(decoded.network.is_some())
        }
        _ => {}
    }
    if matches!(decoded.cut, Some(Cut::Extension | Cut::Network)) {
        prop_assert!(decoded.transport.is_none());
    }
    Ok(())
}

#[test]
fn the_allocation_counter_counts() {
    let (buffer, allocations) =
        watch_allocations(|| std::hint::black_box(Vec::<u8>::with_capacity(8)));
    drop(buffer);
    assert_eq!((allocations.count, allocations.largest), (1, 8));
}

fn hw_protocol() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0),
        Just(0x0800),
        Just(0x86dd),
        Just(0x0806),
        Just(0x8100),
        any::<u16>(),
    ]
}

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![
        Just(Family::Ipv4),
        Just(Family::Ipv6),
        Just(Family::Arp),
        Just(Family::Bridge),
        Just(Family::Netdev),
        any::<u8>().prop_map(Family::from_number),
    ]
}

/// Protocol numbers the decoder follows: transports, IPv6 extension headers, AH.
fn ip_protocol() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(vec![0u8, 1, 6, 17, 43, 44, 51, 58, 60, 136]),
        any::<u8>(),
    ]
}

/// Bytes that pass the first checks of an IPv4 header, so that deeper parsers are reached.
fn ipv4_like() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(any::<u8>(), 0..160),
        5u8..=15,
        ip_protocol(),
        any::<bool>(),
    )
        .prop_map(|(mut bytes, ihl, protocol, first_fragment)| {
            if let Some(byte) = bytes.get_mut(0) {
                *byte = 0x40 | ihl;
            }
            if first_fragment && bytes.len() > 7 {
                bytes[6] &= 0xe0;
                bytes[7] = 0;
            }
            if let Some(byte) = bytes.get_mut(9) {
                *byte = protocol;
            }
            bytes
        })
}

/// Bytes with an IPv6 version and a chosen next header (often an extension header).
fn ipv6_like() -> impl Strategy<Value = Vec<u8>> {
    (vec(any::<u8>(), 0..200), ip_protocol(), ip_protocol()).prop_map(|(mut bytes, next, after)| {
        if let Some(byte) = bytes.get_mut(0) {
            *byte = 0x60 | (*byte & 0x0f);
        }
        if let Some(byte) = bytes.get_mut(6) {
            *byte = next;
        }
        // The first extension header's own next header.
        if let Some(byte) = bytes.get_mut(40) {
            *byte = after;
        }
        bytes
    })
}

/// ARP with Ethernet/IPv4 lengths, so the addresses are read.
fn arp_like() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..40).prop_map(|mut bytes| {
        if bytes.len() >= 6 {
            bytes[..2].copy_from_slice(&[0, 1]);
            bytes[4] = 6;
            bytes[5] = 4;
        }
        bytes
    })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..256),
        ipv4_like(),
        ipv6_like(),
        arp_like(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_input_decodes_without_panic(
        hw_protocol in hw_protocol(),
        family in family(),
        payload in payload(),
    ) {
        let (decoded, allocations) = decode_counting(hw_protocol, family, &payload);
        check(&decoded, allocations)?;
    }

    #[test]
    fn every_prefix_of_a_payload_decodes(
        hw_protocol in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x0806)],
        payload in payload(),
    ) {
        // What the copy range does to a packet: keep the first `len` bytes.
        for len in 0..=payload.len() {
            let (decoded, allocations) =
                decode_counting(hw_protocol, Family::Unspec, &payload[..len]);
            check(&decoded, allocations)?;
        }
    }
}
