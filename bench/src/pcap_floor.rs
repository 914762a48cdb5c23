//! The floor of writing a pcap file: the cheapest honest writer of what `nflog -g N -w
//! FILE.pcap` writes, for `burst`'s mode `bare-pcap`.
//!
//! Each packet message of a datagram becomes one LINKTYPE_NFLOG record, as tcpdump's
//! `nflog:N` and our command write it: the netlink message body (nfgenmsg, then the
//! attributes exactly as the kernel sent them) behind a 16-byte record header, timed by the
//! packet's `NFULA_TIMESTAMP` when it has one, else by the time the caller read once for the
//! datagram. Nothing else: no parse beyond the attribute walk that finds the timestamp, no
//! queue, no second thread, no per-packet accounting; bytes go into a 256 KiB buffer that is
//! written with `write(2)` each time it is full. What the command pays above this is the
//! price of its features, not of the file.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nflog::pcap::{CaptureReader, LinkType, PcapWriter, PCAP_LAST_MICROS, SNAPLEN};
use nflog::wire::{align4, Messages, MSG_PACKET, NFGENMSG_LEN, NLA_HDRLEN, NLA_TYPE_MASK};
use nflog::PacketAttr;

use crate::BoxError;

/// The bytes gathered before each `write(2)`: the command's file buffer.
pub const WRITE_BUFFER: usize = 256 * 1024;

const PAGE: usize = 4096;

/// A pcap file of NFLOG records being written, at the least cost an honest writer pays.
#[derive(Debug)]
pub struct PcapFloor {
    file: File,
    path: PathBuf,
    /// `WRITE_BUFFER` bytes from `start` on are the buffer.
    storage: Vec<u8>,
    start: usize,
    /// Bytes of the buffer in use.
    len: usize,
    records: u64,
    /// The `write(2)` calls so far, and the CPU time they took.
    writes: u64,
    write_cpu: Duration,
}

