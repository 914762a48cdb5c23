//! Printing an expression back as text the parser reads to the same tree.

use core::fmt;

use super::ast::*;
use super::lex::is_special;
use super::parse::{ICMP6_TYPES, ICMP_TYPES, TCP_FLAGS};

/// The expression in the filter language, fully qualified (`port 22 or 80` prints as
/// `port 22 or port 80`), parenthesized where the tree needs it.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Primitive(p) => fmt::Display::fmt(p, f),
            Expr::Not(inner) => {
                f.write_str("not ")?;
                operand(inner, f)
            }
            // One precedence level, left-associative: the left side needs no parentheses.
            Expr::And(l, r) => {
                write!(f, "{l} and ")?;
                operand(r, f)
            }
            Expr::Or(l, r) => {
                write!(f, "{l} or ")?;
                operand(r, f)
            }
        }
    }
}

/// An operand of `not` or the right side of `and`/`or`: parenthesized when it is itself
/// an `and` or an `or`.
fn operand(e: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match e {
        Expr::And(..) | Expr::Or(..) => write!(f, "({e})"),
        _ => fmt::Display::fmt(e, f),
    }
}

impl fmt::Display for Dir {
    /// The qualifier with a space after it; nothing for [`Dir::SrcOrDst`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::Src => "src ",
            Dir::Dst => "dst ",
            Dir::SrcOrDst => "",
            Dir::SrcAndDst => "src and dst ",
        })
    }
}

impl fmt::Display for Prefix {
    /// `ADDR/LEN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix_len())
    }
}

/// A TCP flags byte as names: `0`, `tcp-syn`, `(tcp-syn|tcp-ack)`.
fn flags(bits: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let names: Vec<&str> = TCP_FLAGS
        .iter()
        .filter(|(_, bit)| bits & bit != 0)
        .map(|(name, _)| *name)
        .collect();
    match names.as_slice() {
        [] => f.write_str("0"),
        [one] => f.write_str(one),
        many => write!(f, "({})", many.join("|")),
    }
}

fn cmp(c: Cmp) -> &'static str {
    match c {
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto_prefix =
            |p: &Option<PortProto>| p.map_or(String::new(), |p| format!("{} ", p.name()));
        match self {
            Primitive::Host(dir, addr) => write!(f, "{dir}host {addr}"),
            Primitive::Net(dir, prefix) => write!(f, "{dir}net {prefix}"),
            Primitive::Port(proto, dir, port) => {
                write!(f, "{}{dir}port {port}", proto_prefix(proto))
            }
            Primitive::PortRange(proto, dir, lo, hi) => {
                write!(f, "{}{dir}portrange {lo}-{hi}", proto_prefix(proto))
            }
            Primitive::Network(NetworkProto::Ipv4) => f.write_str("ip"),
            Primitive::Network(NetworkProto::Ipv6) => f.write_str("ip6"),
            Primitive::Network(NetworkProto::Arp) => f.write_str("arp"),
            Primitive::Proto(None, 6) => f.write_str("tcp"),
            Primitive::Proto(None, 17) => f.write_str("udp"),
            Primitive::Proto(None, 132) => f.write_str("sctp"),
            Primitive::Proto(Some(IpFamily::V4), 1) => f.write_str("icmp"),
            Primitive::Proto(Some(IpFamily::V6), 58) => f.write_str("icmp6"),
            Primitive::Proto(None, n) => write!(f, "proto {n}"),
            Primitive::Proto(Some(family), n) => write!(f, "{} proto {n}", family.name()),
            Primitive::TcpFlags(t) => {
                f.write_str("tcp[tcpflags] & ")?;
                flags(t.mask, f)?;
                write!(f, " {} ", cmp(t.cmp))?;
                flags(t.value, f)
            }
            Primitive::Icmp(t) => {
                let (name, field, names) = match (t.v6, t.field) {
                    (false, IcmpField::Type) => ("icmp", "icmptype", ICMP_TYPES),
                    (false, IcmpField::Code) => ("icmp", "icmpcode", &[][..]),
                    (true, IcmpField::Type) => ("icmp6", "icmp6type", ICMP6_TYPES),
                    (true, IcmpField::Code) => ("icmp6", "icmp6code", &[][..]),
                };
                write!(f, "{name}[{field}] {} ", cmp(t.cmp))?;
                match names.iter().find(|(_, n)| *n == t.value) {
                    Some((value, _)) => f.write_str(value),
                    None => write!(f, "{}", t.value),
                }
            }
            Primitive::Length(LengthTest::AtMost(n)) => write!(f, "less {n}"),
            Primitive::Length(LengthTest::AtLeast(n)) => write!(f, "greater {n}"),
            Primitive::Vlan(None) => f.write_str("vlan"),
            Primitive::Vlan(Some(id)) => write!(f, "vlan {id}"),
            Primitive::Mark(m) if m.mask == u32::MAX => write!(f, "mark {:#x}", m.value),
            Primitive::Mark(m) => write!(f, "mark {:#x}/{:#x}", m.value, m.mask),
            Primitive::Interface(dir, name) => {
                f.write_str(match dir {
                    IfaceDir::In => "iif ",
                    IfaceDir::Out => "oif ",
                })?;
                if name.chars().any(is_special) {
                    write!(f, "\"{name}\"")
                } else {
                    f.write_str(name)
                }
            }
            Primitive::SkUid(n) => write!(f, "skuid {n}"),
            Primitive::SkGid(n) => write!(f, "skgid {n}"),
            Primitive::CtState(states) => {
                f.write_str("ct state ")?;
                for (i, name) in states.names().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(name)?;
                }
                Ok(())
            }
        }
    }
}
