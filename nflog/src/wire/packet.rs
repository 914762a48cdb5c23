//! The packet message: a zero-copy view over one logged packet and its metadata.
//!
//! [`Packet::parse`] walks the attributes once, checks every length, and remembers where
//! each known attribute sits. **After it succeeds, no accessor can panic**: each reads bytes
//! whose presence was checked. Values are big-endian on the wire (as the kernel puts them with
//! `nla_put_be32` and friends); raw byte attributes are returned as slices of the buffer.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Header, ParseError};
use crate::wire::attr::{align4, Attr, Attributes, NLA_HDRLEN, NLA_TYPE_MASK};
use crate::wire::family::{Family, Hook};
use crate::wire::kind::{PacketAttr, MSG_PACKET, NFULA_VLAN_PROTO, NFULA_VLAN_TCI};
use crate::wire::netlink::Message;

/// Size of `struct nfgenmsg`, which opens every nfnetlink message body.
pub const NFGENMSG_LEN: usize = 4;
/// The largest hardware address the kernel sends (`nfulnl_msg_packet_hw.hw_addr[8]`).
pub const MAX_HWADDR_LEN: usize = 8;

const SLOTS: usize = 22;

/// One logged packet, borrowed from the receive buffer (or a file's record).
///
/// Build it with [`Packet::parse`] from a message body, or [`Packet::from_message`].
#[derive(Clone, Copy)]
pub struct Packet<'a> {
    /// `nfgenmsg` then the attributes: exactly a LINKTYPE_NFLOG pcap record.
    body: &'a [u8],
    /// For each known attribute type, the offset of its header in `body`; 0 when absent
    /// (offset 0 holds the nfgenmsg, so it can never be an attribute's).
    slots: [u32; SLOTS],
}

/// A VLAN tag the device stripped and kept aside (`NFULA_VLAN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vlan {
    /// The tag protocol: 0x8100 for 802.1Q, 0x88a8 for 802.1ad.
    pub proto: u16,
    /// The tag control information: priority, drop eligible, VLAN id.
    pub tci: u16,
}

impl Vlan {
    /// The VLAN id, the low 12 bits of the TCI.
    pub const fn id(&self) -> u16 {
        self.tci & 0x0fff
    }

    /// The priority code point, the top 3 bits of the TCI.
    pub const fn priority(&self) -> u8 {
        (self.tci >> 13) as u8
    }

    /// The drop eligible indicator (formerly CFI), bit 12 of the TCI.
    pub const fn drop_eligible(&self) -> bool {
        self.tci & 0x1000 != 0
    }
}

