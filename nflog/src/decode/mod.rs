//! What a logged packet says: its IP, TCP, UDP, ICMP or ARP headers, decoded with
//! [etherparse](https://docs.rs/etherparse).
//!
//! [`decode`] reads the payload NFLOG delivered and returns plain values, no allocation. The
//! payload starts at the network header, except at the netdev egress hook and the arp
//! family's output hook, where it starts at the link-layer header: [`payload_start`] says
//! which, per family and hook, and [`network_header`] finds the network header.
//! [`decode_link`] reads the link layer of bridge and netdev packets: the Ethernet header
//! and VLAN tags. A payload cut short by the copy range or the rule's snaplen is normal:
//! what is there is decoded, and [`Decoded::cut`] says which layer was incomplete. Decoding
//! never fails and never panics; bytes that are not a header of the kind expected leave that
//! layer `None` and say why in [`Decoded::cut`].

mod headers;
mod link;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use headers::decode_payload;
pub use link::{
    decode_link, network_header, payload_start, Ethernet, InBandTags, Link, LinkHeader,
    NetworkHeader, PayloadStart, VlanTag, ETHERNET_HEADER_LEN, MAX_IN_BAND_TAGS, TPID_8021AD,
    TPID_8021Q,
};

use crate::wire::packet::Packet;

/// The decoded headers of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decoded {
    /// The network layer: IPv4, IPv6 or ARP.
    pub network: Option<Network>,
    /// The transport layer, when the network layer carries one that was decoded and this is
    /// the first fragment (or not a fragment).
    pub transport: Option<Transport>,
    /// The first layer that was incomplete or not understood, if any.
    pub cut: Option<Cut>,
}

/// Where decoding stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The network header is incomplete (fewer bytes than its header length).
    Network,
    /// An IPv6 extension header (or an IPv4 authentication header) is incomplete.
    Extension,
    /// The transport header is incomplete.
    Transport,
    /// The bytes are not a valid header of the kind the packet says it carries.
    Malformed(Layer),
}

/// A protocol layer, named in [`Cut::Malformed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// IPv4, IPv6 or ARP.
    Network,
    /// TCP, UDP, ICMP, ICMPv6.
    Transport,
}

/// The network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// IPv4.
    Ipv4(Ipv4),
    /// IPv6.
    Ipv6(Ipv6),
    /// ARP (for IPv4 over Ethernet and others).
    Arp(Arp),
}

/// An IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4 {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Header length in 32-bit words.
    pub ihl: u8,
    /// The type-of-service byte (DSCP and ECN).
    pub tos: u8,
    /// Total length, header included, as the header says.
    pub total_len: u16,
    /// Identification.
    pub id: u16,
    /// Reserved flag bit (the "evil bit"), set: the kernel's LOG prints `CE`.
    pub reserved_flag: bool,
    /// Don't fragment.
    pub dont_fragment: bool,
    /// More fragments.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units.
    pub fragment_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// The protocol number of the payload (6 TCP, 17 UDP, 1 ICMP, ...).
    pub protocol: u8,
    /// Header checksum as sent.
    pub checksum: u16,
    /// Length of the options, in bytes (0 to 40).
    pub options_len: u8,
}

impl Ipv4 {
    /// Whether this packet is a fragment (offset non-zero or more fragments follow).
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.fragment_offset != 0
    }
}

/// An IPv6 header, with what its extension headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6 {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Payload length as the header says.
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
    /// The next-header field of the fixed header.
    pub next_header: u8,
    /// The upper-layer protocol after the extension headers that were decoded.
    pub protocol: u8,
    /// The fragment header, if there is one.
    pub fragment: Option<Ipv6Fragment>,
}

/// An IPv6 fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Fragment {
    /// Fragment offset in 8-byte units.
    pub offset: u16,
    /// More fragments follow.
    pub more_fragments: bool,
    /// Identification.
    pub id: u32,
}

