//! `nflog capture`: bind groups, receive on a reader thread, write on this one, and account
//! for every packet.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use nflog::filter::Expr;
use nflog::format::{Numeric, ResolveInterface};
use nflog::pcap::InterfaceStats;
use nflog::{
    CopyMode, Error, Flags, GroupConfig, InterfaceNames, Listener, Packet, PerGroup, Setting, Stats,
};

use crate::cli::{CaptureArgs, OutputArgs, RotateArgs};
use crate::log;
use crate::metrics::{self, Metrics};
use crate::output::{self, write_error, Counters, Destination, Dropped, Output};
use crate::print_rule;
use crate::privileges;
use crate::queue::{self, Chunk, Closed, Consumer, Drops, LaneEnd, Producer};
use crate::rotate::{self, FileOutput, Reopen};
use crate::rule;
use crate::signals;
use crate::systemd;

/// Runs a capture until `--count`, Ctrl-C, SIGTERM or a closed pipe.
pub fn run(args: &CaptureArgs) -> Result<()> {
    log::init(args.log_format);
    if args.print_rule {
        return print_rule::run(args);
    }
    rule::check_options(args)?;
    if args.groups.is_empty() && !rule::wanted(args) {
        bail!(
            "no group given: name the group your rule logs to, as in `nflog -g 5` for \
             `log group 5` (nft) or `--nflog-group 5` (iptables), or say what to capture \
             (`nflog 'tcp port 22'`) and nflog installs the rule"
        );
    }
    let specs = output::outputs(&args.output)?;
    for spec in &specs {
        output::check_options(spec, args.meta)?;
    }
    // `-g N EXPRESSION`: the user's rule logs to the group; the expression filters here.
    let filter = if args.groups.is_empty() {
        None
    } else {
        crate::read::parse_filter(&args.expression)?
    };
    let queue_sizes = output::per_output(
        &args.output,
        &args.queue_size,
        &args.output.positions.queue_size,
        "--queue-size",
    )?;
    let planned = specs
        .into_iter()
        .zip(queue_sizes)
        .map(|(spec, queue_size)| Planned {
            spec,
            queue_size: queue_size.unwrap_or(crate::cli::QUEUE_SIZE),
            filter: filter.clone(),
            rotate: None,
        })
        .collect();
    run_planned(args, planned)
}

/// One output as planned, before anything is opened: from the command line (every output
/// with the same queue size, no filter) or from the configuration file.
#[derive(Debug)]
pub struct Planned {
    /// Where and in which format.
    pub spec: output::OutputSpec,
    /// The most bytes its queue holds.
    pub queue_size: usize,
    /// The packets it takes, when not all.
    pub filter: Option<Expr>,
    /// How its file rotates, when not as the capture's -C, -G, -W and -z say.
    pub rotate: Option<RotateArgs>,
}

/// Runs a capture of `args`' groups to the outputs `planned`, checked already.
pub fn run_planned(args: &CaptureArgs, planned: Vec<Planned>) -> Result<()> {
    // `nflog serve` comes here first; the first decision stands.
    log::init(args.log_format);
    // Before anything is bound: a syntax error is the first thing to hear about.
    let rules = if rule::wanted(args) {
        Some(rule::capture_rules(args)?)
    } else {
        None
    };
    // Before anything is bound: a -Z naming nobody known is a mistake to hear about first.
    let user = args.user.as_deref().map(privileges::target).transpose()?;
    let files: Vec<&std::path::Path> = planned
        .iter()
        .filter_map(|plan| match &plan.spec.destination {
            Destination::File(path) => Some(path.as_path()),
            _ => None,
        })
        .collect();
    rotate::check_options(&args.rotate, &files)?;
    // Before any thread starts, so that none of them takes these signals by default.
    let blocked = signals::block()?;
    let config = group_config(args);
    let mut builder = Listener::builder()
        .groups(distinct(&args.groups))
        .config(config.clone());
    if let Some(bytes) = args.rcvbuf {
        // At most i32::MAX (see the option): fits a usize on every target Linux has.
        builder = builder.receive_buffer(Some(usize::try_from(bytes).unwrap_or(usize::MAX)));
    }
    if let Some(netns) = &args.netns {
        builder = builder.netns(netns.clone());
    }
    let mut listener = builder
        .bind()
        .map_err(|e| explain_bind_error(e, args, has_cap_net_admin()))?;
    let reopen = Reopen::default();
    // Held to the end of the capture: dropping it deletes the table.
    let installed = match &rules {
        Some(rules) => Some(rule::install(rules, args, &mut listener, &config)?),
        None => None,
    };
    if let Some(installed) = &installed {
        output::warn(&format!(
            "nflog: capturing `{}` in group {} (table {} {})",
            args.expression.join(" "),
            installed.group,
            installed.guard.family(),
            installed.guard.table()
        ));
    }
    // One start for every file output's first -G window and for -W's end of the capture, so
    // that all of them count the same windows.
    let started = SystemTime::now();
    let mut outputs = Vec::with_capacity(planned.len());
    // Where rotating file outputs make their next files: the user -Z names must write there.
    let mut rotation_dirs = Vec::new();
    for Planned {
        spec,
        queue_size,
        filter,
        rotate,
    } in &planned
    {
        // A file is flushed when its buffer fills; standard output and servers say.
        let mut flush_when_idle = false;
        // Before privileges go: the file may be where only root writes.
        let (opened, file) = match &spec.destination {
            // Files rotate (-C, -G) and reopen on SIGHUP.
            Destination::File(path) => {
                let file = FileOutput::open(
                    path,
                    spec.format,
                    spec.link_type(),
                    rotate.as_ref().unwrap_or(&args.rotate),
                    reopen.clone(),
                    started,
                    listener.groups(),
                )?;
                // With -C -W or -G, the first file's name is not the one -w gave.
                let name = file.path().to_path_buf();
                rotation_dirs.extend(file.rotates_in().map(Path::to_path_buf));
                (Held::File(Box::new(file)), Some(name))
            }
            // A database file (sqlite:PATH) is handed over with -Z like a file.
            other => {
                let opened = output::open_output(spec, listener.groups())?;
                flush_when_idle = opened.flush_when_idle;
                (
                    Held::Other(opened.output),
                    other.file().map(Path::to_path_buf),
                )
            }
        };
        // Before privileges go: in another namespace (--netns), the names need
        // CAP_SYS_ADMIN to open their socket there. One per output: each writes on a
        // thread of its own.
        let names: Box<dyn ResolveInterface + Send> = if args.output.numeric {
            Box::new(Numeric)
        } else {
            Box::new(InterfaceNames::new(&listener).context("preparing interface names")?)
        };
        if let (Some(user), Some(path)) = (user, file.as_deref()) {
            privileges::hand_over(path, user)?;
            // SQLite in WAL mode writes two files beside the database, made by root when
            // it opened: they go to the user too, or the first commit after -Z fails.
            if let output::Destination::Sqlite(_) = spec.destination {
                for suffix in ["-wal", "-shm"] {
                    let mut beside = path.as_os_str().to_owned();
                    beside.push(suffix);
                    let beside = std::path::PathBuf::from(beside);
                    if beside.exists() {
                        privileges::hand_over(&beside, user)?;
                    }
                }
            }
        }
        outputs.push(Prepared {
            label: label(spec),
            output: opened,
            names,
            flush_when_idle,
            // A file's bytes wait in its buffer until a large write anyway (unless -U):
            // its writer need not wake for every batch.
            lazy: matches!(spec.destination, Destination::File(_)) && !args.output.packet_buffered,
            queue_size: *queue_size,
            filter: filter.clone(),
            counters: Arc::default(),
        });
    }
    // One filter for every output (`-g N EXPRESSION`): the reader judges each packet once,
    // and -c counts the packets it takes.
    let filter = match shared_filter(&mut outputs) {
        Some(expr) => {
            let names: Box<dyn ResolveInterface + Send> = if args.output.numeric {
                Box::new(Numeric)
            } else {
                Box::new(InterfaceNames::new(&listener).context("preparing interface names")?)
            };
            Some(CaptureFilter { expr, names })
        }
        None => None,
    };
    // Bound while privileges last: a port below 1024 needs CAP_NET_BIND_SERVICE.
    let metrics_listener = args.metrics.as_deref().map(metrics::bind).transpose()?;
    // The rule's table stays with a thread that keeps CAP_NET_ADMIN alone, to read its
    // counters and delete it at the end; started before the others drop theirs.
    let keeper = match installed {
        Some(installed) => Some(rule::Keeper::start(installed.guard, user.is_some())?),
        None => None,
    };
    // Everything that needs a privilege is done: the groups are bound, the files open.
    privileges::drop_all(user)?;
    if let Some(spec) = &args.user {
        let dirs: Vec<&Path> = rotation_dirs.iter().map(PathBuf::as_path).collect();
        privileges::check_rotation_dirs(spec, &dirs)?;
    }
    if let Some(keeper) = &keeper {
        keeper.settle();
    }
    let metrics = match metrics_listener {
        Some(server) => {
            let metrics = Metrics::new();
            for (plan, prepared) in planned.iter().zip(&outputs) {
                let name = plan.spec.destination.to_string();
                metrics.output(&name, Arc::clone(&prepared.counters));
            }
            metrics::serve(server, Arc::clone(&metrics))?;
            Some(metrics)
        }
        None => None,
    };

    let notifier = systemd::Notifier::from_env()?.map(Arc::new);
    let on_signal = listener.stop_handle();
    let closing = Arc::new(Closing::new(&outputs, metrics));
    let (signalled, signals) = mpsc::channel();
    let stopping = notifier.clone();
    blocked.handle(
        move || {
            on_signal.stop();
            let _ = signalled.send(());
            if let Some(notifier) = &stopping {
                let _ = notifier.notify("STOPPING=1");
            }
        },
        reopen,
    )?;
    {
        let closing = Arc::clone(&closing);
        let seq = args.seq;
        let remover = keeper.as_ref().map(rule::Keeper::remover);
        thread::Builder::new()
            .name("nflog watchdog".into())
            .spawn(move || watch(&signals, &closing, seq, remover))
            .context("starting the watchdog thread")?;
    }

    // The status line is for one file output, watched from a terminal.
    let status = outputs.len() == 1 && !outputs[0].flush_when_idle && io::stderr().is_terminal();
    let setup = Setup {
        output: &args.output,
        seq: args.seq,
        status,
        files: rotate::FileLimit::new(&args.rotate, started),
    };
    if let Some(notifier) = &notifier {
        // Bound, the outputs open, privileges dropped: the service is up.
        notifier
            .notify(&format!(
                "READY=1\nSTATUS=capturing group {}",
                listener
                    .groups()
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ))
            .context("telling systemd the service is ready (NOTIFY_SOCKET)")?;
        if let Some(interval) = systemd::watchdog_interval() {
            systemd::keep_alive(Arc::clone(notifier), interval)?;
        }
    }
    let (mut line, outcome) = capture(listener, outputs, filter, &setup, &SystemClock, &closing);
    if let Some(keeper) = keeper {
        line.push('\n');
        line.push_str(&rule::counters_line(&keeper.finish(), args.limit.is_some()));
    }
    if let Some(notifier) = &notifier {
        let _ = notifier.notify("STOPPING=1");
    }
    // Held to the end: once this thread says the capture is over, the watchdog does not.
    let mut printed = lock(&closing.printed);
    *printed = true;
    // Statistics lost to a failing standard error (a full disk under `2>file`) must not end
    // in exit 0 with nothing said: the status is all that is left to tell it.
    let said = output::say(&line).map_err(|e| {
        anyhow::Error::new(e).context("writing the closing statistics to standard error")
    });
    match outcome {
        Ok(()) => said,
        Err(e) if output::is_closed_pipe(&e) => said,
        Err(e) => Err(e),
    }
}