impl PcapFloor {
    /// Creates (or truncates) `path` and puts the pcap file header, the library's, in the
    /// buffer.
    ///
    /// # Errors
    ///
    /// Creating the file, named.
    pub fn create(path: &Path) -> Result<PcapFloor, BoxError> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = PcapWriter::new(Vec::new(), LinkType::Nflog)?.into_inner();
        // Perf: the buffer starts on a page boundary and is written only when whole, so
        // that every `write(2)` copies whole pages from a page boundary into the file's
        // pages at the same page offset (a copy whose destination lies a few bytes ahead
        // of its source within the page is the slow case, see docs/benchmarks.md).
        let storage = vec![0u8; WRITE_BUFFER + PAGE];
        let start = storage.as_ptr().align_offset(PAGE).min(PAGE);
        let mut floor = PcapFloor {
            file,
            path: path.to_path_buf(),
            storage,
            start,
            len: 0,
            records: 0,
            writes: 0,
            write_cpu: Duration::ZERO,
        };
        floor.push(&header)?;
        Ok(floor)
    }

    /// Writes one record for each packet message of `datagram` (messages of other types
    /// are skipped, the walk stops at the first malformed header as the receive loops'
    /// does); `received` times those without `NFULA_TIMESTAMP`. Returns the records written.
    ///
    /// # Errors
    ///
    /// Writing the file, named.
    pub fn write_datagram(
        &mut self,
        datagram: &[u8],
        received: SystemTime,
    ) -> Result<u64, BoxError> {
        let received = pcap_time_fields(received);
        let mut n = 0;
        for message in Messages::new(datagram).map_while(Result::ok) {
            if message.message_type() != MSG_PACKET {
                continue;
            }
            let body = message.body();
            let (seconds, micros) = packet_time_fields(body).unwrap_or(received);
            // A body is shorter than its datagram, and a datagram fits the receive buffer
            // (MAX_DATAGRAM, the snapshot length): never cut unless a caller's datagram is
            // larger, and then as libpcap cuts records at its snapshot length.
            let caplen = body.len().min(SNAPLEN as usize);
            let mut header = [0u8; 16];
            header[0..4].copy_from_slice(&seconds.to_ne_bytes());
            header[4..8].copy_from_slice(&micros.to_ne_bytes());
            header[8..12].copy_from_slice(&(caplen as u32).to_ne_bytes());
            let orig = u32::try_from(body.len()).unwrap_or(u32::MAX);
            header[12..16].copy_from_slice(&orig.to_ne_bytes());
            let data = &body[..caplen];
            let at = self.start + self.len;
            // Perf: the usual case, a record that fits, is two copies after one check.
            if self.len + 16 + data.len() <= WRITE_BUFFER {
                let room = &mut self.storage[at..at + 16 + data.len()];
                room[..16].copy_from_slice(&header);
                room[16..].copy_from_slice(data);
                self.len += 16 + data.len();
                n += 1;
                continue;
            }
            self.push(&header)?;
            self.push(data)?;
            n += 1;
        }
        self.records += n;
        Ok(n)
    }

    /// Records written so far (some may still wait in the buffer).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `write(2)` calls so far and the calling thread's CPU time in them (read before
    /// and after each: two clock reads per 256 KiB), so that a run can tell what the
    /// system spends on the file from what the writer does.
    pub fn writes(&self) -> (u64, Duration) {
        (self.writes, self.write_cpu)
    }

    /// Writes what the buffer still holds; returns the records in the file.
    ///
    /// # Errors
    ///
    /// Writing the file, named.
    pub fn finish(&mut self) -> Result<u64, BoxError> {
        self.write_buffer()?;
        Ok(self.records)
    }

    /// Appends `bytes` to the buffer, writing it each time it is full.
    #[inline]
    fn push(&mut self, mut bytes: &[u8]) -> Result<(), BoxError> {
        loop {
            let room = WRITE_BUFFER - self.len;
            let at = self.start + self.len;
            if bytes.len() <= room {
                self.storage[at..at + bytes.len()].copy_from_slice(bytes);
                self.len += bytes.len();
                return Ok(());
            }
            // A record may straddle two writes: the file is a stream of bytes.
            self.storage[at..at + room].copy_from_slice(&bytes[..room]);
            self.len = WRITE_BUFFER;
            bytes = &bytes[room..];
            self.write_buffer()?;
        }
    }

    fn write_buffer(&mut self) -> Result<(), BoxError> {
        if self.len == 0 {
            return Ok(());
        }
        let full = &self.storage[self.start..self.start + self.len];
        let before = crate::thread_clock()?;
        self.file
            .write_all(full)
            .map_err(|e| format!("writing {}: {e}", self.path.display()))?;
        self.write_cpu += crate::thread_clock()?.saturating_sub(before);
        self.writes += 1;
        self.len = 0;
        Ok(())
    }
}

/// The seconds and microseconds fields of a record header for `time`, clamped to what the
/// header holds, as the library's pcap writer writes them.
fn pcap_time_fields(time: SystemTime) -> (u32, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    match u32::try_from(since.as_secs()) {
        Ok(seconds) => (seconds, since.subsec_micros()),
        Err(_) => (
            (PCAP_LAST_MICROS / 1_000_000) as u32,
            (PCAP_LAST_MICROS % 1_000_000) as u32,
        ),
    }
}

/// The record header's time fields from the packet's `NFULA_TIMESTAMP`, if it has one the
/// library reads as a time (`Packet::timestamp`); the command uses the receive time
/// otherwise.
fn packet_time_fields(body: &[u8]) -> Option<(u32, u32)> {
    let value: &[u8; 16] = timestamp_value(body.get(NFGENMSG_LEN..)?)?
        .try_into()
        .ok()?;
    let (head, tail) = value.split_at(8);
    let seconds = u64::from_be_bytes(head.try_into().ok()?);
    let micros = u64::from_be_bytes(tail.try_into().ok()?);
    if let (Ok(s), true) = (u32::try_from(seconds), micros < 1_000_000) {
        return Some((s, micros as u32));
    }
    // Out of the header's range, or microseconds of a second or more: as the library
    // makes a `SystemTime` of them, then clamps it.
    let since = Duration::from_secs(seconds).checked_add(Duration::from_micros(micros))?;
    Some(pcap_time_fields(UNIX_EPOCH.checked_add(since)?))
}

