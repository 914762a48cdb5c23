//! Parsing speed of one batch datagram, in nanoseconds per packet.
//!
//! ```text
//! cargo bench -p nflog --bench parse -- --measurement-time 3
//! ```
//!
//! The datagram is built the way nfnetlink_log.c (`__build_packet_message`) lays out a batch:
//! 64 packet messages, each with the attributes in the kernel's order, padded to 4 bytes, and
//! a closing `NLMSG_DONE` whose body is an nfgenmsg. Each message is an IPv4 UDP packet seen
//! at INPUT on an Ethernet device, so it carries every common attribute: PACKET_HDR, PREFIX,
//! IFINDEX_INDEV, MARK, HWADDR, HWTYPE, HWLEN, HWHEADER, TIMESTAMP, UID, GID, SEQ, PAYLOAD.
//!
//! Variants, each for a 64-byte and a 1400-byte UDP payload:
//! - `walk`: the netlink headers only (`Messages`), counting packet messages;
//! - `parse`: `Packet::parse` of every packet message;
//! - `parse_touch`: as `parse`, then read the prefix (as `&str`), the mark and the payload's
//!   length, as a typical consumer would.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use nflog::wire::attr::emit;
use nflog::wire::kind::{MSG_PACKET, NLMSG_DONE};
use nflog::wire::netlink::{emit_header, Messages, NLMSG_HDRLEN};
use nflog::{Packet, PacketAttr};

/// Packets per datagram: the kernel's batch of a busy group.
const PACKETS: usize = 64;
const GROUP: u16 = 9;

/// One packet message body: nfgenmsg, then the attributes in the kernel's order.
fn packet_body(seq: u32, udp_payload: usize) -> Vec<u8> {
    let mut body = vec![2, 0]; // AF_INET, NFNETLINK_V0
    body.extend_from_slice(&GROUP.to_be_bytes());
    let attr = |body: &mut Vec<u8>, kind: PacketAttr, value: &[u8]| emit(body, kind as u16, value);

    // nfulnl_msg_packet_hdr: hw_protocol 0x0800, hook NF_INET_LOCAL_IN (1), pad.
    attr(&mut body, PacketAttr::PacketHdr, &[0x08, 0x00, 1, 0]);
    attr(&mut body, PacketAttr::Prefix, b"bench-in\0");
    attr(&mut body, PacketAttr::IfindexIndev, &2u32.to_be_bytes());
    attr(&mut body, PacketAttr::Mark, &0x2au32.to_be_bytes());
    // nfulnl_msg_packet_hw: be16 hw_addrlen, u16 pad, u8 hw_addr[8].
    let mut hw = vec![0, 6, 0, 0];
    hw.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0, 0]);
    attr(&mut body, PacketAttr::Hwaddr, &hw);
    attr(&mut body, PacketAttr::Hwtype, &1u16.to_be_bytes());
    attr(&mut body, PacketAttr::Hwlen, &14u16.to_be_bytes());
    let mut mac = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    mac.extend_from_slice(&[0x08, 0x00]);
    attr(&mut body, PacketAttr::Hwheader, &mac);
    let mut ts = 1_760_000_000u64.to_be_bytes().to_vec();
    ts.extend_from_slice(&123_456u64.to_be_bytes());
    attr(&mut body, PacketAttr::Timestamp, &ts);
    attr(&mut body, PacketAttr::Uid, &1000u32.to_be_bytes());
    attr(&mut body, PacketAttr::Gid, &1000u32.to_be_bytes());
    attr(&mut body, PacketAttr::Seq, &seq.to_be_bytes());
    attr(&mut body, PacketAttr::Payload, &ipv4_udp(udp_payload));
    body
}

/// An IPv4 header, a UDP header to port 9 and `len` payload bytes.
fn ipv4_udp(len: usize) -> Vec<u8> {
    let total = (20 + 8 + len) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&9u16.to_be_bytes());
    p.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend((0..len).map(|i| i as u8));
    p
}

/// A batch datagram: `PACKETS` packet messages, then `NLMSG_DONE`.
fn datagram(udp_payload: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in 0..PACKETS as u32 {
        let body = packet_body(seq, udp_payload);
        emit_header(
            &mut out,
            (NLMSG_HDRLEN + body.len()) as u32,
            MSG_PACKET,
            0,
            0,
        );
        out.extend_from_slice(&body);
        out.resize(nflog::wire::attr::align4(out.len()), 0);
    }
    // nfnetlink_log.c: nlmsg_put(skb, 0, 0, NLMSG_DONE, sizeof(struct nfgenmsg), NLM_F_MULTI)
    emit_header(&mut out, (NLMSG_HDRLEN + 4) as u32, NLMSG_DONE, 0x2, 0);
    out.extend_from_slice(&[0; 4]);
    out
}

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
        let dg = datagram(size);
        assert_eq!(walk(&dg), PACKETS);
        assert_eq!(parse(&dg), PACKETS);
        let touched = parse_touch(&dg);
        assert_eq!(
            touched,
            PACKETS as u64 * (8 + 0x2a + 28 + size as u64),
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
