//! A slow output does not become kernel drops: the command's reader thread keeps draining
//! the socket into its queue while the writer is stuck, and what the queue cannot hold is
//! dropped, counted and reported, never silent.
//!
//! The writer is made stuck for real: the command writes text to a pipe that the test does
//! not read until the burst is over (a pipe holds 64 KiB). Each test runs in a private
//! network namespace of its own (see `support`).

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use support::{
    bound_groups, figure, in_netns, nft, privileged, send_paced, socket_queue_empty, wait_until,
    Proc, Scratch, Signal, NFLOG,
};

const PORT: u16 = 6011;

/// Logs every UDP datagram to `PORT` at OUTPUT to `group`, and drops it at INPUT.
fn log_udp_to(group: u16) {
    nft(&format!(
        "table inet t {{\n\
         \x20 chain out {{ type filter hook output priority 0; udp dport {PORT} log group {group} prefix \"slow\"; }}\n\
         \x20 chain in {{ type filter hook input priority 0; udp dport {PORT} drop; }}\n\
         }}\n"
    ));
}

/// What the stuck capture gave: its exit status, text lines on stdout, and stderr.
struct Outcome {
    /// The command's resident memory once bound, before any packet, in KiB.
    rss_idle: u64,
    /// The most it had resident by the end of the burst (`VmHWM`), in KiB.
    rss_peak: u64,
    success: bool,
    lines: usize,
    stderr: String,
}

