//! What receiving a burst of logged packets costs, through the real kernel.
//!
//! ```text
//! cargo build --release --example burst
//! sudo target/release/examples/burst [--packets N] [--size BYTES] [--runs R] [--backlog]
//!                                    [--qthresh N] [--nlbufsiz BYTES] [--only MODE]
//! ```
//!
//! (or, as root, `cargo run --release --example burst -- ARGS`). Needs root (CAP_SYS_ADMIN
//! to make a network namespace, CAP_NET_ADMIN in it), `ip` and `nft`. Everything happens in
//! a private network namespace that one thread of this program makes with
//! `unshare(CLONE_NEWNET)`: it brings `lo` up there and loads
//!
//! ```text
//! table inet bench {
//!     chain out { type filter hook output priority 0;
//!                 udp dport 9 meta mark set 0x2a log prefix "burst" group 9 }
//!     chain in  { type filter hook input priority 0; udp dport 9 drop }
//! }
//! ```
//!
//! so each datagram to 127.0.0.1:9 is logged at OUTPUT with a mark and a prefix, then dropped
//! at INPUT (no socket, no ICMP error). The host's interfaces and ruleset are not touched;
//! the namespace disappears with the thread.
//!
//! Each run binds group 9 (queue threshold `--qthresh`, default 256; `--nlbufsiz`, default
//! 131072; flag SEQ; a 64 MiB receive buffer, which the kernel doubles), then a sender thread
//! spawned from the namespace thread (a thread inherits its creator's network namespace; the
//! program checks) sends `--packets` UDP datagrams (default 200000) of `--size` payload bytes
//! (default 64) with `sendmmsg`, as fast as it can, while the namespace thread receives in
//! each of three modes (or only `--only MODE`):
//!
//! - `bare`: `recv` into a 256 KiB buffer and walk the netlink headers only
//!   (`wire::netlink::Messages`), counting packet messages: the floor;
//! - `parse`: the same `recv`, then `Packet::parse` of each message and a look at its prefix,
//!   mark and payload length: the parser without the listener;
//! - `listener`: `Listener::run` with a callback that looks at prefix, mark and payload
//!   length: what a user of the crate gets.
//!
//! By default sending and receiving overlap, as in life: the receiver sleeps until the kernel
//! hands it a batch, and its CPU time includes those wake-ups. With `--backlog` the receiver
//! starts only once everything was sent and the last batch flushed, so it drains a full
//! receive buffer without ever sleeping: the pure cost of receiving and parsing. (Keep the
//! backlog under the receive buffer: about 50000 packets of 1400 bytes.)
//!
//! Receiving stops when every packet has arrived, or 1 s after the sender finished without
//! further progress. For each run it prints: packets sent, received and lost (sent less
//! received), ENOBUFS overruns, sequence gaps (listener only), datagrams and truncated ones,
//! the receiving thread's CPU time per packet (`CLOCK_THREAD_CPUTIME_ID`, user + system) and
//! its ratio to `bare` of the same run, the same from `getrusage(RUSAGE_THREAD)` (which is
//! brought up to date only at ticks and context switches: it agrees when receiving overlaps
//! sending, and undercounts in backlog mode), the sending thread's CPU per packet (it pays for
//! the kernel's logging, the loopback and the drop), and the wall time from the start of
//! receiving (the first send, or the end of sending in backlog mode) to the last packet.
#![allow(unsafe_code)]

use std::io::Write;
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nflog::socket::MAX_DATAGRAM;
use nflog::wire::kind::MSG_PACKET;
use nflog::wire::netlink::Messages;
use nflog::{Flags, GroupConfig, Listener, Packet, Socket};
use rustix::net::sockopt::Timeout;
use rustix::net::RecvFlags;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const GROUP: u16 = 9;
const PORT: u16 = 9;
const RECEIVE_BUFFER: usize = 64 * 1024 * 1024;
/// How long receiving goes on without progress once the sender is done.
const IDLE: Duration = Duration::from_secs(1);
/// Datagrams per `sendmmsg`.
const SEND_BATCH: usize = 64;

