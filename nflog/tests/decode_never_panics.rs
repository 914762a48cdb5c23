//! Property tests of the header decoder: any EtherType, family and payload decode without a
//! panic and without allocating, and what comes out is consistent.
#![cfg(feature = "decode")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nflog::decode::{decode_payload, Cut, Decoded, Layer, Network};
use nflog::Family;
use proptest::collection::vec;
use proptest::prelude::*;

/// The system allocator, counting the allocations of the thread that asks it to.
struct Counting;

thread_local! {
    /// Allocations made on this thread while counting, or `None` when not counting.
    static ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

// SAFETY: every call is passed on to `System` unchanged; the counter is a const-initialised
// thread-local `Cell`, which neither allocates nor panics (`try_with` during teardown).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get().map(|n| n + 1)));
        // SAFETY: the caller's guarantees for `alloc` hold for `System.alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get().map(|n| n + 1)));
        // SAFETY: `ptr` came from `System` with this layout; the caller checked `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Decodes, and counts the allocations made while doing it.
fn decode_counting(hw_protocol: u16, family: Family, payload: &[u8]) -> (Decoded, usize) {
    ALLOCATIONS.with(|count| count.set(Some(0)));
    let decoded = decode_payload(hw_protocol, family, payload);
    let allocations = ALLOCATIONS.with(|count| count.replace(None)).unwrap_or(0);
    (decoded, allocations)
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
    ALLOCATIONS.with(|count| count.set(Some(0)));
    let buffer = std::hint::black_box(Vec::<u8>::with_capacity(8));
    let allocations = ALLOCATIONS.with(|count| count.replace(None));
    drop(buffer);
    assert_eq!(allocations, Some(1));
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
