//! `nflog read FILE`: print a pcap or pcapng file of NFLOG records, without privileges.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nflog::format::Numeric;
use nflog::pcap::{CaptureReader, LinkType};
use nflog::Packet;

use crate::cli::ReadArgs;
use crate::output::{self, Sink};

/// Prints every record up to the end, or up to the damage, then reports the damage.
pub fn run(args: &ReadArgs) -> Result<()> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?,
        )
    };
    let name = display_name(&args.file);
    let mut reader = CaptureReader::new(BufReader::with_capacity(256 * 1024, input))
        .with_context(|| name.clone())?;
    if let Some(link_type) = reader.link_type().filter(|&l| l != LinkType::Nflog) {
        // A pcap file declares its one link type up front: refuse it before any output.
        bail!(
            "{name} has link type {} (not NFLOG, 239): nflog read reads captures made with \
             `nflog -w` or `tcpdump -i nflog:N -w`",
            link_type.number()
        );
    }
    let (out, _) = output::open(&args.output)?;
    let format = output::choose_format(&args.output);
    let mut sink =
        Sink::new(format, args.output.linktype, out).context("writing the output header")?;
    // Interfaces of a file's packets are another machine's, or of a moment gone: show
    // indexes, never names looked up here.
    let mut names = Numeric;
    let mut written = 0u64;
    let mut index = 0u64;
    let outcome: Result<()> = loop {
        if args.output.count.is_some_and(|c| written >= c) {
            break Ok(());
        }
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break Ok(()),
            Err(e) => {
                break Err(anyhow::Error::new(e).context(format!("{name}: after {index} records")))
            }
        };
        index += 1;
        if record.link_type != LinkType::Nflog {
            break Err(anyhow::anyhow!(
                "{name}: record {index} has link type {} (not NFLOG, 239): nflog read reads \
                 captures made with `nflog -w` or `tcpdump -i nflog:N -w`",
                record.link_type.number()
            ));
        }
        let packet = match Packet::parse(record.data) {
            Ok(packet) => packet,
            Err(e) => {
                break Err(
                    anyhow::Error::new(e).context(format!("{name}: record {index} is damaged"))
                )
            }
        };
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
    match outcome.and(flushed) {
        Err(e) if output::is_closed_pipe(&e) => Ok(()),
        other => other,
    }
}

fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}