const RULESET: &str = r#"
table inet bench {
    chain out {
        type filter hook output priority 0;
        udp dport 9 meta mark set 0x2a log prefix "burst" group 9
    }
    chain in {
        type filter hook input priority 0;
        udp dport 9 drop
    }
}
"#;

#[derive(Debug, Clone)]
struct Args {
    packets: u64,
    size: usize,
    runs: u32,
    qthresh: u32,
    nlbufsiz: u32,
    /// Send everything first, then receive: the receive cost without waiting and wake-ups.
    backlog: bool,
    /// The modes to run, in order.
    modes: Vec<Mode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bare,
    Parse,
    Listener,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Bare, Mode::Parse, Mode::Listener];

    fn name(self) -> &'static str {
        match self {
            Mode::Bare => "bare",
            Mode::Parse => "parse",
            Mode::Listener => "listener",
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    mode: Mode,
    sent: u64,
    received: u64,
    datagrams: u64,
    /// Datagrams larger than the receive buffer.
    truncated: u64,
    overruns: u64,
    /// `None` where the mode does not track sequence numbers.
    seq_gaps: Option<u64>,
    rx_cpu: CpuTime,
    tx_cpu: Duration,
    wall: Duration,
}

impl Outcome {
    fn rx_ns_per_packet(&self) -> f64 {
        self.rx_cpu.clock.as_nanos() as f64 / self.received.max(1) as f64
    }

    fn rx_rusage_ns_per_packet(&self) -> f64 {
        self.rx_cpu.rusage.as_nanos() as f64 / self.received.max(1) as f64
    }

