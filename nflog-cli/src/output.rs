//! Where packets go: the [`Output`] every destination implements, the byte-stream [`Sink`]
//! of the formats (a file or standard output), and the [`Destination`] parser of `-w`.
//!
//! An output is driven by one writing thread: it is handed packets, flushed when its
//! writer has caught up, and finished at the end; it says itself how many packets it
//! delivered and which it dropped and why, because only it knows: a byte stream counts
//! the bytes the system accepted, a database the rows it committed, a log server the
//! messages it sent.

mod destination;
mod sqlite;

pub use destination::{shown, Destination};

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use nflog::format::{self, JsonFormat, Lines, ResolveInterface, TextFormat, XmlFormat};
use nflog::pcap::{InterfaceStats, LinkType, PcapWriter, PcapngWriter};
use nflog::Packet;

use crate::cli::{LinkTypeArg, OutputArgs, OutputFormat, SyslogArgs};
use crate::log::{self, Level};
use crate::syslog::Syslog;

/// One output as the command line or the configuration file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// Where it writes.
    pub destination: Destination,
    /// The format, as asked or guessed from the file name.
    pub format: OutputFormat,
    /// The link type asked for pcap and pcapng (`--linktype`), if any.
    pub linktype: Option<LinkTypeArg>,
    /// For an SQLite database, the days its rows are kept (`--retain`), if limited.
    pub retain: Option<u32>,
    /// For a syslog output, how its messages are written (`--syslog-*`, or the output's
    /// `[output.syslog]` table in the configuration file); empty for any other.
    pub syslog: SyslogArgs,
    /// For a database, whether its rows hold the packet's bytes (`--raw`).
    pub raw: bool,
}

impl OutputSpec {
    /// The link type of pcap and pcapng output: NFLOG unless `--linktype` says otherwise.
    pub fn link_type(&self) -> LinkTypeArg {
        self.linktype.unwrap_or(LinkTypeArg::Nflog)
    }
}

/// The outputs the command line asks for: one per `-w` (standard output without any), each
/// with the `-F` and `--linktype` given after it; those given before the first `-w` are
/// the first output's.
///
/// # Errors
///
/// A destination [`Destination::parse`] refuses, or an output given two formats or two
/// link types.
pub fn outputs(args: &OutputArgs) -> Result<Vec<OutputSpec>> {
    let mut destinations = Vec::with_capacity(args.write.len().max(1));
    for write in &args.write {
        // As the messages show it: a URL without its password.
        let named = shown(&write.display().to_string());
        let destination =
            Destination::parse(write.as_os_str()).with_context(|| format!("-w {named}"))?;
        destinations.push((destination, named));
    }
    if destinations.is_empty() {
        destinations.push((Destination::Stdout, "-".to_string()));
    }
    let formats = per_output(args, &args.format, &args.positions.format, "-F")?;
    for (at, format) in formats.iter().enumerate() {
        if let (Some(format), true) = (format, is_database(&destinations[at].0)) {
            bail!(
                "-F {} given for the output -w {}: a database stores each packet as a row of \
                 typed columns, in no -F format: leave -F out for it (each -F belongs to the \
                 -w before it)",
                format_name(*format),
                destinations[at].1
            );
        }
    }
    let linktypes = per_output(args, &args.linktype, &args.positions.linktype, "--linktype")?;
    let mut raws = vec![false; destinations.len()];
    for &index in &args.positions.raw {
        let at = owner(args, index);
        if !is_database(&destinations[at].0) {
            bail!(
                "--raw given for the output -w {}: --raw adds the packet's bytes to a \
                 database's rows: give it after -w sqlite:PATH, postgres://... or \
                 clickhouse://...",
                destinations[at].1
            );
        }
        raws[at] = true;
    }
    let specs: Vec<OutputSpec> = destinations
        .into_iter()
        .zip(formats.into_iter().zip(linktypes))
        .zip(raws)
        .map(|(((destination, _), (format, linktype)), raw)| OutputSpec {
            format: format_for(format, &destination),
            retain: args
                .retain
                .filter(|_| matches!(destination, Destination::Sqlite(_))),
            syslog: if is_syslog(&destination) {
                args.syslog.clone()
            } else {
                SyslogArgs::default()
            },
            destination,
            linktype,
            raw,
        })
        .collect();
    if args.retain.is_some()
        && !specs
            .iter()
            .any(|spec| matches!(spec.destination, Destination::Sqlite(_)))
    {
        bail!("--retain deletes old rows of a database: use it with -w sqlite:PATH");
    }
    if args.syslog.any() && !specs.iter().any(|s| is_syslog(&s.destination)) {
        bail!(
            "the --syslog-* options apply to syslog outputs only: add -w syslog://HOST, \
             -w syslog+tcp://HOST or -w unix:/dev/log, or leave them out"
        );
    }
    for (i, a) in specs.iter().enumerate() {
        if let Some(file) = a.destination.file() {
            if specs[..i]
                .iter()
                .any(|b| b.destination.file() == Some(file))
            {
                bail!(
                    "-w {} is given twice: two outputs cannot write one file",
                    file.display()
                );
            }
        }
    }
    Ok(specs)
}

