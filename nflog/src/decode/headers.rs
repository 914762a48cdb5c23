//! Reading the headers of an NFLOG payload with etherparse's lax slices.
//!
//! NFLOG's payload starts at the network header in every family (ipv4, ipv6, bridge,
//! netdev, arp) and every hook but netdev egress: nfnetlink_log.c copies from `skb->data`,
//! which is the MAC header only there (`super::decode` steps over it, see `link.rs`).
//! There is no link-layer header to read here, so we start from [`LaxIpv4Slice`],
//! [`LaxIpv6Slice`] or [`ArpPacketSlice`] and then slice the transport header ourselves
//! with [`TcpSlice`], [`UdpSlice`], [`Icmpv4Slice`] or [`Icmpv6Slice`]. Nothing is
//! allocated; every field is copied into the plain values of [`super`]. What comes out, for
//! whole and cut payloads, is documented on [`decode_payload`]; this is how.
//!
//! We do not use `LaxSlicedPacket::from_ip`: it skips the transport header of every
//! fragmented packet, first fragments included, which carry one.
//!
//! # Where we read bytes ourselves
//!
//! etherparse reads everything else; these few fields are simple big-endian bits:
//!
//! - **A whole IPv4 header without an authentication header**, the common case, is read
//!   field by field (`whole_ipv4`), as etherparse's lax slice would read it; a property test
//!   holds the two together. etherparse reads every other IPv4 payload.
//! - **A header whose options are cut.** etherparse refuses an IPv4 header, TCP header or
//!   ARP packet that is not complete. We copy its fixed part (20, 20, 8 bytes) to the stack
//!   with the length field set to "no options" (IHL 5, data offset 5, address lengths 0),
//!   let etherparse read that, and report the IHL, data offset and options length the
//!   packet really has.
//! - **Bits etherparse has no accessor for.** The IPv4 reserved flag (byte 6, bit 0x80) and
//!   TCP's four reserved bits (low nibble of byte 12, with the data offset above them, which
//!   we read from the same byte). The TOS byte is rebuilt from etherparse's DSCP and ECN.
//! - **The byte that says "malformed".** etherparse checks a header's length before its
//!   content. We look first at the IPv4 version and IHL (byte 0), the IPv6 version and the
//!   TCP data offset (byte 12) whenever those bytes are there, so that a cut payload whose
//!   header is already invalid is `Malformed`, whatever its length.
//! - **ICMP timestamps.** etherparse insists that a timestamp request or reply (type 13/14,
//!   code 0) be exactly 20 bytes long; a cut or padded one still has its 8-byte header,
//!   which we read by hand.
//!
//! # An etherparse bug we step around
//!
//! In etherparse 0.21, iterating an `Ipv6ExtensionsSlice` that `from_slice_lax` cut short
//! (an extension header cut or invalid) runs past the bytes it checked and reads a header
//! out of an empty slice with `get_unchecked`: undefined behaviour, an abort in debug builds.
//! [`ipv6_fragment`] stops once the checked bytes are used up.

use etherparse::err::{ip_auth, ipv4, ipv6, ipv6_exts, tcp};
use etherparse::{
    ArpHardwareId, ArpPacketSlice, EtherType, Icmpv4Slice, Icmpv6Slice, IpNumber, Ipv4HeaderSlice,
    Ipv6ExtensionSlice, Ipv6ExtensionsSlice, LaxIpv4Slice, LaxIpv6Slice, TcpSlice, UdpSlice,
};

use std::net::Ipv4Addr;

use super::{
    Arp, ArpEthernetIpv4, Cut, Decoded, Icmp, Ipv4, Ipv6, Ipv6Fragment, Layer, Network, Tcp,
    Transport, Udp,
};
use crate::wire::family::Family;
use crate::wire::proto::IPPROTO_AH;

/// The IPv4 header without options.
const IPV4_BASE_LEN: usize = 20;
/// The TCP header without options.
const TCP_BASE_LEN: usize = 20;
/// ARP's hardware type, protocol type, address lengths and operation.
const ARP_FIXED_LEN: usize = 8;
/// The ICMP and ICMPv6 header: type, code, checksum, four bytes.
const ICMP_LEN: usize = 8;

/// The network protocol a payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ipv4,
    Ipv6,
    Arp,
}

/// Decodes a payload that starts at the network header.
///
/// `hw_protocol` is the packet's EtherType ([`Packet::hw_protocol`]) and `family` the
/// family of the hook that logged it ([`Packet::family`]). Never panics, never allocates;
/// [`decode`](super::decode) calls it on a [`Packet`](crate::Packet)'s payload.
///
/// # Which protocol
///
/// 1. `hw_protocol` (the packet's EtherType, `skb->protocol`): 0x0800 IPv4, 0x86DD IPv6,
///    0x0806 ARP.
/// 2. Otherwise the family of the hook: ipv4, ipv6 and arp hooks see only their own protocol.
/// 3. Otherwise, only when `hw_protocol` is 0 (not set), the IP version nibble: 4 or 6.
///
/// A non-zero EtherType we do not decode (802.1Q, 802.1ad, LLDP, ...) in a bridge or netdev
/// hook is left undecoded, all `None`: that payload is not an IP header. For a VLAN tag
/// that is not accelerated, the payload starts at the tag, whose first nibble (priority and
/// DEI) is 4 for priority 2: a version test would read the tag as an IPv4 header.
///
/// # Cut payloads
///
/// The copy range and the rule's snaplen cut payloads; that is normal. What is there is
/// decoded and [`Decoded::cut`] names the first layer that was incomplete:
///
/// | bytes present | network | transport | cut |
/// |---|---|---|---|
/// | fewer than the fixed network header (IPv4 20, IPv6 40, ARP 8) | `None` | `None` | `Network` |
/// | IPv4 base header, options cut | `Some` | `None` | `Network` |
/// | ARP fixed part, addresses cut | `Some`, `ethernet_ipv4: None` | `None` | `Network` |
/// | an IPv6 extension header (or IPv4 AH) cut | `Some` | `None` | `Extension` |
/// | less than the fixed transport header (TCP 20, UDP 8, ICMP 8) | `Some` | `None` | `Transport` |
/// | TCP base header, options cut | `Some` | `Some` | `Transport` |
/// | full headers, data cut | `Some` | `Some` | `None` |
///
/// A header cut in its options is still reported because every field the values hold is in
/// the fixed part: the values carry the options' length, not the options. So a SYN logged
/// with a 40-byte snaplen still shows its ports, flags and sequence number; `cut` says the
/// options were not all there. IPv4's `total_len` and IPv6's `payload_len` may promise more
/// bytes than the payload holds; that is not an error.
///
/// Bytes that cannot be the header the packet claims (IPv4 version not 4 or IHL below 5,
/// IPv6 version not 6, TCP data offset below 5, an IPv6 hop-by-hop header not first, an
/// authentication header with length 0) give [`Cut::Malformed`] for that layer; an extension
/// header counts as the network layer.
///
/// # Fragments
///
/// A first fragment (offset 0, more fragments set) carries the transport header, which is
/// decoded. Later fragments (IPv4 fragment offset not 0, or an IPv6 fragment header with an
/// offset not 0) carry none: `transport` and `cut` are both `None`.
///
/// [`Packet::hw_protocol`]: crate::Packet::hw_protocol
/// [`Packet::family`]: crate::Packet::family
pub fn decode_payload(hw_protocol: u16, family: Family, payload: &[u8]) -> Decoded {
    match kind(hw_protocol, family, payload) {
        Some(Kind::Ipv4) => decode_ipv4(payload),
        Some(Kind::Ipv6) => decode_ipv6(payload),
        Some(Kind::Arp) => decode_arp(payload),
        None => Decoded::default(),
    }
}