    fn tx_ns_per_packet(&self) -> f64 {
        self.tx_cpu.as_nanos() as f64 / self.sent.max(1) as f64
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("burst: {message}");
            eprintln!(
                "usage: burst [--packets N] [--size BYTES] [--runs R] [--backlog] \
                 [--qthresh N] [--nlbufsiz BYTES] [--only bare|parse|listener]"
            );
            return ExitCode::from(2);
        }
    };
    if !rustix::process::geteuid().is_root() {
        eprintln!("burst: needs root (a network namespace of its own, and CAP_NET_ADMIN in it)");
        return ExitCode::from(1);
    }
    let host_netns = match netns_inode() {
        Ok(inode) => inode,
        Err(e) => {
            eprintln!("burst: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "{} packets of {} UDP payload bytes, {} run(s); queue threshold {}, nlbufsiz {}, \
         receive buffer {} MiB; {}",
        args.packets,
        args.size,
        args.runs,
        args.qthresh,
        args.nlbufsiz,
        RECEIVE_BUFFER >> 20,
        if args.backlog {
            "backlog: all sent first, then received"
        } else {
            "sending and receiving at once"
        }
    );
    let (runs, modes) = (args.runs, args.modes.len());
    let result = std::thread::Builder::new()
        .name("receiver".into())
        .spawn(move || in_private_netns(args, host_netns))
        .map_err(BoxError::from)
        .and_then(|thread| {
            thread
                .join()
                .map_err(|_| "the receiving thread panicked".into())
        })
        .and_then(|result| result);
    match result {
        Ok(outcomes) => {
            print_table(&outcomes, runs, modes);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("burst: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        packets: 200_000,
        size: 64,
        runs: 1,
        qthresh: 256,
        nlbufsiz: 131_072,
        backlog: false,
        modes: Mode::ALL.to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = |it: &mut std::iter::Skip<std::env::Args>| {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value"))
                .and_then(|v| {
                    v.parse::<u64>()
                        .map_err(|_| format!("{flag} takes a whole number, not {v:?}"))
                })
        };
        match flag.as_str() {
            "--packets" => args.packets = value(&mut it)?.max(1),
            "--size" => {
                args.size = usize::try_from(value(&mut it)?).unwrap_or(usize::MAX);
                if args.size > 65_507 {
                    return Err("--size is at most 65507 (the largest UDP payload)".into());
                }
            }
            "--runs" => args.runs = u32::try_from(value(&mut it)?).unwrap_or(u32::MAX).max(1),
            "--qthresh" => args.qthresh = u32::try_from(value(&mut it)?).unwrap_or(u32::MAX),
            "--nlbufsiz" => args.nlbufsiz = u32::try_from(value(&mut it)?).unwrap_or(u32::MAX),
            "--backlog" => args.backlog = true,
            "--only" => {
                let name = it.next().ok_or("--only needs a mode")?;
                let mode = Mode::ALL
                    .into_iter()
                    .find(|m| m.name() == name)
                    .ok_or_else(|| format!("--only takes bare, parse or listener, not {name:?}"))?;
                args.modes = vec![mode];
            }
            "-h" | "--help" => return Err("measures the cost of receiving NFLOG bursts".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// Runs on its own thread: makes the namespace, sets it up, and runs every measurement.
fn in_private_netns(args: Args, host_netns: u64) -> Result<Vec<Outcome>, BoxError> {
    // SAFETY: CLONE_NEWNET changes only the calling thread's network namespace (this thread,
    // which the program made for the purpose); the file descriptor table is not unshared, so
    // no descriptor of another thread becomes unusable.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
    let netns = netns_inode()?;
    if netns == host_netns {
        return Err("unshare(CLONE_NEWNET) left the thread in the host's namespace".into());
    }
    run("ip", &["link", "set", "lo", "up"])?;
    nft(RULESET)?;
    // A thread inherits the network namespace of the thread that creates it (clone without
    // CLONE_NEWNET shares the creator's nsproxy): check, since all traffic depends on it.
    let child_netns = std::thread::spawn(netns_inode)
        .join()
        .map_err(|_| "namespace check thread panicked")??;
    println!(
        "network namespace: host net:[{host_netns}], receiver net:[{netns}], \
         threads it spawns net:[{child_netns}]"
    );
    if child_netns != netns {
        return Err("a spawned thread is not in its creator's network namespace".into());
    }
    let config = GroupConfig::new()
        .queue_threshold(args.qthresh)
        .nlbufsiz(args.nlbufsiz)
        .flags(Flags::SEQ);
    let mut outcomes = Vec::new();
    for _ in 0..args.runs {
        for &mode in &args.modes {
            let outcome = match mode {
                Mode::Bare | Mode::Parse => receive_raw(mode, &args, &config, netns)?,
                Mode::Listener => receive_listener(&args, &config, netns)?,
            };
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}

/// Shared between the receiving thread, the sender and the watchdog.
#[derive(Default)]
struct Progress {
    /// Packets received so far.
    received: AtomicU64,
    /// Set by the sender when it is done.
    sender_done: AtomicBool,
    /// In backlog mode, how long after the sender is done the kernel still holds a partial
    /// batch (the flush timeout).
    flush: Duration,
    /// Set by the watchdog when nothing arrived for `IDLE` after the sender finished.
    give_up: AtomicBool,
    /// Set by the receiver when it stops, to end the watchdog.
    finished: AtomicBool,
    /// Nanoseconds from the epoch to the last progress the watchdog saw.
    last_progress_ns: AtomicU64,
}

/// When receiving began: the clocks a run reads.
struct Clocks {
    /// When the sender was started.
    epoch: Instant,
    /// When receiving began: the epoch, or in backlog mode when the sender was done.
    rx_start: Instant,
    /// The receiving thread's CPU time then.
    cpu_start: CpuTime,
}

impl Clocks {
    /// Starts the clocks once receiving may begin.
    fn start(args: &Args, progress: &Progress, epoch: Instant) -> Result<Clocks, BoxError> {
        if args.backlog {
            while !progress.sender_done.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Let the kernel flush the last partial batch, so that all is queued.
            std::thread::sleep(progress.flush + Duration::from_millis(20));
        }
        Ok(Clocks {
            epoch,
            rx_start: if args.backlog { Instant::now() } else { epoch },
            cpu_start: thread_cpu()?,
        })
    }

    /// The wall time from the start of receiving to the last packet: `end` when every
    /// packet came, else the last progress the watchdog saw.
    fn wall(&self, end: Option<Duration>, progress: &Progress) -> Duration {
        end.unwrap_or_else(|| {
            let last = Duration::from_nanos(progress.last_progress_ns.load(Ordering::Relaxed));
            last.saturating_sub(self.rx_start - self.epoch)
        })
    }
}

/// Modes `bare` and `parse`: our socket for the binding, then plain `recv`.
fn receive_raw(
    mode: Mode,
    args: &Args,
    config: &GroupConfig,
    netns: u64,
) -> Result<Outcome, BoxError> {
    let mut socket = Socket::open()?;
    socket.set_receive_buffer(RECEIVE_BUFFER)?;
    socket.bind_group(GROUP, config)?;
    // Wake up now and then to notice that the sender is done and nothing more comes.
    rustix::net::sockopt::set_socket_timeout(
        socket.as_fd(),
        Timeout::Recv,
        Some(Duration::from_millis(50)),
    )?;
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let progress = Arc::new(Progress {
        flush: config.flush_timeout,
        ..Progress::default()
    });
    let mut received = 0u64;
    let mut datagrams = 0u64;
    let mut truncated = 0u64;
    let mut overruns = 0u64;
    let mut sink = 0u64;

    let epoch = Instant::now();
    let (sender, watchdog) = start_sender_and_watchdog(args, netns, &progress, epoch, None);
    let clocks = Clocks::start(args, &progress, epoch)?;
    let mut end = None;
    while received < args.packets {
        match rustix::net::recv(socket.as_fd(), &mut buffer, RecvFlags::TRUNC) {
            Ok((_, full_len)) => {
                datagrams += 1;
                truncated += u64::from(full_len > buffer.len());
                let datagram = &buffer[..full_len.min(buffer.len())];
                received += match mode {
                    Mode::Bare => walk(datagram),
                    _ => parse_and_touch(datagram, &mut sink),
                };
                progress.received.store(received, Ordering::Relaxed);
            }
            Err(rustix::io::Errno::NOBUFS) => overruns += 1,
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {
                if progress.give_up.load(Ordering::Relaxed) {
                    break;
                }
            }
            Err(e) => return Err(format!("recv: {e}").into()),
        }
        if received >= args.packets {
            end = Some(clocks.rx_start.elapsed());
        }
    }
    let rx_cpu = thread_cpu()? - clocks.cpu_start;
    progress.finished.store(true, Ordering::Relaxed);
    let (sent, tx_cpu) = sender.join().map_err(|_| "sender panicked")??;
    watchdog.join().map_err(|_| "watchdog panicked")?;
    std::hint::black_box(sink);
    Ok(Outcome {
        mode,
        sent,
        received,
        datagrams,
        truncated,
        overruns,
        seq_gaps: None,
        rx_cpu,
        tx_cpu,
        wall: clocks.wall(end, &progress),
    })
}

/// Mode `listener`: `Listener::run`, as a user of the crate would.
fn receive_listener(args: &Args, config: &GroupConfig, netns: u64) -> Result<Outcome, BoxError> {
    let mut listener = Listener::builder()
        .group(GROUP)
        .config(config.clone())
        .receive_buffer(Some(RECEIVE_BUFFER))
        .bind()?;
    let stop = listener.stop_handle();
    let progress = Arc::new(Progress {
        flush: config.flush_timeout,
        ..Progress::default()
    });
    let mut received = 0u64;
    let mut sink = 0u64;
    let mut end = None;

    let epoch = Instant::now();
    let (sender, watchdog) =
        start_sender_and_watchdog(args, netns, &progress, epoch, Some(stop.clone()));
    let clocks = Clocks::start(args, &progress, epoch)?;
    let stats = listener.run(|packet| {
        touch(&packet, &mut sink);
        received += 1;
        progress.received.store(received, Ordering::Relaxed);
        if received == args.packets {
            end = Some(clocks.rx_start.elapsed());
            stop.stop();
        }
    })?;
    let rx_cpu = thread_cpu()? - clocks.cpu_start;
    progress.finished.store(true, Ordering::Relaxed);
    let (sent, tx_cpu) = sender.join().map_err(|_| "sender panicked")??;
    watchdog.join().map_err(|_| "watchdog panicked")?;
    std::hint::black_box(sink);
    Ok(Outcome {
        mode: Mode::Listener,
        sent,
        received,
        datagrams: stats.datagrams,
        truncated: stats.truncated,
        overruns: stats.overruns,
        seq_gaps: Some(stats.seq_gaps),
        rx_cpu,
        tx_cpu,
        wall: clocks.wall(end, &progress),
    })
}

type SenderHandle = std::thread::JoinHandle<Result<(u64, Duration), BoxError>>;

/// Starts the sender and a watchdog that ends receiving once nothing more comes.
///
/// Both are spawned from the calling thread, so they share its network namespace.
fn start_sender_and_watchdog(
    args: &Args,
    netns: u64,
    progress: &Arc<Progress>,
    epoch: Instant,
    stop: Option<nflog::StopHandle>,
) -> (SenderHandle, std::thread::JoinHandle<()>) {
    let (packets, size) = (args.packets, args.size);
    let p = Arc::clone(progress);
    let sender = std::thread::Builder::new()
        .name("sender".into())
        .spawn(move || {
            let result = send_burst(packets, size, netns);
            p.sender_done.store(true, Ordering::Release);
            result
        })
        .expect("spawn the sender thread");
    let p = Arc::clone(progress);
    let watchdog = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut seen = 0;
            let mut last_change = Instant::now();
            let mut sender_done = false;
            while !p.finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                let now = p.received.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    last_change = Instant::now();
                    let ns = u64::try_from((last_change - epoch).as_nanos()).unwrap_or(u64::MAX);
                    p.last_progress_ns.store(ns, Ordering::Relaxed);
                } else if !sender_done {
                    // The idle time counts from the end of sending at the earliest.
                    if p.sender_done.load(Ordering::Acquire) {
                        sender_done = true;
                        last_change = Instant::now();
                    }
                } else if last_change.elapsed() >= IDLE {
                    p.give_up.store(true, Ordering::Relaxed);
                    if let Some(stop) = &stop {
                        stop.stop();
                    }
                    return;
                }
            }
        })
        .expect("spawn the watchdog thread");
    (sender, watchdog)
}

/// Sends `packets` UDP datagrams of `size` bytes to 127.0.0.1:9 with `sendmmsg`; returns how
/// many went out and the sending thread's CPU time.
fn send_burst(packets: u64, size: usize, netns: u64) -> Result<(u64, Duration), BoxError> {
    if netns_inode()? != netns {
        return Err("the sender is not in the receiver's network namespace".into());
    }
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(("127.0.0.1", PORT))?;
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
    let mut sent = 0u64;
    while sent < packets {
        let count = (packets - sent).min(SEND_BATCH as u64) as libc::c_uint;
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
                Some(libc::EINTR) => continue,
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

/// Counts the packet messages of a datagram, reading nothing but the netlink headers.
fn walk(datagram: &[u8]) -> u64 {
    let mut n = 0;
    for message in Messages::new(datagram).map_while(Result::ok) {
        if message.message_type() == MSG_PACKET {
            n += 1;
        }
    }
    n
}

/// Parses every packet message of a datagram and looks at each one.
fn parse_and_touch(datagram: &[u8], sink: &mut u64) -> u64 {
    let mut n = 0;
    for message in Messages::new(datagram).map_while(Result::ok) {
        if message.message_type() == MSG_PACKET {
            if let Ok(packet) = Packet::parse(message.body()) {
                touch(&packet, sink);
                n += 1;
            }
        }
    }
    n
}

/// What a typical consumer reads: the prefix as text, the mark, the payload's length.
fn touch(packet: &Packet<'_>, sink: &mut u64) {
    let prefix = packet.prefix().map_or(0, |p| p.len() as u64);
    let mark = u64::from(packet.mark().unwrap_or(0));
    let payload = packet.payload().map_or(0, |p| p.len() as u64);
    *sink = sink.wrapping_add(prefix + mark + payload);
}

/// A thread's CPU time, user and system, read two ways.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTime {
    /// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: the scheduler's count, to the nanosecond.
    clock: Duration,
    /// `getrusage(RUSAGE_THREAD)`, user + system: brought up to date only at ticks and
    /// context switches, so it undercounts a thread that runs for a few milliseconds
    /// without blocking (the backlog mode).
    rusage: Duration,
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            clock: self.clock.saturating_sub(earlier.clock),
            rusage: self.rusage.saturating_sub(earlier.rusage),
        }
    }
}

/// The calling thread's CPU time.
fn thread_cpu() -> Result<CpuTime, BoxError> {
    // SAFETY: `rusage` and `timespec` are plain old data; all zero bytes is a valid value.
    let (mut usage, mut ts): (libc::rusage, libc::timespec) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: `usage` is a live, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()).into());
    }
    // SAFETY: `ts` is a live, writable timespec for the duration of the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Err(format!("clock_gettime: {}", std::io::Error::last_os_error()).into());
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(CpuTime {
        clock: Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        rusage: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// The inode of the calling thread's network namespace, which names it.
fn netns_inode() -> Result<u64, BoxError> {
    Ok(std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| format!("/proc/thread-self/ns/net: {e}"))?
        .ino())
}

/// Runs a command in the calling thread's namespaces.
fn run(program: &str, args: &[&str]) -> Result<(), BoxError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(())
}

/// Loads a ruleset into the calling thread's network namespace.
fn nft(ruleset: &str) -> Result<(), BoxError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nft: no stdin")?
        .write_all(ruleset.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("nft: {}", String::from_utf8_lossy(&out.stderr).trim()).into());
    }
    Ok(())
}