/// The value of the first `NFULA_TIMESTAMP` among `attributes`, walked as
/// [`Attributes`](nflog::wire::Attributes) walks them (up to the first malformed header).
// Perf: the headers alone, without the `Result` and the `Attr` that `Attributes` makes of
// each attribute: the walk is most of what a floor that must find the timestamp pays
// per packet. `attributes_agree_with_the_library` checks it against `Attributes`.
#[inline]
fn timestamp_value(mut attributes: &[u8]) -> Option<&[u8]> {
    const TIMESTAMP: u16 = PacketAttr::Timestamp as u16;
    while let [l0, l1, t0, t1, ..] = *attributes {
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        if len < NLA_HDRLEN || len > attributes.len() {
            return None;
        }
        if u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK == TIMESTAMP {
            return Some(&attributes[NLA_HDRLEN..len]);
        }
        attributes = attributes.get(align4(len)..).unwrap_or(&[]);
    }
    None
}

/// The records of a pcap file of NFLOG records, read with the library's reader: an error
/// names the file and what is wrong with it (another link type, a cut or damaged record).
///
/// # Errors
///
/// As above.
pub fn count_records(path: &Path) -> Result<u64, BoxError> {
    let name = path.display();
    let file = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut reader = CaptureReader::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| format!("{name}: {e}"))?;
    if reader.link_type() != Some(LinkType::Nflog) {
        return Err(format!("{name}: link type {:?}, not NFLOG", reader.link_type()).into());
    }
    while reader
        .next_record()
        .map_err(|e| format!("{name}: {e}"))?
        .is_some()
    {}
    Ok(reader.records())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nflog::wire::{emit_message, Attributes, NLMSG_DONE};
    use nflog::PacketRepr;
    use std::process::Command;

    /// A kernel-like datagram of `count` packet messages of group 9, every third with
    /// `NFULA_TIMESTAMP` (second `1_700_000_000 + i`), then `NLMSG_DONE`.
    fn datagram(first: u32, count: u32, payload: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in first..first + count {
            let repr = PacketRepr {
                group: 9,
                hook: 3,
                prefix: Some(b"burst".to_vec()),
                mark: Some(0x2a),
                seq: Some(i),
                timestamp: (i % 3 == 0).then_some((1_700_000_000 + u64::from(i), 250_000)),
                payload: Some(udp_over_ipv4(payload)),
                ..PacketRepr::default()
            };
            emit_message(&mut out, MSG_PACKET, 0, i, &repr.to_bytes());
        }
        emit_message(&mut out, NLMSG_DONE, 0, 0, &0u32.to_ne_bytes());
        out
    }

    /// What `burst`'s rule logs: a UDP datagram from 127.0.0.1:40000 to 127.0.0.1:9 of
    /// `payload` bytes (checksums left 0: nobody checks them here).
    fn udp_over_ipv4(payload: usize) -> Vec<u8> {
        let total = u16::try_from(28 + payload).unwrap();
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        ip.extend_from_slice(&40000u16.to_be_bytes());
        ip.extend_from_slice(&9u16.to_be_bytes());
        ip.extend_from_slice(&(total - 20).to_be_bytes());
        ip.extend_from_slice(&[0, 0]);
        ip.resize(usize::from(total), 0x5a);
        ip
    }

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("nflog-bench-{}-{name}", std::process::id()))
    }

    /// More than one buffer's worth, so records straddle writes: the file is read back
    /// whole, each record as the library's writer would have written it.
    #[test]
    fn records_match_the_library_writer() {
        let path = scratch("floor.pcap");
        let received = UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789);
        let mut floor = PcapFloor::create(&path).unwrap();
        let mut expected = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        let mut written = 0;
        for batch in 0..40 {
            let bytes = datagram(batch * 64, 64, 200);
            written += floor.write_datagram(&bytes, received).unwrap();
            for message in Messages::new(&bytes).map_while(Result::ok) {
                if message.message_type() == MSG_PACKET {
                    let packet = nflog::Packet::parse(message.body()).unwrap();
                    let time = packet.timestamp().unwrap_or(received);
                    expected
                        .write_record(time, message.body(), message.body().len())
                        .unwrap();
                }
            }
        }
        assert_eq!(written, 40 * 64);
        assert_eq!(floor.finish().unwrap(), 40 * 64);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 2 * WRITE_BUFFER);
        assert!(
            bytes == expected.into_inner(),
            "the file differs from PcapWriter's"
        );
        assert_eq!(count_records(&path).unwrap(), 40 * 64);
        std::fs::remove_file(&path).unwrap();
    }

    /// tcpdump, the reference reader of LINKTYPE_NFLOG, reads every record whole, with
    /// the kernel's time where the packet has one and the receive time elsewhere.
    #[test]
    fn tcpdump_reads_every_record() {
        let test = "pcap_floor::tcpdump_reads_every_record";
        if !nflog_test_support::has_tool(test, "tcpdump", "--version", "tcpdump") {
            return;
        }
        let path = scratch("tcpdump.pcap");
        let mut floor = PcapFloor::create(&path).unwrap();
        let received = UNIX_EPOCH + Duration::new(1_800_000_000, 987_654_321);
        for batch in 0..30 {
            floor
                .write_datagram(&datagram(batch * 100, 100, 64), received)
                .unwrap();
        }
        assert_eq!(floor.finish().unwrap(), 3000);
        let output = Command::new("tcpdump")
            .args(["-n", "-tt", "-r"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "tcpdump -r: {stderr}");
        assert!(stderr.contains("link-type NFLOG"), "tcpdump -r: {stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3000, "{stderr}");
        for (i, line) in lines.iter().enumerate() {
            let time = match i % 3 {
                0 => format!("{}.250000 ", 1_700_000_000 + i),
                _ => "1800000000.987654 ".to_string(),
            };
            assert!(line.starts_with(&time), "record {i}: {line}");
            assert!(
                line.ends_with("IP 127.0.0.1.40000 > 127.0.0.1.9: UDP, length 64"),
                "record {i}: {line}"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }

    /// The walk finds what `Attributes` finds, and nothing where it stops: in order, past
    /// unknown and flagged types, in a cut or malformed list.
    #[test]
    fn attributes_agree_with_the_library() {
        let library = |bytes: &[u8]| {
            Attributes::new(bytes)
                .map_while(Result::ok)
                .find(|a| a.kind() == PacketAttr::Timestamp as u16)
                .map(|a| a.value().to_vec())
        };
        let mut lists = Vec::new();
        for stamped in [false, true] {
            let repr = PacketRepr {
                prefix: Some(b"x".to_vec()),
                mark: Some(1),
                timestamp: stamped.then_some((1, 2)),
                payload: Some(udp_over_ipv4(3)),
                unknown: vec![(0x4000 | 99, vec![1, 2, 3])],
                ..PacketRepr::default()
            };
            lists.push(repr.to_bytes()[NFGENMSG_LEN..].to_vec());
        }
        let mut flagged = Vec::new();
        nflog::wire::emit(&mut flagged, 0x4000 | 3, &[7; 16]);
        lists.push(flagged);
        let mut bad = Vec::new();
        nflog::wire::emit(&mut bad, 2, &[0; 4]);
        bad.extend_from_slice(&[2, 0, 3, 0]);
        lists.push(bad);
        for list in &lists {
            for cut in 0..=list.len() {
                let bytes = &list[..cut];
                assert_eq!(
                    timestamp_value(bytes).map(<[u8]>::to_vec),
                    library(bytes),
                    "{bytes:?}"
                );
            }
        }
    }

    #[test]
    fn a_cut_file_is_an_error_that_names_it() {
        let path = scratch("cut.pcap");
        let mut floor = PcapFloor::create(&path).unwrap();
        floor
            .write_datagram(&datagram(0, 10, 64), SystemTime::now())
            .unwrap();
        floor.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let error = count_records(&path).unwrap_err().to_string();
        assert!(error.starts_with(&path.display().to_string()), "{error}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn times_out_of_range_are_clamped_as_the_library_does() {
        let time = |seconds: u64, micros: u64| {
            let repr = PacketRepr {
                timestamp: Some((seconds, micros)),
                ..PacketRepr::default()
            };
            packet_time_fields(&repr.to_bytes())
        };
        assert_eq!(time(5, 7), Some((5, 7)));
        assert_eq!(time(5, 2_000_001), Some((7, 1)));
        assert_eq!(time(1 << 40, 0), Some((u32::MAX, 999_999)));
        // No `SystemTime` holds it: the receive time, as `Packet::timestamp` gives `None`.
        assert_eq!(time(u64::MAX, 0), None);
        assert_eq!(packet_time_fields(&PacketRepr::default().to_bytes()), None);
    }
}
