//! What the tests of `nflog` and `nflog-cli` share, written once: the privilege check and
//! its CI rule, private network namespaces and their peers, traffic on loopback, a counting
//! allocator, netlink attributes built in either byte order ([`encode_tlvs`]), ulogd2 as
//! the reference for JSON, and throwaway PostgreSQL and ClickHouse servers ([`Postgres`],
//! [`ClickHouse`]).
//!
//! Every kernel test runs on a thread of its own that has entered a new, private network
//! namespace ([`in_netns`]: `unshare(CLONE_NEWNET)` affects only the calling thread), brings
//! up `lo` there, installs its own nftables rules, and makes its own traffic on loopback.
//! Child processes spawned from that thread inherit its namespace, so nothing touches the
//! host's ruleset, interfaces or group bindings. Tests that need a second namespace get one
//! held by a child process ([`PeerNetns`]) and reach it through `nsenter` ([`Namespace`]).
//!
//! Without privileges (not root, or a tool missing) a test says why and skips; under CI
//! (`CI` set) a skip is a failure ([`privileged`]).
//!
//! Each crate's `tests/support/mod.rs` re-exports this crate and adds only what needs that
//! crate's own types (packets, capture files, the command's binary). This crate does not
//! depend on `nflog`, so the library's own tests never link two copies of it.
#![allow(unsafe_code)]

mod alloc;
mod netns;
mod privilege;
mod process;
mod rsyslog;
mod server;
mod stamps;
mod tlv;
mod traffic;
pub mod ulogd;

use std::time::{Duration, Instant};

pub use alloc::{watch_allocations, Allocations, CountingAllocator};
pub use netns::{
    bound_groups, enter_new_netns, ifindex, in_netns, in_netns_of, link, link_text, netns_inode,
    own_netns, parse_bound_groups, parse_ip_link, Namespace, PeerNetns, Veth,
};
pub use privilege::{has_tool, privileged, skip};
pub use process::{nft, run, run_command, try_load_ruleset, try_nft, try_run, Reaped};
pub use rsyslog::{Rsyslog, RSYSLOGD};
pub use server::{free_port, ClickHouse, Postgres, CLICKHOUSE_SERVER, POSTGRES_BIN};
pub use stamps::{kernel_always_stamps, time_received_packets};
pub use tlv::{encode_tlvs, Tlv};
pub use traffic::{
    checksum, log_ports, mixed_rules, mixed_traffic, ping4, ping6, send_udp, sink_mix,
    sink_mix_rules, tcp_syn, udp4, udp6, MIXED_PACKETS, SINK_MIX_PACKETS,
};

/// How long any one wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// `ARPHRD_ETHER`, the hardware type of Ethernet-like links.
pub const ARPHRD_ETHER: u16 = 1;

/// Polls `done` every few milliseconds until it holds; panics with `what` after
/// [`DEADLINE`].
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    assert!(poll(DEADLINE, done), "timed out waiting: {what}");
}

/// Polls `done` every few milliseconds until it holds or `timeout` passes; whether it held.
fn poll(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    #[test]
    fn watch_allocations_counts_this_thread_only() {
        let (buffer, mine) = watch_allocations(|| {
            let other = std::thread::spawn(|| vec![0u8; 4096]);
            let buffer = std::hint::black_box(Vec::<u8>::with_capacity(24));
            drop(other.join().unwrap());
            buffer
        });
        drop(buffer);
        // Spawning allocates on this thread too; the other thread's 4096 bytes do not count.
        assert!(mine.count >= 1, "{mine:?}");
        assert!(mine.largest >= 24 && mine.largest < 4096, "{mine:?}");
        let ((), none) = watch_allocations(|| {});
        assert_eq!(none, Allocations::default());
    }

    #[test]
    fn checksum_of_an_icmp_echo_request_verifies_to_zero() {
        let mut echo = *b"\x08\x00\x00\x00\x12\x34\x00\x01pingdata";
        let sum = checksum(&echo);
        echo[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&echo), 0);
        // RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, complemented 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        // An odd length pads with a zero byte.
        assert_eq!(checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn parse_ip_link_reads_index_and_mac() {
        let veth = "7: veth0@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue \
                    state UP mode DEFAULT group default qlen 1000\\    link/ether \
                    3a:5c:01:ff:00:9b brd ff:ff:ff:ff:ff:ff link-netnsid 0";
        assert_eq!(
            parse_ip_link(veth),
            (7, Some([0x3a, 0x5c, 0x01, 0xff, 0x00, 0x9b]))
        );
        let lo = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode \
                  DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd \
                  00:00:00:00:00:00";
        assert_eq!(parse_ip_link(lo), (1, Some([0; 6])));
    }

    #[test]
    fn parse_bound_groups_reads_the_first_column() {
        let text = "    5   4321      0 2 65535   100 1\n   81 -12345      3 2 65535  100 1\n";
        assert_eq!(parse_bound_groups(text), vec![5, 81]);
        assert_eq!(parse_bound_groups(""), Vec::<u16>::new());
    }
}
