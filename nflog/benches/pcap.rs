//! Speed of the pcap and pcapng writers, in nanoseconds per packet.
//!
//! ```text
//! cargo bench -p nflog --bench pcap -- --measurement-time 5
//! ```
//!
//! Each iteration writes one LINKTYPE_NFLOG record (the packet message body,
//! `Packet::as_bytes`, stamped with the kernel's timestamp) as the CLI does: into a
//! `BufWriter` of 256 KiB, here over `io::sink()`, so the copy into the buffer is timed and
//! the file system is not.
//!
//! The packet is a kernel-shaped packet message (`common::packet_body`): IPv4/UDP received
//! on Ethernet and logged at INPUT, with 64 or 1400 bytes of UDP data.
//!
//! Variants: `pcap` (`PcapWriter`), `pcapng` (`PcapngWriter`, one interface per group).

use std::hint::black_box;
use std::io::{self, BufWriter};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use nflog::pcap::{LinkType, PcapWriter, PcapngWriter};
use nflog::Packet;

mod common;
use common::{Hook, Ip};

/// The CLI's output buffer size.
const BUFFER: usize = 256 * 1024;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pcap");
    group.throughput(Throughput::Elements(1));
    for size in [64usize, 1400] {
        let body = common::packet_body(Hook::Input, Ip::V4Udp, 1, size);
        let packet = Packet::parse(&body).expect("the fixture parses");
        let time = packet.timestamp().expect("the fixture has a timestamp");
        let record = packet.as_bytes();
        eprintln!("record for {size}-byte payloads: {} bytes", record.len());

        let out = BufWriter::with_capacity(BUFFER, io::sink());
        let mut pcap = PcapWriter::new(out, LinkType::Nflog).expect("the header is written");
        group.bench_function(BenchmarkId::new("pcap", size), |b| {
            b.iter(|| {
                pcap.write_record(black_box(time), black_box(record), record.len())
                    .expect("writing to a sink succeeds")
            })
        });

        let out = BufWriter::with_capacity(BUFFER, io::sink());
        let mut pcapng = PcapngWriter::new(out, LinkType::Nflog).expect("the header is written");
        group.bench_function(BenchmarkId::new("pcapng", size), |b| {
            b.iter(|| {
                pcapng
                    .write_record(
                        black_box(packet.group()),
                        black_box(time),
                        black_box(record),
                        record.len(),
                    )
                    .expect("writing to a sink succeeds")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
