//! The link layer of a logged packet: its Ethernet header and VLAN tags.
//!
//! For the bridge and netdev families nfnetlink_log.c (`nfulnl_put_bridge`) adds two
//! attributes: `NFULA_L2HDR`, the bytes from the MAC header to the network header, and
//! `NFULA_VLAN`, the tag the kernel holds outside the frame (`skb->vlan_tci`). Packets of
//! other families that came in on a device carry `NFULA_HWHEADER` instead, the device's
//! `hard_header_len` bytes from the MAC header. [`decode_link`] reads either as an Ethernet
//! header and lists the VLAN tags, each split into id, priority and drop eligible indicator.
//! Nothing is allocated; a header that is not Ethernet gives `None`.
//!
//! # What the kernel does with VLAN tags
//!
//! Read in the kernel source and checked against Linux 6.18 by `tests/kernel_bridge.rs`:
//!
//! - On receive, `__netif_receive_skb_core` takes the outer 802.1Q or 802.1ad tag out of the
//!   frame (`skb_vlan_untag`), before the netdev ingress hook and whether or not the 8021q
//!   module is there, and slides the MAC addresses over it (`skb_reorder_vlan_header`).
//!   NFLOG reports that tag as `NFULA_VLAN`; `NFULA_L2HDR` and `NFULA_HWHEADER` then end with
//!   the EtherType that followed the tag, which is also `hw_protocol`. A bridge without VLAN
//!   filtering leaves the tag outside the frame, and it is still there at the netdev egress
//!   hook of the port the frame leaves by: `__dev_queue_xmit` runs that hook before
//!   `validate_xmit_vlan` could put the tag back into the frame.
//! - Only one tag is taken out. A second one (802.1ad outside, 802.1Q inside) stays in the
//!   frame, split across two attributes: its TPID is the last two bytes of `NFULA_L2HDR` and
//!   is `hw_protocol`; its TCI and the next EtherType are the first four bytes of the payload.
//! - The payload is copied from `skb->data`: the network header in every hook except netdev
//!   **egress**, where `__dev_queue_xmit` runs the hook with `skb->data` still at the MAC
//!   header, so the payload starts with the same bytes as `NFULA_L2HDR`.
//!
//! [`Link::network_offset`] says where the network header starts in the payload, whichever
//! of these applies. [`payload_start`] has where the payload starts for every family and
//! hook (also the arp family's output hook, which starts at the link-layer header too), and
//! [`network_header`], which [`decode`](super::decode) uses, puts the two together.
//!
//! # Which header
//!
//! `NFULA_L2HDR` when present, else `NFULA_HWHEADER`. Either is read as Ethernet when it is
//! at least 14 bytes long and the device's hardware type (`NFULA_HWTYPE`) is Ethernet or
//! loopback (whose header has Ethernet's layout, all zeros). At the netdev egress hook the
//! kernel sends no hardware type: there `NFULA_L2HDR` is read as Ethernet on its length alone.

use crate::wire::family::{Family, Hook};
use crate::wire::packet::{Packet, Vlan};
use crate::wire::proto::{self, be16, ARPHRD_ETHER, ARPHRD_LOOPBACK, ETHERTYPE_ARP};

/// The length of an Ethernet header without tags: two addresses and the EtherType.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// The TPID of an 802.1Q (customer) VLAN tag.
pub const TPID_8021Q: u16 = proto::TPID_8021Q;
/// The TPID of an 802.1ad (service, "QinQ") VLAN tag.
pub const TPID_8021AD: u16 = proto::TPID_8021AD;
/// How many tags left in the frame [`decode_link`] lists; a frame with more is not followed
/// to its network header ([`Link::protocol`] is `None`).
pub const MAX_IN_BAND_TAGS: usize = 4;

/// A tag's TCI and the EtherType after it: what follows a TPID.
const TAG_REST_LEN: usize = 4;

/// An Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ethernet {
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// Source MAC address.
    pub src: [u8; 6],
    /// The type field after the addresses, as it stands in the header: a TPID when the frame
    /// still carries a tag (see [`Link::protocol`] for the protocol after the tags).
    pub ethertype: u16,
}

/// The attribute the link-layer header was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkHeader {
    /// `NFULA_L2HDR` (bridge and netdev families).
    L2hdr,
    /// `NFULA_HWHEADER` (a packet that came in on a device, any family).
    Hwheader,
}

/// A VLAN tag, split into its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VlanTag {
    /// The tag protocol identifier: [`TPID_8021Q`] or [`TPID_8021AD`].
    pub proto: u16,
    /// The tag control information as sent: priority, drop eligible, VLAN id.
    pub tci: u16,
    /// The VLAN id, 12 bits.
    pub id: u16,
    /// The priority code point, 3 bits.
    pub priority: u8,
    /// The drop eligible indicator (formerly CFI).
    pub drop_eligible: bool,
}

impl From<Vlan> for VlanTag {
    fn from(vlan: Vlan) -> VlanTag {
        VlanTag {
            proto: vlan.proto,
            tci: vlan.tci,
            id: vlan.id(),
            priority: vlan.priority(),
            drop_eligible: vlan.drop_eligible(),
        }
    }
}

/// The VLAN tags still in the frame, outermost first; at most [`MAX_IN_BAND_TAGS`].
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct InBandTags {
    tags: [VlanTag; MAX_IN_BAND_TAGS],
    len: u8,
}

impl InBandTags {
    /// The tags, outermost first.
    pub fn as_slice(&self) -> &[VlanTag] {
        &self.tags[..usize::from(self.len)]
    }

