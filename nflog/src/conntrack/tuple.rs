//! A connection's tuple in one direction: addresses, protocol, ports or ICMP fields.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::value::{be16, u8_at};
use crate::wire::attr::Attributes;
use crate::wire::ctattr::{ip, proto, tuple};

/// What identifies a connection in one direction (`CTA_TUPLE_ORIG`, `CTA_TUPLE_REPLY` or
/// `CTA_TUPLE_MASTER`), read from its nested attributes.
///
/// Every field is `None` when the kernel left its attribute out: ports only for protocols
/// that have them (TCP, UDP, UDP-Lite, SCTP, DCCP), the ICMP fields only for ICMP and
/// ICMPv6, the zone only when it applies to this direction alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Tuple {
    /// The source address (`CTA_IP_V4_SRC` or `CTA_IP_V6_SRC`).
    pub src: Option<IpAddr>,
    /// The destination address (`CTA_IP_V4_DST` or `CTA_IP_V6_DST`).
    pub dst: Option<IpAddr>,
    /// The IP protocol number (`CTA_PROTO_NUM`): 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
    pub protocol: Option<u8>,
    /// The source port (`CTA_PROTO_SRC_PORT`).
    pub src_port: Option<u16>,
    /// The destination port (`CTA_PROTO_DST_PORT`).
    pub dst_port: Option<u16>,
    /// The ICMP or ICMPv6 echo identifier (`CTA_PROTO_ICMP_ID`, `CTA_PROTO_ICMPV6_ID`).
    pub icmp_id: Option<u16>,
    /// The ICMP or ICMPv6 type (`CTA_PROTO_ICMP_TYPE`, `CTA_PROTO_ICMPV6_TYPE`).
    pub icmp_type: Option<u8>,
    /// The ICMP or ICMPv6 code (`CTA_PROTO_ICMP_CODE`, `CTA_PROTO_ICMPV6_CODE`).
    pub icmp_code: Option<u8>,
    /// The zone of this direction (`CTA_TUPLE_ZONE`), when the zone is per direction.
    pub zone: Option<u16>,
}

impl Tuple {
    /// Reads a tuple from the value of a tuple attribute. Malformed or short attributes
    /// are skipped, never a panic; [`Conntrack::parse`](super::Conntrack::parse) has
    /// rejected them already. When a type appears twice, the first one counts.
    pub(crate) fn read(value: &[u8]) -> Tuple {
        let mut t = Tuple {
            src: None,
            dst: None,
            protocol: None,
            src_port: None,
            dst_port: None,
            icmp_id: None,
            icmp_type: None,
            icmp_code: None,
            zone: None,
        };
        for attr in Attributes::new(value).map_while(Result::ok) {
            match attr.kind() {
                tuple::IP => t.read_ip(attr.value()),
                tuple::PROTO => t.read_proto(attr.value()),
                tuple::ZONE => t.zone = t.zone.or(be16(attr.value())),
                _ => {}
            }
        }
        t
    }

    fn read_ip(&mut self, value: &[u8]) {
        for attr in Attributes::new(value).map_while(Result::ok) {
            let v = attr.value();
            let addr = match attr.kind() {
                ip::V4_SRC | ip::V4_DST => v4(v),
                ip::V6_SRC | ip::V6_DST => v6(v),
                _ => None,
            };
            match attr.kind() {
                ip::V4_SRC | ip::V6_SRC => self.src = self.src.or(addr),
                ip::V4_DST | ip::V6_DST => self.dst = self.dst.or(addr),
                _ => {}
            }
        }
    }

    fn read_proto(&mut self, value: &[u8]) {
        for attr in Attributes::new(value).map_while(Result::ok) {
            let v = attr.value();
            match attr.kind() {
                proto::NUM => self.protocol = self.protocol.or(u8_at(v)),
                proto::SRC_PORT => self.src_port = self.src_port.or(be16(v)),
                proto::DST_PORT => self.dst_port = self.dst_port.or(be16(v)),
                proto::ICMP_ID | proto::ICMPV6_ID => self.icmp_id = self.icmp_id.or(be16(v)),
                proto::ICMP_TYPE | proto::ICMPV6_TYPE => {
                    self.icmp_type = self.icmp_type.or(u8_at(v))
                }
                proto::ICMP_CODE | proto::ICMPV6_CODE => {
                    self.icmp_code = self.icmp_code.or(u8_at(v))
                }
                _ => {}
            }
        }
    }
}

fn v4(v: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 4] = v.get(..4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

fn v6(v: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 16] = v.get(..16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(octets)))
}