/// The value of a per-output `option` for each output: `values`, given at `indices` on the
/// command line, each belong to the last -w before it (the first output's when before any
/// -w); `None` for an output not given one.
///
/// # Errors
///
/// An output given the option twice.
pub fn per_output<T: Copy>(
    args: &OutputArgs,
    values: &[T],
    indices: &[usize],
    option: &str,
) -> Result<Vec<Option<T>>> {
    let mut each = vec![None; args.write.len().max(1)];
    for (i, &value) in values.iter().enumerate() {
        let at = owner(args, indices.get(i).copied().unwrap_or(0));
        if each[at].replace(value).is_some() {
            let name = args
                .write
                .get(at)
                .map_or_else(|| "-".to_string(), |w| shown(&w.display().to_string()));
            bail!(
                "{option} given twice for the output -w {name}: give each -w at most one \
                 {option}, after it"
            );
        }
    }
    Ok(each)
}

/// The output an option at `index` of the command line belongs to: the last -w before it,
/// else the first.
fn owner(args: &OutputArgs, index: usize) -> usize {
    args.positions
        .write
        .iter()
        .rposition(|&w| w < index)
        .unwrap_or(0)
        .min(args.write.len().saturating_sub(1))
}

/// The format of an output to `destination`: `format` when given, else guessed from the
/// file name, else text.
pub fn format_for(format: Option<OutputFormat>, destination: &Destination) -> OutputFormat {
    if let Some(format) = format {
        return format;
    }
    let Destination::File(path) = destination else {
        return OutputFormat::Text;
    };
    // `X.PCAP` is as much a pcap file as `x.pcap`.
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("pcap") => OutputFormat::Pcap,
        Some("pcapng") => OutputFormat::Pcapng,
        Some("json") | Some("jsonl") => OutputFormat::Json,
        Some("xml") => OutputFormat::Xml,
        _ => OutputFormat::Text,
    }
}

/// An output, opened.
pub struct Opened {
    /// The output.
    pub output: Box<dyn Output>,
    /// Whether to flush it whenever its writer has caught up, so a terminal, a pipe or a
    /// server sees each packet as it comes; a file is flushed when its buffer fills.
    pub flush_when_idle: bool,
}

/// Opens the destination of `spec` and starts writing its format there (the file header,
/// for pcap and pcapng, with an interface for each of `groups` in pcapng).
///
/// # Errors
///
/// A destination that cannot be opened, or whose header cannot be written, with the
/// option to change.
pub fn open_output(spec: &OutputSpec, groups: &[u16]) -> Result<Opened> {
    let (destination, format, retain) = (&spec.destination, spec.format, spec.retain);
    let (out, flush_when_idle): (Box<dyn Write + Send>, bool) = match destination {
        // Committed whenever the writer has caught up: readers see each packet soon, and a
        // batch is as large as the backlog.
        Destination::Sqlite(path) => {
            return Ok(Opened {
                output: Box::new(sqlite::Sqlite::open(path, retain, spec.raw)?),
                flush_when_idle: true,
            })
        }
        Destination::Stdout => (Box::new(stdout()?), true),
        Destination::File(path) => {
            let file = File::create(path).with_context(|| {
                format!(
                    "cannot write {}: choose a writable path for -w (or - for standard output)",
                    path.display()
                )
            })?;
            (Box::new(file), false)
        }
        Destination::Postgres(_) | Destination::Clickhouse(_) => {
            return Ok(Opened {
                output: Box::new(crate::remote::open(destination, spec.raw)?),
                // The sink sends its rows in batches of its own, by size and age.
                flush_when_idle: false,
            });
        }
        Destination::Syslog(_) | Destination::SyslogTcp(_) | Destination::Unix(_) => {
            return Ok(Opened {
                output: Box::new(Syslog::open(destination, format, &spec.syslog)?),
                // A TCP collector's acknowledgements are counted at each flush.
                flush_when_idle: true,
            });
        }
    };
    let sink = Sink::with_groups(format, spec.link_type(), out, groups)
        .context("writing the output header")?;
    Ok(Opened {
        output: Box::new(sink),
        flush_when_idle,
    })
}

/// Whether `destination` is a database, whose rows have typed columns and no format.
pub fn is_database(destination: &Destination) -> bool {
    matches!(
        destination,
        Destination::Sqlite(_) | Destination::Postgres(_) | Destination::Clickhouse(_)
    )
}

/// Whether `destination` takes syslog messages.
pub fn is_syslog(destination: &Destination) -> bool {
    matches!(
        destination,
        Destination::Syslog(_) | Destination::SyslogTcp(_) | Destination::Unix(_)
    )
}

/// Refuses options that mean nothing together, before anything is opened or truncated.
pub fn check_options(spec: &OutputSpec, meta: bool) -> Result<()> {
    let format = spec.format;
    if is_syslog(&spec.destination) && !matches!(format, OutputFormat::Text | OutputFormat::Json) {
        bail!(
            "syslog messages carry a text line or a JSON object, and the output -w {} is {}: \
             give it -F text or -F json",
            spec.destination,
            format_name(format)
        );
    }
    let binary = matches!(format, OutputFormat::Pcap | OutputFormat::Pcapng);
    if let (Some(_), false) = (spec.linktype, binary) {
        bail!(
            "--linktype applies to pcap and pcapng output only, and the output is {}: \
             leave --linktype out, or write pcap (-F pcap, or -w FILE.pcap)",
            format_name(format)
        );
    }
    if meta && spec.link_type() == LinkTypeArg::Raw {
        bail!(
            "--meta copies no packet bytes, and --linktype raw writes nothing else: \
             leave out --meta, or --linktype raw to keep the metadata (LINKTYPE_NFLOG)"
        );
    }
    Ok(())
}