    /// How many tags there are.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a tag; `false` when there is no room left.
    fn push(&mut self, tag: VlanTag) -> bool {
        match self.tags.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = tag;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

impl core::fmt::Debug for InBandTags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The link layer of a packet: Ethernet header, VLAN tags, where the network layer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The Ethernet header.
    pub ethernet: Ethernet,
    /// Which attribute it was read from.
    pub header: LinkHeader,
    /// The tag the kernel took out of the frame (`NFULA_VLAN`), the outermost one.
    pub out_of_band: Option<VlanTag>,
    /// The tags still in the frame, outermost first: in the header, or, past its end, at the
    /// start of the payload (see the module doc).
    pub in_band: InBandTags,
    /// The EtherType after every tag: the network protocol. `None` when the bytes ran out
    /// inside a tag (a cut payload, meta copy mode, or more than [`MAX_IN_BAND_TAGS`] tags).
    pub protocol: Option<u16>,
    /// How many payload bytes come before the network header: 0 where the payload starts
    /// at the network header, the header's length at netdev egress, plus 4 for each tag in
    /// the payload. Meaningful when [`protocol`](Self::protocol) is `Some`.
    pub network_offset: usize,
}

impl Link {
    /// The outermost VLAN tag: the one taken out of the frame, else the first left in it.
    pub fn outer_tag(&self) -> Option<VlanTag> {
        self.out_of_band
            .or_else(|| self.in_band.as_slice().first().copied())
    }

    /// Every VLAN tag, outermost first: the one taken out of the frame, then those in it.
    pub fn tags(&self) -> impl Iterator<Item = VlanTag> + '_ {
        self.out_of_band
            .into_iter()
            .chain(self.in_band.as_slice().iter().copied())
    }
}

/// Decodes the link layer of a logged packet: its Ethernet header and VLAN tags.
///
/// Reads `NFULA_L2HDR`, else `NFULA_HWHEADER`, and `NFULA_VLAN`; follows tags that are
/// still in the frame into the payload. `None` when the packet has neither header or it is
/// not Ethernet (see the module doc). Never panics.
pub fn decode_link(packet: &Packet<&[u8]>) -> Option<Link> {
    let ethernet_like = |hwtype: u16| hwtype == ARPHRD_ETHER || hwtype == ARPHRD_LOOPBACK;
    let (bytes, header) = match (packet.l2hdr(), packet.hwheader()) {
        (Some(l2hdr), _) if packet.hwtype().is_none_or(ethernet_like) => (l2hdr, LinkHeader::L2hdr),
        (None, Some(hwheader)) if packet.hwtype().is_some_and(ethernet_like) => {
            (hwheader, LinkHeader::Hwheader)
        }
        _ => return None,
    };
    let addresses = bytes.get(..12)?;
    let ethertype = be16(bytes, 12)?;
    let mut dst = [0; 6];
    let mut src = [0; 6];
    dst.copy_from_slice(&addresses[..6]);
    src.copy_from_slice(&addresses[6..]);

    // The bytes after the header, in the payload, where a tag left in the frame continues:
    // only past NFULA_L2HDR, whose end is the network header. At netdev egress the payload
    // repeats the header first.
    let payload_start = match header {
        LinkHeader::L2hdr if at_netdev_egress(packet) => bytes.len(),
        _ => 0,
    };
    let tail = match header {
        LinkHeader::L2hdr => packet
            .payload()
            .and_then(|payload| payload.get(payload_start..))
            .unwrap_or_default(),
        LinkHeader::Hwheader => &[],
    };

    // Walk the tags: `at` is the offset of the type field, in the header then the tail.
    let byte = |i: usize| match i.checked_sub(bytes.len()) {
        None => bytes.get(i).copied(),
        Some(j) => tail.get(j).copied(),
    };
    let word = |i: usize| Some(u16::from_be_bytes([byte(i)?, byte(i + 1)?]));
    let mut in_band = InBandTags::default();
    let mut at = 12;
    let mut protocol = Some(ethertype);
    while let Some(tpid) = protocol.filter(|&t| is_tpid(t)) {
        let rest = word(at + 2).zip(word(at + 4));
        protocol = match rest {
            Some((tci, next)) if in_band.push(Vlan { proto: tpid, tci }.into()) => {
                at += TAG_REST_LEN;
                Some(next)
            }
            _ => None,
        };
    }
    // The network header starts after the last type field, or at the end of the header if
    // that is further on.
    let network_offset = payload_start + (at + 2).saturating_sub(bytes.len());

    Some(Link {
        ethernet: Ethernet {
            dst,
            src,
            ethertype,
        },
        header,
        out_of_band: packet.vlan().map(VlanTag::from),
        in_band,
        protocol,
        network_offset,
    })
}

/// What a logged packet's payload starts with, by the family and hook that logged it (see
/// [`payload_start`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadStart {
    /// The network header: IPv4, IPv6, ARP, ... (bridge and netdev packets may still
    /// begin with the rest of a VLAN tag left in the frame; see the module doc).
    Network,
    /// The link-layer header, as the device is about to send it.
    Link,
}

/// What the payload of a packet logged by `family` at `hook` starts with.
///
/// nfnetlink_log.c copies the payload from `skb->data`, which is wherever the path that
/// ran the hook left it. Read in the kernel source and checked against Linux 6.18, for
/// every family and hook nftables offers, by `tests/kernel_payload_start.rs`:
///
/// | family | hook | payload starts at | because |
/// |---|---|---|---|
/// | ipv4, ipv6 (`ip`, `ip6`, `inet`) | prerouting, input, forward | network header | `ip_rcv`/`ipv6_rcv` run after `eth_type_trans` pulled the link header |
/// | ipv4, ipv6 | output, postrouting | network header | `ip_output`/`ip6_output` run them before `neigh_output` pushes the link header |
/// | ipv4, ipv6 (`inet`) | ingress | network header | run from the receive path after `eth_type_trans` |
/// | arp | input | network header (ARP) | `arp_rcv`, after `eth_type_trans` |
/// | arp | **output** | **link-layer header** | `arp_xmit` runs it on the frame `arp_create` built with `dev_hard_header` |
/// | arp | forward | network header (ARP) | (source only: `br_nf_forward_arp`, for arptables; nftables has no such hook) |
/// | bridge | all five | network header | `br_handle_frame` after `eth_type_trans`; `br_dev_xmit` pulls the header before local output; postrouting runs before `br_dev_queue_push_xmit` pushes it back |
/// | netdev | ingress | network header | `__netif_receive_skb_core`, after `eth_type_trans` |
/// | netdev | **egress** | **link-layer header** | `__dev_queue_xmit` runs it before the driver |
///
/// A packet cut by the copy range starts at the same place; a device without a link-layer
/// header (`hard_header_len` 0, such as a tun device) has nothing before its network header.
pub fn payload_start(family: Family, hook: Hook) -> PayloadStart {
    match (family, hook) {
        (Family::Netdev, Hook::Egress) | (Family::Arp, Hook::ArpOut) => PayloadStart::Link,
        _ => PayloadStart::Network,
    }
}

