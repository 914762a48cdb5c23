//! Conntrack entries: a typed, zero-copy view of `NFULA_CT` and `NFULA_CT_INFO`.
//!
//! With flag [`CONNTRACK`](crate::Flags::CONNTRACK), nfnetlink_log attaches the packet's
//! conntrack entry as `NFULA_CT`: the same nested ctnetlink attributes (`CTA_*`) that
//! `conntrack -L` reads, built by ctnetlink's own helpers (`ctnetlink_glue_build` in
//! nf_conntrack_netlink.c): both tuples, zone, id, status, timeout, protocol state, helper,
//! security context, master tuple, mark, labels, sequence adjustment, and the counters when
//! accounting is on (`nf_conntrack_acct`) and timestamps when time stamping is
//! (`nf_conntrack_timestamp`). `CTA_USE` is not among them (ctnetlink dumps send it).
//! `NFULA_CT_INFO` says how the packet relates to the entry: [`CtInfo`].
//!
//! The kernel attaches them only when built with `CONFIG_NETFILTER_NETLINK_GLUE_CT`; without
//! it, asking for the flag fails with [`Error::Unsupported`](crate::Error::Unsupported).
//!
//! [`Conntrack::parse`] walks the attributes once, checks every length down to the tuples'
//! addresses and ports and the counters, and remembers where each top-level attribute sits.
//! **After it succeeds, no accessor can panic**, and none copies: [`labels`](Conntrack::labels)
//! and [`attribute`](Conntrack::attribute) return slices of the buffer; tuples and counters
//! are small values read on demand. Values are big-endian, headers in host byte order.
//!
//! ```no_run
//! use nflog::conntrack::{Conntrack, CtInfo};
//! use nflog::{Flags, GroupConfig, Listener};
//!
//! # fn main() -> Result<(), nflog::Error> {
//! let mut listener = Listener::builder()
//!     .group(5)
//!     .config(GroupConfig::new().flags(Flags::CONNTRACK))
//!     .bind()?;
//! while let Some(batch) = listener.recv()? {
//!     for packet in batch {
//!         let packet = packet?;
//!         if let Some(ct) = Conntrack::from_packet(&packet)? {
//!             let info = CtInfo::from_packet(&packet);
//!             println!("id {:?} {:?} {:?} {:?}", ct.id(), info, ct.status(), ct.original());
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

mod counters;
mod info;
mod status;
mod tuple;
mod value;

pub use crate::wire::ctattr::CtAttr;
pub use counters::Counters;
pub use info::CtInfo;
pub use status::Status;
pub use tuple::Tuple;

/// The numbers of the attributes nested in a conntrack entry's tuples and counters, for
/// reading what [`Conntrack::attribute`] returns.
pub mod attr {
    pub use crate::wire::ctattr::{counters, ip, proto, tuple};
}

use crate::error::{Header, ParseError};
use crate::wire::attr::{align4, Attr, Attributes, NLA_HDRLEN};
use crate::wire::packet::Packet;
use value::{be16, be32};

/// One slot per `CTA_*` type this crate knows, and 0.
const SLOTS: usize = 27;

/// A conntrack entry, borrowed from the bytes of `NFULA_CT` (or of a ctnetlink message).
///
/// Build it with [`Conntrack::parse`] or [`Conntrack::from_packet`]. Every accessor returns
/// `None` when the kernel left the attribute out. When a type appears twice, the first one
/// counts.
#[derive(Clone, Copy)]
pub struct Conntrack<'a> {
    bytes: &'a [u8],
    /// For each known type, the offset of its attribute's header plus one; 0 when absent.
    slots: [usize; SLOTS],
}

