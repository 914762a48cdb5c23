//! What receiving a burst of logged packets costs, through the real kernel: our library,
//! our command, tcpdump and ulogd2 side by side, in one run and one table.
//!
//! ```text
//! cargo build --release --workspace --bins
//! sudo target/release/burst [--packets N] [--size BYTES] [--runs R] [--backlog]
//!                           [--qthresh N] [--nlbufsiz BYTES] [--only MODE[,MODE...]]
//!                           [--offsets OFFSET[,OFFSET...]] [--sender process|thread]
//!                           [--nflog PATH] [--markdown] [--keep]
//! ```
//!
//! (or, as root, `cargo run --release -p nflog-bench --bin burst -- ARGS`). Needs root (CAP_SYS_ADMIN
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
//! the namespace disappears with the thread and the processes it started.
//!
//! In each run a sender spawned from the namespace thread (a thread inherits its
//! creator's network namespace, a process that of the thread that forks it; the program
//! checks), by default a process of its own (this program, `--send-child`; `--sender
//! thread` for a thread of this program), sends `--packets` UDP datagrams (default
//! 200000) of `--size` payload bytes (default 64) with `sendmmsg`, as fast as it can, while
//! one consumer receives group 9. The modes, all by default (those that are installed), or
//! the list given to `--only`:
//!
//! In this process, on the namespace thread (queue threshold `--qthresh`, default 256;
//! `--nlbufsiz`, default 131072; flag SEQ; a 64 MiB receive buffer, which the kernel
//! doubles):
//!
//! - `bare`: `recv` into a 256 KiB buffer and walk the netlink headers only
//!   (`wire::netlink::Messages`), counting packet messages: the floor;
//! - `bare-pcap`: the `bare` loop (same socket, buffer and settings) that also writes every
//!   packet message to `DIR/bare.pcap` as our command's pcap output does (LINKTYPE_NFLOG,
//!   the message body as the record, timed by `NFULA_TIMESTAMP` or else by a clock read
//!   once per datagram), through a 256 KiB buffer written whenever it is full
//!   (`nflog_bench::pcap_floor`): the floor of writing the pcap file. The file is read back
//!   with the library's pcap reader after the run; a count other than `received` is noted,
//!   and a note gives the CPU time in `write(2)` (the thread's clock read around each call)
//!   and the file's bytes per packet;
//! - `parse`: the same `recv`, then `Packet::parse` of each message and a look at its prefix,
//!   mark and payload length: the parser without the listener;
//! - `listener`: `Listener::run` with a callback that looks at prefix, mark and payload
//!   length: what a user of the crate gets;
//! - `recv@OFFSET`, one for each offset of `--offsets`: a listener's socket read by a raw
//!   `poll` + `recv` loop into a buffer OFFSET bytes past a page boundary, each packet
//!   parsed and looked at: what the page offset of the buffer the kernel copies into costs.
//!
//! In a child process, started from the namespace thread (so it lives in the namespace; the
//! program compares `/proc/PID/ns/net`), each with its own default settings:
//!
//! - `cli-text`, `cli-json`, `cli-xml`, `cli-pcap`, `cli-pcapng`, `cli-sqlite`: our command,
//!   `nflog capture -g 9 -w DIR/burst.EXT` (`cli-sqlite`: `-w sqlite:DIR/burst.db`, its rows
//!   counted with `sqlite3`; the others' format follows the extension: `.txt`,
//!   `.json`, `.xml`, `.pcap`, `.pcapng`), taken from `--nflog PATH` (default: `nflog` in
//!   the target directory this program was built in, `target/release/nflog`);
//! - `cli-fanout`: our command with three outputs at once, `nflog capture -g 9 -w
//!   DIR/burst.json -w DIR/burst.pcapng -w DIR/burst.txt`: one receiving thread, a queue and
//!   a writing thread per output; received is the fewest any output wrote;
//! - `cli-pcap-metrics`: `cli-pcap` with `--metrics 127.0.0.1:9464`, which this program
//!   scrapes (`GET /metrics`, the whole answer read) when the burst starts and every second
//!   until the command is idle: what serving metrics costs while Prometheus scrapes;
//! - `libnetfilter_log`: a C receiver on libnetfilter_log (`bench/c/nflog_c_receiver.c`,
//!   compiled with `cc` into DIR when libnetfilter-log-dev is installed), `poll` + `recv`,
//!   with the in-process modes' settings (copy packet 0xffff, `--qthresh`, `--nlbufsiz`,
//!   flush timeout 100 ms, flag SEQ, SO_RCVBUFFORCE 64 MiB);
//! - `libnetfilter_log-recv`: the same C receiver blocking in `recv` alone, the loop of
//!   libnetfilter_log's own example (`utils/nfulnl_test.c`): one system call a datagram;
//! - `listener-proc`: its twin in Rust, `Listener::run` in a single-threaded process of its
//!   own (this program, `--listen-child`) with the same settings, looking at each packet
//!   as `listener` does, stopped by SIGINT through its stop handle;
//! - `tcpdump`: `tcpdump -n -i nflog:9 -w /dev/null`, when `tcpdump` is on the PATH;
//! - `ulogd`: ulogd2 (`/usr/sbin/ulogd -c DIR/ulogd.conf`) with the stack
//!   `NFLOG, BASE, IFINDEX, IP2STR, HWHDR, JSON` on group 9, writing JSON lines to
//!   `DIR/ulogd.json`, when ulogd2 and its JSON plugin are installed.
//!
//! DIR is a fresh directory in `/dev/shm` (tmpfs, so that writing costs memory copies, not
//! disk; `/tmp` where there is no `/dev/shm`), removed at the end. For such a mode the
//! program waits until the consumer has bound group 9 (`/proc/net/netfilter/nfnetlink_log`
//! of the namespace lists the bound groups), sends, waits until the consumer is idle (the
//! kernel holds no partial batch for the group, its socket's receive queue is empty, and
//! the process used less than 1 ms of CPU in the last 500 ms), sends it SIGINT and reaps it
//! with `wait4`, which gives its resource usage. Received is, for our command, the packets
//! it wrote (its closing statistics line on standard error: `nflog: N packets written;
//! received M packets ...`; packets received from the kernel but dropped by its full queue
//! count as lost, and are noted; the records or lines in the file are counted as a check),
//! tcpdump's
//! `N packets captured`, ulogd's lines of JSON.
//!
//! By default sending and receiving overlap, as in life: the receiver sleeps until the kernel
//! hands it a batch, and its CPU time includes those wake-ups. With `--backlog` (in-process
//! modes only) the receiver starts only once everything was sent and the last batch flushed,
//! so it drains a full receive buffer without ever sleeping: the pure cost of receiving and
//! parsing. (Keep the backlog under the receive buffer: about 50000 packets of 1400 bytes.)
//!
//! In-process receiving stops when every packet has arrived, or 1 s after the sender finished
//! without further progress. For each run the table shows (`--markdown` prints it a second
//! time as a Markdown table):
//!
//! - `sent`, `received`, `lost` (sent less received);
//! - `overrun`: ENOBUFS errors the receiver saw (the kernel dropped packets for a full receive
//!   buffer; tcpdump's `dropped by kernel`, ulogd's `losing events` log lines); `seqgaps`:
//!   packets missing from the sequence numbers (`listener` only, the others do not ask for
//!   them); `dgrams`, `trunc`: netlink datagrams (batches) and truncated ones;
//! - `CPU ns/p`: the receiver's CPU time (user + system) per received packet, as the
//!   scheduler counts it to the nanosecond (`CLOCK_THREAD_CPUTIME_ID` of the receiving thread;
//!   for a child process the sum over its threads of `/proc/PID/task/*/schedstat`, from just
//!   before the first send to the end of the burst: start-up and exit are left out), and
//!   `vs bare`, its ratio to `bare` of the same run (and for `cli-pcap`, `cli-pcap-metrics`
//!   and `tcpdump`, a note with the ratio to `bare-pcap` of the same run, when it ran);
//! - `rusage ns/p`: the same from `getrusage` (`RUSAGE_THREAD` of the receiving thread; for a
//!   child process, the `rusage` of `wait4`, its whole life from `exec` to exit), and its
//!   ratio to `bare`'s. `getrusage` is brought up to date only at ticks and context switches:
//!   it agrees when receiving overlaps sending, and undercounts in backlog mode;
//! - `tx ns/p`: the sending thread's CPU per packet (it pays for the kernel's logging, the
//!   loopback and the drop);
//! - `wall ms` and `Mpkt/s`: from the start of receiving (the first send, or the end of
//!   sending in backlog mode) to the last packet (for a child process: to the last 10 ms in
//!   which it was busy before it first paused for 100 ms after the sender was done, so that
//!   the last partial batch, which the kernel holds until its flush timeout, is left out);
//! - `peak RSS`: the consumer's peak resident memory, `VmHWM`: for a child process, read
//!   from `/proc/PID/status` at the end of the burst, before SIGINT (not `ru_maxrss` from
//!   `wait4`, which Linux makes at least the peak of the process before `exec`, that is of
//!   this program); for the in-process modes, this whole program's, reset before each run by
//!   writing 5 to `/proc/self/clear_refs` (it includes the sender thread). The socket's
//!   receive queue is kernel memory and appears in neither.
//!
//! With `--runs R` above 1, lines `med` give each mode's run with the median CPU per packet,
//! and lines `paired` our receivers (`listener`, `listener-proc`) against the C receivers
//! (`libnetfilter_log`, `libnetfilter_log-recv`) run by run: each ratio taken within one run,
//! so that what drifts between runs cancels out, then their median.
#![allow(unsafe_code)]

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nflog::wire::{Messages, MSG_PACKET};
use nflog::{Flags, GroupConfig, Listener, Packet, Socket, MAX_DATAGRAM};
use rustix::net::sockopt::Timeout;
use rustix::net::RecvFlags;