/// An ARP packet (Ethernet/IPv4 addresses when it carries them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Hardware type (1 Ethernet).
    pub hardware_type: u16,
    /// Protocol type (0x0800 IPv4).
    pub protocol_type: u16,
    /// Operation (1 request, 2 reply).
    pub operation: u16,
    /// Sender and target hardware and protocol addresses, for Ethernet and IPv4.
    pub ethernet_ipv4: Option<ArpEthernetIpv4>,
}

/// The addresses of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpEthernetIpv4 {
    /// Sender MAC.
    pub sender_mac: [u8; 6],
    /// Sender IPv4.
    pub sender_ip: Ipv4Addr,
    /// Target MAC.
    pub target_mac: [u8; 6],
    /// Target IPv4.
    pub target_ip: Ipv4Addr,
}

/// The transport layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp(Tcp),
    /// UDP (and UDP-Lite's header shape).
    Udp(Udp),
    /// ICMP for IPv4.
    Icmpv4(Icmp),
    /// ICMPv6.
    Icmpv6(Icmp),
}

/// A TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack_seq: u32,
    /// Data offset: header length in 32-bit words.
    pub data_offset: u8,
    /// The flags byte: CWR ECE URG ACK PSH RST SYN FIN, high bit to low.
    pub flags: u8,
    /// The reserved bits between data offset and flags (4 bits; the lowest, 0x1, is AE,
    /// formerly NS).
    pub reserved: u8,
    /// Window.
    pub window: u16,
    /// Checksum as sent.
    pub checksum: u16,
    /// Urgent pointer.
    pub urgent_ptr: u16,
    /// Length of the options, in bytes.
    pub options_len: u8,
}

impl Tcp {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;

    /// Whether `flag` (one of the constants) is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// A UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length field (header and data).
    pub len: u16,
    /// Checksum as sent.
    pub checksum: u16,
}

/// An ICMP or ICMPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Checksum as sent.
    pub checksum: u16,
    /// The four bytes after the checksum ("rest of header"): identifier and sequence for
    /// echo, gateway for redirect, MTU for "fragmentation needed" / "packet too big".
    pub rest: [u8; 4],
}

impl Icmp {
    /// Identifier and sequence number, for echo request and reply (ICMP 8/0, ICMPv6
    /// 128/129).
    pub fn echo(&self, v6: bool) -> Option<(u16, u16)> {
        let is_echo = if v6 {
            matches!(self.icmp_type, 128 | 129)
        } else {
            matches!(self.icmp_type, 0 | 8)
        };
        is_echo.then(|| {
            (
                u16::from_be_bytes([self.rest[0], self.rest[1]]),
                u16::from_be_bytes([self.rest[2], self.rest[3]]),
            )
        })
    }
}

/// Decodes a logged packet's payload according to its link-layer protocol.
///
/// Packets without payload (copy mode meta) decode to nothing. The network header is looked
/// for past what the payload holds of the link layer ([`network_header`]): the Ethernet
/// header at the netdev egress and arp output hooks, a VLAN tag left in a bridge or netdev
/// frame (see [`decode_link`]); a payload that ends before it is cut at [`Cut::Network`],
/// and one that starts with a link-layer header other than Ethernet is
/// [`Cut::Malformed`]`(`[`Layer::Network`]`)`.
pub fn decode(packet: &Packet<&[u8]>) -> Decoded {
    match network_header(packet) {
        NetworkHeader::At {
            protocol, header, ..
        } => decode_payload(protocol, packet.family(), header),
        NetworkHeader::Cut => Decoded {
            cut: Some(Cut::Network),
            ..Decoded::default()
        },
        NetworkHeader::UnknownLink => Decoded {
            cut: Some(Cut::Malformed(Layer::Network)),
            ..Decoded::default()
        },
        NetworkHeader::NoPayload => Decoded::default(),
    }
}
