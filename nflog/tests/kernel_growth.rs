//! No loss by design: after an overrun the listener doubles its receive buffer, up to a
//! limit, and says so in its statistics; loss is still accounted for exactly.

mod support;

use std::time::{Duration, Instant};

use nflog::{Flags, GroupConfig, Listener};
use support::{drop_net_admin, in_netns, log_ports, nft, privileged, send_udp};

/// Sends `count` packets while the listener does not read, then drains it; returns the
/// packets received.
fn burst_then_drain(listener: &mut Listener, count: usize) -> u64 {
    burst_of_then_drain(listener, b"growth", count)
}

/// As [`burst_then_drain`], with packets of `payload`.
fn burst_of_then_drain(listener: &mut Listener, payload: &[u8], count: usize) -> u64 {
    let before = listener.stats().packets;
    send_udp("127.0.0.1:6200", payload, count);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(300) {
        match listener.try_recv().unwrap() {
            Some(batch) => {
                for packet in batch {
                    packet.unwrap();
                }
                quiet_since = Instant::now();
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    listener.stats().packets - before
}

#[test]
fn overruns_double_the_receive_buffer_up_to_the_limit() {
    if !privileged("overruns_double_the_receive_buffer_up_to_the_limit") {
        return;
    }
    in_netns(|| {
        const LIMIT: usize = 1 << 20;
        let mut listener = Listener::builder()
            .group(62)
            .receive_buffer(Some(4096))
            .grow_receive_buffer(Some(LIMIT))
            .config(
                GroupConfig::new()
                    .flags(Flags::SEQ)
                    .queue_threshold(10)
                    .flush_timeout(Duration::from_millis(20)),
            )
            .bind()
            .unwrap();
        nft(&log_ports(&[(6200, 62)]));
        let start = listener.stats().receive_buffer;
        assert_eq!(start, 8192, "the kernel doubles the 4096 asked for");

        // Burst after burst, each overrun doubles the buffer until the limit.
        let mut sent = 0;
        let mut received = 0;
        for _ in 0..12 {
            received += burst_then_drain(&mut listener, 3000);
            sent += 3000;
        }
        let stats = listener.stats();
        eprintln!("after {sent} packets: {stats}");
        assert!(stats.overruns > 0, "{stats}");
        assert!(stats.buffer_growths > 0, "{stats}");
        assert!(stats.receive_buffer > start, "{stats}");
        assert!(
            stats.receive_buffer <= LIMIT,
            "never past the limit: {stats}"
        );
        assert_eq!(
            stats.buffer_growths,
            stats.overruns.min(u64::from((LIMIT / start).ilog2())),
            "one doubling per overrun until the limit: {stats}"
        );

        // A marker makes trailing losses visible: received + gaps == sent, exactly.
        received += burst_then_drain(&mut listener, 1);
        sent += 1;
        let stats = listener.stats();
        assert_eq!(received + stats.seq_gaps, sent as u64, "{stats}");

        // Grown to the limit (seven doublings of 8 KiB), the same burst now fits: no new
        // overrun, nothing lost.
        assert_eq!(stats.receive_buffer, LIMIT, "{stats}");
        let overruns = stats.overruns;
        assert_eq!(burst_then_drain(&mut listener, 3000), 3000);
        assert_eq!(listener.stats().overruns, overruns, "{}", listener.stats());
    });
}

#[test]
fn growth_can_be_turned_off() {
    if !privileged("growth_can_be_turned_off") {
        return;
    }
    in_netns(|| {
        let mut listener = Listener::builder()
            .group(63)
            .receive_buffer(Some(4096))
            .grow_receive_buffer(None)
            .config(GroupConfig::new().queue_threshold(10))
            .bind()
            .unwrap();
        nft(&log_ports(&[(6200, 63)]));
        burst_then_drain(&mut listener, 3000);
        let stats = listener.stats();
        assert!(stats.overruns > 0, "{stats}");
        assert_eq!(stats.buffer_growths, 0, "{stats}");
        assert_eq!(stats.receive_buffer, 8192, "{stats}");
    });
}

#[test]
fn growth_refused_after_dropping_privileges_never_shrinks_the_buffer() {
    if !privileged("growth_refused_after_dropping_privileges_never_shrinks_the_buffer") {
        return;
    }
    // Read here, in the namespace the test started in: on some kernels (Debian 12's 6.1) a
    // new network namespace has no /proc/sys/net/core/rmem_max, and the limit is global.
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    in_netns(move || {
        // The default 8 MiB, granted (doubled) with SO_RCVBUFFORCE while privileged: past
        // net.core.rmem_max on most machines (4 MiB here, 208 KiB stock).
        let mut listener = Listener::builder()
            .group(64)
            .config(GroupConfig::new().queue_threshold(1))
            .bind()
            .unwrap();
        nft(&log_ports(&[(6200, 64)]));
        let granted = listener.stats().receive_buffer;
        assert_eq!(granted, 16 << 20);
        // As `nflog -Z` does after binding: SO_RCVBUFFORCE is refused from now on, and
        // SO_RCVBUF caps at twice rmem_max.
        drop_net_admin();

        // One 8000-byte packet per datagram: 4000 overflow 16 MiB.
        burst_of_then_drain(&mut listener, &[0; 8000], 4000);
        let stats = listener.stats();
        assert!(stats.overruns > 0, "{stats}");
        assert_eq!(
            listener.socket().receive_buffer().unwrap(),
            stats.receive_buffer,
            "the statistics say what the buffer is"
        );
        assert!(stats.receive_buffer >= granted, "never smaller: {stats}");
        if 2 * rmem_max <= granted {
            assert_eq!(stats.receive_buffer, granted, "{stats}");
            assert_eq!(stats.buffer_growths, 0, "{stats}");
            assert_eq!(
                stats.growth_refused, stats.overruns,
                "each overrun's refused growth is counted: {stats}"
            );
            assert!(stats.to_string().contains("growth refused"), "{stats}");
        }
    });
}
