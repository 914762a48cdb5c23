//! The packet message: a view over one logged packet and its metadata, and its plain-value
//! counterpart for building one.
//!
//! [`Packet::parse`] (any buffer: [`Packet::new_checked`]) walks the attributes once, checks
//! every length, and remembers where each known attribute sits: the index travels with the
//! bytes, so a packet is never parsed twice. **After it succeeds, no accessor can panic**:
//! each reads bytes whose presence was checked. Values are big-endian on the wire (as the
//! kernel puts them with `nla_put_be32` and friends).
//!
//! # Building packets
//!
//! [`PacketRepr`] holds a packet's fields as plain values. [`PacketRepr::emit`] writes the
//! bytes the kernel would send for them (nfnetlink_log.c, `__build_packet_message`), and
//! [`PacketRepr::parse`] reads them back from a packet: tests, benchmarks, fuzz seeds and
//! demonstrations build their packets with it.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Header, ParseError};
use crate::wire::attr::{align4, emit, Attr, Attributes, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK};
use crate::wire::family::{Family, Hook};
use crate::wire::kind::{PacketAttr, MSG_PACKET, NFULA_VLAN_PROTO, NFULA_VLAN_TCI};
use crate::wire::netlink::Message;

/// Size of `struct nfgenmsg`, which opens every nfnetlink message body.
pub const NFGENMSG_LEN: usize = 4;
/// The largest hardware address the kernel sends (`nfulnl_msg_packet_hw.hw_addr[8]`).
pub const MAX_HWADDR_LEN: usize = 8;

const SLOTS: usize = 22;

/// A packet's attribute index: for each known attribute type, the offset of its header in
/// the body, 0 when absent.
pub(crate) type Index = [u32; SLOTS];

/// One logged packet: a message body (`nfgenmsg` and attributes) and the index of its
/// attributes, over any buffer.
///
/// Build a borrowed one with [`Packet::parse`] from a message body, or
/// [`Packet::from_message`]; one over any buffer with [`Packet::new_checked`]. The parse
/// checks every length once; after it, no accessor panics.
///
/// # Borrowed and owned packets
///
/// `Packet<T: AsRef<[u8]>>` is the same view over any buffer, as smoltcp's are:
/// `Packet<&'a [u8]>` borrows a receive buffer or a file's record (what a
/// [`Batch`](crate::Batch) yields), `Packet<Vec<u8>>` ([`OwnedPacket`](crate::OwnedPacket))
/// owns its bytes. Accessors that return numbers work on both. Accessors that return slices
/// of the buffer ([`payload`](Packet::payload), [`prefix`](Packet::prefix), ...) live on
/// `Packet<&'a [u8]>` and return `&'a [u8]`, tied to the buffer rather than to the view, so
/// a caller can keep them after the view is gone. An owned packet lends such a view with
/// [`view`](Packet::view), which copies the index and never parses again; a borrowed one
/// becomes owned with [`into_owned`](Packet::into_owned), which copies bytes and index.
#[derive(Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    /// `nfgenmsg` then the attributes: exactly a LINKTYPE_NFLOG pcap record.
    buffer: T,
    /// For each known attribute type, the offset of its header in the body; 0 when absent
    /// (offset 0 holds the nfgenmsg, so it can never be an attribute's).
    slots: Index,
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

/// Where the header of `attr` sits in the body, if the packet has it (0, the nfgenmsg's
/// place, means absent).
#[inline]
fn header_at(slots: &[u32; SLOTS], attr: PacketAttr) -> Option<usize> {
    match *slots.get(attr as usize)? {
        0 => None,
        at => Some(at as usize),
    }
}

/// The value of the attribute whose header sits at `slots[attr]`, if the packet has it.
#[inline]
fn value_at<'b>(body: &'b [u8], slots: &[u32; SLOTS], attr: PacketAttr) -> Option<&'b [u8]> {
    let at = header_at(slots, attr)?;
    let header = body.get(at..at + NLA_HDRLEN)?;
    let len = usize::from(u16::from_ne_bytes([header[0], header[1]]));
    body.get(at + NLA_HDRLEN..at + len)
}

