//! The user-space evaluator: an expression over a decoded packet and its NFLOG attributes.

use std::net::IpAddr;

use super::ast::*;
use crate::conntrack::CtInfo;
use crate::decode::{decode, decode_link, Decoded, Network, Sctp, Transport};
use crate::format::ResolveInterface;
use crate::wire::family::Family;
use crate::wire::packet::Packet;

impl Expr {
    /// Whether `packet` matches: its headers decoded with [`decode`], its metadata read from
    /// its attributes, interfaces named by `names`.
    ///
    /// A primitive whose data the packet lacks does not match (see the module
    /// documentation). Never panics.
    pub fn matches(&self, packet: &Packet<&[u8]>, names: &mut dyn ResolveInterface) -> bool {
        self.matches_decoded(packet, &decode(packet), names)
    }

    /// [`matches`](Self::matches) for a packet already decoded (`decoded` must be
    /// `decode(packet)`), so that a program that formats the packet too decodes it once.
    pub fn matches_decoded(
        &self,
        packet: &Packet<&[u8]>,
        decoded: &Decoded,
        names: &mut dyn ResolveInterface,
    ) -> bool {
        let facts = Facts { packet, decoded };
        facts.eval(self, names)
    }
}

struct Facts<'p, 'a> {
    packet: &'p Packet<&'a [u8]>,
    decoded: &'p Decoded,
}

/// Applies `test` to the source, the destination or both, as `dir` says.
fn directed<T: Copy>(dir: Dir, src: T, dst: T, test: impl Fn(T) -> bool) -> bool {
    match dir {
        Dir::Src => test(src),
        Dir::Dst => test(dst),
        Dir::SrcOrDst => test(src) || test(dst),
        Dir::SrcAndDst => test(src) && test(dst),
    }
}

impl Facts<'_, '_> {
    fn eval(&self, expr: &Expr, names: &mut dyn ResolveInterface) -> bool {
        match expr {
            Expr::Primitive(p) => self.primitive(p, names),
            Expr::Not(e) => !self.eval(e, names),
            Expr::And(a, b) => self.eval(a, names) && self.eval(b, names),
            Expr::Or(a, b) => self.eval(a, names) || self.eval(b, names),
        }
    }

    fn addresses(&self) -> Option<(IpAddr, IpAddr)> {
        match self.decoded.network? {
            Network::Ipv4(ip) => Some((ip.src.into(), ip.dst.into())),
            Network::Ipv6(ip) => Some((ip.src.into(), ip.dst.into())),
            Network::Arp(_) => None,
        }
    }

    /// The IP version and transport protocol number (after IPv6 extension headers).
    fn protocol(&self) -> Option<(IpFamily, u8)> {
        match self.decoded.network? {
            Network::Ipv4(ip) => Some((IpFamily::V4, ip.protocol)),
            Network::Ipv6(ip) => Some((IpFamily::V6, ip.protocol)),
            Network::Arp(_) => None,
        }
    }

    /// Whether this is an IP fragment other than the first, which has no transport header.
    fn later_fragment(&self) -> bool {
        match self.decoded.network {
            Some(Network::Ipv4(ip)) => ip.fragment_offset != 0,
            Some(Network::Ipv6(ip)) => ip.fragment.is_some_and(|f| f.offset != 0),
            _ => false,
        }
    }

    /// The transport protocol and its source and destination ports, for TCP, UDP and SCTP.
    fn ports(&self) -> Option<(u8, u16, u16)> {
        let (_, proto) = self.protocol()?;
        match (proto, self.decoded.transport) {
            (6, Some(Transport::Tcp(t))) => Some((6, t.src_port, t.dst_port)),
            (17, Some(Transport::Udp(u))) => Some((17, u.src_port, u.dst_port)),
            (132, _) if !self.later_fragment() => {
                let payload = self.packet.payload()?;
                let sctp = Sctp::parse(payload.get(self.decoded.upper_layer?..)?)?;
                Some((132, sctp.src_port, sctp.dst_port))
            }
            _ => None,
        }
    }

    fn port_test(&self, proto: Option<PortProto>, dir: Dir, test: impl Fn(u16) -> bool) -> bool {
        let Some((number, src, dst)) = self.ports() else {
            return false;
        };
        proto.is_none_or(|p| p.number() == number) && directed(dir, src, dst, test)
    }

