//! Golden test of the JSON format against ulogd2 2.0.8.
//!
//! `fixtures/ulogd/datagrams-group5.hex` holds the netlink datagrams ulogd2 received on
//! group 5 (recorded with strace; see `fixtures/ulogd/README.md`) and `ulogd.json` what
//! its JSON plugin wrote for them, one line per packet message, with `TZ=UTC`. We replay
//! the datagrams and compare our lines, without our last key `"nflog.group"`, byte for
//! byte. A second test checks that, once warmed up, formatting allocates nothing.
#![cfg(feature = "format")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nflog::format::{JsonFormat, ResolveInterface, Row, TimeZone, Value};
use nflog::wire::Messages;
use nflog::Packet;
use nflog_test_support::{watch_allocations, CountingAllocator};

const DATAGRAMS: &str = include_str!("fixtures/ulogd/datagrams-group5.hex");
const EXPECTED: &str = include_str!("fixtures/ulogd/ulogd.json");

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The golden run's network namespace had only `lo`, index 1.
struct GoldenNames;

impl ResolveInterface for GoldenNames {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        (index == 1).then_some("lo")
    }
}

fn unhex(line: &str) -> Vec<u8> {
    assert!(line.len() % 2 == 0, "odd hex line");
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
        .collect()
}

/// The datagrams were recorded on x86-64: netlink and attribute headers are little-endian.
/// Rewrites them in this host's order (the identity on little-endian hosts).
fn host_order(datagram: &[u8]) -> Vec<u8> {
    fn swap<const N: usize>(bytes: &mut [u8], at: usize) {
        let mut field: [u8; N] = bytes[at..at + N].try_into().unwrap();
        if cfg!(target_endian = "big") {
            field.reverse();
        }
        bytes[at..at + N].copy_from_slice(&field);
    }
    let mut out = datagram.to_vec();
    let mut at = 0;
    while at + 16 <= out.len() {
        let len = u32::from_le_bytes(out[at..at + 4].try_into().unwrap()) as usize;
        let kind = u16::from_le_bytes([out[at + 4], out[at + 5]]);
        let end = (at + len).min(out.len());
        // nlmsghdr: len, type, flags, seq, pid.
        for (offset, size) in [(0, 4), (4, 2), (6, 2), (8, 4), (12, 4)] {
            match size {
                4 => swap::<4>(&mut out, at + offset),
                _ => swap::<2>(&mut out, at + offset),
            }
        }
        // Packet messages: nfgenmsg, then attributes whose len and type are host order.
        if kind == 0x0400 {
            let mut attr = at + 16 + 4;
            while attr + 4 <= end {
                let attr_len = u16::from_le_bytes([out[attr], out[attr + 1]]);
                swap::<2>(&mut out, attr);
                swap::<2>(&mut out, attr + 2);
                attr += (usize::from(attr_len).max(4) + 3) & !3;
            }
        }
        at += (len.max(16) + 3) & !3;
    }
    out
}

