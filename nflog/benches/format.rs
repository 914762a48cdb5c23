//! Speed of each output format, in nanoseconds per packet.
//!
//! ```text
//! cargo bench -p nflog --bench format -- --measurement-time 5
//! ```
//!
//! Each iteration writes one packet into a `Vec<u8>` that is cleared and reused, as the CLI
//! writes into its buffered output. The formatters are configured as the CLI does
//! (`new()`: local time; the text format's host name is fixed), with a fixed reception time
//! and interfaces shown as numbers (`Numeric`).
//!
//! Packets are kernel-shaped packet messages (`common::packet_body`), parsed once outside
//! the loop:
//! - `input_ipv4_udp`: IPv4/UDP received on Ethernet, logged at INPUT (MAC header, kernel
//!   timestamp, UID/GID);
//! - `output_ipv6_tcp`: IPv6/TCP logged at OUTPUT (output device, UID/GID, no timestamp:
//!   the reception time is shown).
//!
//! Variants: `text` (LOGEMU), `json` (ulogd2), `xml` (libnetfilter_log), each for 64 and
//! 1400 bytes of data after the transport header.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use nflog::format::{JsonFormat, Numeric, TextFormat, XmlFormat};
use nflog::Packet;

mod common;
use common::{Hook, Ip};

/// The formatters, behind one call.
enum Formatter {
    Text(TextFormat),
    Json(JsonFormat),
    Xml(XmlFormat),
}

impl Formatter {
    fn all() -> [(&'static str, Formatter); 3] {
        [
            (
                "text",
                Formatter::Text(TextFormat::new().hostname("bench-host")),
            ),
            ("json", Formatter::Json(JsonFormat::new())),
            ("xml", Formatter::Xml(XmlFormat::new())),
        ]
    }

    fn write(&mut self, out: &mut Vec<u8>, packet: &Packet<&[u8]>, received: SystemTime) {
        let result = match self {
            Formatter::Text(f) => f.write(out, packet, received, &mut Numeric),
            Formatter::Json(f) => f.write(out, packet, received, &mut Numeric),
            Formatter::Xml(f) => f.write(out, packet, received, &mut Numeric),
        };
        result.expect("writing to a Vec succeeds");
    }
}

fn bench(c: &mut Criterion) {
    let received = UNIX_EPOCH + Duration::new(1_760_000_100, 654_321_000);
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(1));
    for (name, mut formatter) in Formatter::all() {
        for (hook, ip) in [(Hook::Input, Ip::V4Udp), (Hook::Output, Ip::V6Tcp)] {
            for size in [64usize, 1400] {
                let body = common::packet_body(hook, ip, 1, size);
                let packet = Packet::parse(&body).expect("the fixture parses");
                let mut out = Vec::with_capacity(4096);
                formatter.write(&mut out, &packet, received);
                let line = String::from_utf8_lossy(&out);
                assert!(line.ends_with('\n') && line.contains("bench-"), "{line}");
                let id = format!("{}_{}/{size}", hook.name(), ip.name());
                eprintln!("{name} {id}: {} bytes", out.len());
                group.bench_function(BenchmarkId::new(name, id), |b| {
                    b.iter(|| {
                        out.clear();
                        formatter.write(&mut out, black_box(&packet), black_box(received));
                        black_box(out.len())
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
