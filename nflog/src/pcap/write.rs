//! Writers for pcap and pcapng files of NFLOG records (or of bare IP packets).

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::pcap::{LinkType, PCAPNG_BYTE_ORDER_MAGIC, PCAP_MAGIC_MICROS};

/// The snapshot length written in file headers: records are never longer than this.
pub const SNAPLEN: u32 = 262_144;

/// The latest time a pcap record header holds: its seconds field is an unsigned 32-bit
/// number (2106-02-07 06:28:15.999999 UTC).
pub const PCAP_LAST_MICROS: u64 = u32::MAX as u64 * 1_000_000 + 999_999;

/// Microseconds since the epoch: 0 before it, `u64::MAX` (about the year 586,912, the latest
/// a pcapng timestamp holds) after what 64 bits hold. A crafted `NFULA_TIMESTAMP` of 1.8e13
/// seconds or more once overflowed the multiplication here.
pub(crate) fn micros_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| {
        d.as_secs()
            .checked_mul(1_000_000)
            .and_then(|m| m.checked_add(u64::from(d.subsec_micros())))
            .unwrap_or(u64::MAX)
    })
}

/// The seconds and microseconds fields of a pcap record header for `time`, clamped to the
/// range the header holds (see [`PcapWriter::write_record`]).
pub(crate) fn pcap_time_fields(time: SystemTime) -> (u32, u32) {
    let micros = micros_since_epoch(time).min(PCAP_LAST_MICROS);
    // Both fit: the seconds by the clamp above, the microseconds by the remainder.
    ((micros / 1_000_000) as u32, (micros % 1_000_000) as u32)
}

/// The last time a writer turned into its record header's fields, with those fields.
///
/// Perf: the packets of one kernel batch that the kernel did not stamp are all timed by
/// when the batch was received: one comparison stands for the clock arithmetic of each
/// record but the first.
#[derive(Debug, Clone, Copy)]
struct LastTime<F> {
    time: SystemTime,
    fields: F,
}

impl<F: Copy> LastTime<F> {
    /// The fields of `time`, worked out by `fields` unless `time` is the last one's.
    #[inline]
    fn fields(&mut self, time: SystemTime, fields: impl FnOnce(SystemTime) -> F) -> F {
        if time != self.time {
            self.time = time;
            self.fields = fields(time);
        }
        self.fields
    }
}

/// Writes a classic pcap file (microsecond timestamps, this host's byte order).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    link_type: LinkType,
    last: LastTime<(u32, u32)>,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `link_type` and returns the writer.
    ///
    /// # Errors
    ///
    /// The output's error.
    pub fn new(mut out: W, link_type: LinkType) -> io::Result<Self> {
        let mut header = [0u8; 24];
        header[0..4].copy_from_slice(&PCAP_MAGIC_MICROS.to_ne_bytes());
        header[4..6].copy_from_slice(&2u16.to_ne_bytes());
        header[6..8].copy_from_slice(&4u16.to_ne_bytes());
        // thiszone and sigfigs stay 0.
        header[16..20].copy_from_slice(&SNAPLEN.to_ne_bytes());
        header[20..24].copy_from_slice(&u32::from(link_type.number()).to_ne_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            link_type,
            last: LastTime {
                time: UNIX_EPOCH,
                fields: pcap_time_fields(UNIX_EPOCH),
            },
        })
    }

    /// The link type of every record, as the file header says.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Writes one record. `orig_len` is the packet's length before any cut (at least
    /// `data.len()`).
    ///
    /// A record header holds times from 1970-01-01 00:00:00 to 2106-02-07 06:28:15.999999
    /// UTC ([`PCAP_LAST_MICROS`]), to the microsecond: a time outside is written as the
    /// nearest one inside (an NFLOG record keeps the packet's own `NFULA_TIMESTAMP` as it
    /// was), and a finer time is cut to the microsecond.
    ///
    /// # Errors
    ///
    /// The output's error; `InvalidInput` for a record longer than [`SNAPLEN`].
    pub fn write_record(
        &mut self,
        time: SystemTime,
        data: &[u8],
        orig_len: usize,
    ) -> io::Result<()> {
        let (seconds, micros) = self.last.fields(time, pcap_time_fields);
        self.write_record_at(seconds, micros, data, orig_len)
    }

    /// Writes one record whose header's time fields are `seconds` and `micros` (below
    /// 1,000,000): [`write_record`](Self::write_record) without the clock arithmetic, for
    /// a kernel timestamp that is already in those fields' range.
    #[inline]
    pub(crate) fn write_record_at(
        &mut self,
        seconds: u32,
        micros: u32,
        data: &[u8],
        orig_len: usize,
    ) -> io::Result<()> {
        debug_assert!(micros < 1_000_000, "a pcap record's microseconds");
        let caplen = record_len(data)?;
        let mut header = [0u8; 16];
        header[0..4].copy_from_slice(&seconds.to_ne_bytes());
        header[4..8].copy_from_slice(&micros.to_ne_bytes());
        header[8..12].copy_from_slice(&caplen.to_ne_bytes());
        let orig = u32::try_from(orig_len.max(data.len())).unwrap_or(u32::MAX);
        header[12..16].copy_from_slice(&orig.to_ne_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(data)
    }

    /// Flushes the output.
    ///
    /// # Errors
    ///
    /// The output's error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The output, after flushing nothing.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The output.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

#[inline]
fn record_len(data: &[u8]) -> io::Result<u32> {
    match u32::try_from(data.len()) {
        Ok(len) if len <= SNAPLEN => Ok(len),
        _ => Err(record_too_long(data.len())),
    }
}

#[cold]
fn record_too_long(len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("record of {len} bytes exceeds the snapshot length {SNAPLEN}"),
    )
}