/// Checks a packet message body (`nfgenmsg` and attributes) and fills `slots`, which must
/// be all zero, with the offset of the first attribute of each known type: the whole of
/// [`Packet::new_checked`], on an index the caller placed where the packet will live.
///
/// # Errors
///
/// As [`Packet::new_checked`].
// Perf: one pass over the attribute headers, instead of the `Attributes` iterator and a
// match per attribute: each header read in one load; one table lookup for "at least a
// header and what the type needs" (`MIN_LEN`), anything else sent out of line; the walk's
// place kept as the offset the index stores; one bounds check per attribute, its header's,
// and whether an attribute fits in the body asked only of the last one, after the loop;
// the index filled in place, never copied (figures: docs/benchmarks.md, "Code shaped for
// speed").
// `#[inline(always)]`: the callers are the parse loops. The checks and the errors are the
// iterator's and `check_value`'s; `tests.rs` compares the two on every input of three
// property tests.
#[inline(always)]
pub(crate) fn index_into(body: &[u8], slots: &mut Index) -> Result<(), ParseError> {
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
    let end = body.len();
    let mut at = NFGENMSG_LEN;
    // The last attribute's length and type, for the checks after the loop.
    let (mut len, mut kind) = (0, 0);
    // The header's bounds check is the only one in the loop: an attribute that runs past
    // the body leaves no room for another header after it, so it is the last one read, and
    // whether it fits is asked after the loop.
    while let Some(&header) = body
        .get(at..at + NLA_HDRLEN)
        .and_then(<[u8]>::first_chunk::<NLA_HDRLEN>)
    {
        let header = u32::from_ne_bytes(header);
        // `nla_len` then `nla_type`, each in host byte order: one load, then the halves.
        let (header_len, raw_type) = if cfg!(target_endian = "little") {
            (header & 0xffff, header >> 16)
        } else {
            (header >> 16, header & 0xffff)
        };
        len = header_len as usize;
        kind = raw_type as u16 & NLA_TYPE_MASK;
        let k = usize::from(kind);
        // One table says both "at least a header" and "at least what this type's accessors
        // read"; types past the table, and every shorter attribute, take the full check.
        if k < SLOTS && len >= usize::from(MIN_LEN[k]) {
            if slots[k] == 0 {
                // `at` is under `body.len()`, checked above to fit in u32.
                slots[k] = at as u32;
            }
        } else {
            index_unusual(body, at, kind, slots)?;
        }
        at += align4(len);
    }
    if at > end {
        // The last attribute, unpadded, or one that runs past the end.
        let last = at - align4(len);
        if len > end - last {
            return Err(ParseError::AttributeLength {
                kind,
                declared: len,
                available: end - last,
            });
        }
        at = end;
    }
    if at != end {
        // One to three bytes after the last attribute: too few for a header.
        return Err(ParseError::Truncated {
            what: Header::Attribute,
            needed: NLA_HDRLEN,
            available: end - at,
        });
    }
    slots[0] = 0;
    if slots[PacketAttr::PacketHdr as usize] == 0 {
        return Err(ParseError::MissingAttribute {
            attr: PacketAttr::PacketHdr,
        });
    }
    Ok(())
}

// Perf: the accessors are `#[inline]`, so that reading a field from another crate is a
// slot lookup and a load, not a call (figures: docs/benchmarks.md, "Code shaped for speed").
impl<T: AsRef<[u8]>> Packet<T> {
    /// Parses a packet message body held in any buffer: the `nfgenmsg` and the attributes.
    ///
    /// Unknown attribute types are kept (see [`attributes`](Packet::attributes)), not
    /// rejected. When an attribute type appears twice, the first one counts.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming what is wrong: a body shorter than the nfgenmsg, an attribute
    /// whose length is under 4 or past the end, a known attribute whose value is shorter than
    /// the kernel's structure, a hardware address longer than 8, a malformed VLAN nest, or a
    /// missing `NFULA_PACKET_HDR`.
    // Perf: `#[inline]`, so that the packet is built in place in the caller's frame
    // (`Batch::next` is in another codegen unit) and `Listener::run` costs what a
    // hand-written recv + parse loop does (figures: docs/benchmarks.md, "Code shaped for
    // speed").
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ParseError> {
        let mut packet = Packet::unindexed(buffer);
        packet.fill_index()?;
        Ok(packet)
    }

