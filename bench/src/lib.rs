//! What the end-to-end benchmarks share: a private network namespace with `lo` up and the
//! benchmark's rules, a sender that floods loopback with `sendmmsg`, CPU timing of a thread,
//! and what a typical consumer reads of each packet.
//!
//! The programs are `burst` (`src/bin/burst.rs`), `multi_group`
//! (`src/bin/multi_group.rs`), `filter_cost` (`src/bin/filter_cost.rs`), and `parse_count` (`src/bin/parse_count.rs`), a bare
//! `Packet::parse` loop for cachegrind that uses none of this module; docs/benchmarks.md
//! says how to run them and what they measured. [`pcap_floor`] is the cheapest honest
//! writer of our command's pcap file, `burst`'s floor for it.
#![allow(unsafe_code)]

pub mod pcap_floor;

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

use nflog::Packet;
pub use nflog_test_support::{netns_inode, ulogd};

/// The error of a benchmark: what went wrong, said once, at the end.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The UDP port the benchmarks send to (discard), where the rules log and drop.
pub const PORT: u16 = 9;

/// Datagrams per `sendmmsg`.
const SEND_BATCH: usize = 64;

/// Moves the calling thread into a network namespace of its own (`unshare(CLONE_NEWNET)`),
/// checks that it left the one it was in, and brings `lo` up; returns the new namespace's
/// inode. The host's interfaces and ruleset are never touched.
pub fn enter_private_netns() -> Result<u64, BoxError> {
    let host = netns_inode()?;
    nflog_test_support::enter_new_netns()?;
    let netns = netns_inode()?;
    if netns == host {
        return Err("unshare(CLONE_NEWNET) left the thread in the host's namespace".into());
    }
    nflog_test_support::try_run("ip", &["link", "set", "lo", "up"])?;
    Ok(netns)
}

/// Loads a ruleset into the calling thread's network namespace.
pub fn nft(ruleset: &str) -> Result<(), BoxError> {
    Ok(nflog_test_support::try_nft(ruleset)?)
}

/// A thread inherits the network namespace of the thread that creates it (clone without
/// CLONE_NEWNET shares the creator's): checked, since all the traffic depends on it.
pub fn check_netns(netns: u64) -> Result<(), BoxError> {
    if netns_inode()? != netns {
        return Err("a spawned thread is not in its creator's network namespace".into());
    }
    Ok(())
}

/// Sends `packets` UDP datagrams of `size` bytes to 127.0.0.1:[`PORT`] from `flows` sockets
/// in turn (each its own source port, so a hash over the flow sees `flows` of them), 64 at
/// a time with `sendmmsg`, as fast as the kernel takes them; returns how many went out and
/// the sending thread's CPU time (it pays for the kernel's logging, the loopback and the
/// drop).
pub fn send(packets: u64, size: usize, flows: usize) -> Result<(u64, Duration), BoxError> {
    let sockets = (0..flows.max(1))
        .map(|_| {
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            socket.connect(("127.0.0.1", PORT))?;
            Ok(socket)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let payload = vec![0x5au8; size];
    let mut iovecs = [libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: size,
    }; SEND_BATCH];
    let mut messages: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iov| {
            // SAFETY: `mmsghdr` is plain old data (integers and raw pointers), for which all
            // zero bytes is a valid value: no name, no control data, no flags.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    let cpu_start = thread_cpu()?;
    let (mut sent, mut turn) = (0u64, 0usize);
    while sent < packets {
        let count = (packets - sent).min(SEND_BATCH as u64) as libc::c_uint;
        let socket = &sockets[turn % sockets.len()];
        turn += 1;
        // SAFETY: `messages` holds SEND_BATCH >= `count` initialised headers, each pointing
        // at one iovec of `iovecs` that points at `payload`'s `size` bytes; all of them live
        // until after the call and the kernel only reads them (and writes `msg_len`).
        let rc = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                messages.as_mut_ptr(),
                count,
                libc::MSG_NOSIGNAL,
            )
        };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::ENOBUFS | libc::EAGAIN) => std::thread::yield_now(),
                _ => return Err(format!("sendmmsg: {e}").into()),
            }
        } else {
            sent += rc as u64;
        }
    }
    let cpu = (thread_cpu()? - cpu_start).clock;
    drop(payload);
    Ok((sent, cpu))
}

/// What a typical consumer reads, as the C receiver reads it: the prefix's bytes up to
/// its NUL (its `strlen`; `Packet::prefix`, as text, adds a UTF-8 check the C receiver
/// does not make), the mark, the payload's length.
pub fn touch(packet: &Packet<&[u8]>, sink: &mut u64) {
    let prefix = packet.prefix_bytes().map_or(0, |p| p.len() as u64);
    let mark = u64::from(packet.mark().unwrap_or(0));
    let payload = packet.payload().map_or(0, |p| p.len() as u64);
    *sink = sink.wrapping_add(prefix + mark + payload);
}

/// A thread's CPU time, user and system, read two ways.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    /// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: the scheduler's count, to the nanosecond.
    pub clock: Duration,
    /// `getrusage(RUSAGE_THREAD)`, user + system: brought up to date only at ticks and
    /// context switches, so it undercounts a thread that runs for a few milliseconds
    /// without blocking (the backlog mode).
    pub rusage: Duration,
    /// Voluntary context switches (`ru_nvcsw`): each sleep waiting for packets.
    pub voluntary: u64,
    /// Involuntary context switches (`ru_nivcsw`): each time the scheduler took the CPU.
    pub involuntary: u64,
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            clock: self.clock.saturating_sub(earlier.clock),
            rusage: self.rusage.saturating_sub(earlier.rusage),
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }
}

/// The calling thread's CPU time.
pub fn thread_cpu() -> Result<CpuTime, BoxError> {
    // SAFETY: `rusage` is plain old data; all zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()).into());
    }
    Ok(CpuTime {
        clock: thread_clock()?,
        rusage: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        voluntary: usage.ru_nvcsw as u64,
        involuntary: usage.ru_nivcsw as u64,
    })
}

/// The calling thread's CPU time as the scheduler counts it
/// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), without the `getrusage` of [`thread_cpu`].
pub fn thread_clock() -> Result<Duration, BoxError> {
    // SAFETY: `timespec` is plain old data; all zero bytes is a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a live, writable timespec for the duration of the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Err(format!("clock_gettime: {}", std::io::Error::last_os_error()).into());
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// A `timeval` as a duration.
pub fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}
