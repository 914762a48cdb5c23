//! A reader for pcap and pcapng files, in either byte order.
//!
//! Records come out one at a time, borrowed from a buffer the reader reuses. NFLOG records
//! of a file written on a host of the other byte order get their attribute headers, nested
//! ones included, swapped to this host's order, so that
//! [`Packet::parse`](crate::Packet::parse) reads them.
//!
//! A damaged or cut file yields every whole record before the damage, then an error that
//! says where and what. Where only a record's contents are damaged and its length is sound
//! (a pcapng packet block whose data overruns the block, or that names an interface never
//! described or whose description is damaged; a time no `SystemTime` holds), the error is [`ReadError::DamagedRecord`] and
//! the next call goes on with the record after it. Every other error means the framing
//! itself is lost, and the reading ends there.
//!
//! pcapng timestamps are read in the interface's resolution (`if_tsresol`), rounded to the
//! nearest nanosecond when it is finer or not a power of ten, and shifted by its
//! `if_tsoffset`.

use core::fmt;
use std::io::{self, Read};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::pcap::swap::swap_nflog_tlv_headers;
use crate::pcap::{LinkType, PCAPNG_BYTE_ORDER_MAGIC, PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS};
use crate::wire::attr::align4;

/// The largest record or block the reader accepts, far above any real one: a corrupt
/// length is reported, not allocated.
const MAX_BLOCK: usize = 16 * 1024 * 1024;

