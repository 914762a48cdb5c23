//! Scaling out on one machine: several groups, one listener and one thread per group.
//!
//! ```text
//! cargo build --release -p nflog-bench
//! sudo target/release/multi_group [--groups 1,2,4] [--packets N] [--size BYTES]
//!                                 [--senders S] [--spread numgen|jhash]
//!                                 [--work NS] [--pin]
//! ```
//!
//! (or, as root, `cargo run --release -p nflog-bench --bin multi_group -- ARGS`). Needs root, `ip` and
//! `nft`.
//!
//! # The pattern
//!
//! One listener drains one socket on one thread, and the kernel hands a group's packets to
//! one socket only: a consumer that needs more than a CPU, or a ruleset whose logging
//! contends on one group (each group's queue has a lock of its own), spreads the packets
//! over N groups in the ruleset and runs N listeners, each on its own thread and bound to
//! nothing but its own group. The log statement takes a constant group, so the ruleset
//! picks one of N chains, each logging to its group, with a verdict map (the selector is
//! computed once per packet):
//!
//! ```text
//! table inet scale {
//!     chain g0 {              # one chain per group: 10, 11, ..., 10+N-1
//!         log group 10
//!     }
//!     chain g1 {
//!         log group 11
//!     }
//!     chain out {
//!         type filter hook output priority 0;
//!         udp dport 9 numgen inc mod 2 vmap { 0 : jump g0, 1 : jump g1 }
//!     }
//!     chain in {
//!         type filter hook input priority 0;
//!         udp dport 9 drop
//!     }
//! }
//! ```
//!
//! - `numgen inc mod N` (`--spread numgen`, the default) deals packets round-robin: an even
//!   spread, but the packets of one flow land in every group, so their order across groups
//!   is lost (sort by `NFULA_SEQ_GLOBAL`, flag `SEQ_GLOBAL`, if it matters).
//! - `jhash ip saddr . udp sport mod N` (`--spread jhash`; hash whatever identifies a flow
//!   for you, such as `ip saddr . ip daddr`) keeps each flow in one group, in order, but the
//!   spread is only as even as the flows are many and alike.
//!
//! The receiving side is the plain one: thread k binds group 10+k with
//! `Listener::builder().group(10 + k)`, and runs its loop; a `StopHandle` per listener ends
//! them all. Nothing is shared between the threads but the stop and a progress counter.
//!
//! # What it does
//!
//! A thread of this program enters a private network namespace (`unshare(CLONE_NEWNET)`;
//! threads it spawns inherit it, which the program checks), brings `lo` up and, for each N
//! of `--groups` (default `1,C` for C CPUs), loads the ruleset above for N groups, starts N
//! receiving threads (`--pin`: receiver k on CPU k mod C, senders after them), then
//! `--senders` threads (default 1) that send `--packets` UDP datagrams (default 400000) of
//! `--size` bytes (default 64) to 127.0.0.1:9 with `sendmmsg`, as fast as they can; each
//! sender uses 16 sockets in turn, so that `jhash` sees 16 flows per sender. Each receiver
//! looks at every packet's prefix, mark and payload length, then spins `--work`
//! nanoseconds (default 0) to stand for a consumer's own cost per packet. The host's
//! interfaces and ruleset are not touched.
//!
//! Receiving ends when every packet arrived, or 1 s after the senders finished without
//! progress. For each N it prints, per group: its thread, packets and share, datagrams,
//! ENOBUFS overruns, sequence gaps (packets the kernel dropped, flag SEQ), the thread's CPU
//! time (`CLOCK_THREAD_CPUTIME_ID`) and CPU per packet; then the totals: packets sent,
//! received and lost, wall time from the first send to the last packet, throughput, the
//! receivers' CPU per packet (all threads added up) and the senders' (which pay for the
//! kernel's logging). A table across the N closes the run.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use nflog::{Flags, GroupConfig, Listener, StopHandle};
use nflog_bench::{check_netns, enter_private_netns, nft, send, thread_cpu, touch, BoxError, PORT};

/// Group of the first receiver; receiver k binds `FIRST_GROUP + k`.
const FIRST_GROUP: u16 = 10;
/// Each listener's socket receive buffer (the kernel doubles it).
const RECEIVE_BUFFER: usize = 32 * 1024 * 1024;
/// How long receiving goes on without progress once the senders are done.
const IDLE: Duration = Duration::from_secs(1);
/// Sockets (flows) each sender takes in turn.
const FLOWS_PER_SENDER: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    Numgen,
    Jhash,
}