/// How the statistics name an output: `-w DEST (FORMAT)`, where a database or a syslog
/// output names its kind, since `-F` does not apply to it.
fn label(spec: &output::OutputSpec) -> String {
    let kind = match spec.destination {
        Destination::Stdout | Destination::File(_) => output::format_name(spec.format),
        Destination::Sqlite(_) => "sqlite",
        Destination::Postgres(_) => "postgres",
        Destination::Clickhouse(_) => "clickhouse",
        Destination::Syslog(_) | Destination::SyslogTcp(_) | Destination::Unix(_) => "syslog",
    };
    format!("-w {} ({kind})", spec.destination)
}

/// One output, opened, with what its writing thread needs.
struct Prepared {
    /// How the statistics name it.
    label: String,
    output: Held,
    /// Interface names for it: each writing thread has its own.
    names: Box<dyn ResolveInterface + Send>,
    /// Whether to flush it whenever its writer has caught up (standard output, a server),
    /// or when its buffer fills (a file).
    flush_when_idle: bool,
    /// Whether its writer may be woken for several batches at once rather than each (see
    /// [`queue::WAKE_AFTER`]).
    lazy: bool,
    /// The most bytes its queue holds.
    queue_size: usize,
    /// The packets it takes, when not all.
    filter: Option<Expr>,
    /// Its figures as they go, for the watchdog and the metrics.
    counters: Arc<Counters>,
}

/// The filter every output of a capture shares, applied once by the reader: what `-c`
/// counts are the packets it takes.
struct CaptureFilter {
    expr: Expr,
    /// Interface names for it, the reader's own.
    names: Box<dyn ResolveInterface + Send>,
}

/// The filter of every output, when they all have the same one, taken from them: the
/// capture's filter. `None`, and the outputs' filters left as they are, otherwise.
fn shared_filter(outputs: &mut [Prepared]) -> Option<Expr> {
    let first = outputs.first()?.filter.clone()?;
    if outputs.iter().any(|o| o.filter.as_ref() != Some(&first)) {
        return None;
    }
    for output in outputs {
        output.filter = None;
    }
    Some(first)
}

/// What the core of a capture needs of the command line and the terminal.
struct Setup<'a> {
    output: &'a OutputArgs,
    seq: bool,
    /// Whether to show the live status line on standard error.
    status: bool,
    /// With -G and -W without -C: where the capture ends.
    files: Option<rotate::FileLimit>,
}