    /// A packet over `buffer` whose index is still empty (every accessor finds nothing),
    /// for [`fill_index`](Self::fill_index) to fill where the packet already lives.
    #[inline(always)]
    pub(crate) fn unindexed(buffer: T) -> Packet<T> {
        Packet {
            buffer,
            slots: [0; SLOTS],
        }
    }

    /// Checks the body and fills the index of a packet made by
    /// [`unindexed`](Self::unindexed): [`new_checked`](Self::new_checked) in two steps, so
    /// that the packet is built where it is used and never moved out of a `Result`.
    ///
    /// # Errors
    ///
    /// As [`new_checked`](Self::new_checked); the index is then left partly filled.
    #[inline(always)]
    pub(crate) fn fill_index(&mut self) -> Result<(), ParseError> {
        index_into(self.buffer.as_ref(), &mut self.slots)
    }

    /// A borrowed view of this packet, with the index already computed: no parsing.
    #[inline]
    pub fn view(&self) -> Packet<&[u8]> {
        Packet {
            buffer: self.buffer.as_ref(),
            slots: self.slots,
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The attribute index, to keep beside a copy of the bytes.
    pub(crate) fn index(&self) -> Index {
        self.slots
    }

    /// A packet from bytes and the index a parse of the same bytes computed.
    ///
    /// Only for bytes copied together with their index: a foreign index could make the
    /// accessors read a value shorter than they expect.
    pub(crate) fn from_parts(buffer: T, slots: Index) -> Packet<T> {
        Packet { buffer, slots }
    }

    /// The family of the hook that logged the packet.
    #[inline]
    pub fn family(&self) -> Family {
        Family::from_number(self.body()[0])
    }

    /// `nfgenmsg.version`, 0 (`NFNETLINK_V0`) from every kernel so far.
    #[inline]
    pub fn version(&self) -> u8 {
        self.body()[1]
    }

    /// The log group the packet was sent to (`nfgenmsg.res_id`).
    #[inline]
    pub fn group(&self) -> u16 {
        let body = self.body();
        u16::from_be_bytes([body[2], body[3]])
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
        let v = self.value(PacketAttr::Timestamp)?;
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

    /// The MAC header's length as the kernel reports it.
    #[inline]
    pub fn hwlen(&self) -> Option<u16> {
        self.be16(PacketAttr::Hwlen)
    }

    /// The conntrack info (`enum ip_conntrack_info`: 0 established, 1 related, 2 new,
    /// 3 established reply, 4 related reply).
    #[inline]
    pub fn ct_info(&self) -> Option<u32> {
        self.be32(PacketAttr::CtInfo)
    }

    /// The VLAN tag, for bridge and netdev families when the device stripped one.
    pub fn vlan(&self) -> Option<Vlan> {
        let v = self.value(PacketAttr::Vlan)?;
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

    #[inline]
    fn body(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    #[inline]
    fn value(&self, attr: PacketAttr) -> Option<&[u8]> {
        value_at(self.body(), &self.slots, attr)
    }

    /// The length of an attribute's value, from its header alone, if the packet has it.
    #[inline]
    pub(crate) fn value_len(&self, attr: PacketAttr) -> Option<usize> {
        let at = header_at(&self.slots, attr)?;
        let header = self.body().get(at..at + 2)?;
        Some(usize::from(u16::from_ne_bytes([header[0], header[1]])).saturating_sub(NLA_HDRLEN))
    }

    #[inline]
    fn required(&self, attr: PacketAttr) -> &[u8] {
        // `new_checked` checked presence and size of NFULA_PACKET_HDR.
        self.value(attr).unwrap_or(&[0; 4])
    }

    #[inline]
    fn be32(&self, attr: PacketAttr) -> Option<u32> {
        Some(u32::from_be_bytes(*self.value_start(attr)?))
    }

    #[inline]
    fn be16(&self, attr: PacketAttr) -> Option<u16> {
        Some(u16::from_be_bytes(*self.value_start(attr)?))
    }

    /// The first `N` bytes of an attribute's value, if the packet has the attribute: the
    /// parse made sure every known value is at least as long as its type's accessor reads
    /// (`MIN_VALUE`), so they are the value's own.
    // Perf: read after the header without taking the value's slice first, which would
    // check its end as well (figures: docs/benchmarks.md, "Code shaped for speed").
    #[inline]
    fn value_start<const N: usize>(&self, attr: PacketAttr) -> Option<&[u8; N]> {
        let at = header_at(&self.slots, attr)?;
        self.body().get(at + NLA_HDRLEN..)?.first_chunk::<N>()
    }
}

impl<'a> Packet<&'a [u8]> {
    /// Parses a packet message body: the `nfgenmsg` and the attributes after it.
    ///
    /// The borrowed case of [`new_checked`](Packet::new_checked), which it is in every
    /// way but the name: a `&Vec<u8>` argument becomes a `&[u8]` here.
    ///
    /// # Errors
    ///
    /// As [`new_checked`](Packet::new_checked).
    #[inline]
    pub fn parse(body: &'a [u8]) -> Result<Packet<&'a [u8]>, ParseError> {
        Packet::new_checked(body)
    }

    /// Parses a netlink message that must be an nfnetlink_log packet message.
    ///
    /// # Errors
    ///
    /// [`ParseError::NotPacket`] for another message type, else as [`parse`](Self::parse).
    pub fn from_message(message: Message<'a>) -> Result<Packet<&'a [u8]>, ParseError> {
        if message.message_type() != MSG_PACKET {
            return Err(ParseError::NotPacket {
                message_type: message.message_type(),
            });
        }
        Packet::parse(message.body())
    }

    /// Copies bytes and index into a packet that owns them: no parsing.
    pub fn into_owned(self) -> Packet<Vec<u8>> {
        Packet {
            buffer: self.buffer.to_vec(),
            slots: self.slots,
        }
    }

    /// The message body: `nfgenmsg` and attributes, as the kernel sent them.
    ///
    /// This is a LINKTYPE_NFLOG pcap record, in this host's byte order.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buffer
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
        // Perf: `from_utf8` first, as prefixes are nearly always valid (short ASCII), which
        // skips `from_utf8_lossy`'s chunk walk (figures: docs/benchmarks.md, "Code shaped
        // for speed").
        self.prefix_bytes()
            .map(|bytes| match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            })
    }

    /// The MAC header as it arrived.
    #[inline]
    pub fn hwheader(&self) -> Option<&'a [u8]> {
        self.attribute(PacketAttr::Hwheader)
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

    /// The layer 2 header (bridge and netdev families).
    #[inline]
    pub fn l2hdr(&self) -> Option<&'a [u8]> {
        self.attribute(PacketAttr::L2hdr)
    }

    /// The value of a known attribute, raw, if the packet has it.
    #[inline]
    pub fn attribute(&self, attr: PacketAttr) -> Option<&'a [u8]> {
        value_at(self.buffer, &self.slots, attr)
    }

    /// Every attribute of the message in order, known or not, with its flags.
    ///
    /// Nothing a newer kernel adds is hidden: unknown types appear here.
    pub fn attributes(&self) -> impl Iterator<Item = Attr<'a>> + 'a {
        // `new_checked` walked these bytes without error, so `map_while` never stops early.
        Attributes::new(&self.buffer[NFGENMSG_LEN..]).map_while(Result::ok)
    }
}

impl From<Packet<&[u8]>> for Packet<Vec<u8>> {
    fn from(packet: Packet<&[u8]>) -> Packet<Vec<u8>> {
        packet.into_owned()
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    /// The message body, as [`Packet::as_bytes`] gives it.
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Packets are equal when their bytes are: the index follows from them.
impl<T: AsRef<[u8]>, U: AsRef<[u8]>> PartialEq<Packet<U>> for Packet<T> {
    fn eq(&self, other: &Packet<U>) -> bool {
        self.body() == other.body()
    }
}

impl<T: AsRef<[u8]>> Eq for Packet<T> {}

impl<T: AsRef<[u8]>> core::hash::Hash for Packet<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.body().hash(state);
    }
}

/// Marks a type whose value needs more than a size check: above any value's length (at most
/// 65531), so that the parser always hands it to `check_value`.
const CHECK_FULLY: u16 = u16::MAX;

/// For each attribute type under [`SLOTS`], the smallest value every accessor can read, as
/// `check_value` says (0 for the types the parser does not know); the parser calls
/// `check_value` only for a smaller value (to make the error) or a type marked
/// [`CHECK_FULLY`].
const MIN_VALUE: [u16; SLOTS] = {
    let mut table = [0; SLOTS];
    let mut kind = 0;
    while kind < SLOTS {
        if let Some(attr) = PacketAttr::from_number(kind as u16) {
            table[kind] = match attr {
                PacketAttr::Hwaddr | PacketAttr::Vlan => CHECK_FULLY,
                other => min_value(other) as u16,
            };
        }
        kind += 1;
    }
    table
};

/// For each attribute type under [`SLOTS`], the smallest whole attribute (header and value)
/// the parser's loop takes without a closer look: [`MIN_VALUE`] plus the header, so that it
/// is never under 4 ([`CHECK_FULLY`] stays above any length).
const MIN_LEN: [u16; SLOTS] = {
    let mut table = [0; SLOTS];
    let mut kind = 0;
    while kind < SLOTS {
        table[kind] = MIN_VALUE[kind].saturating_add(NLA_HDRLEN as u16);
        kind += 1;
    }
    table
};

/// The parser's way out of its loop for an attribute [`MIN_LEN`] does not let through: a
/// type past the index, a length under the header or past the body, a value shorter than
/// its type needs, or a type marked [`CHECK_FULLY`]. Checks it as the `Attributes` iterator
/// and `check_value` do, and notes it in `slots` when it is known and well formed. Out of
/// line, so that the loop stays small; every packet with a hardware address takes it once.
#[inline(never)]
fn index_unusual(body: &[u8], at: usize, kind: u16, slots: &mut Index) -> Result<(), ParseError> {
    let left = body.len() - at;
    let len = usize::from(u16::from_ne_bytes([body[at], body[at + 1]]));
    if len < NLA_HDRLEN || len > left {
        return Err(ParseError::AttributeLength {
            kind,
            declared: len,
            available: left,
        });
    }
    if let Some(known) = PacketAttr::from_number(kind) {
        check_value(known, &body[at + NLA_HDRLEN..at + len])?;
        let k = usize::from(kind);
        if k < SLOTS && slots[k] == 0 {
            slots[k] = at as u32;
        }
    }
    Ok(())
}

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

impl<T: AsRef<[u8]>> core::fmt::Debug for Packet<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let packet = self.view();
        let mut d = f.debug_struct("Packet");
        d.field("family", &self.family())
            .field("group", &self.group())
            .field("hook", &self.hook())
            .field("hw_protocol", &format_args!("{:#06x}", self.hw_protocol()));
        if let Some(prefix) = packet.prefix() {
            d.field("prefix", &prefix);
        }
        if let Some(mark) = self.mark() {
            d.field("mark", &mark);
        }
        if let Some(payload) = packet.payload() {
            d.field("payload_len", &payload.len());
        }
        d.finish_non_exhaustive()
    }
}

/// A packet message's fields as plain values: what [`PacketRepr::emit`] turns into the bytes
/// the kernel sends, and what [`PacketRepr::parse`] reads back from a [`Packet`].
///
/// `None` is an attribute the kernel leaves out. [`Default`] is an IPv4 packet (EtherType
/// 0x0800) of group 0 at hook 0 with no other attribute, to start a struct literal from:
///
/// ```
/// use nflog::{Packet, PacketRepr};
///
/// let repr = PacketRepr { group: 5, hook: 1, mark: Some(7), ..PacketRepr::default() };
/// let bytes = repr.to_bytes();
/// let packet = Packet::parse(&bytes).unwrap();
/// assert_eq!((packet.group(), packet.mark()), (5, Some(7)));
/// assert_eq!(PacketRepr::parse(&packet), repr);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketRepr {
    /// The family of the hook (`nfgenmsg.nfgen_family`).
    pub family: Family,
    /// The log group (`nfgenmsg.res_id`).
    pub group: u16,
    /// The link-layer protocol, an EtherType (`NFULA_PACKET_HDR`).
    pub hw_protocol: u16,
    /// The hook number (`NFULA_PACKET_HDR`).
    pub hook: u8,
    /// The log prefix without its terminating NUL, which [`emit`](Self::emit) adds
    /// (`NFULA_PREFIX`).
    pub prefix: Option<Vec<u8>>,
    /// The input interface's index (`NFULA_IFINDEX_INDEV`).
    pub indev: Option<u32>,
    /// The output interface's index (`NFULA_IFINDEX_OUTDEV`).
    pub outdev: Option<u32>,
    /// The input bridge port's index (`NFULA_IFINDEX_PHYSINDEV`).
    pub physindev: Option<u32>,
    /// The output bridge port's index (`NFULA_IFINDEX_PHYSOUTDEV`).
    pub physoutdev: Option<u32>,
    /// The packet mark; the kernel sends none for 0 (`NFULA_MARK`).
    pub mark: Option<u32>,
    /// The source hardware address, at most 8 bytes (`NFULA_HWADDR`).
    pub hwaddr: Option<Vec<u8>>,
    /// The input device's hardware type, `ARPHRD_*` (`NFULA_HWTYPE`).
    pub hwtype: Option<u16>,
    /// The MAC header's length (`NFULA_HWLEN`).
    pub hwlen: Option<u16>,
    /// The MAC header (`NFULA_HWHEADER`).
    pub hwheader: Option<Vec<u8>>,
    /// Seconds and microseconds since the Unix epoch (`NFULA_TIMESTAMP`).
    pub timestamp: Option<(u64, u64)>,
    /// The local socket's user id (`NFULA_UID`).
    pub uid: Option<u32>,
    /// The local socket's group id (`NFULA_GID`).
    pub gid: Option<u32>,
    /// The group's sequence number (`NFULA_SEQ`).
    pub seq: Option<u32>,
    /// The namespace-wide sequence number (`NFULA_SEQ_GLOBAL`).
    pub seq_global: Option<u32>,
    /// The conntrack entry's nested ctnetlink attributes, raw (`NFULA_CT`).
    pub conntrack: Option<Vec<u8>>,
    /// How the packet relates to its conntrack entry (`NFULA_CT_INFO`).
    pub ct_info: Option<u32>,
    /// The VLAN tag the device stripped (`NFULA_VLAN`).
    pub vlan: Option<Vlan>,
    /// The layer 2 header, for bridge and netdev families (`NFULA_L2HDR`).
    pub l2hdr: Option<Vec<u8>>,
    /// The packet from its network header on (`NFULA_PAYLOAD`).
    pub payload: Option<Vec<u8>>,
    /// Attributes of types this crate does not know, as `(type with flags, value)`:
    /// emitted last, in this order.
    pub unknown: Vec<(u16, Vec<u8>)>,
}