// Perf: the accessors are `#[inline]`, so that reading a field from another crate is a
// slot lookup and a load, not a call (`benches/parse.rs` `parse_touch`: 88 -> 68 ns per
// packet, together with the inlined `wire::netlink` walk).
impl<'a> Packet<'a> {
    /// Parses a packet message body: the `nfgenmsg` and the attributes after it.
    ///
    /// Unknown attribute types are kept (see [`attributes`](Self::attributes)), not rejected.
    /// When an attribute type appears twice, the first one counts.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming what is wrong: a body shorter than the nfgenmsg, an attribute
    /// whose length is under 4 or past the end, a known attribute whose value is shorter than
    /// the kernel's structure, a hardware address longer than 8, a malformed VLAN nest, or a
    /// missing `NFULA_PACKET_HDR`.
    // Perf: `#[inline]`, so that the 104-byte result is built in place in the caller's
    // frame (`Batch::next` is in another codegen unit): `Listener::run` 88 -> 71 ns per
    // packet, as fast as a hand-written recv + parse loop (`examples/burst.rs --only
    // listener,parse --backlog --runs 9`, medians).
    #[inline]
    pub fn parse(body: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        if body.len() < NFGENMSG_LEN {
            return Err(ParseError::Truncated {
                what: Header::Nfgenmsg,
                needed: NFGENMSG_LEN,
                available: body.len(),
            });
        }
        if u32::try_from(body.len()).is_err() {
            // Messages are at most a few hundred KiB: every offset fits in u32.
            return Err(ParseError::MessageLength {
                declared: body.len(),
                available: u32::MAX as usize,
            });
        }
        // Perf: one tight loop over the attribute headers, with the minimum sizes in a
        // table, instead of the `Attributes` iterator and a match per attribute: 787 -> 583
        // instructions (cachegrind) for the 13 attributes of `benches/parse.rs`'s packet. The
        // checks and the errors are the iterator's and `check_value`'s; `tests.rs` compares
        // the two on every input of three property tests.
        let mut slots = [0u32; SLOTS];
        let end = body.len();
        let mut at = NFGENMSG_LEN;
        while at < end {
            let left = end - at;
            let Some(&[l0, l1, t0, t1]) = body[at..].first_chunk::<NLA_HDRLEN>() else {
                return Err(ParseError::Truncated {
                    what: Header::Attribute,
                    needed: NLA_HDRLEN,
                    available: left,
                });
            };
            let len = usize::from(u16::from_ne_bytes([l0, l1]));
            let kind = u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK;
            if len < NLA_HDRLEN || len > left {
                return Err(ParseError::AttributeLength {
                    kind,
                    declared: len,
                    available: left,
                });
            }
            let k = usize::from(kind);
            if k < SLOTS {
                let min = MIN_VALUE[k];
                if min != UNKNOWN {
                    if len - NLA_HDRLEN < usize::from(min) || min == CHECK_FULLY {
                        if let Some(known) = PacketAttr::from_number(kind) {
                            check_value(known, &body[at + NLA_HDRLEN..at + len])?;
                        }
                    }
                    if slots[k] == 0 {
                        // `at` is under `body.len()`, checked above to fit in u32.
                        slots[k] = at as u32;
                    }
                }
            }
            at += align4(len);
        }
        if slots[PacketAttr::PacketHdr as usize] == 0 {
            return Err(ParseError::MissingAttribute {
                attr: PacketAttr::PacketHdr,
            });
        }
        Ok(Packet { body, slots })
    }

    /// Parses a netlink message that must be an nfnetlink_log packet message.
    ///
    /// # Errors
    ///
    /// [`ParseError::NotPacket`] for another message type, else as [`parse`](Self::parse).
    pub fn from_message(message: Message<'a>) -> Result<Packet<'a>, ParseError> {
        if message.message_type() != MSG_PACKET {
            return Err(ParseError::NotPacket {
                message_type: message.message_type(),
            });
        }
        Packet::parse(message.body())
    }

    /// The message body: `nfgenmsg` and attributes, as the kernel sent them.
    ///
    /// This is a LINKTYPE_NFLOG pcap record, in this host's byte order.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.body
    }

    /// The family of the hook that logged the packet.
    #[inline]
    pub fn family(&self) -> Family {
        Family::from_number(self.body[0])
    }

    /// `nfgenmsg.version`, 0 (`NFNETLINK_V0`) from every kernel so far.
    #[inline]
    pub fn version(&self) -> u8 {
        self.body[1]
    }

    /// The log group the packet was sent to (`nfgenmsg.res_id`).
    #[inline]
    pub fn group(&self) -> u16 {
        u16::from_be_bytes([self.body[2], self.body[3]])
    }

    /// The packet's link-layer protocol (an EtherType such as 0x0800), from `NFULA_PACKET_HDR`.
    #[inline]
    pub fn hw_protocol(&self) -> u16 {
        let v = self.required(PacketAttr::PacketHdr);
        u16::from_be_bytes([v[0], v[1]])
    }

    /// The hook number as the kernel sent it.
    #[inline]
    pub fn hook_number(&self) -> u8 {
        self.required(PacketAttr::PacketHdr)[2]
    }

    /// The hook that logged the packet, named for its family.
    pub fn hook(&self) -> Hook {
        Hook::new(self.family(), self.hook_number())
    }

