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

use crate::wire::family::Family;
use crate::wire::packet::Packet;
use crate::wire::proto::{be16, be32};

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
    /// Where the bytes the network layer carries start, as an offset in the packet's
    /// payload ([`decode`]) or in the bytes given ([`decode_payload`]): after the IPv4
    /// header and its options, or after the IPv6 header and its extension headers (an
    /// authentication header among them). `None` for ARP, and when the network header or
    /// an IPv6 extension header is cut.
    ///
    /// What the decoder does not follow is read from there: [`Sctp`], [`Esp`], [`Ah`], or
    /// [`Tcp::parse_fixed`] for a malformed TCP header.
    pub upper_layer: Option<usize>,
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
    /// The fixed 20 bytes of a TCP header read as they are, whatever its data offset says
    /// (`options_len` 0), for a header the decoder calls malformed whose fields are still
    /// shown; `None` when fewer than 20 bytes are there.
    pub fn parse_fixed(bytes: &[u8]) -> Option<Tcp> {
        let fixed: &[u8; 20] = bytes.first_chunk()?;
        Some(Tcp {
            src_port: be16(fixed, 0)?,
            dst_port: be16(fixed, 2)?,
            seq: be32(fixed, 4)?,
            ack_seq: be32(fixed, 8)?,
            data_offset: fixed[12] >> 4,
            flags: fixed[13],
            reserved: fixed[12] & 0x0f,
            window: be16(fixed, 14)?,
            checksum: be16(fixed, 16)?,
            urgent_ptr: be16(fixed, 18)?,
            options_len: 0,
        })
    }

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

/// An SCTP common header: what the kernel's LOG and ulogd2 show of SCTP, which the decoder
/// does not follow (read it at [`Decoded::upper_layer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sctp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
    /// Checksum as sent (CRC32c).
    pub checksum: u32,
}

impl Sctp {
    /// The common header at the start of `bytes`; `None` when fewer than its 12 bytes are
    /// there (`struct sctphdr`).
    pub fn parse(bytes: &[u8]) -> Option<Sctp> {
        Some(Sctp {
            src_port: be16(bytes, 0)?,
            dst_port: be16(bytes, 2)?,
            verification_tag: be32(bytes, 4)?,
            checksum: be32(bytes, 8)?,
        })
    }
}

/// An IPsec ESP header (`struct ip_esp_hdr`): the security parameters index and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Esp {
    /// Security parameters index.
    pub spi: u32,
    /// Sequence number.
    pub seq: u32,
}

impl Esp {
    /// The header at the start of `bytes`; `None` when fewer than its 8 bytes are there.
    pub fn parse(bytes: &[u8]) -> Option<Esp> {
        Some(Esp {
            spi: be32(bytes, 0)?,
            seq: be32(bytes, 4)?,
        })
    }
}

/// An IPsec authentication header's fixed part (`struct ip_auth_hdr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ah {
    /// The protocol after it.
    pub next_header: u8,
    /// Its length field: the header's length in 32-bit words, less 2.
    pub len: u8,
    /// Security parameters index.
    pub spi: u32,
    /// Sequence number.
    pub seq: u32,
}