impl Default for PacketRepr {
    fn default() -> PacketRepr {
        PacketRepr {
            family: Family::Ipv4,
            group: 0,
            hw_protocol: 0x0800,
            hook: 0,
            prefix: None,
            indev: None,
            outdev: None,
            physindev: None,
            physoutdev: None,
            mark: None,
            hwaddr: None,
            hwtype: None,
            hwlen: None,
            hwheader: None,
            timestamp: None,
            uid: None,
            gid: None,
            seq: None,
            seq_global: None,
            conntrack: None,
            ct_info: None,
            vlan: None,
            l2hdr: None,
            payload: None,
            unknown: Vec::new(),
        }
    }
}

/// One attribute's value as [`PacketRepr::emit`] writes it, in the kernel's order.
enum Value<'r> {
    /// `struct nfulnl_msg_packet_hdr`: `be16 hw_protocol; u8 hook; u8 pad`.
    PacketHdr(u16, u8),
    Bytes(&'r [u8]),
    Be16(u16),
    Be32(u32),
    /// `NFULA_PREFIX`: the text, then a NUL.
    Prefix(&'r [u8]),
    /// `struct nfulnl_msg_packet_hw`: `be16 hw_addrlen; u16 pad; u8 hw_addr[8]`.
    Hwaddr(&'r [u8]),
    /// `struct nfulnl_msg_packet_timestamp`: `be64 sec; be64 usec`.
    Timestamp(u64, u64),
    /// `NFULA_VLAN`: TCI then PROTO, nested.
    Vlan(Vlan),
}

impl Value<'_> {
    /// The value's length, without header or padding.
    fn len(&self) -> usize {
        match self {
            Value::PacketHdr(..) => 4,
            Value::Bytes(bytes) => bytes.len(),
            Value::Be16(_) => 2,
            Value::Be32(_) => 4,
            Value::Prefix(text) => text.len() + 1,
            Value::Hwaddr(addr) => 4 + addr.len().max(MAX_HWADDR_LEN),
            Value::Timestamp(..) => 16,
            Value::Vlan(_) => 2 * align4(NLA_HDRLEN + 2),
        }
    }

    fn write(&self, kind: u16, out: &mut Vec<u8>) {
        match *self {
            Value::PacketHdr(hw_protocol, hook) => {
                let [p0, p1] = hw_protocol.to_be_bytes();
                emit(out, kind, &[p0, p1, hook, 0]);
            }
            Value::Bytes(bytes) => emit(out, kind, bytes),
            Value::Be16(v) => emit(out, kind, &v.to_be_bytes()),
            Value::Be32(v) => emit(out, kind, &v.to_be_bytes()),
            Value::Prefix(text) => {
                let mut value = Vec::with_capacity(text.len() + 1);
                value.extend_from_slice(text);
                value.push(0);
                emit(out, kind, &value);
            }
            Value::Hwaddr(addr) => {
                // An address over 8 bytes is written whole, declared length included: the
                // parser refuses it, as it would the kernel's.
                let declared = u16::try_from(addr.len()).unwrap_or(u16::MAX);
                let mut value = vec![0u8; self.len()];
                value[..2].copy_from_slice(&declared.to_be_bytes());
                value[4..4 + addr.len()].copy_from_slice(addr);
                emit(out, kind, &value);
            }
            Value::Timestamp(sec, usec) => {
                let mut value = [0u8; 16];
                value[..8].copy_from_slice(&sec.to_be_bytes());
                value[8..].copy_from_slice(&usec.to_be_bytes());
                emit(out, kind, &value);
            }
            Value::Vlan(vlan) => {
                // nfnetlink_log.c, nfulnl_put_bridge: nla_nest_start, so NLA_F_NESTED is set.
                let mut nest = Vec::with_capacity(self.len());
                emit(&mut nest, NFULA_VLAN_TCI, &vlan.tci.to_be_bytes());
                emit(&mut nest, NFULA_VLAN_PROTO, &vlan.proto.to_be_bytes());
                emit(out, kind | NLA_F_NESTED, &nest);
            }
        }
    }
}

impl PacketRepr {
    /// Reads every field of a parsed packet.
    ///
    /// A known attribute that appears twice keeps its first value, as the accessors do;
    /// attributes of unknown types are kept in [`unknown`](Self::unknown).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> PacketRepr {
        let p = packet.view();
        PacketRepr {
            family: p.family(),
            group: p.group(),
            hw_protocol: p.hw_protocol(),
            hook: p.hook_number(),
            prefix: p.prefix_bytes().map(<[u8]>::to_vec),
            indev: p.indev(),
            outdev: p.outdev(),
            physindev: p.physindev(),
            physoutdev: p.physoutdev(),
            mark: p.mark(),
            hwaddr: p.hwaddr().map(<[u8]>::to_vec),
            hwtype: p.hwtype(),
            hwlen: p.hwlen(),
            hwheader: p.hwheader().map(<[u8]>::to_vec),
            timestamp: p.timestamp_parts(),
            uid: p.uid(),
            gid: p.gid(),
            seq: p.seq(),
            seq_global: p.seq_global(),
            conntrack: p.conntrack().map(<[u8]>::to_vec),
            ct_info: p.ct_info(),
            vlan: p.vlan(),
            l2hdr: p.l2hdr().map(<[u8]>::to_vec),
            payload: p.payload().map(<[u8]>::to_vec),
            unknown: p
                .attributes()
                .filter(|a| PacketAttr::from_number(a.kind()).is_none())
                .map(|a| (a.raw_type(), a.value().to_vec()))
                .collect(),
        }
    }

    /// The attributes in the order nfnetlink_log.c's `__build_packet_message` puts them.
    fn attributes(&self) -> Vec<(u16, Value<'_>)> {
        use PacketAttr as A;
        let mut out = vec![(
            A::PacketHdr as u16,
            Value::PacketHdr(self.hw_protocol, self.hook),
        )];
        let be32 = |out: &mut Vec<_>, attr: A, v: Option<u32>| {
            out.extend(v.map(|v| (attr as u16, Value::Be32(v))));
        };
        if let Some(text) = &self.prefix {
            out.push((A::Prefix as u16, Value::Prefix(text)));
        }
        // A bridge names the port first, then the bridge; IPv4 and IPv6 name the device
        // first, then the bridge port under it (with CONFIG_BRIDGE_NETFILTER).
        if self.family == Family::Bridge {
            be32(&mut out, A::IfindexPhysindev, self.physindev);
            be32(&mut out, A::IfindexIndev, self.indev);
            be32(&mut out, A::IfindexPhysoutdev, self.physoutdev);
            be32(&mut out, A::IfindexOutdev, self.outdev);
        } else {
            be32(&mut out, A::IfindexIndev, self.indev);
            be32(&mut out, A::IfindexPhysindev, self.physindev);
            be32(&mut out, A::IfindexOutdev, self.outdev);
            be32(&mut out, A::IfindexPhysoutdev, self.physoutdev);
        }
        be32(&mut out, A::Mark, self.mark);
        if let Some(addr) = &self.hwaddr {
            out.push((A::Hwaddr as u16, Value::Hwaddr(addr)));
        }
        out.extend(self.hwtype.map(|v| (A::Hwtype as u16, Value::Be16(v))));
        out.extend(self.hwlen.map(|v| (A::Hwlen as u16, Value::Be16(v))));
        if let Some(header) = &self.hwheader {
            out.push((A::Hwheader as u16, Value::Bytes(header)));
        }
        if let Some((sec, usec)) = self.timestamp {
            out.push((A::Timestamp as u16, Value::Timestamp(sec, usec)));
        }
        be32(&mut out, A::Uid, self.uid);
        be32(&mut out, A::Gid, self.gid);
        be32(&mut out, A::Seq, self.seq);
        be32(&mut out, A::SeqGlobal, self.seq_global);
        if let Some(ct) = &self.conntrack {
            // ctnetlink_glue_build opens the nest with nla_nest_start: NLA_F_NESTED is set.
            out.push((A::Ct as u16 | NLA_F_NESTED, Value::Bytes(ct)));
        }
        be32(&mut out, A::CtInfo, self.ct_info);
        if let Some(vlan) = self.vlan {
            out.push((A::Vlan as u16, Value::Vlan(vlan)));
        }
        if let Some(l2) = &self.l2hdr {
            out.push((A::L2hdr as u16, Value::Bytes(l2)));
        }
        if let Some(payload) = &self.payload {
            out.push((A::Payload as u16, Value::Bytes(payload)));
        }
        out.extend(
            self.unknown
                .iter()
                .map(|(kind, v)| (*kind, Value::Bytes(v))),
        );
        out
    }

    /// The length of the message body [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        NFGENMSG_LEN
            + self
                .attributes()
                .iter()
                .map(|(_, value)| align4(NLA_HDRLEN + value.len()))
                .sum::<usize>()
    }

    /// Appends the message body the kernel would send: `nfgenmsg` (version 0), then the
    /// attributes in the kernel's order, each header in host byte order, values
    /// big-endian, `nla_len` without the padding, the padding zeroed; [`buffer_len`]
    /// bytes in all.
    ///
    /// [`buffer_len`]: Self::buffer_len
    ///
    /// # Panics
    ///
    /// If a value is longer than an attribute can describe (65531 bytes), which no kernel
    /// sends: the copy range stops at 65531.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        out.push(self.family.number());
        out.push(0);
        out.extend_from_slice(&self.group.to_be_bytes());
        for (kind, value) in self.attributes() {
            value.write(kind, out);
        }
    }

    /// The message body [`emit`](Self::emit) writes, in a vector of its own.
    ///
    /// # Panics
    ///
    /// As [`emit`](Self::emit).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buffer_len());
        self.emit(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;