/// Runs `nflog -g GROUP -n ARGS` with stdout to a pipe nobody reads, sends `packets`,
/// waits until the command has received them all (its status shows in `/proc`: the
/// reader is idle once the socket is drained, which the test sees as the kernel's queue
/// staying empty), then reads the pipe, stops the command and returns what it said.
fn stuck_capture(group: u16, packets: usize, size: usize, args: &[&str]) -> Outcome {
    log_udp_to(group);
    let mut child = Command::new(NFLOG)
        // A 4 MiB socket buffer (the kernel doubles what is asked): room for the reader
        // to fall behind for a while when the tests of this file run side by side on a
        // busy machine, and still a small part of each burst.
        .args(["-g", &group.to_string(), "-n", "--rcvbuf", "2097152"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("nflog binds the group", || bound_groups().contains(&group));
    let rss_idle = memory(child.id(), "VmRSS:");
    send_paced(PORT, packets, size);
    // The last batch leaves the kernel within its flush timeout (100 ms); the socket's
    // queue empties as the reader copies it out.
    thread::sleep(Duration::from_millis(300));
    wait_until("the socket is drained", || socket_queue_empty(group));
    let rss_peak = memory(child.id(), "VmHWM:");
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    // Let the writer catch up, then stop.
    thread::sleep(Duration::from_millis(200));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, Signal::INT).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let text = reader.join().unwrap();
    Outcome {
        rss_idle,
        rss_peak,
        success: status.success(),
        lines: text.lines().count(),
        stderr,
    }
}

/// A memory figure of process `pid` from `/proc/PID/status`, in KiB.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line[field.len()..]
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

#[test]
fn a_stuck_output_loses_nothing() {
    if !privileged("a_stuck_output_loses_nothing") {
        return;
    }
    // 40,000 messages of about 300 bytes: 12 MB, 3 times what the socket can hold: without
    // the reader thread, a stuck writer made the kernel drop most of them.
    let packets = 40_000;
    let outcome = in_netns(move || stuck_capture(21, packets, 200, &[]));
    assert!(outcome.success, "{}", outcome.stderr);
    let stats = outcome.stderr.lines().last().unwrap();
    assert_eq!(figure(stats, "packets written"), packets as u64, "{stats}");
    assert_eq!(figure(stats, "packets ("), packets as u64, "{stats}");
    assert_eq!(figure(stats, "kernel overruns"), 0, "{stats}");
    assert!(!stats.contains("dropped"), "{stats}");
    assert!(
        stats.contains("MiB waited for the output"),
        "the writer was stuck, so the queue grew: {stats}"
    );
    assert_eq!(outcome.lines, packets);
}

#[test]
fn a_full_queue_drops_counts_and_reports() {
    if !privileged("a_full_queue_drops_counts_and_reports") {
        return;
    }
    let packets = 20_000;
    let outcome = in_netns(move || stuck_capture(22, packets, 200, &["--queue-size", "262144"]));
    assert!(outcome.success, "{}", outcome.stderr);
    let stats = outcome.stderr.lines().last().unwrap();
    let written = figure(stats, "packets written");
    let received = figure(stats, "packets (");
    let dropped = figure(stats, "packets dropped because the output fell behind");
    assert!(stats.ends_with("(raise --queue-size)"), "{stats}");
    assert_eq!(received, packets as u64, "{stats}");
    assert_eq!(figure(stats, "kernel overruns"), 0, "{stats}");
    assert!(dropped > 0 && written > 0, "{stats}");
    assert_eq!(
        written + dropped,
        received,
        "every packet is accounted for: {stats}"
    );
    assert_eq!(outcome.lines as u64, written);
}

#[test]
fn memory_stays_within_the_queue_size() {
    if !privileged("memory_stays_within_the_queue_size") {
        return;
    }
    // 60,000 packets of 1400 bytes, 90 MB of messages, against a stuck output and a queue
    // of 4 MiB: what the queue cannot hold is dropped, and the command's memory grows by
    // the queue, its pool of buffers (16 of at most 256 KiB) and the output buffer (256
    // KiB) at most, never by the burst.
    let queue = 4 << 20;
    let outcome =
        in_netns(move || stuck_capture(24, 60_000, 1400, &["--queue-size", &queue.to_string()]));
    assert!(outcome.success, "{}", outcome.stderr);
    let stats = outcome.stderr.lines().last().unwrap();
    assert!(figure(stats, "packets dropped because") > 0, "{stats}");
    let growth = outcome.rss_peak.saturating_sub(outcome.rss_idle);
    let bound = (queue as u64 + (16 << 18) + (256 << 10) + (2 << 20)) / 1024;
    eprintln!(
        "resident memory {} KiB idle, {} KiB at most: {growth} KiB for a burst of 90 MB \
         (bound {bound} KiB); {stats}",
        outcome.rss_idle, outcome.rss_peak
    );
    assert!(
        growth <= bound,
        "grew by {growth} KiB, more than {bound} KiB; {stats}"
    );
}

#[test]
fn standard_output_shows_each_packet_as_it_comes() {
    if !privileged("standard_output_shows_each_packet_as_it_comes") {
        return;
    }
    in_netns(|| {
        log_udp_to(23);
        let scratch = Scratch::new();
        // Standard output to a file (the command cannot tell it from a pipe).
        let mut nflog = Proc::nflog(&["-g", "23", "-n"], scratch.path(), "nflog");
        nflog.wait_bound(23);
        for sent in 1..=3 {
            send_paced(PORT, 1, 200);
            // The line shows while the command runs: no buffer waits to fill.
            wait_until("the packet's line is written", || {
                nflog.stdout().lines().count() == sent
            });
        }
        for line in nflog.stdout().lines() {
            assert!(line.contains(" slow IN= OUT=if:1 "), "{line}");
            assert!(line.contains(&format!(" DPT={PORT} LEN=208 ")), "{line}");
        }
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
    });
}

#[test]
fn a_signal_ends_a_capture_whose_output_is_blocked() {
    // Regression: with standard output a pipe nobody reads, SIGTERM and Ctrl-C stopped the
    // reader but the writer stayed in `write()` for ever; only SIGKILL ended the command.
    if !privileged("a_signal_ends_a_capture_whose_output_is_blocked") {
        return;
    }
    in_netns(|| {
        let group = 25;
        log_udp_to(group);
        let mut child = Command::new(NFLOG)
            .args(["-g", &group.to_string(), "-n"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Killed, if the test fails before it ends, by dropping the guard.
        struct Kill(u32);
        impl Drop for Kill {
            fn drop(&mut self) {
                if let Some(pid) = rustix::process::Pid::from_raw(self.0 as i32) {
                    let _ = rustix::process::kill_process(pid, Signal::KILL);
                }
            }
        }
        let guard = Kill(child.id());
        wait_until("nflog binds the group", || bound_groups().contains(&group));
        // 3,000 lines of about 250 bytes: far more than the pipe (64 KiB) holds.
        let packets = 3_000;
        send_paced(PORT, packets, 100);
        thread::sleep(Duration::from_millis(300));
        wait_until("the socket is drained", || socket_queue_empty(group));
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        let signalled = std::time::Instant::now();
        rustix::process::kill_process(pid, Signal::TERM).unwrap();
        let mut stderr = String::new();
        wait_until("nflog exits after the signal", || {
            child.try_wait().unwrap().is_some()
        });
        let took = signalled.elapsed();
        std::mem::forget(guard);
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{status}: {stderr}");
        assert!(took < Duration::from_secs(8), "took {took:?}");
        let stats = stderr.lines().last().unwrap();
        let received = figure(stats, "packets (");
        let written = figure(stats, "packets written");
        let lost = figure(
            stats,
            "packets lost because the output took nothing more after the signal",
        );
        assert_eq!(received, packets as u64, "{stats}");
        assert!(lost > 0, "{stats}");
        assert_eq!(
            written + lost,
            received,
            "every packet accounted for: {stats}"
        );
        // What the pipe holds is at least what the command says it wrote.
        let mut text = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.lines().count() as u64 >= written, "{stats}");
    });
}