#[derive(Debug, Clone)]
struct Args {
    groups: Vec<usize>,
    packets: u64,
    size: usize,
    senders: usize,
    spread: Spread,
    work: Duration,
    pin: bool,
}

/// The ruleset spreading UDP to port 9 over `n` groups.
fn ruleset(n: usize, spread: Spread) -> String {
    let selector = match spread {
        Spread::Numgen => format!("numgen inc mod {n}"),
        Spread::Jhash => format!("jhash ip saddr . udp sport mod {n}"),
    };
    let mut chains = String::new();
    let mut map = Vec::new();
    for k in 0..n {
        // nft 1.0.6 wants the log statement on a line of its own.
        chains += &format!(
            "    chain g{k} {{\n        log group {}\n    }}\n",
            group(k)
        );
        map.push(format!("{k} : jump g{k}"));
    }
    // Adding then deleting the table empties it whether or not it existed.
    format!(
        "add table inet scale\ndelete table inet scale\n\
         table inet scale {{\n{chains}\
         \x20   chain out {{\n        type filter hook output priority 0;\n\
         \x20       udp dport {PORT} {selector} vmap {{ {} }}\n    }}\n\
         \x20   chain in {{\n        type filter hook input priority 0;\n\
         \x20       udp dport {PORT} drop\n    }}\n}}\n",
        map.join(", ")
    )
}

fn group(k: usize) -> u16 {
    FIRST_GROUP + u16::try_from(k).expect("at most a few hundred groups")
}

/// What one receiving thread saw.
#[derive(Debug, Clone)]
struct Receiver {
    group: u16,
    cpu: Option<usize>,
    packets: u64,
    datagrams: u64,
    overruns: u64,
    seq_gaps: u64,
    rx_cpu: Duration,
    last_packet: Option<Instant>,
}

/// What one N measured.
#[derive(Debug, Clone)]
struct Run {
    groups: usize,
    receivers: Vec<Receiver>,
    sent: u64,
    tx_cpu: Duration,
    wall: Duration,
}

impl Run {
    fn received(&self) -> u64 {
        self.receivers.iter().map(|r| r.packets).sum()
    }

    fn rx_ns_per_packet(&self) -> f64 {
        let cpu: Duration = self.receivers.iter().map(|r| r.rx_cpu).sum();
        cpu.as_nanos() as f64 / self.received().max(1) as f64
    }

    fn tx_ns_per_packet(&self) -> f64 {
        self.tx_cpu.as_nanos() as f64 / self.sent.max(1) as f64
    }

    fn mpps(&self) -> f64 {
        self.received() as f64 / self.wall.as_secs_f64().max(1e-9) / 1e6
    }
}

