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

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};

use nflog::format::{JsonFormat, Lines, Numeric, Sink, TextFormat, XmlFormat};
use nflog::Packet;

mod common;
use common::{Hook, Ip};

/// Benchmarks one format, written through its [`Sink`] into a reused `Vec<u8>`.
fn bench_format<F>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut sink: Lines<F, Vec<u8>>,
    received: SystemTime,
) where
    Lines<F, Vec<u8>>: Sink,
{
    for (hook, ip) in [(Hook::Input, Ip::V4Udp), (Hook::Output, Ip::V6Tcp)] {
        for size in [64usize, 1400] {
            let body = common::packet_body(hook, ip, 1, size);
            let packet = Packet::parse(&body).expect("the fixture parses");
            sink.get_mut().clear();
            sink.write(&packet, received, &mut Numeric)
                .expect("writing to a Vec succeeds");
            let line = String::from_utf8_lossy(sink.get_mut());
            assert!(line.ends_with('\n') && line.contains("bench-"), "{line}");
            let id = format!("{}_{}/{size}", hook.name(), ip.name());
            eprintln!("{name} {id}: {} bytes", line.len());
            group.bench_function(BenchmarkId::new(name, id), |b| {
                b.iter(|| {
                    sink.get_mut().clear();
                    sink.write(black_box(&packet), black_box(received), &mut Numeric)
                        .expect("writing to a Vec succeeds");
                    black_box(sink.get_mut().len())
                })
            });
        }
    }
}

fn bench(c: &mut Criterion) {
    let received = UNIX_EPOCH + Duration::new(1_760_000_100, 654_321_000);
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(1));
    let out = || Vec::with_capacity(4096);
    let text = TextFormat::new().hostname("bench-host");
    bench_format(&mut group, "text", Lines::new(text, out()), received);
    bench_format(
        &mut group,
        "json",
        Lines::new(JsonFormat::new(), out()),
        received,
    );
    bench_format(
        &mut group,
        "xml",
        Lines::new(XmlFormat::new(), out()),
        received,
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
