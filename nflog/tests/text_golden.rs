//! The text format against ulogd2 2.0.8's LOGEMU, byte for byte.
//!
//! `fixtures/ulogd/datagrams-group6.hex` holds the netlink datagrams ulogd received on group
//! 6 (recorded with strace), `fixtures/ulogd/ulogd.logemu` what its LOGEMU plugin wrote for
//! them, with `TZ=UTC` and the host name `golden.example` (see `fixtures/ulogd/README.md`).
//! Our line, with the `GROUP=6 ` we add taken out, must be ulogd's.
//!
//! OUTPUT packets carry no kernel timestamp: ulogd stamped them with its clock when it read
//! them. That time is `oob.time.sec`/`usec` of the matching line of `ulogd.json` (group 5:
//! the same packets in the same order, read in the same batches), which we pass as the time
//! received.
//!
//! The datagrams were recorded on a little-endian host (netlink headers in host order), so
//! the test runs on little-endian targets only.
#![cfg(all(feature = "format", target_endian = "little"))]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nflog::format::{ResolveInterface, TextFormat, TimeZone};
use nflog::wire::{Messages, MSG_PACKET};
use nflog::Packet;

const DATAGRAMS: &str = include_str!("fixtures/ulogd/datagrams-group6.hex");
const LOGEMU: &str = include_str!("fixtures/ulogd/ulogd.logemu");
const JSON: &str = include_str!("fixtures/ulogd/ulogd.json");

/// The network namespace of the golden run had only `lo`, index 1.
struct GoldenNames;

impl ResolveInterface for GoldenNames {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        (index == 1).then_some("lo")
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd hex line");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The number after `"key": ` in one line of ulogd's JSON.
fn json_number(line: &str, key: &str) -> u64 {
    let pattern = format!("\"{key}\": ");
    let at = line
        .find(&pattern)
        .unwrap_or_else(|| panic!("{key} in {line}"))
        + pattern.len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// The time ulogd gave each packet, in order: `oob.time.sec` and `oob.time.usec`.
fn ulogd_times() -> Vec<SystemTime> {
    JSON.lines()
        .map(|line| {
            UNIX_EPOCH
                + Duration::from_secs(json_number(line, "oob.time.sec"))
                + Duration::from_micros(json_number(line, "oob.time.usec"))
        })
        .collect()
}

#[test]
fn text_lines_equal_ulogd_logemu_byte_for_byte() {
    let expected: Vec<&str> = LOGEMU.split_inclusive('\n').collect();
    let times = ulogd_times();
    assert_eq!((expected.len(), times.len()), (8, 8));

    let mut format = TextFormat::new()
        .time_zone(TimeZone::Utc)
        .hostname("golden");
    let mut ours = Vec::new();
    for line in DATAGRAMS.lines().filter(|line| !line.is_empty()) {
        let datagram = unhex(line.trim());
        for message in Messages::new(&datagram) {
            let message = message.unwrap();
            // ACKs and NLMSG_DONE are not packets.
            if message.message_type() != MSG_PACKET {
                continue;
            }
            let packet = Packet::from_message(message).unwrap();
            assert_eq!(packet.group(), 6);
            let received = times[ours.len()];
            let mut out = Vec::new();
            format
                .write(&mut out, &packet, received, &mut GoldenNames)
                .unwrap();
            ours.push(String::from_utf8(out).unwrap());
        }
    }
    assert_eq!(ours.len(), 8, "packet messages in the datagrams");

    for (k, (ours, theirs)) in ours.iter().zip(&expected).enumerate() {
        // Our one addition here: "GROUP=6 " last, before the newline.
        assert!(
            ours.ends_with(" MARK=0x0 GROUP=6 \n"),
            "line {}: {ours:?}",
            k + 1
        );
        let without_group = ours.replacen("GROUP=6 ", "", 1);
        assert_eq!(&without_group, theirs, "line {}", k + 1);
    }
}

#[test]
fn input_packets_use_the_kernel_timestamp_not_the_time_received() {
    // The INPUT lines (2, 4, 6, 8) carry NFULA_TIMESTAMP: any receive time gives ulogd's line.
    let mut format = TextFormat::new()
        .time_zone(TimeZone::Utc)
        .hostname("golden");
    let expected: Vec<&str> = LOGEMU.split_inclusive('\n').collect();
    let mut index = 0;
    for line in DATAGRAMS.lines().filter(|line| !line.is_empty()) {
        let datagram = unhex(line.trim());
        for message in Messages::new(&datagram).map(Result::unwrap) {
            if message.message_type() != MSG_PACKET {
                continue;
            }
            let packet = Packet::from_message(message).unwrap();
            if packet.timestamp().is_some() {
                let mut out = Vec::new();
                format
                    .write(&mut out, &packet, UNIX_EPOCH, &mut GoldenNames)
                    .unwrap();
                let ours = String::from_utf8(out).unwrap().replacen("GROUP=6 ", "", 1);
                assert_eq!(ours, expected[index], "line {}", index + 1);
            }
            index += 1;
        }
    }
    assert_eq!(index, 8);
}