/// What the payload is: EtherType first, then the hook's family, then the IP version.
fn kind(hw_protocol: u16, family: Family, payload: &[u8]) -> Option<Kind> {
    match EtherType(hw_protocol) {
        EtherType::IPV4 => return Some(Kind::Ipv4),
        EtherType::IPV6 => return Some(Kind::Ipv6),
        EtherType::ARP => return Some(Kind::Arp),
        _ => {}
    }
    match family {
        Family::Ipv4 => Some(Kind::Ipv4),
        Family::Ipv6 => Some(Kind::Ipv6),
        Family::Arp => Some(Kind::Arp),
        // Another EtherType: not a payload we decode (see `decode_payload` on VLAN tags).
        _ if hw_protocol != 0 => None,
        _ => match payload.first().map(|byte| byte >> 4) {
            Some(4) => Some(Kind::Ipv4),
            Some(6) => Some(Kind::Ipv6),
            _ => None,
        },
    }
}

/// Nothing decoded, for this reason.
fn stopped(cut: Cut) -> Decoded {
    Decoded {
        network: None,
        transport: None,
        cut: Some(cut),
        upper_layer: None,
    }
}

/// The network layer decoded, where it ends, then the transport layer (or why not).
fn with_transport(
    network: Network,
    upper_layer: Option<usize>,
    (transport, cut): (Option<Transport>, Option<Cut>),
) -> Decoded {
    Decoded {
        network: Some(network),
        transport,
        cut,
        upper_layer,
    }
}

fn decode_ipv4(payload: &[u8]) -> Decoded {
    match whole_ipv4(payload) {
        Some(decoded) => decoded,
        None => decode_ipv4_lax(payload),
    }
}

/// The common IPv4 packet, read without etherparse: version 4, a whole header (options
/// included) and no authentication header. `None` for every other payload, which
/// [`decode_ipv4_lax`] reads; for these, both give the same (`whole_ipv4_agrees_with_etherparse`).
// Perf: nearly every logged IPv4 packet is such a one; its twelve fields are plain loads
// from the header, where etherparse's lax slice builds and checks slices of its own
// (figures: docs/benchmarks.md, "Code shaped for speed").
#[inline]
fn whole_ipv4(payload: &[u8]) -> Option<Decoded> {
    let base: &[u8; IPV4_BASE_LEN] = payload.first_chunk()?;
    let ihl = base[0] & 0x0f;
    let header_len = usize::from(ihl) * 4;
    let protocol = base[9];
    if base[0] >> 4 != 4 || ihl < 5 || payload.len() < header_len || protocol == IPPROTO_AH {
        return None;
    }
    let total_len = u16::from_be_bytes([base[2], base[3]]);
    let fragment_offset = u16::from_be_bytes([base[6] & 0x1f, base[7]]);
    let ip = Ipv4 {
        src: Ipv4Addr::new(base[12], base[13], base[14], base[15]),
        dst: Ipv4Addr::new(base[16], base[17], base[18], base[19]),
        ihl,
        tos: base[1],
        total_len,
        id: u16::from_be_bytes([base[4], base[5]]),
        reserved_flag: base[6] & 0x80 != 0,
        dont_fragment: base[6] & 0x40 != 0,
        more_fragments: base[6] & 0x20 != 0,
        fragment_offset,
        ttl: base[8],
        protocol,
        checksum: u16::from_be_bytes([base[10], base[11]]),
        options_len: (ihl - 5) * 4,
    };
    let upper_layer = Some(header_len);
    if fragment_offset != 0 {
        // A later fragment: no transport header to read.
        return Some(with_transport(Network::Ipv4(ip), upper_layer, (None, None)));
    }
    // As etherparse's lax slice: the payload ends where the total length says, unless that
    // is shorter than the header or longer than the bytes there.
    let total_len = usize::from(total_len);
    let end = if total_len < header_len || total_len > payload.len() {
        payload.len()
    } else {
        total_len
    };
    let transport = decode_transport(IpNumber(protocol), false, &payload[header_len..end]);
    Some(with_transport(Network::Ipv4(ip), upper_layer, transport))
}

/// Any IPv4 payload, read with etherparse's lax slice: cut and malformed headers, an
/// authentication header.
fn decode_ipv4_lax(payload: &[u8]) -> Decoded {
    // Version 4 and IHL 5 or more, checked before the length (see the module doc).
    if payload
        .first()
        .is_some_and(|&byte| byte >> 4 != 4 || byte & 0x0f < 5)
    {
        return stopped(Cut::Malformed(Layer::Network));
    }
    let (ip, auth_error) = match LaxIpv4Slice::from_slice(payload) {
        Ok(sliced) => sliced,
        Err(ipv4::HeaderSliceError::Content(_)) => return stopped(Cut::Malformed(Layer::Network)),
        // Fewer than 20 bytes, or the options are cut (etherparse checks version and IHL
        // before the length of the options).
        Err(ipv4::HeaderSliceError::Len(_)) => return decode_ipv4_options_cut(payload),
    };
    let header = ip.header();
    let network = Network::Ipv4(ipv4_values(&header, header.ihl()));
    // The IPv4 header's end: an authentication header, if any, is part of the upper layer.
    let upper_layer = Some(usize::from(header.ihl()) * 4);
    if let Some(error) = auth_error {
        let cut = match error {
            ip_auth::HeaderSliceError::Len(_) => Cut::Extension,
            ip_auth::HeaderSliceError::Content(_) => Cut::Malformed(Layer::Network),
        };
        return with_transport(network, upper_layer, (None, Some(cut)));
    }
    if header.fragments_offset().value() != 0 {
        // A later fragment: no transport header to read.
        return with_transport(network, upper_layer, (None, None));
    }
    // After an authentication header, the protocol it names.
    let payload = ip.payload();
    with_transport(
        network,
        upper_layer,
        decode_transport(payload.ip_number, false, payload.payload),
    )
}