impl<'a> Conntrack<'a> {
    /// Parses the attributes of a conntrack entry: the value of `NFULA_CT`, or the
    /// attributes after the `nfgenmsg` of a ctnetlink message.
    ///
    /// Unknown types are kept (see [`attributes`](Self::attributes)), not rejected.
    ///
    /// # Errors
    ///
    /// [`ParseError::Conntrack`], naming the attribute by its `CTA_*` path, for an attribute
    /// whose length is under 4 or past the end of its nest (at any depth this crate reads),
    /// or a value shorter than its type: 4 bytes for `CTA_STATUS`, `CTA_ID`, `CTA_MARK`,
    /// `CTA_TIMEOUT`, `CTA_USE`; 2 for `CTA_ZONE`; 4 or 16 for addresses; 1 or 2 for the
    /// fields of `CTA_TUPLE_PROTO`; 8 (or 4) for counters.
    pub fn parse(bytes: &'a [u8]) -> Result<Conntrack<'a>, ParseError> {
        let mut slots = [0usize; SLOTS];
        let mut offset = 0;
        for attr in Attributes::new(bytes) {
            let attr = attr.map_err(|e| framing(&[], e))?;
            let at = offset;
            offset += align4(NLA_HDRLEN + attr.value().len());
            check_attr(&[], attr.kind(), attr.value())?;
            if let Some(slot) = slots.get_mut(usize::from(attr.kind())) {
                if *slot == 0 {
                    *slot = at + 1;
                }
            }
        }
        Ok(Conntrack { bytes, slots })
    }

    /// The conntrack entry of a packet (`NFULA_CT`), if it has one.
    ///
    /// The kernel attaches it when the group has flag [`CONNTRACK`](crate::Flags::CONNTRACK)
    /// and the packet belongs to a tracked connection.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn from_packet(packet: &Packet<&'a [u8]>) -> Result<Option<Conntrack<'a>>, ParseError> {
        packet.conntrack().map(Conntrack::parse).transpose()
    }

    /// The bytes parsed: the attributes as the kernel sent them.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The entry's id (`CTA_ID`): stable while the entry lives, the same in every message
    /// about it. Not unique over time: the kernel derives it from a hash of the entry.
    pub fn id(&self) -> Option<u32> {
        self.attribute(CtAttr::Id).and_then(be32)
    }

    /// The status bits (`CTA_STATUS`).
    pub fn status(&self) -> Option<Status> {
        self.attribute(CtAttr::Status)
            .and_then(be32)
            .map(Status::from_bits)
    }

    /// The connection mark (`CTA_MARK`, nft `ct mark`, iptables `CONNMARK`). Current
    /// kernels send it even when 0; older ones only when it was not.
    pub fn mark(&self) -> Option<u32> {
        self.attribute(CtAttr::Mark).and_then(be32)
    }

    /// The conntrack zone (`CTA_ZONE`, nft `ct zone set`), sent only when it is not the
    /// default zone 0 and applies to both directions; a zone for one direction is in that
    /// direction's [`Tuple::zone`].
    pub fn zone(&self) -> Option<u16> {
        self.attribute(CtAttr::Zone).and_then(be16)
    }

    /// Seconds left before the entry expires unless traffic renews it (`CTA_TIMEOUT`).
    pub fn timeout(&self) -> Option<u32> {
        self.attribute(CtAttr::Timeout).and_then(be32)
    }

    /// The entry's reference count (`CTA_USE`); ctnetlink dumps send it, NFLOG does not.
    pub fn use_count(&self) -> Option<u32> {
        self.attribute(CtAttr::Use).and_then(be32)
    }