/// The core of a capture, with the packet source and the clock given: receives on a reader
/// thread, writes each output on a thread of its own, ends the outputs. Returns the closing
/// statistics (one line for one output; a line of what was received and one per output for
/// several) and how the capture ended. The kernel is needed only by the [`Listener`]
/// source, so tests run this over recorded packets.
fn capture<S: Source>(
    source: S,
    outputs: Vec<Prepared>,
    filter: Option<CaptureFilter>,
    setup: &Setup<'_>,
    clock: &(dyn Clock + Sync),
    closing: &Arc<Closing>,
) -> (String, Result<()>) {
    let stop = source.stopper();
    let lanes: Vec<(usize, Arc<Counters>, bool)> = outputs
        .iter()
        .map(|o| (o.queue_size, Arc::clone(&o.counters), o.lazy))
        .collect();
    let (producer, consumers) = queue::fan_out(&lanes);
    let count = setup.output.count;
    let files = setup.files;
    let started_at = clock.now();
    // The last writer to end stops the reader: nothing would take what it receives.
    let alive = AtomicUsize::new(outputs.len());
    thread::scope(|scope| {
        let reader = thread::Builder::new()
            .name("nflog reader".into())
            .spawn_scoped(scope, move || {
                read(source, producer, count, files, filter, closing, clock)
            });
        let reader = match reader {
            Ok(reader) => reader,
            Err(e) => {
                let e = anyhow::Error::new(e).context("starting the reader thread");
                return (String::new(), Err(e));
            }
        };
        let mut writers = Vec::with_capacity(outputs.len());
        for (prepared, consumer) in outputs.into_iter().zip(consumers) {
            let label = prepared.label.clone();
            let mut writer = Writer::new(prepared, setup, started_at);
            let (alive, stop) = (&alive, &stop);
            let spawned = thread::Builder::new()
                .name("nflog writer".into())
                .spawn_scoped(scope, move || {
                    let written = writer.write(&consumer);
                    // The reader ends once every writer is gone; then the queue is closed.
                    drop(consumer);
                    if alive.fetch_sub(1, Ordering::AcqRel) == 1 {
                        stop();
                    }
                    let finished = match written {
                        // The queue closed: the reader ended and left its figures.
                        Ok(()) => match lock(&closing.reader).clone() {
                            Some(end) => writer.finish(&end, clock.now()),
                            None => Ok(()),
                        },
                        Err(e) => Err(e),
                    };
                    (writer, finished)
                });
            match spawned {
                Ok(handle) => writers.push((label, handle)),
                Err(e) => {
                    // The threads started so far end as the reader does.
                    stop();
                    let e = anyhow::Error::new(e).context("starting a writer thread");
                    return (String::new(), Err(e));
                }
            }
        }
        let Reader { end, outcome } = match reader.join() {
            Ok(ended) => ended,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let mut ends = Vec::with_capacity(writers.len());
        let mut failure = None;
        for ((label, handle), lane) in writers.into_iter().zip(&end.lanes) {
            let (writer, finished) = match handle.join() {
                Ok(ended) => ended,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            if let Err(e) = finished {
                if !output::is_closed_pipe(&e) {
                    writer.tally.counters.errors.store(1, Ordering::Relaxed);
                }
                // The first failure that is more than a reader going away (`| head`).
                let replace = failure
                    .as_ref()
                    .is_none_or(|(_, f): &(String, anyhow::Error)| output::is_closed_pipe(f));
                if replace {
                    failure = Some((label.clone(), e));
                }
            }
            // One look at each count, so the line adds up even for an output whose
            // counts still move on a thread of its own (a database sink).
            let output = writer.output.get();
            let written = output.delivered();
            let mut dropped = output.dropped();
            let accounted = written + dropped.iter().map(|d| d.packets).sum::<u64>();
            if writer.tally.filtered > 0 {
                dropped.push(Dropped {
                    packets: writer.tally.filtered,
                    reason: "left out by the output's filter".to_string(),
                });
            }
            ends.push(OutputEnd {
                label,
                written,
                unwritten: lane
                    .offered
                    .saturating_sub(accounted + writer.tally.filtered),
                queue: lane.clone(),
                dropped,
            });
        }
        let line = statistics(&end, &ends, setup.seq);
        let outcome = match (outcome, failure) {
            (Err(e), _) => Err(e),
            // One output: its error as it always was, without naming it.
            (Ok(()), Some((_, e))) if ends.len() == 1 => Err(e),
            (Ok(()), Some((label, e))) => Err(e.context(label)),
            (Ok(()), None) => Ok(()),
        };
        (line, outcome)
    })
}

/// What one output did, once it ended: what its statistics say.
struct OutputEnd {
    label: String,
    /// Packets that reached the destination.
    written: u64,
    /// Packets handed to it, or queued for it, that never reached it: it failed.
    unwritten: u64,
    /// What its queue did.
    queue: LaneEnd,
    /// What it dropped itself, by reason.
    dropped: Vec<Dropped>,
}

/// The closing statistics: one line for one output (as it always was), else a line of what
/// was received and one per output.
fn statistics(end: &ReaderEnd, outputs: &[OutputEnd], seq: bool) -> String {
    if let [one] = outputs {
        let mut line = summary(
            &end.stats,
            one.written,
            one.unwritten,
            &one.queue.drops,
            one.queue.peak,
            seq,
        );
        for dropped in &one.dropped {
            line.push_str(&format!("; {} packets {}", dropped.packets, dropped.reason));
        }
        return line;
    }
    let mut lines = received_summary(&end.stats, seq);
    for (i, one) in outputs.iter().enumerate() {
        lines.push('\n');
        lines.push_str(&output_summary(i, one, None));
    }
    lines
}

/// Where a capture's packets come from: the kernel ([`Listener`]), or recorded packets in
/// tests.
trait Source: Send {
    /// Receives the next batch into `chunk`, until `room` packets of it are taken by
    /// `filter` (see [`copy_batch`]); `Ok(None)` once the source is stopped or has nothing
    /// more, else the error that ended the batch, if any.
    fn recv_into(
        &mut self,
        chunk: &mut Chunk,
        room: Option<u64>,
        filter: Option<&mut CaptureFilter>,
    ) -> Result<Option<Option<Error>>>;
    /// The statistics so far.
    fn stats(&self) -> Stats;
    /// The groups, and the packets of each that sequence gaps say were lost.
    fn groups(&self) -> Vec<(u16, u64)>;
    /// What stops the source from another thread.
    fn stopper(&self) -> Box<dyn Fn() + Send + Sync>;
}

impl Source for Listener {
    fn recv_into(
        &mut self,
        chunk: &mut Chunk,
        room: Option<u64>,
        filter: Option<&mut CaptureFilter>,
    ) -> Result<Option<Option<Error>>> {
        let Some(batch) = self.recv()? else {
            return Ok(None);
        };
        Ok(Some(copy_batch(chunk, batch, room, filter)))
    }

    fn stats(&self) -> Stats {
        Listener::stats(self)
    }

    fn groups(&self) -> Vec<(u16, u64)> {
        Listener::groups(self)
            .iter()
            .map(|&group| (group, self.seq_gaps(group)))
            .collect()
    }

    fn stopper(&self) -> Box<dyn Fn() + Send + Sync> {
        let stop = self.stop_handle();
        Box::new(move || stop.stop())
    }
}

/// The time of day, for the time of packets the kernel did not stamp and for pcapng's
/// interface statistics.
trait Clock {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system's clock.
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The group settings the arguments ask for, over the library's defaults.
fn group_config(args: &CaptureArgs) -> GroupConfig {
    let mut config = GroupConfig::new();
    if args.meta {
        config = config.copy_mode(CopyMode::Meta);
    }
    if let Some(snaplen) = args.snaplen {
        config = config.copy_range(snaplen);
    }
    config = config.queue_threshold(args.qthresh);
    if let Some(ms) = args.flush_timeout {
        config = config.flush_timeout(Duration::from_millis(ms));
    }
    if let Some(n) = args.nlbufsiz {
        config = config.nlbufsiz(n);
    }
    let mut flags = Flags::NONE;
    if args.seq {
        flags |= Flags::SEQ;
    }
    if args.seq_global {
        flags |= Flags::SEQ_GLOBAL;
    }
    if args.conntrack {
        flags |= Flags::CONNTRACK;
    }
    config.flags(flags)
}

/// The groups in the order given, each once: `-g 5,5` binds 5 once.
fn distinct(groups: &[u16]) -> Vec<u16> {
    let mut seen = Vec::with_capacity(groups.len());
    for &group in groups {
        if !seen.contains(&group) {
            seen.push(group);
        }
    }
    seen
}

/// The library's errors already say what to do; name the command-line option where one
/// is the fix, in the command's words rather than the library's.
///
/// `net_admin` says whether this process has CAP_NET_ADMIN: the library reads EPERM as a
/// missing capability when no other socket is found holding the group, which is also what
/// it sees when the holder closed between the refusal and the look in `/proc`.
fn explain_bind_error(e: Error, args: &CaptureArgs, net_admin: bool) -> anyhow::Error {
    match e {
        Error::PermissionDenied {
            group: Some(group), ..
        } if net_admin => anyhow::Error::new(io::Error::from_raw_os_error(1)).context(format!(
            "the kernel refused group {group} although this process has CAP_NET_ADMIN: \
             another socket held the group and closed before it could be named; run the \
             command again, or see who binds it in /proc/net/netfilter/nfnetlink_log"
        )),
        Error::InvalidConfig {
            setting: Setting::Nlbufsiz,
            ..
        } => anyhow::Error::new(e).context("--nlbufsiz"),
        Error::InvalidConfig {
            setting: Setting::FlushTimeout,
            ..
        } => anyhow::Error::new(e).context("--flush-timeout"),
        // Only the conntrack flag can be unsupported: the library's text names its own
        // `Flags::CONNTRACK`, which a user of the command never wrote.
        Error::Unsupported { errno, .. } if args.conntrack => {
            anyhow::Error::new(io::Error::from_raw_os_error(errno)).context(
                "--conntrack: this kernel cannot attach conntrack entries to NFLOG packets \
                 (it lacks CONFIG_NETFILTER_NETLINK_GLUE_CT); leave out --conntrack, or use \
                 a kernel built with it",
            )
        }
        Error::Io { operation, .. }
            if args.rcvbuf.is_some() && operation.contains("receive buffer") =>
        {
            let bytes = args.rcvbuf.unwrap_or_default();
            anyhow::Error::new(e).context(format!("--rcvbuf {bytes}"))
        }
        other => anyhow::Error::new(other),
    }
}

/// Whether this process has CAP_NET_ADMIN in effect (`CapEff` in `/proc/self/status`, bit
/// 12); `false` when that cannot be read.
fn has_cap_net_admin() -> bool {
    const CAP_NET_ADMIN: u32 = 12;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })
        .is_some_and(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

/// The reader thread: receives, copies each datagram's packets into a chunk and queues it
/// for every output, until stopped, `--count` packets were queued, or every writer is gone.
/// Gives the listener figures back, for the statistics, with what each output's queue
/// dropped; the queues' end is dropped here, which tells the writers that nothing more
/// comes.
fn read<S: Source>(
    mut source: S,
    mut producer: Producer,
    count: Option<u64>,
    files: Option<rotate::FileLimit>,
    mut filter: Option<CaptureFilter>,
    closing: &Closing,
    clock: &(dyn Clock + Sync),
) -> Reader {
    let outcome = read_into(
        &mut source,
        &mut producer,
        count,
        files,
        filter.as_mut(),
        clock,
        closing.metrics.as_deref(),
    );
    let end = ReaderEnd {
        stats: source.stats(),
        groups: source.groups(),
        lanes: producer.lanes(),
    };
    *lock(&closing.reader) = Some(end.clone());
    Reader { end, outcome }
}

/// How the reader thread ended.
struct Reader {
    end: ReaderEnd,
    outcome: Result<()>,
}

/// The reader's figures once it ended: what the statistics line needs of it.
#[derive(Debug, Clone)]
struct ReaderEnd {
    /// The listener's statistics.
    stats: Stats,
    /// The groups, each with the packets sequence gaps say the kernel dropped.
    groups: Vec<(u16, u64)>,
    /// What the reader did for each output: packets offered, dropped, the queue's peak.
    lanes: Vec<LaneEnd>,
}

/// How long a writer that makes no progress may hold the command after a signal: its output
/// is blocked (a FIFO nobody reads), and it would wait in `write` forever.
const STUCK_AFTER_SIGNAL: Duration = Duration::from_secs(2);
/// The longest the writers may take to finish after a signal, progress or not.
const LONGEST_AFTER_SIGNAL: Duration = Duration::from_secs(20);

/// What the threads share to end a capture whose output is blocked: a writer cannot be
/// woken from a `write` that never returns, so after a signal the watchdog prints the
/// statistics and ends the process itself.
struct Closing {
    /// Each output's label and figures as they go.
    outputs: Vec<(String, Arc<Counters>)>,
    /// The reader's figures, once it ended.
    reader: Mutex<Option<ReaderEnd>>,
    /// Whether the statistics were printed: whoever prints them holds this until the end.
    printed: Mutex<bool>,
    /// Where the reader records each batch for `--metrics`, when it is given; the outputs'
    /// figures are their counters.
    metrics: Option<Arc<Metrics>>,
}

impl Closing {
    fn new(outputs: &[Prepared], metrics: Option<Arc<Metrics>>) -> Closing {
        Closing {
            outputs: outputs
                .iter()
                .map(|o| (o.label.clone(), Arc::clone(&o.counters)))
                .collect(),
            reader: Mutex::new(None),
            printed: Mutex::new(false),
            metrics,
        }
    }

    /// Packets handed to the outputs so far: the writers' progress.
    fn handed(&self) -> u64 {
        self.outputs
            .iter()
            .map(|(_, c)| c.handed.load(Ordering::Relaxed))
            .sum()
    }
}

/// Locks `mutex`, even if a thread panicked holding it: the figures in it stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The watchdog thread: after a signal, waits for the writers to finish; if they made no
/// progress for [`STUCK_AFTER_SIGNAL`], took [`LONGEST_AFTER_SIGNAL`] in all, or a second
/// signal came, prints the statistics, counting what was not written as lost, and exits 0
/// (1 when the statistics could not be written).
fn watch(signals: &Receiver<()>, closing: &Closing, seq: bool, rule: Option<rule::Remover>) {
    if signals.recv().is_err() {
        return;
    }
    let signalled = Instant::now();
    let mut handed = closing.handed();
    let mut moved = signalled;
    loop {
        match signals.recv_timeout(Duration::from_millis(100)) {
            Ok(()) => break, // a second signal: now
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = closing.handed();
        if now != handed {
            handed = now;
            moved = Instant::now();
        }
        if moved.elapsed() >= STUCK_AFTER_SIGNAL || signalled.elapsed() >= LONGEST_AFTER_SIGNAL {
            break;
        }
    }
    // The reader stops at the signal; its figures follow within a receive's wake-up.
    let waited = Instant::now();
    let end = loop {
        if let Some(end) = lock(&closing.reader).clone() {
            break Some(end);
        }
        if waited.elapsed() >= Duration::from_secs(1) {
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let mut printed = lock(&closing.printed);
    if *printed {
        return; // the capture ended by itself meanwhile
    }
    *printed = true;
    let line = match end {
        Some(end) => after_signal(&end, closing, seq),
        None => "nflog: the output took nothing more after the signal, and the receiving \
                 thread did not stop: no statistics"
            .to_string(),
    };
    // The exit ends the thread that keeps the rule: on a kernel without the owner flag
    // (before 5.12) its table would stay, so it goes first.
    if let Some(rule) = rule {
        rule.remove(Duration::from_secs(2));
    }
    // Still holding `printed`: the main thread, blocked in `write`, never prints again.
    // Statistics lost to a failing standard error make the status say so, as in `run`.
    std::process::exit(if output::say(&line).is_ok() { 0 } else { 1 });
}

/// The statistics the watchdog prints when an output took nothing more after a signal:
/// what each output was handed and did not take counts as lost.
fn after_signal(end: &ReaderEnd, closing: &Closing, seq: bool) -> String {
    let taken = |c: &Counters| {
        c.written.load(Ordering::Relaxed)
            + c.dropped.load(Ordering::Relaxed)
            + c.filtered.load(Ordering::Relaxed)
    };
    if let ([(_, counters)], [lane]) = (closing.outputs.as_slice(), end.lanes.as_slice()) {
        let delivered = taken(counters);
        let mut line = summary(&end.stats, delivered, 0, &lane.drops, lane.peak, seq);
        line.push_str(&format!(
            "; {} packets lost because the output took nothing more after the signal",
            lane.offered.saturating_sub(delivered)
        ));
        return line;
    }
    let mut lines = received_summary(&end.stats, seq);
    for (i, ((label, counters), lane)) in closing.outputs.iter().zip(&end.lanes).enumerate() {
        let written = counters.written.load(Ordering::Relaxed);
        let mut dropped = Vec::new();
        for (packets, reason) in [
            (
                counters.dropped.load(Ordering::Relaxed),
                "dropped by the output",
            ),
            (
                counters.filtered.load(Ordering::Relaxed),
                "left out by the output's filter",
            ),
        ] {
            if packets > 0 {
                dropped.push(Dropped {
                    packets,
                    reason: reason.to_string(),
                });
            }
        }
        let one = OutputEnd {
            label: label.clone(),
            written,
            unwritten: 0,
            queue: lane.clone(),
            dropped,
        };
        lines.push('\n');
        let stuck = lane.offered.saturating_sub(taken(counters));
        lines.push_str(&output_summary(i, &one, Some(stuck)));
    }
    lines
}

fn read_into<S: Source>(
    source: &mut S,
    producer: &mut Producer,
    count: Option<u64>,
    mut files: Option<rotate::FileLimit>,
    mut filter: Option<&mut CaptureFilter>,
    clock: &(dyn Clock + Sync),
    metrics: Option<&Metrics>,
) -> Result<()> {
    // Packets queued, as -c counts them.
    let mut queued = 0;
    loop {
        let room = count.map(|c| c.saturating_sub(queued));
        let Some(failed) = source.recv_into(producer.chunk(), room, filter.as_deref_mut())? else {
            break;
        };
        let chunk = producer.chunk();
        chunk.received = clock.now();
        chunk.stats = source.stats();
        if let Some(metrics) = metrics {
            metrics.record(chunk.iter(), &chunk.stats, chunk.received);
        }
        if let Some(limit) = files.as_mut() {
            if limit.reached(chunk.received) {
                let _ = output::say(&limit.ended(chunk.packets()));
                break;
            }
        }
        if !queue_chunk(producer, count, &mut queued, failed)? {
            break;
        }
    }
    Ok(())
}

/// Copies a batch's packets into `chunk`, each judged by the capture's `filter` when there
/// is one, until `room` of them are taken (the rest are counted by the statistics, not
/// written: `-c` counts the packets the filter takes, as tcpdump's). Returns the first
/// error that is not a malformed message (a kernel error message), which ends the batch
/// after the packets before it were copied.
fn copy_batch<'a>(
    chunk: &mut Chunk,
    batch: impl Walk<'a>,
    room: Option<u64>,
    mut filter: Option<&mut CaptureFilter>,
) -> Option<Error> {
    // Perf: the library's callback walk, not its iterator: no packet is wrapped in
    // `Option<Result<..>>` (figures: docs/benchmarks.md, "Code shaped for speed").
    if room.is_none() && filter.is_none() {
        // Perf: without `-c` and a capture filter (the common case) every packet is
        // taken: a walk of its own, with no look at the room or the filter per packet
        // (figures: docs/benchmarks.md, "Code shaped for speed").
        return batch
            .walk(|packet| chunk.push(&packet), warn_malformed)
            .err();
    }
    let full = std::cell::Cell::new(is_full(chunk, room));
    let failed = batch
        .walk(
            |packet| {
                if !full.get() {
                    copy_packet(chunk, &packet, filter.as_deref_mut());
                    full.set(is_full(chunk, room));
                }
            },
            |e| {
                if !full.get() {
                    warn_malformed(e);
                }
            },
        )
        .err();
    // Once `room` is full an error is skipped, as packets are: none is taken after an
    // error, so the room is full now exactly when it was then.
    failed.filter(|_| !full.get())
}

/// Warns that a message of a batch did not parse and was skipped (the statistics count it).
fn warn_malformed(e: nflog::ParseError) {
    output::warn(&format!("nflog: skipped a malformed message: {e}"));
}

/// A batch's packets and the messages that did not parse, in order, up to the first other
/// error: what [`copy_batch`] takes.
trait Walk<'a> {
    /// Calls `on_packet` for each packet and `on_malformed` for each message that did not
    /// parse; returns the first other error, which ends the walk.
    fn walk(
        self,
        on_packet: impl FnMut(Packet<&'a [u8]>),
        on_malformed: impl FnMut(nflog::ParseError),
    ) -> Result<(), Error>;
}

impl<'a> Walk<'a> for nflog::Batch<'a> {
    fn walk(
        self,
        on_packet: impl FnMut(Packet<&'a [u8]>),
        on_malformed: impl FnMut(nflog::ParseError),
    ) -> Result<(), Error> {
        self.for_each_packet(on_packet, on_malformed)
    }
}

/// Packets recorded for the tests, walked as [`nflog::Batch::for_each_packet`] walks a
/// datagram.
#[cfg(test)]
struct Items<I>(I);

#[cfg(test)]
impl<'a, I: IntoIterator<Item = Result<Packet<&'a [u8]>, Error>>> Walk<'a> for Items<I> {
    fn walk(
        self,
        mut on_packet: impl FnMut(Packet<&'a [u8]>),
        mut on_malformed: impl FnMut(nflog::ParseError),
    ) -> Result<(), Error> {
        for item in self.0 {
            match item {
                Ok(packet) => on_packet(packet),
                Err(Error::Parse(e)) => on_malformed(e),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Whether `room` packets of `chunk` are taken already.
fn is_full(chunk: &Chunk, room: Option<u64>) -> bool {
    room.is_some_and(|r| chunk.taken() >= r)
}

/// [`copy_batch`]'s step for one packet: copied into `chunk` with what `filter` says of it.
#[inline]
fn copy_packet(chunk: &mut Chunk, packet: &Packet<&[u8]>, filter: Option<&mut CaptureFilter>) {
    match filter {
        Some(f) => {
            let matches = f.expr.matches(packet, f.names.as_mut());
            chunk.push_judged(packet, matches);
        }
        None => chunk.push(packet),
    }
}

/// Queues the chunk filled by [`copy_batch`] and counts its packets; returns whether to go
/// on: not once the writer is gone or `count` packets were queued.
///
/// # Errors
///
/// `failed`, the error that ended the batch, once the packets before it are queued and
/// counted: they were received, so they are written or accounted for as lost like any
/// other.
fn queue_chunk(
    producer: &mut Producer,
    count: Option<u64>,
    queued: &mut u64,
    failed: Option<Error>,
) -> Result<bool> {
    // What -c counts: the packets the capture's filter takes.
    let packets = producer.chunk().taken();
    let go_on = match producer.send() {
        Ok(true) => {
            *queued += packets;
            true
        }
        Ok(false) => true,
        Err(Closed) => {
            // The writer stopped, and says why; these packets are lost with it.
            *queued += packets;
            false
        }
    };
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(go_on && count.is_none_or(|c| *queued < c))
}

/// One output's writing side: the output, its counters, the status line.
struct Writer {
    output: Held,
    names: Box<dyn ResolveInterface + Send>,
    /// The interfaces named for the chunk being written (see [`ChunkNames`]).
    seen: Vec<(u32, Option<Box<[u8]>>)>,
    filter: Option<Expr>,
    /// What was handed to the output, and what its filter left out.
    tally: Tally,
    packet_buffered: bool,
    flush_when_idle: bool,
    status: bool,
    started: Instant,
    started_at: SystemTime,
    last_status: Instant,
}

/// An output as its writer holds it: a file output as itself, any other behind a vtable.
///
/// Perf: the writer dispatches once per chunk on this, so a file output takes a chunk's
/// packets, and answers the counters after each, through calls the compiler inlines, not
/// three calls through a vtable per packet.
pub enum Held {
    /// A file, written by [`FileOutput`].
    File(Box<FileOutput>),
    /// Any other output.
    Other(Box<dyn Output>),
}

impl Held {
    /// The output, whichever it is.
    fn get(&self) -> &dyn Output {
        match self {
            Held::File(file) => file.as_ref(),
            Held::Other(other) => other.as_ref(),
        }
    }

    /// The output, whichever it is.
    fn get_mut(&mut self) -> &mut dyn Output {
        match self {
            Held::File(file) => file.as_mut(),
            Held::Other(other) => other.as_mut(),
        }
    }
}

impl From<Box<dyn Output>> for Held {
    fn from(output: Box<dyn Output>) -> Held {
        Held::Other(output)
    }
}

/// A writer's counts of the packets of its output.
struct Tally {
    /// Packets handed to the output (those that reached it: `output.delivered()`).
    handed: u64,
    /// Packets its filter left out.
    filtered: u64,
    /// Packets written per group, for the pcapng statistics.
    per_group: PerGroup<u64>,
    counters: Arc<Counters>,
}

impl Tally {
    /// Writes the packets of `chunk` that the filters take to `output`, counting each as it
    /// goes; the capture's filter judged them in the reader, else `filter` judges them here.
    ///
    /// # Errors
    ///
    /// The output's, which ends the chunk.
    #[inline]
    fn write_chunk<O: Output + ?Sized>(
        &mut self,
        output: &mut O,
        chunk: &Chunk,
        filter: Option<&Expr>,
        names: &mut ChunkNames<'_>,
    ) -> io::Result<()> {
        if !chunk.is_judged() && filter.is_none() {
            // Every packet is taken: nothing to ask of each but its bytes.
            for packet in chunk.iter() {
                self.write_one(output, &packet, chunk.received, names)?;
            }
            return Ok(());
        }
        for (packet, judged) in chunk.judged() {
            let matches = match (judged, filter) {
                (Some(matches), _) => matches,
                (None, Some(filter)) => filter.matches(&packet, names),
                (None, None) => true,
            };
            if !matches {
                self.filtered += 1;
                self.counters
                    .filtered
                    .store(self.filtered, Ordering::Relaxed);
                continue;
            }
            self.write_one(output, &packet, chunk.received, names)?;
        }
        Ok(())
    }

    /// Notes where `output` stands in the counters the watchdog and the metrics see.
    fn note(&self, output: &dyn Output) {
        self.counters.note(self.handed, output);
    }

    /// Writes one packet to `output` and counts it.
    #[inline(always)]
    fn write_one<O: Output + ?Sized>(
        &mut self,
        output: &mut O,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut ChunkNames<'_>,
    ) -> io::Result<()> {
        output.write(packet, received, names)?;
        self.handed += 1;
        self.counters.note(self.handed, output);
        *self.per_group.entry(packet.group()) += 1;
        Ok(())
    }
}

impl Writer {
    fn new(prepared: Prepared, setup: &Setup<'_>, started_at: SystemTime) -> Writer {
        let now = Instant::now();
        Writer {
            output: prepared.output,
            names: prepared.names,
            seen: Vec::new(),
            filter: prepared.filter,
            tally: Tally {
                handed: 0,
                filtered: 0,
                per_group: PerGroup::new(),
                counters: prepared.counters,
            },
            packet_buffered: setup.output.packet_buffered,
            flush_when_idle: prepared.flush_when_idle,
            status: setup.status,
            started: now,
            started_at,
            last_status: now,
        }
    }

    /// Writes the queued packets until the reader is gone and the queue empty; a write
    /// error ends it.
    fn write(&mut self, queue: &Consumer) -> Result<()> {
        loop {
            let chunk = match queue.recv_timeout(IDLE_AFTER) {
                Ok(Some(chunk)) => chunk,
                // No packet for a while: the output's own work, such as a reopen that
                // SIGHUP asked for, is not left waiting for the next packet.
                Ok(None) => {
                    let idle = self.output.get_mut().idle();
                    self.tally.note(self.output.get());
                    idle.map_err(write_error)?;
                    continue;
                }
                Err(Closed) => break,
            };
            // Perf: each interface named once per chunk; the resolver reads the kernel's
            // link notifications (a system call) at each question.
            let mut names = ChunkNames {
                names: self.names.as_mut(),
                seen: &mut self.seen,
            };
            names.seen.clear();
            // The reader queued parsed packets, each with its index: nothing is parsed again.
            let filter = self.filter.as_ref();
            let written = match &mut self.output {
                Held::File(file) => {
                    self.tally
                        .write_chunk(file.as_mut(), &chunk, filter, &mut names)
                }
                Held::Other(other) => {
                    self.tally
                        .write_chunk(other.as_mut(), &chunk, filter, &mut names)
                }
            };
            written.map_err(write_error)?;
            let stats = chunk.stats;
            queue.done(chunk);
            // Standard output is flushed whenever the writer has caught up, so a terminal
            // or a pipe sees packets as they come; a file, only when the buffer is full
            // (or after each batch with -U).
            if self.packet_buffered || (self.flush_when_idle && queue.is_empty()) {
                let flushed = self.output.get_mut().flush();
                self.tally.note(self.output.get());
                flushed.map_err(write_error)?;
            }
            if self.status && self.last_status.elapsed() >= Duration::from_secs(1) {
                self.show_status(&stats);
            }
        }
        Ok(())
    }

    fn show_status(&mut self, stats: &Stats) {
        self.last_status = Instant::now();
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r{} packets, {:.0}/s, {} overruns, {} lost   ",
            self.tally.handed,
            self.tally.handed as f64 / seconds,
            stats.overruns,
            stats.seq_gaps
        );
        let _ = err.flush();
    }

    /// Writes the end of the output (pcapng statistics per group, at `end`) and flushes it.
    fn finish(&mut self, reader: &ReaderEnd, end: SystemTime) -> Result<()> {
        let drops = self.output_drops(reader);
        let per_group: Vec<(u16, InterfaceStats)> = reader
            .groups
            .iter()
            .map(|&(group, gaps)| {
                let received = self.tally.per_group.get(group).copied().unwrap_or(0);
                let stats = InterfaceStats {
                    received,
                    dropped: gaps + drops.map_or(0, |d| d.of_group(group)),
                    start: Some(self.started_at),
                    end: Some(end),
                };
                (group, stats)
            })
            .collect();
        let finished = self.output.get_mut().finish(&per_group);
        self.tally.note(self.output.get());
        finished.map_err(write_error)
    }

    /// What this output's full queue dropped: the reader's figures for the lane whose
    /// counters are this writer's.
    fn output_drops<'r>(&self, reader: &'r ReaderEnd) -> Option<&'r Drops> {
        reader
            .lanes
            .iter()
            .find(|lane| Arc::ptr_eq(&lane.counters, &self.tally.counters))
            .map(|lane| &lane.drops)
    }
}

/// Interface names for the packets of one chunk: each index asked of the resolver once.
/// The packets of a chunk came in one kernel batch: the names the first of them finds are
/// those of the whole batch.
struct ChunkNames<'a> {
    names: &'a mut (dyn ResolveInterface + Send),
    /// The indexes asked for so far, each with its answer: a chunk's packets name a few.
    seen: &'a mut Vec<(u32, Option<Box<[u8]>>)>,
}

impl ResolveInterface for ChunkNames<'_> {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        self.interface_name_bytes(index)
            .and_then(|name| std::str::from_utf8(name).ok())
    }

    fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
        let at = match self.seen.iter().position(|&(seen, _)| seen == index) {
            Some(at) => at,
            None => {
                let name = self.names.interface_name_bytes(index).map(Box::from);
                self.seen.push((index, name));
                self.seen.len() - 1
            }
        };
        self.seen.get(at).and_then(|(_, name)| name.as_deref())
    }
}

/// How long a writer waits for packets before it lets its output do work of its own
/// ([`Output::idle`]).
const IDLE_AFTER: Duration = Duration::from_millis(200);

/// A queue peak below this is not mentioned in the statistics: a few batches.
const QUEUE_WORTH_REPORTING: usize = 4 << 20;

/// The closing statistics line.
///
/// `written` packets reached the system; `unwritten` were queued for the output but had not
/// reached it when it failed.
fn summary(
    stats: &Stats,
    written: u64,
    unwritten: u64,
    drops: &Drops,
    queue_peak: usize,
    seq: bool,
) -> String {
    let mut line = format!("nflog: {written} packets written; {}", received(stats, seq));
    push_unwritten(&mut line, unwritten);
    push_request_drops(&mut line, stats);
    push_queue(&mut line, drops.packets, queue_peak);
    push_growth(&mut line, stats);
    line
}

/// The first line of the statistics of several outputs: what was received, and lost before
/// any output saw it.
fn received_summary(stats: &Stats, seq: bool) -> String {
    let mut line = format!("nflog: {}", received(stats, seq));
    push_request_drops(&mut line, stats);
    push_growth(&mut line, stats);
    line
}

/// The line of output `index` (from 0) of several: written, then dropped and lost by
/// reason; `stuck` packets were lost because it took nothing more after a signal.
fn output_summary(index: usize, one: &OutputEnd, stuck: Option<u64>) -> String {
    let mut line = format!(
        "nflog: output {} {}: {} packets written",
        index + 1,
        one.label,
        one.written
    );
    push_unwritten(&mut line, one.unwritten);
    push_queue(&mut line, one.queue.drops.packets, one.queue.peak);
    for dropped in &one.dropped {
        line.push_str(&format!("; {} packets {}", dropped.packets, dropped.reason));
    }
    if let Some(stuck) = stuck.filter(|&n| n > 0) {
        line.push_str(&format!(
            "; {stuck} packets lost because the output took nothing more after the signal"
        ));
    }
    line
}

/// What was received, and what the kernel and the socket lost.
fn received(stats: &Stats, seq: bool) -> String {
    // An overrun drops a whole batch of unknown size: only sequence numbers count it.
    let lost = if seq || stats.overruns == 0 {
        format!("{} packets lost (sequence gaps)", stats.seq_gaps)
    } else {
        "an unknown number of packets lost (--seq counts them)".to_string()
    };
    // Packets the library dropped while a request awaited its answer were received but
    // never parsed into `packets`: counted in both, so received = written + dropped + lost.
    format!(
        "received {} packets ({} bytes) in {} batches; {} kernel overruns, {lost}, {} \
         truncated batches, {} malformed",
        stats.packets + stats.request_drops,
        stats.bytes,
        stats.datagrams,
        stats.overruns,
        stats.truncated,
        stats.malformed
    )
}

/// Packets queued for an output that had not reached it when it failed.
fn push_unwritten(line: &mut String, unwritten: u64) {
    if unwritten > 0 {
        line.push_str(&format!(
            "; {unwritten} packets lost when the output failed"
        ));
    }
}

/// Packets lost while a group configuration request awaited the kernel's answer.
fn push_request_drops(line: &mut String, stats: &Stats) {
    if stats.request_drops > 0 {
        line.push_str(&format!(
            "; {} packets lost while a group configuration request awaited the kernel's \
             answer",
            stats.request_drops
        ));
    }
}

/// What an output's full queue dropped, and how far the queue grew.
fn push_queue(line: &mut String, dropped: u64, peak: usize) {
    if dropped > 0 {
        line.push_str(&format!(
            "; {dropped} packets dropped because the output fell behind (raise --queue-size)"
        ));
    }
    // Worth a word when the output could not keep up for a while.
    if peak >= QUEUE_WORTH_REPORTING {
        line.push_str(&format!(
            "; up to {:.1} MiB waited for the output",
            peak as f64 / f64::from(1 << 20)
        ));
    }
}

/// How the receive buffer grew, or could not.
fn push_growth(line: &mut String, stats: &Stats) {
    if stats.buffer_growths > 0 {
        line.push_str(&format!(
            "; receive buffer grown {} times to {} bytes",
            stats.buffer_growths, stats.receive_buffer
        ));
    }
    if stats.growth_refused > 0 {
        line.push_str(&format!(
            "; the receive buffer could not grow after {} overruns: raise --rcvbuf (it is \
             set before privileges are dropped) or net.core.rmem_max",
            stats.growth_refused
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputFormat;

    fn capture_args(args: &[&str]) -> CaptureArgs {
        let cli =
            crate::cli::parse_from(std::iter::once("nflog").chain(args.iter().copied())).unwrap();
        cli.capture
    }

    #[test]
    fn conntrack_unsupported_names_the_option() {
        // Regression: on a kernel without CONFIG_NETFILTER_NETLINK_GLUE_CT the command said
        // "leave out Flags::CONNTRACK", the library's name, not the command's.
        let args = capture_args(&["-g", "5", "--conntrack"]);
        let e = Error::Unsupported {
            request: nflog::Request::Configure,
            what: "conntrack support for NFLOG (CONFIG_NETFILTER_NETLINK_GLUE_CT); \
                   use a kernel built with it, or leave out Flags::CONNTRACK",
            errno: 95, // EOPNOTSUPP, as this machine's kernel answers
        };
        let line = format!("{:#}", explain_bind_error(e, &args, false));
        assert!(line.starts_with("--conntrack: "), "{line}");
        assert!(line.contains("leave out --conntrack"), "{line}");
        assert!(line.contains("CONFIG_NETFILTER_NETLINK_GLUE_CT"), "{line}");
        assert!(!line.contains("Flags::"), "{line}");
        assert!(line.ends_with("(os error 95)"), "{line}");
    }

    #[test]
    fn eperm_with_cap_net_admin_does_not_blame_the_capability() {
        // Settles issue 15's suspicion: when the group's owner closes before /proc is read,
        // the library finds no owner and reports a missing CAP_NET_ADMIN; a process that has
        // it must hear something else.
        let args = capture_args(&["-g", "7"]);
        let denied = || Error::PermissionDenied {
            request: nflog::Request::Bind,
            group: Some(7),
        };
        let line = format!("{:#}", explain_bind_error(denied(), &args, true));
        assert!(!line.contains("needs CAP_NET_ADMIN"), "{line}");
        assert!(
            line.starts_with("the kernel refused group 7 although this process has CAP_NET_ADMIN"),
            "{line}"
        );
        assert!(line.ends_with("(os error 1)"), "{line}");
        // Without the capability, the library's advice stands.
        let line = format!("{:#}", explain_bind_error(denied(), &args, false));
        assert!(line.contains("needs CAP_NET_ADMIN"), "{line}");
        // This test runs as root under CI, with the capability.
        if std::env::var_os("CI").is_some() {
            assert!(has_cap_net_admin());
        }
    }

    #[test]
    fn receive_buffer_errors_name_the_option() {
        let args = capture_args(&["-g", "5", "--rcvbuf", "4096"]);
        let e = Error::Io {
            operation: "setting the receive buffer (SO_RCVBUF)",
            source: io::Error::from_raw_os_error(22),
        };
        let line = format!("{:#}", explain_bind_error(e, &args, false));
        assert!(
            line.starts_with("--rcvbuf 4096: setting the receive buffer"),
            "{line}"
        );
    }

    /// A packet message body of group 5, logged at OUTPUT, with `payload`.
    fn body(payload: &[u8]) -> Vec<u8> {
        nflog::PacketRepr {
            group: 5,
            hook: 3,
            payload: Some(payload.to_vec()),
            ..nflog::PacketRepr::default()
        }
        .to_bytes()
    }

    #[test]
    fn packets_before_a_kernel_error_in_a_batch_are_queued_and_counted() {
        // Regression: a kernel error message inside a batch returned at once, and the
        // packets already copied into the chunk were neither queued nor counted, so written
        // + lost + dropped fell short of received.
        let (mut producer, consumer) = queue::queue(1 << 20);
        let bodies = [body(b"one"), body(b"two"), body(b"three")];
        let kernel_error = || Error::Kernel {
            request: nflog::Request::Receive,
            group: None,
            errno: 105,
        };
        let batch = vec![
            Packet::parse(&bodies[0]).map_err(Error::from),
            Packet::parse(&bodies[1]).map_err(Error::from),
            Err(kernel_error()),
            Packet::parse(&bodies[2]).map_err(Error::from),
        ];
        let failed = copy_batch(producer.chunk(), Items(batch), None, None);
        assert!(matches!(failed, Some(Error::Kernel { errno: 105, .. })));
        let mut queued = 0;
        let outcome = queue_chunk(&mut producer, None, &mut queued, failed);
        assert!(outcome.is_err());
        assert_eq!(queued, 2);
        let chunk = consumer
            .recv()
            .expect("the packets before the error are queued");
        let got: Vec<&[u8]> = chunk.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(got, [&bodies[0][..], &bodies[1][..]]);
    }

    #[test]
    fn a_batch_without_count_or_filter_is_taken_as_the_general_walk_takes_it() {
        // The walk of its own for the common case (no -c, no capture filter) takes what
        // the general walk takes: every packet, around malformed messages, up to the
        // first other error.
        let bodies = [body(b"one"), body(b"two"), body(b"three")];
        let batch = || {
            vec![
                Packet::parse(&bodies[0]).map_err(Error::from),
                Packet::parse(&[2, 0]).map_err(Error::from),
                Packet::parse(&bodies[1]).map_err(Error::from),
                Err(Error::Kernel {
                    request: nflog::Request::Receive,
                    group: None,
                    errno: 105,
                }),
                Packet::parse(&bodies[2]).map_err(Error::from),
            ]
        };
        let (mut common, common_out) = queue::queue(1 << 20);
        let (mut general, general_out) = queue::queue(1 << 20);
        let failed = copy_batch(common.chunk(), Items(batch()), None, None);
        assert!(matches!(failed, Some(Error::Kernel { errno: 105, .. })));
        let failed = copy_batch(general.chunk(), Items(batch()), Some(u64::MAX), None);
        assert!(matches!(failed, Some(Error::Kernel { errno: 105, .. })));
        assert_eq!(common.chunk().taken(), 2);
        assert_eq!(general.chunk().taken(), 2);
        assert!(common.send().unwrap() && general.send().unwrap());
        let (common, general) = (common_out.recv().unwrap(), general_out.recv().unwrap());
        let got: Vec<&[u8]> = common.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(got, [&bodies[0][..], &bodies[1][..]]);
        assert_eq!(
            got,
            general.iter().map(|p| p.as_bytes()).collect::<Vec<_>>()
        );
        assert!(!common.is_judged());
    }

    #[test]
    fn an_error_after_the_count_is_reached_is_skipped_as_its_packets_are() {
        let kernel_error = || Error::Kernel {
            request: nflog::Request::Receive,
            group: None,
            errno: 105,
        };
        let (mut producer, consumer) = queue::queue(1 << 20);
        let bodies = [body(b"one"), body(b"two"), body(b"three")];
        let batch = vec![
            Packet::parse(&bodies[0]).map_err(Error::from),
            Packet::parse(&bodies[1]).map_err(Error::from),
            Err(kernel_error()),
            Packet::parse(&bodies[2]).map_err(Error::from),
        ];
        assert!(copy_batch(producer.chunk(), Items(batch), Some(2), None).is_none());
        let mut queued = 0;
        assert!(queue_chunk(&mut producer, Some(2), &mut queued, None).is_ok());
        assert_eq!(consumer.recv().unwrap().packets(), 2);
        // Before the count is reached, the same error ends the batch.
        let batch = vec![
            Packet::parse(&bodies[0]).map_err(Error::from),
            Err(kernel_error()),
            Packet::parse(&bodies[1]).map_err(Error::from),
        ];
        let failed = copy_batch(producer.chunk(), Items(batch), Some(2), None);
        assert!(matches!(failed, Some(Error::Kernel { errno: 105, .. })));
    }

    #[test]
    fn count_limits_the_packets_copied() {
        let (mut producer, consumer) = queue::queue(1 << 20);
        let bodies = [body(b"one"), body(b"two"), body(b"three")];
        let batch = bodies.iter().map(|b| Packet::parse(b).map_err(Error::from));
        assert!(copy_batch(producer.chunk(), Items(batch), Some(2), None).is_none());
        let mut queued = 1;
        let go_on = queue_chunk(&mut producer, Some(3), &mut queued, None).unwrap();
        assert!(!go_on, "three packets queued in all");
        assert_eq!(queued, 3);
        assert_eq!(consumer.recv().unwrap().packets(), 2);
    }

    #[test]
    fn packets_dropped_while_a_request_waited_are_received_and_lost() {
        // Regression: request_drops were neither received nor lost in the summary, so
        // received = written + dropped + lost fell short.
        let stats = Stats {
            packets: 10,
            request_drops: 4,
            ..Stats::default()
        };
        let drops = Drops {
            packets: 3,
            ..Drops::default()
        };
        let line = summary(&stats, 5, 2, &drops, 0, true);
        assert!(
            line.starts_with("nflog: 5 packets written; received 14 packets"),
            "{line}"
        );
        assert!(
            line.contains("; 2 packets lost when the output failed"),
            "{line}"
        );
        assert!(
            line.contains(
                "; 4 packets lost while a group configuration request awaited the kernel's \
                 answer"
            ),
            "{line}"
        );
        assert!(
            line.contains("; 3 packets dropped because the output fell behind"),
            "{line}"
        );
        // 14 received = 5 written + 3 dropped + (2 + 4) lost.
        let quiet = summary(
            &Stats {
                packets: 10,
                ..Stats::default()
            },
            10,
            0,
            &Drops::default(),
            0,
            true,
        );
        assert!(!quiet.contains("request"), "{quiet}");
        assert!(!quiet.contains("could not grow"), "{quiet}");
    }

    #[test]
    fn refused_growth_says_what_to_raise() {
        let stats = Stats {
            overruns: 3,
            buffer_growths: 1,
            receive_buffer: 425_984,
            growth_refused: 2,
            ..Stats::default()
        };
        let line = summary(&stats, 0, 0, &Drops::default(), 0, true);
        assert!(
            line.ends_with(
                "; receive buffer grown 1 times to 425984 bytes; the receive buffer could not \
                 grow after 2 overruns: raise --rcvbuf (it is set before privileges are dropped) \
                 or net.core.rmem_max"
            ),
            "{line}"
        );
    }

    #[test]
    fn overruns_without_seq_say_the_loss_is_unknown() {
        // Regression: without --seq an overrun reported "0 packets lost".
        let stats = Stats {
            overruns: 2,
            ..Stats::default()
        };
        let line = summary(&stats, 0, 0, &Drops::default(), 0, false);
        assert!(
            line.contains(
                "2 kernel overruns, an unknown number of packets lost (--seq counts them),"
            ),
            "{line}"
        );
        let line = summary(&stats, 0, 0, &Drops::default(), 0, true);
        assert!(
            line.contains("2 kernel overruns, 0 packets lost (sequence gaps),"),
            "{line}"
        );
        let quiet = summary(&Stats::default(), 0, 0, &Drops::default(), 0, false);
        assert!(
            quiet.contains("0 kernel overruns, 0 packets lost (sequence gaps),"),
            "{quiet}"
        );
    }

    /// Recorded packets, a batch at a time, counted as a listener counts them.
    struct Recorded {
        batches: std::collections::VecDeque<Vec<Vec<u8>>>,
        stats: Stats,
        groups: Vec<u16>,
    }

    impl Source for Recorded {
        fn recv_into(
            &mut self,
            chunk: &mut Chunk,
            room: Option<u64>,
            filter: Option<&mut CaptureFilter>,
        ) -> Result<Option<Option<Error>>> {
            let Some(batch) = self.batches.pop_front() else {
                return Ok(None);
            };
            self.stats.datagrams += 1;
            for body in &batch {
                self.stats.packets += 1;
                self.stats.bytes += body.len() as u64;
            }
            let packets = batch
                .iter()
                .map(|body| Packet::parse(body.as_slice()).map_err(Error::from));
            Ok(Some(copy_batch(chunk, Items(packets), room, filter)))
        }

        fn stats(&self) -> Stats {
            self.stats
        }

        fn groups(&self) -> Vec<(u16, u64)> {
            self.groups.iter().map(|&g| (g, 0)).collect()
        }

        fn stopper(&self) -> Box<dyn Fn() + Send + Sync> {
            Box::new(|| {})
        }
    }

    /// A clock that always says the same time.
    struct Fixed(SystemTime);

    impl Clock for Fixed {
        fn now(&self) -> SystemTime {
            self.0
        }
    }

    /// An output the test reads afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The packets of the snapshot: UDP from 192.0.2.1 to 192.0.2.2 port 53, logged at
    /// OUTPUT (no kernel timestamp: the clock's time is theirs) to groups 5 and 6.
    fn recorded_packet(group: u16, prefix: &str, id: u8) -> Vec<u8> {
        recorded_to_port(group, prefix, id, 53)
    }

    /// [`recorded_packet`] to another port.
    fn recorded_to_port(group: u16, prefix: &str, id: u8, port: u16) -> Vec<u8> {
        let mut ip = vec![0x45, 0, 0, 32, 0, id, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        let [high, low] = port.to_be_bytes();
        ip.extend_from_slice(&[0x9c, 0x40, high, low, 0, 12, 0, 0, b'a', b'b', b'c', b'd']);
        let repr = nflog::PacketRepr {
            group,
            hook: 3,
            prefix: Some(prefix.as_bytes().to_vec()),
            outdev: Some(1),
            uid: Some(0),
            gid: Some(0),
            payload: Some(ip),
            ..nflog::PacketRepr::default()
        };
        let mut body = Vec::new();
        repr.emit(&mut body);
        body
    }

    /// Runs the command's capture over recorded packets with `args`, without a kernel;
    /// returns the output, with each text line's time and host masked, and the statistics.
    fn replay(args: &[&str], batches: Vec<Vec<Vec<u8>>>) -> (String, String) {
        let args = capture_args(args);
        let format = output::outputs(&args.output).unwrap()[0].format;
        let out = Shared::default();
        let clock = Fixed(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_547_200));
        let (line, outcome) = replay_into(&args, batches, vec![Box::new(out.clone())], &clock);
        outcome.unwrap();
        let bytes = lock(&out.0).clone();
        if matches!(format, OutputFormat::Pcap | OutputFormat::Pcapng) {
            // Packets without a kernel timestamp take the clock's time.
            let mut reader = nflog::pcap::CaptureReader::new(&bytes[..]).unwrap();
            let mut records = 0;
            while let Some(record) = reader.next_record().unwrap() {
                assert_eq!(record.time, clock.0);
                records += 1;
            }
            return (format!("{records} records\n"), line);
        }
        let text = String::from_utf8(bytes).unwrap();
        // "Dec  1 00:00:00 HOST ": the time zone and host name are the machine's.
        let masked: String = text
            .lines()
            .map(|l| {
                let rest = l.get(16..).unwrap_or_default();
                let rest = rest.split_once(' ').map_or("", |(_, r)| r);
                format!("<time> <host> {rest}\n")
            })
            .collect();
        (masked, line)
    }

    /// Runs the command's capture over recorded packets with `args`, each output of the
    /// command line writing to the writer given for it (its destination is not opened);
    /// returns the statistics and how the capture ended.
    fn replay_into(
        args: &CaptureArgs,
        batches: Vec<Vec<Vec<u8>>>,
        writers: Vec<Box<dyn Write + Send>>,
        clock: &Fixed,
    ) -> (String, Result<()>) {
        let specs = output::outputs(&args.output).unwrap();
        assert_eq!(specs.len(), writers.len());
        // `-g N EXPRESSION`, as `run` reads it.
        let filter = crate::read::parse_filter(&args.expression).unwrap();
        let mut outputs = specs
            .iter()
            .zip(writers)
            .map(|(spec, out)| Prepared {
                label: label(spec),
                output: Held::Other(Box::new(
                    output::Sink::new(spec.format, spec.link_type(), out).unwrap(),
                )),
                names: Box::new(Numeric),
                flush_when_idle: true,
                lazy: false,
                queue_size: crate::cli::QUEUE_SIZE,
                filter: filter.clone(),
                counters: Arc::default(),
            })
            .collect::<Vec<_>>();
        let filter = shared_filter(&mut outputs).map(|expr| CaptureFilter {
            expr,
            names: Box::new(Numeric),
        });
        let setup = Setup {
            output: &args.output,
            seq: args.seq,
            status: false,
            files: None,
        };
        let source = Recorded {
            batches: batches.into(),
            stats: Stats::default(),
            groups: distinct(&args.groups),
        };
        let closing = Arc::new(Closing::new(&outputs, None));
        capture(source, outputs, filter, &setup, clock, &closing)
    }

    /// Compares `got` with the expected file `snapshots/NAME`; writes it instead when
    /// `NFLOG_UPDATE_SNAPSHOTS` is set.
    fn assert_snapshot(name: &str, got: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/snapshots")
            .join(name);
        if std::env::var_os("NFLOG_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, got).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; set NFLOG_UPDATE_SNAPSHOTS", path.display()));
        assert_eq!(got, expected, "snapshot {name}");
    }

    #[test]
    fn a_chunk_asks_the_resolver_once_per_interface() {
        /// Names every interface `ethN`, counting the questions.
        struct Counting(u32);
        impl ResolveInterface for Counting {
            fn interface_name(&mut self, _: u32) -> Option<&str> {
                unreachable!("the formats ask for bytes")
            }
            fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
                self.0 += 1;
                match index {
                    1 => Some(b"eth1"),
                    2 => Some(b"caf\xe9"),
                    _ => None,
                }
            }
        }
        let mut counting = Counting(0);
        let mut seen = Vec::new();
        let mut names = ChunkNames {
            names: &mut counting,
            seen: &mut seen,
        };
        for _ in 0..100 {
            assert_eq!(names.interface_name_bytes(1), Some(&b"eth1"[..]));
            assert_eq!(names.interface_name(1), Some("eth1"));
            assert_eq!(names.interface_name_bytes(2), Some(&b"caf\xe9"[..]));
            assert_eq!(names.interface_name(2), None, "not UTF-8");
            assert_eq!(names.interface_name_bytes(9), None);
        }
        assert_eq!(counting.0, 3, "one question per interface");
    }

    #[test]
    fn count_counts_the_packets_the_filter_takes() {
        // Regression: with `-g N EXPRESSION`, -c counted the packets received, those the
        // filter left out included, and stopped before COUNT packets were written;
        // tcpdump's -c counts the packets that match.
        let packet = |id, port| recorded_to_port(5, "x", id, port);
        let batches = vec![
            vec![packet(1, 53), packet(2, 54), packet(3, 54)],
            vec![packet(4, 54), packet(5, 53), packet(6, 53)],
            vec![packet(7, 53)],
        ];
        let (text, line) = replay(&["-g", "5", "-c", "2", "udp dst port 53"], batches.clone());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains(" ID=1 "), "{text}");
        assert!(lines[1].contains(" ID=5 "), "{text}");
        // The reader stopped after the batch of the second match: six received, two
        // written, three left out; the sixth, past the count, is neither.
        assert!(
            line.starts_with("nflog: 2 packets written; received 6 packets"),
            "{line}"
        );
        assert!(
            line.ends_with("; 3 packets left out by the output's filter"),
            "{line}"
        );
        // Several outputs share the filter, judged once: each writes the same two.
        let args = capture_args(&[
            "-g",
            "5",
            "-c",
            "2",
            "-w",
            "a.txt",
            "-w",
            "b.json",
            "udp dst port 53",
        ]);
        let (a, b) = (Shared::default(), Shared::default());
        let clock = Fixed(SystemTime::UNIX_EPOCH);
        let (lines, outcome) = replay_into(
            &args,
            batches,
            vec![Box::new(a.clone()), Box::new(b.clone())],
            &clock,
        );
        outcome.unwrap();
        assert_eq!(lines_of(&a).len(), 2);
        assert_eq!(lines_of(&b).len(), 2);
        for output in lines.lines().skip(1) {
            assert!(
                output.ends_with("2 packets written; 3 packets left out by the output's filter"),
                "{lines}"
            );
        }
    }

    #[test]
    fn snapshot_of_a_capture_over_recorded_packets() {
        let batches = vec![
            vec![recorded_packet(5, "dns", 1), recorded_packet(6, "other", 2)],
            vec![recorded_packet(5, "dns", 3)],
        ];
        let (text, line) = replay(&["-g", "5,6"], batches.clone());
        assert_snapshot("capture_text.txt", &format!("{text}{line}\n"));
        // -c stops after the count, and says what it received.
        let (text, line) = replay(&["-g", "5,6", "-c", "2"], batches.clone());
        assert_snapshot("capture_count.txt", &format!("{text}{line}\n"));
        // pcapng: the clock stamps the records, and --linktype raw writes them all.
        let (records, line) = replay(&["-g", "5,6", "-F", "pcapng", "--linktype", "raw"], batches);
        assert_snapshot("capture_pcapng_raw.txt", &format!("{records}{line}\n"));
    }

    /// Lines of a text or JSON output.
    fn lines_of(out: &Shared) -> Vec<String> {
        String::from_utf8(lock(&out.0).clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn several_outputs_each_get_every_packet_in_their_own_format() {
        let batches: Vec<Vec<Vec<u8>>> = (0..20)
            .map(|b| {
                (0..5)
                    .map(|i| recorded_packet(5, "dns", b * 5 + i))
                    .collect()
            })
            .collect();
        // -F after a -w is that output's; the text output is standard output's.
        let args = capture_args(&[
            "-g", "5", "-w", "a.log", "-F", "json", "-w", "b.pcapng", "-w", "-",
        ]);
        let outs = [Shared::default(), Shared::default(), Shared::default()];
        let writers: Vec<Box<dyn Write + Send>> =
            outs.iter().map(|o| Box::new(o.clone()) as _).collect();
        let clock = Fixed(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_547_200));
        let (lines, outcome) = replay_into(&args, batches, writers, &clock);
        outcome.unwrap();
        let json = lines_of(&outs[0]);
        assert_eq!(json.len(), 100);
        assert!(json.iter().all(|l| l.starts_with('{')), "{json:?}");
        let pcapng = lock(&outs[1].0).clone();
        let mut reader = nflog::pcap::CaptureReader::new(&pcapng[..]).unwrap();
        let mut records = 0;
        while reader.next_record().unwrap().is_some() {
            records += 1;
        }
        assert_eq!(records, 100);
        let text = lines_of(&outs[2]);
        assert_eq!(text.len(), 100);
        assert!(text.iter().all(|l| l.contains(" dns IN=")), "{text:?}");
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(
            lines,
            [
                "nflog: received 100 packets (8000 bytes) in 20 batches; 0 kernel overruns, \
                 0 packets lost (sequence gaps), 0 truncated batches, 0 malformed",
                "nflog: output 1 -w a.log (json): 100 packets written",
                "nflog: output 2 -w b.pcapng (pcapng): 100 packets written",
                "nflog: output 3 -w - (text): 100 packets written",
            ]
        );
    }

    /// A writer that blocks every write until its gate opens.
    #[derive(Clone, Default)]
    struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

    impl Gate {
        fn open(&self) {
            *lock(&self.0 .0) = true;
            self.0 .1.notify_all();
        }
    }

    impl Write for Gate {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut open = lock(&self.0 .0);
            while !*open {
                open = self.0 .1.wait(open).unwrap_or_else(PoisonError::into_inner);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Recorded packets that open a gate once they are all received.
    struct OpensAtEnd(Recorded, Gate);

    impl Source for OpensAtEnd {
        fn recv_into(
            &mut self,
            chunk: &mut Chunk,
            room: Option<u64>,
            filter: Option<&mut CaptureFilter>,
        ) -> Result<Option<Option<Error>>> {
            let got = self.0.recv_into(chunk, room, filter)?;
            if got.is_none() {
                self.1.open();
            }
            Ok(got)
        }

        fn stats(&self) -> Stats {
            self.0.stats()
        }

        fn groups(&self) -> Vec<(u16, u64)> {
            self.0.groups()
        }

        fn stopper(&self) -> Box<dyn Fn() + Send + Sync> {
            self.0.stopper()
        }
    }

    /// `count` batches of four packets of group 5, prefix `x`, with the ids 0, 1, 2, ...
    /// of [`recorded_packet`] in order.
    fn batches_of_four(count: usize) -> Vec<Vec<Vec<u8>>> {
        (0..count)
            .map(|b| {
                (0..4)
                    .map(|i| recorded_packet(5, "x", (b * 4 + i) as u8))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_stuck_output_drops_its_own_packets_and_the_others_lose_nothing() {
        let batches = batches_of_four(50);
        // A queue of one byte holds one chunk at a time: the stuck output drops the rest;
        // the other output's queue holds everything (queues are per output).
        let args = capture_args(&["-g", "5", "-w", "stuck.txt", "-w", "all.json"]);
        let queue_sizes = [1, 64 << 20];
        let gate = Gate::default();
        let all = Shared::default();
        let writers: Vec<Box<dyn Write + Send>> =
            vec![Box::new(gate.clone()), Box::new(all.clone())];
        let specs = output::outputs(&args.output).unwrap();
        let outputs = specs
            .iter()
            .zip(writers.into_iter().zip(queue_sizes))
            .map(|(spec, (out, queue_size))| Prepared {
                label: label(spec),
                output: Held::Other(Box::new(
                    output::Sink::new(spec.format, spec.link_type(), out).unwrap(),
                )),
                names: Box::new(Numeric),
                flush_when_idle: true,
                lazy: false,
                queue_size,
                filter: None,
                counters: Arc::default(),
            })
            .collect::<Vec<_>>();
        let counters: Vec<Arc<Counters>> =
            outputs.iter().map(|o| Arc::clone(&o.counters)).collect();
        let setup = Setup {
            output: &args.output,
            seq: false,
            status: false,
            files: None,
        };
        let source = OpensAtEnd(
            Recorded {
                batches: batches.into(),
                stats: Stats::default(),
                groups: vec![5],
            },
            gate,
        );
        let closing = Arc::new(Closing::new(&outputs, None));
        let clock = Fixed(SystemTime::UNIX_EPOCH);
        let (lines, outcome) = capture(source, outputs, None, &setup, &clock, &closing);
        outcome.unwrap();
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("nflog: received 200 packets"),
            "{lines:?}"
        );
        // The JSON output was never behind: every packet.
        assert_eq!(
            lines[2],
            "nflog: output 2 -w all.json (json): 200 packets written"
        );
        assert_eq!(lines_of(&all).len(), 200);
        // The stuck one took a chunk or two, and the rest was dropped, counted as its own.
        let stuck = lines[1];
        let written = figure(stuck, " packets written");
        let dropped = figure(stuck, " packets dropped because the output fell behind");
        assert!(
            stuck.starts_with("nflog: output 1 -w stuck.txt (text): "),
            "{stuck}"
        );
        assert!(stuck.ends_with("(raise --queue-size)"), "{stuck}");
        assert!(written >= 4 && dropped >= 4 * 40, "{stuck}");
        assert_eq!(written + dropped, 200, "{stuck}");
        // The counters the metrics read say the same.
        assert_eq!(counters[0].written.load(Ordering::Relaxed), written);
        assert_eq!(counters[0].queue_dropped.load(Ordering::Relaxed), dropped);
        assert_eq!(counters[1].written.load(Ordering::Relaxed), 200);
        assert_eq!(counters[1].queue_dropped.load(Ordering::Relaxed), 0);
        assert_eq!(counters[0].queue_bytes.load(Ordering::Relaxed), 0);
    }

    /// A disk that takes `room` bytes, then is full.
    struct Full(usize);

    impl Write for Full {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = bytes.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_output_ends_alone_and_says_what_it_lost() {
        let batches = batches_of_four(30);
        let args = capture_args(&["-g", "5", "-w", "full.txt", "-w", "all.json"]);
        let all = Shared::default();
        // Room for a few text lines: the first flush fails.
        let writers: Vec<Box<dyn Write + Send>> = vec![Box::new(Full(1000)), Box::new(all.clone())];
        let clock = Fixed(SystemTime::UNIX_EPOCH);
        let (lines, outcome) = replay_into(&args, batches, writers, &clock);
        // The failure is the command's error, naming the output; the other output went on.
        let e = format!("{:#}", outcome.unwrap_err());
        assert!(
            e.starts_with("-w full.txt (text): writing the output failed: the disk is full"),
            "{e}"
        );
        assert_eq!(lines_of(&all).len(), 120);
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(
            lines[2],
            "nflog: output 2 -w all.json (json): 120 packets written"
        );
        let full = lines[1];
        let written = figure(full, " packets written");
        let lost = figure(full, " packets lost when the output failed");
        assert!(written < 120 && lost > 0, "{full}");
        // What its queue did not take after it failed is lost with it too: all counted.
        assert_eq!(written + lost, 120, "{full}");
    }

    #[test]
    fn after_a_signal_each_stuck_output_says_what_it_did_not_take() {
        let counters = [Arc::new(Counters::default()), Arc::new(Counters::default())];
        counters[0].written.store(90, Ordering::Relaxed);
        counters[1].written.store(40, Ordering::Relaxed);
        counters[1].filtered.store(10, Ordering::Relaxed);
        let lane = |offered, dropped, counters: &Arc<Counters>| LaneEnd {
            offered,
            drops: Drops {
                packets: dropped,
                ..Drops::default()
            },
            peak: 0,
            counters: Arc::clone(counters),
        };
        let end = ReaderEnd {
            stats: Stats {
                packets: 100,
                datagrams: 10,
                ..Stats::default()
            },
            groups: vec![(5, 0)],
            lanes: vec![lane(90, 10, &counters[0]), lane(70, 30, &counters[1])],
        };
        let closing = Closing {
            outputs: vec![
                ("-w a.json (json)".into(), Arc::clone(&counters[0])),
                ("-w - (text)".into(), Arc::clone(&counters[1])),
            ],
            reader: Mutex::new(None),
            printed: Mutex::new(false),
            metrics: None,
        };
        let text = after_signal(&end, &closing, true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "nflog: received 100 packets (0 bytes) in 10 batches; 0 kernel overruns, 0 \
                 packets lost (sequence gaps), 0 truncated batches, 0 malformed",
                "nflog: output 1 -w a.json (json): 90 packets written; 10 packets dropped \
                 because the output fell behind (raise --queue-size)",
                "nflog: output 2 -w - (text): 40 packets written; 30 packets dropped because \
                 the output fell behind (raise --queue-size); 10 packets left out by the \
                 output's filter; 20 packets lost because the output took nothing more after \
                 the signal",
            ]
        );
    }

    /// The number before `what` in `line`.
    fn figure(line: &str, what: &str) -> u64 {
        let before = &line[..line
            .find(what)
            .unwrap_or_else(|| panic!("{what:?} in {line}"))];
        before.rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn statistics_name_a_database_or_syslog_output_by_its_kind_not_text() {
        let labels = |args: &[&str]| -> Vec<String> {
            output::outputs(&capture_args(args).output)
                .unwrap()
                .iter()
                .map(label)
                .collect()
        };
        assert_eq!(
            labels(&[
                "-g",
                "5",
                "-w",
                "sqlite:a.db",
                "-w",
                "postgres://nflog:secret@127.0.0.1:5432/logs",
                "-w",
                "clickhouse://127.0.0.1:8123/logs",
                "-w",
                "syslog://127.0.0.1:514",
                "-w",
                "unix:/dev/log",
                "-w",
                "a.pcap",
                "-w",
                "-",
            ]),
            [
                "-w sqlite:a.db (sqlite)",
                "-w postgres://nflog:***@127.0.0.1:5432/logs (postgres)",
                "-w clickhouse://127.0.0.1:8123/logs (clickhouse)",
                "-w syslog://127.0.0.1:514 (syslog)",
                "-w unix:/dev/log (syslog)",
                "-w a.pcap (pcap)",
                "-w - (text)",
            ]
        );
    }

    #[test]
    fn each_format_goes_to_the_output_before_it() {
        let specs = |args: &[&str]| {
            output::outputs(&capture_args(args).output)
                .map(|specs| {
                    specs
                        .into_iter()
                        .map(|s| (s.destination.to_string(), s.format, s.linktype))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| e.to_string())
        };
        use crate::cli::LinkTypeArg::Raw;
        use OutputFormat::*;
        assert_eq!(specs(&["-g", "5"]), Ok(vec![("-".into(), Text, None)]));
        // Before the first -w: the first output's, as with one output.
        assert_eq!(
            specs(&["-g", "5", "-F", "json", "-w", "x"]),
            Ok(vec![("x".into(), Json, None)])
        );
        assert_eq!(
            specs(&[
                "-g",
                "5",
                "-w",
                "a.pcap",
                "--linktype",
                "raw",
                "-w",
                "b",
                "-F",
                "xml",
                "-w",
                "c.json",
                "-w",
                "-",
                "-F",
                "pcapng"
            ]),
            Ok(vec![
                ("a.pcap".into(), Pcap, Some(Raw)),
                ("b".into(), Xml, None),
                ("c.json".into(), Json, None),
                ("-".into(), Pcapng, None),
            ])
        );
        assert_eq!(
            specs(&["-g", "5", "-w", "a", "-F", "json", "-F", "xml", "-w", "b"]),
            Err("-F given twice for the output -w a: give each -w at most one -F, after it".into())
        );
        assert_eq!(
            specs(&["-g", "5", "-w", "a.json", "-w", "./a.json"]),
            Ok(vec![
                ("a.json".into(), Json, None),
                ("./a.json".into(), Json, None)
            ])
        );
        assert_eq!(
            specs(&["-g", "5", "-w", "a.json", "-F", "text", "-w", "a.json"]),
            Err("-w a.json is given twice: two outputs cannot write one file".into())
        );
    }

    #[test]
    fn each_queue_size_goes_to_the_output_before_it() {
        let sizes = |args: &[&str]| {
            let args = capture_args(args);
            output::per_output(
                &args.output,
                &args.queue_size,
                &args.output.positions.queue_size,
                "--queue-size",
            )
            .map_err(|e| e.to_string())
        };
        assert_eq!(sizes(&["-g", "5"]), Ok(vec![None]));
        assert_eq!(
            sizes(&["-g", "5", "--queue-size", "4096", "-w", "a"]),
            Ok(vec![Some(4096)])
        );
        assert_eq!(
            sizes(&[
                "-g",
                "5",
                "-w",
                "a",
                "--queue-size",
                "1000",
                "-w",
                "b",
                "-w",
                "c",
                "-F",
                "json",
                "--queue-size",
                "3000"
            ]),
            Ok(vec![Some(1000), None, Some(3000)])
        );
        assert_eq!(
            sizes(&[
                "-g",
                "5",
                "-w",
                "a",
                "--queue-size",
                "1",
                "--queue-size",
                "2"
            ]),
            Err(
                "--queue-size given twice for the output -w a: give each -w at most one \
                 --queue-size, after it"
                    .into()
            )
        );
    }

    #[test]
    fn groups_are_bound_once_each_in_order() {
        assert_eq!(distinct(&[5, 5]), [5]);
        assert_eq!(distinct(&[7, 5, 7, 6, 5]), [7, 5, 6]);
    }
}