/// The name of a format, as `-F` takes it.
pub fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Text => "text",
        OutputFormat::Json => "json",
        OutputFormat::Xml => "xml",
        OutputFormat::Pcap => "pcap",
        OutputFormat::Pcapng => "pcapng",
    }
}

/// Writes one line to standard error; a standard error that went away (`2>&1 | head`) is
/// not worth a panic, and there is nowhere left to say anything.
pub fn warn(line: &str) {
    let _ = say_to(&mut io::stderr().lock(), &log::line(Level::Warning, line));
}

/// Writes the error that ends the command, as [`warn`] writes a warning.
pub fn error(line: &str) {
    let _ = say_to(&mut io::stderr().lock(), &log::line(Level::Error, line));
}

/// Writes lines to standard error, as [`warn`], and says whether they were lost otherwise
/// than to a reader that went away: lines that must not vanish silently (the closing
/// statistics), whose loss to a full disk or a `2>/dev/full` the exit status then tells.
pub fn say(line: &str) -> io::Result<()> {
    say_to(&mut io::stderr().lock(), &log::lines(Level::Info, line))
}

/// [`say`] to any output.
fn say_to(out: &mut dyn Write, line: &str) -> io::Result<()> {
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Standard output as a file of its own (a duplicate of descriptor 1), without
/// `io::stdout()`'s line buffer: that buffer takes the bytes after the last newline and says
/// they were written, so a pcap record could count as delivered while it still waited in
/// it, and be lost when the output then failed. The sink's own buffer is the only one.
pub fn stdout() -> Result<File> {
    let fd = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .context("standard output is not open: give -w a FILE")?;
    Ok(File::from(fd))
}

/// One destination of the captured packets, written by a thread of its own: a
/// [`format::Sink`] that also accounts for what it was handed.
///
/// A packet handed to [`write`](format::Sink::write) may wait in the output (a buffer, a
/// transaction, a backlog while a server is away) until a flush or the finish;
/// [`delivered`](Output::delivered) counts only the packets that reached their
/// destination, and [`dropped`](Output::dropped) those the output gave up on, by reason. A
/// packet handed to it and in neither count when it ends was lost with the output (its
/// error says why).
pub trait Output: format::Sink + Send {
    /// The packets that reached the destination.
    fn delivered(&self) -> u64;

    /// The packets the output dropped itself, each count with its reason (words that
    /// follow "N packets" in the statistics); none by default.
    fn dropped(&self) -> Vec<Dropped> {
        Vec::new()
    }

    /// The packets the output dropped itself, every reason together: what
    /// [`dropped`](Output::dropped) adds up to, without building its list (the writer
    /// asks after every packet).
    fn dropped_packets(&self) -> u64 {
        self.dropped().iter().map(|d| d.packets).sum()
    }

    /// [`delivered`](Output::delivered) and [`dropped_packets`](Output::dropped_packets),
    /// each read once, in one call: what the writer asks after every packet.
    fn counts(&self) -> (u64, u64) {
        (self.delivered(), self.dropped_packets())
    }

    /// Work of its own, done while its writer waits for packets (a file reopened on
    /// SIGHUP); nothing by default.
    ///
    /// # Errors
    ///
    /// The error that ended the output.
    fn idle(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Packets an output dropped itself, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// How many.
    pub packets: u64,
    /// Why, as the words after "N packets" in the statistics.
    pub reason: String,
}

/// What one output did so far, updated as it goes and readable from any thread: what the
/// closing watchdog and the metrics endpoint see of it. The closing statistics take their
/// figures from the output and its queue themselves, once both ended.
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets handed to the output by its writer.
    pub handed: AtomicU64,
    /// Packets the output delivered, as of the last one handed to it.
    pub written: AtomicU64,
    /// Packets the output dropped itself (see [`Output::dropped`]), as of the same packet.
    pub dropped: AtomicU64,
    /// The same by reason, as [`Output::dropped`] gave them when `dropped` last changed.
    pub dropped_by_reason: Mutex<Vec<Dropped>>,
    /// Packets dropped because the output's queue was full.
    pub queue_dropped: AtomicU64,
    /// Packets the output's filter left out.
    pub filtered: AtomicU64,
    /// Errors that ended the output: 0 or 1.
    pub errors: AtomicU64,
    /// Bytes of chunks waiting in the output's queue.
    pub queue_bytes: AtomicU64,
}

impl Counters {
    /// Notes where the output stands after a packet was handed to it.
    #[inline(always)]
    pub fn note<O: Output + ?Sized>(&self, handed: u64, output: &O) {
        // Each count read once: an output whose counts move on a thread of its own (a
        // database sink) may deliver more between two reads, and a difference of two
        // reads could underflow.
        let (written, dropped) = output.counts();
        self.handed.store(handed, Ordering::Relaxed);
        self.written.store(written, Ordering::Relaxed);
        // Perf: the reasons only when the count moved, not a list built per packet, and
        // apart (cold), so that the rest inlines into the writer's loop; one thread writes
        // the count, so a load and a store.
        if self.dropped.load(Ordering::Relaxed) != dropped {
            self.note_dropped(dropped, output.dropped());
        }
    }

    /// Notes that the output dropped `dropped` packets in all, for `reasons`.
    #[cold]
    fn note_dropped(&self, dropped: u64, reasons: Vec<Dropped>) {
        *self
            .dropped_by_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = reasons;
        self.dropped.store(dropped, Ordering::Relaxed);
    }
}

/// Packets handed to an output and accounted for by it: delivered, or dropped with a
/// reason. (The command reads each count once where it needs both: see [`Counters::note`].)
#[cfg(test)]
pub fn accounted(output: &dyn Output) -> u64 {
    output.delivered() + output.dropped_packets()
}

/// The buffered output of a sink: a 256 KiB buffer over a count of the bytes the system
/// accepted. The bytes the formats produced are those the system accepted and those still
/// in the buffer.
type Out = BufWriter<Counted<Box<dyn Write + Send>>>;

/// A format over its buffered output, one variant for each the command writes.
///
/// Perf: a packet goes from the sink to its format through a `match` the compiler inlines,
/// not a call through a vtable, and the sink reads the buffer's counts directly.
enum Format {
    Text(Lines<TextFormat, Out>),
    Json(Lines<JsonFormat, Out>),
    Xml(Lines<XmlFormat, Out>),
    Pcap(PcapWriter<Out>),
    Pcapng(PcapngWriter<Out>),
}

/// `$body` with `$w` bound to the format of whichever variant `$format` is.
macro_rules! each_format {
    ($format:expr, $w:ident => $body:expr) => {
        match $format {
            Format::Text($w) => $body,
            Format::Json($w) => $body,
            Format::Xml($w) => $body,
            Format::Pcap($w) => $body,
            Format::Pcapng($w) => $body,
        }
    };
}

impl Format {
    /// The buffered output.
    #[inline]
    fn out(&mut self) -> &mut Out {
        each_format!(self, w => w.get_mut())
    }
}

/// A format with its output, and which of the packets written reached the system.
///
/// A packet handed to [`write`](Sink::write) sits in a buffer until a flush, or until the
/// buffer is full; when the output fails (a full disk), the packets still in the buffer
/// never reach the file. [`delivered`](Sink::delivered) counts only the packets whose last
/// byte the system accepted.
pub struct Sink {
    /// The format with its output.
    format: Format,
    /// Bytes produced by the formats (headers included), as of the last write or flush.
    produced: u64,
    /// Where each packet written ends, in produced bytes: those before `settled` are
    /// delivered, the others not yet known to be. Emptied whenever all are delivered.
    pending: Vec<u64>,
    settled: usize,
    /// The bytes the system had accepted when `pending` was last settled: until that count
    /// moves, no packet can have become delivered.
    settled_at: u64,
    delivered: u64,
    /// Whether records are bare IP packets (`--linktype raw` to pcap or pcapng).
    raw: bool,
    /// Packets not written because they are not IP, which raw records cannot hold.
    skipped: u64,
}

impl Sink {
    /// Starts writing `format` to `out` (the file header, for pcap and pcapng).
    pub fn new(
        format: OutputFormat,
        linktype: LinkTypeArg,
        out: Box<dyn Write + Send>,
    ) -> io::Result<Sink> {
        Sink::with_groups(format, linktype, out, &[])
    }

    /// Starts writing `format` to `out`; a pcapng file also describes the interface of
    /// each of `groups` after its section header, so that a file no packet reaches (a
    /// rotation's idle window) is still one tcpdump and tshark read. Groups not given get
    /// theirs at their first packet.
    pub fn with_groups(
        format: OutputFormat,
        linktype: LinkTypeArg,
        out: Box<dyn Write + Send>,
        groups: &[u16],
    ) -> io::Result<Sink> {
        let out: Out = BufWriter::with_capacity(256 * 1024, Counted::new(out));
        let link_type = match linktype {
            LinkTypeArg::Nflog => LinkType::Nflog,
            LinkTypeArg::Raw => LinkType::Raw,
        };
        let raw = link_type == LinkType::Raw
            && matches!(format, OutputFormat::Pcap | OutputFormat::Pcapng);
        let format = match format {
            OutputFormat::Text => Format::Text(Lines::new(TextFormat::new(), out)),
            OutputFormat::Json => Format::Json(Lines::new(JsonFormat::new(), out)),
            OutputFormat::Xml => Format::Xml(Lines::new(XmlFormat::new(), out)),
            OutputFormat::Pcap => Format::Pcap(PcapWriter::new(out, link_type)?),
            OutputFormat::Pcapng => {
                let mut writer = PcapngWriter::new(out, link_type)?;
                for &group in groups {
                    writer.interface(group)?;
                }
                Format::Pcapng(writer)
            }
        };
        let mut sink = Sink {
            format,
            produced: 0,
            pending: Vec::new(),
            settled: 0,
            settled_at: 0,
            delivered: 0,
            raw,
            skipped: 0,
        };
        sink.settled_at = sink.look();
        Ok(sink)
    }

    /// The bytes the format produced so far, its header included: the size of the file
    /// once flushed (tcpdump's `-C` compares it, buffer included, with the limit).
    pub fn bytes(&self) -> u64 {
        self.produced
    }

    /// Notes the bytes produced so far; returns those the system accepted.
    #[inline]
    fn look(&mut self) -> u64 {
        let out = self.format.out();
        let accepted = out.get_ref().count;
        self.produced = accepted + out.buffer().len() as u64;
        accepted
    }

    /// Counts the packets that reached the system, now that it accepted `accepted` bytes.
    #[inline]
    fn settle(&mut self, accepted: u64) {
        self.settled_at = accepted;
        while let Some(&end) = self.pending.get(self.settled) {
            if end > accepted {
                break;
            }
            self.settled += 1;
            self.delivered += 1;
        }
        if self.settled == self.pending.len() {
            self.pending.clear();
            self.settled = 0;
        }
    }
}

impl format::Sink for Sink {
    #[inline]
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        if self.raw && format::raw_ip(packet).is_none() {
            // Not written, so not delivered: counted apart, and said in the statistics.
            self.skipped += 1;
            return Ok(());
        }
        let written =
            each_format!(&mut self.format, w => format::Sink::write(w, packet, received, names));
        let accepted = self.look();
        if written.is_ok() {
            self.pending.push(self.produced);
        }
        // Perf: a packet's write moves the accepted count only when it empties the buffer
        // into the file (once per 256 KiB); until then nothing settles: no walk of
        // `pending` per packet (figures: docs/benchmarks.md, "Code shaped for speed"). A
        // record just written ends past what was accepted before it, in the buffer.
        if accepted != self.settled_at {
            self.settle(accepted);
        }
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = each_format!(&mut self.format, w => format::Sink::flush(w));
        let accepted = self.look();
        self.settle(accepted);
        flushed
    }

    /// Ends the output: the pcapng statistics of each group, then a flush.
    fn finish(&mut self, groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        let finished = each_format!(&mut self.format, w => format::Sink::finish(w, groups));
        let accepted = self.look();
        self.settle(accepted);
        finished
    }
}