/// An IPv4 header whose options are cut: the 20-byte base header still has every field.
fn decode_ipv4_options_cut(payload: &[u8]) -> Decoded {
    let Some(&base) = payload.first_chunk::<IPV4_BASE_LEN>() else {
        return stopped(Cut::Network);
    };
    let ihl = base[0] & 0x0f;
    let mut fixed = base;
    fixed[0] = 0x45; // version 4, IHL 5: no options
    match Ipv4HeaderSlice::from_slice(&fixed) {
        Ok(header) => Decoded {
            network: Some(Network::Ipv4(ipv4_values(&header, ihl))),
            transport: None,
            cut: Some(Cut::Network),
            upper_layer: None,
        },
        Err(_) => stopped(Cut::Network),
    }
}

/// The values of an IPv4 header; `ihl` is the packet's own (see [`decode_ipv4_options_cut`]).
fn ipv4_values(header: &Ipv4HeaderSlice<'_>, ihl: u8) -> Ipv4 {
    // etherparse has no accessor for the reserved ("evil") bit: byte 6, bit 0x80.
    let reserved_flag = header.slice().get(6).is_some_and(|byte| byte & 0x80 != 0);
    Ipv4 {
        src: header.source_addr(),
        dst: header.destination_addr(),
        ihl,
        tos: (header.dcp().value() << 2) | header.ecn().value(),
        total_len: header.total_len(),
        id: header.identification(),
        reserved_flag,
        dont_fragment: header.dont_fragment(),
        more_fragments: header.more_fragments(),
        fragment_offset: header.fragments_offset().value(),
        ttl: header.ttl(),
        protocol: header.protocol().0,
        checksum: header.header_checksum(),
        options_len: (ihl * 4).saturating_sub(IPV4_BASE_LEN as u8),
    }
}

fn decode_ipv6(payload: &[u8]) -> Decoded {
    // Version 6, checked before the length (see the module doc).
    if payload.first().is_some_and(|&byte| byte >> 4 != 6) {
        return stopped(Cut::Malformed(Layer::Network));
    }
    let (ip, ext_error) = match LaxIpv6Slice::from_slice(payload) {
        Ok(sliced) => sliced,
        Err(ipv6::HeaderSliceError::Len(_)) => return stopped(Cut::Network),
        Err(ipv6::HeaderSliceError::Content(_)) => return stopped(Cut::Malformed(Layer::Network)),
    };
    let header = ip.header();
    let (fragment, later_fragment) = ipv6_fragment(ip.extensions());
    let payload = ip.payload();
    let network = Network::Ipv6(Ipv6 {
        src: header.source_addr(),
        dst: header.destination_addr(),
        traffic_class: header.traffic_class(),
        flow_label: header.flow_label().value(),
        payload_len: header.payload_length(),
        hop_limit: header.hop_limit(),
        next_header: header.next_header().0,
        // After the extension headers decoded; the cut one's number if one was cut.
        protocol: payload.ip_number.0,
        fragment,
    });
    if let Some((error, _layer)) = ext_error {
        let cut = match error {
            ipv6_exts::HeaderSliceError::Len(_) => Cut::Extension,
            ipv6_exts::HeaderSliceError::Content(_) => Cut::Malformed(Layer::Network),
        };
        return with_transport(network, None, (None, Some(cut)));
    }
    // After the extension headers.
    let upper_layer = Some(header.slice().len() + ip.extensions().slice().len());
    if later_fragment {
        return with_transport(network, upper_layer, (None, None));
    }
    with_transport(
        network,
        upper_layer,
        decode_transport(payload.ip_number, true, payload.payload),
    )
}

/// The first fragment header among the extension headers etherparse read, and whether any
/// of them has a non-zero offset (a later fragment).
fn ipv6_fragment(extensions: &Ipv6ExtensionsSlice<'_>) -> (Option<Ipv6Fragment>, bool) {
    // etherparse 0.21: when `from_slice_lax` stopped at a cut or bad extension header, the
    // iterator follows the last next-header field past the bytes that were checked and reads
    // a header out of an empty slice with `get_unchecked` (undefined behaviour; debug builds
    // abort). So we stop once the checked bytes are used up.
    let mut remaining = extensions.slice().len();
    let mut iter = extensions.clone().into_iter();
    let mut fragment = None;
    let mut later_fragment = false;
    while remaining > 0 {
        let Some(extension) = iter.next() else {
            break;
        };
        let len = match extension {
            Ipv6ExtensionSlice::HopByHop(raw)
            | Ipv6ExtensionSlice::Routing(raw)
            | Ipv6ExtensionSlice::DestinationOptions(raw) => raw.slice().len(),
            Ipv6ExtensionSlice::Authentication(auth) => auth.slice().len(),
            Ipv6ExtensionSlice::Fragment(frag) => {
                let offset = frag.fragment_offset().value();
                later_fragment |= offset != 0;
                fragment.get_or_insert(Ipv6Fragment {
                    offset,
                    more_fragments: frag.more_fragments(),
                    id: frag.identification(),
                });
                frag.slice().len()
            }
        };
        // Every header is at least 8 bytes long, so this ends.
        remaining = remaining.saturating_sub(len);
    }
    (fragment, later_fragment)
}

fn decode_arp(payload: &[u8]) -> Decoded {
    // Declared here so that a slice of it may outlive the match below.
    let fixed: [u8; ARP_FIXED_LEN];
    let (arp, cut) = match ArpPacketSlice::from_slice(payload) {
        Ok(arp) => (arp, None),
        Err(_) => {
            // The kernel's LOG says "INCOMPLETE" here and still prints the fixed part.
            let Some(&base) = payload.first_chunk::<ARP_FIXED_LEN>() else {
                return stopped(Cut::Network);
            };
            let mut base = base;
            base[4] = 0; // hardware address length
            base[5] = 0; // protocol address length
            fixed = base;
            match ArpPacketSlice::from_slice(&fixed) {
                Ok(arp) => (arp, Some(Cut::Network)),
                Err(_) => return stopped(Cut::Network),
            }
        }
    };
    let ethernet_ipv4 = if cut.is_none() {
        arp_ethernet_ipv4(&arp)
    } else {
        None
    };
    Decoded {
        network: Some(Network::Arp(Arp {
            hardware_type: arp.hw_addr_type().0,
            protocol_type: arp.proto_addr_type().0,
            operation: arp.operation().0,
            ethernet_ipv4,
        })),
        transport: None,
        cut,
        upper_layer: None,
    }
}

/// The addresses of an ARP packet for Ethernet with 4-byte protocol addresses.
fn arp_ethernet_ipv4(arp: &ArpPacketSlice<'_>) -> Option<ArpEthernetIpv4> {
    // nf_log_syslog.c, dump_arp_packet: "If it's for Ethernet and the lengths are OK, then
    // log the ARP payload" (ar_hrd == ARPHRD_ETHER, ar_hln == ETH_ALEN, ar_pln == 4); the
    // protocol type is not checked.
    if arp.hw_addr_type() != ArpHardwareId::ETHERNET
        || arp.hw_addr_size() != 6
        || arp.proto_addr_size() != 4
    {
        return None;
    }
    let ip = |bytes: &[u8]| <[u8; 4]>::try_from(bytes).ok().map(Into::into);
    Some(ArpEthernetIpv4 {
        sender_mac: arp.sender_hw_addr().try_into().ok()?,
        sender_ip: ip(arp.sender_protocol_addr())?,
        target_mac: arp.target_hw_addr().try_into().ok()?,
        target_ip: ip(arp.target_protocol_addr())?,
    })
}