/// `oob.time.sec` and `oob.time.usec` of an expected line: the time ulogd used.
fn ulogd_time(line: &str) -> SystemTime {
    let number = |key: &str| -> u64 {
        let at = line.find(key).unwrap() + key.len();
        let digits: String = line[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().unwrap()
    };
    UNIX_EPOCH
        + Duration::from_secs(number("\"oob.time.sec\": "))
        + Duration::from_micros(number("\"oob.time.usec\": "))
}

/// The golden datagrams in this host's byte order.
fn datagrams() -> Vec<Vec<u8>> {
    DATAGRAMS
        .lines()
        .map(|line| host_order(&unhex(line)))
        .collect()
}

#[test]
fn replay_matches_ulogd_byte_for_byte() {
    let expected: Vec<&str> = EXPECTED.lines().collect();
    assert_eq!(expected.len(), 8);
    let mut format = JsonFormat::new().time_zone(TimeZone::Utc);
    let mut names = GoldenNames;
    let mut count = 0;
    for datagram in datagrams() {
        for message in Messages::new(&datagram) {
            let message = message.unwrap();
            // ACKs and NLMSG_DONE are not packets.
            let Ok(packet) = Packet::from_message(message) else {
                continue;
            };
            let want = expected[count];
            let mut out = Vec::new();
            format
                .write(&mut out, &packet, ulogd_time(want), &mut names)
                .unwrap();
            let ours = String::from_utf8(out).unwrap();
            let suffix = ", \"nflog.group\": 5}\n";
            assert!(ours.ends_with(suffix), "line {}: {ours}", count + 1);
            let without_group = format!("{}}}\n", &ours[..ours.len() - suffix.len()]);
            assert_eq!(
                without_group,
                format!("{want}\n"),
                "line {} differs from ulogd2",
                count + 1
            );
            count += 1;
        }
    }
    assert_eq!(count, 8, "every packet message replayed");
}

#[test]
fn formatting_allocates_nothing_once_warmed_up() {
    let datagrams = datagrams();
    let packets: Vec<Packet<&[u8]>> = datagrams
        .iter()
        .flat_map(|datagram| Messages::new(datagram))
        .filter_map(|message| Packet::from_message(message.ok()?).ok())
        .collect();
    assert_eq!(packets.len(), 8);
    let mut format = JsonFormat::new().time_zone(TimeZone::Utc).device("edge");
    let mut out = Vec::with_capacity(64 * 1024);
    let received = UNIX_EPOCH + Duration::from_secs(1_795_840_507);
    for packet in &packets {
        format
            .write(&mut out, packet, received, &mut GoldenNames)
            .unwrap();
    }
    out.clear();
    let ((), allocations) = watch_allocations(|| {
        for packet in &packets {
            format
                .write(&mut out, packet, received, &mut GoldenNames)
                .unwrap();
        }
    });
    assert_eq!(allocations.count, 0, "formatting allocated");
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 8);
}

/// The typed row of the SQL sinks holds, in each column, the value ulogd2's JSON plugin
/// wrote under the key that column names (and ulogd2's SQL plugins read as that column).
#[test]
fn each_row_column_equals_ulogd2s_json_key() {
    let expected: Vec<serde_json::Map<String, serde_json::Value>> = EXPECTED
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut row = Row::new();
    let mut count = 0;
    for datagram in datagrams() {
        for message in Messages::new(&datagram) {
            let Ok(packet) = Packet::from_message(message.unwrap()) else {
                continue;
            };
            let want = &expected[count];
            let line = EXPECTED.lines().nth(count).unwrap();
            row.fill(&packet, ulogd_time(line), &mut GoldenNames);
            let mut keys = 0;
            for (column, value) in row.values() {
                // Ours, which ulogd2 has no key for.
                if column.name == "nflog_group" {
                    assert_eq!(value, Value::Int(5));
                    continue;
                }
                let Some(key) = column.json else { continue };
                let theirs = want.get(key);
                match value {
                    Value::Null => assert!(
                        theirs.is_none() || ["src_port", "dest_port"].contains(&key),
                        "packet {count}: {} is NULL, ulogd2 wrote {key}",
                        column.name
                    ),
                    Value::Int(n) => {
                        assert_eq!(theirs.and_then(|v| v.as_i64()), Some(n), "{}", column.name);
                        keys += 1;
                    }
                    Value::Text(text) => {
                        assert_eq!(
                            theirs.and_then(|v| v.as_str()),
                            Some(text),
                            "{}",
                            column.name
                        );
                        keys += 1;
                    }
                    Value::Bytes(_) => panic!("{} has bytes and a JSON key", column.name),
                }
            }
            // Every key of ulogd2's line but timestamp, dvc, tcp.offset and tcp.reserved.
            let without_column = ["timestamp", "dvc", "tcp.offset", "tcp.reserved"];
            let theirs = want
                .keys()
                .filter(|key| !without_column.contains(&key.as_str()))
                .count();
            assert_eq!(keys, theirs, "packet {count}: {line}");
            count += 1;
        }
    }
    assert_eq!(count, 8, "every packet message filled a row");

    // Filling a row again allocates nothing: the sinks fill one row per packet.
    let datagrams = datagrams();
    let packets: Vec<Packet<&[u8]>> = datagrams
        .iter()
        .flat_map(|datagram| Messages::new(datagram))
        .filter_map(|message| Packet::from_message(message.ok()?).ok())
        .collect();
    let received = UNIX_EPOCH + Duration::from_secs(1_795_840_507);
    let ((), allocations) = watch_allocations(|| {
        for packet in &packets {
            row.fill(packet, received, &mut GoldenNames);
        }
    });
    assert_eq!(allocations.count, 0, "filling a row allocated");
}
