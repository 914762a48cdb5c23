//! File outputs: rotation as tcpdump does it (`-C`, `-G`, `-W`, `-z`), reopening on SIGHUP
//! for logrotate, and line formats appended to (`O_APPEND`).
//!
//! A file output is a [`Sink`] per file: each pcap or pcapng file starts with a header of
//! its own, and a file is closed only between two packets, so text, JSON and XML files
//! hold whole records. What each closed sink delivered is kept, so the packets written add
//! up across files as in a single one.
//!
//! tcpdump's rules, which this follows: `-C` compares the bytes written to the file so far
//! with the limit before each packet (a file exceeds it by at most one record); `-G`
//! starts a new file at the first packet `SECONDS` after the current one began, its name
//! the strftime of `-w` at that time; with `-C` the files are numbered after the name (a
//! ring of `-W` of them, numbered with as many digits as `-W - 1` has), and a new time
//! window starts the numbering again; `-G` with `-W COUNT` and without `-C` ends the
//! capture at the first packet past the COUNT-th window ([`FileLimit`]). `-z COMMAND` runs
//! `COMMAND FILE` on each file closed by a rotation, not waited for.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use chrono::format::{Item, StrftimeItems};
use chrono::{Local, TimeZone};
use nflog::format::{self, ResolveInterface, Sink as _};
use nflog::pcap::InterfaceStats;
use nflog::Packet;

use crate::cli::{LinkTypeArg, OutputFormat, RotateArgs};
use crate::output::{warn, Dropped, Output, Sink};

