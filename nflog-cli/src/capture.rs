//! `nflog capture`: bind groups, receive, write, and account for every packet.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use nflog::pcap::InterfaceStats;
use nflog::socket::names::{InterfaceNames, Numeric, ResolveInterface};
use nflog::{CopyMode, Error, Flags, GroupConfig, Listener, Stats};

use crate::cli::{CaptureArgs, OutputArgs};
use crate::output::{self, write_error, Sink};
use crate::privileges;

/// Runs a capture until `--count`, Ctrl-C, SIGTERM or a closed pipe.
pub fn run(args: &CaptureArgs) -> Result<()> {
    if args.groups.is_empty() {
        bail!(
            "no group given: name the group your rule logs to, as in `nflog -g 5` for \
             `log group 5` (nft) or `--nflog-group 5` (iptables)"
        );
    }
    let config = group_config(args);
    let mut builder = Listener::builder()
        .groups(args.groups.iter().copied())
        .config(config);
    if let Some(bytes) = args.rcvbuf {
        builder = builder.receive_buffer(Some(bytes));
    }
    if let Some(netns) = &args.netns {
        builder = builder.netns(netns.clone());
    }
    let mut listener = builder.bind().map_err(explain_bind_error)?;
    let (out, to_file) = output::open(&args.output)?;
    if let Some(user) = &args.user {
        privileges::drop_to(user)?;
    }
    let format = output::choose_format(&args.output);
    let sink = Sink::new(format, args.output.linktype, out).context("writing the output header")?;

    let stop = listener.stop_handle();
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.stop()).context("installing the Ctrl-C handler")?;

    let mut names: Box<dyn ResolveInterface> = if args.output.numeric {
        Box::new(Numeric)
    } else {
        Box::new(InterfaceNames::new(&listener).context("preparing interface names")?)
    };
    let status = to_file && io::stderr().is_terminal();
    let mut run = Run::new(sink, &args.output, status);
    let outcome = run.receive(&mut listener, names.as_mut());
    let stats = listener.stats();
    let finish = run.finish(&listener);
    if status {
        eprintln!();
    }
    eprintln!("{}", summary(&stats, run.written));
    match outcome.and(finish) {
        Ok(()) => Ok(()),
        Err(e) if output::is_closed_pipe(&e) => Ok(()),
        Err(e) => Err(e),
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
    if let Some(q) = args.qthresh {
        config = config.queue_threshold(q);
    }
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

/// The library's errors already say what to do; name the command-line option where one
/// is the fix.
fn explain_bind_error(e: Error) -> anyhow::Error {
    match e {
        Error::InvalidConfig {
            setting: "nlbufsiz",
            ..
        } => anyhow::Error::new(e).context("--nlbufsiz"),
        Error::InvalidConfig { setting, .. } if setting.starts_with("flush timeout") => {
            anyhow::Error::new(e).context("--flush-timeout")
        }
        other => anyhow::Error::new(other),
    }
}

/// One capture's output side: the sink, the count, the status line.
struct Run {
    sink: Sink,
    count: Option<u64>,
    packet_buffered: bool,
    status: bool,
    written: u64,
    /// Packets written per group, for the pcapng statistics.
    per_group: Vec<(u16, u64)>,
    started: Instant,
    started_at: SystemTime,
    last_status: Instant,
}

impl Run {
    fn new(sink: Sink, output: &OutputArgs, status: bool) -> Run {
        let now = Instant::now();
        Run {
            sink,
            count: output.count,
            packet_buffered: output.packet_buffered,
            status,
            written: 0,
            per_group: Vec::new(),
            started: now,
            started_at: SystemTime::now(),
            last_status: now,
        }
    }

    /// Receives and writes until stopped or `--count`; a write error ends it.
    fn receive(&mut self, listener: &mut Listener, names: &mut dyn ResolveInterface) -> Result<()> {
        let stop = listener.stop_handle();
        loop {
            let Some(batch) = listener.recv()? else {
                break;
            };
            let received = SystemTime::now();
            for item in batch {
                if self.count.is_some_and(|c| self.written >= c) {
                    continue; // counted by the statistics, not written
                }
                let packet = match item {
                    Ok(packet) => packet,
                    Err(Error::Parse(e)) => {
                        eprintln!("nflog: skipped a malformed message: {e}");
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                self.sink
                    .write(&packet, received, names)
                    .map_err(write_error)?;
                self.written += 1;
                match self
                    .per_group
                    .iter_mut()
                    .find(|(g, _)| *g == packet.group())
                {
                    Some((_, n)) => *n += 1,
                    None => self.per_group.push((packet.group(), 1)),
                }
            }
            if self.packet_buffered {
                self.sink.flush().map_err(write_error)?;
            }
            if self.count.is_some_and(|c| self.written >= c) {
                stop.stop();
            }
            if self.status && self.last_status.elapsed() >= Duration::from_secs(1) {
                self.show_status(&listener.stats());
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
            self.written,
            self.written as f64 / seconds,
            stats.overruns,
            stats.seq_gaps
        );
        let _ = err.flush();
    }

    /// Writes the end of the output (pcapng statistics per group) and flushes it.
    fn finish(&mut self, listener: &Listener) -> Result<()> {
        let end = SystemTime::now();
        let per_group: Vec<(u16, InterfaceStats)> = listener
            .groups()
            .iter()
            .map(|&group| {
                let received = self
                    .per_group
                    .iter()
                    .find(|(g, _)| *g == group)
                    .map_or(0, |(_, n)| *n);
                let stats = InterfaceStats {
                    received,
                    dropped: listener.seq_gaps(group),
                    start: Some(self.started_at),
                    end: Some(end),
                };
                (group, stats)
            })
            .collect();
        self.sink.finish(&per_group).map_err(write_error)
    }
}

/// The closing statistics line.
fn summary(stats: &Stats, written: u64) -> String {
    let mut line = format!(
        "nflog: {written} packets written; received {} packets ({} bytes) in {} batches; \
         {} kernel overruns, {} packets lost (sequence gaps), {} truncated batches, {} malformed",
        stats.packets,
        stats.bytes,
        stats.datagrams,
        stats.overruns,
        stats.seq_gaps,
        stats.truncated,
        stats.malformed
    );
    if stats.buffer_growths > 0 {
        line.push_str(&format!(
            "; receive buffer grown {} times to {} bytes",
            stats.buffer_growths, stats.receive_buffer
        ));
    }
    line
}
