//! Decoding speed of one logged packet's headers, in nanoseconds per packet.
//!
//! ```text
//! cargo bench -p nflog --bench decode -- --measurement-time 5
//! ```
//!
//! Each packet is a kernel-shaped packet message (`common::packet_body`) seen at INPUT on an
//! Ethernet device, parsed once outside the loop: the benchmarks time the decoding alone.
//!
//! Variants, for IPv4/UDP and IPv6/TCP (timestamp option), each with 64 and 1400 bytes of
//! data after the transport header:
//! - `decode`: `nflog::decode::decode`, the network and transport headers of the payload;
//! - `decode_link`: `nflog::decode::decode_link`, the Ethernet header (`NFULA_HWHEADER`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use nflog::decode::{decode, decode_link, Network, Transport};
use nflog::Packet;

mod common;
use common::{Hook, Ip};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    for ip in [Ip::V4Udp, Ip::V6Tcp] {
        for size in [64usize, 1400] {
            let body = common::packet_body(Hook::Input, ip, 1, size);
            let packet = Packet::parse(&body).expect("the fixture parses");

            let decoded = decode(&packet);
            assert_eq!(decoded.cut, None, "the fixture decodes whole");
            match (ip, decoded.network, decoded.transport) {
                (Ip::V4Udp, Some(Network::Ipv4(_)), Some(Transport::Udp(udp))) => {
                    assert_eq!(udp.dst_port, 9)
                }
                (Ip::V6Tcp, Some(Network::Ipv6(_)), Some(Transport::Tcp(tcp))) => {
                    assert_eq!((tcp.dst_port, tcp.options_len), (443, 12))
                }
                other => panic!("unexpected decoding {other:?}"),
            }
            let link = decode_link(&packet).expect("the fixture has a MAC header");
            assert_eq!(
                link.protocol,
                Some(if ip == Ip::V4Udp { 0x0800 } else { 0x86dd })
            );

            let id = format!("{}/{size}", ip.name());
            group.bench_with_input(BenchmarkId::new("decode", &id), &packet, |b, packet| {
                b.iter(|| decode(black_box(packet)))
            });
            group.bench_with_input(
                BenchmarkId::new("decode_link", &id),
                &packet,
                |b, packet| b.iter(|| decode_link(black_box(packet))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