/// A progress counter on a cache line of its own, so that receivers do not slow each other.
#[derive(Default)]
#[repr(align(128))]
struct Progress(AtomicU64);

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("multi_group: {message}");
            eprintln!(
                "usage: multi_group [--groups 1,2,4] [--packets N] [--size BYTES] \
                 [--senders S] [--spread numgen|jhash] [--work NS] [--pin]"
            );
            return ExitCode::from(2);
        }
    };
    if !rustix::process::geteuid().is_root() {
        eprintln!("multi_group: needs root (a network namespace of its own, CAP_NET_ADMIN in it)");
        return ExitCode::from(1);
    }
    println!(
        "{} packets of {} bytes from {} sender(s), spread by {}, {} ns of work per packet, \
         {} CPUs{}",
        args.packets,
        args.size,
        args.senders,
        match args.spread {
            Spread::Numgen => "numgen",
            Spread::Jhash => "jhash",
        },
        args.work.as_nanos(),
        cpus(),
        if args.pin { ", pinned" } else { "" }
    );
    let result = std::thread::Builder::new()
        .name("netns".into())
        .spawn(move || in_private_netns(&args))
        .map_err(BoxError::from)
        .and_then(|t| t.join().map_err(|_| "the namespace thread panicked".into()))
        .and_then(|r| r);
    match result {
        Ok(runs) => {
            print_summary(&runs);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("multi_group: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        groups: if cpus() > 1 { vec![1, cpus()] } else { vec![1] },
        packets: 400_000,
        size: 64,
        senders: 1,
        spread: Spread::Numgen,
        work: Duration::ZERO,
        pin: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {v:?}"))
        };
        match flag.as_str() {
            "--groups" => {
                args.groups = value()?
                    .split(',')
                    .map(|n| match n.parse::<usize>() {
                        Ok(n @ 1..=256) => Ok(n),
                        _ => Err(format!("--groups takes numbers from 1 to 256, not {n:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--packets" => args.packets = number(value()?)?.max(1),
            "--size" => {
                args.size = usize::try_from(number(value()?)?).unwrap_or(usize::MAX);
                if args.size > 65_507 {
                    return Err("--size is at most 65507 (the largest UDP payload)".into());
                }
            }
            "--senders" => args.senders = usize::try_from(number(value()?)?.clamp(1, 64)).unwrap(),
            "--work" => args.work = Duration::from_nanos(number(value()?)?),
            "--spread" => {
                args.spread = match value()?.as_str() {
                    "numgen" => Spread::Numgen,
                    "jhash" => Spread::Jhash,
                    other => return Err(format!("--spread takes numgen or jhash, not {other:?}")),
                }
            }
            "--pin" => args.pin = true,
            "-h" | "--help" => return Err("spreads NFLOG over several groups and threads".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// Runs on its own thread: makes the namespace and measures each number of groups in it.
fn in_private_netns(args: &Args) -> Result<Vec<Run>, BoxError> {
    let netns = enter_private_netns()?;
    let mut runs = Vec::new();
    for &n in &args.groups {
        nft(&ruleset(n, args.spread))?;
        let outcome = measure(n, args, netns)?;
        print_run(&outcome);
        runs.push(outcome);
    }
    Ok(runs)
}

/// One receiving thread per group, the senders, and a watchdog (this thread) that stops the
/// receivers when everything arrived or nothing more comes.
fn measure(n: usize, args: &Args, netns: u64) -> Result<Run, BoxError> {
    let progress: Arc<Vec<Progress>> = Arc::new((0..n).map(|_| Progress::default()).collect());
    // Receivers bound, plus this thread.
    let bound = Arc::new(Barrier::new(n + 1));
    let (stops_tx, stops_rx) = std::sync::mpsc::channel::<Result<StopHandle, String>>();
    let config = GroupConfig::new()
        .queue_threshold(256)
        .nlbufsiz(131_072)
        .flags(Flags::SEQ);
    let mut receivers = Vec::new();
    for k in 0..n {
        let (progress, bound, stops_tx, config) = (
            Arc::clone(&progress),
            Arc::clone(&bound),
            stops_tx.clone(),
            config.clone(),
        );
        let cpu = args.pin.then(|| k % cpus());
        let work = args.work;
        let thread = std::thread::Builder::new()
            .name(format!("rx-{}", group(k)))
            .spawn(move || -> Result<Receiver, BoxError> {
                check_netns(netns)?;
                if let Some(cpu) = cpu {
                    pin(cpu)?;
                }
                // The pattern: this thread's own listener, bound to its own group only.
                let bind = Listener::builder()
                    .group(group(k))
                    .config(config)
                    .receive_buffer(Some(RECEIVE_BUFFER))
                    .bind();
                let stop = bind.as_ref().map(Listener::stop_handle);
                let _ = stops_tx.send(stop.map_err(|e| e.to_string()));
                drop(stops_tx);
                bound.wait();
                let mut listener = bind?;
                let cpu_start = thread_cpu()?.clock;
                let (mut packets, mut sink, mut last_packet) = (0u64, 0u64, None);
                while let Some(batch) = listener.recv()? {
                    let mut in_batch = 0;
                    for packet in batch.flatten() {
                        touch(&packet, &mut sink);
                        spin(work);
                        in_batch += 1;
                    }
                    packets += in_batch;
                    last_packet = Some(Instant::now());
                    progress[k].0.fetch_add(in_batch, Ordering::Relaxed);
                }
                let rx_cpu = thread_cpu()?.clock.saturating_sub(cpu_start);
                std::hint::black_box(sink);
                let stats = listener.stats();
                Ok(Receiver {
                    group: group(k),
                    cpu,
                    packets,
                    datagrams: stats.datagrams,
                    overruns: stats.overruns,
                    seq_gaps: stats.seq_gaps,
                    rx_cpu,
                    last_packet,
                })
            })?;
        receivers.push(thread);
    }
    drop(stops_tx);
    let stops = (0..n)
        .map(|_| {
            stops_rx
                .recv()
                .unwrap_or_else(|_| Err("a receiver died".into()))
        })
        .collect::<Result<Vec<StopHandle>, String>>()
        .map_err(|e| format!("binding a group: {e}"));
    bound.wait();
    let stops = match stops {
        Ok(stops) => stops,
        Err(e) => {
            for thread in receivers {
                let _ = thread.join();
            }
            return Err(e.into());
        }
    };

    let senders_done = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    let mut senders = Vec::new();
    for s in 0..args.senders {
        let share = args.packets / args.senders as u64
            + u64::from((s as u64) < args.packets % args.senders as u64);
        let (size, done) = (args.size, Arc::clone(&senders_done));
        let cpu = args.pin.then(|| (n + s) % cpus());
        senders.push(std::thread::Builder::new().name(format!("tx-{s}")).spawn(
            move || -> Result<(u64, Duration), BoxError> {
                let result = (|| {
                    check_netns(netns)?;
                    if let Some(cpu) = cpu {
                        pin(cpu)?;
                    }
                    send(share, size, FLOWS_PER_SENDER)
                })();
                done.fetch_add(1, Ordering::Release);
                result
            },
        )?);
    }

    // The watchdog.
    let total = |p: &[Progress]| p.iter().map(|c| c.0.load(Ordering::Relaxed)).sum::<u64>();
    let (mut seen, mut since, mut all_sent) = (0, Instant::now(), false);
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let now = total(&progress);
        let done = senders_done.load(Ordering::Acquire) == args.senders as u64;
        if done && !all_sent {
            // The idle time counts from the end of sending at the earliest.
            (all_sent, since) = (true, Instant::now());
        }
        if now >= args.packets {
            break;
        }
        if now != seen {
            (seen, since) = (now, Instant::now());
        } else if done && since.elapsed() >= IDLE {
            break;
        }
    }
    for stop in &stops {
        stop.stop();
    }
    let mut sent = 0;
    let mut tx_cpu = Duration::ZERO;
    for sender in senders {
        let (n, cpu) = sender.join().map_err(|_| "a sender panicked")??;
        sent += n;
        tx_cpu += cpu;
    }
    let receivers = receivers
        .into_iter()
        .map(|t| {
            t.join()
                .map_err(|_| BoxError::from("a receiver panicked"))?
        })
        .collect::<Result<Vec<_>, _>>()?;
    let last = receivers.iter().filter_map(|r| r.last_packet).max();
    Ok(Run {
        groups: n,
        sent,
        tx_cpu,
        wall: last.map_or(Duration::ZERO, |last| last - epoch),
        receivers,
    })
}

/// Busy for `work`: a consumer's own cost per packet.
fn spin(work: Duration) {
    if work.is_zero() {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Pins the calling thread to one CPU.
fn pin(cpu: usize) -> Result<(), BoxError> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set)
        .map_err(|e| format!("sched_setaffinity(CPU {cpu}): {e}").into())
}

fn print_run(run: &Run) {
    println!();
    println!(
        "{} group(s): {:<6} {:>4} {:>9} {:>6} {:>7} {:>8} {:>7} {:>9} {:>8}",
        run.groups,
        "group",
        "cpu",
        "packets",
        "share",
        "dgrams",
        "overrun",
        "seqgaps",
        "rx CPU ms",
        "ns/pkt"
    );
    let received = run.received();
    for r in &run.receivers {
        println!(
            "{:>12} {:<6} {:>4} {:>9} {:>5.1}% {:>7} {:>8} {:>7} {:>9.1} {:>8.1}",
            "",
            r.group,
            r.cpu.map_or("-".to_string(), |c| c.to_string()),
            r.packets,
            100.0 * r.packets as f64 / received.max(1) as f64,
            r.datagrams,
            r.overruns,
            r.seq_gaps,
            r.rx_cpu.as_secs_f64() * 1e3,
            r.rx_cpu.as_nanos() as f64 / r.packets.max(1) as f64
        );
    }
    println!(
        "{:>12} sent {}, received {}, lost {}; {:.1} ms, {:.2} Mpkt/s; receive CPU {:.1} ns/packet \
         (all receivers), send CPU {:.1} ns/packet",
        "",
        run.sent,
        received,
        run.sent.saturating_sub(received),
        run.wall.as_secs_f64() * 1e3,
        run.mpps(),
        run.rx_ns_per_packet(),
        run.tx_ns_per_packet()
    );
    let _ = std::io::stdout().flush();
}

fn print_summary(runs: &[Run]) {
    println!();
    println!(
        "{:>6} {:>9} {:>9} {:>7} {:>9} {:>7} {:>11} {:>11}",
        "groups", "sent", "received", "lost", "wall ms", "Mpkt/s", "rx ns/pkt", "tx ns/pkt"
    );
    for run in runs {
        println!(
            "{:>6} {:>9} {:>9} {:>7} {:>9.1} {:>7.2} {:>11.1} {:>11.1}",
            run.groups,
            run.sent,
            run.received(),
            run.sent.saturating_sub(run.received()),
            run.wall.as_secs_f64() * 1e3,
            run.mpps(),
            run.rx_ns_per_packet(),
            run.tx_ns_per_packet()
        );
    }
}
