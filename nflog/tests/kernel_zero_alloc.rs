//! The steady-state receive path allocates nothing: thousands of packets from the real
//! kernel, received, parsed and read (prefix, mark, payload, sequence), with a counting
//! global allocator watching the receiving thread.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use nflog::{Flags, GroupConfig, Listener};
use support::{in_netns, nft, privileged, watch_allocations, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const PORT: u16 = 6100;
const WARM_UP: usize = 200;
const MEASURED: usize = 10_000;

/// Sends `count` datagrams from a thread of its own (started from the namespace thread, so
/// in its namespace), paced so that the default receive buffer never overflows.
fn send_from_another_thread(count: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let to: SocketAddr = ([127, 0, 0, 1], PORT).into();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..count {
            socket.send_to(b"zero allocation", to).unwrap();
            if i % 500 == 499 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    })
}

/// Receives until `want` packets arrived (or 10 s passed), reading each one's prefix, mark,
/// payload and sequence number; returns the packets and the bytes of payload seen.
fn receive(listener: &mut Listener, want: usize) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut packets, mut bytes) = (0, 0);
    while packets < want && Instant::now() < deadline {
        match listener.try_recv().unwrap() {
            Some(batch) => {
                for packet in batch {
                    let packet = packet.unwrap();
                    assert_eq!(packet.prefix_bytes(), Some(&b"za"[..]));
                    assert_eq!(packet.mark(), Some(0x2a));
                    assert!(packet.seq().is_some());
                    bytes += packet.payload().map_or(0, <[u8]>::len);
                    packets += 1;
                }
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    (packets, bytes)
}

#[test]
fn steady_state_receive_path_allocates_nothing() {
    if !privileged("steady_state_receive_path_allocates_nothing") {
        return;
    }
    in_netns(|| {
        let config = GroupConfig::new()
            .flags(Flags::SEQ)
            .flush_timeout(Duration::from_millis(10));
        let mut listener = Listener::builder().group(61).config(config).bind().unwrap();
        nft(r#"
            table inet t {
                chain out {
                    type filter hook output priority 0;
                    udp dport 6100 meta mark set 0x2a log prefix "za" group 61;
                }
            }
        "#);

        // Warm up: the first packets may grow what grows once (the group's sequence entry).
        send_from_another_thread(WARM_UP).join().unwrap();
        assert_eq!(receive(&mut listener, WARM_UP).0, WARM_UP);

        let sender = send_from_another_thread(MEASURED);
        let ((packets, bytes), allocations) =
            watch_allocations(|| receive(&mut listener, MEASURED));
        let allocations = allocations.count;
        sender.join().unwrap();

        let stats = listener.stats();
        assert_eq!(packets, MEASURED, "every packet arrived: {stats}");
        assert_eq!(stats.seq_gaps + stats.overruns, 0, "{stats}");
        assert_eq!(bytes, MEASURED * (20 + 8 + 15));
        assert_eq!(
            allocations, 0,
            "receiving, parsing and reading {MEASURED} packets allocated {allocations} times"
        );
    });
}
