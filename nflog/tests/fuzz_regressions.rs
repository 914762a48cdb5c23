//! Regression tests for what the fuzz targets (`fuzz/`, see its README) found, each on the
//! minimised input as a static byte array.

use nflog::pcap::{CaptureReader, ReadError};
use nflog_test_support::{watch_allocations, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f`, and returns what it returned and the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, allocations) = watch_allocations(f);
    (out, allocations.largest)
}

/// Reads `file` to its end or first error, and returns that error.
fn read_to_error(file: &[u8]) -> Option<ReadError> {
    let mut reader = match CaptureReader::new(file) {
        Ok(reader) => reader,
        Err(e) => return Some(e),
    };
    loop {
        match reader.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

/// Far below the 16 MiB that the inputs declare, far above what 48 bytes need.
const SMALL: usize = 64 * 1024;

/// Found through `capture_file`'s low rate (such inputs took 11 ms each under ASan, and
/// ran the target at a fifth of `datagram`'s speed): a pcap file header
/// (little-endian, LINKTYPE_NFLOG) and one record header declaring 16777215 captured bytes,
/// then 8 bytes. The reader resized its buffer to the declared length before reading, so
/// every such file allocated and zeroed 16 MiB.
static PCAP_HUGE_RECORD: [u8; 48] = [
    0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0xef, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, //
    0xff, 0xff, 0xff, 0x00, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, //
];

#[test]
fn a_pcap_record_declaring_16_mib_in_a_small_file_is_not_allocated() {
    let (error, largest) = largest_allocation(|| read_to_error(&PCAP_HUGE_RECORD));
    match error {
        Some(ReadError::Truncated {
            offset: 24,
            what: "record",
            needed: 0xff_ffff,
            available: 8,
        }) => {}
        other => panic!("expected the record to be cut short, got {other:?}"),
    }
    assert!(
        largest < SMALL,
        "allocated {largest} bytes for a 48-byte file"
    );
}

/// Found like [`PCAP_HUGE_RECORD`]: a pcapng section header (little-endian, version 1.0),
/// then an enhanced packet block whose length says 16777200 bytes, then 8 bytes.
static PCAPNG_HUGE_BLOCK: [u8; 44] = [
    0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, //
    0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //
    0x1c, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0xf0, 0xff, 0xff, 0x00, //
    0x79, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79, //
];

#[test]
fn a_pcapng_block_declaring_16_mib_in_a_small_file_is_not_allocated() {
    let (error, largest) = largest_allocation(|| read_to_error(&PCAPNG_HUGE_BLOCK));
    match error {
        Some(ReadError::Truncated {
            offset: 28,
            what: "block",
            needed: 0xff_ffe8,
            available: 8,
        }) => {}
        other => panic!("expected the block to be cut short, got {other:?}"),
    }
    assert!(
        largest < SMALL,
        "allocated {largest} bytes for a 44-byte file"
    );
}

/// Found like [`PCAP_HUGE_RECORD`]: a pcapng section header block whose length says
/// 16777200 bytes, then 8 bytes.
static PCAPNG_HUGE_SECTION_HEADER: [u8; 20] = [
    0x0a, 0x0d, 0x0d, 0x0a, 0xf0, 0xff, 0xff, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, //
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
];

#[test]
fn a_pcapng_section_header_declaring_16_mib_in_a_small_file_is_not_allocated() {
    let (error, largest) = largest_allocation(|| read_to_error(&PCAPNG_HUGE_SECTION_HEADER));
    match error {
        Some(ReadError::Truncated {
            offset: 0,
            what: "section header",
            needed: 0xff_ffe4,
            available: 8,
        }) => {}
        other => panic!("expected the section header to be cut short, got {other:?}"),
    }
    assert!(
        largest < SMALL,
        "allocated {largest} bytes for a 20-byte file"
    );
}