impl Output for Sink {
    /// The packets written whose every byte the system accepted: all of them after a
    /// successful flush, fewer when the output failed.
    fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The packets not written because they are not IP and the records are bare IP
    /// packets (`--linktype raw`).
    fn dropped(&self) -> Vec<Dropped> {
        if self.skipped == 0 {
            return Vec::new();
        }
        vec![Dropped {
            packets: self.skipped,
            reason: "skipped: not IP, which --linktype raw cannot hold".to_string(),
        }]
    }

    fn dropped_packets(&self) -> u64 {
        self.skipped
    }

    #[inline]
    fn counts(&self) -> (u64, u64) {
        (self.delivered, self.skipped)
    }
}

/// A writer that counts the bytes its inner writer accepted. (`write_all` is left to the
/// default, which calls `write`: each accepted byte is counted even when a later one fails.)
///
/// After its inner writer failed it takes nothing more: a `BufWriter` dropped after a
/// failure retries its flush, which could append part of a record to the output after the
/// statistics were printed, bytes no count would include.
struct Counted<W> {
    inner: W,
    /// The bytes `inner` accepted.
    count: u64,
    failed: bool,
}

impl<W> Counted<W> {
    fn new(inner: W) -> Self {
        Counted {
            inner,
            count: 0,
            failed: false,
        }
    }