    /// The packet mark; the kernel omits it when it is 0.
    #[inline]
    pub fn mark(&self) -> Option<u32> {
        self.be32(PacketAttr::Mark)
    }

    /// The timestamp as the kernel sent it: seconds and microseconds since the Unix epoch.
    ///
    /// Current kernels send one only for packets logged at PREROUTING, INPUT and FORWARD
    /// (nfnetlink_log.c: `if (hooknum <= NF_INET_FORWARD)`), and for the netdev ingress hook.
    #[inline]
    pub fn timestamp_parts(&self) -> Option<(u64, u64)> {
        let v = self.attribute(PacketAttr::Timestamp)?;
        // Only 4-byte aligned in the message: read bytewise.
        let sec = u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
        let usec = u64::from_be_bytes([v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]]);
        Some((sec, usec))
    }

    /// The timestamp as a `SystemTime`; `None` when absent or not representable.
    pub fn timestamp(&self) -> Option<SystemTime> {
        let (sec, usec) = self.timestamp_parts()?;
        let since_epoch = Duration::from_secs(sec).checked_add(Duration::from_micros(usec))?;
        UNIX_EPOCH.checked_add(since_epoch)
    }

    /// Index of the interface the packet came in on.
    #[inline]
    pub fn indev(&self) -> Option<u32> {
        self.be32(PacketAttr::IfindexIndev)
    }

    /// Index of the interface the packet goes out on.
    #[inline]
    pub fn outdev(&self) -> Option<u32> {
        self.be32(PacketAttr::IfindexOutdev)
    }

    /// Index of the bridge port the packet came in on (with bridge netfilter).
    #[inline]
    pub fn physindev(&self) -> Option<u32> {
        self.be32(PacketAttr::IfindexPhysindev)
    }

    /// Index of the bridge port the packet goes out on (with bridge netfilter).
    #[inline]
    pub fn physoutdev(&self) -> Option<u32> {
        self.be32(PacketAttr::IfindexPhysoutdev)
    }

    /// The source hardware address, `hw_addrlen` bytes of it (6 for Ethernet).
    #[inline]
    pub fn hwaddr(&self) -> Option<&'a [u8]> {
        let v = self.attribute(PacketAttr::Hwaddr)?;
        let len = usize::from(u16::from_be_bytes([v[0], v[1]]));
        v.get(4..4 + len)
    }

    /// The packet from its network header on, cut to the copy range; absent in meta mode.
    #[inline]
    pub fn payload(&self) -> Option<&'a [u8]> {
        self.attribute(PacketAttr::Payload)
    }

    /// The rule's log prefix as bytes, up to its terminating NUL.
    ///
    /// xt_NFLOG always sends a prefix, maybe empty; nft sends one only when the rule has one.
    #[inline]
    pub fn prefix_bytes(&self) -> Option<&'a [u8]> {
        let v = self.attribute(PacketAttr::Prefix)?;
        Some(match v.iter().position(|&b| b == 0) {
            Some(nul) => &v[..nul],
            None => v,
        })
    }

    /// The log prefix as text; invalid UTF-8 is replaced with U+FFFD (no copy when valid).
    #[inline]
    pub fn prefix(&self) -> Option<Cow<'a, str>> {
        // Perf: `from_utf8` first, as prefixes are nearly always valid (short ASCII): 33
        // fewer instructions (cachegrind) than `from_utf8_lossy`'s chunk walk for "bench-in".
        self.prefix_bytes()
            .map(|bytes| match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            })
    }

    /// The user id owning the local socket of the packet, in the listener's user namespace.
    #[inline]
    pub fn uid(&self) -> Option<u32> {
        self.be32(PacketAttr::Uid)
    }

    /// The group id owning the local socket of the packet.
    #[inline]
    pub fn gid(&self) -> Option<u32> {
        self.be32(PacketAttr::Gid)
    }

    /// The group's sequence number (flag `SEQ`), counted from 0 per group.
    #[inline]
    pub fn seq(&self) -> Option<u32> {
        self.be32(PacketAttr::Seq)
    }

    /// The namespace-wide sequence number (flag `SEQ_GLOBAL`), counted from 1.
    #[inline]
    pub fn seq_global(&self) -> Option<u32> {
        self.be32(PacketAttr::SeqGlobal)
    }

    /// The input device's hardware type (`ARPHRD_ETHER` = 1, `ARPHRD_LOOPBACK` = 772, ...).
    #[inline]
    pub fn hwtype(&self) -> Option<u16> {
        self.be16(PacketAttr::Hwtype)
    }

    /// The MAC header as it arrived.
    #[inline]
    pub fn hwheader(&self) -> Option<&'a [u8]> {
        self.attribute(PacketAttr::Hwheader)
    }

    /// The MAC header's length as the kernel reports it.
    #[inline]
    pub fn hwlen(&self) -> Option<u16> {
        self.be16(PacketAttr::Hwlen)
    }

    /// The conntrack entry: nested ctnetlink attributes, raw (flag `CONNTRACK`).
    #[inline]
    pub fn conntrack(&self) -> Option<&'a [u8]> {
        self.attribute(PacketAttr::Ct)
    }

    /// The conntrack entry's attributes (`CTA_*`), one level deep.
    pub fn conntrack_attributes(&self) -> Option<Attributes<'a>> {
        self.conntrack().map(Attributes::new)
    }

    /// The conntrack info (`enum ip_conntrack_info`: 0 established, 1 related, 2 new,
    /// 3 established reply, 4 related reply).
    #[inline]
    pub fn ct_info(&self) -> Option<u32> {
        self.be32(PacketAttr::CtInfo)
    }

    /// The VLAN tag, for bridge and netdev families when the device stripped one.
    pub fn vlan(&self) -> Option<Vlan> {
        let v = self.attribute(PacketAttr::Vlan)?;
        let mut vlan = Vlan { proto: 0, tci: 0 };
        for attr in Attributes::new(v).map_while(Result::ok) {
            let value = attr.value();
            match attr.kind() {
                NFULA_VLAN_PROTO => vlan.proto = u16::from_be_bytes([value[0], value[1]]),
                NFULA_VLAN_TCI => vlan.tci = u16::from_be_bytes([value[0], value[1]]),
                _ => {}
            }
        }
        Some(vlan)
    }

    /// The layer 2 header (bridge and netdev families).
    #[inline]
    pub fn l2hdr(&self) -> Option<&'a [u8]> {
        self.attribute(PacketAttr::L2hdr)
    }

    /// The value of a known attribute, raw, if the packet has it.
    #[inline]
    pub fn attribute(&self, attr: PacketAttr) -> Option<&'a [u8]> {
        let at = *self.slots.get(attr as usize)? as usize;
        if at == 0 {
            return None;
        }
        let header = self.body.get(at..at + NLA_HDRLEN)?;
        let len = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        self.body.get(at + NLA_HDRLEN..at + len)
    }

    /// Every attribute of the message in order, known or not, with its flags.
    ///
    /// Nothing a newer kernel adds is hidden: unknown types appear here.
    pub fn attributes(&self) -> impl Iterator<Item = Attr<'a>> + 'a {
        // `parse` walked these bytes without error, so `map_while` never stops early.
        Attributes::new(&self.body[NFGENMSG_LEN..]).map_while(Result::ok)
    }

    #[inline]
    fn required(&self, attr: PacketAttr) -> &'a [u8] {
        // `parse` checked presence and size of NFULA_PACKET_HDR.
        self.attribute(attr).unwrap_or(&[0; 4])
    }

    #[inline]
    fn be32(&self, attr: PacketAttr) -> Option<u32> {
        let v = self.attribute(attr)?;
        Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    #[inline]
    fn be16(&self, attr: PacketAttr) -> Option<u16> {
        let v = self.attribute(attr)?;
        Some(u16::from_be_bytes([v[0], v[1]]))
    }
}