/// The transport header after the network layer, for the protocols we decode.
fn decode_transport(
    protocol: IpNumber,
    ipv6: bool,
    bytes: &[u8],
) -> (Option<Transport>, Option<Cut>) {
    match protocol {
        IpNumber::TCP => decode_tcp(bytes),
        IpNumber::UDP | IpNumber::UDP_LITE => decode_udp(bytes),
        IpNumber::ICMP if !ipv6 => decode_icmpv4(bytes),
        IpNumber::IPV6_ICMP if ipv6 => decode_icmpv6(bytes),
        _ => (None, None),
    }
}

fn decode_tcp(bytes: &[u8]) -> (Option<Transport>, Option<Cut>) {
    // Data offset 5 or more, checked before the length (see the module doc).
    if bytes.get(12).is_some_and(|&byte| byte >> 4 < 5) {
        return (None, Some(Cut::Malformed(Layer::Transport)));
    }
    // Declared here so that a slice of it may outlive the match below.
    let fixed: [u8; TCP_BASE_LEN];
    let (tcp, cut) = match TcpSlice::from_slice(bytes) {
        Ok(tcp) => (tcp, None),
        Err(tcp::HeaderSliceError::Content(_)) => {
            return (None, Some(Cut::Malformed(Layer::Transport)))
        }
        // Fewer than 20 bytes, or the options are cut (the data offset is checked first).
        Err(tcp::HeaderSliceError::Len(_)) => {
            let Some(&base) = bytes.first_chunk::<TCP_BASE_LEN>() else {
                return (None, Some(Cut::Transport));
            };
            let mut base = base;
            base[12] = 0x50 | (base[12] & 0x0f); // data offset 5: no options
            fixed = base;
            match TcpSlice::from_slice(&fixed) {
                Ok(tcp) => (tcp, Some(Cut::Transport)),
                Err(_) => return (None, Some(Cut::Transport)),
            }
        }
    };
    // Byte 12: data offset (high nibble) and the reserved bits, which etherparse gives only
    // one of (NS). Read from the packet, present in both cases above.
    let offset_byte = bytes.get(12).copied().unwrap_or(0);
    let data_offset = offset_byte >> 4;
    let mut flags = 0;
    for (set, bit) in [
        (tcp.fin(), Tcp::FIN),
        (tcp.syn(), Tcp::SYN),
        (tcp.rst(), Tcp::RST),
        (tcp.psh(), Tcp::PSH),
        (tcp.ack(), Tcp::ACK),
        (tcp.urg(), Tcp::URG),
        (tcp.ece(), Tcp::ECE),
        (tcp.cwr(), Tcp::CWR),
    ] {
        if set {
            flags |= bit;
        }
    }
    let values = Tcp {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        ack_seq: tcp.acknowledgment_number(),
        data_offset,
        flags,
        reserved: offset_byte & 0x0f,
        window: tcp.window_size(),
        checksum: tcp.checksum(),
        urgent_ptr: tcp.urgent_pointer(),
        options_len: (data_offset * 4).saturating_sub(TCP_BASE_LEN as u8),
    };
    (Some(Transport::Tcp(values)), cut)
}

fn decode_udp(bytes: &[u8]) -> (Option<Transport>, Option<Cut>) {
    // Lax: a length field larger than the bytes we have (a cut payload) is no error.
    match UdpSlice::from_slice_lax(bytes) {
        Ok(udp) => (
            Some(Transport::Udp(Udp {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                len: udp.length(),
                checksum: udp.checksum(),
            })),
            None,
        ),
        Err(_) => (None, Some(Cut::Transport)),
    }
}

fn decode_icmpv4(bytes: &[u8]) -> (Option<Transport>, Option<Cut>) {
    let icmp = match Icmpv4Slice::from_slice(bytes) {
        Ok(icmp) => Icmp {
            icmp_type: icmp.type_u8(),
            code: icmp.code_u8(),
            checksum: icmp.checksum(),
            rest: icmp.bytes5to8(),
        },
        // Fewer than 8 bytes, or a timestamp message that is not exactly 20 bytes long
        // (cut, or padded): its 8-byte header is still there.
        Err(_) => match bytes.first_chunk::<ICMP_LEN>() {
            Some(&[icmp_type, code, checksum_hi, checksum_lo, r0, r1, r2, r3]) => Icmp {
                icmp_type,
                code,
                checksum: u16::from_be_bytes([checksum_hi, checksum_lo]),
                rest: [r0, r1, r2, r3],
            },
            None => return (None, Some(Cut::Transport)),
        },
    };
    (Some(Transport::Icmpv4(icmp)), None)
}

