//! The async listener on tokio (feature `tokio`): batches with `recv`, owned packets from the
//! stream, stopping with `select!`, and cancellation that loses nothing, against the real
//! kernel in a private network namespace.
//!
//! Each test builds a current-thread runtime on the namespace thread itself, so that the
//! runtime, its reactor and every socket it drives live in that namespace.
#![cfg(feature = "tokio")]

mod support;

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use nflog::{AsyncListener, GroupConfig, Listener, OwnedPacket};
use support::{collect, in_netns, nft, privileged, send_udp};
use tokio::time::{sleep, timeout};

/// Long enough for anything on loopback; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// Runs `future` on a current-thread runtime made on the calling thread.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Binds `group` with a queue threshold of 1, so that each packet is a datagram of its own
/// and is queued on the socket before the sender's `send` returns.
fn bind(group: u16) -> Listener {
    Listener::builder()
        .group(group)
        .config(GroupConfig::new().queue_threshold(1))
        .bind()
        .expect("bind")
}

/// Logs UDP to `port` on OUTPUT to `group` with prefix "async".
fn rule(port: u16, group: u16) {
    nft(&format!(
        r#"
        table inet t {{
            chain out {{
                type filter hook output priority 0;
                udp dport {port} log group {group} prefix "async"
            }}
        }}
        "#
    ));
}

/// Receives batches with `recv` until `count` packets came; returns their UDP payload ends.
async fn recv_packets(listener: &mut AsyncListener, count: usize, tag: &[u8]) -> usize {
    let mut got = 0;
    while got < count {
        let batch = timeout(PATIENCE, listener.recv())
            .await
            .expect("packets within the patience")
            .expect("receive");
        for packet in batch {
            let packet = packet.expect("packet parses");
            assert!(packet.payload().unwrap().ends_with(tag));
            assert_eq!(packet.prefix(), Some("async".into()));
            got += 1;
        }
    }
    got
}

#[test]
fn recv_gives_batches_and_the_stream_gives_owned_packets() {
    if !privileged("recv_gives_batches_and_the_stream_gives_owned_packets") {
        return;
    }
    in_netns(|| {
        block_on(async {
            // Default settings: the kernel batches, so one datagram may hold several.
            let mut listener = AsyncListener::new(Listener::bind(70).unwrap()).unwrap();
            rule(7070, 70);
            send_udp("127.0.0.1:7070", b"async recv", 3);
            assert_eq!(recv_packets(&mut listener, 3, b"async recv").await, 3);
            assert_eq!(listener.stats().packets, 3);
            assert_eq!(listener.get_ref().groups(), &[70]);

            let mut stream = listener.into_stream();
            send_udp("127.0.0.1:7070", b"async stream", 4);
            let mut owned: Vec<OwnedPacket> = Vec::new();
            while owned.len() < 4 {
                let item = timeout(PATIENCE, stream.next_packet())
                    .await
                    .expect("packets within the patience");
                owned.push(item.expect("the stream goes on").expect("packet"));
            }
            // Owned: readable after the buffer was reused for later datagrams.
            send_udp("127.0.0.1:7070", b"via Stream::poll_next", 1);
            let last = timeout(PATIENCE, poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)))
                .await
                .expect("a packet within the patience")
                .expect("the stream goes on")
                .expect("packet");
            assert!(last
                .view()
                .payload()
                .unwrap()
                .ends_with(b"via Stream::poll_next"));
            for packet in &owned {
                let packet = packet.view();
                assert_eq!(packet.group(), 70);
                assert!(packet.payload().unwrap().ends_with(b"async stream"));
            }
            assert_eq!(stream.buffered(), 0);
            assert_eq!(stream.stats().packets, 8);
            assert_eq!(stream.stats().malformed, 0);
        });
    });
}

