//! `nflog read FILE`: print a pcap or pcapng file of NFLOG records, without privileges.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nflog::filter::{Expr, Primitive};
use nflog::format::Numeric;
use nflog::pcap::{CaptureReader, LinkType, ReadError};
use nflog::wire::emit;
use nflog::{Family, Packet, PacketAttr};

use crate::cli::{LinkTypeArg, OutputFormat, ReadArgs};
use crate::output::{self, Destination};

/// Prints every record up to the end of the file, or up to where its framing is lost.
///
/// A record whose contents are damaged is reported (its number and byte offset) and
/// skipped, and reading goes on; the command then exits 1. Records of other link types in a
/// pcapng file are skipped with one note; raw IP records (LINKTYPE_RAW, which `nflog
/// --linktype raw` writes) are decoded and printed as far as they go.
pub fn run(args: &ReadArgs) -> Result<()> {
    let spec = match output::outputs(&args.output)?.as_slice() {
        [one] => one.clone(),
        _ => bail!("nflog read writes one output: give at most one -w"),
    };
    output::check_options(&spec, false)?;
    let filter = read_filter(&args.expression)?;
    let destination = &spec.destination;
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?,
        )
    };
    let name = display_name(&args.file);
    refuse_same_file(args, destination, &name)?;
    let mut reader = CaptureReader::new(BufReader::with_capacity(256 * 1024, input))
        .with_context(|| name.clone())?;
    let format = spec.format;
    let file_output = matches!(format, OutputFormat::Pcap | OutputFormat::Pcapng);
    let nflog_output = file_output && spec.link_type() == LinkTypeArg::Nflog;
    match reader.link_type() {
        // A pcap file declares its one link type up front: refuse it before any output.
        Some(LinkType::Raw) if nflog_output => bail!(
            "{name} holds raw IP packets (link type 101), not NFLOG records: add \
             `--linktype raw` to write them to a capture file"
        ),
        Some(link_type) if !readable(link_type) => bail!(
            "{name} has link type {} (not NFLOG, 239, or raw IP, 101): nflog read reads \
             captures made with `nflog -w` or `tcpdump -i nflog:N -w`",
            link_type.number()
        ),
        _ => {}
    }
    // A file's groups show as its records come.
    let mut sink = output::open_output(&spec, &[])?.output;
    // Interfaces of a file's packets are another machine's, or of a moment gone: show
    // indexes, never names looked up here.
    let mut names = Numeric;
    let mut written = 0u64;
    let mut damaged = 0u64;
    let mut filtered = 0u64;
    // Records of interfaces not printed, by link type: one note at the end.
    let mut skipped: Vec<(u16, u64)> = Vec::new();
    let mut raw_record = Vec::new();
    let outcome: Result<()> = loop {
        if args.output.count.is_some_and(|c| written >= c) {
            break Ok(());
        }
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break Ok(()),
            Err(e @ ReadError::DamagedRecord { .. }) => {
                damaged += 1;
                report(&format!("{name}: {e}"));
                continue;
            }
            Err(e) => {
                let read = reader.records();
                break Err(anyhow::Error::new(e).context(format!("{name}: after {read} records")));
            }
        };
        let data = match record.link_type {
            LinkType::Nflog => record.data,
            LinkType::Raw if !nflog_output => {
                raw_ip_record(&mut raw_record, record.data);
                &raw_record
            }
            other => {
                let number = other.number();
                match skipped.iter_mut().find(|(n, _)| *n == number) {
                    Some((_, count)) => *count += 1,
                    None => skipped.push((number, 1)),
                }
                continue;
            }
        };
        let packet = match Packet::parse(data) {
            Ok(packet) => packet,
            Err(e) => {
                damaged += 1;
                report(&format!(
                    "{name}: record {} at byte {} is damaged: {e}",
                    record.number, record.offset
                ));
                continue;
            }
        };
        if filter
            .as_ref()
            .is_some_and(|f| !f.matches(&packet, &mut names))
        {
            filtered += 1;
            continue;
        }
        if let Err(e) = sink.write(&packet, record.time, &mut names) {
            break Err(output::write_error(e));
        }
        written += 1;
        if args.output.packet_buffered {
            if let Err(e) = sink.flush() {
                break Err(output::write_error(e));
            }
        }
    };
    let flushed = sink.finish(&[]).map_err(output::write_error);
    let outcome = match outcome.and(flushed) {
        Err(e) if output::is_closed_pipe(&e) => return Ok(()),
        other => other,
    };
    if !skipped.is_empty() {
        let (records, types) = skipped
            .iter()
            .fold((0, Vec::new()), |(sum, mut types), (n, c)| {
                types.push(n.to_string());
                (sum + c, types)
            });
        let reason = if nflog_output {
            "not NFLOG, which a capture file of link type NFLOG holds"
        } else {
            "neither NFLOG nor raw IP"
        };
        let types = types.join(", ");
        if outcome.is_ok() && written == 0 && damaged == 0 {
            // Nothing in the file is for us: a refusal, as for a pcap file of that link type.
            bail!(
                "{name} has no record to print: its {records} records are of link type {types} \
                 ({reason}); nflog read reads captures made with `nflog -w` or \
                 `tcpdump -i nflog:N -w`"
            );
        }
        report(&format!(
            "{name}: skipped {records} records of interfaces of link type {types} ({reason})"
        ));
    }
    outcome?;
    if filter.is_some() {
        report(&format!(
            "{name}: {} packets, {written} matched the filter, {filtered} filtered",
            written + filtered
        ));
    }
    if damaged > 0 {
        bail!(
            "{name}: {damaged} damaged records skipped ({} read, {written} printed)",
            reader.records()
        );
    }
    Ok(())
}