/// Writes a pcapng file: one section, one interface per NFLOG group (named `nflog:N`),
/// enhanced packet blocks, and interface statistics at the end.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    link_type: LinkType,
    /// The groups in the order their interfaces were described; the index is the
    /// interface id.
    interfaces: Vec<u16>,
    scratch: Vec<u8>,
    last: LastTime<u64>,
}

/// Interface statistics written at the end of a pcapng file for one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Packets received from the kernel (`isb_ifrecv`).
    pub received: u64,
    /// Packets lost before reaching us: sequence gaps, or the socket's overruns
    /// (`isb_ifdrop`).
    pub dropped: u64,
    /// Capture start (`isb_starttime`).
    pub start: Option<SystemTime>,
    /// Capture end (`isb_endtime`).
    pub end: Option<SystemTime>,
}

const BLOCK_SHB: u32 = 0x0A0D_0D0A;
const BLOCK_IDB: u32 = 0x0000_0001;
const BLOCK_EPB: u32 = 0x0000_0006;
const BLOCK_ISB: u32 = 0x0000_0005;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const ISB_STARTTIME: u16 = 2;
const ISB_ENDTIME: u16 = 3;
const ISB_IFRECV: u16 = 4;
const ISB_IFDROP: u16 = 5;

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and returns the writer; interfaces are described as
    /// their groups first appear.
    ///
    /// # Errors
    ///
    /// The output's error.
    pub fn new(out: W, link_type: LinkType) -> io::Result<Self> {
        let mut writer = PcapngWriter {
            out,
            link_type,
            interfaces: Vec::new(),
            scratch: Vec::with_capacity(512),
            last: LastTime {
                time: UNIX_EPOCH,
                fields: micros_since_epoch(UNIX_EPOCH),
            },
        };
        let mut body = Vec::new();
        body.extend_from_slice(&PCAPNG_BYTE_ORDER_MAGIC.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&(-1i64).to_ne_bytes()); // section length unknown
        let appl = concat!("nflog ", env!("CARGO_PKG_VERSION"));
        push_option(&mut body, SHB_USERAPPL, appl.as_bytes());
        push_option(&mut body, OPT_END, &[]);
        writer.write_block(BLOCK_SHB, &body)?;
        Ok(writer)
    }

    /// The link type of every interface, and so of every record.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Describes the interface for `group` unless it is described already; returns its id.
    ///
    /// # Errors
    ///
    /// The output's error.
    pub fn interface(&mut self, group: u16) -> io::Result<u32> {
        if let Some(id) = self.interfaces.iter().position(|g| *g == group) {
            return Ok(id as u32);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&self.link_type.number().to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&SNAPLEN.to_ne_bytes());
        let name = format!("nflog:{group}");
        push_option(&mut body, IF_NAME, name.as_bytes());
        let description = format!("Linux netfilter log (NFLOG) group {group}");
        push_option(&mut body, IF_DESCRIPTION, description.as_bytes());
        push_option(&mut body, OPT_END, &[]);
        self.write_block(BLOCK_IDB, &body)?;
        self.interfaces.push(group);
        Ok(self.interfaces.len() as u32 - 1)
    }

    /// Writes one record for `group`'s interface.
    ///
    /// Timestamps are microseconds since 1970 in 64 bits: a time before 1970 is written as
    /// 1970-01-01 00:00:00 UTC, one after the year 586,912 as the last time 64 bits hold
    /// (an NFLOG record keeps the packet's own `NFULA_TIMESTAMP` as it was).
    ///
    /// # Errors
    ///
    /// The output's error; `InvalidInput` for a record longer than [`SNAPLEN`].
    pub fn write_record(
        &mut self,
        group: u16,
        time: SystemTime,
        data: &[u8],
        orig_len: usize,
    ) -> io::Result<()> {
        let micros = self.last.fields(time, micros_since_epoch);
        self.write_record_micros(group, micros, data, orig_len)
    }

    /// Writes one record for `group`'s interface at `micros` since 1970:
    /// [`write_record`](Self::write_record) without the clock arithmetic, for a kernel
    /// timestamp already in microseconds.
    #[inline]
    pub(crate) fn write_record_micros(
        &mut self,
        group: u16,
        micros: u64,
        data: &[u8],
        orig_len: usize,
    ) -> io::Result<()> {
        let caplen = record_len(data)?;
        let interface = self.interface(group)?;
        let total = 32 + pad4(data.len()) as u32;
        let orig = u32::try_from(orig_len.max(data.len())).unwrap_or(u32::MAX);
        let mut header = [0u8; 28];
        header[0..4].copy_from_slice(&BLOCK_EPB.to_ne_bytes());
        header[4..8].copy_from_slice(&total.to_ne_bytes());
        header[8..12].copy_from_slice(&interface.to_ne_bytes());
        header[12..16].copy_from_slice(&((micros >> 32) as u32).to_ne_bytes());
        header[16..20].copy_from_slice(&(micros as u32).to_ne_bytes());
        header[20..24].copy_from_slice(&caplen.to_ne_bytes());
        header[24..28].copy_from_slice(&orig.to_ne_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(data)?;
        self.out
            .write_all(&[0u8; 3][..pad4(data.len()) - data.len()])?;
        self.out.write_all(&total.to_ne_bytes())
    }

    /// Writes the statistics of `group`'s interface (an Interface Statistics Block).
    ///
    /// # Errors
    ///
    /// The output's error.
    pub fn write_stats(
        &mut self,
        group: u16,
        stats: &InterfaceStats,
        when: SystemTime,
    ) -> io::Result<()> {
        let interface = self.interface(group)?;
        let micros = micros_since_epoch(when);
        let mut body = Vec::new();
        body.extend_from_slice(&interface.to_ne_bytes());
        body.extend_from_slice(&((micros >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&(micros as u32).to_ne_bytes());
        let timestamp = |t: SystemTime| {
            let m = micros_since_epoch(t);
            let mut v = [0u8; 8];
            v[..4].copy_from_slice(&((m >> 32) as u32).to_ne_bytes());
            v[4..].copy_from_slice(&(m as u32).to_ne_bytes());
            v
        };
        if let Some(start) = stats.start {
            push_option(&mut body, ISB_STARTTIME, &timestamp(start));
        }
        if let Some(end) = stats.end {
            push_option(&mut body, ISB_ENDTIME, &timestamp(end));
        }
        push_option(&mut body, ISB_IFRECV, &stats.received.to_ne_bytes());
        push_option(&mut body, ISB_IFDROP, &stats.dropped.to_ne_bytes());
        push_option(
            &mut body,
            OPT_COMMENT,
            b"drops: packets the kernel could not deliver",
        );
        push_option(&mut body, OPT_END, &[]);
        self.write_block(BLOCK_ISB, &body)
    }

    /// The groups described so far, in interface id order.
    pub fn groups(&self) -> &[u16] {
        &self.interfaces
    }

    /// Flushes the output.
    ///
    /// # Errors
    ///
    /// The output's error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The output.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The output.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn write_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let total = (12 + body.len()) as u32;
        self.scratch.clear();
        self.scratch.extend_from_slice(&block_type.to_ne_bytes());
        self.scratch.extend_from_slice(&total.to_ne_bytes());
        self.scratch.extend_from_slice(body);
        self.scratch.extend_from_slice(&total.to_ne_bytes());
        self.out.write_all(&self.scratch)
    }
}

fn pad4(len: usize) -> usize {
    (len + 3) & !3
}

fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_ne_bytes());
    body.extend_from_slice(&(value.len() as u16).to_ne_bytes());
    body.extend_from_slice(value);
    body.resize(body.len() + pad4(value.len()) - value.len(), 0);
}