/// Marks an attribute type the parser does not know (and skips).
const UNKNOWN: u8 = u8::MAX;
/// Marks a type whose value needs more than a size check: `check_value` looks at it.
const CHECK_FULLY: u8 = u8::MAX - 1;

/// For each attribute type under [`SLOTS`], the smallest value every accessor can read, as
/// `check_value` says; the parser calls `check_value` only for a smaller value (to make the
/// error) or a type marked [`CHECK_FULLY`].
const MIN_VALUE: [u8; SLOTS] = {
    let mut table = [UNKNOWN; SLOTS];
    let mut kind = 0;
    while kind < SLOTS {
        if let Some(attr) = PacketAttr::from_number(kind as u16) {
            table[kind] = match attr {
                PacketAttr::Hwaddr | PacketAttr::Vlan => CHECK_FULLY,
                other => min_value(other) as u8,
            };
        }
        kind += 1;
    }
    table
};

/// The smallest value of `attr` that every accessor can read (VLAN and HWADDR need more
/// than that, as `check_value` says).
const fn min_value(attr: PacketAttr) -> usize {
    match attr {
        PacketAttr::PacketHdr => 4,
        PacketAttr::Mark
        | PacketAttr::IfindexIndev
        | PacketAttr::IfindexOutdev
        | PacketAttr::IfindexPhysindev
        | PacketAttr::IfindexPhysoutdev
        | PacketAttr::Uid
        | PacketAttr::Gid
        | PacketAttr::Seq
        | PacketAttr::SeqGlobal
        | PacketAttr::CtInfo => 4,
        PacketAttr::Timestamp => 16,
        PacketAttr::Hwaddr => 4,
        PacketAttr::Hwtype | PacketAttr::Hwlen => 2,
        PacketAttr::Vlan
        | PacketAttr::Payload
        | PacketAttr::Prefix
        | PacketAttr::Hwheader
        | PacketAttr::Ct
        | PacketAttr::L2hdr => 0,
    }
}

