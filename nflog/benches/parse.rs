//! Parsing speed of one batch datagram, in nanoseconds per packet.
//!
//! ```text
//! cargo bench -p nflog --bench parse -- --measurement-time 3
//! ```
//!
//! The datagram is built the way nfnetlink_log.c (`__build_packet_message`) lays out a batch
//! (`common::datagram`): 64 packet messages, each with the attributes in the kernel's order,
//! padded to 4 bytes, and a closing `NLMSG_DONE` whose body is an nfgenmsg. Each message is
//! an IPv4 UDP packet seen at INPUT on an Ethernet device, so it carries every common
//! attribute: PACKET_HDR, PREFIX, IFINDEX_INDEV, MARK, HWADDR, HWTYPE, HWLEN, HWHEADER,
//! TIMESTAMP, UID, GID, SEQ, PAYLOAD.
//!
//! Variants, each for a 64-byte and a 1400-byte UDP payload:
//! - `walk`: the netlink headers only (`Messages`), counting packet messages;
//! - `parse`: `Packet::parse` of every packet message;
//! - `parse_touch`: as `parse`, then read the prefix (as `&str`), the mark and the payload's
//!   length, as a typical consumer would.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use nflog::wire::{Messages, MSG_PACKET};
use nflog::Packet;

mod common;
use common::{Hook, Ip, MARK, PACKETS};

fn walk(datagram: &[u8]) -> usize {
    Messages::new(datagram)
        .map_while(Result::ok)
        .filter(|m| m.message_type() == MSG_PACKET)
        .count()
}

fn parse(datagram: &[u8]) -> usize {
    let mut n = 0;
    for message in Messages::new(datagram).map_while(Result::ok) {
        if message.message_type() == MSG_PACKET {
            let packet = Packet::parse(message.body()).expect("the fixture parses");
            black_box(&packet);
            n += 1;
        }
    }
    n
}

fn parse_touch(datagram: &[u8]) -> u64 {
    let mut sum = 0u64;
    for message in Messages::new(datagram).map_while(Result::ok) {
        if message.message_type() == MSG_PACKET {
            let packet = Packet::parse(message.body()).expect("the fixture parses");
            let prefix = packet.prefix();
            sum += prefix.as_deref().map_or(0, |p| p.len() as u64);
            sum += u64::from(packet.mark().unwrap_or(0));
            sum += packet.payload().map_or(0, |p| p.len() as u64);
        }
    }
    sum
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(PACKETS as u64));
    for size in [64usize, 1400] {
        let dg = common::datagram(Hook::Input, Ip::V4Udp, size);
        assert_eq!(walk(&dg), PACKETS);
        assert_eq!(parse(&dg), PACKETS);
        let touched = parse_touch(&dg);
        assert_eq!(
            touched,
            PACKETS as u64 * (8 + u64::from(MARK) + 28 + size as u64),
            "the fixture round-trips"
        );
        eprintln!("datagram for {size}-byte payloads: {} bytes", dg.len());
        group.bench_with_input(BenchmarkId::new("walk", size), &dg, |b, dg| {
            b.iter(|| walk(black_box(dg)))
        });
        group.bench_with_input(BenchmarkId::new("parse", size), &dg, |b, dg| {
            b.iter(|| parse(black_box(dg)))
        });
        group.bench_with_input(BenchmarkId::new("parse_touch", size), &dg, |b, dg| {
            b.iter(|| parse_touch(black_box(dg)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