    /// The connection labels (`CTA_LABELS`, nft `ct label`), sent when at least one is
    /// set: a 128-bit bitmap (16 bytes), stored as the kernel's `unsigned long` words in
    /// its byte order; on little-endian hosts label `n` is bit `n % 8` of byte `n / 8`.
    pub fn labels(&self) -> Option<&'a [u8]> {
        self.attribute(CtAttr::Labels)
    }

    /// The tuple of the original direction (`CTA_TUPLE_ORIG`): who started the connection.
    pub fn original(&self) -> Option<Tuple> {
        self.attribute(CtAttr::TupleOrig).map(Tuple::read)
    }

    /// The tuple of the reply direction (`CTA_TUPLE_REPLY`): what answers look like, after
    /// NAT if any (source and destination swapped, and rewritten).
    pub fn reply(&self) -> Option<Tuple> {
        self.attribute(CtAttr::TupleReply).map(Tuple::read)
    }

    /// The tuple of the master connection (`CTA_TUPLE_MASTER`), for an expected connection
    /// (status [`Status::EXPECTED`]), such as the FTP control connection of a data one.
    pub fn master(&self) -> Option<Tuple> {
        self.attribute(CtAttr::TupleMaster).map(Tuple::read)
    }

    /// Packets and bytes of the original direction (`CTA_COUNTERS_ORIG`), when
    /// accounting is on.
    pub fn counters_original(&self) -> Option<Counters> {
        self.attribute(CtAttr::CountersOrig)
            .and_then(Counters::read)
    }

    /// Packets and bytes of the reply direction (`CTA_COUNTERS_REPLY`), when accounting
    /// is on.
    pub fn counters_reply(&self) -> Option<Counters> {
        self.attribute(CtAttr::CountersReply)
            .and_then(Counters::read)
    }

    /// The value of a top-level attribute, raw, if the entry has it.
    pub fn attribute(&self, attr: CtAttr) -> Option<&'a [u8]> {
        let at = self.slots.get(attr as usize)?.checked_sub(1)?;
        let header = self.bytes.get(at..at.checked_add(NLA_HDRLEN)?)?;
        let len = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        self.bytes
            .get(at.checked_add(NLA_HDRLEN)?..at.checked_add(len)?)
    }

    /// Every top-level attribute in order, known or not, with its flags; descend with
    /// [`Attr::nested`].
    pub fn attributes(&self) -> impl Iterator<Item = Attr<'a>> + 'a {
        // `parse` walked these bytes without error, so `map_while` never stops early.
        Attributes::new(self.bytes).map_while(Result::ok)
    }
}

/// Checks one attribute found inside the nests `outer`: its value's size and, for a nest
/// this crate reads, what it holds.
fn check_attr(outer: &[u16], kind: u16, value: &[u8]) -> Result<(), ParseError> {
    let needed = crate::wire::ctattr::value_size(outer, kind);
    if value.len() < needed {
        let mut path = outer.to_vec();
        path.push(kind);
        return Err(ParseError::Conntrack {
            path,
            source: Box::new(ParseError::Truncated {
                what: Header::Value,
                needed,
                available: value.len(),
            }),
        });
    }
    if crate::wire::ctattr::is_nest(outer, kind) {
        // Nests go two levels deep at most (tuple > CTA_TUPLE_IP > address).
        let inner: &[u16] = match outer {
            [] => &[kind],
            [t] => &[*t, kind],
            _ => return Ok(()),
        };
        for attr in Attributes::new(value) {
            let attr = attr.map_err(|e| framing(inner, e))?;
            check_attr(inner, attr.kind(), attr.value())?;
        }
    }
    Ok(())
}

/// Places an attribute framing error (from [`Attributes`]) at its path.
fn framing(outer: &[u16], error: ParseError) -> ParseError {
    let mut path = outer.to_vec();
    if let ParseError::AttributeLength { kind, .. } = error {
        path.push(kind);
    }
    ParseError::Conntrack {
        path,
        source: Box::new(error),
    }
}

impl core::fmt::Debug for Conntrack<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Conntrack");
        if let Some(id) = self.id() {
            d.field("id", &id);
        }
        if let Some(status) = self.status() {
            d.field("status", &status);
        }
        if let Some(original) = self.original() {
            d.field("original", &original);
        }
        if let Some(reply) = self.reply() {
            d.field("reply", &reply);
        }
        if let Some(mark) = self.mark() {
            d.field("mark", &mark);
        }
        if let Some(zone) = self.zone() {
            d.field("zone", &zone);
        }
        if let Some(timeout) = self.timeout() {
            d.field("timeout", &timeout);
        }
        d.finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests;