// The same ulogd as the end-to-end test of our JSON output runs.
use nflog_bench::pcap_floor::{self, PcapFloor};
use nflog_bench::ulogd::{self, ULOGD};
use nflog_bench::{
    check_netns, enter_private_netns, netns_inode, nft, send, thread_cpu, timeval, touch, BoxError,
    CpuTime,
};

const GROUP: u16 = 9;
const RECEIVE_BUFFER: usize = 64 * 1024 * 1024;
/// How long receiving goes on without progress once the sender is done.
const IDLE: Duration = Duration::from_secs(1);
/// A child process is idle once it used less than `QUIET_CPU` in the last `QUIET`.
const QUIET: Duration = Duration::from_millis(500);
const QUIET_CPU: Duration = Duration::from_millis(1);
/// A child process caught up with the sender once it paused this long after sending.
const CAUGHT_UP: Duration = Duration::from_millis(100);
/// How often the state of a child process is sampled.
const POLL: Duration = Duration::from_millis(10);
/// The longest a child process may take to start, bind, or exit.
const DEADLINE: Duration = Duration::from_secs(10);
/// The longest a child process may stay busy after the sender is done.
const BUSY_DEADLINE: Duration = Duration::from_secs(120);

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

const USAGE: &str = "usage: burst [--packets N] [--size BYTES] [--runs R] [--backlog] \
     [--qthresh N] [--nlbufsiz BYTES] [--only MODE[,MODE...]] [--offsets OFFSET[,OFFSET...]] \
     [--sender process|thread] [--nflog PATH] [--markdown] [--keep]\n\
     modes: bare bare-pcap parse listener listener-proc libnetfilter_log libnetfilter_log-recv cli-text cli-json cli-xml cli-pcap cli-pcapng \
     cli-fanout cli-sqlite cli-pcap-metrics tcpdump ulogd";

/// The first argument that makes this program the sender process of a run.
const SEND_CHILD: &str = "--send-child";
/// The first argument that makes this program the receiving process of mode
/// `listener-proc`.
const LISTEN_CHILD: &str = "--listen-child";

#[derive(Debug, Clone)]
struct Args {
    packets: u64,
    size: usize,
    runs: u32,
    qthresh: u32,
    nlbufsiz: u32,
    /// Send everything first, then receive: the receive cost without waiting and wake-ups.
    backlog: bool,
    /// Where the sender runs.
    sender: SenderKind,
    /// The modes to run, in order.
    modes: Vec<Mode>,
    /// Whether `--only` chose the modes (then a missing program is an error, not a skip).
    chosen: bool,
    /// Our command, for the `cli-*` modes.
    nflog: PathBuf,
    /// Print the table in Markdown too.
    markdown: bool,
    /// Keep the scratch directory (the last output files, configurations and logs).
    keep: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bare,
    /// The `bare` loop writing every packet as a pcap record: the floor of a pcap file.
    BarePcap,
    Parse,
    Listener,
    /// A raw `poll` + `recv` loop over a listener's socket into a buffer at this page
    /// offset (`--offsets`).
    Offset(u16),
    /// A C receiver on libnetfilter_log, in a process of its own: `poll` + `recv`.
    CLibrary,
    /// The same C receiver blocking in `recv` alone, as libnetfilter_log's example does.
    CLibraryRecv,
    /// A `Listener` in a single-threaded process of its own, as the C receiver runs.
    ListenerProcess,
    CliText,
    CliJson,
    CliXml,
    CliPcap,
    CliPcapng,
    /// Our command with three outputs at once: JSON, pcapng and text files.
    CliFanout,
    CliSqlite,
    /// `cli-pcap` with `--metrics`, scraped every second during the burst.
    CliPcapMetrics,
    Tcpdump,
    Ulogd,
}

impl Mode {
    const ALL: [Mode; 17] = [
        Mode::Bare,
        Mode::BarePcap,
        Mode::Parse,
        Mode::Listener,
        Mode::ListenerProcess,
        Mode::CLibrary,
        Mode::CLibraryRecv,
        Mode::CliText,
        Mode::CliJson,
        Mode::CliXml,
        Mode::CliPcap,
        Mode::CliPcapng,
        Mode::CliFanout,
        Mode::CliSqlite,
        Mode::CliPcapMetrics,
        Mode::Tcpdump,
        Mode::Ulogd,
    ];

    fn name(self) -> String {
        match self {
            Mode::Offset(offset) => format!("recv@{offset:#05x}"),
            _ => self.fixed_name().to_string(),
        }
    }

    fn fixed_name(self) -> &'static str {
        match self {
            Mode::Bare => "bare",
            Mode::BarePcap => "bare-pcap",
            Mode::Parse => "parse",
            Mode::Listener => "listener",
            Mode::Offset(_) => "recv@OFFSET",
            Mode::CLibrary => "libnetfilter_log",
            Mode::ListenerProcess => "listener-proc",
            Mode::CLibraryRecv => "libnetfilter_log-recv",
            Mode::CliText => "cli-text",
            Mode::CliJson => "cli-json",
            Mode::CliXml => "cli-xml",
            Mode::CliPcap => "cli-pcap",
            Mode::CliPcapng => "cli-pcapng",
            Mode::CliFanout => "cli-fanout",
            Mode::CliSqlite => "cli-sqlite",
            Mode::CliPcapMetrics => "cli-pcap-metrics",
            Mode::Tcpdump => "tcpdump",
            Mode::Ulogd => "ulogd",
        }
    }

    /// Whether the mode receives in this process.
    fn in_process(self) -> bool {
        matches!(
            self,
            Mode::Bare | Mode::BarePcap | Mode::Parse | Mode::Listener | Mode::Offset(_)
        )
    }

    /// The output file's extension, for our command's modes.
    fn cli_extension(self) -> Option<&'static str> {
        match self {
            Mode::CliText => Some("txt"),
            Mode::CliJson => Some("json"),
            Mode::CliXml => Some("xml"),
            Mode::CliPcap | Mode::CliPcapMetrics => Some("pcap"),
            Mode::CliPcapng => Some("pcapng"),
            Mode::CliSqlite => Some("db"),
            _ => None,
        }
    }
}

/// Where the sender runs: a process of its own (as in life: the receiver is fed by traffic
/// it did not make), or a thread of this program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SenderKind {
    Process,
    Thread,
}

/// What one run measured.
#[derive(Debug, Clone)]
struct Outcome {
    mode: Mode,
    sent: u64,
    received: u64,
    /// `None` where the consumer does not tell.
    datagrams: Option<u64>,
    /// Datagrams larger than the receive buffer.
    truncated: Option<u64>,
    overruns: Option<u64>,
    /// `None` where the mode does not track sequence numbers.
    seq_gaps: Option<u64>,
    /// The receiver's CPU time as the scheduler counts it (`None` if it cannot be read).
    rx_clock: Option<Duration>,
    /// The receiver's CPU time from `getrusage` / `wait4`.
    rx_rusage: Duration,
    tx_cpu: Duration,
    wall: Duration,
    /// Peak resident memory, KiB.
    peak_rss_kib: Option<u64>,
    /// Anything odd about the run.
    notes: Vec<String>,
}

impl Outcome {
    fn rx_ns_per_packet(&self) -> Option<f64> {
        self.rx_clock
            .map(|cpu| cpu.as_nanos() as f64 / self.received.max(1) as f64)
    }

    fn rx_rusage_ns_per_packet(&self) -> f64 {
        self.rx_rusage.as_nanos() as f64 / self.received.max(1) as f64
    }

    fn tx_ns_per_packet(&self) -> f64 {
        self.tx_cpu.as_nanos() as f64 / self.sent.max(1) as f64
    }
}

/// The external consumers that are available, and where they write.
#[derive(Debug)]
struct Consumers {
    /// Scratch directory for output files, configurations and logs.
    dir: PathBuf,
    nflog: Option<PathBuf>,
    tcpdump: Option<PathBuf>,
    /// ulogd's program and its plugin directory.
    ulogd: Option<(PathBuf, PathBuf)>,
    /// The C receiver on libnetfilter_log, once built, or why it could not be.
    c_receiver: Result<PathBuf, String>,
}

impl Consumers {
    fn find(args: &Args) -> Consumers {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        Consumers {
            dir: base.join(format!("nflog-burst-{}", std::process::id())),
            nflog: Some(args.nflog.clone()).filter(|p| p.is_file()),
            tcpdump: find_program("tcpdump"),
            ulogd: ulogd::plugins()
                .filter(|_| Path::new(ULOGD).is_file())
                .map(|plugins| (PathBuf::from(ULOGD), plugins)),
            c_receiver: Err("not built".into()),
        }
    }