impl Ah {
    /// The fixed part at the start of `bytes`; `None` when fewer than its 12 bytes are
    /// there.
    pub fn parse(bytes: &[u8]) -> Option<Ah> {
        let fixed: &[u8; 12] = bytes.first_chunk()?;
        Some(Ah {
            next_header: fixed[0],
            len: fixed[1],
            spi: be32(fixed, 4)?,
            seq: be32(fixed, 8)?,
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
    let family = packet.family();
    // Perf: the ipv4 and ipv6 hooks see no link-layer header (`network_header` gives the
    // whole payload at offset 0): the payload is decoded at once, with no header to find
    // and no result to copy again (figures: docs/benchmarks.md, "Code shaped for speed").
    if matches!(family, Family::Ipv4 | Family::Ipv6) {
        return match packet.payload() {
            Some(payload) => decode_payload(packet.hw_protocol(), family, payload),
            None => Decoded::default(),
        };
    }
    decode_at_network_header(packet)
}

/// [`decode`] for any family: the payload decoded from where [`network_header`] finds the
/// network header.
fn decode_at_network_header(packet: &Packet<&[u8]>) -> Decoded {
    match network_header(packet) {
        NetworkHeader::At {
            protocol,
            offset,
            header,
        } => {
            let decoded = decode_payload(protocol, packet.family(), header);
            Decoded {
                upper_layer: decoded.upper_layer.map(|at| offset + at),
                ..decoded
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header of `ihl` words carrying `protocol`, then `rest`.
    fn ipv4(ihl: u8, protocol: u8, rest: &[u8]) -> Vec<u8> {
        let len = usize::from(ihl) * 4 + rest.len();
        let mut ip = vec![0x40 | ihl, 0, 0, len as u8, 0, 1, 0, 0, 64, protocol, 0, 0];
        ip.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        ip.resize(usize::from(ihl) * 4, 1); // options: NOPs
        ip.extend_from_slice(rest);
        ip
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// The ipv4 and ipv6 families' shortcut decodes what the header search would,
        /// whatever the EtherType, hook and bytes.
        #[test]
        fn inet_families_decode_as_the_network_header_says(
            family in proptest::prop_oneof![
                proptest::prelude::Just(Family::Ipv4),
                proptest::prelude::Just(Family::Ipv6),
            ],
            hw_protocol in proptest::prop_oneof![
                proptest::prelude::Just(0x0800u16),
                proptest::prelude::Just(0x86dd),
                proptest::prelude::Just(0x0806),
                proptest::prelude::Just(0),
                proptest::prelude::any::<u16>(),
            ],
            hook in 0u8..8,
            payload in proptest::option::of(proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
                (proptest::collection::vec(proptest::prelude::any::<u8>(), 20..80), 5u8..8)
                    .prop_map(|(mut ip, ihl)| { ip[0] = 0x40 | ihl; ip }),
                proptest::collection::vec(proptest::prelude::any::<u8>(), 40..100)
                    .prop_map(|mut ip| { ip[0] = 0x60; ip }),
            ]),
        ) {
            let body = crate::wire::packet::PacketRepr {
                family,
                hw_protocol,
                hook,
                payload,
                ..Default::default()
            }
            .to_bytes();
            let packet = Packet::parse(&body).unwrap();
            proptest::prop_assert_eq!(decode(&packet), decode_at_network_header(&packet));
        }
    }

    #[test]
    fn upper_layer_starts_after_the_network_headers() {
        let esp = [0, 0, 1, 0, 0, 0, 0, 9];
        let ip = ipv4(7, 50, &esp);
        let decoded = decode_payload(0x0800, Family::Ipv4, &ip);
        assert_eq!(decoded.upper_layer, Some(28));
        assert_eq!(Esp::parse(&ip[28..]), Some(Esp { spi: 256, seq: 9 }));
        // Options cut: where they end is unknown.
        assert_eq!(
            decode_payload(0x0800, Family::Ipv4, &ip[..24]).upper_layer,
            None
        );

        // IPv6, a hop-by-hop options header (8 bytes), then SCTP.
        let mut ip6 = vec![0x60, 0, 0, 0, 0, 20, 0, 64];
        ip6.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        ip6.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        ip6.extend_from_slice(&[132, 0, 1, 4, 0, 0, 0, 0]);
        let sctp = [0x13, 0x88, 0x13, 0x89, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef];
        ip6.extend_from_slice(&sctp);
        let decoded = decode_payload(0x86dd, Family::Ipv6, &ip6);
        assert_eq!(decoded.upper_layer, Some(48));
        assert_eq!(
            Sctp::parse(&ip6[48..]),
            Some(Sctp {
                src_port: 5000,
                dst_port: 5001,
                verification_tag: 7,
                checksum: 0xdead_beef,
            })
        );
        // The hop-by-hop header cut: no upper layer.
        let cut = decode_payload(0x86dd, Family::Ipv6, &ip6[..44]);
        assert_eq!(cut.cut, Some(Cut::Extension));
        assert_eq!(cut.upper_layer, None);
    }

    #[test]
    fn headers_the_decoder_leaves_as_bytes_need_their_whole_fixed_part() {
        let sctp = [0x13, 0x88, 0x13, 0x89, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef];
        assert!(Sctp::parse(&sctp[..11]).is_none());
        assert!(Esp::parse(&sctp[..7]).is_none());
        let ah = [6, 4, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 3];
        assert_eq!(
            Ah::parse(&ah),
            Some(Ah {
                next_header: 6,
                len: 4,
                spi: 0x1000,
                seq: 3,
            })
        );
        assert!(Ah::parse(&ah[..11]).is_none());
        // A data offset of 3 is malformed; the fixed fields are still there to read.
        let mut tcp = [0u8; 20];
        tcp[..4].copy_from_slice(&[0, 22, 0x9c, 0x40]);
        tcp[12] = 0x31;
        tcp[13] = Tcp::SYN | Tcp::URG;
        tcp[18..].copy_from_slice(&[0, 5]);
        let fixed = Tcp::parse_fixed(&tcp).unwrap();
        assert_eq!((fixed.src_port, fixed.dst_port), (22, 40000));
        assert_eq!((fixed.data_offset, fixed.reserved), (3, 1));
        assert!(fixed.has(Tcp::SYN) && fixed.has(Tcp::URG));
        assert_eq!(fixed.urgent_ptr, 5);
        assert!(Tcp::parse_fixed(&tcp[..19]).is_none());
    }
}
