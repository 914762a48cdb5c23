//! What the tests of `nflog` and `nflog-cli` share, written once: the privilege check and
//! its CI rule, private network namespaces and their peers, traffic on loopback, a counting
//! allocator, and ulogd2 as the reference for JSON.
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
mod traffic;
pub mod ulogd;

use std::time::{Duration, Instant};

pub use alloc::{watch_allocations, Allocations, CountingAllocator};
pub use netns::{
    bound_groups, enter_new_netns, ifindex, in_netns, link, link_text, netns_inode, own_netns,
    parse_bound_groups, parse_ip_link, Namespace, PeerNetns, Veth,
};
pub use privilege::{has_tool, privileged, skip};
pub use process::{nft, run, run_command, try_load_ruleset, try_nft, try_run, Reaped};
pub use traffic::{
    checksum, log_ports, mixed_rules, mixed_traffic, ping4, ping6, send_udp, tcp_syn, udp4, udp6,
    MIXED_PACKETS,
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
