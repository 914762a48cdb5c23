//! Where packets go: a file or standard output, in one of the formats.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};
use nflog::format::{JsonFormat, TextFormat, XmlFormat};
use nflog::pcap::{InterfaceStats, LinkType, PcapWriter, PcapngWriter};
use nflog::socket::names::ResolveInterface;
use nflog::Packet;

use crate::cli::{LinkTypeArg, OutputArgs, OutputFormat};

/// The format to use: the one asked for, else guessed from the file name, else text.
pub fn choose_format(args: &OutputArgs) -> OutputFormat {
    if let Some(format) = args.format {
        return format;
    }
    match args
        .write
        .as_deref()
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
    {
        Some("pcap") => OutputFormat::Pcap,
        Some("pcapng") => OutputFormat::Pcapng,
        Some("json") | Some("jsonl") => OutputFormat::Json,
        Some("xml") => OutputFormat::Xml,
        _ => OutputFormat::Text,
    }
}

/// Opens the output named by `-w` (standard output when absent or `-`).
pub fn open(args: &OutputArgs) -> Result<(Box<dyn Write + Send>, bool)> {
    match args.write.as_deref() {
        None => Ok((Box::new(io::stdout()), false)),
        Some(p) if p.as_os_str() == "-" => Ok((Box::new(io::stdout()), false)),
        Some(path) => {
            let file = File::create(path).with_context(|| {
                format!(
                    "cannot write {}: choose a writable path for -w (or - for standard output)",
                    path.display()
                )
            })?;
            Ok((Box::new(file), true))
        }
    }
}

/// A format with its output.
pub enum Sink {
    /// Text lines.
    Text(TextFormat, BufWriter<Box<dyn Write + Send>>),
    /// JSON lines.
    Json(JsonFormat, BufWriter<Box<dyn Write + Send>>),
    /// XML elements.
    Xml(XmlFormat, BufWriter<Box<dyn Write + Send>>),
    /// pcap records.
    Pcap(PcapWriter<BufWriter<Box<dyn Write + Send>>>, LinkType),
    /// pcapng blocks.
    Pcapng(PcapngWriter<BufWriter<Box<dyn Write + Send>>>, LinkType),
}

impl Sink {
    /// Starts writing `format` to `out` (the file header, for pcap and pcapng).
    pub fn new(
        format: OutputFormat,
        linktype: LinkTypeArg,
        out: Box<dyn Write + Send>,
    ) -> io::Result<Sink> {
        let out = BufWriter::with_capacity(256 * 1024, out);
        let link_type = match linktype {
            LinkTypeArg::Nflog => LinkType::Nflog,
            LinkTypeArg::Raw => LinkType::Raw,
        };
        Ok(match format {
            OutputFormat::Text => Sink::Text(TextFormat::new(), out),
            OutputFormat::Json => Sink::Json(JsonFormat::new(), out),
            OutputFormat::Xml => Sink::Xml(XmlFormat::new(), out),
            OutputFormat::Pcap => Sink::Pcap(PcapWriter::new(out, link_type)?, link_type),
            OutputFormat::Pcapng => Sink::Pcapng(PcapngWriter::new(out, link_type)?, link_type),
        })
    }

    /// Writes one packet; `received` stands in for packets without a kernel timestamp.
    pub fn write(
        &mut self,
        packet: &Packet<'_>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        match self {
            Sink::Text(format, out) => format.write(out, packet, received, names),
            Sink::Json(format, out) => format.write(out, packet, received, names),
            Sink::Xml(format, out) => format.write(out, packet, received, names),
            Sink::Pcap(writer, link_type) => {
                let time = packet.timestamp().unwrap_or(received);
                match record_bytes(packet, *link_type) {
                    Some(data) => writer.write_record(time, data, data.len()),
                    None => Ok(()),
                }
            }
            Sink::Pcapng(writer, link_type) => {
                let time = packet.timestamp().unwrap_or(received);
                match record_bytes(packet, *link_type) {
                    Some(data) => writer.write_record(packet.group(), time, data, data.len()),
                    None => Ok(()),
                }
            }
        }
    }

    /// Flushes what was written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Text(_, out) | Sink::Json(_, out) | Sink::Xml(_, out) => out.flush(),
            Sink::Pcap(writer, _) => writer.flush(),
            Sink::Pcapng(writer, _) => writer.flush(),
        }
    }

    /// Ends the output: the pcapng statistics of each group, then a flush.
    pub fn finish(&mut self, groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        if let Sink::Pcapng(writer, _) = self {
            let now = SystemTime::now();
            for (group, stats) in groups {
                writer.write_stats(*group, stats, now)?;
            }
        }
        self.flush()
    }
}

/// The bytes of a record: the NFLOG message body, or the bare IP packet for
/// `--linktype raw` (packets without payload have none).
fn record_bytes<'p>(packet: &Packet<'p>, link_type: LinkType) -> Option<&'p [u8]> {
    match link_type {
        LinkType::Raw => packet.payload(),
        _ => Some(packet.as_bytes()),
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