/// Checks that a known attribute's value is large enough for every accessor to read it.
fn check_value(attr: PacketAttr, value: &[u8]) -> Result<(), ParseError> {
    if attr == PacketAttr::Vlan {
        return check_vlan(value);
    }
    let min = min_value(attr);
    if value.len() < min {
        return Err(ParseError::AttributeSize {
            attr,
            nested: None,
            needed: min,
            found: value.len(),
        });
    }
    if attr == PacketAttr::Hwaddr {
        let declared = usize::from(u16::from_be_bytes([value[0], value[1]]));
        let available = value.len() - 4;
        if declared > MAX_HWADDR_LEN || declared > available {
            return Err(ParseError::HwAddrLength {
                declared,
                available: available.min(MAX_HWADDR_LEN),
            });
        }
    }
    Ok(())
}

fn check_vlan(value: &[u8]) -> Result<(), ParseError> {
    let nested_error = |source: ParseError| ParseError::Nested {
        attr: PacketAttr::Vlan,
        source: Box::new(source),
    };
    for attr in Attributes::new(value) {
        let attr = attr.map_err(nested_error)?;
        let kind = attr.kind();
        if (kind == NFULA_VLAN_PROTO || kind == NFULA_VLAN_TCI) && attr.value().len() < 2 {
            return Err(ParseError::AttributeSize {
                attr: PacketAttr::Vlan,
                nested: Some(kind),
                needed: 2,
                found: attr.value().len(),
            });
        }
    }
    Ok(())
}

impl core::fmt::Debug for Packet<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Packet");
        d.field("family", &self.family())
            .field("group", &self.group())
            .field("hook", &self.hook())
            .field("hw_protocol", &format_args!("{:#06x}", self.hw_protocol()));
        if let Some(prefix) = self.prefix() {
            d.field("prefix", &prefix);
        }
        if let Some(mark) = self.mark() {
            d.field("mark", &mark);
        }
        if let Some(payload) = self.payload() {
            d.field("payload_len", &payload.len());
        }
        d.finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
