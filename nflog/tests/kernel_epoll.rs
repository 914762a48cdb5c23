//! The third way to receive: the listener's descriptor in an epoll set, `try_recv` until it
//! says `None`, in a private network namespace.

mod support;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nflog::Listener;
use rustix::event::epoll;
use support::{in_netns, nft, privileged, send_udp};

#[test]
fn epoll_wakes_for_packets_and_try_recv_never_blocks() {
    if !privileged("epoll_wakes_for_packets_and_try_recv_never_blocks") {
        return;
    }
    in_netns(|| {
        let mut listener = Listener::bind(60).unwrap();
        nft(r#"
            table inet t {
                chain out { type filter hook output priority 0; udp dport 6060 log group 60; }
            }
        "#);
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
        epoll::add(
            &epoll,
            listener.as_fd(),
            epoll::EventData::new_u64(60),
            epoll::EventFlags::IN,
        )
        .unwrap();

        // Nothing logged yet: try_recv returns at once with nothing.
        let started = Instant::now();
        assert!(listener.try_recv().unwrap().is_none());
        assert!(started.elapsed() < Duration::from_millis(100));

        send_udp("127.0.0.1:6060", b"via epoll", 3);
        let mut received = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        while received < 3 && Instant::now() < deadline {
            let mut events = Vec::with_capacity(4);
            let timeout = rustix::event::Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            epoll::wait(&epoll, spare(&mut events), Some(&timeout)).unwrap();
            for event in &events {
                assert_eq!(event.data.u64(), 60);
            }
            // Readable: drain until try_recv says there is nothing more.
            while let Some(batch) = listener.try_recv().unwrap() {
                for packet in batch {
                    let packet = packet.unwrap();
                    assert_eq!(packet.group(), 60);
                    assert!(packet.payload().unwrap().ends_with(b"via epoll"));
                    received += 1;
                }
            }
        }
        assert_eq!(received, 3);
        assert_eq!(listener.stats().packets, 3);
    });
}

fn spare(events: &mut Vec<epoll::Event>) -> rustix::buffer::SpareCapacity<'_, epoll::Event> {
    rustix::buffer::spare_capacity(events)
}
