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

/// Found by `packet`: a packet message whose `NFULA_TIMESTAMP` says 0x400000006b0a6a04
/// seconds, past the last second the calendar can show. The time was clamped to that last
/// moment in UTC, and the text format, at UTC+14 (the fuzz targets' zone), then asked
/// chrono for a local date past the calendar's end, which panics.
static PACKET_PAST_THE_CALENDAR: [u8; 164] = [
    0x02, 0x00, 0x00, 0x15, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, //
    0x07, 0x00, 0x0a, 0x00, 0x69, 0x74, 0x00, 0x00, 0x08, 0x00, 0x04, 0x00, //
    0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x08, 0x00, 0x00, 0x06, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x0f, 0x00, //
    0x03, 0x04, 0x00, 0x00, 0x06, 0x00, 0x11, 0x00, 0x00, 0x0e, 0x00, 0x00, //
    0x12, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x14, 0x00, 0x03, 0x00, //
    0x40, 0x00, 0x00, 0x00, 0x6b, 0x0a, 0x6a, 0x04, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x04, 0x1c, 0xfe, 0x40, 0x00, 0x09, 0x00, 0x45, 0x00, 0x00, 0x3c, //
    0x39, 0xee, 0xc0, 0x7e, 0xbf, 0xf3, 0x02, 0xcc, 0x7f, 0x00, 0x00, 0x01, //
    0x7f, 0x00, 0x00, 0x01, 0x90, 0x66, 0x15, 0xb3, 0x5e, 0xfb, 0xad, 0xb4, //
    0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xff, 0xd7, 0xfe, 0x30, 0x00, 0x00, //
    0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a, 0x61, 0xda, 0x3f, 0x0f, //
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a, //
];

#[test]
fn a_stamp_past_the_calendar_is_written_in_a_zone_east_of_utc() {
    use nflog::format::{JsonFormat, ResolveInterface, TextFormat, TimeZone, XmlFormat};
    use std::time::{Duration, UNIX_EPOCH};

    struct NoNames;
    impl ResolveInterface for NoNames {
        fn interface_name(&mut self, _: u32) -> Option<&str> {
            None
        }
    }
    let packet = nflog::Packet::parse(&PACKET_PAST_THE_CALENDAR[..]).expect("it parses");
    assert_eq!(
        packet.timestamp_parts(),
        Some((0x4000_0000_6b0a_6a04, 0x0004_1cfe))
    );
    let received = UNIX_EPOCH + Duration::from_secs(1_795_840_506);
    for zone in [
        TimeZone::Fixed(14 * 3600),
        TimeZone::Fixed(-12 * 3600),
        TimeZone::Utc,
    ] {
        let mut out = Vec::new();
        TextFormat::new()
            .time_zone(zone)
            .hostname("h")
            .write(&mut out, &packet, received, &mut NoNames)
            .expect("writing to a Vec");
        // The calendar's last day, 31 December of year 262143, in every zone.
        assert!(
            out.starts_with(b"Dec 31 "),
            "{zone:?}: {}",
            String::from_utf8_lossy(&out)
        );
        out.clear();
        JsonFormat::new()
            .time_zone(zone)
            .write(&mut out, &packet, received, &mut NoNames)
            .expect("writing to a Vec");
        let text = std::str::from_utf8(&out).expect("JSON is UTF-8");
        assert!(
            serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object()),
            "{zone:?}: {text}"
        );
        // JSON's `timestamp` string ends at the year 9999, in the zone's own time.
        assert!(
            text.starts_with("{\"timestamp\": \"9999-12-31T23:59:59."),
            "{zone:?}: {text}"
        );
        out.clear();
        XmlFormat::new()
            .time_zone(zone)
            .write(&mut out, &packet, received, &mut NoNames)
            .expect("writing to a Vec");
    }
}