    /// Compiles the C receiver into the scratch directory, when a mode needs it.
    fn build_c_receiver(&mut self) {
        self.c_receiver = fs::create_dir_all(&self.dir)
            .map_err(|e| format!("{}: {e}", self.dir.display()))
            .and_then(|()| build_c_receiver(&self.dir));
    }

    /// Why `mode` cannot run, if it cannot.
    fn missing(&self, mode: Mode, args: &Args) -> Option<String> {
        match mode {
            m if m.in_process() => None,
            Mode::Tcpdump if self.tcpdump.is_none() => {
                Some("tcpdump is not on the PATH (apt-get install tcpdump)".into())
            }
            Mode::Ulogd if self.ulogd.is_none() => Some(
                "ulogd2 with its JSON plugin is not installed (apt-get install ulogd2 ulogd2-json)"
                    .into(),
            ),
            Mode::CLibrary | Mode::CLibraryRecv => self.c_receiver.as_ref().err().cloned(),
            Mode::Tcpdump | Mode::Ulogd | Mode::ListenerProcess => None,
            _ if self.nflog.is_none() => Some(format!(
                "{} not found: cargo build --release --workspace --bins, or --nflog PATH",
                args.nflog.display()
            )),
            _ => None,
        }
    }
}

/// The C receiver's source (`bench/c/nflog_c_receiver.c`).
const C_RECEIVER: &str = include_str!("../../c/nflog_c_receiver.c");