fn print_table(outcomes: &[Outcome], runs: u32, modes: usize) {
    println!(
        "{:<4} {:<9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>5} {:>11} {:>7} {:>11} {:>11} {:>8} {:>7}",
        "run",
        "mode",
        "sent",
        "received",
        "lost",
        "overrun",
        "seqgaps",
        "dgrams",
        "trunc",
        "rx CPU ns/p",
        "vs bare",
        "rusage ns/p",
        "tx CPU ns/p",
        "wall ms",
        "Mpkt/s"
    );
    for (i, chunk) in outcomes.chunks(modes).enumerate() {
        let bare = chunk.iter().find(|o| o.mode == Mode::Bare).copied();
        for o in chunk {
            print_row(&(i + 1).to_string(), o, bare.as_ref());
        }
    }
    if runs > 1 {
        let median = |mode: Mode| -> Option<Outcome> {
            let mut of_mode: Vec<Outcome> = outcomes
                .iter()
                .filter(|o| o.mode == mode)
                .copied()
                .collect();
            of_mode.sort_by(|a, b| a.rx_ns_per_packet().total_cmp(&b.rx_ns_per_packet()));
            of_mode.get(of_mode.len() / 2).copied()
        };
        let bare = median(Mode::Bare);
        for mode in Mode::ALL {
            if let Some(outcome) = median(mode) {
                print_row("med", &outcome, bare.as_ref());
            }
        }
    }
}

fn print_row(run: &str, o: &Outcome, bare: Option<&Outcome>) {
    let ratio = bare.map_or(f64::NAN, |b| o.rx_ns_per_packet() / b.rx_ns_per_packet());
    let gaps = o.seq_gaps.map_or("-".to_string(), |g| g.to_string());
    let rate = o.received as f64 / o.wall.as_secs_f64().max(1e-9) / 1e6;
    println!(
        "{:<4} {:<9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6} {:>5} {:>11.1} {:>7.2} {:>11.1} {:>11.1} {:>8.1} {:>7.2}",
        run,
        o.mode.name(),
        o.sent,
        o.received,
        o.sent.saturating_sub(o.received),
        o.overruns,
        gaps,
        o.datagrams,
        o.truncated,
        o.rx_ns_per_packet(),
        ratio,
        o.rx_rusage_ns_per_packet(),
        o.tx_ns_per_packet(),
        o.wall.as_secs_f64() * 1e3,
        rate
    );
    let _ = std::io::stdout().flush();
}