    fn network(&self) -> Option<NetworkProto> {
        match self.decoded.network {
            Some(Network::Ipv4(_)) => return Some(NetworkProto::Ipv4),
            Some(Network::Ipv6(_)) => return Some(NetworkProto::Ipv6),
            Some(Network::Arp(_)) => return Some(NetworkProto::Arp),
            None => {}
        }
        // Without a payload (copy mode meta), the family or the EtherType still says.
        match (self.packet.family(), self.packet.hw_protocol()) {
            (Family::Ipv4, _) | (_, 0x0800) => Some(NetworkProto::Ipv4),
            (Family::Ipv6, _) | (_, 0x86dd) => Some(NetworkProto::Ipv6),
            (Family::Arp, _) | (_, 0x0806) => Some(NetworkProto::Arp),
            _ => None,
        }
    }

    /// The packet's length as `less` and `greater` see it (module documentation).
    fn length(&self) -> Option<u32> {
        match self.decoded.network {
            Some(Network::Ipv4(ip)) => Some(u32::from(ip.total_len)),
            Some(Network::Ipv6(ip)) => Some(40 + u32::from(ip.payload_len)),
            // The kernel rule reads the IP headers' length fields too: nothing else has one.
            _ => None,
        }
    }

    fn interface(&self, dir: IfaceDir, name: &str, names: &mut dyn ResolveInterface) -> bool {
        let index = match dir {
            IfaceDir::In => self.packet.indev(),
            IfaceDir::Out => self.packet.outdev(),
        };
        let Some(actual) = index.and_then(|i| names.interface_name_bytes(i)) else {
            return false;
        };
        match name.strip_suffix('*') {
            Some(stem) => actual.starts_with(stem.as_bytes()),
            None => actual == name.as_bytes(),
        }
    }

    fn primitive(&self, p: &Primitive, names: &mut dyn ResolveInterface) -> bool {
        match p {
            Primitive::Host(dir, addr) => self
                .addresses()
                .is_some_and(|(s, d)| directed(*dir, s, d, |a| a == *addr)),
            Primitive::Net(dir, prefix) => self
                .addresses()
                .is_some_and(|(s, d)| directed(*dir, s, d, |a| prefix.contains(a))),
            Primitive::Port(proto, dir, port) => self.port_test(*proto, *dir, |p| p == *port),
            Primitive::PortRange(proto, dir, lo, hi) => {
                self.port_test(*proto, *dir, |p| (*lo..=*hi).contains(&p))
            }
            Primitive::Network(proto) => self.network() == Some(*proto),
            Primitive::Proto(family, number) => self
                .protocol()
                .is_some_and(|(f, n)| n == *number && family.is_none_or(|want| want == f)),
            Primitive::TcpFlags(t) => match self.decoded.transport {
                Some(Transport::Tcp(tcp)) => t.cmp.holds(tcp.flags & t.mask, t.value),
                _ => false,
            },
            Primitive::Icmp(t) => {
                let icmp = match (t.v6, self.decoded.transport) {
                    (false, Some(Transport::Icmpv4(icmp))) => icmp,
                    (true, Some(Transport::Icmpv6(icmp))) => icmp,
                    _ => return false,
                };
                let value = match t.field {
                    IcmpField::Type => icmp.icmp_type,
                    IcmpField::Code => icmp.code,
                };
                t.cmp.holds(value, t.value)
            }
            Primitive::Length(test) => self.length().is_some_and(|len| match test {
                LengthTest::AtMost(n) => len <= *n,
                LengthTest::AtLeast(n) => len >= *n,
            }),
            Primitive::Vlan(id) => decode_link(self.packet)
                .and_then(|link| link.outer_tag())
                .is_some_and(|tag| id.is_none_or(|id| tag.id == id)),
            // The kernel sends no NFULA_MARK for mark 0.
            Primitive::Mark(m) => self.packet.mark().unwrap_or(0) & m.mask == m.value,
            Primitive::Interface(dir, name) => self.interface(*dir, name, names),
            Primitive::SkUid(uid) => self.packet.uid() == Some(*uid),
            Primitive::SkGid(gid) => self.packet.gid() == Some(*gid),
            Primitive::CtState(states) => {
                let state = match CtInfo::from_packet(self.packet) {
                    Some(CtInfo::Established | CtInfo::EstablishedReply) => CtStates::ESTABLISHED,
                    Some(CtInfo::Related | CtInfo::RelatedReply) => CtStates::RELATED,
                    Some(CtInfo::New) => CtStates::NEW,
                    Some(CtInfo::Untracked) => CtStates::UNTRACKED,
                    Some(CtInfo::Other(_)) | None => return false,
                };
                states.contains(state)
            }
        }
    }
}