#[test]
fn select_stops_the_stream_and_the_listener_comes_back_and_still_receives() {
    if !privileged("select_stops_the_stream_and_the_listener_comes_back_and_still_receives") {
        return;
    }
    in_netns(|| {
        let mut listener = block_on(async {
            let mut stream = AsyncListener::new(bind(71)).unwrap().into_stream();
            rule(7171, 71);

            // Nothing logged: the timer wins, the stream's future is dropped.
            let stopped = tokio::select! {
                item = stream.next_packet() => panic!("nothing was sent, got {item:?}"),
                () = sleep(Duration::from_millis(100)) => true,
            };
            assert!(stopped);

            // Three packets, one taken: the select between the stream and a timer that has
            // already fired ends the loop with the other two still in the stream or socket.
            send_udp("127.0.0.1:7171", b"stop", 3);
            let first = timeout(PATIENCE, stream.next_packet()).await.unwrap();
            assert!(first
                .unwrap()
                .unwrap()
                .view()
                .payload()
                .unwrap()
                .ends_with(b"stop"));
            let (listener, rest) = stream.into_parts();
            assert!(rest.len() <= 2, "{rest:?}");
            let mut listener = listener.into_inner();
            // What the stream had received comes back with into_parts, the rest from the
            // plain listener: nothing is lost.
            let left = collect(&mut listener, 2 - rest.len(), PATIENCE);
            assert_eq!(rest.len() + left.len(), 2);
            listener
        });

        // The runtime is gone; the plain listener (non-blocking now) still receives.
        send_udp("127.0.0.1:7171", b"after", 2);
        let got = collect(&mut listener, 2, PATIENCE);
        assert_eq!(got.len(), 2);
        for packet in &got {
            assert!(packet.view().payload().unwrap().ends_with(b"after"));
        }
        assert_eq!(listener.stats().packets, 5);
        // And the blocking loop still works on it too.
        send_udp("127.0.0.1:7171", b"blocking", 1);
        let batch = listener.recv().unwrap().expect("not stopped");
        assert_eq!(batch.count(), 1);
    });
}

#[test]
fn a_cancelled_recv_loses_no_datagram() {
    if !privileged("a_cancelled_recv_loses_no_datagram") {
        return;
    }
    in_netns(|| {
        block_on(async {
            let mut listener = AsyncListener::new(bind(72)).unwrap();
            rule(7272, 72);
            // Cancelled while waiting, twice: the reactor knows the socket, nothing is read.
            for _ in 0..2 {
                assert!(timeout(Duration::from_millis(50), listener.recv())
                    .await
                    .is_err());
            }
            send_udp("127.0.0.1:7272", b"after cancel", 1);
            assert_eq!(recv_packets(&mut listener, 1, b"after cancel").await, 1);
            assert_eq!(listener.stats().datagrams, 1);

            // The same for the stream: a cancelled next item, then the packet.
            let mut stream = listener.into_stream();
            assert!(timeout(Duration::from_millis(50), stream.next_packet())
                .await
                .is_err());
            send_udp("127.0.0.1:7272", b"stream after cancel", 1);
            let packet = timeout(PATIENCE, stream.next_packet())
                .await
                .expect("the packet within the patience")
                .unwrap()
                .unwrap();
            assert!(packet
                .view()
                .payload()
                .unwrap()
                .ends_with(b"stream after cancel"));
        });
    });
}

#[test]
fn datagrams_kept_during_add_group_come_without_the_socket_being_readable() {
    if !privileged("datagrams_kept_during_add_group_come_without_the_socket_being_readable") {
        return;
    }
    in_netns(|| {
        block_on(async {
            let mut listener = AsyncListener::new(bind(73)).unwrap();
            rule(7373, 73);
            // Let the reactor see the socket idle and clear its readiness.
            assert!(timeout(Duration::from_millis(50), listener.recv())
                .await
                .is_err());
            // Queued on the socket before `send` returns (queue threshold 1); then binding
            // another group reads the queue while it waits for the acknowledgement and keeps
            // the packets aside. The socket is no longer readable, and the edge-triggered
            // event of their arrival finds nothing when the reactor looks.
            send_udp("127.0.0.1:7373", b"kept aside", 2);
            listener.add_group(74, &GroupConfig::new()).unwrap();
            assert!(listener.get_ref().socket().has_pending());
            assert_eq!(recv_packets(&mut listener, 2, b"kept aside").await, 2);
            assert_eq!(listener.get_ref().groups(), &[73, 74]);
        });
    });
}