/// Where the network header is in a packet's payload (see [`network_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkHeader<'a> {
    /// The network header is at `offset` in the payload.
    At {
        /// Its EtherType: `hw_protocol`, or the type field after the link-layer header and
        /// the VLAN tags when the payload starts with those.
        protocol: u16,
        /// How many payload bytes come before it.
        offset: usize,
        /// The payload from the network header on (maybe cut by the copy range).
        header: &'a [u8],
    },
    /// The payload ends before the network header (inside the link header or a tag).
    Cut,
    /// The payload starts with a link-layer header that is not Ethernet, so where the
    /// network header starts is unknown.
    UnknownLink,
    /// No payload (meta copy mode).
    NoPayload,
}

/// Finds the network header in a packet's payload, past what the payload holds of the link
/// layer: the link-layer header where the hook sees one ([`payload_start`]), and the VLAN
/// tags left in a bridge or netdev frame, whose TPID is then `hw_protocol` (see the module
/// doc). Never panics.
pub fn network_header<'a>(packet: &Packet<&'a [u8]>) -> NetworkHeader<'a> {
    let Some(payload) = packet.payload() else {
        return NetworkHeader::NoPayload;
    };
    let at_start = NetworkHeader::At {
        protocol: packet.hw_protocol(),
        offset: 0,
        header: payload,
    };
    let family = packet.family();
    // Perf: asked only of the families where the hook can put a link-layer header first,
    // not of every IPv4 and IPv6 packet.
    let starts_with_link = || payload_start(family, packet.hook()) == PayloadStart::Link;
    match family {
        // No NFULA_L2HDR here, nor any hardware attribute at the output hook: the header
        // is what dev_hard_header wrote, read as Ethernet.
        Family::Arp if starts_with_link() => arp_behind_ethernet(payload),
        Family::Bridge | Family::Netdev if starts_with_link() || is_tpid(packet.hw_protocol()) => {
            match decode_link(packet) {
                Some(
                    link @ Link {
                        header: LinkHeader::L2hdr,
                        ..
                    },
                ) => match (link.protocol, payload.get(link.network_offset..)) {
                    (Some(protocol), Some(header)) => NetworkHeader::At {
                        protocol,
                        offset: link.network_offset,
                        header,
                    },
                    _ => NetworkHeader::Cut,
                },
                // No L2HDR (no MAC header, or not Ethernet): the payload is all we know.
                _ => at_start,
            }
        }
        _ => at_start,
    }
}

/// The ARP header of a frame logged at the arp family's output hook: after an Ethernet
/// header whose type field, past any VLAN tags the device wrote in, is ARP.
fn arp_behind_ethernet(frame: &[u8]) -> NetworkHeader<'_> {
    let mut at = 12;
    for _ in 0..=MAX_IN_BAND_TAGS {
        match be16(frame, at) {
            Some(ETHERTYPE_ARP) => {
                let offset = at + 2;
                return match frame.get(offset..) {
                    Some(header) => NetworkHeader::At {
                        protocol: ETHERTYPE_ARP,
                        offset,
                        header,
                    },
                    None => NetworkHeader::Cut,
                };
            }
            Some(tpid) if is_tpid(tpid) => at += TAG_REST_LEN,
            Some(_) => return NetworkHeader::UnknownLink,
            None => return NetworkHeader::Cut,
        }
    }
    NetworkHeader::UnknownLink
}

/// Whether the packet was logged at a netdev egress hook, whose payload starts at the MAC
/// header.
fn at_netdev_egress(packet: &Packet<&[u8]>) -> bool {
    packet.family() == Family::Netdev && packet.hook() == Hook::Egress
}

