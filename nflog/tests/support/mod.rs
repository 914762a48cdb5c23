//! Shared by the tests that drive the real kernel: what all of the workspace's tests share
//! comes from `nflog-test-support` (privileges and the CI rule, namespaces, traffic; see
//! its crate docs), re-exported here; this module adds what needs the library's types.
#![allow(dead_code)]

use std::time::{Duration, Instant};

pub use nflog_test_support::*;

use nflog::{parse_bindings, GroupBinding, Listener, Packet};

/// How long to wait for packets that must come.
pub const WAIT: Duration = Duration::from_secs(5);

/// The UDP destination port of an IPv4 packet whose payload was copied.
pub fn udp_dport(packet: &Packet<&[u8]>) -> u16 {
    let ip = packet.payload().expect("payload copied");
    assert_eq!(ip[0] >> 4, 4, "an IPv4 packet");
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    u16::from_be_bytes([ip[ihl + 2], ip[ihl + 3]])
}

/// A packet copied out of the receive buffer, to look at after receiving.
pub type Captured = nflog::OwnedPacket;

/// Receives until `count` packets arrived or `timeout` passed.
pub fn collect(listener: &mut Listener, count: usize, timeout: Duration) -> Vec<Captured> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < count && Instant::now() < deadline {
        match listener.try_recv().expect("receive") {
            Some(batch) => {
                for packet in batch {
                    got.push(packet.expect("packet parses").into_owned());
                }
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    got
}

/// The groups bound in `peer`'s namespace, parsed by the library.
pub fn peer_bindings(peer: &PeerNetns) -> Vec<GroupBinding> {
    parse_bindings(&peer.nfnetlink_log())
}

/// Drops CAP_NET_ADMIN from the calling thread's effective set (capabilities are per thread).
pub fn drop_net_admin() {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
    let mut sets = capabilities(None).expect("capget");
    sets.effective.remove(CapabilitySet::NET_ADMIN);
    set_capabilities(None, sets).expect("capset");
    let now = capabilities(None).expect("capget");
    assert!(!now.effective.contains(CapabilitySet::NET_ADMIN));
}
