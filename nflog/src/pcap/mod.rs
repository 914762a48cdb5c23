//! pcap and pcapng files of NFLOG records: writing, and reading in either byte order.
//!
//! A LINKTYPE_NFLOG (239) record is the kernel's packet message without its netlink header:
//! the `nfgenmsg` and the attributes as the kernel sent them, attribute headers in the
//! writer's byte order. That is exactly [`Packet::as_bytes`](crate::Packet::as_bytes), so a
//! record we write is byte for byte what `tcpdump -i nflog:N -w` writes for the same packet.

mod read;
mod swap;
pub(crate) mod write;

pub use read::{CaptureReader, ReadError, Record};
pub use swap::{swap_nflog_tlv_headers, swap_nflog_tlv_headers_to_foreign};
pub use write::{InterfaceStats, PcapWriter, PcapngWriter, PCAP_LAST_MICROS, SNAPLEN};

/// The pcap magic number for microsecond timestamps, as written in the writer's order.
pub const PCAP_MAGIC_MICROS: u32 = 0xA1B2_C3D4;
/// The pcap magic number for nanosecond timestamps.
pub const PCAP_MAGIC_NANOS: u32 = 0xA1B2_3C4D;
/// The pcapng byte-order magic of a section header.
pub const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// The link type of a capture: what a record's bytes start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_NFLOG (239): nfgenmsg and NFLOG attributes.
    Nflog,
    /// LINKTYPE_RAW (101): a bare IPv4 or IPv6 packet.
    Raw,
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// Any other link type.
    Other(u16),
}

impl LinkType {
    /// The link type with this number.
    pub const fn from_number(number: u16) -> LinkType {
        match number {
            239 => LinkType::Nflog,
            101 => LinkType::Raw,
            1 => LinkType::Ethernet,
            n => LinkType::Other(n),
        }
    }

    /// The link type's number.
    pub const fn number(self) -> u16 {
        match self {
            LinkType::Nflog => 239,
            LinkType::Raw => 101,
            LinkType::Ethernet => 1,
            LinkType::Other(n) => n,
        }
    }
}

#[cfg(test)]
mod tests;