/// Whether an EtherType is a VLAN tag's TPID, as the kernel's `eth_type_vlan` sees it.
fn is_tpid(ethertype: u16) -> bool {
    ethertype == TPID_8021Q || ethertype == TPID_8021AD
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::decode::{decode, Cut, Decoded, Network, Transport};
    use crate::wire::attr::{align4, emit, NLA_F_NESTED, NLA_HDRLEN};
    use crate::wire::packet::{PacketRepr, NFGENMSG_LEN};

    /// Converts a record written by a little-endian host to this host's byte order: the
    /// attribute headers are swapped (values are big-endian on every host), one level deep;
    /// the nested `NFULA_VLAN` is swapped too. The identity on little-endian machines.
    fn host_order(record: &[u8]) -> Vec<u8> {
        let mut out = record.to_vec();
        swap_attributes(&mut out, NFGENMSG_LEN);
        out
    }

    fn swap_attributes(out: &mut [u8], mut at: usize) {
        while at + NLA_HDRLEN <= out.len() {
            let len = u16::from_le_bytes([out[at], out[at + 1]]);
            let kind = u16::from_le_bytes([out[at + 2], out[at + 3]]);
            out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
            out[at + 2..at + 4].copy_from_slice(&kind.to_ne_bytes());
            let end = (at + usize::from(len)).min(out.len());
            if kind & NLA_F_NESTED != 0 {
                swap_attributes(&mut out[..end], at + NLA_HDRLEN);
            }
            at += align4(usize::from(len).max(NLA_HDRLEN));
        }
    }

    /// A packet of `family` logged to group 7 at `hook`, with no attribute but
    /// NFULA_PACKET_HDR: tests add theirs with `..repr(...)`.
    fn repr(family: Family, hw_protocol: u16, hook: u8) -> PacketRepr {
        PacketRepr {
            family,
            group: 7,
            hw_protocol,
            hook,
            ..PacketRepr::default()
        }
    }

    /// A packet message body laid out by hand: nfgenmsg then the given attributes (host
    /// order, values as given). Only for what `PacketRepr` does not write: a VLAN nest of
    /// any bytes.
    fn raw_body(family: Family, hw_protocol: u16, hook: u8, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut out = vec![family.number(), 0, 0, 7];
        let mut hdr = hw_protocol.to_be_bytes().to_vec();
        hdr.extend_from_slice(&[hook, 0]);
        emit(&mut out, 1, &hdr);
        for (kind, value) in attrs {
            emit(&mut out, *kind, value);
        }
        out
    }

    const NFULA_PAYLOAD: u16 = 9;
    const NFULA_HWTYPE: u16 = 15;
    const NFULA_HWHEADER: u16 = 16;
    const NFULA_VLAN: u16 = 20 | NLA_F_NESTED;
    const NFULA_L2HDR: u16 = 21;

    /// Child B's veth (destination) and child A's (source) in the captures below.
    const MAC_B: [u8; 6] = [0xd6, 0xd3, 0xed, 0x6f, 0x04, 0xb2];
    const MAC_A: [u8; 6] = [0x72, 0xad, 0xdb, 0xd8, 0x3d, 0x18];

    // -----------------------------------------------------------------------------------
    // Records captured from the kernel (6.18, x86_64, little-endian) with the setup of
    // `tests/kernel_bridge.rs`: br0 with ports vethA and vethB (indexes 4 and 6; br0 is 2),
    // whose peers live in namespaces A (192.0.2.1) and B (192.0.2.2), and the rules
    // `table bridge t { chain fw { type filter hook forward priority 0;
    //  ether type != arp log group 70 } }` and
    // `table netdev t { chain out { type filter hook egress device "vethB" priority 0;
    //  ether type != arp log group 72 } }`. Namespace A sent raw frames from an AF_PACKET
    // socket to B's MAC: IPv4/UDP 4000 -> 5070 from 192.0.2.1 to 192.0.2.2.

    /// Group 70, bridge FORWARD, of a frame with one 802.1Q tag (id 42, priority 5, DEI 0)
    /// and the data "vlan": PACKET_HDR (0x0800), PREFIX "", PHYSINDEV 4, INDEV 2,
    /// PHYSOUTDEV 6, OUTDEV 2, HWADDR, HWTYPE, HWLEN, HWHEADER, TIMESTAMP, UID, GID, VLAN
    /// (TCI 0xa02a, PROTO 0x8100), L2HDR (B, A, 0x0800), PAYLOAD (the IPv4 packet).
    static BRIDGE_FORWARD_VLAN: [u8; 216] = [
        0x07, 0x00, 0x00, 0x46, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x02, 0x00, //
        0x05, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x06, 0x00, //
        0x00, 0x00, 0x00, 0x04, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, //
        0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x06, 0x08, 0x00, 0x05, 0x00, //
        0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x08, 0x00, 0x00, 0x06, 0x00, 0x00, //
        0x72, 0xad, 0xdb, 0xd8, 0x3d, 0x18, 0x00, 0x00, 0x06, 0x00, 0x0f, 0x00, //
        0x00, 0x01, 0x00, 0x00, 0x06, 0x00, 0x11, 0x00, 0x00, 0x0e, 0x00, 0x00, //
        0x12, 0x00, 0x10, 0x00, 0xd6, 0xd3, 0xed, 0x6f, 0x04, 0xb2, 0x72, 0xad, //
        0xdb, 0xd8, 0x3d, 0x18, 0x08, 0x00, 0x00, 0x00, 0x14, 0x00, 0x03, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x6b, 0x0a, 0x66, 0x69, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x0a, 0x43, 0x03, 0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x08, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x14, 0x80, //
        0x06, 0x00, 0x02, 0x00, 0xa0, 0x2a, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, //
        0x81, 0x00, 0x00, 0x00, 0x12, 0x00, 0x15, 0x00, 0xd6, 0xd3, 0xed, 0x6f, //
        0x04, 0xb2, 0x72, 0xad, 0xdb, 0xd8, 0x3d, 0x18, 0x08, 0x00, 0x00, 0x00, //
        0x24, 0x00, 0x09, 0x00, 0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, //
        0x40, 0x11, 0xf6, 0xc8, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, //
        0x0f, 0xa0, 0x13, 0xce, 0x00, 0x0c, 0x00, 0x00, 0x76, 0x6c, 0x61, 0x6e, //
    ];

    /// Group 70, bridge FORWARD, of a frame with two tags, 802.1ad (id 100, priority 3,
    /// DEI 1) outside 802.1Q (id 42, priority 5), and the data "qinq". The outer tag is in
    /// VLAN (TCI 0x7064, PROTO 0x88a8); hw_protocol is 0x8100, L2HDR is (B, A, 0x8100) and
    /// the PAYLOAD starts with the inner tag's TCI 0xa02a and EtherType 0x0800.
    static BRIDGE_FORWARD_QINQ: [u8; 220] = [
        0x07, 0x00, 0x00, 0x46, 0x08, 0x00, 0x01, 0x00, 0x81, 0x00, 0x02, 0x00, //
        0x05, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x06, 0x00, //
        0x00, 0x00, 0x00, 0x04, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, //
        0x08, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x06, 0x08, 0x00, 0x05, 0x00, //
        0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x08, 0x00, 0x00, 0x06, 0x00, 0x00, //
        0x72, 0xad, 0xdb, 0xd8, 0x3d, 0x18, 0x00, 0x00, 0x06, 0x00, 0x0f, 0x00, //
        0x00, 0x01, 0x00, 0x00, 0x06, 0x00, 0x11, 0x00, 0x00, 0x0e, 0x00, 0x00, //
        0x12, 0x00, 0x10, 0x00, 0xd6, 0xd3, 0xed, 0x6f, 0x04, 0xb2, 0x72, 0xad, //
        0xdb, 0xd8, 0x3d, 0x18, 0x81, 0x00, 0x00, 0x00, 0x14, 0x00, 0x03, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x6b, 0x0a, 0x66, 0x6b, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x02, 0xdb, 0x06, 0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x08, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x14, 0x80, //
        0x06, 0x00, 0x02, 0x00, 0x70, 0x64, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, //
        0x88, 0xa8, 0x00, 0x00, 0x12, 0x00, 0x15, 0x00, 0xd6, 0xd3, 0xed, 0x6f, //
        0x04, 0xb2, 0x72, 0xad, 0xdb, 0xd8, 0x3d, 0x18, 0x81, 0x00, 0x00, 0x00, //
        0x28, 0x00, 0x09, 0x00, 0xa0, 0x2a, 0x08, 0x00, 0x45, 0x00, 0x00, 0x20, //
        0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0xf6, 0xc8, 0xc0, 0x00, 0x02, 0x01, //
        0xc0, 0x00, 0x02, 0x02, 0x0f, 0xa0, 0x13, 0xce, 0x00, 0x0c, 0x00, 0x00, //
        0x71, 0x69, 0x6e, 0x71, //
    ];

    /// Group 72, netdev EGRESS on vethB, of the same two-tag frame: OUTDEV 6 and no input
    /// device attributes; VLAN (0x88a8, TCI 0x7064), L2HDR (B, A, 0x8100), and a PAYLOAD
    /// that starts at the MAC header: the 14 L2HDR bytes, TCI 0xa02a, 0x0800, IPv4.
    static NETDEV_EGRESS_QINQ: [u8; 160] = [
        0x05, 0x00, 0x00, 0x48, 0x08, 0x00, 0x01, 0x00, 0x81, 0x00, 0x01, 0x00, //
        0x05, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x05, 0x00, //
        0x00, 0x00, 0x00, 0x06, 0x14, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x6b, 0x0a, 0x66, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xdb, 0x0c, //
        0x08, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0e, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x14, 0x80, 0x06, 0x00, 0x02, 0x00, //
        0x70, 0x64, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x88, 0xa8, 0x00, 0x00, //
        0x12, 0x00, 0x15, 0x00, 0xd6, 0xd3, 0xed, 0x6f, 0x04, 0xb2, 0x72, 0xad, //
        0xdb, 0xd8, 0x3d, 0x18, 0x81, 0x00, 0x00, 0x00, 0x36, 0x00, 0x09, 0x00, //
        0xd6, 0xd3, 0xed, 0x6f, 0x04, 0xb2, 0x72, 0xad, 0xdb, 0xd8, 0x3d, 0x18, //
        0x81, 0x00, 0xa0, 0x2a, 0x08, 0x00, 0x45, 0x00, 0x00, 0x20, 0x00, 0x01, //
        0x00, 0x00, 0x40, 0x11, 0xf6, 0xc8, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, //
        0x02, 0x02, 0x0f, 0xa0, 0x13, 0xce, 0x00, 0x0c, 0x00, 0x00, 0x71, 0x69, //
        0x6e, 0x71, 0x00, 0x00, //
    ];

    #[test]
    fn packet_repr_emits_the_bridge_and_netdev_records_byte_for_byte() {
        // The kernel's order for a bridge (the port before the bridge, in and out), the
        // VLAN nest (TCI, then PROTO, NLA_F_NESTED set), L2HDR, then the payload.
        for record in [
            &BRIDGE_FORWARD_VLAN[..],
            &BRIDGE_FORWARD_QINQ,
            &NETDEV_EGRESS_QINQ,
        ] {
            let bytes = host_order(record);
            let repr = crate::wire::packet::PacketRepr::parse(&Packet::parse(&bytes).unwrap());
            assert_eq!(repr.buffer_len(), bytes.len());
            assert_eq!(repr.to_bytes(), bytes, "{repr:?}");
        }
    }

    /// The tag 802.1Q id 42, priority 5, DEI 0 that the captures carry.
    const Q42: VlanTag = VlanTag {
        proto: TPID_8021Q,
        tci: 0xa02a,
        id: 42,
        priority: 5,
        drop_eligible: false,
    };

    /// The tag 802.1ad id 100, priority 3, DEI 1 of the two-tag captures.
    const AD100: VlanTag = VlanTag {
        proto: TPID_8021AD,
        tci: 0x7064,
        id: 100,
        priority: 3,
        drop_eligible: true,
    };

    /// The IPv4/UDP datagram of the captures: 192.0.2.1:4000 -> 192.0.2.2:5070.
    fn assert_udp_a_to_b(decoded: &Decoded) {
        let Some(Network::Ipv4(ip)) = decoded.network else {
            panic!("no IPv4 header: {decoded:?}");
        };
        assert_eq!(
            (ip.src.octets(), ip.dst.octets()),
            ([192, 0, 2, 1], [192, 0, 2, 2])
        );
        let Some(Transport::Udp(udp)) = decoded.transport else {
            panic!("no UDP header: {decoded:?}");
        };
        assert_eq!((udp.src_port, udp.dst_port, udp.len), (4000, 5070, 12));
        assert_eq!(decoded.cut, None);
    }

    #[test]
    fn bridge_forward_with_the_tag_out_of_band() {
        let record = host_order(&BRIDGE_FORWARD_VLAN);
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).expect("an Ethernet header");
        assert_eq!(
            link.ethernet,
            Ethernet {
                dst: MAC_B,
                src: MAC_A,
                ethertype: 0x0800
            }
        );
        assert_eq!(link.header, LinkHeader::L2hdr);
        assert_eq!(link.out_of_band, Some(Q42));
        assert!(link.in_band.is_empty());
        assert_eq!(link.protocol, Some(0x0800));
        assert_eq!(link.network_offset, 0);
        assert_eq!(link.outer_tag(), Some(Q42));
        assert_eq!(link.tags().collect::<Vec<_>>(), [Q42]);
        assert_udp_a_to_b(&decode(&packet));
    }

    #[test]
    fn bridge_forward_with_a_second_tag_split_between_l2hdr_and_payload() {
        let record = host_order(&BRIDGE_FORWARD_QINQ);
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(packet.hw_protocol(), TPID_8021Q);
        let link = decode_link(&packet).unwrap();
        assert_eq!(link.ethernet.ethertype, TPID_8021Q);
        assert_eq!((link.ethernet.dst, link.ethernet.src), (MAC_B, MAC_A));
        assert_eq!(link.out_of_band, Some(AD100));
        assert_eq!(link.in_band.as_slice(), [Q42]);
        assert_eq!(link.protocol, Some(0x0800));
        assert_eq!(link.network_offset, 4, "TCI and EtherType open the payload");
        assert_eq!(link.outer_tag(), Some(AD100));
        assert_eq!(link.tags().collect::<Vec<_>>(), [AD100, Q42]);
        assert_udp_a_to_b(&decode(&packet));
        // decode_payload alone does not look for tags: the payload starts at the TCI.
        let payload = packet.payload().unwrap();
        assert_eq!(
            super::super::decode_payload(TPID_8021Q, Family::Bridge, payload),
            Decoded::default()
        );
    }

    #[test]
    fn netdev_egress_payload_starts_at_the_mac_header() {
        let record = host_order(&NETDEV_EGRESS_QINQ);
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(packet.hook(), Hook::Egress);
        assert_eq!(packet.hwtype(), None, "no input device at egress");
        let payload = packet.payload().unwrap();
        assert!(payload.starts_with(packet.l2hdr().unwrap()));
        let link = decode_link(&packet).unwrap();
        assert_eq!((link.ethernet.dst, link.ethernet.src), (MAC_B, MAC_A));
        assert_eq!(link.out_of_band, Some(AD100));
        assert_eq!(link.in_band.as_slice(), [Q42]);
        assert_eq!(link.protocol, Some(0x0800));
        assert_eq!(link.network_offset, 14 + 4);
        assert_udp_a_to_b(&decode(&packet));
    }

    #[test]
    fn netdev_egress_without_tags() {
        // The captured egress payload without its two-tag part: as a locally sent packet.
        let captured = host_order(&NETDEV_EGRESS_QINQ);
        let captured = Packet::parse(&captured).unwrap();
        let ip = &captured.payload().unwrap()[18..];
        let mut l2hdr = [MAC_B, MAC_A].concat();
        l2hdr.extend_from_slice(&[0x08, 0x00]);
        let payload = [&l2hdr[..], ip].concat();
        let record = PacketRepr {
            l2hdr: Some(l2hdr.to_vec()),
            payload: Some(payload.to_vec()),
            ..repr(Family::Netdev, 0x0800, 1)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).unwrap();
        assert_eq!(link.protocol, Some(0x0800));
        assert_eq!(link.network_offset, 14);
        assert_eq!(link.tags().count(), 0);
        assert_udp_a_to_b(&decode(&packet));

        // Cut by the copy range inside the link header: no network layer at all.
        let record = PacketRepr {
            l2hdr: Some(l2hdr.to_vec()),
            payload: Some(payload[..10].to_vec()),
            ..repr(Family::Netdev, 0x0800, 1)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(decode(&packet).cut, Some(Cut::Network));
        assert_eq!(decode(&packet).network, None);
    }

    #[test]
    fn tags_cut_or_too_many() {
        let mut l2hdr = [MAC_B, MAC_A].concat();
        l2hdr.extend_from_slice(&TPID_8021Q.to_be_bytes());
        // The TCI would be in the payload, which is cut after 2 bytes.
        let record = PacketRepr {
            l2hdr: Some(l2hdr.to_vec()),
            payload: Some([0xa0, 0x2a].to_vec()),
            ..repr(Family::Bridge, TPID_8021Q, 2)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).unwrap();
        assert!(link.in_band.is_empty());
        assert_eq!(link.protocol, None);
        assert_eq!(
            decode(&packet),
            Decoded {
                network: None,
                transport: None,
                cut: Some(Cut::Network),
                upper_layer: None,
            }
        );

        // Meta mode: no payload, so the tag's TCI is unknown, and nothing to decode.
        let record = PacketRepr {
            l2hdr: Some(l2hdr.to_vec()),
            ..repr(Family::Bridge, TPID_8021Q, 2)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(decode_link(&packet).unwrap().protocol, None);
        assert_eq!(decode(&packet), Decoded::default());

        // Five more tags in the payload than the list holds: listed up to the limit.
        let mut payload = Vec::new();
        for _ in 0..=MAX_IN_BAND_TAGS {
            payload.extend_from_slice(&[0xa0, 0x2a, 0x81, 0x00]);
        }
        let record = PacketRepr {
            l2hdr: Some(l2hdr.to_vec()),
            payload: Some(payload.to_vec()),
            ..repr(Family::Bridge, TPID_8021Q, 2)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).unwrap();
        assert_eq!(link.in_band.len(), MAX_IN_BAND_TAGS);
        assert_eq!(link.protocol, None);
        assert_eq!(decode(&packet).cut, Some(Cut::Network));
    }

    #[test]
    fn tags_inside_a_longer_l2hdr() {
        // Not seen from the kernel (it takes the outer tag out), but L2HDR is "MAC header
        // to network header": a tag inside it is read there, the payload is the network.
        let captured = host_order(&BRIDGE_FORWARD_VLAN);
        let captured = Packet::parse(&captured).unwrap();
        let mut l2hdr = [MAC_B, MAC_A].concat();
        l2hdr.extend_from_slice(&[0x88, 0xa8, 0x70, 0x64, 0x08, 0x00]);
        let record = PacketRepr {
            l2hdr: Some(l2hdr.to_vec()),
            payload: Some(captured.payload().unwrap().to_vec()),
            ..repr(Family::Netdev, 0x0800, 0)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).unwrap();
        assert_eq!(link.ethernet.ethertype, TPID_8021AD);
        assert_eq!(link.out_of_band, None);
        assert_eq!(link.in_band.as_slice(), [AD100]);
        assert_eq!(link.outer_tag(), Some(AD100));
        assert_eq!((link.protocol, link.network_offset), (Some(0x0800), 0));
        assert_udp_a_to_b(&decode(&packet));
    }

    #[test]
    fn hwheader_when_there_is_no_l2hdr() {
        // An ipv4 INPUT packet from an Ethernet device: HWTYPE 1 and HWHEADER, no L2HDR.
        let mut hwheader = [MAC_B, MAC_A].concat();
        hwheader.extend_from_slice(&[0x08, 0x00]);
        let ether = 1u16;
        let record = PacketRepr {
            hwtype: Some(ether),
            hwheader: Some(hwheader.to_vec()),
            ..repr(Family::Ipv4, 0x0800, 1)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).unwrap();
        assert_eq!(link.header, LinkHeader::Hwheader);
        assert_eq!(
            link.ethernet,
            Ethernet {
                dst: MAC_B,
                src: MAC_A,
                ethertype: 0x0800
            }
        );
        assert_eq!((link.protocol, link.network_offset), (Some(0x0800), 0));
        assert_eq!(link.outer_tag(), None);

        // Another hardware type (ARPHRD_IPGRE, 778): not read as Ethernet.
        let gre = 778u16;
        let record = PacketRepr {
            hwtype: Some(gre),
            hwheader: Some(hwheader.to_vec()),
            ..repr(Family::Ipv4, 0x0800, 1)
        }
        .to_bytes();
        assert_eq!(decode_link(&Packet::parse(&record).unwrap()), None);
        // No hardware type: a lone HWHEADER is not trusted, nor a short one.
        let record = PacketRepr {
            hwheader: Some(hwheader.to_vec()),
            ..repr(Family::Ipv4, 0x0800, 1)
        }
        .to_bytes();
        assert_eq!(decode_link(&Packet::parse(&record).unwrap()), None);
        let record = PacketRepr {
            hwtype: Some(ether),
            hwheader: Some(hwheader[..13].to_vec()),
            ..repr(Family::Ipv4, 0x0800, 1)
        }
        .to_bytes();
        assert_eq!(decode_link(&Packet::parse(&record).unwrap()), None);
        // Nothing at all (a packet logged at OUTPUT).
        let record = repr(Family::Ipv4, 0x0800, 3).to_bytes();
        assert_eq!(decode_link(&Packet::parse(&record).unwrap()), None);
    }

    #[test]
    fn out_of_band_tag_split() {
        let mut l2hdr = [MAC_B, MAC_A].concat();
        l2hdr.extend_from_slice(&[0x86, 0xdd]);
        let vlan = Vlan {
            proto: TPID_8021Q,
            tci: 0xf001,
        }; // priority 7, DEI 1, id 1
        let record = PacketRepr {
            vlan: Some(vlan),
            l2hdr: Some(l2hdr.to_vec()),
            ..repr(Family::Netdev, 0x86dd, 0)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        let link = decode_link(&packet).unwrap();
        assert_eq!(
            link.out_of_band,
            Some(VlanTag {
                proto: TPID_8021Q,
                tci: 0xf001,
                id: 1,
                priority: 7,
                drop_eligible: true,
            })
        );
        assert_eq!(link.protocol, Some(0x86dd));
        assert_eq!(format!("{:?}", link.in_band), "[]");
    }

    #[test]
    fn decode_is_unchanged_where_the_payload_starts_at_the_network_header() {
        // Bridge FORWARD of an untagged frame: the payload as it is, with hw_protocol.
        let captured = host_order(&BRIDGE_FORWARD_VLAN);
        let captured = Packet::parse(&captured).unwrap();
        let record = PacketRepr {
            payload: Some(captured.payload().unwrap().to_vec()),
            ..repr(Family::Bridge, 0x0800, 2)
        }
        .to_bytes();
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(decode_link(&packet), None);
        assert_udp_a_to_b(&decode(&packet));
        assert_eq!(
            network_header(&packet),
            NetworkHeader::At {
                protocol: 0x0800,
                offset: 0,
                header: captured.payload().unwrap()
            }
        );
    }

    #[test]
    fn never_panics_on_any_length() {
        let captured = host_order(&NETDEV_EGRESS_QINQ);
        let captured = Packet::parse(&captured).unwrap();
        let l2hdr = captured.l2hdr().unwrap();
        let payload = captured.payload().unwrap();
        for family in [Family::Bridge, Family::Netdev, Family::Ipv4] {
            for hook in 0..5 {
                for l2 in 0..=l2hdr.len() {
                    for cut in 0..=payload.len() {
                        let record = PacketRepr {
                            l2hdr: Some(l2hdr[..l2].to_vec()),
                            payload: Some(payload[..cut].to_vec()),
                            ..repr(family, TPID_8021Q, hook)
                        }
                        .to_bytes();
                        let packet = Packet::parse(&record).unwrap();
                        let link = decode_link(&packet);
                        assert_eq!(link.is_some(), l2 >= ETHERNET_HEADER_LEN);
                        let _ = decode(&packet);
                    }
                }
            }
        }
    }

    /// The payload of an ARP request logged at the arp family's output hook (Linux 6.18,
    /// `tests/kernel_payload_start.rs`: veth0 192.0.2.1 asking for 192.0.2.2): the
    /// Ethernet header `dev_hard_header` wrote, then the ARP packet.
    static ARP_OUTPUT_FRAME: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x9a, 0xb8, 0x3a, 0x1a, 0x42, 0x1f, //
        0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x9a, 0xb8, //
        0x3a, 0x1a, 0x42, 0x1f, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0xc0, 0x00, 0x02, 0x02, //
    ];

    #[test]
    fn arp_output_payload_starts_at_the_ethernet_header() {
        assert_eq!(payload_start(Family::Arp, Hook::ArpOut), PayloadStart::Link);
        assert_eq!(
            payload_start(Family::Arp, Hook::ArpIn),
            PayloadStart::Network
        );
        let arp_out = |payload: &[u8]| {
            PacketRepr {
                payload: Some(payload.to_vec()),
                ..repr(Family::Arp, 0x0806, 1)
            }
            .to_bytes()
        };

        let record = arp_out(&ARP_OUTPUT_FRAME);
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(
            network_header(&packet),
            NetworkHeader::At {
                protocol: 0x0806,
                offset: 14,
                header: &ARP_OUTPUT_FRAME[14..]
            }
        );
        let decoded = decode(&packet);
        let Some(Network::Arp(arp)) = decoded.network else {
            panic!("no ARP: {decoded:?}");
        };
        assert_eq!(
            (arp.hardware_type, arp.operation),
            (1, 1),
            "read from byte 14"
        );
        let addresses = arp.ethernet_ipv4.unwrap();
        assert_eq!(
            (addresses.sender_ip.octets(), addresses.target_ip.octets()),
            ([192, 0, 2, 1], [192, 0, 2, 2])
        );
        assert_eq!(decoded.cut, None);

        // The same ARP packet at the input hook starts at the ARP header.
        let record = PacketRepr {
            payload: Some(ARP_OUTPUT_FRAME[14..].to_vec()),
            ..repr(Family::Arp, 0x0806, 0)
        }
        .to_bytes();
        assert_eq!(decode(&Packet::parse(&record).unwrap()), decoded);

        // A tag written into the frame (a VLAN device without offload) is skipped.
        let tagged = [
            &ARP_OUTPUT_FRAME[..12],
            &[0x81, 0x00, 0x00, 0x2a],
            &ARP_OUTPUT_FRAME[12..],
        ]
        .concat();
        let record = arp_out(&tagged);
        let packet = Packet::parse(&record).unwrap();
        assert!(matches!(
            network_header(&packet),
            NetworkHeader::At { offset: 18, .. }
        ));
        assert_eq!(decode(&packet), decoded);

        // Cut by the copy range inside the Ethernet header; right after it.
        let record = arp_out(&ARP_OUTPUT_FRAME[..13]);
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(network_header(&packet), NetworkHeader::Cut);
        assert_eq!(decode(&packet).cut, Some(Cut::Network));
        let record = arp_out(&ARP_OUTPUT_FRAME[..14]);
        let packet = Packet::parse(&record).unwrap();
        assert!(matches!(
            network_header(&packet),
            NetworkHeader::At {
                offset: 14,
                header: [],
                ..
            }
        ));

        // Not an Ethernet header carrying ARP: not read as ARP.
        let mut other = ARP_OUTPUT_FRAME;
        other[12..14].copy_from_slice(&[0x08, 0x00]);
        let record = arp_out(&other);
        let packet = Packet::parse(&record).unwrap();
        assert_eq!(network_header(&packet), NetworkHeader::UnknownLink);
        assert_eq!(
            decode(&packet),
            Decoded {
                network: None,
                transport: None,
                cut: Some(Cut::Malformed(crate::decode::Layer::Network)),
                upper_layer: None,
            }
        );
    }

    proptest! {
        /// Any L2HDR, HWHEADER, HWTYPE, VLAN and payload bytes, in any family and hook: no
        /// panic, and only tags are listed.
        #[test]
        fn decode_link_never_panics(
            family in 0u8..12,
            hook in 0u8..6,
            hw_protocol in prop_oneof![Just(TPID_8021Q), Just(TPID_8021AD), any::<u16>()],
            hwtype in prop::option::of(prop_oneof![Just(1u16), Just(772u16), any::<u16>()]),
            hwheader in prop::option::of(vec(any::<u8>(), 0..40)),
            vlan in prop::option::of(vec(any::<u8>(), 0..16)),
            l2hdr in prop::option::of(vec(any::<u8>(), 0..40)),
            payload in prop::option::of(vec(any::<u8>(), 0..64)),
        ) {
            let hwtype = hwtype.map(u16::to_be_bytes);
            let attrs: Vec<(u16, &[u8])> = [
                (NFULA_HWTYPE, hwtype.as_ref().map(|v| &v[..])),
                (NFULA_HWHEADER, hwheader.as_deref()),
                (NFULA_VLAN, vlan.as_deref()),
                (NFULA_L2HDR, l2hdr.as_deref()),
                (NFULA_PAYLOAD, payload.as_deref()),
            ]
            .into_iter()
            .filter_map(|(kind, value)| Some((kind, value?)))
            .collect();
            // Raw, not `PacketRepr`: the VLAN value is any bytes, a malformed nest included.
            let record = raw_body(Family::from_number(family), hw_protocol, hook, &attrs);
            // The parser rejects a malformed VLAN nest: nothing to decode then.
            let Ok(packet) = Packet::parse(&record) else {
                return Ok(());
            };
            if let Some(link) = decode_link(&packet) {
                prop_assert!(link.in_band.len() <= MAX_IN_BAND_TAGS);
                prop_assert!(link.in_band.as_slice().iter().all(|t| is_tpid(t.proto)));
                let expected = link.in_band.len() + usize::from(link.out_of_band.is_some());
                prop_assert_eq!(link.tags().count(), expected);
            }
            let _ = decode(&packet);
        }
    }
}