fn decode_icmpv6(bytes: &[u8]) -> (Option<Transport>, Option<Cut>) {
    match Icmpv6Slice::from_slice(bytes) {
        Ok(icmp) => (
            Some(Transport::Icmpv6(Icmp {
                icmp_type: icmp.type_u8(),
                code: icmp.code_u8(),
                checksum: icmp.checksum(),
                rest: icmp.bytes5to8(),
            })),
            None,
        ),
        Err(_) => (None, Some(Cut::Transport)),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use etherparse::{
        ArpOperation, ArpPacket, IpDscp, IpEcn, IpFragOffset, IpHeaders, Ipv4Header, Ipv4Options,
        Ipv6FlowLabel, Ipv6Header, PacketBuilder, TcpOptionElement,
    };

    use super::*;

    const IPV4: u16 = 0x0800;
    const IPV6: u16 = 0x86dd;
    const ARP: u16 = 0x0806;

    const SRC4: [u8; 4] = [192, 0, 2, 1];
    const DST4: [u8; 4] = [198, 51, 100, 7];
    const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const DST6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    fn be16(bytes: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([bytes[at], bytes[at + 1]])
    }

    fn ipv4_of(decoded: &Decoded) -> Ipv4 {
        match decoded.network {
            Some(Network::Ipv4(ip)) => ip,
            other => panic!("expected IPv4, got {other:?}"),
        }
    }

    fn ipv6_of(decoded: &Decoded) -> Ipv6 {
        match decoded.network {
            Some(Network::Ipv6(ip)) => ip,
            other => panic!("expected IPv6, got {other:?}"),
        }
    }

    fn arp_of(decoded: &Decoded) -> Arp {
        match decoded.network {
            Some(Network::Arp(arp)) => arp,
            other => panic!("expected ARP, got {other:?}"),
        }
    }

    fn tcp_of(decoded: &Decoded) -> Tcp {
        match decoded.transport {
            Some(Transport::Tcp(tcp)) => tcp,
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    fn udp_of(decoded: &Decoded) -> Udp {
        match decoded.transport {
            Some(Transport::Udp(udp)) => udp,
            other => panic!("expected UDP, got {other:?}"),
        }
    }

    /// IPv4 UDP 192.0.2.1:40000 -> 198.51.100.7:53, TTL 64, "query" (PacketBuilder: DF, id 0).
    fn udp4() -> Vec<u8> {
        let mut packet = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(40000, 53)
            .write(&mut packet, b"query")
            .unwrap();
        packet
    }

    /// IPv4 TCP SYN 192.0.2.1:51000 -> 198.51.100.7:443 with a Linux-like 20 bytes of
    /// options (MSS, SACK permitted, timestamps, NOP, window scale), no data.
    fn syn4() -> Vec<u8> {
        let mut packet = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(51000, 443, 0x1234_5678, 64240)
            .syn()
            .options(&[
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Timestamp(1, 0),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
            .unwrap()
            .write(&mut packet, &[])
            .unwrap();
        packet
    }

    /// An IPv4 header built from `header` (options, fragment fields kept) with UDP 1000 -> 2000.
    fn ipv4_udp_with(header: Ipv4Header, data: &[u8]) -> Vec<u8> {
        let mut packet = Vec::new();
        PacketBuilder::ip(IpHeaders::Ipv4(header, Default::default()))
            .udp(1000, 2000)
            .write(&mut packet, data)
            .unwrap();
        packet
    }

    fn ipv4_header() -> Ipv4Header {
        Ipv4Header::new(0, 64, IpNumber::UDP, SRC4, DST4).unwrap()
    }

    /// IPv6 2001:db8::1 -> 2001:db8::2, hop-by-hop (PadN only), fragment header (offset in
    /// 8-byte units, M flag, id 0xdeadbeef), then 8 bytes of UDP 1000 -> 2000 and "data".
    /// Built by hand from RFC 8200's layouts.
    fn ipv6_hbh_frag(offset: u16, more: bool) -> Vec<u8> {
        let data = b"data";
        let payload_len = 8 + 8 + 8 + data.len() as u16;
        let mut packet = Vec::new();
        packet.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, class 0, flow 0
        packet.extend_from_slice(&payload_len.to_be_bytes());
        packet.extend_from_slice(&[0, 64]); // next header hop-by-hop, hop limit 64
        packet.extend_from_slice(&SRC6);
        packet.extend_from_slice(&DST6);
        // Hop-by-hop: next fragment (44), length 0 (8 bytes), PadN of 4.
        packet.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        // Fragment: next UDP (17), reserved, offset << 3 | M, identification.
        let offset_field = (offset << 3) | u16::from(more);
        packet.extend_from_slice(&[17, 0]);
        packet.extend_from_slice(&offset_field.to_be_bytes());
        packet.extend_from_slice(&0xdead_beef_u32.to_be_bytes());
        // UDP: ports, length 12, checksum 0x1111.
        packet.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 12, 0x11, 0x11]);
        packet.extend_from_slice(data);
        packet
    }

    /// ARP request: who has 192.0.2.7? tell 192.0.2.1 (02:00:00:00:00:01).
    fn arp_request() -> Vec<u8> {
        ArpPacket::new(
            ArpHardwareId::ETHERNET,
            EtherType::IPV4,
            ArpOperation::REQUEST,
            &[2, 0, 0, 0, 0, 1],
            &[192, 0, 2, 1],
            &[0; 6],
            &[192, 0, 2, 7],
        )
        .unwrap()
        .to_bytes()
        .to_vec()
    }

    #[test]
    fn ipv4_udp() {
        let packet = udp4();
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(decoded.cut, None);
        assert_eq!(
            ipv4_of(&decoded),
            Ipv4 {
                src: Ipv4Addr::new(192, 0, 2, 1),
                dst: Ipv4Addr::new(198, 51, 100, 7),
                ihl: 5,
                tos: 0,
                total_len: 33,
                id: 0,
                reserved_flag: false,
                dont_fragment: true,
                more_fragments: false,
                fragment_offset: 0,
                ttl: 64,
                protocol: 17,
                checksum: be16(&packet, 10),
                options_len: 0,
            }
        );
        assert_eq!(
            udp_of(&decoded),
            Udp {
                src_port: 40000,
                dst_port: 53,
                len: 13,
                checksum: be16(&packet, 26),
            }
        );
    }

    #[test]
    fn ipv4_tcp_syn_with_options() {
        let packet = syn4();
        assert_eq!(packet.len(), 60);
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(decoded.cut, None);
        assert_eq!(ipv4_of(&decoded).protocol, 6);
        let tcp = tcp_of(&decoded);
        assert_eq!(
            tcp,
            Tcp {
                src_port: 51000,
                dst_port: 443,
                seq: 0x1234_5678,
                ack_seq: 0,
                data_offset: 10,
                flags: Tcp::SYN,
                reserved: 0,
                window: 64240,
                checksum: be16(&packet, 36),
                urgent_ptr: 0,
                options_len: 20,
            }
        );
        assert!(tcp.has(Tcp::SYN) && !tcp.has(Tcp::ACK));
    }

    #[test]
    fn tcp_every_flag_and_the_ns_bit() {
        let mut packet = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(1, 2, 3, 4)
            .ns()
            .fin()
            .rst()
            .psh()
            .ack(99)
            .urg(5)
            .ece()
            .cwr()
            .write(&mut packet, b"x")
            .unwrap();
        let tcp = tcp_of(&decode_payload(IPV4, Family::Ipv4, &packet));
        assert_eq!(tcp.flags, !Tcp::SYN);
        assert_eq!(tcp.reserved, 0x01, "NS (AE) is the lowest reserved bit");
        assert_eq!((tcp.ack_seq, tcp.urgent_ptr), (99, 5));
        assert_eq!((tcp.data_offset, tcp.options_len), (5, 0));
    }

    #[test]
    fn ipv4_with_options_tos_and_reserved_flag() {
        let mut header = ipv4_header();
        header.options = Ipv4Options::try_from(&[0x94, 0x04, 0, 0][..]).unwrap(); // router alert
        header.identification = 0xbeef;
        header.dscp = IpDscp::try_new(46).unwrap(); // EF
        header.ecn = IpEcn::try_new(2).unwrap(); // ECT(0)
        let mut packet = ipv4_udp_with(header, b"x");
        packet[6] |= 0x80; // the reserved ("evil") bit
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(decoded.cut, None);
        let ip = ipv4_of(&decoded);
        assert_eq!((ip.ihl, ip.options_len), (6, 4));
        assert_eq!(ip.tos, (46 << 2) | 2);
        assert_eq!(ip.id, 0xbeef);
        assert!(ip.reserved_flag && ip.dont_fragment && !ip.is_fragment());
        assert_eq!(ip.total_len, 24 + 8 + 1);
        let udp = udp_of(&decoded);
        assert_eq!((udp.src_port, udp.dst_port, udp.len), (1000, 2000, 9));
    }

    #[test]
    fn ipv4_icmp_echo() {
        let mut packet = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .icmpv4_echo_request(0x1234, 7)
            .write(&mut packet, b"ping")
            .unwrap();
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(decoded.cut, None);
        let Some(Transport::Icmpv4(icmp)) = decoded.transport else {
            panic!("expected ICMP, got {decoded:?}");
        };
        assert_eq!((icmp.icmp_type, icmp.code), (8, 0));
        assert_eq!(icmp.checksum, be16(&packet, 22));
        assert_eq!(icmp.echo(false), Some((0x1234, 7)));
        assert_eq!(icmp.echo(true), None);
    }

    #[test]
    fn icmp_timestamp_cut_keeps_its_header() {
        // etherparse wants exactly 20 bytes for a timestamp request; 12 are left.
        let mut header = ipv4_header();
        header.protocol = IpNumber::ICMP;
        header.total_len = 40;
        let mut packet = header.to_bytes().to_vec();
        packet.extend_from_slice(&[13, 0, 0xab, 0xcd, 0, 1, 0, 2, 0, 0, 0, 0]);
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        let expected = Icmp {
            icmp_type: 13,
            code: 0,
            checksum: 0xabcd,
            rest: [0, 1, 0, 2],
        };
        assert_eq!(decoded.transport, Some(Transport::Icmpv4(expected)));
        assert_eq!(decoded.cut, None);
    }

    #[test]
    fn ipv4_first_fragment_has_its_transport() {
        let mut header = ipv4_header();
        header.dont_fragment = false;
        header.more_fragments = true;
        header.identification = 0x4242;
        let packet = ipv4_udp_with(header, &[0; 32]);
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        let ip = ipv4_of(&decoded);
        assert!(ip.more_fragments && ip.is_fragment());
        assert_eq!((ip.fragment_offset, ip.id), (0, 0x4242));
        assert_eq!(udp_of(&decoded).dst_port, 2000);
        assert_eq!(decoded.cut, None);
    }

    #[test]
    fn ipv4_later_fragment_has_no_transport() {
        let mut header = ipv4_header();
        header.dont_fragment = false;
        header.fragment_offset = IpFragOffset::try_new(185).unwrap();
        // The bytes after the header look like UDP but are the middle of a datagram.
        let packet = ipv4_udp_with(header, &[0; 32]);
        for len in [20, 21, packet.len()] {
            let decoded = decode_payload(IPV4, Family::Ipv4, &packet[..len]);
            assert_eq!(ipv4_of(&decoded).fragment_offset, 185);
            assert_eq!((decoded.transport, decoded.cut), (None, None), "len {len}");
        }
    }

    #[test]
    fn ipv4_authentication_header_then_udp() {
        // AH (RFC 4302): next header UDP, length 1 (12 bytes, no ICV), SPI 1, sequence 1.
        let mut header = ipv4_header();
        header.protocol = IpNumber::AUTHENTICATION_HEADER;
        header.total_len = 20 + 12 + 8;
        let mut packet = header.to_bytes().to_vec();
        packet.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
        packet.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 8, 0, 0]);
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(ipv4_of(&decoded).protocol, 51);
        assert_eq!(udp_of(&decoded).dst_port, 2000);
        assert_eq!(decoded.cut, None);
        for len in 20..32 {
            let decoded = decode_payload(IPV4, Family::Ipv4, &packet[..len]);
            assert_eq!(ipv4_of(&decoded).protocol, 51);
            assert_eq!(decoded.transport, None);
            assert_eq!(decoded.cut, Some(Cut::Extension), "len {len}");
        }
    }

    #[test]
    fn ipv6_udp() {
        let header = Ipv6Header {
            traffic_class: 0x2e,
            flow_label: Ipv6FlowLabel::try_new(0x12345).unwrap(),
            payload_length: 0,
            next_header: IpNumber::UDP,
            hop_limit: 64,
            source: SRC6,
            destination: DST6,
        };
        let mut packet = Vec::new();
        PacketBuilder::ip(IpHeaders::Ipv6(header, Default::default()))
            .udp(5353, 5353)
            .write(&mut packet, b"mdns")
            .unwrap();
        let decoded = decode_payload(IPV6, Family::Ipv6, &packet);
        assert_eq!(decoded.cut, None);
        assert_eq!(
            ipv6_of(&decoded),
            Ipv6 {
                src: Ipv6Addr::from(SRC6),
                dst: Ipv6Addr::from(DST6),
                traffic_class: 0x2e,
                flow_label: 0x12345,
                payload_len: 12,
                hop_limit: 64,
                next_header: 17,
                protocol: 17,
                fragment: None,
            }
        );
        assert_eq!(
            udp_of(&decoded),
            Udp {
                src_port: 5353,
                dst_port: 5353,
                len: 12,
                checksum: be16(&packet, 46),
            }
        );
    }

    #[test]
    fn ipv6_hop_by_hop_then_fragment() {
        let packet = ipv6_hbh_frag(0, true);
        let decoded = decode_payload(IPV6, Family::Ipv6, &packet);
        assert_eq!(decoded.cut, None);
        let ip = ipv6_of(&decoded);
        assert_eq!((ip.next_header, ip.protocol, ip.payload_len), (0, 17, 28));
        assert_eq!(
            ip.fragment,
            Some(Ipv6Fragment {
                offset: 0,
                more_fragments: true,
                id: 0xdead_beef,
            })
        );
        assert_eq!(
            udp_of(&decoded),
            Udp {
                src_port: 1000,
                dst_port: 2000,
                len: 12,
                checksum: 0x1111,
            }
        );
    }

    #[test]
    fn ipv6_later_fragment_has_no_transport() {
        let packet = ipv6_hbh_frag(100, false);
        let decoded = decode_payload(IPV6, Family::Ipv6, &packet);
        let ip = ipv6_of(&decoded);
        assert_eq!(ip.protocol, 17);
        assert_eq!(
            ip.fragment.map(|f| (f.offset, f.more_fragments)),
            Some((100, false))
        );
        assert_eq!((decoded.transport, decoded.cut), (None, None));
    }

    #[test]
    fn icmpv6_echo() {
        let mut packet = Vec::new();
        PacketBuilder::ipv6(SRC6, DST6, 255)
            .icmpv6_echo_request(0xabcd, 1)
            .write(&mut packet, b"ping6")
            .unwrap();
        let decoded = decode_payload(IPV6, Family::Ipv6, &packet);
        assert_eq!(decoded.cut, None);
        assert_eq!(ipv6_of(&decoded).protocol, 58);
        let Some(Transport::Icmpv6(icmp)) = decoded.transport else {
            panic!("expected ICMPv6, got {decoded:?}");
        };
        assert_eq!((icmp.icmp_type, icmp.code), (128, 0));
        assert_eq!(icmp.checksum, be16(&packet, 42));
        assert_eq!(icmp.echo(true), Some((0xabcd, 1)));
    }

    #[test]
    fn arp_request_ethernet_ipv4() {
        let packet = arp_request();
        assert_eq!(packet.len(), 28);
        let decoded = decode_payload(ARP, Family::Arp, &packet);
        assert_eq!(decoded.cut, None);
        assert_eq!(decoded.transport, None);
        assert_eq!(
            arp_of(&decoded),
            Arp {
                hardware_type: 1,
                protocol_type: 0x0800,
                operation: 1,
                ethernet_ipv4: Some(ArpEthernetIpv4 {
                    sender_mac: [2, 0, 0, 0, 0, 1],
                    sender_ip: Ipv4Addr::new(192, 0, 2, 1),
                    target_mac: [0; 6],
                    target_ip: Ipv4Addr::new(192, 0, 2, 7),
                }),
            }
        );
    }

    #[test]
    fn arp_not_ethernet_has_no_addresses() {
        let packet = ArpPacket::new(
            ArpHardwareId(6), // IEEE 802
            EtherType::IPV4,
            ArpOperation::REPLY,
            &[1, 2, 3, 4, 5, 6],
            &[10, 0, 0, 1],
            &[6, 5, 4, 3, 2, 1],
            &[10, 0, 0, 2],
        )
        .unwrap()
        .to_bytes();
        let decoded = decode_payload(ARP, Family::Bridge, &packet);
        let arp = arp_of(&decoded);
        assert_eq!((arp.hardware_type, arp.operation), (6, 2));
        assert_eq!((arp.ethernet_ipv4, decoded.cut), (None, None));
    }

    #[test]
    fn protocol_from_ethertype_then_family_then_version() {
        let v4 = udp4();
        let is_v4 = |d: Decoded| matches!(d.network, Some(Network::Ipv4(_)));
        // The EtherType wins over the family.
        assert!(is_v4(decode_payload(IPV4, Family::Ipv6, &v4)));
        // hw_protocol 0: the family, else the version nibble.
        assert!(is_v4(decode_payload(0, Family::Ipv4, &v4)));
        assert!(is_v4(decode_payload(0, Family::Bridge, &v4)));
        assert!(is_v4(decode_payload(0, Family::Unspec, &v4)));
        let v6 = ipv6_hbh_frag(0, false);
        assert!(matches!(
            decode_payload(0, Family::Netdev, &v6).network,
            Some(Network::Ipv6(_))
        ));
        let arp = arp_request();
        assert!(matches!(
            decode_payload(0, Family::Arp, &arp).network,
            Some(Network::Arp(_))
        ));
        // Another EtherType in a bridge or netdev hook: not decoded, not guessed.
        assert_eq!(
            decode_payload(0x8100, Family::Bridge, &v4),
            Decoded::default()
        );
        assert_eq!(
            decode_payload(0x88cc, Family::Netdev, &v4),
            Decoded::default()
        );
        // ... but an ipv4 hook only sees IPv4.
        assert!(is_v4(decode_payload(0x1234, Family::Ipv4, &v4)));
        // Neither 4 nor 6, or nothing at all.
        assert_eq!(decode_payload(0, Family::Bridge, &arp), Decoded::default());
        assert_eq!(decode_payload(0, Family::Bridge, &[]), Decoded::default());
    }

    #[test]
    fn malformed_network_headers() {
        let malformed = Some(Cut::Malformed(Layer::Network));
        let v4 = udp4();
        let v6 = ipv6_hbh_frag(0, false);
        // Wrong version for what the EtherType says.
        assert_eq!(decode_payload(IPV4, Family::Ipv4, &v6).cut, malformed);
        assert_eq!(decode_payload(IPV6, Family::Ipv6, &v4).cut, malformed);
        // IHL below 5.
        let mut short_ihl = v4.clone();
        short_ihl[0] = 0x44;
        let decoded = decode_payload(IPV4, Family::Ipv4, &short_ihl);
        assert_eq!((decoded.network, decoded.cut), (None, malformed));
        // Whatever the length, once the byte that says so is there.
        assert_eq!(
            decode_payload(IPV4, Family::Ipv4, &short_ihl[..1]).cut,
            malformed
        );
        assert_eq!(decode_payload(IPV4, Family::Ipv4, &v6[..1]).cut, malformed);
        assert_eq!(decode_payload(IPV6, Family::Ipv6, &v4[..1]).cut, malformed);
        // Hop-by-hop anywhere but first: turn the fragment header's next header into 0.
        let mut late_hbh = v6.clone();
        late_hbh[48] = 0;
        let decoded = decode_payload(IPV6, Family::Ipv6, &late_hbh);
        assert_eq!(decoded.cut, malformed);
        assert_eq!(ipv6_of(&decoded).protocol, 0);
    }

    #[test]
    fn tcp_data_offset_below_five_is_malformed() {
        let mut packet = syn4();
        packet[20 + 12] = 0x40;
        for len in [20 + 13, 20 + 20, packet.len()] {
            let decoded = decode_payload(IPV4, Family::Ipv4, &packet[..len]);
            assert!(decoded.network.is_some());
            assert_eq!(decoded.transport, None);
            assert_eq!(decoded.cut, Some(Cut::Malformed(Layer::Transport)));
        }
    }

    #[test]
    fn total_len_larger_than_the_payload_is_no_error() {
        let mut packet = udp4();
        packet[2..4].copy_from_slice(&1500_u16.to_be_bytes());
        let decoded = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(ipv4_of(&decoded).total_len, 1500);
        assert_eq!(udp_of(&decoded).dst_port, 53);
        assert_eq!(decoded.cut, None);
    }

    #[test]
    fn udp_cut_at_every_length() {
        let packet = udp4();
        let full = decode_payload(IPV4, Family::Ipv4, &packet);
        for len in 0..=packet.len() {
            let decoded = decode_payload(IPV4, Family::Ipv4, &packet[..len]);
            match len {
                0..=19 => assert_eq!(decoded, stopped(Cut::Network), "len {len}"),
                20..=27 => {
                    assert_eq!(decoded.network, full.network, "len {len}");
                    assert_eq!(decoded.transport, None, "len {len}");
                    assert_eq!(decoded.cut, Some(Cut::Transport), "len {len}");
                }
                // The header is whole; the data may be cut, which is no cut of a header.
                _ => assert_eq!(decoded, full, "len {len}"),
            }
        }
    }

    #[test]
    fn tcp_cut_at_every_length() {
        let packet = syn4();
        let full = decode_payload(IPV4, Family::Ipv4, &packet);
        for len in 0..=packet.len() {
            let decoded = decode_payload(IPV4, Family::Ipv4, &packet[..len]);
            match len {
                0..=19 => assert_eq!(decoded, stopped(Cut::Network), "len {len}"),
                20..=39 => {
                    assert_eq!(decoded.network, full.network, "len {len}");
                    assert_eq!(decoded.transport, None, "len {len}");
                    assert_eq!(decoded.cut, Some(Cut::Transport), "len {len}");
                }
                // The base header is there, the options are not all: every value is.
                40..=59 => {
                    assert_eq!(decoded.network, full.network, "len {len}");
                    assert_eq!(decoded.transport, full.transport, "len {len}");
                    assert_eq!(decoded.cut, Some(Cut::Transport), "len {len}");
                }
                _ => assert_eq!(decoded, full, "len {len}"),
            }
        }
    }

    #[test]
    fn ipv4_options_cut_at_every_length() {
        let mut header = ipv4_header();
        header.options = Ipv4Options::try_from(&[0x94, 0x04, 0, 0, 1, 1, 1, 0][..]).unwrap();
        let packet = ipv4_udp_with(header, b"x");
        let full = decode_payload(IPV4, Family::Ipv4, &packet);
        assert_eq!(ipv4_of(&full).options_len, 8);
        for len in 0..=packet.len() {
            let decoded = decode_payload(IPV4, Family::Ipv4, &packet[..len]);
            match len {
                0..=19 => assert_eq!(decoded, stopped(Cut::Network), "len {len}"),
                20..=27 => {
                    assert_eq!(decoded.network, full.network, "len {len}");
                    assert_eq!(decoded.transport, None, "len {len}");
                    assert_eq!(decoded.cut, Some(Cut::Network), "len {len}");
                }
                28..=35 => assert_eq!(decoded.cut, Some(Cut::Transport), "len {len}"),
                _ => assert_eq!(decoded, full, "len {len}"),
            }
        }
    }

    #[test]
    fn ipv6_extensions_cut_at_every_length() {
        let packet = ipv6_hbh_frag(0, true);
        let full = decode_payload(IPV6, Family::Ipv6, &packet);
        let full_ip = ipv6_of(&full);
        for len in 0..=packet.len() {
            let decoded = decode_payload(IPV6, Family::Ipv6, &packet[..len]);
            if len < 40 {
                assert_eq!(decoded, stopped(Cut::Network), "len {len}");
                continue;
            }
            let ip = ipv6_of(&decoded);
            assert_eq!(
                (ip.src, ip.dst, ip.payload_len),
                (full_ip.src, full_ip.dst, 28)
            );
            let (protocol, fragment, transport, cut) = match len {
                40..=47 => (0, None, None, Some(Cut::Extension)),
                48..=55 => (44, None, None, Some(Cut::Extension)),
                56..=63 => (17, full_ip.fragment, None, Some(Cut::Transport)),
                _ => (17, full_ip.fragment, full.transport, None),
            };
            assert_eq!(ip.protocol, protocol, "len {len}");
            assert_eq!(ip.fragment, fragment, "len {len}");
            assert_eq!(
                (decoded.transport, decoded.cut),
                (transport, cut),
                "len {len}"
            );
        }
    }

    #[test]
    fn arp_cut_at_every_length() {
        let packet = arp_request();
        let full = decode_payload(ARP, Family::Arp, &packet);
        for len in 0..=packet.len() {
            let decoded = decode_payload(ARP, Family::Arp, &packet[..len]);
            match len {
                0..=7 => assert_eq!(decoded, stopped(Cut::Network), "len {len}"),
                8..=27 => {
                    let arp = arp_of(&decoded);
                    assert_eq!((arp.hardware_type, arp.protocol_type), (1, 0x0800));
                    assert_eq!((arp.operation, arp.ethernet_ipv4), (1, None));
                    assert_eq!(decoded.cut, Some(Cut::Network), "len {len}");
                }
                _ => assert_eq!(decoded, full, "len {len}"),
            }
        }
    }

    /// xorshift64: reproducible bytes without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let protocols = [0, IPV4, IPV6, ARP, 0x8100];
        let families = [
            Family::Ipv4,
            Family::Ipv6,
            Family::Arp,
            Family::Bridge,
            Family::Netdev,
        ];
        let mut buffer = [0u8; 96];
        for round in 0..20_000 {
            for byte in buffer.iter_mut() {
                *byte = next(&mut state) as u8;
            }
            // Steer some rounds past the version checks, onto the transport parsers.
            match round % 4 {
                0 => {
                    buffer[0] = 0x45;
                    buffer[6] &= 0xe0; // fragment offset 0
                    buffer[7] = 0;
                    buffer[9] = [1, 6, 17, 51, 136][round / 4 % 5];
                }
                1 => buffer[0] = 0x60 | (buffer[0] & 0x0f),
                2 => buffer[6] = [0, 6, 17, 43, 44, 51, 58, 60][round / 4 % 8],
                _ => {}
            }
            let len = (next(&mut state) % (buffer.len() as u64 + 1)) as usize;
            let hw = protocols[round % protocols.len()];
            let family = families[(round / 5) % families.len()];
            let decoded = decode_payload(hw, family, &buffer[..len]);
            if decoded.transport.is_some() {
                assert!(decoded.network.is_some(), "{decoded:?}");
            }
        }
    }

    proptest::proptest! {
        /// IPv4 payloads the field-by-field reader takes (and some it leaves to etherparse):
        /// any IHL, total length, flags and protocol, whole or cut, with TCP, UDP, ICMP or
        /// authentication headers behind.
        #[test]
        fn whole_ipv4_agrees_with_etherparse(
            ihl in 0u8..16,
            version in proptest::prop_oneof![proptest::prelude::Just(4u8), 0u8..16],
            protocol in proptest::prop_oneof![
                proptest::prelude::Just(6u8),
                proptest::prelude::Just(17u8),
                proptest::prelude::Just(1u8),
                proptest::prelude::Just(136u8),
                proptest::prelude::Just(51u8),
                proptest::prelude::any::<u8>(),
            ],
            total_len in proptest::prop_oneof![0u16..120, proptest::prelude::any::<u16>()],
            flags in proptest::prelude::any::<u16>(),
            mut bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            cut in 0usize..130,
        ) {
            if bytes.len() >= 20 {
                bytes[0] = version << 4 | ihl;
                bytes[2..4].copy_from_slice(&total_len.to_be_bytes());
                // Mostly no offset, so that the transport header is read.
                let flags = if flags & 1 == 0 { flags & 0xe000 } else { flags };
                bytes[6..8].copy_from_slice(&flags.to_be_bytes());
                bytes[9] = protocol;
                let at = usize::from(ihl.max(5)) * 4;
                if let Some(offset) = bytes.get_mut(at + 12) {
                    // A TCP data offset of 5 or more, mostly.
                    *offset |= 0x50;
                }
            }
            let bytes = &bytes[..cut.min(bytes.len())];
            let lax = decode_ipv4_lax(bytes);
            if let Some(whole) = whole_ipv4(bytes) {
                proptest::prop_assert_eq!(whole, lax);
            }
            proptest::prop_assert_eq!(decode_payload(IPV4, Family::Ipv4, bytes), lax);
        }
    }
}