/// The filter of `nflog read FILE EXPRESSION`, if one was given: its words joined by spaces,
/// as tcpdump joins them.
pub fn parse_filter(words: &[String]) -> Result<Option<Expr>> {
    if words.is_empty() {
        return Ok(None);
    }
    let text = words.join(" ");
    Expr::parse(&text).map(Some).context("filter")
}

/// [`parse_filter`], refusing what a file cannot answer: a capture file keeps interface
/// indexes, not names, so `iif` and `oif` could never match.
fn read_filter(words: &[String]) -> Result<Option<Expr>> {
    let filter = parse_filter(words)?;
    if let Some(expr) = &filter {
        if expr
            .primitives()
            .any(|p| matches!(p, Primitive::Interface(..)))
        {
            bail!(
                "filter: iif and oif cannot match in a capture file, which keeps interface \
                 indexes, not names"
            );
        }
    }
    Ok(filter)
}

/// Whether `nflog read` prints records of this link type.
fn readable(link_type: LinkType) -> bool {
    matches!(link_type, LinkType::Nflog | LinkType::Raw)
}

/// Writes a note on standard error, after what standard output holds so far.
fn report(line: &str) {
    let _ = io::stdout().flush();
    let _ = writeln!(io::stderr(), "nflog: {line}");
}

/// Wraps a raw IP packet into an NFLOG record that holds nothing else: the family and
/// `hw_protocol` its IP version says, group 0, hook 255 (no hook is known), the packet as
/// `NFULA_PAYLOAD`. The formats then print what the packet itself says.
fn raw_ip_record(out: &mut Vec<u8>, ip: &[u8]) {
    let (family, ethertype) = match ip.first().map(|b| b >> 4) {
        Some(4) => (Family::Ipv4, ETHERTYPE_IPV4),
        Some(6) => (Family::Ipv6, ETHERTYPE_IPV6),
        _ => (Family::Unspec, 0),
    };
    out.clear();
    out.extend_from_slice(&[family.number(), 0, 0, 0]);
    let [p0, p1] = ethertype.to_be_bytes();
    emit(
        out,
        PacketAttr::PacketHdr as u16,
        &[p0, p1, UNKNOWN_HOOK, 0],
    );
    // A record holds at most 256 KiB (the snapshot length), and an attribute 64 KiB: a
    // longer packet keeps its first 64 KiB less the header, as the kernel's copy range would.
    let keep = ip.len().min(usize::from(u16::MAX) - 4);
    emit(out, PacketAttr::Payload as u16, &ip[..keep]);
}

/// The hook byte of a record made from a raw IP packet: no real hook has this number.
const UNKNOWN_HOOK: u8 = 255;
/// The EtherType of IPv4, `hw_protocol` of an IPv4 packet.
const ETHERTYPE_IPV4: u16 = 0x0800;
/// The EtherType of IPv6.
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Refuses to write the file being read: opening the output truncates it before a record
/// is read. The same file is the same device and inode, whatever path, link or descriptor
/// names it (`-w ./x.pcap`, a hard link, standard output appending to it).
fn refuse_same_file(args: &ReadArgs, destination: &Destination, name: &str) -> Result<()> {
    let input = if args.file.as_os_str() == "-" {
        rustix::fs::fstat(io::stdin())
    } else {
        rustix::fs::stat(&args.file)
    };
    let output = match destination {
        Destination::Stdout => rustix::fs::fstat(io::stdout()),
        other => match other.file() {
            Some(path) => rustix::fs::stat(path),
            // Not a file: nothing to destroy.
            None => return Ok(()),
        },
    };
    // Only regular files are destroyed by it: `< /dev/null > /dev/null` is one inode too.
    let regular = |st: &rustix::fs::Stat| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
    };
    if let (Ok(input), Ok(output)) = (input, output) {
        if regular(&input)
            && regular(&output)
            && (input.st_dev, input.st_ino) == (output.st_dev, output.st_ino)
        {
            bail!(
                "{name} is also the output: writing it would destroy it before it is read; \
                 give -w another file"
            );
        }
    }
    Ok(())
}

fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}