/// Why a capture file could not be read further.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading failed.
    Io(io::Error),
    /// The file starts with neither a pcap nor a pcapng magic number.
    NotACapture {
        /// The first four bytes.
        magic: [u8; 4],
    },
    /// The file ends inside a header or record.
    Truncated {
        /// Byte offset of the header or record that is cut.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// A record whose length is sound but whose contents are not: the reader has moved past
    /// it, and [`CaptureReader::next_record`] goes on with the next record.
    DamagedRecord {
        /// Byte offset of the record (or its block).
        offset: u64,
        /// The record's number, counting every packet record of the file from 1.
        record: u64,
        /// What is wrong.
        reason: String,
    },
    /// A header or block that is not well formed.
    Malformed {
        /// Byte offset of the header or block.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "read error: {e}"),
            ReadError::NotACapture { magic } => write!(
                f,
                "not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x})",
                magic[0], magic[1], magic[2], magic[3]
            ),
            ReadError::Truncated {
                offset,
                what,
                needed,
                available,
            } => write!(
                f,
                "file cut short at byte {offset}: {what} needs {needed} bytes, {available} left"
            ),
            ReadError::DamagedRecord {
                offset,
                record,
                reason,
            } => write!(f, "record {record} at byte {offset} is damaged: {reason}"),
            ReadError::Malformed { offset, reason } => {
                write!(f, "damaged file at byte {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// One record of a capture file.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The link type of the record's interface.
    pub link_type: LinkType,
    /// The interface id (always 0 in a pcap file).
    pub interface: u32,
    /// When the packet was captured.
    pub time: SystemTime,
    /// The packet's length before it was cut to the snapshot length.
    pub orig_len: u32,
    /// The captured bytes; for NFLOG, attribute headers in this host's byte order.
    pub data: &'a [u8],
    /// The record's number, counting every packet record of the file from 1 (those of
    /// other link types and damaged ones included).
    pub number: u64,
    /// Byte offset of the record's header (pcap) or block (pcapng) in the file.
    pub offset: u64,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second (`if_tsresol`); `None` when more than `u128` holds, which
    /// makes every 64-bit timestamp round to 0 ns.
    units_per_second: Option<u128>,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_seconds: i64,
    /// Where the description is damaged: its packets are damaged records, and the
    /// interfaces after it keep their numbers.
    damaged_at: Option<u64>,
}

#[derive(Debug)]
enum Layout {
    Pcap {
        swapped: bool,
        units_per_second: u64,
        link_type: LinkType,
    },
    Pcapng {
        swapped: bool,
        interfaces: Vec<Interface>,
    },
}

/// Reads the records of a pcap or pcapng file.
#[derive(Debug)]
pub struct CaptureReader<R: Read> {
    input: R,
    layout: Layout,
    buf: Vec<u8>,
    offset: u64,
    /// Packet records met so far, damaged ones included.
    records: u64,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (a pcap header, or a pcapng section header).
    ///
    /// # Errors
    ///
    /// [`ReadError::NotACapture`] for another kind of file, else as the header demands.
    pub fn new(mut input: R) -> Result<Self, ReadError> {
        let mut magic = [0u8; 4];
        let got = read_full(&mut input, &mut magic)?;
        if got < 4 {
            return Err(ReadError::Truncated {
                offset: 0,
                what: "file header",
                needed: 4,
                available: got,
            });
        }
        let mut reader = CaptureReader {
            input,
            layout: Layout::Pcapng {
                swapped: false,
                interfaces: Vec::new(),
            },
            buf: Vec::new(),
            offset: 4,
            records: 0,
        };
        let native = u32::from_ne_bytes(magic);
        let swapped = native.swap_bytes();
        let pcap_units = match (native, swapped) {
            (PCAP_MAGIC_MICROS, _) => Some((false, 1_000_000)),
            (PCAP_MAGIC_NANOS, _) => Some((false, 1_000_000_000)),
            (_, PCAP_MAGIC_MICROS) => Some((true, 1_000_000)),
            (_, PCAP_MAGIC_NANOS) => Some((true, 1_000_000_000)),
            _ => None,
        };
        if let Some((swapped, units_per_second)) = pcap_units {
            let mut rest = [0u8; 20];
            reader.read_exact_at("pcap file header", &mut rest, 0)?;
            let link = reader.u32_at(&rest[16..20], swapped) & 0x0FFF_FFFF;
            reader.layout = Layout::Pcap {
                swapped,
                units_per_second,
                link_type: LinkType::from_number(link as u16),
            };
            return Ok(reader);
        }
        if native == 0x0A0D_0D0A {
            reader.read_section_header(0)?;
            return Ok(reader);
        }
        Err(ReadError::NotACapture { magic })
    }

    /// The next record, `None` at the end of the file.
    ///
    /// # Errors
    ///
    /// A [`ReadError`] when the file is cut or damaged here; the records before were whole.
    /// After [`ReadError::DamagedRecord`] the next call goes on with the next record; after
    /// any other error the framing is lost, and the reading is over.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        match &self.layout {
            Layout::Pcap { .. } => self.next_pcap(),
            Layout::Pcapng { .. } => self.next_pcapng(),
        }
    }

    /// How many packet records were met so far, damaged ones included.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The link type of a pcap file, or of the first interface of a pcapng file so far.
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.layout {
            Layout::Pcap { link_type, .. } => Some(*link_type),
            Layout::Pcapng { interfaces, .. } => interfaces.first().map(|i| i.link_type),
        }
    }

    fn next_pcap(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        let Layout::Pcap {
            swapped,
            units_per_second,
            link_type,
        } = self.layout
        else {
            unreachable!("called for pcap files only")
        };
        let start = self.offset;
        let mut header = [0u8; 16];
        let got = read_full(&mut self.input, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < 16 {
            return Err(ReadError::Truncated {
                offset: start,
                what: "record header",
                needed: 16,
                available: got,
            });
        }
        self.offset += 16;
        let seconds = self.u32_at(&header[0..4], swapped);
        let fraction = self.u32_at(&header[4..8], swapped);
        let caplen = self.u32_at(&header[8..12], swapped) as usize;
        let orig_len = self.u32_at(&header[12..16], swapped);
        if caplen > MAX_BLOCK {
            return Err(ReadError::Malformed {
                offset: start,
                reason: format!("record claims {caplen} bytes"),
            });
        }
        let mut data = std::mem::take(&mut self.buf);
        let read = self.read_vec_at("record", &mut data, caplen, start);
        self.buf = data;
        read?;
        self.records += 1;
        if link_type == LinkType::Nflog && swapped {
            swap_nflog_tlv_headers(&mut self.buf);
        }
        // Both fields are 32 bits: every pcap time is one `SystemTime` holds.
        let since_epoch = Duration::from_secs(u64::from(seconds)).saturating_add(
            units_to_duration(u64::from(fraction), Some(u128::from(units_per_second))),
        );
        let time = UNIX_EPOCH.checked_add(since_epoch).unwrap_or(UNIX_EPOCH);
        Ok(Some(Record {
            link_type,
            interface: 0,
            time,
            orig_len,
            data: &self.buf,
            number: self.records,
            offset: start,
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        loop {
            let start = self.offset;
            let mut head = [0u8; 8];
            let got = read_full(&mut self.input, &mut head)?;
            if got == 0 {
                return Ok(None);
            }
            if got < 8 {
                return Err(ReadError::Truncated {
                    offset: start,
                    what: "block header",
                    needed: 8,
                    available: got,
                });
            }
            self.offset += 8;
            let block_type = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]);
            if block_type == 0x0A0D_0D0A {
                // A new section: its byte order is given by its own magic.
                self.read_section_header_after_type(start, [head[4], head[5], head[6], head[7]])?;
                continue;
            }
            let Layout::Pcapng { swapped, .. } = self.layout else {
                unreachable!("called for pcapng files only")
            };
            let block_type = if swapped {
                block_type.swap_bytes()
            } else {
                block_type
            };
            let total = self.u32_at(&head[4..8], swapped) as usize;
            if total < 12 || total % 4 != 0 || total > MAX_BLOCK {
                return Err(ReadError::Malformed {
                    offset: start,
                    reason: format!("block of type {block_type:#x} declares length {total}"),
                });
            }
            let mut body = std::mem::take(&mut self.buf);
            let read = self.read_vec_at("block", &mut body, total - 8, start);
            self.buf = body;
            read?;
            let trailer = self.u32_at(&self.buf[total - 12..], swapped) as usize;
            if trailer != total {
                return Err(ReadError::Malformed {
                    offset: start,
                    reason: format!("block length {total} at the start but {trailer} at the end"),
                });
            }
            let body_len = total - 12;
            match block_type {
                0x1 => self.add_interface(start, body_len)?,
                0x6 | 0x2 | 0x3 => {
                    self.records += 1;
                    let (link_type, interface, time, orig_len, range) = self
                        .packet_block(block_type, body_len)
                        .map_err(|reason| ReadError::DamagedRecord {
                            offset: start,
                            record: self.records,
                            reason,
                        })?;
                    if link_type == LinkType::Nflog && swapped {
                        swap_nflog_tlv_headers(&mut self.buf[range.clone()]);
                    }
                    return Ok(Some(Record {
                        link_type,
                        interface,
                        time,
                        orig_len,
                        data: &self.buf[range],
                        number: self.records,
                        offset: start,
                    }));
                }
                _ => {} // statistics, name resolution, custom blocks: nothing to show
            }
        }
    }

    /// The fields of a packet block whose length is sound, or why its contents are not.
    #[allow(clippy::type_complexity)]
    fn packet_block(
        &self,
        block_type: u32,
        body_len: usize,
    ) -> Result<(LinkType, u32, SystemTime, u32, core::ops::Range<usize>), String> {
        let Layout::Pcapng {
            swapped,
            ref interfaces,
        } = self.layout
        else {
            unreachable!("called for pcapng files only")
        };
        let body = &self.buf[..body_len];
        let (interface, stamp, caplen, orig_len, data_at) = match block_type {
            0x3 => {
                // Simple packet block: interface 0, no timestamp, caplen from block size.
                if body.len() < 4 {
                    return Err("simple packet block too short".into());
                }
                let orig = self.u32_at(&body[0..4], swapped);
                let caplen = (orig as usize).min(body.len() - 4);
                (0, None, caplen, orig, 4)
            }
            _ => {
                if body.len() < 20 {
                    return Err("packet block too short".into());
                }
                let interface = if block_type == 0x2 {
                    u32::from(self.u16_at(&body[0..2], swapped))
                } else {
                    self.u32_at(&body[0..4], swapped)
                };
                let high = self.u32_at(&body[4..8], swapped);
                let low = self.u32_at(&body[8..12], swapped);
                let caplen = self.u32_at(&body[12..16], swapped) as usize;
                let orig = self.u32_at(&body[16..20], swapped);
                (
                    interface,
                    Some((u64::from(high) << 32) | u64::from(low)),
                    caplen,
                    orig,
                    20,
                )
            }
        };
        let Some(data) = data_range(data_at, caplen, body.len()) else {
            return Err(format!(
                "packet of {caplen} bytes does not fit its {}-byte block",
                body_len + 12
            ));
        };
        let Some(iface) = interfaces.get(interface as usize) else {
            return Err(format!("packet for undeclared interface {interface}"));
        };
        if let Some(at) = iface.damaged_at {
            return Err(format!(
                "packet for interface {interface}, whose description at byte {at} is too short"
            ));
        }
        let time = match stamp {
            Some(units) => {
                let since = units_to_duration(units, iface.units_per_second);
                let offset = Duration::from_secs(iface.offset_seconds.unsigned_abs());
                let time = if iface.offset_seconds < 0 {
                    UNIX_EPOCH
                        .checked_add(since)
                        .and_then(|t| t.checked_sub(offset))
                } else {
                    since
                        .checked_add(offset)
                        .and_then(|d| UNIX_EPOCH.checked_add(d))
                };
                time.ok_or_else(|| {
                    format!(
                        "timestamp {units} (offset {} s) is past any time this system holds",
                        iface.offset_seconds
                    )
                })?
            }
            None => UNIX_EPOCH,
        };
        Ok((iface.link_type, interface, time, orig_len, data))
    }

    fn add_interface(&mut self, start: u64, body_len: usize) -> Result<(), ReadError> {
        let Layout::Pcapng { swapped, .. } = self.layout else {
            unreachable!("called for pcapng files only")
        };
        let body = &self.buf[..body_len];
        if body.len() < 8 {
            // Its length is sound: only its packets are lost, not the interfaces after it.
            let Layout::Pcapng { interfaces, .. } = &mut self.layout else {
                unreachable!("called for pcapng files only")
            };
            interfaces.push(Interface {
                link_type: LinkType::Other(u16::MAX),
                units_per_second: None,
                offset_seconds: 0,
                damaged_at: Some(start),
            });
            return Ok(());
        }
        let link_type = LinkType::from_number(self.u16_at(&body[0..2], swapped));
        let mut units_per_second = Some(1_000_000);
        let mut offset_seconds = 0;
        let mut options = &body[8..];
        while options.len() >= 4 {
            let code = self.u16_at(&options[0..2], swapped);
            let len = usize::from(self.u16_at(&options[2..4], swapped));
            let Some(value) = options.get(4..4 + len) else {
                break;
            };
            if code == 0 {
                break;
            }
            if code == 9 && len == 1 {
                // if_tsresol: 10^-n, or 2^-n with the top bit set. Every n is a resolution:
                // one finer than `u128` holds rounds every timestamp to 0 ns.
                let n = u32::from(value[0] & 0x7f);
                units_per_second = if value[0] & 0x80 == 0 {
                    10u128.checked_pow(n)
                } else {
                    1u128.checked_shl(n)
                };
            }
            if let (14, Ok(bytes)) = (code, <[u8; 8]>::try_from(value)) {
                // if_tsoffset: seconds to add to every timestamp, signed 64 bits.
                let v = i64::from_ne_bytes(bytes);
                offset_seconds = if swapped { v.swap_bytes() } else { v };
            }
            options = options.get(4 + align4(len)..).unwrap_or(&[]);
        }
        let Layout::Pcapng { interfaces, .. } = &mut self.layout else {
            unreachable!("called for pcapng files only")
        };
        interfaces.push(Interface {
            link_type,
            units_per_second,
            offset_seconds,
            damaged_at: None,
        });
        Ok(())
    }

    /// Reads a section header block whose type (4 bytes) was already read at `start`.
    fn read_section_header(&mut self, start: u64) -> Result<(), ReadError> {
        let mut len = [0u8; 4];
        self.read_exact_at("section header", &mut len, start)?;
        self.read_section_header_after_type(start, len)
    }

    fn read_section_header_after_type(
        &mut self,
        start: u64,
        len_bytes: [u8; 4],
    ) -> Result<(), ReadError> {
        let mut magic = [0u8; 4];
        self.read_exact_at("section header", &mut magic, start)?;
        let swapped = match u32::from_ne_bytes(magic) {
            PCAPNG_BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == PCAPNG_BYTE_ORDER_MAGIC => true,
            _ => {
                return Err(ReadError::Malformed {
                    offset: start,
                    reason: "section header with an unknown byte-order magic".into(),
                })
            }
        };
        let total = self.u32_at(&len_bytes, swapped) as usize;
        if total < 28 || total % 4 != 0 || total > MAX_BLOCK {
            return Err(ReadError::Malformed {
                offset: start,
                reason: format!("section header declares length {total}"),
            });
        }
        let mut rest = Vec::new();
        self.read_vec_at("section header", &mut rest, total - 12, start)?;
        let major = self.u16_at(&rest[0..2], swapped);
        if major != 1 {
            return Err(ReadError::Malformed {
                offset: start,
                reason: format!("pcapng version {major} is not supported"),
            });
        }
        self.layout = Layout::Pcapng {
            swapped,
            interfaces: Vec::new(),
        };
        Ok(())
    }

    fn read_exact_at(
        &mut self,
        what: &'static str,
        buf: &mut [u8],
        start: u64,
    ) -> Result<(), ReadError> {
        let got = read_full(&mut self.input, buf)?;
        self.offset += got as u64;
        if got < buf.len() {
            return Err(ReadError::Truncated {
                offset: start,
                what,
                needed: buf.len(),
                available: got,
            });
        }
        Ok(())
    }

    /// Reads `len` bytes into `buf`, replacing what it held, growing it as the bytes
    /// arrive: a corrupt length in a small file costs what the file holds, not `len`
    /// (resizing first made a 48-byte file allocate and zero 16 MiB).
    fn read_vec_at(
        &mut self,
        what: &'static str,
        buf: &mut Vec<u8>,
        len: usize,
        start: u64,
    ) -> Result<(), ReadError> {
        buf.clear();
        // `read_to_end` retries on `Interrupted`, like `read_full`.
        let got = (&mut self.input)
            .take(len as u64)
            .read_to_end(buf)
            .map_err(ReadError::Io)?;
        self.offset += got as u64;
        if got < len {
            return Err(ReadError::Truncated {
                offset: start,
                what,
                needed: len,
                available: got,
            });
        }
        Ok(())
    }

    fn u32_at(&self, bytes: &[u8], swapped: bool) -> u32 {
        let v = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if swapped {
            v.swap_bytes()
        } else {
            v
        }
    }

    fn u16_at(&self, bytes: &[u8], swapped: bool) -> u16 {
        let v = u16::from_ne_bytes([bytes[0], bytes[1]]);
        if swapped {
            v.swap_bytes()
        } else {
            v
        }
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(got)
}

/// `units` timestamp units as a duration, rounded to the nearest nanosecond; `None` units
/// per second is a resolution finer than `u128` holds.
fn units_to_duration(units: u64, units_per_second: Option<u128>) -> Duration {
    let Some(per_second) = units_per_second.filter(|&u| u > 0) else {
        return Duration::ZERO;
    };
    // units * 10^9 < 2^94: no overflow; the quotient's seconds are at most `units`.
    let nanos = (u128::from(units) * 1_000_000_000 + per_second / 2) / per_second;
    Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    )
}

/// Where a packet's `caplen` bytes lie in its block body when they start at `data_at`, if
/// they fit: checked, because `data_at + caplen` wraps on a 32-bit target.
pub(super) fn data_range(
    data_at: usize,
    caplen: usize,
    body_len: usize,
) -> Option<core::ops::Range<usize>> {
    let end = data_at.checked_add(caplen)?;
    (end <= body_len).then_some(data_at..end)
}