    /// Notes a failure that ends the output: not an interrupted call, which is retried.
    fn check<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            self.failed |= e.kind() != io::ErrorKind::Interrupted;
        }
        result
    }
}

/// What a [`Counted`] writer says once its output has failed.
fn failed_before() -> io::Error {
    io::Error::other("the output failed before")
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(failed_before());
        }
        let written = self.inner.write(bytes);
        let n = self.check(written)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(failed_before());
        }
        let flushed = self.inner.flush();
        self.check(flushed)
    }
}

/// Writes `bytes` to standard output; a reader that went away (`| head`) is not an error.
pub fn print(bytes: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(write_error),
    }
}

/// Whether an error is the reader of our output going away (`| head`): not a failure.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// A write error, with what to do about it when there is something to do.
pub fn write_error(e: io::Error) -> anyhow::Error {
    let hint = if e.raw_os_error() == Some(28) {
        ": the disk is full (ENOSPC); free some space or write elsewhere"
    } else {
        ""
    };
    anyhow::Error::new(e).context(format!("writing the output failed{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nflog::format::Numeric;
    use nflog::format::Sink as _;
    use nflog::Family;
    use std::sync::{Arc, Mutex};

    /// A disk that holds `room` bytes, then is full until the test gives it more room; what
    /// it holds and its room are shared with the test.
    struct SmallDisk {
        held: Held,
        room: Arc<Mutex<usize>>,
    }

    /// What a [`SmallDisk`] holds, shared with the test.
    type Held = Arc<Mutex<Vec<u8>>>;

    impl SmallDisk {
        /// A disk of `room` bytes, with handles to what it holds and to its room.
        fn new(room: usize) -> (SmallDisk, Held, Arc<Mutex<usize>>) {
            let held = Arc::new(Mutex::new(Vec::new()));
            let room = Arc::new(Mutex::new(room));
            let disk = SmallDisk {
                held: Arc::clone(&held),
                room: Arc::clone(&room),
            };
            (disk, held, room)
        }
    }

    impl Write for SmallDisk {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut held = self.held.lock().unwrap();
            let room = *self.room.lock().unwrap();
            let n = bytes.len().min(room.saturating_sub(held.len()));
            if n == 0 && !bytes.is_empty() {
                return Err(io::Error::from_raw_os_error(28));
            }
            held.extend_from_slice(&bytes[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A packet message body of group 5 with `len` payload bytes.
    fn body(len: usize) -> Vec<u8> {
        nflog::PacketRepr {
            group: 5,
            hook: 3,
            payload: Some(vec![0x45; len]),
            ..nflog::PacketRepr::default()
        }
        .to_bytes()
    }

    /// Writes `packets` packets of `len` payload bytes through a sink of `format` onto a
    /// disk of `room` bytes, flushing after each `flush_every`; returns what the sink says
    /// was delivered, what the disk holds, and whether writing failed.
    fn fill(format: OutputFormat, room: usize, packets: usize, len: usize) -> (u64, Vec<u8>, bool) {
        let (disk, held, _) = SmallDisk::new(room);
        let mut sink = Sink::new(format, LinkTypeArg::Nflog, Box::new(disk)).unwrap();
        let bytes = body(len);
        let packet = Packet::parse(&bytes).unwrap();
        let mut failed = false;
        for i in 0..packets {
            let written = sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric);
            let flushed = if i % 3 == 2 { sink.flush() } else { Ok(()) };
            if written.and(flushed).is_err() {
                failed = true;
                break;
            }
        }
        if !failed {
            failed = sink.finish(&[]).is_err();
        }
        let held = held.lock().unwrap().clone();
        (sink.delivered(), held, failed)
    }

    #[test]
    fn delivered_counts_the_whole_records_on_a_full_disk() {
        // pcap: a 24-byte file header, then records: a 16-byte header, nfgenmsg (4),
        // PACKET_HDR (8) and PAYLOAD (4 + 300).
        let record = 16 + 4 + 8 + 4 + 300;
        for room in [
            24,
            24 + record - 1,
            24 + record,
            24 + 5 * record + 17,
            64 * 1024,
        ] {
            let (delivered, held, failed) = fill(OutputFormat::Pcap, room, 100, 300);
            let whole = (held.len().saturating_sub(24) / record) as u64;
            assert_eq!(delivered, whole, "room {room}");
            assert_eq!(failed, room < 24 + 100 * record, "room {room}");
        }
        // Text: one line per packet, however long.
        let (delivered, held, failed) = fill(OutputFormat::Text, 1000, 50, 20);
        assert!(failed);
        let lines = held.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(delivered, lines);
        assert!(lines > 0);
    }

    #[test]
    fn raw_records_hold_the_ip_packet_and_skip_what_is_not_ip() {
        // Regression: `--linktype raw` wrote netdev egress payloads with their Ethernet
        // header, and ARP, as if they were IP packets.
        let ethernet = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        ip.extend_from_slice(&[0x13, 0x88, 0x13, 0x89, 0, 8, 0, 0]);
        let packet = |family, hw_protocol, hook, l2hdr: Option<&[u8]>, payload: Vec<u8>| {
            nflog::PacketRepr {
                family,
                group: 3,
                hw_protocol,
                hook,
                l2hdr: l2hdr.map(<[u8]>::to_vec),
                payload: Some(payload),
                ..nflog::PacketRepr::default()
            }
            .to_bytes()
        };
        // netdev, egress hook (1): the payload starts with the frame.
        let egress = packet(
            Family::Netdev,
            0x0800,
            1,
            Some(&ethernet),
            [&ethernet[..], &ip].concat(),
        );
        // inet, output hook (3): the payload is the IP packet itself.
        let output = packet(Family::Ipv4, 0x0800, 3, None, ip.clone());
        // arp, input hook: an ARP request, not IP.
        let arp = packet(
            Family::Arp,
            0x0806,
            1,
            None,
            vec![
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0,
            ],
        );
        for format in [OutputFormat::Pcap, OutputFormat::Pcapng] {
            let (disk, held, _) = SmallDisk::new(1 << 20);
            let mut sink = Sink::new(format, LinkTypeArg::Raw, Box::new(disk)).unwrap();
            for body in [&egress, &output, &arp] {
                let packet = Packet::parse(body).unwrap();
                sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                    .unwrap();
            }
            sink.finish(&[]).unwrap();
            assert_eq!(sink.delivered(), 2, "{format:?}");
            assert_eq!(sink.skipped, 1, "{format:?}");
            assert_eq!(accounted(&sink), 3, "{format:?}");
            let held = held.lock().unwrap().clone();
            let mut reader = nflog::pcap::CaptureReader::new(&held[..]).unwrap();
            let mut records = Vec::new();
            while let Some(record) = reader.next_record().unwrap() {
                assert_eq!(record.link_type, LinkType::Raw);
                records.push(record.data.to_vec());
            }
            assert_eq!(records, [ip.clone(), ip.clone()], "{format:?}");
        }
    }

    #[test]
    fn a_line_lost_to_a_full_disk_is_an_error_and_to_a_closed_pipe_is_not() {
        struct Failing(io::ErrorKind);
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(self.0.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let full = say_to(
            &mut Failing(io::ErrorKind::StorageFull),
            "nflog: 1 packets written",
        );
        assert_eq!(full.unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert!(say_to(&mut Failing(io::ErrorKind::BrokenPipe), "nflog: gone").is_ok());
        let mut kept = Vec::new();
        say_to(&mut kept, "nflog: kept").unwrap();
        assert_eq!(kept, b"nflog: kept\n");
    }

    #[test]
    fn nothing_is_written_after_the_output_failed() {
        // Settles issue 15's suspicion: the BufWriter dropped after a failure retried its
        // flush, so when room came back, part of a record landed after the statistics.
        let (disk, held, room) = SmallDisk::new(24 + 1000);
        let mut sink = Sink::new(OutputFormat::Pcap, LinkTypeArg::Nflog, Box::new(disk)).unwrap();
        let bytes = body(300);
        let packet = Packet::parse(&bytes).unwrap();
        for _ in 0..10 {
            sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                .unwrap();
        }
        assert!(sink.flush().is_err(), "the disk is full");
        let delivered = sink.delivered();
        let at_failure = held.lock().unwrap().clone();
        // Room comes back; the command prints its statistics and drops the sink.
        *room.lock().unwrap() = 1 << 20;
        assert!(sink.finish(&[]).is_err(), "a failed output stays failed");
        drop(sink);
        assert_eq!(
            *held.lock().unwrap(),
            at_failure,
            "nothing after the failure"
        );
        assert_eq!(
            delivered, 3,
            "three whole 332-byte records fit in 1000 bytes"
        );
    }

    #[test]
    fn counters_of_an_output_whose_counts_move_never_underflow() {
        // Regression: `note` subtracted the delivered count of one call from delivered +
        // dropped of later calls; an output whose counts move between calls (read from
        // another thread's snapshot, or in-doubt messages taken back from delivered)
        // underflowed it: a panic in debug builds, a count near 2^64 in release.
        struct Moving {
            /// Calls of `delivered` so far: each one finds fewer delivered.
            looks: AtomicU64,
        }
        impl format::Sink for Moving {
            fn write(
                &mut self,
                _: &Packet<&[u8]>,
                _: SystemTime,
                _: &mut dyn ResolveInterface,
            ) -> io::Result<()> {
                Ok(())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl Output for Moving {
            fn delivered(&self) -> u64 {
                100 - 10 * self.looks.fetch_add(1, Ordering::Relaxed)
            }
            fn dropped(&self) -> Vec<Dropped> {
                vec![Dropped {
                    packets: 2,
                    reason: "in doubt".to_string(),
                }]
            }
        }
        let moving = Moving {
            looks: AtomicU64::new(0),
        };
        let counters = Counters::default();
        counters.note(7, &moving);
        assert_eq!(counters.handed.load(Ordering::Relaxed), 7);
        assert_eq!(counters.written.load(Ordering::Relaxed), 100);
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 2);
        counters.note(8, &moving);
        assert_eq!(counters.written.load(Ordering::Relaxed), 90);
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 2);
        assert_eq!(
            *counters.dropped_by_reason.lock().unwrap(),
            moving.dropped(),
            "the reasons, for the metrics"
        );
    }

    #[test]
    fn what_the_command_says_of_a_url_never_shows_its_password() {
        // Regression: `-w postgress://me:secret@db/logs` (a mistyped scheme) printed the
        // password in its error, and a database output's statistics line in its label.
        let args = |w: &[&str]| {
            let argv = ["nflog", "-g", "5"].iter().chain(w).copied();
            crate::cli::parse_from(argv).unwrap().capture.output
        };
        let e = outputs(&args(&["-w", "postgress://me:secret@db/logs"])).unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.starts_with("-w postgress://me:***@db/logs: unknown destination scheme"),
            "{text}"
        );
        let e = outputs(&args(&[
            "-w",
            "postgres://me:secret@db/logs",
            "-F",
            "json",
            "-F",
            "text",
        ]))
        .unwrap_err();
        let text = format!("{e:#}");
        assert!(text.contains("-w postgres://me:***@db/logs"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let specs = outputs(&args(&["-w", "clickhouse://u:secret@h:8123/db?password=x"])).unwrap();
        let shown = specs[0].destination.to_string();
        assert_eq!(shown, "clickhouse://u:***@h:8123/db?password=***");
        assert!(
            matches!(&specs[0].destination, Destination::Clickhouse(url) if url.contains("secret")),
            "the sink still connects with the password"
        );
    }

    #[test]
    fn bytes_are_what_the_file_holds_once_flushed() {
        // The bytes produced are those the system accepted and those in the buffer: -C
        // compares them with its limit before each packet, flushed or not.
        for format in [
            OutputFormat::Pcap,
            OutputFormat::Pcapng,
            OutputFormat::Text,
            OutputFormat::Json,
        ] {
            let (disk, held, _) = SmallDisk::new(usize::MAX);
            let mut sink = Sink::new(format, LinkTypeArg::Nflog, Box::new(disk)).unwrap();
            let mut delivered = 0;
            // Small records, and records of 60,000 bytes that fill the 256 KiB buffer
            // and go through it.
            for (i, len) in [10, 60_000, 20, 60_000, 60_000, 60_000, 60_000, 5]
                .into_iter()
                .enumerate()
            {
                let bytes = body(len);
                let packet = Packet::parse(&bytes).unwrap();
                sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                    .unwrap();
                let produced = sink.bytes();
                let on_disk = held.lock().unwrap().len() as u64;
                assert!(on_disk <= produced, "{format:?}, packet {i}");
                assert!(sink.delivered() >= delivered, "{format:?}, packet {i}");
                delivered = sink.delivered();
                if i % 2 == 1 {
                    sink.flush().unwrap();
                    assert_eq!(held.lock().unwrap().len() as u64, produced, "{format:?}");
                    assert_eq!(sink.bytes(), produced, "{format:?}");
                    assert_eq!(sink.delivered(), i as u64 + 1, "{format:?}");
                }
            }
            sink.finish(&[]).unwrap();
            assert_eq!(
                held.lock().unwrap().len() as u64,
                sink.bytes(),
                "{format:?}"
            );
            assert_eq!(sink.delivered(), 8, "{format:?}");
        }
    }

    #[test]
    fn delivered_follows_the_file_after_each_packet_without_a_flush() {
        // Packets become delivered when a write empties the buffer into the file, not
        // only at a flush: after each packet, the count is the records the file holds.
        // pcap: 300-byte payloads fill the 256 KiB buffer after about 790 records, those
        // of 60,000 bytes after four.
        for (len, packets) in [(300, 3000), (60_000, 20)] {
            let record = 16 + 4 + 8 + 4 + len;
            let (disk, held, _) = SmallDisk::new(usize::MAX);
            let mut sink =
                Sink::new(OutputFormat::Pcap, LinkTypeArg::Nflog, Box::new(disk)).unwrap();
            let bytes = body(len);
            let packet = Packet::parse(&bytes).unwrap();
            for i in 0..packets {
                sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                    .unwrap();
                let whole = (held.lock().unwrap().len().saturating_sub(24) / record) as u64;
                assert_eq!(sink.delivered(), whole, "{len} bytes, packet {i}");
            }
            assert!(
                sink.delivered() > 0,
                "{len} bytes: the buffer went to the file"
            );
        }
        // Text: the lines the file holds.
        let (disk, held, _) = SmallDisk::new(usize::MAX);
        let mut sink = Sink::new(OutputFormat::Text, LinkTypeArg::Nflog, Box::new(disk)).unwrap();
        let bytes = body(300);
        let packet = Packet::parse(&bytes).unwrap();
        let (mut lines, mut seen) = (0, 0);
        for i in 0..3000 {
            sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                .unwrap();
            let held = held.lock().unwrap();
            lines += held[seen..].iter().filter(|&&b| b == b'\n').count() as u64;
            seen = held.len();
            assert_eq!(sink.delivered(), lines, "text, packet {i}");
        }
        assert!(lines > 0, "text: the buffer went to the file");
    }

    #[test]
    fn everything_is_delivered_when_nothing_fails() {
        let (delivered, _, failed) = fill(OutputFormat::Pcapng, 1 << 20, 40, 100);
        assert!(!failed);
        assert_eq!(delivered, 40);
        let (delivered, _, failed) = fill(OutputFormat::Json, 1 << 20, 40, 100);
        assert!(!failed);
        assert_eq!(delivered, 40);
    }

    /// The outputs a command line asks for, or the error.
    fn specs(args: &[&str]) -> std::result::Result<Vec<OutputSpec>, String> {
        let cli = crate::cli::parse_from(std::iter::once("nflog").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        outputs(&cli.capture.output).map_err(|e| e.to_string())
    }

    #[test]
    fn raw_belongs_to_the_database_before_it() {
        let raws = |args: &[&str]| {
            specs(args).map(|specs| specs.iter().map(|s| s.raw).collect::<Vec<_>>())
        };
        assert_eq!(raws(&["-g", "5", "-w", "sqlite:a.db"]), Ok(vec![false]));
        assert_eq!(
            raws(&["-g", "5", "-w", "sqlite:a.db", "--raw"]),
            Ok(vec![true])
        );
        assert_eq!(
            raws(&[
                "-g",
                "5",
                "-w",
                "a.json",
                "-w",
                "postgres://u@h/db",
                "--raw",
                "-w",
                "clickhouse://h:8123/db",
                "-w",
                "sqlite:a.db",
                "--raw",
            ]),
            Ok(vec![false, true, false, true])
        );
        // Before the first -w: the first output's.
        assert_eq!(
            raws(&["-g", "5", "--raw", "-w", "sqlite:a.db"]),
            Ok(vec![true])
        );
        let e = raws(&["-g", "5", "-w", "sqlite:a.db", "-w", "a.json", "--raw"]).unwrap_err();
        assert_eq!(
            e,
            "--raw given for the output -w a.json: --raw adds the packet's bytes to a \
             database's rows: give it after -w sqlite:PATH, postgres://... or clickhouse://..."
        );
        assert!(
            raws(&["-g", "5", "--raw"]).is_err(),
            "standard output has no rows"
        );
    }

    #[test]
    fn a_format_for_a_database_is_refused_and_one_for_the_next_output_is_not() {
        assert_eq!(
            specs(&["-g", "5", "-w", "sqlite:a.db", "-F", "json"]).unwrap_err(),
            "-F json given for the output -w sqlite:a.db: a database stores each packet as a \
             row of typed columns, in no -F format: leave -F out for it (each -F belongs to \
             the -w before it)"
        );
        let ok = specs(&["-g", "5", "-w", "sqlite:a.db", "-w", "b", "-F", "json"]).unwrap();
        assert_eq!(ok[1].format, OutputFormat::Json);
    }
}