/// Compiles the C receiver with `cc` against libnetfilter_log (flags from `pkg-config` when
/// it knows the library); returns the program, or why it could not be built.
fn build_c_receiver(dir: &Path) -> Result<PathBuf, String> {
    const HOW: &str = "apt-get install libnetfilter-log-dev gcc pkg-config";
    if !Path::new("/usr/include/libnetfilter_log/libnetfilter_log.h").is_file()
        && Command::new("pkg-config")
            .args(["--exists", "libnetfilter_log"])
            .status()
            .map_or(true, |s| !s.success())
    {
        return Err(format!(
            "libnetfilter_log's headers are not installed ({HOW})"
        ));
    }
    let source = dir.join("nflog_c_receiver.c");
    let program = dir.join("nflog_c_receiver");
    fs::write(&source, C_RECEIVER).map_err(|e| format!("{}: {e}", source.display()))?;
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libnetfilter_log"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "-lnetfilter_log".into());
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = Command::new(&cc)
        .args(["-O2", "-o"])
        .arg(&program)
        .arg(&source)
        .args(flags.split_whitespace())
        .output()
        .map_err(|e| format!("{}: {e} ({HOW})", cc.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "building the C receiver failed ({HOW}): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(program)
}

/// `name` in a directory of the PATH (or the usual sbin directories).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == SEND_CHILD) {
        return send_child();
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == LISTEN_CHILD)
    {
        return listen_child();
    }
    let mut args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("burst: {message}");
            eprintln!("{USAGE}");
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
    let mut consumers = Consumers::find(&args);
    if args.modes.contains(&Mode::CLibrary) || args.modes.contains(&Mode::CLibraryRecv) {
        consumers.build_c_receiver();
    }
    let mut skipped = Vec::new();
    for &mode in &args.modes {
        if let Some(why) = consumers.missing(mode, &args) {
            if args.chosen {
                eprintln!("burst: cannot run {}: {why}", mode.name());
                return ExitCode::from(1);
            }
            skipped.push(format!("{} skipped: {why}", mode.name()));
        }
    }
    let available: Vec<Mode> = args
        .modes
        .iter()
        .copied()
        .filter(|&m| consumers.missing(m, &args).is_none())
        .collect();
    args.modes = available;
    println!(
        "{} packets of {} UDP payload bytes, {} run(s), sender in a {}; in-process and \
         libnetfilter_log: queue threshold {}, nlbufsiz {}, receive buffer {} MiB; {}",
        args.packets,
        args.size,
        args.runs,
        match args.sender {
            SenderKind::Process => "process of its own",
            SenderKind::Thread => "thread of this program",
        },
        args.qthresh,
        args.nlbufsiz,
        RECEIVE_BUFFER >> 20,
        if args.backlog {
            "backlog: all sent first, then received"
        } else {
            "sending and receiving at once"
        }
    );
    if args.modes.iter().any(|m| !m.in_process()) {
        println!(
            "external consumers write to {} ({}); nflog: {}; tcpdump: {}; ulogd: {}",
            consumers.dir.display(),
            if args.keep {
                "kept"
            } else {
                "removed at the end"
            },
            consumers
                .nflog
                .as_deref()
                .map_or("-".into(), |p| p.display().to_string()),
            consumers
                .tcpdump
                .as_deref()
                .map_or("-".into(), |p| p.display().to_string()),
            consumers
                .ulogd
                .as_ref()
                .map_or("-".into(), |(p, _)| p.display().to_string()),
        );
    }
    if args.modes.contains(&Mode::BarePcap) {
        println!(
            "bare-pcap writes {} ({})",
            consumers.dir.join("bare.pcap").display(),
            if args.keep {
                "kept"
            } else {
                "removed after each run"
            },
        );
    }
    for line in &skipped {
        println!("{line}");
    }
    let (runs, modes, markdown) = (args.runs, args.modes.clone(), args.markdown);
    let result = std::thread::Builder::new()
        .name("receiver".into())
        .spawn(move || {
            let keep = args.keep;
            let result = in_private_netns(args, host_netns, &consumers);
            if !keep && consumers.dir.exists() {
                let _ = fs::remove_dir_all(&consumers.dir);
            }
            result
        })
        .map_err(BoxError::from)
        .and_then(|thread| {
            thread
                .join()
                .map_err(|_| "the receiving thread panicked".into())
        })
        .and_then(|result| result);
    match result {
        Ok(outcomes) => {
            print_table(&outcomes, runs, &modes, markdown);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("burst: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // target/release/burst -> target/release/nflog
    let nflog = exe
        .parent()
        .map_or_else(|| PathBuf::from("nflog"), |dir| dir.join("nflog"));
    let mut args = Args {
        packets: 200_000,
        size: 64,
        runs: 1,
        qthresh: 256,
        nlbufsiz: 131_072,
        backlog: false,
        sender: SenderKind::Process,
        modes: Mode::ALL.to_vec(),
        chosen: false,
        nflog,
        markdown: false,
        keep: false,
    };
    let mut offsets = Vec::new();
    let mut it = std::env::args_os().skip(1);
    while let Some(flag) = it.next() {
        let flag = flag.to_string_lossy().into_owned();
        let text = |it: &mut std::iter::Skip<std::env::ArgsOs>| -> Result<OsString, String> {
            it.next().ok_or_else(|| format!("{flag} needs a value"))
        };
        let value = |it: &mut std::iter::Skip<std::env::ArgsOs>| {
            text(it).and_then(|v| {
                v.to_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("{flag} takes a whole number, not {v:?}"))
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
            "--sender" => {
                args.sender = match text(&mut it)?.to_str() {
                    Some("process") => SenderKind::Process,
                    Some("thread") => SenderKind::Thread,
                    _ => return Err("--sender is process or thread".into()),
                }
            }
            "--offsets" => {
                let list = text(&mut it)?.to_string_lossy().into_owned();
                for item in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let parsed = match item.strip_prefix("0x") {
                        Some(hex) => u16::from_str_radix(hex, 16),
                        None => item.parse::<u16>(),
                    };
                    match parsed {
                        Ok(offset) if offset < 4096 => offsets.push(Mode::Offset(offset)),
                        _ => {
                            return Err(format!(
                                "--offsets: {item:?} is not a page offset (0 to 0xfff)"
                            ))
                        }
                    }
                }
            }
            "--markdown" => args.markdown = true,
            "--keep" => args.keep = true,
            "--nflog" => args.nflog = PathBuf::from(text(&mut it)?),
            "--only" => {
                let list = text(&mut it)?.to_string_lossy().into_owned();
                let mut modes = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let mode = Mode::ALL
                        .into_iter()
                        .find(|m| m.name() == name)
                        .ok_or_else(|| format!("--only: no mode {name:?}"))?;
                    if !modes.contains(&mode) {
                        modes.push(mode);
                    }
                }
                if modes.is_empty() {
                    return Err("--only needs at least one mode".into());
                }
                args.modes = modes;
                args.chosen = true;
            }
            "-h" | "--help" => {
                return Err(
                    "measures the cost of receiving NFLOG bursts, in-process and \
                            by our command, tcpdump and ulogd2"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for offset in offsets {
        if !args.modes.contains(&offset) {
            args.modes.push(offset);
        }
    }
    if args.backlog {
        if args.chosen && args.modes.iter().any(|m| !m.in_process()) {
            return Err(
                "--backlog applies to bare, bare-pcap, parse, listener and --offsets only".into(),
            );
        }
        args.modes.retain(|m| m.in_process());
    }
    Ok(args)
}

/// Runs on its own thread: makes the namespace, sets it up, and runs every measurement.
fn in_private_netns(
    args: Args,
    host_netns: u64,
    consumers: &Consumers,
) -> Result<Vec<Outcome>, BoxError> {
    let netns = enter_private_netns()?;
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
    if args
        .modes
        .iter()
        .any(|&m| !m.in_process() || m == Mode::BarePcap)
    {
        fs::create_dir_all(&consumers.dir)
            .map_err(|e| format!("{}: {e}", consumers.dir.display()))?;
    }
    let config = GroupConfig::new()
        .queue_threshold(args.qthresh)
        .nlbufsiz(args.nlbufsiz)
        .flags(Flags::SEQ);
    let mut outcomes = Vec::new();
    for _ in 0..args.runs {
        for &mode in &args.modes {
            let outcome = match mode {
                Mode::Bare | Mode::BarePcap | Mode::Parse => {
                    in_process(|| receive_raw(mode, &args, &config, netns, &consumers.dir))?
                }
                Mode::Listener => in_process(|| receive_listener(&args, &config, netns))?,
                Mode::Offset(offset) => {
                    in_process(|| receive_at_offset(offset, &args, &config, netns))?
                }
                _ => receive_external(mode, &args, &config, netns, consumers)?,
            };
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}

/// Runs an in-process mode with this program's peak resident memory reset before, and read
/// after.
fn in_process(receive: impl FnOnce() -> Result<Outcome, BoxError>) -> Result<Outcome, BoxError> {
    // "5" resets the peak RSS (VmHWM) to the current RSS (Linux 4.0 and later).
    let reset = fs::write("/proc/self/clear_refs", "5").is_ok();
    let mut outcome = receive()?;
    outcome.peak_rss_kib = if reset { vm_hwm_kib("self") } else { None };
    Ok(outcome)
}

/// The peak resident memory (`VmHWM`) of a process (`self` or a pid), KiB.
fn vm_hwm_kib(pid: &str) -> Option<u64> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
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

/// Modes `bare`, `bare-pcap` and `parse`: our socket for the binding, then plain `recv`;
/// `bare-pcap` writes `dir/bare.pcap`.
fn receive_raw(
    mode: Mode,
    args: &Args,
    config: &GroupConfig,
    netns: u64,
    dir: &Path,
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
    let mut storage = page_storage();
    let buffer = at_page_offset(&mut storage, 0);
    let mut received = 0u64;
    let mut datagrams = 0u64;
    let mut truncated = 0u64;
    let mut overruns = 0u64;
    let mut sink = 0u64;
    // Created, its header buffered, before the clocks start: as a command's start-up.
    let mut pcap = match mode {
        Mode::BarePcap => Some(PcapFloor::create(&dir.join("bare.pcap"))?),
        _ => None,
    };

    let run = InProcessRun::start(args, config, netns, None)?;
    let (progress, clocks) = (&run.progress, &run.clocks);
    let mut end = None;
    while received < args.packets {
        match rustix::net::recv(socket.as_fd(), &mut *buffer, RecvFlags::TRUNC) {
            Ok((_, full_len)) => {
                datagrams += 1;
                truncated += u64::from(full_len > buffer.len());
                let datagram = &buffer[..full_len.min(buffer.len())];
                received += match (mode, pcap.as_mut()) {
                    // The clock is read once per datagram, as our command reads it once
                    // per kernel batch, for the packets the kernel did not stamp.
                    (_, Some(pcap)) => pcap.write_datagram(datagram, SystemTime::now())?,
                    (Mode::Bare, None) => walk(datagram),
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
    std::hint::black_box(sink);
    // The last partial buffer is written inside the measured time: the floor pays for
    // every byte of the file.
    let written = pcap.as_mut().map(PcapFloor::finish);
    let mut outcome = run.finish(mode, received, end)?;
    outcome.datagrams = Some(datagrams);
    outcome.truncated = Some(truncated);
    outcome.overruns = Some(overruns);
    if let (Some(pcap), Some(written)) = (pcap, written) {
        let written = written?;
        let file = pcap.path();
        let in_file = pcap_floor::count_records(file)?;
        if in_file != written {
            outcome.notes.push(format!(
                "the file holds {in_file} records, the mode wrote {written}"
            ));
        }
        let bytes = fs::metadata(file).map_or(0, |m| m.len());
        let (writes, cpu) = pcap.writes();
        let per_packet = |v: f64| v / received.max(1) as f64;
        outcome.notes.push(format!(
            "write(2): {:.1} ns/p of its CPU ({writes} calls, {bytes} bytes, {:.1} a packet)",
            per_packet(cpu.as_nanos() as f64),
            per_packet(bytes as f64),
        ));
        if !args.keep {
            let _ = fs::remove_file(file);
        }
    }
    Ok(outcome)
}

/// Mode `listener`: `Listener::run`, as a user of the crate would.
fn receive_listener(args: &Args, config: &GroupConfig, netns: u64) -> Result<Outcome, BoxError> {
    let mut listener = Listener::builder()
        .group(GROUP)
        .config(config.clone())
        .receive_buffer(Some(RECEIVE_BUFFER))
        .bind()?;
    let stop = listener.stop_handle();
    let mut received = 0u64;
    let mut sink = 0u64;
    let mut end = None;

    let run = InProcessRun::start(args, config, netns, Some(stop.clone()))?;
    let (progress, clocks) = (&run.progress, &run.clocks);
    let stats = listener.run(|packet| {
        touch(&packet, &mut sink);
        received += 1;
        progress.received.store(received, Ordering::Relaxed);
        if received == args.packets {
            end = Some(clocks.rx_start.elapsed());
            stop.stop();
        }
    })?;
    std::hint::black_box(sink);
    let mut outcome = run.finish(Mode::Listener, received, end)?;
    outcome.datagrams = Some(stats.datagrams);
    outcome.truncated = Some(stats.truncated);
    outcome.overruns = Some(stats.overruns);
    outcome.seq_gaps = Some(stats.seq_gaps);
    Ok(outcome)
}

/// The page size, to which the receive buffers of the in-process modes are placed.
const PAGE: usize = 4096;

/// Memory for a receive buffer of [`MAX_DATAGRAM`] bytes at any page offset.
fn page_storage() -> Vec<u8> {
    vec![0u8; MAX_DATAGRAM + 2 * PAGE]
}

/// The [`MAX_DATAGRAM`] bytes of `storage` that start `offset` bytes past a page boundary,
/// every page touched, so that no run pays for page faults. `bare` and `parse` receive at
/// offset 0, as the listener does: a plain vector would start at the allocator's offset.
fn at_page_offset(storage: &mut [u8], offset: u16) -> &mut [u8] {
    let start = storage.as_ptr().align_offset(PAGE).min(PAGE) + usize::from(offset);
    let buffer = &mut storage[start..start + MAX_DATAGRAM];
    buffer.fill(1);
    buffer
}

/// Mode `recv@OFFSET`: a listener's socket, bound as in mode `listener`, read by a raw
/// `poll` + `recv` loop into a buffer that starts `offset` bytes past a page boundary,
/// each packet parsed and looked at as in mode `parse`: what the page offset of the
/// buffer the kernel copies into costs, and nothing else.
fn receive_at_offset(
    offset: u16,
    args: &Args,
    config: &GroupConfig,
    netns: u64,
) -> Result<Outcome, BoxError> {
    let listener = Listener::builder()
        .group(GROUP)
        .config(config.clone())
        .receive_buffer(Some(RECEIVE_BUFFER))
        .bind()?;
    let fd = listener.as_fd();
    let mut storage = page_storage();
    let buffer = at_page_offset(&mut storage, offset);
    let mut received = 0u64;
    let mut datagrams = 0u64;
    let mut truncated = 0u64;
    let mut overruns = 0u64;
    let mut sink = 0u64;

    let run = InProcessRun::start(args, config, netns, None)?;
    let (progress, clocks) = (&run.progress, &run.clocks);
    let mut end = None;
    while received < args.packets {
        let mut poll_fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let wait = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        };
        match rustix::event::poll(&mut poll_fds, Some(&wait)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => {
                if progress.give_up.load(Ordering::Relaxed) {
                    break;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => return Err(format!("poll: {e}").into()),
        }
        match rustix::net::recv(fd, &mut *buffer, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
            Ok((_, full_len)) => {
                datagrams += 1;
                truncated += u64::from(full_len > buffer.len());
                let datagram = &buffer[..full_len.min(buffer.len())];
                received += parse_and_touch(datagram, &mut sink);
                progress.received.store(received, Ordering::Relaxed);
            }
            Err(rustix::io::Errno::NOBUFS) => overruns += 1,
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
            Err(e) => return Err(format!("recv: {e}").into()),
        }
        if received >= args.packets {
            end = Some(clocks.rx_start.elapsed());
        }
    }
    std::hint::black_box(sink);
    let mut outcome = run.finish(Mode::Offset(offset), received, end)?;
    outcome.datagrams = Some(datagrams);
    outcome.truncated = Some(truncated);
    outcome.overruns = Some(overruns);
    Ok(outcome)
}

/// The sender, the watchdog and the clocks of an in-process run, from the first send to
/// the end of receiving.
struct InProcessRun {
    progress: Arc<Progress>,
    sender: SenderHandle,
    watchdog: std::thread::JoinHandle<()>,
    clocks: Clocks,
}

impl InProcessRun {
    /// Starts the sender and the watchdog (which `stop`s the receiver, if given, once
    /// nothing more comes), and the clocks once receiving may begin.
    fn start(
        args: &Args,
        config: &GroupConfig,
        netns: u64,
        stop: Option<nflog::StopHandle>,
    ) -> Result<InProcessRun, BoxError> {
        let progress = Arc::new(Progress {
            flush: config.flush_timeout,
            ..Progress::default()
        });
        let epoch = Instant::now();
        let (sender, watchdog) = start_sender_and_watchdog(args, netns, &progress, epoch, stop);
        let clocks = Clocks::start(args, &progress, epoch)?;
        Ok(InProcessRun {
            progress,
            sender,
            watchdog,
            clocks,
        })
    }

    /// Once receiving stopped: the receiving thread's CPU time since the start (read
    /// first, before anything else costs it), then the sender's count and CPU time, and
    /// the wall time to the last packet (`end`, if every packet came).
    fn finish(self, mode: Mode, received: u64, end: Option<Duration>) -> Result<Outcome, BoxError> {
        let rx_cpu = thread_cpu()? - self.clocks.cpu_start;
        self.progress.finished.store(true, Ordering::Relaxed);
        let (sent, tx_cpu) = self.sender.join().map_err(|_| "sender panicked")??;
        self.watchdog.join().map_err(|_| "watchdog panicked")?;
        Ok(Outcome {
            mode,
            sent,
            received,
            datagrams: None,
            truncated: None,
            overruns: None,
            seq_gaps: None,
            rx_clock: Some(rx_cpu.clock),
            rx_rusage: rx_cpu.rusage,
            tx_cpu,
            wall: self.clocks.wall(end, &self.progress),
            peak_rss_kib: None,
            // The external modes' note, for the receiving thread alone, while it received.
            notes: vec![format!(
                "{} voluntary, {} involuntary context switches",
                rx_cpu.voluntary, rx_cpu.involuntary
            )],
        })
    }
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
    let (packets, size, kind) = (args.packets, args.size, args.sender);
    let p = Arc::clone(progress);
    let sender = std::thread::Builder::new()
        .name("sender".into())
        .spawn(move || {
            let result = send_burst(packets, size, netns, kind);
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

/// Sends `packets` UDP datagrams of `size` bytes to 127.0.0.1:9 from one socket, once it
/// checked it is in the receiver's namespace, from this thread or from a process of its
/// own that this thread starts and waits for (a process inherits the network namespace of
/// the thread that forks it); returns how many went out and the sending thread's CPU time
/// (in the process: of its sending loop, start-up and exit left out).
fn send_burst(
    packets: u64,
    size: usize,
    netns: u64,
    kind: SenderKind,
) -> Result<(u64, Duration), BoxError> {
    check_netns(netns)?;
    if kind == SenderKind::Thread {
        return send(packets, size, 1);
    }
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .arg(SEND_CHILD)
        .args([packets.to_string(), size.to_string(), netns.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("starting the sender process: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed = stdout
        .strip_prefix("sent ")
        .and_then(|rest| rest.trim().split_once(' '))
        .and_then(|(sent, ns)| Some((sent.parse().ok()?, ns.parse().ok()?)));
    match parsed {
        Some((sent, ns)) if output.status.success() => Ok((sent, Duration::from_nanos(ns))),
        _ => Err(format!(
            "the sender process failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into()),
    }
}

/// The sender process (`burst --send-child PACKETS SIZE NETNS`): checks it is in the
/// namespace NETNS, sends, and prints `sent N CPU_NS`.
fn send_child() -> ExitCode {
    let numbers: Vec<u64> = std::env::args()
        .skip(2)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [packets, size, netns] = numbers[..] else {
        eprintln!("burst {SEND_CHILD}: needs PACKETS SIZE NETNS");
        return ExitCode::from(2);
    };
    let result = check_netns(netns).and_then(|()| send(packets, size as usize, 1));
    match result {
        Ok((sent, cpu)) => {
            println!("sent {sent} {}", cpu.as_nanos());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("burst {SEND_CHILD}: {e}");
            ExitCode::from(1)
        }
    }
}

/// The listener process's stop handle, for its signal handler.
static LISTEN_STOP: std::sync::OnceLock<nflog::StopHandle> = std::sync::OnceLock::new();

/// SIGINT and SIGTERM in the listener process: `OnceLock::get` is one atomic load and
/// `StopHandle::stop` is async-signal-safe.
extern "C" fn stop_listening(_signal: libc::c_int) {
    if let Some(stop) = LISTEN_STOP.get() {
        stop.stop();
    }
}

/// The receiving process of mode `listener-proc` (`burst --listen-child QTHRESH NLBUFSIZ
/// TIMEOUT_CS RCVBUF`): the C receiver's twin in Rust. One thread binds group 9 with the C
/// receiver's settings, runs `Listener::run` looking at each packet as `listener` does
/// (`touch`), and on SIGINT or SIGTERM prints `listener: N packets, D datagrams, T
/// truncated, O overruns, G seqgaps` on standard error. No other thread: a process whose
/// file table is not shared takes a descriptor for each system call without the atomic
/// reference count a threaded one pays, as the single-threaded C receiver does.
fn listen_child() -> ExitCode {
    let numbers: Vec<u64> = std::env::args()
        .skip(2)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [qthresh, nlbufsiz, timeout_cs, rcvbuf] = numbers[..] else {
        eprintln!("burst {LISTEN_CHILD}: needs QTHRESH NLBUFSIZ TIMEOUT_CS RCVBUF");
        return ExitCode::from(2);
    };
    let run = || -> Result<String, BoxError> {
        let config = GroupConfig::new()
            .queue_threshold(u32::try_from(qthresh)?)
            .nlbufsiz(u32::try_from(nlbufsiz)?)
            .flush_timeout(Duration::from_millis(timeout_cs * 10))
            .flags(Flags::SEQ);
        let mut listener = Listener::builder()
            .group(GROUP)
            .config(config)
            .receive_buffer(Some(usize::try_from(rcvbuf)?))
            .bind()?;
        LISTEN_STOP
            .set(listener.stop_handle())
            .map_err(|_| "the stop handle was set twice")?;
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: `action` is fully initialised (zeroed, then the handler and an empty
            // mask); the handler only makes async-signal-safe calls (see `stop_listening`).
            let rc = unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = stop_listening as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut())
            };
            if rc != 0 {
                return Err(format!("sigaction: {}", std::io::Error::last_os_error()).into());
            }
        }
        let (mut packets, mut sink) = (0u64, 0u64);
        let stats = listener.run(|packet| {
            touch(&packet, &mut sink);
            packets += 1;
        })?;
        std::hint::black_box(sink);
        Ok(format!(
            "listener: {packets} packets, {} datagrams, {} truncated, {} overruns, {} seqgaps",
            stats.datagrams, stats.truncated, stats.overruns, stats.seq_gaps
        ))
    };
    match run() {
        Ok(line) => {
            eprintln!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("burst {LISTEN_CHILD}: {e}");
            ExitCode::from(1)
        }
    }
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

/// A child process, killed and reaped if dropped before [`Child::reap`].
struct Child {
    pid: libc::pid_t,
    name: &'static str,
    stderr: PathBuf,
    reaped: bool,
}

/// What `wait4` tells of a child that exited: its status and resource usage.
struct Reaped {
    status: libc::c_int,
    usage: libc::rusage,
}

impl Child {
    /// Starts `command` from the calling thread (so in its network namespace), its standard
    /// error to the file `stderr`.
    fn spawn(mut command: Command, name: &'static str, stderr: PathBuf) -> Result<Child, BoxError> {
        let file = fs::File::create(&stderr).map_err(|e| format!("{}: {e}", stderr.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        // Dropping a std Child neither waits nor kills: wait4 below reaps it.
        Ok(Child {
            pid: libc::pid_t::try_from(child.id())?,
            name,
            stderr,
            reaped: false,
        })
    }

    fn signal(&self, signal: libc::c_int) {
        if !self.reaped {
            // SAFETY: kill has no memory-safety preconditions; the pid is our unreaped child,
            // so it cannot have been reused.
            unsafe { libc::kill(self.pid, signal) };
        }
    }

    /// `wait4`, blocking or not: `Some` once the child exited.
    fn wait4(&mut self, options: libc::c_int) -> Result<Option<Reaped>, BoxError> {
        let mut status = 0;
        // SAFETY: rusage is plain old data, for which all zero bytes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: `status` and `usage` are live and writable for the duration of the call.
            let rc = unsafe { libc::wait4(self.pid, &mut status, options, &mut usage) };
            if rc == self.pid {
                self.reaped = true;
                return Ok(Some(Reaped { status, usage }));
            }
            if rc == 0 {
                return Ok(None);
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(format!("wait4 {}: {e}", self.name).into());
            }
        }
    }

    /// Waits up to `DEADLINE` for the child to exit, then kills it.
    fn reap(&mut self) -> Result<Reaped, BoxError> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(reaped) = self.wait4(libc::WNOHANG)? {
                return Ok(reaped);
            }
            if Instant::now() > deadline {
                self.signal(libc::SIGKILL);
                let _ = self.wait4(0);
                return Err(format!(
                    "{} did not exit within {DEADLINE:?} of SIGINT; stderr: {}",
                    self.name,
                    self.stderr_text()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr)
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            self.signal(libc::SIGKILL);
            let _ = self.wait4(0);
        }
    }
}

/// The bound instance of `group` in the calling thread's network namespace: the peer's
/// netlink port id and the packets the kernel holds in its pending batch.
fn group_instance(group: u16) -> Option<(u32, u64)> {
    // group_num peer_portid qlen copy_mode copy_range flushtimeout use
    fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")
        .ok()?
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.first()?.parse::<u16>().ok()? != group {
                return None;
            }
            Some((f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?))
        })
}

/// The bytes waiting in the receive queue of the NETLINK_NETFILTER socket with `portid`,
/// in the calling thread's network namespace.
fn netlink_rmem(portid: u32) -> Option<u64> {
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    fs::read_to_string("/proc/thread-self/net/netlink")
        .ok()?
        .lines()
        .skip(1)
        .find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let netfilter = *f.get(1)? == "12";
            (netfilter && f.get(2)?.parse::<u32>().ok()? == portid)
                .then(|| f.get(4)?.parse().ok())?
        })
}

/// A process's CPU time as the scheduler counts it: the sum of its threads' run time
/// (the first field of `/proc/PID/task/TID/schedstat`, nanoseconds).
fn process_cpu(pid: libc::pid_t) -> Option<Duration> {
    let mut total = 0u64;
    let mut any = false;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let ns = fs::read_to_string(task.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = ns {
            total += ns;
            any = true;
        }
    }
    any.then(|| Duration::from_nanos(total))
}

/// Where `cli-pcap-metrics` serves its metrics, in the private namespace.
const METRICS: &str = "127.0.0.1:9464";
/// How often `cli-pcap-metrics` is scraped during its burst.
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

/// Scrapes `address` once (`GET /metrics`), reading the whole answer.
fn scrape(address: &str) -> Result<(), BoxError> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: burst\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    if !answer.starts_with(b"HTTP/1.1 200 ") {
        return Err(String::from_utf8_lossy(&answer).into_owned().into());
    }
    Ok(())
}

/// The command line of an external mode, and the file it writes (if one is counted).
fn external_command(
    mode: Mode,
    args: &Args,
    config: &GroupConfig,
    consumers: &Consumers,
) -> Result<(Command, Option<PathBuf>), BoxError> {
    let dir = &consumers.dir;
    let missing = || format!("{} is not available", mode.name());
    Ok(match mode {
        Mode::CLibrary | Mode::CLibraryRecv => {
            let program = consumers.c_receiver.as_ref().map_err(|_| missing())?;
            let mut command = Command::new(program);
            // The in-process modes' settings: group, queue threshold, nlbufsiz, flush
            // timeout (centiseconds), receive buffer, flag SEQ.
            command.args([
                GROUP.to_string(),
                args.qthresh.to_string(),
                args.nlbufsiz.to_string(),
                (config.flush_timeout.as_millis() / 10).to_string(),
                RECEIVE_BUFFER.to_string(),
                "1".to_string(),
                if mode == Mode::CLibrary {
                    "poll"
                } else {
                    "recv"
                }
                .to_string(),
            ]);
            (command, None)
        }
        Mode::ListenerProcess => {
            let mut command = Command::new(std::env::current_exe()?);
            // As the C receiver's: queue threshold, nlbufsiz, flush timeout (centiseconds),
            // receive buffer; group 9 and flag SEQ are fixed.
            command.arg(LISTEN_CHILD).args([
                args.qthresh.to_string(),
                args.nlbufsiz.to_string(),
                (config.flush_timeout.as_millis() / 10).to_string(),
                RECEIVE_BUFFER.to_string(),
            ]);
            (command, None)
        }
        Mode::Tcpdump => {
            let mut command = Command::new(consumers.tcpdump.as_ref().ok_or_else(missing)?);
            command.args(["-n", "-i", &format!("nflog:{GROUP}"), "-w", "/dev/null"]);
            (command, None)
        }
        Mode::Ulogd => {
            let (ulogd, plugins) = consumers.ulogd.as_ref().ok_or_else(missing)?;
            let (conf, log, json) = (
                dir.join("ulogd.conf"),
                dir.join("ulogd.log"),
                dir.join("ulogd.json"),
            );
            for file in [&log, &json] {
                let _ = fs::remove_file(file);
            }
            fs::write(
                &conf,
                ulogd::config(
                    plugins,
                    &log,
                    &json,
                    // ulogd's defaults otherwise: no `sync`, its own log level.
                    &ulogd::Options {
                        group: GROUP,
                        loglevel: None,
                        sync: false,
                    },
                ),
            )?;
            let mut command = Command::new(ulogd);
            command.arg("-c").arg(&conf);
            (command, Some(json))
        }
        Mode::CliFanout => {
            let mut command = Command::new(consumers.nflog.as_ref().ok_or_else(missing)?);
            command.args(["capture", "-g", &GROUP.to_string()]);
            for (_, name) in FANOUT {
                command.arg("-w").arg(dir.join(name));
            }
            (command, None)
        }
        _ => {
            let extension = mode.cli_extension().ok_or_else(missing)?;
            let file = dir.join(format!("burst.{extension}"));
            // A database from an earlier run would add its rows to this one's.
            for suffix in ["", "-wal", "-shm"] {
                let _ = fs::remove_file(format!("{}{suffix}", file.display()));
            }
            let mut command = Command::new(consumers.nflog.as_ref().ok_or_else(missing)?);
            command.args(["capture", "-g", &GROUP.to_string(), "-w"]);
            match mode {
                Mode::CliSqlite => command.arg(format!("sqlite:{}", file.display())),
                _ => command.arg(&file),
            };
            if mode == Mode::CliPcapMetrics {
                command.args(["--metrics", METRICS]);
            }
            (command, Some(file))
        }
    })
}

/// The external modes: start the consumer in the namespace, wait until it has bound the
/// group, send, wait until it is idle, stop it with SIGINT and reap it.
fn receive_external(
    mode: Mode,
    args: &Args,
    config: &GroupConfig,
    netns: u64,
    consumers: &Consumers,
) -> Result<Outcome, BoxError> {
    let free = Instant::now();
    while group_instance(GROUP).is_some() {
        if free.elapsed() > DEADLINE {
            return Err(format!("group {GROUP} is still bound by someone else").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (command, output) = external_command(mode, args, config, consumers)?;
    let stderr = consumers.dir.join(format!("{}.stderr", mode.name()));
    let mut child = Child::spawn(command, mode.fixed_name(), stderr)?;
    // A process inherits the network namespace of the thread that forks it: check.
    let child_netns = fs::metadata(format!("/proc/{}/ns/net", child.pid))
        .map_err(|e| format!("/proc/{}/ns/net: {e}", child.pid))?
        .ino();
    if child_netns != netns {
        return Err(format!(
            "{} is in net:[{child_netns}], not the private net:[{netns}]",
            mode.name()
        )
        .into());
    }
    let started = Instant::now();
    let portid = loop {
        if let Some((portid, _)) = group_instance(GROUP) {
            break portid;
        }
        if let Some(reaped) = child.wait4(libc::WNOHANG)? {
            return Err(format!(
                "{} exited ({}) before binding group {GROUP}: {}",
                mode.name(),
                describe_status(reaped.status),
                child.stderr_text()
            )
            .into());
        }
        if started.elapsed() > DEADLINE {
            return Err(format!(
                "{} did not bind group {GROUP} within {DEADLINE:?}: {}",
                mode.name(),
                child.stderr_text()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };

    let cpu_start = process_cpu(child.pid);
    let (packets, size, kind) = (args.packets, args.size, args.sender);
    let epoch = Instant::now();
    let sender = std::thread::Builder::new()
        .name("sender".into())
        .spawn(move || send_burst(packets, size, netns, kind))?;
    let mut notes = Vec::new();
    // (when, CPU) samples: the first is the newest one at least QUIET old.
    let mut samples = std::collections::VecDeque::new();
    let mut previous = cpu_start.unwrap_or_default();
    let mut last_busy = epoch;
    let mut sender_done: Option<Instant> = None;
    let mut caught_up = false;
    let mut scraped: Option<Instant> = None;
    let mut scrapes = 0u32;
    loop {
        std::thread::sleep(POLL);
        let now = Instant::now();
        if mode == Mode::CliPcapMetrics && scraped.is_none_or(|at| now - at >= SCRAPE_EVERY) {
            // As Prometheus would: a whole response read, from this namespace's loopback.
            scrape(METRICS).map_err(|e| format!("scraping {METRICS}: {e}"))?;
            scraped = Some(now);
            scrapes += 1;
        }
        let cpu = process_cpu(child.pid).unwrap_or(previous);
        // The wall time ends with the last busy moment before the first pause after sending:
        // not with the last partial batch, which the kernel holds until its flush timeout.
        if !caught_up && cpu.saturating_sub(previous) > Duration::from_micros(100) {
            last_busy = now;
        }
        if let Some(done) = sender_done {
            caught_up |= now - last_busy.max(done) >= CAUGHT_UP;
        }
        previous = cpu;
        samples.push_back((now, cpu));
        while samples.len() > 1 && now - samples[1].0 >= QUIET {
            samples.pop_front();
        }
        if let Some(reaped) = child.wait4(libc::WNOHANG)? {
            return Err(format!(
                "{} exited ({}) during the burst: {}",
                mode.name(),
                describe_status(reaped.status),
                child.stderr_text()
            )
            .into());
        }
        if sender_done.is_none() && sender.is_finished() {
            sender_done = Some(now);
        }
        let Some(done) = sender_done else { continue };
        let (oldest, oldest_cpu) = samples[0];
        let quiet = now - done >= QUIET
            && now - oldest >= QUIET
            && cpu.saturating_sub(oldest_cpu) < QUIET_CPU;
        let drained = group_instance(GROUP).is_some_and(|(_, qlen)| qlen == 0)
            && netlink_rmem(portid).unwrap_or(0) == 0;
        if quiet && drained {
            break;
        }
        if now - done > BUSY_DEADLINE {
            notes.push(format!(
                "still busy {BUSY_DEADLINE:?} after sending: stopped"
            ));
            break;
        }
    }
    let cpu_end = process_cpu(child.pid);
    if mode == Mode::CliPcapMetrics {
        notes.push(format!("{scrapes} scrapes"));
    }
    // Not wait4's ru_maxrss: Linux carries the peak of the memory a process had before
    // `exec` (here this program's, shared by the vfork-like spawn) over into it.
    let peak_rss_kib = vm_hwm_kib(&child.pid.to_string());
    let (sent, tx_cpu) = sender.join().map_err(|_| "sender panicked")??;
    child.signal(libc::SIGINT);
    let reaped = child.reap()?;
    // Wake-ups, counted exactly where CPU time is not: each sleep of a thread that waited
    // for packets or for another thread is a voluntary switch (whole life, start-up too).
    notes.push(format!(
        "{} voluntary, {} involuntary context switches",
        reaped.usage.ru_nvcsw, reaped.usage.ru_nivcsw
    ));
    let stderr = child.stderr_text();
    let exited_cleanly = libc::WIFEXITED(reaped.status) && libc::WEXITSTATUS(reaped.status) == 0;
    if !exited_cleanly {
        notes.push(format!(
            "{}: {}",
            describe_status(reaped.status),
            stderr.lines().last().unwrap_or("")
        ));
    }

    let mut outcome = Outcome {
        mode,
        sent,
        received: 0,
        datagrams: None,
        truncated: None,
        overruns: None,
        seq_gaps: None,
        rx_clock: cpu_start
            .zip(cpu_end)
            .map(|(start, end)| end.saturating_sub(start)),
        rx_rusage: timeval(reaped.usage.ru_utime) + timeval(reaped.usage.ru_stime),
        tx_cpu,
        wall: last_busy - epoch,
        peak_rss_kib,
        notes,
    };
    match mode {
        Mode::CLibrary | Mode::CLibraryRecv => {
            let line = stderr
                .lines()
                .find(|l| l.starts_with("libnetfilter_log: "))
                .ok_or_else(|| format!("the C receiver printed no counts: {stderr}"))?;
            outcome.received = number_before(line, " packets")
                .ok_or_else(|| format!("no packet count in {line:?}"))?;
            outcome.datagrams = number_before(line, " datagrams");
            outcome.overruns = number_before(line, " overruns");
            if let Some(offset) = line.split("buffer at ").nth(1) {
                let offset = offset.split(" (").next().unwrap_or(offset);
                outcome.notes.push(format!("receive buffer at {offset}"));
            }
        }
        Mode::ListenerProcess => {
            let line = stderr
                .lines()
                .find(|l| l.starts_with("listener: "))
                .ok_or_else(|| format!("the listener process printed no counts: {stderr}"))?;
            let field = |after: &str| number_in(line, after);
            outcome.received = field(" packets")?;
            outcome.datagrams = Some(field(" datagrams")?);
            outcome.truncated = Some(field(" truncated")?);
            outcome.overruns = Some(field(" overruns")?);
            outcome.seq_gaps = Some(field(" seqgaps")?);
        }
        Mode::Tcpdump => {
            outcome.received = number_before(&stderr, " packets captured")
                .ok_or_else(|| format!("tcpdump said nothing of packets captured: {stderr}"))?;
            outcome.overruns = number_before(&stderr, " packets dropped by kernel");
        }
        Mode::Ulogd => {
            let json = output.as_deref().ok_or("ulogd's output")?;
            outcome.received = records(mode, json)?;
            let log = fs::read_to_string(consumers.dir.join("ulogd.log")).unwrap_or_default();
            outcome.overruns = Some(log.matches("losing events").count() as u64);
        }
        Mode::CliFanout => {
            let line = stderr
                .lines()
                .find(|l| l.starts_with("nflog: received "))
                .ok_or_else(|| format!("nflog printed no statistics: {stderr}"))?;
            let field = |after: &str| number_in(line, after);
            let from_kernel = field(" packets (")?;
            outcome.datagrams = Some(field(" batches")?);
            outcome.overruns = Some(field(" kernel overruns")?);
            outcome.truncated = Some(field(" truncated batches")?);
            // What reached every file is what counts.
            let mut fewest = from_kernel;
            for (i, (file_mode, name)) in FANOUT.iter().enumerate() {
                let prefix = format!("nflog: output {} ", i + 1);
                let line = stderr
                    .lines()
                    .find(|l| l.starts_with(&prefix))
                    .ok_or_else(|| {
                        format!("nflog printed no line for output {}: {stderr}", i + 1)
                    })?;
                let written = number_before(line, " packets written")
                    .ok_or_else(|| format!("no packets written in {line:?}"))?;
                fewest = fewest.min(written);
                if written != from_kernel {
                    outcome.notes.push(format!(
                        "{name}: wrote {written} of {from_kernel} received from the kernel"
                    ));
                }
                let in_file = records(*file_mode, &consumers.dir.join(name))?;
                if in_file != written {
                    outcome.notes.push(format!(
                        "{name} holds {in_file} records, the command says {written} written"
                    ));
                }
                if !args.keep {
                    let _ = fs::remove_file(consumers.dir.join(name));
                }
            }
            outcome.received = fewest;
        }
        _ => {
            let line = stderr
                .lines()
                .find(|l| l.contains(" packets written; received "))
                .ok_or_else(|| format!("nflog printed no statistics: {stderr}"))?;
            let field = |after: &str| number_in(line, after);
            // What reached the file is what counts: packets its queue dropped, or that a
            // failing output lost, were received from the kernel but are lost all the same.
            let written = field(" packets written")?;
            let from_kernel = field(" packets (")?;
            outcome.received = written;
            outcome.datagrams = Some(field(" batches")?);
            outcome.overruns = Some(field(" kernel overruns")?);
            outcome.truncated = Some(field(" truncated batches")?);
            let malformed = field(" malformed")?;
            if written != from_kernel {
                outcome.notes.push(format!(
                    "wrote {written} of {from_kernel} received from the kernel"
                ));
            }
            if let Some(dropped) = number_before(line, " packets dropped because the output") {
                outcome
                    .notes
                    .push(format!("{dropped} dropped by its full queue"));
            }
            if let Some(queue) = line.split("; up to ").nth(1) {
                outcome.notes.push(format!("queue: up to {queue}"));
            }
            if malformed > 0 {
                outcome.notes.push(format!("{malformed} malformed"));
            }
            let file = output.as_deref().ok_or("nflog's output")?;
            let in_file = records(mode, file)?;
            if in_file != written {
                outcome.notes.push(format!(
                    "the file holds {in_file} records, the command says {written} written"
                ));
            }
            if let Some(grown) = line.split("; receive buffer ").nth(1) {
                outcome.notes.push(format!("receive buffer {grown}"));
            }
        }
    }
    if let Some(file) = output.as_ref().filter(|_| !args.keep) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    Ok(outcome)
}

/// The outputs of `cli-fanout`: how each file is counted, and its name in the scratch
/// directory.
const FANOUT: [(Mode, &str); 3] = [
    (Mode::CliJson, "burst.json"),
    (Mode::CliPcapng, "burst.pcapng"),
    (Mode::CliText, "burst.txt"),
];

/// The number that ends just before the first `needle` in a consumer's statistics `line`,
/// or an error that quotes the line.
fn number_in(line: &str, needle: &str) -> Result<u64, String> {
    number_before(line, needle).ok_or_else(|| format!("no number before {needle:?} in {line:?}"))
}

/// The number that ends just before the first `needle` in `text`.
fn number_before(text: &str, needle: &str) -> Option<u64> {
    let head = &text[..text.find(needle)?];
    let start = head
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    head[start..].parse().ok()
}

/// The packets in an output file: lines for text, JSON and XML; records for pcap and
/// pcapng (read as a stream, skipping the packet bytes).
fn records(mode: Mode, path: &Path) -> Result<u64, BoxError> {
    use std::io::{BufRead, BufReader, Read};
    let open = || fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()));
    let mut reader = BufReader::with_capacity(1 << 20, open()?);
    let mut n = 0u64;
    match mode {
        // The rows, as Debian's sqlite3 counts them.
        Mode::CliSqlite => {
            let out = Command::new("sqlite3")
                .arg(path)
                .arg("SELECT count(*) FROM nflog")
                .output()
                .map_err(|e| format!("sqlite3 (apt-get install sqlite3): {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            n = text
                .trim()
                .parse()
                .map_err(|e| format!("sqlite3 counted {text:?}: {e}"))?;
        }
        Mode::CliPcap | Mode::CliPcapMetrics => {
            let mut header = [0u8; 24];
            if reader.read_exact(&mut header).is_err() {
                return Ok(0);
            }
            let swapped = match u32::from_ne_bytes(header[..4].try_into()?) {
                0xa1b2_c3d4 | 0xa1b2_3c4d => false,
                0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
                magic => return Err(format!("not a pcap file: magic {magic:#x}").into()),
            };
            let mut record = [0u8; 16];
            while reader.read_exact(&mut record).is_ok() {
                let raw = u32::from_ne_bytes(record[8..12].try_into()?);
                let captured = if swapped { raw.swap_bytes() } else { raw };
                reader.seek_relative(i64::from(captured))?;
                n += 1;
            }
        }
        Mode::CliPcapng => {
            let mut swapped = false;
            let mut head = [0u8; 12];
            while reader.read_exact(&mut head[..8]).is_ok() {
                let kind = u32::from_ne_bytes(head[..4].try_into()?);
                if kind == 0x0a0d_0d0a {
                    // Section header: the byte-order magic follows the length.
                    reader.read_exact(&mut head[8..12])?;
                    swapped = u32::from_ne_bytes(head[8..12].try_into()?) != 0x1a2b_3c4d;
                }
                let raw = u32::from_ne_bytes(head[4..8].try_into()?);
                let length = if swapped { raw.swap_bytes() } else { raw };
                let kind = if swapped { kind.swap_bytes() } else { kind };
                // Enhanced and simple packet blocks.
                n += u64::from(kind == 6 || kind == 3);
                let read = if kind == 0x0a0d_0d0a { 12 } else { 8 };
                reader.seek_relative(i64::from(length) - read)?;
            }
        }
        _ => loop {
            let chunk = reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            n += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            let len = chunk.len();
            reader.consume(len);
        },
    }
    Ok(n)
}

fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    }
}

const HEADER: [&str; 17] = [
    "run",
    "mode",
    "sent",
    "received",
    "lost",
    "overrun",
    "seqgaps",
    "dgrams",
    "trunc",
    "CPU ns/p",
    "vs bare",
    "rusage ns/p",
    "vs bare",
    "tx ns/p",
    "wall ms",
    "Mpkt/s",
    "peak RSS",
];

fn print_table(outcomes: &[Outcome], runs: u32, modes: &[Mode], markdown: bool) {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (i, chunk) in outcomes.chunks(modes.len().max(1)).enumerate() {
        let run = (i + 1).to_string();
        let bare = chunk.iter().find(|o| o.mode == Mode::Bare);
        let floor = chunk.iter().find(|o| o.mode == Mode::BarePcap);
        for o in chunk {
            rows.push(cells(&run, o, bare));
            for note in o.notes.iter().cloned().chain(against_pcap_floor(o, floor)) {
                notes.push(format!("run {run}, {}: {note}", o.mode.name()));
            }
        }
    }
    if runs > 1 {
        let median = |mode: Mode| -> Option<&Outcome> {
            let mut of_mode: Vec<&Outcome> = outcomes.iter().filter(|o| o.mode == mode).collect();
            let key = |o: &Outcome| o.rx_ns_per_packet().unwrap_or(o.rx_rusage_ns_per_packet());
            of_mode.sort_by(|a, b| key(a).total_cmp(&key(b)));
            of_mode.get(of_mode.len() / 2).copied()
        };
        let bare = median(Mode::Bare);
        let floor = median(Mode::BarePcap);
        for &mode in modes {
            if let Some(outcome) = median(mode) {
                rows.push(cells("med", outcome, bare));
                if let Some(note) = against_pcap_floor(outcome, floor) {
                    notes.push(format!("med, {}: {note}", mode.name()));
                }
            }
        }
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([HEADER[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c < 2 {
                out.push_str(&format!("{cell:<w$} ", w = widths[c]));
            } else {
                out.push_str(&format!("{cell:>w$} ", w = widths[c]));
            }
        }
        out.trim_end().to_string()
    };
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    println!("{}", line(&header));
    for row in &rows {
        println!("{}", line(row));
    }
    for note in &notes {
        println!("note: {note}");
    }
    if markdown {
        println!();
        println!("| {} |", HEADER.join(" | "));
        let align: Vec<&str> = (0..HEADER.len())
            .map(|c| if c < 2 { "---" } else { "---:" })
            .collect();
        println!("|{}|", align.join("|"));
        for row in &rows {
            println!("| {} |", row.join(" | "));
        }
        if !notes.is_empty() {
            println!();
            for note in &notes {
                println!("- {note}");
            }
        }
    }
    for line in paired_ratios(outcomes, modes) {
        println!("{line}");
    }
    let _ = std::io::stdout().flush();
}

/// Our receivers against the C receivers, run by run: each ratio of CPU per packet is taken
/// within one run, where the modes ran one after the other, so that what drifts between runs
/// (the machine's speed, the host's other guests) cancels out; then their median, lowest and
/// highest. One line per pair that ran, with two runs or more.
fn paired_ratios(outcomes: &[Outcome], modes: &[Mode]) -> Vec<String> {
    let mut lines = Vec::new();
    let runs: Vec<&[Outcome]> = outcomes.chunks(modes.len().max(1)).collect();
    if runs.len() < 2 {
        return lines;
    }
    for ours in [Mode::Listener, Mode::ListenerProcess] {
        for theirs in [Mode::CLibrary, Mode::CLibraryRecv] {
            let mut ratios: Vec<f64> = runs
                .iter()
                .filter_map(|run| {
                    let cpu = |mode: Mode| run.iter().find(|o| o.mode == mode)?.rx_ns_per_packet();
                    let (a, b) = (cpu(ours)?, cpu(theirs)?);
                    (b > 0.0).then(|| a / b)
                })
                .collect();
            if ratios.len() < 2 {
                continue;
            }
            ratios.sort_by(f64::total_cmp);
            let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
            lines.push(format!(
                "paired: {} / {}, per run (sorted) {}; median {:.2}",
                ours.name(),
                theirs.name(),
                listed.join(" "),
                ratios[ratios.len() / 2]
            ));
        }
    }
    lines
}

/// For a mode that writes pcap, its CPU per packet against `bare-pcap`'s (the floor of
/// writing the file), when both were measured: a note, so that the table's columns stay
/// those of every run.
fn against_pcap_floor(o: &Outcome, floor: Option<&Outcome>) -> Option<String> {
    if !matches!(o.mode, Mode::CliPcap | Mode::CliPcapMetrics | Mode::Tcpdump) {
        return None;
    }
    let (ours, floor) = (o.rx_ns_per_packet()?, floor?.rx_ns_per_packet()?);
    (floor > 0.0).then(|| {
        format!(
            "{:.2}x bare-pcap's CPU per packet ({ours:.1} against {floor:.1} ns)",
            ours / floor
        )
    })
}

/// The cells of one row of the table.
fn cells(run: &str, o: &Outcome, bare: Option<&Outcome>) -> Vec<String> {
    let optional = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let ratio = |ours: Option<f64>, theirs: Option<f64>| match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_string(),
    };
    let rate = o.received as f64 / o.wall.as_secs_f64().max(1e-9) / 1e6;
    vec![
        run.to_string(),
        o.mode.name().to_string(),
        o.sent.to_string(),
        o.received.to_string(),
        o.sent.saturating_sub(o.received).to_string(),
        optional(o.overruns),
        optional(o.seq_gaps),
        optional(o.datagrams),
        optional(o.truncated),
        o.rx_ns_per_packet()
            .map_or("-".to_string(), |ns| format!("{ns:.1}")),
        ratio(
            o.rx_ns_per_packet(),
            bare.and_then(Outcome::rx_ns_per_packet),
        ),
        format!("{:.1}", o.rx_rusage_ns_per_packet()),
        ratio(
            Some(o.rx_rusage_ns_per_packet()),
            bare.map(Outcome::rx_rusage_ns_per_packet),
        ),
        format!("{:.1}", o.tx_ns_per_packet()),
        format!("{:.1}", o.wall.as_secs_f64() * 1e3),
        format!("{rate:.2}"),
        o.peak_rss_kib.map_or("-".to_string(), |kib| {
            format!("{:.1} MiB", kib as f64 / 1024.0)
        }),
    ]
}
