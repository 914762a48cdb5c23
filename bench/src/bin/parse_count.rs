//! Instruction counts of `Packet::parse`, per packet, for cachegrind.
//!
//! Parses the `benches/parse.rs` datagram (64 INPUT IPv4/UDP packet messages with a 64-byte
//! payload, built by `nflog/benches/common`) ROUNDS times; with `touch`, also reads the
//! prefix, mark and payload length as `parse_touch` does. Criterion's own loop and timing
//! code would be counted too, so this runs the bare loop: run it under cachegrind with 0 and
//! with N rounds, and the difference / (N * 64) is the cost of one packet, steady however
//! loaded the machine is (docs/benchmarks.md, "Code shaped for speed"):
//!
//! ```text
//! cargo build --release -p nflog-bench --bin parse_count
//! for r in 0 1000; do valgrind --tool=cachegrind --cache-sim=no \
//!     --cachegrind-out-file=/dev/null target/release/parse_count $r [touch]; done
//! ```

use std::hint::black_box;
use std::process::ExitCode;

use nflog::wire::{Messages, MSG_PACKET};
use nflog::Packet;

#[path = "../../../nflog/benches/common/mod.rs"]
mod common;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let rounds = match args.next().map(|r| r.parse::<u64>()) {
        Some(Ok(rounds)) => rounds,
        _ => {
            eprintln!("usage: parse_count ROUNDS [touch]");
            return ExitCode::from(2);
        }
    };
    let touch = match args.next().as_deref() {
        None => false,
        Some("touch") => true,
        Some(other) => {
            eprintln!("parse_count: unknown argument {other:?}; usage: parse_count ROUNDS [touch]");
            return ExitCode::from(2);
        }
    };
    let datagram = common::datagram(common::Hook::Input, common::Ip::V4Udp, 64);
    // The message bodies are found once, outside the counted loop.
    let bodies: Vec<&[u8]> = Messages::new(&datagram)
        .map_while(Result::ok)
        .filter(|m| m.message_type() == MSG_PACKET)
        .map(|m| m.body())
        .collect();
    let mut sum = 0u64;
    for _ in 0..rounds {
        for &body in &bodies {
            let packet = match Packet::parse(black_box(body)) {
                Ok(packet) => packet,
                Err(e) => {
                    eprintln!("parse_count: the fixture does not parse: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if touch {
                sum += packet.prefix().as_deref().map_or(0, |p| p.len() as u64);
                sum += u64::from(packet.mark().unwrap_or(0));
                sum += packet.payload().map_or(0, |p| p.len() as u64);
            } else {
                black_box(&packet);
            }
        }
    }
    println!(
        "{} packets, {rounds} rounds, touched sum {sum}",
        bodies.len()
    );
    ExitCode::SUCCESS
}
