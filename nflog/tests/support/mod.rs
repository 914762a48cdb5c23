//! Shared by the tests that drive the real kernel: what all of the workspace's tests share
//! comes from `nflog-test-support` (privileges and the CI rule, namespaces, traffic; see
//! its crate docs), re-exported here; this module adds what needs the library's types.
#![allow(dead_code)]

use std::ffi::CString;
use std::os::fd::AsRawFd;
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

/// Writes one whole Ethernet frame on interface `name` of `peer`'s namespace, from an
/// AF_PACKET socket opened there (on a thread that enters the namespace and ends).
pub fn send_frame(peer: &PeerNetns, name: &str, frame: &[u8]) {
    let netns =
        std::fs::File::open(format!("/proc/{}/ns/net", peer.pid())).expect("open the peer's netns");
    let name = CString::new(name).unwrap();
    let frame = frame.to_vec();
    in_netns_of(&netns, move || send_raw(&name, &frame));
}

/// Sends `frame` as it is on interface `name` of the calling thread's network namespace.
pub fn send_raw(name: &CString, frame: &[u8]) {
    // Protocol 0: the socket receives nothing; it only sends.
    let socket = rustix::net::socket(
        rustix::net::AddressFamily::PACKET,
        rustix::net::SocketType::RAW,
        None,
    )
    .expect("AF_PACKET socket");
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(index, 0, "no interface {name:?}");
    // SAFETY: sockaddr_ll is plain old data; all zeros is a valid value.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_ifindex = index as i32;
    // SAFETY: `address` is a valid sockaddr_ll and the length passed is its size; the
    // socket descriptor is open for the duration of the call.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const address).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
    let sent = rustix::net::send(&socket, frame, rustix::net::SendFlags::empty()).expect("send");
    assert_eq!(sent, frame.len());
}