/// Parses `-C SIZE`: millions of bytes, or with a suffix `k`, `m` or `g` units of 1024,
/// 1024² or 1024³ bytes (tcpdump's units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 1 << 10),
        Some((at, 'm' | 'M')) => (&text[..at], 1 << 20),
        Some((at, 'g' | 'G')) => (&text[..at], 1 << 30),
        _ => (text, 1_000_000),
    };
    let count: u64 = digits.parse().map_err(|_| {
        format!("`{text}` is not a size: give a whole number of millions of bytes, or one with a suffix k, m or g (-C 100, -C 512k)")
    })?;
    match count.checked_mul(unit) {
        Some(0) => Err("a file size of 0 would hold nothing: give 1 or more".to_string()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{text}` is too large a size")),
    }
}

/// Refuses rotation options that mean nothing with the rest, before anything is opened;
/// `files` are the file outputs (`-w FILE`).
pub fn check_options(rotate: &RotateArgs, files: &[&Path]) -> Result<()> {
    let rotating = rotate.file_size.is_some() || rotate.rotate_seconds.is_some();
    if rotating && files.is_empty() {
        bail!(
            "-C and -G rotate files: give -w FILE (standard output and the other destinations \
             do not rotate)"
        );
    }
    if rotate.file_count.is_some() && !rotating {
        bail!(
            "-W COUNT keeps a ring of COUNT files that -C fills, or ends the capture after \
             COUNT files of -G: give -C SIZE or -G SECONDS as well"
        );
    }
    if rotate.post_rotate.is_some() && !rotating {
        bail!("-z runs a command on each file closed by a rotation: give -C or -G as well");
    }
    if rotate.rotate_seconds.is_none() {
        return Ok(());
    }
    for path in files {
        let Some(template) = path.to_str() else {
            bail!(
                "-G puts the time in the name of -w with strftime, and {} is not UTF-8: \
                 choose a UTF-8 name",
                path.display()
            );
        };
        if StrftimeItems::new(template).any(|item| item == Item::Error) {
            bail!(
                "-w {template}: not a valid strftime name for -G (a `%` must start a \
                 conversion such as %Y, %m, %d, %H, %M, %S; write %% for a `%`)"
            );
        }
    }
    Ok(())
}

/// Requests to reopen the file outputs (SIGHUP), shared by the signal thread and every
/// file output: a count of the requests, which each output compares with the last it
/// served.
#[derive(Debug, Clone, Default)]
pub struct Reopen(Arc<AtomicU64>);

impl Reopen {
    /// Asks every file output to reopen its file: before its next packet, or when its
    /// writer has waited a while for one.
    pub fn request(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    /// The requests so far.
    #[inline]
    fn requests(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// The time windows of `-G`: the first begins when the capture starts, each next one at
/// the first packet `seconds` or more after the one before began (tcpdump's rule).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    seconds: u64,
    /// When the current window began, in seconds since the epoch.
    began: i64,
}

impl Windows {
    /// Windows of `seconds`, the first beginning at `start`.
    pub fn new(seconds: u64, start: SystemTime) -> Windows {
        Windows {
            seconds,
            began: unix_seconds(start),
        }
    }

    /// Whether a packet at `now` begins a new window; if it does, the window begins.
    pub fn turn(&mut self, now: SystemTime) -> bool {
        let now = unix_seconds(now);
        let over =
            now.saturating_sub(self.began) >= i64::try_from(self.seconds).unwrap_or(i64::MAX);
        if over {
            self.began = now;
        }
        over
    }
}

/// tcpdump's `-G SECONDS -W COUNT` without `-C`: the capture ends at the first packet past
/// its COUNT-th window, so that each file output writes COUNT files; that packet, and the
/// others received with it, are not written.
#[derive(Debug, Clone, Copy)]
pub struct FileLimit {
    windows: Windows,
    /// The windows that began after the first.
    turns: u32,
    count: u32,
}

impl FileLimit {
    /// The limit `rotate` asks for, the first window beginning at `start` (as the file
    /// outputs' do); `None` unless `-G` and `-W` are given without `-C`.
    pub fn new(rotate: &RotateArgs, start: SystemTime) -> Option<FileLimit> {
        match (rotate.rotate_seconds, rotate.file_count, rotate.file_size) {
            (Some(seconds), Some(count), None) => Some(FileLimit {
                windows: Windows::new(seconds, start),
                turns: 0,
                count,
            }),
            _ => None,
        }
    }

    /// Whether packets received at `now` are past the last window: the capture ends
    /// before them.
    pub fn reached(&mut self, now: SystemTime) -> bool {
        if self.windows.turn(now) {
            self.turns += 1;
        }
        self.turns >= self.count
    }

    /// What to say when the capture ends at the limit, leaving `unwritten` packets
    /// received (tcpdump's "Maximum file limit reached").
    pub fn ended(&self, unwritten: u64) -> String {
        format!(
            "nflog: -G {} -W {}: the capture ends with its last file; {unwritten} packets \
             received after the last window are not written",
            self.windows.seconds, self.count,
        )
    }
}

/// A file output that rotates and reopens.
pub struct FileOutput {
    /// The current file's sink; `None` after a rotation failed to open the next file.
    sink: Option<Sink>,
    /// Packets delivered and dropped by the sinks of files already closed.
    delivered_before: u64,
    dropped_before: Vec<Dropped>,
    /// The packets of `dropped_before`, every reason together.
    dropped_before_packets: u64,
    /// The file, its names and when to turn to the next.
    file: Rotated,
}

/// What a file output keeps to rotate and reopen.
struct Rotated {
    /// The name `-w` gave.
    template: PathBuf,
    format: OutputFormat,
    linktype: LinkTypeArg,
    /// The current file's name.
    path: PathBuf,
    /// The capture's groups, whose interfaces each pcapng file describes from its start.
    groups: Vec<u16>,
    /// The current file's device and inode: whether `path` still names it.
    id: (u64, u64),
    size: Option<u64>,
    /// With `-G`: the time windows, the current one's beginning.
    windows: Option<Windows>,
    /// With `-C`: the number of the ring (`-W`), the digits of a file's number.
    count: Option<u32>,
    digits: usize,
    /// The number of the current file, in `-C`'s sequence.
    number: u32,
    command: Option<OsString>,
    /// Commands of `-z` still running; reaped when they end, never waited for.
    children: Vec<(Child, PathBuf)>,
    reopen: Reopen,
    /// The reopen requests served so far.
    served: u64,
}

impl FileOutput {
    /// Opens the first file of `path` (named as `-G` and `-C` say) and starts `format` in
    /// it; its reopening follows `reopen`. `now` begins the first time window. Each pcapng
    /// file describes the interfaces of `groups` from its start, so that one no packet
    /// reached (an idle `-G` window) is still a capture file tcpdump reads.
    pub fn open(
        path: &Path,
        format: OutputFormat,
        linktype: LinkTypeArg,
        rotate: &RotateArgs,
        reopen: Reopen,
        now: SystemTime,
        groups: &[u16],
    ) -> Result<FileOutput> {
        let digits = match (rotate.file_size, rotate.file_count) {
            (Some(_), Some(count)) => ring_digits(count),
            _ => 0,
        };
        let windows = rotate
            .rotate_seconds
            .map(|seconds| Windows::new(seconds, now));
        let rotating = rotate.file_size.is_some() || rotate.rotate_seconds.is_some();
        let name = file_name(path, windows.map(|w| w.began), 0, digits);
        // A rotated file starts empty, as tcpdump's; a single file of lines is appended to.
        let (file, id) = open_file(&name, format, rotating).with_context(|| {
            format!(
                "cannot write {}: choose a writable path for -w (or - for standard output)",
                name.display()
            )
        })?;
        let served = reopen.requests();
        let sink = Sink::with_groups(format, linktype, Box::new(file), groups)
            .with_context(|| format!("writing the header of {}", name.display()))?;
        Ok(FileOutput {
            sink: Some(sink),
            delivered_before: 0,
            dropped_before: Vec::new(),
            dropped_before_packets: 0,
            file: Rotated {
                template: path.to_path_buf(),
                format,
                linktype,
                path: name,
                groups: groups.to_vec(),
                id,
                size: rotate.file_size,
                windows,
                count: rotate.file_size.and(rotate.file_count),
                digits,
                number: 0,
                command: rotate.post_rotate.clone(),
                children: Vec::new(),
                reopen,
                served,
            },
        })
    }

    /// The name of the current file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// The directory where rotation (-C, -G) makes the next files, when the output rotates:
    /// the user the capture runs as must be able to write it.
    pub fn rotates_in(&self) -> Option<&Path> {
        let file = &self.file;
        if file.size.is_none() && file.windows.is_none() {
            return None;
        }
        Some(directory_of(&file.path))
    }

    /// The current sink.
    #[inline]
    fn sink(&mut self) -> io::Result<&mut Sink> {
        self.sink.as_mut().ok_or_else(no_file)
    }

    /// Moves to the next file when it is time: a reopen asked for, the time window over,
    /// the file full (in that order: a new time window starts a file anyway).
    #[inline]
    fn turn(&mut self, now: SystemTime) -> io::Result<()> {
        self.reopen_if_asked()?;
        // Perf: a file that neither -G nor -C rotates goes on without a look at the time or
        // the size, in the caller.
        if self.file.windows.is_none() && self.file.size.is_none() {
            return Ok(());
        }
        self.turn_when_due(now)
    }

    /// [`turn`](Self::turn) for a file that rotates, once a reopen is served.
    fn turn_when_due(&mut self, now: SystemTime) -> io::Result<()> {
        let file = &mut self.file;
        if let Some(windows) = &mut file.windows {
            if windows.turn(now) {
                file.number = 0;
                let name = file_name(&file.template, Some(windows.began), 0, file.digits);
                return self.rotate(name);
            }
        }
        let written = self.sink.as_ref().map_or(0, Sink::bytes);
        if file.size.is_some_and(|limit| written > limit) {
            file.number += 1;
            if file.count.is_some_and(|count| file.number >= count) {
                file.number = 0;
            }
            let window = file.windows.map(|w| w.began);
            let name = file_name(&file.template, window, file.number, file.digits);
            return self.rotate(name);
        }
        Ok(())
    }

    /// Reopens the file if a reopen was asked for since the last.
    #[inline]
    fn reopen_if_asked(&mut self) -> io::Result<()> {
        let requests = self.file.reopen.requests();
        if requests == self.file.served {
            return Ok(());
        }
        self.file.served = requests;
        self.reopen()
    }

    /// Closes the current file, hands it to `-z`, and starts `name`, empty.
    fn rotate(&mut self, name: PathBuf) -> io::Result<()> {
        let closed = self.close()?;
        let file = &mut self.file;
        if let Some(command) = &file.command {
            file.children
                .retain_mut(|(child, path)| !reaped(child, path, command));
            match Command::new(command)
                .arg(&closed)
                .stdin(Stdio::null())
                .spawn()
            {
                Ok(child) => file.children.push((child, closed)),
                Err(e) => warn(&format!(
                    "nflog: -z: cannot run {} {}: {e}",
                    command.to_string_lossy(),
                    closed.display()
                )),
            }
        }
        self.start(name, true)
    }

    /// Reopens the current file by its name (logrotate moved it, or made a new one): a file
    /// of lines is appended to; a pcap or pcapng file the name still names is kept, else a
    /// new one starts with its header.
    #[cold]
    fn reopen(&mut self) -> io::Result<()> {
        let file = &self.file;
        let binary = matches!(file.format, OutputFormat::Pcap | OutputFormat::Pcapng);
        if binary {
            let same = std::fs::metadata(&file.path).is_ok_and(|m| (m.dev(), m.ino()) == file.id);
            if same {
                // Nothing moved: the file goes on, and a header in its middle would damage it.
                return self.sink()?.flush();
            }
        }
        let name = file.path.clone();
        self.close()?;
        self.start(name, binary)
    }

    /// Ends the current file's sink (a flush: its packets are delivered or the error says
    /// why) and counts what it delivered; returns the file's name.
    fn close(&mut self) -> io::Result<PathBuf> {
        let path = self.file.path.clone();
        if let Some(mut sink) = self.sink.take() {
            let finished = sink.finish(&[]);
            self.delivered_before += sink.delivered();
            for dropped in sink.dropped() {
                self.dropped_before_packets += dropped.packets;
                add_dropped(&mut self.dropped_before, dropped);
            }
            finished?;
        }
        Ok(path)
    }

    /// Opens `name` (emptied when `fresh`) and starts a sink in it.
    fn start(&mut self, name: PathBuf, fresh: bool) -> io::Result<()> {
        let file = &mut self.file;
        let (opened, id) = open_file(&name, file.format, fresh)
            .map_err(|e| io::Error::new(e.kind(), cannot_open(&name, &e)))?;
        file.path = name;
        file.id = id;
        self.sink = Some(Sink::with_groups(
            file.format,
            file.linktype,
            Box::new(opened),
            &file.groups,
        )?);
        Ok(())
    }
}

/// What a file output without a file says: the error of its last rotation ended it.
#[cold]
fn no_file() -> io::Error {
    io::Error::other("the output has no file: opening the next one failed before")
}

impl format::Sink for FileOutput {
    /// Writes one packet, to the next file when a reopen was asked for or the current file
    /// is full or old enough; `received` stands in for packets without a kernel timestamp,
    /// and is the time `-G` goes by.
    // Perf: always inlined into the writer's loop over a chunk (`Tally::write_chunk`), its
    // one caller per packet, where the compiler's own choice flipped with small changes
    // around it (figures: docs/benchmarks.md, "Code shaped for speed").
    #[inline(always)]
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        self.turn(received)?;
        self.sink()?.write(packet, received, names)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink()?.flush()
    }

    /// Ends the output: the pcapng statistics of each group in the last file, then a flush.
    fn finish(&mut self, groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        self.sink()?.finish(groups)
    }
}

impl Output for FileOutput {
    /// The packets written whose every byte the system accepted, in every file.
    fn delivered(&self) -> u64 {
        self.delivered_before + self.sink.as_ref().map_or(0, Sink::delivered)
    }

    /// What the sinks of every file dropped, by reason.
    fn dropped(&self) -> Vec<Dropped> {
        let mut all = self.dropped_before.clone();
        for dropped in self.sink.as_ref().map(Sink::dropped).unwrap_or_default() {
            add_dropped(&mut all, dropped);
        }
        all
    }

    /// [`dropped`](Output::dropped)'s sum, without building its list: the writer asks
    /// after every packet.
    fn dropped_packets(&self) -> u64 {
        self.dropped_before_packets + self.sink.as_ref().map_or(0, Output::dropped_packets)
    }

    #[inline]
    fn counts(&self) -> (u64, u64) {
        let (delivered, dropped) = self.sink.as_ref().map_or((0, 0), Output::counts);
        // Perf: the files before counted as one number, not summed by reason for every
        // packet the writer notes.
        (
            self.delivered_before + delivered,
            self.dropped_before_packets + dropped,
        )
    }

    /// Reopens the file when SIGHUP asked for it, without waiting for a packet.
    fn idle(&mut self) -> io::Result<()> {
        self.reopen_if_asked()
    }
}

/// The directory of `file` (`.` for a bare name).
fn directory_of(file: &Path) -> &Path {
    file.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Why the next file `name` could not be opened; for a directory the capture's user cannot
/// write (it switched users with -Z, the directory is root's), what to do about it.
fn cannot_open(name: &Path, e: &io::Error) -> String {
    if e.kind() != io::ErrorKind::PermissionDenied {
        return format!("opening {}: {e}", name.display());
    }
    format!(
        "cannot create {}: {e}: nflog runs as uid {} (the -Z user, if given), which needs \
         write access to {} to make new files there (-C, -G, and SIGHUP once the file was \
         moved): give that user the directory, or choose -w in one it can write",
        name.display(),
        nix::unistd::geteuid().as_raw(),
        directory_of(name).display()
    )
}

/// Adds `dropped` to the count of its reason in `all`.
fn add_dropped(all: &mut Vec<Dropped>, dropped: Dropped) {
    match all.iter_mut().find(|d| d.reason == dropped.reason) {
        Some(same) => same.packets += dropped.packets,
        None => all.push(dropped),
    }
}

/// Whether the `-z` command on `path` ended (and was reaped), saying so when it failed.
fn reaped(child: &mut Child, path: &Path, command: &OsStr) -> bool {
    match child.try_wait() {
        Ok(None) => false,
        Ok(Some(status)) => {
            if !status.success() {
                warn(&format!(
                    "nflog: -z: {} {} ended with {status}",
                    command.to_string_lossy(),
                    path.display()
                ));
            }
            true
        }
        Err(_) => true,
    }
}

/// Opens a file of `format`: lines with `O_APPEND`, so that logrotate's copytruncate
/// leaves no hole of NUL bytes where the writer's offset was, and not emptied unless
/// `fresh`; pcap and pcapng emptied, since a header in the middle of a file damages it.
/// Returns the file with its device and inode.
fn open_file(path: &Path, format: OutputFormat, fresh: bool) -> io::Result<(File, (u64, u64))> {
    let file = match format {
        OutputFormat::Pcap | OutputFormat::Pcapng => File::create(path)?,
        OutputFormat::Text | OutputFormat::Json | OutputFormat::Xml => {
            let file = OpenOptions::new().append(true).create(true).open(path)?;
            // O_TRUNC cannot go with O_APPEND in Rust's OpenOptions: empty it after.
            if fresh {
                file.set_len(0)?;
            }
            file
        }
    };
    let meta = file.metadata()?;
    Ok((file, (meta.dev(), meta.ino())))
}

/// The name of a file: `template` through strftime at `window` (with `-G`), then the file's
/// `number` with `digits` digits, unless both are 0 (tcpdump's `MakeFilename`).
fn file_name(template: &Path, window: Option<i64>, number: u32, digits: usize) -> PathBuf {
    let mut name = match (window, template.to_str()) {
        (Some(seconds), Some(text)) => strftime(text, seconds)
            .map(OsString::from)
            .unwrap_or_else(|| template.as_os_str().to_owned()),
        _ => template.as_os_str().to_owned(),
    };
    if number != 0 || digits != 0 {
        name.push(format!("{number:0digits$}"));
    }
    PathBuf::from(name)
}

/// `template` through strftime at `seconds` since the epoch, in local time; `None` when
/// the template does not convert ([`check_options`] refused those before).
fn strftime(template: &str, seconds: i64) -> Option<String> {
    let time = Local.timestamp_opt(seconds, 0).earliest()?;
    let mut name = String::new();
    write!(
        name,
        "{}",
        time.format_with_items(StrftimeItems::new(template))
    )
    .ok()?;
    Some(name)
}

/// The digits of the numbers of a ring of `count` files: those of `count - 1` (tcpdump's
/// `getWflagChars`), none for a ring of one.
fn ring_digits(count: u32) -> usize {
    let mut left = count.saturating_sub(1);
    let mut digits = 0;
    while left > 0 {
        digits += 1;
        left /= 10;
    }
    digits
}

/// Seconds since the epoch (negative before it).
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nflog::format::Numeric;
    use nflog::pcap::CaptureReader;
    use std::time::Duration;

    /// A packet message body of group 5 whose payload is `id` repeated `len` times.
    fn body(id: u8, len: usize) -> Vec<u8> {
        nflog::PacketRepr {
            group: 5,
            hook: 3,
            payload: Some(vec![id; len]),
            ..nflog::PacketRepr::default()
        }
        .to_bytes()
    }

    /// Writes the packets `ids` with `len` payload bytes to `out`, each at `time(id)`.
    fn write_packets(
        out: &mut FileOutput,
        ids: std::ops::Range<u8>,
        len: usize,
        time: impl Fn(u8) -> SystemTime,
    ) {
        for id in ids {
            let bytes = body(id, len);
            let packet = Packet::parse(&bytes).unwrap();
            out.write(&packet, time(id), &mut Numeric).unwrap();
        }
    }

    /// The payload ids of the records of a pcap or pcapng file, each record checked whole.
    fn record_ids(path: &Path) -> Vec<u8> {
        let bytes = std::fs::read(path).unwrap();
        let mut reader = CaptureReader::new(&bytes[..]).unwrap();
        let mut ids = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            let packet = Packet::parse(record.data).unwrap();
            let payload = packet.payload().unwrap();
            assert!(payload.iter().all(|&b| b == payload[0]), "a whole record");
            ids.push(payload[0]);
        }
        ids
    }

    /// The files of `dir`, by name.
    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn rotate(size: Option<u64>, seconds: Option<u64>, count: Option<u32>) -> RotateArgs {
        RotateArgs {
            file_size: size,
            rotate_seconds: seconds,
            file_count: count,
            post_rotate: None,
        }
    }

    #[test]
    fn sizes_count_as_tcpdump_counts_them() {
        assert_eq!(parse_size("100"), Ok(100_000_000));
        assert_eq!(parse_size("512k"), Ok(512 * 1024));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("0").unwrap_err().contains("1 or more"));
        assert!(parse_size("ten").unwrap_err().contains("not a size"));
        assert!(parse_size("k").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("18446744073709551615k").is_err());
    }

    #[test]
    fn files_are_named_as_tcpdump_names_them() {
        assert_eq!(ring_digits(1), 0);
        assert_eq!(ring_digits(2), 1);
        assert_eq!(ring_digits(10), 1);
        assert_eq!(ring_digits(11), 2);
        assert_eq!(ring_digits(100), 2);
        assert_eq!(ring_digits(101), 3);
        let template = Path::new("/var/log/x.pcap");
        assert_eq!(file_name(template, None, 0, 0), template);
        assert_eq!(
            file_name(template, None, 3, 0),
            Path::new("/var/log/x.pcap3")
        );
        assert_eq!(
            file_name(template, None, 0, 2),
            Path::new("/var/log/x.pcap00")
        );
        assert_eq!(
            file_name(template, None, 7, 2),
            Path::new("/var/log/x.pcap07")
        );
        // %s is the same in every time zone.
        let timed = Path::new("/l/%s-%%.json");
        assert_eq!(
            file_name(timed, Some(86_400), 0, 0),
            Path::new("/l/86400-%.json")
        );
        assert_eq!(
            file_name(timed, Some(86_400), 1, 1),
            Path::new("/l/86400-%.json1")
        );
        // Without -G the name is taken as it is.
        assert_eq!(file_name(timed, None, 0, 0), timed);
    }

    #[test]
    fn options_that_mean_nothing_together_are_refused() {
        let file = &[Path::new("x.pcap")][..];
        let refused = |r: RotateArgs, w: &[&Path]| check_options(&r, w).unwrap_err().to_string();
        assert!(refused(rotate(Some(1), None, None), &[]).contains("give -w FILE"));
        assert!(refused(rotate(None, None, Some(3)), file).contains("give -C SIZE or -G"));
        // tcpdump's -G -W without -C: COUNT files, then the capture ends.
        check_options(&rotate(None, Some(1), Some(3)), file).unwrap();
        let z = RotateArgs {
            post_rotate: Some("gzip".into()),
            ..RotateArgs::default()
        };
        assert!(refused(z, file).contains("give -C or -G"));
        let bad = &[Path::new("x.pcap"), Path::new("x-%Q.pcap")][..];
        assert!(refused(rotate(None, Some(5), None), bad).contains("not a valid strftime name"));
        check_options(&rotate(Some(1), Some(5), Some(4)), file).unwrap();
        check_options(&RotateArgs::default(), &[]).unwrap();
    }

    #[test]
    fn size_rotation_starts_each_pcap_file_with_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pcap");
        let limit = 2000;
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Pcap,
            LinkTypeArg::Nflog,
            &rotate(Some(limit), None, None),
            Reopen::default(),
            at(0),
            &[5],
        )
        .unwrap();
        write_packets(&mut out, 0..40, 300, |_| at(0));
        out.finish(&[]).unwrap();
        assert_eq!(out.delivered(), 40);
        let names = files(dir.path());
        // 16 + 4 + 8 + 4 + 300 bytes a record, 24 a header: 6 records pass 2000 bytes.
        let expected: Vec<String> = std::iter::once("x.pcap".to_string())
            .chain((1..7).map(|n| format!("x.pcap{n}")))
            .collect();
        assert_eq!(names, expected);
        let mut all = Vec::new();
        for name in &names {
            let file = dir.path().join(name);
            let size = std::fs::metadata(&file).unwrap().len();
            assert!(size <= limit + 332, "{name}: {size} bytes");
            all.extend(record_ids(&file));
        }
        assert_eq!(
            all,
            (0..40).collect::<Vec<u8>>(),
            "every record once, in order"
        );
    }

    #[test]
    fn packets_the_closed_files_dropped_count_in_every_total() {
        // Raw records hold IP packets only: each fourth packet, without a payload, is
        // skipped and counted as dropped, most of them by files closed since.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.pcap");
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Pcap,
            LinkTypeArg::Raw,
            &rotate(Some(2000), None, None),
            Reopen::default(),
            at(0),
            &[5],
        )
        .unwrap();
        let bare = nflog::PacketRepr {
            group: 5,
            hook: 3,
            ..nflog::PacketRepr::default()
        }
        .to_bytes();
        for id in 0..40u8 {
            let bytes = if id % 4 == 3 {
                bare.clone()
            } else {
                body(0x45, 300)
            };
            let packet = Packet::parse(&bytes).unwrap();
            out.write(&packet, at(0), &mut Numeric).unwrap();
            let dropped: u64 = out.dropped().iter().map(|d| d.packets).sum();
            assert_eq!(dropped, u64::from(id + 1) / 4, "packet {id}");
            assert_eq!(out.dropped_packets(), dropped, "packet {id}");
            assert_eq!(out.counts(), (out.delivered(), dropped), "packet {id}");
        }
        out.finish(&[]).unwrap();
        assert!(files(dir.path()).len() > 3, "rotated");
        assert_eq!(out.counts(), (30, 10));
    }

    #[test]
    fn a_ring_keeps_its_count_of_files_with_the_latest_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.pcapng");
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Pcapng,
            LinkTypeArg::Nflog,
            &rotate(Some(1000), None, Some(3)),
            Reopen::default(),
            at(0),
            &[5],
        )
        .unwrap();
        write_packets(&mut out, 0..50, 300, |_| at(0));
        out.finish(&[]).unwrap();
        assert_eq!(out.delivered(), 50);
        assert_eq!(
            files(dir.path()),
            ["ring.pcapng0", "ring.pcapng1", "ring.pcapng2"]
        );
        let mut kept: Vec<u8> = files(dir.path())
            .iter()
            .flat_map(|n| record_ids(&dir.path().join(n)))
            .collect();
        kept.sort_unstable();
        // The last files written hold the last records, each whole, none twice.
        let first = kept[0];
        assert_eq!(kept, (first..50).collect::<Vec<u8>>());
        assert!(first > 0, "the oldest records were overwritten");
    }

    #[test]
    fn time_rotation_starts_a_file_per_window_named_by_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t-%s.json");
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Json,
            LinkTypeArg::Nflog,
            &rotate(None, Some(10), None),
            Reopen::default(),
            at(1000),
            &[5],
        )
        .unwrap();
        // Packets at 1000..=1024 seconds, one a second: windows begin at 1000, 1010, 1020.
        write_packets(&mut out, 0..25, 20, |id| at(1000 + u64::from(id)));
        out.finish(&[]).unwrap();
        assert_eq!(out.delivered(), 25);
        assert_eq!(
            files(dir.path()),
            ["t-1000.json", "t-1010.json", "t-1020.json"]
        );
        for (name, lines) in [("t-1000.json", 10), ("t-1010.json", 10), ("t-1020.json", 5)] {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert_eq!(text.lines().count(), lines, "{name}");
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).unwrap();
            }
        }
    }

    /// The block types of a host-order pcapng file, in order, and the interface name
    /// (`if_name`) of each interface description.
    fn pcapng_blocks(path: &Path) -> (Vec<u32>, Vec<String>) {
        let bytes = std::fs::read(path).unwrap();
        let (mut kinds, mut names) = (Vec::new(), Vec::new());
        let mut at = 0;
        while at + 12 <= bytes.len() {
            let word = |i: usize| u32::from_ne_bytes(bytes[i..i + 4].try_into().unwrap());
            let (kind, len) = (word(at), word(at + 4) as usize);
            kinds.push(kind);
            if kind == 1 {
                // if_name, the first option after the 8 fixed bytes of the body.
                let option = at + 16;
                let size = u16::from_ne_bytes([bytes[option + 2], bytes[option + 3]]);
                let value = &bytes[option + 4..option + 4 + usize::from(size)];
                names.push(String::from_utf8(value.to_vec()).unwrap());
            }
            at += len;
        }
        (kinds, names)
    }

    #[test]
    fn a_pcapng_file_of_an_idle_window_describes_the_capture_interfaces() {
        // Regression: a -G window no packet reached left a file of a section header alone,
        // which tcpdump refuses ("no interface description block").
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t-%s.pcapng");
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Pcapng,
            LinkTypeArg::Nflog,
            &rotate(None, Some(10), None),
            Reopen::default(),
            at(1000),
            &[5, 6],
        )
        .unwrap();
        // Nothing in the window of 1000; packets of group 5 in the one of 1020.
        write_packets(&mut out, 0..3, 20, |_| at(1020));
        out.finish(&[]).unwrap();
        assert_eq!(files(dir.path()), ["t-1000.pcapng", "t-1020.pcapng"]);
        let (idle, names) = pcapng_blocks(&dir.path().join("t-1000.pcapng"));
        assert_eq!(
            idle,
            [0x0A0D_0D0A, 1, 1],
            "a section header, then two interfaces"
        );
        assert_eq!(names, ["nflog:5", "nflog:6"]);
        assert!(record_ids(&dir.path().join("t-1000.pcapng")).is_empty());
        let (busy, names) = pcapng_blocks(&dir.path().join("t-1020.pcapng"));
        assert_eq!(busy, [0x0A0D_0D0A, 1, 1, 6, 6, 6]);
        assert_eq!(names, ["nflog:5", "nflog:6"], "the order the capture gave");
        assert_eq!(record_ids(&dir.path().join("t-1020.pcapng")), [0, 1, 2]);
    }

    #[test]
    fn rotate_seconds_with_a_file_count_and_no_size_ends_after_count_windows() {
        assert!(FileLimit::new(&rotate(Some(1), Some(5), Some(2)), at(0)).is_none());
        assert!(FileLimit::new(&rotate(None, Some(5), None), at(0)).is_none());
        let mut limit = FileLimit::new(&rotate(None, Some(10), Some(2)), at(1000)).unwrap();
        // The windows a file output starts for the same packets: 1000, then 1012, then
        // the packet at 1022 would start a third file.
        assert!(!limit.reached(at(1000)));
        assert!(!limit.reached(at(1009)));
        assert!(!limit.reached(at(1012)));
        assert!(!limit.reached(at(1021)));
        assert!(limit.reached(at(1022)));
        let mut one = FileLimit::new(&rotate(None, Some(10), Some(1)), at(1000)).unwrap();
        assert!(!one.reached(at(1005)));
        assert!(one.reached(at(1010)));
        assert_eq!(
            one.ended(7),
            "nflog: -G 10 -W 1: the capture ends with its last file; 7 packets received \
             after the last window are not written"
        );
    }

    #[test]
    fn line_files_are_appended_to_and_survive_copytruncate_without_nul_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, "an earlier line\n").unwrap();
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Text,
            LinkTypeArg::Nflog,
            &RotateArgs::default(),
            Reopen::default(),
            at(0),
            &[5],
        )
        .unwrap();
        write_packets(&mut out, 0..5, 20, |_| at(0));
        out.flush().unwrap();
        let before = std::fs::read_to_string(&path).unwrap();
        assert!(before.starts_with("an earlier line\n"), "not truncated");
        assert_eq!(before.lines().count(), 6);
        // logrotate's copytruncate: copy, then truncate the file under the writer.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        write_packets(&mut out, 5..8, 20, |_| at(0));
        out.finish(&[]).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert!(!after.contains(&0), "no NUL bytes where the old offset was");
        assert_eq!(after.iter().filter(|&&b| b == b'\n').count(), 3);
        assert_eq!(out.delivered(), 8);
    }

    #[test]
    fn reopen_moves_to_a_new_file_and_keeps_an_unmoved_pcap_whole() {
        for format in [OutputFormat::Pcap, OutputFormat::Json] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("cap");
            let reopen = Reopen::default();
            let mut out = FileOutput::open(
                &path,
                format,
                LinkTypeArg::Nflog,
                &RotateArgs::default(),
                reopen.clone(),
                at(0),
                &[5],
            )
            .unwrap();
            write_packets(&mut out, 0..4, 50, |_| at(0));
            // A reopen with nothing moved: the file goes on, with one header.
            reopen.request();
            write_packets(&mut out, 4..6, 50, |_| at(0));
            // logrotate's create: the file is moved, then SIGHUP.
            let moved = dir.path().join("cap.1");
            std::fs::rename(&path, &moved).unwrap();
            reopen.request();
            write_packets(&mut out, 6..10, 50, |_| at(0));
            out.finish(&[]).unwrap();
            assert_eq!(out.delivered(), 10, "{format:?}");
            let count = |p: &Path| match format {
                OutputFormat::Pcap => record_ids(p),
                _ => std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<serde_json::Value>(l)
                            .map(|_| 0)
                            .unwrap()
                    })
                    .collect(),
            };
            assert_eq!(count(&moved).len(), 6, "{format:?}");
            assert_eq!(count(&path).len(), 4, "{format:?}");
            if format == OutputFormat::Pcap {
                assert_eq!(record_ids(&moved), [0, 1, 2, 3, 4, 5]);
                assert_eq!(record_ids(&path), [6, 7, 8, 9]);
            }
        }
    }

    #[test]
    fn post_rotate_command_gets_each_closed_file() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("done.sh");
        std::fs::write(&script, "#!/bin/sh\nmv \"$1\" \"$1.done\"\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let path = logs.join("x.pcap");
        let mut out = FileOutput::open(
            &path,
            OutputFormat::Pcap,
            LinkTypeArg::Nflog,
            &RotateArgs {
                post_rotate: Some(script.into_os_string()),
                ..rotate(Some(1000), None, None)
            },
            Reopen::default(),
            at(0),
            &[5],
        )
        .unwrap();
        write_packets(&mut out, 0..10, 300, |_| at(0));
        out.finish(&[]).unwrap();
        // Three files closed by rotation (x.pcap, x.pcap1, x.pcap2); x.pcap3 is current.
        nflog_test_support::wait_until("the -z commands", || {
            files(&logs) == ["x.pcap.done", "x.pcap1.done", "x.pcap2.done", "x.pcap3"]
        });
        let ids: Vec<u8> = ["x.pcap.done", "x.pcap1.done", "x.pcap2.done", "x.pcap3"]
            .iter()
            .flat_map(|n| record_ids(&logs.join(n)))
            .collect();
        assert_eq!(ids, (0..10).collect::<Vec<u8>>());
    }
}
